/*
 * ATA disks on Intel PIIX/ICH IDE controllers in compatibility mode (the
 * PIIX3/PIIX4 of QEMU's "pc" machine and of Bochs), with bus-master DMA.
 *
 * Two channels at the legacy ports (0x1f0/0x3f6 on IRQ 14, 0x170/0x376 on
 * IRQ 15), two drives each: targets 0-1 are the primary master and slave,
 * 2-3 the secondary ones (vmhbaN:C0:T<2 * channel + drive>:L0). SCSI
 * commands are translated by the SAT layer; reads and writes use READ/
 * WRITE DMA (EXT) with a physical region descriptor table (8-byte entries,
 * 32-bit addresses, no region crossing 64 KiB) given to the bus-master
 * function (BAR 4). FLUSH CACHE goes without data. UNMAP becomes DATA SET
 * MANAGEMENT (TRIM) on disks that have it, its ranges sent by DMA from a
 * per-channel page.
 *
 * A channel runs one command at a time; the others wait in its FIFO and
 * start from the completion interrupt. Probing (software reset, IDENTIFY
 * by PIO) runs with the channel's interrupt disabled (nIEN).
 *
 * Errors: a command that fails gets sense from the status and error
 * registers; abort and reset both reset the channel (SRST), forgetting
 * whatever it was running, which the SCSI layer retries.
 *
 * Locking: ch->lock (irqsave) covers the channel's registers, its running
 * command and its FIFO.
 */
#define pr_fmt(fmt) "ata_piix: " fmt
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

/* Task file registers (offsets from the command block base) */
#define REG_DATA	0
#define REG_ERROR	1
#define REG_FEATURE	1
#define REG_COUNT	2
#define REG_LBA0	3
#define REG_LBA1	4
#define REG_LBA2	5
#define REG_DEVICE	6
#define REG_STATUS	7
#define REG_COMMAND	7
/* Control block */
#define CTL_NIEN	0x02
#define CTL_SRST	0x04
#define CTL_HOB		0x80

/* Bus master registers (per channel, BAR 4 + 8 * channel) */
#define BM_CMD		0
#define BM_STATUS	2
#define BM_PRDT		4
#define BM_CMD_START	0x01
#define BM_CMD_READ	0x08	/* the device writes memory */
#define BM_ST_ACTIVE	0x01
#define BM_ST_ERROR	0x02
#define BM_ST_IRQ	0x04

#define PRD_EOT		0x80000000u
#define PRD_MAX		512	/* one page of 8-byte entries */

struct piix;

struct channel {
	struct piix *hba;
	unsigned no;
	uint16_t cmd, ctl, bm;
	struct spinlock lock;
	struct scsi_cmd *running;	/* lock */
	struct scsi_cmd *head, *tail;	/* waiting, linked through ->drv; lock */
	uint32_t *prdt;
	uint64_t prdt_pa;
	uint8_t *payload;		/* the running TRIM's ranges (ata_cmd.payload) */
	uint64_t payload_pa;
	bool present[2];
	struct ata_dev ata[2];
	struct scsi_emul_disk emul[2];
	bool writing;			/* the running command's direction */
};

struct piix {
	struct pci_dev *pdev;
	struct channel ch[2];
	struct scsi_host host;
};

static void select_drive(struct channel *ch, unsigned drive, uint8_t lba_bits)
{
	outb(ch->cmd + REG_DEVICE, (uint8_t)(0xa0 | ATA_DEV_LBA | drive << 4 | lba_bits));
	for (int i = 0; i < 4; i++)
		(void)inb(ch->ctl);	/* 400 ns for the drive to answer */
}

/* Wait for BSY to clear; the final status, or 0xff after ms milliseconds. */
static uint8_t wait_not_busy(struct channel *ch, unsigned ms)
{
	uint64_t end = time_ns() + (uint64_t)ms * 1000000;
	uint8_t st;

	while ((st = inb(ch->cmd + REG_STATUS)) & ATA_SR_BSY) {
		if (st == 0xff || time_ns() > end)
			return 0xff;
		cpu_relax();
	}
	return st;
}

static void soft_reset(struct channel *ch)
{
	outb(ch->ctl, CTL_NIEN | CTL_SRST);
	udelay(10);
	outb(ch->ctl, CTL_NIEN);
	mdelay(2);
	wait_not_busy(ch, 3000);
}

/*
 * Select a drive and make sure the selection took: a channel still busy
 * with its reset ignores writes to the device register, and an absent
 * drive reads as idle, so waiting on the status alone can be fooled.
 */
static bool select_wait(struct channel *ch, unsigned drive)
{
	uint64_t end = time_ns() + 3000000000ull;

	do {
		uint8_t dev;

		select_drive(ch, drive, 0);
		dev = inb(ch->cmd + REG_DEVICE);
		if (dev == 0xff || (dev == 0 && inb(ch->cmd + REG_STATUS) == 0))
			return false;	/* floating bus, or no device on the channel at all */
		if ((dev & 0x10) == drive << 4) {
			wait_not_busy(ch, 3000);
			return true;
		}
		mdelay(1);
	} while (time_ns() < end);
	return false;
}

/* IDENTIFY DEVICE by PIO; 0, -ENODEV (nothing there) or -ENOTSUP (an ATAPI device). */
static int identify(struct channel *ch, unsigned drive, uint16_t *id)
{
	uint8_t st;

	if (!select_wait(ch, drive))
		return -ENODEV;
	/* After the reset each device left its signature: 0x14/0xeb is ATAPI (ATA-8 9.12). */
	if (inb(ch->cmd + REG_LBA1) == 0x14 && inb(ch->cmd + REG_LBA2) == 0xeb)
		return -ENOTSUP;
	if (inb(ch->cmd + REG_STATUS) == 0xff || inb(ch->cmd + REG_STATUS) == 0x00)
		return -ENODEV;
	outb(ch->cmd + REG_COUNT, 0);
	outb(ch->cmd + REG_LBA0, 0);
	outb(ch->cmd + REG_LBA1, 0);
	outb(ch->cmd + REG_LBA2, 0);
	outb(ch->cmd + REG_COMMAND, ATA_CMD_IDENTIFY);
	st = wait_not_busy(ch, 2000);
	if (st == 0xff || st == 0)
		return -ENODEV;
	if (st & ATA_SR_ERR) {
		/* ATAPI devices abort IDENTIFY DEVICE and leave their signature. */
		if (inb(ch->cmd + REG_LBA1) == 0x14 && inb(ch->cmd + REG_LBA2) == 0xeb)
			return -ENOTSUP;
		return -ENODEV;
	}
	if (!(st & ATA_SR_DRQ))
		return -ENODEV;
	for (unsigned i = 0; i < 256; i++)
		id[i] = inw(ch->cmd + REG_DATA);
	return 0;
}

static void probe_channel(struct channel *ch, uint16_t *id)
{
	static const char *const names[2][2] = { { "primary master", "primary slave" },
						 { "secondary master", "secondary slave" } };
	char err[80];

	soft_reset(ch);
	for (unsigned d = 0; d < 2; d++) {
		int rc = identify(ch, d, id);


		if (rc == -ENOTSUP) {
			pr_info("%s %s: ATAPI device (CD/DVD), not used\n", ch->hba->pdev->name,
				names[ch->no][d]);
			continue;
		}
		if (rc)
			continue;
		if (ata_identify_parse(id, &ch->ata[d], err, sizeof(err))) {
			pr_err("%s %s: %s; not used\n", ch->hba->pdev->name, names[ch->no][d], err);
			continue;
		}
		ata_emul_disk(&ch->ata[d], &ch->emul[d]);
		ch->present[d] = true;
		pr_info("%s %s: '%s' serial %s, %llu sectors%s%s\n", ch->hba->pdev->name,
			names[ch->no][d], ch->ata[d].model, ch->ata[d].serial,
			(unsigned long long)ch->ata[d].sectors, ch->ata[d].lba48 ? ", LBA48" : "",
			ch->ata[d].trim ? ", TRIM" : "");
	}
}

/* ---- commands ---- */

/* PRD table for c's segments; false if they break the controller's rules. */
static bool build_prdt(struct channel *ch, const struct scsi_cmd *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nsg; i++) {
		uint64_t a = c->sg[i].addr;
		uint32_t l = c->sg[i].len;

		while (l) {
			uint32_t chunk = (uint32_t)(0x10000 - (a & 0xffff));

			if (chunk > l)
				chunk = l;
			if (n == PRD_MAX || a + chunk > DMA_LIMIT_32BIT || (a & 1) || (chunk & 1))
				return false;
			ch->prdt[2 * n] = (uint32_t)a;
			ch->prdt[2 * n + 1] = chunk & 0xffff;	/* 0 means 64 KiB */
			n++;
			a += chunk;
			l -= chunk;
		}
	}
	if (!n)
		return false;
	ch->prdt[2 * n - 1] |= PRD_EOT;
	return true;
}

static void taskfile(struct channel *ch, unsigned drive, const struct ata_cmd *ac)
{
	select_drive(ch, drive, ac->lba48 ? 0 : (uint8_t)((ac->lba >> 24) & 0xf));
	if (ac->lba48) {
		outb(ch->cmd + REG_FEATURE, (uint8_t)(ac->features >> 8));
		outb(ch->cmd + REG_COUNT, (uint8_t)(ac->count >> 8));
		outb(ch->cmd + REG_LBA0, (uint8_t)(ac->lba >> 24));
		outb(ch->cmd + REG_LBA1, (uint8_t)(ac->lba >> 32));
		outb(ch->cmd + REG_LBA2, (uint8_t)(ac->lba >> 40));
	}
	outb(ch->cmd + REG_FEATURE, (uint8_t)ac->features);
	outb(ch->cmd + REG_COUNT, (uint8_t)ac->count);
	outb(ch->cmd + REG_LBA0, (uint8_t)ac->lba);
	outb(ch->cmd + REG_LBA1, (uint8_t)(ac->lba >> 8));
	outb(ch->cmd + REG_LBA2, (uint8_t)(ac->lba >> 16));
}

/* Start c on its channel (caller holds ch->lock, nothing running). 0 or -errno. */
static int start(struct channel *ch, struct scsi_cmd *c)
{
	struct ata_cmd ac;
	unsigned drive = c->target & 1;

	if (satl_translate(&ch->ata[drive], &ch->emul[drive], c->cdb, c->cdb_len, c->data, c->len,
			   false, &ac, &c->status, c->sense, &c->sense_len, &c->resid) ==
	    SATL_COMPLETE)
		return 1;	/* answered: the caller completes it */
	ch->writing = ac.write;
	if (ac.use_payload) {
		memcpy(ch->payload, ac.payload, ac.bytes);
		ch->prdt[0] = (uint32_t)ch->payload_pa;
		ch->prdt[1] = ac.bytes | PRD_EOT;
	} else if (ac.data && !build_prdt(ch, c)) {
		return -EINVAL;
	}
	if (ac.data) {
		outb(ch->bm + BM_CMD, 0);
		outl(ch->bm + BM_PRDT, (uint32_t)ch->prdt_pa);
		outb(ch->bm + BM_STATUS, BM_ST_ERROR | BM_ST_IRQ);	/* write 1 to clear */
	}
	taskfile(ch, drive, &ac);
	ch->running = c;
	outb(ch->cmd + REG_COMMAND, ac.command);
	if (ac.data)
		outb(ch->bm + BM_CMD, BM_CMD_START | (ac.write ? 0 : BM_CMD_READ));
	return 0;
}

/* Start the next waiting command; completions for those answered at once are collected. */
static void kick(struct channel *ch, struct scsi_cmd **done, unsigned *nd)
{
	while (!ch->running && ch->head) {
		struct scsi_cmd *c = ch->head;
		int rc;

		ch->head = c->drv;
		if (!ch->head)
			ch->tail = NULL;
		c->drv = NULL;
		rc = start(ch, c);
		if (rc == 0)
			return;
		if (rc < 0)
			c->hres = SCSI_HRES_ERROR;
		done[(*nd)++] = c;
	}
}

static int piix_queue(struct scsi_host *h, struct scsi_cmd *c)
{
	struct piix *p = h->priv;
	struct channel *ch = c->target < 4 ? &p->ch[c->target / 2] : NULL;
	struct scsi_cmd *done[8];
	unsigned nd = 0;
	unsigned long flags;

	if (!ch || !ch->present[c->target & 1] || c->lun) {
		c->hres = SCSI_HRES_NO_DEVICE;
		scsi_cmd_done(c);
		return 0;
	}
	c->hres = SCSI_HRES_OK;
	c->drv = NULL;
	flags = spin_lock_irqsave(&ch->lock);
	if (ch->tail)
		ch->tail->drv = c;
	else
		ch->head = c;
	ch->tail = c;
	kick(ch, done, &nd);
	spin_unlock_irqrestore(&ch->lock, flags);
	for (unsigned i = 0; i < nd; i++)
		scsi_cmd_done(done[i]);
	return 0;
}

/* The running command finished (interrupt or poll); caller holds ch->lock. */
static struct scsi_cmd *finish(struct channel *ch, uint8_t bmst)
{
	struct scsi_cmd *c = ch->running;
	uint8_t st;

	outb(ch->bm + BM_CMD, 0);
	outb(ch->bm + BM_STATUS, BM_ST_ERROR | BM_ST_IRQ);
	st = inb(ch->cmd + REG_STATUS);	/* also acknowledges the drive's interrupt */
	ch->running = NULL;
	c->hres = SCSI_HRES_OK;
	if (st & (ATA_SR_ERR | ATA_SR_DF)) {
		satl_error_sense(st, inb(ch->cmd + REG_ERROR), ch->writing, c->sense, &c->sense_len,
				 &c->status);
	} else if (bmst & BM_ST_ERROR) {
		c->hres = SCSI_HRES_ERROR;	/* PCI bus error during DMA */
	} else {
		c->status = SCSI_STATUS_GOOD;
		c->sense_len = 0;
	}
	return c;
}

static void service(struct channel *ch, bool polling)
{
	struct scsi_cmd *done[8];
	unsigned nd = 0;
	unsigned long flags = spin_lock_irqsave(&ch->lock);
	uint8_t bmst = inb(ch->bm + BM_STATUS);
	uint8_t alt = inb(ch->ctl);

	/*
	 * The command is over when the bus master saw the drive's interrupt, or
	 * (non-data commands, polling) when the drive is no longer busy.
	 */
	if (ch->running && ((bmst & BM_ST_IRQ) || (!(bmst & BM_ST_ACTIVE) && !(alt & ATA_SR_BSY) &&
						   (polling || !ch->running->nsg))))
		done[nd++] = finish(ch, bmst);
	else if (!ch->running)
		(void)inb(ch->cmd + REG_STATUS);	/* not ours to keep asserted */
	kick(ch, done, &nd);
	spin_unlock_irqrestore(&ch->lock, flags);
	for (unsigned i = 0; i < nd; i++)
		scsi_cmd_done(done[i]);
}

static void irq_primary(void *arg)
{
	service(&((struct piix *)arg)->ch[0], false);
}

static void irq_secondary(void *arg)
{
	service(&((struct piix *)arg)->ch[1], false);
}

static void piix_poll(struct scsi_host *h)
{
	struct piix *p = h->priv;

	service(&p->ch[0], true);
	service(&p->ch[1], true);
}

/* Forget everything the channel runs or holds (the layer ends those commands). */
static void reset_channel(struct channel *ch)
{
	outb(ch->bm + BM_CMD, 0);
	ch->running = NULL;
	ch->head = ch->tail = NULL;
	soft_reset(ch);
	outb(ch->ctl, 0);	/* interrupts back on */
}

static int piix_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	struct piix *p = h->priv;
	struct channel *ch = &p->ch[c->target / 2];
	struct scsi_cmd *waiting;
	unsigned long flags = spin_lock_irqsave(&ch->lock);

	if (ch->running != c) {
		/* Still waiting: take it out of the FIFO. */
		struct scsi_cmd **pp = &ch->head, *prev = NULL;

		for (; *pp && *pp != c; prev = *pp, pp = (struct scsi_cmd **)&(*pp)->drv)
			;
		if (*pp) {
			*pp = c->drv;
			if (ch->tail == c)
				ch->tail = prev;
		}
		spin_unlock_irqrestore(&ch->lock, flags);
		return 0;
	}
	waiting = ch->head;
	ch->head = ch->tail = NULL;
	reset_channel(ch);
	/* Commands that were only waiting are started again after the reset. */
	while (waiting) {
		struct scsi_cmd *next = waiting->drv;

		waiting->drv = NULL;
		if (ch->tail)
			ch->tail->drv = waiting;
		else
			ch->head = waiting;
		ch->tail = waiting;
		waiting = next;
	}
	{
		struct scsi_cmd *done[8];
		unsigned nd = 0;

		kick(ch, done, &nd);
		spin_unlock_irqrestore(&ch->lock, flags);
		for (unsigned i = 0; i < nd; i++)
			scsi_cmd_done(done[i]);
	}
	return 0;
}

static int piix_reset(struct scsi_host *h)
{
	struct piix *p = h->priv;

	for (unsigned i = 0; i < 2; i++) {
		unsigned long flags = spin_lock_irqsave(&p->ch[i].lock);

		reset_channel(&p->ch[i]);
		spin_unlock_irqrestore(&p->ch[i].lock, flags);
	}
	return 0;
}

static const struct scsi_host_ops piix_ops = {
	.queue = piix_queue,
	.abort = piix_abort,
	.reset = piix_reset,
	.poll = piix_poll,
};

/* ---- probe ---- */

static int piix_probe(struct pci_dev *d, const struct pci_device_id *id)
{
	static const uint16_t cmd_base[2] = { 0x1f0, 0x170 }, ctl_base[2] = { 0x3f6, 0x376 };
	struct piix *p = kzalloc(sizeof(*p));
	uint16_t *ident = kmalloc(512);
	unsigned found = 0;

	(void)id;
	if (!p || !ident)
		goto nomem;
	p->pdev = d;
	if ((d->class_code & 0x05) || !(d->bar[4].flags & PCI_BAR_IO) || !d->bar[4].base) {
		pr_err("%s: not in compatibility mode or no bus-master registers (prog-if %#x); "
		       "not used\n", d->name, d->class_code & 0xff);
		goto fail;
	}
	pci_enable(d, true);
	for (unsigned i = 0; i < 2; i++) {
		struct channel *ch = &p->ch[i];

		ch->hba = p;
		ch->no = i;
		ch->cmd = cmd_base[i];
		ch->ctl = ctl_base[i];
		ch->bm = (uint16_t)(d->bar[4].base + 8 * i);
		spin_init(&ch->lock, "ata channel");
		ch->prdt = dma_alloc(0, DMA_LIMIT_32BIT, &ch->prdt_pa);
		ch->payload = dma_alloc(0, DMA_LIMIT_32BIT, &ch->payload_pa);
		if (!ch->prdt || !ch->payload)
			goto nomem;
		probe_channel(ch, ident);
		found += ch->present[0] + ch->present[1];
	}
	kfree(ident);
	ident = NULL;
	if (pci_irq_isa(d, 14, irq_primary, p) || pci_irq_isa(d, 15, irq_secondary, p)) {
		pr_err("%s: IRQ 14/15 cannot be routed; not used\n", d->name);
		goto fail;
	}
	for (unsigned i = 0; i < 2; i++) {
		outb(p->ch[i].bm + BM_STATUS, BM_ST_ERROR | BM_ST_IRQ);
		outb(p->ch[i].ctl, 0);	/* nIEN off: the drives may interrupt */
	}
	pr_info("%s: IDE in compatibility mode, bus-master DMA at %#llx, %u disk(s)\n", d->name,
		(unsigned long long)d->bar[4].base, found);
	p->host.driver = "ata_piix";
	p->host.bus_name = d->name;
	p->host.ops = &piix_ops;
	p->host.priv = p;
	p->host.max_target = 3;
	p->host.max_lun = 0;
	p->host.no_report_luns = true;
	p->host.can_queue = 32;
	p->host.max_segs = SCSI_MAX_SG;
	p->host.max_seg_len = 0x10000;
	p->host.seg_boundary = 0x10000;
	p->host.dma_limit = DMA_LIMIT_32BIT;
	p->host.dma_align = 2;
	d->drvdata = p;
	return scsi_host_add(&p->host);
nomem:
	pr_err("%s: out of memory\n", d->name);
fail:
	kfree(ident);
	kfree(p);
	return -ENODEV;
}

static const struct pci_device_id piix_ids[] = {
	{ 0x8086, 0x7010, 0, 0 },	/* PIIX3 IDE */
	{ 0x8086, 0x7111, 0, 0 },	/* PIIX4 IDE */
	{ 0x8086, 0x1230, 0, 0 },	/* PIIX IDE */
	{ 0 },
};

static const struct pci_driver piix_driver = {
	.name = "ata_piix",
	.ids = piix_ids,
	.probe = piix_probe,
};
PCI_DRIVER(piix_driver);
