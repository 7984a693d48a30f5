/*
 * Virtio 1.x PCI transport (Virtio 1.1, 4.1.4): the device publishes its
 * register blocks through vendor-specific capabilities (common, notify,
 * ISR, device configuration), each a (BAR, offset, length) triple that is
 * checked against the BAR before use. Device initialisation follows 3.1.1:
 * reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (read back), queues,
 * DRIVER_OK.
 */
#define pr_fmt(fmt) "virtio: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <drivers/pci.h>
#include <vmkernel/timer.h>
#include <drivers/virtio.h>

/* struct virtio_pci_cap (4.1.4) */
#define CAP_CFG_TYPE	3
#define CAP_BAR		4
#define CAP_OFFSET	8
#define CAP_LENGTH	12
#define CAP_NOTIFY_MULT	16

#define CFG_COMMON	1
#define CFG_NOTIFY	2
#define CFG_ISR		3
#define CFG_DEVICE	4

/* struct virtio_pci_common_cfg offsets */
#define C_DFSELECT	0
#define C_DF		4
#define C_GFSELECT	8
#define C_GF		12
#define C_MSIX_CONFIG	16
#define C_NUM_QUEUES	18
#define C_STATUS	20
#define C_CFG_GEN	21
#define C_Q_SELECT	22
#define C_Q_SIZE	24
#define C_Q_MSIX	26
#define C_Q_ENABLE	28
#define C_Q_NOTIFY_OFF	30
#define C_Q_DESC	32
#define C_Q_DRIVER	40
#define C_Q_DEVICE	48

static uint8_t c8(struct virtio_dev *v, unsigned off)
{
	return v->common[off];
}

static uint16_t c16(struct virtio_dev *v, unsigned off)
{
	return *(volatile uint16_t *)(v->common + off);
}

static uint32_t c32(struct virtio_dev *v, unsigned off)
{
	return *(volatile uint32_t *)(v->common + off);
}

static void w8(struct virtio_dev *v, unsigned off, uint8_t x)
{
	v->common[off] = x;
}

static void w16(struct virtio_dev *v, unsigned off, uint16_t x)
{
	*(volatile uint16_t *)(v->common + off) = x;
}

static void w32(struct virtio_dev *v, unsigned off, uint32_t x)
{
	*(volatile uint32_t *)(v->common + off) = x;
}

static void w64(struct virtio_dev *v, unsigned off, uint64_t x)
{
	w32(v, off, (uint32_t)x);
	w32(v, off + 4, (uint32_t)(x >> 32));
}

/* Map the region a virtio capability at `cap` describes; NULL if it is bad. */
static volatile uint8_t *cap_region(struct pci_dev *d, unsigned cap, uint32_t *len)
{
	uint8_t bar = pci_read8(d, cap + CAP_BAR);
	uint32_t off = pci_read32(d, cap + CAP_OFFSET), n = pci_read32(d, cap + CAP_LENGTH);
	volatile uint8_t *base;

	if (bar > 5 || !d->bar[bar].size || (d->bar[bar].flags & PCI_BAR_IO) ||
	    (uint64_t)off + n > d->bar[bar].size)
		return NULL;
	base = pci_map_bar(d, bar);
	if (!base)
		return NULL;
	*len = n;
	return base + off;
}

static int find_caps(struct virtio_dev *v, struct pci_dev *d)
{
	struct pci_cap_entry caps[PCI_MAX_CAPS];
	uint32_t len;
	int n = pci_dev_caps(d, caps, PCI_MAX_CAPS);

	for (int i = 0; i < n; i++) {
		unsigned c = caps[i].off;
		uint8_t type;

		if (caps[i].ext || caps[i].id != PCI_CAP_ID_VNDR)
			continue;
		type = pci_read8(d, c + CAP_CFG_TYPE);
		if (type == CFG_COMMON && !v->common) {
			v->common = cap_region(d, c, &len);
			if (v->common && len < 56)
				v->common = NULL;
		} else if (type == CFG_NOTIFY && !v->notify_base) {
			v->notify_base = cap_region(d, c, &v->notify_len);
			v->notify_mult = pci_read32(d, c + CAP_NOTIFY_MULT);
		} else if (type == CFG_ISR && !v->isr) {
			v->isr = cap_region(d, c, &len);
		} else if (type == CFG_DEVICE && !v->device) {
			v->device = cap_region(d, c, &v->device_len);
		}
	}
	if (!v->common || !v->notify_base || !v->isr) {
		pr_err("%s: no usable virtio 1.x capabilities (a legacy-only device?)\n", d->name);
		return -ENODEV;
	}
	return 0;
}

void virtio_reset(struct virtio_dev *v)
{
	uint64_t end = time_ns() + 1000000000ull;

	w8(v, C_STATUS, 0);
	while (c8(v, C_STATUS) && time_ns() < end)
		cpu_relax();
}

void virtio_fail(struct virtio_dev *v)
{
	w8(v, C_STATUS, c8(v, C_STATUS) | VIRTIO_STATUS_FAILED);
}

uint8_t virtio_status(struct virtio_dev *v)
{
	return c8(v, C_STATUS);
}

int virtio_pci_init(struct virtio_dev *v, struct pci_dev *d, uint64_t wanted)
{
	uint64_t dev;
	int err;

	memset(v, 0, sizeof(*v));
	v->pdev = d;
	err = find_caps(v, d);
	if (err)
		return err;
	pci_enable(d, true);
	virtio_reset(v);
	if (c8(v, C_STATUS)) {
		pr_err("%s: device does not reset (status %#x)\n", d->name, c8(v, C_STATUS));
		return -EIO;
	}
	w8(v, C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	w8(v, C_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	w32(v, C_DFSELECT, 0);
	dev = c32(v, C_DF);
	w32(v, C_DFSELECT, 1);
	dev |= (uint64_t)c32(v, C_DF) << 32;
	if (!(dev & (1ull << VIRTIO_F_VERSION_1))) {
		pr_err("%s: device does not offer VIRTIO_F_VERSION_1\n", d->name);
		virtio_fail(v);
		return -ENODEV;
	}
	v->features = dev & (wanted | 1ull << VIRTIO_F_VERSION_1);
	w32(v, C_GFSELECT, 0);
	w32(v, C_GF, (uint32_t)v->features);
	w32(v, C_GFSELECT, 1);
	w32(v, C_GF, (uint32_t)(v->features >> 32));
	w8(v, C_STATUS, c8(v, C_STATUS) | VIRTIO_STATUS_FEATURES_OK);
	if (!(c8(v, C_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
		pr_err("%s: device refused features %#llx\n", d->name,
		       (unsigned long long)v->features);
		virtio_fail(v);
		return -ENODEV;
	}
	return 0;
}

bool virtio_has(const struct virtio_dev *v, unsigned feature)
{
	return v->features & (1ull << feature);
}

unsigned virtio_num_queues(struct virtio_dev *v)
{
	return c16(v, C_NUM_QUEUES);
}

int virtio_config_vector(struct virtio_dev *v, uint16_t vec)
{
	w16(v, C_MSIX_CONFIG, vec);
	return c16(v, C_MSIX_CONFIG) == vec ? 0 : -ENOSPC;
}

void virtio_driver_ok(struct virtio_dev *v)
{
	w8(v, C_STATUS, c8(v, C_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

uint8_t virtio_isr(struct virtio_dev *v)
{
	return *v->isr;
}

/* Device configuration: re-read until the generation is stable (4.1.4.3.1). */
static uint64_t cfg(struct virtio_dev *v, unsigned off, unsigned size)
{
	uint64_t x = 0;
	uint8_t gen;

	if (!v->device || off + size > v->device_len)
		return 0;
	do {
		gen = c8(v, C_CFG_GEN);
		switch (size) {
		case 1: x = v->device[off]; break;
		case 2: x = *(volatile uint16_t *)(v->device + off); break;
		case 4: x = *(volatile uint32_t *)(v->device + off); break;
		default:
			x = *(volatile uint32_t *)(v->device + off) |
			    (uint64_t)*(volatile uint32_t *)(v->device + off + 4) << 32;
		}
	} while (gen != c8(v, C_CFG_GEN));
	return x;
}

uint8_t virtio_cfg8(struct virtio_dev *v, unsigned off)
{
	return (uint8_t)cfg(v, off, 1);
}

uint16_t virtio_cfg16(struct virtio_dev *v, unsigned off)
{
	return (uint16_t)cfg(v, off, 2);
}

uint32_t virtio_cfg32(struct virtio_dev *v, unsigned off)
{
	return (uint32_t)cfg(v, off, 4);
}

uint64_t virtio_cfg64(struct virtio_dev *v, unsigned off)
{
	return cfg(v, off, 8);
}

int vq_init_mem(struct virtqueue *q, unsigned size, unsigned ind_max);

int virtio_vq_setup(struct virtio_dev *v, unsigned index, unsigned max_size, unsigned ind_max,
		    int msix_vector, struct virtqueue *q)
{
	uint64_t noff;
	unsigned size;
	int err;

	w16(v, C_Q_SELECT, (uint16_t)index);
	size = c16(v, C_Q_SIZE);
	if (!size)
		return -ENOENT;
	if (size > max_size)
		size = max_size;
	if (size & (size - 1)) {
		/* Split rings need not be a power of two in 1.x, but keep the math simple. */
		while (size & (size - 1))
			size &= size - 1;
	}
	if (q->mem) {
		/* Set up again after a device reset: same memory, everything forgotten. */
		if (q->size != size)
			return -EINVAL;
		vq_clear(q);
	} else {
		memset(q, 0, sizeof(*q));
		q->index = index;
		q->indirect = virtio_has(v, VIRTIO_F_INDIRECT_DESC) && ind_max;
		err = vq_init_mem(q, size, q->indirect ? ind_max : 0);
		if (err)
			return err;
	}
	w16(v, C_Q_SIZE, (uint16_t)size);
	w64(v, C_Q_DESC, virt_to_phys(q->desc));
	w64(v, C_Q_DRIVER, virt_to_phys(q->avail));
	w64(v, C_Q_DEVICE, virt_to_phys(q->used));
	if (msix_vector >= 0) {
		w16(v, C_Q_MSIX, (uint16_t)msix_vector);
		if (c16(v, C_Q_MSIX) != (uint16_t)msix_vector)
			return -ENOSPC;
	}
	noff = (uint64_t)c16(v, C_Q_NOTIFY_OFF) * v->notify_mult;
	if (noff + 2 > v->notify_len) {
		pr_err("%s: queue %u notify offset %#llx lies outside the notify region\n",
		       v->pdev->name, index, (unsigned long long)noff);
		return -EINVAL;
	}
	q->notify = (volatile uint16_t *)(v->notify_base + noff);
	w16(v, C_Q_ENABLE, 1);
	return 0;
}
