UNIT_TESTS += test_mmio_insn
test_mmio_insn_SRCS := tests/unit/test_mmio_insn.c vmm/mmio_insn.c
