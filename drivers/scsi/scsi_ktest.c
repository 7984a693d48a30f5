/*
 * In-kernel tests of the SCSI and block layers against a RAM-backed host
 * adapter that completes commands from a real interrupt (a self-IPI on a
 * vector from the allocator) and can misbehave on request: drop a
 * command, lose an interrupt, refuse aborts and resets, fail a sector.
 */
#include <errno.h>
#include <string.h>
#include <vmkernel/apic.h>
#include <drivers/blkdisk.h>
#include <vmkernel/irqvec.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktest.h>
#include <drivers/scsi.h>
#include <vmkernel/spinlock.h>

#define FAKE_BLOCKS 2048
#define FAKE_RING 16

struct fake {
	struct scsi_host host;
	uint8_t *mem;
	struct spinlock lock;
	struct scsi_cmd *ring[FAKE_RING];	/* finished, waiting for the interrupt */
	unsigned n;
	int vector;
	struct scsi_emul_disk ed;
	/* misbehaviour, consumed as used */
	int drop_next, no_irq_next, bad_lba;
	bool abort_fails, reset_fails;
	unsigned queued;
};

static void fake_irq(void *arg)
{
	struct fake *f = arg;
	struct scsi_cmd *done[FAKE_RING];
	unsigned n;

	spin_lock(&f->lock);
	n = f->n;
	memcpy(done, f->ring, n * sizeof(done[0]));
	f->n = 0;
	spin_unlock(&f->lock);
	for (unsigned i = 0; i < n; i++)
		scsi_cmd_done(done[i]);
}

static void execute(struct fake *f, struct scsi_cmd *c)
{
	struct scsi_rw rw;

	if (c->target || c->lun) {
		c->hres = SCSI_HRES_NO_DEVICE;
		return;
	}
	if (scsi_emul(&f->ed, c->cdb, c->cdb_len, c->data, c->len, &c->resid, c->sense,
		      &c->sense_len, &c->status))
		return;
	if (c->cdb[0] == SCSI_SYNCHRONIZE_CACHE_10 || c->cdb[0] == SCSI_SYNCHRONIZE_CACHE_16)
		return;
	if (scsi_cdb_decode_rw(c->cdb, c->cdb_len, &rw)) {
		scsi_cmd_set_sense(c, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_OPCODE);
		return;
	}
	if (rw.op == SCSI_COMPARE_AND_WRITE) {
		/* SBC-3 5.2: verify data, then write data, one block each here. */
		if (rw.blocks != 1 || rw.lba >= FAKE_BLOCKS || c->len != 1024) {
			scsi_cmd_set_sense(c, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_INVALID_FIELD_CDB);
		} else if (memcmp(f->mem + rw.lba * 512, c->data, 512)) {
			scsi_cmd_set_sense(c, SCSI_SK_MISCOMPARE, SCSI_ASC_MISCOMPARE_VERIFY);
		} else {
			memcpy(f->mem + rw.lba * 512, (uint8_t *)c->data + 512, 512);
		}
		return;
	}
	if (rw.lba + rw.blocks > FAKE_BLOCKS || c->len != rw.blocks * 512u) {
		scsi_cmd_set_sense(c, SCSI_SK_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE);
		return;
	}
	if (f->bad_lba >= 0 && (uint64_t)f->bad_lba >= rw.lba &&
	    (uint64_t)f->bad_lba < rw.lba + rw.blocks && !rw.write) {
		scsi_cmd_set_sense(c, SCSI_SK_MEDIUM_ERROR, SCSI_ASC_UNRECOVERED_READ);
		return;
	}
	if (rw.write)
		memcpy(f->mem + rw.lba * 512, c->data, c->len);
	else
		memcpy(c->data, f->mem + rw.lba * 512, c->len);
}

static int fake_queue(struct scsi_host *h, struct scsi_cmd *c)
{
	struct fake *f = h->priv;
	unsigned long flags;
	bool irq = true;

	f->queued++;
	if (f->drop_next) {
		f->drop_next--;
		return 0;	/* never completes */
	}
	execute(f, c);
	if (f->no_irq_next) {
		f->no_irq_next--;
		irq = false;
	}
	flags = spin_lock_irqsave(&f->lock);
	f->ring[f->n++] = c;
	spin_unlock_irqrestore(&f->lock, flags);
	if (irq)
		lapic_send_ipi(lapic_id(), (uint32_t)f->vector);
	return 0;
}

static int fake_abort(struct scsi_host *h, struct scsi_cmd *c)
{
	struct fake *f = h->priv;

	(void)c;
	return f->abort_fails ? -EIO : 0;
}

static int fake_reset(struct scsi_host *h)
{
	struct fake *f = h->priv;

	return f->reset_fails ? -EIO : 0;
}

static void fake_poll(struct scsi_host *h)
{
	fake_irq(h->priv);
}

static const struct scsi_host_ops fake_ops = {
	.queue = fake_queue, .abort = fake_abort, .reset = fake_reset, .poll = fake_poll,
};

static struct fake *fake_new(void)
{
	struct fake *f = kzalloc(sizeof(*f));

	if (!f)
		return NULL;
	f->mem = kzalloc(FAKE_BLOCKS * 512);
	f->vector = irq_vector_alloc(fake_irq, f, "ktest scsi");
	spin_init(&f->lock, "fake hba");
	f->bad_lba = -1;
	f->ed = (struct scsi_emul_disk){ .vendor = "VMKERNEL", .product = "KTEST RAM DISK",
		.revision = "1.0", .serial = "KT0001", .naa_len = 8, .blocks = FAKE_BLOCKS,
		.block_size = 512, .phys_block_size = 512, .caw_blocks = 1 };
	memcpy(f->ed.naa, "\x60\x00\x0c\x29\x00\x00\x00\x01", 8);
	f->host.driver = "ktest-ram";
	f->host.bus_name = "(software)";
	f->host.ops = &fake_ops;
	f->host.priv = f;
	f->host.max_target = 2;
	f->host.max_lun = 0;
	f->host.can_queue = 4;
	f->host.max_xfer = 16 * 1024;
	return f;
}

static struct scsi_device *disk_of(struct fake *f)
{
	return f->host.devices;
}

static int read_block(struct scsi_device *d, uint64_t lba, void *buf, unsigned timeout_ms)
{
	struct scsi_cmd *c = kmalloc(sizeof(*c));
	int err;

	scsi_cmd_init(c, d, SCSI_DIR_FROM_DEV, buf, 512);
	c->cdb_len = (uint8_t)scsi_cdb_rw16(c->cdb, false, lba, 1, false);
	c->timeout_ms = timeout_ms;
	err = scsi_exec(c);
	kfree(c);
	return err;
}

KTEST(scsi_layer)
{
	struct fake *f = fake_new();
	struct scsi_device *d;
	struct blk_disk *bd;
	uint8_t *buf, *back;
	unsigned q;

	KT_ASSERT(f && f->mem && f->vector > 0);
	buf = kmalloc(300 * 512);
	back = kmalloc(300 * 512);
	KT_ASSERT(buf && back);
	KT_ASSERT_EQ(scsi_host_add(&f->host), 0);
	d = disk_of(f);
	KT_ASSERT(d != NULL);
	KT_ASSERT(d->next == NULL);			/* targets 1, 2 answered "no device" */
	KT_ASSERT_EQ(d->blocks, FAKE_BLOCKS);
	KT_ASSERT(!strcmp(d->id, "naa.60000c2900000001"));
	KT_ASSERT_EQ(d->max_xfer_blocks, 32);		/* the host's 16 KiB */
	bd = d->blk;
	KT_ASSERT(bd != NULL);
	KT_ASSERT_EQ(bd->gpt_status, -ENOENT);
	/* 300 blocks: 10 commands through 4 tags, several in flight. */
	for (unsigned i = 0; i < 300 * 512; i++)
		buf[i] = (uint8_t)(i * 13 + i / 512);
	KT_ASSERT_EQ(blk_disk_rw(bd, true, 100, 300, buf), 0);
	KT_ASSERT_EQ(blk_disk_flush(bd), 0);
	memset(back, 0, 300 * 512);
	KT_ASSERT_EQ(blk_disk_rw(bd, false, 100, 300, back), 0);
	KT_ASSERT(!memcmp(buf, back, 300 * 512));
	KT_ASSERT(!memcmp(f->mem + 100 * 512, buf, 300 * 512));
	/* COMPARE AND WRITE (ATS): the block device offers it; a miscompare is -EAGAIN. */
	KT_ASSERT(d->caw);
	KT_ASSERT(bd->dev.ops->compare_and_write != NULL);
	memset(back, 0x5a, 512);
	KT_ASSERT_EQ(bd->dev.ops->compare_and_write(&bd->dev, 100, buf, back), 0);
	KT_ASSERT(!memcmp(f->mem + 100 * 512, back, 512));
	KT_ASSERT_EQ(bd->dev.ops->compare_and_write(&bd->dev, 100, buf, back), -EAGAIN);
	KT_ASSERT(!memcmp(f->mem + 100 * 512, back, 512));
	memcpy(f->mem + 100 * 512, buf, 512);	/* as it was, for the checks below */
	/* A dropped command: timeout, abort, retry. */
	f->drop_next = 1;
	KT_ASSERT_EQ(read_block(d, 150, back, 100), 0);
	KT_ASSERT(!memcmp(back, buf + 50 * 512, 512));
	KT_ASSERT_EQ(f->host.n_timeouts, 1);
	KT_ASSERT_EQ(f->host.n_aborts, 1);
	/* A lost interrupt: found by polling, no abort. */
	f->no_irq_next = 1;
	KT_ASSERT_EQ(read_block(d, 151, back, 100), 0);
	KT_ASSERT_EQ(f->host.n_lost_irqs, 1);
	KT_ASSERT_EQ(f->host.n_aborts, 1);
	/* Abort refused: the adapter is reset and the command retried. */
	f->drop_next = 1;
	f->abort_fails = true;
	KT_ASSERT_EQ(read_block(d, 152, back, 100), 0);
	KT_ASSERT_EQ(f->host.n_resets, 1);
	KT_ASSERT(!memcmp(back, buf + 52 * 512, 512));
	/* A medium error is final: no retry. */
	f->bad_lba = 160;
	q = f->queued;
	KT_ASSERT_EQ(read_block(d, 160, back, 1000), -EIO);
	KT_ASSERT_EQ(f->queued, q + 1);
	f->bad_lba = -1;
	/* Out of range is refused before any command. */
	KT_ASSERT_EQ(blk_disk_rw(bd, false, FAKE_BLOCKS - 1, 2, back), -EINVAL);
	/* Nothing recovers it: the adapter is given up, its disk goes offline. */
	f->drop_next = 100;
	f->reset_fails = true;
	KT_ASSERT(read_block(d, 153, back, 100) != 0);
	KT_ASSERT(f->host.dead);
	KT_ASSERT(d->offline);
	KT_ASSERT_EQ(f->host.inflight, 0);
	KT_ASSERT_EQ(read_block(d, 0, back, 100), -ENODEV);
	kfree(buf);
	kfree(back);
}
