/*
 * The PC's two cascaded 8259A interrupt controllers (ports 0x20-0x21 and
 * 0xa0-0xa1) and the edge/level control registers (ELCR, 0x4d0-0x4d1).
 *
 * Model (8259A data sheet): per chip, IRR latches requests (on a rising
 * edge for edge-triggered pins, while the line is high for level ones,
 * per ELCR), IMR masks them, ISR holds what is in service. The chip
 * raises INT when the highest-priority unmasked request outranks
 * everything in service (special mask mode drops that check for masked
 * ISR bits). The slave's INT is the master's pin 2. The master's INT is
 * the VM's ExtINT: vCPU 0 takes it when its local APIC is off or passes
 * LINT0 through as ExtINT, and "acknowledges" it here, which returns the
 * vector (ICW2 base + pin) and moves the request into service (or, with
 * auto-EOI, nowhere). A request that vanished before the acknowledge
 * yields the spurious IRQ 7 (15) vector, with nothing put in service.
 *
 * Commands: ICW1-4 initialisation, OCW1 (mask), OCW2 (non-specific and
 * specific EOI, rotation, set priority), OCW3 (read IRR/ISR, poll, special
 * mask mode). Single mode (no slave), 8086 vs MCS-80 mode and buffered
 * mode are accepted and have no effect beyond what a PC would show.
 *
 * Locking: pic->lock (irqsave: lines change from host timer interrupts).
 */
#include <errno.h>
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vm.h>

struct i8259 {
	uint8_t irr, isr, imr;
	uint8_t lines;			/* current input levels */
	uint8_t elcr, elcr_mask;	/* level-triggered pins, writable ELCR bits */
	uint8_t vector_base;		/* ICW2 & 0xf8 */
	uint8_t priority_add;		/* lowest priority pin + 1 (rotation) */
	uint8_t init_step;		/* 0: initialised; 1..3: expecting ICW2..ICW4 */
	bool icw4_needed, single;
	bool auto_eoi, rotate_on_aeoi;
	bool read_isr;			/* OCW3 RR/RIS */
	bool poll;			/* OCW3 poll command pending */
	bool special_mask;
};

struct vdev_pic {
	struct vdev dev;
	struct spinlock lock;
	struct i8259 chip[2];		/* master, slave */
	bool intr;			/* lock: the master's INT output */
};

/* Priority-ordered pin: 0 is the highest priority after rotation. */
static int highest_of(const struct i8259 *c, uint8_t bits)
{
	for (int p = 0; p < 8; p++) {
		int pin = (p + c->priority_add) & 7;

		if (bits & (1U << pin))
			return pin;
	}
	return -1;
}

/* The pin that would be delivered now, or -1. */
static int chip_output(const struct i8259 *c)
{
	int req = highest_of(c, c->irr & ~c->imr);
	uint8_t in_service = c->isr;
	int serv;

	if (req < 0)
		return -1;
	if (c->special_mask)
		in_service &= ~c->imr;
	serv = highest_of(c, in_service);
	/* A request must outrank (come before) anything in service. */
	if (serv >= 0 && ((req - c->priority_add) & 7) >= ((serv - c->priority_add) & 7))
		return -1;
	return req;
}

static void chip_set_line(struct i8259 *c, unsigned pin, bool level)
{
	uint8_t bit = (uint8_t)(1U << pin);

	if (c->elcr & bit) {
		if (level)
			c->irr |= bit;
		else
			c->irr &= ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;		/* rising edge */
	}
	if (level)
		c->lines |= bit;
	else
		c->lines &= ~bit;
}

/* Propagate the slave's output to master pin 2, then recompute INT. Lock held. */
static void update(struct vdev_pic *p)
{
	bool was = p->intr;

	chip_set_line(&p->chip[0], 2, chip_output(&p->chip[1]) >= 0);
	p->intr = chip_output(&p->chip[0]) >= 0;
	if (p->intr && !was)
		vm_extint_raise(p->dev.vm);
}

static void pic_set_line(void *ctx, unsigned line, bool level)
{
	struct vdev_pic *p = ctx;
	unsigned long flags = spin_lock_irqsave(&p->lock);

	if (line == 2)
		line = 9;	/* the AT cascade: a device on IRQ 2 is wired to IRQ 9 */
	chip_set_line(&p->chip[line / 8], line % 8, level);
	update(p);
	spin_unlock_irqrestore(&p->lock, flags);
}

static bool pic_pending(void *ctx)
{
	struct vdev_pic *p = ctx;

	return __atomic_load_n(&p->intr, __ATOMIC_ACQUIRE);
}

/* Acknowledge one pin of a chip; returns its vector. */
static uint8_t chip_ack(struct i8259 *c, int pin)
{
	uint8_t bit = (uint8_t)(1U << pin);

	if (!(c->elcr & bit))
		c->irr &= ~bit;
	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->priority_add = (uint8_t)((pin + 1) & 7);
	} else {
		c->isr |= bit;
	}
	return (uint8_t)(c->vector_base + pin);
}

/* The INTA cycle: the vector, or the spurious IRQ 7 / 15 vector if nothing is left. */
static int pic_ack(void *ctx)
{
	struct vdev_pic *p = ctx;
	unsigned long flags = spin_lock_irqsave(&p->lock);
	int pin = chip_output(&p->chip[0]), vec;

	if (pin < 0) {
		vec = p->chip[0].vector_base + 7;
	} else if (pin == 2) {
		int spin = chip_output(&p->chip[1]);

		chip_ack(&p->chip[0], 2);
		vec = spin < 0 ? p->chip[1].vector_base + 7 : chip_ack(&p->chip[1], spin);
	} else {
		vec = chip_ack(&p->chip[0], pin);
	}
	update(p);
	spin_unlock_irqrestore(&p->lock, flags);
	return vec;
}

/* OCW2 (port 0x20/0xa0, bits 4:3 = 00). */
static void ocw2(struct i8259 *c, uint8_t v)
{
	unsigned cmd = v >> 5, pin = v & 7;
	int serv;

	switch (cmd) {
	case 0:	/* rotate in auto-EOI mode: clear */
	case 4:	/* rotate in auto-EOI mode: set */
		c->rotate_on_aeoi = cmd == 4;
		break;
	case 1:	/* non-specific EOI */
	case 5:	/* rotate on non-specific EOI */
		serv = highest_of(c, c->isr);
		if (serv >= 0) {
			c->isr &= (uint8_t)~(1U << serv);
			if (cmd == 5)
				c->priority_add = (uint8_t)((serv + 1) & 7);
		}
		break;
	case 3:	/* specific EOI */
		c->isr &= (uint8_t)~(1U << pin);
		break;
	case 6:	/* set priority: pin becomes the lowest */
		c->priority_add = (uint8_t)((pin + 1) & 7);
		break;
	case 7:	/* rotate on specific EOI */
		c->isr &= (uint8_t)~(1U << pin);
		c->priority_add = (uint8_t)((pin + 1) & 7);
		break;
	}
}

static void chip_write(struct i8259 *c, bool data_port, uint8_t v)
{
	if (!data_port) {
		if (v & 0x10) {		/* ICW1: start initialisation */
			c->init_step = 1;
			c->icw4_needed = v & 1;
			c->single = v & 2;
			c->imr = 0;
			c->isr = 0;
			c->irr &= c->elcr & c->lines;	/* edge requests are lost */
			c->priority_add = 0;
			c->special_mask = false;
			c->read_isr = false;
			c->poll = false;
			c->auto_eoi = false;
			c->rotate_on_aeoi = false;
		} else if (v & 0x08) {	/* OCW3 */
			if (v & 0x04)
				c->poll = true;
			if (v & 0x02)
				c->read_isr = v & 1;
			if (v & 0x40)
				c->special_mask = v & 0x20;
		} else {
			ocw2(c, v);
		}
		return;
	}
	switch (c->init_step) {
	case 0:
		c->imr = v;	/* OCW1 */
		break;
	case 1:
		c->vector_base = v & 0xf8;
		c->init_step = c->single ? (c->icw4_needed ? 3 : 0) : 2;
		break;
	case 2:
		c->init_step = c->icw4_needed ? 3 : 0;	/* ICW3: the cascade wiring is fixed */
		break;
	case 3:
		c->auto_eoi = v & 2;
		c->init_step = 0;
		break;
	}
}

static uint8_t chip_read(struct vdev_pic *p, struct i8259 *c, bool data_port)
{
	if (c->poll) {
		int pin = chip_output(c);

		c->poll = false;
		if (pin < 0)
			return 0;
		if (c == &p->chip[0] && pin == 2) {
			/* Polling the master for a slave request acknowledges the cascade. */
			chip_ack(c, 2);
			return 0x80 | 2;
		}
		chip_ack(c, pin);
		return (uint8_t)(0x80 | pin);
	}
	if (data_port)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static uint32_t pic_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_pic *p = (struct vdev_pic *)d;
	unsigned long flags = spin_lock_irqsave(&p->lock);
	uint8_t val;

	(void)v;
	(void)size;
	if (port == 0x4d0 || port == 0x4d1)
		val = p->chip[port - 0x4d0].elcr;
	else
		val = chip_read(p, &p->chip[port >= 0xa0], port & 1);
	update(p);
	spin_unlock_irqrestore(&p->lock, flags);
	return val;
}

static void pic_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_pic *p = (struct vdev_pic *)d;
	unsigned long flags = spin_lock_irqsave(&p->lock);

	(void)v;
	(void)size;
	if (port == 0x4d0 || port == 0x4d1) {
		struct i8259 *c = &p->chip[port - 0x4d0];

		c->elcr = (uint8_t)val & c->elcr_mask;
		/* A pin turned level-triggered now reflects its line. */
		c->irr = (uint8_t)((c->irr & ~c->elcr) | (c->lines & c->elcr));
	} else {
		chip_write(&p->chip[port >= 0xa0], port & 1, (uint8_t)val);
	}
	update(p);
	spin_unlock_irqrestore(&p->lock, flags);
}

static const struct vdev_pio_ops pic_ops = { .in = pic_in, .out = pic_out, .byte_wide = true };

static void pic_reset(struct vdev *d)
{
	struct vdev_pic *p = (struct vdev_pic *)d;
	unsigned long flags = spin_lock_irqsave(&p->lock);

	for (int i = 0; i < 2; i++) {
		struct i8259 *c = &p->chip[i];
		uint8_t lines = c->lines;

		*c = (struct i8259){ .lines = lines };
		/* ELCR: IRQ 0, 1, 2, 8 and 13 are always edge-triggered on a PC. */
		c->elcr_mask = i == 0 ? 0xf8 : 0xde;
	}
	p->intr = false;
	spin_unlock_irqrestore(&p->lock, flags);
}

static int pic_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_pic *p = (struct vdev_pic *)d;
	int err;

	(void)a;
	spin_init(&p->lock, "vpic");
	if ((err = vdev_pio_register(d, 0x20, 2, &pic_ops, true)) < 0 ||
	    (err = vdev_pio_register(d, 0xa0, 2, &pic_ops, true)) < 0 ||
	    (err = vdev_pio_register(d, 0x4d0, 2, &pic_ops, true)) < 0)
		return err;
	vm_irq_set_extint(d->vm, pic_pending, pic_ack, p);
	return vm_irq_attach(d->vm, VIRQ_SINK_PIC, pic_set_line, p);
}

static size_t pic_save(const struct vdev *d, void *buf, size_t len)
{
	const struct vdev_pic *p = (const struct vdev_pic *)d;

	if (len >= sizeof(p->chip))
		__builtin_memcpy(buf, p->chip, sizeof(p->chip));
	return sizeof(p->chip);
}

static const struct vdev_type pic_type = {
	.name = "i8259", .size = sizeof(struct vdev_pic),
	.create = pic_create, .reset = pic_reset, .save = pic_save,
};
VDEV_TYPE(pic_type);
