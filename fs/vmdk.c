/*
 * Virtual disks in VMware's VMDK layout on a VMFS volume.
 *
 * A disk NAME.vmdk is two files in one directory: the text descriptor
 * NAME.vmdk and the flat extent NAME-flat.vmdk holding the raw sectors. The
 * descriptor is what ESX writes for a flat disk on VMFS:
 *
 *   # Disk DescriptorFile
 *   version=1 / encoding="UTF-8" / CID=<hex> / parentCID=ffffffff
 *   createType="vmfs"
 *   RW <sectors> VMFS "NAME-flat.vmdk"
 *   ddb.* keys (adapter, geometry, thinProvisioned, uuid, ...)
 *
 * qemu-img (block/vmdk.c) reads createType "vmfs" with a VMFS extent, so a
 * disk copied out with its flat extent converts with `qemu-img convert -f vmdk`.
 * The parser accepts createType vmfs or monolithicFlat with exactly one
 * FLAT/VMFS extent, bounded sizes, and reports the line it rejects.
 *
 * Order of operations keeps a descriptor from naming a missing extent after
 * a crash: create writes the extent first, delete removes the descriptor
 * first, extend grows the extent before rewriting the descriptor.
 */
#include <stdio.h>
#include "vmfs_priv.h"

#define VMDK_DESC_MAX	(64u * 1024)
#define VMDK_COPY_CHUNK	(1024u * 1024)

/* ---- parsing ---- */

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool parse_hex32(const char *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;

	if (!n || n > 8)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return false;
		v = v << 4 | (uint32_t)d;
	}
	*out = v;
	return true;
}

static size_t trim(const char **s, size_t n)
{
	while (n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		n--;
	}
	while (n && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' || (*s)[n - 1] == '\r'))
		n--;
	return n;
}

/* Strip surrounding double quotes if present. */
static size_t unquote(const char **s, size_t n)
{
	if (n >= 2 && (*s)[0] == '"' && (*s)[n - 1] == '"') {
		(*s)++;
		return n - 2;
	}
	return n;
}

static bool word(const char **s, size_t *n, const char **w, size_t *wn)
{
	*n = trim(s, *n);
	*w = *s;
	while (*n && **s != ' ' && **s != '\t') {
		(*s)++;
		(*n)--;
	}
	*wn = (size_t)(*s - *w);
	return *wn > 0;
}

static int parse_extent(const char *s, size_t n, struct vmfs_vmdk_info *info, int *extents)
{
	const char *w;
	size_t wn;
	uint64_t sectors;

	if (!word(&s, &n, &w, &wn) || !((wn == 2 && !memcmp(w, "RW", 2)) ||
					 (wn == 6 && !memcmp(w, "RDONLY", 6))))
		return -EINVAL;
	if (!word(&s, &n, &w, &wn) || !parse_u64(w, wn, &sectors) || !sectors ||
	    sectors > (1ull << 53))
		return -EINVAL;
	if (!word(&s, &n, &w, &wn) || !((wn == 4 && (!memcmp(w, "VMFS", 4) || !memcmp(w, "FLAT", 4)))))
		return -ENOTSUP;
	n = trim(&s, n);
	if (n < 3 || s[0] != '"')
		return -EINVAL;
	for (wn = 1; wn < n && s[wn] != '"'; wn++)
		;
	if (wn >= n || wn - 1 >= sizeof(info->extent) || wn == 1)
		return -EINVAL;
	memcpy(info->extent, s + 1, wn - 1);
	info->extent[wn - 1] = 0;
	info->capacity = sectors * 512;
	(*extents)++;
	return 0;
}

static int parse_kv(const char *k, size_t kn, const char *v, size_t vn,
		    struct vmfs_vmdk_info *info)
{
	vn = unquote(&v, vn);
	if (kn == 7 && !memcmp(k, "version", 7))
		return vn == 1 && v[0] == '1' ? 0 : -ENOTSUP;
	if (kn == 3 && !memcmp(k, "CID", 3))
		return parse_hex32(v, vn, &info->cid) ? 0 : -EINVAL;
	if (kn == 10 && !memcmp(k, "createType", 10)) {
		if (!((vn == 4 && !memcmp(v, "vmfs", 4)) || (vn == 14 && !memcmp(v, "monolithicFlat", 14))))
			return -ENOTSUP;
		memcpy(info->create_type, v, vn);
		info->create_type[vn] = 0;
		return 0;
	}
	if (kn == 19 && !memcmp(k, "ddb.thinProvisioned", 19))
		info->thin = vn == 1 && v[0] == '1';
	return 0;	/* other keys are informational */
}

static int parse_line(const char *s, size_t n, struct vmfs_vmdk_info *info, int *extents)
{
	const char *eq;
	size_t kn;

	n = trim(&s, n);
	if (!n || s[0] == '#')
		return 0;
	if ((n > 3 && !memcmp(s, "RW ", 3)) || (n > 7 && !memcmp(s, "RDONLY ", 7)))
		return parse_extent(s, n, info, extents);
	for (eq = s; eq < s + n && *eq != '='; eq++)
		;
	if (eq == s + n)
		return -EINVAL;
	kn = (size_t)(eq - s);
	kn = trim(&s, kn);
	eq++;
	return parse_kv(s, kn, eq, trim(&eq, n - (size_t)(eq - s)), info);
}

int vmfs_vmdk_parse(const char *text, size_t len, struct vmfs_vmdk_info *info,
		    char *err, size_t errlen)
{
	int extents = 0, line = 0;
	size_t i = 0;

	memset(info, 0, sizeof(*info));
	if (len > VMDK_DESC_MAX || len < 21 || memcmp(text, "# Disk DescriptorFile", 21)) {
		vmfs_fmterr(err, errlen, "not a VMDK text descriptor (no '# Disk DescriptorFile' "
				"header)");
		return -EINVAL;
	}
	while (i < len) {
		size_t j = i;
		int rc;

		while (j < len && text[j] != '\n')
			j++;
		line++;
		rc = parse_line(text + i, j - i, info, &extents);
		if (rc) {
			vmfs_fmterr(err, errlen, "VMDK descriptor line %d: %s", line,
				    rc == -ENOTSUP ? "unsupported value" : "malformed");
			return rc;
		}
		i = j + 1;
	}
	if (extents != 1 || !info->create_type[0]) {
		vmfs_fmterr(err, errlen, "VMDK descriptor: need createType and exactly one flat "
				"extent (found %d)",
			    extents);
		return -ENOTSUP;
	}
	return 0;
}

/* ---- descriptor text ---- */

static int build_desc(char *buf, size_t size, const char *extent, uint64_t bytes, bool thin,
		      uint32_t cid)
{
	uint64_t sectors = bytes / 512, cyl = sectors / (255 * 63);
	uint32_t u[4];

	if (cyl > 65535)
		cyl = 65535;
	for (unsigned i = 0; i < 4; i++)
		u[i] = vmfs_crc32c(cid + i, extent, strlen(extent));
	return snprintf(buf, size,
		"# Disk DescriptorFile\n"
		"version=1\n"
		"encoding=\"UTF-8\"\n"
		"CID=%08x\n"
		"parentCID=ffffffff\n"
		"createType=\"vmfs\"\n"
		"\n"
		"# Extent description\n"
		"RW %llu VMFS \"%s\"\n"
		"\n"
		"# The Disk Data Base\n"
		"#DDB\n"
		"\n"
		"ddb.adapterType = \"lsilogic\"\n"
		"ddb.geometry.cylinders = \"%llu\"\n"
		"ddb.geometry.heads = \"255\"\n"
		"ddb.geometry.sectors = \"63\"\n"
		"ddb.longContentID = \"%08x%08x%08x%08x\"\n"
		"ddb.thinProvisioned = \"%d\"\n"
		"ddb.uuid = \"%02x %02x %02x %02x %02x %02x %02x %02x-%02x %02x %02x %02x %02x "
				"%02x %02x %02x\"\n"
		"ddb.virtualHWVersion = \"13\"\n",
		cid, (unsigned long long)sectors, extent, (unsigned long long)cyl,
		u[0], u[1], u[2], u[3], thin ? 1 : 0,
		u[0] & 0xff, u[0] >> 8 & 0xff, u[0] >> 16 & 0xff, u[0] >> 24,
		u[1] & 0xff, u[1] >> 8 & 0xff, u[1] >> 16 & 0xff, u[1] >> 24,
		u[2] & 0xff, u[2] >> 8 & 0xff, u[2] >> 16 & 0xff, u[2] >> 24,
		u[3] & 0xff, u[3] >> 8 & 0xff, u[3] >> 16 & 0xff, u[3] >> 24);
}

/* "dir/NAME.vmdk" -> flat "dir/NAME-flat.vmdk" and its basename. */
static int flat_paths(struct vmfs_volume *vol, const char *path, char *flat, size_t fsize,
		      const char **base)
{
	size_t n = strlen(path);
	const char *slash = strrchr(path, '/');

	if (n < 6 || memcmp(path + n - 5, ".vmdk", 5) || (slash && slash[1] == '.' &&
							slash + 6 == path + n))
		return vmfs_seterr(vol, -EINVAL, "'%s': a virtual disk name must end in "
				".vmdk", path);
	if (n + 5 >= fsize)
		return vmfs_seterr(vol, -ENAMETOOLONG, "'%s': name too long", path);
	memcpy(flat, path, n - 5);
	memcpy(flat + n - 5, "-flat.vmdk", 11);
	slash = strrchr(flat, '/');
	*base = slash ? slash + 1 : flat;
	return 0;
}

static int write_whole(struct vmfs_volume *vol, const char *path, const char *text, size_t len,
		       unsigned flags)
{
	struct vmfs_file *f;
	int64_t n;
	int rc = vmfs_open(vol, path, VMFS_O_WRITE | VMFS_O_CREAT | flags, 0644, &f);

	if (rc)
		return rc;
	n = vmfs_write(f, 0, text, len);
	rc = n < 0 ? (int)n : 0;
	if (!rc)
		rc = vmfs_truncate(f, len);
	if (!rc)
		rc = vmfs_fsync(f);
	vmfs_close(f);
	return rc;
}

static int write_desc(struct vmfs_volume *vol, const char *path, const char *extent,
		      uint64_t bytes, bool thin, uint32_t cid, unsigned flags)
{
	char *buf = vmfs_zalloc(vol, 2048);
	int n, rc;

	if (!buf)
		return vmfs_seterr(vol, -ENOMEM, "out of memory");
	n = build_desc(buf, 2048, extent, bytes, thin, cid);
	rc = n <= 0 || n >= 2048 ? vmfs_seterr(vol, -EINVAL, "descriptor too long") :
		write_whole(vol, path, buf, (size_t)n, flags);
	vmfs_free(vol, buf);
	return rc;
}

/* Remove what a failed create made, keeping the error message of the failure. */
static void undo_create(struct vmfs_volume *vol, const char *path)
{
	char saved[sizeof(vol->err)];

	memcpy(saved, vol->err, sizeof(saved));
	vmfs_unlink(vol, path);
	memcpy(vol->err, saved, sizeof(saved));
}

static int make_flat(struct vmfs_volume *vol, const char *flat, uint64_t bytes,
		     enum vmfs_alloc alloc, const struct vmfs_progress *prog)
{
	struct vmfs_file *f;
	int rc = vmfs_open(vol, flat, VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_EXCL, 0600, &f);

	if (rc)
		return rc;
	rc = vmfs_extend_fd(vol, f->fd, bytes, alloc, prog);
	if (!rc)
		rc = vmfs_fsync(f);
	vmfs_close(f);
	if (rc)
		undo_create(vol, flat);	/* out of space, say: leave nothing behind */
	return rc;
}

int vmfs_vmdk_create(struct vmfs_volume *vol, const char *path, uint64_t bytes,
		     enum vmfs_alloc alloc, const struct vmfs_progress *prog)
{
	char flat[1024];
	const char *base;
	struct vmfs_stat st;
	int rc = flat_paths(vol, path, flat, sizeof(flat), &base);

	if (rc)
		return rc;
	if (!bytes || bytes % 512)
		return vmfs_seterr(vol, -EINVAL, "'%s': size %llu is not a positive multiple of "
				"512",
				   path, (unsigned long long)bytes);
	if (!vmfs_stat(vol, path, &st))
		return vmfs_seterr(vol, -EEXIST, "'%s' already exists", path);
	rc = make_flat(vol, flat, bytes, alloc, prog);
	if (!rc) {
		rc = write_desc(vol, path, base, bytes, alloc == VMFS_ALLOC_THIN,
				vmfs_crc32c((uint32_t)vmfs_now(vol), path, strlen(path)),
				VMFS_O_EXCL);
		if (rc)
			undo_create(vol, flat);
	}
	return rc;
}

/* Read and parse the descriptor; info->extent becomes a volume path. */
int vmfs_vmdk_info(struct vmfs_volume *vol, const char *path, struct vmfs_vmdk_info *info)
{
	struct vmfs_file *f;
	char *buf = NULL, name[sizeof(info->extent)], msg[200];
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path + 1) : 0;
	int64_t n;
	int rc = vmfs_open(vol, path, VMFS_O_READ, 0, &f);

	if (rc)
		return rc;
	buf = vmfs_zalloc(vol, VMDK_DESC_MAX + 1);
	n = buf ? vmfs_read(f, 0, buf, VMDK_DESC_MAX + 1) : -ENOMEM;
	vmfs_close(f);
	rc = n < 0 ? (int)n : 0;
	if (!rc && (n > VMDK_DESC_MAX || vmfs_vmdk_parse(buf, (size_t)n, info, msg, sizeof(msg))))
		rc = vmfs_seterr(vol, -EINVAL, "'%s': %s", path,
				 n > VMDK_DESC_MAX ? "descriptor larger than 64 KiB" : msg);
	vmfs_free(vol, buf);
	if (rc)
		return rc;
	if (strchr(info->extent, '/') || dlen + strlen(info->extent) >= sizeof(info->extent))
		return vmfs_seterr(vol, -ENOTSUP, "'%s': extent '%s' is not in the same directory",
				   path, info->extent);
	memcpy(name, info->extent, sizeof(name));
	memcpy(info->extent, path, dlen);
	memcpy(info->extent + dlen, name, strlen(name) + 1);
	return 0;
}

int vmfs_vmdk_delete(struct vmfs_volume *vol, const char *path)
{
	struct vmfs_vmdk_info info;
	int rc = vmfs_vmdk_info(vol, path, &info);

	if (!rc)
		rc = vmfs_unlink(vol, path);
	if (!rc)
		rc = vmfs_unlink(vol, info.extent);
	return rc;
}

int vmfs_vmdk_extend(struct vmfs_volume *vol, const char *path, uint64_t bytes,
		     enum vmfs_alloc alloc, const struct vmfs_progress *prog)
{
	struct vmfs_vmdk_info info;
	struct vmfs_file *f;
	const char *base;
	int rc = vmfs_vmdk_info(vol, path, &info);

	if (rc)
		return rc;
	if (bytes % 512 || bytes <= info.capacity)
		return vmfs_seterr(vol, -EINVAL, "'%s': new size %llu must be a multiple of 512 "
				"larger than %llu",
				   path, (unsigned long long)bytes,
				   (unsigned long long)info.capacity);
	rc = vmfs_open(vol, info.extent, VMFS_O_WRITE, 0, &f);
	if (rc)
		return rc;
	rc = vmfs_extend_fd(vol, f->fd, bytes, alloc, prog);
	vmfs_close(f);
	base = strrchr(info.extent, '/');
	base = base ? base + 1 : info.extent;
	return rc ? rc : write_desc(vol, path, base, bytes, info.thin, info.cid + 1, VMFS_O_TRUNC);
}

int vmfs_vmdk_rename(struct vmfs_volume *vol, const char *from, const char *to)
{
	struct vmfs_vmdk_info info;
	char flat[1024];
	const char *base;
	int rc = vmfs_vmdk_info(vol, from, &info);

	if (!rc)
		rc = flat_paths(vol, to, flat, sizeof(flat), &base);
	if (!rc)
		rc = write_desc(vol, to, base, info.capacity, info.thin, info.cid, VMFS_O_EXCL);
	if (!rc)
		rc = vmfs_rename(vol, info.extent, flat);
	if (!rc)
		rc = vmfs_unlink(vol, from);
	return rc;
}

/* Copy the data regions of src into dst (both open); zero chunks are skipped. */
static int copy_data(struct vmfs_file *src, struct vmfs_file *dst, uint64_t size,
		     const struct vmfs_progress *prog)
{
	struct vmfs_volume *vol = src->vol;
	uint8_t *buf = vmfs_zalloc(vol, VMDK_COPY_CHUNK);
	uint64_t off = 0;
	int rc = buf ? 0 : vmfs_seterr(vol, -ENOMEM, "out of memory");

	while (!rc && off < size) {
		uint64_t n;
		int64_t got;

		rc = vmfs_seek_data(src, off, &off);
		if (rc || off >= size)
			break;
		n = size - off < VMDK_COPY_CHUNK ? size - off : VMDK_COPY_CHUNK;
		got = vmfs_read(src, off, buf, n);
		rc = got < 0 ? (int)got : 0;
		if (!rc && !vmfs_is_zero(buf, n)) {
			got = vmfs_write(dst, off, buf, n);
			rc = got < 0 ? (int)got : 0;
		}
		off += n;
		if (prog && prog->fn)
			prog->fn(prog->arg, off, size);
	}
	vmfs_free(vol, buf);
	return rc;
}

int vmfs_vmdk_clone(struct vmfs_volume *vol, const char *src, const char *dst,
		    enum vmfs_alloc alloc, const struct vmfs_progress *prog)
{
	struct vmfs_vmdk_info info, dinfo;
	struct vmfs_file *in, *out;
	int rc = vmfs_vmdk_info(vol, src, &info);

	if (!rc)
		rc = vmfs_vmdk_create(vol, dst, info.capacity, alloc, NULL);
	if (!rc)
		rc = vmfs_vmdk_info(vol, dst, &dinfo);
	if (rc)
		return rc;
	rc = vmfs_open(vol, info.extent, VMFS_O_READ, 0, &in);
	if (!rc) {
		rc = vmfs_open(vol, dinfo.extent, VMFS_O_WRITE, 0, &out);
		if (!rc) {
			rc = copy_data(in, out, info.capacity, prog);
			if (!rc)
				rc = vmfs_fsync(out);
			vmfs_close(out);
		}
		vmfs_close(in);
	}
	if (rc) {		/* a failed clone leaves no disk behind */
		undo_create(vol, dst);
		undo_create(vol, dinfo.extent);
	}
	return rc;
}
