UNIT_TESTS += test_linux_boot
test_linux_boot_SRCS := tests/unit/test_linux_boot.c vmm/loader/linux_boot.c vmm/mem/pc_layout.c
