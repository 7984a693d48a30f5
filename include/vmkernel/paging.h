/*
 * Host page tables. All physical memory is reachable through the direct map
 * (phys_to_virt); the kernel image is mapped W^X at KERNEL_VMA. Caching:
 * RAM is write-back, everything else the firmware map does not call RAM
 * (MMIO, holes) is uncached.
 */
#ifndef PAGING_H
#define PAGING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmkernel/layout.h>

#define PAGE_SIZE_4K	0x1000ULL
#define PAGE_SIZE_2M	0x200000ULL
#define PAGE_SIZE_1G	0x40000000ULL

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(uintptr_t)(pa + DIRECT_MAP_BASE);
}

static inline uint64_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)(uintptr_t)va;

	return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP_BASE;
}

struct mem_ranges;

/* Page-table pages come from this callback (returns a physical address, 0 on failure). */
typedef uint64_t (*pt_alloc_fn)(void);

/*
 * Build the kernel's page tables and switch to them. `ram` is what the
 * firmware map calls memory (any RAM-like type); `limit` is the end of the
 * physical range to direct-map (at least 4 GiB).
 */
int paging_init(const struct mem_ranges *ram, uint64_t limit, pt_alloc_fn alloc);
/* Is [pa, pa+len) inside the direct map? */
bool paging_phys_mapped(uint64_t pa, uint64_t len);
uint64_t paging_direct_map_end(void);
/* Page-table pages come from here after boot (the page allocator). */
void paging_set_allocator(pt_alloc_fn alloc);
/* Map one page at its own physical address, executable (AP trampoline). */
int paging_map_identity_page(uint64_t pa);
/* Boot CPU, after every CPU runs on the kernel tables: unmap the identity page. */
void paging_drop_identity(void);
/* Drop this CPU's non-global TLB entries (after paging_drop_identity). */
void paging_flush_tlb_local(void);
uint64_t paging_kernel_cr3(void);
/* A kernel stack of `size` bytes with an unmapped guard below; returns its top. */
void *paging_alloc_stack(size_t size);
/* Program this CPU's PAT (entry 1 = write-combining); every CPU calls it. */
void paging_init_pat(void);
/* Map [pa, pa+len) of the direct map write-combining (framebuffers). */
int paging_set_write_combining(uint64_t pa, uint64_t len);
/* Map device registers [pa, pa+len) uncached (also above the direct map); NULL on failure. */
void *paging_map_mmio(uint64_t pa, uint64_t len);
/* Physical address behind any kernel virtual address (direct map, image, stacks). */
int paging_virt_to_phys(const void *va, uint64_t *pa);
/* Counts of mappings made, for the boot report. */
void paging_stats(uint64_t *n1g, uint64_t *n2m, uint64_t *n4k);

#endif
