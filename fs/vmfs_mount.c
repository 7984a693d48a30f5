/*
 * Mount and unmount.
 *
 * Mount order: validate the header against the device (nothing past the
 * header is trusted until then), claim a heartbeat slot (a free one, or one
 * found dead after a lease: vmfs_claim.c), replay the journal of the slot's
 * previous incarnation, refuse while another host holds the volume for
 * maintenance, check the root directory.
 * Read-only mounts skip the slot and the replay and never write. Our own
 * replay runs inside the arbitration section, like any replay of another
 * host's journal, so two replays of one journal never interleave with
 * someone's later change. Other dead hosts are recovered lazily (when a lock
 * they held is needed, vmfs_lock.c) or all at once by vmfs_recover().
 *
 * Unmount: close open files (releasing their locks), release cluster locks,
 * mark the heartbeat slot free, flush. After a failed commit or a lost lease
 * nothing is written: the slot stays live and unrenewed, so other hosts find
 * it dead after a lease, replay its journal and break its locks.
 */
#include "vmfs_priv.h"

static int read_header(struct vmfs_volume *vol, char *err, size_t errlen)
{
	uint64_t dev_bytes = vol->dev->sectors * VMFS_SECTOR;
	struct vmfs_volhdr backup;
	char msg[200];
	int rc;

	if (vol->dev->sectors < 2 * VMFS_MD_BLOCK / VMFS_SECTOR) {
		vmfs_fmterr(err, errlen, "device too small for a volume (%llu bytes)",
			    (unsigned long long)dev_bytes);
		return -ENODEV;
	}
	rc = vmfs_raw_read(vol->dev, 0, &vol->hdr, sizeof(vol->hdr));
	if (!rc)
		rc = vmfs_raw_read(vol->dev, VMFS_HDR_BACKUP_OFF, &backup, sizeof(backup));
	if (rc) {
		vmfs_fmterr(err, errlen, "reading the volume header failed (%d)", rc);
		return rc;
	}
	rc = vmfs_hdr_validate(&vol->hdr, dev_bytes, err, errlen);
	if (rc == -EIO && vol->hdr.magic == VMFS_MAGIC_HDR &&
	    !vmfs_hdr_validate(&backup, dev_bytes, msg, sizeof(msg)))
		vmfs_fmterr(err, errlen, "volume header: checksum mismatch; the backup copy at "
				"offset %llu is intact (fsck --repair restores it)",
			    (unsigned long long)VMFS_HDR_BACKUP_OFF);
	return rc;
}

static int alloc_buffers(struct vmfs_volume *vol)
{
	vol->bounce = vmfs_zalloc(vol, VMFS_MD_BLOCK);
	if (!vol->bounce)
		return -ENOMEM;
	return vol->rdonly ? 0 : vmfs_cache_init(vol, VMFS_CACHE_BLOCKS);
}

static void free_volume(struct vmfs_volume *vol)
{
	vmfs_free(vol, vol->zero_mem);
	vmfs_free(vol, vol->bounce);
	vmfs_free(vol, vol->jbuf);
	vmfs_cache_destroy(vol);
	vmfs_held_destroy(vol);
	vmfs_free(vol, vol->hb_all);
	vmfs_free(vol, vol->wants);
	vmfs_free(vol, vol->wants_by);
	vmfs_free(vol, vol->hb_scan);
	vmfs_free(vol, vol->wants_seq);
	vmfs_free(vol, vol->wants_done);
	vmfs_free(vol, vol->seen);
	vmfs_free(vol, vol->arbv);
	vol->env.free(vol->env.ctx, vol);
}

static int check_root(struct vmfs_volume *vol)
{
	struct vmfs_fd *root = vmfs_zalloc(vol, sizeof(*root));
	int rc = root ? vmfs_fd_peek(vol, NULL, vol->hdr.root_fd, root) : -ENOMEM;

	if (!rc && root->type != VMFS_FT_DIR)
		rc = vmfs_seterr(vol, -EIO, "root descriptor %u is not a directory",
				 vol->hdr.root_fd);
	vmfs_free(vol, root);
	return rc;
}

static int mount_rw(struct vmfs_volume *vol, unsigned flags)
{
	int rc = vmfs_hb_claim(vol, flags & VMFS_MOUNT_MAINT), r;

	if (!rc && (flags & VMFS_MOUNT_MAINT) && !(flags & VMFS_MOUNT_FORCE))
		rc = vmfs_hb_wait_alone(vol);
	if (!rc && !(flags & VMFS_MOUNT_MAINT))
		rc = vmfs_hb_check_maint(vol);
	if (rc)
		return rc;
	vol->jbase = vmfs_journal_off(vol, vol->slot);
	rc = vmfs_arb_init(vol);
	if (!rc)
		rc = vmfs_arb_acquire(vol);
	if (rc)
		return rc;
	rc = vmfs_journal_init(vol);
	r = vmfs_arb_release(vol);
	if (!rc)
		rc = r;
	for (unsigned t = 0; t < VMFS_RES_NTYPES; t++)
		vol->hint[t] = (uint32_t)((uint64_t)vol->slot * vol->hdr.reg[t].n_clusters /
					  vol->hdr.max_hosts);
	return rc;
}

int vmfs_mount(struct blockdev *dev, const struct vmfs_env *env, unsigned flags,
	       struct vmfs_volume **out, char *err, size_t errlen)
{
	struct vmfs_volume *vol;
	int rc;

	*out = NULL;
	if (dev->sector_size != VMFS_SECTOR) {
		vmfs_fmterr(err, errlen, "device sector size %u is not supported (need 512)",
			    dev->sector_size);
		return -ENOTSUP;
	}
	vol = env->alloc(env->ctx, sizeof(*vol));
	if (!vol) {
		vmfs_fmterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	memset(vol, 0, sizeof(*vol));
	vol->dev = dev;
	vol->env = *env;
	vol->rdonly = flags & VMFS_MOUNT_RDONLY;
	vol->slot = ~0u;
	rc = read_header(vol, err, errlen);
	if (rc) {
		free_volume(vol);
		return rc;
	}
	vol->data_end = vol->hdr.reg[VMFS_RES_FB].res_off +
		(uint64_t)vol->hdr.reg[VMFS_RES_FB].count * vol->hdr.block_size;
	rc = alloc_buffers(vol);
	if (rc)
		vmfs_seterr(vol, rc, "out of memory");
	if (!rc && !vol->rdonly)
		rc = mount_rw(vol, flags);
	if (!rc)
		rc = check_root(vol);
	if (rc) {
		vmfs_fmterr(err, errlen, "%s", vol->err);
		if (vol->lease == VMFS_LEASE_ACTIVE && !vol->rdonly)
			vmfs_hb_release(vol);
		free_volume(vol);
		return rc;
	}
	*out = vol;
	return 0;
}

/* Forget a mounted volume without writing anything (it is about to be reformatted). */
void vmfs_abandon(struct vmfs_volume *vol)
{
	while (vol->open_files) {
		struct vmfs_file *f = vol->open_files;

		vol->open_files = f->next;
		vmfs_free(vol, f);
	}
	free_volume(vol);
}

int vmfs_unmount_err(struct vmfs_volume *vol, char *err, size_t errlen)
{
	int rc = 0, r;

	if (!vol)
		return 0;
	while (vol->open_files) {
		r = vmfs_close(vol->open_files);
		if (r && !rc)
			rc = r;
	}
	if (!vol->rdonly && (vol->failed || !vmfs_lease_valid(vol))) {
		rc = vmfs_seterr(vol, -EIO, "unmounted without releasing locks (lease lost or "
				 "a commit failed): other hosts recover them after the lease");
	} else if (!vol->rdonly) {
		r = vmfs_lock_give_back_all(vol);	/* checkpoints the journal first */
		if (r && !rc)
			rc = r;
		if (!vmfs_arb_check_own(vol))	/* leave the arbitration region readable */
			vmfs_arb_clean_free(vol);
		r = vmfs_hb_release(vol);
		if (r && !rc)
			rc = r;
	}
	if (rc && err && errlen)
		snprintf(err, errlen, "%s", vol->err);
	free_volume(vol);
	return rc;
}

int vmfs_unmount(struct vmfs_volume *vol)
{
	return vmfs_unmount_err(vol, NULL, 0);
}

const struct vmfs_volhdr *vmfs_header(const struct vmfs_volume *vol)
{
	return &vol->hdr;
}

int vmfs_statfs(struct vmfs_volume *vol, struct vmfs_statfs *sf)
{
	const struct vmfs_volhdr *h = &vol->hdr;

	memset(sf, 0, sizeof(*sf));
	memcpy(sf->label, h->label, sizeof(sf->label));
	memcpy(sf->uuid, h->uuid, sizeof(sf->uuid));
	sf->version_major = h->version_major;
	sf->version_minor = h->version_minor;
	sf->block_size = h->block_size;
	sf->sb_size = h->sb_size;
	sf->max_hosts = h->max_hosts;
	sf->lease_timeout_s = h->lease_timeout_s;
	sf->slot = vol->slot;
	sf->hb_gen = vol->hb_gen;
	sf->vol_bytes = h->vol_bytes;
	for (unsigned t = 0; t < VMFS_RES_NTYPES; t++) {
		int rc = vmfs_count_free(vol, t, &sf->free[t]);

		if (rc)
			return rc;
		sf->total[t] = h->reg[t].count;
	}
	sf->capacity_bytes = (uint64_t)h->reg[VMFS_RES_FB].count * h->block_size;
	sf->free_bytes = sf->free[VMFS_RES_FB] * h->block_size;
	return 0;
}

int vmfs_cluster_lock_read(struct vmfs_volume *vol, enum vmfs_res_type type, uint32_t cluster,
			   struct vmfs_lockrec *out)
{
	if ((unsigned)type >= VMFS_RES_NTYPES || cluster >= vol->hdr.reg[type].n_clusters)
		return vmfs_seterr(vol, -ERANGE, "no such cluster");
	return vmfs_lock_read(vol, vmfs_clus_off(vol, type, cluster), out);
}

int vmfs_file_lock_read(struct vmfs_volume *vol, const char *path, struct vmfs_lockrec *out)
{
	uint32_t fd;
	int rc = vmfs_lookup(vol, path, &fd);

	return rc ? rc : vmfs_lock_read(vol, vmfs_fd_off(vol, fd), out);
}

/* ---- recovery of dead hosts ---- */

static int scrub_type(struct vmfs_volume *vol, unsigned t, uint32_t slot, uint64_t gen,
		      unsigned *n)
{
	uint32_t cnt = t == VMFS_RES_FD ? vol->hdr.reg[t].count : vol->hdr.reg[t].n_clusters;

	for (uint32_t i = 0; i < cnt; i++) {
		uint64_t off = t == VMFS_RES_FD ? vmfs_fd_off(vol, i) : vmfs_clus_off(vol, t, i);
		bool changed;
		int rc = vmfs_lock_scrub(vol, off, slot, gen, &changed);

		if (rc == -EIO && !vol->failed && vmfs_lease_valid(vol))
			continue;	/* a corrupt record is fsck's business */
		if (rc)
			return rc;
		*n += changed;
	}
	return 0;
}

/*
 * Replay a dead host's journal and fence it, optionally remove it from every
 * lock record (locks naming a freed incarnation count as gone anyway), and
 * free its slot (inside arb). The slot keeps its generation, so the next
 * claim moves past every lock the dead incarnation held.
 */
static int recover_slot(struct vmfs_volume *vol, uint32_t slot, uint64_t gen, bool scrub)
{
	struct vmfs_hbslot hb;
	enum vmfs_holder st;
	unsigned n = 0;
	int rc = vmfs_holder_state(vol, slot, gen, &st), r;

	if (rc || st != VMFS_HOLDER_DEAD)
		return rc;
	rc = vmfs_arb_acquire(vol);
	if (rc)
		return rc;
	rc = vmfs_replay_dead(vol, slot, gen);
	if (!rc && scrub)
		rc = scrub_type(vol, VMFS_RES_FD, slot, gen, &n);
	for (unsigned t = 1; scrub && !rc && t < VMFS_RES_NTYPES; t++)
		rc = scrub_type(vol, t, slot, gen, &n);
	if (!rc)
		rc = vmfs_heartbeat_read(vol, slot, &hb);
	if (!rc && hb.generation == gen && hb.state != VMFS_HB_FREE) {
		hb.state = VMFS_HB_FREE;
		hb.counter++;
		vmfs_seal(&hb, sizeof(hb));
		rc = vmfs_dev_write(vol, vmfs_hb_off(vol, slot), &hb, sizeof(hb));
	}
	r = vmfs_arb_release(vol);
	return rc ? rc : r;
}

/* One pass over the slots: recover those already seen dead; *waiting: some not yet judged. */
static int recover_pass(struct vmfs_volume *vol, bool scrub, bool *waiting, unsigned *recovered)
{
	struct vmfs_hbslot hb;
	enum vmfs_holder st;
	int rc = 0;

	*waiting = false;
	for (uint32_t s = 0; !rc && s < vol->hdr.max_hosts; s++) {
		if (s == vol->slot || vmfs_heartbeat_read(vol, s, &hb) ||
		    hb.state == VMFS_HB_FREE)
			continue;
		rc = vmfs_holder_state(vol, s, hb.generation, &st);
		if (!rc && st == VMFS_HOLDER_DEAD) {
			rc = recover_slot(vol, s, hb.generation, scrub);
			*recovered += !rc;
		}
		*waiting |= st == VMFS_HOLDER_UNKNOWN;
	}
	return rc ? rc : vmfs_lease_check(vol);
}

int vmfs_recover(struct vmfs_volume *vol, unsigned *recovered)
{
	uint64_t start = vmfs_mono(vol), limit = vol->lease_ns + vol->lease_ns / 4;
	bool waiting = true;
	int rc = 0;

	*recovered = 0;
	if (vol->rdonly)
		return vmfs_seterr(vol, -EPERM, "volume is mounted read-only");
	while (!rc && waiting) {
		rc = recover_pass(vol, true, &waiting, recovered);
		if (!rc && waiting) {
			if (vmfs_mono(vol) - start > limit)
				break;
			vol->env.sleep_ms(vol->env.ctx, vmfs_renew_interval_ms(vol));
		}
	}
	return rc;
}

int vmfs_housekeep(struct vmfs_volume *vol, unsigned *recovered)
{
	bool waiting;
	int rc;

	*recovered = 0;
	if (vol->rdonly)
		return 0;
	rc = vmfs_journal_checkpoint(vol);	/* let other hosts see our changes */
	if (!rc)
		rc = vmfs_release_wanted(vol);
	if (!rc)
		rc = vmfs_arb_check_own(vol);
	if (!rc)
		rc = vmfs_arb_clean_free(vol);
	return rc ? rc : recover_pass(vol, false, &waiting, recovered);
}
