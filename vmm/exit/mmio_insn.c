/*
 * MMIO instruction decoder and emulator (see <mmio_insn.h>).
 *
 * An x86 instruction is: legacy prefixes, an optional REX (64-bit mode
 * only, and only if it immediately precedes the opcode), one or two opcode
 * bytes, then for most of ours a ModRM byte, an optional SIB byte, a
 * displacement and an immediate (SDM vol. 2, 2.1). We only need the
 * length, the operand size, the direction and the non-memory operand, but
 * the length has to be exact - the VMM advances RIP by it - so every
 * addressing form is walked, in 16-bit addressing (no SIB, disp16) and in
 * 32/64-bit addressing (SIB when r/m = 100, disp32 for mod = 00 r/m = 101,
 * which 64-bit mode reinterprets as RIP-relative).
 *
 * Invariants: all byte reads go through fetch(), which refuses offsets at
 * or beyond min(avail, 15), so a hostile or truncated stream yields
 * -EINVAL and never an out-of-bounds read; the prefix loop is bounded by
 * that same limit. Decoding fills a caller-owned struct and has no state.
 * Emulation computes everything into locals and only writes the guest
 * registers after every device callback has succeeded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <vmm/mmio_insn.h>

/* Descriptor flags for the one-byte opcodes we emulate. */
#define OPF_OK		0x001	/* emulated */
#define OPF_BYTE	0x002	/* 8-bit operands */
#define OPF_MEM_DST	0x004	/* memory is the destination operand */
#define OPF_MOFFS	0x008	/* no ModRM: a moffs of address size follows */
#define OPF_IMM8	0x010	/* an imm8 follows ModRM/SIB/disp */
#define OPF_IMMZ	0x020	/* an imm16 or imm32 (by operand size) follows */
#define OPF_GRP_ALU	0x040	/* ModRM.reg picks the operation (80 81 83) */
#define OPF_GRP_MOV	0x080	/* ModRM.reg must be 0 (C6 C7); else #UD */
#define OPF_GRP_TEST	0x100	/* ModRM.reg must be 0 (F6 F7); others not emulated */

struct op_desc {
	uint16_t flags;
	uint8_t alu;		/* enum mmio_alu, unless a group */
};

#define ALU4(base, op)							\
	[(base) + 0] = { OPF_OK | OPF_BYTE | OPF_MEM_DST, (op) },	\
	[(base) + 1] = { OPF_OK | OPF_MEM_DST, (op) },			\
	[(base) + 2] = { OPF_OK | OPF_BYTE, (op) },			\
	[(base) + 3] = { OPF_OK, (op) }

static const struct op_desc one_byte_ops[256] = {
	ALU4(0x08, MMIO_ALU_OR),
	ALU4(0x20, MMIO_ALU_AND),
	ALU4(0x30, MMIO_ALU_XOR),
	[0x80] = { OPF_OK | OPF_BYTE | OPF_MEM_DST | OPF_IMM8 | OPF_GRP_ALU, 0 },
	[0x81] = { OPF_OK | OPF_MEM_DST | OPF_IMMZ | OPF_GRP_ALU, 0 },
	[0x83] = { OPF_OK | OPF_MEM_DST | OPF_IMM8 | OPF_GRP_ALU, 0 },
	[0x84] = { OPF_OK | OPF_BYTE | OPF_MEM_DST, MMIO_ALU_TEST },
	[0x85] = { OPF_OK | OPF_MEM_DST, MMIO_ALU_TEST },
	ALU4(0x88, MMIO_ALU_MOV),
	[0xa0] = { OPF_OK | OPF_BYTE | OPF_MOFFS, MMIO_ALU_MOV },
	[0xa1] = { OPF_OK | OPF_MOFFS, MMIO_ALU_MOV },
	[0xa2] = { OPF_OK | OPF_BYTE | OPF_MOFFS | OPF_MEM_DST, MMIO_ALU_MOV },
	[0xa3] = { OPF_OK | OPF_MOFFS | OPF_MEM_DST, MMIO_ALU_MOV },
	[0xc6] = { OPF_OK | OPF_BYTE | OPF_MEM_DST | OPF_IMM8 | OPF_GRP_MOV, MMIO_ALU_MOV },
	[0xc7] = { OPF_OK | OPF_MEM_DST | OPF_IMMZ | OPF_GRP_MOV, MMIO_ALU_MOV },
	[0xf6] = { OPF_OK | OPF_BYTE | OPF_MEM_DST | OPF_IMM8 | OPF_GRP_TEST, MMIO_ALU_TEST },
	[0xf7] = { OPF_OK | OPF_MEM_DST | OPF_IMMZ | OPF_GRP_TEST, MMIO_ALU_TEST },
};

/* Group 1 (80 81 83) operations by ModRM.reg; -1 = not emulated. */
static const int grp1_alu[8] = { -1, MMIO_ALU_OR, -1, -1, MMIO_ALU_AND, -1, MMIO_ALU_XOR, -1 };
static const char *const grp1_name[8] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
/* Group 3 (F6 F7) by ModRM.reg: only /0 TEST is emulated (/1 is an undocumented alias). */
static const char *const grp3_name[8] = { "test", "test", "not", "neg", "mul", "imul", "div",
					  "idiv" };

struct cursor {
	const uint8_t *bytes;
	unsigned limit;		/* min(avail, 15) */
	unsigned avail;		/* as passed, for messages */
	unsigned pos;
	struct mmio_insn *out;
};

/* Decoder state that does not outlive mmio_decode(). */
struct prefixes {
	bool opsize;		/* 0x66 */
	bool addrsize;		/* 0x67 */
	uint8_t rep;		/* 0xf2/0xf3, or 0 */
};

static int fail(struct mmio_insn *out, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct mmio_insn *out, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->err, sizeof(out->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* Next byte of the instruction; what names it in the truncation message. */
static int fetch(struct cursor *c, const char *what, uint8_t *v)
{
	if (c->pos >= MMIO_INSN_MAX_LEN)
		return fail(c->out, -EINVAL, "%s at byte %u: instruction longer than %u bytes",
			    what, c->pos, MMIO_INSN_MAX_LEN);
	if (c->pos >= c->limit) {
		c->out->truncated = true;
		return fail(c->out, -EINVAL, "truncated: %s at byte %u but only %u bytes available",
			    what, c->pos, c->avail);
	}
	*v = c->bytes[c->pos++];
	return 0;
}

/* n (1, 2, 4 or 8) little-endian bytes, sign-extended to 64 bits. */
static int fetch_sx(struct cursor *c, unsigned n, const char *what, int64_t *v)
{
	uint64_t x = 0;
	unsigned i;
	uint8_t b = 0;
	int rc;

	for (i = 0; i < n; i++) {
		rc = fetch(c, what, &b);
		if (rc)
			return rc;
		x |= (uint64_t)b << (8 * i);
	}
	if (n < 8 && (x >> (8 * n - 1)) & 1)
		x |= ~0ULL << (8 * n);
	*v = (int64_t)x;
	return 0;
}

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return false;
	}
}

/*
 * Consume prefixes; returns with the first opcode byte in *op. A REX
 * counts only if nothing but the opcode follows it (SDM 2.2.1).
 */
static int decode_prefixes(struct cursor *c, struct prefixes *p, uint8_t *op)
{
	struct mmio_insn *out = c->out;
	uint8_t b = 0;
	int rc;

	for (;;) {
		rc = fetch(c, "opcode", &b);
		if (rc)
			return rc;
		if (out->mode == MMIO_MODE64 && (b & 0xf0) == 0x40) {
			out->rex = b;
			continue;
		}
		if (!is_legacy_prefix(b))
			break;
		out->rex = 0;
		if (b == 0x66)
			p->opsize = true;
		else if (b == 0x67)
			p->addrsize = true;
		else if (b == 0xf0)
			out->lock = true;
		else if (b == 0xf2 || b == 0xf3)
			p->rep = b;
	}
	*op = b;
	return 0;
}

static void set_sizes(struct mmio_insn *out, const struct prefixes *p)
{
	static const unsigned asz[3][2] = { { 2, 4 }, { 4, 2 }, { 8, 4 } };

	out->addr_size = asz[out->mode][p->addrsize];
	if (out->rex & 0x08)
		out->op_size = 8;
	else if ((out->mode == MMIO_MODE16) != p->opsize)
		out->op_size = 2;
	else
		out->op_size = 4;
}

/* 0F xx: only MOVZX/MOVSX from memory. */
static int decode_two_byte(struct cursor *c, struct mmio_insn *out)
{
	uint8_t op2;
	int rc;

	rc = fetch(c, "second opcode byte", &op2);
	if (rc)
		return rc;
	out->opcode = 0x0f00 | op2;
	switch (op2) {
	case 0xb6: case 0xb7: case 0xbe: case 0xbf:
		break;
	default:
		return fail(out, -ENOTSUP, "opcode 0x0f 0x%02x not emulated", op2);
	}
	out->alu = MMIO_ALU_MOV;
	out->ext = (op2 & 0x08) ? MMIO_EXT_SIGN : MMIO_EXT_ZERO;
	out->reg_size = out->op_size;
	out->op_size = (op2 & 1) ? 2 : 1;
	out->has_modrm = true;
	return 0;
}

/* Apply the one-byte descriptor; the ModRM-dependent part comes later. */
static int decode_one_byte(struct mmio_insn *out, uint8_t op, const struct op_desc *d)
{
	out->opcode = op;
	if (!(d->flags & OPF_OK))
		return fail(out, -ENOTSUP, "opcode 0x%02x not emulated", op);
	if (d->flags & OPF_BYTE)
		out->op_size = 1;
	out->reg_size = out->op_size;
	out->alu = (enum mmio_alu)d->alu;
	out->mem_is_dst = d->flags & OPF_MEM_DST;
	out->src_is_imm = d->flags & (OPF_IMM8 | OPF_IMMZ);
	out->has_modrm = !(d->flags & OPF_MOFFS);
	return 0;
}

/* ModRM.reg as an operation selector (80 81 83 C6 C7 F6 F7). */
static int decode_group(struct mmio_insn *out, const struct op_desc *d, unsigned reg)
{
	if (d->flags & OPF_GRP_ALU) {
		if (grp1_alu[reg] < 0)
			return fail(out, -ENOTSUP, "opcode 0x%02x /%u (%s) not emulated",
				    out->opcode, reg, grp1_name[reg]);
		out->alu = (enum mmio_alu)grp1_alu[reg];
	} else if ((d->flags & OPF_GRP_MOV) && reg != 0) {
		return fail(out, -EINVAL, "opcode 0x%02x /%u: reserved ModRM.reg (#UD)",
			    out->opcode, reg);
	} else if ((d->flags & OPF_GRP_TEST) && reg != 0) {
		return fail(out, -ENOTSUP, "opcode 0x%02x /%u (%s) not emulated",
			    out->opcode, reg, grp3_name[reg]);
	}
	return 0;
}

/* The register operand from ModRM.reg; 8-bit encodings 4-7 are AH..BH without REX. */
static void set_reg(struct mmio_insn *out, unsigned reg)
{
	reg |= (out->rex & 0x04) ? 8 : 0;
	if (out->reg_size == 1 && !out->rex && reg >= 4 && reg < 8) {
		out->reg = (uint8_t)(reg - 4);
		out->reg_high8 = true;
	} else {
		out->reg = (uint8_t)reg;
	}
}

/* Displacement size for ModRM (and SIB) in 32/64-bit addressing. */
static int modrm_disp32(struct cursor *c, unsigned mod, unsigned rm, unsigned *disp)
{
	struct mmio_insn *out = c->out;
	int rc;

	*disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	if (rm == 4) {
		rc = fetch(c, "SIB", &out->sib);
		if (rc)
			return rc;
		out->has_sib = true;
		if (mod == 0 && (out->sib & 7) == 5)
			*disp = 4;	/* no base: [index*scale + disp32] */
	} else if (mod == 0 && rm == 5) {
		*disp = 4;		/* disp32, or RIP + disp32 in 64-bit mode */
		out->rip_relative = out->mode == MMIO_MODE64;
	}
	return 0;
}

static int decode_modrm(struct cursor *c, const struct op_desc *d)
{
	struct mmio_insn *out = c->out;
	unsigned mod, reg, rm, disp;
	int rc;

	rc = fetch(c, "ModRM", &out->modrm);
	if (rc)
		return rc;
	mod = out->modrm >> 6;
	reg = (out->modrm >> 3) & 7;
	rm = out->modrm & 7;
	if (d) {
		rc = decode_group(out, d, reg);
		if (rc)
			return rc;
	}
	if (mod == 3)
		return fail(out, -EINVAL,
			    "opcode 0x%02x: ModRM 0x%02x at byte %u is a register operand, "
			    "not memory",
			    out->opcode, out->modrm, c->pos - 1);
	if (!out->src_is_imm)
		set_reg(out, reg);
	if (out->addr_size == 2) {
		disp = mod == 1 ? 1 : (mod == 2 || (mod == 0 && rm == 6)) ? 2 : 0;
	} else {
		rc = modrm_disp32(c, mod, rm, &disp);
		if (rc)
			return rc;
	}
	out->disp_size = disp;
	return disp ? fetch_sx(c, disp, "displacement", &out->disp) : 0;
}

static int decode_operands(struct cursor *c, const struct op_desc *d)
{
	struct mmio_insn *out = c->out;
	int64_t v;
	int rc;

	if (out->has_modrm)
		return decode_modrm(c, d);
	/* moffs: AL/eAX/rAX <-> [offset of address size] */
	out->reg = 0;
	rc = fetch_sx(c, out->addr_size, "moffs", &v);
	if (rc)
		return rc;
	out->moffs = (uint64_t)v;
	if (out->addr_size < 8)
		out->moffs &= (1ULL << (8 * out->addr_size)) - 1;
	return 0;
}

static int decode_imm(struct cursor *c, const struct op_desc *d)
{
	struct mmio_insn *out = c->out;
	int64_t v;
	int rc;

	if (!d || !(d->flags & (OPF_IMM8 | OPF_IMMZ)))
		return 0;
	rc = fetch_sx(c, (d->flags & OPF_IMM8) ? 1 : out->op_size == 2 ? 2 : 4, "immediate", &v);
	if (rc)
		return rc;
	out->imm = (uint64_t)v;
	return 0;
}

/* Prefix rules checked once the whole instruction is known. */
static int check_prefixes(struct mmio_insn *out, const struct prefixes *p)
{
	bool lockable = out->mem_is_dst && out->alu != MMIO_ALU_MOV && out->alu != MMIO_ALU_TEST;

	if (out->lock && !lockable)
		return fail(out, -EINVAL, "LOCK prefix with opcode 0x%02x is #UD", out->opcode);
	if (p->rep)
		return fail(out, -ENOTSUP, "prefix 0x%02x with opcode 0x%02x not emulated",
			    p->rep, out->opcode);
	return 0;
}

int mmio_decode(const uint8_t *bytes, unsigned avail, enum mmio_mode mode,
		struct mmio_insn *out)
{
	struct cursor c = { bytes, avail, avail, 0, out };
	struct prefixes p = { false, false, 0 };
	const struct op_desc *d = NULL;
	uint8_t op;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!bytes)
		return fail(out, -EINVAL, "no instruction bytes");
	if ((unsigned)mode > MMIO_MODE64)
		return fail(out, -EINVAL, "bad mode %u", (unsigned)mode);
	out->mode = mode;
	if (c.limit > MMIO_INSN_MAX_LEN)
		c.limit = MMIO_INSN_MAX_LEN;

	rc = decode_prefixes(&c, &p, &op);
	if (rc)
		return rc;
	set_sizes(out, &p);
	if (op == 0x0f) {
		rc = decode_two_byte(&c, out);
	} else {
		d = &one_byte_ops[op];
		rc = decode_one_byte(out, op, d);
	}
	if (!rc)
		rc = decode_operands(&c, d);
	if (!rc)
		rc = decode_imm(&c, d);
	if (!rc)
		rc = check_prefixes(out, &p);
	if (rc)
		return rc;
	out->is_write = out->mem_is_dst && out->alu != MMIO_ALU_TEST;
	out->is_read = out->alu != MMIO_ALU_MOV || !out->mem_is_dst;
	out->len = c.pos;
	return 0;
}

/* ---- emulation ---- */

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static uint64_t reg_get(const struct mmio_regs *regs, unsigned reg, bool high8, unsigned size)
{
	uint64_t v = regs->gpr[reg];

	return (high8 ? v >> 8 : v) & size_mask(size);
}

/* Architectural register write: 32-bit zero-extends in 64-bit mode, 8/16-bit merge. */
static void reg_set(struct mmio_regs *regs, enum mmio_mode mode, unsigned reg, bool high8,
		    unsigned size, uint64_t val)
{
	uint64_t *r = &regs->gpr[reg];
	uint64_t m = size_mask(size);

	if (size == 8 || (size == 4 && mode == MMIO_MODE64))
		*r = val & m;
	else if (high8)
		*r = (*r & ~(m << 8)) | ((val & m) << 8);
	else
		*r = (*r & ~m) | (val & m);
}

static uint64_t extend(uint64_t v, unsigned from, enum mmio_ext ext)
{
	if (ext == MMIO_EXT_SIGN && from < 8 && (v >> (8 * from - 1)) & 1)
		v |= ~size_mask(from);
	return v;
}

#define RFLAGS_CF	(1ULL << 0)
#define RFLAGS_PF	(1ULL << 2)
#define RFLAGS_ZF	(1ULL << 6)
#define RFLAGS_SF	(1ULL << 7)
#define RFLAGS_OF	(1ULL << 11)

/* Flags of a logical operation (AND/OR/XOR/TEST): SDM vol. 2 "Flags Affected". */
static uint64_t logic_flags(uint64_t rflags, uint64_t result, unsigned size)
{
	uint8_t low = (uint8_t)result;

	rflags &= ~(RFLAGS_CF | RFLAGS_PF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);
	if (!(result & size_mask(size)))
		rflags |= RFLAGS_ZF;
	if ((result >> (8 * size - 1)) & 1)
		rflags |= RFLAGS_SF;
	low ^= low >> 4;
	low ^= low >> 2;
	low ^= low >> 1;
	if (!(low & 1))
		rflags |= RFLAGS_PF;	/* even number of set bits in the low byte */
	return rflags;
}

static int cb_result(int rc)
{
	return rc > 0 ? -EIO : rc;
}

static int dev_read(const struct mmio_ops *ops, uint64_t gpa, unsigned size, uint64_t *val)
{
	uint64_t v = 0;
	int rc;

	rc = cb_result(ops->read(ops->ctx, gpa, size, &v));
	*val = v & size_mask(size);
	return rc;
}

static int emulate_mov(const struct mmio_insn *in, struct mmio_regs *regs, uint64_t gpa,
		       const struct mmio_ops *ops)
{
	uint64_t v;
	int rc;

	if (in->mem_is_dst) {
		v = in->src_is_imm ? in->imm : reg_get(regs, in->reg, in->reg_high8, in->op_size);
		v &= size_mask(in->op_size);
		return cb_result(ops->write(ops->ctx, gpa, in->op_size, v));
	}
	rc = dev_read(ops, gpa, in->op_size, &v);
	if (rc)
		return rc;
	v = extend(v, in->op_size, in->ext);
	reg_set(regs, in->mode, in->reg, in->reg_high8, in->reg_size, v);
	return 0;
}

static int emulate_logic(const struct mmio_insn *in, struct mmio_regs *regs, uint64_t gpa,
			 const struct mmio_ops *ops)
{
	unsigned size = in->op_size;
	uint64_t m, s, r;
	int rc;

	rc = dev_read(ops, gpa, size, &m);
	if (rc)
		return rc;
	s = in->src_is_imm ? in->imm : reg_get(regs, in->reg, in->reg_high8, size);
	s &= size_mask(size);
	if (in->alu == MMIO_ALU_OR)
		r = m | s;
	else if (in->alu == MMIO_ALU_XOR)
		r = m ^ s;
	else
		r = m & s;
	if (in->alu != MMIO_ALU_TEST) {
		if (in->mem_is_dst) {
			rc = cb_result(ops->write(ops->ctx, gpa, size, r));
			if (rc)
				return rc;
		} else {
			reg_set(regs, in->mode, in->reg, in->reg_high8, size, r);
		}
	}
	regs->rflags = logic_flags(regs->rflags, r, size);
	return 0;
}

static bool valid_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

int mmio_emulate(const struct mmio_insn *in, struct mmio_regs *regs, uint64_t gpa,
		 const struct mmio_ops *ops)
{
	if (!in || !regs || !ops || !ops->read || !ops->write)
		return -EINVAL;
	if (!valid_size(in->op_size) || !valid_size(in->reg_size) || in->reg > 15 ||
	    (in->reg_high8 && in->reg > 3) || (unsigned)in->mode > MMIO_MODE64 ||
	    (unsigned)in->alu > MMIO_ALU_XOR || (unsigned)in->ext > MMIO_EXT_SIGN)
		return -EINVAL;
	if (in->alu == MMIO_ALU_MOV)
		return emulate_mov(in, regs, gpa, ops);
	return emulate_logic(in, regs, gpa, ops);
}
