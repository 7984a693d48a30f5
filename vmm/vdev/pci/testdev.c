/*
 * A PCI test device (test.pcidev = "TRUE" in a VM's configuration): a
 * function with every kind of BAR and interrupt a driver meets, so test
 * guests can exercise the PCI bus model (vdev/pci/) without a real driver.
 *
 * Identity 1234:5678 (the placeholder vendor ID emulators use for test
 * devices), class "other system peripheral" (0x088000).
 *   BAR0  4 KiB memory: +0x00 "VMKT" (read-only), +0x04 scratch,
 *         +0x08 doorbell (write n: interrupt for MSI-X vector n, or MSI,
 *         or INTx), +0x0c INTx acknowledge (any write drops INTx),
 *         +0x10 doorbells rung so far (read-only)
 *   BAR1  16 I/O ports: +0 scratch (32 bits), +4 the same "VMKT"
 *   BAR2  4 KiB memory: the MSI-X table (4 vectors) and its PBA
 *   MSI capability (64-bit, maskable), MSI-X capability, INTA.
 */
#include <errno.h>
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>
#include <vmm/vpci.h>

#define TESTDEV_ID	0x544b4d56U	/* "VMKT" */

struct vdev_pci_test {
	struct vdev dev;
	struct vpci_func f;
	uint32_t scratch, io_scratch;	/* atomic */
	uint32_t rings;			/* atomic */
};

static int mem_read(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t *val)
{
	struct vdev_pci_test *t = (struct vdev_pci_test *)d;
	uint64_t off = addr - vpci_bar_addr(&t->f, 0);

	(void)v;
	(void)size;
	switch (off) {
	case 0x00: *val = TESTDEV_ID; break;
	case 0x04: *val = __atomic_load_n(&t->scratch, __ATOMIC_RELAXED); break;
	case 0x10: *val = __atomic_load_n(&t->rings, __ATOMIC_RELAXED); break;
	default: *val = 0;
	}
	return 0;
}

static int mem_write(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t val)
{
	struct vdev_pci_test *t = (struct vdev_pci_test *)d;
	uint64_t off = addr - vpci_bar_addr(&t->f, 0);

	(void)v;
	(void)size;
	if (off == 0x04) {
		__atomic_store_n(&t->scratch, (uint32_t)val, __ATOMIC_RELAXED);
	} else if (off == 0x08) {
		__atomic_fetch_add(&t->rings, 1, __ATOMIC_RELAXED);
		vpci_notify(&t->f, (unsigned)val);
	} else if (off == 0x0c) {
		vpci_intx_deassert(&t->f);
	}
	return 0;
}

static const struct vdev_mmio_ops mem_ops = { .read = mem_read, .write = mem_write };

static uint32_t io_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_pci_test *t = (struct vdev_pci_test *)d;
	unsigned off = port - (unsigned)vpci_bar_addr(&t->f, 1);
	uint32_t word = off < 4 ? __atomic_load_n(&t->io_scratch, __ATOMIC_RELAXED) :
			off < 8 ? TESTDEV_ID : 0xffffffffU;

	(void)v;
	return word >> (8 * (off & 3)) & (size == 4 ? 0xffffffffU : (1U << (8 * size)) - 1);
}

static void io_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_pci_test *t = (struct vdev_pci_test *)d;
	unsigned off = port - (unsigned)vpci_bar_addr(&t->f, 1);

	(void)v;
	if (off == 0 && size == 4)
		__atomic_store_n(&t->io_scratch, val, __ATOMIC_RELAXED);
}

static const struct vdev_pio_ops io_ops = { .in = io_in, .out = io_out };

static int testdev_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_pci_test *t = (struct vdev_pci_test *)d;
	int err;

	(void)a;
	vpci_init(&t->f, d, 0x1234, 0x5678, 0x088000, 1);
	vpci_set_subsystem(&t->f, 0x1234, 0x0001);
	if ((err = vpci_add_bar(&t->f, 0, VPCI_BAR_MEM32, 4096, &mem_ops)) ||
	    (err = vpci_add_bar(&t->f, 1, VPCI_BAR_IO, 16, &io_ops)) ||
	    (err = vpci_add_msix(&t->f, 4, 2)) || (err = vpci_add_msi(&t->f)))
		return err;
	vpci_set_intx_pin(&t->f, 1);
	return vpci_register(d->vm, &t->f, a->irq);	/* .irq: the slot, 0 for any */
}

static const struct vdev_type testdev_type = {
	.name = "pci-testdev", .size = sizeof(struct vdev_pci_test), .create = testdev_create,
};
VDEV_TYPE(testdev_type);
