/*
 * The virtual machine's platform (vmm/vdev/pc.c): which devices a VM has,
 * where, and on which interrupt lines; the guest-physical memory map that
 * goes with it. One PC-compatible machine today, modelled on what
 * software written for QEMU's PC machine expects.
 */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stdint.h>

struct vm;

/* Fixed guest-physical addresses of the PC platform. */
#define PC_IOAPIC_BASE		0xfec00000ULL
#define PC_LAPIC_BASE		0xfee00000ULL
#define PC_COM1_PORT		0x3f8
#define PC_COM1_IRQ		4
#define PC_DEBUG_EXIT_PORT	0xf4

/* Create the VM's devices from its configuration; -errno with the reason logged. */
int machine_create_devices(struct vm *vm);
/* Write the firmware's tables (BIOS data area, ACPI) into the VM's empty RAM. */
int machine_write_firmware(struct vm *vm);

#endif
