UNIT_TESTS += test_vmfs_corrupt
test_vmfs_corrupt_SRCS := tests/unit/test_vmfs_corrupt.c tests/fs/memdev.c $(wildcard fs/*.c)
