/*
 * Hypervisor swapping: each VM with a datastore directory gets a swap
 * file (<name>.vswp, memsize - sched.mem.min bytes) that its guest pages
 * can be written to and read back from (vmm/mem/guest_swap.c has the
 * design). Callers: the VM's own fault path and host copies (through
 * guest_mem.c), and whatever decides how much to reclaim (a memory
 * scheduler world).
 */
#ifndef VMM_GUEST_SWAP_H
#define VMM_GUEST_SWAP_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

struct guest_swap_stats {
	bool active;			/* the VM has a swap file */
	uint64_t file_bytes;		/* its size */
	uint64_t swapped_pages;		/* guest pages now in the file */
	uint64_t swap_outs;		/* pages written out, since the VM started */
	uint64_t swap_ins;		/* pages read back */
	uint64_t write_errors;		/* swap-outs abandoned because the write failed */
};

/*
 * Create (at VM start) or reset (at a guest reset) the VM's swap file;
 * called before guest RAM is set up. A VM without one starts anyway: the
 * log says why and that sched.mem.max stays a hard cap for it.
 */
void guest_swap_attach(struct vm *vm);
/*
 * Before a guest reset drops the VM's RAM: wait for a swap-out or
 * swap-in on another world and refuse new ones until the next attach.
 */
void guest_swap_quiesce(struct vm *vm);
/* Close and delete the swap file (every vCPU has ended, or the VM never started). */
void guest_swap_detach(struct vm *vm);
/* Detach and free the swap state of a VM that never started (no other world can see it). */
void guest_swap_destroy(struct vm *vm);
bool guest_swap_active(const struct vm *vm);

/*
 * Write up to npages of vm's private guest pages to its swap file and
 * give their host pages back: the number actually reclaimed (0 without
 * a swap file, when the file is full, or when only its sched.mem.min
 * reservation is resident). Blocks for the I/O: call it from a world
 * that may sleep, with no spinlock held and interrupts on; not from the
 * VM's vCPU while it is in a host copy. Any world may call it.
 */
uint64_t guest_swap_out(struct vm *vm, uint64_t npages);

/*
 * Bring guest page `page` (4 KiB aligned) back from the swap file, if it
 * is swapped (guest_mem.c calls this from a fault or a host copy). 0, or
 * -EIO with the VM stopped (reason: page, slot, error), -EDQUOT/-ENOMEM
 * when no page could be made free for it, -EDEADLK when called with
 * interrupts off (a VMM bug, logged: it cannot wait for the I/O).
 */
int guest_swap_in(struct vm *vm, uint64_t page);

/*
 * The guest gave pages gpa[0..n) away (its balloon): those that are
 * swapped lose their slots and become unbacked, so the next touch is a
 * fresh zero page rather than a swap-in of what the guest no longer
 * wants. Returns how many were swapped. Sleeps (waits for a swap-out or
 * swap-in in flight); no spinlock held.
 */
uint64_t guest_swap_discard(struct vm *vm, const uint64_t *gpa, unsigned n);

void guest_swap_stats(struct vm *vm, struct guest_swap_stats *st);

#endif
