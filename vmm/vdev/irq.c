/*
 * The VM's interrupt wiring (see include/vmm/virq.h): lines from devices to
 * the PIC and IOAPIC, messages from the IOAPIC and MSIs to local APICs,
 * and the PIC's INTR output to vCPU 0.
 *
 * Line levels are kept here so an edge is an actual 0 -> 1 change seen by
 * every controller on that line. The sinks are fixed before any vCPU runs
 * (devices are created with the VM), so calls read them without a lock;
 * irq->lock orders level changes on a line.
 *
 * Lowest-priority delivery goes to the matching vCPU with the lowest
 * processor priority, ties broken round-robin (SDM 3A 11.6.2.4 lets the
 * platform arbitrate).
 */
#include <errno.h>
#include <vmkernel/kmem.h>
#include <vmkernel/spinlock.h>
#include <vmm/vcpu.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include <vmm/vm.h>

struct virq_sink {
	void (*set)(void *ctx, unsigned pin, bool level);
	void *ctx;
};

struct vm_irq {
	struct spinlock lock;
	bool isa_level[VIRQ_ISA_LINES];		/* lock */
	bool gsi_level[VIRQ_GSI_LINES];		/* lock */
	struct virq_sink sinks[VIRQ_SINKS];	/* fixed once vCPUs run */
	bool (*extint_pending)(void *ctx);
	int (*extint_ack)(void *ctx);
	void *extint_ctx;
	void (*eoi)(void *ctx, uint8_t vector);
	void *eoi_ctx;
	unsigned lowest_rr;			/* round-robin start for lowest priority */
};

int vm_irq_init(struct vm *vm)
{
	struct vm_irq *irq = kzalloc(sizeof(*irq));

	if (!irq)
		return -ENOMEM;
	spin_init(&irq->lock, "vm irq");
	vm->irq = irq;
	return 0;
}

void vm_irq_destroy(struct vm *vm)
{
	kfree(vm->irq);
	vm->irq = NULL;
}

int vm_irq_attach(struct vm *vm, enum virq_sink_kind kind,
		  void (*set)(void *ctx, unsigned pin, bool level), void *ctx)
{
	if (kind >= VIRQ_SINKS || vm->irq->sinks[kind].set)
		return -EBUSY;
	vm->irq->sinks[kind] = (struct virq_sink){ set, ctx };
	return 0;
}

static void sink_set(struct vm_irq *irq, enum virq_sink_kind k, unsigned pin, bool level)
{
	if (irq->sinks[k].set)
		irq->sinks[k].set(irq->sinks[k].ctx, pin, level);
}

void vm_isa_irq(struct vm *vm, unsigned line, bool level)
{
	struct vm_irq *irq = vm->irq;
	unsigned long flags;

	if (line >= VIRQ_ISA_LINES)
		return;
	flags = spin_lock_irqsave(&irq->lock);
	if (irq->isa_level[line] != level) {
		irq->isa_level[line] = level;
		sink_set(irq, VIRQ_SINK_PIC, line, level);
		/* ISA IRQ 0 is wired to IOAPIC pin 2 (MADT interrupt source override). */
		sink_set(irq, VIRQ_SINK_IOAPIC, line == 0 ? 2 : line, level);
	}
	spin_unlock_irqrestore(&irq->lock, flags);
}

void vm_isa_irq_pulse(struct vm *vm, unsigned line)
{
	vm_isa_irq(vm, line, true);
	vm_isa_irq(vm, line, false);
}

void vm_gsi(struct vm *vm, unsigned gsi, bool level)
{
	struct vm_irq *irq = vm->irq;
	unsigned long flags;

	if (gsi >= VIRQ_GSI_LINES)
		return;
	flags = spin_lock_irqsave(&irq->lock);
	if (irq->gsi_level[gsi] != level) {
		irq->gsi_level[gsi] = level;
		sink_set(irq, VIRQ_SINK_IOAPIC, gsi, level);
	}
	spin_unlock_irqrestore(&irq->lock, flags);
}

static struct vcpu *lowest_priority(struct vm *vm, const struct apic_msg *m, struct vcpu *src)
{
	struct vm_irq *irq = vm->irq;
	unsigned start = __atomic_fetch_add(&irq->lowest_rr, 1, __ATOMIC_RELAXED);
	struct vcpu *best = NULL;

	for (unsigned k = 0; k < vm->nvcpus; k++) {
		struct vcpu *v = vm->vcpus[(start + k) % vm->nvcpus];

		if (!v || !vlapic_match(&v->lapic, m, src ? &src->lapic : NULL))
			continue;
		if (!best || vlapic_ppr(&v->lapic) < vlapic_ppr(&best->lapic))
			best = v;
	}
	return best;
}

void vm_apic_send(struct vm *vm, const struct apic_msg *m, struct vcpu *src)
{
	const struct vlapic *from = src ? &src->lapic : NULL;

	if (m->delivery == APIC_DM_LOWEST && !m->shorthand) {
		struct vcpu *v = lowest_priority(vm, m, src);

		if (v)
			vlapic_accept(&v->lapic, m);
		return;
	}
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (v && vlapic_match(&v->lapic, m, from))
			vlapic_accept(&v->lapic, m);
	}
}

/*
 * An MSI (PCI 3.0 6.8.1; SDM 3A 11.11): the address holds the destination
 * ID (bits 19:12), redirection hint (3) and destination mode (2); the data
 * holds the vector, delivery mode and trigger.
 */
void vm_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	struct apic_msg m = {
		.dest = (uint32_t)(addr >> 12) & 0xff,
		.logical = addr & (1U << 2),
		.level = data & (1U << 15),
		.assert = true,
		.delivery = (data >> 8) & 7,
		.vector = (uint8_t)data,
	};

	if ((addr & 0xfff00000ULL) != 0xfee00000ULL || (addr >> 32))
		return;		/* not an interrupt message: the write goes nowhere */
	if (m.delivery == APIC_DM_INIT || m.delivery == APIC_DM_STARTUP || m.delivery == 3)
		return;		/* not valid in an MSI */
	vm_apic_send(vm, &m, NULL);
}

void vm_irq_set_extint(struct vm *vm, bool (*pending)(void *ctx), int (*ack)(void *ctx),
		       void *ctx)
{
	vm->irq->extint_pending = pending;
	vm->irq->extint_ack = ack;
	vm->irq->extint_ctx = ctx;
}

bool vm_extint_pending(struct vm *vm)
{
	struct vm_irq *irq = vm->irq;

	return irq->extint_pending && irq->extint_pending(irq->extint_ctx);
}

void vm_extint_raise(struct vm *vm)
{
	struct vcpu *v = vm->vcpus[0];

	if (v && vlapic_accepts_extint(&v->lapic))
		vcpu_kick(v);
}

int vm_extint_ack(struct vm *vm)
{
	struct vm_irq *irq = vm->irq;

	return irq->extint_ack ? irq->extint_ack(irq->extint_ctx) : -1;
}

void vm_irq_set_eoi_listener(struct vm *vm, void (*eoi)(void *ctx, uint8_t vector), void *ctx)
{
	vm->irq->eoi = eoi;
	vm->irq->eoi_ctx = ctx;
}

void vm_irq_eoi(struct vm *vm, uint8_t vector)
{
	if (vm->irq->eoi)
		vm->irq->eoi(vm->irq->eoi_ctx, vector);
}
