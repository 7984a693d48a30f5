/* The per-VM device bus: registration, lookups, moves and overlaps (vmm/vdev/bus.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/vdev.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio_lookup),
		cmocka_unit_test(test_pio_lookup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
