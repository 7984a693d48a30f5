/*
 * Console multiplexer. Before console_init() only a polled COM1 writer
 * exists (so the earliest boot messages and faults are visible); afterwards
 * every driver in the .console_drv set that accepted the boot parameters
 * gets each line. Once the console world runs (vmkernel/log.c) it is the
 * only writer, through console_write_paced(), and nobody waits for a
 * device with interrupts off; before that, and to flush, one lock
 * serialises lines across CPUs. The panic path breaks it so the final
 * report is never lost behind a CPU that died holding it.
 */
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/console.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/spinlock.h>

#define MAX_ACTIVE 4

extern const struct console_driver *const __console_drv_start[], *const __console_drv_end[];

static struct spinlock console_lock = SPINLOCK_INIT("console");
static const struct console_driver *active[MAX_ACTIVE];	/* console_lock; fixed after init */
static unsigned n_active;
static uint16_t early_port;
static volatile bool lock_broken;

static void early_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(early_port + 5) & 0x20); i++)
		cpu_relax();
	outb(early_port, c);
}

void console_early_init(uint16_t port)
{
	early_port = port;
	outb(port + 1, 0x00);	/* no interrupts */
	outb(port + 3, 0x80);	/* DLAB */
	outb(port + 0, 0x01);	/* 115200 baud */
	outb(port + 1, 0x00);
	outb(port + 3, 0x03);	/* 8N1 */
	outb(port + 2, 0xc7);	/* FIFO on, cleared */
	outb(port + 4, 0x03);	/* DTR, RTS */
}

void console_init(const struct console_params *p)
{
	const struct console_driver *const *d;

	n_active = 0;
	for (d = __console_drv_start; d < __console_drv_end && n_active < MAX_ACTIVE; d++) {
		if ((*d)->setup(p))
			active[n_active++] = *d;
	}
	early_port = 0;
}

static void write_all(const char *s, size_t n)
{
	if (n_active == 0 && early_port) {
		for (size_t i = 0; i < n; i++) {
			if (s[i] == '\n')
				early_putc('\r');
			early_putc(s[i]);
		}
		return;
	}
	for (unsigned i = 0; i < n_active; i++)
		active[i]->write(s, n);
}

void console_write(const char *s, size_t n)
{
	unsigned long flags;

	if (lock_broken) {
		write_all(s, n);
		return;
	}
	flags = spin_lock_irqsave(&console_lock);
	write_all(s, n);
	spin_unlock_irqrestore(&console_lock, flags);
}

void console_write_paced(const char *s, size_t n, void (*wait)(void))
{
	if (n_active == 0 || lock_broken) {
		console_write(s, n);
		return;
	}
	for (unsigned i = 0; i < n_active; i++) {
		const struct console_driver *d = active[i];

		if (!d->write_some) {
			d->write(s, n);
			continue;
		}
		for (size_t off = 0; off < n && !lock_broken;) {
			size_t k = d->write_some(s + off, n - off);

			off += k;
			if (!k)
				wait();
		}
	}
}

void console_sync(void)
{
	for (unsigned i = 0; i < n_active; i++) {
		if (active[i]->sync)
			active[i]->sync();
	}
}

void console_break_lock(void)
{
	lock_broken = true;
}

bool console_lock_broken(void)
{
	return lock_broken;
}

void console_describe(char *buf, size_t len)
{
	struct linebuf lb;

	lb_init(&lb, buf, len);
	for (unsigned i = 0; i < n_active; i++)
		lb_printf(&lb, "%s%s", i ? ", " : "", active[i]->name);
	if (!n_active)
		lb_puts(&lb, "none");
}
