/* VMFS files and directories: addressing modes, sparse files, multi-TiB offsets,
 * truncate/extend, directories with long names and many entries, rename cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"

static void check_clean(struct memdev *m, struct vmfs_volume *vol)
{
	assert_int_equal(vmfs_unmount(vol), 0);
	assert_int_equal(tl_fsck(m, false), 0);
}

static void test_modes(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	uint8_t *w = malloc(3 * MIB), *r = malloc(3 * MIB);
	struct vmfs_stat st;

	(void)state;
	tl_fill(w, 3 * MIB, 42);
	tl_write_file(vol, "/small", w, 0, 1000);		/* inline */
	assert_int_equal(vmfs_stat(vol, "/small", &st), 0);
	assert_int_equal(st.mode, VMFS_FM_INLINE);
	assert_int_equal(st.size, 1000);
	assert_int_equal(st.alloc_bytes, 0);
	tl_write_file(vol, "/small", w + 1000, 1000, 9000);	/* -> one sub-block */
	assert_int_equal(vmfs_stat(vol, "/small", &st), 0);
	assert_int_equal(st.mode, VMFS_FM_SB);
	assert_int_equal(st.alloc_bytes, 64 * 1024);
	assert_int_equal(tl_read_file(vol, "/small", r, 0, 20000), 10000);
	assert_memory_equal(r, w, 10000);
	tl_write_file(vol, "/small", w + 10000, 10000, 200000);	/* more sub-blocks */
	assert_int_equal(vmfs_stat(vol, "/small", &st), 0);
	assert_int_equal(st.mode, VMFS_FM_SB);
	assert_int_equal(st.alloc_bytes, 4 * 64 * 1024);
	tl_write_file(vol, "/small", w + 210000, 210000, 2 * MIB);	/* -> file blocks */
	assert_int_equal(vmfs_stat(vol, "/small", &st), 0);
	assert_int_equal(st.mode, VMFS_FM_FB);
	assert_int_equal(st.size, 210000 + 2 * MIB);
	assert_int_equal(tl_read_file(vol, "/small", r, 0, 3 * MIB), 210000 + 2 * MIB);
	assert_memory_equal(r, w, 210000 + 2 * MIB);
	tl_write_file(vol, "/big", w, 0, 100 * 1024);		/* straight to file blocks */
	assert_int_equal(vmfs_stat(vol, "/big", &st), 0);
	assert_int_equal(st.mode, VMFS_FM_FB);
	check_clean(m, vol);
	free(w);
	free(r);
	memdev_free(m);
}

static void test_unaligned_io(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	uint8_t *w = malloc(4 * MIB), *r = malloc(4 * MIB), *ref = calloc(1, 4 * MIB);
	struct vmfs_file *f;
	uint32_t seed = 5;

	(void)state;
	assert_int_equal(vmfs_open(vol, "/u", VMFS_O_WRITE | VMFS_O_READ | VMFS_O_CREAT, 0644, &f), 0);
	for (int i = 0; i < 200; i++) {
		uint64_t off, len;

		seed = seed * 1103515245u + 12345u;
		off = seed % (3 * MIB);
		seed = seed * 1103515245u + 12345u;
		len = 1 + seed % 70000;
		tl_fill(w, len, seed);
		assert_int_equal(vmfs_write(f, off, w, len), (int64_t)len);
		memcpy(ref + off, w, len);
	}
	{
		struct vmfs_stat st;

		assert_int_equal(vmfs_fstat(f, &st), 0);
		assert_int_equal(vmfs_read(f, 0, r, 4 * MIB), (int64_t)st.size);
		assert_memory_equal(r, ref, st.size);
		assert_int_equal(vmfs_read(f, st.size + 10, r, 10), 0);
	}
	vmfs_close(f);
	check_clean(m, vol);
	free(w);
	free(r);
	free(ref);
	memdev_free(m);
}

static unsigned ra_reads;

static void count_reads(void *arg, uint64_t lba, bool write)
{
	(void)arg;
	(void)lba;
	ra_reads += !write;
}

/* Small sequential reads come from the read-ahead window; writes invalidate it. */
static void test_read_ahead(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	uint8_t *w = malloc(3 * MIB), r[4096], nw[4096];
	struct vmfs_file *f;

	(void)state;
	tl_fill(w, 3 * MIB, 7);
	tl_write_file(vol, "/ra", w, 0, 3 * MIB - 100);
	assert_int_equal(vmfs_open(vol, "/ra", VMFS_O_READ, 0, &f), 0);
	ra_reads = 0;
	m->io_hook = count_reads;
	for (uint64_t off = 0; off < 3 * MIB - 100; off += sizeof(r)) {
		uint64_t n = 3 * MIB - 100 - off < sizeof(r) ? 3 * MIB - 100 - off : sizeof(r);

		assert_int_equal(vmfs_read(f, off, r, sizeof(r)), (int64_t)n);
		assert_memory_equal(r, w + off, n);
	}
	m->io_hook = NULL;
	assert_true(ra_reads <= 16);		/* 768 reads of 4 KiB without read-ahead */
	vmfs_close(f);
	/* the writer's own writes are seen at once */
	assert_int_equal(vmfs_open(vol, "/ra", VMFS_O_READ | VMFS_O_WRITE, 0, &f), 0);
	assert_int_equal(vmfs_read(f, 0, r, sizeof(r)), sizeof(r));
	tl_fill(nw, sizeof(nw), 99);
	assert_int_equal(vmfs_write(f, 8192, nw, sizeof(nw)), sizeof(nw));
	assert_int_equal(vmfs_read(f, 4096, r, sizeof(r)), sizeof(r));
	assert_memory_equal(r, w + 4096, sizeof(r));
	assert_int_equal(vmfs_read(f, 8192, r, sizeof(r)), sizeof(r));
	assert_memory_equal(r, nw, sizeof(r));
	assert_int_equal(vmfs_truncate(f, 10000), 0);
	assert_int_equal(vmfs_read(f, 8192, r, sizeof(r)), 10000 - 8192);
	assert_memory_equal(r, nw, 10000 - 8192);
	vmfs_close(f);
	check_clean(m, vol);
	free(w);
	memdev_free(m);
}

/* More descriptors than the metadata cache holds: eviction and table growth. */
static void test_cache_eviction(void **state)
{
	struct memdev *m = tl_format(4 * GIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	const int n = 5200;	/* descriptors alone outnumber VMFS_CACHE_BLOCKS (4096) */
	char p[64];

	(void)state;
	for (int d = 0; d < 8; d++) {
		snprintf(p, sizeof(p), "/c%d", d);
		assert_int_equal(vmfs_mkdir(vol, p, 0755), 0);
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < n; i++) {
			uint32_t v = (uint32_t)i, got = 0;

			snprintf(p, sizeof(p), "/c%d/f%d", i % 8, i);
			if (!round)
				tl_write_file(vol, p, &v, 0, sizeof(v));
			assert_int_equal(tl_read_file(vol, p, &got, 0, sizeof(got)), sizeof(got));
			assert_int_equal(got, v);
		}
	check_clean(m, vol);
	memdev_free(m);
}

/* Direct / single / double / triple boundaries on a 4 TiB sparse volume. */
static void test_sparse_multi_tib(void **state)
{
	struct memdev *m = tl_format(4 * TIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	const uint64_t P = VMFS_PB_NENT, B = MIB;
	const uint64_t offs[] = { 0, 251 * B + 77, 252 * B, (252 + P) * B - 3, (252 + P) * B + 8,
				  (252 + P + P * P) * B - 1, (252 + P + P * P) * B + 16,
				  3 * TIB + 12345, 4 * TIB - 1 };
	struct vmfs_file *f;
	struct vmfs_stat st;
	uint8_t buf[8], zero[4096] = { 0 }, got[4096];
	uint64_t d;

	(void)state;
	assert_int_equal(vmfs_open(vol, "/thin", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f), 0);
	assert_int_equal(vmfs_extend(f, 8 * TIB, VMFS_ALLOC_THIN), 0);
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		memcpy(buf, &offs[i], 8);
		assert_int_equal(vmfs_write(f, offs[i], buf, 8), 8);
	}
	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		assert_int_equal(vmfs_read(f, offs[i], buf, 8), 8);
		assert_memory_equal(buf, &offs[i], 8);
	}
	assert_int_equal(vmfs_read(f, 2 * TIB, got, sizeof(got)), sizeof(got));	/* hole */
	assert_memory_equal(got, zero, sizeof(got));
	assert_int_equal(vmfs_seek_data(f, 1 * TIB, &d), 0);
	assert_int_equal(d, 3 * TIB);		/* next data is the block at 3 TiB */
	assert_int_equal(vmfs_fstat(f, &st), 0);
	assert_int_equal(st.size, 8 * TIB);
	assert_true(st.alloc_bytes < 20 * MIB);
	/* beyond the largest file */
	assert_int_equal(vmfs_write(f, 1ull << 62, buf, 8), -EFBIG);
	assert_int_equal(vmfs_truncate(f, 300 * B), 0);		/* frees indirect trees */
	assert_int_equal(vmfs_read(f, 252 * B, buf, 8), 8);
	assert_memory_equal(buf, &offs[2], 8);
	vmfs_close(f);
	check_clean(m, vol);
	memdev_free(m);
}

static void test_truncate_extend(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	uint8_t *w = malloc(3 * MIB), *r = malloc(3 * MIB);
	struct vmfs_file *f;
	struct vmfs_stat st;
	struct vmfs_statfs sf0, sf1;

	(void)state;
	assert_int_equal(vmfs_statfs(vol, &sf0), 0);
	tl_fill(w, 3 * MIB, 3);
	tl_write_file(vol, "/t", w, 0, 3 * MIB);
	assert_int_equal(vmfs_open(vol, "/t", VMFS_O_WRITE, 0, &f), 0);
	assert_int_equal(vmfs_truncate(f, MIB + 100), 0);
	assert_int_equal(vmfs_truncate(f, 3 * MIB), 0);	/* regrow: tail must read zero */
	assert_int_equal(vmfs_read(f, 0, r, 3 * MIB), 3 * MIB);
	assert_memory_equal(r, w, MIB + 100);
	for (uint64_t i = MIB + 100; i < 3 * MIB; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(vmfs_fstat(f, &st), 0);
	assert_int_equal(st.alloc_bytes, 2 * MIB);
	/* zeroedthick: allocated now, reads zero, written on demand */
	assert_int_equal(vmfs_extend(f, 8 * MIB, VMFS_ALLOC_ZEROED), 0);
	assert_int_equal(vmfs_fstat(f, &st), 0);
	assert_int_equal(st.alloc_bytes, 7 * MIB);	/* the new range; the hole at 2 MiB stays */
	assert_int_equal(vmfs_read(f, 5 * MIB, r, MIB), MIB);
	for (uint64_t i = 0; i < MIB; i++)
		assert_int_equal(r[i], 0);
	assert_int_equal(vmfs_write(f, 5 * MIB + 10, "xyz", 3), 3);
	assert_int_equal(vmfs_read(f, 5 * MIB, r, 16), 16);
	assert_memory_equal(r + 10, "xyz", 3);
	assert_int_equal(r[9], 0);
	assert_int_equal(r[13], 0);
	/* eagerzeroed */
	assert_int_equal(vmfs_extend(f, 10 * MIB, VMFS_ALLOC_EAGER), 0);
	assert_int_equal(vmfs_extend(f, 9 * MIB, VMFS_ALLOC_EAGER), -EINVAL);
	assert_int_equal(vmfs_truncate(f, 0), 0);
	assert_int_equal(vmfs_fstat(f, &st), 0);
	assert_int_equal(st.alloc_bytes, 0);
	vmfs_close(f);
	assert_int_equal(vmfs_unlink(vol, "/t"), 0);
	assert_int_equal(vmfs_statfs(vol, &sf1), 0);
	assert_int_equal(sf1.free[VMFS_RES_FD], sf0.free[VMFS_RES_FD]);
	assert_int_equal(sf1.free[VMFS_RES_PB], sf0.free[VMFS_RES_PB]);
	assert_int_equal(sf1.free[VMFS_RES_FB], sf0.free[VMFS_RES_FB]);
	assert_int_equal(sf1.free[VMFS_RES_SB], sf0.free[VMFS_RES_SB] - 1);	/* root dir block */
	check_clean(m, vol);
	free(w);
	free(r);
	memdev_free(m);
}

struct count_arg {
	int n;
	bool saw_long;
};

static int count_fn(void *arg, const char *name, const struct vmfs_stat *st)
{
	struct count_arg *a = arg;

	(void)st;
	a->n++;
	if (strlen(name) == 255)
		a->saw_long = true;
	return 0;
}

static void test_directories(void **state)
{
	/* 64 KiB blocks: 4 KiB sub-blocks, so the directory outgrows sub-block mode */
	struct memdev *m = tl_format(256 * MIB, 64 * 1024, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	char name[300], path[400];
	struct count_arg ca = { 0 };
	struct vmfs_stat st;

	(void)state;
	assert_int_equal(vmfs_mkdir(vol, "/d", 0755), 0);
	assert_int_equal(vmfs_mkdir(vol, "/d", 0755), -EEXIST);
	memset(name, 'n', 255);
	name[255] = 0;
	snprintf(path, sizeof(path), "/d/%s", name);
	tl_write_file(vol, path, "long", 0, 4);
	name[255] = 'n';
	name[256] = 0;
	snprintf(path, sizeof(path), "/d/%s", name);
	assert_int_equal(vmfs_mkdir(vol, path, 0755), -EINVAL);
	assert_int_equal(vmfs_stat(vol, path, &st), -ENAMETOOLONG);
	/* many entries: the directory goes from one sub-block to file blocks */
	for (int i = 0; i < 600; i++) {
		snprintf(path, sizeof(path), "/d/entry-%04d", i);
		if (i % 10 == 0)
			assert_int_equal(vmfs_mkdir(vol, path, 0755), 0);
		else
			tl_write_file(vol, path, path, 0, strlen(path));
	}
	assert_int_equal(vmfs_readdir(vol, "/d", count_fn, &ca), 0);
	assert_int_equal(ca.n, 601);
	assert_true(ca.saw_long);
	assert_int_equal(vmfs_stat(vol, "/d", &st), 0);
	assert_int_equal(st.mode, VMFS_FM_FB);
	assert_int_equal(vmfs_stat(vol, "/d/entry-0599", &st), 0);
	assert_int_equal(st.size, 13);
	assert_int_equal(vmfs_stat(vol, "/d/entry-0010/../entry-0599", &st), 0);
	assert_int_equal(vmfs_stat(vol, "/d/entry-0599/x", &st), -ENOTDIR);
	assert_int_equal(vmfs_rmdir(vol, "/d"), -ENOTEMPTY);
	assert_int_equal(vmfs_rmdir(vol, "/d/entry-0001"), -ENOTDIR);
	assert_int_equal(vmfs_unlink(vol, "/d/entry-0010"), -EISDIR);
	for (int i = 0; i < 600; i += 2) {
		snprintf(path, sizeof(path), "/d/entry-%04d", i);
		assert_int_equal(i % 10 ? vmfs_unlink(vol, path) : vmfs_rmdir(vol, path), 0);
	}
	ca.n = 0;
	assert_int_equal(vmfs_readdir(vol, "/d", count_fn, &ca), 0);
	assert_int_equal(ca.n, 301);
	assert_int_equal(vmfs_unlink(vol, "/d/nothere"), -ENOENT);
	assert_non_null(strstr(vmfs_strerror(vol), "nothere"));
	check_clean(m, vol);
	memdev_free(m);
}

static void test_rename(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	struct vmfs_stat st;
	char buf[16];

	(void)state;
	assert_int_equal(vmfs_mkdir(vol, "/a", 0755), 0);
	assert_int_equal(vmfs_mkdir(vol, "/b", 0755), 0);
	assert_int_equal(vmfs_mkdir(vol, "/a/sub", 0755), 0);
	tl_write_file(vol, "/a/f", "one", 0, 3);
	tl_write_file(vol, "/b/g", "two", 0, 3);
	assert_int_equal(vmfs_rename(vol, "/a/f", "/a/f2"), 0);		/* same dir */
	assert_int_equal(vmfs_stat(vol, "/a/f", &st), -ENOENT);
	assert_int_equal(vmfs_rename(vol, "/a/f2", "/b/f3"), 0);	/* other dir */
	assert_int_equal(tl_read_file(vol, "/b/f3", buf, 0, 16), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(vmfs_rename(vol, "/b/f3", "/b/g"), 0);		/* replace */
	assert_int_equal(tl_read_file(vol, "/b/g", buf, 0, 16), 3);
	assert_memory_equal(buf, "one", 3);
	assert_int_equal(vmfs_stat(vol, "/b/f3", &st), -ENOENT);
	assert_int_equal(vmfs_rename(vol, "/b/g", "/b/g"), 0);		/* no-op */
	assert_int_equal(vmfs_rename(vol, "/a", "/a/sub/x"), -EINVAL);	/* into itself */
	assert_int_equal(vmfs_rename(vol, "/a", "/a"), 0);
	assert_int_equal(vmfs_rename(vol, "/b/g", "/a"), -EISDIR);	/* file over dir */
	assert_int_equal(vmfs_rename(vol, "/a/sub", "/b/sub"), 0);	/* dir moves */
	tl_write_file(vol, "/b/sub/deep", "3", 0, 1);
	assert_int_equal(vmfs_stat(vol, "/b/sub/../g", &st), 0);	/* parent updated */
	assert_int_equal(vmfs_mkdir(vol, "/a/empty", 0755), 0);
	assert_int_equal(vmfs_rename(vol, "/b/sub", "/a/empty"), 0);	/* over empty dir */
	assert_int_equal(vmfs_stat(vol, "/a/empty/deep", &st), 0);
	assert_int_equal(vmfs_rename(vol, "/nothere", "/x"), -ENOENT);
	assert_int_equal(vmfs_rename(vol, "/b/g", "/"), -EINVAL);
	check_clean(m, vol);
	memdev_free(m);
}

static void test_vmdk_ops(void **state)
{
	struct memdev *m = tl_format(256 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	struct vmfs_vmdk_info info;
	struct vmfs_stat st;
	uint8_t buf[64];

	(void)state;
	assert_int_equal(vmfs_mkdir(vol, "/vm", 0755), 0);
	assert_int_equal(vmfs_vmdk_create(vol, "/vm/d.vmdk", 10 * GIB, VMFS_ALLOC_THIN, NULL), 0);
	assert_int_equal(vmfs_vmdk_create(vol, "/vm/d.vmdk", 10 * GIB, VMFS_ALLOC_THIN, NULL), -EEXIST);
	assert_int_equal(vmfs_vmdk_create(vol, "/vm/bad.img", GIB, VMFS_ALLOC_THIN, NULL), -EINVAL);
	assert_int_equal(vmfs_vmdk_info(vol, "/vm/d.vmdk", &info), 0);
	assert_int_equal(info.capacity, 10 * GIB);
	assert_string_equal(info.extent, "/vm/d-flat.vmdk");
	assert_true(info.thin);
	tl_write_file(vol, "/vm/d-flat.vmdk", "data at 7G", 7 * GIB, 10);
	assert_int_equal(vmfs_vmdk_clone(vol, "/vm/d.vmdk", "/vm/c.vmdk", VMFS_ALLOC_THIN, NULL), 0);
	assert_int_equal(tl_read_file(vol, "/vm/c-flat.vmdk", buf, 7 * GIB, 10), 10);
	assert_memory_equal(buf, "data at 7G", 10);
	assert_int_equal(vmfs_vmdk_extend(vol, "/vm/c.vmdk", 12 * GIB, VMFS_ALLOC_THIN, NULL), 0);
	assert_int_equal(vmfs_vmdk_info(vol, "/vm/c.vmdk", &info), 0);
	assert_int_equal(info.capacity, 12 * GIB);
	assert_int_equal(vmfs_vmdk_rename(vol, "/vm/c.vmdk", "/vm/e.vmdk"), 0);
	assert_int_equal(vmfs_stat(vol, "/vm/c-flat.vmdk", &st), -ENOENT);
	assert_int_equal(vmfs_stat(vol, "/vm/e-flat.vmdk", &st), 0);
	assert_int_equal(st.size, 12 * GIB);
	assert_int_equal(vmfs_vmdk_delete(vol, "/vm/e.vmdk"), 0);
	assert_int_equal(vmfs_stat(vol, "/vm/e-flat.vmdk", &st), -ENOENT);
	assert_int_equal(vmfs_vmdk_create(vol, "/vm/z.vmdk", 8 * MIB, VMFS_ALLOC_EAGER, NULL), 0);
	assert_int_equal(vmfs_stat(vol, "/vm/z-flat.vmdk", &st), 0);
	assert_int_equal(st.alloc_bytes, 8 * MIB);
	check_clean(m, vol);
	memdev_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_unaligned_io),
		cmocka_unit_test(test_read_ahead),
		cmocka_unit_test(test_cache_eviction),
		cmocka_unit_test(test_sparse_multi_tib),
		cmocka_unit_test(test_truncate_extend),
		cmocka_unit_test(test_directories),
		cmocka_unit_test(test_rename),
		cmocka_unit_test(test_vmdk_ops),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
