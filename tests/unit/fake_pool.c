/* The fake page-table page pool shared by the walker and EPT unit tests (fake_pool.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fake_pool.h"

#define K4 0x1000ULL

uint64_t fp_alloc(void *ctx)
{
	struct fake_pool *p = ctx;

	if (p->fail_after == 0)
		return 0;
	if (p->fail_after > 0)
		p->fail_after--;
	for (unsigned i = 0; i < POOL_MAX; i++) {
		if (p->page[i])
			continue;
		p->page[i] = aligned_alloc(4096, 4096);
		assert_non_null(p->page[i]);
		memset(p->page[i], 0, 4096);
		p->allocs++;
		return POOL_BASE + i * K4;
	}
	return 0;
}

static unsigned fp_index(struct fake_pool *p, uint64_t pa)
{
	uint64_t i = (pa - POOL_BASE) / K4;

	if (pa < POOL_BASE || (pa & (K4 - 1)) || i >= POOL_MAX || !p->page[i])
		fail_msg("table page 0x%llx is not allocated", (unsigned long long)pa);
	return (unsigned)i;
}

void fp_free(void *ctx, uint64_t pa)
{
	struct fake_pool *p = ctx;
	unsigned i = fp_index(p, pa);

	free(p->page[i]);
	p->page[i] = NULL;
	p->frees++;
}

void *fp_virt(void *ctx, uint64_t pa)
{
	struct fake_pool *p = ctx;

	return p->page[fp_index(p, pa)];
}
