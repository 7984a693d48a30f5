/* vmkfstools: virtual disks (-c -i -X -U -E) and file commands (ls, stat, cp-in, ...). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "vmkfstools.h"

static bool parse_alloc(const char *s, enum vmfs_alloc *a)
{
	if (!s || !strcmp(s, "zeroedthick"))
		*a = VMFS_ALLOC_ZEROED;
	else if (!strcmp(s, "thin"))
		*a = VMFS_ALLOC_THIN;
	else if (!strcmp(s, "eagerzeroedthick"))
		*a = VMFS_ALLOC_EAGER;
	else
		return false;
	return true;
}

static void *buffer(void)
{
	void *p = NULL;

	return posix_memalign(&p, 4096, CHUNK) ? NULL : p;
}

/* -c, -i, -X, -U, -E. A create or clone that fails leaves no files behind (fs/vmdk.c). */
int cmd_disk(struct ctx *c, const struct opts *o)
{
	struct vmfs_progress prog = { progress, NULL };
	enum vmfs_alloc alloc;
	uint64_t size = 0;
	const char *path;
	int rc;

	if (o->nargs != 2)
		return usage_err("this option takes IMAGE and one disk path");
	path = o->args[1];
	if (!parse_alloc(o->diskformat, &alloc))
		return usage_err("-d takes thin, zeroedthick or eagerzeroedthick");
	if ((o->create_disk && (!parse_size(o->create_disk, &size) || !size)) ||
	    (o->extend && (!parse_size(o->extend, &size) || !size)))
		return usage_err("bad SIZE (a number with an optional k, m, g or t suffix)");
	rc = open_volume(c, false);
	if (rc)
		return rc;
	if (o->create_disk) {
		prog.arg = "create";
		rc = vmfs_vmdk_create(c->vol, path, (size + 511) / 512 * 512, alloc, &prog);
	} else if (o->clone_src) {
		prog.arg = "clone";
		rc = vmfs_vmdk_clone(c->vol, o->clone_src, path, alloc, &prog);
	} else if (o->extend) {
		struct vmfs_vmdk_info info;

		/* without -d the disk keeps its kind: thin stays thin */
		if (!o->diskformat && !vmfs_vmdk_info(c->vol, path, &info) && info.thin)
			alloc = VMFS_ALLOC_THIN;
		prog.arg = "extend";
		rc = vmfs_vmdk_extend(c->vol, path, (size + 511) / 512 * 512, alloc, &prog);
	} else if (o->delete_disk) {
		rc = vmfs_vmdk_delete(c->vol, path);
	} else {
		rc = vmfs_vmdk_rename(c->vol, o->rename_src, path);
	}
	progress_end();
	return close_volume(c, rc ? vfail(c, path) : 0);
}

static int ls_fn(void *arg, const char *name, const struct vmfs_stat *st)
{
	(void)arg;
	printf("%c %04o %14llu %s%s\n", st->type == VMFS_FT_DIR ? 'd' : '-', st->perm & 07777,
	       (unsigned long long)st->size, name, st->type == VMFS_FT_DIR ? "/" : "");
	return 0;
}

int do_ls(struct ctx *c, const char *path)
{
	return vmfs_readdir(c->vol, path, ls_fn, NULL) ? vfail(c, path) : 0;
}

int do_stat(struct ctx *c, const char *path)
{
	static const char *const modes[] = { "inline", "sub-block", "file-block" };
	struct vmfs_stat st;

	if (vmfs_stat(c->vol, path, &st))
		return vfail(c, path);
	printf("%s: descriptor %u generation %u, %s, %s addressing, size %llu, allocated %llu\n",
	       path, st.fd, st.gen, st.type == VMFS_FT_DIR ? "directory" : "file",
	       st.mode < 3 ? modes[st.mode] : "?", (unsigned long long)st.size,
	       (unsigned long long)st.alloc_bytes);
	return 0;
}

/* Copy host file in; all-zero chunks stay holes. */
static int copy_in_data(struct ctx *c, int in, struct vmfs_file *f, const char *path,
			uint64_t total)
{
	uint8_t *buf = buffer();
	uint64_t off = 0;
	int rc = buf ? 0 : fail("out of memory");
	ssize_t n;

	while (!rc && (n = pread(in, buf, CHUNK, (off_t)off)) > 0) {
		bool zero = true;

		for (ssize_t i = 0; i < n && zero; i++)
			zero = !buf[i];
		if (!zero && vmfs_write(f, off, buf, (uint64_t)n) != n)
			rc = vfail(c, path);
		off += (uint64_t)n;
		progress("copy-in", off, total);
		if (!rc && vmk_interrupted)
			rc = interrupted_fail(path);
	}
	if (!rc && (vmfs_truncate(f, off) || vmfs_fsync(f)))
		rc = vfail(c, path);
	free(buf);
	return rc;
}

int copy_in(struct ctx *c, const char *host, const char *path)
{
	struct vmfs_stat vst;
	struct vmfs_file *f;
	struct stat st;
	bool existed = !vmfs_stat(c->vol, path, &vst);
	int in = open(host, O_RDONLY | O_CLOEXEC), rc;

	if (in < 0 || fstat(in, &st)) {
		rc = fail("%s: %s", host, strerror(errno));
		if (in >= 0)
			close(in);
		return rc;
	}
	if (vmfs_open(c->vol, path, VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_TRUNC, 0644, &f)) {
		close(in);
		return vfail(c, path);
	}
	rc = copy_in_data(c, in, f, path, (uint64_t)st.st_size);
	vmfs_close(f);
	progress_end();
	close(in);
	if (rc && !existed)
		vmfs_unlink(c->vol, path);	/* a failed copy leaves nothing behind */
	return rc;
}

static int write_all(int fd, const uint8_t *p, uint64_t n, off_t off, bool seek)
{
	while (n) {
		ssize_t w = seek ? pwrite(fd, p, n, off) : write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (uint64_t)w;
		off += w;
	}
	return 0;
}

/*
 * Copy a file out: to a regular file sparsely (holes stay holes), to
 * anything else (stdout as "-", a pipe, /dev/null) as a plain stream.
 */
static int copy_out_data(struct ctx *c, struct vmfs_file *f, const char *path, int out,
			 const char *host, uint64_t size, bool sparse)
{
	uint8_t *buf = buffer();
	uint64_t off = 0;
	int rc = buf ? 0 : fail("out of memory");

	while (!rc && off < size) {
		int64_t n;

		if (sparse && (vmfs_seek_data(f, off, &off) || off >= size))
			break;
		n = vmfs_read(f, off, buf, CHUNK);
		if (n <= 0)
			rc = vfail(c, path);
		else if (write_all(out, buf, (uint64_t)n, (off_t)off, sparse))
			rc = fail("%s: %s", host, strerror(errno));
		off += n > 0 ? (uint64_t)n : 0;
		if (sparse)
			progress("copy-out", off, size);
		if (!rc && vmk_interrupted)
			rc = interrupted_fail(path);
	}
	if (!rc && sparse && ftruncate(out, (off_t)size))
		rc = fail("%s: %s", host, strerror(errno));
	free(buf);
	return rc;
}

int copy_out(struct ctx *c, const char *path, const char *host)
{
	bool to_stdout = !strcmp(host, "-");
	struct vmfs_file *f;
	struct vmfs_stat vst;
	struct stat st;
	int out, rc;

	if (vmfs_open(c->vol, path, VMFS_O_READ, 0, &f))
		return vfail(c, path);
	if (vmfs_fstat(f, &vst)) {
		rc = vfail(c, path);
		vmfs_close(f);
		return rc;
	}
	out = to_stdout ? 1 : open(host, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		rc = fail("%s: %s", host, strerror(errno));
	} else {
		bool sparse = !to_stdout && !fstat(out, &st) && S_ISREG(st.st_mode);

		rc = copy_out_data(c, f, path, out, to_stdout ? "standard output" : host,
				   vst.size, sparse);
		if (!to_stdout && close(out) && !rc)
			rc = fail("%s: %s", host, strerror(errno));
	}
	progress_end();
	vmfs_close(f);
	return rc;
}

int cat_file(struct ctx *c, const char *path)
{
	fflush(stdout);
	return copy_out(c, path, "-");
}

int write_at(struct ctx *c, const char *path, const char *offs, const char *host)
{
	struct vmfs_file *f;
	uint64_t off;
	uint8_t *buf;
	int in, rc = 0;
	ssize_t n;

	if (!parse_size(offs, &off))
		return usage_err("bad OFFSET (a number with an optional k, m, g or t suffix)");
	in = open(host, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return fail("%s: %s", host, strerror(errno));
	buf = buffer();
	if (!buf) {
		rc = fail("out of memory");
	} else if (vmfs_open(c->vol, path, VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &f)) {
		rc = vfail(c, path);
	} else {
		while (!rc && (n = read(in, buf, CHUNK)) > 0) {
			if (vmfs_write(f, off, buf, (uint64_t)n) != n)
				rc = vfail(c, path);
			off += (uint64_t)n;
			if (!rc && vmk_interrupted)
				rc = interrupted_fail(path);
		}
		if (!rc && vmfs_fsync(f))
			rc = vfail(c, path);
		vmfs_close(f);
	}
	close(in);
	free(buf);
	return rc;
}
