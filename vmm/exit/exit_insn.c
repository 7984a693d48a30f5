/*
 * Exits caused by instructions the guest executed that need little: the
 * ones a guest may not run (VMX instructions get #UD, RDPMC #GP), those
 * emulated as no-ops, and XSETBV. CPUID, hypercalls and control registers
 * have their own files.
 */
#define pr_fmt(fmt) "vmexit: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/sched.h>
#include <vmkernel/spinlock.h>
#include <vmm/vcpu_fpu.h>
#include <vmm/vm.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmx_decode.h>
#include "exit_priv.h"

enum exit_action handle_inject_ud(struct vcpu *v)
{
	vcpu_inject_exception(v, X86_EXC_UD, false, 0);
	return EXIT_RESUME;
}

enum exit_action handle_inject_gp(struct vcpu *v)
{
	vcpu_inject_exception(v, X86_EXC_GP, true, 0);
	return EXIT_RESUME;
}

enum exit_action handle_invd_wbinvd(struct vcpu *v)
{
	(void)v;	/* the guest's memory is ours and coherent: nothing to write back */
	return EXIT_SKIP;
}

/*
 * PAUSE: only PAUSE-loop exiting makes it exit (vmx/vmcs.c, SMP VMs only).
 * The guest is spinning, most likely on a lock whose holder is a sibling
 * vCPU that is not running. If a sibling waits in this CPU's queue, give
 * the turn away so that it can run; otherwise (the siblings run elsewhere
 * or are halted: the vCPU may be waiting for an interrupt, or a holder
 * running on another CPU) keep spinning, as the CPU would.
 */
enum exit_action handle_pause(struct vcpu *v)
{
	struct vm *vm = v->vm;

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *s = vm->vcpus[i];
		unsigned long flags;
		bool waits;

		if (!s || s == v)
			continue;
		flags = spin_lock_irqsave(&s->kick_lock);
		waits = s->world && sched_world_waits_here(s->world);
		spin_unlock_irqrestore(&s->kick_lock, flags);
		if (waits)
			return EXIT_YIELD;
	}
	return EXIT_SKIP;
}

static unsigned guest_cpl(void)
{
	return (vmcs_read32(VMCS_GUEST_SS_AR) >> 5) & 3;
}

/* XSETBV (SDM 2C): #UD without CR4.OSXSAVE, #GP at CPL > 0 or for a value XCR0 may not hold. */
enum exit_action handle_xsetbv(struct vcpu *v)
{
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;

	if (!v->osxsave)
		return handle_inject_ud(v);
	if (guest_cpl() != 0 || vcpu_fpu_set_xcr0(v, (uint32_t)v->regs.rcx, val))
		return handle_inject_gp(v);
	return EXIT_SKIP;
}

enum exit_action handle_rdrand_rdseed(struct vcpu *v)
{
	(void)v;
	/* Not intercepted by our controls; if a CPU forces it, report "no value" (CF=0). */
	vmcs_writenat(VMCS_GUEST_RFLAGS, vmcs_readnat(VMCS_GUEST_RFLAGS) & ~1UL);
	return EXIT_SKIP;
}

