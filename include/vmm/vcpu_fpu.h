/*
 * Guest FPU and vector state (vmm/vcpu_fpu.c): what XSAVE features guests
 * may enable, and each vCPU's XSAVE area.
 */
#ifndef VMM_VCPU_FPU_H
#define VMM_VCPU_FPU_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* Per CPU, before any vCPU runs there: CR4.OSXSAVE and the host XCR0. */
void vcpu_fpu_cpu_init(void);
bool vcpu_fpu_xsave(void);		/* XSAVE is offered to guests */
uint64_t vcpu_fpu_xcr0_mask(void);	/* the XCR0 bits a guest may set */
/* Bytes of an XSAVE area holding every component in mask (standard format). */
uint32_t vcpu_fpu_area_size(uint64_t mask);
int vcpu_fpu_alloc(struct vcpu *v);
void vcpu_fpu_free(struct vcpu *v);
/* XSETBV from the guest: 0, or -1 for #GP. */
int vcpu_fpu_set_xcr0(struct vcpu *v, uint32_t index, uint64_t val);

#endif
