/*
 * Finding disks on a host: for each target, REPORT LUNS (or LUNs
 * 0..max_lun by INQUIRY when the target does not support it), then for
 * each LUN a standard INQUIRY; disks (peripheral type 0) get TEST UNIT
 * READY until ready, READ CAPACITY, and the VPD pages that name them
 * (0x80 serial, 0x83 identifiers) and bound their commands (0xb0). Each
 * disk found is logged with its ESXi-style name and identifier and handed
 * to the block layer, which reads its partition table.
 *
 * Scanning runs once per host at registration, with short timeouts and
 * quiet failures: an absent target is normal.
 */
#define pr_fmt(fmt) "scsi: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/blkdisk.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include "scsi_priv.h"

#define SCAN_TIMEOUT_MS 5000
#define MAX_LUNS 64

static struct scsi_device *all_devs, **all_tail = &all_devs;

struct scsi_device *scsi_device_first(void)
{
	return all_devs;
}

struct scsi_device *scsi_device_find(const char *name)
{
	for (struct scsi_device *d = all_devs; d; d = d->all_next) {
		if (!strcmp(d->name, name) || !strcmp(d->id, name))
			return d;
	}
	return NULL;
}

struct scan {
	struct scsi_host *h;
	struct scsi_cmd *c;
	uint8_t *buf;		/* 4 KiB */
};

static int scan_cmd(struct scan *s, struct scsi_device *sdev, unsigned t, unsigned l,
		    uint32_t len, unsigned retries)
{
	uint8_t cdb[16];
	unsigned cdb_len;

	memcpy(cdb, s->c->cdb, 16);
	cdb_len = s->c->cdb_len;
	scsi_cmd_init(s->c, sdev, len ? SCSI_DIR_FROM_DEV : SCSI_DIR_NONE, len ? s->buf : NULL, len);
	memcpy(s->c->cdb, cdb, 16);
	s->c->cdb_len = (uint8_t)cdb_len;
	s->c->host = s->h;
	s->c->target = t;
	s->c->lun = l;
	s->c->timeout_ms = SCAN_TIMEOUT_MS;
	s->c->retries = retries;
	s->c->quiet = true;
	memset(s->buf, 0, len);
	return scsi_exec(s->c);
}

static int inquiry(struct scan *s, struct scsi_device *sdev, unsigned t, unsigned l, bool evpd,
		   uint8_t page, uint16_t len)
{
	s->c->cdb_len = (uint8_t)scsi_cdb_inquiry(s->c->cdb, evpd, page, len);
	return scan_cmd(s, sdev, t, l, len, 2);
}

static void read_vpd(struct scan *s, struct scsi_device *d)
{
	bool has80 = false, has83 = false, hasb0 = false;
	unsigned n;

	if (inquiry(s, d, d->target, d->lun, true, SCSI_VPD_SUPPORTED, 255) == 0) {
		n = s->buf[3];
		for (unsigned i = 0; i < n && 4 + i < 255; i++) {
			has80 |= s->buf[4 + i] == SCSI_VPD_SERIAL;
			has83 |= s->buf[4 + i] == SCSI_VPD_DEVICE_ID;
			hasb0 |= s->buf[4 + i] == SCSI_VPD_BLOCK_LIMITS;
		}
	}
	if (has80 && inquiry(s, d, d->target, d->lun, true, SCSI_VPD_SERIAL, 255) == 0)
		scsi_ascii(s->buf + 4, s->buf[3] < 251 ? s->buf[3] : 251, d->serial,
			   sizeof(d->serial));
	if (has83 && inquiry(s, d, d->target, d->lun, true, SCSI_VPD_DEVICE_ID, 1024) == 0)
		scsi_vpd83_id(s->buf, 1024, d->id, sizeof(d->id));
	if (hasb0 && inquiry(s, d, d->target, d->lun, true, SCSI_VPD_BLOCK_LIMITS, 64) == 0) {
		uint32_t mx = (uint32_t)s->buf[8] << 24 | (uint32_t)s->buf[9] << 16 |
			      (uint32_t)s->buf[10] << 8 | s->buf[11];

		d->caw = s->buf[5] >= 1;
		if (mx && mx < d->max_xfer_blocks)
			d->max_xfer_blocks = mx;
		d->unmap = (s->buf[20] | s->buf[21] | s->buf[22] | s->buf[23]) != 0;
		for (unsigned i = 36; i < 44; i++)
			d->write_same |= s->buf[i] != 0;	/* maximum WRITE SAME length */
	}
}

static int read_capacity(struct scan *s, struct scsi_device *d)
{
	const uint8_t *b = s->buf;

	s->c->cdb_len = (uint8_t)scsi_cdb_read_capacity16(s->c->cdb, 32);
	if (scan_cmd(s, d, d->target, d->lun, 32, 3) == 0) {
		d->blocks = ((uint64_t)b[0] << 56 | (uint64_t)b[1] << 48 | (uint64_t)b[2] << 40 |
			     (uint64_t)b[3] << 32 | (uint64_t)b[4] << 24 | (uint64_t)b[5] << 16 |
			     (uint64_t)b[6] << 8 | b[7]) + 1;
		d->block_size = (uint32_t)b[8] << 24 | (uint32_t)b[9] << 16 | b[10] << 8 | b[11];
		d->phys_block_size = d->block_size << (b[13] & 0xf);
		return 0;
	}
	memset(s->c->cdb, 0, 16);
	s->c->cdb[0] = SCSI_READ_CAPACITY_10;
	s->c->cdb_len = 10;
	if (scan_cmd(s, d, d->target, d->lun, 8, 3))
		return -EIO;
	d->blocks = ((uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | b[2] << 8 | b[3]) + 1;
	d->block_size = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | b[6] << 8 | b[7];
	d->phys_block_size = d->block_size;
	return 0;
}

static int wait_ready(struct scan *s, struct scsi_device *d)
{
	s->c->cdb_len = (uint8_t)scsi_cdb_tur(s->c->cdb);
	return scan_cmd(s, d, d->target, d->lun, 0, 5);
}

static void fallback_id(struct scsi_device *d)
{
	if (d->id[0])
		return;
	if (d->serial[0])
		snprintf(d->id, sizeof(d->id), "t10.%s_%s_%s", d->vendor, d->product, d->serial);
	else
		snprintf(d->id, sizeof(d->id), "mpx.%s", d->name);
	for (char *p = d->id; *p; p++) {
		if (*p == ' ')
			*p = '_';
	}
}

static const char *type_name(uint8_t type)
{
	switch (type) {
	case SCSI_TYPE_TAPE: return "tape";
	case SCSI_TYPE_CDROM: return "CD-ROM";
	case SCSI_TYPE_RAID: return "RAID controller";
	case SCSI_TYPE_ENCLOSURE: return "enclosure";
	}
	return "device";
}

static void add_disk(struct scan *s, unsigned t, unsigned l)
{
	struct scsi_host *h = s->h;
	struct scsi_device *d = kzalloc(sizeof(*d));
	char vendor[9], product[17];

	if (!d)
		return;
	d->host = h;
	d->target = t;
	d->lun = l;
	snprintf(d->name, sizeof(d->name), "%s:C0:T%u:L%u", h->name, t, l);
	scsi_ascii(s->buf + 8, 8, vendor, sizeof(vendor));
	scsi_ascii(s->buf + 16, 16, product, sizeof(product));
	memcpy(d->vendor, vendor, sizeof(vendor));
	memcpy(d->product, product, sizeof(product));
	scsi_ascii(s->buf + 32, 4, d->revision, sizeof(d->revision));
	d->removable = s->buf[1] & 0x80;
	if (wait_ready(s, d))
		pr_warn("%s: not ready (TEST UNIT READY failed); trying anyway\n", d->name);
	if (read_capacity(s, d) || !d->blocks || d->block_size < 512 || d->block_size > 65536 ||
	    (d->block_size & (d->block_size - 1))) {
		pr_err("%s: '%s %s': no usable capacity (READ CAPACITY failed or %u-byte blocks); "
		       "not used\n", d->name, vendor, product, d->block_size);
		kfree(d);
		return;
	}
	d->max_xfer_blocks = h->max_xfer / d->block_size;
	read_vpd(s, d);
	fallback_id(d);
	if (!d->max_xfer_blocks)
		d->max_xfer_blocks = 1;
	d->next = h->devices;
	h->devices = d;
	*all_tail = d;
	all_tail = &d->all_next;
	pr_info("%s: disk '%s %s' %s, %llu MiB (%llu x %u B%s)%s\n", d->name, vendor, product,
		d->id, (unsigned long long)(d->blocks * d->block_size >> 20),
		(unsigned long long)d->blocks, d->block_size,
		d->phys_block_size != d->block_size ? ", 4K physical" : "",
		d->caw ? ", ATS" : "");
	blk_disk_add(d);
}

static void scan_lun(struct scan *s, unsigned t, unsigned l, bool *target_seen)
{
	uint8_t pq, type;

	if (inquiry(s, NULL, t, l, false, 0, SCSI_INQ_STD_LEN))
		return;
	*target_seen = true;
	pq = s->buf[0] >> 5;
	type = s->buf[0] & 0x1f;
	if (pq != 0 || type == SCSI_TYPE_NONE)
		return;
	if (type != SCSI_TYPE_DISK) {
		char vendor[9], product[17];

		scsi_ascii(s->buf + 8, 8, vendor, sizeof(vendor));
		scsi_ascii(s->buf + 16, 16, product, sizeof(product));
		pr_info("%s:C0:T%u:L%u: %s '%s %s', not used\n", s->h->name, t, l, type_name(type),
			vendor, product);
		return;
	}
	add_disk(s, t, l);
}

static void scan_target(struct scan *s, unsigned t)
{
	unsigned luns[MAX_LUNS], n = 0;
	bool seen = false;
	int err = -EIO;

	if (!s->h->no_report_luns) {
		s->c->cdb_len = (uint8_t)scsi_cdb_report_luns(s->c->cdb, 8 + 8 * MAX_LUNS);
		err = scan_cmd(s, NULL, t, 0, 8 + 8 * MAX_LUNS, 2);
		if (err == -ENODEV)
			return;		/* no target */
		if (!err)
			n = scsi_report_luns_parse(s->buf, 8 + 8 * MAX_LUNS, luns, MAX_LUNS);
	}
	if (err) {
		for (unsigned l = 0; l <= s->h->max_lun && l < MAX_LUNS; l++)
			luns[n++] = l;
	}
	for (unsigned i = 0; i < n && !s->h->dead; i++) {
		scan_lun(s, t, luns[i], &seen);
		if (!seen && err)
			break;	/* INQUIRY at LUN 0 failed: nothing behind this target */
	}
}

void scsi_scan_host(struct scsi_host *h)
{
	struct scan s = { h, kmalloc(sizeof(struct scsi_cmd)), kmalloc(4096) };

	if (!s.c || !s.buf) {
		pr_err("%s: out of memory; not scanned\n", h->name);
		goto out;
	}
	for (unsigned t = 0; t <= h->max_target && !h->dead; t++)
		scan_target(&s, t);
out:
	kfree(s.c);
	kfree(s.buf);
}
