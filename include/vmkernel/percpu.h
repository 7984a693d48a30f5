/*
 * Per-CPU data. Each CPU's GS base points at its struct pcpu, whose first
 * field points to itself, so this_cpu() is one load from %gs:0.
 * A pcpu's fields are written only by its own CPU, except where noted.
 */
#ifndef PERCPU_H
#define PERCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmkernel/config.h>

struct tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "TSS layout (SDM 3A 8.7)");

enum ist_index { IST_NMI = 1, IST_DF = 2, IST_MC = 3, IST_COUNT = 3 };

struct pcpu {
	struct pcpu *self;		/* must stay first: %gs:0 */
	unsigned int id;		/* logical CPU number, 0 = BSP */
	uint32_t apic_id;
	bool online;			/* set by the CPU itself, read by all */
	bool vmx_ok;			/* VT-x usable on this CPU */
	uint64_t timer_ticks;		/* periodic LAPIC timer interrupts taken */
	uint64_t ipi_count;		/* call-function IPIs handled */
	uint64_t nmi_count;		/* NMIs taken outside a panic (not printed in NMI context) */
	void *kstack_top;
	void *ist_top[IST_COUNT + 1];
	uint64_t gdt[7] __attribute__((aligned(16)));	/* null, code, data, TSS (2), spare */
	struct tss64 tss __attribute__((aligned(16)));
	int lock_depth;			/* spinlocks held */
	void *vmx;			/* VT-x discovery results (vmm/, opaque here) */
	void *vmm;			/* the VMM's per-CPU state (opaque here) */
};

extern struct pcpu pcpu_array[CONFIG_MAX_CPUS];
extern unsigned int pcpu_count;		/* CPUs described by firmware (started or not) */

static inline struct pcpu *this_cpu(void)
{
	struct pcpu *p;

	asm volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

static inline unsigned int this_cpu_id(void)
{
	return this_cpu()->id;
}

void pcpu_init_self(struct pcpu *p);	/* GS base, GDT, TSS for the calling CPU */
unsigned int pcpu_online_count(void);

#endif
