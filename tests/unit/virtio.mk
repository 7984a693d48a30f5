# virtio device models: the split-virtqueue walker against a fake guest memory.
UNIT_TESTS += test_virtqueue
test_virtqueue_SRCS := tests/unit/test_virtqueue.c vmm/vdev/virtio/virtqueue.c
# The VMDK-backed virtual disk on a VMFS volume in memory.
UNIT_TESTS += test_vdisk
test_vdisk_SRCS := tests/unit/test_vdisk.c vmm/vdev/vdisk.c tests/fs/memdev.c $(wildcard fs/*.c)
# The virtio PCI transport at register level, in the fake VM of the device-model tests.
UNIT_TESTS += test_virtio_pci
test_virtio_pci_SRCS := tests/unit/test_virtio_pci.c tests/unit/virtio_fakes.c tests/unit/vdev_fakes.c vmm/vdev/bus.c \
	vmm/vdev/irq.c vmm/vdev/lapic.c vmkernel/lib/linebuf.c vmkernel/lib/fmt.c \
	vmm/vdev/ioapic.c vmm/vdev/pci/host.c vmm/vdev/pci/func.c vmm/vdev/reset.c \
	vmm/mem/pc_layout.c vmm/vdev/virtio/pci.c vmm/vdev/virtio/virtqueue.c
# virtio-blk on a VMDK of an in-memory VMFS volume, driven through its rings.
UNIT_TESTS += test_virtio_blk
test_virtio_blk_SRCS := tests/unit/test_virtio_blk.c tests/unit/virtio_fakes.c \
	tests/unit/vdev_fakes.c vmm/vdev/bus.c vmm/vdev/irq.c vmm/vdev/lapic.c \
	vmkernel/lib/linebuf.c vmkernel/lib/fmt.c vmm/vdev/ioapic.c vmm/vdev/pci/host.c \
	vmm/vdev/pci/func.c vmm/vdev/reset.c vmm/mem/pc_layout.c vmm/vdev/virtio/pci.c \
	vmm/vdev/virtio/virtqueue.c vmm/vdev/virtio/blk.c vmm/vdev/vdisk.c tests/fs/memdev.c \
	$(wildcard fs/*.c)
# virtio-rng: buffers filled from the entropy source, the rate limit, a hostile driver.
UNIT_TESTS += test_virtio_rng
test_virtio_rng_SRCS := tests/unit/test_virtio_rng.c tests/unit/virtio_fakes.c \
	tests/unit/vdev_fakes.c vmm/vdev/bus.c vmm/vdev/irq.c vmm/vdev/lapic.c \
	vmkernel/lib/linebuf.c vmkernel/lib/fmt.c vmm/vdev/ioapic.c vmm/vdev/pci/host.c \
	vmm/vdev/pci/func.c vmm/vdev/reset.c vmm/mem/pc_layout.c vmm/vdev/virtio/pci.c \
	vmm/vdev/virtio/virtqueue.c vmm/vdev/virtio/rng.c

# virtio-net: two NICs of one VM on a real virtual switch, driven through their rings.
UNIT_TESTS += test_virtio_net
test_virtio_net_SRCS := tests/unit/test_virtio_net.c tests/unit/virtio_fakes.c \
	tests/unit/vdev_fakes.c vmm/vdev/bus.c vmm/vdev/irq.c vmm/vdev/lapic.c \
	vmkernel/lib/linebuf.c vmkernel/lib/fmt.c vmm/vdev/ioapic.c vmm/vdev/pci/host.c \
	vmm/vdev/pci/func.c vmm/vdev/reset.c vmm/mem/pc_layout.c vmm/vdev/virtio/pci.c \
	vmm/vdev/virtio/virtqueue.c vmm/vdev/virtio/net.c drivers/net/vswitch.c \
	drivers/net/vswitch_fdb.c drivers/net/vswitch_frame.c
