/*
 * Levelled kernel log. Each file may define pr_fmt() before including this
 * header to prefix its messages:  #define pr_fmt(fmt) "acpi: " fmt
 * The kernel command line's loglevel=N shows messages with level <= N.
 */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

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

#define pr_err(fmt, ...)  log_printf(LOG_ERR, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_warn(fmt, ...) log_printf(LOG_WARN, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_info(fmt, ...) log_printf(LOG_INFO, pr_fmt(fmt), ##__VA_ARGS__)
#define pr_dbg(fmt, ...)  log_printf(LOG_DEBUG, pr_fmt(fmt), ##__VA_ARGS__)

#endif
