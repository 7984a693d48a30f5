/*
 * VMFS fencing and identity, deterministically: hosts in one process on one
 * memory device with a simulated clock, interleaved at chosen I/Os.
 *  - two claims of one free heartbeat slot, the first claimer stalled between
 *    reading the slot and writing its claim: never two owners at once;
 *  - a journal commit held up in the storage path lands after another host
 *    broke the writer's lock: recovery must not replay it over newer data;
 *  - a torn sector destroys a Disk Paxos block of the host about to enter the
 *    arbitration section: another host must not be chosen in the same epoch;
 *  - a multi-writer file grown by two hosts keeps both allocations;
 *  - a host that lost its lease serves no clean cached block.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"
#include "../../fs/vmfs_priv.h"

#define LEASE_NS (16ull * 1000000000ull)

/* ---- claim race ---- */

static struct claim_race {
	struct memdev *m;
	struct vmfs_volume *a;
	int phase;		/* 1: B is claiming; 2: A has run */
} CR;

/* Just before B's claim write lands, A mounts (reads the slot free, claims it, waits, checks). */
static void claim_hook(void *arg, uint64_t lba, bool write)
{
	(void)arg;
	if (CR.phase != 1 || !write || lba * 512 < VMFS_HB_OFF || lba * 512 >= VMFS_HB_OFF + 512)
		return;
	CR.phase = 2;
	CR.a = tl_mount(CR.m, 1);
}

static void test_claim_race_stalled_claimer(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 1);		/* one slot: both want it */
	struct vmfs_volume *b;
	bool a_valid;

	(void)state;
	CR = (struct claim_race){ .m = m, .phase = 1 };
	m->io_hook = claim_hook;
	b = tl_mount(m, 2);	/* B's claim lands after A's: B must not take the slot */
	m->io_hook = NULL;
	assert_int_equal(CR.phase, 2);
	assert_non_null(CR.a);
	assert_int_equal(b->slot, CR.a->slot);
	/* B only got the slot by taking it over after a lease, never next to A */
	a_valid = vmfs_lease_valid(CR.a) && vmfs_heartbeat_renew(CR.a) == 0;
	assert_false(a_valid);
	assert_int_equal(b->hb_gen, CR.a->hb_gen + 1);
	vmfs_unmount(CR.a);
	assert_int_equal(vmfs_unmount(b), 0);
	memdev_free(m);
}

/* Two processes with one identity get two slots; neither takes the other's. */
static void test_same_identity_two_slots(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 7), *b = tl_mount(m, 7);

	(void)state;
	assert_int_not_equal(a->slot, b->slot);
	tl_keep_alive(a, true);
	tl_keep_alive(b, true);
	tl_write_file(a, "/a", "a", 0, 1);
	tl_write_file(b, "/b", "b", 0, 1);	/* asks a for the root directory's lock */
	tl_keep_alive(a, false);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(a), 0);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/* A second writer of the same slot (same identity and nonce) is noticed at the next renewal. */
static void test_twin_writer_loses_lease(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1);
	struct vmfs_hbslot hb;

	(void)state;
	assert_int_equal(vmfs_heartbeat_read(a, a->slot, &hb), 0);
	hb.counter += 5;	/* someone else writes our slot */
	vmfs_seal(&hb, sizeof(hb));
	memdev_rw(m, vmfs_hb_off(a, a->slot), &hb, sizeof(hb), true);
	assert_int_equal(vmfs_heartbeat_renew(a), -EIO);
	assert_false(vmfs_lease_valid(a));
	assert_int_equal(vmfs_mkdir(a, "/x", 0755), -EIO);
	assert_non_null(strstr(vmfs_strerror(a), "changed by another host"));
	vmfs_unmount(a);
	memdev_free(m);
}

/*
 * A host that lost its lease serves nothing clean from its cache: another
 * host may by now have broken the lock that kept the cached blocks valid
 * and changed what it guards.
 */
static void test_lost_lease_no_stale_cache(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);
	struct vmfs_file *fa;
	struct vmfs_hbslot hb;
	char buf[8] = "";
	int64_t n;

	(void)state;
	tl_write_file(a, "/f", "AAAA", 0, 4);		/* inline: the data is in the descriptor */
	assert_int_equal(vmfs_open(a, "/f", VMFS_O_READ, 0, &fa), 0);
	assert_int_equal(vmfs_read(fa, 0, buf, 4), 4);	/* the descriptor is cached */
	assert_int_equal(vmfs_heartbeat_read(a, a->slot, &hb), 0);
	hb.counter += 5;	/* A's slot is written by someone else: A's lease is lost */
	vmfs_seal(&hb, sizeof(hb));
	memdev_rw(m, vmfs_hb_off(a, a->slot), &hb, sizeof(hb), true);
	assert_int_equal(vmfs_heartbeat_renew(a), -EIO);
	tl_keep_alive(b, true);		/* B breaks A's lock after a lease and rewrites */
	tl_write_file(b, "/f", "BBBB", 0, 4);
	tl_keep_alive(b, false);
	memset(buf, 0, sizeof(buf));
	n = vmfs_read(fa, 0, buf, 4);
	assert_true(n < 0 || (n == 4 && !memcmp(buf, "BBBB", 4)));
	vmfs_close(fa);
	vmfs_abandon(a);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/* ---- a late journal write ---- */

static void test_late_journal_write_not_replayed(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2), *c;
	struct vmfs_file *fa, *fb;
	char buf[8] = "";
	unsigned n = 0;

	(void)state;
	tl_write_file(a, "/f", "AAAA", 0, 4);			/* inline: journaled */
	assert_int_equal(vmfs_open(a, "/f", VMFS_O_WRITE, 0, &fa), 0);
	/* A's next commit is held up in the storage path; A dies waiting for it */
	m->hold_lo = a->jbase / 512;
	m->hold_hi = m->hold_lo + a->hdr.journal_blocks * 8ull;
	assert_true(vmfs_write(fa, 0, "aaaa", 4) < 0);
	assert_non_null(m->held);
	memdev_reboot(m);
	/* B breaks A's lock after a lease (replaying and fencing A's journal), writes */
	tl_keep_alive(b, true);
	assert_int_equal(vmfs_open(b, "/f", VMFS_O_WRITE, 0, &fb), 0);
	assert_int_equal(vmfs_write(fb, 0, "BBBB", 4), 4);
	assert_int_equal(vmfs_fsync(fb), 0);
	assert_int_equal(vmfs_close(fb), 0);
	/* the queue drains: A's commit lands in A's journal, complete and valid */
	memdev_land_held(m);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(b), 0);
	c = tl_mount(m, 3);
	assert_int_equal(vmfs_recover(c, &n), 0);		/* A's slot: dead, recovered */
	assert_int_equal(n, 1);
	assert_int_equal(tl_read_file(c, "/f", buf, 0, 4), 4);
	assert_memory_equal(buf, "BBBB", 4);			/* not replayed over B's data */
	assert_int_equal(vmfs_unmount(c), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	vmfs_abandon(a);
	memdev_free(m);
}

/* ---- a torn Disk Paxos block ---- */

static struct torn {
	struct memdev *m;
	struct vmfs_volume *c, *d;
	bool fired, d_in;
} TP;

/* C has finished phase 2 and writes the leader: tear C's block, let D try. */
static void torn_hook(void *arg, uint64_t lba, bool write)
{
	uint8_t junk[512];

	(void)arg;
	if (TP.fired || !write || lba * 512 != vmfs_arb_ldr_off(TP.c))
		return;
	TP.fired = true;
	memset(junk, 0x6b, sizeof(junk));
	memdev_rw(TP.m, TP.c->hdr.arb_off + 512ull * TP.c->slot, junk, sizeof(junk), true);
	TP.d_in = vmfs_arb_try(TP.d) == 0;
}

static void test_torn_paxos_block(void **state)
{
	struct memdev *m = tl_format(64 * MIB, 0, 4);

	(void)state;
	TP = (struct torn){ .m = m };
	TP.c = tl_mount(m, 1);
	TP.d = tl_mount(m, 2);
	assert_int_equal(vmfs_heartbeat_renew(TP.c), 0);
	assert_int_equal(vmfs_heartbeat_renew(TP.d), 0);
	assert_int_equal(vmfs_holder_state(TP.d, TP.c->slot, TP.c->hb_gen,
					   &(enum vmfs_holder){ 0 }), 0);
	assert_int_equal(vmfs_heartbeat_renew(TP.c), 0);	/* D has seen C renewing */
	m->io_hook = torn_hook;
	assert_int_equal(vmfs_arb_try(TP.c), 0);		/* C is chosen and enters */
	m->io_hook = NULL;
	assert_true(TP.fired);
	assert_false(TP.d_in);			/* D must not enter beside C */
	TP.c->arb_depth = 1;
	assert_int_equal(vmfs_arb_release(TP.c), 0);
	/* C's housekeeping rewrites its block; then D gets in */
	assert_int_equal(vmfs_housekeep(TP.c, &(unsigned){ 0 }), 0);
	assert_int_equal(vmfs_arb_try(TP.d), 0);
	TP.d->arb_depth = 1;
	assert_int_equal(vmfs_arb_release(TP.d), 0);
	assert_int_equal(vmfs_unmount(TP.c), 0);
	assert_int_equal(vmfs_unmount(TP.d), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

/* ---- multi-writer growth ---- */

static struct mw {
	struct vmfs_file *of;
	int n;
	bool armed;
} MW;

/*
 * When one host has read the descriptor for a write (before it takes the
 * metadata sub-lock), the other grows the file too.
 */
static void mw_hook(void *arg, uint64_t lba, bool write)
{
	uint8_t blk[4096];

	(void)arg, (void)lba;
	if (write || !MW.armed)
		return;
	MW.armed = false;
	memset(blk, 'o', sizeof(blk));
	assert_int_equal(vmfs_write(MW.of, (uint64_t)(40 + MW.n++) * MIB, blk, sizeof(blk)), 4096);
}

static void test_multiwriter_growth(void **state)
{
	struct memdev *m = tl_format(256 * MIB, 0, 4);
	struct vmfs_volume *a = tl_mount(m, 1), *b = tl_mount(m, 2);
	struct vmfs_file *fa, *fb;
	struct vmfs_stat st;
	uint8_t blk[4096], got[4096];

	(void)state;
	tl_keep_alive(a, true);
	tl_keep_alive(b, true);
	assert_int_equal(vmfs_open(a, "/mw", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &fa), 0);
	assert_int_equal(vmfs_extend(fa, 100 * MIB, VMFS_ALLOC_THIN), 0);
	assert_int_equal(vmfs_close(fa), 0);
	assert_int_equal(vmfs_open(a, "/mw", VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &fa), 0);
	assert_int_equal(vmfs_open(b, "/mw", VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &fb), 0);
	MW = (struct mw){ .of = fb };
	m->io_hook = mw_hook;
	memset(blk, 'a', sizeof(blk));
	for (int i = 0; i < 8; i++) {
		MW.armed = true;
		assert_int_equal(vmfs_write(fa, (uint64_t)i * MIB, blk, sizeof(blk)), 4096);
		memset(blk, 'a', sizeof(blk));
	}
	m->io_hook = NULL;
	assert_true(MW.n > 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(vmfs_read(fb, (uint64_t)i * MIB, got, sizeof(got)), 4096);
		assert_memory_equal(got, blk, sizeof(got));
	}
	memset(blk, 'o', sizeof(blk));
	for (int i = 0; i < MW.n; i++) {
		assert_int_equal(vmfs_read(fa, (uint64_t)(40 + i) * MIB, got, sizeof(got)), 4096);
		assert_memory_equal(got, blk, sizeof(got));
	}
	assert_int_equal(vmfs_fstat(fa, &st), 0);
	assert_int_equal(st.alloc_bytes, (uint64_t)(8 + MW.n) * MIB);
	assert_int_equal(vmfs_close(fa), 0);
	assert_int_equal(vmfs_close(fb), 0);
	tl_keep_alive(a, false);
	tl_keep_alive(b, false);
	assert_int_equal(vmfs_unmount(a), 0);
	assert_int_equal(vmfs_unmount(b), 0);
	assert_int_equal(tl_fsck(m, false), 0);
	memdev_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claim_race_stalled_claimer),
		cmocka_unit_test(test_same_identity_two_slots),
		cmocka_unit_test(test_twin_writer_loses_lease),
		cmocka_unit_test(test_lost_lease_no_stale_cache),
		cmocka_unit_test(test_late_journal_write_not_replayed),
		cmocka_unit_test(test_torn_paxos_block),
		cmocka_unit_test(test_multiwriter_growth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
