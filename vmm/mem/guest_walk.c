/*
 * Guest page walks for the current vCPU: the paging state comes from its
 * VMCS, paging-structure entries are read from guest RAM only, and a walk
 * that the CPU would refuse leaves the guest the exception the CPU would
 * have raised (see <vmm/guest_walk.h> and the walker itself, gwalk.c).
 */
#include <errno.h>
#include <vmkernel/cpu.h>
#include <vmkernel/cpu_hw.h>
#include <vmm/guest_mem.h>
#include <vmm/guest_walk.h>
#include <vmm/vcpu.h>
#include <vmm/vm.h>
#include <vmm/vmx.h>

static unsigned maxphyaddr(void)
{
	static unsigned bits;

	if (!bits) {
		unsigned b = cpuid(0x80000000, 0).eax >= 0x80000008 ?
			     cpuid(0x80000008, 0).eax & 0xff : 36;

		bits = b >= 32 && b <= 52 ? b : 36;
	}
	return bits;
}

static void paging_state(struct gw_regs *r)
{
	r->cr0 = vcpu_cr0();
	r->cr4 = vcpu_cr4();
	r->cr3 = vmcs_readnat(VMCS_GUEST_CR3);
	r->efer = vmcs_read64(VMCS_GUEST_IA32_EFER);
	r->cpl = (vmcs_read32(VMCS_GUEST_SS_AR) >> 5) & 3;
	r->ac = vmcs_readnat(VMCS_GUEST_RFLAGS) & (1ULL << 18);
	r->maxphyaddr = maxphyaddr();
}

static int read_entry(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	return guest_read(ctx, gpa, buf, len);
}

static void set_bits(void *ctx, uint64_t gpa, uint32_t bits)
{
	guest_atomic_or32(ctx, gpa, bits);
}

int guest_walk(struct vcpu *v, uint64_t la, unsigned access, const char *what, uint64_t *gpa)
{
	struct gw_regs r;
	struct gw_mem m = { v->vm, read_entry, set_bits };
	struct gw_result res;
	int err;

	paging_state(&r);
	err = gwalk(&r, &m, la, access, &res);
	*gpa = res.gpa;
	switch (err) {
	case 0:
		return 0;
	case -EFAULT:
		v->regs.cr2 = la;
		vcpu_inject_exception(v, X86_EXC_PF, true, res.pf_error);
		return err;
	case -EIO:
		vm_stop(v->vm, VMCONFIG_STOP_BAD_ACCESS, -1,
			"vCPU %u: %s at linear %#llx: the guest's page tables at guest-physical "
			"%#llx are not guest RAM", v->id, what, (unsigned long long)la,
			(unsigned long long)res.bad_gpa);
		return err;
	default:
		vcpu_inject_exception(v, X86_EXC_GP, true, 0);
		return -EINVAL;
	}
}

/* A supervisor read that ignores SMAP: for the VMM's own look at guest memory. */
int guest_linear_to_phys(struct vcpu *v, uint64_t la, uint64_t *gpa)
{
	struct gw_regs r;
	struct gw_mem m = { v->vm, read_entry, NULL };
	struct gw_result res;

	paging_state(&r);
	r.cpl = 0;
	r.ac = true;
	if (gwalk(&r, &m, la, GW_READ, &res))
		return -EFAULT;
	*gpa = res.gpa;
	return 0;
}
