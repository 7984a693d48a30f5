/*
 * Metadata journal: a write-ahead redo log per host (heartbeat slot), with
 * group commit.
 *
 * Every metadata change (cluster bitmaps, file descriptors, pointer blocks,
 * directory blocks) is a transaction (vmfs_txn.c) that ends with full images
 * of the blocks it changed. Committing one appends a record to the log, a
 * ring of the journal's blocks 1 .. journal_blocks-1:
 *
 *   descriptor {seq, nrec, generation, rec[i] = {home offset, len, crc}},
 *   the nrec images, commit record {seq, nrec, total_crc over all of it}
 *
 * in one write, without a flush; the changed blocks become dirty in the
 * metadata cache (vmfs_cache.c), where this host reads them. Publishing
 * them (vmfs_journal_publish: flush, so the log is durable, then write the
 * dirty blocks home - all but cluster headers, which only a holder of the
 * cluster's lock reads; a directory's descriptor after its blocks; the
 * in-use marks of new files first, vmfs_held.c) makes them visible to
 * hosts that read without locks (path walks, readdir, stat): at
 * vmfs_fsync, at checkpoints, and while
 * another host has the volume mounted also at the first commit after 1/64
 * of the lease timeout since the last publication - lockless readers on
 * other hosts see our changes that late at most - so that several
 * transactions share one flush ("group commit"). Anything read under a
 * lock is always current: a lock leaves us only after a checkpoint. A
 * checkpoint also moves the header's tail past what is home (flush, header,
 * flush); checkpoints happen before any lock is given to another host
 * (what it guards must be home and never replayed over that host's
 * changes), when the log or the cache fills up, from housekeeping, and at
 * unmount. A record that does not fit before the ring's end is
 * preceded by a WRAP record and goes to block 1.
 *
 * Ordering rules: a home block is never written before the record holding
 * it is durable (checkpoint flushes first); file data written into newly
 * allocated units is flushed before the record that links them is written,
 * so a durable pointer never names stale data; a transaction that frees
 * units that held directory blocks is checkpointed at once, so the log
 * never holds an image that replay could write over a unit reused for
 * file data.
 *
 * Replay (at mount for our slot's previous incarnations, by another host
 * for a dead one, by fsck --repair) reads records from tail_blk: each must
 * carry the next sequence number, a generation above fenced_gen, a matching
 * commit record and valid checksums; the first that does not ends the log
 * (torn or never written). The images are written home again (idempotent:
 * full images), then the header moves past them.
 *
 * Fencing: another host replays a dead host's journal with
 * vmfs_journal_replay_fence() when it breaks one of its locks (vmfs_lock.c)
 * or recovers it, inside the arbitration section, and raises fenced_gen to
 * the dead generation: a commit of the dead host that was held up in the
 * storage path and lands afterwards is never replayed over what the new lock
 * owner wrote, however late it lands. A host mounting fences its slot's
 * earlier incarnations the same way. Every write here goes through
 * vmfs_dev_write and so checks our lease first. Lock sectors are never
 * journaled: they are written in place (vmfs_lock.c).
 */
#include "vmfs_priv.h"

uint64_t vmfs_journal_off(const struct vmfs_volume *vol, uint32_t slot)
{
	return vol->hdr.journal_off + (uint64_t)slot * vol->hdr.journal_blocks * VMFS_MD_BLOCK;
}

static uint64_t log_off(const struct vmfs_volume *vol, uint32_t slot, uint32_t blk)
{
	return vmfs_journal_off(vol, slot) + (uint64_t)blk * VMFS_MD_BLOCK;
}

/* gen: the incarnation writing (or last writing) the header; fenced: see above. */
static int write_jhdr(struct vmfs_volume *vol, uint32_t slot, uint64_t applied, uint32_t tail,
		      uint64_t gen, uint64_t fenced)
{
	struct vmfs_jhdr *jh = (struct vmfs_jhdr *)vol->bounce;

	memset(jh, 0, sizeof(*jh));
	jh->magic = VMFS_MAGIC_JHDR;
	jh->slot = slot;
	jh->tail_blk = tail;
	jh->applied_seq = applied;
	jh->hb_gen = gen;
	jh->fenced_gen = fenced;
	vmfs_seal(jh, sizeof(*jh));
	return vmfs_dev_write(vol, vmfs_journal_off(vol, slot), jh, sizeof(*jh));
}

/* Lay out descriptor, images and commit record of txn in buf; returns bytes. */
static uint64_t build_log(struct vmfs_txn *txn, uint64_t seq, uint8_t *buf)
{
	struct vmfs_volume *vol = txn->vol;
	struct vmfs_jtxn *d = (struct vmfs_jtxn *)buf;
	struct vmfs_jcommit *c;
	uint32_t n = 0, total;

	memset(d, 0, sizeof(*d));
	for (unsigned i = 0; i < txn->nbuf; i++) {
		struct vmfs_buf *b = &txn->buf[i];
		uint8_t *img = buf + (uint64_t)(n + 1) * VMFS_MD_BLOCK;

		if (!b->dirty)
			continue;
		vmfs_seal(b->data, b->len);
		memcpy(img, b->data, b->len);
		memset(img + b->len, 0, VMFS_MD_BLOCK - b->len);
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
	total = vmfs_crc32c(0, buf, (uint64_t)(n + 1) * VMFS_MD_BLOCK);
	c = (struct vmfs_jcommit *)(buf + (uint64_t)(n + 1) * VMFS_MD_BLOCK);
	memset(c, 0, VMFS_MD_BLOCK);
	c->magic = VMFS_MAGIC_JCMT;
	c->seq = seq;
	c->nrec = n;
	c->total_crc = total;
	vmfs_seal(c, sizeof(*c));
	return (uint64_t)(n + 2) * VMFS_MD_BLOCK;
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

static int append(struct vmfs_txn *txn, uint64_t seq);

/*
 * Write the records of deferred transactions (blocks dirty but unlogged in
 * the cache), after a flush that makes the file data they link durable.
 */
static int log_pending(struct vmfs_volume *vol)
{
	struct vmfs_txn *tmp;
	int rc;

	if (!vol->cache.nunlogged)
		return 0;
	rc = vmfs_dev_flush(vol);	/* the data before the pointers to it */
	tmp = rc ? NULL : vmfs_zalloc(vol, sizeof(*tmp));
	if (!rc && !tmp)
		rc = vmfs_seterr(vol, -ENOMEM, "out of memory for a transaction");
	while (!rc && vol->cache.nunlogged) {
		memset(tmp, 0, sizeof(*tmp));
		tmp->vol = vol;
		if (!vmfs_cache_collect_unlogged(vol, tmp, VMFS_TXN_MAX_REC - VMFS_TXN_MARGIN))
			rc = vmfs_seterr(vol, -EIO, "internal: unlogged blocks not found");
		if (!rc)
			rc = append(tmp, vol->jseq + 1);
		for (unsigned i = 0; i < tmp->nbuf; i++)
			vmfs_free(vol, tmp->buf[i].data);
	}
	vmfs_free(vol, tmp);
	if (rc)
		vol->failed = true;
	return rc;
}

/* Everything committed durable: deferred records written, then one flush. */
int vmfs_journal_flush(struct vmfs_volume *vol)
{
	int rc = log_pending(vol);

	if (!rc)
		rc = vmfs_dev_flush(vol);
	if (!rc)
		vol->jdurable = vol->jseq;
	return rc;
}

/* Before file data goes into a unit just allocated: frees of data units must be durable. */
int vmfs_journal_before_reuse(struct vmfs_volume *vol)
{
	return vol->free_seq > vol->jdurable ? vmfs_journal_flush(vol) : 0;
}

/*
 * Make every commit durable and write what it changed home, so that hosts
 * reading without locks see it: everything but cluster headers, which
 * only a holder of the cluster's lock reads (it gets the lock after our
 * checkpoint, or replays our journal first). all: cluster headers too.
 */
static int publish(struct vmfs_volume *vol, bool all)
{
	int rc;

	if (vol->rdonly || vol->failed || !vol->jbase)
		return 0;
	vol->published_at = vmfs_mono(vol);
	rc = vmfs_held_before_publish(vol);
	if (!rc)
		rc = vol->jdurable == vol->jseq && !vol->cache.nunlogged ? 0 :
		     vmfs_journal_flush(vol);
	if (!rc && vol->cache.ndirty) {
		rc = vmfs_cache_writeback(vol, all);
		vol->home_unflushed = true;
	}
	if (rc)
		vol->failed = true;	/* replay at the next mount finishes the job */
	return rc;
}

int vmfs_journal_publish(struct vmfs_volume *vol)
{
	return publish(vol, false);
}

/*
 * Write everything committed but not yet home, and move the log's tail past
 * it. Before this returns nothing of ours is only in the log.
 */
int vmfs_journal_checkpoint(struct vmfs_volume *vol)
{
	int rc;

	if (vol->rdonly || vol->failed || (vol->jseq == vol->seq && !vol->cache.nunlogged) ||
	    !vol->jbase)
		return vol->failed ? vmfs_seterr(vol, -EIO, "an earlier metadata write failed: "
						 "unmount and mount again to replay the journal") : 0;
	rc = publish(vol, true);
	if (!rc && vol->home_unflushed)		/* home durable before the tail moves */
		rc = vmfs_dev_flush(vol);
	vol->home_unflushed = false;
	if (!rc)
		rc = write_jhdr(vol, vol->slot, vol->jseq, vol->jhead, vol->hb_gen, vol->jfenced);
	if (!rc)
		rc = vmfs_dev_flush(vol);
	if (rc) {
		vol->failed = true;	/* replay at the next mount finishes the job */
		return rc;
	}
	vol->seq = vol->jseq;
	vol->jused = 0;
	return 0;
}

/* Make room for a record of need blocks at the head (writing a WRAP record if it wraps). */
static int reserve(struct vmfs_volume *vol, uint32_t need, uint64_t seq)
{
	uint32_t n = vol->hdr.journal_blocks, ring = n - 1;
	bool wrap = vol->jhead + need > n;
	uint32_t waste = wrap ? n - vol->jhead : 0;
	int rc = 0;

	if (need + 1 > ring)
		return vmfs_seterr(vol, -E2BIG, "transaction of %u blocks does not fit the %u-block "
				   "journal", need, n);
	if (vol->jused + waste + need + 1 > ring) {
		rc = vmfs_journal_checkpoint(vol);
		wrap = vol->jhead + need > n;
		waste = wrap ? n - vol->jhead : 0;
	}
	if (rc || !wrap)
		return rc;
	if (vol->jhead < n) {
		struct vmfs_jtxn *d = vol->env.alloc(vol->env.ctx, sizeof(*d));

		if (!d)
			return vmfs_seterr(vol, -ENOMEM, "out of memory for the journal");
		memset(d, 0, sizeof(*d));
		d->magic = VMFS_MAGIC_JTXN;
		d->seq = seq;
		d->flags = VMFS_JTXN_WRAP;
		d->hb_gen = vol->hb_gen;
		vmfs_seal(d, sizeof(*d));
		rc = vmfs_dev_write(vol, log_off(vol, vol->slot, vol->jhead), d, sizeof(*d));
		vmfs_free(vol, d);
	}
	vol->jused += waste;
	vol->jhead = 1;
	return rc;
}

/* Append txn's record to the log; its blocks become dirty in the cache. */
static int append(struct vmfs_txn *txn, uint64_t seq)
{
	struct vmfs_volume *vol = txn->vol;
	uint32_t need = txn->ndirty + 2;
	uint8_t *buf;
	int rc = reserve(vol, need, seq);

	if (rc)
		return rc;
	buf = vol->env.alloc(vol->env.ctx, (uint64_t)need * VMFS_MD_BLOCK);
	if (!buf)
		return vmfs_seterr(vol, -ENOMEM, "out of memory for the journal");
	build_log(txn, seq, buf);
	rc = vmfs_dev_write(vol, log_off(vol, vol->slot, vol->jhead), buf,
			    (uint64_t)need * VMFS_MD_BLOCK);
	vmfs_free(vol, buf);
	if (rc)
		return rc;
	vol->jhead += need;
	vol->jused += need;
	vol->jseq = seq;
	for (unsigned i = 0; !rc && i < txn->nbuf; i++) {
		struct vmfs_buf *b = &txn->buf[i];

		if (b->dirty)
			rc = vmfs_cache_put(vol, b->off, b->len, b->guard, b->data, VMFS_CB_DIRTY);
	}
	return rc;
}

/*
 * A transaction that only links new file data (a write, an eager extend)
 * while we are alone on the volume: its blocks become dirty but unlogged,
 * and its record is written at the next flush point (log_pending), after
 * one flush that covers all the data linked meanwhile. Its changes are lost
 * if the host dies before that, like unsynced data. One that frees units
 * never waits (freed units must not be reused before the free is durable).
 */
static int defer(struct vmfs_txn *txn)
{
	struct vmfs_volume *vol = txn->vol;
	int rc = 0;

	for (unsigned i = 0; !rc && i < txn->nbuf; i++) {
		struct vmfs_buf *b = &txn->buf[i];

		if (b->dirty) {
			vmfs_seal(b->data, b->len);
			rc = vmfs_cache_put(vol, b->off, b->len, b->guard, b->data,
					    VMFS_CB_UNLOGGED);
		}
	}
	if (!rc && vol->cache.nunlogged > 128)
		rc = log_pending(vol);
	vmfs_txn_end(txn);
	return rc;
}

int vmfs_txn_commit(struct vmfs_txn *txn)
{
	struct vmfs_volume *vol = txn->vol;
	bool deferrable = txn->data_written && !txn->nfree && !txn->frees_units &&
			  !txn->ckpt_after;
	int rc = apply_frees(txn);

	__atomic_fetch_add(&vol->wseq, 1, __ATOMIC_RELAXED);

	if (!rc && txn->ndirty > VMFS_TXN_MAX_REC)
		rc = vmfs_seterr(vol, -E2BIG, "transaction changes %u metadata blocks (max %u)",
				 txn->ndirty, VMFS_TXN_MAX_REC);
	if (rc || !txn->ndirty) {
		vmfs_txn_end(txn);
		return rc;
	}
	if (deferrable && vmfs_alone(vol))
		return defer(txn);
	rc = log_pending(vol);
	if (!rc && txn->data_written)	/* the data before the pointers to it */
		rc = vmfs_dev_flush(vol);
	if (!rc)
		rc = append(txn, vol->jseq + 1);
	if (!rc && txn->frees_units)
		vol->free_seq = vol->jseq;
	if (rc) {
		/* the log may hold it anyway: keep the locks until a replay */
		vol->failed = true;
		vmfs_txn_end(txn);
		return rc;
	}
	if (txn->ckpt_after || vmfs_cache_full(vol))
		rc = vmfs_journal_checkpoint(vol);
	else if (vmfs_mono(vol) - vol->published_at > vol->lease_ns / 64 && !vmfs_alone(vol))
		rc = vmfs_journal_publish(vol);
	vmfs_txn_end(txn);
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
					   "range %llu+%u", slot, i, (unsigned long long)r->off,
					   r->len);
	}
	return 0;
}

struct replay_pos {
	uint32_t slot, blk;
	uint64_t expect, fenced;
};

/*
 * The record at p->blk: 1 if it is the next complete, unfenced transaction
 * (in *d, its blocks in *recbuf), 2 if it is a WRAP record for it, 0 if the
 * log ends there, <0 on an I/O error.
 */
static int read_record(struct vmfs_volume *vol, const struct replay_pos *p, struct vmfs_jtxn *d,
		       uint8_t **recbuf)
{
	uint32_t n = vol->hdr.journal_blocks, total;
	struct vmfs_jcommit *c;
	uint8_t *buf;
	int rc = vmfs_dev_read(vol, log_off(vol, p->slot, p->blk), d, sizeof(*d));

	if (rc)
		return rc;
	if (d->magic != VMFS_MAGIC_JTXN || !vmfs_check_crc(d, sizeof(*d)) || d->seq != p->expect ||
	    d->hb_gen <= p->fenced || d->nrec > VMFS_TXN_MAX_REC)
		return 0;
	if (d->flags & VMFS_JTXN_WRAP)
		return d->nrec ? 0 : 2;
	if (p->blk + d->nrec + 2 > n)
		return 0;
	buf = vol->env.alloc(vol->env.ctx, (uint64_t)(d->nrec + 1) * VMFS_MD_BLOCK);
	if (!buf)
		return vmfs_seterr(vol, -ENOMEM, "out of memory for journal replay");
	rc = vmfs_dev_read(vol, log_off(vol, p->slot, p->blk + 1), buf,
			   (uint64_t)(d->nrec + 1) * VMFS_MD_BLOCK);
	total = vmfs_crc32c(0, d, sizeof(*d));
	for (uint32_t i = 0; !rc && i < d->nrec; i++) {
		uint8_t *img = buf + (uint64_t)i * VMFS_MD_BLOCK;

		if (vmfs_crc32c(0, img, VMFS_MD_BLOCK) != d->rec[i].data_crc)
			rc = 1;
		total = vmfs_crc32c(total, img, VMFS_MD_BLOCK);
	}
	c = (struct vmfs_jcommit *)(buf + (uint64_t)d->nrec * VMFS_MD_BLOCK);
	if (!rc && (c->magic != VMFS_MAGIC_JCMT || !vmfs_check_crc(c, sizeof(*c)) ||
		    c->seq != p->expect || c->nrec != d->nrec || c->total_crc != total))
		rc = 1;
	if (rc) {
		vmfs_free(vol, buf);
		return rc < 0 ? rc : 0;
	}
	*recbuf = buf;
	return 1;
}

/* Write a record's images home; directory descriptors last (vmfs_cache_peek_begin). */
static int apply_record(struct vmfs_volume *vol, const struct vmfs_jtxn *d, const uint8_t *buf)
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < d->nrec; i++) {
			const uint8_t *img = buf + (uint64_t)i * VMFS_MD_BLOCK;
			int rc;

			if (vmfs_dirfd_block(img, d->rec[i].len) != (pass == 1))
				continue;
			rc = vmfs_dev_write(vol, d->rec[i].off, img, d->rec[i].len);
			if (rc)
				return rc;
			vmfs_cache_forget(vol, d->rec[i].off, d->rec[i].len);
		}
	}
	return 0;
}

/* Walk (and apply) the log from the tail; *count transactions, p ends after the last. */
static int walk_log(struct vmfs_volume *vol, struct replay_pos *p, bool apply, unsigned *count)
{
	struct vmfs_jtxn *d = vmfs_zalloc(vol, sizeof(*d));
	uint32_t n = vol->hdr.journal_blocks;
	int rc = d ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory for journal replay");
	bool wrapped = false;

	for (uint32_t steps = 0; !rc && steps < n; steps++) {
		uint8_t *buf = NULL;

		if (p->blk < 1 || p->blk >= n)
			p->blk = 1;
		rc = read_record(vol, p, d, &buf);
		if (rc == 2 && !wrapped) {
			wrapped = true;
			p->blk = 1;
			rc = 0;
			continue;
		}
		if (rc != 1) {
			rc = rc == 2 ? 0 : rc;
			break;
		}
		rc = check_records(vol, d, p->slot);
		if (!rc && apply)
			rc = apply_record(vol, d, buf);
		vmfs_free(vol, buf);
		if (rc)
			break;
		(*count)++;
		p->expect++;
		p->blk += d->nrec + 2;
		wrapped = false;
	}
	vmfs_free(vol, d);
	return rc;
}

static int read_jhdr(struct vmfs_volume *vol, uint32_t slot, struct vmfs_jhdr *jh)
{
	int rc = vmfs_dev_read(vol, vmfs_journal_off(vol, slot), jh, sizeof(*jh));

	if (rc)
		return rc;
	if (jh->magic != VMFS_MAGIC_JHDR || !vmfs_check_crc(jh, sizeof(*jh)) || jh->slot != slot)
		return vmfs_seterr(vol, -EIO, "journal of slot %u: header at offset %llu is "
				   "corrupt", slot, (unsigned long long)vmfs_journal_off(vol, slot));
	return 0;
}

/*
 * Replay slot's journal: every committed, unapplied, unfenced transaction
 * (apply=false only counts them in *replayed); then, if fence is above the
 * header's fenced_gen, raise it. gen: header generation (0: keep).
 */
static int replay(struct vmfs_volume *vol, uint32_t slot, bool apply, uint64_t fence,
		  uint64_t gen, unsigned *replayed)
{
	struct replay_pos p = { .slot = slot };
	struct vmfs_jhdr jh;
	int rc = read_jhdr(vol, slot, &jh);

	*replayed = 0;
	if (rc)
		return rc;
	p.blk = jh.tail_blk;
	p.expect = jh.applied_seq + 1;
	p.fenced = jh.fenced_gen;
	rc = walk_log(vol, &p, apply, replayed);
	if (p.blk < 1 || p.blk >= vol->hdr.journal_blocks)
		p.blk = 1;
	if (fence < jh.fenced_gen)
		fence = jh.fenced_gen;
	if (!rc && apply && (*replayed || fence > jh.fenced_gen || (gen && gen != jh.hb_gen))) {
		rc = vmfs_dev_flush(vol);
		if (!rc)
			rc = write_jhdr(vol, slot, p.expect - 1, p.blk, gen ? gen : jh.hb_gen, fence);
		if (!rc)
			rc = vmfs_dev_flush(vol);
	}
	if (!rc && slot == vol->slot) {
		vol->seq = vol->jseq = vol->jdurable = p.expect - 1;
		vol->jhead = p.blk;
		vol->jused = 0;
		vol->jfenced = fence;
	}
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
 * (replay what the slot's previous incarnations committed), fence every
 * earlier incarnation and stamp the header with our generation, which tells
 * other hosts the previous incarnation's journal is applied.
 */
int vmfs_journal_init(struct vmfs_volume *vol)
{
	unsigned replayed;

	return replay(vol, vol->slot, true, vol->hb_gen - 1, vol->hb_gen, &replayed);
}
