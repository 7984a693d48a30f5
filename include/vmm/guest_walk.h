/*
 * Walks of the guest's own page tables with the CPU's permission checks
 * (vmm/mem/gwalk.c, the pure walker; vmm/mem/guest_walk.c, the vCPU glue).
 *
 * The VMM touches guest memory by linear address for the instructions it
 * emulates: INS/OUTS buffers and the bytes of an MMIO instruction. Those
 * accesses must be refused exactly where the CPU would refuse them, or a
 * guest's user process could use the VMM to read or write its kernel's
 * memory. gwalk() implements SDM 3A chapter 4 for 32-bit, PAE and 4-level
 * paging: present bits, reserved bits, U/S and R/W of every level, CR0.WP,
 * CR4.SMEP, CR4.SMAP with EFLAGS.AC, and execute-disable with EFER.NXE; it
 * sets the accessed and dirty bits the access would set. A refusal comes
 * back as the #PF error code the CPU would push.
 */
#ifndef VMM_GUEST_WALK_H
#define VMM_GUEST_WALK_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* Kinds of access (SDM 3A 4.6). */
#define GW_READ		0
#define GW_WRITE	1
#define GW_FETCH	2

/* #PF error code bits (SDM 3A 4.7). */
#define PF_ERR_P	(1U << 0)	/* a protection violation (else not present) */
#define PF_ERR_W	(1U << 1)
#define PF_ERR_U	(1U << 2)
#define PF_ERR_RSVD	(1U << 3)
#define PF_ERR_I	(1U << 4)

/* The paging state of the vCPU making the access. */
struct gw_regs {
	uint64_t cr0, cr3, cr4, efer;
	unsigned cpl;		/* 3: a user-mode access */
	bool ac;		/* RFLAGS.AC (SMAP) */
	unsigned maxphyaddr;	/* physical-address width, from CPUID 0x80000008 */
};

struct gw_mem {
	void *ctx;
	/* Read a paging-structure entry (4 or 8 bytes) at gpa: 0, or -errno if not RAM. */
	int (*read)(void *ctx, uint64_t gpa, void *buf, unsigned len);
	/* Atomically OR bits (accessed, dirty) into the entry's low 32 bits at gpa (optional). */
	void (*set_bits)(void *ctx, uint64_t gpa, uint32_t bits);
};

struct gw_result {
	uint64_t gpa;		/* the translation (0 on failure) */
	uint32_t pf_error;	/* -EFAULT: the #PF error code */
	uint64_t bad_gpa;	/* -EIO: the paging-structure entry that is not RAM */
	unsigned levels;	/* 0 (no paging), 2 (32-bit), 3 (PAE), 4 (4-level) */
};

/*
 * Translate la for an access of kind GW_* by the vCPU described in r.
 * Returns 0 (out->gpa), -EFAULT (the CPU would raise #PF with
 * out->pf_error and CR2 = la), -EIO (a paging structure lies outside
 * guest RAM: out->bad_gpa) or -EINVAL (a non-canonical address in 64-bit
 * paging: #GP, or bad arguments).
 */
int gwalk(const struct gw_regs *r, const struct gw_mem *m, uint64_t la, unsigned access,
	  struct gw_result *out);

/*
 * The vCPU glue: translate la for access as the current vCPU. On failure
 * the consequence is already arranged: -EFAULT, a #PF (CR2 and error code)
 * is pending for the guest; -EINVAL, a #GP(0) is pending; -EIO, the VM is
 * stopped with the reason. what names the access for that reason.
 */
int guest_walk(struct vcpu *v, uint64_t la, unsigned access, const char *what,
	       uint64_t *gpa);

#endif
