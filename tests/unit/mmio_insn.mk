UNIT_TESTS += test_mmio_insn
test_mmio_insn_SRCS := tests/unit/test_mmio_insn.c vmm/exit/mmio_insn.c
