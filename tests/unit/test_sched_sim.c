/*
 * Host-side simulator of the CPU scheduler: the very policy the vmkernel
 * runs (vmkernel/sched_policy.c) and the very placement of CPU admission
 * control (vmm/admission_calc.c), driven by synthetic worlds over
 * simulated minutes on several simulated CPUs.
 *
 * Time is in nanoseconds and advances in steps of 100 us. Like the
 * vmkernel, a running world is looked at only when it would exit: when
 * its allowance runs out (the VMX preemption timer), at the periodic tick
 * (10 ms), when a wake-up on its CPU sends an IPI, or when it blocks. A
 * world either computes for ever (a hog), or alternates runs of `burst`
 * with blocked spells of `sleep` (I/O-bound, or phases of work and idle).
 * Every step checks that no CPU idles while one of its ready worlds was
 * eligible (work conservation, limits aside).
 *
 * With S.balance on, worlds whose parameters name an affinity move between
 * CPUs as in the vmkernel (vmkernel/sched_balance.c): every tick each CPU
 * runs the periodic balance against every other and applies the best
 * plan, and a CPU with nothing to pick pulls first. Moves take effect at
 * once here (the vmkernel needs an IPI and a VMCLEAR first). Every step
 * then also checks that each world runs inside its affinity, and that no
 * CPU idles while another busy CPU has a ready world that could move to it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/sched_policy.h>
#include <vmm/admission.h>

#define US 1000ULL
#define MS (1000 * US)
#define SEC (1000 * MS)
#define DT (100 * US)
#define TICK (10 * MS)
#define MAX_W 32
#define MAX_CPU 8
#define FOREVER UINT64_MAX

struct sim_world {
	struct sched_entity se;	/* first: the policy hands back its entity */
	const char *name;
	unsigned cpu;
	uint64_t burst, sleep;	/* burst FOREVER: a hog */
	uint64_t left;		/* of the current burst */
	uint64_t wake_at;	/* blocked until; 0 = not blocked */
	uint64_t ran;		/* in the measured window */
	uint64_t stall;		/* ready, not running, while a sibling ran (the simulator's count) */
};

struct sim_cpu {
	struct sched_queue q;
	struct sim_world *cur;
	uint64_t ran;		/* of the current run */
	uint64_t check_at;	/* next time the running world exits */
	bool kicked;		/* a wake-up on this CPU: an IPI */
	uint64_t deaf_until;	/* its running world is not looked at before then (a late exit) */
	uint64_t busy;		/* in the measured window */
};

struct sim {
	struct sim_cpu cpu[MAX_CPU];
	unsigned ncpus;
	struct sim_world w[MAX_W];
	unsigned n;
	uint64_t now, window_from;
	bool balance;		/* migration on */
	uint64_t max_skew;	/* largest stall gap of a waiting vCPU over a sibling */
	struct sim_world *late;	/* when next picked, its run's exit comes late_by late */
	uint64_t late_by;
};

static struct sim S;

static void sim_init(unsigned ncpus)
{
	memset(&S, 0, sizeof(S));
	S.ncpus = ncpus;
	S.now = 1;
	for (unsigned c = 0; c < ncpus; c++) {
		sq_set_timebase(&S.cpu[c].q, MS);
		S.cpu[c].q.cpu = c;
	}
}

/* Add a world; host worlds have shares 0. It starts ready. */
static struct sim_world *sim_add(const char *name, unsigned cpu, struct sched_params p,
				 uint64_t burst, uint64_t sleep)
{
	struct sim_world *w = &S.w[S.n++];

	assert_true(S.n <= MAX_W && cpu < S.ncpus);
	w->name = name;
	w->cpu = cpu;
	w->burst = burst;
	w->sleep = sleep;
	w->left = burst;
	sq_attach(&S.cpu[cpu].q, &w->se, &p, S.now);
	sq_enqueue(&S.cpu[cpu].q, &w->se, S.now, SQ_NEW);
	return w;
}

static struct sched_params vm(uint32_t shares, uint32_t min_ppm, uint32_t max_ppm)
{
	return (struct sched_params){ .shares = shares, .min_ppm = min_ppm, .max_ppm = max_ppm };
}

static const struct sched_params host = { 0 };

/* A VM world that may run on the CPUs of `affinity`, in `group` (NULL: a uniprocessor VM). */
static struct sched_params vmx(uint32_t shares, uint32_t min_ppm, uint64_t affinity,
			       struct sched_group *group)
{
	return (struct sched_params){ .shares = shares, .min_ppm = min_ppm, .affinity = affinity,
				      .group = group };
}

static struct sim_world *world_of(struct sched_entity *e)
{
	return (struct sim_world *)e;
}

static void sim_move(unsigned from, unsigned to, struct sched_entity *e)
{
	sq_move(&S.cpu[from].q, &S.cpu[to].q, e, S.now);
	world_of(e)->cpu = to;
}

/* Each queue's count of movable entities, which the vmkernel reads to skip queues. */
static void assert_movable_counts(void)
{
	for (unsigned c = 0; c < S.ncpus; c++) {
		uint32_t n = 0;

		for (const struct sched_entity *e = S.cpu[c].q.all; e; e = e->all_next)
			n += sq_movable(e);
		if (n != S.cpu[c].q.movable)
			fail_msg("CPU %u counts %u movable worlds, has %u", c, S.cpu[c].q.movable, n);
	}
}

/*
 * Every tick, each CPU runs the periodic balance against the others and
 * applies its best plan, skipping CPUs with no movable world as the
 * vmkernel does.
 */
static void balance_tick(void)
{
	assert_movable_counts();
	for (unsigned c = 0; c < S.ncpus; c++) {
		struct sq_plan best = { 0 }, plan;
		uint64_t best_gain = 0;
		unsigned best_d = 0;

		for (unsigned d = 0; d < S.ncpus; d++) {
			uint64_t gain;

			if (d == c || !S.cpu[d].q.movable)
				continue;
			gain = sq_balance_pair(&S.cpu[c].q, &S.cpu[d].q, S.now, &plan);
			if (gain > best_gain) {
				best_gain = gain;
				best = plan;
				best_d = d;
			}
		}
		if (!best_gain)
			continue;
		if (best.pull)
			sim_move(best_d, c, best.pull);
		if (best.push && best.push->running) {
			best.push->move_to = (int)best_d;	/* leaves at its next exit */
			S.cpu[c].kicked = true;
		} else if (best.push) {
			sim_move(c, best_d, best.push);
		}
	}
}

/* c has nothing to run: take a ready world from the busiest CPU that has one for it. */
static bool idle_pull(unsigned c)
{
	struct sched_entity *e = NULL;
	unsigned from = 0, most = 0;

	for (unsigned d = 0; d < S.ncpus; d++) {
		struct sched_entity *cand;
		unsigned n = 0;

		if (d == c || !S.cpu[d].q.movable ||
		    !(cand = sq_pull_candidate(&S.cpu[d].q, &S.cpu[c].q, S.now)))
			continue;
		for (struct sched_entity *r = S.cpu[d].q.ready; r; r = r->next)
			n++;
		if (n > most) {
			most = n;
			e = cand;
			from = d;
		}
	}
	if (e)
		sim_move(from, c, e);
	return e != NULL;
}

/* Idle c: no busy CPU may hold a ready world that could have come here. */
static void assert_nothing_to_pull(unsigned c)
{
	for (unsigned d = 0; d < S.ncpus; d++) {
		if (d == c || !S.cpu[d].q.running)
			continue;
		for (struct sched_entity *r = S.cpu[d].q.ready; r; r = r->next) {
			if (!r->costopped && sq_can_move(&S.cpu[d].q, r, c, S.now))
				fail_msg("CPU %u idles while %s waits on CPU %u", c,
					 world_of(r)->name, d);
		}
	}
}

/* The simulator's own skew count: stall of each ready vCPU while a sibling runs. */
static void count_skew(void)
{
	for (unsigned i = 0; i < S.n; i++) {
		struct sim_world *w = &S.w[i];

		if (!w->se.p.group || !w->se.queued)
			continue;
		for (unsigned j = 0; j < S.n; j++) {
			if (j != i && S.w[j].se.p.group == w->se.p.group && S.w[j].se.running) {
				w->stall += DT;
				break;
			}
		}
	}
	for (unsigned i = 0; i < S.n; i++) {
		for (unsigned j = 0; j < S.n; j++) {
			const struct sim_world *a = &S.w[i], *b = &S.w[j];

			/* a waits to run and has stalled more than b, a sibling */
			if (i != j && a->se.p.group && a->se.p.group == b->se.p.group &&
			    a->se.queued && a->stall > b->stall && a->stall - b->stall > S.max_skew)
				S.max_skew = a->stall - b->stall;
		}
	}
}

static void arm_check(struct sim_cpu *c)
{
	uint64_t a = sq_allowance(&c->q, &c->cur->se, c->ran, S.now);
	uint64_t tick = (S.now / TICK + 1) * TICK;

	c->check_at = S.now + a < tick ? S.now + a : tick;
	c->kicked = false;
}

static void wake_due(void)
{
	for (unsigned i = 0; i < S.n; i++) {
		struct sim_world *w = &S.w[i];

		if (w->wake_at && w->wake_at <= S.now) {
			w->wake_at = 0;
			w->left = w->burst;
			sq_enqueue(&S.cpu[w->cpu].q, &w->se, S.now, SQ_WOKEN);
			S.cpu[w->cpu].kicked = true;
		}
	}
}

/* The running world on c exits: it blocks (burst done) or the policy may take the CPU. */
static void exit_point(struct sim_cpu *c)
{
	struct sim_world *w = c->cur;

	if (!w->left) {
		sq_charge(&c->q, &w->se, c->ran, S.now);
		w->wake_at = S.now + w->sleep;
		c->cur = NULL;
	} else if (w->se.move_to >= 0) {
		unsigned to = (unsigned)w->se.move_to;

		sq_charge(&c->q, &w->se, c->ran, S.now);
		sq_enqueue(&c->q, &w->se, S.now, SQ_PREEMPTED);
		c->cur = NULL;
		sim_move(w->cpu, to, &w->se);
	} else if (sq_should_preempt(&c->q, &w->se, c->ran, S.now)) {
		sq_charge(&c->q, &w->se, c->ran, S.now);
		sq_enqueue(&c->q, &w->se, S.now, SQ_PREEMPTED);
		c->cur = NULL;
	} else {
		arm_check(c);
	}
}

static void step_cpu(struct sim_cpu *c)
{
	bool window = S.now >= S.window_from;

	if (c->cur && S.now >= c->deaf_until &&
	    (!c->cur->left || c->kicked || S.now >= c->check_at))
		exit_point(c);
	if (!c->cur) {
		uint64_t retry;
		struct sched_entity *e = sq_pick(&c->q, S.now, &retry);

		if (!e && S.balance && idle_pull(c->q.cpu))
			e = sq_pick(&c->q, S.now, &retry);
		if (!e && S.balance)
			assert_nothing_to_pull(c->q.cpu);
		if (!e) {
			/* Idle: nothing eligible may be waiting. */
			for (struct sched_entity *r = c->q.ready; r; r = r->next)
				assert_true(retry != 0);
			return;
		}
		c->cur = (struct sim_world *)e;
		c->ran = 0;
		arm_check(c);
		if (c->cur == S.late) {
			/* The host loses this CPU (an emulator's thread descheduled): no exit. */
			c->deaf_until = S.now + S.late_by;
			S.late = NULL;
		}
	}
	/* Affinity: a world runs where it was placed or inside the CPUs it named. */
	if (c->cur->se.p.affinity && !(c->cur->se.p.affinity & (1ULL << c->q.cpu)))
		fail_msg("%s runs on CPU %u outside its affinity", c->cur->name, c->q.cpu);
	c->ran += DT;
	if (c->cur->left != FOREVER)
		c->cur->left = c->cur->left > DT ? c->cur->left - DT : 0;
	if (window) {
		c->cur->ran += DT;
		c->busy += DT;
	}
}

static void sim_run(uint64_t warmup, uint64_t length)
{
	S.window_from = S.now + warmup;
	for (uint64_t end = S.now + warmup + length; S.now < end; S.now += DT) {
		if (S.now == S.window_from) {
			/* Wake-up figures count from here: not the start, when all are new. */
			for (unsigned i = 0; i < S.n; i++)
				S.w[i].se.wake_wait_max = S.w[i].se.wake_wait_sum = S.w[i].se.wakeups = 0;
		}
		wake_due();
		if (S.balance && (S.now - 1) % TICK == 0)
			balance_tick();
		for (unsigned c = 0; c < S.ncpus; c++)
			step_cpu(&S.cpu[c]);
		if (S.now >= S.window_from)
			count_skew();
	}
}

static double frac(const struct sim_world *w, uint64_t length)
{
	return (double)w->ran / (double)length;
}

/* a/b within rel (e.g. 0.01 = 1%) of want. */
static void assert_ratio(const struct sim_world *a, const struct sim_world *b, double want,
			 double rel)
{
	double r = (double)a->ran / (double)b->ran;

	if (r < want * (1 - rel) || r > want * (1 + rel))
		fail_msg("%s/%s = %.4f, want %.2f +- %.1f%%", a->name, b->name, r, want, rel * 100);
}

static void assert_between(double v, double lo, double hi, const char *what)
{
	if (v < lo || v > hi)
		fail_msg("%s = %.4f, want %.4f..%.4f", what, v, lo, hi);
}

/* Shares 1:2:4 on one CPU, next to an I/O-bound host world, over a simulated minute. */
static void test_shares_one_cpu(void **state)
{
	struct sim_world *lo, *mid, *hi, *io;

	(void)state;
	sim_init(1);
	lo = sim_add("low", 0, vm(500, 0, 0), FOREVER, 0);
	mid = sim_add("normal", 0, vm(1000, 0, 0), FOREVER, 0);
	hi = sim_add("high", 0, vm(2000, 0, 0), FOREVER, 0);
	io = sim_add("host-io", 0, host, 200 * US, 10 * MS);
	sim_run(SEC, 60 * SEC);
	assert_ratio(mid, lo, 2.0, 0.01);
	assert_ratio(hi, lo, 4.0, 0.01);
	/* The host world got what it asked for (2%) at once each time. */
	assert_between(frac(io, 60 * SEC), 0.0185, 0.021, "host I/O world's share");
	if (io->se.wake_wait_max > S.cpu[0].q.gran + 2 * DT)
		fail_msg("host wake-up latency %llu ns", (unsigned long long)io->se.wake_wait_max);
	assert_true(S.cpu[0].busy == 60 * SEC);
}

/* Four CPUs, twelve hogs placed by admission control; proportions per CPU, nothing idle. */
static void test_shares_many_cpus(void **state)
{
	static const uint32_t shares[12] = { 500, 1000, 2000, 1000, 1000, 3000,
					     250, 750, 4000, 1234, 4321, 2000 };
	struct cpu_pool pool = { .ncpus = 4, .mhz = 2000, .usable = 0xf };
	char why[300];
	struct linebuf lb = LINEBUF_INIT(why);

	(void)state;
	sim_init(4);
	for (unsigned i = 0; i < 12; i++) {
		unsigned cpu;

		assert_int_equal(cpu_admit_decide(&pool, 1, 0, ~0ULL, &cpu, &lb), 0);
		cpu_admit_account(&pool, 1, 0, &cpu, 1);
		sim_add("hog", cpu, vm(shares[i], 0, 0), FOREVER, 0);
	}
	for (unsigned c = 0; c < 4; c++)
		assert_int_equal(pool.vcpus[c], 3);	/* placed by load */
	sim_run(SEC, 120 * SEC);
	for (unsigned c = 0; c < 4; c++) {
		struct sim_world *w[3];
		unsigned k = 0;

		assert_true(S.cpu[c].busy == 120 * SEC);
		for (unsigned i = 0; i < S.n; i++) {
			if (S.w[i].cpu == c)
				w[k++] = &S.w[i];
		}
		assert_int_equal(k, 3);
		assert_ratio(w[1], w[0], (double)w[1]->se.p.shares / w[0]->se.p.shares, 0.01);
		assert_ratio(w[2], w[0], (double)w[2]->se.p.shares / w[0]->se.p.shares, 0.01);
	}
}

/* A reserved world with tiny shares keeps its reservation against hogs with huge shares. */
static void test_reservation_overload(void **state)
{
	struct sim_world *r;

	(void)state;
	for (int reserved = 0; reserved < 2; reserved++) {
		sim_init(1);
		r = sim_add("reserved", 0, vm(10, reserved ? 500000 : 0, 0), FOREVER, 0);
		for (int i = 0; i < 3; i++)
			sim_add("hog", 0, vm(100000, 0, 0), FOREVER, 0);
		sim_add("host-io", 0, host, 500 * US, 5 * MS);
		sim_run(SEC, 60 * SEC);
		if (reserved)
			assert_between(frac(r, 60 * SEC), 0.5, 1.0, "reserved share");
		else	/* without it, the same world gets next to nothing: the test can fail */
			assert_between(frac(r, 60 * SEC), 0.0, 0.001, "unreserved share");
	}
}

/* A limit caps a world whether the CPU is otherwise idle or contended, without over-throttling. */
static void test_limit_caps(void **state)
{
	struct sim_world *l, *h;

	(void)state;
	sim_init(1);
	l = sim_add("limited", 0, vm(2000, 0, 200000), FOREVER, 0);
	sim_add("host-io", 0, host, 100 * US, 20 * MS);
	sim_run(SEC, 60 * SEC);
	assert_between(frac(l, 60 * SEC), 0.195, 0.2 + 0.02 / 60, "limited alone");

	sim_init(1);
	l = sim_add("limited", 0, vm(100000, 0, 200000), FOREVER, 0);
	h = sim_add("hog", 0, vm(10, 0, 0), FOREVER, 0);
	sim_run(SEC, 60 * SEC);
	assert_between(frac(l, 60 * SEC), 0.195, 0.2 + 0.02 / 60, "limited among hogs");
	assert_between(frac(h, 60 * SEC), 0.79, 0.805, "the hog beside it");
	/* Entitlement: a limited world's weight is capped at its limit, the rest goes on. */
	assert_int_equal(l->se.weight, 200000);
	assert_int_equal(h->se.weight, SCHED_VM_CAPACITY_PPM - 200000);
}

/*
 * A run that overran its budget by far (its exit came late: under an
 * emulator the host may deschedule the CPU's thread for tens of ms while
 * the TSC goes on) is paid back, at most one bucket of it, and then the
 * world runs at its limit again. The refill of a budget that far below
 * zero takes two limit periods; it was once capped at one, so that such
 * a world stayed throttled for ever (the in-kernel test sched_limit
 * under QEMU on a loaded host).
 */
static void test_limit_after_overrun(void **state)
{
	struct sched_queue q = { 0 };
	struct sched_entity e = { 0 };
	struct sched_params p = vm(1000, 0, 200000);
	uint64_t retry, t;
	struct sim_world *l;

	(void)state;
	sq_set_timebase(&q, MS);
	sq_attach(&q, &e, &p, 1);
	sq_enqueue(&q, &e, 1, SQ_NEW);
	assert_ptr_equal(sq_pick(&q, 1, &retry), &e);
	/* A run of 200 ms on a full 20 ms bucket: it owes more than a bucket, and pays one back. */
	t = 1 + 200 * MS;
	sq_charge(&q, &e, 200 * MS, t);
	sq_enqueue(&q, &e, t, SQ_PREEMPTED);
	assert_null(sq_pick(&q, t, &retry));
	/* Paid back at 20%: the bucket owed and one minimal run, 105 ms. */
	assert_int_equal(retry, t + 105 * MS);
	assert_null(sq_pick(&q, retry - 1, &retry));
	assert_ptr_equal(sq_pick(&q, t + 105 * MS, &retry), &e);
	sq_charge(&q, &e, MS, t + 106 * MS);
	sq_enqueue(&q, &e, t + 106 * MS, SQ_PREEMPTED);
	/* Long after, the bucket is full: 20 ms of run. */
	assert_ptr_equal(sq_pick(&q, t + 10 * SEC, &retry), &e);
	assert_int_equal(e.budget, 20 * MS * SCHED_PPM);

	/* The same in the simulator: one late exit of 150 ms, then a minute at the limit. */
	sim_init(1);
	l = sim_add("limited", 0, vm(2000, 0, 200000), FOREVER, 0);
	sim_add("host-io", 0, host, 100 * US, 20 * MS);
	S.late = l;
	S.late_by = 150 * MS;
	sim_run(SEC, 60 * SEC);
	assert_null(S.late);	/* the late run happened, in the warm-up */
	assert_between(frac(l, 60 * SEC), 0.195, 0.2 + 0.02 / 60, "limited after an overrun");
}

/* Affinity: vCPUs are placed only inside it; a reservation that does not fit there is refused. */
static void test_affinity(void **state)
{
	struct cpu_pool pool = { .ncpus = 4, .mhz = 1000, .usable = 0xf };
	unsigned cpu[4];
	char why[400];
	struct linebuf lb = LINEBUF_INIT(why);

	(void)state;
	assert_int_equal(cpu_admit_decide(&pool, 2, 400000, 0x4, cpu, &lb), 0);
	assert_int_equal(cpu[0], 2);
	assert_int_equal(cpu[1], 2);
	cpu_admit_account(&pool, 2, 400000, cpu, 1);
	/* CPU 2 has 100 MHz left of its 900: a 200 MHz vCPU does not fit there. */
	assert_int_equal(cpu_admit_decide(&pool, 1, 200000, 0x4, cpu, &lb), -ENOSPC);
	assert_non_null(strstr(why, "vCPU 0 needs 200 MHz"));
	assert_non_null(strstr(why, "VMs may reserve 900 MHz of each 1000 MHz CPU"));
	assert_non_null(strstr(why, "CPU 2 800"));
	/* Elsewhere it does; siblings are spread, away from the loaded CPU. */
	lb_reset(&lb);
	assert_int_equal(cpu_admit_decide(&pool, 3, 200000, 0x6, cpu, &lb), 0);
	assert_int_equal(cpu[0], 1);
	assert_int_equal(cpu[1], 1);	/* CPU 2 has no room */
	assert_int_equal(cpu_admit_decide(&pool, 2, 0, 0xf, cpu, &lb), 0);
	assert_true(cpu[0] != cpu[1] && cpu[0] != 2 && cpu[1] != 2);
	lb_reset(&lb);
	assert_int_equal(cpu_admit_decide(&pool, 1, 0, 0x30, cpu, &lb), -ENOSPC);
	assert_non_null(strstr(why, "sched.cpu.affinity leaves it no CPU"));
	lb_reset(&lb);
	assert_int_equal(cpu_admit_decide(&pool, 1, 950000, 0xf, cpu, &lb), -ENOSPC);
	assert_non_null(strstr(why, "950 MHz per vCPU"));

	/* In the simulator: worlds run only where they were placed. */
	sim_init(2);
	struct sim_world *a = sim_add("pinned", 1, vm(1000, 0, 0), FOREVER, 0);
	struct sim_world *b = sim_add("other", 0, vm(1000, 0, 0), FOREVER, 0);
	sim_run(0, 10 * SEC);
	assert_true(a->ran == 10 * SEC && b->ran == 10 * SEC);
}

/* A waker within its share runs within one granule; a greedy waker gets no more than its share. */
static void test_wakeup_boost_bounded(void **state)
{
	struct sim_world *io, *g, *h1;

	(void)state;
	sim_init(1);
	io = sim_add("io", 0, vm(1000, 0, 0), 1 * MS, 4 * MS);
	sim_add("hog", 0, vm(1000, 0, 0), FOREVER, 0);
	sim_add("hog", 0, vm(1000, 0, 0), FOREVER, 0);
	sim_run(SEC, 60 * SEC);
	assert_true(io->se.wakeups > 10000);
	if (io->se.wake_wait_max > S.cpu[0].q.gran + 2 * DT)
		fail_msg("wake-up latency %llu ns", (unsigned long long)io->se.wake_wait_max);
	assert_between(frac(io, 60 * SEC), 0.195, 0.201, "I/O world's share (its whole demand)");

	sim_init(1);
	g = sim_add("greedy", 0, vm(1000, 0, 0), 9 * MS, 500 * US);
	h1 = sim_add("hog", 0, vm(1000, 0, 0), FOREVER, 0);
	sim_add("hog", 0, vm(1000, 0, 0), FOREVER, 0);
	sim_run(SEC, 60 * SEC);
	assert_between(frac(g, 60 * SEC), 0.30, 1.0 / 3 + 0.005, "greedy waker's share");
	assert_between(frac(h1, 60 * SEC), 1.0 / 3 - 0.005, 0.36, "hog beside the greedy waker");
}

/*
 * Every run advances a world's tag, however short. With the TSC Bochs
 * gives (10 MHz: 10 000 units a ms) a vCPU that halts and is woken every
 * few microseconds runs about 100 units at a time, and
 * 100 << SCHED_VT_SHIFT / 900 000 is 0: its tag, and vnow with it, once
 * never moved, and a host world whose tag was above (it had run 5 ms) was
 * never picked again. bochs-vms-virtio's console and virtio I/O worlds
 * starved so while their guests waited for I/O.
 */
static void test_short_runs_advance_tag(void **state)
{
	struct sched_queue q;
	struct sched_entity host_w = { 0 }, vcpu = { 0 };
	struct sched_params vm_p = vm(1000, 0, 0);
	uint64_t now = 1, retry;
	unsigned runs = 0;
	struct sched_entity *e;

	(void)state;
	memset(&q, 0, sizeof(q));
	sq_set_timebase(&q, 10000);
	sq_attach(&q, &host_w, &host, now);
	sq_attach(&q, &vcpu, &vm_p, now);
	sq_enqueue(&q, &vcpu, now, SQ_NEW);
	/* The host world runs 5 ms once (picked first); its tag is then ahead of the vCPU's. */
	sq_enqueue(&q, &host_w, now, SQ_NEW);
	e = sq_pick(&q, now, &retry);
	if (e == &vcpu) {
		sq_charge(&q, &vcpu, 10000, now += 10000);
		sq_enqueue(&q, &vcpu, now, SQ_PREEMPTED);
		e = sq_pick(&q, now, &retry);
	}
	assert_ptr_equal(e, &host_w);
	sq_charge(&q, &host_w, 50000, now += 50000);
	sq_enqueue(&q, &host_w, now, SQ_PREEMPTED);
	/* The vCPU runs 10 us at a time, halting and woken at once, for up to 1 s. */
	while ((e = sq_pick(&q, now, &retry)) == &vcpu && runs < 100000) {
		sq_charge(&q, &vcpu, 100, now += 100);
		sq_enqueue(&q, &vcpu, now, SQ_WOKEN);
		runs++;
	}
	/* Its 5 ms at 10% is 500 units of tag: as many runs of the vCPU at most. */
	if (e != &host_w || runs > 600)
		fail_msg("the host world waited through %u runs of the vCPU", runs);
}

/* Host worlds are never starved by VMs with huge shares and full reservations. */
static void test_host_not_starved(void **state)
{
	struct sim_world *hh, *hio;

	(void)state;
	sim_init(1);
	for (int i = 0; i < 8; i++)
		sim_add("vm", 0, vm(1000000, SCHED_VM_CAPACITY_PPM / 8, 0), FOREVER, 0);
	hh = sim_add("host-hog", 0, host, FOREVER, 0);
	hio = sim_add("host-io", 0, host, 100 * US, 3 * MS);
	sim_run(SEC, 60 * SEC);
	assert_between(frac(hh, 60 * SEC), 0.08, 0.11, "CPU-bound host world");
	assert_true(hio->ran > 0);
	if (hio->se.wake_wait_max > S.cpu[0].q.gran + 2 * DT)
		fail_msg("host wake-up latency %llu ns", (unsigned long long)hio->se.wake_wait_max);
	/* Each VM world still gets its reservation (90% / 8, less what the host I/O took). */
	for (unsigned i = 0; i < 8; i++)
		assert_between(frac(&S.w[i], 60 * SEC), 0.105, 0.115, "reserved VM world");
}

/* Worlds with work and idle phases on two CPUs over five minutes: unused time flows by shares. */
static void test_phases(void **state)
{
	struct sim_world *a, *b, *p, *q2, *h2;

	(void)state;
	sim_init(2);
	a = sim_add("hogA", 0, vm(1000, 0, 0), FOREVER, 0);
	b = sim_add("hogB", 0, vm(3000, 0, 0), FOREVER, 0);
	p = sim_add("phased", 0, vm(4000, 0, 0), 2 * SEC, 3 * SEC);
	sim_add("io", 0, vm(1000, 0, 0), 300 * US, 2 * MS);
	q2 = sim_add("phased2", 1, vm(1000, 0, 0), 700 * MS, 1300 * MS);
	h2 = sim_add("hog2", 1, vm(1000, 100000, 300000), FOREVER, 0);
	sim_add("host", 1, host, 1 * MS, 10 * MS);
	sim_run(SEC, 300 * SEC);
	/* The two hogs keep their 1:3 whatever the phased and I/O worlds leave them. */
	assert_ratio(b, a, 3.0, 0.01);
	/* The phased world at 4/9 of CPU 0 while busy: 2 s of work per 4.5 + 3 s. */
	assert_between(frac(p, 300 * SEC), 0.26, 0.27, "phased world on CPU 0");
	/* CPU 0 never idles; CPU 1 idles only because hog2 is limited to 30%. */
	assert_true(S.cpu[0].busy == 300 * SEC);
	assert_between(frac(h2, 300 * SEC), 0.29, 0.301, "limited hog on CPU 1");
	/* phased2 takes all hog2 and the host leave (~61%): 0.7 s of work per 1.15 + 1.3 s. */
	assert_between(frac(q2, 300 * SEC), 0.28, 0.295, "phased world on CPU 1");
}

/*
 * The Bochs set (tests/guests/shares*.vmx): a waker within its share must not wait behind
 * the limited world, whose tag would fall behind while it is throttled if it banked the
 * time it cannot use.
 */
static void test_waker_beside_limited(void **state)
{
	struct sim_world *wk, *lim;

	(void)state;
	sim_init(1);
	sim_add("low", 0, vm(500, 0, 0), FOREVER, 0);
	sim_add("normal", 0, vm(1000, 0, 0), FOREVER, 0);
	sim_add("high", 0, vm(2000, 0, 0), FOREVER, 0);
	lim = sim_add("limited", 0, vm(2000, 0, 100000), FOREVER, 0);
	sim_add("reserved", 0, vm(500, 300000, 0), FOREVER, 0);
	wk = sim_add("waker", 0, vm(2000, 0, 0), 400 * US, 5 * MS);
	sim_run(SEC, 60 * SEC);
	assert_true(wk->se.wakeups > 10000);
	if (wk->se.wake_wait_max > S.cpu[0].q.gran + 2 * DT)
		fail_msg("wake-up latency %llu ns", (unsigned long long)wk->se.wake_wait_max);
	/* Its whole demand: 400 us per 5.4 ms. */
	assert_between(frac(wk, 60 * SEC), 0.0735, 0.0745, "waker's share");
	assert_between(frac(lim, 60 * SEC), 0.099, 0.1 + 0.02 / 60, "limited world");
}

/*
 * A yield (PAUSE-loop exit) gives one turn to another ready world, even one
 * with a later tag, and banks nothing: the yielder's tag catches up with
 * the world picked instead. Alone, a yielder runs on.
 */
static void test_yield_passes_one_turn(void **state)
{
	struct sched_queue q = { 0 };
	struct sched_entity a = { 0 }, b = { 0 };
	struct sched_params p = vm(1000, 0, 0);
	uint64_t retry;

	(void)state;
	sq_set_timebase(&q, MS);
	sq_attach(&q, &a, &p, 1);
	sq_attach(&q, &b, &p, 1);
	a.vt = 1000;		/* a is well ahead of its share, b behind */
	b.vt = 5000;
	sq_enqueue(&q, &b, 1, SQ_PREEMPTED);
	sq_enqueue(&q, &a, 1, SQ_YIELDED);
	assert_ptr_equal(sq_pick(&q, 1, &retry), &b);
	assert_int_equal(a.vt, 5000);		/* passed over: it banks nothing */
	assert_false(a.yielded);
	sq_charge(&q, &b, MS, 2 * MS);
	sq_enqueue(&q, &b, 2 * MS, SQ_PREEMPTED);
	assert_true(b.vt > a.vt);
	assert_ptr_equal(sq_pick(&q, 2 * MS, &retry), &a);	/* one turn only */
	/* Alone on the queue, a yielder runs on. */
	sq_detach(&q, &b);
	sq_enqueue(&q, &a, 3 * MS, SQ_YIELDED);
	assert_ptr_equal(sq_pick(&q, 3 * MS, &retry), &a);
}

/* Every world's share of its CPUs within rel of want; false (and why, in msg) if not. */
static bool shares_within(uint64_t length, double want, double rel, char *msg, size_t len)
{
	for (unsigned i = 0; i < S.n; i++) {
		double f = frac(&S.w[i], length);

		if (f < want * (1 - rel) || f > want * (1 + rel)) {
			snprintf(msg, len, "%s got %.4f of a CPU, want %.4f +- %.0f%%", S.w[i].name, f,
				 want, rel * 100);
			return false;
		}
	}
	return true;
}

static uint64_t total_migrations(void)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < S.n; i++)
		n += S.w[i].se.migrations;
	return n;
}

/*
 * Three equal CPU-bound uniprocessor VMs on two CPUs each get 2/3 of a CPU
 * over two simulated minutes, within 2%. Without migration the same check
 * fails (100% : 50% : 50%), so it can. Migrations stay bounded (the lag
 * rule, about 20 a second, see sched_balance.c).
 */
static void test_global_fairness(void **state)
{
	char msg[200];

	(void)state;
	for (int balance = 0; balance < 2; balance++) {
		sim_init(2);
		S.balance = balance;
		sim_add("hogA", 0, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
		sim_add("hogB", 0, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
		sim_add("hogC", 1, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
		sim_run(SEC, 120 * SEC);
		if (!balance) {
			assert_false(shares_within(120 * SEC, 2.0 / 3, 0.02, msg, sizeof(msg)));
			assert_int_equal(total_migrations(), 0);
			continue;
		}
		if (!shares_within(120 * SEC, 2.0 / 3, 0.02, msg, sizeof(msg)))
			fail_msg("%s", msg);
		print_message("three hogs on two CPUs: %.4f %.4f %.4f, %llu migrations in 121 s\n",
			      frac(&S.w[0], 120 * SEC), frac(&S.w[1], 120 * SEC),
			      frac(&S.w[2], 120 * SEC), (unsigned long long)total_migrations());
		assert_true(total_migrations() <= 30 * 121);
		assert_true(S.cpu[0].busy == 120 * SEC && S.cpu[1].busy == 120 * SEC);
	}
	/* Unequal shares too: 1:2:3 on two CPUs, each its share of the two CPUs. */
	sim_init(2);
	S.balance = true;
	sim_add("s1", 0, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_add("s2", 1, vmx(2000, 0, 0x3, NULL), FOREVER, 0);
	sim_add("s3", 0, vmx(3000, 0, 0x3, NULL), FOREVER, 0);
	sim_run(SEC, 120 * SEC);
	print_message("shares 1:2:3 on two CPUs: %.4f %.4f %.4f\n", frac(&S.w[0], 120 * SEC),
		      frac(&S.w[1], 120 * SEC), frac(&S.w[2], 120 * SEC));
	assert_ratio(&S.w[1], &S.w[0], 2.0, 0.03);
	assert_ratio(&S.w[2], &S.w[0], 3.0, 0.03);
}

/*
 * Balanced already (two equal hogs per CPU on two CPUs, and four on four):
 * nothing moves back and forth. The SFQ bound keeps their gvts within a
 * slice of each other, far under the lag that would swap them.
 */
static void test_no_pingpong(void **state)
{
	(void)state;
	sim_init(2);
	S.balance = true;
	for (int i = 0; i < 4; i++)
		sim_add("hog", (unsigned)i % 2, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_run(SEC, 60 * SEC);
	assert_true(total_migrations() <= 61);	/* at most one a second, in all */
	/* Wakers beside hogs on four CPUs: moves stay a few per second for all of them. */
	sim_init(4);
	S.balance = true;
	for (int i = 0; i < 6; i++)
		sim_add("hog", (unsigned)i % 4, vmx(1000, 0, 0xf, NULL), FOREVER, 0);
	for (int i = 0; i < 4; i++)
		sim_add("io", (unsigned)i, vmx(1000, 0, 0xf, NULL), 2 * MS, 3 * MS);
	sim_run(SEC, 60 * SEC);
	print_message("6 hogs + 4 wakers on 4 CPUs: %llu migrations in 61 s\n",
		      (unsigned long long)total_migrations());
	for (unsigned i = 0; i < S.n; i++)
		print_message("  %s: %llu, ran %.3f\n", S.w[i].name,
			      (unsigned long long)S.w[i].se.migrations, frac(&S.w[i], 60 * SEC));
	/* The residency would allow 50 a second; ping-pong at that pace fails here. */
	for (unsigned i = 0; i < S.n; i++)
		assert_true(S.w[i].se.migrations <= 61 * 1000 / SCHED_RESIDENCY_MS / 2);
}

/*
 * A world that moves away leaves its last run counted on the CPU it ran
 * on. A VM hog that changes CPU after every run (the balancer may move it
 * each residency) was once attached at the new queue's vnow while the
 * queue it left kept vnow at its start tag: vnow, the start tag of the
 * last pick, then never moved on either CPU, and a host world whose tag
 * was above it (it had run) waited for ever: 0 picks of 100 here. In
 * bochs-vms-virtio this starved the console and virtio I/O worlds while
 * the VMs ran on.
 */
static void test_move_counts_last_run(void **state)
{
	struct sched_queue q[2];
	struct sched_entity host_w = { 0 }, hog = { 0 }, other = { 0 };
	struct sched_params vm_p = vmx(1000, 0, 0x3, NULL);
	uint64_t now = 1, retry, run = SCHED_RESIDENCY_MS * MS;
	unsigned host_picks = 0, at = 0;

	(void)state;
	memset(q, 0, sizeof(q));
	for (unsigned c = 0; c < 2; c++) {
		sq_set_timebase(&q[c], MS);
		q[c].cpu = c;
	}
	sq_attach(&q[0], &host_w, &host, now);
	sq_enqueue(&q[0], &host_w, now, SQ_NEW);
	sq_attach(&q[0], &hog, &vm_p, now);
	sq_enqueue(&q[0], &hog, now, SQ_NEW);
	sq_attach(&q[1], &other, &vm_p, now);
	sq_enqueue(&q[1], &other, now, SQ_NEW);
	/* The host world runs once (its tag is then above vnow) and stays ready. */
	while (sq_pick(&q[0], now, &retry) != &host_w) {
		sq_charge(&q[0], &hog, MS, now += MS);
		sq_enqueue(&q[0], &hog, now, SQ_PREEMPTED);
	}
	sq_charge(&q[0], &host_w, MS, now += MS);
	sq_enqueue(&q[0], &host_w, now, SQ_PREEMPTED);
	/* The hog runs one residency on each CPU in turn, preempted to move. */
	for (unsigned i = 0; i < 100; i++) {
		struct sched_entity *e = sq_pick(&q[at], now, &retry);

		assert_non_null(e);
		now += e == &hog ? run : MS;
		sq_charge(&q[at], e, e == &hog ? run : MS, now);
		sq_enqueue(&q[at], e, now, SQ_PREEMPTED);
		if (e == &host_w) {
			host_picks++;
			continue;
		}
		if (e == &hog) {
			sq_move(&q[at], &q[!at], &hog, now);
			at = !at;
		}
	}
	/* About once per visit of the hog to CPU 0 (a third of the picks): never 0. */
	if (host_picks < 5)
		fail_msg("the host world ran %u times in 100 picks beside a moving hog", host_picks);
}

/*
 * Idle pull: bursty worlds all placed on CPU 0 of two. CPU 1 never idles
 * while CPU 0 is busy and has a ready world that may move (checked every
 * step, see step_cpu), and takes a fair part of the work.
 */
static void test_idle_pull(void **state)
{
	(void)state;
	sim_init(2);
	S.balance = true;
	for (int i = 0; i < 4; i++)
		sim_add("bursty", 0, vmx(1000, 0, 0x3, NULL), 3 * MS, 2 * MS);
	sim_add("pinned-io", 1, host, 200 * US, 7 * MS);
	sim_run(SEC, 60 * SEC);
	print_message("idle pull: CPU 0 busy %.3f, CPU 1 busy %.3f\n",
		      (double)S.cpu[0].busy / (60 * SEC), (double)S.cpu[1].busy / (60 * SEC));
	assert_true(S.cpu[1].busy > 50 * SEC);
	/* Each wants 60% of a CPU: 2.4 CPUs of demand on two, so each gets close to half. */
	for (unsigned i = 0; i < 4; i++)
		assert_between(frac(&S.w[i], 60 * SEC), 0.40, 0.60, "bursty world");
}

/* Affinity is never left (checked every step), whatever the balancer would like. */
static void test_affinity_kept(void **state)
{
	(void)state;
	sim_init(3);
	S.balance = true;
	sim_add("a01", 0, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_add("b01", 0, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_add("c01", 0, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_add("d2", 2, vmx(1000, 0, 0x4, NULL), FOREVER, 0);
	sim_add("e12", 2, vmx(1000, 0, 0x6, NULL), 5 * MS, 5 * MS);
	sim_add("f2", 2, vmx(1000, 0, 0x4, NULL), FOREVER, 0);
	sim_add("pinned", 1, vm(1000, 0, 0), FOREVER, 0);
	sim_add("g2", 2, vmx(1000, 0, 0x4, NULL), FOREVER, 0);
	sim_run(SEC, 60 * SEC);
	assert_int_equal(S.w[3].se.migrations, 0);
	assert_int_equal(S.w[5].se.migrations, 0);
	assert_int_equal(S.w[6].se.migrations, 0);
	assert_int_equal(S.w[7].se.migrations, 0);
	assert_true(S.w[4].se.migrations > 0);	/* it did move, inside {1, 2} */
}

/* A reserved vCPU stays where admission placed it and keeps its reservation; others move. */
static void test_reservation_with_migration(void **state)
{
	struct sim_world *r;

	(void)state;
	sim_init(2);
	S.balance = true;
	r = sim_add("reserved", 0, vmx(10, 600000, 0x3, NULL), FOREVER, 0);
	for (int i = 0; i < 4; i++)
		sim_add("hog", (unsigned)i % 2, vmx(100000, 0, 0x3, NULL), FOREVER, 0);
	sim_run(SEC, 60 * SEC);
	assert_int_equal(r->se.migrations, 0);
	assert_between(frac(r, 60 * SEC), 0.6, 1.0, "reserved share");
	assert_true(total_migrations() > 0);
}

/*
 * Co-scheduling: a 2-vCPU VM, vCPU 0 alone on CPU 0, vCPU 1 on CPU 1 beside
 * two hogs. Without co-stops vCPU 0 runs flat out while vCPU 1 gets a
 * third: the stall gap grows without bound (checked, so the test can
 * fail). With them, a waiting vCPU is never more than the threshold plus
 * two slices behind a sibling.
 */
static void test_coschedule_skew(void **state)
{
	static struct sched_group g;

	(void)state;
	for (int co = 0; co < 2; co++) {
		memset(&g, 0, sizeof(g));
		sim_init(2);
		sim_add("smp/vcpu0", 0, vmx(1000, 0, 0, co ? &g : NULL), FOREVER, 0);
		sim_add("smp/vcpu1", 1, vmx(1000, 0, 0, co ? &g : NULL), FOREVER, 0);
		sim_add("hog", 1, vm(1000, 0, 0), FOREVER, 0);
		sim_add("hog", 1, vm(1000, 0, 0), FOREVER, 0);
		/* the simulator counts stall itself; groups are only for the policy */
		S.w[0].se.p.group = S.w[1].se.p.group = &g;
		if (!co)
			S.w[0].se.gslot = S.w[1].se.gslot = 0;
		sim_run(SEC, 60 * SEC);
		print_message("co-scheduling %s: largest skew %llu us, vCPU 0 co-stopped %llu "
			      "times, ran %.3f / %.3f\n", co ? "on" : "off",
			      (unsigned long long)(S.max_skew / US),
			      (unsigned long long)S.w[0].se.costops, frac(&S.w[0], 60 * SEC),
			      frac(&S.w[1], 60 * SEC));
		if (!co) {
			assert_true(S.max_skew > 10 * SEC);
			continue;
		}
		assert_true(S.max_skew <= (SCHED_SKEW_MS + 20) * MS);
		assert_true(S.w[0].se.costops > 0);
		/* The hogs keep their share: vCPU 1 gets its third of CPU 1. */
		assert_between(frac(&S.w[1], 60 * SEC), 0.32, 0.35, "vCPU 1");
	}
}

/* The same with migration on: siblings and hogs may move; skew stays bounded. */
static void test_coschedule_with_migration(void **state)
{
	static struct sched_group g;

	(void)state;
	memset(&g, 0, sizeof(g));
	sim_init(2);
	S.balance = true;
	sim_add("smp/vcpu0", 0, vmx(1000, 0, 0x3, &g), FOREVER, 0);
	sim_add("smp/vcpu1", 0, vmx(1000, 0, 0x3, &g), FOREVER, 0);
	sim_add("hog", 1, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_add("hog", 1, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_add("hog", 0, vmx(1000, 0, 0x3, NULL), FOREVER, 0);
	sim_run(SEC, 60 * SEC);
	print_message("SMP VM among hogs, migration on: largest skew %llu us, %llu + %llu "
		      "co-stops, %llu migrations, shares %.3f %.3f %.3f %.3f %.3f\n",
		      (unsigned long long)(S.max_skew / US),
		      (unsigned long long)S.w[0].se.costops, (unsigned long long)S.w[1].se.costops,
		      (unsigned long long)total_migrations(), frac(&S.w[0], 60 * SEC),
		      frac(&S.w[1], 60 * SEC), frac(&S.w[2], 60 * SEC), frac(&S.w[3], 60 * SEC),
		      frac(&S.w[4], 60 * SEC));
	assert_true(S.max_skew <= (SCHED_SKEW_MS + 20) * MS);
	for (unsigned i = 0; i < S.n; i++)
		assert_between(frac(&S.w[i], 60 * SEC), 0.35, 0.45, "a world's share of 2 CPUs / 5");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares_one_cpu),
		cmocka_unit_test(test_shares_many_cpus),
		cmocka_unit_test(test_reservation_overload),
		cmocka_unit_test(test_limit_caps),
		cmocka_unit_test(test_limit_after_overrun),
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_wakeup_boost_bounded),
		cmocka_unit_test(test_host_not_starved),
		cmocka_unit_test(test_short_runs_advance_tag),
		cmocka_unit_test(test_phases),
		cmocka_unit_test(test_waker_beside_limited),
		cmocka_unit_test(test_yield_passes_one_turn),
		cmocka_unit_test(test_global_fairness),
		cmocka_unit_test(test_no_pingpong),
		cmocka_unit_test(test_move_counts_last_run),
		cmocka_unit_test(test_idle_pull),
		cmocka_unit_test(test_affinity_kept),
		cmocka_unit_test(test_reservation_with_migration),
		cmocka_unit_test(test_coschedule_skew),
		cmocka_unit_test(test_coschedule_with_migration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
