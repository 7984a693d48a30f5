/*
 * long64: the ELF64 guest. Its entry code switches to long mode itself;
 * here, in 64-bit code, it checks that long mode is active, prints, runs
 * CPUID, and makes hypercalls with 64-bit registers (results sign-extended
 * to 64 bits, the other registers preserved in full).
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "long64";

static void check_mode(void)
{
	uint64_t efer = rdmsr(MSR_IA32_EFER);
	uint64_t wide = 0x123456789ull;

	gprintf("long64: hello from 64-bit mode\n");
	CHECKF((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "efer_lma",
	       "efer 0x%llx", (unsigned long long)efer);
	CHECKF((read_cr0() & CR0_PG) && (read_cr4() & CR4_PAE), "paging_pae", "cr0 0x%lx cr4 0x%lx",
	       read_cr0(), read_cr4());
	asm volatile("shlq $4, %0" : "+r"(wide));
	CHECK_EQ64(wide, 0x1234567890ull, "64bit_register");
}

static void check_cpuid(void)
{
	struct cpuid_regs r = cpuid(0, 0);
	struct cpuid_regs e = cpuid(0x80000001, 0);

	CHECKF(r.eax >= 1 && r.ebx != 0, "cpuid_leaf0", "eax 0x%x ebx 0x%x", r.eax, r.ebx);
	CHECKF(e.edx & (1u << 29), "cpuid_long_mode", "leaf 0x80000001 edx 0x%x", e.edx);
	if (vmk_skip("cpuid_hv_signature"))
		return;
	r = cpuid(0x40000000, 0);
	CHECKF(r.ebx == 0x654b4d56 && r.ecx == 0x6c656e72 && r.edx == 0x204d4d56,
	       "cpuid_hv_signature", "ebx 0x%x ecx 0x%x edx 0x%x", r.ebx, r.ecx, r.edx);
}

static void check_vmcall(void)
{
	static const char msg[] = "long64: this line was written by HC_CONSOLE_WRITE\n";
	uint64_t rax = HC_VERSION, rbx = 0xbbbbbbbb11111111ull, rcx = 0xcccccccc22222222ull;
	uint64_t rdx = 0xdddddddd33333333ull;

	if (vmk_skip("vmcall_version_64") | vmk_skip("vmcall_regs_preserved_64") |
	    vmk_skip("vmcall_enosys_sign_extended") | vmk_skip("vmcall_console_write_64"))
		return;
	/*
	 * Register variables hold their register only at the asm statement: set
	 * them right before it and copy them out right after, before any call.
	 */
	register uint64_t r8 asm("r8") = 0x8888888844444444ull;
	register uint64_t r11 asm("r11") = 0xbbbb111155555555ull;
	uint64_t r8_after, r11_after;

	asm volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx), "+r"(r8), "+r"(r11)
		     : : "memory");
	r8_after = r8;
	r11_after = r11;
	CHECK_EQ64(rax, HC_ABI_VERSION, "vmcall_version_64");
	CHECKF(rbx == 0xbbbbbbbb11111111ull && rcx == 0xcccccccc22222222ull &&
		       rdx == 0xdddddddd33333333ull && r8_after == 0x8888888844444444ull &&
		       r11_after == 0xbbbb111155555555ull,
	       "vmcall_regs_preserved_64", "rbx %llx rcx %llx rdx %llx r8 %llx r11 %llx",
	       (unsigned long long)rbx, (unsigned long long)rcx, (unsigned long long)rdx,
	       (unsigned long long)r8_after, (unsigned long long)r11_after);
	CHECK_EQ64((uint64_t)vmcall(99, 0, 0, 0), (uint64_t)(int64_t)HC_ENOSYS,
		   "vmcall_enosys_sign_extended");
	CHECK_EQ64((uint64_t)hc_console_write(msg, sizeof(msg) - 1), sizeof(msg) - 1,
		   "vmcall_console_write_64");
}

void guest_main(void)
{
	check_mode();
	check_cpuid();
	check_vmcall();
}
