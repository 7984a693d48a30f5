/*
 * Worlds: every schedulable context (a vCPU, a vmkernel helper) is a world
 * with its own kernel stack. Each CPU runs its own queue of the worlds
 * assigned to it, by proportional share (vmkernel/sched_policy.c: shares,
 * reservations and limits as the resource manager sets them per world); a
 * CPU with nothing eligible halts until an interrupt. Worlds whose
 * parameters name an affinity move between CPUs (vmkernel/sched_balance.c,
 * the mechanism in sched.c). The vmkernel knows nothing of what a world
 * does: the VMM passes hooks (world_ops) that run when its world is
 * switched in or out on a CPU, e.g. to make a VMCS current, and when it
 * leaves a CPU for another.
 */
#ifndef SCHED_H
#define SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <vmkernel/sched_policy.h>

struct world;

struct world_ops {
	void (*switch_in)(struct world *w);	/* on the CPU it will run on, IRQs off */
	void (*switch_out)(struct world *w);	/* on the CPU it ran on, IRQs off */
	/*
	 * It is about to move to another CPU: drop what this CPU holds for it
	 * (VMCLEAR, lazily kept FPU state). On the CPU it last ran on, IRQs
	 * off, perhaps in an interrupt handler; the world is ready, not
	 * running, and on no queue. switch_in on the new CPU sees w->cpu
	 * changed.
	 */
	void (*release)(struct world *w);
};

enum world_state { WORLD_READY, WORLD_RUNNING, WORLD_BLOCKED, WORLD_DEAD };

struct world {
	uint64_t rsp;			/* saved stack pointer while switched out */
	void *stack_top;
	char name[32];
	enum world_state state;		/* the CPU's run-queue lock */
	unsigned int cpu;		/* the CPU whose queue holds it; a move (sched.c) changes it
					 * while the world is ready and on no queue, under the new
					 * CPU's run-queue lock; read it atomically */
	struct world *next;		/* the CPU's dead list, run-queue lock */
	struct sched_entity se;		/* the policy's view: tags, weight, budget; run-queue lock */
	void (*fn)(void *);
	void *arg;
	const struct world_ops *ops;
	void *owner;			/* the creator's object, e.g. a vCPU */
	volatile bool wake_pending;	/* a wakeup raced with blocking */
	uint64_t slice_start;		/* TSC when last switched in (or charged) */
	uint64_t run_tsc;		/* TSC cycles spent running */
	uint64_t switches;
	uint64_t leave_tsc;		/* TSC its old CPUs spent moving it away, summed */
	uint64_t wake_tsc;		/* sched_block_until deadline, 0 = none; run-queue lock */
	struct world *sleep_next;	/* the CPU's sleeping list, run-queue lock */
};

/* Create a host world that runs fn(arg) on CPU `cpu`; it starts READY. NULL if out of memory. */
struct world *world_create(const char *name, void (*fn)(void *), void *arg, unsigned cpu,
			   const struct world_ops *ops, void *owner);
/* The same with the resource manager's parameters (a vCPU's shares, reservation, limit). */
struct world *world_create_sched(const char *name, void (*fn)(void *), void *arg, unsigned cpu,
				 const struct world_ops *ops, void *owner,
				 const struct sched_params *params);
struct world *world_current(void);
/* End the calling world; its stack is reclaimed later. */
void world_exit(void) __attribute__((noreturn));

/* Each CPU calls this once to become its idle loop; never returns. */
void sched_run(void) __attribute__((noreturn));
/* Give the CPU to the next ready world (if any) and come back later. */
void sched_yield(void);
/* Give this turn to any other ready world of this CPU (a spinning vCPU); the share is kept. */
void sched_yield_turn(void);
/* Is w ready (not running, not blocked) on the calling CPU's queue? A hint, not locked. */
bool sched_world_waits_here(struct world *w);
/* Block the calling world until sched_wakeup(); returns at once if a wakeup is pending. */
void sched_block(void);
void sched_wakeup(struct world *w);
/* Block until sched_wakeup() or until the TSC passes `tsc` (a one-shot host timer). */
void sched_block_until(uint64_t tsc);
/* True when the calling world should give up the CPU (slice used, a waker, limit reached). */
bool sched_should_yield(void);
/* Length of a time slice in TSC cycles. */
uint64_t sched_slice_tsc(void);
/* How long the calling world may run before sched_should_yield() may turn true (TSC, >= 1). */
uint64_t sched_allowance_tsc(void);
/* A world's scheduling figures, consistent with each other. */
struct sched_world_stats {
	uint32_t weight;		/* entitlement, ppm of its CPU */
	unsigned cpu;			/* where it is now */
	uint64_t run_tsc;
	uint64_t wakeups, wake_wait_max_tsc, wake_wait_sum_tsc;
	uint64_t migrations, costops;
	uint64_t leave_tsc;		/* summed over its moves: the old CPU's part */
};
void sched_world_stats(struct world *w, struct sched_world_stats *st);
/* Called from the periodic timer interrupt. */
void sched_tick(void);
/* Called from the wake-up IPI: carry out the moves other CPUs asked of this one. */
void sched_ipi(void);
/*
 * The calling world stays on this CPU from now on and leaves its
 * co-scheduling group (a vCPU that ends: its group may go away).
 */
void sched_world_settle(void);

#endif
