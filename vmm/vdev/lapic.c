/*
 * The local APIC of a vCPU: registers, interrupt acceptance and priority,
 * IPIs, and the timer (see include/vmm/vlapic.h for the model).
 *
 * Priority (SDM 3A 11.8.3): PPR is TPR if TPR's class (bits 7:4) is at
 * least the class of the highest vector in service, else that class. A
 * pending vector is delivered only if its class is above PPR's. EOI
 * retires the highest vector in service; if it was level-triggered (its
 * TMR bit), the IOAPIC hears of it and clears remote IRR on its pins.
 *
 * Timer (SDM 3A 11.5.4): one-shot, periodic and TSC-deadline modes run on
 * a host one-shot timer at the expiry, never on a tick. The input clock is
 * the guest TSC rate (CPUID leaf 0x15 tells the guest so), divided by
 * TDCR. The current count is computed from the expiry when read. A
 * periodic timer keeps its phase; if the vCPU could not take expiries for
 * a while, the missed ones are folded into one (as a guest tolerates when
 * it was not scheduled), never delivered as a burst.
 *
 * Software enable (SVR bit 8) and hardware enable (IA32_APIC_BASE.EN)
 * gate acceptance of fixed interrupts; NMI, INIT and SIPI are accepted as
 * long as the APIC is hardware-enabled.
 *
 * Errors (SDM 3A 11.5.3: illegal vectors sent or received, illegal
 * register addresses) are collected for the next ESR write and each one
 * raises the error interrupt through the LVT error entry unless masked.
 */
#define pr_fmt(fmt) "vlapic: " fmt
#include <errno.h>
#include <string.h>
#include <vmm/vtime.h>
#include <vmkernel/log.h>
#include <vmkernel/timer.h>
#include <vmm/guest_mem.h>
#include <vmm/vcpu.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include <vmm/vm.h>

#define APIC_VERSION_VAL	(0x14U | (5U << 16))	/* integrated APIC, 6 LVT entries */
#define ESR_SEND_ILLEGAL	(1U << 5)
#define ESR_RECV_ILLEGAL	(1U << 6)
#define ESR_ILLEGAL_REG		(1U << 7)
#define MIN_PERIOD_US		200	/* shortest periodic timer period (as the PIT's) */

static uint32_t reg(const struct vlapic *l, uint32_t off)
{
	return __atomic_load_n(&l->regs[off / 4], __ATOMIC_RELAXED);
}

static void set_reg(struct vlapic *l, uint32_t off, uint32_t val)
{
	__atomic_store_n(&l->regs[off / 4], val, __ATOMIC_RELAXED);
}

static bool vec_test(const struct vlapic *l, uint32_t base, uint8_t vec)
{
	return reg(l, APIC_VEC_REG(base, vec)) & APIC_VEC_BIT(vec);
}

static void vec_set(struct vlapic *l, uint32_t base, uint8_t vec)
{
	__atomic_fetch_or(&l->regs[APIC_VEC_REG(base, vec) / 4], APIC_VEC_BIT(vec),
			  __ATOMIC_SEQ_CST);
}

static void vec_clear(struct vlapic *l, uint32_t base, uint8_t vec)
{
	__atomic_fetch_and(&l->regs[APIC_VEC_REG(base, vec) / 4], ~APIC_VEC_BIT(vec),
			   __ATOMIC_SEQ_CST);
}

/* Highest set vector in a 256-bit register (ISR, IRR, TMR), or -1. */
static int vec_highest(const struct vlapic *l, uint32_t base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = reg(l, base + 0x10 * (uint32_t)i);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

bool vlapic_hw_enabled(const struct vlapic *l)
{
	return l->apic_base & APIC_BASE_ENABLE;
}

static bool sw_enabled(const struct vlapic *l)
{
	return vlapic_hw_enabled(l) && (reg(l, APIC_SVR) & APIC_SVR_ENABLE);
}

bool vlapic_x2apic(const struct vlapic *l)
{
	return (l->apic_base & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) ==
	       (APIC_BASE_ENABLE | APIC_BASE_EXTD);
}

uint32_t vlapic_id(const struct vlapic *l)
{
	return vlapic_x2apic(l) ? reg(l, APIC_ID) : reg(l, APIC_ID) >> 24;
}

static void update_ppr(struct vlapic *l)
{
	uint32_t tpr = reg(l, APIC_TPR) & 0xff;
	int isrv = vec_highest(l, APIC_ISR);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	set_reg(l, APIC_PPR, (tpr & 0xf0) >= isr_class ? tpr : isr_class);
}

bool vlapic_merge_posted(struct vlapic *l)
{
	bool any = false;

	if (!__atomic_load_n(&l->posted, __ATOMIC_ACQUIRE) ||
	    !__atomic_exchange_n(&l->posted, false, __ATOMIC_SEQ_CST))
		return false;
	for (unsigned i = 0; i < 8; i++) {
		uint32_t w = __atomic_exchange_n(&l->pir[i], 0, __ATOMIC_SEQ_CST);

		if (w) {
			__atomic_fetch_or(&l->regs[(APIC_IRR + 0x10 * i) / 4], w, __ATOMIC_SEQ_CST);
			any = true;
		}
	}
	return any;
}

/* The CPU kept ISR, IRR and PPR in the page under APIC virtualization: recompute PPR. */
void vlapic_sync_after_apicv(struct vlapic *l)
{
	vlapic_merge_posted(l);
	update_ppr(l);
}

uint8_t vlapic_ppr(const struct vlapic *l)
{
	return (uint8_t)reg(l, APIC_PPR);
}

/* ---- timer ---- */

static uint32_t timer_divisor(const struct vlapic *l)
{
	uint32_t d = reg(l, APIC_TDCR);
	uint32_t shift = ((d & 3) | ((d >> 1) & 4)) + 1;	/* bits 0,1,3 */

	return shift == 8 ? 1 : 1U << shift;
}

/* Host TSC ticks for `count` timer ticks. */
static uint64_t count_to_tsc(const struct vlapic *l, uint64_t count)
{
	return count * timer_divisor(l) * tsc_hz() / l->timer_hz;
}

static void timer_arm_locked(struct vlapic *l, uint64_t deadline)
{
	l->timer_deadline = deadline;
	if (deadline)
		ktimer_arm(&l->timer, deadline);
	else
		ktimer_cancel(&l->timer);
}

/* Raise the timer interrupt if the LVT lets it through. */
static void timer_deliver(struct vlapic *l)
{
	uint32_t lvt = reg(l, APIC_LVT_TIMER);
	struct apic_msg m = { .delivery = APIC_DM_FIXED, .vector = (uint8_t)lvt };

	l->timer_fires++;
	if (!(lvt & APIC_LVT_MASKED))
		vlapic_accept(l, &m);
}

/* Expiry: deliver, and in periodic mode schedule the next one (missed periods fold into one). */
static void timer_expired_locked(struct vlapic *l, uint64_t now)
{
	uint32_t mode = l->timer_mode;

	if (!l->timer_deadline || now < l->timer_deadline)
		return;		/* stale: cancelled or moved since it was armed */
	timer_deliver(l);
	if (mode == APIC_TIMER_PERIODIC && l->timer_period) {
		uint64_t next = l->timer_deadline + l->timer_period;

		if (next <= now)
			next = now + l->timer_period - (now - l->timer_deadline) % l->timer_period;
		l->timer_start = next - l->timer_period;
		timer_arm_locked(l, next);
	} else {
		l->timer_deadline = 0;
		if (mode == APIC_TIMER_TSCDEADLINE)
			l->tsc_deadline = 0;
	}
}

static void timer_fire(struct ktimer *t)
{
	struct vlapic *l = (struct vlapic *)((char *)t - offsetof(struct vlapic, timer));

	spin_lock(&l->lock);
	timer_expired_locked(l, vtime_host_tsc());
	spin_unlock(&l->lock);
}

/* Host TSC ticks of one period of the initial count, no shorter than MIN_PERIOD_US. */
static uint64_t timer_period_span(const struct vlapic *l)
{
	uint64_t span = count_to_tsc(l, reg(l, APIC_TMICT));

	if (span < tsc_hz() / 1000000 * MIN_PERIOD_US)
		span = tsc_hz() / 1000000 * MIN_PERIOD_US;
	return span;
}

/* TMICT written: start counting from now (not in TSC-deadline mode, which ignores TMICT). */
static void timer_start(struct vlapic *l)
{
	uint32_t icr = reg(l, APIC_TMICT);
	unsigned long flags = spin_lock_irqsave(&l->lock);
	uint64_t now = vtime_host_tsc();

	l->timer_period = 0;
	if (!icr) {
		timer_arm_locked(l, 0);
	} else {
		uint64_t span = count_to_tsc(l, icr);

		if (l->timer_mode == APIC_TIMER_PERIODIC)
			span = l->timer_period = timer_period_span(l);
		l->timer_start = now;
		timer_arm_locked(l, now + (span ? span : 1));
	}
	spin_unlock_irqrestore(&l->lock, flags);
}

/*
 * The timer LVT was written (SDM 3A 11.5.4, 11.5.4.1): that never starts
 * or restarts the count, masked or not. A move into or out of TSC-deadline
 * mode disarms the timer; between one-shot and periodic, the count runs on
 * and the new mode decides what happens when it reaches zero. The mode is
 * tracked in l->timer_mode because under APIC-register virtualization the
 * page already holds the new LVT when we hear of the write.
 */
static void timer_lvt_written(struct vlapic *l, uint32_t lvt)
{
	uint8_t mode = (uint8_t)APIC_TIMER_MODE(lvt), was;
	unsigned long flags = spin_lock_irqsave(&l->lock);

	was = l->timer_mode;
	l->timer_mode = mode;
	if (was != mode && (was == APIC_TIMER_TSCDEADLINE || mode == APIC_TIMER_TSCDEADLINE)) {
		timer_arm_locked(l, 0);
		l->timer_period = 0;
		l->tsc_deadline = 0;
		set_reg(l, APIC_TMICT, 0);
	} else if (was != mode) {
		l->timer_period = mode == APIC_TIMER_PERIODIC ? timer_period_span(l) : 0;
	}
	spin_unlock_irqrestore(&l->lock, flags);
}

static uint32_t timer_current_count(struct vlapic *l)
{
	unsigned long flags = spin_lock_irqsave(&l->lock);
	uint64_t now = vtime_host_tsc(), left, per;
	uint32_t val = 0;

	if (l->timer_deadline && l->timer_mode != APIC_TIMER_TSCDEADLINE) {
		if (l->timer_deadline > now)
			left = l->timer_deadline - now;
		else if (l->timer_mode == APIC_TIMER_PERIODIC && l->timer_period)
			/* expired, reload not yet processed: the count has wrapped */
			left = l->timer_period - (now - l->timer_deadline) % l->timer_period;
		else
			left = 0;
		per = count_to_tsc(l, 1);
		val = (uint32_t)(per ? left / per : 0);
		if (val > reg(l, APIC_TMICT))
			val = reg(l, APIC_TMICT);
	}
	spin_unlock_irqrestore(&l->lock, flags);
	return val;
}

uint64_t vlapic_get_tsc_deadline(const struct vlapic *l)
{
	return l->tsc_deadline;
}

void vlapic_set_tsc_deadline(struct vlapic *l, uint64_t guest_tsc)
{
	unsigned long flags;

	if (l->timer_mode != APIC_TIMER_TSCDEADLINE)
		return;		/* SDM: ignored outside TSC-deadline mode */
	flags = spin_lock_irqsave(&l->lock);
	l->tsc_deadline = guest_tsc;
	if (!guest_tsc) {
		timer_arm_locked(l, 0);
	} else {
		uint64_t host = guest_tsc - (uint64_t)l->v->vm->tsc_offset;

		/* A deadline already passed fires at once. */
		timer_arm_locked(l, (int64_t)(host - vtime_host_tsc()) <= 0 ? vtime_host_tsc() : host);
	}
	spin_unlock_irqrestore(&l->lock, flags);
}

uint64_t vlapic_timer_deadline(struct vlapic *l)
{
	return __atomic_load_n(&l->timer_deadline, __ATOMIC_RELAXED);
}

/* ---- acceptance ---- */

static void kick(struct vlapic *l)
{
	vcpu_kick(l->v);
}

/*
 * An APIC error: the ESR bits are latched at the next ESR write, and the
 * LVT error entry's vector is raised unless the entry is masked. An
 * illegal vector in that entry is itself a receive error, not delivered.
 */
static void lapic_error(struct vlapic *l, uint32_t bits)
{
	uint32_t lvt = reg(l, APIC_LVT_ERROR);
	struct apic_msg m = { .delivery = APIC_DM_FIXED, .vector = (uint8_t)lvt };

	if (!(lvt & APIC_LVT_MASKED) && m.vector < 16)
		bits |= ESR_RECV_ILLEGAL;
	__atomic_fetch_or(&l->esr_pending, bits, __ATOMIC_RELAXED);
	if (!(lvt & APIC_LVT_MASKED) && m.vector >= 16)
		vlapic_accept(l, &m);
}

void vlapic_accept(struct vlapic *l, const struct apic_msg *m)
{
	unsigned long flags;

	if (!vlapic_hw_enabled(l))
		return;
	switch (m->delivery) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!sw_enabled(l))
			return;
		if (m->vector < 16) {
			lapic_error(l, ESR_RECV_ILLEGAL);
			return;
		}
		if (m->level != vec_test(l, APIC_TMR, m->vector)) {
			if (m->level)
				vec_set(l, APIC_TMR, m->vector);
			else
				vec_clear(l, APIC_TMR, m->vector);
			__atomic_store_n(&l->tmr_changed, true, __ATOMIC_RELEASE);
		}
		/*
		 * A vector already pending (posted, or in IRR) gains nothing from
		 * another kick: the vCPU delivers it once it can, as a CPU merges
		 * repeated edges of one vector.
		 */
		if (__atomic_load_n(&l->hw_assist, __ATOMIC_ACQUIRE)) {
			uint32_t bit = 1U << (m->vector % 32);
			uint32_t old = __atomic_fetch_or(&l->pir[m->vector / 32], bit,
							 __ATOMIC_SEQ_CST);

			__atomic_store_n(&l->posted, true, __ATOMIC_SEQ_CST);
			if ((old & bit) || vec_test(l, APIC_IRR, m->vector))
				break;
		} else {
			if (vec_test(l, APIC_IRR, m->vector))
				break;
			vec_set(l, APIC_IRR, m->vector);
		}
		kick(l);
		break;
	case APIC_DM_NMI:
		__atomic_store_n(&l->nmi_pending, true, __ATOMIC_RELEASE);
		kick(l);
		break;
	case APIC_DM_INIT:
		if (m->level && !m->assert)
			return;		/* INIT level de-assert: no effect on modern CPUs */
		flags = spin_lock_irqsave(&l->lock);
		l->init_pending = true;
		l->sipi_pending = false;	/* an INIT cancels a start-up not yet taken */
		spin_unlock_irqrestore(&l->lock, flags);
		kick(l);
		break;
	case APIC_DM_STARTUP:
		/* Only a CPU in (or just sent into) wait-for-SIPI starts; once per INIT. */
		flags = spin_lock_irqsave(&l->lock);
		if ((l->run_state == VLAPIC_WAIT_SIPI || l->init_pending) && !l->sipi_pending) {
			l->sipi_vector = m->vector;
			l->sipi_pending = true;
		}
		spin_unlock_irqrestore(&l->lock, flags);
		kick(l);
		break;
	case APIC_DM_EXTINT:
		kick(l);	/* the vCPU asks the PIC for the vector */
		break;
	default:
		break;		/* SMI: there is no SMM */
	}
}

/*
 * The vCPU takes its INIT and start-up signals in arrival order: a pending
 * INIT puts it in wait-for-SIPI (and is gone); then a SIPI that came after
 * it starts the vCPU at its vector. Both under l->lock, as accept() is.
 */
bool vlapic_take_init(struct vlapic *l)
{
	unsigned long flags = spin_lock_irqsave(&l->lock);
	bool init = l->init_pending;

	if (init) {
		l->init_pending = false;
		l->run_state = VLAPIC_WAIT_SIPI;
	}
	spin_unlock_irqrestore(&l->lock, flags);
	return init;
}

int vlapic_take_sipi(struct vlapic *l)
{
	unsigned long flags = spin_lock_irqsave(&l->lock);
	int vec = -1;

	if (l->run_state == VLAPIC_WAIT_SIPI && !l->init_pending && l->sipi_pending) {
		vec = l->sipi_vector;
		l->sipi_pending = false;
		l->run_state = VLAPIC_RUNNING;
	}
	spin_unlock_irqrestore(&l->lock, flags);
	return vec;
}

/* x2APIC logical ID: cluster in bits 31:16, one bit of 16 in 15:0 (SDM 3A 10.12.10.2). */
static uint32_t x2apic_ldr(uint32_t id)
{
	return ((id >> 4) << 16) | (1U << (id & 0xf));
}

static bool match_logical(const struct vlapic *l, uint32_t dest, bool x2)
{
	uint32_t ldr = reg(l, APIC_LDR);

	if (x2) {
		if (dest == 0xffffffffU)
			return true;
		return (ldr >> 16) == (dest >> 16) && (ldr & dest & 0xffff);
	}
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	ldr >>= 24;
	if ((reg(l, APIC_DFR) >> 28) == 0xf)		/* flat model */
		return ldr & dest;
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);	/* cluster model */
}

bool vlapic_match(const struct vlapic *l, const struct apic_msg *m, const struct vlapic *src)
{
	bool x2 = m->x2apic || vlapic_x2apic(l);

	switch (m->shorthand) {
	case 1:
		return l == src;
	case 2:
		return true;
	case 3:
		return l != src;
	}
	if (m->logical)
		return match_logical(l, m->dest, x2);
	if (x2 ? m->dest == 0xffffffffU : (m->dest & 0xff) == 0xff)
		return true;
	return vlapic_id(l) == (x2 ? m->dest : (m->dest & 0xff));
}

/* ---- delivery to the vCPU ---- */

int vlapic_pending_irq(const struct vlapic *l)
{
	int v = vec_highest(l, APIC_IRR);

	if (v < 0 || !sw_enabled(l))
		return -1;
	return ((unsigned)v & 0xf0) > (reg(l, APIC_PPR) & 0xf0) ? v : -1;
}

void vlapic_ack_irq(struct vlapic *l, uint8_t vector)
{
	vec_clear(l, APIC_IRR, vector);
	vec_set(l, APIC_ISR, vector);
	update_ppr(l);
}

int vlapic_highest_irr(const struct vlapic *l)
{
	return sw_enabled(l) ? vec_highest(l, APIC_IRR) : -1;
}

void vlapic_eoi_vector(struct vlapic *l, uint8_t vector)
{
	vm_irq_eoi(l->v->vm, vector);
}

static void do_eoi(struct vlapic *l)
{
	int v = vec_highest(l, APIC_ISR);

	if (v < 0)
		return;
	vec_clear(l, APIC_ISR, (uint8_t)v);
	update_ppr(l);
	if (vec_test(l, APIC_TMR, (uint8_t)v))
		vm_irq_eoi(l->v->vm, (uint8_t)v);
}

bool vlapic_accepts_extint(const struct vlapic *l)
{
	uint32_t lint0 = reg(l, APIC_LVT_LINT0);

	if (!vlapic_hw_enabled(l))
		return true;	/* no APIC: INTR goes straight to the CPU */
	if (!sw_enabled(l))
		return true;	/* software-disabled: LINT0 behaves as in virtual-wire mode */
	return !(lint0 & APIC_LVT_MASKED) && ((lint0 >> 8) & 7) == APIC_DM_EXTINT;
}

uint8_t vlapic_get_cr8(const struct vlapic *l)
{
	return (uint8_t)((reg(l, APIC_TPR) >> 4) & 0xf);
}

void vlapic_set_cr8(struct vlapic *l, uint8_t cr8)
{
	set_reg(l, APIC_TPR, (uint32_t)(cr8 & 0xf) << 4);
	update_ppr(l);
}

/* ---- IPIs ---- */

static void send_ipi(struct vlapic *l, uint32_t lo, uint32_t hi)
{
	bool x2 = vlapic_x2apic(l);
	struct apic_msg m = {
		.dest = x2 ? hi : hi >> 24,
		.logical = lo & (1U << 11),
		.level = lo & (1U << 15),
		.assert = lo & (1U << 14),
		.delivery = (lo >> 8) & 7,
		.vector = (uint8_t)lo,
		.shorthand = (lo >> 18) & 3,
		.x2apic = x2,
	};

	if ((m.delivery == APIC_DM_FIXED || m.delivery == APIC_DM_LOWEST) && m.vector < 16) {
		lapic_error(l, ESR_SEND_ILLEGAL);
		return;
	}
	if (m.delivery == APIC_DM_STARTUP)
		m.level = false;
	vm_apic_send(l->v->vm, &m, l->v);
}

/* ---- register access ---- */

static bool lvt_reg(uint32_t off)
{
	return off == APIC_LVT_TIMER || off == APIC_LVT_THERM || off == APIC_LVT_PERF ||
	       off == APIC_LVT_LINT0 || off == APIC_LVT_LINT1 || off == APIC_LVT_ERROR ||
	       off == APIC_LVT_CMCI;
}

/* Writable bits of each LVT (SDM 3A figure 11-8). */
static uint32_t lvt_mask(uint32_t off)
{
	switch (off) {
	case APIC_LVT_TIMER:
		return 0x700ff;				/* vector, mask, mode */
	case APIC_LVT_LINT0:
	case APIC_LVT_LINT1:
		return 0x1a7ff;				/* vector, delivery, polarity, trigger, mask */
	case APIC_LVT_ERROR:
		return 0x100ff;
	default:
		return 0x107ff;				/* thermal, perf, CMCI */
	}
}

static bool readable(uint32_t off, bool x2)
{
	if ((off >= APIC_ISR && off < APIC_ISR + 0x180) || lvt_reg(off))
		return true;
	switch (off) {
	case APIC_ID: case APIC_VER: case APIC_TPR: case APIC_PPR: case APIC_LDR:
	case APIC_SVR: case APIC_ESR: case APIC_ICR_LO: case APIC_TMICT: case APIC_TMCCT:
	case APIC_TDCR:
		return true;
	case APIC_APR: case APIC_DFR: case APIC_ICR_HI:
		return !x2;
	}
	return false;
}

static uint32_t read_reg(struct vlapic *l, uint32_t off)
{
	if (off == APIC_TMCCT)
		return timer_current_count(l);
	if (off == APIC_ICR_LO)
		return reg(l, APIC_ICR_LO) & ~APIC_LVT_PENDING;	/* always delivered */
	return reg(l, off);
}

/* A guest write of val to register off. 0, or -1 for an illegal write (x2APIC: #GP). */
static int write_reg(struct vlapic *l, uint32_t off, uint32_t val, bool x2)
{
	if (lvt_reg(off)) {
		val &= lvt_mask(off);
		if (!sw_enabled(l))
			val |= APIC_LVT_MASKED;
		set_reg(l, off, val | (reg(l, off) & (APIC_LVT_REMOTE_IRR | APIC_LVT_PENDING)));
		if (off == APIC_LVT_TIMER)
			timer_lvt_written(l, val);
		return 0;
	}
	switch (off) {
	case APIC_ID:
		if (x2)
			return -1;
		set_reg(l, APIC_ID, val & 0xff000000U);
		return 0;
	case APIC_TPR:
		set_reg(l, APIC_TPR, val & 0xff);
		update_ppr(l);
		return 0;
	case APIC_EOI:
		if (x2 && val)
			return -1;
		do_eoi(l);
		return 0;
	case APIC_LDR:
		if (x2)
			return -1;
		set_reg(l, APIC_LDR, val & 0xff000000U);
		return 0;
	case APIC_DFR:
		if (x2)
			return -1;
		set_reg(l, APIC_DFR, val | 0x0fffffffU);
		return 0;
	case APIC_SVR:
		set_reg(l, APIC_SVR, val & 0x11ff);
		if (!(val & APIC_SVR_ENABLE)) {
			/* Software disable masks every LVT (SDM 3A 11.4.7.2). */
			for (uint32_t o = APIC_LVT_CMCI; o <= APIC_LVT_ERROR; o += 0x10) {
				if (lvt_reg(o))
					set_reg(l, o, reg(l, o) | APIC_LVT_MASKED);
			}
		}
		return 0;
	case APIC_ESR:
		if (x2 && val)
			return -1;
		/* A write latches the errors seen since the last one. */
		set_reg(l, APIC_ESR, __atomic_exchange_n(&l->esr_pending, 0, __ATOMIC_RELAXED));
		return 0;
	case APIC_ICR_LO:
		set_reg(l, APIC_ICR_LO, val & ~APIC_LVT_PENDING);
		send_ipi(l, val, reg(l, APIC_ICR_HI));
		return 0;
	case APIC_ICR_HI:
		if (x2)
			return -1;
		set_reg(l, APIC_ICR_HI, val & 0xff000000U);
		return 0;
	case APIC_TMICT:
		/* Ignored in TSC-deadline mode, where TMICT stays 0 (SDM 3A 11.5.4.1). */
		set_reg(l, APIC_TMICT, l->timer_mode == APIC_TIMER_TSCDEADLINE ? 0 : val);
		if (l->timer_mode != APIC_TIMER_TSCDEADLINE)
			timer_start(l);
		return 0;
	case APIC_TDCR:
		set_reg(l, APIC_TDCR, val & 0xb);
		return 0;
	case APIC_SELF_IPI:
		if (!x2)
			break;
		send_ipi(l, (val & 0xff) | (1U << 18), 0);
		return 0;
	}
	/* Read-only or reserved: ignored in xAPIC mode, #GP in x2APIC mode. */
	if (!x2)
		lapic_error(l, ESR_ILLEGAL_REG);
	return x2 ? -1 : 0;
}

int vlapic_mmio_read(struct vlapic *l, uint32_t off, unsigned size, uint64_t *val)
{
	uint32_t r = off & 0xff0;

	if (!vlapic_hw_enabled(l) || vlapic_x2apic(l)) {
		*val = ~0ULL;	/* the page is not decoded: reads float high */
		return 0;
	}
	/* Registers are 32 bits on 16-byte boundaries; narrower reads see part of one. */
	if ((off & 0xf) + size > 4 || !readable(r, false)) {
		*val = 0;
		return 0;
	}
	*val = (read_reg(l, r) >> (8 * (off & 3))) & (size >= 4 ? 0xffffffffULL :
						      (1ULL << (8 * size)) - 1);
	return 0;
}

int vlapic_mmio_write(struct vlapic *l, uint32_t off, unsigned size, uint64_t val)
{
	if (!vlapic_hw_enabled(l) || vlapic_x2apic(l))
		return 0;
	if ((off & 0xf) || size != 4)
		return 0;	/* only aligned 32-bit writes reach a register */
	return write_reg(l, off, (uint32_t)val, false) ? -EINVAL : 0;
}

int vlapic_rdmsr(struct vlapic *l, uint32_t msr, uint64_t *val)
{
	uint32_t off = (msr - 0x800) << 4;

	if (!vlapic_x2apic(l) || msr < 0x800 || msr > 0x8ff || !readable(off, true))
		return -1;
	if (off == APIC_ICR_LO)
		*val = ((uint64_t)reg(l, APIC_ICR_HI) << 32) | read_reg(l, APIC_ICR_LO);
	else
		*val = read_reg(l, off);
	return 0;
}

int vlapic_wrmsr(struct vlapic *l, uint32_t msr, uint64_t val)
{
	uint32_t off = (msr - 0x800) << 4;

	if (!vlapic_x2apic(l) || msr < 0x800 || msr > 0x8ff)
		return -1;
	if (off == APIC_ICR_LO) {
		set_reg(l, APIC_ICR_HI, (uint32_t)(val >> 32));
		return write_reg(l, APIC_ICR_LO, (uint32_t)val, true);
	}
	if (off != APIC_ICR_LO && (val >> 32))
		return -1;	/* reserved bits */
	return write_reg(l, off, (uint32_t)val, true);
}

int vlapic_write_trap(struct vlapic *l, uint32_t off)
{
	/* The CPU already stored the value in the page; act on it as a write. */
	return write_reg(l, off & 0xff0, reg(l, off & 0xff0), vlapic_x2apic(l));
}

uint64_t vlapic_get_base(const struct vlapic *l)
{
	return l->apic_base;
}

/* IA32_APIC_BASE writes: enable/disable and the xAPIC <-> x2APIC transitions (SDM 3A 11.12.5). */
int vlapic_set_base(struct vlapic *l, uint64_t val)
{
	uint64_t old = l->apic_base, en_extd = APIC_BASE_ENABLE | APIC_BASE_EXTD;
	uint64_t state = val & en_extd, old_state = old & en_extd;

	if ((val & ~(APIC_BASE_BSP | en_extd | 0xfffff000ULL)) || (val >> 36))
		return -1;
	if (state == APIC_BASE_EXTD ||					/* x2APIC, APIC off */
	    (old_state == en_extd && state == APIC_BASE_ENABLE) ||	/* x2APIC -> xAPIC */
	    (old_state == 0 && state == en_extd))			/* off -> x2APIC */
		return -1;
	if ((val & APIC_BASE_ENABLE) && (val & 0xfffff000ULL) != APIC_DEFAULT_BASE)
		return -2;	/* relocation: not supported (the caller stops the VM) */
	l->apic_base = (val & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
	if (!state)
		vlapic_reset(l, true);	/* a disabled APIC loses its state */
	else if (state == en_extd && old_state != en_extd) {
		set_reg(l, APIC_ID, l->initial_id);
		set_reg(l, APIC_LDR, x2apic_ldr(l->initial_id));
	}
	return 0;
}

/* ---- life cycle ---- */

/* Power-on or INIT state of the registers (SDM 3A 11.4.7.1); keep_base: INIT keeps IA32_APIC_BASE. */
void vlapic_reset(struct vlapic *l, bool keep_base)
{
	unsigned long flags = spin_lock_irqsave(&l->lock);

	timer_arm_locked(l, 0);
	l->timer_period = 0;
	l->tsc_deadline = 0;
	l->timer_mode = APIC_TIMER_ONESHOT;
	spin_unlock_irqrestore(&l->lock, flags);
	if (!keep_base)
		l->apic_base = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (l->apic_base & APIC_BASE_BSP);
	memset(l->regs, 0, 4096);
	for (unsigned i = 0; i < 8; i++)
		__atomic_store_n(&l->pir[i], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->posted, false, __ATOMIC_RELEASE);
	set_reg(l, APIC_ID, vlapic_x2apic(l) ? l->initial_id : l->initial_id << 24);
	set_reg(l, APIC_VER, APIC_VERSION_VAL);
	set_reg(l, APIC_DFR, 0xffffffffU);
	set_reg(l, APIC_SVR, 0xff);
	for (uint32_t o = APIC_LVT_CMCI; o <= APIC_LVT_ERROR; o += 0x10) {
		if (lvt_reg(o))
			set_reg(l, o, APIC_LVT_MASKED);
	}
	if (vlapic_x2apic(l))
		set_reg(l, APIC_LDR, x2apic_ldr(l->initial_id));
	__atomic_store_n(&l->esr_pending, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->nmi_pending, false, __ATOMIC_RELAXED);
}

int vlapic_init(struct vlapic *l, struct vcpu *v, uint32_t apic_id, bool bsp, uint64_t timer_hz)
{
	l->regs = vmm_page_alloc(&l->regs_pa);
	if (!l->regs)
		return -ENOMEM;
	l->v = v;
	l->timer_hz = timer_hz ? timer_hz : tsc_hz();
	spin_init(&l->lock, "vlapic");
	ktimer_init(&l->timer, timer_fire);
	l->initial_id = apic_id;
	l->apic_base = bsp ? APIC_BASE_BSP : 0;
	vlapic_reset(l, false);
	return 0;
}

void vlapic_destroy(struct vlapic *l)
{
	if (!l->regs)
		return;
	ktimer_cancel(&l->timer);
	vmm_page_free(l->regs, l->regs_pa);
	l->regs_pa = 0;
	l->regs = NULL;
}

/*
 * The xAPIC register page at 0xfee00000 on the VM's bus: an access goes
 * to the local APIC of the vCPU that makes it, as on real hardware.
 */
static int lapic_page_read(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size,
			   uint64_t *val)
{
	(void)d;
	return vlapic_mmio_read(&v->lapic, (uint32_t)(addr & 0xfff), size, val);
}

static int lapic_page_write(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size,
			    uint64_t val)
{
	(void)d;
	return vlapic_mmio_write(&v->lapic, (uint32_t)(addr & 0xfff), size, val);
}

static const struct vdev_mmio_ops lapic_page_ops = {
	.read = lapic_page_read, .write = lapic_page_write,
};

static int lapic_page_create(struct vdev *d, const struct vdev_args *a)
{
	int err = vdev_mmio_register(d, a->mmio, 0x1000, &lapic_page_ops, true);

	return err < 0 ? err : 0;
}

static const struct vdev_type lapic_page_type = {
	.name = "lapic", .size = sizeof(struct vdev), .create = lapic_page_create,
};
VDEV_TYPE(lapic_page_type);
