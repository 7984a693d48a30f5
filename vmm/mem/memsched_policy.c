/*
 * Memory targets from shares, with the idle-memory tax (pure; host
 * unit-tested in tests/unit/test_memsched.c). The mechanism, a vmkernel
 * world that applies the targets every second, is memsched.c.
 *
 * States. Free memory for VMs, as a share of all memory VMs may hold,
 * gives ESX's state: high (>= 6%), soft (>= 4%), hard (>= 2%), low.
 * High: nothing is reclaimed but what a limit demands; balloons may
 * only deflate. Soft: balloons inflate to the targets. Hard: balloons,
 * and what they cannot take becomes a swap target. Low: the same (new
 * guest pages are refused at the vmkernel's reserve, as always).
 *
 * Targets (Waldspurger, OSDI 2002, section 5). A VM's demand is what it
 * would hold with its balloon deflated, never more than its memsize or
 * limit: d = min(backed + ballooned, memsize, sched.mem.max). The VMs may
 * hold in all what they hold now plus what is free beyond the high
 * state's 6% headroom. If the demands fit, each VM's target is its
 * demand. If not, the pages missing are taken, a chunk at a time, from
 * the VM with the fewest shares per adjusted page:
 *
 *     rho = shares / (active + k * idle),  k = 1 / (1 - tax)
 *
 * where idle = target - active. With the default tax of 75% an idle
 * page costs four times an active one, so idle VMs give first, and a VM
 * with more shares per page keeps its memory longer. Never below the
 * reservation (sched.mem.min); when every VM is at its reservation the
 * rest stays unreclaimed.
 *
 * Balloon and swap. A VM holding more than its target (backed +
 * ballooned - target) is asked to balloon that much, up to its
 * balloon's maximum (sched.mem.maxmemctl, default 65% of memsize, as
 * ESX). A VM with a limit below its memsize keeps at least memsize -
 * limit in its balloon in every state, so that its guest sees no more
 * than the limit (ESX's limit semantics; the limit is a hard cap on
 * backed pages in guest_mem.c, which swapping will make soft). The swap
 * target is what the VM has backed above its target and the balloon's
 * pending growth will not take back: in hard and low states, and for a
 * VM whose backed pages are above its limit in any state.
 *
 * Arithmetic: 64-bit pages, 128-bit products for the ratio compare, no
 * floating point; the loop runs at most CHUNKS + 2n rounds of O(n).
 */
#include <stdbool.h>
#include <stddef.h>
#include <vmm/memsched.h>

#define CHUNKS	64	/* the reclaim is handed out in about this many steps */

static const char *const state_names[] = { "high", "soft", "hard", "low" };

const char *memsched_state_name(enum mem_state s)
{
	return (unsigned)s <= MEM_LOW ? state_names[s] : "?";
}

enum mem_state memsched_state(uint64_t free, uint64_t total)
{
	unsigned __int128 f = (unsigned __int128)free * 100;

	if (!total || f >= (unsigned __int128)total * MEMSCHED_HIGH_PCT)
		return MEM_HIGH;
	if (f >= (unsigned __int128)total * MEMSCHED_SOFT_PCT)
		return MEM_SOFT;
	if (f >= (unsigned __int128)total * MEMSCHED_HARD_PCT)
		return MEM_HARD;
	return MEM_LOW;
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t demand(const struct memsched_vm *v)
{
	uint64_t d = min64(v->backed + v->ballooned, v->size);

	return v->max ? min64(d, v->max) : d;
}

/* The adjusted pages of v at its current target, scaled by 100 - tax. */
static unsigned __int128 adjusted(const struct memsched_vm *v, unsigned tax)
{
	uint64_t active = min64(v->active, v->target), idle = v->target - active;

	return (unsigned __int128)active * (100 - tax) + (unsigned __int128)idle * 100;
}

/* Does a have fewer shares per adjusted page than b (a gives first)? */
static bool poorer(const struct memsched_vm *a, const struct memsched_vm *b, unsigned tax)
{
	/* a->shares / adj(a) < b->shares / adj(b), without dividing (an adj of 0 holds nothing) */
	unsigned __int128 l = (unsigned __int128)a->shares * adjusted(b, tax);
	unsigned __int128 r = (unsigned __int128)b->shares * adjusted(a, tax);

	return l < r;
}

static void reclaim(struct memsched_vm *v, unsigned n, uint64_t need, unsigned tax)
{
	uint64_t chunk = need / CHUNKS ? need / CHUNKS : 1;

	while (need) {
		struct memsched_vm *pick = NULL;
		uint64_t take;

		for (unsigned i = 0; i < n; i++) {
			if (v[i].target > v[i].min && (!pick || poorer(&v[i], pick, tax)))
				pick = &v[i];
		}
		if (!pick)
			return;		/* every VM is at its reservation */
		take = min64(min64(chunk, need), pick->target - pick->min);
		pick->target -= take;
		need -= take;
	}
}

static void reclaim_targets(struct memsched_vm *v, enum mem_state st)
{
	uint64_t over = v->backed + v->ballooned > v->target ?
			v->backed + v->ballooned - v->target : 0;
	uint64_t limit = v->max && v->max < v->size ? v->size - v->max : 0;
	uint64_t want, excess, pending;

	if (st == MEM_HIGH)	/* deflate towards the target, never inflate for shares */
		want = min64(over, v->ballooned);
	else
		want = over;
	if (want < limit)
		want = limit;
	v->balloon = min64(want, v->maxctl);
	/* backed pages above the target that the balloon's growth will not take back */
	excess = v->backed > v->target ? v->backed - v->target : 0;
	pending = v->balloon > v->ballooned ? v->balloon - v->ballooned : 0;
	v->swap = 0;
	if (st >= MEM_HARD || (v->max && v->backed > v->max))
		v->swap = excess > pending ? excess - pending : 0;
}

void memsched_targets(struct memsched_vm *v, unsigned n, uint64_t vm_pages, uint64_t free,
		      enum mem_state st, unsigned tax)
{
	uint64_t headroom = vm_pages * MEMSCHED_HIGH_PCT / 100, held = 0, want = 0, room;

	if (tax > MEMSCHED_TAX_MAX)
		tax = MEMSCHED_TAX_MAX;
	for (unsigned i = 0; i < n; i++) {
		if (v[i].min > v[i].size)
			v[i].min = v[i].size;
		v[i].target = demand(&v[i]);
		if (v[i].target < v[i].min)
			v[i].target = v[i].min;
		held += v[i].backed;
		want += v[i].target;
	}
	/* what the VMs may hold so that free memory is back at the high threshold */
	room = held + free > headroom ? held + free - headroom : 0;
	if (want > room)
		reclaim(v, n, want - room, tax);
	for (unsigned i = 0; i < n; i++)
		reclaim_targets(&v[i], st);
}
