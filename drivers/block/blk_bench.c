/*
 * Disk benchmark (kernel option storage.bench=MB; make bench): on every
 * disk the vmkernel found, over its first MB megabytes, which the bench
 * gives it blank: sequential write and read in 1 MiB transfers, then 4 KiB
 * random reads one at a time (queue depth 1) and 32 at a time (queue depth
 * 32, tagged commands kept in flight). It prints one line per disk and
 * ends the emulator; tools/storage-bench/run.sh runs the same I/O from a
 * Linux guest on the same device model and reports the ratios.
 */
#define pr_fmt(fmt) "storage-bench: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/blkdisk.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/dma.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/platform.h>
#include <drivers/scsi.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>

#define SEQ_CHUNK (1u << 20)
#define RAND_OPS 8000
#define QD 32

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* x.y with one decimal from a rate in thousandths. */
static void fmt_rate(char *out, size_t n, uint64_t units, uint64_t ns, uint64_t scale)
{
	uint64_t milli = ns ? units * scale * 1000 / ns : 0;

	snprintf(out, n, "%llu.%llu", (unsigned long long)(milli / 1000),
		 (unsigned long long)(milli % 1000 / 100));
}

static int seq(struct blk_disk *d, bool write, uint64_t bytes, uint8_t *buf, uint64_t *ns)
{
	uint32_t per = SEQ_CHUNK / d->block_size;
	uint64_t t0 = time_ns();
	int err = 0;

	for (uint64_t off = 0; off < bytes && !err; off += SEQ_CHUNK)
		err = blk_disk_rw(d, write, off / d->block_size, per, buf);
	if (!err && write)
		err = blk_disk_flush(d);
	*ns = time_ns() - t0;
	return err;
}

static void rand_cmd(struct scsi_cmd *c, struct blk_disk *d, uint8_t *buf, uint64_t blocks4k)
{
	uint32_t per = 4096 / d->block_size;

	scsi_cmd_init(c, d->sdev, SCSI_DIR_FROM_DEV, buf, 4096);
	c->cdb_len = (uint8_t)scsi_cdb_rw16(c->cdb, false, next_rand() % blocks4k * per, per,
					     false);
}

/* RAND_OPS random 4 KiB reads with `depth` of them in flight. */
static int randread(struct blk_disk *d, unsigned depth, uint64_t bytes, uint8_t *bufs,
		    uint64_t *ns)
{
	struct scsi_cmd *c = kmalloc(sizeof(*c) * QD);
	uint64_t blocks4k = bytes / 4096, t0;
	unsigned issued = 0, done = 0;
	int err = 0;

	if (!c)
		return -ENOMEM;
	t0 = time_ns();
	for (; issued < depth && issued < RAND_OPS; issued++) {
		rand_cmd(&c[issued], d, bufs + (size_t)issued * 4096, blocks4k);
		err = scsi_submit(&c[issued]);
		if (err)
			goto out;
	}
	while (done < issued) {
		unsigned slot = done % depth;

		err = scsi_wait(&c[slot]);
		done++;
		if (err)
			break;
		if (issued < RAND_OPS) {
			rand_cmd(&c[slot], d, bufs + (size_t)slot * 4096, blocks4k);
			err = scsi_submit(&c[slot]);
			if (err)
				break;
			issued++;
		}
	}
	while (err && done < issued)
		scsi_wait(&c[done++ % depth]);	/* drain before freeing */
out:
	*ns = time_ns() - t0;
	kfree(c);
	return err;
}

static void bench_disk(struct blk_disk *d, uint64_t bytes, uint8_t *buf, uint8_t *bufs)
{
	uint64_t ns_w, ns_r, ns_q1, ns_q32;
	char w[16], r[16], q1[16], q32[16];

	for (size_t i = 0; i < SEQ_CHUNK; i++)
		buf[i] = (uint8_t)(i * 7);
	if (seq(d, true, bytes, buf, &ns_w) || seq(d, false, bytes, buf, &ns_r) ||
	    randread(d, 1, bytes, bufs, &ns_q1) || randread(d, QD, bytes, bufs, &ns_q32)) {
		pr_err("%s (%s): an I/O failed; no figures\n", d->name, d->sdev->host->driver);
		return;
	}
	fmt_rate(w, sizeof(w), bytes >> 20, ns_w, 1000000000ull);
	fmt_rate(r, sizeof(r), bytes >> 20, ns_r, 1000000000ull);
	fmt_rate(q1, sizeof(q1), RAND_OPS, ns_q1, 1000000000ull);
	fmt_rate(q32, sizeof(q32), RAND_OPS, ns_q32, 1000000000ull);
	pr_info("%s %s seqwrite %s MB/s seqread %s MB/s randread-qd1 %s IOPS randread-qd32 %s IOPS\n",
		d->sdev->host->driver, d->name, w, r, q1, q32);
}

static void bench_world(void *arg)
{
	uint64_t bytes = (uint64_t)(uintptr_t)arg << 20, pa;
	uint8_t *buf = kmalloc(SEQ_CHUNK);
	uint8_t *bufs = dma_alloc(dma_order(QD * 4096), DMA_LIMIT_ANY, &pa);
	unsigned n = 0;

	for (struct blk_disk *d = blk_disk_first(); d && buf && bufs; d = d->next) {
		if (d->sdev->blocks * d->block_size < bytes || d->sdev->offline)
			continue;
		bench_disk(d, bytes, buf, bufs);
		n++;
	}
	pr_info("%u disk(s) measured\n", n);
	platform_exit(n ? PLATFORM_EXIT_PASS : PLATFORM_EXIT_FAIL);
}

static int bench_init(void)
{
	const char *v = bootparam_get("storage.bench");
	unsigned long long mb = 0;

	if (!v)
		return 0;
	for (const char *p = v; *p >= '0' && *p <= '9'; p++)
		mb = mb * 10 + (unsigned long long)(*p - '0');
	if (!mb || mb > 4096) {
		pr_err("storage.bench=%s: expected a size in MiB (1-4096)\n", v);
		return -EINVAL;
	}
	if (!world_create("storage-bench", bench_world, (void *)(uintptr_t)mb, 0, NULL, NULL))
		return -ENOMEM;
	return 0;
}
INIT_LEVEL(bench_init, INIT_LATE);
