/*
 * In-kernel test of every mounted datastore: write a file, flush it, read
 * it back and compare, on each. The file name carries this host's name so
 * hosts sharing a volume test side by side. Each verified datastore is
 * logged; the system tests count those lines against the disks they gave
 * the machine, so a datastore that failed to mount fails there. Fault
 * tests list the datastores whose device they break on the command line
 * (storage.expect_fail=a,b): those must fail, with the reason logged.
 */
#define pr_fmt(fmt) "datastore: " fmt
#include <stdio.h>
#include <string.h>
#include <drivers/blkdisk.h>
#include <vmkernel/bootmod.h>
#include <fs/kernel/datastore.h>
#include <vmkernel/hostid.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktest.h>
#include <vmkernel/log.h>
#include <vmkernel/cpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <fs/vmfs.h>

#define KT_BYTES (1024u * 1024 + 512 + 7)	/* not a multiple of a block or sector */

static uint8_t pat(uint32_t i, uint32_t seed)
{
	return (uint8_t)((i * 2654435761u + seed) >> 13);
}

static int verify_one(struct datastore *ds, uint8_t *buf, char *why, size_t len)
{
	const char *stage = "create";
	struct vmfs_file *f = NULL;
	char path[96];
	uint32_t seed = (uint32_t)time_ns();
	int64_t n;
	int rc;

	snprintf(path, sizeof(path), "/ktest-%s.bin", hostid_name());
	for (uint32_t i = 0; i < KT_BYTES; i++)
		buf[i] = pat(i, seed);
	mutex_lock(&ds->lock);
	rc = vmfs_open(ds->vol, path, VMFS_O_READ | VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_TRUNC,
		       0644, &f);
	if (!rc) {
		stage = "write";
		n = vmfs_write(f, 0, buf, KT_BYTES);
		rc = n == KT_BYTES ? 0 : n < 0 ? (int)n : -EIO;
	}
	if (!rc) {
		stage = "flush";
		rc = vmfs_fsync(f);
	}
	if (f && vmfs_close(f) && !rc)
		rc = -EIO;
	f = NULL;
	memset(buf, 0, KT_BYTES);
	if (!rc) {
		stage = "reopen";
		rc = vmfs_open(ds->vol, path, VMFS_O_READ, 0, &f);
	}
	if (!rc) {
		stage = "read back";
		n = vmfs_read(f, 0, buf, KT_BYTES);
		rc = n == KT_BYTES ? 0 : n < 0 ? (int)n : -EIO;
		vmfs_close(f);
	}
	for (uint32_t i = 0; !rc && i < KT_BYTES; i++) {
		if (buf[i] != pat(i, seed)) {
			stage = "compare";
			rc = -EIO;
		}
	}
	if (rc)
		snprintf(why, len, "%s failed (%d): %s", stage, rc, vmfs_strerror(ds->vol));
	mutex_unlock(&ds->lock);
	return rc;
}

/* Is label in the comma list storage.expect_fail= (fault tests name what they break)? */
static bool expected_to_fail(const char *label)
{
	const char *list = bootparam_get("storage.expect_fail");
	size_t n = strlen(label);

	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len == n && !strncmp(p, label, n))
			return true;
		p += len + (end ? 1 : 0);
	}
	return false;
}

/*
 * A datastore whose device a fault test takes away (the test pulls it once it is
 * mounted) must notice: wait up to a minute for its lease to be given up.
 */
static void wait_for_failures(void)
{
	uint64_t end = time_ns() + 60000000000ull;

	for (struct datastore *ds = datastore_first(); ds; ds = ds->next) {
		if (!expected_to_fail(ds->label))
			continue;
		pr_info("%s: waiting for its device to fail\n", ds->path);
		while (!ds->lease_lost && time_ns() < end)
			sched_block_until(rdtsc() + tsc_hz() / 10);
	}
}

KTEST(storage_datastores)
{
	uint8_t *buf = kmalloc(KT_BYTES);
	unsigned wrong = 0;
	char why[200];

	KT_ASSERT(buf != NULL);
	wait_for_failures();
	for (struct datastore *ds = datastore_first(); ds; ds = ds->next) {
		bool bad = expected_to_fail(ds->label);

		if (verify_one(ds, buf, why, sizeof(why))) {
			pr_err("%s: %s%s\n", ds->path, why, bad ? " (expected: its device fails)" : "");
			wrong += !bad;
			continue;
		}
		wrong += bad;
		pr_info("%s: wrote, flushed, read back and verified %u bytes (%s)%s\n", ds->path,
			KT_BYTES, ds->dev_name, bad ? ", but its device was meant to fail" : "");
	}
	kfree(buf);
	KT_ASSERT_EQ(wrong, 0);
}
