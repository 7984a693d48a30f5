/*
 * The host's wall-clock time (vmkernel/wallclock.c): read once from the
 * platform's CMOS real-time clock at boot, taken as UTC, and carried
 * forward by the TSC.
 */
#ifndef WALLCLOCK_H
#define WALLCLOCK_H

#include <stdbool.h>
#include <stdint.h>

uint64_t wallclock_ns(void);	/* nanoseconds since 1970-01-01 UTC */
bool wallclock_valid(void);	/* false if the RTC could not be read (time starts at 0) */

#endif
