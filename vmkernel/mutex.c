/*
 * Sleeping locks (include/mutex.h). Hand-off is direct: unlock gives the
 * mutex to the first waiter before waking it, so a stream of newcomers
 * cannot starve a sleeper. Each waiter's node lives on its own stack.
 */
#include <stddef.h>
#include <vmkernel/cpu.h>
#include <vmkernel/mutex.h>
#include <vmkernel/panic.h>
#include <vmkernel/sched.h>

struct mutex_waiter {
	struct world *w;
	volatile bool granted;
	struct mutex_waiter *next;
};

void mutex_init(struct mutex *m, const char *name)
{
	spin_init(&m->lock, name);
	m->owner = NULL;
	m->held = false;
	m->head = m->tail = NULL;
	m->name = name;
}

bool mutex_trylock(struct mutex *m)
{
	unsigned long flags = spin_lock_irqsave(&m->lock);
	bool got = !m->held;

	if (got) {
		m->held = true;
		m->owner = world_current();
	}
	spin_unlock_irqrestore(&m->lock, flags);
	return got;
}

void mutex_lock(struct mutex *m)
{
	struct world *me = world_current();
	struct mutex_waiter node = { me, false, NULL };
	unsigned long flags;

	if (!me) {
		/* Boot context: nobody can be sleeping on it yet except worlds; wait politely. */
		while (!mutex_trylock(m))
			cpu_relax();
		return;
	}
	flags = spin_lock_irqsave(&m->lock);
	if (m->held && m->owner == me)
		panic("mutex %s: taken twice by world %s", m->name, me->name);
	if (!m->held) {
		m->held = true;
		m->owner = me;
		spin_unlock_irqrestore(&m->lock, flags);
		return;
	}
	if (m->tail)
		m->tail->next = &node;
	else
		m->head = &node;
	m->tail = &node;
	spin_unlock_irqrestore(&m->lock, flags);
	while (!node.granted)
		sched_block();
}

void mutex_unlock(struct mutex *m)
{
	unsigned long flags = spin_lock_irqsave(&m->lock);
	struct mutex_waiter *next = m->head;
	struct world *wake = NULL;

	ASSERT(m->held);
	if (next) {
		m->head = next->next;
		if (!m->head)
			m->tail = NULL;
		m->owner = next->w;
		wake = next->w;
		next->granted = true;	/* the node may vanish once this is seen */
	} else {
		m->held = false;
		m->owner = NULL;
	}
	spin_unlock_irqrestore(&m->lock, flags);
	if (wake)
		sched_wakeup(wake);
}
