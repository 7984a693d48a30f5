/*
 * SCSI to ATA translation (pure; see include/scsi_ata.h). Follows the
 * mapping of T10's SCSI/ATA Translation (SAT-3) for the commands the
 * vmkernel uses: READ/WRITE(6/10/12/16) become READ/WRITE DMA (EXT) or,
 * where the port can queue, READ/WRITE FPDMA QUEUED; SYNCHRONIZE CACHE
 * becomes FLUSH CACHE (EXT); INQUIRY, VPD, READ CAPACITY and REPORT LUNS
 * are answered from IDENTIFY data. UNMAP becomes DATA SET MANAGEMENT
 * (TRIM) where the disk has it, as SAT-3 describes: the descriptors are cut into
 * TRIM entries of at most 65535 sectors, all in one 512-byte block. The
 * limits VPD 0xb0 states keep that true: 32 descriptors and 32 * 65535
 * blocks per UNMAP never need more than 64 entries. COMPARE AND WRITE and
 * WRITE SAME have no ATA equivalent used here and are refused as
 * unsupported operation codes, which is what the VPD pages advertise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/ata_hw.h>
#include <drivers/scsi_ata.h>

static void id_string(const uint16_t *id, unsigned word, unsigned nchars, char *out)
{
	uint8_t raw[40];

	for (unsigned i = 0; i < nchars / 2; i++) {
		raw[2 * i] = (uint8_t)(id[word + i] >> 8);	/* ATA strings are byte-swapped */
		raw[2 * i + 1] = (uint8_t)id[word + i];
	}
	scsi_ascii(raw, nchars, out, nchars + 1);
}

int ata_identify_parse(const uint16_t id[256], struct ata_dev *a, char *err, size_t errlen)
{
	uint16_t ss = id[ATA_ID_SECTOR_SIZE];

	memset(a, 0, sizeof(*a));
	if (id[ATA_ID_CONFIG] & 0x8000) {
		snprintf(err, errlen, "not an ATA disk (ATAPI)");
		return -EINVAL;
	}
	if (!(id[ATA_ID_CAPABILITY] & (1u << 9)) || !(id[ATA_ID_CAPABILITY] & (1u << 8))) {
		snprintf(err, errlen, "disk lacks LBA addressing or DMA");
		return -EINVAL;
	}
	id_string(id, ATA_ID_MODEL, 40, a->model);
	id_string(id, ATA_ID_SERIAL, 20, a->serial);
	id_string(id, ATA_ID_FW_REV, 8, a->firmware);
	a->lba48 = (id[ATA_ID_CMDSET_2] & (1u << 10)) && (id[ATA_ID_CMDSET_EN_2] & (1u << 10));
	if (a->lba48)
		a->sectors = (uint64_t)id[100] | (uint64_t)id[101] << 16 | (uint64_t)id[102] << 32 |
			     (uint64_t)id[103] << 48;
	if (!a->sectors)
		a->sectors = (uint32_t)id[60] | (uint32_t)id[61] << 16;
	a->sector_size = 512;
	if ((ss & 0xc000) == 0x4000) {
		if (ss & (1u << 12))
			a->sector_size = 2 * ((uint32_t)id[117] | (uint32_t)id[118] << 16);
		a->phys_sector_size = a->sector_size << ((ss & (1u << 13)) ? (ss & 0xf) : 0);
	} else {
		a->phys_sector_size = a->sector_size;
	}
	if (a->sector_size < 512 || a->sector_size > 65536 ||
	    (a->sector_size & (a->sector_size - 1)) || !a->sectors) {
		snprintf(err, errlen, "unusable geometry: %llu sectors of %u bytes",
			 (unsigned long long)a->sectors, a->sector_size);
		return -EINVAL;
	}
	a->ncq = id[ATA_ID_SATA_CAP] != 0xffff && (id[ATA_ID_SATA_CAP] & (1u << 8));
	a->queue_depth = a->ncq ? (id[ATA_ID_QUEUE_DEPTH] & 0x1f) + 1 : 1;
	a->trim = a->lba48 && id[ATA_ID_DSM] != 0xffff && (id[ATA_ID_DSM] & 1);
	a->trim_zeroes = a->trim && (id[ATA_ID_ADDITIONAL] & (1u << 14 | 1u << 5)) ==
			 (1u << 14 | 1u << 5);
	a->write_cache = id[ATA_ID_CMDSET_1] & (1u << 5);
	if ((id[ATA_ID_WWN] >> 12) == 5) {
		a->has_wwn = true;
		for (unsigned i = 0; i < 4; i++) {
			a->wwn[2 * i] = (uint8_t)(id[ATA_ID_WWN + i] >> 8);
			a->wwn[2 * i + 1] = (uint8_t)id[ATA_ID_WWN + i];
		}
	}
	return 0;
}

void ata_emul_disk(const struct ata_dev *a, struct scsi_emul_disk *e)
{
	memset(e, 0, sizeof(*e));
	e->vendor = "ATA";
	e->product = a->model;	/* first 16 characters, as SAT says */
	e->revision = a->firmware;
	e->serial = a->serial;
	if (a->has_wwn) {
		memcpy(e->naa, a->wwn, 8);
		e->naa_len = 8;
	}
	/* SAT: T10 vendor ID "ATA", then model (40) and serial (20) - ESXi's t10.ATA_____... */
	snprintf(e->t10_vendor, sizeof(e->t10_vendor), "ATA");
	e->blocks = a->sectors;
	e->block_size = a->sector_size;
	e->phys_block_size = a->phys_sector_size;
	e->max_xfer_blocks = a->lba48 ? 65536 : 256;
	if (a->trim) {
		e->unmap = true;
		e->max_unmap_descs = ATA_DSM_ENTRIES / 2;
		e->max_unmap_blocks = ATA_DSM_ENTRIES / 2 * ATA_DSM_RANGE_MAX;
		e->lbprz = a->trim_zeroes;
	}
}

static enum satl_action fail(uint8_t *status, uint8_t *sense, uint8_t *sense_len, uint8_t key,
			     uint16_t asc)
{
	*sense_len = scsi_sense_fill(sense, key, asc);
	*status = SCSI_STATUS_CHECK_CONDITION;
	return SATL_COMPLETE;
}

/* UNMAP -> DATA SET MANAGEMENT, TRIM: ranges as 8-byte entries in one block. */
static enum satl_action trim(const struct scsi_emul_disk *e, const uint8_t *cdb,
			     unsigned cdb_len, const void *buf, uint32_t buflen, struct ata_cmd *o,
			     uint8_t *status, uint8_t *sense, uint8_t *sense_len)
{
	struct scsi_range r[ATA_DSM_ENTRIES / 2];
	unsigned k = 0;
	int n = scsi_unmap_decode(e, cdb, cdb_len, buf, buflen, r, ATA_DSM_ENTRIES / 2, status,
				  sense, sense_len);

	if (n <= 0)
		return SATL_COMPLETE;
	memset(o->payload, 0, sizeof(o->payload));
	for (int i = 0; i < n; i++) {
		uint64_t lba = r[i].lba;
		uint32_t left = r[i].blocks;

		while (left) {
			uint32_t c = left < ATA_DSM_RANGE_MAX ? left : ATA_DSM_RANGE_MAX;
			uint64_t ent = lba | (uint64_t)c << 48;

			if (k == ATA_DSM_ENTRIES)	/* cannot happen within the stated limits */
				return fail(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
					    SCSI_ASC_INVALID_FIELD_PARAM);
			for (unsigned b = 0; b < 8; b++)
				o->payload[8 * k + b] = (uint8_t)(ent >> (8 * b));
			k++;
			lba += c;
			left -= c;
		}
	}
	o->command = ATA_CMD_DSM;
	o->features = ATA_DSM_TRIM;
	o->device = ATA_DEV_LBA;
	o->lba48 = true;
	o->count = 1;			/* 512-byte blocks of entries */
	o->write = true;
	o->data = true;
	o->use_payload = true;
	o->bytes = sizeof(o->payload);
	return SATL_ISSUE;
}

static enum satl_action rw(const struct ata_dev *a, const struct scsi_rw *r, uint32_t buflen,
			   bool allow_ncq, struct ata_cmd *o, uint8_t *status, uint8_t *sense,
			   uint8_t *sense_len, uint32_t *resid)
{
	uint32_t max = a->lba48 ? 65536 : 256;

	if (r->lba > a->sectors || r->blocks > a->sectors - r->lba ||
	    (!a->lba48 && r->lba + r->blocks > (1u << 28)))
		return fail(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			    SCSI_ASC_LBA_OUT_OF_RANGE);
	if (!r->blocks) {
		*resid = buflen;
		return SATL_COMPLETE;
	}
	if (r->blocks > max || (uint64_t)r->blocks * a->sector_size != buflen)
		return fail(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			    SCSI_ASC_INVALID_FIELD_CDB);
	o->lba = r->lba;
	o->count = r->blocks;
	o->write = r->write;
	o->data = true;
	o->bytes = buflen;
	o->device = ATA_DEV_LBA;
	o->lba48 = a->lba48;
	if (allow_ncq && a->ncq) {
		o->ncq = true;
		o->lba48 = true;
		o->command = r->write ? ATA_CMD_WRITE_FPDMA_QUEUED : ATA_CMD_READ_FPDMA_QUEUED;
		if (r->fua)
			o->device |= ATA_DEV_FUA;
	} else if (a->lba48) {
		o->command = !r->write ? ATA_CMD_READ_DMA_EXT :
			     r->fua ? ATA_CMD_WRITE_DMA_FUA_EXT : ATA_CMD_WRITE_DMA_EXT;
	} else {
		o->command = r->write ? ATA_CMD_WRITE_DMA : ATA_CMD_READ_DMA;
	}
	return SATL_ISSUE;
}

enum satl_action satl_translate(const struct ata_dev *a, const struct scsi_emul_disk *e,
				const uint8_t *cdb, unsigned cdb_len, void *buf, uint32_t buflen,
				bool allow_ncq, struct ata_cmd *o, uint8_t *status, uint8_t *sense,
				uint8_t *sense_len, uint32_t *resid)
{
	struct scsi_rw r;

	memset(o, 0, sizeof(*o));
	*status = SCSI_STATUS_GOOD;
	*sense_len = 0;
	*resid = 0;
	if (!cdb_len)
		return fail(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			    SCSI_ASC_INVALID_OPCODE);
	switch (cdb[0]) {
	case SCSI_SYNCHRONIZE_CACHE_10:
	case SCSI_SYNCHRONIZE_CACHE_16:
		o->command = a->lba48 ? ATA_CMD_FLUSH_CACHE_EXT : ATA_CMD_FLUSH_CACHE;
		o->device = ATA_DEV_LBA;
		o->lba48 = a->lba48;
		*resid = buflen;
		return SATL_ISSUE;
	case SCSI_UNMAP:
		return trim(e, cdb, cdb_len, buf, buflen, o, status, sense, sense_len);
	case SCSI_COMPARE_AND_WRITE:
	case SCSI_WRITE_SAME_10:
	case SCSI_WRITE_SAME_16:
	case SCSI_VERIFY_10:
		return fail(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			    SCSI_ASC_INVALID_OPCODE);
	}
	if (!scsi_cdb_decode_rw(cdb, cdb_len, &r))
		return rw(a, &r, buflen, allow_ncq, o, status, sense, sense_len, resid);
	if (scsi_emul(e, cdb, cdb_len, buf, buflen, resid, sense, sense_len, status))
		return SATL_COMPLETE;
	return fail(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
}

void satl_error_sense(uint8_t st, uint8_t er, bool write, uint8_t *sense, uint8_t *sense_len,
		      uint8_t *status)
{
	uint8_t key = SCSI_SK_ABORTED_COMMAND;
	uint16_t asc = SCSI_ASC_NONE;

	if (st & ATA_SR_DF) {
		key = SCSI_SK_HARDWARE_ERROR;
		asc = SCSI_ASC_INTERNAL_TARGET_FAILURE;
	} else if (er & ATA_ER_ICRC) {
		key = SCSI_SK_ABORTED_COMMAND;
		asc = SCSI_ASC_INFO_UNIT_CRC_ERROR;
	} else if (er & ATA_ER_UNC) {
		key = SCSI_SK_MEDIUM_ERROR;
		asc = write ? SCSI_ASC_WRITE_ERROR : SCSI_ASC_UNRECOVERED_READ;
	} else if (er & ATA_ER_IDNF) {
		key = SCSI_SK_MEDIUM_ERROR;
		asc = SCSI_ASC_ID_NOT_FOUND;
	}
	*sense_len = scsi_sense_fill(sense, key, asc);
	*status = SCSI_STATUS_CHECK_CONDITION;
}
