/*
 * Buddy allocator of physical page frames.
 *
 * A zone covers the frames [base_pfn, base_pfn + npages).  Each frame has a
 * struct page in a caller-supplied array; the allocator never reads or
 * writes the frames themselves, so the unit tests run it over a zone that
 * has no memory behind it, and the kernel can carve the array out of RAM.
 *
 * A block of order k is 2^k frames whose first pfn is a multiple of 2^k
 * (absolute pfn, not relative to the zone), so large blocks are usable as
 * 2 MiB / 1 GiB pages.  Its buddy is the block at pfn ^ 2^k; two free buddies
 * of the same order are always merged into one block of order k+1.
 *
 * Page states (struct page.flags):
 *   PAGE_F_RESERVED  frame never made available (holes, firmware, kernel);
 *   PAGE_F_FREE      head of a free block, .order valid, on free list .order;
 *   PAGE_F_ALLOC     head of an allocated block, .order valid;
 *   0                any other frame of a free or allocated block (a tail).
 * Invariants: every non-reserved frame belongs to exactly one block; only a
 * block's head carries a flag; heads are aligned to their order; no free
 * block has a free buddy of the same order.  Those states let buddy_free
 * reject a double free, a wrong order, a tail pfn or a reserved frame by
 * looking at one struct page, before it changes anything.
 *
 * Free lists are doubly linked through u32 frame indices (BUDDY_NIL ends a
 * list), which keeps struct page at 12 bytes and limits a zone to 2^32 - 2
 * frames (16 TiB).  Allocation pops the smallest non-empty list at or above
 * the wanted order and splits, freeing the upper halves: O(max order).
 *
 * No locking here: the caller holds the zone's lock around every call.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vmkernel/mem.h>

static inline struct page *pg(const struct buddy *b, uint32_t idx)
{
	return &b->pages[idx];
}

static void list_push(struct buddy *b, uint32_t idx, unsigned order)
{
	struct page *p = pg(b, idx);
	uint32_t head = b->free_head[order];

	p->flags = PAGE_F_FREE;
	p->order = order;
	p->prev = BUDDY_NIL;
	p->next = head;
	if (head != BUDDY_NIL)
		pg(b, head)->prev = idx;
	b->free_head[order] = idx;
	b->free_blocks[order]++;
	b->free_pages += 1ULL << order;
}

static void list_unlink(struct buddy *b, uint32_t idx)
{
	struct page *p = pg(b, idx);
	unsigned order = p->order;

	if (p->prev != BUDDY_NIL)
		pg(b, p->prev)->next = p->next;
	else
		b->free_head[order] = p->next;
	if (p->next != BUDDY_NIL)
		pg(b, p->next)->prev = p->prev;
	p->next = p->prev = BUDDY_NIL;
	p->flags = 0;
	b->free_blocks[order]--;
	b->free_pages -= 1ULL << order;
}

size_t buddy_metadata_size(uint64_t npages)
{
	return (size_t)npages * sizeof(struct page);
}

int buddy_init(struct buddy *b, uint64_t base_pfn, uint64_t npages, struct page *pages)
{
	uint64_t i;

	memset(b, 0, sizeof(*b));
	if (!pages || npages == 0 || npages >= BUDDY_NIL ||
	    base_pfn + npages < base_pfn || base_pfn + npages > (UINT64_MAX >> PAGE_SHIFT)) {
		snprintf(b->err, sizeof(b->err),
			 "buddy_init: bad zone base_pfn 0x%llx npages 0x%llx pages %p",
			 (unsigned long long)base_pfn, (unsigned long long)npages, (void *)pages);
		return -EINVAL;
	}
	b->base_pfn = base_pfn;
	b->npages = npages;
	b->pages = pages;
	for (i = 0; i <= BUDDY_MAX_ORDER; i++)
		b->free_head[i] = BUDDY_NIL;
	for (i = 0; i < npages; i++) {
		pages[i].next = pages[i].prev = BUDDY_NIL;
		pages[i].order = 0;
		pages[i].flags = PAGE_F_RESERVED;
		pages[i].pad = 0;
	}
	return 0;
}

static bool in_zone(const struct buddy *b, uint64_t pfn)
{
	return pfn >= b->base_pfn && pfn - b->base_pfn < b->npages;
}

/* Insert a free block, merging with free buddies as far as possible. */
static void free_block(struct buddy *b, uint64_t pfn, unsigned order)
{
	while (order < BUDDY_MAX_ORDER) {
		uint64_t bpfn = pfn ^ (1ULL << order);
		struct page *bp;

		if (!in_zone(b, bpfn))
			break;
		bp = pg(b, (uint32_t)(bpfn - b->base_pfn));
		if (bp->flags != PAGE_F_FREE || bp->order != order)
			break;
		list_unlink(b, (uint32_t)(bpfn - b->base_pfn));
		if (bpfn < pfn)
			pfn = bpfn;
		order++;
	}
	list_push(b, (uint32_t)(pfn - b->base_pfn), order);
}

static unsigned block_order_at(uint64_t pfn, uint64_t left)
{
	unsigned order = BUDDY_MAX_ORDER;

	if (pfn != 0 && (unsigned)__builtin_ctzll(pfn) < order)
		order = __builtin_ctzll(pfn);
	while ((1ULL << order) > left)
		order--;
	return order;
}

int buddy_add_free_range(struct buddy *b, uint64_t pfn, uint64_t count)
{
	uint64_t i, off;

	if (count == 0)
		return 0;
	if (!in_zone(b, pfn) || count > b->npages - (pfn - b->base_pfn)) {
		snprintf(b->err, sizeof(b->err),
			 "buddy_add_free_range: [0x%llx,+0x%llx) outside zone [0x%llx,+0x%llx)",
			 (unsigned long long)pfn, (unsigned long long)count,
			 (unsigned long long)b->base_pfn, (unsigned long long)b->npages);
		return -EINVAL;
	}
	off = pfn - b->base_pfn;
	for (i = 0; i < count; i++) {
		if (b->pages[off + i].flags != PAGE_F_RESERVED) {
			snprintf(b->err, sizeof(b->err),
				 "buddy_add_free_range: pfn 0x%llx is already available",
				 (unsigned long long)(pfn + i));
			return -EINVAL;
		}
	}
	for (i = 0; i < count; i++)
		b->pages[off + i].flags = 0;
	while (count) {
		unsigned order = block_order_at(pfn, count);

		free_block(b, pfn, order);
		pfn += 1ULL << order;
		count -= 1ULL << order;
	}
	return 0;
}

/* Take free block idx (order `have`) and split it down to `want`. */
static int64_t take_block(struct buddy *b, uint32_t idx, unsigned want)
{
	unsigned have = pg(b, idx)->order;
	uint64_t pfn = b->base_pfn + idx;

	list_unlink(b, idx);
	while (have > want) {
		have--;
		list_push(b, idx + (1U << have), have);
	}
	pg(b, idx)->flags = PAGE_F_ALLOC;
	pg(b, idx)->order = want;
	b->alloc_pages += 1ULL << want;
	return (int64_t)pfn;
}

static int64_t bad_order(struct buddy *b, const char *fn, unsigned order)
{
	snprintf(b->err, sizeof(b->err), "%s: order %u above max %u", fn, order,
		 BUDDY_MAX_ORDER);
	return -EINVAL;
}

int64_t buddy_alloc(struct buddy *b, unsigned order)
{
	unsigned o;

	if (order > BUDDY_MAX_ORDER)
		return bad_order(b, "buddy_alloc", order);
	for (o = order; o <= BUDDY_MAX_ORDER; o++)
		if (b->free_head[o] != BUDDY_NIL)
			return take_block(b, b->free_head[o], order);
	snprintf(b->err, sizeof(b->err), "buddy_alloc: no free block of order %u", order);
	return -ENOMEM;
}

int64_t buddy_alloc_below(struct buddy *b, unsigned order, uint64_t max_pfn)
{
	uint64_t need = 1ULL << order;
	unsigned o;

	if (order > BUDDY_MAX_ORDER)
		return bad_order(b, "buddy_alloc_below", order);
	/* splitting keeps the lowest part, so a block whose head fits will do */
	for (o = order; o <= BUDDY_MAX_ORDER; o++) {
		uint32_t idx;

		for (idx = b->free_head[o]; idx != BUDDY_NIL; idx = pg(b, idx)->next)
			if (b->base_pfn + idx <= max_pfn && max_pfn - (b->base_pfn + idx) >= need)
				return take_block(b, idx, order);
	}
	snprintf(b->err, sizeof(b->err), "buddy_alloc_below: no order-%u block below pfn 0x%llx",
		 order, (unsigned long long)max_pfn);
	return -ENOMEM;
}

static int free_reject(struct buddy *b, uint64_t pfn, unsigned order, const char *why)
{
	snprintf(b->err, sizeof(b->err), "buddy_free: pfn 0x%llx order %u: %s",
		 (unsigned long long)pfn, order, why);
	return -EINVAL;
}

int buddy_free(struct buddy *b, uint64_t pfn, unsigned order)
{
	struct page *p;

	if (order > BUDDY_MAX_ORDER)
		return free_reject(b, pfn, order, "order too large");
	if (pfn & ((1ULL << order) - 1))
		return free_reject(b, pfn, order, "misaligned for order");
	if (!in_zone(b, pfn))
		return free_reject(b, pfn, order, "outside zone");
	p = pg(b, (uint32_t)(pfn - b->base_pfn));
	if (p->flags & PAGE_F_RESERVED)
		return free_reject(b, pfn, order, "reserved frame");
	if (p->flags & PAGE_F_FREE)
		return free_reject(b, pfn, order, "double free (block is free)");
	if (!(p->flags & PAGE_F_ALLOC))
		return free_reject(b, pfn, order, "not the start of an allocated block");
	if (p->order != order)
		return free_reject(b, pfn, order, "wrong order (allocated with another)");
	p->flags = 0;
	b->alloc_pages -= 1ULL << order;
	free_block(b, pfn, order);
	return 0;
}

uint64_t buddy_free_pages(const struct buddy *b)
{
	return b->free_pages;
}

uint64_t buddy_total_pages(const struct buddy *b)
{
	return b->free_pages + b->alloc_pages;
}

uint64_t buddy_free_blocks(const struct buddy *b, unsigned order)
{
	return order > BUDDY_MAX_ORDER ? 0 : b->free_blocks[order];
}

/* ---------------------------------------------------------------- checks */

#define CHECK_FAIL(...)	do { snprintf(err, errlen, __VA_ARGS__); return -EIO; } while (0)

/* Walk free list `order` with a step bound, checking links and heads. */
static int check_list(const struct buddy *b, unsigned order, char *err, size_t errlen)
{
	uint32_t idx = b->free_head[order], prev = BUDDY_NIL;
	uint64_t n = 0;

	while (idx != BUDDY_NIL) {
		const struct page *p;
		uint64_t pfn = b->base_pfn + idx;

		if (idx >= b->npages)
			CHECK_FAIL("list %u: index 0x%x outside zone", order, idx);
		if (++n > b->npages)
			CHECK_FAIL("list %u: loop or too long", order);
		p = pg(b, idx);
		if (p->flags != PAGE_F_FREE || p->order != order)
			CHECK_FAIL("list %u: pfn 0x%llx flags 0x%x order %u not a free head",
				   order, (unsigned long long)pfn, p->flags, p->order);
		if (p->prev != prev)
			CHECK_FAIL("list %u: pfn 0x%llx bad prev link", order,
				   (unsigned long long)pfn);
		prev = idx;
		idx = p->next;
	}
	if (n != b->free_blocks[order])
		CHECK_FAIL("list %u: %llu blocks on list, counter says %llu", order,
			   (unsigned long long)n, (unsigned long long)b->free_blocks[order]);
	return 0;
}

/* Check the block headed at index i; returns its size in frames or 0. */
static uint64_t check_block(const struct buddy *b, uint64_t i, char *err, size_t errlen)
{
	const struct page *p = pg(b, (uint32_t)i);
	uint64_t pfn = b->base_pfn + i, size, j;

	if (p->order > BUDDY_MAX_ORDER) {
		snprintf(err, errlen, "pfn 0x%llx: order %u too big", (unsigned long long)pfn,
			 p->order);
		return 0;
	}
	size = 1ULL << p->order;
	if (pfn & (size - 1) || size > b->npages - i) {
		snprintf(err, errlen, "pfn 0x%llx: order-%u block misaligned or past zone end",
			 (unsigned long long)pfn, p->order);
		return 0;
	}
	for (j = 1; j < size; j++) {
		if (b->pages[i + j].flags) {
			snprintf(err, errlen, "pfn 0x%llx: overlaps order-%u block at 0x%llx",
				 (unsigned long long)(pfn + j), p->order, (unsigned long long)pfn);
			return 0;
		}
	}
	return size;
}

static int check_buddy_merged(const struct buddy *b, uint64_t i, char *err, size_t errlen)
{
	const struct page *p = pg(b, (uint32_t)i);
	uint64_t pfn = b->base_pfn + i, bpfn;

	if (p->order >= BUDDY_MAX_ORDER)
		return 0;
	bpfn = pfn ^ (1ULL << p->order);
	if (!in_zone(b, bpfn))
		return 0;
	p = pg(b, (uint32_t)(bpfn - b->base_pfn));
	if (p->flags == PAGE_F_FREE && p->order == pg(b, (uint32_t)i)->order)
		CHECK_FAIL("pfn 0x%llx and buddy 0x%llx both free at order %u: not merged",
			   (unsigned long long)pfn, (unsigned long long)bpfn, p->order);
	return 0;
}

static int check_walk(const struct buddy *b, uint64_t *nfree, uint64_t *nalloc,
		      uint64_t *heads, char *err, size_t errlen)
{
	uint64_t i = 0, size;

	while (i < b->npages) {
		const struct page *p = pg(b, (uint32_t)i);

		if (p->flags == PAGE_F_RESERVED) {
			i++;
			continue;
		}
		if (p->flags != PAGE_F_FREE && p->flags != PAGE_F_ALLOC)
			CHECK_FAIL("pfn 0x%llx: flags 0x%x outside any block",
				   (unsigned long long)(b->base_pfn + i), p->flags);
		size = check_block(b, i, err, errlen);
		if (!size)
			return -EIO;
		if (p->flags == PAGE_F_FREE) {
			*nfree += size;
			heads[p->order]++;
			if (check_buddy_merged(b, i, err, errlen))
				return -EIO;
		} else {
			*nalloc += size;
		}
		i += size;
	}
	return 0;
}

int buddy_check(const struct buddy *b, char *err, size_t errlen)
{
	uint64_t nfree = 0, nalloc = 0, heads[BUDDY_MAX_ORDER + 1] = { 0 };
	unsigned o;

	if (!b->pages || !b->npages)
		CHECK_FAIL("zone not initialised");
	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		if (check_list(b, o, err, errlen))
			return -EIO;
	if (check_walk(b, &nfree, &nalloc, heads, err, errlen))
		return -EIO;
	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		if (heads[o] != b->free_blocks[o])
			CHECK_FAIL("order %u: %llu free heads in map, %llu on list", o,
				   (unsigned long long)heads[o],
				   (unsigned long long)b->free_blocks[o]);
	if (nfree != b->free_pages || nalloc != b->alloc_pages)
		CHECK_FAIL("page counts: map free %llu alloc %llu, counters %llu / %llu",
			   (unsigned long long)nfree, (unsigned long long)nalloc,
			   (unsigned long long)b->free_pages, (unsigned long long)b->alloc_pages);
	if (errlen)
		err[0] = '\0';
	return 0;
}
