/*
 * Speculative-execution hygiene between the host and guests and between
 * guests, for the CPUs that need it (each measure is used only where CPUID
 * and IA32_ARCH_CAPABILITIES say the CPU both has the control and is
 * affected):
 *
 *  - IBPB (IA32_PRED_CMD) when a CPU switches to a vCPU of another VM, so
 *    one VM cannot train the branch predictors against the next;
 *  - an L1D flush (IA32_FLUSH_CMD) before entering a guest of another VM
 *    than the last one entered on this CPU (L1TF), unless the CPU reports
 *    it does not need one;
 *  - VERW right before VM entry to clear CPU buffers (MDS), done in
 *    vmx_entry.S when vmx_verw_on_entry is set;
 *  - the return stack buffer is refilled after every VM exit, in
 *    vmx_entry.S, so host returns never use guest-trained entries.
 */
#define pr_fmt(fmt) "vmx: " fmt
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmm/quarantine.h>
#include <vmm/vm.h>
#include "vmx_priv.h"

#define MSR_IA32_PRED_CMD		0x49
#define MSR_IA32_ARCH_CAPABILITIES	0x10a
#define MSR_IA32_FLUSH_CMD		0x10b
#define CPUID7_EDX_MD_CLEAR		(1U << 10)
#define CPUID7_EDX_SPEC_CTRL		(1U << 26)	/* IBRS and IBPB */
#define CPUID7_EDX_L1D_FLUSH		(1U << 28)
#define CPUID7_EDX_ARCH_CAPS		(1U << 29)
#define ARCH_CAP_RDCL_NO		(1ULL << 0)
#define ARCH_CAP_SKIP_L1DFL_VMENTRY	(1ULL << 3)
#define ARCH_CAP_MDS_NO			(1ULL << 5)

static bool ibpb_ok, l1d_flush_needed;
uint8_t vmx_verw_on_entry;	/* read by vmx_entry.S */

void spec_probe(void)
{
	uint32_t edx = cpuid(0, 0).eax >= 7 ? cpuid(7, 0).edx : 0;
	uint64_t caps = 0;

	if (edx & CPUID7_EDX_ARCH_CAPS)
		rdmsr_safe(MSR_IA32_ARCH_CAPABILITIES, &caps);
	ibpb_ok = edx & CPUID7_EDX_SPEC_CTRL;
	l1d_flush_needed = (edx & CPUID7_EDX_L1D_FLUSH) && !(caps & ARCH_CAP_RDCL_NO) &&
			   !(caps & ARCH_CAP_SKIP_L1DFL_VMENTRY);
	vmx_verw_on_entry = (edx & CPUID7_EDX_MD_CLEAR) && !(caps & ARCH_CAP_MDS_NO);
	pr_info("speculation: IBPB between VMs %s, L1D flush on VM change %s, VERW on entry %s, "
		"RSB refill on exit\n", ibpb_ok ? "on" : "not available",
		l1d_flush_needed ? "on" : "not needed", vmx_verw_on_entry ? "on" : "not needed");
}

/* Called when this CPU switches to a vCPU of `vm` (the world switch-in hook). */
void spec_switch_to_vm(struct vmm_cpu *vc, const struct vm *vm)
{
	if (vc->last_vm == vm)
		return;
	if (ibpb_ok && vc->last_vm)
		wrmsr(MSR_IA32_PRED_CMD, 1);
	vc->last_vm = vm;
	vc->l1d_stale = true;
}

/* Just before VM entry, interrupts off. */
void spec_before_entry(struct vmm_cpu *vc)
{
	tlb_flush_if_owed();	/* retired pages wait for this CPU's flush (mem/quarantine.c) */
	if (l1d_flush_needed && vc->l1d_stale) {
		wrmsr(MSR_IA32_FLUSH_CMD, 1);
		vc->l1d_stale = false;
	}
}
