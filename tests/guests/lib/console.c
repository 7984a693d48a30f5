/*
 * COM1 output and a small printf for the test guests.
 *
 * Output is polled: wait (boundedly) for the transmitter-empty bit in the
 * line status register, then write the data register. Formats: %d %i %u %x
 * %X %c %s %p %%, the l and ll length modifiers, a field width and the '0'
 * and '-' flags.
 */
#include "guest.h"
#include "cpu.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LSR_THRE 0x20
#define UART_LCR_DLAB 0x80

void console_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, UART_LCR_DLAB);
	outb(COM1 + 0, 1); /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0);
	outb(COM1 + UART_LCR, 0x03); /* 8 data bits, no parity, 1 stop bit */
	outb(COM1 + UART_FCR, 0x07);
	outb(COM1 + UART_MCR, 0x03);
}

void console_putc(char c)
{
	unsigned int spins;

	if (c == '\n')
		console_putc('\r');
	for (spins = 0; spins < 100000; spins++)
		if (inb(COM1 + UART_LSR) & UART_LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
	while (n--)
		console_putc(*s++);
}

uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem)
{
	uint64_t q = 0, r = 0;
	int bit;

	if (d == 0) {
		if (rem)
			*rem = 0;
		return ~0ull;
	}
	for (bit = 63; bit >= 0; bit--) {
		r = (r << 1) | ((n >> bit) & 1);
		if (r >= d) {
			r -= d;
			q |= 1ull << bit;
		}
	}
	if (rem)
		*rem = (uint32_t)r;
	return q;
}

struct fmt_spec {
	unsigned int width;
	bool zero;
	bool left;
};

static void emit_padded(const char *s, size_t len, const struct fmt_spec *sp)
{
	size_t pad = sp->width > len ? sp->width - len : 0;

	while (!sp->left && pad) {
		console_putc(sp->zero ? '0' : ' ');
		pad--;
	}
	console_write(s, len);
	while (pad--)
		console_putc(' ');
}

static void emit_number(uint64_t v, unsigned int base, bool upper, bool neg,
			const struct fmt_spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[24];
	int i = sizeof(buf);
	uint32_t r;

	do {
		v = udiv64(v, base, &r);
		buf[--i] = digits[r];
	} while (v);
	if (neg) {
		if (sp->zero && sp->width) {
			struct fmt_spec rest = *sp;

			console_putc('-');
			rest.width = sp->width ? sp->width - 1 : 0;
			emit_padded(buf + i, sizeof(buf) - i, &rest);
			return;
		}
		buf[--i] = '-';
	}
	emit_padded(buf + i, sizeof(buf) - i, sp);
}

static const char *parse_spec(const char *f, struct fmt_spec *sp)
{
	sp->width = 0;
	sp->zero = false;
	sp->left = false;
	for (;; f++) {
		if (*f == '0')
			sp->zero = true;
		else if (*f == '-')
			sp->left = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (unsigned int)(*f++ - '0');
	return f;
}

static void emit_conv(char conv, int lng, const struct fmt_spec *sp, va_list *ap)
{
	uint64_t u;
	int64_t s;

	switch (conv) {
	case 'd':
	case 'i':
		s = lng == 2 ? va_arg(*ap, long long) : lng ? va_arg(*ap, long) : va_arg(*ap, int);
		emit_number(s < 0 ? (uint64_t)-s : (uint64_t)s, 10, false, s < 0, sp);
		break;
	case 'u':
	case 'x':
	case 'X':
		u = lng == 2 ? va_arg(*ap, unsigned long long)
		    : lng    ? va_arg(*ap, unsigned long)
			     : va_arg(*ap, unsigned int);
		emit_number(u, conv == 'u' ? 10 : 16, conv == 'X', false, sp);
		break;
	case 'p':
		console_write("0x", 2);
		emit_number((uintptr_t)va_arg(*ap, void *), 16, false, false, sp);
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);

		emit_padded(&c, 1, sp);
		break;
	}
	case 's': {
		const char *str = va_arg(*ap, const char *);
		size_t n = 0;

		if (!str)
			str = "(null)";
		while (str[n])
			n++;
		emit_padded(str, n, sp);
		break;
	}
	default:
		console_putc('%');
		console_putc(conv);
		break;
	}
}

void gvprintf(const char *fmt, va_list ap)
{
	struct fmt_spec sp;
	va_list aq;
	int lng;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%') {
			console_putc(*fmt++);
			continue;
		}
		fmt++;
		if (*fmt == '%') {
			console_putc(*fmt++);
			continue;
		}
		fmt = parse_spec(fmt, &sp);
		for (lng = 0; *fmt == 'l' && lng < 2; fmt++)
			lng++;
		if (!*fmt)
			break;
		emit_conv(*fmt++, lng, &sp, &aq);
	}
	va_end(aq);
}

void gprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
}
