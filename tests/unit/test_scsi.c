/*
 * Host unit tests for the SCSI layer's pure parts: sense parsing and the
 * retry decision, CDB building and decoding, VPD 0x83 identifiers, REPORT
 * LUNS, the emulated INQUIRY/VPD/READ CAPACITY answers, and the
 * translations to ATA (scsi_ata.c) and NVMe (scsi_nvme.c), including UNMAP
 * and WRITE SAME (scsi_prov.c: TRIM, Dataset Management, Write Zeroes) and
 * what VPD pages 0xb0/0xb2 say about them. Also SHA-256,
 * which the host identity is built from.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <drivers/ata_hw.h>
#include <drivers/scsi.h>
#include <drivers/scsi_ata.h>
#include <drivers/scsi_nvme.h>
#include <vmkernel/sha256.h>

/* ---- sense and decisions ---- */

static void test_sense_fixed(void **state)
{
	uint8_t b[18] = { 0xf0, 0, SCSI_SK_MEDIUM_ERROR, 0, 0, 0x12, 0x34, 10, 0, 0, 0, 0, 0x11, 0 };
	struct scsi_sense s;
	char text[160];

	(void)state;
	scsi_sense_parse(b, sizeof(b), &s);
	assert_true(s.valid);
	assert_false(s.deferred);
	assert_int_equal(s.key, SCSI_SK_MEDIUM_ERROR);
	assert_int_equal(s.asc_ascq, SCSI_ASC_UNRECOVERED_READ);
	assert_true(s.info_valid);
	assert_int_equal(s.info, 0x1234);
	scsi_result_text(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s, text, sizeof(text));
	assert_string_equal(text, "CHECK CONDITION: MEDIUM ERROR, UNRECOVERED READ ERROR (11/00) "
			    "at LBA 4660");
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s), SCSI_DISP_FAIL);
}

static void test_sense_descriptor(void **state)
{
	/* 0x72: key UNIT ATTENTION, 29/00, information descriptor with VALID and LBA 2^33. */
	uint8_t b[20] = { 0x72, SCSI_SK_UNIT_ATTENTION, 0x29, 0x00, 0, 0, 0, 12,
			  0x00, 0x0a, 0x80, 0, 0, 0, 0, 2, 0, 0, 0, 0 };
	struct scsi_sense s;

	(void)state;
	scsi_sense_parse(b, sizeof(b), &s);
	assert_true(s.valid);
	assert_int_equal(s.key, SCSI_SK_UNIT_ATTENTION);
	assert_int_equal(s.asc_ascq, SCSI_ASC_POWER_ON_RESET);
	assert_true(s.info_valid);
	assert_int_equal(s.info, 1ull << 33);
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s), SCSI_DISP_RETRY);
	/* A descriptor running past the buffer is ignored, not read. */
	b[9] = 200;
	scsi_sense_parse(b, sizeof(b), &s);
	assert_false(s.info_valid);
}

static void test_sense_short_and_junk(void **state)
{
	uint8_t b[3] = { 0x70, 0, SCSI_SK_NOT_READY };
	uint8_t junk[8] = { 0x12, 1, 2, 3, 4, 5, 6, 7 };
	struct scsi_sense s;

	(void)state;
	scsi_sense_parse(b, sizeof(b), &s);
	assert_true(s.valid);
	assert_int_equal(s.key, SCSI_SK_NOT_READY);
	assert_int_equal(s.asc_ascq, 0);
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s),
			 SCSI_DISP_RETRY_LATER);
	scsi_sense_parse(junk, sizeof(junk), &s);
	assert_false(s.valid);
	/* CHECK CONDITION without usable sense: retried. */
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s), SCSI_DISP_RETRY);
	scsi_sense_parse(NULL, 0, &s);
	assert_false(s.valid);
}

static void test_decide(void **state)
{
	struct scsi_sense s = { 0 };

	(void)state;
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_GOOD, &s), SCSI_DISP_OK);
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_BUSY, &s), SCSI_DISP_RETRY_LATER);
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_TASK_SET_FULL, &s),
			 SCSI_DISP_RETRY_LATER);
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_RESERVATION_CONFLICT, &s),
			 SCSI_DISP_FAIL);
	assert_int_equal(scsi_decide(SCSI_HRES_TIMEOUT, 0, &s), SCSI_DISP_RETRY);
	assert_int_equal(scsi_decide(SCSI_HRES_RESET, 0, &s), SCSI_DISP_RETRY);
	assert_int_equal(scsi_decide(SCSI_HRES_NO_DEVICE, 0, &s), SCSI_DISP_NO_DEVICE);
	s = (struct scsi_sense){ .valid = true, .key = SCSI_SK_ILLEGAL_REQUEST,
				 .asc_ascq = SCSI_ASC_LUN_NOT_SUPPORTED };
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s),
			 SCSI_DISP_NO_DEVICE);
	s.key = SCSI_SK_RECOVERED_ERROR;
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s), SCSI_DISP_OK);
	s = (struct scsi_sense){ .valid = true, .key = SCSI_SK_NOT_READY,
				 .asc_ascq = SCSI_ASC_MEDIUM_NOT_PRESENT };
	assert_int_equal(scsi_decide(SCSI_HRES_OK, SCSI_STATUS_CHECK_CONDITION, &s), SCSI_DISP_FAIL);
}

/* ---- CDBs, VPD, REPORT LUNS ---- */

static void test_cdb_round_trip(void **state)
{
	uint8_t cdb[16];
	struct scsi_rw rw;

	(void)state;
	assert_int_equal(scsi_cdb_rw16(cdb, true, 0x123456789aull, 0x10000, true), 16);
	assert_int_equal(scsi_cdb_decode_rw(cdb, 16, &rw), 0);
	assert_true(rw.write);
	assert_true(rw.fua);
	assert_int_equal(rw.lba, 0x123456789aull);
	assert_int_equal(rw.blocks, 0x10000);
	assert_int_equal(scsi_cdb_rw10(cdb, false, 0xfffffffe, 8), 10);
	assert_int_equal(scsi_cdb_decode_rw(cdb, 10, &rw), 0);
	assert_false(rw.write);
	assert_int_equal(rw.lba, 0xfffffffe);
	/* READ(6): 21-bit LBA, 0 blocks means 256. */
	memset(cdb, 0, 6);
	cdb[0] = 0x08;
	cdb[1] = 0xff;
	cdb[2] = 0x12;
	cdb[3] = 0x34;
	assert_int_equal(scsi_cdb_decode_rw(cdb, 6, &rw), 0);
	assert_int_equal(rw.lba, 0x1f1234);
	assert_int_equal(rw.blocks, 256);
	scsi_cdb_caw(cdb, 77, 1);
	assert_int_equal(scsi_cdb_decode_rw(cdb, 16, &rw), 0);
	assert_int_equal(rw.op, SCSI_COMPARE_AND_WRITE);
	assert_int_equal(rw.blocks, 1);
	/* Not a read or write; truncated CDBs. */
	scsi_cdb_inquiry(cdb, false, 0, 36);
	assert_int_equal(scsi_cdb_decode_rw(cdb, 6, &rw), -EINVAL);
	scsi_cdb_rw16(cdb, false, 1, 1, false);
	assert_int_equal(scsi_cdb_decode_rw(cdb, 10, &rw), -EINVAL);
}

static void test_vpd83(void **state)
{
	uint8_t p[64] = { 0, 0x83, 0, 0 };
	unsigned n = 4;
	char id[80];

	(void)state;
	/* T10 vendor ID, then EUI-64, then NAA: NAA wins. */
	memcpy(p + n, "\x02\x01\x00\x10" "ATA     QEMU  X1", 20);
	n += 20;
	memcpy(p + n, "\x01\x02\x00\x08\x00\x11\x22\x33\x44\x55\x66\x77", 12);
	n += 12;
	memcpy(p + n, "\x01\x03\x00\x08\x50\x00\xc5\x00\xa1\xb2\xc3\xd4", 12);
	n += 12;
	p[3] = (uint8_t)(n - 4);
	assert_int_equal(scsi_vpd83_id(p, n, id, sizeof(id)), 0);
	assert_string_equal(id, "naa.5000c500a1b2c3d4");
	/* Without the NAA: EUI-64. */
	p[3] = (uint8_t)(n - 4 - 12);
	assert_int_equal(scsi_vpd83_id(p, n - 12, id, sizeof(id)), 0);
	assert_string_equal(id, "eui.0011223344556677");
	/* Only T10: spaces become '_', trailing ones go. */
	p[3] = 20;
	assert_int_equal(scsi_vpd83_id(p, 24, id, sizeof(id)), 0);
	assert_string_equal(id, "t10.ATA_____QEMU__X1");
	/* NAA associated with the target port, not the LUN: not used. */
	memcpy(p + 4, "\x01\x13\x00\x08\x50\x00\xc5\x00\xa1\xb2\xc3\xd4", 12);
	p[3] = 12;
	assert_int_equal(scsi_vpd83_id(p, 16, id, sizeof(id)), -ENOENT);
	/* A designator longer than the page: stop, nothing read past it. */
	memcpy(p + 4, "\x01\x03\x00\x30", 4);
	p[3] = 12;
	assert_int_equal(scsi_vpd83_id(p, 16, id, sizeof(id)), -ENOENT);
	p[1] = 0x80;
	assert_int_equal(scsi_vpd83_id(p, 16, id, sizeof(id)), -ENOENT);
}

static void test_report_luns(void **state)
{
	uint8_t b[40] = { 0, 0, 0, 24 };
	unsigned luns[8];

	(void)state;
	b[8 + 1] = 0;			/* LUN 0, peripheral */
	b[16] = 0x40 | 0x01;		/* flat: LUN 0x105 */
	b[17] = 0x05;
	b[24] = 0xc0;			/* extended: skipped */
	assert_int_equal(scsi_report_luns_parse(b, sizeof(b), luns, 8), 2);
	assert_int_equal(luns[0], 0);
	assert_int_equal(luns[1], 0x105);
	/* A list length longer than the buffer is clipped. */
	b[3] = 200;
	assert_int_equal(scsi_report_luns_parse(b, 24, luns, 8), 2);
}

/* ---- emulation ---- */

static struct scsi_emul_disk emul_disk(void)
{
	struct scsi_emul_disk e = { .vendor = "VENDOR", .product = "PRODUCT", .revision = "1.2",
		.serial = "SER123", .blocks = 1000, .block_size = 4096, .phys_block_size = 4096,
		.max_xfer_blocks = 64, .caw_blocks = 1 };

	memcpy(e.naa, "\x60\x01\x02\x03\x04\x05\x06\x07", 8);
	e.naa_len = 8;
	return e;
}

static void test_emul_inquiry(void **state)
{
	struct scsi_emul_disk e = emul_disk();
	uint8_t cdb[16], buf[512], sense[96], sl, st;
	uint32_t resid;
	char id[80];

	(void)state;
	scsi_cdb_inquiry(cdb, false, 0, 36);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(st, SCSI_STATUS_GOOD);
	assert_int_equal(resid, 512 - 36);
	assert_memory_equal(buf + 8, "VENDOR  PRODUCT         1.2 ", 28);
	/* Allocation length shorter than the answer. */
	scsi_cdb_inquiry(cdb, false, 0, 5);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(resid, 512 - 5);
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_DEVICE_ID, 255);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(scsi_vpd83_id(buf, 255, id, sizeof(id)), 0);
	assert_string_equal(id, "naa.6001020304050607");
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_BLOCK_LIMITS, 64);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(buf[5], 1);		/* COMPARE AND WRITE of 1 block */
	assert_int_equal(buf[11], 64);		/* maximum transfer */
	/* An unknown VPD page, and a page code without EVPD: ILLEGAL REQUEST. */
	scsi_cdb_inquiry(cdb, true, 0x99, 64);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(st, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(sense[2], SCSI_SK_ILLEGAL_REQUEST);
	assert_int_equal(sense[12], 0x24);
	cdb[1] = 0;
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(st, SCSI_STATUS_CHECK_CONDITION);
}

static void test_emul_capacity(void **state)
{
	struct scsi_emul_disk e = emul_disk();
	uint8_t cdb[16], buf[64], sense[96], sl, st;
	uint32_t resid;

	(void)state;
	scsi_cdb_read_capacity16(cdb, 32);
	assert_int_equal(scsi_emul(&e, cdb, 16, buf, 64, &resid, sense, &sl, &st), 1);
	assert_int_equal(buf[7], (1000 - 1) & 0xff);
	assert_int_equal(buf[6], (1000 - 1) >> 8);
	assert_int_equal(buf[10], 0x10);	/* 4096 */
	assert_int_equal(resid, 32);
	/* READ CAPACITY(10) caps the LBA at 0xffffffff for big disks. */
	e.blocks = 1ull << 33;
	memset(cdb, 0, 10);
	cdb[0] = SCSI_READ_CAPACITY_10;
	assert_int_equal(scsi_emul(&e, cdb, 10, buf, 64, &resid, sense, &sl, &st), 1);
	assert_memory_equal(buf, "\xff\xff\xff\xff\x00\x00\x10\x00", 8);
	/* Not an emulated command. */
	scsi_cdb_rw16(cdb, false, 0, 1, false);
	assert_int_equal(scsi_emul(&e, cdb, 16, buf, 64, &resid, sense, &sl, &st), 0);
}

/* ---- ATA ---- */

static void put_string(uint16_t *id, unsigned word, const char *s, unsigned n)
{
	char tmp[40];

	memset(tmp, ' ', n);
	memcpy(tmp, s, strlen(s));
	for (unsigned i = 0; i < n / 2; i++)
		id[word + i] = (uint16_t)((uint8_t)tmp[2 * i] << 8 | (uint8_t)tmp[2 * i + 1]);
}

static void identify(uint16_t *id, uint64_t sectors, bool ncq)
{
	memset(id, 0, 512);
	put_string(id, ATA_ID_MODEL, "QEMU HARDDISK", 40);
	put_string(id, ATA_ID_SERIAL, "QM00005", 20);
	put_string(id, ATA_ID_FW_REV, "2.5+", 8);
	id[ATA_ID_CAPABILITY] = 1u << 9 | 1u << 8;
	id[60] = (uint16_t)(sectors > 0x0fffffff ? 0xffff : sectors);
	id[61] = (uint16_t)(sectors > 0x0fffffff ? 0x0fff : sectors >> 16);
	id[ATA_ID_CMDSET_2] = 1u << 10;
	id[ATA_ID_CMDSET_EN_2] = 1u << 10;
	for (unsigned i = 0; i < 4; i++)
		id[100 + i] = (uint16_t)(sectors >> (16 * i));
	id[ATA_ID_SATA_CAP] = ncq ? 1u << 8 : 0;
	id[ATA_ID_QUEUE_DEPTH] = 31;
}

static void test_ata_identify(void **state)
{
	uint16_t id[256];
	struct ata_dev a;
	struct scsi_emul_disk e;
	char err[80];

	(void)state;
	identify(id, 1ull << 30, true);
	assert_int_equal(ata_identify_parse(id, &a, err, sizeof(err)), 0);
	assert_string_equal(a.model, "QEMU HARDDISK");
	assert_string_equal(a.serial, "QM00005");
	assert_int_equal(a.sectors, 1ull << 30);
	assert_true(a.lba48);
	assert_true(a.ncq);
	assert_int_equal(a.queue_depth, 32);
	assert_int_equal(a.sector_size, 512);
	assert_false(a.has_wwn);
	/* 4Kn: words 117-118 give the logical size in words. */
	id[ATA_ID_SECTOR_SIZE] = 0x4000 | 1u << 12;
	id[117] = 2048;
	assert_int_equal(ata_identify_parse(id, &a, err, sizeof(err)), 0);
	assert_int_equal(a.sector_size, 4096);
	/* WWN in words 108-111 (NAA 5). */
	id[108] = 0x5000;
	id[109] = 0xc500;
	id[110] = 0xa1b2;
	id[111] = 0xc3d4;
	assert_int_equal(ata_identify_parse(id, &a, err, sizeof(err)), 0);
	assert_true(a.has_wwn);
	ata_emul_disk(&a, &e);
	assert_int_equal(e.naa_len, 8);
	assert_int_equal(e.naa[0], 0x50);
	/* ATAPI and non-LBA devices are refused with a reason. */
	id[0] = 0x8580;
	assert_int_equal(ata_identify_parse(id, &a, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "ATAPI"));
	identify(id, 1000, false);
	id[ATA_ID_CAPABILITY] = 0;
	assert_int_equal(ata_identify_parse(id, &a, err, sizeof(err)), -EINVAL);
}

static void satl(const struct ata_dev *a, const uint8_t *cdb, unsigned len, uint32_t buflen,
		 bool ncq, struct ata_cmd *o, enum satl_action want, uint8_t *st, uint8_t *sense)
{
	struct scsi_emul_disk e;
	static uint8_t buf[1 << 20];
	uint8_t sl;
	uint32_t resid;

	ata_emul_disk(a, &e);
	assert_int_equal(satl_translate(a, &e, cdb, len, buf, buflen, ncq, o, st, sense, &sl,
					&resid), want);
}

static void test_ata_translate_rw(void **state)
{
	uint16_t id[256];
	struct ata_dev a;
	struct ata_cmd o;
	uint8_t cdb[16], st, sense[96];
	char err[80];

	(void)state;
	identify(id, 1ull << 30, true);
	assert_int_equal(ata_identify_parse(id, &a, err, sizeof(err)), 0);
	scsi_cdb_rw16(cdb, false, 0x12345678, 16, false);
	satl(&a, cdb, 16, 16 * 512, true, &o, SATL_ISSUE, &st, sense);
	assert_int_equal(o.command, ATA_CMD_READ_FPDMA_QUEUED);
	assert_true(o.ncq);
	assert_int_equal(o.lba, 0x12345678);
	assert_int_equal(o.count, 16);
	assert_false(o.write);
	scsi_cdb_rw16(cdb, true, 100, 8, true);
	satl(&a, cdb, 16, 8 * 512, true, &o, SATL_ISSUE, &st, sense);
	assert_int_equal(o.command, ATA_CMD_WRITE_FPDMA_QUEUED);
	assert_int_equal(o.device & ATA_DEV_FUA, ATA_DEV_FUA);
	/* The port cannot queue now (a retry): plain DMA EXT, FUA as its own command. */
	satl(&a, cdb, 16, 8 * 512, false, &o, SATL_ISSUE, &st, sense);
	assert_int_equal(o.command, ATA_CMD_WRITE_DMA_FUA_EXT);
	assert_false(o.ncq);
	/* No 48-bit addressing: READ DMA, 28-bit limit enforced. */
	a.lba48 = false;
	scsi_cdb_rw10(cdb, false, 0x0ffffff0, 8);
	satl(&a, cdb, 10, 8 * 512, false, &o, SATL_ISSUE, &st, sense);
	assert_int_equal(o.command, ATA_CMD_READ_DMA);
	scsi_cdb_rw10(cdb, false, 0x0ffffffc, 8);
	satl(&a, cdb, 10, 8 * 512, false, &o, SATL_COMPLETE, &st, sense);
	assert_int_equal(st, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(sense[12], 0x21);
}

static void test_ata_translate_other(void **state)
{
	uint16_t id[256];
	struct ata_dev a;
	struct ata_cmd o;
	uint8_t cdb[16], st, sense[96];
	char err[80];

	(void)state;
	identify(id, 2048, false);
	assert_int_equal(ata_identify_parse(id, &a, err, sizeof(err)), 0);
	/* Beyond the end of the disk. */
	scsi_cdb_rw16(cdb, false, 2040, 16, false);
	satl(&a, cdb, 16, 16 * 512, false, &o, SATL_COMPLETE, &st, sense);
	assert_int_equal(sense[2], SCSI_SK_ILLEGAL_REQUEST);
	assert_int_equal(sense[12], 0x21);
	/* Buffer size disagrees with the CDB. */
	scsi_cdb_rw16(cdb, false, 0, 2, false);
	satl(&a, cdb, 16, 512, false, &o, SATL_COMPLETE, &st, sense);
	assert_int_equal(sense[12], 0x24);
	/* SYNCHRONIZE CACHE -> FLUSH CACHE EXT, no data. */
	scsi_cdb_sync_cache16(cdb);
	satl(&a, cdb, 16, 0, true, &o, SATL_ISSUE, &st, sense);
	assert_int_equal(o.command, ATA_CMD_FLUSH_CACHE_EXT);
	assert_false(o.data);
	/* COMPARE AND WRITE and UNMAP: unsupported operation codes. */
	scsi_cdb_caw(cdb, 0, 1);
	satl(&a, cdb, 16, 1024, false, &o, SATL_COMPLETE, &st, sense);
	assert_int_equal(sense[12], 0x20);
	scsi_cdb_unmap(cdb, 24);
	satl(&a, cdb, 10, 24, false, &o, SATL_COMPLETE, &st, sense);
	assert_int_equal(sense[12], 0x20);
	/* INQUIRY is answered, as ATA per SAT. */
	scsi_cdb_inquiry(cdb, false, 0, 36);
	satl(&a, cdb, 6, 36, false, &o, SATL_COMPLETE, &st, sense);
	assert_int_equal(st, SCSI_STATUS_GOOD);
}

static void test_ata_errors(void **state)
{
	uint8_t st, sense[96], sl;

	(void)state;
	satl_error_sense(ATA_SR_DRDY | ATA_SR_ERR, ATA_ER_UNC, false, sense, &sl, &st);
	assert_int_equal(st, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(sense[2], SCSI_SK_MEDIUM_ERROR);
	assert_int_equal(sense[12], 0x11);
	satl_error_sense(ATA_SR_DRDY | ATA_SR_ERR, ATA_ER_UNC, true, sense, &sl, &st);
	assert_int_equal(sense[12], 0x0c);
	satl_error_sense(ATA_SR_DRDY | ATA_SR_ERR, ATA_ER_ICRC | ATA_ER_ABRT, false, sense, &sl, &st);
	assert_int_equal(sense[2], SCSI_SK_ABORTED_COMMAND);
	assert_int_equal(sense[12], 0x47);
	satl_error_sense(ATA_SR_DF | ATA_SR_ERR, 0, false, sense, &sl, &st);
	assert_int_equal(sense[2], SCSI_SK_HARDWARE_ERROR);
	satl_error_sense(ATA_SR_ERR, ATA_ER_ABRT, false, sense, &sl, &st);
	assert_int_equal(sense[2], SCSI_SK_ABORTED_COMMAND);
}

/* ---- NVMe ---- */

static void nvme_ids(uint8_t *ctrl, uint8_t *ns, bool fused)
{
	memset(ctrl, 0, 4096);
	memset(ns, 0, 4096);
	memcpy(ctrl + NVME_IDC_SN, "NVME0001            ", 20);
	memcpy(ctrl + NVME_IDC_MN, "QEMU NVMe Ctrl                          ", 40);
	memcpy(ctrl + NVME_IDC_FR, "7.2     ", 8);
	ctrl[NVME_IDC_NN] = 2;
	ctrl[NVME_IDC_VWC] = 1;
	if (fused) {
		ctrl[NVME_IDC_ONCS] = NVME_ONCS_COMPARE;
		ctrl[NVME_IDC_FUSES] = NVME_FUSES_CAW;
	}
	ns[0] = 0x00;
	ns[1] = 0x40;
	ns[4] = 0x01;		/* 2^32 + 16384 blocks */
	ns[NVME_IDN_NLBAF] = 1;
	ns[NVME_IDN_FLBAS] = 1;
	ns[NVME_IDN_LBAF + 4 + 2] = 12;		/* format 1: 4096-byte blocks */
	memcpy(ns + NVME_IDN_EUI64, "\x00\x11\x22\x33\x44\x55\x66\x77", 8);
}

static void test_nvme_identify(void **state)
{
	static uint8_t c[4096], n[4096];
	struct nvme_ctrl_info ci;
	struct nvme_ns_info ns;
	struct scsi_emul_disk e;
	char err[96];

	(void)state;
	nvme_ids(c, n, false);
	nvme_parse_ctrl(c, &ci);
	assert_string_equal(ci.model, "QEMU NVMe Ctrl");
	assert_string_equal(ci.serial, "NVME0001");
	assert_int_equal(ci.nn, 2);
	assert_true(ci.vwc);
	assert_int_equal(nvme_parse_ns(n, 1, &ns, err, sizeof(err)), 0);
	assert_int_equal(ns.blocks, (1ull << 32) + 16384);
	assert_int_equal(ns.block_size, 4096);
	assert_true(ns.has_eui64);
	nvme_emul_disk(&ci, &ns, &e);
	assert_int_equal(e.eui_len, 8);
	assert_int_equal(e.caw_blocks, 0);
	/* Inactive namespace, format index beyond NLBAF, extended metadata. */
	n[0] = n[1] = n[4] = 0;
	assert_int_equal(nvme_parse_ns(n, 3, &ns, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "inactive"));
	nvme_ids(c, n, false);
	n[NVME_IDN_FLBAS] = 5;
	assert_int_equal(nvme_parse_ns(n, 1, &ns, err, sizeof(err)), -EINVAL);
	nvme_ids(c, n, false);
	n[NVME_IDN_LBAF + 4] = 8;
	n[NVME_IDN_FLBAS] = 0x11;
	assert_int_equal(nvme_parse_ns(n, 1, &ns, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "metadata"));
}

static uint8_t dsm_payload[NVME_DSM_PAYLOAD];
static uint32_t dsm_len;

/* Translate cdb for namespace 1; oncs: extra ONCS bits (DSM, Write Zeroes). */
static enum nvme_xlat xlat_oncs(bool fused, uint16_t oncs, const uint8_t *cdb, unsigned len,
				uint32_t buflen, struct nvme_sqe *sqe, unsigned *nsqe,
				uint32_t *split, uint8_t *st, uint8_t *sense, uint8_t *buf)
{
	static uint8_t c[4096], n[4096];
	static const unsigned luns[2] = { 0, 1 };
	struct nvme_ctrl_info ci;
	struct nvme_ns_info ns;
	struct scsi_emul_disk e;
	char err[96];
	uint8_t sl;
	uint32_t resid;

	nvme_ids(c, n, fused);
	c[NVME_IDC_ONCS] |= (uint8_t)oncs;
	n[NVME_IDN_DLFEAT] = 0x09;	/* as QEMU: deallocated blocks read zeroes; DEAC */
	nvme_parse_ctrl(c, &ci);
	assert_int_equal(nvme_parse_ns(n, 1, &ns, err, sizeof(err)), 0);
	nvme_emul_disk(&ci, &ns, &e);
	return nvme_translate(&ci, &ns, &e, luns, 2, cdb, len, buf, buflen, sqe, nsqe, split,
			      dsm_payload, &dsm_len, st, sense, &sl, &resid);
}

static enum nvme_xlat xlat(bool fused, const uint8_t *cdb, unsigned len, uint32_t buflen,
			   struct nvme_sqe *sqe, unsigned *nsqe, uint32_t *split, uint8_t *st,
			   uint8_t *sense, uint8_t *buf)
{
	return xlat_oncs(fused, 0, cdb, len, buflen, sqe, nsqe, split, st, sense, buf);
}

static void test_nvme_translate(void **state)
{
	struct nvme_sqe sqe[2];
	unsigned nsqe;
	uint32_t split;
	uint8_t cdb[16], st, sense[96], buf[64];
	unsigned luns[4];

	(void)state;
	scsi_cdb_rw16(cdb, true, 0x100000001ull, 4, true);
	assert_int_equal(xlat(false, cdb, 16, 4 * 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_ISSUE);
	assert_int_equal(nsqe, 1);
	assert_int_equal(sqe[0].cdw0 & 0xff, NVME_CMD_WRITE);
	assert_int_equal(sqe[0].nsid, 1);
	assert_int_equal(sqe[0].cdw10, 1);
	assert_int_equal(sqe[0].cdw11, 1);
	assert_int_equal(sqe[0].cdw12, 3 | NVME_RW_FUA);	/* 0's based count */
	scsi_cdb_rw16(cdb, false, (1ull << 32) + 16380, 8, false);
	assert_int_equal(xlat(false, cdb, 16, 8 * 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(sense[12], 0x21);
	scsi_cdb_sync_cache16(cdb);
	assert_int_equal(xlat(false, cdb, 16, 0, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_ISSUE);
	assert_int_equal(sqe[0].cdw0 & 0xff, NVME_CMD_FLUSH);
	/* COMPARE AND WRITE: refused without fused support, a fused pair with it. */
	scsi_cdb_caw(cdb, 9, 1);
	assert_int_equal(xlat(false, cdb, 16, 8192, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(sense[12], 0x20);
	assert_int_equal(xlat(true, cdb, 16, 8192, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_ISSUE);
	assert_int_equal(nsqe, 2);
	assert_int_equal(split, 4096);
	assert_int_equal(sqe[0].cdw0 & 0x3ff, NVME_CMD_COMPARE | NVME_FUSE_FIRST);
	assert_int_equal(sqe[1].cdw0 & 0x3ff, NVME_CMD_WRITE | NVME_FUSE_SECOND);
	assert_int_equal(sqe[1].cdw10, 9);
	/* REPORT LUNS lists every namespace. */
	scsi_cdb_report_luns(cdb, 64);
	assert_int_equal(xlat(false, cdb, 12, 64, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(scsi_report_luns_parse(buf, 64, luns, 4), 2);
	assert_int_equal(luns[1], 1);
}

static void test_nvme_status(void **state)
{
	uint8_t st, sense[96], sl;

	(void)state;
	nvme_status_sense(NVME_SCT_GENERIC, NVME_SC_SUCCESS, false, &st, sense, &sl);
	assert_int_equal(st, SCSI_STATUS_GOOD);
	assert_int_equal(sl, 0);
	nvme_status_sense(NVME_SCT_MEDIA, NVME_SC_READ_ERROR, false, &st, sense, &sl);
	assert_int_equal(sense[2], SCSI_SK_MEDIUM_ERROR);
	assert_int_equal(sense[12], 0x11);
	nvme_status_sense(NVME_SCT_MEDIA, NVME_SC_COMPARE_FAILED, true, &st, sense, &sl);
	assert_int_equal(sense[2], SCSI_SK_MISCOMPARE);
	nvme_status_sense(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE, false, &st, sense, &sl);
	assert_int_equal(sense[2], SCSI_SK_ILLEGAL_REQUEST);
	assert_int_equal(sense[12], 0x21);
	nvme_status_sense(NVME_SCT_GENERIC, NVME_SC_ABORT_REQ, false, &st, sense, &sl);
	assert_int_equal(sense[2], SCSI_SK_ABORTED_COMMAND);
	nvme_status_sense(NVME_SCT_GENERIC, NVME_SC_INTERNAL, false, &st, sense, &sl);
	assert_int_equal(sense[2], SCSI_SK_HARDWARE_ERROR);
}

/* ---- UNMAP and WRITE SAME for translating drivers ---- */

static void put_be_n(uint8_t *p, uint64_t v, unsigned n)
{
	while (n--) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

/* An UNMAP parameter list of n descriptors (lba[i], blocks[i]); returns its length. */
static uint32_t unmap_list(uint8_t *buf, unsigned n, const uint64_t *lba, const uint32_t *blocks)
{
	memset(buf, 0, 8 + 16 * n);
	put_be_n(buf, 6 + 16 * n, 2);
	put_be_n(buf + 2, 16 * n, 2);
	for (unsigned i = 0; i < n; i++) {
		put_be_n(buf + 8 + 16 * i, lba[i], 8);
		put_be_n(buf + 16 + 16 * i, blocks[i], 4);
	}
	return 8 + 16 * n;
}

static uint64_t get_be_n(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static uint64_t get_le_n(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void test_emul_provisioning(void **state)
{
	struct scsi_emul_disk e = emul_disk();
	uint8_t cdb[16], buf[512], sense[96], sl, st;
	uint32_t resid;

	(void)state;
	/* Nothing stated: no limits in 0xb0, no LBPU/LBPWS in 0xb2, no LBPME. */
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_BLOCK_LIMITS, 64);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(get_be_n(buf + 20, 4), 0);
	assert_int_equal(get_be_n(buf + 36, 8), 0);
	assert_int_equal(buf[4] & 1, 0);
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_LBP, 64);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(buf[1], SCSI_VPD_LBP);
	assert_int_equal(buf[5], 0);
	assert_int_equal(buf[6] & 7, 0);		/* fully provisioned */
	scsi_cdb_read_capacity16(cdb, 32);
	assert_int_equal(scsi_emul(&e, cdb, 16, buf, 64, &resid, sense, &sl, &st), 1);
	assert_int_equal(buf[14] & 0xc0, 0);
	/* The driver's limits, as stated. */
	e.unmap = true;
	e.max_unmap_blocks = 2097120;
	e.max_unmap_descs = 32;
	e.unmap_granularity = 8;
	e.max_write_same_blocks = 65536;
	e.write_same_unmap = true;
	e.lbprz = true;
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_BLOCK_LIMITS, 64);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(buf[4] & 1, 1);		/* WSNZ */
	assert_int_equal(get_be_n(buf + 20, 4), 2097120);
	assert_int_equal(get_be_n(buf + 24, 4), 32);
	assert_int_equal(get_be_n(buf + 28, 4), 8);
	assert_int_equal(get_be_n(buf + 36, 8), 65536);
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_LBP, 64);
	assert_int_equal(scsi_emul(&e, cdb, 6, buf, 512, &resid, sense, &sl, &st), 1);
	assert_int_equal(buf[5], 0x80 | 0x40 | 0x20 | 0x04);
	assert_int_equal(buf[6] & 7, 2);		/* thin provisioned */
	scsi_cdb_read_capacity16(cdb, 32);
	assert_int_equal(scsi_emul(&e, cdb, 16, buf, 64, &resid, sense, &sl, &st), 1);
	assert_int_equal(buf[14] & 0xc0, 0xc0);		/* LBPME, LBPRZ */
}

static void test_unmap_decode(void **state)
{
	struct scsi_emul_disk e = emul_disk();
	struct scsi_range r[4];
	uint8_t cdb[16], buf[256], sense[96], sl, st;
	uint64_t lba[5] = { 10, 20, 0, 990, 5 };
	uint32_t blocks[5] = { 2, 0, 1, 10, 1 };
	uint32_t len;

	(void)state;
	/* Not translated: INVALID COMMAND OPERATION CODE. */
	len = unmap_list(buf, 1, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, len, r, 4, &st, sense, &sl), -EINVAL);
	assert_int_equal(sense[12], 0x20);
	e.unmap = true;
	e.max_unmap_descs = 4;
	e.max_unmap_blocks = 100;
	/* Four descriptors, one of no blocks (dropped), the last ending at the disk's end. */
	len = unmap_list(buf, 4, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, len, r, 4, &st, sense, &sl), 3);
	assert_int_equal(st, SCSI_STATUS_GOOD);
	assert_int_equal(r[0].lba, 10);
	assert_int_equal(r[0].blocks, 2);
	assert_int_equal(r[1].lba, 0);
	assert_int_equal(r[2].lba, 990);
	assert_int_equal(r[2].blocks, 10);
	/* No parameter list: nothing to do. */
	scsi_cdb_unmap(cdb, 0);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, 0, r, 4, &st, sense, &sl), 0);
	assert_int_equal(st, SCSI_STATUS_GOOD);
	/* A list shorter than its header: PARAMETER LIST LENGTH ERROR. */
	scsi_cdb_unmap(cdb, 4);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, 4, r, 4, &st, sense, &sl), -EINVAL);
	assert_int_equal(st, SCSI_STATUS_CHECK_CONDITION);
	assert_int_equal(sense[12], 0x1a);
	/* More descriptors than stated. */
	len = unmap_list(buf, 5, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, len, r, 4, &st, sense, &sl), -EINVAL);
	assert_int_equal(sense[12], 0x26);
	/* Past the end of the disk. */
	lba[0] = 995;
	len = unmap_list(buf, 1, lba, blocks + 3);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, len, r, 4, &st, sense, &sl), -EINVAL);
	assert_int_equal(sense[12], 0x21);
	/* More blocks than the stated maximum. */
	lba[0] = 0;
	blocks[0] = 101;
	len = unmap_list(buf, 1, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, len, r, 4, &st, sense, &sl), -EINVAL);
	assert_int_equal(sense[12], 0x26);
	/* A descriptor length that runs past the list is cut to the list. */
	blocks[0] = 1;
	len = unmap_list(buf, 1, lba, blocks);
	put_be_n(buf + 2, 64, 2);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, len, r, 4, &st, sense, &sl), 1);
	/* ANCHOR is refused. */
	cdb[1] = 1;
	assert_int_equal(scsi_unmap_decode(&e, cdb, 10, buf, len, r, 4, &st, sense, &sl), -EINVAL);
	assert_int_equal(sense[12], 0x24);
}

static void test_write_same_decode(void **state)
{
	struct scsi_emul_disk e = emul_disk();
	struct scsi_write_same ws;
	static uint8_t block[4096];
	uint8_t cdb[16], sense[96], sl, st;

	(void)state;
	scsi_cdb_write_same16(cdb, 100, 8, true);
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, block, 4096, &ws, &st, sense, &sl),
			 -EINVAL);
	assert_int_equal(sense[12], 0x20);		/* not translated */
	e.max_write_same_blocks = 16;
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, block, 4096, &ws, &st, sense, &sl), 0);
	assert_int_equal(ws.lba, 100);
	assert_int_equal(ws.blocks, 8);
	assert_true(ws.unmap);
	/* WRITE SAME(10), no UNMAP bit. */
	memset(cdb, 0, 10);
	cdb[0] = SCSI_WRITE_SAME_10;
	put_be_n(cdb + 2, 990, 4);
	put_be_n(cdb + 7, 10, 2);
	assert_int_equal(scsi_write_same_decode(&e, cdb, 10, block, 4096, &ws, &st, sense, &sl), 0);
	assert_false(ws.unmap);
	assert_int_equal(ws.lba, 990);
	/* Beyond the end; longer than stated; a length of 0. */
	put_be_n(cdb + 7, 11, 2);
	assert_int_equal(scsi_write_same_decode(&e, cdb, 10, block, 4096, &ws, &st, sense, &sl),
			 -EINVAL);
	assert_int_equal(sense[12], 0x21);
	scsi_cdb_write_same16(cdb, 0, 17, false);
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, block, 4096, &ws, &st, sense, &sl),
			 -EINVAL);
	assert_int_equal(sense[12], 0x24);
	scsi_cdb_write_same16(cdb, 0, 0, false);
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, block, 4096, &ws, &st, sense, &sl),
			 -EINVAL);
	/* A pattern other than zeroes cannot be translated. */
	scsi_cdb_write_same16(cdb, 0, 4, false);
	block[4095] = 1;
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, block, 4096, &ws, &st, sense, &sl),
			 -EINVAL);
	assert_int_equal(sense[2], SCSI_SK_ILLEGAL_REQUEST);
	assert_int_equal(sense[12], 0x26);
	block[4095] = 0;
	/* A data block of the wrong size; NDOB (no data, zeroes); LBDATA. */
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, block, 512, &ws, &st, sense, &sl),
			 -EINVAL);
	cdb[1] = 0x01;
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, NULL, 0, &ws, &st, sense, &sl), 0);
	cdb[1] = 0x02;
	assert_int_equal(scsi_write_same_decode(&e, cdb, 16, block, 4096, &ws, &st, sense, &sl),
			 -EINVAL);
}

/* An ATA disk with TRIM (IDENTIFY word 169), deterministic zeroes after TRIM. */
static void trim_disk(struct ata_dev *a, struct scsi_emul_disk *e, bool zeroes)
{
	uint16_t id[256];
	char err[80];

	identify(id, 1ull << 30, true);
	id[ATA_ID_DSM] = 1;
	id[ATA_ID_ADDITIONAL] = zeroes ? (1u << 14 | 1u << 5) : 1u << 14;
	assert_int_equal(ata_identify_parse(id, a, err, sizeof(err)), 0);
	ata_emul_disk(a, e);
}

static void test_ata_trim(void **state)
{
	struct ata_dev a;
	struct scsi_emul_disk e;
	struct ata_cmd o;
	uint8_t cdb[16], st, sense[96], sl, buf[1024];
	uint64_t lba[33] = { 0x3456789aull, 1000 };
	uint32_t blocks[33] = { 8, 65535 * 2 + 5 };
	uint32_t len, resid;

	(void)state;
	trim_disk(&a, &e, true);
	assert_true(a.trim);
	assert_true(a.trim_zeroes);
	assert_true(e.unmap);
	assert_true(e.lbprz);
	assert_int_equal(e.max_write_same_blocks, 0);	/* no WRITE SAME on ATA */
	/* Two descriptors: one entry, then one cut into three entries of at most 65535. */
	len = unmap_list(buf, 2, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(satl_translate(&a, &e, cdb, 10, buf, len, true, &o, &st, sense, &sl,
					&resid), SATL_ISSUE);
	assert_int_equal(o.command, ATA_CMD_DSM);
	assert_int_equal(o.features, ATA_DSM_TRIM);
	assert_false(o.ncq);
	assert_true(o.lba48);
	assert_true(o.write);
	assert_true(o.use_payload);
	assert_int_equal(o.count, 1);
	assert_int_equal(o.bytes, 512);
	assert_int_equal(get_le_n(o.payload, 8), 0x3456789aull | 8ull << 48);
	assert_int_equal(get_le_n(o.payload + 8, 8), 1000 | 65535ull << 48);
	assert_int_equal(get_le_n(o.payload + 16, 8), (1000 + 65535) | 65535ull << 48);
	assert_int_equal(get_le_n(o.payload + 24, 8), (1000 + 2 * 65535) | 5ull << 48);
	assert_int_equal(get_le_n(o.payload + 32, 8), 0);	/* unused entries are zero */
	/* The stated limits: 32 descriptors, 32 * 65535 blocks; one more is refused. */
	for (unsigned i = 0; i < 33; i++) {
		lba[i] = 100000ull * i;
		blocks[i] = 65535;
	}
	len = unmap_list(buf, 32, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(satl_translate(&a, &e, cdb, 10, buf, len, true, &o, &st, sense, &sl,
					&resid), SATL_ISSUE);
	assert_int_equal(get_le_n(o.payload + 8 * 31, 8), 3100000ull | 65535ull << 48);
	len = unmap_list(buf, 33, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(satl_translate(&a, &e, cdb, 10, buf, len, true, &o, &st, sense, &sl,
					&resid), SATL_COMPLETE);
	assert_int_equal(sense[12], 0x26);
	/* WRITE SAME is not translated for ATA. */
	scsi_cdb_write_same16(cdb, 0, 8, true);
	assert_int_equal(satl_translate(&a, &e, cdb, 16, buf, 512, true, &o, &st, sense, &sl,
					&resid), SATL_COMPLETE);
	assert_int_equal(sense[12], 0x20);
	/* Without RZAT, TRIM is still there, but trimmed sectors are not said to read zero. */
	trim_disk(&a, &e, false);
	assert_true(e.unmap);
	assert_false(e.lbprz);
	/* A disk without TRIM: UNMAP is an unsupported operation code. */
	a.trim = false;
	ata_emul_disk(&a, &e);
	assert_false(e.unmap);
	len = unmap_list(buf, 1, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(satl_translate(&a, &e, cdb, 10, buf, len, true, &o, &st, sense, &sl,
					&resid), SATL_COMPLETE);
	assert_int_equal(sense[12], 0x20);
}

static void test_nvme_dsm_write_zeroes(void **state)
{
	struct nvme_sqe sqe[2];
	unsigned nsqe;
	uint32_t split, len;
	uint8_t cdb[16], st, sense[96], buf[4096 * 2];
	uint64_t lba[2] = { 0x100000005ull, 7 };
	uint32_t blocks[2] = { 16, 0x80000000u };
	uint16_t both = NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES;

	(void)state;
	/* UNMAP -> Dataset Management, deallocate, ranges in the payload (little-endian). */
	len = unmap_list(buf, 2, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(xlat_oncs(false, both, cdb, 10, len, sqe, &nsqe, &split, &st, sense,
				   buf), NVME_XLAT_ISSUE);
	assert_int_equal(nsqe, 1);
	assert_int_equal(sqe[0].cdw0 & 0xff, NVME_CMD_DSM);
	assert_int_equal(sqe[0].nsid, 1);
	assert_int_equal(sqe[0].cdw10, 1);		/* two ranges, 0's based */
	assert_int_equal(sqe[0].cdw11, NVME_DSM_AD);
	assert_int_equal(dsm_len, 32);
	assert_int_equal(get_le_n(dsm_payload, 4), 0);	/* context attributes */
	assert_int_equal(get_le_n(dsm_payload + 4, 4), 16);
	assert_int_equal(get_le_n(dsm_payload + 8, 8), 0x100000005ull);
	assert_int_equal(get_le_n(dsm_payload + 20, 4), 0x80000000u);
	assert_int_equal(get_le_n(dsm_payload + 24, 8), 7);
	/* WRITE SAME(16) of a zero block, UNMAP bit -> Write Zeroes with DEAC. */
	memset(buf, 0, 4096);
	scsi_cdb_write_same16(cdb, 0x100000000ull, 16384, true);	/* to the last block */
	assert_int_equal(xlat_oncs(false, both, cdb, 16, 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_ISSUE);
	assert_int_equal(sqe[0].cdw0 & 0xff, NVME_CMD_WRITE_ZEROES);
	assert_int_equal(sqe[0].cdw10, 0);
	assert_int_equal(sqe[0].cdw11, 1);
	assert_int_equal(sqe[0].cdw12, 16383 | NVME_WZ_DEAC);
	assert_int_equal(dsm_len, 0);
	scsi_cdb_write_same16(cdb, 0, 65536, false);		/* Write Zeroes' most */
	assert_int_equal(xlat_oncs(false, both, cdb, 16, 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_ISSUE);
	assert_int_equal(sqe[0].cdw12, 65535);
	/* More than Write Zeroes can do in one command; another pattern. */
	scsi_cdb_write_same16(cdb, 0, 65537, false);
	assert_int_equal(xlat_oncs(false, both, cdb, 16, 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(sense[12], 0x24);
	scsi_cdb_write_same16(cdb, 0, 8, false);
	buf[0] = 0xaa;
	assert_int_equal(xlat_oncs(false, both, cdb, 16, 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(sense[12], 0x26);
	buf[0] = 0;
	assert_int_equal(xlat_oncs(false, both, cdb, 16, 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_ISSUE);
	assert_int_equal(sqe[0].cdw12, 7);
	/* A controller without either: unsupported operation codes. */
	assert_int_equal(xlat(false, cdb, 16, 4096, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(sense[12], 0x20);
	len = unmap_list(buf, 1, lba, blocks);
	scsi_cdb_unmap(cdb, (uint16_t)len);
	assert_int_equal(xlat(false, cdb, 10, len, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(sense[12], 0x20);
	/* What VPD 0xb2 says follows ONCS: DSM only -> LBPU, not LBPWS. */
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_LBP, 64);
	assert_int_equal(xlat_oncs(false, NVME_ONCS_DSM, cdb, 6, 64, sqe, &nsqe, &split, &st, sense,
				   buf), NVME_XLAT_COMPLETE);
	assert_int_equal(buf[5], 0x80 | 0x04);
	scsi_cdb_inquiry(cdb, true, SCSI_VPD_LBP, 64);
	assert_int_equal(xlat(false, cdb, 6, 64, sqe, &nsqe, &split, &st, sense, buf),
			 NVME_XLAT_COMPLETE);
	assert_int_equal(buf[5], 0);
}

static void test_sha256(void **state)
{
	static const uint8_t abc[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
		0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61,
		0xf2, 0x00, 0x15, 0xad };
	struct sha256 s;
	uint8_t out[32], out2[32];

	(void)state;
	sha256_init(&s);
	sha256_update(&s, "abc", 3);
	sha256_final(&s, out);
	assert_memory_equal(out, abc, 32);
	/* Fed in pieces across block boundaries: same digest as in one go. */
	sha256_init(&s);
	for (int i = 0; i < 130; i++)
		sha256_update(&s, "x", 1);
	sha256_final(&s, out);
	{
		char x[130];

		memset(x, 'x', sizeof(x));
		sha256_init(&s);
		sha256_update(&s, x, sizeof(x));
		sha256_final(&s, out2);
	}
	assert_memory_equal(out, out2, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sense_fixed),
		cmocka_unit_test(test_sense_descriptor),
		cmocka_unit_test(test_sense_short_and_junk),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_cdb_round_trip),
		cmocka_unit_test(test_vpd83),
		cmocka_unit_test(test_report_luns),
		cmocka_unit_test(test_emul_inquiry),
		cmocka_unit_test(test_emul_capacity),
		cmocka_unit_test(test_ata_identify),
		cmocka_unit_test(test_ata_translate_rw),
		cmocka_unit_test(test_ata_translate_other),
		cmocka_unit_test(test_ata_errors),
		cmocka_unit_test(test_nvme_identify),
		cmocka_unit_test(test_nvme_translate),
		cmocka_unit_test(test_nvme_status),
		cmocka_unit_test(test_emul_provisioning),
		cmocka_unit_test(test_unmap_decode),
		cmocka_unit_test(test_write_same_decode),
		cmocka_unit_test(test_ata_trim),
		cmocka_unit_test(test_nvme_dsm_write_zeroes),
		cmocka_unit_test(test_sha256),
	};

	return cmocka_run_group_tests_name("scsi", tests, NULL, NULL);
}
