/*
 * The VM's ACPI tables (ACPI 6.5 chapter 5), laid out one after another
 * in a blob that sits in guest RAM at the top of low memory; the RSDP goes
 * into the EBDA, where a BIOS-area scan finds it.
 *
 *   FACS   64-byte aligned, no checksum
 *   DSDT   \_S5 (soft-off: SLP_TYP 5), \_SB.PCI0 (the PCI root bridge with
 *          its bus, I/O and memory windows and an interrupt routing table
 *          for INTx), \_SB.MRES (the ECAM window, so kernels trust MCFG),
 *          \_SB.COM1 and \_SB.RTC_ (their ports and IRQs), \_SB.FWCF (fw_cfg)
 *   FADT   revision 6: SCI 9, PM1a event/control blocks, 32-bit PM timer,
 *          reset register (port 0xcf9 <- 6), no SMI command port (the
 *          machine is always in ACPI mode), legacy devices but no 8042 or VGA
 *   MADT   one local APIC per vCPU, the IOAPIC, IRQ 0 -> GSI 2 and the SCI
 *          (level, active high) overrides, LINT1 as NMI on every CPU
 *   MCFG   ECAM for segment 0, buses 0 .. ecam_bus_end
 *   RSDT, XSDT  the FADT, MADT and MCFG
 *
 * Table contents are built field by field into little-endian bytes; the
 * structures' layouts are checked against vmkernel's parser in the tests.
 */
#include <string.h>
#include <vmm/acpi_tables.h>
#include "aml.h"

#define OEM_ID		"VMKERN"
#define OEM_TABLE	"VMKVMM  "
#define CREATOR		"VMKR"

struct blob {
	uint8_t *buf;
	size_t len, cap;
	uint64_t gpa;
	bool overflow;
};

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return (uint8_t)-s;
}

/* Reserve n zeroed bytes at the given alignment; NULL (and overflow) if full. */
static uint8_t *reserve(struct blob *b, size_t n, size_t align, uint64_t *gpa)
{
	size_t at = (b->len + align - 1) & ~(align - 1);

	if (b->overflow || at + n > b->cap) {
		b->overflow = true;
		return NULL;
	}
	memset(b->buf + at, 0, n);
	b->len = at + n;
	*gpa = b->gpa + at;
	return b->buf + at;
}

static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put(t + 4, len, 4);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE, 8);
	put(t + 24, 1, 4);
	memcpy(t + 28, CREATOR, 4);
	put(t + 32, 1, 4);
}

static void finish(uint8_t *t, uint32_t len)
{
	t[9] = 0;
	t[9] = checksum(t, len);
}

static void gas_io(uint8_t *g, uint16_t port, uint8_t bits)
{
	g[0] = 1;		/* system I/O */
	g[1] = bits;
	g[2] = 0;
	g[3] = bits == 8 ? 1 : bits == 16 ? 2 : 3;
	put(g + 4, port, 8);
}

/* \_SB.PCI0._PRT: INTA-D of slots 1-31 to the PCI GSIs, swizzled. */
static void pci_routing(struct aml *a, const struct acpi_build_params *p)
{
	aml_name_decl(a, "_PRT");
	aml_package_open(a, 31 * 4);
	for (unsigned slot = 1; slot < 32; slot++) {
		for (unsigned pin = 0; pin < 4; pin++) {
			aml_package_open(a, 4);
			aml_int(a, (uint64_t)slot << 16 | 0xffff);
			aml_int(a, pin);
			aml_int(a, 0);
			aml_int(a, p->pci_intx_gsi_base + (slot + pin) % 4);
			aml_close(a);
		}
	}
	aml_close(a);
}

static void pci_root(struct aml *a, const struct acpi_build_params *p)
{
	aml_device_open(a, "PCI0");
	aml_name_decl(a, "_HID");
	aml_int(a, aml_eisaid("PNP0A03"));
	aml_name_decl(a, "_ADR");
	aml_int(a, 0);
	aml_name_decl(a, "_UID");
	aml_int(a, 0);
	aml_name_decl(a, "_BBN");
	aml_int(a, 0);
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	aml_res_word_bus(a, 0, p->ecam_base ? p->ecam_bus_end : 0xff);
	aml_res_io(a, 0xcf8, 8);
	aml_res_word_io(a, 0x0000, 0x0cf7);
	aml_res_word_io(a, 0x0d00, 0xffff);
	aml_res_dword_mem(a, 0x000a0000, 0x000bffff);
	aml_res_dword_mem(a, p->pci_mmio_base, p->pci_mmio_end - 1);
	aml_res_end(a);
	aml_close(a);
	pci_routing(a, p);
	aml_close(a);
}

/* A device with a _HID, _UID and a _CRS of one I/O range and maybe one IRQ. */
static void isa_device(struct aml *a, const char *name, const char *hid, unsigned uid,
		       uint16_t port, uint8_t len, int irq)
{
	aml_device_open(a, name);
	aml_name_decl(a, "_HID");
	aml_int(a, aml_eisaid(hid));
	aml_name_decl(a, "_UID");
	aml_int(a, uid);
	aml_name_decl(a, "_CRS");
	aml_buffer_open(a);
	aml_res_io(a, port, len);
	if (irq >= 0)
		aml_res_irq(a, (uint16_t)(1U << irq));
	aml_res_end(a);
	aml_close(a);
	aml_close(a);
}

static uint64_t build_dsdt(struct blob *b, const struct acpi_build_params *p)
{
	uint8_t aml_buf[4096];
	struct aml a;
	uint64_t gpa;
	uint8_t *t;

	aml_init(&a, aml_buf, sizeof(aml_buf));
	aml_name_decl(&a, "\\_S5");
	aml_package_open(&a, 4);
	aml_int(&a, ACPI_SLP_TYP_S5);
	aml_int(&a, ACPI_SLP_TYP_S5);
	aml_int(&a, 0);
	aml_int(&a, 0);
	aml_close(&a);
	aml_scope_open(&a, "\\_SB");
	pci_root(&a, p);
	if (p->ecam_base) {
		aml_device_open(&a, "MRES");
		aml_name_decl(&a, "_HID");
		aml_int(&a, aml_eisaid("PNP0C02"));
		aml_name_decl(&a, "_UID");
		aml_int(&a, 1);
		aml_name_decl(&a, "_CRS");
		aml_buffer_open(&a);
		aml_res_mem32_fixed(&a, (uint32_t)p->ecam_base,
				    ((uint32_t)p->ecam_bus_end + 1) << 20);
		aml_res_end(&a);
		aml_close(&a);
		aml_close(&a);
	}
	if (p->com1_port)
		isa_device(&a, "COM1", "PNP0501", 1, p->com1_port, 8, p->com1_irq);
	/* fw_cfg, as QEMU describes it (a string _HID). */
	aml_device_open(&a, "FWCF");
	aml_name_decl(&a, "_HID");
	aml_string(&a, "QEMU0002");
	aml_name_decl(&a, "_STA");
	aml_int(&a, 0x0b);
	aml_name_decl(&a, "_CRS");
	aml_buffer_open(&a);
	aml_res_io(&a, 0x510, 0x0c);
	aml_res_end(&a);
	aml_close(&a);
	aml_close(&a);
	isa_device(&a, "RTC", "PNP0B00", 0, 0x70, 2, 8);
	aml_close(&a);
	if (a.overflow || a.depth)
		return 0;
	t = reserve(b, 36 + a.len, 16, &gpa);
	if (!t)
		return 0;
	header(t, "DSDT", (uint32_t)(36 + a.len), 2);
	memcpy(t + 36, aml_buf, a.len);
	finish(t, (uint32_t)(36 + a.len));
	return gpa;
}

static uint64_t build_fadt(struct blob *b, uint64_t facs, uint64_t dsdt)
{
	uint64_t gpa;
	uint8_t *t = reserve(b, 276, 16, &gpa);

	if (!t)
		return 0;
	header(t, "FACP", 276, 6);
	put(t + 36, facs, 4);
	put(t + 40, dsdt, 4);
	put(t + 46, ACPI_SCI_IRQ, 2);
	put(t + 56, ACPI_PM1A_EVT_PORT, 4);
	put(t + 64, ACPI_PM1A_CNT_PORT, 4);
	put(t + 76, ACPI_PM_TMR_PORT, 4);
	t[88] = 4;			/* PM1_EVT_LEN */
	t[89] = 2;			/* PM1_CNT_LEN */
	t[91] = 4;			/* PM_TMR_LEN */
	put(t + 96, 101, 2);		/* no C2 */
	put(t + 98, 1001, 2);		/* no C3 */
	t[108] = 0x32;			/* CMOS century */
	put(t + 109, (1U << 0) | (1U << 2), 2);	/* legacy devices; no 8042; no VGA */
	/* WBINVD, C1 on all CPUs, no sleep button, 32-bit PM timer, reset register. */
	put(t + 112, (1U << 0) | (1U << 2) | (1U << 5) | (1U << 8) | (1U << 10), 4);
	gas_io(t + 116, ACPI_RESET_PORT, 8);
	t[128] = ACPI_RESET_VALUE;
	t[131] = 5;			/* FADT minor version: ACPI 6.5 */
	put(t + 132, facs, 8);
	put(t + 140, dsdt, 8);
	gas_io(t + 148, ACPI_PM1A_EVT_PORT, 32);
	gas_io(t + 172, ACPI_PM1A_CNT_PORT, 16);
	gas_io(t + 208, ACPI_PM_TMR_PORT, 32);
	memcpy(t + 268, "VMKernel", 8);	/* hypervisor vendor identity */
	finish(t, 276);
	return gpa;
}

static uint64_t build_madt(struct blob *b, const struct acpi_build_params *p)
{
	uint32_t len = 44 + 8 * p->ncpus + 12 + 2 * 10 + 6;
	uint64_t gpa;
	uint8_t *t = reserve(b, len, 16, &gpa), *e;

	if (!t)
		return 0;
	header(t, "APIC", len, 5);
	put(t + 36, p->lapic_base, 4);
	put(t + 40, 1, 4);		/* PC-AT compatible: dual 8259 present */
	e = t + 44;
	for (unsigned i = 0; i < p->ncpus; i++, e += 8) {
		e[0] = 0;		/* processor local APIC */
		e[1] = 8;
		e[2] = (uint8_t)i;	/* ACPI processor UID */
		e[3] = (uint8_t)i;	/* APIC ID */
		put(e + 4, 1, 4);	/* enabled */
	}
	e[0] = 1;			/* IOAPIC */
	e[1] = 12;
	e[2] = p->ioapic_id;
	put(e + 4, p->ioapic_base, 4);
	put(e + 8, 0, 4);		/* GSI base */
	e += 12;
	/* Interrupt source overrides: bus 0 (ISA) IRQ -> GSI, flags. */
	e[0] = 2; e[1] = 10; e[2] = 0; e[3] = 0; put(e + 4, 2, 4); put(e + 8, 0, 2);
	e += 10;
	e[0] = 2; e[1] = 10; e[2] = 0; e[3] = ACPI_SCI_IRQ; put(e + 4, ACPI_SCI_IRQ, 4);
	put(e + 8, 0x000d, 2);		/* level-triggered, active high */
	e += 10;
	e[0] = 4;			/* local APIC NMI */
	e[1] = 6;
	e[2] = 0xff;			/* all processors */
	put(e + 3, 0, 2);
	e[5] = 1;			/* LINT1 */
	finish(t, len);
	return gpa;
}

static uint64_t build_mcfg(struct blob *b, const struct acpi_build_params *p)
{
	uint64_t gpa;
	uint8_t *t = reserve(b, 60, 16, &gpa);

	if (!t)
		return 0;
	header(t, "MCFG", 60, 1);
	put(t + 44, p->ecam_base, 8);
	put(t + 52, 0, 2);		/* segment */
	t[54] = 0;
	t[55] = p->ecam_bus_end;
	finish(t, 60);
	return gpa;
}

static uint64_t build_root(struct blob *b, const char *sig, unsigned width,
			   const uint64_t *tables, unsigned n)
{
	uint32_t len = 36 + width * n;
	uint64_t gpa;
	uint8_t *t = reserve(b, len, 16, &gpa);

	if (!t)
		return 0;
	header(t, sig, len, 1);
	for (unsigned i = 0; i < n; i++)
		put(t + 36 + width * i, tables[i], width);
	finish(t, len);
	return gpa;
}

size_t acpi_build(const struct acpi_build_params *p, uint8_t *buf, size_t cap, uint64_t tables_gpa,
		  uint8_t rsdp[ACPI_RSDP_SIZE])
{
	struct blob b = { buf, 0, cap, tables_gpa, false };
	uint64_t facs = 0, dsdt, t[3], rsdt, xsdt;
	unsigned n = 0;
	uint8_t *f = reserve(&b, 64, 64, &facs);

	if (f) {
		memcpy(f, "FACS", 4);
		put(f + 4, 64, 4);
		f[32] = 2;	/* version */
	}
	dsdt = build_dsdt(&b, p);
	t[n++] = build_fadt(&b, facs, dsdt);
	t[n++] = build_madt(&b, p);
	if (p->ecam_base)
		t[n++] = build_mcfg(&b, p);
	rsdt = build_root(&b, "RSDT", 4, t, n);
	xsdt = build_root(&b, "XSDT", 8, t, n);
	if (b.overflow || !dsdt)
		return 0;
	memset(rsdp, 0, ACPI_RSDP_SIZE);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, OEM_ID, 6);
	rsdp[15] = 2;			/* ACPI 2.0+ */
	put(rsdp + 16, rsdt, 4);
	put(rsdp + 20, ACPI_RSDP_SIZE, 4);
	put(rsdp + 24, xsdt, 8);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, ACPI_RSDP_SIZE);
	return b.len;
}
