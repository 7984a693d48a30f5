/*
 * VMX internals shared by vmm/vmx/ and the vCPU run loop (vmm/vcpu.c):
 * per-CPU VMX state, VMCS set-up, the entry stub and speculation hygiene.
 */
#ifndef VMM_VMX_PRIV_H
#define VMM_VMX_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct vcpu_regs;

/* Per-CPU VMX state. Written only by its own CPU after boot. */
struct vmm_cpu {
	uint64_t vmxon_pa;
	bool vmx_on;
	const char *error;		/* why VMXON failed, if it did */
	uint64_t current_vmcs;		/* physical address of the current VMCS, 0 if none */
	struct vcpu *state_owner;	/* whose FPU and syscall MSRs are loaded */
	const struct vm *last_vm;	/* the VM of the last vCPU switched in (spec.c) */
	bool l1d_stale;			/* L1D may hold another VM's or host data (spec.c) */
	uint64_t spec_ctrl;		/* what IA32_SPEC_CTRL holds now (spec.c) */
	bool flush_owed;		/* atomic: flush every guest translation before the next entry */
	uint64_t full_flushes;		/* atomic: flushes of every guest translation (quarantine.c) */
};

/* spec.c: speculative-execution hygiene */
void spec_probe(void);
void spec_switch_to_vm(struct vmm_cpu *vc, const struct vm *vm);
void spec_before_entry(struct vmm_cpu *vc, uint64_t guest_spec_ctrl);
/* Right after a VM exit, interrupts off: IBRS back on, note what L1D may hold. */
void spec_after_exit(struct vmm_cpu *vc);
/* spec.smt=isolate: may a vCPU of vm be placed on cpu (claims its core for vm)? */
bool spec_cpu_allowed(unsigned cpu, const struct vm *vm);
/* The same question without claiming anything (placement looks at every CPU). */
bool spec_cpu_free(unsigned cpu, const struct vm *vm);
/* May vCPUs change CPU? Not under spec.smt=isolate, where each owns its core's claim. */
bool spec_vcpus_may_move(void);

/* vmx.c */
struct vmm_cpu *vmm_this_cpu(void);
uint64_t vmx_alloc_region(void);

/* vmcs.c */
int vmcs_setup(struct vcpu *v);
/* The host-state fields that differ per CPU (GS, TR, GDTR, IDTR bases...), for this CPU. */
void vmcs_write_host_state(void);
int vmcs_check_current(char *why, size_t len);

/* vmx_entry.S: enter the guest; returns 0 after a VM exit, 1 if the entry failed. */
int vmx_enter(struct vcpu_regs *regs, int launched);

#endif
