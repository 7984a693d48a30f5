/*
 * Unit tests for the kernel heap (vmkernel/mm/heap.c).
 *
 * The page source hands out aligned_alloc() memory and counts it.  Pages
 * given back are kept (quarantined) until the source is torn down, so a
 * double free through a returned page reads valid memory and the heap's
 * own detection is what the test observes.
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

#define SRC_MAX 8192

struct src {
	void *va[SRC_MAX];
	unsigned order[SRC_MAX];
	bool live[SRC_MAX];
	unsigned n;
	long pages_out;
	long fail_after;	/* < 0: never fail */
};

/* Really release quarantined pages when the record table is full. */
static void src_compact(struct src *s)
{
	unsigned i, n = 0;

	for (i = 0; i < s->n; i++) {
		if (!s->live[i]) {
			free(s->va[i]);
			continue;
		}
		s->va[n] = s->va[i];
		s->order[n] = s->order[i];
		s->live[n++] = true;
	}
	s->n = n;
}

static void *src_alloc(void *ctx, unsigned order)
{
	struct src *s = ctx;
	void *p;

	if (s->n == SRC_MAX)
		src_compact(s);
	if (s->fail_after == 0 || s->n == SRC_MAX)
		return NULL;
	if (s->fail_after > 0)
		s->fail_after--;
	p = aligned_alloc(PAGE_SIZE, PAGE_SIZE << order);
	assert_non_null(p);
	memset(p, 0xa5, PAGE_SIZE << order);
	s->va[s->n] = p;
	s->order[s->n] = order;
	s->live[s->n++] = true;
	s->pages_out += 1L << order;
	return p;
}

static void src_free(void *ctx, void *va, unsigned order)
{
	struct src *s = ctx;
	unsigned i;

	for (i = 0; i < s->n; i++) {
		if (s->va[i] == va && s->live[i]) {
			assert_int_equal(s->order[i], order);
			s->live[i] = false;
			s->pages_out -= 1L << order;
			return;
		}
	}
	fail_msg("page source: free of %p order %u it never handed out", va, order);
}

static void src_destroy(struct src *s)
{
	unsigned i;

	for (i = 0; i < s->n; i++)
		free(s->va[i]);
	free(s);
}

struct fixture {
	struct src *src;
	struct heap h;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct heap_page_ops ops = { src_alloc, src_free, NULL };

	f->src = calloc(1, sizeof(*f->src));
	f->src->fail_after = -1;
	ops.ctx = f->src;
	if (heap_init(&f->h, &ops))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	src_destroy(f->src);
	free(f);
	return 0;
}

static void check_ok(const struct heap *h)
{
	char err[128];

	if (heap_check(h, err, sizeof(err)))
		fail_msg("heap_check: %s", err);
}

/* Free everything first; then nothing may remain held. */
static void assert_no_leak(struct fixture *f)
{
	struct heap_stats st;

	heap_trim(&f->h);
	heap_get_stats(&f->h, &st);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.bytes_in_use, 0);
	assert_int_equal(st.pages_held, 0);
	assert_int_equal(f->src->pages_out, 0);
}

static void test_init_errors(void **state)
{
	struct heap h;
	struct heap_page_ops ops = { src_alloc, NULL, NULL };

	(void)state;
	assert_int_equal(heap_init(&h, NULL), -EINVAL);
	assert_int_equal(heap_init(&h, &ops), -EINVAL);
	assert_non_null(strstr(h.err, "page ops"));
}

static void test_size_classes(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = { 1, 15, 16, 17, 31, 32, 33, 64, 65, 100, 128, 129,
					255, 256, 257, 512, 513, 1000, 1024, 1025, 2047, 2048 };
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t want = 16;
		unsigned char *p = heap_alloc(&f->h, sizes[i]);

		while (want < sizes[i])
			want *= 2;
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_int_equal((uintptr_t)p % want, 0);	/* natural class alignment */
		assert_int_equal(heap_usable_size(&f->h, p), want);
		memset(p, 0x5a, want);
		check_ok(&f->h);
		assert_int_equal(heap_free(&f->h, p), 0);
	}
	assert_null(heap_alloc(&f->h, 0));
	assert_int_equal(heap_free(&f->h, NULL), 0);
	assert_no_leak(f);
}

/* Fill several slabs of every class with distinct patterns; none overlap. */
static void test_patterns_no_overlap(void **state)
{
	struct fixture *f = *state;
	enum { N = 600 };
	unsigned char *p[N];
	size_t sz[N];
	unsigned i, j;

	srand(7);
	for (i = 0; i < N; i++) {
		sz[i] = 1 + rand() % (i % 3 ? 2048 : 9000);
		p[i] = heap_alloc(&f->h, sz[i]);
		assert_non_null(p[i]);
		memset(p[i], (int)(i & 0xff), sz[i]);
	}
	check_ok(&f->h);
	for (i = 0; i < N; i++)
		for (j = 0; j < sz[i]; j++)
			assert_int_equal(p[i][j], i & 0xff);
	for (i = 0; i < N; i++)
		assert_int_equal(heap_free(&f->h, p[(i * 257) % N]), 0);
	check_ok(&f->h);
	assert_no_leak(f);
}

static void test_large(void **state)
{
	struct fixture *f = *state;
	static const size_t sizes[] = { 2049, 4064, 4065, 8192, 100000, 1 << 20 };
	static const unsigned orders[] = { 0, 0, 1, 2, 5, 9 };
	struct heap_stats st;
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = heap_alloc(&f->h, sizes[i]);
		long before = f->src->pages_out;

		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		assert_int_equal(heap_usable_size(&f->h, p), (PAGE_SIZE << orders[i]) - 32);
		heap_get_stats(&f->h, &st);
		assert_int_equal(st.pages_held, 1UL << orders[i]);
		memset(p, 0x77, sizes[i]);
		assert_int_equal(heap_free(&f->h, p), 0);
		assert_int_equal(f->src->pages_out, before - (1L << orders[i]));
	}
	assert_null(heap_alloc(&f->h, SIZE_MAX));
	assert_non_null(strstr(f->h.err, "too large"));
	assert_null(heap_alloc(&f->h, (PAGE_SIZE << BUDDY_MAX_ORDER)));
	heap_get_stats(&f->h, &st);
	assert_int_equal(st.failed_allocs, 2);
	assert_no_leak(f);
}

static void test_zalloc(void **state)
{
	struct fixture *f = *state;
	unsigned char *p, *q;
	size_t i, s;

	for (s = 8; s <= 16384; s *= 2) {
		p = heap_alloc(&f->h, s);
		memset(p, 0xff, s);
		assert_int_equal(heap_free(&f->h, p), 0);
		q = heap_zalloc(&f->h, s);
		assert_non_null(q);
		for (i = 0; i < s; i++)
			assert_int_equal(q[i], 0);
		assert_int_equal(heap_free(&f->h, q), 0);
	}
	assert_null(heap_zalloc(&f->h, 0));
	assert_no_leak(f);
}

static void expect_reject(struct fixture *f, void *p, const char *why)
{
	struct heap_stats before, after;

	heap_get_stats(&f->h, &before);
	assert_int_equal(heap_free(&f->h, p), -EINVAL);
	if (!strstr(f->h.err, why))
		fail_msg("expected '%s' in '%s'", why, f->h.err);
	assert_non_null(strstr(f->h.err, "heap_free"));
	heap_get_stats(&f->h, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	check_ok(&f->h);
}

static void test_bad_pointers(void **state)
{
	struct fixture *f = *state;
	char *small = heap_alloc(&f->h, 64), *big = heap_alloc(&f->h, 10000);
	char *other = heap_alloc(&f->h, 64);
	void *foreign = aligned_alloc(PAGE_SIZE, 2 * PAGE_SIZE);

	memset(foreign, 0, 2 * PAGE_SIZE);
	expect_reject(f, small + 1, "16-byte aligned");
	expect_reject(f, small + 8, "16-byte aligned");
	expect_reject(f, small + 16, "not the start of a slab object");
	expect_reject(f, (void *)((uintptr_t)small & PAGE_MASK), "not the start");
	expect_reject(f, (char *)foreign + 64, "no heap header");
	expect_reject(f, (char *)foreign + PAGE_SIZE, "no heap header");
	expect_reject(f, big + 16, "not the start of a large");
	expect_reject(f, big + PAGE_SIZE, "no heap header");
	/* after all that, the real pointers still free fine */
	assert_int_equal(heap_free(&f->h, small), 0);
	assert_int_equal(heap_free(&f->h, big), 0);
	assert_int_equal(heap_free(&f->h, other), 0);
	free(foreign);
	assert_no_leak(f);
}

static void test_double_free(void **state)
{
	struct fixture *f = *state;
	char *a = heap_alloc(&f->h, 100), *b = heap_alloc(&f->h, 100);
	char *big = heap_alloc(&f->h, 5000);

	assert_int_equal(heap_free(&f->h, a), 0);
	expect_reject(f, a, "double free");
	assert_int_equal(heap_free(&f->h, b), 0);	/* slab now empty: cached */
	expect_reject(f, b, "double free");
	assert_int_equal(heap_free(&f->h, big), 0);
	expect_reject(f, big, "double free");
	heap_trim(&f->h);	/* slab page returned; header stamped dead */
	expect_reject(f, b, "page already returned");
	assert_no_leak(f);
}

static void test_other_heap(void **state)
{
	struct fixture *f = *state;
	struct heap h2;
	struct heap_page_ops ops = { src_alloc, src_free, f->src };
	char *p, *q;

	assert_int_equal(heap_init(&h2, &ops), 0);
	p = heap_alloc(&h2, 32);
	q = heap_alloc(&h2, 3000);
	expect_reject(f, p, "another heap");
	expect_reject(f, q, "another heap");
	assert_int_equal(heap_free(&h2, p), 0);
	assert_int_equal(heap_free(&h2, q), 0);
	heap_trim(&h2);
	assert_no_leak(f);
}

static void test_page_source_failure(void **state)
{
	struct fixture *f = *state;
	struct heap_stats st;
	void *p, *q;

	f->src->fail_after = 0;
	assert_null(heap_alloc(&f->h, 32));
	assert_non_null(strstr(f->h.err, "page source"));
	assert_null(heap_alloc(&f->h, 9000));
	assert_non_null(strstr(f->h.err, "order-2"));
	assert_null(heap_zalloc(&f->h, 9000));
	heap_get_stats(&f->h, &st);
	assert_int_equal(st.failed_allocs, 3);
	assert_int_equal(st.live_allocs, 0);
	assert_int_equal(st.pages_held, 0);
	/* one page available: a slab; the next class then fails */
	f->src->fail_after = 1;
	p = heap_alloc(&f->h, 32);
	assert_non_null(p);
	q = heap_alloc(&f->h, 32);	/* same slab, no page needed */
	assert_non_null(q);
	assert_null(heap_alloc(&f->h, 64));
	check_ok(&f->h);
	f->src->fail_after = -1;
	assert_int_equal(heap_free(&f->h, p), 0);
	assert_int_equal(heap_free(&f->h, q), 0);
	assert_no_leak(f);
}

static void test_aligned(void **state)
{
	struct fixture *f = *state;
	static const size_t aligns[] = { 1, 16, 32, 64, 256, 1024, 2048 };
	static const size_t sizes[] = { 1, 24, 100, 2048, 2049, 5000, 70000 };
	unsigned i, j;

	for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
			char *p = heap_alloc_aligned(&f->h, sizes[j], aligns[i]);

			assert_non_null(p);
			assert_int_equal((uintptr_t)p % aligns[i], 0);
			assert_true(heap_usable_size(&f->h, p) >= sizes[j]);
			memset(p, 1, sizes[j]);
			assert_int_equal(heap_free(&f->h, p), 0);
		}
	}
	assert_null(heap_alloc_aligned(&f->h, 16, 48));
	assert_non_null(strstr(f->h.err, "bad alignment 48"));
	assert_null(heap_alloc_aligned(&f->h, 16, 4096));
	assert_null(heap_alloc_aligned(&f->h, 16, 0));
	assert_no_leak(f);
}

static void test_cache_and_stats(void **state)
{
	struct fixture *f = *state;
	struct heap_stats st;
	void *p[300];
	unsigned i;

	/* 300 x 16 bytes needs two slabs (251 per slab) */
	for (i = 0; i < 300; i++)
		p[i] = heap_alloc(&f->h, 16);
	heap_get_stats(&f->h, &st);
	assert_int_equal(st.pages_held, 2);
	assert_int_equal(st.live_allocs, 300);
	assert_int_equal(st.total_allocs, 300);
	assert_int_equal(st.bytes_in_use, 300 * 16);
	check_ok(&f->h);
	for (i = 0; i < 300; i++)
		assert_int_equal(heap_free(&f->h, p[i]), 0);
	/* one empty slab kept cached, the other returned */
	heap_get_stats(&f->h, &st);
	assert_int_equal(st.pages_held, 1);
	assert_int_equal(f->src->pages_out, 1);
	p[0] = heap_alloc(&f->h, 10);	/* reuses the cached slab */
	assert_int_equal(f->src->pages_out, 1);
	assert_int_equal(heap_free(&f->h, p[0]), 0);
	check_ok(&f->h);
	assert_no_leak(f);
}

static void test_check_detects_corruption(void **state)
{
	struct fixture *f = *state;
	char err[128];
	char *a = heap_alloc(&f->h, 64), *b = heap_alloc(&f->h, 64);
	uint16_t *nfree;

	/* in the slab header: magic u32, cls u16, nfree u16 */
	nfree = (uint16_t *)((uintptr_t)a & PAGE_MASK) + 3;
	(*nfree)++;
	assert_int_equal(heap_check(&f->h, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "class 2"));
	(*nfree)--;
	check_ok(&f->h);
	heap_free(&f->h, a);
	heap_free(&f->h, b);
	assert_no_leak(f);
}

/* Random alloc/free against a shadow list, with patterns checked on free. */
static void test_stress(void **state)
{
	struct fixture *f = *state;
	enum { SLOTS = 512 };
	unsigned char *p[SLOTS] = { 0 };
	size_t sz[SLOTS];
	unsigned iter, i;
	uint64_t live = 0;
	struct heap_stats st;

	srand(99);
	for (iter = 0; iter < 30000; iter++) {
		unsigned k = rand() % SLOTS;

		if (p[k]) {
			for (i = 0; i < sz[k]; i++)
				assert_int_equal(p[k][i], (unsigned char)(k * 31 + sz[k]));
			assert_int_equal(heap_free(&f->h, p[k]), 0);
			p[k] = NULL;
			live--;
		} else {
			sz[k] = rand() % 8 ? 1 + rand() % 2048 : 1 + rand() % 40000;
			p[k] = heap_alloc(&f->h, sz[k]);
			assert_non_null(p[k]);
			memset(p[k], (unsigned char)(k * 31 + sz[k]), sz[k]);
			live++;
		}
		heap_get_stats(&f->h, &st);
		assert_int_equal(st.live_allocs, live);
		if (iter % 64 == 0)
			check_ok(&f->h);
	}
	for (i = 0; i < SLOTS; i++)
		assert_int_equal(heap_free(&f->h, p[i]), 0);
	check_ok(&f->h);
	assert_no_leak(f);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		T(test_size_classes),
		T(test_patterns_no_overlap),
		T(test_large),
		T(test_zalloc),
		T(test_bad_pointers),
		T(test_double_free),
		T(test_other_heap),
		T(test_page_source_failure),
		T(test_aligned),
		T(test_cache_and_stats),
		T(test_check_detects_corruption),
		T(test_stress),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
