/*
 * Unit tests for the physical range set (vmkernel/mm/memrange.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmkernel/mem.h>

static void expect_ranges(const struct mem_ranges *s, const uint64_t *pairs, unsigned n)
{
	unsigned i;

	assert_int_equal(s->count, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(s->r[i].start, pairs[2 * i]);
		assert_int_equal(s->r[i].end, pairs[2 * i + 1]);
	}
}

/* Invariant: sorted, non-empty, disjoint and not adjacent. */
static void assert_canonical(const struct mem_ranges *s)
{
	unsigned i;

	assert_true(s->count <= MEM_RANGES_MAX);
	for (i = 0; i < s->count; i++) {
		assert_true(s->r[i].start < s->r[i].end);
		if (i)
			assert_true(s->r[i - 1].end < s->r[i].start);
	}
}

static void test_add_sorted_and_merge(void **state)
{
	struct mem_ranges s;
	static const uint64_t a[] = { 0x1000, 0x2000, 0x5000, 0x6000, 0x9000, 0xa000 };
	static const uint64_t b[] = { 0x1000, 0x2000, 0x4000, 0x7000, 0x9000, 0xa000 };
	static const uint64_t c[] = { 0x1000, 0xa000 };
	static const uint64_t d[] = { 0x0, 0xb000 };

	(void)state;
	mem_ranges_init(&s);
	assert_int_equal(mem_ranges_add(&s, 0x9000, 0xa000), 0);
	assert_int_equal(mem_ranges_add(&s, 0x1000, 0x2000), 0);
	assert_int_equal(mem_ranges_add(&s, 0x5000, 0x6000), 0);
	expect_ranges(&s, a, 3);
	/* overlapping on both sides of one entry */
	assert_int_equal(mem_ranges_add(&s, 0x4000, 0x5800), 0);
	assert_int_equal(mem_ranges_add(&s, 0x5800, 0x7000), 0);
	expect_ranges(&s, b, 3);
	/* touching ends merge; a bridge swallows several entries */
	assert_int_equal(mem_ranges_add(&s, 0x2000, 0x4000), 0);
	assert_int_equal(mem_ranges_add(&s, 0x7000, 0x9000), 0);
	expect_ranges(&s, c, 1);
	assert_int_equal(mem_ranges_add(&s, 0, 0xb000), 0);
	expect_ranges(&s, d, 1);
	assert_int_equal(mem_ranges_total(&s), 0xb000);
	/* contained add changes nothing */
	assert_int_equal(mem_ranges_add(&s, 0x100, 0x200), 0);
	expect_ranges(&s, d, 1);
}

static void test_remove_split_trim(void **state)
{
	struct mem_ranges s;
	static const uint64_t a[] = { 0x0, 0x1000, 0x2000, 0x10000 };
	static const uint64_t b[] = { 0x0, 0x800, 0x3000, 0x10000, 0x20000, 0x30000 };
	static const uint64_t c[] = { 0x0, 0x800, 0x2f000, 0x30000 };

	(void)state;
	mem_ranges_init(&s);
	assert_int_equal(mem_ranges_add(&s, 0, 0x10000), 0);
	assert_int_equal(mem_ranges_remove(&s, 0x1000, 0x2000), 0);
	expect_ranges(&s, a, 2);
	assert_int_equal(mem_ranges_add(&s, 0x20000, 0x30000), 0);
	/* trims the end of one and the start of the next; removing a gap is fine */
	assert_int_equal(mem_ranges_remove(&s, 0x800, 0x3000), 0);
	assert_int_equal(mem_ranges_remove(&s, 0x10000, 0x20000), 0);
	expect_ranges(&s, b, 3);
	/* remove spanning one whole entry and part of the next */
	assert_int_equal(mem_ranges_remove(&s, 0x1000, 0x2f000), 0);
	expect_ranges(&s, c, 2);
	assert_int_equal(mem_ranges_total(&s), 0x1800);
	assert_int_equal(mem_ranges_remove(&s, 0, UINT64_MAX), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(mem_ranges_remove(&s, 5, 10), 0);
}

static void test_bad_and_empty(void **state)
{
	struct mem_ranges s, copy;

	(void)state;
	mem_ranges_init(&s);
	assert_int_equal(mem_ranges_add(&s, 0x1000, 0x3000), 0);
	copy = s;
	assert_int_equal(mem_ranges_add(&s, 0x2000, 0x1000), -EINVAL);
	assert_non_null(strstr(s.err, "end 0x1000 below start 0x2000"));
	assert_non_null(strstr(s.err, "add"));
	assert_int_equal(mem_ranges_remove(&s, 0x2000, 0x1fff), -EINVAL);
	assert_non_null(strstr(s.err, "remove"));
	assert_memory_equal(s.r, copy.r, sizeof(s.r));
	assert_int_equal(s.count, copy.count);
	assert_int_equal(mem_ranges_add(&s, 0x9000, 0x9000), 0);
	assert_int_equal(mem_ranges_remove(&s, 0x2000, 0x2000), 0);
	assert_int_equal(mem_ranges_add_len(&s, 0x9000, 0), 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(mem_ranges_total(&s), 0x2000);
}

static void fill_full(struct mem_ranges *s)
{
	unsigned i;

	mem_ranges_init(s);
	for (i = 0; i < MEM_RANGES_MAX; i++)
		assert_int_equal(mem_ranges_add(s, i * 0x10000ULL, i * 0x10000ULL + 0x8000), 0);
	assert_int_equal(s->count, MEM_RANGES_MAX);
}

static void test_capacity(void **state)
{
	struct mem_ranges s, copy;
	uint64_t top = MEM_RANGES_MAX * 0x10000ULL;

	(void)state;
	fill_full(&s);
	copy = s;
	/* a new disjoint range does not fit: set unchanged */
	assert_int_equal(mem_ranges_add(&s, top, top + 0x1000), -ENOSPC);
	assert_non_null(strstr(s.err, "full"));
	assert_memory_equal(s.r, copy.r, sizeof(s.r));
	assert_int_equal(s.count, MEM_RANGES_MAX);
	/* a split does not fit either */
	assert_int_equal(mem_ranges_remove(&s, 0x1000, 0x2000), -ENOSPC);
	assert_memory_equal(s.r, copy.r, sizeof(s.r));
	assert_int_equal(s.count, MEM_RANGES_MAX);
	/* merging and trimming never need room */
	assert_int_equal(mem_ranges_add(&s, 0x8000, 0x10000), 0);
	assert_int_equal(s.count, MEM_RANGES_MAX - 1);
	assert_int_equal(mem_ranges_add(&s, top, top + 0x1000), 0);
	assert_int_equal(mem_ranges_remove(&s, 0x20000, 0x24000), 0);
	assert_int_equal(s.count, MEM_RANGES_MAX);
	assert_canonical(&s);
}

static void test_top_of_address_space(void **state)
{
	struct mem_ranges s;

	(void)state;
	mem_ranges_init(&s);
	/* base + len == 2^64 wraps: clamped to UINT64_MAX */
	assert_int_equal(mem_ranges_add_len(&s, UINT64_MAX - 0x2fff, 0x3000), 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.r[0].start, UINT64_MAX - 0x2fff);
	assert_int_equal(s.r[0].end, UINT64_MAX);
	/* far beyond: still clamped, merges */
	assert_int_equal(mem_ranges_add_len(&s, UINT64_MAX - 0x4fff, UINT64_MAX), 0);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.r[0].start, UINT64_MAX - 0x4fff);
	/* aligning drops the partial last page */
	mem_ranges_align_pages(&s);
	assert_int_equal(s.count, 1);
	assert_int_equal(s.r[0].start, 0xffffffffffffb000ULL);
	assert_int_equal(s.r[0].end, 0xfffffffffffff000ULL);
	assert_int_equal(mem_ranges_remove_len(&s, 0xffffffffffffc000ULL, 0x8000), 0);
	assert_int_equal(s.r[0].end, 0xffffffffffffc000ULL);
	/* a range starting inside the last page vanishes when aligned */
	mem_ranges_init(&s);
	assert_int_equal(mem_ranges_add(&s, UINT64_MAX - 5, UINT64_MAX), 0);
	mem_ranges_align_pages(&s);
	assert_int_equal(s.count, 0);
}

static void test_align_pages(void **state)
{
	struct mem_ranges s;
	static const uint64_t want[] = { 0x1000, 0x9f000, 0x100000, 0x7fe0000 };

	(void)state;
	mem_ranges_init(&s);
	assert_int_equal(mem_ranges_add(&s, 0x500, 0x9fc00), 0);
	assert_int_equal(mem_ranges_add(&s, 0xa0010, 0xa0ff0), 0);	/* sub-page: dropped */
	assert_int_equal(mem_ranges_add(&s, 0x100000, 0x7fe0000), 0);
	assert_int_equal(mem_ranges_add(&s, 0x7fe1001, 0x7fe2000), 0);	/* < 1 page */
	mem_ranges_align_pages(&s);
	expect_ranges(&s, want, 2);
	assert_int_equal(mem_ranges_total(&s), 0x9e000 + 0x7ee0000);
}

/* The boot path: firmware map in, reserved things out, align. */
static void test_boot_scenario(void **state)
{
	struct mem_ranges s;
	static const uint64_t want[] = {
		0x100000, 0x200000, 0x400000, 0x7000000, 0x7001000, 0x7fe0000,
		0x100000000ULL, 0x180000000ULL,
	};

	(void)state;
	mem_ranges_init(&s);
	assert_int_equal(mem_ranges_add_len(&s, 0, 0x9fc00), 0);
	assert_int_equal(mem_ranges_add_len(&s, 0x100000, 0x7ee0000), 0);
	assert_int_equal(mem_ranges_add_len(&s, 0x100000000ULL, 0x80000000ULL), 0);
	assert_int_equal(mem_ranges_remove(&s, 0, 0x100000), 0);		/* first MiB */
	assert_int_equal(mem_ranges_remove(&s, 0x200000, 0x3ff123), 0);	/* kernel */
	assert_int_equal(mem_ranges_remove_len(&s, 0x7000000, 0x800), 0);	/* module */
	mem_ranges_align_pages(&s);
	expect_ranges(&s, want, 4);
	assert_true(mem_ranges_contains(&s, 0x100000000ULL, 0x100001000ULL));
	assert_false(mem_ranges_contains(&s, 0x1ff000, 0x201000));
	assert_false(mem_ranges_contains(&s, 0x7000000, 0x7000001));
	assert_true(mem_ranges_contains(&s, 5, 5));
}

static void test_take(void **state)
{
	struct mem_ranges s;
	uint64_t a = 0;

	(void)state;
	mem_ranges_init(&s);
	assert_int_equal(mem_ranges_add(&s, 0x1800, 0x3000), 0);
	assert_int_equal(mem_ranges_add(&s, 0x10000, 0x40000), 0);
	/* first range cannot fit 0x2000 at 0x1000 alignment */
	assert_int_equal(mem_ranges_take(&s, 0x2000, 0x1000, UINT64_MAX, &a), 0);
	assert_int_equal(a, 0x10000);
	assert_false(mem_ranges_contains(&s, 0x10000, 0x10001));
	assert_int_equal(mem_ranges_take(&s, 0x800, 0x1000, UINT64_MAX, &a), 0);
	assert_int_equal(a, 0x2000);
	assert_int_equal(s.r[0].start, 0x1800);
	assert_int_equal(s.r[0].end, 0x2000);
	assert_int_equal(s.r[1].start, 0x2800);
	/* limit */
	assert_int_equal(mem_ranges_take(&s, 0x20000, 0x1000, 0x30000, &a), -ENOMEM);
	assert_non_null(strstr(s.err, "below 0x30000"));
	assert_int_equal(mem_ranges_take(&s, 0x1e000, 0x1000, 0x30000, &a), 0);
	assert_int_equal(a, 0x12000);
	/* bad arguments */
	assert_int_equal(mem_ranges_take(&s, 0x1000, 0x3000, UINT64_MAX, &a), -EINVAL);
	assert_non_null(strstr(s.err, "align 0x3000"));
	assert_int_equal(mem_ranges_take(&s, 0, 0x1000, UINT64_MAX, &a), -EINVAL);
	assert_int_equal(mem_ranges_take(&s, UINT64_MAX, 1, UINT64_MAX, &a), -ENOMEM);
	assert_canonical(&s);
}

/* Random add/remove against a byte map over a small address space. */
#define SPACE 1000

static void shadow_compare(const struct mem_ranges *s, const unsigned char *map)
{
	uint64_t a, total = 0;

	assert_canonical(s);
	for (a = 0; a < SPACE; a++) {
		bool in = mem_ranges_contains(s, a, a + 1);

		assert_int_equal(in, map[a]);
		total += map[a];
	}
	assert_int_equal(mem_ranges_total(s), total);
}

static void test_random_vs_shadow(void **state)
{
	struct mem_ranges s, copy;
	unsigned char map[SPACE + 8] = { 0 };
	unsigned iter, full_hits = 0;

	(void)state;
	srand(12345);
	mem_ranges_init(&s);
	for (iter = 0; iter < 20000; iter++) {
		uint64_t a = rand() % SPACE, len = rand() % 5, b = a + len, x;
		bool add = rand() % 2;
		int ret;

		if (b > SPACE)
			b = SPACE;
		copy = s;
		ret = add ? mem_ranges_add(&s, a, b) : mem_ranges_remove(&s, a, b);
		if (ret == -ENOSPC) {
			full_hits++;
			assert_memory_equal(&s.r, &copy.r, sizeof(s.r));
			assert_int_equal(s.count, copy.count);
			continue;
		}
		assert_int_equal(ret, 0);
		for (x = a; x < b; x++)
			map[x] = add;
		if (iter % 16 == 0 || iter > 19900)
			shadow_compare(&s, map);
	}
	shadow_compare(&s, map);
	assert_true(full_hits > 0);	/* the -ENOSPC path was exercised */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_sorted_and_merge),
		cmocka_unit_test(test_remove_split_trim),
		cmocka_unit_test(test_bad_and_empty),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_top_of_address_space),
		cmocka_unit_test(test_align_pages),
		cmocka_unit_test(test_boot_scenario),
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_random_vs_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
