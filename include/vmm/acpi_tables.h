/*
 * ACPI tables generated per VM (vmm/vdev/acpi/tables.c): RSDP, RSDT,
 * XSDT, FADT (with FACS and DSDT), MADT and MCFG describing the PC
 * machine of vmm/vdev/pc.c. Pure logic: the caller writes the blob into
 * guest memory. Host unit-tested through the vmkernel's own ACPI parser.
 */
#ifndef VMM_ACPI_TABLES_H
#define VMM_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* The guest's ACPI fixed hardware (vmm/vdev/acpi/pm.c): I/O ports and the SCI. */
#define ACPI_PM1A_EVT_PORT	0x600	/* PM1 status (2 bytes), enable (2 bytes) */
#define ACPI_PM1A_CNT_PORT	0x604	/* PM1 control (2 bytes) */
#define ACPI_PM_TMR_PORT	0x608	/* PM timer (4 bytes, 32 bits, 3.579545 MHz) */
#define ACPI_SCI_IRQ		9
#define ACPI_SLP_TYP_S5		5	/* the DSDT's \_S5 value */
#define ACPI_RESET_PORT		0xcf9
#define ACPI_RESET_VALUE	0x06

struct acpi_build_params {
	unsigned ncpus;			/* APIC IDs 0 .. ncpus-1 */
	uint64_t ioapic_base;
	uint8_t ioapic_id;
	uint64_t lapic_base;
	uint64_t ecam_base;		/* 0: no MCFG */
	uint8_t ecam_bus_end;
	uint32_t pci_mmio_base, pci_mmio_end;	/* the 32-bit BAR window [base, end) */
	uint8_t pci_intx_gsi_base;	/* PCI INTx: slot s pin p -> base + (s + p) % 4 */
	uint16_t com1_port;		/* 0: none */
	uint8_t com1_irq;
};

#define ACPI_TABLES_MAX		0x10000	/* what pc_layout reserves at the top of low RAM */
#define ACPI_RSDP_SIZE		36

/*
 * Build the tables for a blob that will sit at guest-physical tables_gpa
 * (buf, cap bytes) and the RSDP that points at them. Returns the bytes of
 * the blob used, or 0 if cap is too small.
 */
size_t acpi_build(const struct acpi_build_params *p, uint8_t *buf, size_t cap, uint64_t tables_gpa,
		  uint8_t rsdp[ACPI_RSDP_SIZE]);

#endif
