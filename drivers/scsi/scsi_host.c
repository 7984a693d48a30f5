/*
 * The SCSI layer's core: hosts, tags, submission, completion, waiting,
 * and error handling (see include/scsi.h for the model).
 *
 * Life of a command: scsi_submit() maps the data buffer to physical
 * segments (bouncing through pages the adapter can reach when the buffer
 * breaks its limits), takes a tag, records the waiting world and the
 * deadline, and calls the driver's queue(). The driver's interrupt handler
 * calls scsi_cmd_done(), which frees the tag and wakes the waiter.
 * scsi_wait() sleeps until then; past the deadline it runs the escalation
 * poll -> abort -> adapter reset -> give the adapter up, one error handler
 * per host at a time, and retries what the result says is worth retrying.
 *
 * Invariants: a tag is held exactly while state == CMD_QUEUED; only the
 * path that moves a command out of CMD_QUEUED (done, or a forced finish
 * after a successful abort/reset) releases it, under host->lock, so a
 * late completion from a driver is detected and dropped, never doubled.
 */
#define pr_fmt(fmt) "scsi: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include "scsi_priv.h"

struct scsi_tag_wait {
	struct world *w;
	volatile bool woken;
	struct scsi_tag_wait *next;
};

#define STAT_INC(h, field) __atomic_fetch_add(&(h)->field, 1, __ATOMIC_RELAXED)

static struct scsi_host *hosts, **hosts_tail = &hosts;
static unsigned n_hosts;

struct scsi_host *scsi_host_first(void)
{
	return hosts;
}

static uint64_t ns_to_tsc(uint64_t ns)
{
	return ns / 1000 * (tsc_hz() / 1000000);
}

/* Sleep about ms milliseconds (the world blocks; outside one, the CPU halts). */
static void pause_ms(unsigned ms)
{
	uint64_t end = time_ns() + (uint64_t)ms * 1000000, now;

	/* One clock read per round: a second one may already be past end. */
	while ((now = time_ns()) < end) {
		if (world_current())
			sched_block_until(rdtsc() + ns_to_tsc(end - now));
		else
			cpu_safe_halt();
	}
}

/* ---- data buffers ---- */

static bool seg_ok(const struct scsi_host *h, uint64_t pa, uint32_t len)
{
	unsigned a = h->dma_align ? h->dma_align : 1;

	return pa + len <= h->dma_limit && pa % a == 0 && len % a == 0;
}

static int add_seg(struct scsi_cmd *c, const struct scsi_host *h, uint64_t pa, uint32_t len)
{
	while (len) {
		uint32_t n = len;
		struct scsi_sg *prev = c->nsg ? &c->sg[c->nsg - 1] : NULL;

		if (h->seg_boundary) {
			uint64_t room = h->seg_boundary - (pa & (h->seg_boundary - 1));

			if (n > room)
				n = (uint32_t)room;
		}
		if (prev && prev->addr + prev->len == pa && prev->len + n <= h->max_seg_len &&
		    (!h->seg_boundary || (prev->addr & ~(h->seg_boundary - 1)) ==
		     ((pa + n - 1) & ~(h->seg_boundary - 1)))) {
			prev->len += n;
		} else {
			if (n > h->max_seg_len)
				n = h->max_seg_len;
			if (c->nsg == h->max_segs)
				return -E2BIG;
			c->sg[c->nsg++] = (struct scsi_sg){ pa, n };
		}
		pa += n;
		len -= n;
	}
	return 0;
}

static int map_direct(struct scsi_cmd *c, const struct scsi_host *h)
{
	uint8_t *va = c->buf;
	uint32_t left = c->len;

	c->nsg = 0;
	while (left) {
		uint32_t n = (uint32_t)(PAGE_SIZE_4K - ((uintptr_t)va & (PAGE_SIZE_4K - 1)));
		uint64_t pa;

		if (n > left)
			n = left;
		if (paging_virt_to_phys(va, &pa) || !seg_ok(h, pa, n) || add_seg(c, h, pa, n))
			return -E2BIG;
		va += n;
		left -= n;
	}
	return 0;
}

static int map_bounce(struct scsi_cmd *c, const struct scsi_host *h)
{
	unsigned order = 0;
	uint64_t pa;

	while ((PAGE_SIZE_4K << order) < c->len)
		order++;
	pa = page_alloc_below(order, h->dma_limit);
	if (!pa)
		return -ENOMEM;
	c->bounce = phys_to_virt(pa);
	c->bounce_order = order;
	c->data = c->bounce;
	if (c->dir == SCSI_DIR_TO_DEV)
		memcpy(c->bounce, c->buf, c->len);
	c->nsg = 0;
	if (add_seg(c, h, pa, c->len)) {
		page_free(pa, order);
		c->bounce = NULL;
		return -E2BIG;
	}
	STAT_INC(c->host, n_bounced);
	return 0;
}

static int map_buffer(struct scsi_cmd *c)
{
	const struct scsi_host *h = c->host;

	c->data = c->buf;
	if (!c->len || c->dir == SCSI_DIR_NONE) {
		c->nsg = 0;
		return 0;
	}
	if (c->len > h->max_xfer)
		return -E2BIG;
	if (!map_direct(c, h))
		return 0;
	return map_bounce(c, h);
}

static void unmap_buffer(struct scsi_cmd *c)
{
	if (!c->bounce)
		return;
	if (c->dir == SCSI_DIR_FROM_DEV)
		memcpy(c->buf, c->bounce, c->len);
	page_free(virt_to_phys(c->bounce), c->bounce_order);
	c->bounce = NULL;
}

/* ---- tags ---- */

/* A free tag, or -EBUSY. Caller holds h->lock. */
static int tag_get(struct scsi_host *h)
{
	for (unsigned i = 0; i < h->can_queue; i++) {
		if (!h->tags[i])
			return (int)i;
	}
	return -EBUSY;
}

/* Release c's tag and pick a waiter to wake. Caller holds h->lock. */
static struct world *tag_put(struct scsi_host *h, struct scsi_cmd *c)
{
	struct scsi_tag_wait *tw = h->tag_waiters;

	h->tags[c->tag] = NULL;
	h->inflight--;
	if (!tw)
		return NULL;
	h->tag_waiters = tw->next;
	tw->woken = true;	/* the node may vanish once this is seen */
	return tw->w;
}

static int tag_take(struct scsi_host *h, struct scsi_cmd *c)
{
	for (;;) {
		struct scsi_tag_wait tw = { world_current(), false, NULL };
		unsigned long flags = spin_lock_irqsave(&h->lock);
		int t = tag_get(h);

		if (h->dead) {
			spin_unlock_irqrestore(&h->lock, flags);
			return -ENODEV;
		}
		if (t >= 0) {
			c->tag = (unsigned)t;
			h->tags[t] = c;
			h->inflight++;
			h->n_cmds++;
			c->state = CMD_QUEUED;
			spin_unlock_irqrestore(&h->lock, flags);
			return 0;
		}
		if (tw.w) {
			tw.next = h->tag_waiters;
			h->tag_waiters = &tw;
		}
		spin_unlock_irqrestore(&h->lock, flags);
		if (!tw.w) {
			cpu_safe_halt();	/* boot context: a completion interrupt frees one */
			continue;
		}
		while (!tw.woken)
			sched_block();
	}
}

/* ---- submission and completion ---- */

void scsi_cmd_init(struct scsi_cmd *c, struct scsi_device *sdev, enum scsi_dir dir, void *buf,
		   uint32_t len)
{
	memset(c, 0, offsetof(struct scsi_cmd, sg));
	c->sdev = sdev;
	if (sdev) {
		c->host = sdev->host;
		c->target = sdev->target;
		c->lun = sdev->lun;
	}
	c->dir = dir;
	c->buf = buf;
	c->len = len;
	c->timeout_ms = SCSI_DEFAULT_TIMEOUT_MS;
	c->retries = SCSI_DEFAULT_RETRIES;
	c->nsg = 0;
	c->bounce = NULL;
	c->complete = NULL;
	c->state = CMD_IDLE;
	c->hres = SCSI_HRES_OK;
	c->status = 0;
	c->sense_len = 0;
	c->resid = 0;
}

/* End c without the driver (never queued, or given up by abort/reset). */
static void finish_forced(struct scsi_cmd *c, enum scsi_hres hres)
{
	struct scsi_host *h = c->host;
	unsigned long flags = spin_lock_irqsave(&h->lock);
	struct world *tw = NULL, *w = c->waiter;

	if (c->state != CMD_QUEUED) {
		spin_unlock_irqrestore(&h->lock, flags);
		return;
	}
	if (h->tags[c->tag] == c)
		tw = tag_put(h, c);
	c->hres = hres;
	c->sense_len = 0;
	c->state = CMD_DONE;
	spin_unlock_irqrestore(&h->lock, flags);
	if (tw)
		sched_wakeup(tw);
	if (w && w != world_current())
		sched_wakeup(w);
}

static int queue_once(struct scsi_cmd *c)
{
	struct scsi_host *h = c->host;
	int err;

	c->hres = SCSI_HRES_OK;
	c->status = 0;
	c->sense_len = 0;
	c->resid = 0;
	c->waiter = world_current();
	err = tag_take(h, c);
	if (err) {
		c->hres = SCSI_HRES_ERROR;
		c->state = CMD_DONE;
		return err;
	}
	c->start_tsc = rdtsc();
	c->deadline_ns = time_ns() + (uint64_t)c->timeout_ms * 1000000;
	err = h->ops->queue(h, c);
	if (err)
		finish_forced(c, err == -EBUSY ? SCSI_HRES_BUSY : SCSI_HRES_ERROR);
	return err == -EBUSY ? 0 : err;
}

int scsi_submit(struct scsi_cmd *c)
{
	int err;

	if (!c->host || c->state == CMD_QUEUED)
		return -EINVAL;
	if (c->sdev && c->sdev->offline) {
		c->hres = SCSI_HRES_NO_DEVICE;
		c->state = CMD_DONE;
		return -ENODEV;
	}
	if (!c->nsg && !c->bounce) {
		err = map_buffer(c);
		if (err) {
			c->hres = SCSI_HRES_ERROR;
			c->state = CMD_DONE;
			return err;
		}
	}
	return queue_once(c);
}

void scsi_cmd_done(struct scsi_cmd *c)
{
	struct scsi_host *h = c->host;
	unsigned long flags;
	struct world *tw, *w;

	if (c->complete)
		c->complete(c);
	flags = spin_lock_irqsave(&h->lock);
	if (c->state != CMD_QUEUED || h->tags[c->tag] != c) {
		spin_unlock_irqrestore(&h->lock, flags);
		pr_warn("%s: completion for tag %u, which is not in flight; dropped\n", h->name,
			c->tag);
		return;
	}
	tw = tag_put(h, c);
	w = c->waiter;
	c->state = CMD_DONE;	/* from here the submitter may reuse c */
	spin_unlock_irqrestore(&h->lock, flags);
	if (tw)
		sched_wakeup(tw);
	if (w)
		sched_wakeup(w);
}

struct scsi_cmd *scsi_host_cmd(struct scsi_host *h, unsigned tag)
{
	return tag < h->can_queue ? h->tags[tag] : NULL;
}

void scsi_cmd_set_sense(struct scsi_cmd *c, uint8_t key, uint16_t asc_ascq)
{
	c->hres = SCSI_HRES_OK;
	c->status = SCSI_STATUS_CHECK_CONDITION;
	c->sense_len = scsi_sense_fill(c->sense, key, asc_ascq);
}

/* ---- waiting and error handling ---- */

static void cmd_where(const struct scsi_cmd *c, char *buf, unsigned len)
{
	struct scsi_rw rw;
	int n;

	if (c->sdev)
		n = snprintf(buf, len, "%s: %s", c->sdev->name, scsi_op_name(c->cdb[0]));
	else
		n = snprintf(buf, len, "%s:C0:T%u:L%u: %s", c->host->name, c->target, c->lun,
			     scsi_op_name(c->cdb[0]));
	if (!scsi_cdb_decode_rw(c->cdb, c->cdb_len, &rw) && n > 0 && (unsigned)n < len)
		snprintf(buf + n, len - (unsigned)n, " of %u blocks at LBA %llu", rw.blocks,
			 (unsigned long long)rw.lba);
}

void scsi_log_failure(const struct scsi_cmd *c, const char *what)
{
	struct scsi_sense s;
	char where[96], res[160];

	scsi_sense_parse(c->sense, c->sense_len, &s);
	cmd_where(c, where, sizeof(where));
	scsi_result_text(c->hres, c->status, &s, res, sizeof(res));
	pr_err("%s %s: %s\n", where, what, res);
}

static void eh_enter(struct scsi_host *h)
{
	while (__atomic_exchange_n(&h->eh_busy, 1, __ATOMIC_ACQUIRE))
		pause_ms(10);
}

static void eh_leave(struct scsi_host *h)
{
	__atomic_store_n(&h->eh_busy, 0, __ATOMIC_RELEASE);
}

/* Every command still queued on h ends with hres (the driver let go of them). */
static void fail_outstanding(struct scsi_host *h, enum scsi_hres hres)
{
	for (unsigned t = 0; t < h->can_queue; t++) {
		struct scsi_cmd *c = h->tags[t];

		if (c)
			finish_forced(c, hres);
	}
}

void scsi_host_dead(struct scsi_host *h, const char *why)
{
	if (!h->dead)
		pr_err("%s (%s %s): giving the adapter up: %s; its disks are offline\n", h->name,
		       h->driver, h->bus_name ? h->bus_name : "", why);
	h->dead = true;
	for (struct scsi_device *d = h->devices; d; d = d->next)
		d->offline = true;
	fail_outstanding(h, SCSI_HRES_ERROR);
}

/* c passed its deadline: make sure it is finished, by the gentlest means that works. */
static void handle_timeout(struct scsi_cmd *c)
{
	struct scsi_host *h = c->host;
	char where[96];

	eh_enter(h);
	if (c->state != CMD_QUEUED)
		goto out;
	if (h->ops->poll) {
		h->ops->poll(h);
		if (c->state != CMD_QUEUED) {
			STAT_INC(h, n_lost_irqs);
			pr_warn("%s: completion found by polling: an interrupt was lost\n", h->name);
			goto out;
		}
	}
	STAT_INC(h, n_timeouts);
	cmd_where(c, where, sizeof(where));
	pr_warn("%s timed out after %u ms; aborting it\n", where, c->timeout_ms);
	if (h->ops->abort && h->ops->abort(h, c) == 0) {
		STAT_INC(h, n_aborts);
		finish_forced(c, SCSI_HRES_TIMEOUT);
		goto out;
	}
	pr_warn("%s: abort failed; resetting the adapter\n", h->name);
	STAT_INC(h, n_resets);
	if (h->ops->reset && h->ops->reset(h) == 0) {
		pr_info("%s: adapter reset; commands in flight will be retried\n", h->name);
		fail_outstanding(h, SCSI_HRES_RESET);
		finish_forced(c, SCSI_HRES_TIMEOUT);
		goto out;
	}
	scsi_host_dead(h, "it did not recover from a reset");
out:
	eh_leave(h);
}

static void wait_done(struct scsi_cmd *c)
{
	while (c->state == CMD_QUEUED) {
		uint64_t now = time_ns();

		if (now >= c->deadline_ns) {
			handle_timeout(c);
			continue;
		}
		if (world_current()) {
			sched_block_until(rdtsc() + ns_to_tsc(c->deadline_ns - now));
			continue;
		}
		irq_disable();
		if (c->state == CMD_QUEUED)
			cpu_safe_halt();	/* sti; hlt: woken by the completion or the tick */
		else
			irq_enable();
	}
}

int scsi_wait(struct scsi_cmd *c)
{
	unsigned attempt = 0;

	for (;;) {
		struct scsi_sense s;
		enum scsi_disposition d;

		wait_done(c);
		scsi_sense_parse(c->sense, c->sense_len, &s);
		d = scsi_decide(c->hres, c->status, &s);
		if (d == SCSI_DISP_OK && c->hres == SCSI_HRES_OK) {
			unmap_buffer(c);
			return 0;
		}
		if (c->hres != SCSI_HRES_OK && c->hres != SCSI_HRES_NO_DEVICE)
			STAT_INC(c->host, n_errors);
		if (c->hres == SCSI_HRES_BUSY && time_ns() < c->deadline_ns && !c->host->dead) {
			pause_ms(1);	/* adapter out of resources: does not use up retries */
		} else if ((d == SCSI_DISP_RETRY || d == SCSI_DISP_RETRY_LATER) && c->retries &&
			   !c->host->dead && !(c->sdev && c->sdev->offline)) {
			c->retries--;
			if (d == SCSI_DISP_RETRY_LATER)
				pause_ms(100u << (attempt < 4 ? attempt : 4));
			attempt++;
		} else {
			unmap_buffer(c);
			if (d != SCSI_DISP_NO_DEVICE && !c->quiet)
				scsi_log_failure(c, attempt ? "failed after retries" : "failed");
			return d == SCSI_DISP_NO_DEVICE ? -ENODEV :
			       c->hres == SCSI_HRES_TIMEOUT ? -ETIMEDOUT : -EIO;
		}
		c->attempt++;
		if (queue_once(c)) {
			unmap_buffer(c);
			if (!c->quiet)
				scsi_log_failure(c, "could not be resubmitted");
			return c->host->dead ? -ENODEV : -EIO;
		}
	}
}

int scsi_exec(struct scsi_cmd *c)
{
	int err = scsi_submit(c);

	if (err) {
		unmap_buffer(c);
		if (!c->quiet && err != -ENODEV)
			scsi_log_failure(c, "could not be submitted");
		return err;
	}
	return scsi_wait(c);
}

/* ---- hosts ---- */

int scsi_host_add(struct scsi_host *h)
{
	if (!h->ops || !h->ops->queue || !h->can_queue)
		return -EINVAL;
	if (h->can_queue > SCSI_MAX_TAGS)
		h->can_queue = SCSI_MAX_TAGS;
	if (!h->max_xfer || h->max_xfer > SCSI_MAX_XFER)
		h->max_xfer = SCSI_MAX_XFER;
	if (!h->max_segs || h->max_segs > SCSI_MAX_SG)
		h->max_segs = SCSI_MAX_SG;
	if (!h->max_seg_len)
		h->max_seg_len = h->max_xfer;
	if (!h->dma_limit)
		h->dma_limit = ~0ull;
	spin_init(&h->lock, "scsi host");
	h->id = n_hosts++;
	snprintf(h->name, sizeof(h->name), "vmhba%u", h->id);
	*hosts_tail = h;
	hosts_tail = &h->next;
	pr_info("%s: %s at %s, %u tags, up to %u KiB per command\n", h->name, h->driver,
		h->bus_name ? h->bus_name : "?", h->can_queue, h->max_xfer / 1024);
	scsi_scan_host(h);
	return 0;
}
