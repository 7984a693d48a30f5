/*
 * virtio-balloon (vmm/vdev/virtio/balloon.c) driven through its rings in
 * the fake VM of vdev_fakes.c: the test plays Linux's driver (which
 * notifies the statistics queue before DRIVER_OK) and, after each
 * notification, the I/O world. Targets from the memory scheduler's side
 * reach the configuration with an interrupt; inflated pages go to
 * guest_ram_balloon() (faked: recorded); deflates only leave the
 * balloon; statistics are kept and handed back on request; hostile
 * requests put the device into NEEDS_RESET with the reason and leave the
 * balloon's count right; a reset empties it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmm/balloon.h>
#include <vmm/guest_mem.h>
#include <vmm/pc_layout.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>
#include <vmm/vmconfig.h>
#include "../../vmm/vdev/virtio/virtio_priv.h"
#include "vdev_fakes.h"
#include "virtio_fakes.h"

#define BAR4_AT	0xc0000000U
#define QSIZE	16
#define Q_AT(q)	(0x10000u + (q) * 0x4000u)	/* desc; avail +0x1000; used +0x2000 */
#define DATA	0x100000u

static struct vm *vm;
static struct virtio_dev *vd;
static uint16_t avail_idx[3];
static uint64_t unbacked[64];
static unsigned nunbacked;

bool guest_is_ram(const struct vm *v, uint64_t gpa)
{
	return guest_range_is_ram(v, gpa, 1);
}

void guest_ram_balloon(struct vm *v, const uint64_t *gpa, unsigned n, struct balloon_unback *r)
{
	assert_ptr_equal(v, vm);
	for (unsigned i = 0; i < n; i++) {
		assert_true(nunbacked < 64);
		unbacked[nunbacked++] = gpa[i];
		r->freed++;
	}
}

static uint64_t rd(unsigned off, unsigned size)
{
	return fake_mmio_read(vm, BAR4_AT + off, size);
}

static void wr(unsigned off, unsigned size, uint64_t v)
{
	fake_mmio_write(vm, BAR4_AT + off, size, v);
}

static void serve(void)
{
	vd->ops->process(vd, __atomic_exchange_n(&vd->kicks, 0, __ATOMIC_ACQ_REL));
}

/* Queue q's descriptor head: one buffer at gpa. */
static void post(unsigned q, uint64_t gpa, uint32_t len, uint16_t flags)
{
	uint8_t *d = fake_ram + Q_AT(q);
	uint16_t head = avail_idx[q] % QSIZE;

	memcpy(d + 16 * head, &gpa, 8);
	memcpy(d + 16 * head + 8, &len, 4);
	memcpy(d + 16 * head + 12, &flags, 2);
	memset(d + 16 * head + 14, 0, 2);
	memcpy(fake_ram + Q_AT(q) + 0x1000 + 4 + 2 * head, &head, 2);
	avail_idx[q]++;
	memcpy(fake_ram + Q_AT(q) + 0x1000 + 2, &avail_idx[q], 2);
	wr(VIRTIO_NOTIFY_AT + 4 * q, 2, q);
}

static uint16_t used_idx(unsigned q)
{
	uint16_t u;

	memcpy(&u, fake_ram + Q_AT(q) + 0x2000 + 2, 2);
	return u;
}

static void pfns(unsigned q, const uint32_t *p, unsigned n)
{
	memcpy(fake_ram + DATA, p, 4 * n);
	post(q, DATA, 4 * n, 0);
	serve();
}

static void put_stat(unsigned at, uint16_t tag, uint64_t v)
{
	memcpy(fake_ram + DATA + 0x1000 + at * 10, &tag, 2);
	memcpy(fake_ram + DATA + 0x1000 + at * 10 + 2, &v, 8);
}

static bool broken(void)
{
	return rd(VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET;
}

/* The driver's probe, in Linux's order: the stats buffer is posted before DRIVER_OK. */
static void driver_up(void)
{
	memset(avail_idx, 0, sizeof(avail_idx));
	wr(VIRTIO_COMMON_STATUS, 1, 3);
	wr(VIRTIO_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_COMMON_GF, 4, 1u << VIRTIO_BALLOON_F_MUST_TELL_HOST |
				1u << VIRTIO_BALLOON_F_STATS_VQ);
	wr(VIRTIO_COMMON_GFSELECT, 4, 1);
	wr(VIRTIO_COMMON_GF, 4, 1);					/* VERSION_1 */
	wr(VIRTIO_COMMON_STATUS, 1, 11);
	assert_int_equal(rd(VIRTIO_COMMON_NUMQ, 2), 3);
	for (unsigned q = 0; q < 3; q++) {
		memset(fake_ram + Q_AT(q), 0, 0x3000);
		wr(VIRTIO_COMMON_Q_SELECT, 2, q);
		assert_int_equal(rd(VIRTIO_COMMON_Q_SIZE, 2), 128);
		wr(VIRTIO_COMMON_Q_SIZE, 2, QSIZE);
		wr(VIRTIO_COMMON_Q_DESC, 8, Q_AT(q));
		wr(VIRTIO_COMMON_Q_AVAIL, 8, Q_AT(q) + 0x1000);
		wr(VIRTIO_COMMON_Q_USED, 8, Q_AT(q) + 0x2000);
		wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	}
	put_stat(0, BALLOON_S_MEMTOT, 16ull << 20);
	put_stat(1, BALLOON_S_AVAIL, 10ull << 20);
	post(BALLOON_Q_STATS, DATA + 0x1000, 20, 0);
	assert_false(broken());			/* kept for DRIVER_OK */
	wr(VIRTIO_COMMON_STATUS, 1, 15);
	assert_int_equal(rd(VIRTIO_COMMON_STATUS, 1), 15);
	serve();
	assert_int_equal(used_idx(BALLOON_Q_STATS), 0);	/* held by the device */
}

static void start(void)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	const struct vdev_args io = { .name = "ioapic", .mmio = 0xfec00000 };
	struct vdev_args a = { .name = "balloon0" };
	unsigned slot;

	vm = fake_vm(1, 16);
	vm->cfg.memsize_mb = 16;
	vm->cfg.balloon = true;
	a.extra = &vm->cfg;
	nunbacked = 0;
	assert_non_null(vdev_create(vm, "ioapic", &io));
	assert_non_null(vdev_create(vm, "pci-host", &host));
	vd = (struct virtio_dev *)vdev_create(vm, "virtio-balloon", &a);
	assert_non_null(vd);
	for (slot = 0; slot < 32 && fake_pci_cfg_read(vm, slot, 0) != 0x10451af4U; slot++)
		;
	assert_true(slot < 32);
	fake_pci_cfg_write(vm, slot, 0x20, BAR4_AT);
	fake_pci_cfg_write(vm, slot, 0x24, 0);
	fake_pci_cfg_write(vm, slot, 0x04, 0x6);
	wr(VIRTIO_COMMON_DFSELECT, 4, 0);
	assert_int_equal(rd(VIRTIO_COMMON_DF, 4) & 3, 3);	/* MUST_TELL_HOST, STATS_VQ */
	driver_up();
}

static void stop(void)
{
	vd->io_done = true;	/* the fake I/O world never ran */
	fake_vm_free(vm);
}

static void test_targets_and_config(void **state)
{
	uint8_t gen;

	(void)state;
	start();
	assert_int_equal(rd(VIRTIO_DEVICE_AT, 4), 0);
	gen = (uint8_t)rd(VIRTIO_COMMON_CFGGEN, 1);
	rd(VIRTIO_ISR_AT, 1);
	balloon_vm_set_target(vm, 100);
	assert_int_equal(rd(VIRTIO_DEVICE_AT, 4), 100);
	assert_int_not_equal(rd(VIRTIO_COMMON_CFGGEN, 1), gen);
	assert_int_equal(rd(VIRTIO_ISR_AT, 1) & 2, 2);		/* configuration interrupt */
	/* a lower target (the host has memory again) is announced the same way */
	gen = (uint8_t)rd(VIRTIO_COMMON_CFGGEN, 1);
	balloon_vm_set_target(vm, 0);
	assert_int_equal(rd(VIRTIO_DEVICE_AT, 4), 0);
	assert_int_not_equal(rd(VIRTIO_COMMON_CFGGEN, 1), gen);
	assert_int_equal(rd(VIRTIO_ISR_AT, 1) & 2, 2);
	assert_int_equal(rd(VIRTIO_ISR_AT, 1) & 2, 0);		/* reading cleared it */
	balloon_vm_set_target(vm, 0);				/* no change: no interrupt */
	assert_int_equal(rd(VIRTIO_ISR_AT, 1) & 2, 0);
	/* capped at sched.mem.maxmemctl: 65% of 16 MiB = 10 MiB */
	balloon_vm_set_target(vm, 1000000);
	assert_int_equal(rd(VIRTIO_DEVICE_AT, 4), 2560);
	/* actual is the driver's; the other words are read-only zeros */
	wr(VIRTIO_DEVICE_AT + 4, 4, 7);
	wr(VIRTIO_DEVICE_AT + 0, 4, 5);
	wr(VIRTIO_DEVICE_AT + 12, 4, 9);
	assert_int_equal(rd(VIRTIO_DEVICE_AT + 4, 4), 7);
	assert_int_equal(rd(VIRTIO_DEVICE_AT, 4), 2560);
	assert_int_equal(rd(VIRTIO_DEVICE_AT + 12, 4), 0);
	stop();
}

static void test_inflate_deflate(void **state)
{
	const uint32_t in[] = { 0x100, 0x101, 0x200 }, out[] = { 0x101 };
	struct balloon_info bi;

	(void)state;
	start();
	pfns(BALLOON_Q_INFLATE, in, 3);
	assert_false(broken());
	assert_int_equal(used_idx(BALLOON_Q_INFLATE), 1);
	assert_int_equal(nunbacked, 3);
	assert_int_equal(unbacked[0], 0x100000);
	assert_int_equal(unbacked[2], 0x200000);
	assert_int_equal(balloon_vm_pages(vm), 3);
	pfns(BALLOON_Q_DEFLATE, out, 1);
	assert_int_equal(used_idx(BALLOON_Q_DEFLATE), 1);
	assert_int_equal(balloon_vm_pages(vm), 2);
	assert_int_equal(nunbacked, 3);			/* a deflate unbacks nothing */
	pfns(BALLOON_Q_INFLATE, out, 1);		/* in again */
	assert_int_equal(balloon_vm_pages(vm), 3);
	assert_true(balloon_vm_info(vm, &bi));
	assert_true(bi.live);
	assert_int_equal(bi.max_pages, 2560);
	/* a driver reset: every page is the guest's again */
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	assert_int_equal(balloon_vm_pages(vm), 0);
	stop();
}

static void test_stats(void **state)
{
	struct balloon_info bi;

	(void)state;
	start();
	assert_true(balloon_vm_info(vm, &bi));
	assert_true(bi.stats);
	assert_int_equal(bi.guest_total, 16ull << 20);
	assert_int_equal(bi.guest_avail, 10ull << 20);
	/* fresh figures: the buffer goes back, the driver refills and posts it */
	balloon_vm_request_stats(vm);
	serve();
	assert_int_equal(used_idx(BALLOON_Q_STATS), 1);
	put_stat(0, BALLOON_S_MEMTOT, 15ull << 20);
	put_stat(1, BALLOON_S_MEMFREE, 3ull << 20);
	post(BALLOON_Q_STATS, DATA + 0x1000, 20, 0);
	serve();
	assert_true(balloon_vm_info(vm, &bi));
	assert_int_equal(bi.guest_total, 15ull << 20);
	assert_int_equal(bi.guest_avail, 3ull << 20);	/* no MemAvailable: MemFree */
	/* without a request the buffer stays */
	serve();
	assert_int_equal(used_idx(BALLOON_Q_STATS), 1);
	/* a statistics buffer of a broken length */
	balloon_vm_request_stats(vm);
	serve();
	post(BALLOON_Q_STATS, DATA + 0x1000, 15, 0);
	serve();
	assert_true(broken());
	assert_true(fake_log_has("statistics buffer not a whole number of entries"));
	stop();
}

static void test_hostile(void **state)
{
	const uint32_t in[] = { 0x100, 0x101 }, twice[] = { 0x102, 0x100 };
	const uint32_t outside[] = { 0x1000 }, not_in[] = { 0x300 };

	(void)state;
	start();
	pfns(BALLOON_Q_INFLATE, in, 2);
	pfns(BALLOON_Q_INFLATE, twice, 2);
	assert_true(broken());
	assert_true(fake_log_has("request 1: page inflated twice (PFN 0x100)"));
	assert_int_equal(balloon_vm_pages(vm), 2);	/* 0x102 was not taken */
	assert_int_equal(nunbacked, 2);
	/* no more work until a reset */
	pfns(BALLOON_Q_INFLATE, not_in, 1);
	assert_int_equal(balloon_vm_pages(vm), 2);
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	assert_int_equal(balloon_vm_pages(vm), 0);
	driver_up();
	pfns(BALLOON_Q_INFLATE, outside, 1);		/* 16 MiB of RAM: PFN 0x1000 is past it */
	assert_true(broken());
	assert_true(fake_log_has("PFN outside guest RAM (PFN 0x1000)"));
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	driver_up();
	pfns(BALLOON_Q_DEFLATE, not_in, 1);
	assert_true(fake_log_has("deflate of a page not in the balloon (PFN 0x300)"));
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	driver_up();
	memcpy(fake_ram + DATA, in, 8);
	post(BALLOON_Q_INFLATE, DATA, 6, 0);
	serve();
	assert_true(fake_log_has("PFN array length not a multiple of 4 bytes (6 bytes)"));
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	driver_up();
	post(BALLOON_Q_INFLATE, DATA, 8, VIRTQ_DESC_F_WRITE);
	serve();
	assert_true(fake_log_has("device-writable buffer in an inflate/deflate request"));
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	driver_up();
	post(BALLOON_Q_INFLATE, DATA, BALLOON_REQ_MAX + 4, 0);
	serve();
	assert_true(fake_log_has("PFN array longer than the device takes"));
	assert_int_equal(balloon_vm_pages(vm), 0);
	assert_int_equal(nunbacked, 2);
	stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_targets_and_config),
		cmocka_unit_test(test_inflate_deflate),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
