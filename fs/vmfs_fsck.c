/*
 * vmfs_fsck: check every invariant of a volume; optionally repair.
 *
 * Passes:
 *  1. header (primary against backup), heartbeat slots, arbitration blocks
 *     and leader (all zero or valid; repair zeroes them), journals (a
 *     committed, unapplied transaction is a problem; repair replays it);
 *  2. every cluster header (magic, checksum, counts, bitmap bits);
 *  3. the tree from the root, breadth first: every descriptor (checksum,
 *     fields, generation against its directory entry, parent pointer), every
 *     directory block, every pointer block (owner, level), every address
 *     (range, type, not beyond the size, referenced once). Each resource
 *     reached is marked in a per-type "seen" bitmap;
 *  4. bitmaps against "seen": allocated-but-unreferenced (leak) and
 *     referenced-but-free, and free counts.
 *
 * Safe repairs (all journaled): restore the primary header from the backup,
 * replay journals, clear corrupt unused heartbeat slots, remove directory
 * entries that name a bad or mismatched descriptor, fix a descriptor's
 * resource counts, rebuild bitmaps and free counts from "seen". Anything
 * else (a corrupt descriptor or pointer block that is referenced) is
 * reported, not changed; the data it would lose is the user's decision.
 */
#include <stdio.h>
#include "vmfs_priv.h"

#define FSCK_MAX_REPORTS 200

struct fsck {
	struct vmfs_volume *vol;
	struct vmfs_fsck_result *res;
	bool repair;
	uint8_t *seen[VMFS_RES_NTYPES];
	uint32_t *queue;	/* directories to visit */
	uint32_t qhead, qtail;
	struct vmfs_pb *pb[3];
	struct vmfs_dirblk *db;
	uint64_t units, pbs;	/* counted for the current descriptor */
};

static void problem(struct fsck *c, bool repaired, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct fsck *c, bool repaired, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (repaired) {
		c->res->repaired++;
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), " (repaired)");
	}
	if (!c->res->problems)
		memcpy(c->res->first, msg, sizeof(c->res->first));
	c->res->problems++;
	if (c->res->report && c->res->problems <= FSCK_MAX_REPORTS)
		c->res->report(c->res->arg, msg);
}

static bool test_bit(const uint8_t *b, uint64_t i)
{
	return b[i / 8] & (1u << (i % 8));
}

static void set_bit(uint8_t *b, uint64_t i)
{
	b[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Mark a resource seen; false (and a problem) if it was already. */
static bool mark(struct fsck *c, unsigned type, uint32_t idx, uint32_t owner)
{
	if (test_bit(c->seen[type], idx)) {
		problem(c, false, "%s %u is referenced twice (again by descriptor %u)",
			vmfs_res_name(type), idx, owner);
		return false;
	}
	set_bit(c->seen[type], idx);
	return true;
}

/* ---- pass 1 ---- */

static void check_heartbeats(struct fsck *c)
{
	struct vmfs_volume *vol = c->vol;
	struct vmfs_hbslot hb;

	for (uint32_t s = 0; s < vol->hdr.max_hosts; s++) {
		if (!vmfs_heartbeat_read(vol, s, &hb))
			continue;
		if (c->repair) {
			memset(&hb, 0, sizeof(hb));
			problem(c, !vmfs_dev_write(vol, vol->hdr.hb_off + (uint64_t)s * VMFS_SECTOR,
						   &hb, sizeof(hb)), "%s", vol->err);
		} else {
			problem(c, false, "%s", vol->err);
		}
	}
}

/* Disk Paxos blocks and the arbitration leader: checksums and fields. */
static void check_arbitration(struct fsck *c)
{
	struct vmfs_volume *vol = c->vol;
	union {
		struct vmfs_arbblk b;
		struct vmfs_arbldr l;
	} u;
	uint64_t off;

	for (uint32_t s = 0; s <= vol->hdr.max_hosts; s++) {
		bool ldr = s == vol->hdr.max_hosts;
		int bad;

		off = vol->hdr.arb_off + (uint64_t)s * VMFS_SECTOR;
		if (vmfs_dev_read(vol, off, &u, sizeof(u))) {
			problem(c, false, "%s", vol->err);
			continue;
		}
		bad = ldr ? vmfs_arbldr_check(&u.l, vol->hdr.max_hosts) : vmfs_arbblk_check(&u.b, s);
		if (!bad)
			continue;
		memset(&u, 0, sizeof(u));
		if (ldr)
			problem(c, c->repair && !vmfs_dev_write(vol, off, &u, sizeof(u)),
				"arbitration leader at offset %llu is corrupt",
				(unsigned long long)off);
		else
			problem(c, c->repair && !vmfs_dev_write(vol, off, &u, sizeof(u)),
				"arbitration block of slot %u at offset %llu is corrupt", s,
				(unsigned long long)off);
	}
}

static void check_journals(struct fsck *c)
{
	struct vmfs_volume *vol = c->vol;

	for (uint32_t s = 0; s < vol->hdr.max_hosts; s++) {
		unsigned replayed = 0;
		int rc = vmfs_journal_replay(vol, s, c->repair, &replayed);

		if (rc)
			problem(c, false, "%s", vol->err);
		else if (replayed)
			problem(c, c->repair, "journal of slot %u holds a committed transaction "
					"not yet applied",
				s);
		c->res->replayed += c->repair ? replayed : 0;
	}
}

/* ---- pass 3: addressing ---- */

static bool addr_ok(struct fsck *c, const struct vmfs_fd *f, uint64_t ent, unsigned type)
{
	uint64_t idx = ent & VMFS_ADDR_INDEX_MASK;

	if (!(ent & VMFS_ADDR_VALID) || idx >= c->vol->hdr.reg[type].count ||
	    (ent & ~(VMFS_ADDR_VALID | VMFS_ADDR_TBZ | VMFS_ADDR_INDEX_MASK)) ||
	    (type == VMFS_RES_PB && (ent & VMFS_ADDR_TBZ))) {
		problem(c, false, "descriptor %u: bad %s address 0x%llx", f->index,
			vmfs_res_name(type), (unsigned long long)ent);
		return false;
	}
	return mark(c, type, (uint32_t)idx, f->index);
}

static void check_unit(struct fsck *c, const struct vmfs_fd *f, uint64_t ent, uint64_t unit)
{
	uint64_t us = vmfs_unit_size(c->vol, f->mode);

	if (!addr_ok(c, f, ent, f->mode == VMFS_FM_SB ? VMFS_RES_SB : VMFS_RES_FB))
		return;
	c->units++;
	if (unit >= (f->size + us - 1) / us)
		problem(c, false, "descriptor %u maps unit %llu beyond its size %llu", f->index,
			(unsigned long long)unit, (unsigned long long)f->size);
}

static void check_tree(struct fsck *c, const struct vmfs_fd *f, uint64_t ent, uint32_t level,
		       uint64_t base, uint64_t span)
{
	struct vmfs_volume *vol = c->vol;
	struct vmfs_pb *pb = c->pb[level - 1];	/* one buffer per level */
	uint64_t off;

	if (!addr_ok(c, f, ent, VMFS_RES_PB))
		return;
	c->pbs++;
	off = vmfs_res_off(vol, VMFS_RES_PB, (uint32_t)(ent & VMFS_ADDR_INDEX_MASK));
	if (vmfs_read_bytes(vol, off, pb, sizeof(*pb))) {
		problem(c, false, "%s", vol->err);
		return;
	}
	if (pb->magic != VMFS_MAGIC_PB || !vmfs_check_crc(pb, sizeof(*pb)) ||
	    pb->fd != f->index || pb->level != level) {
		problem(c, false, "pointer block %llu (descriptor %u, level %u) at offset %llu is "
				"corrupt",
			(unsigned long long)(ent & VMFS_ADDR_INDEX_MASK), f->index, level,
			(unsigned long long)off);
		return;
	}
	for (uint64_t i = 0; i < VMFS_PB_NENT; i++) {
		uint64_t e = pb->ent[i], sub = span / VMFS_PB_NENT;

		if (!e)
			continue;
		if (level == 1)
			check_unit(c, f, e, base + i);
		else
			check_tree(c, f, e, level - 1, base + i * sub, sub);
	}
}

static void check_addressing(struct fsck *c, const struct vmfs_fd *f)
{
	uint64_t p = VMFS_PB_NENT, base = VMFS_NDIRECT, span = p;

	c->units = c->pbs = 0;
	if (f->mode == VMFS_FM_INLINE)
		return;
	for (uint64_t u = 0; u < (f->mode == VMFS_FM_SB ? VMFS_SB_PER_FB : VMFS_NDIRECT); u++)
		if (f->addr[u])
			check_unit(c, f, f->addr[u], u);
	for (unsigned l = 0; f->mode == VMFS_FM_FB && l < 3; l++, base += span, span *= p)
		if (f->addr[VMFS_IND1 + l])
			check_tree(c, f, f->addr[VMFS_IND1 + l], l + 1, base, span);
	if (f->mode == VMFS_FM_SB)
		for (unsigned u = VMFS_SB_PER_FB; u < VMFS_FD_NADDR; u++)
			if (f->addr[u])
				problem(c, false, "descriptor %u: sub-block mode uses address "
						"slot %u",
					f->index, u);
}

/* Fix a descriptor's counts if they disagree with what was found. */
static void check_counts(struct fsck *c, const struct vmfs_fd *f)
{
	struct vmfs_txn *txn;
	struct vmfs_fd *w;
	bool fixed = false;

	if (f->nres == c->units && f->npb == c->pbs)
		return;
	if (c->repair && !vmfs_txn_begin(c->vol, &txn)) {
		if (!vmfs_fd_get(txn, f->index, &w)) {
			w->nres = c->units;
			w->npb = c->pbs;
			vmfs_txn_dirty(txn, (uint8_t *)w);
			fixed = !vmfs_txn_commit(txn);
		} else {
			vmfs_txn_abort(txn);
		}
	}
	problem(c, fixed, "descriptor %u: counts %llu units / %llu pointer blocks, found %llu / "
			"%llu",
		f->index, (unsigned long long)f->nres, (unsigned long long)f->npb,
		(unsigned long long)c->units, (unsigned long long)c->pbs);
}

/* ---- pass 3: directories ---- */

static void drop_entry(struct fsck *c, uint64_t ent_off, const char *why, uint32_t dir)
{
	struct vmfs_txn *txn;
	bool fixed = false;

	if (c->repair && !vmfs_txn_begin(c->vol, &txn)) {
		if (!vmfs_dir_remove(txn, dir, ent_off))
			fixed = !vmfs_txn_commit(txn);
		else
			vmfs_txn_abort(txn);
	}
	problem(c, fixed, "directory %u: entry at offset %llu %s", dir,
		(unsigned long long)ent_off, why);
}

/* Check one entry's target descriptor; queue directories. */
static void check_entry(struct fsck *c, uint32_t dir, const struct vmfs_dirent *e, uint64_t off,
			struct vmfs_fd *child)
{
	struct vmfs_volume *vol = c->vol;
	char why[200];

	if (e->fd >= vol->hdr.reg[VMFS_RES_FD].count || !e->fd) {
		drop_entry(c, off, "names an out-of-range descriptor", dir);
		return;
	}
	if (vmfs_fd_peek(vol, NULL, e->fd, child)) {
		snprintf(why, sizeof(why), "('%.*s') names a bad descriptor: %.140s", e->name_len,
			 e->name, vol->err);
		drop_entry(c, off, why, dir);
		return;
	}
	if (child->gen != e->gen || child->type != e->type ||
	    (child->type == VMFS_FT_DIR && child->parent != dir)) {
		snprintf(why, sizeof(why), "('%.*s') disagrees with descriptor %u (generation, "
				"type or parent)",
			 e->name_len, e->name, e->fd);
		drop_entry(c, off, why, dir);
		return;
	}
	if (!mark(c, VMFS_RES_FD, e->fd, dir))
		return;
	check_addressing(c, child);
	check_counts(c, child);
	if (child->type == VMFS_FT_DIR)
		c->queue[c->qtail++] = e->fd;
}

static bool dup_name(const struct vmfs_dirblk *b, unsigned i)
{
	for (unsigned j = 0; j < i; j++)
		if (b->ent[j].fd && b->ent[j].name_len == b->ent[i].name_len &&
		    !memcmp(b->ent[j].name, b->ent[i].name, b->ent[i].name_len))
			return true;
	return false;
}

static void check_dir(struct fsck *c, uint32_t dir, struct vmfs_fd *d, struct vmfs_fd *child)
{
	struct vmfs_volume *vol = c->vol;

	for (uint32_t blk = 0; blk < d->size / VMFS_MD_BLOCK; blk++) {
		uint64_t us = vmfs_unit_size(vol, d->mode), pos = (uint64_t)blk * VMFS_MD_BLOCK, ent, off;
		char msg[200];

		if (vmfs_addr_lookup(vol, NULL, d, pos / us, &ent) || !ent) {
			problem(c, false, "directory %u: block %u is unreadable or a "
					"hole", dir, blk);
			continue;
		}
		off = vmfs_res_off(vol, d->mode == VMFS_FM_SB ? VMFS_RES_SB : VMFS_RES_FB,
				   (uint32_t)(ent & VMFS_ADDR_INDEX_MASK)) + pos % us;
		if (vmfs_read_bytes(vol, off, c->db, sizeof(*c->db)) ||
		    !vmfs_check_crc(c->db, sizeof(*c->db)) ||
		    vmfs_dirblk_check(c->db, dir, blk, msg, sizeof(msg))) {
			problem(c, false, "directory %u block %u at offset %llu is "
					"corrupt", dir, blk,
				(unsigned long long)off);
			continue;
		}
		for (unsigned i = 0; i < VMFS_DIRENT_PER_BLOCK; i++) {
			struct vmfs_dirent e = c->db->ent[i];
			uint64_t eoff = off + 32 + (uint64_t)i * sizeof(e);

			if (!e.fd)
				continue;
			if (dup_name(c->db, i))
				drop_entry(c, eoff, "duplicates a name in its block", dir);
			else
				check_entry(c, dir, &e, eoff, child);
		}
	}
}

static void walk_tree(struct fsck *c)
{
	struct vmfs_volume *vol = c->vol;
	struct vmfs_fd *d = vmfs_zalloc(vol, sizeof(*d)), *child = vmfs_zalloc(vol, sizeof(*child));
	uint32_t root = vol->hdr.root_fd;

	if (!d || !child) {
		problem(c, false, "out of memory");
		goto out;
	}
	if (vmfs_fd_peek(vol, NULL, root, d) || d->type != VMFS_FT_DIR) {
		problem(c, false, "root directory descriptor %u is corrupt", root);
		goto out;
	}
	set_bit(c->seen[VMFS_RES_FD], 0);	/* reserved */
	set_bit(c->seen[VMFS_RES_FD], root);
	check_addressing(c, d);
	check_counts(c, d);
	c->queue[c->qtail++] = root;
	while (c->qhead < c->qtail) {
		uint32_t dir = c->queue[c->qhead++];

		if (!vmfs_fd_peek(vol, NULL, dir, d))
			check_dir(c, dir, d, child);
	}
out:
	vmfs_free(vol, d);
	vmfs_free(vol, child);
}

/* ---- passes 2 and 4: clusters ---- */

static void fix_cluster(struct fsck *c, unsigned t, uint32_t cl, bool *fixed)
{
	struct vmfs_volume *vol = c->vol;
	struct vmfs_txn *txn;
	uint8_t *data;
	struct vmfs_clhdr *h;

	if (!c->repair || vmfs_txn_begin(vol, &txn))
		return;
	if (vmfs_txn_get(txn, vmfs_clus_off(vol, t, cl) + VMFS_SECTOR, VMFS_MD_PAYLOAD, 0, &data)) {
		vmfs_txn_abort(txn);
		return;
	}
	h = (struct vmfs_clhdr *)data;
	memset(h, 0, sizeof(*h));
	h->magic = VMFS_MAGIC_CLUS;
	h->type = t;
	h->index = cl;
	h->first_res = cl * vol->hdr.reg[t].per_cluster;
	h->nres = vol->hdr.reg[t].count - h->first_res < vol->hdr.reg[t].per_cluster ?
		vol->hdr.reg[t].count - h->first_res : vol->hdr.reg[t].per_cluster;
	h->nfree = h->nres;
	for (uint32_t b = 0; b < h->nres; b++) {
		if (test_bit(c->seen[t], (uint64_t)h->first_res + b)) {
			set_bit(h->bitmap, b);
			h->nfree--;
		}
	}
	vmfs_txn_dirty(txn, data);
	*fixed = !vmfs_txn_commit(txn);
}

static void check_cluster(struct fsck *c, unsigned t, uint32_t cl, struct vmfs_clhdr *h)
{
	struct vmfs_volume *vol = c->vol;
	char msg[200];
	bool bad = false, fixed = false;
	unsigned diffs = 0;

	if (vmfs_read_bytes(vol, vmfs_clus_off(vol, t, cl) + VMFS_SECTOR, h, sizeof(*h))) {
		problem(c, false, "%s", vol->err);
		return;
	}
	if (!vmfs_check_crc(h, sizeof(*h)) || vmfs_clus_check(vol, h, t, cl, msg, sizeof(msg))) {
		bad = true;
		fix_cluster(c, t, cl, &fixed);
		problem(c, fixed, "%s cluster %u at offset %llu is corrupt", vmfs_res_name(t), cl,
			(unsigned long long)vmfs_clus_off(vol, t, cl));
		return;
	}
	for (uint32_t b = 0; !bad && b < h->nres; b++) {
		uint64_t idx = (uint64_t)h->first_res + b;
		bool alloc = test_bit(h->bitmap, b), seen = test_bit(c->seen[t], idx);

		if (alloc == seen)
			continue;
		if (!diffs++)
			fix_cluster(c, t, cl, &fixed);
		problem(c, fixed, "%s %llu is %s", vmfs_res_name(t), (unsigned long long)idx,
			alloc ? "allocated but not referenced (leak)" :
			"referenced but marked free");
	}
}

static void check_clusters(struct fsck *c)
{
	struct vmfs_clhdr *h = vmfs_zalloc(c->vol, sizeof(*h));

	for (unsigned t = 0; h && t < VMFS_RES_NTYPES; t++)
		for (uint32_t cl = 0; cl < c->vol->hdr.reg[t].n_clusters; cl++)
			check_cluster(c, t, cl, h);
	vmfs_free(c->vol, h);
}

/* ---- driver ---- */

static int fsck_alloc(struct fsck *c)
{
	struct vmfs_volume *vol = c->vol;

	for (unsigned t = 0; t < VMFS_RES_NTYPES; t++) {
		c->seen[t] = vmfs_zalloc(vol, vol->hdr.reg[t].count / 8 + 1);
		if (!c->seen[t])
			return -ENOMEM;
	}
	for (unsigned l = 0; l < 3; l++) {
		c->pb[l] = vmfs_zalloc(vol, sizeof(struct vmfs_pb));
		if (!c->pb[l])
			return -ENOMEM;
	}
	c->db = vmfs_zalloc(vol, sizeof(*c->db));
	c->queue = vmfs_zalloc(vol, (uint64_t)vol->hdr.reg[VMFS_RES_FD].count * sizeof(uint32_t));
	return c->db && c->queue ? 0 : -ENOMEM;
}

static void fsck_free(struct fsck *c)
{
	for (unsigned t = 0; t < VMFS_RES_NTYPES; t++)
		vmfs_free(c->vol, c->seen[t]);
	for (unsigned l = 0; l < 3; l++)
		vmfs_free(c->vol, c->pb[l]);
	vmfs_free(c->vol, c->db);
	vmfs_free(c->vol, c->queue);
}

/* Repair only: a corrupt primary header with an intact backup is restored. */
static int restore_header(struct blockdev *dev, struct fsck *c, const struct vmfs_env *env)
{
	uint8_t *blk = env->alloc(env->ctx, VMFS_MD_BLOCK);
	struct vmfs_volhdr *h = (struct vmfs_volhdr *)blk;
	char msg[200];
	int rc;

	if (!blk)
		return -ENOMEM;
	rc = vmfs_raw_read(dev, 0, blk, VMFS_MD_BLOCK);
	if (!rc && vmfs_hdr_validate(h, dev->sectors * VMFS_SECTOR, msg, sizeof(msg)) &&
	    !vmfs_raw_read(dev, VMFS_HDR_BACKUP_OFF, blk, VMFS_MD_BLOCK) &&
	    !vmfs_hdr_validate(h, dev->sectors * VMFS_SECTOR, msg, sizeof(msg))) {
		rc = vmfs_raw_write(dev, 0, blk, VMFS_MD_BLOCK);
		c->res->problems++;
		c->res->repaired += !rc;
		snprintf(c->res->first, sizeof(c->res->first),
			 "volume header was corrupt; restored from the backup copy");
		if (c->res->report)
			c->res->report(c->res->arg, c->res->first);
	}
	env->free(env->ctx, blk);
	return rc;
}

int vmfs_fsck(struct blockdev *dev, const struct vmfs_env *env, unsigned flags,
	      struct vmfs_fsck_result *res, char *err, size_t errlen)
{
	struct fsck c = { .res = res, .repair = flags & VMFS_FSCK_REPAIR };
	int rc;

	res->problems = res->repaired = res->replayed = 0;
	res->first[0] = 0;
	if (c.repair && dev->sector_size == VMFS_SECTOR && dev->sectors >= 16)
		restore_header(dev, &c, env);
	rc = vmfs_mount(dev, env, !c.repair ? VMFS_MOUNT_RDONLY : VMFS_MOUNT_MAINT |
			((flags & VMFS_FSCK_FORCE) ? VMFS_MOUNT_FORCE : 0), &c.vol, err, errlen);
	if (rc)
		return rc;
	rc = fsck_alloc(&c);
	if (rc) {
		vmfs_fmterr(err, errlen, "out of memory for the checker");
	} else {
		check_heartbeats(&c);
		check_arbitration(&c);
		check_journals(&c);
		walk_tree(&c);
		check_clusters(&c);
	}
	fsck_free(&c);
	vmfs_unmount(c.vol);
	return rc;
}
