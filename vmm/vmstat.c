/*
 * Exit counters of running VMs, readable while they run: with vmstat=N on
 * the kernel command line a world prints, every N seconds, one line per
 * vCPU of every running VM: total exits, the most frequent exit reasons,
 * and the share of its CPU time spent handling exits. (Counters are
 * written only by the vCPU's own world; aligned 64-bit reads are atomic.)
 */
#define pr_fmt(fmt) "vmstat: " fmt
#include <stdio.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/log.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmm/vmx.h>
#include <vmm/vm.h>
#include "vmstat_line.h"

static void print_vcpu(const struct vm *vm, const struct vcpu *v)
{
	char line[200];
	struct vmstat_sample s = {
		vm->name, v->id, v->exits_total, v->exits, v->exit_tsc,
		v->world ? v->world->run_tsc : 0,
	};

	vmstat_format(line, sizeof(line), &s);
	pr_info("%s\n", line);
}

static void vmstat_world(void *arg)
{
	uint64_t period = (uint64_t)(uintptr_t)arg * tsc_hz();

	for (;;) {
		sched_block_until(rdtsc() + period);
		for (unsigned i = 0; i < vm_count(); i++) {
			struct vm *vm = vm_get(i);
			unsigned long flags = spin_lock_irqsave(&vm->lock);

			/* Under vm->lock no vCPU can end and free its world meanwhile. */
			for (unsigned c = 0; !vm_stopped(vm) && c < vm->nvcpus; c++) {
				if (vm->vcpus[c] && vm->vcpus[c]->world)
					print_vcpu(vm, vm->vcpus[c]);
			}
			spin_unlock_irqrestore(&vm->lock, flags);
		}
	}
}

static int vmstat_init(void)
{
	const char *v = bootparam_get("vmstat");
	unsigned long secs = 0;

	if (!v)
		return 0;
	for (const char *p = v; *p; p++) {
		if (*p < '0' || *p > '9' || secs > 86400) {
			pr_warn("vmstat=%s: needs a number of seconds (1-86400); not started\n", v);
			return 0;
		}
		secs = secs * 10 + (unsigned long)(*p - '0');
	}
	if (!secs || secs > 86400) {
		pr_warn("vmstat=%s: needs a number of seconds (1-86400); not started\n", v);
		return 0;
	}
	return world_create("vmstat", vmstat_world, (void *)(uintptr_t)secs, 0, NULL, NULL) ?
	       0 : -12;
}
INIT_LEVEL(vmstat_init, INIT_LATE);
