/*
 * Virtual disks as the VMM's disk device models see them: a VMDK on a
 * VMFS volume (vmm/vdev/vdisk.c), opened for one VM for its lifetime.
 *
 * vdisk_open() reads the descriptor, takes a read-only lock on it and the
 * file lock on the flat extent: exclusive for a writable disk, shared
 * multi-writer when the configuration allows sharing, read-only for a
 * read-only disk. Those locks are VMFS's on-disk locks, so a VM on
 * another host that names the same disk is refused as well as one on
 * this host. I/O is in 512-byte sectors, bounded by the capacity in the
 * descriptor; thin extents allocate on first write (VMFS does), flush
 * reaches the volume's device, discard deallocates whole file blocks of
 * thin disks.
 *
 * The pure part (this header) is built for the host too; calls on one
 * volume must be serialised by the caller, which the vmkernel does with
 * the datastore's lock (vdisk_host.c: vdisk_attach()).
 */
#ifndef VMM_VDISK_H
#define VMM_VDISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vmfs_volume;
struct vmfs_file;

#define VDISK_SECTOR		512u
#define VDISK_PATH_MAX		256

/* vdisk_open() flags */
#define VDISK_RDONLY		0x1	/* writes and discards refused */
#define VDISK_MULTIWRITER	0x2	/* shared with other writers (sharing = "multi-writer") */

struct vdisk {
	struct vmfs_volume *vol;
	struct vmfs_file *desc;		/* held open: a read-only lock on the descriptor */
	struct vmfs_file *flat;		/* the extent, locked for as long as it is open */
	uint64_t sectors;		/* capacity from the descriptor */
	uint32_t block_size;		/* the volume's file block size (discard granularity) */
	bool rdonly, thin;
	char path[VDISK_PATH_MAX];	/* the descriptor, inside its volume */
	/* serialisation of calls on vol, or NULL when the caller already serialises */
	void (*lock)(void *ctx);
	void (*unlock)(void *ctx);
	void *lock_ctx;
	uint64_t reads, writes, flushes, discards;	/* requests served */
};

/* 0, or -errno with the reason in err (naming the holder of a lock). */
int vdisk_open(struct vdisk *d, struct vmfs_volume *vol, const char *path, unsigned flags,
	       char *err, size_t errlen);
void vdisk_close(struct vdisk *d);
/* 0, -EROFS (read-only disk), -ERANGE (past the capacity), -EIO. */
int vdisk_read(struct vdisk *d, uint64_t sector, void *buf, uint32_t count);
int vdisk_write(struct vdisk *d, uint64_t sector, const void *buf, uint32_t count);
int vdisk_flush(struct vdisk *d);
/* Deallocate what [sector, sector + count) wholly covers in a thin disk; it reads as zeros. */
int vdisk_discard(struct vdisk *d, uint64_t sector, uint64_t count);

/*
 * Resolve a .vmx fileName: an absolute datastore path "/vmfs/volumes/<label>/..."
 * is taken as it is; a relative one is taken from the .vmx's own directory
 * (vmx_dir, a datastore path, or NULL when the .vmx is not on a datastore:
 * then a relative name is an error). ".." and "." components and empty
 * names are refused. 0 or -EINVAL (why set).
 */
int vdisk_resolve(const char *vmx_dir, const char *file, char *out, size_t outlen,
		  const char **why);

#endif
