/*
 * AHCI SATA host adapters (Serial ATA AHCI 1.3.1), e.g. Intel ICH9 and
 * QEMU's ich9-ahci on the q35 machine.
 *
 * Each implemented port with an ATA disk becomes SCSI target <port> of
 * one host (vmhbaN:C0:T<port>:L0). SCSI commands are translated by the
 * SAT layer (scsi_ata.h); reads and writes use NCQ (FPDMA QUEUED, up to
 * 32 per port) when both the HBA and the disk support it, plain DMA
 * otherwise. A port runs either queued commands or one non-queued
 * command (FLUSH CACHE): a command of the other kind gets -EBUSY and the
 * SCSI layer resubmits it once the port drains.
 *
 * Per-port memory (below 4 GiB unless the HBA has 64-bit addressing):
 * one page for the command list (1 KiB) and received-FIS area, one block
 * of 32 command tables (CT_SIZE bytes each, room for SCSI_MAX_SG PRDs),
 * each followed by 512 bytes for the ranges of a TRIM (UNMAP): DATA SET
 * MANAGEMENT is a non-queued command, so it runs alone like FLUSH CACHE.
 *
 * Errors (AHCI 6.2.2): on a task-file or bus error the port is stopped,
 * its error state cleared and restarted. A failed non-queued command gets
 * sense data from the task-file registers; queued commands in flight are
 * ended as "reset" and the SCSI layer retries them, non-queued (attempt
 * > 0), so a failing sector is named precisely on the retry.
 *
 * Locking: port->lock (irqsave) covers the slot table and the port's
 * registers; completions are handed to the SCSI layer after it is dropped.
 */
#define pr_fmt(fmt) "ahci: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/ata_hw.h>
#include <vmkernel/cpu.h>
#include <vmkernel/dma.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <drivers/pci.h>
#include <drivers/scsi.h>
#include <drivers/scsi_ata.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include "ahci_hw.h"

#define SLOTS 32
/* A command table: the FIS area, then SCSI_MAX_SG PRDs; 128-byte aligned (AHCI 4.2.3). */
#define CT_SIZE ((AHCI_CT_PRDT + SCSI_MAX_SG * 16 + 127) & ~127u)
/* Each slot: its command table, then 512 bytes for a DSM TRIM payload (ata_cmd.payload). */
#define CT_STRIDE (CT_SIZE + 512)
#define CT_ORDER 6		/* 32 slots (4864 bytes each) fit in 64 pages */
_Static_assert(SLOTS * CT_STRIDE <= (4096u << CT_ORDER), "command tables fit their pages");
_Static_assert(CT_STRIDE % 128 == 0, "command tables stay 128-byte aligned");

struct ahci;

struct ahci_port {
	struct ahci *hba;
	unsigned no;
	volatile uint8_t *regs;
	bool present;			/* an ATA disk we drive */
	struct ata_dev ata;
	struct scsi_emul_disk emul;
	struct ahci_cmd_hdr *cl;
	uint8_t *rfis;
	uint8_t *ct;
	uint64_t cl_pa, ct_pa;
	struct spinlock lock;
	uint32_t ncq_active, std_active;	/* lock */
	struct scsi_cmd *slot_cmd[SLOTS];	/* lock */
};

struct ahci {
	struct pci_dev *pdev;
	volatile uint8_t *abar;
	uint32_t cap;
	unsigned nslots;
	bool ncq;
	uint64_t dma_limit;
	struct ahci_port ports[32];
	struct scsi_host host;
};

static uint32_t rd(struct ahci *a, unsigned off)
{
	return *(volatile uint32_t *)(a->abar + off);
}

static void wr(struct ahci *a, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(a->abar + off) = v;
}

static uint32_t prd(struct ahci_port *p, unsigned off)
{
	return *(volatile uint32_t *)(p->regs + off);
}

static void pwr(struct ahci_port *p, unsigned off, uint32_t v)
{
	*(volatile uint32_t *)(p->regs + off) = v;
}

/* Wait until (reg & mask) == want, up to ms milliseconds. */
static bool wait_reg(volatile uint8_t *base, unsigned off, uint32_t mask, uint32_t want, unsigned ms)
{
	uint64_t end = time_ns() + (uint64_t)ms * 1000000;

	while ((*(volatile uint32_t *)(base + off) & mask) != want) {
		if (time_ns() > end)
			return false;
		cpu_relax();
	}
	return true;
}

/* ---- port start/stop (AHCI 10.1.2, 10.3) ---- */

static bool port_stop(struct ahci_port *p)
{
	pwr(p, PX_CMD, prd(p, PX_CMD) & ~PX_CMD_ST);
	if (!wait_reg(p->regs, PX_CMD, PX_CMD_CR, 0, 500))
		return false;
	pwr(p, PX_CMD, prd(p, PX_CMD) & ~PX_CMD_FRE);
	return wait_reg(p->regs, PX_CMD, PX_CMD_FR, 0, 500);
}

static bool port_start(struct ahci_port *p)
{
	uint32_t tfd;

	pwr(p, PX_SERR, 0xffffffffu);
	pwr(p, PX_IS, 0xffffffffu);
	pwr(p, PX_CMD, prd(p, PX_CMD) | PX_CMD_FRE);
	if (!wait_reg(p->regs, PX_TFD, ATA_SR_BSY | ATA_SR_DRQ, 0, 1000)) {
		tfd = prd(p, PX_TFD);
		/* Command list override clears BSY/DRQ where the HBA supports it. */
		pwr(p, PX_CMD, prd(p, PX_CMD) | PX_CMD_CLO);
		if (!wait_reg(p->regs, PX_CMD, PX_CMD_CLO, 0, 500) ||
		    !wait_reg(p->regs, PX_TFD, ATA_SR_BSY | ATA_SR_DRQ, 0, 500)) {
			pr_err("%s port %u: device stays busy (task file %#x)\n", p->hba->pdev->name,
			       p->no, tfd);
			return false;
		}
	}
	pwr(p, PX_CMD, prd(p, PX_CMD) | PX_CMD_ST);
	return true;
}

static int port_alloc(struct ahci_port *p)
{
	uint64_t pa;
	void *page = dma_alloc(0, p->hba->dma_limit, &pa);

	if (!page)
		return -ENOMEM;
	p->cl = page;
	p->cl_pa = pa;
	p->rfis = (uint8_t *)page + 1024;
	p->ct = dma_alloc(CT_ORDER, p->hba->dma_limit, &p->ct_pa);
	if (!p->ct) {
		dma_free(page, 0);
		return -ENOMEM;
	}
	for (unsigned s = 0; s < SLOTS; s++) {
		uint64_t ct = p->ct_pa + (uint64_t)s * CT_STRIDE;

		p->cl[s].ctba = (uint32_t)ct;
		p->cl[s].ctbau = (uint32_t)(ct >> 32);
	}
	return 0;
}

static void port_program(struct ahci_port *p)
{
	pwr(p, PX_CLB, (uint32_t)p->cl_pa);
	pwr(p, PX_CLBU, (uint32_t)(p->cl_pa >> 32));
	pwr(p, PX_FB, (uint32_t)(p->cl_pa + 1024));
	pwr(p, PX_FBU, (uint32_t)((p->cl_pa + 1024) >> 32));
}

/* ---- building commands ---- */

/* Fill slot s's header, FIS and PRDT. sg/nsg: the data (nsg 0: none). */
static void build(struct ahci_port *p, unsigned s, const struct ata_cmd *ac, const struct scsi_sg *sg,
		  unsigned nsg)
{
	uint8_t *ct = p->ct + (size_t)s * CT_STRIDE, *f = ct;
	struct ahci_prd *prdt = (struct ahci_prd *)(ct + AHCI_CT_PRDT);
	uint32_t count = ac->count;

	memset(ct, 0, AHCI_CT_PRDT);
	f[0] = FIS_TYPE_REG_H2D;
	f[1] = FIS_H2D_COMMAND;
	f[2] = ac->command;
	f[4] = (uint8_t)ac->lba;
	f[5] = (uint8_t)(ac->lba >> 8);
	f[6] = (uint8_t)(ac->lba >> 16);
	f[7] = ac->device;
	if (!ac->lba48)
		f[7] |= (uint8_t)((ac->lba >> 24) & 0xf);
	f[8] = (uint8_t)(ac->lba >> 24);
	f[9] = (uint8_t)(ac->lba >> 32);
	f[10] = (uint8_t)(ac->lba >> 40);
	if (ac->ncq) {
		f[3] = (uint8_t)count;		/* FPDMA: sector count in FEATURES */
		f[11] = (uint8_t)(count >> 8);
		f[12] = (uint8_t)(s << 3);	/* tag in COUNT 7:3 */
	} else {
		f[3] = (uint8_t)ac->features;
		f[11] = (uint8_t)(ac->features >> 8);
		f[12] = (uint8_t)count;		/* 65536 and 256 wrap to 0, as ATA says */
		f[13] = (uint8_t)(count >> 8);
	}
	for (unsigned i = 0; i < nsg; i++) {
		prdt[i].dba = (uint32_t)sg[i].addr;
		prdt[i].dbau = (uint32_t)(sg[i].addr >> 32);
		prdt[i].reserved = 0;
		prdt[i].dbc = sg[i].len - 1;
	}
	p->cl[s].flags = (uint16_t)(5 | (ac->write ? AHCI_HDR_WRITE : 0));
	p->cl[s].prdtl = (uint16_t)nsg;
	p->cl[s].prdbc = 0;
}

/* IDENTIFY DEVICE by polling (probe time: the port's interrupts are off). */
static int identify(struct ahci_port *p, uint16_t *id)
{
	struct ata_cmd ac = { .command = ATA_CMD_IDENTIFY, .count = 1, .data = true, .bytes = 512 };
	struct scsi_sg sg;
	uint64_t end = time_ns() + 5000000000ull;

	if (paging_virt_to_phys(id, &sg.addr))
		return -EFAULT;
	sg.len = 512;
	build(p, 0, &ac, &sg, 1);
	pwr(p, PX_IS, 0xffffffffu);
	pwr(p, PX_CI, 1);
	while (prd(p, PX_CI) & 1) {
		if ((prd(p, PX_IS) & PX_IS_ERRORS) || time_ns() > end) {
			pr_err("%s port %u: IDENTIFY DEVICE %s (task file %#x)\n", p->hba->pdev->name,
			       p->no, time_ns() > end ? "timed out" : "failed", prd(p, PX_TFD));
			return -EIO;
		}
		cpu_relax();
	}
	pwr(p, PX_IS, 0xffffffffu);
	return 0;
}

static const char *port_name(struct ahci_port *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s port %u", p->hba->pdev->name, p->no);
	return buf;
}

/* Bring one port up; true when it holds an ATA disk we can drive. */
static bool port_init(struct ahci_port *p, uint16_t *id)
{
	uint32_t sig, ssts;
	char name[32], err[80];

	port_name(p, name, sizeof(name));
	spin_init(&p->lock, "ahci port");
	if (!port_stop(p)) {
		pr_err("%s: does not stop (PxCMD %#x); not used\n", name, prd(p, PX_CMD));
		return false;
	}
	if (port_alloc(p)) {
		pr_err("%s: out of memory\n", name);
		return false;
	}
	port_program(p);
	pwr(p, PX_CMD, prd(p, PX_CMD) | PX_CMD_SUD | PX_CMD_POD);
	ssts = prd(p, PX_SSTS);
	if (PX_SSTS_DET(ssts) != PX_SSTS_DET_PRESENT)
		return false;		/* empty port */
	if (!port_start(p))
		return false;
	sig = prd(p, PX_SIG);
	if (sig == PX_SIG_ATAPI) {
		pr_info("%s: ATAPI device (CD/DVD), not used\n", name);
		return false;
	}
	if (sig != PX_SIG_ATA) {
		pr_info("%s: device with signature %#x (not an ATA disk), not used\n", name, sig);
		return false;
	}
	if (identify(p, id))
		return false;
	if (ata_identify_parse(id, &p->ata, err, sizeof(err))) {
		pr_err("%s: '%s': %s; not used\n", name, p->ata.model, err);
		return false;
	}
	ata_emul_disk(&p->ata, &p->emul);
	pwr(p, PX_IE, PX_IS_DHRS | PX_IS_PSS | PX_IS_DSS | PX_IS_SDBS | PX_IS_UFS | PX_IS_DPS |
		      PX_IS_PCS | PX_IS_PRCS | PX_IS_ERRORS | PX_IS_INFS);
	pr_info("%s: '%s' serial %s, %llu sectors of %u B%s%s\n", name, p->ata.model, p->ata.serial,
		(unsigned long long)p->ata.sectors, p->ata.sector_size,
		p->ata.ncq && p->hba->ncq ? ", NCQ" : "", p->ata.trim ? ", TRIM" : "");
	return true;
}

/* ---- submission and completion ---- */

static int free_slot(struct ahci_port *p)
{
	uint32_t busy = p->ncq_active | p->std_active;

	for (unsigned s = 0; s < p->hba->nslots; s++) {
		if (!(busy & (1u << s)))
			return (int)s;
	}
	return -1;
}

static void finish_now(struct scsi_cmd *c, enum scsi_hres h)
{
	c->hres = h;
	scsi_cmd_done(c);
}

static int ahci_queue(struct scsi_host *h, struct scsi_cmd *c)
{
	struct ahci *a = h->priv;
	struct ahci_port *p = c->target < 32 ? &a->ports[c->target] : NULL;
	struct ata_cmd ac;
	unsigned long flags;
	int s;

	if (!p || !p->present || c->lun) {
		finish_now(c, SCSI_HRES_NO_DEVICE);
		return 0;
	}
	if (satl_translate(&p->ata, &p->emul, c->cdb, c->cdb_len, c->data, c->len,
			   a->ncq && c->attempt == 0, &ac, &c->status, c->sense, &c->sense_len,
			   &c->resid) == SATL_COMPLETE) {
		scsi_cmd_done(c);
		return 0;
	}
	flags = spin_lock_irqsave(&p->lock);
	s = free_slot(p);
	if (s < 0 || p->std_active || (!ac.ncq && p->ncq_active)) {
		spin_unlock_irqrestore(&p->lock, flags);
		return -EBUSY;
	}
	if (ac.use_payload) {
		struct scsi_sg psg = { p->ct_pa + (uint64_t)s * CT_STRIDE + CT_SIZE, ac.bytes };

		memcpy(p->ct + (size_t)s * CT_STRIDE + CT_SIZE, ac.payload, ac.bytes);
		build(p, (unsigned)s, &ac, &psg, 1);
	} else {
		build(p, (unsigned)s, &ac, c->sg, ac.data ? c->nsg : 0);
	}
	p->slot_cmd[s] = c;
	c->drv = (void *)(uintptr_t)(ac.ncq ? 1 : 0);
	dma_wmb();
	if (ac.ncq) {
		p->ncq_active |= 1u << s;
		pwr(p, PX_SACT, 1u << s);
	} else {
		p->std_active |= 1u << s;
	}
	pwr(p, PX_CI, 1u << s);
	spin_unlock_irqrestore(&p->lock, flags);
	return 0;
}

struct done_list {
	struct scsi_cmd *c[SLOTS];
	unsigned n;
};

/* Take slot s's command off the port; caller holds p->lock. */
static struct scsi_cmd *take(struct ahci_port *p, unsigned s, struct done_list *dl)
{
	struct scsi_cmd *c = p->slot_cmd[s];

	p->slot_cmd[s] = NULL;
	p->ncq_active &= ~(1u << s);
	p->std_active &= ~(1u << s);
	if (c && dl)
		dl->c[dl->n++] = c;
	return c;
}

static void complete_ok(struct ahci_port *p, uint32_t slots, struct done_list *dl)
{
	for (unsigned s = 0; s < SLOTS; s++) {
		struct scsi_cmd *c;
		bool ncq = p->ncq_active & (1u << s);

		if (!(slots & (1u << s)))
			continue;
		c = take(p, s, dl);
		if (!c)
			continue;
		c->hres = SCSI_HRES_OK;
		c->status = SCSI_STATUS_GOOD;
		c->sense_len = 0;
		if (!ncq && c->len && c->dir != SCSI_DIR_NONE && p->cl[s].prdbc < c->len)
			c->resid = c->len - p->cl[s].prdbc;
	}
}

/* Every command on the port ends with hres (caller holds p->lock). */
static void end_all(struct ahci_port *p, enum scsi_hres hres, struct done_list *dl,
		    const struct scsi_cmd *except)
{
	for (unsigned s = 0; s < SLOTS; s++) {
		struct scsi_cmd *c = p->slot_cmd[s];

		if (!c)
			continue;
		take(p, s, c == except ? NULL : dl);
		if (c != except)
			c->hres = hres;
	}
}

/* A task-file or bus error stopped the port (AHCI 6.2.2): name the culprit, restart. */
static void port_error(struct ahci_port *p, uint32_t is, struct done_list *dl)
{
	uint32_t tfd = prd(p, PX_TFD), cmd = prd(p, PX_CMD);
	unsigned ccs = PX_CMD_CCS(cmd);
	char name[32];

	if ((p->std_active & (1u << ccs)) && p->slot_cmd[ccs]) {
		struct scsi_cmd *c = take(p, ccs, dl);

		if (is & PX_IS_TFES)
			satl_error_sense((uint8_t)tfd, (uint8_t)(tfd >> 8), c->dir == SCSI_DIR_TO_DEV,
					 c->sense, &c->sense_len, &c->status);
		else
			c->hres = SCSI_HRES_ERROR;
	}
	end_all(p, SCSI_HRES_RESET, dl, NULL);
	if (!(is & PX_IS_TFES))
		pr_warn("%s: bus error (PxIS %#x, PxSERR %#x); port restarted\n",
			port_name(p, name, sizeof(name)), is, prd(p, PX_SERR));
	port_stop(p);
	port_start(p);
}

static void port_intr(struct ahci_port *p, struct done_list *dl)
{
	uint32_t is = prd(p, PX_IS);

	pwr(p, PX_IS, is);
	spin_lock(&p->lock);
	if (is & PX_IS_ERRORS) {
		port_error(p, is, dl);
	} else {
		uint32_t ci = prd(p, PX_CI), sact = prd(p, PX_SACT);

		complete_ok(p, (p->std_active & ~ci) | (p->ncq_active & ~sact), dl);
	}
	spin_unlock(&p->lock);
}

static void handle(struct ahci *a, bool all)
{
	uint32_t is = rd(a, AHCI_IS);
	struct done_list dl;

	for (unsigned i = 0; i < 32; i++) {
		if (!(all || (is & (1u << i))) || !a->ports[i].present)
			continue;
		dl.n = 0;
		port_intr(&a->ports[i], &dl);
		for (unsigned k = 0; k < dl.n; k++)
			scsi_cmd_done(dl.c[k]);
	}
	wr(a, AHCI_IS, is);
}

static void ahci_irq(void *arg)
{
	handle(arg, false);
}

static void ahci_poll(struct scsi_host *h)
{
	unsigned long flags = irq_save();

	handle(h->priv, true);
	irq_restore(flags);
}

/* ---- error handling ---- */

/* Stopping the port is the only way to take a command back: the others are retried. */
static int ahci_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	struct ahci *a = h->priv;
	struct ahci_port *p = &a->ports[c->target];
	struct done_list dl = { .n = 0 };
	unsigned long flags = spin_lock_irqsave(&p->lock);
	bool ok;

	end_all(p, SCSI_HRES_RESET, &dl, c);
	ok = port_stop(p) && port_start(p);
	spin_unlock_irqrestore(&p->lock, flags);
	for (unsigned k = 0; k < dl.n; k++)
		scsi_cmd_done(dl.c[k]);
	return ok ? 0 : -EIO;
}

static bool hba_reset(struct ahci *a)
{
	wr(a, AHCI_GHC, rd(a, AHCI_GHC) | AHCI_GHC_AE);
	wr(a, AHCI_GHC, rd(a, AHCI_GHC) | AHCI_GHC_HR);
	if (!wait_reg(a->abar, AHCI_GHC, AHCI_GHC_HR, 0, 1000))
		return false;
	wr(a, AHCI_GHC, rd(a, AHCI_GHC) | AHCI_GHC_AE);
	return true;
}

static int ahci_reset(struct scsi_host *h)
{
	struct ahci *a = h->priv;
	unsigned long flags = irq_save();
	int err = 0;

	if (!hba_reset(a)) {
		irq_restore(flags);
		return -EIO;
	}
	for (unsigned i = 0; i < 32; i++) {
		struct ahci_port *p = &a->ports[i];

		if (!p->present)
			continue;
		spin_lock(&p->lock);
		end_all(p, SCSI_HRES_RESET, NULL, NULL);	/* the layer ends them */
		port_program(p);
		if (!port_start(p)) {
			p->present = false;
			err = -EIO;
		}
		pwr(p, PX_IE, PX_IS_DHRS | PX_IS_PSS | PX_IS_DSS | PX_IS_SDBS | PX_IS_UFS | PX_IS_DPS |
			      PX_IS_PCS | PX_IS_PRCS | PX_IS_ERRORS | PX_IS_INFS);
		spin_unlock(&p->lock);
	}
	wr(a, AHCI_IS, 0xffffffffu);
	wr(a, AHCI_GHC, rd(a, AHCI_GHC) | AHCI_GHC_IE);
	irq_restore(flags);
	return err;
}

static const struct scsi_host_ops ahci_ops = {
	.queue = ahci_queue,
	.abort = ahci_abort,
	.reset = ahci_reset,
	.poll = ahci_poll,
};

/* ---- probe ---- */

/* Take the controller from the firmware (BIOS/OS handoff, AHCI 10.6). */
static void bios_handoff(struct ahci *a)
{
	if (!(rd(a, AHCI_CAP2) & AHCI_CAP2_BOH))
		return;
	wr(a, AHCI_BOHC, rd(a, AHCI_BOHC) | AHCI_BOHC_OOS);
	if (!wait_reg(a->abar, AHCI_BOHC, AHCI_BOHC_BOS, 0, 2000))
		pr_warn("%s: the firmware keeps BIOS ownership; taking the controller anyway\n",
			a->pdev->name);
}

static void give_up(struct ahci *a, const char *why)
{
	pr_err("%s: %s; controller not used\n", a->pdev->name, why);
	wr(a, AHCI_GHC, rd(a, AHCI_GHC) & ~AHCI_GHC_IE);
	pci_disable(a->pdev);
}

static int ahci_probe(struct pci_dev *d, const struct pci_device_id *id)
{
	struct ahci *a = kzalloc(sizeof(*a));
	uint16_t *ident = kmalloc(512);
	unsigned found = 0;
	uint32_t pi;
	int n;

	(void)id;
	if (!a || !ident) {
		kfree(a);
		kfree(ident);
		return -ENOMEM;
	}
	a->pdev = d;
	a->abar = (volatile uint8_t *)pci_map_bar(d, 5);
	if (!a->abar)
		goto fail;
	pci_enable(d, true);
	bios_handoff(a);
	if (!hba_reset(a)) {
		give_up(a, "HBA reset did not finish within 1 s");
		goto fail;
	}
	a->cap = rd(a, AHCI_CAP);
	a->nslots = AHCI_CAP_NCS(a->cap);
	a->ncq = a->cap & AHCI_CAP_SNCQ;
	a->dma_limit = a->cap & AHCI_CAP_S64A ? DMA_LIMIT_ANY : DMA_LIMIT_32BIT;
	pi = rd(a, AHCI_PI);
	for (unsigned i = 0; i < 32; i++) {
		struct ahci_port *p = &a->ports[i];

		p->hba = a;
		p->no = i;
		p->regs = a->abar + AHCI_PORT(i);
		if ((pi & (1u << i)) && port_init(p, ident)) {
			p->present = true;
			found++;
		}
	}
	kfree(ident);
	ident = NULL;
	n = pci_irq_alloc(d, 1, PCI_IRQ_ALLOW_ALL, ahci_irq, (void *const[]){ a }, NULL);
	if (n < 0) {
		give_up(a, "no interrupt (no MSI and no INTx route)");
		goto fail;
	}
	wr(a, AHCI_IS, 0xffffffffu);
	wr(a, AHCI_GHC, rd(a, AHCI_GHC) | AHCI_GHC_IE);
	pr_info("%s: AHCI %x.%x, %u ports, %u slots%s%s, %s, %u disk(s)\n", d->name,
		rd(a, AHCI_VS) >> 16, (rd(a, AHCI_VS) >> 8) & 0xff, AHCI_CAP_NP(a->cap), a->nslots,
		a->ncq ? ", NCQ" : "", a->cap & AHCI_CAP_S64A ? ", 64-bit" : "",
		pci_irq_mode_name(d->irq_mode), found);
	a->host.driver = "ahci";
	a->host.bus_name = d->name;
	a->host.ops = &ahci_ops;
	a->host.priv = a;
	a->host.max_target = 31;
	a->host.can_queue = found * a->nslots > SCSI_MAX_TAGS ? SCSI_MAX_TAGS :
			    (found ? found * a->nslots : 1);
	a->host.max_segs = SCSI_MAX_SG;
	a->host.max_seg_len = AHCI_PRD_MAX_BYTES;
	a->host.dma_limit = a->dma_limit;
	a->host.dma_align = 2;
	d->drvdata = a;
	return scsi_host_add(&a->host);
fail:
	kfree(ident);
	kfree(a);
	return -ENODEV;
}

static const struct pci_device_id ahci_ids[] = {
	{ PCI_ANY_ID, PCI_ANY_ID, 0x010601, 0xffffff },	/* class: SATA, AHCI 1.0 interface */
	{ 0 },
};

static const struct pci_driver ahci_driver = {
	.name = "ahci",
	.ids = ahci_ids,
	.probe = ahci_probe,
};
PCI_DRIVER(ahci_driver);
