UNIT_TESTS += test_gpt
test_gpt_SRCS := tests/unit/test_gpt.c drivers/block/gpt.c
