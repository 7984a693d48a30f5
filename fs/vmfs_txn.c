/*
 * Transactions: the buffers one metadata change reads and writes.
 *
 * A transaction collects full images of the metadata blocks it changes
 * (cluster headers, descriptors, pointer blocks, directory blocks). Reading a
 * block for change (vmfs_txn_get) gives the transaction its own copy: from
 * the metadata cache (our newest version, vmfs_cache.c) or the disk. Later
 * reads in the same operation see the copy (vmfs_txn_peek, vmfs_txn_lookup).
 * Resources freed by a transaction are released at its commit
 * (vmfs_txn_defer_free), so the same transaction never reuses them.
 * vmfs_journal.c commits the changed copies.
 *
 * At most one transaction is open per volume (vol->txn); the volume is
 * single-threaded.
 */
#include "vmfs_priv.h"

int vmfs_txn_begin(struct vmfs_volume *vol, struct vmfs_txn **out)
{
	struct vmfs_txn *txn;

	if (vol->rdonly)
		return vmfs_seterr(vol, -EPERM, "volume is mounted read-only");
	if (vol->failed)
		return vmfs_seterr(vol, -EIO, "an earlier metadata write failed: unmount and "
				"mount again to replay the journal");
	if (vol->txn)
		return vmfs_seterr(vol, -EBUSY, "internal: transaction already open");
	vmfs_want_service(vol);		/* give back what other hosts asked for */
	txn = vmfs_zalloc(vol, sizeof(*txn));
	if (!txn)
		return vmfs_seterr(vol, -ENOMEM, "out of memory for a transaction");
	txn->vol = vol;
	vol->txn = txn;
	*out = txn;
	return 0;
}

/*
 * Locks taken by a transaction (clusters, descriptors) outlive it: they are
 * kept until another host asks for them (vmfs_held.c). After a failed commit
 * nothing is given back, so nobody touches what they guard until the journal
 * has been replayed (by us at remount, or by a host breaking them).
 */
void vmfs_txn_end(struct vmfs_txn *txn)
{
	struct vmfs_volume *vol = txn->vol;

	for (unsigned i = 0; i < txn->nbuf; i++)
		vmfs_free(vol, txn->buf[i].data);
	vol->txn = NULL;
	vmfs_free(vol, txn);
}

void vmfs_txn_abort(struct vmfs_txn *txn)
{
	if (txn)
		vmfs_txn_end(txn);
}

static struct vmfs_buf *txn_find(const struct vmfs_txn *txn, uint64_t off)
{
	for (unsigned i = 0; i < txn->nbuf; i++)
		if (txn->buf[i].off == off)
			return (struct vmfs_buf *)&txn->buf[i];
	return NULL;
}

/*
 * Get a metadata buffer for change; the same offset always yields the same
 * buffer. guard: the lock record that protects it (for the cache).
 */
int vmfs_txn_get(struct vmfs_txn *txn, uint64_t off, uint32_t len, uint64_t guard,
		 uint8_t **data)
{
	struct vmfs_volume *vol = txn->vol;
	struct vmfs_buf *b = txn_find(txn, off);
	int rc;

	if (b) {
		if (b->len != len)
			return vmfs_seterr(vol, -EIO, "metadata at %llu used with two sizes",
					   (unsigned long long)off);
		*data = b->data;
		return 0;
	}
	if (txn->nbuf == VMFS_TXN_MAX_BUF)
		return vmfs_seterr(vol, -E2BIG, "transaction touches too many metadata blocks");
	b = &txn->buf[txn->nbuf];
	b->data = vmfs_zalloc(vol, VMFS_MD_BLOCK);
	if (!b->data)
		return vmfs_seterr(vol, -ENOMEM, "out of memory for a metadata buffer");
	rc = vmfs_md_read(vol, off, len, guard, b->data);
	if (rc) {
		vmfs_free(vol, b->data);
		return rc;
	}
	b->off = off;
	b->guard = guard;
	b->len = len;
	b->dirty = false;
	txn->nbuf++;
	*data = b->data;
	return 0;
}

void vmfs_txn_dirty(struct vmfs_txn *txn, const uint8_t *data)
{
	for (unsigned i = 0; i < txn->nbuf; i++) {
		if (txn->buf[i].data == data && !txn->buf[i].dirty) {
			txn->buf[i].dirty = true;
			txn->ndirty++;
		}
	}
}

/* The transaction's buffer at off, or NULL. */
uint8_t *vmfs_txn_lookup(const struct vmfs_txn *txn, uint64_t off)
{
	struct vmfs_buf *b = txn ? txn_find(txn, off) : NULL;

	return b ? b->data : NULL;
}

bool vmfs_txn_is_dirty(const struct vmfs_txn *txn, const uint8_t *data)
{
	for (unsigned i = 0; i < txn->nbuf; i++)
		if (txn->buf[i].data == data)
			return txn->buf[i].dirty;
	return false;
}

/* Read metadata as the open transaction (if any) sees it. */
int vmfs_txn_peek(struct vmfs_volume *vol, struct vmfs_txn *txn, uint64_t off, uint32_t len,
		  uint64_t guard, void *out)
{
	struct vmfs_buf *b = txn ? txn_find(txn, off) : NULL;

	if (b && b->len == len) {
		memcpy(out, b->data, len);
		return 0;
	}
	return vmfs_md_read(vol, off, len, guard, out);
}

/* Add a changed buffer at off holding a copy of src (for records made from the cache). */
int vmfs_txn_adopt(struct vmfs_txn *txn, uint64_t off, uint32_t len, uint64_t guard,
		   const void *src, uint8_t **data)
{
	struct vmfs_buf *b;

	if (txn->nbuf == VMFS_TXN_MAX_BUF)
		return vmfs_seterr(txn->vol, -E2BIG, "transaction touches too many metadata blocks");
	b = &txn->buf[txn->nbuf];
	b->data = txn->vol->env.alloc(txn->vol->env.ctx, VMFS_MD_BLOCK);
	if (!b->data)
		return vmfs_seterr(txn->vol, -ENOMEM, "out of memory for a metadata buffer");
	memcpy(b->data, src, len);
	b->off = off;
	b->len = len;
	b->guard = guard;
	b->dirty = true;
	txn->nbuf++;
	txn->ndirty++;
	*data = b->data;
	return 0;
}

/* Drop buffers inside a range whose contents no longer matter (freed space). */
void vmfs_txn_forget(struct vmfs_txn *txn, uint64_t off, uint64_t len)
{
	unsigned i = 0;

	vmfs_cache_forget(txn->vol, off, len);
	while (i < txn->nbuf) {
		struct vmfs_buf *b = &txn->buf[i];

		if (b->off >= off && b->off < off + len) {
			if (b->dirty)
				txn->ndirty--;
			vmfs_free(txn->vol, b->data);
			*b = txn->buf[--txn->nbuf];
		} else {
			i++;
		}
	}
}

int vmfs_txn_defer_free(struct vmfs_txn *txn, unsigned type, uint32_t idx)
{
	txn->frees_units |= type == VMFS_RES_SB || type == VMFS_RES_FB;
	if (txn->nfree == VMFS_TXN_MAX_FREE)
		return vmfs_seterr(txn->vol, -E2BIG, "transaction frees too many resources");
	txn->freed[txn->nfree].type = (uint8_t)type;
	txn->freed[txn->nfree].idx = idx;
	txn->nfree++;
	return 0;
}

/* Records still available, counting each deferred free as one more record. */
unsigned vmfs_txn_room(const struct vmfs_txn *txn)
{
	unsigned used = txn->ndirty + txn->nfree + VMFS_TXN_MARGIN;

	return used >= VMFS_TXN_MAX_REC ? 0 : VMFS_TXN_MAX_REC - used;
}

