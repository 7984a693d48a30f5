/*
 * The ways a PC's software resets it, other than ACPI (vdev/acpi_pm.c):
 *
 *  - the keyboard controller's "pulse reset line" command: 0xfe to port
 *    0x64. There is no PS/2 controller otherwise: ports 0x60 and 0x64
 *    read as all ones (no controller), which drivers take as "none";
 *  - port 0x92 (system control port A): bit 1 is the A20 gate, which
 *    reads back as written (A20 is always enabled); a 0 -> 1 change of
 *    bit 0 resets;
 *  - port 0xcf9 (reset control, PIIX): bit 2 set resets (bits 1 and 3
 *    choose hard/full resets, which here are the same thing). The PCI
 *    host bridge owns 0xcf8-0xcff and passes the byte at 0xcf9 here.
 *
 * A reset ends or restarts the VM as its guest.reboot key says.
 */
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>

struct vdev_reset {
	struct vdev dev;
	uint8_t port92;		/* atomic */
};

static uint32_t reset_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_reset *r = (struct vdev_reset *)d;

	(void)v;
	(void)size;
	if (port == 0x92)
		return __atomic_load_n(&r->port92, __ATOMIC_RELAXED) | 0x02;
	return 0xff;
}

static void reset_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_reset *r = (struct vdev_reset *)d;
	uint8_t old;

	(void)size;
	if (port == 0x64 && (val & 0xff) == 0xfe) {
		vm_guest_reset(d->vm, "vCPU %u: keyboard controller reset (port 0x64)", v->id);
	} else if (port == 0x92) {
		old = __atomic_exchange_n(&r->port92, (uint8_t)(val & 0x03), __ATOMIC_RELAXED);
		if ((val & 1) && !(old & 1))
			vm_guest_reset(d->vm, "vCPU %u: fast reset (port 0x92)", v->id);
	}
}

static const struct vdev_pio_ops reset_ops = { .in = reset_in, .out = reset_out,
					       .byte_wide = true };

/* The reset control register at 0xcf9, reached through the PCI host bridge. */
void vdev_reset_control_write(struct vm *vm, struct vcpu *v, uint8_t val);
void vdev_reset_control_write(struct vm *vm, struct vcpu *v, uint8_t val)
{
	if (val & 0x04)
		vm_guest_reset(vm, "vCPU %u: reset control register (port 0xcf9 <- %#x)", v->id,
			       val);
}

static int reset_create(struct vdev *d, const struct vdev_args *a)
{
	int err;

	(void)a;
	if ((err = vdev_pio_register(d, 0x60, 1, &reset_ops, true)) < 0 ||
	    (err = vdev_pio_register(d, 0x64, 1, &reset_ops, true)) < 0 ||
	    (err = vdev_pio_register(d, 0x92, 1, &reset_ops, true)) < 0)
		return err;
	return 0;
}

static void reset_reset(struct vdev *d)
{
	struct vdev_reset *r = (struct vdev_reset *)d;

	r->port92 = 0;
}

static const struct vdev_type reset_type = {
	.name = "pc-reset", .size = sizeof(struct vdev_reset),
	.create = reset_create, .reset = reset_reset,
};
VDEV_TYPE(reset_type);
