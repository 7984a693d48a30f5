UNIT_TESTS += test_vmcs_check
test_vmcs_check_SRCS := tests/unit/test_vmcs_check.c vmm/vmcs_check.c vmm/vmx_caps.c \
	vmm/vmx_decode.c
