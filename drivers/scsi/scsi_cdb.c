/*
 * CDB builders and decoders, VPD identifiers and REPORT LUNS (pure;
 * host-testable). All multi-byte CDB fields are big-endian (SPC-4 4.3).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/scsi.h>

static void put_be(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

unsigned scsi_cdb_rw16(uint8_t *cdb, bool write, uint64_t lba, uint32_t blocks, bool fua)
{
	memset(cdb, 0, 16);
	cdb[0] = write ? SCSI_WRITE_16 : SCSI_READ_16;
	cdb[1] = fua ? 0x08 : 0;
	put_be(cdb + 2, lba, 8);
	put_be(cdb + 10, blocks, 4);
	return 16;
}

unsigned scsi_cdb_rw10(uint8_t *cdb, bool write, uint32_t lba, uint16_t blocks)
{
	memset(cdb, 0, 10);
	cdb[0] = write ? SCSI_WRITE_10 : SCSI_READ_10;
	put_be(cdb + 2, lba, 4);
	put_be(cdb + 7, blocks, 2);
	return 10;
}

unsigned scsi_cdb_inquiry(uint8_t *cdb, bool evpd, uint8_t page, uint16_t alloc)
{
	memset(cdb, 0, 6);
	cdb[0] = SCSI_INQUIRY;
	cdb[1] = evpd ? SCSI_INQ_EVPD : 0;
	cdb[2] = evpd ? page : 0;
	put_be(cdb + 3, alloc, 2);
	return 6;
}

unsigned scsi_cdb_read_capacity16(uint8_t *cdb, uint32_t alloc)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_SERVICE_ACTION_IN_16;
	cdb[1] = SCSI_SAI_READ_CAPACITY_16;
	put_be(cdb + 10, alloc, 4);
	return 16;
}

unsigned scsi_cdb_sync_cache16(uint8_t *cdb)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_SYNCHRONIZE_CACHE_16;
	return 16;
}

unsigned scsi_cdb_sync_cache10(uint8_t *cdb)
{
	memset(cdb, 0, 10);
	cdb[0] = SCSI_SYNCHRONIZE_CACHE_10;
	return 10;
}

unsigned scsi_cdb_caw(uint8_t *cdb, uint64_t lba, uint8_t blocks)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_COMPARE_AND_WRITE;
	put_be(cdb + 2, lba, 8);
	cdb[13] = blocks;
	return 16;
}

unsigned scsi_cdb_report_luns(uint8_t *cdb, uint32_t alloc)
{
	memset(cdb, 0, 12);
	cdb[0] = SCSI_REPORT_LUNS;
	put_be(cdb + 6, alloc, 4);
	return 12;
}

unsigned scsi_cdb_tur(uint8_t *cdb)
{
	memset(cdb, 0, 6);
	cdb[0] = SCSI_TEST_UNIT_READY;
	return 6;
}

unsigned scsi_cdb_unmap(uint8_t *cdb, uint16_t param_len)
{
	memset(cdb, 0, 10);
	cdb[0] = SCSI_UNMAP;
	put_be(cdb + 7, param_len, 2);
	return 10;
}

unsigned scsi_cdb_write_same16(uint8_t *cdb, uint64_t lba, uint32_t blocks, bool unmap)
{
	memset(cdb, 0, 16);
	cdb[0] = SCSI_WRITE_SAME_16;
	cdb[1] = unmap ? 0x08 : 0;
	put_be(cdb + 2, lba, 8);
	put_be(cdb + 10, blocks, 4);
	return 16;
}

int scsi_cdb_decode_rw(const uint8_t *cdb, unsigned len, struct scsi_rw *rw)
{
	memset(rw, 0, sizeof(*rw));
	if (!len)
		return -EINVAL;
	rw->op = cdb[0];
	switch (cdb[0]) {
	case 0x08:	/* READ(6) */
	case 0x0a:	/* WRITE(6) */
		if (len < 6)
			return -EINVAL;
		rw->write = cdb[0] == 0x0a;
		rw->lba = get_be(cdb + 1, 3) & 0x1fffff;
		rw->blocks = cdb[4] ? cdb[4] : 256;	/* 0 means 256 (SBC-3 5.11) */
		return 0;
	case SCSI_READ_10:
	case SCSI_WRITE_10:
	case SCSI_VERIFY_10:
	case SCSI_WRITE_SAME_10:
		if (len < 10)
			return -EINVAL;
		rw->write = cdb[0] == SCSI_WRITE_10 || cdb[0] == SCSI_WRITE_SAME_10;
		rw->fua = cdb[1] & 0x08;
		rw->lba = get_be(cdb + 2, 4);
		rw->blocks = (uint32_t)get_be(cdb + 7, 2);
		return 0;
	case 0xa8:	/* READ(12) */
	case 0xaa:	/* WRITE(12) */
		if (len < 12)
			return -EINVAL;
		rw->write = cdb[0] == 0xaa;
		rw->fua = cdb[1] & 0x08;
		rw->lba = get_be(cdb + 2, 4);
		rw->blocks = (uint32_t)get_be(cdb + 6, 4);
		return 0;
	case SCSI_READ_16:
	case SCSI_WRITE_16:
	case SCSI_WRITE_SAME_16:
		if (len < 16)
			return -EINVAL;
		rw->write = cdb[0] != SCSI_READ_16;
		rw->fua = cdb[1] & 0x08;
		rw->lba = get_be(cdb + 2, 8);
		rw->blocks = (uint32_t)get_be(cdb + 10, 4);
		return 0;
	case SCSI_COMPARE_AND_WRITE:
		if (len < 16)
			return -EINVAL;
		rw->write = true;
		rw->fua = cdb[1] & 0x08;
		rw->lba = get_be(cdb + 2, 8);
		rw->blocks = cdb[13];
		return 0;
	}
	return -EINVAL;
}

void scsi_ascii(const uint8_t *src, unsigned len, char *out, unsigned outlen)
{
	unsigned start = 0, end = len, n = 0;

	while (start < end && (src[start] == ' ' || src[start] == 0))
		start++;
	while (end > start && (src[end - 1] == ' ' || src[end - 1] == 0))
		end--;
	for (unsigned i = start; i < end && n + 1 < outlen; i++)
		out[n++] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	if (outlen)
		out[n] = '\0';
}

static void hex(const uint8_t *p, unsigned n, char *out, unsigned outlen)
{
	static const char digits[] = "0123456789abcdef";
	unsigned o = 0;

	for (unsigned i = 0; i < n && o + 2 < outlen; i++) {
		out[o++] = digits[p[i] >> 4];
		out[o++] = digits[p[i] & 0xf];
	}
	out[o] = '\0';
}

/* T10 designators as ESXi shows them: printable ASCII, spaces as '_', trailing ones dropped. */
static void t10(const uint8_t *p, unsigned n, char *out, unsigned outlen)
{
	unsigned o = snprintf(out, outlen, "t10.");

	while (n && (p[n - 1] == ' ' || p[n - 1] == 0))
		n--;
	for (unsigned i = 0; i < n && o + 1 < outlen; i++)
		out[o++] = p[i] > 0x20 && p[i] < 0x7f ? (char)p[i] : '_';
	out[o] = '\0';
}

int scsi_vpd83_id(const uint8_t *page, unsigned len, char *out, unsigned outlen)
{
	const uint8_t *best = NULL;
	int best_rank = 0;
	unsigned end, off = 4;

	if (len < 4 || page[1] != SCSI_VPD_DEVICE_ID || outlen < 8)
		return -ENOENT;
	end = 4 + (unsigned)get_be(page + 2, 2);
	if (end > len)
		end = len;
	while (off + 4 <= end) {
		const uint8_t *d = page + off;
		unsigned dlen = d[3], type = d[1] & 0xf, assoc = (d[1] >> 4) & 3;
		int rank = 0;

		if (off + 4 + dlen > end)
			break;
		if (assoc == SCSI_DESIG_ASSOC_LUN && dlen) {
			if (type == SCSI_DESIG_NAA && (dlen == 8 || dlen == 16))
				rank = 3;
			else if (type == SCSI_DESIG_EUI64 && (dlen == 8 || dlen == 12 || dlen == 16))
				rank = 2;
			else if (type == SCSI_DESIG_T10 && dlen > 8)
				rank = 1;
		}
		if (rank > best_rank) {
			best = d;
			best_rank = rank;
		}
		off += 4 + dlen;
	}
	if (!best)
		return -ENOENT;
	if (best_rank == 3) {
		memcpy(out, "naa.", 4);
		hex(best + 4, best[3], out + 4, outlen - 4);
	} else if (best_rank == 2) {
		memcpy(out, "eui.", 4);
		hex(best + 4, best[3], out + 4, outlen - 4);
	} else {
		t10(best + 4, best[3], out, outlen);
	}
	return 0;
}

unsigned scsi_report_luns_parse(const uint8_t *buf, unsigned len, unsigned *luns, unsigned max)
{
	unsigned list, n = 0;

	if (len < 8)
		return 0;
	list = (unsigned)get_be(buf, 4);
	if (list > len - 8)
		list = (len - 8) & ~7u;
	for (unsigned off = 8; off + 8 <= 8 + list && n < max; off += 8) {
		const uint8_t *l = buf + off;

		switch (l[0] >> 6) {
		case 0:		/* peripheral device addressing, bus 0 */
			if ((l[0] & 0x3f) == 0)
				luns[n++] = l[1];
			break;
		case 1:		/* flat space addressing */
			luns[n++] = (unsigned)(l[0] & 0x3f) << 8 | l[1];
			break;
		default:	/* logical unit / extended addressing: not used by our targets */
			break;
		}
	}
	return n;
}
