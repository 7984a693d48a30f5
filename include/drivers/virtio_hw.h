/*
 * Virtio 1.x constants both sides use: the vmkernel's virtio drivers
 * (drivers/virtio/) and the VMM's virtio device models (vmm/vdev/virtio/).
 * OASIS Virtio 1.1: 2.1 device status, 6 reserved feature bits, 4.1.4.3
 * the MSI-X "no vector" value.
 */
#ifndef DRIVERS_VIRTIO_HW_H
#define DRIVERS_VIRTIO_HW_H

/* Device status (2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

/* Transport feature bits (6) */
#define VIRTIO_F_INDIRECT_DESC		28
#define VIRTIO_F_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32
#define VIRTIO_F_ACCESS_PLATFORM	33

#define VIRTIO_MSI_NO_VECTOR		0xffff

#endif
