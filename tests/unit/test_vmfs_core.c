/* VMFS core layers: CRC32C, format/mount and header validation, allocation,
 * on-disk locks and heartbeats, the VMDK descriptor parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"
#include "../../fs/vmfs_priv.h"

static void test_crc32c(void **state)
{
	uint8_t buf[300];

	(void)state;
	assert_int_equal(vmfs_crc32c(0, "123456789", 9), 0xe3069283u);	/* RFC 3720 check value */
	assert_int_equal(vmfs_crc32c(0, "", 0), 0);
	memset(buf, 0, 32);
	assert_int_equal(vmfs_crc32c(0, buf, 32), 0x8a9136aau);		/* iSCSI 32 zero bytes */
	memset(buf, 0xff, 32);
	assert_int_equal(vmfs_crc32c(0, buf, 32), 0x62a8ab43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(vmfs_crc32c(0, buf, 32), 0x46dd794eu);
	/* incremental == one shot */
	tl_fill(buf, sizeof(buf), 7);
	assert_int_equal(vmfs_crc32c(vmfs_crc32c(0, buf, 100), buf + 100, 200),
			 vmfs_crc32c(0, buf, 300));
	/* the tables (and the instruction, where used) agree with the bitwise definition */
	for (unsigned off = 0; off < 9; off++) {
		for (unsigned len = 0; len < 40; len++) {
			uint32_t c = ~0u;

			for (unsigned i = 0; i < len; i++) {
				c ^= buf[off + i];
				for (int k = 0; k < 8; k++)
					c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
			}
			assert_int_equal(vmfs_crc32c_sw(0, buf + off, len), ~c);
			assert_int_equal(vmfs_crc32c(0, buf + off, len), ~c);
		}
	}
}

static void test_format_mount(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	struct vmfs_statfs sf;

	(void)state;
	assert_int_equal(vmfs_statfs(vol, &sf), 0);
	assert_string_equal(sf.label, "unit");
	assert_int_equal(sf.block_size, 1 << 20);
	assert_int_equal(sf.sb_size, 64 << 10);
	assert_int_equal(sf.max_hosts, 4);
	assert_int_equal(sf.lease_timeout_s, 16);
	assert_int_equal(sf.slot, 0);
	assert_int_equal(sf.free[VMFS_RES_FD], sf.total[VMFS_RES_FD] - 2);
	assert_int_equal(sf.free[VMFS_RES_FB], sf.total[VMFS_RES_FB]);
	assert_true(sf.capacity_bytes > 30 * MIB);
	assert_int_equal(vmfs_unmount(vol), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

static void test_format_errors(void **state)
{
	struct vmfs_format_opts o = { .block_size = 3000 };
	struct memdev *m = memdev_new(64 * MIB, false);
	struct vmfs_env env;
	char err[256];
	char label[80];

	(void)state;
	memdev_env(&env, 1);
	assert_int_equal(vmfs_format(&m->dev, &env, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "block size"));
	memset(label, 'x', sizeof(label) - 1);
	label[79] = 0;
	o = (struct vmfs_format_opts){ .label = label };
	assert_int_equal(vmfs_format(&m->dev, &env, &o, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "label"));
	memdev_free(m);
	m = memdev_new(2 * MIB, false);
	assert_int_equal(vmfs_format(&m->dev, &env, NULL, err, sizeof(err)), -ENOSPC);
	assert_non_null(strstr(err, "too small"));
	memdev_free(m);
}

static int mount_err(struct memdev *m, char *err)
{
	struct vmfs_env env;
	struct vmfs_volume *vol = NULL;
	int rc;

	memdev_env(&env, 1);
	rc = vmfs_mount(&m->dev, &env, 0, &vol, err, 256);
	if (!rc)
		vmfs_unmount(vol);
	return rc;
}

/* Rewrite the header with one field changed and a correct checksum. */
static void patch_header(struct memdev *m, size_t off, const void *val, size_t len)
{
	struct vmfs_volhdr h;

	memdev_rw(m, 0, &h, sizeof(h), false);
	memcpy((uint8_t *)&h + off, val, len);
	h.crc = 0;
	h.crc = vmfs_crc32c(0, &h, sizeof(h));
	memdev_rw(m, 0, &h, sizeof(h), true);
}

static void test_mount_hostile_header(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4), *c;
	char err[256];
	uint32_t v32;
	uint64_t v64;
	uint16_t v16;

	(void)state;
	c = memdev_new(64 * MIB, false);	/* blank: foreign */
	assert_int_equal(mount_err(c, err), -ENODEV);
	assert_non_null(strstr(err, "no VMFS volume header"));
	memdev_free(c);

	c = memdev_clone(m);			/* bit flip: checksum */
	memdev_rw(c, 100, &v32, 1, false);
	v32 ^= 4;
	memdev_rw(c, 100, &v32, 1, true);
	assert_int_equal(mount_err(c, err), -EIO);
	assert_non_null(strstr(err, "checksum"));
	assert_non_null(strstr(err, "backup"));
	memdev_free(c);

	c = memdev_clone(m);			/* newer major version */
	v16 = VMFS_VERSION_MAJOR + 1;
	patch_header(c, offsetof(struct vmfs_volhdr, version_major), &v16, 2);
	assert_int_equal(mount_err(c, err), -ENOTSUP);
	assert_non_null(strstr(err, "unsupported version"));
	memdev_free(c);

	c = memdev_clone(m);			/* older major: 2.x hosts lack rule 7 */
	v16 = VMFS_VERSION_MAJOR - 1;
	patch_header(c, offsetof(struct vmfs_volhdr, version_major), &v16, 2);
	assert_int_equal(mount_err(c, err), -ENOTSUP);
	assert_non_null(strstr(err, "is older than"));
	memdev_free(c);

	c = memdev_clone(m);			/* huge resource count */
	v32 = 0xffffffffu;
	patch_header(c, offsetof(struct vmfs_volhdr, reg[3].count), &v32, 4);
	assert_int_equal(mount_err(c, err), -EINVAL);
	assert_non_null(strstr(err, "file-block region"));
	memdev_free(c);

	c = memdev_clone(m);			/* region outside the volume */
	v64 = 1ull << 60;
	patch_header(c, offsetof(struct vmfs_volhdr, reg[1].res_off), &v64, 8);
	assert_int_equal(mount_err(c, err), -EINVAL);
	assert_non_null(strstr(err, "pointer-block region"));
	memdev_free(c);

	c = memdev_clone(m);			/* zero max_hosts */
	v32 = 0;
	patch_header(c, offsetof(struct vmfs_volhdr, max_hosts), &v32, 4);
	assert_int_equal(mount_err(c, err), -EINVAL);
	assert_non_null(strstr(err, "max_hosts"));
	memdev_free(c);

	c = memdev_clone(m);			/* truncated image */
	c->dev.sectors = 40 * MIB / 512;
	assert_int_equal(mount_err(c, err), -EIO);
	assert_non_null(strstr(err, "truncated"));
	c->dev.sectors = 3;
	assert_int_equal(mount_err(c, err), -ENODEV);
	memdev_free(c);
	memdev_free(m);
}

static void test_alloc_clusters(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *vol = tl_mount(m, 1);
	struct vmfs_statfs sf, sf2;
	uint8_t *buf = calloc(1, MIB);
	char path[64];
	int i, rc = 0;
	uint64_t nfb;

	(void)state;
	assert_int_equal(vmfs_statfs(vol, &sf), 0);
	nfb = sf.free[VMFS_RES_FB];
	tl_fill(buf, MIB, 1);
	/* fill the volume with 1 MiB files until ENOSPC */
	for (i = 0; i < 1000; i++) {
		struct vmfs_file *f;

		snprintf(path, sizeof(path), "/f%d", i);
		assert_int_equal(vmfs_open(vol, path, VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f), 0);
		rc = (int)vmfs_write(f, 0, buf, MIB);
		vmfs_close(f);
		if (rc < 0)
			break;
	}
	assert_int_equal(rc, -ENOSPC);
	assert_non_null(strstr(vmfs_strerror(vol), "no free file-block"));
	assert_int_equal((uint64_t)i, nfb);
	assert_int_equal(vmfs_statfs(vol, &sf2), 0);
	assert_int_equal(sf2.free[VMFS_RES_FB], 0);
	/* cluster locks are kept after use (until asked for, or unmount) */
	{
		struct vmfs_lockrec l;

		assert_int_equal(vmfs_cluster_lock_read(vol, VMFS_RES_FB, 0, &l), 0);
		assert_int_equal(l.mode, VMFS_LOCK_EXCL);
		assert_int_equal(l.holders[0].slot, sf.slot);
	}
	for (int j = 0; j <= i; j++) {
		snprintf(path, sizeof(path), "/f%d", j);
		assert_int_equal(vmfs_unlink(vol, path), 0);
	}
	assert_int_equal(vmfs_statfs(vol, &sf2), 0);
	assert_int_equal(sf2.free[VMFS_RES_FB], nfb);
	assert_int_equal(sf2.free[VMFS_RES_FD], sf.free[VMFS_RES_FD]);
	assert_int_equal(vmfs_unmount(vol), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	free(buf);
	memdev_free(m);
}

static void test_heartbeat_slots(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 2);
	struct vmfs_volume *a = tl_mount(m, 1), *b, *c;
	struct vmfs_statfs sa, sb;
	struct vmfs_env env;
	struct vmfs_hbslot hb;
	char err[256];

	(void)state;
	b = tl_mount(m, 2);
	tl_keep_alive(a, true);
	tl_keep_alive(b, true);
	assert_int_equal(vmfs_statfs(a, &sa), 0);
	assert_int_equal(vmfs_statfs(b, &sb), 0);
	assert_int_not_equal(sa.slot, sb.slot);
	assert_int_equal(vmfs_heartbeat_read(a, sb.slot, &hb), 0);
	assert_int_equal(hb.state, VMFS_HB_LIVE);
	assert_int_equal(hb.host_uuid[15], 2);
	assert_int_equal(vmfs_heartbeat_renew(a), 0);
	/* a third host finds no slot */
	memdev_env(&env, 3);
	assert_int_equal(vmfs_mount(&m->dev, &env, 0, &c, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "heartbeat slots"));
	/* host 2 "crashes" (no unmount) and comes back: same slot, next generation */
	memdev_crash_after(m, 0);
	tl_keep_alive(b, false);
	vmfs_unmount(b);
	memdev_reboot(m);
	b = tl_mount(m, 2);
	assert_int_equal(vmfs_statfs(b, &sa), 0);
	assert_int_equal(sa.slot, sb.slot);
	assert_int_equal(sa.hb_gen, sb.hb_gen + 1);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(vmfs_heartbeat_read(a, sb.slot, &hb), 0);
	assert_int_equal(hb.state, VMFS_HB_FREE);
	tl_keep_alive(a, false);
	assert_int_equal(vmfs_unmount(a), 0);
	memdev_free(m);
}

static void test_file_locks(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);
	struct vmfs_file *f, *g, *h;
	struct vmfs_lockrec l;

	(void)state;
	tl_keep_alive(a, true);
	tl_keep_alive(b, true);
	tl_write_file(a, "/x", "hello", 0, 5);
	assert_int_equal(vmfs_open(a, "/x", VMFS_O_WRITE, 0, &f), 0);
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.mode, VMFS_LOCK_EXCL);
	assert_int_equal(l.nholders, 1);
	/* same host, conflicting mode */
	assert_int_equal(vmfs_open(a, "/x", VMFS_O_READ, 0, &g), -EBUSY);
	/* another host: refused while the holder renews, naming the owner */
	assert_int_equal(vmfs_open(b, "/x", VMFS_O_READ, 0, &g), -EBUSY);
	assert_non_null(strstr(vmfs_strerror(b), "locked exclusive by host slot"));
	assert_int_equal(vmfs_unlink(b, "/x"), -EBUSY);
	assert_int_equal(vmfs_close(f), 0);
	/* shared read-only from both hosts */
	assert_int_equal(vmfs_open(a, "/x", VMFS_O_READ, 0, &f), 0);
	assert_int_equal(vmfs_open(b, "/x", VMFS_O_READ, 0, &g), 0);
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.mode, VMFS_LOCK_RO);
	assert_int_equal(l.nholders, 2);
	assert_int_equal(vmfs_open(b, "/x", VMFS_O_WRITE, 0, &h), -EBUSY);
	vmfs_close(f);
	vmfs_close(g);
	/* multi-writer */
	assert_int_equal(vmfs_open(a, "/x", VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &f), 0);
	assert_int_equal(vmfs_open(b, "/x", VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &g), 0);
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.mode, VMFS_LOCK_MW);
	vmfs_close(f);
	vmfs_close(g);
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.mode, VMFS_LOCK_FREE);
	tl_keep_alive(a, false);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(vmfs_unmount(a), 0);
	memdev_free(m);
}

/*
 * A host that crashed holding a lock comes back with the same identity: it is
 * a new incarnation in another slot, and the old one's lock is broken only
 * after the old slot was watched dead for a lease.
 */
static void test_stale_lock_after_crash(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1);
	struct vmfs_file *f;
	struct vmfs_lockrec l;
	struct vmfs_statfs s1, s2;
	uint64_t t0;

	(void)state;
	tl_write_file(a, "/x", "hello", 0, 5);
	assert_int_equal(vmfs_statfs(a, &s1), 0);
	assert_int_equal(vmfs_open(a, "/x", VMFS_O_WRITE, 0, &f), 0);
	memdev_crash_after(m, 0);	/* crash with the lock held */
	vmfs_unmount(a);
	memdev_reboot(m);
	a = tl_mount(m, 1);
	assert_int_equal(vmfs_statfs(a, &s2), 0);
	assert_int_not_equal(s2.slot, s1.slot);		/* never the live old slot */
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.mode, VMFS_LOCK_EXCL);
	assert_int_equal(l.holders[0].slot, s1.slot);
	t0 = vmfs_mono(a);
	assert_int_equal(vmfs_open(a, "/x", VMFS_O_WRITE, 0, &f), 0);
	assert_true(vmfs_mono(a) - t0 >= 16ull * 1000000000ull);	/* waited a lease */
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.nholders, 1);
	assert_int_equal(l.holders[0].slot, s2.slot);
	vmfs_close(f);
	assert_int_equal(vmfs_unmount(a), 0);
	memdev_free(m);
}

static void test_ats_device(void **state)
{
	struct vmfs_format_opts o = { .max_hosts = 4 };
	struct memdev *m = memdev_new(64 * MIB, true);
	struct vmfs_env env;
	struct vmfs_volume *vol;
	struct vmfs_file *f;
	char err[256];

	(void)state;
	memdev_env(&env, 1);
	assert_int_equal(vmfs_format(&m->dev, &env, &o, err, sizeof(err)), 0);
	assert_int_equal(vmfs_mount(&m->dev, &env, 0, &vol, err, sizeof(err)), 0);
	tl_write_file(vol, "/x", "abc", 0, 3);
	assert_int_equal(vmfs_open(vol, "/x", VMFS_O_WRITE, 0, &f), 0);
	vmfs_close(f);
	assert_int_equal(vmfs_unmount(vol), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

static void test_vmdk_parse(void **state)
{
	static const char good[] =
		"# Disk DescriptorFile\nversion=1\nCID=0000beef\ncreateType=\"vmfs\"\n"
		"RW 2048 VMFS \"d-flat.vmdk\"\nddb.thinProvisioned = \"1\"\n";
	struct vmfs_vmdk_info info;
	char err[256];
	char big[300];

	(void)state;
	assert_int_equal(vmfs_vmdk_parse(good, strlen(good), &info, err, sizeof(err)), 0);
	assert_int_equal(info.capacity, 2048 * 512);
	assert_string_equal(info.extent, "d-flat.vmdk");
	assert_string_equal(info.create_type, "vmfs");
	assert_true(info.thin);
	assert_int_equal(info.cid, 0xbeef);
	assert_int_equal(vmfs_vmdk_parse("garbage", 7, &info, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a VMDK"));
	snprintf(big, sizeof(big), "# Disk DescriptorFile\ncreateType=\"vmfsSparse\"\n");
	assert_int_equal(vmfs_vmdk_parse(big, strlen(big), &info, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "line 2"));
	snprintf(big, sizeof(big), "# Disk DescriptorFile\ncreateType=\"vmfs\"\nRW "
			"99999999999999999999999 VMFS \"x\"\n");
	assert_int_equal(vmfs_vmdk_parse(big, strlen(big), &info, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "line 3"));
	snprintf(big, sizeof(big), "# Disk DescriptorFile\ncreateType=\"vmfs\"\nRW 10 VMFS "
			"\"unterminated\n");
	assert_int_equal(vmfs_vmdk_parse(big, strlen(big), &info, err, sizeof(err)), -EINVAL);
	snprintf(big, sizeof(big), "# Disk DescriptorFile\ncreateType=\"vmfs\"\n");
	assert_int_equal(vmfs_vmdk_parse(big, strlen(big), &info, err, sizeof(err)), -ENOTSUP);
	assert_non_null(strstr(err, "exactly one"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_format_mount),
		cmocka_unit_test(test_format_errors),
		cmocka_unit_test(test_mount_hostile_header),
		cmocka_unit_test(test_alloc_clusters),
		cmocka_unit_test(test_heartbeat_slots),
		cmocka_unit_test(test_file_locks),
		cmocka_unit_test(test_stale_lock_after_crash),
		cmocka_unit_test(test_ats_device),
		cmocka_unit_test(test_vmdk_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
