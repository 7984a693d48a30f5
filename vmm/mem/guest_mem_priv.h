/*
 * What guest_mem.c and the page-sharing scanner (pshare_scan.c) share
 * about one VM's RAM. Not for use outside vmm/mem/.
 */
#ifndef VMM_MEM_GUEST_MEM_PRIV_H
#define VMM_MEM_GUEST_MEM_PRIV_H

#include <stdint.h>
#include <vmkernel/spinlock.h>
#include <vmm/ept.h>

struct vm;

struct vm_ram {
	struct ept ept;			/* lock */
	struct spinlock lock;
	uint64_t private_pages;		/* RAM pages backed by a page of their own, lock; atomic reads */
	uint64_t shared_pages;		/* RAM pages mapping a shared frame, lock */
	uint64_t zero_pages;		/* of which all zeros, lock */
	uint64_t min_pages;		/* sched.mem.min: pages always allowed */
	uint64_t max_pages;		/* sched.mem.max: pages backed at most; 0 none */
	uint64_t zero_page;		/* backs the hole read-only, lock */
	uint64_t foreign_pages;		/* mapped by guest_map_page(), not freed here, lock */
	uint64_t cow_copies;		/* breaks that copied, lock */
	uint64_t cow_reowns;		/* breaks that took a frame back, lock */
	uint64_t unprotects;		/* writes that beat the scanner to a page, lock */
	uint64_t scan_cursor;		/* next guest-physical page to scan (scanner only) */
	uint64_t scanned;		/* pages the scanner looked at (scanner only) */
	uint64_t domain;		/* page-sharing domain (set at init) */
	bool pshare;			/* sched.mem.pshare.enable */
	struct vm *vm;			/* whose RAM this is */
};

/* Count pages backed privately (ram->lock held); vm->private_pages mirrors it. */
static inline void guest_ram_private_add(struct vm_ram *ram, uint64_t *mirror, int64_t d)
{
	ram->private_pages += (uint64_t)d;
	__atomic_store_n(mirror, ram->private_pages, __ATOMIC_RELAXED);
}

/*
 * May vm back one more private page (ram->lock held)? 0, -EDQUOT past
 * sched.mem.max (touch: a first touch or a swap-in), -ENOMEM when the
 * host's memory for VMs is gone.
 */
int guest_ram_may_take(struct vm *vm, bool touch);

/* Drop every translation of the VM on every CPU that may cache one: 0, or the CPUs that failed. */
uint64_t guest_ept_shootdown(struct vm *vm);

#endif
