/*
 * Exit counters of running VMs, readable while they run: with vmstat=N on
 * the kernel command line a world prints, every N seconds, one line per
 * vCPU of every running VM: total exits, the most frequent exit reasons,
 * and the share of its CPU time spent handling exits (counters are
 * written only by the vCPU's own world; aligned 64-bit reads are atomic);
 * then one line of each running VM's memory (also printed when a VM ends)
 * and one of the host's page sharing (docs/resource-manager.md, Memory).
 */
#define pr_fmt(fmt) "vmstat: " fmt
#include <stdio.h>
#include <vmkernel/layout.h>
#include <vmkernel/linebuf.h>
#include <vmm/balloon.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_swap.h>
#include <vmm/memsched.h>
#include <vmm/pshare.h>
#include <vmm/vcpu.h>
#include <vmm/vdev.h>
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

static unsigned long long kib(uint64_t bytes)
{
	return (unsigned long long)((bytes + 1023) / 1024);
}

/*
 * What the VMM itself holds for a VM, measured at its start (after its
 * devices were made): per vCPU its VMCS, XSAVE and local APIC pages, world
 * stack and structure; the VM's I/O and MSR bitmaps, APIC-access page,
 * structures and device instances. EPT tables are added when reported.
 */
void vm_note_overhead(struct vm *vm)
{
	uint64_t b = sizeof(*vm) + 3 * 4096 + vdev_bus_bytes(vm);

	if (vm->apic_access_pa)
		b += 4096;
	b += (uint64_t)vm->nvcpus * (3 * 4096 + KSTACK_SIZE + sizeof(struct vcpu));
	vm->overhead_bytes = b;
}

void vm_log_memory(struct vm *vm, const char *prefix)
{
	struct guest_ram_stats st;
	struct guest_swap_stats sw;
	struct balloon_info bi;
	const char *src;
	uint64_t active;
	char line[512];
	struct linebuf lb = LINEBUF_INIT(line);

	guest_ram_stats(vm, &st);
	lb_printf(&lb, "%s: %smemory: memsize %u MiB; backed %llu KiB: private %llu KiB, shared "
		  "%llu KiB (%llu KiB zero pages); overhead %llu KiB", vm->name, prefix,
		  vm->cfg.memsize_mb, kib((st.private_pages + st.shared_pages) * 4096),
		  kib(st.private_pages * 4096), kib(st.shared_pages * 4096),
		  kib(st.zero_pages * 4096), kib(vm->overhead_bytes + st.ept_tables * 4096));
	if (balloon_vm_info(vm, &bi))
		lb_printf(&lb, "; ballooned %llu KiB (target %llu KiB)", kib(bi.pages * 4096),
			  kib(bi.target * 4096));
	if (memsched_vm_active(vm, &active, &src))
		lb_printf(&lb, "; active %llu KiB (%s)", kib(active * 4096), src);
	if (st.scanned || st.cow_copies || st.cow_reowns)
		lb_printf(&lb, "; scanned %llu pages, writes to shared pages: %llu copied, %llu "
			  "took the frame back", (unsigned long long)st.scanned,
			  (unsigned long long)st.cow_copies, (unsigned long long)st.cow_reowns);
	guest_swap_stats(vm, &sw);
	if (sw.active || sw.swap_outs)
		lb_printf(&lb, "; swapped %llu KiB, %llu swap-outs, %llu swap-ins",
			  kib(sw.swapped_pages * 4096), (unsigned long long)sw.swap_outs,
			  (unsigned long long)sw.swap_ins);
	if (sw.write_errors)
		lb_printf(&lb, " (%llu swap-outs failed to write)",
			  (unsigned long long)sw.write_errors);
	pr_info("%s\n", lb_str(&lb));
}

void vm_log_pshare(void)
{
	struct pshare_stats ps;

	pshare_get_stats(&ps);
	if (ps.refs)
		pr_info("page sharing: %llu guest pages share %llu frames (%llu zero pages in %llu "
			"frames): %llu KiB saved\n", (unsigned long long)ps.refs,
			(unsigned long long)ps.frames, (unsigned long long)ps.zero_refs,
			(unsigned long long)ps.zero_frames, kib((ps.refs - ps.frames) * 4096));
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
			bool running = !vm_stopped(vm);

			for (unsigned c = 0; running && c < vm->nvcpus; c++) {
				if (vm->vcpus[c] && vm->vcpus[c]->world)
					print_vcpu(vm, vm->vcpus[c]);
			}
			spin_unlock_irqrestore(&vm->lock, flags);
			if (running)
				vm_log_memory(vm, "");
		}
		vm_log_pshare();
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
