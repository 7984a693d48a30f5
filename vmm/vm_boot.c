/*
 * Creating VMs at boot. Every boot module whose name ends in ".vmx" is a
 * VM configuration; its guest.kernel (and guest.modules) name other boot
 * modules. A VM whose configuration or image is bad is reported and left
 * out; the others start. vCPUs are placed by CPU admission control
 * (vmm/admission.c): inside sched.cpu.affinity, where their reservation
 * fits, by load; they stay there.
 *
 * Every vCPU's world starts with the VM: the boot vCPU in the state its
 * loader chose, the others waiting for a start-up IPI (see vcpu_events.c).
 * A guest reset with guest.reboot "restart" comes back here (vm_restart):
 * guest RAM is dropped, devices and vCPUs reset, and the image loaded again.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <vmm/admission.h>
#include <vmm/exit.h>
#include <vmm/guest_mem.h>
#include <vmm/loader.h>
#include <vmm/machine.h>
#include <vmm/vcpu_fpu.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include <vmm/guest_swap.h>
#include <vmm/vm.h>
#include <vmm/vmx_caps.h>
#include "vmx/vmx_priv.h"

static struct spinlock vms_lock = SPINLOCK_INIT("vms");
static struct vm *vms[VM_MAX];		/* vms_lock */
static unsigned n_vms;			/* vms_lock */

unsigned vm_count(void)
{
	return __atomic_load_n(&n_vms, __ATOMIC_ACQUIRE);
}

struct vm *vm_get(unsigned i)
{
	return i < vm_count() ? vms[i] : NULL;
}

/* The CPUs that run VMs; with vm, those that may run it (speculation policy). */
static uint64_t vm_cpus(const struct vm *vm)
{
	uint64_t m = 0;

	for (unsigned c = 0; c < pcpu_count && c < 64; c++) {
		if (pcpu_array[c].online && pcpu_array[c].vmx_ok && pcpu_array[c].vmm &&
		    (!vm || spec_cpu_free(c, vm)))
			m |= 1ULL << c;
	}
	return m;
}

struct vcpu *vcpu_create(struct vm *vm, unsigned id)
{
	struct vcpu *v = kzalloc(sizeof(*v));

	if (!v)
		return NULL;
	v->vm = vm;
	v->id = id;
	spin_init(&v->kick_lock, "vcpu kick");
	ktimer_init(&v->hc_timer, hc_timer_expired);
	vm->vcpus[id] = v;	/* from here on vm_destroy_unstarted() frees it */
	v->vmcs_pa = vmx_alloc_region();
	v->host_cpu = vm_admit_cpu(vm, id);
	if (!spec_cpu_allowed(v->host_cpu, vm))	/* claims the core under spec.smt=isolate */
		return NULL;
	if (!v->vmcs_pa || vcpu_fpu_alloc(v) ||
	    vlapic_init(&v->lapic, v, id, id == 0, tsc_hz()))
		return NULL;
	v->dr[4] = 0xffff0ff0ULL;	/* DR6 at reset */
	vcpu_mtrr_reset(v);
	return v;
}

/* Start a vCPU's world. */
int vcpu_start(struct vcpu *v)
{
	struct sched_params p = vm_vcpu_sched_params(v->vm);
	char name[32];

	/*
	 * It may move inside its affinity among the CPUs that run VMs, unless
	 * the VM says not to or spec.smt=isolate claims cores per VM; an SMP
	 * VM's vCPUs are co-scheduled as one group.
	 */
	if (v->vm->cfg.cpu_migrate && spec_vcpus_may_move())
		p.affinity = vm_cpus(v->vm) & v->vm->cfg.cpu_affinity;
	if (v->vm->nvcpus > 1)
		p.group = &v->vm->sched_group;

	snprintf(name, sizeof(name), "%.20s/vcpu%u", v->vm->name, v->id);
	__atomic_fetch_add(&v->vm->running_vcpus, 1, __ATOMIC_ACQ_REL);
	/* The world publishes itself in v->world when it first runs (vcpu_run). */
	if (!world_create_sched(name, vcpu_run, v, v->host_cpu, vcpu_ops(), v, &p)) {
		__atomic_fetch_sub(&v->vm->running_vcpus, 1, __ATOMIC_ACQ_REL);
		return -ENOMEM;
	}
	return 0;
}

/* Start every vCPU's world: vCPU 0 runs at once, the others wait for a start-up IPI. */
static int start_vcpus(struct vm *vm)
{
	/* No vCPU world of this VM exists (or all have left the group): a fresh skew count. */
	memset(&vm->sched_group, 0, sizeof(vm->sched_group));
	/* Before any world runs, so a start-up IPI or HC_VCPU_START finds them waiting. */
	for (unsigned i = 1; i < vm->nvcpus; i++)
		__atomic_store_n(&vm->vcpus[i]->lapic.run_state, VLAPIC_WAIT_SIPI, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		int err = vcpu_start(vm->vcpus[i]);

		if (err) {
			vm_stop(vm, VMCONFIG_STOP_KILLED, -1, "out of memory starting vCPU %u", i);
			return err;
		}
	}
	return 0;
}

static bool name_taken(const char *name)
{
	for (unsigned i = 0; i < n_vms; i++) {
		if (!strcmp(vms[i]->name, name))
			return true;
	}
	return false;
}

/* The APIC-access page of APIC virtualization, at the xAPIC base in the guest's EPT. */
static int setup_apic_access(struct vm *vm)
{
	const struct vmx_caps *caps = vmx_host_caps();

	if (!vm->cfg.apicv || !caps->apicv || !caps->virt_apic_access)
		return 0;
	if (!vm->apic_access_pa) {
		vm->apic_access_pa = page_alloc(0);
		if (!vm->apic_access_pa)
			return -ENOMEM;
		memset(phys_to_virt(vm->apic_access_pa), 0, PAGE_SIZE_4K);
	}
	return guest_map_page(vm, APIC_DEFAULT_BASE, vm->apic_access_pa);
}

/* Guest RAM (with its reservation) and everything mapped into the EPT. */
static int setup_memory(struct vm *vm)
{
	int err;

	guest_swap_attach(vm);	/* first: guest RAM turns EPT accessed bits on for it */
	err = guest_ram_init(vm, (uint64_t)vm->cfg.memsize_mb << 20);
	if (err)
		return err;
	if (vm->cfg.mem_min_mb) {
		err = guest_ram_reserve(vm, (uint64_t)vm->cfg.mem_min_mb << 20);
		if (err) {
			pr_err("%s: sched.mem.min = %u MiB cannot be reserved: not enough free host "
			       "memory\n", vm->name, vm->cfg.mem_min_mb);
			return err;
		}
	}
	return setup_apic_access(vm);
}

static int vm_setup(struct vm *vm)
{
	int err;

	if ((err = setup_memory(vm)) || (err = vm_io_bitmaps_init(vm)) ||
	    (err = vm_msr_bitmap_init(vm)) || (err = vdev_bus_init(vm)) ||
	    (err = vm_irq_init(vm)))
		return err;
	vm->console = kzalloc(sizeof(*vm->console));
	if (!vm->console)
		return -ENOMEM;
	spin_init(&vm->console->lock, "vm console");
	vm->nvcpus = vm->cfg.numvcpus;
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		if (!vcpu_create(vm, i))
			return -ENOMEM;
	}
	err = machine_create_devices(vm);
	if (err)
		return err;
	err = guest_load(vm);
	if (err)
		return err;
	vdev_log_all(vm);
	vm_note_overhead(vm);
	vm->tsc_offset = -(int64_t)rdtsc();	/* the guest's TSC starts at 0 */
	vm->state = VM_RUNNING;
	return start_vcpus(vm);
}

/*
 * After a guest reset (guest.reboot "restart"), on the world of the last
 * vCPU to leave: a fresh boot of the same configuration. Guest RAM is
 * dropped (nothing of the old run survives), devices and vCPUs go back to
 * their power-on state, the image is loaded again.
 */
void vm_restart(struct vm *vm)
{
	int err;

	vm->restarts++;
	pr_info("%s: guest reset (%s); booting it again (restart %u)\n", vm->name,
		vm->stop_reason, vm->restarts);
	/*
	 * Devices first: one may be working on guest memory in its own world (a
	 * virtio device's I/O world), and its reset waits for that to finish.
	 */
	vdev_reset_all(vm);
	/* Its old pages are reused only once no CPU can hold translations to them. */
	err = vm_flush_translations(vm) ? -EBUSY : 0;
	if (!err) {
		guest_swap_quiesce(vm);	/* no swapper on another world touches the old RAM */
		guest_ram_destroy(vm);
		err = setup_memory(vm);
	}
	if (!err) {
		for (unsigned i = 0; i < vm->nvcpus; i++)
			vcpu_reset(vm->vcpus[i]);
		err = guest_load(vm);
	}
	if (err) {
		vm_stop(vm, VMCONFIG_STOP_KILLED, -1, "cannot boot again after a guest reset (%d)",
			err);
		pr_info("%s: ended (stopped:killed): %s\n", vm->name, vm->stop_reason);
		vm_destroy_devices(vm);
		guest_swap_detach(vm);
		vm_release_memory(vm);
		__atomic_store_n(&vm->finished, true, __ATOMIC_RELEASE);
		return;
	}
	vm->tsc_offset = -(int64_t)rdtsc();
	__atomic_store_n(&vm->state, VM_RUNNING, __ATOMIC_RELEASE);
	start_vcpus(vm);
}

static void vm_create(const struct boot_module *m)
{
	struct vm *vm = kzalloc(sizeof(*vm));
	int err;

	if (!vm) {
		pr_err("%s: out of memory\n", m->name);
		return;
	}
	spin_init(&vm->lock, "vm");
	vm->exit_status = -1;
	if (vmconfig_parse(m->name, m->data, m->size, &vm->cfg)) {
		pr_err("%s; this VM does not start\n", vm->cfg.err);
		kfree(vm);
		return;
	}
	snprintf(vm->name, sizeof(vm->name), "%s", vm->cfg.name);
	spin_lock(&vms_lock);
	if (n_vms == VM_MAX || name_taken(vm->name)) {
		spin_unlock(&vms_lock);
		pr_err("%s: %s; this VM does not start\n", m->name,
		       n_vms == VM_MAX ? "too many VMs" : "another VM already has this displayName");
		kfree(vm);
		return;
	}
	vm->id = n_vms;
	spin_unlock(&vms_lock);
	/* Its memory or CPU reservation could not be held: refused, with the numbers. */
	if (vm_admit(vm, vm_cpus(NULL), vm_cpus(vm))) {
		kfree(vm);
		return;
	}
	err = vm_setup(vm);
	if (err) {
		pr_err("%s: cannot start (%d); its resources are released\n", vm->name, err);
		vm_destroy_unstarted(vm);
		return;
	}
	spin_lock(&vms_lock);
	vms[n_vms] = vm;
	__atomic_store_n(&n_vms, n_vms + 1, __ATOMIC_RELEASE);
	spin_unlock(&vms_lock);
	pr_info("%s: started: %u MiB, %u vCPU(s), vCPU 0 on CPU %u, local APIC %s\n", vm->name,
		vm->cfg.memsize_mb, vm->nvcpus, vm->vcpus[0]->host_cpu,
		vm->apic_access_pa ? "with the CPU's APIC virtualization" : "emulated in software");
	vm_log_unapplied(vm);
}

static bool is_vmx_file(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && !strcmp(name + n - 4, ".vmx");
}

static int vm_boot_all(void)
{
	unsigned configs = 0;

	for (unsigned i = 0; i < bootmod_count(); i++)
		configs += is_vmx_file(bootmod_get(i)->name);
	if (vmx_host_usable() && !configs)
		spec_probe();	/* the speculation measures are logged at every boot with VT-x */
	if (!configs)
		return 0;
	if (!vmx_host_usable()) {
		pr_err("%u VM configuration(s) found, but this host cannot run VMs (see the vmx "
		       "line above); none started\n", configs);
		return 0;
	}
	vcpu_probe_host();
	spec_probe();
	for (unsigned i = 0; i < bootmod_count(); i++) {
		if (is_vmx_file(bootmod_get(i)->name))
			vm_create(bootmod_get(i));
	}
	pr_info("%u of %u VM(s) started\n", vm_count(), configs);
	return 0;
}
INIT_LEVEL(vm_boot_all, INIT_LATE);
