/*
 * hostile_memhog: touches every page of its RAM, as fast as it can, and
 * reads the patterns back. With a reservation (sched.mem.min = memsize) it
 * is the well-behaved VM that must get all its memory however greedy its
 * neighbours are; without one, on a host that cannot back all the VMs'
 * memsize at once, it is the VM that runs the host dry and must be the one
 * stopped (test.expect says which). The host must keep its own reserve
 * and every other VM must carry on. The reserved one lingers 20 s of
 * guest time after its first pass (so its neighbour meets a host without
 * that memory) and then checks every page again.
 */
#include "guest.h"
#include "cpu.h"
#include "lapic.h"
#include "trap.h"

const char guest_name[] = "hostile_memhog";

#define PAGE 4096u

#define TIMER_VEC 0x40
#define LINGER_US 20000000ul

static volatile unsigned ticks;

static void tick(struct trap_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

static void linger(void)
{
	lapic_enable();
	irq_register(TIMER_VEC, tick);
	hc_set_timer(TIMER_VEC, LINGER_US);
	while (!ticks)
		sti_hlt();
	asm volatile("cli");
}

static uint32_t pattern(uint32_t addr)
{
	return (addr >> 12) * 0x9e3779b1u ^ 0x5a5a5a5au;
}

void guest_main(void)
{
	uint32_t start = (uint32_t)(uintptr_t)_image_end, end = (uint32_t)mem_top() & ~(PAGE - 1);
	uint32_t bad = 0, pages = (end - start) / PAGE;

	gprintf("%s: touching %u pages, 0x%x..0x%x\n", guest_name, pages, start, end);
	for (uint32_t a = start; a < end; a += PAGE) {
		*(volatile uint32_t *)(uintptr_t)a = pattern(a);
		if (((a - start) & 0x7fffff) == 0)
			gprintf("%s: %u MiB touched\n", guest_name, (a - start) >> 20);
	}
	for (uint32_t a = start; a < end; a += PAGE)
		bad += *(volatile uint32_t *)(uintptr_t)a != pattern(a);
	CHECKF(bad == 0, "every_page_kept_its_pattern", "%u of %u pages wrong", bad, pages);
	if (!cmdline_has("hog") && vmk_present()) {
		gprintf("%s: lingering %lu s with all its RAM\n", guest_name, LINGER_US / 1000000);
		linger();
		bad = 0;
		for (uint32_t a = start; a < end; a += PAGE)
			bad += *(volatile uint32_t *)(uintptr_t)a != pattern(a);
		CHECKF(bad == 0, "pages_kept_after_the_neighbour", "%u of %u pages wrong", bad, pages);
	}
	CHECKF(pages > 1000, "touched_its_ram", "only %u pages", pages);
	guest_finish();
}
