/*
 * One-shot host timers with TSC deadlines (vmkernel/ktimer.c).
 *
 * Each CPU keeps its pending timers in deadline order and programs its
 * local APIC timer (TSC-deadline mode where the CPU has it, else one-shot
 * count mode) for the earliest one. A callback runs in interrupt context
 * on the CPU the timer was armed on, with interrupts off; it may re-arm
 * its own timer. The scheduler's tick is one such timer.
 *
 * Cancelling does not wait for a callback already running on another
 * CPU: callers that arm and cancel a timer from several CPUs make the
 * callback check, under their own lock, that its expiry is still wanted.
 */
#ifndef KTIMER_H
#define KTIMER_H

#include <stdbool.h>
#include <stdint.h>

struct ktimer {
	uint64_t deadline;		/* TSC; the owning CPU's timer lock */
	void (*fn)(struct ktimer *t);
	struct ktimer *next;		/* the CPU's pending list, its timer lock */
	int cpu;			/* where it is pending, -1 if not */
};

void ktimer_init(struct ktimer *t, void (*fn)(struct ktimer *t));
/* Arm (or re-arm) t on the calling CPU to fire once the TSC reaches deadline. */
void ktimer_arm(struct ktimer *t, uint64_t deadline);
/* Disarm t wherever it is pending; true if it was pending. */
bool ktimer_cancel(struct ktimer *t);
bool ktimer_pending(const struct ktimer *t);

/* Per-CPU set-up and the interrupt handler (vmkernel/timer.c). */
void ktimer_cpu_init(void);
void ktimer_interrupt(void);

#endif
