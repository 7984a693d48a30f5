/*
 * CPUID: what a guest learns about its virtual CPU.
 *
 * The host's answers pass through filtered: features the VMM virtualizes
 * or that work unchanged in VMX non-root operation are shown, everything
 * else is hidden (VMX, SMX, MONITOR/MWAIT, performance monitoring,
 * thermal and power management, MPX, PKU, SGX, PT, TSX-control MSRs,
 * speculation-control MSRs, XSAVES). Leaves the VMM makes up itself:
 *
 *  - topology: every vCPU is its own package (APIC ID = vCPU number, one
 *    logical processor per package in leaves 1 and 4, no leaf 0xb);
 *  - XSAVE (leaf 0xd) for the features vcpu_fpu.c offers, with sizes for
 *    the guest's current XCR0;
 *  - time: leaf 0x15 says the TSC runs at exactly the crystal clock, which
 *    is the host's calibrated TSC rate (and the local APIC timer's input),
 *    leaf 0x16 the same in MHz, so a kernel needs no calibration; the TSC
 *    is invariant (0x80000007) as the host's is;
 *  - the hypervisor range: 0x40000000 "VMKernelVMM " with the highest leaf,
 *    0x40000001 the hypercall ABI version, 0x40000010 the TSC and local
 *    APIC timer rates in kHz (the layout VMware and others use).
 */
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/timer.h>
#include <vmm/vcpu_fpu.h>
#include <vmm/vlapic.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include "exit_priv.h"

#define HV_CPUID_BASE		0x40000000
#define HV_CPUID_ABI		0x40000001
#define HV_CPUID_TIMING		0x40000010
#define HV_CPUID_MAX		HV_CPUID_TIMING
#define MAX_BASIC		0x16
#define MAX_EXTENDED		0x80000008

/* Leaf 1 ECX/EDX bits shown when the host has them (SDM 2A CPUID, tables 3-10, 3-11). */
#define L1_ECX_SHOWN	((1U << 0) | (1U << 1) | (1U << 9) | (1U << 12) | (1U << 13) | \
			 (1U << 17) | (1U << 19) | (1U << 20) | (1U << 22) | (1U << 23) | \
			 (1U << 25) | (1U << 26) | (1U << 28) | (1U << 29) | (1U << 30))
#define L1_ECX_X2APIC	(1U << 21)
#define L1_ECX_TSC_DL	(1U << 24)
#define L1_ECX_XSAVE	(1U << 26)
#define L1_ECX_OSXSAVE	(1U << 27)
#define L1_ECX_AVX	(1U << 28)
#define L1_ECX_FMA	(1U << 12)
#define L1_ECX_F16C	(1U << 29)
#define L1_EDX_HIDDEN	((1U << 7) | (1U << 14) | (1U << 21) | (1U << 22) | (1U << 28) | \
			 (1U << 29) | (1U << 31))
#define L1_EDX_APIC	(1U << 9)
/* Leaf 7.0 EBX: FSGSBASE BMI1 AVX2 SMEP BMI2 ERMS (INVPCID) AVX512F/DQ RDSEED ADX SMAP
 * AVX512IFMA CLFLUSHOPT CLWB AVX512CD SHA AVX512BW/VL. */
#define L7_EBX_SHOWN	((1U << 0) | (1U << 3) | (1U << 7) | (1U << 8) | (1U << 9) | \
			 (1U << 18) | (1U << 19) | (1U << 20) | (1U << 23) | (1U << 24) | \
			 (1U << 29))
#define L7_EBX_AVX2	(1U << 5)
#define L7_EBX_AVX512	((1U << 16) | (1U << 17) | (1U << 21) | (1U << 28) | (1U << 30) | \
			 (1U << 31))
/* Leaf 7.0 ECX: AVX512_VBMI VBMI2 GFNI VAES VPCLMULQDQ VNNI BITALG VPOPCNTDQ RDPID. */
#define L7_ECX_AVX512	((1U << 1) | (1U << 6) | (1U << 11) | (1U << 12) | (1U << 14))
#define L7_ECX_SHOWN	((1U << 8) | (1U << 22))
#define L7_ECX_VEX	((1U << 9) | (1U << 10))	/* VAES, VPCLMULQDQ: need AVX */
/* Leaf 7.0 EDX: FSRM, MD_CLEAR (VERW clears buffers: true of the host CPU). */
#define L7_EDX_SHOWN	((1U << 4) | (1U << 10))

static void cpuid_hypervisor(uint32_t leaf, struct cpuid_regs *r)
{
	*r = (struct cpuid_regs){ 0 };
	switch (leaf) {
	case HV_CPUID_BASE:
		r->eax = HV_CPUID_MAX;
		memcpy(&r->ebx, "VMKe", 4);
		memcpy(&r->ecx, "rnel", 4);
		memcpy(&r->edx, "VMM ", 4);
		break;
	case HV_CPUID_ABI:
		r->eax = HC_ABI_VERSION;
		break;
	case HV_CPUID_TIMING:
		r->eax = (uint32_t)(tsc_hz() / 1000);	/* TSC, kHz */
		r->ebx = (uint32_t)(tsc_hz() / 1000);	/* local APIC timer input, kHz */
		break;
	}
}

static void leaf1(const struct vcpu *v, struct cpuid_regs *r)
{
	uint64_t xcr0 = vcpu_fpu_xcr0_mask();
	bool avx = xcr0 & (1ULL << 2);

	r->ecx = (r->ecx & L1_ECX_SHOWN) | CPUID1_ECX_HYPERVISOR | L1_ECX_X2APIC | L1_ECX_TSC_DL;
	if (!vcpu_fpu_xsave())
		r->ecx &= ~L1_ECX_XSAVE;
	if (!avx)
		r->ecx &= ~(L1_ECX_AVX | L1_ECX_FMA | L1_ECX_F16C);
	if (v->osxsave)
		r->ecx |= L1_ECX_OSXSAVE;
	r->edx &= ~(L1_EDX_HIDDEN | L1_EDX_APIC);
	if (vlapic_hw_enabled(&v->lapic))
		r->edx |= L1_EDX_APIC;
	/* EBX: CLFLUSH size kept; one logical processor; initial APIC ID = vCPU number. */
	r->ebx = (r->ebx & 0xffff) | (1U << 16) | ((uint32_t)v->id << 24);
}

static void leaf7(uint32_t sub, struct cpuid_regs *r)
{
	const struct vmx_caps *caps = vmx_host_caps();
	uint64_t xcr0 = vcpu_fpu_xcr0_mask();
	uint32_t ebx = L7_EBX_SHOWN | (caps->invpcid ? 1U << 10 : 0), ecx = L7_ECX_SHOWN;

	if (sub != 0) {
		*r = (struct cpuid_regs){ 0 };
		return;
	}
	if (xcr0 & (1ULL << 2)) {
		ebx |= L7_EBX_AVX2;
		ecx |= L7_ECX_VEX;
	}
	if ((xcr0 & (7ULL << 5)) == (7ULL << 5)) {
		ebx |= L7_EBX_AVX512;
		ecx |= L7_ECX_AVX512;
	}
	r->eax = 0;
	r->ebx &= ebx;
	r->ecx &= ecx;
	if (!caps->rdtscp)
		r->ecx &= ~(1U << 22);	/* RDPID needs "enable RDTSCP" */
	r->edx &= L7_EDX_SHOWN | spec_guest_cpuid7_edx();
}

/* Leaf 4: caches as the host has them, each shared by one logical processor only. */
static void leaf4(struct cpuid_regs *r)
{
	r->eax &= 0x3ff;	/* type, level, self-init, fully associative */
}

/* Leaf 0xd: XSAVE for the offered features; EBX follows the guest's XCR0. */
static void leaf_xsave(const struct vcpu *v, uint32_t sub, struct cpuid_regs *r)
{
	uint64_t mask = vcpu_fpu_xcr0_mask();

	if (!vcpu_fpu_xsave()) {
		*r = (struct cpuid_regs){ 0 };
		return;
	}
	if (sub == 0) {
		r->eax = (uint32_t)mask;
		r->edx = (uint32_t)(mask >> 32);
		r->ebx = vcpu_fpu_area_size(v->xcr0);
		r->ecx = vcpu_fpu_area_size(mask);
	} else if (sub == 1) {
		r->eax &= (1U << 0) | (1U << 2);	/* XSAVEOPT, XGETBV with ECX=1 */
		r->ebx = r->ecx = r->edx = 0;
	} else if (sub >= 2 && sub < 63 && (mask & (1ULL << sub))) {
		r->ecx &= 2;	/* alignment flag only: user state */
		r->edx = 0;
	} else {
		*r = (struct cpuid_regs){ 0 };
	}
}

/* Leaves 0x15 and 0x16: the TSC and its crystal clock are the host's calibrated TSC rate. */
static void leaf_time(uint32_t leaf, struct cpuid_regs *r)
{
	uint64_t hz = tsc_hz();

	*r = (struct cpuid_regs){ 0 };
	if (leaf == 0x15) {
		r->eax = 1;			/* TSC / crystal = EBX / EAX = 1 */
		r->ebx = 1;
		r->ecx = (uint32_t)hz;		/* crystal, Hz */
	} else {
		r->eax = (uint32_t)(hz / 1000000);	/* base MHz */
		r->ebx = r->eax;			/* maximum MHz */
		r->ecx = 100;				/* bus (reference) MHz */
	}
}

static void cpuid_filter(const struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
	switch (leaf) {
	case 0:
		r->eax = MAX_BASIC;
		break;
	case 1:
		leaf1(v, r);
		break;
	case 4:
		leaf4(r);
		break;
	case 7:
		leaf7(sub, r);
		break;
	case 0xd:
		leaf_xsave(v, sub, r);
		break;
	case 0x15:
	case 0x16:
		leaf_time(leaf, r);
		break;
	case 2: case 3:
		break;		/* cache descriptors, serial number: as the host has them */
	case 0x80000000:
		if (r->eax > MAX_EXTENDED)
			r->eax = MAX_EXTENDED;
		break;
	case 0x80000001:
		r->ecx &= (1U << 0) | (1U << 5) | (1U << 8);
		r->edx &= (1U << 11) | (1U << 20) | (1U << 26) |
			  (vmx_host_caps()->rdtscp ? 1U << 27 : 0) | (1U << 29);
		break;
	case 0x80000002: case 0x80000003: case 0x80000004:
	case 0x80000006: case 0x80000008:
		break;		/* brand string, L2 cache, address sizes */
	case 0x80000007:
		r->eax = r->ebx = r->ecx = 0;
		r->edx &= 1U << 8;	/* invariant TSC */
		break;
	default:
		/* 5, 6, 8-0xc, 0xe-0x14, 0x80000005: MONITOR, power, DCA, PMU, topology,
		 * RDT, SGX, PT, ...: nothing. */
		*r = (struct cpuid_regs){ 0 };
	}
}

enum exit_action handle_cpuid(struct vcpu *v)
{
	uint32_t leaf = (uint32_t)v->regs.rax, sub = (uint32_t)v->regs.rcx;
	uint32_t max_ext = cpuid(0x80000000, 0).eax;
	struct cpuid_regs r;

	if ((leaf & 0xffffff00) == HV_CPUID_BASE) {
		cpuid_hypervisor(leaf, &r);
	} else if ((leaf < 0x80000000 && leaf > MAX_BASIC) ||
		   (leaf >= 0x80000000 && leaf > (max_ext > MAX_EXTENDED ? MAX_EXTENDED : max_ext))) {
		r = (struct cpuid_regs){ 0 };	/* beyond what we report: zeros */
	} else {
		r = leaf <= cpuid(0, 0).eax || leaf >= 0x80000000 ? cpuid(leaf, sub) :
		    (struct cpuid_regs){ 0 };
		cpuid_filter(v, leaf, sub, &r);
	}
	v->regs.rax = r.eax;
	v->regs.rbx = r.ebx;
	v->regs.rcx = r.ecx;
	v->regs.rdx = r.edx;
	return EXIT_SKIP;
}
