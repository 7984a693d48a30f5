/*
 * Crash consistency: run an operation on a copy of a volume with the device
 * "crashing" after k sector writes (the write in progress torn at that
 * sector, all later writes lost), for every k (or an even spread of k plus
 * every k in the metadata-commit tail), then mount (journal replay) and check
 * that the checker finds no problem and the visible state is either the old
 * or the new one, and that an operation that completed (synced) is present.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"

#define MAX_POINTS 250
#define TAIL_POINTS 120

struct scenario {
	const char *name;
	uint32_t block_size;
	void (*setup)(struct vmfs_volume *vol);
	int (*op)(struct vmfs_volume *vol);
	/* done: the op returned success before the crash */
	void (*check)(struct vmfs_volume *vol, bool done);
};

static uint8_t pat_a[4 * MIB], pat_b[4 * MIB];
static uint8_t scratch[10 * MIB];	/* the checks' read buffer (no large malloc per check) */

static void run_scenario(const struct scenario *s)
{
	struct memdev *base = tl_format(s->block_size ? 128 * MIB : 48 * MIB, s->block_size, 4), *m;
	struct vmfs_volume *vol = tl_mount(base, 1);
	uint64_t before, total, step, tested = 0;

	tl_fill(pat_a, sizeof(pat_a), 1);
	tl_fill(pat_b, sizeof(pat_b), 2);
	if (s->setup)
		s->setup(vol);
	assert_int_equal(vmfs_unmount(vol), 0);
	/* dry run: how many sector writes does the op make? */
	m = memdev_clone(base);
	vol = tl_mount(m, 1);
	before = m->writes;
	assert_int_equal(s->op(vol), 0);
	total = m->writes - before;
	s->check(vol, true);
	vmfs_unmount(vol);
	memdev_free(m);
	step = total > MAX_POINTS ? total / MAX_POINTS : 1;
	for (uint64_t k = 0; k <= total; k += (k + TAIL_POINTS >= total ? 1 : step)) {
		int rc;

		m = memdev_clone(base);
		vol = tl_mount(m, 1);
		memdev_crash_after(m, (int64_t)k);
		rc = s->op(vol);
		vmfs_unmount(vol);		/* writes are lost: just frees memory */
		memdev_reboot(m);
		vol = tl_mount(m, 1);		/* a new incarnation, in another slot ... */
		tl_recover(vol);		/* ... replays the crashed one's journal */
		s->check(vol, rc == 0 && k >= total);
		assert_int_equal(vmfs_unmount(vol), 0);
		if (tl_fsck(m, false)) {
			fprintf(stderr, "%s: crash after %llu of %llu writes\n", s->name,
				(unsigned long long)k, (unsigned long long)total);
			fail();
		}
		memdev_free(m);
		tested++;
	}
	memdev_free(base);
	assert_true(tested > (total < 50 ? total : 50));
}

/* ---- create ---- */
static void setup_dir(struct vmfs_volume *vol)
{
	assert_int_equal(vmfs_mkdir(vol, "/d", 0755), 0);
	tl_write_file(vol, "/d/old", pat_a, 0, 5000);
}

static int op_create(struct vmfs_volume *vol)
{
	struct vmfs_file *f;
	int64_t n;
	int rc = vmfs_open(vol, "/d/new", VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_EXCL, 0644, &f);

	if (rc)
		return rc;
	n = vmfs_write(f, 0, pat_b, 100000);
	rc = n == 100000 ? vmfs_fsync(f) : (int)n;
	vmfs_close(f);
	return rc;
}

static void check_create(struct vmfs_volume *vol, bool done)
{
	struct vmfs_stat st;
	uint8_t *buf = scratch;
	int rc = vmfs_stat(vol, "/d/new", &st);

	assert_true(rc == 0 || rc == -ENOENT);
	if (done)
		assert_int_equal(rc, 0);
	if (!rc) {
		assert_true(st.size == 0 || st.size == 100000);
		if (done)
			assert_int_equal(st.size, 100000);
		assert_int_equal(tl_read_file(vol, "/d/new", buf, 0, 100000), (int64_t)st.size);
		assert_memory_equal(buf, pat_b, st.size);
	}
	assert_int_equal(tl_read_file(vol, "/d/old", buf, 0, 5000), 5000);
	assert_memory_equal(buf, pat_a, 5000);
}

/* ---- write + fsync: overwrite and grow ---- */
static void setup_file(struct vmfs_volume *vol)
{
	tl_write_file(vol, "/f", pat_a, 0, 3 * MIB);
}

static int op_write(struct vmfs_volume *vol)
{
	struct vmfs_file *f;
	int64_t n;
	int rc = vmfs_open(vol, "/f", VMFS_O_WRITE, 0, &f);

	if (rc)
		return rc;
	n = vmfs_write(f, MIB - 100, pat_b, 3 * MIB);
	rc = n == 3 * MIB ? vmfs_fsync(f) : (int)n;
	vmfs_close(f);
	return rc;
}

static void check_write(struct vmfs_volume *vol, bool done)
{
	uint8_t *buf = scratch;
	struct vmfs_stat st;
	const uint64_t off = MIB - 100, end = off + 3 * MIB;

	assert_int_equal(vmfs_stat(vol, "/f", &st), 0);
	assert_true(st.size >= 3 * MIB && st.size <= end);
	if (done)
		assert_int_equal(st.size, end);
	assert_int_equal(tl_read_file(vol, "/f", buf, 0, 5 * MIB), (int64_t)st.size);
	assert_memory_equal(buf, pat_a, off);
	for (uint64_t i = off; i < st.size; i++) {
		bool is_b = buf[i] == pat_b[i - off];

		if (!is_b && (done || i >= 3 * MIB || buf[i] != pat_a[i]))
			fail_msg("byte %llu is neither old nor new data", (unsigned long long)i);
	}
}

/* ---- rename across directories ---- */
static void setup_rename(struct vmfs_volume *vol)
{
	assert_int_equal(vmfs_mkdir(vol, "/a", 0755), 0);
	assert_int_equal(vmfs_mkdir(vol, "/b", 0755), 0);
	tl_write_file(vol, "/a/x", pat_a, 0, 70000);
	tl_write_file(vol, "/b/y", pat_b, 0, 3000);	/* replaced by the rename */
}

static int op_rename(struct vmfs_volume *vol)
{
	return vmfs_rename(vol, "/a/x", "/b/y");
}

static void check_rename(struct vmfs_volume *vol, bool done)
{
	uint8_t *buf = scratch;
	struct vmfs_stat sx, sy;
	int rx = vmfs_stat(vol, "/a/x", &sx), ry = vmfs_stat(vol, "/b/y", &sy);

	assert_int_equal(ry, 0);		/* the target always exists */
	if (done)
		assert_int_equal(rx, -ENOENT);
	if (rx == 0) {				/* not renamed yet: target old, maybe emptied */
		assert_int_equal(tl_read_file(vol, "/a/x", buf, 0, 70000), 70000);
		assert_memory_equal(buf, pat_a, 70000);
		assert_true(sy.size == 3000 || sy.size == 0);
	} else {
		assert_int_equal(rx, -ENOENT);
		assert_int_equal(tl_read_file(vol, "/b/y", buf, 0, 70000), 70000);
		assert_memory_equal(buf, pat_a, 70000);
	}
}

/* ---- unlink ---- */
static int op_unlink(struct vmfs_volume *vol)
{
	return vmfs_unlink(vol, "/f");
}

static void check_unlink(struct vmfs_volume *vol, bool done)
{
	uint8_t *buf = scratch;
	struct vmfs_stat st;
	int rc = vmfs_stat(vol, "/f", &st);

	if (done)
		assert_int_equal(rc, -ENOENT);
	if (!rc) {
		assert_int_equal(tl_read_file(vol, "/f", buf, 0, 3 * MIB), (int64_t)st.size);
		assert_memory_equal(buf, pat_a, st.size);
	}
}

/* ---- eager extend ---- */
static int op_extend(struct vmfs_volume *vol)
{
	struct vmfs_file *f;
	int rc = vmfs_open(vol, "/f", VMFS_O_WRITE, 0, &f);

	if (!rc)
		rc = vmfs_extend(f, 9 * MIB + 4096, VMFS_ALLOC_EAGER);
	if (!rc)	/* like writes, allocations are durable once synced */
		rc = vmfs_fsync(f);
	vmfs_close(f);
	return rc;
}

static void check_extend(struct vmfs_volume *vol, bool done)
{
	uint8_t *buf = scratch;
	struct vmfs_stat st;

	assert_int_equal(vmfs_stat(vol, "/f", &st), 0);
	assert_true(st.size >= 3 * MIB && st.size <= 9 * MIB + 4096);
	if (done) {
		assert_int_equal(st.size, 9 * MIB + 4096);
		assert_int_equal(st.alloc_bytes, 10 * MIB);
	}
	assert_int_equal(tl_read_file(vol, "/f", buf, 0, 10 * MIB), (int64_t)st.size);
	assert_memory_equal(buf, pat_a, 3 * MIB);
	for (uint64_t i = 3 * MIB; i < st.size; i++)
		if (buf[i])
			fail_msg("extended byte %llu is not zero", (unsigned long long)i);
}

/* ---- directory growth (sub-block -> file-block conversion) ---- */
static void setup_bigdir(struct vmfs_volume *vol)
{
	char p[64];

	assert_int_equal(vmfs_mkdir(vol, "/d", 0755), 0);
	for (int i = 0; i < 220; i++) {
		snprintf(p, sizeof(p), "/d/e%03d", i);
		tl_write_file(vol, p, p, 0, strlen(p));
	}
}

static int op_bigdir(struct vmfs_volume *vol)
{
	char p[64];

	for (int i = 220; i < 232; i++) {
		snprintf(p, sizeof(p), "/d/e%03d", i);
		if (vmfs_mkdir(vol, p, 0755))
			return -EIO;
	}
	return vmfs_rename(vol, "/d/e000", "/d/e999");
}

static int count_fn(void *arg, const char *name, const struct vmfs_stat *st)
{
	(void)name, (void)st;
	(*(int *)arg)++;
	return 0;
}

static void check_bigdir(struct vmfs_volume *vol, bool done)
{
	struct vmfs_stat st;
	int n = 0;

	assert_int_equal(vmfs_readdir(vol, "/d", count_fn, &n), 0);
	assert_true(n >= 220 && n <= 232);
	if (done) {
		assert_int_equal(n, 232);
		assert_int_equal(vmfs_stat(vol, "/d/e999", &st), 0);
		assert_int_equal(vmfs_stat(vol, "/d", &st), 0);
		assert_int_equal(st.mode, VMFS_FM_FB);
	}
	assert_int_equal(vmfs_stat(vol, "/d/e219", &st), 0);
}

/* ---- virtual disk creation ---- */
static int op_vmdk(struct vmfs_volume *vol)
{
	return vmfs_vmdk_create(vol, "/disk.vmdk", 4 * MIB, VMFS_ALLOC_EAGER, NULL);
}

static void check_vmdk(struct vmfs_volume *vol, bool done)
{
	struct vmfs_vmdk_info info;
	struct vmfs_stat st;
	int rc = vmfs_vmdk_info(vol, "/disk.vmdk", &info);

	if (done)
		assert_int_equal(rc, 0);
	if (!rc) {	/* a descriptor never names a missing extent */
		assert_int_equal(vmfs_stat(vol, "/disk-flat.vmdk", &st), 0);
		assert_int_equal(st.size, 4 * MIB);
	}
}

#define SCEN(fn, bs, setup, op, check)						\
	static void fn(void **state)						\
	{									\
		static const struct scenario s = { #fn, bs, setup, op, check };	\
		(void)state;							\
		run_scenario(&s);						\
	}

SCEN(test_crash_create, 0, setup_dir, op_create, check_create)
SCEN(test_crash_write_fsync, 0, setup_file, op_write, check_write)
SCEN(test_crash_rename, 0, setup_rename, op_rename, check_rename)
SCEN(test_crash_unlink, 0, setup_file, op_unlink, check_unlink)
SCEN(test_crash_extend, 0, setup_file, op_extend, check_extend)
SCEN(test_crash_dir_growth, 64 * 1024, setup_bigdir, op_bigdir, check_bigdir)
SCEN(test_crash_vmdk_create, 0, NULL, op_vmdk, check_vmdk)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_create),
		cmocka_unit_test(test_crash_write_fsync),
		cmocka_unit_test(test_crash_rename),
		cmocka_unit_test(test_crash_unlink),
		cmocka_unit_test(test_crash_extend),
		cmocka_unit_test(test_crash_dir_growth),
		cmocka_unit_test(test_crash_vmdk_create),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
