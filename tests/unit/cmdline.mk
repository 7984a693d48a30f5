UNIT_TESTS += test_cmdline
test_cmdline_SRCS := tests/unit/test_cmdline.c vmkernel/cmdline.c
