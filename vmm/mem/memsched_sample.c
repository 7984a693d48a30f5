/*
 * Active-memory sampling for the memory scheduler (memsched.c), with the
 * EPT's accessed flags, for every VM whose EPTP has A/D enabled: with
 * mem.sample=ad on the kernel command line (guest_ram_init asks
 * memsched_sampling()), or a swap file (the swap clock reads the same
 * flags), on a CPU whose EPT has accessed and dirty flags.
 *
 * Each period (one second) the scheduler calls guest_ram_sample() for a
 * VM: it reads the accessed flag of the pages sampled the period before
 * (a page backed by a 4 KiB leaf then and now), which gives the fraction
 * of them the guest touched since; then it picks SAMPLE_PAGES new pages
 * at random among the VM's 4 KiB leaves, clears their accessed flags and
 * shoots the VM's translations down, so that the CPU sets a flag again on
 * the next access (it sets it only when it walks the EPT, not from a
 * cached translation). Large leaves (a reservation's 2 MiB and 1 GiB
 * pages) are not sampled: clearing a flag in one 4 KiB range of them
 * would split them.
 *
 * With A/D enabled the CPU treats its accesses to the guest's own paging
 * structures as writes for EPT purposes: a guest page-table page that
 * page sharing made read-only takes a copy-on-write break at the next
 * walk. Correct, but such pages do not stay shared; that is one reason
 * sampling is opt-in.
 *
 * Locking: the scanner is kept out (pshare_scan_exclude, which also keeps
 * the RAM from going away), ram->lock for the EPT reads and changes, the
 * shootdown without locks. The CPU sets accessed and dirty flags with
 * atomic operations; a flag it sets while we clear another in the same
 * entry may be lost, which only makes one sample read idle. Nothing else
 * uses the flags.
 */
#define pr_fmt(fmt) "memsched: " fmt
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <vmkernel/paging.h>
#include <vmkernel/pgtable.h>
#include <vmkernel/spinlock.h>
#include <vmm/ept.h>
#include <vmm/ept_hw.h>
#include <vmm/guest_mem.h>
#include <vmm/memsched.h>
#include <vmm/vm.h>
#include <vmm/vmx_caps.h>
#include "guest_mem_priv.h"
#include "pshare_priv.h"

bool memsched_sampling(void)
{
	const char *v = bootparam_get("mem.sample");

	return v && !strcmp(v, "ad") && vmx_host_caps()->ept_ad;
}

static uint64_t next_random(uint64_t *s)
{
	uint64_t x = *s ? *s : rdtsc() | 1;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

/* Is gpa backed by a 4 KiB leaf? Its leaf bits in *bits. */
static bool small_leaf(struct vm_ram *ram, uint64_t gpa, uint64_t *bits)
{
	unsigned level;
	uint64_t pa;

	return !pgt_lookup(&ram->ept.pt, gpa, &pa, bits, &level) && level == 1;
}

bool guest_ram_sample(struct vm *vm, struct mem_sample *s)
{
	uint64_t span = vm_high_ram_size(vm) ? (1ULL << 32) + vm_high_ram_size(vm)
					     : vm_low_ram_end(vm);
	struct vm_ram *ram;
	unsigned long flags;
	unsigned picked = 0;
	uint64_t bits;

	pshare_scan_exclude(true);
	ram = __atomic_load_n(&vm->ram, __ATOMIC_ACQUIRE);
	if (!ram || !ram->ept.ad_enabled) {
		pshare_scan_exclude(false);
		return false;
	}
	flags = spin_lock_irqsave(&ram->lock);
	s->touched = s->sampled = 0;
	for (unsigned i = 0; i < s->n; i++) {
		if (small_leaf(ram, s->gpa[i], &bits)) {
			s->sampled++;
			s->touched += !!(bits & EPT_ACCESSED);
		}
	}
	/* a new sample: random pages, those backed by 4 KiB leaves; unbacked picks are skipped */
	for (unsigned tries = 0; picked < MEMSCHED_SAMPLE_PAGES && tries < 8 * MEMSCHED_SAMPLE_PAGES;
	     tries++) {
		uint64_t gpa = (next_random(&s->seed) % (span >> 12)) << 12;

		if (!guest_is_ram(vm, gpa) || !small_leaf(ram, gpa, &bits))
			continue;
		if ((bits & EPT_ACCESSED) &&
		    pgt_protect(&ram->ept.pt, gpa, PAGE_SIZE_4K, EPT_ACCESSED, 0))
			continue;
		s->gpa[picked++] = gpa;
	}
	s->n = picked;
	spin_unlock_irqrestore(&ram->lock, flags);
	if (picked)
		guest_ept_shootdown(vm);
	pshare_scan_exclude(false);
	return true;
}
