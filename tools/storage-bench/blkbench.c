/*
 * blkbench: the Linux side of make bench's storage figures. Run inside a
 * Linux guest (Debian's kernel, a busybox initramfs) on the same device
 * model and image as the vmkernel's storage.bench, it does the same I/O:
 * over the first MB megabytes of DEVICE, sequential write and read in
 * 1 MiB transfers (O_DIRECT, then fsync), and 8000 random 4 KiB reads at
 * queue depth 1 (pread) and 32 (Linux AIO). Prints one line:
 *   linux-bench: seqwrite X MB/s seqread Y MB/s randread-qd1 Z IOPS randread-qd32 W IOPS
 * Static, no libaio: the AIO system calls are made directly.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (1 << 20)
#define OPS 8000
#define QD 32

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	perror(what);
	printf("linux-bench: failed: %s\n", what);
	exit(1);
}

static double seq(int fd, int write_, uint64_t bytes, char *buf)
{
	double t0 = now();

	for (uint64_t off = 0; off < bytes; off += CHUNK) {
		ssize_t n = write_ ? pwrite(fd, buf, CHUNK, (off_t)off) : pread(fd, buf, CHUNK, (off_t)off);

		if (n != CHUNK)
			die(write_ ? "pwrite" : "pread");
	}
	if (write_ && fsync(fd))
		die("fsync");
	return now() - t0;
}

static double qd1(int fd, uint64_t bytes, char *buf)
{
	double t0 = now();

	for (int i = 0; i < OPS; i++)
		if (pread(fd, buf, 4096, (off_t)(next_rand() % (bytes / 4096) * 4096)) != 4096)
			die("pread 4k");
	return now() - t0;
}

static double qd32(int fd, uint64_t bytes, char *bufs)
{
	aio_context_t ctx = 0;
	struct iocb cbs[QD], *ptrs[1];
	struct io_event ev[QD];
	int issued = 0, done = 0;
	double t0;

	if (syscall(SYS_io_setup, QD, &ctx))
		die("io_setup");
	t0 = now();
	for (; issued < QD; issued++) {
		memset(&cbs[issued], 0, sizeof(cbs[issued]));
		cbs[issued].aio_fildes = (uint32_t)fd;
		cbs[issued].aio_lio_opcode = IOCB_CMD_PREAD;
		cbs[issued].aio_buf = (uint64_t)(uintptr_t)(bufs + issued * 4096);
		cbs[issued].aio_nbytes = 4096;
		cbs[issued].aio_offset = (int64_t)(next_rand() % (bytes / 4096) * 4096);
		cbs[issued].aio_data = (uint64_t)issued;
		ptrs[0] = &cbs[issued];
		if (syscall(SYS_io_submit, ctx, 1, ptrs) != 1)
			die("io_submit");
	}
	while (done < OPS) {
		long n = syscall(SYS_io_getevents, ctx, 1, QD, ev, NULL);

		if (n < 1)
			die("io_getevents");
		for (long i = 0; i < n; i++) {
			int slot = (int)ev[i].data;

			if (ev[i].res != 4096)
				die("aio read");
			done++;
			if (issued < OPS) {
				cbs[slot].aio_offset = (int64_t)(next_rand() % (bytes / 4096) * 4096);
				ptrs[0] = &cbs[slot];
				if (syscall(SYS_io_submit, ctx, 1, ptrs) != 1)
					die("io_submit");
				issued++;
			}
		}
	}
	return now() - t0;
}

int main(int argc, char **argv)
{
	uint64_t bytes;
	char *buf, *bufs;
	int fd;
	double w, r, q1, q32;

	if (argc != 3)
		return fprintf(stderr, "usage: blkbench DEVICE MB\n"), 2;
	bytes = strtoull(argv[2], NULL, 10) << 20;
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd < 0)
		die(argv[1]);
	if (posix_memalign((void **)&buf, 4096, CHUNK) || posix_memalign((void **)&bufs, 4096, QD * 4096))
		die("memory");
	for (int i = 0; i < CHUNK; i++)
		buf[i] = (char)(i * 7);
	w = seq(fd, 1, bytes, buf);
	r = seq(fd, 0, bytes, buf);
	q1 = qd1(fd, bytes, buf);
	q32 = qd32(fd, bytes, bufs);
	printf("linux-bench: seqwrite %.1f MB/s seqread %.1f MB/s randread-qd1 %.1f IOPS "
	       "randread-qd32 %.1f IOPS\n", (bytes >> 20) / w, (bytes >> 20) / r, OPS / q1, OPS / q32);
	return 0;
}
