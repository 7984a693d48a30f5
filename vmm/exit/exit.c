/*
 * VM-exit decoding and dispatch.
 *
 * vmexit_decode() reads everything a handler may need from the VMCS once,
 * into vcpu->exit. vmexit_dispatch() indexes a static table by the basic
 * exit reason; a reason without a handler (or out of range) goes to one
 * place that logs the decoded exit and stops the VM. Handlers return an
 * enum exit_action and never panic the host on guest behaviour.
 */
#define pr_fmt(fmt) "vmexit: " fmt
#include <vmkernel/log.h>
#include <vmm/vmx.h>
#include "exit_priv.h"

/*
 * Read what the handlers need, once. Fields that only some exits define
 * are read only for those exits: every VMREAD is on the path of every
 * exit of that kind.
 */
void vmexit_decode(struct vcpu *v)
{
	struct vmexit *e = &v->exit;
	uint32_t reason = vmcs_read32(VMCS_EXIT_REASON);

	e->reason = reason & EXIT_REASON_BASIC_MASK;
	e->entry_failure = reason & EXIT_REASON_ENTRY_FAILURE;
	e->qual = vmcs_readnat(VMCS_EXIT_QUALIFICATION);
	e->insn_len = vmcs_read32(VMCS_EXIT_INSTRUCTION_LEN);
	e->rip = vmcs_readnat(VMCS_GUEST_RIP);
	e->rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	e->idt_vectoring = vmcs_read32(VMCS_IDT_VECTORING_INFO);
	if (e->idt_vectoring & INTR_INFO_VALID)
		e->idt_error = vmcs_read32(VMCS_IDT_VECTORING_ERROR_CODE);
	switch (e->reason) {
	case EXIT_REASON_EXCEPTION_NMI:
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		e->intr_info = vmcs_read32(VMCS_EXIT_INTR_INFO);
		e->intr_error = vmcs_read32(VMCS_EXIT_INTR_ERROR_CODE);
		break;
	case EXIT_REASON_EPT_VIOLATION:
	case EXIT_REASON_EPT_MISCONFIG:
		e->gpa = vmcs_read64(VMCS_GUEST_PHYSICAL_ADDRESS);
		e->gla = vmcs_readnat(VMCS_GUEST_LINEAR_ADDRESS);
		break;
	case EXIT_REASON_IO_INSTRUCTION:
		e->insn_info = vmcs_read32(VMCS_EXIT_INSTRUCTION_INFO);
		break;
	}
}

static enum exit_action handle_unknown(struct vcpu *v)
{
	struct vmexit *e = &v->exit;

	vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
		"vCPU %u: unhandled VM exit %u (%s) at RIP %#llx, qualification %#llx", v->id,
		e->reason, vmx_exit_reason_str(e->reason), (unsigned long long)e->rip,
		(unsigned long long)e->qual);
	return EXIT_STOP_VM;
}

static exit_handler_t const exit_handlers[EXIT_REASON_MAX + 1] = {
	[EXIT_REASON_EXCEPTION_NMI] = handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = handle_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_REASON_INIT] = handle_init_sipi,
	[EXIT_REASON_SIPI] = handle_init_sipi,
	[EXIT_REASON_INTERRUPT_WINDOW] = handle_interrupt_window,
	[EXIT_REASON_NMI_WINDOW] = handle_nmi_window,
	[EXIT_REASON_TASK_SWITCH] = handle_task_switch,
	[EXIT_REASON_CPUID] = handle_cpuid,
	[EXIT_REASON_GETSEC] = handle_inject_ud,
	[EXIT_REASON_HLT] = handle_hlt,
	[EXIT_REASON_INVD] = handle_invd_wbinvd,
	[EXIT_REASON_RDPMC] = handle_inject_gp,
	[EXIT_REASON_VMCALL] = handle_vmcall,
	[EXIT_REASON_VMCLEAR] = handle_inject_ud,
	[EXIT_REASON_VMLAUNCH] = handle_inject_ud,
	[EXIT_REASON_VMPTRLD] = handle_inject_ud,
	[EXIT_REASON_VMPTRST] = handle_inject_ud,
	[EXIT_REASON_VMREAD] = handle_inject_ud,
	[EXIT_REASON_VMRESUME] = handle_inject_ud,
	[EXIT_REASON_VMWRITE] = handle_inject_ud,
	[EXIT_REASON_VMXOFF] = handle_inject_ud,
	[EXIT_REASON_VMXON] = handle_inject_ud,
	[EXIT_REASON_CR_ACCESS] = handle_cr_access,
	[EXIT_REASON_IO_INSTRUCTION] = handle_io,
	[EXIT_REASON_RDMSR] = handle_rdmsr,
	[EXIT_REASON_WRMSR] = handle_wrmsr,
	[EXIT_REASON_INVALID_GUEST_STATE] = handle_entry_failure,
	[EXIT_REASON_MSR_LOADING] = handle_entry_failure,
	[EXIT_REASON_MCE_DURING_ENTRY] = handle_entry_failure,
	[EXIT_REASON_MWAIT] = handle_inject_ud,
	[EXIT_REASON_MONITOR] = handle_inject_ud,
	[EXIT_REASON_PAUSE] = handle_pause,
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = handle_tpr_below_threshold,
	[EXIT_REASON_APIC_ACCESS] = handle_apic_access,
	[EXIT_REASON_VIRTUALIZED_EOI] = handle_virtualized_eoi,
	[EXIT_REASON_APIC_WRITE] = handle_apic_write,
	[EXIT_REASON_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG] = handle_ept_misconfig,
	[EXIT_REASON_INVEPT] = handle_inject_ud,
	[EXIT_REASON_PREEMPTION_TIMER] = handle_preemption_timer,
	[EXIT_REASON_INVVPID] = handle_inject_ud,
	[EXIT_REASON_WBINVD] = handle_invd_wbinvd,
	[EXIT_REASON_XSETBV] = handle_xsetbv,
	[EXIT_REASON_RDRAND] = handle_rdrand_rdseed,
	[EXIT_REASON_RDSEED] = handle_rdrand_rdseed,
	[EXIT_REASON_VMFUNC] = handle_inject_ud,
};

enum exit_action vmexit_dispatch(struct vcpu *v)
{
	uint32_t r = v->exit.reason;
	exit_handler_t h = r <= EXIT_REASON_MAX ? exit_handlers[r] : NULL;

	v->exits_total++;
	if (r <= EXIT_REASON_MAX)
		v->exits[r]++;
	if (v->exit.entry_failure)
		return handle_entry_failure(v);
	return h ? h(v) : handle_unknown(v);
}

static const char *const reason_names[EXIT_REASON_MAX + 1] = {
	[EXIT_REASON_EXCEPTION_NMI] = "exception or NMI",
	[EXIT_REASON_EXTERNAL_INTERRUPT] = "external interrupt",
	[EXIT_REASON_TRIPLE_FAULT] = "triple fault",
	[EXIT_REASON_INIT] = "INIT signal", [EXIT_REASON_SIPI] = "start-up IPI",
	[EXIT_REASON_IO_SMI] = "I/O SMI", [EXIT_REASON_OTHER_SMI] = "other SMI",
	[EXIT_REASON_INTERRUPT_WINDOW] = "interrupt window",
	[EXIT_REASON_NMI_WINDOW] = "NMI window", [EXIT_REASON_TASK_SWITCH] = "task switch",
	[EXIT_REASON_CPUID] = "CPUID", [EXIT_REASON_GETSEC] = "GETSEC",
	[EXIT_REASON_HLT] = "HLT", [EXIT_REASON_INVD] = "INVD", [EXIT_REASON_INVLPG] = "INVLPG",
	[EXIT_REASON_RDPMC] = "RDPMC", [EXIT_REASON_RDTSC] = "RDTSC", [EXIT_REASON_RSM] = "RSM",
	[EXIT_REASON_VMCALL] = "VMCALL", [EXIT_REASON_VMCLEAR] = "VMCLEAR",
	[EXIT_REASON_VMLAUNCH] = "VMLAUNCH", [EXIT_REASON_VMPTRLD] = "VMPTRLD",
	[EXIT_REASON_VMPTRST] = "VMPTRST", [EXIT_REASON_VMREAD] = "VMREAD",
	[EXIT_REASON_VMRESUME] = "VMRESUME", [EXIT_REASON_VMWRITE] = "VMWRITE",
	[EXIT_REASON_VMXOFF] = "VMXOFF", [EXIT_REASON_VMXON] = "VMXON",
	[EXIT_REASON_CR_ACCESS] = "control-register access",
	[EXIT_REASON_DR_ACCESS] = "debug-register access",
	[EXIT_REASON_IO_INSTRUCTION] = "I/O instruction", [EXIT_REASON_RDMSR] = "RDMSR",
	[EXIT_REASON_WRMSR] = "WRMSR",
	[EXIT_REASON_INVALID_GUEST_STATE] = "entry failure: invalid guest state",
	[EXIT_REASON_MSR_LOADING] = "entry failure: MSR loading",
	[EXIT_REASON_MWAIT] = "MWAIT", [EXIT_REASON_MONITOR_TRAP_FLAG] = "monitor trap flag",
	[EXIT_REASON_MONITOR] = "MONITOR", [EXIT_REASON_PAUSE] = "PAUSE",
	[EXIT_REASON_MCE_DURING_ENTRY] = "entry failure: machine check",
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = "TPR below threshold",
	[EXIT_REASON_APIC_ACCESS] = "APIC access",
	[EXIT_REASON_VIRTUALIZED_EOI] = "virtualized EOI",
	[EXIT_REASON_GDTR_IDTR] = "GDTR/IDTR access", [EXIT_REASON_LDTR_TR] = "LDTR/TR access",
	[EXIT_REASON_EPT_VIOLATION] = "EPT violation",
	[EXIT_REASON_EPT_MISCONFIG] = "EPT misconfiguration",
	[EXIT_REASON_INVEPT] = "INVEPT", [EXIT_REASON_RDTSCP] = "RDTSCP",
	[EXIT_REASON_PREEMPTION_TIMER] = "preemption timer", [EXIT_REASON_INVVPID] = "INVVPID",
	[EXIT_REASON_WBINVD] = "WBINVD", [EXIT_REASON_XSETBV] = "XSETBV",
	[EXIT_REASON_APIC_WRITE] = "APIC write", [EXIT_REASON_RDRAND] = "RDRAND",
	[EXIT_REASON_INVPCID] = "INVPCID", [EXIT_REASON_VMFUNC] = "VMFUNC",
	[EXIT_REASON_ENCLS] = "ENCLS", [EXIT_REASON_RDSEED] = "RDSEED",
	[EXIT_REASON_PML_FULL] = "page-modification log full",
	[EXIT_REASON_XSAVES] = "XSAVES", [EXIT_REASON_XRSTORS] = "XRSTORS",
	[EXIT_REASON_UMWAIT] = "UMWAIT", [EXIT_REASON_TPAUSE] = "TPAUSE",
};

const char *vmx_exit_reason_str(unsigned reason)
{
	if (reason <= EXIT_REASON_MAX && reason_names[reason])
		return reason_names[reason];
	return "unknown";
}
