/*
 * The vCPU world: enter the guest, take the exit, handle it, repeat.
 *
 * The world's switch-in hook makes the vCPU's VMCS current (VMPTRLD) and
 * swaps in the guest's FPU/vector state (XSAVE), syscall MSRs and debug
 * registers if another vCPU used them last on this CPU.
 *
 * Moving to another CPU (the scheduler decides, vmkernel/sched.c). The
 * CPU it leaves calls vcpu_release() while the world is ready and not
 * running: VMCLEAR writes the VMCS back to memory and makes it clear (not
 * launched), and if this vCPU's FPU and MSRs are still loaded there they
 * are saved. The CPU it arrives on sees host_cpu differ in the switch-in
 * hook: VMPTRLD, the host-state fields that name that CPU's own tables
 * (GS base = its per-CPU block, TR and its TSS, GDTR, IDTR) rewritten,
 * and the next entry is VMLAUNCH. Translations: guest TLB entries are
 * tagged with the vCPU's VPID and EP4TA, and a CPU this vCPU ran on
 * before may still hold entries the guest has since invalidated (its
 * INVLPG or MOV CR3 acts on the CPU it ran on); so on arrival the VPID
 * and the EPT context are flushed on the new CPU (INVVPID and INVEPT,
 * single context), as KVM does when a vCPU changes CPU. The VM's ept_cpus
 * mask gets the new CPU's bit before its first entry there, as always
 * (vcpu_note_cpu), so page-sharing shootdowns reach it. Kicks follow
 * host_cpu, written before the vCPU can be in the guest there; its host
 * timers (ktimers) stay armed on the CPU that armed them and wake the
 * world wherever it is.
 *
 * Every vCPU's world starts with its VM. The boot vCPU starts in the state
 * its loader chose; the others wait, as application processors do, for a
 * start-up IPI through their local APIC (or, for multiboot test guests,
 * for HC_VCPU_START), see vcpu_events.c. Events are chosen just before
 * each entry with interrupts off (vcpu_events.c); HLT blocks the world
 * until something the guest can take is pending. The VMX preemption timer
 * bounds every stay in the guest to the rest of the world's time slice.
 */
#define pr_fmt(fmt) "vcpu: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/trap.h>
#include <vmm/exit.h>
#include <vmm/guest_mem.h>
#include <vmm/vcpu.h>
#include <vmm/vm.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmx_decode.h>
#include "vcpu_priv.h"
#include "vmx/vmx_priv.h"

/* IA32_TSC_AUX exists where RDTSCP does (CPUID 0x80000001 EDX bit 27). */
static bool tsc_aux_ok;

void vcpu_probe_host(void)
{
	tsc_aux_ok = cpuid(0x80000000, 0).eax >= 0x80000001 &&
		     (cpuid(0x80000001, 0).edx & (1U << 27));
}

bool vcpu_has_tsc_aux(void)
{
	return tsc_aux_ok;
}

/* The debug registers VMX does not switch: DR0-DR3 and DR6 belong to the guest on this CPU. */
static void save_debug_regs(struct vcpu *v)
{
	asm volatile("mov %%dr0, %0" : "=r"(v->dr[0]));
	asm volatile("mov %%dr1, %0" : "=r"(v->dr[1]));
	asm volatile("mov %%dr2, %0" : "=r"(v->dr[2]));
	asm volatile("mov %%dr3, %0" : "=r"(v->dr[3]));
	asm volatile("mov %%dr6, %0" : "=r"(v->dr[4]));
}

static void load_debug_regs(const struct vcpu *v)
{
	asm volatile("mov %0, %%dr0" : : "r"(v->dr[0]));
	asm volatile("mov %0, %%dr1" : : "r"(v->dr[1]));
	asm volatile("mov %0, %%dr2" : : "r"(v->dr[2]));
	asm volatile("mov %0, %%dr3" : : "r"(v->dr[3]));
	asm volatile("mov %0, %%dr6" : : "r"(v->dr[4]));
}

static void save_guest_msrs(struct vcpu *v)
{
	v->msr_star = rdmsr(0xc0000081);
	v->msr_lstar = rdmsr(0xc0000082);
	v->msr_cstar = rdmsr(0xc0000083);
	v->msr_fmask = rdmsr(0xc0000084);
	v->msr_kernel_gs_base = rdmsr(MSR_IA32_KERNEL_GS_BASE);
	if (tsc_aux_ok)
		v->msr_tsc_aux = rdmsr(0xc0000103);
}

static void load_guest_msrs(const struct vcpu *v)
{
	wrmsr(0xc0000081, v->msr_star);
	wrmsr(0xc0000082, v->msr_lstar);
	wrmsr(0xc0000083, v->msr_cstar);
	wrmsr(0xc0000084, v->msr_fmask);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, v->msr_kernel_gs_base);
	if (tsc_aux_ok)
		wrmsr(0xc0000103, v->msr_tsc_aux);
}

/* This CPU holds nothing of v any more: it moves to another (see the top). IRQs off. */
static void vcpu_release(struct world *w)
{
	struct vcpu *v = w->owner;
	struct vmm_cpu *vc = vmm_this_cpu();

	if (v->vmcs_ready) {
		if (vmcs_clear(v->vmcs_pa))
			pr_err("%s vCPU %u: VMCLEAR on CPU %u before a move failed\n", v->vm->name,
			       v->id, this_cpu_id());
		if (vc->current_vmcs == v->vmcs_pa)
			vc->current_vmcs = 0;
		v->launched = false;
		v->vmcs_released = true;
	}
	if (vc->state_owner == v) {
		fpu_save(v->xsave);
		save_guest_msrs(v);
		save_debug_regs(v);
		vc->state_owner = NULL;
	}
}

/* v arrived on this CPU with its VMCS current: the per-CPU host state and stale translations. */
static void vcpu_arrive(struct vcpu *v)
{
	const struct vmx_caps *caps = vmx_host_caps();
	uint64_t t0 = rdtsc();

	vmcs_write_host_state();
	vcpu_flush_guest_tlb(v);
	if (caps->invept_single)
		invept(INVEPT_SINGLE_CONTEXT, guest_eptp(v->vm));
	else if (caps->invept)
		invept(INVEPT_ALL_CONTEXT, 0);
	v->arrive_tsc += rdtsc() - t0;
}

/* Lazily hand the FPU and the guest-owned MSRs from the last vCPU on this CPU to v. */
static void vcpu_switch_in(struct world *w)
{
	struct vcpu *v = w->owner;
	struct vmm_cpu *vc = vmm_this_cpu();
	bool moved = v->host_cpu != this_cpu_id();

	if (moved)
		__atomic_store_n(&v->host_cpu, this_cpu_id(), __ATOMIC_RELEASE);

	/*
	 * Once vmcs_setup() made it current, v's VMCS must be current whenever
	 * v runs, launched or not: an AP sets its VMCS up, then waits for a
	 * start-up IPI while other vCPUs run on this CPU.
	 */
	if (vc->current_vmcs != v->vmcs_pa && v->vmcs_ready) {
		if (vmcs_load(v->vmcs_pa)) {
			/* Never run on whatever VMCS was current before: vcpu_step stops the VM. */
			v->vmptrld_failed = true;
			vc->current_vmcs = 0;
		} else {
			vc->current_vmcs = v->vmcs_pa;
			if (moved || v->vmcs_released)
				vcpu_arrive(v);
			v->vmcs_released = false;
		}
	}
	spec_switch_to_vm(vc, v->vm);
	if (vc->state_owner != v) {
		if (vc->state_owner) {
			fpu_save(vc->state_owner->xsave);
			save_guest_msrs(vc->state_owner);
			save_debug_regs(vc->state_owner);
		}
		fpu_restore(v->xsave);
		load_guest_msrs(v);
		load_debug_regs(v);
		vc->state_owner = v;
	}
}

static const struct world_ops vcpu_world_ops = {
	.switch_in = vcpu_switch_in,
	.release = vcpu_release,
};

const struct world_ops *vcpu_ops(void)
{
	return &vcpu_world_ops;
}

void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
	v->pending_exc = true;
	v->exc_vector = vector;
	v->exc_has_error = has_error;
	v->exc_error = error;
}

void vcpu_reset(struct vcpu *v)
{
	ktimer_cancel(&v->hc_timer);
	v->hc_timer_deadline = 0;
	vlapic_reset(&v->lapic, false);
	v->lapic.run_state = VLAPIC_RUNNING;
	v->lapic.init_pending = v->lapic.sipi_pending = v->lapic.nmi_pending = false;
	v->boot_pending = false;
	v->pending_exc = false;
	v->exit.idt_vectoring = 0;
	v->launched = false;
	v->vmcs_ready = false;
	v->osxsave = false;
	v->xcr0 = 1;
	memset(v->xsave, 0, 512 + 64);	/* legacy area and XSAVE header: nothing in use */
	*(uint16_t *)&v->xsave[0] = 0x37f;
	*(uint32_t *)&v->xsave[24] = 0x1f80;
	memset(v->dr, 0, sizeof(v->dr));
	v->dr[4] = 0xffff0ff0ULL;
	v->msr_star = v->msr_lstar = v->msr_cstar = v->msr_fmask = 0;
	v->msr_kernel_gs_base = v->msr_tsc_aux = 0;
	v->spec_ctrl = 0;
	vcpu_mtrr_reset(v);
}

static void skip_instruction(struct vcpu *v)
{
	uint32_t intr = vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY);

	vmcs_writenat(VMCS_GUEST_RIP, v->exit.rip + v->exit.insn_len);
	/* The instruction retired: its STI / MOV SS shadow ends with it. */
	if (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
			     intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

static void set_preemption_timer(void)
{
	const struct vmx_caps *caps = vmx_host_caps();

	if (caps->preemption_timer)
		vmcs_write32(VMCS_PREEMPTION_TIMER_VALUE,
			     (uint32_t)(sched_allowance_tsc() >> caps->preemption_timer_rate));
}

/* After an exit taken with host interrupts off: run host work the exit carried. */
static void host_event(struct vcpu *v)
{
	uint32_t info = v->exit.intr_info;

	if (v->exit.reason == EXIT_REASON_EXTERNAL_INTERRUPT && (info & INTR_INFO_VALID))
		irq_dispatch_vector(info & INTR_INFO_VECTOR_MASK);
}

/*
 * Before the first entry, check the VMCS against the SDM's entry rules. A
 * finding is logged, but the CPU has the last word: the entry is tried.
 */
static void check_before_launch(struct vcpu *v)
{
	char why[200];

	if (vmcs_check_current(why, sizeof(why)))
		pr_warn("%s vCPU %u: VMCS check before the first entry: %s\n", v->vm->name,
			v->id, why);
}

static bool entry_failed(struct vcpu *v)
{
	unsigned err = (unsigned)vmcs_read32(VMCS_VM_INSTRUCTION_ERROR);

	__atomic_store_n(&v->in_guest, false, __ATOMIC_RELEASE);
	vmcs_dump(v, vmx_instruction_error_str(err));
	guest_xcr0_exit(v);
	irq_enable();
	vm_stop(v->vm, VMCONFIG_STOP_ENTRY_FAILURE, -1,
		"vCPU %u: VM entry failed: VM-instruction error %u (%s)", v->id, err,
		vmx_instruction_error_str(err));
	return false;
}

/*
 * This CPU may cache the VM's translations from now on: TLB shootdowns
 * (page sharing) must reach it. Set with a full barrier before the entry,
 * so a shootdown that does not see the bit made its EPT change first.
 */
static void vcpu_note_cpu(struct vm *vm)
{
	uint64_t bit = 1ULL << (this_cpu_id() & 63);

	if (!(__atomic_load_n(&vm->ept_cpus, __ATOMIC_RELAXED) & bit))
		__atomic_fetch_or(&vm->ept_cpus, bit, __ATOMIC_SEQ_CST);
}

/* One entry and exit; returns false when the vCPU must stop. */
static bool vcpu_step(struct vcpu *v)
{
	enum exit_action act;
	uint64_t t0;

	if (v->vmptrld_failed) {
		vm_stop(v->vm, VMCONFIG_STOP_KILLED, -1,
			"vCPU %u: its VMCS could not be made current on CPU %u (VMPTRLD failed)",
			v->id, this_cpu_id());
		return false;
	}
	if (!vcpu_handle_signals(v))
		return !vm_stopped(v->vm);
	irq_disable();
	/* From here on a kick must IPI this CPU: events are read after this store. */
	__atomic_store_n(&v->in_guest, true, __ATOMIC_SEQ_CST);
	vcpu_note_cpu(v->vm);
	vcpu_inject_events(v);
	set_preemption_timer();
	if (!v->launched)
		check_before_launch(v);
	spec_before_entry(vmm_this_cpu(), v->spec_ctrl);
	guest_xcr0_enter(v);
	if (vmx_enter(&v->regs, v->launched))
		return entry_failed(v);
	spec_after_exit(vmm_this_cpu());
	t0 = rdtsc();
	guest_xcr0_exit(v);
	__atomic_store_n(&v->in_guest, false, __ATOMIC_RELEASE);
	v->launched = true;
	vmexit_decode(v);
	host_event(v);
	irq_enable();
	act = vmexit_dispatch(v);
	if (act == EXIT_SKIP || act == EXIT_BLOCK || act == EXIT_YIELD)
		skip_instruction(v);
	if (act == EXIT_BLOCK)
		vcpu_halt(v);
	v->exit_tsc += rdtsc() - t0;
	if (act == EXIT_YIELD)
		sched_yield_turn();
	return act != EXIT_STOP_VM;
}

/* test.break in the VM's config: corrupt the VMCS so the entry fails (tests only). */
static void vcpu_test_break(struct vcpu *v)
{
	switch (v->vm->cfg.test_break) {
	case VMCONFIG_BREAK_GUEST_STATE:
		/* CS access rights with the "present" bit clear: invalid guest state. */
		vmcs_write32(VMCS_GUEST_CS_AR, 0xc01b);
		break;
	case VMCONFIG_BREAK_CONTROL:
		/* A CR3-target count above 4 is an invalid control field (SDM 3C 27.2.1.1). */
		vmcs_write32(VMCS_CR3_TARGET_COUNT, 5);
		break;
	default:
		break;
	}
}

/*
 * A vCPU the host stopped while it still ran (the end of a test run, a kill):
 * one line of where the guest was and what its interrupt state held, so that
 * a guest that hung leaves a trace to start from. Its VMCS is current here.
 */
static void vcpu_report_killed(struct vcpu *v)
{
	uint64_t rflags = vmcs_readnat(VMCS_GUEST_RFLAGS);
	char apicv[48] = "";

	if (v->vm->stop_kind != VMCONFIG_STOP_KILLED || !v->launched)
		return;
	if (v->apicv) {
		uint16_t st = vmcs_read16(VMCS_GUEST_INTR_STATUS);

		snprintf(apicv, sizeof(apicv), ", RVI %#x SVI %#x", st & 0xff, st >> 8);
	}
	pr_info("%s: vCPU %u when stopped: RIP %#llx CS %#x CR3 %#llx RFLAGS %#llx (IF %u), "
		"activity %u, interruptibility %#x, IDT vectoring %#x, entry event %#x; "
		"local APIC highest IRR %d, PPR %#x%s; %llu exits\n", v->vm->name, v->id,
		(unsigned long long)vmcs_readnat(VMCS_GUEST_RIP),
		vmcs_read16(VMCS_GUEST_CS_SELECTOR),
		(unsigned long long)vmcs_readnat(VMCS_GUEST_CR3), (unsigned long long)rflags,
		(unsigned)((rflags >> 9) & 1), vmcs_read32(VMCS_GUEST_ACTIVITY_STATE),
		vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY), vmcs_read32(VMCS_IDT_VECTORING_INFO),
		vmcs_read32(VMCS_ENTRY_INTR_INFO), vlapic_highest_irr(&v->lapic),
		vlapic_ppr(&v->lapic), apicv, (unsigned long long)v->exits_total);
}

void vcpu_run(void *arg)
{
	struct vcpu *v = arg;
	unsigned long flags;

	/* Published under kick_lock and vm->lock: kicks and a VM stop may wake it from now on. */
	flags = spin_lock_irqsave(&v->vm->lock);
	spin_lock(&v->kick_lock);
	v->world = world_current();
	spin_unlock(&v->kick_lock);
	spin_unlock_irqrestore(&v->vm->lock, flags);

	if (vmcs_setup(v)) {
		vm_stop(v->vm, VMCONFIG_STOP_ENTRY_FAILURE, -1, "vCPU %u: cannot set up its VMCS",
			v->id);
	} else if (vcpu_wait_for_start(v)) {
		vcpu_test_break(v);
		while (!vm_stopped(v->vm) && vcpu_step(v)) {
			if (sched_should_yield())
				sched_yield();
		}
		vcpu_report_killed(v);
	}
	vm_vcpu_done(v);
}
