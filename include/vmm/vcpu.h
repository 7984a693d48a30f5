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
	EXIT_STOP_VM,		/* stop the whole VM; vcpu->vm->stop_reason says why */
};

#define VCPU_MAX_PENDING_VECTORS 256

struct vcpu {
	struct vcpu_regs regs;		/* first: vmx_entry.S uses generated offsets */
	struct vm *vm;
	unsigned int id;
	unsigned int host_cpu;
	uint64_t vmcs_pa;
	bool launched;
	uint32_t proc_ctls;		/* VMCS primary processor-based controls, cached */
	struct world *world;
	uint64_t boot_rip;		/* where the guest starts */
	uint64_t boot_rsp;
	bool started;			/* its world was created; atomic */
	struct vmexit exit;
	/* events */
	uint64_t pending_irqs[VCPU_MAX_PENDING_VECTORS / 64];	/* any CPU (atomic) */
	bool pending_exc;
	uint8_t exc_vector;
	bool exc_has_error;
	uint32_t exc_error;
	bool halted;
	uint8_t tpr;			/* CR8 */
	uint64_t timer_deadline_tsc;	/* HC_SET_TIMER, 0 = off */
	uint8_t timer_vector;
	/* MSRs outside the VMCS that the guest owns (switched with the world) */
	uint64_t msr_star, msr_lstar, msr_cstar, msr_fmask, msr_kernel_gs_base, msr_tsc_aux;
	uint8_t fpu[512] __attribute__((aligned(16)));	/* FXSAVE image */
	uint64_t dr[5];			/* DR0-DR3 and DR6 (DR7 is in the VMCS) */
	bool vmptrld_failed;		/* its VMCS could not be made current */
	/* statistics */
	uint64_t exits_total;
	uint64_t exits[EXIT_REASON_MAX + 1];
	uint64_t exit_tsc;		/* cycles spent handling exits */
};

/* vm_boot.c */
struct vcpu *vcpu_create(struct vm *vm, unsigned id);
int vcpu_start(struct vcpu *v);

/* vcpu.c */
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
void vcpu_raise_irq(struct vcpu *v, uint8_t vector);
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
