/*
 * The vmkernel's printf-style formatter. The kernel's vsnprintf()/snprintf()
 * are thin wrappers over fmt_vsnprintf(); host tests call it directly and
 * compare against the C library.
 */
#ifndef FMT_H
#define FMT_H

#include <stdarg.h>
#include <stddef.h>

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
