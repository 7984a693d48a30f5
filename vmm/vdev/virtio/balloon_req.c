/*
 * The virtio-balloon device's checks of what a guest hands it (pure,
 * host unit-tested in tests/unit/test_balloon.c): the PFN arrays of the
 * inflate and deflate queues and the statistics buffer.
 *
 * Invariant: map->count is the number of bits set in map->bits, and a
 * bit is set exactly for the pages the guest inflated and has not
 * deflated since. A chunk is applied all or nothing: a PFN outside RAM,
 * a page inflated twice (in this chunk or before) or a deflate of a page
 * not in the balloon leaves the map as it was and names the PFN, so the
 * device can go to NEEDS_RESET with counters that are still right.
 */
#include <string.h>
#include <vmm/balloon.h>

static const char *const names[BALLOON_ERR_COUNT] = {
	[BALLOON_OK] = "no error",
	[BALLOON_ERR_LEN] = "PFN array length not a multiple of 4 bytes",
	[BALLOON_ERR_TOO_BIG] = "PFN array longer than the device takes",
	[BALLOON_ERR_WRITABLE] = "device-writable buffer in an inflate/deflate request",
	[BALLOON_ERR_NOT_RAM] = "PFN outside guest RAM",
	[BALLOON_ERR_TWICE] = "page inflated twice",
	[BALLOON_ERR_NOT_IN] = "deflate of a page not in the balloon",
	[BALLOON_ERR_STATS_LEN] = "statistics buffer not a whole number of entries, or too long",
};

const char *balloon_err_name(enum balloon_err e)
{
	return (unsigned)e < BALLOON_ERR_COUNT ? names[e] : "unknown error";
}

static bool test_bit(const struct balloon_map *m, uint64_t p)
{
	return m->bits[p / 64] >> (p % 64) & 1;
}

static void flip_bit(struct balloon_map *m, uint64_t p)
{
	m->bits[p / 64] ^= 1ULL << (p % 64);
}

enum balloon_err balloon_apply(struct balloon_map *m, const uint32_t *pfn, unsigned n,
			       bool inflate, bool (*is_ram)(void *ctx, uint64_t gpa), void *ctx,
			       unsigned *bad)
{
	enum balloon_err e = BALLOON_OK;
	unsigned i;

	for (i = 0; i < n; i++) {
		uint64_t p = pfn[i];

		if (p >= m->span_pages || !is_ram(ctx, p << VIRTIO_BALLOON_PFN_SHIFT)) {
			e = BALLOON_ERR_NOT_RAM;
			break;
		}
		if (test_bit(m, p) == inflate) {
			e = inflate ? BALLOON_ERR_TWICE : BALLOON_ERR_NOT_IN;
			break;
		}
		flip_bit(m, p);
	}
	if (e) {
		*bad = i;
		while (i--)		/* undo: the pages before the bad one were all flipped once */
			flip_bit(m, pfn[i]);
		return e;
	}
	if (inflate)
		m->count += n;
	else
		m->count -= n;
	return BALLOON_OK;
}

enum balloon_err balloon_stats_parse(const uint8_t *buf, size_t len, struct balloon_stats *s)
{
	if (len % BALLOON_STAT_BYTES || len > BALLOON_STATS_MAX * BALLOON_STAT_BYTES)
		return BALLOON_ERR_STATS_LEN;
	for (size_t at = 0; at < len; at += BALLOON_STAT_BYTES) {
		uint16_t tag = (uint16_t)(buf[at] | buf[at + 1] << 8);
		uint64_t v = 0;

		for (int b = 7; b >= 0; b--)
			v = v << 8 | buf[at + 2 + (unsigned)b];
		if (tag < BALLOON_S_NR) {
			s->v[tag] = v;
			s->have |= 1u << tag;
		}
	}
	return BALLOON_OK;
}
