/*
 * Metadata cache: descriptors, pointer blocks, directory blocks and cluster
 * headers kept in memory between operations.
 *
 * Every cached block names its guard, the lock record whose holder alone may
 * change it (a descriptor's own lock for the descriptor, its pointer blocks
 * and, for a directory, its blocks; a cluster's lock for its header), and
 * the epoch that guard had in our held-lock table (vmfs_lock.c) when the
 * block was read or written. A clean block is served only while we still
 * hold its guard at that epoch: a lock that is really released (to another
 * host, or at unmount) gets a new epoch, so what it guarded is read again
 * from the disk after another host may have changed it. Locks we keep after
 * use (lazily, until another host asks) keep their blocks valid.
 *
 * A dirty block is newer than its home location: it was changed by a
 * committed transaction that is in our journal but not yet written home
 * (group commit, vmfs_journal.c). Dirty blocks are always served (they are
 * ours: a guard is never released before a checkpoint writes them home),
 * never evicted, and written home by vmfs_cache_writeback. A block whose
 * resource is freed is forgotten at once, dirty or not, so nothing stale is
 * ever written over a resource that was reused. A dirty block may also be
 * unlogged: changed by a transaction whose record is not written yet
 * (vmfs_journal.c defers the record of a transaction that links new file
 * data until the next flush); it is never written home before it is logged.
 *
 * Blocks of a directory we do not hold, read by a lockless path walk or
 * lookup (vmfs_dir.c), are kept too ("peek" blocks), tagged with the state
 * of the directory they were read under: its descriptor's generation,
 * dir_ver and checksum, as read from the disk just before. Such a block is
 * served only inside a walk that has just read the same descriptor again
 * (vmfs_cache_peek_begin). It is right because every change of an entry
 * changes the descriptor (dir_ver), and every writer of a directory's home
 * location writes the descriptor after the blocks (vmfs_cache_writeback,
 * the journal replay): blocks read after a descriptor are never older than
 * it, so blocks kept under an unchanged descriptor are still current.
 *
 * Single-threaded like the rest of a volume; the heartbeat thread never
 * touches it.
 */
#include "vmfs_priv.h"

#define CACHE_MIN_SLOTS 64u

struct vmfs_cbuf {
	uint64_t off;		/* home byte offset; 0 = empty slot */
	uint64_t guard;
	uint32_t epoch;
	uint32_t len;
	bool dirty;
	bool unlogged;		/* dirty, and its transaction's record is not written yet */
	bool ref;		/* used since the eviction hand last passed */
	bool peek;		/* read without the guard: valid for one state of its directory */
	uint32_t pgen, pcrc;	/* that state: the directory descriptor's generation, crc */
	uint64_t pver;		/* and dir_ver */
	uint8_t *data;
};

static uint64_t hash_off(uint64_t off)
{
	off ^= off >> 29;
	off *= 0xbf58476d1ce4e5b9ull;
	return off ^ (off >> 32);
}

static struct vmfs_cbuf *slot_for(struct vmfs_volume *vol, uint64_t off, bool *found)
{
	struct vmfs_cache *c = &vol->cache;
	uint64_t mask = c->nslots - 1;

	for (uint64_t i = hash_off(off) & mask;; i = (i + 1) & mask) {
		struct vmfs_cbuf *b = &c->slots[i];

		if (b->off == off || !b->off) {
			*found = b->off == off;
			return b;
		}
	}
}

int vmfs_cache_init(struct vmfs_volume *vol, uint32_t max_blocks)
{
	struct vmfs_cache *c = &vol->cache;

	c->max = max_blocks;
	c->nslots = CACHE_MIN_SLOTS;	/* doubles as blocks come, up to 2 x max */
	c->slots = vmfs_zalloc(vol, c->nslots * sizeof(*c->slots));
	return c->slots ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory for the metadata cache");
}

void vmfs_cache_destroy(struct vmfs_volume *vol)
{
	struct vmfs_cache *c = &vol->cache;

	for (uint64_t i = 0; c->slots && i < c->nslots; i++)
		vmfs_free(vol, c->slots[i].data);
	vmfs_free(vol, c->slots);
	memset(c, 0, sizeof(*c));
}

/* Remove the entry in slot b, moving later entries of its run back (linear probing). */
static void remove_slot(struct vmfs_volume *vol, struct vmfs_cbuf *b)
{
	struct vmfs_cache *c = &vol->cache;
	uint64_t mask = c->nslots - 1, i = (uint64_t)(b - c->slots), j = i;

	vmfs_free(vol, b->data);
	c->count--;
	c->ndirty -= b->dirty;
	c->nunlogged -= b->unlogged;
	memset(b, 0, sizeof(*b));
	for (;;) {
		uint64_t k;

		j = (j + 1) & mask;
		if (!c->slots[j].off)
			return;
		k = hash_off(c->slots[j].off) & mask;
		if ((j > i && (k <= i || k > j)) || (j < i && k <= i && k > j)) {
			c->slots[i] = c->slots[j];
			memset(&c->slots[j], 0, sizeof(c->slots[j]));
			i = j;
		}
	}
}

/*
 * Make room for one more block: evict a clean one not used since the hand
 * last passed it (the CLOCK approximation of least recently used; the cost
 * per eviction is constant on average).
 */
static void evict_one(struct vmfs_volume *vol)
{
	struct vmfs_cache *c = &vol->cache;

	for (uint64_t n = 0; n < 2 * c->nslots; n++) {
		struct vmfs_cbuf *b = &c->slots[c->hand];

		c->hand = (c->hand + 1) & (c->nslots - 1);
		if (!b->off || b->dirty)
			continue;
		if (b->ref) {
			b->ref = false;
			continue;
		}
		remove_slot(vol, b);
		return;
	}
}

/* Double the table (kept at most half full, so that probes stay short). */
static void grow(struct vmfs_volume *vol)
{
	struct vmfs_cache *c = &vol->cache;
	uint64_t n = c->nslots * 2, mask = n - 1;
	struct vmfs_cbuf *s = vmfs_zalloc(vol, n * sizeof(*s));

	if (!s)
		return;
	for (uint64_t i = 0; i < c->nslots; i++) {
		uint64_t j;

		if (!c->slots[i].off)
			continue;
		for (j = hash_off(c->slots[i].off) & mask; s[j].off; j = (j + 1) & mask)
			;
		s[j] = c->slots[i];
	}
	vmfs_free(vol, c->slots);
	c->slots = s;
	c->nslots = n;
	c->hand = 0;
}

static bool valid(struct vmfs_volume *vol, const struct vmfs_cbuf *b)
{
	const struct vmfs_cache *c = &vol->cache;

	if (b->dirty)
		return true;
	if (b->peek)
		return c->pguard && b->guard == c->pguard && b->pver == c->pver &&
		       b->pgen == c->pgen && b->pcrc == c->pcrc;
	return b->epoch && vmfs_lock_epoch(vol, b->guard) == b->epoch;
}

/*
 * A lockless path walk has just read directory dir's descriptor from the
 * disk and is about to read its blocks: blocks read now are kept, and blocks
 * kept earlier are served, only for this very state of the directory - the
 * descriptor's generation, dir_ver (bumped by every change of an entry) and
 * checksum. Whoever writes a directory home writes its blocks first and the
 * descriptor last (vmfs_cache_writeback, the journal replay), so blocks read
 * after a descriptor are at least as new as it. Nothing is kept inside a
 * transaction (it holds its locks) or for a directory we hold (the epoch
 * rule serves it).
 */
void vmfs_cache_peek_begin(struct vmfs_volume *vol, struct vmfs_txn *txn,
			   const struct vmfs_fd *dir)
{
	struct vmfs_cache *c = &vol->cache;
	uint64_t guard = vmfs_fd_off(vol, dir->index);

	c->pguard = 0;
	if (!c->slots || txn || dir->type != VMFS_FT_DIR || vmfs_lock_epoch(vol, guard))
		return;
	c->pguard = guard;
	c->pgen = dir->gen;
	c->pver = dir->dir_ver;
	c->pcrc = dir->crc;
}

/* End of the step; failed: forget what it kept (a block caught half home). */
void vmfs_cache_peek_end(struct vmfs_volume *vol, bool failed)
{
	struct vmfs_cache *c = &vol->cache;

	for (uint64_t i = 0; failed && c->pguard && i < c->nslots; i++) {
		if (c->slots[i].off && c->slots[i].peek && c->slots[i].guard == c->pguard) {
			remove_slot(vol, &c->slots[i]);
			i--;	/* the slot may now hold a moved entry */
		}
	}
	c->pguard = 0;
}

/* Copy the cached block at off into out if it is dirty or its guard still holds. */
bool vmfs_cache_get(struct vmfs_volume *vol, uint64_t off, uint32_t len, void *out)
{
	struct vmfs_cbuf *b;
	bool found;

	if (!vol->cache.slots)
		return false;
	b = slot_for(vol, off, &found);
	if (!found || b->len != len || !valid(vol, b))
		return false;
	memcpy(out, b->data, len);
	b->ref = true;
	vol->cache.hits++;
	return true;
}

/*
 * Remember data as the block at off. state: VMFS_CB_CLEAN (as at home: kept
 * only under a held guard), VMFS_CB_DIRTY (changed by a logged transaction,
 * not yet home), VMFS_CB_UNLOGGED (changed by a transaction not yet logged).
 */
int vmfs_cache_put(struct vmfs_volume *vol, uint64_t off, uint32_t len, uint64_t guard,
		   const void *data, unsigned state)
{
	bool dirty = state != VMFS_CB_CLEAN, unlogged = state == VMFS_CB_UNLOGGED;
	struct vmfs_cache *c = &vol->cache;
	uint32_t epoch = guard ? vmfs_lock_epoch(vol, guard) : 0;
	bool peek = !dirty && !epoch && guard && guard == c->pguard;	/* a lockless walk's */
	struct vmfs_cbuf *b;
	bool found;

	if (!c->slots || len > VMFS_MD_BLOCK || (!dirty && !epoch && !peek))
		return 0;
	b = slot_for(vol, off, &found);
	if (!found) {
		if (c->count >= c->max) {
			evict_one(vol);
			b = slot_for(vol, off, &found);
		}
		if (c->count + 1 > c->nslots / 2 && c->nslots < 2 * c->max) {
			grow(vol);
			b = slot_for(vol, off, &found);
		}
		/* full of dirty blocks (checkpoints prevent it) or no memory to grow */
		if (c->count >= c->max || c->count + 1 > c->nslots / 2)
			return dirty ? vmfs_seterr(vol, -ENOMEM, "no room in the metadata cache")
				     : 0;
		b->data = vol->env.alloc(vol->env.ctx, VMFS_MD_BLOCK);
		if (!b->data)
			return dirty ? vmfs_seterr(vol, -ENOMEM, "out of memory for the cache") : 0;
		b->off = off;
		c->count++;
	}
	memcpy(b->data, data, len);
	b->len = len;
	b->guard = guard;
	b->epoch = epoch;
	b->peek = peek;
	b->pver = peek ? c->pver : 0;
	b->pgen = peek ? c->pgen : 0;
	b->pcrc = peek ? c->pcrc : 0;
	if (dirty && !b->dirty)
		c->ndirty++;
	if (dirty && unlogged != b->unlogged)
		c->nunlogged += unlogged ? 1 : -1;
	b->dirty |= dirty;
	if (dirty)
		b->unlogged = unlogged;
	b->ref = true;
	return 0;
}

/*
 * Copy up to room unlogged blocks into txn as changed buffers (their record
 * is about to be written). Returns how many.
 */
unsigned vmfs_cache_collect_unlogged(struct vmfs_volume *vol, struct vmfs_txn *txn,
				     unsigned room)
{
	struct vmfs_cache *c = &vol->cache;
	unsigned n = 0;

	for (uint64_t i = 0; c->nunlogged && i < c->nslots && n < room; i++) {
		struct vmfs_cbuf *b = &c->slots[i];
		uint8_t *data;

		if (!b->off || !b->unlogged || vmfs_txn_lookup(txn, b->off))
			continue;
		if (vmfs_txn_adopt(txn, b->off, b->len, b->guard, b->data, &data))
			break;
		n++;
	}
	return n;
}

/* Forget every block in [off, off + len): its resource was freed. */
void vmfs_cache_forget(struct vmfs_volume *vol, uint64_t off, uint64_t len)
{
	struct vmfs_cache *c = &vol->cache;
	bool found;

	if (!c->slots)
		return;
	if (len <= 16 * VMFS_MD_BLOCK) {
		for (uint64_t o = off; o < off + len; o += VMFS_SECTOR) {
			struct vmfs_cbuf *b = slot_for(vol, o, &found);

			if (found)
				remove_slot(vol, b);
		}
		return;
	}
	for (uint64_t i = 0; i < c->nslots; i++) {
		if (c->slots[i].off >= off && c->slots[i].off < off + len) {
			remove_slot(vol, &c->slots[i]);
			i--;	/* the slot may now hold a moved entry */
		}
	}
}

/* Is this block (home length len) a directory's descriptor? */
bool vmfs_dirfd_block(const void *data, uint32_t len)
{
	const struct vmfs_fd *f = data;

	return len == sizeof(*f) && f->magic == VMFS_MAGIC_FD && f->type == VMFS_FT_DIR;
}

static bool cluster_block(const struct vmfs_cbuf *b)
{
	uint32_t magic;

	memcpy(&magic, b->data, sizeof(magic));
	return magic == VMFS_MAGIC_CLUS;
}

/*
 * Write dirty blocks home (caller flushes); they become clean. all: every
 * one, else all but cluster headers (vmfs_journal_publish). Directory
 * descriptors go last, after every block (vmfs_cache_peek_begin).
 */
int vmfs_cache_writeback(struct vmfs_volume *vol, bool all)
{
	struct vmfs_cache *c = &vol->cache;

	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t i = 0; c->ndirty && i < c->nslots; i++) {
			struct vmfs_cbuf *b = &c->slots[i];
			int rc;

			if (!b->off || !b->dirty || b->unlogged ||
			    vmfs_dirfd_block(b->data, b->len) != (pass == 1) ||
			    (!all && cluster_block(b)))
				continue;
			rc = vmfs_dev_write(vol, b->off, b->data, b->len);
			if (rc)
				return rc;
			b->dirty = false;
			c->ndirty--;
			if (!b->epoch || vmfs_lock_epoch(vol, b->guard) != b->epoch)
				remove_slot(vol, b), i--;	/* not (or no longer) guarded */
		}
	}
	return 0;
}

bool vmfs_cache_full(const struct vmfs_volume *vol)
{
	return vol->cache.slots && vol->cache.ndirty * 2 >= vol->cache.max;
}
