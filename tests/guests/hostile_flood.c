/*
 * hostile_flood: console floods, and the neighbour that must not notice.
 *
 *  flood   (command line) writes to its console for ever, as fast as the
 *          hypervisor lets it: 4 KiB HC_CONSOLE_WRITEs and `rep outsb`
 *          bursts to the UART. Several of these run at once; the host must
 *          drop what it cannot print, say how much, and keep its CPUs.
 *  (none)  the well-behaved neighbour on the same host CPU: 100 rounds of
 *          timer-driven work (HC_SET_TIMER, 2 ms, then HLT), each late by
 *          no more than 100 ms of guest time. A host that writes a guest's
 *          4 KiB to a 115200-baud UART with interrupts off is ~0.35 s late.
 */
#include "guest.h"
#include "cpu.h"
#include "lapic.h"
#include "trap.h"

const char guest_name[] = "hostile_flood";

#define TIMER_VEC 0x40
#define ROUNDS 100
#define PERIOD_US 2000u
#define LATE_MAX_MS 100u

static volatile unsigned ticks;
static char text[4096];

static void tick(struct trap_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

static void __attribute__((noreturn)) flood(void)
{
	unsigned long long rounds = 0;

	for (unsigned i = 0; i < sizeof(text); i++)
		text[i] = (i % 64 == 63) ? '\n' : (char)('a' + (i * 7) % 26);
	for (;;) {
		hc_console_write(text, sizeof(text));
		if (++rounds % 4 == 0) {
			uint32_t s = (uint32_t)(uintptr_t)text, c = 1024;

			asm volatile("rep outsb" : "+S"(s), "+c"(c) : "d"(0x3f8) : "memory");
		}
	}
}

void guest_main(void)
{
	uint64_t khz = cpuid(0x40000010, 0).eax, worst = 0, total = 0, period = khz * (PERIOD_US / 1000);
	uint32_t rem;

	if (cmdline_has("flood"))
		flood();
	if (vmk_skip("timer_work_on_time") || !khz) {
		if (vmk_present())
			CHECKF(khz, "timer_work_on_time", "no TSC rate in CPUID 0x40000010");
		guest_finish();
	}
	lapic_enable();
	irq_register(TIMER_VEC, tick);
	for (unsigned i = 0; i < ROUNDS; i++) {
		unsigned before = ticks;
		uint64_t t0 = rdtsc(), late;

		hc_set_timer(TIMER_VEC, PERIOD_US);
		while (ticks == before)
			sti_hlt();
		asm volatile("cli");
		late = rdtsc() - t0;
		late = late > period ? late - period : 0;
		total += late;
		if (late > worst)
			worst = late;
	}
	gprintf("%s: %u timer rounds, late by %u us on average, %u us at worst\n", guest_name,
		ROUNDS, (unsigned)udiv64(udiv64(total * 1000, (uint32_t)khz, &rem), ROUNDS, &rem),
		(unsigned)udiv64(worst * 1000, (uint32_t)khz, &rem));
	CHECKF(worst <= khz * LATE_MAX_MS, "timer_work_on_time",
	       "a 2 ms timer came %u ms late (at most %u ms allowed)",
	       (unsigned)udiv64(worst, (uint32_t)khz, &rem), LATE_MAX_MS);
	guest_finish();
}
