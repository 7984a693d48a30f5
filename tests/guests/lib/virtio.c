/* The virtio 1.x PCI transport for test guests: see virtio.h. */
#include "virtio.h"
#include "cpu.h"
#include "lapic.h"
#include "pc.h"

#define BAR_BASE 0xc0000000u
#define MSIX_BASE 0xc0800000u
#define PCI_CAP_VENDOR 0x09
#define PCI_CAP_MSIX 0x11

#define REG(d, off, type) (*(volatile type *)((d)->common + (off)))

void virtio_w8(struct virtio_pci *d, unsigned int off, uint8_t v) { REG(d, off, uint8_t) = v; }
void virtio_w16(struct virtio_pci *d, unsigned int off, uint16_t v) { REG(d, off, uint16_t) = v; }
void virtio_w32(struct virtio_pci *d, unsigned int off, uint32_t v) { REG(d, off, uint32_t) = v; }

void virtio_w64(struct virtio_pci *d, unsigned int off, uint64_t v)
{
	virtio_w32(d, off, (uint32_t)v);
	virtio_w32(d, off + 4, (uint32_t)(v >> 32));
}

static uint32_t r32(struct virtio_pci *d, unsigned int off)
{
	return REG(d, off, uint32_t);
}

uint8_t virtio_status(struct virtio_pci *d)
{
	return REG(d, VIRTIO_COMMON_STATUS, uint8_t);
}

/* One virtio vendor capability (4.1.4): where its structure lies in BAR 4. */
static void map_cap(struct virtio_pci *d, unsigned int at, uint32_t bar)
{
	uint8_t type = pci_cfg_read8(0, d->slot, 0, at + 3);
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)(bar +
				pci_cfg_read32(0, d->slot, 0, at + 8));

	if (type == 1)
		d->common = p;
	else if (type == 2)
		d->notify = p, d->mult = pci_cfg_read32(0, d->slot, 0, at + 16);
	else if (type == 3)
		d->isr = p;
	else if (type == 4)
		d->devcfg = p;
}

static void map_caps(struct virtio_pci *d, unsigned int n, unsigned int nvec, uint8_t vec_config,
		     uint8_t vec_queue)
{
	uint32_t bar = BAR_BASE + n * 0x10000u, msix = MSIX_BASE + n * 0x1000u;
	unsigned int at = pci_cfg_read8(0, d->slot, 0, 0x34);

	pci_cfg_write32(0, d->slot, 0, 0x20, bar);	/* BAR 4, 64-bit */
	pci_cfg_write32(0, d->slot, 0, 0x24, 0);
	pci_cfg_write32(0, d->slot, 0, 0x14, msix);	/* BAR 1 */
	pci_cfg_write16(0, d->slot, 0, 4, 0x6);		/* memory decoding, bus master */
	for (unsigned int guard = 0; at && guard < 48; guard++) {
		uint8_t id = pci_cfg_read8(0, d->slot, 0, at);

		if (id == PCI_CAP_VENDOR) {
			map_cap(d, at, bar);
		} else if (id == PCI_CAP_MSIX) {
			d->msix = (volatile uint32_t *)(uintptr_t)(msix +
				(pci_cfg_read32(0, d->slot, 0, at + 4) & ~7u));
			/* MSI-X enable */
			pci_cfg_write16(0, d->slot, 0, at + 2,
					(uint16_t)(pci_cfg_read16(0, d->slot, 0, at + 2) | 0x8000));
		}
		at = pci_cfg_read8(0, d->slot, 0, at + 1);
	}
	for (unsigned int v = 0; v < nvec && d->msix; v++) {
		d->msix[4 * v] = LAPIC_BASE | lapic_id() << 12;
		d->msix[4 * v + 1] = 0;
		d->msix[4 * v + 2] = v ? vec_queue : vec_config;
		d->msix[4 * v + 3] = 0;
	}
}

bool virtio_pci_find(uint16_t pci_id, unsigned int n, struct virtio_pci *d, unsigned int nvec,
		     uint8_t vec_config, uint8_t vec_queue)
{
	unsigned int seen = 0;

	for (unsigned int s = 0; s < 32; s++) {
		if (pci_cfg_read32(0, s, 0, 0) != ((uint32_t)pci_id << 16 | 0x1af4u))
			continue;
		if (seen++ < n)
			continue;
		*d = (struct virtio_pci){ .slot = s };
		map_caps(d, n, nvec, vec_config, vec_queue);
		return true;
	}
	return false;
}

void virtio_reset(struct virtio_pci *d)
{
	virtio_w8(d, VIRTIO_COMMON_STATUS, 0);
	for (unsigned int i = 0; i < 1000 && virtio_status(d); i++)
		pause();
}

bool virtio_negotiate(struct virtio_pci *d, uint64_t want)
{
	virtio_w8(d, VIRTIO_COMMON_STATUS, VIRTIO_S_ACK);
	virtio_w8(d, VIRTIO_COMMON_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	virtio_w32(d, VIRTIO_COMMON_DFSELECT, 0);
	d->offered = r32(d, VIRTIO_COMMON_DF);
	virtio_w32(d, VIRTIO_COMMON_DFSELECT, 1);
	d->offered |= (uint64_t)r32(d, VIRTIO_COMMON_DF) << 32;
	d->features = want & d->offered;
	virtio_w32(d, VIRTIO_COMMON_GFSELECT, 0);
	virtio_w32(d, VIRTIO_COMMON_GF, (uint32_t)d->features);
	virtio_w32(d, VIRTIO_COMMON_GFSELECT, 1);
	virtio_w32(d, VIRTIO_COMMON_GF, (uint32_t)(d->features >> 32));
	virtio_w8(d, VIRTIO_COMMON_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	if (!(virtio_status(d) & VIRTIO_S_FEATURES_OK))
		return false;
	virtio_w16(d, VIRTIO_COMMON_MSIX, 0);
	return true;
}

void virtio_queue_setup(struct virtio_pci *d, unsigned int qi, uint16_t size, uint16_t vector,
			uint64_t desc, uint64_t avail, uint64_t used)
{
	virtio_w16(d, VIRTIO_COMMON_Q_SELECT, (uint16_t)qi);
	virtio_w16(d, VIRTIO_COMMON_Q_SIZE, size);
	virtio_w16(d, VIRTIO_COMMON_Q_MSIX, vector);
	virtio_w64(d, VIRTIO_COMMON_Q_DESC, desc);
	virtio_w64(d, VIRTIO_COMMON_Q_AVAIL, avail);
	virtio_w64(d, VIRTIO_COMMON_Q_USED, used);
	virtio_w16(d, VIRTIO_COMMON_Q_ENABLE, 1);
}

void virtio_driver_ok(struct virtio_pci *d)
{
	virtio_w8(d, VIRTIO_COMMON_STATUS, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK |
		  VIRTIO_S_DRIVER_OK);
}

void virtio_notify(struct virtio_pci *d, unsigned int qi, uint16_t value)
{
	*(volatile uint16_t *)(d->notify + qi * d->mult) = value;
}
