/*
 * The guest's IOAPIC (82093AA register model) at 0xfec00000: IOREGSEL at
 * +0x00 selects a register that IOWIN at +0x10 reads and writes. Registers:
 * ID (0x00, bits 27:24 writable), version (0x01: 24 redirection entries,
 * version 0x11), arbitration (0x02), and 24 redirection entries (0x10 + 2n
 * low, 0x11 + 2n high), which start masked.
 *
 * Delivery: an unmasked edge-triggered pin sends its message on a rising
 * edge. A level-triggered pin sends while its line is asserted and remote
 * IRR is clear, then sets remote IRR; the EOI of that vector by a local
 * APIC clears remote IRR, and a line still asserted sends again. Unmasking
 * a level pin whose line is asserted sends too. Lines carry the asserted
 * (logical) level: the polarity bit is kept for the guest to read back,
 * as the wiring the ACPI tables describe already matches it.
 *
 * Locking: a->lock (irqsave). Messages are sent with it dropped, since a
 * local APIC may kick another CPU.
 */
#include <errno.h>
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vm.h>

#define IOAPIC_PINS	VIRQ_GSI_LINES
#define IOAPIC_VERSION	(0x11U | ((IOAPIC_PINS - 1U) << 16))
#define REDIR_MASKED	(1U << 16)
#define REDIR_LEVEL	(1U << 15)
#define REDIR_REMOTE_IRR (1U << 14)
#define REDIR_DELIVS	(1U << 12)
#define REDIR_RO_BITS	(REDIR_REMOTE_IRR | REDIR_DELIVS)

struct vdev_ioapic {
	struct vdev dev;
	uint64_t base;
	struct spinlock lock;
	uint32_t sel;			/* lock */
	uint32_t id;			/* lock */
	uint32_t redir[IOAPIC_PINS][2];	/* lock: low, high */
	uint32_t lines;			/* lock: asserted pins */
	uint64_t sent[IOAPIC_PINS];	/* statistics: messages sent per pin */
};

static struct apic_msg msg_of(const uint32_t e[2])
{
	return (struct apic_msg){
		.dest = e[1] >> 24,
		.logical = e[0] & (1U << 11),
		.level = e[0] & REDIR_LEVEL,
		.assert = true,
		.delivery = (e[0] >> 8) & 7,
		.vector = (uint8_t)e[0],
	};
}

/*
 * Decide whether pin sends now (lock held); if so, mark it and return the
 * message in *m. rising: the line just went from low to high.
 */
static bool should_send(struct vdev_ioapic *a, unsigned pin, bool rising, struct apic_msg *m)
{
	uint32_t *e = a->redir[pin];

	if ((e[0] & REDIR_MASKED) || !(a->lines & (1U << pin)))
		return false;
	if (e[0] & REDIR_LEVEL) {
		if (e[0] & REDIR_REMOTE_IRR)
			return false;
		e[0] |= REDIR_REMOTE_IRR;
	} else if (!rising) {
		return false;
	}
	*m = msg_of(e);
	a->sent[pin]++;
	return true;
}

static void ioapic_set_line(void *ctx, unsigned pin, bool level)
{
	struct vdev_ioapic *a = ctx;
	unsigned long flags = spin_lock_irqsave(&a->lock);
	bool rising = level && !(a->lines & (1U << pin)), send;
	struct apic_msg m;

	if (level)
		a->lines |= 1U << pin;
	else
		a->lines &= ~(1U << pin);
	send = should_send(a, pin, rising, &m);
	spin_unlock_irqrestore(&a->lock, flags);
	if (send)
		vm_apic_send(a->dev.vm, &m, NULL);
}

/* A local APIC retired a level-triggered vector: clear remote IRR, resend if still asserted. */
static void ioapic_eoi(void *ctx, uint8_t vector)
{
	struct vdev_ioapic *a = ctx;
	struct apic_msg out[IOAPIC_PINS];
	unsigned n = 0;
	unsigned long flags = spin_lock_irqsave(&a->lock);

	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint32_t *e = a->redir[pin];

		if ((uint8_t)e[0] != vector || !(e[0] & REDIR_REMOTE_IRR))
			continue;
		e[0] &= ~REDIR_REMOTE_IRR;
		if (should_send(a, pin, false, &out[n]))
			n++;
	}
	spin_unlock_irqrestore(&a->lock, flags);
	for (unsigned i = 0; i < n; i++)
		vm_apic_send(a->dev.vm, &out[i], NULL);
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

/* A register write; returns true (with *m) if a pin must send as a result. */
static bool reg_write(struct vdev_ioapic *a, uint32_t val, struct apic_msg *m)
{
	uint32_t r = a->sel & 0xff, pin, *e;

	if (r == 0x00) {
		a->id = val & 0x0f000000U;
		return false;
	}
	if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS)
		return false;
	pin = (r - 0x10) / 2;
	e = a->redir[pin];
	if ((r - 0x10) % 2) {
		e[1] = val & 0xff000000U;	/* destination field */
		return false;
	}
	e[0] = (val & ~REDIR_RO_BITS) | (e[0] & REDIR_RO_BITS);
	if (!(e[0] & REDIR_LEVEL))
		e[0] &= ~REDIR_REMOTE_IRR;	/* remote IRR means nothing for edge pins */
	/* An unmasked level pin whose line is asserted sends now. */
	return (e[0] & REDIR_LEVEL) && should_send(a, pin, false, m);
}

static int ioapic_read(struct vdev *d, struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct vdev_ioapic *a = (struct vdev_ioapic *)d;
	uint64_t off = gpa - a->base;
	unsigned long flags;
	uint32_t word = 0;

	(void)v;
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

static int ioapic_write(struct vdev *d, struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val)
{
	struct vdev_ioapic *a = (struct vdev_ioapic *)d;
	uint64_t off = gpa - a->base;
	unsigned long flags;
	struct apic_msg m;
	bool send = false;

	(void)v;
	flags = spin_lock_irqsave(&a->lock);
	if (off == 0x00)
		a->sel = (uint32_t)val & (size == 1 ? 0xffU : 0xffffffffU);
	else if (off == 0x10 && size >= 4)
		send = reg_write(a, (uint32_t)val, &m);
	spin_unlock_irqrestore(&a->lock, flags);
	if (send)
		vm_apic_send(d->vm, &m, NULL);
	return 0;
}

static const struct vdev_mmio_ops ioapic_ops = { .read = ioapic_read, .write = ioapic_write };

static void ioapic_reset(struct vdev *d)
{
	struct vdev_ioapic *a = (struct vdev_ioapic *)d;
	unsigned long flags = spin_lock_irqsave(&a->lock);

	a->sel = 0;
	a->id = 0;
	for (int i = 0; i < IOAPIC_PINS; i++) {
		a->redir[i][0] = REDIR_MASKED;
		a->redir[i][1] = 0;
	}
	spin_unlock_irqrestore(&a->lock, flags);
}

static int ioapic_create(struct vdev *d, const struct vdev_args *args)
{
	struct vdev_ioapic *a = (struct vdev_ioapic *)d;
	int err;

	spin_init(&a->lock, "vioapic");
	a->base = args->mmio;
	err = vdev_mmio_register(d, a->base, 0x1000, &ioapic_ops, true);
	if (err < 0)
		return err;
	vm_irq_set_eoi_listener(d->vm, ioapic_eoi, a);
	return vm_irq_attach(d->vm, VIRQ_SINK_IOAPIC, ioapic_set_line, a);
}

static size_t ioapic_save(const struct vdev *d, void *buf, size_t len)
{
	const struct vdev_ioapic *a = (const struct vdev_ioapic *)d;

	if (len >= sizeof(a->redir))
		__builtin_memcpy(buf, a->redir, sizeof(a->redir));
	return sizeof(a->redir);
}

static const struct vdev_type ioapic_type = {
	.name = "ioapic", .size = sizeof(struct vdev_ioapic),
	.create = ioapic_create, .reset = ioapic_reset, .save = ioapic_save,
};
VDEV_TYPE(ioapic_type);
