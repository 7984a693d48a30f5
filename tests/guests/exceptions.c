/*
 * exceptions: faults and traps raised inside the guest reach the guest's
 * own IDT with the right vector, error code, saved EIP (the instruction for
 * faults, the next one for traps) and CR2; software interrupts from ring 0
 * and ring 3 reach their gates; privileged instructions at CPL 3 fault.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "exceptions";

#define PF_NOT_PRESENT 0x00500123u /* PDE 1 cleared */
#define PF_READ_ONLY 0x00800040u   /* PDE 2 read-only */

static uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile unsigned int int80_count;
static volatile uint32_t int80_cs;
static const uint32_t bounds[2] = { 0, 10 };

/* Check the recorded trap: vector, error code, saved EIP at the insn or after it. */
static void expect(const char *name, int got, int vec, uint32_t err, bool after)
{
	uint32_t want_eip = after ? trap_after : trap_insn;

	CHECKF(got == vec && trap_last.err == err && trap_last.eip == want_eip, name,
	       "vector %d (want %d), error 0x%x (want 0x%x), eip 0x%x (want 0x%x)", got, vec,
	       trap_last.err, err, trap_last.eip, want_eip);
}

static void check_faults(void)
{
	trap_arm();
	asm volatile(TRAP_TRY("divl %%ecx") : : "a"(1), "d"(0), "c"(0) : "memory");
	expect("divide_error", trap_done(), VEC_DE, 0, false);

	trap_arm();
	asm volatile(TRAP_TRY("ud2") : : : "memory");
	expect("invalid_opcode", trap_done(), VEC_UD, 0, false);

	trap_arm();
	asm volatile(TRAP_TRY("bound %%eax, (%%ecx)") : : "a"(20), "c"(bounds) : "memory");
	expect("bound_range", trap_done(), VEC_BR, 0, false);

	trap_arm();
	asm volatile("movl $0x7fffffff, %%eax\n\taddl $1, %%eax\n\t" TRAP_TRY("into")
		     : : : "eax", "cc", "memory");
	expect("overflow_into", trap_done(), VEC_OF, 0, true);

	trap_arm();
	asm volatile(TRAP_TRY("int3") : : : "memory");
	expect("breakpoint", trap_done(), VEC_BP, 0, true);
}

static void check_segment_faults(void)
{
	trap_arm();
	asm volatile(TRAP_TRY("movw %w0, %%fs") : : "r"(0x1230) : "memory");
	expect("gp_selector_beyond_gdt", trap_done(), VEC_GP, 0x1230, false);

	trap_arm();
	asm volatile(TRAP_TRY("ljmp $0, $9f") : : : "memory");
	expect("gp_far_jump_null", trap_done(), VEC_GP, 0, false);

	/* QEMU TCG does not check segment types on access: vmkernel only. */
	if (!vmk_skip("gp_write_read_only_segment")) {
		trap_arm();
		asm volatile("movw %w0, %%fs\n\t" TRAP_TRY("movl $1, %%fs:0x200000")
			     : : "r"(SEL_RODATA) : "memory");
		expect("gp_write_read_only_segment", trap_done(), VEC_GP, 0, false);
		asm volatile("movw %w0, %%fs" : : "r"(SEL_KDATA));
	}

	trap_arm();
	asm volatile(TRAP_TRY("movw %w0, %%fs") : : "r"(SEL_NOTPRESENT) : "memory");
	expect("np_segment_not_present", trap_done(), VEC_NP, SEL_NOTPRESENT, false);
	asm volatile("movw %w0, %%fs" : : "r"(SEL_KDATA));
}

static void check_single_step(void)
{
	int v;

	trap_arm();
	/* POPF sets TF; the trap comes after the instruction that follows it. */
	asm volatile("movl $9f, trap_resume\n\tmovl $9f, trap_after\n\tmovl $8f, trap_insn\n\t"
		     "pushfl\n\torl $0x100, (%%esp)\n\tpopfl\n"
		     "8:\tnop\n9:\n" : : : "memory", "cc");
	v = trap_done();
	expect("single_step_db", v, VEC_DB, 0, true);
	CHECKF(trap_last.dr6 & (1u << 14), "single_step_dr6_bs", "dr6 0x%x", trap_last.dr6);
	CHECKF(!(read_flags() & EFLAGS_TF), "single_step_tf_clear", "eflags 0x%lx",
	       read_flags());
}

static void check_page_faults(void)
{
	volatile uint32_t *np = (volatile uint32_t *)PF_NOT_PRESENT;
	volatile uint32_t *ro = (volatile uint32_t *)PF_READ_ONLY;
	uint32_t v = 0;
	int f;

	pd_identity_4m(pd);
	pd[PF_NOT_PRESENT >> 22] = 0;
	pd[PF_READ_ONLY >> 22] &= ~PDE_RW;
	paging_on(pd);
	write_cr0(read_cr0() | CR0_WP);

	trap_arm();
	asm volatile(TRAP_TRY("movl (%1), %0") : "+r"(v) : "r"(np) : "memory");
	f = trap_done();
	expect("pf_read_not_present", f, VEC_PF, 0, false);
	CHECK_EQ(trap_last.cr2, PF_NOT_PRESENT, "pf_read_cr2");

	trap_arm();
	asm volatile(TRAP_TRY("movl $1, (%0)") : : "r"(np) : "memory");
	expect("pf_write_not_present", trap_done(), VEC_PF, 2, false);

	trap_arm();
	asm volatile(TRAP_TRY("movl $1, (%0)") : : "r"(ro) : "memory");
	f = trap_done();
	expect("pf_write_read_only", f, VEC_PF, 3, false);
	CHECK_EQ(trap_last.cr2, PF_READ_ONLY, "pf_write_cr2");

	paging_off();
	write_cr0(read_cr0() & ~CR0_WP);
}

static void int80_handler(struct trap_frame *f)
{
	int80_count++;
	int80_cs = f->cs;
	f->eax ^= 0xffff;
}

static int user_int80(void)
{
	uint32_t v = 0x1234;

	asm volatile("int $0x80" : "+a"(v) : : "memory");
	return (int)v;
}

static int user_hlt(void)
{
	trap_arm();
	asm volatile(TRAP_TRY("hlt") : : : "memory");
	return trap_done();
}

static int user_inb(void)
{
	trap_arm();
	asm volatile(TRAP_TRY("inb $0x80, %%al") : : : "eax", "memory");
	return trap_done();
}

static int user_cli(void)
{
	trap_arm();
	asm volatile(TRAP_TRY("cli") : : : "memory");
	return trap_done();
}

static void check_soft_int(void)
{
	uint32_t v = 0xabcd;
	int r;

	irq_register(0x80, int80_handler);
	asm volatile("int $0x80" : "+a"(v) : : "memory");
	CHECKF(int80_count == 1 && v == (0xabcd ^ 0xffff) && int80_cs == SEL_KCODE, "int80",
	       "count %u, eax 0x%x, cs 0x%x", int80_count, v, int80_cs);

	r = run_user(user_int80);
	CHECKF(int80_count == 2 && r == (0x1234 ^ 0xffff) && int80_cs == SEL_UCODE, "int80_cpl3",
	       "count %u, eax 0x%x, cs 0x%x", int80_count, r, int80_cs);
	r = run_user(user_hlt);
	CHECKF(r == VEC_GP && trap_last.err == 0, "hlt_cpl3_gp", "vector %d error 0x%x", r,
	       trap_last.err);
	r = run_user(user_inb);
	CHECKF(r == VEC_GP && trap_last.err == 0, "in_cpl3_gp", "vector %d error 0x%x", r,
	       trap_last.err);
	r = run_user(user_cli);
	CHECKF(r == VEC_GP && trap_last.err == 0, "cli_cpl3_gp", "vector %d error 0x%x", r,
	       trap_last.err);
}

void guest_main(void)
{
	check_faults();
	check_segment_faults();
	check_single_step();
	check_page_faults();
	check_soft_int();
}
