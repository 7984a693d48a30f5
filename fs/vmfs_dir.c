/*
 * Directories and path lookup.
 *
 * A directory is a file (never inline) whose data is an array of 4 KiB
 * directory blocks, each holding 14 fixed-size entries {fd, generation, type,
 * name_len, name[256]} with a header {dir fd, block number, entries used}.
 * The directory's size is always a whole number of blocks, and every block
 * below the size is allocated and initialised. Directory blocks are metadata:
 * every change goes through the journal as a whole-block image. Empty slots
 * (fd == 0) are reused; directories never shrink until removed.
 *
 * Names are 1..255 bytes without '/' or NUL; "." and ".." are never stored
 * (".." follows the descriptor's parent field). Lookups are linear scans.
 * Locking: callers hold the directory descriptor's lock (vmfs_ops.c).
 *
 * Path steps kept (walkc): a path walk through a directory we do not hold
 * reads its descriptor from the disk at every step (the blocks may be kept,
 * vmfs_cache.c). A step that ends at a directory whose lock we hold is kept
 * instead, tagged with that lock's epoch, and the next walk takes it without
 * reading anything while the epoch is unchanged. It is right because the
 * entry naming a directory is changed only by a host holding that
 * directory's lock: removing it (remove_node) and renaming it, in the same
 * directory or another (rename_locked), take it; so does replacing it
 * (rename_target). While we hold the lock only we can change the entry, and
 * every change we make to a directory's entries forgets the steps kept from
 * it (vmfs_dir_add, vmfs_dir_remove). When we got the lock, whatever its
 * earlier holders changed under it was home: a lock is handed over or given
 * back after a checkpoint, and broken after a replay. A step is kept only if
 * we held the child's lock when its entry was read (nothing takes a lock
 * during a walk), never inside a transaction, never for names longer than
 * VMFS_WALKC_NAME.
 */
#include "vmfs_priv.h"

static struct vmfs_walkent *walkc_slot(struct vmfs_volume *vol, uint32_t parent,
				       const char *name, size_t len)
{
	uint32_t h = parent * 0x9e3779b1u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)name[i]) * 0x01000193u;
	return &vol->walkc[(h ^ (h >> 16)) % VMFS_WALKC];
}

/* The kept step from parent by name, if its child's lock is still held in the same epoch. */
static bool walkc_find(struct vmfs_volume *vol, uint32_t parent, const char *name, size_t len,
		       uint32_t *child)
{
	struct vmfs_walkent *w = walkc_slot(vol, parent, name, len);

	if (!w->epoch || w->parent != parent || w->len != len || memcmp(w->name, name, len))
		return false;
	if (vmfs_lock_epoch(vol, vmfs_fd_off(vol, w->child)) != w->epoch) {
		w->epoch = 0;
		return false;
	}
	*child = w->child;
	return true;
}

/* Keep the step just read if we hold child's lock. */
static void walkc_keep(struct vmfs_volume *vol, uint32_t parent, const char *name, size_t len,
		       uint32_t child)
{
	struct vmfs_walkent *w;
	uint32_t epoch;

	if (len > VMFS_WALKC_NAME)
		return;
	epoch = vmfs_lock_epoch(vol, vmfs_fd_off(vol, child));
	if (!epoch)
		return;
	w = walkc_slot(vol, parent, name, len);
	w->parent = parent;
	w->child = child;
	w->epoch = epoch;
	w->len = (uint8_t)len;
	memcpy(w->name, name, len);
}

/* Directory dir's entries change: forget the steps kept from it. */
static void walkc_forget(struct vmfs_volume *vol, uint32_t dir)
{
	for (unsigned i = 0; i < VMFS_WALKC; i++)
		if (vol->walkc[i].parent == dir)
			vol->walkc[i].epoch = 0;
}

bool vmfs_name_valid(const char *name, size_t nlen)
{
	if (!nlen || nlen > VMFS_NAME_MAX)
		return false;
	if ((nlen == 1 && name[0] == '.') || (nlen == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	for (size_t i = 0; i < nlen; i++)
		if (name[i] == '/' || name[i] == 0)
			return false;
	return true;
}

int vmfs_dirblk_check(const struct vmfs_dirblk *b, uint32_t dir, uint32_t blkno,
		      char *err, size_t errlen)
{
	uint32_t used = 0;

	if (b->magic != VMFS_MAGIC_DIR || b->dir_fd != dir || b->blkno != blkno) {
		vmfs_fmterr(err, errlen, "directory %u block %u: bad header", dir, blkno);
		return -EIO;
	}
	for (unsigned i = 0; i < VMFS_DIRENT_PER_BLOCK; i++) {
		const struct vmfs_dirent *e = &b->ent[i];

		if (!e->fd)
			continue;
		used++;
		if ((e->type != VMFS_FT_FILE && e->type != VMFS_FT_DIR) ||
		    !vmfs_name_valid(e->name, e->name_len)) {
			vmfs_fmterr(err, errlen, "directory %u block %u entry %u: bad type or name",
				    dir, blkno, i);
			return -EIO;
		}
	}
	if (used != b->nused) {
		vmfs_fmterr(err, errlen, "directory %u block %u: %u entries used, header says %u",
			    dir, blkno, used, b->nused);
		return -EIO;
	}
	return 0;
}

/* Disk offset of a directory's block blkno (0 if it is a hole: corrupt). */
static int dirblk_off(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *d,
		      uint32_t blkno, uint64_t *off)
{
	uint64_t us = vmfs_unit_size(vol, d->mode), pos = (uint64_t)blkno * VMFS_MD_BLOCK, ent;
	int rc = vmfs_addr_lookup(vol, txn, d, pos / us, &ent);

	if (rc)
		return rc;
	if (!ent || (ent & VMFS_ADDR_TBZ))
		return vmfs_seterr(vol, -EIO, "directory %u: block %u is not allocated", d->index,
				   blkno);
	*off = vmfs_res_off(vol, d->mode == VMFS_FM_SB ? VMFS_RES_SB : VMFS_RES_FB,
			    (uint32_t)(ent & VMFS_ADDR_INDEX_MASK)) + pos % us;
	return 0;
}

static int dirblk_read(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *d,
		       uint32_t blkno, struct vmfs_dirblk *out, uint64_t *off)
{
	char msg[200];
	uint8_t *p;
	bool crc = true;
	int rc = dirblk_off(vol, txn, d, blkno, off);

	if (rc)
		return rc;
	p = vmfs_txn_lookup(txn, *off);
	if (p) {
		memcpy(out, p, sizeof(*out));
		crc = !vmfs_txn_is_dirty(txn, p);
	} else if ((rc = vmfs_md_read(vol, *off, sizeof(*out), vmfs_fd_off(vol, d->index), out))) {
		return rc;
	}
	if (crc && out->magic == VMFS_MAGIC_DIR && !vmfs_check_crc(out, sizeof(*out)))
		return vmfs_seterr(vol, -EIO, "directory %u block %u at offset %llu: checksum "
				"mismatch",
				   d->index, blkno, (unsigned long long)*off);
	rc = vmfs_dirblk_check(out, d->index, blkno, msg, sizeof(msg));
	return rc ? vmfs_seterr(vol, rc, "%s", msg) : 0;
}

/*
 * Call fn for every entry of the directory whose descriptor is d; fn
 * returning non-zero stops the walk with that value.
 */
static int dir_walk_fd(struct vmfs_volume *vol, struct vmfs_txn *txn, const struct vmfs_fd *d,
		       int (*fn)(void *arg, const struct vmfs_dirent *e, uint64_t off), void *arg)
{
	struct vmfs_dirblk *b = vmfs_zalloc(vol, sizeof(*b));
	uint64_t off;
	int rc = b ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory");

	if (!rc && d->type != VMFS_FT_DIR)
		rc = vmfs_seterr(vol, -ENOTDIR, "descriptor %u is not a directory", d->index);
	if (!rc)
		vmfs_cache_peek_begin(vol, txn, d);	/* lockless: its blocks may be kept */
	for (uint32_t blk = 0; !rc && blk < d->size / VMFS_MD_BLOCK; blk++) {
		rc = dirblk_read(vol, txn, d, blk, b, &off);
		for (unsigned i = 0; !rc && i < VMFS_DIRENT_PER_BLOCK; i++)
			if (b->ent[i].fd)
				rc = fn(arg, &b->ent[i], off + 32 + (uint64_t)i * 272);
	}
	vmfs_cache_peek_end(vol, rc < 0);
	vmfs_free(vol, b);
	return rc;
}

static int dir_walk(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t dir,
		    int (*fn)(void *arg, const struct vmfs_dirent *e, uint64_t off), void *arg)
{
	struct vmfs_fd *d = vmfs_zalloc(vol, sizeof(*d));
	int rc = d ? vmfs_fd_peek(vol, txn, dir, d) : vmfs_seterr(vol, -ENOMEM, "out of memory");

	if (!rc)
		rc = dir_walk_fd(vol, txn, d, fn, arg);
	vmfs_free(vol, d);
	return rc;
}

struct find_arg {
	const char *name;
	size_t nlen;
	struct vmfs_dirent *ent;
	uint64_t *off;
};

static int find_fn(void *arg, const struct vmfs_dirent *e, uint64_t off)
{
	struct find_arg *a = arg;

	if (e->name_len != a->nlen || memcmp(e->name, a->name, a->nlen))
		return 0;
	if (a->ent)
		*a->ent = *e;
	if (a->off)
		*a->off = off;
	return 1;
}

/* 0 and the entry if found, -ENOENT if not. */
static int find_result(struct vmfs_volume *vol, int rc, const char *name, size_t nlen)
{
	if (rc == 1)
		return 0;
	return rc ? rc : vmfs_seterr(vol, -ENOENT, "'%.*s' not found", (int)nlen, name);
}

int vmfs_dir_find(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t dir, const char *name,
		  size_t nlen, struct vmfs_dirent *ent, uint64_t *ent_off)
{
	struct find_arg a = { name, nlen, ent, ent_off };

	return find_result(vol, dir_walk(vol, txn, dir, find_fn, &a), name, nlen);
}

struct iter_arg {
	vmfs_dirent_fn fn;
	void *arg;
};

static int iter_fn(void *arg, const struct vmfs_dirent *e, uint64_t off)
{
	struct iter_arg *a = arg;

	(void)off;
	return a->fn(a->arg, e);
}

int vmfs_dir_iterate(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t dir,
		     vmfs_dirent_fn fn, void *arg)
{
	struct iter_arg a = { fn, arg };

	return dir_walk(vol, txn, dir, iter_fn, &a);
}

static int any_fn(void *arg, const struct vmfs_dirent *e, uint64_t off)
{
	(void)arg, (void)e, (void)off;
	return 1;
}

/* 1 if empty, 0 if not, <0 on error. */
int vmfs_dir_is_empty(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t dir)
{
	int rc = dir_walk(vol, txn, dir, any_fn, NULL);

	return rc < 0 ? rc : !rc;
}

static void fill_entry(struct vmfs_dirent *e, const char *name, size_t nlen, uint32_t fd,
		       uint32_t gen, uint8_t type)
{
	memset(e, 0, sizeof(*e));
	e->fd = fd;
	e->gen = gen;
	e->type = type;
	e->name_len = (uint8_t)nlen;
	memcpy(e->name, name, nlen);
}

/* Add a block at the end of directory d (a txn buffer) and return it. */
static int dir_grow(struct vmfs_txn *txn, struct vmfs_fd *d, struct vmfs_dirblk **out)
{
	uint8_t *blk;
	int rc = vmfs_ensure_mode(txn, d, d->size + VMFS_MD_BLOCK);

	if (!rc)
		rc = vmfs_data_map_meta(txn, d, d->size, &blk);
	if (rc)
		return rc;
	*out = (struct vmfs_dirblk *)blk;
	memset(blk, 0, VMFS_MD_BLOCK);
	(*out)->magic = VMFS_MAGIC_DIR;
	(*out)->dir_fd = d->index;
	(*out)->blkno = (uint32_t)(d->size / VMFS_MD_BLOCK);
	d->size += VMFS_MD_BLOCK;
	vmfs_txn_dirty(txn, (uint8_t *)d);
	return 0;
}

int vmfs_dir_add(struct vmfs_txn *txn, uint32_t dir, const char *name, size_t nlen,
		 uint32_t fd, uint32_t gen, uint8_t type)
{
	struct vmfs_volume *vol = txn->vol;
	struct vmfs_fd *d;
	struct vmfs_dirblk *b = NULL;
	uint8_t *data;
	uint64_t off;
	int rc = vmfs_fd_get(txn, dir, &d);

	for (uint32_t blk = 0; !rc && !b && blk < d->size / VMFS_MD_BLOCK; blk++) {
		rc = dirblk_off(vol, txn, d, blk, &off);
		if (!rc)
			rc = vmfs_txn_get(txn, off, VMFS_MD_BLOCK, vmfs_fd_off(vol, dir), &data);
		if (!rc && ((struct vmfs_dirblk *)data)->nused < VMFS_DIRENT_PER_BLOCK)
			b = (struct vmfs_dirblk *)data;
	}
	if (!rc && !b)
		rc = dir_grow(txn, d, &b);
	for (unsigned i = 0; !rc && i < VMFS_DIRENT_PER_BLOCK; i++) {
		if (b->ent[i].fd)
			continue;
		fill_entry(&b->ent[i], name, nlen, fd, gen, type);
		walkc_forget(vol, dir);
		b->nused++;
		d->mtime_ns = vmfs_now(vol);
		d->dir_ver++;	/* lockless readers' cached blocks: stale */
		vmfs_txn_dirty(txn, (uint8_t *)b);
		vmfs_txn_dirty(txn, (uint8_t *)d);
		return 0;
	}
	return rc ? rc : vmfs_seterr(vol, -EIO, "directory %u: block with free count but no free "
			"entry", dir);
}

int vmfs_dir_remove(struct vmfs_txn *txn, uint32_t dir, uint64_t ent_off)
{
	uint64_t blk_off = ent_off - ent_off % VMFS_MD_BLOCK;
	unsigned i = (unsigned)((ent_off - blk_off - 32) / 272);
	struct vmfs_dirblk *b;
	struct vmfs_fd *d;
	uint8_t *data;
	int rc = vmfs_txn_get(txn, blk_off, VMFS_MD_BLOCK, vmfs_fd_off(txn->vol, dir), &data);

	if (!rc)
		rc = vmfs_fd_get(txn, dir, &d);
	if (rc)
		return rc;
	b = (struct vmfs_dirblk *)data;
	if (i >= VMFS_DIRENT_PER_BLOCK || !b->ent[i].fd || !b->nused)
		return vmfs_seterr(txn->vol, -EIO, "internal: removing empty directory entry");
	memset(&b->ent[i], 0, sizeof(b->ent[i]));
	walkc_forget(txn->vol, dir);
	b->nused--;
	d->mtime_ns = vmfs_now(txn->vol);
	d->dir_ver++;	/* lockless readers' cached blocks: stale */
	vmfs_txn_dirty(txn, data);
	vmfs_txn_dirty(txn, (uint8_t *)d);
	return 0;
}

/* ---- paths ---- */

/* Next component of *p: sets name/len and advances; false at the end. */
static bool next_comp(const char **p, const char **name, size_t *len)
{
	const char *s = *p;

	while (*s == '/')
		s++;
	if (!*s)
		return false;
	*name = s;
	while (*s && *s != '/')
		s++;
	*len = (size_t)(s - *name);
	*p = s;
	return true;
}

static int step(struct vmfs_volume *vol, struct vmfs_txn *txn, uint32_t *cur, const char *name,
		size_t len)
{
	struct vmfs_fd d;
	struct vmfs_dirent e;
	int rc;

	if (len > VMFS_NAME_MAX)
		return vmfs_seterr(vol, -ENAMETOOLONG, "path component longer than %u bytes",
				   VMFS_NAME_MAX);
	if (len == 1 && name[0] == '.')
		return 0;
	if (!txn && walkc_find(vol, *cur, name, len, cur))
		return 0;
	rc = vmfs_fd_peek(vol, txn, *cur, &d);
	if (!rc && d.type != VMFS_FT_DIR)
		return vmfs_seterr(vol, -ENOTDIR, "'%.*s': a path component is not a directory",
				   (int)len, name);
	if (!rc && len == 2 && name[0] == '.' && name[1] == '.') {
		*cur = d.parent;
		return 0;
	}
	if (!rc) {	/* the descriptor just read, not a second read of it */
		struct find_arg a = { name, len, &e, NULL };

		rc = find_result(vol, dir_walk_fd(vol, txn, &d, find_fn, &a), name, len);
	}
	if (!rc && !txn && e.type == VMFS_FT_DIR)
		walkc_keep(vol, *cur, name, len, e.fd);
	if (!rc)
		*cur = e.fd;
	return rc;
}

/* A walk of path failed at component name: say so naming the path once. */
static int walk_err(struct vmfs_volume *vol, int rc, const char *path, const char *name,
		    size_t len)
{
	const char *rest = name + len;

	while (*rest == '/')
		rest++;
	if (rc == -ENOENT && !*rest)
		return vmfs_seterr(vol, rc, "'%s' not found", path);
	if (rc == -ENOENT)
		return vmfs_seterr(vol, rc, "'%s' not found: no directory '%.*s'", path, (int)len,
				   name);
	if (rc == -ENOTDIR)
		return vmfs_seterr(vol, rc, "'%s': '%.*s' is not a directory", path, (int)len,
				   name);
	return rc;
}

int vmfs_path_walk(struct vmfs_volume *vol, struct vmfs_txn *txn, const char *path, uint32_t *fd)
{
	const char *p = path, *name;
	size_t len;
	uint32_t cur = vol->hdr.root_fd;

	while (next_comp(&p, &name, &len)) {
		int rc = step(vol, txn, &cur, name, len);

		if (rc)
			return walk_err(vol, rc, path, name, len);
	}
	*fd = cur;
	return 0;
}

/* Resolve all but the last component; that one must be a valid new name. */
int vmfs_path_parent(struct vmfs_volume *vol, struct vmfs_txn *txn, const char *path,
		     uint32_t *dir, const char **name, size_t *nlen)
{
	const char *p = path, *n = NULL, *prev = NULL;
	size_t len = 0, prevlen = 0;
	uint32_t cur = vol->hdr.root_fd;

	while (next_comp(&p, &n, &len)) {
		if (prev) {
			int rc = step(vol, txn, &cur, prev, prevlen);

			if (rc)
				return walk_err(vol, rc, path, prev, prevlen);
		}
		prev = n;
		prevlen = len;
	}
	if (!prev || !vmfs_name_valid(prev, prevlen))
		return vmfs_seterr(vol, -EINVAL, "'%s': not a valid name for a new entry", path);
	*dir = cur;
	*name = prev;
	*nlen = prevlen;
	return 0;
}
