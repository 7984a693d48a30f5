/*
 * Heartbeats and leases: how hosts sharing a volume know who is alive.
 *
 * Each mounted host owns one sector of the heartbeat region (its slot) and
 * rewrites it every lease_timeout/8 with `counter` bumped: a delta lease in
 * the sense of sanlock. Nobody compares clocks across hosts: host B judges
 * host H only by what B itself saw and when, on B's own monotonic clock.
 * A host incarnation is (identity, nonce, generation): the identity may be
 * shared by cloned machines or several processes, the nonce is drawn per
 * boot or process, and every claim of a slot bumps the generation
 * (vmfs_claim.c claims slots).
 *
 *  - Liveness of H as seen by B (vmfs_holder_state): B remembers the
 *    (generation, counter, state) it last read in H's slot and the time it
 *    first read it. Unchanged for a whole lease timeout T: dead. The slot at
 *    the holder's generation but freed, or a later incarnation that has
 *    replayed the journal: "gone". A slot showing an *older* generation than
 *    the holder (a late write of an earlier incarnation, or corruption) is
 *    never "gone": it is watched like any other and found dead after T.
 *  - Validity of our own lease (vmfs_lease_check): valid for T/2 from the
 *    *start* of our last successful renewal. Every write to the volume checks
 *    it first (vmfs_dev_write) and renews inline once T/4 has passed; a
 *    renewal attempted after a gap of more than T/2 is refused and the lease
 *    is lost for good. A renewal first reads the slot back: if it is not
 *    byte for byte what we last wrote (another host took it, or a second
 *    process shares our identity and nonce), the lease is lost too. With
 *    ATS the read-compare-write is one COMPARE AND WRITE.
 *  - Fencing below us: after every renewal the device is told the time our
 *    lease ends (blockdev set_write_deadline); it refuses writes after it and
 *    aborts, or stops the host over, writes still in flight then.
 *
 * Why a dead verdict is safe: say B saw H's counter c first at time r0 and
 * still c at r1 >= r0 + T. H's renewal c started before r0, so H's lease from
 * it ended by r0 + T/2. A later renewal that started within that validity
 * would have landed by r1 (it started >= T/2 before r1), so none did, and
 * every other write H issued was issued while valid, so before r0 + T/2, and
 * the device stops every write of H still in flight at its deadline. The
 * timing assumption left: the device (or watchdog) enforces the deadline
 * within T/2 of it, and the hosts' clocks run at the same rate up to a small
 * drift.
 *
 * vmfs_hb_renew may run in a helper thread concurrently with the thread
 * using the volume: it touches only the device, its own stack, hb_last
 * (owned by whoever holds the `renewing` flag) and the atomics renewed_ns,
 * hb_counter and lease.
 */
#include "vmfs_priv.h"

#define RENEW_DIV	8	/* renew every lease / 8 */

uint64_t vmfs_mono(const struct vmfs_volume *vol)
{
	if (vol->env.mono_ns)
		return vol->env.mono_ns(vol->env.ctx);
	return vol->env.now_ns(vol->env.ctx);
}

uint64_t vmfs_hb_off(const struct vmfs_volume *vol, uint32_t slot)
{
	return vol->hdr.hb_off + (uint64_t)slot * VMFS_SECTOR;
}

bool vmfs_hb_valid(const struct vmfs_hbslot *hb, uint32_t slot)
{
	if (vmfs_is_zero(hb, sizeof(*hb)))
		return true;
	return hb->magic == VMFS_MAGIC_HB && vmfs_check_crc(hb, sizeof(*hb)) && hb->slot == slot &&
	       hb->state <= VMFS_HB_MAINT;
}

int vmfs_heartbeat_read(struct vmfs_volume *vol, uint32_t slot, struct vmfs_hbslot *out)
{
	int rc;

	if (slot >= vol->hdr.max_hosts)
		return vmfs_seterr(vol, -ERANGE, "heartbeat slot %u out of range (max %u)", slot,
				   vol->hdr.max_hosts);
	rc = vmfs_dev_read(vol, vmfs_hb_off(vol, slot), out, sizeof(*out));
	if (rc)
		return rc;
	if (!vmfs_hb_valid(out, slot))
		return vmfs_seterr(vol, -EIO, "heartbeat slot %u at offset %llu is corrupt", slot,
				   (unsigned long long)vmfs_hb_off(vol, slot));
	return 0;
}

static int lease_state(const struct vmfs_volume *vol)
{
	return __atomic_load_n(&vol->lease, __ATOMIC_ACQUIRE);
}

static void lease_lost(struct vmfs_volume *vol)
{
	__atomic_store_n(&vol->lease, VMFS_LEASE_LOST, __ATOMIC_RELEASE);
}

/* A renewal that started at `start` succeeded: move the lease and the device's deadline. */
void vmfs_hb_note_renewed(struct vmfs_volume *vol, uint64_t start)
{
	uint64_t cur = __atomic_load_n(&vol->renewed_ns, __ATOMIC_ACQUIRE);

	while (start > cur && !__atomic_compare_exchange_n(&vol->renewed_ns, &cur, start, false,
							  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
	if (vol->dev->ops->set_write_deadline)
		vol->dev->ops->set_write_deadline(vol->dev, start + vol->lease_ns / 2);
}

/* Fill a new image of our slot from hb_last (no vol->err, no shared buffers). */
void vmfs_hb_fill(struct vmfs_volume *vol, struct vmfs_hbslot *hb, uint32_t state)
{
	*hb = vol->hb_last;
	hb->magic = VMFS_MAGIC_HB;
	hb->slot = vol->slot;
	hb->state = state;
	hb->generation = vol->hb_gen;
	hb->counter = __atomic_add_fetch(&vol->hb_counter, 1, __ATOMIC_ACQ_REL);
	hb->stamp_ns = vol->env.now_ns(vol->env.ctx);
	hb->journal_off = vol->hdr.journal_off +
		(uint64_t)vol->slot * vol->hdr.journal_blocks * VMFS_MD_BLOCK;
	memcpy(hb->host_uuid, vol->env.host_uuid, sizeof(hb->host_uuid));
	memcpy(hb->nonce, vol->env.nonce, sizeof(hb->nonce));
	memcpy(hb->host_name, vol->env.host_name, sizeof(hb->host_name));
	hb->host_name[sizeof(hb->host_name) - 1] = 0;
	hb->lease_ms = vmfs_renew_interval_ms(vol);
	hb->want_off = __atomic_load_n(&vol->want_off, __ATOMIC_ACQUIRE);
	hb->want_slot = __atomic_load_n(&vol->want_slot, __ATOMIC_ACQUIRE);
	hb->want_gen = __atomic_load_n(&vol->want_gen, __ATOMIC_ACQUIRE);
	hb->want_seq = __atomic_load_n(&vol->want_seq, __ATOMIC_ACQUIRE);
	if (!hb->want_off)
		hb->want_slot = 0, hb->want_gen = 0;
	vmfs_seal(hb, sizeof(*hb));
}

/*
 * Replace our slot's image hb_last by hb: with ATS one compare-and-write,
 * else read back (must be what we last wrote) and write. -ESTALE: the slot is
 * no longer ours. The whole region is read (into hb_all, owned like hb_last
 * by whoever renews) so that requests of other hosts for our unused locks
 * are seen at every renewal (vmfs_want_scan).
 */
static int hb_swap(struct vmfs_volume *vol, const struct vmfs_hbslot *hb)
{
	struct blockdev *dev = vol->dev;
	struct vmfs_hbslot *all = vol->hb_all;
	int rc = all ? vmfs_raw_read(dev, vol->hdr.hb_off, all,
				     (uint64_t)vol->hdr.max_hosts * VMFS_SECTOR) : 0;

	if (rc)
		return rc;
	if (all && vol->wants)
		vmfs_want_scan(vol, all);
	if (dev->ops->compare_and_write) {
		rc = dev->ops->compare_and_write(dev, vmfs_hb_off(vol, vol->slot) / VMFS_SECTOR,
						 &vol->hb_last, hb);
		return rc == -EAGAIN ? -ESTALE : rc;
	}
	if (all && memcmp(&all[vol->slot], &vol->hb_last, sizeof(*hb)))
		return -ESTALE;
	return vmfs_raw_write(dev, vmfs_hb_off(vol, vol->slot), hb, sizeof(*hb));
}

static int renew_locked(struct vmfs_volume *vol, uint32_t state)
{
	struct vmfs_hbslot hb;
	uint64_t start = vmfs_mono(vol);
	uint64_t last = __atomic_load_n(&vol->renewed_ns, __ATOMIC_ACQUIRE);
	int rc;

	if (lease_state(vol) != VMFS_LEASE_ACTIVE)
		return -EIO;
	if (start > last && start - last > vol->lease_ns / 2) {
		lease_lost(vol);	/* others may already count us dead */
		return -EIO;
	}
	vmfs_hb_fill(vol, &hb, state);
	rc = hb_swap(vol, &hb);
	if (rc == -ESTALE) {
		lease_lost(vol);	/* slot taken over, freed, or written by a twin */
		__atomic_store_n(&vol->lease_why, 1, __ATOMIC_RELEASE);
		return -EIO;
	}
	if (!rc) {
		vol->hb_last = hb;
		vmfs_hb_note_renewed(vol, start);
	}
	return rc;
}

/* One renewal at a time (the helper thread and inline renewals may race): others skip. */
static int renew_state(struct vmfs_volume *vol, uint32_t state)
{
	int rc;

	if (__atomic_exchange_n(&vol->renewing, 1, __ATOMIC_ACQ_REL))
		return lease_state(vol) == VMFS_LEASE_ACTIVE ? 0 : -EIO;
	rc = renew_locked(vol, state);
	__atomic_store_n(&vol->renewing, 0, __ATOMIC_RELEASE);
	return rc;
}

int vmfs_hb_renew(struct vmfs_volume *vol)
{
	return renew_state(vol, vol->maint ? VMFS_HB_MAINT : VMFS_HB_LIVE);
}

/* Renew now (to carry a new request), waiting briefly for a renewal in progress. */
void vmfs_hb_renew_now(struct vmfs_volume *vol)
{
	for (int i = 0; i < 100; i++) {
		if (!__atomic_exchange_n(&vol->renewing, 1, __ATOMIC_ACQ_REL)) {
			renew_locked(vol, vol->maint ? VMFS_HB_MAINT : VMFS_HB_LIVE);
			__atomic_store_n(&vol->renewing, 0, __ATOMIC_RELEASE);
			return;
		}
		vol->env.sleep_ms(vol->env.ctx, 1);
	}
}

int vmfs_lease_check(struct vmfs_volume *vol)
{
	uint64_t now, age;
	int st = lease_state(vol);

	if (st == VMFS_LEASE_NONE)
		return 0;
	now = vmfs_mono(vol);
	age = now - __atomic_load_n(&vol->renewed_ns, __ATOMIC_ACQUIRE);
	if (st == VMFS_LEASE_ACTIVE && age > vol->lease_ns / 4 && now > vol->renewed_ns)
		vmfs_hb_renew(vol);
	if (lease_state(vol) == VMFS_LEASE_LOST)
		return vmfs_seterr(vol, -EIO, "host lost its lease on heartbeat slot %u "
				   "(generation %llu): %s; writes refused, unmount and mount again",
				   vol->slot, (unsigned long long)vol->hb_gen,
				   __atomic_load_n(&vol->lease_why, __ATOMIC_ACQUIRE) ?
				   "the slot was changed by another host (taken over after a "
				   "lease, or a second host with this identity and nonce)" :
				   "no renewal within half the lease timeout");
	return 0;
}

/* ---- liveness of other hosts ---- */

static enum vmfs_holder watch(struct vmfs_volume *vol, uint32_t slot,
			      const struct vmfs_hbslot *hb, uint64_t now)
{
	struct vmfs_hbseen *s = &vol->seen[slot];

	if (!s->valid || s->gen != hb->generation || s->counter != hb->counter ||
	    s->state != hb->state) {
		s->changed = s->valid && s->gen == hb->generation && s->state == hb->state;
		s->valid = true;
		s->gen = hb->generation;
		s->counter = hb->counter;
		s->state = hb->state;
		s->since_ns = now;
	}
	if (now - s->since_ns >= vol->lease_ns)
		return VMFS_HOLDER_DEAD;
	return s->changed ? VMFS_HOLDER_ALIVE : VMFS_HOLDER_UNKNOWN;
}

/* Judge whoever renews slot (as read in *hb) right now. */
enum vmfs_holder vmfs_hb_judge(struct vmfs_volume *vol, uint32_t slot,
			       const struct vmfs_hbslot *hb)
{
	return watch(vol, slot, hb, vmfs_mono(vol));
}

/*
 * The holder's slot was claimed again by a later incarnation. That successor
 * replays the journal at mount, inside the arbitration section, and stamps
 * the journal header with its generation; until it has, what the old holder
 * locked is not safe to use. A successor that never replayed and went quiet
 * counts as dead (we replay for it).
 */
static int successor_state(struct vmfs_volume *vol, uint32_t slot,
			   const struct vmfs_hbslot *hb, enum vmfs_holder *st)
{
	struct vmfs_jhdr jh;
	int rc = vmfs_dev_read(vol, vmfs_journal_off(vol, slot), &jh, sizeof(jh));

	if (rc)
		return rc;
	if (jh.magic == VMFS_MAGIC_JHDR && vmfs_check_crc(&jh, sizeof(jh)) &&
	    jh.hb_gen >= hb->generation) {
		*st = VMFS_HOLDER_GONE;
		return 0;
	}
	*st = watch(vol, slot, hb, vmfs_mono(vol)) == VMFS_HOLDER_DEAD ? VMFS_HOLDER_DEAD :
		VMFS_HOLDER_PENDING;
	return 0;
}

int vmfs_holder_state(struct vmfs_volume *vol, uint32_t slot, uint64_t gen, enum vmfs_holder *st)
{
	struct vmfs_hbslot hb;
	int rc;

	if (slot == vol->slot) {
		/* earlier incarnations of our slot: our mount replayed their journal */
		*st = gen == vol->hb_gen ? VMFS_HOLDER_SELF : VMFS_HOLDER_GONE;
		return 0;
	}
	if (slot >= vol->hdr.max_hosts) {
		*st = VMFS_HOLDER_GONE;		/* no such host: nothing to wait for */
		return 0;
	}
	rc = vmfs_heartbeat_read(vol, slot, &hb);
	if (rc)
		return rc;
	if (hb.generation > gen)
		return successor_state(vol, slot, &hb, st);
	if (hb.generation == gen && hb.state == VMFS_HB_FREE) {
		*st = VMFS_HOLDER_GONE;		/* cleanly released, or recovered */
		return 0;
	}
	/* same incarnation renewing, or an older image written over it: watch */
	*st = watch(vol, slot, &hb, vmfs_mono(vol));
	return 0;
}

void vmfs_backoff(struct vmfs_volume *vol, unsigned max_ms)
{
	uint64_t x = vol->rng ? vol->rng : (vmfs_mono(vol) ^ ((uint64_t)vol->slot << 32)) | 1;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	vol->rng = x;
	vol->env.sleep_ms(vol->env.ctx, 1 + (unsigned)(x % (max_ms ? max_ms : 1)));
}

/*
 * Replay the journal of a host found dead while it held a lock we need, and
 * fence its generation so that nothing it wrote late is ever replayed. Caller
 * holds the arbitration lease, which serialises replays of one journal (and
 * our own replay at mount) so that a transaction is never written home twice
 * with someone else's change in between.
 */
int vmfs_replay_dead(struct vmfs_volume *vol, uint32_t slot, uint64_t gen)
{
	enum vmfs_holder st;
	unsigned n = 0;
	int rc = vmfs_holder_state(vol, slot, gen, &st);

	if (rc || st != VMFS_HOLDER_DEAD)
		return rc;	/* gone: its successor (or its clean unmount) applied the journal */
	return vmfs_journal_replay_fence(vol, slot, gen, &n);
}

/* ---- releasing ---- */

int vmfs_hb_release(struct vmfs_volume *vol)
{
	struct vmfs_hbslot hb;
	int rc = vmfs_lease_check(vol);

	while (!rc && __atomic_exchange_n(&vol->renewing, 1, __ATOMIC_ACQ_REL))
		vol->env.sleep_ms(vol->env.ctx, 1);
	if (rc)
		return rc;
	vmfs_hb_fill(vol, &hb, VMFS_HB_FREE);
	rc = hb_swap(vol, &hb);
	if (!rc)
		vol->hb_last = hb;
	vol->lease = VMFS_LEASE_NONE;
	__atomic_store_n(&vol->renewing, 0, __ATOMIC_RELEASE);
	if (rc == -ESTALE)
		return vmfs_seterr(vol, -EIO, "heartbeat slot %u was taken by another host "
				   "before we released it", vol->slot);
	if (rc)
		return vmfs_seterr(vol, rc, "releasing heartbeat slot %u failed", vol->slot);
	rc = vmfs_dev_flush(vol);
	if (!rc && vol->dev->ops->set_write_deadline)
		vol->dev->ops->set_write_deadline(vol->dev, 0);
	return rc;
}

/* ---- public ---- */

int vmfs_heartbeat_renew(struct vmfs_volume *vol)
{
	if (vol->rdonly)
		return -EPERM;
	return vmfs_hb_renew(vol);
}

unsigned vmfs_renew_interval_ms(const struct vmfs_volume *vol)
{
	uint64_t ms = (uint64_t)vol->hdr.lease_timeout_s * 1000 / RENEW_DIV;

	return ms ? (unsigned)ms : 1;
}

bool vmfs_lease_valid(const struct vmfs_volume *vol)
{
	return lease_state(vol) != VMFS_LEASE_LOST;
}
