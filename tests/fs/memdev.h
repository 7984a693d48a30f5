/*
 * Test block devices for the VMFS tests: a sparse in-memory device that keeps
 * only written 4 KiB chunks in a hash map (a 4 TiB volume costs what is
 * written), with fault injection: after `crash_after` more sector writes the
 * device "crashes" (the write in progress is torn at that sector and every
 * later write is dropped with -EIO) until memdev_reboot().
 */
#ifndef TESTS_FS_MEMDEV_H
#define TESTS_FS_MEMDEV_H

#include <stdbool.h>
#include <stdint.h>
#include <fs/vmfs.h>

struct memdev {
	struct blockdev dev;
	uint64_t *keys;		/* chunk index + 1, 0 = empty */
	uint8_t **vals;
	uint64_t cap, used;
	const struct memdev *parent;	/* clones: chunks not written yet come from here */
	int64_t crash_after;	/* sector writes left before the crash; < 0: never */
	bool crashed;
	uint64_t writes;	/* sector writes done */
	uint64_t flushes;
	/* Called before every read and write (tests interleave other hosts here). */
	void (*io_hook)(void *arg, uint64_t lba, bool write);
	void *io_arg;
	/*
	 * A stalled storage path: the first write touching [hold_lo, hold_hi)
	 * (sectors) is kept aside instead of landing, and the device "crashes"
	 * (the writer sees -EIO, like a host dying while blocked on that write)
	 * until memdev_reboot(). memdev_land_held() lands it later.
	 */
	uint64_t hold_lo, hold_hi;
	uint64_t held_lba;
	uint32_t held_count;
	uint8_t *held;
};

struct memdev *memdev_new(uint64_t bytes, bool ats);
void memdev_free(struct memdev *m);
void memdev_crash_after(struct memdev *m, int64_t sectors);
void memdev_reboot(struct memdev *m);
/* A copy-on-write overlay of m; m must stay unchanged while the clone lives. */
struct memdev *memdev_clone(const struct memdev *m);
void memdev_land_held(struct memdev *m);
/* Raw access to stored bytes (for corrupting images in tests). */
void memdev_rw(struct memdev *m, uint64_t off, void *buf, uint64_t len, bool write);

/*
 * A deterministic host environment: malloc/free, a uuid, and one simulated
 * clock shared by every host in the process (each reading advances it 1 us;
 * sleep_ms advances it and then calls memdev_sleep_hook, if set, which tests
 * use to run other hosts - e.g. renew their heartbeats - while one waits).
 */
void memdev_env(struct vmfs_env *env, uint8_t host_id);
void memdev_advance(uint64_t ns);
extern void (*memdev_sleep_hook)(unsigned ms);

#endif
