/*
 * One vmstat line for one vCPU (vmm/vmstat_line.c): pure formatting, built
 * for the host too so its bounds are unit-tested with sanitizers.
 */
#ifndef VMM_VMSTAT_LINE_H
#define VMM_VMSTAT_LINE_H

#include <stddef.h>
#include <stdint.h>
#include <vmm/vmx_hw.h>

#define VMSTAT_TOP_REASONS 4

struct vmstat_sample {
	const char *vm_name;
	unsigned vcpu;
	uint64_t total;				/* exits */
	const uint64_t *exits;			/* EXIT_REASON_MAX + 1 counters */
	uint64_t exit_tsc, run_tsc;		/* run_tsc 0: no share printed */
};

/*
 * "NAME vCPU N: T exits, REASON C, ... ; P% of its time in exit handling",
 * the VMSTAT_TOP_REASONS most frequent reasons first, into buf (always
 * terminated; cut short with "..." if it does not fit). Returns the length.
 */
size_t vmstat_format(char *buf, size_t size, const struct vmstat_sample *s);

/* exit/exit.c */
const char *vmx_exit_reason_str(unsigned reason);

#endif
