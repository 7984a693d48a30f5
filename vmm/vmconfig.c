/*
 * VM configuration parser (.vmx syntax; the keys are in docs/vmconfig.md).
 *
 * The text is untrusted: it comes from a GRUB module (later from a VMFS
 * datastore) and may be anything. So the parser works on (pointer, length),
 * never on C strings from the input; it splits the text into lines by LF
 * alone, measures each line before looking inside it (over-long lines and NUL
 * bytes are rejected first), and every loop consumes at least one input byte,
 * so any input ends in time linear in its size.
 *
 * A line is tokenised into key and quoted value; the value is decoded (|XX
 * escapes) into a buffer of VMCONFIG_LINE_MAX bytes, which the line limit
 * guarantees is enough. The key is then looked up, case-insensitively, first
 * in the table of keys we support (each with a setter that validates the value
 * and stores it), then in a list of VMware key patterns that we recognise but
 * do not support yet: those are an error, except `*.present = "FALSE"`, which
 * asks for nothing and is accepted. Duplicates are found with a bitmask over
 * the table and a small list of the accepted pattern keys.
 *
 * Checks that involve two keys (sched.mem.min against memsize, a limit
 * against a reservation) and required keys run once the whole file is read,
 * because keys may come in any order; they report the line of the key at
 * fault. The first error ends the parse: a VM with a bad config does not start.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vmm/vmconfig.h>

#define VMCONFIG_KEY_MAX	64	/* buffer size: keys up to 63 characters */
#define VMCONFIG_SHOW_MAX	40	/* characters of a value quoted in a message */
#define VMCONFIG_MAX_IGNORED	16	/* accepted `*.present = "FALSE"` keys */
#define VMCONFIG_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct vmconfig_parser {
	struct vm_config *cfg;
	unsigned int line;		/* 1-based; 0 for whole-file checks */
	const char *key;		/* key for messages, or NULL */
	char file[VMCONFIG_NAME_MAX];	/* file name for messages (printable) */
	char keybuf[VMCONFIG_KEY_MAX];	/* current key as written */
	char val[VMCONFIG_LINE_MAX];	/* current value, decoded and NUL-terminated */
	size_t vlen;
	char shown[VMCONFIG_SHOW_MAX + 8];	/* the value quoted for messages */
	uint64_t seen;				/* bit i: vmconfig_keys[i] was set */
	unsigned int key_line[64];		/* line of each vmconfig_keys[] entry */
	char ignored[VMCONFIG_MAX_IGNORED][VMCONFIG_KEY_MAX];	/* lower case */
	unsigned int nignored;
};

/* ---- characters, comparison, messages ---- */

static bool vmconfig_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool vmconfig_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char vmconfig_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool vmconfig_keychar(char c)
{
	c = vmconfig_lower(c);
	return (c >= 'a' && c <= 'z') || vmconfig_digit(c) || c == '.' || c == ':' ||
	       c == '_' || c == '-';
}

static int vmconfig_hexval(char c)
{
	c = vmconfig_lower(c);
	if (vmconfig_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Case-insensitive: does @s[0..len-1] equal the NUL-terminated @word? */
static bool vmconfig_ieq(const char *s, size_t len, const char *word)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!word[i] || vmconfig_lower(s[i]) != vmconfig_lower(word[i]))
			return false;
	}
	return word[len] == '\0';
}

/* Is the current value the keyword @word (case-insensitive)? */
static bool vmconfig_is(const struct vmconfig_parser *p, const char *word)
{
	return vmconfig_ieq(p->val, p->vlen, word);
}

/* Copy @s[0..len-1] into @buf printable (|XX for other bytes), shortened, maybe quoted. */
static void vmconfig_show(char *buf, size_t size, const char *s, size_t len, bool quote)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o = 0;
	unsigned char c;

	if (quote)
		buf[o++] = '"';
	for (i = 0; i < len && o + 8 < size; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '|') {
			buf[o++] = (char)c;
			continue;
		}
		buf[o++] = '|';
		buf[o++] = hex[c >> 4];
		buf[o++] = hex[c & 15];
	}
	if (i < len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	if (quote)
		buf[o++] = '"';
	buf[o] = '\0';
}

static int __attribute__((format(printf, 2, 3)))
vmconfig_err(struct vmconfig_parser *p, const char *fmt, ...)
{
	char why[160];
	char *e = p->cfg->err;
	size_t n = sizeof(p->cfg->err);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (p->line && p->key)
		snprintf(e, n, "%s:%u: key \"%s\": %s", p->file, p->line, p->key, why);
	else if (p->line)
		snprintf(e, n, "%s:%u: %s", p->file, p->line, why);
	else if (p->key)
		snprintf(e, n, "%s: key \"%s\": %s", p->file, p->key, why);
	else
		snprintf(e, n, "%s: %s", p->file, why);
	return -EINVAL;
}

/* ---- value parsers ---- */

/* Is @s[0..n-1] a decimal number from @min to @max? (max < 2^32: no step overflows) */
static bool vmconfig_decimal(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *out)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!vmconfig_digit(s[i]))
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
		if (x > max)
			return false;
	}
	if (n == 0 || x < min)
		return false;
	*out = (uint32_t)x;
	return true;
}

static int vmconfig_uint(struct vmconfig_parser *p, uint32_t min, uint32_t max, uint32_t *out)
{
	if (!vmconfig_decimal(p->val, p->vlen, min, max, out))
		return vmconfig_err(p, "%s is not a number from %u to %u", p->shown, min, max);
	return 0;
}

/* A number from @min..@max, or "unlimited" (stored as 0). */
static int vmconfig_limit(struct vmconfig_parser *p, uint32_t max, uint32_t *out)
{
	if (vmconfig_is(p, "unlimited")) {
		*out = 0;
		return 0;
	}
	if (p->vlen && !vmconfig_digit(p->val[0]))
		return vmconfig_err(p, "%s is neither \"unlimited\" nor a number", p->shown);
	return vmconfig_uint(p, 1, max, out);
}

static int vmconfig_bool(struct vmconfig_parser *p, bool *out)
{
	if (vmconfig_is(p, "true"))
		*out = true;
	else if (vmconfig_is(p, "false"))
		*out = false;
	else
		return vmconfig_err(p, "%s is neither TRUE nor FALSE", p->shown);
	return 0;
}

/* 1..63 printable ASCII characters (blanks included) into a 64-byte buffer. */
static int vmconfig_text(struct vmconfig_parser *p, char *dst)
{
	size_t i;

	for (i = 0; i < p->vlen; i++) {
		if (p->val[i] < 0x20 || p->val[i] > 0x7e)
			break;
	}
	if (p->vlen == 0 || p->vlen >= VMCONFIG_NAME_MAX || i < p->vlen)
		return vmconfig_err(p, "%s is not 1 to %d printable ASCII characters", p->shown,
				    VMCONFIG_NAME_MAX - 1);
	memcpy(dst, p->val, p->vlen + 1);
	return 0;
}

static int vmconfig_modname(struct vmconfig_parser *p, char *dst)
{
	if (!vmconfig_valid_modname(p->val, p->vlen))
		return vmconfig_err(p, "%s is not a module name (1 to %d characters, no blanks, "
				    "commas or control characters)", p->shown,
				    VMCONFIG_MODNAME_MAX - 1);
	memcpy(dst, p->val, p->vlen + 1);
	return 0;
}

static int vmconfig_unsupported(struct vmconfig_parser *p)
{
	return vmconfig_err(p, "not supported yet");
}

/* ---- setters, one per supported key ---- */

static int vmconfig_set_encoding(struct vmconfig_parser *p)
{
	if (!vmconfig_is(p, "UTF-8"))
		return vmconfig_err(p, "%s is not supported (only \"UTF-8\")", p->shown);
	return 0;
}

static int vmconfig_set_config_version(struct vmconfig_parser *p)
{
	if (!vmconfig_is(p, "8"))
		return vmconfig_err(p, "%s is not supported (only \"8\")", p->shown);
	return 0;
}

static int vmconfig_set_hw_version(struct vmconfig_parser *p)
{
	uint32_t ignored;

	return vmconfig_uint(p, 1, 255, &ignored);
}

static int vmconfig_set_guest_os(struct vmconfig_parser *p)
{
	return vmconfig_text(p, p->cfg->guest_os);
}

static int vmconfig_set_display_name(struct vmconfig_parser *p)
{
	return vmconfig_text(p, p->cfg->name);
}

static int vmconfig_set_memsize(struct vmconfig_parser *p)
{
	return vmconfig_uint(p, 1, VMCONFIG_MEMSIZE_MAX, &p->cfg->memsize_mb);
}

static int vmconfig_set_mem_min(struct vmconfig_parser *p)
{
	return vmconfig_uint(p, 0, VMCONFIG_MEMSIZE_MAX, &p->cfg->mem_min_mb);
}

static int vmconfig_set_mem_max(struct vmconfig_parser *p)
{
	return vmconfig_limit(p, VMCONFIG_MEMSIZE_MAX, &p->cfg->mem_max_mb);
}

static int vmconfig_set_numvcpus(struct vmconfig_parser *p)
{
	return vmconfig_uint(p, 1, VMCONFIG_VCPUS_MAX, &p->cfg->numvcpus);
}

static int vmconfig_set_cpu_shares(struct vmconfig_parser *p)
{
	struct vm_config *c = p->cfg;

	if (vmconfig_is(p, "low"))
		c->cpu_shares_level = VMCONFIG_SHARES_LOW;
	else if (vmconfig_is(p, "normal"))
		c->cpu_shares_level = VMCONFIG_SHARES_NORMAL;
	else if (vmconfig_is(p, "high"))
		c->cpu_shares_level = VMCONFIG_SHARES_HIGH;
	else if (p->vlen && !vmconfig_digit(p->val[0]))
		return vmconfig_err(p, "%s is not low, normal, high or a number", p->shown);
	else
		c->cpu_shares_level = VMCONFIG_SHARES_CUSTOM;
	if (c->cpu_shares_level != VMCONFIG_SHARES_CUSTOM)
		return 0;
	return vmconfig_uint(p, 1, VMCONFIG_SHARES_MAX, &c->cpu_shares);
}

/* ESX's memory shares: low, normal, high = 5, 10, 20 per MiB of memsize, or a number. */
static int vmconfig_set_mem_shares(struct vmconfig_parser *p)
{
	struct vm_config *c = p->cfg;

	if (vmconfig_is(p, "low"))
		c->mem_shares_level = VMCONFIG_SHARES_LOW;
	else if (vmconfig_is(p, "normal"))
		c->mem_shares_level = VMCONFIG_SHARES_NORMAL;
	else if (vmconfig_is(p, "high"))
		c->mem_shares_level = VMCONFIG_SHARES_HIGH;
	else if (p->vlen && !vmconfig_digit(p->val[0]))
		return vmconfig_err(p, "%s is not low, normal, high or a number", p->shown);
	else
		c->mem_shares_level = VMCONFIG_SHARES_CUSTOM;
	if (c->mem_shares_level != VMCONFIG_SHARES_CUSTOM)
		return 0;
	return vmconfig_uint(p, 1, VMCONFIG_MEM_SHARES_MAX, &c->mem_shares);
}

/* VMware's cap on the balloon, MiB (0: the balloon never inflates); checked against memsize later. */
static int vmconfig_set_maxmemctl(struct vmconfig_parser *p)
{
	p->cfg->maxmemctl_set = true;
	return vmconfig_uint(p, 0, VMCONFIG_MEMSIZE_MAX, &p->cfg->maxmemctl_mb);
}

static int vmconfig_set_balloon(struct vmconfig_parser *p)
{
	return vmconfig_bool(p, &p->cfg->balloon);
}

static int vmconfig_set_pshare(struct vmconfig_parser *p)
{
	return vmconfig_bool(p, &p->cfg->pshare);
}

static int vmconfig_set_pshare_salt(struct vmconfig_parser *p)
{
	return vmconfig_text(p, p->cfg->pshare_salt);
}

static int vmconfig_set_cpu_min(struct vmconfig_parser *p)
{
	return vmconfig_uint(p, 0, VMCONFIG_MHZ_MAX, &p->cfg->cpu_min_mhz);
}

static int vmconfig_set_cpu_max(struct vmconfig_parser *p)
{
	return vmconfig_limit(p, VMCONFIG_MHZ_MAX, &p->cfg->cpu_max_mhz);
}

/* "all", or host CPU numbers separated by commas, blanks allowed around each. */
static int vmconfig_set_cpu_affinity(struct vmconfig_parser *p)
{
	uint64_t mask = 0;
	unsigned int cpu;
	size_t i = 0;
	bool digits;

	if (vmconfig_is(p, "all")) {
		p->cfg->cpu_affinity = ~0ULL;
		return 0;
	}
	for (;;) {
		while (i < p->vlen && vmconfig_blank(p->val[i]))
			i++;
		for (cpu = 0, digits = false; i < p->vlen && vmconfig_digit(p->val[i]); i++) {
			digits = true;
			if (cpu < VMCONFIG_HOST_CPUS_MAX)
				cpu = cpu * 10 + (unsigned int)(p->val[i] - '0');
		}
		while (i < p->vlen && vmconfig_blank(p->val[i]))
			i++;
		if (!digits || (i < p->vlen && p->val[i] != ','))
			return vmconfig_err(p, "%s is not \"all\" or a comma list of host CPU "
					    "numbers", p->shown);
		if (cpu >= VMCONFIG_HOST_CPUS_MAX)
			return vmconfig_err(p, "%s: host CPU numbers go from 0 to %d", p->shown,
					    VMCONFIG_HOST_CPUS_MAX - 1);
		mask |= 1ULL << cpu;
		if (i++ >= p->vlen)
			break;
	}
	p->cfg->cpu_affinity = mask;
	return 0;
}

static int vmconfig_set_serial_present(struct vmconfig_parser *p)
{
	return vmconfig_bool(p, &p->cfg->serial0_present);
}

static int vmconfig_set_serial_filetype(struct vmconfig_parser *p)
{
	static const char *const vmware[] = { "file", "pipe", "network", "device", "thinprint" };
	unsigned int i;

	if (vmconfig_is(p, "console"))
		return 0;
	for (i = 0; i < VMCONFIG_ARRAY_SIZE(vmware); i++) {
		if (vmconfig_is(p, vmware[i]))
			return vmconfig_err(p, "%s is not supported yet (only \"console\")",
					    p->shown);
	}
	return vmconfig_err(p, "%s is not a serial port type (\"console\")", p->shown);
}

static int vmconfig_set_serial_filename(struct vmconfig_parser *p)
{
	return vmconfig_err(p, "not supported yet (serial0.fileType \"console\" takes no file)");
}

static int vmconfig_set_kernel(struct vmconfig_parser *p)
{
	return vmconfig_modname(p, p->cfg->kernel);
}

static int vmconfig_set_initrd(struct vmconfig_parser *p)
{
	return vmconfig_modname(p, p->cfg->initrd);
}

static int vmconfig_set_cmdline(struct vmconfig_parser *p)
{
	if (p->vlen >= VMCONFIG_CMDLINE_MAX)
		return vmconfig_err(p, "longer than %d bytes", VMCONFIG_CMDLINE_MAX - 1);
	memcpy(p->cfg->cmdline, p->val, p->vlen + 1);
	return 0;
}

static int vmconfig_set_modules(struct vmconfig_parser *p)
{
	struct vm_config *c = p->cfg;
	unsigned int n = 0;
	int rc;

	rc = vmconfig_split_modules(p->val, p->vlen, c->modules, VMCONFIG_MAX_MODULES, &n);
	if (rc == -E2BIG)
		return vmconfig_err(p, "more than %d modules", VMCONFIG_MAX_MODULES);
	if (rc)
		return vmconfig_err(p, "module %u of %s is empty or not a module name (1 to %d "
				    "characters, no blanks, commas or control characters)",
				    n + 1, p->shown, VMCONFIG_MODNAME_MAX - 1);
	c->nmodules = n;
	return 0;
}

static int vmconfig_set_guest_type(struct vmconfig_parser *p)
{
	if (vmconfig_is(p, "multiboot")) {
		p->cfg->guest_type = VMCONFIG_GUEST_MULTIBOOT;
		return 0;
	}
	if (vmconfig_is(p, "linux")) {
		p->cfg->guest_type = VMCONFIG_GUEST_LINUX;
		return 0;
	}
	return vmconfig_err(p, "%s is not a guest type (\"multiboot\" or \"linux\")", p->shown);
}

static int vmconfig_set_apicv(struct vmconfig_parser *p)
{
	return vmconfig_bool(p, &p->cfg->apicv);
}

static int vmconfig_set_migrate(struct vmconfig_parser *p)
{
	return vmconfig_bool(p, &p->cfg->cpu_migrate);
}

static int vmconfig_set_ple(struct vmconfig_parser *p)
{
	return vmconfig_bool(p, &p->cfg->pause_loop_exiting);
}

static int vmconfig_set_pcidev(struct vmconfig_parser *p)
{
	return vmconfig_bool(p, &p->cfg->test_pcidev);
}

static int vmconfig_set_reboot(struct vmconfig_parser *p)
{
	if (vmconfig_is(p, "restart")) {
		p->cfg->reboot = VMCONFIG_REBOOT_RESTART;
		return 0;
	}
	if (vmconfig_is(p, "stop")) {
		p->cfg->reboot = VMCONFIG_REBOOT_STOP;
		return 0;
	}
	return vmconfig_err(p, "%s is not \"restart\" or \"stop\"", p->shown);
}

/* test.skip: a comma list of guest check names that may report "skipped". */
static int vmconfig_set_skip(struct vmconfig_parser *p)
{
	struct vm_config *c = p->cfg;
	size_t i = 0;

	c->nskip = 0;
	while (i < p->vlen) {
		size_t start, n;

		while (i < p->vlen && (vmconfig_blank(p->val[i]) || p->val[i] == ','))
			i++;
		for (start = i; i < p->vlen && p->val[i] != ',' && !vmconfig_blank(p->val[i]); i++)
			;
		n = i - start;
		if (!n)
			break;
		if (c->nskip == VMCONFIG_SKIP_MAX)
			return vmconfig_err(p, "more than %d names", VMCONFIG_SKIP_MAX);
		if (n >= VMCONFIG_SKIP_NAME_MAX)
			return vmconfig_err(p, "name %u is longer than %d characters", c->nskip + 1,
					    VMCONFIG_SKIP_NAME_MAX - 1);
		memcpy(c->skip[c->nskip], p->val + start, n);
		c->skip[c->nskip++][n] = '\0';
	}
	return 0;
}

/* test.console: ';'-separated texts that lines of the VM's console must contain. */
static int vmconfig_set_console(struct vmconfig_parser *p)
{
	struct vm_config *c = p->cfg;
	size_t i = 0;

	c->nconsole = 0;
	while (i < p->vlen) {
		size_t start, n;

		while (i < p->vlen && p->val[i] == ';')
			i++;
		for (start = i; i < p->vlen && p->val[i] != ';'; i++)
			;
		n = i - start;
		if (!n)
			break;
		if (c->nconsole == VMCONFIG_CONSOLE_MAX)
			return vmconfig_err(p, "more than %d texts", VMCONFIG_CONSOLE_MAX);
		if (n >= VMCONFIG_CONSOLE_LEN)
			return vmconfig_err(p, "text %u is longer than %d characters", c->nconsole + 1,
					    VMCONFIG_CONSOLE_LEN - 1);
		memcpy(c->console[c->nconsole], p->val + start, n);
		c->console[c->nconsole++][n] = '\0';
	}
	return 0;
}

/* test.break: make the VMM corrupt this VM's VMCS before its first entry (tests the diagnosis). */
static int vmconfig_set_break(struct vmconfig_parser *p)
{
	if (vmconfig_is(p, "guest-state")) {
		p->cfg->test_break = VMCONFIG_BREAK_GUEST_STATE;
		return 0;
	}
	if (vmconfig_is(p, "control")) {
		p->cfg->test_break = VMCONFIG_BREAK_CONTROL;
		return 0;
	}
	return vmconfig_err(p, "%s is not a test.break kind (\"guest-state\" or \"control\")",
			    p->shown);
}

static int vmconfig_set_expect(struct vmconfig_parser *p)
{
	struct vmconfig_expect *e = &p->cfg->expect;
	uint32_t status;
	unsigned int r;

	if (vmconfig_is(p, "running")) {
		e->kind = VMCONFIG_EXPECT_RUNNING;
		return 0;
	}
	if (vmconfig_is(p, "poweroff")) {
		e->kind = VMCONFIG_EXPECT_POWEROFF;
		return 0;
	}
	if (vmconfig_is(p, "reset")) {
		e->kind = VMCONFIG_EXPECT_RESET;
		return 0;
	}
	if (p->vlen > 5 && vmconfig_ieq(p->val, 5, "exit:")) {
		if (!vmconfig_decimal(p->val + 5, p->vlen - 5, 0, 255, &status))
			return vmconfig_err(p, "%s is not \"exit:N\" with N from 0 to 255",
					    p->shown);
		e->kind = VMCONFIG_EXPECT_EXIT;
		e->status = (uint8_t)status;
		return 0;
	}
	if (p->vlen > 8 && vmconfig_ieq(p->val, 8, "stopped:")) {
		for (r = 0; r < VMCONFIG_STOP_COUNT; r++) {
			if (vmconfig_ieq(p->val + 8, p->vlen - 8, vmconfig_stop_reason_name(r))) {
				e->kind = VMCONFIG_EXPECT_STOPPED;
				e->reason = r;
				return 0;
			}
		}
		return vmconfig_err(p, "%s: the reason is not one of triple-fault, entry-failure, "
				    "bad-access, unsupported, killed", p->shown);
	}
	return vmconfig_err(p, "%s is not \"exit:N\", \"stopped:REASON\", \"poweroff\", "
			    "\"reset\" or \"running\"", p->shown);
}

struct vmconfig_key {
	const char *name;
	int (*set)(struct vmconfig_parser *p);
};

static const struct vmconfig_key vmconfig_keys[] = {
	{ ".encoding", vmconfig_set_encoding },
	{ "config.version", vmconfig_set_config_version },
	{ "virtualHW.version", vmconfig_set_hw_version },
	{ "guestOS", vmconfig_set_guest_os },
	{ "displayName", vmconfig_set_display_name },
	{ "memsize", vmconfig_set_memsize },
	{ "sched.mem.min", vmconfig_set_mem_min },
	{ "sched.mem.max", vmconfig_set_mem_max },
	{ "sched.mem.shares", vmconfig_set_mem_shares },
	{ "sched.mem.maxmemctl", vmconfig_set_maxmemctl },
	{ "balloon0.present", vmconfig_set_balloon },
	{ "sched.mem.pshare.enable", vmconfig_set_pshare },
	{ "sched.mem.pshare.salt", vmconfig_set_pshare_salt },
	{ "numvcpus", vmconfig_set_numvcpus },
	{ "sched.cpu.shares", vmconfig_set_cpu_shares },
	{ "sched.cpu.min", vmconfig_set_cpu_min },
	{ "sched.cpu.max", vmconfig_set_cpu_max },
	{ "sched.cpu.affinity", vmconfig_set_cpu_affinity },
	{ "sched.cpu.migrate", vmconfig_set_migrate },
	{ "serial0.present", vmconfig_set_serial_present },
	{ "serial0.fileType", vmconfig_set_serial_filetype },
	{ "serial0.fileName", vmconfig_set_serial_filename },
	{ "guest.kernel", vmconfig_set_kernel },
	{ "guest.cmdline", vmconfig_set_cmdline },
	{ "guest.initrd", vmconfig_set_initrd },
	{ "guest.modules", vmconfig_set_modules },
	{ "guest.type", vmconfig_set_guest_type },
	{ "guest.reboot", vmconfig_set_reboot },
	{ "monitor.apicv", vmconfig_set_apicv },
	{ "monitor.pauseLoopExiting", vmconfig_set_ple },
	{ "test.skip", vmconfig_set_skip },
	{ "test.console", vmconfig_set_console },
	{ "test.pcidev", vmconfig_set_pcidev },
	{ "test.expect", vmconfig_set_expect },
	{ "test.break", vmconfig_set_break },
};

_Static_assert(VMCONFIG_ARRAY_SIZE(vmconfig_keys) <= 64, "seen mask and key_line[] too small");

/*
 * VMware keys we know but do not support yet (lower case; '#' matches one or
 * more digits, a final '*' one or more characters). serial0's own keys are
 * in the table above, so "serial#.*" covers the other ports and the rest.
 */
static const char *const vmconfig_later[] = {
	"sata#.*", "sata#:#.*", "ide#:#.*", "nvme#.*", "nvme#:#.*",
	"floppy#.*", "serial#.*", "parallel#.*", "usb.*", "ehci.*",
	"sound.*", "pcibridge#.*", "vmci#.*", "nvram", "firmware",
};

static bool vmconfig_match(const char *pat, const char *key)
{
	while (*pat) {
		if (*pat == '*')
			return *key != '\0';
		if (*pat == '#') {
			if (!vmconfig_digit(*key))
				return false;
			while (vmconfig_digit(*key))
				key++;
			pat++;
			continue;
		}
		if (vmconfig_lower(*key) != *pat)
			return false;
		pat++;
		key++;
	}
	return *key == '\0';
}

/* A recognised VMware key: only `*.present = "FALSE"` is accepted. */
static int vmconfig_later_key(struct vmconfig_parser *p, size_t klen)
{
	bool present = true;
	unsigned int i;
	size_t k;

	if (klen < 8 || !vmconfig_ieq(p->keybuf + klen - 8, 8, ".present"))
		return vmconfig_unsupported(p);
	if (vmconfig_bool(p, &present))
		return -EINVAL;
	if (present)
		return vmconfig_unsupported(p);
	for (i = 0; i < p->nignored; i++) {
		if (vmconfig_ieq(p->keybuf, klen, p->ignored[i]))
			return vmconfig_err(p, "duplicate key");
	}
	if (p->nignored >= VMCONFIG_MAX_IGNORED)
		return vmconfig_err(p, "more than %d keys set to FALSE", VMCONFIG_MAX_IGNORED);
	for (k = 0; k <= klen; k++)
		p->ignored[p->nignored][k] = vmconfig_lower(p->keybuf[k]);
	p->nignored++;
	return 0;
}

static int vmconfig_dispatch(struct vmconfig_parser *p, size_t klen)
{
	char why[160];
	unsigned int i;
	int rc;

	for (i = 0; i < VMCONFIG_ARRAY_SIZE(vmconfig_keys); i++) {
		if (!vmconfig_ieq(p->keybuf, klen, vmconfig_keys[i].name))
			continue;
		if (p->seen & (1ULL << i))
			return vmconfig_err(p, "duplicate key (first set on line %u)",
					    p->key_line[i]);
		p->seen |= 1ULL << i;
		p->key_line[i] = p->line;
		return vmconfig_keys[i].set(p);
	}
	rc = vmconfig_disk_key(p->cfg, p->keybuf, klen, p->val, p->vlen, p->line, why,
			       sizeof(why));
	if (!rc)
		rc = vmconfig_rng_key(p->cfg, p->keybuf, klen, p->val, p->vlen, p->line, why,
				      sizeof(why));
	if (!rc)
		rc = vmconfig_net_key(p->cfg, p->keybuf, klen, p->val, p->vlen, p->line, why,
				      sizeof(why));
	if (rc)
		return rc < 0 ? vmconfig_err(p, "%s", why) : 0;
	for (i = 0; i < VMCONFIG_ARRAY_SIZE(vmconfig_later); i++) {
		if (vmconfig_match(vmconfig_later[i], p->keybuf))
			return vmconfig_later_key(p, klen);
	}
	return vmconfig_err(p, "unknown key");
}

/* ---- lines ---- */

/* Decode the quoted value starting after the opening quote at s[*i]; leave *i past it. */
static int vmconfig_value(struct vmconfig_parser *p, const char *s, size_t n, size_t *i)
{
	size_t o = 0, j = *i;
	int hi, lo;

	for (;;) {
		if (j >= n)
			return vmconfig_err(p, "unterminated quote (opened at column %zu)", *i);
		if (s[j] == '"')
			break;
		if (s[j] == '|') {
			hi = j + 1 < n ? vmconfig_hexval(s[j + 1]) : -1;
			lo = j + 2 < n ? vmconfig_hexval(s[j + 2]) : -1;
			if (hi < 0 || lo < 0)
				return vmconfig_err(p, "bad escape at column %zu (| must be "
						    "followed by two hex digits)", j + 1);
			if (hi == 0 && lo == 0)
				return vmconfig_err(p, "escape |00 at column %zu gives a NUL byte",
						    j + 1);
			p->val[o++] = (char)(hi << 4 | lo);
			j += 3;
			continue;
		}
		if ((unsigned char)s[j] < 0x20 && s[j] != '\t')
			return vmconfig_err(p, "control character 0x%02x at column %zu",
					    (unsigned char)s[j], j + 1);
		p->val[o++] = s[j++];
	}
	p->val[o] = '\0';
	p->vlen = o;
	*i = j + 1;
	vmconfig_show(p->shown, sizeof(p->shown), p->val, o, true);
	return 0;
}

/* Syntax of one line (CR/LF removed, at most VMCONFIG_LINE_MAX bytes, no NUL). */
static int vmconfig_line_syntax(struct vmconfig_parser *p, const char *s, size_t n,
				size_t k0, size_t k1)
{
	size_t i = k1;
	char c;
	int rc;

	if (k1 == k0) {
		if (s[k0] == '=')
			return vmconfig_err(p, "empty key");
		return vmconfig_err(p, "byte 0x%02x (%c) cannot start a key", (unsigned char)s[k0],
				    s[k0] > 0x20 && s[k0] < 0x7f ? s[k0] : '?');
	}
	if (k1 - k0 >= VMCONFIG_KEY_MAX)
		return vmconfig_err(p, "key longer than %d characters", VMCONFIG_KEY_MAX - 1);
	c = s[k1 < n ? k1 : k0];
	if (k1 < n && !vmconfig_blank(c) && c != '=')
		return vmconfig_err(p, "byte 0x%02x (%c) is not allowed in a key",
				    (unsigned char)c, c > 0x20 && c < 0x7f ? c : '?');
	while (i < n && vmconfig_blank(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		return vmconfig_err(p, "missing \"=\" after the key");
	for (i++; i < n && vmconfig_blank(s[i]); i++)
		;
	if (i >= n || s[i] != '"')
		return vmconfig_err(p, "the value must be in double quotes");
	i++;
	rc = vmconfig_value(p, s, n, &i);
	if (rc)
		return rc;
	while (i < n && vmconfig_blank(s[i]))
		i++;
	if (i < n)
		return vmconfig_err(p, "text after the closing quote at column %zu", i + 1);
	return vmconfig_dispatch(p, k1 - k0);
}

static int vmconfig_line(struct vmconfig_parser *p, const char *s, size_t n)
{
	size_t i, k0, k1, klen;

	for (k0 = 0; k0 < n && vmconfig_blank(s[k0]); k0++)
		;
	for (k1 = k0; k1 < n && vmconfig_keychar(s[k1]); k1++)
		;
	/* Name the key (or its start, if too long) in every message about this line. */
	klen = k1 - k0;
	if (klen < VMCONFIG_KEY_MAX) {
		memcpy(p->keybuf, s + k0, klen);
		p->keybuf[klen] = '\0';
	} else {
		memcpy(p->keybuf, s + k0, VMCONFIG_KEY_MAX - 4);
		memcpy(p->keybuf + VMCONFIG_KEY_MAX - 4, "...", 4);
	}
	p->key = klen ? p->keybuf : NULL;

	if (n > VMCONFIG_LINE_MAX)
		return vmconfig_err(p, "line longer than %d bytes", VMCONFIG_LINE_MAX);
	for (i = 0; i < n; i++) {
		if (s[i] == '\0')
			return vmconfig_err(p, "NUL byte at column %zu", i + 1);
	}
	if (k0 == n || s[k0] == '#')
		return 0;
	return vmconfig_line_syntax(p, s, n, k0, k1);
}

/* ---- whole file ---- */

static void vmconfig_defaults(struct vm_config *c)
{
	c->memsize_mb = 64;
	c->numvcpus = 1;
	c->cpu_shares_level = VMCONFIG_SHARES_NORMAL;
	c->cpu_affinity = ~0ULL;
	c->cpu_migrate = true;
	c->mem_shares_level = VMCONFIG_SHARES_NORMAL;
	c->pshare = true;
	c->serial0_present = true;
	c->guest_type = VMCONFIG_GUEST_MULTIBOOT;
	c->apicv = true;
	c->pause_loop_exiting = true;
	c->reboot = VMCONFIG_REBOOT_RESTART;
	c->expect.kind = VMCONFIG_EXPECT_NONE;
}

/* Default name: @file after its last '/', without a ".vmx" ending. */
static int vmconfig_default_name(struct vmconfig_parser *p, const char *file)
{
	const char *base = strrchr(file, '/');
	size_t n, i;

	base = base ? base + 1 : file;
	n = strlen(base);
	if (n >= 4 && vmconfig_ieq(base + n - 4, 4, ".vmx"))
		n -= 4;
	for (i = 0; i < n && i < VMCONFIG_NAME_MAX; i++) {
		if (base[i] < 0x20 || base[i] > 0x7e)
			break;
	}
	if (n == 0 || n >= VMCONFIG_NAME_MAX || i < n)
		return vmconfig_err(p, "no displayName, and the file name does not give one "
				    "(1 to %d printable ASCII characters)", VMCONFIG_NAME_MAX - 1);
	memcpy(p->cfg->name, base, n);
	p->cfg->name[n] = '\0';
	return 0;
}

/* Make the next message name @key and the line where it was set (0 if it was not). */
static void vmconfig_at(struct vmconfig_parser *p, const char *key)
{
	unsigned int i;

	for (i = 0; i < VMCONFIG_ARRAY_SIZE(vmconfig_keys); i++) {
		if (!strcmp(vmconfig_keys[i].name, key))
			p->line = p->key_line[i];
	}
	p->key = key;
}

static int vmconfig_finish(struct vmconfig_parser *p, const char *file)
{
	static const uint32_t per_vcpu[] = {
		[VMCONFIG_SHARES_NORMAL] = 1000, [VMCONFIG_SHARES_LOW] = 500,
		[VMCONFIG_SHARES_HIGH] = 2000,
	};
	static const uint32_t per_mib[] = {
		[VMCONFIG_SHARES_NORMAL] = 10, [VMCONFIG_SHARES_LOW] = 5, [VMCONFIG_SHARES_HIGH] = 20,
	};
	struct vm_config *c = p->cfg;
	char why[160];

	p->line = 0;
	p->key = NULL;
	if (!c->name[0] && vmconfig_default_name(p, file))
		return -EINVAL;
	if (c->mem_min_mb > c->memsize_mb) {
		vmconfig_at(p, "sched.mem.min");
		return vmconfig_err(p, "%u MiB is more than memsize (%u MiB)", c->mem_min_mb,
				    c->memsize_mb);
	}
	if (c->mem_max_mb && c->mem_max_mb < c->mem_min_mb) {
		vmconfig_at(p, "sched.mem.max");
		return vmconfig_err(p, "%u MiB is less than sched.mem.min (%u MiB)",
				    c->mem_max_mb, c->mem_min_mb);
	}
	if (c->maxmemctl_set && c->maxmemctl_mb > c->memsize_mb) {
		vmconfig_at(p, "sched.mem.maxmemctl");
		return vmconfig_err(p, "%u MiB is more than memsize (%u MiB)", c->maxmemctl_mb,
				    c->memsize_mb);
	}
	if (c->maxmemctl_set && !c->balloon) {
		vmconfig_at(p, "sched.mem.maxmemctl");
		return vmconfig_err(p, "there is no balloon to apply it to (balloon0.present is not "
				    "\"TRUE\")");
	}
	if (c->cpu_max_mhz && c->cpu_max_mhz < c->cpu_min_mhz) {
		vmconfig_at(p, "sched.cpu.max");
		return vmconfig_err(p, "%u MHz is less than sched.cpu.min (%u MHz)",
				    c->cpu_max_mhz, c->cpu_min_mhz);
	}
	if (c->initrd[0] && c->guest_type != VMCONFIG_GUEST_LINUX) {
		vmconfig_at(p, "guest.initrd");
		return vmconfig_err(p, "is only for guest.type \"linux\" (a multiboot guest gets "
				    "guest.modules)");
	}
	if (c->nmodules && c->guest_type == VMCONFIG_GUEST_LINUX) {
		vmconfig_at(p, "guest.modules");
		return vmconfig_err(p, "is only for multiboot guests (a Linux guest gets "
				    "guest.initrd)");
	}
	if (!c->kernel[0]) {
		vmconfig_at(p, "guest.kernel");
		return vmconfig_err(p, "is required (the name of the guest image's module)");
	}
	if (vmconfig_disk_finish(c, p->keybuf, sizeof(p->keybuf), &p->line, why, sizeof(why)) ||
	    vmconfig_rng_finish(c, p->keybuf, sizeof(p->keybuf), &p->line, why, sizeof(why))) {
		p->key = p->keybuf;
		return vmconfig_err(p, "%s", why);
	}
	if (vmconfig_net_finish(c, p->keybuf, sizeof(p->keybuf), &p->line, why, sizeof(why))) {
		p->key = p->keybuf;
		return vmconfig_err(p, "%s", why);
	}
	if (c->cpu_shares_level != VMCONFIG_SHARES_CUSTOM)
		c->cpu_shares = per_vcpu[c->cpu_shares_level] * c->numvcpus;
	if (c->mem_shares_level != VMCONFIG_SHARES_CUSTOM)
		c->mem_shares = per_mib[c->mem_shares_level] * c->memsize_mb;
	return 0;
}

int vmconfig_parse(const char *filename, const char *text, size_t len, struct vm_config *out)
{
	struct vmconfig_parser p;
	size_t pos = 0, end, n;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	p.cfg = out;
	if (filename)
		vmconfig_show(p.file, sizeof(p.file), filename, strlen(filename), false);
	else
		memcpy(p.file, "(no name)", 10);
	if (!filename || (!text && len))
		return vmconfig_err(&p, "no file name or no text");
	vmconfig_defaults(out);
	while (pos < len) {
		p.line++;
		for (end = pos; end < len && text[end] != '\n'; end++)
			;
		n = end - pos;
		if (n && text[end - 1] == '\r')
			n--;
		rc = vmconfig_line(&p, text + pos, n);
		if (rc)
			return rc;
		pos = end + 1;
	}
	return vmconfig_finish(&p, filename);
}

/* ---- helpers shared with callers ---- */

bool vmconfig_valid_modname(const char *s, size_t len)
{
	size_t i;

	if (!s || len == 0 || len >= VMCONFIG_MODNAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '!' || s[i] > '~' || s[i] == ',')
			return false;
	}
	return true;
}

int vmconfig_split_modules(const char *list, size_t len, char names[][VMCONFIG_MODNAME_MAX],
			   unsigned int max, unsigned int *count)
{
	size_t i = 0, start, stop;
	unsigned int n = 0;

	*count = 0;
	while (i < len && vmconfig_blank(list[i]))
		i++;
	if (i == len)
		return 0;
	for (;;) {
		while (i < len && vmconfig_blank(list[i]))
			i++;
		for (start = i; i < len && list[i] != ','; i++)
			;
		for (stop = i; stop > start && vmconfig_blank(list[stop - 1]); stop--)
			;
		*count = n;
		if (n >= max)
			return -E2BIG;
		if (!vmconfig_valid_modname(list + start, stop - start))
			return -EINVAL;
		memcpy(names[n], list + start, stop - start);
		names[n][stop - start] = '\0';
		n++;
		if (i++ >= len)
			break;
	}
	*count = n;
	return 0;
}

const char *vmconfig_stop_reason_name(enum vmconfig_stop_reason reason)
{
	static const char *const names[VMCONFIG_STOP_COUNT] = {
		[VMCONFIG_STOP_TRIPLE_FAULT] = "triple-fault",
		[VMCONFIG_STOP_ENTRY_FAILURE] = "entry-failure",
		[VMCONFIG_STOP_BAD_ACCESS] = "bad-access",
		[VMCONFIG_STOP_UNSUPPORTED] = "unsupported",
		[VMCONFIG_STOP_KILLED] = "killed",
	};

	if ((unsigned int)reason >= VMCONFIG_STOP_COUNT)
		return "?";
	return names[reason];
}

int vmconfig_expect_format(const struct vmconfig_expect *e, char *buf, size_t size)
{
	switch (e->kind) {
	case VMCONFIG_EXPECT_EXIT:
		return snprintf(buf, size, "exit:%u", e->status);
	case VMCONFIG_EXPECT_STOPPED:
		return snprintf(buf, size, "stopped:%s", vmconfig_stop_reason_name(e->reason));
	case VMCONFIG_EXPECT_RUNNING:
		return snprintf(buf, size, "running");
	case VMCONFIG_EXPECT_POWEROFF:
		return snprintf(buf, size, "poweroff");
	case VMCONFIG_EXPECT_RESET:
		return snprintf(buf, size, "reset");
	default:
		return snprintf(buf, size, "%s", "");
	}
}
