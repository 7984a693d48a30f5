/*
 * vmfs_format: lay out a new volume (see include/vmfs_format.h for the map).
 *
 * Sizing when the caller leaves counts at 0: one file descriptor per 256 KiB
 * (64 .. 131072), sub-blocks for 1/16 of the volume (16 .. 32768), pointer
 * blocks enough to map every file block twice over plus 64 (so thin files
 * larger than the volume still find pointer blocks). Everything left is file
 * blocks. The header is written last, so an interrupted format leaves a
 * device that does not mount rather than a half-made volume.
 */
#include <stdio.h>
#include "vmfs_priv.h"

#define MIB (1024ull * 1024)

static const uint32_t per_cluster[VMFS_RES_NTYPES] = { 128, 256, 256, 1024 };

/*
 * Resources per cluster: at most the defaults above, but small enough that
 * a small volume still has two clusters per host (each host allocates from
 * clusters of its own), and at least 16.
 */
static uint32_t cluster_size(unsigned t, uint64_t count, uint32_t max_hosts)
{
	uint64_t want = count / (2ull * max_hosts);
	uint32_t per = per_cluster[t];

	while (per > 16 && per > want)
		per /= 2;
	return per;
}

struct fmt_ctx {
	struct blockdev *dev;
	const struct vmfs_env *env;
	struct vmfs_volhdr h;
	uint8_t *blk;
	char *err;
	size_t errlen;
};

static uint64_t clamp64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static int fmt_params(struct fmt_ctx *c, const struct vmfs_format_opts *o)
{
	struct vmfs_volhdr *h = &c->h;
	const char *label = o && o->label ? o->label : "";

	h->block_size = o && o->block_size ? o->block_size : (uint32_t)MIB;
	h->max_hosts = o && o->max_hosts ? o->max_hosts : 64;
	h->lease_timeout_s = o && o->lease_timeout_s ? o->lease_timeout_s : 16;
	h->journal_blocks = o && o->journal_blocks ? o->journal_blocks : 256;
	h->sb_size = h->block_size / VMFS_SB_PER_FB;
	if (h->block_size < 64 * 1024 || h->block_size > 64 * MIB ||
	    (h->block_size & (h->block_size - 1))) {
		vmfs_fmterr(c->err, c->errlen, "block size %u is not a power of two in 64 KiB .. "
				"64 MiB",
			    h->block_size);
		return -EINVAL;
	}
	if (h->max_hosts > VMFS_MAX_HOSTS || h->journal_blocks < VMFS_TXN_MAX_REC + 3 ||
	    h->journal_blocks > 65536 || h->lease_timeout_s > 3600) {
		vmfs_fmterr(c->err, c->errlen, "max hosts (1..%u), journal size (%u..65536 "
				"blocks) or lease timeout (1..3600 s) out of range",
			    VMFS_MAX_HOSTS, VMFS_TXN_MAX_REC + 3);
		return -EINVAL;
	}
	if (c->dev->sector_size != VMFS_SECTOR) {
		vmfs_fmterr(c->err, c->errlen, "device sector size %u is not supported (need 512)",
			    c->dev->sector_size);
		return -ENOTSUP;
	}
	if (strlen(label) > VMFS_LABEL_MAX) {
		vmfs_fmterr(c->err, c->errlen, "label is longer than %u bytes", VMFS_LABEL_MAX);
		return -EINVAL;
	}
	memcpy(h->label, label, strlen(label));
	return 0;
}

static int fmt_region(struct fmt_ctx *c, unsigned t, uint64_t *pos, uint64_t count)
{
	struct vmfs_region *r = &c->h.reg[t];
	uint64_t dev_bytes = c->dev->sectors * VMFS_SECTOR;

	r->res_size = t == VMFS_RES_FB ? c->h.block_size :
		t == VMFS_RES_SB ? c->h.sb_size : VMFS_MD_BLOCK;
	r->hdr_off = align_up(*pos, VMFS_MD_BLOCK);
	r->per_cluster = cluster_size(t, t == VMFS_RES_FB ? (dev_bytes > r->hdr_off ? dev_bytes -
				     r->hdr_off : 0) / r->res_size : count, c->h.max_hosts);
	if (t == VMFS_RES_FB) {
		/* as many file blocks as fit after their own cluster headers */
		uint64_t room = dev_bytes > r->hdr_off ? dev_bytes - r->hdr_off : 0;
		uint64_t ncl = room / ((uint64_t)r->per_cluster * r->res_size + VMFS_MD_BLOCK) + 1;
		uint64_t start = align_up(r->hdr_off + ncl * VMFS_MD_BLOCK, 64 * 1024);

		count = dev_bytes > start ? (dev_bytes - start) / r->res_size : 0;
		if (count > 0xffffffffull)
			count = 0xffffffffull;
	}
	if (!count) {
		vmfs_fmterr(c->err, c->errlen, "device too small: %llu bytes leave no room for %ss",
			    (unsigned long long)dev_bytes, vmfs_res_name(t));
		return -ENOSPC;
	}
	do {
		r->count = (uint32_t)count;
		r->n_clusters = (uint32_t)((count + r->per_cluster - 1) / r->per_cluster);
		r->res_off = align_up(r->hdr_off + (uint64_t)r->n_clusters * VMFS_MD_BLOCK,
				      64 * 1024);
		*pos = r->res_off + count * r->res_size;
	} while (t == VMFS_RES_FB && *pos > dev_bytes && --count);
	if (!count) {
		vmfs_fmterr(c->err, c->errlen, "device too small: %llu bytes leave no room for %ss",
			    (unsigned long long)dev_bytes, vmfs_res_name(t));
		return -ENOSPC;
	}
	if (*pos > dev_bytes) {
		vmfs_fmterr(c->err, c->errlen, "device too small: %llu bytes, %s region ends at "
				"%llu",
			    (unsigned long long)dev_bytes, vmfs_res_name(t),
			    (unsigned long long)*pos);
		return -ENOSPC;
	}
	return 0;
}

static int fmt_layout(struct fmt_ctx *c, const struct vmfs_format_opts *o)
{
	struct vmfs_volhdr *h = &c->h;
	uint64_t dev_bytes = c->dev->sectors * VMFS_SECTOR, pos;
	uint64_t nfd = o && o->num_fds ? o->num_fds : clamp64(dev_bytes / (256 * 1024), 64, 131072);
	uint64_t nsb = o && o->num_sbs ? o->num_sbs : clamp64(dev_bytes / 16 / h->sb_size, 16, 32768);
	uint64_t npb = o && o->num_pbs ? o->num_pbs :
		clamp64(dev_bytes / h->block_size / (VMFS_PB_NENT / 2) + 64, 64, 1u << 24);
	int rc = 0;

	h->hb_off = VMFS_HB_OFF;
	h->arb_off = h->hb_off + (uint64_t)h->max_hosts * VMFS_SECTOR;
	h->journal_off = align_up(h->arb_off + (uint64_t)h->max_hosts * VMFS_SECTOR, MIB);
	pos = h->journal_off + (uint64_t)h->max_hosts * h->journal_blocks * VMFS_MD_BLOCK;
	rc = fmt_region(c, VMFS_RES_FD, &pos, nfd);
	if (!rc)
		rc = fmt_region(c, VMFS_RES_PB, &pos, npb);
	if (!rc)
		rc = fmt_region(c, VMFS_RES_SB, &pos, nsb);
	if (!rc)
		rc = fmt_region(c, VMFS_RES_FB, &pos, 0);
	h->vol_bytes = dev_bytes;
	return rc;
}

static void fmt_header(struct fmt_ctx *c, const struct vmfs_format_opts *o)
{
	struct vmfs_volhdr *h = &c->h;
	uint64_t now = c->env->now_ns ? c->env->now_ns(c->env->ctx) : 0;

	h->magic = VMFS_MAGIC_HDR;
	h->version_major = VMFS_VERSION_MAJOR;
	h->version_minor = VMFS_VERSION_MINOR;
	h->sector_size = VMFS_SECTOR;
	h->md_block = VMFS_MD_BLOCK;
	h->root_fd = 1;
	h->ctime_ns = now;
	if (o && o->uuid) {
		memcpy(h->uuid, o->uuid, sizeof(h->uuid));
	} else {
		for (unsigned i = 0; i < 4; i++) {
			uint32_t w = vmfs_crc32c(i, c->env->host_uuid, sizeof(c->env->host_uuid));

			w = vmfs_crc32c(w, &now, sizeof(now));
			memcpy(h->uuid + 4 * i, &w, 4);
		}
	}
	vmfs_seal(h, sizeof(*h));
}

static int fmt_write(struct fmt_ctx *c, uint64_t off, const void *buf, uint64_t len)
{
	int rc = vmfs_raw_write(c->dev, off, buf, len);

	if (rc)
		vmfs_fmterr(c->err, c->errlen, "write of %llu bytes at offset %llu failed (%d)",
			    (unsigned long long)len, (unsigned long long)off, rc);
	return rc;
}

/* Zero the header, heartbeat and arbitration areas; empty every journal. */
static int fmt_system_areas(struct fmt_ctx *c)
{
	const struct vmfs_volhdr *h = &c->h;
	int rc = 0;

	memset(c->blk, 0, VMFS_MD_BLOCK);
	for (uint64_t off = 0; !rc && off < h->journal_off; off += VMFS_MD_BLOCK)
		rc = fmt_write(c, off, c->blk, VMFS_MD_BLOCK);
	for (uint32_t s = 0; !rc && s < h->max_hosts; s++) {
		uint64_t base = h->journal_off + (uint64_t)s * h->journal_blocks * VMFS_MD_BLOCK;
		struct vmfs_jhdr *jh = (struct vmfs_jhdr *)c->blk;

		memset(c->blk, 0, VMFS_MD_BLOCK);
		rc = fmt_write(c, base + VMFS_MD_BLOCK, c->blk, VMFS_MD_BLOCK);	/* no old txn */
		jh->magic = VMFS_MAGIC_JHDR;
		jh->slot = s;
		vmfs_seal(jh, sizeof(*jh));
		if (!rc)
			rc = fmt_write(c, base, c->blk, VMFS_MD_BLOCK);
	}
	return rc;
}

static int fmt_clusters(struct fmt_ctx *c, unsigned t)
{
	const struct vmfs_region *r = &c->h.reg[t];
	struct vmfs_clhdr *ch = (struct vmfs_clhdr *)(c->blk + VMFS_SECTOR);
	int rc = 0;

	for (uint32_t cl = 0; !rc && cl < r->n_clusters; cl++) {
		uint64_t first = (uint64_t)cl * r->per_cluster;

		memset(c->blk, 0, VMFS_MD_BLOCK);
		ch->magic = VMFS_MAGIC_CLUS;
		ch->type = t;
		ch->index = cl;
		ch->first_res = (uint32_t)first;
		ch->nres = r->count - first < r->per_cluster ? (uint32_t)(r->count - first) :
			r->per_cluster;
		ch->nfree = ch->nres;
		if (t == VMFS_RES_FD && cl == 0) {
			ch->bitmap[0] = 0x3;	/* fd 0 reserved, fd 1 root */
			ch->nfree -= 2;
		}
		vmfs_seal(ch, sizeof(*ch));
		rc = fmt_write(c, r->hdr_off + (uint64_t)cl * VMFS_MD_BLOCK, c->blk, VMFS_MD_BLOCK);
	}
	return rc;
}

static int fmt_root(struct fmt_ctx *c)
{
	struct vmfs_fd *fd = (struct vmfs_fd *)(c->blk + VMFS_SECTOR);
	uint64_t now = c->env->now_ns ? c->env->now_ns(c->env->ctx) : 0;

	memset(c->blk, 0, VMFS_MD_BLOCK);
	fd->magic = VMFS_MAGIC_FD;
	fd->index = c->h.root_fd;
	fd->gen = 1;
	fd->type = VMFS_FT_DIR;
	fd->mode = VMFS_FM_SB;
	fd->nlink = 1;
	fd->perm = 0755;
	fd->parent = c->h.root_fd;
	fd->ctime_ns = fd->mtime_ns = fd->atime_ns = now;
	vmfs_seal(fd, sizeof(*fd));
	return fmt_write(c, c->h.reg[VMFS_RES_FD].res_off + (uint64_t)c->h.root_fd * VMFS_MD_BLOCK,
			 c->blk, VMFS_MD_BLOCK);
}

/* The smallest device (a multiple of 1 MiB) these options fit on, 0 if none. */
uint64_t vmfs_format_min_bytes(const struct vmfs_format_opts *opts)
{
	struct blockdev dev = { .sector_size = VMFS_SECTOR };
	uint64_t lo = 1, hi = 1ull << 22;	/* MiB */

	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;
		struct fmt_ctx c = { .dev = &dev };

		dev.sectors = mid * MIB / VMFS_SECTOR;
		if (!fmt_params(&c, opts) && !fmt_layout(&c, opts))
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < (1ull << 22) ? lo * MIB : 0;
}

/*
 * Refuse to format over a volume that a host still uses: mount the old volume
 * for maintenance (a MAINT slot, then wait until every other host is dead or
 * gone, -EBUSY if one renews), then invalidate both headers while our lease
 * holds, so that nobody mounts the old volume while it is being rewritten.
 * A device without a mountable volume has nothing to protect.
 */
static int fmt_check_old(struct blockdev *dev, const struct vmfs_env *env, char *err,
			 size_t errlen)
{
	struct vmfs_volume *vol;
	char msg[256];
	uint8_t *blk;
	int rc = vmfs_mount(dev, env, VMFS_MOUNT_MAINT, &vol, msg, sizeof(msg));

	if (rc == -EBUSY) {
		vmfs_fmterr(err, errlen, "refusing to format over a volume in use (%s); --force "
			    "formats anyway", msg);
		return -EBUSY;
	}
	if (rc)
		return 0;
	blk = vmfs_zalloc(vol, VMFS_MD_BLOCK);
	rc = blk ? vmfs_dev_write(vol, VMFS_HDR_BACKUP_OFF, blk, VMFS_MD_BLOCK) : -ENOMEM;
	if (!rc)
		rc = vmfs_dev_write(vol, 0, blk, VMFS_MD_BLOCK);
	if (!rc)
		rc = vmfs_dev_flush(vol);
	if (rc)
		vmfs_fmterr(err, errlen, "invalidating the old volume header failed: %s",
			    vmfs_strerror(vol));
	vmfs_free(vol, blk);
	vmfs_abandon(vol);
	if (dev->ops->set_write_deadline)
		dev->ops->set_write_deadline(dev, 0);
	return rc;
}

int vmfs_format(struct blockdev *dev, const struct vmfs_env *env,
		const struct vmfs_format_opts *opts, char *err, size_t errlen)
{
	struct fmt_ctx c = { .dev = dev, .env = env, .err = err, .errlen = errlen };
	char msg[200];
	int rc = fmt_params(&c, opts);

	if (!rc && !(opts && opts->force))
		rc = fmt_check_old(dev, env, err, errlen);

	if (!rc)
		rc = fmt_layout(&c, opts);
	if (rc)
		return rc;
	fmt_header(&c, opts);
	rc = vmfs_hdr_validate(&c.h, c.h.vol_bytes, msg, sizeof(msg));
	if (rc) {
		vmfs_fmterr(err, errlen, "bad format options: %s", msg);
		return rc;
	}
	c.blk = env->alloc(env->ctx, VMFS_MD_BLOCK);
	if (!c.blk) {
		vmfs_fmterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = fmt_system_areas(&c);
	for (unsigned t = 0; !rc && t < VMFS_RES_NTYPES; t++)
		rc = fmt_clusters(&c, t);
	if (!rc)
		rc = fmt_root(&c);
	if (!rc && dev->ops->flush)
		rc = dev->ops->flush(dev);
	memset(c.blk, 0, VMFS_MD_BLOCK);
	memcpy(c.blk, &c.h, sizeof(c.h));
	if (!rc)
		rc = fmt_write(&c, VMFS_HDR_BACKUP_OFF, c.blk, VMFS_MD_BLOCK);
	if (!rc)
		rc = fmt_write(&c, 0, c.blk, VMFS_MD_BLOCK);
	if (!rc && dev->ops->flush)
		rc = dev->ops->flush(dev);
	env->free(env->ctx, c.blk);
	return rc;
}
