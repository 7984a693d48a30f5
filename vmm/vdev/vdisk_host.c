/*
 * Virtual disks on this host's datastores: finding a .vmx fileName's
 * datastore, serialising its calls with the datastore's lock, and
 * knowing which VM holds which disk (include/vmm/vdisk.h).
 *
 * VMFS's file locks already keep a disk to one writer across hosts and
 * on this host; the table here only lets a refusal on this host name the
 * VM that holds the disk rather than a descriptor number. Entries live
 * from vdisk_attach() to vdisk_detach(), under attach_lock.
 */
#define pr_fmt(fmt) "vdisk: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fs/kernel/datastore.h>
#include <vmkernel/log.h>
#include <vmkernel/mutex.h>
#include <vmm/vdisk.h>
#include <vmm/vdisk_host.h>

#define HELD_MAX 64

struct held {
	const struct vdisk *disk;
	const struct datastore *ds;
	char path[VDISK_PATH_MAX];	/* inside the datastore */
	char vm[64];
	bool shared;			/* multi-writer or read-only: others of the same kind may join */
	bool rdonly;
};

static struct mutex attach_lock = MUTEX_INIT("vdisk attach");
static struct held held[HELD_MAX];	/* attach_lock */

static void ds_lock(void *ctx)
{
	mutex_lock(ctx);
}

static void ds_unlock(void *ctx)
{
	mutex_unlock(ctx);
}

/* Another VM's hold that conflicts with this open, or NULL. */
static const struct held *conflict(const struct datastore *ds, const char *path, unsigned flags)
{
	for (unsigned i = 0; i < HELD_MAX; i++) {
		const struct held *h = &held[i];

		if (!h->disk || h->ds != ds || strcmp(h->path, path))
			continue;
		if ((flags & VDISK_RDONLY) && h->rdonly)
			continue;
		if ((flags & VDISK_MULTIWRITER) && h->shared && !h->rdonly)
			continue;
		return h;
	}
	return NULL;
}

static int remember(struct vdisk *d, const struct datastore *ds, const char *path, unsigned flags,
		    const char *vm)
{
	for (unsigned i = 0; i < HELD_MAX; i++) {
		struct held *h = &held[i];

		if (h->disk)
			continue;
		h->disk = d;
		h->ds = ds;
		snprintf(h->path, sizeof(h->path), "%s", path);
		snprintf(h->vm, sizeof(h->vm), "%s", vm);
		h->rdonly = flags & VDISK_RDONLY;
		h->shared = flags & (VDISK_RDONLY | VDISK_MULTIWRITER);
		return 0;
	}
	return -ENOSPC;
}

int vdisk_attach(struct vdisk *d, const char *vm, const char *vmx_dir, const char *file,
		 unsigned flags, char *full, size_t fulllen, char *err, size_t errlen)
{
	const char *why, *rest;
	struct datastore *ds;
	const struct held *h;
	char path[VDISK_PATH_MAX];
	int rc;

	if (vdisk_resolve(vmx_dir, file, full, fulllen, &why)) {
		snprintf(err, errlen, "'%s': %s", file, why);
		return -EINVAL;
	}
	ds = datastore_find(full, &rest);
	if (!ds || !rest) {
		snprintf(err, errlen, "%s: no such datastore (%u mounted)", full, datastore_count());
		return -ENOENT;
	}
	if (ds->lease_lost) {
		snprintf(err, errlen, "%s: the datastore's heartbeat lease is lost", full);
		return -EIO;
	}
	snprintf(path, sizeof(path), "/%s", rest);
	mutex_lock(&attach_lock);
	h = conflict(ds, path, flags);
	if (h) {
		snprintf(err, errlen, "%s is in use by VM '%s' on this host (%s)", full, h->vm,
			 h->rdonly ? "read-only" : h->shared ? "multi-writer" : "exclusive lock");
		mutex_unlock(&attach_lock);
		return -EBUSY;
	}
	d->lock = ds_lock;
	d->unlock = ds_unlock;
	d->lock_ctx = &ds->lock;
	rc = vdisk_open(d, ds->vol, path, flags, err, errlen);
	if (!rc && remember(d, ds, path, flags, vm)) {
		vdisk_close(d);
		snprintf(err, errlen, "%s: more than %u disks open on this host", full, HELD_MAX);
		rc = -ENOSPC;
	}
	mutex_unlock(&attach_lock);
	return rc;
}

void vdisk_detach(struct vdisk *d)
{
	mutex_lock(&attach_lock);
	vdisk_close(d);
	for (unsigned i = 0; i < HELD_MAX; i++) {
		if (held[i].disk == d)
			held[i].disk = NULL;
	}
	mutex_unlock(&attach_lock);
}
