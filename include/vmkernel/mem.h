/*
 * Physical memory management for the vmkernel: a set of physical address
 * ranges (used to turn the firmware memory map into "usable RAM"), a buddy
 * allocator of 4 KiB page frames and a malloc-like kernel heap.
 *
 * None of these modules takes a lock: the caller serialises every call on
 * one object (the kernel wraps each buddy zone and each heap in a spinlock).
 * None of them keeps global state; all state lives in the structs below.
 */
#ifndef MEM_H
#define MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef PAGE_SHIFT
#define PAGE_SHIFT	12
#endif
#ifndef PAGE_SIZE
#define PAGE_SIZE	4096UL
#endif
#ifndef PAGE_MASK
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#endif

#define MEM_ERR_LEN	96

/* ------------------------------------------------------------------------
 * Range set: a sorted, fixed-capacity list of disjoint, non-adjacent
 * [start, end) physical ranges.  Ranges are half-open, so a range cannot
 * reach the very last byte of the 64-bit space: mem_ranges_add_len() clamps
 * base + length to UINT64_MAX (the lost byte belongs to a partial page that
 * mem_ranges_align_pages() would drop anyway).  mem_ranges_add/remove take
 * (start, end) and reject end < start with -EINVAL; start == end is a no-op.
 * On any error the set is left exactly as it was.
 */
#define MEM_RANGES_MAX	128

struct mem_range {
	uint64_t start;
	uint64_t end;		/* exclusive */
};

struct mem_ranges {
	struct mem_range r[MEM_RANGES_MAX];	/* sorted by start, disjoint */
	unsigned count;
	char err[MEM_ERR_LEN];	/* reason for the last failed call */
};

void mem_ranges_init(struct mem_ranges *s);
int mem_ranges_add(struct mem_ranges *s, uint64_t start, uint64_t end);
int mem_ranges_add_len(struct mem_ranges *s, uint64_t base, uint64_t len);
int mem_ranges_remove(struct mem_ranges *s, uint64_t start, uint64_t end);
int mem_ranges_remove_len(struct mem_ranges *s, uint64_t base, uint64_t len);
/* Shrink every range inward to whole pages; drop ranges left empty. */
void mem_ranges_align_pages(struct mem_ranges *s);
uint64_t mem_ranges_total(const struct mem_ranges *s);
bool mem_ranges_contains(const struct mem_ranges *s, uint64_t start, uint64_t end);
/*
 * Take `size` bytes aligned to `align` (a power of two) lying wholly below
 * `limit` out of the set (lowest fitting address first) and return the
 * address in *out.  Lets the kernel carve the buddy metadata out of RAM.
 * -EINVAL for a bad size/align, -ENOMEM if nothing fits.
 */
int mem_ranges_take(struct mem_ranges *s, uint64_t size, uint64_t align, uint64_t limit,
		    uint64_t *out);

/* ------------------------------------------------------------------------
 * Buddy allocator of page frames.  Blocks of order k are 2^k frames and are
 * aligned to 2^k in absolute pfn terms, so an order-9 block is a 2 MiB page
 * and an order-18 block a 1 GiB page.  The metadata is a caller-supplied
 * array of struct page, one per frame of the zone; free memory itself is
 * never touched.
 */
#define BUDDY_MAX_ORDER	18
#define BUDDY_NIL	0xffffffffu

struct page {
	uint32_t next;		/* free list links: frame index in zone or BUDDY_NIL */
	uint32_t prev;
	uint8_t order;		/* valid in a block head */
	uint8_t flags;		/* PAGE_F_* */
	uint16_t pad;
};
_Static_assert(sizeof(struct page) <= 16, "struct page must stay small");

#define PAGE_F_RESERVED		0x01	/* never made available */
#define PAGE_F_FREE		0x02	/* head of a free block */
#define PAGE_F_ALLOC		0x04	/* head of an allocated block */

struct buddy {
	uint64_t base_pfn;
	uint64_t npages;
	struct page *pages;
	uint32_t free_head[BUDDY_MAX_ORDER + 1];
	uint64_t free_blocks[BUDDY_MAX_ORDER + 1];
	uint64_t free_pages;
	uint64_t alloc_pages;
	char err[MEM_ERR_LEN];	/* reason for the last failed call */
};

/* Bytes of struct page array needed for a zone of npages frames. */
size_t buddy_metadata_size(uint64_t npages);
/* All frames start reserved. -EINVAL: no pages array, npages 0 or >= 2^32-1, pfn overflow. */
int buddy_init(struct buddy *b, uint64_t base_pfn, uint64_t npages, struct page *pages);
/*
 * Make [pfn, pfn+count) available.  -EINVAL (zone untouched) if the range
 * leaves the zone or any frame in it is not reserved (already available).
 */
int buddy_add_free_range(struct buddy *b, uint64_t pfn, uint64_t count);
int64_t buddy_alloc(struct buddy *b, unsigned order);		/* pfn or -ENOMEM/-EINVAL */
/* Like buddy_alloc, but the whole block lies below max_pfn. O(free blocks). */
int64_t buddy_alloc_below(struct buddy *b, unsigned order, uint64_t max_pfn);
int buddy_free(struct buddy *b, uint64_t pfn, unsigned order);
uint64_t buddy_free_pages(const struct buddy *b);
uint64_t buddy_total_pages(const struct buddy *b);		/* free + allocated */
uint64_t buddy_free_blocks(const struct buddy *b, unsigned order);
int buddy_check(const struct buddy *b, char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Kernel heap.  Requests up to HEAP_MAX_SMALL bytes come from one-page slabs
 * of size classes 16..2048; larger ones get a whole block of 2^k pages from
 * the page source with a 32-byte header in front.  Every result is 16-byte
 * aligned; a small object of class c is also aligned to c.  The page source
 * must return page-aligned memory (natural alignment is not needed).
 */
#define HEAP_NR_CLASSES	8
#define HEAP_MIN_CLASS	16
#define HEAP_MAX_SMALL	2048

struct heap_page_ops {
	void *(*alloc_pages)(void *ctx, unsigned order);	/* NULL on failure */
	void (*free_pages)(void *ctx, void *va, unsigned order);
	void *ctx;
};

struct heap_stats {
	uint64_t bytes_in_use;	/* usable bytes of live allocations */
	uint64_t live_allocs;	/* allocations not yet freed */
	uint64_t total_allocs;	/* successful allocations ever */
	uint64_t failed_allocs;
	uint64_t pages_held;	/* pages currently obtained from the page source */
};

struct heap_slab;

struct heap {
	struct heap_page_ops ops;
	struct heap_slab *partial[HEAP_NR_CLASSES];	/* slabs with a free slot */
	struct heap_slab *cached[HEAP_NR_CLASSES];	/* one empty slab kept per class */
	struct heap_stats stats;
	char err[MEM_ERR_LEN];	/* reason for the last failed call */
};

int heap_init(struct heap *h, const struct heap_page_ops *ops);
/* NULL for size 0 (not an error), too large a size, or no pages (-> h->err). */
void *heap_alloc(struct heap *h, size_t size);
void *heap_zalloc(struct heap *h, size_t size);
/* align: power of two <= HEAP_MAX_SMALL; NULL otherwise. */
void *heap_alloc_aligned(struct heap *h, size_t size, size_t align);
/*
 * NULL is fine.  -EINVAL for a pointer the heap did not hand out or already
 * freed, with nothing changed.  p's page start is read, so p must lie in
 * mapped memory (always true for kernel direct-map pointers).
 */
int heap_free(struct heap *h, void *p);
size_t heap_usable_size(struct heap *h, void *p);	/* 0 if not a live allocation */
void heap_get_stats(const struct heap *h, struct heap_stats *out);
/* Return the cached empty slabs to the page source. */
void heap_trim(struct heap *h);
/* Consistency check of every slab the heap knows about. */
int heap_check(const struct heap *h, char *err, size_t errlen);

#endif /* MEM_H */
