/*
 * The VMDK-backed virtual disk of the VMM's disk devices (vmm/vdev/vdisk.c)
 * on a real VMFS volume in memory (fs/ and tests/fs/memdev.c): sector I/O
 * within the capacity, thin allocation on first write, discard giving
 * blocks back, flush reaching the device, read-only disks, the file locks
 * that keep a disk to one VM on this host and on others, and the
 * resolution of .vmx file names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"
#include <vmm/vdisk.h>

#define DISK_BYTES (8 * MIB)

static struct memdev *dev;
static struct vmfs_volume *vol;
static char err[256];

static int setup(void **state)
{
	(void)state;
	dev = tl_format(64 * MIB, 0, 4);
	vol = tl_mount(dev, 1);
	assert_int_equal(vmfs_mkdir(vol, "/vm1", 0755), 0);
	assert_int_equal(vmfs_vmdk_create(vol, "/vm1/thin.vmdk", DISK_BYTES, VMFS_ALLOC_THIN, NULL), 0);
	assert_int_equal(vmfs_vmdk_create(vol, "/vm1/thick.vmdk", DISK_BYTES, VMFS_ALLOC_ZEROED,
					  NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(vmfs_unmount(vol), 0);
	assert_int_equal(tl_fsck(dev, false), 0);
	memdev_free(dev);
	return 0;
}

static uint64_t flat_alloc(const char *path)
{
	struct vmfs_stat st;

	assert_int_equal(vmfs_stat(vol, path, &st), 0);
	return st.alloc_bytes;
}

static void test_thin_io(void **state)
{
	struct vdisk d = { 0 };
	uint8_t w[4096], r[4096], zero[4096] = { 0 };
	uint64_t flushes;

	(void)state;
	assert_int_equal(vdisk_open(&d, vol, "/vm1/thin.vmdk", 0, err, sizeof(err)), 0);
	assert_int_equal(d.sectors, DISK_BYTES / 512);
	assert_true(d.thin);
	assert_int_equal(flat_alloc("/vm1/thin-flat.vmdk"), 0);
	/* a hole reads as zeros */
	memset(r, 0xaa, sizeof(r));
	assert_int_equal(vdisk_read(&d, 100, r, 8), 0);
	assert_memory_equal(r, zero, sizeof(r));
	/* the first write allocates one file block (1 MiB) */
	tl_fill(w, sizeof(w), 7);
	assert_int_equal(vdisk_write(&d, 2048 + 8, w, 8), 0);
	assert_int_equal(flat_alloc("/vm1/thin-flat.vmdk"), MIB);
	assert_int_equal(vdisk_read(&d, 2048 + 8, r, 8), 0);
	assert_memory_equal(r, w, sizeof(w));
	/* the last sector and no further */
	assert_int_equal(vdisk_write(&d, d.sectors - 1, w, 1), 0);
	assert_int_equal(vdisk_write(&d, d.sectors - 1, w, 2), -ERANGE);
	assert_int_equal(vdisk_read(&d, d.sectors, r, 1), -ERANGE);
	assert_int_equal(vdisk_read(&d, UINT64_MAX - 1, r, 4), -ERANGE);
	assert_int_equal(flat_alloc("/vm1/thin-flat.vmdk"), 2 * MIB);
	/* flush reaches the device */
	flushes = dev->flushes;
	assert_int_equal(vdisk_flush(&d), 0);
	assert_true(dev->flushes > flushes);
	/* discard: a partial block stays, a whole one goes back and reads as zeros */
	assert_int_equal(vdisk_discard(&d, 2048, 1024), 0);
	assert_int_equal(flat_alloc("/vm1/thin-flat.vmdk"), 2 * MIB);
	assert_int_equal(vdisk_discard(&d, 2047, 2050), 0);
	assert_int_equal(flat_alloc("/vm1/thin-flat.vmdk"), MIB);
	assert_int_equal(vdisk_read(&d, 2048 + 8, r, 8), 0);
	assert_memory_equal(r, zero, sizeof(r));
	assert_int_equal(vdisk_discard(&d, d.sectors - 1, 2), -ERANGE);
	/* written data survives closing and opening again */
	assert_int_equal(vdisk_write(&d, 5, w, 8), 0);
	vdisk_close(&d);
	assert_int_equal(vdisk_open(&d, vol, "/vm1/thin.vmdk", 0, err, sizeof(err)), 0);
	assert_int_equal(vdisk_read(&d, 5, r, 8), 0);
	assert_memory_equal(r, w, sizeof(w));
	vdisk_close(&d);
}

static void test_thick_discard_keeps(void **state)
{
	struct vdisk d = { 0 };
	uint8_t w[512];

	(void)state;
	assert_int_equal(vdisk_open(&d, vol, "/vm1/thick.vmdk", 0, err, sizeof(err)), 0);
	assert_false(d.thin);
	assert_int_equal(flat_alloc("/vm1/thick-flat.vmdk"), DISK_BYTES);
	tl_fill(w, sizeof(w), 3);
	assert_int_equal(vdisk_write(&d, 0, w, 1), 0);
	assert_int_equal(vdisk_discard(&d, 0, DISK_BYTES / 512), 0);
	assert_int_equal(flat_alloc("/vm1/thick-flat.vmdk"), DISK_BYTES);
	vdisk_close(&d);
}

static void test_read_only(void **state)
{
	struct vdisk a = { 0 }, b = { 0 }, c = { 0 };
	uint8_t buf[512] = { 1 };

	(void)state;
	assert_int_equal(vdisk_open(&a, vol, "/vm1/thin.vmdk", VDISK_RDONLY, err, sizeof(err)), 0);
	assert_int_equal(vdisk_write(&a, 0, buf, 1), -EROFS);
	assert_int_equal(vdisk_discard(&a, 0, 2048), -EROFS);
	assert_int_equal(vdisk_read(&a, 0, buf, 1), 0);
	assert_int_equal(vdisk_flush(&a), 0);
	/* readers share; a writer is refused while they hold it */
	assert_int_equal(vdisk_open(&b, vol, "/vm1/thin.vmdk", VDISK_RDONLY, err, sizeof(err)), 0);
	assert_int_equal(vdisk_open(&c, vol, "/vm1/thin.vmdk", 0, err, sizeof(err)), -EBUSY);
	vdisk_close(&a);
	vdisk_close(&b);
	assert_int_equal(flat_alloc("/vm1/thin-flat.vmdk"), 0);
}

static void test_exclusive(void **state)
{
	struct vdisk a = { 0 }, b = { 0 };
	struct vmfs_volume *other;

	(void)state;
	assert_int_equal(vdisk_open(&a, vol, "/vm1/thin.vmdk", 0, err, sizeof(err)), 0);
	/* a second user on this host */
	assert_int_equal(vdisk_open(&b, vol, "/vm1/thin.vmdk", 0, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "already open on this host"));
	assert_null(b.desc);
	assert_int_equal(vdisk_open(&b, vol, "/vm1/thin.vmdk", VDISK_MULTIWRITER, err, sizeof(err)),
			 -EBUSY);
	/* and on another host sharing the volume, while this one is alive */
	tl_keep_alive(vol, true);
	other = tl_mount(dev, 2);
	assert_int_equal(vdisk_open(&b, other, "/vm1/thin.vmdk", 0, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "locked exclusive by host slot"));
	vdisk_close(&a);
	assert_int_equal(vdisk_open(&b, other, "/vm1/thin.vmdk", 0, err, sizeof(err)), 0);
	vdisk_close(&b);
	assert_int_equal(vmfs_unmount(other), 0);
	tl_keep_alive(vol, false);
}

static void test_multi_writer(void **state)
{
	struct vdisk a = { 0 }, b = { 0 }, c = { 0 };

	(void)state;
	assert_int_equal(vdisk_open(&a, vol, "/vm1/thin.vmdk", VDISK_MULTIWRITER, err, sizeof(err)), 0);
	assert_int_equal(vdisk_open(&b, vol, "/vm1/thin.vmdk", VDISK_MULTIWRITER, err, sizeof(err)), 0);
	assert_int_equal(vdisk_open(&c, vol, "/vm1/thin.vmdk", 0, err, sizeof(err)), -EBUSY);
	vdisk_close(&a);
	vdisk_close(&b);
}

static void test_missing(void **state)
{
	struct vdisk d = { 0 };

	(void)state;
	assert_int_equal(vdisk_open(&d, vol, "/vm1/none.vmdk", 0, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "none.vmdk"));
	/* a descriptor that is not one */
	tl_write_file(vol, "/vm1/junk.vmdk", "hello\n", 0, 6);
	assert_true(vdisk_open(&d, vol, "/vm1/junk.vmdk", 0, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "junk.vmdk"));
}

static void test_resolve(void **state)
{
	char out[VDISK_PATH_MAX];
	const char *why;

	(void)state;
	assert_int_equal(vdisk_resolve(NULL, "/vmfs/volumes/ds1/vm/a.vmdk", out, sizeof(out), &why), 0);
	assert_string_equal(out, "/vmfs/volumes/ds1/vm/a.vmdk");
	assert_int_equal(vdisk_resolve("/vmfs/volumes/ds1/vm", "a.vmdk", out, sizeof(out), &why), 0);
	assert_string_equal(out, "/vmfs/volumes/ds1/vm/a.vmdk");
	assert_int_equal(vdisk_resolve("/vmfs/volumes/ds1/vm/", "disks//b.vmdk", out, sizeof(out),
				       &why), 0);
	assert_string_equal(out, "/vmfs/volumes/ds1/vm/disks/b.vmdk");
	assert_int_equal(vdisk_resolve(NULL, "a.vmdk", out, sizeof(out), &why), -EINVAL);
	assert_non_null(strstr(why, "relative path"));
	assert_int_equal(vdisk_resolve("/vmfs/volumes/ds1/vm", "../other/a.vmdk", out, sizeof(out),
				       &why), -EINVAL);
	assert_int_equal(vdisk_resolve(NULL, "/etc/passwd", out, sizeof(out), &why), -EINVAL);
	assert_int_equal(vdisk_resolve(NULL, "/vmfs/volumes/ds1", out, sizeof(out), &why), -EINVAL);
	assert_int_equal(vdisk_resolve(NULL, "/vmfs/volumes/ds1/", out, sizeof(out), &why), -EINVAL);
	assert_int_equal(vdisk_resolve(NULL, "", out, sizeof(out), &why), -EINVAL);
	assert_int_equal(vdisk_resolve(NULL, "/vmfs/volumes/ds1/a.vmdk", out, 20, &why), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thin_io, setup, teardown),
		cmocka_unit_test_setup_teardown(test_thick_discard_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multi_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
