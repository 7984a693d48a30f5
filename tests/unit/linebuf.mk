UNIT_TESTS += test_linebuf
test_linebuf_SRCS := tests/unit/test_linebuf.c vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
