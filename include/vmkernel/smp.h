/*
 * Multiprocessor bring-up and cross-CPU calls. CPU numbers are logical
 * (0 = the boot CPU) in MADT order; APIC IDs are kept in struct pcpu.
 */
#ifndef SMP_H
#define SMP_H

#include <stdint.h>

struct acpi_info;

/*
 * Start every enabled CPU the MADT lists, at most max_cpus in all (0: no
 * limit); returns how many are online (BSP included).
 */
unsigned smp_start_aps(const struct acpi_info *ai, unsigned max_cpus);
/*
 * Run fn(arg) on CPU `cpu` (in its interrupt handler) and wait for it to
 * finish; -ETIMEDOUT if it never ran. The caller must have interrupts on.
 */
int smp_call(unsigned cpu, void (*fn)(void *), void *arg);
/* Start fn(arg) on another CPU without waiting; pair with smp_call_wait(cpu). */
int smp_call_async(unsigned cpu, void (*fn)(void *), void *arg);
int smp_call_wait(unsigned cpu);
/* Run fn(arg) on every online CPU (this one included), waiting for all. */
int smp_call_all(void (*fn)(void *), void *arg);
/* Wake a halted CPU with an IPI. */
void smp_wake(unsigned cpu);
/* After init levels: every AP enters its idle loop. */
void smp_idle(void) __attribute__((noreturn));

#endif
