/*
 * The shared-LUN workload the multi-host system test runs on every host
 * (kernel option storage.multihost=LABEL:VICTIM; tests/system/storage.sh).
 *
 * Each host, on the datastore LABEL that all of them mount:
 *   - holds an exclusive lock on /shared/<host>.lock for its whole run;
 *   - repeatedly creates /shared/<host>-<n>.tmp, writes it, fsyncs it and
 *     renames it to /shared/<host>-<n>.dat, logging "multihost: ack" once
 *     the rename has returned (VMFS commits it durably before that);
 * The host named VICTIM never stops: the test kills its emulator mid-write.
 * The others, after their own operations, open the victim's lock file
 * until they can: VMFS breaks a dead holder's lock only after its lease
 * and replays its journal first. Then they unmount cleanly and end the
 * run; the test checks the volume and every acknowledged file from Linux.
 */
#define pr_fmt(fmt) "multihost: " fmt
#include <stdio.h>
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <fs/kernel/datastore.h>
#include <vmkernel/hostid.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/platform.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <fs/vmfs.h>

#define SURVIVOR_OPS 12
#define VICTIM_OPS 25		/* then it idles; the test kills it long before */
#define LINE 32

struct job {
	struct datastore *ds;
	char victim[32];
	bool is_victim;
	const char *me;
	char *buf;
};

/* The file's contents: "<host>-<n>" lines; the test regenerates and compares them. */
static uint32_t fill(struct job *j, unsigned n)
{
	uint32_t lines = 256 + 37 * (n % 7);
	char line[LINE + 1];

	snprintf(line, sizeof(line), "%-*.*s\n", LINE - 1, LINE - 1, "");
	snprintf(line, LINE, "%s-%u", j->me, n);
	for (size_t k = strlen(line); k < LINE - 1; k++)
		line[k] = '.';
	line[LINE - 1] = '\n';
	for (uint32_t i = 0; i < lines; i++)
		memcpy(j->buf + (size_t)i * LINE, line, LINE);
	return lines * LINE;
}

static int one_op(struct job *j, unsigned n)
{
	struct vmfs_volume *vol = j->ds->vol;
	char tmp[96], dat[96];
	struct vmfs_file *f;
	uint32_t len = fill(j, n);
	int rc;

	snprintf(tmp, sizeof(tmp), "/shared/%s-%u.tmp", j->me, n);
	snprintf(dat, sizeof(dat), "/shared/%s-%u.dat", j->me, n);
	mutex_lock(&j->ds->lock);
	rc = vmfs_open(vol, tmp, VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_TRUNC, 0644, &f);
	if (!rc) {
		int64_t w = vmfs_write(f, 0, j->buf, len);

		rc = w == len ? vmfs_fsync(f) : w < 0 ? (int)w : -EIO;
		if (vmfs_close(f) && !rc)
			rc = -EIO;
	}
	if (!rc)
		rc = vmfs_rename(vol, tmp, dat);
	if (rc)
		pr_err("%s: operation %u failed (%d): %s\n", j->me, n, rc, vmfs_strerror(vol));
	mutex_unlock(&j->ds->lock);
	if (!rc)
		pr_info("ack %s %u %u\n", j->me, n, len);
	return rc;
}

/* Open the victim's lock file until VMFS has broken its dead holder's lock. */
static int take_over(struct job *j)
{
	char path[96];
	uint64_t end = time_ns() + 120000000000ull;
	struct vmfs_file *f;
	int rc;

	snprintf(path, sizeof(path), "/shared/%s.lock", j->victim);
	do {
		mutex_lock(&j->ds->lock);
		rc = vmfs_open(j->ds->vol, path, VMFS_O_WRITE, 0, &f);
		if (!rc)
			vmfs_close(f);
		mutex_unlock(&j->ds->lock);
		if (!rc) {
			pr_info("%s took over %s: the dead host's lock was broken\n", j->me, path);
			return 0;
		}
		sched_block_until(rdtsc() + tsc_hz() / 2);
	} while (time_ns() < end);
	pr_err("%s: %s stayed locked for 120 s: %s\n", j->me, path, vmfs_strerror(j->ds->vol));
	return rc;
}

static int run(struct job *j)
{
	struct vmfs_file *lock;
	char path[96];
	int rc;

	mutex_lock(&j->ds->lock);
	rc = vmfs_mkdir(j->ds->vol, "/shared", 0755);
	if (rc == -EEXIST)
		rc = 0;
	snprintf(path, sizeof(path), "/shared/%s.lock", j->me);
	if (!rc)
		rc = vmfs_open(j->ds->vol, path, VMFS_O_WRITE | VMFS_O_CREAT, 0644, &lock);
	if (rc)
		pr_err("%s: cannot set up (%d): %s\n", j->me, rc, vmfs_strerror(j->ds->vol));
	mutex_unlock(&j->ds->lock);
	if (rc)
		return rc;
	pr_info("%s holds the lock on %s\n", j->me, path);
	for (unsigned n = 1; n <= (j->is_victim ? VICTIM_OPS : SURVIVOR_OPS); n++) {
		rc = one_op(j, n);
		if (rc)
			return rc;
	}
	if (j->is_victim) {
		pr_warn("%s: all %u operations done and still alive: the test meant to kill this "
			"host mid-write\n", j->me, VICTIM_OPS);
		for (;;)
			sched_block_until(rdtsc() + tsc_hz());
	}
	rc = take_over(j);
	mutex_lock(&j->ds->lock);
	vmfs_close(lock);
	mutex_unlock(&j->ds->lock);
	return rc;
}

static void workload(void *arg)
{
	struct job *j = arg;
	int rc = run(j);
	unsigned recovered = 0;
	char err[256] = "";

	if (!rc) {
		mutex_lock(&j->ds->lock);
		vmfs_recover(j->ds->vol, &recovered);	/* anything left over: usually nothing */
		datastore_stop_renewing(j->ds);
		rc = vmfs_unmount_err(j->ds->vol, err, sizeof(err));
		mutex_unlock(&j->ds->lock);
	}
	if (rc)
		pr_err("%s: FAILED (%d)%s%s\n", j->me, rc, err[0] ? ": unmount: " : "", err);
	else
		pr_info("%s done: %u more host(s) recovered at the end, volume unmounted\n", j->me,
			recovered);
	platform_exit(rc ? PLATFORM_EXIT_FAIL : PLATFORM_EXIT_PASS);
}

static int multihost_init(void)
{
	const char *spec = bootparam_get("storage.multihost");
	const char *colon = spec ? strchr(spec, ':') : NULL;
	static struct job j;
	char label[64];

	if (!spec)
		return 0;
	if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof(label)) {
		pr_err("storage.multihost=%s: expected LABEL:VICTIM\n", spec);
		return -EINVAL;
	}
	snprintf(label, sizeof(label), "%.*s", (int)(colon - spec), spec);
	snprintf(j.victim, sizeof(j.victim), "%s", colon + 1);
	j.ds = datastore_find(label, NULL);
	j.me = hostid_name();
	j.is_victim = !strcmp(j.me, j.victim);
	j.buf = kmalloc(LINE * 512);
	if (!j.ds || !j.buf) {
		pr_err("%s: datastore '%s' is not mounted; nothing to run\n", j.me, label);
		platform_exit(PLATFORM_EXIT_FAIL);
	}
	pr_info("%s starts on %s (%s)\n", j.me, j.ds->path, j.is_victim ? "the victim" : "a survivor");
	if (!world_create("multihost", workload, &j, 0, NULL, NULL))
		return -ENOMEM;
	return 0;
}
INIT_LEVEL(multihost_init, INIT_LATE);
