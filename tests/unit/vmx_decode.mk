UNIT_TESTS += test_vmx_decode
test_vmx_decode_SRCS := tests/unit/test_vmx_decode.c vmm/vmx_decode.c
