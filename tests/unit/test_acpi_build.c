/*
 * The VM's ACPI tables (vmm/vdev/acpi/tables.c), read back the way a guest
 * reads them: found by the BIOS-area scan through the EBDA pointer, then
 * walked by the vmkernel's own ACPI parser (vmkernel/acpi.c). Plus the
 * DSDT's AML for the objects a kernel looks up by name.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/acpi.h>
#include <vmm/acpi_tables.h>
#include <vmm/pc_layout.h>

#define RAM (64ULL << 20)

static uint8_t *mem;	/* guest physical memory 0 .. RAM */

static const void *map(void *ctx, uint64_t phys, size_t len)
{
	(void)ctx;
	return phys + len <= RAM ? mem + phys : NULL;
}

static const struct acpi_build_params params = {
	.ncpus = 3, .ioapic_base = 0xfec00000, .ioapic_id = 0, .lapic_base = 0xfee00000,
	.ecam_base = PC_ECAM_BASE, .ecam_bus_end = 255, .pci_mmio_base = 0xc0000000,
	.pci_mmio_end = 0xfec00000, .pci_intx_gsi_base = 16, .com1_port = 0x3f8, .com1_irq = 4,
};

/* Build the tables into guest memory as the machine does (machine_write_firmware). */
static size_t build(void)
{
	uint8_t rsdp[ACPI_RSDP_SIZE];
	uint64_t at = pc_acpi_base(RAM);
	size_t n;

	mem = calloc(1, RAM);
	n = acpi_build(&params, mem + at, ACPI_TABLES_MAX, at, rsdp);
	memcpy(mem + PC_EBDA_BASE, rsdp, sizeof(rsdp));
	mem[0x40e] = (uint8_t)(PC_EBDA_BASE >> 4);
	mem[0x40f] = (uint8_t)(PC_EBDA_BASE >> 12);
	return n;
}

static void test_tables_parse(void **state)
{
	struct acpi_mem_ops ops = { map, NULL };
	struct acpi_info *info = calloc(1, sizeof(*info));
	uint64_t rsdp;
	uint32_t gsi;
	uint16_t flags;

	(void)state;
	assert_true(build() > 0);
	assert_int_equal(acpi_find_rsdp(&ops, &rsdp), 0);
	assert_int_equal(rsdp, PC_EBDA_BASE);
	assert_int_equal(acpi_parse_at(&ops, rsdp, info), 0);
	assert_int_equal(info->warn_count, 0);
	assert_true(info->xsdt_used);
	assert_int_equal(info->rsdp_revision, 2);
	assert_true(info->madt_present);
	assert_true(info->pcat_compat);
	assert_int_equal(info->lapic_phys, 0xfee00000);
	assert_int_equal(info->cpu_count, 3);
	assert_int_equal(info->cpu_enabled_count, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(info->cpus[i].apic_id, i);
	assert_int_equal(info->ioapic_count, 1);
	assert_int_equal(info->ioapics[0].phys, 0xfec00000);
	assert_int_equal(info->ioapics[0].gsi_base, 0);
	assert_int_equal(acpi_gsi_for_isa_irq(info, 0, &gsi, &flags), 0);
	assert_int_equal(gsi, 2);
	assert_int_equal(acpi_gsi_for_isa_irq(info, 9, &gsi, &flags), 0);
	assert_int_equal(gsi, 9);
	assert_int_equal(flags & ACPI_INTI_TRIG_MASK, ACPI_INTI_TRIG_LEVEL);
	assert_int_equal(flags & ACPI_INTI_POL_MASK, ACPI_INTI_POL_HIGH);
	assert_int_equal(acpi_gsi_for_isa_irq(info, 4, &gsi, &flags), 0);
	assert_int_equal(gsi, 4);
	assert_int_equal(info->nmi_count, 1);
	/* FADT: SCI, PM timer (32-bit), PM1 control, reset register, century. */
	assert_int_equal(info->fadt.sci_irq, ACPI_SCI_IRQ);
	assert_true(info->fadt.pm_timer_present);
	assert_true(info->fadt.pm_timer_32bit);
	assert_int_equal(info->fadt.pm_timer.address, ACPI_PM_TMR_PORT);
	assert_int_equal(info->fadt.pm1a_cnt, ACPI_PM1A_CNT_PORT);
	assert_true(info->fadt.reset_supported);
	assert_int_equal(info->fadt.reset_reg.address, ACPI_RESET_PORT);
	assert_int_equal(info->fadt.reset_value, ACPI_RESET_VALUE);
	assert_int_equal(info->fadt.century, 0x32);
	assert_true(info->fadt.boot_arch & ACPI_BOOT_LEGACY_DEVICES);
	assert_false(info->fadt.boot_arch & ACPI_BOOT_8042);
	/* MCFG: segment 0, buses 0-255 at the ECAM window. */
	assert_int_equal(info->mcfg_count, 1);
	assert_int_equal(info->mcfg[0].base, PC_ECAM_BASE);
	assert_int_equal(info->mcfg[0].bus_end, 255);
	assert_true(info->fadt.dsdt_phys >= pc_acpi_base(RAM));
	free(info);
	free(mem);
}

/* Find the AML encoding of a name and return a pointer just past it, or NULL. */
static const uint8_t *find(const uint8_t *p, size_t n, const char *seg)
{
	for (size_t i = 0; i + 4 <= n; i++) {
		if (!memcmp(p + i, seg, 4))
			return p + i + 4;
	}
	return NULL;
}

static void test_dsdt_objects(void **state)
{
	struct acpi_mem_ops ops = { map, NULL };
	struct acpi_info *info = calloc(1, sizeof(*info));
	const uint8_t *dsdt, *s5, *hid;
	uint32_t len;
	uint8_t sum = 0;

	(void)state;
	assert_true(build() > 0);
	assert_int_equal(acpi_parse_at(&ops, PC_EBDA_BASE, info), 0);
	dsdt = mem + info->fadt.dsdt_phys;
	assert_memory_equal(dsdt, "DSDT", 4);
	len = (uint32_t)(dsdt[4] | dsdt[5] << 8 | dsdt[6] << 16 | (uint32_t)dsdt[7] << 24);
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + dsdt[i]);
	assert_int_equal(sum, 0);
	/* \_S5 = Package(4) { 5, 5, 0, 0 }: PackageOp, length, 4 elements, BytePrefix 5 ... */
	s5 = find(dsdt + 36, len - 36, "_S5_");
	assert_non_null(s5);
	assert_int_equal(s5[0], 0x12);
	assert_int_equal(s5[2], 4);
	assert_int_equal(s5[3], 0x0a);
	assert_int_equal(s5[4], ACPI_SLP_TYP_S5);
	/* The PCI root bridge: Device PCI0 with _HID EISAID("PNP0A03") (0x030ad041). */
	assert_non_null(find(dsdt + 36, len - 36, "PCI0"));
	hid = find(dsdt + 36, len - 36, "_HID");
	assert_non_null(hid);
	assert_int_equal(hid[0], 0x0c);
	assert_int_equal(hid[1] | hid[2] << 8 | hid[3] << 16 | (uint32_t)hid[4] << 24, 0x030ad041);
	assert_non_null(find(dsdt + 36, len - 36, "_PRT"));
	assert_non_null(find(dsdt + 36, len - 36, "_CRS"));
	assert_non_null(find(dsdt + 36, len - 36, "MRES"));
	free(info);
	free(mem);
}

static void test_too_small(void **state)
{
	uint8_t buf[512], rsdp[ACPI_RSDP_SIZE];

	(void)state;
	assert_int_equal(acpi_build(&params, buf, sizeof(buf), 0x1000, rsdp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_parse),
		cmocka_unit_test(test_dsdt_objects),
		cmocka_unit_test(test_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
