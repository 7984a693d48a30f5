/*
 * cpuid: what CPUID tells a guest. The hypervisor bit is set and VMX is
 * hidden; leaf 0x40000000 carries our signature and leaf 0x40000001 the
 * ABI version; the basic leaves still describe a sane CPU.
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "cpuid";

static void regs_to_str(char *out, uint32_t a, uint32_t b, uint32_t c)
{
	__builtin_memcpy(out, &a, 4);
	__builtin_memcpy(out + 4, &b, 4);
	__builtin_memcpy(out + 8, &c, 4);
	out[12] = 0;
}

static void check_basic(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	uint32_t family, model;
	char vendor[13];
	unsigned int printable = 0, i;

	regs_to_str(vendor, r.ebx, r.edx, r.ecx);
	for (i = 0; i < 12; i++)
		printable += vendor[i] > 0x20 && vendor[i] < 0x7f;
	gprintf("cpuid: max basic leaf 0x%x, vendor '%s'\n", r.eax, vendor);
	CHECKF(r.eax >= 1, "max_basic_leaf", "leaf 0 eax 0x%x < 1", r.eax);
	CHECKF(printable >= 8, "vendor_string", "vendor '%s' is not text", vendor);

	r = cpuid(1, 0);
	family = (r.eax >> 8) & 0xf;
	model = (r.eax >> 4) & 0xf;
	if (family == 0xf)
		family += (r.eax >> 20) & 0xff;
	if (family == 6 || family >= 0xf)
		model |= ((r.eax >> 16) & 0xf) << 4;
	gprintf("cpuid: family 0x%x model 0x%x stepping %u\n", family, model, r.eax & 0xf);
	CHECKF(family != 0, "leaf1_family", "leaf 1 eax 0x%x has family 0", r.eax);
	CHECKF(r.edx & (1u << 0), "leaf1_fpu", "leaf 1 edx 0x%x lacks FPU", r.edx);
	CHECKF(r.edx & (1u << 4), "leaf1_tsc", "leaf 1 edx 0x%x lacks TSC", r.edx);
	CHECKF(r.edx & (1u << 5), "leaf1_msr", "leaf 1 edx 0x%x lacks MSR", r.edx);
	r = cpuid(0x80000000, 0);
	CHECKF(r.eax >= 0x80000001 && r.eax < 0x80000100, "max_ext_leaf",
	       "leaf 0x80000000 eax 0x%x", r.eax);
}

static void check_hv_bits(void)
{
	struct cpuid_regs r = cpuid(1, 0);

	CHECKF(!(r.ecx & (1u << 5)), "vmx_hidden", "leaf 1 ecx 0x%x has VMX (bit 5)", r.ecx);
	if (vmk_skip("hypervisor_bit"))
		return;
	CHECKF(r.ecx & (1u << 31), "hypervisor_bit", "leaf 1 ecx 0x%x lacks bit 31", r.ecx);
}

/* Leaves 0x40000010, 0x15 and 0x16 describe the same TSC rate. */
static void check_time_leaves(void)
{
	struct cpuid_regs hv = cpuid(0x40000010, 0), l0 = cpuid(0, 0), l15, l16;

	CHECKF(hv.eax != 0 && hv.ebx == hv.eax, "hv_tsc_khz", "TSC %u kHz, APIC timer %u kHz",
	       hv.eax, hv.ebx);
	if (l0.eax < 0x16) {
		CHECKF(false, "tsc_crystal_leaf", "highest basic leaf 0x%x, want 0x16", l0.eax);
		return;
	}
	l15 = cpuid(0x15, 0);
	l16 = cpuid(0x16, 0);
	CHECKF(l15.eax == 1 && l15.ebx == 1 && l15.ecx / 1000 == hv.eax &&
		       l16.eax == hv.eax / 1000,
	       "tsc_crystal_leaf", "0x15: %u/%u x %u Hz, 0x16: %u MHz; 0x40000010: %u kHz",
	       l15.ebx, l15.eax, l15.ecx, l16.eax, hv.eax);
}

static void check_hv_leaves(void)
{
	struct cpuid_regs r;
	char sig[13];

	r = cpuid(0x40000000, 0);
	regs_to_str(sig, r.ebx, r.ecx, r.edx);
	if (vmk_skip("hv_signature") | vmk_skip("hv_max_leaf") | vmk_skip("hv_abi_version") |
	    vmk_skip("hv_tsc_khz") | vmk_skip("tsc_crystal_leaf") | vmk_skip("apic_bits"))
		return;
	CHECKF(__builtin_memcmp(sig, "VMKernelVMM ", 12) == 0, "hv_signature",
	       "signature '%s'", sig);
	CHECK_EQ(r.eax, 0x40000010, "hv_max_leaf");
	r = cpuid(0x40000001, 0);
	CHECK_EQ(r.eax, HC_ABI_VERSION, "hv_abi_version");
	check_time_leaves();
	r = cpuid(1, 0);
	/* A local APIC (EDX 9), x2APIC (ECX 21) and the TSC-deadline timer (ECX 24). */
	CHECKF((r.edx & (1u << 9)) && (r.ecx & (1u << 21)) && (r.ecx & (1u << 24)), "apic_bits",
	       "leaf 1 ecx 0x%x edx 0x%x", r.ecx, r.edx);
}

/* CPUID must behave the same however often it is asked (VM exits are stateless). */
static void check_repeatable(void)
{
	struct cpuid_regs a = cpuid(1, 0), b;
	unsigned int i, diff = 0;

	for (i = 0; i < 100; i++) {
		b = cpuid(1, 0);
		/* EBX[31:24] is the initial APIC ID: constant for one vCPU. */
		diff += a.eax != b.eax || a.ecx != b.ecx || a.edx != b.edx || a.ebx != b.ebx;
	}
	CHECKF(diff == 0, "leaf1_stable", "%u of 100 reads differed", diff);
}

void guest_main(void)
{
	check_basic();
	check_hv_bits();
	check_hv_leaves();
	check_repeatable();
}
