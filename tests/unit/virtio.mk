# virtio device models: the split-virtqueue walker against a fake guest memory.
UNIT_TESTS += test_virtqueue
test_virtqueue_SRCS := tests/unit/test_virtqueue.c vmm/vdev/virtio/virtqueue.c
