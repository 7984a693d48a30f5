/*
 * Spinlocks that know their owner: taking a lock this CPU already holds,
 * releasing one it does not hold, or spinning for longer than
 * SPIN_TIMEOUT_S seconds all panic with the lock's name and the CPUs
 * involved, instead of hanging silently.
 */
#ifndef SPINLOCK_H
#define SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

#define SPIN_TIMEOUT_S 10
#define SPIN_NO_OWNER (-1)

struct spinlock {
	volatile uint32_t locked;
	volatile int32_t owner;		/* CPU id holding it, SPIN_NO_OWNER when free */
	const char *name;
};

#define SPINLOCK_INIT(n) { .locked = 0, .owner = SPIN_NO_OWNER, .name = (n) }

void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
bool spin_trylock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
bool spin_held_by_me(const struct spinlock *l);
unsigned long spin_lock_irqsave(struct spinlock *l);
void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags);

#endif
