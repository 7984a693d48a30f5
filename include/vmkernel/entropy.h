/*
 * Random bytes for guests (vmkernel/entropy.c): the CPU's random number
 * instructions where CPUID offers them (RDSEED, else RDRAND), else a
 * SHA-256 counter-mode generator seeded once at first use from the
 * jitter of timed port reads and the host identity. The jitter seed is
 * weak under an emulator, whose timing can be replayed: the first use
 * says so in the log, and entropy_source() names the source so a device
 * that hands the bytes on can say so too.
 */
#ifndef VMKERNEL_ENTROPY_H
#define VMKERNEL_ENTROPY_H

#include <stdbool.h>
#include <stddef.h>

/* "RDSEED", "RDRAND" or "software generator (TSC jitter seed)". */
const char *entropy_source(void);
/* True when the bytes come from the CPU's own generator. */
bool entropy_is_hardware(void);
/* Fill buf with len random bytes; never fails (the software generator backs a failing CPU). */
void entropy_get(void *buf, size_t len);

#endif
