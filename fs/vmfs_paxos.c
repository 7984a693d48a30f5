/*
 * The arbitration lease: one volume-wide mutual exclusion that serialises
 * every read-modify-write of a lock record (and every replay of a dead
 * host's journal) on devices without an atomic compare-and-write.
 *
 * With only atomic single-sector reads and writes, two hosts that read a lock
 * record, find it free and write their claim would both believe they won.
 * So lock records are changed only inside the arbitration section, and who
 * may enter it is decided by Disk Paxos (Gafni & Lamport, "Disk Paxos",
 * 2003) in the form sanlock's paxos leases use it:
 *
 *  - Every heartbeat slot owns one arbitration block {epoch, mbal, bal, inp}
 *    (its "disk block"); a host writes only its own block and reads all.
 *  - The section is handed out in epochs 1, 2, 3, ... The holder of epoch e
 *    is the value chosen by the consensus instance e. A leader sector records
 *    the latest epoch, its holder and whether it was released.
 *  - To enter, a host reads the leader. If the epoch there is held by a host
 *    that is alive, it waits. If it is released, or its holder is dead (see
 *    vmfs_hb.c), it runs instance e + 1 proposing itself:
 *      phase 1: write own block {e, mbal = b}, read every block; abort if any
 *               block has a later epoch or, in epoch e, a higher mbal; adopt
 *               the inp of the highest bal seen in epoch e (else itself);
 *      phase 2: write own block {e, mbal = b, bal = b, inp = v}, read every
 *               block, same abort rule; v is now chosen for epoch e.
 *    If v is this host it writes the leader {e, itself, held} and enters;
 *    leaving writes {e, itself, released}. Ballots are round * max_hosts +
 *    slot + 1, unique per host; a host restarting reads its block back first.
 *
 * Why at most one host is chosen per epoch (the Disk Paxos argument with one
 * disk): suppose p finished phase 2 with ballot b and value v, and q runs a
 * phase 1 of the same epoch with ballot b' > b. q wrote its block before
 * reading p's; p wrote its phase-2 block before reading q's. If q read p's
 * block before p's phase-2 write landed, then p's phase-2 read came after
 * q's write, so p saw mbal b' > b and aborted: contradiction. So q saw p's
 * {bal b, inp v} and, as the highest bal >= b it can see carries v (by
 * induction on ballots), q proposes v too. A block only ever moves to later
 * epochs, and a runner aborts on a block of a later epoch, so an instance
 * whose participants moved on can never be re-decided differently.
 *
 * Why at most one host is inside the section: epoch e + 1 is run only after
 * the leader showed epoch e released, or its holder dead. Released is written
 * by the holder when it leaves. Dead means no heartbeat renewal for a lease
 * timeout, and a host whose lease lapsed writes nothing (vmfs_lease_check in
 * every write), so the old holder makes no further change. That is the one
 * timing assumption (stated in vmfs_hb.c); the consensus itself needs none:
 * delays, lost races and crashes at any point only cost retries.
 *
 * With ATS (compare_and_write) the leader is simply compare-and-swapped from
 * released to held, and Disk Paxos is not needed.
 */
#include "vmfs_priv.h"

uint64_t vmfs_arb_ldr_off(const struct vmfs_volume *vol)
{
	return vol->hdr.arb_off + (uint64_t)vol->hdr.max_hosts * VMFS_SECTOR;
}

static uint64_t blk_off(const struct vmfs_volume *vol, uint32_t slot)
{
	return vol->hdr.arb_off + (uint64_t)slot * VMFS_SECTOR;
}

int vmfs_arbblk_check(const struct vmfs_arbblk *b, uint32_t slot)
{
	if (vmfs_is_zero(b, sizeof(*b)))
		return 0;
	if (b->magic != VMFS_MAGIC_ARB || !vmfs_check_crc(b, sizeof(*b)) || b->slot != slot ||
	    b->bal > b->mbal || (b->bal && !b->inp))
		return -EIO;
	return 0;
}

int vmfs_arbldr_check(const struct vmfs_arbldr *l, uint32_t max_hosts)
{
	if (vmfs_is_zero(l, sizeof(*l)))
		return 0;
	if (l->magic != VMFS_MAGIC_ARBL || !vmfs_check_crc(l, sizeof(*l)) ||
	    l->owner > max_hosts || l->held > 1 || (l->held && !l->owner))
		return -EIO;
	return 0;
}

/*
 * Read every arbitration block. A sector the device cannot read is filled
 * with a pattern that fails the block check, so it is judged like a corrupt
 * one (arb_unreadable).
 */
static int read_blocks(struct vmfs_volume *vol)
{
	uint32_t n = vol->hdr.max_hosts;
	int rc = vmfs_raw_read(vol->dev, vol->hdr.arb_off, vol->arbv, (uint64_t)n * VMFS_SECTOR);

	for (uint32_t s = 0; rc && s < n; s++) {
		if (vmfs_raw_read(vol->dev, blk_off(vol, s), &vol->arbv[s], VMFS_SECTOR))
			memset(&vol->arbv[s], 0xff, VMFS_SECTOR);
	}
	return 0;
}

/*
 * The leader is unreadable or corrupt (Disk Paxos only): rebuild what it
 * should say from the blocks. The latest epoch any block reached is taken as
 * held by the value accepted with the highest ballot in it (if any): if that
 * host is alive we wait for it (it rewrites the leader when it leaves), if it
 * is dead or gone the next epoch is run, whose winner rewrites the leader.
 */
static int ldr_from_blocks(struct vmfs_volume *vol, struct vmfs_arbldr *l, bool *complete)
{
	uint64_t best = 0;

	read_blocks(vol);
	memset(l, 0, sizeof(*l));
	*complete = true;
	for (uint32_t s = 0; s < vol->hdr.max_hosts; s++) {
		const struct vmfs_arbblk *q = &vol->arbv[s];

		if (vmfs_is_zero(q, sizeof(*q)))
			continue;
		if (vmfs_arbblk_check(q, s)) {
			*complete = false;
			continue;
		}
		if (q->epoch > l->epoch) {
			l->epoch = q->epoch;
			best = 0;
			l->owner = 0;
		}
		if (q->epoch == l->epoch && q->bal > best && q->inp <= vol->hdr.max_hosts) {
			best = q->bal;
			l->owner = (uint32_t)q->inp;
			l->owner_gen = q->inp_gen;
		}
	}
	l->held = l->owner != 0;
	return 0;
}

/* *synth: the leader was unreadable and was rebuilt from the blocks (complete: all read). */
static int read_ldr(struct vmfs_volume *vol, struct vmfs_arbldr *l, bool *synth, bool *complete)
{
	int rc = vmfs_raw_read(vol->dev, vmfs_arb_ldr_off(vol), l, sizeof(*l));

	*synth = false;
	if (!rc && !vmfs_arbldr_check(l, vol->hdr.max_hosts))
		return 0;
	*synth = true;
	if (!vol->dev->ops->compare_and_write)
		return ldr_from_blocks(vol, l, complete);
	if (rc)
		return vmfs_seterr(vol, rc, "reading the arbitration leader at offset %llu "
				   "failed (%d)", (unsigned long long)vmfs_arb_ldr_off(vol), rc);
	return vmfs_seterr(vol, -EIO, "arbitration leader at offset %llu is corrupt "
			   "(fsck --repair resets it)", (unsigned long long)vmfs_arb_ldr_off(vol));
}

static void fill_ldr(struct vmfs_volume *vol, struct vmfs_arbldr *l, uint64_t epoch, bool held)
{
	memset(l, 0, sizeof(*l));
	l->magic = VMFS_MAGIC_ARBL;
	l->epoch = epoch;
	l->owner = vol->slot + 1;
	l->owner_gen = vol->hb_gen;
	l->held = held;
	l->stamp_ns = vmfs_now(vol);
	vmfs_seal(l, sizeof(*l));
}

/*
 * Mount: continue from our slot's block (epochs of a block never go back).
 * If it is unreadable, start from the latest epoch any block shows: our
 * block is rewritten before it is read by anyone in a later round.
 */
int vmfs_arb_init(struct vmfs_volume *vol)
{
	int rc;

	vol->arbv = vmfs_zalloc(vol, (size_t)vol->hdr.max_hosts * VMFS_SECTOR);
	if (!vol->arbv)
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	rc = vmfs_raw_read(vol->dev, blk_off(vol, vol->slot), &vol->arb, sizeof(vol->arb));
	if (rc || vmfs_arbblk_check(&vol->arb, vol->slot)) {
		read_blocks(vol);
		memset(&vol->arb, 0, sizeof(vol->arb));
		for (uint32_t s = 0; s < vol->hdr.max_hosts; s++)
			if (!vmfs_arbblk_check(&vol->arbv[s], s) &&
			    vol->arbv[s].epoch > vol->arb.epoch)
				vol->arb.epoch = vol->arbv[s].epoch;
		vol->arb.epoch++;	/* never an epoch our lost block may have joined */
	}
	vol->arb_min_epoch = vol->arb.epoch;
	return 0;
}

/*
 * Housekeeping, outside the section: our block on disk must be what we last
 * wrote (rewrite it if not). And if the leader is unreadable and every block
 * names us as the last epoch's value, that epoch was ours and we are not in
 * it: write it released, so that others need not wait for our next lock
 * operation. (Were a later epoch decided meanwhile, this late "released"
 * only makes runners rerun that decided instance, which names its holder.)
 */
int vmfs_arb_check_own(struct vmfs_volume *vol)
{
	struct vmfs_arbblk cur;
	struct vmfs_arbldr l;
	bool synth, complete = false;
	int rc;

	if (!vol->arbv || vol->arb_depth || vol->dev->ops->compare_and_write)
		return 0;
	rc = vmfs_raw_read(vol->dev, blk_off(vol, vol->slot), &cur, sizeof(cur));
	if (!vmfs_is_zero(&vol->arb, sizeof(vol->arb)) &&
	    (rc || memcmp(&cur, &vol->arb, sizeof(cur)))) {
		rc = vmfs_dev_write(vol, blk_off(vol, vol->slot), &vol->arb, sizeof(vol->arb));
		if (rc)
			return rc;
	}
	rc = read_ldr(vol, &l, &synth, &complete);
	if (rc || !synth || !complete || l.owner != vol->slot + 1 || l.owner_gen != vol->hb_gen)
		return rc;
	fill_ldr(vol, &l, l.epoch, false);
	return vmfs_dev_write(vol, vmfs_arb_ldr_off(vol), &l, sizeof(l));
}

/*
 * Housekeeping: zero the unreadable blocks of free slots. A free slot's host
 * is in no section, and forgetting a value it accepted is harmless: a holder
 * enters only after completing phase 2 with its own ballot, and every block
 * with a higher ballot in that epoch names the same holder, so what remains
 * still names it.
 */
int vmfs_arb_clean_free(struct vmfs_volume *vol)
{
	struct vmfs_hbslot hb;
	static const struct vmfs_arbblk zero;
	int rc = 0;

	if (!vol->arbv || vol->dev->ops->compare_and_write)
		return 0;
	read_blocks(vol);
	for (uint32_t s = 0; !rc && s < vol->hdr.max_hosts; s++) {
		if (s == vol->slot || !vmfs_arbblk_check(&vol->arbv[s], s))
			continue;
		if (vmfs_raw_read(vol->dev, vmfs_hb_off(vol, s), &hb, sizeof(hb)) ||
		    !vmfs_hb_valid(&hb, s) || hb.state != VMFS_HB_FREE)
			continue;
		rc = vmfs_dev_write(vol, blk_off(vol, s), &zero, sizeof(zero));
	}
	return rc;
}

/*
 * Slot s's block cannot be read or is corrupt. Skipping it could forget a
 * value accepted in this epoch (a torn 4 KiB physical sector of a 512e disk
 * destroys eight blocks at once) and let two hosts be chosen, so the round
 * is aborted unless the block's host can no longer be inside the section:
 * its slot is free, or its holder is dead or gone. A live host rewrites its
 * own block at its next attempt (and vmfs_housekeep checks it), so an abort
 * lasts until then.
 */
static int arb_unreadable(struct vmfs_volume *vol, uint32_t s)
{
	struct vmfs_hbslot hb;
	enum vmfs_holder st;
	int rc = vmfs_heartbeat_read(vol, s, &hb);

	if (rc == -EIO)
		rc = 0, st = VMFS_HOLDER_UNKNOWN;	/* corrupt heartbeat: cannot judge */
	else if (!rc && hb.state == VMFS_HB_FREE)
		return 0;
	else if (!rc)
		rc = vmfs_holder_state(vol, s, hb.generation, &st);
	if (rc)
		return rc;
	if (st == VMFS_HOLDER_DEAD || st == VMFS_HOLDER_GONE)
		return 0;
	vol->arb_bad_slot = s + 1;
	return -EAGAIN;
}

/* Write our block, read everyone's; -EAGAIN if a later epoch or higher ballot exists. */
static int paxos_phase(struct vmfs_volume *vol, uint64_t *best_bal, uint64_t *inp,
		       uint64_t *inp_gen)
{
	struct vmfs_arbblk *me = &vol->arb;
	int rc;

	me->magic = VMFS_MAGIC_ARB;
	me->slot = vol->slot;
	me->hb_gen = vol->hb_gen;
	vmfs_seal(me, sizeof(*me));
	rc = vmfs_dev_write(vol, blk_off(vol, vol->slot), me, sizeof(*me));
	if (!rc)
		rc = read_blocks(vol);
	for (uint32_t s = 0; !rc && s < vol->hdr.max_hosts; s++) {
		const struct vmfs_arbblk *q = &vol->arbv[s];

		if (s == vol->slot || vmfs_is_zero(q, sizeof(*q)))
			continue;
		if (vmfs_arbblk_check(q, s)) {
			rc = arb_unreadable(vol, s);
			continue;
		}
		if (q->epoch < me->epoch)
			continue;
		if (q->epoch > me->epoch) {
			vol->arb_min_epoch = q->epoch;
			return -EAGAIN;
		}
		if (q->mbal > me->mbal) {
			vol->arb_seen_mbal = q->mbal;
			return -EAGAIN;
		}
		if (q->bal > *best_bal) {
			*best_bal = q->bal;
			*inp = q->inp;
			*inp_gen = q->inp_gen;
		}
	}
	return rc;
}

/* Run consensus instance e proposing ourselves; *v / *vgen get the chosen holder. */
static int paxos_run(struct vmfs_volume *vol, uint64_t e, uint64_t *v, uint64_t *vgen)
{
	struct vmfs_arbblk *me = &vol->arb;
	uint64_t n = vol->hdr.max_hosts, top, best = 0, inp = 0, inp_gen = 0;
	int rc;

	if (me->epoch != e) {
		me->epoch = e;
		me->mbal = me->bal = me->inp = me->inp_gen = 0;
		vol->arb_seen_mbal = 0;
	}
	top = me->mbal > vol->arb_seen_mbal ? me->mbal : vol->arb_seen_mbal;
	me->mbal = (top / n + 1) * n + vol->slot + 1;
	rc = paxos_phase(vol, &best, &inp, &inp_gen);
	if (rc)
		return rc;
	if (me->bal > best) {
		best = me->bal;
		inp = me->inp;
		inp_gen = me->inp_gen;
	}
	if (!best) {
		inp = vol->slot + 1;
		inp_gen = vol->hb_gen;
	}
	me->bal = me->mbal;
	me->inp = inp;
	me->inp_gen = inp_gen;
	best = 0;
	rc = paxos_phase(vol, &best, &inp, &inp_gen);
	if (rc)
		return rc;
	*v = me->inp;
	*vgen = me->inp_gen;
	return 0;
}

/* -EBUSY unless the leader is released or its holder is dead; *epoch: the leader's. */
static int ldr_free(struct vmfs_volume *vol, const struct vmfs_arbldr *l)
{
	enum vmfs_holder st;
	int rc;

	if (!l->held)
		return 0;
	rc = vmfs_holder_state(vol, l->owner - 1, l->owner_gen, &st);
	if (rc)
		return rc;
	if (st == VMFS_HOLDER_ALIVE || st == VMFS_HOLDER_UNKNOWN)
		return -EBUSY;
	return 0;	/* dead, or a later incarnation runs: it is not in the section */
}

static int arb_try_ats(struct vmfs_volume *vol, const struct vmfs_arbldr *l)
{
	struct vmfs_arbldr n;
	int rc = ldr_free(vol, l);

	if (rc)
		return rc;
	fill_ldr(vol, &n, l->epoch + 1, true);
	rc = vmfs_lease_check(vol);
	if (!rc)
		rc = vol->dev->ops->compare_and_write(vol->dev, vmfs_arb_ldr_off(vol) / VMFS_SECTOR,
						      l, &n);
	if (!rc)
		vol->arb_epoch = n.epoch;
	return rc;
}

/* One attempt: 0 = we hold the section, -EAGAIN = retry soon, -EBUSY = held by a live host. */
int vmfs_arb_try(struct vmfs_volume *vol)
{
	struct vmfs_arbldr l;
	uint64_t e, v = 0, vgen = 0;
	enum vmfs_holder st;
	bool synth, complete;
	int rc = read_ldr(vol, &l, &synth, &complete);

	if (rc)
		return rc;
	if (vol->dev->ops->compare_and_write)
		return arb_try_ats(vol, &l);
	/* a rebuilt leader names a value accepted, not necessarily chosen: never a shortcut */
	if (!synth && l.held && l.owner == vol->slot + 1 && l.owner_gen == vol->hb_gen) {
		vol->arb_epoch = l.epoch;	/* chosen in an attempt that then failed */
		return 0;
	}
	rc = ldr_free(vol, &l);
	if (rc)
		return rc;
	e = l.epoch + 1 > vol->arb_min_epoch ? l.epoch + 1 : vol->arb_min_epoch;
	rc = paxos_run(vol, e, &v, &vgen);
	if (rc)
		return rc;
	if (v == vol->slot + 1 && vgen == vol->hb_gen) {
		fill_ldr(vol, &l, e, true);
		rc = vmfs_dev_write(vol, vmfs_arb_ldr_off(vol), &l, sizeof(l));
		if (!rc)
			vol->arb_epoch = e;
		return rc;
	}
	rc = vmfs_holder_state(vol, (uint32_t)v - 1, vgen, &st);
	if (rc)
		return rc;
	if (st == VMFS_HOLDER_DEAD || st == VMFS_HOLDER_GONE || st == VMFS_HOLDER_PENDING) {
		vol->arb_min_epoch = e + 1;	/* its holder will never use or release it */
		return -EAGAIN;
	}
	vol->arb_min_epoch = e;
	return -EBUSY;
}

int vmfs_arb_acquire(struct vmfs_volume *vol)
{
	uint64_t start = vmfs_mono(vol), limit = vol->lease_ns * 4;
	unsigned backoff = 2;
	int rc;

	if (vol->arb_depth) {
		vol->arb_depth++;
		return 0;
	}
	vol->arb_bad_slot = 0;
	for (;;) {
		rc = vmfs_lease_check(vol);
		if (!rc)
			rc = vmfs_arb_try(vol);
		if (!rc) {
			vol->arb_depth = 1;
			return 0;
		}
		if (rc != -EAGAIN && rc != -EBUSY)
			return rc;
		if (vmfs_mono(vol) - start > limit && vol->arb_bad_slot)
			return vmfs_seterr(vol, -EBUSY, "arbitration block of slot %u is unreadable "
					   "and its host may be alive: waiting for it to rewrite "
					   "the block (%u s so far)", vol->arb_bad_slot - 1,
					   (unsigned)(limit / 1000000000ull));
		if (vmfs_mono(vol) - start > limit)
			return vmfs_seterr(vol, -EBUSY, "arbitration lease: still busy after %u s",
					   (unsigned)(limit / 1000000000ull));
		vmfs_backoff(vol, backoff);
		if (backoff < 16)
			backoff *= 2;
	}
}

int vmfs_arb_release(struct vmfs_volume *vol)
{
	struct vmfs_arbldr l, old;
	int rc;

	if (!vol->arb_depth || --vol->arb_depth)
		return 0;
	fill_ldr(vol, &l, vol->arb_epoch, false);
	if (vol->dev->ops->compare_and_write) {
		rc = vmfs_lease_check(vol);
		if (!rc) {
			rc = vmfs_raw_read(vol->dev, vmfs_arb_ldr_off(vol), &old, sizeof(old));
			if (!rc && old.owner == vol->slot + 1 && old.owner_gen == vol->hb_gen &&
			    old.epoch == vol->arb_epoch)
				rc = vol->dev->ops->compare_and_write(vol->dev,
						vmfs_arb_ldr_off(vol) / VMFS_SECTOR, &old, &l);
		}
		return rc;
	}
	return vmfs_dev_write(vol, vmfs_arb_ldr_off(vol), &l, sizeof(l));
}
