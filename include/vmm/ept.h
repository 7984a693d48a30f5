/*
 * The VMM's EPT builder: guest-physical to host-physical mappings for one
 * VM, on top of the shared page-table walker (<pgtable.h>). Nothing here
 * touches hardware: the caller loads ept_eptp() into the VMCS and runs
 * INVEPT after unmap, remap and protect.
 */
#ifndef EPT_H
#define EPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmm/ept_hw.h>
#include <vmkernel/pgtable.h>

/* Permissions (the same bits as the entry's bits 2:0) */
#define EPT_R		1U
#define EPT_W		2U
#define EPT_X		4U
#define EPT_PERMS	(EPT_R | EPT_W | EPT_X)
/*
 * Not a permission: or'd into perms for ept_map/ept_remap, and reported by
 * ept_lookup, it marks a leaf that maps a shared frame (bit EPT_SW_SHARED,
 * which the CPU ignores). Page sharing keeps such leaves read-only.
 */
#define EPT_SHARED	0x80U

/* Or'd into a memtype argument / reported by ept_lookup: the leaf sets ignore-PAT. */
#define EPT_MEMTYPE_IGNORE_PAT	0x100U

/* What this CPU's EPT accepts (IA32_VMX_EPT_VPID_CAP, CPUID.80000008 for MAXPHYADDR). */
struct ept_rules {
	bool has_2m;		/* 2 MiB leaves (cap bit 16) */
	bool has_1g;		/* 1 GiB leaves (cap bit 17) */
	bool exec_only;		/* execute-only translations (cap bit 0) */
	uint8_t maxphyaddr;	/* physical address width; bits 51:maxphyaddr are reserved */
};

struct ept {
	struct pgtable pt;		/* pt.err says why the last failing call failed */
	struct pgt_format fmt;		/* this instance's format (leaf levels from caps) */
	struct ept_rules rules;
	bool ad_enabled;
	unsigned max_leaf_level;	/* 1, 2 or 3 */
};

/*
 * Allocate an empty EPT. exec_only starts false and maxphyaddr at 52: set
 * e->rules.exec_only / maxphyaddr from the CPU after init to allow
 * execute-only mappings / to reject host addresses beyond MAXPHYADDR.
 */
int ept_init(struct ept *e, const struct pgt_pool *pool, bool has_2m, bool has_1g, bool has_ad);
/*
 * Map [gpa, gpa+size) to [hpa, hpa+size). perms: EPT_R|EPT_W|EPT_X, W needs R,
 * X alone needs rules.exec_only. memtype: EPT_MT_* optionally |
 * EPT_MEMTYPE_IGNORE_PAT. -EEXIST if any of the range is already mapped.
 */
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
	    unsigned memtype);
/* Like ept_map, but atomically replaces whatever is mapped in the range. */
int ept_remap(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perms,
	      unsigned memtype);
int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size);
/* Translate gpa. Any output pointer may be NULL. -ENOENT if unmapped. */
int ept_lookup(const struct ept *e, uint64_t gpa, uint64_t *hpa, unsigned *perms,
	       unsigned *memtype, uint64_t *page_size);
/* Change permissions of every mapped page in the range (e.g. clear EPT_W for copy-on-write). */
int ept_protect(struct ept *e, uint64_t gpa, uint64_t size, unsigned clear_perms,
		unsigned set_perms);
void ept_destroy(struct ept *e);
/* EPTP for the VMCS; memtype of the paging structures EPT_MT_WB or EPT_MT_UC, else 0. */
uint64_t ept_eptp(const struct ept *e, unsigned memtype);

/*
 * Would the CPU call this present entry at `level` (4 = PML4E .. 1 = PTE) an
 * EPT misconfiguration (SDM 3C 29.3.3.1)? 0, or -EINVAL with the reason in
 * why. Not-present entries (bits 2:0 clear) are never misconfigured.
 */
int ept_validate_entry(uint64_t entry, unsigned level, const struct ept_rules *rules,
		       char *why, size_t len);
/* Validate every entry of e; -EINVAL naming the gpa, level and reason in why. */
int ept_check(const struct ept *e, char *why, size_t len);

#endif
