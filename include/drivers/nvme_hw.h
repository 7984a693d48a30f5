/*
 * NVM Express 1.4 constants: controller registers (3.1), submission and
 * completion queue entries (4.2, 4.6), admin and NVM command opcodes
 * (5, 6) and the status codes the vmkernel maps to SCSI sense.
 */
#ifndef NVME_HW_H
#define NVME_HW_H

#include <stdint.h>

/* Controller registers */
#define NVME_REG_CAP		0x00	/* 64 */
#define NVME_REG_VS		0x08
#define NVME_REG_INTMS		0x0c
#define NVME_REG_INTMC		0x10
#define NVME_REG_CC		0x14
#define NVME_REG_CSTS		0x1c
#define NVME_REG_AQA		0x24
#define NVME_REG_ASQ		0x28	/* 64 */
#define NVME_REG_ACQ		0x30	/* 64 */
#define NVME_REG_DBS		0x1000

#define NVME_CAP_MQES(c)	((unsigned)((c) & 0xffff) + 1)
#define NVME_CAP_TO_MS(c)	((unsigned)(((c) >> 24) & 0xff) * 500)
#define NVME_CAP_DSTRD(c)	((unsigned)(((c) >> 32) & 0xf))
#define NVME_CAP_CSS_NVM(c)	(((c) >> 37) & 1)
#define NVME_CAP_MPSMIN(c)	((unsigned)(((c) >> 48) & 0xf))

#define NVME_CC_EN		(1u << 0)
#define NVME_CC_CSS_NVM		(0u << 4)
#define NVME_CC_MPS(shift)	((uint32_t)((shift) - 12) << 7)
#define NVME_CC_AMS_RR		(0u << 11)
#define NVME_CC_SHN_NORMAL	(1u << 14)
#define NVME_CC_IOSQES		(6u << 16)	/* 64-byte entries */
#define NVME_CC_IOCQES		(4u << 20)	/* 16-byte entries */

#define NVME_CSTS_RDY		(1u << 0)
#define NVME_CSTS_CFS		(1u << 1)

/* Admin commands */
#define NVME_ADM_DELETE_SQ	0x00
#define NVME_ADM_CREATE_SQ	0x01
#define NVME_ADM_DELETE_CQ	0x04
#define NVME_ADM_CREATE_CQ	0x05
#define NVME_ADM_IDENTIFY	0x06
#define NVME_ADM_ABORT		0x08
#define NVME_ADM_SET_FEATURES	0x09

#define NVME_CNS_NS		0x00
#define NVME_CNS_CTRL		0x01
#define NVME_CNS_NS_LIST	0x02
#define NVME_FEAT_NUM_QUEUES	0x07

/* NVM commands */
#define NVME_CMD_FLUSH		0x00
#define NVME_CMD_WRITE		0x01
#define NVME_CMD_READ		0x02
#define NVME_CMD_COMPARE	0x05
#define NVME_CMD_WRITE_ZEROES	0x08
#define NVME_CMD_DSM		0x09

#define NVME_FUSE_FIRST		(1u << 8)
#define NVME_FUSE_SECOND	(2u << 8)
#define NVME_RW_FUA		(1u << 30)
#define NVME_WZ_DEAC		(1u << 25)	/* Write Zeroes: may deallocate (CDW12) */
#define NVME_DSM_AD		(1u << 2)	/* Dataset Management: deallocate (CDW11) */
#define NVME_DSM_RANGE_BYTES	16		/* context attributes, NLB, SLBA (6.7) */

/* Submission queue entry (4.2) */
struct nvme_sqe {
	uint32_t cdw0;		/* opcode 7:0, FUSE 9:8, PSDT 15:14, CID 31:16 */
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "NVMe SQE");

/* Completion queue entry (4.6) */
struct nvme_cqe {
	uint32_t dw0;
	uint32_t dw1;
	uint16_t sq_head;
	uint16_t sq_id;
	uint16_t cid;
	uint16_t status;	/* P bit 0, SC 8:1, SCT 11:9, CRD 13:12, M 14, DNR 15 */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "NVMe CQE");

#define NVME_CQE_PHASE(s)	((s) & 1)
#define NVME_CQE_SC(s)		(((s) >> 1) & 0xff)
#define NVME_CQE_SCT(s)		(((s) >> 9) & 0x7)
#define NVME_CQE_DNR(s)		(((s) >> 15) & 1)

/* Status code types and codes */
#define NVME_SCT_GENERIC	0
#define NVME_SCT_CMD_SPECIFIC	1
#define NVME_SCT_MEDIA		2
#define NVME_SC_SUCCESS		0x00
#define NVME_SC_INVALID_OPCODE	0x01
#define NVME_SC_INVALID_FIELD	0x02
#define NVME_SC_DATA_XFER_ERROR	0x04
#define NVME_SC_INTERNAL	0x06
#define NVME_SC_ABORT_REQ	0x07
#define NVME_SC_ABORT_SQ_DEL	0x08
#define NVME_SC_FUSED_FAIL	0x09
#define NVME_SC_FUSED_MISSING	0x0a
#define NVME_SC_LBA_RANGE	0x80
#define NVME_SC_CAP_EXCEEDED	0x81
#define NVME_SC_NS_NOT_READY	0x82
#define NVME_SC_WRITE_FAULT	0x80	/* media */
#define NVME_SC_READ_ERROR	0x81	/* media */
#define NVME_SC_COMPARE_FAILED	0x85	/* media */
#define NVME_SC_ACCESS_DENIED	0x86	/* media */

/* Identify data offsets */
#define NVME_IDC_VID		0
#define NVME_IDC_SN		4	/* 20 */
#define NVME_IDC_MN		24	/* 40 */
#define NVME_IDC_FR		64	/* 8 */
#define NVME_IDC_MDTS		77
#define NVME_IDC_NN		516
#define NVME_IDC_ONCS		520
#define NVME_IDC_FUSES		522
#define NVME_IDC_VWC		525
#define NVME_IDN_NSZE		0
#define NVME_IDN_NLBAF		25
#define NVME_IDN_FLBAS		26
#define NVME_IDN_DLFEAT		33	/* 2:0 = 001b: deallocated blocks read as zeroes */
#define NVME_IDN_NGUID		104
#define NVME_IDN_EUI64		120
#define NVME_IDN_LBAF		128

#define NVME_ONCS_COMPARE	(1u << 0)
#define NVME_ONCS_DSM		(1u << 2)
#define NVME_ONCS_WRITE_ZEROES	(1u << 3)
#define NVME_FUSES_CAW		(1u << 0)

#endif
