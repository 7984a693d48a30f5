/*
 * The 8254 programmable interval timer (ports 0x40-0x43) and the PC's
 * port 0x61 (channel 2's gate and output, the speaker enable, and the
 * refresh-request toggle some code polls).
 *
 * Counting is computed, not ticked: each channel remembers the host TSC
 * at which its count was loaded (or its gate rose) and derives the
 * current count and OUT level from elapsed time at 1.193182 MHz; while
 * channel 2's gate holds a mode 0 or 4 count, the ticks counted so far
 * are kept instead (ch2_gate() has each mode's gate rules). Only
 * channel 0's interrupt needs a timer: a host one-shot timer armed for
 * the next rising edge of OUT, which pulses ISA IRQ 0. Expiries the VM
 * could not take while it was not running are folded into one (the guest
 * then sees a late tick, never a burst).
 *
 * Modes (8254 data sheet): 0 interrupt on terminal count, 1 hardware
 * one-shot, 2 rate generator, 3 square wave, 4 software strobe, 5
 * hardware strobe. Access modes: latch, LSB, MSB, LSB then MSB; the
 * read-back command (count and status latches). Binary counting only:
 * a BCD control word is taken as binary, which the log says once.
 *
 * Locking: p->lock (irqsave; the channel 0 timer runs in interrupt context).
 */
#define pr_fmt(fmt) "vpit: " fmt
#include <vmm/vtime.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/log.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vm.h>

#define PIT_HZ		1193182ULL
/*
 * About 200 us (as KVM's default floor): a faster IRQ 0 is slowed to this.
 * A guest that asks for 1.2 MHz must not turn the host into a machine that
 * only answers its timer; the periodic local APIC timer has the same floor.
 */
#define MIN_IRQ_TICKS	239

struct pit_channel {
	uint8_t mode;		/* 0..5 */
	uint8_t access;		/* 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd;
	uint32_t reload;	/* 1..65536 */
	uint64_t start;		/* host TSC when counting started; 0: not counting */
	bool gate;
	bool held;		/* modes 0 and 4: the gate fell while counting */
	uint64_t held_ticks;	/* ticks counted when it fell */
	bool write_msb;		/* access 3: the next write is the MSB */
	bool read_msb;		/* access 3: the next read is the MSB */
	uint16_t latch;		/* latched count */
	uint8_t latched;	/* bytes of the latch still to read (0, 1 or 2) */
	bool status_latched;
	uint8_t status;
	uint8_t pending_lsb;	/* access 3: the LSB written so far */
};

struct vdev_pit {
	struct vdev dev;
	struct spinlock lock;
	struct pit_channel ch[3];
	bool speaker;			/* port 0x61 bit 1 */
	struct ktimer timer;		/* channel 0: the next IRQ 0 edge */
	uint64_t next_edge;		/* lock: host TSC of it, 0 = none */
	bool warned_bcd;
	uint64_t irqs;			/* statistics */
};

static uint64_t ticks_since(const struct pit_channel *c, uint64_t now)
{
	if (c->held)
		return c->held_ticks;
	return c->start && now > c->start ? (now - c->start) * PIT_HZ / tsc_hz() : 0;
}

static uint64_t tsc_after_ticks(const struct pit_channel *c, uint64_t ticks)
{
	return c->start + (ticks * tsc_hz() + PIT_HZ - 1) / PIT_HZ;
}

/* The counting element now (the value a latch captures). */
static uint16_t current_count(const struct pit_channel *c, uint64_t now)
{
	uint64_t t = ticks_since(c, now);

	if (!c->start)
		return (uint16_t)c->reload;
	switch (c->mode) {
	case 2:
		return (uint16_t)(c->reload - t % c->reload);
	case 3:
		/* Counts down by two, twice per period. */
		return (uint16_t)((c->reload - (2 * t) % c->reload) & ~1U);
	default:
		/* 0, 1, 4, 5: down to 0, then it wraps and keeps counting. */
		return (uint16_t)((c->reload - t) & 0xffff);
	}
}

static bool out_level(const struct pit_channel *c, uint64_t now)
{
	uint64_t t = ticks_since(c, now);

	if (!c->start)
		return c->mode != 0;	/* mode 0 OUT starts low; the others high */
	switch (c->mode) {
	case 0:
	case 1:
		return t >= c->reload;
	case 2:
		return t % c->reload != c->reload - 1;
	case 3:
		return t % c->reload < (c->reload + 1) / 2;
	default:
		return t != c->reload;	/* 4, 5: one low tick at terminal count */
	}
}

/* Host TSC of channel 0's next rising OUT edge after now, or 0 if none comes. */
static uint64_t next_irq_edge(const struct pit_channel *c, uint64_t now)
{
	uint64_t t = ticks_since(c, now), n, period;

	if (!c->start)
		return 0;
	switch (c->mode) {
	case 0:
	case 1:
		/* OUT rises at terminal count and stays high. */
		return t < c->reload ? tsc_after_ticks(c, c->reload) : 0;
	case 4:
	case 5:
		/* OUT is low for the one tick after terminal count, then rises again. */
		return t <= c->reload ? tsc_after_ticks(c, c->reload + 1) : 0;
	case 2:
	case 3:
		period = c->reload < MIN_IRQ_TICKS ? MIN_IRQ_TICKS : c->reload;
		n = (t / period + 1) * period;
		return tsc_after_ticks(c, n);
	default:
		return 0;
	}
}

static void arm_irq(struct vdev_pit *p, uint64_t now)
{
	uint64_t edge = next_irq_edge(&p->ch[0], now);

	p->next_edge = edge;
	if (edge)
		ktimer_arm(&p->timer, edge);
	else
		ktimer_cancel(&p->timer);
}

static void pit_timer(struct ktimer *t)
{
	struct vdev_pit *p = (struct vdev_pit *)((char *)t - offsetof(struct vdev_pit, timer));
	uint64_t now = vtime_host_tsc();
	bool fire;

	spin_lock(&p->lock);
	fire = p->next_edge && now >= p->next_edge;
	if (fire) {
		p->irqs++;
		arm_irq(p, now);
	}
	spin_unlock(&p->lock);
	if (fire)
		vm_isa_irq_pulse(p->dev.vm, 0);
}

/* A count was written (or a gate rose): counting starts now. */
static void start_counting(struct vdev_pit *p, unsigned n, uint64_t now)
{
	struct pit_channel *c = &p->ch[n];

	c->held = false;
	c->start = c->gate || c->mode == 0 || c->mode == 2 || c->mode == 3 || c->mode == 4 ? now : 0;
	if (n == 2 && !c->gate)
		c->start = 0;	/* channel 2 waits for its gate (port 0x61 bit 0) */
	if (n == 0)
		arm_irq(p, now);
}

static void write_count(struct vdev_pit *p, unsigned n, uint8_t b, uint64_t now)
{
	struct pit_channel *c = &p->ch[n];
	uint32_t v;

	switch (c->access) {
	case 1:
		v = b;
		break;
	case 2:
		v = (uint32_t)b << 8;
		break;
	default:
		if (!c->write_msb) {
			c->pending_lsb = b;
			c->write_msb = true;
			if (c->mode == 0) {
				c->start = 0;	/* mode 0: the LSB write stops counting */
				c->held = false;
			}
			return;
		}
		c->write_msb = false;
		v = c->pending_lsb | ((uint32_t)b << 8);
	}
	c->reload = v ? v : 0x10000;
	start_counting(p, n, now);
}

static uint8_t read_count(struct pit_channel *c, uint64_t now)
{
	uint16_t v;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latched) {
		v = c->latch;
		if (c->access == 3)
			return (uint8_t)(--c->latched ? v : v >> 8);
		c->latched = 0;
		return (uint8_t)(c->access == 2 ? v >> 8 : v);
	}
	v = current_count(c, now);
	if (c->access == 1)
		return (uint8_t)v;
	if (c->access == 2)
		return (uint8_t)(v >> 8);
	c->read_msb = !c->read_msb;
	return (uint8_t)(c->read_msb ? v : v >> 8);
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->latched)
		return;		/* a second latch before the first is read is ignored */
	c->latch = current_count(c, now);
	c->latched = c->access == 3 ? 2 : 1;
}

static void control_word(struct vdev_pit *p, uint8_t v, uint64_t now)
{
	unsigned sel = v >> 6;
	struct pit_channel *c;

	if (sel == 3) {		/* read-back: bit 5 = no count latch, bit 4 = no status latch */
		for (unsigned n = 0; n < 3; n++) {
			if (!(v & (2U << n)))
				continue;
			c = &p->ch[n];
			if (!(v & 0x20))
				latch_count(c, now);
			if (!(v & 0x10) && !c->status_latched) {
				c->status = (uint8_t)((out_level(c, now) ? 0x80 : 0) |
						      (c->access << 4) | (c->mode << 1) | c->bcd);
				c->status_latched = true;
			}
		}
		return;
	}
	c = &p->ch[sel];
	if (!((v >> 4) & 3)) {
		latch_count(c, now);
		return;
	}
	c->access = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* 6 and 7 are 2 and 3 */
	c->bcd = v & 1;
	if (c->bcd && !p->warned_bcd) {
		p->warned_bcd = true;
		pr_warn("%s: BCD counting is not emulated; channel %u counts in binary\n",
			p->dev.vm->name, sel);
	}
	c->write_msb = c->read_msb = false;
	c->latched = 0;
	c->start = 0;		/* a control word stops the channel until a count comes */
	c->held = false;
	if (sel == 0)
		arm_irq(p, now);
}

/*
 * Channel 2's gate changed (8254 data sheet, per mode): in modes 0 and 4
 * a low gate pauses the count and a rising one resumes it where it was;
 * in modes 2 and 3 a low gate stops the count (OUT high) and a rising one
 * reloads it; in modes 1 and 5 a rising gate triggers a reload and a low
 * one changes nothing. Lock held.
 */
static void ch2_gate(struct vdev_pit *p, bool gate, uint64_t now)
{
	struct pit_channel *c = &p->ch[2];
	bool pausing_mode = c->mode == 0 || c->mode == 4;

	c->gate = gate;
	if (gate && pausing_mode && c->held) {
		uint64_t back = (c->held_ticks * tsc_hz() + PIT_HZ - 1) / PIT_HZ;

		c->held = false;
		c->start = now > back ? now - back : 1;
	} else if (gate) {
		start_counting(p, 2, now);
	} else if (pausing_mode && c->start) {
		c->held_ticks = ticks_since(c, now);
		c->held = true;
	} else if (!pausing_mode && c->mode != 1 && c->mode != 5) {
		c->start = 0;
	}
}

static uint32_t pit_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_pit *p = (struct vdev_pit *)d;
	unsigned long flags = spin_lock_irqsave(&p->lock);
	uint64_t now = vtime_host_tsc();
	uint8_t val;

	(void)v;
	(void)size;
	if (port == 0x61) {
		/* bit 5: OUT2; bit 4: refresh request, toggling every 15 us; bits 1:0 as written */
		val = (uint8_t)((p->ch[2].gate ? 1 : 0) | (p->speaker ? 2 : 0) |
				((now * 1000000 / tsc_hz() / 15) & 1 ? 0x10 : 0) |
				(out_level(&p->ch[2], now) ? 0x20 : 0));
	} else if (port == 0x43) {
		val = 0xff;	/* the control register is write-only */
	} else {
		val = read_count(&p->ch[port - 0x40], now);
	}
	spin_unlock_irqrestore(&p->lock, flags);
	return val;
}

static void pit_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_pit *p = (struct vdev_pit *)d;
	unsigned long flags = spin_lock_irqsave(&p->lock);
	uint64_t now = vtime_host_tsc();

	(void)v;
	(void)size;
	if (port == 0x61) {
		bool gate = val & 1;
		struct pit_channel *c = &p->ch[2];

		p->speaker = val & 2;
		if (gate != c->gate)
			ch2_gate(p, gate, now);
	} else if (port == 0x43) {
		control_word(p, (uint8_t)val, now);
	} else {
		write_count(p, port - 0x40, (uint8_t)val, now);
	}
	spin_unlock_irqrestore(&p->lock, flags);
}

static const struct vdev_pio_ops pit_ops = { .in = pit_in, .out = pit_out, .byte_wide = true };

static void pit_reset(struct vdev *d)
{
	struct vdev_pit *p = (struct vdev_pit *)d;
	unsigned long flags = spin_lock_irqsave(&p->lock);

	for (unsigned n = 0; n < 3; n++)
		p->ch[n] = (struct pit_channel){ .access = 3, .reload = 0x10000, .gate = n != 2 };
	p->speaker = false;
	p->next_edge = 0;
	ktimer_cancel(&p->timer);
	spin_unlock_irqrestore(&p->lock, flags);
}

static int pit_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_pit *p = (struct vdev_pit *)d;
	int err;

	(void)a;
	spin_init(&p->lock, "vpit");
	ktimer_init(&p->timer, pit_timer);
	if ((err = vdev_pio_register(d, 0x40, 4, &pit_ops, true)) < 0 ||
	    (err = vdev_pio_register(d, 0x61, 1, &pit_ops, true)) < 0)
		return err;
	return 0;
}

static void pit_destroy(struct vdev *d)
{
	ktimer_cancel(&((struct vdev_pit *)d)->timer);
}

static const struct vdev_type pit_type = {
	.name = "i8254", .size = sizeof(struct vdev_pit),
	.create = pit_create, .reset = pit_reset, .destroy = pit_destroy,
};
VDEV_TYPE(pit_type);
