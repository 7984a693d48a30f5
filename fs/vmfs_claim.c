/*
 * Claiming a heartbeat slot: sanlock's delta-lease acquire.
 *
 * A slot names a host incarnation for as long as it is renewed; lock records
 * name their holders by (slot, generation). Two incarnations must never hold
 * one slot at the same time, whatever their identities, so:
 *
 *  - A live slot is never reused while it may be renewed, whoever wrote it.
 *    In particular a host restarting with the same identity does not get its
 *    old slot back at once: identities are not unique (cloned machines, two
 *    processes), so the old slot is taken over only like anyone else's:
 *    after watching it unchanged for a whole lease timeout T.
 *  - A free slot (never used, cleanly released, or recovered) is claimed by
 *    reading it, writing our claim (generation + 1, our identity and nonce),
 *    waiting G and reading it back: only a claim still there byte for byte
 *    wins. The claimer measures its own read-to-write-completion time and
 *    gives up if it exceeded G. "Read it free" means the read that starts
 *    that measured time: a slot seen free by an earlier scan is read again
 *    and judged from that read (between the two, a stalled claimer can miss
 *    another host claiming the slot and using it). Why two racers cannot
 *    both win: say P's claim landed first and Q's later, and both passed.
 *    Q read the slot free before P's claim landed (else Q would have seen a
 *    live slot), and Q's own write completed within G of that read, so
 *    before P's write + G. P read back at least G after its write
 *    completed, so after Q's landed, and saw Q's claim: P failed. No bound on stalls is needed, only that
 *    each host's clock runs at the real rate. With ATS the claim is one
 *    COMPARE AND WRITE against the image read, and there is nothing to wait.
 *  - Every claim bumps the generation, so a lock naming an earlier
 *    incarnation of the slot is never mistaken for the new one.
 *
 * Maintenance (fsck --repair, reformatting) claims a slot in state MAINT
 * and then waits until every other slot is free or dead (vmfs_hb_wait_alone);
 * a normal mount, after claiming its slot, refuses while a MAINT slot is
 * renewed (vmfs_hb_check_maint). Each side writes its claim before looking
 * at the other's, so at least one of two racing hosts sees the other.
 */
#include "vmfs_priv.h"

/*
 * G: the read-to-write bound of a claim, and the wait before reading it back.
 * It is not a safety margin (a claimer that took longer gives up by itself),
 * only long enough that claims do not give up under normal I/O latency.
 */
static uint64_t claim_gap_ns(const struct vmfs_volume *vol)
{
	uint64_t g = vol->lease_ns / 32;

	return g < 50000000ull ? 50000000ull : g > 500000000ull ? 500000000ull : g;
}

static unsigned watch_ms(const struct vmfs_volume *vol)
{
	unsigned ms = vmfs_renew_interval_ms(vol) / 2;

	return ms ? ms : 1;
}

static int read_all(struct vmfs_volume *vol, struct vmfs_hbslot *all)
{
	return vmfs_dev_read(vol, vol->hdr.hb_off, all,
			     (uint64_t)vol->hdr.max_hosts * VMFS_SECTOR);
}

/* Try to claim slot s; -EAGAIN if it changed or another host won it. */
static int try_claim(struct vmfs_volume *vol, uint32_t s, const struct vmfs_hbslot *expect,
		     uint32_t state)
{
	struct blockdev *dev = vol->dev;
	struct vmfs_hbslot seen, mine, back;
	uint64_t t0 = vmfs_mono(vol), t1;
	int rc = vmfs_heartbeat_read(vol, s, &seen);

	if (rc)
		return rc == -EIO ? -EAGAIN : rc;
	/* Judge the slot from this read, inside the timed window: a host that
	 * claimed it since an earlier look is live, whatever that look said. */
	if (expect ? memcmp(&seen, expect, sizeof(seen)) != 0 :
		     !vmfs_hb_valid(&seen, s) || seen.state != VMFS_HB_FREE)
		return -EAGAIN;		/* it moved since we judged it */
	vol->slot = s;
	vol->hb_gen = seen.generation + 1;
	vol->hb_counter = seen.counter;
	memset(&vol->hb_last, 0, sizeof(vol->hb_last));
	vmfs_hb_fill(vol, &mine, state);
	if (dev->ops->compare_and_write) {
		rc = dev->ops->compare_and_write(dev, vmfs_hb_off(vol, s) / VMFS_SECTOR, &seen,
						 &mine);
		if (rc)
			goto lost;
		goto won;
	}
	rc = vmfs_raw_write(dev, vmfs_hb_off(vol, s), &mine, sizeof(mine));
	t1 = vmfs_mono(vol);
	if (rc || t1 - t0 > claim_gap_ns(vol))
		goto lost;	/* too slow to be sure nobody read it free before us */
	vol->env.sleep_ms(vol->env.ctx, (unsigned)(claim_gap_ns(vol) / 1000000) + 1);
	rc = vmfs_raw_read(dev, vmfs_hb_off(vol, s), &back, sizeof(back));
	if (rc || memcmp(&back, &mine, sizeof(back)))
		goto lost;
won:
	vol->hb_last = mine;
	vol->lease = VMFS_LEASE_ACTIVE;
	vmfs_hb_note_renewed(vol, t0);
	return 0;
lost:
	vol->slot = ~0u;
	return rc && rc != -EAGAIN ? vmfs_seterr(vol, rc, "claiming heartbeat slot %u failed "
						 "(%d)", s, rc) : -EAGAIN;
}

static uint32_t start_slot(const struct vmfs_volume *vol)
{
	uint32_t h = vmfs_crc32c(0, vol->env.host_uuid, sizeof(vol->env.host_uuid));

	return vmfs_crc32c(h, vol->env.nonce, sizeof(vol->env.nonce)) % vol->hdr.max_hosts;
}

/* A free slot, starting at a spot our identity and nonce pick. */
static int claim_free(struct vmfs_volume *vol, struct vmfs_hbslot *all, uint32_t state)
{
	uint32_t n = vol->hdr.max_hosts, first = start_slot(vol);
	int rc = read_all(vol, all);

	for (uint32_t k = 0; !rc && k < n; k++) {
		uint32_t s = (first + k) % n;

		if (!vmfs_hb_valid(&all[s], s) || all[s].state != VMFS_HB_FREE)
			continue;	/* live, or corrupt (fsck --repair clears it) */
		rc = try_claim(vol, s, NULL, state);
		if (rc == -EAGAIN)
			rc = 0;
		else
			return rc;
	}
	return rc ? rc : -EBUSY;
}

/* No free slot: watch the live ones for a lease and take over one that never changed. */
static int claim_expired(struct vmfs_volume *vol, struct vmfs_hbslot *all, uint32_t state)
{
	uint64_t start = vmfs_mono(vol);
	int rc;

	while (vmfs_mono(vol) - start <= vol->lease_ns + vol->lease_ns / 4) {
		rc = read_all(vol, all);
		for (uint32_t s = 0; !rc && s < vol->hdr.max_hosts; s++) {
			if (!vmfs_hb_valid(&all[s], s))
				continue;
			if (all[s].state != VMFS_HB_FREE &&
			    vmfs_hb_judge(vol, s, &all[s]) != VMFS_HOLDER_DEAD)
				continue;
			rc = try_claim(vol, s, &all[s], state);
			if (rc == -EAGAIN)
				rc = 0;
			else
				return rc;
		}
		if (rc)
			return rc;
		vol->env.sleep_ms(vol->env.ctx, watch_ms(vol));
	}
	return vmfs_seterr(vol, -EBUSY, "all %u heartbeat slots are in use by live hosts",
			   vol->hdr.max_hosts);
}

int vmfs_hb_claim(struct vmfs_volume *vol, bool maint)
{
	uint32_t state = maint ? VMFS_HB_MAINT : VMFS_HB_LIVE;
	struct vmfs_hbslot *all;
	int rc;

	vol->lease_ns = (uint64_t)vol->hdr.lease_timeout_s * 1000000000ull;
	vol->maint = maint;
	if (vmfs_is_zero(vol->env.nonce, sizeof(vol->env.nonce)))
		return vmfs_seterr(vol, -EINVAL, "the host gave no nonce (vmfs_env.nonce must be "
				   "random per boot or process)");
	vol->seen = vmfs_zalloc(vol, sizeof(*vol->seen) * vol->hdr.max_hosts);
	vol->hb_all = vmfs_zalloc(vol, (size_t)vol->hdr.max_hosts * VMFS_SECTOR);
	vol->wants = vmfs_zalloc(vol, sizeof(*vol->wants) * vol->hdr.max_hosts);
	vol->wants_by = vmfs_zalloc(vol, sizeof(*vol->wants_by) * vol->hdr.max_hosts);
	vol->hb_scan = vmfs_zalloc(vol, (size_t)vol->hdr.max_hosts * VMFS_SECTOR);
	vol->wants_seq = vmfs_zalloc(vol, sizeof(*vol->wants_seq) * vol->hdr.max_hosts);
	vol->wants_done = vmfs_zalloc(vol, sizeof(*vol->wants_done) * vol->hdr.max_hosts);
	all = vmfs_zalloc(vol, (size_t)vol->hdr.max_hosts * VMFS_SECTOR);
	if (!vol->seen || !all || !vol->hb_all || !vol->wants || !vol->wants_by ||
	    !vol->hb_scan || !vol->wants_seq || !vol->wants_done) {
		vmfs_free(vol, all);
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	}
	if (vol->dev->ops->set_write_deadline)
		vol->dev->ops->set_write_deadline(vol->dev, 0);
	rc = claim_free(vol, all, state);
	if (rc == -EBUSY)
		rc = claim_expired(vol, all, state);
	vmfs_free(vol, all);
	return rc ? rc : vmfs_dev_flush(vol);
}

static const char *hb_who(const struct vmfs_hbslot *hb, char *buf, size_t len)
{
	snprintf(buf, len, "slot %u (host '%.63s', generation %llu)", hb->slot, hb->host_name,
		 (unsigned long long)hb->generation);
	return buf;
}

/*
 * Watch the other slots (of state MAINT only, or all) for up to 1.25 T
 * while renewing ours: -EBUSY naming the first one seen renewing, 0 once
 * every watched slot is free or dead.
 */
static int watch_others(struct vmfs_volume *vol, bool maint_only, const char *why)
{
	struct vmfs_hbslot *all = vmfs_zalloc(vol, (size_t)vol->hdr.max_hosts * VMFS_SECTOR);
	uint64_t start = vmfs_mono(vol);
	bool waiting = true;
	char who[128];
	int rc = all ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory");

	while (!rc && waiting) {
		waiting = false;
		rc = read_all(vol, all);
		for (uint32_t s = 0; !rc && s < vol->hdr.max_hosts; s++) {
			enum vmfs_holder st;

			if (s == vol->slot || !vmfs_hb_valid(&all[s], s) ||
			    all[s].state == VMFS_HB_FREE ||
			    (maint_only && all[s].state != VMFS_HB_MAINT))
				continue;
			st = vmfs_hb_judge(vol, s, &all[s]);
			if (st == VMFS_HOLDER_ALIVE)
				rc = vmfs_seterr(vol, -EBUSY, "%s: %s renews its heartbeat", why,
						 hb_who(&all[s], who, sizeof(who)));
			waiting |= st == VMFS_HOLDER_UNKNOWN;
		}
		if (!rc)
			rc = vmfs_lease_check(vol);
		if (!rc && waiting) {
			if (vmfs_mono(vol) - start > vol->lease_ns + vol->lease_ns / 4)
				break;
			vol->env.sleep_ms(vol->env.ctx, watch_ms(vol));
		}
	}
	vmfs_free(vol, all);
	return rc;
}

/*
 * Is no other host using the volume? Judged from the heartbeat region, read
 * again while we seemed alone every 16 calls or 1/64 of the lease timeout,
 * whichever comes first (a host that mounts meanwhile is noticed that fast,
 * and publication resumes), and every 64 calls otherwise.
 */
bool vmfs_alone(struct vmfs_volume *vol)
{
	struct vmfs_hbslot *all = vol->hb_scan;
	bool alone = true;

	if (!all)
		return vol->alone;
	if (vol->alone && vol->alone_calls++ % 16 &&
	    vmfs_mono(vol) - vol->alone_at < vol->lease_ns / 64)
		return true;
	if (!vol->alone && vol->alone_calls++ % 64)
		return false;
	vol->alone_at = vmfs_mono(vol);
	if (read_all(vol, all))
		return vol->alone = false;
	for (uint32_t s = 0; s < vol->hdr.max_hosts; s++)
		if (s != vol->slot && vmfs_hb_valid(&all[s], s) && all[s].magic == VMFS_MAGIC_HB &&
		    all[s].state != VMFS_HB_FREE)
			alone = false;
	return vol->alone = alone;
}

int vmfs_hb_check_maint(struct vmfs_volume *vol)
{
	return watch_others(vol, true, "volume is reserved for repair or reformatting");
}

int vmfs_hb_wait_alone(struct vmfs_volume *vol)
{
	return watch_others(vol, false, "volume is in use by another host");
}
