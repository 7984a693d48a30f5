/*
 * Decoder and emulator for the x86 memory-access instructions a guest
 * uses on memory-mapped device registers (SDM vol. 2, chapters 2-4).
 *
 * An access to a device range faults with an EPT violation; the CPU gives
 * the guest-physical address but not the instruction length (the VM-exit
 * instruction-length field is undefined for EPT violations), so the VMM
 * fetches the bytes at the guest RIP, calls mmio_decode() to learn the
 * length, operand size, direction and register/immediate operand, then
 * mmio_emulate() to perform the access through device callbacks and update
 * the guest registers. Addresses are never computed from ModRM: the CPU
 * already did that, and the faulting GPA is passed in.
 *
 * Emulated (all with prefixes 66, 67, 26 2E 36 3E 64 65, REX in 64-bit mode):
 *   MOV   88 89 8A 8B, C6 /0 ib, C7 /0 iz, A0 A1 A2 A3 (moffs)
 *   MOVZX 0F B6, 0F B7    MOVSX 0F BE, 0F BF
 *   TEST  84 85, F6 /0 ib, F7 /0 iz                (read, flags)
 *   OR    08 09 0A 0B, 80/81/83 /1                 (read-modify-write or read)
 *   AND   20 21 22 23, 80/81/83 /4
 *   XOR   30 31 32 33, 80/81/83 /6
 * LOCK (F0) is accepted only on OR/AND/XOR with a memory destination.
 *
 * Pure logic, host unit-tested (tests/unit/test_mmio_insn.c).
 */
#ifndef MMIO_INSN_H
#define MMIO_INSN_H

#include <stdbool.h>
#include <stdint.h>

#define MMIO_INSN_MAX_LEN	15	/* architectural limit; longer -> #GP */

/* Default operand/address size of the code segment (CS.L, CS.D, CR0.PE, EFLAGS.VM). */
enum mmio_mode {
	MMIO_MODE16,	/* real mode, virtual-8086, or CS.D = 0 */
	MMIO_MODE32,	/* protected/compatibility mode with CS.D = 1 */
	MMIO_MODE64,	/* IA-32e mode (EFER.LMA) with CS.L = 1 */
};

struct mmio_regs {
	uint64_t gpr[16];	/* RAX RCX RDX RBX RSP RBP RSI RDI R8..R15 (SDM encoding order) */
	uint64_t rflags;
};

/*
 * Device access callbacks. size is 1, 2, 4 or 8; values travel in the low
 * size bytes (read: bits above are ignored). Return 0 or a negative errno,
 * which mmio_emulate() passes back unchanged.
 */
struct mmio_ops {
	void *ctx;
	int (*read)(void *ctx, uint64_t gpa, unsigned size, uint64_t *val);
	int (*write)(void *ctx, uint64_t gpa, unsigned size, uint64_t val);
};

enum mmio_alu {
	MMIO_ALU_MOV,	/* MOV, MOVZX, MOVSX */
	MMIO_ALU_TEST,	/* AND without storing the result: flags only */
	MMIO_ALU_AND,
	MMIO_ALU_OR,
	MMIO_ALU_XOR,
};

enum mmio_ext {
	MMIO_EXT_NONE,
	MMIO_EXT_ZERO,	/* MOVZX */
	MMIO_EXT_SIGN,	/* MOVSX */
};

struct mmio_insn {
	unsigned len;		/* instruction length in bytes: advance RIP by this */
	unsigned op_size;	/* bytes of the device access: 1, 2, 4 or 8 */
	bool is_write;		/* the device is written (MOV store, OR/AND/XOR to memory) */
	bool is_read;		/* the device is read (loads, TEST, every OR/AND/XOR) */

	enum mmio_alu alu;
	bool mem_is_dst;	/* memory is the destination operand (TEST: never written) */
	bool src_is_imm;	/* the other operand is imm, not the register */
	uint64_t imm;		/* immediate, sign-extended to 64 bits (imm8 of 83 too) */
	enum mmio_ext ext;	/* MOVZX/MOVSX: extension from op_size to reg_size */
	unsigned reg_size;	/* bytes of the register operand (== op_size except MOVZX/SX) */
	uint8_t reg;		/* register operand: mmio_regs.gpr index (moffs: 0 = RAX) */
	bool reg_high8;		/* 8-bit operand is AH/CH/DH/BH: bits 15:8 of gpr[reg] */

	/* What was decoded, for logs and checks. */
	uint16_t opcode;	/* 0x00XX one-byte opcode, 0x0FXX two-byte */
	enum mmio_mode mode;
	unsigned addr_size;	/* 2, 4 or 8 bytes (after 0x67) */
	uint8_t rex;		/* effective REX byte, 0 if none */
	bool lock;
	bool has_modrm;
	uint8_t modrm;
	bool has_sib;
	uint8_t sib;
	unsigned disp_size;	/* 0, 1, 2 or 4 */
	int64_t disp;		/* sign-extended displacement */
	bool rip_relative;	/* 64-bit mode mod=00 r/m=101: RIP/EIP + disp32 */
	uint64_t moffs;		/* A0-A3: the offset (addr_size bytes) */

	bool truncated;		/* -EINVAL only because the bytes ran out before 15 */
	char err[96];		/* why decoding failed; "" on success */
};

/*
 * Decode the instruction at bytes[0 .. avail). avail is how many bytes the
 * VMM could fetch at the guest RIP (at most 15 are looked at; fewer if the
 * fetch hit the end of a mapping). Never reads at or past avail.
 * Returns 0 and fills *out; -ENOTSUP for a well-formed instruction we do
 * not emulate (out->err names the opcode, e.g. "opcode 0x81 /7 (cmp)");
 * -EINVAL for bytes the CPU could not have executed as an MMIO access:
 * truncated (needs more than avail bytes), longer than 15 bytes, a register
 * operand (ModRM.mod = 3), LOCK where it is #UD, a reserved ModRM.reg in
 * C6/C7, or bad arguments. out->err says what and at which byte offset.
 */
int mmio_decode(const uint8_t *bytes, unsigned avail, enum mmio_mode mode,
		struct mmio_insn *out);

/*
 * Perform a decoded instruction against the device at guest-physical
 * address gpa (from the EPT-violation exit) and update regs: destination
 * register per the architectural rules (32-bit results zero-extend in
 * 64-bit mode; 8/16-bit keep the other bits), and for TEST/AND/OR/XOR
 * ZF SF PF from the result, CF = OF = 0 (AF, undefined, is left alone).
 * Does not touch RIP: the caller advances it by in->len on success.
 * Returns 0; a callback's negative return unchanged (a positive one as
 * -EIO), with regs untouched; -EINVAL for a NULL/inconsistent argument.
 * Read-modify-write does the read, then the write; if the write fails the
 * read has still happened.
 */
int mmio_emulate(const struct mmio_insn *in, struct mmio_regs *regs, uint64_t gpa,
		 const struct mmio_ops *ops);

#endif /* MMIO_INSN_H */
