/*
 * Control-register exits: MOV to CR0/CR4 that touch a bit the host owns
 * (the VMX fixed bits, CD/NW, OSXSAVE and everything not handed to guests),
 * CLTS and LMSW on those, and CR8 (the local APIC's TPR) when the CPU's TPR
 * shadow is not in use. The guest sees its own values through the read
 * shadows; the hardware runs with what VMX needs.
 */
#include <vmkernel/cpu.h>
#include <vmm/vcpu_fpu.h>
#include <vmm/vlapic.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmx_decode.h>
#include "exit_priv.h"


/* General register n (SDM encoding); RSP lives in the VMCS and is handled by the callers. */
static uint64_t *gpr(struct vcpu *v, unsigned n)
{
	uint64_t *regs[16] = {
		&v->regs.rax, &v->regs.rcx, &v->regs.rdx, &v->regs.rbx, NULL, &v->regs.rbp,
		&v->regs.rsi, &v->regs.rdi, &v->regs.r8, &v->regs.r9, &v->regs.r10, &v->regs.r11,
		&v->regs.r12, &v->regs.r13, &v->regs.r14, &v->regs.r15,
	};

	return regs[n & 15];
}

static uint64_t read_gpr(struct vcpu *v, unsigned n)
{
	return n == 4 ? vmcs_readnat(VMCS_GUEST_RSP) : *gpr(v, n);
}

static void write_gpr(struct vcpu *v, unsigned n, uint64_t val)
{
	if (n == 4)
		vmcs_writenat(VMCS_GUEST_RSP, val);
	else
		*gpr(v, n) = val;
}

#define EFER_LMA (1ULL << 10)

/* Keep EFER.LMA and the "IA-32e mode guest" entry control in step with CR0.PG. */
static void update_long_mode(uint64_t old_cr0, uint64_t new_cr0)
{
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	uint32_t entry = vmcs_read32(VMCS_ENTRY_CTLS);

	if (!(efer & EFER_LME) || !((old_cr0 ^ new_cr0) & X86_CR0_PG))
		return;
	if (new_cr0 & X86_CR0_PG) {
		efer |= EFER_LMA;
		entry |= ENTRY_IA32E_MODE_GUEST;
	} else {
		efer &= ~EFER_LMA;
		entry &= ~ENTRY_IA32E_MODE_GUEST;
	}
	vmcs_write64(VMCS_GUEST_IA32_EFER, efer);
	vmcs_write32(VMCS_ENTRY_CTLS, entry);
}

/* CR0 bits 63:32 and the reserved ones among 31:0 (SDM 3A 2.5). */
#define CR0_RESERVED (~0xe005003fULL)

static bool set_cr0(struct vcpu *v, uint64_t val)
{
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER), old = vcpu_cr0();

	if ((val & CR0_RESERVED) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
	    ((val & X86_CR0_NW) && !(val & X86_CR0_CD)) ||
	    ((val & X86_CR0_PG) && (efer & EFER_LME) && !(vcpu_cr4() & X86_CR4_PAE)))
		return false;
	update_long_mode(old, val);
	vmcs_writenat(VMCS_GUEST_CR0, vmx_real_cr0(val));
	vmcs_writenat(VMCS_CR0_READ_SHADOW, val);
	/* A change of how the guest translates: its cached translations go, as with MOV itself. */
	if (vmx_cr_write_flushes_tlb(0, old, val))
		vcpu_flush_guest_tlb(v);
	return true;
}

static bool set_cr4(struct vcpu *v, uint64_t val)
{
	const struct vmx_caps *caps = vmx_host_caps();
	uint64_t allowed = CR4_GUEST_OWNED | (vcpu_fpu_xsave() ? X86_CR4_OSXSAVE : 0);
	uint64_t old = vcpu_cr4();

	if ((val & ~allowed) || (val & ~caps->cr4_fixed1 & ~X86_CR4_VMXE))
		return false;
	vmcs_writenat(VMCS_GUEST_CR4, vmx_real_cr4(val));
	vmcs_writenat(VMCS_CR4_READ_SHADOW, val);
	v->osxsave = val & X86_CR4_OSXSAVE;
	if (vmx_cr_write_flushes_tlb(4, old, val))
		vcpu_flush_guest_tlb(v);
	return true;
}

static enum exit_action mov_to_cr(struct vcpu *v, unsigned cr, uint64_t val)
{
	bool ok = true;

	switch (cr) {
	case 0:
		ok = set_cr0(v, val);
		break;
	case 4:
		ok = set_cr4(v, val);
		break;
	case 8:
		if (val & ~0xfULL)
			ok = false;
		else
			vlapic_set_cr8(&v->lapic, (uint8_t)val);
		break;
	default:
		ok = false;
	}
	return ok ? EXIT_SKIP : handle_inject_gp(v);
}

enum exit_action handle_cr_access(struct vcpu *v)
{
	struct vmx_cr_access cr;

	if (vmx_decode_cr(v->exit.qual, &cr))
		goto unexpected;
	switch (cr.type) {
	case VMX_CR_MOV_TO:
		return mov_to_cr(v, cr.cr, read_gpr(v, cr.gpr));
	case VMX_CR_MOV_FROM:
		if (cr.cr != 8)
			break;
		write_gpr(v, cr.gpr, vlapic_get_cr8(&v->lapic));
		return EXIT_SKIP;
	case VMX_CR_CLTS:
		return set_cr0(v, vcpu_cr0() & ~X86_CR0_TS) ? EXIT_SKIP : handle_inject_gp(v);
	case VMX_CR_LMSW:
		/* LMSW loads CR0 bits 3:0 but cannot clear PE. */
		return set_cr0(v, (vcpu_cr0() & ~0xeULL) | (cr.lmsw_src & 0xf)) ?
		       EXIT_SKIP : handle_inject_gp(v);
	}
unexpected:
	vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
		"vCPU %u: unexpected control-register access (qualification %#llx)", v->id,
		(unsigned long long)v->exit.qual);
	return EXIT_STOP_VM;
}
