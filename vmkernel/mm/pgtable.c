/*
 * The page-table walker shared by host paging and EPT.
 *
 * Both formats are four levels of 512 64-bit entries indexed by address
 * bits 47:12; they differ only in which bits mean "present", which bits a
 * table entry carries, and whether a PAT bit moves in large leaves. A struct
 * pgt_format holds those differences, so there is one walker.
 *
 * Addresses are first turned into an "index address" in [0, 2^48): the
 * canonical high half of the host format folds onto its bits 47:0, so range
 * arithmetic below never wraps.
 *
 * Invariants kept by every call:
 *  - no table page except the root is empty (unmap and failed maps free the
 *    tables they empty), so a present table entry always leads to a mapping
 *    or to an owner's non-present value (see pgt_entry_set_absent): such a
 *    value keeps its table, and only an unmap over it clears it;
 *  - entries are written with one 64-bit store, a new table is filled before
 *    the entry that points to it, and a large page is split by building the
 *    equivalent table and swapping it in with a compare-exchange, so a
 *    concurrent hardware walk sees the old or the new translation, never a
 *    hole, and accessed/dirty bits set meanwhile are not lost.
 *
 * Failure guarantees: calls that can fail with -ENOMEM (map, unmap, protect)
 * do every allocation before they change a translation. If an allocation
 * fails, translations are exactly as before; large pages in the range may
 * have been split into smaller pages that map the same memory with the same
 * bits, and tables allocated for the attempt are freed again. Other errors
 * are detected before anything is touched.
 *
 * Not done here: TLB / EPT invalidation and locking. The caller serialises
 * calls on one table and flushes after unmap/protect/replace; freed table
 * pages may still be cached by the hardware until that flush, so the pool
 * should not hand them out again before it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu_hw.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/pgtable.h>

#define IA_LIMIT	(1ULL << PGT_VA_BITS)
#define IA_MASK		(IA_LIMIT - 1)
#define PAGE_MASK	(PGT_PAGE_SIZE - 1)

const struct pgt_format pgt_host_format = {
	.name = "host",
	.present_mask = PTE_P,
	.addr_mask = PTE_ADDR_MASK,
	.large_bit = PTE_PS,
	.pat_small = 1ULL << 7,		/* PAT in a 4 KiB PTE (SDM 3A table 4-19) */
	.pat_large = 1ULL << 12,	/* PAT in a 2M PDE / 1G PDPTE (tables 4-15, 4-17) */
	.table_entry_bits = PTE_P | PTE_W,
	.leaf_entry_bits = PTE_P,
	.max_leaf_level = 3,
	.sign_extended = true,
};

static int fail(struct pgtable *pt, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct pgtable *pt, int err, const char *fmt, ...)
{
	struct linebuf lb = LINEBUF_INIT(pt->err);
	va_list ap;

	lb_printf(&lb, "%s: ", pt->fmt && pt->fmt->name ? pt->fmt->name : "pgtable");
	va_start(ap, fmt);
	lb_vprintf(&lb, fmt, ap);
	va_end(ap);
	return err;
}

static unsigned shift_of(unsigned level)
{
	return PGT_LEVEL_SHIFT(level);
}

static uint64_t size_of(unsigned level)
{
	return PGT_LEVEL_SIZE(level);
}

static unsigned index_of(uint64_t ia, unsigned level)
{
	return (ia >> shift_of(level)) & (PGT_ENTRIES - 1);
}

static uint64_t load(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_RELAXED);
}

static void store(uint64_t *e, uint64_t v)
{
	__atomic_store_n(e, v, __ATOMIC_RELEASE);
}

static uint64_t *table_of(const struct pgtable *pt, uint64_t pa)
{
	return pt->pool->phys_to_virt(pt->pool->ctx, pa);
}

static bool present(const struct pgt_format *f, uint64_t e)
{
	return e & f->present_mask;
}

static bool is_leaf(const struct pgt_format *f, uint64_t e, unsigned level)
{
	return level == 1 || (level < PGT_LEVELS && (e & f->large_bit));
}

static uint64_t leaf_pa(const struct pgt_format *f, uint64_t e, unsigned level)
{
	return e & f->addr_mask & ~(size_of(level) - 1);
}

/* Leaf bits (4 KiB encoding) -> entry at `level`. */
static uint64_t leaf_encode(const struct pgt_format *f, uint64_t pa, uint64_t bits,
			    unsigned level)
{
	if (level > 1) {
		if (f->pat_small && (bits & f->pat_small))
			bits = (bits & ~f->pat_small) | f->pat_large;
		bits |= f->large_bit;
	}
	return pa | bits | f->leaf_entry_bits;
}

/* Entry at `level` -> leaf bits (4 KiB encoding). */
static uint64_t leaf_decode(const struct pgt_format *f, uint64_t e, unsigned level)
{
	uint64_t bits = e & ~f->addr_mask;

	if (level > 1) {
		bits &= ~f->large_bit;
		if (f->pat_large && (e & f->pat_large))
			bits |= f->pat_small;
	}
	return bits;
}

static uint64_t ia_to_va(const struct pgt_format *f, uint64_t ia)
{
	if (f->sign_extended && (ia & (1ULL << (PGT_VA_BITS - 1))))
		return ia | ~IA_MASK;
	return ia;
}

static bool va_ok(const struct pgt_format *f, uint64_t va)
{
	if (f->sign_extended)
		return ((int64_t)(va << (64 - PGT_VA_BITS)) >> (64 - PGT_VA_BITS)) == (int64_t)va;
	return va < IA_LIMIT;
}

/* Check [va, va+size) and turn it into index addresses [*start, *end). */
static int range_of(struct pgtable *pt, const char *op, uint64_t va, uint64_t size,
		    uint64_t *start, uint64_t *end)
{
	uint64_t last = va + size - 1;

	if (!pt->root_pa)
		return fail(pt, -EINVAL, "%s: table not initialised", op);
	if (!size)
		return fail(pt, -EINVAL, "%s va 0x%llx: size 0", op, (unsigned long long)va);
	if ((va | size) & PAGE_MASK)
		return fail(pt, -EINVAL, "%s va 0x%llx size 0x%llx: not 4 KiB aligned", op,
			    (unsigned long long)va, (unsigned long long)size);
	if (last < va)
		return fail(pt, -EINVAL, "%s va 0x%llx size 0x%llx: range wraps", op,
			    (unsigned long long)va, (unsigned long long)size);
	if (!va_ok(pt->fmt, va) || !va_ok(pt->fmt, last) ||
	    (pt->fmt->sign_extended && ((va ^ last) >> (PGT_VA_BITS - 1))))
		return fail(pt, -EINVAL, "%s va 0x%llx size 0x%llx: outside the %s", op,
			    (unsigned long long)va, (unsigned long long)size,
			    pt->fmt->sign_extended ? "canonical halves" : "48-bit space");
	*start = va & IA_MASK;
	*end = *start + size;
	return 0;
}

static uint64_t alloc_table(struct pgtable *pt)
{
	uint64_t pa = pt->pool->alloc_page(pt->pool->ctx);

	if (!pa)
		return 0;
	if (pa & ~pt->fmt->addr_mask) {		/* unusable: give it back */
		pt->pool->free_page(pt->pool->ctx, pa);
		return 0;
	}
	memset(table_of(pt, pa), 0, PGT_PAGE_SIZE);
	return pa;
}

static void free_subtree(struct pgtable *pt, uint64_t table_pa, unsigned level)
{
	uint64_t *t = table_of(pt, table_pa);

	for (unsigned i = 0; level > 1 && i < PGT_ENTRIES; i++) {
		uint64_t e = load(&t[i]);

		if (present(pt->fmt, e) && !is_leaf(pt->fmt, e, level))
			free_subtree(pt, e & pt->fmt->addr_mask, level - 1);
	}
	pt->pool->free_page(pt->pool->ctx, table_pa);
}

static bool table_empty(const struct pgtable *pt, uint64_t table_pa)
{
	const uint64_t *t = table_of(pt, table_pa);

	for (unsigned i = 0; i < PGT_ENTRIES; i++)
		if (load(&t[i]))	/* a mapping, or an owner's non-present value */
			return false;
	return true;
}

/* Replace the large leaf *e at `level` by a table of leaves one level down mapping the same. */
static int split(struct pgtable *pt, uint64_t *e, unsigned level)
{
	const struct pgt_format *f = pt->fmt;
	uint64_t table_pa = alloc_table(pt), old = load(e);
	uint64_t *t;

	if (!table_pa)
		return -ENOMEM;
	t = table_of(pt, table_pa);
	do {
		uint64_t base = leaf_pa(f, old, level), bits = leaf_decode(f, old, level);

		for (unsigned i = 0; i < PGT_ENTRIES; i++)
			t[i] = leaf_encode(f, base + i * size_of(level - 1), bits, level - 1);
	} while (!__atomic_compare_exchange_n(e, &old, table_pa | f->table_entry_bits, false,
					      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	return 0;
}

/* Where the walk for ia stops: a leaf or a non-present entry, and its level. */
static uint64_t *find(const struct pgtable *pt, uint64_t ia, unsigned *level)
{
	uint64_t *t = table_of(pt, pt->root_pa);

	for (unsigned l = PGT_LEVELS;; l--) {
		uint64_t *e = &t[index_of(ia, l)];
		uint64_t v = load(e);

		if (!present(pt->fmt, v) || is_leaf(pt->fmt, v, l)) {
			*level = l;
			return e;
		}
		t = table_of(pt, v & pt->fmt->addr_mask);
	}
}

/* The entry for ia at `level`, allocating tables and splitting large leaves above it. */
static int walk_to(struct pgtable *pt, uint64_t ia, unsigned level, uint64_t **out)
{
	uint64_t *t = table_of(pt, pt->root_pa);

	for (unsigned l = PGT_LEVELS; l > level; l--) {
		uint64_t *e = &t[index_of(ia, l)];
		uint64_t v = load(e);

		if (!present(pt->fmt, v)) {
			uint64_t pa = alloc_table(pt);

			if (!pa)
				return -ENOMEM;
			v = pa | pt->fmt->table_entry_bits;
			store(e, v);
		} else if (is_leaf(pt->fmt, v, l)) {
			if (split(pt, e, l))
				return -ENOMEM;
			v = load(e);
		}
		t = table_of(pt, v & pt->fmt->addr_mask);
	}
	*out = &t[index_of(ia, level)];
	return 0;
}

/* Make ia a leaf boundary: split the large leaf it falls inside, level by level. */
static int split_at(struct pgtable *pt, uint64_t ia)
{
	for (;;) {
		unsigned level;
		uint64_t *e;

		if (ia >= IA_LIMIT)
			return 0;
		e = find(pt, ia, &level);
		if (!present(pt->fmt, load(e)) || !(ia & (size_of(level) - 1)))
			return 0;
		if (split(pt, e, level))
			return -ENOMEM;
	}
}

/*
 * Visit the present entries of table `table_pa` (entries at `level`, the
 * table covering from `base`) that intersect [start, end), recursing into
 * tables after visiting them.
 */
typedef int (*visit_fn)(struct pgtable *pt, uint64_t *e, unsigned level, uint64_t ia,
			bool leaf, void *ctx);

static int visit(struct pgtable *pt, uint64_t table_pa, unsigned level, uint64_t base,
		 uint64_t start, uint64_t end, visit_fn fn, void *ctx)
{
	uint64_t *t = table_of(pt, table_pa);
	uint64_t lo = start > base ? start : base;
	uint64_t top = base + PGT_ENTRIES * size_of(level);
	uint64_t hi = end < top ? end : top;

	if (lo >= hi)
		return 0;
	for (unsigned i = index_of(lo, level); i <= index_of(hi - 1, level); i++) {
		uint64_t v = load(&t[i]), ia = base + i * size_of(level);
		bool leaf = is_leaf(pt->fmt, v, level);
		int ret;

		if (!present(pt->fmt, v))
			continue;
		ret = fn(pt, &t[i], level, ia, leaf, ctx);
		if (!ret && !leaf)
			ret = visit(pt, v & pt->fmt->addr_mask, level - 1, ia, start, end, fn, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

static int visit_range(const struct pgtable *pt, uint64_t start, uint64_t end, visit_fn fn,
		       void *ctx)
{
	return visit((struct pgtable *)pt, pt->root_pa, PGT_LEVELS, 0, start, end, fn, ctx);
}

/*
 * Remove empty tables below table_pa within [start, end); with `unmap`,
 * first clear every leaf there (the edges must already be leaf boundaries).
 */
static void sweep(struct pgtable *pt, uint64_t table_pa, unsigned level, uint64_t base,
		  uint64_t start, uint64_t end, bool unmap)
{
	uint64_t *t = table_of(pt, table_pa);
	uint64_t lo = start > base ? start : base;
	uint64_t top = base + PGT_ENTRIES * size_of(level);
	uint64_t hi = end < top ? end : top;

	if (lo >= hi)
		return;
	for (unsigned i = index_of(lo, level); i <= index_of(hi - 1, level); i++) {
		uint64_t v = load(&t[i]), ia = base + i * size_of(level);
		uint64_t child = v & pt->fmt->addr_mask;
		bool inside = start <= ia && ia + size_of(level) <= end;

		if (!present(pt->fmt, v)) {
			if (v && unmap && inside)	/* an owner's value goes with the range */
				store(&t[i], 0);
			continue;
		}
		if (is_leaf(pt->fmt, v, level)) {
			if (unmap && inside)
				store(&t[i], 0);
			continue;
		}
		if (unmap && inside) {
			store(&t[i], 0);
			free_subtree(pt, child, level - 1);
			continue;
		}
		sweep(pt, child, level - 1, ia, start, end, unmap);
		if (table_empty(pt, child)) {
			store(&t[i], 0);
			pt->pool->free_page(pt->pool->ctx, child);
		}
	}
}

int pgt_init(struct pgtable *pt, const struct pgt_format *fmt, const struct pgt_pool *pool)
{
	if (!pt)
		return -EINVAL;
	memset(pt, 0, sizeof(*pt));
	pt->fmt = fmt;
	if (!fmt || !fmt->present_mask || !fmt->addr_mask || fmt->max_leaf_level < 1 ||
	    fmt->max_leaf_level > 3 || !(fmt->table_entry_bits & fmt->present_mask))
		return fail(pt, -EINVAL, "init: bad format");
	if (!pool || !pool->alloc_page || !pool->free_page || !pool->phys_to_virt)
		return fail(pt, -EINVAL, "init: pool lacks a callback");
	pt->pool = pool;
	pt->root_pa = alloc_table(pt);
	if (!pt->root_pa)
		return fail(pt, -ENOMEM, "init: no page for the root table");
	return 0;
}

/* Leaf bits a caller may pass: no address bits, no large bit (unless it is the PAT bit). */
static bool bits_ok(const struct pgt_format *f, uint64_t bits)
{
	if (bits & f->addr_mask)
		return false;
	return !(bits & f->large_bit) || f->large_bit == f->pat_small;
}

static int leaf_rejected(struct pgtable *pt, const char *op, uint64_t ia, uint64_t bits)
{
	char why[80];

	if (!pt->fmt->leaf_check || !pt->fmt->leaf_check(pt, bits, why, sizeof(why)))
		return 0;
	return fail(pt, -EINVAL, "%s va 0x%llx: bits 0x%llx: %s", op,
		    (unsigned long long)ia_to_va(pt->fmt, ia), (unsigned long long)bits, why);
}

static int first_mapped(struct pgtable *pt, uint64_t *e, unsigned level, uint64_t ia,
			bool leaf, void *ctx)
{
	(void)pt;
	(void)e;
	(void)level;
	if (leaf)
		*(uint64_t *)ctx = ia;
	return leaf;
}

static unsigned pick_level(const struct pgtable *pt, uint64_t ia, uint64_t pa, uint64_t left,
			   unsigned flags)
{
	unsigned l = (flags & PGT_4K) ? 1 : pt->fmt->max_leaf_level;

	while (l > 1 && (((ia | pa) & (size_of(l) - 1)) || left < size_of(l)))
		l--;
	return l;
}

static int map_check(struct pgtable *pt, uint64_t va, uint64_t pa, uint64_t size,
		     uint64_t bits, unsigned flags)
{
	const struct pgt_format *f = pt->fmt;

	if (flags & ~(PGT_REPLACE | PGT_4K))
		return fail(pt, -EINVAL, "map va 0x%llx: unknown flags 0x%x",
			    (unsigned long long)va, flags);
	if (pa & PAGE_MASK)
		return fail(pt, -EINVAL, "map va 0x%llx: pa 0x%llx not 4 KiB aligned",
			    (unsigned long long)va, (unsigned long long)pa);
	if (pa + size - 1 < pa || ((pa + size - 1) & ~(f->addr_mask | PAGE_MASK)))
		return fail(pt, -EINVAL, "map va 0x%llx: pa 0x%llx size 0x%llx beyond the "
			    "physical address width", (unsigned long long)va,
			    (unsigned long long)pa, (unsigned long long)size);
	if (!bits_ok(f, bits))
		return fail(pt, -EINVAL, "map va 0x%llx: leaf bits 0x%llx include address or "
			    "large-page bits", (unsigned long long)va, (unsigned long long)bits);
	if (!present(f, bits | f->leaf_entry_bits))
		return fail(pt, -EINVAL, "map va 0x%llx: leaf bits 0x%llx are not present",
			    (unsigned long long)va, (unsigned long long)bits);
	return 0;
}

int pgt_map(struct pgtable *pt, uint64_t va, uint64_t pa, uint64_t size, uint64_t leaf_bits,
	    unsigned flags)
{
	uint64_t start, end, ia, p, hit;
	int err = range_of(pt, "map", va, size, &start, &end);

	if (!err)
		err = map_check(pt, va, pa, size, leaf_bits, flags);
	if (!err)
		err = leaf_rejected(pt, "map", start, leaf_bits);
	if (err)
		return err;
	if (!(flags & PGT_REPLACE) && visit_range(pt, start, end, first_mapped, &hit)) {
		hit = hit > start ? hit : start;
		return fail(pt, -EEXIST, "map va 0x%llx size 0x%llx: 0x%llx already mapped",
			    (unsigned long long)va, (unsigned long long)size,
			    (unsigned long long)ia_to_va(pt->fmt, hit));
	}
	/* Pass 1: every table the leaves need, so that pass 2 cannot fail. */
	for (ia = start, p = pa; ia < end; ) {
		unsigned l = pick_level(pt, ia, p, end - ia, flags);
		uint64_t *e;

		if (walk_to(pt, ia, l, &e)) {
			sweep(pt, pt->root_pa, PGT_LEVELS, 0, start, end, false);
			return fail(pt, -ENOMEM, "map va 0x%llx size 0x%llx: out of table pages",
				    (unsigned long long)va, (unsigned long long)size);
		}
		ia += size_of(l);
		p += size_of(l);
	}
	/* Pass 2: the leaves, freeing whatever tables they replace. */
	for (ia = start, p = pa; ia < end; ) {
		unsigned l = pick_level(pt, ia, p, end - ia, flags);
		uint64_t *e, old;

		if (walk_to(pt, ia, l, &e))
			return fail(pt, -EFAULT, "map va 0x%llx: table vanished (bug)",
				    (unsigned long long)ia_to_va(pt->fmt, ia));
		old = load(e);
		store(e, leaf_encode(pt->fmt, p, leaf_bits, l));
		if (present(pt->fmt, old) && !is_leaf(pt->fmt, old, l))
			free_subtree(pt, old & pt->fmt->addr_mask, l - 1);
		ia += size_of(l);
		p += size_of(l);
	}
	return 0;
}

int pgt_unmap(struct pgtable *pt, uint64_t va, uint64_t size)
{
	uint64_t start, end;
	int err = range_of(pt, "unmap", va, size, &start, &end);

	if (err)
		return err;
	if (split_at(pt, start) || split_at(pt, end))
		return fail(pt, -ENOMEM, "unmap va 0x%llx size 0x%llx: out of table pages to "
			    "split a large page", (unsigned long long)va, (unsigned long long)size);
	sweep(pt, pt->root_pa, PGT_LEVELS, 0, start, end, true);
	return 0;
}

int pgt_lookup(const struct pgtable *pt, uint64_t va, uint64_t *pa, uint64_t *leaf_bits,
	       unsigned *level)
{
	unsigned l;
	uint64_t e, ia = va & IA_MASK;

	if (!pt || !pt->root_pa || !va_ok(pt->fmt, va))
		return -EINVAL;
	e = load(find(pt, ia, &l));
	if (!present(pt->fmt, e))
		return -ENOENT;
	if (pa)
		*pa = leaf_pa(pt->fmt, e, l) | (ia & (size_of(l) - 1));
	if (leaf_bits)
		*leaf_bits = leaf_decode(pt->fmt, e, l);
	if (level)
		*level = l;
	return 0;
}

struct protect_args {
	uint64_t clear, set, start, end;
	uint64_t bad_ia;
	char why[80];
};

static int protect_check(struct pgtable *pt, uint64_t *e, unsigned level, uint64_t ia,
			 bool leaf, void *ctx)
{
	struct protect_args *a = ctx;
	uint64_t bits;

	if (!leaf)
		return 0;
	bits = (leaf_decode(pt->fmt, load(e), level) & ~a->clear) | a->set;
	a->bad_ia = ia > a->start ? ia : a->start;
	if (!present(pt->fmt, bits | pt->fmt->leaf_entry_bits)) {
		snprintf(a->why, sizeof(a->why), "result would not be present");
		return 1;
	}
	if (pt->fmt->leaf_check && pt->fmt->leaf_check(pt, bits, a->why, sizeof(a->why)))
		return 1;
	return 0;
}

static int protect_apply(struct pgtable *pt, uint64_t *e, unsigned level, uint64_t ia,
			 bool leaf, void *ctx)
{
	struct protect_args *a = ctx;
	uint64_t old = load(e), new;

	(void)ia;
	if (!leaf)
		return 0;
	do {
		uint64_t bits = (leaf_decode(pt->fmt, old, level) & ~a->clear) | a->set;

		new = leaf_encode(pt->fmt, leaf_pa(pt->fmt, old, level), bits, level);
	} while (!__atomic_compare_exchange_n(e, &old, new, false, __ATOMIC_RELEASE,
					      __ATOMIC_RELAXED));
	return 0;
}

int pgt_protect(struct pgtable *pt, uint64_t va, uint64_t size, uint64_t clear_bits,
		uint64_t set_bits)
{
	struct protect_args a = { .clear = clear_bits, .set = set_bits };
	int err = range_of(pt, "protect", va, size, &a.start, &a.end);

	if (err)
		return err;
	if (!bits_ok(pt->fmt, clear_bits | set_bits) || (clear_bits & pt->fmt->leaf_entry_bits))
		return fail(pt, -EINVAL, "protect va 0x%llx: clear 0x%llx / set 0x%llx touch "
			    "address, large-page or always-set bits", (unsigned long long)va,
			    (unsigned long long)clear_bits, (unsigned long long)set_bits);
	if (visit_range(pt, a.start, a.end, protect_check, &a))
		return fail(pt, -EINVAL, "protect va 0x%llx: %s",
			    (unsigned long long)ia_to_va(pt->fmt, a.bad_ia), a.why);
	if (split_at(pt, a.start) || split_at(pt, a.end))
		return fail(pt, -ENOMEM, "protect va 0x%llx size 0x%llx: out of table pages to "
			    "split a large page", (unsigned long long)va, (unsigned long long)size);
	visit_range(pt, a.start, a.end, protect_apply, &a);
	return 0;
}

void pgt_destroy(struct pgtable *pt)
{
	if (!pt || !pt->root_pa)
		return;
	free_subtree(pt, pt->root_pa, PGT_LEVELS);
	pt->root_pa = 0;
}

static int count_table(struct pgtable *pt, uint64_t *e, unsigned level, uint64_t ia,
		       bool leaf, void *ctx)
{
	(void)pt;
	(void)e;
	(void)level;
	(void)ia;
	if (!leaf)
		(*(uint64_t *)ctx)++;
	return 0;
}

uint64_t pgt_count_tables(const struct pgtable *pt)
{
	uint64_t n = 1;

	if (!pt || !pt->root_pa)
		return 0;
	visit_range(pt, 0, IA_LIMIT, count_table, &n);
	return n;
}

struct walk_args {
	pgt_visit_fn fn;
	void *ctx;
};

static int walk_one(struct pgtable *pt, uint64_t *e, unsigned level, uint64_t ia, bool leaf,
		    void *ctx)
{
	struct walk_args *a = ctx;

	return a->fn(a->ctx, ia_to_va(pt->fmt, ia), level, load(e), leaf);
}

int pgt_walk(const struct pgtable *pt, pgt_visit_fn fn, void *ctx)
{
	struct walk_args a = { .fn = fn, .ctx = ctx };

	if (!pt || !pt->root_pa || !fn)
		return -EINVAL;
	return visit_range(pt, 0, IA_LIMIT, walk_one, &a);
}

/*
 * Raw entries, for owners that keep their own state in a non-present
 * leaf (the VMM's swap: a slot number and a marker in an EPT leaf the
 * CPU ignores while bits 2:0 are clear). Such an entry is not "mapped"
 * for the rest of this API: pgt_map may put a mapping over it, pgt_walk
 * skips it and pgt_unmap over it clears it. But it keeps its table:
 * unmapping its neighbours never frees a table that still holds one.
 */
int pgt_entry_get(const struct pgtable *pt, uint64_t va, uint64_t *entry, unsigned *level)
{
	unsigned l;

	if (!pt || !pt->root_pa || !va_ok(pt->fmt, va))
		return -EINVAL;
	*entry = load(find(pt, va & IA_MASK, &l));
	if (level)
		*level = l;
	return 0;
}

/* Replace the 4 KiB entry for va with non-present `entry`; its table must exist (-ENOENT). */
int pgt_entry_set_absent(struct pgtable *pt, uint64_t va, uint64_t entry)
{
	unsigned l;
	uint64_t *e;

	if (!pt || !pt->root_pa || !va_ok(pt->fmt, va))
		return -EINVAL;
	if (present(pt->fmt, entry))
		return fail(pt, -EINVAL, "entry 0x%llx for va 0x%llx is present",
			    (unsigned long long)entry, (unsigned long long)va);
	e = find(pt, va & IA_MASK, &l);
	if (l != 1)
		return fail(pt, -ENOENT, "va 0x%llx has no 4 KiB entry (walk stops at level %u)",
			    (unsigned long long)va, l);
	store(e, entry);
	return 0;
}

/*
 * Atomically clear `bits` in the present leaf for va (the CPU may set
 * accessed/dirty bits at the same moment); *old gets the entry before.
 */
int pgt_leaf_clear_bits(struct pgtable *pt, uint64_t va, uint64_t bits, uint64_t *old)
{
	unsigned l;
	uint64_t *e;

	if (!pt || !pt->root_pa || !va_ok(pt->fmt, va) || (bits & pt->fmt->present_mask))
		return -EINVAL;
	e = find(pt, va & IA_MASK, &l);
	if (!present(pt->fmt, load(e)))
		return -ENOENT;
	*old = __atomic_fetch_and(e, ~bits, __ATOMIC_SEQ_CST);
	return 0;
}
