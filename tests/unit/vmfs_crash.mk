UNIT_TESTS += test_vmfs_crash
test_vmfs_crash_SRCS := tests/unit/test_vmfs_crash.c tests/fs/memdev.c $(wildcard fs/*.c)
