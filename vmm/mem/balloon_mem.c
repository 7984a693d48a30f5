/*
 * Giving a VM's ballooned pages back to the host (the guest side of
 * ballooning is vmm/vdev/virtio/balloon.c).
 *
 * A page the guest put into its balloon is unbacked the way guest_mem.c
 * changes any leaf, in three steps:
 *  1. with the VM's RAM lock: clear the page's EPT leaf and take it out
 *     of the counters (a private page: private_pages; a page mapping a
 *     page-sharing frame: shared_pages, and zero_pages if the frame is
 *     all zeros). The host page is only remembered;
 *  2. without locks: INVEPT on every CPU that may cache the VM's
 *     translations (guest_ept_shootdown);
 *  3. free the private pages and drop the references to shared frames
 *     (a frame whose last reference this was is freed). If some CPU did
 *     not answer step 2, all of that waits in the TLB quarantine until
 *     it has flushed (quarantine.c): no CPU can reach a page after it was
 *     given to someone else.
 * The next guest access to such a page is a first touch: a fresh zero
 * page (and the usual sched.mem.max and host-reserve checks). A page
 * that is swapped out loses its swap slot (guest_swap_discard), after
 * the unmapping, so that one swapped out meanwhile is caught as well.
 *
 * Pages inside a 2 MiB or 1 GiB page (how a reservation, sched.mem.min,
 * is backed at start) are not split: they stay backed and are counted as
 * kept. The reservation is held for the VM anyway, so nothing is lost to
 * other VMs. A 4 KiB page within the reservation is freed; admission
 * keeps the reservation's unbacked part free for the VM.
 *
 * Locking: the page-sharing scanner is kept out for the whole batch
 * (pshare_scan_exclude, a mutex): it never holds a write-protected
 * candidate this code unmaps. Step 1 takes ram->lock; the frame
 * references of step 3 take the sharing table's lock. The caller (the
 * balloon's I/O world) may sleep.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/spinlock.h>
#include <vmm/balloon.h>
#include <vmm/ept.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_swap.h>
#include <vmm/quarantine.h>
#include <vmm/vm.h>
#include "guest_mem_priv.h"
#include "pshare_priv.h"

struct unbacked_pages {
	unsigned nfree, nshared;
	uint64_t pa[BALLOON_CHUNK];		/* [0, nfree): private; then nshared frames */
};

static bool all_zero(uint64_t pa)
{
	const uint64_t *w = phys_to_virt(pa);

	for (unsigned i = 0; i < PAGE_SIZE_4K / 8; i++) {
		if (w[i])
			return false;
	}
	return true;
}

/* Step 3. */
static void give_back(void *arg)
{
	struct unbacked_pages *u = arg;

	for (unsigned i = 0; i < u->nfree; i++)
		page_free(u->pa[i], 0);
	for (unsigned i = 0; i < u->nshared; i++) {
		if (pshare_frame_release(u->pa[u->nfree + i]))
			page_free(u->pa[u->nfree + i], 0);
	}
}

static void give_back_kfree(void *arg)
{
	give_back(arg);
	kfree(arg);
}

/* Step 1 for one page (ram->lock held): remember its host page in u. */
static void unmap_one(struct vm *vm, struct vm_ram *ram, uint64_t gpa, struct unbacked_pages *u,
		      uint64_t *shared, struct balloon_unback *r)
{
	uint64_t hpa, size;
	unsigned perms;

	if (ept_lookup(&ram->ept, gpa, &hpa, &perms, NULL, &size)) {
		r->unbacked++;
		return;
	}
	if (size != PAGE_SIZE_4K) {
		r->large++;
		return;
	}
	if (ept_unmap(&ram->ept, gpa, PAGE_SIZE_4K)) {
		r->large++;	/* cannot happen for a 4 KiB leaf; keep it backed if it does */
		return;
	}
	if (perms & EPT_SHARED) {
		ram->shared_pages--;
		ram->zero_pages -= all_zero(hpa);
		shared[u->nshared++] = hpa;
		r->dropped++;
	} else {
		guest_ram_private_add(ram, &vm->private_pages, -1);
		u->pa[u->nfree++] = hpa;
		r->freed++;
	}
}

/* One chunk of at most BALLOON_CHUNK pages. */
static void balloon_chunk(struct vm *vm, struct vm_ram *ram, const uint64_t *gpa, unsigned n,
			  struct balloon_unback *r)
{
	static struct unbacked_pages local;	/* callers hold pshare_scan_exclude: one at a time */
	uint64_t shared[BALLOON_CHUNK];
	struct unbacked_pages *q;
	unsigned long flags;
	uint64_t failed;

	local.nfree = local.nshared = 0;
	flags = spin_lock_irqsave(&ram->lock);
	for (unsigned i = 0; i < n; i++)
		unmap_one(vm, ram, gpa[i], &local, shared, r);
	spin_unlock_irqrestore(&ram->lock, flags);
	memcpy(&local.pa[local.nfree], shared, local.nshared * sizeof(uint64_t));
	if (!local.nfree && !local.nshared)
		return;
	failed = guest_ept_shootdown(vm);
	if (!failed) {
		give_back(&local);
		return;
	}
	q = kzalloc(sizeof(*q));
	if (!q) {
		pr_err("%s: no memory to quarantine %u ballooned pages: never reused\n", vm->name,
		       local.nfree + local.nshared);
		return;
	}
	*q = local;
	tlb_quarantine(failed, give_back_kfree, q, vm->name);
}

void guest_ram_balloon(struct vm *vm, const uint64_t *gpa, unsigned n, struct balloon_unback *r)
{
	const uint64_t *gpa0 = gpa;
	unsigned n0 = n;
	struct vm_ram *ram;

	pshare_scan_exclude(true);	/* the RAM stays while we hold it (guest_ram_destroy) */
	ram = __atomic_load_n(&vm->ram, __ATOMIC_ACQUIRE);
	while (ram && n) {
		unsigned k = n < BALLOON_CHUNK ? n : BALLOON_CHUNK;

		balloon_chunk(vm, ram, gpa, k, r);
		gpa += k;
		n -= k;
	}
	pshare_scan_exclude(false);
	/* after the unmapping: a page swapped out meanwhile is caught here too */
	if (ram) {
		uint64_t d = guest_swap_discard(vm, gpa0, n0);

		r->swapped += d;
		r->unbacked -= d;	/* unmap_one found them not present */
	}
}
