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

struct sched_group;

/* What the resource manager sets for a world; all zero = a host world. */
struct sched_params {
	uint32_t shares;	/* proportional share; 0 = host world (fixed weight) */
	uint32_t min_ppm;	/* reservation, ppm of one CPU */
	uint32_t max_ppm;	/* limit, ppm of one CPU; 0 = unlimited */
	uint64_t affinity;	/* CPUs it may move to (bit n: CPU n); 0 = stays where created */
	struct sched_group *group;	/* its VM's vCPUs, for co-scheduling; NULL = none */
};

/*
 * The vCPUs of one SMP VM (sched_balance.c): how far each has fallen behind
 * its siblings. A slot is written only by the CPU whose queue holds its
 * entity (under that queue's lock) and read by any CPU without a lock, so
 * every field is accessed atomically; the figures are hints, a little
 * stale at most.
 */
#define SCHED_GROUP_MAX 64
struct sched_group_slot {
	uint64_t stall;		/* time ready but not running while a sibling ran */
	uint64_t ready_since;	/* when it last became ready; 0 = running or blocked */
	uint64_t clock0;	/* the group's run_clock then */
	uint32_t cpu;		/* the CPU whose queue holds it */
	uint64_t running_since;	/* when it was picked, while it runs; 0 = not running */
};
struct sched_group {
	uint64_t run_clock;	/* run time of all members, summed (atomic) */
	uint32_t n;		/* slots in use (atomic) */
	struct sched_group_slot slot[SCHED_GROUP_MAX];
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
	bool running;			/* picked and not yet charged */
	bool costopped;			/* co-scheduling: held back until a lagging sibling ran */
	bool counted_movable;		/* counted in its queue's `movable` */
	uint32_t gslot;			/* its slot in p.group, plus one; 0 = none yet */
	uint64_t gvt;			/* global virtual time: run time x 1000 / shares */
	uint64_t last_ran;		/* when it last stopped running */
	uint64_t picked_at;		/* when it was last picked */
	uint64_t moved_at;		/* when it last changed CPU; 0 = never */
	int move_to;			/* the balancer asked that it move to this CPU; -1 = stay */
	struct sched_entity *next;	/* ready list */
	struct sched_entity *all_next;	/* every entity attached to the queue */
	/* statistics */
	uint64_t ran;			/* time run */
	uint64_t wakeups;		/* times picked after a wake-up */
	uint64_t wake_wait_sum;		/* time from wake-up to running, summed */
	uint64_t wake_wait_max;
	uint64_t migrations;		/* times it changed CPU */
	uint64_t costops;		/* times it was co-stopped */
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
	unsigned cpu;			/* the CPU it belongs to (set by its owner) */
	struct sched_entity *running;	/* picked and not yet charged */
	uint64_t gvnow;			/* gvt of the last VM entity picked here; never goes back */
	uint32_t movable;		/* attached entities that sq_movable() allows to change CPU;
					 * written under the owner's lock, read by other CPUs
					 * without it (atomically) to skip queues with nothing
					 * to give */
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

/* ---- several CPUs: migration and co-scheduling (vmkernel/sched_balance.c) ---- */

#define SCHED_RESIDENCY_MS	20	/* least time on a CPU before the balancer moves it again */
#define SCHED_GVT_LAG_MS	50	/* least lag in gvt that makes two worlds swap CPUs */
#define SCHED_SKEW_MS		30	/* co-stop a vCPU this far ahead of a waiting sibling */

/*
 * May e ever change CPU? (shares, an affinity, neither reservation nor
 * limit.) sq_attach and sq_detach keep q->movable, the count of such
 * entities; a caller that changes e->p of an attached entity calls
 * sq_movable_update. With none on a queue, neither the balance nor an
 * idle pull can take anything from it.
 */
bool sq_movable(const struct sched_entity *e);
void sq_movable_update(struct sched_queue *q, struct sched_entity *e);
/* Can e move from its queue to CPU `to` now? (affinity, residency, no reservation or limit) */
bool sq_can_move(const struct sched_queue *q, const struct sched_entity *e, unsigned to,
		 uint64_t now);
/*
 * Move e, ready and not running, from `from` to `to`: detach, attach with
 * the same parameters, queue it behind nothing it did not earn there; the
 * queue it leaves keeps its last run counted in its virtual time.
 */
void sq_move(struct sched_queue *from, struct sched_queue *to, struct sched_entity *e,
	     uint64_t now);
/*
 * Idle pull: `dst` has nothing to run. The ready entity of `src` (a busy
 * CPU) that dst should take, or NULL: the laggard in gvt among those that
 * may move, ties to the one that ran least recently.
 */
struct sched_entity *sq_pull_candidate(const struct sched_queue *src,
				       const struct sched_queue *dst, uint64_t now);
/*
 * Periodic balance of CPU self's queue against one other CPU's (both
 * locks held): plan->pull, a ready world of other that should come to
 * self; plan->push, a world of self (ready or running) that should go to
 * other. Returns how much the plan gains (0: nothing to do), so that the
 * caller may pick the best of several CPUs. See sched_balance.c.
 */
struct sq_plan {
	struct sched_entity *push, *pull;
};
uint64_t sq_balance_pair(const struct sched_queue *self, const struct sched_queue *other,
			 uint64_t now, struct sq_plan *plan);
/* sq_move in two halves, for a caller that holds one queue's lock at a time. */
void sq_move_out(struct sched_queue *from, struct sched_entity *e);
void sq_move_in(struct sched_queue *to, struct sched_entity *e, uint64_t now);
/* e's gvt counting its current run, if it runs. */
uint64_t sq_gvt_now(const struct sched_entity *e, uint64_t now);
/* A group member's stall now (its skew behind the running siblings). */
uint64_t sg_stall(const struct sched_group *g, uint32_t slot, uint64_t now);
/* Should e (a group member) be held back now? (its lead over a waiting sibling) */
bool sg_costop_wanted(const struct sched_queue *q, const struct sched_entity *e, uint64_t now);
/* Hooks the queue calls as a group member changes state (sched_policy.c). */
void sg_join(struct sched_queue *q, struct sched_entity *e);
void sg_ready(struct sched_queue *q, struct sched_entity *e, uint64_t now);
void sg_picked(struct sched_queue *q, struct sched_entity *e, uint64_t now);
void sg_charged(struct sched_queue *q, struct sched_entity *e, uint64_t ran);

#endif
