/* In-kernel tests of the world scheduler: round-robin on every CPU, block and wake-up across CPUs. */
#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/ktest.h>
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
