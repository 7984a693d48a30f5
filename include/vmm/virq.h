/*
 * One interrupt path for every device model (vmm/vdev/irq.c).
 *
 * A device drives an interrupt line (an ISA IRQ or a GSI) or sends a
 * message-signalled interrupt; it never injects anything itself. Lines go
 * to the interrupt controllers that attached to them, as on a PC: ISA IRQ
 * n reaches 8259 pin n and IOAPIC pin n, except IRQ 0 (the PIT), which is
 * wired to IOAPIC pin 2 (the ACPI MADT says so with an override). The
 * IOAPIC and MSIs become APIC bus messages that the virtual local APICs of
 * the destination vCPUs accept; a local APIC makes the vector pending and
 * kicks its vCPU (an IPI if it runs on another CPU, a wake-up if it
 * halted); the vCPU injects it at its next entry.
 *
 * All of these may be called from any CPU, from a vCPU's world or from a
 * host timer interrupt.
 */
#ifndef VMM_VIRQ_H
#define VMM_VIRQ_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

#define VIRQ_ISA_LINES	16
#define VIRQ_GSI_LINES	24	/* IOAPIC pins */

/* Delivery modes of APIC messages (SDM 3A 11.6.1; the same in IOAPIC entries and MSIs). */
enum apic_delivery {
	APIC_DM_FIXED = 0, APIC_DM_LOWEST = 1, APIC_DM_SMI = 2, APIC_DM_NMI = 4,
	APIC_DM_INIT = 5, APIC_DM_STARTUP = 6, APIC_DM_EXTINT = 7,
};

/* An interrupt message on the (virtual) APIC bus. */
struct apic_msg {
	uint32_t dest;		/* APIC ID (physical) or logical destination; 0xff / ~0 = all */
	bool logical;		/* destination mode */
	bool level;		/* trigger mode: level (true) or edge */
	bool assert;		/* level: asserted (INIT level de-assert is ignored) */
	uint8_t delivery;	/* enum apic_delivery */
	uint8_t vector;
	uint8_t shorthand;	/* from a LAPIC ICR: 0 none, 1 self, 2 all, 3 all but self */
	bool x2apic;		/* 32-bit destination (x2APIC ICR or MSI extended) */
};

/* ISA IRQ line 0-15 (edge devices pulse it; level ones hold it). */
void vm_isa_irq(struct vm *vm, unsigned irq, bool level);
void vm_isa_irq_pulse(struct vm *vm, unsigned irq);
/* A GSI (IOAPIC pin) 0-23: PCI INTx and the ACPI SCI. */
void vm_gsi(struct vm *vm, unsigned gsi, bool level);
/* A PCI MSI/MSI-X write of data to addr (0xfeexxxxx); other addresses are dropped. */
void vm_msi(struct vm *vm, uint64_t addr, uint32_t data);
/* Send a message to the local APICs it names (src: the sending vCPU for shorthands, or NULL). */
void vm_apic_send(struct vm *vm, const struct apic_msg *m, struct vcpu *src);

/*
 * Interrupt controllers attach here when they are created. A line's level
 * is remembered, so a controller that attaches later sees lines already
 * high only after the next change (devices are created before any vCPU runs).
 */
enum virq_sink_kind { VIRQ_SINK_PIC, VIRQ_SINK_IOAPIC, VIRQ_SINKS };
int vm_irq_attach(struct vm *vm, enum virq_sink_kind kind,
		  void (*set)(void *ctx, unsigned pin, bool level), void *ctx);
int vm_irq_init(struct vm *vm);
void vm_irq_destroy(struct vm *vm);

/*
 * The legacy PIC's output (INTR), which reaches vCPU 0's LINT0 and is
 * taken as an ExtINT: the PIC registers how to ask whether it is raised
 * and how to acknowledge it (which returns the vector).
 */
void vm_irq_set_extint(struct vm *vm, bool (*pending)(void *ctx), int (*ack)(void *ctx),
		       void *ctx);
bool vm_extint_pending(struct vm *vm);
/* The PIC's output rose: vCPU 0 (whose LINT0 it drives) should look. */
void vm_extint_raise(struct vm *vm);
int vm_extint_ack(struct vm *vm);	/* vector, or -1 (spurious) */

/* The EOI of a level-triggered vector: the IOAPIC clears remote IRR on matching pins. */
void vm_irq_eoi(struct vm *vm, uint8_t vector);
void vm_irq_set_eoi_listener(struct vm *vm, void (*eoi)(void *ctx, uint8_t vector), void *ctx);

#endif
