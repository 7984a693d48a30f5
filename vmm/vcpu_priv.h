/* Internals of the vCPU run loop (vcpu.c, vcpu_events.c, vcpu_fpu.c). */
#ifndef VMM_VCPU_PRIV_H
#define VMM_VCPU_PRIV_H

#include <stdbool.h>
#include <vmm/vcpu.h>

/* vcpu_events.c */
void vcpu_inject_events(struct vcpu *v);
/* INIT and start-up IPIs; false: the VM stopped while this vCPU waited. */
bool vcpu_handle_signals(struct vcpu *v);
bool vcpu_wait_for_start(struct vcpu *v);
void vcpu_halt(struct vcpu *v);

/* vcpu_fpu.c: the x87/SSE/AVX state and XCR0 */
void fpu_save(void *area);
void fpu_restore(const void *area);
void guest_xcr0_enter(struct vcpu *v);
void guest_xcr0_exit(struct vcpu *v);

#endif
