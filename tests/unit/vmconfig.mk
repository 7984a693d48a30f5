UNIT_TESTS += test_vmconfig
test_vmconfig_SRCS := tests/unit/test_vmconfig.c vmm/vmconfig.c vmm/vmconfig_disk.c vmm/vmconfig_rng.c \
	vmm/vmconfig_net.c
