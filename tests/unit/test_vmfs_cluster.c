/*
 * VMFS clustering: several hosts in one process on one memory device, with a
 * simulated clock (tests/fs/memdev.c) - heartbeat renewal and expiry, the
 * Disk Paxos arbitration under adversarial interleavings, lock breaking with
 * replay of the dead host's journal, lease-loss fencing, recovery and slot
 * takeover.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"
#include "../../fs/vmfs_priv.h"

#define LEASE_NS (16ull * 1000000000ull)

/* Let simulated time pass while `keep` renews its heartbeat as it should. */
static void pass_time(struct vmfs_volume *keep, uint64_t ns)
{
	for (uint64_t t = 0; t < ns; t += LEASE_NS / 8) {
		memdev_advance(LEASE_NS / 8);
		assert_int_equal(vmfs_heartbeat_renew(keep), 0);
	}
}

static void test_heartbeat_expiry(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);
	enum vmfs_holder st;

	(void)state;
	assert_int_equal(vmfs_holder_state(b, a->slot, a->hb_gen, &st), 0);
	assert_int_equal(st, VMFS_HOLDER_UNKNOWN);		/* not seen renewing yet */
	assert_int_equal(vmfs_heartbeat_renew(a), 0);
	assert_int_equal(vmfs_holder_state(b, a->slot, a->hb_gen, &st), 0);
	assert_int_equal(st, VMFS_HOLDER_ALIVE);
	assert_int_equal(vmfs_holder_state(b, a->slot, a->hb_gen - 1, &st), 0);
	assert_int_equal(st, VMFS_HOLDER_GONE);			/* an older incarnation */
	assert_int_equal(vmfs_holder_state(b, b->slot, b->hb_gen, &st), 0);
	assert_int_equal(st, VMFS_HOLDER_SELF);
	/* a renews every few seconds: stays alive across many leases */
	for (int i = 0; i < 20; i++) {
		memdev_advance(LEASE_NS / 8);
		assert_int_equal(vmfs_heartbeat_renew(a), 0);
		assert_int_equal(vmfs_heartbeat_renew(b), 0);
		assert_int_equal(vmfs_holder_state(b, a->slot, a->hb_gen, &st), 0);
		assert_int_equal(st, VMFS_HOLDER_ALIVE);
	}
	/* a stops: dead only after a full lease of b watching */
	pass_time(b, LEASE_NS / 2);
	assert_int_equal(vmfs_holder_state(b, a->slot, a->hb_gen, &st), 0);
	assert_int_equal(st, VMFS_HOLDER_ALIVE);
	pass_time(b, LEASE_NS / 2 + 1000);
	assert_int_equal(vmfs_holder_state(b, a->slot, a->hb_gen, &st), 0);
	assert_int_equal(st, VMFS_HOLDER_DEAD);
	/* and a itself knows: a renewal after more than half a lease is refused */
	assert_int_equal(vmfs_heartbeat_renew(a), -EIO);
	assert_false(vmfs_lease_valid(a));
	assert_int_equal(vmfs_mkdir(a, "/x", 0755), -EIO);
	assert_non_null(strstr(vmfs_strerror(a), "lost its lease"));
	assert_int_not_equal(vmfs_unmount(a), 0);	/* writes nothing */
	/* a's slot was left live; b recovers it */
	assert_true(vmfs_lease_valid(b));
	assert_int_equal(vmfs_unmount(b), 0);
	memdev_free(m);
}

/* ---- Disk Paxos under adversarial schedules ---- */

#define NH 4

struct sched {
	struct memdev *m;
	struct vmfs_volume *v[NH];
	bool in_cs[NH], active[NH];
	uint32_t rng;
	unsigned wins, nested, depth;
};

static struct sched *S;

static uint32_t srnd(void)
{
	S->rng = S->rng * 1103515245u + 12345u;
	return S->rng >> 8;
}

static void enter(int h)
{
	for (int k = 0; k < NH; k++)
		assert_false(S->in_cs[k]);	/* mutual exclusion */
	S->in_cs[h] = true;
	S->wins++;
}

static void try_host(int h)
{
	int rc;

	S->active[h] = true;
	rc = vmfs_arb_try(S->v[h]);
	S->active[h] = false;
	assert_true(rc == 0 || rc == -EAGAIN || rc == -EBUSY);
	if (!rc)
		enter(h);
}

/* Before any I/O of any host, maybe run a whole attempt of another host. */
static void adversary(void *arg, uint64_t lba, bool write)
{
	int h = (int)(srnd() % NH);

	(void)arg, (void)lba, (void)write;
	if (S->depth >= 2 || srnd() % 3 || S->active[h] || S->in_cs[h])
		return;
	S->depth++;
	S->nested++;
	try_host(h);
	S->depth--;
}

static void test_paxos_adversarial(void **state)
{
	struct sched s = { .m = tl_format(64 * MIB, 0, NH), .rng = 12345 };

	(void)state;
	S = &s;
	for (int h = 0; h < NH; h++)
		s.v[h] = tl_mount(s.m, (uint8_t)(h + 1));
	s.m->io_hook = adversary;
	for (int round = 0; round < 3000; round++) {
		int h = (int)(srnd() % NH);

		if (s.in_cs[h]) {
			s.v[h]->arb_depth = 1;
			assert_int_equal(vmfs_arb_release(s.v[h]), 0);
			s.in_cs[h] = false;
		} else if (!s.active[h]) {
			try_host(h);
		}
	}
	s.m->io_hook = NULL;
	assert_true(s.wins > 300);
	assert_true(s.nested > 300);
	for (int h = 0; h < NH; h++) {
		if (s.in_cs[h]) {
			s.v[h]->arb_depth = 1;
			vmfs_arb_release(s.v[h]);
		}
		assert_int_equal(vmfs_unmount(s.v[h]), 0);
	}
	assert_int_equal(tl_fsck(s.m, false), 0);
	memdev_free(s.m);
}

/* A host paused inside the section forever: the others wait a lease, then go on. */
static void test_arb_holder_dies(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);
	uint64_t t0;

	(void)state;
	assert_int_equal(vmfs_arb_acquire(a), 0);
	assert_int_equal(vmfs_arb_try(b), -EBUSY);
	t0 = vmfs_mono(b);
	assert_int_equal(vmfs_arb_acquire(b), 0);	/* a never renews: dead after a lease */
	assert_true(vmfs_mono(b) - t0 >= LEASE_NS);
	assert_int_equal(vmfs_arb_release(b), 0);
	/* a wakes up: it lost its lease and may not leave the section by writing */
	assert_int_not_equal(vmfs_arb_release(a), 0);
	assert_false(vmfs_lease_valid(a));
	vmfs_unmount(a);
	assert_int_equal(vmfs_unmount(b), 0);
	memdev_free(m);
}

/* ---- lock breaking, replay, fencing ---- */

/* Crash host a (device dies at write k) during mkdir; true if its log then holds a commit. */
static bool crash_in_mkdir(struct memdev *m, struct vmfs_volume *a, int64_t k)
{
	struct vmfs_fsck_result res = { 0 };
	struct vmfs_env env;
	char err[256];

	memdev_crash_after(m, k);
	vmfs_mkdir(a, "/shared/newdir", 0755);
	memdev_reboot(m);
	memdev_env(&env, 9);
	assert_int_equal(vmfs_fsck(&m->dev, &env, 0, &res, err, sizeof(err)), 0);
	return strstr(res.first, "committed transaction not yet applied") != NULL;
}

static void test_break_lock_replays_journal(void **state)
{
	bool found = false;

	(void)state;
	for (int64_t k = 1; k < 200 && !found; k++) {
		struct memdev *m = tl_format(64 * MIB, 0, 4);
		struct vmfs_volume *a = tl_mount(m, 1), *b;
		struct vmfs_stat st;
		uint64_t t0;

		assert_int_equal(vmfs_mkdir(a, "/shared", 0755), 0);
		assert_int_equal(vmfs_housekeep(a, &(unsigned){ 0 }), 0);	/* published */
		b = tl_mount(m, 2);
		found = crash_in_mkdir(m, a, k);
		if (found) {
			/* b needs /shared's lock, held by dead a: waits a lease, replays, breaks */
			t0 = vmfs_mono(b);
			assert_int_equal(vmfs_mkdir(b, "/shared/other", 0755), 0);
			assert_true(vmfs_mono(b) - t0 >= LEASE_NS);
			assert_int_equal(vmfs_stat(b, "/shared/newdir", &st), 0);
			assert_int_equal(st.type, VMFS_FT_DIR);
		}
		vmfs_unmount(a);
		assert_int_equal(vmfs_unmount(b), 0);
		if (found)
			assert_int_equal(tl_fsck(m, false), 0);
		memdev_free(m);
	}
	assert_true(found);
}

static void test_lease_loss_fencing(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);
	struct vmfs_file *fa, *fb;
	char buf[8] = "";

	(void)state;
	tl_write_file(a, "/f", "AAAA", 0, 4);
	assert_int_equal(vmfs_open(a, "/f", VMFS_O_WRITE, 0, &fa), 0);
	/* a is paused (no renewal) while b, kept alive, takes the lock and writes */
	tl_keep_alive(b, true);
	assert_int_equal(vmfs_open(b, "/f", VMFS_O_WRITE, 0, &fb), 0);
	assert_int_equal(vmfs_write(fb, 0, "BBBB", 4), 4);
	assert_int_equal(vmfs_close(fb), 0);
	/* a resumes: every write through its old lock is refused */
	assert_int_equal(vmfs_write(fa, 0, "aaaa", 4), -EIO);
	assert_non_null(strstr(vmfs_strerror(a), "lost its lease"));
	assert_int_equal(vmfs_truncate(fa, 0), -EIO);
	vmfs_close(fa);
	vmfs_unmount(a);
	assert_int_equal(tl_read_file(b, "/f", buf, 0, 4), 4);
	assert_memory_equal(buf, "BBBB", 4);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

static void test_recover_dead_host(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b;
	struct vmfs_file *f;
	struct vmfs_lockrec l;
	struct vmfs_hbslot hb;
	uint32_t aslot = a->slot;
	unsigned n = 0;

	(void)state;
	tl_write_file(a, "/f", "data", 0, 4);
	assert_int_equal(vmfs_open(a, "/f", VMFS_O_WRITE, 0, &f), 0);
	memdev_crash_after(m, 0);	/* a dies holding the lock */
	vmfs_unmount(a);
	memdev_reboot(m);
	b = tl_mount(m, 2);
	assert_int_equal(vmfs_file_lock_read(b, "/f", &l), 0);
	assert_int_equal(l.mode, VMFS_LOCK_EXCL);
	assert_int_equal(vmfs_recover(b, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vmfs_file_lock_read(b, "/f", &l), 0);
	assert_int_equal(l.mode, VMFS_LOCK_FREE);
	assert_int_equal(vmfs_heartbeat_read(b, aslot, &hb), 0);
	assert_int_equal(hb.state, VMFS_HB_FREE);
	assert_int_equal(vmfs_recover(b, &n), 0);	/* nothing left */
	assert_int_equal(n, 0);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

static void test_slot_takeover(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 2);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2), *c;
	uint32_t aslot = a->slot;
	uint64_t agen = a->hb_gen;

	(void)state;
	memdev_crash_after(m, 0);
	vmfs_unmount(a);
	memdev_reboot(m);
	tl_keep_alive(b, true);
	c = tl_mount(m, 3);		/* no free slot: takes over a's after a lease */
	assert_int_equal(c->slot, aslot);
	assert_int_equal(c->hb_gen, agen + 1);
	tl_write_file(c, "/x", "c", 0, 1);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(c), 0);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/*
 * A claimer that stalls between its scan of the heartbeat region and its
 * claim must judge the slot again: here host a claims the only slot in that
 * gap (and renews it). b must not take the slot over from a live host: its
 * mount fails with -EBUSY after watching a for a lease, and a keeps its lease.
 */
static struct memdev *claim_m;
static struct vmfs_volume *claim_a;
static uint64_t claim_hb_lba;
static unsigned claim_reads;

static void claim_in_gap(void *arg, uint64_t lba, bool write)
{
	static bool inside;

	(void)arg;
	if (inside || write || lba != claim_hb_lba || ++claim_reads != 2)
		return;
	inside = true;			/* b scanned the region; now it reads the slot */
	claim_a = tl_mount(claim_m, 1);
	tl_keep_alive(claim_a, true);
	inside = false;
}

static void test_claim_judges_slot_again(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 1);
	struct vmfs_volume *probe = tl_mount(m, 3), *b = NULL;
	struct vmfs_env env;
	char err[256] = "";

	(void)state;
	claim_hb_lba = vmfs_header(probe)->hb_off / 512;
	assert_int_equal(vmfs_unmount(probe), 0);
	claim_m = m;
	claim_reads = 0;
	claim_a = NULL;
	m->io_hook = claim_in_gap;
	memdev_env(&env, 2);
	assert_int_equal(vmfs_mount(&m->dev, &env, 0, &b, err, sizeof(err)), -EBUSY);
	m->io_hook = NULL;
	assert_non_null(claim_a);
	assert_non_null(strstr(err, "in use by live hosts"));
	assert_int_equal(vmfs_heartbeat_renew(claim_a), 0);
	assert_true(vmfs_lease_valid(claim_a));
	tl_keep_alive(claim_a, false);
	assert_int_equal(vmfs_unmount(claim_a), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/*
 * A holder drops a request for a lock it does not hold when it looks: here
 * a hands the directory's lock to b, sees c's request while b has it, and
 * gets it back from b. c, still waiting on holder a, must ask again (a new
 * request) and get the lock within a renewal interval or two, not wait out
 * its bound of 8 leases and fail.
 */
static void test_request_dropped_is_asked_again(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2), *c = tl_mount(m, 3);
	struct vmfs_busy bi;
	uint64_t off, t0;
	uint32_t dir;

	(void)state;
	assert_int_equal(vmfs_mkdir(a, "/d", 0755), 0);
	assert_int_equal(vmfs_path_walk(a, NULL, "/d", &dir), 0);
	off = vmfs_fd_off(a, dir);
	assert_non_null(vmfs_held_find(a, off));	/* a keeps the new directory's lock */
	tl_keep_alive(a, true);
	tl_keep_alive(b, true);
	for (int i = 0; i < 3; i++) {			/* c sees a and b renew */
		enum vmfs_holder st;

		memdev_advance(LEASE_NS / 16);
		assert_int_equal(vmfs_heartbeat_renew(a), 0);
		assert_int_equal(vmfs_heartbeat_renew(b), 0);
		assert_int_equal(vmfs_heartbeat_renew(c), 0);
		assert_int_equal(vmfs_holder_state(c, a->slot, a->hb_gen, &st), 0);
		assert_int_equal(vmfs_holder_state(c, b->slot, b->hb_gen, &st), 0);
		assert_int_equal(vmfs_holder_state(a, c->slot, c->hb_gen, &st), 0);
	}
	/* c finds a holding it and asks a */
	assert_int_equal(vmfs_lock_try_once(c, off, VMFS_LOCK_EXCL, VMFS_LK_DIR, false, "d",
					    &bi), -EBUSY);
	assert_true(bi.alive && bi.slot == a->slot);
	vmfs_want_post(c, off, bi.slot, bi.gen);
	/* meanwhile a hands the lock to b, and only then sees c's request: dropped */
	assert_int_equal(vmfs_lock_hand_over(a, vmfs_held_find(a, off), b->slot, b->hb_gen), 0);
	assert_int_equal(vmfs_heartbeat_renew(a), 0);
	assert_int_equal(vmfs_release_wanted(a), 0);
	/* a takes it back from b (b's turn passes while a waits) */
	assert_int_equal(vmfs_lock_get(a, off, VMFS_LOCK_EXCL, VMFS_LW_WAIT, VMFS_LK_DIR, "d"), 0);
	assert_int_equal(vmfs_lock_put(a, off), 0);
	/* c waits for it: a hands it over once c has asked again */
	t0 = vmfs_mono(c);
	assert_int_equal(vmfs_lock_get(c, off, VMFS_LOCK_EXCL, VMFS_LW_WAIT, VMFS_LK_DIR, "d"), 0);
	assert_true(vmfs_mono(c) - t0 < LEASE_NS / 2);
	assert_int_equal(vmfs_lock_put(c, off), 0);
	tl_keep_alive(a, false);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(c), 0);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(vmfs_unmount(a), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/*
 * A host restarting with the same identity is a new incarnation: it never
 * takes its old slot while that may be live, and the old incarnation's locks
 * are broken only after its slot was watched dead for a lease.
 */
static void test_restart_is_new_incarnation(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2), *a2;
	struct vmfs_file *f;
	uint32_t aslot = a->slot;
	uint64_t t0;

	(void)state;
	tl_write_file(a, "/f", "x", 0, 1);
	assert_int_equal(vmfs_open(a, "/f", VMFS_O_WRITE, 0, &f), 0);
	memdev_crash_after(m, 0);
	vmfs_unmount(a);
	memdev_reboot(m);
	a2 = tl_mount(m, 1);
	assert_int_not_equal(a2->slot, aslot);
	tl_keep_alive(a2, true);
	t0 = vmfs_mono(b);
	assert_int_equal(vmfs_open(b, "/f", VMFS_O_WRITE, 0, &f), 0);
	assert_true(vmfs_mono(b) - t0 >= LEASE_NS);	/* the old incarnation: a lease */
	assert_int_equal(vmfs_close(f), 0);
	tl_keep_alive(a2, false);
	assert_int_equal(vmfs_unmount(a2), 0);
	assert_int_equal(vmfs_unmount(b), 0);
	memdev_free(m);
}

static void test_ats_cluster(void **state)
{
	struct vmfs_format_opts o = { .max_hosts = 4 };
	struct memdev *m = memdev_new(64 * MIB, true);
	struct vmfs_volume *a, *b;
	struct vmfs_file *f;
	struct vmfs_env env;
	char err[256];

	(void)state;
	memdev_env(&env, 1);
	assert_int_equal(vmfs_format(&m->dev, &env, &o, err, sizeof(err)), 0);
	a = tl_mount(m, 1);
	b = tl_mount(m, 2);
	tl_write_file(a, "/f", "x", 0, 1);
	assert_int_equal(vmfs_open(a, "/f", VMFS_O_WRITE, 0, &f), 0);
	tl_keep_alive(a, true);
	assert_int_equal(vmfs_open(b, "/f", VMFS_O_WRITE, 0, &f), -EBUSY);
	assert_non_null(strstr(vmfs_strerror(b), "alive"));
	tl_keep_alive(a, false);
	pass_time(b, LEASE_NS + 1000);					/* a went quiet */
	assert_int_equal(vmfs_open(b, "/f", VMFS_O_WRITE, 0, &f), 0);
	assert_int_equal(vmfs_close(f), 0);
	assert_false(vmfs_lease_valid(a) && vmfs_heartbeat_renew(a) == 0);
	vmfs_unmount(a);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/*
 * ATS: locks are taken and left with one read and one COMPARE AND WRITE,
 * without the arbitration section; before every I/O of one host another
 * host may run a whole attempt to take or leave the same lock. No two hosts
 * ever hold it at once, unless the earlier holder was fenced: a holder
 * suspended in this nesting long enough (simulated backoff time) may be
 * judged dead, which is right only if its own lease is over by then.
 */
static unsigned ats_ios;
static bool fenced[NH];

static void count_io(void *arg, uint64_t lba, bool write)
{
	(void)arg, (void)lba, (void)write;
	ats_ios++;
}

static bool lease_over(struct vmfs_volume *v)
{
	return vmfs_mono(v) - v->renewed_ns > v->lease_ns / 2;
}

static void ats_enter(int h)
{
	for (int k = 0; k < NH; k++) {
		if (!S->in_cs[k])
			continue;
		assert_true(lease_over(S->v[k]));	/* a valid holder is never overtaken */
		S->in_cs[k] = false;
		fenced[k] = true;
	}
	enter(h);
}

static void ats_lock_try(int h)
{
	struct vmfs_busy bi;
	int rc;

	S->active[h] = true;
	rc = vmfs_lock_try_once(S->v[h], vmfs_fd_off(S->v[h], 100), VMFS_LOCK_EXCL,
				VMFS_LK_FILE, false, "test lock", &bi);
	S->active[h] = false;
	assert_true(rc == 0 || rc == -EBUSY || rc == -EAGAIN || (rc == -EIO && lease_over(S->v[h])));
	if (rc == -EIO)
		fenced[h] = true;
	if (!rc)
		ats_enter(h);
}

static void ats_leave(int h)
{
	int rc;

	S->in_cs[h] = false;	/* out once the record says so, maybe mid-call */
	S->active[h] = true;
	rc = vmfs_lock_leave(S->v[h], vmfs_fd_off(S->v[h], 100), "test lock");
	S->active[h] = false;
	if (vmfs_held_find(S->v[h], vmfs_fd_off(S->v[h], 100)))
		vmfs_held_remove(S->v[h], vmfs_held_find(S->v[h], vmfs_fd_off(S->v[h], 100)));
	assert_true(rc == 0 || (rc == -EIO && lease_over(S->v[h])));
	if (rc)
		fenced[h] = true;
}

static void ats_adversary(void *arg, uint64_t lba, bool write)
{
	int h = (int)(srnd() % NH);
	struct vmfs_arbldr l;

	(void)arg, (void)lba, (void)write;
	if (S->depth >= 2 || srnd() % 3 || S->active[h] || fenced[h])
		return;
	memdev_rw(S->m, vmfs_arb_ldr_off(S->v[0]), &l, sizeof(l), false);
	if (l.held)
		return;	/* would wait a lease for a host suspended in the section */
	S->depth++;
	S->nested++;
	if (S->in_cs[h])
		ats_leave(h);
	else
		ats_lock_try(h);
	S->depth--;
}

static void test_ats_lock_adversarial(void **state)
{
	struct vmfs_format_opts o = { .max_hosts = NH };
	struct sched s = { .m = memdev_new(64 * MIB, true), .rng = 777 };
	struct vmfs_env env;
	unsigned nfenced = 0;
	uint64_t w;
	char err[256];

	(void)state;
	S = &s;
	memdev_env(&env, 1);
	assert_int_equal(vmfs_format(&s.m->dev, &env, &o, err, sizeof(err)), 0);
	for (int h = 0; h < NH; h++)
		s.v[h] = tl_mount(s.m, (uint8_t)(h + 1));
	/* uncontended: one read and one COMPARE AND WRITE each way */
	ats_ios = 0;
	w = s.m->writes;
	s.m->io_hook = count_io;
	ats_lock_try(0);
	assert_true(s.in_cs[0]);
	assert_int_equal(ats_ios, 2);
	assert_int_equal(s.m->writes - w, 1);
	ats_leave(0);
	assert_int_equal(ats_ios, 4);
	assert_int_equal(s.m->writes - w, 2);
	for (int round = 0; round < 3000; round++) {
		int h = (int)(srnd() % NH);

		s.m->io_hook = NULL;	/* the heartbeat threads */
		for (int k = 0; k < NH; k++)
			if (!fenced[k] && vmfs_heartbeat_renew(s.v[k]))
				fenced[k] = true, s.in_cs[k] = false;
		s.m->io_hook = ats_adversary;
		if (s.active[h] || fenced[h])
			continue;
		if (s.in_cs[h])
			ats_leave(h);
		else
			ats_lock_try(h);
	}
	s.m->io_hook = NULL;
	assert_true(s.wins > 300);
	assert_true(s.nested > 300);
	for (int h = 0; h < NH; h++) {
		if (s.in_cs[h])
			ats_leave(h);
		nfenced += fenced[h];
		if (fenced[h])
			vmfs_unmount(s.v[h]);
		else
			assert_int_equal(vmfs_unmount(s.v[h]), 0);
	}
	print_message("ATS locks: %u taken, %u nested attempts, %u hosts fenced\n", s.wins,
		      s.nested, nfenced);
	assert_int_equal(tl_fsck(s.m, false), 0);
	memdev_free(s.m);
}

/*
 * Corrupt arbitration structures: the leader is rebuilt from the blocks and a
 * dead host's block is passed over, so the volume stays usable; fsck finds
 * both and repairs them.
 */
static void test_arb_corruption(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1);
	struct vmfs_fsck_result res = { 0 };
	uint64_t ldr = vmfs_arb_ldr_off(a), blk = a->hdr.arb_off + 512ull * a->slot;
	struct vmfs_env env;
	char err[256];
	uint8_t x = 0x5a;
	unsigned n;

	(void)state;
	assert_int_equal(vmfs_mkdir(a, "/c", 0755), 0);
	assert_int_equal(vmfs_unmount(a), 0);
	memdev_rw(m, ldr + 40, &x, 1, true);
	memdev_rw(m, blk + 20, &x, 1, true);
	a = tl_mount(m, 1);
	assert_int_equal(vmfs_mkdir(a, "/d", 0755), 0);
	blk = a->hdr.arb_off + 512ull * ((a->slot + 1) % 4);
	assert_int_equal(vmfs_unmount(a), 0);
	memdev_rw(m, ldr + 40, &x, 1, true);
	memdev_rw(m, blk + 20, &x, 1, true);
	n = tl_fsck(m, true);		/* the leader, and one or two free slots' blocks */
	assert_true(n == 2 || n == 3);
	memdev_env(&env, 9);
	assert_int_equal(vmfs_fsck(&m->dev, &env, VMFS_FSCK_REPAIR, &res, err, sizeof(err)), 0);
	/* the repair's own mount may already have rewritten the leader and its block */
	assert_int_equal(res.repaired, res.problems);
	assert_int_equal(tl_fsck(m, false), 0);
	a = tl_mount(m, 1);
	assert_int_equal(vmfs_unmount(a), 0);
	memdev_free(m);
}

/* ---- lockless walks keep directory blocks (cache rule 7) ---- */

static unsigned walk_reads;

static void count_reads(void *arg, uint64_t lba, bool write)
{
	(void)arg, (void)lba;
	walk_reads += !write;
}

/* Device reads b makes to stat path (-errno or the count). */
static int stat_reads(struct memdev *m, struct vmfs_volume *b, const char *path)
{
	struct vmfs_stat st;
	int rc;

	walk_reads = 0;
	m->io_hook = count_reads;
	rc = vmfs_stat(b, path, &st);
	m->io_hook = NULL;
	return rc ? rc : (int)walk_reads;
}

/* Before every write of another host, the walker looks /d/new up (and may keep blocks). */
static struct vmfs_volume *walker;
static unsigned walks;

static void walk_between(void *arg, uint64_t lba, bool write)
{
	static bool inside;
	struct vmfs_stat st;

	(void)arg, (void)lba;
	if (!write || inside)
		return;
	inside = true;
	vmfs_stat(walker, "/d/new", &st);
	walks++;
	inside = false;
}

static void test_lockless_walk_keeps_dir_blocks(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);
	struct vmfs_file *f;
	char name[32];
	int first;

	(void)state;
	assert_int_equal(vmfs_mkdir(a, "/d", 0755), 0);
	for (int i = 0; i < 30; i++) {	/* three directory blocks */
		snprintf(name, sizeof(name), "/d/f%d", i);
		tl_write_file(a, name, "x", 0, 1);
	}
	/* b holds neither / nor /d: the first walk reads their blocks ... */
	first = stat_reads(m, b, "/d/f29");
	assert_true(first >= 6);
	/* ... the next one only the three descriptors (/, /d, f29) */
	assert_int_equal(stat_reads(m, b, "/d/f29"), 3);
	/* a adds and removes entries: b sees each change once it is published,
	 * even when it walks in between the writes of the publication */
	assert_int_equal(vmfs_open(a, "/d/new", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f), 0);
	walker = b;
	m->io_hook = walk_between;
	assert_int_equal(vmfs_fsync(f), 0);
	m->io_hook = NULL;
	assert_int_equal(vmfs_close(f), 0);
	assert_true(walks > 0);
	assert_true(stat_reads(m, b, "/d/new") >= 3);
	assert_int_equal(stat_reads(m, b, "/d/new"), 3);
	assert_int_equal(vmfs_unlink(a, "/d/f29"), 0);
	assert_int_equal(vmfs_journal_publish(a), 0);
	assert_int_equal(stat_reads(m, b, "/d/f29"), -ENOENT);
	assert_int_equal(stat_reads(m, b, "/d/f0"), 3);
	/* a dies with a change only in its journal; b replays it (breaking the
	 * directory's lock) and its kept blocks must not hide it */
	assert_int_equal(vmfs_unlink(a, "/d/f0"), 0);
	assert_int_equal(stat_reads(m, b, "/d/f0"), 3);	/* not published yet */
	memdev_crash_after(m, 0);
	vmfs_unmount(a);
	memdev_reboot(m);
	pass_time(b, LEASE_NS + LEASE_NS / 2);
	tl_recover(b);
	assert_int_equal(stat_reads(m, b, "/d/f0"), -ENOENT);
	assert_int_equal(stat_reads(m, b, "/d/f1"), 3);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/*
 * A host alone does not write the in-use mark of a kept file lock; once
 * another host is on the volume it does, and the other host's open of the
 * file in use fails with -EBUSY; after the close the lock is handed over.
 * A file created while other hosts are there gets its mark only when one
 * of them asks for its lock.
 */
static void test_lazy_in_use_mark(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b;
	struct vmfs_file *f, *g;
	struct vmfs_lockrec l;
	uint64_t w;

	(void)state;
	tl_write_file(a, "/x", "x", 0, 1);	/* created, closed: kept unused */
	w = m->writes;
	assert_int_equal(vmfs_open(a, "/x", VMFS_O_WRITE, 0, &f), 0);
	assert_int_equal(m->writes, w);		/* alone: no lock-record write */
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.idle, 1);
	b = tl_mount(m, 2);
	memdev_advance(LEASE_NS / 32);
	assert_int_equal(vmfs_release_wanted(a), 0);	/* a sees b: writes the mark */
	assert_int_equal(vmfs_file_lock_read(a, "/x", &l), 0);
	assert_int_equal(l.idle, 0);
	tl_keep_alive(a, true);
	assert_int_equal(vmfs_open(b, "/x", VMFS_O_WRITE, 0, &g), -EBUSY);
	assert_int_equal(vmfs_close(f), 0);
	assert_int_equal(vmfs_open(b, "/x", VMFS_O_WRITE, 0, &g), 0);	/* handed over */
	assert_int_equal(vmfs_close(g), 0);
	/* not alone: a file a creates is marked in use only once another host
	 * asks for it, even after its name is published */
	tl_write_file(a, "/z", "z", 0, 1);
	assert_int_equal(vmfs_unlink(a, "/z"), 0);	/* its lock stays with a */
	assert_int_equal(vmfs_open(a, "/y", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f), 0);
	assert_int_equal(vmfs_file_lock_read(a, "/y", &l), 0);
	assert_int_equal(l.idle, 1);
	w = l.version;
	assert_int_equal(vmfs_journal_publish(a), 0);
	assert_int_equal(vmfs_file_lock_read(a, "/y", &l), 0);
	assert_int_equal(l.idle, 1);
	assert_int_equal(vmfs_close(f), 0);		/* and unused again: no mark at all */
	assert_int_equal(vmfs_file_lock_read(a, "/y", &l), 0);
	assert_int_equal(l.idle, 1);
	assert_int_equal(l.version, w);		/* the record was not written */
	assert_int_equal(vmfs_unlink(a, "/y"), 0);
	assert_int_equal(vmfs_open(a, "/v", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f), 0);
	assert_int_equal(vmfs_journal_publish(a), 0);
	/* b asks; a, serving requests while b waits, writes the mark: in use */
	assert_int_equal(vmfs_open(b, "/v", VMFS_O_WRITE, 0, &g), -EBUSY);
	assert_int_equal(vmfs_file_lock_read(a, "/v", &l), 0);
	assert_int_equal(l.idle, 0);
	assert_int_equal(vmfs_close(f), 0);
	assert_int_equal(vmfs_open(b, "/v", VMFS_O_WRITE, 0, &g), 0);	/* handed over */
	assert_int_equal(vmfs_close(g), 0);
	tl_keep_alive(a, false);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(vmfs_unmount(a), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/*
 * A walk through a directory another host holds reads its descriptor at each
 * step, except a step that ends at a directory we hold: that one is kept
 * while we hold the lock. The entry naming a directory changes only under
 * that directory's lock, so a host renaming it (even within its parent)
 * takes the lock from us first, which ends the kept step; our own removal
 * forgets it.
 */
static void test_walk_keeps_steps_to_held_dirs(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);

	(void)state;
	tl_keep_alive(a, true);
	tl_keep_alive(b, true);
	assert_int_equal(vmfs_mkdir(a, "/d", 0755), 0);		/* a holds / and /d */
	tl_write_file(a, "/d/f", "x", 0, 1);
	assert_int_equal(vmfs_mkdir(b, "/e", 0755), 0);		/* b takes / from a */
	/* b holds /: a walk of a's reads /'s descriptor, but for the step
	 * to /d, kept since a wrote /d/f */
	assert_int_equal(stat_reads(m, a, "/d/f"), 0);
	assert_true(stat_reads(m, a, "/e") >= 1);
	assert_int_equal(stat_reads(m, a, "/d/f"), 0);
	/* our own removal forgets the step */
	assert_int_equal(vmfs_mkdir(a, "/d/sub", 0755), 0);
	assert_true(stat_reads(m, a, "/d/sub") >= 0);
	assert_int_equal(vmfs_rmdir(a, "/d/sub"), 0);
	assert_int_equal(stat_reads(m, a, "/d/sub"), -ENOENT);
	/* b renames /d within /: it takes /d's lock from a first */
	assert_int_equal(vmfs_rename(b, "/d", "/d2"), 0);
	assert_int_equal(vmfs_journal_publish(b), 0);
	assert_int_equal(stat_reads(m, a, "/d/f"), -ENOENT);
	assert_true(stat_reads(m, a, "/d2/f") >= 1);
	tl_keep_alive(a, false);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(vmfs_unmount(a), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heartbeat_expiry),
		cmocka_unit_test(test_paxos_adversarial),
		cmocka_unit_test(test_arb_holder_dies),
		cmocka_unit_test(test_break_lock_replays_journal),
		cmocka_unit_test(test_lease_loss_fencing),
		cmocka_unit_test(test_recover_dead_host),
		cmocka_unit_test(test_slot_takeover),
		cmocka_unit_test(test_claim_judges_slot_again),
		cmocka_unit_test(test_request_dropped_is_asked_again),
		cmocka_unit_test(test_restart_is_new_incarnation),
		cmocka_unit_test(test_ats_cluster),
		cmocka_unit_test(test_ats_lock_adversarial),
		cmocka_unit_test(test_arb_corruption),
		cmocka_unit_test(test_lockless_walk_keeps_dir_blocks),
		cmocka_unit_test(test_lazy_in_use_mark),
		cmocka_unit_test(test_walk_keeps_steps_to_held_dirs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
