/*
 * Namespace operations: lookup, stat, mkdir, rmdir, unlink, rename, readdir.
 *
 * Locking: an operation that changes a directory takes the directory
 * descriptor's on-disk lock (exclusive) before reading it for change; an
 * operation that removes a file or directory also takes that object's lock,
 * so a file open on this or another host cannot be removed, and moving a
 * directory takes the moved directory's lock (its parent field changes).
 * Lock order: directories by ascending descriptor number, then the object
 * removed or moved. Locks are kept after the operation (vmfs_held.c), so a
 * host working in its own directories takes each lock once; a created
 * file or directory starts with its lock held by its creator.
 *
 * Removing a large file frees its blocks over several transactions first
 * (vmfs_truncate_fd), then unlinks and frees the descriptor in one final
 * transaction; a crash in between leaves the file present but shorter.
 */
#include <stdio.h>
#include "vmfs_priv.h"

/* Directories wait for another host's operation; a victim open elsewhere fails -EBUSY. */
static int fd_lock_how(struct vmfs_volume *vol, uint32_t fd, const char *what,
		       enum vmfs_lock_wait wait, uint8_t kind)
{
	char w[96];

	snprintf(w, sizeof(w), "%s (descriptor %u)", what, fd);
	return vmfs_lock_get(vol, vmfs_fd_off(vol, fd), VMFS_LOCK_EXCL, wait, kind, w);
}

static int fd_lock(struct vmfs_volume *vol, uint32_t fd, const char *what)
{
	return fd_lock_how(vol, fd, what, VMFS_LW_WAIT, VMFS_LK_DIR);
}

static void fd_unlock(struct vmfs_volume *vol, uint32_t fd)
{
	char saved[sizeof(vol->err)];

	memcpy(saved, vol->err, sizeof(saved));	/* keep the first error's text */
	vmfs_lock_put(vol, vmfs_fd_off(vol, fd));
	memcpy(vol->err, saved, sizeof(saved));
}

static bool is_open(const struct vmfs_volume *vol, uint32_t fd)
{
	for (const struct vmfs_file *f = vol->open_files; f; f = f->next)
		if (f->fd == fd)
			return true;
	return false;
}

int vmfs_lookup(struct vmfs_volume *vol, const char *path, uint32_t *fd)
{
	unsigned tries = 0;
	int rc;

	do
		rc = vmfs_path_walk(vol, NULL, path, fd);
	while (vmfs_retry_ok(vol, rc, &tries));
	return rc;
}

static int stat_once(struct vmfs_volume *vol, const char *path, struct vmfs_stat *st)
{
	struct vmfs_fd *f = vmfs_zalloc(vol, sizeof(*f));
	uint32_t fd;
	int rc = f ? vmfs_path_walk(vol, NULL, path, &fd) : -ENOMEM;

	if (!rc)
		rc = vmfs_fd_peek(vol, NULL, fd, f);
	if (!rc)
		vmfs_fill_stat(vol, f, st);
	vmfs_free(vol, f);
	return rc;
}

/* Allocate and initialise a descriptor inside txn. */
static int new_fd(struct vmfs_txn *txn, uint32_t parent, uint8_t type, uint32_t perm,
		  uint32_t *fd, uint32_t *gen)
{
	struct vmfs_volume *vol = txn->vol;
	struct vmfs_fd *f;
	uint8_t *data;
	uint32_t old_gen;
	int rc = vmfs_alloc(txn, VMFS_RES_FD, fd);

	/* its creator holds the new descriptor's lock before anyone can find it */
	if (!rc)
		rc = vmfs_lock_take_new(vol, vmfs_fd_off(vol, *fd),
					type == VMFS_FT_DIR ? VMFS_LK_DIR : VMFS_LK_FILE,
					type == VMFS_FT_DIR);
	if (!rc)
		rc = vmfs_txn_get(txn, vmfs_fd_off(vol, *fd) + VMFS_SECTOR, VMFS_MD_PAYLOAD,
				  vmfs_fd_off(vol, *fd), &data);
	if (rc)
		return rc;
	f = (struct vmfs_fd *)data;
	old_gen = f->magic == VMFS_MAGIC_FD ? f->gen : 0;
	memset(f, 0, sizeof(*f));
	f->magic = VMFS_MAGIC_FD;
	f->index = *fd;
	f->gen = *gen = old_gen + 1;
	f->type = type;
	f->mode = type == VMFS_FT_DIR ? VMFS_FM_SB : VMFS_FM_INLINE;
	f->nlink = 1;
	f->perm = perm;
	f->parent = parent;
	f->ctime_ns = f->mtime_ns = f->atime_ns = vmfs_now(vol);
	vmfs_txn_dirty(txn, data);
	return 0;
}

/* Create a file or directory at path; *out gets its descriptor. */
int vmfs_create_node(struct vmfs_volume *vol, const char *path, uint8_t type, uint32_t perm,
		     uint32_t *out)
{
	const char *name;
	size_t nlen;
	uint32_t dir;
	int rc = vmfs_path_parent(vol, NULL, path, &dir, &name, &nlen);

	return rc ? rc : vmfs_create_at(vol, dir, name, nlen, path, type, perm, out);
}

/* Create name (nlen bytes, the last component of path) in directory dir. */
int vmfs_create_at(struct vmfs_volume *vol, uint32_t dir, const char *name, size_t nlen,
		   const char *path, uint8_t type, uint32_t perm, uint32_t *out)
{
	struct vmfs_txn *txn;
	uint32_t fd = 0, gen = 0;
	int rc = fd_lock(vol, dir, "parent directory");

	if (rc)
		return rc;
	rc = vmfs_txn_begin(vol, &txn);
	if (!rc) {
		rc = vmfs_dir_find(vol, txn, dir, name, nlen, NULL, NULL);
		if (!rc)
			rc = vmfs_seterr(vol, -EEXIST, "'%s' already exists", path);
		else if (rc == -ENOENT)
			rc = new_fd(txn, dir, type, perm, &fd, &gen);
		if (!rc)
			rc = vmfs_dir_add(txn, dir, name, nlen, fd, gen, type);
		if (!rc)
			rc = vmfs_txn_commit(txn);
		else
			vmfs_txn_abort(txn);
	}
	fd_unlock(vol, dir);
	if (!rc && out)
		*out = fd;
	return rc;
}

int vmfs_stat(struct vmfs_volume *vol, const char *path, struct vmfs_stat *st)
{
	unsigned tries = 0;
	int rc;

	do
		rc = stat_once(vol, path, st);
	while (vmfs_retry_ok(vol, rc, &tries));
	return rc;
}

int vmfs_mkdir(struct vmfs_volume *vol, const char *path, uint32_t perm)
{
	unsigned tries = 0;
	int rc;

	do
		rc = vmfs_create_node(vol, path, VMFS_FT_DIR, perm, NULL);
	while (vmfs_retry_ok(vol, rc, &tries));
	return rc;
}

/* Final transaction of a removal: drop the entry, free the descriptor. */
static int remove_entry(struct vmfs_txn *txn, uint32_t dir, uint64_t ent_off, uint32_t fd)
{
	struct vmfs_fd *f;
	int rc = vmfs_dir_remove(txn, dir, ent_off);

	if (!rc)
		rc = vmfs_fd_get(txn, fd, &f);
	if (rc)
		return rc;
	f->type = VMFS_FT_FREE;
	f->size = 0;
	vmfs_txn_dirty(txn, (uint8_t *)f);
	return vmfs_txn_defer_free(txn, VMFS_RES_FD, fd);
}

/* Empty (truncate) a file or empty directory whose lock we hold. */
static int drain(struct vmfs_volume *vol, const struct vmfs_dirent *e)
{
	int rc;

	if (e->type == VMFS_FT_DIR) {
		rc = vmfs_dir_is_empty(vol, NULL, e->fd);
		if (rc == 0)
			return vmfs_seterr(vol, -ENOTEMPTY, "directory '%.*s' is not empty",
					   e->name_len, e->name);
		if (rc < 0)
			return rc;
	}
	if (e->type == VMFS_FT_FILE) {	/* an inline file has nothing to free first */
		struct vmfs_fd *f = vmfs_zalloc(vol, sizeof(*f));

		rc = f ? vmfs_fd_peek(vol, NULL, e->fd, f) : -ENOMEM;
		if (!rc && f->mode == VMFS_FM_INLINE) {
			vmfs_free(vol, f);
			return 0;
		}
		vmfs_free(vol, f);
	}
	return vmfs_truncate_fd(vol, e->fd, 0);
}

static int remove_node(struct vmfs_volume *vol, const char *path, uint8_t type)
{
	struct vmfs_dirent e;
	struct vmfs_txn *txn;
	const char *name;
	size_t nlen;
	uint32_t dir;
	uint64_t off;
	int rc = vmfs_path_parent(vol, NULL, path, &dir, &name, &nlen);

	if (!rc)
		rc = fd_lock(vol, dir, "parent directory");
	if (rc)
		return rc;
	rc = vmfs_dir_find(vol, NULL, dir, name, nlen, &e, &off);
	if (!rc && e.type != type)
		rc = vmfs_seterr(vol, type == VMFS_FT_DIR ? -ENOTDIR : -EISDIR, "'%s' is %s", path,
				 type == VMFS_FT_DIR ? "not a directory" : "a directory");
	if (!rc && is_open(vol, e.fd))
		rc = vmfs_seterr(vol, -EBUSY, "'%s' is open", path);
	if (rc) {
		fd_unlock(vol, dir);
		return rc;
	}
	rc = fd_lock_how(vol, e.fd, path, VMFS_LW_NOWAIT, VMFS_LK_USE);
	if (!rc) {
		rc = drain(vol, &e);
		if (!rc)
			rc = vmfs_txn_begin(vol, &txn);
		if (!rc) {
			rc = remove_entry(txn, dir, off, e.fd);
			rc = rc ? (vmfs_txn_abort(txn), rc) : vmfs_txn_commit(txn);
		}
		fd_unlock(vol, e.fd);
	}
	fd_unlock(vol, dir);
	return rc;
}

static int remove_retry(struct vmfs_volume *vol, const char *path, uint8_t type)
{
	unsigned tries = 0;
	int rc;

	do
		rc = remove_node(vol, path, type);
	while (vmfs_retry_ok(vol, rc, &tries));
	return rc;
}

int vmfs_unlink(struct vmfs_volume *vol, const char *path)
{
	return remove_retry(vol, path, VMFS_FT_FILE);
}

int vmfs_rmdir(struct vmfs_volume *vol, const char *path)
{
	return remove_retry(vol, path, VMFS_FT_DIR);
}

/* -EINVAL if dir is fd or lies below it. */
static int check_not_below(struct vmfs_volume *vol, uint32_t dir, uint32_t fd)
{
	struct vmfs_fd d;

	for (unsigned depth = 0; depth < VMFS_MAX_DEPTH; depth++) {
		int rc;

		if (dir == fd)
			return vmfs_seterr(vol, -EINVAL, "cannot move a directory into itself");
		if (dir == vol->hdr.root_fd)
			return 0;
		rc = vmfs_fd_peek(vol, NULL, dir, &d);
		if (rc)
			return rc;
		dir = d.parent;
	}
	return vmfs_seterr(vol, -EIO, "directory nesting deeper than %u (loop?)", VMFS_MAX_DEPTH);
}

struct rename_op {
	struct vmfs_dirent src, dst;
	uint64_t src_off, dst_off;
	uint32_t sdir, ddir;
	const char *dname;
	size_t dlen;
	bool replace;
};

static int rename_txn(struct vmfs_volume *vol, struct rename_op *r)
{
	struct vmfs_txn *txn;
	struct vmfs_fd *f;
	int rc = vmfs_txn_begin(vol, &txn);

	if (rc)
		return rc;
	if (r->replace)
		rc = remove_entry(txn, r->ddir, r->dst_off, r->dst.fd);
	if (!rc)
		rc = vmfs_dir_remove(txn, r->sdir, r->src_off);
	if (!rc)
		rc = vmfs_dir_add(txn, r->ddir, r->dname, r->dlen, r->src.fd, r->src.gen,
				  r->src.type);
	if (!rc && r->src.type == VMFS_FT_DIR && r->sdir != r->ddir) {
		rc = vmfs_fd_get(txn, r->src.fd, &f);
		if (!rc) {
			f->parent = r->ddir;
			vmfs_txn_dirty(txn, (uint8_t *)f);
		}
	}
	return rc ? (vmfs_txn_abort(txn), rc) : vmfs_txn_commit(txn);
}

/* Checks on an existing target; empties it so the final transaction is small. */
static int rename_target(struct vmfs_volume *vol, struct rename_op *r, const char *to)
{
	int rc = vmfs_dir_find(vol, NULL, r->ddir, r->dname, r->dlen, &r->dst, &r->dst_off);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (r->dst.type != r->src.type)
		return vmfs_seterr(vol, r->dst.type == VMFS_FT_DIR ? -EISDIR : -ENOTDIR,
				   "'%s' exists and is %s", to,
				   r->dst.type == VMFS_FT_DIR ? "a directory" : "not a directory");
	if (is_open(vol, r->dst.fd))
		return vmfs_seterr(vol, -EBUSY, "'%s' is open", to);
	rc = fd_lock_how(vol, r->dst.fd, to, VMFS_LW_NOWAIT, VMFS_LK_USE);
	if (!rc)
		rc = drain(vol, &r->dst);
	if (rc)
		return rc;
	r->replace = true;
	return 0;
}

/*
 * A directory renamed, within its parent or not, is locked: the entry
 * naming a directory changes only under the directory's own lock, which
 * lets its holder keep path steps to it (vmfs_dir.c).
 */
static int rename_locked(struct vmfs_volume *vol, struct rename_op *r, const char *to)
{
	bool is_dir = r->src.type == VMFS_FT_DIR;
	int rc = is_dir ? fd_lock(vol, r->src.fd, "renamed directory") : 0;

	if (!rc)
		rc = rename_target(vol, r, to);
	if (!rc)
		rc = rename_txn(vol, r);
	if (r->replace)
		fd_unlock(vol, r->dst.fd);
	if (is_dir)
		fd_unlock(vol, r->src.fd);
	return rc;
}

static int rename_once(struct vmfs_volume *vol, const char *from, const char *to)
{
	struct rename_op r;
	const char *sname;
	size_t slen;
	uint32_t lo, hi;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = vmfs_path_parent(vol, NULL, from, &r.sdir, &sname, &slen);
	if (!rc)
		rc = vmfs_dir_find(vol, NULL, r.sdir, sname, slen, &r.src, &r.src_off);
	if (!rc)
		rc = vmfs_path_parent(vol, NULL, to, &r.ddir, &r.dname, &r.dlen);
	if (!rc && r.src.type == VMFS_FT_DIR)
		rc = check_not_below(vol, r.ddir, r.src.fd);
	if (rc)
		return rc;
	if (r.sdir == r.ddir && slen == r.dlen && !memcmp(sname, r.dname, slen))
		return 0;
	lo = r.sdir < r.ddir ? r.sdir : r.ddir;
	hi = r.sdir < r.ddir ? r.ddir : r.sdir;
	rc = fd_lock(vol, lo, "directory");
	if (!rc && hi != lo && (rc = fd_lock(vol, hi, "directory")))
		fd_unlock(vol, lo);
	if (rc)
		return rc;
	/* the entry found before locking may have moved: find it again */
	rc = vmfs_dir_find(vol, NULL, r.sdir, sname, slen, &r.src, &r.src_off);
	if (!rc)
		rc = rename_locked(vol, &r, to);
	if (hi != lo)
		fd_unlock(vol, hi);
	fd_unlock(vol, lo);
	return rc;
}

int vmfs_rename(struct vmfs_volume *vol, const char *from, const char *to)
{
	unsigned tries = 0;
	int rc;

	do
		rc = rename_once(vol, from, to);
	while (vmfs_retry_ok(vol, rc, &tries));
	return rc;
}

struct readdir_arg {
	struct vmfs_volume *vol;
	vmfs_readdir_fn fn;
	void *arg;
	struct vmfs_fd f;
	char name[VMFS_NAME_MAX + 1];
};

static int readdir_fn(void *arg, const struct vmfs_dirent *e)
{
	struct readdir_arg *a = arg;
	struct vmfs_stat st;
	int rc = vmfs_fd_peek(a->vol, NULL, e->fd, &a->f);

	if (!rc && a->f.gen != e->gen)
		rc = vmfs_seterr(a->vol, -EIO, "entry '%.*s' names descriptor %u generation %u, "
				"found %u",
				 e->name_len, e->name, e->fd, e->gen, a->f.gen);
	if (rc)
		return rc;
	vmfs_fill_stat(a->vol, &a->f, &st);
	memcpy(a->name, e->name, e->name_len);
	a->name[e->name_len] = 0;
	return a->fn(a->arg, a->name, &st);
}

int vmfs_readdir(struct vmfs_volume *vol, const char *path, vmfs_readdir_fn fn, void *arg)
{
	struct readdir_arg *a = vmfs_zalloc(vol, sizeof(*a));
	uint32_t dir;
	int rc = a ? vmfs_path_walk(vol, NULL, path, &dir) : -ENOMEM;

	if (!rc) {
		a->vol = vol;
		a->fn = fn;
		a->arg = arg;
		rc = vmfs_dir_iterate(vol, NULL, dir, readdir_fn, a);
	}
	vmfs_free(vol, a);
	return rc;
}
