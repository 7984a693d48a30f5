/*
 * bench: the average cost, in TSC ticks, of operations that exit to the
 * VMM: CPUID, VMCALL, IN from an emulated port and RDMSR of an intercepted
 * MSR; then the local APIC round trips an OS lives on: an EOI write, a
 * self-IPI taken and EOIed, a TSC-deadline timer armed in the past taken
 * and EOIed, and an IPI to the other vCPU answered by an IPI back (with
 * two vCPUs). Prints "bench: NAME N cycles" per operation for `make
 * bench`. In Bochs the TSC counts emulated instructions, so N is a path
 * length; on hardware and under QEMU it is a time. A figure, never a
 * pass/fail. The same guest runs with the CPU's APIC virtualization and
 * with it turned off (bench_noapicv.vmx), so both paths are measured.
 */
#include "guest.h"
#include "cpu.h"
#include "lapic.h"
#include "trap.h"

const char guest_name[] = "bench";

#define ITERS 10000u

static void op_cpuid(void)
{
	uint32_t a = 0, b, c = 0, d;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}

static void op_vmcall(void)
{
	hc_version();
}

static void op_inb(void)
{
	(void)inb(0x3fd);
}

static void op_rdmsr(void)
{
	(void)rdmsr(MSR_IA32_APIC_BASE);
}

static void op_none(void)
{
}

static __attribute__((noinline)) uint32_t measure(void (*op)(void))
{
	uint64_t t0, t1;
	unsigned int i;

	op();
	t0 = rdtsc();
	for (i = 0; i < ITERS; i++)
		op();
	t1 = rdtsc();
	return (uint32_t)udiv64(t1 - t0, ITERS, NULL);
}

/* ---- local APIC round trips ---- */

#define VEC_SELF 0x60	/* self-IPI */
#define VEC_TIMER 0x61	/* TSC-deadline timer */
#define VEC_PING 0x62	/* vCPU 0 -> vCPU 1 */
#define VEC_PONG 0x63	/* vCPU 1 -> vCPU 0, in answer */

static volatile unsigned int taken;	/* interrupts taken by vCPU 0 */
static volatile unsigned int ap_up;
static uint8_t ap_stack[4096] __attribute__((aligned(16)));

void ap_start(void);
void ap_main(void);

asm(".text\n"
    ".globl ap_start\n"
    "ap_start:\n"
    "	call ap_main\n"
    "1:	cli\n"
    "	hlt\n"
    "	jmp 1b\n");

static void count_and_eoi(struct trap_frame *f)
{
	(void)f;
	taken++;
	lapic_eoi();
}

/* vCPU 1: answer every ping with a pong. */
static void pong(struct trap_frame *f)
{
	(void)f;
	lapic_ipi(0, ICR_FIXED | VEC_PONG);
	lapic_eoi();
}

void ap_main(void)
{
	trap_load_ap();
	lapic_enable();
	__atomic_store_n(&ap_up, 1, __ATOMIC_RELEASE);
	for (;;)
		asm volatile("sti; hlt; cli" : : : "memory");
}

/* Wait (interrupts on) until vCPU 0 has taken one more interrupt than n. */
static void wait_taken(unsigned int n)
{
	asm volatile("sti" : : : "memory");
	while (taken == n)
		asm volatile("pause" : : : "memory");
	asm volatile("cli" : : : "memory");
}

static void op_eoi(void)
{
	lapic_eoi();
}

static void op_self_ipi(void)
{
	unsigned int n = taken;

	lapic_write(LAPIC_ICR_LO, ICR_SELF | ICR_FIXED | VEC_SELF);
	wait_taken(n);
}

static void op_tsc_deadline(void)
{
	unsigned int n = taken;

	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc());
	wait_taken(n);
}

static void op_ipi_pingpong(void)
{
	unsigned int n = taken;

	lapic_ipi(1, ICR_FIXED | VEC_PING);
	wait_taken(n);
}

static bool have_tsc_deadline(void)
{
	uint32_t a = 1, b, c = 0, d;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return c & (1u << 24);
}

/* Start vCPU 1 (HC_VCPU_START) and wait for its APIC to be on: false if it never came. */
static bool start_ap(void)
{
	long r = vmcall(HC_VCPU_START, 1, (uintptr_t)ap_start,
			(uintptr_t)(ap_stack + sizeof(ap_stack)));

	if (r != 0)
		return false;
	for (unsigned int i = 0; i < 100000000u && !__atomic_load_n(&ap_up, __ATOMIC_ACQUIRE); i++)
		asm volatile("pause");
	return ap_up;
}

static void bench_lapic(void)
{
	trap_init();
	irq_register(VEC_SELF, count_and_eoi);
	irq_register(VEC_TIMER, count_and_eoi);
	irq_register(VEC_PING, pong);
	irq_register(VEC_PONG, count_and_eoi);
	lapic_enable();
	gprintf("bench: eoi %u cycles\n", measure(op_eoi));
	gprintf("bench: self_ipi %u cycles\n", measure(op_self_ipi));
	if (have_tsc_deadline()) {
		lapic_write(LAPIC_LVT_TIMER, TIMER_TSC_DEADLINE | VEC_TIMER);
		gprintf("bench: tsc_deadline_timer %u cycles\n", measure(op_tsc_deadline));
		lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	} else {
		gprintf("bench: tsc_deadline_timer skipped (CPUID has no TSC-deadline timer)\n");
	}
	if (!vmk_present())
		gprintf("bench: ipi_pingpong skipped (%s)\n", NOT_VMK);
	else if (!start_ap())
		gprintf("bench: ipi_pingpong skipped (vCPU 1 did not start: the VM needs 2 vCPUs)\n");
	else
		gprintf("bench: ipi_pingpong %u cycles\n", measure(op_ipi_pingpong));
}

void guest_main(void)
{
	static const struct {
		const char *name;
		void (*op)(void);
		bool needs_vmk;
	} ops[] = {
		{ "cpuid", op_cpuid, false },
		{ "vmcall", op_vmcall, true },
		{ "inb", op_inb, false },
		{ "rdmsr", op_rdmsr, false },
	};
	uint32_t base = measure(op_none);
	unsigned int i;

	gprintf("bench: %u iterations each; an empty call costs %u cycles (not subtracted)\n",
		ITERS, base);
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (ops[i].needs_vmk && !vmk_present()) {
			gprintf("bench: %s skipped (%s)\n", ops[i].name, NOT_VMK);
			continue;
		}
		gprintf("bench: %s %u cycles\n", ops[i].name, measure(ops[i].op));
	}
	bench_lapic();
}
