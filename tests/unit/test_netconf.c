/* net.conf, the host's switches and port groups (drivers/net/netconf.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <drivers/netconf.h>

static struct netconf c;

static int parse(const char *text)
{
	return netconf_parse("net.conf", text, text ? strlen(text) : 0, &c);
}

static void expect_err(const char *text, const char *want)
{
	assert_int_equal(parse(text), -EINVAL);
	if (!strstr(c.err, want))
		fail_msg("error '%s' lacks '%s'", c.err, want);
}

static void test_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse(NULL), 0);
	assert_int_equal(c.nsw, 1);
	assert_string_equal(c.sw[0].name, "vSwitch0");
	assert_int_equal(c.sw[0].mtu, 1500);
	assert_int_equal(c.npg, 1);
	assert_string_equal(c.pg[0].name, "VM Network");
	assert_int_equal(c.pg[0].vlan, 0);
	assert_false(c.pg[0].policy.promiscuous || c.pg[0].policy.mac_changes ||
		     c.pg[0].policy.forged_transmits);
	assert_int_equal(parse("# nothing\n\n   \n  # a comment of more than eight words, \"quoted\n"),
			 0);
	assert_int_equal(c.npg, 1);
}

static void test_statements(void **state)
{
	(void)state;
	assert_int_equal(parse("vswitch vSwitch1 mtu=9000\r\n"
			       "portgroup \"Lab 10\" vswitch=vSwitch1 vlan=10 promiscuous=accept\n"
			       "  portgroup Trunk vlan=4095 forged_transmits=accept mac_changes=accept\n"
			       "portgroup \"VM Network\" vlan=5\n"), 0);
	assert_int_equal(c.nsw, 2);
	assert_string_equal(c.sw[0].name, "vSwitch1");
	assert_int_equal(c.sw[0].mtu, 9000);
	assert_string_equal(c.sw[1].name, "vSwitch0");
	assert_int_equal(c.npg, 3);
	assert_string_equal(c.pg[0].name, "Lab 10");
	assert_int_equal(c.pg[0].sw, 0);
	assert_int_equal(c.pg[0].vlan, 10);
	assert_true(c.pg[0].policy.promiscuous);
	assert_false(c.pg[0].policy.forged_transmits);
	assert_string_equal(c.pg[1].name, "Trunk");
	assert_int_equal(c.pg[1].sw, 1);
	assert_int_equal(c.pg[1].vlan, 4095);
	assert_true(c.pg[1].policy.forged_transmits && c.pg[1].policy.mac_changes);
	/* the file's own "VM Network" replaces the default one */
	assert_string_equal(c.pg[2].name, "VM Network");
	assert_int_equal(c.pg[2].vlan, 5);
	assert_int_equal(c.pg[2].line, 4);
	/* quotes inside a word */
	assert_int_equal(parse("vswitch \"Lab switch\"\nportgroup A vswitch=\"Lab switch\"\n"), 0);
	assert_int_equal(c.pg[0].sw, 0);
}

static void test_errors(void **state)
{
	(void)state;
	expect_err("vswitch\n", "net.conf:1: vswitch needs a name");
	expect_err("vswitch a\nvswitch a\n", "net.conf:2: vswitch 'a' declared twice");
	expect_err("vswitch a mtu=67\n", "mtu=67 is not a number from 68 to 9000");
	expect_err("vswitch a mtu=9001\n", "mtu=9001");
	expect_err("vswitch a speed=10\n", "unknown setting 'speed=10'");
	expect_err("portgroup A vlan=4096\n", "vlan=4096 is not a number from 0 to 4095");
	expect_err("portgroup A vlan=x\n", "vlan=x");
	expect_err("portgroup A vswitch=vSwitch9\n", "net.conf:1: vswitch 'vSwitch9' is not declared");
	expect_err("portgroup A\nportgroup A\n", "net.conf:2: portgroup 'A' declared twice");
	expect_err("portgroup A promiscuous=yes\n", "promiscuous: 'yes' is neither accept nor reject");
	expect_err("portgroup A color=red\n", "unknown setting 'color=red'");
	expect_err("portgroup \"A\n", "unterminated quote");
	expect_err("portgroup 0123456789012345678901234567890123\n", "1 to 31 characters");
	expect_err("bridge br0\n", "net.conf:1: unknown statement 'bridge'");
	expect_err("portgroup A\n\x01\n", "net.conf:2: control character");
	assert_int_equal(netconf_parse("net.conf", "a\0b", 3, &c), -EINVAL);
	assert_non_null(strstr(c.err, "NUL byte"));
}

static void test_limits(void **state)
{
	char text[4096];
	size_t o = 0;

	(void)state;
	for (int i = 0; i < 8; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "vswitch s%d\n", i);
	expect_err(text, "no room for vSwitch0");
	o = 0;
	for (int i = 0; i < 33; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "portgroup p%d\n", i);
	expect_err(text, "net.conf:33: more than 32 port groups");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_statements),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
