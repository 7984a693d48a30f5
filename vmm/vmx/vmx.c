/*
 * VMX operation on every CPU: VMXON at boot (INIT_VMM), VMXOFF when a CPU
 * stops (panic or shutdown), and the error reporting behind the VMCS
 * accessors of vmx.h.
 *
 * Each CPU gets a VMXON region (one page, revision id from
 * IA32_VMX_BASIC), sets CR0/CR4 to the fixed values the capability MSRs
 * demand (CR4.VMXE among them) and enters VMX root operation. A CPU on
 * which this fails keeps running the vmkernel but gets no vCPUs.
 */
#define pr_fmt(fmt) "vmx: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/smp.h>
#include <vmkernel/trap.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vcpu.h>
#include <vmm/vcpu_fpu.h>
#include <vmm/vm.h>
#include "vmx_priv.h"

static const char *const insn_errors[] = {
	[VMXERR_VMCALL_IN_ROOT] = "VMCALL in VMX root operation",
	[VMXERR_VMCLEAR_INVALID_ADDR] = "VMCLEAR with invalid physical address",
	[VMXERR_VMCLEAR_VMXON_PTR] = "VMCLEAR with VMXON pointer",
	[VMXERR_VMLAUNCH_NONCLEAR] = "VMLAUNCH with non-clear VMCS",
	[VMXERR_VMRESUME_NONLAUNCHED] = "VMRESUME with non-launched VMCS",
	[VMXERR_VMRESUME_AFTER_VMXOFF] = "VMRESUME after VMXOFF",
	[VMXERR_ENTRY_INVALID_CONTROLS] = "VM entry with invalid control field(s)",
	[VMXERR_ENTRY_INVALID_HOST_STATE] = "VM entry with invalid host-state field(s)",
	[VMXERR_VMPTRLD_INVALID_ADDR] = "VMPTRLD with invalid physical address",
	[VMXERR_VMPTRLD_VMXON_PTR] = "VMPTRLD with VMXON pointer",
	[VMXERR_VMPTRLD_BAD_REVISION] = "VMPTRLD with incorrect VMCS revision identifier",
	[VMXERR_UNSUPPORTED_FIELD] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[VMXERR_VMWRITE_READ_ONLY] = "VMWRITE to read-only VMCS component",
	[VMXERR_VMXON_IN_ROOT] = "VMXON executed in VMX root operation",
	[VMXERR_ENTRY_MOV_SS_BLOCKING] = "VM entry with events blocked by MOV SS",
	[VMXERR_INVALID_INVEPT_OPERAND] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_instruction_error_str(unsigned err)
{
	if (err < sizeof(insn_errors) / sizeof(insn_errors[0]) && insn_errors[err])
		return insn_errors[err];
	return "unknown VM-instruction error";
}

static unsigned current_insn_error(void)
{
	uint64_t err = 0;

	if (vmcs_read_safe(VMCS_VM_INSTRUCTION_ERROR, &err))
		return 0;	/* no current VMCS: VMfailInvalid */
	return (unsigned)err;
}

uint64_t vmcs_read_checked(uint32_t field, const char *name, const char *caller)
{
	uint64_t v = 0;

	if (vmcs_read_safe(field, &v)) {
		unsigned err = current_insn_error();

		pr_err("VMREAD %s (%#x) failed in %s: error %u (%s)\n", name, field, caller, err,
		       err ? vmx_instruction_error_str(err) : "no current VMCS");
		return 0;
	}
	return v;
}

void vmcs_write_checked(uint32_t field, uint64_t val, const char *name, const char *caller)
{
	if (vmcs_write_safe(field, val)) {
		unsigned err = current_insn_error();

		pr_err("VMWRITE %s (%#x) = %#llx failed in %s: error %u (%s)\n", name, field,
		       (unsigned long long)val, caller, err,
		       err ? vmx_instruction_error_str(err) : "no current VMCS");
	}
}

/* Allocate a zeroed VMXON/VMCS region carrying the revision identifier. */
uint64_t vmx_alloc_region(void)
{
	const struct vmx_caps *caps = vmx_host_caps();
	uint64_t pa = page_alloc(0);

	if (!pa)
		return 0;
	memset(phys_to_virt(pa), 0, PAGE_SIZE_4K);
	*(uint32_t *)phys_to_virt(pa) = caps->revision_id;
	return pa;
}

static void vmxon_cpu(void *arg)
{
	const struct vmx_caps *caps = this_cpu()->vmx;
	struct vmm_cpu *vc = arg;
	unsigned long cr0 = read_cr0(), cr4 = read_cr4();

	vc += this_cpu_id();
	if (!this_cpu()->vmx_ok)
		return;
	cr4 |= X86_CR4_VMXE | X86_CR4_OSFXSR | (1UL << 10);	/* OSXMMEXCPT */
	cr0 = (cr0 | caps->cr0_fixed0) & caps->cr0_fixed1;
	cr4 = (cr4 | caps->cr4_fixed0) & caps->cr4_fixed1;
	write_cr0(cr0);
	write_cr4(cr4);
	if (vmx_on(vc->vmxon_pa)) {
		vc->error = "VMXON failed";
		this_cpu()->vmx_ok = false;
		return;
	}
	vc->vmx_on = true;
	vcpu_fpu_cpu_init();
	this_cpu()->vmm = vc;
}

/* A kick (vcpu_kick): the interrupt itself made the vCPU exit; nothing else to do. */
static void vcpu_kick_ipi(struct trap_frame *tf)
{
	(void)tf;
}

static struct vmm_cpu vmm_cpus[CONFIG_MAX_CPUS];

struct vmm_cpu *vmm_this_cpu(void)
{
	return this_cpu()->vmm;
}

static void vmxoff_on_stop(void)
{
	struct vmm_cpu *vc = this_cpu() ? this_cpu()->vmm : NULL;

	if (vc && vc->vmx_on) {
		vc->vmx_on = false;
		vmx_off();
	}
}

static int vmx_init(void)
{
	unsigned on = 0, want = 0;

	if (!vmx_host_usable())
		return 0;	/* the discovery already said why */
	for (unsigned i = 0; i < pcpu_count; i++) {
		if (!pcpu_array[i].online || !pcpu_array[i].vmx_ok)
			continue;
		want++;
		vmm_cpus[i].vmxon_pa = vmx_alloc_region();
		if (!vmm_cpus[i].vmxon_pa)
			return -ENOMEM;
	}
	irq_register(VEC_VCPU_KICK, vcpu_kick_ipi);
	smp_call_all(vmxon_cpu, vmm_cpus);
	for (unsigned i = 0; i < pcpu_count; i++) {
		if (vmm_cpus[i].vmx_on)
			on++;
		else if (vmm_cpus[i].error)
			pr_err("CPU %u: %s; it will run no vCPUs\n", i, vmm_cpus[i].error);
	}
	panic_register_stop_hook(vmxoff_on_stop);
	pr_dbg("CR0 fixed0 %#llx fixed1 %#llx, CR4 fixed0 %#llx fixed1 %#llx\n",
	       (unsigned long long)vmx_host_caps()->cr0_fixed0,
	       (unsigned long long)vmx_host_caps()->cr0_fixed1,
	       (unsigned long long)vmx_host_caps()->cr4_fixed0,
	       (unsigned long long)vmx_host_caps()->cr4_fixed1);
	pr_info("VMX root operation on %u of %u CPUs\n", on, want);
	return on ? 0 : -ENODEV;
}
INIT_LEVEL(vmx_init, INIT_VMM);

/*
 * Drop the guest translations this CPU caches for v (its VPID), as the
 * CPU's own MOV to CR0/CR4 or INIT would. Without VPID every VM entry
 * and exit flushes already.
 */
void vcpu_flush_guest_tlb(struct vcpu *v)
{
	const struct vmx_caps *caps = vmx_host_caps();

	if (!caps->vpid)
		return;
	if (caps->invvpid_single)
		invvpid(INVVPID_SINGLE_CONTEXT, vm_vpid(v->vm, v->id), 0);
	else
		invvpid(INVVPID_ALL_CONTEXT, 0, 0);
}
