/*
 * A page-table page pool for host unit tests of the page-table walker and
 * the EPT builder: hands out made-up physical addresses backed by host
 * memory, counts allocations and frees, catches frees and uses of pages
 * it never handed out, and can be told to fail after N allocations.
 */
#ifndef FAKE_POOL_H
#define FAKE_POOL_H

#include <stdint.h>

#define POOL_MAX	4096
#define POOL_BASE	0x5670000000ULL	/* below 2^39: EPT tests use a 39-bit MAXPHYADDR */

struct fake_pool {
	void *page[POOL_MAX];
	long allocs, frees;
	long fail_after;		/* allocations left before failing; -1: never */
};

uint64_t fp_alloc(void *ctx);
void fp_free(void *ctx, uint64_t pa);
void *fp_virt(void *ctx, uint64_t pa);

#endif
