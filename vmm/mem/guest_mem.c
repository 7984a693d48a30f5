/*
 * Guest physical memory: an EPT per VM, backed on first touch, with pages
 * shared copy-on-write (pshare.c, pshare_scan.c).
 *
 * Guest RAM is where the PC memory map puts it (include/vmm/pc_layout.h):
 * below 640 KiB, from 1 MiB up to the PCI hole, and above 4 GiB for the
 * rest. Nothing is allocated up front: the first access to a page raises
 * an EPT violation and guest_ram_fault() backs it with a zeroed host page
 * (write-back, read/write/execute). The legacy hole [640 KiB, 1 MiB) reads
 * as zeros (one read-only zero page, so BIOS-area scans find nothing) and
 * a write there stops the VM; so does any access outside RAM where no
 * device answers, naming the guest-physical and, when the CPU reports
 * it, the linear address.
 *
 * A RAM page is in one of three states: unbacked; private (its own page,
 * writable, or write-protected for a moment while the scanner looks at
 * it); shared (a read-only frame of the page-sharing table, EPT_SHARED).
 * A write to a write-protected private page makes it writable again (the
 * scanner then leaves it alone); a write to a shared page breaks sharing:
 * a private copy, or the frame itself when no other page maps it, and
 * before the write is seen every other CPU that may cache the old
 * read-only translation drops it (guest_ept_shootdown).
 *
 * A fourth state belongs to guest_swap.c: swapped (or on its way to the
 * swap file), a non-present leaf with a marker and a slot number. Every
 * path here that finds a leaf non-present asks swapped() before taking
 * the page for unbacked, and brings it back with guest_swap_in() without
 * the lock; a refusal (-EDQUOT, -ENOMEM) first tries guest_swap_out() of
 * one of the VM's own pages (swap_retry()).
 *
 * Host-side copies (loaders, device models, hypercalls, string I/O) go
 * through the same rules, page by page, and copy with ram->lock held: the
 * scanner, which takes the lock to replace a page, can never free a page
 * while the host reads or writes it. Reads of never-touched pages return
 * zeros without backing them; writes back them; a write to a shared page
 * breaks sharing first. Nothing in the VMM keeps a host pointer into guest
 * RAM across calls: these functions are the only way in (the APIC-access
 * page and other pages guest_map_page() maps are not RAM and are never
 * shared).
 *
 * Limits: a page beyond the VM's reservation is backed only while the
 * host keeps its own reserve (admission.c), and never beyond sched.mem.max
 * pages backed; the EPT violation that asks for more swaps out one of the
 * VM's pages if it has a swap file, and otherwise stops the VM with the
 * numbers (-ENOMEM, -EDQUOT).
 *
 * Locking: ram->lock serialises every change to the EPT and the counters,
 * and every host copy; the page-sharing table's lock nests inside it. The
 * TLB shootdown after a break runs with neither held (it waits for other
 * CPUs, which may be taking the lock in their own fault path).
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <string.h>
#include <vmm/ept.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/spinlock.h>
#include <vmm/admission.h>
#include <vmm/pshare.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_swap.h>
#include <vmm/memsched.h>
#include <vmm/pc_layout.h>
#include <vmm/vm.h>
#include "guest_mem_priv.h"
#include "pshare_priv.h"

#define HOLE_START 0xa0000ULL
#define HOLE_END 0x100000ULL


static bool in_hole(uint64_t gpa)
{
	return gpa >= HOLE_START && gpa < HOLE_END;
}

static bool is_ram(const struct vm *vm, uint64_t gpa)
{
	return pc_is_ram(vm->ram_size, gpa);
}

uint64_t vm_low_ram_end(const struct vm *vm)
{
	return pc_low_ram_end(vm->ram_size);
}

uint64_t vm_high_ram_size(const struct vm *vm)
{
	return pc_high_ram_size(vm->ram_size);
}

/* Is [gpa, gpa + len) all guest RAM? (It may cross from low RAM only into low RAM.) */
bool guest_range_is_ram(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	if (!len)
		return is_ram(vm, gpa);
	if (gpa + len < gpa || !is_ram(vm, gpa) || !is_ram(vm, gpa + len - 1))
		return false;
	/* Both ends in RAM: only the legacy hole can lie between them. */
	return !(gpa < PC_LEGACY_HOLE_END && gpa + len > PC_LEGACY_HOLE) &&
	       !(gpa < PC_HIGH_RAM_BASE && gpa + len > PC_HIGH_RAM_BASE);
}

static uint64_t pool_alloc(void *ctx)
{
	uint64_t pa = page_alloc(0);

	(void)ctx;
	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE_4K);
	return pa;
}

static void pool_free(void *ctx, uint64_t pa)
{
	(void)ctx;
	page_free(pa, 0);
}

static void *pool_virt(void *ctx, uint64_t pa)
{
	(void)ctx;
	return phys_to_virt(pa);
}

static const struct pgt_pool ept_pool = { NULL, pool_alloc, pool_free, pool_virt };

void *vmm_page_alloc(uint64_t *pa)
{
	*pa = pool_alloc(NULL);
	return *pa ? phys_to_virt(*pa) : NULL;
}

void vmm_page_free(void *va, uint64_t pa)
{
	(void)va;
	if (pa)
		page_free(pa, 0);
}

int guest_ram_init(struct vm *vm, uint64_t size)
{
	const struct vmx_caps *caps = vmx_host_caps();
	struct vm_ram *ram = kzalloc(sizeof(*ram));
	const char *why;
	int err;

	if (!ram)
		return -ENOMEM;
	spin_init(&ram->lock, "guest ram");
	/*
	 * Accessed bits guide the swap clock (guest_swap.c) and the memory scheduler's
	 * sampling (memsched_sample.c, opt-in); without either nobody reads them.
	 */
	err = ept_init(&ram->ept, &ept_pool, caps->ept_2m, caps->ept_1g,
		       (caps->ept_ad && guest_swap_active(vm)) || memsched_sampling());
	if (err) {
		kfree(ram);
		return err;
	}
	ram->min_pages = ((uint64_t)vm->cfg.mem_min_mb << 20) / PAGE_SIZE_4K;
	ram->max_pages = ((uint64_t)vm->cfg.mem_max_mb << 20) / PAGE_SIZE_4K;
	ram->pshare = pshare_vm_allowed(vm, &why);
	if (!ram->pshare && vm->cfg.pshare && !vm->restarts)
		pr_info("%s: page sharing off for this VM: %s\n", vm->name, why);
	ram->domain = pshare_domain(vm);
	ram->vm = vm;
	__atomic_store_n(&vm->private_pages, 0, __ATOMIC_RELAXED);
	vm->ram_size = size;
	__atomic_store_n(&vm->ram, ram, __ATOMIC_RELEASE);	/* the scanner may look from now on */
	return 0;
}

/* Give back a leaf's page: a private one, or its reference to a shared frame. */
static int free_leaf(void *ctx, uint64_t va, unsigned level, uint64_t entry, bool leaf)
{
	static const unsigned order[] = { 0, 0, 9, 18 };
	const struct vm *vm = ctx;
	uint64_t pa;

	if (!leaf || level > 3 || !is_ram(vm, va))
		return 0;
	pa = entry & EPT_ADDR_MASK & ~((PAGE_SIZE_4K << order[level]) - 1);
	if (!(entry & EPT_SW_SHARED) || pshare_frame_release(pa))
		page_free(pa, order[level]);
	return 0;
}

/* Back [gpa, gpa + size) with one zeroed block of 2^order pages; false if none is free. */
static bool reserve_block(struct vm_ram *ram, uint64_t gpa, unsigned order)
{
	uint64_t size = PAGE_SIZE_4K << order;
	uint64_t pa = page_alloc(order);

	if (!pa)
		return false;
	memset(phys_to_virt(pa), 0, size);
	if (ept_map(&ram->ept, gpa, pa, size, EPT_R | EPT_W | EPT_X, EPT_MT_WB)) {
		page_free(pa, order);
		return false;
	}
	ram->private_pages += size / PAGE_SIZE_4K;
	__atomic_store_n(&ram->vm->private_pages, ram->private_pages, __ATOMIC_RELAXED);
	return true;
}

static bool range_is_ram(const struct vm *vm, uint64_t gpa, uint64_t size)
{
	return guest_range_is_ram(vm, gpa, size);
}

struct reserve_count {
	uint64_t left;			/* bytes still to reserve */
	uint64_t n1g, n2m, n4k;
};

/* Back [start, end) of RAM, largest pages first, until c->left runs out. */
static int reserve_range(struct vm *vm, uint64_t start, uint64_t end, struct reserve_count *c)
{
	const struct vmx_caps *caps = vmx_host_caps();
	struct vm_ram *ram = vm->ram;
	uint64_t gpa = start;

	while (gpa < end && c->left) {
		uint64_t room = end - gpa < c->left ? end - gpa : c->left;

		if (caps->ept_1g && !(gpa & (PAGE_SIZE_1G - 1)) && room >= PAGE_SIZE_1G &&
		    range_is_ram(vm, gpa, PAGE_SIZE_1G) && reserve_block(ram, gpa, 18)) {
			gpa += PAGE_SIZE_1G;
			c->left -= PAGE_SIZE_1G;
			c->n1g++;
		} else if (caps->ept_2m && !(gpa & (PAGE_SIZE_2M - 1)) && room >= PAGE_SIZE_2M &&
			   range_is_ram(vm, gpa, PAGE_SIZE_2M) && reserve_block(ram, gpa, 9)) {
			gpa += PAGE_SIZE_2M;
			c->left -= PAGE_SIZE_2M;
			c->n2m++;
		} else {
			if (!reserve_block(ram, gpa, 0))
				return -ENOMEM;
			gpa += PAGE_SIZE_4K;
			c->left = c->left > PAGE_SIZE_4K ? c->left - PAGE_SIZE_4K : 0;
			c->n4k++;
		}
	}
	return 0;
}

/*
 * Back the first `bytes` of guest RAM now (the VM's memory reservation),
 * low RAM first, then RAM above 4 GiB, with the largest pages the CPU's
 * EPT and the allocator allow: 1 GiB, then 2 MiB, then 4 KiB pages. A
 * reserved VM takes no EPT violations there.
 */
int guest_ram_reserve(struct vm *vm, uint64_t bytes)
{
	struct reserve_count c = { .left = bytes < vm->ram_size ? bytes : vm->ram_size };
	uint64_t low = vm_low_ram_end(vm);
	int err;

	if ((err = reserve_range(vm, 0, PC_LEGACY_HOLE, &c)) ||
	    (err = reserve_range(vm, PC_LEGACY_HOLE_END, low, &c)) ||
	    (err = reserve_range(vm, PC_HIGH_RAM_BASE, PC_HIGH_RAM_BASE + vm_high_ram_size(vm),
				 &c)))
		return err;
	pr_info("%s: %llu MiB reserved: %llu x 1 GiB, %llu x 2 MiB, %llu x 4 KiB pages\n",
		vm->name, (unsigned long long)(bytes >> 20), (unsigned long long)c.n1g,
		(unsigned long long)c.n2m, (unsigned long long)c.n4k);
	return 0;
}

/*
 * Every vCPU has ended and no CPU holds a translation of the VM (the
 * caller flushed, or quarantines this call). The scanner is kept out
 * while the EPT goes: it takes the same mutex for each batch.
 */
void guest_ram_destroy(struct vm *vm)
{
	struct vm_ram *ram = vm->ram;

	if (!ram)
		return;
	pshare_scan_exclude(true);
	__atomic_store_n(&vm->ram, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&vm->private_pages, 0, __ATOMIC_RELAXED);
	pgt_walk(&ram->ept.pt, free_leaf, vm);
	if (ram->zero_page)
		page_free(ram->zero_page, 0);
	ept_destroy(&ram->ept);
	pshare_scan_exclude(false);
	kfree(ram);
}

uint64_t guest_eptp(struct vm *vm)
{
	return ept_eptp(&vm->ram->ept, EPT_MT_WB);
}

uint64_t guest_ram_pages(const struct vm *vm)
{
	struct vm_ram *ram = vm->ram;

	return ram ? __atomic_load_n(&ram->private_pages, __ATOMIC_RELAXED) +
		     __atomic_load_n(&ram->shared_pages, __ATOMIC_RELAXED) : 0;
}

uint64_t guest_ram_private_pages(const struct vm *vm)
{
	return __atomic_load_n(&vm->private_pages, __ATOMIC_RELAXED);
}

void guest_ram_stats(struct vm *vm, struct guest_ram_stats *st)
{
	struct vm_ram *ram;
	unsigned long flags;

	*st = (struct guest_ram_stats){ 0 };
	pshare_scan_exclude(true);	/* as guest_ram_destroy() does: ram stays */
	ram = vm->ram;
	if (!ram) {
		pshare_scan_exclude(false);
		return;
	}
	flags = spin_lock_irqsave(&ram->lock);
	st->private_pages = ram->private_pages;
	st->shared_pages = ram->shared_pages;
	st->zero_pages = ram->zero_pages;
	st->cow_copies = ram->cow_copies;
	st->cow_reowns = ram->cow_reowns;
	st->scanned = ram->scanned;
	st->ept_tables = pgt_count_tables(&ram->ept.pt);
	spin_unlock_irqrestore(&ram->lock, flags);
	pshare_scan_exclude(false);
}

/*
 * May vm back one more private page (lock held)? 0, -EDQUOT past
 * sched.mem.max (first touches and swap-ins only: a break keeps the count
 * of backed pages), -ENOMEM when the host's memory for VMs is gone.
 */
int guest_ram_may_take(struct vm *vm, bool touch)
{
	struct vm_ram *ram = vm->ram;

	if (touch && ram->max_pages && ram->private_pages + ram->shared_pages >= ram->max_pages)
		return -EDQUOT;
	/* Within its reservation a VM always may; beyond, not into the vmkernel's reserve. */
	if (ram->private_pages < ram->min_pages || vm_mem_may_back(vm))
		return 0;
	return -ENOMEM;
}

/* A zeroed private page for vm (lock held): its address, or 0 with *err. */
static uint64_t take_page(struct vm *vm, bool touch, int *err)
{
	uint64_t pa;

	*err = guest_ram_may_take(vm, touch);
	if (*err)
		return 0;
	pa = pool_alloc(NULL);
	if (!pa)
		*err = -ENOMEM;
	return pa;
}

/* pshare_break() asks for its copy here (ram->lock held). */
uint64_t guest_ram_cow_page(void *vm, int *err)
{
	return take_page(vm, false, err);
}

/* Is RAM page `page` in the swap file, or on its way there (lock held)? */
static bool swapped(struct vm_ram *ram, uint64_t page)
{
	uint64_t e;
	unsigned level;

	return !pgt_entry_get(&ram->ept.pt, page, &e, &level) && level == 1 &&
	       !(e & EPT_RWX) && (e & EPT_SW_SWAPPED);
}

/*
 * What to do after page_for() or a break refused (err) with no lock held:
 * bring a swapped page in (-EINPROGRESS), or swap one of the VM's pages
 * out to make room (-EDQUOT, -ENOMEM). 0: try again; else the error.
 */
static int swap_retry(struct vm *vm, uint64_t page, int err)
{
	if (err == -EINPROGRESS)
		return guest_swap_in(vm, page);
	if ((err == -EDQUOT || err == -ENOMEM) && guest_swap_out(vm, 1) == 1)
		return 0;
	return err;
}

/*
 * The host page behind RAM page `page` for an access (lock held): *hpa,
 * or 0 for a read of a page never touched. A write backs the page, or
 * makes a write-protected private page writable again. -EAGAIN: it maps
 * a shared frame, and sharing must be broken first (without the lock).
 * -EINPROGRESS: it is swapped out (guest_swap_in() without the lock).
 */
static int page_for(struct vm *vm, uint64_t page, bool write, uint64_t *hpa)
{
	struct vm_ram *ram = vm->ram;
	unsigned perms;
	int err;

	*hpa = 0;
	if (ept_lookup(&ram->ept, page, hpa, &perms, NULL, NULL) == 0) {
		if (!write || (perms & EPT_W))
			return 0;
		if (perms & EPT_SHARED)
			return -EAGAIN;
		/* The scanner write-protected it and has not shared it yet: it gives up. */
		ram->unprotects++;
		return ept_protect(&ram->ept, page, PAGE_SIZE_4K, 0, EPT_W);
	}
	*hpa = 0;
	if (swapped(ram, page))
		return -EINPROGRESS;
	if (!write)
		return 0;
	*hpa = take_page(vm, true, &err);
	if (!*hpa)
		return err;
	err = ept_map(&ram->ept, page, *hpa, PAGE_SIZE_4K, EPT_R | EPT_W | EPT_X, EPT_MT_WB);
	if (err) {
		page_free(*hpa, 0);
		*hpa = 0;
		return err;
	}
	guest_ram_private_add(ram, &vm->private_pages, 1);
	return 0;
}

/*
 * Break sharing of RAM page `page` for a write: afterwards it maps a
 * private writable page, and no CPU keeps a translation to the shared
 * frame it mapped. Called without locks and with interrupts on.
 */
static int break_sharing(struct vm *vm, uint64_t page)
{
	struct vm_ram *ram = vm->ram;
	bool flush = false, zero = false;
	unsigned long flags;
	unsigned perms;
	uint64_t hpa;
	int err = 0;

	flags = spin_lock_irqsave(&ram->lock);
	if (ept_lookup(&ram->ept, page, &hpa, &perms, NULL, NULL) == 0 && (perms & EPT_SHARED)) {
		err = pshare_frame_break(vm, &ram->ept, page, &flush, &zero);
		if (!err) {
			ram->shared_pages--;
			ram->zero_pages -= zero;
			guest_ram_private_add(ram, &vm->private_pages, 1);
			if (flush)
				ram->cow_copies++;
			else
				ram->cow_reowns++;
		}
	}
	spin_unlock_irqrestore(&ram->lock, flags);
	/* Other vCPUs may still read the frame through a stale translation: not after this. */
	if (flush)
		guest_ept_shootdown(vm);
	return err;
}

/*
 * Run fn on the host page behind gpa's page with ram->lock held, backing
 * it for a write and breaking sharing first where needed. hpa is 0 for a
 * read of a page never touched. 0, -EFAULT (not RAM), -ENOMEM, -EDQUOT.
 */
static int with_page(struct vm *vm, uint64_t gpa, bool write,
		     void (*fn)(uint64_t hpa, void *arg), void *arg)
{
	struct vm_ram *ram = vm->ram;
	uint64_t page = gpa & ~(PAGE_SIZE_4K - 1), hpa;
	unsigned long flags;
	int err;

	if (!is_ram(vm, gpa))
		return -EFAULT;
	for (;;) {
		flags = spin_lock_irqsave(&ram->lock);
		err = page_for(vm, page, write, &hpa);
		if (!err)
			fn(hpa ? hpa + (gpa - page) : 0, arg);
		spin_unlock_irqrestore(&ram->lock, flags);
		if (!err)
			return 0;
		if (err == -EAGAIN)
			err = break_sharing(vm, page);
		if (err)
			err = swap_retry(vm, page, err);
		if (err)
			return err;
	}
}

static void nothing(uint64_t hpa, void *arg)
{
	(void)hpa;
	(void)arg;
}

/* Map a hole page to the VM's read-only zero page. */
static int map_hole_page(struct vm *vm, uint64_t gpa)
{
	struct vm_ram *ram = vm->ram;
	unsigned long flags = spin_lock_irqsave(&ram->lock);
	uint64_t page = gpa & ~(PAGE_SIZE_4K - 1), hpa;
	int err = 0;

	if (!ram->zero_page)
		ram->zero_page = pool_alloc(NULL);
	if (!ram->zero_page)
		err = -ENOMEM;
	else if (ept_lookup(&ram->ept, page, &hpa, NULL, NULL, NULL))
		err = ept_map(&ram->ept, page, ram->zero_page, PAGE_SIZE_4K, EPT_R | EPT_X,
			      EPT_MT_WB);
	spin_unlock_irqrestore(&ram->lock, flags);
	return err;
}

/* A guest access faulted on RAM: back it, or break sharing for a write. */
int guest_ram_fault(struct vm *vm, uint64_t gpa)
{
	return with_page(vm, gpa, true, nothing, NULL);
}

static int guest_ram_fault_read(struct vm *vm, uint64_t gpa)
{
	struct vm_ram *ram = vm->ram;
	uint64_t page = gpa & ~(PAGE_SIZE_4K - 1), hpa;
	unsigned long flags;
	int err = 0;

	if (!is_ram(vm, gpa))
		return -EFAULT;
	/* A read or fetch of a page never touched backs it; of a mapped page, nothing to do. */
	do {
		flags = spin_lock_irqsave(&ram->lock);
		err = 0;
		if (ept_lookup(&ram->ept, page, &hpa, NULL, NULL, NULL))
			err = page_for(vm, page, true, &hpa);
		spin_unlock_irqrestore(&ram->lock, flags);
	} while (err && !(err = swap_retry(vm, page, err)));
	return err;
}

/*
 * Map one host page at a guest-physical page outside RAM (the APIC-access
 * page at the xAPIC base). The page stays the caller's: it is not freed
 * with guest RAM.
 */
int guest_map_page(struct vm *vm, uint64_t gpa, uint64_t hpa)
{
	struct vm_ram *ram = vm->ram;
	unsigned long flags;
	int err;

	if (guest_is_ram(vm, gpa) || (gpa & (PAGE_SIZE_4K - 1)))
		return -EINVAL;
	flags = spin_lock_irqsave(&ram->lock);
	err = ept_map(&ram->ept, gpa, hpa, PAGE_SIZE_4K, EPT_R | EPT_W, EPT_MT_WB);
	if (!err)
		ram->foreign_pages++;
	spin_unlock_irqrestore(&ram->lock, flags);
	return err;
}

bool guest_is_ram(const struct vm *vm, uint64_t gpa)
{
	return is_ram(vm, gpa);
}

/*
 * An EPT violation outside every device: back a RAM page, or map the
 * legacy hole's zero page for a read. -EFAULT: nothing may be there.
 */
int guest_mem_fault(struct vm *vm, uint64_t gpa, bool write)
{
	if (in_hole(gpa))
		return write ? -EFAULT : map_hole_page(vm, gpa);
	return write ? guest_ram_fault(vm, gpa) : guest_ram_fault_read(vm, gpa);
}

int guest_ept_check(struct vm *vm, char *why, size_t len)
{
	return ept_check(&vm->ram->ept, why, len);
}

struct copy {
	uint8_t *host;		/* NULL: zero the guest's bytes */
	size_t n;
	int dir;		/* 0 guest to host, 1 host to guest, -1 zero the guest */
};

static void copy_page(uint64_t hpa, void *arg)
{
	struct copy *c = arg;

	if (c->dir == 0)
		hpa ? memcpy(c->host, phys_to_virt(hpa), c->n) : memset(c->host, 0, c->n);
	else if (c->dir > 0)
		memcpy(phys_to_virt(hpa), c->host, c->n);
	else
		memset(phys_to_virt(hpa), 0, c->n);
}

/* Copy between host and guest memory, a page at a time. */
static int guest_copy(struct vm *vm, uint64_t gpa, void *host, size_t len, int dir)
{
	struct copy c = { host, 0, dir };

	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		int err;

		c.n = PAGE_SIZE_4K - (gpa & (PAGE_SIZE_4K - 1));
		if (c.n > len)
			c.n = len;
		err = with_page(vm, gpa, dir != 0, copy_page, &c);
		if (err)
			return err;
		gpa += c.n;
		len -= c.n;
		if (c.host)
			c.host += c.n;
	}
	return 0;
}

int guest_read(struct vm *vm, uint64_t gpa, void *dst, size_t len)
{
	return guest_copy(vm, gpa, dst, len, 0);
}

int guest_write(struct vm *vm, uint64_t gpa, const void *src, size_t len)
{
	return guest_copy(vm, gpa, (void *)src, len, 1);
}

int guest_zero(struct vm *vm, uint64_t gpa, size_t len)
{
	return guest_copy(vm, gpa, NULL, len, -1);
}

struct or32 {
	uint32_t bits;
	bool done;
};

static void or_page(uint64_t hpa, void *arg)
{
	struct or32 *o = arg;

	if (!hpa)
		return;
	__atomic_fetch_or((uint32_t *)phys_to_virt(hpa), o->bits, __ATOMIC_SEQ_CST);
	o->done = true;
}

/*
 * OR bits into the 32-bit word at gpa atomically, as the CPU sets accessed
 * and dirty bits in the guest's page tables (mem/guest_walk.c). Only for
 * RAM that is already backed (a paging structure the walk just read); a
 * shared page is broken first, as for any write.
 */
int guest_atomic_or32(struct vm *vm, uint64_t gpa, uint32_t bits)
{
	struct or32 o = { bits, false };
	int err;

	if (gpa & 3)
		return -EINVAL;
	if (!is_ram(vm, gpa))
		return -EFAULT;
	err = with_page(vm, gpa, true, or_page, &o);
	return err ? err : o.done ? 0 : -EFAULT;
}
