/*
 * PCI enumeration and driver binding.
 *
 * pci_init() (INIT_SUBSYS) walks segment 0 depth-first from bus 0 through
 * every PCI-to-PCI bridge, then looks at the buses no bridge leads to
 * (extra host bridges), recording each function: IDs, class, BARs (sized
 * with decoding off), capabilities, interrupt pin and line. Bus numbers
 * are the firmware's; a bridge it left unnumbered gets the next free bus.
 *
 * Binding: each function is offered to the drivers of the .pci_drv
 * linker set in link order; the first whose ID table matches and whose
 * probe() succeeds owns it, and only then does anything in the vmkernel
 * write to it beyond sizing its BARs. One line per function is logged:
 *   pci: 0000:00:1f.2 8086:2922 SATA AHCI -> ahci
 * The device list is built once at boot and never changes (no hot plug),
 * so readers need no lock.
 */
#define pr_fmt(fmt) "pci: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include "pci_priv.h"

extern const struct pci_driver *const __pci_drv_start[], *const __pci_drv_end[];

static struct pci_dev *devices, **devices_tail = &devices;
static unsigned n_devices;
static uint8_t bus_seen[256 / 8];
static unsigned next_free_bus = 1;

struct pci_dev *pci_first(void)
{
	return devices;
}

unsigned pci_count(void)
{
	return n_devices;
}

static bool bus_test_and_set(unsigned bus)
{
	bool was = bus_seen[bus / 8] & (1u << (bus % 8));

	bus_seen[bus / 8] |= (uint8_t)(1u << (bus % 8));
	return was;
}

/* Size every BAR with I/O and memory decoding off, so no half-written BAR decodes. */
static void read_bars(struct pci_dev *d, unsigned nbars)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	pci_write16(d, PCI_COMMAND, cmd & ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY));
	for (unsigned i = 0; i < nbars;) {
		unsigned off = PCI_BAR0 + 4 * i;
		uint32_t lo = pci_read32(d, off), hi = 0, slo, shi = 0;
		int used;

		pci_write32(d, off, 0xffffffffu);
		slo = pci_read32(d, off);
		pci_write32(d, off, lo);
		if (!(lo & PCI_BAR_SPACE_IO) &&
		    (lo & PCI_BAR_MEM_TYPE_MASK) == PCI_BAR_MEM_TYPE_64 && i + 1 < nbars) {
			hi = pci_read32(d, off + 4);
			pci_write32(d, off + 4, 0xffffffffu);
			shi = pci_read32(d, off + 4);
			pci_write32(d, off + 4, hi);
		}
		used = pci_bar_decode(lo, hi, slo, shi, &d->bar[i]);
		if (used < 0) {
			pr_warn("%s: BAR%u has a reserved type (%#x); ignored\n", d->name, i, lo);
			memset(&d->bar[i], 0, sizeof(d->bar[i]));
			used = 1;
		}
		i += (unsigned)used;
	}
	pci_write16(d, PCI_COMMAND, cmd);
}

static void read_caps(struct pci_dev *d)
{
	struct pci_cap_entry caps[PCI_MAX_CAPS * 2];
	struct pci_cfg_src src;
	char err[96];
	int n;

	pci_cfg_src(d, &src);
	n = pci_cap_list(&src, caps, PCI_MAX_CAPS * 2, err, sizeof(err));
	if (n < 0) {
		pr_warn("%s: %s; capabilities after it are ignored\n", d->name, err);
		n = pci_cap_list(&src, caps, PCI_MAX_CAPS * 2, NULL, 0);
		n = n < 0 ? 0 : n;
	}
	for (int i = 0; i < n; i++) {
		if (caps[i].ext)
			continue;
		if (caps[i].id == PCI_CAP_ID_MSI && !d->msi_cap)
			d->msi_cap = caps[i].off;
		else if (caps[i].id == PCI_CAP_ID_MSIX && !d->msix_cap)
			d->msix_cap = caps[i].off;
		else if (caps[i].id == PCI_CAP_ID_EXP && !d->pcie_cap)
			d->pcie_cap = caps[i].off;
	}
	if (d->msix_cap)
		d->msix_size = (pci_read16(d, d->msix_cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
}

int pci_dev_caps(struct pci_dev *d, struct pci_cap_entry *out, unsigned max)
{
	struct pci_cfg_src src;

	pci_cfg_src(d, &src);
	return pci_cap_list(&src, out, max, NULL, 0);
}

static void scan_bus(unsigned bus, unsigned depth);

static void scan_bridge(struct pci_dev *d, unsigned depth)
{
	d->secondary = pci_read8(d, PCI_SECONDARY_BUS);
	d->subordinate = pci_read8(d, PCI_SUBORDINATE_BUS);
	if (d->secondary <= d->bus) {
		if (next_free_bus > 255) {
			pr_warn("%s: bridge without bus numbers and none left; not scanned\n",
				d->name);
			return;
		}
		while (next_free_bus <= 255 && (bus_seen[next_free_bus / 8] &
						 (1u << (next_free_bus % 8))))
			next_free_bus++;
		d->secondary = (uint8_t)next_free_bus;
		d->subordinate = 0xff;
		pci_write8(d, PCI_PRIMARY_BUS, d->bus);
		pci_write8(d, PCI_SECONDARY_BUS, d->secondary);
		pci_write8(d, PCI_SUBORDINATE_BUS, d->subordinate);
		pr_info("%s: bridge had no bus numbers; assigned bus %u (devices behind it "
			"have no BARs from the firmware)\n", d->name, d->secondary);
	}
	if (depth > 32) {
		pr_warn("%s: bridges nested deeper than 32; not scanned\n", d->name);
		return;
	}
	scan_bus(d->secondary, depth + 1);
}

static struct pci_dev *add_function(unsigned bus, unsigned dev, unsigned fn)
{
	struct pci_dev *d = kzalloc(sizeof(*d));
	uint32_t id, cls;

	if (!d)
		return NULL;
	d->bus = (uint8_t)bus;
	d->dev = (uint8_t)dev;
	d->fn = (uint8_t)fn;
	d->ecam = pci_cfg_ecam(0, (uint8_t)bus);
	snprintf(d->name, sizeof(d->name), "%04x:%02x:%02x.%x", 0, bus, dev, fn);
	id = pci_read32(d, PCI_VENDOR_ID);
	d->vendor = (uint16_t)id;
	d->device = (uint16_t)(id >> 16);
	cls = pci_read32(d, PCI_REVISION_ID);
	d->revision = (uint8_t)cls;
	d->class_code = cls >> 8;
	d->hdr_type = pci_read8(d, PCI_HEADER_TYPE);
	d->irq_pin = pci_read8(d, PCI_INTERRUPT_PIN);
	d->irq_line = pci_read8(d, PCI_INTERRUPT_LINE);
	if ((d->hdr_type & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_NORMAL) {
		d->subvendor = pci_read16(d, PCI_SUBSYSTEM_VENDOR_ID);
		d->subdevice = pci_read16(d, PCI_SUBSYSTEM_ID);
		read_bars(d, 6);
	} else if ((d->hdr_type & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE) {
		read_bars(d, 2);
	}
	read_caps(d);
	*devices_tail = d;
	devices_tail = &d->next;
	n_devices++;
	return d;
}

static void scan_bus(unsigned bus, unsigned depth)
{
	if (bus > 255 || bus_test_and_set(bus))
		return;
	for (unsigned dev = 0; dev < 32; dev++) {
		unsigned nfn = 1;

		for (unsigned fn = 0; fn < nfn; fn++) {
			struct pci_dev *d;

			if ((uint16_t)pci_cfg_read(0, (uint8_t)bus, (uint8_t)dev, (uint8_t)fn,
						   PCI_VENDOR_ID, 2) == 0xffff)
				continue;
			d = add_function(bus, dev, fn);
			if (!d) {
				pr_err("out of memory at %02x:%02x.%x; scan stopped\n", bus, dev, fn);
				return;
			}
			if (fn == 0 && (d->hdr_type & PCI_HEADER_MULTIFUNC))
				nfn = 8;
			if ((d->hdr_type & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE)
				scan_bridge(d, depth);
		}
	}
}

void pci_enable(struct pci_dev *d, bool bus_master)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	for (unsigned i = 0; i < 6; i++) {
		if (d->bar[i].size)
			cmd |= d->bar[i].flags & PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	}
	if (bus_master)
		cmd |= PCI_COMMAND_MASTER;
	pci_write16(d, PCI_COMMAND, cmd);
}

void pci_disable(struct pci_dev *d)
{
	pci_irq_free(d);
	pci_write16(d, PCI_COMMAND, pci_read16(d, PCI_COMMAND) & ~PCI_COMMAND_MASTER);
}

volatile void *pci_map_bar(struct pci_dev *d, unsigned bar)
{
	const struct pci_bar *b = bar < 6 ? &d->bar[bar] : NULL;
	volatile void *va;

	if (!b || !b->size || (b->flags & PCI_BAR_IO) || !b->base) {
		pr_err("%s: BAR%u is %s\n", d->name, bar,
		       !b || !b->size ? "not implemented" : b->flags & PCI_BAR_IO ?
		       "an I/O port range, not memory" : "not assigned by the firmware");
		return NULL;
	}
	va = paging_map_mmio(b->base, b->size);
	if (!va)
		pr_err("%s: BAR%u at %#llx cannot be mapped\n", d->name, bar,
		       (unsigned long long)b->base);
	return va;
}

static void bind(struct pci_dev *d)
{
	const char *result = "(no driver)";
	char line[64] = "";

	for (const struct pci_driver *const *p = __pci_drv_start; p < __pci_drv_end; p++) {
		const struct pci_driver *drv = *p;

		for (const struct pci_device_id *id = drv->ids; id->vendor || id->class_mask; id++) {
			if (!pci_id_match(id, d->vendor, d->device, d->class_code))
				continue;
			d->driver = drv;
			if (drv->probe(d, id) == 0) {
				result = drv->name;
				goto done;
			}
			d->driver = NULL;
			d->drvdata = NULL;
			snprintf(line, sizeof(line), "(%s gave it up)", drv->name);
			result = line;
			break;
		}
	}
done:
	if ((d->hdr_type & PCI_HEADER_TYPE_MASK) == PCI_HEADER_TYPE_BRIDGE && !d->driver)
		pr_info("%s %04x:%04x %s [bus %02x-%02x]\n", d->name, d->vendor, d->device,
			pci_class_name(d->class_code), d->secondary, d->subordinate);
	else
		pr_info("%s %04x:%04x %s -> %s\n", d->name, d->vendor, d->device,
			pci_class_name(d->class_code), result);
}

static int pci_init(void)
{
	int err = pci_cfg_init();

	if (err)
		return err;
	scan_bus(0, 0);
	/* Buses no bridge leads to: more host bridges (their numbers come from firmware). */
	for (unsigned bus = 1; bus < 256; bus++) {
		if (bus_seen[bus / 8] & (1u << (bus % 8)))
			continue;
		for (unsigned dev = 0; dev < 32; dev++) {
			if ((uint16_t)pci_cfg_read(0, (uint8_t)bus, (uint8_t)dev, 0,
						   PCI_VENDOR_ID, 2) != 0xffff) {
				scan_bus(bus, 0);
				break;
			}
		}
	}
	pr_info("%u functions found through %s\n", n_devices, pci_access_name());
	for (struct pci_dev *d = devices; d; d = d->next)
		bind(d);
	return 0;
}
INIT_LEVEL(pci_init, INIT_SUBSYS);
