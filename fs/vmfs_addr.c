/*
 * File descriptors and block addressing.
 *
 * A descriptor maps file offsets to "units" in one of three modes:
 *   INLINE  data lives in the descriptor (addr[] holds bytes), size <= 2 KiB;
 *   SB      unit = sub-block (block_size / 16); addr[0..15] map units 0..15,
 *           so a file in SB mode is at most one file block long;
 *   FB      unit = file block; addr[0..251] are direct, addr[252..254] point
 *           to single, double and triple indirect pointer blocks of 508
 *           entries each: (252 + 508 + 508^2 + 508^3) units, 125 TiB with
 *           1 MiB blocks.
 * An entry is 0 (hole: reads as zeros) or VALID | [TBZ] | index. TBZ marks a
 * unit allocated for a zeroedthick file that has not been written yet: it
 * reads as zeros and is zeroed on first write.
 *
 * Every pointer block records its owner descriptor and level, so a pointer
 * block reached from the wrong place is detected. Depth is fixed by the unit
 * number, so a pointer loop on disk can never make a walk loop; fsck finds
 * shared blocks with its reference bitmaps.
 *
 * Frees walk from the end of the file down and stop when the transaction is
 * full; the caller commits and continues, lowering the size as it goes, so
 * each transaction leaves a consistent (shorter) file.
 */
#include "vmfs_priv.h"

#define P ((uint64_t)VMFS_PB_NENT)

int vmfs_fd_check(const struct vmfs_volume *vol, const struct vmfs_fd *f, uint32_t fd,
		  char *err, size_t errlen)
{
	const char *why = NULL;

	if (f->magic != VMFS_MAGIC_FD)
		why = "bad magic";
	else if (f->index != fd)
		why = "index does not match its slot";
	else if (f->type != VMFS_FT_FILE && f->type != VMFS_FT_DIR)
		why = "bad type";
	else if (f->mode > VMFS_FM_FB || (f->type == VMFS_FT_DIR && f->mode == VMFS_FM_INLINE))
		why = "bad addressing mode";
	else if (f->size > vmfs_max_file_size(vol) ||
		 (f->mode == VMFS_FM_INLINE && f->size > VMFS_INLINE_MAX) ||
		 (f->mode == VMFS_FM_SB && f->size > vol->hdr.block_size) ||
		 (f->type == VMFS_FT_DIR && (f->size % VMFS_MD_BLOCK || f->size > VMFS_DIR_MAX)))
		why = "size out of range for its mode";
	else if (f->parent >= vol->hdr.reg[VMFS_RES_FD].count || !f->parent)
		why = "bad parent";
	if (!why)
		return 0;
	vmfs_fmterr(err, errlen, "file descriptor %u at offset %llu: %s", fd,
		    (unsigned long long)vmfs_fd_off(vol, fd), why);
	return -EIO;
}

static int fd_verify(struct vmfs_volume *vol, const struct vmfs_fd *f, uint32_t fd, bool crc)
{
	char msg[200];
	int rc;

	if (crc && f->magic == VMFS_MAGIC_FD && !vmfs_check_crc(f, sizeof(*f)))
		return vmfs_seterr(vol, -EIO, "file descriptor %u at offset %llu: checksum "
				"mismatch",
				   fd, (unsigned long long)vmfs_fd_off(vol, fd));
	rc = vmfs_fd_check(vol, f, fd, msg, sizeof(msg));
	return rc ? vmfs_seterr(vol, rc, "%s", msg) : 0;
}

static int fd_range(struct vmfs_volume *vol, uint32_t fd)
{
	if (!fd || fd >= vol->hdr.reg[VMFS_RES_FD].count)
		return vmfs_seterr(vol, -EIO, "file descriptor number %u out of range", fd);
	return 0;
}

int vmfs_fd_get(struct vmfs_txn *txn, uint32_t fd, struct vmfs_fd **out)
{
	struct vmfs_volume *vol = txn->vol;
	uint8_t *data;
	int rc = fd_range(vol, fd);

	if (!rc)
		rc = vmfs_txn_get(txn, vmfs_fd_off(vol, fd) + VMFS_SECTOR, VMFS_MD_PAYLOAD,
				  vmfs_fd_off(vol, fd), &data);
	if (!rc)
		rc = fd_verify(vol, (struct vmfs_fd *)data, fd, !vmfs_txn_is_dirty(txn, data));
	if (!rc)
		*out = (struct vmfs_fd *)data;
	return rc;
}

int vmfs_fd_peek(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t fd, struct vmfs_fd *out)
{
	uint8_t *p;
	int rc = fd_range(vol, fd);

	if (rc)
		return rc;
	p = vmfs_txn_lookup(txn, vmfs_fd_off(vol, fd) + VMFS_SECTOR);
	if (p) {
		memcpy(out, p, sizeof(*out));
		return fd_verify(vol, out, fd, !vmfs_txn_is_dirty(txn, p));
	}
	rc = vmfs_md_read(vol, vmfs_fd_off(vol, fd) + VMFS_SECTOR, sizeof(*out),
			  vmfs_fd_off(vol, fd), out);
	return rc ? rc : fd_verify(vol, out, fd, true);
}

/* Check that an entry names an in-range resource of the right type. */
static int ent_check(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t ent,
		     unsigned type)
{
	uint64_t idx = ent & VMFS_ADDR_INDEX_MASK;

	if (!(ent & VMFS_ADDR_VALID) || (ent & ~(VMFS_ADDR_VALID | VMFS_ADDR_TBZ |
						 VMFS_ADDR_INDEX_MASK)) ||
	    idx >= vol->hdr.reg[type].count || (type == VMFS_RES_PB && (ent & VMFS_ADDR_TBZ)))
		return vmfs_seterr(vol, -EIO, "file descriptor %u: bad %s address 0x%llx",
				   f->index, vmfs_res_name(type), (unsigned long long)ent);
	return 0;
}

static int pb_verify(struct vmfs_volume *vol, const struct vmfs_pb *pb, const struct vmfs_fd *f,
		     uint64_t ent, uint32_t level, bool crc)
{
	if (pb->magic != VMFS_MAGIC_PB || (crc && !vmfs_check_crc(pb, sizeof(*pb))) ||
	    pb->fd != f->index || pb->level != level)
		return vmfs_seterr(vol, -EIO, "pointer block %llu (file descriptor %u, level %u) "
				"is corrupt",
				   (unsigned long long)(ent & VMFS_ADDR_INDEX_MASK), f->index,
				   level);
	return 0;
}

/* Read a pointer block as the transaction sees it. */
static int pb_peek(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *f,
		   uint64_t ent, uint32_t level, struct vmfs_pb *out)
{
	uint64_t off;
	uint8_t *p;
	int rc = ent_check(vol, f, ent, VMFS_RES_PB);

	if (rc)
		return rc;
	off = vmfs_res_off(vol, VMFS_RES_PB, (uint32_t)(ent & VMFS_ADDR_INDEX_MASK));
	p = vmfs_txn_lookup(txn, off);
	if (p) {
		memcpy(out, p, sizeof(*out));
		return pb_verify(vol, out, f, ent, level, !vmfs_txn_is_dirty(txn, p));
	}
	rc = vmfs_md_read(vol, off, sizeof(*out), vmfs_fd_off(vol, f->index), out);
	return rc ? rc : pb_verify(vol, out, f, ent, level, true);
}

/* Split an FB-mode unit beyond the direct ones into a top slot and per-level indices. */
static int unit_path(uint64_t unit, unsigned *top, unsigned *levels, uint32_t idx[3])
{
	uint64_t u = unit - VMFS_NDIRECT;

	if (u < P) {
		*top = VMFS_IND1, *levels = 1, idx[0] = (uint32_t)u;
		return 0;
	}
	u -= P;
	if (u < P * P) {
		*top = VMFS_IND2, *levels = 2;
		idx[0] = (uint32_t)(u / P), idx[1] = (uint32_t)(u % P);
		return 0;
	}
	u -= P * P;
	if (u < P * P * P) {
		*top = VMFS_IND3, *levels = 3;
		idx[0] = (uint32_t)(u / (P * P));
		idx[1] = (uint32_t)(u / P % P), idx[2] = (uint32_t)(u % P);
		return 0;
	}
	return -ERANGE;
}

int vmfs_addr_lookup(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *f,
		     uint64_t unit, uint64_t *ent)
{
	unsigned top, levels;
	uint32_t idx[3];
	struct vmfs_pb *pb;
	uint64_t e;
	int rc = 0;

	*ent = 0;
	if (f->mode == VMFS_FM_SB) {
		*ent = unit < VMFS_SB_PER_FB ? f->addr[unit] : 0;
		return *ent ? ent_check(vol, f, *ent, VMFS_RES_SB) : 0;
	}
	if (unit < VMFS_NDIRECT) {
		*ent = f->addr[unit];
		return *ent ? ent_check(vol, f, *ent, VMFS_RES_FB) : 0;
	}
	if (unit_path(unit, &top, &levels, idx))
		return vmfs_seterr(vol, -ERANGE, "offset beyond the largest file");
	e = f->addr[top];
	pb = e ? vmfs_zalloc(vol, sizeof(*pb)) : NULL;
	if (e && !pb)
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	for (unsigned l = 0; e && l < levels && !rc; l++) {
		rc = pb_peek(vol, txn, f, e, levels - l, pb);
		e = rc ? 0 : pb->ent[idx[l]];
	}
	vmfs_free(vol, pb);
	if (!rc && e)
		rc = ent_check(vol, f, e, VMFS_RES_FB);
	*ent = rc ? 0 : e;
	return rc;
}

/* Get (allocating if absent) the pointer block named by *slot, for change. */
static int pb_get(struct vmfs_txn *txn, struct vmfs_fd *f, uint8_t *slot_buf, uint64_t *slot,
		  uint32_t level, struct vmfs_pb **out)
{
	struct vmfs_volume *vol = txn->vol;
	uint32_t idx;
	uint8_t *data;
	int rc;

	if (*slot) {
		rc = ent_check(vol, f, *slot, VMFS_RES_PB);
		if (!rc)
			rc = vmfs_txn_get(txn, vmfs_res_off(vol, VMFS_RES_PB,
				(uint32_t)(*slot & VMFS_ADDR_INDEX_MASK)), VMFS_MD_BLOCK,
				vmfs_fd_off(vol, f->index), &data);
		if (!rc)
			rc = pb_verify(vol, (struct vmfs_pb *)data, f, *slot, level,
				       !vmfs_txn_is_dirty(txn, data));
	} else {
		rc = vmfs_alloc(txn, VMFS_RES_PB, &idx);
		if (!rc)
			rc = vmfs_txn_get(txn, vmfs_res_off(vol, VMFS_RES_PB, idx), VMFS_MD_BLOCK,
					  vmfs_fd_off(vol, f->index), &data);
		if (!rc) {
			struct vmfs_pb *pb = (struct vmfs_pb *)data;

			memset(pb, 0, sizeof(*pb));
			pb->magic = VMFS_MAGIC_PB;
			pb->fd = f->index;
			pb->level = level;
			vmfs_txn_dirty(txn, data);
			*slot = VMFS_ADDR_VALID | idx;
			vmfs_txn_dirty(txn, slot_buf);
			f->npb++;
		}
	}
	if (!rc)
		*out = (struct vmfs_pb *)data;
	return rc;
}

/* Set the entry for a unit, allocating pointer blocks on the way. f is a txn buffer. */
int vmfs_addr_set(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t unit, uint64_t ent)
{
	unsigned top, levels;
	uint32_t idx[3];
	uint8_t *buf = (uint8_t *)f;
	uint64_t *slot;
	struct vmfs_pb *pb;
	int rc;

	if (f->mode == VMFS_FM_SB || unit < VMFS_NDIRECT) {
		if (f->mode == VMFS_FM_SB && unit >= VMFS_SB_PER_FB)
			return vmfs_seterr(txn->vol, -EIO, "internal: sub-block unit %llu",
					   (unsigned long long)unit);
		f->addr[unit] = ent;
		vmfs_txn_dirty(txn, buf);
		return 0;
	}
	if (unit_path(unit, &top, &levels, idx))
		return vmfs_seterr(txn->vol, -ERANGE, "offset beyond the largest file");
	slot = &f->addr[top];
	for (unsigned l = 0; l < levels; l++) {
		rc = pb_get(txn, f, buf, slot, levels - l, &pb);
		if (rc)
			return rc;
		buf = (uint8_t *)pb;
		slot = &pb->ent[idx[l]];
	}
	*slot = ent;
	vmfs_txn_dirty(txn, buf);
	return 0;
}

/* ---- freeing from the end ---- */

struct free_ctx {
	struct vmfs_txn *txn;
	struct vmfs_fd *f;
	uint64_t from;
	uint64_t low;		/* every unit >= low is free */
	bool stopped;
	unsigned data_type;
};

static bool out_of_room(const struct free_ctx *c)
{
	return vmfs_txn_room(c->txn) < 4 || c->txn->nfree + 2 >= VMFS_TXN_MAX_FREE;
}

static int free_entry(struct free_ctx *c, uint8_t *buf, uint64_t *slot, unsigned type)
{
	int rc;

	if (out_of_room(c)) {
		c->stopped = true;
		return 0;
	}
	rc = ent_check(c->txn->vol, c->f, *slot, type);
	if (!rc)
		rc = vmfs_txn_defer_free(c->txn, type, (uint32_t)(*slot & VMFS_ADDR_INDEX_MASK));
	if (rc)
		return rc;
	*slot = 0;
	if (type == VMFS_RES_PB)
		c->f->npb--;
	else
		c->f->nres--;
	vmfs_txn_dirty(c->txn, buf);
	vmfs_txn_dirty(c->txn, (uint8_t *)c->f);
	return 0;
}

/* Free units >= c->from in the subtree of *slot ([base, base + span) units). */
static int free_tree(struct free_ctx *c, uint8_t *buf, uint64_t *slot, uint32_t level,
		     uint64_t base, uint64_t span)
{
	struct vmfs_pb *pb;
	int rc;

	if (!*slot || base + span <= c->from) {
		if (!*slot && base >= c->from)
			c->low = base;
		return 0;
	}
	if (level == 0) {
		rc = free_entry(c, buf, slot, c->data_type);
		if (!rc && !c->stopped)
			c->low = base;
		return rc;
	}
	rc = pb_get(c->txn, c->f, buf, slot, level, &pb);
	for (uint64_t i = P; !rc && i-- > 0 && !c->stopped;)
		rc = free_tree(c, (uint8_t *)pb, &pb->ent[i], level - 1, base + i * (span / P),
			       span / P);
	if (!rc && !c->stopped && base >= c->from) {
		rc = free_entry(c, buf, slot, VMFS_RES_PB);
		if (!rc && !c->stopped)
			c->low = base;
	}
	return rc;
}

/*
 * Free every unit >= from (and pointer blocks left empty), as far as the
 * transaction has room. *cut: all units >= *cut are now free.
 */
int vmfs_addr_free_from(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t from, uint64_t *cut)
{
	static const uint64_t spans[3] = { P, P * P, P * P * P };
	static const uint64_t bases[3] = { VMFS_NDIRECT, VMFS_NDIRECT + P,
					   VMFS_NDIRECT + P + P * P };
	struct free_ctx c = { .txn = txn, .f = f, .from = from,
			      .data_type = f->mode == VMFS_FM_SB ? VMFS_RES_SB : VMFS_RES_FB };
	unsigned ndirect = f->mode == VMFS_FM_SB ? VMFS_SB_PER_FB : VMFS_NDIRECT;
	int rc = 0;

	if (f->type == VMFS_FT_DIR)
		txn->ckpt_after = true;	/* units that held directory blocks become free */
	c.low = f->mode == VMFS_FM_SB ? VMFS_SB_PER_FB : bases[2] + spans[2];
	for (int l = 2; f->mode == VMFS_FM_FB && l >= 0 && !rc && !c.stopped; l--)
		rc = free_tree(&c, (uint8_t *)f, &f->addr[VMFS_IND1 + l], (uint32_t)l + 1,
			       bases[l], spans[l]);
	for (unsigned u = ndirect; u-- > 0 && !rc && !c.stopped;)
		rc = free_tree(&c, (uint8_t *)f, &f->addr[u], 0, u, 1);
	*cut = c.stopped ? c.low : from;
	return rc;
}

/* ---- next allocated unit (SEEK_DATA) ---- */

static int next_tree(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t ent,
		     uint32_t level, uint64_t base, uint64_t span, uint64_t from, uint64_t *next)
{
	struct vmfs_pb *pb;
	int rc;

	if (!ent || base + span <= from)
		return 0;
	if (level == 0) {
		*next = base;
		return 1;
	}
	pb = vmfs_zalloc(vol, sizeof(*pb));
	if (!pb)
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	rc = pb_peek(vol, NULL, f, ent, level, pb);
	for (uint64_t i = 0; !rc && i < P; i++)
		rc = next_tree(vol, f, pb->ent[i], level - 1, base + i * (span / P), span / P,
			       from, next);
	vmfs_free(vol, pb);
	return rc;
}

/* First unit >= unit that is allocated; *next = ~0 when there is none. */
int vmfs_addr_next(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t unit,
		   uint64_t *next)
{
	static const uint64_t spans[3] = { P, P * P, P * P * P };
	uint64_t base = VMFS_NDIRECT;
	unsigned ndirect = f->mode == VMFS_FM_SB ? VMFS_SB_PER_FB : VMFS_NDIRECT;
	int rc = 0;

	*next = ~0ull;
	for (uint64_t u = unit; u < ndirect; u++) {
		if (f->addr[u]) {
			*next = u;
			return 0;
		}
	}
	for (int l = 0; f->mode == VMFS_FM_FB && l < 3 && !rc; l++) {
		rc = next_tree(vol, f, f->addr[VMFS_IND1 + l], (uint32_t)l + 1, base, spans[l],
			       unit, next);
		base += spans[l];
	}
	return rc < 0 ? rc : 0;
}
