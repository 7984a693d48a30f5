/*
 * mkdisk: make and inspect GPT disk images for the vmkernel's storage
 * tests and for real disks (the same GPT code as the vmkernel:
 * drivers/block/gpt.c).
 *
 *   mkdisk create DISK SIZE [-b 512|4096] PART...   PART = NAME:TYPE:SIZE[:FILE]
 *                 (DISK a block device: SIZE is "-", the device's own size)
 *   mkdisk list DISK [-b 512|4096]
 *   mkdisk extract DISK N FILE [-b ...]            copy partition N out
 *   mkdisk insert DISK N FILE [-b ...]             copy FILE into partition N
 *
 * TYPE is vmfs, linux, efi or a GUID; SIZE takes k/m/g suffixes, or
 * "rest" for the remaining space. Partitions start on 1 MiB boundaries.
 * Exit status: 0 ok, 1 failed, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <drivers/gpt.h>

struct disk {
	int fd;
	uint32_t bs;
	uint64_t blocks;
};

static int d_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	struct disk *d = ctx;
	size_t n = (size_t)count * d->bs;

	return pread(d->fd, buf, n, (off_t)(lba * d->bs)) == (ssize_t)n ? 0 : -EIO;
}

static int d_write(void *ctx, uint64_t lba, uint32_t count, const void *buf)
{
	struct disk *d = ctx;
	size_t n = (size_t)count * d->bs;

	return pwrite(d->fd, buf, n, (off_t)(lba * d->bs)) == (ssize_t)n ? 0 : -EIO;
}

static void *d_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return calloc(1, n ? n : 1);
}

static void d_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static int usage(void)
{
	fprintf(stderr, "usage: mkdisk create DISK SIZE [-b 512|4096] NAME:TYPE:SIZE[:FILE]...\n"
			"       mkdisk list DISK [-b 512|4096]\n"
			"       mkdisk extract|insert DISK N FILE [-b 512|4096]\n");
	return 2;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_type(const char *s, uint8_t g[16])
{
	if (!strcmp(s, "vmfs"))
		s = GPT_TYPE_VMFS;
	else if (!strcmp(s, "linux"))
		s = GPT_TYPE_LINUX;
	else if (!strcmp(s, "efi"))
		s = GPT_TYPE_EFI;
	return gpt_guid_parse(s, g);
}

static void random_guid(uint8_t g[16])
{
	int fd = open("/dev/urandom", O_RDONLY);

	if (fd < 0 || read(fd, g, 16) != 16)
		for (int i = 0; i < 16; i++)
			g[i] = (uint8_t)rand();
	if (fd >= 0)
		close(fd);
	g[7] = (uint8_t)((g[7] & 0x0f) | 0x40);	/* version 4 */
	g[8] = (uint8_t)((g[8] & 0x3f) | 0x80);
}

static int copy(int from, off_t foff, int to, off_t toff, uint64_t len)
{
	static char buf[1 << 20];

	while (len) {
		size_t n = len < sizeof(buf) ? (size_t)len : sizeof(buf);
		ssize_t r = pread(from, buf, n, foff);

		if (r <= 0)
			return -1;
		if (pwrite(to, buf, (size_t)r, toff) != r)
			return -1;
		foff += r;
		toff += r;
		len -= (uint64_t)r;
	}
	return 0;
}

static int open_disk(const char *path, uint32_t bs, struct disk *d, int flags)
{
	struct stat st;

	d->fd = open(path, flags);
	if (d->fd < 0 || fstat(d->fd, &st)) {
		fprintf(stderr, "mkdisk: %s: %s\n", path, strerror(errno));
		return -1;
	}
	d->bs = bs;
	d->blocks = (uint64_t)st.st_size / bs;
	return 0;
}

static int create(int argc, char **argv, uint32_t bs)
{
	struct gpt_part parts[GPT_DEFAULT_ENTRIES];
	const char *files[GPT_DEFAULT_ENTRIES];
	uint64_t size, first, last, next, align;
	struct disk d;
	uint8_t guid[16];
	char err[200];
	unsigned n = 0;

	struct stat st;

	if (argc < 2)
		return usage();
	if (!stat(argv[0], &st) && S_ISBLK(st.st_mode)) {
		/* A real disk: its own size; SIZE must be "-". */
		if (strcmp(argv[1], "-"))
			return usage();
		d.fd = open(argv[0], O_RDWR);
		size = d.fd < 0 ? 0 : (uint64_t)lseek(d.fd, 0, SEEK_END);
	} else {
		if (parse_size(argv[1], &size) || size % bs)
			return usage();
		d.fd = open(argv[0], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (d.fd >= 0 && ftruncate(d.fd, (off_t)size))
			size = 0;
	}
	if (d.fd < 0 || !size) {
		fprintf(stderr, "mkdisk: %s: %s\n", argv[0], strerror(errno));
		return 1;
	}
	d.bs = bs;
	d.blocks = size / bs;
	align = (1u << 20) / bs;
	gpt_usable(bs, d.blocks, &first, &last);
	next = (first + align - 1) / align * align;
	for (int i = 2; i < argc; i++, n++) {
		char *spec = strdup(argv[i]), *name = strtok(spec, ":"), *type = strtok(NULL, ":");
		char *sz = strtok(NULL, ":"), *file = strtok(NULL, "");
		uint64_t bytes;

		if (!name || !type || !sz || parse_type(type, parts[n].type) ||
		    (strcmp(sz, "rest") && (parse_size(sz, &bytes) || !bytes || bytes % bs))) {
			fprintf(stderr, "mkdisk: bad partition '%s'\n", argv[i]);
			return 2;
		}
		parts[n].index = n + 1;
		random_guid(parts[n].uuid);
		parts[n].first = next;
		parts[n].last = strcmp(sz, "rest") ? next + bytes / bs - 1 : last;
		parts[n].attrs = 0;
		snprintf(parts[n].name, sizeof(parts[n].name), "%s", name);
		files[n] = file;
		next = (parts[n].last + 1 + align - 1) / align * align;
	}
	random_guid(guid);
	{
		struct gpt_io io = { &d, bs, d.blocks, d_read, d_write, d_alloc, d_free };

		if (gpt_write(&io, guid, parts, n, err, sizeof(err))) {
			fprintf(stderr, "mkdisk: %s\n", err);
			return 1;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct stat st;
		int fd;

		if (!files[i])
			continue;
		fd = open(files[i], O_RDONLY);
		if (fd < 0 || fstat(fd, &st) ||
		    (uint64_t)st.st_size > (parts[i].last - parts[i].first + 1) * bs ||
		    copy(fd, 0, d.fd, (off_t)(parts[i].first * bs), (uint64_t)st.st_size)) {
			fprintf(stderr, "mkdisk: %s: cannot copy into partition %u (missing, or "
				"larger than the partition)\n", files[i], i + 1);
			return 1;
		}
		close(fd);
	}
	return close(d.fd) ? 1 : 0;
}

static int read_table(struct disk *d, struct gpt_table *t)
{
	struct gpt_io io = { d, d->bs, d->blocks, d_read, d_write, d_alloc, d_free };
	int rc = gpt_read(&io, t);

	for (unsigned i = 0; i < t->nwarn; i++)
		fprintf(stderr, "mkdisk: warning: %s\n", t->warn[i]);
	if (rc)
		fprintf(stderr, "mkdisk: %s\n", t->err);
	return rc;
}

static int list(const char *path, uint32_t bs)
{
	struct gpt_table *t = calloc(1, sizeof(*t));
	struct disk d;
	char g[37];

	if (!t || open_disk(path, bs, &d, O_RDONLY) || read_table(&d, t))
		return 1;
	gpt_guid_str(t->disk_guid, g);
	printf("disk %s: %llu blocks of %u bytes, GUID %s%s\n", path,
	       (unsigned long long)d.blocks, bs, g, t->used_backup ? " (backup table)" : "");
	for (unsigned i = 0; i < t->nparts; i++) {
		const char *tn = gpt_type_name(t->parts[i].type);

		gpt_guid_str(t->parts[i].type, g);
		printf("%u %-12s %-20s %llu-%llu (%llu MiB)\n", t->parts[i].index, tn ? tn : g,
		       t->parts[i].name, (unsigned long long)t->parts[i].first,
		       (unsigned long long)t->parts[i].last,
		       (unsigned long long)((t->parts[i].last - t->parts[i].first + 1) * bs >> 20));
	}
	return 0;
}

static int xfer(const char *path, const char *nstr, const char *file, uint32_t bs, bool out)
{
	struct gpt_table *t = calloc(1, sizeof(*t));
	unsigned idx = (unsigned)atoi(nstr);
	struct disk d;
	int fd;

	if (!t || open_disk(path, bs, &d, out ? O_RDONLY : O_RDWR) || read_table(&d, t))
		return 1;
	for (unsigned i = 0; i < t->nparts; i++) {
		const struct gpt_part *p = &t->parts[i];
		uint64_t bytes = (p->last - p->first + 1) * bs;
		struct stat st;

		if (p->index != idx)
			continue;
		fd = out ? open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644) : open(file, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "mkdisk: %s: %s\n", file, strerror(errno));
			return 1;
		}
		if (!out && (fstat(fd, &st) || (uint64_t)st.st_size > bytes)) {
			fprintf(stderr, "mkdisk: %s is larger than partition %u\n", file, idx);
			return 1;
		}
		if (out ? copy(d.fd, (off_t)(p->first * bs), fd, 0, bytes) :
		    copy(fd, 0, d.fd, (off_t)(p->first * bs), (uint64_t)st.st_size)) {
			fprintf(stderr, "mkdisk: copy failed: %s\n", strerror(errno));
			return 1;
		}
		return close(fd) || close(d.fd) ? 1 : 0;
	}
	fprintf(stderr, "mkdisk: %s has no partition %u\n", path, idx);
	return 1;
}

int main(int argc, char **argv)
{
	uint32_t bs = 512;
	int n = 0;
	char *args[256];

	for (int i = 1; i < argc && n < 256; i++) {
		if (!strcmp(argv[i], "-b") && i + 1 < argc) {
			bs = (uint32_t)atoi(argv[++i]);
			if (bs != 512 && bs != 4096)
				return usage();
		} else {
			args[n++] = argv[i];
		}
	}
	if (n >= 3 && !strcmp(args[0], "create"))
		return create(n - 1, args + 1, bs);
	if (n == 2 && !strcmp(args[0], "list"))
		return list(args[1], bs);
	if (n == 4 && (!strcmp(args[0], "extract") || !strcmp(args[0], "insert")))
		return xfer(args[1], args[2], args[3], bs, !strcmp(args[0], "extract"));
	return usage();
}
