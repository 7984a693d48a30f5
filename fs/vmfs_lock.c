/*
 * On-disk locks and heartbeats (single-host part; part 2 adds contention).
 *
 * Heartbeat: a mounted host owns one sector in the heartbeat region. Claiming
 * it bumps the slot's generation; (slot, generation) is the host's identity as
 * a lock owner, so locks left by an earlier incarnation of the same slot are
 * recognisably stale. Part 2 renews `counter` every lease_timeout/4 and claims
 * slots with the delta-lease protocol (read, wait a lease timeout, write,
 * wait, re-read) instead of the direct claim below.
 *
 * Lock records: one sector each (the first sector of every cluster-header
 * block and every file-descriptor block). Owner = holders[] entries of
 * (heartbeat slot, generation); EXCL has one holder, RO and MW up to 16.
 * A record is changed only by a single-sector write of a complete new record
 * whose version is the old version + 1. With ATS (compare_and_write) the write
 * is a compare-and-swap against the sector as read, so two hosts racing for
 * the same record cannot both win. Without ATS part 2 must first take the
 * volume's arbitration lease (Disk Paxos over the arbitration region) around
 * the read-modify-write; see lock_write().
 *
 * Lock records are never journaled: a lock is taken before the metadata it
 * protects is read and released after that metadata's transaction is home.
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

/*
 * Write a new version of a lock record. With ATS the old image is the compare
 * value; -EAGAIN means another host changed it first and the caller re-reads.
 * Part 2: without ATS, hold the arbitration lease around this write.
 */
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
	if (dev->ops->compare_and_write)
		rc = dev->ops->compare_and_write(dev, off / VMFS_SECTOR, old, new_rec);
	else
		rc = vmfs_raw_write(dev, off, new_rec, sizeof(*new_rec));
	if (rc && rc != -EAGAIN)
		return vmfs_seterr(vol, rc, "writing lock record at offset %llu failed (%d)",
				   (unsigned long long)off, rc);
	return rc;
}

/* Drop holders that are earlier incarnations of our own slot (we crashed). */
static void drop_stale(const struct vmfs_volume *vol, struct vmfs_lockrec *r)
{
	uint32_t j = 0;

	for (uint32_t i = 0; i < r->nholders; i++) {
		const struct vmfs_lockholder *h = &r->holders[i];

		if (h->slot == vol->slot && h->hb_gen != vol->hb_gen)
			continue;
		r->holders[j++] = *h;
	}
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

static int lock_try(struct vmfs_volume *vol, uint64_t off, uint32_t mode, const char *what)
{
	struct vmfs_lockrec old, rec;
	int rc = vmfs_lock_read(vol, off, &old);

	if (rc)
		return vmfs_prefix_err(vol, rc, what);
	rec = old;
	drop_stale(vol, &rec);
	if (held_by_us(vol, &rec) && rec.mode == mode)
		return 0;
	if (rec.nholders && !(rec.mode == mode && mode != VMFS_LOCK_EXCL)) {
		/* Part 2: if the holder's heartbeat has expired, break the lock here. */
		return vmfs_seterr(vol, -EBUSY, "%s is locked %s by host slot %u generation %llu",
				   what, mode_name(rec.mode), rec.holders[0].slot,
				   (unsigned long long)rec.holders[0].hb_gen);
	}
	if (rec.nholders == VMFS_LOCK_MAX_HOLDERS)
		return vmfs_seterr(vol, -EBUSY, "%s: too many shared holders", what);
	rec.mode = mode;
	rec.holders[rec.nholders].slot = (uint16_t)vol->slot;
	rec.holders[rec.nholders].hb_gen = vol->hb_gen;
	rec.nholders++;
	return lock_write(vol, off, &old, &rec);
}

int vmfs_lock_acquire(struct vmfs_volume *vol, uint64_t off, uint32_t mode, const char *what)
{
	int rc = -EAGAIN;

	for (int i = 0; i < LOCK_CAS_TRIES && rc == -EAGAIN; i++)
		rc = lock_try(vol, off, mode, what);
	if (rc == -EAGAIN)
		rc = vmfs_seterr(vol, -EBUSY, "%s: lock record keeps changing", what);
	return rc;
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
	if (!j)
		rec.mode = VMFS_LOCK_FREE;
	return lock_write(vol, off, &old, &rec);
}

int vmfs_lock_release(struct vmfs_volume *vol, uint64_t off, const char *what)
{
	int rc = -EAGAIN;

	for (int i = 0; i < LOCK_CAS_TRIES && rc == -EAGAIN; i++)
		rc = unlock_try(vol, off, what);
	return rc == -EAGAIN ? vmfs_seterr(vol, -EBUSY, "%s: lock record keeps "
			"changing", what) : rc;
}

/* ---- heartbeat ---- */

static uint64_t hb_off(const struct vmfs_volume *vol, uint32_t slot)
{
	return vol->hdr.hb_off + (uint64_t)slot * VMFS_SECTOR;
}

int vmfs_heartbeat_read(struct vmfs_volume *vol, uint32_t slot, struct vmfs_hbslot *out)
{
	int rc;

	if (slot >= vol->hdr.max_hosts)
		return vmfs_seterr(vol, -ERANGE, "heartbeat slot %u out of range (max %u)", slot,
				   vol->hdr.max_hosts);
	rc = vmfs_dev_read(vol, hb_off(vol, slot), out, sizeof(*out));
	if (rc)
		return rc;
	if (vmfs_is_zero(out, sizeof(*out)))
		return 0;
	if (out->magic != VMFS_MAGIC_HB || !vmfs_check_crc(out, sizeof(*out)) ||
	    out->slot != slot || out->state > VMFS_HB_LIVE)
		return vmfs_seterr(vol, -EIO, "heartbeat slot %u at offset %llu is corrupt", slot,
				   (unsigned long long)hb_off(vol, slot));
	return 0;
}

static int hb_write(struct vmfs_volume *vol, struct vmfs_hbslot *hb)
{
	hb->magic = VMFS_MAGIC_HB;
	hb->slot = vol->slot;
	hb->generation = vol->hb_gen;
	hb->counter = ++vol->hb_counter;
	hb->stamp_ns = vmfs_now(vol);
	hb->journal_off = vol->hdr.journal_off +
		(uint64_t)vol->slot * vol->hdr.journal_blocks * VMFS_MD_BLOCK;
	memcpy(hb->host_uuid, vol->env.host_uuid, sizeof(hb->host_uuid));
	memcpy(hb->host_name, vol->env.host_name, sizeof(hb->host_name));
	hb->host_name[sizeof(hb->host_name) - 1] = 0;
	vmfs_seal(hb, sizeof(*hb));
	return vmfs_dev_write(vol, hb_off(vol, vol->slot), hb, sizeof(*hb));
}

/* Pick our slot: our own stale one (we crashed), else the first free one. */
static int hb_choose(struct vmfs_volume *vol, struct vmfs_hbslot *hb)
{
	uint32_t free_slot = ~0u;

	for (uint32_t s = 0; s < vol->hdr.max_hosts; s++) {
		int rc = vmfs_heartbeat_read(vol, s, hb);

		if (rc == -EIO)
			continue;	/* corrupt slot: unusable (fsck --repair clears it) */
		if (rc)
			return rc;
		if (hb->state == VMFS_HB_LIVE &&
		    !memcmp(hb->host_uuid, vol->env.host_uuid, sizeof(hb->host_uuid))) {
			vol->slot = s;
			return 0;
		}
		/* Part 2: a LIVE slot of another host whose lease expired may be reclaimed
		 * here after replaying its journal; part 1 leaves it alone. */
		if (hb->state == VMFS_HB_FREE && free_slot == ~0u)
			free_slot = s;
	}
	if (free_slot == ~0u)
		return vmfs_seterr(vol, -EBUSY, "all %u heartbeat slots are in use",
				   vol->hdr.max_hosts);
	vol->slot = free_slot;
	return vmfs_heartbeat_read(vol, free_slot, hb);
}

int vmfs_hb_claim(struct vmfs_volume *vol)
{
	struct vmfs_hbslot hb;
	int rc = hb_choose(vol, &hb);

	if (rc)
		return rc;
	vol->hb_gen = hb.generation + 1;
	vol->hb_counter = hb.counter;
	hb.state = VMFS_HB_LIVE;
	rc = hb_write(vol, &hb);
	return rc ? rc : vmfs_dev_flush(vol);
}

int vmfs_hb_renew(struct vmfs_volume *vol)
{
	struct vmfs_hbslot hb;
	int rc = vmfs_heartbeat_read(vol, vol->slot, &hb);

	if (rc)
		return rc;
	/* Part 2: a generation or uuid that is not ours means we lost the slot. */
	if (hb.generation != vol->hb_gen || hb.state != VMFS_HB_LIVE)
		return vmfs_seterr(vol, -EIO, "heartbeat slot %u was taken over (generation %llu)",
				   vol->slot, (unsigned long long)hb.generation);
	return hb_write(vol, &hb);
}

int vmfs_hb_release(struct vmfs_volume *vol)
{
	struct vmfs_hbslot hb;
	int rc = vmfs_heartbeat_read(vol, vol->slot, &hb);

	if (rc)
		return rc;
	hb.state = VMFS_HB_FREE;
	rc = hb_write(vol, &hb);
	return rc ? rc : vmfs_dev_flush(vol);
}
