/*
 * SCSI to NVMe translation (pure; see include/scsi_nvme.h). The mapping
 * follows NVM Express's SCSI Translation Reference where it applies to
 * the commands the vmkernel uses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/scsi_nvme.h>

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static bool all_zero(const uint8_t *p, unsigned n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

void nvme_parse_ctrl(const uint8_t *id, struct nvme_ctrl_info *c)
{
	memset(c, 0, sizeof(*c));
	c->vid = (uint16_t)le(id + NVME_IDC_VID, 2);
	scsi_ascii(id + NVME_IDC_SN, 20, c->serial, sizeof(c->serial));
	scsi_ascii(id + NVME_IDC_MN, 40, c->model, sizeof(c->model));
	scsi_ascii(id + NVME_IDC_FR, 8, c->firmware, sizeof(c->firmware));
	c->mdts = id[NVME_IDC_MDTS];
	c->nn = (uint32_t)le(id + NVME_IDC_NN, 4);
	c->oncs = (uint16_t)le(id + NVME_IDC_ONCS, 2);
	c->fuses = (uint16_t)le(id + NVME_IDC_FUSES, 2);
	c->vwc = id[NVME_IDC_VWC] & 1;
}

int nvme_parse_ns(const uint8_t *id, uint32_t nsid, struct nvme_ns_info *ns, char *err,
		  size_t errlen)
{
	unsigned fmt = id[NVME_IDN_FLBAS] & 0xf;
	const uint8_t *lbaf = id + NVME_IDN_LBAF + 4 * fmt;
	unsigned ms = (unsigned)le(lbaf, 2), lbads = lbaf[2];

	memset(ns, 0, sizeof(*ns));
	ns->nsid = nsid;
	ns->blocks = le(id + NVME_IDN_NSZE, 8);
	if (!ns->blocks) {
		snprintf(err, errlen, "namespace %u is inactive (size 0)", nsid);
		return -EINVAL;
	}
	if (fmt > id[NVME_IDN_NLBAF] || lbads < 9 || lbads > 16) {
		snprintf(err, errlen, "namespace %u: LBA format %u (2^%u-byte blocks) unusable", nsid,
			 fmt, lbads);
		return -EINVAL;
	}
	if (ms && (id[NVME_IDN_FLBAS] & 0x10)) {
		snprintf(err, errlen, "namespace %u: extended-LBA metadata is not supported", nsid);
		return -EINVAL;
	}
	ns->block_size = 1u << lbads;
	ns->dealloc_zeroes = (id[NVME_IDN_DLFEAT] & 7) == 1;
	ns->has_nguid = !all_zero(id + NVME_IDN_NGUID, 16);
	ns->has_eui64 = !all_zero(id + NVME_IDN_EUI64, 8);
	memcpy(ns->nguid, id + NVME_IDN_NGUID, 16);
	memcpy(ns->eui64, id + NVME_IDN_EUI64, 8);
	return 0;
}

void nvme_emul_disk(const struct nvme_ctrl_info *c, const struct nvme_ns_info *ns,
		    struct scsi_emul_disk *e)
{
	memset(e, 0, sizeof(*e));
	e->vendor = "NVMe";
	e->product = c->model;
	e->revision = c->firmware;
	e->serial = c->serial;
	if (ns->has_nguid) {
		memcpy(e->eui, ns->nguid, 16);
		e->eui_len = 16;
	} else if (ns->has_eui64) {
		memcpy(e->eui, ns->eui64, 8);
		e->eui_len = 8;
	}
	snprintf(e->t10_vendor, sizeof(e->t10_vendor), "NVMe");
	e->blocks = ns->blocks;
	e->block_size = ns->block_size;
	e->phys_block_size = ns->block_size;
	e->caw_blocks = (c->fuses & NVME_FUSES_CAW) && (c->oncs & NVME_ONCS_COMPARE) ? 1 : 0;
	if (c->oncs & NVME_ONCS_DSM) {
		e->unmap = true;
		e->max_unmap_descs = NVME_DSM_MAX_RANGES;
		e->max_unmap_blocks = 0xffffffffu;	/* each range's count is 32-bit, as UNMAP's */
	}
	if (c->oncs & NVME_ONCS_WRITE_ZEROES) {
		e->max_write_same_blocks = 65536;	/* NLB is 16-bit, 0's based */
		e->write_same_unmap = true;		/* DEAC */
	}
	e->lbprz = (e->unmap || e->write_same_unmap) && ns->dealloc_zeroes;
}

static enum nvme_xlat check(uint8_t *status, uint8_t *sense, uint8_t *sense_len, uint8_t key,
			    uint16_t asc)
{
	*sense_len = scsi_sense_fill(sense, key, asc);
	*status = SCSI_STATUS_CHECK_CONDITION;
	return NVME_XLAT_COMPLETE;
}

static void rw_sqe(struct nvme_sqe *s, uint8_t op, uint32_t nsid, uint64_t lba, uint32_t blocks,
		   bool fua)
{
	memset(s, 0, sizeof(*s));
	s->cdw0 = op;
	s->nsid = nsid;
	s->cdw10 = (uint32_t)lba;
	s->cdw11 = (uint32_t)(lba >> 32);
	s->cdw12 = (blocks - 1) | (fua ? NVME_RW_FUA : 0);
}

static unsigned report_luns(const unsigned *luns, unsigned n, uint8_t *r, unsigned max)
{
	unsigned len = 8 + 8 * n;

	memset(r, 0, max < len ? max : len);
	if (max >= 4) {
		r[0] = (uint8_t)((8 * n) >> 24);
		r[1] = (uint8_t)((8 * n) >> 16);
		r[2] = (uint8_t)((8 * n) >> 8);
		r[3] = (uint8_t)(8 * n);
	}
	for (unsigned i = 0; i < n && 16 + 8 * i <= max; i++) {
		uint8_t *l = r + 8 + 8 * i;

		if (luns[i] < 256) {
			l[1] = (uint8_t)luns[i];
		} else {
			l[0] = (uint8_t)(0x40 | (luns[i] >> 8));	/* flat space */
			l[1] = (uint8_t)luns[i];
		}
	}
	return len < max ? len : max;
}

static enum nvme_xlat rw(const struct nvme_ns_info *ns, const struct scsi_rw *r, uint32_t buflen,
			 struct nvme_sqe *sqe, unsigned *nsqe, uint32_t *split, uint8_t *status,
			 uint8_t *sense, uint8_t *sense_len, uint32_t *resid)
{
	bool caw = r->op == SCSI_COMPARE_AND_WRITE;

	if (r->lba > ns->blocks || r->blocks > ns->blocks - r->lba)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_LBA_OUT_OF_RANGE);
	if (!r->blocks) {
		*resid = buflen;
		return NVME_XLAT_COMPLETE;
	}
	if (r->blocks > 65536 ||
	    (uint64_t)r->blocks * ns->block_size * (caw ? 2 : 1) != buflen)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_FIELD_CDB);
	if (caw) {
		rw_sqe(&sqe[0], NVME_CMD_COMPARE, ns->nsid, r->lba, r->blocks, false);
		sqe[0].cdw0 |= NVME_FUSE_FIRST;
		rw_sqe(&sqe[1], NVME_CMD_WRITE, ns->nsid, r->lba, r->blocks, r->fua);
		sqe[1].cdw0 |= NVME_FUSE_SECOND;
		*nsqe = 2;
		*split = r->blocks * ns->block_size;
		return NVME_XLAT_ISSUE;
	}
	rw_sqe(&sqe[0], r->write ? NVME_CMD_WRITE : NVME_CMD_READ, ns->nsid, r->lba, r->blocks,
	       r->fua);
	*nsqe = 1;
	return NVME_XLAT_ISSUE;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* UNMAP -> Dataset Management, attribute deallocate: one 16-byte range per descriptor. */
static enum nvme_xlat dsm(const struct nvme_ns_info *ns, const struct scsi_emul_disk *e,
			  const uint8_t *cdb, unsigned cdb_len, const void *buf, uint32_t buflen,
			  struct nvme_sqe *sqe, unsigned *nsqe, uint8_t *payload,
			  uint32_t *payload_len, uint8_t *status, uint8_t *sense, uint8_t *sense_len)
{
	struct scsi_range r[NVME_DSM_MAX_RANGES];
	int n = scsi_unmap_decode(e, cdb, cdb_len, buf, buflen, r, NVME_DSM_MAX_RANGES, status,
				  sense, sense_len);

	if (n <= 0)
		return NVME_XLAT_COMPLETE;
	memset(payload, 0, (size_t)n * NVME_DSM_RANGE_BYTES);
	for (int i = 0; i < n; i++) {
		uint8_t *d = payload + i * NVME_DSM_RANGE_BYTES;

		put_le(d + 4, r[i].blocks, 4);
		put_le(d + 8, r[i].lba, 8);
	}
	memset(sqe, 0, sizeof(*sqe));
	sqe->cdw0 = NVME_CMD_DSM;
	sqe->nsid = ns->nsid;
	sqe->cdw10 = (uint32_t)(n - 1);
	sqe->cdw11 = NVME_DSM_AD;
	*payload_len = (uint32_t)n * NVME_DSM_RANGE_BYTES;
	*nsqe = 1;
	return NVME_XLAT_ISSUE;
}

/* WRITE SAME of zeroes -> Write Zeroes (DEAC with the UNMAP bit). */
static enum nvme_xlat write_zeroes(const struct nvme_ns_info *ns, const struct scsi_emul_disk *e,
				   const uint8_t *cdb, unsigned cdb_len, const void *buf,
				   uint32_t buflen, struct nvme_sqe *sqe, unsigned *nsqe,
				   uint8_t *status, uint8_t *sense, uint8_t *sense_len)
{
	struct scsi_write_same ws;

	if (scsi_write_same_decode(e, cdb, cdb_len, buf, buflen, &ws, status, sense, sense_len))
		return NVME_XLAT_COMPLETE;
	memset(sqe, 0, sizeof(*sqe));
	sqe->cdw0 = NVME_CMD_WRITE_ZEROES;
	sqe->nsid = ns->nsid;
	sqe->cdw10 = (uint32_t)ws.lba;
	sqe->cdw11 = (uint32_t)(ws.lba >> 32);
	sqe->cdw12 = (ws.blocks - 1) | (ws.unmap ? NVME_WZ_DEAC : 0);
	*nsqe = 1;
	return NVME_XLAT_ISSUE;
}

enum nvme_xlat nvme_translate(const struct nvme_ctrl_info *c, const struct nvme_ns_info *ns,
			      const struct scsi_emul_disk *e, const unsigned *luns, unsigned nluns,
			      const uint8_t *cdb, unsigned cdb_len, void *buf, uint32_t buflen,
			      struct nvme_sqe *sqe, unsigned *nsqe, uint32_t *split,
			      uint8_t *payload, uint32_t *payload_len,
			      uint8_t *status, uint8_t *sense, uint8_t *sense_len, uint32_t *resid)
{
	struct scsi_rw r;

	*status = SCSI_STATUS_GOOD;
	*sense_len = 0;
	*resid = 0;
	*nsqe = 0;
	*split = 0;
	*payload_len = 0;
	if (!cdb_len)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_OPCODE);
	switch (cdb[0]) {
	case SCSI_SYNCHRONIZE_CACHE_10:
	case SCSI_SYNCHRONIZE_CACHE_16:
		*resid = buflen;
		if (!c->vwc)
			return NVME_XLAT_COMPLETE;	/* nothing volatile to flush */
		memset(sqe, 0, sizeof(*sqe));
		sqe->cdw0 = NVME_CMD_FLUSH;
		sqe->nsid = ns->nsid;
		*nsqe = 1;
		return NVME_XLAT_ISSUE;
	case SCSI_REPORT_LUNS: {
		uint32_t alloc = (uint32_t)cdb[6] << 24 | (uint32_t)cdb[7] << 16 | cdb[8] << 8 | cdb[9];
		unsigned n = report_luns(luns, nluns, buf, alloc < buflen ? alloc : buflen);

		*resid = buflen - n;
		return NVME_XLAT_COMPLETE;
	}
	case SCSI_COMPARE_AND_WRITE:
		if (!e->caw_blocks || cdb_len < 16 || cdb[13] != 1)
			return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
				     e->caw_blocks ? SCSI_ASC_INVALID_FIELD_CDB :
				     SCSI_ASC_INVALID_OPCODE);
		break;
	case SCSI_UNMAP:
		return dsm(ns, e, cdb, cdb_len, buf, buflen, sqe, nsqe, payload, payload_len, status,
			   sense, sense_len);
	case SCSI_WRITE_SAME_10:
	case SCSI_WRITE_SAME_16:
		return write_zeroes(ns, e, cdb, cdb_len, buf, buflen, sqe, nsqe, status, sense,
				    sense_len);
	case SCSI_VERIFY_10:
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_OPCODE);
	}
	if (!scsi_cdb_decode_rw(cdb, cdb_len, &r))
		return rw(ns, &r, buflen, sqe, nsqe, split, status, sense, sense_len, resid);
	if (scsi_emul(e, cdb, cdb_len, buf, buflen, resid, sense, sense_len, status))
		return NVME_XLAT_COMPLETE;
	return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
}

void nvme_status_sense(unsigned sct, unsigned sc, bool write, uint8_t *status, uint8_t *sense,
		       uint8_t *sense_len)
{
	uint8_t key = SCSI_SK_HARDWARE_ERROR;
	uint16_t asc = SCSI_ASC_INTERNAL_TARGET_FAILURE;

	*sense_len = 0;
	if (sct == NVME_SCT_GENERIC && sc == NVME_SC_SUCCESS) {
		*status = SCSI_STATUS_GOOD;
		return;
	}
	if (sct == NVME_SCT_GENERIC) {
		switch (sc) {
		case NVME_SC_INVALID_OPCODE:
			key = SCSI_SK_ILLEGAL_REQUEST, asc = SCSI_ASC_INVALID_OPCODE;
			break;
		case NVME_SC_INVALID_FIELD:
			key = SCSI_SK_ILLEGAL_REQUEST, asc = SCSI_ASC_INVALID_FIELD_CDB;
			break;
		case NVME_SC_LBA_RANGE:
		case NVME_SC_CAP_EXCEEDED:
			key = SCSI_SK_ILLEGAL_REQUEST, asc = SCSI_ASC_LBA_OUT_OF_RANGE;
			break;
		case NVME_SC_NS_NOT_READY:
			key = SCSI_SK_NOT_READY, asc = SCSI_ASC_LUN_NOT_READY;
			break;
		case NVME_SC_DATA_XFER_ERROR:
		case NVME_SC_ABORT_REQ:
		case NVME_SC_ABORT_SQ_DEL:
		case NVME_SC_FUSED_FAIL:
		case NVME_SC_FUSED_MISSING:
			key = SCSI_SK_ABORTED_COMMAND, asc = SCSI_ASC_NONE;
			break;
		}
	} else if (sct == NVME_SCT_MEDIA) {
		switch (sc) {
		case NVME_SC_WRITE_FAULT:
			key = SCSI_SK_MEDIUM_ERROR, asc = SCSI_ASC_WRITE_ERROR;
			break;
		case NVME_SC_READ_ERROR:
			key = SCSI_SK_MEDIUM_ERROR, asc = SCSI_ASC_UNRECOVERED_READ;
			break;
		case NVME_SC_COMPARE_FAILED:
			key = SCSI_SK_MISCOMPARE, asc = SCSI_ASC_MISCOMPARE_VERIFY;
			break;
		case NVME_SC_ACCESS_DENIED:
			key = SCSI_SK_DATA_PROTECT, asc = SCSI_ASC_WRITE_PROTECTED;
			break;
		default:
			key = SCSI_SK_MEDIUM_ERROR, asc = write ? SCSI_ASC_WRITE_ERROR :
							  SCSI_ASC_UNRECOVERED_READ;
		}
	}
	*sense_len = scsi_sense_fill(sense, key, asc);
	*status = SCSI_STATUS_CHECK_CONDITION;
}
