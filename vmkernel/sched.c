/*
 * The world scheduler: the mechanism. The policy (which world, how long)
 * is vmkernel/sched_policy.c, whose essay explains the proportional share.
 *
 * Every CPU has a run queue (the policy's sched_queue of the worlds on
 * that CPU) and an idle context: the CPU's boot stack, which loops in
 * sched_run() picking the next eligible world or halting. vCPUs are
 * placed at VM start by CPU admission control (vmm/admission.c); host
 * worlds stay on the CPU they were created for.
 *
 * Moving a world (vmkernel/sched_balance.c decides). A world's per-CPU
 * state (for a vCPU: its VMCS, current and cached on the CPU that last
 * ran it, and its lazily switched FPU state) can only be dropped by that
 * CPU. So every move is carried out by the CPU the world is leaving,
 * while the world is ready and not running: the policy marks the world
 * (se.move_to), and its CPU, in do_moves(), takes it off its queue, calls
 * the world's release hook (VMCLEAR, FPU save), and only then puts it on
 * the target's queue with w->cpu changed and wakes the target. The
 * target's switch-in hook sees that the world arrived (VMPTRLD, the
 * per-CPU host state rewritten, VMLAUNCH next). Who marks:
 *  - an idle CPU that finds nothing to pick marks a ready world of a busy
 *    CPU for itself and sends that CPU the wake-up IPI (idle pull);
 *  - each CPU at its tick compares its queue with every other (periodic
 *    balance): it may mark a ready world of another CPU to come here, and
 *    one of its own to go there; its own running world leaves at its next
 *    exit, when sched_should_yield() says so;
 *  - a wake-up on a busy CPU, for a world that may run on an idle CPU,
 *    sends the idle one the IPI, which then pulls (wake-up placement).
 * A marked world that blocks instead of moving loses the mark. Between
 * leaving one queue and joining the other a world is ready but on no
 * queue, with w->cpu still the old CPU: a wake-up then only sets
 * wake_pending, as for any ready world.
 *
 * Switching: a world gives up the CPU by switching back to the idle
 * context (sched_switch), which then picks the next world. Going through
 * idle costs one extra switch but keeps every decision in one place. A
 * world is charged for its run (its virtual time and limit budget
 * advance) when it gives the CPU up, before it is queued again.
 *
 * Locking: rq->lock protects the queue, the policy's entity and the state
 * of every world on that CPU. Two run-queue locks are held together only
 * by the balancer, which takes its own CPU's and tries the other's a
 * bounded number of times (trylock_pair): it never spins on a second one
 * while holding the first, so they have no order, and a tick never waits
 * long with interrupts off for the queue of a CPU whose running world
 * keeps taking its own lock. A world's lock is found through w->cpu and
 * checked again once held (lock_world), since a move changes it. A world
 * switches away with interrupts off; the idle context re-enables them
 * once the outgoing world's state is final. Preemption is voluntary:
 * worlds check sched_should_yield() at safe points (a vCPU after each VM
 * exit; its guest is bounded by the VMX preemption timer, set to
 * sched_allowance_tsc()). Wake-ups on another CPU send it an IPI, which
 * makes a running guest exit so that a waker the policy favours preempts
 * within the granularity. The balancer runs in the tick's interrupt and
 * moves run from the wake-up IPI: both only with interrupts off and
 * never with a run-queue lock held on entry.
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
	if (!rq->q.slice) {
		sq_set_timebase(&rq->q, tsc_hz() / 1000 ? tsc_hz() / 1000 : 1);
		rq->q.cpu = (unsigned)(rq - runqueues);
	}
}

static struct world *world_of(struct sched_entity *e)
{
	return (struct world *)((char *)e - offsetof(struct world, se));
}

/* Lock w's run queue (the one w->cpu names once the lock is held); IRQs saved in *flags. */
static struct runqueue *lock_world(struct world *w, unsigned long *flags)
{
	for (;;) {
		unsigned cpu = __atomic_load_n(&w->cpu, __ATOMIC_ACQUIRE);
		struct runqueue *rq = &runqueues[cpu];

		*flags = spin_lock_irqsave(&rq->lock);
		if (__atomic_load_n(&w->cpu, __ATOMIC_ACQUIRE) == cpu)
			return rq;
		spin_unlock_irqrestore(&rq->lock, *flags);
	}
}

/*
 * This CPU's run queue and another's, or neither (false): the balancer's
 * look at another CPU is worth only a short wait. Spinlocks are not fair,
 * and a world that checks sched_should_yield() in a tight loop holds its
 * queue's lock most of the time: under QEMU a tick spinning for it with
 * IRQs off kept a CPU from its timers for seconds. So the other lock is
 * only tried, TRYLOCK_PAIR_TRIES times with a pause between (a single try
 * almost never found a busy CPU's lock free under Bochs: the balancer
 * never pulled there), and this CPU's own lock is let go between tries, so
 * that two CPUs balancing against each other do not hold each other off.
 * A trylock cannot deadlock, so no lock order is needed. IRQs off.
 */
#define TRYLOCK_PAIR_TRIES 64

static bool trylock_pair(struct runqueue *self, struct runqueue *other)
{
	ASSERT(!irq_enabled() && self != other);
	for (unsigned i = 0; i < TRYLOCK_PAIR_TRIES; i++) {
		spin_lock(&self->lock);
		if (spin_trylock(&other->lock))
			return true;
		spin_unlock(&self->lock);
		cpu_relax();
	}
	return false;
}

static void unlock_pair(struct runqueue *a, struct runqueue *b)
{
	spin_unlock(&a->lock);
	spin_unlock(&b->lock);
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

/* An idle CPU that w may move to, or -1 (racy reads: a hint for wake-up placement). */
static int idle_cpu_for(struct world *w, unsigned busy)
{
	uint64_t aff = w->se.p.affinity;

	for (unsigned c = 0; c < pcpu_count && c < 64; c++) {
		struct runqueue *rq = &runqueues[c];

		if (c != busy && (aff & (1ULL << c)) && pcpu_array[c].online &&
		    !__atomic_load_n(&rq->current, __ATOMIC_RELAXED) &&
		    !__atomic_load_n(&rq->q.ready, __ATOMIC_RELAXED))
			return (int)c;
	}
	return -1;
}

void sched_wakeup(struct world *w)
{
	unsigned long flags;
	struct runqueue *rq = lock_world(w, &flags);
	unsigned cpu = w->cpu;
	bool kick = false;
	int idle = -1;

	if (w->state == WORLD_BLOCKED) {
		if (w->wake_tsc)
			unsleep(rq, w);
		enqueue(rq, w, SQ_WOKEN);
		kick = true;
		/* Wake-up placement: its CPU is busy and another it may use is idle. */
		if (rq->current && w->se.p.affinity)
			idle = idle_cpu_for(w, cpu);
	} else if (w->state != WORLD_DEAD) {
		w->wake_pending = true;
	}
	spin_unlock_irqrestore(&rq->lock, flags);
	if (kick && cpu != this_cpu_id())
		smp_wake(cpu);
	if (idle >= 0 && (unsigned)idle != this_cpu_id())
		smp_wake((unsigned)idle);	/* it pulls from its idle loop */
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
	unsigned long flags;
	struct runqueue *rq = lock_world(w, &flags);

	st->weight = w->se.weight;
	st->cpu = w->cpu;
	st->migrations = w->se.migrations;
	st->costops = w->se.costops;
	st->leave_tsc = w->leave_tsc;
	st->run_tsc = w->run_tsc;
	st->wakeups = w->se.wakeups;
	st->wake_wait_max_tsc = w->se.wake_wait_max;
	st->wake_wait_sum_tsc = w->se.wake_wait_sum;
	spin_unlock_irqrestore(&rq->lock, flags);
}

/* A ready world of rq marked to move elsewhere, off its queue; NULL if none. rq->lock held. */
static struct world *take_leaver(struct runqueue *rq, unsigned *to)
{
	for (struct sched_entity *e = rq->q.ready; e; e = e->next) {
		int t = e->move_to;

		if (t < 0)
			continue;
		e->move_to = -1;
		/* Checked again: only inside its affinity, to a CPU that runs worlds. */
		if ((unsigned)t >= pcpu_count || (unsigned)t == rq->q.cpu ||
		    !(e->p.affinity & (1ULL << t)) || !pcpu_array[t].online ||
		    !runqueues[t].q.slice)
			continue;
		sq_move_out(&rq->q, e);
		*to = (unsigned)t;
		return world_of(e);
	}
	return NULL;
}

/*
 * Carry out the moves asked of this CPU: each marked ready world leaves
 * its queue, this CPU drops its state for it (release hook), and it joins
 * the target's queue. IRQs off; no run-queue lock held.
 */
static void do_moves(void)
{
	struct runqueue *rq = this_rq();

	ASSERT(!irq_enabled());
	for (;;) {
		struct world *w;
		struct runqueue *to;
		unsigned cpu;
		uint64_t t0 = rdtsc();

		spin_lock(&rq->lock);
		w = take_leaver(rq, &cpu);
		spin_unlock(&rq->lock);
		if (!w)
			return;
		if (w->ops && w->ops->release)
			w->ops->release(w);
		to = &runqueues[cpu];
		spin_lock(&to->lock);
		__atomic_store_n(&w->cpu, cpu, __ATOMIC_RELEASE);
		sq_move_in(&to->q, &w->se, rdtsc());
		w->leave_tsc += rdtsc() - t0;
		spin_unlock(&to->lock);
		smp_wake(cpu);
	}
}

void sched_ipi(void)
{
	do_moves();
}

/*
 * Idle pull: rq (this CPU) has nothing to pick. Mark a ready world of the
 * busiest CPU that has one that may come here, and ask that CPU to send
 * it. True if it asked. IRQs off, no lock held.
 */
static bool idle_pull(struct runqueue *rq)
{
	unsigned best = 0, most = 0;
	uint64_t now = rdtsc();

	for (unsigned c = 0; c < pcpu_count && c < 64; c++) {
		struct runqueue *src = &runqueues[c];
		unsigned n = 0;

		if (src == rq || !src->q.slice || !__atomic_load_n(&src->q.ready, __ATOMIC_RELAXED) ||
		    !__atomic_load_n(&src->q.movable, __ATOMIC_RELAXED))
			continue;	/* nothing it could give (hints: no lock taken) */
		if (!trylock_pair(rq, src))
			continue;	/* busy: the next idle pass or tick looks again */
		if (sq_pull_candidate(&src->q, &rq->q, now)) {
			for (struct sched_entity *e = src->q.ready; e; e = e->next)
				n++;
		}
		unlock_pair(rq, src);
		if (n > most) {
			most = n;
			best = c;
		}
	}
	if (!most)
		return false;
	{
		struct runqueue *src = &runqueues[best];
		struct sched_entity *e;

		if (!trylock_pair(rq, src))
			return false;
		e = sq_pull_candidate(&src->q, &rq->q, rdtsc());
		if (e)
			e->move_to = (int)rq->q.cpu;
		unlock_pair(rq, src);
		if (!e)
			return false;
		smp_wake(best);
		return true;
	}
}

/*
 * Periodic balance (at the tick, interrupt context): this CPU against each
 * other; the best plan is carried out. Its own marked ready worlds leave
 * at once, its running world at its next exit, another CPU's ready world
 * when that CPU takes the IPI.
 */
static void balance(struct runqueue *rq)
{
	struct sq_plan plan;
	uint64_t best_gain = 0, now = rdtsc();
	struct runqueue *other = NULL;

	for (unsigned c = 0; c < pcpu_count && c < 64; c++) {
		struct runqueue *o = &runqueues[c];
		uint64_t gain;

		/* Only another CPU's movable worlds make a plan (a hint, read without its lock). */
		if (o == rq || !o->q.slice || !pcpu_array[c].online ||
		    !__atomic_load_n(&o->q.movable, __ATOMIC_RELAXED))
			continue;
		if (!trylock_pair(rq, o))
			continue;	/* busy: balanced at a later tick */
		gain = sq_balance_pair(&rq->q, &o->q, now, &plan);
		unlock_pair(rq, o);
		if (gain > best_gain) {
			best_gain = gain;
			other = o;
		}
	}
	if (!other || !trylock_pair(rq, other))
		return;
	if (sq_balance_pair(&rq->q, &other->q, rdtsc(), &plan)) {
		if (plan.pull)
			plan.pull->move_to = (int)rq->q.cpu;
		if (plan.push)
			plan.push->move_to = (int)other->q.cpu;
	}
	unlock_pair(rq, other);
	if (plan.pull)
		smp_wake(other->q.cpu);
	if (plan.push)
		do_moves();	/* a ready one leaves now; the running one at its next exit */
}

void sched_world_settle(void)
{
	struct runqueue *rq = this_rq();
	struct world *w = rq->current;
	unsigned long flags;

	if (!w)
		return;
	flags = spin_lock_irqsave(&rq->lock);
	w->se.p.affinity = 0;
	sq_movable_update(&rq->q, &w->se);
	w->se.move_to = -1;
	if (w->se.p.group && w->se.gslot) {
		struct sched_group_slot *s = &w->se.p.group->slot[w->se.gslot - 1];

		__atomic_store_n(&s->running_since, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&s->ready_since, 0, __ATOMIC_RELAXED);
	}
	w->se.p.group = NULL;
	w->se.gslot = 0;
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
	if (rq->q.slice && pcpu_count > 1)
		balance(rq);
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
		bool leaving;

		irq_disable();
		spin_lock(&rq->lock);
		rq_timebase(rq);
		e = sq_pick(&rq->q, rdtsc(), &retry);
		if (!e && pcpu_count > 1) {
			spin_unlock(&rq->lock);
			idle_pull(rq);	/* the world comes with the other CPU's wake-up IPI */
			spin_lock(&rq->lock);
			e = sq_pick(&rq->q, rdtsc(), &retry);
		}
		if (!e) {
			/* Only limited worlds are ready: come back when one may run. */
			if (retry && (!ktimer_pending(&rq->wake_timer) ||
				      retry < rq->wake_timer.deadline))
				ktimer_arm(&rq->wake_timer, retry);
			spin_unlock(&rq->lock);
			cpu_safe_halt();
			continue;
		}
		w = world_of(e);
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
		leaving = w->state == WORLD_READY && w->se.move_to >= 0;
		if (w->state == WORLD_DEAD) {
			sq_detach(&rq->q, &w->se);
			w->next = rq->dead;
			rq->dead = w;
		}
		reap(rq);
		spin_unlock(&rq->lock);
		if (leaving)
			do_moves();	/* it gave the CPU up to move */
		irq_enable();
	}
}
