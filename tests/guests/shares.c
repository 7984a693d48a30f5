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
 */
#include "guest.h"
#include "cpu.h"
#include "pc.h"

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

static void chunk(void)
{
	for (uint32_t i = 0; i < CHUNK; i++)
		sink += i;
}

void guest_main(void)
{
	uint64_t hz = tsc_hz(), start, from, to, t, prev, fastest = ~0ULL, chunks = 0;
	uint32_t max = cmdline_num("max"), min = cmdline_num("min"), permille, rem;

	/* Warm-up 1 s, window 10 s, cool-down 1 s, all in its own TSC. */
	start = rdtsc();
	from = start + hz;
	to = from + 10 * hz;
	gprintf("shares: %llu ticks per second; counting from tick %llu to %llu\n",
		(unsigned long long)hz, (unsigned long long)(from - start),
		(unsigned long long)(to - start));
	for (prev = rdtsc(); prev < from; prev = t) {
		chunk();
		t = rdtsc();
		if (t - prev < fastest)
			fastest = t - prev;
	}
	for (prev = rdtsc(); prev < to; prev = t) {
		chunk();
		t = rdtsc();
		chunks++;
		if (t - prev < fastest)
			fastest = t - prev;
	}
	while (rdtsc() < to + hz)
		chunk();
	/* permille = chunks * fastest * 1000 / window; the window fits 32 bits after >> 8. */
	permille = (uint32_t)udiv64(chunks * fastest * 1000 >> 8, (uint32_t)((to - from) >> 8), &rem);
	gprintf("shares: window %llu ticks, %llu chunks, %u permille of the CPU (a chunk alone: "
		"%llu ticks)\n", (unsigned long long)(to - from), (unsigned long long)chunks,
		permille, (unsigned long long)fastest);
	CHECKF(chunks > 0, "ran", "no chunk completed in the window");
	if (max)
		CHECKF(permille <= max, "under_limit", "%u permille, limit %u", permille, max);
	if (min)
		CHECKF(permille >= min, "reservation", "%u permille, reservation %u", permille,
		       min);
}
