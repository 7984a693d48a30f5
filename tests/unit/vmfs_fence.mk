UNIT_TESTS += test_vmfs_fence
test_vmfs_fence_SRCS := tests/unit/test_vmfs_fence.c tests/fs/memdev.c $(wildcard fs/*.c)
