/*
 * Physical memory for the vmkernel.
 *
 * Boot order: kmem_init_ranges() turns the multiboot2 memory map into the
 * set of usable RAM and removes everything that is in use (low 1 MiB, the
 * kernel image, the boot information, modules; ACPI tables come next via
 * kmem_reserve()). kmem_init() then takes page-table pages and the buddy
 * allocator's page array straight out of that set, switches to the
 * kernel's page tables, and hands every range left to the buddy allocator.
 *
 * Locking: buddy_lock protects `zone`, heap_lock protects `heap`. The heap
 * takes pages with heap_lock held, so the order is heap_lock -> buddy_lock.
 */
#define pr_fmt(fmt) "mem: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/mem.h>
#include <vmkernel/multiboot2.h>
#include <vmkernel/paging.h>
#include <vmkernel/panic.h>
#include <vmkernel/spinlock.h>

#define LOW_MEM_END	0x100000ULL

extern const char __kernel_phys_start[], __kernel_end[];

static struct mem_ranges usable;	/* boot only, then frozen */
static struct mem_ranges ram;		/* RAM-like types in the firmware map */
static uint64_t ram_top, ram_bytes, low_page, meta_bytes, managed_bytes;
static bool buddy_ready;

static struct spinlock buddy_lock = SPINLOCK_INIT("buddy");
static struct buddy zone;		/* buddy_lock */
static struct spinlock heap_lock = SPINLOCK_INIT("heap");
static struct heap heap;		/* heap_lock */

static bool is_ram_type(uint32_t type)
{
	return type == MB2_MEM_AVAILABLE || type == MB2_MEM_ACPI_RECLAIMABLE ||
	       type == MB2_MEM_NVS;
}

void kmem_reserve(uint64_t start, uint64_t len, const char *what)
{
	if (!len)
		return;
	if (mem_ranges_remove_len(&usable, start & PAGE_MASK,
				  ((start & ~PAGE_MASK) + len + PAGE_SIZE - 1) & PAGE_MASK))
		pr_warn("cannot reserve %s at %#llx: range table full\n", what,
			(unsigned long long)start);
}

static void pick_low_page(void)
{
	/* Highest free page in [4 KiB, 636 KiB): below the EBDA, above the real-mode IVT. */
	for (int i = (int)usable.count - 1; i >= 0 && !low_page; i--) {
		uint64_t end = usable.r[i].end < 0x9f000 ? usable.r[i].end : 0x9f000;

		if (end >= usable.r[i].start + PAGE_SIZE && end - PAGE_SIZE >= 0x1000)
			low_page = end - PAGE_SIZE;
	}
}

int kmem_init_ranges(const struct mb2_info *mb, uint64_t info_phys)
{
	mem_ranges_init(&usable);
	mem_ranges_init(&ram);
	for (uint32_t i = 0; i < mb->mmap_count; i++) {
		const struct mb2_mmap_entry *e = mb2_mmap_entry(mb, i);

		if (!e->len || e->addr + e->len < e->addr)
			continue;
		if (e->type == MB2_MEM_AVAILABLE) {
			ram_bytes += e->len;
			mem_ranges_add_len(&usable, e->addr, e->len);
		}
		if (is_ram_type(e->type)) {
			mem_ranges_add_len(&ram, e->addr, e->len);
			if (e->addr + e->len > ram_top)
				ram_top = e->addr + e->len;
		}
	}
	if (!usable.count) {
		pr_err("the boot loader's memory map lists no usable RAM\n");
		return -EINVAL;
	}
	/* Anything the firmware marks reserved must not be handed out even if listed twice. */
	for (uint32_t i = 0; i < mb->mmap_count; i++) {
		const struct mb2_mmap_entry *e = mb2_mmap_entry(mb, i);

		if (e->type != MB2_MEM_AVAILABLE && e->len && e->addr + e->len > e->addr)
			mem_ranges_remove_len(&usable, e->addr, e->len);
	}
	mem_ranges_align_pages(&usable);
	kmem_reserve((uint64_t)__kernel_phys_start, virt_to_phys(__kernel_end) -
		     (uint64_t)__kernel_phys_start, "kernel image");
	/* GRUB may put the boot information and modules anywhere, low memory included. */
	kmem_reserve(info_phys, mb->total_size, "boot information");
	for (uint32_t i = 0; i < mb->module_count; i++)
		kmem_reserve(mb->modules[i].start, mb->modules[i].end - mb->modules[i].start,
			     "module");
	pick_low_page();
	mem_ranges_remove(&usable, 0, LOW_MEM_END);
	return 0;
}

uint64_t kmem_low_page(void)
{
	return low_page;
}

static uint64_t early_page(void)
{
	uint64_t pa;

	/* Below 4 GiB: the boot page tables map only that much. */
	if (mem_ranges_take(&usable, PAGE_SIZE, PAGE_SIZE, 4ULL << 30, &pa))
		return 0;
	meta_bytes += PAGE_SIZE;
	return pa;
}

static void *heap_get_pages(void *ctx, unsigned order)
{
	uint64_t pa;

	(void)ctx;
	pa = page_alloc(order);
	return pa ? phys_to_virt(pa) : NULL;
}

static void heap_put_pages(void *ctx, void *va, unsigned order)
{
	(void)ctx;
	page_free(virt_to_phys(va), order);
}

static uint64_t pt_page_alloc(void)
{
	return page_alloc(0);
}

static int buddy_setup(void)
{
	uint64_t npages = (ram_top + PAGE_SIZE - 1) >> PAGE_SHIFT;
	size_t meta = buddy_metadata_size(npages);
	uint64_t pa;
	int err;

	if (mem_ranges_take(&usable, (meta + PAGE_SIZE - 1) & PAGE_MASK, PAGE_SIZE,
			    paging_direct_map_end(), &pa)) {
		pr_err("no contiguous %zu KiB for the page array\n", meta >> 10);
		return -ENOMEM;
	}
	meta_bytes += meta;
	err = buddy_init(&zone, 0, npages, phys_to_virt(pa));
	if (err)
		return err;
	for (unsigned i = 0; i < usable.count; i++) {
		uint64_t s = usable.r[i].start, e = usable.r[i].end;

		if (e > paging_direct_map_end())
			e = paging_direct_map_end();
		if (s >= e)
			continue;
		err = buddy_add_free_range(&zone, s >> PAGE_SHIFT, (e - s) >> PAGE_SHIFT);
		if (err) {
			pr_err("page allocator refused %#llx-%#llx: %s\n", (unsigned long long)s,
			       (unsigned long long)e, zone.err);
			return err;
		}
		managed_bytes += e - s;
	}
	buddy_ready = true;
	paging_set_allocator(pt_page_alloc);
	return 0;
}

int kmem_init(void)
{
	static const struct heap_page_ops ops = { heap_get_pages, heap_put_pages, NULL };
	uint64_t limit = ram_top > (4ULL << 30) ? ram_top : (4ULL << 30);
	int err;

	limit = (limit + PAGE_SIZE_1G - 1) & ~(PAGE_SIZE_1G - 1);
	err = paging_init(&ram, limit, early_page);
	if (err) {
		pr_err("cannot build the kernel page tables (%d)\n", err);
		return err;
	}
	err = buddy_setup();
	if (err)
		return err;
	return heap_init(&heap, &ops);
}

uint64_t page_alloc(unsigned order)
{
	unsigned long flags;
	int64_t pfn;

	if (!buddy_ready)
		return 0;
	flags = spin_lock_irqsave(&buddy_lock);
	pfn = buddy_alloc(&zone, order);
	spin_unlock_irqrestore(&buddy_lock, flags);
	return pfn < 0 ? 0 : (uint64_t)pfn << PAGE_SHIFT;
}

uint64_t page_alloc_below(unsigned order, uint64_t limit)
{
	unsigned long flags;
	int64_t pfn;

	flags = spin_lock_irqsave(&buddy_lock);
	pfn = buddy_alloc_below(&zone, order, limit >> PAGE_SHIFT);
	spin_unlock_irqrestore(&buddy_lock, flags);
	return pfn < 0 ? 0 : (uint64_t)pfn << PAGE_SHIFT;
}

void page_free(uint64_t pa, unsigned order)
{
	unsigned long flags;
	int err;

	flags = spin_lock_irqsave(&buddy_lock);
	err = buddy_free(&zone, pa >> PAGE_SHIFT, order);
	spin_unlock_irqrestore(&buddy_lock, flags);
	if (err)
		panic("page_free(%#llx, order %u): %s", (unsigned long long)pa, order, zone.err);
}

void *kmalloc(size_t size)
{
	unsigned long flags = spin_lock_irqsave(&heap_lock);
	void *p = heap_alloc(&heap, size);

	spin_unlock_irqrestore(&heap_lock, flags);
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	unsigned long flags = spin_lock_irqsave(&heap_lock);
	int err = heap_free(&heap, p);

	spin_unlock_irqrestore(&heap_lock, flags);
	if (err)
		panic("kfree(%p): %s", p, heap.err);
}

void kmem_get_stats(struct kmem_stats *st)
{
	unsigned long flags;
	struct heap_stats hs;

	st->ram_bytes = ram_bytes;
	st->managed_bytes = managed_bytes;
	st->kernel_bytes = virt_to_phys(__kernel_end) - (uint64_t)__kernel_phys_start;
	st->metadata_bytes = meta_bytes;
	flags = spin_lock_irqsave(&buddy_lock);
	st->free_bytes = buddy_free_pages(&zone) << PAGE_SHIFT;
	spin_unlock_irqrestore(&buddy_lock, flags);
	flags = spin_lock_irqsave(&heap_lock);
	heap_get_stats(&heap, &hs);
	spin_unlock_irqrestore(&heap_lock, flags);
	st->heap_bytes = hs.bytes_in_use;
}

uint64_t kmem_free_bytes(void)
{
	unsigned long flags = spin_lock_irqsave(&buddy_lock);
	uint64_t free = buddy_free_pages(&zone) << PAGE_SHIFT;

	spin_unlock_irqrestore(&buddy_lock, flags);
	return free;
}

int kmem_check(char *err, size_t len)
{
	unsigned long flags;
	int rc;

	flags = spin_lock_irqsave(&heap_lock);
	rc = heap_check(&heap, err, len);
	spin_unlock_irqrestore(&heap_lock, flags);
	if (rc)
		return rc;
	flags = spin_lock_irqsave(&buddy_lock);
	rc = buddy_check(&zone, err, len);
	spin_unlock_irqrestore(&buddy_lock, flags);
	return rc;
}
