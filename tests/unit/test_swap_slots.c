/*
 * Unit tests for the swap file's slot allocator (vmm/mem/swap_slots.c):
 * allocation order, free and reuse, exhaustion, double and out-of-range
 * frees, sizes that are not a multiple of 64, and a random sequence of
 * allocations and frees checked against a shadow table (no slot handed
 * out twice, the count of used slots always right).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/swap_slots.h>

static void test_sequential_and_exhaustion(void **state)
{
	uint64_t bits[2];
	struct swap_slots s;

	(void)state;
	swap_slots_init(&s, bits, 70);
	for (uint64_t i = 0; i < 70; i++)
		assert_int_equal(swap_slots_alloc(&s), i);
	assert_int_equal(s.used, 70);
	assert_true(swap_slots_alloc(&s) == SWAP_SLOT_NONE);
	/* No bit past the end was set. */
	assert_int_equal(bits[1] >> 6, 0);
	assert_int_equal(swap_slots_free(&s, 65), 0);
	assert_int_equal(swap_slots_alloc(&s), 65);
	assert_true(swap_slots_alloc(&s) == SWAP_SLOT_NONE);
}

static void test_double_and_bad_free(void **state)
{
	uint64_t bits[1];
	struct swap_slots s;

	(void)state;
	swap_slots_init(&s, bits, 10);
	assert_int_equal(swap_slots_free(&s, 3), -EINVAL);	/* never allocated */
	assert_int_equal(swap_slots_alloc(&s), 0);
	assert_int_equal(swap_slots_free(&s, 0), 0);
	assert_int_equal(swap_slots_free(&s, 0), -EINVAL);	/* twice */
	assert_int_equal(swap_slots_free(&s, 10), -EINVAL);	/* past the end */
	assert_int_equal(swap_slots_free(&s, SWAP_SLOT_NONE), -EINVAL);
	assert_int_equal(s.used, 0);
}

static void test_next_fit_wraps(void **state)
{
	uint64_t bits[1];
	struct swap_slots s;

	(void)state;
	swap_slots_init(&s, bits, 4);
	for (int i = 0; i < 4; i++)
		swap_slots_alloc(&s);
	assert_int_equal(swap_slots_free(&s, 1), 0);
	assert_int_equal(swap_slots_free(&s, 2), 0);
	/* The cursor is at the end: the search wraps and finds 1, then 2. */
	assert_int_equal(swap_slots_alloc(&s), 1);
	assert_int_equal(swap_slots_alloc(&s), 2);
	assert_true(swap_slots_alloc(&s) == SWAP_SLOT_NONE);
}

static void test_empty(void **state)
{
	uint64_t bits[1] = { 0 };
	struct swap_slots s;

	(void)state;
	swap_slots_init(&s, bits, 0);
	assert_true(swap_slots_alloc(&s) == SWAP_SLOT_NONE);
	assert_int_equal(swap_slots_free(&s, 0), -EINVAL);
}

static void test_random_against_shadow(void **state)
{
	enum { N = 1000 };
	uint64_t bits[(N + 63) / 64];
	bool shadow[N] = { false };
	uint64_t used = 0;
	struct swap_slots s;

	(void)state;
	srand(12);
	swap_slots_init(&s, bits, N);
	for (int step = 0; step < 200000; step++) {
		if (rand() % 3) {
			uint64_t slot = swap_slots_alloc(&s);

			if (used == N) {
				assert_true(slot == SWAP_SLOT_NONE);
				continue;
			}
			assert_true(slot < N);
			assert_false(shadow[slot]);	/* never handed out twice */
			shadow[slot] = true;
			used++;
		} else {
			uint64_t slot = (uint64_t)rand() % N;

			assert_int_equal(swap_slots_free(&s, slot), shadow[slot] ? 0 : -EINVAL);
			used -= shadow[slot];
			shadow[slot] = false;
		}
		assert_int_equal(s.used, used);
	}
	for (uint64_t i = 0; i < N; i++)
		assert_int_equal(swap_slots_in_use(&s, i), shadow[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequential_and_exhaustion),
		cmocka_unit_test(test_double_and_bad_free),
		cmocka_unit_test(test_next_fit_wraps),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_random_against_shadow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
