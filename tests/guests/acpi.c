/*
 * acpi: the ACPI tables and fixed hardware as an OS finds and uses them
 * (ACPI 6.5 chapters 4 and 5).
 *
 * The RSDP is found by the BIOS-area scan (the EBDA's first KiB, then
 * 0xe0000-0xfffff); every table it leads to has a good checksum, and the
 * XSDT lists what the RSDT lists. The FADT names the PM1a event and
 * control blocks and the PM timer at the PC's ports with SCI 9; the MADT
 * has one enabled local APIC per vCPU (this VM has 2), the IOAPIC and the
 * IRQ 0 -> GSI 2 and SCI overrides; MCFG's window is the ECAM that
 * answers like configuration mechanism #1. The DSDT describes the PCI
 * root bridge and \_S5. The PM timer counts at 3.579545 MHz: three times
 * the PIT's rate, and what the TSC rate CPUID states implies. Then the
 * guest switches to ACPI mode if it must and powers off by writing \_S5's
 * SLP_TYPa with SLP_EN to PM1a control: its .vmx expects "poweroff".
 */
#include "guest.h"
#include "cpu.h"
#include "lapic.h"
#include "pc.h"

const char guest_name[] = "acpi";

#define NCPUS 2 /* acpi.vmx's numvcpus, and run-qemu.sh's -smp */
#define SLP_EN (1u << 13)
#define SCI_EN 1u

static uint64_t tsc_rate;

struct fadt_ports {
	uint32_t pm1a_evt, pm1a_cnt, pm_tmr, smi_cmd, flags;
	uint8_t acpi_enable;
	const struct acpi_header *dsdt;
};

static uint32_t rd32(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint16_t rd16(const void *p)
{
	const uint8_t *b = p;

	return (uint16_t)(b[0] | b[1] << 8);
}

static bool table_ok(const struct acpi_header *t, const char *sig)
{
	return t && !__builtin_memcmp(t->sig, sig, 4) && t->length >= sizeof(*t) &&
	       acpi_sum(t, t->length) == 0;
}

static void check_root(void)
{
	const uint8_t *rsdp = acpi_rsdp();
	const struct acpi_header *rsdt, *xsdt;
	uint32_t n, bad = 0;

	CHECK(rsdp, "rsdp_found");
	if (!rsdp)
		guest_finish();
	if (!vmk_skip("rsdp_in_ebda"))
		CHECKF((uintptr_t)rsdp >= 0x9fc00 && (uintptr_t)rsdp < 0xa0000, "rsdp_in_ebda",
		       "RSDP at %p", rsdp);
	rsdt = (const struct acpi_header *)(uintptr_t)rd32(rsdp + 16);
	CHECK(table_ok(rsdt, "RSDT"), "rsdt_checksum");
	if (rsdp[15] < 2) {
		SKIP("rsdp_v2_checksum", "ACPI 1.0 RSDP: no XSDT");
		SKIP("xsdt_matches_rsdt", "ACPI 1.0 RSDP: no XSDT");
	} else {
		CHECKF(rd32(rsdp + 20) == 36 && acpi_sum(rsdp, 36) == 0, "rsdp_v2_checksum",
		       "length %u", rd32(rsdp + 20));
		xsdt = (const struct acpi_header *)(uintptr_t)rd32(rsdp + 24);
		n = (rsdt->length - 36) / 4;
		bad = !table_ok(xsdt, "XSDT") || rd32(rsdp + 28) || (xsdt->length - 36) / 8 != n;
		for (uint32_t i = 0; !bad && i < n; i++)
			bad += rd32((const uint8_t *)rsdt + 36 + 4 * i) !=
				       rd32((const uint8_t *)xsdt + 36 + 8 * i) ||
			       rd32((const uint8_t *)xsdt + 40 + 8 * i);
		CHECK(!bad, "xsdt_matches_rsdt");
	}
	bad = 0;
	n = (rsdt->length - 36) / 4;
	for (uint32_t i = 0; i < n; i++) {
		const struct acpi_header *t =
			(const struct acpi_header *)(uintptr_t)rd32((const uint8_t *)rsdt + 36 + 4 * i);

		if (acpi_sum(t, t->length) || t->length < 36) {
			gprintf("acpi: table %.4s at %p: bad checksum or length\n", t->sig, t);
			bad++;
		}
	}
	CHECKF(n >= 3 && !bad, "tables_checksum", "%u tables, %u bad", n, bad);
}

static void check_fadt(struct fadt_ports *p)
{
	const uint8_t *f = (const uint8_t *)acpi_table("FACP", 0);
	const uint8_t *facs;

	CHECK(table_ok((const struct acpi_header *)f, "FACP"), "fadt_found");
	if (!f)
		guest_finish();
	p->pm1a_evt = rd32(f + 56);
	p->pm1a_cnt = rd32(f + 64);
	p->pm_tmr = rd32(f + 76);
	p->smi_cmd = rd32(f + 48);
	p->acpi_enable = f[52];
	p->flags = rd32(f + 112);
	CHECKF(rd16(f + 46) == 9 && p->pm1a_evt == 0x600 && p->pm1a_cnt == 0x604 &&
	       p->pm_tmr == 0x608 && f[88] == 4 && f[89] == 2 && f[91] == 4, "fadt_pm_blocks",
	       "SCI %u, PM1a event 0x%x/%u, control 0x%x/%u, timer 0x%x/%u", rd16(f + 46),
	       p->pm1a_evt, f[88], p->pm1a_cnt, f[89], p->pm_tmr, f[91]);
	facs = (const uint8_t *)(uintptr_t)rd32(f + 36);
	CHECKF(facs && !((uintptr_t)facs & 63) && !__builtin_memcmp(facs, "FACS", 4) &&
	       rd32(facs + 4) >= 64, "facs", "FACS at %p", facs);
	p->dsdt = acpi_table("DSDT", 0);
	CHECK(table_ok(p->dsdt, "DSDT"), "dsdt_checksum");
	/* The reset register (FADT flag RESET_REG_SUP): 0xcf9 with its reset-CPU bit (2). */
	if (!(p->flags & (1u << 10)) || rd32(f + 4) < 129)
		SKIP("fadt_reset_register", "the FADT offers no reset register");
	else
		CHECKF(f[116] == 1 && rd32(f + 120) == 0xcf9 && (f[128] & 4), "fadt_reset_register",
		       "space %u address 0x%x value 0x%x", f[116], rd32(f + 120), f[128]);
}

static void check_madt(void)
{
	const struct acpi_header *m = acpi_table("APIC", 0);
	const uint8_t *p, *end;
	unsigned int cpus = 0, ioapics = 0, bad = 0;
	uint32_t ids = 0, irq0_gsi = ~0u, sci_flags = ~0u;
	bool io_ok = false;

	CHECK(table_ok(m, "APIC"), "madt_found");
	if (!m)
		return;
	p = (const uint8_t *)m;
	CHECKF(rd32(p + 36) == LAPIC_BASE && (rd32(p + 40) & 1) &&
	       (rdmsr(MSR_IA32_APIC_BASE) & ~0xfffull) == rd32(p + 36), "madt_lapic_address",
	       "local APIC at 0x%x, flags 0x%x", rd32(p + 36), rd32(p + 40));
	end = p + m->length;
	for (p += 44; p + 2 <= end; p += p[1]) {
		if (p[1] < 2 || p + p[1] > end) {
			bad++;
			break;
		}
		if (p[0] == 0 && (rd32(p + 4) & 1)) {
			cpus++;
			ids |= p[3] < 32 ? 1u << p[3] : 0;
		} else if (p[0] == 1) {
			ioapics++;
			io_ok = rd32(p + 4) == IOAPIC_BASE && rd32(p + 8) == 0 &&
				p[2] == ((ioapic_read(0) >> 24) & 0xf);
		} else if (p[0] == 2 && p[2] == 0 && p[3] == 0) {
			irq0_gsi = rd32(p + 4);
		} else if (p[0] == 2 && p[2] == 0 && p[3] == 9) {
			sci_flags = rd16(p + 8);
		}
	}
	CHECKF(!bad && p == end, "madt_entries_well_formed", "an entry overruns the table");
	CHECKF(cpus == NCPUS && ids == 3 && (ids & (1u << lapic_id())), "madt_one_lapic_per_vcpu",
	       "%u enabled local APICs, IDs mask 0x%x", cpus, ids);
	CHECKF(ioapics == 1 && io_ok, "madt_ioapic", "%u IOAPICs, address/GSI base/ID %s", ioapics,
	       io_ok ? "right" : "wrong");
	CHECK_EQ(irq0_gsi, 2, "madt_irq0_to_gsi2");
	CHECK_EQ(sci_flags, 0x000d, "madt_sci_level_high");
}

static void check_mcfg(void)
{
	const struct acpi_header *m = acpi_table("MCFG", 0);
	const uint8_t *e;
	uint32_t ecam_id, mech1_id;

	if (!m && !vmk_present()) {
		SKIP("mcfg_matches_ecam", "no MCFG (no PCI Express host bridge)");
		return;
	}
	CHECK(table_ok(m, "MCFG") && m->length >= 60, "mcfg_found");
	if (!m)
		return;
	e = (const uint8_t *)m + 44;
	ecam_id = *(volatile uint32_t *)(uintptr_t)rd32(e);
	mech1_id = pci_cfg_read32(0, 0, 0, 0);
	CHECKF(rd32(e) == 0xb0000000u && !rd32(e + 4) && rd16(e + 8) == 0 && e[10] == 0 &&
	       ecam_id == mech1_id, "mcfg_matches_ecam",
	       "base 0x%x, segment %u, buses %u-%u; 00:00.0 is 0x%x by ECAM, 0x%x by 0xcf8",
	       rd32(e), rd16(e + 8), e[10], e[11], ecam_id, mech1_id);
}

/* \_S5's SLP_TYPa from the DSDT's AML: Name(_S5_, Package(n) { a, ... }); -1 if absent. */
static int s5_slp_typ(const struct acpi_header *dsdt)
{
	const uint8_t *a = (const uint8_t *)dsdt, *end = a + dsdt->length, *p;

	for (p = a + 36; p + 8 < end; p++) {
		const uint8_t *q = p + 4;
		unsigned int extra;

		if (__builtin_memcmp(p, "_S5_", 4) ||
		    !(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08)) || *q++ != 0x12)
			continue;
		extra = *q >> 6; /* PkgLength: bits 7:6 count the bytes that follow */
		q += 1 + extra + 1; /* past PkgLength and NumElements */
		switch (*q) {
		case 0x00:
			return 0; /* ZeroOp */
		case 0x01:
			return 1; /* OneOp */
		case 0x0a:
			return q[1] & 7; /* BytePrefix */
		case 0x0b:
		case 0x0c:
			return q[1] & 7; /* WordPrefix, DWordPrefix: low bits */
		default:
			return -1;
		}
	}
	return -1;
}

static bool dsdt_has_pci_root(const struct acpi_header *dsdt)
{
	static const uint8_t pnp0a03[5] = { 0x0c, 0x41, 0xd0, 0x0a, 0x03 }; /* EISAID DWord */
	const uint8_t *a = (const uint8_t *)dsdt;

	for (uint32_t i = 36; i + 5 <= dsdt->length; i++) {
		if (!__builtin_memcmp(a + i, pnp0a03, 5))
			return true;
	}
	return false;
}

static uint32_t pm_port;
static uint32_t pm_mask;

static uint32_t read_pm_timer(void)
{
	return inl((uint16_t)pm_port) & pm_mask;
}

static void check_pm_timer(const struct fadt_ports *p)
{
	struct clock_sample pm0, pm1, pit0, pit1;
	uint64_t dpm, dpit, ratio, want, slack;
	bool wrapped;

	pm_port = p->pm_tmr;
	pm_mask = p->flags & (1u << 8) ? 0xffffffffu : 0xffffffu; /* TMR_VAL_EXT */
	/* ~11 ms of PIT counting; a round in which the count passed zero is repeated. */
	for (int round = 0; round < 8; round++) {
		pm0 = clock_sample(read_pm_timer);
		pit_ch2_start(0xffff);
		pit0 = clock_sample(pit_ch2_count);
		while (pit_ch2_count() > 0xc000 && !pit_ch2_out())
			;
		pit1 = clock_sample(pit_ch2_count);
		pm1 = clock_sample(read_pm_timer);
		wrapped = pit_ch2_out();
		pit_ch2_stop();
		if (!wrapped)
			break;
	}
	dpm = (pm1.val - pm0.val) & pm_mask;
	dpit = pit0.val - pit1.val;
	/* PM ticks per PIT tick, in thousandths, over the same stretch of TSC time. */
	ratio = wrapped || !dpit ? 0 : udiv64(dpm * 1000 * (pit1.tsc - pit0.tsc), (uint32_t)dpit,
					     NULL);
	ratio = udiv64(ratio, (uint32_t)(pm1.tsc - pm0.tsc), NULL);
	gprintf("acpi: PM timer %llu ticks over %llu PIT ticks: ratio %llu/1000\n",
		(unsigned long long)dpm, (unsigned long long)dpit, (unsigned long long)ratio);
	CHECKF(dpm > 0, "pm_timer_counts", "the PM timer did not move");
	CHECKF(ratio >= 2760 && ratio <= 3240, "pm_timer_3x_pit",
	       "%llu/1000 PM ticks per PIT tick (3.579545 / 1.193182 MHz = 3)",
	       (unsigned long long)ratio);
	if (!tsc_hz_cpuid()) {
		SKIP("pm_timer_vs_tsc", "CPUID states no TSC rate");
		return;
	}
	want = udiv64((pm1.tsc - pm0.tsc) * PM_TIMER_HZ, (uint32_t)tsc_rate, NULL);
	slack = udiv64(want, 12, NULL);
	CHECKF(dpm >= want - slack && dpm <= want + slack, "pm_timer_vs_tsc",
	       "%llu PM ticks where the TSC rate says %llu", (unsigned long long)dpm,
	       (unsigned long long)want);
}

static void check_pm1(const struct fadt_ports *p)
{
	uint16_t en0 = inw((uint16_t)(p->pm1a_evt + 2)), en1, en2;

	outw((uint16_t)(p->pm1a_evt + 2), 0x0100); /* PWRBTN_EN */
	en1 = inw((uint16_t)(p->pm1a_evt + 2));
	outw((uint16_t)(p->pm1a_evt + 2), 0);
	en2 = inw((uint16_t)(p->pm1a_evt + 2));
	outw((uint16_t)(p->pm1a_evt + 2), en0);
	CHECKF(en1 == 0x0100 && en2 == 0, "pm1_enable_round_trip", "read 0x%x and 0x%x", en1, en2);
	/* ACPI mode: without an SMI command port the machine is always in it. */
	if (!(inw((uint16_t)p->pm1a_cnt) & SCI_EN) && p->smi_cmd) {
		outb((uint16_t)p->smi_cmd, p->acpi_enable);
		for (int i = 0; i < 100000 && !(inw((uint16_t)p->pm1a_cnt) & SCI_EN); i++)
			;
	}
	CHECKF(inw((uint16_t)p->pm1a_cnt) & SCI_EN, "sci_en", "PM1a control 0x%x",
	       inw((uint16_t)p->pm1a_cnt));
}

void guest_main(void)
{
	struct fadt_ports p = { 0 };
	int typ, status;

	tsc_rate = tsc_hz();
	check_root();
	check_fadt(&p);
	check_madt();
	check_mcfg();
	if (!p.dsdt)
		guest_finish();
	typ = s5_slp_typ(p.dsdt);
	CHECKF(typ >= 0, "dsdt_s5_package", "no Name(_S5_, Package) with a SLP_TYPa");
	if (!vmk_skip("dsdt_s5_is_5"))
		CHECK_EQ(typ, 5, "dsdt_s5_is_5");
	CHECK(dsdt_has_pci_root(p.dsdt), "dsdt_pci_root_pnp0a03");
	check_pm_timer(&p);
	check_pm1(&p);
	status = finish_status();
	if (status || typ < 0) {
		outb(0xf4, (uint8_t)(status ? status : 1));
		guest_halt();
	}
	gprintf("acpi: powering off (SLP_TYPa %d)\n", typ);
	outw((uint16_t)p.pm1a_cnt,
	     (uint16_t)((inw((uint16_t)p.pm1a_cnt) & SCI_EN) | (unsigned int)typ << 10 | SLP_EN));
	wait_tsc(udiv64(tsc_rate, 2, NULL));
	guest_fail("still running half a second after S5");
	guest_finish();
}
