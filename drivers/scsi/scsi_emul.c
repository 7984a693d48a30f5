/*
 * Made-up SCSI responses for translating drivers (pure; host-testable).
 *
 * ATA, NVMe and virtio-blk devices have no INQUIRY or VPD pages; their
 * drivers describe the disk once (struct scsi_emul_disk, from IDENTIFY
 * data or the device's configuration space) and scsi_emul() answers the
 * non-data commands from it, so everything above sees one kind of disk.
 * Formats: SPC-4 6.6 (INQUIRY), 7.8 (VPD), SBC-3 5.16/5.17 (READ CAPACITY),
 * SPC-4 6.33 (REPORT LUNS), SBC-3 6.6 (block VPD pages).
 */
#include <string.h>
#include <drivers/scsi.h>

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static void pad(uint8_t *dst, const char *s, unsigned n)
{
	unsigned l = s ? (unsigned)strlen(s) : 0;

	memset(dst, ' ', n);
	memcpy(dst, s, l < n ? l : n);
}

static unsigned std_inquiry(const struct scsi_emul_disk *d, uint8_t *r)
{
	memset(r, 0, SCSI_INQ_STD_LEN);
	r[0] = SCSI_TYPE_DISK;
	r[2] = 0x06;		/* SPC-4 */
	r[3] = 0x02;		/* response data format 2 */
	r[4] = SCSI_INQ_STD_LEN - 5;
	r[7] = 0x02;		/* CMDQUE */
	pad(r + 8, d->vendor, 8);
	pad(r + 16, d->product, 16);
	pad(r + 32, d->revision, 4);
	return SCSI_INQ_STD_LEN;
}

static unsigned designator(uint8_t *p, uint8_t codeset, uint8_t type, const void *body, unsigned n)
{
	p[0] = codeset;
	p[1] = type;		/* association: logical unit */
	p[2] = 0;
	p[3] = (uint8_t)n;
	memcpy(p + 4, body, n);
	return 4 + n;
}

static unsigned vpd_devid(const struct scsi_emul_disk *d, uint8_t *r)
{
	unsigned n = 4;
	uint8_t t10[8 + 16 + 40];
	unsigned sl = d->serial ? (unsigned)strlen(d->serial) : 0;

	if (d->naa_len)
		n += designator(r + n, SCSI_DESIG_CODESET_BINARY, SCSI_DESIG_NAA, d->naa, d->naa_len);
	if (d->eui_len)
		n += designator(r + n, SCSI_DESIG_CODESET_BINARY, SCSI_DESIG_EUI64, d->eui,
				d->eui_len);
	if (d->t10_vendor[0]) {
		if (sl > 40)
			sl = 40;
		pad(t10, d->t10_vendor, 8);
		pad(t10 + 8, d->product, 16);
		if (sl)
			memcpy(t10 + 24, d->serial, sl);
		n += designator(r + n, SCSI_DESIG_CODESET_ASCII, SCSI_DESIG_T10, t10, 24 + sl);
	}
	return n;
}

static unsigned vpd(const struct scsi_emul_disk *d, uint8_t page, uint8_t *r)
{
	static const uint8_t pages[] = { SCSI_VPD_SUPPORTED, SCSI_VPD_SERIAL, SCSI_VPD_DEVICE_ID,
					 SCSI_VPD_BLOCK_LIMITS, SCSI_VPD_BLOCK_DEV_CHAR, SCSI_VPD_LBP };
	unsigned n;

	memset(r, 0, 256);
	r[0] = SCSI_TYPE_DISK;
	r[1] = page;
	switch (page) {
	case SCSI_VPD_SUPPORTED:
		memcpy(r + 4, pages, sizeof(pages));
		n = 4 + sizeof(pages);
		break;
	case SCSI_VPD_SERIAL:
		n = d->serial ? (unsigned)strlen(d->serial) : 0;
		if (n > 200)
			n = 200;
		if (n)
			memcpy(r + 4, d->serial, n);
		n += 4;
		break;
	case SCSI_VPD_DEVICE_ID:
		n = vpd_devid(d, r);
		break;
	case SCSI_VPD_BLOCK_LIMITS:
		if (d->max_write_same_blocks)
			r[4] = 0x01;			/* WSNZ: a length of 0 is refused */
		r[5] = d->caw_blocks;
		put_be(r + 8, d->max_xfer_blocks, 4);
		if (d->unmap) {
			put_be(r + 20, d->max_unmap_blocks, 4);
			put_be(r + 24, d->max_unmap_descs, 4);
			put_be(r + 28, d->unmap_granularity, 4);
		}
		put_be(r + 36, d->max_write_same_blocks, 8);
		n = 64;
		break;
	case SCSI_VPD_BLOCK_DEV_CHAR:
		n = 64;
		break;
	case SCSI_VPD_LBP:
		/* LBPU, LBPWS, LBPWS10, LBPRZ; thin provisioning where blocks can be freed. */
		r[5] = (uint8_t)((d->unmap ? 0x80 : 0) | (d->write_same_unmap ? 0x60 : 0) |
				 (d->lbprz ? 0x04 : 0));
		r[6] = d->unmap || d->write_same_unmap ? 0x02 : 0x00;
		n = 8;
		break;
	default:
		return 0;
	}
	put_be(r + 2, n - 4, 2);
	return n;
}

static unsigned read_cap16(const struct scsi_emul_disk *d, uint8_t *r)
{
	unsigned exp = 0;

	memset(r, 0, 32);
	put_be(r, d->blocks ? d->blocks - 1 : 0, 8);
	put_be(r + 8, d->block_size, 4);
	while (d->phys_block_size > d->block_size &&
	       (d->block_size << (exp + 1)) <= d->phys_block_size && exp < 15)
		exp++;
	r[13] = (uint8_t)exp;
	if (d->unmap || d->write_same_unmap)
		r[14] = (uint8_t)(0x80 | (d->lbprz ? 0x40 : 0));	/* LBPME, LBPRZ */
	return 32;
}

static unsigned read_cap10(const struct scsi_emul_disk *d, uint8_t *r)
{
	uint64_t last = d->blocks ? d->blocks - 1 : 0;

	put_be(r, last > 0xffffffffu ? 0xffffffffu : last, 4);
	put_be(r + 4, d->block_size, 4);
	return 8;
}

static unsigned mode_sense(const uint8_t *cdb, uint8_t *r)
{
	bool ten = cdb[0] == SCSI_MODE_SENSE_10;

	/* Header only: no block descriptors, no pages the layer relies on. */
	memset(r, 0, 8);
	if (ten) {
		r[1] = 6;
		return 8;
	}
	r[0] = 3;
	return 4;
}

static int check(uint8_t *sense, uint8_t *sense_len, uint8_t *status, uint8_t key, uint16_t asc)
{
	*sense_len = scsi_sense_fill(sense, key, asc);
	*status = SCSI_STATUS_CHECK_CONDITION;
	return 1;
}

int scsi_emul(const struct scsi_emul_disk *d, const uint8_t *cdb, unsigned cdb_len, uint8_t *buf,
	      uint32_t len, uint32_t *resid, uint8_t *sense, uint8_t *sense_len, uint8_t *status)
{
	uint8_t r[256];
	uint32_t alloc = len;
	unsigned n;

	*status = SCSI_STATUS_GOOD;
	*sense_len = 0;
	*resid = len;
	if (!cdb_len)
		return 0;
	switch (cdb[0]) {
	case SCSI_TEST_UNIT_READY:
	case SCSI_START_STOP_UNIT:
		return 1;
	case SCSI_INQUIRY:
		alloc = (uint32_t)cdb[3] << 8 | cdb[4];
		if (!(cdb[1] & SCSI_INQ_EVPD)) {
			if (cdb[2])
				return check(sense, sense_len, status, SCSI_SK_ILLEGAL_REQUEST,
					     SCSI_ASC_INVALID_FIELD_CDB);
			n = std_inquiry(d, r);
		} else {
			n = vpd(d, cdb[2], r);
			if (!n)
				return check(sense, sense_len, status, SCSI_SK_ILLEGAL_REQUEST,
					     SCSI_ASC_INVALID_FIELD_CDB);
		}
		break;
	case SCSI_READ_CAPACITY_10:
		n = read_cap10(d, r);
		alloc = 8;
		break;
	case SCSI_SERVICE_ACTION_IN_16:
		if ((cdb[1] & 0x1f) != SCSI_SAI_READ_CAPACITY_16)
			return check(sense, sense_len, status, SCSI_SK_ILLEGAL_REQUEST,
				     SCSI_ASC_INVALID_FIELD_CDB);
		alloc = (uint32_t)cdb[10] << 24 | (uint32_t)cdb[11] << 16 | cdb[12] << 8 | cdb[13];
		n = read_cap16(d, r);
		break;
	case SCSI_REPORT_LUNS:
		alloc = (uint32_t)cdb[6] << 24 | (uint32_t)cdb[7] << 16 | cdb[8] << 8 | cdb[9];
		memset(r, 0, 16);
		r[3] = 8;	/* one LUN: 0 */
		n = 16;
		break;
	case SCSI_MODE_SENSE_6:
	case SCSI_MODE_SENSE_10:
		alloc = cdb[0] == SCSI_MODE_SENSE_6 ? cdb[4] : (uint32_t)cdb[7] << 8 | cdb[8];
		n = mode_sense(cdb, r);
		break;
	case SCSI_REQUEST_SENSE:
		alloc = cdb[4];
		n = scsi_sense_fill(r, SCSI_SK_NO_SENSE, SCSI_ASC_NONE);
		break;
	default:
		return 0;
	}
	if (alloc > len)
		alloc = len;
	if (n > alloc)
		n = alloc;
	memcpy(buf, r, n);
	*resid = len - n;
	return 1;
}
