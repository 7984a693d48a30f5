/* One vmstat line (see vmstat_line.h), built with the bounded line builder. */
#include <stdbool.h>
#include <vmkernel/linebuf.h>
#include "vmstat_line.h"

/* exit_tsc as a percentage of run_tsc, without overflowing the product. */
static unsigned share(uint64_t part, uint64_t whole)
{
	uint64_t pct;

	if (part >= whole)
		return 100;
	pct = whole >= 100 ? part / (whole / 100) : part * 100 / whole;
	return pct > 100 ? 100 : (unsigned)pct;
}

size_t vmstat_format(char *buf, size_t size, const struct vmstat_sample *s)
{
	bool used[EXIT_REASON_MAX + 1] = { false };
	struct linebuf lb;

	lb_init(&lb, buf, size);
	lb_printf(&lb, "%s vCPU %u: %llu exits", s->vm_name, s->vcpu,
		  (unsigned long long)s->total);
	for (int k = 0; k < VMSTAT_TOP_REASONS; k++) {
		unsigned best = 0;

		for (unsigned r = 1; r <= EXIT_REASON_MAX; r++) {
			if (!used[r] && s->exits[r] > s->exits[best])
				best = r;
		}
		if (!s->exits[best] || used[best])
			break;
		used[best] = true;
		lb_printf(&lb, ", %s %llu", vmx_exit_reason_str(best),
			  (unsigned long long)s->exits[best]);
	}
	if (s->run_tsc)
		lb_printf(&lb, "; %u%% of its time in exit handling", share(s->exit_tsc, s->run_tsc));
	return lb_len(&lb);
}
