/* The 8259 pair at register level (vmm/vdev/pic.c), and its ExtINT to vCPU 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include "vdev_fakes.h"

/* The PC BIOS initialisation: vectors 0x20 (master) and 0x28 (slave), cascade on 2. */
static struct vm *pic_vm(bool auto_eoi)
{
	struct vm *vm = fake_vm(1, 64);
	const struct vdev_args a = { .name = "pic" };

	assert_non_null(vdev_create(vm, "i8259", &a));
	fake_out(vm, 0x20, 1, 0x11);
	fake_out(vm, 0x21, 1, 0x20);
	fake_out(vm, 0x21, 1, 0x04);
	fake_out(vm, 0x21, 1, auto_eoi ? 0x03 : 0x01);
	fake_out(vm, 0xa0, 1, 0x11);
	fake_out(vm, 0xa1, 1, 0x28);
	fake_out(vm, 0xa1, 1, 0x02);
	fake_out(vm, 0xa1, 1, auto_eoi ? 0x03 : 0x01);
	fake_out(vm, 0x21, 1, 0x00);	/* unmask all */
	fake_out(vm, 0xa1, 1, 0x00);
	return vm;
}

static uint8_t read_isr(struct vm *vm, uint16_t port)
{
	uint8_t v;

	fake_out(vm, port, 1, 0x0b);	/* OCW3: read ISR */
	v = (uint8_t)fake_in(vm, port, 1);
	fake_out(vm, port, 1, 0x0a);	/* back to IRR */
	return v;
}

static void test_edge_priority_eoi(void **state)
{
	struct vm *vm = pic_vm(false);

	(void)state;
	assert_false(vm_extint_pending(vm));
	vm_isa_irq(vm, 3, true);
	vm_isa_irq(vm, 1, true);
	assert_true(vm_extint_pending(vm));
	assert_true(fake_kicks[0] > 0);		/* the rising INT reached vCPU 0 */
	assert_int_equal(fake_in(vm, 0x20, 1) & 0x0a, 0x0a);	/* IRR bits 1 and 3 */
	assert_int_equal(vm_extint_ack(vm), 0x21);	/* IRQ 1 outranks IRQ 3 */
	assert_int_equal(read_isr(vm, 0x20), 0x02);
	assert_false(vm_extint_pending(vm));	/* IRQ 3 waits: lower than what is in service */
	fake_out(vm, 0x20, 1, 0x20);		/* non-specific EOI */
	assert_true(vm_extint_pending(vm));
	assert_int_equal(vm_extint_ack(vm), 0x23);
	fake_out(vm, 0x20, 1, 0x63);		/* specific EOI for IRQ 3 */
	assert_int_equal(read_isr(vm, 0x20), 0);
	/* An edge line held high raises no second request. */
	assert_false(vm_extint_pending(vm));
	vm_isa_irq(vm, 1, false);
	vm_isa_irq(vm, 3, false);
	fake_vm_free(vm);
}

static void test_cascade_and_mask(void **state)
{
	struct vm *vm = pic_vm(false);

	(void)state;
	vm_isa_irq(vm, 8, true);
	assert_true(vm_extint_pending(vm));
	assert_int_equal(vm_extint_ack(vm), 0x28);
	assert_int_equal(read_isr(vm, 0x20), 0x04);	/* master: the cascade line */
	assert_int_equal(read_isr(vm, 0xa0), 0x01);
	fake_out(vm, 0xa0, 1, 0x20);
	fake_out(vm, 0x20, 1, 0x20);
	vm_isa_irq(vm, 8, false);
	/* A masked request is latched but not delivered until unmasked. */
	fake_out(vm, 0x21, 1, 0x10);
	vm_isa_irq(vm, 4, true);
	assert_false(vm_extint_pending(vm));
	assert_int_equal(fake_in(vm, 0x21, 1), 0x10);
	fake_out(vm, 0x21, 1, 0x00);
	assert_true(vm_extint_pending(vm));
	assert_int_equal(vm_extint_ack(vm), 0x24);
	fake_vm_free(vm);
}

static void test_spurious_and_level(void **state)
{
	struct vm *vm = pic_vm(false);

	(void)state;
	/* Level-triggered IRQ 10 (ELCR): it stays requested while the line is high. */
	fake_out(vm, 0x4d1, 1, 0x04);
	assert_int_equal(fake_in(vm, 0x4d1, 1), 0x04);
	fake_out(vm, 0x4d0, 1, 0xff);			/* IRQ 0-2 cannot be level */
	assert_int_equal(fake_in(vm, 0x4d0, 1), 0xf8);
	fake_out(vm, 0x4d0, 1, 0x00);
	vm_isa_irq(vm, 10, true);
	assert_int_equal(vm_extint_ack(vm), 0x2a);
	fake_out(vm, 0xa0, 1, 0x20);
	fake_out(vm, 0x20, 1, 0x20);
	assert_true(vm_extint_pending(vm));		/* still high: requested again */
	/*
	 * The line drops before the acknowledge: the master's edge-latched
	 * cascade request still stands, and the slave answers with its
	 * spurious IRQ 15 vector, putting nothing in service itself.
	 */
	vm_isa_irq(vm, 10, false);
	assert_true(vm_extint_pending(vm));
	assert_int_equal(vm_extint_ack(vm), 0x2f);
	assert_int_equal(read_isr(vm, 0xa0), 0);
	fake_out(vm, 0x20, 1, 0x20);
	assert_false(vm_extint_pending(vm));
	/* On the master (a level pin whose line fell): the spurious IRQ 7 vector. */
	fake_out(vm, 0x4d0, 1, 0x08);
	vm_isa_irq(vm, 3, true);
	assert_true(vm_extint_pending(vm));
	vm_isa_irq(vm, 3, false);
	assert_int_equal(vm_extint_ack(vm), 0x27);
	assert_int_equal(read_isr(vm, 0x20), 0);
	fake_vm_free(vm);
}

static void test_auto_eoi_poll_rotation(void **state)
{
	struct vm *vm = pic_vm(true);

	(void)state;
	vm_isa_irq(vm, 5, true);
	assert_int_equal(vm_extint_ack(vm), 0x25);
	assert_int_equal(read_isr(vm, 0x20), 0);	/* auto-EOI: nothing stays in service */
	vm_isa_irq(vm, 5, false);
	/* Poll mode: the read acknowledges and returns 0x80 | pin. */
	vm_isa_irq(vm, 6, true);
	fake_out(vm, 0x20, 1, 0x0c);
	assert_int_equal(fake_in(vm, 0x20, 1), 0x86);
	fake_out(vm, 0x20, 1, 0x0c);
	assert_int_equal(fake_in(vm, 0x20, 1), 0x00);
	vm_isa_irq(vm, 6, false);
	/* Set priority: IRQ 4 lowest, so IRQ 5 outranks IRQ 1. */
	fake_out(vm, 0x20, 1, 0xc4);
	vm_isa_irq(vm, 1, true);
	vm_isa_irq(vm, 5, true);
	assert_int_equal(vm_extint_ack(vm), 0x25);
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edge_priority_eoi),
		cmocka_unit_test(test_cascade_and_mask),
		cmocka_unit_test(test_spurious_and_level),
		cmocka_unit_test(test_auto_eoi_poll_rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
