/*
 * Datastores: the VMFS volumes the vmkernel found on its disks and mounted
 * at boot, each under /vmfs/volumes/<label> (drivers/block/datastore.c).
 *
 * At INIT_VMM (before VMs start at INIT_LATE) every GPT partition of VMFS type is offered to vmfs_mount()
 * with this host's identity (hostid.h); a volume that cannot be mounted
 * (damaged, a newer version, no free heartbeat slot, 4Kn disk) is named
 * with the reason and skipped. A helper world renews every mounted
 * volume's heartbeat; a volume whose lease is lost refuses further writes
 * (VMFS fences itself) and is marked so. Another hands locks this host
 * keeps to other hosts that ask for them, and does VMFS housekeeping.
 *
 * Until every disk is reached through a native driver, a VMFS volume may
 * also come as a multiboot2 module whose name ends in ".vmfs": it is
 * mounted from a RAM copy the same way, after the disks (the copy's
 * changes last as long as this boot).
 *
 * Calls on one volume must be serialised: take ds->lock around them.
 */
#ifndef DATASTORE_H
#define DATASTORE_H

#include <stdbool.h>
#include <vmkernel/mutex.h>

struct blk_part;
struct vmfs_volume;
struct vmfs_env;

struct datastore {
	char label[64];
	char path[96];			/* "/vmfs/volumes/<label>" */
	struct blk_part *part;		/* the partition, or NULL for a boot module */
	char dev_name[64];		/* the partition's or the module's name */
	struct blockdev *dev;
	struct vmfs_volume *vol;
	struct mutex lock;		/* serialises calls on vol (not heartbeat renewals) */
	struct mutex renew_lock;	/* serialises heartbeat renewals */
	bool ats;			/* locks use COMPARE AND WRITE, not Disk Paxos */
	unsigned renew_ms;		/* heartbeat renewal interval */
	volatile bool lease_lost;	/* renewals failed, or (set under lock) unmounting */
	bool service_due;		/* another host asked for a lock (atomic) */
	bool service_failed;		/* the service world's last call failed (its own) */
	uint64_t housekeep_ns;		/* the service world's next housekeeping (its own) */
	struct datastore *next;
};

struct datastore *datastore_first(void);
unsigned datastore_count(void);
/* By label or by path "/vmfs/volumes/<label>[/...]"; *rest gets the path inside (or NULL). */
struct datastore *datastore_find(const char *name, const char **rest);
/*
 * Before unmounting, with ds->lock held: no more heartbeat renewals and no
 * more service (lease_lost is then set).
 */
void datastore_stop_renewing(struct datastore *ds);
/* The environment VMFS runs in on this host (memory, clocks, identity). */
const struct vmfs_env *datastore_env(void);

#endif
