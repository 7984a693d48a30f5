/*
 * The virtio 1.x PCI transport as a test guest's driver sees it (virtio v1.1
 * 4.1): finding a device's functions, mapping its capabilities (common,
 * notify, ISR and device configuration in BAR 4; the MSI-X table in BAR 1),
 * feature negotiation, queue set-up and notifications. What each device does
 * with its queues stays in its guest (virtio_blk.c, virtio_net.c).
 *
 * BARs are placed at fixed guest-physical addresses, one window per device
 * found: BAR 4 at 0xc0000000 + n * 64 KiB, BAR 1 at 0xc0800000 + n * 4 KiB.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include "guest.h"

/* device status (2.1) */
#define VIRTIO_S_ACK		1
#define VIRTIO_S_DRIVER		2
#define VIRTIO_S_DRIVER_OK	4
#define VIRTIO_S_FEATURES_OK	8
#define VIRTIO_S_NEEDS_RESET	64

/* transport feature bits (6) */
#define VIRTIO_F_INDIRECT	(1ull << 28)
#define VIRTIO_F_EVENT_IDX	(1ull << 29)
#define VIRTIO_F_VERSION_1	(1ull << 32)

/* split virtqueue descriptors (2.7.5) */
#define VQ_F_NEXT	1
#define VQ_F_WRITE	2
#define VQ_F_INDIRECT	4

struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
} __attribute__((packed));

/* common configuration structure offsets (4.1.4.3) */
#define VIRTIO_COMMON_DFSELECT	0x00
#define VIRTIO_COMMON_DF	0x04
#define VIRTIO_COMMON_GFSELECT	0x08
#define VIRTIO_COMMON_GF	0x0c
#define VIRTIO_COMMON_MSIX	0x10
#define VIRTIO_COMMON_STATUS	0x14
#define VIRTIO_COMMON_Q_SELECT	0x16
#define VIRTIO_COMMON_Q_SIZE	0x18
#define VIRTIO_COMMON_Q_MSIX	0x1a
#define VIRTIO_COMMON_Q_ENABLE	0x1c
#define VIRTIO_COMMON_Q_DESC	0x20
#define VIRTIO_COMMON_Q_AVAIL	0x28
#define VIRTIO_COMMON_Q_USED	0x30

/* PCI device IDs of the modern (1.x) functions: 0x1040 + the virtio device ID */
#define VIRTIO_PCI_NET		0x1041
#define VIRTIO_PCI_BLK		0x1042

struct virtio_pci {
	unsigned int slot;			/* bus 0, function 0 */
	volatile uint8_t *common, *isr, *devcfg, *notify;
	uint32_t mult;				/* notify_off_multiplier */
	volatile uint32_t *msix;		/* the MSI-X table, or NULL */
	uint64_t offered;			/* the device's features */
	uint64_t features;			/* what virtio_negotiate() agreed */
};

/*
 * Find the n-th function (from 0, in slot order on bus 0) with PCI device ID
 * pci_id, map its capabilities into window n, enable MSI-X and point the
 * first nvec table entries at this CPU: entry 0 with vec_config, the others
 * with vec_queue. false if there is no such function.
 */
bool virtio_pci_find(uint16_t pci_id, unsigned int n, struct virtio_pci *d, unsigned int nvec,
		     uint8_t vec_config, uint8_t vec_queue);

/* Common configuration registers. */
void virtio_w8(struct virtio_pci *d, unsigned int off, uint8_t v);
void virtio_w16(struct virtio_pci *d, unsigned int off, uint16_t v);
void virtio_w32(struct virtio_pci *d, unsigned int off, uint32_t v);
void virtio_w64(struct virtio_pci *d, unsigned int off, uint64_t v);
uint8_t virtio_status(struct virtio_pci *d);

/* Write 0 to the status and wait (briefly) for the device to read back 0. */
void virtio_reset(struct virtio_pci *d);
/*
 * ACKNOWLEDGE, DRIVER, read the offered features, write want & offered,
 * FEATURES_OK; false if the device refused them. Sets the configuration
 * vector to MSI-X entry 0.
 */
bool virtio_negotiate(struct virtio_pci *d, uint64_t want);
/* Queue qi: size, MSI-X entry, ring addresses, enabled. */
void virtio_queue_setup(struct virtio_pci *d, unsigned int qi, uint16_t size, uint16_t vector,
			uint64_t desc, uint64_t avail, uint64_t used);
void virtio_driver_ok(struct virtio_pci *d);
/* Notify queue qi (the 16-bit value written to its notify address). */
void virtio_notify(struct virtio_pci *d, unsigned int qi, uint16_t value);

#endif
