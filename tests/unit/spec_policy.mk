UNIT_TESTS += test_spec_policy
test_spec_policy_SRCS := tests/unit/test_spec_policy.c vmm/vmx/spec_policy.c vmkernel/lib/linebuf.c \
	vmkernel/lib/fmt.c
