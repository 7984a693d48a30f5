# Device models on the host: the real vmm/vdev/ files in a fake VM environment.
VDEV_CORE := tests/unit/vdev_fakes.c vmm/vdev/bus.c vmm/vdev/irq.c vmm/vdev/lapic.c \
	vmkernel/lib/linebuf.c vmkernel/lib/fmt.c
UNIT_TESTS += test_vdev_bus
test_vdev_bus_SRCS := tests/unit/test_vdev_bus.c $(VDEV_CORE)
UNIT_TESTS += test_vdev_pic
test_vdev_pic_SRCS := tests/unit/test_vdev_pic.c $(VDEV_CORE) vmm/vdev/pic.c
UNIT_TESTS += test_vdev_timers
test_vdev_timers_SRCS := tests/unit/test_vdev_timers.c $(VDEV_CORE) vmm/vdev/pit.c \
	vmm/vdev/ioapic.c vmm/vdev/rtc.c vmm/vdev/acpi/pm.c vmkernel/lib/caltime.c
UNIT_TESTS += test_acpi_build
test_acpi_build_SRCS := tests/unit/test_acpi_build.c vmm/vdev/acpi/tables.c vmm/vdev/acpi/aml.c \
	vmm/mem/pc_layout.c vmkernel/acpi.c
UNIT_TESTS += test_vdev_pci
test_vdev_pci_SRCS := tests/unit/test_vdev_pci.c $(VDEV_CORE) vmm/vdev/ioapic.c vmm/vdev/pic.c \
	vmm/vdev/pci/host.c vmm/vdev/pci/func.c vmm/vdev/pci/testdev.c vmm/vdev/fw_cfg.c \
	vmm/vdev/uart16550.c vmm/vdev/reset.c vmm/mem/pc_layout.c
UNIT_TESTS += test_vdev_lapic
test_vdev_lapic_SRCS := tests/unit/test_vdev_lapic.c $(VDEV_CORE)
