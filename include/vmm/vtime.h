/*
 * The host clock as device models read it: the TSC. One replaceable
 * inline, so the models run in host unit tests on a fake clock.
 */
#ifndef VMM_VTIME_H
#define VMM_VTIME_H

#include <stdint.h>

#ifdef HOST_TEST
uint64_t vtime_host_tsc(void);
#else
#include <vmkernel/cpu.h>
static inline uint64_t vtime_host_tsc(void)
{
	return rdtsc();
}
#endif

#endif
