/*
 * The vmkernel console: every line of the log goes to each registered
 * console (16550 serial, the screen). Console drivers live in drivers/ and
 * register through the .console_drv linker set (CONSOLE_DRIVER()); the
 * vmkernel calls each one's setup() with what the boot loader told us.
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum console_fb_kind {
	CONSOLE_FB_NONE,
	CONSOLE_FB_RGB,		/* linear framebuffer, direct colour */
	CONSOLE_FB_EGA_TEXT,	/* 80x25 text mode at 0xb8000 */
};

struct console_params {
	bool serial;			/* console= asked for a serial port */
	uint16_t serial_port;
	uint32_t serial_baud;
	bool screen;			/* console= asked for the screen */
	enum console_fb_kind fb_kind;
	void *fb_virt;			/* mapped framebuffer */
	uint64_t fb_phys;
	uint32_t fb_width, fb_height, fb_pitch;
	uint8_t fb_bpp;
	uint8_t fb_red_pos, fb_red_size, fb_green_pos, fb_green_size;
	uint8_t fb_blue_pos, fb_blue_size;
};

struct console_driver {
	const char *name;
	/* Returns true if the device is there and now takes output. */
	bool (*setup)(const struct console_params *p);
	void (*write)(const char *s, size_t n);
	/*
	 * Optional, for slow devices: write what the device takes now without
	 * waiting for it (a UART: what fits its transmit FIFO); the count of
	 * bytes of s consumed, 0 if it is busy.
	 */
	size_t (*write_some)(const char *s, size_t n);
	/* Optional: wait (bounded) until what was written has left the device. */
	void (*sync)(void);
};

#define CONSOLE_DRIVER(var)						\
	static const struct console_driver *const __console_ptr_##var	\
	__attribute__((used, section(".console_drv"))) = &var

/* Calls every driver's setup(); before this only the early serial port works. */
void console_init(const struct console_params *p);
/* Write to every active console, serialised across CPUs. */
void console_write(const char *s, size_t n);
/*
 * The console world's write (vmkernel/log.c): no lock, interrupts on; a
 * device that is busy is waited for by calling wait(), which may let other
 * worlds run. The caller owns the consoles (no other writer but a panic).
 */
void console_write_paced(const char *s, size_t n, void (*wait)(void));
/* Wait until every console has sent what it was given (before the machine stops). */
void console_sync(void);
/* Panic path: stop honouring the console lock so the last words get out. */
void console_break_lock(void);
bool console_lock_broken(void);
/* Names of active consoles, for the boot banner. */
void console_describe(char *buf, size_t len);
/* Polled early serial output on COM1 before console_init(). */
void console_early_init(uint16_t port);

#endif
