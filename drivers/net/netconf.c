/*
 * net.conf: the host's switches and port groups (include/drivers/netconf.h,
 * docs/networking.md). One statement per line; blank lines and lines whose
 * first non-blank character is '#' are skipped. A line is words separated
 * by blanks; double quotes group blanks into a word ("VM Network", or
 * vswitch="Lab switch"). The first word is the statement:
 *
 *   vswitch NAME [mtu=68..9000]
 *   portgroup NAME [vswitch=NAME] [vlan=0..4095]
 *             [promiscuous|mac_changes|forged_transmits=accept|reject]
 *
 * A port group's switch must have been declared on an earlier line, or be
 * vSwitch0 (which always exists). Port group names are unique on the host:
 * a VM names only the port group. The first error stops the parse and is
 * reported as FILE:LINE: what.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/netconf.h>

#define WORD_MAX	64
#define WORDS_MAX	8

struct line {
	char w[WORDS_MAX][WORD_MAX];
	unsigned n;
};

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int fail(struct netconf *c, const char *file, unsigned line, const char *fmt,
		const char *a, const char *b)
{
	int n = snprintf(c->err, sizeof(c->err), "%s:%u: ", file, line);

	snprintf(c->err + n, sizeof(c->err) - (size_t)n, fmt, a, b);
	return -EINVAL;
}

/* Split s[0..n) into words; -EINVAL with a reason in why. */
static int split(const char *s, size_t n, struct line *l, const char **why)
{
	size_t i = 0;

	l->n = 0;
	for (;;) {
		size_t o = 0;
		bool quoted = false;

		while (i < n && blank(s[i]))
			i++;
		if (i >= n)
			return 0;
		if (l->n == WORDS_MAX) {
			*why = "more than 8 words on a line%s%s";
			return -EINVAL;
		}
		while (i < n && (quoted || !blank(s[i]))) {
			if (s[i] == '"') {
				quoted = !quoted;
				i++;
				continue;
			}
			if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
				*why = "control character in a line%s%s";
				return -EINVAL;
			}
			if (o + 1 >= WORD_MAX) {
				*why = "a word longer than 63 characters%s%s";
				return -EINVAL;
			}
			l->w[l->n][o++] = s[i++];
		}
		if (quoted) {
			*why = "unterminated quote%s%s";
			return -EINVAL;
		}
		l->w[l->n++][o] = '\0';
	}
}

static bool number(const char *s, unsigned min, unsigned max, unsigned *out)
{
	unsigned long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > max)
			return false;
	}
	*out = (unsigned)v;
	return v >= min;
}

static int find_sw(const struct netconf *c, const char *name)
{
	for (unsigned i = 0; i < c->nsw; i++)
		if (!strcmp(c->sw[i].name, name))
			return (int)i;
	return -1;
}

static int find_pg(const struct netconf *c, const char *name)
{
	for (unsigned i = 0; i < c->npg; i++)
		if (!strcmp(c->pg[i].name, name))
			return (int)i;
	return -1;
}

static bool valid_name(const char *s)
{
	return *s && strlen(s) < VSW_NAME_MAX;
}

/* key=value; *val points after '='. */
static bool keyval(const char *w, const char *key, const char **val)
{
	size_t k = strlen(key);

	if (strncmp(w, key, k) || w[k] != '=')
		return false;
	*val = w + k + 1;
	return true;
}

static int add_switch(struct netconf *c, const char *name, unsigned mtu, unsigned line)
{
	if (c->nsw == NETCONF_SWITCHES_MAX)
		return -ENOSPC;
	snprintf(c->sw[c->nsw].name, VSW_NAME_MAX, "%s", name);
	c->sw[c->nsw].mtu = mtu;
	c->sw[c->nsw].line = line;
	c->nsw++;
	return 0;
}

static int st_vswitch(struct netconf *c, const char *f, unsigned ln, const struct line *l)
{
	unsigned mtu = VSW_MTU_DEFAULT;
	const char *v;

	if (l->n < 2 || !valid_name(l->w[1]))
		return fail(c, f, ln, "vswitch needs a name of 1 to 31 characters%s%s", "", "");
	if (find_sw(c, l->w[1]) >= 0)
		return fail(c, f, ln, "vswitch '%s' declared twice%s", l->w[1], "");
	for (unsigned k = 2; k < l->n; k++) {
		if (keyval(l->w[k], "mtu", &v)) {
			if (!number(v, VSW_MTU_MIN, VSW_MTU_MAX, &mtu))
				return fail(c, f, ln, "mtu=%s is not a number from 68 to 9000%s",
					    v, "");
		} else {
			return fail(c, f, ln, "vswitch: unknown setting '%s' (mtu=)%s", l->w[k],
				    "");
		}
	}
	if (add_switch(c, l->w[1], mtu, ln))
		return fail(c, f, ln, "more than 8 vswitches%s%s", "", "");
	return 0;
}

static int policy_word(struct netconf *c, const char *f, unsigned ln, const char *w,
		       struct vsw_policy *p, bool *matched)
{
	static const char *const keys[] = { "promiscuous", "mac_changes", "forged_transmits" };
	bool *fields[] = { &p->promiscuous, &p->mac_changes, &p->forged_transmits };
	const char *v;

	*matched = false;
	for (unsigned i = 0; i < 3; i++) {
		if (!keyval(w, keys[i], &v))
			continue;
		*matched = true;
		if (!strcmp(v, "accept"))
			*fields[i] = true;
		else if (!strcmp(v, "reject"))
			*fields[i] = false;
		else
			return fail(c, f, ln, "%s: '%s' is neither accept nor reject", keys[i], v);
	}
	return 0;
}

static int st_portgroup(struct netconf *c, const char *f, unsigned ln, const struct line *l)
{
	struct netconf_portgroup pg = { .line = ln };
	const char *swname = NETCONF_DEFAULT_SWITCH, *v;
	int sw;

	if (l->n < 2 || !valid_name(l->w[1]))
		return fail(c, f, ln, "portgroup needs a name of 1 to 31 characters%s%s", "", "");
	if (find_pg(c, l->w[1]) >= 0)
		return fail(c, f, ln, "portgroup '%s' declared twice%s", l->w[1], "");
	memcpy(pg.name, l->w[1], strlen(l->w[1]) + 1);	/* valid_name(): it fits */
	for (unsigned k = 2; k < l->n; k++) {
		bool m;

		if (keyval(l->w[k], "vswitch", &v)) {
			swname = v;
		} else if (keyval(l->w[k], "vlan", &v)) {
			if (!number(v, 0, VSW_VLAN_TRUNK, &pg.vlan))
				return fail(c, f, ln, "vlan=%s is not a number from 0 to 4095 "
					    "(4095: the guest tags its own frames)%s", v, "");
		} else {
			if (policy_word(c, f, ln, l->w[k], &pg.policy, &m))
				return -EINVAL;
			if (!m)
				return fail(c, f, ln, "portgroup: unknown setting '%s' "
					    "(vswitch=, vlan=, promiscuous=, mac_changes=, "
					    "forged_transmits=)%s", l->w[k], "");
		}
	}
	sw = find_sw(c, swname);
	if (sw < 0 && !strcmp(swname, NETCONF_DEFAULT_SWITCH)) {
		if (add_switch(c, NETCONF_DEFAULT_SWITCH, VSW_MTU_DEFAULT, 0))
			return fail(c, f, ln, "more than 8 vswitches%s%s", "", "");
		sw = (int)c->nsw - 1;
	}
	if (sw < 0)
		return fail(c, f, ln, "vswitch '%s' is not declared on an earlier line%s", swname,
			    "");
	if (c->npg == NETCONF_PORTGROUPS_MAX)
		return fail(c, f, ln, "more than 32 port groups%s%s", "", "");
	pg.sw = (unsigned)sw;
	c->pg[c->npg++] = pg;
	return 0;
}

static int statement(struct netconf *c, const char *f, unsigned ln, const char *s, size_t n)
{
	static struct line l;	/* the parse runs once, at boot (or in a test) */
	const char *why = NULL;
	size_t i = 0;

	while (i < n && blank(s[i]))
		i++;
	if (i < n && s[i] == '#')
		return 0;
	if (split(s, n, &l, &why))
		return fail(c, f, ln, why, "", "");
	if (!l.n)
		return 0;
	if (!strcmp(l.w[0], "vswitch"))
		return st_vswitch(c, f, ln, &l);
	if (!strcmp(l.w[0], "portgroup"))
		return st_portgroup(c, f, ln, &l);
	return fail(c, f, ln, "unknown statement '%s' (vswitch, portgroup)%s", l.w[0], "");
}

int netconf_parse(const char *file, const char *text, size_t len, struct netconf *out)
{
	unsigned line = 0;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (text && i < len) {
		size_t e = i;

		while (e < len && text[e] != '\n')
			e++;
		line++;
		for (size_t k = i; k < e; k++)
			if (!text[k])
				return fail(out, file, line, "NUL byte in the file%s%s", "", "");
		if (statement(out, file, line, text + i, e - i))
			return -EINVAL;
		i = e + 1;
	}
	if (find_sw(out, NETCONF_DEFAULT_SWITCH) < 0 &&
	    add_switch(out, NETCONF_DEFAULT_SWITCH, VSW_MTU_DEFAULT, 0))
		return fail(out, file, line, "no room for %s beside 8 vswitches%s",
			    NETCONF_DEFAULT_SWITCH, "");
	if (find_pg(out, NETCONF_DEFAULT_PG) < 0) {
		if (out->npg == NETCONF_PORTGROUPS_MAX)
			return fail(out, file, line, "no room for port group '%s' beside 32 "
				    "others%s", NETCONF_DEFAULT_PG, "");
		out->pg[out->npg] = (struct netconf_portgroup){
			.name = NETCONF_DEFAULT_PG,
			.sw = (unsigned)find_sw(out, NETCONF_DEFAULT_SWITCH) };
		out->npg++;
	}
	return 0;
}
