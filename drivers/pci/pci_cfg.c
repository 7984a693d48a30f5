/*
 * Configuration-space access: PCI Express ECAM where the ACPI MCFG table
 * describes it (memory-mapped, 4 KiB per function, the extended space
 * included), else configuration mechanism #1 (ports 0xcf8/0xcfc, 256
 * bytes per function, segment 0 only).
 *
 * ECAM needs no lock: each access is one uncached load or store of the
 * right width (a byte write must not become a read-modify-write of a
 * dword, which would clear write-1-to-clear status bits). Mechanism #1 is
 * two port accesses, so it runs under cfg_lock with interrupts off.
 */
#define pr_fmt(fmt) "pci: " fmt
#include <errno.h>
#include <vmkernel/acpi.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/spinlock.h>
#include "pci_priv.h"

struct ecam_seg {
	volatile uint8_t *base;		/* address of bus 0 (may lie below the mapping) */
	uint16_t seg;
	uint8_t bus_start, bus_end;
};

static struct ecam_seg ecam[ACPI_MAX_MCFG];	/* written once at boot */
static unsigned n_ecam;
static struct spinlock cfg_lock = SPINLOCK_INIT("pci config");

static volatile uint8_t *ecam_addr(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn,
				   unsigned off)
{
	for (unsigned i = 0; i < n_ecam; i++) {
		if (ecam[i].seg == seg && bus >= ecam[i].bus_start && bus <= ecam[i].bus_end)
			return ecam[i].base + ((uint64_t)bus << 20 | (uint64_t)dev << 15 |
					       (uint64_t)fn << 12 | off);
	}
	return NULL;
}

bool pci_cfg_ecam(uint16_t seg, uint8_t bus)
{
	return ecam_addr(seg, bus, 0, 0, 0) != NULL;
}

static uint32_t conf1_addr(uint8_t bus, uint8_t dev, uint8_t fn, unsigned off)
{
	return PCI_CONF1_ENABLE | (uint32_t)bus << 16 | (uint32_t)dev << 11 |
	       (uint32_t)fn << 8 | (off & 0xfc);
}

uint32_t pci_cfg_read(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, unsigned off,
		      unsigned size)
{
	volatile uint8_t *p = ecam_addr(seg, bus, dev, fn, off);
	unsigned long flags;
	uint32_t v;

	if (p)
		return size == 1 ? *p : size == 2 ? *(volatile uint16_t *)p :
		       *(volatile uint32_t *)p;
	if (seg || off >= PCI_CFG_SPACE_SIZE)
		return size == 1 ? 0xff : size == 2 ? 0xffff : 0xffffffffu;
	flags = spin_lock_irqsave(&cfg_lock);
	outl(PCI_CONF1_ADDRESS, conf1_addr(bus, dev, fn, off));
	if (size == 1)
		v = inb(PCI_CONF1_DATA + (off & 3));
	else if (size == 2)
		v = inw(PCI_CONF1_DATA + (off & 2));
	else
		v = inl(PCI_CONF1_DATA);
	spin_unlock_irqrestore(&cfg_lock, flags);
	return v;
}

void pci_cfg_write(uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn, unsigned off,
		   unsigned size, uint32_t v)
{
	volatile uint8_t *p = ecam_addr(seg, bus, dev, fn, off);
	unsigned long flags;

	if (p) {
		if (size == 1)
			*p = (uint8_t)v;
		else if (size == 2)
			*(volatile uint16_t *)p = (uint16_t)v;
		else
			*(volatile uint32_t *)p = v;
		return;
	}
	if (seg || off >= PCI_CFG_SPACE_SIZE)
		return;
	flags = spin_lock_irqsave(&cfg_lock);
	outl(PCI_CONF1_ADDRESS, conf1_addr(bus, dev, fn, off));
	if (size == 1)
		outb(PCI_CONF1_DATA + (off & 3), (uint8_t)v);
	else if (size == 2)
		outw(PCI_CONF1_DATA + (off & 2), (uint16_t)v);
	else
		outl(PCI_CONF1_DATA, v);
	spin_unlock_irqrestore(&cfg_lock, flags);
}

/* Mechanism #1 exists when CONFIG_ADDRESS holds what was written to it. */
static bool conf1_present(void)
{
	unsigned long flags = spin_lock_irqsave(&cfg_lock);
	uint32_t old = inl(PCI_CONF1_ADDRESS), back;

	outl(PCI_CONF1_ADDRESS, PCI_CONF1_ENABLE);
	back = inl(PCI_CONF1_ADDRESS);
	outl(PCI_CONF1_ADDRESS, old);
	spin_unlock_irqrestore(&cfg_lock, flags);
	return back == PCI_CONF1_ENABLE;
}

static void add_ecam(const struct acpi_mcfg_seg *m)
{
	uint64_t first = m->base + ((uint64_t)m->bus_start << 20);
	uint64_t len = ((uint64_t)m->bus_end - m->bus_start + 1) << 20;
	volatile uint8_t *va;

	if (m->bus_end < m->bus_start || !paging_map_mmio(first, len)) {
		pr_warn("ECAM segment %u buses %u-%u at %#llx unusable; ignored\n", m->segment,
			m->bus_start, m->bus_end, (unsigned long long)m->base);
		return;
	}
	va = phys_to_virt(m->base);
	ecam[n_ecam++] = (struct ecam_seg){ va, m->segment, m->bus_start, m->bus_end };
}

int pci_cfg_init(void)
{
	const struct acpi_info *ai = acpi_get();
	bool conf1 = conf1_present();

	for (uint32_t i = 0; ai && i < ai->mcfg_count && n_ecam < ACPI_MAX_MCFG; i++)
		add_ecam(&ai->mcfg[i]);
	/* Firmware has shipped wrong MCFG tables: the host bridge must read the same both ways. */
	if (n_ecam && conf1 && pci_cfg_ecam(0, 0)) {
		uint32_t e = pci_cfg_read(0, 0, 0, 0, 0, 4), c;
		unsigned saved = n_ecam;

		n_ecam = 0;
		c = pci_cfg_read(0, 0, 0, 0, 0, 4);
		n_ecam = saved;
		if (e != c) {
			pr_warn("ECAM reads %08x at 0000:00:00.0 but mechanism #1 reads %08x: "
				"the MCFG table is wrong; using mechanism #1\n", e, c);
			n_ecam = 0;
		}
	}
	if (!n_ecam && !conf1) {
		pr_err("no configuration access: no MCFG table and no mechanism #1\n");
		return -ENODEV;
	}
	return 0;
}

const char *pci_access_name(void)
{
	return n_ecam ? "ECAM" : "mechanism #1";
}

static uint32_t src_read32(void *ctx, unsigned off)
{
	const struct pci_dev *d = ctx;

	return pci_cfg_read(d->seg, d->bus, d->dev, d->fn, off, 4);
}

void pci_cfg_src(const struct pci_dev *d, struct pci_cfg_src *src)
{
	src->read32 = src_read32;
	src->ctx = (void *)d;
	src->size = d->ecam ? PCI_CFG_SPACE_EXP_SIZE : PCI_CFG_SPACE_SIZE;
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return (uint8_t)pci_cfg_read(d->seg, d->bus, d->dev, d->fn, off, 1);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)pci_cfg_read(d->seg, d->bus, d->dev, d->fn, off, 2);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return pci_cfg_read(d->seg, d->bus, d->dev, d->fn, off, 4);
}

void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v)
{
	pci_cfg_write(d->seg, d->bus, d->dev, d->fn, off, 1, v);
}

void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	pci_cfg_write(d->seg, d->bus, d->dev, d->fn, off, 2, v);
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	pci_cfg_write(d->seg, d->bus, d->dev, d->fn, off, 4, v);
}
