/*
 * File data: reads, writes, mode changes, truncate and extend.
 *
 * File data is not journaled. Ordering keeps it safe:
 *  - a unit newly allocated for a write is filled (the written bytes, zeros
 *    elsewhere) before the transaction that links it commits, and the commit
 *    flush makes the data durable first: a committed pointer never names
 *    stale data, and a crash before the commit leaves the unit free;
 *  - overwrites of allocated units go straight to the device; vmfs_fsync
 *    flushes them;
 *  - bytes of an allocated unit beyond the file size are always zero
 *    (allocation zero-fills, truncate zeroes the tail before committing), so
 *    growing a file never exposes old data.
 * Mode changes (inline -> sub-block -> file block) copy the data into newly
 * allocated units and free the old ones in the same transaction.
 *
 * Large writes, extends and truncates run as a series of transactions, each
 * leaving a consistent file (size covers exactly what is linked so far).
 */
#include "vmfs_priv.h"

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static unsigned data_type(const struct vmfs_fd *f)
{
	return f->mode == VMFS_FM_SB ? VMFS_RES_SB : VMFS_RES_FB;
}

static uint64_t unit_off(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t ent)
{
	return vmfs_res_off(vol, data_type(f), (uint32_t)(ent & VMFS_ADDR_INDEX_MASK));
}

void vmfs_fill_stat(const struct vmfs_volume *vol, const struct vmfs_fd *f, struct vmfs_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->fd = f->index;
	st->gen = f->gen;
	st->type = f->type;
	st->mode = f->mode;
	st->flags = f->flags;
	st->perm = f->perm;
	st->nlink = f->nlink;
	st->size = f->size;
	st->alloc_bytes = f->mode == VMFS_FM_INLINE ? 0 :
		f->nres * vmfs_unit_size(vol, f->mode) + f->npb * VMFS_MD_BLOCK;
	st->ctime_ns = f->ctime_ns;
	st->mtime_ns = f->mtime_ns;
	st->atime_ns = f->atime_ns;
}

/*
 * The run of allocated units at file offset off: *phys is the device offset
 * of off and *n the bytes (<= len, <= VMFS_RUN_MAX) that lie in units placed
 * back to back on the device, so that one request covers them. *hole: off
 * lies in a hole or a to-be-zeroed unit (*n: the bytes of it up to its end).
 */
static int map_run(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *f,
		   uint64_t off, uint64_t len, uint64_t *phys, uint64_t *n, bool *hole)
{
	uint64_t us = vmfs_unit_size(vol, f->mode), ent;
	int rc = vmfs_addr_lookup(vol, txn, f, off / us, &ent);

	*n = min64(len, us - off % us);
	*hole = !ent || (ent & VMFS_ADDR_TBZ);
	if (rc || *hole)
		return rc;
	*phys = unit_off(vol, f, ent) + off % us;
	while (*n < len && *n < VMFS_RUN_MAX) {
		rc = vmfs_addr_lookup(vol, txn, f, (off + *n) / us, &ent);
		if (rc || !ent || (ent & VMFS_ADDR_TBZ) || unit_off(vol, f, ent) != *phys + *n)
			break;
		*n += min64(len - *n, us);
	}
	return rc;
}

int vmfs_data_map(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t off, uint64_t len,
		  uint64_t *phys, uint64_t *n)
{
	bool hole;
	int rc;

	if (f->mode == VMFS_FM_INLINE) {
		*phys = 0;
		*n = len;
		return 0;
	}
	rc = map_run(vol, NULL, f, off, len, phys, n, &hole);
	if (!rc && hole)
		*phys = 0;
	return rc;
}

int vmfs_data_read(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *f,
		   uint64_t off, void *buf, uint64_t len)
{
	uint8_t *p = buf;

	if (f->mode == VMFS_FM_INLINE) {
		if (off > VMFS_INLINE_MAX || len > VMFS_INLINE_MAX - off)
			return vmfs_seterr(vol, -EIO, "inline read out of range");
		memcpy(p, f->inline_data + off, len);
		return 0;
	}
	while (len) {
		uint64_t phys, n;
		bool hole;
		int rc = map_run(vol, txn, f, off, len, &phys, &n, &hole);

		if (rc)
			return rc;
		if (hole)
			memset(p, 0, n);
		else if ((rc = vmfs_read_bytes(vol, phys, p, n)))
			return rc;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* Overwrite [off, off+len) of f, every unit of which is allocated (checked by the caller). */
int vmfs_data_write_allocated(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t off,
			      const void *buf, uint64_t len)
{
	const uint8_t *p = buf;

	while (len) {
		uint64_t phys, n;
		bool hole;
		int rc = map_run(vol, NULL, f, off, len, &phys, &n, &hole);

		if (!rc && hole)
			rc = vmfs_seterr(vol, -EIO, "internal: overwrite of an unallocated unit");
		if (!rc)
			rc = vmfs_write_bytes(vol, phys, p, n);
		if (rc)
			return rc;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * Allocate a unit for f (not yet linked). File data goes into it next, so a
 * free of data units that is not durable yet is made durable first: a unit
 * must not hold new data while a crash could still hand it back to its
 * previous file.
 */
static int unit_alloc(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t *ent)
{
	uint32_t idx;
	int rc = vmfs_journal_before_reuse(txn->vol);

	if (!rc)
		rc = vmfs_alloc(txn, data_type(f), &idx);
	if (!rc)
		*ent = VMFS_ADDR_VALID | idx;
	return rc;
}

/* Fill a fresh unit: zeros everywhere except [in, in + n), which gets data. */
static int unit_fill(struct vmfs_volume *vol, uint64_t base, uint64_t us, uint64_t in,
		     const void *data, uint64_t n)
{
	uint64_t lo = (in + VMFS_SECTOR - 1) / VMFS_SECTOR * VMFS_SECTOR;
	uint64_t hi = (in + n) / VMFS_SECTOR * VMFS_SECTOR;
	int rc;

	if (!n || lo >= hi)
		return vmfs_dev_zero(vol, base, us) ?: (n ? vmfs_write_bytes(vol, base + in, data, n) : 0);
	rc = vmfs_dev_zero(vol, base, lo);
	if (!rc)
		rc = vmfs_dev_zero(vol, base + hi, us - hi);
	if (!rc)
		rc = vmfs_write_bytes(vol, base + in, data, n);
	return rc;
}

/* Write one piece inside one unit; allocates or zero-fills as needed. */
static int write_piece(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t off, const uint8_t *p,
		       uint64_t n)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us = vmfs_unit_size(vol, f->mode), unit = off / us, ent;
	int rc = vmfs_addr_lookup(vol, txn, f, unit, &ent);

	if (rc)
		return rc;
	if (ent && !(ent & VMFS_ADDR_TBZ))
		return vmfs_write_bytes(vol, unit_off(vol, f, ent) + off % us, p, n);
	if (!ent) {
		rc = unit_alloc(txn, f, &ent);
		if (rc)
			return rc;
		f->nres++;
	}
	ent &= ~VMFS_ADDR_TBZ;
	txn->data_written = true;	/* flushed before the record linking it */
	rc = unit_fill(vol, unit_off(vol, f, ent), us, off % us, p, n);
	if (!rc)
		rc = vmfs_addr_set(txn, f, unit, ent);
	vmfs_txn_dirty(txn, (uint8_t *)f);
	return rc;
}

/*
 * Whole units [off, off + len) that are holes or to be zeroed: allocate them
 * (extents: consecutive allocations from one cluster are usually adjacent on
 * the device) and write the data of the leading run of adjacent ones in one
 * request. Returns the bytes written (a multiple of the unit), or an error.
 */
static int64_t write_new_units(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t off,
			       const uint8_t *p, uint64_t len)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us = vmfs_unit_size(vol, f->mode), n = 0, first = 0;
	int rc = 0;

	while (n + us <= len && n < VMFS_RUN_MAX && vmfs_txn_room(txn) > 8) {
		uint64_t ent, unit = (off + n) / us;

		rc = vmfs_addr_lookup(vol, txn, f, unit, &ent);
		if (rc || (ent && !(ent & VMFS_ADDR_TBZ)))
			break;
		if (!ent) {
			rc = unit_alloc(txn, f, &ent);
			if (rc)
				break;
			f->nres++;
		}
		ent &= ~VMFS_ADDR_TBZ;
		rc = vmfs_addr_set(txn, f, unit, ent);
		vmfs_txn_dirty(txn, (uint8_t *)f);
		if (rc)
			break;
		if (n && unit_off(vol, f, ent) != first + n)
			break;	/* allocated but not adjacent: the next round writes it */
		if (!n)
			first = unit_off(vol, f, ent);
		n += us;
	}
	if (!n)
		return rc ? rc : vmfs_seterr(vol, -EIO, "internal: no unit allocated");
	txn->data_written = true;	/* flushed before the record linking it */
	rc = vmfs_write_bytes(vol, first, p, n);
	return rc ? rc : (int64_t)n;
}

/*
 * Write file data (f in SB or FB mode, a txn buffer). Stops early when the
 * transaction is nearly full; returns the bytes written. Allocated units are
 * written in runs of adjacent units, whole new units are allocated as an
 * extent and written the same way, partial new units are zero-filled.
 */
int64_t vmfs_data_write(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t off, const void *buf,
			uint64_t len)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us = vmfs_unit_size(vol, f->mode), done = 0;
	const uint8_t *p = buf;

	while (done < len && vmfs_txn_room(txn) > 8) {
		uint64_t phys, n;
		bool hole;
		int64_t w;
		int rc = map_run(vol, txn, f, off, len - done, &phys, &n, &hole);

		if (!rc && !hole)
			rc = vmfs_write_bytes(vol, phys, p + done, n);
		else if (!rc && !(off % us) && len - done >= us) {
			w = write_new_units(txn, f, off, p + done, len - done);
			rc = w < 0 ? (int)w : 0;
			n = w < 0 ? 0 : (uint64_t)w;
		} else if (!rc) {
			n = min64(len - done, us - off % us);
			rc = write_piece(txn, f, off, p + done, n);
		}
		if (rc)
			return rc;
		off += n;
		done += n;
	}
	return (int64_t)done;
}

/* Map the 4 KiB metadata block at file offset off (directories), allocating it. */
int vmfs_data_map_meta(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t off, uint8_t **blk)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us = vmfs_unit_size(vol, f->mode), ent;
	int rc = vmfs_addr_lookup(vol, txn, f, off / us, &ent);

	if (!rc && !ent) {
		rc = unit_alloc(txn, f, &ent);
		if (!rc)
			rc = vmfs_addr_set(txn, f, off / us, ent);
		f->nres++;
		vmfs_txn_dirty(txn, (uint8_t *)f);
	}
	if (!rc)
		rc = vmfs_txn_get(txn, unit_off(vol, f, ent) + off % us, VMFS_MD_BLOCK,
				  vmfs_fd_off(vol, f->index), blk);
	return rc;
}

static int inline_to_units(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t new_end)
{
	struct vmfs_volume *vol = txn->vol;
	uint8_t *old = vmfs_zalloc(vol, VMFS_INLINE_MAX);
	uint64_t size = f->size;
	int64_t n = 0;

	if (!old)
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	memcpy(old, f->inline_data, size);
	memset(f->addr, 0, sizeof(f->addr));
	/* small files go to one sub-block; larger ones, or no sub-block left, to file blocks */
	f->mode = new_end <= vol->hdr.sb_size ? VMFS_FM_SB : VMFS_FM_FB;
	vmfs_txn_dirty(txn, (uint8_t *)f);
	if (size)
		n = vmfs_data_write(txn, f, 0, old, size);
	if (n == -ENOSPC && f->mode == VMFS_FM_SB) {
		f->mode = VMFS_FM_FB;
		n = vmfs_data_write(txn, f, 0, old, size);
	}
	vmfs_free(vol, old);
	if (n >= 0 && (uint64_t)n != size)
		return vmfs_seterr(vol, -E2BIG, "internal: transaction full converting inline "
				"data");
	return n < 0 ? (int)n : 0;
}

/* Copy the sub-blocks of f into one new file block and switch to FB mode. */
static int sb_to_fb(struct vmfs_txn *txn, struct vmfs_fd *f)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t fb = 0, sb = vol->hdr.sb_size;
	uint8_t *blk = vmfs_zalloc(vol, VMFS_MD_BLOCK);
	int rc = blk ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory");

	for (unsigned k = 0; !rc && k < VMFS_SB_PER_FB; k++) {
		uint64_t e = f->addr[k];

		if (!e)
			continue;
		if (e & VMFS_ADDR_TBZ) {
			rc = vmfs_txn_defer_free(txn, VMFS_RES_SB,
						 (uint32_t)(e & VMFS_ADDR_INDEX_MASK));
			continue;
		}
		if (!fb) {
			uint32_t idx;

			rc = vmfs_alloc(txn, VMFS_RES_FB, &idx);
			fb = VMFS_ADDR_VALID | idx;
		}
		for (uint64_t o = 0; !rc && o < sb; o += VMFS_MD_BLOCK) {
			rc = vmfs_txn_peek(vol, txn, unit_off(vol, f, e) + o, VMFS_MD_BLOCK,
					   vmfs_fd_off(vol, f->index), blk);
			if (!rc && f->type == VMFS_FT_DIR && ((uint32_t *)blk)[0] == VMFS_MAGIC_DIR)
				vmfs_seal(blk, VMFS_MD_BLOCK);	/* may be a dirty, unsealed copy */
			if (!rc)
				txn->data_written = true;
			if (!rc)
				rc = vmfs_write_bytes(vol, vmfs_res_off(vol, VMFS_RES_FB,
					(uint32_t)(fb & VMFS_ADDR_INDEX_MASK)) + k * sb + o, blk,
					VMFS_MD_BLOCK);
		}
		if (!rc)
			rc = vmfs_txn_defer_free(txn, VMFS_RES_SB,
						 (uint32_t)(e & VMFS_ADDR_INDEX_MASK));
	}
	vmfs_free(vol, blk);
	if (rc)
		return rc;
	memset(f->addr, 0, sizeof(f->addr));
	f->nres = 0;
	if (f->type == VMFS_FT_DIR)
		txn->ckpt_after = true;	/* freed sub-blocks held directory blocks */
	if (fb) {
		f->addr[0] = fb;
		f->nres = 1;
	}
	f->mode = VMFS_FM_FB;
	vmfs_txn_dirty(txn, (uint8_t *)f);
	return 0;
}

/* Make f's mode able to hold new_end bytes. */
int vmfs_ensure_mode(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t new_end)
{
	struct vmfs_volume *vol = txn->vol;
	int rc = 0;

	if (new_end > vmfs_max_file_size(vol))
		return vmfs_seterr(vol, -EFBIG, "file size %llu exceeds the maximum %llu",
				   (unsigned long long)new_end,
				   (unsigned long long)vmfs_max_file_size(vol));
	if (f->mode == VMFS_FM_INLINE && new_end > VMFS_INLINE_MAX)
		rc = inline_to_units(txn, f, new_end);
	if (!rc && f->mode == VMFS_FM_SB && new_end > vol->hdr.block_size)
		rc = sb_to_fb(txn, f);
	return rc;
}

/* ---- truncate ---- */

/* Zero the bytes of the last unit beyond size (keeps the tail-is-zero invariant). */
static int zero_tail(struct vmfs_txn *txn, const struct vmfs_fd *f, uint64_t size)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us = vmfs_unit_size(vol, f->mode), ent;
	int rc;

	if (!(size % us))
		return 0;
	rc = vmfs_addr_lookup(vol, txn, f, size / us, &ent);
	if (rc || !ent || (ent & VMFS_ADDR_TBZ))
		return rc;
	txn->data_written = true;	/* the zeros are durable before the smaller size */
	return vmfs_dev_zero(vol, unit_off(vol, f, ent) + size % us, us - size % us);
}

/* One transaction's worth of shrinking; *done once f->size == size. */
static int shrink_step(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t size, bool *done)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us, cut, from;
	int rc;

	if (f->mode == VMFS_FM_INLINE) {
		memset(f->inline_data + size, 0, VMFS_INLINE_MAX - size);
		f->size = size;
		*done = true;
		return 0;
	}
	us = vmfs_unit_size(vol, f->mode);
	from = (size + us - 1) / us;
	rc = vmfs_addr_free_from(txn, f, from, &cut);
	if (rc)
		return rc;
	if (cut <= from) {
		rc = zero_tail(txn, f, size);
		f->size = size;
		*done = true;
	} else if (cut * us < f->size) {
		f->size = cut * us;
	}
	return rc;
}

/* Set the size of fd; shrinking frees units over as many transactions as needed. */
int vmfs_truncate_fd(struct vmfs_volume *vol, uint32_t fd, uint64_t size)
{
	bool done = false;

	while (!done) {
		struct vmfs_txn *txn;
		struct vmfs_fd *f;
		int rc = vmfs_txn_begin(vol, &txn);

		if (rc)
			return rc;
		rc = vmfs_fd_get(txn, fd, &f);
		if (!rc && size >= f->size) {
			rc = vmfs_ensure_mode(txn, f, size);
			f->size = size;
			done = true;
		} else if (!rc) {
			rc = shrink_step(txn, f, size, &done);
		}
		if (!rc) {
			f->mtime_ns = vmfs_now(vol);
			vmfs_txn_dirty(txn, (uint8_t *)f);
			rc = vmfs_txn_commit(txn);
		} else {
			vmfs_txn_abort(txn);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- extend ---- */

/* Allocate units [from, to) that are holes: TBZ (zeroed) or zero-filled (eager). */
static int alloc_units(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t *unit, uint64_t to,
		       enum vmfs_alloc alloc)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us = vmfs_unit_size(vol, f->mode), ent;
	int rc = 0;

	for (; *unit < to && vmfs_txn_room(txn) > 8 && !rc; (*unit)++) {
		rc = vmfs_addr_lookup(vol, txn, f, *unit, &ent);
		if (rc || ent)
			continue;
		rc = unit_alloc(txn, f, &ent);
		if (!rc && alloc == VMFS_ALLOC_EAGER)
			rc = vmfs_dev_zero(vol, unit_off(vol, f, ent), us),
			txn->data_written = true;
		else
			ent |= VMFS_ADDR_TBZ;
		if (!rc)
			rc = vmfs_addr_set(txn, f, *unit, ent);
		f->nres++;
	}
	return rc;
}

static int extend_step(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t size,
		       enum vmfs_alloc alloc, uint64_t *unit)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t us, to, end;
	int rc = vmfs_ensure_mode(txn, f, alloc == VMFS_ALLOC_THIN ? size :
				  (size > VMFS_INLINE_MAX ? size : VMFS_INLINE_MAX + 1));

	if (rc || alloc == VMFS_ALLOC_THIN || !size) {
		if (!rc)
			f->size = size > f->size ? size : f->size;
		*unit = ~0ull;
		return rc;
	}
	us = vmfs_unit_size(vol, f->mode);
	to = (size + us - 1) / us;
	if (*unit == ~0ull - 1)
		*unit = f->size / us;
	rc = alloc_units(txn, f, unit, to, alloc);
	end = *unit >= to ? size : *unit * us;
	if (!rc && end > f->size)
		f->size = end;
	if (*unit >= to)
		*unit = ~0ull;
	return rc;
}

/* Grow fd to size, allocating the new range as asked. */
int vmfs_extend_fd(struct vmfs_volume *vol, uint32_t fd, uint64_t size, enum vmfs_alloc alloc,
		   const struct vmfs_progress *prog)
{
	uint64_t unit = ~0ull - 1;	/* next unit to allocate; ~0 when done */

	while (unit != ~0ull) {
		struct vmfs_txn *txn;
		struct vmfs_fd *f;
		int rc = vmfs_txn_begin(vol, &txn);

		if (rc)
			return rc;
		rc = vmfs_fd_get(txn, fd, &f);
		if (!rc && size < f->size)
			rc = vmfs_seterr(vol, -EINVAL, "extend to %llu would shrink the file "
					"(size %llu)",
					 (unsigned long long)size, (unsigned long long)f->size);
		if (!rc)
			rc = extend_step(txn, f, size, alloc, &unit);
		if (!rc) {
			f->mtime_ns = vmfs_now(vol);
			vmfs_txn_dirty(txn, (uint8_t *)f);
			rc = vmfs_txn_commit(txn);
		} else {
			vmfs_txn_abort(txn);
		}
		if (rc)
			return rc;
		if (prog && prog->fn && unit != ~0ull)
			prog->fn(prog->arg, unit * vmfs_unit_size(vol, VMFS_FM_FB), size);
	}
	return 0;
}
