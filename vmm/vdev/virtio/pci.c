/*
 * The virtio 1.x PCI transport ("modern" devices, virtio v1.1 4.1) for
 * the VMM's virtio device models; see virtio_priv.h for how a device
 * type plugs in.
 *
 * Guest-visible layout. One 16 KiB 64-bit memory BAR (BAR 4) holds the
 * common configuration (+0x0000), the ISR status byte (+0x1000), the
 * device configuration (+0x2000) and the queue notification addresses
 * (+0x3000, 4 bytes apart: queue n notifies at +0x3000 + 4n); four
 * vendor-specific capabilities point at them. MSI-X (BAR 1) has one
 * vector per queue plus one for configuration changes; without MSI-X the
 * device raises INTA and the ISR read lowers it.
 *
 * What the guest can get wrong and what follows: features it was not
 * offered (FEATURES_OK does not stick, as the specification says), a
 * queue set up with a bad size or rings outside RAM, a notification
 * before DRIVER_OK (a device that sets early_notify keeps one that comes
 * after FEATURES_OK for an enabled queue and serves it at DRIVER_OK:
 * Linux's balloon driver does that) or for a queue that is not enabled,
 * malformed rings
 * (virtqueue.c): each sets NEEDS_RESET, sends a configuration interrupt,
 * logs one line naming the VM, the device and the reason, and the device
 * does no more work until the driver resets it. Only this device of this
 * VM is affected.
 *
 * The notification path is what a guest pays per request batch: the
 * exit, the bus lookup, an atomic OR and a wake-up of the I/O world. The
 * work itself (ring walks, backend I/O, the used ring, the interrupt)
 * runs on the I/O world (virtio_priv.h).
 */
#define pr_fmt(fmt) "virtio: " fmt
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmm/guest_mem.h>
#include <vmm/vm.h>
#include "virtio_priv.h"

#define REPORTS_MAX	16	/* NEEDS_RESET lines logged per device; then only counted */

static unsigned reports[VM_MAX];	/* per VM id: a guest that loops on resets floods nothing */

/* ---- guest memory for the walker ---- */

static int mem_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	return guest_read(ctx, gpa, dst, len);
}

static int mem_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	return guest_write(ctx, gpa, src, len);
}

static bool mem_is_ram(void *ctx, uint64_t gpa, uint64_t len)
{
	return guest_range_is_ram(ctx, gpa, len);
}

/* ---- state ---- */

bool virtio_live(const struct virtio_dev *vd)
{
	uint8_t s = __atomic_load_n(&vd->status, __ATOMIC_ACQUIRE);

	return (s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_NEEDS_RESET);
}

bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit)
{
	return vd->guest_features >> bit & 1;
}

static void raise_config(struct virtio_dev *vd)
{
	uint16_t vec;
	unsigned long flags = spin_lock_irqsave(&vd->lock);

	vec = vd->msix_config;
	spin_unlock_irqrestore(&vd->lock, flags);
	__atomic_fetch_or(&vd->isr, 2, __ATOMIC_RELEASE);
	vpci_notify(&vd->f, vec);
}

void virtio_needs_reset(struct virtio_dev *vd, const char *fmt, ...)
{
	struct vm *vm = vd->dev.vm;
	unsigned long flags = spin_lock_irqsave(&vd->lock);
	bool first = !(vd->status & VIRTIO_STATUS_NEEDS_RESET);
	char why[160];
	va_list ap;
	unsigned n;

	vd->status |= VIRTIO_STATUS_NEEDS_RESET;
	spin_unlock_irqrestore(&vd->lock, flags);
	if (!first)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	n = __atomic_add_fetch(&reports[vm->id % VM_MAX], 1, __ATOMIC_RELAXED);
	if (n <= REPORTS_MAX)
		pr_err("%s: %s '%s': %s; the device needs a reset%s\n", vm->name, vd->kind,
		       vd->dev.name, why,
		       n == REPORTS_MAX ? " (further reports for this VM are not logged)" : "");
	raise_config(vd);
}

void virtio_config_changed(struct virtio_dev *vd)
{
	unsigned long flags = spin_lock_irqsave(&vd->lock);

	vd->config_gen++;
	spin_unlock_irqrestore(&vd->lock, flags);
	if (virtio_live(vd))
		raise_config(vd);
}

void virtio_queue_done(struct virtio_dev *vd, unsigned q)
{
	if (!vqdev_should_interrupt(&vd->vq[q], &vd->mem))
		return;
	__atomic_fetch_add(&vd->interrupts, 1, __ATOMIC_RELAXED);
	__atomic_fetch_or(&vd->isr, 1, __ATOMIC_RELEASE);
	vpci_notify(&vd->f, vd->vq[q].msix_vector);
}

/* ---- the I/O world ---- */

static void io_world(void *arg)
{
	struct virtio_dev *vd = arg;

	for (;;) {
		uint32_t queues = __atomic_exchange_n(&vd->kicks, 0, __ATOMIC_ACQ_REL);

		if (__atomic_load_n(&vd->io_stop, __ATOMIC_ACQUIRE))
			break;
		if (!queues) {
			sched_block();
			continue;
		}
		mutex_lock(&vd->io_lock);
		if (virtio_live(vd))
			vd->ops->process(vd, queues);
		mutex_unlock(&vd->io_lock);
	}
	__atomic_store_n(&vd->io_done, true, __ATOMIC_RELEASE);
	world_exit();
}

/* The first DRIVER_OK starts the device's I/O world, beside its VM's first vCPU. */
static int start_io_world(struct virtio_dev *vd)
{
	struct vm *vm = vd->dev.vm;
	unsigned cpus = pcpu_online_count(), cpu = 0;
	char name[32];

	if (vd->io_world)
		return 0;
	if (vm->vcpus[0])
		cpu = (vm->vcpus[0]->host_cpu + 1) % (cpus ? cpus : 1);
	snprintf(name, sizeof(name), "%.12s %.12s io", vm->name, vd->dev.name);
	vd->io_world = world_create(name, io_world, vd, cpu, NULL, vd);
	return vd->io_world ? 0 : -ENOMEM;
}

static void kick(struct virtio_dev *vd, unsigned q)
{
	__atomic_fetch_add(&vd->notifies, 1, __ATOMIC_RELAXED);
	__atomic_fetch_or(&vd->kicks, 1U << q, __ATOMIC_RELEASE);
	sched_wakeup(vd->io_world);
}

void virtio_kick(struct virtio_dev *vd, unsigned q)
{
	struct world *w = __atomic_load_n(&vd->io_world, __ATOMIC_ACQUIRE);

	if (!w || __atomic_load_n(&vd->io_stop, __ATOMIC_ACQUIRE))
		return;		/* no I/O world yet: the driver's first notification starts the work */
	__atomic_fetch_or(&vd->kicks, 1U << q, __ATOMIC_RELEASE);
	sched_wakeup(w);
}

/* ---- reset and status ---- */

/* Back to the power-on state: waits for the request the I/O world is working on. */
static void do_reset(struct virtio_dev *vd)
{
	unsigned long flags;

	mutex_lock(&vd->io_lock);
	flags = spin_lock_irqsave(&vd->lock);
	vd->status = 0;
	vd->guest_features = 0;
	vd->dfselect = vd->gfselect = 0;
	vd->msix_config = VIRTIO_MSI_NO_VECTOR;
	vd->queue_sel = 0;
	for (unsigned i = 0; i < vd->nqueues; i++) {
		vd->vq[i].max_segs = vd->max_segs;
		vqdev_reset(&vd->vq[i], vd->qmax);
	}
	__atomic_store_n(&vd->kicks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&vd->isr, 0, __ATOMIC_RELAXED);
	spin_unlock_irqrestore(&vd->lock, flags);
	if (vd->ops->reset)
		vd->ops->reset(vd);
	mutex_unlock(&vd->io_lock);
	vpci_intx_deassert(&vd->f);
}

void virtio_dev_reset(struct vdev *d)
{
	do_reset((struct virtio_dev *)d);
}

/* A status write other than 0 (lock held). Returns what to do outside the lock. */
static bool set_status(struct virtio_dev *vd, uint8_t val, bool *bad_features)
{
	uint8_t old = vd->status, add = val & ~old;

	*bad_features = false;
	if (add & VIRTIO_STATUS_FEATURES_OK) {
		if ((vd->guest_features & ~vd->host_features) ||
		    !(vd->guest_features >> VIRTIO_F_VERSION_1 & 1)) {
			val &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
			*bad_features = true;
		}
	}
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !((old | val) & VIRTIO_STATUS_FEATURES_OK))
		val &= (uint8_t)~VIRTIO_STATUS_DRIVER_OK;	/* not before features agree */
	/* the driver cannot clear bits (only a reset can), nor set NEEDS_RESET */
	vd->status = (uint8_t)(old | (val & ~VIRTIO_STATUS_NEEDS_RESET));
	return (add & VIRTIO_STATUS_DRIVER_OK) && (vd->status & VIRTIO_STATUS_DRIVER_OK);
}

static void write_status(struct virtio_dev *vd, uint8_t val)
{
	unsigned long flags;
	bool start, bad;

	if (!val) {
		do_reset(vd);
		return;
	}
	flags = spin_lock_irqsave(&vd->lock);
	start = set_status(vd, val, &bad);
	spin_unlock_irqrestore(&vd->lock, flags);
	if (bad)
		pr_warn("%s: %s '%s': the driver asked for features 0x%llx, not all of 0x%llx "
			"offered or without VERSION_1; FEATURES_OK refused\n", vd->dev.vm->name,
			vd->kind, vd->dev.name, (unsigned long long)vd->guest_features,
			(unsigned long long)vd->host_features);
	if (start && start_io_world(vd))
		virtio_needs_reset(vd, "no memory for its I/O world");
	else if (start && __atomic_load_n(&vd->kicks, __ATOMIC_ACQUIRE))
		sched_wakeup(vd->io_world);	/* notifications taken before DRIVER_OK */
}

/* ---- common configuration ---- */

static uint64_t common_read(struct virtio_dev *vd, unsigned off)
{
	struct virtqueue_dev *q = vd->queue_sel < vd->nqueues ? &vd->vq[vd->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_COMMON_DFSELECT: return vd->dfselect;
	case VIRTIO_COMMON_DF:
		return vd->dfselect < 2 ? (uint32_t)(vd->host_features >> (32 * vd->dfselect)) : 0;
	case VIRTIO_COMMON_GFSELECT: return vd->gfselect;
	case VIRTIO_COMMON_GF:
		return vd->gfselect < 2 ? (uint32_t)(vd->guest_features >> (32 * vd->gfselect)) : 0;
	case VIRTIO_COMMON_MSIX: return vd->msix_config;
	case VIRTIO_COMMON_NUMQ: return vd->nqueues;
	case VIRTIO_COMMON_STATUS: return vd->status;
	case VIRTIO_COMMON_CFGGEN: return vd->config_gen;
	case VIRTIO_COMMON_Q_SELECT: return vd->queue_sel;
	case VIRTIO_COMMON_Q_SIZE: return q ? q->size : 0;
	case VIRTIO_COMMON_Q_MSIX: return q ? q->msix_vector : VIRTIO_MSI_NO_VECTOR;
	case VIRTIO_COMMON_Q_ENABLE: return q ? q->enabled : 0;
	case VIRTIO_COMMON_Q_NOFF: return vd->queue_sel;
	case VIRTIO_COMMON_Q_DESC: return q ? q->desc : 0;
	case VIRTIO_COMMON_Q_AVAIL: return q ? q->avail : 0;
	case VIRTIO_COMMON_Q_USED: return q ? q->used : 0;
	default: return 0;
	}
}

/* Field offset and width that hold byte `off` of the common configuration. */
static unsigned field_of(unsigned off, unsigned *width)
{
	static const uint8_t start[] = { 0x00, 0x04, 0x08, 0x0c, 0x10, 0x12, 0x14, 0x15, 0x16,
					 0x18, 0x1a, 0x1c, 0x1e, 0x20, 0x28, 0x30, 0x38 };

	for (unsigned i = 0; i + 1 < sizeof(start); i++) {
		if (off < start[i + 1]) {
			*width = start[i + 1] - start[i];
			return start[i];
		}
	}
	*width = 0;
	return off;
}

static uint16_t checked_vector(struct virtio_dev *vd, uint64_t v)
{
	return v < vd->f.msix_n ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static uint64_t merge(uint64_t old, unsigned shift, unsigned size, uint64_t val)
{
	uint64_t mask = (size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1) << shift;

	return (old & ~mask) | (val << shift & mask);
}

/* A queue register write (lock held); set-up is frozen once the driver is running. */
static void queue_write(struct virtio_dev *vd, unsigned field, unsigned shift, unsigned size,
			uint64_t val, bool *enable)
{
	struct virtqueue_dev *q;

	if (vd->queue_sel >= vd->nqueues || (vd->status & VIRTIO_STATUS_DRIVER_OK))
		return;
	q = &vd->vq[vd->queue_sel];
	switch (field) {
	case VIRTIO_COMMON_Q_SIZE: q->size = (uint16_t)val; break;
	case VIRTIO_COMMON_Q_MSIX: q->msix_vector = checked_vector(vd, val); break;
	case VIRTIO_COMMON_Q_ENABLE: *enable = val == 1 && !q->enabled; break;
	case VIRTIO_COMMON_Q_DESC: q->desc = merge(q->desc, shift, size, val); break;
	case VIRTIO_COMMON_Q_AVAIL: q->avail = merge(q->avail, shift, size, val); break;
	case VIRTIO_COMMON_Q_USED: q->used = merge(q->used, shift, size, val); break;
	}
}

static void enable_queue(struct virtio_dev *vd, unsigned qi)
{
	struct virtqueue_dev *q = &vd->vq[qi];
	unsigned long flags = spin_lock_irqsave(&vd->lock);
	enum vq_err e;

	q->event_idx = virtio_has_feature(vd, VIRTIO_F_EVENT_IDX);
	q->indirect = virtio_has_feature(vd, VIRTIO_F_INDIRECT_DESC);
	e = vqdev_enable(q, &vd->mem, vd->qmax);
	spin_unlock_irqrestore(&vd->lock, flags);
	if (e)
		virtio_needs_reset(vd, "queue %u set up with size %u, rings at "
				   "0x%llx/0x%llx/0x%llx: %s", qi, q->size, (unsigned long long)q->desc,
				   (unsigned long long)q->avail, (unsigned long long)q->used,
				   vqdev_err_name(e));
}

static void common_write(struct virtio_dev *vd, unsigned off, unsigned size, uint64_t val)
{
	unsigned width, field = field_of(off, &width), shift = 8 * (off - field);
	unsigned long flags;
	bool enable = false;
	unsigned qi;

	if (field == VIRTIO_COMMON_STATUS) {
		write_status(vd, (uint8_t)val);
		return;
	}
	flags = spin_lock_irqsave(&vd->lock);
	qi = vd->queue_sel;
	switch (field) {
	case VIRTIO_COMMON_DFSELECT:
		vd->dfselect = (uint32_t)merge(vd->dfselect, shift, size, val);
		break;
	case VIRTIO_COMMON_GFSELECT:
		vd->gfselect = (uint32_t)merge(vd->gfselect, shift, size, val);
		break;
	case VIRTIO_COMMON_GF:
		if (vd->gfselect < 2 && !(vd->status & VIRTIO_STATUS_FEATURES_OK))
			vd->guest_features = merge(vd->guest_features, 32 * vd->gfselect + shift,
						   size, val);
		break;
	case VIRTIO_COMMON_MSIX: vd->msix_config = checked_vector(vd, val); break;
	case VIRTIO_COMMON_Q_SELECT: vd->queue_sel = (uint16_t)val; break;
	default: queue_write(vd, field, shift, size, val, &enable);
	}
	spin_unlock_irqrestore(&vd->lock, flags);
	if (enable)
		enable_queue(vd, qi);
}

/* ---- the BAR ---- */

static void notify(struct virtio_dev *vd, uint64_t off)
{
	unsigned q = (unsigned)(off / VIRTIO_NOTIFY_MULT);

	if (q >= vd->nqueues)
		return;		/* past the notify region's queues: unassigned space */
	if (!virtio_live(vd)) {
		uint8_t s = __atomic_load_n(&vd->status, __ATOMIC_ACQUIRE);

		if (vd->early_notify && vd->vq[q].enabled && (s & VIRTIO_STATUS_FEATURES_OK) &&
		    !(s & VIRTIO_STATUS_NEEDS_RESET)) {
			/* remembered; the I/O world takes it at DRIVER_OK */
			__atomic_fetch_or(&vd->kicks, 1U << q, __ATOMIC_RELEASE);
			return;
		}
		if (!(s & VIRTIO_STATUS_NEEDS_RESET))
			virtio_needs_reset(vd, "queue %u notified before DRIVER_OK", q);
		return;
	}
	if (!vd->vq[q].enabled) {
		virtio_needs_reset(vd, "queue %u notified but not enabled", q);
		return;
	}
	kick(vd, q);
}

static int bar_read(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t *val)
{
	struct virtio_dev *vd = (struct virtio_dev *)d;
	uint64_t off = addr - vpci_bar_addr(&vd->f, VIRTIO_BAR);
	unsigned long flags;
	uint8_t buf[8] = { 0 };

	(void)v;
	*val = 0;
	if (off < VIRTIO_COMMON_AT + VIRTIO_COMMON_SIZE) {
		unsigned width, field = field_of((unsigned)off, &width);

		flags = spin_lock_irqsave(&vd->lock);
		*val = common_read(vd, field) >> (8 * (off - field));
		spin_unlock_irqrestore(&vd->lock, flags);
		if (size < 8)
			*val &= (1ULL << (8 * size)) - 1;
	} else if (off >= VIRTIO_ISR_AT && off < VIRTIO_ISR_AT + 4) {
		if (off == VIRTIO_ISR_AT) {	/* reading clears it and lowers INTx */
			*val = __atomic_exchange_n(&vd->isr, 0, __ATOMIC_ACQ_REL);
			vpci_intx_deassert(&vd->f);
		}
	} else if (off >= VIRTIO_DEVICE_AT && off + size <= VIRTIO_DEVICE_AT + vd->cfg_size) {
		vd->ops->cfg_read(vd, (unsigned)(off - VIRTIO_DEVICE_AT), buf, size);
		memcpy(val, buf, size);
	}
	return 0;
}

static int bar_write(struct vdev *d, struct vcpu *v, uint64_t addr, unsigned size, uint64_t val)
{
	struct virtio_dev *vd = (struct virtio_dev *)d;
	uint64_t off = addr - vpci_bar_addr(&vd->f, VIRTIO_BAR);

	(void)v;
	if (off >= VIRTIO_NOTIFY_AT)
		notify(vd, off - VIRTIO_NOTIFY_AT);
	else if (off < VIRTIO_COMMON_AT + VIRTIO_COMMON_SIZE)
		common_write(vd, (unsigned)off, size, val);
	else if (off >= VIRTIO_DEVICE_AT && off + size <= VIRTIO_DEVICE_AT + vd->cfg_size &&
		 vd->ops->cfg_write)
		vd->ops->cfg_write(vd, (unsigned)(off - VIRTIO_DEVICE_AT), &val, size);
	/* the ISR status, and the device configuration of devices without cfg_write, are read-only */
	return 0;
}

static const struct vdev_mmio_ops bar_ops = { .read = bar_read, .write = bar_write };

/* ---- creation ---- */

static int add_cap(struct virtio_dev *vd, uint8_t type, uint32_t at, uint32_t len, bool mult)
{
	uint8_t body[18] = { 0 };
	unsigned n = mult ? 18 : 14;

	body[0] = (uint8_t)(n + 2);	/* cap_len counts the ID and next bytes too */
	body[1] = type;
	body[2] = VIRTIO_BAR;
	memcpy(body + 6, &at, 4);
	memcpy(body + 10, &len, 4);
	if (mult) {
		uint32_t m = VIRTIO_NOTIFY_MULT;

		memcpy(body + 14, &m, 4);
	}
	return vpci_add_cap(&vd->f, VIRTIO_PCI_CAP_VENDOR, body, n) < 0 ? -ENOSPC : 0;
}

int virtio_dev_create(struct virtio_dev *vd, uint16_t device_id, uint32_t pci_class)
{
	int err;

	if (!vd->nqueues || vd->nqueues > VIRTIO_MAX_QUEUES || vd->cfg_size > VIRTIO_DEVICE_CFG_MAX)
		return -EINVAL;
	mutex_init(&vd->io_lock, "virtio io");
	spin_init(&vd->lock, "virtio");
	vd->mem = (struct vq_mem){ .ctx = vd->dev.vm, .read = mem_read, .write = mem_write,
				   .is_ram = mem_is_ram };
	vd->host_features |= 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_INDIRECT_DESC |
			     1ULL << VIRTIO_F_EVENT_IDX;
	for (unsigned i = 0; i < vd->nqueues; i++) {
		vd->vq[i].max_segs = vd->max_segs;
		vqdev_reset(&vd->vq[i], vd->qmax);
	}
	vd->msix_config = VIRTIO_MSI_NO_VECTOR;
	vpci_init(&vd->f, &vd->dev, VIRTIO_PCI_VENDOR,
		  (uint16_t)(VIRTIO_PCI_DEVICE_BASE + device_id), pci_class, 1);
	vpci_set_subsystem(&vd->f, VIRTIO_PCI_VENDOR, 0x0040 | device_id);
	if ((err = vpci_add_bar(&vd->f, VIRTIO_BAR, VPCI_BAR_MEM64, VIRTIO_BAR_SIZE, &bar_ops)) ||
	    (err = vpci_add_msix(&vd->f, vd->nqueues + 1, VIRTIO_MSIX_BAR)) ||
	    (err = add_cap(vd, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_COMMON_AT, VIRTIO_COMMON_SIZE,
			   false)) ||
	    (err = add_cap(vd, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_ISR_AT, 4, false)) ||
	    /* no device configuration, no capability: a driver refuses one of length 0 */
	    (vd->cfg_size &&
	     (err = add_cap(vd, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_DEVICE_AT, vd->cfg_size,
			    false))) ||
	    (err = add_cap(vd, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_NOTIFY_AT,
			   vd->nqueues * VIRTIO_NOTIFY_MULT, true)))
		return err;
	vpci_set_intx_pin(&vd->f, 1);
	return vpci_register(vd->dev.vm, &vd->f, 0);
}

void virtio_dev_destroy(struct vdev *d)
{
	struct virtio_dev *vd = (struct virtio_dev *)d;

	if (vd->io_world) {
		__atomic_store_n(&vd->io_stop, true, __ATOMIC_RELEASE);
		sched_wakeup(vd->io_world);
		while (!__atomic_load_n(&vd->io_done, __ATOMIC_ACQUIRE)) {
			if (world_current())
				sched_yield();
			else
				cpu_relax();
		}
		vd->io_world = NULL;
		pr_info("%s: %s '%s': %llu notifications, %llu requests, %llu interrupts\n",
			vd->dev.vm->name, vd->kind, vd->dev.name,
			(unsigned long long)vd->notifies, (unsigned long long)vd->requests,
			(unsigned long long)vd->interrupts);
	}
	if (vd->ops->destroy)
		vd->ops->destroy(vd);
}
