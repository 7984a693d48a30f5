/*
 * The VM test supervisor, an in-kernel test: with test=vm_expectations the
 * host waits until every VM that is expected to end has ended, stops those
 * expected to still be running (which proves they never blocked the
 * others), and compares how each VM ended with its test.expect. One line
 * per VM, then the ktest result.
 */
#define pr_fmt(fmt) "vmtest: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/ktest.h>
#include <vmkernel/log.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmm/vm.h>

#define WAIT_S 600	/* emulated seconds; Bochs runs far slower than real time */

static bool expects_end(const struct vm *vm)
{
	return vm->cfg.expect.kind != VMCONFIG_EXPECT_NONE &&
	       vm->cfg.expect.kind != VMCONFIG_EXPECT_RUNNING;
}

static bool all_ended(bool include_running)
{
	for (unsigned i = 0; i < vm_count(); i++) {
		const struct vm *vm = vm_get(i);

		if ((include_running || expects_end(vm)) &&
		    !__atomic_load_n(&vm->finished, __ATOMIC_ACQUIRE))
			return false;
	}
	return true;
}

static bool wait_all(bool include_running)
{
	uint64_t deadline = time_ns() + WAIT_S * 1000000000ULL;

	while (!all_ended(include_running)) {
		if (time_ns() > deadline)
			return false;
		sched_block_until(rdtsc() + tsc_hz() / 50);
	}
	return true;
}

KTEST(vm_expectations)
{
	unsigned failed = 0, still_running[VM_MAX], n_running = 0;
	bool ended;

	ended = wait_all(false);
	for (unsigned i = 0; i < vm_count(); i++) {
		struct vm *vm = vm_get(i);

		if (!vm_stopped(vm)) {
			still_running[n_running++] = i;
			vm_stop(vm, VMCONFIG_STOP_KILLED, -1,
				"stopped by the host at the end of the test run");
		}
	}
	wait_all(true);
	for (unsigned i = 0; i < vm_count(); i++) {
		struct vm *vm = vm_get(i);
		char got[48], want[48];
		bool was_running = false;

		for (unsigned j = 0; j < n_running; j++)
			was_running |= still_running[j] == i;
		if (was_running)
			snprintf(got, sizeof(got), "running");
		else
			vm_outcome(vm, got, sizeof(got));
		vmconfig_expect_format(&vm->cfg.expect, want, sizeof(want));
		if (!want[0])
			snprintf(want, sizeof(want), "(no test.expect)");
		if (strcmp(got, want))
			failed++;
		log_printf(LOG_INFO, "vmtest: %s: expected %s, got %s: %s\n", vm->name, want, got,
			   strcmp(got, want) ? "FAIL" : "ok");
	}
	log_printf(LOG_INFO, "vmtest: %u VMs, %u passed, %u failed\n", vm_count(),
		   vm_count() - failed, failed);
	KT_ASSERT(ended);
	KT_ASSERT_EQ(failed, 0);
}
