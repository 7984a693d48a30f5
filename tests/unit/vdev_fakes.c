/* The host environment for device-model tests (vdev_fakes.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/log.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmkernel/wallclock.h>
#include <vmm/guest_mem.h>
#include <vmm/vdev.h>
#include <vmm/virq.h>
#include <vmm/vlapic.h>
#include <vmm/vtime.h>
#include "vdev_fakes.h"

uint64_t fake_tsc = 1000000;
char fake_log[16384];
unsigned fake_kicks[4];
static struct ktimer *timers;	/* pending, unsorted */

uint64_t vtime_host_tsc(void)
{
	return fake_tsc;
}

uint64_t tsc_hz(void)
{
	return FAKE_TSC_HZ;
}

uint64_t wallclock_ns(void)
{
	return 1700000000ULL * 1000000000ULL + fake_tsc;	/* 2023-11-14 22:13:20 UTC + tsc */
}

void *kmalloc(size_t size)
{
	return malloc(size);
}

void *kzalloc(size_t size)
{
	return calloc(1, size);
}

void kfree(void *p)
{
	free(p);
}

void *vmm_page_alloc(uint64_t *pa)
{
	void *p = aligned_alloc(4096, 4096);

	memset(p, 0, 4096);
	*pa = (uint64_t)(uintptr_t)p;
	return p;
}

void vmm_page_free(void *va, uint64_t pa)
{
	(void)pa;
	free(va);
}

void spin_init(struct spinlock *l, const char *name)
{
	l->locked = 0;
	l->owner = SPIN_NO_OWNER;
	l->name = name;
}

void spin_lock(struct spinlock *l)
{
	assert_int_equal(l->locked, 0);
	l->locked = 1;
}

bool spin_trylock(struct spinlock *l)
{
	if (l->locked)
		return false;
	l->locked = 1;
	return true;
}

void spin_unlock(struct spinlock *l)
{
	assert_int_equal(l->locked, 1);
	l->locked = 0;
}

bool spin_held_by_me(const struct spinlock *l)
{
	return l->locked;
}

unsigned long spin_lock_irqsave(struct spinlock *l)
{
	spin_lock(l);
	return 0;
}

void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	(void)flags;
	spin_unlock(l);
}

void log_printf(int level, const char *fmt, ...)
{
	size_t n = strlen(fake_log);
	va_list ap;

	(void)level;
	va_start(ap, fmt);
	if (n < sizeof(fake_log) - 1)
		vsnprintf(fake_log + n, sizeof(fake_log) - n, fmt, ap);
	va_end(ap);
}

bool fake_log_has(const char *s)
{
	return strstr(fake_log, s) != NULL;
}

void ktimer_init(struct ktimer *t, void (*fn)(struct ktimer *t))
{
	t->deadline = 0;
	t->fn = fn;
	t->next = NULL;
	t->cpu = -1;
}

bool ktimer_cancel(struct ktimer *t)
{
	for (struct ktimer **p = &timers; *p; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			t->cpu = -1;
			return true;
		}
	}
	return false;
}

void ktimer_arm(struct ktimer *t, uint64_t deadline)
{
	ktimer_cancel(t);
	t->deadline = deadline;
	t->cpu = 0;
	t->next = timers;
	timers = t;
}

bool ktimer_pending(const struct ktimer *t)
{
	return t->cpu >= 0;
}

void fake_advance(uint64_t ns)
{
	uint64_t end = fake_tsc + ns;

	for (;;) {
		struct ktimer *first = NULL;

		for (struct ktimer *t = timers; t; t = t->next) {
			if (t->deadline <= end && (!first || t->deadline < first->deadline))
				first = t;
		}
		if (!first)
			break;
		if (first->deadline > fake_tsc)
			fake_tsc = first->deadline;
		ktimer_cancel(first);
		first->fn(first);
	}
	fake_tsc = end;
}

void vcpu_kick(struct vcpu *v)
{
	if (v->id < 4)
		fake_kicks[v->id]++;
}

/*
 * Guest memory: fake_ram, the VM's low RAM (up to 64 MiB of it), for
 * devices that copy to and from the guest (fw_cfg DMA). Outside it:
 * -EFAULT, as the real guest_read/guest_write answer for non-RAM.
 */
uint8_t *fake_ram;
static uint64_t fake_ram_size;

static bool fake_ram_span(uint64_t gpa, size_t len)
{
	return gpa < fake_ram_size && len <= fake_ram_size - gpa;
}

int guest_write(struct vm *vm, uint64_t gpa, const void *src, size_t len)
{
	(void)vm;
	if (!fake_ram_span(gpa, len))
		return -14;
	memcpy(fake_ram + gpa, src, len);
	return 0;
}

int guest_read(struct vm *vm, uint64_t gpa, void *dst, size_t len)
{
	(void)vm;
	if (!fake_ram_span(gpa, len))
		return -14;
	memcpy(dst, fake_ram + gpa, len);
	return 0;
}

uint64_t vm_low_ram_end(const struct vm *vm)
{
	return vm->ram_size < 0xb0000000ULL ? vm->ram_size : 0xb0000000ULL;
}

uint64_t vm_high_ram_size(const struct vm *vm)
{
	return vm->ram_size - vm_low_ram_end(vm);
}

static char stop_reason[200];

void vm_exit(struct vm *vm, int status, const char *fmt, ...)
{
	(void)fmt;
	vm->state = VM_STOPPED;
	vm->end_kind = VM_END_EXIT;
	vm->exit_status = status;
}

void vm_poweroff(struct vm *vm, const char *fmt, ...)
{
	(void)fmt;
	vm->state = VM_STOPPED;
	vm->end_kind = VM_END_POWEROFF;
}

void vm_guest_reset(struct vm *vm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(stop_reason, sizeof(stop_reason), fmt, ap);
	va_end(ap);
	vm->state = VM_STOPPED;
	vm->end_kind = VM_END_RESET;
}

void vm_console_putc(struct vm *vm, char c)
{
	(void)vm;
	log_printf(LOG_INFO, "%c", c);
}

struct vm *fake_vm(unsigned nvcpus, unsigned memsize_mb)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	snprintf(vm->name, sizeof(vm->name), "testvm");
	vm->ram_size = (uint64_t)memsize_mb << 20;
	vm->nvcpus = nvcpus;
	vm->state = VM_RUNNING;
	vm->cfg.serial0_present = true;
	assert_int_equal(vdev_bus_init(vm), 0);
	assert_int_equal(vm_irq_init(vm), 0);
	for (unsigned i = 0; i < nvcpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));

		v->vm = vm;
		v->id = i;
		assert_int_equal(vlapic_init(&v->lapic, v, i, i == 0, FAKE_TSC_HZ), 0);
		vm->vcpus[i] = v;
	}
	memset(fake_log, 0, sizeof(fake_log));
	memset(fake_kicks, 0, sizeof(fake_kicks));
	fake_ram_size = vm->ram_size < (64ULL << 20) ? vm->ram_size : (64ULL << 20);
	fake_ram = calloc(1, fake_ram_size);
	assert_non_null(fake_ram);
	return vm;
}

void fake_vm_free(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nvcpus; i++) {
		vlapic_destroy(&vm->vcpus[i]->lapic);
		free(vm->vcpus[i]);
	}
	vdev_bus_destroy(vm);
	vm_irq_destroy(vm);
	free(vm);
	timers = NULL;
	free(fake_ram);
	fake_ram = NULL;
	fake_ram_size = 0;
}

uint32_t fake_in(struct vm *vm, uint16_t port, unsigned size)
{
	struct vdev_range r;

	if (!vdev_pio_lookup(vm, port, &r) || !r.pio->in)
		return size == 4 ? 0xffffffffU : (1U << (8 * size)) - 1;
	return r.pio->in(r.dev, vm->vcpus[0], port, size);
}

void fake_out(struct vm *vm, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_range r;

	if (vdev_pio_lookup(vm, port, &r) && r.pio->out)
		r.pio->out(r.dev, vm->vcpus[0], port, size, val);
}

uint64_t fake_mmio_read(struct vm *vm, uint64_t addr, unsigned size)
{
	struct vdev_range r;
	uint64_t v = ~0ULL;

	if (vdev_mmio_lookup(vm, addr, &r) && r.mmio->read)
		assert_int_equal(r.mmio->read(r.dev, vm->vcpus[0], addr, size, &v), 0);
	return v;
}

void fake_mmio_write(struct vm *vm, uint64_t addr, unsigned size, uint64_t val)
{
	struct vdev_range r;

	if (vdev_mmio_lookup(vm, addr, &r) && r.mmio->write)
		assert_int_equal(r.mmio->write(r.dev, vm->vcpus[0], addr, size, val), 0);
}

/* A device type that registers nothing: the set is never empty in a test binary. */
static int null_create(struct vdev *d, const struct vdev_args *a)
{
	(void)d;
	(void)a;
	return 0;
}

static const struct vdev_type null_type = {
	.name = "test-null", .size = sizeof(struct vdev), .create = null_create,
};
VDEV_TYPE(null_type);

uint32_t fake_pci_cfg_read(struct vm *vm, unsigned slot, unsigned reg)
{
	fake_out(vm, 0xcf8, 4, 0x80000000U | slot << 11 | reg);
	return fake_in(vm, 0xcfc, 4);
}

void fake_pci_cfg_write(struct vm *vm, unsigned slot, unsigned reg, uint32_t val)
{
	fake_out(vm, 0xcf8, 4, 0x80000000U | slot << 11 | reg);
	fake_out(vm, 0xcfc, 4, val);
}
