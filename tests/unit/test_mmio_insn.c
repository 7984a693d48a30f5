/*
 * Host unit tests for the MMIO instruction decoder/emulator. Byte vectors
 * come from GNU as (--64 / --32 / .code16) and objdump, or are hand-encoded
 * from the SDM where as would pick another form; a fake device records
 * every access (address, size, value, direction).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/mmio_insn.h>

#define M16	MMIO_MODE16
#define M32	MMIO_MODE32
#define M64	MMIO_MODE64

#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RSP 4
#define RSI 6
#define R8 8
#define R9 9
#define R10 10
#define R12 12
#define R15 15

#define F_CF	(1ULL << 0)
#define F_PF	(1ULL << 2)
#define F_AF	(1ULL << 4)
#define F_ZF	(1ULL << 6)
#define F_SF	(1ULL << 7)
#define F_OF	(1ULL << 11)

#define GPA	0xfee000b0ULL

/* ---- fake device ---- */

struct access {
	uint64_t gpa;
	unsigned size;
	uint64_t val;
	bool write;
};

struct fake_dev {
	unsigned n;
	struct access log[8];
	uint64_t read_val;	/* what reads return (whole 64 bits, to test masking) */
	int read_rc, write_rc;
};

static int dev_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct fake_dev *d = ctx;

	assert_true(d->n < 8);
	d->log[d->n++] = (struct access){ gpa, size, 0, false };
	*val = d->read_val;
	return d->read_rc;
}

static int dev_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
	struct fake_dev *d = ctx;

	assert_true(d->n < 8);
	d->log[d->n++] = (struct access){ gpa, size, val, true };
	return d->write_rc;
}

static struct fake_dev dev;
static struct mmio_ops ops = { &dev, dev_read, dev_write };
static struct mmio_regs regs;
static struct mmio_insn insn;

static int setup(void **state)
{
	unsigned i;

	(void)state;
	memset(&dev, 0, sizeof(dev));
	memset(&insn, 0, sizeof(insn));
	for (i = 0; i < 16; i++)
		regs.gpr[i] = 0x1111111111111111ULL * (i + 1);	/* distinctive values */
	regs.rflags = 0x2;
	return 0;
}

/* Decode into insn; the bytes must form exactly one instruction of length n. */
static void decode_ok(enum mmio_mode mode, const uint8_t *b, unsigned n)
{
	int rc = mmio_decode(b, n, mode, &insn);

	if (rc)
		fail_msg("decode failed (%d): %s", rc, insn.err);
	assert_int_equal(insn.len, n);
	assert_string_equal(insn.err, "");
}

#define BYTES(...)	((const uint8_t[]){ __VA_ARGS__ })
#define NBYTES(...)	(unsigned)sizeof((const uint8_t[]){ __VA_ARGS__ })
#define DEC(mode, ...)	decode_ok(mode, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__))

/* Decode expecting rc, and err containing substring s. */
static void decode_err(enum mmio_mode mode, const uint8_t *b, unsigned n, int rc, const char *s)
{
	assert_int_equal(mmio_decode(b, n, mode, &insn), rc);
	if (!strstr(insn.err, s))
		fail_msg("err \"%s\" lacks \"%s\"", insn.err, s);
}

#define DEC_ERR(mode, rc, s, ...) decode_err(mode, BYTES(__VA_ARGS__), NBYTES(__VA_ARGS__), rc, s)

static void emulate_ok(void)
{
	assert_int_equal(mmio_emulate(&insn, &regs, GPA, &ops), 0);
}

static void assert_access(unsigned i, bool write, unsigned size, uint64_t val)
{
	assert_true(i < dev.n);
	assert_int_equal(dev.log[i].gpa, GPA);
	assert_int_equal(dev.log[i].write, write);
	assert_int_equal(dev.log[i].size, size);
	if (write)
		assert_int_equal(dev.log[i].val, val);
}

/* ---- MOV stores ---- */

static void test_mov_store_32(void **state)
{
	(void)state;
	DEC(M64, 0x89, 0x43, 0x10);			/* mov %eax,0x10(%rbx) */
	assert_int_equal(insn.op_size, 4);
	assert_true(insn.is_write);
	assert_false(insn.is_read);
	assert_int_equal(insn.reg, RAX);
	assert_int_equal(insn.disp_size, 1);
	assert_int_equal(insn.disp, 0x10);
	emulate_ok();
	assert_int_equal(dev.n, 1);
	assert_access(0, true, 4, 0x11111111);
	assert_int_equal(regs.gpr[RAX], 0x1111111111111111ULL);	/* untouched */
	assert_int_equal(regs.rflags, 0x2);
}

static void test_mov_store_rex_w_r9(void **state)
{
	(void)state;
	DEC(M64, 0x4c, 0x89, 0x08);			/* mov %r9,(%rax) */
	assert_int_equal(insn.op_size, 8);
	assert_int_equal(insn.reg, R9);
	assert_int_equal(insn.rex, 0x4c);
	emulate_ok();
	assert_access(0, true, 8, 0xaaaaaaaaaaaaaaaaULL);
	/* REX.B only picks the base register: the source stays EAX */
	DEC(M64, 0x41, 0x89, 0x00);			/* mov %eax,(%r8) */
	assert_int_equal(insn.reg, RAX);
	assert_int_equal(insn.op_size, 4);
}

static void test_sib_disp32_rex_rx(void **state)
{
	(void)state;
	/* mov %r10d,0x12345678(%rsp,%r11,4) */
	DEC(M64, 0x46, 0x89, 0x94, 0x9c, 0x78, 0x56, 0x34, 0x12);
	assert_int_equal(insn.reg, R10);
	assert_true(insn.has_sib);
	assert_int_equal(insn.sib, 0x9c);
	assert_int_equal(insn.disp_size, 4);
	assert_int_equal(insn.disp, 0x12345678);
	DEC(M64, 0x89, 0x44, 0x4b, 0x10);		/* mov %eax,0x10(%rbx,%rcx,2) */
	DEC(M64, 0x8b, 0x04, 0xc5, 0, 0, 0, 0);		/* mov 0x0(,%rax,8),%eax: no base */
	assert_int_equal(insn.disp_size, 4);
	DEC(M64, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12);	/* absolute, not RIP-relative */
	assert_false(insn.rip_relative);
	DEC(M32, 0x8b, 0x14, 0x8d, 0, 0, 0, 0);		/* mov 0x0(,%ecx,4),%edx */
	assert_int_equal(insn.reg, RDX);
	DEC(M32, 0x88, 0x6c, 0x02, 0x01);		/* mov %ch,0x1(%edx,%eax,1) */
	assert_true(insn.reg_high8);
	assert_int_equal(insn.reg, RCX);
}

static void test_rip_relative(void **state)
{
	(void)state;
	DEC(M64, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);	/* mov 0x100(%rip),%eax */
	assert_true(insn.rip_relative);
	assert_int_equal(insn.disp, 0x100);
	assert_int_equal(insn.addr_size, 8);
	DEC(M64, 0x67, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);	/* mov 0x100(%eip),%eax */
	assert_true(insn.rip_relative);
	assert_int_equal(insn.addr_size, 4);
	/* the same bytes in 32-bit mode are a plain disp32 */
	DEC(M32, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);
	assert_false(insn.rip_relative);
	/* negative displacement is sign-extended */
	DEC(M64, 0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff);
	assert_int_equal(insn.disp, -16);
}

/* ---- loads and the register-write rules ---- */

static void test_load_32_zero_extends_in_64(void **state)
{
	(void)state;
	DEC(M64, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);
	assert_true(insn.is_read);
	assert_false(insn.is_write);
	dev.read_val = 0xffffffff89abcdefULL;		/* junk above 32 bits is dropped */
	emulate_ok();
	assert_access(0, false, 4, 0);
	assert_int_equal(regs.gpr[RAX], 0x0000000089abcdefULL);
}

static void test_load_32_keeps_upper_in_32(void **state)
{
	(void)state;
	DEC(M32, 0xa1, 0xb0, 0x00, 0xe0, 0xfe);		/* mov 0xfee000b0,%eax */
	assert_int_equal(insn.moffs, 0xfee000b0ULL);
	dev.read_val = 0x12345678;
	emulate_ok();
	assert_int_equal(regs.gpr[RAX], 0x1111111112345678ULL);
	/* 16-bit load keeps bits 63:16, in every mode */
	DEC(M64, 0x66, 0x8b, 0x06);			/* mov (%rsi),%ax */
	assert_int_equal(insn.op_size, 2);
	dev.read_val = 0xbeef;
	emulate_ok();
	assert_int_equal(regs.gpr[RAX], 0x111111111234beefULL);
}

static void test_high8_vs_rex(void **state)
{
	(void)state;
	DEC(M64, 0x88, 0x27);				/* mov %ah,(%rdi) */
	assert_true(insn.reg_high8);
	assert_int_equal(insn.reg, RAX);
	regs.gpr[RAX] = 0x1234;
	emulate_ok();
	assert_access(0, true, 1, 0x12);
	DEC(M64, 0x40, 0x88, 0x27);			/* mov %spl,(%rdi): any REX */
	assert_false(insn.reg_high8);
	assert_int_equal(insn.reg, RSP);
	DEC(M64, 0x40, 0x88, 0x37);			/* mov %sil,(%rdi) */
	assert_int_equal(insn.reg, RSI);
	assert_false(insn.reg_high8);
	regs.gpr[RSI] = 0xabcd;
	emulate_ok();
	assert_access(1, true, 1, 0xcd);
}

static void test_load_8_merges(void **state)
{
	(void)state;
	DEC(M64, 0x8a, 0x39);				/* mov (%rcx),%bh */
	assert_true(insn.reg_high8);
	assert_int_equal(insn.reg, RBX);
	dev.read_val = 0x5a;
	emulate_ok();
	assert_access(0, false, 1, 0);
	assert_int_equal(regs.gpr[RBX], 0x4444444444445a44ULL);
	DEC(M64, 0x44, 0x8a, 0x21);			/* mov (%rcx),%r12b */
	assert_int_equal(insn.reg, R12);
	assert_false(insn.reg_high8);
	dev.read_val = 0xff;
	emulate_ok();
	assert_int_equal(regs.gpr[R12], 0xddddddddddddddffULL);
}

static void test_operand_size_prefixes(void **state)
{
	(void)state;
	DEC(M64, 0x66, 0x89, 0x55, 0x08);		/* mov %dx,0x8(%rbp) */
	assert_int_equal(insn.op_size, 2);
	emulate_ok();
	assert_access(0, true, 2, 0x3333);
	DEC(M64, 0x4c, 0x8b, 0x3a);			/* mov (%rdx),%r15 */
	assert_int_equal(insn.op_size, 8);
	dev.read_val = 0x0123456789abcdefULL;
	emulate_ok();
	assert_int_equal(regs.gpr[R15], 0x0123456789abcdefULL);
	DEC(M64, 0x66, 0x48, 0x89, 0x08);		/* REX.W beats 0x66 */
	assert_int_equal(insn.op_size, 8);
	DEC(M64, 0x48, 0x66, 0x89, 0x08);		/* REX not last: ignored */
	assert_int_equal(insn.op_size, 2);
	assert_int_equal(insn.rex, 0);
	DEC(M32, 0x66, 0x8b, 0x06);			/* 32-bit mode: 0x66 -> 16 */
	assert_int_equal(insn.op_size, 2);
	DEC(M16, 0x66, 0x89, 0x04);			/* 16-bit mode: 0x66 -> 32 */
	assert_int_equal(insn.op_size, 4);
	DEC(M16, 0x89, 0x07);
	assert_int_equal(insn.op_size, 2);
}

static void test_segment_overrides_ignored(void **state)
{
	(void)state;
	DEC(M64, 0x64, 0x8b, 0x00);			/* mov %fs:(%rax),%eax */
	assert_int_equal(insn.op_size, 4);
	DEC(M64, 0x2e, 0x3e, 0x26, 0x36, 0x65, 0x89, 0x00);
	assert_int_equal(insn.opcode, 0x89);
	DEC(M16, 0x26, 0x89, 0x07);			/* mov %ax,%es:(%bx) */
}

/* ---- immediates ---- */

static void test_mov_imm(void **state)
{
	(void)state;
	DEC(M64, 0xc6, 0x40, 0x03, 0x5a);		/* movb $0x5a,0x3(%rax) */
	assert_true(insn.src_is_imm);
	emulate_ok();
	assert_access(0, true, 1, 0x5a);
	DEC(M64, 0xc7, 0x43, 0x20, 0xef, 0xbe, 0xad, 0xde);	/* movl $0xdeadbeef,0x20(%rbx) */
	emulate_ok();
	assert_access(1, true, 4, 0xdeadbeef);
	DEC(M64, 0x49, 0xc7, 0x45, 0x00, 0xff, 0xff, 0xff, 0xff);	/* movq $-1,0x0(%r13) */
	assert_int_equal(insn.op_size, 8);
	emulate_ok();
	assert_access(2, true, 8, 0xffffffffffffffffULL);
	DEC(M64, 0x66, 0xc7, 0x06, 0x34, 0x12);		/* movw $0x1234,(%rsi): imm16 */
	emulate_ok();
	assert_access(3, true, 2, 0x1234);
	DEC(M32, 0xc7, 0x85, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12);
	assert_int_equal(insn.imm, 0x12345678);
	DEC(M16, 0xc7, 0x47, 0x02, 0xaa, 0x55);		/* movw $0x55aa,0x2(%bx) */
	assert_int_equal(insn.imm & 0xffff, 0x55aa);
	DEC(M16, 0x66, 0xc7, 0x05, 0x44, 0x33, 0x22, 0x11);	/* movl $0x11223344,(%di) */
	assert_int_equal(insn.imm, 0x11223344);
}

/* ---- MOVZX / MOVSX ---- */

static void test_movzx_movsx(void **state)
{
	(void)state;
	DEC(M64, 0x0f, 0xb6, 0x08);			/* movzbl (%rax),%ecx */
	assert_int_equal(insn.opcode, 0x0fb6);
	assert_int_equal(insn.op_size, 1);
	assert_int_equal(insn.reg_size, 4);
	dev.read_val = 0x80;
	emulate_ok();
	assert_access(0, false, 1, 0);
	assert_int_equal(regs.gpr[RCX], 0x80);
	DEC(M64, 0x4c, 0x0f, 0xb7, 0x40, 0x04);		/* movzwq 0x4(%rax),%r8 */
	assert_int_equal(insn.reg, R8);
	assert_int_equal(insn.reg_size, 8);
	dev.read_val = 0xfffe;
	emulate_ok();
	assert_access(1, false, 2, 0);
	assert_int_equal(regs.gpr[R8], 0xfffe);
	DEC(M64, 0x48, 0x0f, 0xbe, 0x00);		/* movsbq (%rax),%rax */
	dev.read_val = 0x80;
	emulate_ok();
	assert_int_equal(regs.gpr[RAX], 0xffffffffffffff80ULL);
	DEC(M64, 0x0f, 0xbf, 0x13);			/* movswl (%rbx),%edx */
	dev.read_val = 0x8000;
	emulate_ok();
	assert_int_equal(regs.gpr[RDX], 0xffff8000ULL);	/* sign to 32, zero above */
	DEC(M64, 0x66, 0x0f, 0xbe, 0x08);		/* movsbw (%rax),%cx */
	assert_int_equal(insn.reg_size, 2);
	dev.read_val = 0x81;
	emulate_ok();
	assert_int_equal(regs.gpr[RCX], 0xff81);	/* bits 63:16 of the old 0x80 */
	DEC(M16, 0x0f, 0xb6, 0x07);			/* movzbw (%bx),%ax */
	assert_int_equal(insn.reg_size, 2);
	DEC(M32, 0x0f, 0xbf, 0x01);			/* movswl (%ecx),%eax */
	dev.read_val = 0x7fff;
	emulate_ok();
	assert_int_equal(regs.gpr[RAX], 0xffffffff00007fffULL);	/* 32-bit mode keeps 63:32 */
}

/* ---- moffs ---- */

static void test_moffs_64(void **state)
{
	(void)state;
	/* movabs 0x123456789abcdef0,%al */
	DEC(M64, 0xa0, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12);
	assert_int_equal(insn.moffs, 0x123456789abcdef0ULL);
	assert_int_equal(insn.op_size, 1);
	assert_false(insn.has_modrm);
	dev.read_val = 0x77;
	emulate_ok();
	assert_int_equal(regs.gpr[RAX], 0x1111111111111177ULL);
	/* movabs %eax,0xfedcba9876543210 */
	DEC(M64, 0xa3, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe);
	assert_int_equal(insn.moffs, 0xfedcba9876543210ULL);
	emulate_ok();
	assert_access(1, true, 4, 0x11111177);
	/* movabs 0x1122334455667788,%rax */
	DEC(M64, 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
	assert_int_equal(insn.op_size, 8);
	DEC(M64, 0x67, 0xa1, 0x44, 0x33, 0x22, 0x11);	/* addr32: 4-byte moffs */
	assert_int_equal(insn.moffs, 0x11223344);
	DEC(M64, 0xa2, 1, 2, 3, 4, 5, 6, 7, 8);		/* mov %al,moffs */
	assert_true(insn.is_write);
}

static void test_moffs_32_16(void **state)
{
	(void)state;
	DEC(M32, 0xa3, 0xb0, 0x00, 0xe0, 0xfe);		/* mov %eax,0xfee000b0 */
	emulate_ok();
	assert_access(0, true, 4, 0x11111111);
	DEC(M32, 0x67, 0xa1, 0x34, 0x12);		/* addr16 mov 0x1234,%eax */
	assert_int_equal(insn.moffs, 0x1234);
	DEC(M16, 0xa1, 0x34, 0x12);			/* mov 0x1234,%ax */
	assert_int_equal(insn.op_size, 2);
	DEC(M16, 0xa2, 0x00, 0xb8);			/* mov %al,0xb800 */
	assert_int_equal(insn.moffs, 0xb800);
	DEC(M16, 0x66, 0xa1, 0x00, 0xb8);		/* mov 0xb800,%eax */
	assert_int_equal(insn.op_size, 4);
	DEC(M16, 0x67, 0xa1, 0x78, 0x56, 0x34, 0x12);	/* addr32 mov 0x12345678,%ax */
	assert_int_equal(insn.moffs, 0x12345678);
}

/* ---- 16-bit addressing ---- */

static void test_modrm16(void **state)
{
	(void)state;
	DEC(M16, 0x89, 0x07);				/* mov %ax,(%bx) */
	assert_int_equal(insn.disp_size, 0);
	assert_false(insn.has_sib);
	DEC(M16, 0x8a, 0x46, 0x10);			/* mov 0x10(%bp),%al */
	assert_int_equal(insn.disp_size, 1);
	DEC(M16, 0x89, 0x89, 0x34, 0x12);		/* mov %cx,0x1234(%bx,%di) */
	assert_int_equal(insn.disp, 0x1234);
	DEC(M16, 0x8b, 0x1e, 0x34, 0x12);		/* mov 0x1234,%bx: mod 0 r/m 6 */
	assert_int_equal(insn.reg, RBX);
	assert_int_equal(insn.disp_size, 2);
	DEC(M16, 0x8b, 0x46, 0x00);			/* mov 0x0(%bp),%ax */
	DEC(M16, 0x8b, 0x04);				/* r/m 4 is (%si), not a SIB */
	assert_false(insn.has_sib);
	DEC(M16, 0x67, 0x66, 0x89, 0x04, 0x8b);		/* addr32: mov %eax,(%ebx,%ecx,4) */
	assert_true(insn.has_sib);
	DEC(M32, 0x67, 0x8b, 0x00);			/* addr16 in 32-bit: (%bx,%si) */
	DEC(M32, 0x67, 0x8b, 0x06, 0x34, 0x12);		/* addr16 disp16 */
	DEC(M64, 0x67, 0x8b, 0x06);			/* 64-bit 0x67 is 32-bit: (%esi) */
}

/* ---- OR / AND / XOR / TEST ---- */

static void test_or_rmw(void **state)
{
	(void)state;
	DEC(M64, 0x81, 0x4f, 0x30, 0x80, 0x00, 0x00, 0x00);	/* orl $0x80,0x30(%rdi) */
	assert_int_equal(insn.alu, MMIO_ALU_OR);
	assert_true(insn.is_read);
	assert_true(insn.is_write);
	dev.read_val = 0x1;
	regs.rflags = 0x2 | F_CF | F_OF | F_ZF | F_SF | F_AF;
	emulate_ok();
	assert_int_equal(dev.n, 2);
	assert_access(0, false, 4, 0);
	assert_access(1, true, 4, 0x81);
	assert_int_equal(regs.rflags, 0x2 | F_PF | F_AF);	/* 0x81: two bits set; AF kept */
	DEC(M64, 0x83, 0x0f, 0x01);			/* orl $0x1,(%rdi) */
	DEC(M64, 0xf0, 0x83, 0x0f, 0x01);		/* lock orl $0x1,(%rdi) */
	assert_true(insn.lock);
	dev.read_val = 0x80000000;
	emulate_ok();
	assert_access(3, true, 4, 0x80000001);
	assert_int_equal(regs.rflags & (F_SF | F_ZF | F_PF), F_SF);
	DEC(M32, 0x83, 0x0b, 0x04);			/* orl $0x4,(%ebx) */
}

static void test_and_imm_sign_extended(void **state)
{
	(void)state;
	DEC(M64, 0x83, 0x60, 0x10, 0xfe);		/* andl $0xfffffffe,0x10(%rax) */
	assert_int_equal(insn.alu, MMIO_ALU_AND);
	assert_int_equal(insn.imm, 0xfffffffffffffffeULL);
	dev.read_val = 0xffffffff;
	emulate_ok();
	assert_access(1, true, 4, 0xfffffffe);
	assert_true(regs.rflags & F_SF);
	DEC(M64, 0x80, 0x20, 0x7f);			/* andb $0x7f,(%rax) */
	assert_int_equal(insn.op_size, 1);
	dev.read_val = 0x80;
	emulate_ok();
	assert_access(3, true, 1, 0x00);
	assert_int_equal(regs.rflags & (F_SF | F_ZF | F_PF), F_ZF | F_PF);
	DEC(M64, 0x48, 0x83, 0x20, 0xfe);		/* andq $-2,(%rax): 8-byte RMW */
	dev.read_val = 0xffffffffffffffffULL;
	emulate_ok();
	assert_access(5, true, 8, 0xfffffffffffffffeULL);
}

static void test_logic_reg_forms(void **state)
{
	(void)state;
	DEC(M64, 0x09, 0x08);				/* or %ecx,(%rax) */
	dev.read_val = 0x10;
	regs.gpr[RCX] = 0xffffffff00000001ULL;
	emulate_ok();
	assert_access(1, true, 4, 0x11);
	DEC(M64, 0x0b, 0x08);				/* or (%rax),%ecx */
	assert_false(insn.is_write);
	assert_true(insn.is_read);
	emulate_ok();
	assert_int_equal(dev.n, 3);			/* one read, no write */
	assert_int_equal(regs.gpr[RCX], 0x11);		/* 32-bit result zero-extends */
	DEC(M64, 0x31, 0x11);				/* xor %edx,(%rcx) */
	assert_int_equal(insn.alu, MMIO_ALU_XOR);
	regs.gpr[RDX] = 0xf0;
	dev.read_val = 0xf0;
	emulate_ok();
	assert_access(4, true, 4, 0);
	assert_true(regs.rflags & F_ZF);
	DEC(M64, 0x22, 0x27);				/* and (%rdi),%ah */
	regs.gpr[RAX] = 0xff00;
	dev.read_val = 0x0f;
	emulate_ok();
	assert_int_equal(regs.gpr[RAX], 0x0f00);
}

static void test_test_forms(void **state)
{
	(void)state;
	DEC(M64, 0x85, 0x03);				/* test %eax,(%rbx) */
	assert_int_equal(insn.alu, MMIO_ALU_TEST);
	assert_false(insn.is_write);
	regs.gpr[RAX] = 0x100;
	dev.read_val = 0xff;
	emulate_ok();
	assert_int_equal(dev.n, 1);			/* read only */
	assert_true(regs.rflags & F_ZF);
	assert_int_equal(regs.gpr[RAX], 0x100);
	DEC(M64, 0xf6, 0x43, 0x05, 0x04);		/* testb $0x4,0x5(%rbx) */
	dev.read_val = 0x4;
	emulate_ok();
	assert_false(regs.rflags & F_ZF);
	DEC(M64, 0xf7, 0x03, 0x00, 0x00, 0x01, 0x00);	/* testl $0x10000,(%rbx) */
	assert_int_equal(insn.imm, 0x10000);
	DEC(M64, 0x84, 0x23);				/* test %ah,(%rbx) */
	assert_true(insn.reg_high8);
	assert_int_equal(dev.n, 2);
}

/* ---- rejected instructions ---- */

static void test_lock_mov_is_ud(void **state)
{
	(void)state;
	DEC_ERR(M64, -EINVAL, "LOCK", 0xf0, 0x89, 0x08);
	assert_non_null(strstr(insn.err, "0x89"));
	DEC_ERR(M64, -EINVAL, "LOCK", 0xf0, 0x8b, 0x08);
	DEC_ERR(M64, -EINVAL, "LOCK", 0xf0, 0x85, 0x08);	/* TEST cannot be locked */
	DEC_ERR(M64, -EINVAL, "LOCK", 0xf0, 0x0b, 0x08);	/* register destination */
}

static void test_register_operand_rejected(void **state)
{
	(void)state;
	DEC_ERR(M64, -EINVAL, "register operand", 0x89, 0xc0);	/* mov %eax,%eax */
	assert_non_null(strstr(insn.err, "0x89"));
	DEC_ERR(M64, -EINVAL, "register operand", 0x0f, 0xb6, 0xc0);
	DEC_ERR(M16, -EINVAL, "register operand", 0xc6, 0xc0, 0x01);
	DEC_ERR(M64, -EINVAL, "register operand", 0x83, 0xc8, 0x01);	/* or $1,%eax */
}

static void test_unsupported_opcodes(void **state)
{
	(void)state;
	DEC_ERR(M64, -ENOTSUP, "opcode 0x83 /7 (cmp)", 0x83, 0x38, 0x01);
	assert_int_equal(insn.opcode, 0x83);
	DEC_ERR(M64, -ENOTSUP, "opcode 0x01 ", 0x01, 0x03);	/* add %eax,(%rbx) */
	DEC_ERR(M64, -ENOTSUP, "opcode 0x0f 0x0b", 0x0f, 0x0b);	/* ud2 */
	assert_int_equal(insn.opcode, 0x0f0b);
	DEC_ERR(M64, -ENOTSUP, "opcode 0xa4", 0xf3, 0xa4);	/* rep movsb */
	DEC_ERR(M64, -ENOTSUP, "opcode 0xf7 /2 (not)", 0xf7, 0x13);
	DEC_ERR(M32, -ENOTSUP, "opcode 0x40", 0x40, 0x89, 0x08);	/* inc %eax outside 64 */
	DEC_ERR(M64, -ENOTSUP, "prefix 0xf3", 0xf3, 0x89, 0x08);
	DEC_ERR(M64, -EINVAL, "0xc7 /1", 0xc7, 0x08, 1, 2, 3, 4);	/* reserved: #UD */
}

/* ---- truncation and length limits ---- */

static const struct { enum mmio_mode mode; unsigned n; uint8_t b[15]; } vectors[] = {
	{ M64, 8, { 0x46, 0x89, 0x94, 0x9c, 0x78, 0x56, 0x34, 0x12 } },
	{ M64, 7, { 0x67, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00 } },
	{ M64, 10, { 0x48, 0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11 } },
	{ M64, 8, { 0x49, 0xc7, 0x45, 0x00, 0xff, 0xff, 0xff, 0xff } },
	{ M64, 7, { 0x81, 0x4f, 0x30, 0x80, 0x00, 0x00, 0x00 } },
	{ M64, 5, { 0x4c, 0x0f, 0xb7, 0x40, 0x04 } },
	{ M64, 7, { 0x2e, 0x3e, 0x26, 0x36, 0x65, 0x89, 0x00 } },
	{ M32, 10, { 0xc7, 0x85, 0x00, 0x01, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12 } },
	{ M32, 7, { 0x8b, 0x14, 0x8d, 0, 0, 0, 0 } },
	{ M16, 4, { 0x89, 0x89, 0x34, 0x12 } },
	{ M16, 7, { 0x66, 0xc7, 0x05, 0x44, 0x33, 0x22, 0x11 } },
	{ M16, 6, { 0x67, 0xa1, 0x78, 0x56, 0x34, 0x12 } },
};

/* Every cut point gives -EINVAL; the buffer is exactly avail bytes so ASan sees over-reads. */
static void test_truncated_every_cut(void **state)
{
	unsigned v, cut;
	uint8_t *buf;

	(void)state;
	for (v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
		for (cut = 0; cut <= vectors[v].n; cut++) {
			buf = malloc(cut ? cut : 1);
			assert_non_null(buf);
			memcpy(buf, vectors[v].b, cut);
			if (cut == vectors[v].n) {
				decode_ok(vectors[v].mode, buf, cut);
			} else {
				assert_int_equal(mmio_decode(buf, cut, vectors[v].mode, &insn),
						 -EINVAL);
				assert_non_null(strstr(insn.err, "truncated"));
				assert_true(insn.truncated);
			}
			free(buf);
		}
	}
	/* the message names the missing piece and its offset */
	DEC_ERR(M64, -EINVAL, "immediate at byte 4 but only 4", 0xc7, 0x00, 0x00, 0x00);
	DEC_ERR(M64, -EINVAL, "SIB at byte 2", 0x89, 0x04);
	DEC_ERR(M64, -EINVAL, "second opcode byte", 0x0f);
	assert_int_equal(mmio_decode(BYTES(0x89), 0, M64, &insn), -EINVAL);
}

static void test_trailing_bytes_and_15_limit(void **state)
{
	uint8_t b[20];

	(void)state;
	/* more bytes than needed: length is the instruction's */
	memset(b, 0x90, sizeof(b));
	b[0] = 0x89;
	b[1] = 0x43;
	b[2] = 0x10;
	assert_int_equal(mmio_decode(b, sizeof(b), M64, &insn), 0);
	assert_int_equal(insn.len, 3);
	/* 13 prefixes + 89 08 is exactly 15 bytes: fine */
	memset(b, 0x66, 13);
	b[13] = 0x89;
	b[14] = 0x08;
	assert_int_equal(mmio_decode(b, sizeof(b), M64, &insn), 0);
	assert_int_equal(insn.len, 15);
	/* 14 prefixes: 16 bytes -> #GP, whatever avail says */
	memset(b, 0x66, 14);
	b[14] = 0x89;
	b[15] = 0x08;
	assert_int_equal(mmio_decode(b, sizeof(b), M64, &insn), -EINVAL);
	assert_non_null(strstr(insn.err, "longer than 15"));
	/* a stream of nothing but prefixes ends at 15, not at avail */
	memset(b, 0x3e, sizeof(b));
	assert_int_equal(mmio_decode(b, sizeof(b), M64, &insn), -EINVAL);
	assert_non_null(strstr(insn.err, "at byte 15"));
}

/* ---- errors from callbacks and bad arguments ---- */

static void test_callback_errors(void **state)
{
	struct mmio_regs before;

	(void)state;
	DEC(M64, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);
	dev.read_rc = -EIO;
	before = regs;
	assert_int_equal(mmio_emulate(&insn, &regs, GPA, &ops), -EIO);
	assert_memory_equal(&regs, &before, sizeof(regs));
	dev.read_rc = 0;
	DEC(M64, 0x83, 0x0f, 0x01);			/* RMW: write fails after the read */
	dev.write_rc = -ENODEV;
	regs.rflags = 0x2 | F_CF;
	before = regs;
	assert_int_equal(mmio_emulate(&insn, &regs, GPA, &ops), -ENODEV);
	assert_memory_equal(&regs, &before, sizeof(regs));	/* flags untouched too */
	assert_int_equal(dev.n, 3);
	DEC(M64, 0x89, 0x08);
	dev.write_rc = 7;				/* positive: not 0, reported as -EIO */
	assert_int_equal(mmio_emulate(&insn, &regs, GPA, &ops), -EIO);
}

static void test_bad_arguments(void **state)
{
	struct mmio_ops no_read = { &dev, NULL, dev_write };
	struct mmio_insn bad;

	(void)state;
	assert_int_equal(mmio_decode(BYTES(0x89, 0x08), 2, M64, NULL), -EINVAL);
	assert_int_equal(mmio_decode(NULL, 2, M64, &insn), -EINVAL);
	assert_non_null(strstr(insn.err, "no instruction bytes"));
	assert_int_equal(mmio_decode(BYTES(0x89, 0x08), 2, (enum mmio_mode)7, &insn), -EINVAL);
	assert_non_null(strstr(insn.err, "bad mode 7"));
	DEC(M64, 0x89, 0x08);
	assert_int_equal(mmio_emulate(NULL, &regs, GPA, &ops), -EINVAL);
	assert_int_equal(mmio_emulate(&insn, NULL, GPA, &ops), -EINVAL);
	assert_int_equal(mmio_emulate(&insn, &regs, GPA, NULL), -EINVAL);
	assert_int_equal(mmio_emulate(&insn, &regs, GPA, &no_read), -EINVAL);
	bad = insn;
	bad.op_size = 3;
	assert_int_equal(mmio_emulate(&bad, &regs, GPA, &ops), -EINVAL);
	bad = insn;
	bad.reg = 16;
	assert_int_equal(mmio_emulate(&bad, &regs, GPA, &ops), -EINVAL);
	bad = insn;
	bad.reg = 5;
	bad.reg_high8 = true;
	assert_int_equal(mmio_emulate(&bad, &regs, GPA, &ops), -EINVAL);
	assert_int_equal(dev.n, 0);
}

/* Random bytes: never crash, never over-read, and a success is self-consistent. */
static void test_random_bytes(void **state)
{
	uint32_t seed = 12345;
	unsigned i, j, n, ok = 0;
	uint8_t *buf;
	int rc;

	(void)state;
	for (i = 0; i < 20000; i++) {
		n = i % 17;
		buf = malloc(n ? n : 1);
		assert_non_null(buf);
		for (j = 0; j < n; j++) {
			seed = seed * 1103515245u + 12345u;
			buf[j] = (uint8_t)(seed >> 16);
		}
		rc = mmio_decode(buf, n, (enum mmio_mode)(i % 3), &insn);
		assert_true(rc == 0 || rc == -EINVAL || rc == -ENOTSUP);
		if (rc == 0) {
			ok++;
			assert_true(insn.len >= 2 && insn.len <= n && insn.len <= 15);
			assert_true(insn.op_size == 1 || insn.op_size == 2 ||
				    insn.op_size == 4 || insn.op_size == 8);
			dev.n = 0;
			assert_int_equal(mmio_emulate(&insn, &regs, GPA, &ops), 0);
		} else {
			assert_true(insn.err[0] != '\0');
		}
		free(buf);
	}
	assert_true(ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_mov_store_32, setup),
		cmocka_unit_test_setup(test_mov_store_rex_w_r9, setup),
		cmocka_unit_test_setup(test_sib_disp32_rex_rx, setup),
		cmocka_unit_test_setup(test_rip_relative, setup),
		cmocka_unit_test_setup(test_load_32_zero_extends_in_64, setup),
		cmocka_unit_test_setup(test_load_32_keeps_upper_in_32, setup),
		cmocka_unit_test_setup(test_high8_vs_rex, setup),
		cmocka_unit_test_setup(test_load_8_merges, setup),
		cmocka_unit_test_setup(test_operand_size_prefixes, setup),
		cmocka_unit_test_setup(test_segment_overrides_ignored, setup),
		cmocka_unit_test_setup(test_mov_imm, setup),
		cmocka_unit_test_setup(test_movzx_movsx, setup),
		cmocka_unit_test_setup(test_moffs_64, setup),
		cmocka_unit_test_setup(test_moffs_32_16, setup),
		cmocka_unit_test_setup(test_modrm16, setup),
		cmocka_unit_test_setup(test_or_rmw, setup),
		cmocka_unit_test_setup(test_and_imm_sign_extended, setup),
		cmocka_unit_test_setup(test_logic_reg_forms, setup),
		cmocka_unit_test_setup(test_test_forms, setup),
		cmocka_unit_test_setup(test_lock_mov_is_ud, setup),
		cmocka_unit_test_setup(test_register_operand_rejected, setup),
		cmocka_unit_test_setup(test_unsupported_opcodes, setup),
		cmocka_unit_test_setup(test_truncated_every_cut, setup),
		cmocka_unit_test_setup(test_trailing_bytes_and_15_limit, setup),
		cmocka_unit_test_setup(test_callback_errors, setup),
		cmocka_unit_test_setup(test_bad_arguments, setup),
		cmocka_unit_test_setup(test_random_bytes, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
