/*
 * MMIO emulation. Device registers live at guest-physical addresses that
 * are not guest RAM, so the guest's access raises an EPT violation; if the
 * address falls in a device model's range (VDEV_MMIO), the instruction at
 * the guest's RIP is fetched through the guest's page tables, decoded
 * (mmio_insn.c: the MOV family and friends) and carried out against the
 * device, and RIP moves past it. An instruction the decoder does not know
 * stops the VM with its bytes in the log rather than guessing.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmm/mmio_insn.h>
#include <vmm/vmx.h>
#include "exit_priv.h"

extern const struct vdev_mmio *const __vdev_mmio_start[], *const __vdev_mmio_end[];

const struct vdev_mmio *vdev_mmio_find(uint64_t gpa)
{
	for (const struct vdev_mmio *const *d = __vdev_mmio_start; d < __vdev_mmio_end; d++) {
		if (gpa >= (*d)->base && gpa - (*d)->base < (*d)->size)
			return *d;
	}
	return NULL;
}

/* Up to 15 bytes at the guest's CS:RIP; returns how many could be read (0: none). */
static unsigned fetch_insn(struct vcpu *v, uint8_t *buf)
{
	uint64_t la = vmcs_readnat(VMCS_GUEST_CS_BASE) + v->exit.rip, gpa;
	unsigned got = 0;

	while (got < 15) {
		unsigned chunk = 4096 - (unsigned)((la + got) & 4095);

		if (chunk > 15 - got)
			chunk = 15 - got;
		if (guest_linear_to_phys(v, la + got, &gpa) || guest_read(v->vm, gpa, buf + got, chunk))
			break;
		got += chunk;
	}
	return got;
}

static enum mmio_mode guest_mode(void)
{
	uint32_t cs_ar = vmcs_read32(VMCS_GUEST_CS_AR);

	if ((vmcs_read64(VMCS_GUEST_IA32_EFER) & (1ULL << 10)) && (cs_ar & (1U << 13)))
		return MMIO_MODE64;
	return (cs_ar & (1U << 14)) ? MMIO_MODE32 : MMIO_MODE16;
}

struct mmio_ctx {
	struct vcpu *v;
	const struct vdev_mmio *d;
};

static int dev_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct mmio_ctx *c = ctx;

	if (!c->d->read) {
		*val = ~0ULL;	/* write-only register space reads as all ones */
		return 0;
	}
	return c->d->read(c->v, gpa, size, val);
}

static int dev_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
	struct mmio_ctx *c = ctx;

	return c->d->write ? c->d->write(c->v, gpa, size, val) : 0;
}

static void regs_to(const struct vcpu *v, struct mmio_regs *r)
{
	const struct vcpu_regs *g = &v->regs;
	const uint64_t src[16] = { g->rax, g->rcx, g->rdx, g->rbx, 0, g->rbp, g->rsi, g->rdi,
				   g->r8, g->r9, g->r10, g->r11, g->r12, g->r13, g->r14, g->r15 };

	memcpy(r->gpr, src, sizeof(src));
	r->gpr[4] = vmcs_readnat(VMCS_GUEST_RSP);
	r->rflags = v->exit.rflags;
}

static void regs_from(struct vcpu *v, const struct mmio_regs *r)
{
	struct vcpu_regs *g = &v->regs;
	uint64_t *dst[16] = { &g->rax, &g->rcx, &g->rdx, &g->rbx, NULL, &g->rbp, &g->rsi, &g->rdi,
			      &g->r8, &g->r9, &g->r10, &g->r11, &g->r12, &g->r13, &g->r14, &g->r15 };

	for (int i = 0; i < 16; i++) {
		if (dst[i])
			*dst[i] = r->gpr[i];
	}
	vmcs_writenat(VMCS_GUEST_RSP, r->gpr[4]);
	vmcs_writenat(VMCS_GUEST_RFLAGS, r->rflags);
}

enum exit_action mmio_exit(struct vcpu *v, const struct vdev_mmio *d)
{
	uint8_t bytes[15];
	unsigned n = fetch_insn(v, bytes);
	struct mmio_insn insn;
	struct mmio_regs regs;
	struct mmio_ctx ctx = { v, d };
	const struct mmio_ops ops = { &ctx, dev_read, dev_write };
	int err;

	if (v->exit.qual & EPT_QUAL_FETCH) {
		vm_stop(v->vm, VMCONFIG_STOP_BAD_ACCESS, -1,
			"vCPU %u: instruction fetch from %s registers at guest-physical %#llx",
			v->id, d->name, (unsigned long long)v->exit.gpa);
		return EXIT_STOP_VM;
	}
	err = n ? mmio_decode(bytes, n, guest_mode(), &insn) : -EFAULT;
	if (!err && insn.is_write != !!(v->exit.qual & EPT_QUAL_WRITE)) {
		/* The bytes at RIP are not what faulted (changed under us): do not guess. */
		snprintf(insn.err, sizeof(insn.err), "instruction at RIP does not match the access");
		err = -ENOTSUP;
	}
	if (!err) {
		regs_to(v, &regs);
		err = mmio_emulate(&insn, &regs, v->exit.gpa, &ops);
	}
	if (err) {
		vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
			"vCPU %u: cannot emulate the access to %s at guest-physical %#llx "
			"(RIP %#llx, %u instruction bytes %02x %02x %02x %02x): %s", v->id, d->name,
			(unsigned long long)v->exit.gpa, (unsigned long long)v->exit.rip, n,
			bytes[0], n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0, n > 3 ? bytes[3] : 0,
			err == -ENOTSUP || err == -EINVAL ? insn.err : "device access failed");
		return EXIT_STOP_VM;
	}
	regs_from(v, &regs);
	v->exit.insn_len = insn.len;	/* the exit does not define it for EPT violations */
	return EXIT_SKIP;
}
