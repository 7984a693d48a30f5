/*
 * ATA/ATAPI-8 (ACS-3) command set constants: commands, status and error
 * register bits, and the IDENTIFY DEVICE words the vmkernel reads.
 */
#ifndef ATA_HW_H
#define ATA_HW_H

/* Commands (ACS-3 chapter 7) */
#define ATA_CMD_READ_DMA		0xc8
#define ATA_CMD_WRITE_DMA		0xca
#define ATA_CMD_READ_DMA_EXT		0x25
#define ATA_CMD_WRITE_DMA_EXT		0x35
#define ATA_CMD_WRITE_DMA_FUA_EXT	0x3d
#define ATA_CMD_READ_FPDMA_QUEUED	0x60
#define ATA_CMD_WRITE_FPDMA_QUEUED	0x61
#define ATA_CMD_FLUSH_CACHE		0xe7
#define ATA_CMD_FLUSH_CACHE_EXT		0xea
#define ATA_CMD_IDENTIFY		0xec
#define ATA_CMD_IDENTIFY_PACKET		0xa1
#define ATA_CMD_SET_FEATURES		0xef
#define ATA_CMD_DSM			0x06	/* DATA SET MANAGEMENT (TRIM) */

/* Status register */
#define ATA_SR_BSY	0x80
#define ATA_SR_DRDY	0x40
#define ATA_SR_DF	0x20
#define ATA_SR_DRQ	0x08
#define ATA_SR_ERR	0x01

/* Error register */
#define ATA_ER_ICRC	0x80
#define ATA_ER_UNC	0x40
#define ATA_ER_IDNF	0x10
#define ATA_ER_ABRT	0x04

/* Device register */
#define ATA_DEV_LBA	0x40
#define ATA_DEV_FUA	0x80	/* FPDMA commands */

/* IDENTIFY DEVICE words (ACS-3 7.12.7) */
#define ATA_ID_CONFIG		0	/* bit 15: 1 = not an ATA device */
#define ATA_ID_SERIAL		10	/* 20 ASCII characters, byte-swapped words */
#define ATA_ID_FW_REV		23	/* 8 */
#define ATA_ID_MODEL		27	/* 40 */
#define ATA_ID_CAPABILITY	49	/* bit 9 LBA, bit 8 DMA */
#define ATA_ID_LBA28_SECTORS	60	/* 2 words */
#define ATA_ID_QUEUE_DEPTH	75	/* bits 4:0 = depth - 1 */
#define ATA_ID_SATA_CAP		76	/* bit 8: NCQ */
#define ATA_ID_ADDITIONAL	69	/* bit 14: deterministic read after TRIM, 5: zeroes */
#define ATA_ID_CMDSET_1		82	/* bit 5: write cache */
#define ATA_ID_CMDSET_2		83	/* bit 10: 48-bit addresses */
#define ATA_ID_CMDSET_EN_2	86	/* bit 10: 48-bit addresses enabled */
#define ATA_ID_LBA48_SECTORS	100	/* 4 words */
#define ATA_ID_SECTOR_SIZE	106	/* phys/logical sector size */
#define ATA_ID_WWN		108	/* 4 words, NAA 5 */
#define ATA_ID_LOGICAL_SIZE	117	/* 2 words, in 16-bit words */
#define ATA_ID_DSM		169	/* bit 0: TRIM */

/* DATA SET MANAGEMENT (ACS-3 7.5): FEATURES bit 0 = TRIM; 512-byte blocks of
 * 8-byte entries, LBA in bits 47:0 and a count of up to 65535 in 63:48. */
#define ATA_DSM_TRIM		0x01
#define ATA_DSM_ENTRIES		64	/* per 512-byte block */
#define ATA_DSM_RANGE_MAX	0xffff

#endif
