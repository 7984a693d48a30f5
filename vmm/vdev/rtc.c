/*
 * The MC146818 real-time clock and CMOS memory (index port 0x70, data port
 * 0x71; bit 7 of the index is the PC's NMI mask, kept and otherwise
 * ignored).
 *
 * Time: the guest's clock is the host's wall clock (wallclock.h) plus an
 * offset the guest changes by setting the time (register B's SET bit
 * stops updates; clearing it starts the clock from the fields written).
 * Fields are presented in BCD or binary and 12- or 24-hour format as
 * register B says. Each second ends with the chip's update cycle (1984 us
 * with a 32.768 kHz time base), which update-in-progress (register A bit
 * 7) announces 244 us ahead: UIP is high from 244 us before the second
 * turns until the cycle is over, so a driver waiting for it to rise or to
 * fall always sees it, and the update-ended flag is raised as the cycle
 * ends. Clearing SET starts the clock just after an update.
 *
 * Interrupts on ISA IRQ 8: periodic (rate from register A), alarm (with
 * "don't care" fields 0xc0-0xff) and update-ended, each enabled in
 * register B and flagged in register C, which a read clears together
 * with IRQF. A host one-shot timer is armed only while an enabled source
 * can fire: for the periodic rate, or for the next second.
 *
 * CMOS memory (0x0e-0x7f) survives a VM reset, as battery-backed memory
 * does; the firmware fields a PC BIOS leaves there are filled in at VM
 * creation: equipment, base and extended memory sizes (0x15-0x18,
 * 0x30-0x31), memory above 16 MiB (0x34-0x35) and above 4 GiB (0x5b-0x5d,
 * QEMU's layout), the century (0x32).
 *
 * Locking: r->lock (irqsave; the timer runs in interrupt context).
 */
#include <vmkernel/caltime.h>
#include <vmm/vtime.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmkernel/wallclock.h>
#include <vmm/guest_mem.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vm.h>

#define REG_A		0x0a
#define REG_B		0x0b
#define REG_C		0x0c
#define REG_D		0x0d
#define A_UIP		0x80
#define B_SET		0x80
#define B_PIE		0x40
#define B_AIE		0x20
#define B_UIE		0x10
#define B_BINARY	0x04
#define B_24H		0x02
#define C_IRQF		0x80
#define C_PF		0x40
#define C_AF		0x20
#define C_UF		0x10
#define UIP_NS		244000ULL	/* UIP rises this long before an update cycle */
#define UPDATE_NS	1984000ULL	/* the update cycle, 32.768 kHz time base (MC146818A) */

struct vdev_rtc {
	struct vdev dev;
	struct spinlock lock;
	uint8_t index;
	uint8_t nmi_mask;
	uint8_t cmos[128];	/* registers 0x0a-0x0d and CMOS memory; time fields unused */
	uint8_t alarm[3];	/* seconds, minutes, hours alarm, as written */
	int64_t offset_ns;	/* guest time = host wall clock + offset */
	struct caltime set;	/* the fields written while SET is on */
	uint64_t frozen_ns;	/* guest time when SET went on */
	struct ktimer timer;
	uint64_t next_period;	/* host TSC of the next periodic flag, 0 = none */
	uint64_t last_second;	/* guest second of the last update-ended check */
	bool irq_level;
	uint64_t irqs;		/* statistics */
};

static uint64_t guest_ns(const struct vdev_rtc *r)
{
	if (r->cmos[REG_B] & B_SET)
		return r->frozen_ns;
	return (uint64_t)((int64_t)wallclock_ns() + r->offset_ns);
}

/* The second whose update cycle has ended: the clock's seconds, UPDATE_NS late. */
static uint64_t updated_second(const struct vdev_rtc *r)
{
	return (guest_ns(r) - UPDATE_NS) / 1000000000ULL;
}

/* Periodic interrupt rate (register A bits 3:0) as a period in host TSC ticks; 0 = off. */
static uint64_t period_tsc(const struct vdev_rtc *r)
{
	unsigned rate = r->cmos[REG_A] & 0xf;
	uint64_t hz;

	if (!rate)
		return 0;
	hz = rate <= 2 ? (rate == 1 ? 256 : 128) : 32768U >> (rate - 1);
	return tsc_hz() / hz;
}

static uint8_t encode(const struct vdev_rtc *r, unsigned v)
{
	return r->cmos[REG_B] & B_BINARY ? (uint8_t)v : bcd_from_bin(v);
}

static unsigned decode(const struct vdev_rtc *r, uint8_t v)
{
	return r->cmos[REG_B] & B_BINARY ? v : bin_from_bcd(v);
}

static uint8_t encode_hour(const struct vdev_rtc *r, unsigned h)
{
	if (r->cmos[REG_B] & B_24H)
		return encode(r, h);
	return (uint8_t)(encode(r, h % 12 ? h % 12 : 12) | (h >= 12 ? 0x80 : 0));
}

static unsigned decode_hour(const struct vdev_rtc *r, uint8_t v)
{
	unsigned h;

	if (r->cmos[REG_B] & B_24H)
		return decode(r, v);
	h = decode(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

static bool alarm_matches(const struct vdev_rtc *r, const struct caltime *t)
{
	const unsigned now[3] = { t->sec, t->min, t->hour };

	for (int i = 0; i < 3; i++) {
		uint8_t a = r->alarm[i];

		if ((a & 0xc0) == 0xc0)
			continue;	/* don't care */
		if ((i == 2 ? decode_hour(r, a) : decode(r, a)) != now[i])
			return false;
	}
	return true;
}

/* Raise flags for whatever happened up to now and drive IRQ 8. Lock held. */
static void update_flags(struct vdev_rtc *r, uint64_t now)
{
	uint8_t *c = &r->cmos[REG_C], b = r->cmos[REG_B];
	uint64_t secs = updated_second(r);
	bool level;

	if (r->next_period && now >= r->next_period) {
		uint64_t p = period_tsc(r);

		*c |= C_PF;
		r->next_period = p ? now + p - (now - r->next_period) % p : 0;
	}
	if (!(b & B_SET) && secs != r->last_second) {
		struct caltime t;

		r->last_second = secs;
		*c |= C_UF;
		caltime_from_epoch(secs, &t);
		if (alarm_matches(r, &t))
			*c |= C_AF;
	}
	if (((*c & C_PF) && (b & B_PIE)) || ((*c & C_AF) && (b & B_AIE)) ||
	    ((*c & C_UF) && (b & B_UIE)))
		*c |= C_IRQF;
	level = *c & C_IRQF;
	if (level != r->irq_level) {
		r->irq_level = level;
		if (level)
			r->irqs++;
		vm_isa_irq(r->dev.vm, 8, level);
	}
}

/* Arm the host timer for the next moment an enabled source fires. Lock held. */
static void arm(struct vdev_rtc *r, uint64_t now)
{
	uint64_t next = 0;

	if ((r->cmos[REG_B] & B_PIE) && r->next_period)
		next = r->next_period;
	if ((r->cmos[REG_B] & (B_AIE | B_UIE)) && !(r->cmos[REG_B] & B_SET)) {
		uint64_t ns = guest_ns(r) - UPDATE_NS, to_next = 1000000000ULL - ns % 1000000000ULL;
		uint64_t sec = now + to_next * tsc_hz() / 1000000000ULL + 1;

		if (!next || sec < next)
			next = sec;
	}
	if (next)
		ktimer_arm(&r->timer, next);
	else
		ktimer_cancel(&r->timer);
}

static void rtc_timer(struct ktimer *t)
{
	struct vdev_rtc *r = (struct vdev_rtc *)((char *)t - offsetof(struct vdev_rtc, timer));
	uint64_t now = vtime_host_tsc();

	spin_lock(&r->lock);
	update_flags(r, now);
	arm(r, now);
	spin_unlock(&r->lock);
}

static uint8_t read_reg(struct vdev_rtc *r, uint8_t idx, uint64_t now)
{
	struct caltime t;
	uint64_t ns = guest_ns(r);
	uint8_t v;

	if (r->cmos[REG_B] & B_SET)
		t = r->set;
	else
		caltime_from_epoch(ns / 1000000000ULL, &t);
	switch (idx) {
	case 0x00: return encode(r, t.sec);
	case 0x01: return r->alarm[0];
	case 0x02: return encode(r, t.min);
	case 0x03: return r->alarm[1];
	case 0x04: return encode_hour(r, t.hour);
	case 0x05: return r->alarm[2];
	case 0x06: return encode(r, t.wday);
	case 0x07: return encode(r, t.day);
	case 0x08: return encode(r, t.month);
	case 0x09: return encode(r, t.year % 100);
	case 0x32: return encode(r, t.year / 100);
	case REG_A:
		v = r->cmos[REG_A] & 0x7f;
		if (!(r->cmos[REG_B] & B_SET) &&
		    (ns + UIP_NS) % 1000000000ULL < UIP_NS + UPDATE_NS)
			v |= A_UIP;
		return v;
	case REG_C:
		update_flags(r, now);
		v = r->cmos[REG_C];
		r->cmos[REG_C] = 0;	/* reading C clears every flag and IRQF */
		update_flags(r, now);
		return v;
	case REG_D:
		return 0x80;		/* valid RAM and time */
	default:
		return r->cmos[idx];
	}
}

/* SET cleared: the guest's clock runs from the fields it wrote. */
static void set_time_from_fields(struct vdev_rtc *r)
{
	if (!caltime_valid(&r->set))
		return;		/* nonsense fields: keep the old time */
	r->offset_ns = (int64_t)(caltime_to_epoch(&r->set) * 1000000000ULL + UPDATE_NS) -
		       (int64_t)wallclock_ns();
	r->last_second = updated_second(r);	/* that second's update is done */
}

static void write_reg(struct vdev_rtc *r, uint8_t idx, uint8_t val, uint64_t now)
{
	uint8_t old_b = r->cmos[REG_B];

	switch (idx) {
	case 0x00: r->set.sec = decode(r, val); break;
	case 0x01: r->alarm[0] = val; break;
	case 0x02: r->set.min = decode(r, val); break;
	case 0x03: r->alarm[1] = val; break;
	case 0x04: r->set.hour = decode_hour(r, val); break;
	case 0x05: r->alarm[2] = val; break;
	case 0x06: r->set.wday = decode(r, val); break;
	case 0x07: r->set.day = decode(r, val); break;
	case 0x08: r->set.month = decode(r, val); break;
	case 0x09: r->set.year = r->set.year / 100 * 100 + decode(r, val); break;
	case 0x32: r->set.year = decode(r, val) * 100 + r->set.year % 100; break;
	case REG_A:
		r->cmos[REG_A] = val & 0x7f;	/* UIP is read-only */
		r->next_period = period_tsc(r) ? now + period_tsc(r) : 0;
		break;
	case REG_B:
		if ((val & B_SET) && !(old_b & B_SET)) {
			r->frozen_ns = guest_ns(r);
			caltime_from_epoch(r->frozen_ns / 1000000000ULL, &r->set);
		}
		r->cmos[REG_B] = val;
		if (!(val & B_SET) && (old_b & B_SET))
			set_time_from_fields(r);
		break;
	case REG_C:
	case REG_D:
		break;		/* read-only */
	default:
		r->cmos[idx] = val;
	}
	if (idx <= 0x09 || idx == 0x32)
		return;
	update_flags(r, now);
	arm(r, now);
}

static uint32_t rtc_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_rtc *r = (struct vdev_rtc *)d;
	unsigned long flags = spin_lock_irqsave(&r->lock);
	uint8_t val = port == 0x70 ? 0xff : read_reg(r, r->index, vtime_host_tsc());

	(void)v;
	(void)size;
	spin_unlock_irqrestore(&r->lock, flags);
	return val;
}

static void rtc_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_rtc *r = (struct vdev_rtc *)d;
	unsigned long flags = spin_lock_irqsave(&r->lock);

	(void)v;
	(void)size;
	if (port == 0x70) {
		r->index = val & 0x7f;
		r->nmi_mask = val & 0x80;
	} else {
		write_reg(r, r->index, (uint8_t)val, vtime_host_tsc());
	}
	spin_unlock_irqrestore(&r->lock, flags);
}

static const struct vdev_pio_ops rtc_ops = { .in = rtc_in, .out = rtc_out, .byte_wide = true };

/* What firmware leaves in CMOS memory about the machine (set once, at creation). */
static void firmware_fields(struct vdev_rtc *r)
{
	uint64_t mem = r->dev.vm->ram_size, kb, above16, above4g;

	r->cmos[0x14] = 0x06;		/* equipment: FPU, video EGA/VGA, no floppy */
	r->cmos[0x15] = 640 & 0xff;	/* base memory: 640 KiB */
	r->cmos[0x16] = 640 >> 8;
	kb = mem > (1 << 20) ? (mem - (1 << 20)) >> 10 : 0;
	if (kb > 0xfc00)
		kb = 0xfc00;		/* 1..64 MiB, in KiB */
	r->cmos[0x17] = r->cmos[0x30] = (uint8_t)kb;
	r->cmos[0x18] = r->cmos[0x31] = (uint8_t)(kb >> 8);
	above16 = mem > (16 << 20) ? (vm_low_ram_end(r->dev.vm) - (16 << 20)) >> 16 : 0;
	if (above16 > 0xffff)
		above16 = 0xffff;
	r->cmos[0x34] = (uint8_t)above16;
	r->cmos[0x35] = (uint8_t)(above16 >> 8);
	above4g = vm_high_ram_size(r->dev.vm) >> 16;
	r->cmos[0x5b] = (uint8_t)above4g;
	r->cmos[0x5c] = (uint8_t)(above4g >> 8);
	r->cmos[0x5d] = (uint8_t)(above4g >> 16);
}

/* A reset leaves the clock and CMOS memory alone, as on a PC; it disables the interrupts. */
static void rtc_reset(struct vdev *d)
{
	struct vdev_rtc *r = (struct vdev_rtc *)d;
	unsigned long flags = spin_lock_irqsave(&r->lock);

	r->cmos[REG_A] = 0x26;		/* 32.768 kHz time base, 1024 Hz periodic rate */
	r->cmos[REG_B] = (r->cmos[REG_B] & (B_BINARY | B_24H)) | 0;
	r->cmos[REG_C] = 0;
	r->next_period = 0;
	update_flags(r, vtime_host_tsc());
	ktimer_cancel(&r->timer);
	spin_unlock_irqrestore(&r->lock, flags);
}

static int rtc_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_rtc *r = (struct vdev_rtc *)d;
	int err;

	(void)a;
	spin_init(&r->lock, "vrtc");
	ktimer_init(&r->timer, rtc_timer);
	r->cmos[REG_B] = B_24H;		/* BCD, 24-hour: what PC firmware sets */
	firmware_fields(r);
	r->last_second = updated_second(r);
	err = vdev_pio_register(d, 0x70, 2, &rtc_ops, true);
	return err < 0 ? err : 0;
}

static void rtc_destroy(struct vdev *d)
{
	ktimer_cancel(&((struct vdev_rtc *)d)->timer);
}

static size_t rtc_save(const struct vdev *d, void *buf, size_t len)
{
	const struct vdev_rtc *r = (const struct vdev_rtc *)d;

	if (len >= sizeof(r->cmos))
		__builtin_memcpy(buf, r->cmos, sizeof(r->cmos));
	return sizeof(r->cmos);
}

static const struct vdev_type rtc_type = {
	.name = "mc146818", .size = sizeof(struct vdev_rtc), .create = rtc_create,
	.reset = rtc_reset, .destroy = rtc_destroy, .save = rtc_save,
};
VDEV_TYPE(rtc_type);
