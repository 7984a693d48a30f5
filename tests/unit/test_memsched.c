/*
 * The memory scheduler's policy (vmm/mem/memsched_policy.c): states from
 * free memory, targets in proportion to shares, the idle-memory tax
 * taking from idle VMs first, the reservation as a floor, the limit as a
 * ceiling, balloon and swap targets by state, and the balloon's cap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <vmm/memsched.h>

#define VM_PAGES	10000u		/* capacity for VMs: the high headroom is 600 pages */

static struct memsched_vm vm(uint64_t shares, uint64_t backed, uint64_t active)
{
	return (struct memsched_vm){ .shares = shares, .size = 2000, .backed = backed,
				     .active = active, .maxctl = 1300 };
}

static void in_range(uint64_t v, uint64_t lo, uint64_t hi)
{
	assert_in_range(v, lo, hi);
}

static void test_states(void **state)
{
	(void)state;
	assert_int_equal(memsched_state(600, 10000), MEM_HIGH);
	assert_int_equal(memsched_state(599, 10000), MEM_SOFT);
	assert_int_equal(memsched_state(400, 10000), MEM_SOFT);
	assert_int_equal(memsched_state(399, 10000), MEM_HARD);
	assert_int_equal(memsched_state(200, 10000), MEM_HARD);
	assert_int_equal(memsched_state(199, 10000), MEM_LOW);
	assert_int_equal(memsched_state(0, 10000), MEM_LOW);
	assert_int_equal(memsched_state(0, 0), MEM_HIGH);
	assert_string_equal(memsched_state_name(MEM_HARD), "hard");
}

/* No pressure: every VM keeps what it holds, and balloons deflate. */
static void test_no_pressure(void **state)
{
	struct memsched_vm v[2] = { vm(1000, 1000, 1000), vm(1000, 800, 0) };

	(void)state;
	v[1].ballooned = 200;
	memsched_targets(v, 2, VM_PAGES, 5000, MEM_HIGH, 75);
	assert_int_equal(v[0].target, 1000);
	assert_int_equal(v[1].target, 1000);
	assert_int_equal(v[0].balloon, 0);
	assert_int_equal(v[1].balloon, 0);
	assert_int_equal(v[0].swap + v[1].swap, 0);
}

/* All active (or no tax): targets stand as the shares, 1:2. */
static void test_shares_proportion(void **state)
{
	struct memsched_vm v[2] = { vm(1000, 1000, 1000), vm(2000, 1000, 1000) };

	(void)state;
	/* held 2000 + free 100 - headroom 600: the two may hold 1500 */
	memsched_targets(v, 2, VM_PAGES, 100, MEM_SOFT, 75);
	in_range(v[0].target, 490, 510);
	in_range(v[1].target, 990, 1010);
	assert_int_equal(v[0].target + v[1].target, 1500);
	assert_int_equal(v[0].balloon, 1000 - v[0].target);
	assert_int_equal(v[1].balloon, 1000 - v[1].target);
	assert_int_equal(v[0].swap + v[1].swap, 0);	/* soft: balloon only */
	/* the same idle and without the tax */
	v[0] = vm(1000, 1000, 0);
	v[1] = vm(2000, 1000, 0);
	memsched_targets(v, 2, VM_PAGES, 100, MEM_SOFT, 0);
	in_range(v[0].target, 490, 510);
}

/* The tax: an idle VM gives before an active one with the same shares. */
static void test_idle_tax(void **state)
{
	struct memsched_vm v[2] = { vm(1000, 1000, 0), vm(1000, 1000, 1000) };

	(void)state;
	/* 300 pages to find */
	memsched_targets(v, 2, VM_PAGES, 300, MEM_SOFT, 75);
	assert_int_equal(v[0].target, 700);
	assert_int_equal(v[1].target, 1000);
	/* more than the tax makes worth it: the idle one stops at a quarter of the active one */
	v[0] = vm(1000, 1000, 0);
	v[1] = vm(1000, 1000, 1000);
	memsched_targets(v, 2, VM_PAGES, 0, MEM_SOFT, 75);	/* room 2000 - 600: all from the idle */
	assert_int_equal(v[0].target, 400);
	assert_int_equal(v[1].target, 1000);
	v[0] = vm(1000, 1000, 0);
	v[1] = vm(1000, 1000, 1000);
	memsched_targets(v, 2, 16667, 0, MEM_SOFT, 75);	/* headroom 1000: room 1000 */
	in_range(v[0].target, 190, 210);
	in_range(v[1].target, 790, 810);
	/* without a tax the two give alike */
	v[0] = vm(1000, 1000, 0);
	v[1] = vm(1000, 1000, 1000);
	memsched_targets(v, 2, VM_PAGES, 300, MEM_SOFT, 0);
	in_range(v[0].target, 840, 860);
	in_range(v[1].target, 840, 860);
	assert_int_equal(v[0].target + v[1].target, 1700);
	/* a tax above the maximum is held at it */
	v[0] = vm(1000, 1000, 0);
	v[1] = vm(1000, 1000, 1000);
	memsched_targets(v, 2, VM_PAGES, 300, MEM_SOFT, 250);
	assert_int_equal(v[0].target, 700);
}

/* The reservation is a floor: reclaim stops there even if memory is still short. */
static void test_reservation_floor(void **state)
{
	struct memsched_vm v[2] = { vm(10, 1000, 0), vm(100000, 1000, 1000) };

	(void)state;
	v[0].min = 900;
	v[1].min = 950;
	memsched_targets(v, 2, VM_PAGES, 0, MEM_LOW, 75);
	assert_int_equal(v[0].target, 900);
	assert_int_equal(v[1].target, 950);
	assert_int_equal(v[0].balloon, 100);
	assert_int_equal(v[0].swap, 0);
	/* a reservation above memsize is held at memsize */
	v[0] = vm(10, 100, 0);
	v[0].min = 5000;
	memsched_targets(v, 1, VM_PAGES, 0, MEM_LOW, 75);
	assert_int_equal(v[0].target, 2000);
	assert_int_equal(v[0].balloon, 0);
}

/* The limit is a ceiling in every state, and its balloon keeps the guest under it. */
static void test_limit(void **state)
{
	struct memsched_vm v[1] = { vm(1000, 500, 500) };

	(void)state;
	v[0].max = 1200;
	memsched_targets(v, 1, VM_PAGES, 5000, MEM_HIGH, 75);
	assert_int_equal(v[0].target, 500);
	assert_int_equal(v[0].balloon, 800);	/* memsize 2000 - limit 1200 */
	assert_int_equal(v[0].swap, 0);
	/* held above the limit with a small balloon: the rest is a swap target, even in high */
	v[0] = vm(1000, 1500, 1500);
	v[0].max = 1200;
	v[0].maxctl = 100;
	memsched_targets(v, 1, VM_PAGES, 5000, MEM_HIGH, 75);
	assert_int_equal(v[0].target, 1200);
	assert_int_equal(v[0].balloon, 100);
	assert_int_equal(v[0].swap, 200);	/* 300 above the limit, 100 of them ballooned */
	/* a limited VM under its limit has nothing to swap, even in the low state */
	v[0] = vm(1000, 400, 400);
	v[0].max = 500;
	v[0].maxctl = 0;
	memsched_targets(v, 1, VM_PAGES, 5000, MEM_LOW, 75);
	assert_int_equal(v[0].target, 400);
	assert_int_equal(v[0].balloon, 0);
	assert_int_equal(v[0].swap, 0);
}

/* The balloon's cap, and swap targets only in hard and low states. */
static void test_cap_and_swap(void **state)
{
	struct memsched_vm v[2] = { vm(1000, 2000, 0), vm(1000, 2000, 2000) };
	enum mem_state st[] = { MEM_HIGH, MEM_SOFT, MEM_HARD, MEM_LOW };

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		v[0] = vm(1000, 2000, 0);
		v[1] = vm(1000, 2000, 2000);
		v[0].maxctl = 100;
		/* held 4000, nothing free, room 3400: 600 to find, all from the idle VM */
		memsched_targets(v, 2, VM_PAGES, 0, st[i], 75);
		assert_int_equal(v[0].target, 1400);
		assert_int_equal(v[1].target, 2000);
		if (st[i] == MEM_HIGH) {
			assert_int_equal(v[0].balloon + v[1].balloon, 0);
		} else {
			assert_int_equal(v[0].balloon, 100);
			assert_int_equal(v[1].balloon, 2000 - v[1].target);
		}
		if (st[i] >= MEM_HARD)
			assert_int_equal(v[0].swap, 2000 - v[0].target - 100);
		else
			assert_int_equal(v[0].swap, 0);
		assert_int_equal(v[1].swap, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_no_pressure),
		cmocka_unit_test(test_shares_proportion),
		cmocka_unit_test(test_idle_tax),
		cmocka_unit_test(test_reservation_floor),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_cap_and_swap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
