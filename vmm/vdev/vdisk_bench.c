/*
 * make bench's reference for the virtio-blk figures (kernel option
 * vdisk.bench=MiB): when a VM's virtio-blk disk opens, before the VM
 * runs, the vmkernel itself writes (then flushes) and reads the disk's
 * first MiB megabytes in 64 KiB requests through vdisk.h, the calls the
 * device makes for a guest's requests, and logs the times. The guest
 * benchmark (tests/guests/virtio_blk.c, "bench") then does the same I/O
 * through the virtio device, so the ratio is what the virtual device
 * path costs on top of the datastore. A first write pass allocates a
 * thin disk's blocks and is not counted: the guest writes into
 * allocated blocks as well. Only for measurements: the disk's data is
 * overwritten.
 *
 * The datastore's raw backing is measured too, as the floor under both:
 * the same number of bytes at the end of the datastore's block device,
 * each 64 KiB read and at once written back unchanged (then flushed),
 * with the datastore's lock held throughout so that no VMFS call of
 * this host runs in between; the bytes written are the bytes read, so
 * the volume's contents do not change. (Another host sharing the volume
 * could write there meanwhile: a bench runs with one host.)
 */
#define pr_fmt(fmt) "vdisk-bench: " fmt
#include <stdio.h>
#include <drivers/blockdev.h>
#include <fs/kernel/datastore.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/mutex.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/timer.h>
#include <vmm/vdisk.h>
#include <vmm/vdisk_host.h>

#define CHUNK		65536u
#define BENCH_MAX_MIB	64

static int pass(struct vdisk *d, bool write, uint64_t bytes, uint8_t *buf, uint64_t *ns)
{
	uint64_t t0 = time_ns();
	int rc = 0;

	for (uint64_t off = 0; off < bytes && !rc; off += CHUNK) {
		uint64_t s = off / VDISK_SECTOR;

		rc = write ? vdisk_write(d, s, buf, CHUNK / VDISK_SECTOR)
			   : vdisk_read(d, s, buf, CHUNK / VDISK_SECTOR);
	}
	if (!rc && write)
		rc = vdisk_flush(d);
	*ns = time_ns() - t0;
	return rc;
}

/* The datastore's device: each 64 KiB of the last `bytes` read, then written back. */
static int raw(const char *path, uint64_t bytes, uint8_t *buf, uint64_t *rns, uint64_t *wns)
{
	const char *rest;
	struct datastore *ds = datastore_find(path, &rest);
	struct blockdev *bd = ds ? ds->dev : NULL;
	uint32_t per;
	uint64_t lba0, t0;
	int rc = 0;

	if (!bd || CHUNK % bd->sector_size || bytes / bd->sector_size > bd->sectors)
		return -1;
	per = CHUNK / bd->sector_size;
	lba0 = bd->sectors - bytes / bd->sector_size;
	*rns = *wns = 0;
	mutex_lock(&ds->lock);
	for (uint64_t off = 0; off < bytes && !rc; off += CHUNK) {
		uint64_t lba = lba0 + off / bd->sector_size;

		t0 = time_ns();
		rc = bd->ops->read(bd, lba, per, buf);
		*rns += time_ns() - t0;
		t0 = time_ns();
		if (!rc)
			rc = bd->ops->write(bd, lba, per, buf);
		*wns += time_ns() - t0;
	}
	t0 = time_ns();
	if (!rc && bd->ops->flush)
		rc = bd->ops->flush(bd);
	*wns += time_ns() - t0;
	mutex_unlock(&ds->lock);
	return rc;
}

void vdisk_bench(struct vdisk *d, const char *vm, const char *dev, const char *path)
{
	const char *v = bootparam_get("vdisk.bench");
	uint64_t mib = 0, bytes, wns, rns, tmp;
	uint8_t *buf;

	if (!v)
		return;
	for (; *v >= '0' && *v <= '9' && mib <= BENCH_MAX_MIB; v++)
		mib = mib * 10 + (uint64_t)(*v - '0');
	bytes = mib << 20;
	if (*v || !mib || mib > BENCH_MAX_MIB || d->rdonly || bytes > d->sectors * VDISK_SECTOR) {
		pr_warn("%s: %s: vdisk.bench wants 1 to %u MiB of a writable disk at least that "
			"large; not measured\n", vm, dev, BENCH_MAX_MIB);
		return;
	}
	buf = kzalloc(CHUNK);
	if (!buf)
		return;
	for (unsigned i = 0; i < CHUNK; i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	if (pass(d, true, bytes, buf, &tmp) || pass(d, true, bytes, buf, &wns) ||
	    pass(d, false, bytes, buf, &rns))
		pr_warn("%s: %s: a request failed; not measured\n", vm, dev);
	else
		pr_info("%s: %s: seq_write %llu bytes in %llu ns, seq_read %llu bytes in %llu ns "
			"(64 KiB requests, from the vmkernel)\n", vm, dev,
			(unsigned long long)bytes, (unsigned long long)wns,
			(unsigned long long)bytes, (unsigned long long)rns);
	if (raw(path, bytes, buf, &rns, &wns))
		pr_warn("%s: %s: the datastore's device of %s could not be measured\n", vm, dev,
			path);
	else
		pr_info("%s: %s: raw_write %llu bytes in %llu ns, raw_read %llu bytes in %llu ns "
			"(64 KiB requests, the datastore's device)\n", vm, dev,
			(unsigned long long)bytes, (unsigned long long)wns,
			(unsigned long long)bytes, (unsigned long long)rns);
	kfree(buf);
}
