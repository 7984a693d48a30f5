/*
 * panic() and backtraces. The first CPU to panic wins: it takes the console
 * without its lock, stops every other CPU with an NMI (their NMI handler
 * sees panic_cpu set and halts), prints the reason and a symbolised
 * backtrace, and halts; in test mode it also ends the emulator with a
 * failure status so the harness reports it at once.
 */
#include <stdio.h>
#include <string.h>
#include <vmkernel/apic.h>
#include <vmkernel/console.h>
#include <vmkernel/cpu.h>
#include <vmkernel/layout.h>
#include <vmkernel/log.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/platform.h>
#include <vmkernel/timer.h>
#include <vmkernel/trap.h>

struct ksym {
	uint64_t addr;
	const char *name;
};

extern const uint64_t __ksyms_start[];
extern const char __ksyms_end[], __text_start[], __text_end[];
extern bool smp_lapic_ready;

static volatile int panic_cpu = -1;
static void (*stop_hooks[4])(void);	/* written at boot only */
static unsigned n_stop_hooks;
static volatile unsigned int panic_stopped;	/* CPUs halted by the panic NMI */

bool panic_in_progress(void)
{
	return panic_cpu >= 0;
}

static void halt_forever(void)
{
	for (;;) {
		irq_disable();
		cpu_halt();
	}
}

void panic_register_stop_hook(void (*fn)(void))
{
	if (n_stop_hooks < sizeof(stop_hooks) / sizeof(stop_hooks[0]))
		stop_hooks[n_stop_hooks++] = fn;
}

static void run_stop_hooks(void)
{
	for (unsigned i = 0; i < n_stop_hooks; i++)
		stop_hooks[i]();
}

void panic_stop_if_requested(void)
{
	if (panic_cpu >= 0 && panic_cpu != (int)this_cpu_id()) {
		run_stop_hooks();
		__atomic_fetch_add(&panic_stopped, 1, __ATOMIC_SEQ_CST);
		halt_forever();
	}
}

/* Symbol table emitted by tools/gensyms.sh: a count, then (addr, name) pairs sorted by addr. */
static const char *ksym_lookup(uint64_t addr, uint64_t *off)
{
	uint64_t n;
	const struct ksym *tab;
	const char *best = NULL;

	if ((const char *)__ksyms_start >= __ksyms_end)
		return NULL;
	n = __ksyms_start[0];
	tab = (const struct ksym *)&__ksyms_start[1];
	for (uint64_t i = 0; i < n && tab[i].addr <= addr; i++) {
		best = tab[i].name;
		*off = addr - tab[i].addr;
	}
	return best;
}

static void print_frame(int depth, uint64_t rip)
{
	uint64_t off = 0;
	const char *name = ksym_lookup(rip, &off);

	if (name)
		log_printf(LOG_EMERG, "  #%d %016llx %s+0x%llx\n", depth,
			   (unsigned long long)rip, name, (unsigned long long)off);
	else
		log_printf(LOG_EMERG, "  #%d %016llx\n", depth, (unsigned long long)rip);
}

/* Frames must lie on the stack we started on: above rbp, within one stack's size. */
#define BACKTRACE_SPAN (64 * 1024)

void backtrace_print(unsigned long rbp, unsigned long rip)
{
	unsigned long lo = rbp;
	uint64_t next, ret;

	log_printf(LOG_EMERG, "backtrace:\n");
	print_frame(0, rip);
	for (int depth = 1; depth < 20 && rbp; depth++) {
		if ((rbp & 7) || rbp < DIRECT_MAP_BASE || rbp - lo > BACKTRACE_SPAN ||
		    probe_read_u64((void *)rbp, &next) ||
		    probe_read_u64((void *)(rbp + 8), &ret))
			break;
		if (ret < (uint64_t)__text_start || ret >= (uint64_t)__text_end)
			break;
		print_frame(depth, ret);
		if (next <= rbp)
			break;
		rbp = next;
	}
}

/*
 * Take the panic: the first CPU to get here owns it; any other CPU halts.
 * The owner may come back (an exception report followed by panic()), but a
 * third entry means the panic path itself faulted: give up quietly.
 */
void panic_begin(void)
{
	static int depth;	/* only the owner touches it */
	int me, expected = -1;

	irq_disable();
	me = this_cpu() ? (int)this_cpu_id() : 0;
	if (!__atomic_compare_exchange_n(&panic_cpu, &expected, me, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST) && expected != me)
		halt_forever();
	if (++depth > 2) {
		console_write("PANIC: fault inside the panic path\n", 35);
		halt_forever();
	}
	if (depth > 1)
		return;
	console_break_lock();
	if (smp_lapic_ready)
		lapic_send_ipi_all_but_self(ICR_NMI);
}

static void __attribute__((noreturn)) panic_common(bool trace, const char *fmt, va_list ap)
{
	uint64_t *fp = __builtin_frame_address(0);
	char msg[256];

	panic_begin();
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_printf(LOG_EMERG, "on CPU %d: %s\n", panic_cpu, msg);
	if (smp_lapic_ready) {
		unsigned others = pcpu_online_count() - 1;

		for (int i = 0; i < 1000 && panic_stopped < others; i++)
			udelay(100);
		log_printf(LOG_EMERG, "stopped %u of %u other CPUs\n", panic_stopped, others);
	}
	/* panic_common <- panic* <- caller: start at the caller of panic*. */
	if (trace)
		backtrace_print(((uint64_t *)fp[0])[0], ((uint64_t *)fp[0])[1]);
	run_stop_hooks();
	log_printf(LOG_EMERG, "system halted\n");
	if (platform_test_mode)
		platform_exit(PLATFORM_EXIT_FAIL);
	halt_forever();
	__builtin_unreachable();
}

void panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panic_common(true, fmt, ap);
}

void panic_no_backtrace(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	panic_common(false, fmt, ap);
}
