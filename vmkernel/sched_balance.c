/*
 * Several CPUs: which world should change CPU, and which vCPU of an SMP VM
 * must wait for its siblings. Pure policy, like sched_policy.c: the
 * vmkernel (vmkernel/sched.c) and the host simulator
 * (tests/unit/test_sched_sim.c) run this very code.
 *
 * Each CPU keeps its own SFQ queue (sched_policy.c), so fairness within a
 * CPU is exact; across CPUs it is what migration makes it. Three equal
 * CPU-bound VMs on two CPUs would otherwise get 50%, 50% and 100% of a CPU
 * for ever. Three rules move worlds; all of them only pull a world that is
 * ready (not running) or push the one running on the deciding CPU, only
 * inside the world's affinity, and only worlds with shares and neither a
 * reservation nor a limit (a reservation was admitted for one CPU's
 * capacity, vmm/admission.c, and a limit's bucket is kept per CPU: such
 * vCPUs stay where admission placed them).
 *
 *  1. Idle pull. A CPU about to idle takes a ready world from a busy CPU
 *     (one that runs something else meanwhile). Among those that may move
 *     it prefers one whose sibling vCPUs are not runnable here, then the
 *     laggard in global virtual time (below), then the one that ran least
 *     recently: its cache is the coldest anyway.
 *
 *  2. Load. Every tick each CPU compares its load (sum of the shares of
 *     its runnable VM worlds) with each other CPU's and pulls a ready
 *     world when that strictly narrows the gap: L(here) + s < L(there).
 *
 *  3. Rotation for global fairness. Equal loads cannot always be reached
 *     (three hogs on two CPUs), so each world also carries a global
 *     virtual time gvt: its run time x 1000 / its shares, the service it
 *     got per share, comparable across CPUs. A newcomer or a waker starts
 *     no lower than its CPU's gvnow (the gvt of the last world picked
 *     there), so sleeping banks nothing here either. When the CPU whose
 *     load per share is lower (its worlds progress faster) holds the world
 *     with the highest gvt and a slower CPU has a ready world more than
 *     SCHED_GVT_LAG_MS behind it, the two swap: the leader is pushed there,
 *     the laggard pulled here. So every world's gvt stays within about
 *     one lag of the others: over a window of T the shares are exact to
 *     within LAG / T (50 ms over a minute is 0.1%). The lag also bounds
 *     the migration rate: with three hogs on two CPUs gvts part at half a
 *     CPU per second, so a swap (two moves) comes every LAG / 0.5 s at
 *     most, about 20 moves per second at 50 ms, each costing a few
 *     microseconds and a cold cache on real hardware. A smaller lag buys
 *     fairness over shorter windows with more moves.
 *
 * A world that moved stays at least SCHED_RESIDENCY_MS where it is, which
 * with the lag rules out ping-pong. A moved world enters its new queue at
 * that queue's virtual time (its SFQ tag means nothing there) and keeps
 * its gvt, which is what it is judged by across CPUs. The queue it leaves
 * moves its virtual time up to the leaver's tag: vnow is the start tag of
 * the last pick, and the leaver's tag is past it by the run it was just
 * charged for. Without that, a hog moved after each of its runs never
 * advanced either CPU's vnow, since each arrival starts at vnow again, and
 * a world whose tag was above vnow (a host world that had run once)
 * waited for ever.
 *
 * Relaxed co-scheduling (ESX 3 onwards). A guest kernel expects its CPUs
 * to run together: it spins on a lock a descheduled sibling holds, waits
 * for an IPI's answer, or checks that its clocks agree. So the vCPUs of a
 * VM (a sched_group) are kept from drifting apart: a vCPU accumulates
 * *stall* while it is ready but not running and some sibling runs (a
 * vCPU that is halted or waiting for its start-up IPI accumulates none:
 * it does not want to run). A ready vCPU whose stall is more than
 * SCHED_SKEW_MS below that of a sibling that is also waiting to run (a
 * laggard) is co-stopped: its CPU does not pick it, and runs others,
 * among them perhaps the laggard, until the gap falls under half the
 * threshold (hysteresis, so that it does not flip every pick). Only the
 * leaders stop, never the whole VM, and a vCPU whose siblings are halted
 * runs freely. The threshold: 30 ms, three slices. Two siblings sharing a
 * CPU with other worlds fall out of step by a slice or two in ordinary
 * SFQ interleaving, which must not count as skew; a guest waiting for a
 * sibling that holds a lock should wait for no more than a few slices.
 * Linux's own alarms (soft lockup 20 s, RCU stall 21 s) are far beyond.
 * Stall is counted from the group's summed run clock, updated when a
 * member is charged, so a leader is held back at most a slice late.
 * Pulls also prefer CPUs where the pulled world has no runnable sibling:
 * siblings spread out and run in parallel.
 *
 * Locking: functions that take one queue need its owner's lock (the
 * vmkernel's run-queue lock); those that take two need both. Group slots
 * are written only under the lock of the queue holding their member and
 * read anywhere with atomic loads: skew figures are hints, never used
 * for anything but the choice of whom to pick.
 */
#include <stddef.h>
#include <vmkernel/sched_policy.h>

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* The queue's time units per ms (sq_set_timebase makes gran one ms). */
static uint64_t ms(const struct sched_queue *q, uint64_t n)
{
	return q->gran * n;
}

static bool has_cap_rules(const struct sched_entity *e)
{
	return e->p.min_ppm || (e->p.max_ppm && e->p.max_ppm < SCHED_PPM);
}

bool sq_movable(const struct sched_entity *e)
{
	return e->p.shares && !has_cap_rules(e) && e->p.affinity;
}

void sq_movable_update(struct sched_queue *q, struct sched_entity *e)
{
	bool m = e->attached && sq_movable(e);

	if (m == e->counted_movable)
		return;
	e->counted_movable = m;
	ST(q->movable, m ? LD(q->movable) + 1 : LD(q->movable) - 1);
}

bool sq_can_move(const struct sched_queue *q, const struct sched_entity *e, unsigned to,
		 uint64_t now)
{
	if (!sq_movable(e) || to == q->cpu || to >= 64 || !(e->p.affinity & (1ULL << to)))
		return false;
	return !e->moved_at || now - e->moved_at >= ms(q, SCHED_RESIDENCY_MS);
}

static struct sched_group_slot *slot_of(const struct sched_entity *e)
{
	return e->p.group && e->gslot ? &e->p.group->slot[e->gslot - 1] : NULL;
}

uint64_t sq_gvt_now(const struct sched_entity *e, uint64_t now)
{
	if (!e->running || !e->p.shares || now <= e->picked_at)
		return e->gvt;
	return e->gvt + (now - e->picked_at) * 1000 / e->p.shares;
}

/*
 * Detach e (ready, not running) from `from`; sq_move_in must follow. The
 * run it was last charged for stays counted where it ran: the queue's
 * virtual time moves up to e's tag (see the top).
 */
static void move_out(struct sched_queue *from, struct sched_entity *e)
{
	if (e->vt > from->vnow)
		from->vnow = e->vt;
	sq_detach(from, e);
}

static void move_in(struct sched_queue *to, struct sched_entity *e, uint64_t now)
{
	struct sched_params p = e->p;
	uint64_t woke_at = e->woke_at;
	struct sched_group_slot *s;

	sq_attach(to, e, &p, now);
	e->moved_at = now ? now : 1;
	e->migrations++;
	if ((s = slot_of(e)))
		ST(s->cpu, to->cpu);
	sq_enqueue(to, e, now, SQ_PREEMPTED);
	e->woke_at = woke_at;	/* a waker placed elsewhere is still a waker */
}

void sq_move_out(struct sched_queue *from, struct sched_entity *e)
{
	move_out(from, e);
}

void sq_move_in(struct sched_queue *to, struct sched_entity *e, uint64_t now)
{
	move_in(to, e, now);
}

void sq_move(struct sched_queue *from, struct sched_queue *to, struct sched_entity *e,
	     uint64_t now)
{
	move_out(from, e);
	move_in(to, e, now);
}

/* Does q hold a runnable (ready or running) sibling of e? */
static bool sibling_on(const struct sched_queue *q, const struct sched_entity *e)
{
	if (!e->p.group)
		return false;
	for (const struct sched_entity *o = q->all; o; o = o->all_next) {
		if (o != e && o->p.group == e->p.group && (o->queued || o->running))
			return true;
	}
	return false;
}

/* Is a better than b as a world for q to pull? */
static bool better_pull(const struct sched_queue *dst, const struct sched_entity *a,
			const struct sched_entity *b)
{
	bool sa = sibling_on(dst, a), sb = sibling_on(dst, b);

	if (sa != sb)
		return !sa;
	if (a->gvt != b->gvt)
		return a->gvt < b->gvt;	/* both ready: no current run to count */
	return a->last_ran < b->last_ran;
}

struct sched_entity *sq_pull_candidate(const struct sched_queue *src,
				       const struct sched_queue *dst, uint64_t now)
{
	struct sched_entity *best = NULL;

	if (!src->running)
		return NULL;	/* src is about to pick it itself */
	for (struct sched_entity *e = src->ready; e; e = e->next) {
		if (e->costopped || e->move_to >= 0 || !sq_can_move(src, e, dst->cpu, now))
			continue;
		if (!best || better_pull(dst, e, best))
			best = e;
	}
	return best;
}

/* The shares of the runnable VM worlds on q. */
static uint64_t load(const struct sched_queue *q)
{
	uint64_t l = 0;

	for (const struct sched_entity *e = q->all; e; e = e->all_next) {
		if (e->p.shares && (e->queued || e->running))
			l += e->p.shares;
	}
	return l;
}

uint64_t sq_balance_pair(const struct sched_queue *self, const struct sched_queue *other,
			 uint64_t now, struct sq_plan *plan)
{
	uint64_t ls = load(self), lo = load(other), best = 0;
	struct sched_entity *lead = NULL, *lag = NULL;

	plan->push = plan->pull = NULL;
	/* Load: pull whatever strictly narrows the gap, the laggard first. */
	if (lo > ls) {
		for (struct sched_entity *e = other->ready; e; e = e->next) {
			if (e->costopped || e->move_to >= 0 || ls + e->p.shares >= lo ||
			    !sq_can_move(other, e, self->cpu, now))
				continue;
			if (!plan->pull || better_pull(self, e, plan->pull))
				plan->pull = e;
		}
		if (plan->pull)
			return lo - ls;
	}
	/* Rotation: self progresses at least as fast per share as other. */
	if (!ls || ls > lo)
		return 0;
	for (struct sched_entity *e = self->all; e; e = e->all_next) {
		if ((e->queued || e->running) && e->move_to < 0 &&
		    sq_can_move(self, e, other->cpu, now) &&
		    (!lead || sq_gvt_now(e, now) > sq_gvt_now(lead, now)))
			lead = e;
	}
	if (!lead)
		return 0;
	for (struct sched_entity *e = other->ready; e; e = e->next) {
		if (e->costopped || e->move_to >= 0 || !sq_can_move(other, e, self->cpu, now))
			continue;
		if (!lag || e->gvt < lag->gvt)
			lag = e;
	}
	if (!lag || sq_gvt_now(lead, now) <= lag->gvt + ms(self, SCHED_GVT_LAG_MS))
		return 0;
	best = sq_gvt_now(lead, now) - lag->gvt;
	plan->push = lead;
	plan->pull = lag;
	return best;
}

/* ---- co-scheduling ---- */

void sg_join(struct sched_queue *q, struct sched_entity *e)
{
	struct sched_group *g = e->p.group;
	uint32_t i;

	if (!g || e->gslot)
		return;
	i = __atomic_fetch_add(&g->n, 1, __ATOMIC_ACQ_REL);
	if (i >= SCHED_GROUP_MAX) {
		e->p.group = NULL;	/* more vCPUs than slots: scheduled without co-scheduling */
		return;
	}
	e->gslot = i + 1;
	ST(g->slot[i].cpu, q->cpu);
}

/* The group's run time up to now: charged runs and the runs going on now (a hint). */
static uint64_t group_clock(const struct sched_group *g, uint64_t now)
{
	uint64_t clock = LD(g->run_clock);
	uint32_t n = LD(g->n);

	n = n < SCHED_GROUP_MAX ? n : SCHED_GROUP_MAX;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t from = LD(g->slot[i].running_since);

		if (from && now > from)
			clock += now - from;
	}
	return clock;
}

/*
 * Stall gained since s became ready: the siblings' run time since then,
 * at most the time it waited.
 */
static uint64_t stall_since(const struct sched_group_slot *s, uint64_t clock, uint64_t now)
{
	uint64_t since = LD(s->ready_since), c0 = LD(s->clock0), ran, waited;

	if (!since)
		return 0;
	ran = clock > c0 ? clock - c0 : 0;
	waited = now > since ? now - since : 0;
	return ran < waited ? ran : waited;
}

static uint64_t waiting_stall(const struct sched_group *g, const struct sched_group_slot *s,
			      uint64_t now)
{
	return LD(s->ready_since) ? stall_since(s, group_clock(g, now), now) : 0;
}

void sg_ready(struct sched_queue *q, struct sched_entity *e, uint64_t now)
{
	struct sched_group_slot *s = slot_of(e);

	(void)q;
	if (!s)
		return;
	if (LD(s->ready_since))	/* moved while it waited: keep the stall so far */
		ST(s->stall, LD(s->stall) + waiting_stall(e->p.group, s, now));
	ST(s->clock0, group_clock(e->p.group, now));
	ST(s->ready_since, now ? now : 1);
}

uint64_t sg_stall(const struct sched_group *g, uint32_t slot, uint64_t now)
{
	const struct sched_group_slot *s = &g->slot[slot];

	return LD(s->stall) + waiting_stall(g, s, now);
}

void sg_picked(struct sched_queue *q, struct sched_entity *e, uint64_t now)
{
	struct sched_group_slot *s = slot_of(e);

	(void)q;
	if (!s)
		return;
	ST(s->stall, LD(s->stall) + waiting_stall(e->p.group, s, now));
	ST(s->ready_since, 0);
	ST(s->running_since, now ? now : 1);
}

void sg_charged(struct sched_queue *q, struct sched_entity *e, uint64_t ran)
{
	struct sched_group_slot *s = slot_of(e);

	(void)q;
	if (!s)
		return;
	ST(s->running_since, 0);
	ST(s->ready_since, 0);
	__atomic_fetch_add(&e->p.group->run_clock, ran, __ATOMIC_RELAXED);
}

bool sg_costop_wanted(const struct sched_queue *q, const struct sched_entity *e, uint64_t now)
{
	const struct sched_group *g = e->p.group;
	uint64_t mine, most = 0, limit = ms(q, SCHED_SKEW_MS), clock;
	uint32_t n;

	if (!g || !e->gslot)
		return false;
	n = LD(g->n);
	n = n < SCHED_GROUP_MAX ? n : SCHED_GROUP_MAX;
	clock = group_clock(g, now);	/* once: this runs at a running vCPU's exits */
	mine = LD(g->slot[e->gslot - 1].stall) + stall_since(&g->slot[e->gslot - 1], clock, now);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t st;

		if (i == e->gslot - 1 ||
		    (!LD(g->slot[i].ready_since) && !LD(g->slot[i].running_since)))
			continue;	/* itself, or a sibling that sleeps */
		if (!e->costopped && !LD(g->slot[i].ready_since))
			continue;	/* a co-stop starts for a laggard that waits to run */
		st = LD(g->slot[i].stall) + stall_since(&g->slot[i], clock, now);
		if (st > most)
			most = st;
	}
	if (e->costopped)
		limit /= 2;
	return most > mine + limit;
}
