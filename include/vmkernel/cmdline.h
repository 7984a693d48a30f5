/*
 * Kernel command line: Linux-like words separated by blanks (space, tab, CR, LF),
 * each either `key` or `key=value`. A double quote anywhere in a word toggles
 * quoting and is removed; blanks inside quotes belong to the word, so
 * name="a b" and "name=a b" both give key `name`, value `a b`. The first `=`
 * of a word separates the key from the value; later ones belong to the value.
 */
#ifndef CMDLINE_H
#define CMDLINE_H

#include <stdbool.h>

#define CMDLINE_MAX_OPTS	32
#define CMDLINE_KEY_MAX		32	/* buffer size: keys up to 31 characters */
#define CMDLINE_VALUE_MAX	128	/* buffer size: values up to 127 characters */

struct cmdline_opt {
	char key[CMDLINE_KEY_MAX];
	char value[CMDLINE_VALUE_MAX];	/* "" when !has_value */
	bool has_value;			/* the word had an '=' (value may still be "") */
};

struct cmdline {
	struct cmdline_opt opts[CMDLINE_MAX_OPTS];	/* in command-line order */
	unsigned int count;
	char err[160];			/* set when cmdline_parse() fails */
};

/*
 * Split @s (NULL means an empty command line) into @out. Returns 0; -EINVAL for an
 * unterminated quote, an empty key ("=x", "") or a blank inside a key; -E2BIG for
 * a key or value too long or more than CMDLINE_MAX_OPTS words. On failure out->err
 * names the word (1-based), its column (1-based) and the problem.
 */
int cmdline_parse(const char *s, struct cmdline *out);

/* Value of the last occurrence of @key; "" if it had no value; NULL if absent. */
const char *cmdline_get(const struct cmdline *cl, const char *key);

/* True if @key occurs at all (with or without a value). */
bool cmdline_has(const struct cmdline *cl, const char *key);

/*
 * Value of @key as an unsigned number: decimal, or hexadecimal with a 0x/0X
 * prefix. Returns 0, -ENOENT if absent, -EINVAL if empty or malformed, -ERANGE if
 * it does not fit in 64 bits. *out is written only on success.
 */
int cmdline_get_uint(const struct cmdline *cl, const char *key, unsigned long long *out);

/*
 * Value of @key as a boolean: a bare `key` (no `=`) and 1/y/yes/on/true mean true;
 * 0/n/no/off/false mean false; `key=` is malformed. Returns 0, -ENOENT if absent,
 * -EINVAL otherwise.
 */
int cmdline_get_bool(const struct cmdline *cl, const char *key, bool *out);

/* Index of @value in @allowed[0..n-1] (exact match), or -EINVAL if not there. */
int cmdline_match(const char *value, const char *const *allowed, unsigned int n);

#endif /* CMDLINE_H */
