/*
 * EPT: the guest-physical address space of one VM.
 *
 * The tables are built by the shared walker (vmkernel/mm/pgtable.c) with an
 * EPT entry format: an entry is present if any of R/W/X is set, tables carry
 * R|W|X so that leaves alone decide access, leaves carry the memory type in
 * bits 5:3. Large leaves are used only where IA32_VMX_EPT_VPID_CAP says the
 * CPU has them, so each struct ept has its own copy of the format.
 *
 * The builder must never write an entry the CPU would call a
 * misconfiguration (SDM 3C 29.3.3.1): that is a VM exit with no guest
 * address to blame. So the format's leaf_check runs ept_validate_entry()
 * on every leaf that map and protect would install, and ept_check() can
 * re-validate a whole table (unit tests; the misconfiguration exit handler).
 *
 * Locking and INVEPT are the caller's: one writer per struct ept at a time,
 * INVEPT (single-context) after unmap, remap or protect before relying on
 * the change. A struct ept must not be moved after ept_init (pt.fmt points
 * into it).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <vmm/ept.h>

_Static_assert(EPT_R == EPT_READ && EPT_W == EPT_WRITE && EPT_X == EPT_EXECUTE,
	       "EPT_R/W/X are the entry's permission bits");
_Static_assert((EPT_MEMTYPE_IGNORE_PAT & (EPT_MEMTYPE_MASK >> EPT_MEMTYPE_SHIFT)) == 0,
	       "ignore-PAT flag is outside the memory-type field");

#define LEAF_BITS_ALLOWED	(EPT_RWX | EPT_MEMTYPE_MASK | EPT_IGNORE_PAT | EPT_ACCESSED | \
				 EPT_DIRTY | EPT_SW_SHARED)

static const char *const level_name[] = { "?", "PTE", "PDE", "PDPTE", "PML4E" };

static int eptfail(struct ept *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int eptfail(struct ept *e, int err, const char *fmt, ...)
{
	va_list ap;

	memcpy(e->pt.err, "ept: ", 6);
	va_start(ap, fmt);
	vsnprintf(e->pt.err + 5, sizeof(e->pt.err) - 5, fmt, ap);
	va_end(ap);
	return err;
}

static int bad(char *why, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why && len) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool memtype_ok(unsigned mt)
{
	return mt == EPT_MT_UC || mt == EPT_MT_WC || mt == EPT_MT_WT || mt == EPT_MT_WP ||
	       mt == EPT_MT_WB;
}

static unsigned phys_bits(const struct ept_rules *r)
{
	return r->maxphyaddr >= 12 && r->maxphyaddr < 52 ? r->maxphyaddr : 52;
}

static int check_leaf(uint64_t entry, unsigned level, const struct ept_rules *r,
		      char *why, size_t len)
{
	const char *n = level_name[level];
	unsigned mt = (entry & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT;

	if (level == 3 && !r->has_1g)
		return bad(why, len, "%s: 1 GiB page, not supported by this CPU", n);
	if (level == 2 && !r->has_2m)
		return bad(why, len, "%s: 2 MiB page, not supported by this CPU", n);
	if (level == 3 && (entry & EPT_1G_ADDR_RSVD))
		return bad(why, len, "%s: reserved bits 29:12 set in a 1 GiB page", n);
	if (level == 2 && (entry & EPT_2M_ADDR_RSVD))
		return bad(why, len, "%s: reserved bits 20:12 set in a 2 MiB page", n);
	if (!memtype_ok(mt))
		return bad(why, len, "%s: reserved memory type %u", n, mt);
	return 0;
}

int ept_validate_entry(uint64_t entry, unsigned level, const struct ept_rules *r,
		       char *why, size_t len)
{
	uint64_t rsvd;
	const char *n;

	if (level < 1 || level > 4 || !r)
		return bad(why, len, "level %u out of range 1..4", level);
	n = level_name[level];
	if (!(entry & EPT_RWX))
		return 0;
	if ((entry & EPT_WRITE) && !(entry & EPT_READ))
		return bad(why, len, "%s: write without read", n);
	if ((entry & EPT_EXECUTE) && !(entry & EPT_READ) && !r->exec_only)
		return bad(why, len, "%s: execute-only, not supported by this CPU", n);
	rsvd = EPT_ADDR_MASK & ~((1ULL << phys_bits(r)) - 1);
	if (entry & rsvd)
		return bad(why, len, "%s: reserved address bits 51:%u set", n, phys_bits(r));
	if (level == 4 && (entry & EPT_LARGE_PAGE))
		return bad(why, len, "%s: large-page bit set", n);
	if (level == 1 || (entry & EPT_LARGE_PAGE))
		return check_leaf(entry, level, r, why, len);
	if (entry & EPT_NONLEAF_RSVD)
		return bad(why, len, "%s: reserved bits 7:3 set in a table reference", n);
	return 0;
}

static int ept_leaf_check(const struct pgtable *pt, uint64_t bits, char *why, size_t len)
{
	const struct ept *e = (const struct ept *)((const char *)pt - offsetof(struct ept, pt));

	char reason[80];
	const char *r;

	if (bits & ~LEAF_BITS_ALLOWED)
		return bad(why, len, "bits 0x%llx are not EPT leaf bits",
			   (unsigned long long)(bits & ~LEAF_BITS_ALLOWED));
	if (!ept_validate_entry(bits, 1, &e->rules, reason, sizeof(reason)))
		return 0;
	r = strchr(reason, ':');	/* drop "PTE: ": the leaf may be a large page */
	return bad(why, len, "%s", r ? r + 2 : reason);
}

static const struct pgt_format ept_format = {
	.name = "ept",
	.present_mask = EPT_RWX,
	.addr_mask = EPT_ADDR_MASK,
	.large_bit = EPT_LARGE_PAGE,
	.table_entry_bits = EPT_RWX,
	.max_leaf_level = 1,
	.leaf_check = ept_leaf_check,
};

int ept_init(struct ept *e, const struct pgt_pool *pool, bool has_2m, bool has_1g, bool has_ad)
{
	if (!e)
		return -EINVAL;
	memset(e, 0, sizeof(*e));
	e->rules.has_2m = has_2m;
	e->rules.has_1g = has_1g;
	e->rules.maxphyaddr = 52;
	e->ad_enabled = has_ad;
	e->max_leaf_level = has_2m ? (has_1g ? 3 : 2) : 1;
	e->fmt = ept_format;
	e->fmt.max_leaf_level = (uint8_t)e->max_leaf_level;
	return pgt_init(&e->pt, &e->fmt, pool);
}

static int map_common(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
		      unsigned memtype, unsigned flags)
{
	unsigned mt = memtype & ~EPT_MEMTYPE_IGNORE_PAT, bits = phys_bits(&e->rules);
	uint64_t leaf;

	if (!e->pt.root_pa)
		return eptfail(e, -EINVAL, "map gpa 0x%llx: not initialised",
			       (unsigned long long)gpa);
	if ((perms & ~(EPT_PERMS | EPT_SHARED)) || !(perms & EPT_PERMS))
		return eptfail(e, -EINVAL, "map gpa 0x%llx: bad permissions 0x%x",
			       (unsigned long long)gpa, perms);
	if ((perms & EPT_W) && !(perms & EPT_R))
		return eptfail(e, -EINVAL, "map gpa 0x%llx: write without read would be an EPT "
			       "misconfiguration", (unsigned long long)gpa);
	if (!memtype_ok(mt))
		return eptfail(e, -EINVAL, "map gpa 0x%llx: reserved memory type %u",
			       (unsigned long long)gpa, mt);
	if (bits < 52 && size && hpa + size - 1 >= hpa && ((hpa + size - 1) >> bits))
		return eptfail(e, -EINVAL, "map gpa 0x%llx: hpa 0x%llx size 0x%llx beyond "
			       "MAXPHYADDR %u", (unsigned long long)gpa, (unsigned long long)hpa,
			       (unsigned long long)size, bits);
	leaf = (perms & EPT_PERMS) | ((perms & EPT_SHARED) ? EPT_SW_SHARED : 0) |
	       ((uint64_t)mt << EPT_MEMTYPE_SHIFT) |
	       ((memtype & EPT_MEMTYPE_IGNORE_PAT) ? EPT_IGNORE_PAT : 0);
	return pgt_map(&e->pt, gpa, hpa, size, leaf, flags);
}

int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
	    unsigned memtype)
{
	if (!e)
		return -EINVAL;
	return map_common(e, gpa, hpa, size, perms, memtype, 0);
}

int ept_remap(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
	      unsigned memtype)
{
	if (!e)
		return -EINVAL;
	return map_common(e, gpa, hpa, size, perms, memtype, PGT_REPLACE);
}

int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size)
{
	if (!e)
		return -EINVAL;
	return pgt_unmap(&e->pt, gpa, size);
}

int ept_lookup(const struct ept *e, uint64_t gpa, uint64_t *hpa, unsigned *perms,
	       unsigned *memtype, uint64_t *page_size)
{
	uint64_t bits;
	unsigned level;
	int err;

	if (!e)
		return -EINVAL;
	err = pgt_lookup(&e->pt, gpa, hpa, &bits, &level);
	if (err)
		return err;
	if (perms)
		*perms = (unsigned)(bits & EPT_PERMS) | ((bits & EPT_SW_SHARED) ? EPT_SHARED : 0);
	if (memtype)
		*memtype = (unsigned)((bits & EPT_MEMTYPE_MASK) >> EPT_MEMTYPE_SHIFT) |
			   ((bits & EPT_IGNORE_PAT) ? EPT_MEMTYPE_IGNORE_PAT : 0);
	if (page_size)
		*page_size = PGT_LEVEL_SIZE(level);
	return 0;
}

int ept_protect(struct ept *e, uint64_t gpa, uint64_t size, unsigned clear_perms,
		unsigned set_perms)
{
	if (!e)
		return -EINVAL;
	if ((clear_perms | set_perms) & ~EPT_PERMS)
		return eptfail(e, -EINVAL, "protect gpa 0x%llx: bad permissions clear 0x%x "
			       "set 0x%x", (unsigned long long)gpa, clear_perms, set_perms);
	return pgt_protect(&e->pt, gpa, size, clear_perms, set_perms);
}

void ept_destroy(struct ept *e)
{
	if (e)
		pgt_destroy(&e->pt);
}

uint64_t ept_eptp(const struct ept *e, unsigned memtype)
{
	if (!e || !e->pt.root_pa || (memtype != EPT_MT_WB && memtype != EPT_MT_UC))
		return 0;
	return (e->pt.root_pa & EPTP_ADDR_MASK) | memtype | EPTP_WALK_LENGTH_4 |
	       (e->ad_enabled ? EPTP_AD_ENABLE : 0);
}

struct check_args {
	const struct ept_rules *rules;
	char *why;
	size_t len;
};

static int check_one(void *ctx, uint64_t gpa, unsigned level, uint64_t entry, bool leaf)
{
	struct check_args *a = ctx;
	char reason[96];

	(void)leaf;
	if (!ept_validate_entry(entry, level, a->rules, reason, sizeof(reason)))
		return 0;
	return bad(a->why, a->len, "gpa 0x%llx entry 0x%llx: %s", (unsigned long long)gpa,
		   (unsigned long long)entry, reason);
}

int ept_check(const struct ept *e, char *why, size_t len)
{
	struct check_args a = { .why = why, .len = len };

	if (!e || !e->pt.root_pa)
		return bad(why, len, "EPT not initialised");
	a.rules = &e->rules;
	return pgt_walk(&e->pt, check_one, &a);
}
