/*
 * The device side of a split virtqueue (virtio 1.x, 2.7), as the VMM's
 * virtio device models see it (vmm/vdev/virtio/virtqueue.c).
 *
 * The rings live in guest RAM, which the guest may change at any moment
 * and may fill with anything. The walker therefore reads every field once
 * into host memory, checks it there and never trusts it again: a head or
 * next index outside the ring, a chain that visits more descriptors than
 * the ring holds (a loop), a buffer that is not wholly in guest RAM (or
 * wraps, or lies in MMIO), a total length past 4 GiB, an indirect table
 * that is empty, misaligned in length, nested or longer than the ring, a
 * device-readable buffer after a device-writable one, an available index
 * that ran more than a ring ahead: each is a vq_err with a name, and the
 * device model puts itself into NEEDS_RESET with that name in the log.
 *
 * Guest memory is reached only through struct vq_mem, so the walker runs
 * on the host in unit tests against a fake memory.
 *
 * Locking: a virtqueue belongs to one device; the device serialises calls
 * on it (its I/O world pops and pushes, its register handlers set it up
 * and reset it under the device's lock).
 */
#ifndef VMM_VIRTQUEUE_H
#define VMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VQ_MAX_SIZE	1024	/* largest ring a device offers */
#define VQ_MAX_SEGS	256	/* buffers one request may have (direct + indirect) */

/* Descriptor flags (2.7.5) and ring flags (2.7.6, 2.7.8) */
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	1

/* Guest memory as the walker reaches it: 0, or -EFAULT if [gpa, gpa+len) is not all RAM. */
struct vq_mem {
	void *ctx;
	int (*read)(void *ctx, uint64_t gpa, void *dst, size_t len);
	int (*write)(void *ctx, uint64_t gpa, const void *src, size_t len);
	bool (*is_ram)(void *ctx, uint64_t gpa, uint64_t len);
};

/* What a guest can get wrong; vqdev_err_name() gives the words for the log. */
enum vq_err {
	VQ_OK = 0,
	VQ_ERR_SIZE,		/* queue size 0, above the maximum, or not a power of two */
	VQ_ERR_RING_ADDR,	/* a ring misaligned or not wholly in guest RAM */
	VQ_ERR_AVAIL_IDX,	/* available index more than a ring ahead of the device */
	VQ_ERR_HEAD,		/* a head index outside the ring */
	VQ_ERR_NEXT,		/* a next index outside the ring or indirect table */
	VQ_ERR_LOOP,		/* a chain longer than the ring (descriptor loop) */
	VQ_ERR_TOO_MANY,	/* more buffers than the device takes in one request */
	VQ_ERR_BUF_ADDR,	/* a buffer not wholly in guest RAM, or wrapping */
	VQ_ERR_LEN,		/* buffer lengths that add up past 4 GiB */
	VQ_ERR_INDIRECT,	/* indirect table: not negotiated, nested, empty, bad length, with NEXT */
	VQ_ERR_ORDER,		/* a device-readable buffer after a device-writable one */
	VQ_ERR_MEM,		/* a ring could not be read or written */
	VQ_ERR_COUNT
};

const char *vqdev_err_name(enum vq_err e);

struct vq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* device-writable */
};

/* One request: a descriptor chain, flattened, indirect tables followed. */
struct vq_chain {
	uint16_t head;		/* what goes back in the used ring */
	unsigned nseg;
	unsigned nout;		/* the first nout segments are device-readable */
	uint64_t out_len, in_len;
	struct vq_seg seg[VQ_MAX_SEGS];
};

struct virtqueue_dev {
	/* set up by the driver through the transport */
	uint16_t size;
	bool enabled;
	uint64_t desc, avail, used;	/* guest-physical */
	uint16_t msix_vector;
	/* negotiated features */
	bool event_idx, indirect;
	/* the device's position */
	uint16_t last_avail;		/* next available entry to take */
	uint16_t used_idx;		/* next used entry to fill */
	uint16_t signalled_used;	/* used_idx at the last interrupt */
	bool signalled_valid;
	unsigned max_segs;		/* buffers per request the device takes (<= VQ_MAX_SEGS) */
};

/* Back to the state after a device reset (size becomes max_size, not enabled). */
void vqdev_reset(struct virtqueue_dev *q, uint16_t max_size);
/* The driver enables the queue: check size and ring placement. */
enum vq_err vqdev_enable(struct virtqueue_dev *q, const struct vq_mem *m, uint16_t max_size);
/*
 * Take the next available request into *c. Returns VQ_OK with c->nseg > 0,
 * VQ_OK with c->nseg == 0 when the ring is empty, or the error (the queue
 * must not be used again until the device is reset).
 */
enum vq_err vqdev_pop(struct virtqueue_dev *q, const struct vq_mem *m, struct vq_chain *c);
/* Return a request: `len` bytes were written into its device-writable buffers. */
/* Give back the last n chains taken (the device could not use them yet). */
void vqdev_unpop(struct virtqueue_dev *q, uint16_t n);
enum vq_err vqdev_push(struct virtqueue_dev *q, const struct vq_mem *m, uint16_t head,
		    uint32_t len);
/* After pushing: does the driver want an interrupt now (flags or event index)? */
bool vqdev_should_interrupt(struct virtqueue_dev *q, const struct vq_mem *m);
/* Before sleeping: tell the driver which notification we want next (event index). */
void vqdev_want_notify(struct virtqueue_dev *q, const struct vq_mem *m);
/* True if requests are waiting (reads the available index). */
bool vqdev_has_work(struct virtqueue_dev *q, const struct vq_mem *m);

/* The bytes of a chain's device-readable part [off, off+len) into buf: 0 or -EFAULT. */
int vqdev_chain_read(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, void *buf,
		  size_t len);
/* Into its device-writable part, at offset off from the first writable byte. */
int vqdev_chain_write(const struct vq_chain *c, const struct vq_mem *m, uint64_t off,
		   const void *buf, size_t len);

#endif
