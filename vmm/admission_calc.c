/* The arithmetic of memory and CPU admission control (see <vmm/admission.h>). */
#include <errno.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/sched_policy.h>
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

/* ---- CPU ---- */

static unsigned long long ppm_to_mhz(uint64_t ppm, uint32_t cpu_mhz)
{
	return (unsigned long long)((ppm * cpu_mhz + SCHED_PPM / 2) / SCHED_PPM);
}

struct sched_params cpu_vcpu_params(uint32_t vm_shares, uint32_t min_mhz, uint32_t max_mhz,
				    unsigned nvcpus, uint32_t cpu_mhz)
{
	struct sched_params p = { 0 };
	uint64_t per_cpu = (uint64_t)(cpu_mhz ? cpu_mhz : 1) * (nvcpus ? nvcpus : 1);

	p.shares = nvcpus && vm_shares / nvcpus ? vm_shares / nvcpus : 1;
	/* A reservation is rounded up, a limit down: both err on the side of the promise. */
	if (min_mhz) {
		uint64_t ppm = ((uint64_t)min_mhz * SCHED_PPM + per_cpu - 1) / per_cpu;

		p.min_ppm = ppm > UINT32_MAX ? UINT32_MAX : (uint32_t)ppm;
	}
	if (max_mhz) {
		uint64_t ppm = (uint64_t)max_mhz * SCHED_PPM / per_cpu;

		/* A limit of a whole CPU or more per vCPU limits nothing. */
		p.max_ppm = ppm >= SCHED_PPM ? 0 : ppm ? (uint32_t)ppm : 1;
	}
	return p;
}

/* The better of two CPUs for one more vCPU of a VM that already has sib[c] vCPUs on CPU c. */
static bool better_cpu(const unsigned *sib, const uint32_t *vcpus, const uint32_t *res, unsigned a,
		       unsigned b)
{
	if (sib[a] != sib[b])
		return sib[a] < sib[b];
	if (vcpus[a] != vcpus[b])
		return vcpus[a] < vcpus[b];
	return res[a] < res[b];
}

static void list_cpus(struct linebuf *why, const struct cpu_pool *p, const uint32_t *res,
		      uint64_t allowed)
{
	unsigned shown = 0;

	for (unsigned c = 0; c < p->ncpus && c < 64; c++) {
		if (!(allowed & (1ULL << c)))
			continue;
		if (shown++ == 8) {
			lb_printf(why, ", ...");
			break;
		}
		lb_printf(why, "%sCPU %u %llu", shown > 1 ? ", " : "", c, ppm_to_mhz(res[c], p->mhz));
	}
}

int cpu_admit_decide(const struct cpu_pool *p, unsigned nvcpus, uint32_t min_ppm, uint64_t allowed,
		     unsigned *cpu, struct linebuf *why)
{
	uint32_t res[CONFIG_MAX_CPUS], vcpus[CONFIG_MAX_CPUS];
	unsigned sib[CONFIG_MAX_CPUS] = { 0 };
	unsigned long long cap = ppm_to_mhz(SCHED_VM_CAPACITY_PPM, p->mhz);

	allowed &= p->usable;
	if (p->ncpus < 64)
		allowed &= (1ULL << p->ncpus) - 1;
	if (!allowed) {
		lb_printf(why, "sched.cpu.affinity leaves it no CPU that runs VMs (CPUs able to: "
			  "%#llx)", (unsigned long long)p->usable);
		return -ENOSPC;
	}
	if (min_ppm > SCHED_VM_CAPACITY_PPM) {
		lb_printf(why, "sched.cpu.min asks %llu MHz per vCPU, more than VMs may reserve of "
			  "one CPU: %llu of its %u MHz (the rest is kept for the vmkernel)",
			  ppm_to_mhz(min_ppm, p->mhz), cap, p->mhz);
		return -ENOSPC;
	}
	for (unsigned c = 0; c < CONFIG_MAX_CPUS; c++) {
		res[c] = p->reserved_ppm[c];
		vcpus[c] = p->vcpus[c];
	}
	for (unsigned i = 0; i < nvcpus; i++) {
		unsigned best = CONFIG_MAX_CPUS;

		for (unsigned c = 0; c < p->ncpus && c < 64; c++) {
			if (!(allowed & (1ULL << c)) || res[c] + min_ppm > SCHED_VM_CAPACITY_PPM)
				continue;
			if (best == CONFIG_MAX_CPUS || better_cpu(sib, vcpus, res, c, best))
				best = c;
		}
		if (best == CONFIG_MAX_CPUS) {
			lb_printf(why, "its CPU reservation does not fit: vCPU %u needs %llu MHz "
				  "(sched.cpu.min over %u vCPU(s)) and VMs may reserve %llu MHz of "
				  "each %u MHz CPU; reserved now (MHz): ", i,
				  ppm_to_mhz(min_ppm, p->mhz), nvcpus, cap, p->mhz);
			list_cpus(why, p, res, allowed);
			return -ENOSPC;
		}
		cpu[i] = best;
		res[best] += min_ppm;
		vcpus[best]++;
		sib[best]++;
	}
	return 0;
}

void cpu_admit_account(struct cpu_pool *p, unsigned nvcpus, uint32_t min_ppm, const unsigned *cpu,
		       int sign)
{
	for (unsigned i = 0; i < nvcpus; i++) {
		unsigned c = cpu[i];

		if (c >= CONFIG_MAX_CPUS)
			continue;
		p->reserved_ppm[c] += sign > 0 ? min_ppm : -min_ppm;
		p->vcpus[c] += sign > 0 ? 1 : -1;
	}
}
