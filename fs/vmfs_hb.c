/*
 * Heartbeats and leases: how hosts sharing a volume know who is alive.
 *
 * Each mounted host owns one sector of the heartbeat region (its slot) and
 * rewrites it every lease_timeout/8 with `counter` bumped: a delta lease in
 * the sense of sanlock. Nobody compares clocks across hosts: host B judges
 * host H only by what B itself saw and when, on B's own monotonic clock.
 *
 *  - Liveness of H as seen by B (vmfs_holder_state): B remembers the
 *    (generation, counter) it last read in H's slot and the time it first
 *    read that pair. If the pair has not changed for a whole lease timeout T,
 *    H is dead; a different generation or a freed slot means the incarnation
 *    that held a lock has ended ("gone").
 *  - Validity of our own lease (vmfs_lease_check): our lease is valid for
 *    T/2 from the *start* of our last successful renewal. Every write to the
 *    volume checks it first (vmfs_dev_write) and renews inline once T/4 has
 *    passed; a renewal attempted after a gap of more than T/2 is refused and
 *    the lease is lost for good: the volume refuses every further write.
 *
 * Why a dead verdict is safe: say B saw H's counter c first at time r0 and
 * still c at r1 >= r0 + T. H's renewal c started before r0, so H's lease from
 * it ended by r0 + T/2. A later renewal that started within that validity
 * would have landed by r1 (it started >= T/2 before r1), so none did, and
 * every other write H issued was issued while valid, so before r0 + T/2. If
 * a write lands within T/2 of the check before it (the timing assumption
 * the lease adds: bounded I/O latency and process stalls between a check
 * and its write, and equal clock rates up to small drift), all of H's writes
 * are on disk before r1, and nothing H does later is written at all.
 *
 * Claiming a slot at mount is sanlock's delta-lease acquire: read the slot,
 * write our claim (generation + 1), wait a short delay, read again: if two
 * hosts raced for the slot only the later writer still sees itself. Our own
 * slot (same host UUID) from before a crash is reclaimed at once; a slot of
 * another host is taken over only after watching it unchanged for T.
 *
 * vmfs_hb_renew may run in a helper thread concurrently with the thread
 * using the volume: it touches only the device, its own stack and the
 * atomics renewed_ns, hb_counter and lease.
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

static bool hb_valid(const struct vmfs_hbslot *hb, uint32_t slot)
{
	if (vmfs_is_zero(hb, sizeof(*hb)))
		return true;
	return hb->magic == VMFS_MAGIC_HB && vmfs_check_crc(hb, sizeof(*hb)) && hb->slot == slot &&
	       hb->state <= VMFS_HB_LIVE;
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
	if (!hb_valid(out, slot))
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

static void note_renewed(struct vmfs_volume *vol, uint64_t start)
{
	uint64_t cur = __atomic_load_n(&vol->renewed_ns, __ATOMIC_ACQUIRE);

	while (start > cur && !__atomic_compare_exchange_n(&vol->renewed_ns, &cur, start, false,
							  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		;
}

/* Fill and write our slot (no vol->err, no shared buffers: thread-safe). */
static int hb_put(struct vmfs_volume *vol, struct vmfs_hbslot *hb, uint32_t state)
{
	hb->magic = VMFS_MAGIC_HB;
	hb->crc = 0;
	hb->slot = vol->slot;
	hb->state = state;
	hb->generation = vol->hb_gen;
	hb->counter = __atomic_add_fetch(&vol->hb_counter, 1, __ATOMIC_ACQ_REL);
	hb->stamp_ns = vol->env.now_ns(vol->env.ctx);
	hb->journal_off = vol->hdr.journal_off +
		(uint64_t)vol->slot * vol->hdr.journal_blocks * VMFS_MD_BLOCK;
	memcpy(hb->host_uuid, vol->env.host_uuid, sizeof(hb->host_uuid));
	memcpy(hb->host_name, vol->env.host_name, sizeof(hb->host_name));
	hb->host_name[sizeof(hb->host_name) - 1] = 0;
	vmfs_seal(hb, sizeof(*hb));
	return vmfs_raw_write(vol->dev, vmfs_hb_off(vol, vol->slot), hb, sizeof(*hb));
}

static bool hb_ours(const struct vmfs_volume *vol, const struct vmfs_hbslot *hb)
{
	return hb->state == VMFS_HB_LIVE && hb->generation == vol->hb_gen &&
	       !memcmp(hb->host_uuid, vol->env.host_uuid, sizeof(hb->host_uuid));
}

int vmfs_hb_renew(struct vmfs_volume *vol)
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
	rc = vmfs_raw_read(vol->dev, vmfs_hb_off(vol, vol->slot), &hb, sizeof(hb));
	if (rc)
		return rc;
	if (!hb_valid(&hb, vol->slot) || !hb_ours(vol, &hb)) {
		lease_lost(vol);	/* slot taken over or freed by a recovering host */
		return -EIO;
	}
	rc = hb_put(vol, &hb, VMFS_HB_LIVE);
	if (!rc)
		note_renewed(vol, start);
	return rc;
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
				   "(generation %llu): no renewal within half the %u s lease, or "
				   "the slot was taken over; writes refused, unmount and mount again",
				   vol->slot, (unsigned long long)vol->hb_gen,
				   vol->hdr.lease_timeout_s);
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

/*
 * The holder's slot was claimed again by a later incarnation (a restart of
 * the same host). That successor replays the journal at mount, inside the
 * arbitration section, and stamps the journal header with its generation;
 * until it has, what the old holder locked is not safe to use. A dead
 * successor that never replayed counts as dead (we replay for it).
 */
static int successor_state(struct vmfs_volume *vol, uint32_t slot,
			   const struct vmfs_hbslot *hb, enum vmfs_holder *st)
{
	struct vmfs_jhdr jh;
	uint64_t joff = vol->hdr.journal_off +
		(uint64_t)slot * vol->hdr.journal_blocks * VMFS_MD_BLOCK;
	int rc = vmfs_dev_read(vol, joff, &jh, sizeof(jh));

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
	uint64_t now;
	int rc;

	if (slot == vol->slot) {
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
	now = vmfs_mono(vol);
	if (hb.state != VMFS_HB_LIVE || hb.generation < gen) {
		*st = VMFS_HOLDER_GONE;		/* cleanly released or recovered */
		return 0;
	}
	if (hb.generation > gen)
		return successor_state(vol, slot, &hb, st);
	*st = watch(vol, slot, &hb, now);
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
 * Replay the journal of a host found dead while it held a lock we need.
 * Caller holds the arbitration lease, which serialises replays of one journal
 * (and our own replay at mount) so that a transaction is never written home
 * twice with someone else's change in between.
 */
int vmfs_replay_dead(struct vmfs_volume *vol, uint32_t slot, uint64_t gen)
{
	enum vmfs_holder st;
	unsigned n = 0;
	int rc = vmfs_holder_state(vol, slot, gen, &st);

	if (rc || st != VMFS_HOLDER_DEAD)
		return rc;	/* gone: its successor (or its clean unmount) applied the journal */
	return vmfs_journal_replay(vol, slot, true, &n);
}

/* ---- claiming, releasing ---- */

/* Longer than a read-to-write gap of a claiming host may take (timing assumption). */
static unsigned claim_delay_ms(const struct vmfs_volume *vol)
{
	uint64_t ms = vol->lease_ns / 64 / 1000000;

	return ms < 20 ? 20 : ms > 250 ? 250 : (unsigned)ms;
}

/* Write a claim on slot s (last read as *hb); wait and re-read unless it is ours already. */
static int hb_try_claim(struct vmfs_volume *vol, uint32_t s, const struct vmfs_hbslot *seen,
			bool wait)
{
	struct vmfs_hbslot hb = *seen;
	uint64_t start = vmfs_mono(vol);
	int rc;

	vol->slot = s;
	vol->hb_gen = seen->generation + 1;
	vol->hb_counter = seen->counter;
	rc = hb_put(vol, &hb, VMFS_HB_LIVE);
	if (rc)
		return vmfs_seterr(vol, rc, "writing heartbeat slot %u failed (%d)", s, rc);
	if (wait)
		vol->env.sleep_ms(vol->env.ctx, claim_delay_ms(vol));
	rc = vmfs_heartbeat_read(vol, s, &hb);
	if (rc)
		return rc;
	if (!hb_ours(vol, &hb)) {
		vol->slot = ~0u;
		return -EAGAIN;		/* another host claimed it after us */
	}
	vol->renewed_ns = start;
	vol->lease = VMFS_LEASE_ACTIVE;
	return 0;
}

static uint32_t uuid_hash(const struct vmfs_volume *vol)
{
	return vmfs_crc32c(0, vol->env.host_uuid, sizeof(vol->env.host_uuid));
}

/* Our own live slot from before a crash, or a free slot (starting at a spot our UUID picks). */
static int claim_free_or_own(struct vmfs_volume *vol, struct vmfs_hbslot *hb)
{
	uint32_t n = vol->hdr.max_hosts, first = uuid_hash(vol) % n;
	int rc;

	for (uint32_t s = 0; s < n; s++) {
		rc = vmfs_heartbeat_read(vol, s, hb);
		if (rc && rc != -EIO)
			return rc;
		if (!rc && hb->state == VMFS_HB_LIVE &&
		    !memcmp(hb->host_uuid, vol->env.host_uuid, sizeof(hb->host_uuid)))
			return hb_try_claim(vol, s, hb, false);
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t s = (first + k) % n;

		rc = vmfs_heartbeat_read(vol, s, hb);
		if (rc == -EIO)
			continue;	/* corrupt slot: unusable (fsck --repair clears it) */
		if (rc)
			return rc;
		if (hb->state != VMFS_HB_FREE)
			continue;
		rc = hb_try_claim(vol, s, hb, true);
		if (rc != -EAGAIN)
			return rc;
	}
	return -EBUSY;
}

/* No free slot: watch the live ones for a lease and take over one that never changed. */
static int claim_expired(struct vmfs_volume *vol, struct vmfs_hbslot *hb)
{
	uint64_t start = vmfs_mono(vol);
	enum vmfs_holder st;
	int rc;

	vol->slot = ~0u;
	while (vmfs_mono(vol) - start <= vol->lease_ns + vol->lease_ns / 4) {
		for (uint32_t s = 0; s < vol->hdr.max_hosts; s++) {
			if (vmfs_heartbeat_read(vol, s, hb) || hb->state != VMFS_HB_LIVE)
				continue;
			rc = vmfs_holder_state(vol, s, hb->generation, &st);
			if (rc || st != VMFS_HOLDER_DEAD)
				continue;
			rc = hb_try_claim(vol, s, hb, true);
			if (rc != -EAGAIN)
				return rc;
		}
		vol->env.sleep_ms(vol->env.ctx, vmfs_renew_interval_ms(vol));
	}
	return vmfs_seterr(vol, -EBUSY, "all %u heartbeat slots are in use by live hosts",
			   vol->hdr.max_hosts);
}

int vmfs_hb_claim(struct vmfs_volume *vol)
{
	struct vmfs_hbslot hb;
	int rc;

	vol->lease_ns = (uint64_t)vol->hdr.lease_timeout_s * 1000000000ull;
	vol->seen = vmfs_zalloc(vol, sizeof(*vol->seen) * vol->hdr.max_hosts);
	if (!vol->seen)
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	rc = claim_free_or_own(vol, &hb);
	if (rc == -EBUSY)
		rc = claim_expired(vol, &hb);
	return rc ? rc : vmfs_dev_flush(vol);
}

int vmfs_hb_release(struct vmfs_volume *vol)
{
	struct vmfs_hbslot hb;
	int rc = vmfs_lease_check(vol);

	if (!rc)
		rc = vmfs_heartbeat_read(vol, vol->slot, &hb);
	if (rc)
		return rc;
	rc = hb_put(vol, &hb, VMFS_HB_FREE);
	vol->lease = VMFS_LEASE_NONE;
	return rc ? vmfs_seterr(vol, rc, "releasing heartbeat slot %u failed", vol->slot) :
		vmfs_dev_flush(vol);
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
