/*
 * Local APIC. x2APIC (MSR access, 32-bit IDs) is used whenever the CPU has
 * it; otherwise xAPIC through its MMIO page in the direct map (uncached:
 * the firmware map does not list it as RAM). The mode is chosen once on
 * the BSP and every AP follows it.
 */
#define pr_fmt(fmt) "apic: " fmt
#include <errno.h>
#include <vmkernel/apic.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/timer.h>
#include <vmkernel/trap.h>

static bool x2apic;
static volatile uint32_t *xapic_mmio;
bool smp_lapic_ready;

uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(MSR_IA32_X2APIC_BASE + (reg >> 4));
	return xapic_mmio[reg / 4];
}

void lapic_write(uint32_t reg, uint32_t val)
{
	if (x2apic)
		wrmsr(MSR_IA32_X2APIC_BASE + (reg >> 4), val);
	else
		xapic_mmio[reg / 4] = val;
}

bool lapic_is_x2apic(void)
{
	return x2apic;
}

const char *lapic_mode_name(void)
{
	return x2apic ? "x2APIC" : "xAPIC";
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);

	return x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static void lapic_enable_mode(void)
{
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	base |= APIC_BASE_EN;
	wrmsr(MSR_IA32_APIC_BASE, base);
	if (x2apic)
		wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EXTD);
}

int lapic_init_bsp(uint64_t lapic_phys)
{
	struct cpuid_regs r = cpuid(1, 0);

	if (!(r.edx & CPUID1_EDX_APIC)) {
		pr_err("this CPU has no local APIC\n");
		return -ENODEV;
	}
	x2apic = r.ecx & CPUID1_ECX_X2APIC;
	if (!lapic_phys)
		lapic_phys = rdmsr(MSR_IA32_APIC_BASE) & PTE_ADDR_MASK;
	xapic_mmio = phys_to_virt(lapic_phys);
	lapic_init_cpu();
	smp_lapic_ready = true;
	return 0;
}

void lapic_init_cpu(void)
{
	lapic_enable_mode();
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, ICR_NMI);	/* LINT1 is NMI on PCs */
	lapic_write(LAPIC_LVT_ERROR, LAPIC_LVT_MASKED);
	lapic_write(LAPIC_ESR, 0);
	/* Retire anything the firmware left in service (ISR is 8 x 32 bits at 0x100). */
	for (int i = 0; i < 256; i++) {
		bool busy = false;

		for (uint32_t r = 0; r < 8; r++)
			busy |= lapic_read(0x100 + r * 0x10) != 0;
		if (!busy)
			break;
		lapic_eoi();
	}
}

int lapic_wait_icr_idle(void)
{
	if (x2apic)
		return 0;	/* x2APIC ICR writes are not pending-tracked */
	for (int i = 0; i < 1000000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_PENDING))
			return 0;
		cpu_relax();
	}
	return -ETIMEDOUT;
}

/*
 * A WRMSR to the x2APIC ICR is not serializing: without the fences the IPI
 * can overtake the stores that tell its target what to do (SDM 3A 11.12.3).
 */
static void x2apic_icr_write(uint64_t v)
{
	asm volatile("mfence; lfence" ::: "memory");
	wrmsr(MSR_IA32_X2APIC_BASE + (LAPIC_ICR_LO >> 4), v);
}

/* The xAPIC ICR is two registers: keep an interrupt from sending between the writes. */
static void xapic_icr_write(uint32_t hi, uint32_t lo)
{
	unsigned long flags = irq_save();

	lapic_wait_icr_idle();
	lapic_write(LAPIC_ICR_HI, hi);
	lapic_write(LAPIC_ICR_LO, lo);
	irq_restore(flags);
}

void lapic_send_ipi(uint32_t apic_id, uint32_t icr)
{
	if (x2apic)
		x2apic_icr_write(((uint64_t)apic_id << 32) | icr);
	else
		xapic_icr_write(apic_id << 24, icr);
}

void lapic_send_ipi_all_but_self(uint32_t icr)
{
	if (x2apic)
		x2apic_icr_write(icr | ICR_ALL_BUT_SELF);
	else
		xapic_icr_write(0, icr | ICR_ALL_BUT_SELF);
}

/* ---- timer ---------------------------------------------------------- */

static uint64_t timer_hz;	/* LAPIC timer input clock / 16, measured once on the BSP */

uint64_t lapic_timer_freq(void)
{
	return timer_hz;
}

/* Measure the LAPIC timer against the calibrated TSC over 10 ms. */
void lapic_timer_calibrate(void);
void lapic_timer_calibrate(void)
{
	uint32_t start = 0xffffffff;
	uint64_t t0, t1;

	lapic_write(LAPIC_TIMER_DIV, 0x3);	/* divide by 16 */
	lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, start);
	t0 = rdtsc();
	udelay(10000);
	t1 = rdtsc();
	timer_hz = (uint64_t)(start - lapic_read(LAPIC_TIMER_CUR)) * tsc_hz() / (t1 - t0);
	lapic_write(LAPIC_TIMER_INIT, 0);
	if (!timer_hz)
		pr_err("the local APIC timer does not count: no timer interrupts on this host\n");
}

/*
 * Program the timer to interrupt once when the TSC reaches `deadline`
 * (0: never). TSC-deadline mode where the CPU has it; otherwise a one-shot
 * count, capped at the counter's range (an early interrupt finds nothing
 * due and the caller programs the rest).
 */
void lapic_timer_deadline(uint64_t deadline)
{
	static bool use_tsc_deadline, probed;
	uint64_t now, count;

	if (!probed) {
		use_tsc_deadline = cpuid(1, 0).ecx & CPUID1_ECX_TSC_DEADLINE;
		probed = true;
	}
	if (use_tsc_deadline) {
		if (lapic_read(LAPIC_LVT_TIMER) != (LAPIC_TIMER_TSC_DEADLINE | VEC_LAPIC_TIMER)) {
			lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_TSC_DEADLINE | VEC_LAPIC_TIMER);
			asm volatile("mfence" ::: "memory");	/* SDM 3A 11.5.4.1 */
		}
		wrmsr(MSR_IA32_TSC_DEADLINE, deadline);
		return;
	}
	if (!timer_hz)
		return;
	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER);
	if (!deadline) {
		lapic_write(LAPIC_TIMER_INIT, 0);
		return;
	}
	now = rdtsc();
	count = deadline <= now ? 1 : (deadline - now) * timer_hz / tsc_hz() + 1;
	lapic_write(LAPIC_TIMER_INIT, count > 0xffffffffULL ? 0xffffffffU : (uint32_t)count);
}
