UNIT_TESTS += test_cr_flush
test_cr_flush_SRCS := tests/unit/test_cr_flush.c vmm/exit/vmx_decode.c
