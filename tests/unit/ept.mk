UNIT_TESTS += test_ept
test_ept_SRCS := tests/unit/test_ept.c vmm/mem/ept.c vmkernel/mm/pgtable.c tests/unit/fake_pool.c
test_ept_SRCS += vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
