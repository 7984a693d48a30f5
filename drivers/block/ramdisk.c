/*
 * RAM-backed block device (see include/ramdisk.h). The image is copied into
 * a kzalloc'd buffer at creation: copy-on-write at whole-image granularity,
 * which keeps the driver trivial; a volume for in-kernel tests is a few MiB.
 * Every transfer is a memcpy, so single-sector writes are trivially atomic
 * and flush has nothing to do. No compare-and-write: fs/ uses Disk Paxos.
 */
#include <string.h>
#include <errno.h>
#include <vmkernel/kmem.h>
#include <drivers/ramdisk.h>

#define RD_SECTOR 512u

struct ramdisk {
	struct blockdev dev;
	uint8_t *mem;
};

static int rd_check(struct blockdev *dev, uint64_t lba, uint32_t count)
{
	return lba > dev->sectors || count > dev->sectors - lba ? -EIO : 0;
}

static int rd_read(struct blockdev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct ramdisk *rd = dev->priv;
	int rc = rd_check(dev, lba, count);

	if (!rc)
		memcpy(buf, rd->mem + lba * RD_SECTOR, (size_t)count * RD_SECTOR);
	return rc;
}

static int rd_write(struct blockdev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	struct ramdisk *rd = dev->priv;
	int rc = rd_check(dev, lba, count);

	if (!rc)
		memcpy(rd->mem + lba * RD_SECTOR, buf, (size_t)count * RD_SECTOR);
	return rc;
}

static int rd_flush(struct blockdev *dev)
{
	(void)dev;
	return 0;
}

static const struct blockdev_ops rd_ops = {
	.read = rd_read,
	.write = rd_write,
	.flush = rd_flush,
	.compare_and_write = NULL,
};

struct blockdev *ramdisk_create(const void *image, size_t size)
{
	struct ramdisk *rd;

	if (!size || size % RD_SECTOR)
		return NULL;
	rd = kzalloc(sizeof(*rd));
	if (!rd)
		return NULL;
	rd->mem = kmalloc(size);
	if (!rd->mem) {
		kfree(rd);
		return NULL;
	}
	memcpy(rd->mem, image, size);
	rd->dev.ops = &rd_ops;
	rd->dev.priv = rd;
	rd->dev.sector_size = RD_SECTOR;
	rd->dev.sectors = size / RD_SECTOR;
	return &rd->dev;
}

void ramdisk_destroy(struct blockdev *dev)
{
	struct ramdisk *rd;

	if (!dev)
		return;
	rd = dev->priv;
	kfree(rd->mem);
	kfree(rd);
}
