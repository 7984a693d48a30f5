/*
 * The exit layer (vmm/exit/): decoding an exit once, the handler table,
 * instruction emulation, and the I/O and MSR bitmaps that decide which
 * guest accesses exit at all.
 */
#ifndef VMM_EXIT_H
#define VMM_EXIT_H

#include <stdbool.h>
#include <vmm/vcpu.h>

struct vm;

/* exit.c */
void vmexit_decode(struct vcpu *v);
enum exit_action vmexit_dispatch(struct vcpu *v);

/* io.c, msr.c: the bitmaps of a new VM (everything exits but what the guest owns) */
int vm_io_bitmaps_init(struct vm *vm);
int vm_msr_bitmap_init(struct vm *vm);
bool vm_pat_switched(void);

/* hypercall.c: the HC_SET_TIMER expiry (a ktimer callback) */
struct ktimer;
void hc_timer_expired(struct ktimer *t);

#endif
