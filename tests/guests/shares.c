/*
 * shares: a CPU-bound guest that measures the share of the CPU it gets.
 *
 * It spins in chunks of a fixed loop and counts the chunks it completes in
 * a window of its own TSC (after a warm-up, so that every VM of the set
 * is running, and before a cool-down, so that they still are when it
 * stops counting). Under Bochs the TSC counts emulated instructions, so
 * the count is a deterministic measure of the time the guest ran, not of
 * wall time. It prints
 *   shares: window T ticks, C chunks, P permille of the CPU
 * where P compares C with the chunks it would complete alone (the fastest
 * chunk it saw, times the window). The harness compares the C of the
 * guests of a set (tests/system/run-case.sh, profile vms-shares). With
 * "max=N" on its command line it checks that P stayed at most N permille
 * (its sched.cpu.max), with "min=N" that it got at least N (its
 * sched.cpu.min).
 *
 * With "check=N" (N = 1, 2, 3...: a value of its own) it also keeps state
 * the hypervisor switches lazily and must carry when it moves its vCPU to
 * another host CPU: an x87 register that counts the chunks (FPU state) and
 * IA32_LSTAR holding a value of its own (a guest-owned MSR), both checked
 * after every chunk (tests/system profile vms-migrate).
 *
 * With "wake=N" it is an interrupt-driven guest instead: N times it sets a
 * 5 ms timer (HC_SET_TIMER) and halts, and measures in its TSC how late
 * past the 5 ms its interrupt handler ran: the wake-up latency a halted
 * vCPU sees next to CPU-bound ones (a figure for make bench).
 */
#include "guest.h"
#include "cpu.h"
#include "pc.h"
#include "trap.h"
#include "lapic.h"

const char guest_name[] = "shares";

#define CHUNK 2000	/* loop iterations between TSC reads */

static volatile uint32_t sink;

/* The number after "key=" on the command line, or 0. */
static uint32_t cmdline_num(const char *key)
{
	const char *c = guest_cmdline();
	size_t n = 0;
	uint32_t v = 0;

	while (key[n])
		n++;
	for (; *c; c++) {
		if ((c == guest_cmdline() || c[-1] == ' ') && !__builtin_memcmp(c, key, n) &&
		    c[n] == '=') {
			for (c += n + 1; *c >= '0' && *c <= '9'; c++)
				v = v * 10 + (uint32_t)(*c - '0');
			return v;
		}
	}
	return 0;
}

#define TIMER_VEC 0x40
#define TIMER_US 5000

static volatile uint64_t irq_tsc;

static void timer_handler(struct trap_frame *f)
{
	(void)f;
	irq_tsc = rdtsc();
	lapic_eoi();
}

static void wake_rounds(uint32_t rounds, uint64_t hz)
{
	uint64_t due = udiv64(hz * TIMER_US, 1000000, NULL), worst = 0, sum = 0;
	uint32_t done = 0, rem, over[3] = { 0 };	/* late by more than 1, 5, 10 ms */

	irq_register(TIMER_VEC, timer_handler);
	lapic_enable();
	for (uint32_t i = 0; i < rounds; i++) {
		uint64_t t0 = rdtsc(), late;

		irq_tsc = 0;
		hc_set_timer(TIMER_VEC, TIMER_US);
		while (!irq_tsc)
			sti_hlt();
		cli();
		late = irq_tsc - t0 > due ? irq_tsc - t0 - due : 0;
		sum += late;
		for (int k = 0; k < 3; k++)
			over[k] += late > udiv64(hz * (k == 0 ? 1 : k == 1 ? 5 : 10), 1000, NULL);
		if (late > worst)
			worst = late;
		done++;
	}
	gprintf("shares: wake-up after a %u us timer, %u rounds: %llu TSC ticks late at most, "
		"%llu on average; late by over 1 ms %u times, over 5 ms %u, over 10 ms %u\n",
		TIMER_US, done, (unsigned long long)worst,
		(unsigned long long)udiv64(sum, done ? done : 1, &rem), over[0], over[1], over[2]);
	CHECK_EQ(done, rounds, "wake_rounds");
}

static void chunk(void)
{
	for (uint32_t i = 0; i < CHUNK; i++)
		sink += i;
}

#define MSR_LSTAR 0xc0000082

static uint32_t check_id;		/* check=N: keep and verify state */
static uint32_t checked, state_errors;

static uint64_t lstar_value(void)
{
	return 0xffffffff80000000ULL + check_id * 0x1000ULL;
}

/* x87 st0 = 0 and LSTAR = our value; checked after each chunk. */
static void state_init(void)
{
	unsigned long cr0 = read_cr0();

	if (cr0 & ((1UL << 2) | (1UL << 3)))	/* EM, TS: the x87 must be usable */
		write_cr0(cr0 & ~((1UL << 2) | (1UL << 3)));
	asm volatile("fninit; fldz");
	wrmsr(MSR_LSTAR, lstar_value());
}

/* One more chunk done: st0 += 1 must equal the count, LSTAR must be ours. */
static void state_step(void)
{
	int32_t got;

	asm volatile("fld1; faddp; fistl %0" : "=m"(got));
	checked++;
	if ((uint32_t)got != checked || rdmsr(MSR_LSTAR) != lstar_value()) {
		if (!state_errors++)
			gprintf("shares: state lost after chunk %u: x87 counter %d, LSTAR %#llx\n",
				checked, got, (unsigned long long)rdmsr(MSR_LSTAR));
		state_init();
		asm volatile("fildl %0; faddp" : : "m"(checked));
	}
}

static void work(void)
{
	chunk();
	if (check_id)
		state_step();
}

void guest_main(void)
{
	uint64_t hz = tsc_hz(), start, from, to, t, prev, fastest = ~0ULL, chunks = 0;
	uint32_t max = cmdline_num("max"), min = cmdline_num("min"), permille, rem;

	if (cmdline_num("wake")) {
		wake_rounds(cmdline_num("wake"), hz);
		return;
	}
	check_id = cmdline_num("check");
	if (check_id)
		state_init();

	/*
	 * Warm-up 1 s, window 20 s, cool-down 1 s, all in its own TSC. The window is
	 * long against a 10 ms slice: the SFQ bound (one slice per world) is then
	 * under 1% of the least-weighted guest's CPU time in it.
	 */
	start = rdtsc();
	from = start + hz;
	to = from + 20 * hz;
	gprintf("shares: %llu ticks per second; counting from tick %llu to %llu\n",
		(unsigned long long)hz, (unsigned long long)(from - start),
		(unsigned long long)(to - start));
	for (prev = rdtsc(); prev < from; prev = t) {
		work();
		t = rdtsc();
		if (t - prev < fastest)
			fastest = t - prev;
	}
	for (prev = rdtsc(); prev < to; prev = t) {
		work();
		t = rdtsc();
		chunks++;
		if (t - prev < fastest)
			fastest = t - prev;
	}
	while (rdtsc() < to + hz)
		work();
	/* permille = chunks * fastest * 1000 / window; the window fits 32 bits after >> 8. */
	permille = (uint32_t)udiv64(chunks * fastest * 1000 >> 8, (uint32_t)((to - from) >> 8), &rem);
	gprintf("shares: window %llu ticks, %llu chunks, %u permille of the CPU (a chunk alone: "
		"%llu ticks)\n", (unsigned long long)(to - from), (unsigned long long)chunks,
		permille, (unsigned long long)fastest);
	CHECKF(chunks > 0, "ran", "no chunk completed in the window");
	if (check_id) {
		gprintf("shares: x87 and LSTAR state checked after %u chunks, %u times lost\n",
			checked, state_errors);
		CHECKF(!state_errors, "state_kept", "state lost %u times", state_errors);
	}
	if (max)
		CHECKF(permille <= max, "under_limit", "%u permille, limit %u", permille, max);
	if (min)
		CHECKF(permille >= min, "reservation", "%u permille, reservation %u", permille,
		       min);
}
