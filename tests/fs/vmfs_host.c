/*
 * vmfs_host: one "host" of the multi-host tests (tests/fs/run.sh). Each
 * process mounts the shared image with its own identity (VMFS_HOST_ID), runs
 * a heartbeat thread and does one job:
 *
 *   worker IMG ID TAG LOG NOPS SEED STOPFILE
 *       create+write+fsync, rename and delete files named TAG_* in the shared
 *       directories /d0 /d1 /d2. Before an operation it logs "B <op>", after
 *       it completed (acknowledged) "<op>", after a failure "F <op>". Exits 3
 *       once the host lost its lease (paused or stalled past it).
 *   check IMG LOG...   verify every acknowledged operation of the logs
 *   mutex IMG ID N [remount]   N times: lock /counter, read-modify-write it,
 *       unlock (with remount, then unmount and mount again, so that the lock
 *       is free and the next taker goes through the arbitration lease)
 *   hold IMG ID PATH READY [SIZE]   hold PATH open for writing and rewrite
 *       its first SIZE bytes (default 6) every 100 ms; exit 3 with the error
 *       once a write is refused
 *   mwrite IMG ID PATH N K   open PATH multi-writer and write N 64 KiB pieces,
 *       piece i at ((2i + K) MiB + 4 KiB K): every piece fills a hole
 *   mverify IMG PATH N HOSTS check the pieces of hosts K = 0 .. HOSTS-1
 *   put IMG ID PATH DATA     open PATH for writing (waiting for the lock),
 *       write DATA at 0, fsync
 *   bench-meta IMG ID SECS [nosync]   create+delete pairs in /b_ID (create,
 *       write 1 byte, fsync unless nosync, close, unlink) for SECS seconds;
 *       prints pairs/s, device writes, reads and flushes per pair (heartbeats
 *       included), the monotonic clock at the first pair and after the last,
 *       and the number of pairs. With BENCH_GO=FILE set it creates FILE.ID
 *       once mounted and starts when FILE exists, so that several hosts start
 *       together
 *   bench-flush FILE SECS    raw: for SECS seconds, one 4 KiB direct write
 *       and fdatasync to FILE at a time, the least a durable create costs;
 *       prints pairs/s, the clock at start and end, the count (BENCH_GO as
 *       for bench-meta, the file's name for ID)
 *   bench-lock IMG ID N      N lock/unlock pairs of one file; prints us each
 *   bench-seq IMG ID MB REQ_MB   sequential writes and reads of MB MiB in
 *       REQ_MB requests through the filesystem (a preallocated file, and a
 *       new thin file per round) and, in the same rounds, raw I/O doing the
 *       same: the same requests to the same device ranges (vmfs_file_map),
 *       taking turns on who goes first; prints the medians of 5 rounds
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "host.h"

struct host {
	struct filedev fdv;
	struct vmfs_env env;
	struct vmfs_volume *vol;
	struct host_renewer ren;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "vmfs_host: %s: %s\n", what, msg);
	exit(1);
}

/*
 * A model of a LUN on an array (BENCH_DEV_DELAY_US=D): every request takes
 * D microseconds however many are in flight, so that the time a host waits
 * does not grow with the others' load. The image must be in memory (the
 * page cache makes buffered I/O coherent between the processes of one
 * machine), so that the machine's own disk does not add its latency.
 */
static const struct blockdev_ops *real_ops;
static struct timespec dev_delay;

static void delay(void)
{
	while (nanosleep(&dev_delay, NULL) && errno == EINTR)
		;
}

static int delayed_read(struct blockdev *d, uint64_t lba, uint32_t n, void *buf)
{
	delay();
	return real_ops->read(d, lba, n, buf);
}

static int delayed_write(struct blockdev *d, uint64_t lba, uint32_t n, const void *buf)
{
	delay();
	return real_ops->write(d, lba, n, buf);
}

static int delayed_flush(struct blockdev *d)
{
	delay();
	return real_ops->flush(d);
}

static struct blockdev_ops delayed_ops;

static void host_mount(struct host *h, const char *img, const char *id, bool rdonly)
{
	const char *dly = getenv("BENCH_DEV_DELAY_US");
	char err[256];

	if (id)
		setenv("VMFS_HOST_ID", id, 1);
	if (filedev_open(&h->fdv, img, 0, (rdonly ? FILEDEV_RDONLY : 0) |
			 (dly ? FILEDEV_BUFFERED : 0), err, sizeof(err)))
		die(img, err);
	if (dly) {
		long us = atol(dly);

		if (us <= 0 || us >= 1000000)
			die(img, "BENCH_DEV_DELAY_US needs 1..999999");
		dev_delay = (struct timespec){ .tv_nsec = us * 1000 };
		real_ops = h->fdv.dev.ops;
		delayed_ops = *real_ops;
		delayed_ops.read = delayed_read;
		delayed_ops.write = delayed_write;
		delayed_ops.flush = delayed_flush;
		h->fdv.dev.ops = &delayed_ops;
	}
	if (host_env(&h->env))
		die("host_env", "no random nonce");
	snprintf(h->env.host_name, sizeof(h->env.host_name), "%s", id ? id : "checker");
	if (vmfs_mount(&h->fdv.dev, &h->env, rdonly ? VMFS_MOUNT_RDONLY : 0, &h->vol, err,
		       sizeof(err)))
		die("mount", err);
	if (!rdonly && host_renewer_start(&h->ren, h->vol))
		die("mount", "cannot start the heartbeat thread");
}

static int host_umount(struct host *h)
{
	char err[256];
	int rc;

	host_renewer_stop(&h->ren);
	rc = vmfs_unmount_err(h->vol, err, sizeof(err));
	filedev_close(&h->fdv);
	if (rc)
		fprintf(stderr, "vmfs_host: unmount: %s\n", err);
	return rc;
}

/* What a host daemon does every few seconds: recover hosts it has seen dead. */
static void housekeep(struct host *h)
{
	unsigned n = 0;

	if (vmfs_housekeep(h->vol, &n))
		fprintf(stderr, "vmfs_host: housekeeping: %s\n", vmfs_strerror(h->vol));
}

static uint32_t rnd(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void fill(uint8_t *b, uint32_t len, uint32_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		b[i] = (uint8_t)(rnd(&seed) ^ i);
}

static void logf_(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int fd, const char *fmt, ...)
{
	char line[300];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(fd, line, (size_t)n) != n)
		exit(1);
}

static int put_file(struct vmfs_volume *vol, const char *path, const void *buf, uint32_t len,
		    unsigned flags)
{
	struct vmfs_file *f;
	int rc = vmfs_open(vol, path, VMFS_O_WRITE | flags, 0644, &f);

	if (rc)
		return rc;
	if (vmfs_write(f, 0, buf, len) != (int64_t)len)
		rc = -EIO;
	if (!rc)
		rc = vmfs_fsync(f);
	if (vmfs_close(f) && !rc)
		rc = -EIO;
	return rc;
}

/* ---- worker ---- */

static int worker(int argc, char **argv)
{
	struct host h;
	const char *tag = argv[3], *stopfile = argv[7];
	int nops = atoi(argv[5]), fd = open(argv[4], O_WRONLY | O_CREAT | O_APPEND, 0644);
	uint32_t seed = (uint32_t)strtoul(argv[6], NULL, 10);
	static uint8_t buf[65536];

	if (argc != 8 || fd < 0)
		die("worker", "usage or log file");
	host_mount(&h, argv[1], argv[2], false);
	for (int i = 0; i < nops && access(stopfile, F_OK); i++) {
		char p[96], q[96];
		uint32_t len = 1 + rnd(&seed) % 20000, fseed = rnd(&seed);
		int rc;

		snprintf(p, sizeof(p), "/d%u/%s_%d", rnd(&seed) % 3, tag, i);
		fill(buf, len, fseed);
		logf_(fd, "B W %s %u %u\n", p, len, fseed);
		rc = put_file(h.vol, p, buf, len, VMFS_O_CREAT | VMFS_O_EXCL);
		logf_(fd, "%sW %s %u %u\n", rc ? "F " : "", p, len, fseed);
		if (rc) {
			fprintf(stderr, "vmfs_host %s: %s\n", tag, vmfs_strerror(h.vol));
			if (!vmfs_lease_valid(h.vol)) {
				fprintf(stderr, "vmfs_host %s: lost its lease; stopping\n", tag);
				exit(3);
			}
			continue;
		}
		if (rnd(&seed) % 2) {
			snprintf(q, sizeof(q), "/d%u/%s_%dm", rnd(&seed) % 3, tag, i);
			logf_(fd, "B M %s %s\n", p, q);
			rc = vmfs_rename(h.vol, p, q);
			logf_(fd, "%sM %s %s\n", rc ? "F " : "", p, q);
			if (!rc)
				strcpy(p, q);
		}
		if (rnd(&seed) % 3 == 0) {
			logf_(fd, "B D %s\n", p);
			rc = vmfs_unlink(h.vol, p);
			logf_(fd, "%sD %s\n", rc ? "F " : "", p);
		}
		if (rc)
			fprintf(stderr, "vmfs_host %s: %s\n", tag, vmfs_strerror(h.vol));
		if (rc && !vmfs_lease_valid(h.vol)) {
			fprintf(stderr, "vmfs_host %s: lost its lease; stopping\n", tag);
			exit(3);
		}
		if (i % 4 == 3)
			housekeep(&h);
	}
	close(fd);
	return host_umount(&h) ? 1 : 0;
}

/* ---- checker ---- */

#define MAXF 65536

struct fstate {
	char path[96], alt[96];
	uint32_t len, seed;
	int state;		/* 1 present, 0 absent, 2 uncertain (alt: or there) */
};

static struct fstate files[MAXF];
static int nfiles;

static struct fstate *find(const char *path)
{
	for (int i = nfiles - 1; i >= 0; i--)
		if (!strcmp(files[i].path, path))
			return &files[i];
	return NULL;
}

static struct fstate *add(const char *path)
{
	struct fstate *f = find(path);

	if (f)
		return f;
	if (nfiles == MAXF)
		die("check", "too many files");
	f = &files[nfiles++];
	snprintf(f->path, sizeof(f->path), "%s", path);
	return f;
}

static void apply_line(char *line, char *pending, size_t plen)
{
	char op[8], a[96], b[96];
	unsigned x = 0, y = 0;
	struct fstate *f;

	if (line[0] == 'B' && line[1] == ' ') {
		snprintf(pending, plen, "%s", line + 2);
		return;
	}
	if (line[0] == 'F' && line[1] == ' ')
		return;		/* failed: stays pending (may have half happened) */
	pending[0] = 0;
	if (sscanf(line, "%7s %95s %95s %u", op, a, b, &y) < 2)
		return;
	if (!strcmp(op, "W")) {
		f = add(a);
		sscanf(line, "%7s %95s %u %u", op, a, &x, &y);
		f->state = 1;
		f->len = x;
		f->seed = y;
	} else if (!strcmp(op, "M")) {
		struct fstate *s = find(a), *d = add(b);

		d->state = s ? s->state : 1;
		d->len = s ? s->len : 0;
		d->seed = s ? s->seed : 0;
		if (s)
			s->state = 0;
	} else if (!strcmp(op, "D")) {
		add(a)->state = 0;
	}
}

static void mark_pending(const char *pending)
{
	char op[8], a[96], b[96];
	struct fstate *f;
	int n = sscanf(pending, "%7s %95s %95s", op, a, b);

	if (n < 2)
		return;
	if (!strcmp(op, "W") || !strcmp(op, "D")) {
		f = add(a);
		f->state = 2;
		f->alt[0] = 0;
	} else if (!strcmp(op, "M") && n == 3) {
		struct fstate *s = find(a), *d = add(b);

		if (s && s->state == 1) {
			*d = *s;
			snprintf(d->path, sizeof(d->path), "%s", b);
			d->state = 2;
			snprintf(d->alt, sizeof(d->alt), "%s", a);
			s->state = 3;	/* checked through d */
		}
	}
}

static int verify_one(struct vmfs_volume *vol, const struct fstate *f, const char *path)
{
	static uint8_t want[65536], got[65536];
	struct vmfs_file *h;
	int64_t n;

	if (vmfs_open(vol, path, VMFS_O_READ, 0, &h))
		return -1;
	n = vmfs_read(h, 0, got, sizeof(got));
	vmfs_close(h);
	fill(want, f->len, f->seed);
	return n == (int64_t)f->len && !memcmp(got, want, f->len) ? 0 : -2;
}

static int check(int argc, char **argv)
{
	struct host h;
	char line[300], pending[300];
	int bad = 0, present = 0, absent = 0, uncertain = 0;

	host_mount(&h, argv[1], NULL, true);
	for (int i = 2; i < argc; i++) {
		FILE *fp = fopen(argv[i], "r");

		if (!fp && errno == ENOENT)
			continue;	/* killed before it opened its log: did nothing */
		if (!fp)
			die(argv[i], strerror(errno));
		pending[0] = 0;
		while (fgets(line, sizeof(line), fp))
			apply_line(line, pending, sizeof(pending));
		if (pending[0])
			mark_pending(pending);
		fclose(fp);
	}
	for (int i = 0; i < nfiles; i++) {
		struct fstate *f = &files[i];
		struct vmfs_stat st;
		bool there = !vmfs_stat(h.vol, f->path, &st);

		if (f->state == 1) {
			present++;
			if (verify_one(h.vol, f, f->path)) {
				printf("LOST: %s (acknowledged write missing or wrong)\n", f->path);
				bad++;
			}
		} else if (f->state == 0) {
			absent++;
			if (there) {
				printf("RESURRECTED: %s (acknowledged delete/rename undone)\n",
				       f->path);
				bad++;
			}
		} else if (f->state == 2 && f->alt[0]) {
			uncertain++;
			if (verify_one(h.vol, f, f->path) && verify_one(h.vol, f, f->alt)) {
				printf("LOST: %s / %s (rename in flight lost the file)\n", f->path,
				       f->alt);
				bad++;
			}
		} else {
			uncertain++;
		}
	}
	printf("check: %d files present, %d absent, %d in flight, %d problems\n", present,
	       absent, uncertain, bad);
	host_umount(&h);
	return bad ? 1 : 0;
}

/* ---- mutual exclusion ---- */

static int mutex(int argc, char **argv)
{
	struct host h;
	int n = atoi(argv[3]), busy = 0;
	bool remount = argc > 4 && !strcmp(argv[4], "remount");
	uint32_t seed = (uint32_t)getpid();

	if (argc > 4 && !remount)
		die("mutex", "the optional fifth argument is 'remount'");
	host_mount(&h, argv[1], argv[2], false);
	for (int i = 0; i < n; i++) {
		struct vmfs_file *f;
		uint64_t v = 0;
		int rc = vmfs_open(h.vol, "/counter", VMFS_O_WRITE, 0, &f);

		if (rc == -EBUSY) {
			busy++;
			usleep(1000 + rnd(&seed) % 4000);
			i--;
			continue;
		}
		if (rc)
			die("mutex open", vmfs_strerror(h.vol));
		/* unprotected read-modify-write: only the lock makes it safe */
		if (vmfs_read(f, 0, &v, 8) != 8)
			die("mutex read", vmfs_strerror(h.vol));
		v++;
		if (vmfs_write(f, 0, &v, 8) != 8 || vmfs_close(f))
			die("mutex write", vmfs_strerror(h.vol));
		if (remount) {	/* give every lock back: the next taker runs Disk Paxos */
			if (host_umount(&h))
				die("mutex unmount", "unmount failed");
			host_mount(&h, argv[1], argv[2], false);
		}
	}
	printf("%s: %d increments, %d busy retries\n", argv[2], n, busy);
	return host_umount(&h) ? 1 : 0;
}

/* ---- split brain ---- */

static int hold(int argc, char **argv)
{
	struct host h;
	struct vmfs_file *f;
	static char data[1 << 20];
	uint32_t size = argc > 5 ? (uint32_t)atoi(argv[5]) : 6;
	int fd;

	if (size < 6 || size > sizeof(data))
		die("hold", "bad size");
	memset(data, 'A', size);
	host_mount(&h, argv[1], argv[2], false);
	if (vmfs_open(h.vol, argv[3], VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f))
		die("hold open", vmfs_strerror(h.vol));
	if (vmfs_write(f, 0, data, size) != size || vmfs_fsync(f))
		die("hold write", vmfs_strerror(h.vol));
	fd = open(argv[4], O_WRONLY | O_CREAT, 0644);
	close(fd);
	for (int i = 1; i < 600; i++) {
		char tag[8];

		usleep(100000);
		snprintf(tag, sizeof(tag), "A-%04d", i % 10000);
		memcpy(data, tag, 6);
		if (vmfs_write(f, 0, data, size) != size || vmfs_fsync(f)) {
			printf("REFUSED: %s\n", vmfs_strerror(h.vol));
			fflush(stdout);
			vmfs_close(f);
			host_umount(&h);
			return 3;
		}
	}
	printf("never refused\n");
	return 4;
}

static int put(char **argv)
{
	struct host h;
	struct vmfs_file *f = NULL;
	size_t len = strlen(argv[4]);
	double t0 = now_s();
	int rc;

	host_mount(&h, argv[1], argv[2], false);
	while ((rc = vmfs_open(h.vol, argv[3], VMFS_O_WRITE, 0, &f)) == -EBUSY &&
	       now_s() - t0 < 30)
		usleep(50000);
	if (rc)
		die("put open", vmfs_strerror(h.vol));
	if (vmfs_write(f, 0, argv[4], len) != (int64_t)len || vmfs_fsync(f) || vmfs_close(f))
		die("put write", vmfs_strerror(h.vol));
	printf("put: lock taken after %.2f s\n", now_s() - t0);
	return host_umount(&h) ? 1 : 0;
}

/* ---- multi-writer growth ---- */

static void mw_piece(uint8_t *buf, int k, int i)
{
	fill(buf, 65536, (uint32_t)(k * 100000 + i));
}

static uint64_t mw_off(int k, int i)
{
	return ((uint64_t)(2 * i + k) << 20) + 4096ull * (uint64_t)k;
}

static int mwrite(char **argv)
{
	static uint8_t buf[65536];
	struct vmfs_file *f;
	struct host h;
	int n = atoi(argv[4]), k = atoi(argv[5]);

	host_mount(&h, argv[1], argv[2], false);
	if (vmfs_open(h.vol, argv[3], VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &f))
		die("mwrite open", vmfs_strerror(h.vol));
	for (int i = 0; i < n; i++) {
		mw_piece(buf, k, i);
		if (vmfs_write(f, mw_off(k, i), buf, sizeof(buf)) != (int64_t)sizeof(buf) ||
		    vmfs_fsync(f))
			die("mwrite write", vmfs_strerror(h.vol));
	}
	if (vmfs_close(f))
		die("mwrite close", vmfs_strerror(h.vol));
	return host_umount(&h) ? 1 : 0;
}

static int mverify(char **argv)
{
	static uint8_t want[65536], got[65536];
	struct vmfs_file *f;
	struct host h;
	int n = atoi(argv[3]), hosts = atoi(argv[4]), bad = 0;

	host_mount(&h, argv[1], NULL, true);
	if (vmfs_open(h.vol, argv[2], VMFS_O_READ, 0, &f))
		die("mverify open", vmfs_strerror(h.vol));
	for (int k = 0; k < hosts; k++) {
		for (int i = 0; i < n; i++) {
			mw_piece(want, k, i);
			if (vmfs_read(f, mw_off(k, i), got, sizeof(got)) != (int64_t)sizeof(got) ||
			    memcmp(got, want, sizeof(got))) {
				printf("LOST: piece %d of host %d at offset %llu\n", i, k,
				       (unsigned long long)mw_off(k, i));
				bad++;
			}
		}
	}
	vmfs_close(f);
	printf("mverify: %d of %d pieces lost\n", bad, n * hosts);
	host_umount(&h);
	return bad ? 1 : 0;
}

/* ---- benchmarks ---- */

static int create_nosync(struct vmfs_volume *vol, const char *path)
{
	struct vmfs_file *f;
	int rc = vmfs_open(vol, path, VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f);

	if (rc)
		return rc;
	if (vmfs_write(f, 0, "x", 1) != 1)
		rc = -EIO;
	return vmfs_close(f) ?: rc;
}

/* BENCH_GO=FILE: create FILE.ID, then wait for FILE (serve: hand over what others ask for). */
static void bench_wait_go(const char *id, struct host *serve)
{
	const char *go = getenv("BENCH_GO");
	char ready[4096];
	int fd;

	if (!go)
		return;
	snprintf(ready, sizeof(ready), "%s.%s", go, id);
	if ((fd = open(ready, O_WRONLY | O_CREAT, 0644)) < 0)
		die("bench ready file", strerror(errno));
	close(fd);
	while (access(go, F_OK)) {
		if (serve && vmfs_release_wanted(serve->vol))
			die("bench release", vmfs_strerror(serve->vol));
		usleep(200);
	}
}

static int bench_meta(int argc, char **argv)
{
	struct host h;
	char dir[64], p[96];
	double secs = atof(argv[3]);
	bool sync = argc < 5 || strcmp(argv[4], "nosync");

	if (secs <= 0 || secs > 600)
		die("bench-meta", "the run time is 0 to 600 seconds");

	host_mount(&h, argv[1], argv[2], false);
	snprintf(dir, sizeof(dir), "/b_%s", argv[2]);
	if (vmfs_mkdir(h.vol, dir, 0755)) {
		char why[256];

		snprintf(why, sizeof(why), "%s", vmfs_strerror(h.vol));
		if (vmfs_stat(h.vol, dir, &(struct vmfs_stat){ 0 }))
			die("bench mkdir", why);
	}
	bench_wait_go(argv[2], &h);
	unsigned long w0 = __atomic_load_n(&h.fdv.nwrites, __ATOMIC_RELAXED);
	unsigned long r0 = __atomic_load_n(&h.fdv.nreads, __ATOMIC_RELAXED);
	unsigned long f0 = __atomic_load_n(&h.fdv.nflushes, __ATOMIC_RELAXED);
	double t0 = now_s(), t1 = t0;
	int n = 0;

	while (t1 - t0 < secs) {
		snprintf(p, sizeof(p), "%s/f%d", dir, n);
		if ((sync ? put_file(h.vol, p, "x", 1, VMFS_O_CREAT) :
			    create_nosync(h.vol, p)) || vmfs_unlink(h.vol, p))
			die("bench create/delete", vmfs_strerror(h.vol));
		n++;
		t1 = now_s();
	}
	printf("%.1f %.2f %.2f %.2f %.6f %.6f %d\n", n / (t1 - t0),
	       (double)(__atomic_load_n(&h.fdv.nwrites, __ATOMIC_RELAXED) - w0) / n,
	       (double)(__atomic_load_n(&h.fdv.nreads, __ATOMIC_RELAXED) - r0) / n,
	       (double)(__atomic_load_n(&h.fdv.nflushes, __ATOMIC_RELAXED) - f0) / n, t0, t1, n);
	return host_umount(&h) ? 1 : 0;
}

static int bench_flush(char **argv)
{
	double secs = atof(argv[2]), t0, t1;
	int n = 0, fd = open(argv[1], O_RDWR | O_CREAT | O_DIRECT, 0644);
	void *buf;

	if (secs <= 0 || secs > 600)
		die("bench-flush", "the run time is 0 to 600 seconds");
	if (fd < 0)
		die(argv[1], strerror(errno));
	if (posix_memalign(&buf, 4096, 4096))
		die("bench-flush", "out of memory");
	memset(buf, 'x', 4096);
	if (pwrite(fd, buf, 4096, 0) != 4096 || fdatasync(fd))	/* allocated, like a journal */
		die("bench-flush", strerror(errno));
	bench_wait_go(strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1], NULL);
	t0 = t1 = now_s();
	while (t1 - t0 < secs) {
		if (pwrite(fd, buf, 4096, 0) != 4096 || fdatasync(fd))
			die("bench-flush", strerror(errno));
		n++;
		t1 = now_s();
	}
	printf("%.1f %.6f %.6f %d\n", n / (t1 - t0), t0, t1, n);
	free(buf);
	close(fd);
	return 0;
}

static int bench_lock(char **argv)
{
	struct host h;
	struct vmfs_file *f;
	int n = atoi(argv[3]);
	double t0, t = 0;

	host_mount(&h, argv[1], argv[2], false);
	if (put_file(h.vol, "/lockbench", "x", 1, VMFS_O_CREAT))
		die("bench lock", vmfs_strerror(h.vol));
	for (int i = 0; i < n; i++) {
		t0 = now_s();
		if (vmfs_open(h.vol, "/lockbench", VMFS_O_READ, 0, &f))
			die("bench lock", vmfs_strerror(h.vol));
		t += now_s() - t0;
		vmfs_close(f);
	}
	printf("%.0f\n", t / n * 1e6);
	return host_umount(&h) ? 1 : 0;
}

/* ---- sequential I/O against raw I/O on the same image ---- */

#define SEQ_ROUNDS 5

static double mbps(uint64_t bytes, double t)
{
	return (double)bytes / 1048576.0 / (t > 1e-9 ? t : 1e-9);
}

/*
 * Raw I/O doing the filesystem's work: the same requests (req bytes each)
 * to the very device ranges the file occupies (a request spanning two
 * ranges becomes two, as the filesystem's does).
 */
static double raw_pass(struct host *h, struct vmfs_file *f, uint8_t *buf, uint64_t bytes,
		       uint64_t req, bool wr)
{
	double t0 = now_s();

	for (uint64_t o = 0; o < bytes; o += req) {
		for (uint64_t done = 0; done < req;) {
			uint64_t dev, run;
			ssize_t n;

			if (vmfs_file_map(f, o + done, req - done, &dev, &run) || !dev)
				die("bench map", "unmapped range");
			n = wr ? pwrite(h->fdv.fd, buf + done, run, (off_t)dev) :
				pread(h->fdv.fd, buf + done, run, (off_t)dev);
			if (n != (ssize_t)run)
				die("bench raw", strerror(errno));
			done += run;
		}
	}
	if (wr && fdatasync(h->fdv.fd))
		die("bench raw", strerror(errno));
	return mbps(bytes, now_s() - t0);
}

static double fs_pass(struct vmfs_file *f, uint8_t *buf, uint64_t bytes, uint64_t req, bool wr)
{
	double t0 = now_s();

	for (uint64_t o = 0; o < bytes; o += req)
		if ((wr ? vmfs_write(f, o, buf, req) : vmfs_read(f, o, buf, req)) != (int64_t)req)
			die("bench fs", vmfs_strerror(vmfs_file_volume(f)));
	if (wr && vmfs_fsync(f))
		die("bench fs", vmfs_strerror(vmfs_file_volume(f)));
	return mbps(bytes, now_s() - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

/* [kind][0 fs write, 1 raw write, 2 fs read, 3 raw read][round] */
static void seq_round(struct host *h, struct vmfs_file *pre, int r, uint64_t bytes, uint64_t req,
		      uint8_t *buf, double v[2][4][SEQ_ROUNDS])
{
	struct vmfs_file *t;
	bool fs_first = !(r & 1);	/* alternate who goes first */

	fill(buf, (uint32_t)req, (uint32_t)r + 7);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == !fs_first)
			v[0][0][r] = fs_pass(pre, buf, bytes, req, true);
		else
			v[0][1][r] = raw_pass(h, pre, buf, bytes, req, true);
	}
	for (int pass = 0; pass < 2; pass++) {
		if (pass == !fs_first)
			v[0][2][r] = fs_pass(pre, buf, bytes, req, false);
		else
			v[0][3][r] = raw_pass(h, pre, buf, bytes, req, false);
	}
	/* thin: a new file, allocated by its first write; raw then writes the same ranges */
	if (vmfs_open(h->vol, "/seq-thin", VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_EXCL, 0644, &t))
		die("bench open", vmfs_strerror(h->vol));
	v[1][0][r] = fs_pass(t, buf, bytes, req, true);
	v[1][1][r] = raw_pass(h, t, buf, bytes, req, true);
	for (int pass = 0; pass < 2; pass++) {
		if (pass == !fs_first)
			v[1][2][r] = fs_pass(t, buf, bytes, req, false);
		else
			v[1][3][r] = raw_pass(h, t, buf, bytes, req, false);
	}
	vmfs_close(t);
	if (vmfs_unlink(h->vol, "/seq-thin"))
		die("bench unlink", vmfs_strerror(h->vol));
}

static int bench_seq(char **argv)
{
	uint64_t mb = strtoull(argv[3], NULL, 10), req = strtoull(argv[4], NULL, 10) << 20;
	uint64_t bytes = mb << 20;
	static double v[2][4][SEQ_ROUNDS];
	struct vmfs_file *pre;
	struct host h;
	void *buf;

	if (!mb || !req || bytes % req || posix_memalign(&buf, 4096, req))
		die("bench-seq", "bad sizes");
	host_mount(&h, argv[1], argv[2], false);
	if (vmfs_open(h.vol, "/seq-prealloc", VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_EXCL, 0644,
		      &pre) || vmfs_extend(pre, bytes, VMFS_ALLOC_EAGER) || vmfs_fsync(pre))
		die("bench prealloc", vmfs_strerror(h.vol));
	for (int r = 0; r < SEQ_ROUNDS; r++)
		seq_round(&h, pre, r, bytes, req, buf, v);
	for (int k = 0; k < 2; k++) {
		double fw = median(v[k][0], SEQ_ROUNDS), rw = median(v[k][1], SEQ_ROUNDS);
		double fr = median(v[k][2], SEQ_ROUNDS), rr = median(v[k][3], SEQ_ROUNDS);

		printf("%s: write %.0f MB/s vs raw %.0f (ratio %.2f), read %.0f MB/s vs raw %.0f "
		       "(ratio %.2f)\n", k ? "thin" : "preallocated", fw, rw, fw / rw, fr, rr,
		       fr / rr);
	}
	vmfs_close(pre);
	free(buf);
	return host_umount(&h) ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	argv++;
	argc--;
	if (!strcmp(m, "worker") && argc == 8)
		return worker(argc, argv);
	if (!strcmp(m, "check") && argc >= 2)
		return check(argc, argv);
	if (!strcmp(m, "mutex") && (argc == 4 || argc == 5))
		return mutex(argc, argv);
	if (!strcmp(m, "hold") && (argc == 5 || argc == 6))
		return hold(argc, argv);
	if (!strcmp(m, "mwrite") && argc == 6)
		return mwrite(argv);
	if (!strcmp(m, "mverify") && argc == 5)
		return mverify(argv);
	if (!strcmp(m, "put") && argc == 5)
		return put(argv);
	if (!strcmp(m, "bench-meta") && (argc == 4 || argc == 5))
		return bench_meta(argc, argv);
	if (!strcmp(m, "bench-flush") && argc == 3)
		return bench_flush(argv);
	if (!strcmp(m, "bench-lock") && argc == 4)
		return bench_lock(argv);
	if (!strcmp(m, "bench-seq") && argc == 5)
		return bench_seq(argv);
	fprintf(stderr, "usage: vmfs_host worker|check|mutex|hold|put|mwrite|mverify|bench-meta|"
		"bench-lock|bench-flush|bench-seq ...\n");
	return 2;
}
