/*
 * Kernel command-line parser.
 *
 * One pass over the string, one word at a time. Each word is copied character
 * by character into its cmdline_opt, with a length check before every store, so
 * an over-long key or value is reported rather than truncated. The scan stops at
 * the terminating NUL only, and every loop step consumes one input character,
 * so any input ends. Lookups search from the end so that the last occurrence of
 * a key wins, as with Linux's command line.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <vmkernel/cmdline.h>

#define CMDLINE_SHOW_MAX	40	/* characters of a bad word quoted in err */
#define CMDLINE_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Where the word being parsed starts, for error messages. */
struct cmdline_word {
	const char *line;
	size_t start;		/* offset of the word's first character */
	unsigned int index;	/* 1-based */
};

static bool cmdline_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int __attribute__((format(printf, 4, 5)))
cmdline_err(struct cmdline *out, const struct cmdline_word *w, int rc, const char *fmt, ...)
{
	const char *word = w->line + w->start;
	char why[96];
	va_list ap;
	int len = 0;

	while (len < CMDLINE_SHOW_MAX && word[len] && !cmdline_blank(word[len]))
		len++;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(out->err, sizeof(out->err), "cmdline: word %u at column %zu ('%.*s%s'): %s",
		 w->index, w->start + 1, len, word, word[len] && !cmdline_blank(word[len]) ?
		 "..." : "", why);
	return rc;
}

/* Append @c to the key or value of @opt; @len is that part's current length. */
static int cmdline_store(struct cmdline *out, const struct cmdline_word *w,
			 struct cmdline_opt *opt, size_t *len, char c)
{
	if (!opt->has_value) {
		if (cmdline_blank(c))
			return cmdline_err(out, w, -EINVAL, "blank inside a key");
		if (*len + 1 >= sizeof(opt->key))
			return cmdline_err(out, w, -E2BIG, "key longer than %zu characters",
					   sizeof(opt->key) - 1);
		opt->key[(*len)++] = c;
		return 0;
	}
	if (*len + 1 >= sizeof(opt->value))
		return cmdline_err(out, w, -E2BIG, "value longer than %zu characters",
				   sizeof(opt->value) - 1);
	opt->value[(*len)++] = c;
	return 0;
}

/* Parse the word starting at *pos into @opt; leave *pos just past it. */
static int cmdline_word(struct cmdline *out, const struct cmdline_word *w,
			struct cmdline_opt *opt, size_t *pos)
{
	const char *s = w->line;
	size_t i, klen = 0, vlen = 0, quote_at = 0;
	bool quoted = false;
	int rc;

	for (i = *pos; s[i]; i++) {
		if (s[i] == '"') {
			quoted = !quoted;
			quote_at = i;
			continue;
		}
		if (!quoted && cmdline_blank(s[i]))
			break;
		if (s[i] == '=' && !opt->has_value) {
			opt->has_value = true;
			continue;
		}
		rc = cmdline_store(out, w, opt, opt->has_value ? &vlen : &klen, s[i]);
		if (rc)
			return rc;
	}
	if (quoted)
		return cmdline_err(out, w, -EINVAL,
				   "unterminated double quote opened at column %zu", quote_at + 1);
	if (klen == 0)
		return cmdline_err(out, w, -EINVAL, "empty key");
	*pos = i;
	return 0;
}

int cmdline_parse(const char *s, struct cmdline *out)
{
	struct cmdline_word w = { .line = s };
	size_t pos = 0;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!s)
		return 0;
	for (;;) {
		while (cmdline_blank(s[pos]))
			pos++;
		if (!s[pos])
			return 0;
		w.start = pos;
		w.index++;
		if (out->count >= CMDLINE_MAX_OPTS)
			return cmdline_err(out, &w, -E2BIG, "more than %d options",
					   CMDLINE_MAX_OPTS);
		rc = cmdline_word(out, &w, &out->opts[out->count], &pos);
		if (rc)
			return rc;
		out->count++;
	}
}

static const struct cmdline_opt *cmdline_find(const struct cmdline *cl, const char *key)
{
	unsigned int i;

	if (!cl || !key)
		return NULL;
	for (i = cl->count; i-- > 0;) {
		if (!strcmp(cl->opts[i].key, key))
			return &cl->opts[i];
	}
	return NULL;
}

const char *cmdline_get(const struct cmdline *cl, const char *key)
{
	const struct cmdline_opt *opt = cmdline_find(cl, key);

	return opt ? opt->value : NULL;
}

bool cmdline_has(const struct cmdline *cl, const char *key)
{
	return cmdline_find(cl, key) != NULL;
}

static int cmdline_digit(char c, unsigned int base)
{
	int d;

	if (c >= '0' && c <= '9')
		d = c - '0';
	else if (c >= 'a' && c <= 'f')
		d = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		d = c - 'A' + 10;
	else
		return -1;
	return (unsigned int)d < base ? d : -1;
}

/* Malformed beats overflow: "99999999999999999999x" is -EINVAL, not -ERANGE. */
static int cmdline_parse_ull(const char *s, unsigned long long *out)
{
	const unsigned long long max = ~0ULL;
	unsigned long long v = 0;
	unsigned int base = 10;
	bool overflow = false;
	int d;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		d = cmdline_digit(*s, base);
		if (d < 0)
			return -EINVAL;
		if (v > (max - (unsigned int)d) / base)
			overflow = true;
		v = v * base + (unsigned int)d;
	}
	if (overflow)
		return -ERANGE;
	*out = v;
	return 0;
}

int cmdline_get_uint(const struct cmdline *cl, const char *key, unsigned long long *out)
{
	const char *v = cmdline_get(cl, key);

	if (!v)
		return -ENOENT;
	return cmdline_parse_ull(v, out);
}

int cmdline_get_bool(const struct cmdline *cl, const char *key, bool *out)
{
	static const char *const yes[] = { "1", "y", "yes", "on", "true" };
	static const char *const no[] = { "0", "n", "no", "off", "false" };
	const struct cmdline_opt *opt = cmdline_find(cl, key);

	if (!opt)
		return -ENOENT;
	if (!opt->has_value || cmdline_match(opt->value, yes, CMDLINE_ARRAY_SIZE(yes)) >= 0) {
		*out = true;
		return 0;
	}
	if (cmdline_match(opt->value, no, CMDLINE_ARRAY_SIZE(no)) >= 0) {
		*out = false;
		return 0;
	}
	return -EINVAL;
}

int cmdline_match(const char *value, const char *const *allowed, unsigned int n)
{
	unsigned int i;

	if (!value || !allowed)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (allowed[i] && !strcmp(value, allowed[i]))
			return (int)i;
	}
	return -EINVAL;
}
