/*
 * Host unit tests for the GPT reader and writer (drivers/block/gpt.c):
 * round trips on 512-byte and 4Kn disks, then one corruption at a time
 * (header and entry CRCs, pointers, sizes, overlapping and out-of-range
 * entries, missing tables) with the expected fallback or error.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <drivers/gpt.h>

static uint8_t *disk;
static uint32_t bs;
static uint64_t nblocks;
static unsigned reads;

static int d_read(void *ctx, uint64_t lba, uint32_t count, void *buf)
{
	(void)ctx;
	reads++;
	if (lba > nblocks || count > nblocks - lba)
		return -EIO;
	memcpy(buf, disk + lba * bs, (size_t)count * bs);
	return 0;
}

static int d_write(void *ctx, uint64_t lba, uint32_t count, const void *buf)
{
	(void)ctx;
	if (lba > nblocks || count > nblocks - lba)
		return -EIO;
	memcpy(disk + lba * bs, buf, (size_t)count * bs);
	return 0;
}

static void *d_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void d_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static struct gpt_io io;
static struct gpt_table *tab;

static void make_disk(uint32_t block_size, uint64_t blocks)
{
	free(disk);
	bs = block_size;
	nblocks = blocks;
	disk = calloc(blocks, block_size);
	io = (struct gpt_io){ NULL, bs, nblocks, d_read, d_write, d_alloc, d_free };
}

static const uint8_t disk_guid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* Two partitions: 1 = VMFS "datastore1", 3 = Linux "scratch". */
static void write_std(void)
{
	struct gpt_part p[2];
	uint64_t first, last;
	char err[160];

	memset(p, 0, sizeof(p));
	gpt_usable(bs, nblocks, &first, &last);
	p[0].index = 1;
	assert_int_equal(gpt_guid_parse(GPT_TYPE_VMFS, p[0].type), 0);
	memset(p[0].uuid, 0xa1, 16);
	p[0].first = first;
	p[0].last = first + 99;
	strcpy(p[0].name, "datastore1");
	p[1].index = 3;
	assert_int_equal(gpt_guid_parse(GPT_TYPE_LINUX, p[1].type), 0);
	memset(p[1].uuid, 0xb2, 16);
	p[1].first = first + 100;
	p[1].last = last;
	strcpy(p[1].name, "scratch");
	assert_int_equal(gpt_write(&io, disk_guid, p, 2, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	(void)state;
	tab = calloc(1, sizeof(*tab));
	make_disk(512, 4096);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(tab);
	free(disk);
	disk = NULL;
	return 0;
}

static void put32(uint64_t off, uint32_t v)
{
	memcpy(disk + off, &v, 4);
}

static void put64(uint64_t off, uint64_t v)
{
	memcpy(disk + off, &v, 8);
}

/* Recompute the CRC of the header at lba after a deliberate change. */
static void fix_header_crc(uint64_t lba)
{
	uint8_t *h = disk + lba * bs;

	put32(lba * bs + 16, 0);
	put32(lba * bs + 16, gpt_crc32(0, h, 92));
}

static void test_round_trip_512(void **state)
{
	char g[37];

	(void)state;
	write_std();
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_int_equal(tab->nparts, 2);
	assert_false(tab->used_backup);
	assert_int_equal(tab->nwarn, 0);
	assert_memory_equal(tab->disk_guid, disk_guid, 16);
	assert_int_equal(tab->parts[0].index, 1);
	assert_true(gpt_is_vmfs(tab->parts[0].type));
	assert_string_equal(tab->parts[0].name, "datastore1");
	assert_int_equal(tab->parts[0].first, 34);
	assert_int_equal(tab->parts[0].last, 133);
	assert_int_equal(tab->parts[1].index, 3);
	assert_string_equal(gpt_type_name(tab->parts[1].type), "Linux");
	assert_int_equal(tab->parts[1].last, 4096 - 34);
	gpt_guid_str(tab->parts[0].type, g);
	assert_string_equal(g, GPT_TYPE_VMFS);
}

static void test_round_trip_4k(void **state)
{
	(void)state;
	make_disk(4096, 1024);
	write_std();
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_int_equal(tab->nparts, 2);
	/* 128 entries of 128 bytes fill 4 blocks of 4 KiB: usable from block 6. */
	assert_int_equal(tab->first_usable, 6);
	assert_int_equal(tab->last_usable, 1024 - 6);
	assert_int_equal(tab->parts[0].first, 6);
}

static void test_no_gpt(void **state)
{
	(void)state;
	assert_int_equal(gpt_read(&io, tab), -ENOENT);
	assert_non_null(strstr(tab->err, "no GUID partition table"));
}

static void test_primary_header_crc(void **state)
{
	(void)state;
	write_std();
	disk[512 + 40] ^= 1;	/* first usable LBA, CRC now wrong */
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_true(tab->used_backup);
	assert_int_equal(tab->nparts, 2);
	assert_non_null(strstr(tab->warn[0], "header CRC32 mismatch"));
}

static void test_primary_entries_crc(void **state)
{
	(void)state;
	write_std();
	disk[2 * 512 + 56] ^= 0x20;	/* a name character in the primary array */
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_true(tab->used_backup);
	assert_string_equal(tab->parts[0].name, "datastore1");
	assert_non_null(strstr(tab->warn[0], "entry array CRC32"));
}

static void test_both_damaged(void **state)
{
	(void)state;
	write_std();
	disk[512 + 40] ^= 1;
	disk[(nblocks - 1) * 512 + 40] ^= 1;
	assert_int_equal(gpt_read(&io, tab), -EINVAL);
	assert_non_null(strstr(tab->err, "primary GPT: header CRC32 mismatch"));
	assert_non_null(strstr(tab->err, "backup GPT: header CRC32 mismatch"));
}

static void test_backup_damaged_warns(void **state)
{
	(void)state;
	write_std();
	memset(disk + (nblocks - 1) * 512, 0, 512);
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_false(tab->used_backup);
	assert_int_equal(tab->nwarn, 1);
	assert_non_null(strstr(tab->warn[0], "backup GPT header"));
}

static void test_no_pmbr_warns(void **state)
{
	(void)state;
	write_std();
	memset(disk, 0, 512);
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_non_null(strstr(tab->warn[0], "protective MBR"));
}

static void test_wrong_my_lba(void **state)
{
	(void)state;
	write_std();
	put64(512 + 24, 7);
	fix_header_crc(1);
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_true(tab->used_backup);
	assert_non_null(strstr(tab->warn[0], "own LBA"));
}

static void test_huge_entry_count(void **state)
{
	(void)state;
	write_std();
	put32(512 + 80, 0x10000000);	/* 2^28 entries: 32 GiB of array */
	fix_header_crc(1);
	put32((nblocks - 1) * 512 + 80, 0x10000000);
	fix_header_crc(nblocks - 1);
	assert_int_equal(gpt_read(&io, tab), -EINVAL);
	assert_non_null(strstr(tab->err, "over 1 MiB"));
}

static void test_bad_entry_size(void **state)
{
	(void)state;
	write_std();
	put32(512 + 84, 100);
	fix_header_crc(1);
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_true(tab->used_backup);
	assert_non_null(strstr(tab->warn[0], "entry size"));
}

static void test_header_size(void **state)
{
	(void)state;
	write_std();
	put32(512 + 12, 4096);	/* larger than the block */
	fix_header_crc(1);
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_true(tab->used_backup);
	assert_non_null(strstr(tab->warn[0], "header size"));
}

static void test_usable_beyond_disk(void **state)
{
	(void)state;
	write_std();
	put64(512 + 48, nblocks + 10);
	fix_header_crc(1);
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_true(tab->used_backup);
	assert_non_null(strstr(tab->warn[0], "usable area"));
}

static void test_entries_overlap_usable(void **state)
{
	(void)state;
	write_std();
	put64(512 + 72, 40);	/* entry array inside the usable area */
	fix_header_crc(1);
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_true(tab->used_backup);
	assert_non_null(strstr(tab->warn[0], "entry array overlaps"));
}

/* Change entry i of both arrays and fix their CRCs and the headers. */
static void edit_entry(unsigned i, unsigned field, uint64_t v)
{
	uint64_t arrays[2] = { 2, nblocks - 33 };

	for (int k = 0; k < 2; k++) {
		uint64_t base = arrays[k] * 512;

		put64(base + i * 128 + field, v);
		put32((k ? nblocks - 1 : 1) * 512 + 88, gpt_crc32(0, disk + base, 128 * 128));
		fix_header_crc(k ? nblocks - 1 : 1);
	}
}

static void test_partition_out_of_range(void **state)
{
	(void)state;
	write_std();
	edit_entry(2, 40, nblocks + 5);	/* partition 3's last LBA */
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_false(tab->used_backup);
	assert_int_equal(tab->nparts, 1);
	assert_non_null(strstr(tab->warn[0], "partition 3 lies outside"));
}

static void test_partition_overlap(void **state)
{
	(void)state;
	write_std();
	edit_entry(2, 32, 100);	/* partition 3 now starts inside partition 1 */
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_int_equal(tab->nparts, 1);
	assert_int_equal(tab->parts[0].index, 1);
	assert_non_null(strstr(tab->warn[0], "partition 3 overlaps"));
}

static void test_first_after_last(void **state)
{
	(void)state;
	write_std();
	edit_entry(0, 32, 200);	/* first 200 > last 133 */
	assert_int_equal(gpt_read(&io, tab), 0);
	assert_int_equal(tab->nparts, 1);
	assert_int_equal(tab->parts[0].index, 3);
}

static void test_truncated_disk(void **state)
{
	(void)state;
	write_std();
	/* The disk shrank (a LUN resized down): primary still fine, but its range is not. */
	io.blocks = 2048;
	nblocks = 2048;
	assert_int_equal(gpt_read(&io, tab), -EINVAL);
	assert_non_null(strstr(tab->err, "usable area outside the disk"));
}

static void test_write_rejects(void **state)
{
	struct gpt_part p[2];
	char err[160];

	(void)state;
	memset(p, 0, sizeof(p));
	p[0] = (struct gpt_part){ .index = 1, .first = 34, .last = 100 };
	p[1] = (struct gpt_part){ .index = 2, .first = 90, .last = 200 };
	assert_int_equal(gpt_write(&io, disk_guid, p, 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "overlap"));
	p[1].first = 101;
	p[1].last = nblocks;
	assert_int_equal(gpt_write(&io, disk_guid, p, 2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "outside the usable area"));
}

static void test_guid_text(void **state)
{
	uint8_t g[16];
	char s[37];

	(void)state;
	assert_int_equal(gpt_guid_parse("aa31e02a-400f-11db-9590-000c2911d1b8", g), 0);
	assert_int_equal(g[0], 0x2a);	/* first field little-endian on disk */
	assert_int_equal(g[8], 0x95);	/* last two fields big-endian */
	gpt_guid_str(g, s);
	assert_string_equal(s, GPT_TYPE_VMFS);
	assert_int_equal(gpt_guid_parse("AA31E02A-400F-11DB-9590-000C2911D1B", g), -EINVAL);
	assert_int_equal(gpt_guid_parse("AA31E02A+400F-11DB-9590-000C2911D1B8", g), -EINVAL);
	assert_int_equal(gpt_guid_parse("AA31E02A-400F-11DB-9590-000C2911D1BX", g), -EINVAL);
	assert_int_equal(gpt_crc32(0, "123456789", 9), 0xcbf43926u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_512, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_trip_4k, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_gpt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_primary_header_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_primary_entries_crc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_both_damaged, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backup_damaged_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_pmbr_warns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_my_lba, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_entry_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_entry_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_header_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usable_beyond_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entries_overlap_usable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partition_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partition_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_after_last, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guid_text, setup, teardown),
	};

	return cmocka_run_group_tests_name("gpt", tests, NULL, NULL);
}
