/*
 * For the in-kernel test of swapping (guest_swap_ktest.c) only.
 */
#ifndef VMM_MEM_GUEST_SWAP_PRIV_H
#define VMM_MEM_GUEST_SWAP_PRIV_H

struct vm;

/* Cut the VM's swap file to nothing, so that the next swap-in reads short: 0 or an error. */
int guest_swap_test_truncate(struct vm *vm);

#endif
