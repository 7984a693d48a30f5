/*
 * A blockdev over an image file or a block device, and a libc vmfs_env.
 *
 * I/O uses pread/pwrite at sector offsets and fdatasync for flush. The image
 * is opened with O_DIRECT (ext4, xfs, block devices), so writes reach the
 * device, not just this machine's page cache, and hosts on other machines
 * sharing the LUN see them. A filesystem without O_DIRECT (tmpfs) is refused
 * unless the caller asks for buffered I/O, which is only right when every
 * host is a process on this one machine. Atomicity assumed (and documented in
 * docs/vmfs.md): an aligned 512-byte write is all-or-nothing, as on disks
 * with 512-byte logical sectors; larger writes may tear at sector
 * boundaries. Plain files offer no COMPARE AND WRITE, so the device has none
 * (compare_and_write = NULL). Buffers aligned to 512 bytes go to the device
 * as they are, up to 64 MiB per call; others bounce, through the stack up
 * to 4 KiB (so the heartbeat thread and the main thread can do I/O at
 * once), else 1 MiB at a time through a buffer of the device.
 *
 * Write deadline (set_write_deadline, the fencing fs/ asks for): a write is
 * not started after the deadline, and a watchdog thread ends the process
 * (SIGKILL) if a write is still in flight past it. A write held up in this
 * process (a storage path stalled in user space, modelled by the tests'
 * LD_PRELOAD shim) then dies with it instead of landing after other hosts
 * broke our locks: the host-tool equivalent of sanlock's watchdog reset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <linux/fs.h>
#include "host.h"

#define BOUNCE (1u << 20)
#define MAX_IO (64u << 20)	/* one pread/pwrite at most */
#define WATCHDOG_MS 5

/*
 * <pthread.h> pulls in <sched.h>, which -Iinclude could resolve to a kernel
 * header, so declare the calls we need (glibc: pthread_t is an unsigned long,
 * and libc itself provides them since 2.34).
 */
extern int pthread_create(unsigned long *thread, const void *attr, void *(*fn)(void *),
			  void *arg);
extern int pthread_join(unsigned long thread, void **ret);

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *watchdog_main(void *arg)
{
	struct filedev *f = arg;
	struct timespec ts = { 0, WATCHDOG_MS * 1000000L };

	while (!__atomic_load_n(&f->wd_stop, __ATOMIC_ACQUIRE)) {
		uint64_t dl = __atomic_load_n(&f->deadline, __ATOMIC_ACQUIRE), now;

		nanosleep(&ts, NULL);
		now = mono_now();
		if (dl && now > dl && __atomic_load_n(&f->inflight, __ATOMIC_ACQUIRE)) {
			fprintf(stderr, "vmfs: a write to %s is still in flight %llu ms after this "
				"host's lease ended; stopping the process so that it cannot land "
				"after other hosts take over (fencing)\n", f->path,
				(unsigned long long)((now - dl) / 1000000));
			kill(getpid(), SIGKILL);
		}
	}
	return NULL;
}

static void fd_set_deadline(struct blockdev *dev, uint64_t mono_ns)
{
	struct filedev *f = dev->priv;

	__atomic_store_n(&f->deadline, mono_ns, __ATOMIC_RELEASE);
	if (mono_ns && !__atomic_exchange_n(&f->wd_started, 1, __ATOMIC_ACQ_REL) &&
	    pthread_create(&f->wd_thread, NULL, watchdog_main, f))
		__atomic_store_n(&f->wd_started, 0, __ATOMIC_RELEASE);
}

static int fd_io(struct blockdev *dev, uint64_t lba, uint32_t count, void *buf, bool wr)
{
	struct filedev *f = dev->priv;
	uint64_t off = lba * 512, len = (uint64_t)count * 512;
	uint8_t small[4096] __attribute__((aligned(4096)));	/* thread-safe bounce */
	uint8_t *p = buf;

	if (lba > dev->sectors || count > dev->sectors - lba)
		return -EIO;
	while (len) {
		bool bounce = f->direct && ((uintptr_t)p % 512);
		size_t n = len > BOUNCE && bounce ? BOUNCE : len > MAX_IO ? MAX_IO : len;
		void *io = !bounce ? p : len <= sizeof(small) ? small : f->bounce;
		ssize_t r;

		if (bounce && wr)
			memcpy(io, p, n);
		r = wr ? pwrite(f->fd, io, n, (off_t)off) : pread(f->fd, io, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		if (bounce && !wr)
			memcpy(p, io, (size_t)r);
		off += (uint64_t)r;
		p += r;
		len -= (uint64_t)r;
	}
	return 0;
}

static int fd_read(struct blockdev *dev, uint64_t lba, uint32_t count, void *buf)
{
	struct filedev *f = dev->priv;

	__atomic_add_fetch(&f->nreads, 1, __ATOMIC_RELAXED);
	return fd_io(dev, lba, count, buf, false);
}

static int fd_write(struct blockdev *dev, uint64_t lba, uint32_t count, const void *buf)
{
	struct filedev *f = dev->priv;
	uint64_t dl;
	int rc;

	__atomic_add_fetch(&f->nwrites, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&f->inflight, 1, __ATOMIC_ACQ_REL);
	dl = __atomic_load_n(&f->deadline, __ATOMIC_ACQUIRE);
	if (dl && mono_now() > dl)
		rc = -ETIMEDOUT;	/* the lease ended: start nothing */
	else
		rc = fd_io(dev, lba, count, (void *)buf, true);
	__atomic_sub_fetch(&f->inflight, 1, __ATOMIC_ACQ_REL);
	return rc;
}

static int fd_flush(struct blockdev *dev)
{
	struct filedev *f = dev->priv;

	__atomic_add_fetch(&f->nflushes, 1, __ATOMIC_RELAXED);
	return fdatasync(f->fd) ? -errno : 0;
}

static const struct blockdev_ops file_ops = {
	.read = fd_read,
	.write = fd_write,
	.flush = fd_flush,
	.set_write_deadline = fd_set_deadline,
};

static int open_image(const char *path, uint64_t create_size, unsigned how, bool *direct)
{
	int flags = (how & FILEDEV_RDONLY) ? O_RDONLY : O_RDWR;
	int fd;

	if (create_size)
		flags |= O_CREAT;
	fd = open(path, flags | O_DIRECT | O_CLOEXEC, 0644);
	*direct = fd >= 0;
	if (fd < 0 && errno == EINVAL && (how & FILEDEV_BUFFERED))
		fd = open(path, flags | O_CLOEXEC, 0644);
	else if (fd < 0 && errno == EINVAL)
		errno = ENOTSUP;
	return fd;
}

int filedev_open(struct filedev *f, const char *path, uint64_t create_size, unsigned how,
		 char *err, size_t errlen)
{
	struct stat st;
	uint64_t bytes = 0;

	memset(f, 0, sizeof(*f));
	snprintf(f->path, sizeof(f->path), "%s", path);
	f->fd = open_image(path, create_size, how, &f->direct);
	if (f->fd < 0 && errno == ENOTSUP) {
		snprintf(err, errlen, "%s: its filesystem does not support direct I/O (O_DIRECT), "
			 "so other hosts would not see our writes; use a block device or an "
			 "image on ext4/xfs, or --buffered-io if every host is a process on "
			 "this machine", path);
		return -ENOTSUP;
	}
	if (f->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(f->fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (ioctl(f->fd, BLKGETSIZE64, &bytes))
			bytes = 0;
	} else {
		bytes = (uint64_t)st.st_size;
		if (create_size > bytes && ftruncate(f->fd, (off_t)create_size) == 0)
			bytes = create_size;
	}
	if (posix_memalign(&f->bounce, 4096, BOUNCE)) {
		close(f->fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	f->dev = (struct blockdev){ .ops = &file_ops, .priv = f, .sector_size = 512,
				    .sectors = bytes / 512 };
	return 0;
}

void filedev_close(struct filedev *f)
{
	if (__atomic_load_n(&f->wd_started, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&f->wd_stop, 1, __ATOMIC_RELEASE);
		pthread_join(f->wd_thread, NULL);
		f->wd_started = 0;
	}
	if (f->fd >= 0)
		close(f->fd);
	free(f->bounce);
	f->fd = -1;
	f->bounce = NULL;
}

static void *h_alloc(void *ctx, size_t n)
{
	void *p = NULL;

	(void)ctx;
	return posix_memalign(&p, 4096, n ? n : 1) ? NULL : p;
}

static void h_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static uint64_t h_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t h_mono(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void h_sleep(void *ctx, unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	(void)ctx;
	nanosleep(&ts, NULL);
}

/*
 * Host identity: $VMFS_HOST_ID (an operator-chosen name; the tests use it to
 * act as several hosts), else /etc/machine-id with the host name. It need not
 * be unique: the nonce, fresh from the kernel's random generator for every
 * process, tells two processes with one identity apart.
 */
static int host_identity(struct vmfs_env *env)
{
	char buf[64] = "", name[64] = "";
	const char *id = getenv("VMFS_HOST_ID");
	FILE *fp;

	if (gethostname(name, sizeof(name) - 1))
		strcpy(name, "unknown");
	if (id && *id) {
		snprintf(env->host_name, sizeof(env->host_name), "%s", id);
	} else {
		fp = fopen("/etc/machine-id", "r");
		if (fp) {
			if (!fgets(buf, sizeof(buf), fp))
				buf[0] = 0;
			fclose(fp);
		}
		buf[strcspn(buf, "\n")] = 0;
		snprintf(env->host_name, sizeof(env->host_name), "%.40s/%.8s", name, buf);
		id = buf[0] ? buf : name;
	}
	for (unsigned i = 0; i < 4; i++) {
		uint32_t w = vmfs_crc32c(i * 0x9e3779b9u, id, strlen(id));

		memcpy(env->host_uuid + 4 * i, &w, 4);
	}
	return getrandom(env->nonce, sizeof(env->nonce), 0) == (ssize_t)sizeof(env->nonce) ?
		0 : -errno;
}

int host_env(struct vmfs_env *env)
{
	memset(env, 0, sizeof(*env));
	env->alloc = h_alloc;
	env->free = h_free;
	env->now_ns = h_now;
	env->sleep_ms = h_sleep;
	env->mono_ns = h_mono;
	return host_identity(env);
}

static void *renewer_main(void *arg)
{
	struct host_renewer *r = arg;
	unsigned every = vmfs_renew_interval_ms(r->vol), slept = 0;

	while (!r->stop) {
		h_sleep(NULL, every < 20 ? every : 20);
		slept += every < 20 ? every : 20;
		if (slept < every)
			continue;
		slept = 0;
		if (vmfs_heartbeat_renew(r->vol) && !vmfs_lease_valid(r->vol)) {
			r->lost = 1;
			fprintf(stderr, "vmfs: host lost its lease on the volume (heartbeat not "
				"renewed in time or slot taken over); writes are refused\n");
			break;
		}
	}
	return NULL;
}

int host_renewer_start(struct host_renewer *r, struct vmfs_volume *vol)
{
	memset(r, 0, sizeof(*r));
	r->vol = vol;
	if (pthread_create(&r->thread, NULL, renewer_main, r))
		return -EAGAIN;
	r->running = true;
	return 0;
}

void host_renewer_stop(struct host_renewer *r)
{
	if (!r->running)
		return;
	r->stop = 1;
	pthread_join(r->thread, NULL);
	r->running = false;
}
