/*
 * A bounded line builder: every formatted line of the vmkernel is put
 * together with one of these, so no sequence of appends can write past its
 * buffer, however long the pieces (names, counters, guest text) turn out.
 *
 *	char buf[120];
 *	struct linebuf lb = LINEBUF_INIT(buf);
 *	lb_printf(&lb, "%s vCPU %u:", name, id);
 *	for (...)
 *		lb_printf(&lb, ", %s %llu", reason, count);
 *	pr_info("%s\n", lb_str(&lb));
 *
 * The buffer always holds a terminated string. An append that does not
 * fit is cut, the builder remembers it, and the end of the text becomes
 * "..." so a reader sees that something is missing; later appends are
 * dropped. lb_len() never exceeds size - 1.
 */
#ifndef VMKERNEL_LINEBUF_H
#define VMKERNEL_LINEBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct linebuf {
	char *buf;
	size_t size;		/* bytes of buf, terminator included */
	size_t len;		/* characters in buf, always < size (when size > 0) */
	bool truncated;
};

#define LINEBUF_INIT(array) { (array), sizeof(array), 0, false }

void lb_init(struct linebuf *lb, char *buf, size_t size);
void lb_reset(struct linebuf *lb);
void lb_printf(struct linebuf *lb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lb_vprintf(struct linebuf *lb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void lb_puts(struct linebuf *lb, const char *s);
void lb_putc(struct linebuf *lb, char c);
/*
 * End the text with '\n', even when it was cut: the newline takes the
 * place of the last character if there is no room.
 */
void lb_newline(struct linebuf *lb);

/* The text so far (the raw buffer is terminated from the first append or lb_init() on). */
static inline const char *lb_str(const struct linebuf *lb)
{
	return lb->size && lb->len ? lb->buf : "";
}

static inline size_t lb_len(const struct linebuf *lb)
{
	return lb->len;
}

static inline bool lb_truncated(const struct linebuf *lb)
{
	return lb->truncated;
}

#endif
