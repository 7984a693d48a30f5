# Ballooning: the balloon device's request checks, and the memory scheduler's targets.
UNIT_TESTS += test_balloon
test_balloon_SRCS := tests/unit/test_balloon.c vmm/vdev/virtio/balloon_req.c
UNIT_TESTS += test_memsched
test_memsched_SRCS := tests/unit/test_memsched.c vmm/mem/memsched_policy.c
# virtio-balloon driven through its rings in the fake VM of the device-model tests.
UNIT_TESTS += test_virtio_balloon
test_virtio_balloon_SRCS := tests/unit/test_virtio_balloon.c tests/unit/virtio_fakes.c \
	tests/unit/vdev_fakes.c vmm/vdev/bus.c vmm/vdev/irq.c vmm/vdev/lapic.c \
	vmkernel/lib/linebuf.c vmkernel/lib/fmt.c vmm/vdev/ioapic.c vmm/vdev/pci/host.c \
	vmm/vdev/pci/func.c vmm/vdev/reset.c vmm/mem/pc_layout.c vmm/vdev/virtio/pci.c \
	vmm/vdev/virtio/virtqueue.c vmm/vdev/virtio/balloon.c vmm/vdev/virtio/balloon_req.c
