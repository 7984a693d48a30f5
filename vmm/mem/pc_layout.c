/* The PC machine's guest-physical memory map (see include/vmm/pc_layout.h). */
#include <vmm/pc_layout.h>

uint64_t pc_low_ram_end(uint64_t ram_size)
{
	return ram_size < PC_LOW_RAM_MAX ? ram_size : PC_LOW_RAM_MAX;
}

uint64_t pc_high_ram_size(uint64_t ram_size)
{
	return ram_size - pc_low_ram_end(ram_size);
}

uint64_t pc_acpi_base(uint64_t ram_size)
{
	return pc_low_ram_end(ram_size) - PC_ACPI_SIZE;
}

int pc_is_ram(uint64_t ram_size, uint64_t gpa)
{
	if (gpa < pc_low_ram_end(ram_size))
		return gpa < PC_LEGACY_HOLE || gpa >= PC_LEGACY_HOLE_END;
	return gpa >= PC_HIGH_RAM_BASE && gpa - PC_HIGH_RAM_BASE < pc_high_ram_size(ram_size);
}

unsigned pc_e820(uint64_t ram_size, struct e820_entry *out, unsigned max)
{
	uint64_t low = pc_low_ram_end(ram_size), acpi = pc_acpi_base(ram_size);
	const struct e820_entry map[] = {
		{ 0, PC_EBDA_BASE, E820_RAM },
		{ PC_EBDA_BASE, PC_LEGACY_HOLE - PC_EBDA_BASE, E820_RESERVED },
		{ 0xf0000, 0x10000, E820_RESERVED },	/* the BIOS area guests expect reserved */
		{ PC_LEGACY_HOLE_END, acpi - PC_LEGACY_HOLE_END, E820_RAM },
		{ acpi, low - acpi, E820_ACPI },
		{ PC_ECAM_BASE, PC_ECAM_SIZE, E820_RESERVED },
		{ PC_HIGH_RAM_BASE, pc_high_ram_size(ram_size), E820_RAM },
	};
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]) && n < max; i++) {
		if (map[i].size)
			out[n++] = map[i];
	}
	return n;
}
