UNIT_TESTS += test_logring
test_logring_SRCS := tests/unit/test_logring.c vmkernel/lib/logring.c
