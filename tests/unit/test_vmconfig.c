/* Host unit tests for the .vmx configuration parser. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/vmconfig.h>

#define KERNEL "guest.kernel = \"guest.elf\"\n"

static struct vm_config cfg;

/* Parse @len bytes from an exact-size heap copy, so ASan catches any overread. */
static int parse_n(const char *file, const char *text, size_t len)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	memset(&cfg, 0x5a, sizeof(cfg));
	rc = vmconfig_parse(file, copy, len, &cfg);
	free(copy);
	if (rc == 0)
		assert_string_equal(cfg.err, "");
	else
		assert_true(cfg.err[0] != '\0');
	assert_true(strnlen(cfg.err, sizeof(cfg.err)) < sizeof(cfg.err));
	return rc;
}

static int parse(const char *text)
{
	return parse_n("vm1.vmx", text, strlen(text));
}

/* The error names every one of the given pieces (NULL-terminated list). */
static void expect_err(const char *text, ...)
{
	const char *piece;
	va_list ap;

	if (parse(text) != -EINVAL)
		fail_msg("accepted: %s", text);
	va_start(ap, text);
	while ((piece = va_arg(ap, const char *)) != NULL) {
		if (!strstr(cfg.err, piece))
			fail_msg("err '%s' lacks '%s'", cfg.err, piece);
	}
	va_end(ap);
}

static void test_minimal_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse(KERNEL), 0);
	assert_string_equal(cfg.name, "vm1");
	assert_string_equal(cfg.guest_os, "");
	assert_int_equal(cfg.memsize_mb, 64);
	assert_int_equal(cfg.mem_min_mb, 0);
	assert_int_equal(cfg.mem_max_mb, 0);
	assert_int_equal(cfg.numvcpus, 1);
	assert_int_equal(cfg.cpu_shares_level, VMCONFIG_SHARES_NORMAL);
	assert_int_equal(cfg.cpu_shares, 1000);
	assert_int_equal(cfg.cpu_min_mhz, 0);
	assert_int_equal(cfg.cpu_max_mhz, 0);
	assert_true(cfg.cpu_affinity == ~0ULL);
	assert_true(cfg.cpu_migrate);
	assert_true(cfg.serial0_present);
	assert_int_equal(cfg.guest_type, VMCONFIG_GUEST_MULTIBOOT);
	assert_string_equal(cfg.kernel, "guest.elf");
	assert_string_equal(cfg.initrd, "");
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.nmodules, 0);
	assert_int_equal(cfg.expect.kind, VMCONFIG_EXPECT_NONE);
}

static void test_full_config(void **state)
{
	static const char text[] =
		".encoding = \"UTF-8\"\n"
		"# a test VM\n"
		"config.version = \"8\"\n"
		"virtualHW.version = \"19\"\n"
		"guestOS = \"other-64\"\n"
		"displayName = \"Web server 01\"\n"
		"memsize = \"2048\"\n"
		"sched.mem.min = \"512\"\n"
		"sched.mem.max = \"1024\"\n"
		"numvcpus = \"4\"\n"
		"sched.cpu.shares = \"high\"\n"
		"sched.cpu.min = \"100\"\n"
		"sched.cpu.max = \"3000\"\n"
		"sched.cpu.affinity = \"0,2,63\"\n"
		"sched.cpu.migrate = \"FALSE\"\n"
		"serial0.present = \"TRUE\"\n"
		"serial0.fileType = \"console\"\n"
		"guest.type = \"multiboot\"\n"
		"guest.kernel = \"tests/guests/cpuid.elf\"\n"
		"guest.cmdline = \"verbose=1 name=|22x y|22\"\n"
		"guest.modules = \"a.bin, b.bin ,c\"\n"
		"test.expect = \"exit:0\"\n";

	(void)state;
	assert_int_equal(parse(text), 0);
	assert_string_equal(cfg.name, "Web server 01");
	assert_string_equal(cfg.guest_os, "other-64");
	assert_int_equal(cfg.memsize_mb, 2048);
	assert_int_equal(cfg.mem_min_mb, 512);
	assert_int_equal(cfg.mem_max_mb, 1024);
	assert_int_equal(cfg.numvcpus, 4);
	assert_int_equal(cfg.cpu_shares_level, VMCONFIG_SHARES_HIGH);
	assert_int_equal(cfg.cpu_shares, 8000);
	assert_int_equal(cfg.cpu_min_mhz, 100);
	assert_int_equal(cfg.cpu_max_mhz, 3000);
	assert_true(cfg.cpu_affinity == (1ULL | 4ULL | 1ULL << 63));
	assert_false(cfg.cpu_migrate);
	assert_string_equal(cfg.kernel, "tests/guests/cpuid.elf");
	assert_string_equal(cfg.cmdline, "verbose=1 name=\"x y\"");
	assert_int_equal(cfg.nmodules, 3);
	assert_string_equal(cfg.modules[0], "a.bin");
	assert_string_equal(cfg.modules[1], "b.bin");
	assert_string_equal(cfg.modules[2], "c");
	assert_int_equal(cfg.expect.kind, VMCONFIG_EXPECT_EXIT);
	assert_int_equal(cfg.expect.status, 0);
}

static void test_default_name(void **state)
{
	static const char *const files[][2] = {
		{ "/boot/vms/web01.vmx", "web01" }, { "VM2.VMX", "VM2" }, { "noext", "noext" },
		{ "a.vmx.vmx", "a.vmx" }, { "dir/x.cfg", "x.cfg" },
	};
	unsigned int i;
	char longname[80];

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(parse_n(files[i][0], KERNEL, strlen(KERNEL)), 0);
		assert_string_equal(cfg.name, files[i][1]);
	}
	/* displayName wins over the file name. */
	assert_int_equal(parse_n("x.vmx", "displayName=\"y\"\n" KERNEL, 16 + strlen(KERNEL)), 0);
	assert_string_equal(cfg.name, "y");
	/* A file name that gives no valid name needs displayName. */
	assert_int_equal(parse_n("dir/.vmx", KERNEL, strlen(KERNEL)), -EINVAL);
	assert_non_null(strstr(cfg.err, "no displayName"));
	memset(longname, 'n', sizeof(longname));
	memcpy(longname + 64, ".vmx", 5);
	assert_int_equal(parse_n(longname, KERNEL, strlen(KERNEL)), -EINVAL);
	assert_non_null(strstr(cfg.err, "no displayName"));
	assert_int_equal(parse_n("bad\x01name.vmx", KERNEL, strlen(KERNEL)), -EINVAL);
	assert_non_null(strstr(cfg.err, "bad|01name.vmx: "));	/* file shown escaped */
}

static void test_case_insensitive_keys(void **state)
{
	(void)state;
	assert_int_equal(parse("MEMSIZE = \"128\"\nNumVCPUs=\"2\"\nGUEST.KERNEL=\"k\"\n"
			       "Serial0.Present = \"false\"\nsched.cpu.shares=\"LOW\"\n"), 0);
	assert_int_equal(cfg.memsize_mb, 128);
	assert_int_equal(cfg.numvcpus, 2);
	assert_string_equal(cfg.kernel, "k");
	assert_false(cfg.serial0_present);
	assert_int_equal(cfg.cpu_shares, 1000);	/* low: 500 per vCPU */
	/* Values that are not keywords keep their case. */
	assert_int_equal(parse("guest.kernel = \"Guest.ELF\"\n"), 0);
	assert_string_equal(cfg.kernel, "Guest.ELF");
}

static void test_line_ends_and_blanks(void **state)
{
	(void)state;
	/* CRLF, no final newline, blanks and tabs everywhere, comments, empty lines. */
	assert_int_equal(parse("\r\n# comment\r\n  \t# indented comment\r\n\r\n"
			       "\t memsize \t=\t \"32\" \t\r\nguest.kernel=\"k\""), 0);
	assert_int_equal(cfg.memsize_mb, 32);
	assert_string_equal(cfg.kernel, "k");
	assert_int_equal(parse("guest.kernel=\"k\"\r"), 0);	/* CR at EOF */
	assert_int_equal(parse(""), -EINVAL);			/* empty: kernel missing */
	assert_int_equal(vmconfig_parse("vm1.vmx", NULL, 0, &cfg), -EINVAL);
	assert_non_null(strstr(cfg.err, "is required"));
}

static void test_escapes(void **state)
{
	(void)state;
	assert_int_equal(parse("guest.cmdline = \"|22q|22 a|7Cb c|7cd |41|5a|09\"\n" KERNEL), 0);
	assert_string_equal(cfg.cmdline, "\"q\" a|b c|d AZ\t");
	assert_int_equal(parse("guest.cmdline = \"|e2|82|ac\"\n" KERNEL), 0);
	assert_string_equal(cfg.cmdline, "\xe2\x82\xac");
	expect_err("guest.cmdline = \"a|G1\"\n", "vm1.vmx:1:", "\"guest.cmdline\"", "bad escape",
		   "column 19", NULL);
	expect_err("guest.cmdline = \"a|2\"\n", "vm1.vmx:1:", "bad escape", NULL);
	expect_err("guest.cmdline = \"a|\"\n", "bad escape", NULL);
	expect_err("guest.cmdline = \"a|2", "bad escape", NULL);	/* truncated at EOF */
	expect_err("guest.cmdline = \"a|00b\"\n", "|00", "NUL", NULL);
	/* An escaped quote does not end the value. */
	expect_err("guest.cmdline = \"a|22\n", "unterminated quote", NULL);
	/* Escapes are checked against each key's rules after decoding. */
	expect_err("guest.kernel = \"a|20b\"\n", "\"guest.kernel\"", "\"a b\"",
		   "not a module name", NULL);
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_err(KERNEL "memsize \"64\"\n", "vm1.vmx:2:", "\"memsize\"", "missing \"=\"", NULL);
	expect_err(KERNEL "memsize\n", "vm1.vmx:2:", "\"memsize\"", "missing \"=\"", NULL);
	expect_err(KERNEL " = \"64\"\n", "vm1.vmx:2:", "empty key", NULL);
	expect_err(KERNEL "memsize = 64\n", "vm1.vmx:2:", "\"memsize\"", "double quotes", NULL);
	expect_err(KERNEL "memsize = \n", "vm1.vmx:2:", "double quotes", NULL);
	expect_err(KERNEL "memsize = '64'\n", "vm1.vmx:2:", "double quotes", NULL);
	expect_err(KERNEL "memsize = \"64\n", "vm1.vmx:2:", "\"memsize\"", "unterminated quote",
		   NULL);
	expect_err(KERNEL "memsize = \"64\" x\n", "vm1.vmx:2:", "text after the closing quote",
		   NULL);
	expect_err(KERNEL "memsize = \"64\"\"\"\n", "text after the closing quote", NULL);
	expect_err(KERNEL "memsize = \"64\" # no trailing comments\n", "text after", NULL);
	expect_err(KERNEL "mem size = \"64\"\n", "vm1.vmx:2:", "\"mem\"", "missing \"=\"", NULL);
	expect_err(KERNEL "mem/size = \"64\"\n", "\"mem\"", "(/) is not allowed in a key", NULL);
	expect_err(KERNEL "\"memsize\" = \"64\"\n", "vm1.vmx:2:", "cannot start", NULL);
	expect_err(KERNEL "memsize = \"6\x01\"\n", "control character 0x01", NULL);
	expect_err(KERNEL "memsize = \"64\"\rnumvcpus = \"1\"\n", "text after", NULL);
}

static void test_duplicates(void **state)
{
	(void)state;
	expect_err(KERNEL "memsize = \"64\"\n\nMemSize = \"128\"\n", "vm1.vmx:4:", "\"MemSize\"",
		   "duplicate key (first set on line 2)", NULL);
	expect_err("GUEST.kernel = \"a\"\nguest.KERNEL = \"a\"\n", "vm1.vmx:2:", "duplicate",
		   NULL);
	expect_err(KERNEL "scsi0.present = \"FALSE\"\nSCSI0.PRESENT = \"false\"\n", "vm1.vmx:3:",
		   "duplicate key", NULL);
}

static void test_unknown_key(void **state)
{
	(void)state;
	expect_err(KERNEL "memsizee = \"64\"\n", "vm1.vmx:2: key \"memsizee\": unknown key", NULL);
	expect_err("uuid.bios = \"56 4d\"\n", "vm1.vmx:1:", "\"uuid.bios\"", "unknown key", NULL);
	expect_err(KERNEL "serial.present = \"FALSE\"\n", "unknown key", NULL);
	/* A key too long to be ours is named by its start. */
	expect_err("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa = \"1\"",
		   "vm1.vmx:1: key \"aaaaaaaaaa", "...\"", "longer than 63", NULL);
}

static void test_numbers(void **state)
{
	(void)state;
	expect_err(KERNEL "\n\n\n\n\nnumvcpus = \"0\"\n",
		   "vm1.vmx:7: key \"numvcpus\": \"0\" is not a number from 1 to 64", NULL);
	expect_err("numvcpus = \"65\"\n", "\"65\" is not a number from 1 to 64", NULL);
	expect_err("memsize = \"0\"\n", "vm1.vmx:1:", "\"memsize\"", "from 1 to 65536", NULL);
	expect_err("memsize = \"65537\"\n", "from 1 to 65536", NULL);
	expect_err("memsize = \"99999999999999999999\"\n", "\"99999999999999999999\"", NULL);
	expect_err("memsize = \"4294967360\"\n", "from 1 to 65536", NULL);	/* 2^32 + 64 */
	expect_err("memsize = \"18446744073709551680\"\n", "from 1 to 65536", NULL);
	expect_err("memsize = \"-1\"\n", "not a number", NULL);
	expect_err("memsize = \"+64\"\n", "not a number", NULL);
	expect_err("memsize = \" 64\"\n", "not a number", NULL);
	expect_err("memsize = \"64 \"\n", "not a number", NULL);
	expect_err("memsize = \"0x40\"\n", "not a number", NULL);
	expect_err("memsize = \"64M\"\n", "not a number", NULL);
	expect_err("memsize = \"\"\n", "\"\" is not a number", NULL);
	expect_err("virtualHW.version = \"0\"\n", "from 1 to 255", NULL);
	assert_int_equal(parse("memsize = \"65536\"\nnumvcpus = \"64\"\n" KERNEL), 0);
	assert_int_equal(cfg.memsize_mb, 65536);
	assert_int_equal(cfg.numvcpus, 64);
	assert_int_equal(cfg.cpu_shares, 64000);
	assert_int_equal(parse("memsize = \"0001\"\n" KERNEL), 0);
	assert_int_equal(cfg.memsize_mb, 1);
}

static void test_sched(void **state)
{
	(void)state;
	assert_int_equal(parse("numvcpus=\"3\"\nsched.cpu.shares=\"normal\"\n" KERNEL), 0);
	assert_int_equal(cfg.cpu_shares, 3000);
	/* numvcpus after the level still scales it. */
	assert_int_equal(parse("sched.cpu.shares=\"high\"\nnumvcpus=\"2\"\n" KERNEL), 0);
	assert_int_equal(cfg.cpu_shares, 4000);
	assert_int_equal(parse("sched.cpu.shares=\"1234\"\nnumvcpus=\"8\"\n" KERNEL), 0);
	assert_int_equal(cfg.cpu_shares_level, VMCONFIG_SHARES_CUSTOM);
	assert_int_equal(cfg.cpu_shares, 1234);
	expect_err("sched.cpu.shares=\"medium\"\n", "\"sched.cpu.shares\"", "low, normal, high",
		   NULL);
	expect_err("sched.cpu.shares=\"0\"\n", "from 1 to 1000000", NULL);
	expect_err("sched.cpu.shares=\"1000001\"\n", "from 1 to 1000000", NULL);

	assert_int_equal(parse("sched.cpu.min=\"0\"\nsched.cpu.max=\"Unlimited\"\n" KERNEL), 0);
	assert_int_equal(cfg.cpu_max_mhz, 0);
	assert_int_equal(parse("sched.cpu.max=\"500\"\nsched.cpu.min=\"500\"\n" KERNEL), 0);
	assert_int_equal(cfg.cpu_min_mhz, 500);
	assert_int_equal(cfg.cpu_max_mhz, 500);
	expect_err(KERNEL "sched.cpu.max=\"400\"\nsched.cpu.min=\"500\"\n", "vm1.vmx:2:",
		   "\"sched.cpu.max\"", "less than sched.cpu.min", NULL);
	expect_err("sched.cpu.max=\"0\"\n", "from 1 to 1000000", NULL);
	expect_err("sched.cpu.max=\"none\"\n", "neither \"unlimited\" nor a number", NULL);

	assert_int_equal(parse("sched.mem.min=\"64\"\nsched.mem.max=\"unlimited\"\n" KERNEL), 0);
	assert_int_equal(cfg.mem_min_mb, 64);
	assert_int_equal(cfg.mem_max_mb, 0);
	/* Checked against memsize whatever the order. */
	expect_err(KERNEL "sched.mem.min=\"128\"\nmemsize=\"100\"\n", "vm1.vmx:2:",
		   "\"sched.mem.min\"", "128 MiB is more than memsize (100 MiB)", NULL);
	expect_err(KERNEL "sched.mem.min=\"65\"\n", "more than memsize (64 MiB)", NULL);
	expect_err(KERNEL "sched.mem.min=\"32\"\n\nsched.mem.max=\"16\"\n", "vm1.vmx:4:",
		   "less than sched.mem.min", NULL);

	/* Memory shares: ESX's 5, 10, 20 per MiB of memsize, or a number. */
	assert_int_equal(parse(KERNEL "memsize=\"100\"\n"), 0);
	assert_int_equal(cfg.mem_shares, 1000);
	assert_true(cfg.pshare);
	assert_string_equal(cfg.pshare_salt, "");
	assert_int_equal(parse(KERNEL "sched.mem.shares=\"high\"\nmemsize=\"100\"\n"), 0);
	assert_int_equal(cfg.mem_shares, 2000);
	assert_int_equal(parse(KERNEL "sched.mem.shares=\"low\"\n"), 0);
	assert_int_equal(cfg.mem_shares, 320);
	assert_int_equal(parse(KERNEL "sched.mem.shares=\"777\"\n"), 0);
	assert_int_equal(cfg.mem_shares, 777);
	expect_err(KERNEL "sched.mem.shares=\"lots\"\n", "vm1.vmx:2:", "not low, normal, high",
		   NULL);
	expect_err(KERNEL "sched.mem.shares=\"0\"\n", "from 1 to 100000000", NULL);
	/* Page sharing: on by default, per VM; a salt opts into sharing between VMs. */
	assert_int_equal(parse(KERNEL "sched.mem.pshare.enable=\"FALSE\"\n"
			       "sched.mem.pshare.salt=\"web tier\"\n"), 0);
	assert_false(cfg.pshare);
	assert_string_equal(cfg.pshare_salt, "web tier");
	expect_err(KERNEL "sched.mem.pshare.enable=\"maybe\"\n", "vm1.vmx:2:",
		   "\"sched.mem.pshare.enable\"", NULL);
	expect_err(KERNEL "sched.mem.pshare.salt=\"\"\n", "vm1.vmx:2:", "printable", NULL);
	expect_err(KERNEL "sched.mem.pshare.salt=\"a\"\nsched.mem.pshare.salt=\"b\"\n",
		   "vm1.vmx:3:", NULL);
}

static void test_affinity(void **state)
{
	(void)state;
	assert_int_equal(parse("sched.cpu.affinity = \"ALL\"\n" KERNEL), 0);
	assert_true(cfg.cpu_affinity == ~0ULL);
	assert_int_equal(parse("sched.cpu.affinity = \" 1 , 3,1\"\n" KERNEL), 0);
	assert_true(cfg.cpu_affinity == 0xaULL);
	assert_int_equal(parse("sched.cpu.affinity = \"63\"\n" KERNEL), 0);
	assert_true(cfg.cpu_affinity == 1ULL << 63);
	expect_err("sched.cpu.affinity = \"64\"\n", "from 0 to 63", NULL);
	expect_err("sched.cpu.affinity = \"99999999999999999999999\"\n", "from 0 to 63", NULL);
	expect_err("sched.cpu.affinity = \"0,\"\n", "comma list", NULL);
	expect_err("sched.cpu.affinity = \",0\"\n", "comma list", NULL);
	expect_err("sched.cpu.affinity = \"\"\n", "comma list", NULL);
	expect_err("sched.cpu.affinity = \"0-3\"\n", "comma list", NULL);
	expect_err("sched.cpu.affinity = \"1 2\"\n", "comma list", NULL);
}

static void test_serial(void **state)
{
	static const char *const later[] = { "file", "pipe", "network", "device", "thinprint" };
	char text[128];
	unsigned int i;

	(void)state;
	assert_int_equal(parse("serial0.present = \"false\"\n" KERNEL), 0);
	assert_false(cfg.serial0_present);
	assert_int_equal(parse("serial0.present = \"True\"\nserial0.fileType=\"CONSOLE\"\n"
			       KERNEL), 0);
	assert_true(cfg.serial0_present);
	expect_err("serial0.present = \"yes\"\n", "\"yes\" is neither TRUE nor FALSE", NULL);
	expect_err("serial0.present = \"1\"\n", "neither TRUE nor FALSE", NULL);
	for (i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		snprintf(text, sizeof(text), "serial0.fileType = \"%s\"\n", later[i]);
		expect_err(text, "vm1.vmx:1:", "\"serial0.fileType\"", "not supported yet", NULL);
	}
	expect_err("serial0.fileType = \"tty\"\n", "not a serial port type", NULL);
	expect_err("serial0.fileName = \"/tmp/x\"\n", "\"serial0.fileName\"", "not supported yet",
		   NULL);
	expect_err("serial1.present = \"TRUE\"\n", "\"serial1.present\"", "not supported yet",
		   NULL);
}

static void test_guest_keys(void **state)
{
	char text[1200];

	(void)state;
	expect_err("memsize = \"64\"\n", "vm1.vmx: key \"guest.kernel\": is required", NULL);
	expect_err("guest.kernel = \"\"\n", "not a module name", NULL);
	expect_err("guest.kernel = \"a,b\"\n", "not a module name", NULL);
	expect_err("guest.kernel = \"a\tb\"\n", "not a module name", NULL);
	expect_err("guest.kernel = \"0123456789012345678901234567890123456789012345678901234567890"
		   "123\"\n", "not a module name", NULL);
	assert_int_equal(parse("guest.kernel = \"012345678901234567890123456789012345678901234567"
			       "890123456789012\"\n"), 0);
	assert_int_equal(strlen(cfg.kernel), 63);
	assert_int_equal(parse(KERNEL "guest.type = \"linux\"\nguest.initrd = \"initrd.img\"\n"),
			 0);
	assert_int_equal(cfg.guest_type, VMCONFIG_GUEST_LINUX);
	assert_string_equal(cfg.initrd, "initrd.img");
	expect_err(KERNEL "guest.type = \"pe\"\n", "not a guest type", NULL);
	expect_err(KERNEL "\nguest.initrd = \"initrd.img\"\n", "vm1.vmx:3:", "\"guest.initrd\"",
		   "only for guest.type \"linux\"", NULL);
	expect_err(KERNEL "guest.type = \"linux\"\nguest.modules = \"a\"\n", "\"guest.modules\"",
		   "only for multiboot guests", NULL);
	/* guest.reboot, monitor.apicv, test.skip */
	assert_int_equal(parse(KERNEL), 0);
	assert_int_equal(cfg.reboot, VMCONFIG_REBOOT_RESTART);
	assert_true(cfg.apicv);
	assert_int_equal(cfg.nskip, 0);
	assert_int_equal(parse(KERNEL "guest.reboot = \"stop\"\nmonitor.apicv = \"FALSE\"\n"
			       "test.skip = \" a_b, c ,d\"\n"), 0);
	assert_int_equal(cfg.reboot, VMCONFIG_REBOOT_STOP);
	assert_false(cfg.apicv);
	assert_int_equal(cfg.nskip, 3);
	assert_string_equal(cfg.skip[0], "a_b");
	assert_string_equal(cfg.skip[2], "d");
	expect_err(KERNEL "guest.reboot = \"halt\"\n", "not \"restart\" or \"stop\"", NULL);
	expect_err(KERNEL "monitor.apicv = \"maybe\"\n", "\"monitor.apicv\"", NULL);
	expect_err(KERNEL "test.skip = \"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q\"\n", "more than 16",
		   NULL);
	assert_int_equal(parse(KERNEL "test.expect = \"poweroff\"\n"), 0);
	assert_int_equal(cfg.expect.kind, VMCONFIG_EXPECT_POWEROFF);
	assert_int_equal(parse(KERNEL "test.expect = \"reset\"\n"), 0);
	assert_int_equal(cfg.expect.kind, VMCONFIG_EXPECT_RESET);
	/* The longest line gives the longest command line that fits. */
	memset(text, 'x', sizeof(text));
	memcpy(text, "guest.cmdline=\"", 15);
	memcpy(text + 1023, "\"\n" KERNEL, 3 + strlen(KERNEL));
	assert_int_equal(parse(text), 0);
	assert_int_equal(strlen(cfg.cmdline), 1023 - 15);
	assert_int_equal(parse("guest.cmdline = \"\"\n" KERNEL), 0);
	assert_string_equal(cfg.cmdline, "");
}

static void test_modules(void **state)
{
	char names[4][VMCONFIG_MODNAME_MAX];
	unsigned int n = 99;

	(void)state;
	assert_int_equal(parse("guest.modules = \"m1,m2,m3,m4,m5,m6,m7,m8\"\n" KERNEL), 0);
	assert_int_equal(cfg.nmodules, 8);
	assert_string_equal(cfg.modules[7], "m8");
	expect_err("guest.modules = \"m1,m2,m3,m4,m5,m6,m7,m8,m9\"\n", "more than 8 modules", NULL);
	expect_err("guest.modules = \"a,,b\"\n", "module 2 of \"a,,b\"", NULL);
	expect_err("guest.modules = \"a,b c\"\n", "module 2 of", NULL);
	expect_err("guest.modules = \"a,\"\n", "module 2 of", NULL);
	assert_int_equal(parse("guest.modules = \"  \"\n" KERNEL), 0);
	assert_int_equal(cfg.nmodules, 0);

	/* The helpers directly. */
	assert_int_equal(vmconfig_split_modules("x, y", 4, names, 4, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(names[1], "y");
	assert_int_equal(vmconfig_split_modules("a,b,c,d,e", 9, names, 4, &n), -E2BIG);
	assert_int_equal(n, 4);
	assert_int_equal(vmconfig_split_modules("a,b,,d", 6, names, 4, &n), -EINVAL);
	assert_int_equal(n, 2);
	/* The length is honoured. */
	assert_int_equal(vmconfig_split_modules("ab", 1, names, 4, &n), 0);
	assert_string_equal(names[0], "a");
	assert_true(vmconfig_valid_modname("guest.elf", 9));
	assert_true(vmconfig_valid_modname("/boot/x~!", 9));
	assert_false(vmconfig_valid_modname("", 0));
	assert_false(vmconfig_valid_modname(NULL, 3));
	assert_false(vmconfig_valid_modname("a b", 3));
	assert_false(vmconfig_valid_modname("a,b", 3));
	assert_false(vmconfig_valid_modname("a\x80", 2));
	assert_false(vmconfig_valid_modname("a\x7f", 2));
}

static void test_break(void **state)
{
	(void)state;
	assert_int_equal(parse(KERNEL), 0);
	assert_int_equal(cfg.test_break, VMCONFIG_BREAK_NONE);
	assert_int_equal(parse(KERNEL "test.break = \"guest-state\"\n"), 0);
	assert_int_equal(cfg.test_break, VMCONFIG_BREAK_GUEST_STATE);
	assert_int_equal(parse(KERNEL "TEST.BREAK = \"Control\"\n"), 0);
	assert_int_equal(cfg.test_break, VMCONFIG_BREAK_CONTROL);
	assert_int_equal(parse(KERNEL "test.break = \"everything\"\n"), -EINVAL);
	assert_non_null(strstr(cfg.err, "test.break"));
	assert_non_null(strstr(cfg.err, "guest-state"));
}

static void test_expect(void **state)
{
	static const char *const good[] = {
		"exit:0", "exit:255", "EXIT:7", "stopped:triple-fault", "stopped:entry-failure",
		"stopped:bad-access", "stopped:unsupported", "stopped:killed", "running",
	};
	static const char *const bad[] = {
		"exit:256", "exit:", "exit:-1", "exit:1x", "exit", "stopped:", "stopped:crashed",
		"stopped:killed ", "run", "", "exit:99999999999999999999",
	};
	char text[128], back[32];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), KERNEL "test.expect = \"%s\"\n", good[i]);
		assert_int_equal(parse(text), 0);
		vmconfig_expect_format(&cfg.expect, back, sizeof(back));
		if (i == 2)
			assert_string_equal(back, "exit:7");
		else
			assert_string_equal(back, good[i]);
	}
	assert_int_equal(parse(KERNEL "test.expect = \"stopped:bad-access\"\n"), 0);
	assert_int_equal(cfg.expect.kind, VMCONFIG_EXPECT_STOPPED);
	assert_int_equal(cfg.expect.reason, VMCONFIG_STOP_BAD_ACCESS);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "test.expect = \"%s\"\n", bad[i]);
		expect_err(text, "vm1.vmx:1: key \"test.expect\": ", NULL);
	}
	expect_err("test.expect = \"stopped:crashed\"\n", "triple-fault, entry-failure", NULL);
	expect_err("test.expect = \"exit:300\"\n", "N from 0 to 255", NULL);
	assert_string_equal(vmconfig_stop_reason_name(VMCONFIG_STOP_KILLED), "killed");
	assert_string_equal(vmconfig_stop_reason_name(VMCONFIG_STOP_COUNT), "?");
	assert_string_equal(vmconfig_stop_reason_name((enum vmconfig_stop_reason)-1), "?");
	cfg.expect.kind = VMCONFIG_EXPECT_NONE;
	assert_int_equal(vmconfig_expect_format(&cfg.expect, back, sizeof(back)), 0);
	assert_string_equal(back, "");
}

static void test_vmware_keys_not_supported(void **state)
{
	static const char *const keys[] = {
		"scsi0:0.writeThrough", "scsi1:2.redo", "floppy0.present",
		"ide0:0.present", "ide0:0.fileName", "ide1:0.deviceType", "sata0.present",
		"sata0:1.fileName", "usb.present", "sound.present", "nvram", "firmware",
		"pciBridge0.present", "vmci0.present", "ehci.present",
	};
	char text[128];
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(text, sizeof(text), KERNEL "%s = \"TRUE\"\n", keys[i]);
		expect_err(text, "vm1.vmx:2: key \"", keys[i], "\": not supported yet", NULL);
	}
	expect_err("firmware = \"efi\"\n", "\"firmware\": not supported yet", NULL);
	/* Near misses are unknown, not "not supported". */
	expect_err("scsi.present = \"FALSE\"\n", "unknown key", NULL);
	expect_err("scsi0:x.present = \"FALSE\"\n", "unknown key", NULL);
	expect_err("nvram.x = \"FALSE\"\n", "unknown key", NULL);
	expect_err("ide0.present = \"FALSE\"\n", "unknown key", NULL);
}

static void test_nics(void **state)
{
	uint8_t g0[6], g1[6];

	(void)state;
	/* defaults: virtio-net, "VM Network", a generated address from the name and index */
	assert_int_equal(parse(KERNEL "ethernet0.present = \"TRUE\"\n"
			       "ethernet2.present = \"TRUE\"\nethernet2.virtualDev = \"virtio-net\"\n"
			       "ethernet2.networkName = \"Lab 10\"\n"), 0);
	assert_int_equal(cfg.nnics, 2);
	assert_int_equal(cfg.nics[0].index, 0);
	assert_string_equal(cfg.nics[0].network, "VM Network");
	assert_false(cfg.nics[0].static_mac);
	vmconfig_net_generate_mac("vm1", 0, 0, g0);
	vmconfig_net_generate_mac("vm1", 2, 0, g1);
	assert_memory_equal(cfg.nics[0].mac, g0, 6);
	assert_memory_equal(cfg.nics[1].mac, g1, 6);
	assert_memory_not_equal(g0, g1, 6);
	assert_int_equal(g0[0], 0x00);
	assert_int_equal(g0[1], 0x0c);
	assert_int_equal(g0[2], 0x29);
	vmconfig_net_generate_mac("vm2", 0, 0, g1);
	assert_memory_not_equal(g0, g1, 6);
	assert_string_equal(cfg.nics[1].network, "Lab 10");
	/* static addresses: VMware's range only */
	assert_int_equal(parse(KERNEL "ethernet0.present = \"TRUE\"\n"
			       "ethernet0.addressType = \"static\"\n"
			       "ethernet0.address = \"00:50:56:3F:00:01\"\n"), 0);
	assert_true(cfg.nics[0].static_mac);
	assert_int_equal(cfg.nics[0].mac[3], 0x3f);
	assert_int_equal(cfg.nics[0].mac[5], 0x01);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.addressType = \"static\"\n"
		   "ethernet0.address = \"00:50:56:40:00:01\"\n", "vm1.vmx:4: key "
		   "\"ethernet0.address\"", "outside VMware's static range", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.addressType = \"static\"\n"
		   "ethernet0.address = \"00:50:56:00:01\"\n", "is not a MAC address", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.addressType = \"static\"\n",
		   "vm1.vmx:3: key \"ethernet0.addressType\"", "needs ethernetN.address", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.address = \"00:50:56:00:00:01\"\n",
		   "vm1.vmx:3: key \"ethernet0.address\"", "only used with addressType", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet1.present = \"TRUE\"\n"
		   "ethernet0.addressType = \"static\"\nethernet0.address = \"00:50:56:00:00:01\"\n"
		   "ethernet1.addressType = \"static\"\nethernet1.address = \"00:50:56:00:00:01\"\n",
		   "ethernet1.present", "the same MAC address as ethernet0", NULL);
	/* VMware's models: a clear refusal */
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.virtualDev = \"vmxnet3\"\n",
		   "vm1.vmx:3: key \"ethernet0.virtualDev\"", "\"vmxnet3\" is not supported (only "
		   "\"virtio-net\")", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.virtualDev = \"e1000\"\n",
		   "\"e1000\" is not supported", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.virtualDev = \"rtl\"\n",
		   "is not a NIC model", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.addressType = \"dhcp\"\n",
		   "vm1.vmx:3: key \"ethernet0.addressType\"", "not \"generated\", \"static\" or "
		   "\"vpx\"", NULL);
	expect_err(KERNEL "ethernet0.networkName = \"VM Network\"\n",
		   "vm1.vmx:2: key \"ethernet0.present\"", "no present", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.present = \"TRUE\"\n",
		   "duplicate key (first set on line 2)", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet0.startConnected = \"TRUE\"\n",
		   "\"ethernet0.startConnected\": not supported", NULL);
	expect_err(KERNEL "ethernet10.present = \"TRUE\"\n", "ethernet0 to ethernet9", NULL);
	expect_err(KERNEL "ethernet0.networkName = \"\"\n", "1 to 31 characters", NULL);
	expect_err(KERNEL "ethernet0.present = \"TRUE\"\nethernet1.present = \"TRUE\"\n"
		   "ethernet2.present = \"TRUE\"\nethernet3.present = \"TRUE\"\n"
		   "ethernet4.present = \"TRUE\"\n", "more than 4 NICs", NULL);
	/* present = FALSE: no NIC */
	assert_int_equal(parse(KERNEL "ethernet0.present = \"FALSE\"\n"), 0);
	assert_int_equal(cfg.nnics, 0);
}

/* The NIC present on ethernet0 of the last parse: its note holds every piece. */
static void expect_note(const char *text, ...)
{
	const char *piece;
	va_list ap;

	if (parse(text) != 0)
		fail_msg("refused (%s): %s", cfg.err, text);
	assert_int_equal(cfg.nnics, 1);
	va_start(ap, text);
	while ((piece = va_arg(ap, const char *)) != NULL) {
		if (!strstr(cfg.nics[0].note, piece))
			fail_msg("note '%s' lacks '%s'", cfg.nics[0].note, piece);
	}
	va_end(ap);
}

#define NIC0 KERNEL "ethernet0.present = \"TRUE\"\n"

/* VMware's address keys: addressType generated/static/vpx with generatedAddress(Offset). */
static void test_nics_vmware_addresses(void **state)
{
	static const uint8_t vmx_gen[6] = { 0x00, 0x0c, 0x29, 0x12, 0x34, 0x56 };
	static const uint8_t vpx[6] = { 0x00, 0x50, 0x56, 0xa1, 0x02, 0x03 };
	uint8_t g[6];

	(void)state;
	/* generated + a generatedAddress in VMware's range: that address, as VMware made it */
	expect_note(NIC0 "ethernet0.addressType = \"generated\"\n"
		    "ethernet0.generatedAddress = \"00:0C:29:12:34:56\"\n"
		    "ethernet0.generatedAddressOffset = \"0\"\n", NULL);
	assert_memory_equal(cfg.nics[0].mac, vmx_gen, 6);
	assert_string_equal(cfg.nics[0].mac_source, "generatedAddress");
	assert_string_equal(cfg.nics[0].note, "");
	/* without addressType, "generated" is the default */
	expect_note(NIC0 "ethernet0.generatedAddress = \"00:0c:29:12:34:56\"\n", NULL);
	assert_memory_equal(cfg.nics[0].mac, vmx_gen, 6);
	/* outside the range: generated here instead, and said */
	expect_note(NIC0 "ethernet0.generatedAddress = \"00:50:56:12:34:56\"\n",
		    "generatedAddress 00:50:56:12:34:56 is outside VMware's generated range",
		    "the vmkernel generated the address", NULL);
	vmconfig_net_generate_mac("vm1", 0, 0, g);
	assert_memory_equal(cfg.nics[0].mac, g, 6);
	assert_string_equal(cfg.nics[0].mac_source, "generated");
	/* the offset moves a generated address; 10 apart, as VMware numbers them */
	expect_note(NIC0 "ethernet0.generatedAddressOffset = \"10\"\n", NULL);
	vmconfig_net_generate_mac("vm1", 0, 10, g);
	assert_memory_equal(cfg.nics[0].mac, g, 6);
	assert_int_equal(cfg.nics[0].gen_offset, 10);
	vmconfig_net_generate_mac("vm1", 0, 0, g);
	assert_memory_not_equal(cfg.nics[0].mac, g, 6);
	assert_int_equal(g[0], 0x00);
	assert_int_equal(g[2], 0x29);
	expect_err(NIC0 "ethernet0.generatedAddressOffset = \"-1\"\n",
		   "vm1.vmx:3: key \"ethernet0.generatedAddressOffset\"", "0 to 16777215", NULL);
	expect_err(NIC0 "ethernet0.generatedAddressOffset = \"16777216\"\n", "0 to 16777215",
		   NULL);
	expect_err(NIC0 "ethernet0.generatedAddress = \"00:0c:29:12:34\"\n",
		   "vm1.vmx:3: key \"ethernet0.generatedAddress\"", "is not a MAC address", NULL);
	/* vpx: vCenter's address when it is in vCenter's range; no vCenter here to ask */
	expect_note(NIC0 "ethernet0.addressType = \"vpx\"\n"
		    "ethernet0.generatedAddress = \"00:50:56:a1:02:03\"\n", NULL);
	assert_memory_equal(cfg.nics[0].mac, vpx, 6);
	assert_string_equal(cfg.nics[0].mac_source, "vCenter-assigned generatedAddress");
	expect_note(NIC0 "ethernet0.addressType = \"vpx\"\n",
		    "addressType \"vpx\" without a vCenter-assigned generatedAddress", NULL);
	vmconfig_net_generate_mac("vm1", 0, 0, g);
	assert_memory_equal(cfg.nics[0].mac, g, 6);
	expect_note(NIC0 "ethernet0.addressType = \"vpx\"\n"
		    "ethernet0.generatedAddress = \"00:0c:29:a1:02:03\"\n",
		    "outside vCenter's range 00:50:56:80:00:00-00:50:56:bf:ff:ff", NULL);
	/* static: ethernetN.address; a left-over generatedAddress is not used, and said */
	expect_note(NIC0 "ethernet0.addressType = \"static\"\n"
		    "ethernet0.address = \"00:50:56:01:02:03\"\n"
		    "ethernet0.generatedAddress = \"00:0c:29:12:34:56\"\n",
		    "not used: addressType is \"static\"", NULL);
	assert_int_equal(cfg.nics[0].mac[3], 0x01);
	assert_string_equal(cfg.nics[0].mac_source, "static");
	/* two NICs whose generatedAddress is the same: refused as before */
	expect_err(NIC0 "ethernet1.present = \"TRUE\"\n"
		   "ethernet0.generatedAddress = \"00:0c:29:12:34:56\"\n"
		   "ethernet1.generatedAddress = \"00:0c:29:12:34:56\"\n",
		   "the same MAC address as ethernet0", NULL);
}

/* Workstation's connectionType and vnet: mapped onto port groups, or refused, with reasons. */
static void test_nics_connection_type(void **state)
{
	(void)state;
	expect_note(NIC0 "ethernet0.connectionType = \"bridged\"\n",
		    "connectionType \"bridged\": port group 'VM Network'", NULL);
	assert_string_equal(cfg.nics[0].network, "VM Network");
	expect_note(NIC0 "ethernet0.connectionType = \"NAT\"\n",
		    "connectionType \"nat\": no NAT or DHCP service here",
		    "port group 'VMnet8'", NULL);
	assert_string_equal(cfg.nics[0].network, "VMnet8");
	expect_note(NIC0 "ethernet0.connectionType = \"hostonly\"\n",
		    "no host-only adapter here", "port group 'VMnet1'", NULL);
	assert_string_equal(cfg.nics[0].network, "VMnet1");
	expect_note(NIC0 "ethernet0.connectionType = \"custom\"\nethernet0.vnet = \"VMnet2\"\n",
		    "connectionType \"custom\": port group 'VMnet2'", NULL);
	assert_string_equal(cfg.nics[0].network, "VMnet2");
	expect_note(NIC0 "ethernet0.connectionType = \"custom\"\n"
		    "ethernet0.vnet = \"/dev/vmnet12\"\n", NULL);
	assert_string_equal(cfg.nics[0].network, "VMnet12");
	/* networkName wins; the connection type is said to be unused */
	expect_note(NIC0 "ethernet0.connectionType = \"nat\"\n"
		    "ethernet0.networkName = \"Lab 10\"\n",
		    "connectionType \"nat\" not used: networkName names the port group", NULL);
	assert_string_equal(cfg.nics[0].network, "Lab 10");
	expect_note(NIC0 "ethernet0.connectionType = \"nat\"\nethernet0.vnet = \"VMnet3\"\n",
		    "vnet VMnet3 not used: connectionType is not \"custom\"", NULL);
	assert_string_equal(cfg.nics[0].network, "VMnet8");
	/* no connectionType, no networkName: "VM Network" and nothing to say */
	expect_note(NIC0, NULL);
	assert_string_equal(cfg.nics[0].note, "");
	expect_err(NIC0 "ethernet0.connectionType = \"custom\"\n",
		   "vm1.vmx:3: key \"ethernet0.connectionType\"", "\"custom\" needs ethernetN.vnet",
		   NULL);
	expect_err(NIC0 "ethernet0.connectionType = \"pvn\"\n",
		   "vm1.vmx:3: key \"ethernet0.connectionType\"", "\"pvn\" is not a connection "
		   "type this host maps", NULL);
	expect_err(NIC0 "ethernet0.vnet = \"VMnet256\"\n", "VMnet0 to VMnet255", NULL);
	expect_err(NIC0 "ethernet0.vnet = \"eth0\"\n",
		   "vm1.vmx:3: key \"ethernet0.vnet\"", "not a VMware virtual network name", NULL);
	expect_err(NIC0 "ethernet0.vnet = \"VMnetX\"\n", "not a VMware virtual network name",
		   NULL);
}

static void test_present_false_accepted(void **state)
{
	char text[4096];
	size_t o;
	unsigned int i;

	(void)state;
	assert_int_equal(parse("scsi0.present = \"FALSE\"\nethernet0.present = \"false\"\n"
			       "floppy0.present = \"False\"\nide0:0.present = \"FALSE\"\n"
			       "sata0.present = \"FALSE\"\nusb.present = \"FALSE\"\n"
			       "sound.present = \"FALSE\"\nscsi0:0.present = \"FALSE\"\n"
			       "serial1.present = \"FALSE\"\n" KERNEL), 0);
	assert_string_equal(cfg.kernel, "guest.elf");
	expect_err("usb.present = \"maybe\"\n", "\"usb.present\"", "neither TRUE nor FALSE", NULL);
	/* Only .present may be FALSE: other keys of a disabled device still ask for it. */
	expect_err("scsi0.present = \"FALSE\"\nscsi0.virtualDev = \"lsilogic\"\n",
		   "vm1.vmx:2:", "not supported yet", NULL);
	/* The list of such keys is bounded. */
	for (i = 0, o = 0; i < 17; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "sata0:%u.present=\"FALSE\"\n",
				      i);
	expect_err(text, "vm1.vmx:17:", "more than 16", NULL);
}

/* rng0.*: the entropy device and its rate limit. */
static void test_rng(void **state)
{
	(void)state;
	assert_int_equal(parse(KERNEL), 0);
	assert_false(cfg.rng.present);
	assert_int_equal(parse(KERNEL "rng0.present = \"TRUE\"\n"), 0);
	assert_true(cfg.rng.present);
	assert_int_equal(cfg.rng.rate, VMCONFIG_RNG_RATE_DEFAULT);
	assert_int_equal(parse(KERNEL "RNG0.Present = \"true\"\nrng0.rate = \"1024\"\n"), 0);
	assert_int_equal(cfg.rng.rate, 1024);
	assert_int_equal(parse(KERNEL "rng0.present = \"FALSE\"\n"), 0);
	assert_false(cfg.rng.present);
	expect_err(KERNEL "rng0.present = \"yes\"\n", "vm1.vmx:2:", "\"rng0.present\"",
		   "neither TRUE nor FALSE", NULL);
	expect_err(KERNEL "rng0.present = \"TRUE\"\nrng0.present = \"TRUE\"\n", "vm1.vmx:3:",
		   "duplicate key (first set on line 2)", NULL);
	expect_err(KERNEL "rng0.present = \"TRUE\"\nrng0.rate = \"1023\"\n", "vm1.vmx:3:",
		   "\"rng0.rate\"", "from 1024 to 67108864 bytes per second", NULL);
	expect_err(KERNEL "rng0.present = \"TRUE\"\nrng0.rate = \"67108865\"\n", "bytes per second",
		   NULL);
	expect_err(KERNEL "rng0.present = \"TRUE\"\nrng0.rate = \"99999999999999\"\n",
		   "bytes per second", NULL);
	expect_err(KERNEL "rng0.present = \"TRUE\"\nrng0.rate = \"1k\"\n", "bytes per second", NULL);
	expect_err(KERNEL "rng0.rate = \"4096\"\n", "vm1.vmx:2:", "\"rng0.rate\"",
		   "no entropy device to apply it to", NULL);
	expect_err(KERNEL "rng1.present = \"TRUE\"\n", "one entropy device, rng0", NULL);
	expect_err(KERNEL "rng0.backend = \"x\"\n", "not a key of the entropy device", NULL);
	expect_err(KERNEL "rngx = \"x\"\n", "unknown key", NULL);
}

static void test_balloon(void **state)
{
	(void)state;
	assert_int_equal(parse(KERNEL "memsize = \"200\"\n"), 0);
	assert_false(cfg.balloon);
	assert_int_equal(parse(KERNEL "memsize = \"200\"\nballoon0.present = \"TRUE\"\n"), 0);
	assert_true(cfg.balloon);
	assert_false(cfg.maxmemctl_set);
	assert_int_equal(vmconfig_maxmemctl_mb(&cfg), 130);	/* 65% of memsize */
	assert_int_equal(parse(KERNEL "balloon0.present = \"TRUE\"\nsched.mem.maxmemctl = \"0\"\n"),
			 0);
	assert_int_equal(vmconfig_maxmemctl_mb(&cfg), 0);
	assert_int_equal(parse(KERNEL "sched.mem.maxmemctl = \"64\"\nballoon0.present = \"TRUE\"\n"),
			 0);
	assert_int_equal(vmconfig_maxmemctl_mb(&cfg), 64);
	expect_err(KERNEL "balloon0.present = \"TRUE\"\nsched.mem.maxmemctl = \"65\"\n",
		   "vm1.vmx:3:", "\"sched.mem.maxmemctl\"", "65 MiB is more than memsize (64 MiB)",
		   NULL);
	expect_err(KERNEL "sched.mem.maxmemctl = \"32\"\n", "vm1.vmx:2:", "no balloon to apply it to",
		   NULL);
	expect_err(KERNEL "balloon0.present = \"maybe\"\n", "\"balloon0.present\"", NULL);
	expect_err(KERNEL "balloon0.present = \"TRUE\"\nsched.mem.maxmemctl = \"-1\"\n",
		   "\"sched.mem.maxmemctl\"", NULL);
	expect_err(KERNEL "balloon0.present = \"TRUE\"\nballoon0.present = \"TRUE\"\n",
		   "duplicate key", NULL);
}

static void test_disks(void **state)
{
	(void)state;
	assert_int_equal(parse(KERNEL "scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"virtio-blk\"\n"
			       "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"vm1.vmdk\"\n"
			       "scsi0:1.present = \"FALSE\"\nscsi0:1.fileName = \"old.vmdk\"\n"
			       "SCSI0:2.Present = \"true\"\nscsi0:2.FILENAME = \"/vmfs/volumes/ds 1/a b.vmdk\"\n"
			       "scsi0:2.readOnly = \"TRUE\"\nscsi0:2.sharing = \"multi-writer\"\n"
			       "scsi0:2.deviceType = \"scsi-hardDisk\"\nscsi0:2.mode = \"persistent\"\n"
			       "vmx.directory = \"/vmfs/volumes/ds1/vm1\"\n"), 0);
	assert_int_equal(cfg.ndisks, 2);
	assert_string_equal(cfg.vmx_dir, "/vmfs/volumes/ds1/vm1");
	assert_string_equal(cfg.disks[0].file, "vm1.vmdk");
	assert_int_equal(cfg.disks[0].unit, 0);
	assert_false(cfg.disks[0].read_only);
	assert_string_equal(cfg.disks[1].file, "/vmfs/volumes/ds 1/a b.vmdk");
	assert_int_equal(cfg.disks[1].unit, 2);
	assert_true(cfg.disks[1].read_only);
	assert_true(cfg.disks[1].multi_writer);
	/* no disks at all, an adapter alone */
	assert_int_equal(parse(KERNEL "scsi1.present = \"TRUE\"\nscsi1.virtualDev = \"virtio-blk\"\n"), 0);
	assert_int_equal(cfg.ndisks, 0);
#define A0 "scsi0.present = \"TRUE\"\nscsi0.virtualDev = \"virtio-blk\"\n"
	expect_err(KERNEL A0 "scsi0:0.present = \"TRUE\"\n", "vm1.vmx:4: key \"scsi0:0.present\"",
		   "needs a fileName", NULL);
	expect_err(KERNEL A0 "scsi0:0.fileName = \"a.vmdk\"\n", "vm1.vmx:4: key \"scsi0:0.fileName\"",
		   "no present = \"TRUE\"", NULL);
	expect_err(KERNEL "scsi0.present = \"TRUE\"\nscsi0:0.present = \"TRUE\"\n"
		   "scsi0:0.fileName = \"a.vmdk\"\n", "key \"scsi0.virtualDev\"", "virtio-blk", NULL);
	expect_err(KERNEL "scsi0.virtualDev = \"virtio-blk\"\nscsi0:0.present = \"TRUE\"\n"
		   "scsi0:0.fileName = \"a.vmdk\"\n", "key \"scsi0.present\"", "must be present", NULL);
	expect_err(KERNEL "scsi0.virtualDev = \"pvscsi\"\n", "vm1.vmx:2:", "not supported yet", NULL);
	expect_err(KERNEL "scsi0.virtualDev = \"floppy\"\n", "not a disk adapter model", NULL);
	expect_err(KERNEL "scsi0:7.present = \"TRUE\"\n", "not unit 7", NULL);
	expect_err(KERNEL "scsi0:16.present = \"TRUE\"\n", "scsi0:0 to scsi3:15", NULL);
	expect_err(KERNEL "scsi4.present = \"TRUE\"\n", "only scsi0 to scsi3", NULL);
	expect_err(KERNEL "scsi0:0.mode = \"independent-nonpersistent\"\n", "not supported yet", NULL);
	expect_err(KERNEL "scsi0:0.sharing = \"maybe\"\n", "not \"none\" or \"multi-writer\"", NULL);
	expect_err(KERNEL "scsi0:0.readOnly = \"1\"\n", "neither TRUE nor FALSE", NULL);
	expect_err(KERNEL "scsi0:0.fileName = \"a\"\nscsi0:0.FileName = \"b\"\n", "vm1.vmx:3:",
		   "duplicate key (first set on line 2)", NULL);
	expect_err(KERNEL "scsi0:0.fileName = \"\"\n", "1 to 255 characters", NULL);
	expect_err(KERNEL A0 "vmx.directory = \"/vmfs/volumes/d\"\n"
		   "scsi0:0.present = \"TRUE\"\nscsi0:0.fileName = \"a\"\n"
		   "scsi0:1.present = \"TRUE\"\nscsi0:1.fileName = \"a\"\n"
		   "scsi0:2.present = \"TRUE\"\nscsi0:2.fileName = \"a\"\n"
		   "scsi0:3.present = \"TRUE\"\nscsi0:3.fileName = \"a\"\n"
		   "scsi0:4.present = \"TRUE\"\nscsi0:4.fileName = \"a\"\n", "more than 4 disks", NULL);
	/* relative fileNames: against vmx.directory, which a boot-module .vmx must give */
#define D0 A0 "scsi0:0.present = \"TRUE\"\n"
	expect_err(KERNEL D0 "scsi0:0.fileName = \"vm1/a.vmdk\"\n", "vm1.vmx:5: key \"scsi0:0.fileName\"",
		   "\"vm1/a.vmdk\" is relative", "set vmx.directory", NULL);
	assert_int_equal(parse(KERNEL D0 "scsi0:0.fileName = \"a.vmdk\"\n"
			       "vmx.directory = \"/vmfs/volumes/ds1/\"\n"), 0);
	assert_int_equal(parse(KERNEL D0 "scsi0:0.fileName = \"a.vmdk\"\n"
			       "vmx.directory = \"/vmfs/volumes/ds1\"\n"), 0);
	/* vmx.directory unused by disks is fine: the swap file goes there */
	assert_int_equal(parse(KERNEL D0 "scsi0:0.fileName = \"/vmfs/volumes/ds1/a.vmdk\"\n"
			       "vmx.directory = \"/vmfs/volumes/ds1/x\"\n"), 0);
	assert_string_equal(cfg.vmx_dir, "/vmfs/volumes/ds1/x");
	/* sched.swap.dir: the same syntax */
	assert_int_equal(parse(KERNEL "sched.swap.dir = \"/vmfs/volumes/ds2/swap\"\n"), 0);
	assert_string_equal(cfg.swap_dir, "/vmfs/volumes/ds2/swap");
	expect_err(KERNEL "sched.swap.dir = \"/tmp/x\"\n", "vm1.vmx:2: key \"sched.swap.dir\"",
		   "not a datastore directory", NULL);
	expect_err(KERNEL "sched.swap.dir = \"/vmfs/volumes/a\"\nsched.swap.dir = \"/vmfs/volumes/a\"\n",
		   "duplicate key", NULL);
	expect_err(KERNEL "vmx.directory = \"/vmfs/volumes/\"\n", "vm1.vmx:2:",
		   "not a datastore directory", NULL);
	expect_err(KERNEL "vmx.directory = \"/vmfs/volumes//x\"\n", "not a datastore directory", NULL);
	expect_err(KERNEL "vmx.directory = \"/tmp/x\"\n", "not a datastore directory", NULL);
	expect_err(KERNEL "vmx.directory = \"ds1/x\"\n", "not a datastore directory", NULL);
	expect_err(KERNEL "vmx.directory = \"/vmfs/volumes/ds1/../ds2\"\n", "\"..\" are not allowed",
		   NULL);
	expect_err(KERNEL "vmx.directory = \"/vmfs/volumes/ds1/.\"\n", "are not allowed", NULL);
	assert_int_equal(parse(KERNEL D0 "scsi0:0.fileName = \"a.vmdk\"\n"
			       "vmx.directory = \"/vmfs/volumes/ds1/..x/.y\"\n"), 0);
	expect_err(KERNEL "vmx.directory = \"/vmfs/volumes/a\"\nvmx.directory = \"/vmfs/volumes/a\"\n",
		   "duplicate key", NULL);
#undef D0
#undef A0
}

static void test_hostile_nul(void **state)
{
	static const char t1[] = "guest.kernel = \"k\"\nmemsize = \"6\0\"\n";
	static const char t2[] = "guest.kernel = \"k\"\n# comment \0 here\n";
	static const char t3[] = "\0";

	(void)state;
	assert_int_equal(parse_n("vm1.vmx", t1, sizeof(t1) - 1), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:2: key \"memsize\": NUL byte at column 13"));
	assert_int_equal(parse_n("vm1.vmx", t2, sizeof(t2) - 1), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:2: NUL byte at column 11"));
	assert_int_equal(parse_n("vm1.vmx", t3, 1), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:1: NUL byte at column 1"));
	/* The length is honoured: text after it is never read. */
	assert_int_equal(parse_n("vm1.vmx", KERNEL "memsize = \"1\0", strlen(KERNEL)), 0);
}

static void test_long_lines(void **state)
{
	size_t big = 100 * 1024;
	char *text = malloc(big + 64);
	char line[1100];

	(void)state;
	assert_non_null(text);
	/* 1024 bytes (plus CRLF) is fine, 1025 is not. */
	memset(line, ' ', sizeof(line));
	memcpy(line, KERNEL, strlen(KERNEL) - 1);
	line[1024] = '\r';
	line[1025] = '\n';
	assert_int_equal(parse_n("vm1.vmx", line, 1026), 0);
	line[1024] = ' ';
	assert_int_equal(parse_n("vm1.vmx", line, 1026), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:1: key \"guest.kernel\": line longer than 1024"));
	/* A 100 KiB line, as a comment and as a value. */
	text[0] = '#';
	memset(text + 1, 'A', big);
	assert_int_equal(parse_n("vm1.vmx", text, big), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:1: line longer than 1024"));
	memcpy(text, KERNEL "guest.cmdline = \"", strlen(KERNEL) + 17);
	text[big] = '"';
	assert_int_equal(parse_n("vm1.vmx", text, big + 1), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:2: key \"guest.cmdline\": line longer"));
	free(text);
}

static void test_many_lines(void **state)
{
	size_t n = 10000, o = 0, size = n * 16 + 256;
	char *text = malloc(size);
	unsigned int i;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(text + o, size - o, i % 2 ? "# line %u\n" : "\n", i);
	o += (size_t)snprintf(text + o, size - o, KERNEL);
	assert_int_equal(parse_n("vm1.vmx", text, o), 0);
	o += (size_t)snprintf(text + o, size - o, "numvcpus = \"65\"\n");
	assert_int_equal(parse_n("vm1.vmx", text, o), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:10002: key \"numvcpus\""));
	/* 10k lines of keys: stops at the first duplicate. */
	for (i = 0, o = 0; i < n; i++)
		o += (size_t)snprintf(text + o, size - o, "memsize=\"%u\"\n", i % 60000 + 1);
	assert_int_equal(parse_n("vm1.vmx", text, o), -EINVAL);
	assert_non_null(strstr(cfg.err, "vm1.vmx:2: key \"memsize\": duplicate"));
	free(text);
}

static uint32_t lcg = 12345;

static uint32_t rnd(void)
{
	lcg = lcg * 1103515245u + 12345u;
	return lcg >> 8;
}

static void test_binary_garbage(void **state)
{
	static const char base[] =
		"displayName = \"a\"\nmemsize = \"128\"\nnumvcpus = \"2\"\n"
		"sched.cpu.affinity = \"0,1\"\nguest.modules = \"a,b\"\n"
		"guest.cmdline = \"x|22y\"\ntest.expect = \"exit:3\"\nscsi0.present = \"FALSE\"\n"
		KERNEL;
	static const char alphabet[] = "\"|=#\n\r\t ,:.0129aFx";
	char buf[512];
	unsigned int i, j, len, ok = 0;
	int rc;

	(void)state;
	/* Pure noise. */
	for (i = 0; i < 3000; i++) {
		len = rnd() % sizeof(buf);
		for (j = 0; j < len; j++)
			buf[j] = (char)rnd();
		rc = parse_n("junk.vmx", buf, len);
		assert_true(rc == 0 || rc == -EINVAL);
	}
	/* Mutations of a valid file reach deeper. */
	assert_int_equal(parse_n("m.vmx", base, sizeof(base) - 1), 0);
	for (i = 0; i < 20000; i++) {
		memcpy(buf, base, sizeof(base) - 1);
		len = sizeof(base) - 1;
		for (j = rnd() % 4 + 1; j > 0; j--) {
			unsigned int at = rnd() % len;

			if (rnd() % 2)
				buf[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
			else
				buf[at] = (char)rnd();
		}
		len -= rnd() % 8 == 0 ? rnd() % len : 0;
		rc = parse_n("m.vmx", buf, len);
		assert_true(rc == 0 || rc == -EINVAL);
		ok += rc == 0;
	}
	assert_true(ok > 0);
}

static void test_misc_keys_and_args(void **state)
{
	(void)state;
	assert_int_equal(parse(".encoding = \"utf-8\"\nconfig.version = \"8\"\n"
			       "virtualHW.version = \"21\"\nguestOS = \"otherlinux-64\"\n"
			       KERNEL), 0);
	assert_string_equal(cfg.guest_os, "otherlinux-64");
	expect_err(".encoding = \"windows-1252\"\n", "\".encoding\"", "only \"UTF-8\"", NULL);
	expect_err("config.version = \"7\"\n", "\"config.version\"", "only \"8\"", NULL);
	expect_err("virtualHW.version = \"x\"\n", "not a number", NULL);
	expect_err("displayName = \"\"\n", "\"displayName\"", "1 to 63 printable", NULL);
	expect_err("displayName = \"caf\xc3\xa9\"\n", "\"caf|C3|A9\"", "1 to 63 printable", NULL);
	expect_err("displayName = \"a|0Ab\"\n", "\"a|0Ab\"", "printable", NULL);
	expect_err("guestOS = \"1234567890123456789012345678901234567890123456789012345678901234"
		   "\"\n", "1 to 63 printable", "...\"", NULL);
	assert_int_equal(vmconfig_parse("x.vmx", "", 0, NULL), -EINVAL);
	assert_int_equal(vmconfig_parse(NULL, "", 0, &cfg), -EINVAL);
	assert_non_null(strstr(cfg.err, "(no name)"));
	assert_int_equal(vmconfig_parse("x.vmx", NULL, 5, &cfg), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_default_name),
		cmocka_unit_test(test_case_insensitive_keys),
		cmocka_unit_test(test_line_ends_and_blanks),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_sched),
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_guest_keys),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_break),
		cmocka_unit_test(test_vmware_keys_not_supported),
		cmocka_unit_test(test_present_false_accepted),
		cmocka_unit_test(test_nics),
		cmocka_unit_test(test_nics_vmware_addresses),
		cmocka_unit_test(test_nics_connection_type),
		cmocka_unit_test(test_disks),
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_hostile_nul),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_many_lines),
		cmocka_unit_test(test_binary_garbage),
		cmocka_unit_test(test_misc_keys_and_args),
		cmocka_unit_test(test_balloon),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
