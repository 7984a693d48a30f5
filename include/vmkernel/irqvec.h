/*
 * Device interrupt vectors. The IDT is shared by every CPU, so a vector
 * (0x30-0xef) belongs to one handler machine-wide; where the interrupt is
 * delivered (which CPU) is chosen by whoever programs the source (an MSI
 * address, an IOAPIC redirection entry). Handlers run in interrupt context
 * with interrupts off, then the vmkernel sends the LAPIC EOI.
 */
#ifndef IRQVEC_H
#define IRQVEC_H

#include <stdint.h>

/* A free vector with fn(arg) as its handler; -ENOSPC when all are taken. */
int irq_vector_alloc(void (*fn)(void *arg), void *arg, const char *owner);
void irq_vector_free(int vector);
/* Vectors in use (for reports and tests). */
unsigned irq_vector_used(void);
/* The APIC ID that interrupts for logical CPU `cpu` must target. */
uint32_t irq_cpu_apic_id(unsigned cpu);

#endif
