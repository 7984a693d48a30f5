/*
 * Punching holes: deallocating the file blocks a range wholly covers, so
 * that they read as zeros again and go back to the volume (a thin disk's
 * answer to a guest's DISCARD/UNMAP).
 *
 * Only files in file-block mode have blocks of their own to give back;
 * inline and sub-block files are left alone (the range reads as before).
 * Partial blocks at either end are left allocated: punching is a hint and
 * never zeroes data it does not free. Each transaction frees what fits in
 * it and commits, so a crash leaves some blocks freed and the rest as
 * they were, never a block both freed and mapped. Pointer blocks that
 * become empty stay; they are freed with the file.
 */
#include "vmfs_priv.h"

/* One transaction's worth: frees units from *unit towards end, advancing *unit. */
static int punch_step(struct vmfs_file *h, uint64_t *unit, uint64_t end)
{
	struct vmfs_volume *vol = h->vol;
	struct vmfs_txn *txn;
	struct vmfs_fd *f;
	uint64_t ent;
	int rc = vmfs_txn_begin(vol, &txn);

	if (rc)
		return rc;
	rc = vmfs_fd_get(txn, h->fd, &f);
	if (!rc && f->gen != h->gen)
		rc = vmfs_seterr(vol, -EIO, "descriptor %u was removed while open", h->fd);
	if (!rc && f->mode != VMFS_FM_FB)
		*unit = end;			/* nothing of its own to free */
	while (!rc && *unit < end && vmfs_txn_room(txn) >= 8 &&
	       txn->nfree + 2 < VMFS_TXN_MAX_FREE) {
		rc = vmfs_addr_lookup(vol, txn, f, *unit, &ent);
		if (!rc && ent) {
			rc = vmfs_txn_defer_free(txn, VMFS_RES_FB, (uint32_t)(ent & VMFS_ADDR_INDEX_MASK));
			if (!rc)
				rc = vmfs_addr_set(txn, f, *unit, 0);
			if (!rc) {
				f->nres--;
				vmfs_txn_dirty(txn, (uint8_t *)f);
			}
		}
		if (!rc)
			(*unit)++;
	}
	return rc ? (vmfs_txn_abort(txn), rc) : vmfs_txn_commit(txn);
}

int vmfs_punch(struct vmfs_file *h, uint64_t off, uint64_t len)
{
	struct vmfs_volume *vol = h->vol;
	uint64_t bs = vol->hdr.block_size, unit, end;
	int rc = 0;

	if (!(h->flags & VMFS_O_WRITE))
		return vmfs_seterr(vol, -EPERM, "file descriptor %u is not open for writing", h->fd);
	if (off + len < off)
		return vmfs_seterr(vol, -EINVAL, "punch range wraps");
	unit = (off + bs - 1) / bs;
	end = (off + len) / bs;
	while (!rc && unit < end)
		rc = punch_step(h, &unit, end);
	return rc;
}
