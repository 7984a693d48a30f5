/*
 * Virtual disks: a VMDK (descriptor and flat extent) on a VMFS volume,
 * served to a VM's disk device in sectors (see include/vmm/vdisk.h).
 *
 * The descriptor stays open read-only and the extent stays open with the
 * lock the disk's mode asks for until vdisk_close(): VMFS's locks are
 * the disk's ownership, on this host and on every host sharing the
 * volume. Every request is checked against the capacity the descriptor
 * gives (the extent may be longer); a read-only disk refuses writes and
 * discards before VMFS sees them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fs/vmfs.h>
#include <vmm/vdisk.h>

static void lock(struct vdisk *d)
{
	if (d->lock)
		d->lock(d->lock_ctx);
}

static void unlock(struct vdisk *d)
{
	if (d->unlock)
		d->unlock(d->lock_ctx);
}

int vdisk_open(struct vdisk *d, struct vmfs_volume *vol, const char *path, unsigned flags,
	       char *err, size_t errlen)
{
	struct vmfs_vmdk_info info;
	struct vmfs_statfs sf;
	unsigned oflags = VMFS_O_READ;
	int rc;

	if (strlen(path) >= sizeof(d->path)) {
		snprintf(err, errlen, "'%s': path too long", path);
		return -ENAMETOOLONG;
	}
	d->vol = vol;
	d->desc = d->flat = NULL;
	d->rdonly = flags & VDISK_RDONLY;
	snprintf(d->path, sizeof(d->path), "%s", path);
	lock(d);
	rc = vmfs_statfs(vol, &sf);
	if (!rc)
		rc = vmfs_vmdk_info(vol, path, &info);
	if (!rc)
		rc = vmfs_open(vol, path, VMFS_O_READ, 0, &d->desc);
	if (!rc && !d->rdonly)
		oflags |= VMFS_O_WRITE | (flags & VDISK_MULTIWRITER ? VMFS_O_MULTIWRITER : 0);
	if (!rc)
		rc = vmfs_open(vol, info.extent, oflags, 0, &d->flat);
	if (rc) {
		snprintf(err, errlen, "%s", vmfs_strerror(vol));
		if (d->desc)
			vmfs_close(d->desc);
		d->desc = NULL;
		unlock(d);
		return rc;
	}
	unlock(d);
	d->sectors = info.capacity / VDISK_SECTOR;
	d->thin = info.thin;
	d->block_size = sf.block_size;
	d->reads = d->writes = d->flushes = d->discards = 0;
	return 0;
}

void vdisk_close(struct vdisk *d)
{
	if (!d->vol)
		return;
	lock(d);
	if (d->flat && !d->rdonly)
		vmfs_fsync(d->flat);
	vmfs_close(d->flat);
	vmfs_close(d->desc);
	unlock(d);
	d->flat = d->desc = NULL;
	d->vol = NULL;
}

static int in_range(const struct vdisk *d, uint64_t sector, uint64_t count)
{
	return sector <= d->sectors && count <= d->sectors - sector ? 0 : -ERANGE;
}

int vdisk_read(struct vdisk *d, uint64_t sector, void *buf, uint32_t count)
{
	uint64_t len = (uint64_t)count * VDISK_SECTOR;
	int64_t n;
	int rc = in_range(d, sector, count);

	if (rc)
		return rc;
	lock(d);
	n = vmfs_read(d->flat, sector * VDISK_SECTOR, buf, len);
	unlock(d);
	if (n < 0)
		return -EIO;
	if ((uint64_t)n < len)		/* an extent shorter than the capacity reads as zeros */
		memset((uint8_t *)buf + n, 0, len - (uint64_t)n);
	d->reads++;
	return 0;
}

int vdisk_write(struct vdisk *d, uint64_t sector, const void *buf, uint32_t count)
{
	uint64_t len = (uint64_t)count * VDISK_SECTOR;
	int64_t n;
	int rc = d->rdonly ? -EROFS : in_range(d, sector, count);

	if (rc)
		return rc;
	lock(d);
	n = vmfs_write(d->flat, sector * VDISK_SECTOR, buf, len);
	unlock(d);
	if (n < 0 || (uint64_t)n != len)
		return -EIO;
	d->writes++;
	return 0;
}

int vdisk_flush(struct vdisk *d)
{
	int rc;

	if (d->rdonly)
		return 0;
	lock(d);
	rc = vmfs_fsync(d->flat);
	unlock(d);
	d->flushes++;
	return rc ? -EIO : 0;
}

int vdisk_discard(struct vdisk *d, uint64_t sector, uint64_t count)
{
	int rc = d->rdonly ? -EROFS : in_range(d, sector, count);

	if (rc)
		return rc;
	d->discards++;
	if (!d->thin)
		return 0;	/* a thick disk keeps its blocks: discard is a hint */
	lock(d);
	rc = vmfs_punch(d->flat, sector * VDISK_SECTOR, count * VDISK_SECTOR);
	unlock(d);
	return rc ? -EIO : 0;
}

/* ---- .vmx file names ---- */

static const char volumes[] = "/vmfs/volumes/";

/* Append the '/'-separated components of s to out (at *n), refusing "." and "..". */
static int append(char *out, size_t outlen, size_t *n, const char *s, const char **why)
{
	while (*s) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (!len) {
			s++;
			continue;
		}
		if ((len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.')) {
			*why = "\".\" and \"..\" are not allowed in disk paths";
			return -EINVAL;
		}
		if (*n + 1 + len >= outlen) {
			*why = "the path is too long";
			return -EINVAL;
		}
		if (*n && out[*n - 1] != '/')
			out[(*n)++] = '/';
		memcpy(out + *n, s, len);
		*n += len;
		out[*n] = '\0';
		s += len;
	}
	return 0;
}

int vdisk_resolve(const char *vmx_dir, const char *file, char *out, size_t outlen,
		  const char **why)
{
	size_t n = 0;
	const char *label;

	*why = NULL;
	if (!file[0] || file[strlen(file) - 1] == '/') {
		*why = "no file name";
		return -EINVAL;
	}
	if (file[0] != '/' && !vmx_dir) {
		*why = "a relative path needs the .vmx on a datastore; give "
		       "/vmfs/volumes/<datastore>/<path>";
		return -EINVAL;
	}
	if (outlen < 2)
		return -EINVAL;
	out[n++] = '/';
	out[n] = '\0';
	if (file[0] != '/' && append(out, outlen, &n, vmx_dir, why))
		return -EINVAL;
	if (append(out, outlen, &n, file, why))
		return -EINVAL;
	/* /vmfs/volumes/<label>/<at least one name> */
	label = out + sizeof(volumes) - 1;
	if (strncmp(out, volumes, sizeof(volumes) - 1) || !strchr(label, '/') ||
	    strchr(label, '/') == label) {
		*why = "not a datastore path (/vmfs/volumes/<datastore>/<path>)";
		return -EINVAL;
	}
	return 0;
}
