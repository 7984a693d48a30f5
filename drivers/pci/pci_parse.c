/*
 * The pure half of the PCI layer: capability lists, BAR decoding, ID
 * matching and class names. Nothing here touches hardware; configuration
 * space is read through a struct pci_cfg_src, so the host unit tests feed
 * it crafted (and malformed) spaces.
 *
 * A capability pointer comes from the device and is not trusted: it must
 * be dword-aligned (the low two bits are reserved and masked, as the
 * specification says), inside the header's capability area and never
 * visited twice, or the walk stops with an error naming it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <drivers/pci.h>

static uint8_t rd8(const struct pci_cfg_src *s, unsigned off)
{
	return (uint8_t)(s->read32(s->ctx, off & ~3u) >> ((off & 3) * 8));
}

static uint16_t rd16(const struct pci_cfg_src *s, unsigned off)
{
	return (uint16_t)(s->read32(s->ctx, off & ~3u) >> ((off & 2) * 8));
}

struct walk {
	struct pci_cap_entry *out;
	unsigned max, n;
	char *err;
	size_t errlen;
};

static void add(struct walk *w, uint16_t id, unsigned off, bool ext)
{
	if (w->n < w->max)
		w->out[w->n] = (struct pci_cap_entry){ .id = id, .off = (uint16_t)off, .ext = ext };
	w->n++;
}

static int walk_std(const struct pci_cfg_src *s, struct walk *w)
{
	uint8_t seen[PCI_CFG_SPACE_SIZE / 4] = { 0 };
	unsigned off;

	if (!(rd16(s, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	off = rd8(s, PCI_CAPABILITY_LIST) & ~3u;
	while (off) {
		if (off < 0x40 || off > PCI_CFG_SPACE_SIZE - 4) {
			snprintf(w->err, w->errlen, "capability pointer %#x is outside 0x40-0xfc", off);
			return -EINVAL;
		}
		if (seen[off / 4]++) {
			snprintf(w->err, w->errlen, "capability list loops back to %#x", off);
			return -EINVAL;
		}
		add(w, rd8(s, off + PCI_CAP_LIST_ID), off, false);
		off = rd8(s, off + PCI_CAP_LIST_NEXT) & ~3u;
	}
	return 0;
}

static int walk_ext(const struct pci_cfg_src *s, struct walk *w)
{
	unsigned off = PCI_EXT_CAP_START, steps = 0;

	for (;;) {
		uint32_t h = s->read32(s->ctx, off);

		/* All-zero or all-ones at 0x100: no extended capabilities. */
		if (h == 0 || h == 0xffffffffu)
			return 0;
		add(w, (uint16_t)PCI_EXT_CAP_ID(h), off, true);
		off = PCI_EXT_CAP_NEXT(h);
		if (!off)
			return 0;
		if (off < PCI_EXT_CAP_START || off > PCI_CFG_SPACE_EXP_SIZE - 4) {
			snprintf(w->err, w->errlen, "extended capability pointer %#x is outside "
				 "0x100-0xffc", off);
			return -EINVAL;
		}
		if (++steps >= (PCI_CFG_SPACE_EXP_SIZE - PCI_EXT_CAP_START) / 4) {
			snprintf(w->err, w->errlen, "extended capability list loops at %#x", off);
			return -EINVAL;
		}
	}
}

int pci_cap_list(const struct pci_cfg_src *src, struct pci_cap_entry *out, unsigned max,
		 char *err, size_t errlen)
{
	char dummy[8];
	struct walk w = { out, max, 0, err ? err : dummy, err ? errlen : sizeof(dummy) };
	int rc;

	w.err[0] = '\0';
	rc = walk_std(src, &w);
	if (!rc && src->size >= PCI_CFG_SPACE_EXP_SIZE)
		rc = walk_ext(src, &w);
	if (rc)
		return rc;
	return (int)(w.n < max ? w.n : max);
}

static unsigned find(const struct pci_cfg_src *src, uint16_t id, bool ext)
{
	struct pci_cap_entry caps[PCI_MAX_CAPS * 2];
	int n = pci_cap_list(src, caps, PCI_MAX_CAPS * 2, NULL, 0);

	for (int i = 0; i < n; i++) {
		if (caps[i].ext == ext && caps[i].id == id)
			return caps[i].off;
	}
	return 0;
}

unsigned pci_cap_find(const struct pci_cfg_src *src, uint8_t id)
{
	return find(src, id, false);
}

unsigned pci_ecap_find(const struct pci_cfg_src *src, uint16_t id)
{
	return find(src, id, true);
}

int pci_bar_decode(uint32_t lo, uint32_t hi, uint32_t size_lo, uint32_t size_hi,
		   struct pci_bar *out)
{
	uint64_t mask;

	memset(out, 0, sizeof(*out));
	if (lo & PCI_BAR_SPACE_IO) {
		mask = size_lo & PCI_BAR_IO_MASK & 0xffff;	/* x86 ports are 16-bit */
		out->flags = PCI_BAR_IO;
		if (!mask)
			return 1;
		out->base = lo & PCI_BAR_IO_MASK & 0xffff;
		out->size = (~mask + 1) & 0xffff;
		return 1;
	}
	switch (lo & PCI_BAR_MEM_TYPE_MASK) {
	case PCI_BAR_MEM_TYPE_32:
	case PCI_BAR_MEM_TYPE_1M:
		mask = size_lo & PCI_BAR_MEM_MASK;
		if (mask)
			mask |= 0xffffffff00000000ull;
		out->base = lo & PCI_BAR_MEM_MASK;
		break;
	case PCI_BAR_MEM_TYPE_64:
		mask = ((uint64_t)size_hi << 32) | (size_lo & PCI_BAR_MEM_MASK);
		out->base = ((uint64_t)hi << 32) | (lo & PCI_BAR_MEM_MASK);
		out->flags = PCI_BAR_64;
		break;
	default:
		return -EINVAL;
	}
	if (lo & PCI_BAR_MEM_PREFETCH)
		out->flags |= PCI_BAR_PREFETCH;
	if (!mask) {
		out->base = 0;
		return out->flags & PCI_BAR_64 ? 2 : 1;
	}
	out->size = ~mask + 1;
	return out->flags & PCI_BAR_64 ? 2 : 1;
}

bool pci_id_match(const struct pci_device_id *id, uint16_t vendor, uint16_t device,
		  uint32_t class_code)
{
	if (id->vendor != PCI_ANY_ID && id->vendor != vendor)
		return false;
	if (id->device != PCI_ANY_ID && id->device != device)
		return false;
	return ((class_code ^ id->class_code) & id->class_mask) == 0;
}

struct class_name {
	uint32_t code, mask;
	const char *name;
};

/* Most specific first. */
static const struct class_name class_names[] = {
	{ 0x010601, 0xffffff, "SATA AHCI" },
	{ 0x010600, 0xffff00, "SATA" },
	{ 0x010802, 0xffffff, "NVMe" },
	{ 0x010800, 0xffff00, "NVM" },
	{ 0x010000, 0xffff00, "SCSI" },
	{ 0x010100, 0xffff00, "IDE" },
	{ 0x010400, 0xffff00, "RAID" },
	{ 0x010700, 0xffff00, "SAS" },
	{ 0x010000, 0xff0000, "storage" },
	{ 0x020000, 0xffff00, "Ethernet" },
	{ 0x020000, 0xff0000, "network" },
	{ 0x030000, 0xff0000, "display" },
	{ 0x060000, 0xffff00, "host bridge" },
	{ 0x060100, 0xffff00, "ISA bridge" },
	{ 0x060400, 0xffff00, "PCI bridge" },
	{ 0x060000, 0xff0000, "bridge" },
	{ 0x0c0330, 0xffffff, "USB xHCI" },
	{ 0x0c0300, 0xffff00, "USB" },
	{ 0x0c0500, 0xffff00, "SMBus" },
	{ 0x0c0000, 0xff0000, "serial bus" },
	{ 0x050000, 0xff0000, "memory" },
	{ 0x080000, 0xff0000, "system" },
	{ 0x040000, 0xff0000, "multimedia" },
	{ 0x000000, 0xff0000, "unclassified" },
};

const char *pci_class_name(uint32_t class_code)
{
	for (size_t i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++) {
		if ((class_code & class_names[i].mask) == class_names[i].code)
			return class_names[i].name;
	}
	return "other";
}
