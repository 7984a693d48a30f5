/* The kernel's formatter against the C library's snprintf for the supported subset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/fmt.h>

#define SAME(...)							\
	do {								\
		char a[256], b[256];					\
		int na = fmt_snprintf(a, sizeof(a), __VA_ARGS__);	\
		int nb = snprintf(b, sizeof(b), __VA_ARGS__);		\
		assert_string_equal(a, b);				\
		assert_int_equal(na, nb);				\
	} while (0)

static void test_integers(void **state)
{
	(void)state;
	SAME("%d %i %u", -42, 7, 4000000000u);
	SAME("%ld %lu %lld %llu", -1L, 1UL << 40, -9223372036854775807LL - 1, ~0ULL);
	SAME("%x %X %lx %llx", 0xdeadbeefu, 0xabcu, 0x1234567890abUL, ~0ULL);
	SAME("%zu %zx", (size_t)12345, (size_t)0xfff);
	SAME("%hhu %hu %hhd %hd", 300, 70000, 200, 40000);
	SAME("[%5d] [%-5d] [%05d] [%05d]", 42, 42, 42, -42);
	SAME("[%08x] [%8x] [%-8x|]", 0xbeef, 0xbeef, 0xbeef);
	SAME("%d %d", 0, -0);
	SAME("%#x %#llx %#x %#X", 255, 0x1000ULL, 0, 0xab);
}

static void test_strings(void **state)
{
	(void)state;
	SAME("%s|%10s|%-10s|%.3s|%.*s", "abc", "right", "left", "truncate", 2, "xyz");
	SAME("%c%c%c", 'a', 'b', 'c');
	SAME("[%5c] [%-3c]", 'x', 'y');
	SAME("100%% %s", "done");
	SAME("%*d|%-*d|", 6, 12, 6, 12);
}

static void test_pointer(void **state)
{
	char buf[64];

	(void)state;
	fmt_snprintf(buf, sizeof(buf), "%p", (void *)0x1234abcd);
	assert_string_equal(buf, "0x1234abcd");
}

static void test_truncation(void **state)
{
	char buf[8];
	int n;

	(void)state;
	memset(buf, 'X', sizeof(buf));
	n = fmt_snprintf(buf, sizeof(buf), "%s-%d", "hello", 12345);
	assert_int_equal(n, 11);		/* length of the full output */
	assert_string_equal(buf, "hello-1");	/* always terminated */
	n = fmt_snprintf(buf, 0, "abc");
	assert_int_equal(n, 3);
	assert_int_equal(buf[0], 'h');		/* size 0 writes nothing */
	n = fmt_snprintf(buf, 1, "abc");
	assert_string_equal(buf, "");
}

static void test_bad_format(void **state)
{
	/* Called through a pointer so the compiler does not check these formats. */
	int (*unchecked)(char *, size_t, const char *, ...) = fmt_snprintf;
	char buf[32];

	(void)state;
	/* An unknown conversion is shown, not used to consume an argument. */
	unchecked(buf, sizeof(buf), "a%qb%d", 5);
	assert_string_equal(buf, "a%qb5");
	/* A format ending in '%' does not read past the end. */
	unchecked(buf, sizeof(buf), "end%");
	assert_string_equal(buf, "end");
	{
		const char *volatile null_str = NULL;

		unchecked(buf, sizeof(buf), "%s", null_str);
	}
	assert_string_equal(buf, "(null)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_bad_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
