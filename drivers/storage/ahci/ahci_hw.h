/*
 * AHCI 1.3.1 register layout and structures (Serial ATA AHCI 1.3.1
 * specification, chapters 3 and 4) and the FIS types of SATA 3.x.
 */
#ifndef AHCI_HW_H
#define AHCI_HW_H

#include <stdint.h>

/* Generic host control (3.1) */
#define AHCI_CAP		0x00
#define AHCI_GHC		0x04
#define AHCI_IS			0x08
#define AHCI_PI			0x0c
#define AHCI_VS			0x10
#define AHCI_CAP2		0x24
#define AHCI_BOHC		0x28

#define AHCI_CAP_NP(c)		(((c) & 0x1f) + 1)
#define AHCI_CAP_NCS(c)		((((c) >> 8) & 0x1f) + 1)
#define AHCI_CAP_SAM		(1u << 18)
#define AHCI_CAP_SNCQ		(1u << 30)
#define AHCI_CAP_S64A		(1u << 31)
#define AHCI_CAP2_BOH		(1u << 0)
#define AHCI_BOHC_BOS		(1u << 0)
#define AHCI_BOHC_OOS		(1u << 1)

#define AHCI_GHC_HR		(1u << 0)
#define AHCI_GHC_IE		(1u << 1)
#define AHCI_GHC_AE		(1u << 31)

/* Port registers (3.3), at 0x100 + 0x80 * port */
#define AHCI_PORT(p)		(0x100 + 0x80 * (p))
#define PX_CLB			0x00
#define PX_CLBU			0x04
#define PX_FB			0x08
#define PX_FBU			0x0c
#define PX_IS			0x10
#define PX_IE			0x14
#define PX_CMD			0x18
#define PX_TFD			0x20
#define PX_SIG			0x24
#define PX_SSTS			0x28
#define PX_SCTL			0x2c
#define PX_SERR			0x30
#define PX_SACT			0x34
#define PX_CI			0x38

#define PX_CMD_ST		(1u << 0)
#define PX_CMD_SUD		(1u << 1)
#define PX_CMD_POD		(1u << 2)
#define PX_CMD_CLO		(1u << 3)
#define PX_CMD_FRE		(1u << 4)
#define PX_CMD_CCS(c)		(((c) >> 8) & 0x1f)
#define PX_CMD_FR		(1u << 14)
#define PX_CMD_CR		(1u << 15)

#define PX_IS_DHRS		(1u << 0)
#define PX_IS_PSS		(1u << 1)
#define PX_IS_DSS		(1u << 2)
#define PX_IS_SDBS		(1u << 3)
#define PX_IS_UFS		(1u << 4)
#define PX_IS_DPS		(1u << 5)
#define PX_IS_PCS		(1u << 6)
#define PX_IS_PRCS		(1u << 22)
#define PX_IS_OFS		(1u << 24)
#define PX_IS_INFS		(1u << 26)
#define PX_IS_IFS		(1u << 27)
#define PX_IS_HBDS		(1u << 28)
#define PX_IS_HBFS		(1u << 29)
#define PX_IS_TFES		(1u << 30)
#define PX_IS_ERRORS		(PX_IS_TFES | PX_IS_HBFS | PX_IS_HBDS | PX_IS_IFS | PX_IS_OFS)

#define PX_SSTS_DET(s)		((s) & 0xf)
#define PX_SSTS_DET_PRESENT	3

#define PX_SIG_ATA		0x00000101u
#define PX_SIG_ATAPI		0xeb140101u

/* Command header (4.2.2), 32 bytes, 32 per port */
struct ahci_cmd_hdr {
	uint16_t flags;		/* CFL 4:0, A 5, W 6, P 7, R 8, B 9, C 10, PMP 15:12 */
	uint16_t prdtl;
	volatile uint32_t prdbc;
	uint32_t ctba;
	uint32_t ctbau;
	uint32_t reserved[4];
};
_Static_assert(sizeof(struct ahci_cmd_hdr) == 32, "AHCI command header");

#define AHCI_HDR_WRITE		(1u << 6)
#define AHCI_HDR_CLEAR_BUSY	(1u << 10)

/* Physical region descriptor (4.2.3.3) */
struct ahci_prd {
	uint32_t dba;
	uint32_t dbau;
	uint32_t reserved;
	uint32_t dbc;		/* byte count - 1 (bit 0 set), I bit 31 */
};
_Static_assert(sizeof(struct ahci_prd) == 16, "AHCI PRD");

#define AHCI_PRD_MAX_BYTES	(4u << 20)
#define AHCI_CT_PRDT		0x80	/* PRDT offset in a command table */

/* FIS types (SATA 3.x 10.5) */
#define FIS_TYPE_REG_H2D	0x27
#define FIS_TYPE_REG_D2H	0x34
#define FIS_TYPE_SDB		0xa1
#define FIS_H2D_COMMAND		0x80	/* C bit in byte 1 */

#endif
