/*
 * Time: the TSC is the clock (calibrated at boot against the ACPI PM timer,
 * the HPET or the PIT, whichever the platform has), the LAPIC timer makes
 * interrupts. Busy-wait helpers are for device bring-up, not for tests.
 */
#ifndef TIMER_H
#define TIMER_H

#include <stdint.h>

int timer_init(void);
uint64_t tsc_hz(void);
uint64_t time_ns(void);			/* since boot, from the TSC */
void udelay(uint64_t us);
void mdelay(uint64_t ms);
const char *timer_calibration_source(void);
/* Start this CPU's host timers and its scheduler tick (every CPU, once). */
void timer_start_cpu(void);

#endif
