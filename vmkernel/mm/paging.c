/*
 * Host page tables.
 *
 * The tables are built with the table-driven walker shared with the EPT
 * code (pgtable.c, host format); this file decides what to map and how.
 *
 * Layout built by paging_init():
 *   PML4[0]    empty, except while APs start: paging_map_identity_page()
 *              maps the trampoline page there (executable), and
 *              paging_drop_identity() unmaps it again
 *   PML4[256+] direct map of [0, limit): 1 GiB pages where the CPU has them
 *              and the whole gigabyte is RAM, else 2 MiB pages; each page is
 *              write-back if it holds RAM, uncached otherwise
 *              (ranges mixing RAM and non-RAM, and the one holding the
 *              kernel image, are split into 4 KiB pages; the kernel
 *              image's alias is read-only)
 *   PML4[511]  the kernel image in 4 KiB pages: text RX, rodata R, data RW NX
 *
 * All kernel mappings are global (CR4.PGE), so dropping the identity map
 * only needs a CR3 reload on each CPU.
 */
#define pr_fmt(fmt) "paging: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/mem.h>
#include <vmkernel/paging.h>
#include <vmkernel/pgtable.h>
#include <vmkernel/kmem.h>
#include <vmkernel/spinlock.h>

extern const char __kernel_start[], __text_start[], __text_end[], __kernel_end[];
extern const char __kernel_phys_start[];
extern char __ksyms_end[];

static struct pgtable kpt;		/* the kernel's page tables; boot CPU during boot */
static struct pgt_format host_fmt;	/* pgt_host_format, 1 GiB leaves only with PDPE1GB */
static pt_alloc_fn pt_alloc;
static uint64_t identity_page;		/* mapped at its own address while APs start, or 0 */
static uint64_t direct_end;
static bool nx_ok;
static bool pat_wc_ok;
static uint64_t n_1g, n_2m, n_4k;

static uint64_t pool_alloc(void *ctx)
{
	uint64_t pa = pt_alloc();

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

static const struct pgt_pool kpool = { NULL, pool_alloc, pool_free, pool_virt };

/* Map one page of `size` (4 KiB, 2 MiB or 1 GiB) at va. */
static int map_page(uint64_t va, uint64_t pa, uint64_t size, uint64_t flags)
{
	return pgt_map(&kpt, va, pa, size, flags, size == PAGE_SIZE_4K ? PGT_4K : 0);
}

static bool range_is_ram(const struct mem_ranges *ram, uint64_t start, uint64_t len, bool whole)
{
	for (unsigned i = 0; i < ram->count; i++) {
		const struct mem_range *r = &ram->r[i];

		if (whole && r->start <= start && r->end >= start + len)
			return true;
		if (!whole && r->start < start + len && r->end > start)
			return true;
	}
	return false;
}

static bool overlaps_kernel_image(uint64_t pa, uint64_t len)
{
	return pa < virt_to_phys(__kernel_end) && pa + len > (uint64_t)__kernel_phys_start;
}

/*
 * A 2 MiB range that is neither all RAM nor all non-RAM, or that holds the
 * kernel image, is mapped in 4 KiB pages: one large page must not span
 * memory of different types (SDM 3A 11.11.9), and the direct-map alias of
 * the kernel image must not be a writable way around its W^X mapping.
 */
static int map_direct_split(const struct mem_ranges *ram, uint64_t pa, uint64_t flags)
{
	for (uint64_t p = pa; p < pa + PAGE_SIZE_2M; p += PAGE_SIZE_4K) {
		uint64_t f = flags;
		int err;

		if (!range_is_ram(ram, p, PAGE_SIZE_4K, true))
			f |= PTE_PCD | PTE_PWT;
		if (overlaps_kernel_image(p, PAGE_SIZE_4K))
			f &= ~PTE_W;
		err = map_page(DIRECT_MAP_BASE + p, p, PAGE_SIZE_4K, f);
		if (err)
			return err;
		n_4k++;
	}
	return 0;
}

static int map_direct_2m(const struct mem_ranges *ram, uint64_t pa, uint64_t flags)
{
	bool all_ram = range_is_ram(ram, pa, PAGE_SIZE_2M, true);
	bool any_ram = range_is_ram(ram, pa, PAGE_SIZE_2M, false);

	if ((any_ram && !all_ram) || overlaps_kernel_image(pa, PAGE_SIZE_2M))
		return map_direct_split(ram, pa, flags);
	if (!any_ram)
		flags |= PTE_PCD | PTE_PWT;
	n_2m++;
	return map_page(DIRECT_MAP_BASE + pa, pa, PAGE_SIZE_2M, flags);
}

static int map_direct(const struct mem_ranges *ram, uint64_t limit)
{
	bool gb_pages = cpuid(0x80000001, 0).edx & CPUID81_EDX_PDPE1GB;
	uint64_t flags = PTE_W | PTE_G | (nx_ok ? PTE_NX : 0);
	uint64_t pa = 0;
	int err;

	while (pa < limit) {
		if (gb_pages && pa >= (4ULL << 30) && !(pa & (PAGE_SIZE_1G - 1)) &&
		    pa + PAGE_SIZE_1G <= limit && range_is_ram(ram, pa, PAGE_SIZE_1G, true)) {
			err = map_page(DIRECT_MAP_BASE + pa, pa, PAGE_SIZE_1G, flags);
			pa += PAGE_SIZE_1G;
			n_1g++;
		} else {
			err = map_direct_2m(ram, pa, flags);
			pa += PAGE_SIZE_2M;
		}
		if (err)
			return err;
	}
	direct_end = limit;
	return 0;
}

static int map_kernel(void)
{
	uint64_t va = (uint64_t)__kernel_start & ~(PAGE_SIZE_4K - 1);
	uint64_t end = ((uint64_t)__kernel_end + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
	uint64_t nx = nx_ok ? PTE_NX : 0;
	int err;

	/* The .boot section (multiboot header, 32-bit entry) is never used again: not mapped. */
	for (; va < end; va += PAGE_SIZE_4K) {
		uint64_t flags = PTE_G;

		if (va >= (uint64_t)__text_start && va < (uint64_t)__text_end)
			flags |= 0;			/* RX */
		else if (va < (uint64_t)__ksyms_end)
			flags |= nx;			/* rodata: R */
		else
			flags |= PTE_W | nx;		/* data, bss: RW */
		err = map_page(va, va - KERNEL_VMA, PAGE_SIZE_4K, flags);
		if (err)
			return err;
		n_4k++;
	}
	return 0;
}

int paging_init(const struct mem_ranges *ram, uint64_t limit, pt_alloc_fn alloc)
{
	int err;

	pt_alloc = alloc;
	nx_ok = cpuid(0x80000001, 0).edx & CPUID81_EDX_NX;
	host_fmt = pgt_host_format;
	if (!(cpuid(0x80000001, 0).edx & CPUID81_EDX_PDPE1GB))
		host_fmt.max_leaf_level = 2;
	err = pgt_init(&kpt, &host_fmt, &kpool);
	if (err)
		return err;
	if (limit > DIRECT_MAP_MAX) {
		pr_warn("physical memory above %llu GiB is not mapped\n",
			(unsigned long long)(DIRECT_MAP_MAX >> 30));
		limit = DIRECT_MAP_MAX;
	}
	err = map_direct(ram, limit);
	if (!err)
		err = map_kernel();
	if (err) {
		pr_err("%s\n", kpt.err);
		return err;
	}
	write_cr4(read_cr4() | X86_CR4_PGE);
	write_cr3(kpt.root_pa);
	return 0;
}

/* Changes to the kernel's tables after boot (stacks, WC, identity page) take this lock. */
static struct spinlock kpt_lock = SPINLOCK_INIT("kernel page tables");

static void flush_global_tlb(void)
{
	write_cr4(read_cr4() & ~X86_CR4_PGE);	/* flushes global entries too */
	write_cr4(read_cr4() | X86_CR4_PGE);
}

int paging_set_write_combining(uint64_t pa, uint64_t len)
{
	uint64_t start = pa & ~(PAGE_SIZE_4K - 1);
	uint64_t end = (pa + len + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
	unsigned long flags;
	int err;

	if (!pat_wc_ok || !paging_phys_mapped(pa, len))
		return -ENOTSUP;
	/* PAT index 1 (PWT only) is write-combining; see paging_init_pat(). */
	flags = spin_lock_irqsave(&kpt_lock);
	err = pgt_protect(&kpt, DIRECT_MAP_BASE + start, end - start, PTE_PCD, PTE_PWT);
	spin_unlock_irqrestore(&kpt_lock, flags);
	flush_global_tlb();
	return err;
}

/*
 * Every CPU programs the same PAT: the power-on layout except entry 1
 * (PWT=1, PCD=0), which becomes write-combining instead of write-through.
 */
void paging_init_pat(void)
{
	if (!(cpuid(1, 0).edx & (1U << 16)))
		return;
	wrmsr(MSR_IA32_PAT, 0x0007040600070106ULL);
	pat_wc_ok = true;
}

/*
 * Kernel stacks live in their own area: each gets a 64 KiB slot with the
 * stack at its top and nothing mapped below, so running off the end is a
 * page fault (reported on the double-fault IST stack) instead of silent
 * corruption of whatever page came next.
 */
void *paging_alloc_stack(size_t size)
{
	static unsigned next_slot;	/* kpt_lock */
	unsigned long flags;
	uint64_t top, nx = nx_ok ? PTE_NX : 0;

	size = (size + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
	if (!size || size > STACK_SLOT_SIZE - PAGE_SIZE_4K)
		return NULL;
	flags = spin_lock_irqsave(&kpt_lock);
	if (next_slot == STACK_AREA_SLOTS) {
		spin_unlock_irqrestore(&kpt_lock, flags);
		return NULL;
	}
	top = STACK_AREA_BASE + (uint64_t)(++next_slot) * STACK_SLOT_SIZE;
	for (uint64_t va = top - size; va < top; va += PAGE_SIZE_4K) {
		uint64_t pa = pt_alloc();

		if (!pa || map_page(va, pa, PAGE_SIZE_4K, PTE_W | PTE_G | nx)) {
			spin_unlock_irqrestore(&kpt_lock, flags);
			return NULL;	/* the slot is burnt; pages mapped so far stay */
		}
	}
	spin_unlock_irqrestore(&kpt_lock, flags);
	return (void *)top;
}

/*
 * Device registers above the direct map's end (64-bit BARs the firmware put
 * high): map them uncached at their direct-map address, 4 KiB pages, once.
 * Below the end they are already mapped, uncached unless the firmware map
 * calls them RAM.
 */
void *paging_map_mmio(uint64_t pa, uint64_t len)
{
	uint64_t start = pa & ~(PAGE_SIZE_4K - 1);
	uint64_t end = (pa + len + PAGE_SIZE_4K - 1) & ~(PAGE_SIZE_4K - 1);
	uint64_t nx = nx_ok ? PTE_NX : 0;
	unsigned long flags;

	if (!len || end <= start || end > DIRECT_MAP_MAX)
		return NULL;
	if (paging_phys_mapped(pa, len))
		return phys_to_virt(pa);
	flags = spin_lock_irqsave(&kpt_lock);
	for (uint64_t p = start < direct_end ? direct_end : start; p < end; p += PAGE_SIZE_4K) {
		uint64_t old;

		if (!pgt_lookup(&kpt, DIRECT_MAP_BASE + p, &old, NULL, NULL))
			continue;	/* mapped by an earlier call */
		if (map_page(DIRECT_MAP_BASE + p, p, PAGE_SIZE_4K,
			     PTE_W | PTE_G | PTE_PCD | PTE_PWT | nx)) {
			spin_unlock_irqrestore(&kpt_lock, flags);
			pr_err("cannot map device registers at %#llx: %s\n",
			       (unsigned long long)p, kpt.err);
			return NULL;
		}
		n_4k++;
	}
	spin_unlock_irqrestore(&kpt_lock, flags);
	return phys_to_virt(pa);
}

int paging_virt_to_phys(const void *va, uint64_t *pa)
{
	uint64_t v = (uint64_t)(uintptr_t)va;

	if (v >= KERNEL_VMA || (v >= DIRECT_MAP_BASE && v - DIRECT_MAP_BASE < direct_end)) {
		*pa = virt_to_phys(va);
		return 0;
	}
	return pgt_lookup(&kpt, v, pa, NULL, NULL);
}

bool paging_phys_mapped(uint64_t pa, uint64_t len)
{
	return pa < direct_end && len <= direct_end - pa;
}

uint64_t paging_direct_map_end(void)
{
	return direct_end;
}

void paging_set_allocator(pt_alloc_fn alloc)
{
	pt_alloc = alloc;
}

int paging_map_identity_page(uint64_t pa)
{
	unsigned long flags = spin_lock_irqsave(&kpt_lock);
	int err = map_page(pa, pa, PAGE_SIZE_4K, PTE_W);

	if (!err)
		identity_page = pa;
	spin_unlock_irqrestore(&kpt_lock, flags);
	return err;
}

/* Boot CPU, once every AP runs on the kernel's tables; then each CPU flushes its TLB. */
void paging_drop_identity(void)
{
	unsigned long flags = spin_lock_irqsave(&kpt_lock);

	if (identity_page && pgt_unmap(&kpt, identity_page, PAGE_SIZE_4K))
		pr_err("cannot unmap the AP trampoline page: %s\n", kpt.err);
	identity_page = 0;
	spin_unlock_irqrestore(&kpt_lock, flags);
}

void paging_flush_tlb_local(void)
{
	write_cr3(read_cr3());
}

uint64_t paging_kernel_cr3(void)
{
	return kpt.root_pa;
}

void paging_stats(uint64_t *n1g, uint64_t *n2m, uint64_t *n4k)
{
	*n1g = n_1g;
	*n2m = n_2m;
	*n4k = n_4k;
}
