/*
 * The CPU scheduling policy: which ready world runs next on one CPU, and
 * for how long.
 *
 * Choice of algorithm. Each CPU runs start-time fair queuing (SFQ; Goyal,
 * Vin and Cheng, "Start-time Fair Queuing: A Scheduling Algorithm for
 * Integrated Services Packet Switching Networks", SIGCOMM 1996), applied
 * to CPU time as their hierarchical CPU scheduler did (Goyal, Guo and Vin,
 * OSDI 1996). Every world carries a virtual time `vt`, the start tag of its
 * next run; running for t advances it by t / weight. The ready world with
 * the smallest start tag runs next, for one slice. A world that was blocked
 * re-enters at the queue's virtual time `vnow` (the tag of the last world
 * picked), never behind it by more than a small bonus (below), so sleeping
 * earns no credit to hoard. SFQ was chosen over the alternatives because:
 *  - its fairness bound holds for any set of weights and for runs of any
 *    length: two worlds backlogged over an interval receive service W_i,
 *    W_j with |W_i/w_i - W_j/w_j| <= l_i/w_i + l_j/w_j, l being their
 *    longest runs (here a slice). Stride and lottery scheduling have the
 *    same long-run ratios but either need fixed quanta or give only
 *    probabilistic bounds; credit schedulers (Xen credit, credit2) trade
 *    accuracy for batch accounting at fixed periods, and the accuracy is
 *    what sched.cpu.shares promises;
 *  - it needs no global clock or period: a tag is updated when its world
 *    stops running, so a world that blocks for an hour costs nothing;
 *  - it is work-conserving, so an idle VM's entitlement flows to the
 *    others in proportion to theirs, which is ESX's rule for unused shares.
 *
 * Weights are entitlements. A VM's vCPU worlds carry shares, a reservation
 * and a limit (struct sched_params, per vCPU). sq_attach/sq_detach compute
 * every VM world's entitlement on this CPU as ESX does: reservations first,
 * then the rest of SCHED_VM_CAPACITY_PPM by shares among those below their
 * limit, water-filling what a limited world cannot take. That entitlement,
 * in ppm of the CPU, is the SFQ weight. Host worlds (console, I/O,
 * heartbeat, tests) have the fixed weight SCHED_HOST_WEIGHT, which is what
 * the capacity leaves over: when everything is busy, VM worlds receive
 * exactly their entitlements and host worlds at least their 10%, so
 * neither starves the other; when some are idle, the rest share out what
 * they leave in proportion to weight.
 *
 * Limits are not work-conserving, so they are not weights alone: a limited
 * world has a token bucket (budget) that fills at max_ppm of real time and
 * holds at most limit_period's worth. It is eligible only while the budget
 * covers a minimal run; sq_allowance() never lets a run outlast it. When
 * only throttled worlds are ready, sq_pick returns none and the time at
 * which one becomes eligible, and the CPU idles until then. Over any
 * interval T a limited world runs at most max * T plus one bucket. A
 * throttled world's tag is brought up to vnow: time it could not use is
 * not banked, so it never comes back ahead of wakers within their share.
 *
 * Wake-up latency. A world that blocked (a halted vCPU woken by an
 * interrupt) re-enters up to wake_bonus of its own run time ahead of
 * vnow, as in BVT's warp (Duda and Cheriton, SOSP 1999), and preempts the
 * running world once that has run `gran`. The bonus only applies while the
 * waker is behind its fair share (its own tag is older than vnow - bonus),
 * so frequent waking cannot get a world more than its entitlement: the
 * boost is bounded by entitlement, and by one bonus per wake-up.
 *
 * Yielding. A vCPU that spins (the CPU's PAUSE-loop exiting saw it) is
 * most likely waiting for a sibling vCPU that holds a lock and is not
 * running. It is queued as SQ_YIELDED: the next pick on its CPU takes any
 * other eligible entity first, a sibling included, and the flag is gone
 * after that one pick. Passed over, its tag is brought up to the tag of
 * the entity picked instead, so a yield forfeits that turn and banks no
 * credit to come back with: a vCPU that keeps spinning gets less than its
 * entitlement, time it would only have spent waiting. Alone on its CPU (or
 * beside throttled entities only), a yielder simply runs on.
 *
 * Several CPUs. Each queue also keeps what vmkernel/sched_balance.c needs
 * to move worlds and to co-schedule SMP VMs (its essay): every VM world's
 * global virtual time gvt (run time per share, advanced in sq_charge,
 * floored at the queue's gvnow when a world wakes or is new), the running
 * entity, and the co-scheduling hooks sg_* as a group member becomes
 * ready, runs and is charged. A co-stopped entity is passed over like a
 * throttled one (sq_pick looks again one minimal run later), and a
 * running entity the balancer wants elsewhere (move_to) or that has run
 * too far ahead of a waiting sibling is preempted at its next exit.
 *
 * Every charged run advances its world's tag by at least one unit
 * (sq_charge), however short: a world of many short runs (an emulator's
 * slow TSC counts a short run in a few hundred units, which divided by a
 * large weight is 0) would otherwise never move its tag, nor vnow, and
 * starve any world whose tag is above it.
 *
 * Invariants: vnow never decreases; an entity is on the ready list iff
 * `queued`; a running entity is on no list but `all`; a limited entity is
 * never picked with a budget below one minimal run; weights are >= 1.
 *
 * Locking: none here. The vmkernel keeps one sched_queue per CPU inside
 * its run queue; the run-queue lock protects the queue and every entity
 * attached to it (see vmkernel/sched.c). The simulator is single-threaded.
 */
#include <stddef.h>
#include <vmkernel/sched_policy.h>

#define RAN_MAX (1ULL << 40)	/* longest run charged at once: keeps tags from overflowing */

static bool limited(const struct sched_entity *e)
{
	return e->p.shares && e->p.max_ppm && e->p.max_ppm < SCHED_PPM;
}

/* A limited entity's bucket, in time x ppm. */
static int64_t bucket_size(const struct sched_queue *q, const struct sched_entity *e)
{
	return (int64_t)(q->limit_period * e->p.max_ppm);
}

/* The least budget that makes a limited entity eligible: one minimal run, or the whole bucket. */
static int64_t budget_threshold(const struct sched_queue *q, const struct sched_entity *e)
{
	int64_t gran = (int64_t)(q->gran * SCHED_PPM), size = bucket_size(q, e);

	return gran < size ? gran : size;
}

/*
 * e's budget at `now`, counting the refill since budget_at (time x ppm).
 * The refill stops where the bucket is full, which may take up to two
 * limit periods: a run that overran (its exit came late) leaves the budget
 * as low as one bucket below zero (sq_charge). Capping the refill at one
 * period instead left such a world at zero budget for ever: throttled,
 * never eligible again, on whatever CPU it waited.
 */
static int64_t budget_now(const struct sched_queue *q, const struct sched_entity *e, uint64_t now)
{
	uint64_t dt = now > e->budget_at ? now - e->budget_at : 0;
	int64_t size = bucket_size(q, e);
	uint64_t room = e->budget < size ? (uint64_t)(size - e->budget) : 0;

	if (dt > room / e->p.max_ppm)
		return size;	/* full (this also bounds dt x max_ppm below) */
	return e->budget + (int64_t)(dt * e->p.max_ppm);
}

static bool eligible(const struct sched_queue *q, const struct sched_entity *e, uint64_t now)
{
	return !limited(e) || budget_now(q, e, now) >= budget_threshold(q, e);
}

/* Entitlement of every VM entity on q (see the header): the weights. */
static void entitle(struct sched_queue *q)
{
	uint64_t sum_min = 0, rest;
	struct sched_entity *e;

	for (e = q->all; e; e = e->all_next) {
		if (!e->p.shares) {
			e->weight = SCHED_HOST_WEIGHT;
			continue;
		}
		e->weight = e->p.min_ppm;
		e->capped = e->p.max_ppm && e->weight >= e->p.max_ppm;
		sum_min += e->p.min_ppm;
	}
	rest = sum_min < SCHED_VM_CAPACITY_PPM ? SCHED_VM_CAPACITY_PPM - sum_min : 0;
	/* Each round either gives out everything or caps one more entity. */
	while (rest) {
		uint64_t shares = 0, given = 0;
		bool clamped = false;

		for (e = q->all; e; e = e->all_next)
			shares += e->p.shares && !e->capped ? e->p.shares : 0;
		if (!shares)
			break;
		for (e = q->all; e; e = e->all_next) {
			uint64_t add;

			if (!e->p.shares || e->capped)
				continue;
			add = rest * e->p.shares / shares;
			if (e->p.max_ppm && e->weight + add >= e->p.max_ppm) {
				add = e->p.max_ppm - e->weight;
				e->capped = true;
				clamped = true;
			}
			e->weight += (uint32_t)add;
			given += add;
		}
		rest -= given;
		if (!clamped)
			break;	/* what is left is rounding, less than one ppm per entity */
	}
	for (e = q->all; e; e = e->all_next) {
		if (!e->weight)
			e->weight = 1;
	}
}

void sq_set_timebase(struct sched_queue *q, uint64_t units_per_ms)
{
	q->slice = 10 * units_per_ms;
	q->gran = units_per_ms;
	q->wake_bonus = 5 * units_per_ms;
	q->limit_period = 100 * units_per_ms;
}

void sq_attach(struct sched_queue *q, struct sched_entity *e, const struct sched_params *p,
	       uint64_t now)
{
	e->p = *p;
	e->vt = q->vnow;
	e->budget_at = now;
	e->queued = false;
	e->woke_at = 0;
	e->next = NULL;
	e->all_next = q->all;
	q->all = e;
	e->attached = true;
	e->running = false;
	e->costopped = false;
	e->move_to = -1;
	e->budget = limited(e) ? bucket_size(q, e) : 0;
	e->counted_movable = false;
	sq_movable_update(q, e);
	sg_join(q, e);
	entitle(q);
}

static void unqueue(struct sched_queue *q, struct sched_entity *e)
{
	for (struct sched_entity **pp = &q->ready; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->next = NULL;
	e->queued = false;
}

void sq_detach(struct sched_queue *q, struct sched_entity *e)
{
	if (!e->attached)
		return;
	if (e->queued)
		unqueue(q, e);
	for (struct sched_entity **pp = &q->all; *pp; pp = &(*pp)->all_next) {
		if (*pp == e) {
			*pp = e->all_next;
			break;
		}
	}
	e->all_next = NULL;
	e->attached = false;
	sq_movable_update(q, e);
	entitle(q);
}

void sq_enqueue(struct sched_queue *q, struct sched_entity *e, uint64_t now, enum sq_why why)
{
	if (e->queued)
		return;
	/* Sleeping or being new earns no credit against other CPUs either. */
	if (why != SQ_PREEMPTED && why != SQ_YIELDED && e->p.shares && e->gvt < q->gvnow)
		e->gvt = q->gvnow;
	if (why == SQ_WOKEN || why == SQ_NEW)
		e->move_to = -1;	/* a stale request: it blocked instead of moving */
	if (why == SQ_WOKEN) {
		uint64_t bonus = (q->wake_bonus << SCHED_VT_SHIFT) / e->weight;
		uint64_t floor = q->vnow > bonus ? q->vnow - bonus : 0;

		if (e->vt < floor)
			e->vt = floor;
		e->woke_at = now ? now : 1;
	} else if (why == SQ_NEW) {
		if (e->vt < q->vnow)
			e->vt = q->vnow;
		e->woke_at = 0;
	} else {
		e->woke_at = 0;
	}
	e->yielded = why == SQ_YIELDED;
	e->next = q->ready;
	q->ready = e;
	e->queued = true;
	sg_ready(q, e, now);
}

/* The eligible ready entity with the smallest tag; *retry_at as sq_pick's. */
static struct sched_entity *best_ready(const struct sched_queue *q, uint64_t now,
				       uint64_t *retry_at)
{
	struct sched_entity *best = NULL, *yielder = NULL;

	*retry_at = 0;
	for (struct sched_entity *e = q->ready; e; e = e->next) {
		if (e->costopped) {
			/* Held back for a sibling: look again after one minimal run. */
			if (!*retry_at || now + q->gran < *retry_at)
				*retry_at = now + q->gran;
			continue;
		}
		if (!eligible(q, e, now)) {
			int64_t missing = budget_threshold(q, e) - budget_now(q, e, now);
			uint64_t at = now + ((uint64_t)missing + e->p.max_ppm - 1) / e->p.max_ppm;

			if (!*retry_at || at < *retry_at)
				*retry_at = at;
			continue;
		}
		if (e->yielded) {
			if (!yielder || e->vt < yielder->vt)
				yielder = e;
		} else if (!best || e->vt < best->vt) {
			best = e;
		}
	}
	return best ? best : yielder;
}

/* Co-scheduling: which ready group members are held back now (counted when they start to be). */
static void update_costops(struct sched_queue *q, uint64_t now)
{
	for (struct sched_entity *e = q->ready; e; e = e->next) {
		bool want;

		if (!e->p.group)
			continue;
		want = sg_costop_wanted(q, e, now);
		if (want && !e->costopped)
			e->costops++;
		e->costopped = want;
	}
}

struct sched_entity *sq_pick(struct sched_queue *q, uint64_t now, uint64_t *retry_at)
{
	struct sched_entity *e;

	update_costops(q, now);
	e = best_ready(q, now, retry_at);
	if (*retry_at)
		q->throttles++;
	if (!e)
		return NULL;
	*retry_at = 0;
	unqueue(q, e);
	/*
	 * A yield passes one turn, not more: whoever was passed over competes
	 * again, from the queue's virtual time, so that it banks nothing.
	 */
	e->yielded = false;
	for (struct sched_entity *r = q->ready; r; r = r->next) {
		if (r->yielded && r->vt < e->vt)
			r->vt = e->vt;
		r->yielded = false;
	}
	if (e->vt > q->vnow)
		q->vnow = e->vt;
	if (e->p.shares && e->gvt > q->gvnow)
		q->gvnow = e->gvt;
	e->running = true;
	e->picked_at = now;
	q->running = e;
	sg_picked(q, e, now);
	if (limited(e)) {
		e->budget = budget_now(q, e, now);
		e->budget_at = now;
	}
	if (e->woke_at) {
		uint64_t wait = now > e->woke_at ? now - e->woke_at : 0;

		e->wakeups++;
		e->wake_wait_sum += wait;
		if (wait > e->wake_wait_max)
			e->wake_wait_max = wait;
	}
	return e;
}

/*
 * Advance e's tag by ran / weight, and by at least one unit: every charged
 * run moves the tag. A world whose runs were all shorter than
 * weight >> SCHED_VT_SHIFT time units (88 us of a 10 MHz TSC at 90%, which
 * is what Bochs gives) otherwise never advanced its tag at all. Such a
 * vCPU, halting and woken thousands of times a second, then kept the
 * queue's vnow where it was, and a host world whose tag was above (it had
 * run once) waited for ever: bochs-vms-virtio's console and virtio I/O
 * worlds did, while the guests waited for their I/O. The unit is at most
 * weight >> SCHED_VT_SHIFT of run time (under 1 us of a GHz TSC).
 */
static void charge_vt(struct sched_entity *e, uint64_t ran)
{
	uint64_t d = (ran << SCHED_VT_SHIFT) / e->weight;

	e->vt += d ? d : 1;
}

void sq_charge(struct sched_queue *q, struct sched_entity *e, uint64_t ran, uint64_t now)
{
	if (ran > RAN_MAX)
		ran = RAN_MAX;
	charge_vt(e, ran);
	e->ran += ran;
	e->woke_at = 0;
	if (e->p.shares)
		e->gvt += ran * 1000 / e->p.shares;
	e->running = false;
	if (q->running == e)
		q->running = NULL;
	e->last_ran = now;
	sg_charged(q, e, ran);
	if (limited(e)) {
		int64_t b = budget_now(q, e, now) - (int64_t)(ran * SCHED_PPM);

		/* An overrun is paid back, but at most one bucket of it. */
		e->budget = b < -bucket_size(q, e) ? -bucket_size(q, e) : b;
		e->budget_at = now;
		/*
		 * Throttled, it cannot use the time its weight would give it, so
		 * it may not bank it either (as a sleeper may not): otherwise
		 * its tag falls ever further behind and, each time its budget
		 * comes back, it runs ahead of wakers that are within their share.
		 */
		if (e->budget < budget_threshold(q, e) && e->vt < q->vnow)
			e->vt = q->vnow;
	}
}

/* A limited running entity's budget left (time x ppm), counting the refill since its pick. */
static int64_t budget_left(const struct sched_queue *q, const struct sched_entity *e,
			   uint64_t ran, uint64_t now)
{
	return budget_now(q, e, now) - (int64_t)(ran * SCHED_PPM);
}

bool sq_should_preempt(const struct sched_queue *q, const struct sched_entity *e, uint64_t ran,
		       uint64_t now)
{
	const struct sched_entity *best;
	uint64_t retry_at;

	if (limited(e) && budget_left(q, e, ran, now) <= 0)
		return true;
	if (e->move_to >= 0)
		return true;	/* the balancer wants it elsewhere (sched_balance.c) */
	/* Too far ahead of a waiting sibling: co-stop (looked at after a minimal run, not every exit). */
	if (e->p.group && ran >= q->gran && sg_costop_wanted(q, e, now))
		return true;
	best = best_ready(q, now, &retry_at);
	if (!best)
		return false;
	if (ran >= q->slice)
		return true;
	/* A waker behind the running world's tag preempts it once it had a minimal run. */
	return best->woke_at && ran >= q->gran &&
	       best->vt < e->vt + (ran << SCHED_VT_SHIFT) / e->weight;
}

uint64_t sq_allowance(const struct sched_queue *q, const struct sched_entity *e, uint64_t ran,
		      uint64_t now)
{
	uint64_t a = ran < q->slice ? q->slice - ran : q->slice, retry_at;
	const struct sched_entity *best = best_ready(q, now, &retry_at);

	/* A waker that will preempt e: the run ends when e has had its minimal run. */
	if (best && best->woke_at && ran < q->gran &&
	    best->vt < e->vt + (q->gran << SCHED_VT_SHIFT) / e->weight && q->gran - ran < a)
		a = q->gran - ran;

	if (limited(e)) {
		int64_t left = budget_left(q, e, ran, now);
		uint64_t t = left > 0 ? (uint64_t)left / SCHED_PPM : 0;

		if (t < a)
			a = t;
	}
	return a ? a : 1;
}
