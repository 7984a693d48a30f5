/*
 * Extended page tables: the hardware encoding of EPT paging-structure
 * entries and of the EPT pointer. Intel SDM Vol. 3C ch. 29 ("VMX Support
 * for Address Translation"), section 29.3 ("The Extended Page Table
 * Mechanism"); the EPTP VMCS field is in 25.6.11.
 */
#ifndef EPT_HW_H
#define EPT_HW_H

/* EPT paging-structure entries (SDM 3C 29.3.2, tables 29-1 to 29-6): 64 bits each */
#define EPT_READ		(1ULL << 0)	/* read access */
#define EPT_WRITE		(1ULL << 1)	/* write access */
#define EPT_EXECUTE		(1ULL << 2)	/* supervisor-mode execute access */
#define EPT_RWX			(EPT_READ | EPT_WRITE | EPT_EXECUTE)
#define EPT_MEMTYPE_SHIFT	3		/* leaves: EPT memory type, bits 5:3 */
#define EPT_MEMTYPE_MASK	(7ULL << EPT_MEMTYPE_SHIFT)
#define EPT_IGNORE_PAT		(1ULL << 6)	/* leaves: ignore guest PAT memory type */
#define EPT_LARGE_PAGE		(1ULL << 7)	/* PDPTE/PDE: maps a 1 GiB / 2 MiB page */
#define EPT_ACCESSED		(1ULL << 8)	/* set by the CPU if EPTP A/D enable */
#define EPT_DIRTY		(1ULL << 9)	/* leaves: set by the CPU if EPTP A/D enable */
#define EPT_USER_EXECUTE	(1ULL << 10)	/* user-mode execute (mode-based execute) */
#define EPT_SUPPRESS_VE		(1ULL << 63)	/* leaves: suppress #VE */
/* Bits 62:52 of a leaf are ignored by the CPU (29.3.2): this one is the VMM's. */
#define EPT_SW_SHARED		(1ULL << 52)	/* leaves: a page-sharing frame (mem/pshare.c) */
#define EPT_SW_SWAPPED		(1ULL << 53)	/* non-present leaves: page is in swap slot bits 51:12 (mem/guest_swap.c) */
#define EPT_SW_SWAPIO		(1ULL << 54)	/* non-present leaves: its swap-out write is in flight */
#define EPT_ADDR_MASK		0x000ffffffffff000ULL	/* bits 51:12 */
#define EPT_NONLEAF_RSVD	(0x1fULL << 3)	/* bits 7:3 of an entry referencing a table */
#define EPT_1G_ADDR_RSVD	0x3ffff000ULL	/* bits 29:12 of a 1 GiB PDPTE */
#define EPT_2M_ADDR_RSVD	0x001ff000ULL	/* bits 20:12 of a 2 MiB PDE */

/* EPT memory types (SDM 3C 29.3.7; encodings as in SDM 3A table 11-2). 2, 3, 7 reserved. */
#define EPT_MT_UC		0
#define EPT_MT_WC		1
#define EPT_MT_WT		4
#define EPT_MT_WP		5
#define EPT_MT_WB		6

/* EPT pointer, VMCS field 0x201a (SDM 3C 25.6.11, table 25-9) */
#define EPTP_MEMTYPE_MASK	0x7ULL		/* bits 2:0: paging-structure memory type */
#define EPTP_MEMTYPE_UC		0ULL
#define EPTP_MEMTYPE_WB		6ULL
#define EPTP_WALK_LENGTH_SHIFT	3		/* bits 5:3: page-walk length minus 1 */
#define EPTP_WALK_LENGTH_4	(3ULL << EPTP_WALK_LENGTH_SHIFT)
#define EPTP_AD_ENABLE		(1ULL << 6)	/* accessed and dirty flags */
#define EPTP_ADDR_MASK		0x000ffffffffff000ULL	/* bits 51:12: the EPT PML4 */

#endif
