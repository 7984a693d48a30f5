UNIT_TESTS += test_gwalk
test_gwalk_SRCS := tests/unit/test_gwalk.c vmm/mem/gwalk.c
