/*
 * Virtio 1.x over PCI (drivers/virtio/): the modern transport and split
 * virtqueues, shared by the virtio-blk and virtio-scsi drivers (and later
 * virtio-net). Register layouts follow the OASIS Virtio 1.1 specification
 * (4.1 PCI transport, 2.6 split virtqueues); legacy (0.9) devices are not
 * driven.
 *
 * A virtqueue is used by one driver under its own lock: vq_add() places a
 * request (device-readable buffers, then device-writable ones) with an
 * opaque token, vq_kick() tells the device, and the interrupt handler
 * calls vq_pop() until it returns NULL. When the device offers indirect
 * descriptors, every request takes one ring slot whatever its length.
 */
#ifndef VIRTIO_H
#define VIRTIO_H

#include <stdbool.h>
#include <stdint.h>
#include <drivers/virtio_hw.h>
#include <vmkernel/spinlock.h>

struct pci_dev;

/* Split virtqueue layout (2.6) */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
#define VQ_DESC_F_NEXT		1
#define VQ_DESC_F_WRITE		2
#define VQ_DESC_F_INDIRECT	4

struct vq_avail {
	uint16_t flags;
	volatile uint16_t idx;
	uint16_t ring[];
};

struct vq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vq_used {
	volatile uint16_t flags;
	volatile uint16_t idx;
	struct vq_used_elem ring[];
};

/* One buffer of a request. */
struct vq_buf {
	uint64_t addr;		/* physical */
	uint32_t len;
};

struct virtqueue {
	unsigned index;
	unsigned size;
	struct vq_desc *desc;
	struct vq_avail *avail;
	struct vq_used *used;
	volatile uint16_t *notify;
	struct spinlock lock;		/* the driver's, for everything below */
	uint16_t free_head, num_free;
	uint16_t last_used;
	uint16_t avail_idx;
	bool indirect;
	void **tokens;
	struct vq_desc *ind;		/* per-slot indirect tables (indirect only) */
	uint64_t ind_pa;
	unsigned ind_max;		/* descriptors per indirect table */
	struct vq_buf *scratch;		/* vq_max_bufs() entries for building a request (lock) */
	void *mem;			/* ring memory */
	unsigned mem_order;
};

struct virtio_dev {
	struct pci_dev *pdev;
	volatile uint8_t *common;	/* struct virtio_pci_common_cfg */
	volatile uint8_t *notify_base;
	uint32_t notify_len;
	uint32_t notify_mult;
	volatile uint8_t *isr;
	volatile uint8_t *device;	/* device-specific configuration */
	uint32_t device_len;
	uint64_t features;		/* negotiated */
	bool msix;
};

/*
 * Find the capabilities, reset the device, acknowledge it and negotiate
 * features: the device's & `wanted` (VERSION_1 is always required).
 * Returns 0 (status FEATURES_OK) or -errno with the reason logged.
 */
int virtio_pci_init(struct virtio_dev *v, struct pci_dev *d, uint64_t wanted);
bool virtio_has(const struct virtio_dev *v, unsigned feature);
unsigned virtio_num_queues(struct virtio_dev *v);
/*
 * Set up queue `index` with at most max_size entries (and indirect tables of
 * ind_max). A queue set up before (q->mem set) is reused, emptied, after a reset.
 */
int virtio_vq_setup(struct virtio_dev *v, unsigned index, unsigned max_size, unsigned ind_max,
		    int msix_vector, struct virtqueue *q);
/* Config change interrupts on MSI-X vector `vec` (VIRTIO_MSI_NO_VECTOR: none). */
int virtio_config_vector(struct virtio_dev *v, uint16_t vec);
void virtio_driver_ok(struct virtio_dev *v);
void virtio_reset(struct virtio_dev *v);
void virtio_fail(struct virtio_dev *v);
uint8_t virtio_status(struct virtio_dev *v);
/* INTx: read (and so clear) the ISR status; bit 0 queue, bit 1 config. */
uint8_t virtio_isr(struct virtio_dev *v);

uint8_t virtio_cfg8(struct virtio_dev *v, unsigned off);
uint16_t virtio_cfg16(struct virtio_dev *v, unsigned off);
uint32_t virtio_cfg32(struct virtio_dev *v, unsigned off);
uint64_t virtio_cfg64(struct virtio_dev *v, unsigned off);

/* Buffers one request may have: the indirect table's size, else the ring's. */
static inline unsigned vq_max_bufs(const struct virtqueue *q)
{
	return q->indirect ? q->ind_max : q->size;
}

/*
 * Queue use (caller holds q->lock). A driver may build a request's buffer
 * list in q->scratch (vq_max_bufs(q) entries) under the lock, rather than
 * on its stack.
 */
int vq_add(struct virtqueue *q, const struct vq_buf *out, unsigned nout, const struct vq_buf *in,
	   unsigned nin, void *token);
void vq_kick(struct virtqueue *q);
/* The next finished request's token (and bytes written by the device), or NULL. */
void *vq_pop(struct virtqueue *q, uint32_t *len);
/* Forget every request (the device was reset); returns how many there were. */
unsigned vq_clear(struct virtqueue *q);

#endif
