/*
 * TLB-shootdown quarantine (see <vmm/quarantine.h> for the rules).
 *
 * Each VMX CPU counts its full flushes (vmm_cpu.full_flushes). An entry
 * records, for every CPU it waits for, that count at the time the pages
 * were retired; the CPU has flushed since once its count moved on. A
 * retired entry also sets the CPU's flush_owed flag, which its next VM
 * entry honours (tlb_flush_if_owed, from the entry path), so a CPU that
 * was busy or slow catches up on its own; the quarantine world asks
 * online CPUs again with a cross-CPU call every QUARANTINE_POLL_MS.
 *
 * Locking: q_lock protects the list; entries leave it only in
 * tlb_quarantine_poll(), which one caller at a time runs (polling); the
 * cross-CPU calls are made without the lock.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <stdio.h>
#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/smp.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmm/quarantine.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include "../vmx/vmx_priv.h"

#define QUARANTINE_POLL_MS 100

struct q_entry {
	struct q_entry *next;		/* q_lock */
	void (*release)(void *arg);
	void *arg;
	char what[48];
	uint64_t owed;			/* CPUs that have not flushed since (poller only) */
	uint64_t since;			/* TSC when retired */
	uint64_t snap[CONFIG_MAX_CPUS];	/* their full_flushes count then */
};

static struct spinlock q_lock = SPINLOCK_INIT("tlb quarantine");
static struct q_entry *q_head;		/* q_lock */
static unsigned q_count;		/* q_lock */
static int polling;			/* atomic: a poll is running */
static int deaf_cpu = -1;		/* tests: this CPU neither answers nor flushes */

static struct vmm_cpu *vmm_of(unsigned cpu)
{
	return cpu < pcpu_count ? pcpu_array[cpu].vmm : NULL;
}

void tlb_test_deaf(int cpu)
{
	__atomic_store_n(&deaf_cpu, cpu, __ATOMIC_SEQ_CST);
}

bool tlb_cpu_deaf(unsigned cpu)
{
	return __atomic_load_n(&deaf_cpu, __ATOMIC_SEQ_CST) == (int)cpu;
}

void tlb_flush_local_all(void)
{
	struct vmm_cpu *vc = this_cpu()->vmm;
	const struct vmx_caps *caps = vmx_host_caps();

	if (!vc || tlb_cpu_deaf(this_cpu_id()))
		return;
	if (vc->vmx_on) {
		invept(INVEPT_ALL_CONTEXT, 0);
		if (caps->vpid)
			invvpid(INVVPID_ALL_CONTEXT, 0, 0);
	}
	__atomic_store_n(&vc->flush_owed, false, __ATOMIC_RELEASE);
	__atomic_fetch_add(&vc->full_flushes, 1, __ATOMIC_ACQ_REL);
}

void tlb_flush_if_owed(void)
{
	struct vmm_cpu *vc = this_cpu()->vmm;

	if (vc && __atomic_load_n(&vc->flush_owed, __ATOMIC_ACQUIRE))
		tlb_flush_local_all();
}

static void flush_call(void *arg)
{
	(void)arg;
	tlb_flush_local_all();
}

int tlb_quarantine(uint64_t owed, void (*release)(void *arg), void *arg, const char *what)
{
	struct q_entry *e = kzalloc(sizeof(*e));
	unsigned long flags;

	if (!e) {
		pr_err("%s: no memory to quarantine its pages: they are never reused\n", what);
		return -ENOMEM;
	}
	e->release = release;
	e->arg = arg;
	snprintf(e->what, sizeof(e->what), "%s", what);
	e->since = rdtsc();
	for (unsigned c = 0; c < CONFIG_MAX_CPUS && c < pcpu_count; c++) {
		struct vmm_cpu *vc = vmm_of(c);

		if (!(owed & (1ULL << c)) || !vc)
			continue;
		e->owed |= 1ULL << c;
		e->snap[c] = __atomic_load_n(&vc->full_flushes, __ATOMIC_ACQUIRE);
		__atomic_store_n(&vc->flush_owed, true, __ATOMIC_RELEASE);
	}
	pr_err("%s: CPU(s) %#llx did not flush its translations; its pages are quarantined "
	       "until they do\n", what, (unsigned long long)e->owed);
	flags = spin_lock_irqsave(&q_lock);
	e->next = q_head;
	q_head = e;
	q_count++;
	spin_unlock_irqrestore(&q_lock, flags);
	return 0;
}

/* Which owed CPUs have flushed by now; online ones that have not are asked again. */
static void recheck(struct q_entry *e)
{
	for (unsigned c = 0; c < CONFIG_MAX_CPUS && c < pcpu_count; c++) {
		struct vmm_cpu *vc = vmm_of(c);

		if (!(e->owed & (1ULL << c)))
			continue;
		if (vc && __atomic_load_n(&vc->full_flushes, __ATOMIC_ACQUIRE) == e->snap[c] &&
		    pcpu_array[c].online && !tlb_cpu_deaf(c))
			smp_call(c, flush_call, NULL);
		if (!vc || __atomic_load_n(&vc->full_flushes, __ATOMIC_ACQUIRE) != e->snap[c])
			e->owed &= ~(1ULL << c);
	}
}

/* Unlink e (the poller is the only one that removes). */
static void unlink_entry(struct q_entry *e)
{
	unsigned long flags = spin_lock_irqsave(&q_lock);

	for (struct q_entry **p = &q_head; *p; p = &(*p)->next) {
		if (*p == e) {
			*p = e->next;
			q_count--;
			break;
		}
	}
	spin_unlock_irqrestore(&q_lock, flags);
}

void tlb_quarantine_poll(void)
{
	int idle = 0;
	struct q_entry *e, *next;
	unsigned long flags;

	if (!__atomic_compare_exchange_n(&polling, &idle, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	flags = spin_lock_irqsave(&q_lock);
	e = q_head;
	spin_unlock_irqrestore(&q_lock, flags);
	/* New entries go in at the head: the ones seen here stay valid (only we remove). */
	for (; e; e = next) {
		next = e->next;
		recheck(e);
		if (!e->owed) {
			unlink_entry(e);
			pr_info("%s: every CPU has flushed; its quarantined pages are released\n",
				e->what);
			e->release(e->arg);
			kfree(e);
		} else if (rdtsc() - e->since > tsc_hz() * QUARANTINE_PANIC_S) {
			panic("%s: CPU(s) %#llx have not flushed its translations for %u s: the "
			      "host cannot reuse its pages safely", e->what,
			      (unsigned long long)e->owed, QUARANTINE_PANIC_S);
		}
	}
	__atomic_store_n(&polling, 0, __ATOMIC_RELEASE);
}

unsigned tlb_quarantined(void)
{
	return __atomic_load_n(&q_count, __ATOMIC_ACQUIRE);
}

static void quarantine_world(void *arg)
{
	(void)arg;
	for (;;) {
		sched_block_until(rdtsc() + tsc_hz() / 1000 * QUARANTINE_POLL_MS);
		if (tlb_quarantined())
			tlb_quarantine_poll();
	}
}

static int quarantine_init(void)
{
	if (!world_create("tlb quarantine", quarantine_world, NULL, 0, NULL, NULL))
		pr_err("no world for the TLB quarantine: quarantined pages are never released\n");
	return 0;
}
INIT_LEVEL(quarantine_init, INIT_LATE);
