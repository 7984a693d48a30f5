UNIT_TESTS += test_admission
test_admission_SRCS := tests/unit/test_admission.c vmm/admission_calc.c vmkernel/sched_policy.c vmkernel/sched_balance.c vmkernel/lib/linebuf.c \
	vmkernel/lib/fmt.c
