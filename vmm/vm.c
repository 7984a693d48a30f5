/*
 * Virtual machines: created at boot from the .vmx modules GRUB loaded,
 * run as vCPU worlds spread over the CPUs that can run them, and stopped
 * with a reason when they exit or misbehave.
 *
 * A bad configuration or guest image is reported (file, line, key, or what
 * is wrong with the image) and that VM does not start; the others do.
 * When a VM ends its resources are freed and one line says how it ended,
 * followed by its exit counters.
 *
 * Locking: vms_lock protects the VM list; vm->lock its run state.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/smp.h>
#include <vmkernel/timer.h>
#include <vmm/admission.h>
#include <vmm/guest_mem.h>
#include <vmm/quarantine.h>
#include <vmm/vcpu_fpu.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/guest_swap.h>
#include <vmm/vm.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include "vmx/vmx_priv.h"


/*
 * A guest's console output is charged to the guest: it may print at most
 * CONSOLE_BURST lines at once and CONSOLE_RATE lines a second, all guests
 * together share the log's guest budget (log_guest_budget), and its lines
 * wait in a ring of its own (CONSOLE_RING bytes) for the console world.
 * Past any of these its lines are dropped and counted, and the count is
 * printed (at most once a second) with its next line, and at the VM's end
 * for whatever the last report did not cover: a chatty or hostile
 * guest can neither drown the log nor make a host CPU wait for the UART.
 */
#define CONSOLE_BURST	100
#define CONSOLE_RATE	20
#define CONSOLE_RING	8192

static bool console_admit(struct vm_console *con)
{
	uint64_t now = rdtsc(), per_line = tsc_hz() / CONSOLE_RATE;

	if (!con->last_refill || !per_line) {
		con->tokens = CONSOLE_BURST;
		con->last_refill = now;
	}
	while (con->tokens < CONSOLE_BURST && now - con->last_refill >= per_line) {
		con->tokens++;
		con->last_refill += per_line;
	}
	if (con->tokens == CONSOLE_BURST)
		con->last_refill = now;
	if (!con->tokens)
		return false;
	con->tokens--;
	return true;
}

/* The VM's ring in the host log, made on its first line (NULL if out of memory). */
static struct log_source *console_source(struct vm_console *con)
{
	struct log_source *s = __atomic_load_n(&con->src, __ATOMIC_ACQUIRE), *none = NULL;

	if (s)
		return s;
	s = log_source_create(CONSOLE_RING);
	if (s && !__atomic_compare_exchange_n(&con->src, &none, s, false, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE)) {
		log_source_destroy(s);
		s = none;
	}
	return s;
}

/* Queue one finished line (the VM console's lock held); false if it had to be dropped. */
static bool console_put(struct log_source *src, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool console_put(struct log_source *src, int level, const char *fmt, ...)
{
	char out[256];
	struct linebuf lb = LINEBUF_INIT(out);
	va_list ap;

	if (level > log_get_level())
		return true;
	log_line_prefix(&lb, level);
	va_start(ap, fmt);
	lb_vprintf(&lb, fmt, ap);
	va_end(ap);
	lb_newline(&lb);
	return log_guest_budget(lb_len(&lb)) && log_source_put(src, lb_str(&lb), lb_len(&lb));
}

static void console_line(struct vm *vm, struct vm_console *con, struct log_source *src)
{
	if (!console_admit(con)) {
		con->dropped++;
		return;
	}
	/* Say how much was lost, at most once a second. */
	if (con->dropped && rdtsc() - con->last_report >= tsc_hz() &&
	    console_put(src, LOG_WARN, "[%s] (%llu lines of output dropped: too fast)",
			vm->name, (unsigned long long)con->dropped)) {
		con->dropped = 0;
		con->last_report = rdtsc();
	}
	if (!console_put(src, LOG_INFO, "[%s] %s", vm->name, con->line))
		con->dropped++;
}

/* Add one character to the line being built (the console's lock held). */
static void console_char(struct vm *vm, struct vm_console *con, struct log_source *src, char c)
{
	if (c != '\n' && c != '\r' && (unsigned char)c >= 0x20 && c != 0x7f)
		con->line[con->len++] = c;
	else if (c == '\t')
		con->line[con->len++] = ' ';
	if (c == '\n' || con->len == sizeof(con->line) - 1) {
		con->line[con->len] = '\0';
		con->len = 0;
		vm_test_console_line(vm, con->line);	/* before the rate limit: tests see every line */
		console_line(vm, con, src);
	}
}

/* Guest output into the host log, a line at a time, prefixed with the VM's name. */
void vm_console_write(struct vm *vm, const char *s, size_t n)
{
	struct vm_console *con = vm->console;
	struct log_source *src;
	unsigned long flags;

	if (!con || !n || !(src = console_source(con)))
		return;
	flags = spin_lock_irqsave(&con->lock);
	for (size_t i = 0; i < n; i++)
		console_char(vm, con, src, s[i]);
	spin_unlock_irqrestore(&con->lock, flags);
}

/* At the VM's end: lines dropped since the last report are reported now, not never. */
static void console_report_dropped(struct vm *vm)
{
	struct vm_console *con = vm->console;
	unsigned long flags;
	uint64_t dropped;

	if (!con)
		return;
	flags = spin_lock_irqsave(&con->lock);
	dropped = con->dropped;
	con->dropped = 0;
	spin_unlock_irqrestore(&con->lock, flags);
	if (dropped)
		pr_warn("[%s] (%llu lines of output dropped: too fast)\n", vm->name,
			(unsigned long long)dropped);
}

void vm_console_putc(struct vm *vm, char c)
{
	vm_console_write(vm, &c, 1);
}

/* True when vCPUs must leave their loops: the VM ended or is being restarted. */
bool vm_stopped(const struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) != VM_RUNNING;
}

bool vm_ended(const struct vm *vm)
{
	return __atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_STOPPED;
}

/*
 * Wake every vCPU world so it sees the VM stop. vm->lock is held: a vCPU
 * publishes its world (vcpu_run) and withdraws it (vm_vcpu_done) under the
 * same lock, so no world is woken after it has ended and been freed.
 */
static void wake_all_vcpus(struct vm *vm)
{
	ASSERT(spin_held_by_me(&vm->lock));
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i] && vm->vcpus[i]->world)
			sched_wakeup(vm->vcpus[i]->world);
	}
}

static void vm_end(struct vm *vm, enum vm_end_kind end, enum vmconfig_stop_reason kind,
		   int status, const char *fmt, va_list ap)
{
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (vm->state == VM_STOPPED) {
		spin_unlock_irqrestore(&vm->lock, flags);
		return;		/* the first reason wins */
	}
	vm->end_kind = end;
	vm->stop_kind = kind;
	vm->exit_status = status;
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	__atomic_store_n(&vm->state, VM_STOPPED, __ATOMIC_RELEASE);
	wake_all_vcpus(vm);
	spin_unlock_irqrestore(&vm->lock, flags);
}

/*
 * A guest reset with guest.reboot "restart": every vCPU leaves its loop as
 * if the VM stopped; the last one out boots the VM again (vm_restart).
 */
static void vm_request_restart(struct vm *vm, const char *fmt, va_list ap)
{
	unsigned long flags = spin_lock_irqsave(&vm->lock);

	if (vm->state != VM_RUNNING) {
		spin_unlock_irqrestore(&vm->lock, flags);
		return;
	}
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	__atomic_store_n(&vm->state, VM_RESTARTING, __ATOMIC_RELEASE);
	wake_all_vcpus(vm);
	spin_unlock_irqrestore(&vm->lock, flags);
}

void vm_stop(struct vm *vm, enum vmconfig_stop_reason kind, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vm_end(vm, VM_END_STOPPED, kind, status, fmt, ap);
	va_end(ap);
}

void vm_exit(struct vm *vm, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vm_end(vm, VM_END_EXIT, VMCONFIG_STOP_COUNT, status, fmt, ap);
	va_end(ap);
}

void vm_poweroff(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vm_end(vm, VM_END_POWEROFF, VMCONFIG_STOP_COUNT, 0, fmt, ap);
	va_end(ap);
}

void vm_guest_reset(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (vm->cfg.reboot == VMCONFIG_REBOOT_RESTART)
		vm_request_restart(vm, fmt, ap);
	else
		vm_end(vm, VM_END_RESET, VMCONFIG_STOP_COUNT, 0, fmt, ap);
	va_end(ap);
}

/* How the VM ended, in test.expect syntax: "exit:N", "stopped:REASON" or "running". */
int vm_outcome(const struct vm *vm, char *buf, size_t len)
{
	if (!vm_ended(vm))
		return snprintf(buf, len, "running");
	switch (vm->end_kind) {
	case VM_END_EXIT:
		return snprintf(buf, len, "exit:%d", vm->exit_status);
	case VM_END_POWEROFF:
		return snprintf(buf, len, "poweroff");
	case VM_END_RESET:
		return snprintf(buf, len, "reset");
	default:
		return snprintf(buf, len, "stopped:%s", vmconfig_stop_reason_name(vm->stop_kind));
	}
}

static void report_counters(const struct vm *vm)
{
	char line[320];

	for (unsigned i = 0; i < vm->nvcpus; i++) {
		const struct vcpu *v = vm->vcpus[i];
		struct linebuf lb = LINEBUF_INIT(line);

		if (!v)
			continue;
		lb_printf(&lb, "vCPU %u: %llu exits", i, (unsigned long long)v->exits_total);
		for (unsigned r = 0; r <= EXIT_REASON_MAX; r++) {
			if (v->exits[r])
				lb_printf(&lb, ", %s %llu", vmx_exit_reason_str(r),
					  (unsigned long long)v->exits[r]);
		}
		pr_info("%s: %s\n", vm->name, lb_str(&lb));
	}
}

/* What the scheduler gave this vCPU, from its own world as it ends. */
static void report_sched(struct vcpu *v)
{
	struct sched_world_stats st;
	uint64_t us = tsc_hz() / 1000000 ? tsc_hz() / 1000000 : 1;

	sched_world_stats(world_current(), &st);
	pr_info("%s: vCPU %u: ran %llu ms on CPU %u, entitled to %u.%u%% of it at the end; %llu wake-ups, "
		"from wake-up to running %llu TSC ticks at most, %llu on average (%llu us); "
		"%llu migrations (leaving %llu, arriving %llu TSC ticks on average), %llu co-stops\n",
		v->vm->name, v->id, (unsigned long long)(st.run_tsc / us / 1000), st.cpu,
		st.weight / 10000, st.weight / 1000 % 10, (unsigned long long)st.wakeups,
		(unsigned long long)st.wake_wait_max_tsc,
		(unsigned long long)(st.wakeups ? st.wake_wait_sum_tsc / st.wakeups : 0),
		(unsigned long long)(st.wake_wait_max_tsc / us), (unsigned long long)st.migrations,
		(unsigned long long)(st.migrations ? st.leave_tsc / st.migrations : 0),
		(unsigned long long)(st.migrations ? v->arrive_tsc / st.migrations : 0),
		(unsigned long long)st.costops);
}

void vm_vcpu_done(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct vmm_cpu *vc = vmm_this_cpu();
	char outcome[48];
	unsigned long flags;

	sched_world_settle();	/* no more moves; it leaves the VM's co-scheduling group */
	report_sched(v);
	flags = spin_lock_irqsave(&vm->lock);
	spin_lock(&v->kick_lock);
	v->world = NULL;	/* about to end: nobody may wake it any more */
	spin_unlock(&v->kick_lock);
	spin_unlock_irqrestore(&vm->lock, flags);
	ktimer_cancel(&v->hc_timer);

	/* This world runs on the vCPU's CPU: release its VMCS and lazily loaded state here. */
	if (vc->current_vmcs == v->vmcs_pa)
		vc->current_vmcs = 0;
	vmcs_clear(v->vmcs_pa);
	v->vmcs_ready = false;
	if (vc->state_owner == v)
		vc->state_owner = NULL;
	/*
	 * From here this world is a plain vmkernel world: restarting or tearing
	 * down the VM may block it (a virtio device waits for its I/O world and
	 * closes its disks through VMFS), and being switched back in must not
	 * load the vCPU's state again.
	 */
	world_current()->ops = NULL;
	if (__atomic_sub_fetch(&vm->running_vcpus, 1, __ATOMIC_ACQ_REL))
		return;
	if (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RESTARTING) {
		vm_restart(vm);		/* the last vCPU out boots the VM again */
		return;
	}
	console_report_dropped(vm);
	vm_outcome(vm, outcome, sizeof(outcome));
	pr_info("%s: ended (%s): %s; %llu KiB of guest RAM was backed\n", vm->name, outcome,
		vm->stop_reason, (unsigned long long)(guest_ram_pages(vm) * 4));
	vm_log_memory(vm, "at its end: ");
	vm_log_pshare();
	report_counters(vm);
	vm_destroy_devices(vm);
	guest_swap_detach(vm);	/* no device or vCPU touches guest RAM any more */
	vm_release_memory(vm);
	__atomic_store_n(&vm->finished, true, __ATOMIC_RELEASE);
}

struct flush_req {
	uint64_t eptp;
	uint16_t vpid_first, vpid_count;
};

static void flush_vm_tlbs(void *arg)
{
	const struct flush_req *f = arg;
	const struct vmx_caps *caps = vmx_host_caps();
	struct vmm_cpu *vc = vmm_this_cpu();

	if (!vc || !vc->vmx_on)
		return;
	if (caps->invept_single)
		invept(INVEPT_SINGLE_CONTEXT, f->eptp);
	else
		invept(INVEPT_ALL_CONTEXT, 0);
	if (caps->vpid) {
		for (uint16_t i = 0; i < f->vpid_count; i++) {
			if (caps->invvpid_single)
				invvpid(INVVPID_SINGLE_CONTEXT, f->vpid_first + i, 0);
			else
				invvpid(INVVPID_ALL_CONTEXT, 0, 0);
		}
	}
}

/*
 * Before the VM's pages go back to the allocator, no CPU may keep cached
 * translations tagged with its EPTP or VPIDs: a later VM could get the
 * same root page (and so the same EPTP) or the same VPIDs. Every CPU in
 * VMX operation is asked; the CPUs that did not answer (bit n: CPU n) owe
 * a flush, and the memory waits for them (vm_release_memory).
 */
uint64_t vm_flush_translations(struct vm *vm)
{
	struct flush_req f;
	uint64_t owed = 0;

	if (!vm->ram)
		return 0;
	f = (struct flush_req){ guest_eptp(vm), vm_vpid(vm, 0), (uint16_t)vm->nvcpus };
	for (unsigned c = 0; c < pcpu_count && c < 64; c++) {
		if (!pcpu_array[c].vmm)
			continue;	/* never in VMX operation: it holds no guest translations */
		if (tlb_cpu_deaf(c) || !pcpu_array[c].online || smp_call(c, flush_vm_tlbs, &f))
			owed |= 1ULL << c;
	}
	return owed;
}

static void release_memory_now(void *arg)
{
	struct vm *vm = arg;

	guest_ram_destroy(vm);
	vm_free_hw(vm);
	vm_admit_release(vm);
}

/*
 * Give the VM's memory back (every vCPU has ended): guest RAM, EPT, VMCS
 * regions and bitmaps, and its reservation. If a CPU did not flush its
 * translations the memory is quarantined until it has (mem/quarantine.c),
 * never reused while a stale translation to it may exist.
 */
void vm_release_memory(struct vm *vm)
{
	uint64_t owed = vm_flush_translations(vm);

	if (!owed)
		release_memory_now(vm);
	else
		tlb_quarantine(owed, release_memory_now, vm, vm->name);	/* or leaked: safe */
}

uint16_t vm_vpid(const struct vm *vm, unsigned vcpu)
{
	return (uint16_t)(vm->id * 64 + vcpu + 1);
}

/* Pages the hardware used: VMCS regions and bitmaps (every vCPU has ended or never ran). */
void vm_free_hw(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i] && vm->vcpus[i]->vmcs_pa) {
			page_free(vm->vcpus[i]->vmcs_pa, 0);
			vm->vcpus[i]->vmcs_pa = 0;
		}
	}
	for (int i = 0; i < 2; i++) {
		if (vm->io_bitmap_pa[i])
			page_free(vm->io_bitmap_pa[i], 0);
		vm->io_bitmap_pa[i] = 0;
	}
	if (vm->msr_bitmap_pa)
		page_free(vm->msr_bitmap_pa, 0);
	vm->msr_bitmap_pa = 0;
	if (vm->apic_access_pa)
		page_free(vm->apic_access_pa, 0);
	vm->apic_access_pa = 0;
}

/* Device models, interrupt wiring and per-vCPU device state (every vCPU has ended). */
void vm_destroy_devices(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		if (!v)
			continue;
		ktimer_cancel(&v->hc_timer);
		vlapic_destroy(&v->lapic);
		vcpu_fpu_free(v);
	}
	vdev_bus_destroy(vm);
	vm_irq_destroy(vm);
}

/* Free what vm_setup() got before it failed (no vCPU world was started). */
void vm_destroy_unstarted(struct vm *vm)
{
	vm_destroy_devices(vm);
	guest_swap_destroy(vm);	/* no other world knows this VM: its swap state goes too */
	vm_free_hw(vm);
	for (unsigned i = 0; i < vm->nvcpus; i++)
		kfree(vm->vcpus[i]);
	guest_ram_destroy(vm);
	vm_admit_release(vm);
	if (vm->console)
		log_source_destroy(vm->console->src);
	kfree(vm->console);
	kfree(vm);
}
