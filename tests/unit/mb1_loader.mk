UNIT_TESTS += test_mb1_loader
test_mb1_loader_SRCS := tests/unit/test_mb1_loader.c vmm/loader/mb1_loader.c
