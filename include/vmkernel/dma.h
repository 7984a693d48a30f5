/*
 * Memory that devices read and write (descriptor rings, command tables,
 * bounce buffers): whole zeroed pages, physically contiguous, below a
 * limit the device can address. x86 DMA is cache-coherent, so the direct
 * map's write-back mapping is used as is; drivers order their writes to
 * shared structures against doorbell writes with dma_wmb().
 */
#ifndef DMA_H
#define DMA_H

#include <stdint.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/paging.h>

#define DMA_LIMIT_32BIT (1ull << 32)
#define DMA_LIMIT_ANY (~0ull)

/* 2^order zeroed pages below limit; NULL if none. *pa gets the physical address. */
static inline void *dma_alloc(unsigned order, uint64_t limit, uint64_t *pa)
{
	uint64_t p = limit == DMA_LIMIT_ANY ? page_alloc(order) : page_alloc_below(order, limit);

	if (!p)
		return 0;
	memset(phys_to_virt(p), 0, PAGE_SIZE_4K << order);
	*pa = p;
	return phys_to_virt(p);
}

static inline void dma_free(void *va, unsigned order)
{
	if (va)
		page_free(virt_to_phys(va), order);
}

/* Order of the smallest block of pages holding `bytes`. */
static inline unsigned dma_order(uint64_t bytes)
{
	unsigned o = 0;

	while ((PAGE_SIZE_4K << o) < bytes)
		o++;
	return o;
}

/* Make descriptor writes visible before the doorbell write that follows. */
static inline void dma_wmb(void)
{
	asm volatile("sfence" ::: "memory");
}

/* Order reads of device-written memory after a status read. */
static inline void dma_rmb(void)
{
	asm volatile("lfence" ::: "memory");
}

#endif
