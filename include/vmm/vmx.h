/*
 * VMX instructions and VMCS accessors.
 *
 * vmcs_read/write{16,32,64,nat}(FIELD, ...) check at compile time that the
 * field's encoding has that width (SDM 3D B: bits 14:13). A failing VMREAD
 * or VMWRITE is reported with the field's name, the VM-instruction error
 * and the calling function; the *_safe forms return -EIO instead, for
 * probing. All of these act on the current VMCS of the calling CPU.
 */
#ifndef VMX_H
#define VMX_H

#include <stdbool.h>
#include <stdint.h>
#include <vmm/vmx_hw.h>

/* 0 on success; -EIO on VMfailInvalid/VMfailValid (CF or ZF set). */
#define VMX_INSN_FAILED(fail) ((fail) ? -5 : 0)

static inline int vmx_on(uint64_t pa)
{
	uint8_t fail;

	asm volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return VMX_INSN_FAILED(fail);
}

static inline void vmx_off(void)
{
	asm volatile("vmxoff" ::: "cc", "memory");
}

static inline int vmcs_clear(uint64_t pa)
{
	uint8_t fail;

	asm volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return VMX_INSN_FAILED(fail);
}

static inline int vmcs_load(uint64_t pa)
{
	uint8_t fail;

	asm volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
	return VMX_INSN_FAILED(fail);
}

static inline int vmcs_read_safe(uint32_t field, uint64_t *val)
{
	uint8_t fail;
	uint64_t v;

	asm volatile("vmread %2, %0; setna %1" : "=r"(v), "=qm"(fail) : "r"((uint64_t)field)
		     : "cc");
	if (fail)
		return -5;
	*val = v;
	return 0;
}

static inline int vmcs_write_safe(uint32_t field, uint64_t val)
{
	uint8_t fail;

	asm volatile("vmwrite %1, %2; setna %0" : "=qm"(fail) : "r"(val), "r"((uint64_t)field)
		     : "cc", "memory");
	return VMX_INSN_FAILED(fail);
}

static inline int invept(unsigned type, uint64_t eptp)
{
	struct {
		uint64_t eptp, zero;
	} desc = { eptp, 0 };
	uint8_t fail;

	asm volatile("invept %1, %2; setna %0" : "=qm"(fail) : "m"(desc), "r"((uint64_t)type)
		     : "cc", "memory");
	return VMX_INSN_FAILED(fail);
}

static inline int invvpid(unsigned type, uint16_t vpid, uint64_t gla)
{
	struct {
		uint64_t vpid, gla;
	} desc = { vpid, gla };
	uint8_t fail;

	asm volatile("invvpid %1, %2; setna %0" : "=qm"(fail) : "m"(desc), "r"((uint64_t)type)
		     : "cc", "memory");
	return VMX_INSN_FAILED(fail);
}

/* Out of line: report a failed access (field name, VM-instruction error, caller). */
uint64_t vmcs_read_checked(uint32_t field, const char *name, const char *caller);
void vmcs_write_checked(uint32_t field, uint64_t val, const char *name, const char *caller);

#define VMCS_ASSERT_WIDTH(f, w)						\
	_Static_assert(VMCS_FIELD_WIDTH(f) == (w), #f " has another width")

#define vmcs_read16(f) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_16);		\
	(uint16_t)vmcs_read_checked(f, #f, __func__); })
#define vmcs_read32(f) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_32);		\
	(uint32_t)vmcs_read_checked(f, #f, __func__); })
#define vmcs_read64(f) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_64);		\
	vmcs_read_checked(f, #f, __func__); })
#define vmcs_readnat(f) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_NATURAL);	\
	vmcs_read_checked(f, #f, __func__); })

#define vmcs_write16(f, v) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_16);	\
	vmcs_write_checked(f, (uint16_t)(v), #f, __func__); })
#define vmcs_write32(f, v) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_32);	\
	vmcs_write_checked(f, (uint32_t)(v), #f, __func__); })
#define vmcs_write64(f, v) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_64);	\
	vmcs_write_checked(f, (uint64_t)(v), #f, __func__); })
#define vmcs_writenat(f, v) ({ VMCS_ASSERT_WIDTH(f, VMCS_WIDTH_NATURAL);	\
	vmcs_write_checked(f, (uint64_t)(v), #f, __func__); })

/* vmx/spec.c: what guests get of the CPU's speculation controls */
uint32_t spec_guest_cpuid7_edx(void);		/* CPUID.7.EDX bits offered */
uint64_t spec_guest_spec_ctrl_mask(void);	/* IA32_SPEC_CTRL bits a guest may set */
void spec_guest_ibpb(void);			/* a guest's IA32_PRED_CMD.IBPB write */

const char *vmx_instruction_error_str(unsigned err);
const char *vmx_exit_reason_str(unsigned reason);

#endif
