/*
 * NVM Express controllers (NVMe 1.4 over PCIe), e.g. QEMU's nvme device.
 *
 * One admin queue (used by polling, at probe and reset) and one I/O queue
 * pair per CPU, each completion queue's MSI-X vector aimed at its CPU: a
 * command is submitted on the issuing CPU's queue and completes there.
 * Namespaces are LUNs (vmhbaN:C0:T0:L<nsid-1>); SCSI commands are
 * translated by scsi_nvme.c. The layer's tag is the command identifier
 * (the second half of a fused pair has bit 15 set). Data goes by PRPs; a
 * transfer of more than two pages uses a per-tag PRP list (2 KiB, 256
 * pages after the first: the layer's 1 MiB maximum; the controller's MDTS
 * may allow less).
 *
 * NVMe's Abort command is only a request, and a late completion could be
 * matched to a new command reusing the tag, so abort() declines and the
 * SCSI layer resets the controller: disable, then queues built again in
 * the same memory; every command in flight is forgotten and retried.
 *
 * Locking: each queue's lock covers its tail, head and phase; completions
 * are handed to the SCSI layer after it is dropped.
 */
#define pr_fmt(fmt) "nvme: " fmt
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
#include <drivers/scsi_nvme.h>
#include <vmkernel/timer.h>

#define MAX_IOQ 16
#define MAX_NS 16
#define ADMIN_DEPTH 32
#define IO_DEPTH 128
#define PRP_LIST_BYTES 2048	/* per tag: 256 entries, 1 MiB past the first page */
/* A Dataset Management command has no data PRPs: its ranges use the tag's PRP list area. */
_Static_assert(NVME_DSM_PAYLOAD <= PRP_LIST_BYTES && 4096 % PRP_LIST_BYTES == 0,
	       "DSM ranges fit the tag's area, which does not cross a page");

struct nvme;

struct nvme_queue {
	struct nvme *n;
	unsigned qid, size;
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint64_t sq_pa, cq_pa;
	volatile uint32_t *sq_db, *cq_db;
	struct spinlock lock;
	uint16_t sq_tail, sq_head, cq_head;	/* lock */
	uint8_t phase;				/* lock */
};

struct nvme {
	struct pci_dev *pdev;
	volatile uint8_t *regs;
	uint64_t cap;
	unsigned dstrd;
	struct nvme_queue admin;
	struct nvme_queue io[MAX_IOQ];
	unsigned nq;
	bool intx;
	struct nvme_ctrl_info ctrl;
	unsigned nns;
	struct nvme_ns_info ns[MAX_NS];
	struct scsi_emul_disk emul[MAX_NS];
	unsigned luns[MAX_NS];
	uint8_t *prp;
	uint64_t prp_pa;
	uint16_t admin_cid;
	struct tag_state {
		uint8_t left;		/* completions still due (2 for a fused pair) */
		bool failed;
		uint8_t sct, sc;	/* the first failure's status */
	} tags[SCSI_MAX_TAGS];
	struct scsi_host host;
};

static uint32_t r32(struct nvme *n, unsigned off)
{
	return *(volatile uint32_t *)(n->regs + off);
}

static uint64_t r64(struct nvme *n, unsigned off)
{
	return r32(n, off) | (uint64_t)r32(n, off + 4) << 32;
}

static void w32(struct nvme *n, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(n->regs + off) = v;
}

static void w64(struct nvme *n, unsigned off, uint64_t v)
{
	w32(n, off, (uint32_t)v);
	w32(n, off + 4, (uint32_t)(v >> 32));
}

static bool wait_rdy(struct nvme *n, bool want)
{
	uint64_t end;
	unsigned ms = NVME_CAP_TO_MS(n->cap);

	if (!ms)
		ms = 500;
	end = time_ns() + (uint64_t)ms * 1000000;
	while (!!(r32(n, NVME_REG_CSTS) & NVME_CSTS_RDY) != want) {
		if (r32(n, NVME_REG_CSTS) == 0xffffffffu || time_ns() > end)
			return false;
		cpu_relax();
	}
	return true;
}

static int queue_mem(struct nvme_queue *q, struct nvme *n, unsigned qid, unsigned size)
{
	if (!q->sq) {
		q->sq = dma_alloc(dma_order(size * sizeof(struct nvme_sqe)), DMA_LIMIT_ANY, &q->sq_pa);
		q->cq = dma_alloc(dma_order(size * sizeof(struct nvme_cqe)), DMA_LIMIT_ANY, &q->cq_pa);
		if (!q->sq || !q->cq)
			return -ENOMEM;
		spin_init(&q->lock, "nvme queue");
	} else {
		memset(q->cq, 0, size * sizeof(struct nvme_cqe));
	}
	q->n = n;
	q->qid = qid;
	q->size = size;
	q->sq_tail = q->sq_head = q->cq_head = 0;
	q->phase = 1;
	q->sq_db = (volatile uint32_t *)(n->regs + NVME_REG_DBS + (2 * qid) * (4u << n->dstrd));
	q->cq_db = (volatile uint32_t *)(n->regs + NVME_REG_DBS + (2 * qid + 1) * (4u << n->dstrd));
	return 0;
}

/* Put sqe on q (caller holds q->lock); -EBUSY when the queue is full. */
static int sq_put(struct nvme_queue *q, const struct nvme_sqe *sqe)
{
	uint16_t next = (uint16_t)((q->sq_tail + 1) % q->size);

	if (next == q->sq_head)
		return -EBUSY;
	q->sq[q->sq_tail] = *sqe;
	q->sq_tail = next;
	return 0;
}

static void sq_ring(struct nvme_queue *q)
{
	dma_wmb();
	*q->sq_db = q->sq_tail;
}

/* The next completion, or NULL; caller holds q->lock. */
static struct nvme_cqe *cq_next(struct nvme_queue *q)
{
	struct nvme_cqe *e = &q->cq[q->cq_head];
	uint16_t st = *(volatile uint16_t *)&e->status;

	if (NVME_CQE_PHASE(st) != q->phase)
		return NULL;
	dma_rmb();
	if (++q->cq_head == q->size) {
		q->cq_head = 0;
		q->phase ^= 1;
	}
	q->sq_head = e->sq_head % q->size;
	return e;
}

/* An admin command, by polling; 0 with *dw0, or -EIO (status logged), -ETIMEDOUT. */
static int admin(struct nvme *n, struct nvme_sqe *sqe, uint32_t *dw0, const char *what)
{
	struct nvme_queue *q = &n->admin;
	uint64_t end = time_ns() + 5000000000ull;
	uint16_t cid = n->admin_cid++;
	unsigned long flags = spin_lock_irqsave(&q->lock);
	struct nvme_cqe *e;

	sqe->cdw0 = (sqe->cdw0 & 0xffff) | (uint32_t)cid << 16;
	if (sq_put(q, sqe)) {
		spin_unlock_irqrestore(&q->lock, flags);
		return -EBUSY;
	}
	sq_ring(q);
	for (;;) {
		e = cq_next(q);
		if (e && e->cid == cid)
			break;
		if (time_ns() > end) {
			spin_unlock_irqrestore(&q->lock, flags);
			pr_err("%s: %s timed out\n", n->pdev->name, what);
			return -ETIMEDOUT;
		}
		cpu_relax();
	}
	*q->cq_db = q->cq_head;
	spin_unlock_irqrestore(&q->lock, flags);
	if (NVME_CQE_SC(e->status) || NVME_CQE_SCT(e->status)) {
		pr_err("%s: %s failed: status type %u code %#x\n", n->pdev->name, what,
		       NVME_CQE_SCT(e->status), NVME_CQE_SC(e->status));
		return -EIO;
	}
	if (dw0)
		*dw0 = e->dw0;
	return 0;
}

static int identify(struct nvme *n, unsigned cns, uint32_t nsid, void *buf, const char *what)
{
	struct nvme_sqe s = { .cdw0 = NVME_ADM_IDENTIFY, .nsid = nsid, .cdw10 = cns };

	if (paging_virt_to_phys(buf, &s.prp1))
		return -EFAULT;
	return admin(n, &s, NULL, what);
}

/* Disable, set up the admin queue, enable (NVMe 7.6.1). */
static int enable(struct nvme *n)
{
	w32(n, NVME_REG_CC, r32(n, NVME_REG_CC) & ~NVME_CC_EN);
	if (!wait_rdy(n, false)) {
		pr_err("%s: controller does not become disabled\n", n->pdev->name);
		return -EIO;
	}
	if (queue_mem(&n->admin, n, 0, ADMIN_DEPTH))
		return -ENOMEM;
	w32(n, NVME_REG_AQA, (ADMIN_DEPTH - 1) << 16 | (ADMIN_DEPTH - 1));
	w64(n, NVME_REG_ASQ, n->admin.sq_pa);
	w64(n, NVME_REG_ACQ, n->admin.cq_pa);
	w32(n, NVME_REG_CC, NVME_CC_EN | NVME_CC_CSS_NVM | NVME_CC_MPS(12) | NVME_CC_AMS_RR |
			    NVME_CC_IOSQES | NVME_CC_IOCQES);
	if (!wait_rdy(n, true) || (r32(n, NVME_REG_CSTS) & NVME_CSTS_CFS)) {
		pr_err("%s: controller never became ready (CSTS %#x)\n", n->pdev->name,
		       r32(n, NVME_REG_CSTS));
		return -EIO;
	}
	return 0;
}

static int create_io_queues(struct nvme *n)
{
	for (unsigned i = 0; i < n->nq; i++) {
		struct nvme_queue *q = &n->io[i];
		unsigned qid = i + 1, depth = NVME_CAP_MQES(n->cap) < IO_DEPTH ?
					      NVME_CAP_MQES(n->cap) : IO_DEPTH;
		struct nvme_sqe cq = { .cdw0 = NVME_ADM_CREATE_CQ };
		struct nvme_sqe sq = { .cdw0 = NVME_ADM_CREATE_SQ };
		int err = queue_mem(q, n, qid, depth);

		if (err)
			return err;
		cq.prp1 = q->cq_pa;
		cq.cdw10 = (depth - 1) << 16 | qid;
		cq.cdw11 = (n->intx ? 0 : i) << 16 | 1u << 1 | 1u;	/* vector, IEN, contiguous */
		sq.prp1 = q->sq_pa;
		sq.cdw10 = (depth - 1) << 16 | qid;
		sq.cdw11 = qid << 16 | 1u;				/* CQ, contiguous */
		if (admin(n, &cq, NULL, "Create I/O Completion Queue") ||
		    admin(n, &sq, NULL, "Create I/O Submission Queue"))
			return -EIO;
	}
	return 0;
}

/* ---- I/O ---- */

static struct nvme_ns_info *ns_for(struct nvme *n, unsigned lun, unsigned *idx)
{
	for (unsigned i = 0; i < n->nns; i++) {
		if (n->ns[i].nsid == lun + 1) {
			*idx = i;
			return &n->ns[i];
		}
	}
	return NULL;
}

/*
 * PRP1/PRP2 for the bytes [off, off+len) of c's data (NVMe 4.3): every page
 * after the first must start page-aligned and every page before the last
 * must run to its end, which the SCSI layer's page-wise mapping of a
 * virtually contiguous buffer gives. Past two pages, PRP2 points to the
 * tag's PRP list (list: NULL when the command may not have one).
 */
static int build_prps(struct nvme *n, struct scsi_cmd *c, uint32_t off, uint32_t len,
		      struct nvme_sqe *s, uint64_t *list)
{
	uint64_t second = 0;
	unsigned np = 0;
	bool open_end = false;	/* the last page taken does not run to its end */

	s->prp1 = s->prp2 = 0;
	for (unsigned i = 0; i < c->nsg && len; i++) {
		uint64_t a = c->sg[i].addr;
		uint32_t l = c->sg[i].len;

		if (off >= l) {
			off -= l;
			continue;
		}
		a += off;
		l -= off;
		off = 0;
		if (l > len)
			l = len;
		len -= l;
		while (l) {
			uint32_t in_page = (uint32_t)(4096 - (a & 4095));

			if (np && ((a & 4095) || open_end))
				return -EINVAL;
			if (!np)
				s->prp1 = a;
			else if (np == 1)
				second = a;
			if (np && list) {
				if (np > PRP_LIST_BYTES / 8)
					return -E2BIG;
				list[np - 1] = a;
			}
			np++;
			open_end = in_page > l;
			if (in_page >= l)
				break;
			a += in_page;
			l -= in_page;
		}
	}
	if (np == 2)
		s->prp2 = second;
	else if (np > 2 && list)
		s->prp2 = n->prp_pa + (uint64_t)c->tag * PRP_LIST_BYTES;
	else if (np > 2)
		return -E2BIG;
	return 0;
}

static int nvme_queue_cmd(struct scsi_host *h, struct scsi_cmd *c)
{
	struct nvme *n = h->priv;
	struct nvme_ns_info *ns;
	struct nvme_sqe sqe[2];
	struct nvme_queue *q;
	unsigned idx, nsqe;
	uint32_t split, payload_len;
	uint8_t *payload = n->prp + (size_t)c->tag * PRP_LIST_BYTES;
	unsigned long flags;
	int err = 0;

	ns = c->target ? NULL : ns_for(n, c->lun, &idx);
	if (!ns) {
		c->hres = SCSI_HRES_NO_DEVICE;
		scsi_cmd_done(c);
		return 0;
	}
	c->hres = SCSI_HRES_OK;
	if (nvme_translate(&n->ctrl, ns, &n->emul[idx], n->luns, n->nns, c->cdb, c->cdb_len,
			   c->data, c->len, sqe, &nsqe, &split, payload, &payload_len, &c->status,
			   c->sense, &c->sense_len, &c->resid) == NVME_XLAT_COMPLETE) {
		scsi_cmd_done(c);
		return 0;
	}
	sqe[0].cdw0 |= (uint32_t)c->tag << 16;
	if (nsqe == 2) {
		sqe[1].cdw0 |= (uint32_t)(c->tag | 0x8000) << 16;
		err = build_prps(n, c, 0, split, &sqe[0], NULL);
		if (!err)
			err = build_prps(n, c, split, c->len - split, &sqe[1], NULL);
	} else if (payload_len) {
		sqe[0].prp1 = n->prp_pa + (uint64_t)c->tag * PRP_LIST_BYTES;	/* DSM ranges */
	} else if ((sqe[0].cdw0 & 0xff) == NVME_CMD_WRITE_ZEROES) {
		/* no data: WRITE SAME's zero block stays in the SCSI buffer */
	} else if (c->len && c->dir != SCSI_DIR_NONE) {
		err = build_prps(n, c, 0, c->len,  &sqe[0],
				 (uint64_t *)(n->prp + (size_t)c->tag * PRP_LIST_BYTES));
	}
	if (err)
		return err;
	n->tags[c->tag] = (struct tag_state){ .left = (uint8_t)nsqe };
	q = &n->io[this_cpu_id() % n->nq];
	flags = spin_lock_irqsave(&q->lock);
	if ((q->sq_tail + nsqe) % q->size == q->sq_head ||
	    (nsqe == 2 && (q->sq_tail + 1) % q->size == q->sq_head)) {
		spin_unlock_irqrestore(&q->lock, flags);
		return -EBUSY;
	}
	for (unsigned i = 0; i < nsqe; i++)
		sq_put(q, &sqe[i]);
	sq_ring(q);
	spin_unlock_irqrestore(&q->lock, flags);
	return 0;
}

/* Record one CQE for its command; returns it when all its completions are in. */
static struct scsi_cmd *account(struct nvme *n, const struct nvme_cqe *e)
{
	struct scsi_cmd *c = scsi_host_cmd(&n->host, e->cid & 0x7fff);
	struct tag_state *t;
	unsigned sct = NVME_CQE_SCT(e->status), sc = NVME_CQE_SC(e->status);

	if (!c || !n->tags[c->tag].left) {
		pr_warn("%s: completion for unknown command %#x dropped\n", n->pdev->name, e->cid);
		return NULL;
	}
	t = &n->tags[c->tag];
	/* Keep the first failure: a fused pair's miscompare, not the write's "fused failed". */
	if ((sct || sc) && !t->failed) {
		t->failed = true;
		t->sct = (uint8_t)sct;
		t->sc = (uint8_t)sc;
	}
	return --t->left ? NULL : c;
}

static void finish(struct nvme *n, struct scsi_cmd *c)
{
	struct tag_state *t = &n->tags[c->tag];
	struct scsi_rw rw;
	bool write = !scsi_cdb_decode_rw(c->cdb, c->cdb_len, &rw) && rw.write;

	c->hres = SCSI_HRES_OK;
	nvme_status_sense(t->failed ? t->sct : 0, t->failed ? t->sc : 0, write, &c->status,
			  c->sense, &c->sense_len);
	scsi_cmd_done(c);
}

static void drain(struct nvme_queue *q)
{
	struct scsi_cmd *done[32];
	unsigned n;

	do {
		unsigned long flags = spin_lock_irqsave(&q->lock);
		struct nvme_cqe *e;

		n = 0;
		while (n < 32 && (e = cq_next(q))) {
			struct scsi_cmd *c = account(q->n, e);

			if (c)
				done[n++] = c;
		}
		*q->cq_db = q->cq_head;
		spin_unlock_irqrestore(&q->lock, flags);
		for (unsigned i = 0; i < n; i++)
			finish(q->n, done[i]);
	} while (n == 32);
}

static void queue_irq(void *arg)
{
	drain(arg);
}

static void all_irq(void *arg)
{
	struct nvme *n = arg;

	for (unsigned i = 0; i < n->nq; i++)
		drain(&n->io[i]);
}

static void nvme_poll(struct scsi_host *h)
{
	all_irq(h->priv);
}

static int nvme_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	(void)h;
	(void)c;
	return -EIO;	/* see the top of the file: the layer resets the controller */
}

static int nvme_reset(struct scsi_host *h)
{
	struct nvme *n = h->priv;
	unsigned long flags = irq_save();
	int err = enable(n);

	if (!err)
		err = create_io_queues(n);
	irq_restore(flags);
	return err;
}

static const struct scsi_host_ops nvme_ops = {
	.queue = nvme_queue_cmd,
	.abort = nvme_abort,
	.reset = nvme_reset,
	.poll = nvme_poll,
};

/* ---- probe ---- */

static int set_queue_count(struct nvme *n, unsigned want)
{
	struct nvme_sqe s = { .cdw0 = NVME_ADM_SET_FEATURES, .cdw10 = NVME_FEAT_NUM_QUEUES,
			      .cdw11 = (want - 1) << 16 | (want - 1) };
	uint32_t dw0;

	if (admin(n, &s, &dw0, "Set Features (Number of Queues)"))
		return 1;
	want = want < (dw0 & 0xffff) + 1 ? want : (dw0 & 0xffff) + 1;
	return want < (dw0 >> 16) + 1 ? want : (dw0 >> 16) + 1;
}

static int irq_setup(struct nvme *n, unsigned want)
{
	unsigned cpus[MAX_IOQ];
	void *args[MAX_IOQ];
	int got;

	for (unsigned i = 0; i < want; i++) {
		cpus[i] = i;
		args[i] = &n->io[i];
	}
	got = pci_irq_alloc(n->pdev, want, PCI_IRQ_ALLOW_MSIX, queue_irq, args, cpus);
	if (got > 0) {
		n->nq = (unsigned)got;
		return 0;
	}
	n->nq = 1;
	n->intx = true;
	got = pci_irq_alloc(n->pdev, 1, PCI_IRQ_ALLOW_MSI | PCI_IRQ_ALLOW_INTX, all_irq,
			    (void *const[]){ n }, NULL);
	return got < 0 ? got : 0;
}

static void namespaces(struct nvme *n, uint8_t *page)
{
	uint32_t list[MAX_NS], count = 0;
	char err[96];

	if (!identify(n, NVME_CNS_NS_LIST, 0, page, "Identify (active namespaces)")) {
		for (unsigned i = 0; i < MAX_NS && ((uint32_t *)page)[i]; i++)
			list[count++] = ((uint32_t *)page)[i];
	} else {
		for (uint32_t i = 1; i <= n->ctrl.nn && count < MAX_NS; i++)
			list[count++] = i;	/* NVMe 1.0 controllers: every namespace 1..NN */
	}
	for (unsigned i = 0; i < count; i++) {
		struct nvme_ns_info *ns = &n->ns[n->nns];

		if (identify(n, NVME_CNS_NS, list[i], page, "Identify (namespace)"))
			continue;
		if (nvme_parse_ns(page, list[i], ns, err, sizeof(err))) {
			pr_warn("%s: %s; not used\n", n->pdev->name, err);
			continue;
		}
		nvme_emul_disk(&n->ctrl, ns, &n->emul[n->nns]);
		n->luns[n->nns] = ns->nsid - 1;
		n->nns++;
	}
}

static void give_up(struct nvme *n, const char *why)
{
	pr_err("%s: %s; controller not used\n", n->pdev->name, why);
	w32(n, NVME_REG_CC, r32(n, NVME_REG_CC) & ~NVME_CC_EN);
	pci_disable(n->pdev);
}

static int nvme_probe(struct pci_dev *d, const struct pci_device_id *id)
{
	struct nvme *n = kzalloc(sizeof(*n));
	uint64_t page_pa;
	uint8_t *page = dma_alloc(0, DMA_LIMIT_ANY, &page_pa);
	unsigned maxlun = 0;

	(void)id;
	if (!n || !page)
		goto nomem;
	n->pdev = d;
	n->regs = (volatile uint8_t *)pci_map_bar(d, 0);
	if (!n->regs)
		goto fail;
	pci_enable(d, true);
	n->cap = r64(n, NVME_REG_CAP);
	n->dstrd = NVME_CAP_DSTRD(n->cap);
	if (!NVME_CAP_CSS_NVM(n->cap) || NVME_CAP_MPSMIN(n->cap) > 0) {
		give_up(n, "no NVM command set or no 4 KiB pages");
		goto fail;
	}
	n->prp = dma_alloc(dma_order((uint64_t)SCSI_MAX_TAGS * PRP_LIST_BYTES), DMA_LIMIT_ANY,
			   &n->prp_pa);
	if (!n->prp)
		goto nomem;
	if (enable(n)) {
		give_up(n, "it did not start");
		goto fail;
	}
	if (identify(n, NVME_CNS_CTRL, 0, page, "Identify (controller)")) {
		give_up(n, "Identify Controller failed");
		goto fail;
	}
	nvme_parse_ctrl(page, &n->ctrl);
	if (irq_setup(n, (unsigned)set_queue_count(n, pcpu_online_count() < MAX_IOQ ?
						    pcpu_online_count() : MAX_IOQ))) {
		give_up(n, "no interrupt (no MSI-X, MSI or INTx route)");
		goto fail;
	}
	if (create_io_queues(n)) {
		give_up(n, "I/O queues could not be created");
		goto fail;
	}
	namespaces(n, page);
	dma_free(page, 0);
	for (unsigned i = 0; i < n->nns; i++)
		maxlun = n->luns[i] > maxlun ? n->luns[i] : maxlun;
	pr_info("%s: '%s' serial %s firmware %s, %u namespace(s), %u I/O queue(s) by %s%s%s%s%s\n",
		d->name, n->ctrl.model, n->ctrl.serial, n->ctrl.firmware, n->nns, n->nq,
		pci_irq_mode_name(d->irq_mode), n->ctrl.vwc ? ", write cache" : "",
		n->emul[0].caw_blocks ? ", fused compare-and-write" : "",
		n->ctrl.oncs & NVME_ONCS_DSM ? ", deallocate" : "",
		n->ctrl.oncs & NVME_ONCS_WRITE_ZEROES ? ", write zeroes" : "");
	n->host.driver = "nvme";
	n->host.bus_name = d->name;
	n->host.ops = &nvme_ops;
	n->host.priv = n;
	n->host.max_target = 0;
	n->host.max_lun = maxlun;
	n->host.can_queue = n->nq * (IO_DEPTH - 2) < SCSI_MAX_TAGS ? n->nq * (IO_DEPTH - 2) :
			    SCSI_MAX_TAGS;
	n->host.dma_align = 4;
	if (n->ctrl.mdts && (4096u << n->ctrl.mdts) < SCSI_MAX_XFER)
		n->host.max_xfer = 4096u << n->ctrl.mdts;
	d->drvdata = n;
	return scsi_host_add(&n->host);
nomem:
	pr_err("%s: out of memory\n", d->name);
fail:
	dma_free(page, 0);
	kfree(n);
	return -ENODEV;
}

static const struct pci_device_id nvme_ids[] = {
	{ PCI_ANY_ID, PCI_ANY_ID, 0x010802, 0xffffff },	/* class: NVM Express */
	{ 0 },
};

static const struct pci_driver nvme_driver = {
	.name = "nvme",
	.ids = nvme_ids,
	.probe = nvme_probe,
};
PCI_DRIVER(nvme_driver);
