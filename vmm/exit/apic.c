/*
 * Exits of the CPU's APIC virtualization (vmm/vdev/lapic.c has the model):
 *
 *  - APIC access: the guest touched the xAPIC page in a way the CPU does
 *    not virtualize (reading the timer's current count, an unaligned or
 *    odd-sized access): the instruction is emulated against the local
 *    APIC, as without virtualization;
 *  - APIC write: trap-like, after the CPU stored a write to a register it
 *    does not virtualize itself (ICR, LVTs, timer, SVR, ...): the model
 *    acts on the value now in the virtual-APIC page;
 *  - virtualized EOI: the guest retired a vector whose bit is set in the
 *    EOI-exit bitmap (level-triggered): the IOAPIC hears of it;
 *  - TPR below threshold: nothing to do, the next entry looks again.
 */
#include <vmm/vdev.h>
#include <vmm/vlapic.h>
#include <vmm/vmx.h>
#include <vmm/vmx_decode.h>
#include "exit_priv.h"

enum exit_action handle_apic_access(struct vcpu *v)
{
	struct vmx_apic_access a;
	struct vdev_range r;
	uint64_t gpa;

	if (vmx_decode_apic_access(v->exit.qual, &a) ||
	    (a.type != VMX_APIC_LINEAR_READ && a.type != VMX_APIC_LINEAR_WRITE)) {
		vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
			"vCPU %u: APIC-page access of kind %u at RIP %#llx (instruction fetch or "
			"event delivery through the local APIC page)", v->id,
			(unsigned)(v->exit.qual >> 12) & 0xf, (unsigned long long)v->exit.rip);
		return EXIT_STOP_VM;
	}
	gpa = (vlapic_get_base(&v->lapic) & ~0xfffULL) + a.offset;
	if (!vdev_mmio_lookup(v->vm, gpa, &r)) {
		vm_stop(v->vm, VMCONFIG_STOP_KILLED, -1,
			"vCPU %u: APIC-access exit but no local APIC on the bus (a hypervisor bug)",
			v->id);
		return EXIT_STOP_VM;
	}
	return mmio_exit(v, &r, gpa, a.type == VMX_APIC_LINEAR_WRITE);
}

enum exit_action handle_apic_write(struct vcpu *v)
{
	if (vlapic_write_trap(&v->lapic, (uint32_t)(v->exit.qual & 0xff0)))
		return handle_inject_gp(v);	/* only an x2APIC register can refuse a write */
	return EXIT_RESUME;	/* trap-like: RIP is already past the write */
}

enum exit_action handle_virtualized_eoi(struct vcpu *v)
{
	vlapic_eoi_vector(&v->lapic, (uint8_t)v->exit.qual);
	return EXIT_RESUME;
}

enum exit_action handle_tpr_below_threshold(struct vcpu *v)
{
	(void)v;
	return EXIT_RESUME;
}
