/*
 * In-kernel tests of the world scheduler: every CPU runs its worlds, block and
 * wake-up across CPUs, proportional share and limits on one CPU.
 */
#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/ktest.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>

#define WORLDS_PER_CPU 3
#define ROUNDS 50

struct rr_state {
	volatile uint32_t steps;
	volatile uint32_t finished;
	volatile uint32_t wrong_cpu;
};

static void rr_world(void *arg)
{
	struct rr_state *st = arg;
	unsigned cpu = world_current()->cpu;

	for (int i = 0; i < ROUNDS; i++) {
		if (this_cpu_id() != cpu)
			__atomic_fetch_add(&st->wrong_cpu, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&st->steps, 1, __ATOMIC_RELAXED);
		sched_yield();
	}
	__atomic_fetch_add(&st->finished, 1, __ATOMIC_RELEASE);
}

/* Wait (yielding) until cond() or a few seconds have passed. */
static bool wait_for(bool (*cond)(void *), void *arg)
{
	uint64_t deadline = time_ns() + 5000000000ULL;

	while (!cond(arg)) {
		if (time_ns() > deadline)
			return false;
		sched_yield();
	}
	return true;
}

static unsigned rr_expected;

static bool rr_done(void *arg)
{
	return ((struct rr_state *)arg)->finished == rr_expected;
}

KTEST(sched_round_robin)
{
	static struct rr_state st;

	st = (struct rr_state){ 0 };
	rr_expected = 0;
	for (unsigned cpu = 0; cpu < pcpu_count; cpu++) {
		for (int i = 0; i < WORLDS_PER_CPU; i++) {
			KT_ASSERT(world_create("rr", rr_world, &st, cpu, NULL, NULL) != NULL);
			rr_expected++;
		}
	}
	KT_ASSERT(wait_for(rr_done, &st));
	KT_ASSERT_EQ(st.steps, rr_expected * ROUNDS);
	KT_ASSERT_EQ(st.wrong_cpu, 0);
}

struct pingpong {
	struct world *a, *b;
	volatile uint32_t turn;		/* counts hand-overs */
	volatile uint32_t done;
};

static void pong_world(void *arg)
{
	struct pingpong *pp = arg;

	for (uint32_t i = 0; i < 2 * ROUNDS; i += 2) {
		while (pp->turn != i + 1)
			sched_block();
		__atomic_store_n(&pp->turn, i + 2, __ATOMIC_RELEASE);
		sched_wakeup(pp->a);
	}
	__atomic_store_n(&pp->done, 1, __ATOMIC_RELEASE);
}

static bool pp_done(void *arg)
{
	return ((struct pingpong *)arg)->done;
}

KTEST(sched_block_wakeup)
{
	static struct pingpong pp;
	unsigned other = pcpu_count > 1 ? 1 : 0;

	pp = (struct pingpong){ .a = world_current() };
	KT_ASSERT(pp.a != NULL);
	pp.b = world_create("pong", pong_world, &pp, other, NULL, NULL);
	KT_ASSERT(pp.b != NULL);
	for (uint32_t i = 0; i < 2 * ROUNDS; i += 2) {
		__atomic_store_n(&pp.turn, i + 1, __ATOMIC_RELEASE);
		sched_wakeup(pp.b);
		while (pp.turn != i + 2)
			sched_block();
	}
	KT_ASSERT(wait_for(pp_done, &pp));
	KT_ASSERT_EQ(pp.turn, 2 * ROUNDS);
}

/* ---- proportional share and limits (vmkernel/sched_policy.c) on one CPU ---- */

struct spin_state {
	volatile bool stop;
	volatile uint32_t done;
	uint64_t run_tsc[3];
};

static struct spin_state spin_st;

/* Spin, giving the CPU up whenever the scheduler says so, until told to stop. */
static void spin_world(void *arg)
{
	unsigned idx = (unsigned)(uintptr_t)arg;
	struct sched_world_stats st;

	while (!spin_st.stop) {
		if (sched_should_yield())
			sched_yield();
	}
	sched_world_stats(world_current(), &st);
	spin_st.run_tsc[idx] = st.run_tsc;
	__atomic_fetch_add(&spin_st.done, 1, __ATOMIC_RELEASE);
}

static unsigned spin_expected;

static bool spin_done(void *arg)
{
	(void)arg;
	return spin_st.done == spin_expected;
}

/* Run `n` spinning worlds with these parameters on CPU `cpu` for `ms`; their run times. */
static bool spin_for(const struct sched_params *p, unsigned n, unsigned cpu, unsigned ms)
{
	spin_st = (struct spin_state){ 0 };
	spin_expected = n;
	for (unsigned i = 0; i < n; i++) {
		if (!world_create_sched("spin", spin_world, (void *)(uintptr_t)i, cpu, NULL, NULL,
					&p[i]))
			return false;
	}
	/* A wake-up left pending by an earlier test ends a block early: block until the time. */
	for (uint64_t end = rdtsc() + tsc_hz() / 1000 * ms; rdtsc() < end;)
		sched_block_until(end);
	spin_st.stop = true;
	return wait_for(spin_done, NULL);
}

/* Shares 1:3 on one CPU: the run times of two spinning worlds stand 1:3 (+-10%). */
KTEST(sched_shares)
{
	const struct sched_params p[2] = { { .shares = 1000 }, { .shares = 3000 } };
	unsigned cpu = pcpu_count - 1;

	KT_ASSERT(spin_for(p, 2, cpu, 1000));
	KT_ASSERT(spin_st.run_tsc[0] > 0);
	pr_info("sched_shares: shares 1:3 ran 1:%llu.%02llu on CPU %u\n",
		(unsigned long long)(spin_st.run_tsc[1] / spin_st.run_tsc[0]),
		(unsigned long long)(spin_st.run_tsc[1] * 100 / spin_st.run_tsc[0] % 100), cpu);
	KT_ASSERT(spin_st.run_tsc[1] * 10 >= spin_st.run_tsc[0] * 27);
	KT_ASSERT(spin_st.run_tsc[1] * 10 <= spin_st.run_tsc[0] * 33);
}

/* A world limited to 20% of its CPU, alone on it, runs 20% of the time (less one bucket). */
KTEST(sched_limit)
{
	const struct sched_params p[1] = { { .shares = 1000, .max_ppm = 200000 } };
	unsigned cpu = pcpu_count - 1;
	uint64_t t = tsc_hz() / 1000 * 1000;	/* 1 s */

	KT_ASSERT(spin_for(p, 1, cpu, 1000));
	pr_info("sched_limit: limited to 20%% of CPU %u, ran %llu permille of 1 s\n", cpu,
		(unsigned long long)(spin_st.run_tsc[0] * 1000 / t));
	/* At most 20% of the second plus one 100 ms bucket at 20%, plus the stop's slack. */
	KT_ASSERT(spin_st.run_tsc[0] <= t / 5 + t / 50 + t / 50);
	/*
	 * It comes back after each throttle. The floor is loose on purpose: under
	 * QEMU the TSC follows the host's clock, and time the emulator thread
	 * loses on a busy host while the world is eligible is lost to it (its
	 * bucket holds 100 ms), so only "runs far less than its limit" is a bug.
	 */
	KT_ASSERT(spin_st.run_tsc[0] >= t / 10);
}
