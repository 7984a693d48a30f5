/*
 * pshare: pages for the page-sharing scanner to share, then writes that
 * must break sharing without disturbing anyone else's copy.
 *
 * RAM from 4 MiB to 8 MiB: 512 pages written with zeros (backed, all
 * zero), then 512 pages that all hold one pattern (the same in every VM
 * running this guest). The guest sleeps on its timer while the scanner
 * works and probes, from the top of the pattern pages down, whether a
 * write still costs a fault (the scanner write-protected or shared the
 * page; under Bochs the TSC counts instructions, so the exit is thousands
 * of ticks where a plain store is a few). Then it writes its own mark
 * (guest.cmdline "a" or "b") into one pattern page and one zero page, has
 * the host write into another zero page (fw_cfg's signature by `rep
 * insb`: the VMM's string I/O writes guest memory), waits for its sibling
 * to do the same, and checks every page by checksum: its marked pages
 * hold its marks, every other page still holds the pattern or zeros. Two
 * VMs with one sched.mem.pshare.salt share frames between them, so a
 * write that reached the frame instead of a private copy shows in the
 * other VM's checksum.
 */
#include "guest.h"
#include "cpu.h"
#include "lapic.h"
#include "trap.h"

const char guest_name[] = "pshare";

#define PAGE 4096u
#define REGION 0x400000u
#define ZERO_PAGES 512u
#define PATTERN_PAGES 512u
#define PATTERN_BASE (REGION + ZERO_PAGES * PAGE)
#define TIMER_VEC 0x40
#define SLEEP_US 100000u
#define FAULT_TICKS 1000u	/* a store that took an exit (Bochs TSC: instructions) */
#define PROBES_MAX 64u

static volatile unsigned ticks;

static void tick(struct trap_frame *f)
{
	(void)f;
	ticks++;
	lapic_eoi();
}

static void sleep_ms(unsigned ms)
{
	for (unsigned i = 0; i < ms / (SLEEP_US / 1000); i++) {
		unsigned before = ticks;

		hc_set_timer(TIMER_VEC, SLEEP_US);
		while (ticks == before)
			sti_hlt();
		cli();
	}
}

static uint32_t pattern_word(unsigned i)
{
	return (i * 0x9e3779b1u) ^ 0x5ca1ab1eu;
}

static volatile uint32_t *page(uint32_t addr)
{
	return (volatile uint32_t *)(uintptr_t)addr;
}

static void fill(void)
{
	for (unsigned p = 0; p < ZERO_PAGES; p++)
		for (unsigned i = 0; i < PAGE / 4; i++)
			page(REGION + p * PAGE)[i] = 0;
	for (unsigned p = 0; p < PATTERN_PAGES; p++)
		for (unsigned i = 0; i < PAGE / 4; i++)
			page(PATTERN_BASE + p * PAGE)[i] = pattern_word(i);
}

/* A store to the first word of the page: did it take an exit? */
static bool store_faulted(uint32_t addr, uint32_t val)
{
	uint64_t t0 = rdtsc();

	page(addr)[0] = val;
	return rdtsc() - t0 > FAULT_TICKS;
}

static uint32_t checksum(uint32_t addr)
{
	uint32_t s = 0;

	for (unsigned i = 0; i < PAGE / 4; i++)
		s = (s << 5 | s >> 27) ^ page(addr)[i];
	return s;
}

void guest_main(void)
{
	bool b = cmdline_has("b");
	const char *id = b ? "b" : "a";
	uint32_t mark = b ? 0xbbbb0000u : 0xaaaa0000u;
	unsigned mine_pat = b ? 20 : 10, mine_zero = b ? 6 : 5;
	unsigned probes = 0, faulted = 0, bad_pat = 0, bad_zero = 0;
	uint32_t want_pat, want_zero, host = REGION + 7 * PAGE + 100, n = 4, port = 0x511;
	char sig[5] = { 0 };

	if (!vmk_present()) {
		SKIP("pages_shared_then_broken", NOT_VMK);
		guest_finish();
	}
	lapic_enable();
	irq_register(TIMER_VEC, tick);
	fill();
	/* The pattern's checksum before anything could have changed it (the last page). */
	want_pat = checksum(PATTERN_BASE + (PATTERN_PAGES - 1) * PAGE);
	want_zero = checksum(REGION);
	gprintf("%s %s: %u zero pages and %u pattern pages written; waiting for the scanner\n",
		guest_name, id, ZERO_PAGES, PATTERN_PAGES);
	/* Probe from the top pattern page down: the scanner walks upwards, so it did the rest. */
	while (probes < PROBES_MAX && faulted < 2) {
		uint32_t a = PATTERN_BASE + (PATTERN_PAGES - 1 - probes) * PAGE;

		sleep_ms(500);
		probes++;
		if (store_faulted(a, pattern_word(0)))
			faulted++;
	}
	CHECKF(faulted == 2, "scanner_reached_the_pages",
	       "no write fault on %u probed pages in %u ms of sleep", probes, probes * 500);
	sleep_ms(1000);		/* the sibling's pages too */
	gprintf("%s %s: the scanner reached the pages after %u probes; writing\n", guest_name, id,
		probes);
	/* The guest's own writes: a pattern page and a zero page. */
	for (unsigned i = 0; i < 16; i++) {
		page(PATTERN_BASE + mine_pat * PAGE)[i * 64] = mark | i;
		page(REGION + mine_zero * PAGE)[i * 64] = mark | i;
	}
	/* The host's: fw_cfg's signature into a zero page by string I/O. */
	outw(0x510, 0);
	asm volatile("cld; rep insb" : "+D"(host), "+c"(n) : "d"(port) : "memory");
	for (unsigned i = 0; i < 4; i++)
		sig[i] = ((volatile char *)(uintptr_t)(REGION + 7 * PAGE + 100))[i];
	CHECKF(sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U',
	       "host_write_to_shared_page", "fw_cfg signature read as '%s'", sig);
	sleep_ms(1000);		/* the sibling writes its pages meanwhile */
	/* Probed pages included: a probe stores the word the page already holds. */
	for (unsigned p = 0; p < PATTERN_PAGES; p++) {
		uint32_t a = PATTERN_BASE + p * PAGE;

		if (p == mine_pat) {
			for (unsigned i = 0; i < 16; i++)
				bad_pat += page(a)[i * 64] != (mark | i);
		} else if (checksum(a) != want_pat) {
			bad_pat++;
		}
	}
	for (unsigned p = 0; p < ZERO_PAGES; p++) {
		uint32_t a = REGION + p * PAGE;

		if (p == mine_zero) {
			for (unsigned i = 0; i < 16; i++)
				bad_zero += page(a)[i * 64] != (mark | i);
		} else if (p != 7 && checksum(a) != want_zero) {
			bad_zero++;
		}
	}
	gprintf("%s %s: checksums: pattern 0x%x, zero 0x%x; %u pattern and %u zero pages differ\n",
		guest_name, id, want_pat, want_zero, bad_pat, bad_zero);
	CHECKF(bad_pat == 0, "pattern_pages_private_after_writes",
	       "%u pattern pages do not hold what this VM wrote", bad_pat);
	CHECKF(bad_zero == 0, "zero_pages_private_after_writes",
	       "%u zero pages do not hold what this VM wrote", bad_zero);
	guest_finish();
}
