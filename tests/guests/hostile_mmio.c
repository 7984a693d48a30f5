/*
 * hostile_mmio: device-register accesses shaped to trip up an instruction
 * emulator. The IOAPIC (0xfec00000) is the device; reading its version
 * register the ordinary way gives the value to compare with.
 *
 *  (none)   an MMIO load whose bytes straddle a page boundary (emulated
 *           right), one whose 15 bytes are mostly prefixes (the longest a
 *           CPU runs), one of 16 bytes (the CPU's own #GP, never an exit),
 *           and one whose second page is not present (the CPU's own #PF).
 *  pastend  a 4-byte load at the IOAPIC window's last 2 bytes: the access
 *           runs past the device: the VM is stopped, the device model never
 *           sees an access outside its range (stopped:unsupported).
 *  ptmmio   a page table inside the IOAPIC's registers: the CPU's own walk
 *           reads device memory (stopped:unsupported).
 *  idtmmio  the IDT inside the IOAPIC's registers, then INT3: event
 *           delivery reads device memory (stopped:unsupported).
 *  race     two vCPUs: vCPU 1 flips the opcode of vCPU 0's MMIO instruction
 *           between a load and a store, for ever, while vCPU 0 runs it: the
 *           VMM must notice the bytes no longer match the access and stop
 *           the VM (stopped:unsupported), never carry out the wrong one.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "hostile_mmio";

#define IOREGSEL 0xfec00000u
#define IOWIN 0xfec00010u

static uint8_t code[3 * 4096] __attribute__((aligned(4096)));
static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
static uint8_t ap_stack[4096] __attribute__((aligned(16)));
static volatile uint32_t go;

static uint32_t version_plain(void)
{
	*(volatile uint32_t *)IOREGSEL = 1;
	return *(volatile uint32_t *)IOWIN;
}

/* Put "mov eax, [IOWIN]" with `prefixes` DS prefixes at p, then RET; call it. */
static uint8_t *emit_load(uint8_t *p, unsigned prefixes)
{
	uint8_t *start = p;

	for (unsigned i = 0; i < prefixes; i++)
		*p++ = 0x3e;
	*p++ = 0xa1;	/* mov eax, moffs32 */
	*p++ = (uint8_t)IOWIN;
	*p++ = (uint8_t)(IOWIN >> 8);
	*p++ = (uint8_t)(IOWIN >> 16);
	*p++ = (uint8_t)(IOWIN >> 24);
	*p = 0xc3;
	return start;
}

static int run_code(uint8_t *at, uint32_t *eax)
{
	uint32_t v = 0;

	*(volatile uint32_t *)IOREGSEL = 1;
	trap_arm();
	/* A fault inside leaves the call's return address on the stack: ESI keeps ESP. */
	asm volatile("movl %%esp, %%esi\n\t" TRAP_TRY("call *%1") "\tmovl %%esi, %%esp"
		     : "=a"(v) : "r"(at) : "esi", "ecx", "edx", "memory");
	*eax = v;
	return trap_done();
}

static void check_shapes(void)
{
	uint32_t ver = version_plain(), v;
	int vec;

	vec = run_code(emit_load(code + 4096 - 3, 0), &v);	/* a1 | imm32 across the page end */
	CHECKF(vec == -1 && v == ver, "straddling_load", "vector %d, 0x%x (want 0x%x)", vec, v, ver);
	vec = run_code(emit_load(code + 4096 - 7, 10), &v);	/* 15 bytes, prefixes on page 1 */
	CHECKF(vec == -1 && v == ver, "fifteen_byte_load", "vector %d, 0x%x (want 0x%x)", vec, v,
	       ver);
	vec = run_code(emit_load(code + 100, 11), &v);		/* 16 bytes: the CPU refuses */
	CHECKF(vec == VEC_GP, "sixteen_byte_load_gp", "vector %d", vec);

	/* The same straddling load, its second page not present: the CPU's #PF first. */
	emit_load(code + 4096 - 3, 0);
	for (uint32_t i = 0; i < 1024; i++)
		pt[i] = (i << 12) | PDE_P | PDE_RW;
	pt[((uint32_t)(uintptr_t)code >> 12) + 1] &= ~PDE_P;
	pd_identity_4m(pd);
	pd[0] = (uint32_t)(uintptr_t)pt | PDE_P | PDE_RW;
	paging_on(pd);
	vec = run_code(code + 4096 - 3, &v);
	paging_off();
	CHECKF(vec == VEC_PF && trap_last.cr2 == (uint32_t)(uintptr_t)code + 4096, "second_page_absent",
	       "vector %d, cr2 0x%x", vec, trap_last.cr2);
}

static void __attribute__((noreturn)) stopped(const char *what)
{
	CHECKF(false, what, "the VM is still running");
	guest_finish();
}

static void past_end(void)
{
	uint32_t v;

	gprintf("%s: a 4-byte load at 0xfec00ffe\n", guest_name);
	asm volatile("movl (%1), %0" : "=r"(v) : "r"(0xfec00ffeu) : "memory");
	stopped("past_end");
}

static void pt_in_mmio(void)
{
	pd_identity_4m(pd);
	pd[1] = IOREGSEL | PDE_P | PDE_RW;	/* 4-8 MiB through a "page table" in the IOAPIC */
	paging_on(pd);
	gprintf("%s: a page table in the IOAPIC's registers\n", guest_name);
	(void)*(volatile uint32_t *)0x400000;
	stopped("pt_in_mmio");
}

static void idt_in_mmio(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) idtr = { 0x7ff, IOREGSEL };

	gprintf("%s: the IDT in the IOAPIC's registers, then INT3\n", guest_name);
	asm volatile("lidt %0\n\tint3" : : "m"(idtr));
	stopped("idt_in_mmio");
}

void ap_main(void);
void ap_start(void);
asm(".text\n.globl ap_start\nap_start:\n\tcall ap_main\n1:\tcli\n\thlt\n\tjmp 1b\n");

/* vCPU 1: flip the opcode between "mov eax, moffs" (A1) and "mov moffs, eax" (A3). */
void ap_main(void)
{
	volatile uint8_t *op = code + 200;

	while (!go)
		pause();
	for (;;)
		*op ^= 0xa1 ^ 0xa3;
}

static void race(void)
{
	uint8_t *at = emit_load(code + 200, 0);
	uint32_t v;

	if (vmcall(HC_VCPU_START, 1, (uintptr_t)ap_start, (uintptr_t)(ap_stack + sizeof(ap_stack))))
		stopped("race_start");
	gprintf("%s: vCPU 1 rewrites the MMIO instruction vCPU 0 runs\n", guest_name);
	go = 1;
	for (unsigned i = 0; i < 2000000; i++)
		run_code(at, &v);
	stopped("race");
}

void guest_main(void)
{
	if (vmk_skip("mmio_shapes"))	/* QEMU's own IOAPIC and TCG are not what is tested */
		guest_finish();
	if (cmdline_has("pastend"))
		past_end();
	if (cmdline_has("ptmmio"))
		pt_in_mmio();
	if (cmdline_has("idtmmio"))
		idt_in_mmio();
	if (cmdline_has("race"))
		race();
	check_shapes();
	guest_finish();
}
