/*
 * A virtual CPU: its registers, the exit being handled, its pending events
 * and the state the VMM switches for it. A vCPU runs as one world of the
 * vmkernel scheduler (vmm/vcpu.c).
 *
 * Ownership: a vCPU's fields are touched only by its own world, except
 * those marked "any CPU", which use atomics or the lock they name.
 */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/spinlock.h>
#include <vmm/vlapic.h>
#include <vmm/vmx_hw.h>

struct vm;
struct world;

/* Guest general-purpose registers, saved and restored by vmx_entry.S. */
struct vcpu_regs {
	uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;
};

/* Everything the exit handlers need about one exit, read once (exit/exit.c). */
struct vmexit {
	uint32_t reason;		/* basic exit reason */
	bool entry_failure;
	uint64_t qual;
	uint64_t gpa;			/* EPT violation / misconfiguration */
	uint64_t gla;
	uint32_t insn_len;
	uint32_t insn_info;
	uint32_t intr_info;		/* exception / NMI / external interrupt */
	uint32_t intr_error;
	uint32_t idt_vectoring;		/* event being delivered when the exit happened */
	uint32_t idt_error;
	uint64_t rip, rsp, rflags, cr0, cr4;
};

/* What a handler wants done next. */
enum exit_action {
	EXIT_RESUME,		/* re-enter the guest at the same RIP */
	EXIT_SKIP,		/* the instruction was emulated: advance RIP, then re-enter */
	EXIT_BLOCK,		/* advance RIP, then wait for an interrupt (HLT) */
	EXIT_YIELD,		/* advance RIP, then give this turn to another world (a spin) */
	EXIT_STOP_VM,		/* stop the whole VM; vcpu->vm->stop_reason says why */
};

/* The state a vCPU starts in: chosen by the guest loader (multiboot, Linux) or a SIPI. */
enum vcpu_mode {
	VCPU_MODE_REAL,		/* real mode at cs:ip (after a start-up IPI) */
	VCPU_MODE_PROT32,	/* 32-bit protected mode, paging off, flat segments */
	VCPU_MODE_LONG64,	/* 64-bit mode, paging on (cr3), flat segments */
};

struct vcpu_boot {
	enum vcpu_mode mode;
	uint64_t rip, rsp;
	uint16_t real_cs;		/* REAL: CS selector; its base is real_cs << 4 */
	uint16_t code_sel, data_sel;	/* PROT32/LONG64: selectors of the flat segments */
	uint64_t gdt_base;		/* PROT32/LONG64: the guest's GDT (0: none) */
	uint16_t gdt_limit;
	uint64_t cr3;			/* LONG64: the guest's page tables */
	uint64_t rax, rbx, rsi;		/* registers the protocol passes */
};

struct vcpu {
	struct vcpu_regs regs;		/* first: vmx_entry.S uses generated offsets */
	struct vm *vm;
	unsigned int id;
	unsigned int host_cpu;		/* the CPU it last ran on; written by its own world (atomic) */
	uint64_t vmcs_pa;
	bool launched;
	bool vmcs_ready;		/* vmcs_setup() filled it in: it is made current on switch-in */
	bool vmcs_released;		/* its old CPU did VMCLEAR for a move: VMPTRLD, VMLAUNCH next */
	uint64_t arrive_tsc;		/* TSC spent arriving on new CPUs (vcpu_arrive), summed */
	uint32_t proc_ctls;		/* VMCS primary processor-based controls, cached */
	uint32_t proc2_ctls;		/* VMCS secondary processor-based controls, cached */
	uint32_t pin_ctls;		/* VMCS pin-based controls, cached */
	struct world *world;		/* kick_lock; NULL once the world ends */
	struct spinlock kick_lock;
	struct vcpu_boot boot;		/* where it starts (loader, or HC_VCPU_START) */
	bool boot_pending;		/* atomic: HC_VCPU_START set boot; start it */
	bool in_guest;			/* atomic: between the last check of events and the exit */
	bool halted;			/* atomic: blocked in HLT or waiting for a SIPI */
	struct vmexit exit;
	/* events */
	struct vlapic lapic;
	bool pending_exc;
	uint8_t exc_vector;
	bool exc_has_error;
	uint32_t exc_error;
	bool apicv;			/* this vCPU runs with the CPU's APIC virtualization */
	struct ktimer hc_timer;		/* HC_SET_TIMER: a fixed interrupt through the LAPIC */
	uint8_t hc_timer_vector;
	uint64_t hc_timer_deadline;	/* 0 = off; hc_timer fires only if it still matches */
	/* MSRs outside the VMCS that the guest owns (switched with the world) */
	uint64_t msr_star, msr_lstar, msr_cstar, msr_fmask, msr_kernel_gs_base, msr_tsc_aux;
	uint64_t spec_ctrl;	/* the guest's IA32_SPEC_CTRL, loaded around entry (vmx/spec.c) */
	uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[16];	/* emulated, no effect */
	uint64_t xcr0;			/* the guest's XCR0 */
	bool osxsave;			/* the guest's CR4.OSXSAVE (host-owned bit, cached) */
	uint8_t *xsave;			/* FXSAVE/XSAVE image (xsave_size bytes, 64-aligned) */
	uint64_t dr[5];			/* DR0-DR3 and DR6 (DR7 is in the VMCS) */
	bool vmptrld_failed;		/* its VMCS could not be made current */
	/* statistics */
	uint64_t exits_total;
	uint64_t exits[EXIT_REASON_MAX + 1];
	uint64_t exit_tsc;		/* cycles spent handling exits */
	uint64_t injected_irqs, injected_nmis, kicks_sent;
};

/* vm_boot.c */
struct vcpu *vcpu_create(struct vm *vm, unsigned id);
int vcpu_start(struct vcpu *v);

/* vcpu.c */
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
/* Something is pending for v: make it look (IPI if it is in the guest elsewhere, wake if halted). */
void vcpu_kick(struct vcpu *v);
/* Write v's start state into its (current) VMCS; its cached translations go (as on INIT). */
void vcpu_load_boot_state(struct vcpu *v, const struct vcpu_boot *b);
/* vmx/vmx.c: drop the guest translations this CPU caches under v's VPID. */
void vcpu_flush_guest_tlb(struct vcpu *v);
/* Power-on state of everything but the VMCS (a VM restart); its world has ended. */
void vcpu_reset(struct vcpu *v);
/* exit/msr.c: MTRRs as firmware leaves them */
void vcpu_mtrr_reset(struct vcpu *v);
/* vmx/vmcs.c: leave the CPU's APIC virtualization for the software local APIC (x2APIC mode) */
void vcpu_apicv_off(struct vcpu *v);
void vcpu_run(void *arg);
const struct world_ops *vcpu_ops(void);
void vcpu_probe_host(void);
bool vcpu_has_tsc_aux(void);

/* vmx/vmcs.c: CR0/CR4 of the current VMCS as the guest sees them, and as the hardware needs them */
uint64_t vcpu_cr0(void);
uint64_t vcpu_cr4(void);
uint64_t vmx_real_cr0(uint64_t guest_cr0);
uint64_t vmx_real_cr4(uint64_t guest_cr4);
/*
 * CR4 bits a guest may own directly: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR
 * OSXMMEXCPT FSGSBASE PCIDE SMEP SMAP. Every other bit is host-owned (masked).
 */
#define CR4_GUEST_OWNED 0x3307ffULL
void vmcs_dump(struct vcpu *v, const char *why);
const char *vmx_entry_failure_str(uint32_t reason);

#endif
