/*
 * Host unit tests for the ACPI table parser (vmkernel/acpi.c).
 *
 * Tables are built in a fake 2 MiB "physical memory"; the map callback hands
 * out pointers into it and refuses anything outside. Each builder writes the
 * fields by offset and a fixup recomputes the checksum, so tests can corrupt
 * exactly one thing at a time.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vmkernel/acpi.h>

#define MEM_SIZE	0x200000u

#define RSDP_PHYS	0x0F0000u
#define XSDT_PHYS	0x100000u
#define RSDT_PHYS	0x100400u
#define MADT_PHYS	0x101000u
#define FADT_PHYS	0x102000u
#define HPET_PHYS	0x103000u
#define MCFG_PHYS	0x104000u
#define DSDT_PHYS	0x105000u
#define SPARE_PHYS	0x106000u
#define BIG_PHYS	0x110000u

static uint8_t *mem;
static unsigned int map_calls;

static const void *fake_map(void *ctx, uint64_t phys, size_t len)
{
	(void)ctx;
	map_calls++;
	if (len == 0 || phys >= MEM_SIZE || len > MEM_SIZE - phys)
		return NULL;
	return mem + phys;
}

static const struct acpi_mem_ops ops = { .map = fake_map, .ctx = NULL };

static struct acpi_info *info;

/* ---- Builders ---- */

static void w8(uint64_t a, uint8_t v) { mem[a] = v; }
static void w16(uint64_t a, uint16_t v) { memcpy(mem + a, &v, 2); }
static void w32(uint64_t a, uint32_t v) { memcpy(mem + a, &v, 4); }
static void w64(uint64_t a, uint64_t v) { memcpy(mem + a, &v, 8); }

static uint8_t sum_bytes(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void sdt_fix(uint64_t phys)
{
	uint32_t len;

	memcpy(&len, mem + phys + 4, 4);
	mem[phys + 9] = 0;
	mem[phys + 9] = (uint8_t)-sum_bytes(mem + phys, len);
}

static void sdt_begin(uint64_t phys, const char *sig, uint8_t rev, uint32_t len)
{
	memset(mem + phys, 0, len);
	memcpy(mem + phys, sig, 4);
	w32(phys + 4, len);
	w8(phys + 8, rev);
	memcpy(mem + phys + 10, "BOCHS ", 6);
	memcpy(mem + phys + 16, "BXPC    ", 8);
}

/* Root table (XSDT if wide) listing n tables. */
static void root_build(uint64_t phys, bool wide, const uint64_t *tables, unsigned int n)
{
	unsigned int esz = wide ? 8 : 4, i;

	sdt_begin(phys, wide ? "XSDT" : "RSDT", 1, 36 + n * esz);
	for (i = 0; i < n; i++) {
		if (wide)
			w64(phys + 36 + i * 8, tables[i]);
		else
			w32(phys + 36 + i * 4, (uint32_t)tables[i]);
	}
	sdt_fix(phys);
}

static void rsdp_build(uint8_t *r, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
	memset(r, 0, 36);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "BOCHS ", 6);
	r[15] = rev;
	memcpy(r + 16, &rsdt, 4);
	if (rev >= 2) {
		uint32_t len = 36;

		memcpy(r + 20, &len, 4);
		memcpy(r + 24, &xsdt, 8);
	}
	r[8] = (uint8_t)-sum_bytes(r, 20);
	if (rev >= 2)
		r[32] = (uint8_t)-sum_bytes(r, 36);
}

/* MADT writer: entries are appended, madt_end() sets length and checksum. */
static uint32_t madt_off;

static void madt_begin(uint64_t phys, uint32_t lapic, uint32_t flags)
{
	sdt_begin(phys, "APIC", 3, 44);
	w32(phys + 36, lapic);
	w32(phys + 40, flags);
	madt_off = 44;
}

static void madt_add(uint64_t phys, const void *e, uint8_t len)
{
	memcpy(mem + phys + madt_off, e, len);
	madt_off += len;
}

static void madt_lapic(uint64_t phys, uint8_t uid, uint8_t id, uint32_t flags)
{
	struct acpi_madt_lapic e = { { 0, 8 }, uid, id, flags };

	madt_add(phys, &e, sizeof(e));
}

static void madt_x2apic(uint64_t phys, uint32_t id, uint32_t uid, uint32_t flags)
{
	struct acpi_madt_x2apic e = { { 9, 16 }, 0, id, flags, uid };

	madt_add(phys, &e, sizeof(e));
}

static void madt_iso(uint64_t phys, uint8_t src, uint32_t gsi, uint16_t flags)
{
	struct acpi_madt_iso e = { { 2, 10 }, 0, src, gsi, flags };

	madt_add(phys, &e, sizeof(e));
}

static void madt_end(uint64_t phys)
{
	w32(phys + 4, madt_off);
	sdt_fix(phys);
}

static void build_qemu_madt(uint64_t phys)
{
	struct acpi_madt_ioapic io = { { 1, 12 }, 0, 0, 0xFEC00000u, 0 };
	struct acpi_madt_lapic_nmi nmi = { { 4, 6 }, 0xFF, 0, 1 };
	int i;

	madt_begin(phys, 0xFEE00000u, ACPI_MADT_PCAT_COMPAT);
	for (i = 0; i < 4; i++)
		madt_lapic(phys, (uint8_t)i, (uint8_t)i, ACPI_MADT_CPU_ENABLED);
	madt_add(phys, &io, sizeof(io));
	madt_iso(phys, 0, 2, 0);
	madt_iso(phys, 5, 5, 0xD);
	madt_iso(phys, 9, 9, 0xD);
	madt_iso(phys, 10, 10, 0xD);
	madt_iso(phys, 11, 11, 0xD);
	madt_add(phys, &nmi, sizeof(nmi));
	madt_end(phys);
}

static void gas_put(uint64_t a, uint8_t space, uint8_t width, uint64_t addr)
{
	w8(a, space);
	w8(a + 1, width);
	w8(a + 2, 0);
	w8(a + 3, 0);
	w64(a + 4, addr);
}

/* QEMU q35-like FADT revision 3, 244 bytes. */
static void build_fadt(uint64_t phys, uint8_t rev, uint32_t len, uint32_t flags)
{
	sdt_begin(phys, "FACP", rev, len);
	w32(phys + 40, DSDT_PHYS);
	w16(phys + 46, 9);
	w32(phys + 56, 0x600);
	w32(phys + 64, 0x604);
	w32(phys + 76, 0x608);
	w8(phys + 88, 4);
	w8(phys + 89, 2);
	w8(phys + 91, 4);
	w8(phys + 108, 0x32);
	w16(phys + 109, ACPI_BOOT_8042 | ACPI_BOOT_LEGACY_DEVICES);
	w32(phys + 112, flags);
	if (len >= 129) {
		gas_put(phys + 116, ACPI_GAS_IO, 8, 0xcf9);
		w8(phys + 128, 0x6);
	}
	if (len >= 148)
		w64(phys + 140, DSDT_PHYS);
	if (len >= 184)
		gas_put(phys + 172, ACPI_GAS_IO, 16, 0x604);
	if (len >= 220)
		gas_put(phys + 208, ACPI_GAS_IO, 32, 0x608);
	sdt_fix(phys);
}

static void build_hpet(uint64_t phys)
{
	sdt_begin(phys, "HPET", 1, 56);
	w32(phys + 36, 0x8086a201);
	gas_put(phys + 40, ACPI_GAS_MEMORY, 0, 0xFED00000u);
	w8(phys + 52, 0);
	w16(phys + 53, 0x80);
	sdt_fix(phys);
}

static void build_mcfg(uint64_t phys)
{
	sdt_begin(phys, "MCFG", 1, 44 + 16);
	w64(phys + 44, 0xB0000000u);
	w16(phys + 52, 0);
	w8(phys + 54, 0);
	w8(phys + 55, 0xFF);
	sdt_fix(phys);
}

static const uint64_t std_tables[] = { FADT_PHYS, MADT_PHYS, HPET_PHYS, MCFG_PHYS };

/* The well-formed QEMU-like set, reached by both an XSDT and an RSDT. */
static void build_std(uint8_t *rsdp, uint8_t rev)
{
	build_qemu_madt(MADT_PHYS);
	build_fadt(FADT_PHYS, 3, 244,
		   ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP);
	build_hpet(HPET_PHYS);
	build_mcfg(MCFG_PHYS);
	sdt_begin(DSDT_PHYS, "DSDT", 1, 36);
	sdt_fix(DSDT_PHYS);
	root_build(XSDT_PHYS, true, std_tables, 4);
	root_build(RSDT_PHYS, false, std_tables, 4);
	rsdp_build(rsdp, rev, RSDT_PHYS, rev >= 2 ? XSDT_PHYS : 0);
}

/* True if some stored warning contains every one of the given substrings. */
static bool warned(const char *a, const char *b)
{
	uint32_t i, n = info->warn_count < ACPI_MAX_WARNINGS ? info->warn_count
							       : ACPI_MAX_WARNINGS;

	for (i = 0; i < n; i++)
		if (strstr(info->warnings[i], a) && (!b || strstr(info->warnings[i], b)))
			return true;
	return false;
}

static int setup(void **state)
{
	(void)state;
	mem = calloc(1, MEM_SIZE);
	info = calloc(1, sizeof(*info));
	map_calls = 0;
	alarm(10);	/* a hang is a failure, not a stuck test run */
	return mem && info ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	alarm(0);
	free(mem);
	free(info);
	return 0;
}

/* ---- Well-formed inputs ---- */

static void test_qemu_like_xsdt(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->warn_count, 0);
	assert_int_equal(info->rsdp_revision, 2);
	assert_string_equal(info->oem_id, "BOCHS ");
	assert_true(info->xsdt_used);
	assert_int_equal(info->root_phys, XSDT_PHYS);

	assert_true(info->madt_present);
	assert_int_equal(info->cpu_count, 4);
	assert_int_equal(info->cpu_enabled_count, 4);
	assert_int_equal(info->cpus[3].apic_id, 3);
	assert_int_equal(info->cpus[3].acpi_uid, 3);
	assert_true(info->cpus[3].enabled);
	assert_false(info->cpus[3].x2apic);
	assert_int_equal(info->lapic_phys, 0xFEE00000u);
	assert_true(info->pcat_compat);
	assert_int_equal(info->ioapic_count, 1);
	assert_int_equal(info->ioapics[0].phys, 0xFEC00000u);
	assert_int_equal(info->ioapics[0].gsi_base, 0);
	assert_int_equal(info->iso_count, 5);
	assert_int_equal(info->nmi_count, 1);
	assert_int_equal(info->nmis[0].acpi_uid, ACPI_UID_ALL);
	assert_int_equal(info->nmis[0].lint, 1);

	assert_true(info->fadt.present);
	assert_int_equal(info->fadt.revision, 3);
	assert_true(info->fadt.pm_timer_present);
	assert_int_equal(info->fadt.pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(info->fadt.pm_timer.address, 0x608);
	assert_true(info->fadt.pm_timer_32bit);
	assert_true(info->fadt.reset_supported);
	assert_int_equal(info->fadt.reset_reg.space_id, ACPI_GAS_IO);
	assert_int_equal(info->fadt.reset_reg.bit_width, 8);
	assert_int_equal(info->fadt.reset_reg.address, 0xcf9);
	assert_int_equal(info->fadt.reset_value, 6);
	assert_int_equal(info->fadt.pm1a_cnt, 0x604);
	assert_int_equal(info->fadt.pm1b_cnt, 0);
	assert_int_equal(info->fadt.sci_irq, 9);
	assert_int_equal(info->fadt.century, 0x32);
	assert_int_equal(info->fadt.boot_arch, ACPI_BOOT_8042 | ACPI_BOOT_LEGACY_DEVICES);
	assert_false(info->fadt.hw_reduced);
	assert_int_equal(info->fadt.dsdt_phys, DSDT_PHYS);

	assert_true(info->hpet.present);
	assert_int_equal(info->hpet.base_phys, 0xFED00000u);
	assert_int_equal(info->hpet.number, 0);
	assert_int_equal(info->hpet.min_tick, 0x80);

	assert_int_equal(info->mcfg_count, 1);
	assert_int_equal(info->mcfg[0].base, 0xB0000000u);
	assert_int_equal(info->mcfg[0].bus_start, 0);
	assert_int_equal(info->mcfg[0].bus_end, 255);
}

static void test_table_list(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->table_count, 4);
	assert_string_equal(info->tables[0].signature, "FACP");
	assert_string_equal(info->tables[1].signature, "APIC");
	assert_string_equal(info->tables[2].signature, "HPET");
	assert_string_equal(info->tables[3].signature, "MCFG");
	assert_int_equal(info->tables[1].phys, MADT_PHYS);
	assert_int_equal(info->tables[0].length, 244);
	assert_int_equal(info->tables[0].revision, 3);
	assert_true(info->tables[1].checksum_ok);
	assert_true(info->tables[1].used);
}

static void test_rsdt_only_v1(void **state)
{
	uint8_t rsdp[20];
	uint8_t full[36];

	(void)state;
	build_std(full, 0);
	memcpy(rsdp, full, 20);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->warn_count, 0);
	assert_int_equal(info->rsdp_revision, 0);
	assert_false(info->xsdt_used);
	assert_int_equal(info->root_phys, RSDT_PHYS);
	assert_int_equal(info->cpu_count, 4);
	assert_true(info->fadt.reset_supported);
	assert_true(info->hpet.present);
}

static void test_x2apic_entries(void **state)
{
	struct acpi_madt_x2apic_nmi xn = { { 0xA, 12 }, 0x5, ACPI_UID_ALL, 1, { 0 } };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	madt_begin(MADT_PHYS, 0xFEE00000u, 0);
	madt_lapic(MADT_PHYS, 0, 0, ACPI_MADT_CPU_ENABLED);
	madt_x2apic(MADT_PHYS, 256, 1, ACPI_MADT_CPU_ENABLED);
	madt_x2apic(MADT_PHYS, 0x12345, 2, ACPI_MADT_CPU_ENABLED);
	madt_add(MADT_PHYS, &xn, sizeof(xn));
	madt_end(MADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->warn_count, 0);
	assert_false(info->pcat_compat);
	assert_int_equal(info->cpu_count, 3);
	assert_int_equal(info->cpu_enabled_count, 3);
	assert_true(info->cpus[1].x2apic);
	assert_int_equal(info->cpus[1].apic_id, 256);
	assert_int_equal(info->cpus[2].apic_id, 0x12345);
	assert_int_equal(info->cpus[2].acpi_uid, 2);
	assert_int_equal(info->nmi_count, 1);
	assert_true(info->nmis[0].x2apic);
	assert_int_equal(info->nmis[0].acpi_uid, ACPI_UID_ALL);
	assert_int_equal(info->nmis[0].flags, 0x5);
}

static void test_disabled_cpus(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	madt_begin(MADT_PHYS, 0xFEE00000u, 1);
	madt_lapic(MADT_PHYS, 0, 0, ACPI_MADT_CPU_ENABLED);
	madt_lapic(MADT_PHYS, 1, 1, 0);
	madt_lapic(MADT_PHYS, 2, 2, ACPI_MADT_CPU_ONLINE_CAPABLE);
	madt_lapic(MADT_PHYS, 3, 3, ACPI_MADT_CPU_ENABLED);
	madt_lapic(MADT_PHYS, 4, 0xFF, 0);	/* placeholder: silently ignored */
	madt_lapic(MADT_PHYS, 5, 5, ACPI_MADT_CPU_ENABLED | ACPI_MADT_CPU_ONLINE_CAPABLE);
	madt_end(MADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->warn_count, 0);
	assert_int_equal(info->cpu_count, 5);
	assert_int_equal(info->cpu_enabled_count, 3);
	assert_true(info->cpus[4].enabled);
	assert_false(info->cpus[4].online_capable);	/* only meaningful when disabled */
	assert_false(info->cpus[1].enabled);
	assert_false(info->cpus[1].online_capable);
	assert_false(info->cpus[2].enabled);
	assert_true(info->cpus[2].online_capable);
	assert_true(info->cpus[3].enabled);
}

static void test_duplicate_apic_id_and_lapic_override(void **state)
{
	struct acpi_madt_lapic_override o = { { 5, 12 }, 0, 0xFEE10000ull };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	madt_begin(MADT_PHYS, 0xFEE00000u, 1);
	madt_lapic(MADT_PHYS, 0, 0, ACPI_MADT_CPU_ENABLED);
	madt_x2apic(MADT_PHYS, 0, 7, ACPI_MADT_CPU_ENABLED);	/* same CPU again */
	madt_add(MADT_PHYS, &o, sizeof(o));
	madt_end(MADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 1);
	assert_int_equal(info->lapic_phys, 0xFEE10000ull);
	assert_int_equal(info->warn_count, 1);
	assert_true(warned("APIC @0x101000", "repeats APIC ID 0"));
}

static void test_too_many_cpus(void **state)
{
	const uint64_t t[] = { BIG_PHYS, FADT_PHYS };
	uint8_t rsdp[36];
	unsigned int i;

	(void)state;
	build_std(rsdp, 2);
	madt_begin(BIG_PHYS, 0xFEE00000u, 1);	/* 4844 bytes: room needed */
	for (i = 0; i < 300; i++)
		madt_x2apic(BIG_PHYS, i, i, ACPI_MADT_CPU_ENABLED);
	madt_end(BIG_PHYS);
	root_build(XSDT_PHYS, true, t, 2);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, ACPI_MAX_CPUS);
	assert_int_equal(info->cpus_dropped, 300 - ACPI_MAX_CPUS);
	assert_int_equal(info->warn_count, 1);
	assert_true(warned("APIC", "more than 256 CPUs"));
}

static void test_gsi_for_isa_irq(void **state)
{
	uint8_t rsdp[36];
	uint32_t gsi;
	uint16_t flags;

	(void)state;
	build_std(rsdp, 2);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(acpi_gsi_for_isa_irq(info, 0, &gsi, &flags), 0);
	assert_int_equal(gsi, 2);
	assert_int_equal(flags, 0);
	assert_int_equal(acpi_gsi_for_isa_irq(info, 9, &gsi, &flags), 0);
	assert_int_equal(gsi, 9);
	assert_int_equal(flags & ACPI_INTI_TRIG_MASK, ACPI_INTI_TRIG_LEVEL);
	assert_int_equal(flags & ACPI_INTI_POL_MASK, ACPI_INTI_POL_HIGH);
	assert_int_equal(acpi_gsi_for_isa_irq(info, 4, &gsi, &flags), 0);
	assert_int_equal(gsi, 4);
	assert_int_equal(flags, 0);
	assert_int_equal(acpi_gsi_for_isa_irq(info, 16, &gsi, &flags), -EINVAL);
	assert_int_equal(acpi_gsi_for_isa_irq(NULL, 1, &gsi, &flags), -EINVAL);
}

/* ---- Fatal: RSDP and root tables ---- */

static void test_bad_rsdp_checksum(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	rsdp[8] ^= 1;
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), -EINVAL);
	assert_non_null(strstr(info->err, "RSDP"));
	assert_non_null(strstr(info->err, "checksum"));
	assert_int_equal(info->cpu_count, 0);
}

static void test_bad_rsdp_signature_and_length(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	rsdp[0] = 'X';
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), -EINVAL);
	assert_non_null(strstr(info->err, "RSDP: bad signature"));

	build_std(rsdp, 2);
	assert_int_equal(acpi_parse(&ops, rsdp, 19, info), -EINVAL);
	assert_non_null(strstr(info->err, "only 19 bytes"));

	assert_int_equal(acpi_parse(&ops, NULL, 36, info), -EINVAL);
	assert_non_null(strstr(info->err, "RSDP"));
	assert_int_equal(acpi_parse(&ops, rsdp, 36, NULL), -EINVAL);
}

static void test_rsdp_v2_inconsistent(void **state)
{
	uint8_t rsdp[36];
	uint32_t len;

	(void)state;
	/* extended checksum wrong (first 20 bytes fine) */
	build_std(rsdp, 2);
	rsdp[32] ^= 0x40;
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), -EINVAL);
	assert_non_null(strstr(info->err, "RSDP: extended checksum"));

	/* length field larger than the copy we were given */
	build_std(rsdp, 2);
	len = 64;
	memcpy(rsdp + 20, &len, 4);
	rsdp[32] = 0;
	rsdp[32] = (uint8_t)-sum_bytes(rsdp, 36);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), -EINVAL);
	assert_non_null(strstr(info->err, "length field 64 exceeds"));

	/* length field below 36 */
	build_std(rsdp, 2);
	len = 20;
	memcpy(rsdp + 20, &len, 4);
	rsdp[32] = 0;
	rsdp[32] = (uint8_t)-sum_bytes(rsdp, 36);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), -EINVAL);
	assert_non_null(strstr(info->err, "length field 20 < 36"));
}

/* A v2 RSDP handed over as a 20-byte (ACPI 1.0-sized) copy still works. */
static void test_rsdp_v2_short_copy_uses_rsdt(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	assert_int_equal(acpi_parse(&ops, rsdp, 20, info), 0);
	assert_false(info->xsdt_used);
	assert_int_equal(info->cpu_count, 4);
	assert_true(warned("RSDP", "XSDT ignored"));
}

static void test_bad_xsdt_falls_back_to_rsdt(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	mem[XSDT_PHYS + 20] ^= 0xFF;	/* breaks the XSDT checksum */
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_false(info->xsdt_used);
	assert_int_equal(info->root_phys, RSDT_PHYS);
	assert_int_equal(info->cpu_count, 4);
	assert_true(info->fadt.present);
	assert_int_equal(info->warn_count, 1);
	assert_true(warned("XSDT @0x100000", "checksum mismatch"));
	assert_true(warned("XSDT", "falling back to the RSDT"));
}

static void test_xsdt_wrong_signature_falls_back(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	memcpy(mem + XSDT_PHYS, "XSDX", 4);
	sdt_fix(XSDT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_false(info->xsdt_used);
	assert_true(warned("XSDT @0x100000", "\"XSDX\" is not \"XSDT\""));
}

static void test_both_roots_bad_is_fatal(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	mem[XSDT_PHYS + 20] ^= 0xFF;
	w32(RSDT_PHYS + 4, 0xFFFFFFFFu);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), -EINVAL);
	assert_non_null(strstr(info->err, "RSDT @0x100400"));
	assert_non_null(strstr(info->err, "absurd length"));
	assert_true(warned("XSDT", "checksum"));

	/* v1: an RSDT outside memory is fatal too */
	build_std(rsdp, 0);
	rsdp_build(rsdp, 0, 0x7FFFF000u, 0);
	assert_int_equal(acpi_parse(&ops, rsdp, 20, info), -EINVAL);
	assert_non_null(strstr(info->err, "RSDT @0x7ffff000"));
	assert_non_null(strstr(info->err, "not in accessible memory"));
}

/* ---- Bad individual tables: warnings, never fatal ---- */

static void test_bad_madt_checksum(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	mem[MADT_PHYS + 36] ^= 1;	/* LAPIC address byte, checksum now wrong */
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_false(info->madt_present);
	assert_int_equal(info->cpu_count, 0);
	assert_int_equal(info->ioapic_count, 0);
	assert_int_equal(info->lapic_phys, 0);
	assert_true(info->fadt.present);
	assert_true(info->hpet.present);
	assert_int_equal(info->warn_count, 1);
	assert_true(warned("APIC @0x101000", "checksum mismatch"));
	assert_false(info->tables[1].checksum_ok);
	assert_false(info->tables[1].used);
}

static void test_madt_entry_length_zero(void **state)
{
	uint8_t zero[2] = { 0, 0 };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	madt_begin(MADT_PHYS, 0xFEE00000u, 1);
	madt_lapic(MADT_PHYS, 0, 0, ACPI_MADT_CPU_ENABLED);
	madt_add(MADT_PHYS, zero, 2);
	madt_lapic(MADT_PHYS, 1, 1, ACPI_MADT_CPU_ENABLED);
	madt_end(MADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 1);
	assert_int_equal(info->warn_count, 1);
	assert_true(warned("APIC @0x101000", "offset 52 has length 0"));
	assert_true(map_calls < 100);

	/* length 1 cannot even hold the type/length pair */
	mem[MADT_PHYS + 53] = 1;
	sdt_fix(MADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 1);
	assert_int_equal(info->warn_count, 1);
	assert_true(warned("APIC @0x101000", "offset 52 has length 1"));
}

static void test_madt_entry_past_end(void **state)
{
	struct acpi_madt_ioapic io = { { 1, 12 }, 0, 0, 0xFEC00000u, 0 };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	madt_begin(MADT_PHYS, 0xFEE00000u, 1);
	madt_lapic(MADT_PHYS, 0, 0, ACPI_MADT_CPU_ENABLED);
	madt_add(MADT_PHYS, &io, sizeof(io));
	madt_off -= 4;	/* table ends 4 bytes into the IOAPIC entry */
	madt_end(MADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 1);
	assert_int_equal(info->ioapic_count, 0);
	assert_true(warned("APIC @0x101000", "runs past table end 60"));
}

static void test_madt_entry_too_short_for_type(void **state)
{
	struct acpi_madt_ioapic io = { { 1, 8 }, 3, 0, 0xFEC00000u, 0 };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	madt_begin(MADT_PHYS, 0xFEE00000u, 1);
	madt_add(MADT_PHYS, &io, 8);	/* claims 8 bytes; an IOAPIC needs 12 */
	madt_lapic(MADT_PHYS, 0, 0, ACPI_MADT_CPU_ENABLED);
	madt_end(MADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->ioapic_count, 0);
	assert_int_equal(info->cpu_count, 1);	/* the walk went on */
	assert_true(warned("APIC @0x101000", "IOAPIC entry at offset 44 has length 8 < 12"));
}

static void test_table_outside_memory(void **state)
{
	const uint64_t t[] = { MADT_PHYS, 0x80000000ull, 0, FADT_PHYS };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	root_build(XSDT_PHYS, true, t, 4);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 4);
	assert_true(info->fadt.present);
	assert_int_equal(info->table_count, 2);
	assert_int_equal(info->warn_count, 2);
	assert_true(warned("XSDT entry 1 -> 0x80000000", "not in accessible memory"));
	assert_true(warned("XSDT entry 2 -> 0x0", "null"));
}

static void test_table_length_past_memory(void **state)
{
	const uint64_t t[] = { MEM_SIZE - 64, MADT_PHYS };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	sdt_begin(MEM_SIZE - 64, "SSDT", 1, 64);
	w32(MEM_SIZE - 64 + 4, 4096);	/* header fits, body would not */
	root_build(XSDT_PHYS, true, t, 2);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 4);
	assert_true(warned("SSDT @0x1fffc0", "length 4096 runs past accessible memory"));
	assert_string_equal(info->tables[0].signature, "SSDT");
	assert_false(info->tables[0].checksum_ok);
}

static void test_absurd_and_short_lengths(void **state)
{
	const uint64_t t[] = { MADT_PHYS, SPARE_PHYS, SPARE_PHYS + 0x100 };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	sdt_begin(SPARE_PHYS, "HPET", 1, 56);
	w32(SPARE_PHYS + 4, 0xFFFFFFFFu);
	sdt_begin(SPARE_PHYS + 0x100, "MC\x01G", 1, 36);
	w32(SPARE_PHYS + 0x100 + 4, 12);
	root_build(XSDT_PHYS, true, t, 3);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 4);
	assert_false(info->hpet.present);
	assert_true(warned("HPET @0x106000", "absurd length 4294967295"));
	assert_true(warned("MC?G @0x106100", "length 12 shorter than the 36-byte header"));
}

static void test_fadt_v1_short(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	/* ACPI 1.0 FADT: 116 bytes, no RESET_REG, yet claims RESET_REG_SUP */
	build_fadt(FADT_PHYS, 1, ACPI_FADT_V1_LEN, ACPI_FADT_RESET_REG_SUP);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_true(info->fadt.present);
	assert_int_equal(info->fadt.revision, 1);
	assert_false(info->fadt.reset_supported);
	assert_int_equal(info->fadt.reset_reg.address, 0);
	assert_true(info->fadt.pm_timer_present);
	assert_int_equal(info->fadt.pm_timer.space_id, ACPI_GAS_IO);
	assert_int_equal(info->fadt.pm_timer.address, 0x608);
	assert_false(info->fadt.pm_timer_32bit);
	assert_int_equal(info->fadt.pm_timer.bit_width, 24);
	assert_int_equal(info->fadt.pm1a_cnt, 0x604);
	assert_int_equal(info->fadt.boot_arch, 0);	/* reserved before revision 3 */
	assert_int_equal(info->fadt.dsdt_phys, DSDT_PHYS);
	assert_true(warned("FACP @0x102000", "RESET_REG_SUP set but length 116"));
}

static void test_fadt_truncated_and_mmio_timer(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	/* 60-byte FADT: SCI is inside, the PM timer port is not */
	build_std(rsdp, 2);
	build_fadt(FADT_PHYS, 1, 60, 0);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_true(info->fadt.present);
	assert_int_equal(info->fadt.sci_irq, 9);
	assert_false(info->fadt.pm_timer_present);
	assert_int_equal(info->fadt.century, 0);
	assert_true(warned("FACP @0x102000", "length 60 shorter"));

	/* X_PM_TMR_BLK in memory space is preferred over the port */
	build_fadt(FADT_PHYS, 5, 276, ACPI_FADT_TMR_VAL_EXT);
	gas_put(FADT_PHYS + 208, ACPI_GAS_MEMORY, 32, 0xFED80000ull);
	sdt_fix(FADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->warn_count, 0);
	assert_true(info->fadt.pm_timer_present);
	assert_int_equal(info->fadt.pm_timer.space_id, ACPI_GAS_MEMORY);
	assert_int_equal(info->fadt.pm_timer.address, 0xFED80000ull);
	assert_false(info->fadt.reset_supported);	/* flag not set */
	assert_int_equal(info->fadt.reset_reg.address, 0xcf9);

	/* A bad PM_TMR_LEN disables the legacy timer */
	build_fadt(FADT_PHYS, 1, ACPI_FADT_V1_LEN, 0);
	w8(FADT_PHYS + 91, 3);
	sdt_fix(FADT_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_false(info->fadt.pm_timer_present);
	assert_true(warned("FACP @0x102000", "PM_TMR_LEN is 3"));
}

static void test_duplicate_madt(void **state)
{
	const uint64_t t[] = { MADT_PHYS, SPARE_PHYS, FADT_PHYS };
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	madt_begin(SPARE_PHYS, 0xFEE00000u, 0);
	madt_lapic(SPARE_PHYS, 0, 9, ACPI_MADT_CPU_ENABLED);
	madt_end(SPARE_PHYS);
	root_build(XSDT_PHYS, true, t, 3);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->cpu_count, 4);	/* from the first MADT */
	assert_true(info->pcat_compat);
	assert_int_equal(info->warn_count, 1);
	assert_true(warned("APIC @0x106000", "duplicate table, using the first at 0x101000"));
	assert_true(info->tables[0].used);
	assert_false(info->tables[1].used);
	assert_true(info->tables[1].checksum_ok);
}

static void test_hpet_and_mcfg_problems(void **state)
{
	uint8_t rsdp[36];

	(void)state;
	build_std(rsdp, 2);
	gas_put(HPET_PHYS + 40, ACPI_GAS_IO, 0, 0xFED00000u);
	sdt_fix(HPET_PHYS);
	sdt_begin(MCFG_PHYS, "MCFG", 1, 44 + 32 + 3);
	w64(MCFG_PHYS + 44, 0xB0000000u);
	w8(MCFG_PHYS + 54, 10);
	w8(MCFG_PHYS + 55, 5);		/* start > end */
	w64(MCFG_PHYS + 60, 0xC0000000u);
	w16(MCFG_PHYS + 68, 1);
	w8(MCFG_PHYS + 70, 0);
	w8(MCFG_PHYS + 71, 0x7F);
	sdt_fix(MCFG_PHYS);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_false(info->hpet.present);
	assert_true(warned("HPET @0x103000", "space 1"));
	assert_int_equal(info->mcfg_count, 1);
	assert_int_equal(info->mcfg[0].segment, 1);
	assert_int_equal(info->mcfg[0].bus_end, 0x7F);
	assert_true(warned("MCFG @0x104000", "3 stray bytes"));
	assert_true(warned("MCFG @0x104000", "allocation 0"));
}

static void test_warning_overflow(void **state)
{
	uint64_t t[12];
	uint8_t rsdp[36];
	unsigned int i;

	(void)state;
	build_std(rsdp, 2);
	for (i = 0; i < 12; i++)
		t[i] = 0x90000000ull + i * 0x1000;
	root_build(XSDT_PHYS, true, t, 12);
	assert_int_equal(acpi_parse(&ops, rsdp, sizeof(rsdp), info), 0);
	assert_int_equal(info->warn_count, 12);
	assert_non_null(strstr(info->warnings[0], "XSDT entry 0 -> 0x90000000"));
	assert_non_null(strstr(info->warnings[7], "XSDT entry 7 -> 0x90007000"));
	assert_int_equal(info->table_count, 0);
}

/* ---- RSDP discovery ---- */

static void place_rsdp(uint64_t phys, uint8_t rev)
{
	uint8_t r[36];

	rsdp_build(r, rev, RSDT_PHYS, rev >= 2 ? XSDT_PHYS : 0);
	memcpy(mem + phys, r, rev >= 2 ? 36 : 20);
}

static void test_find_rsdp_ebda(void **state)
{
	uint64_t phys = 0;

	(void)state;
	w16(0x40E, 0x9FC0);			/* EBDA at 0x9FC00 */
	place_rsdp(0x9FC00 + 0x40, 2);
	place_rsdp(0xF0000, 0);			/* the EBDA one must win */
	assert_int_equal(acpi_find_rsdp(&ops, &phys), 0);
	assert_int_equal(phys, 0x9FC40);
}

static void test_find_rsdp_bios_area_and_parse_at(void **state)
{
	uint8_t scratch[36];
	uint64_t phys = 0;

	(void)state;
	build_std(scratch, 2);
	w16(0x40E, 0x9FC0);
	/* bad candidates first: misaligned, then bad checksum */
	memcpy(mem + 0xE0008, "RSD PTR ", 8);
	place_rsdp(0xE1000, 2);
	mem[0xE1000 + 8] ^= 1;
	place_rsdp(0xF5A60, 2);
	assert_int_equal(acpi_find_rsdp(&ops, &phys), 0);
	assert_int_equal(phys, 0xF5A60);

	assert_int_equal(acpi_parse_at(&ops, phys, info), 0);
	assert_true(info->xsdt_used);
	assert_int_equal(info->cpu_count, 4);

	assert_int_equal(acpi_parse_at(&ops, 0x90000000ull, info), -EINVAL);
	assert_non_null(strstr(info->err, "RSDP @0x90000000"));
}

static void test_find_rsdp_none(void **state)
{
	uint64_t phys = 0;

	(void)state;
	memcpy(mem + 0xE0000, "RSD PTR ", 8);	/* signature, checksum wrong */
	mem[0xE0008] = 1;
	assert_int_equal(acpi_find_rsdp(&ops, &phys), -ENOENT);
	assert_int_equal(acpi_find_rsdp(&ops, NULL), -EINVAL);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_qemu_like_xsdt),
		T(test_table_list),
		T(test_rsdt_only_v1),
		T(test_x2apic_entries),
		T(test_disabled_cpus),
		T(test_duplicate_apic_id_and_lapic_override),
		T(test_too_many_cpus),
		T(test_gsi_for_isa_irq),
		T(test_bad_rsdp_checksum),
		T(test_bad_rsdp_signature_and_length),
		T(test_rsdp_v2_inconsistent),
		T(test_rsdp_v2_short_copy_uses_rsdt),
		T(test_bad_xsdt_falls_back_to_rsdt),
		T(test_xsdt_wrong_signature_falls_back),
		T(test_both_roots_bad_is_fatal),
		T(test_bad_madt_checksum),
		T(test_madt_entry_length_zero),
		T(test_madt_entry_past_end),
		T(test_madt_entry_too_short_for_type),
		T(test_table_outside_memory),
		T(test_table_length_past_memory),
		T(test_absurd_and_short_lengths),
		T(test_fadt_v1_short),
		T(test_fadt_truncated_and_mmio_timer),
		T(test_duplicate_madt),
		T(test_hpet_and_mcfg_problems),
		T(test_warning_overflow),
		T(test_find_rsdp_ebda),
		T(test_find_rsdp_bios_area_and_parse_at),
		T(test_find_rsdp_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
