/* Small helpers for fs/: memory and clock from the environment, error text,
 * checksums, and byte-granular I/O on top of the sector-granular blockdev. */
#include <stdio.h>
#include "vmfs_priv.h"

#define RAW_CHUNK_SECTORS 131072u	/* 64 MiB per blockdev call */

void *vmfs_zalloc(struct vmfs_volume *vol, size_t size)
{
	void *p = vol->env.alloc(vol->env.ctx, size);

	if (p)
		memset(p, 0, size);
	return p;
}

void vmfs_free(struct vmfs_volume *vol, void *p)
{
	if (p)
		vol->env.free(vol->env.ctx, p);
}

void vmfs_fmterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Record the message for vmfs_strerror() and return rc (negative errno). */
int vmfs_seterr(struct vmfs_volume *vol, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vol->err, sizeof(vol->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* Prefix the current message with "what: ". */
int vmfs_prefix_err(struct vmfs_volume *vol, int rc, const char *what)
{
	char tmp[sizeof(vol->err)];

	memcpy(tmp, vol->err, sizeof(tmp));
	tmp[sizeof(tmp) - 1] = 0;
	return vmfs_seterr(vol, rc, "%s: %s", what, tmp);
}

const char *vmfs_strerror(const struct vmfs_volume *vol)
{
	return vol->err;
}

/* Every on-disk structure starts { u32 magic; u32 crc; }: crc covers all of it. */
void vmfs_seal(void *obj, size_t len)
{
	uint32_t *w = obj;

	w[1] = 0;
	w[1] = vmfs_crc32c(0, obj, len);
}

bool vmfs_check_crc(const void *obj, size_t len)
{
	const uint8_t *p = obj;
	static const uint8_t zero4[4];
	uint32_t want, crc;

	memcpy(&want, p + 4, 4);
	crc = vmfs_crc32c(0, p, 4);
	crc = vmfs_crc32c(crc, zero4, 4);
	crc = vmfs_crc32c(crc, p + 8, len - 8);
	return crc == want;
}

bool vmfs_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

uint64_t vmfs_now(struct vmfs_volume *vol)
{
	return vol->env.now_ns ? vol->env.now_ns(vol->env.ctx) : 0;
}

const char *vmfs_res_name(unsigned type)
{
	static const char *const names[] = { "fd", "pointer-block", "sub-block", "file-block" };

	return type < VMFS_RES_NTYPES ? names[type] : "?";
}

static int raw_check(struct blockdev *dev, uint64_t off, uint64_t len)
{
	if ((off | len) % VMFS_SECTOR)
		return -EINVAL;
	if (off / VMFS_SECTOR > dev->sectors || len / VMFS_SECTOR > dev->sectors - off / VMFS_SECTOR)
		return -EIO;
	return 0;
}

int vmfs_raw_read(struct blockdev *dev, uint64_t off, void *buf, uint64_t len)
{
	uint8_t *p = buf;
	int rc = raw_check(dev, off, len);

	while (!rc && len) {
		uint32_t n = len / VMFS_SECTOR > RAW_CHUNK_SECTORS ? RAW_CHUNK_SECTORS :
			(uint32_t)(len / VMFS_SECTOR);

		rc = dev->ops->read(dev, off / VMFS_SECTOR, n, p);
		off += (uint64_t)n * VMFS_SECTOR;
		p += (uint64_t)n * VMFS_SECTOR;
		len -= (uint64_t)n * VMFS_SECTOR;
	}
	return rc;
}

int vmfs_raw_write(struct blockdev *dev, uint64_t off, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;
	int rc = raw_check(dev, off, len);

	while (!rc && len) {
		uint32_t n = len / VMFS_SECTOR > RAW_CHUNK_SECTORS ? RAW_CHUNK_SECTORS :
			(uint32_t)(len / VMFS_SECTOR);

		rc = dev->ops->write(dev, off / VMFS_SECTOR, n, p);
		off += (uint64_t)n * VMFS_SECTOR;
		p += (uint64_t)n * VMFS_SECTOR;
		len -= (uint64_t)n * VMFS_SECTOR;
	}
	return rc;
}

int vmfs_dev_read(struct vmfs_volume *vol, uint64_t off, void *buf, uint64_t len)
{
	int rc = vmfs_raw_read(vol->dev, off, buf, len);

	if (rc)
		return vmfs_seterr(vol, rc, "device read of %llu bytes at offset %llu failed (%d)",
				   (unsigned long long)len, (unsigned long long)off, rc);
	return 0;
}

int vmfs_dev_write(struct vmfs_volume *vol, uint64_t off, const void *buf, uint64_t len)
{
	int rc;

	if (vol->rdonly)
		return vmfs_seterr(vol, -EPERM, "volume is mounted read-only");
	rc = vmfs_lease_check(vol);	/* fencing: nothing is written without a valid lease */
	if (rc)
		return rc;
	__atomic_fetch_add(&vol->wseq, 1, __ATOMIC_RELAXED);
	rc = vmfs_raw_write(vol->dev, off, buf, len);
	if (rc)
		return vmfs_seterr(vol, rc, "device write of %llu bytes at offset %llu failed (%d)",
				   (unsigned long long)len, (unsigned long long)off, rc);
	return 0;
}

int vmfs_dev_flush(struct vmfs_volume *vol)
{
	int rc = vol->dev->ops->flush ? vol->dev->ops->flush(vol->dev) : 0;

	if (rc)
		return vmfs_seterr(vol, rc, "device flush failed (%d)", rc);
	return 0;
}

/*
 * Zero bytes for writing zeros: at least min(len, VMFS_IO_CHUNK) of them
 * (*n gets how many), allocated when first needed and grown by doubling
 * from 64 KiB, so that a volume that only zeroes small units never pays
 * for a large buffer.
 */
static const uint8_t *zeros(struct vmfs_volume *vol, uint64_t len, uint64_t *n)
{
	uint64_t want = vol->zero_len ? vol->zero_len : 64 * 1024;

	while (want < len && want < VMFS_IO_CHUNK)
		want *= 2;
	if (want > vol->zero_len) {
		uint8_t *z = vmfs_zalloc(vol, want + VMFS_MD_BLOCK);

		if (z) {	/* aligned, so that direct I/O needs no copy */
			vmfs_free(vol, vol->zero_mem);
			vol->zero_mem = z;
			vol->zero = z + (-(uintptr_t)z & (VMFS_MD_BLOCK - 1));
			vol->zero_len = want;
		}
	}
	*n = vol->zero_len;
	return vol->zero;
}

int vmfs_dev_zero(struct vmfs_volume *vol, uint64_t off, uint64_t len)
{
	uint64_t have = 0;

	if (len && !zeros(vol, len, &have))
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	while (len) {
		uint64_t n = len > have ? have : len;
		int rc = vmfs_write_bytes(vol, off, vol->zero, n);

		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Read any byte range: whole sectors go straight through, edges via bounce.
 * A metadata block this host has cached (newer than its home location, or
 * guarded by a lock still held) is served from the cache.
 */
int vmfs_read_bytes(struct vmfs_volume *vol, uint64_t off, void *buf, uint64_t len)
{
	uint8_t *p = buf;

	if (len <= VMFS_MD_BLOCK && vmfs_cache_get(vol, off, (uint32_t)len, buf))
		return 0;
	while (len) {
		uint64_t head = off % VMFS_SECTOR, n;
		int rc;

		if (!head && len >= VMFS_SECTOR) {
			n = len - len % VMFS_SECTOR;
			rc = vmfs_dev_read(vol, off, p, n);
		} else {
			n = VMFS_SECTOR - head < len ? VMFS_SECTOR - head : len;
			rc = vmfs_dev_read(vol, off - head, vol->bounce, VMFS_SECTOR);
			memcpy(p, vol->bounce + head, n);
		}
		if (rc)
			return rc;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* Read metadata guarded by the lock record at guard; keep it cached while we hold that lock. */
int vmfs_md_read(struct vmfs_volume *vol, uint64_t off, uint32_t len, uint64_t guard, void *out)
{
	int rc;

	if (vmfs_cache_get(vol, off, len, out))
		return 0;
	rc = vmfs_read_bytes(vol, off, out, len);
	if (!rc && guard)
		rc = vmfs_cache_put(vol, off, len, guard, out, VMFS_CB_CLEAN);
	return rc;
}

/* Write any byte range; partial sectors are read, modified and written back. */
int vmfs_write_bytes(struct vmfs_volume *vol, uint64_t off, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;

	while (len) {
		uint64_t head = off % VMFS_SECTOR, n;
		int rc;

		if (!head && len >= VMFS_SECTOR) {
			n = len - len % VMFS_SECTOR;
			rc = vmfs_dev_write(vol, off, p, n);
		} else {
			n = VMFS_SECTOR - head < len ? VMFS_SECTOR - head : len;
			rc = vmfs_dev_read(vol, off - head, vol->bounce, VMFS_SECTOR);
			if (!rc) {
				memcpy(vol->bounce + head, p, n);
				rc = vmfs_dev_write(vol, off - head, vol->bounce, VMFS_SECTOR);
			}
		}
		if (rc)
			return rc;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Paths are walked without locks, so a walk may read a directory or
 * descriptor while another host's transaction is half home (or reuses what it
 * freed) and see a checksum or generation mismatch. Such an -EIO is retried a
 * few times; real corruption fails the same way every time.
 */
bool vmfs_retry_ok(struct vmfs_volume *vol, int rc, unsigned *tries)
{
	if (rc != -EIO || *tries >= 4 || vol->failed || !vmfs_lease_valid(vol))
		return false;
	vol->env.sleep_ms(vol->env.ctx, 1u << *tries);
	(*tries)++;
	return true;
}
