/*
 * The guest's IOAPIC (82093AA register model) at its PC address,
 * 0xfec00000: IOREGSEL at +0x00 selects a register that IOWIN at +0x10
 * reads and writes. Registers: ID (0x00, bits 27:24 writable), version
 * (0x01: 24 redirection entries, version 0x11), arbitration (0x02), and
 * 24 redirection entries (0x10 + 2n low, 0x11 + 2n high), which start
 * masked. Delivery status and remote IRR are read-only.
 *
 * The register file is complete; delivering interrupts through it needs a
 * local APIC model for the guest, which does not exist yet, so nothing is
 * ever raised by these entries (the guest's CPUID reports no APIC).
 */
#include <vmkernel/kmem.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>

#define IOAPIC_BASE	0xfec00000ULL
#define IOAPIC_PINS	24
#define IOAPIC_VERSION	(0x11U | ((IOAPIC_PINS - 1U) << 16))
#define REDIR_MASKED	(1U << 16)
#define REDIR_RO_BITS	((1U << 12) | (1U << 14))	/* delivery status, remote IRR */

struct vdev_ioapic {
	struct spinlock lock;
	uint32_t sel;			/* lock */
	uint32_t id;			/* lock */
	uint32_t redir[IOAPIC_PINS][2];	/* lock: low, high */
};

static struct vdev_ioapic *ioapic_of(struct vm *vm)
{
	struct vdev_ioapic *a;

	if (__atomic_load_n(&vm->ioapic, __ATOMIC_ACQUIRE))
		return vm->ioapic;
	a = kzalloc(sizeof(*a));
	if (!a)
		return NULL;
	spin_init(&a->lock, "vioapic");
	for (int i = 0; i < IOAPIC_PINS; i++)
		a->redir[i][0] = REDIR_MASKED;
	if (!__atomic_compare_exchange_n(&vm->ioapic, &(struct vdev_ioapic *){ NULL }, a, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		kfree(a);	/* another vCPU made it first */
	return vm->ioapic;
}

static uint32_t reg_read(const struct vdev_ioapic *a)
{
	uint32_t r = a->sel & 0xff;

	if (r == 0x00)
		return a->id;
	if (r == 0x01)
		return IOAPIC_VERSION;
	if (r == 0x02)
		return a->id;
	if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS)
		return a->redir[(r - 0x10) / 2][(r - 0x10) % 2];
	return 0;
}

static void reg_write(struct vdev_ioapic *a, uint32_t val)
{
	uint32_t r = a->sel & 0xff, *e;

	if (r == 0x00) {
		a->id = val & 0x0f000000U;
	} else if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
		e = &a->redir[(r - 0x10) / 2][(r - 0x10) % 2];
		if ((r - 0x10) % 2 == 0)
			*e = (val & ~REDIR_RO_BITS) | (*e & REDIR_RO_BITS);
		else
			*e = val & 0xff000000U;	/* destination field */
	}
}

static int ioapic_read(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct vdev_ioapic *a = ioapic_of(v->vm);
	uint64_t off = gpa - IOAPIC_BASE;
	unsigned long flags;
	uint32_t word = 0;

	if (!a)
		return -12;
	flags = spin_lock_irqsave(&a->lock);
	if ((off & ~3ULL) == 0x00)
		word = a->sel;
	else if ((off & ~3ULL) == 0x10)
		word = reg_read(a);
	spin_unlock_irqrestore(&a->lock, flags);
	/* Narrow reads see the addressed bytes of the 32-bit register. */
	*val = (word >> (8 * (off & 3))) & (size >= 4 ? 0xffffffffULL : (1ULL << (8 * size)) - 1);
	return 0;
}

static int ioapic_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val)
{
	struct vdev_ioapic *a = ioapic_of(v->vm);
	uint64_t off = gpa - IOAPIC_BASE;
	unsigned long flags;

	if (!a)
		return -12;
	flags = spin_lock_irqsave(&a->lock);
	if (off == 0x00)
		a->sel = (uint32_t)val & (size == 1 ? 0xffU : 0xffffffffU);
	else if (off == 0x10 && size >= 4)
		reg_write(a, (uint32_t)val);
	spin_unlock_irqrestore(&a->lock, flags);
	return 0;
}

static const struct vdev_mmio vioapic = {
	.name = "IOAPIC", .base = IOAPIC_BASE, .size = 0x1000,
	.read = ioapic_read, .write = ioapic_write,
};
VDEV_MMIO(vioapic);
