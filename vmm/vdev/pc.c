/*
 * The PC machine: the devices every VM gets, their ports, addresses and
 * interrupt lines (docs/guest-platform.md is the guest's view of it).
 * A device a VM's configuration turns off is not created at all, so its
 * ports read as an empty ISA bus.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmm/acpi_tables.h>
#include <vmm/guest_mem.h>
#include <vmm/machine.h>
#include <vmm/pc_layout.h>
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

static bool pci_testdev(const struct vm *vm)
{
	return vm->cfg.test_pcidev;
}

static const struct pc_device pc_devices[] = {
	{ .type = "i8259", .args = { .name = "pic" } },
	{ .type = "ioapic", .args = { .name = "ioapic", .mmio = PC_IOAPIC_BASE } },
	{ .type = "lapic", .args = { .name = "lapic", .mmio = PC_LAPIC_BASE } },
	{ .type = "uart16550", .args = { .name = "com1", .port = PC_COM1_PORT, .irq = PC_COM1_IRQ,
					 .extra = "console" }, .wanted = serial0 },
	{ .type = "i8254", .args = { .name = "pit" } },
	{ .type = "mc146818", .args = { .name = "rtc" } },
	{ .type = "acpi-pm", .args = { .name = "acpi" } },
	{ .type = "pci-host", .args = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE } },
	{ .type = "fw_cfg", .args = { .name = "fw_cfg", .port = 0x510 } },
	{ .type = "pci-testdev", .args = { .name = "testdev", .irq = 3 }, .wanted = pci_testdev },
	{ .type = "debug-exit", .args = { .name = "debug-exit", .port = PC_DEBUG_EXIT_PORT } },
	{ .type = "pc-reset", .args = { .name = "reset" } },
};

/* The configuration's disks: one virtio-blk PCI device each (slots from 4 up). */
static int create_disks(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg.ndisks; i++) {
		const struct vmconfig_disk *c = &vm->cfg.disks[i];
		char name[16];
		struct vdev_args a = { .name = name, .extra = c };

		snprintf(name, sizeof(name), "scsi%u:%u", c->bus, c->unit);
		if (!vdev_create(vm, "virtio-blk", &a))
			return -ENODEV;
	}
	return 0;
}

/* rng0.present: the entropy device (docs/guest-platform.md). */
static int create_rng(struct vm *vm)
{
	struct vdev_args a = { .name = "rng0", .extra = &vm->cfg.rng };

	if (!vm->cfg.rng.present)
		return 0;
	return vdev_create(vm, "virtio-rng", &a) ? 0 : -ENODEV;
}

/* balloon0.present: the memory balloon (docs/resource-manager.md, Ballooning). */
static int create_balloon(struct vm *vm)
{
	struct vdev_args a = { .name = "balloon0", .extra = &vm->cfg };

	if (!vm->cfg.balloon)
		return 0;
	return vdev_create(vm, "virtio-balloon", &a) ? 0 : -ENODEV;
}

/* The configuration's NICs: one virtio-net PCI device each, a port on its port group. */
static int create_nics(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg.nnics; i++) {
		const struct vmconfig_nic *c = &vm->cfg.nics[i];
		char name[16];
		struct vdev_args a = { .name = name, .extra = c };

		snprintf(name, sizeof(name), "ethernet%u", c->index);
		if (!vdev_create(vm, "virtio-net", &a))
			return -ENODEV;
	}
	return 0;
}

int machine_create_devices(struct vm *vm)
{
	for (unsigned i = 0; i < sizeof(pc_devices) / sizeof(pc_devices[0]); i++) {
		const struct pc_device *p = &pc_devices[i];

		if (p->wanted && !p->wanted(vm))
			continue;
		if (!vdev_create(vm, p->type, &p->args))
			return -ENODEV;
	}
	if (create_disks(vm) || create_nics(vm) || create_balloon(vm))
		return -ENODEV;
	return create_rng(vm);
}

/*
 * What a PC's firmware leaves in memory for the OS: the BIOS data area's
 * EBDA pointer and base memory size, and the ACPI tables (at the top of
 * low RAM) with their RSDP in the EBDA, where a BIOS-area scan finds it.
 * Guest RAM is empty before this runs (at VM start and after a restart).
 */
int machine_write_firmware(struct vm *vm)
{
	const struct acpi_build_params p = {
		.ncpus = vm->nvcpus, .ioapic_base = PC_IOAPIC_BASE, .ioapic_id = 0,
		.lapic_base = PC_LAPIC_BASE, .ecam_base = PC_ECAM_BASE,
		.ecam_bus_end = (uint8_t)((PC_ECAM_SIZE >> 20) - 1),
		.pci_mmio_base = (uint32_t)PC_PCI_MMIO_BASE, .pci_mmio_end = (uint32_t)PC_PCI_MMIO_END,
		.pci_intx_gsi_base = 16,
		.com1_port = vm->cfg.serial0_present ? PC_COM1_PORT : 0, .com1_irq = PC_COM1_IRQ,
	};
	const uint16_t bda_ebda = (uint16_t)(PC_EBDA_BASE >> 4), bda_base_kib = PC_EBDA_BASE >> 10;
	uint8_t rsdp[ACPI_RSDP_SIZE], *blob = kzalloc(ACPI_TABLES_MAX);
	uint64_t at = pc_acpi_base(vm->ram_size);
	size_t len;
	int err;

	if (!blob)
		return -ENOMEM;
	len = acpi_build(&p, blob, ACPI_TABLES_MAX, at, rsdp);
	err = len ? 0 : -E2BIG;
	if (!err)
		err = guest_write(vm, at, blob, len);
	if (!err)
		err = guest_write(vm, PC_EBDA_BASE, rsdp, sizeof(rsdp));
	if (!err)
		err = guest_write(vm, 0x40e, &bda_ebda, 2);
	if (!err)
		err = guest_write(vm, 0x413, &bda_base_kib, 2);
	kfree(blob);
	return err;
}
