/* Levelled logging: format one line, stamp it with the time since boot, send it to the consoles. */
#include <stdio.h>
#include <vmkernel/config.h>
#include <vmkernel/console.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/log.h>
#include <vmkernel/timer.h>

static int log_level = CONFIG_LOG_DEFAULT;

static const char *const level_tag[] = {
	[LOG_EMERG] = "PANIC: ", [LOG_ERR] = "error: ", [LOG_WARN] = "warning: ",
	[LOG_INFO] = "", [LOG_DEBUG] = "",
};

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_vprintf(int level, const char *fmt, va_list ap)
{
	char line[512];
	struct linebuf lb = LINEBUF_INIT(line);
	uint64_t ns;

	if (level > log_level)
		return;
	ns = time_ns();
	lb_printf(&lb, "[%5llu.%06llu] %s", (unsigned long long)(ns / 1000000000),
		  (unsigned long long)(ns / 1000 % 1000000),
		  level >= 0 && level <= LOG_DEBUG ? level_tag[level] : "");
	lb_vprintf(&lb, fmt, ap);
	if (lb_truncated(&lb))
		lb_newline(&lb);
	console_write(lb_str(&lb), lb_len(&lb));
}

void log_printf(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}
