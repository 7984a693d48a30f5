/*
 * Open files: handles, their on-disk locks, and data I/O through them.
 *
 * Opening takes the file descriptor's lock: exclusive for writers, shared
 * read-only for readers, shared multi-writer with VMFS_O_MULTIWRITER. Several
 * handles on this host share one lock record entry; a mode conflict between
 * local handles is refused here, a conflict with another host's holder by
 * vmfs_lock_get: -EBUSY at once if the holder is seen alive and using the
 * file, a request and a short wait if it only keeps the lock, the lock
 * broken if its lease expired (vmfs_lock.c, vmfs_held.c).
 * The last close gives a shared lock back and keeps an exclusive one, marked
 * unused, until another host asks for it. A handle remembers the descriptor's
 * generation and refuses I/O if the descriptor was reused.
 *
 * Multi-writer handles change the descriptor (allocation, size, times) only
 * under its metadata sub-lock (vmfs_meta_lock), so two hosts growing one
 * file never lose each other's allocations; a write that needs no metadata
 * change (all its units allocated, inside the size) goes straight to the
 * data. A multi-writer file is never shrunk (holes it had allocated could be
 * written by another holder after the free).
 */
#include "vmfs_priv.h"

static uint32_t lock_mode_for(unsigned flags)
{
	if (!(flags & VMFS_O_WRITE))
		return VMFS_LOCK_RO;
	return flags & VMFS_O_MULTIWRITER ? VMFS_LOCK_MW : VMFS_LOCK_EXCL;
}

static int local_conflict(struct vmfs_volume *vol, uint32_t fd, uint32_t mode, bool *shared)
{
	*shared = false;
	for (struct vmfs_file *f = vol->open_files; f; f = f->next) {
		if (f->fd != fd)
			continue;
		if (f->lock_mode != mode || mode == VMFS_LOCK_EXCL)
			return vmfs_seterr(vol, -EBUSY, "descriptor %u is already open on this "
					"host in a conflicting mode",
					   fd);
		*shared = true;
	}
	return 0;
}

/*
 * An open that may create: walk to the parent once, look for the name, and
 * create it in that directory if it is missing (vmfs_create_at takes the
 * directory's lock and looks again under it). 1: the path ends in no name
 * of a new entry ("/", ".", ".."): walk it instead.
 */
static int open_create(struct vmfs_volume *vol, const char *path, unsigned flags, uint32_t perm,
		       uint32_t *fd)
{
	struct vmfs_dirent e;
	const char *name;
	size_t nlen;
	uint32_t dir;
	int rc = vmfs_path_parent(vol, NULL, path, &dir, &name, &nlen);

	if (rc)
		return rc == -EINVAL ? 1 : rc;
	rc = vmfs_dir_find(vol, NULL, dir, name, nlen, &e, NULL);
	if (rc == -ENOENT)
		return vmfs_create_at(vol, dir, name, nlen, path, VMFS_FT_FILE, perm, fd);
	if (!rc && (flags & VMFS_O_EXCL))
		return vmfs_seterr(vol, -EEXIST, "'%s' already exists", path);
	if (!rc)
		*fd = e.fd;
	return rc;
}

static int open_lookup(struct vmfs_volume *vol, const char *path, unsigned flags, uint32_t perm,
		       uint32_t *fd)
{
	int rc;

	if (flags & VMFS_O_CREAT) {
		rc = open_create(vol, path, flags, perm, fd);
		if (rc <= 0)
			return rc;
	}
	rc = vmfs_path_walk(vol, NULL, path, fd);

	if (rc == -ENOENT && (flags & VMFS_O_CREAT))
		return vmfs_create_node(vol, path, VMFS_FT_FILE, perm, fd);
	if (!rc && (flags & VMFS_O_CREAT) && (flags & VMFS_O_EXCL))
		return vmfs_seterr(vol, -EEXIST, "'%s' already exists", path);
	return rc;
}

static int open_once(struct vmfs_volume *vol, const char *path, unsigned flags, uint32_t perm,
		     struct vmfs_file **out)
{
	struct vmfs_file *h;
	struct vmfs_fd *f = vmfs_zalloc(vol, sizeof(*f));
	uint32_t fd, mode = lock_mode_for(flags);
	bool shared = false;
	int rc = f ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory");

	*out = NULL;
	if (!rc && vol->rdonly && (flags & (VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_TRUNC)))
		rc = vmfs_seterr(vol, -EPERM, "'%s': volume is mounted read-only", path);
	if (!rc)
		rc = open_lookup(vol, path, flags, perm, &fd);
	if (!rc)
		rc = vmfs_fd_peek(vol, NULL, fd, f);
	if (!rc && f->type == VMFS_FT_DIR)
		rc = vmfs_seterr(vol, -EISDIR, "'%s' is a directory", path);
	if (!rc)
		rc = local_conflict(vol, fd, mode, &shared);
	if (!rc && !shared && !vol->rdonly) {
		uint32_t gen = f->gen;

		rc = vmfs_lock_get(vol, vmfs_fd_off(vol, fd), mode, VMFS_LW_NOWAIT, VMFS_LK_FILE,
				   path);
		/* the descriptor may have been removed (and reused) before we locked it */
		if (!rc && (vmfs_fd_peek(vol, NULL, fd, f) || f->gen != gen ||
			    f->type != VMFS_FT_FILE)) {
			vmfs_lock_put(vol, vmfs_fd_off(vol, fd));
			rc = vmfs_seterr(vol, -EIO, "'%s' changed while it was being opened", path);
		}
	}
	h = rc ? NULL : vmfs_zalloc(vol, sizeof(*h));
	if (!rc && !h)
		rc = vmfs_seterr(vol, -ENOMEM, "out of memory");
	if (!rc) {
		*h = (struct vmfs_file){ .vol = vol, .next = vol->open_files, .fd = fd,
					 .gen = f->gen, .flags = flags, .lock_mode = mode };
		vol->open_files = h;
		*out = h;
		if ((flags & VMFS_O_TRUNC) && (flags & VMFS_O_WRITE) && f->size)
			rc = vmfs_truncate_fd(vol, fd, 0);
		if (rc) {
			vmfs_close(h);
			*out = NULL;
		}
	}
	vmfs_free(vol, f);
	return rc;
}

int vmfs_open(struct vmfs_volume *vol, const char *path, unsigned flags, uint32_t perm,
	      struct vmfs_file **out)
{
	unsigned tries = 0;
	int rc;

	do
		rc = open_once(vol, path, flags, perm, out);
	while (vmfs_retry_ok(vol, rc, &tries));
	return rc;
}

static bool is_mw(const struct vmfs_file *h)
{
	return h->lock_mode == VMFS_LOCK_MW && !h->vol->rdonly;
}

static int meta_begin(struct vmfs_file *h)
{
	return is_mw(h) ? vmfs_meta_lock(h->vol, vmfs_fd_off(h->vol, h->fd)) : 0;
}

static void meta_end(struct vmfs_file *h)
{
	if (is_mw(h))
		vmfs_meta_unlock(h->vol, vmfs_fd_off(h->vol, h->fd));
}

static void touch_mtime(struct vmfs_file *h)
{
	struct vmfs_volume *vol = h->vol;
	struct vmfs_txn *txn;
	struct vmfs_fd *f;

	if (meta_begin(h))
		return;
	if (vmfs_txn_begin(vol, &txn)) {
		meta_end(h);
		return;
	}
	if (!vmfs_fd_get(txn, h->fd, &f) && f->gen == h->gen) {
		f->mtime_ns = vmfs_now(vol);
		vmfs_txn_dirty(txn, (uint8_t *)f);
		vmfs_txn_commit(txn);
	} else {
		vmfs_txn_abort(txn);
	}
	meta_end(h);
}

int vmfs_close(struct vmfs_file *h)
{
	struct vmfs_volume *vol;
	struct vmfs_file **pp;
	bool last = true;
	int rc = 0;

	if (!h)
		return 0;
	vol = h->vol;
	for (pp = &vol->open_files; *pp && *pp != h; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = h->next;
	for (struct vmfs_file *f = vol->open_files; f; f = f->next)
		if (f->fd == h->fd)
			last = false;
	if (h->written && !vol->rdonly && !vol->failed)
		touch_mtime(h);
	/* after a failed commit or a lost lease the lock stays for others to break */
	if (last && !vol->rdonly && !vol->failed && vmfs_lease_valid(vol))
		rc = vmfs_lock_put(vol, vmfs_fd_off(vol, h->fd));
	vmfs_free(vol, h->ra_mem);
	vmfs_free(vol, h);
	return rc;
}

struct vmfs_volume *vmfs_file_volume(struct vmfs_file *h)
{
	return h->vol;
}

/* Read h's descriptor into a fresh buffer and check it is still h's file. */
static int handle_fd(struct vmfs_file *h, struct vmfs_fd **out)
{
	struct vmfs_volume *vol = h->vol;
	struct vmfs_fd *f = vmfs_zalloc(vol, sizeof(*f));
	int rc = f ? vmfs_fd_peek(vol, NULL, h->fd, f) : vmfs_seterr(vol, -ENOMEM, "out of memory");

	if (!rc && (f->gen != h->gen || f->type != VMFS_FT_FILE))
		rc = vmfs_seterr(vol, -EIO, "descriptor %u was removed while open", h->fd);
	if (rc) {
		vmfs_free(vol, f);
		return rc;
	}
	*out = f;
	return 0;
}

/*
 * Read-ahead. A small read (below VMFS_RA_SMALL) that starts where the
 * previous read of the handle ended fills a window of VMFS_RA_WINDOW bytes
 * from the device in one request; the following small reads are copied from
 * it. The window is only trusted while nothing can have changed the file
 * under it: the handle holds the file's lock (shared-read or exclusive, not
 * multi-writer, not on a read-only mount, where we take no locks), our lease
 * is valid (nobody broke the lock), and this host has issued no write or
 * commit since it was read (vol->wseq). A handle opened VMFS_O_RANDOM
 * never reads ahead: a swap file's reads interleave with writes, each of
 * which would throw the window away after one use.
 */
#define VMFS_RA_SMALL	(64u << 10)
#define VMFS_RA_WINDOW	(512u << 10)

static int ra_read(struct vmfs_file *h, const struct vmfs_fd *f, uint64_t off, uint8_t *buf,
		   uint64_t len)
{
	struct vmfs_volume *vol = h->vol;
	uint64_t wseq = __atomic_load_n(&vol->wseq, __ATOMIC_RELAXED), start, n;
	bool seq = off == h->ra_next;
	int rc;

	h->ra_next = off + len;
	if (vol->rdonly || h->lock_mode == VMFS_LOCK_MW || (h->flags & VMFS_O_RANDOM) ||
	    f->mode == VMFS_FM_INLINE ||
	    len >= VMFS_RA_SMALL || !vmfs_lease_valid(vol))
		return 0;
	if (h->ra_wseq != wseq)
		h->ra_len = 0;
	if (off >= h->ra_off && off + len <= h->ra_off + h->ra_len) {
		memcpy(buf, h->ra_buf + (off - h->ra_off), len);
		return 1;
	}
	if (!seq || off + len == f->size)	/* not sequential, or nothing beyond it */
		return 0;
	start = off - off % VMFS_SECTOR;
	n = f->size - start < VMFS_RA_WINDOW ? f->size - start : VMFS_RA_WINDOW;
	h->ra_len = 0;
	if (n > h->ra_cap) {	/* a small file gets a small window */
		uint64_t cap = (n + VMFS_MD_BLOCK - 1) & ~(uint64_t)(VMFS_MD_BLOCK - 1);
		uint8_t *mem = vol->env.alloc(vol->env.ctx, cap + VMFS_MD_BLOCK);

		if (!mem)
			return 0;
		vmfs_free(vol, h->ra_mem);
		h->ra_mem = mem;
		h->ra_cap = cap;
		/* aligned in memory (and on the device), for direct I/O without copies */
		h->ra_buf = mem + (-(uintptr_t)mem & (VMFS_MD_BLOCK - 1));
	}
	rc = vmfs_data_read(vol, NULL, f, start, h->ra_buf, n);
	if (rc)
		return rc;
	h->ra_off = start;
	h->ra_len = n;
	h->ra_wseq = wseq;
	memcpy(buf, h->ra_buf + (off - start), len);	/* len <= f->size - off */
	return 1;
}

int64_t vmfs_read(struct vmfs_file *h, uint64_t off, void *buf, uint64_t len)
{
	struct vmfs_fd *f;
	int rc = handle_fd(h, &f);

	if (rc)
		return rc;
	if (off >= f->size)
		len = 0;
	else if (len > f->size - off)
		len = f->size - off;
	if (len > INT64_MAX)
		len = INT64_MAX;
	rc = len ? ra_read(h, f, off, buf, len) : 0;
	if (rc == 0 && len)
		rc = vmfs_data_read(h->vol, NULL, f, off, buf, len);
	else if (rc == 1)
		rc = 0;
	vmfs_free(h->vol, f);
	return rc ? rc : (int64_t)len;
}

static int check_writable(struct vmfs_file *h)
{
	if (!(h->flags & VMFS_O_WRITE))
		return vmfs_seterr(h->vol, -EPERM, "file descriptor %u is not open for writing",
				   h->fd);
	return 0;
}

/*
 * A write that changes no metadata: every unit of [off, off+len) allocated
 * (not to-be-zeroed) and inside the size. Writes it and returns len, or 0
 * when the write needs a transaction (for multi-writer files: the metadata
 * sub-lock). The modification time is then set at close.
 */
static int64_t overwrite_data(struct vmfs_file *h, uint64_t off, const uint8_t *p, uint64_t len)
{
	struct vmfs_volume *vol = h->vol;
	struct vmfs_fd *f;
	uint64_t us, ent;
	int rc = handle_fd(h, &f);

	if (rc)
		return rc;
	if (f->mode == VMFS_FM_INLINE || off + len > f->size) {
		vmfs_free(vol, f);
		return 0;
	}
	us = vmfs_unit_size(vol, f->mode);
	for (uint64_t u = off / us; !rc && u <= (off + len - 1) / us; u++) {
		rc = vmfs_addr_lookup(vol, NULL, f, u, &ent);
		if (!rc && (!ent || (ent & VMFS_ADDR_TBZ))) {
			vmfs_free(vol, f);
			return 0;
		}
	}
	if (!rc)
		rc = vmfs_data_write_allocated(vol, f, off, p, len);
	vmfs_free(vol, f);
	return rc ? rc : (int64_t)len;
}

/* One transaction of a write; returns bytes written. */
static int64_t write_step(struct vmfs_file *h, uint64_t off, const uint8_t *p, uint64_t len)
{
	struct vmfs_volume *vol = h->vol;
	struct vmfs_txn *txn;
	struct vmfs_fd *f;
	int64_t n = 0;
	int rc;

	n = overwrite_data(h, off, p, len);
	if (n) {
		h->written |= n > 0;
		return n;
	}
	rc = meta_begin(h);
	if (rc)
		return rc;
	rc = vmfs_txn_begin(vol, &txn);
	if (rc) {
		meta_end(h);
		return rc;
	}
	rc = vmfs_fd_get(txn, h->fd, &f);
	if (!rc && f->gen != h->gen)
		rc = vmfs_seterr(vol, -EIO, "descriptor %u was removed while open", h->fd);
	if (!rc)
		rc = vmfs_ensure_mode(txn, f, off + len > f->size ? off + len : f->size);
	if (!rc && f->mode == VMFS_FM_INLINE) {
		memcpy(f->inline_data + off, p, len);
		vmfs_txn_dirty(txn, (uint8_t *)f);
		n = (int64_t)len;
	} else if (!rc) {
		n = vmfs_data_write(txn, f, off, p, len);
		rc = n < 0 ? (int)n : 0;
	}
	if (!rc && off + (uint64_t)n > f->size)
		f->size = off + (uint64_t)n;
	if (!rc) {
		f->mtime_ns = vmfs_now(vol);
		vmfs_txn_dirty(txn, (uint8_t *)f);
	}
	rc = rc ? (vmfs_txn_abort(txn), rc) : vmfs_txn_commit(txn);
	meta_end(h);
	return rc ? rc : n;
}

int64_t vmfs_write(struct vmfs_file *h, uint64_t off, const void *buf, uint64_t len)
{
	const uint8_t *p = buf;
	uint64_t done = 0;
	int rc = check_writable(h);

	if (rc)
		return rc;
	if (off > vmfs_max_file_size(h->vol) || len > vmfs_max_file_size(h->vol) - off)
		return vmfs_seterr(h->vol, -EFBIG, "write beyond the largest file size");
	if (len > INT64_MAX)
		len = INT64_MAX;
	while (done < len) {
		int64_t n = write_step(h, off + done, p + done, len - done);

		if (n < 0)
			return n;
		if (n == 0)
			return vmfs_seterr(h->vol, -EIO, "internal: write made no progress");
		done += (uint64_t)n;
	}
	return (int64_t)done;
}

int vmfs_truncate(struct vmfs_file *h, uint64_t size)
{
	struct vmfs_fd *f;
	int rc = check_writable(h);

	if (!rc && size > vmfs_max_file_size(h->vol))
		rc = vmfs_seterr(h->vol, -EFBIG, "size beyond the largest file size");
	if (!rc)
		rc = meta_begin(h);
	if (rc)
		return rc;
	if (is_mw(h) && !(rc = handle_fd(h, &f))) {
		if (size < f->size)
			rc = vmfs_seterr(h->vol, -EBUSY, "descriptor %u is open multi-writer: it "
					 "cannot shrink", h->fd);
		vmfs_free(h->vol, f);
	}
	if (!rc)
		rc = vmfs_truncate_fd(h->vol, h->fd, size);
	meta_end(h);
	return rc;
}

int vmfs_extend(struct vmfs_file *h, uint64_t size, enum vmfs_alloc alloc)
{
	int rc = check_writable(h);

	if (!rc && size > vmfs_max_file_size(h->vol))
		rc = vmfs_seterr(h->vol, -EFBIG, "size beyond the largest file size");
	if (!rc && (unsigned)alloc > VMFS_ALLOC_EAGER)
		rc = vmfs_seterr(h->vol, -EINVAL, "bad allocation type %u", (unsigned)alloc);
	if (!rc)
		rc = meta_begin(h);
	if (rc)
		return rc;
	rc = vmfs_extend_fd(h->vol, h->fd, size, alloc, NULL);
	meta_end(h);
	return rc;
}

/*
 * Data and every committed metadata change durable (the log is flushed), and
 * the metadata written home, where read-only mounts and other hosts see it.
 */
int vmfs_fsync(struct vmfs_file *h)
{
	struct vmfs_volume *vol = h->vol;

	if (vol->rdonly)
		return 0;
	return vmfs_journal_flush(vol) ?: vmfs_journal_publish(vol);	/* data even if no log */
}

int vmfs_fstat(struct vmfs_file *h, struct vmfs_stat *st)
{
	struct vmfs_fd *f;
	int rc = handle_fd(h, &f);

	if (rc)
		return rc;
	vmfs_fill_stat(h->vol, f, st);
	vmfs_free(h->vol, f);
	return 0;
}

int vmfs_file_map(struct vmfs_file *h, uint64_t off, uint64_t len, uint64_t *dev_off,
		  uint64_t *run)
{
	struct vmfs_fd *f;
	int rc = handle_fd(h, &f);

	if (rc)
		return rc;
	if (off >= f->size)
		rc = vmfs_seterr(h->vol, -ERANGE, "offset %llu is beyond the end of the file",
				 (unsigned long long)off);
	if (!rc)
		rc = vmfs_data_map(h->vol, f, off, len < f->size - off ? len : f->size - off,
				   dev_off, run);
	vmfs_free(h->vol, f);
	return rc;
}

int vmfs_seek_data(struct vmfs_file *h, uint64_t off, uint64_t *data_off)
{
	struct vmfs_fd *f;
	uint64_t us, next;
	int rc = handle_fd(h, &f);

	if (rc)
		return rc;
	*data_off = off >= f->size ? f->size : off;
	if (off < f->size && f->mode != VMFS_FM_INLINE) {
		us = vmfs_unit_size(h->vol, f->mode);
		rc = vmfs_addr_next(h->vol, f, off / us, &next);
		if (!rc)
			*data_off = next == ~0ull || next > f->size / us ? f->size :
				(next * us > off ? next * us : off);
		if (*data_off > f->size)
			*data_off = f->size;
	}
	vmfs_free(h->vol, f);
	return rc;
}
