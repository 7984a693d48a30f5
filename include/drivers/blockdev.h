/*
 * Block-device interface: the only way fs/ reaches storage.
 *
 * A device is an array of `sectors` sectors of `sector_size` bytes. All
 * transfers are whole sectors. Every op returns 0 or a negative errno.
 *
 * Atomicity assumed by fs/ (and documented in docs/vmfs.md): a single-sector
 * write is atomic (all old or all new after a crash); a multi-sector write may
 * be torn at any sector boundary; flush() returns only when every write that
 * completed before it was called is durable.
 *
 * compare_and_write is optional (NULL when the device lacks it). It has the
 * semantics of SCSI COMPARE AND WRITE for one sector (VMware's ATS): if the
 * sector at `lba` equals `expected`, write `new_data` atomically and return 0;
 * otherwise write nothing and return -EAGAIN (miscompare).
 *
 * set_write_deadline is optional (NULL when the device cannot bound its
 * writes). It is how fs/ fences a host whose lease on a shared volume ran
 * out: after `mono_ns` (a time on the monotonic clock fs/ was given in
 * vmfs_env.mono_ns) no write issued through this device may still land. The
 * device refuses to start a write after the deadline (-ETIMEDOUT) and aborts
 * every write still incomplete at the deadline; where it cannot abort one, it
 * stops the host (a watchdog reset, or ending the process for host tools).
 * fs/ moves the deadline forward on every heartbeat renewal, possibly from
 * another thread than the one doing I/O; 0 lifts it (unmount).
 */
#ifndef BLOCKDEV_H
#define BLOCKDEV_H

#include <stdint.h>

struct blockdev;

struct blockdev_ops {
	int (*read)(struct blockdev *dev, uint64_t lba, uint32_t count, void *buf);
	int (*write)(struct blockdev *dev, uint64_t lba, uint32_t count, const void *buf);
	int (*flush)(struct blockdev *dev);
	int (*compare_and_write)(struct blockdev *dev, uint64_t lba, const void *expected,
				 const void *new_data);
	void (*set_write_deadline)(struct blockdev *dev, uint64_t mono_ns);
};

struct blockdev {
	const struct blockdev_ops *ops;
	void *priv;
	uint32_t sector_size;
	uint64_t sectors;
};

#endif
