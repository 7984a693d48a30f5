/*
 * The VM test supervisor, an in-kernel test: with test=vm_expectations the
 * host waits until every VM that is expected to end has ended, stops those
 * expected to still be running (which proves they never blocked the
 * others), and compares how each VM ended with its test.expect. One line
 * per VM, then the ktest result.
 *
 * The host also judges what a VM printed, so a guest cannot pass by
 * skipping its checks: every "check NAME: skipped" line counts against the
 * VM unless its test.skip names NAME (a broken hypervisor signature would
 * otherwise turn checks into silent skips), and every text in test.console
 * must appear in some line. A run that judged no VM at all fails.
 */
#define pr_fmt(fmt) "vmtest: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <vmkernel/ktest.h>
#include <vmkernel/log.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmm/vm.h>

#define WAIT_S 600	/* emulated seconds; Bochs runs far slower than real time */
#define WAIT_S_MAX 86400

/* How long the VMs may take: vmtest.wait=S (emulated seconds), else WAIT_S. */
static uint64_t wait_s(void)
{
	const char *v = bootparam_get("vmtest.wait");
	unsigned long long s = 0;
	const char *p;

	if (!v)
		return WAIT_S;
	for (p = v; *p >= '0' && *p <= '9' && s <= WAIT_S_MAX; p++)
		s = s * 10 + (unsigned long long)(*p - '0');
	if (*p || p == v || !s || s > WAIT_S_MAX) {
		pr_warn("vmtest.wait=%s: needs seconds, 1-%u; using %u\n", v, WAIT_S_MAX, WAIT_S);
		return WAIT_S;
	}
	return s;
}

/* "check NAME: skipped (...)": NAME, or NULL. */
static bool skipped_check(const char *line, char *name, size_t len)
{
	const char *p = strstr(line, "check "), *colon;

	if (!p || !(colon = strstr(p + 6, ": skipped")))
		return false;
	p += 6;
	if ((size_t)(colon - p) >= len)
		return false;
	memcpy(name, p, (size_t)(colon - p));
	name[colon - p] = '\0';
	return true;
}

void vm_test_console_line(struct vm *vm, const char *line)
{
	const struct vm_config *c = &vm->cfg;
	char name[VMCONFIG_SKIP_NAME_MAX + 16];

	for (unsigned i = 0; i < c->nconsole; i++) {
		if (strstr(line, c->console[i]))
			vm->console_seen |= 1U << i;
	}
	if (c->expect.kind == VMCONFIG_EXPECT_NONE || !skipped_check(line, name, sizeof(name)))
		return;
	for (unsigned i = 0; i < c->nskip; i++) {
		if (!strcmp(c->skip[i], name))
			return;
	}
	if (!vm->bad_skips++)
		snprintf(vm->first_bad_skip, sizeof(vm->first_bad_skip), "%s", name);
}

/* What the console showed that the test did not allow for; "" if nothing. */
static void console_verdict(const struct vm *vm, char *why, size_t len)
{
	why[0] = '\0';
	if (vm->bad_skips) {
		snprintf(why, len, "%u check(s) skipped that test.skip does not name, first '%s'",
			 vm->bad_skips, vm->first_bad_skip);
		return;
	}
	for (unsigned i = 0; i < vm->cfg.nconsole; i++) {
		if (!(vm->console_seen & (1U << i))) {
			snprintf(why, len, "no console line contained '%s'", vm->cfg.console[i]);
			return;
		}
	}
}

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
	uint64_t deadline = time_ns() + wait_s() * 1000000000ULL;

	while (!all_ended(include_running)) {
		if (time_ns() > deadline)
			return false;
		sched_block_until(rdtsc() + tsc_hz() / 50);
	}
	return true;
}

KTEST_NAMED(vm_expectations)
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
		char why[160];

		vmconfig_expect_format(&vm->cfg.expect, want, sizeof(want));
		if (!want[0])
			snprintf(want, sizeof(want), "(no test.expect)");
		console_verdict(vm, why, sizeof(why));
		if (strcmp(got, want) || why[0])
			failed++;
		log_printf(LOG_INFO, "vmtest: %s: expected %s, got %s%s%s: %s\n", vm->name, want,
			   got, why[0] ? "; " : "", why, strcmp(got, want) || why[0] ? "FAIL" : "ok");
	}
	log_printf(LOG_INFO, "vmtest: %u VMs, %u passed, %u failed\n", vm_count(),
		   vm_count() - failed, failed);
	KT_ASSERT(ended);
	KT_ASSERT(vm_count() > 0);	/* a run that judged no VM proves nothing */
	KT_ASSERT_EQ(failed, 0);
}
