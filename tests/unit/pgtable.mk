UNIT_TESTS += test_pgtable
test_pgtable_SRCS := tests/unit/test_pgtable.c vmkernel/mm/pgtable.c tests/unit/fake_pool.c
