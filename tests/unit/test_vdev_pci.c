/*
 * The PCI bus (host bridge, function model, the 1234:5678 test device),
 * fw_cfg, the 16550 UART and the reset ports at register level, in the fake VM of
 * vdev_fakes.c. Accesses go through the VM's device bus exactly as a
 * guest's port and MMIO exits would; interrupts are read back from the
 * local APIC they reach.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/pc_layout.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include "vdev_fakes.h"

#define TESTDEV_SLOT 3
#define BAR0_AT 0xc0000000U
#define BAR2_AT 0xc0010000U
#define BAR1_AT 0xc100U

/* ---- configuration access, mechanism #1 and ECAM ---- */

static uint32_t cf8(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	return 0x80000000U | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

static uint32_t cfg_r(struct vm *vm, unsigned slot, unsigned reg, unsigned size)
{
	fake_out(vm, 0xcf8, 4, cf8(0, slot, 0, reg));
	return fake_in(vm, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void cfg_w(struct vm *vm, unsigned slot, unsigned reg, unsigned size, uint32_t v)
{
	fake_out(vm, 0xcf8, 4, cf8(0, slot, 0, reg));
	fake_out(vm, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static uint64_t ecam(unsigned bus, unsigned slot, unsigned fn, unsigned reg)
{
	return PC_ECAM_BASE + ((uint64_t)bus << 20 | slot << 15 | fn << 12 | reg);
}

static struct vm *pci_vm(bool testdev)
{
	struct vm *vm = fake_vm(2, 64);
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	const struct vdev_args io = { .name = "ioapic", .mmio = 0xfec00000 };
	const struct vdev_args td = { .name = "testdev", .irq = TESTDEV_SLOT };

	assert_non_null(vdev_create(vm, "ioapic", &io));
	assert_non_null(vdev_create(vm, "pci-host", &host));
	if (testdev)
		assert_non_null(vdev_create(vm, "pci-testdev", &td));
	for (unsigned i = 0; i < vm->nvcpus; i++)
		assert_int_equal(vlapic_mmio_write(&vm->vcpus[i]->lapic, APIC_SVR, 4, 0x1ff), 0);
	return vm;
}

/* A 32-bit read through the bus; unclaimed addresses read all ones. */
static uint32_t mr32(struct vm *vm, uint64_t addr)
{
	return (uint32_t)fake_mmio_read(vm, addr, 4);
}

static int pending(struct vm *vm, unsigned cpu)
{
	return vlapic_pending_irq(&vm->vcpus[cpu]->lapic);
}

/* Acknowledge and EOI the highest pending vector of vCPU cpu; -1 if none. */
static int take(struct vm *vm, unsigned cpu)
{
	struct vlapic *l = &vm->vcpus[cpu]->lapic;
	int v = vlapic_pending_irq(l);

	if (v >= 0) {
		vlapic_ack_irq(l, (uint8_t)v);
		assert_int_equal(vlapic_mmio_write(l, APIC_EOI, 4, 0), 0);
	}
	return v;
}

static void test_host_bridge(void **state)
{
	struct vm *vm = pci_vm(false);

	(void)state;
	assert_int_equal(cfg_r(vm, 0, 0, 4), 0x12378086);
	assert_int_equal(cfg_r(vm, 0, 2, 2), 0x1237);
	assert_int_equal(cfg_r(vm, 0, 1, 1), 0x80);
	assert_int_equal(cfg_r(vm, 0, 0x08, 4) >> 8, 0x060000);	/* host bridge class */
	assert_int_equal(cfg_r(vm, 0, 0x0e, 1) & 0x7f, 0);		/* type 0 header */
	/* CONFIG_ADDRESS reads back; absent functions and buses read all ones. */
	fake_out(vm, 0xcf8, 4, cf8(0, 7, 0, 0x40));
	assert_int_equal(fake_in(vm, 0xcf8, 4), cf8(0, 7, 0, 0x40));
	assert_int_equal(cfg_r(vm, 9, 0, 4), 0xffffffffU);
	assert_int_equal(cfg_r(vm, 9, 0, 2), 0xffff);
	fake_out(vm, 0xcf8, 4, cf8(1, 0, 0, 0));
	assert_int_equal(fake_in(vm, 0xcfc, 4), 0xffffffffU);
	fake_out(vm, 0xcf8, 4, cf8(0, 0, 3, 0));
	assert_int_equal(fake_in(vm, 0xcfc, 4), 0xffffffffU);
	/* Without the enable bit, 0xcfc is not a configuration cycle. */
	fake_out(vm, 0xcf8, 4, 0x00000000);
	assert_int_equal(fake_in(vm, 0xcfc, 4), 0xffffffffU);
	/* The same space through ECAM, any width; other buses absent. */
	assert_int_equal(fake_mmio_read(vm, ecam(0, 0, 0, 0), 4), 0x12378086);
	assert_int_equal(fake_mmio_read(vm, ecam(0, 0, 0, 2), 2), 0x1237);
	assert_int_equal(fake_mmio_read(vm, ecam(0, 0, 0, 0xb), 1), 0x06);
	assert_int_equal(fake_mmio_read(vm, ecam(2, 0, 0, 0), 4), 0xffffffffU);
	assert_int_equal(fake_mmio_read(vm, ecam(0, 31, 0, 0), 4), 0xffffffffU);
	/* The identity is read-only. */
	cfg_w(vm, 0, 0, 4, 0);
	assert_int_equal(cfg_r(vm, 0, 0, 4), 0x12378086);
	fake_vm_free(vm);
}

static void place_testdev(struct vm *vm)
{
	cfg_w(vm, TESTDEV_SLOT, 0x10, 4, BAR0_AT);
	cfg_w(vm, TESTDEV_SLOT, 0x14, 4, BAR1_AT);
	cfg_w(vm, TESTDEV_SLOT, 0x18, 4, BAR2_AT);
	cfg_w(vm, TESTDEV_SLOT, 0x04, 2, 0x7);	/* I/O, memory, bus master */
}

static void test_bar_sizing_and_decode(void **state)
{
	struct vm *vm = pci_vm(true);

	(void)state;
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, 0, 4), 0x56781234);
	assert_int_equal(fake_mmio_read(vm, ecam(0, TESTDEV_SLOT, 0, 0), 4), 0x56781234);
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, 0x2c, 4), 0x00011234);
	/* Sizing: all ones, read the mask back (PCI 3.0 6.2.5.1). */
	cfg_w(vm, TESTDEV_SLOT, 0x10, 4, 0xffffffffU);
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, 0x10, 4), 0xfffff000U);	/* 4 KiB, mem32 */
	cfg_w(vm, TESTDEV_SLOT, 0x14, 4, 0xffffffffU);
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, 0x14, 4), 0xfffffff1U);	/* 16 ports, I/O */
	cfg_w(vm, TESTDEV_SLOT, 0x18, 4, 0xffffffffU);
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, 0x18, 4), 0xfffff000U);
	cfg_w(vm, TESTDEV_SLOT, 0x1c, 4, 0xffffffffU);
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, 0x1c, 4), 0);		/* no BAR 3 */
	/* Placed but decoding off: nothing answers there. */
	cfg_w(vm, TESTDEV_SLOT, 0x10, 4, BAR0_AT | 0xff);	/* low bits are not writable */
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, 0x10, 4), BAR0_AT);
	cfg_w(vm, TESTDEV_SLOT, 0x14, 4, BAR1_AT);
	assert_int_equal(mr32(vm, BAR0_AT), 0xffffffffU);
	assert_int_equal(fake_in(vm, BAR1_AT + 4, 4), 0xffffffffU);
	/* Memory decode on: BAR0 answers; I/O still off. */
	cfg_w(vm, TESTDEV_SLOT, 0x04, 2, 0x2);
	assert_int_equal(mr32(vm, BAR0_AT), 0x544b4d56);
	fake_mmio_write(vm, BAR0_AT + 4, 4, 0xdeadbeef);
	assert_int_equal(mr32(vm, BAR0_AT + 4), 0xdeadbeef);
	assert_int_equal(fake_in(vm, BAR1_AT + 4, 4), 0xffffffffU);
	cfg_w(vm, TESTDEV_SLOT, 0x04, 2, 0x3);
	assert_int_equal(fake_in(vm, BAR1_AT + 4, 4), 0x544b4d56);
	fake_out(vm, BAR1_AT, 4, 0x01020304);
	assert_int_equal(fake_in(vm, BAR1_AT, 4), 0x01020304);
	assert_int_equal(fake_in(vm, BAR1_AT + 1, 1), 0x03);
	/* Moving BAR0: the old address goes dark, the new one answers. */
	cfg_w(vm, TESTDEV_SLOT, 0x10, 4, BAR0_AT + 0x100000);
	assert_int_equal(mr32(vm, BAR0_AT), 0xffffffffU);
	assert_int_equal(mr32(vm, BAR0_AT + 0x100000), 0x544b4d56);
	/* Memory decode off again: dark. */
	cfg_w(vm, TESTDEV_SLOT, 0x04, 2, 0x1);
	assert_int_equal(mr32(vm, BAR0_AT + 0x100000), 0xffffffffU);
	fake_vm_free(vm);
}

/* Walk the capability list; returns how many, fills ids[] and offsets[]. */
static unsigned caps(struct vm *vm, uint8_t *ids, uint8_t *offs)
{
	unsigned n = 0;
	uint8_t p;

	if (!(cfg_r(vm, TESTDEV_SLOT, 0x06, 2) & 0x10))
		return 0;
	for (p = (uint8_t)cfg_r(vm, TESTDEV_SLOT, 0x34, 1); p && n < 16;
	     p = (uint8_t)cfg_r(vm, TESTDEV_SLOT, p + 1, 1)) {
		assert_int_equal(p & 3, 0);
		assert_true(p >= 0x40);
		ids[n] = (uint8_t)cfg_r(vm, TESTDEV_SLOT, p, 1);
		offs[n++] = p;
	}
	assert_int_equal(p, 0);	/* the list ends */
	return n;
}

static unsigned find_cap(struct vm *vm, uint8_t id)
{
	uint8_t ids[16], offs[16];
	unsigned n = caps(vm, ids, offs);

	for (unsigned i = 0; i < n; i++) {
		if (ids[i] == id)
			return offs[i];
	}
	fail_msg("capability %#x not found", id);
	return 0;
}

static void test_msi(void **state)
{
	struct vm *vm = pci_vm(true);
	unsigned msi;
	uint16_t ctl;

	(void)state;
	place_testdev(vm);
	msi = find_cap(vm, 0x05);
	ctl = (uint16_t)cfg_r(vm, TESTDEV_SLOT, msi + 2, 2);
	assert_true(ctl & (1U << 7));		/* 64-bit address */
	assert_true(ctl & (1U << 8));		/* per-vector masking */
	/* Nothing enabled: a doorbell raises INTx, not a message. */
	cfg_w(vm, TESTDEV_SLOT, msi + 4, 4, 0xfee01000);	/* to APIC ID 1 */
	cfg_w(vm, TESTDEV_SLOT, msi + 8, 4, 0);
	cfg_w(vm, TESTDEV_SLOT, msi + 12, 2, 0x45);
	cfg_w(vm, TESTDEV_SLOT, msi + 2, 2, ctl | 1);
	fake_mmio_write(vm, BAR0_AT + 8, 4, 0);
	assert_int_equal(pending(vm, 0), -1);
	assert_int_equal(take(vm, 1), 0x45);
	assert_int_equal(mr32(vm, BAR0_AT + 0x10), 1);	/* rings counted */
	/* Masked: held as pending (bit 0 of the pending word), sent on unmask. */
	cfg_w(vm, TESTDEV_SLOT, msi + 16, 4, 1);
	fake_mmio_write(vm, BAR0_AT + 8, 4, 0);
	assert_int_equal(pending(vm, 1), -1);
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, msi + 20, 4) & 1, 1);
	cfg_w(vm, TESTDEV_SLOT, msi + 16, 4, 0);
	assert_int_equal(take(vm, 1), 0x45);
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, msi + 20, 4) & 1, 0);
	/* Bus mastering off: the device may not write the message. */
	cfg_w(vm, TESTDEV_SLOT, 0x04, 2, 0x3);
	fake_mmio_write(vm, BAR0_AT + 8, 4, 0);
	assert_int_equal(pending(vm, 1), -1);
	fake_vm_free(vm);
}

static void test_msix(void **state)
{
	struct vm *vm = pci_vm(true);
	unsigned cap;
	uint16_t ctl;
	uint32_t table;

	(void)state;
	place_testdev(vm);
	cap = find_cap(vm, 0x11);
	ctl = (uint16_t)cfg_r(vm, TESTDEV_SLOT, cap + 2, 2);
	assert_int_equal((ctl & 0x7ff) + 1, 4);			/* table size */
	table = cfg_r(vm, TESTDEV_SLOT, cap + 4, 4);
	assert_int_equal(table & 7, 2);				/* BIR: BAR 2 */
	assert_int_equal(cfg_r(vm, TESTDEV_SLOT, cap + 8, 4) & 7, 2);	/* PBA in BAR 2 too */
	uint64_t tbase = BAR2_AT + (table & ~7U);
	uint64_t pba = BAR2_AT + (cfg_r(vm, TESTDEV_SLOT, cap + 8, 4) & ~7U);
	/* Every vector starts masked (vector control bit 0). */
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(fake_mmio_read(vm, tbase + 16 * i + 12, 4) & 1, 1);
	/* Vector 2 to APIC 0 vector 0x52, vector 3 to APIC 1 vector 0x63. */
	fake_mmio_write(vm, tbase + 32, 4, 0xfee00000);
	fake_mmio_write(vm, tbase + 36, 4, 0);
	fake_mmio_write(vm, tbase + 40, 4, 0x52);
	fake_mmio_write(vm, tbase + 48, 8, 0xfee01000);
	fake_mmio_write(vm, tbase + 56, 4, 0x63);
	assert_int_equal(fake_mmio_read(vm, tbase + 32, 4), 0xfee00000);
	assert_int_equal(fake_mmio_read(vm, tbase + 40, 4), 0x52);
	cfg_w(vm, TESTDEV_SLOT, cap + 2, 2, ctl | 0x8000);	/* enable */
	/* MSI-X wins over MSI and INTx; masked vector 2 becomes pending. */
	fake_mmio_write(vm, BAR0_AT + 8, 4, 2);
	assert_int_equal(pending(vm, 0), -1);
	assert_int_equal(fake_mmio_read(vm, pba, 4) & 0xf, 1U << 2);
	fake_mmio_write(vm, tbase + 32 + 12, 4, 0);		/* unmask: delivered now */
	assert_int_equal(take(vm, 0), 0x52);
	assert_int_equal(fake_mmio_read(vm, pba, 4) & 0xf, 0);
	/* Unmasked vector 3 goes straight to vCPU 1. */
	fake_mmio_write(vm, tbase + 48 + 12, 4, 0);
	fake_mmio_write(vm, BAR0_AT + 8, 4, 3);
	assert_int_equal(take(vm, 1), 0x63);
	/* The function mask holds every vector; clearing it delivers. */
	cfg_w(vm, TESTDEV_SLOT, cap + 2, 2, ctl | 0xc000);
	fake_mmio_write(vm, BAR0_AT + 8, 4, 3);
	assert_int_equal(pending(vm, 1), -1);
	assert_int_equal(fake_mmio_read(vm, pba, 4) & 0xf, 1U << 3);
	cfg_w(vm, TESTDEV_SLOT, cap + 2, 2, ctl | 0x8000);
	assert_int_equal(take(vm, 1), 0x63);
	/* A vector past the table is ignored; misaligned table writes too. */
	fake_mmio_write(vm, BAR0_AT + 8, 4, 9);
	fake_mmio_write(vm, tbase + 41, 1, 0x99);
	assert_int_equal(fake_mmio_read(vm, tbase + 40, 4), 0x52);
	assert_int_equal(pending(vm, 0), -1);
	assert_int_equal(pending(vm, 1), -1);
	fake_vm_free(vm);
}

static void ioapic_route(struct vm *vm, unsigned pin, uint32_t lo)
{
	fake_mmio_write(vm, 0xfec00000, 4, 0x10 + 2 * pin);
	fake_mmio_write(vm, 0xfec00010, 4, lo);
	fake_mmio_write(vm, 0xfec00000, 4, 0x11 + 2 * pin);
	fake_mmio_write(vm, 0xfec00010, 4, 0);
}

static void test_intx(void **state)
{
	struct vm *vm = pci_vm(true);
	uint8_t pin, gsi;

	(void)state;
	place_testdev(vm);
	pin = (uint8_t)cfg_r(vm, TESTDEV_SLOT, 0x3d, 1);
	assert_int_equal(pin, 1);					/* INTA */
	gsi = (uint8_t)(16 + (TESTDEV_SLOT + pin - 1) % 4);		/* the _PRT swizzle */
	/* Level-triggered, active low, vector 0x71. */
	ioapic_route(vm, gsi, 0x71 | 1U << 13 | 1U << 15);
	fake_mmio_write(vm, BAR0_AT + 8, 4, 0);
	assert_true(cfg_r(vm, TESTDEV_SLOT, 0x06, 2) & 0x8);		/* interrupt status */
	/* EOI with the line still asserted: level-triggered, the IOAPIC sends it again. */
	assert_int_equal(take(vm, 0), 0x71);
	assert_int_equal(pending(vm, 0), 0x71);
	fake_mmio_write(vm, BAR0_AT + 0x0c, 4, 0);			/* device acknowledge */
	assert_false(cfg_r(vm, TESTDEV_SLOT, 0x06, 2) & 0x8);
	assert_int_equal(take(vm, 0), 0x71);	/* the one already sent */
	assert_int_equal(take(vm, 0), -1);	/* and no more: the line is low */
	/* Interrupt Disable (command bit 10): status still shows, the line stays quiet. */
	cfg_w(vm, TESTDEV_SLOT, 0x04, 2, 0x407);
	fake_mmio_write(vm, BAR0_AT + 8, 4, 0);
	assert_true(cfg_r(vm, TESTDEV_SLOT, 0x06, 2) & 0x8);
	assert_int_equal(pending(vm, 0), -1);
	cfg_w(vm, TESTDEV_SLOT, 0x04, 2, 0x007);			/* enabled: it arrives */
	assert_int_equal(take(vm, 0), 0x71);
	fake_mmio_write(vm, BAR0_AT + 0x0c, 4, 0);
	fake_vm_free(vm);
}

/* ---- fw_cfg ---- */

static struct vm *fwcfg_vm(void)
{
	struct vm *vm = fake_vm(3, 48);
	const struct vdev_args a = { .name = "fw_cfg", .port = 0x510 };

	assert_non_null(vdev_create(vm, "fw_cfg", &a));
	return vm;
}

static void fw_select(struct vm *vm, uint16_t key)
{
	fake_out(vm, 0x510, 2, key);
}

static void fw_read(struct vm *vm, void *buf, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		((uint8_t *)buf)[i] = (uint8_t)fake_in(vm, 0x511, 1);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Find a file in the directory: its select key, or 0. */
static uint16_t fw_file(struct vm *vm, const char *name, uint32_t *size)
{
	uint8_t hdr[4], e[64];
	uint32_t n;

	fw_select(vm, 0x19);
	fw_read(vm, hdr, 4);
	n = be32(hdr);
	assert_true(n >= 1 && n < 64);
	for (uint32_t i = 0; i < n; i++) {
		fw_read(vm, e, 64);
		if (!strcmp((const char *)e + 8, name)) {
			*size = be32(e);
			return (uint16_t)(e[4] << 8 | e[5]);
		}
	}
	return 0;
}

static void test_fw_cfg_items(void **state)
{
	struct vm *vm = fwcfg_vm();
	uint8_t b[64];
	uint32_t size;
	uint16_t key;
	struct e820_entry map[8];
	unsigned n;

	(void)state;
	fw_select(vm, 0x0000);
	fw_read(vm, b, 4);
	assert_memory_equal(b, "QEMU", 4);
	fw_select(vm, 0x0001);
	fw_read(vm, b, 4);
	assert_int_equal(b[0] & 3, 3);			/* traditional + DMA */
	fw_select(vm, 0x0003);
	fw_read(vm, b, 8);
	assert_int_equal(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24, 48U << 20);
	assert_int_equal(b[4] | b[5] | b[6] | b[7], 0);
	fw_select(vm, 0x0005);
	fw_read(vm, b, 2);
	assert_int_equal(b[0] | b[1] << 8, 3);
	/* Reading past an item's end gives zeros; selecting rewinds. */
	fw_select(vm, 0x0000);
	fw_read(vm, b, 8);
	assert_memory_equal(b, "QEMU\0\0\0\0", 8);
	fw_select(vm, 0x0000);
	fw_read(vm, b, 1);
	assert_int_equal(b[0], 'Q');
	/* Unknown items read as zeros. */
	fw_select(vm, 0x7777);
	fw_read(vm, b, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
	/* etc/e820 is the machine's map. */
	key = fw_file(vm, "etc/e820", &size);
	assert_true(key >= 0x20);
	n = pc_e820(vm->ram_size, map, 8);
	assert_int_equal(size, 20 * n);
	fw_select(vm, key);
	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = 0, len = 0;

		fw_read(vm, b, 20);
		for (int j = 7; j >= 0; j--) {
			addr = addr << 8 | b[j];
			len = len << 8 | b[8 + j];
		}
		assert_int_equal(addr, map[i].addr);
		assert_int_equal(len, map[i].size);
		assert_int_equal(b[16], map[i].type);
	}
	assert_true(fw_file(vm, "bootorder", &size) != 0);
	assert_int_equal(fw_file(vm, "etc/nonexistent", &size), 0);
	fake_vm_free(vm);
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A FWCfgDmaAccess record at rec: control, length, address (all big-endian). */
static void dma(struct vm *vm, uint32_t rec, uint32_t control, uint32_t len, uint64_t addr)
{
	put_be32(fake_ram + rec, control);
	put_be32(fake_ram + rec + 4, len);
	put_be32(fake_ram + rec + 8, (uint32_t)(addr >> 32));
	put_be32(fake_ram + rec + 12, (uint32_t)addr);
	/* The guest writes the address big-endian: cpu_to_be32 of each half. */
	fake_out(vm, 0x514, 4, __builtin_bswap32(0));
	fake_out(vm, 0x518, 4, __builtin_bswap32(rec));
}

static void test_fw_cfg_dma(void **state)
{
	struct vm *vm = fwcfg_vm();
	uint8_t sig[8];

	(void)state;
	/* The DMA signature: "QEMU CFG" in byte order at 0x514. */
	for (unsigned i = 0; i < 8; i++)
		sig[i] = (uint8_t)fake_in(vm, (uint16_t)(0x514 + i), 1);
	assert_memory_equal(sig, "QEMU CFG", 8);
	assert_int_equal(fake_in(vm, 0x514, 4), 'Q' | 'E' << 8 | 'M' << 16 | (uint32_t)'U' << 24);
	/* Select + read the signature item into RAM at 0x2000. */
	memset(fake_ram + 0x2000, 0xaa, 16);
	dma(vm, 0x1000, 0x0000U << 16 | 1U << 3 | 1U << 1, 6, 0x2000);
	assert_int_equal(be32(fake_ram + 0x1000), 0);			/* done, no error */
	assert_memory_equal(fake_ram + 0x2000, "QEMU\0\0\xaa", 7);
	/* Skip 1 byte of the RAM-size item, then read 3 (offsets carry over). */
	dma(vm, 0x1000, 0x0003U << 16 | 1U << 3 | 1U << 2, 1, 0);
	assert_int_equal(be32(fake_ram + 0x1000), 0);
	dma(vm, 0x1000, 1U << 1, 3, 0x3000);
	assert_int_equal(fake_ram[0x3000] | fake_ram[0x3001] << 8 | fake_ram[0x3002] << 16,
			 (48U << 20) >> 8);
	/* Writes are refused with the error bit; nothing changes. */
	dma(vm, 0x1000, 0x0000U << 16 | 1U << 3 | 1U << 4, 4, 0x2000);
	assert_int_equal(be32(fake_ram + 0x1000), 1);
	/* A buffer outside RAM: the error bit, the host carries on. */
	dma(vm, 0x1000, 0x0000U << 16 | 1U << 3 | 1U << 1, 4, 0xfee00000ULL);
	assert_int_equal(be32(fake_ram + 0x1000), 1);
	/* A hostile length is refused without copying. */
	memset(fake_ram + 0x4000, 0x55, 8);
	dma(vm, 0x1000, 0x0000U << 16 | 1U << 3 | 1U << 1, 0xffffffffU, 0x4000);
	assert_int_equal(be32(fake_ram + 0x1000), 1);
	assert_int_equal(fake_ram[0x4000], 0x55);
	/* A record outside RAM: ignored. */
	fake_out(vm, 0x514, 4, __builtin_bswap32(0x10));
	fake_out(vm, 0x518, 4, 0);
	fake_vm_free(vm);
}

/* ---- the 16550 UART ---- */

static struct vm *uart_vm(void)
{
	struct vm *vm = fake_vm(1, 16);
	const struct vdev_args pic = { .name = "pic" };
	const struct vdev_args com = { .name = "com1", .port = 0x3f8, .irq = 4, .extra = "console" };

	assert_non_null(vdev_create(vm, "i8259", &pic));
	assert_non_null(vdev_create(vm, "uart16550", &com));
	return vm;
}

static void test_uart(void **state)
{
	struct vm *vm = uart_vm();

	(void)state;
	/* Output reaches the console, a line at a time. */
	for (const char *c = "hello uart\n"; *c; c++)
		fake_out(vm, 0x3f8, 1, (uint8_t)*c);
	assert_true(fake_log_has("hello uart"));
	assert_int_equal(fake_in(vm, 0x3fd, 1) & 0x60, 0x60);	/* THRE and TEMT */
	/* Scratch register; divisor latch behind DLAB. */
	fake_out(vm, 0x3ff, 1, 0x5a);
	assert_int_equal(fake_in(vm, 0x3ff, 1), 0x5a);
	fake_out(vm, 0x3fb, 1, 0x83);
	fake_out(vm, 0x3f8, 1, 0x01);
	fake_out(vm, 0x3f9, 1, 0x00);
	assert_int_equal(fake_in(vm, 0x3f8, 1), 0x01);
	fake_out(vm, 0x3fb, 1, 0x03);
	assert_int_equal(fake_in(vm, 0x3fb, 1), 0x03);
	/* No interrupt source: IIR bit 0 set; FIFOs enabled show in IIR 7:6. */
	fake_out(vm, 0x3fa, 1, 0x07);
	assert_int_equal(fake_in(vm, 0x3fa, 1) & 0xcf, 0xc1);
	/* Loopback: what is sent is received; modem inputs follow the outputs. */
	fake_out(vm, 0x3fc, 1, 0x10 | 0x0b);		/* LOOP, OUT2, RTS, DTR */
	assert_int_equal(fake_in(vm, 0x3fe, 1) & 0xb0, 0xb0);	/* DCD, DSR, CTS */
	fake_out(vm, 0x3f8, 1, 0x42);
	assert_true(fake_in(vm, 0x3fd, 1) & 0x01);	/* data ready */
	assert_int_equal(fake_in(vm, 0x3f8, 1), 0x42);
	assert_false(fake_in(vm, 0x3fd, 1) & 0x01);
	assert_false(fake_log_has("B"));		/* loopback bytes stay inside */
	/* THR-empty interrupt: IIR says so, reading IIR clears it. */
	fake_out(vm, 0x3f9, 1, 0x02);
	assert_int_equal(fake_in(vm, 0x3fa, 1) & 0x0f, 0x02);
	assert_int_equal(fake_in(vm, 0x3fa, 1) & 0x0f, 0x01);
	/* Received-data interrupt in loopback. */
	fake_out(vm, 0x3f9, 1, 0x01);
	fake_out(vm, 0x3f8, 1, 0x43);
	assert_int_equal(fake_in(vm, 0x3fa, 1) & 0x0f, 0x04);
	assert_int_equal(fake_in(vm, 0x3f8, 1), 0x43);
	assert_int_equal(fake_in(vm, 0x3fa, 1) & 0x0f, 0x01);
	fake_vm_free(vm);
}

/* ---- the ways software resets a PC (vdev/reset.c, 0xcf9 through the host bridge) ---- */

static bool was_reset(struct vm *vm)
{
	bool r = vm->state == VM_STOPPED && vm->end_kind == VM_END_RESET;

	vm->state = VM_RUNNING;
	vm->end_kind = 0;
	return r;
}

static void test_reset_ports(void **state)
{
	struct vm *vm = pci_vm(false);
	const struct vdev_args rst = { .name = "reset" };

	(void)state;
	assert_non_null(vdev_create(vm, "pc-reset", &rst));
	/* No keyboard controller: its ports read as nothing there. */
	assert_int_equal(fake_in(vm, 0x60, 1), 0xff);
	assert_int_equal(fake_in(vm, 0x64, 1), 0xff);
	fake_out(vm, 0x64, 1, 0xad);			/* other commands: nothing */
	assert_false(was_reset(vm));
	fake_out(vm, 0x64, 1, 0xfe);			/* pulse the reset line */
	assert_true(was_reset(vm));
	/* Port 0x92: A20 reads back on; a 0 -> 1 edge of bit 0 resets, a held 1 does not. */
	assert_int_equal(fake_in(vm, 0x92, 1) & 0x02, 0x02);
	fake_out(vm, 0x92, 1, 0x02);
	assert_false(was_reset(vm));
	fake_out(vm, 0x92, 1, 0x03);
	assert_true(was_reset(vm));
	fake_out(vm, 0x92, 1, 0x03);
	assert_false(was_reset(vm));
	/* 0xcf9: bit 2 resets; a byte there is not CONFIG_ADDRESS. */
	fake_out(vm, 0xcf8, 4, cf8(0, 0, 0, 0));
	fake_out(vm, 0xcf9, 1, 0x02);
	assert_false(was_reset(vm));
	assert_int_equal(fake_in(vm, 0xcf8, 4), cf8(0, 0, 0, 0));
	fake_out(vm, 0xcf9, 1, 0x06);
	assert_true(was_reset(vm));
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_bridge),
		cmocka_unit_test(test_bar_sizing_and_decode),
		cmocka_unit_test(test_msi),
		cmocka_unit_test(test_msix),
		cmocka_unit_test(test_intx),
		cmocka_unit_test(test_fw_cfg_items),
		cmocka_unit_test(test_fw_cfg_dma),
		cmocka_unit_test(test_uart),
		cmocka_unit_test(test_reset_ports),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
