/*
 * Guest MSR access. The MSR bitmap passes through, without exits, only
 * the MSRs a guest owns outright: those the VMCS switches on entry and
 * exit (FS/GS base, SYSENTER, PAT, EFER via the entry/exit controls) and
 * the syscall MSRs the vmkernel never uses (STAR, LSTAR, CSTAR, FMASK,
 * KERNEL_GS_BASE, TSC_AUX), which vcpu.c saves and restores when vCPUs
 * share a CPU. IA32_TSC reads pass through; everything else exits here,
 * where a few read-only MSRs are emulated and the rest raise #GP: the
 * guest can neither see nor change host MSRs, and VMX stays hidden.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/paging.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include "exit_priv.h"

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_MTRRCAP	0x000000fe
#define MSR_IA32_MISC_ENABLE	0x000001a0
#define MSR_IA32_MTRR_DEF_TYPE	0x000002ff
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_IA32_SYSENTER_EIP	0x00000176
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_FMASK		0xc0000084
#define MSR_TSC_AUX		0xc0000103

static void pass(uint8_t *bitmap, uint32_t msr, bool read, bool write)
{
	/* SDM 3C 25.6.9: read-low, read-high, write-low, write-high, 1 KiB each. */
	unsigned base = msr >= 0xc0000000 ? 1024 : 0;
	uint32_t bit = msr & 0x1fff;

	if (read)
		bitmap[base + bit / 8] &= ~(1U << (bit % 8));
	if (write)
		bitmap[2048 + base + bit / 8] &= ~(1U << (bit % 8));
}

int vm_msr_bitmap_init(struct vm *vm)
{
	static const uint32_t owned[] = {
		MSR_IA32_FS_BASE, MSR_IA32_GS_BASE, MSR_IA32_KERNEL_GS_BASE, MSR_IA32_SYSENTER_CS,
		MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_IA32_EFER,
		MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK,
	};
	uint64_t pa = page_alloc(0);
	uint8_t *bm;

	if (!pa)
		return -ENOMEM;
	bm = phys_to_virt(pa);
	memset(bm, 0xff, PAGE_SIZE_4K);
	for (unsigned i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
		pass(bm, owned[i], true, true);
	pass(bm, MSR_IA32_TSC, true, false);
	if (vm_pat_switched())
		pass(bm, MSR_IA32_PAT, true, true);	/* the VMCS saves and loads it */
	pass(bm, MSR_TSC_AUX, true, false);	/* writes are checked: bits 63:32 are reserved */
	vm->msr_bitmap_pa = pa;
	return 0;
}

/* PAT is the guest's only if VM entry and exit switch it (else writes would hit the host's). */
bool vm_pat_switched(void)
{
	const struct vmx_caps *caps = vmx_host_caps();

	return (caps->exit.allowed1 & EXIT_LOAD_IA32_PAT) &&
	       (caps->exit.allowed1 & EXIT_SAVE_IA32_PAT) &&
	       (caps->entry.allowed1 & ENTRY_LOAD_IA32_PAT);
}

static bool emulate_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	switch (msr) {
	case MSR_IA32_APIC_BASE:
		/* No local APIC is offered (CPUID); report its architectural default, disabled. */
		*val = 0xfee00000ULL | (v->id == 0 ? APIC_BASE_BSP : 0);
		return true;
	case MSR_IA32_MISC_ENABLE:
		*val = 1;	/* fast strings */
		return true;
	case MSR_IA32_MTRRCAP:
		*val = 0;	/* no variable or fixed MTRRs */
		return true;
	case MSR_IA32_MTRR_DEF_TYPE:
		*val = 0x806;	/* MTRRs enabled, default write-back */
		return true;
	}
	return false;
}

enum exit_action handle_rdmsr(struct vcpu *v)
{
	uint32_t msr = (uint32_t)v->regs.rcx;
	uint64_t val;

	if (!emulate_read(v, msr, &val))
		return handle_inject_gp(v);
	v->regs.rax = (uint32_t)val;
	v->regs.rdx = val >> 32;
	return EXIT_SKIP;
}

/* Intercepted writes: TSC_AUX is checked and done; any other is one the guest may not do. */
enum exit_action handle_wrmsr(struct vcpu *v)
{
	uint32_t msr = (uint32_t)v->regs.rcx;

	if (msr == MSR_TSC_AUX && !(uint32_t)v->regs.rdx && vcpu_has_tsc_aux()) {
		v->msr_tsc_aux = (uint32_t)v->regs.rax;
		wrmsr(MSR_TSC_AUX, v->msr_tsc_aux);
		return EXIT_SKIP;
	}
	return handle_inject_gp(v);
}
