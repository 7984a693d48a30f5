/*
 * The guest-physical memory map of the PC machine (vmm/mem/pc_layout.c):
 * pure functions of the VM's RAM size, shared by guest memory, the
 * loaders (E820 map, multiboot memory map), ACPI and fw_cfg.
 *
 *   0            - 0x9fc00       RAM
 *   0x9fc00      - 0xa0000       EBDA (reserved: the ACPI RSDP lives here)
 *   0xa0000      - 0x100000      legacy VGA and BIOS area: not RAM, reads as zeros
 *   0x100000     - low end - 64K RAM
 *   low end - 64K - low end      ACPI tables (RAM, reserved as ACPI data)
 *   0xb0000000   - 0xc0000000    PCI ECAM (memory-mapped configuration, 256 buses)
 *   0xc0000000   - 0xfec00000    PCI memory window (32-bit BARs)
 *   0xfec00000                   IOAPIC; 0xfee00000: local APIC
 *   4 GiB        - 4 GiB + high  RAM beyond what fits below the PCI hole
 *
 * low end = min(RAM size, 0xb0000000); high = RAM size - low end.
 */
#ifndef VMM_PC_LAYOUT_H
#define VMM_PC_LAYOUT_H

#include <stdint.h>

#define PC_EBDA_BASE		0x9fc00ULL
#define PC_LEGACY_HOLE		0xa0000ULL
#define PC_LEGACY_HOLE_END	0x100000ULL
#define PC_LOW_RAM_MAX		0xb0000000ULL
#define PC_ECAM_BASE		0xb0000000ULL
#define PC_ECAM_SIZE		0x10000000ULL
#define PC_PCI_MMIO_BASE	0xc0000000ULL
#define PC_PCI_MMIO_END		0xfec00000ULL
#define PC_HIGH_RAM_BASE	0x100000000ULL
#define PC_ACPI_SIZE		0x10000ULL
#define PC_MIN_RAM		(2ULL << 20)	/* below this there is no room for the map */

enum e820_type { E820_RAM = 1, E820_RESERVED = 2, E820_ACPI = 3, E820_NVS = 4 };

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

uint64_t pc_low_ram_end(uint64_t ram_size);
uint64_t pc_high_ram_size(uint64_t ram_size);
/* The ACPI tables' guest-physical base (the top 64 KiB of low RAM). */
uint64_t pc_acpi_base(uint64_t ram_size);
/* Is gpa guest RAM (backed on touch)? */
int pc_is_ram(uint64_t ram_size, uint64_t gpa);
/* The E820 map, in address order; returns the number of entries (at most max). */
unsigned pc_e820(uint64_t ram_size, struct e820_entry *out, unsigned max);

#endif
