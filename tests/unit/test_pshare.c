/*
 * Unit tests for page sharing (vmm/mem/pshare.c) on the real EPT builder:
 * the hash, matching within a domain only, copy-on-write breaks with and
 * without a copy, allocation failures, and a random sequence of guest
 * writes and scans over three VMs checked against a shadow copy of every
 * guest page, with the table's reference counts checked against the EPT
 * leaves after every step.
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

#include "fake_pool.h"

#include <vmm/ept.h>
#include <vmm/pshare.h>

#define K4	0x1000ULL
#define NVM	3
#define NPAGE	48

struct env {
	struct fake_pool fp;	/* EPT tables and guest frames alike */
	struct pgt_pool pool;
	struct pshare_ops ops;
	struct pshare_table t;
	struct ept e[NVM];
	long nodes;
	int node_fail;		/* node allocations left before failing; -1 never */
};

static void *ops_virt(void *ctx, uint64_t pa)
{
	return fp_virt(&((struct env *)ctx)->fp, pa);
}

static void *ops_node_alloc(void *ctx, size_t size)
{
	struct env *v = ctx;

	if (v->node_fail == 0)
		return NULL;
	if (v->node_fail > 0)
		v->node_fail--;
	v->nodes++;
	return calloc(1, size);
}

static void ops_node_free(void *ctx, void *node)
{
	((struct env *)ctx)->nodes--;
	free(node);
}

static uint64_t ops_page_alloc(void *ctx, void *who)
{
	assert_ptr_equal(who, ctx);
	return fp_alloc(&((struct env *)ctx)->fp);
}

static void ops_page_free(void *ctx, uint64_t pa)
{
	fp_free(&((struct env *)ctx)->fp, pa);
}

static struct env *env_new(void)
{
	struct env *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->fp.fail_after = -1;
	v->node_fail = -1;
	v->pool = (struct pgt_pool){ &v->fp, fp_alloc, fp_free, fp_virt };
	v->ops = (struct pshare_ops){ v, ops_virt, ops_node_alloc, ops_node_free, ops_page_alloc,
				      ops_page_free };
	pshare_init(&v->t, &v->ops);
	for (int i = 0; i < NVM; i++)
		assert_int_equal(ept_init(&v->e[i], &v->pool, true, true, false), 0);
	return v;
}

/* Back gpa of VM i with a private writable page filled with `fill`. */
static uint64_t back(struct env *v, int i, uint64_t gpa, int fill)
{
	uint64_t pa = fp_alloc(&v->fp);

	assert_true(pa != 0);
	memset(fp_virt(&v->fp, pa), fill, K4);
	assert_int_equal(ept_map(&v->e[i], gpa, pa, K4, EPT_R | EPT_W | EPT_X, EPT_MT_WB), 0);
	return pa;
}

static uint64_t hpa_of(struct env *v, int i, uint64_t gpa, unsigned *perms)
{
	uint64_t hpa;

	assert_int_equal(ept_lookup(&v->e[i], gpa, &hpa, perms, NULL, NULL), 0);
	return hpa;
}

/* What the scanner does before a merge: write-protect (the flush is the kernel's). */
static enum pshare_merge_result scan(struct env *v, int i, uint64_t gpa, uint64_t domain)
{
	uint64_t freed;
	bool zero;
	enum pshare_merge_result r;

	assert_int_equal(ept_protect(&v->e[i], gpa, K4, EPT_W, 0), 0);
	r = pshare_merge(&v->t, &v->e[i], gpa, domain, &freed, &zero);
	if (r == PSHARE_MERGED) {
		assert_true(freed != 0);
		fp_free(&v->fp, freed);
	} else {
		assert_true(freed == 0);
	}
	return r;
}

/* A guest write: break sharing if needed, then write the byte. */
static int guest_write(struct env *v, int i, uint64_t gpa, unsigned off, uint8_t val)
{
	unsigned perms;
	bool flush, zero;
	uint64_t hpa = hpa_of(v, i, gpa, &perms);

	if (perms & EPT_SHARED) {
		int err = pshare_break(&v->t, &v->e[i], gpa, v, &flush, &zero);

		if (err)
			return err;
		hpa = hpa_of(v, i, gpa, &perms);
	} else if (!(perms & EPT_W)) {
		assert_int_equal(ept_protect(&v->e[i], gpa, K4, 0, EPT_W), 0);
	}
	assert_true(perms & EPT_W);
	((uint8_t *)fp_virt(&v->fp, hpa))[off] = val;
	return 0;
}

struct count {
	struct env *v;
	uint64_t shared;
};

static int count_leaf(void *ctx, uint64_t gpa, unsigned level, uint64_t entry, bool leaf)
{
	struct count *c = ctx;

	(void)gpa;
	if (!leaf || !(entry & EPT_SW_SHARED))
		return 0;
	assert_int_equal(level, 1);
	assert_false(entry & EPT_WRITE);
	assert_non_null(pshare_find_pa(&c->v->t, entry & EPT_ADDR_MASK));
	c->shared++;
	return 0;
}

/* Reference counts equal the shared leaves of every EPT; one node per frame. */
static void check_refs(struct env *v)
{
	struct count c = { v, 0 };
	uint64_t sum = 0;

	for (int i = 0; i < NVM; i++) {
		char why[160];

		/* The software bit is no misconfiguration: the CPU ignores bits 62:52. */
		if (ept_check(&v->e[i], why, sizeof(why)))
			fail_msg("ept_check: %s", why);
		assert_int_equal(pgt_walk(&v->e[i].pt, count_leaf, &c), 0);
	}
	assert_int_equal(c.shared, v->t.st.refs);
	assert_int_equal(v->nodes, (long)v->t.st.frames);
	for (unsigned b = 0; b < PSHARE_BUCKETS; b++) {
		for (struct pshare_frame *f = v->t.by_pa[b]; f; f = f->next_pa) {
			assert_true(f->refs > 0);
			sum += f->refs;
		}
	}
	assert_int_equal(sum, v->t.st.refs);
}

static int free_leaf(void *ctx, uint64_t gpa, unsigned level, uint64_t entry, bool leaf)
{
	struct env *v = ctx;

	(void)gpa;
	(void)level;
	if (!leaf)
		return 0;
	if (!(entry & EPT_SW_SHARED) || pshare_release(&v->t, entry & EPT_ADDR_MASK))
		fp_free(&v->fp, entry & EPT_ADDR_MASK);
	return 0;
}

static void env_free(struct env *v)
{
	for (int i = 0; i < NVM; i++) {
		assert_int_equal(pgt_walk(&v->e[i].pt, free_leaf, v), 0);
		ept_destroy(&v->e[i]);
	}
	assert_int_equal(v->t.st.frames, 0);
	assert_int_equal(v->t.st.refs, 0);
	assert_int_equal(v->nodes, 0);
	assert_int_equal(v->fp.allocs, v->fp.frees);
	free(v);
}

static void test_hash(void **state)
{
	static uint8_t a[K4] __attribute__((aligned(8))), b[K4] __attribute__((aligned(8)));
	bool zero;

	(void)state;
	assert_int_equal(pshare_hash(a, &zero), 0);
	assert_true(zero);
	a[4095] = 1;
	assert_true(pshare_hash(a, &zero) != 0);
	assert_false(zero);
	memcpy(b, a, K4);
	assert_int_equal(pshare_hash(a, &zero), pshare_hash(b, &zero));
	b[0] = 1;
	assert_true(pshare_hash(a, &zero) != pshare_hash(b, &zero));
	/* Swapped words hash differently (the position of a word counts). */
	memset(a, 0, K4);
	memset(b, 0, K4);
	a[0] = 1;
	b[8] = 1;
	assert_true(pshare_hash(a, &zero) != pshare_hash(b, &zero));
}

static void test_merge_and_break(void **state)
{
	struct env *v = env_new();
	uint64_t p0, p1, hpa;
	unsigned perms;
	bool flush, zero;

	(void)state;
	p0 = back(v, 0, 0x1000, 0x5a);
	p1 = back(v, 0, 0x7000, 0x5a);
	back(v, 0, 0x9000, 0x00);
	/* The first scanned page becomes a frame of its own; the second joins it. */
	assert_int_equal(scan(v, 0, 0x1000, 1), PSHARE_NEW);
	assert_int_equal(hpa_of(v, 0, 0x1000, &perms), p0);
	assert_int_equal(perms, EPT_R | EPT_X | EPT_SHARED);
	assert_int_equal(scan(v, 0, 0x7000, 1), PSHARE_MERGED);
	assert_int_equal(hpa_of(v, 0, 0x7000, &perms), p0);
	assert_int_equal(perms, EPT_R | EPT_X | EPT_SHARED);
	assert_int_equal(pshare_find_pa(&v->t, p0)->refs, 2);
	(void)p1;
	assert_int_equal(scan(v, 0, 0x9000, 1), PSHARE_NEW);
	assert_int_equal(v->t.st.zero_frames, 1);
	assert_int_equal(v->t.st.zero_refs, 1);
	check_refs(v);
	/* A shared page is not scanned again. */
	{
		uint64_t freed;
		bool zero;

		assert_int_equal(pshare_merge(&v->t, &v->e[0], 0x1000, 1, &freed, &zero),
				 PSHARE_SKIPPED);
	}
	/* A write to a page of a two-page frame: a copy, the other page unchanged. */
	assert_int_equal(pshare_break(&v->t, &v->e[0], 0x7000, v, &flush, &zero), 0);
	assert_true(flush);
	assert_false(zero);
	hpa = hpa_of(v, 0, 0x7000, &perms);
	assert_true(hpa != p0);
	assert_int_equal(perms, EPT_R | EPT_W | EPT_X);
	((uint8_t *)fp_virt(&v->fp, hpa))[0] = 0x11;
	assert_int_equal(((uint8_t *)fp_virt(&v->fp, p0))[0], 0x5a);
	assert_int_equal(((uint8_t *)fp_virt(&v->fp, hpa))[1], 0x5a);
	/* The last page takes its frame back: no copy, nothing to flush. */
	assert_int_equal(pshare_break(&v->t, &v->e[0], 0x1000, v, &flush, &zero), 0);
	assert_false(flush);
	assert_int_equal(hpa_of(v, 0, 0x1000, &perms), p0);
	assert_int_equal(perms, EPT_R | EPT_W | EPT_X);
	assert_null(pshare_find_pa(&v->t, p0));
	/* Breaking what is not shared is refused. */
	assert_int_equal(pshare_break(&v->t, &v->e[0], 0x1000, v, &flush, &zero), -EINVAL);
	assert_int_equal(pshare_break(&v->t, &v->e[0], 0x3000, v, &flush, &zero), -EINVAL);
	check_refs(v);
	env_free(v);
}

static void test_domains(void **state)
{
	struct env *v = env_new();
	uint64_t p0;

	(void)state;
	p0 = back(v, 0, 0x1000, 0x33);
	back(v, 1, 0x1000, 0x33);
	back(v, 2, 0x1000, 0x33);
	assert_int_equal(scan(v, 0, 0x1000, 100), PSHARE_NEW);
	/* Another domain: the same bytes are not shared with it. */
	assert_int_equal(scan(v, 1, 0x1000, 200), PSHARE_NEW);
	assert_true(hpa_of(v, 1, 0x1000, NULL) != p0);
	/* The same domain (a salt two VMs opted into): shared across VMs. */
	assert_int_equal(scan(v, 2, 0x1000, 100), PSHARE_MERGED);
	assert_int_equal(hpa_of(v, 2, 0x1000, NULL), p0);
	assert_int_equal(v->t.st.frames, 2);
	assert_int_equal(v->t.st.refs, 3);
	check_refs(v);
	env_free(v);
}

static void test_collisions(void **state)
{
	struct env *v = env_new();
	struct pshare_frame *f;
	uint64_t p0;
	bool zero;
	uint8_t other[K4];

	(void)state;
	p0 = back(v, 0, 0x1000, 0x44);
	assert_int_equal(scan(v, 0, 0x1000, 1), PSHARE_NEW);
	f = pshare_find_pa(&v->t, p0);
	assert_non_null(f);
	/* Equal hash, different bytes: no match, counted as a collision. */
	memset(other, 0x45, K4);
	assert_null(pshare_lookup(&v->t, 1, f->hash, other));
	assert_int_equal(v->t.st.collisions, 1);
	assert_non_null(pshare_lookup(&v->t, 1, pshare_hash(fp_virt(&v->fp, p0), &zero),
				      fp_virt(&v->fp, p0)));
	check_refs(v);
	env_free(v);
}

static void test_failures(void **state)
{
	struct env *v = env_new();
	uint64_t p0, hpa;
	unsigned perms;
	bool flush, zero;

	(void)state;
	p0 = back(v, 0, 0x1000, 0x66);
	back(v, 0, 0x2000, 0x66);
	/* No node for a new frame: the page stays private and writable again. */
	v->node_fail = 0;
	assert_int_equal(scan(v, 0, 0x1000, 1), PSHARE_SKIPPED);
	assert_int_equal(hpa_of(v, 0, 0x1000, &perms), p0);
	assert_int_equal(perms, EPT_R | EPT_W | EPT_X);
	v->node_fail = -1;
	assert_int_equal(scan(v, 0, 0x1000, 1), PSHARE_NEW);
	assert_int_equal(scan(v, 0, 0x2000, 1), PSHARE_MERGED);
	/* No page for a copy: -ENOMEM and the page still maps the frame. */
	v->fp.fail_after = 0;
	assert_int_equal(pshare_break(&v->t, &v->e[0], 0x2000, v, &flush, &zero), -ENOMEM);
	hpa = hpa_of(v, 0, 0x2000, &perms);
	assert_int_equal(hpa, p0);
	assert_int_equal(perms, EPT_R | EPT_X | EPT_SHARED);
	assert_int_equal(pshare_find_pa(&v->t, p0)->refs, 2);
	v->fp.fail_after = -1;
	check_refs(v);
	env_free(v);
}

/*
 * Random guest writes and scans over three VMs (VMs 0 and 1 share a salt,
 * VM 2 is alone) with few distinct contents, so that pages merge and break
 * all the time. Every page must always read what was last written to it.
 */
static void test_random(void **state)
{
	struct env *v = env_new();
	static uint8_t shadow[NVM][NPAGE][4];	/* first bytes; the rest stays as filled */
	uint64_t domain[NVM] = { 7, 7, 9 };
	unsigned merged = 0, breaks = 0;

	(void)state;
	srand(12);
	for (int i = 0; i < NVM; i++) {
		for (int p = 0; p < NPAGE; p++) {
			back(v, i, (uint64_t)p * K4, 0);
			memset(shadow[i][p], 0, 4);
		}
	}
	for (int step = 0; step < 20000; step++) {
		int i = rand() % NVM, p = rand() % NPAGE;
		uint64_t gpa = (uint64_t)p * K4;
		unsigned perms;

		if (rand() % 3) {
			unsigned off = (unsigned)(rand() % 4);
			uint8_t val = (uint8_t)(rand() % 3);

			if (hpa_of(v, i, gpa, &perms), perms & EPT_SHARED)
				breaks++;
			assert_int_equal(guest_write(v, i, gpa, off, val), 0);
			shadow[i][p][off] = val;
		} else {
			hpa_of(v, i, gpa, &perms);
			if (!(perms & EPT_SHARED) && scan(v, i, gpa, domain[i]) == PSHARE_MERGED)
				merged++;
		}
		if (step % 500 == 0)
			check_refs(v);
		for (int j = 0; j < NVM && step % 97 == 0; j++) {
			for (int q = 0; q < NPAGE; q++) {
				const uint8_t *g = fp_virt(&v->fp, hpa_of(v, j, (uint64_t)q * K4,
									   NULL));

				assert_memory_equal(g, shadow[j][q], 4);
				for (unsigned k = 4; k < K4; k++)
					assert_int_equal(g[k], 0);
			}
		}
	}
	check_refs(v);
	assert_true(merged > 1000);
	assert_true(breaks > 1000);
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_merge_and_break),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_failures),
		cmocka_unit_test(test_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
