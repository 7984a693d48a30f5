/*
 * One-shot host timers (see include/vmkernel/ktimer.h).
 *
 * Per CPU: a list of pending timers sorted by deadline, protected by that
 * CPU's timer lock, and the deadline the local APIC is programmed for.
 * Arming on the calling CPU inserts in order and reprograms the APIC if
 * the new timer is the earliest. The interrupt handler pops every expired
 * timer and runs its callback with the lock dropped (a callback may arm
 * timers, including itself), then programs the next deadline.
 *
 * Lock order: a CPU's timer lock is taken with interrupts off and nothing
 * is taken inside it.
 */
#define pr_fmt(fmt) "ktimer: " fmt
#include <vmkernel/apic.h>
#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/percpu.h>
#include <vmkernel/spinlock.h>

struct ktimer_cpu {
	struct spinlock lock;
	struct ktimer *head;		/* lock: pending timers, earliest first */
	uint64_t programmed;		/* lock: the APIC's deadline, 0 = none */
};

static struct ktimer_cpu cpus[CONFIG_MAX_CPUS];

void ktimer_init(struct ktimer *t, void (*fn)(struct ktimer *t))
{
	t->deadline = 0;
	t->fn = fn;
	t->next = NULL;
	t->cpu = -1;
}

void ktimer_cpu_init(void)
{
	struct ktimer_cpu *c = &cpus[this_cpu_id()];

	spin_init(&c->lock, "ktimer");
	c->head = NULL;
	c->programmed = 0;
}

/* Program this CPU's APIC for its earliest timer. Called with c->lock held. */
static void program(struct ktimer_cpu *c)
{
	uint64_t want = c->head ? c->head->deadline : 0;

	if (want == c->programmed)
		return;
	c->programmed = want;
	lapic_timer_deadline(want);
}

static void unlink(struct ktimer_cpu *c, struct ktimer *t)
{
	for (struct ktimer **p = &c->head; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	t->next = NULL;
	t->cpu = -1;
}

bool ktimer_cancel(struct ktimer *t)
{
	for (;;) {
		int cpu = __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE);
		struct ktimer_cpu *c;
		unsigned long flags;

		if (cpu < 0)
			return false;
		c = &cpus[cpu];
		flags = spin_lock_irqsave(&c->lock);
		if (t->cpu != cpu) {	/* moved or fired meanwhile: look again */
			spin_unlock_irqrestore(&c->lock, flags);
			continue;
		}
		unlink(c, t);
		if (cpu == (int)this_cpu_id())
			program(c);
		spin_unlock_irqrestore(&c->lock, flags);
		return true;
	}
}

void ktimer_arm(struct ktimer *t, uint64_t deadline)
{
	struct ktimer_cpu *c;
	struct ktimer **p;
	unsigned long flags;

	ktimer_cancel(t);
	flags = irq_save();
	c = &cpus[this_cpu_id()];
	spin_lock(&c->lock);
	t->deadline = deadline ? deadline : 1;
	for (p = &c->head; *p && (*p)->deadline <= t->deadline; p = &(*p)->next)
		;
	t->next = *p;
	*p = t;
	__atomic_store_n(&t->cpu, (int)this_cpu_id(), __ATOMIC_RELEASE);
	program(c);
	spin_unlock(&c->lock);
	irq_restore(flags);
}

bool ktimer_pending(const struct ktimer *t)
{
	return __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE) >= 0;
}

/* The local APIC timer interrupt: run what is due, then program the next deadline. */
void ktimer_interrupt(void)
{
	struct ktimer_cpu *c = &cpus[this_cpu_id()];

	spin_lock(&c->lock);
	c->programmed = 0;	/* it fired (or a one-shot count ran out early) */
	while (c->head && c->head->deadline <= rdtsc()) {
		struct ktimer *t = c->head;

		unlink(c, t);
		spin_unlock(&c->lock);
		t->fn(t);
		spin_lock(&c->lock);
	}
	program(c);
	spin_unlock(&c->lock);
}
