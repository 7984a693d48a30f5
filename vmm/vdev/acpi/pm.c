/*
 * ACPI fixed hardware (ACPI 6.5 chapter 4.8) at the ports the FADT names:
 *
 *  - PM1a event block (0x600): status (write 1 to clear) and enable
 *    registers. Sources: the PM timer's carry out of bit 31 (TMR_STS) and
 *    the power button (PWRBTN_STS, pressed by the host, e.g. for a
 *    graceful shutdown). An enabled, set status raises the SCI, a
 *    level-triggered IRQ 9. The global-lock and RTC enables are kept as
 *    written (the firmware never raises those events).
 *  - PM1a control block (0x604): SCI_EN reads 1 (the machine is always in
 *    ACPI mode: the FADT names no SMI command port); writing SLP_EN with
 *    SLP_TYP = 5 (the DSDT's \_S5) powers the VM off. Other sleep states
 *    are not offered by the DSDT; asking for one anyway is logged and
 *    ignored.
 *  - PM timer (0x608): 32 bits counting at 3.579545 MHz from VM start,
 *    derived from the TSC.
 *
 * Locking: pm->lock.
 */
#define pr_fmt(fmt) "vacpi: " fmt
#include <vmm/vtime.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/log.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmm/acpi_tables.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vm.h>

#define PM_TIMER_HZ	3579545ULL
#define STS_TMR		(1U << 0)
#define STS_PWRBTN	(1U << 8)
#define STS_WAK		(1U << 15)
/* Enable bits kept as written: the timer, global lock, power button and RTC events. */
#define EN_WRITABLE	((1U << 0) | (1U << 5) | (1U << 8) | (1U << 10))
#define CNT_SCI_EN	(1U << 0)
#define CNT_SLP_EN	(1U << 13)
#define CNT_SLP_TYP(v)	(((v) >> 10) & 7)

struct vdev_acpi_pm {
	struct vdev dev;
	struct spinlock lock;
	uint16_t sts, en, cnt;		/* lock */
	bool sci;			/* lock: the SCI line as last driven */
	struct ktimer timer;		/* TMR_EN: the next carry of bit 31 */
	uint64_t carries;		/* lock: carries already flagged */
};

static uint64_t pm_ticks(const struct vdev_acpi_pm *pm)
{
	uint64_t t = vtime_host_tsc() + (uint64_t)pm->dev.vm->tsc_offset, hz = tsc_hz();

	return t / hz * PM_TIMER_HZ + t % hz * PM_TIMER_HZ / hz;
}

/* Drive the SCI from status and enable. Lock held. */
static void update_sci(struct vdev_acpi_pm *pm)
{
	bool level = pm->sts & pm->en & (STS_TMR | STS_PWRBTN);

	if (level != pm->sci) {
		pm->sci = level;
		vm_isa_irq(pm->dev.vm, ACPI_SCI_IRQ, level);
	}
}

/* Flag a carry of bit 31 that happened; arm the timer for the next one while TMR_EN is on. */
static void timer_check(struct vdev_acpi_pm *pm)
{
	uint64_t ticks = pm_ticks(pm), carries = ticks >> 31, hz = tsc_hz();

	if (carries > pm->carries) {
		pm->carries = carries;
		pm->sts |= STS_TMR;
	}
	if (pm->en & STS_TMR) {
		uint64_t left = ((carries + 1) << 31) - ticks;

		ktimer_arm(&pm->timer, vtime_host_tsc() + left * hz / PM_TIMER_HZ + 1);
	} else {
		ktimer_cancel(&pm->timer);
	}
	update_sci(pm);
}

static void pm_timer_fire(struct ktimer *t)
{
	struct vdev_acpi_pm *pm = (struct vdev_acpi_pm *)((char *)t -
							   offsetof(struct vdev_acpi_pm, timer));

	spin_lock(&pm->lock);
	timer_check(pm);
	spin_unlock(&pm->lock);
}

static uint32_t pm_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_acpi_pm *pm = (struct vdev_acpi_pm *)d;
	unsigned long flags = spin_lock_irqsave(&pm->lock);
	unsigned off = port - ACPI_PM1A_EVT_PORT;
	uint32_t val;

	(void)v;
	if (off >= 8) {
		val = (uint32_t)pm_ticks(pm);	/* PM timer */
	} else {
		uint8_t regs[8];

		timer_check(pm);
		regs[0] = (uint8_t)pm->sts;
		regs[1] = (uint8_t)(pm->sts >> 8);
		regs[2] = (uint8_t)pm->en;
		regs[3] = (uint8_t)(pm->en >> 8);
		regs[4] = (uint8_t)(pm->cnt | CNT_SCI_EN);
		regs[5] = (uint8_t)((pm->cnt | CNT_SCI_EN) >> 8);
		regs[6] = regs[7] = 0;
		val = 0;
		for (unsigned i = 0; i < size && off + i < 8; i++)
			val |= (uint32_t)regs[off + i] << (8 * i);
	}
	spin_unlock_irqrestore(&pm->lock, flags);
	return val;
}

static void sleep_request(struct vdev_acpi_pm *pm, struct vcpu *v, uint16_t cnt)
{
	unsigned typ = CNT_SLP_TYP(cnt);

	if (typ == ACPI_SLP_TYP_S5) {
		vm_poweroff(pm->dev.vm, "vCPU %u: ACPI power off (S5)", v->id);
		return;
	}
	pr_warn("%s: vCPU %u asked for sleep type %u, which the DSDT does not offer; ignored\n",
		pm->dev.vm->name, v->id, typ);
}

static void pm_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_acpi_pm *pm = (struct vdev_acpi_pm *)d;
	unsigned long flags = spin_lock_irqsave(&pm->lock);
	unsigned off = port - ACPI_PM1A_EVT_PORT;
	uint16_t sleep = 0;

	for (unsigned i = 0; i < size && off + i < 8; i++) {
		unsigned o = off + i;
		uint8_t b = (uint8_t)(val >> (8 * i));

		if (o < 2)
			pm->sts &= (uint16_t)~((unsigned)b << (8 * o));		/* write 1 to clear */
		else if (o < 4)
			pm->en = (uint16_t)((pm->en & ~(0xffU << (8 * (o - 2)))) |
					    ((unsigned)b << (8 * (o - 2))));
		else if (o < 6)
			pm->cnt = (uint16_t)((pm->cnt & ~(0xffU << (8 * (o - 4)))) |
					     ((unsigned)b << (8 * (o - 4))));
	}
	pm->en &= EN_WRITABLE;
	if (pm->cnt & CNT_SLP_EN) {
		sleep = pm->cnt;
		pm->cnt &= ~CNT_SLP_EN;	/* write-only: reads as 0 */
	}
	timer_check(pm);
	spin_unlock_irqrestore(&pm->lock, flags);
	if (sleep)
		sleep_request(pm, v, sleep);
}

static const struct vdev_pio_ops pm_ops = { .in = pm_in, .out = pm_out };

/* The host presses the VM's power button (a graceful shutdown request). */
void vdev_acpi_power_button(struct vdev *d);
void vdev_acpi_power_button(struct vdev *d)
{
	struct vdev_acpi_pm *pm = (struct vdev_acpi_pm *)d;
	unsigned long flags = spin_lock_irqsave(&pm->lock);

	pm->sts |= STS_PWRBTN;
	update_sci(pm);
	spin_unlock_irqrestore(&pm->lock, flags);
}

static void pm_reset(struct vdev *d)
{
	struct vdev_acpi_pm *pm = (struct vdev_acpi_pm *)d;
	unsigned long flags = spin_lock_irqsave(&pm->lock);

	pm->sts = pm->en = pm->cnt = 0;
	pm->carries = pm_ticks(pm) >> 31;
	ktimer_cancel(&pm->timer);
	update_sci(pm);
	spin_unlock_irqrestore(&pm->lock, flags);
}

static int pm_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_acpi_pm *pm = (struct vdev_acpi_pm *)d;
	int err;

	(void)a;
	spin_init(&pm->lock, "vacpi pm");
	ktimer_init(&pm->timer, pm_timer_fire);
	err = vdev_pio_register(d, ACPI_PM1A_EVT_PORT, 12, &pm_ops, true);
	return err < 0 ? err : 0;
}

static void pm_destroy(struct vdev *d)
{
	ktimer_cancel(&((struct vdev_acpi_pm *)d)->timer);
}

static const struct vdev_type pm_type = {
	.name = "acpi-pm", .size = sizeof(struct vdev_acpi_pm),
	.create = pm_create, .reset = pm_reset, .destroy = pm_destroy,
};
VDEV_TYPE(pm_type);
