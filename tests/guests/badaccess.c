/*
 * badaccess: read guest-physical memory just above the top of memory the
 * firmware describes (RAM, then the ACPI tables above it). Under vmkernel
 * that address is nobody's: the VM must be stopped there (expected result
 * "stopped:bad-access"). Anywhere else (plain QEMU) the read returns
 * something and the check is skipped.
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "badaccess";

/* The end of the memory-map entry (RAM or ACPI data) that ends highest below 2 GiB. */
static uint32_t described_top(void)
{
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)boot_mbi;
	uint64_t top = mem_top();

	for (uint32_t off = 0; (mbi->flags & MB1_INFO_MMAP) && off + 4 <= mbi->mmap_length;) {
		const struct mb1_mmap_entry *e = (const void *)(uintptr_t)(mbi->mmap_addr + off);
		uint64_t end = e->addr + e->len;

		if ((e->type == 1 || e->type == 3) && end > top && end < 0x80000000ull)
			top = end;
		off += e->size + 4;
	}
	return (uint32_t)top;
}

void guest_main(void)
{
	uint32_t gpa = described_top() + 4096;
	uint32_t v;

	gprintf("badaccess: about to touch 0x%x, past the end of RAM\n", gpa);
	v = *(volatile uint32_t *)(uintptr_t)gpa;
	gprintf("badaccess: the read returned 0x%x\n", v);
	if (vmk_skip("stopped_at_bad_access"))
		return;
	CHECKF(false, "stopped_at_bad_access", "read of 0x%x past RAM returned 0x%x", gpa, v);
}
