/*
 * virtio-blk (virtio v1.1 5.2): one virtual disk (vdisk.h) per PCI
 * device, one request queue, over the transport in pci.c.
 *
 * A request is a chain: a 16-byte header (type, reserved, sector) in
 * device-readable memory, the data, and one status byte as the last
 * device-writable byte. Data moves between guest memory and the disk
 * through a 64 KiB bounce buffer per device, so a request may be as long
 * as its buffers (seg_max of them) without the device holding more. The
 * requests a notification finds are all taken, worked through in order
 * and completed one by one with an interrupt where the driver's event
 * index asks for one; the guest keeps the rest of the ring in flight.
 *
 * Offered: SEG_MAX, BLK_SIZE, FLUSH, RO for read-only disks, DISCARD for
 * writable thin disks (whole file blocks are given back to the volume),
 * plus the transport's VERSION_1, INDIRECT_DESC, EVENT_IDX. Requests of
 * other types complete with UNSUPP; a request past the capacity, a data
 * length that is not whole sectors, a write to a read-only disk and a
 * backend failure complete with IOERR. A chain without room for the
 * header or the status byte is a broken driver: NEEDS_RESET.
 */
#define pr_fmt(fmt) "virtio-blk: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmm/vdisk.h>
#include <vmm/vdisk_host.h>
#include <vmm/vm.h>
#include <vmm/vmconfig.h>
#include "virtio_priv.h"

/* Device features (5.2.3) */
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_DISCARD		13

/* Request types and status (5.2.6) */
#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_S_OK			0
#define VIRTIO_BLK_S_IOERR		1
#define VIRTIO_BLK_S_UNSUPP		2
#define VIRTIO_BLK_ID_BYTES		20

/* Device configuration layout (5.2.4) */
#define CFG_CAPACITY			0x00
#define CFG_SEG_MAX			0x0c
#define CFG_BLK_SIZE			0x14
#define CFG_NUM_QUEUES			0x22
#define CFG_MAX_DISCARD_SECTORS		0x24
#define CFG_MAX_DISCARD_SEG		0x28
#define CFG_DISCARD_ALIGNMENT		0x2c
#define CFG_SIZE			0x3c

#define BLK_QUEUE_SIZE			256
#define BLK_SEG_MAX			126	/* data buffers; + header and status */
#define BLK_DISCARD_SEG_MAX		32
#define BOUNCE_BYTES			(64u * 1024)

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
} __attribute__((packed));
_Static_assert(sizeof(struct blk_req_hdr) == 16, "virtio_blk_req header (5.2.6)");

struct blk_discard_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
} __attribute__((packed));
_Static_assert(sizeof(struct blk_discard_seg) == 16, "virtio_blk_discard_write_zeroes (5.2.6)");

struct virtio_blk {
	struct virtio_dev vd;		/* first */
	struct vdisk disk;
	bool attached;
	char path[VDISK_PATH_MAX];	/* the disk, as /vmfs/volumes/... */
	uint8_t cfg[CFG_SIZE];		/* device configuration, fixed at create */
	uint8_t *bounce;		/* BOUNCE_BYTES, used by the I/O world only */
	struct vq_chain chain;		/* the request being worked on (I/O world) */
	uint64_t ioerrs;
};

static void cfg_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	struct virtio_blk *b = (struct virtio_blk *)vd;

	memcpy(buf, b->cfg + off, len);
}

/* Move `bytes` between the disk at `sector` and the chain's data (starting at chain offset off). */
static int transfer(struct virtio_blk *b, bool write, uint64_t sector, uint64_t off,
		    uint64_t bytes)
{
	const struct vq_mem *m = &b->vd.mem;
	int rc = 0;

	while (!rc && bytes) {
		uint32_t n = bytes < BOUNCE_BYTES ? (uint32_t)bytes : BOUNCE_BYTES;

		if (write) {
			rc = vqdev_chain_read(&b->chain, m, off, b->bounce, n);
			if (!rc)
				rc = vdisk_write(&b->disk, sector, b->bounce, n / VDISK_SECTOR);
		} else {
			rc = vdisk_read(&b->disk, sector, b->bounce, n / VDISK_SECTOR);
			if (!rc)
				rc = vqdev_chain_write(&b->chain, m, off, b->bounce, n);
		}
		sector += n / VDISK_SECTOR;
		off += n;
		bytes -= n;
	}
	return rc;
}

static int discard(struct virtio_blk *b, uint64_t bytes)
{
	struct blk_discard_seg s;
	int rc = 0;

	if (bytes % sizeof(s) || bytes / sizeof(s) > BLK_DISCARD_SEG_MAX || !bytes)
		return -EINVAL;
	for (uint64_t off = sizeof(struct blk_req_hdr); !rc && bytes; off += sizeof(s)) {
		rc = vqdev_chain_read(&b->chain, &b->vd.mem, off, &s, sizeof(s));
		if (!rc)
			rc = vdisk_discard(&b->disk, s.sector, s.num_sectors);
		bytes -= sizeof(s);
	}
	return rc;
}

/* Work on one request; *written gets the bytes put into its writable buffers. */
static uint8_t handle(struct virtio_blk *b, const struct blk_req_hdr *h, uint32_t *written)
{
	uint64_t out = b->chain.out_len - sizeof(*h), in = b->chain.in_len - 1;
	char id[VIRTIO_BLK_ID_BYTES];
	int rc;

	*written = 0;
	switch (h->type) {
	case VIRTIO_BLK_T_IN:
		if (in % VDISK_SECTOR)
			return VIRTIO_BLK_S_IOERR;
		rc = transfer(b, false, h->sector, 0, in);
		*written = (uint32_t)in;
		break;
	case VIRTIO_BLK_T_OUT:
		if (out % VDISK_SECTOR)
			return VIRTIO_BLK_S_IOERR;
		rc = transfer(b, true, h->sector, sizeof(*h), out);
		break;
	case VIRTIO_BLK_T_FLUSH:
		rc = vdisk_flush(&b->disk);
		break;
	case VIRTIO_BLK_T_GET_ID:
		memset(id, 0, sizeof(id));
		snprintf(id, sizeof(id), "vmk-%.15s", b->vd.dev.name);
		*written = in < sizeof(id) ? (uint32_t)in : (uint32_t)sizeof(id);
		rc = vqdev_chain_write(&b->chain, &b->vd.mem, 0, id, *written);
		break;
	case VIRTIO_BLK_T_DISCARD:
		if (!virtio_has_feature(&b->vd, VIRTIO_BLK_F_DISCARD))
			return VIRTIO_BLK_S_UNSUPP;
		rc = discard(b, out);
		break;
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
	if (rc)
		b->ioerrs++;
	return rc ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* One request from the ring: false if the device broke (NEEDS_RESET set). */
static bool serve(struct virtio_blk *b, struct virtqueue_dev *q)
{
	struct blk_req_hdr h;
	uint32_t written;
	uint8_t status;
	enum vq_err e;

	if (b->chain.out_len < sizeof(h) || b->chain.in_len < 1 ||
	    vqdev_chain_read(&b->chain, &b->vd.mem, 0, &h, sizeof(h))) {
		virtio_needs_reset(&b->vd, "queue 0: request %u without room for its header and "
				   "status byte", b->chain.head);
		return false;
	}
	status = handle(b, &h, &written);
	if (vqdev_chain_write(&b->chain, &b->vd.mem, b->chain.in_len - 1, &status, 1)) {
		virtio_needs_reset(&b->vd, "queue 0: status byte of request %u not writable",
				   b->chain.head);
		return false;
	}
	e = vqdev_push(q, &b->vd.mem, b->chain.head, written + 1);
	if (e) {
		virtio_needs_reset(&b->vd, "queue 0: %s", vqdev_err_name(e));
		return false;
	}
	__atomic_fetch_add(&b->vd.requests, 1, __ATOMIC_RELAXED);
	virtio_queue_done(&b->vd, 0);
	return true;
}

static void process(struct virtio_dev *vd, uint32_t queues)
{
	struct virtio_blk *b = (struct virtio_blk *)vd;
	struct virtqueue_dev *q = &vd->vq[0];

	if (!(queues & 1) || !q->enabled)
		return;
	for (;;) {
		enum vq_err e = vqdev_pop(q, &vd->mem, &b->chain);

		if (e) {
			virtio_needs_reset(vd, "queue 0: %s", vqdev_err_name(e));
			return;
		}
		if (!b->chain.nseg) {
			/* ask for the next notification, then look once more (it may have raced) */
			vqdev_want_notify(q, &vd->mem);
			if (!vqdev_has_work(q, &vd->mem))
				return;
			continue;
		}
		if (!serve(b, q))
			return;
	}
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void blk_destroy_backend(struct virtio_dev *vd)
{
	struct virtio_blk *b = (struct virtio_blk *)vd;

	if (b->attached) {
		vdisk_detach(&b->disk);
		pr_info("%s: %s: closed %s (%llu reads, %llu writes, %llu flushes, %llu discards, "
			"%llu errors)\n", vd->dev.vm->name, vd->dev.name, b->path,
			(unsigned long long)b->disk.reads, (unsigned long long)b->disk.writes,
			(unsigned long long)b->disk.flushes, (unsigned long long)b->disk.discards,
			(unsigned long long)b->ioerrs);
	}
	b->attached = false;
	kfree(b->bounce);
	b->bounce = NULL;
}

static const struct virtio_dev_ops blk_ops = {
	.cfg_read = cfg_read, .process = process, .destroy = blk_destroy_backend,
};

static int blk_open(struct virtio_blk *b, const struct vmconfig_disk *c)
{
	struct vm *vm = b->vd.dev.vm;
	unsigned flags = (c->read_only ? VDISK_RDONLY : 0) |
			 (c->multi_writer ? VDISK_MULTIWRITER : 0);
	char err[200];
	const char *dir = vm->cfg.vmx_dir[0] ? vm->cfg.vmx_dir : NULL;
	int rc = vdisk_attach(&b->disk, vm->name, dir, c->file, flags, b->path, sizeof(b->path),
			      err, sizeof(err));

	if (rc) {
		pr_err("%s: %s: disk '%s' cannot be opened: %s; this VM does not start\n", vm->name,
		       b->vd.dev.name, c->file, err);
		return rc;
	}
	b->attached = true;
	vdisk_bench(&b->disk, vm->name, b->vd.dev.name, b->path);
	pr_info("%s: %s: %s, %llu MiB, %s, %s\n", vm->name, b->vd.dev.name, b->path,
		(unsigned long long)(b->disk.sectors >> 11), b->disk.thin ? "thin" : "thick",
		c->read_only ? "read-only" : c->multi_writer ? "multi-writer" : "exclusive lock");
	return 0;
}

static int blk_create(struct vdev *d, const struct vdev_args *a)
{
	struct virtio_blk *b = (struct virtio_blk *)d;
	const struct vmconfig_disk *c = a->extra;
	uint64_t feat = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
			1ULL << VIRTIO_BLK_F_FLUSH;
	int rc;

	b->vd.ops = &blk_ops;
	b->vd.kind = "virtio-blk";
	if (!c)
		return -EINVAL;
	b->bounce = kmalloc(BOUNCE_BYTES);
	if (!b->bounce)
		return -ENOMEM;
	rc = blk_open(b, c);
	if (rc)
		return rc;
	if (b->disk.rdonly)
		feat |= 1ULL << VIRTIO_BLK_F_RO;
	else if (b->disk.thin)
		feat |= 1ULL << VIRTIO_BLK_F_DISCARD;
	memcpy(b->cfg + CFG_CAPACITY, &b->disk.sectors, 8);
	put32(b->cfg + CFG_SEG_MAX, BLK_SEG_MAX);
	put32(b->cfg + CFG_BLK_SIZE, VDISK_SECTOR);
	b->cfg[CFG_NUM_QUEUES] = 1;
	put32(b->cfg + CFG_MAX_DISCARD_SECTORS, 0x400000);	/* 2 GiB per segment */
	put32(b->cfg + CFG_MAX_DISCARD_SEG, BLK_DISCARD_SEG_MAX);
	put32(b->cfg + CFG_DISCARD_ALIGNMENT, b->disk.block_size / VDISK_SECTOR);
	b->vd.host_features = feat;
	b->vd.cfg_size = CFG_SIZE;
	b->vd.nqueues = 1;
	b->vd.qmax = BLK_QUEUE_SIZE;
	b->vd.max_segs = BLK_SEG_MAX + 2;
	return virtio_dev_create(&b->vd, VIRTIO_ID_BLOCK, 0x010000);	/* mass storage, SCSI */
}

static void blk_destroy(struct vdev *d)
{
	virtio_dev_destroy(d);
}

static const struct vdev_type virtio_blk_type = {
	.name = "virtio-blk", .size = sizeof(struct virtio_blk), .create = blk_create,
	.reset = virtio_dev_reset, .destroy = blk_destroy,
};
VDEV_TYPE(virtio_blk_type);
