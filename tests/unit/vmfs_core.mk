UNIT_TESTS += test_vmfs_core
test_vmfs_core_SRCS := tests/unit/test_vmfs_core.c tests/fs/memdev.c $(wildcard fs/*.c)
