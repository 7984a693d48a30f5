/*
 * Guest physical memory (vmm/mem/): guest RAM behind an EPT per VM,
 * backed on first touch, and walks of the guest's own page tables.
 */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;

int guest_ram_init(struct vm *vm, uint64_t size);
/* Back the first `bytes` of RAM now, in the largest pages possible (sched.mem.min). */
int guest_ram_reserve(struct vm *vm, uint64_t bytes);
void guest_ram_destroy(struct vm *vm);
uint64_t guest_eptp(struct vm *vm);
/* Guest RAM pages backed (touched): private and shared. */
uint64_t guest_ram_pages(const struct vm *vm);
/* Guest RAM pages backed by a host page of their own (lock-free read, for admission). */
uint64_t guest_ram_private_pages(const struct vm *vm);

/* One VM's memory as the resource manager counts it (docs/resource-manager.md). */
struct guest_ram_stats {
	uint64_t private_pages;		/* backed by a page of their own */
	uint64_t shared_pages;		/* mapping a shared frame (page sharing) */
	uint64_t zero_pages;		/* of those, all zeros */
	uint64_t cow_copies;		/* writes to shared pages that took a copy */
	uint64_t cow_reowns;		/* ... that took the frame back (no other page had it) */
	uint64_t scanned;		/* pages the sharing scanner looked at */
	uint64_t ept_tables;		/* EPT table pages */
};
void guest_ram_stats(struct vm *vm, struct guest_ram_stats *st);
/* Back gpa with a host page if it is guest RAM and not yet backed: 0, or -EFAULT if not RAM. */
int guest_ram_fault(struct vm *vm, uint64_t gpa);
bool guest_is_ram(const struct vm *vm, uint64_t gpa);
bool guest_range_is_ram(const struct vm *vm, uint64_t gpa, uint64_t len);
/* Where the PC memory map puts this VM's RAM (pc_layout.h). */
uint64_t vm_low_ram_end(const struct vm *vm);
uint64_t vm_high_ram_size(const struct vm *vm);
/* Map a host page (not RAM of the guest, not freed with it) at gpa, read/write. */
int guest_map_page(struct vm *vm, uint64_t gpa, uint64_t hpa);
/* An EPT violation outside every device: 0 once mapped, -EFAULT if nothing may be there. */
int guest_mem_fault(struct vm *vm, uint64_t gpa, bool write);
/* A hypervisor bug hunt: 0, or the first bad EPT entry described in why. */
int guest_ept_check(struct vm *vm, char *why, size_t len);
int guest_write(struct vm *vm, uint64_t gpa, const void *src, size_t len);
int guest_read(struct vm *vm, uint64_t gpa, void *dst, size_t len);
int guest_zero(struct vm *vm, uint64_t gpa, size_t len);
/* Atomically OR bits into the backed, aligned 32-bit word at gpa (page-table A/D bits). */
int guest_atomic_or32(struct vm *vm, uint64_t gpa, uint32_t bits);

/* A zeroed host page for the VMM's own use (a virtual-APIC page, ...): NULL if none. */
void *vmm_page_alloc(uint64_t *pa);
void vmm_page_free(void *va, uint64_t pa);

/* guest_walk.c: -EFAULT if the guest's page tables do not map la for a supervisor read */
int guest_linear_to_phys(struct vcpu *v, uint64_t la, uint64_t *gpa);

#endif
