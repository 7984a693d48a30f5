/*
 * printf-style formatting into a bounded buffer.
 *
 * Always NUL-terminates when size > 0 and returns the length the full output
 * would have had, like ISO C vsnprintf. Supports the subset documented in
 * <stdio.h>; an unknown conversion is copied through literally so a bad
 * format string is visible in the log instead of consuming arguments.
 */
#include <stdbool.h>
#include <stdint.h>
#include <vmkernel/fmt.h>

struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	bool left;
	bool zero;
	bool alt;	/* '#': 0x prefix for nonzero %x */
	int width;
	int prec;	/* -1: none */
	int lmod;	/* -2 hh, -1 h, 0 int, 1 l, 2 ll, 3 z */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, int n, char c)
{
	while (n-- > 0)
		put(o, c);
}

static void put_str(struct out *o, const struct spec *sp, const char *s)
{
	int n = 0;

	if (!s)
		s = "(null)";
	while ((sp->prec < 0 || n < sp->prec) && s[n])
		n++;
	if (!sp->left)
		pad(o, sp->width - n, ' ');
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (sp->left)
		pad(o, sp->width - n, ' ');
}

static void put_num(struct out *o, const struct spec *sp, unsigned long long v,
		    bool neg, unsigned base, bool upper, const char *prefix)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, plen = 0, total;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg)
		prefix = "-";
	if (prefix)
		while (prefix[plen])
			plen++;
	total = n + plen;
	if (!sp->left && !sp->zero)
		pad(o, sp->width - total, ' ');
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	if (!sp->left && sp->zero)
		pad(o, sp->width - total, '0');
	while (n)
		put(o, tmp[--n]);
	if (sp->left)
		pad(o, sp->width - total, ' ');
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
	*sp = (struct spec){ .prec = -1 };
	for (;; f++) {
		if (*f == '-')
			sp->left = true;
		else if (*f == '0')
			sp->zero = true;
		else if (*f == '#')
			sp->alt = true;
		else
			break;
	}
	if (*f == '*') {
		sp->width = va_arg(*ap, int);
		if (sp->width < 0) {
			sp->left = true;
			sp->width = -sp->width;
		}
		f++;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		sp->prec = 0;
		if (*f == '*') {
			sp->prec = va_arg(*ap, int);
			f++;
		}
		while (*f >= '0' && *f <= '9')
			sp->prec = sp->prec * 10 + (*f++ - '0');
	}
	for (;; f++) {
		if (*f == 'h')
			sp->lmod--;
		else if (*f == 'l')
			sp->lmod++;
		else if (*f == 'z')
			sp->lmod = 3;
		else
			break;
	}
	return f;
}

static unsigned long long get_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->lmod) {
	case -2: return (unsigned char)va_arg(*ap, unsigned int);
	case -1: return (unsigned short)va_arg(*ap, unsigned int);
	case 0: return va_arg(*ap, unsigned int);
	case 1: return va_arg(*ap, unsigned long);
	case 3: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned long long);
	}
}

static long long get_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->lmod) {
	case -2: return (signed char)va_arg(*ap, int);
	case -1: return (short)va_arg(*ap, int);
	case 0: return va_arg(*ap, int);
	case 1: return va_arg(*ap, long);
	case 3: return (long long)va_arg(*ap, size_t);
	default: return va_arg(*ap, long long);
	}
}

static void convert(struct out *o, char c, const struct spec *sp, va_list *ap)
{
	long long s;
	char ch;

	switch (c) {
	case 'd':
	case 'i':
		s = get_signed(sp, ap);
		put_num(o, sp, s < 0 ? 0ULL - (unsigned long long)s : (unsigned long long)s,
			s < 0, 10, false, NULL);
		break;
	case 'u':
		put_num(o, sp, get_unsigned(sp, ap), false, 10, false, NULL);
		break;
	case 'x':
	case 'X': {
		unsigned long long v = get_unsigned(sp, ap);

		put_num(o, sp, v, false, 16, c == 'X', sp->alt && v ? (c == 'X' ? "0X" : "0x") : NULL);
		break;
	}
	case 'p':
		put_num(o, sp, (uintptr_t)va_arg(*ap, void *), false, 16, false, "0x");
		break;
	case 'c':
		ch = (char)va_arg(*ap, int);
		put_str(o, &(struct spec){ .left = sp->left, .width = sp->width, .prec = 1 }, &ch);
		break;
	case 's':
		put_str(o, sp, va_arg(*ap, const char *));
		break;
	default:
		put(o, '%');
		put(o, c);
	}
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { .buf = buf, .size = size };
	struct spec sp;
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			put(&o, *fmt++);
			continue;
		}
		fmt = parse_spec(fmt + 1, &sp, &aq);
		if (!*fmt)
			break;
		if (*fmt == '%')
			put(&o, '%');
		else
			convert(&o, *fmt, &sp, &aq);
		fmt++;
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

#ifndef HOST_TEST
#include <stdio.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return fmt_vsnprintf(buf, size, fmt, ap);
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
#endif
