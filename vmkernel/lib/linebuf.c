/*
 * The bounded line builder (see <vmkernel/linebuf.h>). Formatting goes
 * through fmt_vsnprintf() straight into the free tail of the buffer: the
 * tail's size is computed from len, which never passes size - 1, so the
 * size handed to the formatter is never wrapped or stale.
 */
#include <vmkernel/fmt.h>
#include <vmkernel/linebuf.h>

#define ELLIPSIS "..."

void lb_init(struct linebuf *lb, char *buf, size_t size)
{
	lb->buf = buf;
	lb->size = size;
	lb_reset(lb);
}

void lb_reset(struct linebuf *lb)
{
	lb->len = 0;
	lb->truncated = false;
	if (lb->size)
		lb->buf[0] = '\0';
}

/* Mark the text as cut: its last characters become "...". */
static void cut(struct linebuf *lb)
{
	size_t n = sizeof(ELLIPSIS) - 1;

	lb->truncated = true;
	if (!lb->size)
		return;
	lb->len = lb->size - 1;
	if (n > lb->len)
		n = lb->len;
	for (size_t i = 0; i < n; i++)
		lb->buf[lb->len - n + i] = '.';
	lb->buf[lb->len] = '\0';
}

void lb_vprintf(struct linebuf *lb, const char *fmt, va_list ap)
{
	size_t room;
	int n;

	if (lb->truncated || !lb->size)
		return;
	room = lb->size - lb->len;	/* >= 1: len < size */
	n = fmt_vsnprintf(lb->buf + lb->len, room, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= room)
		cut(lb);
	else
		lb->len += (size_t)n;
}

void lb_printf(struct linebuf *lb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	lb_vprintf(lb, fmt, ap);
	va_end(ap);
}

void lb_putc(struct linebuf *lb, char c)
{
	if (lb->truncated || !lb->size)
		return;
	if (lb->len + 1 >= lb->size) {
		cut(lb);
		return;
	}
	lb->buf[lb->len++] = c;
	lb->buf[lb->len] = '\0';
}

void lb_puts(struct linebuf *lb, const char *s)
{
	while (*s && !lb->truncated)
		lb_putc(lb, *s++);
}

void lb_newline(struct linebuf *lb)
{
	if (lb->size < 2)
		return;
	if (lb->len + 1 >= lb->size)
		lb->len = lb->size - 2;
	lb->buf[lb->len++] = '\n';
	lb->buf[lb->len] = '\0';
}
