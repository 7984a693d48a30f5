/*
 * 16550 UART console (polled transmit). The port comes from console=
 * (com1..com4 or a hex I/O port); a port that does not echo its scratch
 * register is absent and is not used, so a server without COM1 still boots.
 */
#include <vmkernel/cpu.h>
#include <vmkernel/console.h>

#define UART_THR	0
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_SCR	7
#define LSR_THRE	0x20

static uint16_t port;

static bool uart_present(uint16_t p)
{
	outb(p + UART_SCR, 0x5a);
	if (inb(p + UART_SCR) != 0x5a)
		return false;
	outb(p + UART_SCR, 0xa5);
	return inb(p + UART_SCR) == 0xa5;
}

static bool uart_setup(const struct console_params *cp)
{
	uint32_t div;

	if (!cp->serial || !uart_present(cp->serial_port))
		return false;
	port = cp->serial_port;
	div = 115200 / (cp->serial_baud ? cp->serial_baud : 115200);
	if (!div)
		div = 1;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, 0x80);
	outb(port + 0, div & 0xff);
	outb(port + 1, div >> 8);
	outb(port + UART_LCR, 0x03);	/* 8N1 */
	outb(port + UART_FCR, 0xc7);
	outb(port + UART_MCR, 0x03);
	return true;
}

static void uart_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(port + UART_LSR) & LSR_THRE); i++)
		cpu_relax();
	outb(port + UART_THR, c);
}

static void uart_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

static const struct console_driver uart_console = {
	.name = "serial",
	.setup = uart_setup,
	.write = uart_write,
};
CONSOLE_DRIVER(uart_console);
