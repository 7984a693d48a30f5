/*
 * Memory admission control (vmm/admission.c, with the arithmetic in
 * vmm/admission_calc.c).
 *
 * Until the resource manager overcommits memory properly (sharing,
 * ballooning, swap), a VM's memory reservation (sched.mem.min plus an
 * estimate of the VMM's own overhead for it) is held for it from start to
 * end, and the vmkernel keeps a reserve of its own that guests never
 * touch:
 *
 *  - a VM starts only if every admitted reservation, its own included,
 *    plus the vmkernel reserve fit in the host's memory, and only if its
 *    memsize could be held at all; otherwise it is refused with the
 *    numbers, and the other VMs start;
 *  - guest RAM beyond a reservation is backed on first touch only while
 *    free memory stays above the vmkernel reserve and the reservations not
 *    yet backed; a touch past that stops that VM, with the numbers, and
 *    nothing else: host allocations (page tables, worlds, heap) still find
 *    the reserve.
 *
 * Locking: adm_lock protects the pool and the per-VM records.
 */
#ifndef VMM_ADMISSION_H
#define VMM_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- the host's pool (admission.c) ---- */

/* Before a VM's memory is set up: 0, or -ENOMEM after logging why it is refused. */
int vm_admit(struct vm *vm);
/* Its reservation is backed now (guest_ram_reserve done). */
void vm_admit_backed(struct vm *vm);
/* The VM is gone: its reservation goes back to the pool. */
void vm_admit_release(struct vm *vm);
/* Guest RAM fault path: may vm back one more page beyond its reservation? */
bool vm_mem_may_back(struct vm *vm);
/* Why vm_mem_may_back() said no, with the numbers, for the stop reason. */
void vm_mem_refusal(struct vm *vm, char *buf, size_t len);
/* One line at VM start naming the sched.* keys that are parsed but not applied yet. */
void vm_log_unapplied(struct vm *vm);

#endif
