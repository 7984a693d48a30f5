UNIT_TESTS += test_swap_slots
test_swap_slots_SRCS := tests/unit/test_swap_slots.c vmm/mem/swap_slots.c
