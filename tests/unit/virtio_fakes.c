/* Fakes of the vmkernel services the virtio device models use (virtio_fakes.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/mutex.h>
#include <vmkernel/percpu.h>
#include <vmm/guest_mem.h>
#include <vmm/vm.h>
#include "virtio_fakes.h"

struct world fake_world;
unsigned worlds_created, wakeups;

bool guest_range_is_ram(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t ram = vm->ram_size < (64ULL << 20) ? vm->ram_size : (64ULL << 20);

	return gpa < ram && len <= ram - gpa;
}

void mutex_init(struct mutex *m, const char *name)
{
	memset(m, 0, sizeof(*m));
	m->name = name;
}

void mutex_lock(struct mutex *m)
{
	assert_false(m->held);
	m->held = true;
}

void mutex_unlock(struct mutex *m)
{
	assert_true(m->held);
	m->held = false;
}

struct world *world_create(const char *name, void (*fn)(void *), void *arg, unsigned cpu,
			   const struct world_ops *ops, void *owner)
{
	(void)name, (void)fn, (void)arg, (void)cpu, (void)ops, (void)owner;
	worlds_created++;
	return &fake_world;
}

void sched_wakeup(struct world *w)
{
	assert_ptr_equal(w, &fake_world);
	wakeups++;
}

struct world *world_current(void)
{
	return NULL;
}

void sched_block(void)
{
}

void sched_yield(void)
{
}

void world_exit(void)
{
	abort();
}

unsigned int pcpu_online_count(void)
{
	return 2;
}

