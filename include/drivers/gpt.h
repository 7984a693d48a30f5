/*
 * GUID Partition Tables (UEFI 2.10, chapter 5.3): reading with every
 * check the specification asks for, falling back to the backup table,
 * and writing a fresh table (host tools and tests). Pure code: the disk
 * is reached through struct gpt_io, so it builds for the vmkernel and for
 * the host alike.
 */
#ifndef GPT_H
#define GPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GPT_MAX_PARTS		128	/* non-empty entries kept */
#define GPT_MAX_ENTRIES_BYTES	(1u << 20)
#define GPT_DEFAULT_ENTRIES	128
#define GPT_ENTRY_SIZE		128
#define GPT_HEADER_SIZE		92
#define GPT_NAME_UTF8		(36 * 3 + 1)

struct gpt_io {
	void *ctx;
	uint32_t block_size;		/* 512 or 4096 (any power of two >= 512) */
	uint64_t blocks;
	int (*read)(void *ctx, uint64_t lba, uint32_t count, void *buf);
	int (*write)(void *ctx, uint64_t lba, uint32_t count, const void *buf);	/* gpt_write only */
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p);
};

struct gpt_part {
	unsigned index;			/* 1-based entry number */
	uint8_t type[16];		/* on-disk GUID byte order */
	uint8_t uuid[16];
	uint64_t first, last;		/* inclusive, in blocks */
	uint64_t attrs;
	char name[GPT_NAME_UTF8];	/* UTF-8 */
};

#define GPT_MAX_WARN 4

struct gpt_table {
	uint8_t disk_guid[16];
	uint64_t first_usable, last_usable;
	unsigned nparts;
	struct gpt_part parts[GPT_MAX_PARTS];
	bool used_backup;		/* the primary table was damaged */
	unsigned nwarn;
	char warn[GPT_MAX_WARN][160];
	char err[240];
};

/*
 * Read the table. 0: parts[] filled (warnings in warn[]); -ENOENT: no GPT
 * on the disk (err says what was found); -EINVAL: a GPT that is damaged
 * beyond use (err names every problem); -EIO / -ENOMEM from the io.
 */
int gpt_read(const struct gpt_io *io, struct gpt_table *out);

/*
 * Write a protective MBR, the primary and the backup tables for parts[]
 * (index, type, uuid, first, last, attrs, name). Partitions must lie in
 * the usable area and not overlap. 0 or -EINVAL (err) / -EIO.
 */
int gpt_write(const struct gpt_io *io, const uint8_t disk_guid[16], const struct gpt_part *parts,
	      unsigned n, char *err, size_t errlen);
/* First and last usable block of a disk with the default 128-entry tables. */
void gpt_usable(uint32_t block_size, uint64_t blocks, uint64_t *first, uint64_t *last);

uint32_t gpt_crc32(uint32_t crc, const void *buf, size_t len);
/* "AA31E02A-400F-11DB-9590-000C2911D1B8" <-> on-disk bytes. */
void gpt_guid_str(const uint8_t g[16], char out[37]);
int gpt_guid_parse(const char *s, uint8_t g[16]);
bool gpt_guid_zero(const uint8_t g[16]);
/* "VMFS", "Linux", "EFI system", ... or NULL. */
const char *gpt_type_name(const uint8_t type[16]);
bool gpt_is_vmfs(const uint8_t type[16]);

extern const char GPT_TYPE_VMFS[];		/* VMware VMFS */
extern const char GPT_TYPE_LINUX[];		/* Linux filesystem data */
extern const char GPT_TYPE_EFI[];		/* EFI system partition */

#endif
