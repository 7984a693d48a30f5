/* The single-producer, single-consumer log ring (see <vmkernel/logring.h>). */
#include <errno.h>
#include <string.h>
#include <vmkernel/logring.h>

struct rec_hdr {
	uint32_t len;
	uint32_t pad;
	uint64_t seq;
};

static uint32_t rec_size(uint32_t len)
{
	return (uint32_t)sizeof(struct rec_hdr) + ((len + 7) & ~7U);
}

int logring_init(struct logring *r, char *buf, uint32_t size)
{
	if (!r || !buf || size < 64 || (size & (size - 1)))
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->buf = buf;
	r->size = size;
	return 0;
}

static void copy_in(struct logring *r, uint64_t at, const void *src, uint32_t n)
{
	uint32_t off = (uint32_t)(at & (r->size - 1)), first = r->size - off;

	if (first > n)
		first = n;
	memcpy(r->buf + off, src, first);
	memcpy(r->buf, (const char *)src + first, n - first);
}

static void copy_out(const struct logring *r, uint64_t at, void *dst, uint32_t n)
{
	uint32_t off = (uint32_t)(at & (r->size - 1)), first = r->size - off;

	if (first > n)
		first = n;
	memcpy(dst, r->buf + off, first);
	memcpy((char *)dst + first, r->buf, n - first);
}

bool logring_put(struct logring *r, uint64_t seq, const char *text, uint32_t len)
{
	uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	struct rec_hdr h = { len, 0, seq };
	uint32_t need = rec_size(len);

	if (!len)
		return true;	/* nothing to say; records are never empty */
	if (len > LOGRING_MAX_LINE || need > r->size - (uint32_t)(r->head - tail)) {
		r->dropped++;
		r->dropped_bytes += len;
		return false;
	}
	copy_in(r, r->head, &h, sizeof(h));
	copy_in(r, r->head + sizeof(h), text, len);
	__atomic_store_n(&r->head, r->head + need, __ATOMIC_RELEASE);
	return true;
}

bool logring_peek(const struct logring *r, uint64_t *seq)
{
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	struct rec_hdr h;

	if (head == r->tail)
		return false;
	copy_out(r, r->tail, &h, sizeof(h));
	*seq = h.seq;
	return true;
}

uint32_t logring_get(struct logring *r, char *out, uint32_t max)
{
	uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	struct rec_hdr h;
	uint32_t n;

	if (head == r->tail)
		return 0;
	copy_out(r, r->tail, &h, sizeof(h));
	n = h.len < max ? h.len : max;
	copy_out(r, r->tail + sizeof(h), out, n);
	__atomic_store_n(&r->tail, r->tail + rec_size(h.len), __ATOMIC_RELEASE);
	return n;
}

uint32_t logring_used(const struct logring *r)
{
	return (uint32_t)(__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) -
			  __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE));
}
