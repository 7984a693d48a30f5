/*
 * Named decoders for VM-exit information (see <vmx_decode.h>).
 *
 * Each decoder turns one raw field into a struct of named members and
 * rejects the bit patterns the SDM marks reserved or "not used", so a
 * handler never acts on a value the hardware cannot have produced (a
 * corrupt or mis-read field shows up as -EINVAL, not as odd behaviour).
 * Bits the SDM leaves undefined are ignored, never rejected.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <vmm/vmx_decode.h>
#include <vmm/vmx_hw.h>

#define BIT(n)			(1ULL << (n))
#define FIELD(v, hi, lo)	(((v) >> (lo)) & ((1ULL << ((hi) - (lo) + 1)) - 1))

/* ---- I/O ---- */

/* Instruction information for INS/OUTS: address size in bits 9:7, segment in 17:15. */
static int decode_string_info(uint32_t info, bool in, struct vmx_io_access *out)
{
	static const uint8_t sizes[3] = { 16, 32, 64 };
	unsigned asz = (unsigned)FIELD(info, 9, 7);
	unsigned seg = (unsigned)FIELD(info, 17, 15);

	if (asz >= 3)
		return -EINVAL;
	out->addr_size = sizes[asz];
	if (in) {
		out->seg = VMX_SEG_ES;	/* INS always writes ES:[rDI]; bits 17:15 undefined */
		return 0;
	}
	if (seg > VMX_SEG_GS)
		return -EINVAL;
	out->seg = (uint8_t)seg;
	return 0;
}

int vmx_decode_io(uint64_t qual, uint32_t insn_info, bool have_insn_info,
		  struct vmx_io_access *out)
{
	unsigned size_enc = (unsigned)(qual & IO_QUAL_SIZE_MASK);

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (size_enc != 0 && size_enc != 1 && size_enc != 3)
		return -EINVAL;
	out->size = (uint8_t)(size_enc + 1);
	out->in = qual & IO_QUAL_IN;
	out->string = qual & IO_QUAL_STRING;
	out->rep = qual & IO_QUAL_REP;
	out->immediate = qual & IO_QUAL_IMMEDIATE;
	out->port = (uint16_t)FIELD(qual, 31, 16);
	out->seg = out->in ? VMX_SEG_ES : VMX_SEG_DS;
	if (out->string && have_insn_info)
		return decode_string_info(insn_info, out->in, out);
	return 0;
}

/* ---- control registers ---- */

int vmx_decode_apic_access(uint64_t qual, struct vmx_apic_access *out)
{
	unsigned type = (unsigned)(qual >> 12) & 0xf;

	if (!out)
		return -EINVAL;
	switch (type) {
	case VMX_APIC_LINEAR_READ:
	case VMX_APIC_LINEAR_WRITE:
	case VMX_APIC_LINEAR_FETCH:
	case VMX_APIC_LINEAR_EVENT:
	case VMX_APIC_PHYS_EVENT:
	case VMX_APIC_PHYS_FETCH:
		break;
	default:
		return -EINVAL;
	}
	out->type = (enum vmx_apic_access_type)type;
	out->offset = (uint16_t)(qual & 0xfff);
	return 0;
}

int vmx_decode_cr(uint64_t qual, struct vmx_cr_access *out)
{
	unsigned cr = (unsigned)FIELD(qual, 3, 0);
	unsigned type = (unsigned)FIELD(qual, 5, 4);

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->type = (enum vmx_cr_type)type;
	out->cr = (uint8_t)cr;
	switch (type) {
	case VMX_CR_MOV_TO:
	case VMX_CR_MOV_FROM:
		if (cr != 0 && cr != 3 && cr != 4 && cr != 8)
			return -EINVAL;
		out->gpr = (uint8_t)FIELD(qual, 11, 8);
		return 0;
	case VMX_CR_LMSW:
		out->lmsw_mem = qual & BIT(6);
		out->lmsw_src = (uint16_t)FIELD(qual, 31, 16);
		break;
	}
	return cr == 0 ? 0 : -EINVAL;	/* CLTS and LMSW always report CR0 */
}

#define CR0_TLB_BITS (BIT(31) | BIT(16) | BIT(0) | BIT(30))	/* PG WP PE CD */
#define CR4_TLB_BITS (BIT(4) | BIT(5) | BIT(7) | BIT(17) | BIT(20) | BIT(21))

bool vmx_cr_write_flushes_tlb(unsigned cr, uint64_t old, uint64_t val)
{
	if (cr == 0)
		return (old ^ val) & CR0_TLB_BITS;
	if (cr == 4)
		return (old ^ val) & CR4_TLB_BITS;
	return false;
}

/* ---- EPT violations ---- */

int vmx_decode_ept(uint64_t qual, struct vmx_ept_violation *out)
{
	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if ((qual & EPT_QUAL_GLA_TRANSLATION) && !(qual & EPT_QUAL_GLA_VALID))
		return -EINVAL;	/* bit 8 is reserved (0) when bit 7 is 0 */
	out->read = qual & EPT_QUAL_READ;
	out->write = qual & EPT_QUAL_WRITE;
	out->fetch = qual & EPT_QUAL_FETCH;
	out->readable = qual & EPT_QUAL_READABLE;
	out->writable = qual & EPT_QUAL_WRITABLE;
	out->executable = qual & EPT_QUAL_EXECUTABLE;
	out->gla_valid = qual & EPT_QUAL_GLA_VALID;
	out->gla_is_translation = qual & EPT_QUAL_GLA_TRANSLATION;
	out->nmi_unblock = qual & EPT_QUAL_NMI_UNBLOCK;
	return 0;
}

/* ---- events ---- */

#define INFO_RESERVED	0x7fffe000U	/* bits 30:13 */

int vmx_decode_event(uint32_t info, struct vmx_event *out)
{
	struct vmx_event e = { 0 };

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!(info & INTR_INFO_VALID))
		return 0;	/* the rest of an invalid field is undefined */
	if (info & INFO_RESERVED)
		return -EINVAL;
	e.valid = true;
	e.vector = (uint8_t)(info & INTR_INFO_VECTOR_MASK);
	e.type = (uint8_t)((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT);
	e.has_error = info & INTR_INFO_DELIVER_CODE;
	e.nmi_unblock_iret = info & INTR_INFO_NMI_UNBLOCK_IRET;
	if (e.type == 1 || (e.type == VMX_EVENT_NMI && e.vector != 2) ||
	    (e.type == VMX_EVENT_HW_EXCEPTION && e.vector > 31))
		return -EINVAL;
	*out = e;
	return 0;
}

uint32_t vmx_encode_event(const struct vmx_event *e)
{
	if (!e || !e->valid)
		return 0;
	return INTR_INFO_VALID | ((uint32_t)(e->type & 7) << INTR_INFO_TYPE_SHIFT) |
	       (e->has_error ? INTR_INFO_DELIVER_CODE : 0) | e->vector;
}

static bool needs_insn_len(uint8_t type)
{
	return type == VMX_EVENT_SW_INTR || type == VMX_EVENT_PRIV_SW_EXCEPTION ||
	       type == VMX_EVENT_SW_EXCEPTION;
}

int vmx_reinject(const struct vmx_event *idt, uint32_t idt_error, uint32_t exit_insn_len,
		 struct vmx_entry_event *out)
{
	if (!idt || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!idt->valid)
		return 0;
	if (idt->type == 1 || idt->type == VMX_EVENT_OTHER || idt->type > 7)
		return -EINVAL;	/* never in the IDT-vectoring field */
	if (idt->has_error && idt->type != VMX_EVENT_HW_EXCEPTION)
		return -EINVAL;
	if (needs_insn_len(idt->type)) {
		if (exit_insn_len < 1 || exit_insn_len > 15)
			return -EINVAL;
		out->insn_len = exit_insn_len;
		out->write_len = true;
	}
	if (idt->has_error) {
		out->error = idt_error;
		out->write_error = true;
	}
	/* An NMI whose delivery was interrupted has not blocked NMIs yet. */
	out->clear_nmi_blocking = idt->type == VMX_EVENT_NMI;
	out->info = vmx_encode_event(idt);
	return 0;
}

bool vmx_exception_has_error_code(uint8_t vector)
{
	switch (vector) {
	case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 21: case 29: case 30:
		return true;
	default:
		return false;
	}
}

const char *vmx_event_type_str(uint8_t type)
{
	static const char *const names[8] = {
		"external interrupt", "reserved", "NMI", "hardware exception",
		"software interrupt", "privileged software exception", "software exception",
		"other event",
	};

	return type < 8 ? names[type] : "invalid";
}
