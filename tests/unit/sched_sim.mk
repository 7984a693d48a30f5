UNIT_TESTS += test_sched_sim
test_sched_sim_SRCS := tests/unit/test_sched_sim.c vmkernel/sched_policy.c vmkernel/sched_balance.c vmm/admission_calc.c \
	vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
