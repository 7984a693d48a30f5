/*
 * Application-processor start-up and cross-CPU function calls.
 *
 * Start-up follows the MP/SDM sequence (SDM 3A 8.4.4.1): INIT IPI, 10 ms,
 * STARTUP IPI, 200 us, STARTUP IPI, then wait up to
 * CONFIG_AP_START_TIMEOUT_MS for the AP to mark itself online. APs start
 * one at a time because they share the trampoline page's parameter block.
 * A CPU that does not come up is reported by APIC ID and left out.
 *
 * Cross-CPU calls: each CPU has one call slot (fn, arg, done) guarded by
 * call_lock of the *target*; the caller fills the slot, sends VEC_CALL_FUNC
 * and spins on `done` with interrupts enabled, so two CPUs calling each
 * other at once cannot deadlock.
 */
#define pr_fmt(fmt) "smp: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/acpi.h>
#include <vmkernel/apic.h>
#include <vmkernel/config.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/layout.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/smp.h>
#include <vmkernel/smp_trampoline.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>
#include <vmkernel/trap.h>

#define AP_CR3		0xf18
#define AP_STACK	0xf20
#define AP_ENTRY	0xf28
#define AP_PCPU		0xf30
#define AP_EFER		0xf38
#define AP_GDT		0xf40

extern const char ap_trampoline_start[], ap_trampoline_end[];
extern const char ap_trampoline_pm32[], ap_trampoline_lm64[];

struct call_slot {
	struct spinlock lock;		/* held by the caller from request to completion */
	void (*volatile fn)(void *);
	void *volatile arg;
	volatile uint64_t seq;		/* request number, written by the caller */
	volatile uint64_t done_seq;	/* last request completed, written by the target */
};

static struct call_slot call_slots[CONFIG_MAX_CPUS];

static int alloc_cpu_stacks(struct pcpu *p)
{
	p->kstack_top = paging_alloc_stack(KSTACK_SIZE);
	for (int i = 1; i <= IST_COUNT; i++)
		p->ist_top[i] = paging_alloc_stack(IST_STACK_SIZE);
	if (!p->kstack_top || !p->ist_top[IST_NMI] || !p->ist_top[IST_DF] || !p->ist_top[IST_MC])
		return -ENOMEM;
	return 0;
}

static void call_ipi(struct trap_frame *tf)
{
	struct call_slot *s = &call_slots[this_cpu_id()];
	void (*fn)(void *) = __atomic_load_n(&s->fn, __ATOMIC_ACQUIRE);
	uint64_t seq = s->seq;

	(void)tf;
	if (fn) {
		s->fn = NULL;
		fn(s->arg);
		this_cpu()->ipi_count++;
		__atomic_store_n(&s->done_seq, seq, __ATOMIC_RELEASE);
	}
}

/* A wake-up: the halted CPU runs its idle loop again, and sends the worlds asked of it. */
static void wake_ipi(struct trap_frame *tf)
{
	(void)tf;
	sched_ipi();
}

/* This CPU's APIC ID from CPUID, readable before its LAPIC mode is set. */
static uint32_t cpuid_apic_id(void)
{
	if (cpuid(0, 0).eax >= 0xb && cpuid(0xb, 0).ebx)
		return cpuid(0xb, 0).edx;
	return cpuid(1, 0).ebx >> 24;
}

void ap_entry(struct pcpu *p);
void ap_entry(struct pcpu *p)
{
	trap_load_idt();
	if (cpuid_apic_id() != p->apic_id) {
		/* Not the CPU these parameters were written for (a late starter): stay out. */
		for (;;)
			cpu_halt();
	}
	pcpu_init_self(p);
	lapic_init_cpu();
	timer_start_cpu();
	__atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
	smp_idle();
}

static void trampoline_setup(uint8_t *page, uint64_t base)
{
	uint64_t *gdt = (uint64_t *)(page + AP_GDT);

	memcpy(page, ap_trampoline_start, ap_trampoline_end - ap_trampoline_start);
	gdt[0] = 0;
	gdt[1] = 0x00cf9a000000ffffULL;	/* 0x08: 32-bit code */
	gdt[2] = 0x00cf92000000ffffULL;	/* 0x10: data */
	gdt[3] = 0x00af9a000000ffffULL;	/* 0x18: 64-bit code */
	*(uint16_t *)(page + AP_GDT_PTR) = 4 * 8 - 1;
	*(uint32_t *)(page + AP_GDT_PTR + 2) = base + AP_GDT;
	*(uint32_t *)(page + AP_FAR32) = base + (uint64_t)ap_trampoline_pm32;
	*(uint16_t *)(page + AP_FAR32 + 4) = AP_GDT_CODE32;
	*(uint32_t *)(page + AP_FAR64) = base + (uint64_t)ap_trampoline_lm64;
	*(uint16_t *)(page + AP_FAR64 + 4) = AP_GDT_CODE64;
	*(uint64_t *)(page + AP_CR3) = paging_kernel_cr3();
	*(uint64_t *)(page + AP_EFER) = rdmsr(MSR_IA32_EFER) & (EFER_LME | EFER_NXE);
	*(uint64_t *)(page + AP_ENTRY) = (uint64_t)ap_entry;
}

static bool start_one(uint8_t *page, uint64_t base, struct pcpu *p)
{
	uint64_t deadline;

	*(uint64_t *)(page + AP_STACK) = (uint64_t)p->kstack_top;
	*(uint64_t *)(page + AP_PCPU) = (uint64_t)p;
	barrier();
	lapic_write(LAPIC_ESR, 0);
	lapic_send_ipi(p->apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	lapic_wait_icr_idle();
	mdelay(10);
	for (int i = 0; i < 2; i++) {
		lapic_send_ipi(p->apic_id, ICR_STARTUP | (uint32_t)(base >> 12));
		lapic_wait_icr_idle();
		udelay(200);
		if (__atomic_load_n(&p->online, __ATOMIC_ACQUIRE))
			return true;
	}
	deadline = time_ns() + CONFIG_AP_START_TIMEOUT_MS * 1000000ULL;
	while (time_ns() < deadline) {
		if (__atomic_load_n(&p->online, __ATOMIC_ACQUIRE))
			return true;
		cpu_relax();
	}
	/* Park it in wait-for-SIPI so it cannot run on the next AP's parameters. */
	lapic_send_ipi(p->apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
	lapic_wait_icr_idle();
	return false;
}

static int register_cpus(const struct acpi_info *ai, uint32_t bsp_apic, unsigned max)
{
	unsigned n = 1;

	pcpu_array[0].apic_id = bsp_apic;
	for (uint32_t i = 0; i < ai->cpu_count; i++) {
		const struct acpi_cpu *c = &ai->cpus[i];

		if (!c->enabled || c->apic_id == bsp_apic)
			continue;
		if (n == max) {
			pr_info("maxcpus=%u: APIC ID %u and later CPUs are not started\n", max,
				c->apic_id);
			break;
		}
		if (n == CONFIG_MAX_CPUS) {
			pr_warn("more than %d CPUs: APIC ID %u and later are not used\n",
				CONFIG_MAX_CPUS, c->apic_id);
			break;
		}
		if (c->apic_id > 0xfe && !lapic_is_x2apic()) {
			pr_warn("CPU with APIC ID %u needs x2APIC mode: not started\n", c->apic_id);
			continue;
		}
		pcpu_array[n].id = n;
		pcpu_array[n].apic_id = c->apic_id;
		n++;
	}
	pcpu_count = n;
	return 0;
}

unsigned smp_start_aps(const struct acpi_info *ai, unsigned max_cpus)
{
	uint64_t base = kmem_low_page();
	uint8_t *page;

	for (unsigned i = 0; i < CONFIG_MAX_CPUS; i++)
		spin_init(&call_slots[i].lock, "smp_call");
	irq_register(VEC_CALL_FUNC, call_ipi);
	irq_register(VEC_WAKE, wake_ipi);
	register_cpus(ai, lapic_id(), max_cpus ? max_cpus : CONFIG_MAX_CPUS);
	if (pcpu_count == 1)
		return 1;
	if (!base) {
		pr_err("no free page below 1 MiB for the AP trampoline: running on 1 CPU\n");
		pcpu_count = 1;
		return 1;
	}
	if (paging_map_identity_page(base)) {
		pr_err("cannot map the AP trampoline: running on 1 CPU\n");
		pcpu_count = 1;
		return 1;
	}
	page = phys_to_virt(base);
	trampoline_setup(page, base);
	for (unsigned i = 1; i < pcpu_count; i++) {
		struct pcpu *p = &pcpu_array[i];

		if (alloc_cpu_stacks(p)) {
			pr_err("CPU %u (APIC ID %u): no memory for its stacks\n", i, p->apic_id);
			continue;
		}
		if (!start_one(page, base, p))
			pr_err("CPU %u (APIC ID %u) did not start within %d ms (ESR %#x); "
			       "left parked\n", i, p->apic_id, CONFIG_AP_START_TIMEOUT_MS,
			       lapic_read(LAPIC_ESR));
	}
	return pcpu_online_count();
}

int smp_call_async(unsigned cpu, void (*fn)(void *), void *arg)
{
	struct call_slot *s;

	if (cpu >= pcpu_count || !pcpu_array[cpu].online || cpu == this_cpu_id())
		return -ENODEV;
	/* The target's IPI handler may call us back: waiting with IF=0 could deadlock. */
	ASSERT(irq_enabled());
	s = &call_slots[cpu];
	spin_lock(&s->lock);
	s->arg = arg;
	s->seq++;
	__atomic_store_n(&s->fn, fn, __ATOMIC_RELEASE);
	lapic_send_ipi(pcpu_array[cpu].apic_id, ICR_FIXED | VEC_CALL_FUNC);
	return 0;
}

int smp_call_wait(unsigned cpu)
{
	struct call_slot *s = &call_slots[cpu];
	uint64_t deadline = time_ns() + 5000000000ULL;

	ASSERT(spin_held_by_me(&s->lock));
	while (__atomic_load_n(&s->done_seq, __ATOMIC_ACQUIRE) != s->seq) {
		if (time_ns() > deadline) {
			/*
			 * It may still run the call later, with an argument that is gone
			 * by then: never use this CPU again.
			 */
			__atomic_store_n(&pcpu_array[cpu].online, false, __ATOMIC_RELEASE);
			spin_unlock(&s->lock);
			pr_err("CPU %u did not answer a call IPI in 5 s; taken out of service\n",
			       cpu);
			return -ETIMEDOUT;
		}
		cpu_relax();
	}
	spin_unlock(&s->lock);
	return 0;
}

int smp_call(unsigned cpu, void (*fn)(void *), void *arg)
{
	unsigned long flags;
	int err;

	if (cpu < pcpu_count && cpu == this_cpu_id()) {
		flags = irq_save();
		fn(arg);
		irq_restore(flags);
		return 0;
	}
	err = smp_call_async(cpu, fn, arg);
	return err ? err : smp_call_wait(cpu);
}

int smp_call_all(void (*fn)(void *), void *arg)
{
	int err = 0;

	for (unsigned i = 0; i < pcpu_count; i++) {
		if (pcpu_array[i].online) {
			int e = smp_call(i, fn, arg);

			if (e)
				err = e;
		}
	}
	return err;
}

void smp_wake(unsigned cpu)
{
	if (cpu < pcpu_count && pcpu_array[cpu].online)
		lapic_send_ipi(pcpu_array[cpu].apic_id, ICR_FIXED | VEC_WAKE);
}

void smp_idle(void)
{
	sched_run();
}
