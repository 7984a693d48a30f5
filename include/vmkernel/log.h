/*
 * Levelled kernel log. Each file may define pr_fmt() before including this
 * header to prefix its messages:  #define pr_fmt(fmt) "acpi: " fmt
 * The kernel command line's loglevel=N shows messages with level <= N.
 * Lines are queued and printed by the console world (vmkernel/log.c): no
 * caller waits for a console device.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_EMERG = 0,	/* panics */
	LOG_ERR = 1,
	LOG_WARN = 2,
	LOG_INFO = 3,
	LOG_DEBUG = 4,
};

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif

void log_printf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vprintf(int level, const char *fmt, va_list ap);
void log_set_level(int level);
int log_get_level(void);

struct linebuf;
/* The "[  secs.usecs] tag" every log line starts with. */
void log_line_prefix(struct linebuf *lb, int level);

/*
 * A source of log lines other than the vmkernel's CPUs, e.g. a VM's
 * console: a ring of ring_bytes (a power of two) that the console world
 * drains in order with everything else. The caller serialises its puts.
 */
struct log_source;
struct log_source *log_source_create(uint32_t ring_bytes);
void log_source_destroy(struct log_source *s);
/* Queue one whole line (prefix and newline included); false if the ring is full. */
bool log_source_put(struct log_source *s, const char *line, size_t len);
/* The budget every guest's output shares: may `bytes` more be queued now? */
bool log_guest_budget(size_t bytes);
/* Write out everything queued, now (before the machine stops or resets). */
void log_flush(void);

#define pr_err(fmt, ...)  log_printf(LOG_ERR, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_printf(LOG_WARN, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) log_printf(LOG_INFO, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_dbg(fmt, ...)  log_printf(LOG_DEBUG, pr_fmt(fmt), ##__VA_ARGS__)

#endif
