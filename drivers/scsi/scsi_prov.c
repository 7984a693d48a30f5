/*
 * UNMAP and WRITE SAME, decoded for drivers whose hardware does not speak
 * SCSI (pure; host-tested). ATA, NVMe and virtio-blk each have their own
 * way to deallocate blocks (TRIM, Dataset Management, DISCARD) and to
 * zero them without sending zeroes (NVMe Write Zeroes, virtio-blk
 * WRITE_ZEROES); the SCSI side of both is the same for all of them and is
 * checked here against the limits the driver states in its
 * scsi_emul_disk, which are also what VPD pages 0xb0 and 0xb2 report.
 *
 * WRITE SAME is accepted only with a block of zeroes (or with NDOB, "no
 * data-out buffer", which means zeroes): no translated device has a
 * command that repeats another pattern, and VMFS, like ESXi's block
 * zeroing, only ever writes zeroes this way. Another pattern gets
 * ILLEGAL REQUEST, INVALID FIELD IN PARAMETER LIST. A length of 0 ("to
 * the end of the medium") is refused too; VPD 0xb0 says so (WSNZ).
 */
#include <errno.h>
#include <string.h>
#include <drivers/scsi.h>

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static int check(uint8_t *status, uint8_t *sense, uint8_t *sense_len, uint8_t key, uint16_t asc)
{
	*sense_len = scsi_sense_fill(sense, key, asc);
	*status = SCSI_STATUS_CHECK_CONDITION;
	return -EINVAL;
}

int scsi_unmap_decode(const struct scsi_emul_disk *e, const uint8_t *cdb, unsigned cdb_len,
		      const uint8_t *buf, uint32_t len, struct scsi_range *out, unsigned max,
		      uint8_t *status, uint8_t *sense, uint8_t *sense_len)
{
	uint32_t plen, dlen, ndesc;
	uint64_t total = 0;
	unsigned n = 0;

	*status = SCSI_STATUS_GOOD;
	*sense_len = 0;
	if (!e->unmap || cdb_len < 10 || cdb[0] != SCSI_UNMAP)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_OPCODE);
	if (cdb[1] & 0x01)	/* ANCHOR: no anchored state here */
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_FIELD_CDB);
	plen = (uint32_t)get_be(cdb + 7, 2);
	if (!plen)
		return 0;
	if (plen < 8 || plen > len)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_PARAM_LIST_LENGTH);
	dlen = (uint32_t)get_be(buf + 2, 2);
	if (dlen > plen - 8)	/* descriptors beyond the list: truncated (SBC-3 5.28.2) */
		dlen = (plen - 8) & ~15u;
	ndesc = dlen / 16;
	if (ndesc > e->max_unmap_descs)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_FIELD_PARAM);
	for (uint32_t i = 0; i < ndesc; i++) {
		const uint8_t *d = buf + 8 + 16 * i;
		uint64_t lba = get_be(d, 8);
		uint32_t blocks = (uint32_t)get_be(d + 8, 4);

		if (lba > e->blocks || blocks > e->blocks - lba)
			return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
				     SCSI_ASC_LBA_OUT_OF_RANGE);
		total += blocks;
		if (e->max_unmap_blocks != 0xffffffffu && total > e->max_unmap_blocks)
			return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
				     SCSI_ASC_INVALID_FIELD_PARAM);
		if (!blocks)
			continue;
		if (n == max)	/* the driver stated more descriptors than it holds */
			return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
				     SCSI_ASC_INVALID_FIELD_PARAM);
		out[n++] = (struct scsi_range){ lba, blocks };
	}
	return (int)n;
}

int scsi_write_same_decode(const struct scsi_emul_disk *e, const uint8_t *cdb, unsigned cdb_len,
			   const uint8_t *buf, uint32_t len, struct scsi_write_same *ws,
			   uint8_t *status, uint8_t *sense, uint8_t *sense_len)
{
	bool sixteen = cdb_len >= 16 && cdb[0] == SCSI_WRITE_SAME_16;
	bool ndob;

	*status = SCSI_STATUS_GOOD;
	*sense_len = 0;
	memset(ws, 0, sizeof(*ws));
	if (!e->max_write_same_blocks ||
	    !(sixteen || (cdb_len >= 10 && cdb[0] == SCSI_WRITE_SAME_10)))
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_OPCODE);
	/* ANCHOR (bit 4), PBDATA (2) and LBDATA (1) ask for more than zeroes. */
	if (cdb[1] & 0x16)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_FIELD_CDB);
	ws->unmap = cdb[1] & 0x08;
	ndob = sixteen && (cdb[1] & 0x01);
	ws->lba = sixteen ? get_be(cdb + 2, 8) : get_be(cdb + 2, 4);
	ws->blocks = (uint32_t)(sixteen ? get_be(cdb + 10, 4) : get_be(cdb + 7, 2));
	if (!ws->blocks || ws->blocks > e->max_write_same_blocks)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_FIELD_CDB);
	if (ws->lba > e->blocks || ws->blocks > e->blocks - ws->lba)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_LBA_OUT_OF_RANGE);
	if (ndob)
		return len ? check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
				   SCSI_ASC_INVALID_FIELD_CDB) : 0;
	if (len != e->block_size)
		return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
			     SCSI_ASC_INVALID_FIELD_CDB);
	for (uint32_t i = 0; i < len; i++)
		if (buf[i])
			return check(status, sense, sense_len, SCSI_SK_ILLEGAL_REQUEST,
				     SCSI_ASC_INVALID_FIELD_PARAM);
	return 0;
}
