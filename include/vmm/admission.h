/*
 * Admission control for memory and CPU (vmm/admission.c, with the
 * arithmetic in vmm/admission_calc.c).
 *
 * Memory is admitted, then backed on first touch and shared where pages
 * are identical (mem/pshare.c); nothing takes memory back from a running
 * VM but its balloon (balloon.h, memsched.h; no swap yet). A VM's memory reservation
 * (sched.mem.min plus an estimate of the VMM's own overhead for it) is
 * held for it from start to end, and the vmkernel keeps a reserve of its
 * own that guests never touch:
 *
 *  - a VM starts only if every admitted reservation, its own included,
 *    plus the vmkernel reserve fit in the host's memory, and only if its
 *    memsize could be held at all; otherwise it is refused with the
 *    numbers, and the other VMs start;
 *  - the part of a reservation a VM does not hold in pages of its own
 *    (not backed yet, or given up to page sharing) stays promised to it;
 *  - guest RAM beyond a reservation is backed on first touch (or on a
 *    copy-on-write break) only while free memory stays above the
 *    vmkernel reserve and the others' promised reservations; a touch past
 *    that stops that VM, with the numbers, and nothing else: host
 *    allocations (page tables, worlds, heap) still find the reserve.
 *
 * CPU: a VM's sched.cpu.min (MHz, the whole VM) is split evenly over its
 * vCPUs, and each vCPU is placed at start on one host CPU (inside
 * sched.cpu.affinity) where its part of the reservation still fits in the
 * share of that CPU VMs may be entitled to (SCHED_VM_CAPACITY_PPM; the
 * rest is the vmkernel's). Among those, the CPU with the fewest of this
 * VM's vCPUs, then the fewest vCPUs, then the least reserved is chosen. A
 * VM whose reservation does not fit is refused with the numbers. vCPUs
 * stay on their CPU (no migration yet): see docs/resource-manager.md.
 *
 * Locking: adm_lock protects the pools and the per-VM records.
 */
#ifndef VMM_ADMISSION_H
#define VMM_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmkernel/config.h>
#include <vmkernel/sched_policy.h>

struct vm;
struct linebuf;

/* ---- pure arithmetic (admission_calc.c, host unit-tested) ---- */

struct mem_pool {
	uint64_t capacity;	/* bytes VMs may hold: free at the first admission - reserve */
	uint64_t reserve;	/* bytes the vmkernel keeps for itself */
	uint64_t reserved;	/* reservations (with overhead) of the admitted VMs */
};

/* The vmkernel's own reserve on a host with `managed` bytes: 1/16, at least 16 MiB. */
uint64_t mem_vmkernel_reserve(uint64_t managed);
/* What the VMM itself allocates for a VM: VMCS, stacks, bitmaps, devices, EPT tables. */
uint64_t mem_overhead_estimate(uint64_t memsize, unsigned nvcpus);
/*
 * May a VM with this memsize and reservation (sched.mem.min) start, with
 * `free` bytes free now and `unbacked` bytes of admitted reservations not
 * yet backed? 0, or -ENOMEM with the reason and the numbers in why.
 */
int mem_admit_decide(const struct mem_pool *p, uint64_t memsize, uint64_t min, uint64_t overhead,
		     uint64_t free, uint64_t unbacked, struct linebuf *why);
/* May one more unreserved guest page be backed? */
bool mem_may_back(uint64_t free, uint64_t reserve, uint64_t unbacked);

/* The host's CPUs as CPU admission control sees them. */
struct cpu_pool {
	unsigned ncpus;
	uint32_t mhz;				/* of one CPU: its TSC rate */
	uint64_t usable;			/* bit n: CPU n runs vCPUs */
	uint32_t reserved_ppm[CONFIG_MAX_CPUS];	/* admitted vCPU reservations per CPU */
	uint32_t vcpus[CONFIG_MAX_CPUS];	/* vCPUs placed per CPU */
};

/* A vCPU's scheduling parameters from its VM's sched.cpu.* (shares and MHz of the whole VM). */
struct sched_params cpu_vcpu_params(uint32_t vm_shares, uint32_t min_mhz, uint32_t max_mhz,
				    unsigned nvcpus, uint32_t cpu_mhz);
/*
 * Place nvcpus vCPUs, each reserving min_ppm, on CPUs of `allowed`
 * (affinity, already ANDed with what may run this VM): cpu[i] for vCPU i.
 * 0, or -ENOSPC with the reason and the numbers in why. Changes nothing.
 */
int cpu_admit_decide(const struct cpu_pool *p, unsigned nvcpus, uint32_t min_ppm, uint64_t allowed,
		     unsigned *cpu, struct linebuf *why);
/* Record (sign 1) or give back (sign -1) a placement cpu_admit_decide() chose. */
void cpu_admit_account(struct cpu_pool *p, unsigned nvcpus, uint32_t min_ppm, const unsigned *cpu,
		       int sign);

/* ---- the host's pools (admission.c) ---- */

/*
 * Before a VM's memory is set up: 0, or -ENOMEM (memory) / -ENOSPC (CPU
 * reservation or affinity) after logging why it is refused. On success
 * every vCPU has a host CPU: vm_admit_cpu(). usable: the CPUs that run
 * VMs; allowed: those that may run this one (sched.cpu.affinity is
 * applied here).
 */
int vm_admit(struct vm *vm, uint64_t usable, uint64_t allowed);
/* The host CPU vm_admit() placed vCPU `id` on. */
unsigned vm_admit_cpu(const struct vm *vm, unsigned id);
/* Each vCPU's scheduling parameters (its part of the VM's shares, reservation, limit). */
struct sched_params vm_vcpu_sched_params(const struct vm *vm);
/* The VM is gone: its reservation goes back to the pool. */
void vm_admit_release(struct vm *vm);
/* Guest RAM fault path: may vm back one more page beyond its reservation? */
bool vm_mem_may_back(struct vm *vm);
/* Bytes free for VMs now (beyond the vmkernel's reserve and unbacked reservations), and all
 * that VMs may hold (the capacity at the first admission). */
void vm_mem_host(uint64_t *free, uint64_t *capacity);
/* Why a page was refused (-ENOMEM: the host; -EDQUOT: sched.mem.max), for the stop reason. */
void vm_mem_refusal(struct vm *vm, int err, char *buf, size_t len);
/* At VM start: what sched.mem.max does, and the sched.mem.* keys parsed but not applied. */
void vm_log_unapplied(struct vm *vm);

#endif
