/*
 * msr: the MSRs a guest owns round-trip through RDMSR/WRMSR, the read-only
 * ones read, and everything else (VMX capability MSRs, feature control,
 * host-only and nonexistent MSRs) raises #GP(0) inside the guest.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "msr";

#define NONCANONICAL 0x0000800000000000ull

struct msr_case {
	uint32_t msr;
	const char *name;
	uint64_t value;
};

static bool has_lm(void)
{
	return cpuid_has(0x80000001, 'd', 29);
}

/* Write VALUE, read it back, restore the old value. */
static void round_trip(uint32_t msr, const char *name, uint64_t value)
{
	uint64_t old = 0, got = 0;
	int f1, f2, f3;

	f1 = try_rdmsr(msr, &old);
	f2 = try_wrmsr(msr, value);
	f3 = try_rdmsr(msr, &got);
	try_wrmsr(msr, old);
	if (f1 >= 0 || f2 >= 0 || f3 >= 0) {
		CHECKF(false, name, "msr 0x%x faulted: read %d, write %d, read back %d", msr, f1,
		       f2, f3);
		return;
	}
	CHECK_EQ64(got, value, name);
}

static void check_syscall_msrs(void)
{
	static const struct msr_case lm_cases[] = {
		{ MSR_IA32_LSTAR, "lstar", 0xffffffff81234560ull },
		{ MSR_IA32_CSTAR, "cstar", 0xffff800000002000ull },
		{ MSR_IA32_FMASK, "fmask", 0x47700 },
		{ MSR_IA32_FS_BASE, "fs_base", 0x12345000 },
		{ MSR_IA32_GS_BASE, "gs_base", 0x00007fff00001000ull },
		{ MSR_IA32_KERNEL_GS_BASE, "kernel_gs_base", 0xffff888000000000ull },
	};
	unsigned int i;

	round_trip(MSR_IA32_STAR, "star", 0x0023001000105000ull);
	for (i = 0; i < sizeof(lm_cases) / sizeof(lm_cases[0]); i++) {
		if (!has_lm())
			SKIP(lm_cases[i].name, "CPUID reports no long mode");
		else
			round_trip(lm_cases[i].msr, lm_cases[i].name, lm_cases[i].value);
	}
	if (!cpuid_has(1, 'd', 11)) {
		SKIP("sysenter", "CPUID reports no SYSENTER");
		return;
	}
	round_trip(MSR_IA32_SYSENTER_CS, "sysenter_cs", SEL_KCODE);
	round_trip(MSR_IA32_SYSENTER_ESP, "sysenter_esp", 0x200000);
	round_trip(MSR_IA32_SYSENTER_EIP, "sysenter_eip", 0x101234);
}

static void check_efer(void)
{
	uint64_t efer = 0;

	CHECK_EQ(try_rdmsr(MSR_IA32_EFER, &efer), -1, "efer_read");
	CHECKF(!(efer & (EFER_LME | EFER_LMA)), "efer_boot", "efer 0x%llx at boot",
	       (unsigned long long)efer);
	if (cpuid_has(0x80000001, 'd', 20))
		round_trip(MSR_IA32_EFER, "efer_nxe", efer | EFER_NXE);
	else
		SKIP("efer_nxe", "CPUID reports no NX");
	if (cpuid_has(0x80000001, 'd', 11))
		round_trip(MSR_IA32_EFER, "efer_sce", efer | EFER_SCE);
	else
		SKIP("efer_sce", "CPUID reports no SYSCALL in this mode");
}

static void check_pat_aux(void)
{
	uint32_t lo, hi, aux;

	if (cpuid_has(1, 'd', 16))
		round_trip(MSR_IA32_PAT, "pat", 0x0106050400070406ull);
	else
		SKIP("pat", "CPUID reports no PAT");
	if (!cpuid_has(0x80000001, 'd', 27)) {
		SKIP("tsc_aux", "CPUID reports no RDTSCP");
		return;
	}
	round_trip(MSR_IA32_TSC_AUX, "tsc_aux", 0x2a);
	try_wrmsr(MSR_IA32_TSC_AUX, 0x17);
	asm volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	CHECK_EQ(aux, 0x17, "rdtscp_aux");
}

static void check_tsc(void)
{
	uint64_t a = 0, b = 0, t0, t1;
	int f;

	t0 = rdtsc();
	f = try_rdmsr(MSR_IA32_TSC, &a);
	wait_tsc(1000);
	try_rdmsr(MSR_IA32_TSC, &b);
	t1 = rdtsc();
	CHECK_EQ(f, -1, "tsc_read");
	if (!vmk_present() && a == 0 && b == 0) {
		/* QEMU TCG returns 0 for RDMSR of IA32_TSC; hardware and vmkernel do not. */
		SKIP("tsc_increases", "emulator reads IA32_TSC as 0");
		SKIP("tsc_matches_rdtsc", "emulator reads IA32_TSC as 0");
		return;
	}
	CHECKF(b > a, "tsc_increases", "0x%llx then 0x%llx", (unsigned long long)a,
	       (unsigned long long)b);
	CHECKF(t0 <= a && b <= t1, "tsc_matches_rdtsc",
	       "rdtsc 0x%llx, msr 0x%llx..0x%llx, rdtsc 0x%llx", (unsigned long long)t0,
	       (unsigned long long)a, (unsigned long long)b, (unsigned long long)t1);
}

static void check_read_only(void)
{
	static const struct msr_case cases[] = {
		{ MSR_IA32_APIC_BASE, "apic_base_read", 0 },
		{ MSR_IA32_MISC_ENABLE, "misc_enable_read", 0 },
		{ MSR_IA32_MTRRCAP, "mtrrcap_read", 0 },
		{ MSR_IA32_MTRR_DEF_TYPE, "mtrr_def_type_read", 0 },
	};
	unsigned int i;
	uint64_t v;
	int f;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].msr >= MSR_IA32_MTRRCAP && !cpuid_has(1, 'd', 12)) {
			SKIP(cases[i].name, "CPUID reports no MTRR");
			continue;
		}
		f = try_rdmsr(cases[i].msr, &v);
		CHECKF(f < 0, cases[i].name, "read of 0x%x raised vector %d", cases[i].msr, f);
	}
}

/* Values hardware refuses with #GP: the VMM must refuse them too. */
static void check_bad_values(void)
{
	static const struct msr_case cases[] = {
		{ MSR_IA32_LSTAR, "lstar_noncanonical_gp", NONCANONICAL },
		{ MSR_IA32_FS_BASE, "fs_base_noncanonical_gp", NONCANONICAL },
		{ MSR_IA32_PAT, "pat_reserved_type_gp", 0x0007040600070402ull },
		{ MSR_IA32_EFER, "efer_reserved_bit_gp", 1u << 1 },
		{ MSR_IA32_TSC_AUX, "tsc_aux_high_bits_gp", 1ull << 32 },
	};
	unsigned int i;
	int f;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (vmk_skip(cases[i].name))
			continue;
		f = try_wrmsr(cases[i].msr, cases[i].value);
		CHECKF(f == VEC_GP && trap_last.err == 0, cases[i].name,
		       "wrmsr 0x%x <- 0x%llx gave vector %d error 0x%x", cases[i].msr,
		       (unsigned long long)cases[i].value, f, trap_last.err);
	}
}

static void expect_read_gp(uint32_t msr, const char *name)
{
	uint64_t v = 0;
	int f = try_rdmsr(msr, &v);

	CHECKF(f == VEC_GP && trap_last.err == 0, name,
	       "rdmsr 0x%x gave vector %d error 0x%x value 0x%llx", msr, f, trap_last.err,
	       (unsigned long long)v);
}

static void check_denied(void)
{
	uint32_t msr;
	unsigned int bad = 0;
	uint64_t v;

	if (!vmk_skip("vmx_msrs_gp")) {
		for (msr = MSR_IA32_VMX_BASIC; msr <= MSR_IA32_VMX_VMFUNC; msr++) {
			if (try_rdmsr(msr, &v) != VEC_GP || trap_last.err != 0) {
				gprintf("msr: rdmsr 0x%x did not raise #GP(0)\n", msr);
				bad++;
			}
		}
		CHECKF(bad == 0, "vmx_msrs_gp", "%u of 18 VMX MSRs readable", bad);
	}
	if (!vmk_skip("feature_control_locked")) {
		uint64_t fc = 0;
		int f = try_rdmsr(MSR_IA32_FEATURE_CONTROL, &fc);

		/* Locked with VMX off, as firmware that forbids VMX leaves it. */
		CHECKF(f < 0 && fc == 1, "feature_control_locked", "vector %d value 0x%llx", f,
		       (unsigned long long)fc);
	}
	if (!vmk_skip("feature_control_write_gp"))
		CHECK_EQ(try_wrmsr(MSR_IA32_FEATURE_CONTROL, 0x5), VEC_GP,
			 "feature_control_write_gp");
	if (!vmk_skip("smbase_read_gp"))
		expect_read_gp(0x9e, "smbase_read_gp");
	if (!vmk_skip("mc0_ctl_read_gp"))
		expect_read_gp(0x400, "mc0_ctl_read_gp");
	if (!vmk_skip("debugctl_lbr_gp")) {
		uint64_t dc = 1;
		int f = try_rdmsr(0x1d9, &dc);

		/* Readable (0 at reset); BTF may be set, LBR and the rest may not. */
		CHECKF(f < 0 && dc == 0 && try_wrmsr(0x1d9, 1) == VEC_GP &&
			       try_wrmsr(0x1d9, 2) < 0 && try_wrmsr(0x1d9, 0) < 0,
		       "debugctl_lbr_gp", "read vector %d value 0x%llx", f, (unsigned long long)dc);
	}
	if (!vmk_skip("x2apic_id_read_gp"))
		expect_read_gp(0x802, "x2apic_id_read_gp");
	if (!vmk_skip("hyperv_range_read_gp"))
		expect_read_gp(0x40000000, "hyperv_range_read_gp");
	if (!vmk_skip("nonexistent_read_gp"))
		expect_read_gp(0xdeadbeef, "nonexistent_read_gp");
	if (!vmk_skip("nonexistent_write_gp"))
		CHECK_EQ(try_wrmsr(0xdeadbeef, 1), VEC_GP, "nonexistent_write_gp");
}

void guest_main(void)
{
	check_efer();
	check_syscall_msrs();
	check_pat_aux();
	check_tsc();
	check_read_only();
	check_bad_values();
	check_denied();
}
