/*
 * The PC machine: the devices every VM gets, their ports, addresses and
 * interrupt lines (docs/guest-platform.md is the guest's view of it).
 * A device a VM's configuration turns off is not created at all, so its
 * ports read as an empty ISA bus.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <vmkernel/log.h>
#include <vmm/machine.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>

struct pc_device {
	const char *type;
	struct vdev_args args;
	bool (*wanted)(const struct vm *vm);
};

static bool serial0(const struct vm *vm)
{
	return vm->cfg.serial0_present;
}

static const struct pc_device pc_devices[] = {
	{ .type = "i8259", .args = { .name = "pic" } },
	{ .type = "ioapic", .args = { .name = "ioapic", .mmio = PC_IOAPIC_BASE } },
	{ .type = "lapic", .args = { .name = "lapic", .mmio = PC_LAPIC_BASE } },
	{ .type = "uart16550", .args = { .name = "com1", .port = PC_COM1_PORT, .irq = PC_COM1_IRQ,
					 .extra = "console" }, .wanted = serial0 },
	{ .type = "debug-exit", .args = { .name = "debug-exit", .port = PC_DEBUG_EXIT_PORT } },
	{ .type = "pc-reset", .args = { .name = "reset" } },
};

int machine_create_devices(struct vm *vm)
{
	for (unsigned i = 0; i < sizeof(pc_devices) / sizeof(pc_devices[0]); i++) {
		const struct pc_device *p = &pc_devices[i];

		if (p->wanted && !p->wanted(vm))
			continue;
		if (!vdev_create(vm, p->type, &p->args))
			return -ENODEV;
	}
	return 0;
}
