/*
 * The world scheduler: the mechanism. The policy (which world, how long)
 * is vmkernel/sched_policy.c, whose essay explains the proportional share.
 *
 * Every CPU has a run queue (the policy's sched_queue of the worlds on
 * that CPU) and an idle context: the CPU's boot stack, which loops in
 * sched_run() picking the next eligible world or halting. Worlds stay on
 * the CPU they were created for, so a world's per-CPU state (for a vCPU:
 * its VMCS) never moves; vCPUs are placed at VM start by CPU admission
 * control (vmm/admission.c). Migration is not done yet.
 *
 * Switching: a world gives up the CPU by switching back to the idle
 * context (sched_switch), which then picks the next world. Going through
 * idle costs one extra switch but keeps every decision in one place. A
 * world is charged for its run (its virtual time and limit budget
 * advance) when it gives the CPU up, before it is queued again.
 *
 * Locking: rq->lock protects the queue, the policy's entity and the state
 * of every world on that CPU. A world switches away with interrupts off;
 * the idle context re-enables them once the outgoing world's state is
 * final. Preemption is voluntary: worlds check sched_should_yield() at
 * safe points (a vCPU after each VM exit; its guest is bounded by the VMX
 * preemption timer, set to sched_allowance_tsc()). Wake-ups on another
 * CPU send it an IPI, which makes a running guest exit so that a waker
 * the policy favours preempts within the granularity.
 */
#define pr_fmt(fmt) "sched: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/smp.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>

#define SLICE_US 10000

struct runqueue {
	struct spinlock lock;
	struct sched_queue q;		/* READY worlds and all the CPU's worlds, lock */
	struct world *current;		/* running world or NULL (idle), lock */
	uint64_t idle_rsp;		/* idle context's saved stack pointer */
	struct world *dead;		/* worlds to reclaim, lock */
	struct world *sleepers;		/* blocked with a deadline, lock */
	struct ktimer wake_timer;	/* fires at the earliest sleeper's deadline */
};

static struct runqueue runqueues[CONFIG_MAX_CPUS];

void sched_switch(uint64_t *save_rsp, uint64_t new_rsp);
void world_start(void);
void world_entry(struct world *w);

static struct runqueue *this_rq(void)
{
	return &runqueues[this_cpu_id()];
}

/* The policy's time base once the TSC rate is known (before the first world on this CPU). */
static void rq_timebase(struct runqueue *rq)
{
	ASSERT(spin_held_by_me(&rq->lock));
	if (!rq->q.slice)
		sq_set_timebase(&rq->q, tsc_hz() / 1000 ? tsc_hz() / 1000 : 1);
}

static void enqueue(struct runqueue *rq, struct world *w, enum sq_why why)
{
	ASSERT(spin_held_by_me(&rq->lock));
	w->state = WORLD_READY;
	sq_enqueue(&rq->q, &w->se, rdtsc(), why);
}

/* The running world w gives up the CPU: charge its run to the policy. rq->lock held. */
static void charge(struct runqueue *rq, struct world *w)
{
	uint64_t now = rdtsc(), ran = now - w->slice_start;

	ASSERT(spin_held_by_me(&rq->lock));
	sq_charge(&rq->q, &w->se, ran, now);
	w->run_tsc += ran;
	w->slice_start = now;
}

struct world *world_create(const char *name, void (*fn)(void *), void *arg, unsigned cpu,
			   const struct world_ops *ops, void *owner)
{
	static const struct sched_params host;

	return world_create_sched(name, fn, arg, cpu, ops, owner, &host);
}

struct world *world_create_sched(const char *name, void (*fn)(void *), void *arg, unsigned cpu,
				 const struct world_ops *ops, void *owner,
				 const struct sched_params *params)
{
	struct world *w;
	uint64_t *sp;
	unsigned long flags;

	if (cpu >= pcpu_count)
		return NULL;
	w = kzalloc(sizeof(*w));
	if (!w)
		return NULL;
	w->stack_top = paging_alloc_stack(KSTACK_SIZE);
	if (!w->stack_top) {
		kfree(w);
		return NULL;
	}
	snprintf(w->name, sizeof(w->name), "%s", name);
	w->fn = fn;
	w->arg = arg;
	w->cpu = cpu;
	w->ops = ops;
	w->owner = owner;
	/* Frame popped by sched_switch: r15 r14 r13 r12 rbx rbp, then the return address. */
	sp = (uint64_t *)w->stack_top - 8;
	sp[0] = 0;			/* r15 */
	sp[1] = 0;			/* r14 */
	sp[2] = 0;			/* r13 */
	sp[3] = (uint64_t)w;		/* r12: world_start's argument */
	sp[4] = 0;			/* rbx */
	sp[5] = 0;			/* rbp */
	sp[6] = (uint64_t)world_start;
	sp[7] = 0;			/* keeps RSP = 8 mod 16 at world_entry */
	w->rsp = (uint64_t)sp;
	flags = spin_lock_irqsave(&runqueues[cpu].lock);
	rq_timebase(&runqueues[cpu]);
	sq_attach(&runqueues[cpu].q, &w->se, params, rdtsc());
	enqueue(&runqueues[cpu], w, SQ_NEW);
	spin_unlock_irqrestore(&runqueues[cpu].lock, flags);
	smp_wake(cpu);
	return w;
}

struct world *world_current(void)
{
	return this_rq()->current;
}

void world_entry(struct world *w)
{
	irq_enable();
	w->fn(w->arg);
	world_exit();
}

/* Back to this CPU's idle context; called with IRQs off, returns when switched in again. */
static void switch_to_idle(struct world *w)
{
	struct runqueue *rq = this_rq();

	ASSERT(!irq_enabled());
	if (w->ops && w->ops->switch_out)
		w->ops->switch_out(w);
	sched_switch(&w->rsp, rq->idle_rsp);
}

void world_exit(void)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;

	irq_disable();
	spin_lock(&rq->lock);
	charge(rq, w);
	w->state = WORLD_DEAD;
	spin_unlock(&rq->lock);
	switch_to_idle(w);
	panic("dead world %s was switched in", w->name);
}

/* The running world stays ready and gives up the CPU; `why` tells the policy how to queue it. */
static void requeue_current(enum sq_why why)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;
	unsigned long flags;

	if (!w)
		return;
	flags = irq_save();
	spin_lock(&rq->lock);
	charge(rq, w);
	enqueue(rq, w, why);
	spin_unlock(&rq->lock);
	switch_to_idle(w);
	irq_restore(flags);
}

void sched_yield(void)
{
	requeue_current(SQ_PREEMPTED);
}

void sched_yield_turn(void)
{
	requeue_current(SQ_YIELDED);
}

bool sched_world_waits_here(struct world *w)
{
	/* A hint, read without the lock: a stale answer costs one turn at most. */
	return __atomic_load_n(&w->state, __ATOMIC_RELAXED) == WORLD_READY &&
	       __atomic_load_n(&w->cpu, __ATOMIC_RELAXED) == this_cpu_id();
}

static void unsleep(struct runqueue *rq, struct world *w)
{
	for (struct world **p = &rq->sleepers; *p; p = &(*p)->sleep_next) {
		if (*p == w) {
			*p = w->sleep_next;
			break;
		}
	}
	w->wake_tsc = 0;
	w->sleep_next = NULL;
}

/* Block until a wakeup, or also until the TSC passes `tsc` if it is not 0. */
static void block(uint64_t tsc)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;
	unsigned long flags;

	ASSERT(w != NULL);
	flags = irq_save();
	spin_lock(&rq->lock);
	if (w->wake_pending || (tsc && rdtsc() >= tsc)) {
		w->wake_pending = false;
		spin_unlock(&rq->lock);
		irq_restore(flags);
		return;
	}
	charge(rq, w);
	w->state = WORLD_BLOCKED;
	if (tsc) {
		w->wake_tsc = tsc;
		w->sleep_next = rq->sleepers;
		rq->sleepers = w;
		if (!ktimer_pending(&rq->wake_timer) || tsc < rq->wake_timer.deadline)
			ktimer_arm(&rq->wake_timer, tsc);
	}
	spin_unlock(&rq->lock);
	switch_to_idle(w);
	irq_restore(flags);
}

void sched_block(void)
{
	block(0);
}

void sched_block_until(uint64_t tsc)
{
	block(tsc ? tsc : 1);
}

void sched_wakeup(struct world *w)
{
	struct runqueue *rq = &runqueues[w->cpu];
	unsigned long flags = spin_lock_irqsave(&rq->lock);
	bool kick = false;

	if (w->state == WORLD_BLOCKED) {
		if (w->wake_tsc)
			unsleep(rq, w);
		enqueue(rq, w, SQ_WOKEN);
		kick = true;
	} else if (w->state != WORLD_DEAD) {
		w->wake_pending = true;
	}
	spin_unlock_irqrestore(&rq->lock, flags);
	if (kick && w->cpu != this_cpu_id())
		smp_wake(w->cpu);
}

uint64_t sched_slice_tsc(void)
{
	return tsc_hz() / 1000000 * SLICE_US;
}

bool sched_should_yield(void)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;
	unsigned long flags;
	uint64_t now;
	bool yes;

	if (!w)
		return false;
	flags = spin_lock_irqsave(&rq->lock);
	now = rdtsc();
	yes = sq_should_preempt(&rq->q, &w->se, now - w->slice_start, now);
	spin_unlock_irqrestore(&rq->lock, flags);
	return yes;
}

uint64_t sched_allowance_tsc(void)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;
	unsigned long flags;
	uint64_t now, a;

	if (!w)
		return sched_slice_tsc();
	flags = spin_lock_irqsave(&rq->lock);
	now = rdtsc();
	a = sq_allowance(&rq->q, &w->se, now - w->slice_start, now);
	spin_unlock_irqrestore(&rq->lock, flags);
	return a;
}

void sched_world_stats(struct world *w, struct sched_world_stats *st)
{
	struct runqueue *rq = &runqueues[w->cpu];
	unsigned long flags = spin_lock_irqsave(&rq->lock);

	st->weight = w->se.weight;
	st->run_tsc = w->run_tsc;
	st->wakeups = w->se.wakeups;
	st->wake_wait_max_tsc = w->se.wake_wait_max;
	st->wake_wait_sum_tsc = w->se.wake_wait_sum;
	spin_unlock_irqrestore(&rq->lock, flags);
}

/* Wake the sleepers whose deadline has passed; the earliest deadline left, or 0. */
static uint64_t wake_due(struct runqueue *rq)
{
	uint64_t now = rdtsc(), next = 0;

	ASSERT(spin_held_by_me(&rq->lock));
	for (struct world **p = &rq->sleepers; *p;) {
		struct world *w = *p;

		if (w->wake_tsc > now) {
			if (!next || w->wake_tsc < next)
				next = w->wake_tsc;
			p = &w->sleep_next;
			continue;
		}
		*p = w->sleep_next;
		w->wake_tsc = 0;
		w->sleep_next = NULL;
		enqueue(rq, w, SQ_WOKEN);
	}
	return next;
}

/* The run queue's wake-up timer (interrupt context, on its CPU). */
static void wake_timer_fire(struct ktimer *t)
{
	struct runqueue *rq = (struct runqueue *)((char *)t - offsetof(struct runqueue, wake_timer));
	uint64_t next;

	spin_lock(&rq->lock);
	next = wake_due(rq);
	if (next)
		ktimer_arm(t, next);
	spin_unlock(&rq->lock);
}

/* Timer tick. Sleepers have their own timer; slices are measured with the TSC. */
void sched_tick(void)
{
	struct runqueue *rq = this_rq();

	spin_lock(&rq->lock);
	wake_due(rq);
	spin_unlock(&rq->lock);
}

static void reap(struct runqueue *rq)
{
	struct world *w;

	while ((w = rq->dead)) {
		rq->dead = w->next;
		/* The stack stays mapped (its guard slot is not reused); the world is freed. */
		kfree(w);
	}
}

void sched_run(void)
{
	struct runqueue *rq = this_rq();

	ktimer_init(&rq->wake_timer, wake_timer_fire);
	for (;;) {
		struct sched_entity *e;
		struct world *w;
		uint64_t retry;

		irq_disable();
		spin_lock(&rq->lock);
		rq_timebase(rq);
		e = sq_pick(&rq->q, rdtsc(), &retry);
		if (!e) {
			/* Only limited worlds are ready: come back when one may run. */
			if (retry && (!ktimer_pending(&rq->wake_timer) ||
				      retry < rq->wake_timer.deadline))
				ktimer_arm(&rq->wake_timer, retry);
			spin_unlock(&rq->lock);
			cpu_safe_halt();
			continue;
		}
		w = (struct world *)((char *)e - offsetof(struct world, se));
		w->state = WORLD_RUNNING;
		rq->current = w;
		spin_unlock(&rq->lock);
		if (w->ops && w->ops->switch_in)
			w->ops->switch_in(w);
		w->switches++;
		w->slice_start = rdtsc();
		sched_switch(&rq->idle_rsp, w->rsp);
		/* Back in idle: the world blocked, yielded or died. */
		spin_lock(&rq->lock);
		rq->current = NULL;
		if (w->state == WORLD_DEAD) {
			sq_detach(&rq->q, &w->se);
			w->next = rq->dead;
			rq->dead = w;
		}
		reap(rq);
		spin_unlock(&rq->lock);
		irq_enable();
	}
}
