/*
 * Host unit tests for the VM-exit decoders: real qualification and
 * instruction-information patterns (as the CPU reports them for the named
 * instructions), reserved patterns, and re-injection of each event type.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/vmx_decode.h>

/* I/O qualification: size-1 in 2:0, IN bit 3, string 4, REP 5, immediate 6, port 31:16. */
#define IOQ(port, size, flags)	(((uint64_t)(port) << 16) | ((size) - 1) | (flags))
#define Q_IN	0x08
#define Q_STR	0x10
#define Q_REP	0x20
#define Q_IMM	0x40
/* INS/OUTS instruction information: address size in 9:7, segment in 17:15. */
#define IOINFO(asz, seg)	(((uint32_t)(asz) << 7) | ((uint32_t)(seg) << 15))

static void test_io_in_al_dx(void **state)
{
	struct vmx_io_access io;

	(void)state;
	/* in al, dx with DX = 0x3fd (UART LSR) */
	assert_int_equal(vmx_decode_io(IOQ(0x3fd, 1, Q_IN), 0, true, &io), 0);
	assert_int_equal(io.port, 0x3fd);
	assert_int_equal(io.size, 1);
	assert_true(io.in);
	assert_false(io.string);
	assert_false(io.rep);
	assert_false(io.immediate);
	assert_int_equal(io.addr_size, 0);	/* not a string instruction */
	assert_int_equal(io.seg, VMX_SEG_ES);
}

static void test_io_out_imm(void **state)
{
	struct vmx_io_access io;

	(void)state;
	/* out 0xf4, eax; then out dx, ax to port 0xffff */
	assert_int_equal(vmx_decode_io(IOQ(0xf4, 4, Q_IMM), 0, false, &io), 0);
	assert_int_equal(io.port, 0xf4);
	assert_int_equal(io.size, 4);
	assert_false(io.in);
	assert_true(io.immediate);
	assert_false(io.string);
	assert_int_equal(vmx_decode_io(IOQ(0xffff, 2, 0) | (0xffffULL << 32), 0, false, &io), 0);
	assert_int_equal(io.port, 0xffff);	/* bits 63:32 ignored */
	assert_int_equal(io.size, 2);
	assert_false(io.immediate);
}

static void test_io_rep_outsw(void **state)
{
	struct vmx_io_access io;

	(void)state;
	/* rep outsw with 32-bit addressing from DS:ESI */
	assert_int_equal(vmx_decode_io(IOQ(0x3f8, 2, Q_STR | Q_REP), IOINFO(1, VMX_SEG_DS), true,
				       &io), 0);
	assert_int_equal(io.port, 0x3f8);
	assert_int_equal(io.size, 2);
	assert_false(io.in);
	assert_true(io.string);
	assert_true(io.rep);
	assert_int_equal(io.addr_size, 32);
	assert_int_equal(io.seg, VMX_SEG_DS);
	/* outsb with FS override and 16-bit addressing */
	assert_int_equal(vmx_decode_io(IOQ(0x80, 1, Q_STR), IOINFO(0, VMX_SEG_FS), true, &io), 0);
	assert_int_equal(io.addr_size, 16);
	assert_int_equal(io.seg, VMX_SEG_FS);
	assert_false(io.rep);
	/* GS, 64-bit */
	assert_int_equal(vmx_decode_io(IOQ(0x80, 4, Q_STR), IOINFO(2, VMX_SEG_GS), true, &io), 0);
	assert_int_equal(io.addr_size, 64);
	assert_int_equal(io.seg, VMX_SEG_GS);
	assert_int_equal(io.size, 4);
}

static void test_io_rep_insb(void **state)
{
	struct vmx_io_access io;

	(void)state;
	/* rep insb in 64-bit mode: the segment field is undefined for INS, ES is implied */
	assert_int_equal(vmx_decode_io(IOQ(0x1f0, 1, Q_IN | Q_STR | Q_REP), IOINFO(2, 7), true,
				       &io), 0);
	assert_true(io.in);
	assert_true(io.string);
	assert_true(io.rep);
	assert_int_equal(io.addr_size, 64);
	assert_int_equal(io.seg, VMX_SEG_ES);
}

static void test_io_string_without_info(void **state)
{
	struct vmx_io_access io;

	(void)state;
	/* CPU without INS/OUTS information: the info argument is ignored, even if garbage */
	assert_int_equal(vmx_decode_io(IOQ(0x3f8, 1, Q_STR), 0xffffffff, false, &io), 0);
	assert_true(io.string);
	assert_int_equal(io.addr_size, 0);
	assert_int_equal(io.seg, VMX_SEG_DS);
	/* non-string exits ignore the info too */
	assert_int_equal(vmx_decode_io(IOQ(0x3f8, 1, 0), 0xffffffff, true, &io), 0);
	assert_int_equal(io.addr_size, 0);
}

static void test_io_reserved(void **state)
{
	struct vmx_io_access io;

	(void)state;
	/* access-size encodings 2 and 4..7 are not used */
	for (uint64_t enc = 0; enc < 8; enc++) {
		int want = (enc == 0 || enc == 1 || enc == 3) ? 0 : -EINVAL;

		assert_int_equal(vmx_decode_io((0x60ULL << 16) | enc, 0, false, &io), want);
	}
	/* address-size encodings 3..7 */
	for (uint32_t asz = 3; asz < 8; asz++)
		assert_int_equal(vmx_decode_io(IOQ(0x60, 1, Q_STR), IOINFO(asz, VMX_SEG_DS), true,
					       &io), -EINVAL);
	/* segment 6 and 7 for OUTS */
	assert_int_equal(vmx_decode_io(IOQ(0x60, 1, Q_STR), IOINFO(1, 6), true, &io), -EINVAL);
	assert_int_equal(vmx_decode_io(IOQ(0x60, 1, Q_STR), IOINFO(1, 7), true, &io), -EINVAL);
	assert_int_equal(vmx_decode_io(IOQ(0x60, 1, 0), 0, false, NULL), -EINVAL);
}

static void test_cr_mov(void **state)
{
	struct vmx_cr_access cr;

	(void)state;
	/* mov cr4, rax: CR 4, type 0, register 0 */
	assert_int_equal(vmx_decode_cr(0x004, &cr), 0);
	assert_int_equal(cr.cr, 4);
	assert_int_equal(cr.type, VMX_CR_MOV_TO);
	assert_int_equal(cr.gpr, 0);
	/* mov rbx, cr8: CR 8, type 1, register 3 */
	assert_int_equal(vmx_decode_cr(0x318, &cr), 0);
	assert_int_equal(cr.cr, 8);
	assert_int_equal(cr.type, VMX_CR_MOV_FROM);
	assert_int_equal(cr.gpr, 3);
	/* mov cr3, r15 and mov rsp, cr0 */
	assert_int_equal(vmx_decode_cr(0xf03, &cr), 0);
	assert_int_equal(cr.cr, 3);
	assert_int_equal(cr.gpr, 15);
	assert_int_equal(vmx_decode_cr(0x410, &cr), 0);
	assert_int_equal(cr.cr, 0);
	assert_int_equal(cr.type, VMX_CR_MOV_FROM);
	assert_int_equal(cr.gpr, 4);
	assert_false(cr.lmsw_mem);
	assert_int_equal(cr.lmsw_src, 0);
}

static void test_cr_clts_lmsw(void **state)
{
	struct vmx_cr_access cr;

	(void)state;
	assert_int_equal(vmx_decode_cr(0x20, &cr), 0);		/* clts */
	assert_int_equal(cr.type, VMX_CR_CLTS);
	assert_int_equal(cr.cr, 0);
	/* lmsw ax with AX = 0x0011 (PE, ET): register operand, source in 31:16 */
	assert_int_equal(vmx_decode_cr(0x00110030, &cr), 0);
	assert_int_equal(cr.type, VMX_CR_LMSW);
	assert_false(cr.lmsw_mem);
	assert_int_equal(cr.lmsw_src, 0x0011);
	assert_int_equal(cr.gpr, 0);
	/* lmsw [mem] with 0xfff1 */
	assert_int_equal(vmx_decode_cr(0xfff10070, &cr), 0);
	assert_true(cr.lmsw_mem);
	assert_int_equal(cr.lmsw_src, 0xfff1);
}

static void test_cr_reserved(void **state)
{
	struct vmx_cr_access cr;
	const uint64_t bad[] = {
		0x001, 0x002, 0x005, 0x007, 0x009, 0x00f,	/* mov to CR1, 2, 5, 7, 9, 15 */
		0x012, 0x01f,					/* mov from CR2, CR15 */
		0x023, 0x038,					/* CLTS / LMSW naming CR3 / CR8 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vmx_decode_cr(bad[i], &cr), -EINVAL);
	assert_int_equal(vmx_decode_cr(0x004, NULL), -EINVAL);
}

static void test_ept_write_not_present(void **state)
{
	struct vmx_ept_violation v;

	(void)state;
	/* a data write to a GPA with no EPT mapping, linear address valid and translated */
	assert_int_equal(vmx_decode_ept(0x182, &v), 0);
	assert_true(v.write);
	assert_false(v.read);
	assert_false(v.fetch);
	assert_false(v.readable);
	assert_false(v.writable);
	assert_false(v.executable);
	assert_true(v.gla_valid);
	assert_true(v.gla_is_translation);
	assert_false(v.nmi_unblock);
}

static void test_ept_other_bits(void **state)
{
	struct vmx_ept_violation v;

	(void)state;
	/* fetch from a read/write-only page during a guest page walk, after IRET unblocked NMIs */
	assert_int_equal(vmx_decode_ept(0x109c, &v), 0);
	assert_true(v.fetch);
	assert_true(v.readable);
	assert_true(v.writable);
	assert_false(v.executable);
	assert_true(v.gla_valid);
	assert_false(v.gla_is_translation);
	assert_true(v.nmi_unblock);
	/* a read with no linear address (e.g. a PDPTE load), executable page */
	assert_int_equal(vmx_decode_ept(0x21, &v), 0);
	assert_true(v.read);
	assert_true(v.executable);
	assert_false(v.gla_valid);
	/* bit 8 without bit 7 is reserved */
	assert_int_equal(vmx_decode_ept(0x101, &v), -EINVAL);
	assert_int_equal(vmx_decode_ept(0x1, NULL), -EINVAL);
}

static void test_event_decode(void **state)
{
	struct vmx_event e;

	(void)state;
	assert_int_equal(vmx_decode_event(0x80000b0e, &e), 0);	/* #PF with error code */
	assert_true(e.valid);
	assert_int_equal(e.vector, 14);
	assert_int_equal(e.type, VMX_EVENT_HW_EXCEPTION);
	assert_true(e.has_error);
	assert_false(e.nmi_unblock_iret);
	assert_int_equal(vmx_decode_event(0x80000202, &e), 0);	/* NMI */
	assert_int_equal(e.type, VMX_EVENT_NMI);
	assert_int_equal(e.vector, 2);
	assert_false(e.has_error);
	assert_int_equal(vmx_decode_event(0x80000030, &e), 0);	/* external interrupt 0x30 */
	assert_int_equal(e.type, VMX_EVENT_EXT_INTR);
	assert_int_equal(e.vector, 0x30);
	assert_int_equal(vmx_decode_event(0x80000603, &e), 0);	/* int3 */
	assert_int_equal(e.type, VMX_EVENT_SW_EXCEPTION);
	assert_int_equal(e.vector, 3);
	assert_int_equal(vmx_decode_event(0x80000480, &e), 0);	/* int $0x80 */
	assert_int_equal(e.type, VMX_EVENT_SW_INTR);
	assert_int_equal(e.vector, 0x80);
	assert_int_equal(vmx_decode_event(0x80000501, &e), 0);	/* icebp (int1) */
	assert_int_equal(e.type, VMX_EVENT_PRIV_SW_EXCEPTION);
	assert_int_equal(vmx_decode_event(0x80001b0d, &e), 0);	/* #GP(err) on IRET, NMI unblock */
	assert_int_equal(e.vector, 13);
	assert_true(e.has_error);
	assert_true(e.nmi_unblock_iret);
}

static void test_event_invalid_and_reserved(void **state)
{
	struct vmx_event e;
	const uint32_t bad[] = {
		0x80002000, 0xc0000000, 0x80000100 | 0x20,	/* bit 13, bit 30, type 1 */
		0x80000203, 0x80000320, 0x800003ff,		/* NMI vector 3, #32, #255 */
	};

	(void)state;
	memset(&e, 0xa5, sizeof(e));
	assert_int_equal(vmx_decode_event(0x7fffffff, &e), 0);	/* valid clear: rest undefined */
	assert_false(e.valid);
	assert_int_equal(e.vector, 0);
	assert_int_equal(e.type, 0);
	assert_false(e.has_error);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&e, 0xa5, sizeof(e));
		assert_int_equal(vmx_decode_event(bad[i], &e), -EINVAL);
		assert_false(e.valid);	/* nothing half-decoded is left behind */
	}
	assert_int_equal(vmx_decode_event(0x80000202, NULL), -EINVAL);
}

static void test_event_encode(void **state)
{
	struct vmx_event e;
	struct vmx_event sw = { .valid = true, .vector = 0x80, .type = VMX_EVENT_SW_INTR };

	(void)state;
	assert_int_equal(vmx_decode_event(0x80001b0d, &e), 0);
	assert_int_equal(vmx_encode_event(&e), 0x80000b0d);	/* NMI-unblocking bit dropped */
	assert_int_equal(vmx_encode_event(&sw), 0x80000480);
	sw.valid = false;
	assert_int_equal(vmx_encode_event(&sw), 0);
	assert_int_equal(vmx_encode_event(NULL), 0);
	for (uint32_t info = 0x80000000; info < 0x80001000; info += 0x25) {
		if (vmx_decode_event(info, &e) == 0)
			assert_int_equal(vmx_encode_event(&e), info);
	}
}

static void reinject(uint32_t idt_info, uint32_t err, uint32_t len, struct vmx_entry_event *out)
{
	struct vmx_event e;

	assert_int_equal(vmx_decode_event(idt_info, &e), 0);
	assert_int_equal(vmx_reinject(&e, err, len, out), 0);
}

static void test_reinject_hw_events(void **state)
{
	struct vmx_entry_event o;

	(void)state;
	reinject(0x80000030, 0xdead, 3, &o);		/* external interrupt */
	assert_int_equal(o.info, 0x80000030);
	assert_false(o.write_error);
	assert_false(o.write_len);
	assert_false(o.clear_nmi_blocking);
	reinject(0x80000202, 0, 0, &o);			/* NMI */
	assert_int_equal(o.info, 0x80000202);
	assert_true(o.clear_nmi_blocking);
	assert_false(o.write_error);
	reinject(0x80000b0e, 0x6, 4, &o);		/* #PF, user write to not-present */
	assert_int_equal(o.info, 0x80000b0e);
	assert_true(o.write_error);
	assert_int_equal(o.error, 0x6);
	assert_false(o.write_len);
	reinject(0x80000006, 0, 2, &o);			/* #UD, no error code */
	assert_false(o.write_error);
	assert_false(o.write_len);
}

static void test_reinject_sw_events(void **state)
{
	struct vmx_entry_event o;

	(void)state;
	reinject(0x80000603, 0, 1, &o);			/* int3: software exception, 1 byte */
	assert_int_equal(o.info, 0x80000603);
	assert_true(o.write_len);
	assert_int_equal(o.insn_len, 1);
	assert_false(o.write_error);
	reinject(0x80000480, 0, 2, &o);			/* int $0x80: software interrupt, 2 bytes */
	assert_int_equal(o.info, 0x80000480);
	assert_true(o.write_len);
	assert_int_equal(o.insn_len, 2);
	reinject(0x80000501, 0, 1, &o);			/* icebp: privileged software exception */
	assert_int_equal(o.info, 0x80000501);
	assert_int_equal(o.insn_len, 1);
}

static void test_reinject_rejects(void **state)
{
	struct vmx_entry_event o;
	struct vmx_event int3 = { .valid = true, .vector = 3, .type = VMX_EVENT_SW_EXCEPTION };
	struct vmx_event none = { 0 };
	struct vmx_event other = { .valid = true, .vector = 0, .type = VMX_EVENT_OTHER };
	struct vmx_event bad_err = { .valid = true, .vector = 0x80, .type = VMX_EVENT_SW_INTR,
				     .has_error = true };

	(void)state;
	assert_int_equal(vmx_reinject(&int3, 0, 0, &o), -EINVAL);	/* length needed */
	assert_int_equal(vmx_reinject(&int3, 0, 16, &o), -EINVAL);
	assert_int_equal(vmx_reinject(&int3, 0, 15, &o), 0);
	assert_int_equal(vmx_reinject(&other, 0, 1, &o), -EINVAL);
	assert_int_equal(vmx_reinject(&bad_err, 0, 2, &o), -EINVAL);
	memset(&o, 0xa5, sizeof(o));
	assert_int_equal(vmx_reinject(&none, 0x1234, 3, &o), 0);	/* nothing to do */
	assert_int_equal(o.info, 0);
	assert_false(o.write_error);
	assert_false(o.write_len);
	assert_false(o.clear_nmi_blocking);
	assert_int_equal(vmx_reinject(NULL, 0, 1, &o), -EINVAL);
	assert_int_equal(vmx_reinject(&int3, 0, 1, NULL), -EINVAL);
}

static void test_exception_error_codes(void **state)
{
	(void)state;
	for (unsigned v = 0; v < 256; v++) {
		bool want = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 ||
			    v == 30;

		assert_int_equal(vmx_exception_has_error_code((uint8_t)v), want);
	}
}

static void test_event_type_str(void **state)
{
	(void)state;
	assert_string_equal(vmx_event_type_str(0), "external interrupt");
	assert_string_equal(vmx_event_type_str(1), "reserved");
	assert_string_equal(vmx_event_type_str(2), "NMI");
	assert_string_equal(vmx_event_type_str(3), "hardware exception");
	assert_string_equal(vmx_event_type_str(4), "software interrupt");
	assert_string_equal(vmx_event_type_str(5), "privileged software exception");
	assert_string_equal(vmx_event_type_str(6), "software exception");
	assert_string_equal(vmx_event_type_str(7), "other event");
	assert_string_equal(vmx_event_type_str(8), "invalid");
	assert_string_equal(vmx_event_type_str(255), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_in_al_dx),
		cmocka_unit_test(test_io_out_imm),
		cmocka_unit_test(test_io_rep_outsw),
		cmocka_unit_test(test_io_rep_insb),
		cmocka_unit_test(test_io_string_without_info),
		cmocka_unit_test(test_io_reserved),
		cmocka_unit_test(test_cr_mov),
		cmocka_unit_test(test_cr_clts_lmsw),
		cmocka_unit_test(test_cr_reserved),
		cmocka_unit_test(test_ept_write_not_present),
		cmocka_unit_test(test_ept_other_bits),
		cmocka_unit_test(test_event_decode),
		cmocka_unit_test(test_event_invalid_and_reserved),
		cmocka_unit_test(test_event_encode),
		cmocka_unit_test(test_reinject_hw_events),
		cmocka_unit_test(test_reinject_sw_events),
		cmocka_unit_test(test_reinject_rejects),
		cmocka_unit_test(test_exception_error_codes),
		cmocka_unit_test(test_event_type_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
