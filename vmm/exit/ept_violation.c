/*
 * EPT violations and misconfigurations: a guest-physical access the EPT
 * does not allow. A device's MMIO range goes to its model (mmio.c); guest
 * RAM not yet backed is backed (mem/guest_mem.c); anything else stops the
 * VM, naming the address and the access.
 */
#define pr_fmt(fmt) "vmexit: " fmt
#include <errno.h>
#include <vmkernel/log.h>
#include <vmm/admission.h>
#include "exit_priv.h"

static const char *access_kind(uint64_t q)
{
	return q & EPT_QUAL_FETCH ? "instruction fetch" : q & EPT_QUAL_WRITE ? "write" : "read";
}

/*
 * Device registers reached by something other than an instruction's data
 * access: the CPU's own page walk (page tables in device memory) or event
 * delivery (an IDT, GDT or stack there). Emulating the instruction at RIP
 * against the device would hand it the wrong access, so the VM is stopped.
 */
static bool device_not_data(struct vcpu *v, const struct vdev_range *r)
{
	const struct vmexit *e = &v->exit;
	const char *what = NULL;

	if ((e->qual & EPT_QUAL_GLA_VALID) && !(e->qual & EPT_QUAL_GLA_TRANSLATION))
		what = "the guest's page tables are in";
	else if (e->idt_vectoring & INTR_INFO_VALID)
		what = "event delivery (IDT, GDT, TSS or stack) touched";
	if (!what)
		return false;
	vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
		"vCPU %u: %s the registers of %s at guest-physical %#llx (RIP %#llx): not "
		"emulated", v->id, what, r->dev->name, (unsigned long long)e->gpa,
		(unsigned long long)e->rip);
	return true;
}

enum exit_action handle_ept_violation(struct vcpu *v)
{
	struct vmexit *e = &v->exit;
	int err;
	struct vdev_range r;

	if (!guest_is_ram(v->vm, e->gpa) && vdev_mmio_lookup(v->vm, e->gpa, &r)) {
		if (device_not_data(v, &r))
			return EXIT_STOP_VM;
		if (e->qual & EPT_QUAL_FETCH) {
			vm_stop(v->vm, VMCONFIG_STOP_BAD_ACCESS, -1,
				"vCPU %u: instruction fetch from %s registers at guest-physical "
				"%#llx", v->id, r.dev->name, (unsigned long long)e->gpa);
			return EXIT_STOP_VM;
		}
		return mmio_exit(v, &r, e->gpa, e->qual & EPT_QUAL_WRITE);
	}
	err = guest_mem_fault(v->vm, e->gpa, e->qual & EPT_QUAL_WRITE);

	if (!err)
		return EXIT_RESUME;
	if (err == -EIO && vm_stopped(v->vm))
		return EXIT_STOP_VM;	/* a swap-in failed: guest_swap_in() gave the reason */
	if (err == -ENOMEM || err == -EDQUOT) {
		char why[200];

		vm_mem_refusal(v->vm, err, why, sizeof(why));
		vm_stop(v->vm, VMCONFIG_STOP_KILLED, -1, "vCPU %u: touching guest-physical %#llx: %s",
			v->id, (unsigned long long)e->gpa, why);
		return EXIT_STOP_VM;
	}
	if (e->qual & EPT_QUAL_GLA_VALID)
		vm_stop(v->vm, VMCONFIG_STOP_BAD_ACCESS, -1,
			"vCPU %u: %s of guest-physical %#llx (linear %#llx) at RIP %#llx: "
			"not guest RAM (%llu MiB) and no device there", v->id,
			access_kind(e->qual), (unsigned long long)e->gpa,
			(unsigned long long)e->gla, (unsigned long long)e->rip,
			(unsigned long long)(v->vm->ram_size >> 20));
	else
		vm_stop(v->vm, VMCONFIG_STOP_BAD_ACCESS, -1,
			"vCPU %u: %s of guest-physical %#llx at RIP %#llx: not guest RAM "
			"(%llu MiB) and no device there", v->id, access_kind(e->qual),
			(unsigned long long)e->gpa, (unsigned long long)e->rip,
			(unsigned long long)(v->vm->ram_size >> 20));
	return EXIT_STOP_VM;
}

enum exit_action handle_ept_misconfig(struct vcpu *v)
{
	char why[160] = "";

	guest_ept_check(v->vm, why, sizeof(why));
	pr_err("%s: EPT misconfiguration at guest-physical %#llx: %s\n", v->vm->name,
	       (unsigned long long)v->exit.gpa, why[0] ? why : "no bad entry found");
	vm_stop(v->vm, VMCONFIG_STOP_KILLED, -1,
		"vCPU %u: EPT misconfiguration at guest-physical %#llx (a hypervisor bug)",
		v->id, (unsigned long long)v->exit.gpa);
	return EXIT_STOP_VM;
}
