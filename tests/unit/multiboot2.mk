UNIT_TESTS += test_multiboot2
test_multiboot2_SRCS := tests/unit/test_multiboot2.c vmkernel/multiboot2.c
test_multiboot2_SRCS += vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
