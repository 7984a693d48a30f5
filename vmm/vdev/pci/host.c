/*
 * The PCI host bridge of the PC machine: bus 0 of segment 0, reached two
 * ways (PCI Local Bus 3.0 3.2.2.3.2; PCI Express Base 7.2.2):
 *
 *  - configuration mechanism #1: a 32-bit write of (enable, bus, device,
 *    function, register) to port 0xcf8, then data at 0xcfc-0xcff. Only
 *    a 32-bit access to 0xcf8 reaches CONFIG_ADDRESS; a byte at 0xcf9 is
 *    the chipset's reset control register (vdev/reset.c), as on a PIIX.
 *  - ECAM: a memory window (the ACPI MCFG table gives its base) in which
 *    bus << 20 | device << 15 | function << 12 | register addresses
 *    4 KiB of configuration space per function.
 *
 * Function 00:00.0 is the host bridge itself (an i440FX-compatible one,
 * 8086:1237, as QEMU's PC machine has). Other functions are the device
 * models that registered (vpci_register); absent ones read as all ones.
 * Only bus 0 exists; other buses read as absent.
 */
#include <errno.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>
#include <vmm/vpci.h>

struct vdev_pci_host {
	struct vdev dev;
	struct vpci_func self;			/* 00:00.0 */
	struct vpci_func *slots[VPCI_MAX_SLOTS];	/* fixed before vCPUs run */
	uint32_t config_address;		/* atomic */
	uint64_t ecam_base;
	unsigned buses;
};

void vdev_reset_control_write(struct vm *vm, struct vcpu *v, uint8_t val);

static struct vpci_func *lookup(struct vdev_pci_host *h, unsigned bus, unsigned slot,
				unsigned fn)
{
	if (bus != 0 || fn != 0 || slot >= VPCI_MAX_SLOTS)
		return NULL;	/* single-function devices on bus 0 only */
	return h->slots[slot];
}

static uint32_t cfg_read(struct vdev_pci_host *h, unsigned bus, unsigned slot, unsigned fn,
			 unsigned reg, unsigned size)
{
	struct vpci_func *f = lookup(h, bus, slot, fn);

	if (!f)
		return size == 4 ? 0xffffffffU : (1U << (8 * size)) - 1;
	return vpci_cfg_read(f, reg, size);
}

static void cfg_write(struct vdev_pci_host *h, unsigned bus, unsigned slot, unsigned fn,
		      unsigned reg, unsigned size, uint32_t val)
{
	struct vpci_func *f = lookup(h, bus, slot, fn);

	if (f)
		vpci_cfg_write(f, reg, size, val);
}

/* ---- mechanism #1 ---- */

static uint32_t cf8_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_pci_host *h = (struct vdev_pci_host *)d;
	uint32_t a = __atomic_load_n(&h->config_address, __ATOMIC_ACQUIRE);

	(void)v;
	if (port == 0xcf8 && size == 4)
		return a;
	if (port >= 0xcfc) {
		if (!(a & (1U << 31)))
			return size == 4 ? 0xffffffffU : (1U << (8 * size)) - 1;
		return cfg_read(h, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
				(a & 0xfc) + (port - 0xcfc), size);
	}
	return size == 4 ? 0xffffffffU : (1U << (8 * size)) - 1;	/* 0xcf8-0xcfb bytes */
}

static void cf8_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_pci_host *h = (struct vdev_pci_host *)d;
	uint32_t a;

	if (port == 0xcf8 && size == 4) {
		__atomic_store_n(&h->config_address, val & 0x80fffffcU, __ATOMIC_RELEASE);
	} else if (port == 0xcf9 && size == 1) {
		vdev_reset_control_write(d->vm, v, (uint8_t)val);
	} else if (port >= 0xcfc) {
		a = __atomic_load_n(&h->config_address, __ATOMIC_ACQUIRE);
		if (a & (1U << 31))
			cfg_write(h, (a >> 16) & 0xff, (a >> 11) & 0x1f, (a >> 8) & 7,
				  (a & 0xfc) + (port - 0xcfc), size, val);
	}
}

static const struct vdev_pio_ops cf8_ops = { .in = cf8_in, .out = cf8_out };

/* ---- ECAM ---- */

static int ecam_read(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t *val)
{
	struct vdev_pci_host *h = (struct vdev_pci_host *)d;
	uint64_t off = addr - h->ecam_base;

	(void)v;
	if (size > 4 || (off & (size - 1))) {
		*val = ~0ULL;	/* only naturally aligned accesses up to 32 bits reach a function */
		return 0;
	}
	*val = cfg_read(h, (unsigned)(off >> 20), (off >> 15) & 0x1f, (off >> 12) & 7,
			off & 0xfff, size);
	return 0;
}

static int ecam_write(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t val)
{
	struct vdev_pci_host *h = (struct vdev_pci_host *)d;
	uint64_t off = addr - h->ecam_base;

	(void)v;
	if (size <= 4 && !(off & (size - 1)))
		cfg_write(h, (unsigned)(off >> 20), (off >> 15) & 0x1f, (off >> 12) & 7,
			  off & 0xfff, size, (uint32_t)val);
	return 0;
}

static const struct vdev_mmio_ops ecam_ops = { .read = ecam_read, .write = ecam_write };

int vpci_register(struct vm *vm, struct vpci_func *f, unsigned slot)
{
	struct vdev *d = vdev_find(vm, "pci");
	struct vdev_pci_host *h = (struct vdev_pci_host *)d;
	int err;

	if (!d)
		return -ENODEV;
	if (!slot) {
		for (slot = 1; slot < VPCI_MAX_SLOTS && h->slots[slot]; slot++)
			;
	}
	if (slot >= VPCI_MAX_SLOTS || h->slots[slot])
		return -EBUSY;
	f->slot = (uint8_t)slot;
	f->fn = 0;
	/* INTx routing as the DSDT's _PRT says: GSI 16 + (slot + pin - 1) % 4. */
	if (f->cfg[0x3d])
		f->intx_gsi = (uint8_t)(16 + (slot + f->cfg[0x3d] - 1) % 4);
	f->cfg[0x3c] = f->intx_gsi;
	err = vpci_func_attach(f);
	if (err)
		return err;
	h->slots[slot] = f;
	return 0;
}

static int host_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_pci_host *h = (struct vdev_pci_host *)d;
	int err;

	vpci_init(&h->self, d, 0x8086, 0x1237, 0x060000, 0x02);
	h->slots[0] = &h->self;
	h->ecam_base = a->mmio;
	h->buses = a->size ? (unsigned)(a->size >> 20) : 1;
	if ((err = vdev_pio_register(d, 0xcf8, 8, &cf8_ops, true)) < 0)
		return err;
	if (h->ecam_base &&
	    (err = vdev_mmio_register(d, h->ecam_base, (uint64_t)h->buses << 20, &ecam_ops,
				      true)) < 0)
		return err;
	return 0;
}

static const struct vdev_type host_type = {
	.name = "pci-host", .size = sizeof(struct vdev_pci_host), .create = host_create,
};
VDEV_TYPE(host_type);
