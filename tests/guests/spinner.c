/*
 * spinner: never halts, never exits, with interrupts off. The host must
 * keep running its other VMs (the preemption timer takes the CPU back) and
 * stop this one when they are done (expected result "running").
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "spinner";

static volatile uint32_t laps;

void guest_main(void)
{
	gprintf("spinner: spinning with interrupts off\n");
	cli();
	for (;;)
		laps++;
}
