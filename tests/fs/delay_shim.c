/*
 * LD_PRELOAD shim for the fencing tests: a storage path that stalls.
 *
 * Once the file named by $VMFS_SHIM_TRIGGER exists, every pwrite of the
 * process is held for $VMFS_SHIM_DELAY_MS milliseconds before it is issued,
 * the way a multipath layer queues I/O while a path fails over, and then
 * lands. Reads are not held.
 *
 * With $VMFS_SHIM_NO_DIRECT set, opening with O_DIRECT fails with EINVAL, as
 * on a filesystem without direct I/O (older tmpfs, some FUSE filesystems).
 *
 * Build: gcc -shared -fPIC delay_shim.c -ldl.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>

typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);

static void maybe_hold(void)
{
	const char *trig = getenv("VMFS_SHIM_TRIGGER");
	const char *ms = getenv("VMFS_SHIM_DELAY_MS");
	long d = ms ? atol(ms) : 3000;
	struct timespec ts = { d / 1000, (d % 1000) * 1000000L };

	if (trig && !access(trig, F_OK))
		while (nanosleep(&ts, &ts))
			;
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	static pwrite_fn real;

	if (!real)
		real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite");
	maybe_hold();
	return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
	static pwrite_fn real;

	if (!real)
		real = (pwrite_fn)dlsym(RTLD_NEXT, "pwrite64");
	maybe_hold();
	return real(fd, buf, n, off);
}

typedef int (*open_fn)(const char *, int, ...);

static int shim_open(const char *name, const char *path, int flags, va_list ap)
{
	open_fn real = (open_fn)dlsym(RTLD_NEXT, name);
	mode_t mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;

	if ((flags & O_DIRECT) && getenv("VMFS_SHIM_NO_DIRECT")) {
		errno = EINVAL;
		return -1;
	}
	return real(path, flags, mode);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int rc;

	va_start(ap, flags);
	rc = shim_open("open", path, flags, ap);
	va_end(ap);
	return rc;
}

int open64(const char *path, int flags, ...)
{
	va_list ap;
	int rc;

	va_start(ap, flags);
	rc = shim_open("open64", path, flags, ap);
	va_end(ap);
	return rc;
}
