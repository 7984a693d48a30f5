/*
 * Guest physical memory: an EPT per VM, backed on first touch.
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
 * Host-side copies (loader, hypercalls) go through the same EPT: reads of
 * never-touched pages return zeros without backing them; writes back them.
 *
 * Locking: ram->lock serialises backing a page, so two vCPUs faulting on
 * the same page cannot both allocate it.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <string.h>
#include <vmm/ept.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/spinlock.h>
#include <vmm/admission.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/guest_mem.h>
#include <vmm/pc_layout.h>
#include <vmm/vm.h>

#define HOLE_START 0xa0000ULL
#define HOLE_END 0x100000ULL

struct vm_ram {
	struct ept ept;
	struct spinlock lock;
	uint64_t pages;		/* backed guest pages, lock */
	uint64_t zero_page;	/* backs the hole read-only, lock */
	uint64_t foreign_pages;	/* mapped by guest_map_page(), not freed here, lock */
};

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
	int err;

	if (!ram)
		return -ENOMEM;
	spin_init(&ram->lock, "guest ram");
	err = ept_init(&ram->ept, &ept_pool, caps->ept_2m, caps->ept_1g, false);
	if (err) {
		kfree(ram);
		return err;
	}
	vm->ram = ram;
	vm->ram_size = size;
	return 0;
}

static int free_leaf(void *ctx, uint64_t va, unsigned level, uint64_t entry, bool leaf)
{
	static const unsigned order[] = { 0, 0, 9, 18 };
	const struct vm *vm = ctx;

	if (leaf && level <= 3 && is_ram(vm, va))
		page_free(entry & 0x000ffffffffff000ULL & ~((PAGE_SIZE_4K << order[level]) - 1),
			  order[level]);
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
	ram->pages += size / PAGE_SIZE_4K;
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

void guest_ram_destroy(struct vm *vm)
{
	struct vm_ram *ram = vm->ram;

	if (!ram)
		return;
	pgt_walk(&ram->ept.pt, free_leaf, vm);
	if (ram->zero_page)
		page_free(ram->zero_page, 0);
	ept_destroy(&ram->ept);
	kfree(ram);
	vm->ram = NULL;
}

uint64_t guest_eptp(struct vm *vm)
{
	return ept_eptp(&vm->ram->ept, EPT_MT_WB);
}

uint64_t guest_ram_pages(const struct vm *vm)
{
	return vm->ram ? vm->ram->pages : 0;
}

/* Host address backing gpa, backing it first if `populate`; 0 if none. */
static uint64_t backing(struct vm *vm, uint64_t gpa, bool populate, int *err)
{
	struct vm_ram *ram = vm->ram;
	uint64_t page = gpa & ~(PAGE_SIZE_4K - 1), hpa = 0, pa;
	unsigned long flags;

	*err = 0;
	if (!is_ram(vm, gpa)) {
		*err = -EFAULT;
		return 0;
	}
	flags = spin_lock_irqsave(&ram->lock);
	if (ept_lookup(&ram->ept, page, &hpa, NULL, NULL, NULL) == 0) {
		spin_unlock_irqrestore(&ram->lock, flags);
		return hpa + (gpa - page);
	}
	if (!populate) {
		spin_unlock_irqrestore(&ram->lock, flags);
		return 0;
	}
	/* Beyond its reservation a VM may not eat into the vmkernel's reserve (admission.c). */
	pa = vm_mem_may_back(vm) ? pool_alloc(NULL) : 0;
	if (!pa) {
		*err = -ENOMEM;
	} else if ((*err = ept_map(&ram->ept, page, pa, PAGE_SIZE_4K, EPT_R | EPT_W | EPT_X,
				   EPT_MT_WB))) {
		page_free(pa, 0);
	} else {
		ram->pages++;
		hpa = pa + (gpa - page);
	}
	spin_unlock_irqrestore(&ram->lock, flags);
	return hpa;
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

int guest_ram_fault(struct vm *vm, uint64_t gpa)
{
	int err;

	backing(vm, gpa, true, &err);
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
	return guest_ram_fault(vm, gpa);
}

int guest_ept_check(struct vm *vm, char *why, size_t len)
{
	return ept_check(&vm->ram->ept, why, len);
}

/* Copy between host and guest memory, a page at a time. */
static int guest_copy(struct vm *vm, uint64_t gpa, void *host, size_t len, int dir)
{
	uint8_t *h = host;

	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		size_t n = PAGE_SIZE_4K - (gpa & (PAGE_SIZE_4K - 1));
		int err;
		uint64_t hpa;

		if (n > len)
			n = len;
		hpa = backing(vm, gpa, dir != 0, &err);
		if (err)
			return err;
		if (dir == 0)
			hpa ? memcpy(h, phys_to_virt(hpa), n) : memset(h, 0, n);
		else if (dir > 0)
			memcpy(phys_to_virt(hpa), h, n);
		else
			memset(phys_to_virt(hpa), 0, n);
		gpa += n;
		len -= n;
		if (h)
			h += n;
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

/*
 * OR bits into the 32-bit word at gpa atomically, as the CPU sets accessed
 * and dirty bits in the guest's page tables (mem/guest_walk.c). Only for
 * RAM that is already backed (a paging structure the walk just read).
 */
int guest_atomic_or32(struct vm *vm, uint64_t gpa, uint32_t bits)
{
	uint64_t hpa;
	int err;

	if (gpa & 3)
		return -EINVAL;
	hpa = backing(vm, gpa, false, &err);
	if (!hpa)
		return err ? err : -EFAULT;
	__atomic_fetch_or((uint32_t *)phys_to_virt(hpa), bits, __ATOMIC_SEQ_CST);
	return 0;
}
