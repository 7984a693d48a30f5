/*
 * A 16550A UART (one instance per serial port, COM1 at 0x3f8 / IRQ 4 by
 * default). Output goes to the VM's console: the host log, one line at a
 * time, prefixed with the VM's name. There is no input from the host yet;
 * the receiver holds only what the guest sends itself in loopback mode.
 *
 * Registers (16550 data sheet): DLAB (LCR bit 7) swaps RBR/THR and IER for
 * the divisor latch. The transmitter is infinitely fast: THR empties as it
 * is written, so LSR always shows THRE and TEMT.
 *
 * Interrupts: IIR reports the highest-priority source: line status (not
 * produced), received data (ERBFI and data ready), THR empty (ETBEI; set
 * when THR empties or ETBEI is turned on, cleared by reading IIR with THRE
 * as the source or by writing THR), modem status (EDSSI and a delta).
 * The IRQ line follows "some source pending AND MCR.OUT2", as on a PC
 * where OUT2 gates the UART's interrupt onto the bus.
 *
 * Loopback (MCR bit 4): THR goes to RBR, and the modem status inputs
 * follow the modem control outputs (CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2),
 * which is how drivers probe for a working UART.
 *
 * Locking: u->lock.
 */
#include <errno.h>
#include <string.h>
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vm.h>

#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IER_RDI		0x01
#define IER_THRI	0x02
#define IER_MSI		0x08
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define IIR_NONE	0x01
#define IIR_MSI		0x00
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define FIFO_SIZE	16

struct vdev_uart {
	struct vdev dev;
	struct spinlock lock;
	uint16_t base;
	unsigned irq;
	bool to_console;		/* serialN.present: output reaches the host log */
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, msr_delta;
	bool thri_pending;		/* THR-empty interrupt latched */
	bool irq_level;			/* the line as last driven */
	uint8_t rx[FIFO_SIZE];		/* loopback receive FIFO */
	unsigned rx_head, rx_count;
	uint64_t tx_bytes;		/* statistics */
};

static uint8_t modem_status(const struct vdev_uart *u)
{
	if (u->mcr & MCR_LOOP)
		return (uint8_t)(((u->mcr & 0x02) << 3) | ((u->mcr & 0x01) << 5) |
				 ((u->mcr & 0x04) << 4) | ((u->mcr & 0x08) << 4) | u->msr_delta);
	return 0xb0 | u->msr_delta;	/* DCD, DSR, CTS: a terminal is attached */
}

static uint8_t iir(const struct vdev_uart *u)
{
	uint8_t fifo = (u->fcr & 1) ? 0xc0 : 0;

	if ((u->ier & IER_RDI) && u->rx_count)
		return fifo | IIR_RDI;
	if ((u->ier & IER_THRI) && u->thri_pending)
		return fifo | IIR_THRI;
	if ((u->ier & IER_MSI) && (u->msr_delta & 0x0f))
		return fifo | IIR_MSI;
	return fifo | IIR_NONE;
}

/* Drive the IRQ line from the pending sources. Lock held; the line call is safe under it. */
static void update_irq(struct vdev_uart *u)
{
	bool level = !(iir(u) & IIR_NONE) && (u->mcr & MCR_OUT2);

	if (level != u->irq_level) {
		u->irq_level = level;
		vm_isa_irq(u->dev.vm, u->irq, level);
	}
}

static void transmit(struct vdev_uart *u, uint8_t b)
{
	u->tx_bytes++;
	if (u->mcr & MCR_LOOP) {
		if (u->rx_count < FIFO_SIZE)
			u->rx[(u->rx_head + u->rx_count++) % FIFO_SIZE] = b;
	} else if (u->to_console) {
		vm_console_putc(u->dev.vm, (char)b);
	}
	u->thri_pending = true;		/* THR is empty again at once */
}

static uint32_t uart_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_uart *u = (struct vdev_uart *)d;
	unsigned long flags = spin_lock_irqsave(&u->lock);
	bool dlab = u->lcr & 0x80;
	uint8_t val = 0;

	(void)v;
	(void)size;
	switch (port - u->base) {
	case 0:
		if (dlab) {
			val = u->dll;
		} else if (u->rx_count) {
			val = u->rx[u->rx_head];
			u->rx_head = (u->rx_head + 1) % FIFO_SIZE;
			u->rx_count--;
		}
		break;
	case 1:
		val = dlab ? u->dlm : u->ier;
		break;
	case 2:
		val = iir(u);
		if ((val & 0x0f) == IIR_THRI)
			u->thri_pending = false;	/* reading IIR clears a THRE interrupt */
		break;
	case 3:
		val = u->lcr;
		break;
	case 4:
		val = u->mcr;
		break;
	case 5:
		val = LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
		break;
	case 6:
		val = modem_status(u);
		u->msr_delta = 0;
		break;
	default:
		val = u->scr;
	}
	update_irq(u);
	spin_unlock_irqrestore(&u->lock, flags);
	return val;
}

static void uart_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_uart *u = (struct vdev_uart *)d;
	unsigned long flags = spin_lock_irqsave(&u->lock);
	uint8_t b = (uint8_t)val, old;

	(void)v;
	(void)size;
	switch (port - u->base) {
	case 0:
		if (u->lcr & 0x80)
			u->dll = b;
		else
			transmit(u, b);
		break;
	case 1:
		if (u->lcr & 0x80) {
			u->dlm = b;
			break;
		}
		old = u->ier;
		u->ier = b & 0x0f;
		/* Enabling the THRE interrupt while THR is empty raises it (16550 behaviour). */
		if ((u->ier & IER_THRI) && !(old & IER_THRI))
			u->thri_pending = true;
		break;
	case 2:
		u->fcr = b & 0xc9;
		if (b & 0x02) {		/* clear the receive FIFO */
			u->rx_count = 0;
			u->rx_head = 0;
		}
		break;
	case 3:
		u->lcr = b;
		break;
	case 4:
		old = modem_status(u) & 0xf0;
		u->mcr = b & 0x1f;
		/* Deltas: CTS, DSR, DCD changed; RI trailing edge (MSR bits 3:0). */
		old ^= modem_status(u) & 0xf0;
		u->msr_delta |= (uint8_t)(((old >> 4) & 0x0b) |
					  ((old & ~modem_status(u)) >> 4 & 0x04));
		break;
	case 7:
		u->scr = b;
		break;
	}
	update_irq(u);
	spin_unlock_irqrestore(&u->lock, flags);
}

static const struct vdev_pio_ops uart_ops = { .in = uart_in, .out = uart_out, .byte_wide = true };

static void uart_reset(struct vdev *d)
{
	struct vdev_uart *u = (struct vdev_uart *)d;
	unsigned long flags = spin_lock_irqsave(&u->lock);

	u->ier = u->lcr = u->mcr = u->scr = u->fcr = u->dll = u->dlm = u->msr_delta = 0;
	u->thri_pending = false;
	u->rx_count = u->rx_head = 0;
	update_irq(u);
	spin_unlock_irqrestore(&u->lock, flags);
}

static int uart_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_uart *u = (struct vdev_uart *)d;
	int err;

	spin_init(&u->lock, "vuart");
	u->base = a->port;
	u->irq = a->irq;
	u->to_console = a->extra != NULL;
	err = vdev_pio_register(d, u->base, 8, &uart_ops, true);
	return err < 0 ? err : 0;
}

static const struct vdev_type uart_type = {
	.name = "uart16550", .size = sizeof(struct vdev_uart),
	.create = uart_create, .reset = uart_reset,
};
VDEV_TYPE(uart_type);
