/*
 * The swap file's slot allocator: a bitmap with a next-fit cursor, so
 * consecutive swap-outs land in consecutive slots (sequential writes to
 * the file) and a freed slot is found again once the cursor wraps.
 * Allocation is O(slots / 64) at worst. Invariant: used is the number
 * of set bits, and no bit at or past nslots is ever set.
 */
#include <errno.h>
#include <vmm/swap_slots.h>

void swap_slots_init(struct swap_slots *s, uint64_t *bits, uint64_t nslots)
{
	s->bits = bits;
	s->nslots = nslots;
	s->used = 0;
	s->next = 0;
	for (uint64_t i = 0; i < swap_slots_words(nslots); i++)
		bits[i] = 0;
}

bool swap_slots_in_use(const struct swap_slots *s, uint64_t slot)
{
	return slot < s->nslots && (s->bits[slot / 64] >> (slot % 64)) & 1;
}

/* The first free slot in [from, to), or SWAP_SLOT_NONE. */
static uint64_t find_free(const struct swap_slots *s, uint64_t from, uint64_t to)
{
	uint64_t slot = from;

	while (slot < to) {
		uint64_t word = ~s->bits[slot / 64] >> (slot % 64);

		if (word) {
			slot += (uint64_t)__builtin_ctzll(word);
			return slot < to ? slot : SWAP_SLOT_NONE;
		}
		slot = (slot / 64 + 1) * 64;
	}
	return SWAP_SLOT_NONE;
}

uint64_t swap_slots_alloc(struct swap_slots *s)
{
	uint64_t slot;

	if (s->used >= s->nslots)
		return SWAP_SLOT_NONE;
	slot = find_free(s, s->next, s->nslots);
	if (slot == SWAP_SLOT_NONE)
		slot = find_free(s, 0, s->next);
	if (slot == SWAP_SLOT_NONE)
		return SWAP_SLOT_NONE;	/* used says otherwise: cannot happen */
	s->bits[slot / 64] |= 1ULL << (slot % 64);
	s->used++;
	s->next = slot + 1 < s->nslots ? slot + 1 : 0;
	return slot;
}

int swap_slots_free(struct swap_slots *s, uint64_t slot)
{
	if (!swap_slots_in_use(s, slot))
		return -EINVAL;
	s->bits[slot / 64] &= ~(1ULL << (slot % 64));
	s->used--;
	return 0;
}
