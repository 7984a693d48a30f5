/*
 * The memory scheduler (vmm/mem/memsched.c): every second it sets the
 * host's memory state from free memory and each VM's allocation target
 * from its shares, reservation, limit and active memory, then asks the
 * VMs' balloons (and, in hard and low states, hypervisor swap) to reclaim
 * what a VM holds above its target. The policy (memsched_policy.c) is
 * pure and host unit-tested; docs/resource-manager.md explains it.
 */
#ifndef VMM_MEMSCHED_H
#define VMM_MEMSCHED_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* ESX's memory states, from free memory for VMs as a share of all of it. */
enum mem_state { MEM_HIGH, MEM_SOFT, MEM_HARD, MEM_LOW };
#define MEMSCHED_HIGH_PCT	6	/* free >= 6%: high */
#define MEMSCHED_SOFT_PCT	4	/* >= 4%: soft */
#define MEMSCHED_HARD_PCT	2	/* >= 2%: hard; below: low */
#define MEMSCHED_TAX_DEFAULT	75	/* idle-memory tax, percent (mem.idletax=) */
#define MEMSCHED_TAX_MAX	99
#define MEMSCHED_MAXCTL_PCT	65	/* default sched.mem.maxmemctl: 65% of memsize */

const char *memsched_state_name(enum mem_state s);
/* The state for `free` pages free out of `total`. */
enum mem_state memsched_state(uint64_t free, uint64_t total);

/* One VM as the policy sees it; all figures in 4 KiB pages. */
struct memsched_vm {
	/* in */
	uint64_t shares;	/* sched.mem.shares of the whole VM */
	uint64_t size;		/* memsize */
	uint64_t min;		/* sched.mem.min */
	uint64_t max;		/* sched.mem.max, 0: none */
	uint64_t backed;	/* private + shared pages now */
	uint64_t ballooned;	/* in its balloon now */
	uint64_t active;	/* estimated active pages (<= backed + ballooned) */
	uint64_t maxctl;	/* the most its balloon may hold (0: no balloon) */
	/* out */
	uint64_t target;	/* pages it may hold (allocation target) */
	uint64_t balloon;	/* balloon size to ask for */
	uint64_t swap;		/* pages to swap out beyond what the balloon takes */
};

/*
 * Targets for n VMs. vm_pages: host pages VMs may hold in all (the
 * capacity for VMs); free: of those, free now; tax: idle-memory tax in
 * percent (0..MEMSCHED_TAX_MAX).
 */
void memsched_targets(struct memsched_vm *v, unsigned n, uint64_t vm_pages, uint64_t free,
		      enum mem_state st, unsigned tax);

/* vm's active-memory estimate (pages) and where it comes from; false before the first period. */
bool memsched_vm_active(const struct vm *vm, uint64_t *pages, const char **source);

/* ---- active-memory sampling (memsched_sample.c, in the kernel) ---- */

#define MEMSCHED_SAMPLE_PAGES	64	/* pages sampled per VM and period */
struct mem_sample {
	uint64_t gpa[MEMSCHED_SAMPLE_PAGES];	/* this period's sample */
	unsigned n;
	unsigned sampled, touched;	/* of the last period's sample: still 4 KiB leaves, accessed */
	uint64_t seed;
};
/* mem.sample=ad on the command line and EPT A/D on this CPU: VMs start with EPTP A/D on. */
bool memsched_sampling(void);
/* Read last period's sample of vm into s (sampled, touched) and start a new one; false if vm
 * does not run with EPT A/D. */
bool guest_ram_sample(struct vm *vm, struct mem_sample *s);

#endif
