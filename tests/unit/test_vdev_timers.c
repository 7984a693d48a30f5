/*
 * Time devices at register level on a fake clock: the 8254 PIT (through
 * the IOAPIC and a local APIC, the path Linux uses), the local APIC timer
 * in its three modes, the RTC, and the ACPI PM timer and PM1 registers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/acpi_tables.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include "vdev_fakes.h"

#define US 1000ULL
#define MS 1000000ULL

static void lapic_w(struct vm *vm, unsigned cpu, uint32_t reg, uint32_t v)
{
	assert_int_equal(vlapic_mmio_write(&vm->vcpus[cpu]->lapic, reg, 4, v), 0);
}

static uint32_t lapic_r(struct vm *vm, unsigned cpu, uint32_t reg)
{
	uint64_t v;

	assert_int_equal(vlapic_mmio_read(&vm->vcpus[cpu]->lapic, reg, 4, &v), 0);
	return (uint32_t)v;
}

/* Take (acknowledge) the highest pending vector of vCPU cpu and EOI it; -1 if none. */
static int take(struct vm *vm, unsigned cpu)
{
	struct vlapic *l = &vm->vcpus[cpu]->lapic;
	int v = vlapic_pending_irq(l);

	if (v >= 0) {
		vlapic_ack_irq(l, (uint8_t)v);
		lapic_w(vm, cpu, APIC_EOI, 0);
	}
	return v;
}

static void ioapic_route(struct vm *vm, unsigned pin, uint32_t lo, uint32_t hi)
{
	fake_mmio_write(vm, 0xfec00000, 4, 0x10 + 2 * pin);
	fake_mmio_write(vm, 0xfec00010, 4, lo);
	fake_mmio_write(vm, 0xfec00000, 4, 0x11 + 2 * pin);
	fake_mmio_write(vm, 0xfec00010, 4, hi);
}

static struct vm *platform(unsigned ncpus)
{
	struct vm *vm = fake_vm(ncpus, 64);
	const struct vdev_args pit = { .name = "pit" }, io = { .name = "ioapic", .mmio = 0xfec00000 };
	const struct vdev_args rtc = { .name = "rtc" }, pm = { .name = "acpi" };

	assert_non_null(vdev_create(vm, "i8254", &pit));
	assert_non_null(vdev_create(vm, "ioapic", &io));
	assert_non_null(vdev_create(vm, "mc146818", &rtc));
	assert_non_null(vdev_create(vm, "acpi-pm", &pm));
	for (unsigned i = 0; i < ncpus; i++)
		lapic_w(vm, i, APIC_SVR, 0x1ff);
	return vm;
}

static void test_pit_periodic_through_ioapic(void **state)
{
	struct vm *vm = platform(1);
	unsigned ticks = 0;

	(void)state;
	ioapic_route(vm, 2, 0x30, 0);		/* ISA IRQ 0 arrives at pin 2 */
	fake_out(vm, 0x43, 1, 0x34);		/* channel 0, lo/hi, mode 2 */
	fake_out(vm, 0x40, 1, 0xa9);		/* 1193 = 1 ms */
	fake_out(vm, 0x40, 1, 0x04);
	for (int i = 0; i < 10; i++) {
		fake_advance(1 * MS);
		if (take(vm, 0) == 0x30)
			ticks++;
	}
	assert_in_range(ticks, 9, 10);
	/* A masked pin delivers nothing. */
	ioapic_route(vm, 2, 0x30 | (1U << 16), 0);
	fake_advance(5 * MS);
	assert_int_equal(take(vm, 0), -1);
	fake_vm_free(vm);
}

/* One-shot modes as kernels use them for tickless timers: mode 4 (Linux), mode 0. */
static void test_pit_oneshot_modes(void **state)
{
	struct vm *vm = platform(1);

	(void)state;
	ioapic_route(vm, 2, 0x30, 0);
	for (unsigned mode = 0; mode <= 4; mode += 4) {
		fake_out(vm, 0x43, 1, 0x30 | (mode << 1));
		for (int i = 0; i < 3; i++) {
			/* Each new count (no new control word) is one more interrupt. */
			fake_out(vm, 0x40, 1, 0x9b);	/* 2971 ticks, about 2.5 ms */
			fake_out(vm, 0x40, 1, 0x0b);
			fake_advance(2 * MS);
			assert_int_equal(take(vm, 0), -1);
			fake_advance(1 * MS);
			assert_int_equal(take(vm, 0), 0x30);
			fake_advance(10 * MS);
			assert_int_equal(take(vm, 0), -1);	/* one-shot: nothing more */
		}
	}
	fake_vm_free(vm);
}

static void test_pit_channel2_gate_and_latch(void **state)
{
	struct vm *vm = platform(1);
	uint16_t a, b;

	(void)state;
	fake_out(vm, 0x61, 1, 0x00);		/* gate off */
	fake_out(vm, 0x43, 1, 0xb0);		/* channel 2, lo/hi, mode 0 */
	fake_out(vm, 0x42, 1, 0xe8);		/* 1000 ticks, about 838 us */
	fake_out(vm, 0x42, 1, 0x03);
	fake_advance(2 * MS);
	assert_int_equal(fake_in(vm, 0x61, 1) & 0x20, 0);	/* gate low: not counting */
	fake_out(vm, 0x61, 1, 0x01);		/* gate rises: counting starts */
	fake_advance(400 * US);
	fake_out(vm, 0x43, 1, 0x80);		/* latch channel 2 */
	a = (uint16_t)(fake_in(vm, 0x42, 1) | fake_in(vm, 0x42, 1) << 8);
	assert_in_range(a, 400, 600);
	assert_int_equal(fake_in(vm, 0x61, 1) & 0x20, 0);	/* OUT still low */
	fake_advance(300 * US);
	fake_out(vm, 0x43, 1, 0x80);
	b = (uint16_t)(fake_in(vm, 0x42, 1) | fake_in(vm, 0x42, 1) << 8);
	assert_true(b < a);
	fake_advance(300 * US);
	assert_int_equal(fake_in(vm, 0x61, 1) & 0x20, 0x20);	/* terminal count: OUT high */
	/* Read-back of channel 2's status: OUT high, lo/hi, mode 0. */
	fake_out(vm, 0x43, 1, 0xe8);
	assert_int_equal(fake_in(vm, 0x42, 1), 0x80 | 0x30);
	/* After terminal count a gate low/high pair leaves OUT high (mode 0: no reload). */
	fake_out(vm, 0x61, 1, 0x00);
	fake_out(vm, 0x61, 1, 0x01);
	fake_advance(100 * US);
	assert_int_equal(fake_in(vm, 0x61, 1) & 0x20, 0x20);
	/* Mode 0: a low gate pauses the count, a rising one resumes it where it was. */
	fake_out(vm, 0x43, 1, 0xb0);
	fake_out(vm, 0x42, 1, 0x10);		/* 10000 ticks, about 8.4 ms */
	fake_out(vm, 0x42, 1, 0x27);
	fake_advance(2 * MS);
	fake_out(vm, 0x61, 1, 0x00);
	fake_out(vm, 0x43, 1, 0x80);
	a = (uint16_t)(fake_in(vm, 0x42, 1) | fake_in(vm, 0x42, 1) << 8);
	assert_in_range(a, 10000 - 2400, 10000 - 2380);
	fake_advance(3 * MS);
	fake_out(vm, 0x43, 1, 0x80);
	b = (uint16_t)(fake_in(vm, 0x42, 1) | fake_in(vm, 0x42, 1) << 8);
	assert_int_equal(b, a);
	fake_out(vm, 0x61, 1, 0x01);
	fake_advance(1 * MS);
	fake_out(vm, 0x43, 1, 0x80);
	b = (uint16_t)(fake_in(vm, 0x42, 1) | fake_in(vm, 0x42, 1) << 8);
	assert_in_range(b, a - 1195, a - 1190);
	assert_int_equal(fake_in(vm, 0x61, 1) & 0x20, 0);
	fake_advance(6 * MS);
	assert_int_equal(fake_in(vm, 0x61, 1) & 0x20, 0x20);
	fake_vm_free(vm);
}

static void test_lapic_timer_modes(void **state)
{
	struct vm *vm = platform(1);
	unsigned fired = 0;
	uint32_t c0, c1;

	(void)state;
	lapic_w(vm, 0, APIC_TDCR, 0xb);		/* divide by 1: 1 GHz on the fake clock */
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x40);	/* one-shot, vector 0x40 */
	lapic_w(vm, 0, APIC_TMICT, 1000000);	/* 1 ms */
	fake_advance(400 * US);
	c0 = lapic_r(vm, 0, APIC_TMCCT);
	assert_in_range(c0, 500000, 700000);
	assert_int_equal(take(vm, 0), -1);
	fake_advance(700 * US);
	assert_int_equal(take(vm, 0), 0x40);
	assert_int_equal(lapic_r(vm, 0, APIC_TMCCT), 0);
	fake_advance(5 * MS);
	assert_int_equal(take(vm, 0), -1);	/* one-shot: nothing more */
	/* Periodic, divide by 16: every 1.6 ms. */
	lapic_w(vm, 0, APIC_TDCR, 0x3);
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x41 | (1U << 17));
	lapic_w(vm, 0, APIC_TMICT, 100000);
	for (int i = 0; i < 10; i++) {
		fake_advance(1600 * US);
		fired += take(vm, 0) == 0x41;
	}
	assert_in_range(fired, 9, 10);
	c1 = lapic_r(vm, 0, APIC_TMCCT);
	assert_true(c1 <= 100000);
	/*
	 * Read after an expiry the host has not processed yet (its timer runs
	 * late): the count has already wrapped, 0.4 ms into the next period.
	 */
	fake_tsc += 2000 * US;
	assert_in_range(lapic_r(vm, 0, APIC_TMCCT), 74000, 76000);
	fake_advance(0);
	assert_int_equal(take(vm, 0), 0x41);
	/* TSC deadline: fires when the guest TSC passes the written value. */
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x42 | (2U << 17));
	vm->tsc_offset = 5000;
	vlapic_set_tsc_deadline(&vm->vcpus[0]->lapic, fake_tsc + 5000 + 2 * MS);
	fake_advance(1 * MS);
	assert_int_equal(take(vm, 0), -1);
	fake_advance(1 * MS + 1);
	assert_int_equal(take(vm, 0), 0x42);
	assert_int_equal(vlapic_get_tsc_deadline(&vm->vcpus[0]->lapic), 0);
	/* Masked: no interrupt. */
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x43 | APIC_LVT_MASKED);
	lapic_w(vm, 0, APIC_TMICT, 1000);
	fake_advance(1 * MS);
	assert_int_equal(take(vm, 0), -1);
	fake_vm_free(vm);
}

/*
 * An LVT timer write never starts or restarts the count (SDM 3A 11.5.4);
 * TSC-deadline mode ignores TMICT (11.5.4.1).
 */
static void test_lapic_timer_lvt_writes(void **state)
{
	struct vm *vm = platform(1);
	uint32_t c1, c2;

	(void)state;
	lapic_w(vm, 0, APIC_TDCR, 0xb);		/* divide by 1: 1 GHz on the fake clock */
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x40);
	lapic_w(vm, 0, APIC_TMICT, 1000000);	/* 1 ms one-shot */
	fake_advance(1100 * US);
	assert_int_equal(take(vm, 0), 0x40);
	/* Expired one-shot, mode changed to periodic: nothing starts. */
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x40 | (1U << 17));
	fake_advance(5 * MS);
	assert_int_equal(take(vm, 0), -1);
	assert_int_equal(lapic_r(vm, 0, APIC_TMCCT), 0);
	/* A running count survives an LVT rewrite and expires on time. */
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x40);
	lapic_w(vm, 0, APIC_TMICT, 10000000);	/* 10 ms */
	fake_advance(4 * MS);
	c1 = lapic_r(vm, 0, APIC_TMCCT);
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x40);
	c2 = lapic_r(vm, 0, APIC_TMCCT);
	assert_true(c2 <= c1 && c1 <= 6000000);
	fake_advance(6 * MS + 1);
	assert_int_equal(take(vm, 0), 0x40);
	/* One-shot switched to periodic mid-count: it reloads at expiry. */
	lapic_w(vm, 0, APIC_TMICT, 1000000);
	fake_advance(500 * US);
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x41 | (1U << 17));
	fake_advance(600 * US);
	assert_int_equal(take(vm, 0), 0x41);
	fake_advance(1 * MS);
	assert_int_equal(take(vm, 0), 0x41);
	/* Into TSC-deadline mode: the periodic timer is disarmed, TMICT is 0 and ignored. */
	lapic_w(vm, 0, APIC_LVT_TIMER, 0x42 | (2U << 17));
	assert_int_equal(lapic_r(vm, 0, APIC_TMICT), 0);
	fake_advance(3 * MS);
	assert_int_equal(take(vm, 0), -1);
	vlapic_set_tsc_deadline(&vm->vcpus[0]->lapic, fake_tsc + vm->tsc_offset + 2 * MS);
	lapic_w(vm, 0, APIC_TMICT, 1000);
	assert_int_equal(lapic_r(vm, 0, APIC_TMICT), 0);
	fake_advance(1 * MS);
	assert_int_equal(take(vm, 0), -1);
	fake_advance(1 * MS + 1);
	assert_int_equal(take(vm, 0), 0x42);
	fake_vm_free(vm);
}

static void test_lapic_ipis_priority(void **state)
{
	struct vm *vm = platform(2);

	(void)state;
	/* Fixed IPI from vCPU 0 to vCPU 1 (physical destination 1). */
	lapic_w(vm, 0, APIC_ICR_HI, 1U << 24);
	lapic_w(vm, 0, APIC_ICR_LO, 0x50);
	assert_int_equal(take(vm, 1), 0x50);
	assert_int_equal(take(vm, 0), -1);
	assert_true(fake_kicks[1] > 0);
	/* All excluding self. */
	lapic_w(vm, 1, APIC_ICR_LO, 0x51 | (3U << 18));
	assert_int_equal(take(vm, 0), 0x51);
	assert_int_equal(take(vm, 1), -1);
	/* Logical flat: LDR bit 1 on vCPU 1. */
	lapic_w(vm, 1, APIC_LDR, 0x02000000);
	lapic_w(vm, 0, APIC_ICR_HI, 0x02000000);
	lapic_w(vm, 0, APIC_ICR_LO, 0x52 | (1U << 11));
	assert_int_equal(take(vm, 1), 0x52);
	/* TPR holds back its class and below; PPR follows ISR. */
	lapic_w(vm, 0, APIC_TPR, 0x60);
	lapic_w(vm, 1, APIC_ICR_HI, 0);
	lapic_w(vm, 1, APIC_ICR_LO, 0x65);
	assert_int_equal(vlapic_pending_irq(&vm->vcpus[0]->lapic), -1);
	lapic_w(vm, 1, APIC_ICR_LO, 0x75);
	assert_int_equal(vlapic_pending_irq(&vm->vcpus[0]->lapic), 0x75);
	vlapic_ack_irq(&vm->vcpus[0]->lapic, 0x75);
	assert_int_equal(lapic_r(vm, 0, APIC_PPR), 0x70);
	lapic_w(vm, 0, APIC_EOI, 0);
	lapic_w(vm, 0, APIC_TPR, 0);
	assert_int_equal(take(vm, 0), 0x65);
	/* An illegal vector is an error, latched into ESR by the next ESR write. */
	lapic_w(vm, 0, APIC_ICR_LO, 0x05);
	lapic_w(vm, 0, APIC_ESR, 0);
	assert_int_equal(lapic_r(vm, 0, APIC_ESR), 1U << 5);
	/* INIT and a start-up IPI: the target waits for the SIPI, then takes its vector. */
	vm->vcpus[1]->lapic.run_state = VLAPIC_WAIT_SIPI;
	lapic_w(vm, 0, APIC_ICR_HI, 1U << 24);
	lapic_w(vm, 0, APIC_ICR_LO, (5U << 8) | (1U << 14));
	assert_true(vm->vcpus[1]->lapic.init_pending);
	lapic_w(vm, 0, APIC_ICR_LO, (6U << 8) | 0x9a);
	assert_true(vm->vcpus[1]->lapic.sipi_pending);
	assert_int_equal(vm->vcpus[1]->lapic.sipi_vector, 0x9a);
	/* The target looks only now: INIT first, then the first SIPI; the second SIPI is ignored. */
	lapic_w(vm, 0, APIC_ICR_LO, (6U << 8) | 0x9b);
	assert_true(vlapic_take_init(&vm->vcpus[1]->lapic));
	assert_int_equal(vlapic_take_sipi(&vm->vcpus[1]->lapic), 0x9a);
	assert_int_equal(vm->vcpus[1]->lapic.run_state, VLAPIC_RUNNING);
	assert_int_equal(vlapic_take_sipi(&vm->vcpus[1]->lapic), -1);
	/* A running CPU ignores a SIPI; an INIT after a SIPI cancels it. */
	lapic_w(vm, 0, APIC_ICR_LO, (6U << 8) | 0x9c);
	assert_false(vm->vcpus[1]->lapic.sipi_pending);
	lapic_w(vm, 0, APIC_ICR_LO, (5U << 8) | (1U << 14));
	lapic_w(vm, 0, APIC_ICR_LO, (6U << 8) | 0x9d);
	lapic_w(vm, 0, APIC_ICR_LO, (5U << 8) | (1U << 14));
	assert_true(vlapic_take_init(&vm->vcpus[1]->lapic));
	assert_int_equal(vlapic_take_sipi(&vm->vcpus[1]->lapic), -1);
	fake_vm_free(vm);
}

static void test_level_eoi_remote_irr(void **state)
{
	struct vm *vm = platform(1);
	uint32_t lo;

	(void)state;
	ioapic_route(vm, 11, 0x60 | (1U << 15), 0);	/* level-triggered */
	vm_gsi(vm, 11, true);
	fake_mmio_write(vm, 0xfec00000, 4, 0x10 + 22);
	lo = (uint32_t)fake_mmio_read(vm, 0xfec00010, 4);
	assert_true(lo & (1U << 14));		/* remote IRR */
	assert_int_equal(take(vm, 0), 0x60);	/* the EOI reaches the IOAPIC ... */
	vm_gsi(vm, 11, false);			/* ... the line, still high then, sent again */
	assert_int_equal(take(vm, 0), 0x60);
	assert_int_equal(take(vm, 0), -1);	/* now low: the last EOI sends nothing */
	fake_mmio_write(vm, 0xfec00000, 4, 0x10 + 22);
	assert_false(fake_mmio_read(vm, 0xfec00010, 4) & (1U << 14));
	fake_vm_free(vm);
}

static uint8_t cmos(struct vm *vm, uint8_t reg)
{
	fake_out(vm, 0x70, 1, reg);
	return (uint8_t)fake_in(vm, 0x71, 1);
}

static void cmos_w(struct vm *vm, uint8_t reg, uint8_t v)
{
	fake_out(vm, 0x70, 1, reg);
	fake_out(vm, 0x71, 1, v);
}

static void test_rtc(void **state)
{
	struct vm *vm = platform(1);

	(void)state;
	/* The fake wall clock is 2023-11-14 22:13:20 UTC (a Tuesday). BCD, 24-hour. */
	assert_int_equal(cmos(vm, 0x09), 0x23);
	assert_int_equal(cmos(vm, 0x32), 0x20);
	assert_int_equal(cmos(vm, 0x08), 0x11);
	assert_int_equal(cmos(vm, 0x07), 0x14);
	assert_int_equal(cmos(vm, 0x04), 0x22);
	assert_int_equal(cmos(vm, 0x02), 0x13);
	assert_int_equal(cmos(vm, 0x00), 0x20);
	assert_int_equal(cmos(vm, 0x06), 3);
	assert_int_equal(cmos(vm, 0x0d), 0x80);
	/* Binary and 12-hour formats. */
	cmos_w(vm, 0x0b, 0x04);
	assert_int_equal(cmos(vm, 0x04), 10 | 0x80);	/* 10 PM */
	assert_int_equal(cmos(vm, 0x00), 20);
	/*
	 * Update-in-progress: high from 244 us before the second turns to the
	 * end of the 1984 us update cycle, low otherwise; update-ended is
	 * flagged as the cycle ends.
	 */
	cmos_w(vm, 0x0b, 0x06);
	fake_advance(1000 * MS - 300 * US - (fake_tsc % (1000 * MS)));
	assert_false(cmos(vm, 0x0a) & 0x80);
	cmos(vm, 0x0c);
	fake_advance(200 * US);
	assert_true(cmos(vm, 0x0a) & 0x80);
	fake_advance(1800 * US);			/* 1.7 ms into the update cycle */
	assert_true(cmos(vm, 0x0a) & 0x80);
	assert_int_equal(cmos(vm, 0x00), 21);		/* the new second is in the fields */
	assert_int_equal(cmos(vm, 0x0c) & 0x10, 0);	/* but the cycle has not ended */
	fake_advance(400 * US);
	assert_false(cmos(vm, 0x0a) & 0x80);
	assert_int_equal(cmos(vm, 0x0c) & 0x10, 0x10);
	/* Setting the time: SET stops the clock, the fields written take over. */
	cmos_w(vm, 0x0b, 0x86);
	cmos_w(vm, 0x09, 30);
	cmos_w(vm, 0x08, 6);
	cmos_w(vm, 0x07, 1);
	cmos_w(vm, 0x04, 8);
	cmos_w(vm, 0x02, 0);
	cmos_w(vm, 0x00, 0);
	cmos_w(vm, 0x0b, 0x06);
	fake_advance(3000 * MS);
	assert_int_equal(cmos(vm, 0x09), 30);
	assert_int_equal(cmos(vm, 0x08), 6);
	assert_int_equal(cmos(vm, 0x00), 3);
	/* Periodic interrupt: 1024 Hz; PF in register C, IRQ 8 while PIE. */
	cmos(vm, 0x0c);
	cmos_w(vm, 0x0a, 0x26);
	cmos_w(vm, 0x0b, 0x46);
	fake_advance(2 * MS);
	assert_int_equal(cmos(vm, 0x0c) & 0xc0, 0xc0);
	assert_int_equal(cmos(vm, 0x0c) & 0x80, 0);	/* read clears */
	/* CMOS memory survives a reset; memory size fields are filled in. */
	cmos_w(vm, 0x40, 0x5a);
	vdev_reset_all(vm);
	assert_int_equal(cmos(vm, 0x40), 0x5a);
	assert_int_equal(cmos(vm, 0x15) | cmos(vm, 0x16) << 8, 640);
	assert_int_equal(cmos(vm, 0x34) | cmos(vm, 0x35) << 8, (64 - 16) * 16);
	fake_vm_free(vm);
}

static void test_acpi_pm(void **state)
{
	struct vm *vm = platform(1);
	uint32_t t0, t1;

	(void)state;
	t0 = fake_in(vm, ACPI_PM_TMR_PORT, 4);
	fake_advance(10 * MS);
	t1 = fake_in(vm, ACPI_PM_TMR_PORT, 4);
	assert_in_range(t1 - t0, 35790, 35800);		/* 3.579545 MHz */
	assert_int_equal(fake_in(vm, ACPI_PM1A_CNT_PORT, 2) & 1, 1);	/* SCI_EN */
	fake_out(vm, ACPI_PM1A_EVT_PORT + 2, 2, 0x0521);	/* TMR, GBL, PWRBTN, RTC enables */
	assert_int_equal(fake_in(vm, ACPI_PM1A_EVT_PORT + 2, 2), 0x0521);
	/* S5 powers off. */
	fake_out(vm, ACPI_PM1A_CNT_PORT, 2, (ACPI_SLP_TYP_S5 << 10) | (1U << 13));
	assert_int_equal(vm->end_kind, VM_END_POWEROFF);
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pit_periodic_through_ioapic),
		cmocka_unit_test(test_pit_oneshot_modes),
		cmocka_unit_test(test_pit_channel2_gate_and_latch),
		cmocka_unit_test(test_lapic_timer_modes),
		cmocka_unit_test(test_lapic_timer_lvt_writes),
		cmocka_unit_test(test_lapic_ipis_priority),
		cmocka_unit_test(test_level_eoi_remote_irr),
		cmocka_unit_test(test_rtc),
		cmocka_unit_test(test_acpi_pm),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
