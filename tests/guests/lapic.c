/*
 * lapic: the local APIC as an OS relies on it (SDM 3A chapter 11).
 *
 * On vCPU 0: ID and version, the reset state, software disable masking
 * the LVTs, ESR and the error interrupt, self-IPIs and the priority rules
 * (IRR -> ISR, higher class first, nesting, same class waits, TPR holds a
 * lower class back until it drops), the timer in one-shot, periodic and
 * TSC-deadline modes with its divider and current count, and what an LVT
 * write must not do (start or restart the count). Then vCPU 1 is started
 * the way a PC starts an AP: INIT, start-up IPI, and a real-mode
 * trampoline below 1 MiB; it shows its own reset state and takes fixed,
 * logical (flat and cluster), broadcast, lowest-priority and NMI IPIs and
 * sends one back; INIT resets and parks it for a second start by SIPI and
 * a third by HC_VCPU_START. Last, x2APIC mode: ID, version and LDR
 * through MSRs, the self-IPI and ICR MSRs, and the #GP cases.
 *
 * Clock rates are never assumed: the TSC rate comes from CPUID (checked
 * against the PIT) or the PIT, the timer is calibrated against the TSC,
 * and every time check is a ratio of two of the guest's own clocks with
 * wide bounds, or counts how many gaps between interrupts match a period.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"
#include "lapic.h"
#include "pc.h"

const char guest_name[] = "lapic";

#define VEC_TIMER 0x42
#define VEC_SELF 0x50
#define VEC_IPI 0x51 /* 0x51-0x55: IPIs between the vCPUs */
#define VEC_ALL_BUT 0x52
#define VEC_ALL 0x53
#define VEC_TO_BSP 0x54
#define VEC_LOGICAL 0x55
#define VEC_X2_SELF 0x56
#define VEC_X2_ICR 0x57
#define VEC_LOW 0x41
#define VEC_HIGH 0x91
#define VEC_NEST 0x61
#define VEC_NEST_HIGH 0xa1
#define VEC_SAME_CLASS 0x6f
#define VEC_TPR_LOW 0x45
#define VEC_TPR_HIGH 0x65
#define VEC_ERROR 0x4c
#define TRAMP_ADDR 0x7000u /* start-up IPI vector 0x07 */

static uint64_t tsc_rate;
static bool x2mode;

static uint64_t ms(unsigned int n)
{
	return udiv64(tsc_rate * n, 1000, NULL);
}

static void eoi(void)
{
	if (x2mode)
		wrmsr(X2APIC_MSR(LAPIC_EOI), 0);
	else
		lapic_eoi();
}

/* ---- the order interrupts arrive in ---- */

static volatile unsigned int n_seen;
static volatile uint8_t seen[8];
static volatile bool seen_in_isr[8];
static volatile uint32_t seen_ppr[8];
static volatile bool nest_both_in_isr, same_class_waited;

static void record(struct trap_frame *f)
{
	unsigned int i = n_seen;

	if (i < 8) {
		seen[i] = (uint8_t)f->vector;
		seen_in_isr[i] = lapic_vec_set(LAPIC_ISR, (uint8_t)f->vector);
		seen_ppr[i] = lapic_read(LAPIC_PPR);
	}
	n_seen = i + 1;
}

static void record_eoi(struct trap_frame *f)
{
	record(f);
	if (f->vector == VEC_NEST_HIGH)
		nest_both_in_isr = lapic_vec_set(LAPIC_ISR, VEC_NEST) &&
				   lapic_vec_set(LAPIC_ISR, VEC_NEST_HIGH);
	lapic_eoi();
}

/* In service: raise a higher class (nests at once) and the same class (waits for our EOI). */
static void nest_handler(struct trap_frame *f)
{
	record(f);
	lapic_ipi(0, ICR_SELF | VEC_NEST_HIGH);
	lapic_ipi(0, ICR_SELF | VEC_SAME_CLASS);
	asm volatile("sti; nop; nop; cli" : : : "memory");
	same_class_waited = lapic_vec_set(LAPIC_IRR, VEC_SAME_CLASS) && n_seen == 2;
	lapic_eoi();
}

static volatile unsigned int error_irqs;

static void error_handler(struct trap_frame *f)
{
	(void)f;
	error_irqs++;
	lapic_eoi();
}

static void self_ipi(uint8_t vec)
{
	lapic_ipi(0, ICR_SELF | ICR_FIXED | vec);
}

static void check_registers(void)
{
	uint32_t ver = lapic_read(LAPIC_VER), v;
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE);

	CHECK_EQ(lapic_id(), cpuid(1, 0).ebx >> 24, "id_matches_cpuid");
	CHECKF((ver & 0xff) >= 0x10 && (ver & 0xff) <= 0x15 && ((ver >> 16) & 0xff) >= 4, "version",
	       "version register 0x%x", ver);
	CHECKF((base & ~0xfffull) == LAPIC_BASE && (base & APIC_BASE_EN) && (base & APIC_BASE_BSP),
	       "apic_base_msr", "IA32_APIC_BASE 0x%llx", (unsigned long long)base);
	/* Nothing ran before us under vmkernel: the power-up state (SDM 3A 11.4.7.1). */
	if (!vmk_skip("reset_state"))
		CHECKF(lapic_read(LAPIC_SVR) == 0xff && lapic_read(LAPIC_TPR) == 0 &&
		       lapic_read(LAPIC_LVT_TIMER) == LVT_MASKED &&
		       lapic_read(LAPIC_LVT_LINT0) == LVT_MASKED &&
		       lapic_read(LAPIC_LVT_LINT1) == LVT_MASKED &&
		       lapic_read(LAPIC_LVT_ERROR) == LVT_MASKED && lapic_read(LAPIC_LDR) == 0 &&
		       lapic_read(LAPIC_DFR) == 0xffffffff && lapic_read(LAPIC_TMICT) == 0,
		       "reset_state", "SVR 0x%x TPR 0x%x LVT timer 0x%x LINT0 0x%x LDR 0x%x",
		       lapic_read(LAPIC_SVR), lapic_read(LAPIC_TPR), lapic_read(LAPIC_LVT_TIMER),
		       lapic_read(LAPIC_LVT_LINT0), lapic_read(LAPIC_LDR));
	/*
	 * Software-disabled: the LVT mask bits cannot be cleared (SDM 3A
	 * 11.4.7.2). QEMU 7.2 lets them be cleared, so this is ours only.
	 */
	lapic_write(LAPIC_SVR, 0xff);
	lapic_write(LAPIC_LVT_ERROR, 0xfe);
	v = lapic_read(LAPIC_LVT_ERROR);
	lapic_enable();
	lapic_write(LAPIC_LVT_ERROR, 0xfe);
	if (!vmk_skip("sw_disable_keeps_lvt_masked"))
		CHECKF((v & LVT_MASKED) && lapic_read(LAPIC_LVT_ERROR) == 0xfe,
		       "sw_disable_keeps_lvt_masked", "disabled: 0x%x, enabled: 0x%x", v,
		       lapic_read(LAPIC_LVT_ERROR));
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED | 0xfe);
	lapic_write(LAPIC_TDCR, 0xf);
	CHECK_EQ(lapic_read(LAPIC_TDCR), 0xb, "tdcr_writable_bits");
	lapic_write(LAPIC_LDR, 0x01000000);
	CHECK_EQ(lapic_read(LAPIC_LDR), 0x01000000, "ldr_round_trip");
	/*
	 * A fixed IPI with a vector below 16 is not sent: ESR bit 5 (SDM 3A
	 * 11.5.3). QEMU 7.2 delivers it as an interrupt, so this is ours only.
	 */
	if (!(vmk_skip("esr_send_illegal_vector") | vmk_skip("error_interrupt"))) {
		lapic_write(LAPIC_ESR, 0);
		lapic_write(LAPIC_LVT_ERROR, VEC_ERROR);
		self_ipi(3);
		asm volatile("sti; nop; cli" : : : "memory");
		lapic_write(LAPIC_LVT_ERROR, LVT_MASKED | VEC_ERROR);
		lapic_write(LAPIC_ESR, 0);
		v = lapic_read(LAPIC_ESR);
		CHECKF(v & 0x20, "esr_send_illegal_vector", "ESR 0x%x", v);
		/* Each error raises the LVT error entry's vector (SDM 3A 11.5.3). */
		CHECK_EQ(error_irqs, 1, "error_interrupt");
		lapic_write(LAPIC_ESR, 0);
	}
}

static void check_priorities(void)
{
	static const uint8_t order_nest[] = { VEC_NEST, VEC_NEST_HIGH, VEC_SAME_CLASS };
	bool irr_both;

	n_seen = 0;
	self_ipi(VEC_SELF);
	asm volatile("sti; nop; cli" : : : "memory");
	CHECKF(n_seen == 1 && seen[0] == VEC_SELF && seen_in_isr[0] &&
	       !lapic_vec_set(LAPIC_ISR, VEC_SELF), "self_ipi_isr_then_eoi",
	       "%u interrupts, first 0x%x, in ISR %d", n_seen, seen[0], seen_in_isr[0]);

	/* IF=0: both wait in IRR; then the higher class comes first. */
	n_seen = 0;
	self_ipi(VEC_LOW);
	self_ipi(VEC_HIGH);
	irr_both = lapic_vec_set(LAPIC_IRR, VEC_LOW) && lapic_vec_set(LAPIC_IRR, VEC_HIGH) &&
		   !lapic_vec_set(LAPIC_ISR, VEC_HIGH);
	CHECK(irr_both, "pending_in_irr_while_if0");
	asm volatile("sti; nop; cli" : : : "memory");
	CHECKF(n_seen == 2 && seen[0] == VEC_HIGH && seen[1] == VEC_LOW &&
	       (seen_ppr[0] & 0xf0) == (VEC_HIGH & 0xf0), "higher_class_first",
	       "%u interrupts: 0x%x then 0x%x, PPR in the first 0x%x", n_seen, seen[0], seen[1],
	       seen_ppr[0]);

	n_seen = 0;
	self_ipi(VEC_NEST);
	asm volatile("sti; nop; nop; cli" : : : "memory");
	CHECKF(n_seen == 3 && !__builtin_memcmp((const void *)seen, order_nest, 3) &&
	       nest_both_in_isr && (seen_ppr[1] & 0xf0) == (VEC_NEST_HIGH & 0xf0),
	       "nested_higher_class", "%u interrupts: 0x%x 0x%x 0x%x, both in ISR %d", n_seen,
	       seen[0], seen[1], seen[2], nest_both_in_isr);
	CHECK(same_class_waited, "same_class_waits_for_eoi");

	/* TPR 0x50 holds class 4 back, lets class 6 through; 0x40 still holds, 0x30 releases. */
	n_seen = 0;
	lapic_write(LAPIC_TPR, 0x50);
	CHECK_EQ(lapic_read(LAPIC_PPR) & 0xf0, 0x50, "ppr_follows_tpr");
	self_ipi(VEC_TPR_LOW);
	self_ipi(VEC_TPR_HIGH);
	asm volatile("sti; nop; nop; cli" : : : "memory");
	CHECKF(n_seen == 1 && seen[0] == VEC_TPR_HIGH && lapic_vec_set(LAPIC_IRR, VEC_TPR_LOW),
	       "tpr_holds_lower_class", "%u interrupts, first 0x%x", n_seen, seen[0]);
	sti();
	lapic_write(LAPIC_TPR, 0x40);
	asm volatile("nop; nop" : : : "memory");
	cli();
	CHECKF(n_seen == 1, "tpr_equal_class_holds", "%u interrupts with TPR 0x40", n_seen);
	sti();
	lapic_write(LAPIC_TPR, 0x30);
	asm volatile("nop; nop" : : : "memory");
	cli();
	CHECKF(n_seen == 2 && seen[1] == VEC_TPR_LOW, "tpr_drop_delivers",
	       "%u interrupts, second 0x%x", n_seen, seen[1]);
	lapic_write(LAPIC_TPR, 0);
}

/* ---- timer ---- */

static volatile unsigned int timer_ticks;
static volatile bool stamp_ticks;
static volatile uint64_t tick_tsc[16];

static void timer_handler(struct trap_frame *f)
{
	(void)f;
	if (stamp_ticks && timer_ticks < 16)
		tick_tsc[timer_ticks] = rdtsc();
	timer_ticks++;
	eoi();
}

static uint32_t read_ccr(void)
{
	return lapic_read(LAPIC_TMCCT);
}

/* Timer ticks per second at a divide configuration: its count against the TSC over ~50 ms. */
static uint64_t timer_rate(uint32_t tdcr)
{
	struct clock_sample a, b;

	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TDCR, tdcr);
	lapic_write(LAPIC_TMICT, 0xffffffff);
	a = clock_sample(read_ccr);
	wait_tsc(ms(50));
	b = clock_sample(read_ccr);
	lapic_write(LAPIC_TMICT, 0);
	if (b.val >= a.val || b.tsc - a.tsc > 0xffffffffull)
		return 0;
	return udiv64((uint64_t)(a.val - b.val) * tsc_rate, (uint32_t)(b.tsc - a.tsc), NULL);
}

/* Let IF=1 time pass without an expected interrupt. */
static void idle_ms(unsigned int n)
{
	sti();
	wait_tsc(ms(n));
	cli();
}

static void check_oneshot(uint64_t hz)
{
	uint32_t n = (uint32_t)udiv64(hz, 200, NULL), ccr, c1, c2; /* 5 ms */
	uint32_t second = hz > 0xffffffffull ? 0xffffffffu : (uint32_t)hz;

	timer_ticks = 0;
	lapic_write(LAPIC_TDCR, 0xb);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TMICT, second);
	ccr = lapic_read(LAPIC_TMCCT);
	lapic_write(LAPIC_TMICT, 0);
	CHECKF(ccr > 0 && ccr < second, "oneshot_current_count", "current 0x%x of 0x%x", ccr,
	       second);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
	lapic_write(LAPIC_TMICT, n);
	CHECKF(wait_count(&timer_ticks, 1, ms(1000)), "oneshot_fires", "no interrupt");
	idle_ms(20);
	CHECKF(timer_ticks == 1 && lapic_read(LAPIC_TMCCT) == 0, "oneshot_fires_once",
	       "%u interrupts, current count 0x%x", timer_ticks, lapic_read(LAPIC_TMCCT));
	/*
	 * SDM 3A 11.5.4: changing the timer mode by an LVT write does not
	 * start the timer. QEMU 7.2 resumes a periodic count from the old
	 * load instead, so this is ours only.
	 */
	if (!vmk_skip("lvt_write_does_not_start")) {
		lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | TIMER_PERIODIC);
		idle_ms(20);
		CHECKF(timer_ticks == 1 && lapic_read(LAPIC_TMCCT) == 0, "lvt_write_does_not_start",
		       "%u interrupts, current count 0x%x", timer_ticks,
		       lapic_read(LAPIC_TMCCT));
	}
	/* Nor does rewriting the LVT restart a running count. */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	lapic_write(LAPIC_TMICT, second);
	wait_tsc(ms(30));
	c1 = lapic_read(LAPIC_TMCCT);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
	c2 = lapic_read(LAPIC_TMCCT);
	CHECKF(c1 && c1 < second && c2 <= c1, "lvt_write_keeps_count",
	       "0x%x of 0x%x before the LVT write, 0x%x after", c1, second, c2);
	lapic_write(LAPIC_TMICT, 0);
	CHECK_EQ(lapic_read(LAPIC_TMCCT), 0, "tmict_zero_stops");
	/* A masked timer counts to zero in silence. */
	timer_ticks = 0;
	lapic_write(LAPIC_TMICT, n);
	idle_ms(20);
	CHECKF(timer_ticks == 0 && lapic_read(LAPIC_TMCCT) == 0, "masked_timer_silent",
	       "%u interrupts, current count 0x%x", timer_ticks, lapic_read(LAPIC_TMCCT));
}

/* Periodic at 2 ms: sixteen interrupts come, many of them one period apart. */
static void check_periodic(uint64_t hz)
{
	uint32_t n = (uint32_t)udiv64(hz, 500, NULL), ccr;
	unsigned int got, near;

	timer_ticks = 0;
	stamp_ticks = true;
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | TIMER_PERIODIC);
	lapic_write(LAPIC_TMICT, n);
	wait_count(&timer_ticks, 16, ms(2000));
	got = timer_ticks;
	ccr = lapic_read(LAPIC_TMCCT);
	stamp_ticks = false;
	near = gaps_near(tick_tsc, got < 16 ? got : 16, ms(2));
	CHECKF(got >= 16 && near >= 4, "periodic_rate",
	       "%u interrupts, %u of 15 gaps near the 2 ms period", got, near);
	CHECKF(ccr > 0 && ccr <= n, "periodic_reloads", "current count 0x%x of 0x%x", ccr, n);
	lapic_write(LAPIC_TMICT, 0);
	asm volatile("sti; nop; cli" : : : "memory"); /* one accepted before the stop may follow */
	got = timer_ticks;
	idle_ms(30);
	CHECKF(timer_ticks == got && lapic_read(LAPIC_TMCCT) == 0, "periodic_stops",
	       "%u interrupts after TMICT = 0", timer_ticks - got);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
}

static void check_tsc_deadline(void)
{
	const char *names[] = { "tsc_deadline_fires", "tsc_deadline_clears", "tsc_deadline_past",
				"tsc_deadline_disarm", "tsc_deadline_ignores_tmict" };
	uint64_t dl;

	if (!cpuid_has(1, 'c', 24)) {
		for (unsigned int i = 0; i < 5; i++)
			SKIP(names[i], "CPUID: no TSC-deadline timer");
		return;
	}
	timer_ticks = 0;
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | TIMER_TSC_DEADLINE);
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + ms(5));
	CHECKF(wait_count(&timer_ticks, 1, ms(1000)), names[0], "no interrupt");
	dl = rdmsr(MSR_IA32_TSC_DEADLINE);
	CHECKF(dl == 0, names[1], "IA32_TSC_DEADLINE 0x%llx after the interrupt",
	       (unsigned long long)dl);
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() - 1000);
	CHECKF(wait_count(&timer_ticks, 2, ms(50)), names[2], "%u interrupts", timer_ticks);
	/*
	 * Disarm well before the deadline: under a hypervisor two consecutive
	 * instructions can be a host time slice apart (the vCPU descheduled
	 * between them), and a deadline passed meanwhile has rightly fired.
	 */
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + ms(100));
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	idle_ms(150);
	CHECKF(timer_ticks == 2, names[3], "%u interrupts", timer_ticks);
	/* TMICT writes are ignored in this mode: the armed deadline still fires, once. */
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() + ms(5));
	lapic_write(LAPIC_TMICT, 1000);
	wait_count(&timer_ticks, 3, ms(1000));
	idle_ms(10);
	CHECKF(timer_ticks == 3 && lapic_read(LAPIC_TMCCT) == 0, names[4],
	       "%u interrupts (want 1), current count 0x%x", timer_ticks - 2,
	       lapic_read(LAPIC_TMCCT));
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_TIMER);
}

static void check_timer(void)
{
	uint64_t hz1 = timer_rate(0xb), hz16 = timer_rate(0x3), ratio, pit = tsc_hz_pit();

	/* The TSC rate CPUID states (vmkernel: leaf 0x15) is what the PIT measures. */
	if (!tsc_hz_cpuid())
		SKIP("tsc_rate_as_cpuid_says", "CPUID states no TSC rate");
	else
		CHECKF(pit >= tsc_rate - tsc_rate / 10 && pit <= tsc_rate + tsc_rate / 10,
		       "tsc_rate_as_cpuid_says", "CPUID says %llu Hz, the PIT measures %llu Hz",
		       (unsigned long long)tsc_rate, (unsigned long long)pit);

	gprintf("lapic: timer %llu Hz at divide 1, %llu Hz at divide 16; TSC %llu Hz\n",
		(unsigned long long)hz1, (unsigned long long)hz16, (unsigned long long)tsc_rate);
	CHECKF(hz1 > 100000 && hz16, "timer_counts_down", "no count-down measured");
	if (!hz1 || !hz16)
		return;
	ratio = udiv64(hz1 * 10, (uint32_t)hz16, NULL);
	CHECKF(ratio >= 120 && ratio <= 200, "timer_divide_16", "divide 1 / divide 16 = %llu/10",
	       (unsigned long long)ratio);
	if (!vmk_skip("timer_rate_as_cpuid_says")) {
		uint64_t khz = cpuid(0x40000010, 0).ebx;

		CHECKF(hz1 >= khz * 800 && hz1 <= khz * 1250, "timer_rate_as_cpuid_says",
		       "measured %llu Hz, CPUID 0x40000010 says %llu kHz",
		       (unsigned long long)hz1, (unsigned long long)khz);
	}
	check_oneshot(hz1);
	check_periodic(hz1);
	check_tsc_deadline();
}

/* ---- vCPU 1: INIT, start-up IPI, IPIs ---- */

void tramp_start(void);
void tramp_end(void);
void tramp_gdtr(void);
void tramp_entry(void);
void ap_entry32(void);
void ap_entry_hc(void);
void ap_main(void);
uint8_t lapic_ap_stack[8192] __attribute__((aligned(16)));

/*
 * The trampoline runs at TRAMP_ADDR in real mode (CS = 0x0700, IP = 0):
 * it loads the guest's GDT, sets CR0.PE and jumps to ap_entry32 through
 * the far pointer vCPU 0 patched in.
 */
asm(".text\n"
    ".code16\n"
    "tramp_start:\n"
    "	cli\n"
    "	movw %cs, %ax\n"
    "	movw %ax, %ds\n"
    "	lgdtl tramp_gdtr - tramp_start\n"
    "	movl %cr0, %eax\n"
    "	orl $1, %eax\n"
    "	movl %eax, %cr0\n"
    "	ljmpl *(tramp_entry - tramp_start)\n"
    "	.balign 4\n"
    "tramp_gdtr: .word 0\n"
    "	.long 0\n"
    "	.balign 4\n"
    "tramp_entry: .long 0\n"
    "	.word 0x08\n"
    "tramp_end:\n"
    ".code32\n"
    "ap_entry32:\n"
    "	movw $0x10, %ax\n"
    "	movw %ax, %ds\n"
    "	movw %ax, %es\n"
    "	movw %ax, %ss\n"
    "	movw %ax, %fs\n"
    "	movw %ax, %gs\n"
    "	movl $lapic_ap_stack + 8192, %esp\n"
    /* HC_VCPU_START enters here: flat segments, no GDT yet; ap_main loads ours. */
    "ap_entry_hc:\n"
    "	call ap_main\n"
    "1:	cli\n"
    "	hlt\n"
    "	jmp 1b\n");

struct ap_view {
	uint32_t id, svr, tpr, lvt_timer, lint0, lint1, lvt_error;
	uint64_t base;
};
static volatile struct ap_view ap_seen;
static volatile unsigned int ap_starts, ap_send_back;
static volatile uint32_t ap_new_ldr, ap_new_dfr; /* vCPU 1 loads these when ap_new_ldr != 0 */
static volatile unsigned int hits[2][6]; /* [vCPU][vector - 0x50] */
static volatile unsigned int nmis_on_ap;

void ap_main(void)
{
	trap_load_ap();
	ap_seen.id = lapic_id();
	ap_seen.svr = lapic_read(LAPIC_SVR);
	ap_seen.tpr = lapic_read(LAPIC_TPR);
	ap_seen.lvt_timer = lapic_read(LAPIC_LVT_TIMER);
	ap_seen.lint0 = lapic_read(LAPIC_LVT_LINT0);
	ap_seen.lint1 = lapic_read(LAPIC_LVT_LINT1);
	ap_seen.lvt_error = lapic_read(LAPIC_LVT_ERROR);
	ap_seen.base = rdmsr(MSR_IA32_APIC_BASE);
	lapic_enable();
	lapic_write(LAPIC_DFR, 0xffffffff);
	lapic_write(LAPIC_LDR, 0x02000000);
	__atomic_add_fetch(&ap_starts, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		if (ap_new_ldr) {
			lapic_write(LAPIC_DFR, ap_new_dfr);
			lapic_write(LAPIC_LDR, ap_new_ldr);
			__atomic_store_n(&ap_new_ldr, 0, __ATOMIC_SEQ_CST);
		}
		if (__atomic_exchange_n(&ap_send_back, 0, __ATOMIC_SEQ_CST)) {
			lapic_ipi(0, ICR_FIXED | VEC_TO_BSP);
			lapic_ipi_wait();
		}
		asm volatile("sti; hlt; cli" : : : "memory");
	}
}

static void ipi_handler(struct trap_frame *f)
{
	hits[lapic_id() ? 1 : 0][f->vector - 0x50]++;
	lapic_eoi();
}

static void nmi_handler(struct trap_frame *f)
{
	(void)f;
	nmis_on_ap++;
}

/* Spin (IF=1) until cond holds or about a second passed. */
static bool wait_for(volatile unsigned int *v, unsigned int want)
{
	return wait_count(v, want, ms(1000));
}

static void send_init_sipi(void)
{
	lapic_ipi(1, ICR_INIT | ICR_ASSERT);
	lapic_ipi_wait();
	wait_tsc(ms(10));
	lapic_ipi(1, ICR_STARTUP | (TRAMP_ADDR >> 12));
	lapic_ipi_wait();
	wait_tsc(ms(1));
	lapic_ipi(1, ICR_STARTUP | (TRAMP_ADDR >> 12));
	lapic_ipi_wait();
}

static bool start_ap(void)
{
	uint8_t *t = (uint8_t *)(uintptr_t)TRAMP_ADDR;
	uint32_t size = (uint32_t)((uintptr_t)tramp_end - (uintptr_t)tramp_start);
	uint32_t off_gdtr = (uint32_t)((uintptr_t)tramp_gdtr - (uintptr_t)tramp_start);
	uint32_t off_entry = (uint32_t)((uintptr_t)tramp_entry - (uintptr_t)tramp_start);
	uint32_t entry = (uint32_t)(uintptr_t)ap_entry32, base;
	uint16_t limit;

	__builtin_memcpy(t, (const void *)(uintptr_t)tramp_start, size);
	trap_gdt_ptr(&limit, &base);
	__builtin_memcpy(t + off_gdtr, &limit, 2);
	__builtin_memcpy(t + off_gdtr + 2, &base, 4);
	__builtin_memcpy(t + off_entry, &entry, 4);
	send_init_sipi();
	return wait_for(&ap_starts, 1);
}

static void check_ap_reset_state(const char *name)
{
	CHECKF(ap_seen.id == 1 && ap_seen.svr == 0xff && ap_seen.tpr == 0 &&
	       ap_seen.lvt_timer == LVT_MASKED && ap_seen.lint0 == LVT_MASKED &&
	       ap_seen.lint1 == LVT_MASKED && ap_seen.lvt_error == LVT_MASKED &&
	       (ap_seen.base & (APIC_BASE_EN | APIC_BASE_BSP)) == APIC_BASE_EN,
	       name, "ID %u SVR 0x%x TPR 0x%x timer 0x%x LINT0 0x%x LINT1 0x%x error 0x%x base 0x%llx",
	       ap_seen.id, ap_seen.svr, ap_seen.tpr, ap_seen.lvt_timer, ap_seen.lint0,
	       ap_seen.lint1, ap_seen.lvt_error, (unsigned long long)ap_seen.base);
}

/* Which vCPUs take an IPI of VEC_LOGICAL sent with icr to dest: bit n for vCPU n. */
static unsigned int takers(uint32_t dest, uint32_t icr)
{
	unsigned int b0 = hits[0][5], b1 = hits[1][5];

	lapic_ipi(dest, icr | VEC_LOGICAL);
	lapic_ipi_wait();
	/* Who takes it is the question, not how fast: room for vCPU 1 to be scheduled. */
	idle_ms(50);
	return (hits[0][5] != b0) | (hits[1][5] != b1) << 1;
}

/* vCPU 1 loads a new DFR and LDR (it must write its own registers). */
static bool ap_set_logical(uint32_t dfr, uint32_t ldr)
{
	unsigned int n = hits[1][1];

	ap_new_dfr = dfr;
	__atomic_store_n(&ap_new_ldr, ldr, __ATOMIC_SEQ_CST);
	lapic_ipi(1, ICR_FIXED | VEC_IPI);
	wait_for(&hits[1][1], n + 1);
	for (unsigned int i = 0; i < 1000000 && __atomic_load_n(&ap_new_ldr, __ATOMIC_SEQ_CST); i++)
		pause();
	return !ap_new_ldr;
}

static void check_ipi_destinations(void)
{
	unsigned int t1, t2, t3;

	t1 = takers(0xff, ICR_FIXED);
	CHECKF(t1 == 3, "ipi_physical_broadcast", "taken by vCPU mask 0x%x", t1);
	/* Cluster model: cluster 1 holds vCPU 0 (bit 0) and vCPU 1 (bit 1). */
	lapic_write(LAPIC_DFR, 0x0fffffff);
	lapic_write(LAPIC_LDR, 0x11000000);
	if (ap_set_logical(0x0fffffff, 0x12000000)) {
		t1 = takers(0x12, ICR_LOGICAL | ICR_FIXED);
		t2 = takers(0x13, ICR_LOGICAL | ICR_FIXED);
		t3 = takers(0x23, ICR_LOGICAL | ICR_FIXED);
		CHECKF(t1 == 2 && t2 == 3 && t3 == 0, "ipi_logical_cluster",
		       "cluster 1 bit 1 -> 0x%x, bits 0-1 -> 0x%x, cluster 2 -> 0x%x", t1, t2, t3);
	} else {
		CHECKF(false, "ipi_logical_cluster", "vCPU 1 did not take its new LDR");
	}
	lapic_write(LAPIC_DFR, 0xffffffff);
	lapic_write(LAPIC_LDR, 0x01000000);
	ap_set_logical(0xffffffff, 0x02000000);
	/*
	 * Lowest priority to both: vCPU 1 (PPR 0) wins over vCPU 0 (TPR 0x80).
	 * QEMU 7.2 gives it to the first local APIC named: ours only.
	 */
	if (!vmk_skip("ipi_lowest_priority")) {
		unsigned int b0 = hits[0][5], b1 = hits[1][5];

		lapic_write(LAPIC_TPR, 0x80);
		lapic_ipi(0x03, ICR_LOGICAL | ICR_LOWEST | VEC_LOGICAL);
		lapic_ipi_wait();
		idle_ms(5);
		lapic_write(LAPIC_TPR, 0); /* one that vCPU 0 held back under TPR comes now */
		idle_ms(1);
		t1 = (hits[0][5] != b0) | (hits[1][5] != b1) << 1;
		CHECKF(t1 == 2, "ipi_lowest_priority", "taken by vCPU mask 0x%x", t1);
	}
}

static void check_ipis(void)
{
	lapic_ipi(1, ICR_FIXED | VEC_IPI);
	CHECKF(wait_for(&hits[1][1], 1) && hits[0][1] == 0, "ipi_fixed_to_ap",
	       "vCPU 1 took %u, vCPU 0 %u", hits[1][1], hits[0][1]);
	lapic_write(LAPIC_DFR, 0xffffffff);
	lapic_write(LAPIC_LDR, 0x01000000);
	lapic_ipi(0x02, ICR_LOGICAL | ICR_FIXED | VEC_LOGICAL);
	CHECKF(wait_for(&hits[1][5], 1) && hits[0][5] == 0, "ipi_logical_flat",
	       "vCPU 1 took %u, vCPU 0 %u", hits[1][5], hits[0][5]);
	lapic_ipi(0, ICR_ALL_BUT_SELF | ICR_FIXED | VEC_ALL_BUT);
	CHECKF(wait_for(&hits[1][2], 1) && hits[0][2] == 0, "ipi_all_but_self",
	       "vCPU 1 took %u, vCPU 0 %u", hits[1][2], hits[0][2]);
	lapic_ipi(0, ICR_ALL | ICR_FIXED | VEC_ALL);
	CHECKF(wait_for(&hits[1][3], 1) && wait_for(&hits[0][3], 1), "ipi_all_including_self",
	       "vCPU 1 took %u, vCPU 0 %u", hits[1][3], hits[0][3]);
	lapic_ipi(1, ICR_NMI);
	CHECKF(wait_for(&nmis_on_ap, 1), "ipi_nmi_to_ap", "no NMI on vCPU 1");
	__atomic_store_n(&ap_send_back, 1, __ATOMIC_SEQ_CST);
	lapic_ipi(1, ICR_FIXED | VEC_IPI); /* wakes it to look */
	CHECKF(wait_for(&hits[0][4], 1), "ipi_from_ap", "vCPU 0 took %u", hits[0][4]);
	check_ipi_destinations();
}

static void check_smp(void)
{
	bool started;

	for (unsigned int v = 0x51; v <= 0x55; v++)
		irq_register(v, ipi_handler);
	irq_register(2, nmi_handler);
	started = start_ap();
	CHECKF(started, "init_sipi_starts_ap", "vCPU 1 never reached its C code");
	if (!started)
		return;
	check_ap_reset_state("ap_reset_state");
	idle_ms(5);
	CHECKF(ap_starts == 1, "second_sipi_ignored", "vCPU 1 started %u times", ap_starts);
	check_ipis();
	/* INIT again: the AP's APIC is reset and it waits for a new start-up IPI. */
	send_init_sipi();
	CHECKF(wait_for(&ap_starts, 2), "init_restarts_ap", "vCPU 1 started %u times", ap_starts);
	check_ap_reset_state("init_resets_ap_apic");
	/* Parked by INIT, vCPU 1 can also be started by HC_VCPU_START (in 32-bit mode). */
	if (!vmk_skip("hc_vcpu_start_after_init")) {
		long r;

		lapic_ipi(1, ICR_INIT | ICR_ASSERT);
		lapic_ipi_wait();
		wait_tsc(ms(10));
		r = vmcall(HC_VCPU_START, 1, (uintptr_t)ap_entry_hc,
			   (uintptr_t)(lapic_ap_stack + sizeof(lapic_ap_stack)));
		CHECKF(r == 0 && wait_for(&ap_starts, 3), "hc_vcpu_start_after_init",
		       "HC_VCPU_START returned %ld, vCPU 1 started %u times", r, ap_starts);
	}
}

/* ---- x2APIC ---- */

static volatile unsigned int x2_hits[2];

static void x2_handler(struct trap_frame *f)
{
	x2_hits[f->vector - VEC_X2_SELF]++;
	wrmsr(X2APIC_MSR(LAPIC_EOI), 0);
}

static void check_x2apic(void)
{
	static const char *names[] = { "x2apic_enable", "x2apic_id_version", "x2apic_ldr",
				       "x2apic_self_ipi", "x2apic_icr", "x2apic_eoi_nonzero_gp",
				       "x2apic_icr_high_gp", "x2apic_to_xapic_gp" };
	uint32_t ver = lapic_read(LAPIC_VER);
	uint64_t base = rdmsr(MSR_IA32_APIC_BASE), v = 0;
	int f;

	if (!cpuid_has(1, 'c', 21)) {
		for (unsigned int i = 0; i < 8; i++)
			SKIP(names[i], "CPUID: no x2APIC");
		return;
	}
	irq_register(VEC_X2_SELF, x2_handler);
	irq_register(VEC_X2_ICR, x2_handler);
	f = try_wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_EXTD);
	CHECKF(f < 0, names[0], "vector %d", f);
	if (f >= 0)
		return;
	x2mode = true;
	CHECKF(rdmsr(X2APIC_MSR(LAPIC_ID)) == 0 && rdmsr(X2APIC_MSR(LAPIC_VER)) == ver, names[1],
	       "ID 0x%llx version 0x%llx (xAPIC version 0x%x)",
	       (unsigned long long)rdmsr(X2APIC_MSR(LAPIC_ID)),
	       (unsigned long long)rdmsr(X2APIC_MSR(LAPIC_VER)), ver);
	/* Logical ID of x2APIC ID 0: cluster 0, bit 0 (SDM 3A 11.12.10.2). */
	CHECK_EQ64(rdmsr(X2APIC_MSR(LAPIC_LDR)), 1, names[2]);
	wrmsr(X2APIC_MSR(LAPIC_SELF_IPI), VEC_X2_SELF);
	asm volatile("sti; nop; cli" : : : "memory");
	CHECK_EQ(x2_hits[0], 1, names[3]);
	wrmsr(X2APIC_MSR(LAPIC_ICR_LO), ICR_SELF | ICR_FIXED | VEC_X2_ICR);
	asm volatile("sti; nop; cli" : : : "memory");
	CHECK_EQ(x2_hits[1], 1, names[4]);
	f = try_wrmsr(X2APIC_MSR(LAPIC_EOI), 1);
	CHECKF(f == VEC_GP, names[5], "vector %d", f);
	f = try_rdmsr(X2APIC_MSR(LAPIC_ICR_HI), &v);
	CHECKF(f == VEC_GP, names[6], "vector %d", f);
	/* x2APIC -> xAPIC without passing through "disabled" is invalid (SDM 3A 11.12.5). */
	f = try_wrmsr(MSR_IA32_APIC_BASE, base & ~(uint64_t)APIC_BASE_EXTD);
	CHECKF(f == VEC_GP && (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD), names[7],
	       "vector %d", f);
}

void guest_main(void)
{
	pic_init(0x20); /* masked: firmware's PIC timer must not reach us through LINT0 */
	tsc_rate = tsc_hz();
	irq_register(VEC_TIMER, timer_handler);
	irq_register(VEC_ERROR, error_handler);
	irq_register(VEC_SELF, record_eoi);
	irq_register(VEC_LOW, record_eoi);
	irq_register(VEC_HIGH, record_eoi);
	irq_register(VEC_NEST, nest_handler);
	irq_register(VEC_NEST_HIGH, record_eoi);
	irq_register(VEC_SAME_CLASS, record_eoi);
	irq_register(VEC_TPR_LOW, record_eoi);
	irq_register(VEC_TPR_HIGH, record_eoi);
	check_registers();
	check_priorities();
	check_timer();
	check_smp();
	check_x2apic();
}
