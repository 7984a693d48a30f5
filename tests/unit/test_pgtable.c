/*
 * Unit tests for the shared page-table walker (vmkernel/mm/pgtable.c), host
 * format. Table pages come from a fake pool that hands out made-up physical
 * addresses, counts allocations and frees, catches double frees and uses of
 * freed pages, and can be told to fail.
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

#include <vmkernel/cpu_hw.h>
#include <vmkernel/pgtable.h>

#define K4		0x1000ULL
#define M2		0x200000ULL
#define G1		0x40000000ULL
#define PAT4K		(1ULL << 7)

struct env {
	struct fake_pool fp;
	struct pgt_pool pool;
	struct pgtable pt;
};

static struct env *env_new(void)
{
	struct env *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->fp.fail_after = -1;
	v->pool = (struct pgt_pool){ &v->fp, fp_alloc, fp_free, fp_virt };
	assert_int_equal(pgt_init(&v->pt, &pgt_host_format, &v->pool), 0);
	return v;
}

static long outstanding(const struct env *v)
{
	return v->fp.allocs - v->fp.frees;
}

static void env_free(struct env *v)
{
	pgt_destroy(&v->pt);
	assert_int_equal(v->pt.root_pa, 0);
	assert_int_equal(outstanding(v), 0);
	free(v);
}

/* Every non-root table holds at least one entry (present, or an owner's value). */
static int nonempty_visit(void *ctx, uint64_t va, unsigned level, uint64_t e, bool leaf)
{
	struct env *v = ctx;
	const uint64_t *t;
	unsigned i;

	(void)va;
	(void)level;
	if (leaf)
		return 0;
	t = fp_virt(&v->fp, e & PTE_ADDR_MASK);
	for (i = 0; i < 512 && !t[i]; i++)
		;
	return i == 512;
}

static void check_tables(struct env *v)
{
	assert_int_equal(pgt_walk(&v->pt, nonempty_visit, v), 0);
	assert_int_equal((long)pgt_count_tables(&v->pt), outstanding(v));
}

static void expect(struct env *v, uint64_t va, uint64_t pa, unsigned level, uint64_t bits)
{
	uint64_t got_pa = 0, got_bits = 0;
	unsigned got_level = 0;
	int ret = pgt_lookup(&v->pt, va, &got_pa, &got_bits, &got_level);

	if (ret)
		fail_msg("va 0x%llx: lookup %d", (unsigned long long)va, ret);
	if (got_pa != pa || got_level != level || got_bits != bits)
		fail_msg("va 0x%llx: pa 0x%llx level %u bits 0x%llx, want 0x%llx %u 0x%llx",
			 (unsigned long long)va, (unsigned long long)got_pa, got_level,
			 (unsigned long long)got_bits, (unsigned long long)pa, level,
			 (unsigned long long)bits);
}

static void expect_none(struct env *v, uint64_t va)
{
	if (pgt_lookup(&v->pt, va, NULL, NULL, NULL) != -ENOENT)
		fail_msg("va 0x%llx should be unmapped", (unsigned long long)va);
}

static void assert_err(struct env *v, int ret, int want, const char *text)
{
	assert_int_equal(ret, want);
	if (!strstr(v->pt.err, text))
		fail_msg("error \"%s\" does not mention \"%s\"", v->pt.err, text);
}

static void test_init_errors(void **state)
{
	struct fake_pool fp = { .fail_after = 0 };
	struct pgt_pool pool = { &fp, fp_alloc, fp_free, fp_virt };
	struct pgt_pool nofree = { &fp, fp_alloc, NULL, fp_virt };
	struct pgt_format bad = pgt_host_format;
	struct pgtable pt;

	(void)state;
	assert_int_equal(pgt_init(NULL, &pgt_host_format, &pool), -EINVAL);
	assert_int_equal(pgt_init(&pt, NULL, &pool), -EINVAL);
	assert_non_null(strstr(pt.err, "bad format"));
	bad.max_leaf_level = 4;
	assert_int_equal(pgt_init(&pt, &bad, &pool), -EINVAL);
	assert_non_null(strstr(pt.err, "bad format"));
	assert_int_equal(pgt_init(&pt, &pgt_host_format, &nofree), -EINVAL);
	assert_non_null(strstr(pt.err, "callback"));
	assert_int_equal(pgt_init(&pt, &pgt_host_format, &pool), -ENOMEM);
	assert_non_null(strstr(pt.err, "root"));
	assert_int_equal(pt.root_pa, 0);
	/* calls on a table that never initialised fail cleanly */
	assert_int_equal(pgt_map(&pt, 0, 0, K4, PTE_W, 0), -EINVAL);
	assert_non_null(strstr(pt.err, "not initialised"));
	assert_int_equal(pgt_lookup(&pt, 0, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(pgt_count_tables(&pt), 0);
	pgt_destroy(&pt);
	assert_int_equal(fp.allocs, 0);
}

static void test_leaf_choice(void **state)
{
	struct env *v = env_new();
	uint64_t va = 0x8000000000ULL, pa = 0x2c0000000ULL;	/* both 1 GiB aligned */
	uint64_t bits = PTE_P | PTE_W | PTE_NX;

	(void)state;
	assert_int_equal(pgt_map(&v->pt, va, pa, G1 + 3 * M2 + 5 * K4, PTE_W | PTE_NX, 0), 0);
	for (uint64_t off = 0; off < G1; off += 0x3f5000)
		expect(v, va + off + 0x123, pa + off + 0x123, 3, bits);
	expect(v, va + G1 - 1, pa + G1 - 1, 3, bits);
	for (uint64_t off = G1; off < G1 + 3 * M2; off += 0x7000)
		expect(v, va + off, pa + off, 2, bits);
	for (uint64_t off = G1 + 3 * M2; off < G1 + 3 * M2 + 5 * K4; off += K4)
		expect(v, va + off + 0xfff, pa + off + 0xfff, 1, bits);
	expect_none(v, va + G1 + 3 * M2 + 5 * K4);
	expect_none(v, va - 1);
	assert_int_equal(pgt_count_tables(&v->pt), 4);	/* PML4, PDPT, PD, PT */
	check_tables(v);

	/* pa only 2 MiB aligned: no 1 GiB leaf even though va is */
	assert_int_equal(pgt_map(&v->pt, 2 * G1, M2, G1, PTE_W, 0), 0);
	expect(v, 2 * G1, M2, 2, PTE_P | PTE_W);
	expect(v, 3 * G1 - 1, M2 + G1 - 1, 2, PTE_P | PTE_W);
	/* pa only 4 KiB aligned: 4 KiB leaves */
	assert_int_equal(pgt_map(&v->pt, 4 * G1, M2 + K4, M2, 0, 0), 0);
	expect(v, 4 * G1 + 0x1234, M2 + K4 + 0x1234, 1, PTE_P);
	/* PGT_4K forces small leaves */
	assert_int_equal(pgt_map(&v->pt, 6 * G1, 0, M2, PTE_W, PGT_4K), 0);
	expect(v, 6 * G1 + M2 - K4, M2 - K4, 1, PTE_P | PTE_W);
	check_tables(v);
	env_free(v);
}

static void test_max_leaf_level(void **state)
{
	struct env *v = env_new();
	struct pgt_format f = pgt_host_format;
	struct pgtable pt;

	(void)state;
	f.max_leaf_level = 2;		/* CPU without 1 GiB pages */
	assert_int_equal(pgt_init(&pt, &f, &v->pool), 0);
	assert_int_equal(pgt_map(&pt, G1, G1, G1, PTE_W, 0), 0);
	assert_int_equal(pgt_count_tables(&pt), 3);
	{
		uint64_t pa;
		unsigned level;

		assert_int_equal(pgt_lookup(&pt, G1 + 0x12345678, &pa, NULL, &level), 0);
		assert_int_equal(level, 2);
		assert_int_equal(pa, G1 + 0x12345678);
	}
	pgt_destroy(&pt);
	env_free(v);
}

static void test_bad_arguments(void **state)
{
	struct env *v = env_new();
	struct pgtable *pt = &v->pt;

	(void)state;
	assert_err(v, pgt_map(pt, 0x1000, 0, 0, PTE_W, 0), -EINVAL, "size 0");
	assert_err(v, pgt_map(pt, 0x1800, 0, K4, PTE_W, 0), -EINVAL, "not 4 KiB aligned");
	assert_err(v, pgt_map(pt, 0x1000, 0, 0x800, PTE_W, 0), -EINVAL, "not 4 KiB aligned");
	assert_err(v, pgt_map(pt, 0x1000, 0x10, K4, PTE_W, 0), -EINVAL, "pa 0x10 not 4 KiB");
	assert_err(v, pgt_map(pt, 0xfffffffffffff000ULL, 0, 2 * K4, PTE_W, 0), -EINVAL,
		   "range wraps");
	assert_err(v, pgt_map(pt, 0x0000800000000000ULL, 0, K4, PTE_W, 0), -EINVAL,
		   "canonical");
	assert_err(v, pgt_map(pt, 0x00007ffffffff000ULL, 0, 2 * K4, PTE_W, 0), -EINVAL,
		   "0x7ffffffff000");
	assert_err(v, pgt_map(pt, 0, 1ULL << 52, K4, PTE_W, 0), -EINVAL,
		   "physical address width");
	assert_err(v, pgt_map(pt, 0, (1ULL << 52) - K4, 2 * K4, PTE_W, 0), -EINVAL,
		   "physical address width");
	assert_err(v, pgt_map(pt, 0, 0, K4, PTE_W | 0x5000, 0), -EINVAL, "address");
	assert_err(v, pgt_map(pt, 0, 0, K4, PTE_W, 0x80), -EINVAL, "unknown flags");
	assert_err(v, pgt_unmap(pt, 0x1000, 0), -EINVAL, "unmap va 0x1000: size 0");
	assert_err(v, pgt_protect(pt, 0x1001, K4, 0, PTE_W), -EINVAL, "aligned");
	assert_err(v, pgt_protect(pt, 0, K4, PTE_P, 0), -EINVAL, "always-set");
	assert_err(v, pgt_protect(pt, 0, K4, 0, 0x1000), -EINVAL, "address");
	assert_int_equal(pgt_lookup(pt, 0x0000900000000000ULL, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(pgt_lookup(pt, 0x1000, NULL, NULL, NULL), -ENOENT);
	assert_int_equal(pgt_walk(pt, NULL, NULL), -EINVAL);
	/* nothing above allocated a page */
	assert_int_equal(v->fp.allocs, 1);

	/* -EEXIST names the first address in the way */
	assert_int_equal(pgt_map(pt, 0x5000, 0x5000, K4, PTE_W, 0), 0);
	assert_err(v, pgt_map(pt, 0x2000, 0x2000, 8 * K4, PTE_W, 0), -EEXIST,
		   "0x5000 already mapped");
	expect_none(v, 0x2000);
	assert_int_equal(pgt_map(pt, G1, 0, G1, PTE_W, 0), 0);
	assert_err(v, pgt_map(pt, G1 + 0x10000, 0, K4, PTE_W, 0), -EEXIST,
		   "0x40010000 already mapped");
	check_tables(v);
	env_free(v);
}

static void test_unmap_split_1g(void **state)
{
	struct env *v = env_new();
	uint64_t va = 0x7f8000000000ULL, pa = 0x1c0000000ULL;
	uint64_t hole = va + 5 * M2 + 0x12000, hole_len = 3 * K4;
	uint64_t bits = PTE_P | PTE_W | PTE_G;

	(void)state;
	assert_int_equal(pgt_map(&v->pt, va, pa, G1, PTE_W | PTE_G, 0), 0);
	assert_int_equal(pgt_count_tables(&v->pt), 2);
	assert_int_equal(pgt_unmap(&v->pt, hole, hole_len), 0);
	for (uint64_t a = hole; a < hole + hole_len; a += 0x800)
		expect_none(v, a);
	expect(v, hole - 1, pa + (hole - 1 - va), 1, bits);
	expect(v, hole + hole_len, pa + (hole + hole_len - va), 1, bits);
	expect(v, va + 5 * M2, pa + 5 * M2, 1, bits);
	expect(v, va + 6 * M2 - 1, pa + 6 * M2 - 1, 1, bits);
	expect(v, va + 5 * M2 - 1, pa + 5 * M2 - 1, 2, bits);
	expect(v, va + 6 * M2, pa + 6 * M2, 2, bits);
	expect(v, va, pa, 2, bits);
	expect(v, va + G1 - 1, pa + G1 - 1, 2, bits);
	expect_none(v, va + G1);
	assert_int_equal(pgt_count_tables(&v->pt), 4);
	check_tables(v);

	/* unmapping a range with holes in it is fine; emptied tables go away */
	assert_int_equal(pgt_unmap(&v->pt, va, 5 * M2 + 0x20000), 0);
	expect_none(v, va + 5 * M2 + 0x1f000);
	expect(v, va + 5 * M2 + 0x20000, pa + 5 * M2 + 0x20000, 1, bits);
	assert_int_equal(pgt_unmap(&v->pt, va + 5 * M2, G1 - 5 * M2), 0);
	assert_int_equal(pgt_count_tables(&v->pt), 1);
	assert_int_equal(outstanding(v), 1);
	assert_int_equal(pgt_unmap(&v->pt, 0, 1ULL << 47), 0);	/* whole lower half */
	env_free(v);
}

/* Both ends of an unmap inside different large pages: both are split. */
static void test_unmap_edges(void **state)
{
	struct env *v = env_new();
	uint64_t va = 8 * G1, pa = 0x10000000ULL, bits = PTE_P | PTE_W;

	(void)state;
	assert_int_equal(pgt_map(&v->pt, va, pa, 4 * M2, PTE_W, 0), 0);
	assert_int_equal(pgt_unmap(&v->pt, va + M2 - K4, M2 + 2 * K4), 0);
	expect(v, va, pa, 1, bits);
	expect(v, va + M2 - 2 * K4, pa + M2 - 2 * K4, 1, bits);
	for (uint64_t a = va + M2 - K4; a < va + 2 * M2 + K4; a += 0x3000)
		expect_none(v, a);
	expect_none(v, va + 2 * M2);
	expect(v, va + 2 * M2 + K4, pa + 2 * M2 + K4, 1, bits);
	expect(v, va + 3 * M2 - 1, pa + 3 * M2 - 1, 1, bits);
	expect(v, va + 3 * M2, pa + 3 * M2, 2, bits);
	assert_int_equal(pgt_count_tables(&v->pt), 5);
	check_tables(v);
	env_free(v);
}

static void test_protect_across_leaves(void **state)
{
	struct env *v = env_new();
	uint64_t va = 0x40000000ULL;	/* 2 MiB leaves, then 4 KiB ones */
	uint64_t s = va + M2 - 2 * K4, e = va + 2 * M2 + 3 * K4;

	(void)state;
	assert_int_equal(pgt_map(&v->pt, va, va, 3 * M2, PTE_W | PTE_NX, 0), 0);
	assert_int_equal(pgt_map(&v->pt, va + 3 * M2, va + 3 * M2, 4 * K4, PTE_W, 0), 0);
	assert_int_equal(pgt_protect(&v->pt, s, e - s, PTE_W, PTE_U), 0);
	expect(v, s - K4, s - K4, 1, PTE_P | PTE_W | PTE_NX);
	expect(v, s, s, 1, PTE_P | PTE_U | PTE_NX);
	expect(v, va + M2, va + M2, 2, PTE_P | PTE_U | PTE_NX);	/* wholly inside */
	expect(v, e - 1, e - 1, 1, PTE_P | PTE_U | PTE_NX);
	expect(v, e, e, 1, PTE_P | PTE_W | PTE_NX);
	expect(v, va, va, 1, PTE_P | PTE_W | PTE_NX);	/* split: s is inside its 2M page */
	expect(v, va + 2 * M2 + M2 - 1, va + 3 * M2 - 1, 1, PTE_P | PTE_W | PTE_NX);
	/* a whole large page keeps its size */
	assert_int_equal(pgt_protect(&v->pt, va, M2 / 2, 0, PTE_PCD), 0);
	expect(v, va + M2 / 2, va + M2 / 2, 1, PTE_P | PTE_W | PTE_NX);
	assert_int_equal(pgt_map(&v->pt, 8 * M2, 8 * M2, M2, 0, 0), 0);
	assert_int_equal(pgt_protect(&v->pt, 8 * M2, M2, 0, PTE_W), 0);
	expect(v, 8 * M2 + 5, 8 * M2 + 5, 2, PTE_P | PTE_W);
	/* holes are skipped; the unmapped page stays unmapped */
	assert_int_equal(pgt_protect(&v->pt, va + 3 * M2, 8 * K4, PTE_W, 0), 0);
	expect(v, va + 3 * M2, va + 3 * M2, 1, PTE_P);
	expect_none(v, va + 3 * M2 + 4 * K4);
	check_tables(v);
	env_free(v);
}

static void test_pat_bit_moves(void **state)
{
	struct env *v = env_new();
	uint64_t raw = 0;
	const uint64_t *pd;

	(void)state;
	assert_int_equal(pgt_map(&v->pt, M2, 4 * M2, M2, PAT4K | PTE_PWT, 0), 0);
	expect(v, M2 + 0x10, 4 * M2 + 0x10, 2, PTE_P | PTE_PWT | PAT4K);
	/* the raw PDE has PS and PAT at bit 12 */
	{
		const uint64_t *pml4 = fp_virt(&v->fp, v->pt.root_pa);
		const uint64_t *pdpt = fp_virt(&v->fp, pml4[0] & PTE_ADDR_MASK);

		pd = fp_virt(&v->fp, pdpt[0] & PTE_ADDR_MASK);
		raw = pd[1];
	}
	assert_int_equal(raw, 4 * M2 | (1ULL << 12) | PTE_PS | PTE_PWT | PTE_P);
	/* split: 4 KiB leaves have PAT at bit 7 and no PS */
	assert_int_equal(pgt_protect(&v->pt, M2 + K4, K4, PTE_PWT, 0), 0);
	expect(v, M2, 4 * M2, 1, PTE_P | PTE_PWT | PAT4K);
	expect(v, M2 + K4, 4 * M2 + K4, 1, PTE_P | PAT4K);
	/* with PAT moved back by protect, no stray bits */
	assert_int_equal(pgt_protect(&v->pt, M2, M2, PAT4K, 0), 0);
	expect(v, M2 + 2 * K4, 4 * M2 + 2 * K4, 1, PTE_P | PTE_PWT);
	env_free(v);
}

static void test_replace(void **state)
{
	struct env *v = env_new();
	uint64_t before;

	(void)state;
	/* 4 KiB pages replaced by a 2 MiB page: the page table is freed */
	assert_int_equal(pgt_map(&v->pt, 0, 0x100000, M2, PTE_W, 0), 0);
	before = pgt_count_tables(&v->pt);
	assert_int_equal(before, 4);
	assert_int_equal(pgt_map(&v->pt, 0, 0x400000, M2, 0, PGT_REPLACE), 0);
	assert_int_equal(pgt_count_tables(&v->pt), 3);
	assert_int_equal(outstanding(v), 3);
	expect(v, 0x1234, 0x401234, 2, PTE_P);
	/* a 4 KiB mapping inside a 1 GiB page splits it; the rest keeps its mapping */
	assert_int_equal(pgt_map(&v->pt, G1, 0, G1, PTE_W, 0), 0);
	assert_int_equal(pgt_map(&v->pt, G1 + 7 * M2 + 3 * K4, 0xabc000, K4, PTE_NX,
				 PGT_REPLACE), 0);
	expect(v, G1 + 7 * M2 + 3 * K4 + 1, 0xabc001, 1, PTE_P | PTE_NX);
	expect(v, G1 + 7 * M2 + 2 * K4, 7 * M2 + 2 * K4, 1, PTE_P | PTE_W);
	expect(v, G1 + 7 * M2 + 4 * K4, 7 * M2 + 4 * K4, 1, PTE_P | PTE_W);
	expect(v, G1 + 8 * M2, 8 * M2, 2, PTE_P | PTE_W);
	expect(v, G1, 0, 2, PTE_P | PTE_W);
	/* and back to one 1 GiB page: the split tables are freed */
	assert_int_equal(pgt_map(&v->pt, G1, 0, G1, PTE_W, PGT_REPLACE), 0);
	expect(v, G1 + 7 * M2 + 3 * K4, 7 * M2 + 3 * K4, 3, PTE_P | PTE_W);
	check_tables(v);
	assert_int_equal(pgt_count_tables(&v->pt), 3);
	env_free(v);
}

/* Raw entries: an owner's non-present value in a 4 KiB entry, and clearing bits of a leaf. */
static void test_raw_entries(void **state)
{
	struct env *v = env_new();
	const uint64_t mine = (1ULL << 53) | (42ULL << 12);	/* P clear: not present */
	uint64_t e, old;
	unsigned level;

	(void)state;
	assert_int_equal(pgt_map(&v->pt, 0, 0x100000, 2 * K4, PTE_W, PGT_4K), 0);
	assert_int_equal(pgt_entry_get(&v->pt, K4, &e, &level), 0);
	assert_int_equal(level, 1);
	assert_true(e & PTE_P);
	assert_int_equal(pgt_entry_set_absent(&v->pt, K4, mine), 0);
	assert_int_equal(pgt_entry_get(&v->pt, K4, &e, &level), 0);
	assert_true(e == mine && level == 1);
	assert_int_equal(pgt_lookup(&v->pt, K4, NULL, NULL, NULL), -ENOENT);
	expect(v, 0, 0x100000, 1, PTE_P | PTE_W);	/* its neighbour is untouched */
	/* a present value is refused; so is an address whose walk stops above level 1 */
	assert_err(v, pgt_entry_set_absent(&v->pt, K4, 0x5000 | PTE_P), -EINVAL, "is present");
	assert_err(v, pgt_entry_set_absent(&v->pt, G1, mine), -ENOENT, "no 4 KiB entry");
	/* unmapping its only mapped neighbour keeps the table, and the value in it */
	assert_int_equal(pgt_unmap(&v->pt, 0, K4), 0);
	assert_int_equal(pgt_entry_get(&v->pt, K4, &e, &level), 0);
	assert_true(e == mine && level == 1);
	check_tables(v);
	/* an unmap over it clears it; then the emptied tables go */
	assert_int_equal(pgt_unmap(&v->pt, 0, 2 * K4), 0);
	assert_int_equal(pgt_entry_get(&v->pt, K4, &e, &level), 0);
	assert_int_equal(e, 0);
	assert_int_equal(pgt_count_tables(&v->pt), 1);
	check_tables(v);
	assert_int_equal(pgt_map(&v->pt, 0, 0x100000, K4, PTE_W, PGT_4K), 0);
	assert_int_equal(pgt_entry_set_absent(&v->pt, K4, mine), 0);
	/* a mapping goes over the owner's value */
	assert_int_equal(pgt_map(&v->pt, K4, 0x200000, K4, PTE_W, 0), 0);
	expect(v, K4, 0x200000, 1, PTE_P | PTE_W);
	/* clearing bits of a present leaf, atomically; not of a hole, not P */
	assert_int_equal(pgt_leaf_clear_bits(&v->pt, K4, PTE_W, &old), 0);
	assert_true(old & PTE_W);
	expect(v, K4, 0x200000, 1, PTE_P);
	assert_int_equal(pgt_leaf_clear_bits(&v->pt, 5 * K4, PTE_W, &old), -ENOENT);
	assert_int_equal(pgt_leaf_clear_bits(&v->pt, K4, PTE_P, &old), -EINVAL);
	check_tables(v);
	env_free(v);
}

static void test_destroy_frees_all(void **state)
{
	struct env *v = env_new();

	(void)state;
	assert_int_equal(pgt_map(&v->pt, 0, 0, 3 * M2 + 16 * K4, PTE_W, PGT_4K), 0);
	assert_int_equal(pgt_map(&v->pt, 0xffffff8000000000ULL, 0, 2 * G1, PTE_W, 0), 0);
	assert_int_equal(pgt_map(&v->pt, 0x5000000000ULL, 0, 5 * K4, PTE_W, 0), 0);
	assert_true(outstanding(v) > 8);
	check_tables(v);
	env_free(v);	/* asserts every page came back */
}

/* Fail the n-th allocation of a map: nothing visible, nothing leaked. */
static void test_enomem_map(void **state)
{
	(void)state;
	for (long n = 0; n < 8; n++) {
		struct env *v = env_new();
		uint64_t va = 0x8000000000ULL, size = 2 * M2 + 8 * K4;	/* spans two PML4Es */
		long before;
		int ret;

		assert_int_equal(pgt_map(&v->pt, 0x1000, 0x1000, K4, PTE_W, 0), 0);
		before = outstanding(v);
		v->fp.fail_after = n;
		ret = pgt_map(&v->pt, va - 4 * K4, 0x10000000 - 4 * K4, size, PTE_W, 0);
		v->fp.fail_after = -1;
		if (ret == 0) {
			assert_true(n >= 5);	/* PD, PT below PML4E 0; PDPT, PD, PT below 1 */
			expect(v, va, 0x10000000, 2, PTE_P | PTE_W);
			env_free(v);
			continue;
		}
		assert_true(n < 5);
		assert_err(v, ret, -ENOMEM, "out of table pages");
		assert_int_equal(outstanding(v), before);
		for (uint64_t a = va - 4 * K4; a < va - 4 * K4 + size; a += K4)
			expect_none(v, a);
		expect(v, 0x1000, 0x1000, 1, PTE_P | PTE_W);
		check_tables(v);
		env_free(v);
	}
}

/* -ENOMEM while replacing inside a 1 GiB page: old translation intact, no leak. */
static void test_enomem_replace_and_unmap(void **state)
{
	struct env *v = env_new();
	long before;

	(void)state;
	assert_int_equal(pgt_map(&v->pt, G1, 0, G1, PTE_W, 0), 0);
	before = outstanding(v);
	v->fp.fail_after = 1;	/* the 1 GiB split succeeds, the 2 MiB one fails */
	assert_err(v, pgt_map(&v->pt, G1 + M2 + K4, 0x9000, K4, 0, PGT_REPLACE), -ENOMEM,
		   "out of table pages");
	v->fp.fail_after = -1;
	for (uint64_t a = G1; a < 2 * G1; a += 0x1ff000)
		expect(v, a, a - G1, 2, PTE_P | PTE_W);
	expect(v, G1 + M2 + K4, M2 + K4, 2, PTE_P | PTE_W);
	assert_int_equal(outstanding(v), before + 1);	/* the split table, in use */
	check_tables(v);

	v->fp.fail_after = 0;
	assert_err(v, pgt_unmap(&v->pt, G1 + 3 * M2 + K4, K4), -ENOMEM, "split");
	assert_err(v, pgt_protect(&v->pt, G1 + 3 * M2 + K4, K4, PTE_W, 0), -ENOMEM, "split");
	v->fp.fail_after = -1;
	expect(v, G1 + 3 * M2 + K4, 3 * M2 + K4, 2, PTE_P | PTE_W);
	check_tables(v);
	env_free(v);
}

struct walk_log {
	uint64_t va[16];
	unsigned level[16];
	unsigned n, stop_at;
};

static int log_visit(void *ctx, uint64_t va, unsigned level, uint64_t e, bool leaf)
{
	struct walk_log *w = ctx;

	(void)e;
	if (!leaf)
		return 0;
	if (w->n < 16) {
		w->va[w->n] = va;
		w->level[w->n] = level;
	}
	return ++w->n == w->stop_at ? 42 : 0;
}

static void test_canonical_high(void **state)
{
	struct env *v = env_new();
	struct walk_log w = { .stop_at = 0 };

	(void)state;
	assert_int_equal(pgt_map(&v->pt, 0xffff800000000000ULL, 0, M2, PTE_W, 0), 0);
	assert_int_equal(pgt_map(&v->pt, 0xffffffffc0000000ULL, G1, G1, PTE_W, 0), 0);
	assert_int_equal(pgt_map(&v->pt, 0xffffffff80000000ULL, 0x100000, K4, 0, 0), 0);
	assert_int_equal(pgt_map(&v->pt, 0x1000, 0x2000, K4, 0, 0), 0);
	expect(v, 0xffff800000000000ULL + 0x1234, 0x1234, 2, PTE_P | PTE_W);
	expect(v, 0xffffffffffffffffULL, 2 * G1 - 1, 3, PTE_P | PTE_W);
	expect(v, 0xffffffff80000fffULL, 0x100fff, 1, PTE_P);
	expect_none(v, 0xffff800000200000ULL);
	expect_none(v, 0x0000000000000000ULL);
	/* the low alias of a high address is a different mapping */
	expect_none(v, 0x0000800000000000ULL - K4);
	assert_int_equal(pgt_lookup(&v->pt, 0x0000800000000000ULL, NULL, NULL, NULL), -EINVAL);
	/* the walk reports sign-extended addresses, in order */
	assert_int_equal(pgt_walk(&v->pt, log_visit, &w), 0);
	assert_int_equal(w.n, 4);
	assert_int_equal(w.va[0], 0x1000);
	assert_int_equal(w.va[1], 0xffff800000000000ULL);
	assert_int_equal(w.level[1], 2);
	assert_int_equal(w.va[2], 0xffffffff80000000ULL);
	assert_int_equal(w.va[3], 0xffffffffc0000000ULL);
	assert_int_equal(w.level[3], 3);
	w = (struct walk_log){ .stop_at = 2 };
	assert_int_equal(pgt_walk(&v->pt, log_visit, &w), 42);
	assert_int_equal(w.n, 2);
	/* the top of the address space unmaps cleanly */
	assert_int_equal(pgt_unmap(&v->pt, 0xfffffffffffff000ULL, K4), 0);
	expect_none(v, 0xfffffffffffff000ULL);
	expect(v, 0xffffffffffffefffULL, 2 * G1 - K4 - 1, 1, PTE_P | PTE_W);
	assert_int_equal(pgt_unmap(&v->pt, 0xffff800000000000ULL, 1ULL << 47), 0);
	assert_int_equal(pgt_count_tables(&v->pt), 4);	/* only 0x1000 remains */
	check_tables(v);
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_leaf_choice),
		cmocka_unit_test(test_max_leaf_level),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_unmap_split_1g),
		cmocka_unit_test(test_unmap_edges),
		cmocka_unit_test(test_protect_across_leaves),
		cmocka_unit_test(test_pat_bit_moves),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_raw_entries),
		cmocka_unit_test(test_destroy_frees_all),
		cmocka_unit_test(test_enomem_map),
		cmocka_unit_test(test_enomem_replace_and_unmap),
		cmocka_unit_test(test_canonical_high),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
