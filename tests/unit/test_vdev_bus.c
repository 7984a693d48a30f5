/*
 * The per-VM device bus: registration, lookups, moves and overlaps
 * (vmm/vdev/bus.c), and the PCI functions on it (vmm/vdev/pci/): BARs
 * placed through ECAM, MSI and MSI-X masking with their pending bits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/vdev.h>
#include <vmm/vlapic.h>
#include "vdev_fakes.h"

static int dummy_read(struct vdev *d, struct vcpu *v, uint64_t a, unsigned s, uint64_t *val)
{
	(void)d; (void)v; (void)a; (void)s;
	*val = 0;
	return 0;
}

static const struct vdev_mmio_ops mops = { .read = dummy_read };
static const struct vdev_pio_ops pops = { 0 };

static void test_mmio_lookup(void **state)
{
	struct vm *vm = fake_vm(1, 64);
	struct vdev d = { .vm = vm };
	struct vdev_range r;
	int hio, hl, he;

	(void)state;
	hio = vdev_mmio_register(&d, 0xfec00000, 0x1000, &mops, true);
	hl = vdev_mmio_register(&d, 0xfee00000, 0x1000, &mops, true);
	he = vdev_mmio_register(&d, 0xb0000000, 0x10000000, &mops, true);
	assert_true(hio >= 0 && hl >= 0 && he >= 0);
	assert_true(vdev_mmio_lookup(vm, 0xfec00000, &r));
	assert_int_equal(r.base, 0xfec00000);
	assert_true(vdev_mmio_lookup(vm, 0xfec00fff, &r));
	assert_false(vdev_mmio_lookup(vm, 0xfec01000, &r));
	assert_true(vdev_mmio_lookup(vm, 0xfee00010, &r));
	assert_int_equal(r.base, 0xfee00000);
	assert_true(vdev_mmio_lookup(vm, 0xb0000000, &r));
	assert_true(vdev_mmio_lookup(vm, 0xbfffffff, &r));
	assert_false(vdev_mmio_lookup(vm, 0xc0000000, &r));
	assert_false(vdev_mmio_lookup(vm, 0xafffffff, &r));
	assert_false(vdev_mmio_lookup(vm, 0, &r));
	/* Overlaps are refused; a moved range is found at its new place only. */
	assert_int_equal(vdev_mmio_register(&d, 0xfec00800, 0x1000, &mops, true), -16);
	assert_int_equal(vdev_mmio_move(vm, he, 0xfec00000, true), -16);
	assert_int_equal(vdev_mmio_move(vm, he, 0xd0000000, true), 0);
	assert_false(vdev_mmio_lookup(vm, 0xb0000000, &r));
	assert_true(vdev_mmio_lookup(vm, 0xd0000000, &r));
	assert_int_equal(vdev_mmio_move(vm, he, 0xd0000000, false), 0);
	assert_false(vdev_mmio_lookup(vm, 0xd0000000, &r));
	assert_true(vdev_mmio_lookup(vm, 0xfec00000, &r));
	fake_vm_free(vm);
}

static void test_pio_lookup(void **state)
{
	struct vm *vm = fake_vm(1, 64);
	struct vdev d = { .vm = vm };
	struct vdev_range r;

	(void)state;
	for (unsigned i = 0; i < 20; i++)
		assert_true(vdev_pio_register(&d, (uint16_t)(0x1000 - 0x10 * i), 8, &pops, true) >= 0);
	for (unsigned i = 0; i < 20; i++) {
		assert_true(vdev_pio_lookup(vm, (uint16_t)(0x1000 - 0x10 * i + 7), &r));
		assert_int_equal(r.base, 0x1000 - 0x10 * i);
		assert_false(vdev_pio_lookup(vm, (uint16_t)(0x1000 - 0x10 * i + 8), &r));
	}
	assert_int_equal(vdev_pio_register(&d, 0xfff8, 9, &pops, true), -22);
	fake_vm_free(vm);
}

#define TDEV_CFG(reg) (0xb0000000ULL | 3U << 15 | (reg))	/* the test device, slot 3 */

static uint8_t cap_of(struct vm *vm, uint8_t id)
{
	uint8_t p = (uint8_t)fake_mmio_read(vm, TDEV_CFG(0x34), 1);

	while (p && fake_mmio_read(vm, TDEV_CFG(p), 1) != id)
		p = (uint8_t)fake_mmio_read(vm, TDEV_CFG(p + 1), 1);
	return p;
}

/* The highest vector pending at vCPU 0's local APIC, taken and EOIed; -1 if none. */
static int take(struct vm *vm)
{
	struct vlapic *l = &vm->vcpus[0]->lapic;
	int v = vlapic_pending_irq(l);

	if (v >= 0) {
		vlapic_ack_irq(l, (uint8_t)v);
		assert_int_equal(vlapic_mmio_write(l, APIC_EOI, 4, 0), 0);
	}
	return v;
}

/*
 * PCI 3.0: a masked MSI or MSI-X vector sets its pending bit instead of
 * sending, and goes out when unmasked, by its own mask bit or (MSI-X) by
 * the function mask.
 */
static void test_pci_msi_masking(void **state)
{
	struct vm *vm = fake_vm(1, 64);
	const struct vdev_args host = { .name = "pci", .mmio = 0xb0000000, .size = 0x10000000 };
	const struct vdev_args tdev = { .name = "testdev", .irq = 3 };
	uint8_t msi, msix;

	(void)state;
	assert_non_null(vdev_create(vm, "pci-host", &host));
	assert_non_null(vdev_create(vm, "pci-testdev", &tdev));
	assert_int_equal(vlapic_mmio_write(&vm->vcpus[0]->lapic, APIC_SVR, 4, 0x1ff), 0);
	assert_int_equal(fake_mmio_read(vm, TDEV_CFG(0), 4), 0x56781234);
	fake_mmio_write(vm, TDEV_CFG(0x10), 4, 0xc0000000);
	fake_mmio_write(vm, TDEV_CFG(0x18), 4, 0xc0001000);
	fake_mmio_write(vm, TDEV_CFG(0x04), 2, 0x6);		/* memory decoding, bus master */
	assert_int_equal(fake_mmio_read(vm, 0xc0000000, 4), 0x544b4d56);
	msi = cap_of(vm, 0x05);
	msix = cap_of(vm, 0x11);
	assert_true(msi && msix);
	/* MSI, vector 0x70, masked: the Pending Bits register holds it. */
	fake_mmio_write(vm, TDEV_CFG(msi + 4), 4, 0xfee00000);
	fake_mmio_write(vm, TDEV_CFG(msi + 12), 2, 0x70);
	fake_mmio_write(vm, TDEV_CFG(msi + 16), 4, 1);
	fake_mmio_write(vm, TDEV_CFG(msi + 2), 2, 0x1);
	fake_mmio_write(vm, 0xc0000008, 4, 0);			/* doorbell */
	assert_int_equal(take(vm), -1);
	assert_int_equal(fake_mmio_read(vm, TDEV_CFG(msi + 20), 4), 1);
	fake_mmio_write(vm, TDEV_CFG(msi + 16), 4, 0);
	assert_int_equal(take(vm), 0x70);
	assert_int_equal(fake_mmio_read(vm, TDEV_CFG(msi + 20), 4), 0);
	fake_mmio_write(vm, TDEV_CFG(msi + 2), 2, 0);
	/* MSI-X vector 3 (0x74) under the function mask: PBA bit, sent when the mask clears. */
	fake_mmio_write(vm, TDEV_CFG(msix + 2), 2, 0xc000);
	fake_mmio_write(vm, 0xc0001030, 4, 0xfee00000);
	fake_mmio_write(vm, 0xc0001038, 4, 0x74);
	fake_mmio_write(vm, 0xc000103c, 4, 0);
	fake_mmio_write(vm, 0xc0000008, 4, 3);
	assert_int_equal(take(vm), -1);
	assert_int_equal(fake_mmio_read(vm, 0xc0001800, 4), 0x8);
	fake_mmio_write(vm, TDEV_CFG(msix + 2), 2, 0x8000);
	assert_int_equal(take(vm), 0x74);
	assert_int_equal(fake_mmio_read(vm, 0xc0001800, 4), 0);
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio_lookup),
		cmocka_unit_test(test_pio_lookup),
		cmocka_unit_test(test_pci_msi_masking),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
