/*
 * The virtio PCI transport shared by the virtio device models
 * (vmm/vdev/virtio/pci.c): a device type (blk today; net, rng, balloon
 * later) embeds struct virtio_dev first, fills in virtio_dev_ops and its
 * identity, and calls virtio_dev_create(). The transport owns the PCI
 * function, the capabilities, feature negotiation, the device status and
 * reset, the queues' registers and rings (virtqueue.h), MSI-X/INTx, and
 * the I/O world the device's work runs in.
 *
 * Threads of control: register accesses come on vCPU worlds; a queue
 * notification only records the queue and wakes the device's I/O world,
 * which calls ops->process() with io_lock held. A reset by the driver
 * takes io_lock too, so it waits for the request being worked on and
 * the device never touches rings the driver has taken back.
 *
 * Lock order: io_lock (a mutex), then lock (a spinlock), then the PCI
 * function's lock (inside vpci_notify).
 */
#ifndef VMM_VDEV_VIRTIO_PRIV_H
#define VMM_VDEV_VIRTIO_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <drivers/virtio_hw.h>
#include <vmkernel/mutex.h>
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>
#include <vmm/virtqueue.h>
#include <vmm/vpci.h>

/* Device-side virtio 1.x constants (OASIS virtio v1.1: 4.1.4 PCI capabilities); status and
 * feature bits are in <drivers/virtio_hw.h> */
#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_BASE		0x1040	/* + device type: a modern-only device */
#define VIRTIO_ID_NET			1
#define VIRTIO_ID_BLOCK			2
#define VIRTIO_ID_RNG			4
/* VIRTIO_ID_BALLOON (5) is in <vmm/balloon.h> */

#define VIRTIO_PCI_CAP_VENDOR		0x09	/* PCI capability ID: vendor-specific */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4

/* Common configuration structure (4.1.4.3), offsets */
#define VIRTIO_COMMON_DFSELECT		0x00
#define VIRTIO_COMMON_DF		0x04
#define VIRTIO_COMMON_GFSELECT		0x08
#define VIRTIO_COMMON_GF		0x0c
#define VIRTIO_COMMON_MSIX		0x10
#define VIRTIO_COMMON_NUMQ		0x12
#define VIRTIO_COMMON_STATUS		0x14
#define VIRTIO_COMMON_CFGGEN		0x15
#define VIRTIO_COMMON_Q_SELECT		0x16
#define VIRTIO_COMMON_Q_SIZE		0x18
#define VIRTIO_COMMON_Q_MSIX		0x1a
#define VIRTIO_COMMON_Q_ENABLE		0x1c
#define VIRTIO_COMMON_Q_NOFF		0x1e
#define VIRTIO_COMMON_Q_DESC		0x20
#define VIRTIO_COMMON_Q_AVAIL		0x28
#define VIRTIO_COMMON_Q_USED		0x30
#define VIRTIO_COMMON_SIZE		0x38

/* Where the transport puts its structures in the device's BAR */
#define VIRTIO_BAR			4	/* 64-bit memory BAR (4 and 5) */
#define VIRTIO_MSIX_BAR			1
#define VIRTIO_BAR_SIZE			0x4000
#define VIRTIO_COMMON_AT		0x0000
#define VIRTIO_ISR_AT			0x1000
#define VIRTIO_DEVICE_AT		0x2000
#define VIRTIO_NOTIFY_AT		0x3000
#define VIRTIO_NOTIFY_MULT		4	/* bytes between queues' notify addresses */
#define VIRTIO_DEVICE_CFG_MAX		0x100

#define VIRTIO_MAX_QUEUES		8

struct virtio_dev;

struct virtio_dev_ops {
	/* Device configuration space (little-endian) into buf; off + len <= cfg_size. */
	void (*cfg_read)(struct virtio_dev *vd, unsigned off, void *buf, unsigned len);
	/* The driver writes len bytes (little-endian) at off of it; optional (else read-only). */
	void (*cfg_write)(struct virtio_dev *vd, unsigned off, const void *buf, unsigned len);
	/*
	 * On the I/O world, io_lock held, the device live (DRIVER_OK, not broken):
	 * work on the queues whose bits are set. Errors go to virtio_needs_reset().
	 */
	void (*process)(struct virtio_dev *vd, uint32_t queues);
	/* Device-specific state back to power-on (io_lock held); optional. */
	void (*reset)(struct virtio_dev *vd);
	/* Free the backend (the I/O world has ended); optional. */
	void (*destroy)(struct virtio_dev *vd);
};

struct virtio_dev {
	struct vdev dev;		/* first: the device bus's view */
	struct vpci_func f;
	const struct virtio_dev_ops *ops;
	const char *kind;		/* "virtio-blk", for messages */
	uint64_t host_features;		/* offered, fixed at create */
	unsigned cfg_size;		/* bytes of device configuration */
	unsigned nqueues;
	uint16_t qmax;			/* queue size offered */
	unsigned max_segs;		/* buffers per request the device takes */
	/*
	 * A notification of an enabled queue after FEATURES_OK and before
	 * DRIVER_OK is kept for DRIVER_OK instead of breaking the device. The
	 * specification (3.1.1) forbids it, but Linux's virtio_balloon posts its
	 * statistics buffer and notifies before it sets DRIVER_OK.
	 */
	bool early_notify;
	struct vq_mem mem;		/* guest memory, as the walker reaches it */

	struct mutex io_lock;		/* held while the device works on its rings */
	struct spinlock lock;		/* the registers below */
	uint64_t guest_features;	/* lock */
	uint32_t dfselect, gfselect;	/* lock */
	uint8_t status;			/* lock (read without it by the I/O world) */
	uint8_t config_gen;		/* lock */
	uint16_t msix_config;		/* lock */
	uint16_t queue_sel;		/* lock */
	struct virtqueue_dev vq[VIRTIO_MAX_QUEUES];	/* lock for set-up; io_lock once live */
	uint8_t isr;			/* atomic: bit 0 queue, bit 1 configuration */

	struct world *io_world;		/* started at the first DRIVER_OK */
	uint32_t kicks;			/* atomic: queues notified and not yet taken */
	volatile bool io_stop, io_done;
	uint64_t notifies, interrupts, requests;	/* statistics (atomic) */
};

/* Set up the transport for a device whose type filled in the fields above `io_lock`. */
int virtio_dev_create(struct virtio_dev *vd, uint16_t device_id, uint32_t pci_class);
void virtio_dev_reset(struct vdev *d);
void virtio_dev_destroy(struct vdev *d);
/* The guest broke the device's rules: NEEDS_RESET, a log line naming why, no more work. */
void virtio_needs_reset(struct virtio_dev *vd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool virtio_live(const struct virtio_dev *vd);
bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit);
/*
 * Work for queue q that did not come from the driver (a frame arrived for
 * a NIC): wakes the I/O world if it runs. Any context, interrupts off too.
 */
void virtio_kick(struct virtio_dev *vd, unsigned q);
/* The device configuration changed: new generation, configuration interrupt if live. */
void virtio_config_changed(struct virtio_dev *vd);
/* A used buffer on queue q: interrupt if the driver wants one now. */
void virtio_queue_done(struct virtio_dev *vd, unsigned q);

#endif
