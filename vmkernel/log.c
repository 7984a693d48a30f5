/* Levelled logging: format one line, stamp it with the time since boot, send it to the consoles. */
#include <stdio.h>
#include <vmkernel/config.h>
#include <vmkernel/console.h>
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
	uint64_t ns;
	int n;

	if (level > log_level)
		return;
	ns = time_ns();
	n = snprintf(line, sizeof(line), "[%5llu.%06llu] %s", (unsigned long long)(ns / 1000000000),
		     (unsigned long long)(ns / 1000 % 1000000),
		     level >= 0 && level <= LOG_DEBUG ? level_tag[level] : "");
	n += vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n >= (int)sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	console_write(line, n);
}

void log_printf(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}
