/*
 * On-disk lock records.
 *
 * A lock record is one sector (the first sector of every cluster-header block
 * and every file-descriptor block). Owner = holders[] entries of (heartbeat
 * slot, generation); EXCL has one holder, RO and MW up to 16. A record is
 * changed only by a single-sector write of a complete new record whose
 * version is the old version + 1, and only inside the volume's arbitration
 * section (vmfs_paxos.c: Disk Paxos, or ATS), so a read-modify-write of a
 * record never races with another host's. With ATS the write is also a
 * compare-and-swap against the sector as read, and a take that judges no
 * other holder, or a leave, skips the section (see ats() below): a writer
 * inside the section then sees its swap miscompare and reads again.
 *
 * Contention: a holder that conflicts is judged by its heartbeat
 * (vmfs_holder_state). Alive: wait (directory and cluster locks, held for
 * one operation) or fail with -EBUSY (file opens, as VMware does). Gone (its
 * incarnation ended cleanly, or a restart replayed its journal): drop it. Dead (no renewal for
 * a lease): replay its journal, still inside the arbitration section, then
 * drop it - "breaking" the lock. The replay comes first because the dead
 * host may have committed a transaction touching what the lock protects
 * without having written it home.
 *
 * Multi-writer files: the MW holders share the data, but a change of the
 * descriptor or its pointer blocks (allocating a hole, growing the size,
 * truncating, times) would be lost if two hosts made it from their own copy.
 * The record's meta field is an exclusive sub-lock for that: a holder takes
 * it around each such transaction (vmfs_meta_lock), with the same rules of
 * waiting, breaking and replay as the lock itself.
 *
 * Lock records are never journaled: a lock is taken before the metadata it
 * protects is read and released after that metadata's transaction is home.
 * They are not flushed either: the transaction that first changes what a
 * lock protects flushes (commit step 1) before writing anything home.
 */
#include "vmfs_priv.h"

#define LOCK_CAS_TRIES 8

static const char *mode_name(uint32_t mode)
{
	static const char *const n[] = { "free", "exclusive", "read-only", "multi-writer" };

	return mode < 4 ? n[mode] : "invalid";
}

int vmfs_lock_read(struct vmfs_volume *vol, uint64_t off, struct vmfs_lockrec *out)
{
	int rc = vmfs_dev_read(vol, off, out, sizeof(*out));

	if (rc)
		return rc;
	if (vmfs_is_zero(out, sizeof(*out)))
		return 0;	/* never used: free */
	if (out->magic != VMFS_MAGIC_LOCK || !vmfs_check_crc(out, sizeof(*out)) ||
	    out->self_off != off || out->mode > VMFS_LOCK_MW ||
	    out->nholders > VMFS_LOCK_MAX_HOLDERS ||
	    (out->mode == VMFS_LOCK_FREE) != (out->nholders == 0))
		return vmfs_seterr(vol, -EIO, "lock record at offset %llu is corrupt",
				   (unsigned long long)off);
	return 0;
}

/* Write a new version of a lock record (inside the arbitration section). */
static int lock_write(struct vmfs_volume *vol, uint64_t off, const struct vmfs_lockrec *old,
		      struct vmfs_lockrec *new_rec)
{
	struct blockdev *dev = vol->dev;
	int rc;

	new_rec->magic = VMFS_MAGIC_LOCK;
	new_rec->self_off = off;
	new_rec->version = old->version + 1;
	new_rec->stamp_ns = vmfs_now(vol);
	vmfs_seal(new_rec, sizeof(*new_rec));
	if (vol->rdonly)
		return vmfs_seterr(vol, -EPERM, "volume is mounted read-only");
	if (!dev->ops->compare_and_write)
		return vmfs_dev_write(vol, off, new_rec, sizeof(*new_rec));
	rc = vmfs_lease_check(vol);
	if (!rc)
		rc = dev->ops->compare_and_write(dev, off / VMFS_SECTOR, old, new_rec);
	if (rc && rc != -EAGAIN)
		return vmfs_seterr(vol, rc, "writing lock record at offset %llu failed (%d)",
				   (unsigned long long)off, rc);
	return rc;
}

static void meta_clear(struct vmfs_lockrec *r)
{
	r->meta_held = 0;
	memset(&r->meta, 0, sizeof(r->meta));
	memset(&r->meta_want, 0, sizeof(r->meta_want));
}

/* Drop holders that are earlier incarnations of our own slot (we crashed). */
static void drop_stale(const struct vmfs_volume *vol, struct vmfs_lockrec *r)
{
	uint32_t j = 0;

	if (r->meta_held && r->meta.slot == vol->slot && r->meta.hb_gen != vol->hb_gen)
		meta_clear(r);
	for (uint32_t i = 0; i < r->nholders; i++) {
		const struct vmfs_lockholder *h = &r->holders[i];

		if (h->slot == vol->slot && h->hb_gen != vol->hb_gen)
			continue;
		r->holders[j++] = *h;
	}
	memset(&r->holders[j], 0, sizeof(r->holders[0]) * (VMFS_LOCK_MAX_HOLDERS - j));
	r->nholders = j;
	if (!j)
		r->mode = VMFS_LOCK_FREE;
}

static bool held_by_us(const struct vmfs_volume *vol, const struct vmfs_lockrec *r)
{
	for (uint32_t i = 0; i < r->nholders; i++)
		if (r->holders[i].slot == vol->slot && r->holders[i].hb_gen == vol->hb_gen)
			return true;
	return false;
}

/*
 * Judge every holder of a conflicting record: drop gone ones, replay and drop
 * dead ones. *busy: a holder still counts; *alive: one was seen renewing.
 */
static int judge_holders(struct vmfs_volume *vol, struct vmfs_lockrec *r, bool *busy,
			 bool *alive, uint32_t *who)
{
	uint32_t j = 0;

	*busy = *alive = false;
	for (uint32_t i = 0; i < r->nholders; i++) {
		struct vmfs_lockholder h = r->holders[i];
		enum vmfs_holder st;
		int rc = vmfs_holder_state(vol, h.slot, h.hb_gen, &st);

		if (!rc && st == VMFS_HOLDER_DEAD)
			rc = vmfs_replay_dead(vol, h.slot, h.hb_gen);
		if (rc)
			return rc;
		if (st == VMFS_HOLDER_DEAD || st == VMFS_HOLDER_GONE)
			continue;
		if (st != VMFS_HOLDER_SELF) {	/* alive, unknown, or pending replay */
			*busy = true;
			*alive |= st == VMFS_HOLDER_ALIVE;
			*who = i;
		}
		r->holders[j++] = h;
	}
	memset(&r->holders[j], 0, sizeof(r->holders[0]) * (VMFS_LOCK_MAX_HOLDERS - j));
	r->nholders = j;
	if (!j) {
		r->mode = VMFS_LOCK_FREE;
		meta_clear(r);
	}
	if (r->meta_held) {	/* the sub-lock's holder was dropped with the others */
		bool kept = false;

		for (uint32_t i = 0; i < j; i++)
			kept |= r->holders[i].slot == r->meta.slot &&
				r->holders[i].hb_gen == r->meta.hb_gen;
		if (!kept)
			meta_clear(r);
	}
	return 0;
}

static int busy_err(struct vmfs_volume *vol, const struct vmfs_lockrec *old, uint32_t who,
		    bool alive, const char *what)
{
	return vmfs_seterr(vol, -EBUSY, "%s is locked %s by host slot %u generation %llu (%s)",
			   what, mode_name(old->mode), old->holders[who].slot,
			   (unsigned long long)old->holders[who].hb_gen,
			   alive ? "alive" : "lease not yet expired");
}

/*
 * With ATS every lock record changes only by a compare-and-swap against its
 * exact previous image, so a take that needs no judgement of other holders
 * (the record is free, or shared in our mode) and a leave are done without
 * the arbitration section: one read and one COMPARE AND WRITE. A record
 * changed by anyone in between makes the swap miscompare, and the attempt is
 * repeated inside the section. Judging holders (replaying a dead one's
 * journal) stays inside it, which serialises replays.
 */
static bool ats(const struct vmfs_volume *vol)
{
	return vol->dev->ops->compare_and_write != NULL;
}

/*
 * One attempt inside the arbitration section (fast: without it, on an ATS
 * device; returns 1 when the attempt needs the section). On success the
 * lock joins our table of held locks (vmfs_held.c) with no user yet; on
 * -EBUSY *bi says who holds it, whether that host was seen alive and
 * whether it keeps the lock unused (and so gives it back when asked).
 */
static int lock_try(struct vmfs_volume *vol, uint64_t off, uint32_t mode, uint8_t kind,
		    bool idle, const char *what, struct vmfs_busy *bi, bool fast)
{
	struct vmfs_lockrec old, rec;
	bool busy = false, alive = false;
	uint32_t who = 0;
	int rc = vmfs_lock_read(vol, off, &old);

	memset(bi, 0, sizeof(*bi));
	if (rc)
		return vmfs_prefix_err(vol, rc, what);
	rec = old;
	drop_stale(vol, &rec);
	if (held_by_us(vol, &rec) && rec.mode == mode)
		return vmfs_held_add(vol, off, mode, kind, &old) ? 0 :
			vmfs_seterr(vol, -ENOMEM, "out of memory");
	if (rec.nholders && !(rec.mode == mode && mode != VMFS_LOCK_EXCL)) {
		if (fast)
			return 1;
		rc = judge_holders(vol, &rec, &busy, &alive, &who);
		if (rc)
			return rc;
		if (busy) {
			struct vmfs_lockholder h = rec.holders[who];

			bi->alive = alive;
			bi->idle = rec.mode == VMFS_LOCK_EXCL && old.idle;
			bi->slot = h.slot;
			bi->gen = h.hb_gen;
			old.mode = rec.mode;
			old.holders[0] = h;
			return busy_err(vol, &old, 0, alive, what);
		}
	}
	if (rec.nholders == VMFS_LOCK_MAX_HOLDERS)
		return vmfs_seterr(vol, -EBUSY, "%s: too many shared holders", what);
	rec.mode = mode;
	rec.idle = mode == VMFS_LOCK_EXCL && idle;
	rec.holders[rec.nholders].slot = (uint16_t)vol->slot;
	rec.holders[rec.nholders].hb_gen = vol->hb_gen;
	rec.nholders++;
	rc = lock_write(vol, off, &old, &rec);
	if (fast && rc == -EAGAIN)
		return 1;
	if (!rc && !vmfs_held_add(vol, off, mode, kind, &rec))
		rc = vmfs_seterr(vol, -ENOMEM, "out of memory");
	return rc;
}

int vmfs_lock_try_once(struct vmfs_volume *vol, uint64_t off, uint32_t mode, uint8_t kind,
		       bool idle, const char *what, struct vmfs_busy *bi)
{
	int rc, r;

	if (ats(vol)) {
		rc = lock_try(vol, off, mode, kind, idle, what, bi, true);
		if (rc != 1)
			return rc;
	}
	rc = vmfs_arb_acquire(vol);
	if (rc)
		return rc;
	rc = lock_try(vol, off, mode, kind, idle, what, bi, false);
	r = vmfs_arb_release(vol);
	return rc ? rc : r;
}

/*
 * Write a new version of a record we hold exclusively (mark it idle, or
 * free it). No arbitration is needed: while we hold the lock and renew our
 * lease nobody else writes the record (takers and breakers act only on
 * free records or dead holders). With ATS it is compared with what we last
 * wrote.
 */
int vmfs_lock_write_own(struct vmfs_volume *vol, uint64_t off, const struct vmfs_lockrec *old,
			struct vmfs_lockrec *new_rec)
{
	return lock_write(vol, off, old, new_rec);
}

static int unlock_try(struct vmfs_volume *vol, uint64_t off, const char *what)
{
	struct vmfs_lockrec old, rec;
	uint32_t j = 0;
	int rc = vmfs_lock_read(vol, off, &old);

	if (rc)
		return vmfs_prefix_err(vol, rc, what);
	rec = old;
	for (uint32_t i = 0; i < rec.nholders; i++) {
		const struct vmfs_lockholder *h = &rec.holders[i];

		if (h->slot == vol->slot)	/* ours, current or stale */
			continue;
		rec.holders[j++] = *h;
	}
	if (j == old.nholders)
		return 0;	/* not held by us: nothing to do */
	memset(&rec.holders[j], 0, sizeof(rec.holders[0]) * (VMFS_LOCK_MAX_HOLDERS - j));
	rec.nholders = j;
	if (rec.meta_held && rec.meta.slot == vol->slot)
		meta_clear(&rec);
	if (!j) {
		rec.mode = VMFS_LOCK_FREE;
		meta_clear(&rec);
	}
	return lock_write(vol, off, &old, &rec);
}

/* Leave a record (any mode) by read-modify-write: with ATS first without the section. */
int vmfs_lock_leave(struct vmfs_volume *vol, uint64_t off, const char *what)
{
	int rc = ats(vol) ? unlock_try(vol, off, what) : -EAGAIN, r;

	for (int i = 0; i < LOCK_CAS_TRIES && rc == -EAGAIN; i++) {
		rc = vmfs_arb_acquire(vol);
		if (rc)
			return rc;
		rc = unlock_try(vol, off, what);
		r = vmfs_arb_release(vol);
		if (!rc)
			rc = r;
	}
	return rc == -EAGAIN ? vmfs_seterr(vol, -EBUSY, "%s: lock record keeps "
			"changing", what) : rc;
}

/* Remove holders of (slot, generation <= gen) - a recovered dead host. Caller holds arb. */
static int scrub_try(struct vmfs_volume *vol, uint64_t off, uint32_t slot, uint64_t gen,
		     bool *changed)
{
	struct vmfs_lockrec old, rec;
	uint32_t j = 0;
	int rc = vmfs_lock_read(vol, off, &old);

	*changed = false;
	if (rc)
		return rc;
	rec = old;
	for (uint32_t i = 0; i < rec.nholders; i++)
		if (rec.holders[i].slot != slot || rec.holders[i].hb_gen > gen)
			rec.holders[j++] = rec.holders[i];
	if (rec.meta_held && rec.meta.slot == slot && rec.meta.hb_gen <= gen)
		meta_clear(&rec);
	else if (j == old.nholders)
		return 0;
	memset(&rec.holders[j], 0, sizeof(rec.holders[0]) * (VMFS_LOCK_MAX_HOLDERS - j));
	rec.nholders = j;
	if (!j) {
		rec.mode = VMFS_LOCK_FREE;
		meta_clear(&rec);
	}
	*changed = true;
	return lock_write(vol, off, &old, &rec);
}

/*
 * With ATS a shared record may gain a holder outside the arbitration
 * section (lock_try's fast path) between our read and our swap: read again.
 */
int vmfs_lock_scrub(struct vmfs_volume *vol, uint64_t off, uint32_t slot, uint64_t gen,
		    bool *changed)
{
	int rc = -EAGAIN;

	for (int i = 0; i < LOCK_CAS_TRIES && rc == -EAGAIN; i++)
		rc = scrub_try(vol, off, slot, gen, changed);
	return rc == -EAGAIN ? vmfs_seterr(vol, -EBUSY, "lock record at offset %llu keeps "
					   "changing", (unsigned long long)off) : rc;
}

/* ---- the metadata sub-lock of multi-writer files ---- */

/* One attempt inside the arbitration section. */
static int meta_try(struct vmfs_volume *vol, uint64_t off, bool take, bool *alive)
{
	struct vmfs_lockrec old, rec;
	enum vmfs_holder st = VMFS_HOLDER_GONE;
	int rc = vmfs_lock_read(vol, off, &old);

	*alive = false;
	if (rc)
		return rc;
	rec = old;
	drop_stale(vol, &rec);
	if (!take) {
		if (!rec.meta_held || rec.meta.slot != vol->slot)
			return memcmp(&rec, &old, sizeof(rec)) ? lock_write(vol, off, &old, &rec) : 0;
		if (rec.meta_want.pad2) {	/* hand it to the host waiting for it */
			rec.meta = rec.meta_want;
			rec.meta.pad2 = 0;
			memset(&rec.meta_want, 0, sizeof(rec.meta_want));
		} else {
			meta_clear(&rec);
		}
		return lock_write(vol, off, &old, &rec);
	}
	if (rec.mode != VMFS_LOCK_MW || !held_by_us(vol, &rec))
		return vmfs_seterr(vol, -EIO, "multi-writer lock at offset %llu is no longer held "
				   "by this host", (unsigned long long)off);
	if (rec.meta_held && rec.meta.slot == vol->slot && rec.meta.hb_gen == vol->hb_gen)
		return 0;
	if (rec.meta_held) {
		rc = vmfs_holder_state(vol, rec.meta.slot, rec.meta.hb_gen, &st);
		if (!rc && st == VMFS_HOLDER_DEAD)
			rc = vmfs_replay_dead(vol, rec.meta.slot, rec.meta.hb_gen);
		if (rc)
			return rc;
	}
	if (st != VMFS_HOLDER_DEAD && st != VMFS_HOLDER_GONE && st != VMFS_HOLDER_SELF) {
		*alive = st == VMFS_HOLDER_ALIVE;
		rc = vmfs_seterr(vol, -EBUSY, "metadata of a multi-writer file is being changed "
				 "by host slot %u generation %llu", rec.meta.slot,
				 (unsigned long long)rec.meta.hb_gen);
		if (rec.meta_want.pad2)		/* someone waits already: let them go first */
			return rc;
		rec.meta_want.slot = (uint16_t)vol->slot;
		rec.meta_want.hb_gen = vol->hb_gen;
		rec.meta_want.pad2 = vol->slot + 1;
		return lock_write(vol, off, &old, &rec) ?: rc;
	}
	rec.meta_held = 1;
	rec.meta.slot = (uint16_t)vol->slot;
	rec.meta.hb_gen = vol->hb_gen;
	if (rec.meta_want.slot == vol->slot && rec.meta_want.pad2)
		memset(&rec.meta_want, 0, sizeof(rec.meta_want));
	return lock_write(vol, off, &old, &rec);
}

static int meta_locked_try(struct vmfs_volume *vol, uint64_t off, bool take, bool *alive)
{
	int rc = vmfs_arb_acquire(vol), r;

	if (rc)
		return rc;
	rc = meta_try(vol, off, take, alive);
	r = vmfs_arb_release(vol);
	return rc ? rc : r;
}

int vmfs_meta_lock(struct vmfs_volume *vol, uint64_t off)
{
	uint64_t start = vmfs_mono(vol);
	unsigned backoff = 1, cas = 0;
	bool alive;
	int rc;

	for (;;) {
		rc = meta_locked_try(vol, off, true, &alive);
		if (rc == -EAGAIN && ++cas < LOCK_CAS_TRIES)
			continue;
		if (rc != -EBUSY || vmfs_mono(vol) - start > vol->lease_ns * 8)
			return rc;
		rc = vmfs_lease_check(vol);
		if (rc)
			return rc;
		vmfs_backoff(vol, backoff);
		if (backoff < 8)
			backoff *= 2;
	}
}

int vmfs_meta_unlock(struct vmfs_volume *vol, uint64_t off)
{
	char saved[sizeof(vol->err)];
	bool alive;
	int rc = -EAGAIN;

	memcpy(saved, vol->err, sizeof(saved));
	rc = vmfs_journal_checkpoint(vol);	/* what the sub-lock guards goes home first */
	if (rc)
		return rc;
	rc = -EAGAIN;
	for (int i = 0; i < LOCK_CAS_TRIES && rc == -EAGAIN; i++)
		rc = meta_locked_try(vol, off, false, &alive);
	memcpy(vol->err, saved, sizeof(saved));
	return rc;
}
