UNIT_TESTS += test_acpi
test_acpi_SRCS := tests/unit/test_acpi.c vmkernel/acpi.c
