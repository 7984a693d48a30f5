/*
 * Slots of a VM's swap file (vmm/mem/swap_slots.c): one slot holds one
 * 4 KiB guest page, slot n at byte offset n * 4096 of the .vswp file.
 * Pure code (no locks, no hardware), unit-tested on the host; the caller
 * serialises calls on one struct swap_slots (guest_swap.c: the VM's swap
 * I/O mutex).
 */
#ifndef VMM_SWAP_SLOTS_H
#define VMM_SWAP_SLOTS_H

#include <stdbool.h>
#include <stdint.h>

#define SWAP_SLOT_NONE UINT64_MAX

struct swap_slots {
	uint64_t *bits;		/* bit n set: slot n holds a page */
	uint64_t nslots;
	uint64_t used;
	uint64_t next;		/* where the next search starts (next fit) */
};

/* Words of bitmap that nslots slots need. */
static inline uint64_t swap_slots_words(uint64_t nslots)
{
	return (nslots + 63) / 64;
}

/* Start with every slot free; bits has swap_slots_words(nslots) words. */
void swap_slots_init(struct swap_slots *s, uint64_t *bits, uint64_t nslots);
/* Take a free slot: its number, or SWAP_SLOT_NONE when all are in use. */
uint64_t swap_slots_alloc(struct swap_slots *s);
/* Give slot back: 0, or -EINVAL if it is out of range or not in use (double free). */
int swap_slots_free(struct swap_slots *s, uint64_t slot);
bool swap_slots_in_use(const struct swap_slots *s, uint64_t slot);

#endif
