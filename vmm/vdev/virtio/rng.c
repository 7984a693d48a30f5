/*
 * virtio-rng (virtio v1.1 5.4): the entropy device. One request queue;
 * every buffer the driver posts is device-writable and the device fills
 * as much of it as it chooses with random bytes (include/vmkernel/
 * entropy.h: RDSEED or RDRAND where the CPU has them, else a software
 * generator whose use the log names at boot and for each VM).
 *
 * Rate limit. A guest could otherwise post buffers as fast as it can and
 * have the host's I/O world generate bytes without end. Each device
 * (a VM has at most one) has a token bucket in bytes: it fills at
 * rng0.rate bytes per second up to a quarter of a second's worth (the
 * burst), a request takes at most REQ_MAX bytes and costs at least
 * COST_MIN (so tiny buffers do not get around the limit), and when the
 * bucket is short the I/O world sleeps until it has filled enough. The
 * guest's request waits; nothing is dropped or failed.
 *
 * Locking: all of the state below is the I/O world's (ops->process runs
 * with io_lock held). While it sleeps for tokens it still holds io_lock,
 * so a driver reset waits for at most one refill: COST_MIN bytes at the
 * lowest rate, 63 ms.
 *
 * What the guest can get wrong: a request with a device-readable buffer
 * (5.4.6.1: the driver must not post one) puts the device into
 * NEEDS_RESET; so do the transport's and the ring walker's findings.
 */
#define pr_fmt(fmt) "virtio-rng: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/entropy.h>
#include <vmkernel/log.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmm/vm.h>
#include <vmm/vmconfig.h>
#include <vmm/vtime.h>
#include "virtio_priv.h"

#define RNG_QUEUE_SIZE	64
#define RNG_SEG_MAX	16
#define REQ_MAX		1024	/* bytes handed over per request at most */
#define COST_MIN	64	/* bytes of budget a request costs at least */

struct virtio_rng {
	struct virtio_dev vd;		/* first */
	uint32_t rate;			/* bytes per second */
	uint64_t burst;			/* bucket size, bytes */
	uint64_t tokens;		/* bytes that may be handed over now */
	uint64_t last_tsc;		/* the bucket is full up to this TSC */
	uint64_t bytes, waits;		/* statistics */
	struct vq_chain chain;		/* the request being served */
	uint8_t buf[REQ_MAX];
};

static void cfg_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	(void)vd, (void)off;
	memset(buf, 0, len);	/* no device configuration (5.4.4) */
}

/* Add what the time since last_tsc earned; the bucket never holds more than a burst. */
static void refill(struct virtio_rng *r)
{
	uint64_t now = vtime_host_tsc(), hz = tsc_hz(), add;

	if (now - r->last_tsc > hz)
		r->last_tsc = now - hz;		/* a second's worth fills any bucket */
	add = (now - r->last_tsc) * r->rate / hz;
	if (!add)
		return;
	r->tokens += add;
	r->last_tsc += add * hz / r->rate;	/* keep the fraction of a byte not yet earned */
	if (r->tokens >= r->burst) {
		r->tokens = r->burst;
		r->last_tsc = now;
	}
}

/* Wait until `cost` bytes are in the bucket; false if the device is being torn down. */
static bool take(struct virtio_rng *r, uint64_t cost)
{
	refill(r);
	while (r->tokens < cost) {
		uint64_t need = cost - r->tokens;

		r->waits++;
		sched_block_until(vtime_host_tsc() + need * tsc_hz() / r->rate + 1);
		if (__atomic_load_n(&r->vd.io_stop, __ATOMIC_ACQUIRE))
			return false;
		refill(r);
	}
	r->tokens -= cost;
	return true;
}

/* One request: false if the device broke (NEEDS_RESET) or is going away. */
static bool serve(struct virtio_rng *r, struct virtqueue_dev *q)
{
	uint64_t len = r->chain.in_len;
	enum vq_err e;

	if (r->chain.out_len) {
		virtio_needs_reset(&r->vd, "queue 0: request %u has a device-readable buffer",
				   r->chain.head);
		return false;
	}
	if (len > REQ_MAX)
		len = REQ_MAX;
	if (len > r->burst)
		len = r->burst;
	if (!take(r, len > COST_MIN ? len : COST_MIN))
		return false;
	entropy_get(r->buf, len);
	if (vqdev_chain_write(&r->chain, &r->vd.mem, 0, r->buf, len)) {
		virtio_needs_reset(&r->vd, "queue 0: buffer of request %u not writable",
				   r->chain.head);
		return false;
	}
	memset(r->buf, 0, len);		/* the bytes were this guest's alone */
	e = vqdev_push(q, &r->vd.mem, r->chain.head, (uint32_t)len);
	if (e) {
		virtio_needs_reset(&r->vd, "queue 0: %s", vqdev_err_name(e));
		return false;
	}
	r->bytes += len;
	__atomic_fetch_add(&r->vd.requests, 1, __ATOMIC_RELAXED);
	virtio_queue_done(&r->vd, 0);
	return true;
}

static void process(struct virtio_dev *vd, uint32_t queues)
{
	struct virtio_rng *r = (struct virtio_rng *)vd;
	struct virtqueue_dev *q = &vd->vq[0];

	if (!(queues & 1) || !q->enabled)
		return;
	for (;;) {
		enum vq_err e = vqdev_pop(q, &vd->mem, &r->chain);

		if (e) {
			virtio_needs_reset(vd, "queue 0: %s", vqdev_err_name(e));
			return;
		}
		if (!r->chain.nseg) {
			vqdev_want_notify(q, &vd->mem);
			if (!vqdev_has_work(q, &vd->mem))
				return;
			continue;
		}
		if (!serve(r, q))
			return;
	}
}

static void rng_destroy_backend(struct virtio_dev *vd)
{
	struct virtio_rng *r = (struct virtio_rng *)vd;

	pr_info("%s: %s: %llu bytes handed over, %llu waits for the rate limit\n",
		vd->dev.vm->name, vd->dev.name, (unsigned long long)r->bytes,
		(unsigned long long)r->waits);
}

static const struct virtio_dev_ops rng_ops = {
	.cfg_read = cfg_read, .process = process, .destroy = rng_destroy_backend,
};

static int rng_create(struct vdev *d, const struct vdev_args *a)
{
	struct virtio_rng *r = (struct virtio_rng *)d;
	const struct vmconfig_rng *c = a->extra;
	struct vm *vm = d->vm;

	r->vd.ops = &rng_ops;
	r->vd.kind = "virtio-rng";
	if (!c || c->rate < VMCONFIG_RNG_RATE_MIN || c->rate > VMCONFIG_RNG_RATE_MAX)
		return -EINVAL;
	r->rate = c->rate;
	r->burst = r->rate / 4;
	r->tokens = r->burst;
	r->last_tsc = vtime_host_tsc();
	r->vd.cfg_size = 0;
	r->vd.nqueues = 1;
	r->vd.qmax = RNG_QUEUE_SIZE;
	r->vd.max_segs = RNG_SEG_MAX;
	if (entropy_is_hardware())
		pr_info("%s: %s: entropy from %s, at most %u bytes/s\n", vm->name, d->name,
			entropy_source(), r->rate);
	else
		pr_warn("%s: %s: entropy from a %s: this CPU has no RDSEED/RDRAND, and under an "
			"emulator the seed may be predictable; at most %u bytes/s\n", vm->name,
			d->name, entropy_source(), r->rate);
	return virtio_dev_create(&r->vd, VIRTIO_ID_RNG, 0xff0000);	/* class: other */
}

static const struct vdev_type virtio_rng_type = {
	.name = "virtio-rng", .size = sizeof(struct virtio_rng), .create = rng_create,
	.reset = virtio_dev_reset, .destroy = virtio_dev_destroy,
};
VDEV_TYPE(virtio_rng_type);
