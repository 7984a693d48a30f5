/*
 * Per-CPU blocks and each CPU's GDT/TSS. Every CPU has its own GDT because
 * the TSS descriptor's busy bit and the IST stacks are per CPU.
 */
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/layout.h>
#include <vmkernel/paging.h>
#include <vmkernel/percpu.h>

struct pcpu pcpu_array[CONFIG_MAX_CPUS];
unsigned int pcpu_count = 1;

static uint64_t tss_desc_lo(uint64_t base, uint32_t limit)
{
	return (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
}

static void load_gdt(struct pcpu *p)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) ptr = { sizeof(p->gdt) - 1, (uint64_t)p->gdt };

	asm volatile("lgdt %0\n"
		     "pushq %1\n"
		     "leaq 1f(%%rip), %%rax\n"
		     "pushq %%rax\n"
		     "lretq\n"
		     "1:\n"
		     "movw %w2, %%ds\n"
		     "movw %w2, %%es\n"
		     "movw %w2, %%ss\n"
		     : : "m"(ptr), "i"(GDT_KCODE), "r"(GDT_KDATA) : "rax", "memory");
	asm volatile("ltr %w0" : : "r"(GDT_TSS));
}

/* Caller fills p->id, p->apic_id, p->ist_top[] and p->kstack_top first. */
void pcpu_init_self(struct pcpu *p)
{
	uint64_t tss = (uint64_t)&p->tss;

	p->self = p;
	memset(&p->tss, 0, sizeof(p->tss));
	for (int i = 1; i <= IST_COUNT; i++)
		p->tss.ist[i - 1] = (uint64_t)p->ist_top[i];
	p->tss.rsp[0] = (uint64_t)p->kstack_top;
	p->tss.iomap_base = sizeof(p->tss);	/* no I/O bitmap */
	p->gdt[0] = 0;
	p->gdt[1] = 0x00af9a000000ffffULL;	/* 64-bit code, DPL 0 */
	p->gdt[2] = 0x00cf92000000ffffULL;	/* data */
	p->gdt[3] = tss_desc_lo(tss, sizeof(p->tss) - 1);
	p->gdt[4] = tss >> 32;
	p->gdt[5] = 0;
	p->gdt[6] = 0;
	load_gdt(p);
	/*
	 * Caches on (CD, NW clear: firmware should have done it, but Bochs and a
	 * CPU fresh from INIT leave them set), x87 errors native (NE), FPU present.
	 */
	write_cr0((read_cr0() & ~((1UL << 30) | (1UL << 29) | X86_CR0_EM | X86_CR0_TS)) |
		  X86_CR0_NE | X86_CR0_MP);
	paging_init_pat();
	wrmsr(MSR_IA32_GS_BASE, (uint64_t)p);
	wrmsr(MSR_IA32_KERNEL_GS_BASE, 0);
}

unsigned int pcpu_online_count(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < pcpu_count; i++)
		n += __atomic_load_n(&pcpu_array[i].online, __ATOMIC_ACQUIRE);
	return n;
}
