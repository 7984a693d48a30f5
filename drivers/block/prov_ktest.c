/*
 * In-kernel test of UNMAP and WRITE SAME on real (emulated) disks, through
 * whichever driver runs each one. It touches only a GPT partition labelled
 * "scratch" (the system tests put one next to some datastores), so it can
 * run beside the datastores' own test.
 *
 * On every disk with a scratch partition: write a pattern over 64 blocks;
 * where the disk states a maximum WRITE SAME length (VPD 0xb0), WRITE
 * SAME(16) of a zero block over the first 32 must leave exactly those
 * reading as zeroes; where it states UNMAP, an UNMAP of 16 blocks must
 * succeed and leave the blocks around them intact. What each disk offered
 * and what was checked is logged; the system tests look for those lines.
 */
#define pr_fmt(fmt) "provisioning: " fmt
#include <errno.h>
#include <string.h>
#include <drivers/blkdisk.h>
#include <drivers/scsi.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktest.h>
#include <vmkernel/log.h>

#define SPAN 64		/* blocks written */
#define ZEROED 32	/* blocks [0, 32) by WRITE SAME */
#define UNMAP_AT 40	/* blocks [40, 56) unmapped */
#define UNMAPPED 16

static struct blk_part *scratch(struct blk_disk *d)
{
	for (struct blk_part *p = d->parts; p; p = p->next)
		if (!strcmp(p->label, "scratch"))
			return p;
	return NULL;
}

static uint8_t pat(uint64_t i)
{
	return (uint8_t)(i * 131 + 7) | 1;	/* never 0 */
}

static int write_same_zero(struct scsi_device *s, uint64_t lba, uint32_t blocks, void *zero)
{
	struct scsi_cmd *c = kmalloc(sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	memset(zero, 0, s->block_size);
	scsi_cmd_init(c, s, SCSI_DIR_TO_DEV, zero, s->block_size);
	c->cdb_len = (uint8_t)scsi_cdb_write_same16(c->cdb, lba, blocks, false);
	rc = scsi_exec(c);
	kfree(c);
	return rc;
}

static int unmap(struct scsi_device *s, uint64_t lba, uint32_t blocks)
{
	struct scsi_cmd *c = kmalloc(sizeof(*c));
	uint8_t *list = kzalloc(24);
	int rc = -ENOMEM;

	if (c && list) {
		list[1] = 22;		/* UNMAP data length */
		list[3] = 16;		/* one block descriptor */
		for (unsigned i = 0; i < 8; i++)
			list[8 + i] = (uint8_t)(lba >> (56 - 8 * i));
		for (unsigned i = 0; i < 4; i++)
			list[16 + i] = (uint8_t)(blocks >> (24 - 8 * i));
		scsi_cmd_init(c, s, SCSI_DIR_TO_DEV, list, 24);
		c->cdb_len = (uint8_t)scsi_cdb_unmap(c->cdb, 24);
		rc = scsi_exec(c);
	}
	kfree(list);
	kfree(c);
	return rc;
}

/* Block b of buf (from the span's start) holds the pattern, or zeroes. */
static bool block_is(const uint8_t *buf, uint32_t bs, unsigned b, uint64_t base, bool zero)
{
	for (uint32_t i = 0; i < bs; i++)
		if (buf[(size_t)b * bs + i] != (zero ? 0 : pat(base + (uint64_t)b * bs + i)))
			return false;
	return true;
}

/* NULL when the disk did what it offers, else what went wrong. */
static const char *check_disk(struct blk_disk *d, struct blk_part *p, uint8_t *buf, uint8_t *one)
{
	struct scsi_device *s = d->sdev;
	uint32_t bs = d->block_size;
	uint64_t base = p->start * bs;

	for (size_t i = 0; i < (size_t)SPAN * bs; i++)
		buf[i] = pat(base + i);
	if (blk_disk_rw(d, true, p->start, SPAN, buf))
		return "the pattern could not be written";
	if (s->write_same && write_same_zero(s, p->start, ZEROED, one))
		return "WRITE SAME of zeroes failed";
	if (s->unmap && unmap(s, p->start + UNMAP_AT, UNMAPPED))
		return "UNMAP failed";
	memset(buf, 0xee, (size_t)SPAN * bs);
	if (blk_disk_rw(d, false, p->start, SPAN, buf))
		return "the span could not be read back";
	for (unsigned b = 0; b < SPAN; b++) {
		bool zeroed = s->write_same && b < ZEROED;

		if (s->unmap && b >= UNMAP_AT && b < UNMAP_AT + UNMAPPED)
			continue;	/* what an unmapped block reads is the device's affair */
		if (!block_is(buf, bs, b, base, zeroed))
			return zeroed ? "a block WRITE SAME covered does not read as zeroes" :
			       "a block outside the commands' ranges changed";
	}
	return NULL;
}

KTEST(storage_provisioning)
{
	unsigned bad = 0;

	for (struct blk_disk *d = blk_disk_first(); d; d = d->next) {
		struct blk_part *p = scratch(d);
		uint8_t *buf, *one;
		const char *why;

		if (!p || !d->sdev || p->blocks < SPAN)
			continue;
		buf = kmalloc((size_t)SPAN * d->block_size);
		one = kmalloc(d->block_size);
		KT_ASSERT(buf && one);
		why = check_disk(d, p, buf, one);
		if (why) {
			pr_err("%s: %s\n", d->name, why);
			bad++;
		} else {
			pr_info("%s: %s, %s; the blocks around them kept their data\n", d->name,
				d->sdev->write_same ? "WRITE SAME zeroed 32 blocks" :
				"no WRITE SAME (VPD 0xb0)",
				d->sdev->unmap ? "UNMAP of 16 blocks done" : "no UNMAP (VPD 0xb0)");
		}
		kfree(buf);
		kfree(one);
	}
	KT_ASSERT_EQ(bad, 0);
}
