/*
 * VMware PVSCSI, the paravirtual SCSI adapter of VMware Workstation and
 * ESXi virtual machines (QEMU has a model of it: "pvscsi").
 *
 * The adapter is programmed through a few registers in BAR 0: commands
 * (with their argument dwords written one by one to COMMAND_DATA), an
 * interrupt status/mask pair and two "kick" registers. Requests and
 * completions travel in rings in our memory, announced once with
 * SETUP_RINGS: a request descriptor (128 bytes) names the target, LUN,
 * CDB, a sense buffer and the data (directly, or through a scatter-gather
 * list of 16-byte elements); a completion descriptor (32 bytes) returns
 * the request's context, the host and SCSI status and the byte counts.
 * Producer/consumer indices live in a shared "rings state" page.
 *
 * The context of a request is its tag + 1 (0 is never used). Aborting a
 * single request races with its completion, so abort() declines and the
 * layer resets the adapter (ADAPTER_RESET, rings set up again).
 * Locking: pv->lock covers the request ring and the completion consumer.
 */
#define pr_fmt(fmt) "pvscsi: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/dma.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <drivers/pci.h>
#include <drivers/scsi.h>
#include <vmkernel/spinlock.h>

#define REG_COMMAND		0x0
#define REG_COMMAND_DATA	0x4
#define REG_COMMAND_STATUS	0x8
#define REG_INTR_STATUS		0x100c
#define REG_INTR_MASK		0x2010
#define REG_KICK_NON_RW_IO	0x3014
#define REG_KICK_RW_IO		0x4018

#define CMD_ADAPTER_RESET	1
#define CMD_SETUP_RINGS		3
#define CMD_RESET_BUS		4

#define INTR_CMPL_MASK		0x3

#define FLAG_SG_LIST		(1u << 0)
#define FLAG_DIR_NONE		(1u << 2)
#define FLAG_DIR_TOHOST		(1u << 3)
#define FLAG_DIR_TODEVICE	(1u << 4)

/* Host (adapter) status codes */
#define BTSTAT_SUCCESS		0x00
#define BTSTAT_LINKED_COMPLETE	0x0a
#define BTSTAT_LINKED_FLAG	0x0b
#define BTSTAT_DATA_UNDERRUN	0x0c
#define BTSTAT_SELTIMEO		0x11
#define BTSTAT_DATARUN		0x12
#define BTSTAT_LUNMISMATCH	0x17
#define BTSTAT_SENTRST		0x22
#define BTSTAT_RECVRST		0x23
#define BTSTAT_BUSRESET		0x25
#define BTSTAT_ABORTQUEUE	0x26

#define REQ_PAGES		4	/* 32 descriptors per page */
#define CMP_PAGES		1	/* 128 descriptors per page */
#define REQ_ENTRIES		(REQ_PAGES * 4096 / 128)
#define CMP_ENTRIES		(CMP_PAGES * 4096 / 32)
#define SENSE_LEN		96
#define SG_PER_TAG		256	/* one page of SG elements per tag */

struct setup_rings {
	uint32_t req_pages;
	uint32_t cmp_pages;
	uint64_t state_ppn;
	uint64_t req_ppn[32];
	uint64_t cmp_ppn[32];
} __attribute__((packed));

struct rings_state {
	volatile uint32_t req_prod, req_cons, req_log2;
	volatile uint32_t cmp_prod, cmp_cons, cmp_log2;
	uint8_t pad[104];
	uint32_t msg_prod, msg_cons, msg_log2;
} __attribute__((packed));

struct req_desc {
	uint64_t context;
	uint64_t data_addr;
	uint64_t data_len;
	uint64_t sense_addr;
	uint32_t sense_len;
	uint32_t flags;
	uint8_t cdb[16];
	uint8_t cdb_len;
	uint8_t lun[8];
	uint8_t tag;
	uint8_t bus;
	uint8_t target;
	uint8_t vcpu_hint;
	uint8_t unused[59];
} __attribute__((packed));
_Static_assert(sizeof(struct req_desc) == 128, "PVSCSI request descriptor");

struct cmp_desc {
	uint64_t context;
	uint64_t data_len;
	uint32_t sense_len;
	uint16_t host_status;
	uint16_t scsi_status;
	uint32_t pad[2];
} __attribute__((packed));
_Static_assert(sizeof(struct cmp_desc) == 32, "PVSCSI completion descriptor");

struct sg_elem {
	uint64_t addr;
	uint32_t len;
	uint32_t flags;
};

struct pvscsi {
	struct pci_dev *pdev;
	volatile uint8_t *regs;
	struct rings_state *state;
	struct req_desc *req;
	struct cmp_desc *cmp;
	uint64_t state_pa, req_pa, cmp_pa;
	struct sg_elem *sg;		/* SG_PER_TAG per tag */
	uint8_t *sense;			/* SENSE_LEN per tag */
	uint64_t sg_pa, sense_pa;
	struct spinlock lock;
	struct scsi_host host;
};

static uint32_t rd(struct pvscsi *pv, unsigned off)
{
	return *(volatile uint32_t *)(pv->regs + off);
}

static void wr(struct pvscsi *pv, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(pv->regs + off) = v;
}

static void command(struct pvscsi *pv, uint32_t cmd, const void *data, size_t len)
{
	const uint32_t *p = data;

	wr(pv, REG_COMMAND, cmd);
	for (size_t i = 0; i < len / 4; i++)
		wr(pv, REG_COMMAND_DATA, p[i]);
}

static void setup_rings(struct pvscsi *pv)
{
	struct setup_rings s;

	memset(&s, 0, sizeof(s));
	memset(pv->state, 0, 4096);
	memset(pv->cmp, 0, CMP_PAGES * 4096);
	s.req_pages = REQ_PAGES;
	s.cmp_pages = CMP_PAGES;
	s.state_ppn = pv->state_pa >> 12;
	for (unsigned i = 0; i < REQ_PAGES; i++)
		s.req_ppn[i] = (pv->req_pa >> 12) + i;
	for (unsigned i = 0; i < CMP_PAGES; i++)
		s.cmp_ppn[i] = (pv->cmp_pa >> 12) + i;
	command(pv, CMD_SETUP_RINGS, &s, sizeof(s));
}

static bool is_rw(uint8_t op)
{
	return op == 0x08 || op == 0x0a || op == SCSI_READ_10 || op == SCSI_WRITE_10 ||
	       op == 0xa8 || op == 0xaa || op == SCSI_READ_16 || op == SCSI_WRITE_16;
}

static int pv_queue(struct scsi_host *h, struct scsi_cmd *c)
{
	struct pvscsi *pv = h->priv;
	struct req_desc *r;
	unsigned long flags;

	if (c->target > 63 || c->lun > 255) {
		c->hres = SCSI_HRES_NO_DEVICE;
		scsi_cmd_done(c);
		return 0;
	}
	flags = spin_lock_irqsave(&pv->lock);
	if (pv->state->req_prod - pv->state->cmp_cons >= REQ_ENTRIES ||
	    pv->state->req_prod - pv->state->cmp_cons >= CMP_ENTRIES) {
		spin_unlock_irqrestore(&pv->lock, flags);
		return -EBUSY;
	}
	r = &pv->req[pv->state->req_prod % REQ_ENTRIES];
	memset(r, 0, sizeof(*r));
	r->context = c->tag + 1;
	r->target = (uint8_t)c->target;
	r->lun[1] = (uint8_t)c->lun;
	r->tag = 0x20;		/* simple queue tag */
	memcpy(r->cdb, c->cdb, c->cdb_len);
	r->cdb_len = c->cdb_len;
	r->sense_addr = pv->sense_pa + (uint64_t)c->tag * SENSE_LEN;
	r->sense_len = SENSE_LEN;
	r->data_len = c->nsg ? c->len : 0;
	r->flags = c->dir == SCSI_DIR_TO_DEV ? FLAG_DIR_TODEVICE :
		   c->dir == SCSI_DIR_FROM_DEV ? FLAG_DIR_TOHOST : FLAG_DIR_NONE;
	if (c->nsg == 1) {
		r->data_addr = c->sg[0].addr;
	} else if (c->nsg > 1) {
		struct sg_elem *sg = pv->sg + (size_t)c->tag * SG_PER_TAG;

		for (unsigned i = 0; i < c->nsg; i++)
			sg[i] = (struct sg_elem){ c->sg[i].addr, c->sg[i].len, 0 };
		r->data_addr = pv->sg_pa + (uint64_t)c->tag * SG_PER_TAG * sizeof(*sg);
		r->flags |= FLAG_SG_LIST;
	}
	dma_wmb();
	pv->state->req_prod++;
	wr(pv, is_rw(c->cdb[0]) ? REG_KICK_RW_IO : REG_KICK_NON_RW_IO, 0);
	spin_unlock_irqrestore(&pv->lock, flags);
	return 0;
}

static void result(struct pvscsi *pv, struct scsi_cmd *c, const struct cmp_desc *e)
{
	switch (e->host_status) {
	case BTSTAT_SUCCESS:
	case BTSTAT_LINKED_COMPLETE:
	case BTSTAT_LINKED_FLAG:
	case BTSTAT_DATA_UNDERRUN:
		c->hres = SCSI_HRES_OK;
		c->status = (uint8_t)e->scsi_status;
		c->resid = e->data_len < c->len ? c->len - (uint32_t)e->data_len : 0;
		c->sense_len = (uint8_t)(e->sense_len < SENSE_LEN ? e->sense_len : SENSE_LEN);
		memcpy(c->sense, pv->sense + (size_t)c->tag * SENSE_LEN, c->sense_len);
		break;
	case BTSTAT_SELTIMEO:
	case BTSTAT_LUNMISMATCH:
		c->hres = SCSI_HRES_NO_DEVICE;
		break;
	case BTSTAT_SENTRST:
	case BTSTAT_RECVRST:
	case BTSTAT_BUSRESET:
		c->hres = SCSI_HRES_RESET;
		break;
	case BTSTAT_ABORTQUEUE:
		c->hres = SCSI_HRES_ABORTED;
		break;
	default:
		c->hres = SCSI_HRES_ERROR;
	}
}

static void drain(struct pvscsi *pv)
{
	struct scsi_cmd *done[32];
	unsigned n;

	do {
		unsigned long flags = spin_lock_irqsave(&pv->lock);

		n = 0;
		while (n < 32 && pv->state->cmp_cons != pv->state->cmp_prod) {
			struct cmp_desc *e = &pv->cmp[pv->state->cmp_cons % CMP_ENTRIES];
			struct scsi_cmd *c;

			dma_rmb();
			c = e->context && e->context <= SCSI_MAX_TAGS ?
			    scsi_host_cmd(&pv->host, (unsigned)e->context - 1) : NULL;
			if (c) {
				result(pv, c, e);
				done[n++] = c;
			} else {
				pr_warn("%s: completion with unknown context %llu dropped\n",
					pv->pdev->name, (unsigned long long)e->context);
			}
			pv->state->cmp_cons++;
		}
		spin_unlock_irqrestore(&pv->lock, flags);
		for (unsigned i = 0; i < n; i++)
			scsi_cmd_done(done[i]);
	} while (n == 32);
}

static void pv_irq(void *arg)
{
	struct pvscsi *pv = arg;
	uint32_t st = rd(pv, REG_INTR_STATUS);

	if (st)
		wr(pv, REG_INTR_STATUS, st);
	drain(pv);
}

static void pv_poll(struct scsi_host *h)
{
	drain(h->priv);
}

static int pv_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	(void)h;
	(void)c;
	return -EIO;	/* see the top of the file */
}

static int pv_reset(struct scsi_host *h)
{
	struct pvscsi *pv = h->priv;
	unsigned long flags = spin_lock_irqsave(&pv->lock);

	command(pv, CMD_ADAPTER_RESET, NULL, 0);
	setup_rings(pv);
	wr(pv, REG_INTR_MASK, INTR_CMPL_MASK);
	spin_unlock_irqrestore(&pv->lock, flags);
	return 0;
}

static const struct scsi_host_ops pv_ops = {
	.queue = pv_queue,
	.abort = pv_abort,
	.reset = pv_reset,
	.poll = pv_poll,
};

static int pv_probe(struct pci_dev *d, const struct pci_device_id *id)
{
	struct pvscsi *pv = kzalloc(sizeof(*pv));

	(void)id;
	if (!pv)
		return -ENOMEM;
	pv->pdev = d;
	pv->regs = pci_map_bar(d, 0);
	pv->state = dma_alloc(0, DMA_LIMIT_ANY, &pv->state_pa);
	pv->req = dma_alloc(dma_order(REQ_PAGES * 4096), DMA_LIMIT_ANY, &pv->req_pa);
	pv->cmp = dma_alloc(dma_order(CMP_PAGES * 4096), DMA_LIMIT_ANY, &pv->cmp_pa);
	pv->sg = dma_alloc(dma_order((uint64_t)SCSI_MAX_TAGS * SG_PER_TAG * sizeof(struct sg_elem)),
			   DMA_LIMIT_ANY, &pv->sg_pa);
	pv->sense = dma_alloc(dma_order((uint64_t)SCSI_MAX_TAGS * SENSE_LEN), DMA_LIMIT_ANY,
			      &pv->sense_pa);
	if (!pv->regs || !pv->state || !pv->req || !pv->cmp || !pv->sg || !pv->sense) {
		pr_err("%s: out of memory or no register BAR; not used\n", d->name);
		kfree(pv);
		return -ENODEV;
	}
	spin_init(&pv->lock, "pvscsi");
	pci_enable(d, true);
	command(pv, CMD_ADAPTER_RESET, NULL, 0);
	setup_rings(pv);
	if (pci_irq_alloc(d, 1, PCI_IRQ_ALLOW_ALL, pv_irq, (void *const[]){ pv }, NULL) < 0) {
		pr_err("%s: no interrupt (no MSI and no INTx route); not used\n", d->name);
		command(pv, CMD_ADAPTER_RESET, NULL, 0);
		pci_disable(d);
		kfree(pv);
		return -ENODEV;
	}
	wr(pv, REG_INTR_MASK, INTR_CMPL_MASK);
	pr_info("%s: %u request and %u completion descriptors, %s\n", d->name, REQ_ENTRIES,
		CMP_ENTRIES, pci_irq_mode_name(d->irq_mode));
	pv->host.driver = "pvscsi";
	pv->host.bus_name = d->name;
	pv->host.ops = &pv_ops;
	pv->host.priv = pv;
	pv->host.max_target = 63;
	pv->host.max_lun = 7;
	pv->host.can_queue = REQ_ENTRIES;
	pv->host.dma_align = 1;
	pv->host.max_segs = SG_PER_TAG;
	d->drvdata = pv;
	return scsi_host_add(&pv->host);
}

static const struct pci_device_id pv_ids[] = {
	{ 0x15ad, 0x07c0, 0, 0 },	/* VMware PVSCSI */
	{ 0 },
};

static const struct pci_driver pv_driver = {
	.name = "pvscsi",
	.ids = pv_ids,
	.probe = pv_probe,
};
PCI_DRIVER(pv_driver);
