/* vmkfstools -P (filesystem information), -D (hosts and locks), fsck. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vmkfstools.h"

static void print_hex(const uint8_t *u, unsigned n, bool dashes)
{
	for (unsigned i = 0; i < n; i++)
		printf("%02x%s", u[i], dashes && (i == 3 || i == 5 || i == 7 || i == 9) ? "-" : "");
}

int cmd_queryfs(struct ctx *c)
{
	struct vmfs_statfs sf;
	int rc = open_volume(c, true);

	if (rc)
		return rc;
	if (vmfs_statfs(c->vol, &sf))
		return close_volume(c, vfail(c, c->image));
	printf("VMFS-6 (format %u.%u) file system on %s\n", sf.version_major, sf.version_minor,
	       c->image);
	printf("File system label (if any): %s\n", sf.label);
	printf("Capacity %llu (%llu file blocks * %u), %llu available, file block size %u, "
	       "sub-block size %u\n",
	       (unsigned long long)sf.capacity_bytes, (unsigned long long)sf.total[VMFS_RES_FB],
	       sf.block_size, (unsigned long long)sf.free_bytes, sf.block_size, sf.sb_size);
	printf("File descriptors %llu (%llu free), pointer blocks %llu (%llu free), sub-blocks "
	       "%llu (%llu free)\n",
	       (unsigned long long)sf.total[VMFS_RES_FD], (unsigned long long)sf.free[VMFS_RES_FD],
	       (unsigned long long)sf.total[VMFS_RES_PB], (unsigned long long)sf.free[VMFS_RES_PB],
	       (unsigned long long)sf.total[VMFS_RES_SB], (unsigned long long)sf.free[VMFS_RES_SB]);
	printf("UUID: ");
	print_hex(sf.uuid, 16, true);
	printf("\nMax hosts: %u, lease timeout: %u s\n", sf.max_hosts, sf.lease_timeout_s);
	return close_volume(c, 0);
}

static const char *lock_mode_name(uint32_t m)
{
	static const char *const n[] = { "free", "exclusive", "read-only", "multi-writer" };

	return m < 4 ? n[m] : "?";
}

/* The host that holds (slot, gen), by its identity, or a note that it is gone. */
static void print_holder(const struct vmfs_hbslot *hb, uint32_t nslots,
			 const struct vmfs_lockholder *h)
{
	printf(" slot %u generation %llu", h->slot, (unsigned long long)h->hb_gen);
	if (h->slot < nslots && hb[h->slot].magic == VMFS_MAGIC_HB &&
	    hb[h->slot].generation == h->hb_gen)
		printf(" (host '%.63s'%s)", hb[h->slot].host_name,
		       hb[h->slot].state == VMFS_HB_FREE ? ", gone" : "");
	else
		printf(" (an earlier incarnation)");
}

static void print_lock(const char *what, const struct vmfs_lockrec *l,
		       const struct vmfs_hbslot *hb, uint32_t nslots)
{
	printf("%s: %s, version %llu", what, lock_mode_name(l->mode),
	       (unsigned long long)l->version);
	for (uint32_t i = 0; i < l->nholders && i < VMFS_LOCK_MAX_HOLDERS; i++) {
		printf("%s", i ? "," : ", held by");
		print_holder(hb, nslots, &l->holders[i]);
	}
	if (l->meta_held) {
		printf("; metadata by");
		print_holder(hb, nslots, &l->meta);
	}
	printf("\n");
}

static void print_cluster_locks(struct ctx *c, const struct vmfs_hbslot *hb)
{
	const struct vmfs_volhdr *h = vmfs_header(c->vol);
	static const char *const tn[] = { "fd", "pointer-block", "sub-block", "file-block" };
	struct vmfs_lockrec l;
	char what[64];

	for (unsigned t = 0; t < VMFS_RES_NTYPES; t++) {
		for (uint32_t cl = 0; cl < h->reg[t].n_clusters; cl++) {
			if (vmfs_cluster_lock_read(c->vol, t, cl, &l) || l.mode == VMFS_LOCK_FREE)
				continue;
			snprintf(what, sizeof(what), "%s cluster %u", tn[t], cl);
			print_lock(what, &l, hb, h->max_hosts);
		}
	}
}

static double age_s(uint64_t stamp_ns)
{
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return now > stamp_ns ? (double)(now - stamp_ns) / 1e9 : 0;
}

static void print_slot(uint32_t s, const struct vmfs_hbslot *hb)
{
	static const char *const st[] = { "free", "live", "live (maintenance)" };

	if (hb->state == VMFS_HB_FREE) {
		printf("slot %u: free (last held by host '%.63s', generation %llu)\n", s,
		       hb->host_name, (unsigned long long)hb->generation);
		return;
	}
	printf("slot %u: %s, host '%.63s' identity ", s, st[hb->state], hb->host_name);
	print_hex(hb->host_uuid, 16, true);
	printf(" instance ");
	print_hex(hb->nonce, 8, false);
	printf(", generation %llu, counter %llu, renewed every %u ms, last %.1f s ago\n",
	       (unsigned long long)hb->generation, (unsigned long long)hb->counter,
	       hb->lease_ms, age_s(hb->stamp_ns));
}

int cmd_lockinfo(struct ctx *c, const char *path)
{
	const struct vmfs_volhdr *h;
	struct vmfs_hbslot *hb;
	struct vmfs_lockrec l;
	int rc = open_volume(c, true);

	if (rc)
		return rc;
	h = vmfs_header(c->vol);
	hb = calloc(h->max_hosts, sizeof(*hb));
	if (!hb)
		return close_volume(c, fail("out of memory"));
	for (uint32_t s = 0; s < h->max_hosts; s++)
		if (vmfs_heartbeat_read(c->vol, s, &hb[s]))
			memset(&hb[s], 0, sizeof(hb[s]));
	if (path) {
		rc = vmfs_file_lock_read(c->vol, path, &l) ? vfail(c, path) : 0;
		if (!rc)
			print_lock(path, &l, hb, h->max_hosts);
		free(hb);
		return close_volume(c, rc);
	}
	printf("Heartbeat region: %u slots, lease timeout %u s\n", h->max_hosts,
	       h->lease_timeout_s);
	for (uint32_t s = 0; s < h->max_hosts; s++) {
		struct vmfs_hbslot raw;

		if (hb[s].magic == VMFS_MAGIC_HB)
			print_slot(s, &hb[s]);
		else if (vmfs_heartbeat_read(c->vol, s, &raw))
			printf("slot %u: %s\n", s, vmfs_strerror(c->vol));
	}
	print_cluster_locks(c, hb);
	free(hb);
	return close_volume(c, 0);
}

static void fsck_report(void *arg, const char *msg)
{
	(void)arg;
	printf("  %s\n", msg);
}

int cmd_fsck(struct ctx *c, bool repair, bool force)
{
	struct vmfs_fsck_result res = { .report = fsck_report };
	char err[256];
	int rc = open_dev(c, 0, !repair);

	if (rc)
		return rc;
	rc = vmfs_fsck(&c->fdv.dev, &c->env, (repair ? VMFS_FSCK_REPAIR : 0) |
		       (force ? VMFS_FSCK_FORCE : 0), &res, err, sizeof(err));
	filedev_close(&c->fdv);
	if (rc)
		return fail("%s: check failed: %s", c->image, err);
	printf("%s: %u problem(s), %u repaired, %u journal transaction(s) replayed\n", c->image,
	       res.problems, res.repaired, res.replayed);
	return res.problems > res.repaired ? EXIT_FAIL : 0;
}
