/*
 * pci: the PCI bus as an OS enumerates and programs it (PCI Local Bus 3.0,
 * PCI Express Base for ECAM).
 *
 * Any platform: bus 0 through configuration mechanism #1 and through the
 * ECAM window the MCFG names give the same functions with the same
 * headers, an absent bus reads as all ones, the address register reads
 * back, 00:00.0 is a host bridge; every BAR sizes to a power of two with
 * its type bits intact and is restored; every capability list is well
 * formed.
 *
 * Under vmkernel with test.pcidev (the 1234:5678 test device,
 * vmm/vdev/pci/testdev.c): its identity, interrupt pin and line, BAR
 * sizes; BARs placed in the PCI window, memory and I/O decoding (a BAR
 * moves, I/O decoding off floats the ports); MSI (needs bus mastering,
 * the mask holds a message in the pending bit until unmasked); MSI-X per
 * vector (a masked vector's PBA bit, delivered on unmask; the function
 * mask likewise); and INTx through the IOAPIC, level-triggered: status
 * bit 3, redelivery after EOI until the device is acknowledged, remote
 * IRR, and the command register's Interrupt Disable.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"
#include "lapic.h"
#include "pc.h"

const char guest_name[] = "pci";

#define CMD_IO 0x1
#define CMD_MEM 0x2
#define CMD_MASTER 0x4
#define CMD_INTX_OFF 0x400
#define STS_INTX 0x8
#define STS_CAPS 0x10
#define BAR0_ADDR 0xc0000000u /* the PCI memory window (docs/guest-platform.md) */
#define BAR2_ADDR 0xc0001000u
#define BAR1_PORT 0xc000
#define BAR1_MOVED 0xc100
#define TESTDEV_ID 0x544b4d56u /* "VMKT" */
#define VEC_MSI 0x70
#define VEC_MSIX 0x71 /* 0x71-0x74: MSI-X vectors 0-3 */
#define VEC_INTX 0x78

static uint64_t tsc_rate;
static uint32_t ecam; /* MCFG base, 0 if none */

static uint32_t rd32_le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t ms(unsigned int n)
{
	return udiv64(tsc_rate * n, 1000, NULL);
}

static volatile uint32_t *ecam_ptr(unsigned int bus, unsigned int dev, unsigned int fn,
				   unsigned int reg)
{
	return (volatile uint32_t *)(uintptr_t)(ecam + (bus << 20 | dev << 15 | fn << 12 | reg));
}

/* Functions on bus 0: dev << 3 | fn, for each that answers. */
static uint8_t funcs[64];
static unsigned int nfuncs;

static void enumerate(void)
{
	for (unsigned int dev = 0; dev < 32; dev++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			if ((pci_cfg_read32(0, dev, fn, 0) & 0xffff) == 0xffff) {
				if (fn == 0)
					break;
				continue;
			}
			if (nfuncs < 64)
				funcs[nfuncs++] = (uint8_t)(dev << 3 | fn);
			if (fn == 0 && !(pci_cfg_read8(0, dev, 0, 0x0e) & 0x80))
				break; /* single-function device */
		}
	}
}

static void check_config_access(void)
{
	static const uint8_t regs[] = { 0x00, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c,
					0x20, 0x24, 0x2c, 0x34, 0x3c };
	const struct acpi_header *mcfg = acpi_table("MCFG", 0);
	unsigned int bad = 0;
	uint32_t cls;

	outl(0xcf8, 0x80001864);
	CHECK_EQ(inl(0xcf8), 0x80001864, "config_address_reads_back");
	enumerate();
	gprintf("pci: %u functions on bus 0\n", nfuncs);
	cls = pci_cfg_read32(0, 0, 0, 8) >> 8;
	CHECKF(nfuncs >= 1 && funcs[0] == 0 && (cls >> 8) == 0x0600 &&
	       (pci_cfg_read8(0, 0, 0, 0x0e) & 0x7f) == 0, "host_bridge_at_00_00_0",
	       "class 0x%06x", cls);
	if (!vmk_skip("host_bridge_8086_1237"))
		CHECK_EQ(pci_cfg_read32(0, 0, 0, 0), 0x12378086, "host_bridge_8086_1237");
	if (!mcfg) {
		SKIP("ecam_matches_mechanism_1", "no MCFG");
		SKIP("ecam_absent_bus_ones", "no MCFG");
		return;
	}
	ecam = rd32_le((const uint8_t *)mcfg + 44);
	for (unsigned int d = 0; d < 32; d++) {
		for (unsigned int fn = 0; fn < 8; fn += 7) {
			bad += *ecam_ptr(0, d, fn, 0) != pci_cfg_read32(0, d, fn, 0);
		}
	}
	for (unsigned int i = 0; i < nfuncs; i++) {
		unsigned int d = funcs[i] >> 3, fn = funcs[i] & 7;

		for (unsigned int r = 0; r < sizeof(regs); r++)
			bad += *ecam_ptr(0, d, fn, regs[r]) != pci_cfg_read32(0, d, fn, regs[r]);
	}
	CHECKF(bad == 0, "ecam_matches_mechanism_1", "%u registers differ", bad);
	CHECK_EQ(*ecam_ptr(1, 0, 0, 0), 0xffffffff, "ecam_absent_bus_ones");
}

/* Size one 32-bit BAR register the standard way; returns the mask read back. */
static uint32_t size_bar(unsigned int d, unsigned int fn, unsigned int reg)
{
	uint32_t old = pci_cfg_read32(0, d, fn, reg), mask;

	pci_cfg_write32(0, d, fn, reg, 0xffffffff);
	mask = pci_cfg_read32(0, d, fn, reg);
	pci_cfg_write32(0, d, fn, reg, old);
	return mask;
}

static bool bar_mask_ok(uint32_t old, uint32_t mask, uint32_t hi_mask, bool is64)
{
	uint64_t m;

	if (!mask)
		return old == 0; /* unimplemented */
	if (old & 1) { /* I/O: bit 1 reserved; a size within 16 bits, as Linux reads it */
		uint32_t size = (~(mask & ~3u) + 1) & 0xffff;

		return (mask & 3) == 1 && size >= 4 && !(size & (size - 1));
	}
	if ((mask & 0xf) != (old & 0xf))
		return false;
	m = ((uint64_t)(is64 ? hi_mask : 0xffffffffu) << 32) | (mask & ~0xfu);
	m = ~m + 1;
	return m >= 16 && !(m & (m - 1));
}

static void check_bars(void)
{
	unsigned int bad = 0, sized = 0, lost = 0;

	for (unsigned int i = 0; i < nfuncs; i++) {
		unsigned int d = funcs[i] >> 3, fn = funcs[i] & 7;
		uint16_t cmd = pci_cfg_read16(0, d, fn, 4);

		if ((pci_cfg_read8(0, d, fn, 0x0e) & 0x7f) != 0 || pci_cfg_read8(0, d, fn, 0x0b) == 6)
			continue; /* bridges: their BARs are not ours to move */
		pci_cfg_write16(0, d, fn, 4, (uint16_t)(cmd & ~(CMD_IO | CMD_MEM)));
		for (unsigned int b = 0; b < 6; b++) {
			unsigned int reg = 0x10 + 4 * b;
			uint32_t old = pci_cfg_read32(0, d, fn, reg), mask, hi = 0;
			bool is64 = !(old & 1) && ((old >> 1) & 3) == 2 && b < 5;

			mask = size_bar(d, fn, reg);
			if (is64)
				hi = size_bar(d, fn, reg + 4);
			if (!bar_mask_ok(old, mask, hi, is64)) {
				gprintf("pci: %02x.%u BAR%u 0x%x sizes as 0x%x/0x%x\n", d, fn, b, old,
					mask, hi);
				bad++;
			}
			sized += mask != 0;
			lost += pci_cfg_read32(0, d, fn, reg) != old;
			b += is64;
		}
		pci_cfg_write16(0, d, fn, 4, cmd);
	}
	CHECKF(bad == 0 && sized > 0, "bar_sizes", "%u BARs sized, %u invalid", sized, bad);
	CHECK_EQ(lost, 0, "bars_restored");
}

/* Walk a capability list; the offset of cap id (0 if absent), or -1 if the list is broken. */
static int find_cap(unsigned int d, unsigned int fn, uint8_t id)
{
	uint8_t seen[64] = { 0 }, ptr;
	int found = 0;

	if (!(pci_cfg_read16(0, d, fn, 6) & STS_CAPS))
		return 0;
	ptr = pci_cfg_read8(0, d, fn, 0x34);
	for (int hops = 0; ptr; hops++) {
		if (ptr < 0x40 || (ptr & 3) || hops >= 48 || seen[ptr >> 2])
			return -1;
		seen[ptr >> 2] = 1;
		if (pci_cfg_read8(0, d, fn, ptr) == id && !found)
			found = ptr;
		ptr = pci_cfg_read8(0, d, fn, ptr + 1);
	}
	return found;
}

static void check_caps(void)
{
	unsigned int bad = 0;

	for (unsigned int i = 0; i < nfuncs; i++)
		bad += find_cap(funcs[i] >> 3, funcs[i] & 7, 0xff) < 0;
	CHECKF(bad == 0, "capability_lists", "%u functions with a broken list", bad);
}

/* ---- the test device ---- */

static unsigned int tdev; /* its device number */
static volatile unsigned int msi_hits, msix_hits[4], intx_hits;
static volatile bool remote_irr_seen, intx_ack_first;
static unsigned int intx_gsi;

static volatile uint32_t *bar0(unsigned int off)
{
	return (volatile uint32_t *)(uintptr_t)(BAR0_ADDR + off);
}

static void cmd_write(uint16_t v)
{
	pci_cfg_write16(0, tdev, 0, 4, v);
}

static void msi_handler(struct trap_frame *f)
{
	if (f->vector == VEC_MSI)
		msi_hits++;
	else
		msix_hits[f->vector - VEC_MSIX]++;
	lapic_eoi();
}

static void intx_handler(struct trap_frame *f)
{
	(void)f;
	intx_hits++;
	if (intx_hits == 1 && !intx_ack_first)
		remote_irr_seen = ioapic_read(0x10 + 2 * intx_gsi) & REDIR_REMOTE_IRR;
	else
		*bar0(0x0c) = 1; /* acknowledge: the device drops INTx */
	lapic_eoi();
}

/* Ring the doorbell (interrupt n), let IF=1 time pass for it. */
static void ring(unsigned int n, unsigned int wait_ms)
{
	*bar0(0x08) = n;
	sti();
	wait_tsc(ms(wait_ms));
	cli();
}

static bool find_testdev(void)
{
	for (unsigned int i = 0; i < nfuncs; i++) {
		if (pci_cfg_read32(0, funcs[i] >> 3, funcs[i] & 7, 0) == 0x56781234) {
			tdev = funcs[i] >> 3;
			return true;
		}
	}
	return false;
}

static void check_testdev_config(void)
{
	uint32_t cls = pci_cfg_read32(0, tdev, 0, 8) >> 8;
	uint8_t pin = pci_cfg_read8(0, tdev, 0, 0x3d), line = pci_cfg_read8(0, tdev, 0, 0x3c);

	CHECKF(cls == 0x088000 && pci_cfg_read32(0, tdev, 0, 0x2c) == 0x00011234,
	       "testdev_identity", "class 0x%06x subsystem 0x%x", cls,
	       pci_cfg_read32(0, tdev, 0, 0x2c));
	/* INTA of slot s is GSI 16 + (s + pin - 1) % 4 (the DSDT's _PRT swizzle). */
	CHECKF(pin == 1 && line == 16 + (tdev + pin - 1) % 4, "testdev_intx_pin_line",
	       "slot %u pin %u line %u", tdev, pin, line);
	intx_gsi = line;
	CHECKF(size_bar(tdev, 0, 0x10) == 0xfffff000 && size_bar(tdev, 0, 0x14) == 0xfffffff1 &&
	       size_bar(tdev, 0, 0x18) == 0xfffff000 && size_bar(tdev, 0, 0x1c) == 0 &&
	       size_bar(tdev, 0, 0x20) == 0 && size_bar(tdev, 0, 0x24) == 0, "testdev_bar_sizes",
	       "BAR0 0x%x BAR1 0x%x BAR2 0x%x", size_bar(tdev, 0, 0x10), size_bar(tdev, 0, 0x14),
	       size_bar(tdev, 0, 0x18));
}

static void check_testdev_decode(void)
{
	pci_cfg_write32(0, tdev, 0, 0x10, BAR0_ADDR);
	pci_cfg_write32(0, tdev, 0, 0x14, BAR1_PORT);
	pci_cfg_write32(0, tdev, 0, 0x18, BAR2_ADDR);
	CHECKF(pci_cfg_read32(0, tdev, 0, 0x10) == BAR0_ADDR &&
	       pci_cfg_read32(0, tdev, 0, 0x14) == (BAR1_PORT | 1), "bar_addresses_read_back",
	       "BAR0 0x%x BAR1 0x%x", pci_cfg_read32(0, tdev, 0, 0x10),
	       pci_cfg_read32(0, tdev, 0, 0x14));
	cmd_write(CMD_IO | CMD_MEM | CMD_MASTER);
	CHECK_EQ(*bar0(0), TESTDEV_ID, "bar0_register");
	*bar0(4) = 0x12345678;
	CHECK_EQ(*bar0(4), 0x12345678, "bar0_scratch");
	outl(BAR1_PORT, 0xcafe0001);
	CHECKF(inl(BAR1_PORT + 4) == TESTDEV_ID && inl(BAR1_PORT) == 0xcafe0001, "bar1_ports",
	       "ID port 0x%x, scratch 0x%x", inl(BAR1_PORT + 4), inl(BAR1_PORT));
	cmd_write(CMD_MEM | CMD_MASTER);
	CHECK_EQ(inl(BAR1_PORT + 4), 0xffffffff, "io_decode_off_floats");
	cmd_write(CMD_IO | CMD_MEM | CMD_MASTER);
	pci_cfg_write32(0, tdev, 0, 0x14, BAR1_MOVED);
	CHECKF(inl(BAR1_MOVED + 4) == TESTDEV_ID && inl(BAR1_PORT + 4) == 0xffffffff,
	       "bar1_moves", "new place 0x%x, old place 0x%x", inl(BAR1_MOVED + 4),
	       inl(BAR1_PORT + 4));
}

static void check_msi(int cap)
{
	uint16_t ctl = pci_cfg_read16(0, tdev, 0, (unsigned int)cap + 2);
	unsigned int rings = *bar0(0x10);

	CHECKF((ctl & 0x0180) == 0x0180 && !(ctl & 0x000e), "msi_64bit_maskable_1_vector",
	       "message control 0x%x", ctl);
	pci_cfg_write32(0, tdev, 0, (unsigned int)cap + 4, LAPIC_BASE | lapic_id() << 12);
	pci_cfg_write32(0, tdev, 0, (unsigned int)cap + 8, 0);
	pci_cfg_write16(0, tdev, 0, (unsigned int)cap + 12, VEC_MSI);
	pci_cfg_write16(0, tdev, 0, (unsigned int)cap + 2, (uint16_t)(ctl | 1));
	ring(0, 2);
	CHECKF(msi_hits == 1 && *bar0(0x10) == rings + 1, "msi_delivers",
	       "%u interrupts, doorbell count %u -> %u", msi_hits, rings, *bar0(0x10));
	/* A message is a memory write: without bus mastering none goes out. */
	cmd_write(CMD_IO | CMD_MEM);
	ring(0, 2);
	CHECKF(msi_hits == 1, "msi_needs_bus_master", "%u interrupts", msi_hits);
	cmd_write(CMD_IO | CMD_MEM | CMD_MASTER);
	/* Masked: held in the pending bit, sent on unmask (PCI 3.0 6.8.1.7-8). */
	pci_cfg_write32(0, tdev, 0, (unsigned int)cap + 16, 1);
	ring(0, 2);
	CHECKF(msi_hits == 1 && (pci_cfg_read32(0, tdev, 0, (unsigned int)cap + 20) & 1),
	       "msi_masked_pending", "%u interrupts, pending bits 0x%x", msi_hits,
	       pci_cfg_read32(0, tdev, 0, (unsigned int)cap + 20));
	pci_cfg_write32(0, tdev, 0, (unsigned int)cap + 16, 0);
	asm volatile("sti; nop; cli" : : : "memory");
	CHECKF(msi_hits == 2 && !(pci_cfg_read32(0, tdev, 0, (unsigned int)cap + 20) & 1),
	       "msi_unmask_delivers", "%u interrupts, pending bits 0x%x", msi_hits,
	       pci_cfg_read32(0, tdev, 0, (unsigned int)cap + 20));
	pci_cfg_write16(0, tdev, 0, (unsigned int)cap + 2, ctl & ~1);
}

static volatile uint32_t *msix_entry(unsigned int i, unsigned int word)
{
	return (volatile uint32_t *)(uintptr_t)(BAR2_ADDR + 16 * i + 4 * word);
}

static uint32_t pba(void)
{
	return *(volatile uint32_t *)(uintptr_t)(BAR2_ADDR + 0x800);
}

static void check_msix(int cap)
{
	uint16_t ctl = pci_cfg_read16(0, tdev, 0, (unsigned int)cap + 2);
	uint32_t table = pci_cfg_read32(0, tdev, 0, (unsigned int)cap + 4);
	uint32_t pbao = pci_cfg_read32(0, tdev, 0, (unsigned int)cap + 8), p;

	CHECKF((ctl & 0x7ff) == 3 && table == 2 && pbao == (0x800 | 2), "msix_layout",
	       "control 0x%x table 0x%x PBA 0x%x", ctl, table, pbao);
	for (unsigned int i = 0; i < 4; i++) {
		*msix_entry(i, 0) = LAPIC_BASE | lapic_id() << 12;
		*msix_entry(i, 1) = 0;
		*msix_entry(i, 2) = VEC_MSIX + i;
		*msix_entry(i, 3) = 0;
	}
	pci_cfg_write16(0, tdev, 0, (unsigned int)cap + 2, 0x8000);
	ring(2, 2);
	ring(0, 2);
	CHECKF(msix_hits[2] == 1 && msix_hits[0] == 1 && msix_hits[1] == 0 && msi_hits == 2,
	       "msix_per_vector", "vectors 0-3 took %u %u %u %u, MSI %u", msix_hits[0],
	       msix_hits[1], msix_hits[2], msix_hits[3], msi_hits);
	*msix_entry(1, 3) = 1;
	ring(1, 2);
	p = pba();
	CHECKF(msix_hits[1] == 0 && (p & 2), "msix_masked_vector_pending",
	       "%u interrupts, PBA 0x%x", msix_hits[1], p);
	*msix_entry(1, 3) = 0;
	asm volatile("sti; nop; cli" : : : "memory");
	CHECKF(msix_hits[1] == 1 && !(pba() & 2), "msix_unmask_delivers",
	       "%u interrupts, PBA 0x%x", msix_hits[1], pba());
	/* The function mask holds every vector the same way (PCI 3.0 6.8.2.3). */
	pci_cfg_write16(0, tdev, 0, (unsigned int)cap + 2, 0xc000);
	ring(3, 2);
	p = pba();
	CHECKF(msix_hits[3] == 0 && (p & 8), "msix_function_mask_pending",
	       "%u interrupts, PBA 0x%x", msix_hits[3], p);
	pci_cfg_write16(0, tdev, 0, (unsigned int)cap + 2, 0x8000);
	asm volatile("sti; nop; cli" : : : "memory");
	CHECKF(msix_hits[3] == 1 && !(pba() & 8), "msix_function_unmask_delivers",
	       "%u interrupts, PBA 0x%x", msix_hits[3], pba());
	pci_cfg_write16(0, tdev, 0, (unsigned int)cap + 2, 0);
}

static void check_intx(void)
{
	uint16_t sts;

	ioapic_route(intx_gsi, VEC_INTX | REDIR_LEVEL | REDIR_ACTIVE_LOW, (uint8_t)lapic_id());
	*bar0(0x08) = 0;
	sts = pci_cfg_read16(0, tdev, 0, 6);
	sti();
	wait_tsc(ms(2));
	cli();
	CHECKF(sts & STS_INTX, "intx_status_bit", "status 0x%x while asserted", sts);
	/* Level-triggered: EOI without acknowledging the device brings it back. */
	CHECKF(intx_hits == 2 && remote_irr_seen, "intx_level_redelivers",
	       "%u interrupts, remote IRR in the first %d", intx_hits, remote_irr_seen);
	CHECKF(!(pci_cfg_read16(0, tdev, 0, 6) & STS_INTX) &&
	       !(ioapic_read(0x10 + 2 * intx_gsi) & REDIR_REMOTE_IRR), "intx_ack_clears",
	       "status 0x%x, redirection entry 0x%x", pci_cfg_read16(0, tdev, 0, 6),
	       ioapic_read(0x10 + 2 * intx_gsi));
	/* Interrupt Disable: the status bit still shows it; the line stays quiet. */
	intx_ack_first = true;
	cmd_write(CMD_IO | CMD_MEM | CMD_MASTER | CMD_INTX_OFF);
	ring(0, 2);
	sts = pci_cfg_read16(0, tdev, 0, 6);
	CHECKF(intx_hits == 2 && (sts & STS_INTX), "intx_disable_holds",
	       "%u interrupts, status 0x%x", intx_hits, sts);
	cmd_write(CMD_IO | CMD_MEM | CMD_MASTER);
	asm volatile("sti; nop; cli" : : : "memory");
	CHECKF(intx_hits == 3, "intx_enable_delivers", "%u interrupts", intx_hits);
	ioapic_mask(intx_gsi);
}

static void check_testdev(void)
{
	static const char *const names[] = {
		"testdev_found", "testdev_identity", "testdev_intx_pin_line", "testdev_bar_sizes",
		"bar_addresses_read_back", "bar0_register", "bar0_scratch", "bar1_ports",
		"io_decode_off_floats", "bar1_moves", "testdev_msi_msix_caps",
	};
	int msi, msix;

	if (!vmk_present()) {
		for (unsigned int i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			SKIP(names[i], NOT_VMK);
		return;
	}
	CHECK(find_testdev(), "testdev_found");
	if (!tdev)
		return;
	check_testdev_config();
	check_testdev_decode();
	msi = find_cap(tdev, 0, 0x05);
	msix = find_cap(tdev, 0, 0x11);
	CHECKF(msi > 0 && msix > 0, "testdev_msi_msix_caps", "MSI at %d, MSI-X at %d", msi, msix);
	if (msi <= 0 || msix <= 0)
		return;
	lapic_enable();
	for (unsigned int v = VEC_MSI; v <= VEC_MSIX + 3; v++)
		irq_register(v, msi_handler);
	irq_register(VEC_INTX, intx_handler);
	check_msi(msi);
	check_msix(msix);
	check_intx();
}

void guest_main(void)
{
	tsc_rate = tsc_hz();
	pic_init(0x20);
	check_config_access();
	check_bars();
	check_caps();
	check_testdev();
}
