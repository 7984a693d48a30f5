/*
 * The disk keys of a .vmx file (see vmconfig.h and docs/vmconfig.md).
 *
 * VMware describes disks with SCSI adapter keys (scsiN.present,
 * scsiN.virtualDev) and per-disk keys (scsiN:M.present, .fileName,
 * .deviceType, .mode, .sharing); we read the same keys. The adapter model
 * "virtio-blk" is our own value: VMware has no virtio disk, and a
 * virtio-blk device is one disk per PCI function, so each present disk
 * of such an adapter becomes its own device. scsiN:M.readOnly is our own
 * key. VMware's other adapter models and disk modes are recognised and
 * refused as not supported yet.
 *
 * Every disk key is checked as its line is read (duplicates included);
 * whole-disk rules (a present disk needs a fileName and a present
 * virtio-blk adapter) are checked once the file is read.
 *
 * Relative fileNames. VMware resolves them against the .vmx's own
 * directory. A .vmx handed over as a boot module has no directory, so
 * vmx.directory (our key) names the datastore directory it stands for;
 * a relative fileName without one is an error here rather than a
 * surprise at VM start. vmx.directory is also where the VM's swap file
 * goes (vmm/mem/guest_swap.c) unless sched.swap.dir (VMware's key, same
 * syntax) names another directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmm/vmconfig.h>

static const char *const disk_key_names[VMCONFIG_DK_COUNT] = {
	[VMCONFIG_DK_PRESENT] = "present", [VMCONFIG_DK_FILENAME] = "fileName",
	[VMCONFIG_DK_DEVICETYPE] = "deviceType", [VMCONFIG_DK_MODE] = "mode",
	[VMCONFIG_DK_SHARING] = "sharing", [VMCONFIG_DK_READONLY] = "readOnly",
};

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *s, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++) {
		if (!w[i] || lower(s[i]) != lower(w[i]))
			return false;
	}
	return w[n] == '\0';
}

/* A decimal number of 1-2 digits at s, below max; advances *i. */
static bool small_num(const char *s, size_t n, size_t *i, unsigned max, unsigned *out)
{
	unsigned v = 0, d = 0;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9' && d < 3) {
		v = v * 10 + (unsigned)(s[(*i)++] - '0');
		d++;
	}
	*out = v;
	return d && d < 3 && v < max;
}

static int boolean(const char *v, size_t n, bool *out)
{
	if (ieq(v, n, "true"))
		*out = true;
	else if (ieq(v, n, "false"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int bad(char *why, size_t len, const char *fmt, const char *v)
{
	snprintf(why, len, fmt, v);
	return -EINVAL;
}

static int duplicate(unsigned *seen, unsigned line, char *why, size_t len)
{
	if (*seen) {
		snprintf(why, len, "duplicate key (first set on line %u)", *seen);
		return -EINVAL;
	}
	*seen = line;
	return 0;
}

/* scsiN.present, scsiN.virtualDev */
static int adapter_key(struct vmconfig_scsi *s, const char *k, size_t kn, const char *v,
		       size_t vn, unsigned line, char *why, size_t len)
{
	if (ieq(k, kn, "present")) {
		if (duplicate(&s->present_line, line, why, len))
			return -EINVAL;
		return boolean(v, vn, &s->present) ? bad(why, len, "\"%s\" is neither TRUE nor FALSE", v)
						   : 1;
	}
	if (ieq(k, kn, "virtualDev")) {
		if (duplicate(&s->dev_line, line, why, len))
			return -EINVAL;
		if (ieq(v, vn, "virtio-blk")) {
			s->virtio_blk = true;
			return 1;
		}
		if (ieq(v, vn, "lsilogic") || ieq(v, vn, "buslogic") || ieq(v, vn, "lsisas1068") ||
		    ieq(v, vn, "pvscsi"))
			return bad(why, len, "\"%s\" is not supported yet (only \"virtio-blk\")", v);
		return bad(why, len, "\"%s\" is not a disk adapter model (\"virtio-blk\"; VMware's "
			   "lsilogic, buslogic, lsisas1068 and pvscsi are not supported yet)", v);
	}
	return bad(why, len, "%snot supported yet", "");
}

static struct vmconfig_disk *slot(struct vm_config *c, unsigned bus, unsigned unit)
{
	for (unsigned i = 0; i < c->ndisk_slots; i++) {
		if (c->disks[i].bus == bus && c->disks[i].unit == unit)
			return &c->disks[i];
	}
	if (c->ndisk_slots == VMCONFIG_DISK_SLOTS)
		return NULL;
	c->disks[c->ndisk_slots] = (struct vmconfig_disk){ .bus = (uint8_t)bus,
							   .unit = (uint8_t)unit };
	return &c->disks[c->ndisk_slots++];
}

static int file_name(struct vmconfig_disk *d, const char *v, size_t vn, char *why, size_t len)
{
	if (!vn || vn >= sizeof(d->file))
		return bad(why, len, "is not 1 to 255 characters%s", "");
	for (size_t i = 0; i < vn; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return bad(why, len, "a file name may not hold control characters%s", "");
	}
	memcpy(d->file, v, vn);
	d->file[vn] = '\0';
	return 1;
}

static int disk_value(struct vmconfig_disk *d, enum vmconfig_disk_key k, const char *v,
		      size_t vn, char *why, size_t len)
{
	switch (k) {
	case VMCONFIG_DK_PRESENT:
		return boolean(v, vn, &d->present) ? bad(why, len, "\"%s\" is neither TRUE nor FALSE", v)
						   : 1;
	case VMCONFIG_DK_READONLY:
		return boolean(v, vn, &d->read_only) ?
			bad(why, len, "\"%s\" is neither TRUE nor FALSE", v) : 1;
	case VMCONFIG_DK_FILENAME:
		return file_name(d, v, vn, why, len);
	case VMCONFIG_DK_DEVICETYPE:
		if (ieq(v, vn, "scsi-hardDisk") || ieq(v, vn, "disk"))
			return 1;
		return bad(why, len, "\"%s\" is not supported yet (only \"scsi-hardDisk\")", v);
	case VMCONFIG_DK_MODE:
		if (ieq(v, vn, "persistent") || ieq(v, vn, "independent-persistent"))
			return 1;
		return bad(why, len, "\"%s\" is not supported yet (only \"persistent\" and "
			   "\"independent-persistent\")", v);
	case VMCONFIG_DK_SHARING:
		if (ieq(v, vn, "none") || ieq(v, vn, "no"))
			d->multi_writer = false;
		else if (ieq(v, vn, "multi-writer"))
			d->multi_writer = true;
		else
			return bad(why, len, "\"%s\" is not \"none\" or \"multi-writer\"", v);
		return 1;
	default:
		return -EINVAL;
	}
}

/*
 * A datastore directory (vmx.directory, sched.swap.dir):
 * "/vmfs/volumes/<label>[/<dir>...]", no "." or "..", no control characters.
 */
static int datastore_dir(char *out, size_t outlen, unsigned *seen, const char *v, size_t vn,
			 unsigned line, char *why, size_t len)
{
	static const char vols[] = "/vmfs/volumes/";
	size_t n = sizeof(vols) - 1;

	if (duplicate(seen, line, why, len))
		return -EINVAL;
	if (vn >= outlen || vn <= n || memcmp(v, vols, n) || v[n] == '/')
		return bad(why, len, "\"%.40s\" is not a datastore directory "
			   "(/vmfs/volumes/<datastore>/<directory>, at most 255 characters)", v);
	for (size_t i = 0; i < vn; i++) {
		bool start = i == 0 || v[i - 1] == '/';
		size_t rest = vn - i;

		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return bad(why, len, "a directory may not hold control characters%s", "");
		if (start && v[i] == '.' && (rest == 1 || v[i + 1] == '/' ||
		    (v[i + 1] == '.' && (rest == 2 || v[i + 2] == '/'))))
			return bad(why, len, "\".\" and \"..\" are not allowed in a directory%s", "");
	}
	memcpy(out, v, vn);
	out[vn] = '\0';
	return 1;
}

int vmconfig_disk_key(struct vm_config *c, const char *key, size_t klen, const char *val,
		      size_t vlen, unsigned int line, char *why, size_t whylen)
{
	size_t i = 4;
	unsigned bus, unit, k;
	struct vmconfig_disk *d;

	if (ieq(key, klen, "vmx.directory"))
		return datastore_dir(c->vmx_dir, sizeof(c->vmx_dir), &c->vmx_dir_line, val, vlen,
				     line, why, whylen);
	if (ieq(key, klen, "sched.swap.dir"))
		return datastore_dir(c->swap_dir, sizeof(c->swap_dir), &c->swap_dir_line, val, vlen,
				     line, why, whylen);
	if (klen < 6 || !ieq(key, 4, "scsi"))
		return 0;
	if (!small_num(key, klen, &i, 100, &bus) || i >= klen)
		return 0;
	if (key[i] == '.') {
		if (bus >= VMCONFIG_SCSI_BUSES)
			return bad(why, whylen, "only scsi0 to scsi3 are supported%s", "");
		return adapter_key(&c->scsi[bus], key + i + 1, klen - i - 1, val, vlen, line, why,
				   whylen);
	}
	if (key[i++] != ':' || !small_num(key, klen, &i, 100, &unit) || i >= klen || key[i] != '.')
		return 0;
	i++;
	for (k = 0; k < VMCONFIG_DK_COUNT; k++) {
		if (ieq(key + i, klen - i, disk_key_names[k]))
			break;
	}
	if (k == VMCONFIG_DK_COUNT)
		return bad(why, whylen, "not supported yet%s", "");
	if (bus >= VMCONFIG_SCSI_BUSES || unit >= VMCONFIG_SCSI_UNITS || unit == 7)
		return bad(why, whylen, "disks are scsi0:0 to scsi3:15, not unit 7 (the adapter's)%s",
			   "");
	d = slot(c, bus, unit);
	if (!d)
		return bad(why, whylen, "more than 8 disks named%s", "");
	if (duplicate(&d->line[k], line, why, whylen))
		return -EINVAL;
	return disk_value(d, k, val, vlen, why, whylen);
}

int vmconfig_disk_finish(struct vm_config *c, char *key, size_t keylen, unsigned int *line,
			 char *why, size_t whylen)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->ndisk_slots; i++) {
		struct vmconfig_disk *d = &c->disks[i];
		const struct vmconfig_scsi *s = &c->scsi[d->bus];

		snprintf(key, keylen, "scsi%u:%u.present", d->bus, d->unit);
		*line = d->line[VMCONFIG_DK_PRESENT];
		if (!d->present) {
			/* present = "FALSE" removes a disk; no present key at all is a mistake */
			if (d->line[VMCONFIG_DK_FILENAME] && !d->line[VMCONFIG_DK_PRESENT]) {
				*line = d->line[VMCONFIG_DK_FILENAME];
				snprintf(key, keylen, "scsi%u:%u.fileName", d->bus, d->unit);
				return bad(why, whylen, "the disk has no present = \"TRUE\"%s", "");
			}
			continue;
		}
		if (!d->file[0])
			return bad(why, whylen, "a present disk needs a fileName%s", "");
		if (!s->present || !s->virtio_blk) {
			snprintf(key, keylen, "scsi%u.%s", d->bus, s->present ? "virtualDev" : "present");
			*line = s->present ? s->dev_line : s->present_line;
			return bad(why, whylen, s->present ? "the adapter of a disk must be "
				   "\"virtio-blk\"%s" : "the adapter of a present disk must be "
				   "present%s", "");
		}
		if (d->file[0] != '/' && !c->vmx_dir[0]) {
			snprintf(key, keylen, "scsi%u:%u.fileName", d->bus, d->unit);
			*line = d->line[VMCONFIG_DK_FILENAME];
			return bad(why, whylen, "\"%.60s\" is relative, and this .vmx has no "
				   "directory on a datastore: set vmx.directory or give "
				   "/vmfs/volumes/<datastore>/<path>", d->file);
		}
		if (n == VMCONFIG_DISKS_MAX)
			return bad(why, whylen, "more than 4 disks%s", "");
		if (n != i)
			c->disks[n] = *d;
		n++;
	}
	c->ndisks = n;
	return 0;
}
