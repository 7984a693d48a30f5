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

#define TOP_REASONS 4

static void print_vcpu(const struct vm *vm, const struct vcpu *v)
{
	char line[200];
	bool used[EXIT_REASON_MAX + 1] = { false };
	int n = snprintf(line, sizeof(line), "%s vCPU %u: %llu exits", vm->name, v->id,
			 (unsigned long long)v->exits_total);

	for (int k = 0; k < TOP_REASONS; k++) {
		unsigned best = 0;

		for (unsigned r = 1; r <= EXIT_REASON_MAX; r++) {
			if (!used[r] && v->exits[r] > v->exits[best])
				best = r;
		}
		if (!v->exits[best] || used[best])
			break;
		used[best] = true;
		n += snprintf(line + n, sizeof(line) - n, ", %s %llu", vmx_exit_reason_str(best),
			      (unsigned long long)v->exits[best]);
	}
	if (v->world && v->world->run_tsc)
		snprintf(line + n, sizeof(line) - n, "; %llu%% of its time in exit handling",
			 (unsigned long long)(v->exit_tsc * 100 / v->world->run_tsc));
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
