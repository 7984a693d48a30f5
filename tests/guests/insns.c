/*
 * insns: the remaining instructions a VMM may have to exit on and emulate:
 * WBINVD, INVD, INVLPG, LMSW, CLTS, SMSW (reads the CR0 shadow), MOV to
 * and from debug registers, XSETBV/XGETBV, RDRAND/RDSEED and PAUSE. Each
 * either does what the SDM says or faults as the SDM says.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "insns";

static volatile uint32_t cached = 0x600d;

static void check_cache_tlb(void)
{
	int f;

	cached = 0xc0ffee;
	trap_arm();
	asm volatile(TRAP_TRY("wbinvd") : : : "memory");
	f = trap_done();
	CHECKF(f < 0 && cached == 0xc0ffee, "wbinvd", "vector %d, value 0x%x", f, cached);
	/* A VMM must not really drop the caches: the write above must survive. */
	cached = 0xdecade;
	trap_arm();
	asm volatile(TRAP_TRY("invd") : : : "memory");
	f = trap_done();
	CHECKF(f < 0 && cached == 0xdecade, "invd_keeps_memory", "vector %d, value 0x%x", f,
	       cached);
	trap_arm();
	asm volatile(TRAP_TRY("invlpg (%0)") : : "r"(&cached) : "memory");
	CHECK_EQ(trap_done(), -1, "invlpg");
}

static void check_cr0_forms(void)
{
	uint32_t cr0 = read_cr0(), v;
	uint16_t msw;

	asm volatile("lmsw %w0" : : "r"((uint16_t)(cr0 | CR0_MP | CR0_TS)) : "memory");
	v = read_cr0();
	CHECKF((v & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS), "lmsw_sets", "cr0 0x%x", v);
	asm volatile("clts" : : : "memory");
	v = read_cr0();
	CHECKF(!(v & CR0_TS) && (v & CR0_MP), "clts", "cr0 0x%x", v);
	/* SDM LMSW: it cannot clear PE. */
	asm volatile("lmsw %w0" : : "r"((uint16_t)(cr0 & ~(CR0_PE | CR0_MP))) : "memory");
	v = read_cr0();
	CHECKF((v & CR0_PE) && !(v & CR0_MP), "lmsw_keeps_pe", "cr0 0x%x", v);
	write_cr0(cr0 & ~CR0_NE);
	asm volatile("smsw %0" : "=r"(msw));
	write_cr0(cr0);
	CHECKF(!(msw & CR0_NE), "smsw_reads_shadow", "msw 0x%x with NE cleared", msw);
}

static void check_debug_regs(void)
{
	uint32_t dr0, dr7;

	asm volatile("mov %0, %%dr0" : : "r"(0x12345678));
	asm volatile("mov %%dr0, %0" : "=r"(dr0));
	CHECK_EQ(dr0, 0x12345678, "dr0_round_trip");
	asm volatile("mov %0, %%dr7" : : "r"(0x400));
	asm volatile("mov %%dr7, %0" : "=r"(dr7));
	CHECK_EQ(dr7, 0x400, "dr7_round_trip");
}

static int try_xsetbv(uint32_t idx, uint64_t v)
{
	trap_arm();
	asm volatile(TRAP_TRY("xsetbv")
		     : : "c"(idx), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	return trap_done();
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static void check_xsetbv(void)
{
	uint32_t cr4 = read_cr4();
	uint64_t xcr0;
	int f;

	if (!cpuid_has(1, 'c', 26)) {
		SKIP("xsetbv", "CPUID reports no XSAVE");
		return;
	}
	write_cr4(cr4 | CR4_OSXSAVE);
	xcr0 = xgetbv0();
	CHECKF(xcr0 & 1, "xgetbv_x87", "xcr0 0x%llx", (unsigned long long)xcr0);
	f = try_xsetbv(0, 1);
	CHECKF(f < 0 && xgetbv0() == 1, "xsetbv_x87_only", "vector %d, xcr0 0x%llx", f,
	       (unsigned long long)xgetbv0());
	f = try_xsetbv(0, 0);
	CHECKF(f == VEC_GP && xgetbv0() == 1, "xsetbv_zero_gp", "vector %d", f);
	f = try_xsetbv(0, 2);
	CHECKF(f == VEC_GP && xgetbv0() == 1, "xsetbv_sse_without_x87_gp", "vector %d", f);
	try_xsetbv(0, xcr0);
	write_cr4(cr4);
}

static void check_random(void)
{
	uint32_t a = 0, b = 0;
	unsigned int i, ok = 0;
	uint8_t cf;

	if (!cpuid_has(1, 'c', 30)) {
		SKIP("rdrand", "CPUID reports no RDRAND");
	} else {
		for (i = 0; i < 10 && ok < 2; i++) {
			asm volatile("rdrand %0; setc %1" : "=r"(b), "=qm"(cf));
			if (cf && !ok++)
				a = b;
		}
		CHECKF(ok == 2 && a != b, "rdrand", "%u successes, values 0x%x 0x%x", ok, a, b);
	}
	if (cpuid(0, 0).eax < 7 || !((cpuid(7, 0).ebx >> 18) & 1)) {
		SKIP("rdseed", "CPUID reports no RDSEED");
		return;
	}
	for (i = 0, ok = 0; i < 100 && !ok; i++) {
		asm volatile("rdseed %0; setc %1" : "=r"(a), "=qm"(cf));
		ok = cf;
	}
	CHECKF(ok, "rdseed", "no success in 100 tries");
}

static void check_pause(void)
{
	unsigned int i;
	uint64_t t0 = rdtsc();

	/* A long PAUSE loop: PAUSE-loop exiting may fire; the guest just continues. */
	for (i = 0; i < 100000; i++)
		pause();
	CHECKF(rdtsc() > t0, "pause_loop", "TSC did not advance");
}

void guest_main(void)
{
	check_cache_tlb();
	check_cr0_forms();
	check_debug_regs();
	check_xsetbv();
	check_random();
	check_pause();
}
