/*
 * fw_cfg, QEMU's firmware configuration interface (its docs/specs/
 * fw_cfg.rst), so software written for QEMU's PC machine finds the same
 * facts here:
 *
 *  - port 0x510 (16-bit write): select an item, rewinding its offset;
 *  - port 0x511 (8-bit read): the selected item's next byte (0 past its end);
 *  - ports 0x514/0x518 (big-endian high and low halves of a 64-bit
 *    guest-physical address; writing the low half starts it): DMA with a
 *    FWCfgDmaAccess record { be32 control, be32 length, be64 address };
 *    control bits: 0 error, 1 read, 2 skip, 3 select (item in 31:16),
 *    4 write. The record's control is 0 when done, or the error bit.
 *    Reading 8 bytes from 0x514 gives the DMA signature "QEMU CFG".
 *
 * Items: signature "QEMU" (0x0000), interface ID (0x0001: traditional and
 * DMA), UUID (0x0002), RAM size (0x0003), CPU counts (0x0005, 0x000f),
 * boot menu (0x000e), the file directory (0x0019: be32 count, then
 * { be32 size, be16 select, be16 reserved, char name[56] }), and files:
 * "bootorder" (empty: the loader boots the VM directly) and "etc/e820"
 * (the machine's memory map as { le64 address, le64 length, le32 type }).
 * Everything is read-only; a DMA write fails with the error bit.
 *
 * Locking: f->lock. DMA copies through guest memory with it dropped.
 */
#include <errno.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/spinlock.h>
#include <vmm/guest_mem.h>
#include <vmm/pc_layout.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>

#define FW_CFG_SIGNATURE	0x0000
#define FW_CFG_ID		0x0001
#define FW_CFG_UUID		0x0002
#define FW_CFG_RAM_SIZE		0x0003
#define FW_CFG_NB_CPUS		0x0005
#define FW_CFG_BOOT_MENU	0x000e
#define FW_CFG_MAX_CPUS		0x000f
#define FW_CFG_FILE_DIR		0x0019
#define FW_CFG_FILE_FIRST	0x0020
#define DMA_ERROR		(1U << 0)
#define DMA_READ		(1U << 1)
#define DMA_SKIP		(1U << 2)
#define DMA_SELECT		(1U << 3)
#define DMA_WRITE		(1U << 4)
#define MAX_ITEMS		12
#define FILE_NAME		56
#define DMA_MAX_LEN		(16U << 20)	/* no item is near this: a guard for hostile lengths */

struct fw_item {
	uint16_t key;
	const char *file;	/* NULL: not in the file directory */
	uint8_t *data;
	uint32_t size;
};

struct vdev_fw_cfg {
	struct vdev dev;
	struct spinlock lock;
	struct fw_item items[MAX_ITEMS];	/* fixed at creation */
	unsigned nitems;
	uint16_t sel;				/* lock */
	uint32_t off;				/* lock */
	uint32_t dma_high;			/* lock */
};

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t rd_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static int add(struct vdev_fw_cfg *f, uint16_t key, const char *file, const void *data,
	       uint32_t size)
{
	struct fw_item *it = &f->items[f->nitems];

	if (f->nitems == MAX_ITEMS)
		return -ENOSPC;
	it->key = key;
	it->file = file;
	it->size = size;
	it->data = size ? kmalloc(size) : NULL;
	if (size && !it->data)
		return -ENOMEM;
	if (size)
		memcpy(it->data, data, size);
	f->nitems++;
	return 0;
}

static const struct fw_item *find(const struct vdev_fw_cfg *f, uint16_t key)
{
	for (unsigned i = 0; i < f->nitems; i++) {
		if (f->items[i].key == key)
			return &f->items[i];
	}
	return NULL;
}

/* A stable per-VM UUID from its name (version 4 and variant bits set). */
static void vm_uuid(const struct vm *vm, uint8_t u[16])
{
	uint64_t h[2] = { 0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL };

	for (const char *c = vm->name; *c; c++) {
		h[0] = (h[0] ^ (uint8_t)*c) * 0x100000001b3ULL;
		h[1] = (h[1] ^ (uint8_t)*c) * 0x1000193ULL + 0x9e3779b97f4a7c15ULL;
	}
	memcpy(u, h, 16);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
}

static int add_files(struct vdev_fw_cfg *f)
{
	struct e820_entry map[8];
	unsigned n = pc_e820(f->dev.vm->ram_size, map, 8);
	uint8_t e820[8 * 20], dir[4 + 2 * 64];
	unsigned nfiles = 0;
	int err;

	for (unsigned i = 0; i < n; i++) {
		le(e820 + 20 * i, map[i].addr, 8);
		le(e820 + 20 * i + 8, map[i].size, 8);
		le(e820 + 20 * i + 16, map[i].type, 4);
	}
	if ((err = add(f, FW_CFG_FILE_FIRST, "bootorder", NULL, 0)) ||
	    (err = add(f, FW_CFG_FILE_FIRST + 1, "etc/e820", e820, 20 * n)))
		return err;
	memset(dir, 0, sizeof(dir));
	for (unsigned i = 0; i < f->nitems; i++) {
		uint8_t *e = dir + 4 + 64 * nfiles;

		if (!f->items[i].file)
			continue;
		be32(e, f->items[i].size);
		e[4] = (uint8_t)(f->items[i].key >> 8);
		e[5] = (uint8_t)f->items[i].key;
		memcpy(e + 8, f->items[i].file, strlen(f->items[i].file) < FILE_NAME - 1 ?
		       strlen(f->items[i].file) : FILE_NAME - 1);
		nfiles++;
	}
	be32(dir, nfiles);
	return add(f, FW_CFG_FILE_DIR, NULL, dir, 4 + 64 * nfiles);
}

/* Copy `len` bytes of the selected item from its offset into buf (zeros past its end). Lock held. */
static void item_read(struct vdev_fw_cfg *f, uint8_t *buf, uint32_t len)
{
	const struct fw_item *it = find(f, f->sel);

	for (uint32_t i = 0; i < len; i++, f->off++)
		buf[i] = it && f->off < it->size ? it->data[f->off] : 0;
}

/* One DMA request at guest-physical rec (the FWCfgDmaAccess record). */
static void dma(struct vdev_fw_cfg *f, uint64_t rec)
{
	struct vm *vm = f->dev.vm;
	uint8_t r[16], chunk[512];
	uint32_t control, len, status = 0;
	uint64_t addr;
	unsigned long flags;

	if (guest_read(vm, rec, r, sizeof(r)))
		return;		/* no record to report an error in */
	control = rd_be32(r);
	len = rd_be32(r + 4);
	addr = (uint64_t)rd_be32(r + 8) << 32 | rd_be32(r + 12);
	flags = spin_lock_irqsave(&f->lock);
	if (control & DMA_SELECT) {
		f->sel = (uint16_t)(control >> 16);
		f->off = 0;
	}
	spin_unlock_irqrestore(&f->lock, flags);
	if ((control & DMA_WRITE) || len > DMA_MAX_LEN) {
		status = DMA_ERROR;	/* read-only items; hostile lengths */
	} else if (control & (DMA_READ | DMA_SKIP)) {
		for (uint32_t done = 0; done < len && !status;) {
			uint32_t n = len - done < sizeof(chunk) ? len - done : sizeof(chunk);

			flags = spin_lock_irqsave(&f->lock);
			item_read(f, chunk, n);
			spin_unlock_irqrestore(&f->lock, flags);
			if ((control & DMA_READ) && guest_write(vm, addr + done, chunk, n))
				status = DMA_ERROR;	/* the buffer is not guest RAM */
			done += n;
		}
	}
	be32(r, status);
	guest_write(vm, rec, r, 4);
}

static uint32_t fw_in(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_fw_cfg *f = (struct vdev_fw_cfg *)d;
	static const uint8_t sig[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
	unsigned long flags;
	uint8_t b = 0;

	(void)v;
	if (port == 0x511 && size == 1) {
		flags = spin_lock_irqsave(&f->lock);
		item_read(f, &b, 1);
		spin_unlock_irqrestore(&f->lock, flags);
		return b;
	}
	if (port >= 0x514 && port < 0x51c) {
		uint32_t val = 0;

		/* The DMA signature, big-endian, readable in any width. */
		for (unsigned i = 0; i < size && port - 0x514 + i < 8; i++)
			val |= (uint32_t)sig[port - 0x514 + i] << (8 * i);
		return val;
	}
	return size == 4 ? 0xffffffffU : (1U << (8 * size)) - 1;
}

static void fw_out(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_fw_cfg *f = (struct vdev_fw_cfg *)d;
	unsigned long flags = spin_lock_irqsave(&f->lock);
	uint64_t rec = 0;
	bool go = false;

	(void)v;
	if (port == 0x510 && size == 2) {
		f->sel = (uint16_t)val;
		f->off = 0;
	} else if (port == 0x514 && size == 4) {
		f->dma_high = __builtin_bswap32(val);
	} else if (port == 0x518 && size == 4) {
		rec = (uint64_t)f->dma_high << 32 | __builtin_bswap32(val);
		f->dma_high = 0;
		go = true;
	}
	spin_unlock_irqrestore(&f->lock, flags);
	if (go)
		dma(f, rec);
}

static const struct vdev_pio_ops fw_ops = { .in = fw_in, .out = fw_out };

static int fw_cfg_create(struct vdev *d, const struct vdev_args *a)
{
	struct vdev_fw_cfg *f = (struct vdev_fw_cfg *)d;
	struct vm *vm = d->vm;
	uint8_t id[4] = { 3, 0, 0, 0 }, uuid[16], ram[8], cpus[2] = { (uint8_t)vm->nvcpus, 0 };
	uint8_t menu[2] = { 0, 0 };
	int err;

	(void)a;
	spin_init(&f->lock, "fw_cfg");
	vm_uuid(vm, uuid);
	le(ram, vm->ram_size, 8);
	if ((err = add(f, FW_CFG_SIGNATURE, NULL, "QEMU", 4)) ||
	    (err = add(f, FW_CFG_ID, NULL, id, 4)) || (err = add(f, FW_CFG_UUID, NULL, uuid, 16)) ||
	    (err = add(f, FW_CFG_RAM_SIZE, NULL, ram, 8)) ||
	    (err = add(f, FW_CFG_NB_CPUS, NULL, cpus, 2)) ||
	    (err = add(f, FW_CFG_MAX_CPUS, NULL, cpus, 2)) ||
	    (err = add(f, FW_CFG_BOOT_MENU, NULL, menu, 2)) || (err = add_files(f)))
		return err;
	if ((err = vdev_pio_register(d, 0x510, 2, &fw_ops, true)) < 0 ||
	    (err = vdev_pio_register(d, 0x514, 8, &fw_ops, true)) < 0)
		return err;
	return 0;
}

static void fw_cfg_reset(struct vdev *d)
{
	struct vdev_fw_cfg *f = (struct vdev_fw_cfg *)d;

	f->sel = 0;
	f->off = 0;
	f->dma_high = 0;
}

static void fw_cfg_destroy(struct vdev *d)
{
	struct vdev_fw_cfg *f = (struct vdev_fw_cfg *)d;

	for (unsigned i = 0; i < f->nitems; i++)
		kfree(f->items[i].data);
}

static const struct vdev_type fw_cfg_type = {
	.name = "fw_cfg", .size = sizeof(struct vdev_fw_cfg), .create = fw_cfg_create,
	.reset = fw_cfg_reset, .destroy = fw_cfg_destroy,
};
VDEV_TYPE(fw_cfg_type);
