/*
 * Named decoders for VM-exit information (SDM 3C ch. 28 "VM exits"):
 * exit qualifications of I/O instructions, control-register accesses and
 * EPT violations (28.2.1), the VM-exit instruction-information field of
 * INS/OUTS (28.2.5), and the interruption-information format shared by the
 * VM-exit interruption info, the IDT-vectoring info and the VM-entry
 * interruption info (25.8.3, 28.2.2, 28.2.4).
 *
 * Exit handlers call these instead of shifting qualification bits by hand.
 * Everything here is pure logic, host unit-tested (tests/unit/test_vmx_decode.c).
 */
#ifndef VMX_DECODE_H
#define VMX_DECODE_H

#include <stdbool.h>
#include <stdint.h>

/* ---- I/O instructions (table 28-5; instruction information for INS/OUTS, 28.2.5) ---- */

/* Segment registers as the instruction-information field numbers them. */
#define VMX_SEG_ES	0
#define VMX_SEG_CS	1
#define VMX_SEG_SS	2
#define VMX_SEG_DS	3
#define VMX_SEG_FS	4
#define VMX_SEG_GS	5

struct vmx_io_access {
	uint16_t port;
	uint8_t size;		/* bytes: 1, 2 or 4 */
	bool in;		/* IN/INS (else OUT/OUTS) */
	bool string;		/* INS/OUTS */
	bool rep;		/* REP prefix */
	bool immediate;		/* port was an immediate operand (else DX) */
	uint8_t addr_size;	/* string I/O with instruction info: 16, 32 or 64; else 0 */
	uint8_t seg;		/* VMX_SEG_*: ES for INS; for OUTS from the info, else DS */
};

/*
 * Decode an I/O-instruction exit. insn_info is the VM-exit instruction-
 * information field, used only for INS/OUTS and only if have_insn_info
 * (IA32_VMX_BASIC bit 54, vmx_caps.ins_outs_info). Without it, addr_size is
 * 0 and seg the default (DS for OUTS): the caller must decode the
 * instruction bytes to learn the address size and any segment override.
 * Returns 0, or -EINVAL for a reserved access size (bits 2:0 not 0, 1 or 3),
 * a reserved address-size or segment encoding, or out == NULL.
 */
int vmx_decode_io(uint64_t qual, uint32_t insn_info, bool have_insn_info,
		  struct vmx_io_access *out);

/* ---- APIC-access exits (table 28-6) ---- */

enum vmx_apic_access_type {
	VMX_APIC_LINEAR_READ = 0,
	VMX_APIC_LINEAR_WRITE = 1,
	VMX_APIC_LINEAR_FETCH = 2,
	VMX_APIC_LINEAR_EVENT = 3,	/* during event delivery */
	VMX_APIC_PHYS_EVENT = 10,	/* guest-physical access during event delivery */
	VMX_APIC_PHYS_FETCH = 15,	/* guest-physical access for an instruction fetch or execution */
};

struct vmx_apic_access {
	uint16_t offset;		/* in the APIC page (linear accesses only) */
	enum vmx_apic_access_type type;
};

/* Decode an APIC-access exit qualification. -EINVAL for a reserved access type. */
int vmx_decode_apic_access(uint64_t qual, struct vmx_apic_access *out);

/* ---- control-register accesses (table 28-3) ---- */

enum vmx_cr_type {
	VMX_CR_MOV_TO = 0,	/* MOV to CRn from gpr */
	VMX_CR_MOV_FROM = 1,	/* MOV to gpr from CRn */
	VMX_CR_CLTS = 2,
	VMX_CR_LMSW = 3,
};

struct vmx_cr_access {
	uint8_t cr;		/* 0, 3, 4 or 8 (always 0 for CLTS and LMSW) */
	enum vmx_cr_type type;
	uint8_t gpr;		/* MOV only: 0 = RAX ... 4 = RSP ... 15 = R15 */
	bool lmsw_mem;		/* LMSW only: operand was in memory (else a register) */
	uint16_t lmsw_src;	/* LMSW only: the source operand (only bits 3:0 matter) */
};

/*
 * Decode a control-register-access exit. Returns 0, or -EINVAL for a MOV
 * naming a CR other than 0, 3, 4 or 8, a CLTS/LMSW with a nonzero CR
 * number, or out == NULL.
 */
int vmx_decode_cr(uint64_t qual, struct vmx_cr_access *out);

/*
 * Must an emulated MOV to CR0 or CR4 from old to val flush the guest's
 * cached translations (its VPID), as the CPU's own MOV would (SDM 3A
 * 4.10.4.1)? CR0: a change of PG, WP, PE or CD; CR4: a change of PSE, PAE,
 * PGE, PCIDE, SMEP or SMAP. Other registers: false.
 */
bool vmx_cr_write_flushes_tlb(unsigned cr, uint64_t old, uint64_t val);

/* ---- EPT violations (table 28-7) ---- */

struct vmx_ept_violation {
	bool read, write, fetch;		/* the access that faulted */
	bool readable, writable, executable;	/* what the EPT entries allowed (AND of levels) */
	bool gla_valid;				/* guest linear address field is valid */
	bool gla_is_translation;		/* linear address was the access's own (else a
						 * guest paging-structure access); gla_valid only */
	bool nmi_unblock;			/* NMI unblocking due to IRET */
};

/* Returns 0, or -EINVAL if bit 8 is set without bit 7 (reserved) or out == NULL. */
int vmx_decode_ept(uint64_t qual, struct vmx_ept_violation *out);

/* ---- interruption information (25.8.3, 28.2.2, 28.2.3) ---- */

#define VMX_EVENT_EXT_INTR		0
#define VMX_EVENT_NMI			2
#define VMX_EVENT_HW_EXCEPTION		3
#define VMX_EVENT_SW_INTR		4
#define VMX_EVENT_PRIV_SW_EXCEPTION	5
#define VMX_EVENT_SW_EXCEPTION		6
#define VMX_EVENT_OTHER			7	/* VM entry only: pending MTF exit, vector 0 */

struct vmx_event {
	bool valid;
	uint8_t vector;
	uint8_t type;		/* VMX_EVENT_* */
	bool has_error;		/* error code valid / deliver error code */
	bool nmi_unblock_iret;	/* exit interruption info only; undefined in IDT-vectoring info */
};

/*
 * Decode a VM-exit interruption-information or IDT-vectoring-information
 * field. An invalid field (bit 31 clear) decodes as all zeros and returns 0.
 * Returns -EINVAL for a valid field with reserved bits 30:13 set, type 1
 * (reserved), an NMI whose vector is not 2, a hardware exception with a
 * vector above 31, or out == NULL.
 */
int vmx_decode_event(uint32_t info, struct vmx_event *out);

/* VM-entry interruption information for e (0 if !e->valid); bit 12 is never set. */
uint32_t vmx_encode_event(const struct vmx_event *e);

/* What to write to the VMCS before the next entry to deliver an event again. */
struct vmx_entry_event {
	uint32_t info;		/* VMCS_ENTRY_INTR_INFO (0: nothing to re-inject) */
	uint32_t error;		/* VMCS_ENTRY_EXCEPTION_ERROR_CODE, if write_error */
	uint32_t insn_len;	/* VMCS_ENTRY_INSTRUCTION_LEN, if write_len */
	bool write_error;
	bool write_len;
	bool clear_nmi_blocking; /* clear bit 3 of VMCS_GUEST_INTERRUPTIBILITY (NMI re-injection) */
};

/*
 * Re-inject the event whose delivery an exit interrupted (SDM 3C 28.2.3
 * IDT-vectoring information, 28.2.4 instruction length, and the SDM's
 * guidance on resuming guest software after an exit during event
 * delivery): idt is the decoded IDT-vectoring information, idt_error the
 * IDT-vectoring error code, exit_insn_len the VM-exit instruction length.
 * Software interrupts and (privileged) software exceptions need the
 * instruction length (1..15: the CPU pushes RIP + length as the return
 * address), exceptions with an error code need the error code, and an NMI
 * needs blocking by NMI cleared. An invalid idt gives *out = { 0 } and 0.
 *
 * Not handled (the caller's business): merging the interrupted event with
 * an exception the exit handler wants to raise (contributory after
 * contributory or #PF = #DF, anything after #DF = triple fault; SDM 3A
 * "Conditions for Generating a Double Fault"); setting blocking by NMI
 * again when the exit reported "NMI unblocking due to IRET" and the IRET
 * will be re-executed.
 * Returns 0, or -EINVAL for an event type that cannot be in the
 * IDT-vectoring field, an error code on a non-exception, an instruction
 * length outside 1..15 where one is needed, or NULL pointers.
 */
int vmx_reinject(const struct vmx_event *idt, uint32_t idt_error, uint32_t exit_insn_len,
		 struct vmx_entry_event *out);

/*
 * Does exception `vector` push an error code: #DF(8), #TS(10), #NP(11),
 * #SS(12), #GP(13), #PF(14), #AC(17), #CP(21), #VC(29), #SX(30).
 * Note: VM entry (SDM 3C 27.2.1.3) accepts deliver-error-code only for
 * 8, 10-14, 17 and 21; 29 and 30 are AMD-defined and must not be injected
 * with an error code on Intel (vmcs_check rejects it).
 */
bool vmx_exception_has_error_code(uint8_t vector);

/* "external interrupt", "NMI", ... for VMX_EVENT_*; "reserved" for 1, "invalid" above 7. */
const char *vmx_event_type_str(uint8_t type);

#endif
