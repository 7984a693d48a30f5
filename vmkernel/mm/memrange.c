/*
 * Physical range sets.
 *
 * A struct mem_ranges holds at most MEM_RANGES_MAX half-open ranges
 * [start, end), sorted by start.  The invariant kept by every operation:
 * ranges are non-empty, disjoint and not even adjacent (r[i].end <
 * r[i+1].start), so each maximal run of covered addresses is exactly one
 * entry.  That is what lets "contains" look at a single entry and makes
 * the representation of a given address set unique.
 *
 * add() merges the new range with every entry it overlaps or touches;
 * remove() trims the entries it overlaps and splits one entry when the hole
 * falls strictly inside it.  Only two cases grow the array by one: adding a
 * range that touches nothing, and splitting.  Both are checked against the
 * capacity before anything is written, so -ENOSPC leaves the set unchanged.
 *
 * The boot code builds usable RAM by adding the firmware's "available"
 * entries, removing everything reserved, then aligning inward to pages.
 * No locking: the set is a private boot-time object.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vmkernel/mem.h>

void mem_ranges_init(struct mem_ranges *s)
{
	memset(s, 0, sizeof(*s));
}

static void ranges_delete(struct mem_ranges *s, unsigned from, unsigned to)
{
	/* delete entries [from, to) */
	if (to <= from)
		return;
	memmove(&s->r[from], &s->r[to], (s->count - to) * sizeof(s->r[0]));
	s->count -= to - from;
}

static int ranges_bad(struct mem_ranges *s, const char *op, uint64_t start, uint64_t end)
{
	snprintf(s->err, sizeof(s->err), "mem_ranges_%s: end 0x%llx below start 0x%llx", op,
		 (unsigned long long)end, (unsigned long long)start);
	return -EINVAL;
}

static int ranges_full(struct mem_ranges *s, const char *op, uint64_t start, uint64_t end)
{
	snprintf(s->err, sizeof(s->err), "mem_ranges_%s [0x%llx,0x%llx): set full (%u ranges)",
		 op, (unsigned long long)start, (unsigned long long)end, MEM_RANGES_MAX);
	return -ENOSPC;
}

int mem_ranges_add(struct mem_ranges *s, uint64_t start, uint64_t end)
{
	unsigned i, j;

	if (end < start)
		return ranges_bad(s, "add", start, end);
	if (end == start)
		return 0;
	/* i: first entry touching or after start; j: first entry strictly after end */
	for (i = 0; i < s->count && s->r[i].end < start; i++)
		;
	for (j = i; j < s->count && s->r[j].start <= end; j++)
		;
	if (i == j) {
		if (s->count >= MEM_RANGES_MAX)
			return ranges_full(s, "add", start, end);
		memmove(&s->r[i + 1], &s->r[i], (s->count - i) * sizeof(s->r[0]));
		s->r[i].start = start;
		s->r[i].end = end;
		s->count++;
		return 0;
	}
	if (s->r[i].start < start)
		start = s->r[i].start;
	if (s->r[j - 1].end > end)
		end = s->r[j - 1].end;
	s->r[i].start = start;
	s->r[i].end = end;
	ranges_delete(s, i + 1, j);
	return 0;
}

int mem_ranges_remove(struct mem_ranges *s, uint64_t start, uint64_t end)
{
	unsigned i, j, lo, hi;

	if (end < start)
		return ranges_bad(s, "remove", start, end);
	if (end == start)
		return 0;
	/* entries [i, j) overlap [start, end) */
	for (i = 0; i < s->count && s->r[i].end <= start; i++)
		;
	for (j = i; j < s->count && s->r[j].start < end; j++)
		;
	if (i == j)
		return 0;
	if (j == i + 1 && s->r[i].start < start && s->r[i].end > end) {
		if (s->count >= MEM_RANGES_MAX)
			return ranges_full(s, "remove", start, end);
		memmove(&s->r[i + 1], &s->r[i], (s->count - i) * sizeof(s->r[0]));
		s->count++;
		s->r[i].end = start;
		s->r[i + 1].start = end;
		return 0;
	}
	lo = i;
	hi = j;
	if (s->r[i].start < start) {
		s->r[i].end = start;
		lo = i + 1;
	}
	if (s->r[j - 1].end > end) {
		s->r[j - 1].start = end;
		hi = j - 1;
	}
	ranges_delete(s, lo, hi);
	return 0;
}

static uint64_t clamp_end(uint64_t base, uint64_t len)
{
	uint64_t end = base + len;

	return end < base ? UINT64_MAX : end;
}

int mem_ranges_add_len(struct mem_ranges *s, uint64_t base, uint64_t len)
{
	return mem_ranges_add(s, base, clamp_end(base, len));
}

int mem_ranges_remove_len(struct mem_ranges *s, uint64_t base, uint64_t len)
{
	return mem_ranges_remove(s, base, clamp_end(base, len));
}

void mem_ranges_align_pages(struct mem_ranges *s)
{
	unsigned i, n = 0;

	for (i = 0; i < s->count; i++) {
		uint64_t start = s->r[i].start, end = s->r[i].end & PAGE_MASK;

		if (start > UINT64_MAX - (PAGE_SIZE - 1))
			continue;
		start = (start + PAGE_SIZE - 1) & PAGE_MASK;
		if (start >= end)
			continue;
		s->r[n].start = start;
		s->r[n].end = end;
		n++;
	}
	s->count = n;
}

uint64_t mem_ranges_total(const struct mem_ranges *s)
{
	uint64_t total = 0;
	unsigned i;

	for (i = 0; i < s->count; i++)
		total += s->r[i].end - s->r[i].start;
	return total;
}

bool mem_ranges_contains(const struct mem_ranges *s, uint64_t start, uint64_t end)
{
	unsigned i;

	if (end <= start)
		return end == start;
	for (i = 0; i < s->count; i++)
		if (s->r[i].start <= start && end <= s->r[i].end)
			return true;
	return false;
}

/* Lowest aligned address in r where size bytes fit below limit, or false. */
static bool range_fit(const struct mem_range *r, uint64_t size, uint64_t align,
		      uint64_t limit, uint64_t *out)
{
	uint64_t a = (r->start + align - 1) & ~(align - 1);

	if (a < r->start || a >= r->end || r->end - a < size)
		return false;
	if (size > limit || a > limit - size)
		return false;
	*out = a;
	return true;
}

int mem_ranges_take(struct mem_ranges *s, uint64_t size, uint64_t align, uint64_t limit,
		    uint64_t *out)
{
	unsigned i;
	uint64_t a;

	if (size == 0 || align == 0 || (align & (align - 1))) {
		snprintf(s->err, sizeof(s->err),
			 "mem_ranges_take: bad size 0x%llx or align 0x%llx (power of two)",
			 (unsigned long long)size, (unsigned long long)align);
		return -EINVAL;
	}
	for (i = 0; i < s->count; i++) {
		if (!range_fit(&s->r[i], size, align, limit, &a))
			continue;
		if (mem_ranges_remove(s, a, a + size) < 0)
			return -ENOSPC;
		*out = a;
		return 0;
	}
	snprintf(s->err, sizeof(s->err),
		 "mem_ranges_take: no 0x%llx bytes aligned 0x%llx below 0x%llx",
		 (unsigned long long)size, (unsigned long long)align,
		 (unsigned long long)limit);
	return -ENOMEM;
}
