/*
 * Split virtqueues (Virtio 1.1, 2.6). The descriptor table's free entries
 * form a list through their `next` fields. A request is a chain of
 * descriptors (device-readable first), or with indirect descriptors a
 * single descriptor pointing to a per-slot table. The device's used ring
 * is read only after its index (dma_rmb), and our avail index is
 * published only after the entries (dma_wmb). The caller serialises all
 * calls on one queue with q->lock.
 */
#include <errno.h>
#include <string.h>
#include <vmkernel/dma.h>
#include <vmkernel/kmem.h>
#include <drivers/virtio.h>

static size_t used_offset(unsigned size)
{
	size_t end = 16u * size + 6 + 2u * size;

	return (end + 4095) & ~(size_t)4095;
}

int vq_init_mem(struct virtqueue *q, unsigned size, unsigned ind_max);
int vq_init_mem(struct virtqueue *q, unsigned size, unsigned ind_max)
{
	size_t total = used_offset(size) + 6 + 8u * size;
	uint64_t pa;

	q->size = size;
	q->mem_order = dma_order(total);
	q->mem = dma_alloc(q->mem_order, DMA_LIMIT_ANY, &pa);
	q->tokens = kzalloc(sizeof(void *) * size);
	q->scratch = kmalloc(sizeof(struct vq_buf) * (ind_max ? ind_max : size));
	if (!q->mem || !q->tokens || !q->scratch)
		return -ENOMEM;
	q->desc = q->mem;
	q->avail = (struct vq_avail *)((uint8_t *)q->mem + 16u * size);
	q->used = (struct vq_used *)((uint8_t *)q->mem + used_offset(size));
	if (ind_max) {
		q->ind = dma_alloc(dma_order((uint64_t)size * ind_max * 16), DMA_LIMIT_ANY, &q->ind_pa);
		if (!q->ind)
			return -ENOMEM;
		q->ind_max = ind_max;
	}
	for (unsigned i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->free_head = 0;
	q->num_free = (uint16_t)size;
	spin_init(&q->lock, "virtqueue");
	return 0;
}

static void put_desc(struct vq_desc *d, const struct vq_buf *b, uint16_t flags)
{
	d->addr = b->addr;
	d->len = b->len;
	d->flags = flags;
}

int vq_add(struct virtqueue *q, const struct vq_buf *out, unsigned nout, const struct vq_buf *in,
	   unsigned nin, void *token)
{
	unsigned n = nout + nin, head = q->free_head;

	if (!n)
		return -EINVAL;
	if (q->indirect) {
		struct vq_desc *t;

		if (n > q->ind_max)
			return -E2BIG;
		if (!q->num_free)
			return -ENOSPC;
		t = q->ind + (size_t)head * q->ind_max;
		for (unsigned i = 0; i < n; i++) {
			bool w = i >= nout;

			put_desc(&t[i], w ? &in[i - nout] : &out[i], (uint16_t)((w ? VQ_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VQ_DESC_F_NEXT : 0)));
			t[i].next = (uint16_t)(i + 1);
		}
		q->free_head = q->desc[head].next;
		q->num_free--;
		q->desc[head].addr = q->ind_pa + (uint64_t)head * q->ind_max * 16;
		q->desc[head].len = n * 16;
		q->desc[head].flags = VQ_DESC_F_INDIRECT;
	} else {
		unsigned d = head, last = head;

		if (n > q->num_free)
			return -ENOSPC;
		for (unsigned i = 0; i < n; i++) {
			bool w = i >= nout;

			last = d;
			put_desc(&q->desc[d], w ? &in[i - nout] : &out[i],
				 (uint16_t)((w ? VQ_DESC_F_WRITE : 0) | (i + 1 < n ? VQ_DESC_F_NEXT : 0)));
			d = q->desc[d].next;
		}
		q->free_head = q->desc[last].next;
		q->num_free -= (uint16_t)n;
	}
	q->tokens[head] = token;
	q->avail->ring[q->avail_idx % q->size] = (uint16_t)head;
	dma_wmb();
	q->avail->idx = ++q->avail_idx;
	return 0;
}

void vq_kick(struct virtqueue *q)
{
	asm volatile("mfence" ::: "memory");
	*q->notify = (uint16_t)q->index;
}

/* Return a request's descriptors to the free list. */
static void free_chain(struct virtqueue *q, unsigned head)
{
	unsigned d = head, n = 1;

	while (!q->indirect && (q->desc[d].flags & VQ_DESC_F_NEXT) && n < q->size) {
		d = q->desc[d].next;
		n++;
	}
	q->desc[d].next = q->free_head;
	q->free_head = (uint16_t)head;
	q->num_free += (uint16_t)n;
}

void *vq_pop(struct virtqueue *q, uint32_t *len)
{
	struct vq_used_elem e;
	void *token;

	if (q->last_used == q->used->idx)
		return NULL;
	dma_rmb();
	e = q->used->ring[q->last_used % q->size];
	q->last_used++;
	if (e.id >= q->size || !q->tokens[e.id])
		return NULL;	/* a device bug; the slot stays used rather than corrupting the list */
	token = q->tokens[e.id];
	q->tokens[e.id] = NULL;
	free_chain(q, e.id);
	if (len)
		*len = e.len;
	return token;
}

unsigned vq_clear(struct virtqueue *q)
{
	unsigned n = 0;

	for (unsigned i = 0; i < q->size; i++) {
		n += q->tokens[i] != NULL;
		q->tokens[i] = NULL;
		q->desc[i].next = (uint16_t)(i + 1);
	}
	q->free_head = 0;
	q->num_free = (uint16_t)q->size;
	q->avail_idx = 0;
	q->last_used = 0;
	q->avail->idx = 0;
	return n;
}
