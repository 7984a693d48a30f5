/*
 * Guest MSR access. The MSR bitmap passes through, without exits, only
 * the MSRs a guest owns outright: those the VMCS switches on entry and
 * exit (FS/GS base, SYSENTER, PAT, EFER via the entry/exit controls) and
 * the syscall MSRs the vmkernel never uses (STAR, LSTAR, CSTAR, FMASK,
 * KERNEL_GS_BASE, TSC_AUX), which vcpu.c saves and restores when vCPUs
 * share a CPU. IA32_TSC reads pass through; everything else exits here.
 * Emulated: the local APIC's MSRs (IA32_APIC_BASE, the x2APIC range,
 * IA32_TSC_DEADLINE), the MTRRs (as firmware leaves them: enabled,
 * write-back, the VGA hole uncacheable; guest writes are kept and read
 * back but change nothing, since guest RAM is always write-back), and a
 * few read-mostly MSRs a kernel reads at boot. Everything else raises #GP:
 * the guest can neither see nor change host MSRs, and VMX stays hidden.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/paging.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vlapic.h>
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
#define MSR_IA32_PLATFORM_ID	0x00000017
#define MSR_IA32_FEATURE_CONTROL 0x0000003a
#define MSR_IA32_UCODE_REV	0x0000008b
#define MSR_IA32_DEBUGCTL	0x000001d9
#define MSR_MTRR_PHYS_BASE0	0x00000200
#define MSR_MTRR_FIX64K		0x00000250
#define MSR_MTRR_FIX16K_80000	0x00000258
#define MSR_MTRR_FIX16K_A0000	0x00000259
#define MSR_MTRR_FIX4K_C0000	0x00000268
#define MSR_IA32_SPEC_CTRL	0x00000048
#define MSR_IA32_PRED_CMD	0x00000049
#define MSR_X2APIC_FIRST	0x00000800
#define MSR_X2APIC_LAST		0x000008ff
#define MTRRCAP_VALUE		(8ULL | (1ULL << 8) | (1ULL << 10))	/* 8 variable, fixed, WC */
#define MTRR_WB_BYTES		0x0606060606060606ULL
#define MTRR_UC_BYTES		0x0000000000000000ULL
#define MISC_ENABLE_VALUE	(1ULL | (1ULL << 11) | (1ULL << 12))	/* fast strings; no BTS/PEBS */

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

/* The fixed-range MTRR index of msr (0..10), or -1. */
static int mtrr_fixed_index(uint32_t msr)
{
	if (msr == MSR_MTRR_FIX64K)
		return 0;
	if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000)
		return 1 + (int)(msr - MSR_MTRR_FIX16K_80000);
	if (msr >= MSR_MTRR_FIX4K_C0000 && msr < MSR_MTRR_FIX4K_C0000 + 8)
		return 3 + (int)(msr - MSR_MTRR_FIX4K_C0000);
	return -1;
}

/* MTRRs as a PC's firmware leaves them: enabled, WB by default and below 1 MiB but VGA. */
void vcpu_mtrr_reset(struct vcpu *v)
{
	v->mtrr_def_type = 0xc06;	/* MTRRs and fixed ranges on, default write-back */
	for (int i = 0; i < 11; i++)
		v->mtrr_fixed[i] = i == 2 ? MTRR_UC_BYTES : MTRR_WB_BYTES;	/* 0xa0000-0xbffff */
	for (int i = 0; i < 16; i++)
		v->mtrr_var[i] = 0;
}

static bool emulate_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
	int fix = mtrr_fixed_index(msr);

	if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
		return vlapic_rdmsr(&v->lapic, msr, val) == 0;
	if (fix >= 0) {
		*val = v->mtrr_fixed[fix];
		return true;
	}
	if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 16) {
		*val = v->mtrr_var[msr - MSR_MTRR_PHYS_BASE0];
		return true;
	}
	switch (msr) {
	case MSR_IA32_APIC_BASE:
		*val = vlapic_get_base(&v->lapic);
		return true;
	case MSR_IA32_TSC_DEADLINE:
		*val = vlapic_get_tsc_deadline(&v->lapic);
		return true;
	case MSR_IA32_MISC_ENABLE:
		*val = MISC_ENABLE_VALUE;
		return true;
	case MSR_IA32_MTRRCAP:
		*val = MTRRCAP_VALUE;
		return true;
	case MSR_IA32_MTRR_DEF_TYPE:
		*val = v->mtrr_def_type;
		return true;
	case MSR_IA32_FEATURE_CONTROL:
		*val = 1;	/* locked, VMX off: guests cannot use VMX */
		return true;
	case MSR_IA32_UCODE_REV:
	case MSR_IA32_PLATFORM_ID:
		*val = 0;
		return true;
	case MSR_IA32_DEBUGCTL:
		*val = vmcs_read64(VMCS_GUEST_IA32_DEBUGCTL);
		return true;
	case MSR_IA32_SPEC_CTRL:
		*val = v->spec_ctrl;
		return spec_guest_spec_ctrl_mask() != 0;	/* #GP where the CPU has none */
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

/* A memory type an MTRR may hold: UC, WC, WT, WP or WB. */
static bool mtrr_type_ok(uint64_t t)
{
	return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static bool mtrr_bytes_ok(uint64_t val)
{
	for (int i = 0; i < 8; i++) {
		if (!mtrr_type_ok((val >> (8 * i)) & 0xff))
			return false;
	}
	return true;
}

static bool write_apic_base(struct vcpu *v, uint64_t val, enum exit_action *act)
{
	bool was_x2 = vlapic_x2apic(&v->lapic);
	int err = vlapic_set_base(&v->lapic, val);

	if (err == -2) {
		vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
			"vCPU %u: moving the local APIC to %#llx is not supported", v->id,
			(unsigned long long)(val & ~0xfffULL));
		*act = EXIT_STOP_VM;
		return true;
	}
	if (err)
		return false;
	if (!was_x2 && vlapic_x2apic(&v->lapic))
		vcpu_apicv_off(v);	/* x2APIC runs on the software path (vmx/vmcs.c) */
	return true;
}

static bool emulate_write(struct vcpu *v, uint32_t msr, uint64_t val, enum exit_action *act)
{
	int fix = mtrr_fixed_index(msr);

	if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
		return vlapic_wrmsr(&v->lapic, msr, val) == 0;
	if (fix >= 0) {
		if (!mtrr_bytes_ok(val))
			return false;
		v->mtrr_fixed[fix] = val;
		return true;
	}
	if (msr >= MSR_MTRR_PHYS_BASE0 && msr < MSR_MTRR_PHYS_BASE0 + 16) {
		bool is_base = !(msr & 1);

		if ((val >> 52) || (is_base ? (val & 0xf00) || !mtrr_type_ok(val & 0xff) :
					      (val & 0x7ff)))
			return false;
		v->mtrr_var[msr - MSR_MTRR_PHYS_BASE0] = val;
		return true;
	}
	switch (msr) {
	case MSR_IA32_APIC_BASE:
		return write_apic_base(v, val, act);
	case MSR_IA32_TSC_DEADLINE:
		vlapic_set_tsc_deadline(&v->lapic, val);
		return true;
	case MSR_IA32_MTRR_DEF_TYPE:
		if ((val & ~0xcffULL) || !mtrr_type_ok(val & 0xff))
			return false;
		v->mtrr_def_type = val;
		return true;
	case MSR_IA32_UCODE_REV:
		return true;	/* the "read the revision" protocol writes 0 first */
	case MSR_IA32_SPEC_CTRL:
		/* Only the bits the host CPU has (vmx/spec.c); loaded around entry. */
		if (!spec_guest_spec_ctrl_mask() || (val & ~spec_guest_spec_ctrl_mask()))
			return false;
		v->spec_ctrl = val;
		return true;
	case MSR_IA32_PRED_CMD:
		if (!spec_guest_spec_ctrl_mask() || (val & ~1ULL))
			return false;
		if (val)
			spec_guest_ibpb();
		return true;
	case MSR_IA32_MISC_ENABLE:
		/* Kernels clear "limit CPUID" and similar bits: accepted, nothing changes. */
		return true;
	case MSR_IA32_DEBUGCTL:
		if (val & ~2ULL)
			return false;	/* only BTF: no LBR, BTS or PMU freezing */
		vmcs_write64(VMCS_GUEST_IA32_DEBUGCTL, val);
		return true;
	case MSR_TSC_AUX:
		if ((val >> 32) || !vcpu_has_tsc_aux())
			return false;
		v->msr_tsc_aux = val;
		wrmsr(MSR_TSC_AUX, val);
		return true;
	}
	return false;
}

/* Intercepted writes: emulated where the MSR is the guest's; any other is a #GP. */
enum exit_action handle_wrmsr(struct vcpu *v)
{
	uint32_t msr = (uint32_t)v->regs.rcx;
	uint64_t val = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
	enum exit_action act = EXIT_SKIP;

	if (!emulate_write(v, msr, val, &act))
		return handle_inject_gp(v);
	return act;
}
