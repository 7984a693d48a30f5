/*
 * Descriptor tables and the C side of exception and interrupt handling for
 * the 32-bit guests (see trap.h for the catching protocol).
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type;
	uint16_t off_hi;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 8, "IDT gate");

struct desc_ptr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));
_Static_assert(sizeof(struct desc_ptr) == 6, "descriptor-table pointer");

/* 32-bit TSS (SDM vol. 3 figure 8-2); only ESP0, SS0 and the I/O map base matter. */
struct tss32 {
	uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
	uint32_t gpr[8];
	uint32_t seg[6];
	uint32_t ldt;
	uint16_t trap;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 104, "32-bit TSS");

#define GATE_INTR32 0x8e
#define GATE_DPL3 0x60

extern const uint32_t trap_stub_table[256];
extern char user_exit[];

static uint64_t gdt[8] __attribute__((aligned(8)));
static struct idt_gate idt[256] __attribute__((aligned(8)));
static struct tss32 tss;
static uint8_t ring0_stack[4096] __attribute__((aligned(16)));
static irq_handler_t handlers[256];

volatile uint32_t trap_resume;
volatile uint32_t trap_insn;
volatile uint32_t trap_after;
volatile struct trap_record trap_last = { .vector = -1 };

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	uint64_t d;

	d = (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16);
	d |= (uint64_t)access << 40;
	d |= (uint64_t)((limit >> 16) & 0xf) << 48;
	d |= (uint64_t)(flags & 0xf) << 52;
	d |= (uint64_t)(base >> 24) << 56;
	return d;
}

static void set_gate(unsigned int vec, uint32_t addr, uint8_t type)
{
	idt[vec].off_lo = addr & 0xffff;
	idt[vec].off_hi = addr >> 16;
	idt[vec].sel = SEL_KCODE;
	idt[vec].zero = 0;
	idt[vec].type = type;
}

/* Load the GDT and reload every segment register from it. */
static void load_gdt_segments(void)
{
	struct desc_ptr p = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt };

	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\tmov %2, %%ax\n\t"
		     "mov %%ax, %%ds\n\tmov %%ax, %%es\n\tmov %%ax, %%fs\n\t"
		     "mov %%ax, %%gs\n\tmov %%ax, %%ss"
		     : : "m"(p), "i"(SEL_KCODE), "i"(SEL_KDATA) : "eax", "memory");
}

static void load_gdt(void)
{
	load_gdt_segments();
	asm volatile("ltr %w0" : : "r"(SEL_TSS));
}

void load_idt_limit(uint16_t limit)
{
	struct desc_ptr p = { limit, (uint32_t)(uintptr_t)idt };

	asm volatile("lidt %0" : : "m"(p));
}

void trap_init(void)
{
	unsigned int v;

	gdt[1] = seg_desc(0, 0xfffff, 0x9a, 0xc);
	gdt[2] = seg_desc(0, 0xfffff, 0x92, 0xc);
	gdt[3] = seg_desc(0, 0xfffff, 0xfa, 0xc);
	gdt[4] = seg_desc(0, 0xfffff, 0xf2, 0xc);
	gdt[5] = seg_desc((uint32_t)(uintptr_t)&tss, sizeof(tss) - 1, 0x89, 0);
	gdt[6] = seg_desc(0, 0xfffff, 0x90, 0xc);
	gdt[7] = seg_desc(0, 0xfffff, 0x12, 0xc);
	tss.ss0 = SEL_KDATA;
	tss.esp0 = (uint32_t)(uintptr_t)(ring0_stack + sizeof(ring0_stack));
	tss.iomap_base = sizeof(tss);
	load_gdt();
	for (v = 0; v < 256; v++)
		set_gate(v, trap_stub_table[v], GATE_INTR32);
	set_gate(0x80, trap_stub_table[0x80], GATE_INTR32 | GATE_DPL3);
	set_gate(VEC_USER_EXIT, (uint32_t)(uintptr_t)user_exit, GATE_INTR32 | GATE_DPL3);
	load_idt_limit(sizeof(idt) - 1);
}

/*
 * Another vCPU (started by HC_VCPU_START or INIT/SIPI) loads the tables
 * vCPU 0 built. It does not load TR: the one TSS is busy on vCPU 0, and
 * ring 3 is vCPU 0's alone.
 */
void trap_load_ap(void)
{
	load_gdt_segments();
	load_idt_limit(sizeof(idt) - 1);
}

/* The GDT pointer as LGDT takes it, for a real-mode trampoline to copy. */
void trap_gdt_ptr(uint16_t *limit, uint32_t *base)
{
	*limit = sizeof(gdt) - 1;
	*base = (uint32_t)(uintptr_t)gdt;
}

int irq_register(unsigned int vector, irq_handler_t fn)
{
	if (vector >= 256 || vector == VEC_USER_EXIT)
		return -1;
	handlers[vector] = fn;
	return 0;
}

void trap_arm(void)
{
	trap_last.vector = -1;
	trap_last.err = 0;
	trap_last.eip = 0;
	trap_last.cr2 = 0;
	trap_last.dr6 = 0;
}

int trap_done(void)
{
	trap_resume = 0;
	return trap_last.vector;
}

static void record_and_recover(struct trap_frame *f)
{
	uint32_t dr6 = 0;

	if (f->vector == VEC_DB)
		asm volatile("mov %%dr6, %0" : "=r"(dr6));
	trap_last.err = f->err;
	trap_last.eip = f->eip;
	trap_last.cr2 = f->vector == VEC_PF ? read_cr2() : 0;
	trap_last.dr6 = dr6;
	trap_last.vector = (int)f->vector;
	f->eip = trap_resume;
	trap_resume = 0;
}

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
	if (f->vector == VEC_DB)
		f->eflags &= ~EFLAGS_TF;
	if (f->vector < 32 && trap_resume) {
		record_and_recover(f);
		return;
	}
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	gprintf("%s: unexpected %s %u, error code 0x%x, at eip 0x%x (cs 0x%x, eflags 0x%x, "
		"cr2 0x%lx)\n", guest_name, f->vector < 32 ? "exception" : "interrupt",
		f->vector, f->err, f->eip, f->cs, f->eflags, read_cr2());
	guest_fail("unexpected trap");
	if (f->vector < 32)
		guest_finish();
}

int try_rdmsr(uint32_t msr, uint64_t *v)
{
	uint32_t lo = 0, hi = 0;

	trap_arm();
	asm volatile(TRAP_TRY("rdmsr") : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*v = ((uint64_t)hi << 32) | lo;
	return trap_done();
}

int try_wrmsr(uint32_t msr, uint64_t v)
{
	trap_arm();
	asm volatile(TRAP_TRY("wrmsr")
		     : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
	return trap_done();
}

int try_write_cr0(uint32_t v)
{
	trap_arm();
	asm volatile(TRAP_TRY("mov %0, %%cr0") : : "r"(v) : "memory");
	return trap_done();
}

int try_write_cr4(uint32_t v)
{
	trap_arm();
	asm volatile(TRAP_TRY("mov %0, %%cr4") : : "r"(v) : "memory");
	return trap_done();
}

void pd_identity_4m(uint32_t *pd)
{
	unsigned int i;

	for (i = 0; i < 1024; i++)
		pd[i] = (i << 22) | PDE_P | PDE_RW | PDE_PS;
}

void paging_on(uint32_t *pd)
{
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)(uintptr_t)pd);
	write_cr0(read_cr0() | CR0_PG);
}

void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
}
