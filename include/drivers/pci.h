/*
 * PCI / PCI Express (drivers/pci/): enumeration, configuration access,
 * BARs, capabilities, MSI/MSI-X/INTx interrupts and the driver registry.
 *
 * At INIT_SUBSYS the vmkernel walks every bus (ECAM from the ACPI MCFG
 * table, configuration mechanism #1 otherwise), logs one line per
 * function and offers each function to the drivers registered with
 * PCI_DRIVER(), in link order; the first whose table matches and whose
 * probe() returns 0 owns it. Drivers touch only functions they own.
 *
 * The pure parts (capability walker, BAR decoding, ID matching, names)
 * build for the host too and are unit-tested there.
 */
#ifndef PCI_H
#define PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <drivers/pci_hw.h>

/* ---- Pure helpers (host-testable) ---- */

/* Where a walker reads configuration space from. */
struct pci_cfg_src {
	uint32_t (*read32)(void *ctx, unsigned off);	/* off dword-aligned, < size */
	void *ctx;
	unsigned size;		/* 256, or 4096 with PCIe extended space */
};

#define PCI_MAX_CAPS 48		/* a list longer than this loops (256 - 64) / 4 */

struct pci_cap_entry {
	uint16_t id;
	uint16_t off;
	bool ext;		/* extended (PCIe) capability */
};

/*
 * Walk the standard list (when the status register says there is one) and,
 * if src->size is 4096, the extended list. Fills up to max entries and
 * returns their count, or -EINVAL with err naming the bad pointer (out of
 * range, not aligned, a loop). What was read before the fault is kept.
 */
int pci_cap_list(const struct pci_cfg_src *src, struct pci_cap_entry *out, unsigned max,
		 char *err, size_t errlen);
/* Offset of the first capability `id` (standard list), 0 if none or the list is bad. */
unsigned pci_cap_find(const struct pci_cfg_src *src, uint8_t id);
/* Same for an extended capability. */
unsigned pci_ecap_find(const struct pci_cfg_src *src, uint16_t id);

#define PCI_BAR_IO		0x1
#define PCI_BAR_64		0x2
#define PCI_BAR_PREFETCH	0x4

struct pci_bar {
	uint64_t base;		/* 0 and size 0: not implemented */
	uint64_t size;
	uint8_t flags;		/* PCI_BAR_* */
};

/*
 * Decode a BAR from its value and the value read back after writing all
 * ones (hi/size_hi: the next BAR's, for 64-bit ones). Returns the number
 * of BAR slots used (1 or 2), or -EINVAL for a reserved type.
 */
int pci_bar_decode(uint32_t lo, uint32_t hi, uint32_t size_lo, uint32_t size_hi,
		   struct pci_bar *out);

#define PCI_ANY_ID 0xffff

struct pci_device_id {
	uint16_t vendor, device;	/* PCI_ANY_ID matches any */
	uint32_t class_code;		/* base << 16 | sub << 8 | prog-if */
	uint32_t class_mask;		/* bits of class_code that must match; 0 = any */
};

bool pci_id_match(const struct pci_device_id *id, uint16_t vendor, uint16_t device,
		  uint32_t class_code);
/* "SATA AHCI", "NVMe", "SCSI", "Ethernet", "PCI bridge", ... from the class code. */
const char *pci_class_name(uint32_t class_code);

/* ---- Devices (kernel) ---- */

enum pci_irq_mode { PCI_IRQ_NONE, PCI_IRQ_INTX, PCI_IRQ_MSI, PCI_IRQ_MSIX };

#define PCI_MAX_VECTORS 64

struct pci_driver;

struct pci_dev {
	uint16_t seg;
	uint8_t bus, dev, fn;
	char name[16];			/* "0000:00:1f.2" */
	uint16_t vendor, device, subvendor, subdevice;
	uint32_t class_code;		/* base << 16 | sub << 8 | prog-if */
	uint8_t revision, hdr_type;
	uint8_t irq_pin, irq_line;
	struct pci_bar bar[6];
	uint16_t msi_cap, msix_cap, pcie_cap;	/* 0 = absent */
	uint16_t msix_size;			/* table entries */
	uint8_t secondary, subordinate;		/* bridges */
	bool ecam;				/* extended space reachable */
	struct pci_dev *next;			/* every function, scan order */
	const struct pci_driver *driver;	/* the owner, NULL while unbound */
	void *drvdata;
	/* Interrupts (pci_irq_*): */
	enum pci_irq_mode irq_mode;
	unsigned nvec;
	int vector[PCI_MAX_VECTORS];
	uint32_t gsi;				/* INTx */
	volatile uint32_t *msix_table;
};

struct pci_driver {
	const char *name;
	const struct pci_device_id *ids;	/* ends with an all-zero entry */
	/* 0: the driver owns the device; else it stays unbound (reason logged by the driver). */
	int (*probe)(struct pci_dev *d, const struct pci_device_id *id);
};

/* Register a driver in the linker set the enumeration offers devices to. */
#define PCI_DRIVER(drv)							\
	static const struct pci_driver *const __pci_drv_ptr_##drv	\
	__attribute__((used, section(".pci_drv"))) = &drv

uint8_t pci_read8(const struct pci_dev *d, unsigned off);
uint16_t pci_read16(const struct pci_dev *d, unsigned off);
uint32_t pci_read32(const struct pci_dev *d, unsigned off);
void pci_write8(const struct pci_dev *d, unsigned off, uint8_t v);
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v);
void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v);

/* Turn on memory/I/O decoding and bus mastering. */
void pci_enable(struct pci_dev *d, bool bus_master);
/* Stop DMA and interrupts (driver gave the device up). */
void pci_disable(struct pci_dev *d);
/* Map a memory BAR uncached; NULL (and a log line) if it is absent or not memory. */
volatile void *pci_map_bar(struct pci_dev *d, unsigned bar);

/* The function's capabilities (pci_cap_list over its configuration space); count or -EINVAL. */
int pci_dev_caps(struct pci_dev *d, struct pci_cap_entry *out, unsigned max);

/* Every function found, in scan order. */
struct pci_dev *pci_first(void);
unsigned pci_count(void);
/* How configuration space is reached: "ECAM", "mechanism #1". */
const char *pci_access_name(void);

/*
 * Interrupts. pci_irq_alloc() picks the best mode `allowed` permits
 * (MSI-X, then MSI, then INTx; PCI_IRQ_ALLOW_*), with up to `want`
 * vectors (MSI and INTx give one), and returns how many it got or -errno.
 * Vector i calls fn(args[i]) on CPU cpus[i] (CPU 0 when cpus is NULL).
 * Sources stay masked until pci_irq_alloc returns. INTx lines may be
 * shared: the handler must check its device. pci_irq_free() undoes it.
 */
#define PCI_IRQ_ALLOW_INTX	0x1
#define PCI_IRQ_ALLOW_MSI	0x2
#define PCI_IRQ_ALLOW_MSIX	0x4
#define PCI_IRQ_ALLOW_ALL	0x7

int pci_irq_alloc(struct pci_dev *d, unsigned want, unsigned allowed, void (*fn)(void *arg),
		  void *const *args, const unsigned *cpus);
void pci_irq_free(struct pci_dev *d);
const char *pci_irq_mode_name(enum pci_irq_mode m);
/*
 * A legacy ISA interrupt (IDE channels in compatibility mode use IRQ 14/15):
 * edge-triggered unless the MADT overrides it. Returns 0 or -errno.
 */
int pci_irq_isa(struct pci_dev *d, uint8_t isa_irq, void (*fn)(void *arg), void *arg);

#endif
