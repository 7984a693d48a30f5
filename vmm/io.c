/*
 * Port I/O. Every port exits (both I/O bitmaps are all ones), so a guest
 * reaches no host port; device models registered with VDEV_PIO() claim
 * port ranges, and any other port reads as all ones and ignores writes,
 * like an empty ISA bus.
 *
 * String I/O (INS/OUTS, with or without REP) is emulated here in full:
 * the guest linear address comes from RSI/RDI and the segment base, is
 * translated through the guest's page tables, and RCX/RSI/RDI advance as
 * the hardware would. A long REP is done in chunks: RIP stays on the
 * instruction until RCX reaches zero, so other work can run in between.
 */
#define pr_fmt(fmt) "vmm: " fmt
#include <errno.h>
#include <string.h>
#include <cpu_hw.h>
#include <kmem.h>
#include <log.h>
#include <paging.h>
#include <vmx.h>
#include "exit_priv.h"

#define REP_CHUNK 4096	/* iterations handled per exit */

extern const struct vdev_pio *const __vdev_pio_start[], *const __vdev_pio_end[];

const struct vdev_pio *vdev_pio_find(uint16_t port)
{
	for (const struct vdev_pio *const *d = __vdev_pio_start; d < __vdev_pio_end; d++) {
		if (port >= (*d)->base && port < (*d)->base + (*d)->count)
			return *d;
	}
	return NULL;
}

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
static bool needs_split(const struct vdev_pio *d, uint16_t port, unsigned size)
{
	return size > 1 && (!d || d->byte_wide || port + size > d->base + d->count);
}

static uint32_t port_in(struct vcpu *v, uint16_t port, unsigned size)
{
	const struct vdev_pio *d = vdev_pio_find(port);
	uint32_t val = 0;

	if (needs_split(d, port, size)) {
		for (unsigned i = 0; i < size; i++)
			val |= port_in(v, (uint16_t)(port + i), 1) << (8 * i);
		return val;
	}
	if (d && d->in)
		return d->in(v, port, size) & size_mask(size);
	return size_mask(size);
}

static void port_out(struct vcpu *v, uint16_t port, unsigned size, uint32_t val)
{
	const struct vdev_pio *d = vdev_pio_find(port);

	if (needs_split(d, port, size)) {
		for (unsigned i = 0; i < size; i++)
			port_out(v, (uint16_t)(port + i), 1, (val >> (8 * i)) & 0xff);
		return;
	}
	if (d && d->out)
		d->out(v, port, size, val & size_mask(size));
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

/* Segment base for OUTS (any segment via the instruction info) or INS (always ES). */
static uint64_t segment_base(const struct vcpu *v, bool in)
{
	static const uint32_t bases[6] = {
		VMCS_GUEST_ES_BASE, VMCS_GUEST_CS_BASE, VMCS_GUEST_SS_BASE,
		VMCS_GUEST_DS_BASE, VMCS_GUEST_FS_BASE, VMCS_GUEST_GS_BASE,
	};
	unsigned seg = in ? 0 : (v->exit.insn_info >> 15) & 7;

	return vmcs_read_checked(bases[seg < 6 ? seg : 3], "segment base", __func__);
}

struct string_op {
	uint16_t port;
	unsigned size;
	bool in, rep;
	uint64_t addr_mask;	/* 16-, 32- or 64-bit addressing */
	int64_t step;		/* +size or -size (RFLAGS.DF) */
};

/* One element of INS/OUTS; false (with #PF injected) if the guest address is not mapped. */
static bool string_element(struct vcpu *v, const struct string_op *op, uint64_t base)
{
	uint64_t *idx = op->in ? &v->regs.rdi : &v->regs.rsi;
	uint64_t la = base + (*idx & op->addr_mask), gpa;
	uint32_t val = 0;

	if (guest_linear_to_phys(v, la, &gpa)) {
		vcpu_inject_exception(v, X86_EXC_PF, true, op->in ? 2 : 0);
		vmcs_writenat(VMCS_GUEST_PENDING_DBG_EXCEPTIONS, 0);
		return false;
	}
	if (op->in) {
		val = port_in(v, op->port, op->size);
		if (guest_write(v->vm, gpa, &val, op->size))
			return false;
	} else {
		if (guest_read(v->vm, gpa, &val, op->size))
			return false;
		port_out(v, op->port, op->size, val);
	}
	*idx = (*idx & ~op->addr_mask) | ((*idx + op->step) & op->addr_mask);
	return true;
}

static enum exit_action string_io(struct vcpu *v, struct string_op *op)
{
	unsigned asize = (v->exit.insn_info >> 7) & 7;	/* 0: 16, 1: 32, 2: 64-bit */
	uint64_t base = segment_base(v, op->in);
	uint64_t count, done = 0;

	op->addr_mask = asize == 0 ? 0xffffULL : asize == 1 ? 0xffffffffULL : ~0ULL;
	op->step = (v->exit.rflags & (1UL << 10)) ? -(int64_t)op->size : (int64_t)op->size;
	count = op->rep ? v->regs.rcx & op->addr_mask : 1;
	while (done < count && done < REP_CHUNK) {
		if (!string_element(v, op, base))
			return vm_stopped(v->vm) ? EXIT_STOP_VM : EXIT_RESUME;
		done++;
	}
	if (op->rep) {
		v->regs.rcx = (v->regs.rcx & ~op->addr_mask) | ((count - done) & op->addr_mask);
		if (count - done)
			return EXIT_RESUME;	/* not finished: run the instruction again */
	}
	return EXIT_SKIP;
}

enum exit_action handle_io(struct vcpu *v)
{
	uint64_t q = v->exit.qual;
	struct string_op op = {
		.port = (uint16_t)(q >> IO_QUAL_PORT_SHIFT),
		.size = (unsigned)(q & IO_QUAL_SIZE_MASK) + 1,
		.in = q & IO_QUAL_IN,
		.rep = q & IO_QUAL_REP,
	};

	if (op.size != 1 && op.size != 2 && op.size != 4)
		return handle_inject_gp(v);
	if (q & IO_QUAL_STRING)
		return string_io(v, &op);
	return simple_io(v, op.port, op.size, op.in);
}
