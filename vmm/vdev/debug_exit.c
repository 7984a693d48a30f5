/*
 * QEMU-style debug-exit device at port 0xf4: a write ends the VM with the
 * written value (low 8 bits) as its exit status. Test guests use it.
 */
#include <vmm/vdev.h>
#include <vmm/vm.h>

static void debug_exit_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	(void)port;
	(void)size;
	vm_exit(v->vm, (int)(val & 0xff), "vCPU %u: debug-exit port", v->id);
}

static const struct vdev_pio debug_exit = {
	.name = "debug-exit", .base = 0xf4, .count = 4, .in = NULL, .out = debug_exit_out,
};
VDEV_PIO(debug_exit);
