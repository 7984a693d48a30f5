/* Helpers shared by the VMFS unit tests (include after cmocka.h). */
#ifndef TESTS_FS_TESTLIB_H
#define TESTS_FS_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memdev.h"

#define MIB (1024ull * 1024)
#define GIB (1024ull * MIB)
#define TIB (1024ull * GIB)

static inline struct memdev *tl_format(uint64_t bytes, uint32_t block_size, uint32_t hosts)
{
	struct vmfs_format_opts o = { .label = "unit", .block_size = block_size,
				      .max_hosts = hosts ? hosts : 4 };
	struct vmfs_env env;
	struct memdev *m = memdev_new(bytes, false);
	char err[256] = "";
	int rc;

	memdev_env(&env, 1);
	rc = vmfs_format(&m->dev, &env, &o, err, sizeof(err));
	if (rc)
		fprintf(stderr, "format: %s\n", err);
	assert_int_equal(rc, 0);
	return m;
}

static inline struct vmfs_volume *tl_mount(struct memdev *m, uint8_t host)
{
	struct vmfs_env env;
	struct vmfs_volume *vol = NULL;
	char err[256] = "";
	int rc;

	memdev_env(&env, host);
	rc = vmfs_mount(&m->dev, &env, 0, &vol, err, sizeof(err));
	if (rc)
		fprintf(stderr, "mount: %s\n", err);
	assert_int_equal(rc, 0);
	return vol;
}

/* What a host does after a crash and restart: recover its dead earlier incarnation. */
static inline void tl_recover(struct vmfs_volume *vol)
{
	unsigned n = 0;

	assert_int_equal(vmfs_recover(vol, &n), 0);
}

/*
 * Hosts kept alive while another waits: every simulated sleep renews their
 * heartbeats (as their renewal threads would), so they are judged alive.
 */
#define TL_MAX_ALIVE 16
static struct vmfs_volume *tl_alive[TL_MAX_ALIVE];

static inline void tl_renew_hook(unsigned ms)
{
	static int depth;

	(void)ms;
	if (depth++ == 0) {
		for (int i = 0; i < TL_MAX_ALIVE; i++)
			if (tl_alive[i])
				vmfs_heartbeat_renew(tl_alive[i]);
		for (int i = 0; i < TL_MAX_ALIVE; i++)	/* as their own threads would */
			if (tl_alive[i])
				vmfs_release_wanted(tl_alive[i]);
	}
	depth--;
}

static inline void tl_keep_alive(struct vmfs_volume *vol, bool on)
{
	for (int i = 0; i < TL_MAX_ALIVE; i++) {
		if (on && !tl_alive[i]) {
			tl_alive[i] = vol;
			break;
		}
		if (!on && tl_alive[i] == vol)
			tl_alive[i] = NULL;
	}
	memdev_sleep_hook = tl_renew_hook;
}

static inline void tl_report(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "  fsck: %s\n", msg);
}

/* Run the checker (read-only) and return the number of problems. */
static inline unsigned tl_fsck(struct memdev *m, bool quiet)
{
	struct vmfs_fsck_result res = { .report = quiet ? NULL : tl_report };
	struct vmfs_env env;
	char err[256] = "";
	int rc;

	memdev_env(&env, 9);
	rc = vmfs_fsck(&m->dev, &env, 0, &res, err, sizeof(err));
	if (rc) {
		if (!quiet)
			fprintf(stderr, "fsck: %s\n", err);
		return 1000;
	}
	return res.problems;
}

static inline void tl_write_file(struct vmfs_volume *vol, const char *path, const void *buf,
				 uint64_t off, uint64_t len)
{
	struct vmfs_file *f;

	assert_int_equal(vmfs_open(vol, path, VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f), 0);
	assert_int_equal(vmfs_write(f, off, buf, len), (int64_t)len);
	assert_int_equal(vmfs_fsync(f), 0);
	assert_int_equal(vmfs_close(f), 0);
}

static inline int64_t tl_read_file(struct vmfs_volume *vol, const char *path, void *buf,
				   uint64_t off, uint64_t len)
{
	struct vmfs_file *f;
	int64_t n;
	int rc = vmfs_open(vol, path, VMFS_O_READ, 0, &f);

	if (rc)
		return rc;
	n = vmfs_read(f, off, buf, len);
	vmfs_close(f);
	return n;
}

static inline void tl_fill(uint8_t *buf, uint64_t len, uint32_t seed)
{
	for (uint64_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
}

#endif
