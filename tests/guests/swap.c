/*
 * swap: more guest pages than the VM's sched.mem.max lets it hold, so
 * the hypervisor swaps them to the VM's swap file and back.
 *
 * RAM from 4 MiB up: PAGES pages, word i of page p holding
 * word(p, i, seed), written in order; every page is then read back and
 * compared word by word (the pages written first have long gone to the
 * swap file, so this reads them back in, swapping others out); every
 * seventh page is rewritten with another seed and everything is checked
 * again. In between, the host writes into a page that was swapped out:
 * fw_cfg's signature by `rep insb` (the VMM's string I/O writes guest
 * memory through the same path as a fault) into page 1, which must then
 * hold the signature at its offset and its own words elsewhere.
 *
 * guest.cmdline "nods": the VM has no swap file (no datastore
 * directory); it only touches pages and must be stopped at its
 * sched.mem.max, which stays a hard cap for it.
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "swap";

#define PAGE 4096u
#define REGION 0x400000u
#define PAGES 6144u		/* 24 MiB */
#define SEED_A 0x1234567u
#define SEED_B 0x7654321u
#define HOST_PAGE 1u
#define HOST_OFF 100u

static uint32_t word(uint32_t p, uint32_t i, uint32_t seed)
{
	uint32_t x = (p * 0x9e3779b1u) ^ (i * 0x85ebca6bu) ^ seed;

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	return x ^ (x >> 12);
}

static volatile uint32_t *at(uint32_t p)
{
	return (volatile uint32_t *)(uintptr_t)(REGION + p * PAGE);
}

static uint32_t seed_of(uint32_t p, bool rewritten)
{
	return rewritten && p % 7 == 3 ? SEED_B : SEED_A;
}

static void write_page(uint32_t p, uint32_t seed)
{
	for (uint32_t i = 0; i < PAGE / 4; i++)
		at(p)[i] = word(p, i, seed);
}

/* Pages whose words differ from what was written (the host's bytes excepted). */
static unsigned verify(bool rewritten, bool host_wrote)
{
	unsigned bad = 0;

	for (uint32_t p = 0; p < PAGES; p++) {
		uint32_t seed = seed_of(p, rewritten);

		for (uint32_t i = 0; i < PAGE / 4; i++) {
			if (host_wrote && p == HOST_PAGE && i == HOST_OFF / 4)
				continue;
			if (at(p)[i] != word(p, i, seed)) {
				if (bad < 4)
					gprintf("swap: page %u word %u: 0x%x, want 0x%x\n", p, i,
						at(p)[i], word(p, i, seed));
				bad++;
				break;
			}
		}
	}
	return bad;
}

static void no_datastore(void)
{
	/* Touch 16 MiB: the VM is stopped at its sched.mem.max before the end. */
	for (uint32_t p = 0; p < 4096; p++)
		at(p)[0] = p;
	CHECKF(false, "stopped_at_sched_mem_max", "touched 16 MiB past a 4 MiB sched.mem.max");
	guest_finish();
}

void guest_main(void)
{
	uint32_t host = REGION + HOST_PAGE * PAGE + HOST_OFF, n = 4, port = 0x511;
	char sig[5] = { 0 };
	unsigned bad;

	if (!vmk_present()) {
		SKIP("pages_survive_swapping", NOT_VMK);
		guest_finish();
	}
	if (cmdline_has("nods"))
		no_datastore();
	for (uint32_t p = 0; p < PAGES; p++)
		write_page(p, SEED_A);
	gprintf("swap: %u pages (%u MiB) written\n", PAGES, PAGES / 256);
	/* The host writes into page 1, written first and swapped out since. */
	outw(0x510, 0);
	asm volatile("cld; rep insb" : "+D"(host), "+c"(n) : "d"(port) : "memory");
	bad = verify(false, true);
	CHECKF(bad == 0, "pages_read_back", "%u of %u pages differ", bad, PAGES);
	for (unsigned i = 0; i < 4; i++)
		sig[i] = ((volatile char *)(uintptr_t)(REGION + HOST_PAGE * PAGE + HOST_OFF))[i];
	CHECKF(sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U',
	       "host_write_to_swapped_page", "fw_cfg signature read as '%s'", sig);
	for (uint32_t p = 3; p < PAGES; p += 7)
		write_page(p, SEED_B);
	gprintf("swap: every seventh page rewritten\n");
	bad = verify(true, true);
	CHECKF(bad == 0, "rewritten_pages_read_back", "%u of %u pages differ", bad, PAGES);
	gprintf("swap: %u pages checked twice\n", PAGES);
	guest_finish();
}
