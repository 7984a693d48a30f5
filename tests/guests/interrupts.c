/*
 * interrupts: external interrupts from HC_SET_TIMER, delivered through the
 * vCPU's local APIC (enabled first, each one ended with an EOI). HLT with IF=1 wakes
 * on the timer; with IF=0 the interrupt stays pending and is taken right
 * after STI and the instruction in its shadow; timers can be re-armed,
 * replaced and cancelled; bad vectors are refused.
 *
 * Waiting without HLT uses TSC spins scaled by how long the first 1000 us
 * timer took, so the guest needs no calibrated clock.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"
#include "lapic.h"

const char guest_name[] = "interrupts";

#define TIMER_VEC 0x40
#define MIN_SPIN 2000000ull

static volatile unsigned int ticks;
static volatile uint32_t last_vec, last_eip;
static uint64_t spin; /* comfortably longer than one 1000 us timer */

static void timer_handler(struct trap_frame *f)
{
	ticks++;
	last_vec = f->vector;
	last_eip = f->eip;
	lapic_eoi();
}

static void check_hlt_wake(void)
{
	unsigned int before = ticks;
	uint64_t t0, took;
	long r;

	t0 = rdtsc();
	r = hc_set_timer(TIMER_VEC, 1000);
	sti_hlt();
	cli();
	took = rdtsc() - t0;
	CHECK_EQ(r, 0, "set_timer_returns_0");
	CHECKF(ticks == before + 1 && last_vec == TIMER_VEC, "hlt_wakes_on_timer",
	       "%u interrupts, last vector 0x%x", ticks - before, last_vec);
	spin = took * 10 > MIN_SPIN ? took * 10 : MIN_SPIN;
	gprintf("interrupts: a 1000 us timer took %llu TSC ticks; spins last %llu\n",
		(unsigned long long)took, (unsigned long long)spin);
}

static void check_pending_until_sti(void)
{
	unsigned int before = ticks, during;
	uint32_t after_nop;

	hc_set_timer(TIMER_VEC, 1000);
	wait_tsc(spin);
	during = ticks;
	/* The interrupt is taken after the instruction in STI's shadow: at label 1. */
	asm volatile("movl $1f, %0\n\tsti\n\tnop\n1:\tcli" : "=m"(after_nop) : : "memory");
	CHECKF(during == before, "if0_holds_interrupt", "%u interrupts with IF=0",
	       during - before);
	CHECKF(ticks == before + 1 && last_eip == after_nop, "delivered_after_sti_shadow",
	       "%u interrupts, taken at eip 0x%x, want 0x%x", ticks - before, last_eip,
	       after_nop);
}

static void check_running_and_rearm(void)
{
	unsigned int before = ticks;
	uint64_t t0;

	hc_set_timer(TIMER_VEC, 1000);
	sti();
	for (t0 = rdtsc(); ticks == before && rdtsc() - t0 < spin * 4;)
		pause();
	cli();
	CHECKF(ticks == before + 1, "timer_while_running", "%u interrupts while spinning",
	       ticks - before);

	before = ticks;
	hc_set_timer(TIMER_VEC, 500);
	sti_hlt();
	cli();
	hc_set_timer(TIMER_VEC, 500);
	sti_hlt();
	cli();
	CHECKF(ticks == before + 2, "two_timers_in_a_row", "%u interrupts", ticks - before);

	/* A 1 s timer replaced by a 500 us one: the wake-up comes early, once. */
	before = ticks;
	hc_set_timer(TIMER_VEC, 1000000);
	hc_set_timer(TIMER_VEC, 500);
	t0 = rdtsc();
	sti_hlt();
	cli();
	CHECKF(ticks == before + 1 && rdtsc() - t0 < spin * 10, "set_timer_replaces",
	       "%u interrupts, woke after %llu ticks", ticks - before,
	       (unsigned long long)(rdtsc() - t0));
}

static void check_cancel_and_bad(void)
{
	unsigned int before = ticks;
	long r0, r1, r2, r3;

	hc_set_timer(TIMER_VEC, 1000);
	r0 = hc_set_timer(TIMER_VEC, 0);
	sti();
	wait_tsc(spin);
	cli();
	CHECKF(r0 == 0 && ticks == before, "cancel_timer", "returned %ld, %u interrupts", r0,
	       ticks - before);

	r1 = hc_set_timer(10, 1000);
	r2 = hc_set_timer(31, 1000);
	r3 = hc_set_timer(256, 1000);
	sti();
	wait_tsc(spin);
	cli();
	CHECKF(r1 == HC_EINVAL && r2 == HC_EINVAL && r3 == HC_EINVAL && ticks == before,
	       "set_timer_bad_vector", "vector 10 -> %ld, 31 -> %ld, 256 -> %ld, %u interrupts",
	       r1, r2, r3, ticks - before);
}

void guest_main(void)
{
	static const char *const names[] = {
		"set_timer_returns_0",	 "hlt_wakes_on_timer", "if0_holds_interrupt",
		"delivered_after_sti_shadow", "timer_while_running", "two_timers_in_a_row",
		"set_timer_replaces",	 "cancel_timer",	"set_timer_bad_vector",
	};
	unsigned int i;

	/* The handler path itself, by software interrupt: works anywhere. */
	irq_register(TIMER_VEC, timer_handler);
	asm volatile("int $0x40" : : : "memory");
	CHECKF(ticks == 1 && last_vec == TIMER_VEC, "handler_via_int_0x40",
	       "%u calls, vector 0x%x", ticks, last_vec);
	if (!vmk_present()) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			SKIP(names[i], NOT_VMK);
		return;
	}
	lapic_enable();
	check_hlt_wake();
	check_pending_until_sti();
	check_running_and_rearm();
	check_cancel_and_bad();
}
