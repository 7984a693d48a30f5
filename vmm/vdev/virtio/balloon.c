/*
 * virtio-balloon (virtio v1.1 5.5): the guest's side of memory
 * reclamation. The memory scheduler (vmm/mem/memsched.c) sets a target,
 * num_pages in the device configuration; a configuration-change
 * interrupt tells the guest's driver, which allocates that many pages
 * from its own kernel and hands their 4 KiB page numbers over on the
 * inflate queue (or takes pages back on the deflate queue) and writes
 * how many it holds into `actual`.
 *
 * Inflate: each page is checked (balloon_req.c: in RAM, not in the
 * balloon already), recorded in the balloon's bitmap, and unbacked:
 * guest_ram_balloon() clears its EPT leaf, shoots the VM's translations
 * down, then frees the host page (a page-sharing frame just loses a
 * reference; a page inside a large reservation page stays backed).
 * Deflate: the pages leave the bitmap; nothing else happens, since a
 * ballooned page is backed again as a zero page by its next touch. We
 * offer VIRTIO_BALLOON_F_MUST_TELL_HOST (the driver deflates before it
 * reuses a page, as the specification requires then); a guest that
 * touches a ballooned page anyway just gets it backed again, counted as
 * backed and ballooned until it deflates it.
 *
 * Statistics (VIRTIO_BALLOON_F_STATS_VQ): the driver posts one buffer of
 * tagged values; the device keeps it, and when the memory scheduler
 * wants fresh figures it returns the buffer, which the driver refills
 * and posts again. The guest's total and available memory are a hint
 * for the scheduler's active-memory estimate, nothing more: the guest
 * may lie, and only its own share of memory suffers.
 *
 * What the guest can get wrong (each puts the device into NEEDS_RESET
 * with the reason named, and stops nothing else): a PFN outside RAM, a
 * page inflated twice, a deflate of a page not in the balloon, a PFN
 * array of a length that is not a multiple of 4 or longer than
 * BALLOON_REQ_MAX, a writable buffer on the PFN queues, a malformed
 * statistics buffer, and every ring error of the walker. A chunk of 256
 * PFNs is applied all or nothing, so the balloon's count is always the
 * number of pages in its bitmap.
 *
 * Locking: the bitmap, the held statistics buffer and the counters are
 * the I/O world's (io_lock). target and actual are atomics. The guest's
 * last statistics are under slock. reg_mutex guards the table by VM id
 * through which the memory scheduler reaches the device; destroy takes
 * the device out of it before the I/O world stops.
 */
#define pr_fmt(fmt) "virtio-balloon: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/mutex.h>
#include <vmkernel/spinlock.h>
#include <vmm/balloon.h>
#include <vmm/guest_mem.h>
#include <vmm/vm.h>
#include <vmm/vmconfig.h>
#include "virtio_priv.h"

#define BALLOON_QUEUE_SIZE	128
#define BALLOON_SEG_MAX		16
#define BALLOON_CFG_SIZE	16	/* num_pages, actual, free_page_hint_cmd_id, poison_val */

struct virtio_balloon {
	struct virtio_dev vd;		/* first */
	uint64_t max_pages;		/* sched.mem.maxmemctl */
	uint32_t target;		/* atomic: num_pages */
	uint32_t actual;		/* atomic: what the driver says it holds */
	struct balloon_map map;		/* io_lock */
	bool stats_held;		/* io_lock: the driver's statistics buffer is ours */
	uint16_t stats_head;		/* io_lock */
	bool stats_wanted;		/* atomic: the scheduler asked for fresh figures */
	struct spinlock slock;
	struct balloon_stats stats;	/* slock */
	uint64_t inflated, deflated;	/* io_lock: pages, statistics */
	struct balloon_unback un;	/* io_lock: what unbacking did */
	struct vq_chain chain;		/* io_lock */
	uint32_t pfn[BALLOON_CHUNK];	/* io_lock */
	uint64_t gpa[BALLOON_CHUNK];	/* io_lock */
	uint8_t sbuf[BALLOON_STATS_MAX * BALLOON_STAT_BYTES];	/* io_lock */
};

static struct mutex reg_mutex = MUTEX_INIT("balloon registry");
static struct virtio_balloon *by_vm[VM_MAX];	/* reg_mutex */

static void cfg_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vd;
	uint32_t cfg[BALLOON_CFG_SIZE / 4] = {
		__atomic_load_n(&b->target, __ATOMIC_ACQUIRE),
		__atomic_load_n(&b->actual, __ATOMIC_RELAXED), 0, 0,
	};

	memcpy(buf, (uint8_t *)cfg + off, len);
}

static void cfg_write(struct virtio_dev *vd, unsigned off, const void *buf, unsigned len)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vd;
	uint32_t v = 0;

	/* Only `actual` is the driver's (5.5.4); other writes are ignored. */
	if (off < 4 || off + len > 8)
		return;
	v = __atomic_load_n(&b->actual, __ATOMIC_RELAXED);
	memcpy((uint8_t *)&v + (off - 4), buf, len);
	__atomic_store_n(&b->actual, v, __ATOMIC_RELAXED);
}

static bool is_ram(void *ctx, uint64_t gpa)
{
	return guest_is_ram(ctx, gpa);
}

/* One inflate or deflate request: false if the device broke. */
static bool serve_pfns(struct virtio_balloon *b, unsigned qi)
{
	struct vm *vm = b->vd.dev.vm;
	bool inflate = qi == BALLOON_Q_INFLATE;
	uint64_t len = b->chain.out_len, off = 0;
	enum balloon_err e = BALLOON_OK;
	unsigned bad = 0, n = 0;

	if (b->chain.in_len)
		e = BALLOON_ERR_WRITABLE;
	else if (len % 4)
		e = BALLOON_ERR_LEN;
	else if (len > BALLOON_REQ_MAX)
		e = BALLOON_ERR_TOO_BIG;
	while (!e && off < len) {
		n = (unsigned)((len - off) / 4 < BALLOON_CHUNK ? (len - off) / 4 : BALLOON_CHUNK);
		/* le32 PFNs: the host's own order on x86 */
		if (vqdev_chain_read(&b->chain, &b->vd.mem, off, b->pfn, n * 4)) {
			virtio_needs_reset(&b->vd, "queue %u: request %u unreadable", qi,
					   b->chain.head);
			return false;
		}
		e = balloon_apply(&b->map, b->pfn, n, inflate, is_ram, vm, &bad);
		if (e)
			break;
		if (inflate) {
			for (unsigned i = 0; i < n; i++)
				b->gpa[i] = (uint64_t)b->pfn[i] << VIRTIO_BALLOON_PFN_SHIFT;
			guest_ram_balloon(vm, b->gpa, n, &b->un);
			b->inflated += n;
		} else {
			b->deflated += n;
		}
		off += n * 4;
	}
	if (e) {
		if (e == BALLOON_ERR_NOT_RAM || e == BALLOON_ERR_TWICE || e == BALLOON_ERR_NOT_IN)
			virtio_needs_reset(&b->vd, "queue %u: request %u: %s (PFN %#x)", qi,
					   b->chain.head, balloon_err_name(e), b->pfn[bad]);
		else
			virtio_needs_reset(&b->vd, "queue %u: request %u: %s (%llu bytes)", qi,
					   b->chain.head, balloon_err_name(e),
					   (unsigned long long)len);
		return false;
	}
	return true;
}

static bool push(struct virtio_balloon *b, unsigned qi, uint16_t head)
{
	enum vq_err e = vqdev_push(&b->vd.vq[qi], &b->vd.mem, head, 0);

	if (e) {
		virtio_needs_reset(&b->vd, "queue %u: %s", qi, vqdev_err_name(e));
		return false;
	}
	__atomic_fetch_add(&b->vd.requests, 1, __ATOMIC_RELAXED);
	virtio_queue_done(&b->vd, qi);
	return true;
}

/* A statistics buffer came: parse it and keep it until fresh figures are wanted. */
static bool take_stats(struct virtio_balloon *b)
{
	struct balloon_stats s = { { 0 }, 0 };
	uint64_t len = b->chain.out_len;
	enum balloon_err e = BALLOON_OK;
	unsigned long flags;

	if (b->chain.in_len || len > sizeof(b->sbuf))
		e = BALLOON_ERR_STATS_LEN;
	else if (vqdev_chain_read(&b->chain, &b->vd.mem, 0, b->sbuf, len)) {
		virtio_needs_reset(&b->vd, "queue 2: statistics unreadable");
		return false;
	} else
		e = balloon_stats_parse(b->sbuf, len, &s);
	if (e) {
		virtio_needs_reset(&b->vd, "queue 2: %s (%llu bytes)", balloon_err_name(e),
				   (unsigned long long)len);
		return false;
	}
	flags = spin_lock_irqsave(&b->slock);
	b->stats = s;
	spin_unlock_irqrestore(&b->slock, flags);
	b->stats_held = true;
	b->stats_head = b->chain.head;
	return true;
}

static void process_queue(struct virtio_balloon *b, unsigned qi)
{
	struct virtqueue_dev *q = &b->vd.vq[qi];

	if (qi == BALLOON_Q_STATS && b->stats_held &&
	    __atomic_exchange_n(&b->stats_wanted, false, __ATOMIC_ACQ_REL)) {
		b->stats_held = false;
		if (!push(b, qi, b->stats_head))
			return;
	}
	for (;;) {
		enum vq_err e;

		if (qi == BALLOON_Q_STATS && b->stats_held)
			return;		/* the driver has one buffer out at a time */
		e = vqdev_pop(q, &b->vd.mem, &b->chain);
		if (e) {
			virtio_needs_reset(&b->vd, "queue %u: %s", qi, vqdev_err_name(e));
			return;
		}
		if (!b->chain.nseg) {
			vqdev_want_notify(q, &b->vd.mem);
			if (!vqdev_has_work(q, &b->vd.mem))
				return;
			continue;
		}
		if (qi == BALLOON_Q_STATS) {
			if (!take_stats(b))
				return;
			continue;
		}
		if (!serve_pfns(b, qi) || !push(b, qi, b->chain.head))
			return;
	}
}

static void process(struct virtio_dev *vd, uint32_t queues)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vd;

	for (unsigned qi = 0; qi < 3; qi++) {
		if ((queues >> qi & 1) && vd->vq[qi].enabled && virtio_live(vd))
			process_queue(b, qi);
	}
}

/* Driver reset: the guest owns every page again; they stay unbacked until touched. */
static void balloon_reset(struct virtio_dev *vd)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vd;
	unsigned long flags;

	memset(b->map.bits, 0, (b->map.span_pages + 63) / 64 * 8);
	b->map.count = 0;
	b->stats_held = false;
	__atomic_store_n(&b->actual, 0, __ATOMIC_RELAXED);
	flags = spin_lock_irqsave(&b->slock);
	b->stats = (struct balloon_stats){ { 0 }, 0 };
	spin_unlock_irqrestore(&b->slock, flags);
}

static void balloon_destroy_backend(struct virtio_dev *vd)
{
	struct virtio_balloon *b = (struct virtio_balloon *)vd;

	pr_info("%s: %s: %llu pages inflated, %llu deflated, %llu in the balloon at the end; host "
		"pages freed %llu, shared references dropped %llu, never backed %llu, kept in "
		"large pages %llu, swap slots freed %llu\n", vd->dev.vm->name, vd->dev.name,
		(unsigned long long)b->inflated, (unsigned long long)b->deflated,
		(unsigned long long)b->map.count, (unsigned long long)b->un.freed,
		(unsigned long long)b->un.dropped, (unsigned long long)b->un.unbacked,
		(unsigned long long)b->un.large, (unsigned long long)b->un.swapped);
	kfree(b->map.bits);
	b->map.bits = NULL;
}

static const struct virtio_dev_ops balloon_ops = {
	.cfg_read = cfg_read, .cfg_write = cfg_write, .process = process,
	.reset = balloon_reset, .destroy = balloon_destroy_backend,
};

static int balloon_create(struct vdev *d, const struct vdev_args *a)
{
	struct virtio_balloon *b = (struct virtio_balloon *)d;
	const struct vm_config *c = a->extra;
	struct vm *vm = d->vm;
	uint64_t span = (vm_high_ram_size(vm) ? (1ULL << 32) + vm_high_ram_size(vm)
					      : vm_low_ram_end(vm)) >> 12;
	int err;

	if (!c)
		return -EINVAL;
	b->vd.ops = &balloon_ops;
	b->vd.kind = "virtio-balloon";
	b->max_pages = vmconfig_maxmemctl_mb(c) * 256ULL;
	b->map.span_pages = span;
	b->map.bits = kzalloc((span + 63) / 64 * 8);
	if (!b->map.bits)
		return -ENOMEM;
	spin_init(&b->slock, "balloon stats");
	b->vd.host_features = 1ULL << VIRTIO_BALLOON_F_MUST_TELL_HOST |
			      1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	b->vd.cfg_size = BALLOON_CFG_SIZE;
	b->vd.nqueues = 3;
	b->vd.early_notify = true;	/* Linux's driver notifies the stats queue early */
	b->vd.qmax = BALLOON_QUEUE_SIZE;
	b->vd.max_segs = BALLOON_SEG_MAX;
	err = virtio_dev_create(&b->vd, VIRTIO_ID_BALLOON, 0x058000);	/* memory controller, other */
	if (err) {
		kfree(b->map.bits);
		b->map.bits = NULL;
		return err;
	}
	mutex_lock(&reg_mutex);
	by_vm[vm->id % VM_MAX] = b;
	mutex_unlock(&reg_mutex);
	pr_info("%s: %s: at most %llu MiB (sched.mem.maxmemctl); targets from the memory "
		"scheduler\n", vm->name, d->name, (unsigned long long)(b->max_pages >> 8));
	return 0;
}

static void balloon_destroy(struct vdev *d)
{
	struct virtio_balloon *b = (struct virtio_balloon *)d;

	mutex_lock(&reg_mutex);
	if (by_vm[d->vm->id % VM_MAX] == b)
		by_vm[d->vm->id % VM_MAX] = NULL;
	mutex_unlock(&reg_mutex);
	virtio_dev_destroy(d);
}

static const struct vdev_type virtio_balloon_type = {
	.name = "virtio-balloon", .size = sizeof(struct virtio_balloon), .create = balloon_create,
	.reset = virtio_dev_reset, .destroy = balloon_destroy,
};
VDEV_TYPE(virtio_balloon_type);

/* ---- the memory scheduler's view ---- */

bool balloon_vm_info(struct vm *vm, struct balloon_info *bi)
{
	struct virtio_balloon *b;
	unsigned long flags;

	*bi = (struct balloon_info){ 0 };
	mutex_lock(&reg_mutex);
	b = by_vm[vm->id % VM_MAX];
	if (b) {
		bi->pages = __atomic_load_n(&b->map.count, __ATOMIC_RELAXED);
		bi->target = __atomic_load_n(&b->target, __ATOMIC_RELAXED);
		bi->max_pages = b->max_pages;
		bi->live = virtio_live(&b->vd);
		flags = spin_lock_irqsave(&b->slock);
		if (b->stats.have & 1u << BALLOON_S_MEMTOT &&
		    b->stats.have & (1u << BALLOON_S_AVAIL | 1u << BALLOON_S_MEMFREE)) {
			bi->stats = true;
			bi->guest_total = b->stats.v[BALLOON_S_MEMTOT];
			bi->guest_avail = b->stats.have & 1u << BALLOON_S_AVAIL ?
					  b->stats.v[BALLOON_S_AVAIL] : b->stats.v[BALLOON_S_MEMFREE];
		}
		spin_unlock_irqrestore(&b->slock, flags);
	}
	mutex_unlock(&reg_mutex);
	return b != NULL;
}

void balloon_vm_set_target(struct vm *vm, uint64_t pages)
{
	struct virtio_balloon *b;

	mutex_lock(&reg_mutex);
	b = by_vm[vm->id % VM_MAX];
	if (b) {
		uint32_t t = (uint32_t)(pages < b->max_pages ? pages : b->max_pages);

		if (__atomic_exchange_n(&b->target, t, __ATOMIC_ACQ_REL) != t)
			virtio_config_changed(&b->vd);
	}
	mutex_unlock(&reg_mutex);
}

void balloon_vm_request_stats(struct vm *vm)
{
	struct virtio_balloon *b;

	mutex_lock(&reg_mutex);
	b = by_vm[vm->id % VM_MAX];
	if (b && virtio_live(&b->vd) && virtio_has_feature(&b->vd, VIRTIO_BALLOON_F_STATS_VQ)) {
		__atomic_store_n(&b->stats_wanted, true, __ATOMIC_RELEASE);
		virtio_kick(&b->vd, BALLOON_Q_STATS);
	}
	mutex_unlock(&reg_mutex);
}

uint64_t balloon_vm_pages(struct vm *vm)
{
	struct balloon_info bi;

	return balloon_vm_info(vm, &bi) ? bi.pages : 0;
}
