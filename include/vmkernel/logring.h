/*
 * A ring of log records for one producer and one consumer, without locks
 * (vmkernel/lib/logring.c). The vmkernel's log keeps one per CPU (the
 * producer is that CPU, interrupts off) and one per other source, e.g. a
 * VM's console (the producer side serialised by the source's own lock);
 * the consumer is the console world that drains them all.
 *
 * A record is a header (length, global sequence number) and the line's
 * bytes, padded to 8; it may wrap around the end of the buffer. head and
 * tail count bytes since the start and only grow: the producer owns head
 * and publishes it with release after writing the record; the consumer
 * owns tail and publishes it with release after copying the record out.
 * Each reads the other's counter with acquire. A record that does not fit
 * is refused (and counted) rather than overwriting unread ones.
 */
#ifndef VMKERNEL_LOGRING_H
#define VMKERNEL_LOGRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct logring {
	char *buf;
	uint32_t size;		/* bytes, a power of two, at least 64 */
	uint64_t head;		/* producer: bytes ever written */
	uint64_t tail;		/* consumer: bytes ever consumed */
	uint64_t dropped;	/* producer: records refused (ring full or too long) */
	uint64_t dropped_bytes;
};

#define LOGRING_MAX_LINE 1024	/* longest record text */

/* buf holds size bytes (a power of two >= 64): -EINVAL otherwise. */
int logring_init(struct logring *r, char *buf, uint32_t size);
/* Producer: append a record; false (counted in dropped) if it does not fit. */
bool logring_put(struct logring *r, uint64_t seq, const char *text, uint32_t len);
/* Consumer: the sequence number of the oldest record, or false if empty. */
bool logring_peek(const struct logring *r, uint64_t *seq);
/* Consumer: copy the oldest record out (cut to max) and consume it; its length, 0 if none. */
uint32_t logring_get(struct logring *r, char *out, uint32_t max);
/* Bytes in use (either side; a snapshot). */
uint32_t logring_used(const struct logring *r);

#endif
