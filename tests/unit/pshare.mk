UNIT_TESTS += test_pshare
test_pshare_SRCS := tests/unit/test_pshare.c vmm/mem/pshare.c vmm/mem/ept.c vmkernel/mm/pgtable.c \
	tests/unit/fake_pool.c vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
