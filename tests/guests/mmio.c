/*
 * mmio: memory-mapped device registers. The guest's IOAPIC at 0xfec00000
 * is reached with the instruction forms drivers use (MOV to and from a
 * register, MOV of an immediate, the moffs forms, MOVZX of a byte), and
 * its register semantics are checked: version, ID, arbitration, masked
 * redirection entries at reset, read-only bits kept.
 */
#include "guest.h"

const char guest_name[] = "mmio";

#define IOREGSEL 0xfec00000u
#define IOWIN 0xfec00010u

static void sel_imm(uint32_t r)
{
	/* C7 /0: MOV r/m32, imm32 with a register-indirect address */
	asm volatile("movl %1, (%0)" : : "r"(IOREGSEL), "i"(0) : "memory");
	asm volatile("movl %0, %%eax; movl %%eax, %1" : : "r"(r), "m"(*(volatile uint32_t *)IOREGSEL)
		     : "eax", "memory");
}

static uint32_t win_read(void)
{
	uint32_t v;

	/* 8B /r: MOV r32, r/m32 */
	asm volatile("movl (%1), %0" : "=r"(v) : "r"(IOWIN) : "memory");
	return v;
}

static void win_write(uint32_t v)
{
	/* 89 /r: MOV r/m32, r32 */
	asm volatile("movl %0, (%1)" : : "r"(v), "r"(IOWIN) : "memory");
}

void guest_main(void)
{
	uint32_t v, ver, moffs;
	uint8_t b;

	if (vmk_skip("ioapic_version") | vmk_skip("ioapic_id") | vmk_skip("redir_reset_masked") |
	    vmk_skip("redir_readonly_bits") | vmk_skip("movzx_byte") | vmk_skip("moffs_forms"))
		guest_finish();
	sel_imm(1);
	ver = win_read();
	CHECKF(ver == 0x00170011u, "ioapic_version", "0x%x", ver);
	sel_imm(0);
	win_write(0x0f000000u | 0x00abcdefu);
	v = win_read();
	CHECKF(v == 0x0f000000u, "ioapic_id", "wrote 0x0fabcdef, read 0x%x", v);
	sel_imm(2);
	CHECKF(win_read() == 0x0f000000u, "ioapic_arbitration_id", "0x%x", win_read());
	sel_imm(0x10 + 2 * 3);
	v = win_read();
	CHECKF(v & (1u << 16), "redir_reset_masked", "entry 3 low 0x%x", v);
	sel_imm(0x10 + 2 * 5);
	win_write(0x0001f030u);
	v = win_read();
	CHECKF(v == 0x0001a030u, "redir_readonly_bits", "wrote 0x0001f030, read 0x%x", v);
	sel_imm(0x11 + 2 * 5);
	win_write(0xff00ffffu);
	CHECKF(win_read() == 0xff000000u, "redir_destination", "0x%x", win_read());
	/* C6 /0 byte store, then 0F B6: MOVZX r32, r/m8 of the same register. */
	asm volatile("movb $0x21, (%0)" : : "r"(IOREGSEL) : "memory");
	asm volatile("movzbl (%1), %0" : "=r"(v) : "r"(IOREGSEL) : "memory");
	b = (uint8_t)v;
	CHECKF(v == 0x21 && b == 0x21, "movzx_byte", "0x%x", v);
	/* A3 / A1: MOV moffs32, EAX and MOV EAX, moffs32. */
	asm volatile("movl $1, %%eax; movl %%eax, 0xfec00000" : : : "eax", "memory");
	asm volatile("movl 0xfec00010, %%eax" : "=a"(moffs) : : "memory");
	CHECKF(moffs == 0x00170011u, "moffs_forms", "0x%x", moffs);
	/* An offset the chip does not decode reads as zero. */
	asm volatile("movl (%1), %0" : "=r"(v) : "r"(0xfec00020u) : "memory");
	CHECKF(v == 0, "undecoded_offset", "0x%x", v);
	guest_finish();
}
