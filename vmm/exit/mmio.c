/*
 * MMIO emulation. Device registers live at guest-physical addresses that
 * are not guest RAM, so the guest's access raises an EPT violation (or,
 * for the local APIC under APIC virtualization, an APIC-access exit); if the
 * address falls in a range a device registered on the VM's bus, the instruction at
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
	const struct vdev_range *r;
};

static int dev_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *val)
{
	struct mmio_ctx *c = ctx;

	if (!c->r->mmio->read) {
		*val = ~0ULL;	/* write-only register space reads as all ones */
		return 0;
	}
	return c->r->mmio->read(c->r->dev, c->v, gpa, size, val);
}

static int dev_write(void *ctx, uint64_t gpa, unsigned size, uint64_t val)
{
	struct mmio_ctx *c = ctx;

	return c->r->mmio->write ? c->r->mmio->write(c->r->dev, c->v, gpa, size, val) : 0;
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

/*
 * Emulate the instruction at the guest's RIP against the device range r:
 * the exit reported an access of kind `write` to gpa. Decoding starts
 * afresh from the instruction bytes; if they do not describe that access
 * (another vCPU rewrote them), the VM is stopped rather than guessing.
 */
enum exit_action mmio_exit(struct vcpu *v, const struct vdev_range *r, uint64_t gpa, bool write)
{
	uint8_t bytes[15];
	unsigned n = fetch_insn(v, bytes);
	struct mmio_insn insn;
	struct mmio_regs regs;
	struct mmio_ctx ctx = { v, r };
	const struct mmio_ops ops = { &ctx, dev_read, dev_write };
	int err;

	err = n ? mmio_decode(bytes, n, guest_mode(), &insn) : -EFAULT;
	if (!err && insn.is_write != write) {
		snprintf(insn.err, sizeof(insn.err), "instruction at RIP does not match the access");
		err = -ENOTSUP;
	}
	if (!err) {
		regs_to(v, &regs);
		err = mmio_emulate(&insn, &regs, gpa, &ops);
	}
	if (err) {
		vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
			"vCPU %u: cannot emulate the access to %s at guest-physical %#llx "
			"(RIP %#llx, %u instruction bytes %02x %02x %02x %02x): %s", v->id,
			r->dev->name, (unsigned long long)gpa, (unsigned long long)v->exit.rip, n,
			bytes[0], n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0, n > 3 ? bytes[3] : 0,
			err == -ENOTSUP || err == -EINVAL ? insn.err : "device access failed");
		return EXIT_STOP_VM;
	}
	regs_from(v, &regs);
	v->exit.insn_len = insn.len;	/* the exit does not define it for EPT violations */
	return EXIT_SKIP;
}
