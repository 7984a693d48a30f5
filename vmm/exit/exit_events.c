/*
 * Exits about events: exceptions and NMIs, external interrupts, the
 * interrupt/NMI windows, HLT, INIT/SIPI, triple fault, task switches,
 * failed entries and the preemption timer.
 */
#define pr_fmt(fmt) "vmexit: " fmt
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmm/vmx.h>
#include "exit_priv.h"

/*
 * ICEBP (INT1, opcode F1) raised the #DB: deliver it as the privileged
 * software exception it is, with the instruction's length, so the guest's
 * handler returns past the ICEBP (as a hardware #DB, the return address
 * would be the ICEBP itself and the guest would run it again for ever).
 * It goes out through the re-injection path at the next entry; nothing
 * else can be pending in that path, as ICEBP is an instruction, not an
 * event being delivered. DR6 is left alone: INT1 sets none of its bits.
 */
static enum exit_action reflect_icebp(struct vcpu *v)
{
	if (!(v->exit.idt_vectoring & INTR_INFO_VALID)) {
		v->exit.idt_vectoring = INTR_INFO_VALID | INTR_TYPE_PRIV_SW_EXCEPTION | X86_EXC_DB;
		v->exit.idt_error = 0;
	}
	return EXIT_RESUME;
}

enum exit_action handle_exception_nmi(struct vcpu *v)
{
	uint32_t info = v->exit.intr_info;
	uint8_t vector = info & INTR_INFO_VECTOR_MASK;

	if ((info & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI) {
		/* A host NMI (NMI exiting): the host's NMI logic, e.g. stopping for a panic. */
		panic_stop_if_requested();
		this_cpu()->nmi_count++;
		return EXIT_RESUME;
	}
	if (vector == X86_EXC_DB &&
	    (info & INTR_INFO_TYPE_MASK) == INTR_TYPE_PRIV_SW_EXCEPTION)
		return reflect_icebp(v);
	if (vector == X86_EXC_DB) {
		/*
		 * A #DB exit leaves DR6 alone and reports its bits in the
		 * qualification: put them in DR6 (the guest's, loaded while it
		 * runs) and deliver the #DB to the guest.
		 */
		uint64_t dr6 = 0xffff0ff0ULL | (v->exit.qual & 0x600fULL);

		asm volatile("mov %0, %%dr6" : : "r"(dr6));
		v->dr[4] = dr6;
		vcpu_inject_exception(v, X86_EXC_DB, false, 0);
		return EXIT_RESUME;
	}
	if (vector == X86_EXC_MC) {
		vm_stop(v->vm, VMCONFIG_STOP_KILLED, -1,
			"vCPU %u: machine check while running the guest (RIP %#llx)", v->id,
			(unsigned long long)v->exit.rip);
		return EXIT_STOP_VM;
	}
	/* Intercepted only so a guest cannot wedge the CPU delivering it: hand it back. */
	vcpu_inject_exception(v, vector, info & INTR_INFO_DELIVER_CODE, v->exit.intr_error);
	return EXIT_RESUME;
}

enum exit_action handle_external_interrupt(struct vcpu *v)
{
	(void)v;	/* already dispatched to the host's handler (vcpu.c) */
	return EXIT_RESUME;
}

enum exit_action handle_triple_fault(struct vcpu *v)
{
	vm_stop(v->vm, VMCONFIG_STOP_TRIPLE_FAULT, -1, "vCPU %u: triple fault at RIP %#llx",
		v->id, (unsigned long long)v->exit.rip);
	return EXIT_STOP_VM;
}

enum exit_action handle_init_sipi(struct vcpu *v)
{
	/* Application-processor start-up of SMP guests is not emulated yet. */
	vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
		"vCPU %u: %s signal: multiprocessor start-up is not supported yet", v->id,
		v->exit.reason == EXIT_REASON_INIT ? "INIT" : "start-up IPI");
	return EXIT_STOP_VM;
}

enum exit_action handle_interrupt_window(struct vcpu *v)
{
	(void)v;	/* inject_events() delivers the pending interrupt on the next entry */
	return EXIT_RESUME;
}

enum exit_action handle_nmi_window(struct vcpu *v)
{
	(void)v;
	return EXIT_RESUME;
}

enum exit_action handle_hlt(struct vcpu *v)
{
	(void)v;
	return EXIT_BLOCK;
}

enum exit_action handle_preemption_timer(struct vcpu *v)
{
	(void)v;	/* the slice is over: the run loop yields if another world waits */
	return EXIT_RESUME;
}

enum exit_action handle_task_switch(struct vcpu *v)
{
	/* Hardware task switching (32-bit TSS) is not emulated. */
	vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
		"vCPU %u: hardware task switch at RIP %#llx (qualification %#llx) is not "
		"supported", v->id, (unsigned long long)v->exit.rip,
		(unsigned long long)v->exit.qual);
	return EXIT_STOP_VM;
}

enum exit_action handle_entry_failure(struct vcpu *v)
{
	vmcs_dump(v, "VM entry failed");
	vm_stop(v->vm, VMCONFIG_STOP_ENTRY_FAILURE, -1,
		"vCPU %u: VM entry failed: %s (exit reason %u, qualification %#llx)", v->id,
		vmx_entry_failure_str(v->exit.reason), v->exit.reason,
		(unsigned long long)v->exit.qual);
	return EXIT_STOP_VM;
}
