/*
 * virtio-blk (Virtio 1.1, 5.2): the paravirtual disk of KVM/QEMU guests,
 * driven as a one-disk SCSI host (vmhbaN:C0:T0:L0).
 *
 * SCSI commands become virtio-blk requests: READ/WRITE -> IN/OUT (sectors
 * are always 512 bytes on the wire, whatever the logical block size),
 * SYNCHRONIZE CACHE -> FLUSH (or nothing when the device has no volatile
 * cache to flush: no VIRTIO_BLK_F_FLUSH); UNMAP -> DISCARD and WRITE SAME
 * of a zero block -> WRITE_ZEROES where the device offers them (their
 * segments go from a per-tag DMA area, within the limits the configuration
 * space states, which VPD 0xb0 repeats); INQUIRY, VPD and READ CAPACITY
 * are answered from the configuration space and the serial number the
 * device returns for GET_ID.
 *
 * One request queue per CPU when the device has several (VIRTIO_BLK_F_MQ)
 * and MSI-X: queue i's interrupt goes to CPU i, and a command is queued
 * on the queue of the CPU that issues it, so it completes there. Each
 * tag owns a 16-byte request header and a status byte in DMA memory.
 * Requests cannot be aborted one by one: abort fails and the SCSI layer
 * resets the device (every queue is set up again).
 */
#define pr_fmt(fmt) "virtio_blk: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/dma.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <drivers/pci.h>
#include <vmkernel/percpu.h>
#include <drivers/scsi.h>
#include <vmkernel/timer.h>
#include <drivers/virtio.h>

#define F_SIZE_MAX	1
#define F_SEG_MAX	2
#define F_RO		5
#define F_BLK_SIZE	6
#define F_FLUSH		9
#define F_TOPOLOGY	10
#define F_MQ		12
#define F_DISCARD	13
#define F_WRITE_ZEROES	14

#define CFG_CAPACITY	0
#define CFG_SIZE_MAX	8
#define CFG_SEG_MAX	12
#define CFG_BLK_SIZE	20
#define CFG_PHYS_EXP	24
#define CFG_NUM_QUEUES	34
#define CFG_MAX_DISCARD_SECTORS	36
#define CFG_MAX_DISCARD_SEG	40
#define CFG_DISCARD_ALIGN	44
#define CFG_MAX_WZ_SECTORS	48
#define CFG_MAX_WZ_SEG		52
#define CFG_WZ_MAY_UNMAP	56

#define T_IN		0
#define T_OUT		1
#define T_FLUSH		4
#define T_GET_ID	8
#define T_DISCARD	11
#define T_WRITE_ZEROES	13

#define S_OK		0
#define S_IOERR		1
#define S_UNSUPP	2

#define MAX_QUEUES	16
#define QUEUE_SIZE	128

struct req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

/* DISCARD and WRITE_ZEROES data: one per range (Virtio 1.1, 5.2.6). */
struct dz_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;			/* bit 0: unmap (WRITE_ZEROES only) */
};
#define DZ_UNMAP	1
#define DZ_SEGS		16		/* per tag */
#define DZ_ORDER	4		/* 256 tags (a page of headers) * 16 segments */
_Static_assert((4096 / sizeof(struct req_hdr)) * DZ_SEGS * sizeof(struct dz_seg) <=
	       (4096u << DZ_ORDER), "segment areas fit");

struct vblk {
	struct pci_dev *pdev;
	struct virtio_dev v;
	unsigned nq;
	struct virtqueue q[MAX_QUEUES];
	struct req_hdr *hdr;		/* per tag */
	uint8_t *status;		/* per tag */
	uint64_t hdr_pa, status_pa;
	struct dz_seg *dz;		/* per tag: DZ_SEGS segments */
	uint64_t dz_pa;
	struct scsi_emul_disk emul;
	char serial[21];
	uint32_t block_size;
	bool flush, readonly;
	unsigned max_segs;		/* data buffers per request */
	volatile bool id_done;
	struct scsi_host host;
	struct qarg {
		struct vblk *b;
		unsigned q;
	} qa[MAX_QUEUES];		/* interrupt handler arguments */
};

static void complete(struct vblk *b, struct scsi_cmd *c, uint8_t st)
{
	struct scsi_rw rw;

	c->hres = SCSI_HRES_OK;
	if (st == S_OK) {
		c->status = SCSI_STATUS_GOOD;
		return;
	}
	if (st == S_UNSUPP) {
		scsi_cmd_set_sense(c, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		return;
	}
	scsi_cmd_set_sense(c, SCSI_SK_MEDIUM_ERROR,
			   !scsi_cdb_decode_rw(c->cdb, c->cdb_len, &rw) && rw.write ?
			   SCSI_ASC_WRITE_ERROR : SCSI_ASC_UNRECOVERED_READ);
	(void)b;
}

static void drain(struct vblk *b, unsigned qi)
{
	struct virtqueue *q = &b->q[qi];
	struct scsi_cmd *done[32];
	unsigned long flags;
	unsigned n;

	do {
		void *t;

		n = 0;
		flags = spin_lock_irqsave(&q->lock);
		while (n < 32 && (t = vq_pop(q, NULL))) {
			if (t == (void *)b) {
				b->id_done = true;	/* GET_ID at probe */
				continue;
			}
			done[n++] = t;
		}
		spin_unlock_irqrestore(&q->lock, flags);
		for (unsigned i = 0; i < n; i++) {
			complete(b, done[i], b->status[done[i]->tag]);
			scsi_cmd_done(done[i]);
		}
	} while (n == 32);
}

static void queue_irq(void *arg)
{
	struct qarg *a = arg;

	drain(a->b, a->q);
}

static void intx_irq(void *arg)
{
	struct vblk *b = arg;

	if (virtio_isr(&b->v) & 1)
		for (unsigned i = 0; i < b->nq; i++)
			drain(b, i);
}

static void vblk_poll(struct scsi_host *h)
{
	struct vblk *b = h->priv;

	for (unsigned i = 0; i < b->nq; i++)
		drain(b, i);
}

/* UNMAP -> DISCARD: one segment per range, in 512-byte sectors. */
static int discard(struct vblk *b, struct scsi_cmd *c, struct req_hdr *h, uint32_t *dz_len)
{
	struct scsi_range r[DZ_SEGS];
	struct dz_seg *seg = b->dz + (size_t)c->tag * DZ_SEGS;
	uint32_t spb = b->block_size / 512;
	int n = scsi_unmap_decode(&b->emul, c->cdb, c->cdb_len, c->data, c->len, r, DZ_SEGS,
				  &c->status, c->sense, &c->sense_len);

	if (n <= 0)
		return 1;
	for (int i = 0; i < n; i++)
		seg[i] = (struct dz_seg){ r[i].lba * spb, r[i].blocks * spb, 0 };
	h->type = T_DISCARD;
	*dz_len = (uint32_t)n * sizeof(*seg);
	return 0;
}

/* WRITE SAME of zeroes -> WRITE_ZEROES, one segment; unmap with the UNMAP bit. */
static int write_zeroes(struct vblk *b, struct scsi_cmd *c, struct req_hdr *h, uint32_t *dz_len)
{
	struct dz_seg *seg = b->dz + (size_t)c->tag * DZ_SEGS;
	uint32_t spb = b->block_size / 512;
	struct scsi_write_same ws;

	if (scsi_write_same_decode(&b->emul, c->cdb, c->cdb_len, c->data, c->len, &ws, &c->status,
				   c->sense, &c->sense_len))
		return 1;
	*seg = (struct dz_seg){ ws.lba * spb, ws.blocks * spb, ws.unmap ? DZ_UNMAP : 0 };
	h->type = T_WRITE_ZEROES;
	*dz_len = sizeof(*seg);
	return 0;
}

/*
 * Build the request for c, or answer it here. Returns 1 when answered.
 * *dz_len: bytes of DISCARD/WRITE_ZEROES segments in the tag's area, else 0.
 */
static int translate(struct vblk *b, struct scsi_cmd *c, struct req_hdr *h, uint32_t *dz_len)
{
	struct scsi_rw rw;

	memset(h, 0, sizeof(*h));
	*dz_len = 0;
	if (c->cdb[0] == SCSI_UNMAP || c->cdb[0] == SCSI_WRITE_SAME_10 ||
	    c->cdb[0] == SCSI_WRITE_SAME_16) {
		if (b->readonly) {
			scsi_cmd_set_sense(c, SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
			return 1;
		}
		return c->cdb[0] == SCSI_UNMAP ? discard(b, c, h, dz_len) :
		       write_zeroes(b, c, h, dz_len);
	}
	if (c->cdb[0] == SCSI_SYNCHRONIZE_CACHE_10 || c->cdb[0] == SCSI_SYNCHRONIZE_CACHE_16) {
		if (!b->flush) {
			c->status = SCSI_STATUS_GOOD;	/* no volatile cache: nothing to flush */
			return 1;
		}
		h->type = T_FLUSH;
		return 0;
	}
	if (!scsi_cdb_decode_rw(c->cdb, c->cdb_len, &rw) && (rw.op == SCSI_READ_10 ||
	    rw.op == SCSI_WRITE_10 || rw.op == SCSI_READ_16 || rw.op == SCSI_WRITE_16 ||
	    rw.op == 0x08 || rw.op == 0x0a || rw.op == 0xa8 || rw.op == 0xaa)) {
		uint64_t blocks = b->emul.blocks;

		if (rw.lba > blocks || rw.blocks > blocks - rw.lba) {
			scsi_cmd_set_sense(c, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
			return 1;
		}
		if ((uint64_t)rw.blocks * b->block_size != c->len) {
			scsi_cmd_set_sense(c, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
			return 1;
		}
		if (!rw.blocks) {
			c->status = SCSI_STATUS_GOOD;
			return 1;
		}
		if (rw.write && b->readonly) {
			scsi_cmd_set_sense(c, SCSI_SK_DATA_PROTECT, SCSI_ASC_WRITE_PROTECTED);
			return 1;
		}
		h->type = rw.write ? T_OUT : T_IN;
		h->sector = rw.lba * (b->block_size / 512);
		return 0;
	}
	if (scsi_emul(&b->emul, c->cdb, c->cdb_len, c->data, c->len, &c->resid, c->sense,
		      &c->sense_len, &c->status))
		return 1;
	scsi_cmd_set_sense(c, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
	return 1;
}

static int vblk_queue(struct scsi_host *h, struct scsi_cmd *c)
{
	struct vblk *b = h->priv;
	struct req_hdr *hdr = &b->hdr[c->tag];
	struct virtqueue *q;
	struct vq_buf *bufs;
	unsigned long flags;
	unsigned nout = 1, n = 1;
	uint32_t dz_len;
	int err;

	if (c->target || c->lun) {
		c->hres = SCSI_HRES_NO_DEVICE;
		scsi_cmd_done(c);
		return 0;
	}
	c->hres = SCSI_HRES_OK;
	if (translate(b, c, hdr, &dz_len)) {
		scsi_cmd_done(c);
		return 0;
	}
	b->status[c->tag] = 0xff;
	q = &b->q[this_cpu_id() % b->nq];
	flags = spin_lock_irqsave(&q->lock);
	bufs = q->scratch;	/* nsg <= max_segs = vq_max_bufs() - 2 */
	bufs[0] = (struct vq_buf){ b->hdr_pa + (uint64_t)c->tag * sizeof(*hdr), sizeof(*hdr) };
	if (hdr->type == T_IN || hdr->type == T_OUT) {
		for (unsigned i = 0; i < c->nsg; i++)
			bufs[n++] = (struct vq_buf){ c->sg[i].addr, c->sg[i].len };
		if (hdr->type == T_OUT)
			nout = n;
	} else if (dz_len) {
		bufs[n++] = (struct vq_buf){ b->dz_pa + (uint64_t)c->tag * DZ_SEGS *
					     sizeof(struct dz_seg), dz_len };
		nout = n;
	}
	bufs[n++] = (struct vq_buf){ b->status_pa + c->tag, 1 };
	err = vq_add(q, bufs, nout, bufs + nout, n - nout, c);
	if (!err)
		vq_kick(q);
	spin_unlock_irqrestore(&q->lock, flags);
	return err == -ENOSPC ? -EBUSY : err;
}

static int vblk_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	(void)h;
	(void)c;
	return -EIO;	/* virtio has no per-request abort: the layer resets the device */
}

static int setup_queues(struct vblk *b)
{
	for (unsigned i = 0; i < b->nq; i++) {
		int vec = b->v.msix ? (int)i : -1;
		int err = virtio_vq_setup(&b->v, i, QUEUE_SIZE, b->max_segs + 2, vec, &b->q[i]);

		if (err) {
			pr_err("%s: request queue %u cannot be set up (%d)\n", b->pdev->name, i, err);
			return err;
		}
	}
	if (b->v.msix)
		virtio_config_vector(&b->v, VIRTIO_MSI_NO_VECTOR);
	virtio_driver_ok(&b->v);
	return 0;
}

static uint64_t wanted_features(void)
{
	return 1ull << F_SIZE_MAX | 1ull << F_SEG_MAX | 1ull << F_RO | 1ull << F_BLK_SIZE |
	       1ull << F_FLUSH | 1ull << F_TOPOLOGY | 1ull << F_MQ | 1ull << F_DISCARD |
	       1ull << F_WRITE_ZEROES | 1ull << VIRTIO_F_INDIRECT_DESC;
}

static int vblk_reset(struct scsi_host *h)
{
	struct vblk *b = h->priv;
	uint64_t had = b->v.features;
	unsigned long flags = irq_save();
	int err;

	virtio_reset(&b->v);
	err = virtio_pci_init(&b->v, b->pdev, had);
	if (!err)
		b->v.msix = b->pdev->irq_mode == PCI_IRQ_MSIX;
	if (!err && b->v.features != had)
		err = -EIO;
	if (!err)
		err = setup_queues(b);
	irq_restore(flags);
	return err;
}

static const struct scsi_host_ops vblk_ops = {
	.queue = vblk_queue,
	.abort = vblk_abort,
	.reset = vblk_reset,
	.poll = vblk_poll,
};

/* GET_ID by polling queue 0 (probe time). */
static void get_serial(struct vblk *b)
{
	uint8_t *id = kzalloc(32);
	struct vq_buf bufs[3];
	uint64_t pa, end = time_ns() + 2000000000ull;
	unsigned long flags;

	if (!id || paging_virt_to_phys(id, &pa)) {
		kfree(id);
		return;
	}
	b->hdr[0] = (struct req_hdr){ .type = T_GET_ID };
	b->status[0] = 0xff;
	bufs[0] = (struct vq_buf){ b->hdr_pa, sizeof(struct req_hdr) };
	bufs[1] = (struct vq_buf){ pa, 20 };
	bufs[2] = (struct vq_buf){ b->status_pa, 1 };
	b->id_done = false;
	flags = spin_lock_irqsave(&b->q[0].lock);
	if (!vq_add(&b->q[0], bufs, 1, bufs + 1, 2, b))
		vq_kick(&b->q[0]);
	spin_unlock_irqrestore(&b->q[0].lock, flags);
	while (!b->id_done && time_ns() < end)
		drain(b, 0);
	if (b->id_done && b->status[0] == S_OK)
		scsi_ascii(id, 20, b->serial, sizeof(b->serial));
	kfree(id);
}

/* What UNMAP and WRITE SAME may do here: the device's stated limits, in blocks. */
static void describe_provisioning(struct vblk *b)
{
	struct scsi_emul_disk *e = &b->emul;
	uint32_t spb = b->block_size / 512;

	if (b->readonly)
		return;
	if (virtio_has(&b->v, F_DISCARD)) {
		uint32_t segs = virtio_cfg32(&b->v, CFG_MAX_DISCARD_SEG);

		e->max_unmap_blocks = virtio_cfg32(&b->v, CFG_MAX_DISCARD_SECTORS) / spb;
		e->max_unmap_descs = segs < DZ_SEGS ? segs : DZ_SEGS;
		e->unmap_granularity = virtio_cfg32(&b->v, CFG_DISCARD_ALIGN) / spb;
		e->unmap = e->max_unmap_blocks && e->max_unmap_descs;
	}
	if (virtio_has(&b->v, F_WRITE_ZEROES) && virtio_cfg32(&b->v, CFG_MAX_WZ_SEG)) {
		e->max_write_same_blocks = virtio_cfg32(&b->v, CFG_MAX_WZ_SECTORS) / spb;
		e->write_same_unmap = e->max_write_same_blocks &&
				      virtio_cfg8(&b->v, CFG_WZ_MAY_UNMAP);
	}
}

static void describe(struct vblk *b)
{
	struct scsi_emul_disk *e = &b->emul;
	uint64_t sectors = virtio_cfg64(&b->v, CFG_CAPACITY);
	unsigned exp = virtio_has(&b->v, F_TOPOLOGY) ? virtio_cfg8(&b->v, CFG_PHYS_EXP) : 0;

	b->block_size = 512;
	if (virtio_has(&b->v, F_BLK_SIZE)) {
		uint32_t bs = virtio_cfg32(&b->v, CFG_BLK_SIZE);

		if (bs >= 512 && bs <= 65536 && !(bs & (bs - 1)))
			b->block_size = bs;
	}
	b->flush = virtio_has(&b->v, F_FLUSH);
	b->readonly = virtio_has(&b->v, F_RO);
	memset(e, 0, sizeof(*e));
	e->vendor = "VirtIO";
	e->product = "Block Device";
	e->revision = "1.0";
	e->serial = b->serial;
	if (b->serial[0])
		snprintf(e->t10_vendor, sizeof(e->t10_vendor), "VirtIO");
	e->block_size = b->block_size;
	e->blocks = sectors / (b->block_size / 512);
	e->phys_block_size = exp < 8 ? b->block_size << exp : b->block_size;
	e->max_xfer_blocks = SCSI_MAX_XFER / b->block_size;
	describe_provisioning(b);
}

static unsigned queue_count(struct vblk *b, unsigned *cpus)
{
	unsigned nq = virtio_has(&b->v, F_MQ) ? virtio_cfg16(&b->v, CFG_NUM_QUEUES) : 1;

	if (!nq)
		nq = 1;
	if (nq > pcpu_online_count())
		nq = pcpu_online_count();
	if (nq > MAX_QUEUES)
		nq = MAX_QUEUES;
	for (unsigned i = 0; i < nq; i++)
		cpus[i] = i;
	return nq;
}

static int irq_setup(struct vblk *b)
{
	unsigned cpus[MAX_QUEUES];
	void *args[MAX_QUEUES];
	unsigned want = queue_count(b, cpus);
	int n;

	for (unsigned i = 0; i < want; i++) {
		b->qa[i] = (struct qarg){ b, i };
		args[i] = &b->qa[i];
	}
	n = pci_irq_alloc(b->pdev, want, PCI_IRQ_ALLOW_MSIX, queue_irq, args, cpus);
	if (n > 0) {
		b->nq = (unsigned)n;
		b->v.msix = true;
		return 0;
	}
	b->nq = 1;
	return pci_irq_alloc(b->pdev, 1, PCI_IRQ_ALLOW_INTX, intx_irq, (void *const[]){ b }, NULL) < 0
	       ? -ENODEV : 0;
}

static int vblk_probe(struct pci_dev *d, const struct pci_device_id *id)
{
	struct vblk *b = kzalloc(sizeof(*b));
	uint32_t seg_max;

	(void)id;
	if (!b)
		return -ENOMEM;
	b->pdev = d;
	b->hdr = dma_alloc(0, DMA_LIMIT_ANY, &b->hdr_pa);
	b->status = dma_alloc(0, DMA_LIMIT_ANY, &b->status_pa);
	b->dz = dma_alloc(DZ_ORDER, DMA_LIMIT_ANY, &b->dz_pa);
	if (!b->hdr || !b->status || !b->dz || virtio_pci_init(&b->v, d, wanted_features()))
		goto fail;
	if (irq_setup(b)) {
		pr_err("%s: no interrupt (no MSI-X and no INTx route)\n", d->name);
		goto fail;
	}
	seg_max = virtio_has(&b->v, F_SEG_MAX) ? virtio_cfg32(&b->v, CFG_SEG_MAX) : SCSI_MAX_SG;
	b->max_segs = seg_max && seg_max < SCSI_MAX_SG ? seg_max : SCSI_MAX_SG;
	if (setup_queues(b))
		goto fail;
	if (b->max_segs + 2 > vq_max_bufs(&b->q[0]))
		b->max_segs = vq_max_bufs(&b->q[0]) - 2;	/* no indirect descriptors */
	get_serial(b);
	describe(b);
	b->host.driver = "virtio_blk";
	b->host.bus_name = d->name;
	b->host.ops = &vblk_ops;
	b->host.priv = b;
	b->host.max_target = 0;
	b->host.max_lun = 0;
	b->host.can_queue = 4096 / sizeof(struct req_hdr) < QUEUE_SIZE * b->nq ?
			    4096 / sizeof(struct req_hdr) : QUEUE_SIZE * b->nq;
	b->host.max_segs = b->max_segs;
	if (virtio_has(&b->v, F_SIZE_MAX) && virtio_cfg32(&b->v, CFG_SIZE_MAX) >= 4096)
		b->host.max_seg_len = virtio_cfg32(&b->v, CFG_SIZE_MAX);
	b->host.dma_align = 1;
	pr_info("%s: %llu MiB, %u-byte blocks, %u queue(s) by %s%s%s%s%s%s\n", d->name,
		(unsigned long long)(b->emul.blocks * b->block_size >> 20), b->block_size, b->nq,
		pci_irq_mode_name(d->irq_mode), b->flush ? ", write cache" : "",
		b->readonly ? ", read-only" : "", b->q[0].indirect ? ", indirect descriptors" : "",
		b->emul.unmap ? ", discard" : "", b->emul.max_write_same_blocks ? ", write zeroes" : "");
	d->drvdata = b;
	return scsi_host_add(&b->host);
fail:
	virtio_fail(&b->v);
	pci_disable(d);
	dma_free(b->hdr, 0);
	dma_free(b->status, 0);
	dma_free(b->dz, DZ_ORDER);
	kfree(b);
	return -ENODEV;
}

static const struct pci_device_id vblk_ids[] = {
	{ 0x1af4, 0x1001, 0, 0 },	/* transitional virtio-blk */
	{ 0x1af4, 0x1042, 0, 0 },	/* virtio 1.x block device */
	{ 0 },
};

static const struct pci_driver vblk_driver = {
	.name = "virtio_blk",
	.ids = vblk_ids,
	.probe = vblk_probe,
};
PCI_DRIVER(vblk_driver);
