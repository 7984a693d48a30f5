UNIT_TESTS += test_pci
test_pci_SRCS := tests/unit/test_pci.c drivers/pci/pci_parse.c
