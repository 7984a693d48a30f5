/*
 * Volume geometry: validation of a volume header read from a (possibly
 * hostile) device, and the arithmetic that turns resource numbers into byte
 * offsets. After vmfs_hdr_validate() succeeds, every offset computed here for
 * an in-range index lies inside the device, so callers only range-check
 * indices, never offsets.
 */
#include "vmfs_priv.h"

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint32_t expected_res_size(const struct vmfs_volhdr *h, unsigned type)
{
	switch (type) {
	case VMFS_RES_FD:
	case VMFS_RES_PB:
		return VMFS_MD_BLOCK;
	case VMFS_RES_SB:
		return h->sb_size;
	default:
		return h->block_size;
	}
}

static int check_params(const struct vmfs_volhdr *h, char *err, size_t errlen)
{
	if (h->sector_size != VMFS_SECTOR || h->md_block != VMFS_MD_BLOCK) {
		vmfs_fmterr(err, errlen, "volume header: unsupported sector size %u / metadata "
				"block %u",
			    h->sector_size, h->md_block);
		return -ENOTSUP;
	}
	if (!is_pow2(h->block_size) || h->block_size < 64 * 1024 ||
	    h->block_size > 64 * 1024 * 1024 || h->sb_size != h->block_size / VMFS_SB_PER_FB) {
		vmfs_fmterr(err, errlen, "volume header: bad block size %u / sub-block size %u",
			    h->block_size, h->sb_size);
		return -EINVAL;
	}
	if (!h->max_hosts || h->max_hosts > VMFS_MAX_HOSTS || !h->lease_timeout_s ||
	    h->lease_timeout_s > 3600) {
		vmfs_fmterr(err, errlen, "volume header: bad max_hosts %u or lease timeout %u s",
			    h->max_hosts, h->lease_timeout_s);
		return -EINVAL;
	}
	if (h->journal_blocks < VMFS_TXN_MAX_REC + 3 || h->journal_blocks > 65536) {
		vmfs_fmterr(err, errlen, "volume header: bad journal size %u blocks",
			    h->journal_blocks);
		return -EINVAL;
	}
	if (strnlen(h->label, sizeof(h->label)) == sizeof(h->label)) {
		vmfs_fmterr(err, errlen, "volume header: label is not NUL-terminated");
		return -EINVAL;
	}
	return 0;
}

static int check_region(const struct vmfs_volhdr *h, unsigned t, uint64_t *pos, char *err,
			size_t errlen)
{
	const struct vmfs_region *r = &h->reg[t];
	uint64_t hdr_end, end;

	if (r->res_size != expected_res_size(h, t) || !r->per_cluster ||
	    r->per_cluster > VMFS_CLUS_MAX_RES || !r->count ||
	    r->n_clusters != (r->count + (uint64_t)r->per_cluster - 1) / r->per_cluster ||
	    (t == VMFS_RES_FD && r->count <= h->root_fd)) {
		vmfs_fmterr(err, errlen, "volume header: %s region has bad counts (size %u, %u "
				"per cluster, %u clusters, %u resources)",
			    vmfs_res_name(t), r->res_size, r->per_cluster, r->n_clusters, r->count);
		return -EINVAL;
	}
	hdr_end = r->hdr_off + (uint64_t)r->n_clusters * VMFS_MD_BLOCK;
	end = r->res_off + (uint64_t)r->count * r->res_size;
	if (r->hdr_off < *pos || r->hdr_off % VMFS_MD_BLOCK || r->res_off < hdr_end ||
	    r->res_off % VMFS_MD_BLOCK || r->hdr_off > h->vol_bytes || end > h->vol_bytes) {
		vmfs_fmterr(err, errlen, "volume header: %s region [%llu, %llu) overlaps or "
				"leaves the volume (%llu bytes)",
			    vmfs_res_name(t), (unsigned long long)r->hdr_off,
			    (unsigned long long)end, (unsigned long long)h->vol_bytes);
		return -EINVAL;
	}
	*pos = end;
	return 0;
}

static int check_layout(const struct vmfs_volhdr *h, uint64_t *end, char *err, size_t errlen)
{
	uint64_t pos;
	int rc;

	if (h->hb_off != VMFS_HB_OFF || h->arb_off != h->hb_off + h->max_hosts * VMFS_SECTOR ||
	    h->journal_off < h->arb_off + (h->max_hosts + 1ull) * VMFS_SECTOR ||
	    h->journal_off % VMFS_MD_BLOCK || h->journal_off > h->vol_bytes) {
		vmfs_fmterr(err, errlen, "volume header: bad heartbeat/journal offsets (%llu, "
				"%llu, %llu)",
			    (unsigned long long)h->hb_off, (unsigned long long)h->arb_off,
			    (unsigned long long)h->journal_off);
		return -EINVAL;
	}
	pos = h->journal_off + (uint64_t)h->max_hosts * h->journal_blocks * VMFS_MD_BLOCK;
	for (unsigned t = 0; t < VMFS_RES_NTYPES; t++) {
		rc = check_region(h, t, &pos, err, errlen);
		if (rc)
			return rc;
	}
	*end = pos;
	return 0;
}

int vmfs_hdr_validate(const struct vmfs_volhdr *h, uint64_t dev_bytes, char *err, size_t errlen)
{
	uint64_t end;
	int rc;

	if (h->magic != VMFS_MAGIC_HDR) {
		vmfs_fmterr(err, errlen, "no VMFS volume header at offset 0 (magic 0x%08x, want "
				"0x%08x)",
			    h->magic, VMFS_MAGIC_HDR);
		return -ENODEV;
	}
	if (!vmfs_check_crc(h, sizeof(*h))) {
		vmfs_fmterr(err, errlen, "volume header: checksum mismatch (corrupt header)");
		return -EIO;
	}
	if (h->version_major < VMFS_VERSION_MAJOR) {
		vmfs_fmterr(err, errlen, "volume header: format %u.%u is older than %u.0, whose "
				"directory cache needs every host sharing the volume on %u.x; copy "
				"its files to a volume made with this version",
			    h->version_major, h->version_minor, VMFS_VERSION_MAJOR,
			    VMFS_VERSION_MAJOR);
		return -ENOTSUP;
	}
	if (h->version_major != VMFS_VERSION_MAJOR || (h->feat_incompat & ~VMFS_FEAT_INCOMPAT_KNOWN)) {
		vmfs_fmterr(err, errlen, "volume header: unsupported version %u.%u / incompatible "
				"features 0x%x",
			    h->version_major, h->version_minor, h->feat_incompat);
		return -ENOTSUP;
	}
	rc = check_params(h, err, errlen);
	if (!rc)
		rc = check_layout(h, &end, err, errlen);
	if (rc)
		return rc;
	if (h->vol_bytes > dev_bytes) {
		vmfs_fmterr(err, errlen, "truncated volume: header says %llu bytes, device has "
				"%llu",
			    (unsigned long long)h->vol_bytes, (unsigned long long)dev_bytes);
		return -EIO;
	}
	return 0;
}

uint64_t vmfs_res_off(const struct vmfs_volume *vol, unsigned type, uint32_t idx)
{
	const struct vmfs_region *r = &vol->hdr.reg[type];

	return r->res_off + (uint64_t)idx * r->res_size;
}

uint64_t vmfs_clus_off(const struct vmfs_volume *vol, unsigned type, uint32_t cl)
{
	return vol->hdr.reg[type].hdr_off + (uint64_t)cl * VMFS_MD_BLOCK;
}

uint64_t vmfs_fd_off(const struct vmfs_volume *vol, uint32_t fd)
{
	return vmfs_res_off(vol, VMFS_RES_FD, fd);
}

uint64_t vmfs_unit_size(const struct vmfs_volume *vol, unsigned mode)
{
	return mode == VMFS_FM_SB ? vol->hdr.sb_size : vol->hdr.block_size;
}

/* Units reachable through direct + single + double + triple indirection. */
uint64_t vmfs_max_file_size(const struct vmfs_volume *vol)
{
	uint64_t p = VMFS_PB_NENT;
	uint64_t units = VMFS_NDIRECT + p + p * p + p * p * p;
	uint64_t max = units * vol->hdr.block_size;

	return max > (1ull << 62) ? (1ull << 62) : max;
}
