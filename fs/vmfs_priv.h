/* Private declarations shared by the fs/ sources. Not for other subsystems. */
#ifndef VMFS_PRIV_H
#define VMFS_PRIV_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <fs/vmfs.h>

#define VMFS_TXN_MAX_BUF	512	/* clean + dirty buffers in one transaction */
#define VMFS_TXN_MAX_FREE	96	/* deferred frees in one transaction */
#define VMFS_TXN_MARGIN		8	/* records kept back for the fd, dir blocks... */
#define VMFS_IO_CHUNK		(1024u * 1024)	/* zeros written per request */
#define VMFS_RUN_MAX		(64ull << 20)	/* data bytes per device request */
#define VMFS_MAX_DEPTH		256	/* directory nesting */
#define VMFS_DIR_MAX		(256ull << 20)	/* directory bytes: 917504 entries */
#define VMFS_CACHE_BLOCKS	4096	/* metadata blocks cached per volume (16 MiB) */

struct vmfs_buf {
	uint64_t off;		/* home byte offset */
	uint64_t guard;		/* lock record protecting it (vmfs_cache.c), 0: none */
	uint32_t len;
	bool dirty;
	uint8_t *data;
};

struct vmfs_free_ent {
	uint8_t type;
	uint32_t idx;
};

/*
 * One transaction: the buffers it read (so later reads in the same operation
 * see its changes), which of them it changed, and the frees it defers until
 * commit (a resource freed by a transaction is not reused by it).
 */
struct vmfs_txn {
	struct vmfs_volume *vol;
	unsigned nbuf;
	unsigned ndirty;
	unsigned nfree;
	bool data_written;	/* file data written into new units: flush before the log */
	bool ckpt_after;	/* freed units that held directory blocks: checkpoint at commit */
	bool frees_units;	/* frees file data units (their reuse waits for durability) */
	struct vmfs_buf buf[VMFS_TXN_MAX_BUF];
	struct vmfs_free_ent freed[VMFS_TXN_MAX_FREE];
};

/* What we last saw in another host's heartbeat slot (vmfs_hb.c). */
struct vmfs_hbseen {
	uint64_t gen;
	uint64_t counter;
	uint32_t state;
	bool valid;		/* observed at least once */
	bool changed;		/* observed a renewal since we started watching */
	uint64_t since_ns;	/* our monotonic time when (gen, counter) was first seen */
};

enum vmfs_lease_state {
	VMFS_LEASE_NONE = 0,	/* no slot claimed (read-only, fsck, mounting) */
	VMFS_LEASE_ACTIVE = 1,
	VMFS_LEASE_LOST = 2,	/* renewal gap or slot taken over: writes refused */
};

/* Liveness of a lock holder (slot, generation) as this host sees it. */
enum vmfs_holder {
	VMFS_HOLDER_ALIVE,	/* its heartbeat changed within the lease */
	VMFS_HOLDER_UNKNOWN,	/* not seen renewing yet, lease not yet over */
	VMFS_HOLDER_DEAD,	/* unchanged for a lease: its journal may need replay */
	VMFS_HOLDER_GONE,	/* that incarnation ended and its journal is applied */
	VMFS_HOLDER_PENDING,	/* ended, but its successor has not replayed its journal yet */
	VMFS_HOLDER_SELF,
};

/* What a lock protects (how the held-lock table keeps it). */
enum {
	VMFS_LK_CLUSTER = 0,	/* a cluster header: kept until asked for, no users counted */
	VMFS_LK_DIR = 1,	/* a directory descriptor */
	VMFS_LK_FILE = 2,	/* a file descriptor, opened */
	VMFS_LK_USE = 3,	/* a descriptor used by one operation (removal, rename) */
};

/* A lock this host holds (vmfs_held.c). */
struct vmfs_held {
	uint64_t off;		/* byte offset of the lock record; 0: empty entry */
	uint32_t mode;
	uint32_t refs;		/* operations and open files using it; 0: kept unused */
	uint32_t epoch;		/* validity of what the cache holds under it */
	uint8_t kind;
	uint64_t stamp;		/* last use, for giving back the oldest */
	uint8_t lazy;		/* in use, the record says unused: 1 we are alone, 2 new file */
	uint64_t born;		/* a new file's lock: vol->npub at its creation + 1, else 0 */
	struct vmfs_lockrec rec;	/* the record as we last wrote it */
};

struct vmfs_heldtab {
	struct vmfs_held *slots;
	uint64_t nslots, count, clock;
	uint64_t nlazy, nlazy_alone;	/* entries marked lazy; lazy 1 */
};

/* Who holds a lock we could not take. */
struct vmfs_busy {
	bool alive;		/* seen renewing */
	bool idle;		/* kept unused: it gives the lock back when asked */
	uint32_t slot;
	uint64_t gen;
};

/* The metadata cache (vmfs_cache.c). */
struct vmfs_cbuf;
struct vmfs_cache {
	struct vmfs_cbuf *slots;
	uint64_t nslots, count, ndirty, nunlogged, max, hand, hits;
	/* lockless path walks (vmfs_cache_peek_begin): the directory being read, as
	 * its descriptor was just read from the disk; pguard 0 = none */
	uint64_t pguard, pver;
	uint32_t pgen, pcrc;
};

/* How long a lock acquisition may wait for a holder. */
enum vmfs_lock_wait {
	VMFS_LW_TRY,		/* fail unless every conflicting holder is dead */
	VMFS_LW_NOWAIT,		/* fail once a holder is seen alive */
	VMFS_LW_WAIT,		/* wait while holders are alive (bounded) */
};

struct vmfs_file {
	struct vmfs_volume *vol;
	struct vmfs_file *next;		/* vol->open_files */
	uint32_t fd;
	uint32_t gen;
	unsigned flags;
	uint32_t lock_mode;
	bool written;
	/* read-ahead window of small sequential reads (vmfs_ops.c) */
	uint8_t *ra_mem, *ra_buf;	/* ra_cap bytes at ra_buf */
	uint64_t ra_cap;
	uint64_t ra_off, ra_len;	/* file bytes held in ra_buf */
	uint64_t ra_next;		/* where a sequential read would start */
	uint64_t ra_wseq;		/* vol->wseq when ra_buf was read */
};

/*
 * Private mount flags. MAINT (fsck --repair, reformatting): claim the slot in
 * maintenance state and wait until every other host is dead (-EBUSY if one
 * renews); FORCE: do not wait.
 */
#define VMFS_MOUNT_MAINT	0x100
#define VMFS_MOUNT_FORCE	0x200

/*
 * A path step kept: directory `parent` has entry `name` naming directory
 * `child`, read while we held child's lock in `epoch` (vmfs_dir.c).
 */
#define VMFS_WALKC		32u
#define VMFS_WALKC_NAME		47u
struct vmfs_walkent {
	uint32_t parent, child, epoch;
	uint8_t len;
	char name[VMFS_WALKC_NAME];
};

struct vmfs_volume {
	struct blockdev *dev;
	struct vmfs_env env;
	struct vmfs_volhdr hdr;
	bool rdonly;
	bool maint;			/* VMFS_MOUNT_MAINT: our slot is in MAINT state */
	bool failed;			/* a commit failed half-way: remount to replay */
	uint32_t slot;			/* heartbeat slot, ~0u when read-only */
	uint64_t hb_gen;
	uint64_t hb_counter;
	uint64_t jbase;			/* our journal's byte offset */
	uint64_t seq;			/* last sequence checkpointed (applied) in our journal */
	uint64_t jseq;			/* last sequence written to the log */
	uint64_t jdurable;		/* last sequence known durable (flushed) */
	uint32_t jhead;			/* log block the next record goes to */
	uint32_t jused;			/* log blocks between the tail and the head */
	bool home_unflushed;		/* home writes since the last flush */
	uint64_t free_seq;		/* last record freeing data units (durable before reuse) */
	uint64_t published_at;		/* monotonic time of the last publication */
	uint64_t npub;			/* publications made */
	uint64_t wseq;			/* counts writes and commits (atomic): read-ahead validity */
	uint64_t jfenced;		/* our journal header's fenced_gen */
	uint64_t data_end;		/* end of the last region */
	struct vmfs_heldtab heldtab;	/* locks we hold (vmfs_held.c) */
	uint32_t epoch_clock;
	struct vmfs_cache cache;	/* metadata cache (vmfs_cache.c) */
	struct vmfs_walkent walkc[VMFS_WALKC];	/* path steps kept (vmfs_dir.c) */
	/* requests for our unused locks, recorded by the heartbeat thread (atomics) */
	uint64_t *wants;		/* per requesting slot: lock offset, 0 = none */
	uint64_t *wants_by;		/* per requesting slot: its generation */
	uint32_t *wants_seq;		/* per requesting slot: its request's number */
	uint32_t *wants_done;		/* per requesting slot: last request honoured */
	bool in_service;		/* handing a lock over (no nesting) */
	uint64_t wants_gen, wants_seen;
	/* our own request, carried by our heartbeat */
	uint64_t want_off, want_gen;
	uint32_t want_slot, want_seq;
	uint32_t hint[VMFS_RES_NTYPES];	/* cluster to try first */
	uint8_t *zero, *zero_mem;	/* zero bytes (vmfs_dev_zero), aligned */
	uint64_t zero_len;
	uint8_t *bounce;		/* one metadata block of scratch */
	uint8_t *jbuf;			/* journal image being written */
	struct vmfs_txn *txn;		/* the one open transaction, or NULL */
	struct vmfs_file *open_files;
	/* clustering: vmfs_hb.c, vmfs_paxos.c */
	uint64_t lease_ns;		/* lease timeout */
	uint64_t renewed_ns;		/* monotonic start of the last good renewal (atomic) */
	int lease;			/* enum vmfs_lease_state (atomic) */
	int lease_why;			/* 1: lost because the slot changed (atomic) */
	int renewing;			/* a renewal is in progress (atomic flag) */
	struct vmfs_hbslot hb_last;	/* our slot as we last wrote it (renewer owns it) */
	struct vmfs_hbslot *hb_all;	/* the region as last read by a renewal (renewer owns it) */
	struct vmfs_hbslot *hb_scan;	/* the region as read by vmfs_alone (main thread) */
	bool alone;			/* no other host seen on the volume (vmfs_alone) */
	uint32_t alone_calls;
	uint64_t alone_at;		/* when the region was last read for it */
	struct vmfs_hbseen *seen;	/* per slot */
	struct vmfs_arbblk arb;		/* our Disk Paxos block as last written */
	struct vmfs_arbblk *arbv;	/* all max_hosts blocks as last read */
	uint64_t arb_seen_mbal;		/* highest ballot seen in epoch arb.epoch */
	uint64_t arb_epoch;		/* epoch we hold the arbitration lease for */
	unsigned arb_depth;		/* nesting of vmfs_arb_acquire */
	uint64_t arb_min_epoch;		/* never run an epoch below this */
	uint32_t arb_bad_slot;		/* slot + 1 whose block made the last round abort */
	uint64_t rng;
	char err[256];
};

/* vmfs_util.c */
void *vmfs_zalloc(struct vmfs_volume *vol, size_t size);
void vmfs_free(struct vmfs_volume *vol, void *p);
int vmfs_seterr(struct vmfs_volume *vol, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vmfs_prefix_err(struct vmfs_volume *vol, int rc, const char *what);
void vmfs_fmterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void vmfs_seal(void *obj, size_t len);
bool vmfs_check_crc(const void *obj, size_t len);
bool vmfs_is_zero(const void *p, size_t len);
uint64_t vmfs_now(struct vmfs_volume *vol);
int vmfs_dev_read(struct vmfs_volume *vol, uint64_t off, void *buf, uint64_t len);
int vmfs_dev_write(struct vmfs_volume *vol, uint64_t off, const void *buf, uint64_t len);
int vmfs_dev_flush(struct vmfs_volume *vol);
int vmfs_dev_zero(struct vmfs_volume *vol, uint64_t off, uint64_t len);
int vmfs_read_bytes(struct vmfs_volume *vol, uint64_t off, void *buf, uint64_t len);
int vmfs_md_read(struct vmfs_volume *vol, uint64_t off, uint32_t len, uint64_t guard, void *out);
int vmfs_write_bytes(struct vmfs_volume *vol, uint64_t off, const void *buf, uint64_t len);
int vmfs_raw_read(struct blockdev *dev, uint64_t off, void *buf, uint64_t len);
int vmfs_raw_write(struct blockdev *dev, uint64_t off, const void *buf, uint64_t len);
const char *vmfs_res_name(unsigned type);

/* vmfs_mount.c */
void vmfs_abandon(struct vmfs_volume *vol);

/* vmfs_geom.c: header validation and region arithmetic */
int vmfs_hdr_validate(const struct vmfs_volhdr *h, uint64_t dev_bytes, char *err, size_t errlen);
uint64_t vmfs_res_off(const struct vmfs_volume *vol, unsigned type, uint32_t idx);
uint64_t vmfs_clus_off(const struct vmfs_volume *vol, unsigned type, uint32_t cl);
uint64_t vmfs_fd_off(const struct vmfs_volume *vol, uint32_t fd);
uint64_t vmfs_unit_size(const struct vmfs_volume *vol, unsigned mode);
uint64_t vmfs_max_file_size(const struct vmfs_volume *vol);

/* vmfs_journal.c */
int vmfs_txn_begin(struct vmfs_volume *vol, struct vmfs_txn **out);
void vmfs_txn_abort(struct vmfs_txn *txn);
int vmfs_txn_commit(struct vmfs_txn *txn);
int vmfs_txn_get(struct vmfs_txn *txn, uint64_t off, uint32_t len, uint64_t guard,
		 uint8_t **data);
void vmfs_txn_dirty(struct vmfs_txn *txn, const uint8_t *data);
uint8_t *vmfs_txn_lookup(const struct vmfs_txn *txn, uint64_t off);
int vmfs_txn_adopt(struct vmfs_txn *txn, uint64_t off, uint32_t len, uint64_t guard,
		   const void *src, uint8_t **data);
bool vmfs_txn_is_dirty(const struct vmfs_txn *txn, const uint8_t *data);
int vmfs_txn_peek(struct vmfs_volume *vol, struct vmfs_txn *txn, uint64_t off, uint32_t len,
		  uint64_t guard, void *out);
void vmfs_txn_forget(struct vmfs_txn *txn, uint64_t off, uint64_t len);
int vmfs_txn_defer_free(struct vmfs_txn *txn, unsigned type, uint32_t idx);
unsigned vmfs_txn_room(const struct vmfs_txn *txn);
uint64_t vmfs_journal_off(const struct vmfs_volume *vol, uint32_t slot);
int vmfs_journal_replay(struct vmfs_volume *vol, uint32_t slot, bool apply, unsigned *replayed);
int vmfs_journal_replay_fence(struct vmfs_volume *vol, uint32_t slot, uint64_t gen,
			      unsigned *replayed);
int vmfs_journal_init(struct vmfs_volume *vol);
int vmfs_journal_checkpoint(struct vmfs_volume *vol);
int vmfs_journal_flush(struct vmfs_volume *vol);
int vmfs_journal_publish(struct vmfs_volume *vol);
int vmfs_journal_before_reuse(struct vmfs_volume *vol);
void vmfs_txn_end(struct vmfs_txn *txn);

/* vmfs_lock.c: lock records */
int vmfs_lock_read(struct vmfs_volume *vol, uint64_t off, struct vmfs_lockrec *out);
int vmfs_lock_try_once(struct vmfs_volume *vol, uint64_t off, uint32_t mode, uint8_t kind,
		       bool idle, const char *what, struct vmfs_busy *bi);
int vmfs_lock_write_own(struct vmfs_volume *vol, uint64_t off, const struct vmfs_lockrec *old,
			struct vmfs_lockrec *new_rec);
int vmfs_lock_leave(struct vmfs_volume *vol, uint64_t off, const char *what);
int vmfs_lock_scrub(struct vmfs_volume *vol, uint64_t off, uint32_t slot, uint64_t gen,
		    bool *changed);
int vmfs_meta_lock(struct vmfs_volume *vol, uint64_t off);
int vmfs_meta_unlock(struct vmfs_volume *vol, uint64_t off);

/* vmfs_held.c: the locks this host holds, kept after use, given back on request */
struct vmfs_held *vmfs_held_find(struct vmfs_volume *vol, uint64_t off);
struct vmfs_held *vmfs_held_add(struct vmfs_volume *vol, uint64_t off, uint32_t mode,
				uint8_t kind, const struct vmfs_lockrec *rec);
void vmfs_held_remove(struct vmfs_volume *vol, struct vmfs_held *h);
void vmfs_held_destroy(struct vmfs_volume *vol);
int vmfs_held_trim(struct vmfs_volume *vol);
int vmfs_held_before_publish(struct vmfs_volume *vol);
uint32_t vmfs_lock_epoch(struct vmfs_volume *vol, uint64_t off);
int vmfs_lock_get(struct vmfs_volume *vol, uint64_t off, uint32_t mode, enum vmfs_lock_wait wait,
		  uint8_t kind, const char *what);
int vmfs_lock_put(struct vmfs_volume *vol, uint64_t off);
int vmfs_lock_take_new(struct vmfs_volume *vol, uint64_t off, uint8_t kind, bool idle);
int vmfs_lock_give_back(struct vmfs_volume *vol, struct vmfs_held *h);
int vmfs_lock_hand_over(struct vmfs_volume *vol, struct vmfs_held *h, uint32_t slot,
			uint64_t gen);
int vmfs_lock_give_back_all(struct vmfs_volume *vol);
void vmfs_want_scan(struct vmfs_volume *vol, const struct vmfs_hbslot *all);
void vmfs_want_post(struct vmfs_volume *vol, uint64_t off, uint32_t slot, uint64_t gen);
void vmfs_want_clear(struct vmfs_volume *vol);
int vmfs_want_service(struct vmfs_volume *vol);

/* vmfs_cache.c: metadata cache */
int vmfs_cache_init(struct vmfs_volume *vol, uint32_t max_blocks);
void vmfs_cache_destroy(struct vmfs_volume *vol);
bool vmfs_cache_get(struct vmfs_volume *vol, uint64_t off, uint32_t len, void *out);
enum { VMFS_CB_CLEAN = 0, VMFS_CB_DIRTY = 1, VMFS_CB_UNLOGGED = 2 };
int vmfs_cache_put(struct vmfs_volume *vol, uint64_t off, uint32_t len, uint64_t guard,
		   const void *data, unsigned state);
unsigned vmfs_cache_collect_unlogged(struct vmfs_volume *vol, struct vmfs_txn *txn,
				     unsigned room);
void vmfs_cache_forget(struct vmfs_volume *vol, uint64_t off, uint64_t len);
int vmfs_cache_writeback(struct vmfs_volume *vol, bool all);
void vmfs_cache_peek_begin(struct vmfs_volume *vol, struct vmfs_txn *txn,
			   const struct vmfs_fd *dir);
void vmfs_cache_peek_end(struct vmfs_volume *vol, bool failed);
bool vmfs_dirfd_block(const void *data, uint32_t len);
bool vmfs_cache_full(const struct vmfs_volume *vol);

/* Unlocked reads may see another host's transaction half home: retry a few times. */
bool vmfs_retry_ok(struct vmfs_volume *vol, int rc, unsigned *tries);

/* vmfs_hb.c: heartbeats, leases, liveness of other hosts */
uint64_t vmfs_mono(const struct vmfs_volume *vol);
uint64_t vmfs_hb_off(const struct vmfs_volume *vol, uint32_t slot);
bool vmfs_hb_valid(const struct vmfs_hbslot *hb, uint32_t slot);
void vmfs_hb_fill(struct vmfs_volume *vol, struct vmfs_hbslot *hb, uint32_t state);
void vmfs_hb_note_renewed(struct vmfs_volume *vol, uint64_t start);
enum vmfs_holder vmfs_hb_judge(struct vmfs_volume *vol, uint32_t slot,
			       const struct vmfs_hbslot *hb);
int vmfs_hb_release(struct vmfs_volume *vol);
int vmfs_hb_renew(struct vmfs_volume *vol);
void vmfs_hb_renew_now(struct vmfs_volume *vol);
int vmfs_lease_check(struct vmfs_volume *vol);
int vmfs_holder_state(struct vmfs_volume *vol, uint32_t slot, uint64_t gen,
		      enum vmfs_holder *st);
void vmfs_backoff(struct vmfs_volume *vol, unsigned max_ms);
int vmfs_replay_dead(struct vmfs_volume *vol, uint32_t slot, uint64_t gen);

/* vmfs_claim.c: claiming a slot, maintenance exclusivity */
int vmfs_hb_claim(struct vmfs_volume *vol, bool maint);
int vmfs_hb_check_maint(struct vmfs_volume *vol);
bool vmfs_alone(struct vmfs_volume *vol);
int vmfs_hb_wait_alone(struct vmfs_volume *vol);

/* vmfs_paxos.c: the volume's arbitration lease (Disk Paxos, or ATS) */
uint64_t vmfs_arb_ldr_off(const struct vmfs_volume *vol);
int vmfs_arb_init(struct vmfs_volume *vol);
int vmfs_arb_try(struct vmfs_volume *vol);
int vmfs_arb_acquire(struct vmfs_volume *vol);
int vmfs_arb_release(struct vmfs_volume *vol);
int vmfs_arb_check_own(struct vmfs_volume *vol);
int vmfs_arb_clean_free(struct vmfs_volume *vol);
int vmfs_arbblk_check(const struct vmfs_arbblk *b, uint32_t slot);
int vmfs_arbldr_check(const struct vmfs_arbldr *l, uint32_t max_hosts);

/* vmfs_alloc.c */
int vmfs_alloc(struct vmfs_txn *txn, unsigned type, uint32_t *idx);
int vmfs_free_now(struct vmfs_txn *txn, unsigned type, uint32_t idx);
int vmfs_clus_get(struct vmfs_txn *txn, unsigned type, uint32_t cl, struct vmfs_clhdr **out);
int vmfs_clus_check(const struct vmfs_volume *vol, const struct vmfs_clhdr *c, unsigned type,
		    uint32_t cl, char *err, size_t errlen);
int vmfs_count_free(struct vmfs_volume *vol, unsigned type, uint64_t *nfree);

/* vmfs_addr.c */
int vmfs_fd_get(struct vmfs_txn *txn, uint32_t fd, struct vmfs_fd **out);
int vmfs_fd_peek(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t fd, struct vmfs_fd *out);
int vmfs_fd_check(const struct vmfs_volume *vol, const struct vmfs_fd *f, uint32_t fd,
		  char *err, size_t errlen);
int vmfs_addr_lookup(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *f,
		     uint64_t unit, uint64_t *ent);
int vmfs_addr_set(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t unit, uint64_t ent);
int vmfs_addr_free_from(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t from, uint64_t *cut);
int vmfs_addr_next(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t unit,
		   uint64_t *next);

/* vmfs_file.c */
int vmfs_data_read(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *f,
		   uint64_t off, void *buf, uint64_t len);
int vmfs_data_map(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t off, uint64_t len,
		  uint64_t *phys, uint64_t *n);
int64_t vmfs_data_write(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t off, const void *buf,
			uint64_t len);
int vmfs_data_write_allocated(struct vmfs_volume *vol, const struct vmfs_fd *f, uint64_t off,
			      const void *buf, uint64_t len);
int vmfs_data_map_meta(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t off, uint8_t **blk);
int vmfs_ensure_mode(struct vmfs_txn *txn, struct vmfs_fd *f, uint64_t new_end);
int vmfs_truncate_fd(struct vmfs_volume *vol, uint32_t fd, uint64_t size);
int vmfs_extend_fd(struct vmfs_volume *vol, uint32_t fd, uint64_t size, enum vmfs_alloc alloc,
		   const struct vmfs_progress *prog);
void vmfs_fill_stat(const struct vmfs_volume *vol, const struct vmfs_fd *f, struct vmfs_stat *st);

/* vmfs_namei.c */
int vmfs_create_node(struct vmfs_volume *vol, const char *path, uint8_t type, uint32_t perm,
		     uint32_t *out);
int vmfs_create_at(struct vmfs_volume *vol, uint32_t dir, const char *name, size_t nlen,
		   const char *path, uint8_t type, uint32_t perm, uint32_t *out);

/* vmfs_dir.c */
int vmfs_dir_find(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t dir, const char *name,
		  size_t nlen, struct vmfs_dirent *ent, uint64_t *ent_off);
int vmfs_dir_add(struct vmfs_txn *txn, uint32_t dir, const char *name, size_t nlen,
		 uint32_t fd, uint32_t gen, uint8_t type);
int vmfs_dir_remove(struct vmfs_txn *txn, uint32_t dir, uint64_t ent_off);
int vmfs_dir_is_empty(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t dir);
int vmfs_dirblk_check(const struct vmfs_dirblk *b, uint32_t dir, uint32_t blkno,
		      char *err, size_t errlen);
int vmfs_path_walk(struct vmfs_volume *vol, struct vmfs_txn *txn, const char *path,
		   uint32_t *fd);
int vmfs_path_parent(struct vmfs_volume *vol, struct vmfs_txn *txn, const char *path,
		     uint32_t *dir, const char **name, size_t *nlen);
bool vmfs_name_valid(const char *name, size_t nlen);
typedef int (*vmfs_dirent_fn)(void *arg, const struct vmfs_dirent *e);
int vmfs_dir_iterate(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t dir,
		     vmfs_dirent_fn fn, void *arg);

#endif
