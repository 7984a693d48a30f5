/*
 * The memory scheduler: a vmkernel world ("memsched", CPU 0) that wakes
 * every second, works out the host's memory state (high, soft, hard,
 * low) from the memory free for VMs, and each running VM's allocation
 * target from its shares with the idle-memory tax (memsched_policy.c has
 * the policy and its essay). It then sets each VM's balloon target
 * (virtio-balloon's num_pages, vmm/vdev/virtio/balloon.c) and computes a
 * swap target for what the balloon cannot take, which memsched_swap()
 * swaps out (guest_swap.c), at a bounded rate, for VMs with a swap file.
 *
 * Active memory. The policy taxes idle pages, so it needs each VM's
 * active memory. With mem.sample=ad (and EPT A/D on the CPU) it samples
 * 64 random pages of each VM a second through the EPT's accessed flags
 * (memsched_sample.c): active = backed x the fraction of last second's
 * sample that was touched. Otherwise (the default; invalidating sampled
 * leaves and counting faults, ESX's way without A/D, is not built): the
 * guest's own figure from its balloon's statistics queue (MemTotal -
 * MemAvailable, bytes, refreshed each period), and, without a live
 * balloon driver reporting statistics, all backed memory counts as active
 * (no tax for that VM). Each VM's first such line says which one it gets;
 * the estimate is averaged over periods (EWMA, 1/4 new).
 *
 * Logs: a line when the state changes; a line per VM when its balloon
 * or swap target moves by at least 1 MiB (or to or from 0), with its
 * target, backed, ballooned and active memory and the state.
 *
 * Tunables (kernel command line): mem.idletax=N, the idle-memory tax in
 * percent (0-99, default 75, ESX's Mem.IdleTax); mem.sample=ad, sampling
 * with EPT accessed flags (off by default).
 *
 * vmstat's memory line shows the estimate (memsched_vm_active()): the
 * world's own figures, read without a lock (aligned 64-bit words).
 *
 * Locking: the world's tables are its own. It reads VMs through
 * lock-free counters (guest_ram_pages) and reaches balloons through
 * balloon.c's registry, which holds its own mutex; a VM that ends
 * between the two just drops out next period.
 */
#define pr_fmt(fmt) "memsched: " fmt
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/log.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmm/admission.h>
#include <vmm/balloon.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_swap.h>
#include <vmm/memsched.h>
#include <vmm/vm.h>

#define PERIOD_S	1
#define PAGES_PER_MIB	256

struct vm_track {
	struct vm *vm;			/* seen at this slot last period */
	unsigned restarts;
	uint64_t active;		/* EWMA of the estimate, pages */
	uint64_t balloon, swap;		/* last targets logged */
	bool stats_said, sample_said;	/* the line about where its estimate comes from */
	const char *source;		/* of the estimate: "sampled", "guest", "backed" */
	struct mem_sample sample;	/* EPT accessed-flag sampling (memsched_sample.c) */
};

static unsigned idle_tax = MEMSCHED_TAX_DEFAULT;
static enum mem_state state = MEM_HIGH;
static struct vm_track track[VM_MAX];
static struct memsched_vm in[VM_MAX];
static struct vm *vms[VM_MAX];

static unsigned long long kib(uint64_t pages)
{
	return (unsigned long long)(pages * 4);
}

/*
 * Hypervisor swapping (guest_swap.c): each period, up to SWAP_PER_PERIOD
 * pages of the target, in batches of SWAP_BATCH so that the VM's own
 * faults (which take the same per-VM swap mutex) get in between. The
 * target is recomputed from what the VM holds every period, so it shrinks
 * as pages go out. A line when the target changes, with what went out.
 */
#define SWAP_PER_PERIOD 1024	/* 4 MiB a second */
#define SWAP_BATCH 16

static bool moved(uint64_t was, uint64_t now)
{
	uint64_t d = was > now ? was - now : now - was;

	return d >= PAGES_PER_MIB || (!was != !now);
}

static void memsched_swap(struct vm *vm, struct vm_track *t, uint64_t pages)
{
	uint64_t want = pages < SWAP_PER_PERIOD ? pages : SWAP_PER_PERIOD, done = 0, n;

	if (pages && !guest_swap_active(vm)) {
		if (moved(t->swap, pages))
			pr_warn("swap target %llu pages for VM %s, which has no swap file: not "
				"reclaimed\n", (unsigned long long)pages, vm->name);
		t->swap = pages;
		return;
	}
	while (done < want && !vm_stopped(vm)) {
		n = guest_swap_out(vm, want - done < SWAP_BATCH ? want - done : SWAP_BATCH);
		if (!n)
			break;
		done += n;
	}
	if (moved(t->swap, pages)) {
		pr_info("swap target %llu pages for VM %s: %llu swapped out this period\n",
			(unsigned long long)pages, vm->name, (unsigned long long)done);
		t->swap = pages;
	}
}

static void first_look(struct vm *vm, const struct balloon_info *bi, bool has)
{
	const struct vm_config *c = &vm->cfg;

	if (has)
		pr_info("%s: sched.mem.shares %u, sched.mem.min %u MiB, sched.mem.max %u MiB%s, "
			"balloon at most %llu MiB; idle tax %u%%\n", vm->name, c->mem_shares,
			c->mem_min_mb, c->mem_max_mb, c->mem_max_mb ? "" : " (none)",
			(unsigned long long)(bi->max_pages / PAGES_PER_MIB), idle_tax);
	else
		pr_info("%s: sched.mem.shares %u, sched.mem.min %u MiB, sched.mem.max %u MiB%s, "
			"no balloon; idle tax %u%%\n", vm->name, c->mem_shares, c->mem_min_mb,
			c->mem_max_mb, c->mem_max_mb ? "" : " (none)", idle_tax);
}

/* One VM's inputs; false if it is not running. */
static bool gather(struct vm *vm, struct vm_track *t, struct memsched_vm *m)
{
	const struct vm_config *c = &vm->cfg;
	struct balloon_info bi;
	bool has, fresh = t->vm != vm || t->restarts != vm->restarts;
	uint64_t est;

	if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING || vm_stopped(vm) ||
	    !__atomic_load_n(&vm->ram, __ATOMIC_ACQUIRE))
		return false;
	has = balloon_vm_info(vm, &bi);
	if (fresh) {
		*t = (struct vm_track){ .vm = vm, .restarts = vm->restarts };
		first_look(vm, &bi, has);
	}
	*m = (struct memsched_vm){
		.shares = c->mem_shares, .size = (uint64_t)c->memsize_mb * PAGES_PER_MIB,
		.min = (uint64_t)c->mem_min_mb * PAGES_PER_MIB,
		.max = (uint64_t)c->mem_max_mb * PAGES_PER_MIB,
		.backed = guest_ram_pages(vm), .ballooned = has ? bi.pages : 0,
		.maxctl = has ? bi.max_pages : 0,
	};
	if (guest_ram_sample(vm, &t->sample) && t->sample.sampled) {
		est = m->backed * t->sample.touched / t->sample.sampled;
		if (!t->sample_said)
			pr_info("%s: active memory sampled from EPT accessed flags (%u pages a "
				"second)\n", vm->name, MEMSCHED_SAMPLE_PAGES);
		t->sample_said = true;
		t->source = "sampled";
	} else if (has && bi.live && bi.stats && bi.guest_total >= bi.guest_avail) {
		est = (bi.guest_total - bi.guest_avail) / 4096;
		if (!t->stats_said)
			pr_info("%s: active memory estimated from the guest's balloon statistics "
				"(MemTotal - MemAvailable)\n", vm->name);
		t->stats_said = true;
		t->source = "guest";
	} else {
		est = m->backed;	/* no estimate: all of it counts as active */
		t->source = "backed";
	}
	t->active = fresh || !t->active ? est : (3 * t->active + est) / 4;
	m->active = t->active;
	if (has)
		balloon_vm_request_stats(vm);
	return true;
}

static void apply(struct vm *vm, struct vm_track *t, const struct memsched_vm *m)
{
	if (m->maxctl) {
		balloon_vm_set_target(vm, m->balloon);
		if (moved(t->balloon, m->balloon)) {
			pr_info("%s: target %llu KiB of memsize %llu KiB; backed %llu KiB, ballooned "
				"%llu KiB, active %llu KiB; balloon target %llu KiB; state %s\n",
				vm->name, kib(m->target), kib(m->size), kib(m->backed),
				kib(m->ballooned), kib(m->active), kib(m->balloon),
				memsched_state_name(state));
			t->balloon = m->balloon;
		}
	}
	memsched_swap(vm, t, m->swap);
}

static void period(void)
{
	uint64_t free, capacity;
	enum mem_state st;
	unsigned n = 0;

	for (unsigned i = 0; i < vm_count() && i < VM_MAX; i++) {
		struct vm *vm = vm_get(i);

		if (vm && gather(vm, &track[i], &in[n]))
			vms[n++] = vm;
		else if (vm && track[i].vm == vm && vm_stopped(vm))
			track[i].vm = NULL;
	}
	if (!n)
		return;
	vm_mem_host(&free, &capacity);
	free /= 4096;
	capacity /= 4096;
	st = memsched_state(free, capacity);
	if (st != state)
		pr_info("memory state %s: %llu MiB free of %llu MiB for VMs (high >= %u%%, soft >= "
			"%u%%, hard >= %u%%, else low)\n", memsched_state_name(st),
			(unsigned long long)(free / PAGES_PER_MIB),
			(unsigned long long)(capacity / PAGES_PER_MIB), MEMSCHED_HIGH_PCT,
			MEMSCHED_SOFT_PCT, MEMSCHED_HARD_PCT);
	state = st;
	memsched_targets(in, n, capacity, free, st, idle_tax);
	for (unsigned i = 0, k = 0; i < vm_count() && i < VM_MAX && k < n; i++) {
		if (vm_get(i) == vms[k]) {
			apply(vms[k], &track[i], &in[k]);
			k++;
		}
	}
}

bool memsched_vm_active(const struct vm *vm, uint64_t *pages, const char **source)
{
	for (unsigned i = 0; i < VM_MAX; i++) {
		const struct vm_track *t = &track[i];

		if (__atomic_load_n(&t->vm, __ATOMIC_RELAXED) == vm && t->source) {
			*pages = __atomic_load_n(&t->active, __ATOMIC_RELAXED);
			*source = t->source;
			return true;
		}
	}
	return false;
}

static void memsched_world(void *arg)
{
	(void)arg;
	for (;;) {
		sched_block_until(rdtsc() + PERIOD_S * tsc_hz());
		period();
	}
}

static int memsched_init(void)
{
	const char *v = bootparam_get("mem.idletax");

	if (v) {
		unsigned t = 0;
		bool ok = *v;

		for (const char *p = v; *p && ok; p++) {
			ok = *p >= '0' && *p <= '9' && t <= MEMSCHED_TAX_MAX;
			t = t * 10 + (unsigned)(*p - '0');
		}
		if (ok && t <= MEMSCHED_TAX_MAX)
			idle_tax = t;
		else
			pr_warn("mem.idletax=%s: needs a percentage from 0 to %u; the tax stays %u%%\n",
				v, MEMSCHED_TAX_MAX, idle_tax);
	}
	v = bootparam_get("mem.sample");
	if (v && strcmp(v, "ad"))
		pr_warn("mem.sample=%s: the only sampling is \"ad\" (EPT accessed flags); not "
			"sampling\n", v);
	else if (v && !memsched_sampling())
		pr_warn("mem.sample=ad: this CPU's EPT has no accessed and dirty flags; not "
			"sampling\n");
	else if (v)
		pr_info("active memory: sampling EPT accessed flags, %u pages per VM a second\n",
			MEMSCHED_SAMPLE_PAGES);
	return world_create("memsched", memsched_world, NULL, 0, NULL, NULL) ? 0 : -12;
}
INIT_LEVEL(memsched_init, INIT_LATE);
