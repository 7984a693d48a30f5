/*
 * MMIO emulation. Device registers live at guest-physical addresses that
 * are not guest RAM, so the guest's access raises an EPT violation (or,
 * for the local APIC under APIC virtualization, an APIC-access exit); if the
 * address falls in a range a device registered on the VM's bus, the instruction at
 * the guest's RIP is fetched through the guest's page tables (with the
 * permission checks of an instruction fetch, mem/gwalk.c), decoded
 * (mmio_insn.c: the MOV family and friends) and carried out against the
 * device, and RIP moves past it. An instruction the decoder does not know
 * stops the VM with its bytes in the log rather than guessing.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmm/guest_walk.h>
#include <vmm/mmio_insn.h>
#include <vmm/vmx.h>
#include "exit_priv.h"

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
 * Fetch and decode the instruction at CS:RIP, a page at a time as the CPU
 * would fetch it: each page's translation is checked for an instruction
 * fetch at the guest's CPL (U/S, NX, SMEP), and the next page is fetched
 * only if the instruction runs into it. Returns 0 with *insn decoded (or
 * its decoding error in *derr), or the walk's error: the guest then has
 * its #PF or #GP pending, or the VM is stopped (-EIO).
 */
static int fetch_decode(struct vcpu *v, uint8_t *bytes, unsigned *n, struct mmio_insn *insn,
			int *derr)
{
	enum mmio_mode mode = guest_mode();
	uint64_t la = vmcs_readnat(VMCS_GUEST_CS_BASE) + v->exit.rip, gpa;

	if (mode != MMIO_MODE64)
		la &= 0xffffffffULL;
	*n = 0;
	for (;;) {
		unsigned chunk = 4096 - (unsigned)((la + *n) & 4095);
		int err = guest_walk(v, la + *n, GW_FETCH, "MMIO instruction fetch", &gpa);

		if (err)
			return err;
		if (chunk > MMIO_INSN_MAX_LEN - *n)
			chunk = MMIO_INSN_MAX_LEN - *n;
		if (guest_read(v->vm, gpa, bytes + *n, chunk)) {
			vm_stop(v->vm, VMCONFIG_STOP_BAD_ACCESS, -1,
				"vCPU %u: MMIO instruction at RIP %#llx is fetched from guest-physical "
				"%#llx, which is not guest RAM", v->id,
				(unsigned long long)v->exit.rip, (unsigned long long)gpa);
			return -EIO;
		}
		*n += chunk;
		*derr = mmio_decode(bytes, *n, mode, insn);
		if (!*derr || !insn->truncated || *n >= MMIO_INSN_MAX_LEN)
			return 0;
	}
}

static enum exit_action cannot_emulate(struct vcpu *v, const struct vdev_range *r, uint64_t gpa,
				       const uint8_t *bytes, unsigned n, const char *why)
{
	vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
		"vCPU %u: cannot emulate the access to %s at guest-physical %#llx "
		"(RIP %#llx, %u instruction bytes %02x %02x %02x %02x): %s", v->id,
		r->dev->name, (unsigned long long)gpa, (unsigned long long)v->exit.rip, n,
		n > 0 ? bytes[0] : 0, n > 1 ? bytes[1] : 0, n > 2 ? bytes[2] : 0,
		n > 3 ? bytes[3] : 0, why);
	return EXIT_STOP_VM;
}

/*
 * Emulate the instruction at the guest's RIP against the device range r:
 * the exit reported an access of kind `write` to gpa. Decoding starts
 * afresh from the instruction bytes; if they do not describe that access
 * (another vCPU rewrote them), the VM is stopped rather than guessing, and
 * an access that would run past the end of the device's range is refused
 * the same way, so a device model only ever sees accesses inside its range.
 */
enum exit_action mmio_exit(struct vcpu *v, const struct vdev_range *r, uint64_t gpa, bool write)
{
	uint8_t bytes[MMIO_INSN_MAX_LEN] = { 0 };
	unsigned n;
	struct mmio_insn insn;
	struct mmio_regs regs;
	struct mmio_ctx ctx = { v, r };
	const struct mmio_ops ops = { &ctx, dev_read, dev_write };
	int err = 0, walk;

	walk = fetch_decode(v, bytes, &n, &insn, &err);
	if (walk)
		return walk == -EIO ? EXIT_STOP_VM : EXIT_RESUME;
	if (err)
		return cannot_emulate(v, r, gpa, bytes, n, insn.err);
	if (insn.is_write != write)
		return cannot_emulate(v, r, gpa, bytes, n,
				      "instruction at RIP does not match the access");
	if (gpa - r->base + insn.op_size > r->size)
		return cannot_emulate(v, r, gpa, bytes, n,
				      "the access runs past the end of the device's registers");
	regs_to(v, &regs);
	err = mmio_emulate(&insn, &regs, gpa, &ops);
	if (err)
		return cannot_emulate(v, r, gpa, bytes, n, "device access failed");
	regs_from(v, &regs);
	v->exit.insn_len = insn.len;	/* the exit does not define it for EPT violations */
	return EXIT_SKIP;
}
