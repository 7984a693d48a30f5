/*
 * virtio-blk (vmm/vdev/virtio/blk.c) on a VMDK of an in-memory VMFS volume
 * (vdisk.c, fs/, tests/fs/memdev.c), driven through its rings in the fake
 * VM of vdev_fakes.c: the test plays the driver and, after each
 * notification, the I/O world. Reads and writes (also longer than the
 * device's bounce buffer), flush reaching the device, GET_ID, discard
 * giving a thin disk's block back, the IOERR and UNSUPP answers, a
 * request without a header (NEEDS_RESET), and a read-only disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "../fs/testlib.h"
#include <vmm/pc_layout.h>
#include <vmm/vdev.h>
#include <vmm/vdisk.h>
#include <vmm/vdisk_host.h>
#include <vmm/vm.h>
#include "../../vmm/vdev/virtio/virtio_priv.h"
#include "vdev_fakes.h"
#include "virtio_fakes.h"

#define BAR4_AT 0xc0000000U
#define DESC 0x10000
#define AVAIL 0x11000
#define USED 0x12000
#define HDR 0x13000
#define STATUS 0x13100
#define DATA 0x100000
#define DATA_LEN (256 * 1024)

static struct memdev *mdev;
static struct vmfs_volume *vol;
static struct vm *vm;
static struct virtio_dev *vd;
static uint16_t avail_idx;

/* The datastore for vdisk_attach(): the in-memory volume; paths are inside it. */
int vdisk_attach(struct vdisk *d, const char *vmname, const char *vmx_dir, const char *file,
		 unsigned flags, char *full, size_t fulllen, char *err, size_t errlen)
{
	(void)vmname, (void)vmx_dir;
	snprintf(full, fulllen, "/vmfs/volumes/unit%s", file);
	return vdisk_open(d, vol, file, flags, err, errlen);
}

void vdisk_detach(struct vdisk *d)
{
	vdisk_close(d);
}

/* make bench's measurement at open (vdisk.bench=): not part of these tests. */
void vdisk_bench(struct vdisk *d, const char *vmname, const char *dev, const char *path)
{
	(void)d, (void)vmname, (void)dev, (void)path;
}

static uint64_t rd(unsigned off, unsigned size)
{
	return fake_mmio_read(vm, BAR4_AT + off, size);
}

static void wr(unsigned off, unsigned size, uint64_t v)
{
	fake_mmio_write(vm, BAR4_AT + off, size, v);
}

static uint64_t offered(void)
{
	wr(VIRTIO_COMMON_DFSELECT, 4, 0);
	uint64_t f = rd(VIRTIO_COMMON_DF, 4);

	wr(VIRTIO_COMMON_DFSELECT, 4, 1);
	return f | rd(VIRTIO_COMMON_DF, 4) << 32;
}

/* A VM with one virtio-blk disk on `path`, set up by the "driver" with every feature offered. */
static void start(const char *path, bool ro)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	const struct vdev_args io = { .name = "ioapic", .mmio = 0xfec00000 };
	static struct vmconfig_disk c;
	const struct vdev_args a = { .name = "scsi0:0", .extra = &c };
	unsigned slot;
	uint64_t f;

	memset(&c, 0, sizeof(c));
	snprintf(c.file, sizeof(c.file), "%s", path);
	c.read_only = ro;
	vm = fake_vm(1, 16);
	assert_non_null(vdev_create(vm, "ioapic", &io));
	assert_non_null(vdev_create(vm, "pci-host", &host));
	vd = (struct virtio_dev *)vdev_create(vm, "virtio-blk", &a);
	assert_non_null(vd);
	for (slot = 0; slot < 32 && fake_pci_cfg_read(vm, slot, 0) != 0x10421af4U; slot++)
		;
	assert_true(slot < 32);
	fake_pci_cfg_write(vm, slot, 0x20, BAR4_AT);
	fake_pci_cfg_write(vm, slot, 0x24, 0);
	fake_pci_cfg_write(vm, slot, 0x04, 0x6);
	wr(VIRTIO_COMMON_STATUS, 1, 3);
	f = offered();
	wr(VIRTIO_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_COMMON_GF, 4, (uint32_t)f);
	wr(VIRTIO_COMMON_GFSELECT, 4, 1);
	wr(VIRTIO_COMMON_GF, 4, (uint32_t)(f >> 32));
	wr(VIRTIO_COMMON_STATUS, 1, 11);
	wr(VIRTIO_COMMON_Q_SELECT, 2, 0);
	wr(VIRTIO_COMMON_Q_SIZE, 2, 16);
	wr(VIRTIO_COMMON_Q_DESC, 8, DESC);
	wr(VIRTIO_COMMON_Q_AVAIL, 8, AVAIL);
	wr(VIRTIO_COMMON_Q_USED, 8, USED);
	wr(VIRTIO_COMMON_Q_ENABLE, 2, 1);
	wr(VIRTIO_COMMON_STATUS, 1, 15);
	assert_int_equal(rd(VIRTIO_COMMON_STATUS, 1), 15);
	avail_idx = 0;
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

/* The device's turn: notify, then what the I/O world does. */
static void run(void)
{
	memcpy(fake_ram + AVAIL + 4 + 2 * ((avail_idx - 1) % 16), &(uint16_t){ 0 }, 2);
	memcpy(fake_ram + AVAIL + 2, &avail_idx, 2);
	wr(VIRTIO_NOTIFY_AT, 2, 0);
	vd->ops->process(vd, __atomic_exchange_n(&vd->kicks, 0, __ATOMIC_ACQ_REL));
}

/* One request: header, data split in `nseg` buffers, status. Returns the status byte. */
static int req(uint32_t type, uint64_t sector, uint32_t len, unsigned nseg, uint32_t *used_len)
{
	uint32_t hdr[4] = { type, 0, (uint32_t)sector, (uint32_t)(sector >> 32) };
	uint16_t wflag = type == 0 || type == 8 ? 2 : 0;
	uint16_t used;
	unsigned i;

	memcpy(fake_ram + HDR, hdr, 16);
	fake_ram[STATUS] = 0xee;
	desc(0, HDR, 16, 1, 1);
	for (i = 0; i < nseg; i++)
		desc(1 + i, DATA + (uint64_t)i * (len / nseg), len / nseg, (uint16_t)(1 | wflag),
		     (uint16_t)(2 + i));
	desc(1 + nseg, STATUS, 1, 2, 0);
	avail_idx++;
	run();
	memcpy(&used, fake_ram + USED + 2, 2);
	if (used != avail_idx)
		return -1;
	if (used_len)
		memcpy(used_len, fake_ram + USED + 4 + 8 * ((used - 1) % 16) + 4, 4);
	return fake_ram[STATUS];
}

static int setup(void **state)
{
	(void)state;
	mdev = tl_format(32 * MIB, 0, 4);
	vol = tl_mount(mdev, 1);
	assert_int_equal(vmfs_mkdir(vol, "/vm", 0755), 0);
	assert_int_equal(vmfs_vmdk_create(vol, "/vm/d.vmdk", 4 * MIB, VMFS_ALLOC_THIN, NULL), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(vmfs_unmount(vol), 0);
	assert_int_equal(tl_fsck(mdev, false), 0);
	memdev_free(mdev);
	return 0;
}

static void test_read_write(void **state)
{
	uint8_t *pattern = malloc(DATA_LEN);
	uint32_t ulen;
	uint64_t flushes;
	struct vmfs_stat st;

	(void)state;
	start("/vm/d.vmdk", false);
	assert_int_equal(rd(VIRTIO_DEVICE_AT, 8), 8192);		/* capacity in sectors */
	assert_int_equal(rd(VIRTIO_DEVICE_AT + 0x14, 4), 512);		/* blk_size */
	assert_true(offered() & (1ULL << 13 | 1ULL << 9));		/* DISCARD, FLUSH */
	assert_false(offered() & 1ULL << 5);				/* not RO */
	/* 200 KiB in 5 buffers: more than the 64 KiB bounce buffer */
	tl_fill(pattern, DATA_LEN, 11);
	memcpy(fake_ram + DATA, pattern, 200 * 1024);
	assert_int_equal(req(1, 10, 200 * 1024, 5, &ulen), 0);
	assert_int_equal(ulen, 1);
	memset(fake_ram + DATA, 0, DATA_LEN);
	assert_int_equal(req(0, 10, 200 * 1024, 4, &ulen), 0);
	assert_int_equal(ulen, 200 * 1024 + 1);
	assert_memory_equal(fake_ram + DATA, pattern, 200 * 1024);
	/* flush reaches the device */
	flushes = mdev->flushes;
	assert_int_equal(req(4, 0, 0, 0, NULL), 0);
	assert_true(mdev->flushes > flushes);
	/* GET_ID */
	assert_int_equal(req(8, 0, 20, 1, &ulen), 0);
	assert_int_equal(ulen, 21);
	assert_string_equal((char *)fake_ram + DATA, "vmk-scsi0:0");
	/* errors */
	assert_int_equal(req(0, 8191, 1024, 1, NULL), 1);		/* past the end */
	assert_int_equal(req(0, 0, 100, 1, NULL), 1);			/* not whole sectors */
	assert_int_equal(req(99, 0, 512, 1, NULL), 2);			/* unknown type */
	/* discard the second file block (sectors 2048..4095) after writing into it */
	assert_int_equal(req(1, 3000, 4096, 1, NULL), 0);
	assert_int_equal(vmfs_stat(vol, "/vm/d-flat.vmdk", &st), 0);
	assert_int_equal(st.alloc_bytes, 2 * MIB);
	{
		uint64_t seg[2] = { 2048, 2048 };	/* sector, then num_sectors and flags */

		memcpy(fake_ram + DATA, seg, 16);
	}
	assert_int_equal(req(11, 0, 16, 1, NULL), 0);
	assert_int_equal(vmfs_stat(vol, "/vm/d-flat.vmdk", &st), 0);
	assert_int_equal(st.alloc_bytes, MIB);
	memset(fake_ram + DATA, 0xaa, 4096);
	assert_int_equal(req(0, 3000, 4096, 1, NULL), 0);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(fake_ram[DATA + i], 0);
	/* a request without a header breaks the device */
	desc(0, STATUS, 1, 2, 0);
	avail_idx++;
	run();
	assert_true(rd(VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("request 0 without room for its header and status byte"));
	stop();
	free(pattern);
}

static void test_read_only(void **state)
{
	(void)state;
	start("/vm/d.vmdk", true);
	assert_true(offered() & 1ULL << 5);				/* RO */
	assert_false(offered() & 1ULL << 13);				/* no DISCARD */
	assert_int_equal(req(1, 0, 512, 1, NULL), 1);
	assert_int_equal(req(0, 0, 512, 1, NULL), 0);
	stop();
}

static void test_missing_disk(void **state)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	static struct vmconfig_disk c = { .file = "/vm/none.vmdk" };
	const struct vdev_args a = { .name = "scsi0:0", .extra = &c };

	(void)state;
	vm = fake_vm(1, 16);
	assert_non_null(vdev_create(vm, "pci-host", &host));
	assert_null(vdev_create(vm, "virtio-blk", &a));
	assert_true(fake_log_has("scsi0:0: disk '/vm/none.vmdk' cannot be opened"));
	assert_true(fake_log_has("this VM does not start"));
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_read_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_disk, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
