/*
 * LSI/Broadcom MegaRAID SAS (MFI interface), e.g. the SAS 1078 and 2108
 * ("megasas" and "megasas-gen2" in QEMU), as found in older servers.
 *
 * The firmware is driven to READY through the inbound doorbell, then an
 * INIT frame hands it a reply queue in our memory (an array of request
 * contexts, with producer and consumer indices beside it). Every command
 * is a 64-byte-aligned MFI frame in our memory whose address is written
 * to the inbound queue port; on completion the firmware writes the
 * frame's status into the frame itself, appends the frame's context to
 * the reply queue, advances the producer index and interrupts.
 *
 * Disks are driven with pass-through frames (MFI_CMD_PD_SCSI_IO): the CDB
 * goes to the physical device (target = its ID), so INQUIRY, VPD pages and
 * sense data are the disk's own. Logical volumes (RAID sets) are not
 * used. Each tag owns a frame of FRAME_BYTES (room for FRAME_SGE 64-bit
 * scatter-gather entries) and a sense buffer; the context is tag + 1.
 *
 * MFI's abort command races with completions, so abort() declines and the
 * layer resets the adapter (doorbell ABORT|READY, INIT again).
 */
#define pr_fmt(fmt) "megasas: " fmt
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
#include <vmkernel/timer.h>

/* Registers */
#define MFI_IDB		0x20	/* inbound doorbell */
#define MFI_OSTS	0x30	/* outbound interrupt status */
#define MFI_OMSK	0x34	/* outbound interrupt mask */
#define MFI_IQP		0x40	/* inbound queue port */
#define MFI_ODCR0	0xa0	/* outbound doorbell clear */
#define MFI_OSP0	0xb0	/* outbound scratch pad: firmware state */

#define MFI_FWSTATE_MASK	0xf0000000u
#define MFI_FWSTATE_READY	0xb0000000u
#define MFI_FWSTATE_OPERATIONAL	0xc0000000u
#define MFI_FWSTATE_FAULT	0xf0000000u
#define MFI_FWINIT_ABORT	0x1u
#define MFI_FWINIT_READY	0x2u
#define MFI_GEN2_EIM		0x5u	/* interrupt bits unmasked in OMSK */

#define MFI_CMD_INIT		0x00
#define MFI_CMD_PD_SCSI_IO	0x04

#define MFI_FRAME_SGL64		0x0002
#define MFI_FRAME_SENSE64	0x0004
#define MFI_FRAME_DIR_WRITE	0x0008
#define MFI_FRAME_DIR_READ	0x0010

#define MFI_STAT_OK			0x00
#define MFI_STAT_DEVICE_NOT_FOUND	0x0c
#define MFI_STAT_SCSI_DONE_WITH_ERROR	0x2d
#define MFI_STAT_SCSI_IO_FAILED		0x2e
#define MFI_STAT_LD_OFFLINE		0x33
#define MFI_STAT_POLL			0xff

#define FRAME_BYTES	2048	/* a frame and its SGL; firmware may read this much */
#define FRAME_SGE	((FRAME_BYTES - 48) / 12)	/* 64-bit SG entries after the header and CDB */
#define SENSE_LEN	96
#define MAX_TAGS	64

struct mfi_header {
	uint8_t cmd;
	uint8_t sense_len;
	uint8_t cmd_status;
	uint8_t scsi_status;
	uint8_t target_id;
	uint8_t lun_id;
	uint8_t cdb_len;
	uint8_t sge_count;
	uint64_t context;
	uint16_t flags;
	uint16_t timeout;
	uint32_t data_len;
} __attribute__((packed));
_Static_assert(sizeof(struct mfi_header) == 24, "MFI frame header");

struct mfi_pass {
	struct mfi_header h;
	uint32_t sense_lo, sense_hi;
	uint8_t cdb[16];
	struct {
		uint64_t addr;
		uint32_t len;
	} __attribute__((packed)) sgl[FRAME_SGE];
} __attribute__((packed));
_Static_assert(sizeof(struct mfi_pass) <= FRAME_BYTES, "pass-through frame fits");

struct mfi_init {
	struct mfi_header h;
	uint32_t qinfo_lo, qinfo_hi;
	uint32_t old_lo, old_hi;
	uint32_t reserved[6];
} __attribute__((packed));

struct mfi_qinfo {
	uint32_t flags;
	uint32_t rq_entries;
	uint32_t rq_lo, rq_hi;
	uint32_t pi_lo, pi_hi;
	uint32_t ci_lo, ci_hi;
} __attribute__((packed));

struct megasas {
	struct pci_dev *pdev;
	volatile uint8_t *regs;
	unsigned fw_cmds, fw_sge;
	uint8_t *frames;		/* MAX_TAGS * FRAME_BYTES, below 4 GiB */
	uint8_t *sense;
	uint32_t *rq;			/* fw_cmds entries */
	uint8_t *ctl;			/* init frame, queue info, producer, consumer */
	uint64_t frames_pa, sense_pa, rq_pa, ctl_pa;
	unsigned rq_order;
	struct spinlock lock;		/* reply queue consumer, frame posting */
	struct scsi_host host;
};

#define CTL_INIT	0
#define CTL_QINFO	256
#define CTL_PRODUCER	512
#define CTL_CONSUMER	576
#define CTL_SCRATCH	1024	/* 512 bytes no command transfers to */

static uint32_t rd(struct megasas *m, unsigned off)
{
	return *(volatile uint32_t *)(m->regs + off);
}

static void wr(struct megasas *m, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(m->regs + off) = v;
}

static volatile uint32_t *producer(struct megasas *m)
{
	return (volatile uint32_t *)(m->ctl + CTL_PRODUCER);
}

static volatile uint32_t *consumer(struct megasas *m)
{
	return (volatile uint32_t *)(m->ctl + CTL_CONSUMER);
}

static struct mfi_pass *frame_of(struct megasas *m, unsigned tag)
{
	return (struct mfi_pass *)(m->frames + (size_t)tag * FRAME_BYTES);
}

/* Firmware to READY (MFI handshake); 0 or -EIO. */
static int to_ready(struct megasas *m)
{
	uint64_t end = time_ns() + 10000000000ull;
	uint32_t st = rd(m, MFI_OSP0) & MFI_FWSTATE_MASK;

	if (st != MFI_FWSTATE_READY)
		wr(m, MFI_IDB, MFI_FWINIT_ABORT | MFI_FWINIT_READY);
	while ((st = rd(m, MFI_OSP0) & MFI_FWSTATE_MASK) != MFI_FWSTATE_READY) {
		if (st == MFI_FWSTATE_FAULT || time_ns() > end) {
			pr_err("%s: firmware %s (state %#x)\n", m->pdev->name,
			       st == MFI_FWSTATE_FAULT ? "reports a fault" : "never became ready",
			       st >> 28);
			return -EIO;
		}
		cpu_relax();
	}
	return 0;
}

/* INIT frame with the reply queue, by polling its status; then interrupts on. */
static int init_queue(struct megasas *m)
{
	struct mfi_init *f = (struct mfi_init *)(m->ctl + CTL_INIT);
	struct mfi_qinfo *q = (struct mfi_qinfo *)(m->ctl + CTL_QINFO);
	uint64_t qpa = m->ctl_pa + CTL_QINFO, end = time_ns() + 5000000000ull;

	memset(f, 0, sizeof(*f));
	memset(q, 0, sizeof(*q));
	memset(m->rq, 0, (size_t)m->fw_cmds * 4);
	*producer(m) = 0;
	*consumer(m) = 0;
	q->rq_entries = m->fw_cmds;
	q->rq_lo = (uint32_t)m->rq_pa;
	q->rq_hi = (uint32_t)(m->rq_pa >> 32);
	q->pi_lo = (uint32_t)(m->ctl_pa + CTL_PRODUCER);
	q->pi_hi = (uint32_t)((m->ctl_pa + CTL_PRODUCER) >> 32);
	q->ci_lo = (uint32_t)(m->ctl_pa + CTL_CONSUMER);
	q->ci_hi = (uint32_t)((m->ctl_pa + CTL_CONSUMER) >> 32);
	f->h.cmd = MFI_CMD_INIT;
	f->h.cmd_status = MFI_STAT_POLL;
	f->h.data_len = sizeof(*q);
	f->qinfo_lo = (uint32_t)qpa;
	f->qinfo_hi = (uint32_t)(qpa >> 32);
	dma_wmb();
	wr(m, MFI_IQP, (uint32_t)(m->ctl_pa + CTL_INIT));
	while (*(volatile uint8_t *)&f->h.cmd_status == MFI_STAT_POLL) {
		if (time_ns() > end) {
			pr_err("%s: INIT frame not answered\n", m->pdev->name);
			return -EIO;
		}
		cpu_relax();
	}
	if (f->h.cmd_status != MFI_STAT_OK) {
		pr_err("%s: INIT frame failed with status %#x\n", m->pdev->name, f->h.cmd_status);
		return -EIO;
	}
	wr(m, MFI_ODCR0, 0xffffffffu);
	wr(m, MFI_OMSK, ~MFI_GEN2_EIM);
	return 0;
}

static int mfi_queue(struct scsi_host *h, struct scsi_cmd *c)
{
	struct megasas *m = h->priv;
	struct mfi_pass *f = frame_of(m, c->tag);
	uint64_t sense = m->sense_pa + (uint64_t)c->tag * SENSE_LEN;
	uint64_t fpa = m->frames_pa + (uint64_t)c->tag * FRAME_BYTES;
	unsigned extra;
	unsigned long flags;

	if (c->target > 127 || c->lun > 255) {
		c->hres = SCSI_HRES_NO_DEVICE;
		scsi_cmd_done(c);
		return 0;
	}
	memset(f, 0, offsetof(struct mfi_pass, sgl));
	f->h.cmd = MFI_CMD_PD_SCSI_IO;
	f->h.sense_len = SENSE_LEN;
	f->h.cmd_status = MFI_STAT_POLL;
	f->h.target_id = (uint8_t)c->target;
	f->h.lun_id = (uint8_t)c->lun;
	f->h.cdb_len = c->cdb_len;
	f->h.sge_count = (uint8_t)c->nsg;
	f->h.context = c->tag + 1;
	f->h.flags = MFI_FRAME_SGL64 | MFI_FRAME_SENSE64 |
		     (c->dir == SCSI_DIR_TO_DEV ? MFI_FRAME_DIR_WRITE :
		      c->dir == SCSI_DIR_FROM_DEV ? MFI_FRAME_DIR_READ : 0);
	f->h.data_len = c->nsg ? c->len : 0;
	f->sense_lo = (uint32_t)sense;
	f->sense_hi = (uint32_t)(sense >> 32);
	memcpy(f->cdb, c->cdb, c->cdb_len);
	for (unsigned i = 0; i < c->nsg; i++) {
		f->sgl[i].addr = c->sg[i].addr;
		f->sgl[i].len = c->sg[i].len;
	}
	if (!c->nsg) {
		/*
		 * QEMU's model refuses pass-through frames without a scatter-gather
		 * entry; firmware ignores one on a command that moves no data.
		 */
		f->h.sge_count = 1;
		f->sgl[0].addr = m->ctl_pa + CTL_SCRATCH;
		f->sgl[0].len = 512;
	}
	/* Frames beyond the first 64 bytes that the SGL spills into (the "frame count"). */
	extra = (unsigned)((offsetof(struct mfi_pass, sgl) + 12u * c->nsg + 63) / 64) - 1;
	if (extra > 15)
		extra = 15;
	dma_wmb();
	flags = spin_lock_irqsave(&m->lock);
	wr(m, MFI_IQP, (uint32_t)fpa | extra << 1);
	spin_unlock_irqrestore(&m->lock, flags);
	return 0;
}

static void result(struct megasas *m, struct scsi_cmd *c, const struct mfi_pass *f)
{
	switch (f->h.cmd_status) {
	case MFI_STAT_OK:
	case MFI_STAT_SCSI_DONE_WITH_ERROR:
		c->hres = SCSI_HRES_OK;
		c->status = f->h.scsi_status;
		if (c->status == SCSI_STATUS_CHECK_CONDITION) {
			c->sense_len = f->h.sense_len < SENSE_LEN ? f->h.sense_len : SENSE_LEN;
			memcpy(c->sense, m->sense + (size_t)c->tag * SENSE_LEN, c->sense_len);
		}
		break;
	case MFI_STAT_DEVICE_NOT_FOUND:
	case MFI_STAT_LD_OFFLINE:
		c->hres = SCSI_HRES_NO_DEVICE;
		break;
	default:
		c->hres = SCSI_HRES_ERROR;
		pr_warn("%s: frame for T%u:L%u ended with firmware status %#x\n", m->pdev->name,
			c->target, c->lun, f->h.cmd_status);
	}
}

static void drain(struct megasas *m)
{
	struct scsi_cmd *done[32];
	unsigned n;

	do {
		unsigned long flags = spin_lock_irqsave(&m->lock);
		uint32_t prod = *producer(m) % m->fw_cmds, cons = *consumer(m) % m->fw_cmds;

		n = 0;
		dma_rmb();
		while (cons != prod && n < 32) {
			uint32_t ctx = m->rq[cons];
			struct scsi_cmd *c = ctx && ctx <= MAX_TAGS ?
					     scsi_host_cmd(&m->host, ctx - 1) : NULL;

			cons = (cons + 1) % m->fw_cmds;
			if (!c) {
				if (ctx)
					pr_warn("%s: reply for unknown context %u dropped\n",
						m->pdev->name, ctx);
				continue;
			}
			result(m, c, frame_of(m, c->tag));
			done[n++] = c;
		}
		*consumer(m) = cons;
		spin_unlock_irqrestore(&m->lock, flags);
		for (unsigned i = 0; i < n; i++)
			scsi_cmd_done(done[i]);
	} while (n == 32);
}

static void mfi_irq(void *arg)
{
	struct megasas *m = arg;
	uint32_t st = rd(m, MFI_OSTS);

	if (st)
		wr(m, MFI_ODCR0, st);
	drain(m);
}

static void mfi_poll(struct scsi_host *h)
{
	drain(h->priv);
}

static int mfi_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	(void)h;
	(void)c;
	return -EIO;	/* see the top of the file */
}

static int mfi_reset(struct scsi_host *h)
{
	struct megasas *m = h->priv;
	unsigned long flags = spin_lock_irqsave(&m->lock);
	int err;

	wr(m, MFI_IDB, MFI_FWINIT_ABORT | MFI_FWINIT_READY);
	err = to_ready(m);
	if (!err)
		err = init_queue(m);
	spin_unlock_irqrestore(&m->lock, flags);
	return err;
}

static const struct scsi_host_ops mfi_ops = {
	.queue = mfi_queue,
	.abort = mfi_abort,
	.reset = mfi_reset,
	.poll = mfi_poll,
};

static volatile uint8_t *map_regs(struct pci_dev *d)
{
	for (unsigned i = 0; i < 6; i++) {
		if (d->bar[i].size >= 0x100 && !(d->bar[i].flags & PCI_BAR_IO))
			return pci_map_bar(d, i);	/* the first memory BAR holds the registers */
	}
	pr_err("%s: no memory BAR with the MFI registers\n", d->name);
	return NULL;
}

static int mfi_probe(struct pci_dev *d, const struct pci_device_id *id)
{
	struct megasas *m = kzalloc(sizeof(*m));
	uint32_t st;

	(void)id;
	if (!m)
		return -ENOMEM;
	m->pdev = d;
	m->regs = map_regs(d);
	if (!m->regs)
		goto fail;
	pci_enable(d, true);
	spin_init(&m->lock, "megasas");
	if (to_ready(m))
		goto fail;
	st = rd(m, MFI_OSP0);
	m->fw_cmds = st & 0xffff;
	m->fw_sge = (st >> 16) & 0xff;
	if (m->fw_cmds < 2) {
		pr_err("%s: firmware offers %u commands\n", d->name, m->fw_cmds);
		goto fail;
	}
	m->frames = dma_alloc(dma_order((uint64_t)MAX_TAGS * FRAME_BYTES), DMA_LIMIT_32BIT,
			      &m->frames_pa);
	m->sense = dma_alloc(dma_order(MAX_TAGS * SENSE_LEN), DMA_LIMIT_ANY, &m->sense_pa);
	m->rq_order = dma_order((uint64_t)m->fw_cmds * 4);
	m->rq = dma_alloc(m->rq_order, DMA_LIMIT_ANY, &m->rq_pa);
	m->ctl = dma_alloc(0, DMA_LIMIT_32BIT, &m->ctl_pa);
	if (!m->frames || !m->sense || !m->rq || !m->ctl) {
		pr_err("%s: out of memory\n", d->name);
		goto fail;
	}
	if (pci_irq_alloc(d, 1, PCI_IRQ_ALLOW_ALL, mfi_irq, (void *const[]){ m }, NULL) < 0) {
		pr_err("%s: no interrupt (no MSI-X, MSI or INTx route)\n", d->name);
		goto fail;
	}
	if (init_queue(m))
		goto fail_irq;
	pr_info("%s: MFI firmware ready, %u commands, %u SG entries, %s\n", d->name, m->fw_cmds,
		m->fw_sge, pci_irq_mode_name(d->irq_mode));
	m->host.driver = "megasas";
	m->host.bus_name = d->name;
	m->host.ops = &mfi_ops;
	m->host.priv = m;
	m->host.max_target = 63;
	m->host.max_lun = 7;
	m->host.can_queue = m->fw_cmds - 1 < MAX_TAGS ? m->fw_cmds - 1 : MAX_TAGS;
	m->host.max_segs = m->fw_sge && m->fw_sge < FRAME_SGE ? m->fw_sge : FRAME_SGE;
	m->host.dma_align = 1;
	d->drvdata = m;
	return scsi_host_add(&m->host);
fail_irq:
	pci_irq_free(d);
fail:
	pci_disable(d);
	kfree(m);
	return -ENODEV;
}

static const struct pci_device_id mfi_ids[] = {
	{ 0x1000, 0x0060, 0, 0 },	/* SAS 1078 */
	{ 0x1000, 0x0078, 0, 0 },	/* SAS 1078 GEN2 */
	{ 0x1000, 0x0079, 0, 0 },	/* SAS 2108 */
	{ 0x1000, 0x0073, 0, 0 },	/* SAS 2008 (MFI) */
	{ 0 },
};

static const struct pci_driver mfi_driver = {
	.name = "megasas",
	.ids = mfi_ids,
	.probe = mfi_probe,
};
PCI_DRIVER(mfi_driver);
