# Device models on the host: the real vmm/vdev/ files in a fake VM environment.
VDEV_CORE := tests/unit/vdev_fakes.c vmm/vdev/bus.c vmm/vdev/irq.c vmm/vdev/lapic.c
UNIT_TESTS += test_vdev_bus
test_vdev_bus_SRCS := tests/unit/test_vdev_bus.c $(VDEV_CORE)
