/*
 * IOAPICs (from the MADT) and the legacy 8259 PIC. At boot every IOAPIC
 * pin and the whole PIC are masked; drivers route the GSIs they use.
 * Registers: IOREGSEL at +0x00, IOWIN at +0x10; redirection entry n at
 * index 0x10 + 2n (82093AA datasheet 3.2).
 */
#define pr_fmt(fmt) "ioapic: " fmt
#include <errno.h>
#include <stddef.h>
#include <vmkernel/apic.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/trap.h>

#define MAX_IOAPICS 16
#define IOAPIC_VER 0x01
#define IOREDTBL(n) (0x10 + 2 * (n))
#define REDIR_MASKED (1U << 16)
#define REDIR_LEVEL (1U << 15)
#define REDIR_ACTIVE_LOW (1U << 13)

struct ioapic {
	volatile uint32_t *mmio;
	uint8_t id;
	uint32_t gsi_base;
	unsigned pins;
};

static struct ioapic ioapics[MAX_IOAPICS];	/* written at boot on the BSP only */
static unsigned n_ioapics;
static struct spinlock ioapic_lock = SPINLOCK_INIT("ioapic");

static uint32_t io_read(struct ioapic *a, uint32_t idx)
{
	a->mmio[0] = idx;
	return a->mmio[4];
}

static void io_write(struct ioapic *a, uint32_t idx, uint32_t v)
{
	a->mmio[0] = idx;
	a->mmio[4] = v;
}

int ioapic_add(uint8_t id, uint64_t phys, uint32_t gsi_base)
{
	struct ioapic *a;
	uint32_t ver;

	if (n_ioapics == MAX_IOAPICS) {
		pr_warn("IOAPIC %u at %#llx ignored: more than %d\n", id,
			(unsigned long long)phys, MAX_IOAPICS);
		return -ENOSPC;
	}
	if (!paging_phys_mapped(phys, 0x20)) {
		pr_warn("IOAPIC %u at %#llx is outside mapped memory\n", id,
			(unsigned long long)phys);
		return -EFAULT;
	}
	a = &ioapics[n_ioapics];
	a->mmio = phys_to_virt(phys);
	a->id = id;
	a->gsi_base = gsi_base;
	ver = io_read(a, IOAPIC_VER);
	if (ver == 0xffffffff) {
		pr_warn("IOAPIC %u at %#llx does not respond\n", id, (unsigned long long)phys);
		return -ENODEV;
	}
	a->pins = ((ver >> 16) & 0xff) + 1;
	for (unsigned i = 0; i < a->pins; i++) {
		io_write(a, IOREDTBL(i), REDIR_MASKED);
		io_write(a, IOREDTBL(i) + 1, 0);
	}
	n_ioapics++;
	pr_dbg("IOAPIC %u at %#llx: GSI %u-%u\n", id, (unsigned long long)phys, gsi_base,
	       gsi_base + a->pins - 1);
	return 0;
}

unsigned ioapic_count(void)
{
	return n_ioapics;
}

unsigned ioapic_total_pins(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_ioapics; i++)
		n += ioapics[i].pins;
	return n;
}

static struct ioapic *ioapic_for(uint32_t gsi, unsigned *pin)
{
	for (unsigned i = 0; i < n_ioapics; i++) {
		if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + ioapics[i].pins) {
			*pin = gsi - ioapics[i].gsi_base;
			return &ioapics[i];
		}
	}
	return NULL;
}

int ioapic_route(uint32_t gsi, uint8_t vector, uint32_t dest, bool level, bool active_low)
{
	unsigned pin;
	struct ioapic *a = ioapic_for(gsi, &pin);
	unsigned long flags;
	uint32_t lo = vector | (level ? REDIR_LEVEL : 0) | (active_low ? REDIR_ACTIVE_LOW : 0);

	if (!a)
		return -ENOENT;
	if (dest > 0xff) {
		/* Needs interrupt remapping (VT-d), which the vmkernel does not program yet. */
		pr_err("GSI %u: cannot target APIC ID %u without interrupt remapping\n", gsi, dest);
		return -ERANGE;
	}
	flags = spin_lock_irqsave(&ioapic_lock);
	io_write(a, IOREDTBL(pin) + 1, dest << 24);
	io_write(a, IOREDTBL(pin), lo);
	spin_unlock_irqrestore(&ioapic_lock, flags);
	return 0;
}

int ioapic_mask(uint32_t gsi, bool masked)
{
	unsigned pin;
	struct ioapic *a = ioapic_for(gsi, &pin);
	unsigned long flags;
	uint32_t lo;

	if (!a)
		return -ENOENT;
	flags = spin_lock_irqsave(&ioapic_lock);
	lo = io_read(a, IOREDTBL(pin));
	io_write(a, IOREDTBL(pin), masked ? lo | REDIR_MASKED : lo & ~REDIR_MASKED);
	spin_unlock_irqrestore(&ioapic_lock, flags);
	return 0;
}

void pic_disable(void)
{
	outb(0x21, 0xff);	/* mask first: ICW1 below clears the mask registers */
	outb(0xa1, 0xff);
	/* ICW1-4: remap to VEC_IRQ_BASE so a stray IRQ is not taken for an exception. */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, VEC_IRQ_BASE);
	outb(0xa1, VEC_IRQ_BASE + 8);
	outb(0x21, 4);
	outb(0xa1, 2);
	outb(0x21, 1);
	outb(0xa1, 1);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}
