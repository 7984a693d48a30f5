/*
 * badaccess: read guest-physical memory just above the top of RAM. Under
 * vmkernel that address is nobody's: the VM must be stopped there
 * (expected result "stopped:bad-access"). Anywhere else (plain QEMU) the
 * read returns something and the check is skipped.
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "badaccess";

void guest_main(void)
{
	uint32_t gpa = (uint32_t)mem_top() + 4096;
	uint32_t v;

	gprintf("badaccess: about to touch 0x%x, past the end of RAM\n", gpa);
	v = *(volatile uint32_t *)(uintptr_t)gpa;
	gprintf("badaccess: the read returned 0x%x\n", v);
	if (vmk_skip("stopped_at_bad_access"))
		return;
	CHECKF(false, "stopped_at_bad_access", "read of 0x%x past RAM returned 0x%x", gpa, v);
}
