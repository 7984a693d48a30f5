/*
 * Unit tests for the EPT builder (vmm/ept.c) on the shared walker
 * (vmkernel/mm/pgtable.c): EPTP and entry encodings, the misconfiguration
 * checks, and a random sequence of operations compared against a shadow
 * model, with allocation failures injected.
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

#define K4		0x1000ULL
#define M2		0x200000ULL
#define G1		0x40000000ULL

struct env {
	struct fake_pool fp;
	struct pgt_pool pool;
	struct ept e;
};

static struct env *env_new(bool has_2m, bool has_1g, bool has_ad)
{
	struct env *v = calloc(1, sizeof(*v));

	assert_non_null(v);
	v->fp.fail_after = -1;
	v->pool = (struct pgt_pool){ &v->fp, fp_alloc, fp_free, fp_virt };
	assert_int_equal(ept_init(&v->e, &v->pool, has_2m, has_1g, has_ad), 0);
	return v;
}

static long outstanding(const struct env *v)
{
	return v->fp.allocs - v->fp.frees;
}

static void env_free(struct env *v)
{
	ept_destroy(&v->e);
	assert_int_equal(outstanding(v), 0);
	free(v);
}

/* Every non-root table holds at least one present entry. */
static int nonempty_visit(void *ctx, uint64_t va, unsigned level, uint64_t e, bool leaf)
{
	struct env *v = ctx;
	const uint64_t *t;
	unsigned i;

	(void)level;
	if (leaf)
		return 0;
	t = fp_virt(&v->fp, e & EPT_ADDR_MASK);
	for (i = 0; i < 512 && !(t[i] & EPT_RWX); i++)
		;
	if (i == 512)
		fail_msg("empty table below gpa 0x%llx", (unsigned long long)va);
	return 0;
}

static void check_ok(struct env *v)
{
	char why[160];

	if (ept_check(&v->e, why, sizeof(why)))
		fail_msg("ept_check: %s", why);
	assert_int_equal(pgt_walk(&v->e.pt, nonempty_visit, v), 0);
	assert_int_equal((long)pgt_count_tables(&v->e.pt), outstanding(v));
}

static void assert_err(struct env *v, int ret, int want, const char *text)
{
	assert_int_equal(ret, want);
	if (!strstr(v->e.pt.err, text))
		fail_msg("error \"%s\" does not mention \"%s\"", v->e.pt.err, text);
}

/* The raw leaf entry that maps gpa, found by walking the pool's pages. */
static uint64_t *raw_ptr(struct env *v, uint64_t gpa, unsigned *level)
{
	uint64_t *t = fp_virt(&v->fp, v->e.pt.root_pa);

	for (unsigned l = 4;; l--) {
		uint64_t *p = &t[(gpa >> PGT_LEVEL_SHIFT(l)) & 511];

		if (!(*p & EPT_RWX))
			fail_msg("gpa 0x%llx not mapped", (unsigned long long)gpa);
		if (l == 1 || (*p & EPT_LARGE_PAGE)) {
			if (level)
				*level = l;
			return p;
		}
		t = fp_virt(&v->fp, *p & EPT_ADDR_MASK);
	}
}

static uint64_t raw_leaf(struct env *v, uint64_t gpa, unsigned *level)
{
	return *raw_ptr(v, gpa, level);
}

static void test_eptp(void **state)
{
	struct env *v = env_new(true, true, true);
	struct env *w = env_new(true, false, false);
	uint64_t root = v->e.pt.root_pa;

	(void)state;
	assert_int_equal(ept_eptp(&v->e, EPT_MT_WB), root | 6 | (3 << 3) | (1 << 6));
	assert_int_equal(ept_eptp(&v->e, EPT_MT_UC), root | (3 << 3) | (1 << 6));
	assert_int_equal(ept_eptp(&v->e, EPT_MT_WC), 0);
	assert_int_equal(ept_eptp(&v->e, 7), 0);
	assert_int_equal(ept_eptp(&w->e, EPT_MT_WB), w->e.pt.root_pa | 0x1e);
	assert_int_equal(ept_eptp(NULL, EPT_MT_WB), 0);
	assert_true(root != 0 && !(root & 0xfff));
	assert_int_equal(v->e.max_leaf_level, 3);
	assert_int_equal(w->e.max_leaf_level, 2);
	env_free(w);
	env_free(v);
	assert_int_equal(EPTP_WALK_LENGTH_4, 0x18);
}

static void test_encoding(void **state)
{
	struct env *v = env_new(true, true, false);
	static const unsigned mts[] = { EPT_MT_UC, EPT_MT_WC, EPT_MT_WT, EPT_MT_WP, EPT_MT_WB };
	uint64_t hpa, size;
	unsigned perms, mt, level;

	(void)state;
	for (unsigned i = 0; i < 5; i++) {
		uint64_t gpa = i * 0x10000;

		assert_int_equal(ept_map(&v->e, gpa, 0x7000 + gpa, K4, EPT_R | EPT_X, mts[i]), 0);
		assert_int_equal(raw_leaf(v, gpa, &level), (0x7000 + gpa) | 5 | (mts[i] << 3));
		assert_int_equal(level, 1);
		assert_int_equal(ept_lookup(&v->e, gpa + 0x10, &hpa, &perms, &mt, &size), 0);
		assert_int_equal(hpa, 0x7010 + gpa);
		assert_int_equal(perms, EPT_R | EPT_X);
		assert_int_equal(mt, mts[i]);
		assert_int_equal(size, K4);
	}
	/* 2 MiB leaf with ignore-PAT */
	assert_int_equal(ept_map(&v->e, M2, 4 * M2, M2, EPT_R | EPT_W,
				 EPT_MT_WB | EPT_MEMTYPE_IGNORE_PAT), 0);
	assert_int_equal(raw_leaf(v, M2, &level),
			 4 * M2 | EPT_READ | EPT_WRITE | (6 << 3) | EPT_IGNORE_PAT |
			 EPT_LARGE_PAGE);
	assert_int_equal(level, 2);
	assert_int_equal(ept_lookup(&v->e, M2 + 0x1234, &hpa, &perms, &mt, &size), 0);
	assert_int_equal(hpa, 4 * M2 + 0x1234);
	assert_int_equal(perms, EPT_R | EPT_W);
	assert_int_equal(mt, EPT_MT_WB | EPT_MEMTYPE_IGNORE_PAT);
	assert_int_equal(size, M2);
	/* 1 GiB leaf; table entries carry R|W|X */
	assert_int_equal(ept_map(&v->e, G1, 0, G1, EPT_R | EPT_W | EPT_X, EPT_MT_WB), 0);
	assert_int_equal(raw_leaf(v, G1 + 5, &level), EPT_RWX | (6 << 3) | EPT_LARGE_PAGE);
	assert_int_equal(level, 3);
	{
		const uint64_t *pml4 = fp_virt(&v->fp, v->e.pt.root_pa);

		assert_int_equal(pml4[0] & 0xfff, EPT_RWX);
	}
	assert_int_equal(ept_lookup(&v->e, 3 * G1, NULL, NULL, NULL, NULL), -ENOENT);
	assert_int_equal(ept_lookup(&v->e, 1ULL << 48, NULL, NULL, NULL, NULL), -EINVAL);
	check_ok(v);
	env_free(v);
}

static void test_rejects(void **state)
{
	struct env *v = env_new(true, true, false);
	struct ept *e = &v->e;

	(void)state;
	assert_err(v, ept_map(e, 0, 0, K4, EPT_W, EPT_MT_WB), -EINVAL, "write without read");
	assert_err(v, ept_map(e, 0, 0, K4, EPT_W | EPT_X, EPT_MT_WB), -EINVAL,
		   "write without read");
	assert_err(v, ept_map(e, 0, 0, K4, EPT_X, EPT_MT_WB), -EINVAL, "execute-only");
	assert_err(v, ept_map(e, 0, 0, K4, 0, EPT_MT_WB), -EINVAL, "bad permissions");
	assert_err(v, ept_map(e, 0, 0, K4, EPT_R | 8, EPT_MT_WB), -EINVAL, "bad permissions");
	for (unsigned mt = 2; mt <= 7; mt += (mt == 3 ? 4 : 1))
		assert_err(v, ept_map(e, 0, 0, K4, EPT_R, mt), -EINVAL, "reserved memory type");
	assert_err(v, ept_map(e, 0, 0, K4, EPT_R, 0x200), -EINVAL, "reserved memory type");
	assert_err(v, ept_map(e, 0x800, 0, K4, EPT_R, EPT_MT_WB), -EINVAL, "aligned");
	assert_err(v, ept_map(e, 1ULL << 48, 0, K4, EPT_R, EPT_MT_WB), -EINVAL, "48-bit");
	assert_err(v, ept_map(e, (1ULL << 48) - K4, 0, 2 * K4, EPT_R, EPT_MT_WB), -EINVAL,
		   "48-bit");
	/* the top page of the guest-physical space is fine */
	assert_int_equal(ept_map(e, (1ULL << 48) - K4, 0, K4, EPT_R, EPT_MT_WB), 0);
	/* MAXPHYADDR from the CPU */
	e->rules.maxphyaddr = 39;
	assert_err(v, ept_map(e, 0, (1ULL << 39) - K4, 2 * K4, EPT_R, EPT_MT_WB), -EINVAL,
		   "MAXPHYADDR 39");
	assert_int_equal(ept_map(e, 0, (1ULL << 39) - K4, K4, EPT_R, EPT_MT_WB), 0);
	/* execute-only where the CPU has it */
	e->rules.exec_only = true;
	assert_int_equal(ept_map(e, K4, 0x9000, K4, EPT_X, EPT_MT_WB), 0);
	check_ok(v);
	e->rules.exec_only = false;
	{
		char why[160];

		assert_int_equal(ept_check(e, why, sizeof(why)), -EINVAL);
		assert_non_null(strstr(why, "gpa 0x1000"));
		assert_non_null(strstr(why, "execute-only"));
	}
	/* protect may not create W without R, or X-only on a CPU without it, or nothing */
	assert_int_equal(ept_map(e, M2, M2, 4 * K4, EPT_R | EPT_W, EPT_MT_WB), 0);
	assert_err(v, ept_protect(e, M2, 4 * K4, EPT_R, 0), -EINVAL, "write without read");
	assert_err(v, ept_protect(e, M2, 4 * K4, EPT_R | EPT_W, EPT_X), -EINVAL,
		   "execute-only");
	assert_err(v, ept_protect(e, M2, 4 * K4, EPT_R | EPT_W, 0), -EINVAL, "not be present");
	assert_err(v, ept_protect(e, M2, K4, 0, 0x10), -EINVAL, "bad permissions");
	assert_err(v, ept_protect(e, 0, 2 * K4, 0, EPT_W), -EINVAL,
		   "protect va 0x1000: write without read");
	{
		unsigned perms;

		assert_int_equal(ept_lookup(e, M2 + 3 * K4, NULL, &perms, NULL, NULL), 0);
		assert_int_equal(perms, EPT_R | EPT_W);
	}
	assert_err(v, ept_map(e, M2 + K4, 0, K4, EPT_R, EPT_MT_WB), -EEXIST, "already mapped");
	assert_int_equal(ept_unmap(e, K4, K4), 0);
	check_ok(v);
	env_free(v);
}

static void test_page_size_caps(void **state)
{
	static const struct {
		bool has_2m, has_1g;
		uint64_t want;
	} cases[] = {
		{ true, true, G1 }, { true, false, M2 }, { false, false, K4 }, { false, true, K4 },
	};

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		struct env *v = env_new(cases[i].has_2m, cases[i].has_1g, false);
		uint64_t size, hpa;

		assert_int_equal(ept_map(&v->e, G1, 2 * G1, G1, EPT_R | EPT_W, EPT_MT_WB), 0);
		assert_int_equal(ept_lookup(&v->e, G1 + G1 / 2 + 8, &hpa, NULL, NULL, &size), 0);
		assert_int_equal(size, cases[i].want);
		assert_int_equal(hpa, 2 * G1 + G1 / 2 + 8);
		check_ok(v);
		env_free(v);
	}
}

static void expect_page(struct env *v, uint64_t gpa, uint64_t hpa, unsigned perms,
			uint64_t size)
{
	uint64_t got_hpa, got_size;
	unsigned got_perms, mt;

	assert_int_equal(ept_lookup(&v->e, gpa, &got_hpa, &got_perms, &mt, &got_size), 0);
	if (got_hpa != hpa || got_perms != perms || got_size != size || mt != EPT_MT_WB)
		fail_msg("gpa 0x%llx: hpa 0x%llx perms %u size 0x%llx mt %u",
			 (unsigned long long)gpa,
			 (unsigned long long)got_hpa, got_perms, (unsigned long long)got_size, mt);
}

static void test_cow_protect(void **state)
{
	struct env *v = env_new(true, true, true);
	struct ept *e = &v->e;
	const uint64_t hpa = 0x80000000ULL, ad = EPT_ACCESSED | EPT_DIRTY;
	const unsigned rwx = EPT_R | EPT_W | EPT_X;
	uint64_t bits;

	(void)state;
	assert_int_equal(ept_map(e, 0, hpa, 4 * M2, rwx, EPT_MT_WB), 0);
	*raw_ptr(v, M2, NULL) |= ad;	/* as the CPU would with A/D enabled */
	assert_int_equal(ept_protect(e, M2 + 5 * K4, K4, EPT_W, 0), 0);
	expect_page(v, M2 + 5 * K4 + 8, hpa + M2 + 5 * K4 + 8, EPT_R | EPT_X, K4);
	expect_page(v, M2 + 4 * K4, hpa + M2 + 4 * K4, rwx, K4);
	expect_page(v, M2 + 6 * K4, hpa + M2 + 6 * K4, rwx, K4);
	expect_page(v, 2 * M2 - 1, hpa + 2 * M2 - 1, rwx, K4);
	expect_page(v, 0, hpa, rwx, M2);
	expect_page(v, 2 * M2, hpa + 2 * M2, rwx, M2);
	/* the split kept the accessed/dirty bits */
	assert_int_equal(pgt_lookup(&e->pt, M2 + 7 * K4, NULL, &bits, NULL), 0);
	assert_int_equal(bits & ad, ad);
	assert_int_equal(pgt_lookup(&e->pt, 0, NULL, &bits, NULL), 0);
	assert_int_equal(bits & ad, 0);
	/* write-protect everything: large pages stay large */
	assert_int_equal(ept_protect(e, 0, 4 * M2, EPT_W, 0), 0);
	expect_page(v, 3 * M2 + 5, hpa + 3 * M2 + 5, EPT_R | EPT_X, M2);
	expect_page(v, M2 + 9 * K4, hpa + M2 + 9 * K4, EPT_R | EPT_X, K4);
	/* copy-on-write done: the page is replaced by a private copy */
	assert_int_equal(ept_remap(e, M2 + 5 * K4, 0x1234000, K4, rwx, EPT_MT_WB), 0);
	expect_page(v, M2 + 5 * K4, 0x1234000, rwx, K4);
	expect_page(v, M2 + 4 * K4, hpa + M2 + 4 * K4, EPT_R | EPT_X, K4);
	check_ok(v);
	env_free(v);
}

static void test_validate_entry(void **state)
{
	const struct ept_rules all = { true, true, false, 46 };
	const struct ept_rules no_large = { false, false, false, 0 };
	const struct ept_rules xo = { true, true, true, 46 };
	const uint64_t wb = 6 << 3, r = EPT_READ, w = EPT_WRITE, x = EPT_EXECUTE;
	const uint64_t ps = EPT_LARGE_PAGE;
	static const char *ok = NULL;
	const struct {
		uint64_t entry;
		unsigned level;
		const struct ept_rules *rules;
		const char *why;	/* NULL: valid */
	} cases[] = {
		{ 0, 1, &all, ok },
		{ 0xfff8 | EPT_SUPPRESS_VE, 4, &all, ok },		/* not present */
		{ 0x1000 | r | wb, 1, &all, ok },
		{ 0x1000 | r | w | x | wb | ps | EPT_ACCESSED | EPT_DIRTY | EPT_SUPPRESS_VE, 1,
		  &all, ok },				/* bit 7 ignored in a PTE */
		{ 0x1000 | w | wb, 1, &all, "PTE: write without read" },
		{ 0x1000 | w | x, 4, &all, "PML4E: write without read" },
		{ 0x1000 | x | wb, 1, &all, "PTE: execute-only, not supported" },
		{ 0x1000 | x | wb, 1, &xo, ok },
		{ 0x1000 | x, 3, &xo, ok },				/* table reference */
		{ 0x1000 | r | (2 << 3), 1, &all, "PTE: reserved memory type 2" },
		{ 0x1000 | r | (3 << 3), 1, &all, "reserved memory type 3" },
		{ 0x1000 | r | (7 << 3), 1, &all, "reserved memory type 7" },
		{ M2 | r | (7 << 3) | ps, 2, &all, "PDE: reserved memory type 7" },
		{ G1 | r | (2 << 3) | ps, 3, &all, "PDPTE: reserved memory type 2" },
		{ (1ULL << 46) | r | wb, 1, &all, "reserved address bits 51:46" },
		{ (1ULL << 51) | r, 4, &no_large, ok },			/* MAXPHYADDR 52 */
		{ (1ULL << 50) | r | wb, 1, &no_large, ok },		/* MAXPHYADDR 52 */
		{ 0x1000 | r | ps, 4, &all, "PML4E: large-page bit set" },
		{ 0x1000 | r | (1 << 3), 4, &all, "PML4E: reserved bits 7:3" },
		{ 0x1000 | r | EPT_IGNORE_PAT, 2, &all, "PDE: reserved bits 7:3" },
		{ 0x1000 | r | x | (6 << 3), 3, &all, "PDPTE: reserved bits 7:3" },
		{ 0x1000 | r | EPT_ACCESSED | EPT_USER_EXECUTE, 3, &all, ok },
		{ G1 | r | wb | ps, 3, &all, ok },
		{ G1 | r | wb | ps, 3, &no_large, "PDPTE: 1 GiB page, not supported" },
		{ M2 | r | wb | ps, 2, &no_large, "PDE: 2 MiB page, not supported" },
		{ G1 | 0x1000 | r | wb | ps, 3, &all, "reserved bits 29:12" },
		{ M2 | 0x100000 | r | wb | ps, 2, &all, "reserved bits 20:12" },
		{ 0x1000 | r, 0, &all, "level 0 out of range" },
		{ 0x1000 | r, 5, &all, "level 5 out of range" },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char why[96] = "";
		int ret = ept_validate_entry(cases[i].entry, cases[i].level, cases[i].rules, why,
					     sizeof(why));

		if (!cases[i].why && ret)
			fail_msg("case %u: unexpected \"%s\"", i, why);
		if (cases[i].why && (ret != -EINVAL || !strstr(why, cases[i].why)))
			fail_msg("case %u: %d \"%s\", want \"%s\"", i, ret, why, cases[i].why);
	}
	assert_int_equal(ept_validate_entry(0x1000 | EPT_WRITE, 1, &all, NULL, 0), -EINVAL);
	assert_int_equal(ept_validate_entry(0x1000 | EPT_READ, 1, NULL, NULL, 0), -EINVAL);
}

static void test_check_finds_corruption(void **state)
{
	struct env *v = env_new(true, true, false);
	uint64_t *p, saved;
	char why[160];

	(void)state;
	assert_int_equal(ept_map(&v->e, 0x7000, 0x3000, K4, EPT_R | EPT_W, EPT_MT_WB), 0);
	assert_int_equal(ept_map(&v->e, 3 * G1, 0, G1, EPT_R, EPT_MT_UC), 0);
	check_ok(v);
	p = raw_ptr(v, 0x7000, NULL);
	saved = *p;
	*p = (saved & ~EPT_READ);
	assert_int_equal(ept_check(&v->e, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "gpa 0x7000"));
	assert_non_null(strstr(why, "write without read"));
	*p = saved | (7 << 3);
	assert_int_equal(ept_check(&v->e, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "reserved memory type 7"));
	*p = saved;
	v->e.rules.has_1g = false;	/* as if the tables moved to a CPU without 1 GiB pages */
	assert_int_equal(ept_check(&v->e, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "gpa 0xc0000000"));
	assert_non_null(strstr(why, "1 GiB page"));
	v->e.rules.has_1g = true;
	check_ok(v);
	env_free(v);
}

/* ---- random operations against a shadow model ---- */

#define SHADOW_PAGES	4096		/* gpa [0, 16 MiB) */

struct shadow {
	bool mapped[SHADOW_PAGES];
	uint64_t hpa[SHADOW_PAGES];
	unsigned perms[SHADOW_PAGES], mt[SHADOW_PAGES];
};

static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % n;
}

static bool perms_valid(unsigned p, bool exec_only)
{
	if (!p || ((p & EPT_W) && !(p & EPT_R)))
		return false;
	return (p & EPT_R) || exec_only;
}

static bool mt_valid(unsigned mt)
{
	return mt != 2 && mt != 3 && mt != 7;
}

static void shadow_compare(struct env *v, const struct shadow *s, int op)
{
	for (unsigned i = 0; i < SHADOW_PAGES; i++) {
		uint64_t hpa = 0, size;
		unsigned perms = 0, mt = 0;
		int ret = ept_lookup(&v->e, i * K4 + 0x10, &hpa, &perms, &mt, &size);

		if (!s->mapped[i] && ret == -ENOENT)
			continue;
		if (s->mapped[i] && !ret && hpa == s->hpa[i] + 0x10 && perms == s->perms[i] &&
		    mt == s->mt[i])
			continue;
		fail_msg("op %d page %u: lookup %d hpa 0x%llx perms %u mt %u; "
			 "shadow %d 0x%llx %u %u",
			 op, i, ret, (unsigned long long)hpa, perms, mt, s->mapped[i],
			 (unsigned long long)s->hpa[i], s->perms[i], s->mt[i]);
	}
}

/* The expected result of an operation on pages [first, first+n), applied to s if 0. */
static int shadow_apply(struct shadow *s, int kind, unsigned first, unsigned n, uint64_t hpa,
			unsigned perms, unsigned mt, unsigned clear, bool exec_only)
{
	unsigned i;

	if (kind <= 1 && (!perms_valid(perms, exec_only) || !mt_valid(mt)))
		return -EINVAL;
	for (i = first; kind == 0 && i < first + n; i++)
		if (s->mapped[i])
			return -EEXIST;
	for (i = first; kind == 3 && i < first + n; i++)
		if (s->mapped[i] && !perms_valid((s->perms[i] & ~clear) | perms, exec_only))
			return -EINVAL;
	for (i = first; i < first + n; i++) {
		if (kind <= 1) {
			s->mapped[i] = true;
			s->hpa[i] = hpa + (uint64_t)(i - first) * K4;
			s->perms[i] = perms;
			s->mt[i] = mt;
		} else if (kind == 2) {
			s->mapped[i] = false;
		} else if (s->mapped[i]) {
			s->perms[i] = (s->perms[i] & ~clear) | perms;
		}
	}
	return 0;
}

static int ept_apply(struct env *v, int kind, unsigned first, unsigned n, uint64_t hpa,
		     unsigned perms, unsigned mt, unsigned clear)
{
	uint64_t gpa = first * K4, size = n * K4;

	switch (kind) {
	case 0:
		return ept_map(&v->e, gpa, hpa, size, perms, mt);
	case 1:
		return ept_remap(&v->e, gpa, hpa, size, perms, mt);
	case 2:
		return ept_unmap(&v->e, gpa, size);
	default:
		return ept_protect(&v->e, gpa, size, clear, perms);
	}
}

static void random_run(uint64_t seed, bool exec_only, int ops)
{
	static const unsigned sizes[] = { 1, 2, 3, 7, 16, 511, 512, 513, 1024, 1500 };
	static const unsigned mts[] = { 0, 1, 4, 5, 6, 6, 6, 2 };
	struct env *v = env_new(true, true, false);
	struct shadow *s = calloc(1, sizeof(*s)), *copy = malloc(sizeof(*s));
	unsigned large = 0, results[5] = { 0 };

	assert_non_null(s);
	assert_non_null(copy);
	rng_state = seed;
	v->e.rules.exec_only = exec_only;
	for (int op = 0; op < ops; op++) {
		int kind = (int)rnd(4), want, got;
		unsigned first = (unsigned)(rnd(2) ? rnd(8) * 512 : rnd(SHADOW_PAGES));
		unsigned n = sizes[rnd(10)];
		uint64_t hpa = rnd(2) ? 0x100000000ULL + rnd(64) * M2 : rnd(1 << 20) * K4;
		unsigned perms = (unsigned)rnd(8), mt = mts[rnd(8)], clear = (unsigned)rnd(8);
		bool inject = rnd(4) == 0;

		if (first + n > SHADOW_PAGES)
			n = SHADOW_PAGES - first;
		memcpy(copy, s, sizeof(*s));
		want = shadow_apply(s, kind, first, n, hpa, perms, mt, clear, exec_only);
		v->fp.fail_after = inject ? (long)rnd(2) : -1;
		got = ept_apply(v, kind, first, n, hpa, perms, mt, clear);
		v->fp.fail_after = -1;
		if (got == -ENOMEM && inject && !want)
			memcpy(s, copy, sizeof(*s));	/* nothing changed */
		else if (got != want)
			fail_msg("op %d kind %d pages %u+%u perms %u mt %u clear %u: "
				 "%d, want %d (%s)",
				 op, kind, first, n, perms, mt, clear, got, want, v->e.pt.err);
		results[got == 0 ? 0 : got == -EEXIST ? 1 : got == -EINVAL ? 2 :
			got == -ENOMEM ? 3 : 4]++;
		shadow_compare(v, s, op);
		check_ok(v);
		for (unsigned i = 0; i < SHADOW_PAGES; i += 512) {
			uint64_t size;

			if (!ept_lookup(&v->e, i * K4, NULL, NULL, NULL, &size) && size == M2)
				large++;
		}
	}
	/* every outcome was exercised, 2 MiB leaves included */
	assert_true(large > 0);
	assert_true(results[0] > (unsigned)ops / 4 && results[1] && results[2] && results[3]);
	assert_int_equal(results[4], 0);
	free(s);
	free(copy);
	env_free(v);
}

static void test_random_vs_shadow(void **state)
{
	(void)state;
	random_run(0x9e3779b97f4a7c15ULL, false, 600);
	random_run(0x0123456789abcdefULL, true, 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eptp),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_page_size_caps),
		cmocka_unit_test(test_cow_protect),
		cmocka_unit_test(test_validate_entry),
		cmocka_unit_test(test_check_finds_corruption),
		cmocka_unit_test(test_random_vs_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
