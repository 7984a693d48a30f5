/*
 * The VM's PCI bus (vmm/vdev/pci/): a host bridge at 00:00.0 reached
 * through configuration mechanism #1 (ports 0xcf8/0xcfc) and ECAM (the
 * MCFG window), and the functions device models plug into it.
 *
 * A device model embeds a struct vpci_func, describes its identity, BARs
 * and capabilities with the calls below, and registers it. The bus then
 * owns the function's configuration space: BAR sizing and placement
 * (moving the model's port or MMIO range on the VM's device bus when the
 * guest reprograms a BAR or toggles decoding in the command register),
 * the capability list, MSI and MSI-X (table and pending bits included).
 * The model raises interrupts with vpci_notify(): an MSI-X vector, the MSI
 * message, or INTx, whichever the guest enabled, all through the one
 * interrupt path (virq.h).
 *
 * Locking: configuration accesses and notifications of one function are
 * serialized by f->lock; BAR moves take the device bus's own lock.
 */
#ifndef VMM_VPCI_H
#define VMM_VPCI_H

#include <stdbool.h>
#include <stdint.h>
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>

#define VPCI_CFG_SIZE		4096	/* PCI Express extended configuration space */
#define VPCI_MAX_MSIX		64

enum vpci_bar_type { VPCI_BAR_NONE = 0, VPCI_BAR_IO, VPCI_BAR_MEM32, VPCI_BAR_MEM64 };

struct vpci_bar {
	enum vpci_bar_type type;
	uint64_t size;			/* a power of two */
	bool prefetchable;
	const struct vdev_pio_ops *pio;		/* IO BARs */
	const struct vdev_mmio_ops *mmio;	/* memory BARs */
	int handle;			/* its range on the device bus */
	bool msix;			/* the bus serves the MSI-X table and PBA here */
};

struct vpci_msix_entry {
	uint64_t addr;
	uint32_t data;
	uint32_t ctrl;			/* bit 0: masked */
};

struct vpci_func {
	struct vdev *dev;
	uint8_t slot, fn;
	struct spinlock lock;
	uint8_t cfg[VPCI_CFG_SIZE];	/* lock */
	uint8_t wmask[256];		/* writable bits of the first 256 bytes */
	struct vpci_bar bar[6];
	uint8_t cap_next;		/* where the next capability goes */
	uint8_t msi_cap, msix_cap;	/* capability offsets, 0 if none */
	unsigned msix_n;
	uint8_t msix_bar;
	struct vpci_msix_entry msix[VPCI_MAX_MSIX];	/* lock */
	uint64_t msix_pending;				/* lock: the PBA */
	bool msi_pending;		/* lock: MSI vector 0 held by its mask bit */
	uint8_t intx_gsi;		/* from the machine's routing (_PRT) */
	bool intx_level;		/* lock */
	uint64_t notifies;		/* statistics */
};

/* Identity and the header's fixed part; class is (base << 16) | (sub << 8) | prog-if. */
void vpci_init(struct vpci_func *f, struct vdev *d, uint16_t vendor, uint16_t device,
	       uint32_t class, uint8_t revision);
void vpci_set_subsystem(struct vpci_func *f, uint16_t vendor, uint16_t id);
/* BAR n (a 64-bit BAR takes n and n+1). size: a power of two (>= 16 for I/O, 4096 for memory). */
int vpci_add_bar(struct vpci_func *f, unsigned n, enum vpci_bar_type type, uint64_t size,
		 const void *ops);
/* Capabilities: a raw one (id, body bytes after the id/next pair), MSI, MSI-X. */
int vpci_add_cap(struct vpci_func *f, uint8_t id, const uint8_t *body, unsigned len);
int vpci_add_msi(struct vpci_func *f);
/* MSI-X with n vectors; its table at offset 0 and PBA at 0x800 of a dedicated memory BAR. */
int vpci_add_msix(struct vpci_func *f, unsigned n, unsigned bar);
/* Interrupt pin INTA..INTD (1..4); the routing comes from the slot. */
void vpci_set_intx_pin(struct vpci_func *f, unsigned pin);

/* Put the function on the VM's bus at slot (0: the first free one). */
int vpci_register(struct vm *vm, struct vpci_func *f, unsigned slot);

/* Raise the interrupt for MSI-X vector `vector` (or MSI, or assert INTx). */
void vpci_notify(struct vpci_func *f, unsigned vector);
void vpci_intx_deassert(struct vpci_func *f);
bool vpci_bus_master(const struct vpci_func *f);	/* command register bit 2 */
/* Where the guest put BAR n (0 if not placed); handlers subtract it from addresses. */
uint64_t vpci_bar_addr(const struct vpci_func *f, unsigned n);

/* For the bus (vdev/pci/host.c): configuration accesses and attaching the BARs. */
uint32_t vpci_cfg_read(struct vpci_func *f, unsigned off, unsigned size);
void vpci_cfg_write(struct vpci_func *f, unsigned off, unsigned size, uint32_t val);
int vpci_func_attach(struct vpci_func *f);

/* The PCI bus of a VM (vdev/pci/bus.c) */
int vpci_bus_create(struct vm *vm, uint64_t ecam_base, unsigned buses);
#define VPCI_MAX_SLOTS 32

#endif
