/*
 * In-kernel tests of the vmkernel's own services on the machine it booted
 * on: the page allocator and heap on real memory, the timer, IPIs to every
 * CPU, spinlocks under real contention, per-CPU data, and recovery from
 * faults that have exception-table fixups.
 */
#include <errno.h>
#include <string.h>
#include <vmkernel/apic.h>
#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/layout.h>
#include <vmkernel/ktest.h>
#include <vmkernel/paging.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/platform.h>
#include <vmkernel/smp.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmkernel/trap.h>

#define MANY_PAGES 4096		/* 16 MiB in single pages */

KTEST(mem_pages)
{
	static uint64_t pages[MANY_PAGES];
	struct kmem_stats before, after;
	char err[128];
	unsigned n;

	kmem_get_stats(&before);
	for (n = 0; n < MANY_PAGES; n++) {
		pages[n] = page_alloc(0);
		if (!pages[n])
			break;
		memset(phys_to_virt(pages[n]), (int)(n & 0xff), PAGE_SIZE_4K);
	}
	KT_ASSERT(n > MANY_PAGES / 2);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *p = phys_to_virt(pages[i]);

		KT_ASSERT((pages[i] & (PAGE_SIZE_4K - 1)) == 0);
		KT_ASSERT_EQ(p[0], i & 0xff);
		KT_ASSERT_EQ(p[PAGE_SIZE_4K - 1], i & 0xff);
	}
	for (unsigned i = 0; i < n; i++)
		page_free(pages[i], 0);
	kmem_get_stats(&after);
	KT_ASSERT_EQ(after.free_bytes, before.free_bytes);
	KT_ASSERT(kmem_check(err, sizeof(err)) == 0);
}

KTEST(mem_orders)
{
	struct kmem_stats before, after;
	uint64_t blocks[11];

	kmem_get_stats(&before);
	for (unsigned order = 0; order <= 10; order++) {
		blocks[order] = page_alloc(order);
		KT_ASSERT(blocks[order] != 0);
		/* Naturally aligned, inside RAM, writable end to end. */
		KT_ASSERT_EQ(blocks[order] & ((PAGE_SIZE_4K << order) - 1), 0);
		memset(phys_to_virt(blocks[order]), 0xa5, PAGE_SIZE_4K << order);
	}
	for (unsigned order = 0; order <= 10; order++)
		page_free(blocks[order], order);
	kmem_get_stats(&after);
	KT_ASSERT_EQ(after.free_bytes, before.free_bytes);
	KT_ASSERT(page_alloc_below(0, 1ULL << 32) < (1ULL << 32));
}

KTEST(heap)
{
	static const size_t sizes[] = { 1, 16, 24, 100, 512, 2048, 2049, 5000, 70000 };
	void *p[sizeof(sizes) / sizeof(sizes[0])];
	struct kmem_stats before, after;
	char err[128];

	kmem_get_stats(&before);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p[i] = kmalloc(sizes[i]);
		KT_ASSERT(p[i] != NULL);
		KT_ASSERT_EQ((uintptr_t)p[i] & 15, 0);
		memset(p[i], (int)i + 1, sizes[i]);
	}
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const uint8_t *b = p[i];

		KT_ASSERT_EQ(b[0], i + 1);
		KT_ASSERT_EQ(b[sizes[i] - 1], i + 1);
		kfree(p[i]);
	}
	kmem_get_stats(&after);
	KT_ASSERT_EQ(after.heap_bytes, before.heap_bytes);
	KT_ASSERT(kmem_check(err, sizeof(err)) == 0);
	p[0] = kzalloc(300);
	KT_ASSERT(p[0] != NULL);
	for (unsigned i = 0; i < 300; i++)
		KT_ASSERT_EQ(((uint8_t *)p[0])[i], 0);
	kfree(p[0]);
}

static uint64_t wait_ticks(unsigned cpu_ticks_wanted, uint64_t max_ns)
{
	uint64_t start = this_cpu()->timer_ticks, deadline = time_ns() + max_ns;

	irq_enable();
	while (this_cpu()->timer_ticks - start < cpu_ticks_wanted && time_ns() < deadline)
		cpu_relax();
	return this_cpu()->timer_ticks - start;
}

KTEST(timer_periodic)
{
	uint64_t t0, t1, ticks, hz;

	KT_ASSERT(tsc_hz() > 0);
	KT_ASSERT(lapic_timer_freq() > 0);
	t0 = rdtsc();
	ticks = wait_ticks(10, 5000000000ULL);
	t1 = rdtsc();
	KT_ASSERT_EQ(ticks, 10);
	/* Tick rate measured with the TSC: the two clocks must agree within 2x. */
	hz = ticks * tsc_hz() / (t1 - t0);
	KT_ASSERT(hz >= CONFIG_TIMER_HZ / 2 && hz <= CONFIG_TIMER_HZ * 2);
}

/* One-shot host timers: each fires once, in deadline order, never before its deadline. */
static volatile uint64_t fired_at[3];
static volatile unsigned fired_order[3], n_fired;
static struct ktimer test_timers[3];

static void test_timer_fire(struct ktimer *t)
{
	unsigned i = (unsigned)(t - test_timers);

	fired_at[i] = rdtsc();
	fired_order[n_fired++] = i;
}

KTEST(timer_oneshot)
{
	uint64_t now = rdtsc(), ms = tsc_hz() / 1000, deadline[3];
	unsigned long flags;

	n_fired = 0;
	/* Armed out of order: 3 ms, 1 ms, 2 ms; a fourth arming of #0 moves it to 3 ms. */
	deadline[0] = now + 3 * ms;
	deadline[1] = now + 1 * ms;
	deadline[2] = now + 2 * ms;
	for (unsigned i = 0; i < 3; i++) {
		ktimer_init(&test_timers[i], test_timer_fire);
		ktimer_arm(&test_timers[i], i == 0 ? now + 50 * ms : deadline[i]);
	}
	ktimer_arm(&test_timers[0], deadline[0]);
	irq_enable();
	while (n_fired < 3 && rdtsc() - now < 2000 * ms)
		cpu_relax();
	KT_ASSERT_EQ(n_fired, 3);
	KT_ASSERT_EQ(fired_order[0], 1);
	KT_ASSERT_EQ(fired_order[1], 2);
	KT_ASSERT_EQ(fired_order[2], 0);
	for (unsigned i = 0; i < 3; i++) {
		KT_ASSERT(fired_at[i] >= deadline[i]);
		KT_ASSERT(!ktimer_pending(&test_timers[i]));
	}
	/* A cancelled timer never fires. */
	flags = irq_save();
	ktimer_arm(&test_timers[0], rdtsc() + ms);
	KT_ASSERT(ktimer_cancel(&test_timers[0]));
	KT_ASSERT(!ktimer_cancel(&test_timers[0]));
	irq_restore(flags);
	now = rdtsc();
	while (rdtsc() - now < 5 * ms)
		cpu_relax();
	KT_ASSERT_EQ(n_fired, 3);
}

static void record_cpu(void *arg)
{
	uint32_t *out = arg;

	out[this_cpu_id()] = lapic_id() + 1;
}

KTEST(ipi_every_cpu)
{
	static uint32_t seen[CONFIG_MAX_CPUS];

	memset(seen, 0, sizeof(seen));
	KT_ASSERT(smp_call_all(record_cpu, seen) == 0);
	for (unsigned i = 0; i < pcpu_count; i++) {
		if (!pcpu_array[i].online)
			continue;
		/* The call ran on that CPU itself: its own LAPIC answered. */
		KT_ASSERT_EQ(seen[i], pcpu_array[i].apic_id + 1);
		if (i)
			KT_ASSERT(pcpu_array[i].ipi_count > 0);
	}
	KT_ASSERT_EQ(pcpu_online_count(), pcpu_count);
}

KTEST(timer_every_cpu)
{
	uint64_t before[CONFIG_MAX_CPUS];

	for (unsigned i = 0; i < pcpu_count; i++)
		before[i] = pcpu_array[i].timer_ticks;
	wait_ticks(5, 5000000000ULL);
	for (unsigned i = 0; i < pcpu_count; i++)
		KT_ASSERT(pcpu_array[i].timer_ticks > before[i]);
}

static struct spinlock test_lock = SPINLOCK_INIT("ktest");
static volatile uint64_t shared_counter;

static void hammer_lock(void *arg)
{
	unsigned long n = (unsigned long)arg;

	for (unsigned long i = 0; i < n; i++) {
		spin_lock(&test_lock);
		/* Non-atomic read-modify-write: only the lock keeps it exact. */
		uint64_t v = shared_counter;

		cpu_relax();
		shared_counter = v + 1;
		spin_unlock(&test_lock);
	}
}

KTEST(spinlock_contention)
{
	const unsigned long iters = 20000;
	unsigned started = 0;

	shared_counter = 0;
	for (unsigned i = 1; i < pcpu_count; i++)
		if (!smp_call_async(i, hammer_lock, (void *)iters))
			started++;
	hammer_lock((void *)iters);
	for (unsigned i = 1; i < pcpu_count; i++)
		smp_call_wait(i);
	KT_ASSERT_EQ(shared_counter, (started + 1) * iters);
	KT_ASSERT(!spin_held_by_me(&test_lock));
	spin_lock(&test_lock);
	KT_ASSERT(spin_held_by_me(&test_lock));
	spin_unlock(&test_lock);
}

static void check_percpu(void *arg)
{
	uint32_t *bad = arg;
	struct pcpu *p = this_cpu();

	if (p != &pcpu_array[p->id] || p->self != p || p->apic_id != lapic_id() ||
	    rdmsr(MSR_IA32_GS_BASE) != (uint64_t)p)
		__atomic_fetch_add(bad, 1, __ATOMIC_RELAXED);
}

KTEST(percpu)
{
	uint32_t bad = 0;

	KT_ASSERT(smp_call_all(check_percpu, &bad) == 0);
	KT_ASSERT_EQ(bad, 0);
}

KTEST(exception_recovery)
{
	uint64_t v = 0, x = 0x1122334455667788ULL;

	/*
	 * #GP from a model-specific register that does not exist. QEMU's TCG
	 * returns 0 for unknown MSRs instead of faulting, so there the fixup
	 * path is covered by the #GP of a non-canonical address below.
	 */
	if (strcmp(platform_name(), "QEMU TCG"))
		KT_ASSERT(!rdmsr_safe(0xdeadbeef, &v));
	KT_ASSERT(rdmsr_safe(MSR_IA32_APIC_BASE, &v));
	KT_ASSERT(v & APIC_BASE_EN);
	/* #PF: page 0 is unmapped so NULL dereferences trap. */
	KT_ASSERT_EQ(probe_read_u64((void *)0, &v), -EFAULT);
	KT_ASSERT_EQ(probe_read_u64((void *)0x1000, &v), -EFAULT);
	/* #GP: non-canonical address. */
	KT_ASSERT_EQ(probe_read_u64((void *)0x8000000000000000ULL, &v), -EFAULT);
	KT_ASSERT_EQ(probe_read_u64(&x, &v), 0);
	KT_ASSERT_EQ(v, x);
}

extern const char __text_start[];
static const uint64_t read_only_word = 0x5afe5afe5afe5afeULL;

KTEST(memory_protection)
{
	uint64_t v;
	char *top = paging_alloc_stack(KSTACK_SIZE);
	const char *text_alias = phys_to_virt(virt_to_phys(__text_start));
	const uint64_t *rodata = &read_only_word;

	/* Stacks: usable to the bottom, and the page below is a guard. */
	KT_ASSERT(top != NULL);
	KT_ASSERT_EQ(probe_write_u64(top - 8, 1), 0);
	KT_ASSERT_EQ(probe_write_u64(top - KSTACK_SIZE, 2), 0);
	KT_ASSERT_EQ(probe_read_u64(top - KSTACK_SIZE - 8, &v), -EFAULT);
	/* Kernel text and read-only data cannot be written, not even through the direct map. */
	KT_ASSERT_EQ(probe_read_u64(__text_start, &v), 0);
	KT_ASSERT_EQ(probe_write_u64((void *)__text_start, v), -EFAULT);
	KT_ASSERT_EQ(probe_read_u64(text_alias, &v), 0);
	KT_ASSERT_EQ(probe_write_u64((void *)text_alias, v), -EFAULT);
	KT_ASSERT_EQ(probe_read_u64(rodata, &v), 0);
	KT_ASSERT_EQ(v, read_only_word);
	KT_ASSERT_EQ(probe_write_u64((void *)rodata, v), -EFAULT);
	KT_ASSERT_EQ(probe_write_u64(phys_to_virt(virt_to_phys(rodata)), v), -EFAULT);
}

/*
 * crashtest=<how> on the command line: deliberately crash after boot so a
 * system test can check what a person would see (the report, the backtrace,
 * every CPU stopped). Not a ktest: it never returns.
 */
static void crash_fault(void *arg)
{
	(void)arg;
	*(volatile uint64_t *)0xdead0000ULL = 1;
}

static void crash_panic(void *arg)
{
	panic("crash test requested (%s)", (const char *)arg);
}

int ktest_crash(const char *how)
{
	unsigned target = pcpu_count > 1 ? 1 : 0;
	void (*fn)(void *);

	if (!strcmp(how, "fault"))
		fn = crash_fault;
	else if (!strcmp(how, "panic"))
		fn = crash_panic;
	else
		return -EINVAL;
	if (target)
		return smp_call_async(target, fn, (void *)how) ? -ENODEV :
		       (smp_call_wait(target), -ETIMEDOUT);
	fn((void *)how);
	return -ETIMEDOUT;
}
