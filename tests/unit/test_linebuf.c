/* The bounded line builder: appends, cuts marked with "...", never a byte past the buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/linebuf.h>

static void test_appends(void **state)
{
	char buf[64];
	struct linebuf lb = LINEBUF_INIT(buf);

	(void)state;
	assert_string_equal(lb_str(&lb), "");
	lb_printf(&lb, "%s vCPU %u:", "web", 3);
	lb_puts(&lb, " ok");
	lb_putc(&lb, '!');
	assert_string_equal(buf, "web vCPU 3: ok!");
	assert_int_equal(lb_len(&lb), strlen(buf));
	assert_false(lb_truncated(&lb));
	lb_newline(&lb);
	assert_string_equal(buf, "web vCPU 3: ok!\n");
	lb_reset(&lb);
	assert_string_equal(buf, "");
}

static void test_exact_fit(void **state)
{
	char buf[6];
	struct linebuf lb = LINEBUF_INIT(buf);

	(void)state;
	lb_printf(&lb, "%s", "abcde");
	assert_string_equal(buf, "abcde");
	assert_false(lb_truncated(&lb));
	lb_putc(&lb, 'f');
	assert_true(lb_truncated(&lb));
	assert_string_equal(buf, "ab...");
	lb_printf(&lb, "more");		/* dropped after a cut */
	assert_string_equal(buf, "ab...");
	lb_newline(&lb);		/* the newline replaces the last character */
	assert_string_equal(buf, "ab..\n");
}

/* Every buffer size from 0 up: each piece fits or is cut; ASan checks the bounds. */
static void test_every_size(void **state)
{
	const char *want = "[    1.000000] a long line 18446744073709551615 with pieces";

	(void)state;
	for (size_t size = 0; size < 80; size++) {
		char *buf = malloc(size ? size : 1);
		struct linebuf lb;

		lb_init(&lb, buf, size);
		lb_printf(&lb, "[%5u.%06u] ", 1, 0);
		lb_puts(&lb, "a long line ");
		lb_printf(&lb, "%llu", ~0ULL);
		lb_printf(&lb, " with %s", "pieces");
		if (!size) {
			assert_int_equal(lb_len(&lb), 0);
		} else if (size > strlen(want)) {
			assert_string_equal(buf, want);
		} else {
			size_t n = lb_len(&lb), dots = n < 3 ? n : 3;

			assert_int_equal(n, size - 1);
			assert_true(lb_truncated(&lb));
			assert_memory_equal(buf, want, n - dots);
			assert_memory_equal(buf + n - dots, "...", dots);
			lb_newline(&lb);
			if (size >= 2)
				assert_int_equal(buf[lb_len(&lb) - 1], '\n');
			assert_true(lb_len(&lb) < size);
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_appends),
		cmocka_unit_test(test_exact_fit),
		cmocka_unit_test(test_every_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
