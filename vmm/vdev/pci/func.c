/*
 * One PCI function's configuration space (see include/vmm/vpci.h).
 *
 * The space is a byte array with a mask of writable bits for the
 * standard header and capabilities. On top of plain storage:
 *
 *  - BARs read back their size mask after the guest writes all ones, as
 *    hardware does (the mask is the writable bits); the address a guest
 *    writes moves the function's range on the VM's device bus, which is
 *    enabled only while the command register enables that kind of
 *    decoding (I/O bit 0, memory bit 1). Ranges that would overlap
 *    another device's are left disabled.
 *  - MSI (PCI 3.0 6.8.1, 64-bit address, per-vector masking) and MSI-X
 *    (6.8.2: table and pending-bit array in their own BAR, function mask)
 *    messages are sent through vm_msi(); INTx drives the GSI the machine
 *    routes the slot's pin to, unless the command register disables it.
 */
#include <errno.h>
#include <string.h>
#include <vmm/virq.h>
#include <vmm/vm.h>
#include <vmm/vpci.h>

#define CFG_VENDOR	0x00
#define CFG_COMMAND	0x04
#define CFG_STATUS	0x06
#define CFG_REVISION	0x08
#define CFG_HEADER	0x0e
#define CFG_BAR0	0x10
#define CFG_SUBSYS	0x2c
#define CFG_CAP_PTR	0x34
#define CFG_INT_LINE	0x3c
#define CFG_INT_PIN	0x3d
#define CMD_IO		(1U << 0)
#define CMD_MEM		(1U << 1)
#define CMD_MASTER	(1U << 2)
#define CMD_INTX_OFF	(1U << 10)
#define STS_INTX	(1U << 3)
#define STS_CAPS	(1U << 4)
#define CAP_MSI		0x05
#define CAP_MSIX	0x11
#define MSI_ENABLE	(1U << 0)
#define MSIX_ENABLE	(1U << 15)
#define MSIX_FMASK	(1U << 14)

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) | (uint32_t)rd16(p + 2) << 16;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static void set_wmask(struct vpci_func *f, unsigned off, unsigned len, uint32_t bits)
{
	for (unsigned i = 0; i < len; i++)
		f->wmask[off + i] = (uint8_t)(bits >> (8 * i));
}

void vpci_init(struct vpci_func *f, struct vdev *d, uint16_t vendor, uint16_t device,
	       uint32_t class, uint8_t revision)
{
	memset(f->cfg, 0, sizeof(f->cfg));
	memset(f->wmask, 0, sizeof(f->wmask));
	f->dev = d;
	d->pci = f;
	spin_init(&f->lock, "vpci");
	for (unsigned n = 0; n < 6; n++)
		f->bar[n] = (struct vpci_bar){ .handle = -1 };
	wr16(f->cfg + CFG_VENDOR, vendor);
	wr16(f->cfg + CFG_VENDOR + 2, device);
	f->cfg[CFG_REVISION] = revision;
	f->cfg[CFG_REVISION + 1] = (uint8_t)class;
	f->cfg[CFG_REVISION + 2] = (uint8_t)(class >> 8);
	f->cfg[CFG_REVISION + 3] = (uint8_t)(class >> 16);
	set_wmask(f, CFG_COMMAND, 2, CMD_IO | CMD_MEM | CMD_MASTER | CMD_INTX_OFF | (1U << 6) |
		  (1U << 8));
	set_wmask(f, 0x0c, 1, 0xff);		/* cache line size */
	set_wmask(f, 0x0d, 1, 0xff);		/* latency timer */
	set_wmask(f, CFG_INT_LINE, 1, 0xff);
	f->cap_next = 0x40;
}

void vpci_set_subsystem(struct vpci_func *f, uint16_t vendor, uint16_t id)
{
	wr16(f->cfg + CFG_SUBSYS, vendor);
	wr16(f->cfg + CFG_SUBSYS + 2, id);
}

int vpci_add_bar(struct vpci_func *f, unsigned n, enum vpci_bar_type type, uint64_t size,
		 const void *ops)
{
	struct vpci_bar *b;
	uint64_t mask = ~(size - 1);

	if (n > 5 || (type == VPCI_BAR_MEM64 && n > 4) || !size || (size & (size - 1)) ||
	    (type == VPCI_BAR_IO && (size < 4 || size > 256)) || (type != VPCI_BAR_IO && size < 4096))
		return -EINVAL;
	b = &f->bar[n];
	b->type = type;
	b->size = size;
	b->handle = -1;
	if (type == VPCI_BAR_IO) {
		b->pio = ops;
		wr32(f->cfg + CFG_BAR0 + 4 * n, 0x1);
		set_wmask(f, CFG_BAR0 + 4 * n, 4, (uint32_t)mask & 0xfffffffcU);
	} else {
		b->mmio = ops;
		wr32(f->cfg + CFG_BAR0 + 4 * n, type == VPCI_BAR_MEM64 ? 0x4 : 0x0);
		set_wmask(f, CFG_BAR0 + 4 * n, 4, (uint32_t)mask & 0xfffffff0U);
		if (type == VPCI_BAR_MEM64)
			set_wmask(f, CFG_BAR0 + 4 * (n + 1), 4, (uint32_t)(mask >> 32));
	}
	return 0;
}

int vpci_add_cap(struct vpci_func *f, uint8_t id, const uint8_t *body, unsigned len)
{
	unsigned at = f->cap_next;

	if (at + 2 + len > 256)
		return -ENOSPC;
	f->cfg[at] = id;
	f->cfg[at + 1] = f->cfg[CFG_CAP_PTR];	/* new capabilities go to the front */
	if (len)
		memcpy(f->cfg + at + 2, body, len);
	f->cfg[CFG_CAP_PTR] = (uint8_t)at;
	wr16(f->cfg + CFG_STATUS, rd16(f->cfg + CFG_STATUS) | STS_CAPS);
	f->cap_next = (uint8_t)((at + 2 + len + 3) & ~3U);
	return (int)at;
}

/* MSI: 64-bit address, per-vector masking, one vector (PCI 3.0 figure 6-9). */
int vpci_add_msi(struct vpci_func *f)
{
	uint8_t body[22] = { 0 };
	int at;

	wr16(body, (1U << 7) | (1U << 8));	/* 64-bit, per-vector masking; 1 vector */
	at = vpci_add_cap(f, CAP_MSI, body, sizeof(body));
	if (at < 0)
		return at;
	f->msi_cap = (uint8_t)at;
	set_wmask(f, at + 2, 2, MSI_ENABLE);
	set_wmask(f, at + 4, 4, 0xfffffffcU);	/* address, dword aligned */
	set_wmask(f, at + 8, 4, 0xffffffffU);	/* upper address */
	set_wmask(f, at + 12, 2, 0xffff);	/* data */
	set_wmask(f, at + 16, 4, 0x1);		/* mask bit of vector 0 */
	return 0;
}

int vpci_add_msix(struct vpci_func *f, unsigned n, unsigned bar)
{
	uint8_t body[10] = { 0 };
	int at, err;

	if (!n || n > VPCI_MAX_MSIX)
		return -EINVAL;
	wr16(body, (uint16_t)(n - 1));		/* table size - 1 */
	wr32(body + 2, bar);			/* table at offset 0 of BAR `bar` */
	wr32(body + 6, 0x800 | bar);		/* PBA at offset 0x800 */
	at = vpci_add_cap(f, CAP_MSIX, body, sizeof(body));
	if (at < 0)
		return at;
	err = vpci_add_bar(f, bar, VPCI_BAR_MEM32, 4096, NULL);
	if (err)
		return err;
	f->bar[bar].msix = true;
	f->msix_cap = (uint8_t)at;
	f->msix_n = n;
	f->msix_bar = (uint8_t)bar;
	set_wmask(f, at + 2, 2, MSIX_ENABLE | MSIX_FMASK);
	for (unsigned i = 0; i < n; i++)
		f->msix[i].ctrl = 1;			/* every vector starts masked */
	return 0;
}

void vpci_set_intx_pin(struct vpci_func *f, unsigned pin)
{
	f->cfg[CFG_INT_PIN] = (uint8_t)pin;
}

bool vpci_bus_master(const struct vpci_func *f)
{
	return rd16(f->cfg + CFG_COMMAND) & CMD_MASTER;
}

/* ---- BAR placement ---- */

static uint64_t bar_address(const struct vpci_func *f, unsigned n)
{
	const struct vpci_bar *b = &f->bar[n];
	uint64_t a = rd32(f->cfg + CFG_BAR0 + 4 * n);

	if (b->type == VPCI_BAR_IO)
		return a & ~3ULL;
	a &= ~0xfULL;
	if (b->type == VPCI_BAR_MEM64)
		a |= (uint64_t)rd32(f->cfg + CFG_BAR0 + 4 * (n + 1)) << 32;
	return a;
}

uint64_t vpci_bar_addr(const struct vpci_func *f, unsigned n)
{
	return n < 6 && f->bar[n].type ? bar_address(f, n) : 0;
}

/*
 * Enable the BAR's range where the guest put it, if its kind of decoding
 * is on and the address is plausible; otherwise disable it. Lock held.
 */
static void place_bar(struct vpci_func *f, unsigned n)
{
	struct vpci_bar *b = &f->bar[n];
	uint16_t cmd = rd16(f->cfg + CFG_COMMAND);
	uint64_t a = bar_address(f, n);
	bool on;

	if (b->type == VPCI_BAR_NONE || b->handle < 0)
		return;
	if (b->type == VPCI_BAR_IO) {
		on = (cmd & CMD_IO) && a && a + b->size <= 0x10000;
		if (vdev_pio_move(f->dev->vm, b->handle, on ? (uint16_t)a : 0, on))
			vdev_pio_move(f->dev->vm, b->handle, 0, false);
	} else {
		on = (cmd & CMD_MEM) && a && a + b->size > a;
		if (vdev_mmio_move(f->dev->vm, b->handle, on ? a : 0, on))
			vdev_mmio_move(f->dev->vm, b->handle, 0, false);
	}
}

/* ---- MSI-X table and PBA ---- */

static int msix_read(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t *val);
static int msix_write(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t val);
static const struct vdev_mmio_ops msix_ops = { .read = msix_read, .write = msix_write };

/* The function whose MSI-X BAR the access hit (a PCI device has one function). */
static struct vpci_func *msix_owner(struct vdev *d, uint64_t addr, unsigned *bar)
{
	struct vpci_func *f = vdev_pci_func(d);

	*bar = f->msix_bar;
	(void)addr;
	return f;
}

static uint64_t msix_base(const struct vpci_func *f)
{
	return bar_address(f, f->msix_bar);
}

static int msix_read(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t *val)
{
	unsigned bar;
	struct vpci_func *f = msix_owner(d, addr, &bar);
	uint64_t off = addr - msix_base(f);
	unsigned long flags = spin_lock_irqsave(&f->lock);

	(void)v;
	*val = 0;
	if (off < 0x800 && off / 16 < f->msix_n) {
		const struct vpci_msix_entry *e = &f->msix[off / 16];
		uint8_t raw[16];

		wr32(raw, (uint32_t)e->addr);
		wr32(raw + 4, (uint32_t)(e->addr >> 32));
		wr32(raw + 8, e->data);
		wr32(raw + 12, e->ctrl);
		for (unsigned i = 0; i < size && (off % 16) + i < 16; i++)
			*val |= (uint64_t)raw[off % 16 + i] << (8 * i);
	} else if (off >= 0x800 && off < 0x808) {
		*val = (f->msix_pending >> (8 * (off - 0x800))) &
		       (size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1);
	}
	spin_unlock_irqrestore(&f->lock, flags);
	return 0;
}

/* Send a pending MSI-X vector whose mask was just cleared. Lock held; returns the message. */
static bool msix_unmasked(struct vpci_func *f, unsigned i, uint64_t *addr, uint32_t *data)
{
	uint16_t ctl = rd16(f->cfg + f->msix_cap + 2);

	if (!(f->msix_pending & (1ULL << i)) || (f->msix[i].ctrl & 1) || !(ctl & MSIX_ENABLE) ||
	    (ctl & MSIX_FMASK))
		return false;
	f->msix_pending &= ~(1ULL << i);
	*addr = f->msix[i].addr;
	*data = f->msix[i].data;
	return true;
}

static int msix_write(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t val)
{
	unsigned bar;
	struct vpci_func *f = msix_owner(d, addr, &bar);
	uint64_t off = addr - msix_base(f), maddr = 0;
	unsigned long flags;
	uint32_t mdata = 0;
	bool send = false;

	(void)v;
	if (off >= 0x800 || off / 16 >= f->msix_n || (size != 4 && size != 8) || (off & 3))
		return 0;	/* the PBA is read-only; odd accesses are ignored */
	flags = spin_lock_irqsave(&f->lock);
	for (unsigned i = 0; i < size; i += 4) {
		struct vpci_msix_entry *e = &f->msix[(off + i) / 16];
		uint32_t w = (uint32_t)(val >> (8 * i));

		switch ((off + i) % 16) {
		case 0: e->addr = (e->addr & ~0xffffffffULL) | w; break;
		case 4: e->addr = (e->addr & 0xffffffffULL) | (uint64_t)w << 32; break;
		case 8: e->data = w; break;
		case 12:
			e->ctrl = w & 1;
			send = msix_unmasked(f, (unsigned)((off + i) / 16), &maddr, &mdata);
			break;
		}
	}
	spin_unlock_irqrestore(&f->lock, flags);
	if (send)
		vm_msi(d->vm, maddr, mdata);
	return 0;
}

/* ---- notification ---- */

void vpci_notify(struct vpci_func *f, unsigned vector)
{
	unsigned long flags = spin_lock_irqsave(&f->lock);
	uint64_t addr = 0;
	uint32_t data = 0;
	bool send = false, intx = false;

	f->notifies++;
	if (f->msix_cap && (rd16(f->cfg + f->msix_cap + 2) & MSIX_ENABLE)) {
		if (vector < f->msix_n) {
			f->msix_pending |= 1ULL << vector;
			send = msix_unmasked(f, vector, &addr, &data);
		}
	} else if (f->msi_cap && (rd16(f->cfg + f->msi_cap + 2) & MSI_ENABLE)) {
		if (rd32(f->cfg + f->msi_cap + 16) & 1) {
			f->msi_pending = true;	/* masked: held until unmasked */
			f->cfg[f->msi_cap + 20] |= 1;	/* the Pending Bits register shows it */
		} else {
			addr = rd32(f->cfg + f->msi_cap + 4) |
			       (uint64_t)rd32(f->cfg + f->msi_cap + 8) << 32;
			data = rd16(f->cfg + f->msi_cap + 12);
			send = true;
		}
	} else if (f->cfg[CFG_INT_PIN]) {
		f->intx_level = true;
		wr16(f->cfg + CFG_STATUS, rd16(f->cfg + CFG_STATUS) | STS_INTX);
		intx = !(rd16(f->cfg + CFG_COMMAND) & CMD_INTX_OFF);
	}
	spin_unlock_irqrestore(&f->lock, flags);
	if (send && vpci_bus_master(f))
		vm_msi(f->dev->vm, addr, data);	/* an MSI is a memory write: it needs mastering */
	if (intx)
		vm_gsi(f->dev->vm, f->intx_gsi, true);
}

void vpci_intx_deassert(struct vpci_func *f)
{
	unsigned long flags = spin_lock_irqsave(&f->lock);
	bool was = f->intx_level;

	f->intx_level = false;
	wr16(f->cfg + CFG_STATUS, rd16(f->cfg + CFG_STATUS) & ~STS_INTX);
	spin_unlock_irqrestore(&f->lock, flags);
	if (was)
		vm_gsi(f->dev->vm, f->intx_gsi, false);
}

/* ---- configuration access (from the bus) ---- */

uint32_t vpci_cfg_read(struct vpci_func *f, unsigned off, unsigned size)
{
	unsigned long flags = spin_lock_irqsave(&f->lock);
	uint32_t v = 0;

	for (unsigned i = 0; i < size && off + i < VPCI_CFG_SIZE; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	spin_unlock_irqrestore(&f->lock, flags);
	return v;
}

/* Side effects of a write that touched [off, off + size). Lock held; may send an MSI. */
static bool after_write(struct vpci_func *f, unsigned off, unsigned size, uint64_t *addr,
			uint32_t *data, int *intx)
{
	bool send = false;

	if (off < CFG_COMMAND + 2 && off + size > CFG_COMMAND) {
		uint16_t cmd = rd16(f->cfg + CFG_COMMAND);

		for (unsigned n = 0; n < 6; n++)
			place_bar(f, n);
		if (f->intx_level)
			*intx = !(cmd & CMD_INTX_OFF);
	}
	for (unsigned n = 0; n < 6; n++) {
		unsigned lo = CFG_BAR0 + 4 * n, hi = lo + (f->bar[n].type == VPCI_BAR_MEM64 ? 8 : 4);

		if (f->bar[n].type && off < hi && off + size > lo)
			place_bar(f, n);
	}
	if (f->msi_cap && f->msi_pending && off < f->msi_cap + 24u && off + size > f->msi_cap &&
	    (rd16(f->cfg + f->msi_cap + 2) & MSI_ENABLE) && !(rd32(f->cfg + f->msi_cap + 16) & 1)) {
		f->msi_pending = false;
		f->cfg[f->msi_cap + 20] &= (uint8_t)~1;
		*addr = rd32(f->cfg + f->msi_cap + 4) | (uint64_t)rd32(f->cfg + f->msi_cap + 8) << 32;
		*data = rd16(f->cfg + f->msi_cap + 12);
		send = true;
	}
	return send;
}

/*
 * After the guest enabled MSI-X or cleared its function mask: send every
 * vector that became pending meanwhile and is not masked on its own.
 */
static void msix_flush(struct vpci_func *f)
{
	for (unsigned i = 0; i < f->msix_n; i++) {
		unsigned long flags = spin_lock_irqsave(&f->lock);
		uint64_t addr;
		uint32_t data;
		bool send = msix_unmasked(f, i, &addr, &data);

		spin_unlock_irqrestore(&f->lock, flags);
		if (send && vpci_bus_master(f))
			vm_msi(f->dev->vm, addr, data);
	}
}

void vpci_cfg_write(struct vpci_func *f, unsigned off, unsigned size, uint32_t val)
{
	unsigned long flags = spin_lock_irqsave(&f->lock);
	uint64_t addr = 0;
	uint32_t data = 0;
	int intx = -1;
	bool send;

	for (unsigned i = 0; i < size && off + i < 256; i++) {
		uint8_t m = f->wmask[off + i], b = (uint8_t)(val >> (8 * i));

		f->cfg[off + i] = (uint8_t)((f->cfg[off + i] & ~m) | (b & m));
	}
	send = after_write(f, off, size, &addr, &data, &intx);
	spin_unlock_irqrestore(&f->lock, flags);
	if (send && vpci_bus_master(f))
		vm_msi(f->dev->vm, addr, data);
	if (intx >= 0)
		vm_gsi(f->dev->vm, f->intx_gsi, intx);
	if (f->msix_cap && off < f->msix_cap + 4u && off + size > f->msix_cap + 2u)
		msix_flush(f);
}

/* Register the function's BARs on the device bus (disabled until the guest places them). */
int vpci_func_attach(struct vpci_func *f)
{
	for (unsigned n = 0; n < 6; n++) {
		struct vpci_bar *b = &f->bar[n];
		int h;

		if (!b->type)
			continue;
		if (b->type == VPCI_BAR_IO)
			h = vdev_pio_register(f->dev, 0, (uint16_t)b->size, b->pio, false);
		else
			h = vdev_mmio_register(f->dev, 0, b->size, b->msix ? &msix_ops : b->mmio,
					       false);
		if (h < 0)
			return h;
		b->handle = h;
	}
	return 0;
}
