# virtio device models: the split-virtqueue walker against a fake guest memory.
UNIT_TESTS += test_virtqueue
test_virtqueue_SRCS := tests/unit/test_virtqueue.c vmm/vdev/virtio/virtqueue.c
# The VMDK-backed virtual disk on a VMFS volume in memory.
UNIT_TESTS += test_vdisk
test_vdisk_SRCS := tests/unit/test_vdisk.c vmm/vdev/vdisk.c tests/fs/memdev.c $(wildcard fs/*.c)
