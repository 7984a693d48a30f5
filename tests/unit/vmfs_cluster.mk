UNIT_TESTS += test_vmfs_cluster
test_vmfs_cluster_SRCS := tests/unit/test_vmfs_cluster.c tests/fs/memdev.c $(wildcard fs/*.c)
