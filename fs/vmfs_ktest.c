/*
 * In-kernel test of fs/: mount the VMFS image handed over as the multiboot2
 * module "vmfs.img" through a RAM disk, write and read files, remount,
 * check. Kernel-only: host builds (which compile every fs/ source) see an empty file.
 */
#if !__STDC_HOSTED__
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktest.h>
#include <vmkernel/bootmod.h>
#include <drivers/ramdisk.h>
#include <vmkernel/timer.h>
#include <vmkernel/cpu.h>
#include <fs/vmfs.h>

#define KT_FILE_BYTES (100u * 1024)

static void *kt_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return kmalloc(n ? n : 1);
}

static void kt_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

static uint64_t kt_now(void *ctx)
{
	(void)ctx;
	return time_ns();
}

static void kt_sleep(void *ctx, unsigned ms)
{
	uint64_t end = time_ns() + (uint64_t)ms * 1000000ull;

	(void)ctx;
	while (time_ns() < end)
		;
}

static void kt_env(struct vmfs_env *env)
{
	memset(env, 0, sizeof(*env));
	env->alloc = kt_alloc;
	env->free = kt_free;
	env->now_ns = kt_now;
	env->mono_ns = kt_now;
	env->sleep_ms = kt_sleep;
	memcpy(env->host_uuid, "vmkernel-ktest-0", 16);
	memcpy(env->host_name, "vmkernel", 9);
	/* a per-boot nonce; the real one comes with the kernel's host identity */
	uint64_t t = rdtsc(), n = time_ns() ^ (uint64_t)(uintptr_t)env;

	memcpy(env->nonce, &t, 8);
	memcpy(env->nonce + 8, &n, 8);
	env->nonce[15] |= 1;
}

static uint8_t kt_pattern(uint32_t i)
{
	return (uint8_t)(i * 7 + (i >> 9));
}

struct kt_seen {
	int found;
};

static int kt_readdir(void *arg, const char *name, const struct vmfs_stat *st)
{
	struct kt_seen *s = arg;

	if (!strcmp(name, "data.bin") && st->size == KT_FILE_BYTES)
		s->found++;
	return 0;
}

static int kt_verify(struct vmfs_volume *vol, uint8_t *buf)
{
	struct vmfs_file *f;
	int64_t n;

	if (vmfs_open(vol, "/ktest/data.bin", VMFS_O_READ, 0, &f))
		return -1;
	memset(buf, 0, KT_FILE_BYTES);
	n = vmfs_read(f, 0, buf, KT_FILE_BYTES);
	vmfs_close(f);
	if (n != KT_FILE_BYTES)
		return -2;
	for (uint32_t i = 0; i < KT_FILE_BYTES; i++)
		if (buf[i] != kt_pattern(i))
			return -3;
	return 0;
}

KTEST(vmfs_ramdisk)
{
	const struct boot_module *mod = bootmod_find("vmfs.img");
	struct vmfs_fsck_result res = { 0 };
	struct kt_seen seen = { 0 };
	struct vmfs_volume *vol;
	struct vmfs_file *f;
	struct blockdev *dev;
	struct vmfs_env env;
	uint8_t *buf;
	char err[256];

	KT_ASSERT(mod != NULL);
	dev = ramdisk_create(mod->data, mod->size);
	buf = kmalloc(KT_FILE_BYTES);
	KT_ASSERT(dev != NULL && buf != NULL);
	kt_env(&env);
	KT_ASSERT_EQ(vmfs_mount(dev, &env, 0, &vol, err, sizeof(err)), 0);
	KT_ASSERT_EQ(vmfs_mkdir(vol, "/ktest", 0755), 0);
	KT_ASSERT_EQ(vmfs_open(vol, "/ktest/data.bin", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f),
		     0);
	for (uint32_t i = 0; i < KT_FILE_BYTES; i++)
		buf[i] = kt_pattern(i);
	KT_ASSERT_EQ(vmfs_write(f, 0, buf, KT_FILE_BYTES), KT_FILE_BYTES);
	KT_ASSERT_EQ(vmfs_fsync(f), 0);
	KT_ASSERT_EQ(vmfs_close(f), 0);
	KT_ASSERT_EQ(kt_verify(vol, buf), 0);
	KT_ASSERT_EQ(vmfs_readdir(vol, "/ktest", kt_readdir, &seen), 0);
	KT_ASSERT_EQ(seen.found, 1);
	KT_ASSERT_EQ(vmfs_unmount(vol), 0);
	KT_ASSERT_EQ(vmfs_mount(dev, &env, 0, &vol, err, sizeof(err)), 0);
	KT_ASSERT_EQ(kt_verify(vol, buf), 0);
	KT_ASSERT_EQ(vmfs_unmount(vol), 0);
	KT_ASSERT_EQ(vmfs_fsck(dev, &env, 0, &res, err, sizeof(err)), 0);
	KT_ASSERT_EQ(res.problems, 0);
	kfree(buf);
	ramdisk_destroy(dev);
}
#endif
