UNIT_TESTS += test_vmstat_line
test_vmstat_line_SRCS := tests/unit/test_vmstat_line.c vmm/vmstat_line.c vmkernel/lib/linebuf.c \
	vmkernel/lib/fmt.c
