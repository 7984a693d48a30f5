/*
 * The per-VM device bus (vmm/vdev/bus.c).
 *
 * A device *type* (PIC, PIT, UART, ...) registers itself in a linker set
 * with VDEV_TYPE(); a VM's machine description (vmm/vdev/machine.c) makes
 * *instances* of types from the VM's config. An instance is a structure
 * that begins with struct vdev; create() registers the instance's port and
 * MMIO ranges in its VM's own tables, and may move them later (a guest
 * reprogramming a PCI BAR). No device is a global singleton and no device
 * state hangs off named fields of struct vm.
 *
 * Lookups run on the exit path of every vCPU without a lock: the tables
 * are read under a sequence count and a range is found by binary search
 * over a sorted index. Changes (register, move, enable) take the bus lock.
 * Instances live as long as their VM, so a handler found by a lookup that
 * races a BAR move still points at a live device; it sees the access the
 * hardware would have seen before the move.
 *
 * Handlers run on the vCPU's world with interrupts enabled; a device
 * protects its own state with its own lock (device timers run in host
 * interrupt context, so device locks are taken with irqsave).
 */
#ifndef VMM_VDEV_H
#define VMM_VDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmm/vcpu.h>

struct vm;
struct vdev;

/* What a VM's machine description asks of an instance. */
struct vdev_args {
	const char *name;	/* instance name, e.g. "com1" */
	uint16_t port;		/* base I/O port, where the type has one */
	uint64_t mmio;		/* base guest-physical address, where it has one */
	uint64_t size;		/* size of its window, where the type takes one */
	unsigned irq;		/* ISA IRQ or GSI, where it has one */
	const void *extra;	/* type-specific */
};

struct vdev_type {
	const char *name;
	size_t size;		/* bytes of an instance, which starts with struct vdev */
	/* Set up the instance (zeroed, type/vm/name set) and register its ranges. */
	int (*create)(struct vdev *d, const struct vdev_args *a);
	/* Power-on state; called after create() and when the VM resets. */
	void (*reset)(struct vdev *d);
	/* Free what create() allocated beyond the instance (optional). */
	void (*destroy)(struct vdev *d);
	/*
	 * Device state for save/restore (snapshots, migration): the bytes
	 * written, or needed if len is too small. Optional, and only a first
	 * step: the PIC, IOAPIC and the RTC's CMOS implement it; there is no
	 * restore and no VM-level save yet, and devices that keep time as
	 * host-TSC values must save it relative to the guest's clock first.
	 */
	size_t (*save)(const struct vdev *d, void *buf, size_t len);
};

#define VDEV_TYPE(var)							\
	static const struct vdev_type *const __vdev_type_##var		\
	__attribute__((used, section("vdev_types"))) = &var

struct vpci_func;

struct vdev {
	const struct vdev_type *type;
	struct vm *vm;
	char name[16];
	struct vdev *next;	/* the VM's device list; fixed once the VM runs */
	struct vpci_func *pci;	/* its PCI function, if it is a PCI device (vpci.h) */
};

static inline struct vpci_func *vdev_pci_func(struct vdev *d)
{
	return d->pci;
}

struct vdev_pio_ops {
	/* size 1, 2 or 4; returns the value read */
	uint32_t (*in)(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size);
	void (*out)(struct vdev *d, struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
	bool byte_wide;		/* an 8-bit device: wider accesses are split into bytes */
};

struct vdev_mmio_ops {
	/* addr is guest-physical; size 1, 2, 4 or 8; 0 or -errno (the VM stops) */
	int (*read)(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t *val);
	int (*write)(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t val);
};

/* A registered range: the result of a lookup, copied out of the table. */
struct vdev_range {
	struct vdev *dev;
	uint64_t base, size;
	union {
		const struct vdev_pio_ops *pio;
		const struct vdev_mmio_ops *mmio;
	};
};

#define VDEV_MAX_RANGES 64	/* of each kind per VM */

/*
 * Register a range for d, enabled or not (a PCI BAR before the guest turns
 * decoding on). Returns a handle >= 0 for vdev_*_move(), or -EBUSY if it
 * overlaps an enabled range, -ENOSPC if the table is full, -EINVAL.
 */
int vdev_pio_register(struct vdev *d, uint16_t base, uint16_t count,
		      const struct vdev_pio_ops *ops, bool enabled);
int vdev_mmio_register(struct vdev *d, uint64_t base, uint64_t size,
		       const struct vdev_mmio_ops *ops, bool enabled);
/* Move and/or enable or disable a range; -EBUSY if it would overlap another. */
int vdev_pio_move(struct vm *vm, int handle, uint16_t base, bool enabled);
int vdev_mmio_move(struct vm *vm, int handle, uint64_t base, bool enabled);

/* Exit path: the enabled range holding port/addr, or false. Lock-free. */
bool vdev_pio_lookup(struct vm *vm, uint16_t port, struct vdev_range *out);
bool vdev_mmio_lookup(struct vm *vm, uint64_t addr, struct vdev_range *out);

/* VM life cycle (vm_boot.c, vm.c) */
int vdev_bus_init(struct vm *vm);
/* Make an instance of the named type; NULL with the reason logged. */
struct vdev *vdev_create(struct vm *vm, const char *type, const struct vdev_args *a);
void vdev_reset_all(struct vm *vm);
void vdev_bus_destroy(struct vm *vm);	/* destroys every instance */
/* Bytes of the bus and its device instances (the VM's overhead; not buffers devices allocate). */
size_t vdev_bus_bytes(struct vm *vm);
struct vdev *vdev_find(struct vm *vm, const char *name);
/* The VM's devices and their ranges, one log line each (VM start). */
void vdev_log_all(struct vm *vm);

/* An access of kind `write` to gpa inside r: emulate the instruction (exit/mmio.c). */
enum exit_action mmio_exit(struct vcpu *v, const struct vdev_range *r, uint64_t gpa, bool write);

#endif
