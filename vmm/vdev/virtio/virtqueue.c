/*
 * Split virtqueues, device side (virtio 1.x, 2.7): taking requests out of
 * the available ring, putting them back in the used ring, and deciding
 * when the driver wants an interrupt (flags or event index, 2.7.7-2.7.10).
 *
 * Everything the guest wrote is read once into host memory and checked
 * there; see include/vmm/virtqueue.h for the list of what is refused.
 * A chain is walked with a visit count: a chain that visits more
 * descriptors than its table holds must revisit one, so loops end with
 * VQ_ERR_LOOP after at most one pass over the table. An indirect table is
 * taken only from a chain's head descriptor, only when the driver
 * accepted VIRTIO_F_INDIRECT_DESC, and never inside another.
 *
 * Ring layout (2.7): the descriptor table (16-byte entries, 16-byte
 * aligned); the available ring (flags, idx, ring[size], used_event; 2-byte
 * aligned); the used ring (flags, idx, {id, len}[size], avail_event;
 * 4-byte aligned). All little-endian, as the host is.
 */
#include <errno.h>
#include <string.h>
#include <vmm/virtqueue.h>

#define AVAIL_IDX	2
#define AVAIL_RING	4
#define USED_IDX	2
#define USED_RING	4
#define DESC_SIZE	16

struct vq_desc_raw {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
} __attribute__((packed));
_Static_assert(sizeof(struct vq_desc_raw) == DESC_SIZE, "virtq_desc layout (2.7.5)");

static const char *const err_names[VQ_ERR_COUNT] = {
	[VQ_OK] = "no error",
	[VQ_ERR_SIZE] = "queue size is zero, too large or not a power of two",
	[VQ_ERR_RING_ADDR] = "ring misaligned or outside guest RAM",
	[VQ_ERR_AVAIL_IDX] = "available index ran more than a ring ahead",
	[VQ_ERR_HEAD] = "head descriptor index outside the ring",
	[VQ_ERR_NEXT] = "next descriptor index outside the table",
	[VQ_ERR_LOOP] = "descriptor chain longer than its table (a loop)",
	[VQ_ERR_TOO_MANY] = "more buffers in one request than the device takes",
	[VQ_ERR_BUF_ADDR] = "buffer outside guest RAM (or in MMIO, or wrapping)",
	[VQ_ERR_LEN] = "buffer lengths add up past 4 GiB",
	[VQ_ERR_INDIRECT] = "bad indirect descriptor (not negotiated, nested, not at the head, "
			    "with NEXT, or a bad table length)",
	[VQ_ERR_ORDER] = "device-readable buffer after a device-writable one",
	[VQ_ERR_MEM] = "ring not readable or writable",
};

const char *vqdev_err_name(enum vq_err e)
{
	return (unsigned)e < VQ_ERR_COUNT ? err_names[e] : "unknown error";
}

static uint64_t avail_size(uint16_t n)
{
	return AVAIL_RING + 2ull * n + 2;
}

static uint64_t used_size(uint16_t n)
{
	return USED_RING + 8ull * n + 2;
}

void vqdev_reset(struct virtqueue_dev *q, uint16_t max_size)
{
	unsigned segs = q->max_segs;

	memset(q, 0, sizeof(*q));
	q->size = max_size;
	q->msix_vector = 0xffff;
	q->max_segs = segs && segs <= VQ_MAX_SEGS ? segs : VQ_MAX_SEGS;
}

static bool in_ram(const struct vq_mem *m, uint64_t gpa, uint64_t len)
{
	return gpa + len >= gpa && m->is_ram(m->ctx, gpa, len);
}

enum vq_err vqdev_enable(struct virtqueue_dev *q, const struct vq_mem *m, uint16_t max_size)
{
	uint16_t n = q->size;

	if (!n || n > max_size || n > VQ_MAX_SIZE || (n & (n - 1)))
		return VQ_ERR_SIZE;
	if ((q->desc & 15) || (q->avail & 1) || (q->used & 3) ||
	    !in_ram(m, q->desc, (uint64_t)DESC_SIZE * n) || !in_ram(m, q->avail, avail_size(n)) ||
	    !in_ram(m, q->used, used_size(n)))
		return VQ_ERR_RING_ADDR;
	q->last_avail = q->used_idx = q->signalled_used = 0;
	q->signalled_valid = false;
	q->enabled = true;
	return VQ_OK;
}

static int rd16(const struct vq_mem *m, uint64_t gpa, uint16_t *v)
{
	return m->read(m->ctx, gpa, v, 2);
}

static int wr16(const struct vq_mem *m, uint64_t gpa, uint16_t v)
{
	return m->write(m->ctx, gpa, &v, 2);
}

/* One descriptor of a chain: checks and records it. */
static enum vq_err take_seg(struct virtqueue_dev *q, const struct vq_mem *m,
			    const struct vq_desc_raw *d, struct vq_chain *c)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;

	if (!in_ram(m, d->addr, d->len))
		return VQ_ERR_BUF_ADDR;
	if (!write && c->nout != c->nseg)
		return VQ_ERR_ORDER;
	if (c->nseg >= q->max_segs)
		return VQ_ERR_TOO_MANY;
	c->seg[c->nseg++] = (struct vq_seg){ .gpa = d->addr, .len = d->len, .write = write };
	if (write)
		c->in_len += d->len;
	else
		c->out_len += d->len, c->nout++;
	if (c->in_len + c->out_len > UINT32_MAX)
		return VQ_ERR_LEN;
	return VQ_OK;
}

/* Walk the chain starting at head into c. */
static enum vq_err walk(struct virtqueue_dev *q, const struct vq_mem *m, uint16_t head,
			struct vq_chain *c)
{
	uint64_t table = q->desc;
	unsigned tsize = q->size, visited = 0, idx = head;
	bool indirect = false;
	struct vq_desc_raw d;
	enum vq_err e;

	for (;;) {
		if (++visited > tsize)
			return VQ_ERR_LOOP;
		if (m->read(m->ctx, table + (uint64_t)DESC_SIZE * idx, &d, sizeof(d)))
			return VQ_ERR_MEM;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (!q->indirect || indirect || visited != 1 ||
			    (d.flags & VIRTQ_DESC_F_NEXT) || !d.len || d.len % DESC_SIZE ||
			    d.len / DESC_SIZE > VQ_MAX_SIZE)
				return VQ_ERR_INDIRECT;
			if (!in_ram(m, d.addr, d.len) || (d.addr & 15))
				return VQ_ERR_BUF_ADDR;
			table = d.addr;
			tsize = d.len / DESC_SIZE;
			indirect = true;
			visited = 0;
			idx = 0;
			continue;
		}
		e = take_seg(q, m, &d, c);
		if (e)
			return e;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return VQ_OK;
		idx = d.next;
		if (idx >= tsize)
			return VQ_ERR_NEXT;
	}
}

enum vq_err vqdev_pop(struct virtqueue_dev *q, const struct vq_mem *m, struct vq_chain *c)
{
	uint16_t aidx, head;
	enum vq_err e;

	c->nseg = c->nout = 0;
	c->out_len = c->in_len = 0;
	if (rd16(m, q->avail + AVAIL_IDX, &aidx))
		return VQ_ERR_MEM;
	if ((uint16_t)(aidx - q->last_avail) > q->size)
		return VQ_ERR_AVAIL_IDX;
	if (aidx == q->last_avail)
		return VQ_OK;
	/* the ring entry is read only after the index that published it */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (rd16(m, q->avail + AVAIL_RING + 2ull * (q->last_avail & (q->size - 1)), &head))
		return VQ_ERR_MEM;
	if (head >= q->size)
		return VQ_ERR_HEAD;
	c->head = head;
	e = walk(q, m, head, c);
	if (e) {
		c->nseg = 0;
		return e;
	}
	q->last_avail++;
	return VQ_OK;
}

void vqdev_unpop(struct virtqueue_dev *q, uint16_t n)
{
	q->last_avail = (uint16_t)(q->last_avail - n);
}

enum vq_err vqdev_push(struct virtqueue_dev *q, const struct vq_mem *m, uint16_t head, uint32_t len)
{
	uint32_t elem[2] = { head, len };
	uint64_t at = q->used + USED_RING + 8ull * (q->used_idx & (q->size - 1));

	if (m->write(m->ctx, at, elem, sizeof(elem)))
		return VQ_ERR_MEM;
	/* the element is visible before the index that publishes it */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->used_idx++;
	if (wr16(m, q->used + USED_IDX, q->used_idx))
		return VQ_ERR_MEM;
	return VQ_OK;
}

bool vqdev_should_interrupt(struct virtqueue_dev *q, const struct vq_mem *m)
{
	uint16_t old = q->signalled_used, now = q->used_idx, v;
	bool valid = q->signalled_valid;

	/* our used index is written before we read what the driver asked for */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!q->event_idx) {
		if (rd16(m, q->avail, &v))
			return true;
		return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	q->signalled_used = now;
	q->signalled_valid = true;
	if (!valid)
		return true;
	if (rd16(m, q->avail + AVAIL_RING + 2ull * q->size, &v))	/* used_event */
		return true;
	return (uint16_t)(now - v - 1) < (uint16_t)(now - old);
}

void vqdev_want_notify(struct virtqueue_dev *q, const struct vq_mem *m)
{
	if (q->event_idx)	/* avail_event: notify us once past what we have taken */
		wr16(m, q->used + USED_RING + 8ull * q->size, q->last_avail);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

bool vqdev_has_work(struct virtqueue_dev *q, const struct vq_mem *m)
{
	uint16_t aidx;

	if (!q->enabled || rd16(m, q->avail + AVAIL_IDX, &aidx))
		return false;
	return aidx != q->last_avail;
}

/* Copy between buf and the chain's readable (write == false) or writable part. */
static int chain_copy(const struct vq_chain *c, const struct vq_mem *m, bool write, uint64_t off,
		      void *buf, size_t len)
{
	uint8_t *p = buf;

	for (unsigned i = write ? c->nout : 0; len && i < (write ? c->nseg : c->nout); i++) {
		const struct vq_seg *s = &c->seg[i];
		uint64_t n;
		int err;

		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off < len ? s->len - off : len;
		if (write)
			err = m->write(m->ctx, s->gpa + off, p, n);
		else
			err = m->read(m->ctx, s->gpa + off, p, n);
		if (err)
			return err;
		p += n;
		len -= n;
		off = 0;
	}
	return len ? -EFAULT : 0;
}

int vqdev_chain_read(const struct vq_chain *c, const struct vq_mem *m, uint64_t off, void *buf,
		  size_t len)
{
	return chain_copy(c, m, false, off, buf, len);
}

int vqdev_chain_write(const struct vq_chain *c, const struct vq_mem *m, uint64_t off,
		   const void *buf, size_t len)
{
	return chain_copy(c, m, true, off, (void *)buf, len);
}
