/*
 * Corrupted and hostile images: bit flips in each on-disk structure, hostile
 * field values with valid checksums (huge sizes, pointer loops, bad counts),
 * and random bit flips. Mount and fsck must return clear errors or report the
 * problem naming the structure; nothing may crash (ASan/UBSan) or hang.
 * Also: fsck --repair fixes what it claims to repair.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"

static struct memdev *golden;
static struct vmfs_volhdr ghdr;

static int build_golden(void **state)
{
	struct vmfs_volume *vol;
	uint8_t *buf = malloc(3 * MIB);

	(void)state;
	golden = tl_format(64 * MIB, 0, 4);
	vol = tl_mount(golden, 1);
	tl_fill(buf, 3 * MIB, 11);
	assert_int_equal(vmfs_mkdir(vol, "/dir", 0755), 0);
	tl_write_file(vol, "/dir/inline", buf, 0, 1000);
	tl_write_file(vol, "/dir/sub", buf, 0, 30000);
	tl_write_file(vol, "/dir/big", buf, 0, 3 * MIB);
	tl_write_file(vol, "/sparse", buf, 0, 4096);
	tl_write_file(vol, "/sparse", buf, 300 * MIB, 4096);	/* single indirect */
	assert_int_equal(vmfs_vmdk_create(vol, "/d.vmdk", 8 * MIB, VMFS_ALLOC_THIN, NULL), 0);
	ghdr = *vmfs_header(vol);
	assert_int_equal(vmfs_unmount(vol), 0);
	assert_int_equal(tl_fsck(golden, false), 0);
	free(buf);
	return 0;
}

static int free_golden(void **state)
{
	(void)state;
	memdev_free(golden);
	return 0;
}

static uint32_t fd_of(const char *path)
{
	struct vmfs_volume *vol = tl_mount(golden, 1);
	struct vmfs_stat st;

	assert_int_equal(vmfs_stat(vol, path, &st), 0);
	vmfs_unmount(vol);
	return st.fd;
}

static uint64_t fd_payload(uint32_t fd)
{
	return ghdr.reg[VMFS_RES_FD].res_off + (uint64_t)fd * VMFS_MD_BLOCK + VMFS_SECTOR;
}

static void flip(struct memdev *m, uint64_t off, uint8_t mask)
{
	uint8_t b;

	memdev_rw(m, off, &b, 1, false);
	b ^= mask;
	memdev_rw(m, off, &b, 1, true);
}

/* Read a structure, let fn change it, fix its checksum, write it back. */
static void patch(struct memdev *m, uint64_t off, size_t len, void (*fn)(void *p, void *arg),
		  void *arg)
{
	uint8_t *p = malloc(len);

	memdev_rw(m, off, p, len, false);
	fn(p, arg);
	((uint32_t *)p)[1] = 0;
	((uint32_t *)p)[1] = vmfs_crc32c(0, p, len);
	memdev_rw(m, off, p, len, true);
	free(p);
}

static int walk_fn(void *arg, const char *name, const struct vmfs_stat *st);

/* Mount read-only and read everything reachable; errors are fine, crashes are not. */
static void read_all(struct vmfs_volume *vol, const char *dir, int depth)
{
	struct { struct vmfs_volume *vol; const char *dir; int depth; } a = { vol, dir, depth };

	if (depth < 8)
		vmfs_readdir(vol, dir, walk_fn, &a);
}

static int walk_fn(void *arg, const char *name, const struct vmfs_stat *st)
{
	struct { struct vmfs_volume *vol; const char *dir; int depth; } *a = arg;
	char path[600];
	uint8_t buf[8192];
	uint64_t d;
	struct vmfs_file *f;

	snprintf(path, sizeof(path), "%s/%s", strcmp(a->dir, "/") ? a->dir : "", name);
	if (st->type == VMFS_FT_DIR) {
		read_all(a->vol, path, a->depth + 1);
	} else if (!vmfs_open(a->vol, path, VMFS_O_READ, 0, &f)) {
		vmfs_read(f, 0, buf, sizeof(buf));
		vmfs_read(f, st->size > 4096 ? st->size - 4096 : 0, buf, sizeof(buf));
		vmfs_seek_data(f, 0, &d);
		vmfs_close(f);
	}
	return 0;
}

/* Returns fsck problems (1000 if it could not run) and checks the message. */
static unsigned check_image(struct memdev *m, const char *expect)
{
	struct vmfs_fsck_result res = { 0 };
	struct vmfs_volume *vol;
	struct vmfs_env env;
	char err[256] = "";
	int rc;

	memdev_env(&env, 5);
	if (!vmfs_mount(&m->dev, &env, VMFS_MOUNT_RDONLY, &vol, err, sizeof(err))) {
		read_all(vol, "/", 0);
		vmfs_unmount(vol);
	}
	rc = vmfs_fsck(&m->dev, &env, 0, &res, err, sizeof(err));
	if (expect) {
		const char *msg = rc ? err : res.first;

		if (!strstr(msg, expect))
			fail_msg("expected '%s' in '%s'", expect, msg);
	}
	return rc ? 1000 : res.problems;
}

static void test_flip_fd(void **state)
{
	struct memdev *m = memdev_clone(golden);

	(void)state;
	flip(m, fd_payload(fd_of("/dir/big")) + 40, 0x10);	/* size field */
	assert_true(check_image(m, "file descriptor") > 0);
	memdev_free(m);
}

static void test_flip_root(void **state)
{
	struct memdev *m = memdev_clone(golden);
	struct vmfs_volume *vol;
	struct vmfs_env env;
	char err[256];

	(void)state;
	flip(m, fd_payload(ghdr.root_fd) + 2000, 1);
	memdev_env(&env, 1);
	assert_int_equal(vmfs_mount(&m->dev, &env, 0, &vol, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "descriptor 1"));
	assert_int_equal(check_image(m, "checksum"), 1000);
	memdev_free(m);
}

static void test_flip_cluster(void **state)
{
	struct memdev *m = memdev_clone(golden);
	struct vmfs_fsck_result res = { 0 };
	struct vmfs_env env;
	char err[256];

	(void)state;
	flip(m, ghdr.reg[VMFS_RES_FB].hdr_off + VMFS_SECTOR + 40, 0x01);	/* bitmap */
	assert_true(check_image(m, "file-block cluster 0") > 0);
	memdev_env(&env, 1);
	assert_int_equal(vmfs_fsck(&m->dev, &env, VMFS_FSCK_REPAIR, &res, err, sizeof(err)), 0);
	assert_true(res.repaired >= 1);
	assert_int_equal(tl_fsck(m, false), 0);			/* rebuilt from references */
	memdev_free(m);
}

static void set_pb_self(void *p, void *arg)
{
	struct vmfs_pb *pb = p;

	(void)arg;
	pb->ent[0] = VMFS_ADDR_VALID | 0;	/* names pointer block 0 as data */
	pb->ent[1] = VMFS_ADDR_VALID | (1ull << 40);	/* out of range */
}

static void test_pointer_block(void **state)
{
	struct memdev *m = memdev_clone(golden);
	uint64_t pb0 = ghdr.reg[VMFS_RES_PB].res_off;

	(void)state;
	flip(m, pb0 + 3000, 0x80);
	assert_true(check_image(m, "pointer block") > 0);
	memdev_free(m);
	m = memdev_clone(golden);
	patch(m, pb0, VMFS_MD_BLOCK, set_pb_self, NULL);
	assert_true(check_image(m, NULL) > 0);
	memdev_free(m);
}

static void set_huge_size(void *p, void *arg)
{
	(void)arg;
	((struct vmfs_fd *)p)->size = ~0ull;
}

static void set_loop(void *p, void *arg)
{
	struct vmfs_fd *f = p;

	f->addr[VMFS_IND2] = f->addr[VMFS_IND1];	/* level-1 block used as level 2 */
	f->addr[VMFS_IND3] = f->addr[VMFS_IND1];
	(void)arg;
}

static void set_dup_block(void *p, void *arg)
{
	struct vmfs_fd *f = p;

	f->addr[1] = f->addr[0];	/* the same file block twice */
	(void)arg;
}

static void test_hostile_fd_fields(void **state)
{
	struct memdev *m = memdev_clone(golden);
	uint64_t big = fd_payload(fd_of("/dir/big")), sparse = fd_payload(fd_of("/sparse"));

	(void)state;
	patch(m, big, VMFS_MD_PAYLOAD, set_huge_size, NULL);
	assert_true(check_image(m, "size out of range") > 0);
	memdev_free(m);
	m = memdev_clone(golden);
	patch(m, sparse, VMFS_MD_PAYLOAD, set_loop, NULL);
	assert_true(check_image(m, NULL) > 0);
	memdev_free(m);
	m = memdev_clone(golden);
	patch(m, big, VMFS_MD_PAYLOAD, set_dup_block, NULL);
	assert_true(check_image(m, "referenced twice") > 0);
	memdev_free(m);
}

static void set_nused(void *p, void *arg)
{
	(void)arg;
	((struct vmfs_dirblk *)p)->nused = 200;
}

static void set_gen(void *p, void *arg)
{
	(void)arg;
	((struct vmfs_dirblk *)p)->ent[0].gen += 7;
}

static void test_directory_block(void **state)
{
	struct memdev *m = memdev_clone(golden);
	uint64_t sb0 = ghdr.reg[VMFS_RES_SB].res_off;	/* root's first directory block */
	struct vmfs_fsck_result res = { 0 };
	struct vmfs_env env;
	char err[256];

	(void)state;
	patch(m, sb0, VMFS_MD_BLOCK, set_nused, NULL);
	assert_true(check_image(m, "directory 1 block 0") > 0);
	memdev_free(m);
	m = memdev_clone(golden);
	patch(m, sb0, VMFS_MD_BLOCK, set_gen, NULL);
	assert_true(check_image(m, "disagrees with descriptor") > 0);
	memdev_env(&env, 1);
	assert_int_equal(vmfs_fsck(&m->dev, &env, VMFS_FSCK_REPAIR, &res, err, sizeof(err)), 0);
	assert_true(res.repaired >= 1);
	assert_int_equal(tl_fsck(m, false), 0);		/* entry dropped, leaks freed */
	memdev_free(m);
}

static void test_header_backup_repair(void **state)
{
	struct memdev *m = memdev_clone(golden);
	struct vmfs_fsck_result res = { 0 };
	struct vmfs_env env;
	char err[256];

	(void)state;
	flip(m, 120, 0x40);
	assert_int_equal(check_image(m, "backup copy"), 1000);
	memdev_env(&env, 1);
	assert_int_equal(vmfs_fsck(&m->dev, &env, VMFS_FSCK_REPAIR, &res, err, sizeof(err)), 0);
	assert_non_null(strstr(res.first, "restored from the backup"));
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

static void test_journal_and_heartbeat(void **state)
{
	struct memdev *m = memdev_clone(golden);
	struct vmfs_volume *vol;
	struct vmfs_env env;
	char err[256];

	(void)state;
	for (uint32_t s = 0; s < ghdr.max_hosts; s++)	/* every journal header */
		flip(m, ghdr.journal_off + (uint64_t)s * ghdr.journal_blocks * VMFS_MD_BLOCK + 20,
		     0x02);
	memdev_env(&env, 1);
	assert_int_equal(vmfs_mount(&m->dev, &env, 0, &vol, err, sizeof(err)), -EIO);
	assert_non_null(strstr(err, "journal of slot"));
	assert_true(check_image(m, "journal of slot 0") > 0);
	memdev_free(m);
	m = memdev_clone(golden);
	flip(m, ghdr.hb_off + 2 * VMFS_SECTOR + 30, 0x02);	/* never-used slot 2 */
	assert_true(check_image(m, "heartbeat slot 2") > 0);
	vol = tl_mount(m, 1);				/* still mountable */
	vmfs_unmount(vol);
	memdev_free(m);
}

static void test_random_flips(void **state)
{
	uint64_t meta_end = ghdr.reg[VMFS_RES_SB].res_off + 4 * ghdr.reg[VMFS_RES_SB].res_size;
	uint32_t seed = 12345;
	unsigned detected = 0;

	(void)state;
	for (int i = 0; i < 150; i++) {
		struct memdev *m = memdev_clone(golden);
		uint64_t off;

		for (int j = 0; j < 1 + i % 4; j++) {
			seed = seed * 1103515245u + 12345u;
			off = ((uint64_t)seed << 13 ^ seed) % meta_end;
			flip(m, off, (uint8_t)(1u << (seed % 8)));
		}
		detected += check_image(m, NULL) > 0;
		memdev_free(m);
	}
	assert_true(detected > 0);	/* most flips land in unused bytes */
}

static void test_truncated_images(void **state)
{
	uint64_t sizes[] = { 512, 8192, 70 * 1024, MIB, 10 * MIB, 64 * MIB - 512 };

	(void)state;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct memdev *m = memdev_clone(golden);

		m->dev.sectors = sizes[i] / 512;
		assert_int_equal(check_image(m, i < 1 ? "too small" : "truncated"), 1000);
		memdev_free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flip_fd),
		cmocka_unit_test(test_flip_root),
		cmocka_unit_test(test_flip_cluster),
		cmocka_unit_test(test_pointer_block),
		cmocka_unit_test(test_hostile_fd_fields),
		cmocka_unit_test(test_directory_block),
		cmocka_unit_test(test_header_backup_repair),
		cmocka_unit_test(test_journal_and_heartbeat),
		cmocka_unit_test(test_random_flips),
		cmocka_unit_test(test_truncated_images),
	};

	return cmocka_run_group_tests(tests, build_golden, free_golden);
}
