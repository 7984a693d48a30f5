/*
 * Virtual disks on this host's datastores (vmm/vdev/vdisk_host.c): the
 * vmkernel side of vdisk.h.
 */
#ifndef VMM_VDISK_HOST_H
#define VMM_VDISK_HOST_H

#include <stddef.h>

struct vdisk;

/*
 * Open a .vmx fileName for VM `vm` (vmx_dir: the .vmx's datastore
 * directory, or NULL): full gets the resolved /vmfs/volumes/... path.
 * 0, or -errno with err naming the problem: no such datastore, a lost
 * lease, the VM on this host that holds the disk, or VMFS's reason (a
 * lock held by another host names its heartbeat slot).
 */
int vdisk_attach(struct vdisk *d, const char *vm, const char *vmx_dir, const char *file,
		 unsigned flags, char *full, size_t fulllen, char *err, size_t errlen);
/*
 * make bench: with the kernel option vdisk.bench=MiB, time writing and
 * reading the disk's first MiB megabytes through vdisk.h (its data is
 * overwritten) and as much raw I/O on its datastore's device (path: the
 * disk's /vmfs/volumes/... path), and log the figures (vmm/vdev/vdisk_bench.c).
 */
void vdisk_bench(struct vdisk *d, const char *vm, const char *dev, const char *path);
/* Close it (flushing a writable disk) and forget who held it. */
void vdisk_detach(struct vdisk *d);

#endif
