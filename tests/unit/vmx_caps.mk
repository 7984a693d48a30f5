UNIT_TESTS += test_vmx_caps
test_vmx_caps_SRCS := tests/unit/test_vmx_caps.c vmm/vmx/vmx_caps.c
test_vmx_caps_SRCS += vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
