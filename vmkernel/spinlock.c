/*
 * Owner-checking spinlocks (test-and-test-and-set). The owner field lets us
 * catch recursion and foreign unlocks at once, and name the holder when a
 * wait runs past SPIN_TIMEOUT_S.
 */
#include <vmkernel/cpu.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>

static int my_id(void)
{
	struct pcpu *p = this_cpu();

	return p ? (int)p->id : 0;
}

void spin_init(struct spinlock *l, const char *name)
{
	l->locked = 0;
	l->owner = SPIN_NO_OWNER;
	l->name = name;
}

bool spin_trylock(struct spinlock *l)
{
	if (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		return false;
	l->owner = my_id();
	return true;
}

static void spin_wait(struct spinlock *l)
{
	uint64_t hz = tsc_hz();
	uint64_t start = rdtsc();

	while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED)) {
		cpu_relax();
		if (hz && rdtsc() - start > SPIN_TIMEOUT_S * hz && !panic_in_progress())
			panic("spinlock '%s': CPU %d waited %d s, held by CPU %d", l->name,
			      my_id(), SPIN_TIMEOUT_S, (int)l->owner);
	}
}

void spin_lock(struct spinlock *l)
{
	if (l->locked && l->owner == my_id() && !panic_in_progress())
		panic("spinlock '%s': recursive lock on CPU %d", l->name, my_id());
	while (!spin_trylock(l))
		spin_wait(l);
}

void spin_unlock(struct spinlock *l)
{
	if ((!l->locked || l->owner != my_id()) && !panic_in_progress())
		panic("spinlock '%s': released by CPU %d but held by CPU %d", l->name, my_id(),
		      l->locked ? (int)l->owner : SPIN_NO_OWNER);
	l->owner = SPIN_NO_OWNER;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

bool spin_held_by_me(const struct spinlock *l)
{
	return l->locked && l->owner == my_id();
}

unsigned long spin_lock_irqsave(struct spinlock *l)
{
	unsigned long flags = irq_save();

	spin_lock(l);
	return flags;
}

void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	spin_unlock(l);
	irq_restore(flags);
}
