/*
 * bench: the average cost, in TSC ticks, of operations that exit to the
 * VMM: CPUID, VMCALL, IN from an emulated port and RDMSR of an intercepted
 * MSR. Prints "bench: NAME N cycles" per operation for `make bench`. In
 * Bochs the TSC counts emulated instructions, so N is a path length; on
 * hardware and under QEMU it is a time. A figure, never a pass/fail.
 */
#include "guest.h"
#include "cpu.h"

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
}
