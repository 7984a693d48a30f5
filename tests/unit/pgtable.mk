UNIT_TESTS += test_pgtable
test_pgtable_SRCS := tests/unit/test_pgtable.c vmkernel/mm/pgtable.c tests/unit/fake_pool.c
test_pgtable_SRCS += vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
