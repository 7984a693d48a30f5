/*
 * SCSI to NVMe translation (drivers/scsi/scsi_nvme.c), for the NVMe
 * driver. Pure code, host-tested. Each namespace is a LUN (nsid - 1).
 * READ/WRITE -> Read/Write, SYNCHRONIZE CACHE -> Flush (or nothing without
 * a volatile write cache), COMPARE AND WRITE of one block -> a fused
 * Compare + Write pair where the controller supports fused operations;
 * INQUIRY, VPD (eui. identifiers from NGUID/EUI64), READ CAPACITY and
 * REPORT LUNS from Identify data. The driver fills in CIDs and PRPs.
 * UNMAP -> Dataset Management (deallocate) where ONCS has it, its ranges
 * written to a payload buffer the driver supplies; WRITE SAME of a zero
 * block -> Write Zeroes (with DEAC when the UNMAP bit is set) where ONCS
 * has Write Zeroes.
 */
#ifndef SCSI_NVME_H
#define SCSI_NVME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <drivers/nvme_hw.h>
#include <drivers/scsi.h>

struct nvme_ctrl_info {
	uint16_t vid;
	char model[41], serial[21], firmware[9];
	uint32_t nn;			/* namespaces */
	uint8_t mdts;			/* log2 of max transfer in min pages, 0 = no limit */
	uint16_t oncs, fuses;
	bool vwc;			/* volatile write cache */
};

/* Dataset Management ranges per UNMAP: one payload buffer of this size per command. */
#define NVME_DSM_PAYLOAD	2048
#define NVME_DSM_MAX_RANGES	(NVME_DSM_PAYLOAD / NVME_DSM_RANGE_BYTES)

struct nvme_ns_info {
	uint32_t nsid;
	uint64_t blocks;
	uint32_t block_size;
	bool dealloc_zeroes;		/* DLFEAT: deallocated blocks read as zeroes */
	bool has_nguid, has_eui64;
	uint8_t nguid[16], eui64[8];
};

void nvme_parse_ctrl(const uint8_t *id, struct nvme_ctrl_info *c);
/* 0, or -EINVAL (err) for a namespace that cannot be used (no capacity, metadata, odd size). */
int nvme_parse_ns(const uint8_t *id, uint32_t nsid, struct nvme_ns_info *ns, char *err,
		  size_t errlen);
void nvme_emul_disk(const struct nvme_ctrl_info *c, const struct nvme_ns_info *ns,
		    struct scsi_emul_disk *e);

enum nvme_xlat { NVME_XLAT_COMPLETE, NVME_XLAT_ISSUE };

/*
 * Translate one CDB addressed to namespace ns (luns/nluns: every LUN, for
 * REPORT LUNS). ISSUE: sqe[0..*nsqe) hold the command(s) (a fused pair:
 * 2, with *split the byte offset in the data where the second's data
 * starts); COMPLETE: status/sense/resid final. payload: NVME_DSM_PAYLOAD
 * bytes of DMA memory for Dataset Management ranges; *payload_len > 0 says
 * the command's data is there (PRP1 = its address), not in buf.
 */
enum nvme_xlat nvme_translate(const struct nvme_ctrl_info *c, const struct nvme_ns_info *ns,
			      const struct scsi_emul_disk *e, const unsigned *luns, unsigned nluns,
			      const uint8_t *cdb, unsigned cdb_len, void *buf, uint32_t buflen,
			      struct nvme_sqe *sqe, unsigned *nsqe, uint32_t *split,
			      uint8_t *payload, uint32_t *payload_len,
			      uint8_t *status, uint8_t *sense, uint8_t *sense_len, uint32_t *resid);

/* Sense for a completion status (SCT, SC); status GOOD for success. */
void nvme_status_sense(unsigned sct, unsigned sc, bool write, uint8_t *status, uint8_t *sense,
		       uint8_t *sense_len);

#endif
