/*
 * A 16550 UART at COM1 for each VM. Output goes to the VM's console (the
 * host log, one line at a time, prefixed with the VM's name). There is no
 * input yet: the receiver is always empty and no interrupts are raised.
 * Registers per the 16550 data sheet: DLAB in LCR bit 7 swaps RBR/THR and
 * IER for the divisor latch; LSR always reports the transmitter empty.
 */
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>

#define COM1 0x3f8

struct vdev_uart {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
};

size_t vdev_uart_size(void);
size_t vdev_uart_size(void)
{
	return sizeof(struct vdev_uart);
}

/* Allocated with the VM (vm_boot.c), before any vCPU runs. */
static struct vdev_uart *uart_of(struct vcpu *v)
{
	return v->vm->uart;
}

static uint32_t uart_in(struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_uart *u = uart_of(v);
	bool dlab;

	(void)size;
	if (!u)
		return 0xff;
	dlab = u->lcr & 0x80;
	switch (port - COM1) {
	case 0: return dlab ? u->dll : 0;		/* RBR: nothing received */
	case 1: return dlab ? u->dlm : u->ier;
	case 2: return (u->fcr & 1) ? 0xc1 : 0x01;	/* IIR: no interrupt pending */
	case 3: return u->lcr;
	case 4: return u->mcr;
	case 5: return 0x60;				/* LSR: THR and transmitter empty */
	case 6: return 0xb0;				/* MSR: DCD, DSR, CTS */
	default: return u->scr;
	}
}

static void uart_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_uart *u = uart_of(v);
	uint8_t b = (uint8_t)val;

	(void)size;
	if (!u)
		return;
	switch (port - COM1) {
	case 0:
		if (u->lcr & 0x80)
			u->dll = b;
		else if (v->vm->cfg.serial0_present)
			vm_console_putc(v->vm, (char)b);
		break;
	case 1:
		if (u->lcr & 0x80)
			u->dlm = b;
		else
			u->ier = b & 0x0f;
		break;
	case 2: u->fcr = b; break;
	case 3: u->lcr = b; break;
	case 4: u->mcr = b & 0x1f; break;
	case 7: u->scr = b; break;
	}
}

static const struct vdev_pio uart_com1 = {
	.name = "16550 COM1", .base = COM1, .count = 8, .byte_wide = true,
	.in = uart_in, .out = uart_out,
};
VDEV_PIO(uart_com1);
