/*
 * Sleeping locks for worlds: a waiter blocks its world (the CPU runs
 * others) instead of spinning. For long critical sections that do I/O,
 * e.g. one VMFS volume's calls. Outside any world (boot, before the
 * scheduler runs) mutex_lock spins with the CPU halted between tries.
 * Not for interrupt context. Not recursive.
 */
#ifndef MUTEX_H
#define MUTEX_H

#include <stdbool.h>
#include <vmkernel/spinlock.h>

struct world;
struct mutex_waiter;

struct mutex {
	struct spinlock lock;
	struct world *owner;		/* lock; NULL = free (or held outside a world, see held) */
	bool held;			/* lock */
	struct mutex_waiter *head;	/* FIFO of sleeping worlds, lock */
	struct mutex_waiter *tail;
	const char *name;
};

#define MUTEX_INIT(n) { .lock = SPINLOCK_INIT(n), .owner = NULL, .held = false, \
			.head = NULL, .tail = NULL, .name = (n) }

void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);

#endif
