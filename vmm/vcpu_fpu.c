/*
 * Guest x87/SSE/AVX state.
 *
 * The vmkernel itself never touches the FPU or vector registers (it is
 * built with -mgeneral-regs-only), so they hold the state of whichever
 * vCPU last ran on the CPU; vcpu.c switches them lazily, only when another
 * vCPU comes, with XSAVE/XRSTOR (FXSAVE/FXRSTOR on CPUs without XSAVE).
 *
 * XCR0: the host runs with XCR0 = every feature guests may use (x87, SSE,
 * AVX and AVX-512 where the CPU has them), so a save or restore always
 * covers whatever a guest enabled. A guest's own XCR0 is loaded just
 * before entry and the host's just after exit, only when they differ.
 * Features that need more than XCR0 (MPX, PKRU, AMX, supervisor states
 * behind IA32_XSS) are not offered.
 */
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/kmem.h>
#include <vmkernel/paging.h>
#include <vmm/vcpu.h>
#include <vmm/vcpu_fpu.h>
#include "vcpu_priv.h"

#define XFEATURE_X87		(1ULL << 0)
#define XFEATURE_SSE		(1ULL << 1)
#define XFEATURE_AVX		(1ULL << 2)
#define XFEATURE_AVX512		(7ULL << 5)	/* opmask, ZMM_Hi256, Hi16_ZMM */
#define OFFERED			(XFEATURE_X87 | XFEATURE_SSE | XFEATURE_AVX | XFEATURE_AVX512)
#define CPUID1_ECX_XSAVE	(1U << 26)

static bool have_xsave;		/* set once by the first CPU, identical on all */
static uint64_t xcr0_mask;	/* what guests may enable = the host's XCR0 */
static uint32_t area_bytes;

static inline void xsetbv(uint32_t index, uint64_t val)
{
	asm volatile("xsetbv" : : "c"(index), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)));
}

uint32_t vcpu_fpu_area_size(uint64_t mask)
{
	uint32_t size = 576;	/* legacy area and XSAVE header */

	for (unsigned i = 2; i < 63; i++) {
		if (mask & (1ULL << i)) {
			struct cpuid_regs r = cpuid(0xd, i);

			if (r.ebx + r.eax > size)
				size = r.ebx + r.eax;
		}
	}
	return size;
}

void vcpu_fpu_cpu_init(void)
{
	uint64_t supported;
	struct cpuid_regs r;

	if (!(cpuid(1, 0).ecx & CPUID1_ECX_XSAVE) || cpuid(0, 0).eax < 0xd)
		return;
	r = cpuid(0xd, 0);
	supported = ((uint64_t)r.edx << 32 | r.eax) & OFFERED;
	/* AVX-512 is all three components or none; all need AVX. */
	if ((supported & XFEATURE_AVX512) != XFEATURE_AVX512 || !(supported & XFEATURE_AVX))
		supported &= ~XFEATURE_AVX512;
	write_cr4(read_cr4() | X86_CR4_OSXSAVE);
	xsetbv(0, supported);
	if (!have_xsave) {
		xcr0_mask = supported;
		area_bytes = vcpu_fpu_area_size(supported);
		have_xsave = true;
	}
}

bool vcpu_fpu_xsave(void)
{
	return have_xsave;
}

uint64_t vcpu_fpu_xcr0_mask(void)
{
	return have_xsave ? xcr0_mask : XFEATURE_X87 | XFEATURE_SSE;
}

void fpu_save(void *area)
{
	if (have_xsave)
		asm volatile("xsave64 (%0)" : : "r"(area), "a"(~0U), "d"(~0U) : "memory");
	else
		asm volatile("fxsave64 (%0)" : : "r"(area) : "memory");
}

void fpu_restore(const void *area)
{
	if (have_xsave)
		asm volatile("xrstor64 (%0)" : : "r"(area), "a"(~0U), "d"(~0U) : "memory");
	else
		asm volatile("fxrstor64 (%0)" : : "r"(area) : "memory");
}

/* A reset FPU: control word 0x37f, MXCSR 0x1f80, no extended state in use. */
int vcpu_fpu_alloc(struct vcpu *v)
{
	uint32_t bytes = have_xsave ? area_bytes : 512;
	uint64_t pa;

	if (bytes > PAGE_SIZE_4K)
		return -ENOTSUP;
	pa = page_alloc(0);
	if (!pa)
		return -ENOMEM;
	v->xsave = phys_to_virt(pa);
	memset(v->xsave, 0, PAGE_SIZE_4K);
	*(uint16_t *)&v->xsave[0] = 0x37f;
	*(uint32_t *)&v->xsave[24] = 0x1f80;
	v->xcr0 = XFEATURE_X87;
	return 0;
}

void vcpu_fpu_free(struct vcpu *v)
{
	if (v->xsave)
		page_free(virt_to_phys(v->xsave), 0);
	v->xsave = NULL;
}

/* XSETBV rules (SDM 1 13.3): x87 always; AVX needs SSE; AVX-512 is all or nothing, with AVX. */
int vcpu_fpu_set_xcr0(struct vcpu *v, uint32_t index, uint64_t val)
{
	if (index != 0 || !(val & XFEATURE_X87) || (val & ~vcpu_fpu_xcr0_mask()))
		return -1;
	if ((val & XFEATURE_AVX) && !(val & XFEATURE_SSE))
		return -1;
	if ((val & XFEATURE_AVX512) &&
	    ((val & XFEATURE_AVX512) != XFEATURE_AVX512 || !(val & XFEATURE_AVX)))
		return -1;
	v->xcr0 = val;
	return 0;
}

/*
 * XCR0 matters to a guest only once its CR4.OSXSAVE is set: before that,
 * XSAVE and AVX are #UD for it whatever XCR0 holds, so the host's stays.
 */
void guest_xcr0_enter(struct vcpu *v)
{
	if (have_xsave && v->osxsave && v->xcr0 != xcr0_mask)
		xsetbv(0, v->xcr0);
}

void guest_xcr0_exit(struct vcpu *v)
{
	if (have_xsave && v->osxsave && v->xcr0 != xcr0_mask)
		xsetbv(0, xcr0_mask);
}
