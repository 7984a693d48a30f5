/*
 * IDT, exception reporting and interrupt dispatch.
 *
 * One IDT is shared by all CPUs (it is read-only after trap_init()). NMI,
 * double fault and machine check run on their own IST stacks so that a
 * corrupt or overflowed kernel stack still gets reported. A vmkernel
 * exception is fatal unless an exception-table entry names a fixup for
 * the faulting instruction; the report names the vector, error code, the
 * faulting address (CR2 for #PF), every register and a backtrace.
 */
#define pr_fmt(fmt) "trap: " fmt
#include <errno.h>
#include <stddef.h>
#include <vmkernel/cpu.h>
#include <vmkernel/layout.h>
#include <vmkernel/log.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/trap.h>
#include <vmkernel/apic.h>

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_entry) == 16, "IDT gate layout (SDM 3A 6.14.1)");

static struct idt_entry idt[256] __attribute__((aligned(16)));
static irq_handler_t irq_handlers[256];	/* written before the vector is used */
/* Handlers with an argument (device interrupts, vmkernel/irqvec.c); same rule. */
static struct {
	void (*fn)(void *arg);
	void *arg;
} irq_actions[256];

extern const char trap_stubs[];
extern const struct extable_entry __extable_start[], __extable_end[];

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD exception",
	"#VE virtualization exception", "#CP control protection",
};

static void idt_set(unsigned v, uint8_t ist)
{
	uint64_t off = (uint64_t)(trap_stubs + 16 * v);

	idt[v] = (struct idt_entry){
		.off_lo = off & 0xffff, .sel = GDT_KCODE, .ist = ist,
		.type_attr = 0x8e,	/* present, DPL 0, 64-bit interrupt gate */
		.off_mid = (off >> 16) & 0xffff, .off_hi = off >> 32,
	};
}

void trap_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		idt_set(v, 0);
	idt_set(X86_EXC_NMI, IST_NMI);
	idt_set(X86_EXC_DF, IST_DF);
	idt_set(X86_EXC_MC, IST_MC);
	trap_load_idt();
}

void trap_load_idt(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) ptr = { sizeof(idt) - 1, (uint64_t)idt };

	asm volatile("lidt %0" : : "m"(ptr));
}

int irq_register(uint8_t vector, irq_handler_t fn)
{
	if (vector < 32 || irq_handlers[vector])
		return -EBUSY;
	irq_handlers[vector] = fn;
	return 0;
}

int irq_register_arg(uint8_t vector, void (*fn)(void *arg), void *arg)
{
	if (vector < 32 || irq_handlers[vector] || irq_actions[vector].fn)
		return -EBUSY;
	irq_actions[vector].arg = arg;
	__atomic_store_n(&irq_actions[vector].fn, fn, __ATOMIC_RELEASE);
	return 0;
}

void irq_unregister_arg(uint8_t vector)
{
	__atomic_store_n(&irq_actions[vector].fn, NULL, __ATOMIC_RELEASE);
}

/* Runs the vector's handler, if any; false when nobody handles it. */
static bool run_handler(uint8_t vector, struct trap_frame *tf)
{
	void (*fn)(void *) = __atomic_load_n(&irq_actions[vector].fn, __ATOMIC_ACQUIRE);

	if (irq_handlers[vector]) {
		irq_handlers[vector](tf);
		return true;
	}
	if (fn) {
		fn(irq_actions[vector].arg);
		return true;
	}
	return false;
}

static const struct extable_entry *extable_find(uint64_t rip)
{
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->insn == rip)
			return e;
	}
	return NULL;
}

static void dump_frame(const struct trap_frame *tf)
{
	pr_err("RIP %04llx:%016llx RFLAGS %016llx\n", (unsigned long long)tf->cs,
	       (unsigned long long)tf->rip, (unsigned long long)tf->rflags);
	pr_err("RSP %04llx:%016llx RBP %016llx\n", (unsigned long long)tf->ss,
	       (unsigned long long)tf->rsp, (unsigned long long)tf->rbp);
	pr_err("RAX %016llx RBX %016llx RCX %016llx\n", (unsigned long long)tf->rax,
	       (unsigned long long)tf->rbx, (unsigned long long)tf->rcx);
	pr_err("RDX %016llx RSI %016llx RDI %016llx\n", (unsigned long long)tf->rdx,
	       (unsigned long long)tf->rsi, (unsigned long long)tf->rdi);
	pr_err("R8  %016llx R9  %016llx R10 %016llx\n", (unsigned long long)tf->r8,
	       (unsigned long long)tf->r9, (unsigned long long)tf->r10);
	pr_err("R11 %016llx R12 %016llx R13 %016llx\n", (unsigned long long)tf->r11,
	       (unsigned long long)tf->r12, (unsigned long long)tf->r13);
	pr_err("R14 %016llx R15 %016llx\n", (unsigned long long)tf->r14,
	       (unsigned long long)tf->r15);
	pr_err("CR0 %016lx CR2 %016lx CR3 %016lx CR4 %016lx\n", read_cr0(), read_cr2(),
	       read_cr3(), read_cr4());
}

static void __attribute__((noreturn)) fatal_exception(struct trap_frame *tf)
{
	const char *name = tf->vector < 32 && exc_names[tf->vector] ?
		exc_names[tf->vector] : "exception";
	unsigned cpu = this_cpu() ? this_cpu_id() : 0;

	panic_begin();
	pr_err("%s (vector %llu) on CPU %u, error code 0x%llx\n", name,
	       (unsigned long long)tf->vector, cpu, (unsigned long long)tf->error_code);
	if (tf->vector == X86_EXC_PF)
		pr_err("faulting address %016lx (%s, %s, %s)\n", read_cr2(),
		       tf->error_code & 1 ? "protection violation" : "page not present",
		       tf->error_code & 2 ? "write" : "read",
		       tf->error_code & 16 ? "instruction fetch" : "data");
	dump_frame(tf);
	backtrace_print(tf->rbp, tf->rip);
	panic_no_backtrace("unhandled %s at %016llx", name, (unsigned long long)tf->rip);
}

static void handle_exception(struct trap_frame *tf)
{
	const struct extable_entry *fix;

	if (tf->vector == X86_EXC_NMI) {
		/* No locks here: the NMI may have interrupted a lock holder on this CPU. */
		panic_stop_if_requested();
		this_cpu()->nmi_count++;
		return;
	}
	fix = extable_find(tf->rip);
	if (fix && tf->vector != X86_EXC_DF && tf->vector != X86_EXC_MC) {
		tf->rip = fix->fixup;
		tf->rax = (uint64_t)-EFAULT;
		return;
	}
	fatal_exception(tf);
}

void irq_dispatch_vector(uint8_t vector)
{
	if (vector == VEC_SPURIOUS)
		return;
	run_handler(vector, NULL);
	lapic_eoi();
}

void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
	if (tf->vector < 32) {
		handle_exception(tf);
		return;
	}
	if (tf->vector == VEC_SPURIOUS)
		return;		/* spurious: no EOI (SDM 3A 11.9) */
	if (!run_handler((uint8_t)tf->vector, tf))
		pr_warn("unexpected interrupt vector 0x%llx on CPU %u\n",
			(unsigned long long)tf->vector, this_cpu_id());
	lapic_eoi();
}

bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0, hi = 0;
	long err = 0;

	asm volatile("1: rdmsr\n"
		     "2:\n"
		     EXTABLE_ENTRY(1b, 3f)
		     ".pushsection .text.fixup, \"ax\"\n"
		     "3: mov %%rax, %2\n"
		     "   jmp 2b\n"
		     ".popsection\n"
		     : "+a"(lo), "=d"(hi), "+r"(err) : "c"(msr));
	if (err)
		return false;
	*val = ((uint64_t)hi << 32) | lo;
	return true;
}

int probe_read_u64(const void *va, uint64_t *out)
{
	uint64_t v = 0;
	long err = 0;

	asm volatile("1: movq (%2), %0\n"
		     "2:\n"
		     EXTABLE_ENTRY(1b, 3f)
		     ".pushsection .text.fixup, \"ax\"\n"
		     "3: mov %%rax, %1\n"
		     "   jmp 2b\n"
		     ".popsection\n"
		     : "=&r"(v), "+r"(err) : "r"(va) : "rax");
	if (err)
		return -EFAULT;
	*out = v;
	return 0;
}

int probe_write_u64(void *va, uint64_t v)
{
	long err = 0;

	asm volatile("1: movq %2, (%1)\n"
		     "2:\n"
		     EXTABLE_ENTRY(1b, 3f)
		     ".pushsection .text.fixup, \"ax\"\n"
		     "3: mov %%rax, %0\n"
		     "   jmp 2b\n"
		     ".popsection\n"
		     : "+r"(err) : "r"(va), "r"(v) : "rax", "memory");
	return err ? -EFAULT : 0;
}
