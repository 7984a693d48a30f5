/*
 * vmcall: the hypercall ABI of docs/hypercalls.md: results, error codes,
 * register preservation, refusal at CPL 3, and the end of the VM through
 * HC_EXIT rather than the debug-exit port.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "vmcall";

#define MAX_WRITE 4096

static char big[MAX_WRITE + 1];

static void check_basic(void)
{
	static const char msg[] = "vmcall: this line was written by HC_CONSOLE_WRITE\n";

	CHECK_EQ(hc_version(), HC_ABI_VERSION, "hc_version");
	CHECK_EQ(hc_vcpu_id(), 0, "hc_vcpu_id");
	CHECK_EQ(hc_console_write(msg, sizeof(msg) - 1), sizeof(msg) - 1, "console_write");
	CHECK_EQ(vmcall(99, 0, 0, 0), HC_ENOSYS, "unknown_function_99");
	CHECK_EQ(vmcall(0x80000000u, 0, 0, 0), HC_ENOSYS, "unknown_function_high");
}

static void check_console_bounds(void)
{
	uint32_t top = (uint32_t)mem_end();	/* past RAM and the ACPI tables above it */
	unsigned int i;

	CHECK_EQ(hc_console_write_gpa(top + 4096, 16), HC_EFAULT, "console_write_above_ram");
	CHECK_EQ(hc_console_write_gpa(top - 8, 16), HC_EFAULT, "console_write_straddles_top");
	CHECK_EQ(hc_console_write_gpa(0xb8000, 16), HC_EFAULT, "console_write_vga_hole");
	CHECK_EQ(hc_console_write_gpa(0xfffffff0u, 0x20), HC_EFAULT, "console_write_wraps_4g");
	CHECK_EQ(hc_console_write(big, MAX_WRITE + 1), HC_EINVAL, "console_write_too_long");
	/* Exactly the maximum: 64 lines of 64 bytes. */
	for (i = 0; i < MAX_WRITE; i++)
		big[i] = (i % 64) == 63 ? '\n' : (i % 64) < 8 ? "vmcall: "[i % 64] : '=';
	CHECK_EQ(hc_console_write(big, MAX_WRITE), MAX_WRITE, "console_write_max_length");
}

static void check_preserved(void)
{
	uint32_t b = 0x11111111, c = 0x22222222, d = 0x33333333, s = 0x44444444;
	uint32_t di = 0x55555555, ret = HC_VERSION;

	asm volatile("vmcall" : "+a"(ret), "+b"(b), "+c"(c), "+d"(d), "+S"(s), "+D"(di)
		     : : "memory");
	CHECKF(ret == HC_ABI_VERSION && b == 0x11111111 && c == 0x22222222 && d == 0x33333333 &&
		       s == 0x44444444 && di == 0x55555555,
	       "registers_preserved", "eax %x ebx %x ecx %x edx %x esi %x edi %x", ret, b, c, d,
	       s, di);
}

static int user_version(void)
{
	return (int)hc_version();
}

static int user_exit(void)
{
	hc_exit(3);
	return (int)vmcall(HC_EXIT, 3, 0, 0);
}

static void check_cpl3(void)
{
	int r = run_user(user_version);

	CHECK_EQ(r, HC_EPERM, "cpl3_version_eperm");
	r = run_user(user_exit);
	CHECK_EQ(r, HC_EPERM, "cpl3_exit_refused");
}

void guest_main(void)
{
	static const char *const names[] = {
		"hc_version", "hc_vcpu_id", "console_write", "unknown_function_99",
		"unknown_function_high", "console_write_above_ram", "console_write_straddles_top",
		"console_write_vga_hole", "console_write_wraps_4g", "console_write_too_long",
		"console_write_max_length", "registers_preserved", "cpl3_version_eperm",
		"cpl3_exit_refused",
	};
	unsigned int i;
	int status;

	if (!vmk_present()) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			SKIP(names[i], NOT_VMK);
		return;
	}
	check_basic();
	check_console_bounds();
	check_preserved();
	check_cpl3();
	gprintf("vmcall: ending through HC_EXIT\n");
	status = finish_status();
	hc_exit((unsigned int)status);
	guest_fail("HC_EXIT returned");
	guest_finish();
}
