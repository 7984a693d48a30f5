UNIT_TESTS += test_vmx_decode
test_vmx_decode_SRCS := tests/unit/test_vmx_decode.c vmm/exit/vmx_decode.c
