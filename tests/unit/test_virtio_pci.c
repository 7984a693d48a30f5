/*
 * The virtio PCI transport (vmm/vdev/virtio/pci.c) at register level, in
 * the fake VM of vdev_fakes.c, with a small device type of its own (one
 * queue whose requests the test completes by calling the device's
 * process hook, as the I/O world would): identity and capabilities,
 * feature negotiation (features not offered are refused), queue set-up
 * checks, MSI-X vector read-back, NEEDS_RESET for each set-up mistake and
 * for a notification before DRIVER_OK, the notification handing the
 * queue over without doing the work, completion with the ISR and INTx,
 * and reset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/mutex.h>
#include <vmkernel/sched.h>
#include <vmm/guest_mem.h>
#include <vmm/pc_layout.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>
#include "../../vmm/vdev/virtio/virtio_priv.h"
#include "vdev_fakes.h"
#include "virtio_fakes.h"

#define BAR4_AT 0xc0000000U
#define BAR1_AT 0xc0100000U

/* ---- a device type for the test: one queue of 8; requests echo their length ---- */

struct vtest {
	struct virtio_dev vd;
	unsigned processed, resets;
	uint8_t cfg[8];
};

static void vt_cfg_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
	memcpy(buf, ((struct vtest *)vd)->cfg + off, len);
}

static void vt_process(struct virtio_dev *vd, uint32_t queues)
{
	struct vtest *t = (struct vtest *)vd;
	static struct vq_chain c;

	assert_true(queues & 1);
	for (;;) {
		enum vq_err e = vqdev_pop(&vd->vq[0], &vd->mem, &c);

		if (e) {
			virtio_needs_reset(vd, "queue 0: %s", vqdev_err_name(e));
			return;
		}
		if (!c.nseg)
			return;
		assert_int_equal(vqdev_push(&vd->vq[0], &vd->mem, c.head, (uint32_t)c.in_len), VQ_OK);
		virtio_queue_done(vd, 0);
		t->processed++;
	}
}

static void vt_reset(struct virtio_dev *vd)
{
	assert_true(vd->io_lock.held);
	((struct vtest *)vd)->resets++;
}

static const struct virtio_dev_ops vt_ops = {
	.cfg_read = vt_cfg_read, .process = vt_process, .reset = vt_reset,
};

static int vt_create(struct vdev *d, const struct vdev_args *a)
{
	struct vtest *t = (struct vtest *)d;

	(void)a;
	t->vd.ops = &vt_ops;
	t->vd.kind = "virtio-test";
	t->vd.host_features = 1ULL << 5;
	t->vd.cfg_size = sizeof(t->cfg);
	t->vd.nqueues = 1;
	t->vd.qmax = 8;
	t->vd.max_segs = 4;
	memcpy(t->cfg, "\x11\x22\x33\x44\x55\x66\x77\x88", 8);
	return virtio_dev_create(&t->vd, 9, 0x088000);
}

static void vt_destroy(struct vdev *d)
{
	struct vtest *t = (struct vtest *)d;

	t->vd.io_done = true;	/* the fake I/O world never ran */
	virtio_dev_destroy(d);
}

static const struct vdev_type vt_type = {
	.name = "virtio-test", .size = sizeof(struct vtest), .create = vt_create,
	.reset = virtio_dev_reset, .destroy = vt_destroy,
};
VDEV_TYPE(vt_type);

/* ---- the guest's side ---- */

static struct vm *vm;
static struct vtest *dev;
static unsigned slot;

static uint32_t cf8(unsigned s, unsigned reg)
{
	return 0x80000000U | s << 11 | (reg & 0xfc);
}

static uint32_t cfg_r(unsigned reg, unsigned size)
{
	fake_out(vm, 0xcf8, 4, cf8(slot, reg));
	return fake_in(vm, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void cfg_w(unsigned reg, unsigned size, uint32_t v)
{
	fake_out(vm, 0xcf8, 4, cf8(slot, reg));
	fake_out(vm, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static uint64_t rd(unsigned off, unsigned size)
{
	return fake_mmio_read(vm, BAR4_AT + off, size);
}

static void wr(unsigned off, unsigned size, uint64_t v)
{
	fake_mmio_write(vm, BAR4_AT + off, size, v);
}

static uint8_t status(void)
{
	return (uint8_t)rd(VIRTIO_COMMON_AT + VIRTIO_COMMON_STATUS, 1);
}

static int setup(void **state)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	const struct vdev_args io = { .name = "ioapic", .mmio = 0xfec00000 };
	const struct vdev_args a = { .name = "vt0" };

	(void)state;
	vm = fake_vm(1, 16);
	worlds_created = wakeups = 0;
	assert_non_null(vdev_create(vm, "ioapic", &io));
	assert_non_null(vdev_create(vm, "pci-host", &host));
	dev = (struct vtest *)vdev_create(vm, "virtio-test", &a);
	assert_non_null(dev);
	for (slot = 0; slot < 32; slot++) {
		if (cfg_r(0, 4) == 0x10491af4U)
			break;
	}
	assert_true(slot < 32);
	cfg_w(0x20, 4, BAR4_AT);
	cfg_w(0x24, 4, 0);
	cfg_w(0x14, 4, BAR1_AT);
	cfg_w(0x04, 2, 0x6);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_vm_free(vm);
	return 0;
}

static void test_identity_and_caps(void **state)
{
	unsigned at, seen = 0, guard = 0;

	(void)state;
	assert_int_equal(cfg_r(0x08, 1), 1);			/* revision 1: modern */
	assert_int_equal(cfg_r(0x2c, 2), 0x1af4);
	for (at = cfg_r(0x34, 1); at && guard < 16; at = cfg_r(at + 1, 1), guard++) {
		if (cfg_r(at, 1) != VIRTIO_PCI_CAP_VENDOR)
			continue;
		unsigned type = cfg_r(at + 3, 1), off = cfg_r(at + 8, 4), len = cfg_r(at + 12, 4);

		assert_int_equal(cfg_r(at + 4, 1), VIRTIO_BAR);
		seen |= 1U << type;
		if (type == VIRTIO_PCI_CAP_COMMON_CFG)
			assert_true(off == VIRTIO_COMMON_AT && len >= 0x38);
		if (type == VIRTIO_PCI_CAP_NOTIFY_CFG) {
			assert_int_equal(cfg_r(at + 2, 1), 20);		/* cap_len */
			assert_int_equal(cfg_r(at + 16, 4), VIRTIO_NOTIFY_MULT);
			assert_int_equal(off, VIRTIO_NOTIFY_AT);
		}
		if (type == VIRTIO_PCI_CAP_DEVICE_CFG)
			assert_int_equal(len, 8);
	}
	assert_int_equal(seen, 0x1e);	/* common, notify, ISR, device */
	/* the device configuration through the BAR */
	assert_int_equal(rd(VIRTIO_DEVICE_AT + 2, 2), 0x4433);
	assert_int_equal(rd(VIRTIO_DEVICE_AT + 4, 4), 0x88776655);
}

static uint64_t device_features(void)
{
	wr(VIRTIO_COMMON_DFSELECT, 4, 0);
	uint64_t f = rd(VIRTIO_COMMON_DF, 4);

	wr(VIRTIO_COMMON_DFSELECT, 4, 1);
	return f | rd(VIRTIO_COMMON_DF, 4) << 32;
}

static void set_features(uint64_t f)
{
	wr(VIRTIO_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_COMMON_GF, 4, (uint32_t)f);
	wr(VIRTIO_COMMON_GFSELECT, 4, 1);
	wr(VIRTIO_COMMON_GF, 4, (uint32_t)(f >> 32));
}

static void test_features(void **state)
{
	uint64_t f;

	(void)state;
	f = device_features();
	assert_int_equal(f, 1ULL << 5 | 1ULL << 28 | 1ULL << 29 | 1ULL << 32);
	wr(VIRTIO_COMMON_STATUS, 1, 3);
	set_features(f | 1ULL << 7);			/* not offered */
	wr(VIRTIO_COMMON_STATUS, 1, 11);
	assert_int_equal(status(), 3);
	assert_true(fake_log_has("FEATURES_OK refused"));
	wr(VIRTIO_COMMON_STATUS, 1, 7);			/* DRIVER_OK before FEATURES_OK */
	assert_int_equal(status(), 3);
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	assert_int_equal(status(), 0);
	assert_int_equal(dev->resets, 2);		/* at create, and now */
	wr(VIRTIO_COMMON_STATUS, 1, 3);
	set_features(1ULL << 28);			/* without VERSION_1 */
	wr(VIRTIO_COMMON_STATUS, 1, 11);
	assert_int_equal(status(), 3);
	set_features(1ULL << 32 | 1ULL << 29);
	wr(VIRTIO_COMMON_STATUS, 1, 11);
	assert_int_equal(status(), 11);
	assert_true(virtio_has_feature(&dev->vd, 29));
	/* the driver cannot change features once they are agreed */
	set_features(1ULL << 32 | 1ULL << 5);
	assert_false(virtio_has_feature(&dev->vd, 5));
	assert_int_equal(worlds_created, 0);
}

/* Rings in the fake guest RAM. */
#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define BUF 0x20000

static void queue_setup(uint16_t size, uint64_t desc)
{
	wr(VIRTIO_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(rd(VIRTIO_COMMON_Q_SIZE, 2), 8);
	wr(VIRTIO_COMMON_Q_SIZE, 2, size);
	wr(VIRTIO_COMMON_Q_MSIX, 2, 1);
	assert_int_equal(rd(VIRTIO_COMMON_Q_MSIX, 2), 1);
	wr(VIRTIO_COMMON_Q_DESC, 4, (uint32_t)desc);
	wr(VIRTIO_COMMON_Q_DESC + 4, 4, (uint32_t)(desc >> 32));
	wr(VIRTIO_COMMON_Q_AVAIL, 8, AVAIL);
	wr(VIRTIO_COMMON_Q_USED, 8, USED);
	wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
}

static void negotiate(void)
{
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	wr(VIRTIO_COMMON_STATUS, 1, 3);
	set_features(1ULL << 32);
	wr(VIRTIO_COMMON_STATUS, 1, 11);
	assert_int_equal(status(), 11);
}

static void test_queue_setup_errors(void **state)
{
	(void)state;
	negotiate();
	assert_int_equal(rd(VIRTIO_COMMON_NUMQ, 2), 1);
	wr(VIRTIO_COMMON_MSIX, 2, 9);			/* beyond the 2 vectors */
	assert_int_equal(rd(VIRTIO_COMMON_MSIX, 2), 0xffff);
	wr(VIRTIO_COMMON_MSIX, 2, 0);
	assert_int_equal(rd(VIRTIO_COMMON_MSIX, 2), 0);
	queue_setup(6, DESC);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("queue 0 set up with size 6"));
	assert_true(fake_log_has("not a power of two; the device needs a reset"));
	/* the config interrupt is INTx here (MSI-X not enabled): the ISR says so */
	assert_int_equal(rd(VIRTIO_ISR_AT, 1), 2);
	assert_int_equal(rd(VIRTIO_ISR_AT, 1), 0);	/* read clears */
	negotiate();
	assert_false(status() & VIRTIO_STATUS_NEEDS_RESET);
	queue_setup(8, 60ULL << 20);			/* descriptor table past RAM */
	assert_true(fake_log_has("ring misaligned or outside guest RAM"));
	negotiate();
	queue_setup(8, DESC + 8);			/* misaligned */
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	/* a notification before DRIVER_OK */
	negotiate();
	queue_setup(8, DESC);
	assert_false(status() & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_NOTIFY_AT, 2, 0);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("queue 0 notified before DRIVER_OK"));
	assert_int_equal(wakeups, 0);
}

static void put(uint64_t gpa, const void *p, size_t n)
{
	memcpy(fake_ram + gpa, p, n);
}

static void test_notify_and_complete(void **state)
{
	uint64_t d0[2] = { BUF, 64ULL | (uint64_t)2 << 32 };	/* len 64, WRITE */
	uint16_t one = 1, head = 0, used;

	(void)state;
	negotiate();
	queue_setup(8, DESC);
	wr(VIRTIO_COMMON_STATUS, 1, 15);
	assert_int_equal(status(), 15);
	assert_int_equal(worlds_created, 1);
	put(DESC, d0, sizeof(d0));
	put(AVAIL + 4, &head, 2);
	put(AVAIL + 2, &one, 2);
	/* the notification only hands the queue over */
	wr(VIRTIO_NOTIFY_AT, 2, 0);
	assert_int_equal(wakeups, 1);
	assert_int_equal(dev->processed, 0);
	assert_int_equal(dev->vd.kicks, 1);
	/* the I/O world's part */
	dev->vd.ops->process(&dev->vd, __atomic_exchange_n(&dev->vd.kicks, 0, __ATOMIC_ACQ_REL));
	assert_int_equal(dev->processed, 1);
	memcpy(&used, fake_ram + USED + 2, 2);
	assert_int_equal(used, 1);
	assert_int_equal(rd(VIRTIO_ISR_AT, 1), 1);
	/* a notification for a queue that does not exist is ignored */
	wr(VIRTIO_NOTIFY_AT + 4 * 3, 2, 3);
	assert_int_equal(wakeups, 1);
	/* set-up is frozen while the driver runs */
	wr(VIRTIO_COMMON_Q_SIZE, 2, 4);
	assert_int_equal(rd(VIRTIO_COMMON_Q_SIZE, 2), 8);
	/* a malformed ring found by the I/O world */
	put(AVAIL + 4 + 2, &(uint16_t){ 9 }, 2);
	put(AVAIL + 2, &(uint16_t){ 2 }, 2);
	wr(VIRTIO_NOTIFY_AT, 2, 0);
	dev->vd.ops->process(&dev->vd, 1);
	assert_true(status() & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("virtio-test 'vt0': queue 0: head descriptor index outside the ring"));
	/* further notifications do nothing until a reset */
	wakeups = 0;
	wr(VIRTIO_NOTIFY_AT, 2, 0);
	assert_int_equal(wakeups, 0);
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	assert_int_equal(status(), 0);
	assert_false(dev->vd.vq[0].enabled);
	assert_int_equal(rd(VIRTIO_COMMON_Q_SIZE, 2), 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_identity_and_caps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_setup_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_notify_and_complete, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
