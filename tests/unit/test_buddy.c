/*
 * Unit tests for the buddy page-frame allocator (vmkernel/mm/buddy.c).
 * The zone has no memory behind it: only the struct page array is real.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmkernel/mem.h>

struct zone {
	struct buddy b;
	struct page *pages;
};

static struct zone *zone_new(uint64_t base, uint64_t npages)
{
	struct zone *z = calloc(1, sizeof(*z));

	assert_non_null(z);
	z->pages = malloc(buddy_metadata_size(npages));
	assert_non_null(z->pages);
	assert_int_equal(buddy_init(&z->b, base, npages, z->pages), 0);
	return z;
}

static void zone_free(struct zone *z)
{
	free(z->pages);
	free(z);
}

static void check_ok(const struct buddy *b)
{
	char err[128];
	int ret = buddy_check(b, err, sizeof(err));

	if (ret)
		fail_msg("buddy_check: %s", err);
}

static void test_init_and_sizes(void **state)
{
	struct buddy b;
	struct page p[4];

	(void)state;
	assert_true(sizeof(struct page) <= 16);
	assert_int_equal(buddy_metadata_size(1000), 1000 * sizeof(struct page));
	assert_int_equal(buddy_init(&b, 0, 0, p), -EINVAL);
	assert_non_null(strstr(b.err, "bad zone"));
	assert_int_equal(buddy_init(&b, 0, 4, NULL), -EINVAL);
	assert_int_equal(buddy_init(&b, 0, 0x100000000ULL, p), -EINVAL);
	assert_int_equal(buddy_init(&b, UINT64_MAX - 1, 4, p), -EINVAL);
	assert_int_equal(buddy_init(&b, 100, 4, p), 0);
	/* everything starts reserved */
	assert_int_equal(buddy_free_pages(&b), 0);
	assert_int_equal(buddy_total_pages(&b), 0);
	assert_int_equal(buddy_alloc(&b, 0), -ENOMEM);
	assert_non_null(strstr(b.err, "order 0"));
	assert_int_equal(buddy_free(&b, 101, 0), -EINVAL);
	assert_non_null(strstr(b.err, "reserved"));
	check_ok(&b);
}

static void test_split_and_coalesce(void **state)
{
	struct zone *z = zone_new(0, 8);
	struct buddy *b = &z->b;
	int64_t pfn[8];
	unsigned i;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, 0, 8), 0);
	assert_int_equal(buddy_free_blocks(b, 3), 1);
	assert_int_equal(buddy_total_pages(b), 8);
	pfn[0] = buddy_alloc(b, 0);
	assert_int_equal(pfn[0], 0);
	/* the order-3 block split into one block each of orders 0, 1, 2 */
	assert_int_equal(buddy_free_blocks(b, 0), 1);
	assert_int_equal(buddy_free_blocks(b, 1), 1);
	assert_int_equal(buddy_free_blocks(b, 2), 1);
	assert_int_equal(buddy_free_blocks(b, 3), 0);
	assert_int_equal(buddy_free_pages(b), 7);
	check_ok(b);
	for (i = 1; i < 8; i++) {
		pfn[i] = buddy_alloc(b, 0);
		assert_true(pfn[i] >= 0 && pfn[i] < 8);
		check_ok(b);
	}
	assert_int_equal(buddy_alloc(b, 0), -ENOMEM);
	assert_int_equal(buddy_free_pages(b), 0);
	assert_int_equal(buddy_total_pages(b), 8);
	for (i = 0; i < 8; i++) {
		assert_int_equal(buddy_free(b, pfn[(i * 3) % 8], 0), 0);
		check_ok(b);
	}
	assert_int_equal(buddy_free_blocks(b, 3), 1);
	assert_int_equal(buddy_free_blocks(b, 0), 0);
	assert_int_equal(buddy_free_pages(b), 8);
	zone_free(z);
}

static void test_max_order_blocks(void **state)
{
	uint64_t n = (1ULL << BUDDY_MAX_ORDER) * 2 + 3;
	struct zone *z = zone_new(1ULL << BUDDY_MAX_ORDER, n);
	struct buddy *b = &z->b;
	int64_t p;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, z->b.base_pfn, n), 0);
	/* never merges past the max order */
	assert_int_equal(buddy_free_blocks(b, BUDDY_MAX_ORDER), 2);
	assert_int_equal(buddy_free_blocks(b, 1), 1);
	assert_int_equal(buddy_free_blocks(b, 0), 1);
	check_ok(b);
	p = buddy_alloc(b, BUDDY_MAX_ORDER);
	assert_true(p > 0);
	assert_int_equal(p % (1 << BUDDY_MAX_ORDER), 0);
	assert_int_equal(buddy_alloc(b, BUDDY_MAX_ORDER + 1), -EINVAL);
	assert_non_null(strstr(b->err, "above max"));
	assert_int_equal(buddy_free(b, p, BUDDY_MAX_ORDER), 0);
	assert_int_equal(buddy_free_blocks(b, BUDDY_MAX_ORDER), 2);
	check_ok(b);
	zone_free(z);
}

static void test_fragmentation(void **state)
{
	struct zone *z = zone_new(0, 1024);
	struct buddy *b = &z->b;
	int64_t pfn[1024];
	unsigned i;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, 0, 1024), 0);
	assert_int_equal(buddy_free_blocks(b, 10), 1);
	for (i = 0; i < 1024; i++)
		pfn[i] = buddy_alloc(b, 0);
	/* free every frame with an even pfn: 512 free, no two adjacent */
	for (i = 0; i < 1024; i++)
		if (pfn[i] % 2 == 0)
			assert_int_equal(buddy_free(b, pfn[i], 0), 0);
	assert_int_equal(buddy_free_pages(b), 512);
	assert_int_equal(buddy_free_blocks(b, 0), 512);
	assert_int_equal(buddy_alloc(b, 1), -ENOMEM);
	assert_int_equal(buddy_alloc(b, 10), -ENOMEM);
	check_ok(b);
	for (i = 0; i < 1024; i++)
		if (pfn[i] % 2)
			assert_int_equal(buddy_free(b, pfn[i], 0), 0);
	assert_int_equal(buddy_free_blocks(b, 10), 1);
	assert_int_equal(buddy_alloc(b, 10), 0);
	check_ok(b);
	zone_free(z);
}

static void expect_reject(struct buddy *b, uint64_t pfn, unsigned order, const char *why)
{
	uint64_t free_before = buddy_free_pages(b), total = buddy_total_pages(b);
	uint64_t blocks[BUDDY_MAX_ORDER + 1];
	unsigned o;

	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		blocks[o] = buddy_free_blocks(b, o);
	assert_int_equal(buddy_free(b, pfn, order), -EINVAL);
	if (!strstr(b->err, why))
		fail_msg("expected '%s' in '%s'", why, b->err);
	assert_int_equal(buddy_free_pages(b), free_before);
	assert_int_equal(buddy_total_pages(b), total);
	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		assert_int_equal(buddy_free_blocks(b, o), blocks[o]);
	check_ok(b);
}

static void test_bad_frees(void **state)
{
	struct zone *z = zone_new(0x1000, 64);
	struct buddy *b = &z->b;
	int64_t a, c;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, 0x1000, 32), 0);	/* 0x1020.. reserved */
	a = buddy_alloc(b, 2);
	c = buddy_alloc(b, 0);
	assert_true(a >= 0x1000 && c >= 0x1000);
	expect_reject(b, a, 1, "wrong order");
	expect_reject(b, a + 4, 3, "misaligned");
	expect_reject(b, a + 1, 0, "not the start");
	expect_reject(b, a + 2, 1, "not the start");
	expect_reject(b, 0x0fff, 0, "outside zone");
	expect_reject(b, 0x1040, 0, "outside zone");
	expect_reject(b, 0x1020, 0, "reserved");
	expect_reject(b, a, BUDDY_MAX_ORDER + 1, "order too large");
	assert_non_null(strstr(b->err, "pfn 0x"));
	assert_int_equal(buddy_free(b, a, 2), 0);
	/* double free: merged away into a bigger block or still a free head */
	expect_reject(b, a, 2, "");
	assert_int_equal(buddy_free(b, c, 0), 0);
	expect_reject(b, c, 0, "");
	/* a never-allocated free frame */
	expect_reject(b, 0x1000 + 31, 0, "");
	assert_int_equal(buddy_free_blocks(b, 5), 1);
	zone_free(z);
}

static void test_double_free_message(void **state)
{
	struct zone *z = zone_new(0, 4);
	struct buddy *b = &z->b;
	int64_t a, c;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, 0, 4), 0);
	a = buddy_alloc(b, 0);
	c = buddy_alloc(b, 0);
	assert_int_equal(buddy_free(b, a, 0), 0);
	/* a's buddy c is still allocated, so a stays a free order-0 head */
	assert_int_equal(buddy_free(b, a, 0), -EINVAL);
	assert_non_null(strstr(b->err, "double free"));
	assert_int_equal(buddy_free(b, c, 0), 0);
	assert_int_equal(buddy_free_blocks(b, 2), 1);
	check_ok(b);
	zone_free(z);
}

static void test_add_range_errors(void **state)
{
	struct zone *z = zone_new(0x100, 64);
	struct buddy *b = &z->b;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, 0x110, 8), 0);
	assert_int_equal(buddy_add_free_range(b, 0x10c, 8), -EINVAL);
	assert_non_null(strstr(b->err, "pfn 0x110 is already available"));
	assert_int_equal(buddy_add_free_range(b, 0xff, 2), -EINVAL);
	assert_non_null(strstr(b->err, "outside zone"));
	assert_int_equal(buddy_add_free_range(b, 0x130, 0x11), -EINVAL);
	assert_int_equal(buddy_add_free_range(b, 0x100, UINT64_MAX), -EINVAL);
	assert_int_equal(buddy_add_free_range(b, 0x100, 0), 0);
	assert_int_equal(buddy_free_pages(b), 8);
	check_ok(b);
	/* adjacent ranges coalesce across the boundary */
	assert_int_equal(buddy_add_free_range(b, 0x118, 8), 0);
	assert_int_equal(buddy_free_blocks(b, 4), 1);
	assert_int_equal(buddy_free_blocks(b, 3), 0);
	check_ok(b);
	zone_free(z);
}

/* Zone with holes and an unaligned start; blocks must stay inside ranges. */
static const uint64_t hole_ranges[][2] = {
	{ 0x105, 37 }, { 0x200, 0x300 }, { 0x777, 0x189 }, { 0xa01, 1 }, { 0xc00, 0x400 },
};

static bool in_hole_ranges(uint64_t pfn)
{
	unsigned i;

	for (i = 0; i < sizeof(hole_ranges) / sizeof(hole_ranges[0]); i++)
		if (pfn >= hole_ranges[i][0] && pfn < hole_ranges[i][0] + hole_ranges[i][1])
			return true;
	return false;
}

static void test_zone_with_holes(void **state)
{
	struct zone *z = zone_new(0x101, 0x1000 - 0x101);
	struct buddy *b = &z->b;
	uint64_t total = 0, blocks[BUDDY_MAX_ORDER + 1], n = 0, i;
	unsigned o, r;
	int64_t *got;
	unsigned char *seen = calloc(0x1000, 1);

	(void)state;
	for (r = 0; r < sizeof(hole_ranges) / sizeof(hole_ranges[0]); r++) {
		assert_int_equal(buddy_add_free_range(b, hole_ranges[r][0], hole_ranges[r][1]), 0);
		total += hole_ranges[r][1];
		check_ok(b);
	}
	assert_int_equal(buddy_free_pages(b), total);
	assert_int_equal(buddy_total_pages(b), total);
	assert_int_equal(buddy_free_blocks(b, 10), 1);	/* 0xc00..0x1000 */
	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		blocks[o] = buddy_free_blocks(b, o);
	got = calloc(total, sizeof(*got));
	for (;;) {
		int64_t p = buddy_alloc(b, 0);

		if (p < 0)
			break;
		assert_true(in_hole_ranges(p));
		assert_false(seen[p]);
		seen[p] = 1;
		got[n++] = p;
	}
	assert_int_equal(n, total);
	check_ok(b);
	for (i = 0; i < n; i++)
		assert_int_equal(buddy_free(b, got[(i * 7919) % n], 0), 0);
	check_ok(b);
	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		assert_int_equal(buddy_free_blocks(b, o), blocks[o]);
	free(got);
	free(seen);
	zone_free(z);
}

static void test_alloc_below(void **state)
{
	struct zone *z = zone_new(0, 4096);
	struct buddy *b = &z->b;
	int64_t p, q;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, 8, 4096 - 8), 0);
	/* plain alloc would take the order-0 block at 8; below 9 only that fits */
	p = buddy_alloc_below(b, 0, 9);
	assert_int_equal(p, 8);
	assert_int_equal(buddy_alloc_below(b, 0, 9), -ENOMEM);
	assert_non_null(strstr(b->err, "below pfn 0x9"));
	/* order 3 wholly below 0x20: 0x10 or 0x18 */
	p = buddy_alloc_below(b, 3, 0x20);
	assert_true(p == 0x10 || p == 0x18);
	q = buddy_alloc_below(b, 3, 0x20);
	assert_true((q == 0x10 || q == 0x18) && q != p);
	assert_int_equal(buddy_alloc_below(b, 3, 0x20), -ENOMEM);
	/* from a big block: the lowest part is taken */
	p = buddy_alloc_below(b, 2, 0x800);
	assert_true(p >= 0 && p + 4 <= 0x800);
	assert_int_equal(buddy_alloc_below(b, BUDDY_MAX_ORDER + 1, 0x800), -EINVAL);
	check_ok(b);
	zone_free(z);
}

static void test_check_detects_corruption(void **state)
{
	struct zone *z = zone_new(0, 64);
	struct buddy *b = &z->b;
	char err[128];
	int64_t p;

	(void)state;
	assert_int_equal(buddy_add_free_range(b, 0, 64), 0);
	p = buddy_alloc(b, 2);
	check_ok(b);
	/* a tail frame flagged as a head */
	b->pages[p + 1].flags = PAGE_F_ALLOC;
	assert_int_equal(buddy_check(b, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "overlaps"));
	b->pages[p + 1].flags = 0;
	/* counter drift */
	b->free_pages++;
	assert_int_equal(buddy_check(b, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "page counts"));
	b->free_pages--;
	/* list loop */
	b->pages[b->free_head[2]].next = b->free_head[2];
	assert_int_equal(buddy_check(b, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "list 2"));
	b->pages[b->free_head[2]].next = BUDDY_NIL;
	check_ok(b);
	zone_free(z);
}

static void test_check_detects_unmerged(void **state)
{
	struct zone *z = zone_new(0, 2);
	struct buddy *b = &z->b;
	char err[128];

	(void)state;
	/* hand-build two free order-0 buddies that were never merged */
	b->pages[0] = (struct page){ .next = 1, .prev = BUDDY_NIL, .flags = PAGE_F_FREE };
	b->pages[1] = (struct page){ .next = BUDDY_NIL, .prev = 0, .flags = PAGE_F_FREE };
	b->free_head[0] = 0;
	b->free_blocks[0] = 2;
	b->free_pages = 2;
	assert_int_equal(buddy_check(b, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "not merged"));
	/* an orphan tail frame outside any block */
	assert_int_equal(buddy_init(b, 0, 2, z->pages), 0);
	b->pages[1].flags = 0;
	assert_int_equal(buddy_check(b, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "outside any block"));
	zone_free(z);
}

/* Random stress against a shadow ownership map, checked after every op. */
struct live {
	uint64_t pfn;
	unsigned order;
};

static void stress_one(struct buddy *b, struct live *live, unsigned *nlive,
		       unsigned char *owned, uint64_t base)
{
	if (*nlive && (rand() % 2 || *nlive == 4096)) {
		unsigned k = rand() % *nlive;
		uint64_t i;

		assert_int_equal(buddy_free(b, live[k].pfn, live[k].order), 0);
		for (i = 0; i < (1ULL << live[k].order); i++)
			owned[live[k].pfn - base + i] = 0;
		live[k] = live[--*nlive];
	} else {
		unsigned order = rand() % 7;
		int64_t p = buddy_alloc(b, order);
		uint64_t i;

		if (p == -ENOMEM)
			return;
		assert_true(p >= 0);
		assert_int_equal(p & ((1 << order) - 1), 0);
		for (i = 0; i < (1ULL << order); i++) {
			assert_true(in_hole_ranges(p + i));
			assert_false(owned[p - base + i]);
			owned[p - base + i] = 1;
		}
		live[*nlive].pfn = p;
		live[*nlive].order = order;
		++*nlive;
	}
}

static void test_stress(void **state)
{
	uint64_t base = 0x101;
	struct zone *z = zone_new(base, 0x1000 - base);
	struct buddy *b = &z->b;
	struct live *live = calloc(4096, sizeof(*live));
	unsigned char *owned = calloc(0x1000, 1);
	uint64_t blocks[BUDDY_MAX_ORDER + 1], total = 0, used = 0;
	unsigned nlive = 0, iter, r, o, i;

	(void)state;
	srand(4242);
	for (r = 0; r < sizeof(hole_ranges) / sizeof(hole_ranges[0]); r++) {
		buddy_add_free_range(b, hole_ranges[r][0], hole_ranges[r][1]);
		total += hole_ranges[r][1];
	}
	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		blocks[o] = buddy_free_blocks(b, o);
	for (iter = 0; iter < 20000; iter++) {
		stress_one(b, live, &nlive, owned, base);
		check_ok(b);
		for (i = 0, used = 0; i < nlive; i++)
			used += 1ULL << live[i].order;
		assert_int_equal(buddy_free_pages(b), total - used);
	}
	while (nlive) {
		assert_int_equal(buddy_free(b, live[nlive - 1].pfn, live[nlive - 1].order), 0);
		nlive--;
	}
	check_ok(b);
	for (o = 0; o <= BUDDY_MAX_ORDER; o++)
		assert_int_equal(buddy_free_blocks(b, o), blocks[o]);
	free(live);
	free(owned);
	zone_free(z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_and_sizes),
		cmocka_unit_test(test_split_and_coalesce),
		cmocka_unit_test(test_max_order_blocks),
		cmocka_unit_test(test_fragmentation),
		cmocka_unit_test(test_bad_frees),
		cmocka_unit_test(test_double_free_message),
		cmocka_unit_test(test_add_range_errors),
		cmocka_unit_test(test_zone_with_holes),
		cmocka_unit_test(test_alloc_below),
		cmocka_unit_test(test_check_detects_corruption),
		cmocka_unit_test(test_check_detects_unmerged),
		cmocka_unit_test(test_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
