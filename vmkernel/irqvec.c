/*
 * Device interrupt vector allocator (see include/irqvec.h).
 *
 * One table of 192 vectors (VEC_DEV_FIRST..VEC_DEV_LAST) under one lock;
 * a vector is handed out with its handler installed, so an interrupt that
 * arrives the moment the device is programmed already finds it. Freeing
 * removes the handler first; the caller must have silenced the source.
 */
#define pr_fmt(fmt) "irqvec: " fmt
#include <errno.h>
#include <stdbool.h>
#include <vmkernel/irqvec.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/trap.h>

#define NVEC (VEC_DEV_LAST - VEC_DEV_FIRST + 1)

static struct spinlock vec_lock = SPINLOCK_INIT("irq vectors");
static const char *vec_owner[NVEC];	/* vec_lock; NULL = free */
static unsigned vec_used;		/* vec_lock */

int irq_vector_alloc(void (*fn)(void *arg), void *arg, const char *owner)
{
	unsigned long flags = spin_lock_irqsave(&vec_lock);
	int vector = -ENOSPC;

	for (unsigned i = 0; i < NVEC; i++) {
		if (vec_owner[i])
			continue;
		if (irq_register_arg((uint8_t)(VEC_DEV_FIRST + i), fn, arg))
			continue;	/* taken through irq_register() by someone else */
		vec_owner[i] = owner ? owner : "?";
		vec_used++;
		vector = VEC_DEV_FIRST + (int)i;
		break;
	}
	spin_unlock_irqrestore(&vec_lock, flags);
	if (vector < 0)
		pr_err("no free interrupt vector for %s (%u in use)\n", owner, vec_used);
	return vector;
}

void irq_vector_free(int vector)
{
	unsigned long flags;

	if (vector < VEC_DEV_FIRST || vector > VEC_DEV_LAST)
		return;
	flags = spin_lock_irqsave(&vec_lock);
	if (vec_owner[vector - VEC_DEV_FIRST]) {
		irq_unregister_arg((uint8_t)vector);
		vec_owner[vector - VEC_DEV_FIRST] = NULL;
		vec_used--;
	}
	spin_unlock_irqrestore(&vec_lock, flags);
}

unsigned irq_vector_used(void)
{
	return vec_used;
}

uint32_t irq_cpu_apic_id(unsigned cpu)
{
	return cpu < pcpu_count ? pcpu_array[cpu].apic_id : pcpu_array[0].apic_id;
}
