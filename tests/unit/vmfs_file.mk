UNIT_TESTS += test_vmfs_file
test_vmfs_file_SRCS := tests/unit/test_vmfs_file.c tests/fs/memdev.c $(wildcard fs/*.c)
