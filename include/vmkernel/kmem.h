/*
 * The vmkernel's memory services: physical pages (buddy allocator over the
 * firmware memory map, minus everything in use at boot) and the kernel
 * heap. Safe to call from any CPU; one lock protects each allocator.
 */
#ifndef KMEM_H
#define KMEM_H

#include <stddef.h>
#include <stdint.h>

struct mb2_info;

/* Boot: build the RAM map and reserve the kernel, boot info and modules. */
int kmem_init_ranges(const struct mb2_info *mb, uint64_t info_phys);
/* Boot: keep [start, start+len) out of the allocator (ACPI tables, ...). */
void kmem_reserve(uint64_t start, uint64_t len, const char *what);
/* Boot: page tables, buddy allocator and heap. */
int kmem_init(void);
/* A free page below 1 MiB for the AP trampoline, 0 if the map has none. */
uint64_t kmem_low_page(void);

/* Physical pages: returns a physical address or 0. */
uint64_t page_alloc(unsigned order);
uint64_t page_alloc_below(unsigned order, uint64_t limit);
void page_free(uint64_t pa, unsigned order);

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);

struct kmem_stats {
	uint64_t ram_bytes;		/* RAM the firmware reported */
	uint64_t managed_bytes;		/* given to the page allocator */
	uint64_t free_bytes;
	uint64_t kernel_bytes;		/* image */
	uint64_t metadata_bytes;	/* page array + page tables */
	uint64_t heap_bytes;		/* live heap allocations */
};
void kmem_get_stats(struct kmem_stats *st);
/* Free bytes in the page allocator (one lock; for admission decisions). */
uint64_t kmem_free_bytes(void);
/* Full consistency check of the page allocator and heap (ktests). */
int kmem_check(char *err, size_t len);

#endif
