/*
 * The lock-free log ring: records come out whole and in order, wrap around
 * the end of the buffer, a full ring refuses and counts; and a producer
 * and a consumer thread racing over a small ring lose or garble nothing.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/logring.h>

static void test_in_order_and_wrap(void **state)
{
	static char buf[256];
	struct logring r;
	char out[64], want[64];
	uint64_t seq;

	(void)state;
	assert_int_equal(logring_init(&r, buf, sizeof(buf)), 0);
	assert_false(logring_peek(&r, &seq));
	assert_int_equal(logring_get(&r, out, sizeof(out)), 0);
	for (int i = 0; i < 200; i++) {
		int n = snprintf(want, sizeof(want), "line %d %.*s\n", i, i % 37, "abcdefghijklmnopqrstuvwxyz0123456789");

		assert_true(logring_put(&r, 1000 + i, want, (uint32_t)n));
		assert_true(logring_peek(&r, &seq));
		assert_int_equal(seq, 1000 + i);
		assert_int_equal(logring_get(&r, out, sizeof(out)), n);
		assert_memory_equal(out, want, n);
	}
	assert_int_equal(r.dropped, 0);
	assert_int_equal(logring_used(&r), 0);
}

static void test_full_refuses(void **state)
{
	static char buf[128];
	struct logring r;
	char line[40] = "0123456789012345678901234567890123456789";
	char out[64];
	int put = 0;

	(void)state;
	assert_int_equal(logring_init(&r, buf, sizeof(buf)), 0);
	while (logring_put(&r, (uint64_t)put, line, sizeof(line)))
		put++;
	assert_int_equal(put, 2);	/* 2 x (16 + 40) = 112 of 128 bytes */
	assert_int_equal(r.dropped, 1);
	assert_int_equal(r.dropped_bytes, 40);
	assert_int_equal(logring_get(&r, out, 10), 10);	/* cut to the caller's buffer */
	assert_true(logring_put(&r, 9, line, sizeof(line)));
	assert_false(logring_put(&r, 10, line, LOGRING_MAX_LINE + 1));
	assert_int_equal(logring_init(&r, buf, 100), -22);
}

#define STRESS_N 20000

static struct logring stress;

static void *producer(void *arg)
{
	char line[80];

	(void)arg;
	for (uint64_t i = 0; i < STRESS_N;) {
		int n = snprintf(line, sizeof(line), "%llu:%.*s", (unsigned long long)i, (int)(i % 50),
				 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");

		if (logring_put(&stress, i, line, (uint32_t)n))
			i++;
		else
			sched_yield();
	}
	return NULL;
}

static void test_two_threads(void **state)
{
	static char buf[512];
	pthread_t t;
	char out[128], want[128];
	uint64_t next = 0, seq;

	(void)state;
	assert_int_equal(logring_init(&stress, buf, sizeof(buf)), 0);
	assert_int_equal(pthread_create(&t, NULL, producer, NULL), 0);
	while (next < STRESS_N) {
		uint32_t n;
		int w;

		if (!logring_peek(&stress, &seq)) {
			sched_yield();
			continue;
		}
		assert_int_equal(seq, next);
		n = logring_get(&stress, out, sizeof(out));
		w = snprintf(want, sizeof(want), "%llu:%.*s", (unsigned long long)next,
			     (int)(next % 50), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		assert_int_equal(n, w);
		assert_memory_equal(out, want, n);
		next++;
	}
	pthread_join(t, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_wrap),
		cmocka_unit_test(test_full_refuses),
		cmocka_unit_test(test_two_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
