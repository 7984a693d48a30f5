/*
 * memtouch: write a pattern unique to each page into every 4 KiB page of
 * guest RAM above the image, then read them all back. Under vmkernel each
 * first touch is an EPT violation that allocates the page; the read-back
 * proves every page got its own frame and kept its contents.
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "memtouch";

#define PAGE 4096u
#define MEMSIZE_MIB 64 /* memtouch.vmx: memsize = "64" */

static uint32_t pattern(uint32_t addr)
{
	return (addr >> 12) * 0x9e3779b1u ^ 0xa5a5a5a5u;
}

void guest_main(void)
{
	uint64_t top = mem_top();
	uint32_t start = (uint32_t)(uintptr_t)_image_end, end, a, bad = 0, first_bad = 0;
	uint32_t pages;

	/* memsize counts all of it: RAM and the ACPI tables at its top. */
	if (vmk_present())
		CHECK_EQ64(mem_end(), (uint64_t)MEMSIZE_MIB << 20, "mem_end_is_memsize");
	else
		SKIP("mem_end_is_memsize", NOT_VMK);
	if (top > 0xfff00000ull || top <= start + PAGE) {
		CHECKF(false, "memory_map", "unusable top of RAM 0x%llx", (unsigned long long)top);
		return;
	}
	end = (uint32_t)top & ~(PAGE - 1);
	pages = (end - start) / PAGE;
	gprintf("memtouch: writing %u pages, 0x%x..0x%x\n", pages, start, end);
	for (a = start; a < end; a += PAGE) {
		*(volatile uint32_t *)(uintptr_t)a = pattern(a);
		*(volatile uint32_t *)(uintptr_t)(a + PAGE - 4) = ~pattern(a);
	}
	for (a = start; a < end; a += PAGE) {
		if (*(volatile uint32_t *)(uintptr_t)a != pattern(a) ||
		    *(volatile uint32_t *)(uintptr_t)(a + PAGE - 4) != ~pattern(a)) {
			if (!bad)
				first_bad = a;
			bad++;
		}
	}
	gprintf("memtouch: touched %u pages (%u KiB)\n", pages, pages * 4);
	CHECKF(bad == 0, "every_page_kept_its_pattern", "%u pages wrong, first at 0x%x", bad,
	       first_bad);
	CHECKF(pages >= (MEMSIZE_MIB - 2) * 256u, "touched_nearly_all_ram",
	       "only %u pages between the image and the top of RAM", pages);
}
