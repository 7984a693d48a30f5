/* The arithmetic of memory admission control (see <vmm/admission.h>). */
#include <errno.h>
#include <vmkernel/linebuf.h>
#include <vmm/admission.h>

#define MIB (1ULL << 20)
#define KIB (1ULL << 10)

uint64_t mem_vmkernel_reserve(uint64_t managed)
{
	uint64_t r = managed / 16;

	return r < 16 * MIB ? 16 * MIB : r;
}

/*
 * Per VM: bitmaps, device models, the console and the VM structure
 * (256 KiB); per vCPU: VMCS, XSAVE area, local APIC page, the world's
 * stack and the vCPU structure (64 KiB); EPT tables for 4 KiB pages, one
 * table page per 2 MiB of guest RAM and the levels above. Rounded up to
 * 64 KiB.
 */
uint64_t mem_overhead_estimate(uint64_t memsize, unsigned nvcpus)
{
	uint64_t tables = (memsize + (2 * MIB - 1)) / (2 * MIB) * 4 * KIB;
	uint64_t upper = (memsize + (1ULL << 30) - 1) / (1ULL << 30) * 4 * KIB + 8 * KIB;
	uint64_t o = 256 * KIB + (uint64_t)nvcpus * 64 * KIB + tables + upper;

	return (o + 64 * KIB - 1) & ~(64 * KIB - 1);
}

static unsigned long long mib(uint64_t b)
{
	return (unsigned long long)((b + MIB - 1) / MIB);
}

int mem_admit_decide(const struct mem_pool *p, uint64_t memsize, uint64_t min, uint64_t overhead,
		     uint64_t free, uint64_t unbacked, struct linebuf *why)
{
	uint64_t need = min + overhead;
	uint64_t spare = free > p->reserve + unbacked ? free - p->reserve - unbacked : 0;

	if (memsize + overhead > p->capacity) {
		lb_printf(why, "memsize %llu MiB (+%llu MiB overhead) can never be held by this "
			  "host: VMs may hold %llu MiB in all (%llu MiB kept for the vmkernel)",
			  mib(memsize), mib(overhead), mib(p->capacity), mib(p->reserve));
		return -ENOMEM;
	}
	if (p->reserved + need > p->capacity) {
		lb_printf(why, "its reservation of %llu MiB (sched.mem.min %llu MiB + %llu MiB "
			  "overhead) does not fit: %llu MiB of %llu MiB are reserved by running "
			  "VMs (%llu MiB kept for the vmkernel)", mib(need), mib(min), mib(overhead),
			  mib(p->reserved), mib(p->capacity), mib(p->reserve));
		return -ENOMEM;
	}
	if (need > spare) {
		lb_printf(why, "its reservation of %llu MiB is not free now: %llu MiB free, %llu MiB "
			  "kept for the vmkernel, %llu MiB promised to other reservations",
			  mib(need), mib(free), mib(p->reserve), mib(unbacked));
		return -ENOMEM;
	}
	return 0;
}

bool mem_may_back(uint64_t free, uint64_t reserve, uint64_t unbacked)
{
	return free >= reserve + unbacked + 4 * KIB;
}
