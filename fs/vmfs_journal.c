/*
 * Metadata journal: write-ahead redo log, one per host (heartbeat slot).
 *
 * Every metadata change (cluster bitmaps, file descriptors, pointer blocks,
 * directory blocks) is made inside a transaction. A transaction collects
 * full images of the metadata buffers it changes, then commits:
 *
 *   1. journal block 1: descriptor {seq, nrec, rec[i] = {home offset, len,
 *      crc}}; blocks 2..1+nrec: the new images; block 2+nrec: commit record
 *      {seq, nrec, total_crc over descriptor and images}. One write, flush.
 *   2. the images are written to their home locations, flush.
 *   3. the journal header's applied_seq is set to seq (the "tail advance").
 *
 * Replay at mount: if the descriptor has seq == applied_seq + 1, its commit
 * record matches and every checksum holds, the images are written home again
 * (idempotent: they are full images) and applied_seq advances; otherwise the
 * transaction was torn before its commit became durable and is discarded, so
 * the volume is exactly as before it. A crash between 2 and 3 replays once
 * more, harmlessly.
 *
 * Invariants: at most one transaction is open per volume (vol->txn); only
 * one is in the log at a time (the previous one is applied before the next
 * is written); data blocks newly referenced by a transaction are written
 * before it commits (the commit flush orders them), so a committed pointer
 * never names stale data; resources freed by a transaction are released at
 * commit (vmfs_txn_defer_free), so the same transaction cannot reuse them.
 * Lock sectors are never journaled: they are written in place (vmfs_lock.c).
 *
 * Another host replays a dead host's journal with vmfs_journal_replay_fence()
 * when it breaks one of its locks (vmfs_lock.c) or recovers it, inside the
 * arbitration section, and then *fences* the dead incarnation: the header's
 * fenced_gen is raised to its generation, and a transaction is replayed only
 * if its descriptor's generation is above fenced_gen. A commit of the dead
 * host that was held up in the storage path and lands afterwards is thus
 * never replayed over what the new lock owner wrote, however late it lands.
 * A host mounting fences its slot's earlier incarnations the same way after
 * replaying their last transaction. Every write here goes through
 * vmfs_dev_write and so checks our lease first: a host that lost its lease
 * stops mid-commit rather than write over what a new lock owner wrote.
 */
#include "vmfs_priv.h"

uint64_t vmfs_journal_off(const struct vmfs_volume *vol, uint32_t slot)
{
	return vol->hdr.journal_off + (uint64_t)slot * vol->hdr.journal_blocks * VMFS_MD_BLOCK;
}

#define journal_off vmfs_journal_off

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
	txn = vmfs_zalloc(vol, sizeof(*txn));
	if (!txn)
		return vmfs_seterr(vol, -ENOMEM, "out of memory for a transaction");
	txn->vol = vol;
	vol->txn = txn;
	*out = txn;
	return 0;
}

/*
 * Cluster locks live for one transaction: taken when a bitmap is first
 * changed, released once the transaction is home (or was never logged). After
 * a failed commit they stay held, so nobody touches the clusters until the
 * journal has been replayed (by us at remount, or by a host breaking them).
 */
static void txn_end(struct vmfs_txn *txn)
{
	struct vmfs_volume *vol = txn->vol;
	char saved[sizeof(vol->err)];

	for (unsigned i = 0; i < txn->nbuf; i++)
		vmfs_free(vol, txn->buf[i].data);
	vol->txn = NULL;
	vmfs_free(vol, txn);
	if (!vol->failed) {
		memcpy(saved, vol->err, sizeof(saved));
		vmfs_release_cluster_locks(vol);
		memcpy(vol->err, saved, sizeof(saved));
	}
}

void vmfs_txn_abort(struct vmfs_txn *txn)
{
	if (txn)
		txn_end(txn);
}

static struct vmfs_buf *txn_find(const struct vmfs_txn *txn, uint64_t off)
{
	for (unsigned i = 0; i < txn->nbuf; i++)
		if (txn->buf[i].off == off)
			return (struct vmfs_buf *)&txn->buf[i];
	return NULL;
}

/* Get a metadata buffer for change; the same offset always yields the same buffer. */
int vmfs_txn_get(struct vmfs_txn *txn, uint64_t off, uint32_t len, uint8_t **data)
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
	rc = vmfs_read_bytes(vol, off, b->data, len);
	if (rc) {
		vmfs_free(vol, b->data);
		return rc;
	}
	b->off = off;
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
		  void *out)
{
	struct vmfs_buf *b = txn ? txn_find(txn, off) : NULL;

	if (b && b->len == len) {
		memcpy(out, b->data, len);
		return 0;
	}
	return vmfs_read_bytes(vol, off, out, len);
}

/* Drop buffers inside a range whose contents no longer matter (freed space). */
void vmfs_txn_forget(struct vmfs_txn *txn, uint64_t off, uint64_t len)
{
	unsigned i = 0;

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

/* gen: the incarnation writing (or last writing) the header; fenced: see above. */
static int write_jhdr(struct vmfs_volume *vol, uint32_t slot, uint64_t applied, uint64_t gen,
		      uint64_t fenced)
{
	struct vmfs_jhdr *jh = (struct vmfs_jhdr *)vol->bounce;

	memset(jh, 0, sizeof(*jh));
	jh->magic = VMFS_MAGIC_JHDR;
	jh->slot = slot;
	jh->applied_seq = applied;
	jh->hb_gen = gen;
	jh->fenced_gen = fenced;
	vmfs_seal(jh, sizeof(*jh));
	return vmfs_dev_write(vol, journal_off(vol, slot), jh, sizeof(*jh));
}

/* Lay out descriptor, images and commit record in vol->jbuf. */
static uint64_t build_log(struct vmfs_txn *txn, uint64_t seq)
{
	struct vmfs_volume *vol = txn->vol;
	struct vmfs_jtxn *d = (struct vmfs_jtxn *)vol->jbuf;
	struct vmfs_jcommit *c;
	uint32_t n = 0, total;

	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < txn->nbuf; i++) {
		struct vmfs_buf *b = &txn->buf[i];
		uint8_t *img = vol->jbuf + (uint64_t)(n + 1) * VMFS_MD_BLOCK;

		if (!b->dirty)
			continue;
		vmfs_seal(b->data, b->len);
		memset(img, 0, VMFS_MD_BLOCK);
		memcpy(img, b->data, b->len);
		d->rec[n].off = b->off;
		d->rec[n].len = b->len;
		d->rec[n].data_crc = vmfs_crc32c(0, img, VMFS_MD_BLOCK);
		n++;
	}
	d->magic = VMFS_MAGIC_JTXN;
	d->seq = seq;
	d->nrec = n;
	d->hb_gen = vol->hb_gen;
	vmfs_seal(d, sizeof(*d));
	total = vmfs_crc32c(0, vol->jbuf, (uint64_t)(n + 1) * VMFS_MD_BLOCK);
	c = (struct vmfs_jcommit *)(vol->jbuf + (uint64_t)(n + 1) * VMFS_MD_BLOCK);
	memset(c, 0, VMFS_MD_BLOCK);
	c->magic = VMFS_MAGIC_JCMT;
	c->seq = seq;
	c->nrec = n;
	c->total_crc = total;
	vmfs_seal(c, sizeof(*c));
	return (uint64_t)(n + 2) * VMFS_MD_BLOCK;
}

static int write_home(struct vmfs_txn *txn)
{
	for (unsigned i = 0; i < txn->nbuf; i++) {
		struct vmfs_buf *b = &txn->buf[i];
		int rc;

		if (!b->dirty)
			continue;
		rc = vmfs_dev_write(txn->vol, b->off, b->data, b->len);
		if (rc)
			return rc;
	}
	return vmfs_dev_flush(txn->vol);
}

static int apply_frees(struct vmfs_txn *txn)
{
	for (unsigned i = 0; i < txn->nfree; i++) {
		int rc = vmfs_free_now(txn, txn->freed[i].type, txn->freed[i].idx);

		if (rc)
			return rc;
	}
	txn->nfree = 0;
	return 0;
}

int vmfs_txn_commit(struct vmfs_txn *txn)
{
	struct vmfs_volume *vol = txn->vol;
	uint64_t seq = vol->seq + 1, len;
	int rc = apply_frees(txn);

	if (!rc && txn->ndirty > VMFS_TXN_MAX_REC)
		rc = vmfs_seterr(vol, -E2BIG, "transaction changes %u metadata blocks (max %u)",
				 txn->ndirty, VMFS_TXN_MAX_REC);
	if (rc || !txn->ndirty) {
		txn_end(txn);
		return rc;
	}
	vol->jbuf = vol->env.alloc(vol->env.ctx, (uint64_t)(txn->ndirty + 2) * VMFS_MD_BLOCK);
	if (!vol->jbuf) {
		txn_end(txn);
		return vmfs_seterr(vol, -ENOMEM, "out of memory for the journal");
	}
	len = build_log(txn, seq);
	rc = vmfs_dev_write(vol, vol->jbase + VMFS_MD_BLOCK, vol->jbuf, len);
	vmfs_free(vol, vol->jbuf);
	vol->jbuf = NULL;
	if (!rc)
		rc = vmfs_dev_flush(vol);
	if (rc) {
		/* the log may be durable anyway: keep the locks until a replay */
		vol->failed = true;
		txn_end(txn);
		return rc;
	}
	rc = write_home(txn);
	if (!rc)
		rc = write_jhdr(vol, vol->slot, seq, vol->hb_gen, vol->jfenced);
	if (rc)
		vol->failed = true;	/* committed but not home: replay at next mount */
	else
		vol->seq = seq;
	txn_end(txn);
	return rc;
}

/* ---- replay ---- */

static int check_records(struct vmfs_volume *vol, const struct vmfs_jtxn *d, uint32_t slot)
{
	uint64_t lo = vol->hdr.reg[0].hdr_off;

	for (uint32_t i = 0; i < d->nrec; i++) {
		const struct vmfs_jrec *r = &d->rec[i];

		if (!r->len || r->len > VMFS_MD_BLOCK || r->len % VMFS_SECTOR ||
		    r->off % VMFS_SECTOR || r->off < lo || r->off > vol->data_end ||
		    r->len > vol->data_end - r->off)
			return vmfs_seterr(vol, -EIO, "journal of slot %u: record %u targets bad "
					"range %llu+%u",
					   slot, i, (unsigned long long)r->off, r->len);
	}
	return 0;
}

/*
 * Returns 1 if the logged transaction is complete and not fenced, 0 if torn,
 * absent or fenced, <0 on I/O error.
 */
static int txn_valid(struct vmfs_volume *vol, uint64_t base, struct vmfs_jtxn *d,
		     const struct vmfs_jhdr *jh, uint8_t *blk)
{
	struct vmfs_jcommit *c = (struct vmfs_jcommit *)blk;
	uint64_t want_seq = jh->applied_seq + 1;
	uint32_t total;
	int rc = vmfs_dev_read(vol, base + VMFS_MD_BLOCK, d, sizeof(*d));

	if (rc)
		return rc;
	if (d->magic != VMFS_MAGIC_JTXN || !vmfs_check_crc(d, sizeof(*d)) || d->seq != want_seq ||
	    d->nrec > VMFS_TXN_MAX_REC || d->nrec + 3 > vol->hdr.journal_blocks ||
	    d->hb_gen <= jh->fenced_gen)
		return 0;
	total = vmfs_crc32c(0, d, sizeof(*d));
	for (uint32_t i = 0; i < d->nrec; i++) {
		rc = vmfs_dev_read(vol, base + (uint64_t)(i + 2) * VMFS_MD_BLOCK, blk, VMFS_MD_BLOCK);
		if (rc)
			return rc;
		if (vmfs_crc32c(0, blk, VMFS_MD_BLOCK) != d->rec[i].data_crc)
			return 0;
		total = vmfs_crc32c(total, blk, VMFS_MD_BLOCK);
	}
	rc = vmfs_dev_read(vol, base + (uint64_t)(d->nrec + 2) * VMFS_MD_BLOCK, blk, VMFS_SECTOR);
	if (rc)
		return rc;
	if (c->magic != VMFS_MAGIC_JCMT || !vmfs_check_crc(c, sizeof(*c)) || c->seq != want_seq ||
	    c->nrec != d->nrec || c->total_crc != total)
		return 0;
	return 1;
}

static int apply_log(struct vmfs_volume *vol, uint64_t base, const struct vmfs_jtxn *d,
		     uint8_t *blk)
{
	for (uint32_t i = 0; i < d->nrec; i++) {
		int rc = vmfs_dev_read(vol, base + (uint64_t)(i + 2) * VMFS_MD_BLOCK, blk,
				       VMFS_MD_BLOCK);

		if (!rc)
			rc = vmfs_dev_write(vol, d->rec[i].off, blk, d->rec[i].len);
		if (rc)
			return rc;
	}
	return vmfs_dev_flush(vol);
}

static int read_jhdr(struct vmfs_volume *vol, uint32_t slot, struct vmfs_jhdr *jh)
{
	int rc = vmfs_dev_read(vol, journal_off(vol, slot), jh, sizeof(*jh));

	if (rc)
		return rc;
	if (jh->magic != VMFS_MAGIC_JHDR || !vmfs_check_crc(jh, sizeof(*jh)) || jh->slot != slot)
		return vmfs_seterr(vol, -EIO, "journal of slot %u: header at offset %llu is "
				"corrupt",
				   slot, (unsigned long long)journal_off(vol, slot));
	return 0;
}

/*
 * Replay slot's journal if it holds a committed, unapplied, unfenced
 * transaction (apply=false only reports it: *replayed = 1); then, if fence is
 * non-zero, raise the header's fenced_gen to it. gen: header generation.
 */
static int replay(struct vmfs_volume *vol, uint32_t slot, bool apply, uint64_t fence,
		  uint64_t gen, unsigned *replayed)
{
	struct vmfs_jhdr jh;
	struct vmfs_jtxn *d = vmfs_zalloc(vol, sizeof(*d));
	uint8_t *blk = vmfs_zalloc(vol, VMFS_MD_BLOCK);
	uint64_t base = journal_off(vol, slot);
	int rc = (!d || !blk) ? vmfs_seterr(vol, -ENOMEM, "out of memory for journal replay") : 0;

	*replayed = 0;
	memset(&jh, 0, sizeof(jh));
	if (!rc)
		rc = read_jhdr(vol, slot, &jh);
	if (!rc)
		rc = txn_valid(vol, base, d, &jh, blk);
	if (rc == 1) {
		rc = check_records(vol, d, slot);
		*replayed = rc ? 0 : 1;
		if (!rc && apply) {
			rc = apply_log(vol, base, d, blk);
			jh.applied_seq = d->seq;
		}
	}
	if (fence < jh.fenced_gen)
		fence = jh.fenced_gen;
	if (!rc && apply && (*replayed || fence > jh.fenced_gen || (gen && gen != jh.hb_gen))) {
		rc = write_jhdr(vol, slot, jh.applied_seq, gen ? gen : jh.hb_gen, fence);
		if (!rc)
			rc = vmfs_dev_flush(vol);
	}
	if (!rc && slot == vol->slot) {
		vol->seq = jh.applied_seq;
		vol->jfenced = fence;
	}
	vmfs_free(vol, d);
	vmfs_free(vol, blk);
	return rc;
}

int vmfs_journal_replay(struct vmfs_volume *vol, uint32_t slot, bool apply, unsigned *replayed)
{
	return replay(vol, slot, apply, 0, 0, replayed);
}

/* Replay a dead incarnation's journal (inside arb) and fence generations <= gen. */
int vmfs_journal_replay_fence(struct vmfs_volume *vol, uint32_t slot, uint64_t gen,
			      unsigned *replayed)
{
	return replay(vol, slot, true, gen, 0, replayed);
}

/*
 * Mount (inside the arbitration section): make our own journal consistent
 * (replay the last transaction of the slot's previous incarnation), fence
 * every earlier incarnation and stamp the header with our generation, which
 * tells other hosts the previous incarnation's journal is applied.
 */
int vmfs_journal_init(struct vmfs_volume *vol)
{
	unsigned replayed;

	return replay(vol, vol->slot, true, vol->hb_gen - 1, vol->hb_gen, &replayed);
}
