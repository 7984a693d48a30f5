/*
 * The locks this host holds, and keeping them after use.
 *
 * Taking a lock record from free costs a round of the arbitration lease
 * (Disk Paxos: about ten sector I/Os), so locks are kept after use and given
 * back only when another host asks (lazy release), at unmount, or when too
 * many sit unused. The table below is the host's view: per lock record its
 * mode, how many operations use it now (refs), and an epoch - a number
 * drawn afresh each time the lock is really acquired - that the metadata
 * cache (vmfs_cache.c) compares to decide whether what the lock guards may
 * still be served from memory.
 *
 * Asking: a host that finds a lock held by a live host writes a request
 * {lock offset, holder slot and generation} into its own heartbeat slot
 * (vmfs_want_post). The holder's heartbeat thread reads the whole heartbeat
 * region at each renewal, notices requests addressed to it and records them
 * (wants[], atomics: the one thing the heartbeat thread shares with the
 * rest). The holder hands the lock over at its next call into fs/
 * (vmfs_want_service): only locks no operation is using, never inside a
 * transaction, and only after a journal checkpoint has written everything
 * the lock guards home. Handing over is one write of the record naming the
 * asker as holder (we hold it exclusively, so nobody else writes it): the
 * asker finds itself holding it at its next look, and a holder that takes
 * the lock again and again cannot starve it. Every request carries a new
 * sequence number and is honoured once; a lock handed to a host that had
 * stopped waiting for it is still its own, and is handed on when asked.
 * A holder that does not hold the lock when it looks at a request drops
 * it (the lock may be on its way back to it), so a waiting host asks
 * again, as a new request, every renewal interval.
 *
 * An exclusive file or directory lock kept unused says so on disk (the
 * record's idle flag, written by its holder alone): a host wanting it then
 * asks and waits instead of failing at once with -EBUSY as it does for a
 * file that is really open elsewhere. A host alone on the volume leaves that
 * flag as it is while it uses a kept file lock, and writes it only once
 * another host appears; a file created in a kept descriptor is marked only
 * when another host asks for it (mark_idle).
 */
#include "vmfs_priv.h"

#define HELD_MIN_SLOTS 64u
#define HELD_IDLE_MAX 512u	/* unused locks kept; beyond that the oldest go back */

static uint64_t hash_off(uint64_t off)
{
	off ^= off >> 31;
	off *= 0x94d049bb133111ebull;
	return off ^ (off >> 29);
}

static struct vmfs_held *slot_for(struct vmfs_heldtab *t, uint64_t off, bool *found)
{
	uint64_t mask = t->nslots - 1;

	for (uint64_t i = hash_off(off) & mask;; i = (i + 1) & mask) {
		struct vmfs_held *h = &t->slots[i];

		if (h->off == off || !h->off) {
			*found = h->off == off;
			return h;
		}
	}
}

static int grow(struct vmfs_volume *vol)
{
	struct vmfs_heldtab *t = &vol->heldtab, n = *t;
	bool found;

	n.nslots = t->nslots ? t->nslots * 2 : HELD_MIN_SLOTS;
	n.slots = vmfs_zalloc(vol, n.nslots * sizeof(*n.slots));
	if (!n.slots)
		return vmfs_seterr(vol, -ENOMEM, "out of memory for the lock table");
	for (uint64_t i = 0; i < t->nslots; i++)
		if (t->slots[i].off)
			*slot_for(&n, t->slots[i].off, &found) = t->slots[i];
	vmfs_free(vol, t->slots);
	*t = n;
	return 0;
}

struct vmfs_held *vmfs_held_find(struct vmfs_volume *vol, uint64_t off)
{
	bool found;
	struct vmfs_held *h;

	if (!vol->heldtab.nslots)
		return NULL;
	h = slot_for(&vol->heldtab, off, &found);
	return found ? h : NULL;
}

/* Record a lock just acquired (a new epoch); rec is the record as we wrote it. */
struct vmfs_held *vmfs_held_add(struct vmfs_volume *vol, uint64_t off, uint32_t mode,
				uint8_t kind, const struct vmfs_lockrec *rec)
{
	struct vmfs_heldtab *t = &vol->heldtab;
	struct vmfs_held *h;
	bool found;

	if ((t->count + 1) * 2 > t->nslots && grow(vol))
		return NULL;
	h = slot_for(t, off, &found);
	if (!found)
		t->count++;
	memset(h, 0, sizeof(*h));
	h->off = off;
	h->mode = mode;
	h->kind = kind;
	h->epoch = ++vol->epoch_clock;
	h->stamp = ++t->clock;
	if (rec)
		h->rec = *rec;
	return h;
}

void vmfs_held_remove(struct vmfs_volume *vol, struct vmfs_held *h)
{
	struct vmfs_heldtab *t = &vol->heldtab;
	uint64_t mask = t->nslots - 1, i = (uint64_t)(h - t->slots), j = i;

	t->nlazy -= h->lazy != 0;
	t->nlazy_alone -= h->lazy == 1;
	memset(h, 0, sizeof(*h));
	t->count--;
	for (;;) {
		uint64_t k;

		j = (j + 1) & mask;
		if (!t->slots[j].off)
			return;
		k = hash_off(t->slots[j].off) & mask;
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			t->slots[i] = t->slots[j];
			memset(&t->slots[j], 0, sizeof(t->slots[j]));
			i = j;
		}
	}
}

void vmfs_held_destroy(struct vmfs_volume *vol)
{
	vmfs_free(vol, vol->heldtab.slots);
	memset(&vol->heldtab, 0, sizeof(vol->heldtab));
}

/*
 * The epoch under which what the lock at off guards may be cached; 0: not
 * cacheable. Once our lease is lost, another host may break any lock we
 * still list and change what it guards: nothing clean is served from the
 * cache any more.
 */
uint32_t vmfs_lock_epoch(struct vmfs_volume *vol, uint64_t off)
{
	struct vmfs_held *h = vmfs_held_find(vol, off);

	if (!vmfs_lease_valid(vol))
		return 0;
	return h && (h->mode == VMFS_LOCK_EXCL || h->mode == VMFS_LOCK_RO) ? h->epoch : 0;
}

static int adopt(struct vmfs_volume *vol, uint64_t off, uint32_t mode, uint8_t kind);

/* ---- requests from other hosts (the heartbeat thread records them) ---- */

/*
 * Heartbeat thread: the heartbeat region as read at a renewal. Requests from
 * live hosts addressed to this incarnation are stored in wants[] (by slot).
 */
void vmfs_want_scan(struct vmfs_volume *vol, const struct vmfs_hbslot *all)
{
	bool any = false;

	for (uint32_t s = 0; s < vol->hdr.max_hosts; s++) {
		const struct vmfs_hbslot *hb = &all[s];
		uint64_t want = 0;

		if (s != vol->slot && hb->magic == VMFS_MAGIC_HB && hb->state != VMFS_HB_FREE &&
		    hb->want_off && hb->want_slot == vol->slot && hb->want_gen == vol->hb_gen)
			want = hb->want_off;
		if (__atomic_load_n(&vol->wants[s], __ATOMIC_ACQUIRE) != want ||
		    __atomic_load_n(&vol->wants_seq[s], __ATOMIC_ACQUIRE) != hb->want_seq) {
			__atomic_store_n(&vol->wants_by[s], hb->generation, __ATOMIC_RELEASE);
			__atomic_store_n(&vol->wants_seq[s], hb->want_seq, __ATOMIC_RELEASE);
			__atomic_store_n(&vol->wants[s], want, __ATOMIC_RELEASE);
			any |= want != 0;
		}
	}
	if (any)
		__atomic_add_fetch(&vol->wants_gen, 1, __ATOMIC_ACQ_REL);
}

/* Ask the holder (slot, gen) for the lock at off: our next heartbeat carries it, now. */
void vmfs_want_post(struct vmfs_volume *vol, uint64_t off, uint32_t slot, uint64_t gen)
{
	if (vol->want_off == off && vol->want_slot == slot && vol->want_gen == gen)
		return;
	__atomic_store_n(&vol->want_seq, vol->want_seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&vol->want_slot, slot, __ATOMIC_RELEASE);
	__atomic_store_n(&vol->want_gen, gen, __ATOMIC_RELEASE);
	__atomic_store_n(&vol->want_off, off, __ATOMIC_RELEASE);
	vmfs_hb_renew_now(vol);
}

void vmfs_want_clear(struct vmfs_volume *vol)
{
	__atomic_store_n(&vol->want_off, 0, __ATOMIC_RELEASE);	/* the next renewal carries it */
}

/* Does the open transaction hold a block the lock at off guards? */
static bool used_by_txn(const struct vmfs_volume *vol, uint64_t off)
{
	const struct vmfs_txn *txn = vol->txn;

	for (unsigned i = 0; txn && i < txn->nbuf; i++)
		if (txn->buf[i].guard == off)
			return true;
	return false;
}

static int mark_idle(struct vmfs_volume *vol, struct vmfs_held *h, bool idle);

/* Write the in-use marks left out (those of new files stay out until a publication). */
static int mark_lazy(struct vmfs_volume *vol)
{
	struct vmfs_heldtab *t = &vol->heldtab;
	int rc = 0;

	for (uint64_t i = 0; !rc && t->nlazy && i < t->nslots; i++) {
		struct vmfs_held *h = &t->slots[i];

		if (h->off && h->lazy)
			rc = mark_idle(vol, h, false);
	}
	return rc;
}

/*
 * A publication is about to make new names visible to other hosts. The
 * files created since the last one and still in use keep their marks left
 * out: a host that finds such a file asks for its lock, and the request
 * has the mark written (vmfs_want_service). Marks left out while we were
 * alone are written if another host is here now.
 */
int vmfs_held_before_publish(struct vmfs_volume *vol)
{
	vol->npub++;
	return vol->heldtab.nlazy_alone && !vmfs_alone(vol) ? mark_lazy(vol) : 0;
}

static int write_idle(struct vmfs_volume *vol, struct vmfs_held *h, bool idle);

/*
 * Hand over unused locks other hosts asked for. Inside a transaction too
 * (two hosts each waiting inside one for a lock the other keeps unused must
 * not wait forever), but never one guarding a block the transaction holds.
 * First, if another host has appeared, write the in-use marks left out
 * while we were alone (mark_idle).
 */
int vmfs_want_service(struct vmfs_volume *vol)
{
	uint64_t gen = __atomic_load_n(&vol->wants_gen, __ATOMIC_ACQUIRE);
	int rc = 0;

	if (vol->heldtab.nlazy_alone && !vmfs_alone(vol) && (rc = mark_lazy(vol)))
		return rc;
	if (gen == vol->wants_seen || !vol->wants || vol->in_service)
		return 0;
	__atomic_store_n(&vol->wants_seen, gen, __ATOMIC_RELEASE);
	for (uint32_t s = 0; !rc && s < vol->hdr.max_hosts; s++) {
		uint64_t off = __atomic_load_n(&vol->wants[s], __ATOMIC_ACQUIRE);
		uint32_t seq = __atomic_load_n(&vol->wants_seq[s], __ATOMIC_ACQUIRE);
		struct vmfs_held *h = off ? vmfs_held_find(vol, off) : NULL;

		if (!off || seq == vol->wants_done[s])
			continue;
		if (!h && adopt(vol, off, VMFS_LOCK_EXCL, VMFS_LK_DIR) == 0)
			h = vmfs_held_find(vol, off);	/* handed to us while we no longer waited */
		if (!h) {
			vol->wants_done[s] = seq;
			continue;
		}
		if (h->refs || used_by_txn(vol, off)) {
			/* in use: say so if the mark was left out (the asker then
			 * stops waiting), and look again at the next call */
			if (h->refs && h->lazy)
				rc = write_idle(vol, h, false);
			__atomic_store_n(&vol->wants_seen, gen - 1, __ATOMIC_RELEASE);
			continue;
		}
		vol->in_service = true;
		rc = vmfs_lock_hand_over(vol, h, s, __atomic_load_n(&vol->wants_by[s],
								  __ATOMIC_ACQUIRE));
		vol->in_service = false;
		vol->wants_done[s] = seq;
		__atomic_compare_exchange_n(&vol->wants[s], &off, 0, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_ACQUIRE);
	}
	return rc;
}

/*
 * Any thread: has a request come in that the thread using the volume has
 * not looked at yet (or found the lock in use)? Atomics only.
 */
bool vmfs_wants_pending(const struct vmfs_volume *vol)
{
	return vol->wants && __atomic_load_n(&vol->wants_gen, __ATOMIC_ACQUIRE) !=
		__atomic_load_n(&vol->wants_seen, __ATOMIC_ACQUIRE);
}

int vmfs_release_wanted(struct vmfs_volume *vol)
{
	return vol->rdonly || !vmfs_lease_valid(vol) ? 0 : vmfs_want_service(vol);
}

/* Too many unused locks: give back the least recently used half. */
int vmfs_held_trim(struct vmfs_volume *vol)
{
	struct vmfs_heldtab *t = &vol->heldtab;
	uint32_t idle = 0;
	uint64_t cut;
	int rc = 0;

	for (uint64_t i = 0; i < t->nslots; i++)
		idle += t->slots[i].off && !t->slots[i].refs;
	if (idle <= HELD_IDLE_MAX || vol->txn)
		return 0;
	cut = t->clock - t->count / 2;
	for (uint64_t i = 0; !rc && i < t->nslots; i++) {
		struct vmfs_held *h = &t->slots[i];

		if (h->off && !h->refs && h->stamp < cut) {
			rc = vmfs_lock_give_back(vol, h);
			i--;	/* the slot may now hold a moved entry */
		}
	}
	return rc;
}

/* ---- taking, using and giving back ---- */

static uint64_t idle_wait_ns(const struct vmfs_volume *vol)
{
	return 3ull * vmfs_renew_interval_ms(vol) * 1000000ull + 200000000ull;
}

/*
 * Set or clear the idle flag of a record we hold exclusively.
 *
 * The flag only tells another host whether to fail an open at once (the
 * file is in use here) or to ask for the lock and wait (we merely keep it);
 * it decides nothing about who holds the lock, and we hand over only locks
 * nothing uses. So a host alone on the volume does not write "in use" when
 * it starts using a kept lock, nor "unused" when it stops (lazy, 1): a file
 * created, written and closed costs no lock-record write. Once another host
 * is seen (vmfs_want_service) the lazy marks are written; a host that asked
 * meanwhile waited, and is then told the file is in use, or gets it after
 * the close. Nor does any host mark a file it created (in a descriptor whose
 * lock it kept; lazy, 2), even after a publication made its name visible:
 * a host that wants it asks, and vmfs_want_service writes the mark of a
 * lock in use that was asked for. The asker learns "in use" a renewal
 * interval late instead of at once; a file created and removed while
 * nobody asked for it costs no lock-record write.
 */
static void unlazy(struct vmfs_volume *vol, struct vmfs_held *h)
{
	if (h->lazy) {
		vol->heldtab.nlazy--;
		vol->heldtab.nlazy_alone -= h->lazy == 1;
		h->lazy = 0;
	}
}

static int mark_idle(struct vmfs_volume *vol, struct vmfs_held *h, bool idle)
{
	if (h->mode != VMFS_LOCK_EXCL)
		return 0;
	unlazy(vol, h);
	if ((h->rec.idle != 0) == idle)
		return 0;
	if (!idle && h->rec.idle && (h->born == vol->npub + 1 || vmfs_alone(vol))) {
		h->lazy = h->born == vol->npub + 1 ? 2 : 1;
		vol->heldtab.nlazy++;
		vol->heldtab.nlazy_alone += h->lazy == 1;
		return 0;
	}
	return write_idle(vol, h, idle);
}

/* Write the idle flag of an exclusive record we hold; a mark left out is written. */
static int write_idle(struct vmfs_volume *vol, struct vmfs_held *h, bool idle)
{
	struct vmfs_lockrec rec = h->rec;
	int rc;

	unlazy(vol, h);
	if ((h->rec.idle != 0) == idle)
		return 0;
	rec.idle = idle;
	rc = vmfs_lock_write_own(vol, h->off, &h->rec, &rec);
	if (!rc)
		h->rec = rec;
	return rc == -EAGAIN ? vmfs_seterr(vol, -EIO, "lock record at offset %llu changed "
					   "while we held it", (unsigned long long)h->off) : rc;
}

/*
 * Really release a lock: nothing may use it, everything it guards is first
 * written home (journal checkpoint), then the record is freed (exclusive:
 * one write; shared: read-modify-write under arbitration) and the lock
 * leaves the table, which ends the validity of what the cache holds under it.
 */
int vmfs_lock_give_back(struct vmfs_volume *vol, struct vmfs_held *h)
{
	struct vmfs_lockrec rec;
	uint64_t off = h->off;
	uint32_t mode = h->mode;
	int rc;

	if (h->refs)
		return vmfs_seterr(vol, -EBUSY, "internal: giving back a lock in use");
	rc = vmfs_journal_checkpoint(vol);
	if (rc)
		return rc;
	h = vmfs_held_find(vol, off);	/* the checkpoint may have given it back */
	if (!h)
		return 0;
	if (mode == VMFS_LOCK_EXCL) {
		memset(&rec, 0, sizeof(rec));
		rec.version = h->rec.version;
		rc = vmfs_lock_write_own(vol, off, &h->rec, &rec);
		vmfs_held_remove(vol, h);
		return rc;
	}
	vmfs_held_remove(vol, h);
	return vmfs_lock_leave(vol, off, "lock");
}

/*
 * Hand an exclusive lock we keep unused to the host (slot, gen) that asked
 * for it: checkpoint, then one write naming it holder (marked unused: it
 * clears the mark when it uses the lock). A shared lock is given back.
 */
int vmfs_lock_hand_over(struct vmfs_volume *vol, struct vmfs_held *h, uint32_t slot,
			uint64_t gen)
{
	struct vmfs_lockrec rec;
	uint64_t off = h->off;
	int rc;

	if (h->mode != VMFS_LOCK_EXCL || h->refs || slot >= vol->hdr.max_hosts)
		return vmfs_lock_give_back(vol, h);
	rc = vmfs_journal_checkpoint(vol);
	if (rc)
		return rc;
	h = vmfs_held_find(vol, off);
	if (!h)
		return 0;
	rec = h->rec;
	memset(rec.holders, 0, sizeof(rec.holders));
	rec.holders[0].slot = (uint16_t)slot;
	rec.holders[0].hb_gen = gen;
	rec.nholders = 1;
	rec.idle = 1;
	rc = vmfs_lock_write_own(vol, off, &h->rec, &rec);
	vmfs_held_remove(vol, h);
	return rc;
}

/* Unmount: give back every lock. */
int vmfs_lock_give_back_all(struct vmfs_volume *vol)
{
	struct vmfs_heldtab *t = &vol->heldtab;
	int ret = vmfs_journal_checkpoint(vol);

	for (uint64_t i = 0; !ret && i < t->nslots; i++) {
		struct vmfs_held *h = &t->slots[i];
		int rc;

		if (!h->off)
			continue;
		h->refs = 0;
		rc = vmfs_lock_give_back(vol, h);
		if (rc && !ret)
			ret = rc;
		i--;	/* the slot may now hold a moved entry */
	}
	return ret;
}

/*
 * A lock handed over to us shows us as holder: take it into the table
 * without arbitration (nobody else writes a record that names a live
 * holder). -EAGAIN: it is not ours.
 */
static int adopt(struct vmfs_volume *vol, uint64_t off, uint32_t mode, uint8_t kind)
{
	struct vmfs_lockrec rec;
	int rc = vmfs_lock_read(vol, off, &rec);

	if (rc)
		return rc;
	if (rec.mode != mode || mode != VMFS_LOCK_EXCL || rec.nholders != 1 ||
	    rec.holders[0].slot != vol->slot || rec.holders[0].hb_gen != vol->hb_gen)
		return -EAGAIN;
	return vmfs_held_add(vol, off, mode, kind, &rec) ? 0 :
		vmfs_seterr(vol, -ENOMEM, "out of memory");
}

/*
 * Take the lock at off in mode (or use it again if we kept it). kind: what
 * it protects (VMFS_LK_*): cluster locks have no users to count and stay
 * until asked for; files and directories count users and stay unused (idle)
 * after the last. wait: see enum vmfs_lock_wait; a holder that keeps the lock
 * unused is asked for it and waited for, whatever wait says.
 */
static int lock_get(struct vmfs_volume *vol, uint64_t off, uint32_t mode, enum vmfs_lock_wait wait,
		    uint8_t kind, bool idle, const char *what)
{
	bool use = kind == VMFS_LK_USE;	/* short use: the record stays marked unused */

	if (use) {
		kind = VMFS_LK_DIR;
		idle = true;
	}
	uint64_t start = vmfs_mono(vol), since = start, now;
	uint64_t limit = wait == VMFS_LW_WAIT ? vol->lease_ns * 8 : vol->lease_ns * 3 / 2;
	uint64_t last_gen = 0, asked = 0;
	uint32_t last_slot = UINT32_MAX;
	struct vmfs_held *h;
	unsigned backoff = 1, cas = 0;
	struct vmfs_busy bi;
	int rc;

	vmfs_want_service(vol);		/* others first: a busy host must not starve them */
	h = vmfs_held_find(vol, off);
	if (h && h->mode == mode) {
		h->refs += kind != VMFS_LK_CLUSTER;
		h->stamp = ++vol->heldtab.clock;
		return kind == VMFS_LK_FILE ? mark_idle(vol, h, false) : 0;
	}
	if (h && h->refs)
		return vmfs_seterr(vol, -EBUSY, "%s is in use on this host in another mode", what);
	if (h && (rc = vmfs_lock_give_back(vol, h)))
		return rc;
	for (;;) {
		rc = adopt(vol, off, mode, kind);
		if (rc == -EAGAIN)
			rc = vmfs_lock_try_once(vol, off, mode, kind, idle, what, &bi);
		if (rc == -EAGAIN && ++cas < 8)
			continue;
		if (rc == -EAGAIN)
			rc = vmfs_seterr(vol, -EBUSY, "%s: lock record keeps changing", what);
		if (!rc) {
			h = vmfs_held_find(vol, off);
			h->refs = kind != VMFS_LK_CLUSTER;
			vmfs_want_clear(vol);
			return kind == VMFS_LK_FILE ? mark_idle(vol, h, false) : 0;	/* handed over */
		}
		if (rc != -EBUSY || wait == VMFS_LW_TRY)
			break;
		now = vmfs_mono(vol);
		if (bi.alive && (bi.idle || wait == VMFS_LW_WAIT)) {	/* ask for it */
			/* Asked already and still waiting: ask again as a new request
			 * once per renewal interval. A holder drops a request for a
			 * lock it does not hold when it looks (it handed the lock on,
			 * and it may come back to it); the same request is not honoured
			 * twice, so only a new one reaches it then. */
			if (asked && now - asked > vmfs_renew_interval_ms(vol) * 1000000ull) {
				vmfs_want_clear(vol);
				asked = 0;
			}
			if (!asked || vol->want_off != off || vol->want_slot != bi.slot ||
			    vol->want_gen != bi.gen)
				asked = now;
			vmfs_want_post(vol, off, bi.slot, bi.gen);
		}
		if (wait == VMFS_LW_NOWAIT && bi.alive && !bi.idle)
			break;		/* really in use elsewhere */
		/* a holder keeping it unused answers soon if it is alive; if it is
		 * not seen alive, watch it until it is judged (it may be dead).
		 * The wait is counted per holder: a lock passing from host to host
		 * is progress (a loaded machine may hold each turn for long), one
		 * holder sitting on it is not; four limits bound the whole wait. */
		if (bi.slot != last_slot || bi.gen != last_gen) {
			last_slot = bi.slot;
			last_gen = bi.gen;
			since = now;
		}
		if (now - since > (bi.idle && bi.alive && wait == VMFS_LW_NOWAIT ?
				   idle_wait_ns(vol) : limit) || now - start > limit * 4)
			break;
		vmfs_want_service(vol);	/* never sit on what the holder may be waiting for */
		rc = vmfs_lease_check(vol);
		if (rc)
			break;
		vmfs_backoff(vol, backoff);
		if (backoff < vmfs_renew_interval_ms(vol) / 4)
			backoff *= 2;
	}
	vmfs_want_clear(vol);
	return rc;
}

int vmfs_lock_get(struct vmfs_volume *vol, uint64_t off, uint32_t mode, enum vmfs_lock_wait wait,
		  uint8_t kind, const char *what)
{
	return lock_get(vol, off, mode, wait, kind, false, what);
}

/* One use of a lock ends; it stays (lazily) unless it is shared. */
int vmfs_lock_put(struct vmfs_volume *vol, uint64_t off)
{
	struct vmfs_held *h = vmfs_held_find(vol, off);
	int rc = 0;

	if (!h)
		return 0;
	if (h->refs)
		h->refs--;
	if (h->refs)
		return 0;
	if (h->mode != VMFS_LOCK_EXCL)
		rc = vmfs_lock_give_back(vol, h);	/* shared: others may be waiting */
	else if (h->kind != VMFS_LK_CLUSTER)
		rc = mark_idle(vol, h, true);
	return rc ? rc : vmfs_held_trim(vol);
}

/*
 * The lock of a descriptor we just allocated (nobody can find it yet): taken
 * exclusive and kept unused; idle says whether the record shows it unused
 * (a new directory) or about to be used (a file being opened). We usually
 * still hold it from the removal that freed the descriptor.
 */
int vmfs_lock_take_new(struct vmfs_volume *vol, uint64_t off, uint8_t kind, bool idle)
{
	struct vmfs_held *h = vmfs_held_find(vol, off);
	int rc;

	if (h && h->mode == VMFS_LOCK_EXCL && !h->refs) {
		h->kind = kind;
		h->born = vol->npub + 1;
		return mark_idle(vol, h, idle);
	}
	rc = lock_get(vol, off, VMFS_LOCK_EXCL, VMFS_LW_WAIT, kind, idle, "new descriptor");
	h = rc ? NULL : vmfs_held_find(vol, off);
	if (h)
		h->refs = 0;
	return rc;
}
