/*
 * Resource allocation in clusters.
 *
 * Each resource type (fd, pointer block, sub-block, file block) is split into
 * clusters of per_cluster resources. A cluster's header block holds its lock
 * sector and a bitmap (bit set = allocated) with a free count; the header's
 * payload is journaled metadata, the lock is not.
 *
 * A host takes a cluster's lock (exclusive, owner = heartbeat slot and
 * generation) before it changes the cluster's bitmap and keeps it until
 * another host asks for it (vmfs_held.c) or unmount, so each host allocates
 * from clusters of its own - resource clusters per host - and hosts
 * allocating at the same time never meet (vol->hint starts each host at a
 * different place: slot * n / max_hosts). A cluster locked by another host
 * is skipped for allocation as long as other clusters have room; a free in
 * such a cluster asks the holder for it and waits; a cluster whose holder's
 * lease expired is broken and its holder's journal replayed first
 * (vmfs_lock.c). While we hold a cluster its header stays in the cache.
 *
 * Invariant (checked by vmfs_clus_check and fsck): nfree equals the number of
 * clear bits below nres, and no bit at or above nres is set.
 */
#include <stdio.h>
#include "vmfs_priv.h"

static unsigned popcount64(uint64_t x)
{
	x -= (x >> 1) & 0x5555555555555555ull;
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* Bits set in bitmap bytes [from, to), eight bytes at a time. */
static uint32_t bits_set(const uint8_t *bm, uint32_t from, uint32_t to)
{
	uint32_t n = 0;
	uint64_t w;

	for (; from + 8 <= to; from += 8) {
		memcpy(&w, bm + from, 8);
		n += popcount64(w);
	}
	for (; from < to; from++)
		n += popcount64(bm[from]);
	return n;
}

static uint32_t clus_nres(const struct vmfs_volume *vol, unsigned type, uint32_t cl)
{
	const struct vmfs_region *r = &vol->hdr.reg[type];
	uint64_t first = (uint64_t)cl * r->per_cluster;

	return r->count - first < r->per_cluster ? (uint32_t)(r->count - first) : r->per_cluster;
}

int vmfs_clus_check(const struct vmfs_volume *vol, const struct vmfs_clhdr *c, unsigned type,
		    uint32_t cl, char *err, size_t errlen)
{
	uint32_t nres = clus_nres(vol, type, cl), used = 0;

	if (c->magic != VMFS_MAGIC_CLUS || c->type != type || c->index != cl ||
	    c->nres != nres || c->first_res != cl * vol->hdr.reg[type].per_cluster) {
		vmfs_fmterr(err, errlen, "%s cluster %u at offset %llu: bad header fields",
			    vmfs_res_name(type), cl,
			    (unsigned long long)vmfs_clus_off(vol, type, cl));
		return -EIO;
	}
	if (nres > VMFS_CLUS_MAX_RES || (nres % 8 && c->bitmap[nres / 8] >> (nres % 8)) ||
	    bits_set(c->bitmap, (nres + 7) / 8, VMFS_CLUS_BITMAP_BYTES)) {
		vmfs_fmterr(err, errlen, "%s cluster %u: bits set beyond its %u resources",
			    vmfs_res_name(type), cl, nres);
		return -EIO;
	}
	used = bits_set(c->bitmap, 0, (nres + 7) / 8);
	if (c->nfree != nres - used) {
		vmfs_fmterr(err, errlen, "%s cluster %u: free count %u but bitmap has %u free",
			    vmfs_res_name(type), cl, c->nfree, nres - used);
		return -EIO;
	}
	return 0;
}

static int clus_verify(struct vmfs_volume *vol, const struct vmfs_clhdr *c, unsigned type,
		       uint32_t cl, bool check_crc)
{
	char msg[200];
	int rc;

	if (check_crc && !vmfs_check_crc(c, sizeof(*c)))
		return vmfs_seterr(vol, -EIO, "%s cluster %u at offset %llu: checksum mismatch",
				   vmfs_res_name(type), cl,
				   (unsigned long long)vmfs_clus_off(vol, type, cl));
	rc = vmfs_clus_check(vol, c, type, cl, msg, sizeof(msg));
	return rc ? vmfs_seterr(vol, rc, "%s", msg) : 0;
}

static int clus_lock(struct vmfs_volume *vol, unsigned type, uint32_t cl, enum vmfs_lock_wait w)
{
	char what[64];

	if (vmfs_held_find(vol, vmfs_clus_off(vol, type, cl)))
		return 0;
	snprintf(what, sizeof(what), "%s cluster %u", vmfs_res_name(type), cl);
	return vmfs_lock_get(vol, vmfs_clus_off(vol, type, cl), VMFS_LOCK_EXCL, w, VMFS_LK_CLUSTER,
			     what);
}

static int clus_get_wait(struct vmfs_txn *txn, unsigned type, uint32_t cl,
			 struct vmfs_clhdr **out, enum vmfs_lock_wait w)
{
	struct vmfs_volume *vol = txn->vol;
	uint8_t *data;
	int rc = clus_lock(vol, type, cl, w);

	if (!rc)
		rc = vmfs_txn_get(txn, vmfs_clus_off(vol, type, cl) + VMFS_SECTOR,
				  VMFS_MD_PAYLOAD, vmfs_clus_off(vol, type, cl), &data);
	if (!rc)
		rc = clus_verify(vol, (struct vmfs_clhdr *)data, type, cl,
				 !vmfs_txn_is_dirty(txn, data));
	if (!rc)
		*out = (struct vmfs_clhdr *)data;
	return rc;
}

/* Lock the cluster (waiting for another host) and get its header for change inside txn. */
int vmfs_clus_get(struct vmfs_txn *txn, unsigned type, uint32_t cl, struct vmfs_clhdr **out)
{
	return clus_get_wait(txn, type, cl, out, VMFS_LW_WAIT);
}

static int take_bit(struct vmfs_txn *txn, unsigned type, uint32_t cl, uint32_t *idx,
		    enum vmfs_lock_wait w)
{
	struct vmfs_clhdr *c;
	int rc = clus_get_wait(txn, type, cl, &c, w);

	if (rc)
		return rc;
	for (uint32_t b = 0; b < c->nres; b++) {
		if (c->bitmap[b / 8] & (1u << (b % 8)))
			continue;
		c->bitmap[b / 8] |= (uint8_t)(1u << (b % 8));
		c->nfree--;
		vmfs_txn_dirty(txn, (uint8_t *)c);
		*idx = c->first_res + b;
		return 0;
	}
	return -ENOSPC;
}

int vmfs_alloc(struct vmfs_txn *txn, unsigned type, uint32_t *idx)
{
	struct vmfs_volume *vol = txn->vol;
	const struct vmfs_region *r = &vol->hdr.reg[type];
	struct vmfs_clhdr *c = vmfs_zalloc(vol, sizeof(*c));
	int rc = c ? -ENOSPC : vmfs_seterr(vol, -ENOMEM, "out of memory");
	uint32_t busy = ~0u;

	for (uint32_t k = 0; c && k < r->n_clusters && (rc == -ENOSPC || rc == -EBUSY); k++) {
		uint32_t cl = (vol->hint[type] + k) % r->n_clusters;

		rc = vmfs_txn_peek(vol, txn, vmfs_clus_off(vol, type, cl) + VMFS_SECTOR,
				   VMFS_MD_PAYLOAD, vmfs_clus_off(vol, type, cl), c);
		if (!rc && c->magic == VMFS_MAGIC_CLUS && c->nfree == 0)
			rc = -ENOSPC;	/* full (a corrupt header is caught by take_bit) */
		else if (!rc)
			rc = take_bit(txn, type, cl, idx, VMFS_LW_TRY);
		if (rc == -EBUSY && busy == ~0u)
			busy = cl;	/* locked by another host: try elsewhere first */
		if (!rc)
			vol->hint[type] = cl;
	}
	if ((rc == -ENOSPC || rc == -EBUSY) && busy != ~0u) {
		rc = take_bit(txn, type, busy, idx, VMFS_LW_WAIT);
		if (!rc)
			vol->hint[type] = busy;
	}
	vmfs_free(vol, c);
	if (rc == -ENOSPC)
		return vmfs_seterr(vol, -ENOSPC, "no free %s left (%u in the volume)",
				   vmfs_res_name(type), r->count);
	return rc;
}

int vmfs_free_now(struct vmfs_txn *txn, unsigned type, uint32_t idx)
{
	struct vmfs_volume *vol = txn->vol;
	const struct vmfs_region *r = &vol->hdr.reg[type];
	struct vmfs_clhdr *c;
	uint32_t b;
	int rc;

	if (type >= VMFS_RES_NTYPES || idx >= r->count)
		return vmfs_seterr(vol, -EIO, "free of %s %u: out of "
				"range", vmfs_res_name(type), idx);
	rc = vmfs_clus_get(txn, type, idx / r->per_cluster, &c);
	if (rc)
		return rc;
	b = idx - c->first_res;
	if (!(c->bitmap[b / 8] & (1u << (b % 8))))
		return vmfs_seterr(vol, -EIO, "free of %s %u: already free (corrupt volume)",
				   vmfs_res_name(type), idx);
	c->bitmap[b / 8] &= (uint8_t)~(1u << (b % 8));
	c->nfree++;
	vmfs_txn_dirty(txn, (uint8_t *)c);
	if (type != VMFS_RES_FD)
		vmfs_txn_forget(txn, vmfs_res_off(vol, type, idx), r->res_size);
	return 0;
}

int vmfs_count_free(struct vmfs_volume *vol, unsigned type, uint64_t *nfree)
{
	struct vmfs_clhdr *c = vmfs_zalloc(vol, sizeof(*c));
	int rc = c ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory");

	*nfree = 0;
	for (uint32_t cl = 0; !rc && cl < vol->hdr.reg[type].n_clusters; cl++) {
		rc = vmfs_txn_peek(vol, vol->txn, vmfs_clus_off(vol, type, cl) + VMFS_SECTOR,
				   VMFS_MD_PAYLOAD, vmfs_clus_off(vol, type, cl), c);
		if (!rc)
			rc = clus_verify(vol, c, type, cl, true);
		if (!rc)
			*nfree += c->nfree;
	}
	vmfs_free(vol, c);
	return rc;
}
