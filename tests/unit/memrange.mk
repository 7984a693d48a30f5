UNIT_TESTS += test_memrange
test_memrange_SRCS := tests/unit/test_memrange.c vmkernel/mm/memrange.c
