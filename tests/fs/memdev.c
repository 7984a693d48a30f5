/* Sparse in-memory block device with crash injection (see memdev.h). */
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include "memdev.h"

#define CHUNK 4096u

/*
 * AddressSanitizer keeps freed memory in a quarantine (256 MiB by default) and
 * hands out fresh pages meanwhile; the VMFS tests allocate and free a lot of
 * small buffers, and page faults made them several times slower. A small
 * quarantine still catches use-after-free of recently freed buffers.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=4";
}

static uint64_t hash64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static uint8_t **slot_of(struct memdev *m, uint64_t chunk, bool create);

static void grow(struct memdev *m)
{
	uint64_t oldcap = m->cap, *ok = m->keys;
	uint8_t **ov = m->vals;

	m->cap = oldcap ? oldcap * 2 : 1024;
	m->keys = calloc(m->cap, sizeof(*m->keys));
	m->vals = calloc(m->cap, sizeof(*m->vals));
	m->used = 0;
	for (uint64_t i = 0; i < oldcap; i++) {
		uint64_t j;

		if (!ok[i])
			continue;
		for (j = hash64(ok[i] - 1) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
			;
		m->keys[j] = ok[i];
		m->vals[j] = ov[i];
		m->used++;
	}
	free(ok);
	free(ov);
}

/* The chunk as the device sees it: its own copy, else its parent's (clones are overlays). */
static const uint8_t *chunk_of(const struct memdev *m, uint64_t chunk)
{
	for (; m; m = m->parent) {
		if (!m->cap)
			continue;
		for (uint64_t i = hash64(chunk) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
			if (m->keys[i] == chunk + 1)
				return m->vals[i];
			if (!m->keys[i])
				break;
		}
	}
	return NULL;
}

static uint8_t **slot_of(struct memdev *m, uint64_t chunk, bool create)
{
	uint64_t i;

	if (create && (m->used + 1) * 2 > m->cap)
		grow(m);
	if (!m->cap)
		return NULL;
	for (i = hash64(chunk) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->keys[i] == chunk + 1)
			return &m->vals[i];
		if (!m->keys[i]) {
			const uint8_t *under = m->parent ? chunk_of(m->parent, chunk) : NULL;

			if (!create)
				return NULL;
			m->keys[i] = chunk + 1;
			m->vals[i] = under ? malloc(CHUNK) : calloc(1, CHUNK);
			if (under)
				memcpy(m->vals[i], under, CHUNK);
			m->used++;
			return &m->vals[i];
		}
	}
}

void memdev_rw(struct memdev *m, uint64_t off, void *buf, uint64_t len, bool write)
{
	uint8_t *p = buf;

	while (len) {
		uint64_t in = off % CHUNK, n = CHUNK - in < len ? CHUNK - in : len;
		if (write) {
			memcpy(*slot_of(m, off / CHUNK, true) + in, p, n);
		} else {
			const uint8_t *c = chunk_of(m, off / CHUNK);

			if (c)
				memcpy(p, c + in, n);
			else
				memset(p, 0, n);
		}
		off += n;
		p += n;
		len -= n;
	}
}

static int md_read(struct blockdev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct memdev *m = dev->priv;

	if (lba > dev->sectors || count > dev->sectors - lba)
		return -EIO;
	if (m->io_hook)
		m->io_hook(m->io_arg, lba, false);
	memdev_rw(m, lba * 512, buf, (uint64_t)count * 512, false);
	return 0;
}

static int md_write(struct blockdev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	struct memdev *m = dev->priv;
	const uint8_t *p = buf;

	if (lba > dev->sectors || count > dev->sectors - lba)
		return -EIO;
	if (m->io_hook)
		m->io_hook(m->io_arg, lba, true);
	if (!m->held && !m->crashed && lba < m->hold_hi && lba + count > m->hold_lo) {
		m->held = malloc((size_t)count * 512);
		memcpy(m->held, buf, (size_t)count * 512);
		m->held_lba = lba;
		m->held_count = count;
		m->crashed = true;
		return -EIO;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (m->crashed)
			return -EIO;
		if (m->crash_after >= 0 && m->crash_after-- == 0) {
			m->crashed = true;
			return -EIO;
		}
		memdev_rw(m, (lba + i) * 512, (void *)(p + (uint64_t)i * 512), 512, true);
		m->writes++;
	}
	return 0;
}

static int md_flush(struct blockdev *dev)
{
	struct memdev *m = dev->priv;

	m->flushes++;
	return m->crashed ? -EIO : 0;
}

static int md_caw(struct blockdev *dev, uint64_t lba, const void *expected, const void *new_data)
{
	struct memdev *m = dev->priv;
	void (*hook)(void *, uint64_t, bool) = m->io_hook;
	uint8_t cur[512];
	int rc;

	if (lba >= dev->sectors)
		return -EIO;
	if (hook)
		hook(m->io_arg, lba, true);	/* others may act before the swap */
	memdev_rw(m, lba * 512, cur, 512, false);
	if (memcmp(cur, expected, 512))
		return -EAGAIN;
	m->io_hook = NULL;	/* compare and write are one atomic step */
	rc = md_write(dev, lba, 1, new_data);
	m->io_hook = hook;
	return rc;
}

static const struct blockdev_ops md_ops = { .read = md_read, .write = md_write,
					    .flush = md_flush };
static const struct blockdev_ops md_ops_ats = { .read = md_read, .write = md_write,
						.flush = md_flush, .compare_and_write = md_caw };

struct memdev *memdev_new(uint64_t bytes, bool ats)
{
	struct memdev *m = calloc(1, sizeof(*m));

	m->dev.ops = ats ? &md_ops_ats : &md_ops;
	m->dev.priv = m;
	m->dev.sector_size = 512;
	m->dev.sectors = bytes / 512;
	m->crash_after = -1;
	return m;
}

/* A copy-on-write overlay: src must not change (or be freed) while the clone lives. */
struct memdev *memdev_clone(const struct memdev *src)
{
	struct memdev *m = memdev_new(src->dev.sectors * 512, src->dev.ops == &md_ops_ats);

	m->parent = src;
	return m;
}

void memdev_land_held(struct memdev *m)
{
	if (!m->held)
		return;
	memdev_rw(m, m->held_lba * 512, m->held, (uint64_t)m->held_count * 512, true);
	free(m->held);
	m->held = NULL;
	m->hold_lo = m->hold_hi = 0;
}

void memdev_free(struct memdev *m)
{
	free(m->held);
	for (uint64_t i = 0; i < m->cap; i++)
		free(m->vals[i]);
	free(m->keys);
	free(m->vals);
	free(m);
}

void memdev_crash_after(struct memdev *m, int64_t sectors)
{
	m->crash_after = sectors;
	m->crashed = false;
}

void memdev_reboot(struct memdev *m)
{
	m->crash_after = -1;
	m->crashed = false;
}

static void *env_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void env_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* One simulated clock for every host of the process: 1 us per reading, sleeps advance it. */
static uint64_t sim_ns = 1700000000ull * 1000000000ull;
void (*memdev_sleep_hook)(unsigned ms);

static uint64_t env_now(void *ctx)
{
	(void)ctx;
	return sim_ns += 1000;
}

static void env_sleep(void *ctx, unsigned ms)
{
	(void)ctx;
	sim_ns += (uint64_t)ms * 1000000ull;
	if (memdev_sleep_hook)
		memdev_sleep_hook(ms);
}

void memdev_advance(uint64_t ns)
{
	sim_ns += ns;
}

/* Every call is a new incarnation (process) of host host_id: a fresh nonce. */
void memdev_env(struct vmfs_env *env, uint8_t host_id)
{
	static uint32_t incarnation;

	memset(env, 0, sizeof(*env));
	incarnation++;
	memcpy(env->nonce, &incarnation, sizeof(incarnation));
	env->nonce[15] = 0x5a;
	env->alloc = env_alloc;
	env->free = env_free;
	env->now_ns = env_now;
	env->sleep_ms = env_sleep;
	memset(env->host_uuid, 0xa0, sizeof(env->host_uuid));
	env->host_uuid[15] = host_id;
	snprintf(env->host_name, sizeof(env->host_name), "testhost%u", host_id);
}
