/*
 * Freestanding subset of <stdio.h>: formatting into buffers only.
 * Supported: %d %i %u %x %X %c %s %p %%, modifiers hh h l ll z, width,
 * flags '0', '-' and '#', precision for %s (including %.*s) and width '*'.
 */
#ifndef LIBC_STDIO_H
#define LIBC_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
