/*
 * The local APIC at register level (vmm/vdev/lapic.c; the SDM vol. 3A
 * chapter 11 is the reference for every expectation): reset state,
 * software disable, nested priorities and EOI order, lowest-priority and
 * NMI delivery, logical cluster destinations, error reporting, and the
 * x2APIC MSR interface with its mode transitions. Timer modes and INIT/SIPI
 * are in test_vdev_timers.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include "vdev_fakes.h"

#define ICR_SELF (1U << 18)
#define ICR_ALL_BUT_SELF (3U << 18)
#define ICR_LOGICAL (1U << 11)
#define DM(x) ((uint32_t)(x) << 8)

static struct vlapic *lapic(struct vm *vm, unsigned cpu)
{
	return &vm->vcpus[cpu]->lapic;
}

static void w(struct vm *vm, unsigned cpu, uint32_t reg, uint32_t v)
{
	assert_int_equal(vlapic_mmio_write(lapic(vm, cpu), reg, 4, v), 0);
}

static uint32_t r(struct vm *vm, unsigned cpu, uint32_t reg)
{
	uint64_t v;

	assert_int_equal(vlapic_mmio_read(lapic(vm, cpu), reg, 4, &v), 0);
	return (uint32_t)v;
}

static int take(struct vm *vm, unsigned cpu)
{
	int v = vlapic_pending_irq(lapic(vm, cpu));

	if (v >= 0)
		vlapic_ack_irq(lapic(vm, cpu), (uint8_t)v);
	return v;
}

static void ipi(struct vm *vm, unsigned from, uint32_t dest, uint32_t lo)
{
	w(vm, from, APIC_ICR_HI, dest << 24);
	w(vm, from, APIC_ICR_LO, lo);
}

static struct vm *two_cpus(bool enable)
{
	struct vm *vm = fake_vm(2, 16);

	if (enable) {
		w(vm, 0, APIC_SVR, 0x1ff);
		w(vm, 1, APIC_SVR, 0x1ff);
	}
	return vm;
}

static void test_reset_state(void **state)
{
	struct vm *vm = two_cpus(false);

	(void)state;
	assert_int_equal(r(vm, 1, APIC_ID), 1U << 24);
	assert_int_equal(r(vm, 0, APIC_VER) & 0xff, 0x14);
	assert_int_equal((r(vm, 0, APIC_VER) >> 16) & 0xff, 5);	/* max LVT entry: 6 LVTs */
	assert_int_equal(r(vm, 0, APIC_DFR), 0xffffffffU);
	assert_int_equal(r(vm, 0, APIC_SVR), 0xff);
	assert_int_equal(r(vm, 0, APIC_TPR), 0);
	assert_int_equal(r(vm, 0, APIC_PPR), 0);
	for (uint32_t o = APIC_LVT_TIMER; o <= APIC_LVT_ERROR; o += 0x10)
		assert_true(r(vm, 0, o) & APIC_LVT_MASKED);
	for (uint32_t o = 0; o < 0x80; o += 0x10) {
		assert_int_equal(r(vm, 0, APIC_ISR + o), 0);
		assert_int_equal(r(vm, 0, APIC_IRR + o), 0);
	}
	/* Only vCPU 0 is the bootstrap processor. */
	assert_true(vlapic_get_base(lapic(vm, 0)) & (1U << 8));
	assert_false(vlapic_get_base(lapic(vm, 1)) & (1U << 8));
	assert_int_equal(vlapic_get_base(lapic(vm, 1)) & ~0xfffULL, 0xfee00000);
	/* Reads of write-only or reserved registers, and unaligned ones, give 0. */
	assert_int_equal(r(vm, 0, APIC_EOI), 0);
	assert_int_equal(r(vm, 0, 0x3f0), 0);
	fake_vm_free(vm);
}

static void test_software_disable(void **state)
{
	struct vm *vm = two_cpus(false);

	(void)state;
	/* Disabled (SVR bit 8 clear): fixed interrupts are not accepted, NMIs are. */
	ipi(vm, 0, 1, 0x40);
	assert_int_equal(vlapic_pending_irq(lapic(vm, 1)), -1);
	ipi(vm, 0, 1, DM(APIC_DM_NMI));
	assert_true(lapic(vm, 1)->nmi_pending);
	/* LVTs cannot be unmasked while disabled. */
	w(vm, 1, APIC_LVT_LINT0, 0x700);
	assert_true(r(vm, 1, APIC_LVT_LINT0) & APIC_LVT_MASKED);
	/* Enabled: accepted; and disabling again masks every LVT. */
	w(vm, 1, APIC_SVR, 0x1ff);
	w(vm, 1, APIC_LVT_LINT0, 0x700);
	assert_false(r(vm, 1, APIC_LVT_LINT0) & APIC_LVT_MASKED);
	ipi(vm, 0, 1, 0x41);
	assert_int_equal(take(vm, 1), 0x41);
	w(vm, 1, APIC_SVR, 0x0ff);
	assert_true(r(vm, 1, APIC_LVT_LINT0) & APIC_LVT_MASKED);
	fake_vm_free(vm);
}

static void test_nesting_and_eoi_order(void **state)
{
	struct vm *vm = two_cpus(true);

	(void)state;
	/* A self-IPI of 0x45, taken: in service, PPR is its class. */
	w(vm, 0, APIC_ICR_LO, ICR_SELF | 0x45);
	assert_int_equal(take(vm, 0), 0x45);
	assert_true(r(vm, 0, APIC_ISR + 0x20) & (1U << 5));
	assert_int_equal(r(vm, 0, APIC_PPR), 0x40);
	/* Same class waits; a higher class interrupts. */
	w(vm, 0, APIC_ICR_LO, ICR_SELF | 0x48);
	assert_int_equal(vlapic_pending_irq(lapic(vm, 0)), -1);
	assert_true(r(vm, 0, APIC_IRR + 0x20) & (1U << 8));
	w(vm, 0, APIC_ICR_LO, ICR_SELF | 0x91);
	assert_int_equal(take(vm, 0), 0x91);
	assert_int_equal(r(vm, 0, APIC_PPR), 0x90);
	/* EOI retires the highest in service first: 0x91, then 0x45; then 0x48 comes. */
	w(vm, 0, APIC_EOI, 0);
	assert_false(r(vm, 0, APIC_ISR + 0x40) & (1U << 17));
	assert_int_equal(r(vm, 0, APIC_PPR), 0x40);
	assert_int_equal(vlapic_pending_irq(lapic(vm, 0)), -1);
	w(vm, 0, APIC_EOI, 0);
	assert_int_equal(r(vm, 0, APIC_PPR), 0);
	assert_int_equal(take(vm, 0), 0x48);
	w(vm, 0, APIC_EOI, 0);
	/* TPR above everything pending holds it; CR8 is TPR's class. */
	vlapic_set_cr8(lapic(vm, 0), 0xa);
	assert_int_equal(r(vm, 0, APIC_TPR), 0xa0);
	w(vm, 0, APIC_ICR_LO, ICR_SELF | 0xa5);
	assert_int_equal(vlapic_pending_irq(lapic(vm, 0)), -1);
	w(vm, 0, APIC_TPR, 0x9f);
	assert_int_equal(vlapic_get_cr8(lapic(vm, 0)), 9);
	assert_int_equal(take(vm, 0), 0xa5);
	fake_vm_free(vm);
}

static void test_delivery_modes(void **state)
{
	struct vm *vm = two_cpus(true);
	int got0, got1;

	(void)state;
	/* Lowest priority among both (logical broadcast): the one with the lower TPR. */
	w(vm, 0, APIC_LDR, 0x01000000);
	w(vm, 1, APIC_LDR, 0x02000000);
	w(vm, 0, APIC_TPR, 0x30);
	ipi(vm, 0, 0x03, ICR_LOGICAL | DM(APIC_DM_LOWEST) | 0x61);
	assert_int_equal(take(vm, 1), 0x61);
	assert_int_equal(take(vm, 0), -1);
	w(vm, 1, APIC_EOI, 0);
	w(vm, 0, APIC_TPR, 0);
	w(vm, 1, APIC_TPR, 0x30);
	ipi(vm, 1, 0x03, ICR_LOGICAL | DM(APIC_DM_LOWEST) | 0x62);
	assert_int_equal(take(vm, 0), 0x62);
	assert_int_equal(take(vm, 1), -1);
	w(vm, 0, APIC_EOI, 0);
	/* Equal priorities: exactly one of them gets it. */
	w(vm, 1, APIC_TPR, 0);
	ipi(vm, 0, 0x03, ICR_LOGICAL | DM(APIC_DM_LOWEST) | 0x63);
	got0 = take(vm, 0);
	got1 = take(vm, 1);
	assert_true((got0 == 0x63) != (got1 == 0x63));
	assert_true(got0 == -1 || got1 == -1);
	w(vm, got0 == 0x63 ? 0 : 1, APIC_EOI, 0);
	/* Logical cluster model: cluster 1, member bit 2. */
	w(vm, 1, APIC_DFR, 0x0fffffff);
	w(vm, 0, APIC_DFR, 0x0fffffff);
	w(vm, 1, APIC_LDR, 0x14000000);
	ipi(vm, 0, 0x14, ICR_LOGICAL | 0x64);
	assert_int_equal(take(vm, 1), 0x64);
	w(vm, 1, APIC_EOI, 0);
	ipi(vm, 0, 0x24, ICR_LOGICAL | 0x65);		/* cluster 2: nobody */
	assert_int_equal(take(vm, 1), -1);
	assert_int_equal(take(vm, 0), -1);
	/* Broadcast to all including self, physical 0xff. */
	ipi(vm, 0, 0xff, 0x66);
	assert_int_equal(take(vm, 0), 0x66);
	assert_int_equal(take(vm, 1), 0x66);
	/* NMI to all but self. */
	w(vm, 0, APIC_ICR_LO, ICR_ALL_BUT_SELF | DM(APIC_DM_NMI));
	assert_true(lapic(vm, 1)->nmi_pending);
	assert_false(lapic(vm, 0)->nmi_pending);
	fake_vm_free(vm);
}

static void test_errors(void **state)
{
	struct vm *vm = two_cpus(true);

	(void)state;
	/* Writing a read-only register: illegal register address (ESR bit 7). */
	w(vm, 0, APIC_VER, 0);
	w(vm, 0, APIC_ESR, 0);
	assert_int_equal(r(vm, 0, APIC_ESR), 1U << 7);
	/* The next write latches what happened since: nothing. */
	w(vm, 0, APIC_ESR, 0);
	assert_int_equal(r(vm, 0, APIC_ESR), 0);
	/* Receiving an illegal vector (a message from outside, vector 3). */
	struct apic_msg m = { .dest = 0, .vector = 3, .delivery = APIC_DM_FIXED, .assert = true };
	vm_apic_send(vm, &m, NULL);
	w(vm, 0, APIC_ESR, 0);
	assert_int_equal(r(vm, 0, APIC_ESR), 1U << 6);
	assert_int_equal(vlapic_pending_irq(lapic(vm, 0)), -1);
	/* With the LVT error entry unmasked, each error raises its vector (SDM 3A 11.5.3). */
	w(vm, 0, APIC_LVT_ERROR, 0x4e);
	ipi(vm, 0, 0, ICR_SELF | 3);
	assert_int_equal(take(vm, 0), 0x4e);
	w(vm, 0, APIC_EOI, 0);
	w(vm, 0, APIC_ESR, 0);
	assert_int_equal(r(vm, 0, APIC_ESR), 1U << 5);
	w(vm, 0, APIC_VER, 0);
	assert_int_equal(take(vm, 0), 0x4e);
	w(vm, 0, APIC_EOI, 0);
	/* An illegal vector in the entry is a receive error of its own, never delivered. */
	w(vm, 0, APIC_LVT_ERROR, 0x05);
	w(vm, 0, APIC_VER, 0);
	assert_int_equal(take(vm, 0), -1);
	w(vm, 0, APIC_ESR, 0);
	assert_int_equal(r(vm, 0, APIC_ESR), (1U << 7) | (1U << 6));
	w(vm, 0, APIC_LVT_ERROR, APIC_LVT_MASKED);
	w(vm, 0, APIC_ESR, 0);
	/* Narrow and unaligned writes do not reach a register. */
	assert_int_equal(vlapic_mmio_write(lapic(vm, 0), APIC_TPR, 1, 0x50), 0);
	assert_int_equal(vlapic_mmio_write(lapic(vm, 0), APIC_TPR + 4, 4, 0x50), 0);
	assert_int_equal(r(vm, 0, APIC_TPR), 0);
	fake_vm_free(vm);
}

static void test_x2apic(void **state)
{
	struct vm *vm = two_cpus(true);
	struct vlapic *l0 = lapic(vm, 0), *l1 = lapic(vm, 1);
	uint64_t v, base = vlapic_get_base(l1);

	(void)state;
	/* Not in x2APIC mode: the MSRs fault. */
	assert_int_equal(vlapic_rdmsr(l1, 0x802, &v), -1);
	/* xAPIC -> x2APIC; illegal transitions refused. */
	assert_int_equal(vlapic_set_base(l1, base | (1U << 10)), 0);
	assert_true(vlapic_x2apic(l1));
	assert_int_equal(vlapic_set_base(l1, base & ~(1ULL << 10)), -1);	/* x2 -> xAPIC */
	assert_int_equal(vlapic_set_base(l1, (base | (1U << 10)) & ~(1ULL << 11)), -1); /* EXTD, !EN */
	assert_int_equal(vlapic_set_base(l1, base | (1U << 10) | (1ULL << 40)), -1);	/* reserved */
	assert_true(vlapic_x2apic(l1));
	/* Disabled and then straight to x2APIC is illegal; via xAPIC it is fine. */
	assert_int_equal(vlapic_set_base(l1, base & ~((1ULL << 11) | (1ULL << 10))), 0);
	assert_int_equal(vlapic_set_base(l1, base | (1U << 10)), -1);
	assert_int_equal(vlapic_set_base(l1, base), 0);
	assert_int_equal(vlapic_set_base(l1, base | (1U << 10)), 0);
	w(vm, 1, APIC_SVR, 0x1ff);	/* ignored: the MMIO page is off in x2APIC mode */
	assert_int_equal(vlapic_wrmsr(l1, 0x80f, 0x1ff), 0);
	/* 32-bit ID, the derived logical ID, version. */
	assert_int_equal(vlapic_rdmsr(l1, 0x802, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(vlapic_rdmsr(l1, 0x80d, &v), 0);
	assert_int_equal(v, 2);				/* cluster 0, bit 1 */
	assert_int_equal(vlapic_rdmsr(l1, 0x803, &v), 0);
	assert_int_equal(v & 0xff, 0x14);
	/* The MMIO page floats high now. */
	assert_int_equal(vlapic_mmio_read(l1, APIC_ID, 4, &v), 0);
	assert_int_equal((uint32_t)v, 0xffffffffU);
	/* Read-only, reserved and xAPIC-only registers fault; so do reserved bits. */
	assert_int_equal(vlapic_wrmsr(l1, 0x803, 0), -1);	/* version */
	assert_int_equal(vlapic_wrmsr(l1, 0x802, 5), -1);	/* ID */
	assert_int_equal(vlapic_rdmsr(l1, 0x80e, &v), -1);	/* no DFR */
	assert_int_equal(vlapic_rdmsr(l1, 0x831, &v), -1);	/* no ICR high half */
	assert_int_equal(vlapic_wrmsr(l1, 0x80b, 1), -1);	/* EOI must be 0 */
	assert_int_equal(vlapic_wrmsr(l1, 0x808, 1ULL << 32), -1);	/* TPR high bits */
	/* Self-IPI MSR; the one 64-bit ICR write sends, destination in the high half. */
	assert_int_equal(vlapic_wrmsr(l1, 0x83f, 0x71), 0);
	assert_int_equal(take(vm, 1), 0x71);
	assert_int_equal(vlapic_wrmsr(l1, 0x80b, 0), 0);
	assert_int_equal(vlapic_wrmsr(l1, 0x830, (0ULL << 32) | 0x72), 0);
	assert_int_equal(take(vm, 0), 0x72);
	assert_int_equal(vlapic_rdmsr(l1, 0x830, &v), 0);
	assert_int_equal(v, 0x72);
	/* An xAPIC CPU sends to the x2APIC one by its 8-bit ID. */
	ipi(vm, 0, 1, 0x73);
	assert_int_equal(take(vm, 1), 0x73);
	/* Disabling the APIC resets it; re-enabled in xAPIC mode it starts over. */
	assert_int_equal(vlapic_set_base(l1, base & ~((1ULL << 11) | (1ULL << 10))), 0);
	assert_int_equal(vlapic_set_base(l1, base), 0);
	assert_false(vlapic_x2apic(l1));
	assert_int_equal(r(vm, 1, APIC_SVR), 0xff);
	assert_int_equal(r(vm, 1, APIC_ID), 1U << 24);
	assert_int_equal(vlapic_rdmsr(l0, 0x802, &v), -1);
	fake_vm_free(vm);
}

/* Under APIC virtualization another CPU never writes IRR: it posts, and the vCPU merges. */
static void test_posted_while_cpu_owns_the_page(void **state)
{
	struct vm *vm = two_cpus(true);
	struct vlapic *l1 = lapic(vm, 1);

	(void)state;
	l1->hw_assist = true;
	ipi(vm, 0, 1, 0x61);
	ipi(vm, 0, 1, 0xe3);
	assert_int_equal(r(vm, 1, APIC_IRR + 0x30), 0);	/* the page is untouched */
	assert_int_equal(r(vm, 1, APIC_IRR + 0x70), 0);
	assert_int_equal(vlapic_highest_irr(l1), -1);
	assert_true(fake_kicks[1] >= 2);
	assert_true(vlapic_merge_posted(l1));
	assert_true(r(vm, 1, APIC_IRR + 0x30) & (1U << 1));
	assert_true(r(vm, 1, APIC_IRR + 0x70) & (1U << 3));
	assert_int_equal(vlapic_highest_irr(l1), 0xe3);
	assert_false(vlapic_merge_posted(l1));		/* nothing new */
	/* Without it, IRR is written directly. */
	l1->hw_assist = false;
	ipi(vm, 0, 1, 0x72);
	assert_true(r(vm, 1, APIC_IRR + 0x30) & (1U << 18));
	/* A reset forgets posted vectors too. */
	l1->hw_assist = true;
	ipi(vm, 0, 1, 0x80);
	vlapic_reset(l1, true);
	assert_false(vlapic_merge_posted(l1));
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_state),
		cmocka_unit_test(test_software_disable),
		cmocka_unit_test(test_nesting_and_eoi_order),
		cmocka_unit_test(test_delivery_modes),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_x2apic),
		cmocka_unit_test(test_posted_while_cpu_owns_the_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
