/*
 * Guest linear-to-physical translation for the few exits that carry a
 * linear address (string I/O): walks the guest's own page tables in
 * whichever mode it runs (no paging, 32-bit, PAE, 4-level), reading them
 * through guest_read(). A walk that hits a not-present entry fails and the
 * caller injects #PF; permission bits are not checked (the instruction
 * already passed the CPU's checks before the exit).
 */
#include <errno.h>
#include <vmkernel/cpu_hw.h>
#include <vmm/vmx.h>
#include <vmm/guest_mem.h>
#include <vmm/vm.h>

#define PTE_ADDR_4K	0x000ffffffffff000ULL

static int read_pte(struct vm *vm, uint64_t pa, bool wide, uint64_t *e)
{
	uint32_t e32;

	if (wide)
		return guest_read(vm, pa, e, 8);
	if (guest_read(vm, pa, &e32, 4))
		return -EFAULT;
	*e = e32;
	return 0;
}

/* levels: 2 (32-bit), 3 (PAE) or 4; returns 0 and *gpa, or -EFAULT for a not-present entry. */
static int walk(struct vm *vm, uint64_t cr3, uint64_t la, int levels, bool pse, uint64_t *gpa)
{
	bool wide = levels > 2;
	uint64_t table = wide ? cr3 & (levels == 3 ? ~0x1fULL : PTE_ADDR_4K) : cr3 & 0xfffff000ULL;
	unsigned shift = levels == 2 ? 22 : levels == 3 ? 30 : 39;
	uint64_t e = 0;

	for (int l = levels; l >= 1; l--, shift -= wide ? 9 : 10) {
		unsigned idx_bits = (!wide) ? 10 : (levels == 3 && l == 3) ? 2 : 9;
		uint64_t idx = (la >> shift) & ((1ULL << idx_bits) - 1);

		bool large;

		if (read_pte(vm, table + idx * (wide ? 8 : 4), wide, &e) || !(e & PTE_P))
			return -EFAULT;
		large = (e & PTE_PS) && ((l == 2 && (wide || pse)) || (l == 3 && levels == 4));
		if (l == 1 || large) {
			uint64_t mask = (1ULL << shift) - 1;
			uint64_t base = wide ? e & PTE_ADDR_4K & ~mask : (e & 0xfffff000ULL) & ~mask;

			if (!wide && l == 2)	/* PSE-36: bits 20:13 are address bits 39:32 */
				base |= ((e >> 13) & 0xffULL) << 32;
			*gpa = base | (la & mask);
			return 0;
		}
		table = e & (wide ? PTE_ADDR_4K : 0xfffff000ULL);
	}
	return -EFAULT;
}

int guest_linear_to_phys(struct vcpu *v, uint64_t la, uint64_t *gpa)
{
	uint64_t cr0 = vcpu_cr0(), cr4 = vcpu_cr4(), cr3;
	uint64_t efer = vmcs_read64(VMCS_GUEST_IA32_EFER);

	if (!(cr0 & X86_CR0_PG)) {
		*gpa = la & 0xffffffffULL;
		return 0;
	}
	cr3 = vmcs_readnat(VMCS_GUEST_CR3);
	if (efer & (1ULL << 10))	/* LMA */
		return walk(v->vm, cr3, la, 4, true, gpa);
	if (cr4 & X86_CR4_PAE)
		return walk(v->vm, cr3, la & 0xffffffffULL, 3, true, gpa);
	return walk(v->vm, cr3, la & 0xffffffffULL, 2, cr4 & (1UL << 4), gpa);
}
