/*
 * One table-driven walker for x86-64 4-level page tables: the host's own
 * (CR3) and the VMM's EPT. A struct pgt_format says how an entry is encoded;
 * a struct pgt_pool supplies and takes back table pages. See
 * vmkernel/mm/pgtable.c for the invariants and the failure guarantees.
 *
 * Levels are numbered 4 (PML4, 512 GiB per entry) down to 1 (page table,
 * 4 KiB per entry); a leaf at level 2 is a 2 MiB page, at level 3 a 1 GiB one.
 *
 * Leaf bits as this API sees them ("leaf_bits") are an entry minus its
 * address and minus the large-page bit, always in the 4 KiB encoding: where
 * the format has a PAT bit that moves for large pages (host: bit 7 in a PTE,
 * bit 12 in a PDE/PDPTE), callers use the 4 KiB position and the walker moves
 * it. The format's leaf_entry_bits (host: P) are added to every leaf.
 */
#ifndef PGTABLE_H
#define PGTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGT_LEVELS		4
#define PGT_ENTRIES		512
#define PGT_PAGE_SIZE		0x1000ULL
#define PGT_LEVEL_SHIFT(l)	(12U + 9U * ((unsigned)(l) - 1U))
#define PGT_LEVEL_SIZE(l)	(1ULL << PGT_LEVEL_SHIFT(l))
#define PGT_VA_BITS		48	/* 4 levels index bits 47:12 */

/* A table is one page of 64-bit entries (SDM 3A 4.5, 3C 29.3.2). */
_Static_assert(PGT_ENTRIES * sizeof(uint64_t) == PGT_PAGE_SIZE, "page table is one page");

struct pgtable;

struct pgt_format {
	const char *name;		/* for error messages: "host", "ept" */
	uint64_t present_mask;		/* any set: entry present (host P; EPT R|W|X) */
	uint64_t addr_mask;		/* physical address bits of an entry (51:12) */
	uint64_t large_bit;		/* PS, bit 7 in both formats */
	uint64_t pat_small;		/* PAT bit in a 4 KiB leaf (host bit 7), 0 if none */
	uint64_t pat_large;		/* PAT bit in a large leaf (host bit 12), 0 if none */
	uint64_t table_entry_bits;	/* set in non-leaf entries (host P|W; EPT R|W|X) */
	uint64_t leaf_entry_bits;	/* always set in leaves (host P; EPT none) */
	uint8_t max_leaf_level;		/* 1: 4 KiB only, 2: up to 2 MiB, 3: up to 1 GiB */
	bool sign_extended;		/* addresses are canonical: bits 63:48 copy bit 47 */
	/*
	 * Optional: may leaf_bits be installed? 0, or -EINVAL with a reason in
	 * why. Called by pgt_map on its bits and by pgt_protect on every result.
	 */
	int (*leaf_check)(const struct pgtable *pt, uint64_t leaf_bits, char *why, size_t len);
};

struct pgt_pool {
	void *ctx;
	uint64_t (*alloc_page)(void *ctx);		/* a zeroed page: its phys, or 0 */
	void (*free_page)(void *ctx, uint64_t pa);
	void *(*phys_to_virt)(void *ctx, uint64_t pa);
};

struct pgtable {
	const struct pgt_format *fmt;
	const struct pgt_pool *pool;
	uint64_t root_pa;		/* the PML4; 0 before pgt_init / after pgt_destroy */
	char err[128];			/* why the last failing call failed */
};

/* Host format: P|W tables, max_leaf_level 3. Copy it and lower the level without PDPE1GB. */
extern const struct pgt_format pgt_host_format;

/* pgt_map flags */
#define PGT_REPLACE	(1U << 0)	/* overwrite whatever is mapped in the range */
#define PGT_4K		(1U << 1)	/* use 4 KiB leaves only */

/* Allocate an empty root. -EINVAL on a bad format/pool, -ENOMEM. */
int pgt_init(struct pgtable *pt, const struct pgt_format *fmt, const struct pgt_pool *pool);
/*
 * Map [va, va+size) to [pa, pa+size) with the largest leaves that alignment
 * and max_leaf_level allow. -EEXIST if anything is mapped there (unless
 * PGT_REPLACE), -EINVAL on misaligned, empty, wrapping or out-of-range input
 * or bad bits, -ENOMEM (translations unchanged, no page leaked).
 */
int pgt_map(struct pgtable *pt, uint64_t va, uint64_t pa, uint64_t size, uint64_t leaf_bits,
	    unsigned flags);
/* Remove every mapping in the range (holes are fine), splitting large pages at its edges. */
int pgt_unmap(struct pgtable *pt, uint64_t va, uint64_t size);
/* Translate va (any alignment). -ENOENT if unmapped, -EINVAL if va is out of range. */
int pgt_lookup(const struct pgtable *pt, uint64_t va, uint64_t *pa, uint64_t *leaf_bits,
	       unsigned *level);
/*
 * Every mapped page in the range gets leaf_bits = (leaf_bits & ~clear) | set
 * (holes are skipped). Large pages crossing the edges are split. All or
 * nothing: -EINVAL if any result would be non-present or rejected by the
 * format's leaf_check.
 */
int pgt_protect(struct pgtable *pt, uint64_t va, uint64_t size, uint64_t clear_bits,
		uint64_t set_bits);
/* Free every table page, root included. */
void pgt_destroy(struct pgtable *pt);
/* Table pages in use, root included (0 if none). */
uint64_t pgt_count_tables(const struct pgtable *pt);

/*
 * Call fn for every present entry, tables before what they point to, in
 * address order. va is the first address the entry covers (sign-extended
 * for canonical formats); leaf says whether it maps memory. A non-zero
 * return from fn stops the walk and is returned.
 */
typedef int (*pgt_visit_fn)(void *ctx, uint64_t va, unsigned level, uint64_t entry, bool leaf);
int pgt_walk(const struct pgtable *pt, pgt_visit_fn fn, void *ctx);

/*
 * Raw entries (see pgtable.c): the entry where the walk for va stops (a
 * leaf, or a non-present entry) and its level; replace a 4 KiB entry
 * with a non-present value its owner encodes; clear bits of a present
 * leaf atomically (*old: the entry before).
 */
int pgt_entry_get(const struct pgtable *pt, uint64_t va, uint64_t *entry, unsigned *level);
int pgt_entry_set_absent(struct pgtable *pt, uint64_t va, uint64_t entry);
int pgt_leaf_clear_bits(struct pgtable *pt, uint64_t va, uint64_t bits, uint64_t *old);

#endif
