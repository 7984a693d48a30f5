/*
 * virtio-rng (vmm/vdev/virtio/rng.c) driven through its ring in the fake
 * VM of vdev_fakes.c: the test plays the driver and, after each
 * notification, the I/O world. Buffers are filled from the entropy
 * source (faked here as a counter, so every byte can be checked), a
 * request gets at most 1 KiB, the rate limit holds the I/O world back
 * for as long as the bytes (or, for tiny buffers, the minimum cost per
 * request) take at the configured rate, and a device-readable buffer
 * puts the device into NEEDS_RESET. Sleeping advances the fake TSC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/entropy.h>
#include <vmkernel/timer.h>
#include <vmm/pc_layout.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>
#include <vmm/vmconfig.h>
#include "../../vmm/vdev/virtio/virtio_priv.h"
#include "vdev_fakes.h"
#include "virtio_fakes.h"

#define BAR4_AT 0xc0000000U
#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define DATA 0x100000

static struct vm *vm;
static struct virtio_dev *vd;
static uint16_t avail_idx;
static uint8_t next_byte;
static unsigned sleeps;

/* The entropy source: a counter, so the test knows every byte it should see. */
void entropy_get(void *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		((uint8_t *)buf)[i] = next_byte++;
}

bool entropy_is_hardware(void)
{
	return true;
}

const char *entropy_source(void)
{
	return "RDRAND";
}

/* The I/O world sleeping for its rate limit: time moves on to the deadline. */
void sched_block_until(uint64_t tsc)
{
	sleeps++;
	if (tsc > fake_tsc)
		fake_tsc = tsc;
}

static uint64_t rd(unsigned off, unsigned size)
{
	return fake_mmio_read(vm, BAR4_AT + off, size);
}

static void wr(unsigned off, unsigned size, uint64_t v)
{
	fake_mmio_write(vm, BAR4_AT + off, size, v);
}

/* The vendor capabilities' cfg_type bytes, as a bit mask. */
static unsigned cap_types(unsigned slot)
{
	unsigned mask = 0, at = fake_pci_cfg_read(vm, slot, 0x34) & 0xff;

	for (unsigned n = 0; at && n < 16; n++) {
		uint32_t w = fake_pci_cfg_read(vm, slot, at & ~3U);

		if ((w & 0xff) == VIRTIO_PCI_CAP_VENDOR)
			mask |= 1U << (w >> 24);
		at = (w >> 8) & 0xff;
	}
	return mask;
}

static void start(uint32_t rate)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	const struct vdev_args io = { .name = "ioapic", .mmio = 0xfec00000 };
	static struct vmconfig_rng c;
	const struct vdev_args a = { .name = "rng0", .extra = &c };
	unsigned slot;

	c = (struct vmconfig_rng){ .present = true, .rate = rate };
	vm = fake_vm(1, 16);
	assert_non_null(vdev_create(vm, "ioapic", &io));
	assert_non_null(vdev_create(vm, "pci-host", &host));
	vd = (struct virtio_dev *)vdev_create(vm, "virtio-rng", &a);
	assert_non_null(vd);
	for (slot = 0; slot < 32 && fake_pci_cfg_read(vm, slot, 0) != 0x10441af4U; slot++)
		;
	assert_true(slot < 32);
	assert_int_equal(fake_pci_cfg_read(vm, slot, 8) >> 24, 0xff);			/* class: other */
	/* common, notify and ISR capabilities; no device configuration (5.4.4 has none) */
	assert_int_equal(cap_types(slot), 1U << 1 | 1U << 2 | 1U << 3);
	fake_pci_cfg_write(vm, slot, 0x20, BAR4_AT);
	fake_pci_cfg_write(vm, slot, 0x24, 0);
	fake_pci_cfg_write(vm, slot, 0x04, 0x6);
	wr(VIRTIO_COMMON_STATUS, 1, 3);
	wr(VIRTIO_COMMON_GFSELECT, 4, 1);
	wr(VIRTIO_COMMON_GF, 4, 1);					/* VERSION_1 */
	wr(VIRTIO_COMMON_STATUS, 1, 11);
	wr(VIRTIO_COMMON_Q_SELECT, 2, 0);
	assert_int_equal(rd(VIRTIO_COMMON_Q_SIZE, 2), 64);
	wr(VIRTIO_COMMON_Q_SIZE, 2, 16);
	wr(VIRTIO_COMMON_Q_DESC, 8, DESC);
	wr(VIRTIO_COMMON_Q_AVAIL, 8, AVAIL);
	wr(VIRTIO_COMMON_Q_USED, 8, USED);
	wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	wr(VIRTIO_COMMON_STATUS, 1, 15);
	assert_int_equal(rd(VIRTIO_COMMON_STATUS, 1), 15);
	avail_idx = 0;
	next_byte = 0;
	sleeps = 0;
}

static void stop(void)
{
	vd->io_done = true;	/* the fake I/O world never ran */
	fake_vm_free(vm);
}

static void desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = fake_ram + DESC + 16 * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Post `n` requests of one writable buffer of `len` bytes each, notify, serve. */
static void post(unsigned n, uint32_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint16_t head = (uint16_t)(i % 16);

		desc(head, DATA + (uint64_t)head * 4096, len, VIRTQ_DESC_F_WRITE, 0);
		memcpy(fake_ram + AVAIL + 4 + 2 * (avail_idx % 16), &head, 2);
		avail_idx++;
	}
	memcpy(fake_ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_NOTIFY_AT, 2, 0);
	vd->ops->process(vd, __atomic_exchange_n(&vd->kicks, 0, __ATOMIC_ACQ_REL));
}

static uint16_t used_idx(void)
{
	uint16_t u;

	memcpy(&u, fake_ram + USED + 2, 2);
	return u;
}

static uint32_t used_len(uint16_t i)
{
	uint32_t l;

	memcpy(&l, fake_ram + USED + 4 + 8 * (i % 16) + 4, 4);
	return l;
}

static void test_fills_buffers(void **state)
{
	(void)state;
	start(VMCONFIG_RNG_RATE_DEFAULT);
	memset(fake_ram + DATA, 0xee, 3 * 4096);
	post(2, 100);
	assert_int_equal(used_idx(), 2);
	assert_int_equal(used_len(0), 100);
	for (unsigned i = 0; i < 100; i++) {
		assert_int_equal(fake_ram[DATA + i], i);
		assert_int_equal(fake_ram[DATA + 4096 + i], (uint8_t)(100 + i));
	}
	assert_int_equal(fake_ram[DATA + 100], 0xee);			/* not past the bytes given */
	/* a buffer larger than a request's maximum gets 1 KiB */
	post(1, 4000);
	assert_int_equal(used_idx(), 3);
	assert_int_equal(used_len(2), 1024);
	assert_int_equal(fake_ram[DATA + 2 * 4096 + 1024], 0xee);
	assert_int_equal(sleeps, 0);				/* within the first burst */
	stop();
}

static void test_rate_limit(void **state)
{
	uint64_t t0;

	(void)state;
	start(4096);				/* burst: 1 KiB */
	t0 = fake_tsc;
	post(16, 1024);				/* 16 KiB: the burst, then 15 KiB at 4 KiB/s */
	assert_int_equal(used_idx(), 16);
	assert_true(sleeps > 0);
	assert_true(fake_tsc - t0 >= FAKE_TSC_HZ * 15 / 4);
	assert_true(fake_tsc - t0 <= FAKE_TSC_HZ * 15 / 4 + FAKE_TSC_HZ / 100);
	/* tiny buffers still cost 64 bytes each: 16 of them take 1024 / 4096 s */
	t0 = fake_tsc;
	post(16, 1);
	assert_int_equal(used_idx(), 32);
	assert_int_equal(used_len(31), 1);
	assert_true(fake_tsc - t0 >= FAKE_TSC_HZ / 4);
	/* an idle second refills the bucket, no more than a burst */
	fake_tsc += 10 * FAKE_TSC_HZ;
	sleeps = 0;
	post(1, 1024);
	assert_int_equal(sleeps, 0);
	post(1, 1024);
	assert_int_equal(sleeps, 1);
	stop();
}

static void test_readable_buffer(void **state)
{
	uint16_t head = 0;

	(void)state;
	start(VMCONFIG_RNG_RATE_DEFAULT);
	desc(0, DATA, 64, 0, 0);				/* device-readable */
	memcpy(fake_ram + AVAIL + 4, &head, 2);
	avail_idx = 1;
	memcpy(fake_ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_NOTIFY_AT, 2, 0);
	vd->ops->process(vd, __atomic_exchange_n(&vd->kicks, 0, __ATOMIC_ACQ_REL));
	assert_int_equal(used_idx(), 0);
	assert_true(rd(VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("request 0 has a device-readable buffer"));
	/* a reset brings it back */
	wr(VIRTIO_COMMON_STATUS, 1, 0);
	assert_int_equal(rd(VIRTIO_COMMON_STATUS, 1), 0);
	stop();
}

static void test_bad_config(void **state)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	struct vmconfig_rng c = { .present = true, .rate = 10 };
	const struct vdev_args a = { .name = "rng0", .extra = &c };

	(void)state;
	vm = fake_vm(1, 16);
	assert_non_null(vdev_create(vm, "pci-host", &host));
	assert_null(vdev_create(vm, "virtio-rng", &a));			/* rate below the minimum */
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fills_buffers),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_readable_buffer),
		cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
