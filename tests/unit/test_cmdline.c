/* Host unit tests for the kernel command-line parser. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vmkernel/cmdline.h>

static struct cmdline cl;

static void assert_err(const char *a, const char *b)
{
	if (!strstr(cl.err, a) || (b && !strstr(cl.err, b)))
		fail_msg("err '%s' lacks '%s'/'%s'", cl.err, a, b ? b : "");
}

static void test_basic(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("console=com1 loglevel=4 test=all quiet", &cl), 0);
	assert_int_equal(cl.count, 4);
	assert_string_equal(cl.opts[0].key, "console");
	assert_string_equal(cl.opts[0].value, "com1");
	assert_true(cl.opts[0].has_value);
	assert_string_equal(cl.opts[3].key, "quiet");
	assert_false(cl.opts[3].has_value);
	assert_string_equal(cmdline_get(&cl, "test"), "all");
	assert_string_equal(cmdline_get(&cl, "quiet"), "");
	assert_null(cmdline_get(&cl, "missing"));
	assert_null(cmdline_get(&cl, "consol"));	/* no prefix matching */
	assert_true(cmdline_has(&cl, "quiet"));
	assert_true(cmdline_has(&cl, "console"));
	assert_false(cmdline_has(&cl, "com1"));
}

static void test_empty_and_null(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse(NULL, &cl), 0);
	assert_int_equal(cl.count, 0);
	assert_null(cmdline_get(&cl, "x"));
	assert_int_equal(cmdline_parse("", &cl), 0);
	assert_int_equal(cl.count, 0);
	assert_int_equal(cmdline_parse(" \t \n\r ", &cl), 0);
	assert_int_equal(cl.count, 0);
	assert_int_equal(cmdline_parse("x", NULL), -EINVAL);
}

static void test_blanks(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("\t a=1 \t\tb  c=3\n", &cl), 0);
	assert_int_equal(cl.count, 3);
	assert_string_equal(cmdline_get(&cl, "a"), "1");
	assert_true(cmdline_has(&cl, "b"));
	assert_string_equal(cmdline_get(&cl, "c"), "3");
}

static void test_quotes(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("name=\"a b\" x=\"\" \"y=c d\" z=p\"q r\"s", &cl), 0);
	assert_int_equal(cl.count, 4);
	assert_string_equal(cmdline_get(&cl, "name"), "a b");
	assert_string_equal(cmdline_get(&cl, "x"), "");
	assert_true(cl.opts[1].has_value);
	assert_string_equal(cmdline_get(&cl, "y"), "c d");
	assert_string_equal(cmdline_get(&cl, "z"), "pq rs");
}

static void test_equals_in_value(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("root=UUID=abcd guest.cmdline=\"a=b c\" e=", &cl), 0);
	assert_string_equal(cmdline_get(&cl, "root"), "UUID=abcd");
	assert_string_equal(cmdline_get(&cl, "guest.cmdline"), "a=b c");
	assert_string_equal(cmdline_get(&cl, "e"), "");
	assert_true(cl.opts[2].has_value);
}

static void test_last_wins(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("loglevel=1 a loglevel=7 loglevel", &cl), 0);
	assert_string_equal(cmdline_get(&cl, "loglevel"), "");
	assert_int_equal(cmdline_parse("loglevel=1 a loglevel=7", &cl), 0);
	assert_string_equal(cmdline_get(&cl, "loglevel"), "7");
	assert_int_equal(cl.count, 3);
}

static void test_unterminated_quote(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("console=com1 name=\"a b", &cl), -EINVAL);
	assert_err("word 2 at column 14", "unterminated double quote opened at column 19");
	assert_err("name=\"a", NULL);
}

static void test_empty_key(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("a=1 =x", &cl), -EINVAL);
	assert_err("word 2 at column 5", "empty key");
	assert_int_equal(cmdline_parse("a \"\"", &cl), -EINVAL);
	assert_err("word 2 at column 3", "empty key");
	assert_int_equal(cmdline_parse("\"a b\"=1", &cl), -EINVAL);
	assert_err("word 1 at column 1", "blank inside a key");
}

static void test_lengths(void **state)
{
	char line[300];

	(void)state;
	/* 31-character key and 127-character value are the longest accepted */
	memset(line, 'k', 31);
	line[31] = '=';
	memset(line + 32, 'v', 127);
	line[159] = '\0';
	assert_int_equal(cmdline_parse(line, &cl), 0);
	assert_int_equal(strlen(cl.opts[0].key), 31);
	assert_int_equal(strlen(cl.opts[0].value), 127);

	line[159] = 'v';
	line[160] = '\0';
	assert_int_equal(cmdline_parse(line, &cl), -E2BIG);
	assert_err("word 1 at column 1", "value longer than 127 characters");
	assert_err("kkkk", "...");	/* the word is shown, cut short */

	memcpy(line, "a=1 ", 4);
	memset(line + 4, 'k', 32);
	line[36] = '\0';
	assert_int_equal(cmdline_parse(line, &cl), -E2BIG);
	assert_err("word 2 at column 5", "key longer than 31 characters");
}

static void test_too_many(void **state)
{
	char line[200] = "";
	unsigned int i;

	(void)state;
	for (i = 0; i < CMDLINE_MAX_OPTS; i++)
		strcat(line, "o ");
	assert_int_equal(cmdline_parse(line, &cl), 0);
	assert_int_equal(cl.count, CMDLINE_MAX_OPTS);
	strcat(line, "last=1");
	assert_int_equal(cmdline_parse(line, &cl), -E2BIG);
	assert_err("word 33 at column 65", "more than 32 options");
}

static void test_get_uint(void **state)
{
	unsigned long long v = 12345;

	(void)state;
	assert_int_equal(cmdline_parse("a=42 b=0x1F c=0 d=18446744073709551615 "
				       "e=18446744073709551616 f=0xffffffffffffffff "
				       "g=0x10000000000000000 h=12x i=0x j= k "
				       "l=-1 m=99999999999999999999z n=0XaB", &cl), 0);
	assert_int_equal(cmdline_get_uint(&cl, "a", &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cmdline_get_uint(&cl, "b", &v), 0);
	assert_int_equal(v, 31);
	assert_int_equal(cmdline_get_uint(&cl, "c", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cmdline_get_uint(&cl, "d", &v), 0);
	assert_true(v == ~0ULL);
	assert_int_equal(cmdline_get_uint(&cl, "f", &v), 0);
	assert_true(v == ~0ULL);
	assert_int_equal(cmdline_get_uint(&cl, "n", &v), 0);
	assert_int_equal(v, 0xab);
	v = 7;
	assert_int_equal(cmdline_get_uint(&cl, "e", &v), -ERANGE);
	assert_int_equal(cmdline_get_uint(&cl, "g", &v), -ERANGE);
	assert_int_equal(cmdline_get_uint(&cl, "h", &v), -EINVAL);
	assert_int_equal(cmdline_get_uint(&cl, "i", &v), -EINVAL);
	assert_int_equal(cmdline_get_uint(&cl, "j", &v), -EINVAL);
	assert_int_equal(cmdline_get_uint(&cl, "k", &v), -EINVAL);
	assert_int_equal(cmdline_get_uint(&cl, "l", &v), -EINVAL);
	assert_int_equal(cmdline_get_uint(&cl, "m", &v), -EINVAL);
	assert_int_equal(cmdline_get_uint(&cl, "zz", &v), -ENOENT);
	assert_int_equal(v, 7);	/* untouched on failure */
}

static void test_get_bool(void **state)
{
	bool b = false;

	(void)state;
	assert_int_equal(cmdline_parse("a b=1 c=off d=yes e=maybe f= g=false", &cl), 0);
	assert_int_equal(cmdline_get_bool(&cl, "a", &b), 0);
	assert_true(b);
	assert_int_equal(cmdline_get_bool(&cl, "c", &b), 0);
	assert_false(b);
	assert_int_equal(cmdline_get_bool(&cl, "b", &b), 0);
	assert_true(b);
	assert_int_equal(cmdline_get_bool(&cl, "g", &b), 0);
	assert_false(b);
	assert_int_equal(cmdline_get_bool(&cl, "d", &b), 0);
	assert_true(b);
	assert_int_equal(cmdline_get_bool(&cl, "e", &b), -EINVAL);
	assert_int_equal(cmdline_get_bool(&cl, "f", &b), -EINVAL);
	assert_int_equal(cmdline_get_bool(&cl, "nope", &b), -ENOENT);
}

static void test_match(void **state)
{
	static const char *const consoles[] = { "com1", "com2", "vga", "none" };

	(void)state;
	assert_int_equal(cmdline_parse("console=vga other=COM1", &cl), 0);
	assert_int_equal(cmdline_match(cmdline_get(&cl, "console"), consoles, 4), 2);
	assert_int_equal(cmdline_match("com1", consoles, 4), 0);
	assert_int_equal(cmdline_match("none", consoles, 4), 3);
	assert_int_equal(cmdline_match("none", consoles, 3), -EINVAL);	/* n respected */
	assert_int_equal(cmdline_match(cmdline_get(&cl, "other"), consoles, 4), -EINVAL);
	assert_int_equal(cmdline_match(cmdline_get(&cl, "absent"), consoles, 4), -EINVAL);
	assert_int_equal(cmdline_match("", consoles, 4), -EINVAL);
}

static void test_error_resets_output(void **state)
{
	(void)state;
	assert_int_equal(cmdline_parse("a=1 b=\"", &cl), -EINVAL);
	assert_int_equal(cmdline_parse("c=3", &cl), 0);
	assert_int_equal(cl.count, 1);
	assert_string_equal(cl.err, "");
	assert_null(cmdline_get(&cl, "a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty_and_null),
		cmocka_unit_test(test_blanks),
		cmocka_unit_test(test_quotes),
		cmocka_unit_test(test_equals_in_value),
		cmocka_unit_test(test_last_wins),
		cmocka_unit_test(test_unterminated_quote),
		cmocka_unit_test(test_empty_key),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_get_uint),
		cmocka_unit_test(test_get_bool),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_error_resets_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
