/*
 * Datastores: finding and mounting VMFS volumes at boot, and keeping their
 * heartbeats (see include/datastore.h).
 *
 * The list is built once at INIT_VMM on the boot CPU and never shrinks;
 * a datastore whose lease is lost stays listed, marked. The heartbeat
 * world runs on the last CPU and renews each volume at the interval VMFS
 * asks for; renewals are the one call VMFS allows concurrently with
 * others on the same volume, so it does not take ds->lock. The service
 * world (below) takes ds->lock like any other caller.
 */
#define pr_fmt(fmt) "datastore: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/blkdisk.h>
#include <drivers/ramdisk.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cpu.h>
#include <fs/kernel/datastore.h>
#include <vmkernel/hostid.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <drivers/scsi.h>
#include <vmkernel/sched.h>
#include <vmkernel/timer.h>
#include <fs/vmfs.h>

static struct datastore *stores, **stores_tail = &stores;
static unsigned n_stores;
static struct vmfs_env env;

void datastore_stop_renewing(struct datastore *ds)
{
	mutex_lock(&ds->renew_lock);
	ds->lease_lost = true;
	mutex_unlock(&ds->renew_lock);
}

struct datastore *datastore_first(void)
{
	return stores;
}

unsigned datastore_count(void)
{
	return n_stores;
}

struct datastore *datastore_find(const char *name, const char **rest)
{
	static const char prefix[] = "/vmfs/volumes/";
	size_t n;

	if (rest)
		*rest = NULL;
	if (!strncmp(name, prefix, sizeof(prefix) - 1))
		name += sizeof(prefix) - 1;
	n = strchr(name, '/') ? (size_t)(strchr(name, '/') - name) : strlen(name);
	for (struct datastore *ds = stores; ds; ds = ds->next) {
		if (strlen(ds->label) == n && !strncmp(ds->label, name, n)) {
			if (rest)
				*rest = name[n] ? name + n + 1 : NULL;
			return ds;
		}
	}
	return NULL;
}

/* ---- the environment VMFS runs in ---- */

static void *env_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return kmalloc(n ? n : 1);
}

static void env_free(void *ctx, void *p)
{
	(void)ctx;
	kfree(p);
}

/* No wall clock is read yet: timestamps count from boot. */
static uint64_t env_now(void *ctx)
{
	(void)ctx;
	return time_ns();
}

/*
 * The time is read once per round: read twice, a world preempted between the
 * test and the subtraction (a loaded host under an emulator) would compute a
 * negative remainder, i.e. a wake-up ages away.
 */
static void env_sleep(void *ctx, unsigned ms)
{
	uint64_t end = time_ns() + (uint64_t)ms * 1000000, now;

	(void)ctx;
	while ((now = time_ns()) < end) {
		if (world_current())
			sched_block_until(rdtsc() + (end - now) / 1000 * (tsc_hz() / 1000000));
		else
			cpu_safe_halt();
	}
}

const struct vmfs_env *datastore_env(void)
{
	if (!env.alloc) {
		env.alloc = env_alloc;
		env.free = env_free;
		env.now_ns = env_now;
		env.mono_ns = env_now;
		env.sleep_ms = env_sleep;
		memcpy(env.host_uuid, hostid_uuid(), 16);
		memcpy(env.nonce, hostid_boot_nonce(), 16);
		snprintf(env.host_name, sizeof(env.host_name), "%s", hostid_name());
	}
	return &env;
}

/* ---- mounting ---- */

static void unique_label(struct datastore *ds, const char *label)
{
	snprintf(ds->label, sizeof(ds->label), "%s", label[0] ? label : ds->dev_name);
	for (unsigned i = 1; datastore_find(ds->label, NULL); i++)
		snprintf(ds->label, sizeof(ds->label), "%.50s (%u)", label, i);
	if (strcmp(ds->label, label))
		pr_warn("%s: label '%s' is taken; mounted as '%s'\n", ds->dev_name, label,
			ds->label);
}

/* Mount dev (named name for messages); part is its partition, or NULL for a boot module. */
static bool try_mount(struct blockdev *dev, const char *name, struct blk_part *p)
{
	struct datastore *ds;
	struct vmfs_statfs sf;
	char err[200];
	int rc;

	ds = kzalloc(sizeof(*ds));
	if (!ds)
		return false;
	ds->part = p;
	ds->dev = dev;
	snprintf(ds->dev_name, sizeof(ds->dev_name), "%s", name);
	rc = vmfs_mount(dev, datastore_env(), 0, &ds->vol, err, sizeof(err));
	if (rc) {
		pr_err("%s ('%s'): not mounted: %s\n", name, p ? p->label : "module", err);
		kfree(ds);
		return false;
	}
	if (vmfs_statfs(ds->vol, &sf)) {
		pr_err("%s: mounted but cannot be queried: %s; unmounted\n", name,
		       vmfs_strerror(ds->vol));
		vmfs_unmount(ds->vol);
		kfree(ds);
		return false;
	}
	unique_label(ds, sf.label);
	snprintf(ds->path, sizeof(ds->path), "/vmfs/volumes/%s", ds->label);
	mutex_init(&ds->lock, "datastore");
	mutex_init(&ds->renew_lock, "datastore renewal");
	ds->ats = dev->ops->compare_and_write != NULL;
	ds->renew_ms = vmfs_renew_interval_ms(ds->vol);
	/* Published last: the heartbeat world walks the list without a lock. */
	__atomic_store_n(stores_tail, ds, __ATOMIC_RELEASE);
	stores_tail = &ds->next;
	n_stores++;
	pr_info("mounted %s from %s: VMFS %u.%u, %llu MiB, %llu MiB free, heartbeat slot %u of %u, "
		"locking by %s\n", ds->path, name, sf.version_major, sf.version_minor,
		(unsigned long long)(sf.capacity_bytes >> 20),
		(unsigned long long)(sf.free_bytes >> 20), sf.slot, sf.max_hosts,
		ds->ats ? "ATS (COMPARE AND WRITE)" : "Disk Paxos (no ATS on this device)");
	return true;
}

/*
 * The service world does for each volume what VMFS needs from the thread
 * using it while nobody does: hand the locks this host keeps unused to the
 * hosts that asked for them (they wait meanwhile), and every half lease
 * housekeeping: publish our changes, check the arbitration blocks, recover
 * hosts seen dead. It takes ds->lock only when it is free: a world inside a
 * call on the volume hands requested locks over itself (vmfs_lock_get and
 * every transaction do), so one that waits there for long starves nobody.
 * The heartbeat world, which sees requests arrive, wakes it.
 */
static struct world *service;

#define SERVICE_RETRY_MS 50	/* ds->lock was taken: look again this soon */
#define HOUSEKEEP_RENEWALS 4	/* housekeeping every 4 renewal intervals */

static void wake_service(struct datastore *ds)
{
	__atomic_store_n(&ds->service_due, true, __ATOMIC_RELEASE);
	if (service)
		sched_wakeup(service);
}

/* false: ds->lock was taken, try again soon. */
static bool service_one(struct datastore *ds, bool housekeep)
{
	unsigned recovered = 0;
	int rc;

	if (!mutex_trylock(&ds->lock))
		return false;
	__atomic_store_n(&ds->service_due, false, __ATOMIC_RELEASE);
	if (ds->lease_lost) {	/* unmounted, or fenced: nothing to do */
		mutex_unlock(&ds->lock);
		return true;
	}
	rc = housekeep ? vmfs_housekeep(ds->vol, &recovered) : vmfs_release_wanted(ds->vol);
	if (rc && !ds->service_failed)
		pr_warn("%s: %s: %s\n", ds->path, housekeep ? "housekeeping" :
			"handing over locks other hosts asked for", vmfs_strerror(ds->vol));
	ds->service_failed = rc != 0;
	mutex_unlock(&ds->lock);
	if (recovered)
		pr_info("%s: recovered %u dead host(s): journals replayed, slots freed\n",
			ds->path, recovered);
	return true;
}

static void service_world(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t now = time_ns(), wake = now + 1000000000ull;

		for (struct datastore *ds = __atomic_load_n(&stores, __ATOMIC_ACQUIRE); ds;
		     ds = __atomic_load_n(&ds->next, __ATOMIC_ACQUIRE)) {
			bool hk = now >= ds->housekeep_ns, busy = false;
			uint64_t next;

			if (hk || __atomic_load_n(&ds->service_due, __ATOMIC_ACQUIRE)) {
				busy = !service_one(ds, hk);	/* then it stays due */
				if (!busy && hk)
					ds->housekeep_ns = now + (uint64_t)ds->renew_ms *
						HOUSEKEEP_RENEWALS * 1000000;
			}
			next = busy ? now + SERVICE_RETRY_MS * 1000000ull : ds->housekeep_ns;
			if (next < wake)
				wake = next;
		}
		now = time_ns();
		if (wake > now)
			sched_block_until(rdtsc() + (wake - now) / 1000 * (tsc_hz() / 1000000));
	}
}

/* Renew every mounted volume's heartbeat; returns the shortest renewal interval. */
static unsigned renew_all(void)
{
	unsigned next_ms = 1000;

	for (struct datastore *ds = __atomic_load_n(&stores, __ATOMIC_ACQUIRE); ds;
	     ds = __atomic_load_n(&ds->next, __ATOMIC_ACQUIRE)) {
		unsigned iv;

		int rc;

		if (ds->lease_lost)
			continue;
		/* Renewals race with each other (boot CPU, heartbeat world): one at a time. */
		mutex_lock(&ds->renew_lock);
		rc = ds->lease_lost ? 0 : vmfs_heartbeat_renew(ds->vol);
		if (!rc && !ds->lease_lost && vmfs_wants_pending(ds->vol))
			wake_service(ds);	/* another host asked for a lock we keep */
		mutex_unlock(&ds->renew_lock);
		if (rc == -EIO) {
			ds->lease_lost = true;
			pr_err("%s: heartbeat lease lost (the device stopped answering or another "
			       "host took the slot); writes are refused\n", ds->path);
			continue;
		}
		iv = vmfs_renew_interval_ms(ds->vol);
		if (iv && iv < next_ms)
			next_ms = iv;
	}
	return next_ms;
}

static void heartbeat_world(void *arg)
{
	(void)arg;
	for (;;)
		env_sleep(NULL, renew_all());
}

static bool is_vmfs_module(const char *name)
{
	size_t n = strlen(name);

	return n > 5 && !strcmp(name + n - 5, ".vmfs");
}

/* VMFS volumes handed over as boot modules ("NAME.vmfs"), each from its own RAM copy. */
static void mount_modules(bool *world)
{
	for (unsigned i = 0; i < bootmod_count(); i++) {
		const struct boot_module *m = bootmod_get(i);
		struct blockdev *dev;

		if (!is_vmfs_module(m->name))
			continue;
		dev = ramdisk_create(m->data, m->size);
		if (!dev) {
			pr_err("%s: no memory for its RAM copy (or not whole sectors); not mounted\n",
			       m->name);
			continue;
		}
		if (!try_mount(dev, m->name, NULL)) {
			ramdisk_destroy(dev);
			continue;
		}
		if (n_stores && !*world) {
			*world = world_create("vmfs-heartbeat", heartbeat_world, NULL,
					      pcpu_online_count() - 1, NULL, NULL);
			if (!*world)
				pr_err("cannot start the heartbeat world; leases will lapse\n");
		}
		renew_all();
	}
}

static int datastore_scan(void)
{
	unsigned candidates = 0;
	bool world = false;

	for (struct blk_disk *d = blk_disk_first(); d; d = d->next) {
		for (struct blk_part *p = d->parts; p; p = p->next) {
			if (!gpt_is_vmfs(p->type))
				continue;
			candidates++;
			if (d->block_size != 512)
				pr_warn("%s: 4Kn disk: 512-byte sectors are emulated; do not share this "
					"disk between hosts\n", p->name);
			if (!p->disk->sdev->offline)
				try_mount(&p->dev, p->name, p);
			/*
			 * The world keeps the leases once the boot is done (and now, on another
			 * CPU); until then each mount also renews the volumes mounted before.
			 */
			if (n_stores && !world) {
				world = world_create("vmfs-heartbeat", heartbeat_world, NULL,
						     pcpu_online_count() - 1, NULL, NULL);
				if (!world)
					pr_err("cannot start the heartbeat world; leases will lapse\n");
				service = world_create("vmfs-service", service_world, NULL,
						       pcpu_online_count() - 1, NULL, NULL);
				if (!service)
					pr_err("cannot start the service world; other hosts wait "
					       "for the locks this host keeps\n");
			}
			renew_all();
		}
	}
	if (candidates)
		pr_info("%u of %u VMFS partition(s) mounted\n", n_stores, candidates);
	mount_modules(&world);
	return 0;
}
/* Before INIT_LATE, where VMs start and open their disks on these datastores. */
INIT_LEVEL(datastore_scan, INIT_VMM);
