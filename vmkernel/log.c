/*
 * The vmkernel log: levelled lines, stamped with the time since boot, out
 * to every console, without anyone waiting for a slow console device.
 *
 * Until the console world starts (early boot), a line is written to the
 * consoles at once. From then on:
 *
 *  - each CPU puts its lines into its own ring (vmkernel/lib/logring.c),
 *    with interrupts off, so it is the ring's only producer (an NMI that
 *    logs while its CPU is mid-line finds the ring busy and the line is
 *    counted as dropped);
 *  - other sources (a VM's console) put theirs into rings of their own,
 *    each with its own producer lock (log_source_*);
 *  - every line takes a number from one global counter when it is queued,
 *    and the console world, the only consumer, prints the oldest line of
 *    all rings first, so the log keeps the order in which lines were made;
 *  - the console world feeds each console as fast as it takes bytes, with
 *    interrupts on, yielding the CPU whenever another world is waiting;
 *  - a full ring refuses a line instead of waiting, and the count of
 *    refused lines is printed;
 *  - guests' output shares one budget (log_guest_budget) on top of each
 *    VM's own rate, so guests together cannot take the console from the
 *    host's own lines.
 *
 * log_flush() writes out everything queued (before the machine stops);
 * a panic writes whatever is queued and then its report synchronously,
 * through the broken console lock.
 *
 * Locking: sources_lock protects the source list and serialises the
 * consumers' picking of a record; drain_owner says who may write queued
 * lines to the consoles (the console world, or log_flush()); the rings
 * themselves need no lock between their producer and consumer.
 */
#include <stdio.h>
#include <vmkernel/config.h>
#include <vmkernel/console.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/linebuf.h>
#include <vmkernel/log.h>
#include <vmkernel/logring.h>
#include <vmkernel/percpu.h>
#include <vmkernel/sched.h>
#include <vmkernel/spinlock.h>
#include <vmkernel/timer.h>

#define CPU_RING_BYTES		(64 * 1024)	/* a burst of VM ends: a dozen VMs, 5 lines each */
#define DRAIN_IDLE_US		10000
#define FLUSH_WAIT_S		10
/* All guests together: about half of a 115200-baud UART, in bursts of 16 KiB. */
#define GUEST_BYTES_PER_S	6144
#define GUEST_BURST_BYTES	16384

static int log_level = CONFIG_LOG_DEFAULT;

static const char *const level_tag[] = {
	[LOG_EMERG] = "PANIC: ", [LOG_ERR] = "error: ", [LOG_WARN] = "warning: ",
	[LOG_INFO] = "", [LOG_DEBUG] = "",
};

struct cpu_log {
	struct logring ring;
	bool busy;		/* this CPU is putting a line in (NMI re-entry guard) */
	uint64_t reported;	/* dropped lines already reported (console world) */
	char buf[CPU_RING_BYTES];
};

struct log_source {
	struct logring ring;
	struct log_source *next;	/* sources_lock */
	char buf[];
};

static struct cpu_log *cpu_logs[CONFIG_MAX_CPUS];	/* fixed once async is set */
static unsigned n_cpu_logs;
static struct log_source *sources;			/* sources_lock */
static struct spinlock sources_lock = SPINLOCK_INIT("log sources");
static bool async;			/* the console world runs: lines are queued */
static uint64_t seq_next;		/* atomic: the next line's number */
static int drain_owner;			/* atomic: 0 free, 1 taken */
static uint64_t guest_tat;		/* atomic: guest budget, TSC of its next free byte */

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

void log_line_prefix(struct linebuf *lb, int level)
{
	uint64_t ns = time_ns();

	lb_printf(lb, "[%5llu.%06llu] %s", (unsigned long long)(ns / 1000000000),
		  (unsigned long long)(ns / 1000 % 1000000),
		  level >= 0 && level <= LOG_DEBUG ? level_tag[level] : "");
}

static bool queueing(void)
{
	return __atomic_load_n(&async, __ATOMIC_ACQUIRE) && !console_lock_broken();
}

/* Queue a line on this CPU's ring; false if it must be written at once instead. */
static bool put_cpu_line(const char *line, size_t n)
{
	unsigned long flags = irq_save();
	unsigned cpu = this_cpu() ? this_cpu_id() : 0;
	struct cpu_log *cl = cpu < n_cpu_logs ? cpu_logs[cpu] : NULL;

	if (!cl) {
		irq_restore(flags);
		return false;
	}
	if (cl->busy) {
		cl->ring.dropped++;	/* an NMI inside a put: counted, not queued */
	} else {
		cl->busy = true;
		logring_put(&cl->ring, __atomic_fetch_add(&seq_next, 1, __ATOMIC_RELAXED), line,
			    (uint32_t)n);
		cl->busy = false;
	}
	irq_restore(flags);
	return true;
}

/* The oldest queued line of all rings: copied into out, its length (0: none). */
static uint32_t take_oldest(char *out, uint32_t max)
{
	unsigned long flags = spin_lock_irqsave(&sources_lock);
	struct logring *best = NULL;
	uint64_t best_seq = 0, seq;
	uint32_t n = 0;

	for (unsigned i = 0; i < n_cpu_logs; i++) {
		if (cpu_logs[i] && logring_peek(&cpu_logs[i]->ring, &seq) &&
		    (!best || seq < best_seq)) {
			best = &cpu_logs[i]->ring;
			best_seq = seq;
		}
	}
	for (struct log_source *s = sources; s; s = s->next) {
		if (logring_peek(&s->ring, &seq) && (!best || seq < best_seq)) {
			best = &s->ring;
			best_seq = seq;
		}
	}
	if (best)
		n = logring_get(best, out, max);
	spin_unlock_irqrestore(&sources_lock, flags);
	return n;
}

/* Lines a full CPU ring refused, as one line of their own. */
static uint32_t drop_report(char *out, size_t max)
{
	for (unsigned i = 0; i < n_cpu_logs; i++) {
		struct cpu_log *cl = cpu_logs[i];
		uint64_t d = cl ? __atomic_load_n(&cl->ring.dropped, __ATOMIC_RELAXED) : 0;

		if (cl && d != cl->reported) {
			struct linebuf lb;

			lb_init(&lb, out, max);
			log_line_prefix(&lb, LOG_WARN);
			lb_printf(&lb, "log: %llu lines of CPU %u dropped: its log ring was full\n",
				  (unsigned long long)(d - cl->reported), i);
			cl->reported = d;
			return (uint32_t)lb_len(&lb);
		}
	}
	return 0;
}

/* Write every queued line synchronously (the caller owns the consoles, or a panic does). */
static void drain_sync(void)
{
	char line[LOGRING_MAX_LINE];
	uint32_t n;

	while ((n = drop_report(line, sizeof(line))) || (n = take_oldest(line, sizeof(line))))
		console_write(line, n);
}

void log_vprintf(int level, const char *fmt, va_list ap)
{
	char line[512];
	struct linebuf lb = LINEBUF_INIT(line);

	if (level > log_level)
		return;
	log_line_prefix(&lb, level);
	lb_vprintf(&lb, fmt, ap);
	if (lb_truncated(&lb))
		lb_newline(&lb);
	if (queueing() && put_cpu_line(lb_str(&lb), lb_len(&lb)))
		return;
	if (__atomic_load_n(&async, __ATOMIC_ACQUIRE))
		drain_sync();	/* a panic: what was queued first comes first */
	console_write(lb_str(&lb), lb_len(&lb));
}

void log_printf(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprintf(level, fmt, ap);
	va_end(ap);
}

/* ---- other sources ---- */

struct log_source *log_source_create(uint32_t ring_bytes)
{
	struct log_source *s = kzalloc(sizeof(*s) + ring_bytes);
	unsigned long flags;

	if (!s || logring_init(&s->ring, s->buf, ring_bytes)) {
		kfree(s);
		return NULL;
	}
	flags = spin_lock_irqsave(&sources_lock);
	s->next = sources;
	sources = s;
	spin_unlock_irqrestore(&sources_lock, flags);
	return s;
}

void log_source_destroy(struct log_source *s)
{
	unsigned long flags;

	if (!s)
		return;
	flags = spin_lock_irqsave(&sources_lock);
	for (struct log_source **p = &sources; *p; p = &(*p)->next) {
		if (*p == s) {
			*p = s->next;
			break;
		}
	}
	spin_unlock_irqrestore(&sources_lock, flags);
	kfree(s);
}

bool log_source_put(struct log_source *s, const char *line, size_t len)
{
	if (!queueing()) {
		console_write(line, len);
		return true;
	}
	return logring_put(&s->ring, __atomic_fetch_add(&seq_next, 1, __ATOMIC_RELAXED), line,
			   (uint32_t)len);
}

/*
 * The guests' shared budget, a generic cell rate: each byte moves the
 * budget's "next free" time on by 1/GUEST_BYTES_PER_S s, and a line is
 * refused when that would run more than GUEST_BURST_BYTES ahead of now.
 */
bool log_guest_budget(size_t bytes)
{
	uint64_t per_byte = tsc_hz() / GUEST_BYTES_PER_S, burst = per_byte * GUEST_BURST_BYTES;
	uint64_t now = rdtsc(), old = __atomic_load_n(&guest_tat, __ATOMIC_RELAXED), next;

	do {
		next = (old > now ? old : now) + bytes * per_byte;
		if (next - now > burst)
			return false;
	} while (!__atomic_compare_exchange_n(&guest_tat, &old, next, false, __ATOMIC_RELAXED,
					      __ATOMIC_RELAXED));
	return true;
}

/* ---- the console world ---- */

static bool own_consoles(void)
{
	int free = 0;

	return __atomic_compare_exchange_n(&drain_owner, &free, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static void release_consoles(void)
{
	__atomic_store_n(&drain_owner, 0, __ATOMIC_RELEASE);
}

/* The console is busy: let a waiting world run, else spin a little. */
static void console_busy(void)
{
	if (sched_should_yield())
		sched_yield();
	else
		cpu_relax();
}

static void console_world(void *arg)
{
	char line[LOGRING_MAX_LINE];

	(void)arg;
	__atomic_store_n(&async, true, __ATOMIC_RELEASE);
	for (;;) {
		uint32_t n = 0;

		if (own_consoles()) {
			n = drop_report(line, sizeof(line));
			if (!n)
				n = take_oldest(line, sizeof(line));
			if (n)
				console_write_paced(line, n, console_busy);
			release_consoles();
		}
		if (!n)
			sched_block_until(rdtsc() + tsc_hz() / 1000000 * DRAIN_IDLE_US);
		else if (sched_should_yield())
			sched_yield();
	}
}

void log_flush(void)
{
	uint64_t deadline = rdtsc() + tsc_hz() * FLUSH_WAIT_S;

	if (!__atomic_load_n(&async, __ATOMIC_ACQUIRE)) {
		console_sync();
		return;
	}
	if (console_lock_broken() || !irq_enabled() || !world_current()) {
		drain_sync();	/* nobody may be waited for: a panic or a stop */
		console_sync();
		return;
	}
	while (!own_consoles()) {
		if (rdtsc() > deadline) {
			drain_sync();	/* the console world is stuck: write over it */
			console_sync();
			return;
		}
		sched_block_until(rdtsc() + tsc_hz() / 1000);
	}
	drain_sync();
	console_sync();
	release_consoles();
}

static int log_async_init(void)
{
	unsigned n = pcpu_count < CONFIG_MAX_CPUS ? pcpu_count : CONFIG_MAX_CPUS;

	for (unsigned i = 0; i < n; i++) {
		struct cpu_log *cl = kzalloc(sizeof(*cl));

		if (!cl || logring_init(&cl->ring, cl->buf, sizeof(cl->buf))) {
			kfree(cl);
			continue;	/* that CPU keeps writing at once */
		}
		cpu_logs[i] = cl;
	}
	n_cpu_logs = n;
	if (!world_create("console", console_world, NULL, 0, NULL, NULL))
		log_printf(LOG_ERR, "log: no console world: the log stays synchronous\n");
	return 0;
}
INIT_LEVEL(log_async_init, INIT_SUBSYS);
