/*
 * The CPU scheduling policy (vmkernel/sched_policy.c): proportional share
 * by start-time fair queuing, with reservations, limits and a bounded
 * wake-up boost. Pure C: compiled into the vmkernel (vmkernel/sched.c
 * holds one sched_queue per CPU under its run-queue lock) and into the
 * host simulator (tests/unit/test_sched_sim.c). Times are in the caller's
 * unit (TSC cycles in the vmkernel, nanoseconds in the simulator), set by
 * sq_set_timebase(). Nothing here takes a lock: the caller holds the one
 * lock that protects the queue and every entity attached to it.
 */
#ifndef SCHED_POLICY_H
#define SCHED_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#define SCHED_PPM		1000000u	/* one whole CPU, in parts per million */
#define SCHED_VM_CAPACITY_PPM	900000u		/* of each CPU, what VMs may be entitled to */
#define SCHED_HOST_WEIGHT	100000u		/* a host world's weight: 10% of a CPU */
#define SCHED_VT_SHIFT		10		/* virtual time = run time << 10 / weight */

/* What the resource manager sets for a world; all zero = a host world. */
struct sched_params {
	uint32_t shares;	/* proportional share; 0 = host world (fixed weight) */
	uint32_t min_ppm;	/* reservation, ppm of one CPU */
	uint32_t max_ppm;	/* limit, ppm of one CPU; 0 = unlimited */
};

/* One schedulable world as the policy sees it. Every field: the queue owner's lock. */
struct sched_entity {
	struct sched_params p;
	uint32_t weight;		/* entitlement in ppm (host worlds: SCHED_HOST_WEIGHT) */
	uint64_t vt;			/* virtual time: the start tag of its next run */
	int64_t budget;			/* limited only: time it may still run */
	uint64_t budget_at;		/* when budget was last brought up to date */
	uint64_t woke_at;		/* when it became ready after blocking; 0 = not a waker */
	bool queued;			/* on the ready list */
	bool attached;			/* on the queue's list of all its entities */
	bool capped;			/* entitlement: reached its limit (scratch) */
	bool yielded;			/* SQ_YIELDED: passed over at the next pick if others can run */
	struct sched_entity *next;	/* ready list */
	struct sched_entity *all_next;	/* every entity attached to the queue */
	/* statistics */
	uint64_t ran;			/* time run */
	uint64_t wakeups;		/* times picked after a wake-up */
	uint64_t wake_wait_sum;		/* time from wake-up to running, summed */
	uint64_t wake_wait_max;
};

struct sched_queue {
	struct sched_entity *ready;	/* READY entities, unsorted (queues are short) */
	struct sched_entity *all;	/* every entity of this CPU, running and blocked too */
	uint64_t vnow;			/* the queue's virtual time; never goes back */
	uint64_t slice;			/* a run's length when others wait */
	uint64_t gran;			/* shortest run before a waker may preempt */
	uint64_t wake_bonus;		/* most a waker may be put ahead, in its own run time */
	uint64_t limit_period;		/* a limited entity's budget holds at most this much time */
	uint64_t throttles;		/* picks that passed over a limited entity */
};

/* ---- one CPU's queue ---- */

/* Time units per ms: slice 10 ms, granularity 1 ms, wake bonus 5 ms, limit period 100 ms. */
void sq_set_timebase(struct sched_queue *q, uint64_t units_per_ms);
/*
 * A world joins this CPU (then sq_enqueue it) or leaves it (not running).
 * Both recompute the entitlement of every entity on the queue, ESX style:
 * each VM world first gets its reservation (min_ppm), then what is left of
 * SCHED_VM_CAPACITY_PPM is shared in proportion to shares among those
 * below their limit; a limited one never gets more than max_ppm, what it
 * cannot take goes to the others. The entitlement is the weight.
 */
void sq_attach(struct sched_queue *q, struct sched_entity *e, const struct sched_params *p,
	       uint64_t now);
void sq_detach(struct sched_queue *q, struct sched_entity *e);

enum sq_why {
	SQ_PREEMPTED,	/* its run ended, it is still ready */
	SQ_WOKEN,	/* it was blocked: it may get the wake-up boost */
	SQ_NEW,		/* it was just created: it starts at the queue's virtual time */
	SQ_YIELDED,	/* it gave its turn away (a spinning vCPU): the next pick takes
			 * any other eligible entity first, and its tag catches up
			 * with that one's (a yield banks nothing) */
};
void sq_enqueue(struct sched_queue *q, struct sched_entity *e, uint64_t now, enum sq_why why);
/*
 * Take the eligible ready entity with the smallest start tag off the
 * ready list. NULL if none; then *retry_at is when a limited entity
 * becomes eligible again (0 if no entity is waiting for its budget).
 */
struct sched_entity *sq_pick(struct sched_queue *q, uint64_t now, uint64_t *retry_at);
/* After e ran for `ran` (from its pick until now): advance its tag and budget. */
void sq_charge(struct sched_queue *q, struct sched_entity *e, uint64_t ran, uint64_t now);
/* Should e, running for `ran` since its pick, give up the CPU now? */
bool sq_should_preempt(const struct sched_queue *q, const struct sched_entity *e, uint64_t ran,
		       uint64_t now);
/* How much longer e may run before sq_should_preempt() turns true at the latest (>= 1). */
uint64_t sq_allowance(const struct sched_queue *q, const struct sched_entity *e, uint64_t ran,
		      uint64_t now);

#endif
