/*
 * The world scheduler.
 *
 * Every CPU has a run queue (a FIFO of READY worlds) and an idle context:
 * the CPU's boot stack, which loops in sched_run() picking the next ready
 * world or halting. Worlds are pinned to the CPU they were created for, so
 * a world's per-CPU state (for a vCPU: its VMCS) never moves; the
 * resource manager will add migration.
 *
 * Switching: a world gives up the CPU by switching back to the idle
 * context (sched_switch), which then picks the next world. Going through
 * idle costs one extra switch but keeps every decision in one place.
 *
 * Locking: rq->lock protects the queue and the state of every world on
 * that CPU. A world switches away with interrupts off; the idle context
 * re-enables them once the outgoing world's state is final.
 * Preemption is voluntary: the timer tick marks the slice as used up and
 * worlds check sched_should_yield() at safe points (a vCPU after each VM
 * exit; its guest is bounded by the VMX preemption timer).
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
	struct world *head, *tail;	/* READY worlds, lock */
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

static void enqueue(struct runqueue *rq, struct world *w)
{
	ASSERT(spin_held_by_me(&rq->lock));
	w->state = WORLD_READY;
	w->next = NULL;
	if (rq->tail)
		rq->tail->next = w;
	else
		rq->head = w;
	rq->tail = w;
}

static struct world *dequeue(struct runqueue *rq)
{
	struct world *w = rq->head;

	if (w) {
		rq->head = w->next;
		if (!rq->head)
			rq->tail = NULL;
		w->next = NULL;
	}
	return w;
}

struct world *world_create(const char *name, void (*fn)(void *), void *arg, unsigned cpu,
			   const struct world_ops *ops, void *owner)
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
	enqueue(&runqueues[cpu], w);
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
	w->run_tsc += rdtsc() - w->slice_start;
	sched_switch(&w->rsp, rq->idle_rsp);
}

void world_exit(void)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;

	irq_disable();
	spin_lock(&rq->lock);
	w->state = WORLD_DEAD;
	spin_unlock(&rq->lock);
	switch_to_idle(w);
	panic("dead world %s was switched in", w->name);
}

void sched_yield(void)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;
	unsigned long flags;

	if (!w)
		return;
	flags = irq_save();
	spin_lock(&rq->lock);
	enqueue(rq, w);
	spin_unlock(&rq->lock);
	switch_to_idle(w);
	irq_restore(flags);
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
		enqueue(rq, w);
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

	return w && rq->head && rdtsc() - w->slice_start >= sched_slice_tsc();
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
		enqueue(rq, w);
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
		struct world *w;

		irq_disable();
		spin_lock(&rq->lock);
		w = dequeue(rq);
		if (!w) {
			spin_unlock(&rq->lock);
			cpu_safe_halt();
			continue;
		}
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
			w->next = rq->dead;
			rq->dead = w;
		}
		reap(rq);
		spin_unlock(&rq->lock);
		irq_enable();
	}
}
