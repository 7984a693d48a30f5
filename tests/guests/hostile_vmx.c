/*
 * hostile_vmx: a guest trying to use VMX (or SVM, or SMX) itself. Every
 * VMX instruction raises #UD inside the guest, at CPL 0 and CPL 3;
 * CR4.VMXE cannot be set; the VMX MSRs cannot be written; and the VM keeps
 * running to the end.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "hostile_vmx";

static uint8_t region[4096] __attribute__((aligned(4096)));
static uint64_t desc[2];

struct insn_case {
	const char *name;
	void (*run)(void);
};

#define INSN_CASE(fn, text, ...)                                    \
	static void fn(void)                                        \
	{                                                           \
		asm volatile(TRAP_TRY(text) : : __VA_ARGS__ : "ebx", "memory"); \
	}

INSN_CASE(do_vmxon, "vmxon (%0)", "r"(region))
INSN_CASE(do_vmxoff, "vmxoff", "r"(0))
INSN_CASE(do_vmptrld, "vmptrld (%0)", "r"(region))
INSN_CASE(do_vmptrst, "vmptrst (%0)", "r"(region))
INSN_CASE(do_vmclear, "vmclear (%0)", "r"(region))
INSN_CASE(do_vmread, "vmread %0, %%ebx", "a"(0x681e))
INSN_CASE(do_vmwrite, "vmwrite %%edx, %%eax", "a"(0x681e), "d"(0x100000))
INSN_CASE(do_vmlaunch, "vmlaunch", "r"(0))
INSN_CASE(do_vmresume, "vmresume", "r"(0))
INSN_CASE(do_invept, "invept (%0), %1", "r"(desc), "r"(1))
INSN_CASE(do_invvpid, "invvpid (%0), %1", "r"(desc), "r"(1))
INSN_CASE(do_vmfunc, ".byte 0x0f, 0x01, 0xd4", "a"(0), "c"(0))
INSN_CASE(do_getsec, "getsec", "a"(0))
INSN_CASE(do_vmrun, "vmrun", "a"(region))
INSN_CASE(do_vmmcall, "vmmcall", "a"(0))

static const struct insn_case cases[] = {
	{ "vmxon_ud", do_vmxon },       { "vmxoff_ud", do_vmxoff },
	{ "vmptrld_ud", do_vmptrld },   { "vmptrst_ud", do_vmptrst },
	{ "vmclear_ud", do_vmclear },   { "vmread_ud", do_vmread },
	{ "vmwrite_ud", do_vmwrite },   { "vmlaunch_ud", do_vmlaunch },
	{ "vmresume_ud", do_vmresume }, { "invept_ud", do_invept },
	{ "invvpid_ud", do_invvpid },   { "vmfunc_ud", do_vmfunc },
	{ "getsec_ud", do_getsec },     { "svm_vmrun_ud", do_vmrun },
	{ "svm_vmmcall_ud", do_vmmcall },
};

static int user_vmxon(void)
{
	trap_arm();
	do_vmxon();
	return trap_done();
}

static int user_vmcall(void)
{
	return (int)hc_version();
}

static void check_cpl3(void)
{
	int r = run_user(user_vmxon);

	CHECKF(r == VEC_UD && trap_last.eip == trap_insn, "vmxon_cpl3_ud",
	       "vector %d at eip 0x%x", r, trap_last.eip);
	if (!vmk_skip("vmcall_cpl3_eperm"))
		CHECK_EQ(run_user(user_vmcall), HC_EPERM, "vmcall_cpl3_eperm");
}

static void check_vmx_state(void)
{
	uint32_t cr4 = read_cr4();
	unsigned int bad = 0;
	uint32_t msr;
	int f;

	if (!vmk_skip("cr4_vmxe_gp")) {
		f = try_write_cr4(cr4 | CR4_VMXE);
		CHECKF(f == VEC_GP && !(read_cr4() & CR4_VMXE), "cr4_vmxe_gp",
		       "vector %d, cr4 0x%lx", f, read_cr4());
		write_cr4(cr4);
	}
	if (vmk_skip("vmx_msr_writes_gp"))
		return;
	for (msr = MSR_IA32_VMX_BASIC; msr <= MSR_IA32_VMX_VMFUNC; msr++)
		bad += try_wrmsr(msr, 0) != VEC_GP;
	bad += try_wrmsr(MSR_IA32_FEATURE_CONTROL, 0x5) != VEC_GP;
	CHECKF(bad == 0, "vmx_msr_writes_gp", "%u writes did not raise #GP", bad);
}

void guest_main(void)
{
	unsigned int i;
	int f;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		trap_arm();
		cases[i].run();
		f = trap_done();
		CHECKF(f == VEC_UD && trap_last.eip == trap_insn, cases[i].name,
		       "vector %d at eip 0x%x (insn at 0x%x)", f, trap_last.eip, trap_insn);
	}
	check_cpl3();
	check_vmx_state();
	gprintf("hostile_vmx: still running\n");
}
