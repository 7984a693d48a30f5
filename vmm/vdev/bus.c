/*
 * The per-VM device bus: device instances, and the tables that map guest
 * I/O ports and guest-physical MMIO ranges to them (see include/vmm/vdev.h
 * for the model).
 *
 * Tables. Each kind (ports, MMIO) has up to VDEV_MAX_RANGES ranges kept at
 * fixed slots (the handle a device keeps to move its range later) and a
 * sorted index of the enabled ones, so a lookup is a binary search.
 * Enabled ranges never overlap: registering or moving onto another
 * enabled range fails with -EBUSY.
 *
 * Concurrency. Writers (device creation before the VM runs, a vCPU's PCI
 * BAR write later) hold bus->lock and bracket every change with two
 * increments of bus->seq, which is odd while a change is in progress.
 * Readers (every port and MMIO exit) take no lock: they copy what they
 * found and retry if seq was odd or changed meanwhile. Instances are freed
 * only when the whole VM is destroyed, after every vCPU has ended.
 */
#define pr_fmt(fmt) "vdev: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/kmem.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/log.h>
#include <vmkernel/spinlock.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>

struct bus_table {
	struct vdev_range r[VDEV_MAX_RANGES];	/* by handle */
	bool enabled[VDEV_MAX_RANGES];
	uint8_t sorted[VDEV_MAX_RANGES];	/* handles of enabled ranges, by base */
	unsigned n;				/* handles in use */
	unsigned nsorted;
};

struct vdev_bus {
	struct spinlock lock;		/* writers */
	unsigned seq;			/* odd while a writer changes a table */
	struct bus_table pio, mmio;
	struct vdev *devices;		/* lock; list in creation order */
	size_t bytes;			/* lock: device instances' sizes, for overhead */
};

extern const struct vdev_type *const __start_vdev_types[], *const __stop_vdev_types[];

int vdev_bus_init(struct vm *vm)
{
	struct vdev_bus *b = kzalloc(sizeof(*b));

	if (!b)
		return -ENOMEM;
	spin_init(&b->lock, "vdev bus");
	vm->bus = b;
	return 0;
}

static void write_begin(struct vdev_bus *b)
{
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct vdev_bus *b)
{
	__atomic_store_n(&b->seq, b->seq + 1, __ATOMIC_RELEASE);
}

static bool overlaps(const struct bus_table *t, int skip, uint64_t base, uint64_t size)
{
	for (unsigned i = 0; i < t->nsorted; i++) {
		const struct vdev_range *r = &t->r[t->sorted[i]];

		if (t->sorted[i] != skip && base < r->base + r->size && r->base < base + size)
			return true;
	}
	return false;
}

/* Rebuild the sorted index of enabled ranges (insertion sort: a few dozen at most). */
static void resort(struct bus_table *t)
{
	unsigned n = 0;

	for (unsigned h = 0; h < t->n; h++) {
		unsigned j;

		if (!t->enabled[h])
			continue;
		for (j = n++; j > 0 && t->r[t->sorted[j - 1]].base > t->r[h].base; j--)
			t->sorted[j] = t->sorted[j - 1];
		t->sorted[j] = (uint8_t)h;
	}
	t->nsorted = n;
}

static int table_add(struct vdev_bus *b, struct bus_table *t, const struct vdev_range *r,
		     bool enabled)
{
	unsigned long flags = spin_lock_irqsave(&b->lock);
	int h;

	if (t->n == VDEV_MAX_RANGES) {
		h = -ENOSPC;
	} else if (enabled && overlaps(t, -1, r->base, r->size)) {
		h = -EBUSY;
	} else {
		write_begin(b);
		h = (int)t->n++;
		t->r[h] = *r;
		t->enabled[h] = enabled;
		resort(t);
		write_end(b);
	}
	spin_unlock_irqrestore(&b->lock, flags);
	return h;
}

static int table_move(struct vdev_bus *b, struct bus_table *t, int h, uint64_t base,
		      bool enabled)
{
	unsigned long flags = spin_lock_irqsave(&b->lock);
	int err = 0;

	if (h < 0 || (unsigned)h >= t->n)
		err = -EINVAL;
	else if (enabled && overlaps(t, h, base, t->r[h].size))
		err = -EBUSY;
	if (!err) {
		write_begin(b);
		t->r[h].base = base;
		t->enabled[h] = enabled;
		resort(t);
		write_end(b);
	}
	spin_unlock_irqrestore(&b->lock, flags);
	return err;
}

static bool table_lookup(const struct vdev_bus *b, const struct bus_table *t, uint64_t addr,
			 struct vdev_range *out)
{
	unsigned s;
	bool found;

	do {
		unsigned lo = 0, hi;

		while ((s = __atomic_load_n(&b->seq, __ATOMIC_ACQUIRE)) & 1)
			;
		found = false;
		hi = __atomic_load_n(&t->nsorted, __ATOMIC_RELAXED);
		if (hi > VDEV_MAX_RANGES)
			hi = VDEV_MAX_RANGES;	/* a torn read; the retry fixes it */
		while (lo < hi) {
			unsigned mid = (lo + hi) / 2;
			const struct vdev_range *r = &t->r[t->sorted[mid] % VDEV_MAX_RANGES];

			if (addr < r->base) {
				hi = mid;
			} else if (addr - r->base >= r->size) {
				lo = mid + 1;
			} else {
				*out = *r;
				found = true;
				break;
			}
		}
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while (__atomic_load_n(&b->seq, __ATOMIC_RELAXED) != s);
	return found;
}

int vdev_pio_register(struct vdev *d, uint16_t base, uint16_t count,
		      const struct vdev_pio_ops *ops, bool enabled)
{
	struct vdev_range r = { .dev = d, .base = base, .size = count, .pio = ops };

	if (!count || (uint32_t)base + count > 0x10000)
		return -EINVAL;
	return table_add(d->vm->bus, &d->vm->bus->pio, &r, enabled);
}

int vdev_mmio_register(struct vdev *d, uint64_t base, uint64_t size,
		       const struct vdev_mmio_ops *ops, bool enabled)
{
	struct vdev_range r = { .dev = d, .base = base, .size = size, .mmio = ops };

	if (!size || base + size < base)
		return -EINVAL;
	return table_add(d->vm->bus, &d->vm->bus->mmio, &r, enabled);
}

int vdev_pio_move(struct vm *vm, int handle, uint16_t base, bool enabled)
{
	struct bus_table *t = &vm->bus->pio;

	if (handle >= 0 && (unsigned)handle < t->n && (uint32_t)base + t->r[handle].size > 0x10000)
		return -EINVAL;
	return table_move(vm->bus, t, handle, base, enabled);
}

int vdev_mmio_move(struct vm *vm, int handle, uint64_t base, bool enabled)
{
	struct bus_table *t = &vm->bus->mmio;

	if (handle >= 0 && (unsigned)handle < t->n && base + t->r[handle].size < base)
		return -EINVAL;
	return table_move(vm->bus, t, handle, base, enabled);
}

bool vdev_pio_lookup(struct vm *vm, uint16_t port, struct vdev_range *out)
{
	return table_lookup(vm->bus, &vm->bus->pio, port, out);
}

bool vdev_mmio_lookup(struct vm *vm, uint64_t addr, struct vdev_range *out)
{
	return table_lookup(vm->bus, &vm->bus->mmio, addr, out);
}

static const struct vdev_type *find_type(const char *name)
{
	for (const struct vdev_type *const *t = __start_vdev_types; t < __stop_vdev_types; t++) {
		if (!strcmp((*t)->name, name))
			return *t;
	}
	return NULL;
}

struct vdev *vdev_create(struct vm *vm, const char *type, const struct vdev_args *a)
{
	const struct vdev_type *t = find_type(type);
	struct vdev *d, **tail;
	unsigned long flags;
	int err;

	if (!t) {
		pr_err("%s: no device type '%s'\n", vm->name, type);
		return NULL;
	}
	d = kzalloc(t->size);
	if (!d) {
		pr_err("%s: out of memory for device %s\n", vm->name, a->name);
		return NULL;
	}
	d->type = t;
	d->vm = vm;
	snprintf(d->name, sizeof(d->name), "%s", a->name ? a->name : t->name);
	err = t->create(d, a);
	if (err) {
		pr_err("%s: device %s (%s) cannot be created (%d)\n", vm->name, d->name, t->name,
		       err);
		if (t->destroy)
			t->destroy(d);
		kfree(d);
		return NULL;
	}
	flags = spin_lock_irqsave(&vm->bus->lock);
	vm->bus->bytes += t->size;
	for (tail = &vm->bus->devices; *tail; tail = &(*tail)->next)
		;
	*tail = d;
	spin_unlock_irqrestore(&vm->bus->lock, flags);
	if (t->reset)
		t->reset(d);
	return d;
}

struct vdev *vdev_find(struct vm *vm, const char *name)
{
	for (struct vdev *d = vm->bus ? vm->bus->devices : NULL; d; d = d->next) {
		if (!strcmp(d->name, name))
			return d;
	}
	return NULL;
}

void vdev_reset_all(struct vm *vm)
{
	for (struct vdev *d = vm->bus->devices; d; d = d->next) {
		if (d->type->reset)
			d->type->reset(d);
	}
}

size_t vdev_bus_bytes(struct vm *vm)
{
	struct vdev_bus *b = vm->bus;
	unsigned long flags;
	size_t n;

	if (!b)
		return 0;
	flags = spin_lock_irqsave(&b->lock);
	n = sizeof(*b) + b->bytes;
	spin_unlock_irqrestore(&b->lock, flags);
	return n;
}

void vdev_bus_destroy(struct vm *vm)
{
	struct vdev_bus *b = vm->bus;

	if (!b)
		return;
	while (b->devices) {
		struct vdev *d = b->devices;

		b->devices = d->next;
		if (d->type->destroy)
			d->type->destroy(d);
		kfree(d);
	}
	kfree(b);
	vm->bus = NULL;
}

/* "name (type): ports 0x3f8-0x3ff, mmio 0xfec00000-0xfec00fff" */
void vdev_log_all(struct vm *vm)
{
	struct vdev_bus *b = vm->bus;

	for (struct vdev *d = b->devices; d; d = d->next) {
		char line[160];
		struct linebuf lb = LINEBUF_INIT(line);

		lb_printf(&lb, "%s (%s):", d->name, d->type->name);
		for (unsigned h = 0; h < b->pio.n; h++) {
			if (b->pio.r[h].dev == d)
				lb_printf(&lb, " ports %#llx-%#llx%s",
					      (unsigned long long)b->pio.r[h].base,
					      (unsigned long long)(b->pio.r[h].base +
								   b->pio.r[h].size - 1),
					      b->pio.enabled[h] ? "" : " (off)");
		}
		for (unsigned h = 0; h < b->mmio.n; h++) {
			if (b->mmio.r[h].dev == d)
				lb_printf(&lb, " mmio %#llx-%#llx%s",
					      (unsigned long long)b->mmio.r[h].base,
					      (unsigned long long)(b->mmio.r[h].base +
								   b->mmio.r[h].size - 1),
					      b->mmio.enabled[h] ? "" : " (off)");
		}
		pr_info("%s: %s\n", vm->name, line);
	}
}
