/*
 * The block layer: transfers on disks and partitions (see include/blkdisk.h).
 *
 * blk_disk_rw() cuts a transfer into commands of at most max_xfer_blocks,
 * keeps up to BLK_MAX_INFLIGHT of them queued and waits for each in turn
 * (the SCSI layer retries and reports failures). The command structures
 * come from the heap per call. Disks never go away, so the lists are
 * built at boot and read without locks.
 */
#define pr_fmt(fmt) "blk: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/blkdisk.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <drivers/scsi.h>

#define STAT_ADD(d, f, v) __atomic_fetch_add(&(d)->f, (v), __ATOMIC_RELAXED)

static struct blk_disk *disks, **disks_tail = &disks;

struct blk_disk *blk_disk_first(void)
{
	return disks;
}

struct blk_part *blk_part_find(const char *name)
{
	for (struct blk_disk *d = disks; d; d = d->next) {
		for (struct blk_part *p = d->parts; p; p = p->next) {
			if (!strcmp(p->name, name))
				return p;
		}
	}
	return NULL;
}

static int range_ok(const struct blk_disk *d, uint64_t lba, uint32_t count)
{
	return lba <= d->sdev->blocks && count <= d->sdev->blocks - lba ? 0 : -EINVAL;
}

int blk_disk_rw(struct blk_disk *d, bool write, uint64_t lba, uint32_t count, void *buf)
{
	struct scsi_device *s = d->sdev;
	uint32_t chunk = s->max_xfer_blocks;
	unsigned ncmd = (count + chunk - 1) / chunk, head = 0, tail = 0;
	struct scsi_cmd *cmds;
	int err = 0;

	if (range_ok(d, lba, count)) {
		pr_err("%s: %s of %u blocks at %llu is beyond the disk's %llu blocks\n", d->name,
		       write ? "write" : "read", count, (unsigned long long)lba,
		       (unsigned long long)s->blocks);
		return -EINVAL;
	}
	if (!count)
		return 0;
	if (ncmd > BLK_MAX_INFLIGHT)
		ncmd = BLK_MAX_INFLIGHT;
	cmds = kmalloc(sizeof(*cmds) * ncmd);
	if (!cmds)
		return -ENOMEM;
	while (tail < head || count) {
		/* Fill the window, then retire the oldest. */
		while (count && head - tail < ncmd && !err) {
			struct scsi_cmd *c = &cmds[head % ncmd];
			uint32_t n = count < chunk ? count : chunk;

			scsi_cmd_init(c, s, write ? SCSI_DIR_TO_DEV : SCSI_DIR_FROM_DEV, buf,
				      n * d->block_size);
			c->cdb_len = (uint8_t)scsi_cdb_rw16(c->cdb, write, lba, n, false);
			err = scsi_submit(c);
			if (err)
				break;
			head++;
			lba += n;
			count -= n;
			buf = (uint8_t *)buf + (size_t)n * d->block_size;
		}
		if (tail == head)
			break;
		if (scsi_wait(&cmds[tail % ncmd]) && !err)
			err = -EIO;
		tail++;
		if (err)
			count = 0;	/* stop issuing; drain what is queued */
	}
	kfree(cmds);
	STAT_ADD(d, n_cmds, head);
	if (err)
		STAT_ADD(d, n_errors, 1);
	return err;
}

int blk_disk_flush(struct blk_disk *d)
{
	struct scsi_cmd *c = kmalloc(sizeof(*c));
	int err;

	if (!c)
		return -ENOMEM;
	scsi_cmd_init(c, d->sdev, SCSI_DIR_NONE, NULL, 0);
	c->cdb_len = (uint8_t)scsi_cdb_sync_cache10(c->cdb);
	err = scsi_exec(c);
	kfree(c);
	STAT_ADD(d, n_flushes, 1);
	return err;
}

/* ---- the whole disk as a block device ---- */

static int disk_read(struct blockdev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct blk_disk *d = dev->priv;

	STAT_ADD(d, n_reads, 1);
	STAT_ADD(d, bytes_read, (uint64_t)count * d->block_size);
	return blk_disk_rw(d, false, lba, count, buf);
}

static int disk_write(struct blockdev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	struct blk_disk *d = dev->priv;

	STAT_ADD(d, n_writes, 1);
	STAT_ADD(d, bytes_written, (uint64_t)count * d->block_size);
	return blk_disk_rw(d, true, lba, count, (void *)buf);
}

static int disk_flush(struct blockdev *dev)
{
	return blk_disk_flush(dev->priv);
}

/* COMPARE AND WRITE of one block (SBC-3 5.2): 0, -EAGAIN on miscompare, -EIO. */
static int caw(struct blk_disk *d, uint64_t lba, const void *expected, const void *new_data)
{
	uint32_t bs = d->block_size;
	struct scsi_cmd *c = kmalloc(sizeof(*c));
	uint8_t *data = kmalloc(2 * bs);
	struct scsi_sense s;
	int err = -ENOMEM;

	if (!c || !data)
		goto out;
	memcpy(data, expected, bs);
	memcpy(data + bs, new_data, bs);
	scsi_cmd_init(c, d->sdev, SCSI_DIR_TO_DEV, data, 2 * bs);
	c->cdb_len = (uint8_t)scsi_cdb_caw(c->cdb, lba, 1);
	c->quiet = true;	/* a miscompare is an answer, not a failure */
	err = scsi_exec(c);
	if (err) {
		scsi_sense_parse(c->sense, c->sense_len, &s);
		if (c->hres == SCSI_HRES_OK && s.valid && s.key == SCSI_SK_MISCOMPARE) {
			err = -EAGAIN;
		} else {
			pr_err("%s: COMPARE AND WRITE at LBA %llu failed\n", d->name,
			       (unsigned long long)lba);
			err = -EIO;
		}
	}
out:
	kfree(c);
	kfree(data);
	return err;
}

static int disk_caw(struct blockdev *dev, uint64_t lba, const void *expected, const void *new_data)
{
	return caw(dev->priv, lba, expected, new_data);
}

static const struct blockdev_ops disk_ops = {
	.read = disk_read,
	.write = disk_write,
	.flush = disk_flush,
	.compare_and_write = disk_caw,
};

static const struct blockdev_ops disk_ops_no_caw = {
	.read = disk_read,
	.write = disk_write,
	.flush = disk_flush,
	.compare_and_write = NULL,
};

/* ---- partitions: 512-byte sectors on any disk ---- */

static int part_check(const struct blk_part *p, uint64_t lba, uint32_t count)
{
	return lba <= p->dev.sectors && count <= p->dev.sectors - lba ? 0 : -EINVAL;
}

/* Read/write whole disk blocks covering 512-byte sectors [lba, lba+count) of p, via a bounce. */
static int part_rmw(struct blk_part *p, bool write, uint64_t lba, uint32_t count, void *buf)
{
	struct blk_disk *d = p->disk;
	uint32_t per = d->block_size / 512;
	uint64_t first = lba / per, last = (lba + count - 1) / per;
	uint32_t nblk = (uint32_t)(last - first + 1);
	size_t off = (size_t)(lba % per) * 512;
	uint8_t *tmp = kmalloc((size_t)nblk * d->block_size);
	int err;

	if (!tmp)
		return -ENOMEM;
	if (write)
		mutex_lock(&d->rmw);
	err = blk_disk_rw(d, false, p->start + first, nblk, tmp);
	if (!err && write) {
		memcpy(tmp + off, buf, (size_t)count * 512);
		err = blk_disk_rw(d, true, p->start + first, nblk, tmp);
	} else if (!err) {
		memcpy(buf, tmp + off, (size_t)count * 512);
	}
	if (write)
		mutex_unlock(&d->rmw);
	kfree(tmp);
	return err;
}

static int part_io(struct blockdev *dev, bool write, uint64_t lba, uint32_t count, void *buf)
{
	struct blk_part *p = dev->priv;
	struct blk_disk *d = p->disk;
	uint32_t per = d->block_size / 512;
	int err;

	if (part_check(p, lba, count)) {
		pr_err("%s: %s of %u sectors at %llu is beyond the partition's %llu\n", p->name,
		       write ? "write" : "read", count, (unsigned long long)lba,
		       (unsigned long long)dev->sectors);
		return -EINVAL;
	}
	if (!count)
		return 0;
	STAT_ADD(d, n_reads, write ? 0 : 1);
	STAT_ADD(d, n_writes, write ? 1 : 0);
	if (write)
		STAT_ADD(d, bytes_written, (uint64_t)count * 512);
	else
		STAT_ADD(d, bytes_read, (uint64_t)count * 512);
	if (per == 1)
		return blk_disk_rw(d, write, p->start + lba, count, buf);
	if (lba % per == 0 && count % per == 0) {
		/* Whole blocks; still ordered against read-modify-writes of the same blocks. */
		if (write)
			mutex_lock(&d->rmw);
		err = blk_disk_rw(d, write, p->start + lba / per, count / per, buf);
		if (write)
			mutex_unlock(&d->rmw);
		return err;
	}
	return part_rmw(p, write, lba, count, buf);
}

static int part_read(struct blockdev *dev, uint64_t lba, uint32_t count, void *buf)
{
	return part_io(dev, false, lba, count, buf);
}

static int part_write(struct blockdev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	return part_io(dev, true, lba, count, (void *)buf);
}

static int part_flush(struct blockdev *dev)
{
	struct blk_part *p = dev->priv;

	return blk_disk_flush(p->disk);
}

static int part_caw(struct blockdev *dev, uint64_t lba, const void *expected, const void *new_data)
{
	struct blk_part *p = dev->priv;

	if (part_check(p, lba, 1))
		return -EINVAL;
	return caw(p->disk, p->start + lba, expected, new_data);
}

static const struct blockdev_ops part_ops = {
	.read = part_read,
	.write = part_write,
	.flush = part_flush,
	.compare_and_write = part_caw,
};

static const struct blockdev_ops part_ops_no_caw = {
	.read = part_read,
	.write = part_write,
	.flush = part_flush,
	.compare_and_write = NULL,
};

/* ---- partition table ---- */

static int gpt_rd(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	return blk_disk_rw(ctx, false, lba, count, buf);
}

static void *gpt_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return kmalloc(n ? n : 1);
}

static void gpt_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

static void add_part(struct blk_disk *d, const struct gpt_part *gp, struct blk_part ***tail)
{
	struct blk_part *p = kzalloc(sizeof(*p));
	const char *tn = gpt_type_name(gp->type);
	char guid[37];

	if (!p)
		return;
	p->disk = d;
	p->index = gp->index;
	p->start = gp->first;
	p->blocks = gp->last - gp->first + 1;
	memcpy(p->type, gp->type, 16);
	memcpy(p->label, gp->name, sizeof(p->label));
	snprintf(p->name, sizeof(p->name), "%s:%u", d->name, gp->index);
	p->dev.ops = d->sdev->caw && d->block_size == 512 ? &part_ops : &part_ops_no_caw;
	p->dev.priv = p;
	p->dev.sector_size = 512;
	p->dev.sectors = p->blocks * (d->block_size / 512);
	**tail = p;
	*tail = &p->next;
	d->nparts++;
	gpt_guid_str(gp->type, guid);
	pr_info("%s: partition %u '%s' %s, %llu MiB at block %llu\n", d->name, gp->index,
		gp->name, tn ? tn : guid, (unsigned long long)(p->blocks * d->block_size >> 20),
		(unsigned long long)gp->first);
}

static void read_partitions(struct blk_disk *d)
{
	struct gpt_io io = { d, d->block_size, d->sdev->blocks, gpt_rd, NULL, gpt_alloc, gpt_free };
	struct gpt_table *t = kmalloc(sizeof(*t));
	struct blk_part **tail = &d->parts;

	if (!t)
		return;
	d->gpt_status = gpt_read(&io, t);
	if (d->gpt_status) {
		snprintf(d->gpt_err, sizeof(d->gpt_err), "%s", t->err);
		if (d->gpt_status == -ENOENT)
			pr_info("%s: %s\n", d->name, t->err);
		else
			pr_err("%s: partition table unusable: %s\n", d->name, t->err);
		kfree(t);
		return;
	}
	for (unsigned i = 0; i < t->nwarn; i++)
		pr_warn("%s: GPT: %s\n", d->name, t->warn[i]);
	for (unsigned i = 0; i < t->nparts; i++)
		add_part(d, &t->parts[i], &tail);
	kfree(t);
}

int blk_disk_add(struct scsi_device *sdev)
{
	struct blk_disk *d = kzalloc(sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->sdev = sdev;
	d->name = sdev->id;
	d->block_size = sdev->block_size;
	d->emulate512 = d->block_size > 512;
	mutex_init(&d->rmw, "blk rmw");
	d->dev.ops = sdev->caw ? &disk_ops : &disk_ops_no_caw;
	d->dev.priv = d;
	d->dev.sector_size = d->block_size;
	d->dev.sectors = sdev->blocks;
	sdev->blk = d;
	*disks_tail = d;
	disks_tail = &d->next;
	read_partitions(d);
	return 0;
}
