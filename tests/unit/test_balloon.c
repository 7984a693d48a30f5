/*
 * The virtio-balloon device's checks of guest requests
 * (vmm/vdev/virtio/balloon_req.c) against a fake guest memory: inflate
 * and deflate bookkeeping, and every malformation a hostile driver can
 * send (PFNs outside RAM or in the hole, duplicates within a request and
 * across requests, deflating what is not in the balloon, malformed
 * statistics), each named and leaving the balloon's count equal to the
 * pages in its bitmap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/balloon.h>

#define RAM_PAGES	4096u		/* 16 MiB of guest RAM ... */
#define HOLE_FIRST	0xa0u		/* ... with the legacy hole at [640 KiB, 1 MiB) */
#define HOLE_END	0x100u

static uint64_t bits[RAM_PAGES / 64];
static struct balloon_map map;

static bool fake_is_ram(void *ctx, uint64_t gpa)
{
	uint64_t p = gpa >> 12;

	(void)ctx;
	return p < RAM_PAGES && !(p >= HOLE_FIRST && p < HOLE_END);
}

static uint64_t popcount(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < RAM_PAGES / 64; i++)
		n += (uint64_t)__builtin_popcountll(bits[i]);
	return n;
}

static int setup(void **state)
{
	(void)state;
	memset(bits, 0, sizeof(bits));
	map = (struct balloon_map){ bits, RAM_PAGES, 0 };
	return 0;
}

static enum balloon_err apply(const uint32_t *p, unsigned n, bool inflate, unsigned *bad)
{
	enum balloon_err e = balloon_apply(&map, p, n, inflate, fake_is_ram, NULL, bad);

	assert_int_equal(map.count, popcount());
	return e;
}

static void test_inflate_deflate(void **state)
{
	uint32_t in[] = { 1, 2, 3, 0x100, RAM_PAGES - 1 };
	uint32_t out[] = { 2, RAM_PAGES - 1 };
	unsigned bad = 99;

	(void)state;
	assert_int_equal(apply(in, 5, true, &bad), BALLOON_OK);
	assert_int_equal(map.count, 5);
	assert_int_equal(apply(out, 2, false, &bad), BALLOON_OK);
	assert_int_equal(map.count, 3);
	/* deflated pages may be inflated again */
	assert_int_equal(apply(out, 2, true, &bad), BALLOON_OK);
	assert_int_equal(map.count, 5);
	assert_int_equal(bad, 99);
	assert_int_equal(apply(in, 0, true, &bad), BALLOON_OK);
	assert_int_equal(map.count, 5);
}

static void test_hostile_pfns(void **state)
{
	uint32_t outside[] = { 7, 8, RAM_PAGES };
	uint32_t hole[] = { 9, HOLE_FIRST };
	uint32_t huge[] = { 10, 0xffffffffu };
	uint32_t dup_in_req[] = { 20, 21, 20 };
	uint32_t first[] = { 30, 31 };
	uint32_t again[] = { 32, 31 };
	uint32_t not_in[] = { 30, 40 };
	unsigned bad;

	(void)state;
	assert_int_equal(apply(outside, 3, true, &bad), BALLOON_ERR_NOT_RAM);
	assert_int_equal(bad, 2);
	assert_int_equal(map.count, 0);		/* all or nothing */
	assert_int_equal(apply(hole, 2, true, &bad), BALLOON_ERR_NOT_RAM);
	assert_int_equal(bad, 1);
	assert_int_equal(apply(huge, 2, true, &bad), BALLOON_ERR_NOT_RAM);
	assert_int_equal(map.count, 0);
	assert_int_equal(apply(dup_in_req, 3, true, &bad), BALLOON_ERR_TWICE);
	assert_int_equal(bad, 2);
	assert_int_equal(map.count, 0);
	assert_int_equal(apply(first, 2, true, &bad), BALLOON_OK);
	assert_int_equal(apply(again, 2, true, &bad), BALLOON_ERR_TWICE);
	assert_int_equal(bad, 1);
	assert_int_equal(map.count, 2);		/* 32 was rolled back */
	assert_int_equal(apply(not_in, 2, false, &bad), BALLOON_ERR_NOT_IN);
	assert_int_equal(bad, 1);
	assert_int_equal(map.count, 2);		/* 30 is still in the balloon */
	assert_int_equal(apply(first, 2, false, &bad), BALLOON_OK);
	assert_int_equal(map.count, 0);
	assert_int_equal(apply(first, 1, false, &bad), BALLOON_ERR_NOT_IN);
	assert_int_equal(bad, 0);
}

/* A random mix of good and bad requests: the count always matches a shadow of the balloon. */
static void test_random(void **state)
{
	static bool shadow[RAM_PAGES];
	uint64_t in = 0;

	(void)state;
	memset(shadow, 0, sizeof(shadow));
	srand(12);
	for (unsigned round = 0; round < 20000; round++) {
		uint32_t p[BALLOON_CHUNK];
		bool inflate = rand() & 1, expect_ok = true, seen[RAM_PAGES + 8] = { 0 };
		unsigned n = (unsigned)rand() % 8, bad;
		enum balloon_err e;

		for (unsigned i = 0; i < n; i++) {
			p[i] = (uint32_t)rand() % (RAM_PAGES + 8);
			if (!fake_is_ram(NULL, (uint64_t)p[i] << 12) || seen[p[i]] ||
			    shadow[p[i]] == inflate)
				expect_ok = false;
			seen[p[i]] = true;
		}
		e = apply(p, n, inflate, &bad);
		assert_int_equal(e == BALLOON_OK, expect_ok);
		if (e == BALLOON_OK) {
			for (unsigned i = 0; i < n; i++)
				shadow[p[i]] = inflate;
			in = inflate ? in + n : in - n;
		}
		assert_int_equal(map.count, in);
	}
	for (unsigned i = 0; i < RAM_PAGES; i++)
		assert_int_equal(shadow[i], (bits[i / 64] >> (i % 64)) & 1);
}

static void put_stat(uint8_t *b, uint16_t tag, uint64_t v)
{
	b[0] = (uint8_t)tag;
	b[1] = (uint8_t)(tag >> 8);
	for (unsigned i = 0; i < 8; i++)
		b[2 + i] = (uint8_t)(v >> (8 * i));
}

static void test_stats(void **state)
{
	uint8_t buf[BALLOON_STATS_MAX * BALLOON_STAT_BYTES + BALLOON_STAT_BYTES];
	struct balloon_stats s = { { 0 }, 0 };

	(void)state;
	put_stat(buf, BALLOON_S_MEMTOT, 256ull << 20);
	put_stat(buf + 10, BALLOON_S_AVAIL, 0x123456789aull);
	put_stat(buf + 20, 0x7777, 5);		/* unknown tags are ignored */
	assert_int_equal(balloon_stats_parse(buf, 30, &s), BALLOON_OK);
	assert_int_equal(s.have, 1u << BALLOON_S_MEMTOT | 1u << BALLOON_S_AVAIL);
	assert_int_equal(s.v[BALLOON_S_MEMTOT], 256ull << 20);
	assert_int_equal(s.v[BALLOON_S_AVAIL], 0x123456789aull);
	assert_int_equal(balloon_stats_parse(buf, 29, &s), BALLOON_ERR_STATS_LEN);
	assert_int_equal(balloon_stats_parse(buf, sizeof(buf), &s), BALLOON_ERR_STATS_LEN);
	assert_int_equal(balloon_stats_parse(buf, 0, &s), BALLOON_OK);
	assert_string_equal(balloon_err_name(BALLOON_ERR_TWICE), "page inflated twice");
	assert_string_equal(balloon_err_name(BALLOON_ERR_COUNT), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_inflate_deflate, setup),
		cmocka_unit_test_setup(test_hostile_pfns, setup),
		cmocka_unit_test_setup(test_random, setup),
		cmocka_unit_test_setup(test_stats, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
