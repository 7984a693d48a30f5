/*
 * VMFS-like clustered filesystem: public API (fs/). The same sources build
 * into the vmkernel (freestanding) and into host tools and tests.
 *
 * fs/ reaches storage only through struct blockdev and the host environment
 * only through struct vmfs_env (memory, clock, sleep, identity). A volume
 * handle is not thread-safe: the caller serialises calls on one volume.
 *
 * Every call returns 0 (or a byte count) on success and a negative errno on
 * failure; vmfs_strerror() then gives a message naming the object and the
 * reason. Paths are absolute or relative to the root, '/'-separated, with
 * names of 1..255 bytes.
 */
#ifndef VMFS_H
#define VMFS_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <drivers/blockdev.h>
#include <fs/vmfs_format.h>

/* Error numbers the vmkernel's <errno.h> lacks; values match Linux. */
#ifndef ENOTDIR
#define ENOTDIR 20
#endif
#ifndef EISDIR
#define EISDIR 21
#endif
#ifndef EFBIG
#define EFBIG 27
#endif
#ifndef ENAMETOOLONG
#define ENAMETOOLONG 36
#endif
#ifndef ENOTEMPTY
#define ENOTEMPTY 39
#endif
#ifndef ESTALE
#define ESTALE 116
#endif

struct vmfs_env {
	void *ctx;
	void *(*alloc)(void *ctx, size_t size);		/* NULL on failure */
	void (*free)(void *ctx, void *p);
	uint64_t (*now_ns)(void *ctx);			/* wall clock, ns since 1970 */
	void (*sleep_ms)(void *ctx, unsigned ms);	/* lease waits, backoff */
	/*
	 * Who this host is. host_uuid is its identity (hardware UUID, machine-id,
	 * an operator-given name) and need not be unique: cloned machines share
	 * one. nonce must be random, drawn once per boot (vmkernel) or per
	 * process (host tools); fs/ tells hosts apart by (host_uuid, nonce) and
	 * refuses to mount with an all-zero nonce. host_name is the identity in
	 * words, shown by vmkfstools -D.
	 */
	uint8_t host_uuid[16];
	char host_name[64];
	/* Optional monotonic clock (ns) for leases; NULL: now_ns is used. */
	uint64_t (*mono_ns)(void *ctx);
	uint8_t nonce[16];
};

struct vmfs_volume;
struct vmfs_file;

uint32_t vmfs_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t vmfs_crc32c_sw(uint32_t crc, const void *buf, size_t len);	/* tables only */

/* ---- mkfs ---- */
struct vmfs_format_opts {
	const char *label;		/* NULL: "" */
	uint32_t block_size;		/* 0: 1 MiB; power of two, 64 KiB .. 64 MiB */
	uint32_t max_hosts;		/* 0: 64; 1 .. 256 */
	uint32_t lease_timeout_s;	/* 0: 16 */
	uint32_t journal_blocks;	/* 0: 256 (1 MiB per host) */
	uint32_t num_fds;		/* 0: sized from the volume */
	uint32_t num_pbs;
	uint32_t num_sbs;
	const uint8_t *uuid;		/* NULL: derived from host uuid and clock */
	/*
	 * false: if the device already holds a volume, refuse (-EBUSY) while any
	 * host renews a heartbeat on it (watched for up to a lease timeout).
	 */
	bool force;
};

int vmfs_format(struct blockdev *dev, const struct vmfs_env *env,
		const struct vmfs_format_opts *opts, char *err, size_t errlen);
/* The smallest device these options fit on (a multiple of 1 MiB), 0 if none. */
uint64_t vmfs_format_min_bytes(const struct vmfs_format_opts *opts);

/* ---- mount ---- */
#define VMFS_MOUNT_RDONLY	0x1	/* no heartbeat, no replay, no writes */

int vmfs_mount(struct blockdev *dev, const struct vmfs_env *env, unsigned flags,
	       struct vmfs_volume **out, char *err, size_t errlen);
int vmfs_unmount(struct vmfs_volume *vol);
/* The same; on failure err gets the message (the volume is gone afterwards). */
int vmfs_unmount_err(struct vmfs_volume *vol, char *err, size_t errlen);
const char *vmfs_strerror(const struct vmfs_volume *vol);

/* ---- namespace ---- */
struct vmfs_stat {
	uint32_t fd;		/* descriptor index (inode number) */
	uint32_t gen;
	uint8_t type;		/* enum vmfs_fd_type */
	uint8_t mode;		/* enum vmfs_fd_mode: inline, sub-block, file-block */
	uint16_t flags;		/* VMFS_FDF_* */
	uint32_t perm;
	uint32_t nlink;
	uint64_t size;
	uint64_t alloc_bytes;	/* space held by data units and pointer blocks */
	uint64_t ctime_ns;
	uint64_t mtime_ns;
	uint64_t atime_ns;
};

int vmfs_lookup(struct vmfs_volume *vol, const char *path, uint32_t *fd);
int vmfs_stat(struct vmfs_volume *vol, const char *path, struct vmfs_stat *st);
int vmfs_mkdir(struct vmfs_volume *vol, const char *path, uint32_t perm);
int vmfs_rmdir(struct vmfs_volume *vol, const char *path);
int vmfs_unlink(struct vmfs_volume *vol, const char *path);
int vmfs_rename(struct vmfs_volume *vol, const char *from, const char *to);

/* Called once per entry; a non-zero return stops the walk and is returned. */
typedef int (*vmfs_readdir_fn)(void *arg, const char *name, const struct vmfs_stat *st);
int vmfs_readdir(struct vmfs_volume *vol, const char *path, vmfs_readdir_fn fn, void *arg);

struct vmfs_statfs {
	char label[64];
	uint8_t uuid[16];
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t block_size;
	uint32_t sb_size;
	uint32_t max_hosts;
	uint32_t lease_timeout_s;
	uint32_t slot;		/* our heartbeat slot (~0u when read-only) */
	uint64_t hb_gen;
	uint64_t vol_bytes;
	uint64_t total[VMFS_RES_NTYPES];	/* resources per type */
	uint64_t free[VMFS_RES_NTYPES];
	uint64_t capacity_bytes;		/* file blocks * block size */
	uint64_t free_bytes;
};

int vmfs_statfs(struct vmfs_volume *vol, struct vmfs_statfs *sf);

/* ---- files ---- */
#define VMFS_O_READ		0x01
#define VMFS_O_WRITE		0x02
#define VMFS_O_CREAT		0x04
#define VMFS_O_EXCL		0x08
#define VMFS_O_TRUNC		0x10
#define VMFS_O_MULTIWRITER	0x20	/* shared writers (lock mode MW) */
#define VMFS_O_RANDOM		0x40	/* random access: no read-ahead (a swap file) */

/* How vmfs_extend allocates the new range. */
enum vmfs_alloc {
	VMFS_ALLOC_THIN = 0,		/* holes: read as zeros, allocated on write */
	VMFS_ALLOC_ZEROED = 1,		/* allocated now, zeroed on first write */
	VMFS_ALLOC_EAGER = 2,		/* allocated and zeroed now */
};

int vmfs_open(struct vmfs_volume *vol, const char *path, unsigned flags, uint32_t perm,
	      struct vmfs_file **out);
int vmfs_close(struct vmfs_file *f);
int64_t vmfs_read(struct vmfs_file *f, uint64_t off, void *buf, uint64_t len);
int64_t vmfs_write(struct vmfs_file *f, uint64_t off, const void *buf, uint64_t len);
int vmfs_truncate(struct vmfs_file *f, uint64_t size);
int vmfs_extend(struct vmfs_file *f, uint64_t size, enum vmfs_alloc alloc);
int vmfs_fsync(struct vmfs_file *f);
int vmfs_fstat(struct vmfs_file *f, struct vmfs_stat *st);
/* First offset >= off that may hold data (not a hole), or the size: like SEEK_DATA. */
int vmfs_seek_data(struct vmfs_file *f, uint64_t off, uint64_t *data_off);
/*
 * Deallocate the file blocks wholly inside [off, off + len): they read as
 * zeros again and their space is free (fs/vmfs_punch.c). Partial blocks
 * and files smaller than a block are left as they are. The size does not change.
 */
int vmfs_punch(struct vmfs_file *f, uint64_t off, uint64_t len);
struct vmfs_volume *vmfs_file_volume(struct vmfs_file *f);
/*
 * Where [off, off + len) of the file lies on the device: *dev_off is the
 * byte offset of off (0: a hole, or data kept in the descriptor) and *run
 * how many bytes from there are contiguous on the device (<= len). Like
 * FIEMAP; the benchmark uses it to give raw I/O the very same ranges.
 */
int vmfs_file_map(struct vmfs_file *f, uint64_t off, uint64_t len, uint64_t *dev_off,
		  uint64_t *run);

/* ---- locks, heartbeats and leases ---- */
int vmfs_heartbeat_read(struct vmfs_volume *vol, uint32_t slot, struct vmfs_hbslot *out);
int vmfs_file_lock_read(struct vmfs_volume *vol, const char *path, struct vmfs_lockrec *out);
int vmfs_cluster_lock_read(struct vmfs_volume *vol, enum vmfs_res_type type, uint32_t cluster,
			   struct vmfs_lockrec *out);
const struct vmfs_volhdr *vmfs_header(const struct vmfs_volume *vol);
/*
 * Renew our heartbeat (the lease on our slot). The host must call it at least
 * every vmfs_renew_interval_ms() while the volume is mounted (fs/ also renews
 * inline during its own calls when a renewal is due). This is the one call
 * that may run in another thread concurrently with other calls on the same
 * volume. Returns -EIO once the lease is lost (renewal gap longer than half
 * the lease timeout, or our slot was taken over); from then on every write
 * is refused and the volume must be unmounted.
 */
int vmfs_heartbeat_renew(struct vmfs_volume *vol);
unsigned vmfs_renew_interval_ms(const struct vmfs_volume *vol);
/* false once the lease is lost (see above); true on read-only mounts. */
bool vmfs_lease_valid(const struct vmfs_volume *vol);
/*
 * Recover after dead hosts: every other host whose heartbeat has not changed
 * for the lease timeout (this call watches for up to one lease timeout) has
 * its journal replayed, its locks removed and its slot freed. *recovered gets
 * the number of hosts recovered.
 */
int vmfs_recover(struct vmfs_volume *vol, unsigned *recovered);
/*
 * Periodic upkeep, without waiting: recover every host already watched dead
 * for a lease (journal replayed and fenced, slot freed, so that slots do not
 * run out). A host calls it every few seconds (the vmkernel from its
 * heartbeat world, vmkfstools and the test hosts between operations); it
 * judges hosts only from what it saw at earlier calls.
 */
int vmfs_housekeep(struct vmfs_volume *vol, unsigned *recovered);
/*
 * Give back the locks this host keeps unused that other hosts asked for
 * (they post requests in their heartbeats; our heartbeat renewal notices
 * them). fs/ does it at the start of every operation; a host that may sit
 * idle with the volume mounted calls it every second or so (vmfs_housekeep
 * does too). Not thread-safe: it belongs to the thread using the volume.
 */
int vmfs_release_wanted(struct vmfs_volume *vol);
/*
 * Has another host asked for a lock we keep since vmfs_release_wanted last
 * looked? Safe from any thread (the heartbeat thread asks it after a
 * renewal, to wake whoever services the volume).
 */
bool vmfs_wants_pending(const struct vmfs_volume *vol);

/* ---- checker ---- */
#define VMFS_FSCK_REPAIR	0x1
/*
 * Repair takes the volume for itself: it claims a heartbeat slot in
 * maintenance state (mounts wait or fail while it lives) and refuses with
 * -EBUSY while another host renews its heartbeat (watched for up to a lease
 * timeout). FORCE skips that check (the operator knows the hosts are gone).
 */
#define VMFS_FSCK_FORCE		0x2

struct vmfs_fsck_result {
	unsigned problems;	/* inconsistencies found */
	unsigned repaired;	/* of which repaired */
	unsigned replayed;	/* journal transactions replayed (repair only) */
	void (*report)(void *arg, const char *msg);	/* optional: one call per problem */
	void *arg;
	char first[256];	/* first problem's message */
};

int vmfs_fsck(struct blockdev *dev, const struct vmfs_env *env, unsigned flags,
	      struct vmfs_fsck_result *res, char *err, size_t errlen);

/* ---- virtual disks (VMware VMDK layout: NAME.vmdk + NAME-flat.vmdk) ---- */
struct vmfs_progress {
	void (*fn)(void *arg, uint64_t done, uint64_t total);
	void *arg;
};

struct vmfs_vmdk_info {
	uint64_t capacity;	/* bytes */
	char create_type[32];
	char extent[256];	/* flat extent path, same directory as the descriptor */
	bool thin;
	uint32_t cid;
};

int vmfs_vmdk_create(struct vmfs_volume *vol, const char *path, uint64_t bytes,
		     enum vmfs_alloc alloc, const struct vmfs_progress *prog);
int vmfs_vmdk_info(struct vmfs_volume *vol, const char *path, struct vmfs_vmdk_info *info);
int vmfs_vmdk_clone(struct vmfs_volume *vol, const char *src, const char *dst,
		    enum vmfs_alloc alloc, const struct vmfs_progress *prog);
int vmfs_vmdk_extend(struct vmfs_volume *vol, const char *path, uint64_t bytes,
		     enum vmfs_alloc alloc, const struct vmfs_progress *prog);
int vmfs_vmdk_delete(struct vmfs_volume *vol, const char *path);
int vmfs_vmdk_rename(struct vmfs_volume *vol, const char *from, const char *to);
/* Parse descriptor text (exposed for tests). */
int vmfs_vmdk_parse(const char *text, size_t len, struct vmfs_vmdk_info *info,
		    char *err, size_t errlen);

#endif
