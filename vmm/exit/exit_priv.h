/* The VM-exit handlers, one per basic exit reason (see the table in exit.c). */
#ifndef EXIT_PRIV_H
#define EXIT_PRIV_H

#include <vmm/exit.h>
#include <vmm/guest_mem.h>
#include <vmm/vcpu.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>

typedef enum exit_action (*exit_handler_t)(struct vcpu *v);

#define HC_ABI_VERSION 2	/* docs/hypercalls.md */

/* exit_events.c: exceptions, interrupts, windows, HLT, INIT/SIPI, triple fault */
enum exit_action handle_exception_nmi(struct vcpu *v);
enum exit_action handle_external_interrupt(struct vcpu *v);
enum exit_action handle_triple_fault(struct vcpu *v);
enum exit_action handle_init_sipi(struct vcpu *v);
enum exit_action handle_interrupt_window(struct vcpu *v);
enum exit_action handle_nmi_window(struct vcpu *v);
enum exit_action handle_hlt(struct vcpu *v);
enum exit_action handle_preemption_timer(struct vcpu *v);
enum exit_action handle_entry_failure(struct vcpu *v);
enum exit_action handle_task_switch(struct vcpu *v);
/* apic.c: the CPU's APIC virtualization */
enum exit_action handle_apic_access(struct vcpu *v);
enum exit_action handle_apic_write(struct vcpu *v);
enum exit_action handle_virtualized_eoi(struct vcpu *v);
enum exit_action handle_tpr_below_threshold(struct vcpu *v);
/* cpuid.c, hypercall.c, cr.c, exit_insn.c: instructions */
enum exit_action handle_cpuid(struct vcpu *v);
enum exit_action handle_inject_ud(struct vcpu *v);
enum exit_action handle_inject_gp(struct vcpu *v);
enum exit_action handle_invd_wbinvd(struct vcpu *v);
enum exit_action handle_pause(struct vcpu *v);
enum exit_action handle_xsetbv(struct vcpu *v);
enum exit_action handle_rdrand_rdseed(struct vcpu *v);
enum exit_action handle_vmcall(struct vcpu *v);
enum exit_action handle_cr_access(struct vcpu *v);
/* msr.c */
enum exit_action handle_rdmsr(struct vcpu *v);
enum exit_action handle_wrmsr(struct vcpu *v);
/* io.c */
enum exit_action handle_io(struct vcpu *v);
/* ept_violation.c */
enum exit_action handle_ept_violation(struct vcpu *v);
enum exit_action handle_ept_misconfig(struct vcpu *v);

#endif
