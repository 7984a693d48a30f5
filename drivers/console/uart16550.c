/*
 * 16550 UART console (polled transmit; the console world feeds it a FIFO
 * at a time through write_some and never waits for it). The port comes from console=
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

#define UART_IIR	2
#define IIR_FIFO_ON	0xc0

static uint16_t port;
static unsigned fifo_depth = 1;	/* bytes the transmitter takes when THRE is set */

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
	/* A 16550A reports its FIFOs on: its transmitter then takes 16 bytes at once. */
	fifo_depth = (inb(port + UART_IIR) & IIR_FIFO_ON) == IIR_FIFO_ON ? 16 : 1;
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

/* Fill the transmitter if it is empty; never wait. "\n" goes out as "\r\n". */
static size_t uart_write_some(const char *s, size_t n)
{
	static bool cr_sent;	/* the '\r' of the '\n' at s[0] went out last time */
	unsigned room = fifo_depth;
	size_t i = 0;

	if (!(inb(port + UART_LSR) & LSR_THRE))
		return 0;
	while (i < n && room) {
		if (s[i] == '\n' && !cr_sent) {
			outb(port + UART_THR, '\r');
			if (!--room) {
				cr_sent = true;
				break;
			}
		}
		cr_sent = false;
		outb(port + UART_THR, s[i++]);
		room--;
	}
	return i;
}

#define LSR_TEMT	0x40

/* Until the FIFO and the shift register are empty (bounded: a dead UART does not hang us). */
static void uart_sync(void)
{
	for (int i = 0; i < 1000000 && !(inb(port + UART_LSR) & LSR_TEMT); i++)
		cpu_relax();
}

static const struct console_driver uart_console = {
	.name = "serial",
	.setup = uart_setup,
	.write = uart_write,
	.write_some = uart_write_some,
	.sync = uart_sync,
};
CONSOLE_DRIVER(uart_console);
