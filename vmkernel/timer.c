/*
 * Time base. The TSC is measured once at boot against a fixed-frequency
 * reference: the ACPI PM timer (3.579545 MHz) when the FADT gives one,
 * else PIT channel 2 (1.193182 MHz) gated through port 0x61. The LAPIC
 * timer is then measured against the TSC. It runs each CPU's one-shot
 * host timers (ktimer.c), one of which is the scheduler's periodic tick.
 */
#define pr_fmt(fmt) "timer: " fmt
#include <vmkernel/apic.h>
#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmkernel/trap.h>

#define PM_TIMER_HZ	3579545ULL
#define PIT_HZ		1193182ULL
#define CALIB_MS	50

static uint64_t tsc_freq;	/* set once on the BSP before any AP starts */
static uint64_t tsc_boot;
static uint16_t pm_port;
static bool pm_32bit;
static const char *calib_source = "none";

void lapic_timer_calibrate(void);

void timer_set_pm_timer(uint16_t port, bool is_32bit);
void timer_set_pm_timer(uint16_t port, bool is_32bit)
{
	pm_port = port;
	pm_32bit = is_32bit;
}

uint64_t tsc_hz(void)
{
	return tsc_freq;
}

uint64_t time_ns(void)
{
	uint64_t d;

	if (!tsc_freq)
		return 0;
	d = rdtsc() - tsc_boot;
	return d / tsc_freq * 1000000000ULL + d % tsc_freq * 1000000000ULL / tsc_freq;
}

void udelay(uint64_t us)
{
	uint64_t start = rdtsc(), ticks = tsc_freq * us / 1000000ULL;

	while (rdtsc() - start < ticks)
		cpu_relax();
}

void mdelay(uint64_t ms)
{
	udelay(ms * 1000);
}

const char *timer_calibration_source(void)
{
	return calib_source;
}

/*
 * Before calibration the TSC rate is unknown; no x86 TSC runs faster than
 * this many ticks in the calibration window, so a reference clock that has
 * not finished by then is broken (some platforms list a PM timer that the
 * chipset has turned off, or gate the 8254).
 */
#define CALIB_GIVE_UP_TICKS (20000000000ULL * CALIB_MS / 1000)

static uint64_t calibrate_pm_timer(void)
{
	uint32_t mask = pm_32bit ? 0xffffffffU : 0xffffffU;
	uint32_t want = PM_TIMER_HZ * CALIB_MS / 1000, p0, p1;
	uint64_t t0, t1;

	p0 = inl(pm_port) & mask;
	t0 = rdtsc();
	do {
		p1 = inl(pm_port) & mask;
		t1 = rdtsc();
		if (t1 - t0 > CALIB_GIVE_UP_TICKS) {
			pr_warn("ACPI PM timer at port %#x does not count; using the PIT\n", pm_port);
			return 0;
		}
	} while (((p1 - p0) & mask) < want);
	return (t1 - t0) * PM_TIMER_HZ / ((p1 - p0) & mask);
}

static uint64_t calibrate_pit(void)
{
	uint16_t count = PIT_HZ * CALIB_MS / 1000;
	uint64_t t0, t1;
	uint8_t ctl = (inb(0x61) & ~0x02) | 0x01;	/* gate on, speaker off */

	outb(0x61, ctl & ~0x01);
	outb(0x43, 0xb0);		/* channel 2, lo/hi, mode 0 */
	outb(0x42, count & 0xff);
	outb(0x42, count >> 8);
	outb(0x61, ctl);		/* rising gate starts the count */
	t0 = rdtsc();
	do {
		t1 = rdtsc();
		if (t1 - t0 > CALIB_GIVE_UP_TICKS)
			return 0;
	} while (!(inb(0x61) & 0x20));
	outb(0x61, ctl & ~0x01);
	return (t1 - t0) * 1000 / CALIB_MS;
}

/*
 * The scheduler's tick: a ktimer per CPU every 1/CONFIG_TIMER_HZ s. A tick
 * that comes late is not made up for: the next one is a full period later.
 */
static struct ktimer ticks[CONFIG_MAX_CPUS];

static void tick_fire(struct ktimer *t)
{
	uint64_t period = tsc_freq / CONFIG_TIMER_HZ, next = t->deadline + period;

	this_cpu()->timer_ticks++;
	sched_tick();
	if (next <= rdtsc())
		next = rdtsc() + period;
	ktimer_arm(t, next);
}

void timer_start_cpu(void)
{
	struct ktimer *t = &ticks[this_cpu_id()];

	ktimer_cpu_init();
	ktimer_init(t, tick_fire);
	ktimer_arm(t, rdtsc() + tsc_freq / CONFIG_TIMER_HZ);
}

static void timer_interrupt(struct trap_frame *tf)
{
	(void)tf;
	ktimer_interrupt();
}

int timer_init(void)
{
	tsc_boot = rdtsc();
	if (pm_port) {
		tsc_freq = calibrate_pm_timer();
		calib_source = "ACPI PM timer";
	}
	if (!tsc_freq) {
		tsc_freq = calibrate_pit();
		calib_source = "PIT";
	}
	if (!tsc_freq) {
		tsc_freq = 1000000000ULL;
		calib_source = "nothing (no PM timer, PIT did not count): assuming 1 GHz";
		pr_err("TSC calibration failed; times are wrong\n");
	}
	lapic_timer_calibrate();
	irq_register(VEC_LAPIC_TIMER, timer_interrupt);
	pr_info("TSC %llu.%03llu MHz (%s, calibrated against the %s), LAPIC timer %llu kHz\n",
		(unsigned long long)(tsc_freq / 1000000),
		(unsigned long long)(tsc_freq / 1000 % 1000),
		cpuid(0x80000000, 0).eax >= 0x80000007 &&
		(cpuid(0x80000007, 0).edx & CPUID87_EDX_INVARIANT_TSC) ? "invariant" : "not invariant",
		calib_source, (unsigned long long)(lapic_timer_freq() / 1000));
	return 0;
}
