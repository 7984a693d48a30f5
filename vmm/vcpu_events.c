/*
 * Events for a vCPU: what it takes at its next entry, how it sleeps in HLT
 * and waits for a start-up IPI, and how others get its attention.
 *
 * Injection order at each entry (interrupts off): an event whose delivery
 * an exit interrupted (IDT-vectoring info) is delivered again; then an
 * exception a handler raised; then an NMI from the local APIC; then an
 * external interrupt: the PIC's ExtINT (vCPU 0, when its LAPIC passes
 * LINT0 through or is off) before the highest LAPIC vector that PPR lets
 * through. Without the CPU's APIC virtualization, an interrupt the guest
 * cannot take yet (RFLAGS.IF clear, STI/MOV-SS shadow) arms
 * interrupt-window exiting. With it (virtual-interrupt delivery) the LAPIC
 * vectors are not injected by software at all: RVI tells the CPU the
 * highest pending one and the CPU delivers it when the guest can take it;
 * level-triggered vectors are set in the EOI-exit bitmap so their EOI
 * reaches the IOAPIC.
 *
 * Posting: under APIC virtualization the CPU updates the virtual-APIC
 * page's IRR itself while the guest runs (it clears a vector's bit when it
 * delivers it, and recomputes RVI from the whole IRR), so no other CPU may
 * write there then: a fixed interrupt for such a vCPU is posted in the
 * LAPIC's own bitmap (vlapic->pir) and moved into IRR here, before the
 * entry, together with the RVI and EOI-exit bitmap that go with it. (This is
 * what the CPU's posted-interrupt processing does; using that hardware
 * feature where it exists would save the kick's exit.)
 *
 * Kicks: a sender first makes the event pending (atomically), then kicks.
 * The vCPU sets in_guest before it reads its events for an entry; a kick
 * that sees in_guest sends an IPI to the vCPU's CPU, which forces an exit
 * right after the entry if it raced with it. A kick that sees the vCPU
 * halted wakes its world; halted is set before the vCPU's last look at
 * its events, so no wake-up is lost.
 */
#define pr_fmt(fmt) "vcpu: " fmt
#include <vmkernel/apic.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/trap.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include <vmm/vm.h>
#include <vmm/vmx.h>
#include <vmm/vmx_decode.h>
#include "vcpu_priv.h"

void vcpu_kick(struct vcpu *v)
{
	unsigned long flags;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST)) {
		if (v->host_cpu != this_cpu_id()) {
			v->kicks_sent++;
			lapic_send_ipi(pcpu_array[v->host_cpu].apic_id, VEC_VCPU_KICK);
		}
		return;
	}
	if (!__atomic_load_n(&v->halted, __ATOMIC_SEQ_CST))
		return;		/* in the host between exits: it looks before the next entry */
	flags = spin_lock_irqsave(&v->kick_lock);
	if (v->world)
		sched_wakeup(v->world);
	spin_unlock_irqrestore(&v->kick_lock, flags);
}

static bool guest_if(void)
{
	return vmcs_readnat(VMCS_GUEST_RFLAGS) & X86_RFLAGS_IF;
}

static bool guest_can_take_irq(void)
{
	return guest_if() && !(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
			       (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

static bool guest_can_take_nmi(void)
{
	return !(vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) &
		 (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI));
}

/* The primary controls are cached in the vCPU: this runs before every entry. */
static void set_proc_ctl(struct vcpu *v, uint32_t bit, bool on)
{
	uint32_t want = on ? v->proc_ctls | bit : v->proc_ctls & ~bit;

	if (want != v->proc_ctls) {
		vmcs_write32(VMCS_PROC_BASED_CTLS, want);
		v->proc_ctls = want;
	}
}

static void inject(uint32_t info)
{
	vmcs_write32(VMCS_ENTRY_INTR_INFO, info);
}

/* An exit interrupted the delivery of an event: deliver it again. */
static void reinject(struct vcpu *v)
{
	struct vmx_event ev;
	struct vmx_entry_event o;

	if (!vmx_decode_event(v->exit.idt_vectoring, &ev) &&
	    !vmx_reinject(&ev, v->exit.idt_error, v->exit.insn_len, &o) && o.info) {
		static bool warned;

		/*
		 * An interrupt whose delivery began had IF set in the state the
		 * exit saved. If not, the guest is about to take an interrupt with
		 * interrupts off (a nested handler on a held lock): say so, once.
		 */
		if (ev.type == VMX_EVENT_EXT_INTR && !guest_if() && !warned) {
			warned = true;
			pr_warn("%s vCPU %u: re-delivering interrupt vector %#x with RFLAGS.IF "
				"clear (RIP %#lx, RFLAGS %#lx)\n", v->vm->name, v->id, ev.vector,
				vmcs_readnat(VMCS_GUEST_RIP), vmcs_readnat(VMCS_GUEST_RFLAGS));
		}
		inject(o.info);
		if (o.write_error)
			vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, o.error);
		if (o.write_len)
			vmcs_write32(VMCS_ENTRY_INSTRUCTION_LEN, o.insn_len);
		if (o.clear_nmi_blocking)
			vmcs_write32(VMCS_GUEST_INTERRUPTIBILITY,
				     vmcs_read32(VMCS_GUEST_INTERRUPTIBILITY) & ~INTERRUPTIBILITY_NMI);
	}
	v->exit.idt_vectoring = 0;
}

static void inject_exception(struct vcpu *v)
{
	uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | v->exc_vector;

	/* Real mode (unrestricted guest with CR0.PE = 0) delivers no error codes. */
	if (v->exc_has_error && (vcpu_cr0() & X86_CR0_PE)) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write32(VMCS_ENTRY_EXCEPTION_ERROR_CODE, v->exc_error);
	}
	inject(info);
	v->pending_exc = false;
}

/* An external interrupt to deliver now (ExtINT first), or -1; acknowledged if taken. */
static int take_external(struct vcpu *v, bool take)
{
	int vec;

	if (v->id == 0 && vlapic_accepts_extint(&v->lapic) && vm_extint_pending(v->vm))
		return take ? vm_extint_ack(v->vm) : 0;
	if (v->apicv)
		return -1;	/* the CPU delivers LAPIC vectors itself */
	vec = vlapic_pending_irq(&v->lapic);
	if (vec >= 0 && take)
		vlapic_ack_irq(&v->lapic, (uint8_t)vec);
	return vec;
}

/*
 * APIC virtualization: a vector the CPU would deliver (above PPR) while the
 * guest cannot take it (IF clear, an STI or MOV-SS shadow, or the event
 * injected at this entry clears IF) is held back. Architecturally the CPU
 * waits for IF by itself; Bochs does not in one case: a host interrupt
 * arriving in guest mode with a virtual interrupt pending delivers the
 * virtual one whatever IF is (its InterruptAcknowledge), so a 2-vCPU Linux
 * guest took an edge interrupt inside its own handler and deadlocked on
 * the descriptor lock. Held back means:
 *  - RVI is written as 0, so the CPU has nothing to deliver; IRR in the
 *    virtual-APIC page is untouched (the guest reads it as it is);
 *  - interrupt-window exiting brings the vCPU back the moment IF is set,
 *    and the next entry restores RVI, so the vector is delivered exactly
 *    where the CPU would have delivered it. That is one exit per
 *    held-back vector, and none while nothing is held back.
 * (An earlier form left RVI set and relied on the window alone to block
 * delivery; under Bochs that made a guest that keeps IF clear with a
 * vector pending, such as the hostile fuzz guest, run several times
 * slower in wall time. With RVI hidden it runs at full speed.)
 */
static bool apicv_held_back(struct vcpu *v, int irr, bool injecting)
{
	return irr > 0 && ((unsigned)irr & 0xf0) > (vlapic_ppr(&v->lapic) & 0xf0) &&
	       (injecting || !guest_can_take_irq());
}

/*
 * Tell the CPU the highest pending vector (RVI; 0 while held back) and
 * which EOIs must exit. Returns whether to arm interrupt-window exiting.
 */
static bool sync_apicv(struct vcpu *v, bool injecting)
{
	int irr = vlapic_highest_irr(&v->lapic);
	bool held = apicv_held_back(v, irr, injecting);
	uint16_t status = vmcs_read16(VMCS_GUEST_INTR_STATUS);
	uint16_t want = (uint16_t)((status & 0xff00) | (irr > 0 && !held ? irr : 0));

	if (want != status)
		vmcs_write16(VMCS_GUEST_INTR_STATUS, want);
	if (__atomic_exchange_n(&v->lapic.tmr_changed, false, __ATOMIC_ACQ_REL)) {
		static const uint32_t fields[4] = {
			VMCS_EOI_EXIT_BITMAP0, VMCS_EOI_EXIT_BITMAP1,
			VMCS_EOI_EXIT_BITMAP2, VMCS_EOI_EXIT_BITMAP3,
		};

		for (unsigned i = 0; i < 4; i++) {
			uint64_t lo = v->lapic.regs[(APIC_TMR + 0x20 * i) / 4];
			uint64_t hi = v->lapic.regs[(APIC_TMR + 0x20 * i + 0x10) / 4];

			vmcs_write_checked(fields[i], lo | (hi << 32), "EOI-exit bitmap", __func__);
		}
	}
	return held;
}

void vcpu_inject_events(struct vcpu *v)
{
	bool event = true;	/* an event other than an external interrupt goes first */
	bool window = false;	/* APICv: a held-back vector wants interrupt-window exiting */
	int vec, waiting;

	vlapic_merge_posted(&v->lapic);
	if (v->exit.idt_vectoring & INTR_INFO_VALID) {
		reinject(v);
	} else if (v->pending_exc) {
		inject_exception(v);
	} else if (__atomic_load_n(&v->lapic.nmi_pending, __ATOMIC_ACQUIRE) &&
		   guest_can_take_nmi()) {
		__atomic_store_n(&v->lapic.nmi_pending, false, __ATOMIC_RELEASE);
		inject(INTR_INFO_VALID | INTR_TYPE_NMI | X86_EXC_NMI);
		v->injected_nmis++;
	} else {
		event = false;
	}
	/* One look at the interrupt sources when none is pending: this runs at every entry. */
	waiting = take_external(v, false);
	if (!event && waiting >= 0 && guest_can_take_irq() &&
	    (vec = take_external(v, true)) >= 0) {
		inject(INTR_INFO_VALID | INTR_TYPE_EXT_INTR | (uint8_t)vec);
		v->injected_irqs++;
		event = true;
		waiting = take_external(v, false);
	}
	if (v->apicv)
		window = sync_apicv(v, event);
	/* Whatever is still waiting: exit as soon as the guest can take it. */
	set_proc_ctl(v, PROC_INTR_WINDOW_EXITING, waiting >= 0 || window);
	if (v->pin_ctls & PIN_VIRTUAL_NMIS)
		set_proc_ctl(v, PROC_NMI_WINDOW_EXITING,
			     __atomic_load_n(&v->lapic.nmi_pending, __ATOMIC_ACQUIRE));
}

/* Would an event wake this vCPU from HLT? (IF clear: only NMI and INIT do.) */
static bool wakes_hlt(struct vcpu *v, bool interrupts_enabled)
{
	struct vlapic *l = &v->lapic;

	vlapic_merge_posted(l);
	if (__atomic_load_n(&l->nmi_pending, __ATOMIC_ACQUIRE) ||
	    __atomic_load_n(&l->init_pending, __ATOMIC_ACQUIRE))
		return true;
	if (!interrupts_enabled)
		return false;
	if (v->id == 0 && vlapic_accepts_extint(l) && vm_extint_pending(v->vm))
		return true;
	return vlapic_pending_irq(l) >= 0 ||
	       (v->apicv && vlapic_highest_irr(l) > (int)(vlapic_ppr(l) & 0xf0));
}

/* HLT: sleep until an event the guest would take is pending (or the VM stops). */
void vcpu_halt(struct vcpu *v)
{
	bool ie = guest_if();

	__atomic_store_n(&v->halted, true, __ATOMIC_SEQ_CST);
	while (!vm_stopped(v->vm) && !wakes_hlt(v, ie))
		sched_block();
	__atomic_store_n(&v->halted, false, __ATOMIC_RELEASE);
}

/* The INIT state: the vCPU waits for a start-up IPI (SDM 3A 9.1.1, 8.4.4). */
static void enter_wait_for_sipi(struct vcpu *v)
{
	vlapic_reset(&v->lapic, true);
	v->pending_exc = false;
	v->exit.idt_vectoring = 0;
}

/* Block until a SIPI or HC_VCPU_START; then load the start state. False if the VM stopped. */
static bool wait_for_sipi(struct vcpu *v)
{
	struct vlapic *l = &v->lapic;
	bool started = false;
	int vec;

	__atomic_store_n(&v->halted, true, __ATOMIC_SEQ_CST);
	while (!vm_stopped(v->vm)) {
		if (vlapic_take_init(l))
			enter_wait_for_sipi(v);		/* another INIT: still waiting */
		if ((vec = vlapic_take_sipi(l)) >= 0) {
			struct vcpu_boot b = { .mode = VCPU_MODE_REAL, .real_cs = (uint16_t)(vec << 8) };

			vcpu_load_boot_state(v, &b);
			started = true;
			break;
		}
		if (__atomic_exchange_n(&v->boot_pending, false, __ATOMIC_ACQ_REL)) {
			vcpu_load_boot_state(v, &v->boot);
			__atomic_store_n(&l->run_state, VLAPIC_RUNNING, __ATOMIC_RELEASE);
			started = true;
			break;
		}
		sched_block();
	}
	__atomic_store_n(&v->halted, false, __ATOMIC_RELEASE);
	return started;
}

bool vcpu_handle_signals(struct vcpu *v)
{
	if (vlapic_take_init(&v->lapic))
		enter_wait_for_sipi(v);
	if (__atomic_load_n(&v->lapic.run_state, __ATOMIC_ACQUIRE) == VLAPIC_WAIT_SIPI)
		return wait_for_sipi(v);
	return true;
}

/* A vCPU world's start: the boot vCPU runs its loader's state, the others wait (start_vcpus). */
bool vcpu_wait_for_start(struct vcpu *v)
{
	if (__atomic_load_n(&v->lapic.run_state, __ATOMIC_ACQUIRE) != VLAPIC_WAIT_SIPI &&
	    __atomic_exchange_n(&v->boot_pending, false, __ATOMIC_ACQ_REL)) {
		vcpu_load_boot_state(v, &v->boot);
		return true;
	}
	__atomic_store_n(&v->lapic.run_state, VLAPIC_WAIT_SIPI, __ATOMIC_RELEASE);
	return wait_for_sipi(v);
}
