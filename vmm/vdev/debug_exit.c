/*
 * QEMU-style debug-exit device (isa-debug-exit, at port 0xf4 by default):
 * a write ends the VM with the written value (low 8 bits) as its exit
 * status. Test guests use it; it is part of every VM, as the issue of an
 * exit status by the guest harms no one.
 */
#include <vmm/vdev.h>
#include <vmm/vm.h>

static void debug_exit_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size,
			   uint32_t val)
{
	(void)port;
	(void)size;
	vm_exit(d->vm, (int)(val & 0xff), "vCPU %u: debug-exit port", v->id);
}

static const struct vdev_pio_ops debug_exit_ops = { .out = debug_exit_out };

static int debug_exit_create(struct vdev *d, const struct vdev_args *a)
{
	int err = vdev_pio_register(d, a->port, 4, &debug_exit_ops, true);

	return err < 0 ? err : 0;
}

static const struct vdev_type debug_exit_type = {
	.name = "debug-exit", .size = sizeof(struct vdev), .create = debug_exit_create,
};
VDEV_TYPE(debug_exit_type);
