/*
 * hostile_leak: state that VMX does not switch by itself must not leak
 * between VMs that share a host CPU: x87, SSE and AVX registers, the debug
 * registers DR0-DR3, the SYSCALL MSRs (STAR, LSTAR, CSTAR, FMASK),
 * KERNEL_GS_BASE, TSC_AUX and CR2.
 *
 *  paint   (command line) fills all of it with a pattern of its own, again
 *          and again, sleeping on a timer in between so the others run.
 *  (none)  the checker, on the same host CPU: after the painter has run it
 *          sees none of the painter's pattern, then fills everything with a
 *          pattern of its own, lets the painter run again, and finds its
 *          own values intact. Ten rounds.
 */
#include "guest.h"
#include "cpu.h"
#include "lapic.h"
#include "trap.h"

const char guest_name[] = "hostile_leak";

#define TIMER_VEC 0x40
#define ROUNDS 10
#define PAINT 0x5eed5eed00000000ULL	/* the painter's values: PAINT | index */
#define MINE 0x0c0ffee000000000ULL	/* the checker's */
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)

enum { R_STAR, R_LSTAR, R_CSTAR, R_FMASK, R_KGS, R_TSC_AUX, R_DR0, R_DR1, R_DR2, R_DR3, R_CR2,
       R_X87, R_XMM0, R_YMM0_HI = R_XMM0 + 8, R_COUNT = R_YMM0_HI + 8 };

static const char *const names[R_COUNT] = {
	"STAR", "LSTAR", "CSTAR", "FMASK", "KERNEL_GS_BASE", "TSC_AUX", "DR0", "DR1", "DR2", "DR3",
	"CR2", "x87 ST0", "XMM0", "XMM1", "XMM2", "XMM3", "XMM4", "XMM5", "XMM6", "XMM7",
	"YMM0 upper", "YMM1 upper", "YMM2 upper", "YMM3 upper", "YMM4 upper", "YMM5 upper",
	"YMM6 upper", "YMM7 upper",
};

static volatile unsigned ticks;
static bool have_avx, have_tsc_aux;
static uint64_t vec[16][4] __attribute__((aligned(32)));	/* 8 xmm/ymm images */

static void tick(struct trap_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

static void sleep_ms(unsigned ms)
{
	unsigned before = ticks;

	hc_set_timer(TIMER_VEC, ms * 1000ul);
	while (ticks == before)
		sti_hlt();
	asm volatile("cli");
}

/* SSE (and AVX, where the vCPU has it) on: CR0.EM off, CR4.OSFXSR, XCR0 x87|SSE|AVX. */
static void vector_on(void)
{
	struct cpuid_regs one = cpuid(1, 0);

	write_cr0((read_cr0() & ~CR0_EM) | CR0_MP);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	if ((one.ecx & (1u << 26)) && (one.ecx & (1u << 28)) && (cpuid(0xd, 0).eax & 4)) {
		write_cr4(read_cr4() | CR4_OSXSAVE);
		asm volatile("xsetbv" : : "c"(0), "a"(7), "d"(0));
		have_avx = true;
	}
	have_tsc_aux = cpuid(0x80000001, 0).edx & (1u << 27);
}

static void set_dr(unsigned n, uint32_t v)
{
	switch (n) {
	case 0: asm volatile("mov %0, %%dr0" : : "r"(v)); break;
	case 1: asm volatile("mov %0, %%dr1" : : "r"(v)); break;
	case 2: asm volatile("mov %0, %%dr2" : : "r"(v)); break;
	default: asm volatile("mov %0, %%dr3" : : "r"(v)); break;
	}
}

static uint32_t get_dr(unsigned n)
{
	uint32_t v;

	switch (n) {
	case 0: asm volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: asm volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: asm volatile("mov %%dr2, %0" : "=r"(v)); break;
	default: asm volatile("mov %%dr3, %0" : "=r"(v)); break;
	}
	return v;
}

/* What register r holds after fill(base). */
static uint64_t want(uint64_t base, unsigned r)
{
	if (r == R_FMASK)
		return (uint32_t)(base >> 32) ^ r;
	if (r <= R_CSTAR || r == R_KGS)
		return (base | r) & 0x00007fffffffffffULL;
	if (r == R_TSC_AUX)
		return have_tsc_aux ? ((uint32_t)(base >> 32) ^ R_TSC_AUX) : 0;
	if (r <= R_CR2)
		return (uint32_t)(base >> 32) ^ r;
	if (r == R_X87)
		return base | R_X87;
	if (r < R_YMM0_HI)
		return base | ((uint64_t)r << 8);
	return have_avx ? base | ((uint64_t)(r - R_YMM0_HI + R_XMM0) << 8) | 2 : 0;
}

/* Load every register from pattern base. */
static void fill(uint64_t base)
{
	static const uint32_t msrs[] = { MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR,
					 MSR_IA32_FMASK, MSR_IA32_KERNEL_GS_BASE };
	int64_t x87 = (int64_t)(base | R_X87);

	for (unsigned i = 0; i < 5; i++)	/* canonical; FMASK has 32 bits */
		wrmsr(msrs[i], want(base, i == 4 ? R_KGS : i));
	if (have_tsc_aux)
		wrmsr(MSR_IA32_TSC_AUX, (uint32_t)(base >> 32) ^ R_TSC_AUX);
	for (unsigned i = 0; i < 4; i++)
		set_dr(i, (uint32_t)(base >> 32) ^ (R_DR0 + i));
	asm volatile("mov %0, %%cr2" : : "r"((uint32_t)(base >> 32) ^ R_CR2));
	asm volatile("fninit\n\tfildll %0" : : "m"(x87));
	for (unsigned i = 0; i < 8; i++)
		for (unsigned w = 0; w < 4; w++)
			vec[i][w] = base | ((uint64_t)(R_XMM0 + i) << 8) | w;
	if (have_avx)
		asm volatile("vmovdqa 0(%0), %%ymm0\n\tvmovdqa 32(%0), %%ymm1\n\t"
			     "vmovdqa 64(%0), %%ymm2\n\tvmovdqa 96(%0), %%ymm3\n\t"
			     "vmovdqa 128(%0), %%ymm4\n\tvmovdqa 160(%0), %%ymm5\n\t"
			     "vmovdqa 192(%0), %%ymm6\n\tvmovdqa 224(%0), %%ymm7"
			     : : "r"(vec) : "memory");
	else
		asm volatile("movdqa 0(%0), %%xmm0\n\tmovdqa 32(%0), %%xmm1\n\t"
			     "movdqa 64(%0), %%xmm2\n\tmovdqa 96(%0), %%xmm3\n\t"
			     "movdqa 128(%0), %%xmm4\n\tmovdqa 160(%0), %%xmm5\n\t"
			     "movdqa 192(%0), %%xmm6\n\tmovdqa 224(%0), %%xmm7"
			     : : "r"(vec) : "memory");
}

/* Read every register back: got[r] is what register r holds now (vector words: the low 64 bits). */
static void read_all(uint64_t got[R_COUNT])
{
	static const uint32_t msrs[] = { MSR_IA32_STAR, MSR_IA32_LSTAR, MSR_IA32_CSTAR,
					 MSR_IA32_FMASK, MSR_IA32_KERNEL_GS_BASE };
	uint16_t tags;
	int64_t x87 = 0;

	for (unsigned i = 0; i < 5; i++)
		got[i] = rdmsr(msrs[i]);
	got[R_TSC_AUX] = have_tsc_aux ? rdmsr(MSR_IA32_TSC_AUX) : 0;
	for (unsigned i = 0; i < 4; i++)
		got[R_DR0 + i] = get_dr(i);
	got[R_CR2] = read_cr2();
	asm volatile("fnstsw %0" : "=m"(tags));
	asm volatile("fistpll %0" : "=m"(x87));	/* an empty stack gives the indefinite integer */
	got[R_X87] = (uint64_t)x87;
	__builtin_memset(vec, 0, sizeof(vec));
	if (have_avx)
		asm volatile("vmovdqa %%ymm0, 0(%0)\n\tvmovdqa %%ymm1, 32(%0)\n\t"
			     "vmovdqa %%ymm2, 64(%0)\n\tvmovdqa %%ymm3, 96(%0)\n\t"
			     "vmovdqa %%ymm4, 128(%0)\n\tvmovdqa %%ymm5, 160(%0)\n\t"
			     "vmovdqa %%ymm6, 192(%0)\n\tvmovdqa %%ymm7, 224(%0)"
			     : : "r"(vec) : "memory");
	else
		asm volatile("movdqa %%xmm0, 0(%0)\n\tmovdqa %%xmm1, 32(%0)\n\t"
			     "movdqa %%xmm2, 64(%0)\n\tmovdqa %%xmm3, 96(%0)\n\t"
			     "movdqa %%xmm4, 128(%0)\n\tmovdqa %%xmm5, 160(%0)\n\t"
			     "movdqa %%xmm6, 192(%0)\n\tmovdqa %%xmm7, 224(%0)"
			     : : "r"(vec) : "memory");
	for (unsigned i = 0; i < 8; i++) {
		got[R_XMM0 + i] = vec[i][0];
		got[R_YMM0_HI + i] = have_avx ? vec[i][2] : 0;
	}
}

static void __attribute__((noreturn)) paint(void)
{
	gprintf("%s: painting x87/SSE%s, DR0-3, SYSCALL MSRs, KERNEL_GS_BASE%s and CR2 for ever\n",
		guest_name, have_avx ? "/AVX" : "", have_tsc_aux ? ", TSC_AUX" : "");
	for (;;) {
		fill(PAINT);
		sleep_ms(3);
	}
}

void guest_main(void)
{
	uint64_t got[R_COUNT];
	unsigned leaks = 0, lost = 0;

	lapic_enable();
	irq_register(TIMER_VEC, tick);
	vector_on();
	if (cmdline_has("paint"))
		paint();
	if (vmk_skip("no_state_from_other_vms"))
		guest_finish();
	for (unsigned round = 0; round < ROUNDS; round++) {
		sleep_ms(20);		/* the painter runs on this CPU meanwhile */
		read_all(got);
		for (unsigned r = 0; r < R_COUNT; r++) {
			if (got[r] == want(PAINT, r) && want(PAINT, r)) {
				if (!leaks++)
					gprintf("%s: round %u: %s holds the other VM's 0x%llx\n",
						guest_name, round, names[r],
						(unsigned long long)got[r]);
			}
		}
		fill(MINE | ((uint64_t)round << 32));
		sleep_ms(20);
		read_all(got);
		for (unsigned r = 0; r < R_COUNT; r++) {
			uint64_t w = want(MINE | ((uint64_t)round << 32), r);

			if (got[r] != w && !lost++)
				gprintf("%s: round %u: %s is 0x%llx, it was set to 0x%llx\n", guest_name,
					round, names[r], (unsigned long long)got[r],
					(unsigned long long)w);
		}
	}
	CHECKF(!leaks, "no_state_from_other_vms", "%u register values came from the painter", leaks);
	CHECKF(!lost, "own_state_kept", "%u register values changed behind its back", lost);
	gprintf("%s: %u rounds, %s\n", guest_name, ROUNDS, have_avx ? "with AVX" : "SSE only");
	guest_finish();
}
