/*
 * Port I/O. Every port exits (both I/O bitmaps are all ones), so a guest
 * reaches no host port; device models register port ranges on the VM's
 * bus (vdev/bus.c), and any other port reads as all ones and ignores
 * writes, like an empty ISA bus.
 *
 * String I/O (INS/OUTS, with or without REP) is emulated here in full:
 * the guest linear address comes from RSI/RDI and the segment base, is
 * translated through the guest's page tables with the permission checks
 * the CPU would make for that access (mem/gwalk.c: U/S, R/W with CR0.WP,
 * SMAP with EFLAGS.AC; a refusal is the #PF the CPU would raise), and
 * RCX/RSI/RDI advance as the hardware would. A long REP is done in chunks: RIP stays on the
 * instruction until RCX reaches zero, so other work can run in between.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/cpu_hw.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmkernel/paging.h>
#include <vmkernel/sched.h>
#include <vmm/admission.h>
#include <vmm/guest_walk.h>
#include <vmm/vmx.h>
#include <vmm/vmx_caps.h>
#include <vmm/vmx_decode.h>
#include "exit_priv.h"

/*
 * Elements handled per exit: a long REP goes back to the guest (RIP still
 * on the instruction) after this many, so the vCPU's world can give up
 * its CPU between exits; one exit stays short whatever RCX says.
 */
#define REP_CHUNK 256

int vm_io_bitmaps_init(struct vm *vm)
{
	for (int i = 0; i < 2; i++) {
		uint64_t pa = page_alloc(0);

		if (!pa)
			return -ENOMEM;
		memset(phys_to_virt(pa), 0xff, PAGE_SIZE_4K);
		vm->io_bitmap_pa[i] = pa;
	}
	return 0;
}

static uint32_t size_mask(unsigned size)
{
	return size == 4 ? 0xffffffffU : (1U << (size * 8)) - 1;
}

/*
 * A wide access to an 8-bit device (or one that runs past the end of a
 * device) is split into byte accesses, each going to whatever decodes
 * that port, as on the ISA bus.
 */
static bool needs_split(const struct vdev_range *r, bool found, uint16_t port, unsigned size)
{
	return size > 1 && (!found || r->pio->byte_wide || port + size > r->base + r->size);
}

static uint32_t port_in(struct vcpu *v, uint16_t port, unsigned size)
{
	struct vdev_range r;
	bool found = vdev_pio_lookup(v->vm, port, &r);
	uint32_t val = 0;

	if (needs_split(&r, found, port, size)) {
		for (unsigned i = 0; i < size; i++)
			val |= port_in(v, (uint16_t)(port + i), 1) << (8 * i);
		return val;
	}
	if (found && r.pio->in)
		return r.pio->in(r.dev, v, port, size) & size_mask(size);
	return size_mask(size);
}

static void port_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	struct vdev_range r;
	bool found = vdev_pio_lookup(v->vm, port, &r);

	if (needs_split(&r, found, port, size)) {
		for (unsigned i = 0; i < size; i++)
			port_out(v, (uint16_t)(port + i), 1, (val >> (8 * i)) & 0xff);
		return;
	}
	if (found && r.pio->out)
		r.pio->out(r.dev, v, port, size, val & size_mask(size));
}

static enum exit_action simple_io(struct vcpu *v, uint16_t port, unsigned size, bool in)
{
	uint64_t mask = size == 4 ? 0xffffffffULL : (1ULL << (size * 8)) - 1;

	if (in) {
		uint32_t val = port_in(v, port, size);

		/* IN to EAX zero-extends into RAX; to AL/AX keeps the other bits. */
		v->regs.rax = size == 4 ? val : (v->regs.rax & ~mask) | (val & mask);
	} else {
		port_out(v, port, size, (uint32_t)(v->regs.rax & mask));
	}
	return EXIT_SKIP;
}

static const uint32_t seg_bases[6] = {
	VMCS_GUEST_ES_BASE, VMCS_GUEST_CS_BASE, VMCS_GUEST_SS_BASE,
	VMCS_GUEST_DS_BASE, VMCS_GUEST_FS_BASE, VMCS_GUEST_GS_BASE,
};

struct string_op {
	struct vmx_io_access io;
	uint64_t base;		/* segment base */
	uint64_t addr_mask;	/* 16-, 32- or 64-bit addressing */
	int64_t step;		/* +size or -size (RFLAGS.DF) */
	/* The last page translated in this exit (same paging state, same access). */
	bool cached;
	uint64_t cached_la, cached_gpa;
};

/* Where one element lies in guest-physical memory: one piece, or two across a page. */
struct span {
	uint64_t gpa[2];
	unsigned len[2];
	unsigned n;
};

/*
 * Translate the element at la with the permission checks of the access
 * (a write for INS, a read for OUTS), page by page. 0, or the walk's error
 * with its consequence arranged (#PF or #GP pending, or the VM stopped).
 */
static int element_span(struct vcpu *v, struct string_op *op, uint64_t la, struct span *s)
{
	unsigned done = 0;

	s->n = 0;
	while (done < op->io.size) {
		unsigned len = 4096 - (unsigned)((la + done) & 4095);
		int err;

		uint64_t page = (la + done) & ~4095ULL;

		if (len > op->io.size - done)
			len = op->io.size - done;
		if (!op->cached || op->cached_la != page) {
			err = guest_walk(v, page, op->io.in ? GW_WRITE : GW_READ, "string I/O",
					 &op->cached_gpa);
			if (err) {
				op->cached = false;
				if (err == -EFAULT)
					v->regs.cr2 = la + done;	/* the byte, not its page */
				return err;
			}
			op->cached = true;
			op->cached_la = page;
		}
		s->gpa[s->n] = op->cached_gpa + ((la + done) & 4095);
		s->len[s->n++] = len;
		done += len;
	}
	return 0;
}

/* The buffer is not RAM: say whether it is a device's registers or nothing at all. */
static void stop_not_ram(struct vcpu *v, const struct string_op *op, uint64_t la, uint64_t gpa)
{
	struct vdev_range r;

	if (vdev_mmio_lookup(v->vm, gpa, &r))
		vm_stop(v->vm, VMCONFIG_STOP_UNSUPPORTED, -1,
			"vCPU %u: string I/O on port %#x with a buffer at linear %#llx in the "
			"registers of %s (guest-physical %#llx): not emulated", v->id, op->io.port,
			(unsigned long long)la, r.dev->name, (unsigned long long)gpa);
	else
		vm_stop(v->vm, VMCONFIG_STOP_BAD_ACCESS, -1,
			"vCPU %u: string I/O on port %#x with a buffer at linear %#llx "
			"(guest-physical %#llx) that is not guest RAM", v->id, op->io.port,
			(unsigned long long)la, (unsigned long long)gpa);
}

/* Copy one element between guest memory and val; false (VM stopped) if a piece is not RAM. */
static bool span_copy(struct vcpu *v, const struct string_op *op, uint64_t la,
		      const struct span *s, uint32_t *val, bool to_guest)
{
	uint8_t *b = (uint8_t *)val;

	for (unsigned i = 0, off = 0; i < s->n; off += s->len[i], i++) {
		int err = to_guest ? guest_write(v->vm, s->gpa[i], b + off, s->len[i]) :
				     guest_read(v->vm, s->gpa[i], b + off, s->len[i]);

		if (err == -ENOMEM || err == -EDQUOT) {
			/* Backing the page (or its copy-on-write break) was refused. */
			char why[200];

			vm_mem_refusal(v->vm, err, why, sizeof(why));
			vm_stop(v->vm, VMCONFIG_STOP_KILLED, -1, "vCPU %u: string I/O into "
				"guest-physical %#llx: %s", v->id, (unsigned long long)s->gpa[i], why);
			return false;
		}
		if (err == -EIO && vm_stopped(v->vm))
			return false;	/* a swap-in failed: guest_swap_in() gave the reason */
		if (err) {
			stop_not_ram(v, op, la, s->gpa[i]);
			return false;
		}
	}
	return true;
}

/*
 * One element of INS/OUTS. Returns 0, -EFAULT/-EINVAL (#PF or #GP pending
 * for the guest) or -EIO (the VM is stopped: the buffer or its page tables
 * are not RAM; string I/O to device memory is not emulated). The whole
 * element is translated and checked before the port is touched, so a
 * refused INS consumes no input and a refused OUTS writes nothing.
 */
static int string_element(struct vcpu *v, struct string_op *op)
{
	uint64_t *idx = op->io.in ? &v->regs.rdi : &v->regs.rsi;
	uint64_t la = op->base + (*idx & op->addr_mask);
	struct span s;
	uint32_t val = 0;
	int err;

	err = element_span(v, op, la, &s);
	if (err)
		return err == -EIO ? -EIO : -EFAULT;
	if (op->io.in) {
		val = port_in(v, op->io.port, op->io.size);
		if (!span_copy(v, op, la, &s, &val, true))
			return -EIO;
	} else {
		if (!span_copy(v, op, la, &s, &val, false))
			return -EIO;
		port_out(v, op->io.port, op->io.size, val);
	}
	*idx = (*idx & ~op->addr_mask) | ((*idx + op->step) & op->addr_mask);
	return 0;
}

/* Address size when the CPU gives no instruction information: from the code segment. */
static unsigned addr_size_from_cs(void)
{
	uint32_t ar = vmcs_read32(VMCS_GUEST_CS_AR);

	return (ar & (1U << 13)) ? 64 : (ar & (1U << 14)) ? 32 : 16;
}

static enum exit_action string_io(struct vcpu *v, struct string_op *op)
{
	unsigned asize = op->io.addr_size ? op->io.addr_size : addr_size_from_cs();
	uint64_t count, done = 0;

	/* In 64-bit mode only FS and GS have bases. */
	op->base = asize == 64 && op->io.seg != VMX_SEG_FS && op->io.seg != VMX_SEG_GS ? 0 :
		   vmcs_read_checked(seg_bases[op->io.seg < 6 ? op->io.seg : VMX_SEG_DS],
				     "segment base", __func__);
	op->addr_mask = asize == 16 ? 0xffffULL : asize == 32 ? 0xffffffffULL : ~0ULL;
	op->step = (v->exit.rflags & (1UL << 10)) ? -(int64_t)op->io.size : (int64_t)op->io.size;
	count = op->io.rep ? v->regs.rcx & op->addr_mask : 1;
	/* At least one element per exit; no more once another world waits for this CPU. */
	while (done < count && done < REP_CHUNK && (!done || !sched_should_yield())) {
		int err = string_element(v, op);

		if (err)
			return err == -EIO ? EXIT_STOP_VM : EXIT_RESUME;
		done++;
		/* RCX counts down with every element, as the hardware's would on a fault. */
		if (op->io.rep)
			v->regs.rcx = (v->regs.rcx & ~op->addr_mask) |
				      ((count - done) & op->addr_mask);
	}
	if (op->io.rep && count - done)
		return EXIT_RESUME;	/* not finished: run the instruction again */
	return EXIT_SKIP;
}

enum exit_action handle_io(struct vcpu *v)
{
	struct string_op op = { 0 };

	if (vmx_decode_io(v->exit.qual, v->exit.insn_info, vmx_host_caps()->ins_outs_info,
			  &op.io))
		return handle_inject_gp(v);
	if (op.io.string)
		return string_io(v, &op);
	return simple_io(v, op.io.port, op.io.size, op.io.in);
}
