/*
 * virtio-scsi (Virtio 1.1, 5.6): a paravirtual SCSI host adapter (QEMU,
 * KVM). CDBs pass through unchanged; the device's targets and LUNs are
 * this host's (vmhbaN:C0:Tt:Ll, scanned with REPORT LUNS).
 *
 * Queues: 0 control, 1 events (unused), 2.. requests: one per CPU when the
 * device has enough and MSI-X, request queue i's interrupt on CPU i; a
 * command goes to the issuing CPU's queue. Each tag owns a request
 * header (LUN, CDB) and a response (status, sense) in DMA memory.
 *
 * Task management (ABORT TASK) completes before the aborted request is
 * guaranteed to be back from another queue, so abort() declines and the
 * SCSI layer resets the device; every queue is then set up again.
 */
#define pr_fmt(fmt) "virtio_scsi: " fmt
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

#define CFG_NUM_QUEUES	0
#define CFG_SEG_MAX	4
#define CFG_MAX_SECTORS	8
#define CFG_CMD_PER_LUN	12
#define CFG_SENSE_SIZE	20
#define CFG_CDB_SIZE	24
#define CFG_MAX_TARGET	30
#define CFG_MAX_LUN	32

#define CDB_SIZE	32	/* the default, written to the device's config */
#define SENSE_SIZE	96

/* Response codes (5.6.6.1) */
#define S_OK			0
#define S_OVERRUN		1
#define S_ABORTED		2
#define S_BAD_TARGET		3
#define S_RESET			4
#define S_BUSY			5
#define S_TRANSPORT_FAILURE	6
#define S_TARGET_FAILURE	7
#define S_NEXUS_FAILURE		8
#define S_FAILURE		9

#define MAX_QUEUES	16
#define QUEUE_SIZE	128
#define SLOT		256	/* bytes of DMA memory per tag: request then response */

struct req_cmd {
	uint8_t lun[8];
	uint64_t id;
	uint8_t task_attr, prio, crn;
	uint8_t cdb[CDB_SIZE];
} __attribute__((packed));
_Static_assert(sizeof(struct req_cmd) == 51, "virtio-scsi request header");

struct resp_cmd {
	uint32_t sense_len;
	uint32_t resid;
	uint16_t status_qualifier;
	uint8_t status;
	uint8_t response;
	uint8_t sense[SENSE_SIZE];
} __attribute__((packed));
_Static_assert(sizeof(struct resp_cmd) == 108, "virtio-scsi response");

struct vscsi;

struct qarg {
	struct vscsi *s;
	unsigned q;
};

struct vscsi {
	struct pci_dev *pdev;
	struct virtio_dev v;
	unsigned nq;				/* request queues */
	unsigned max_segs;			/* data buffers per request */
	struct virtqueue ctrl, event, req[MAX_QUEUES];
	uint8_t *slots;
	uint64_t slots_pa;
	struct scsi_host host;
	struct qarg qa[MAX_QUEUES];
};

static struct req_cmd *req_of(struct vscsi *s, unsigned tag)
{
	return (struct req_cmd *)(s->slots + (size_t)tag * SLOT);
}

static struct resp_cmd *resp_of(struct vscsi *s, unsigned tag)
{
	return (struct resp_cmd *)(s->slots + (size_t)tag * SLOT + 64);
}

static void complete(struct vscsi *s, struct scsi_cmd *c, uint32_t written)
{
	struct resp_cmd *r = resp_of(s, c->tag);

	(void)written;
	switch (r->response) {
	case S_OK:
		c->hres = SCSI_HRES_OK;
		c->status = r->status;
		c->resid = r->resid <= c->len ? r->resid : c->len;
		c->sense_len = (uint8_t)(r->sense_len < SENSE_SIZE ? r->sense_len : SENSE_SIZE);
		memcpy(c->sense, r->sense, c->sense_len);
		break;
	case S_BAD_TARGET:
		c->hres = SCSI_HRES_NO_DEVICE;
		break;
	case S_BUSY:
		c->hres = SCSI_HRES_BUSY;
		break;
	case S_ABORTED:
		c->hres = SCSI_HRES_ABORTED;
		break;
	case S_RESET:
		c->hres = SCSI_HRES_RESET;
		break;
	default:
		c->hres = SCSI_HRES_ERROR;
	}
}

static void drain(struct vscsi *s, unsigned qi)
{
	struct virtqueue *q = &s->req[qi];
	struct scsi_cmd *done[32];
	uint32_t lens[32];
	unsigned n;

	do {
		unsigned long flags = spin_lock_irqsave(&q->lock);
		void *t;

		n = 0;
		while (n < 32 && (t = vq_pop(q, &lens[n])))
			done[n++] = t;
		spin_unlock_irqrestore(&q->lock, flags);
		for (unsigned i = 0; i < n; i++) {
			complete(s, done[i], lens[i]);
			scsi_cmd_done(done[i]);
		}
	} while (n == 32);
}

static void queue_irq(void *arg)
{
	struct qarg *a = arg;

	drain(a->s, a->q);
}

static void intx_irq(void *arg)
{
	struct vscsi *s = arg;

	if (virtio_isr(&s->v) & 1)
		for (unsigned i = 0; i < s->nq; i++)
			drain(s, i);
}

static void vscsi_poll(struct scsi_host *h)
{
	struct vscsi *s = h->priv;

	for (unsigned i = 0; i < s->nq; i++)
		drain(s, i);
}

static int vscsi_queue(struct scsi_host *h, struct scsi_cmd *c)
{
	struct vscsi *s = h->priv;
	struct req_cmd *r = req_of(s, c->tag);
	uint64_t pa = s->slots_pa + (uint64_t)c->tag * SLOT;
	struct virtqueue *q;
	struct vq_buf *bufs;
	unsigned long flags;
	unsigned nout = 1, n = 1;
	int err;

	if (c->target > 255 || c->lun > 16383) {
		c->hres = SCSI_HRES_NO_DEVICE;
		scsi_cmd_done(c);
		return 0;
	}
	memset(r, 0, sizeof(*r));
	r->lun[0] = 1;
	r->lun[1] = (uint8_t)c->target;
	r->lun[2] = (uint8_t)(0x40 | (c->lun >> 8));
	r->lun[3] = (uint8_t)c->lun;
	r->id = c->tag;
	memcpy(r->cdb, c->cdb, c->cdb_len);
	q = &s->req[this_cpu_id() % s->nq];
	flags = spin_lock_irqsave(&q->lock);
	bufs = q->scratch;	/* nsg <= max_segs = vq_max_bufs() - 2 */
	bufs[0] = (struct vq_buf){ pa, sizeof(*r) };
	if (c->dir == SCSI_DIR_TO_DEV)
		for (unsigned i = 0; i < c->nsg; i++)
			bufs[n++] = (struct vq_buf){ c->sg[i].addr, c->sg[i].len };
	nout = n;
	bufs[n++] = (struct vq_buf){ pa + 64, sizeof(struct resp_cmd) };
	if (c->dir == SCSI_DIR_FROM_DEV)
		for (unsigned i = 0; i < c->nsg; i++)
			bufs[n++] = (struct vq_buf){ c->sg[i].addr, c->sg[i].len };
	err = vq_add(q, bufs, nout, bufs + nout, n - nout, c);
	if (!err)
		vq_kick(q);
	spin_unlock_irqrestore(&q->lock, flags);
	return err == -ENOSPC ? -EBUSY : err;
}

static int vscsi_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	(void)h;
	(void)c;
	return -EIO;	/* see the top of the file */
}

static int setup_queues(struct vscsi *s)
{
	int err = virtio_vq_setup(&s->v, 0, 16, 0, -1, &s->ctrl);

	if (!err)
		err = virtio_vq_setup(&s->v, 1, 16, 0, -1, &s->event);
	for (unsigned i = 0; !err && i < s->nq; i++)
		err = virtio_vq_setup(&s->v, 2 + i, QUEUE_SIZE, s->max_segs + 2,
				      s->v.msix ? (int)i : -1, &s->req[i]);
	if (err) {
		pr_err("%s: queues cannot be set up (%d)\n", s->pdev->name, err);
		return err;
	}
	if (s->v.msix)
		virtio_config_vector(&s->v, VIRTIO_MSI_NO_VECTOR);
	virtio_driver_ok(&s->v);
	return 0;
}

static int vscsi_reset(struct scsi_host *h)
{
	struct vscsi *s = h->priv;
	uint64_t had = s->v.features;
	unsigned long flags = irq_save();
	int err;

	virtio_reset(&s->v);
	err = virtio_pci_init(&s->v, s->pdev, had);
	if (!err)
		s->v.msix = s->pdev->irq_mode == PCI_IRQ_MSIX;
	if (!err)
		err = setup_queues(s);
	irq_restore(flags);
	return err;
}

static const struct scsi_host_ops vscsi_ops = {
	.queue = vscsi_queue,
	.abort = vscsi_abort,
	.reset = vscsi_reset,
	.poll = vscsi_poll,
};

static int irq_setup(struct vscsi *s)
{
	unsigned want = virtio_cfg32(&s->v, CFG_NUM_QUEUES), cpus[MAX_QUEUES];
	void *args[MAX_QUEUES];
	int n;

	if (!want)
		want = 1;
	if (want > pcpu_online_count())
		want = pcpu_online_count();
	if (want > MAX_QUEUES)
		want = MAX_QUEUES;
	for (unsigned i = 0; i < want; i++) {
		cpus[i] = i;
		s->qa[i] = (struct qarg){ s, i };
		args[i] = &s->qa[i];
	}
	n = pci_irq_alloc(s->pdev, want, PCI_IRQ_ALLOW_MSIX, queue_irq, args, cpus);
	if (n > 0) {
		s->nq = (unsigned)n;
		s->v.msix = true;
		return 0;
	}
	s->nq = 1;
	return pci_irq_alloc(s->pdev, 1, PCI_IRQ_ALLOW_INTX, intx_irq, (void *const[]){ s }, NULL) < 0
	       ? -ENODEV : 0;
}

static int vscsi_probe(struct pci_dev *d, const struct pci_device_id *id)
{
	struct vscsi *s = kzalloc(sizeof(*s));
	uint32_t seg_max, max_sectors;
	unsigned max_target;

	(void)id;
	if (!s)
		return -ENOMEM;
	s->pdev = d;
	s->slots = dma_alloc(dma_order((uint64_t)SCSI_MAX_TAGS * SLOT), DMA_LIMIT_ANY, &s->slots_pa);
	if (!s->slots || virtio_pci_init(&s->v, d, 1ull << VIRTIO_F_INDIRECT_DESC))
		goto fail;
	if (irq_setup(s)) {
		pr_err("%s: no interrupt (no MSI-X and no INTx route)\n", d->name);
		goto fail;
	}
	seg_max = virtio_cfg32(&s->v, CFG_SEG_MAX);
	s->max_segs = seg_max && seg_max < SCSI_MAX_SG ? seg_max : SCSI_MAX_SG;
	if (setup_queues(s))
		goto fail;
	if (s->max_segs + 2 > vq_max_bufs(&s->req[0]))
		s->max_segs = vq_max_bufs(&s->req[0]) - 2;	/* no indirect descriptors */
	max_sectors = virtio_cfg32(&s->v, CFG_MAX_SECTORS);
	max_target = virtio_cfg16(&s->v, CFG_MAX_TARGET);
	s->host.driver = "virtio_scsi";
	s->host.bus_name = d->name;
	s->host.ops = &vscsi_ops;
	s->host.priv = s;
	s->host.max_target = max_target < 255 ? max_target : 255;
	s->host.max_lun = 7;
	s->host.can_queue = QUEUE_SIZE * s->nq < SCSI_MAX_TAGS ? QUEUE_SIZE * s->nq : SCSI_MAX_TAGS;
	s->host.max_segs = s->max_segs;
	if (max_sectors && max_sectors * 512ull < SCSI_MAX_XFER)
		s->host.max_xfer = max_sectors * 512;
	s->host.dma_align = 1;
	pr_info("%s: %u request queue(s) by %s, targets 0-%u\n", d->name, s->nq,
		pci_irq_mode_name(d->irq_mode), s->host.max_target);
	d->drvdata = s;
	return scsi_host_add(&s->host);
fail:
	virtio_fail(&s->v);
	pci_disable(d);
	dma_free(s->slots, dma_order((uint64_t)SCSI_MAX_TAGS * SLOT));
	kfree(s);
	return -ENODEV;
}

static const struct pci_device_id vscsi_ids[] = {
	{ 0x1af4, 0x1004, 0, 0 },	/* transitional virtio-scsi */
	{ 0x1af4, 0x1048, 0, 0 },	/* virtio 1.x SCSI host */
	{ 0 },
};

static const struct pci_driver vscsi_driver = {
	.name = "virtio_scsi",
	.ids = vscsi_ids,
	.probe = vscsi_probe,
};
PCI_DRIVER(vscsi_driver);
