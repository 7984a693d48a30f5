/*
 * GUID Partition Table reader and writer (pure; see include/gpt.h).
 *
 * Everything on the disk is untrusted. A header is used only if its
 * signature, revision, size, CRC32, own LBA, usable range, entry array
 * location, entry size and count all make sense for this disk and the
 * entry array's CRC32 matches; the primary (LBA 1) is tried first, then
 * the backup (last LBA). Entries whose range leaves the usable area or
 * overlaps an earlier entry are skipped with a warning, so one bad entry
 * does not hide the others.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <drivers/gpt.h>

const char GPT_TYPE_VMFS[] = "AA31E02A-400F-11DB-9590-000C2911D1B8";
const char GPT_TYPE_LINUX[] = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
const char GPT_TYPE_EFI[] = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";

static const char SIG[8] = { 'E', 'F', 'I', ' ', 'P', 'A', 'R', 'T' };
#define REVISION 0x00010000u

uint32_t gpt_crc32(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- GUIDs ---- */

static const uint8_t guid_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

void gpt_guid_str(const uint8_t g[16], char out[37])
{
	static const char hexd[] = "0123456789ABCDEF";
	unsigned o = 0;

	for (unsigned i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hexd[g[guid_order[i]] >> 4];
		out[o++] = hexd[g[guid_order[i]] & 0xf];
	}
	out[o] = '\0';
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gpt_guid_parse(const char *s, uint8_t g[16])
{
	unsigned i = 0;

	for (unsigned pos = 0; pos < 36; pos++) {
		int hi, lo;

		if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
			if (s[pos] != '-')
				return -EINVAL;
			continue;
		}
		hi = hexval(s[pos]);
		lo = hi < 0 ? -1 : hexval(s[pos + 1]);
		if (lo < 0)
			return -EINVAL;
		g[guid_order[i++]] = (uint8_t)(hi << 4 | lo);
		pos++;
	}
	return s[36] ? -EINVAL : 0;
}

bool gpt_guid_zero(const uint8_t g[16])
{
	for (unsigned i = 0; i < 16; i++) {
		if (g[i])
			return false;
	}
	return true;
}

static bool guid_is(const uint8_t g[16], const char *text)
{
	uint8_t t[16];

	return !gpt_guid_parse(text, t) && !memcmp(g, t, 16);
}

bool gpt_is_vmfs(const uint8_t type[16])
{
	return guid_is(type, GPT_TYPE_VMFS);
}

const char *gpt_type_name(const uint8_t type[16])
{
	static const struct {
		const char *guid, *name;
	} types[] = {
		{ GPT_TYPE_VMFS, "VMFS" },
		{ GPT_TYPE_LINUX, "Linux" },
		{ GPT_TYPE_EFI, "EFI system" },
		{ "9D275380-40AD-11DB-BF97-000C2911D1B8", "vmkDiagnostic" },
		{ "EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Microsoft basic data" },
		{ "0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap" },
		{ "E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM" },
		{ "21686148-6449-6E6F-744E-656564454649", "BIOS boot" },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (guid_is(type, types[i].guid))
			return types[i].name;
	}
	return NULL;
}

/* ---- reading ---- */

struct hdr {
	uint64_t my_lba, alt_lba, first_usable, last_usable, entries_lba;
	uint32_t nentries, entry_size, entries_crc;
	uint8_t disk_guid[16];
};

static void addwarn(struct gpt_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addwarn(struct gpt_table *t, const char *fmt, ...)
{
	va_list ap;

	if (t->nwarn == GPT_MAX_WARN)
		return;
	va_start(ap, fmt);
	vsnprintf(t->warn[t->nwarn++], sizeof(t->warn[0]), fmt, ap);
	va_end(ap);
}

/* Check one header block; fills h or returns a reason. */
static const char *check_header(const struct gpt_io *io, const uint8_t *b, uint64_t where,
				struct hdr *h)
{
	uint32_t size = (uint32_t)le(b + 12, 4), crc;
	uint8_t tmp[512];
	uint64_t entry_blocks;

	if (memcmp(b, SIG, 8))
		return "no 'EFI PART' signature";
	if ((le(b + 8, 4) >> 16) != 1)
		return "unsupported revision";
	if (size < GPT_HEADER_SIZE || size > io->block_size || size > sizeof(tmp))
		return "bad header size";
	memcpy(tmp, b, size);
	memset(tmp + 16, 0, 4);
	crc = gpt_crc32(0, tmp, size);
	if (crc != le(b + 16, 4))
		return "header CRC32 mismatch";
	h->my_lba = le(b + 24, 8);
	h->alt_lba = le(b + 32, 8);
	h->first_usable = le(b + 40, 8);
	h->last_usable = le(b + 48, 8);
	memcpy(h->disk_guid, b + 56, 16);
	h->entries_lba = le(b + 72, 8);
	h->nentries = (uint32_t)le(b + 80, 4);
	h->entry_size = (uint32_t)le(b + 84, 4);
	h->entries_crc = (uint32_t)le(b + 88, 4);
	if (h->my_lba != where)
		return "header does not point to its own LBA";
	if (h->first_usable > h->last_usable || h->last_usable >= io->blocks || h->first_usable < 2)
		return "usable area outside the disk";
	if (h->entry_size < GPT_ENTRY_SIZE || (h->entry_size & (h->entry_size - 1)))
		return "entry size is not 128 x 2^n";
	if (!h->nentries || (uint64_t)h->nentries * h->entry_size > GPT_MAX_ENTRIES_BYTES)
		return "entry count is 0 or the array is over 1 MiB";
	entry_blocks = ((uint64_t)h->nentries * h->entry_size + io->block_size - 1) / io->block_size;
	if (h->entries_lba < 2 || h->entries_lba + entry_blocks > io->blocks ||
	    (h->entries_lba <= h->last_usable && h->entries_lba + entry_blocks > h->first_usable))
		return "entry array overlaps the usable area or leaves the disk";
	return NULL;
}

static const char *load(const struct gpt_io *io, uint64_t lba, struct hdr *h, uint8_t **entries,
			uint8_t *blk)
{
	const char *why;
	size_t bytes;
	uint64_t nblk;

	if (io->read(io->ctx, lba, 1, blk))
		return "cannot read the header";
	why = check_header(io, blk, lba, h);
	if (why)
		return why;
	bytes = (size_t)h->nentries * h->entry_size;
	nblk = (bytes + io->block_size - 1) / io->block_size;
	*entries = io->alloc(io->ctx, nblk * io->block_size);
	if (!*entries)
		return "out of memory for the entry array";
	if (io->read(io->ctx, h->entries_lba, (uint32_t)nblk, *entries))
		return "cannot read the entry array";
	if (gpt_crc32(0, *entries, bytes) != h->entries_crc)
		return "entry array CRC32 mismatch";
	return NULL;
}

static void utf16_name(const uint8_t *p, char *out)
{
	unsigned o = 0;

	for (unsigned i = 0; i < 36; i++) {
		unsigned c = (unsigned)le(p + 2 * i, 2);

		if (!c)
			break;
		if (c >= 0xd800 && c < 0xe000)
			c = '?';
		if (c < 0x80) {
			out[o++] = (char)c;
		} else if (c < 0x800) {
			out[o++] = (char)(0xc0 | c >> 6);
			out[o++] = (char)(0x80 | (c & 0x3f));
		} else {
			out[o++] = (char)(0xe0 | c >> 12);
			out[o++] = (char)(0x80 | ((c >> 6) & 0x3f));
			out[o++] = (char)(0x80 | (c & 0x3f));
		}
	}
	out[o] = '\0';
}

static void take_entries(struct gpt_table *t, const struct hdr *h, const uint8_t *e)
{
	for (uint32_t i = 0; i < h->nentries; i++) {
		const uint8_t *p = e + (size_t)i * h->entry_size;
		struct gpt_part *pt;
		bool clash = false;

		if (gpt_guid_zero(p))
			continue;
		if (t->nparts == GPT_MAX_PARTS) {
			addwarn(t, "entries after the %uth used one are ignored", GPT_MAX_PARTS);
			return;
		}
		pt = &t->parts[t->nparts];
		pt->index = i + 1;
		memcpy(pt->type, p, 16);
		memcpy(pt->uuid, p + 16, 16);
		pt->first = le(p + 32, 8);
		pt->last = le(p + 40, 8);
		pt->attrs = le(p + 48, 8);
		utf16_name(p + 56, pt->name);
		if (pt->first > pt->last || pt->first < h->first_usable || pt->last > h->last_usable) {
			addwarn(t, "partition %u lies outside the usable area; ignored", i + 1);
			continue;
		}
		for (unsigned j = 0; j < t->nparts; j++)
			clash |= pt->first <= t->parts[j].last && t->parts[j].first <= pt->last;
		if (clash) {
			addwarn(t, "partition %u overlaps an earlier one; ignored", i + 1);
			continue;
		}
		t->nparts++;
	}
}

static bool protective_mbr(const uint8_t *b)
{
	if (b[510] != 0x55 || b[511] != 0xaa)
		return false;
	for (unsigned i = 0; i < 4; i++) {
		if (b[446 + 16 * i + 4] == 0xee)
			return true;
	}
	return false;
}

int gpt_read(const struct gpt_io *io, struct gpt_table *t)
{
	uint8_t *blk, *entries = NULL;
	const char *why1, *why2 = NULL;
	struct hdr h;
	bool pmbr;
	int rc = 0;

	memset(t, 0, sizeof(*t));
	if (io->block_size < 512 || io->blocks < 4) {
		snprintf(t->err, sizeof(t->err), "disk too small for a partition table");
		return -ENOENT;
	}
	blk = io->alloc(io->ctx, io->block_size);
	if (!blk)
		return -ENOMEM;
	if (io->read(io->ctx, 0, 1, blk)) {
		io->free(io->ctx, blk);
		snprintf(t->err, sizeof(t->err), "cannot read block 0");
		return -EIO;
	}
	pmbr = protective_mbr(blk);
	why1 = load(io, 1, &h, &entries, blk);
	if (why1) {
		if (entries)
			io->free(io->ctx, entries);
		entries = NULL;
		why2 = load(io, io->blocks - 1, &h, &entries, blk);
		t->used_backup = true;
	}
	if (why1 && why2) {
		bool none = !strcmp(why1, "no 'EFI PART' signature") &&
			    !strcmp(why2, "no 'EFI PART' signature");

		snprintf(t->err, sizeof(t->err), none ? "no GUID partition table%s" :
			 "primary GPT: %s; backup GPT: %s", none ? (pmbr ? " (protective MBR "
			 "without tables)" : "") : why1, why2);
		rc = none && !pmbr ? -ENOENT : -EINVAL;
		goto out;
	}
	if (!pmbr)
		addwarn(t, "no protective MBR in block 0");
	if (why1)
		addwarn(t, "primary GPT unusable (%s); using the backup", why1);
	t->first_usable = h.first_usable;
	t->last_usable = h.last_usable;
	memcpy(t->disk_guid, h.disk_guid, 16);
	take_entries(t, &h, entries);
	if (!why1) {
		struct hdr b;

		if (io->read(io->ctx, io->blocks - 1, 1, blk) ||
		    check_header(io, blk, io->blocks - 1, &b))
			addwarn(t, "backup GPT header at the last block is missing or damaged");
	}
out:
	if (entries)
		io->free(io->ctx, entries);
	io->free(io->ctx, blk);
	return rc;
}

/* ---- writing ---- */

void gpt_usable(uint32_t block_size, uint64_t blocks, uint64_t *first, uint64_t *last)
{
	uint64_t eb = (GPT_DEFAULT_ENTRIES * GPT_ENTRY_SIZE + block_size - 1) / block_size;

	*first = 2 + eb;
	*last = blocks - 2 - eb;
}

static void name_utf16(const char *s, uint8_t *p)
{
	/* ASCII names only; anything else becomes '?'. */
	for (unsigned i = 0; i < 36 && s[i]; i++)
		put_le(p + 2 * i, (unsigned char)s[i] < 0x80 ? (unsigned char)s[i] : '?', 2);
}

static void header(uint8_t *b, uint64_t my, uint64_t alt, uint64_t first, uint64_t last,
		   const uint8_t guid[16], uint64_t entries_lba, uint32_t entries_crc)
{
	memcpy(b, SIG, 8);
	put_le(b + 8, REVISION, 4);
	put_le(b + 12, GPT_HEADER_SIZE, 4);
	put_le(b + 24, my, 8);
	put_le(b + 32, alt, 8);
	put_le(b + 40, first, 8);
	put_le(b + 48, last, 8);
	memcpy(b + 56, guid, 16);
	put_le(b + 72, entries_lba, 8);
	put_le(b + 80, GPT_DEFAULT_ENTRIES, 4);
	put_le(b + 84, GPT_ENTRY_SIZE, 4);
	put_le(b + 88, entries_crc, 4);
	put_le(b + 16, gpt_crc32(0, b, GPT_HEADER_SIZE), 4);
}

static int check_parts(uint64_t first, uint64_t last, const struct gpt_part *p, unsigned n,
		       char *err, size_t errlen)
{
	for (unsigned i = 0; i < n; i++) {
		if (!p[i].index || p[i].index > GPT_DEFAULT_ENTRIES || p[i].first > p[i].last ||
		    p[i].first < first || p[i].last > last) {
			snprintf(err, errlen, "partition %u (blocks %llu-%llu) is outside the usable "
				 "area %llu-%llu or has a bad number", p[i].index,
				 (unsigned long long)p[i].first, (unsigned long long)p[i].last,
				 (unsigned long long)first, (unsigned long long)last);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			if (p[j].index == p[i].index ||
			    (p[i].first <= p[j].last && p[j].first <= p[i].last)) {
				snprintf(err, errlen, "partitions %u and %u overlap or share a number",
					 p[j].index, p[i].index);
				return -EINVAL;
			}
		}
	}
	return 0;
}

int gpt_write(const struct gpt_io *io, const uint8_t disk_guid[16], const struct gpt_part *parts,
	      unsigned n, char *err, size_t errlen)
{
	uint32_t bs = io->block_size;
	uint64_t first, last, eb = (GPT_DEFAULT_ENTRIES * GPT_ENTRY_SIZE + bs - 1) / bs;
	size_t ebytes = (size_t)eb * bs;
	uint8_t *e, *b;
	uint32_t ecrc;
	int rc;

	if (bs < 512 || io->blocks < 2 * eb + 8) {
		snprintf(err, errlen, "disk of %llu blocks is too small for GPT",
			 (unsigned long long)io->blocks);
		return -EINVAL;
	}
	gpt_usable(bs, io->blocks, &first, &last);
	rc = check_parts(first, last, parts, n, err, errlen);
	if (rc)
		return rc;
	e = io->alloc(io->ctx, ebytes);
	b = io->alloc(io->ctx, bs);
	if (!e || !b) {
		rc = -ENOMEM;
		goto out;
	}
	memset(e, 0, ebytes);
	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = e + (size_t)(parts[i].index - 1) * GPT_ENTRY_SIZE;

		memcpy(p, parts[i].type, 16);
		memcpy(p + 16, parts[i].uuid, 16);
		put_le(p + 32, parts[i].first, 8);
		put_le(p + 40, parts[i].last, 8);
		put_le(p + 48, parts[i].attrs, 8);
		name_utf16(parts[i].name, p + 56);
	}
	ecrc = gpt_crc32(0, e, GPT_DEFAULT_ENTRIES * GPT_ENTRY_SIZE);
	/* Protective MBR: one 0xEE partition covering the disk (capped at 2^32-1 blocks). */
	memset(b, 0, bs);
	b[446 + 1] = 0x00;
	b[446 + 2] = 0x02;
	b[446 + 4] = 0xee;
	b[446 + 5] = 0xff;
	b[446 + 6] = 0xff;
	b[446 + 7] = 0xff;
	put_le(b + 446 + 8, 1, 4);
	put_le(b + 446 + 12, io->blocks - 1 > 0xffffffffu ? 0xffffffffu : io->blocks - 1, 4);
	b[510] = 0x55;
	b[511] = 0xaa;
	rc = io->write(io->ctx, 0, 1, b);
	memset(b, 0, bs);
	header(b, 1, io->blocks - 1, first, last, disk_guid, 2, ecrc);
	if (!rc)
		rc = io->write(io->ctx, 1, 1, b);
	if (!rc)
		rc = io->write(io->ctx, 2, (uint32_t)eb, e);
	if (!rc)
		rc = io->write(io->ctx, io->blocks - 1 - eb, (uint32_t)eb, e);
	memset(b, 0, bs);
	header(b, io->blocks - 1, 1, first, last, disk_guid, io->blocks - 1 - eb, ecrc);
	if (!rc)
		rc = io->write(io->ctx, io->blocks - 1, 1, b);
	if (rc) {
		snprintf(err, errlen, "write failed (%d)", rc);
		rc = -EIO;
	}
out:
	io->free(io->ctx, e);
	io->free(io->ctx, b);
	return rc;
}
