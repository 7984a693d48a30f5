/*
 * cr: the guest sees its own CR0/CR4. Bits it may change read back as
 * written (even the ones VMX forces on in the real register, such as
 * CR0.NE); what the SDM says faults, faults; CR4.VMXE cannot be set; and
 * paging can be switched on (4 MiB pages) and off again.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "cr";

#define ALIAS_RW 0xc0000000u /* PDE 0x300: phys 0-4 MiB, writable */
#define ALIAS_RO 0xc0400000u /* PDE 0x301: phys 0-4 MiB, read-only */

static uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t target;

/* Set then clear BIT in CR0 or CR4 and check both reads. */
static void toggle(int cr, uint32_t bit, const char *name)
{
	uint32_t orig = cr == 0 ? read_cr0() : read_cr4();
	uint32_t on, off;
	int f1, f2;

	f1 = cr == 0 ? try_write_cr0(orig | bit) : try_write_cr4(orig | bit);
	on = cr == 0 ? read_cr0() : read_cr4();
	f2 = cr == 0 ? try_write_cr0(orig & ~bit) : try_write_cr4(orig & ~bit);
	off = cr == 0 ? read_cr0() : read_cr4();
	if (cr == 0)
		write_cr0(orig);
	else
		write_cr4(orig);
	CHECKF(f1 < 0 && f2 < 0 && on == (orig | bit) && off == (orig & ~bit), name,
	       "cr%d 0x%x: set 0x%x -> 0x%x (vector %d), clear -> 0x%x (vector %d)", cr, orig,
	       bit, on, f1, off, f2);
}

static void check_cr0(void)
{
	uint32_t cr0 = read_cr0(), v;
	int f;

	gprintf("cr: cr0 0x%x cr4 0x%lx at start\n", cr0, read_cr4());
	CHECKF((cr0 & (CR0_PE | CR0_PG)) == CR0_PE, "cr0_boot", "cr0 0x%x", cr0);
	toggle(0, CR0_WP, "cr0_wp");
	toggle(0, CR0_NE, "cr0_ne");
	toggle(0, CR0_TS, "cr0_ts");
	toggle(0, CR0_MP, "cr0_mp");
	toggle(0, CR0_AM, "cr0_am");
	toggle(0, CR0_CD, "cr0_cd");

	f = try_write_cr0(cr0 | CR0_CD | CR0_NW);
	v = read_cr0();
	write_cr0(cr0);
	CHECKF(f < 0 && (v & (CR0_CD | CR0_NW)) == (CR0_CD | CR0_NW), "cr0_cd_nw",
	       "vector %d, cr0 0x%x", f, v);
}

/* Faults QEMU TCG does not raise: vmkernel only. */
static void check_cr0_faults(void)
{
	uint32_t cr0 = read_cr0(), v;
	int f;

	/* SDM MOV CR: setting NW with CD clear is #GP(0). */
	if (!vmk_skip("cr0_nw_without_cd_gp")) {
		f = try_write_cr0((cr0 & ~CR0_CD) | CR0_NW);
		v = read_cr0();
		write_cr0(cr0);
		CHECKF(f == VEC_GP && trap_last.err == 0 && !(v & CR0_NW),
		       "cr0_nw_without_cd_gp", "vector %d error 0x%x, cr0 0x%x", f,
		       trap_last.err, v);
	}
	/* If this did not fault the guest would be lost in real mode with paging. */
	if (!vmk_skip("cr0_pg_without_pe_gp")) {
		f = try_write_cr0((cr0 & ~CR0_PE) | CR0_PG);
		CHECKF(f == VEC_GP && read_cr0() == cr0, "cr0_pg_without_pe_gp",
		       "vector %d, cr0 0x%lx", f, read_cr0());
	}
}

static void check_cr4(void)
{
	uint32_t cr4 = read_cr4(), v;
	int f;

	toggle(4, CR4_PSE, "cr4_pse");
	toggle(4, CR4_PAE, "cr4_pae");
	if (cpuid_has(1, 'd', 13))
		toggle(4, CR4_PGE, "cr4_pge");
	else
		SKIP("cr4_pge", "CPUID reports no PGE");
	toggle(4, CR4_OSFXSR, "cr4_osfxsr");

	/*
	 * Both faults are architectural, but QEMU TCG (its AMD flavour with SVM)
	 * loops on reserved CR4 bits instead of raising #GP: vmkernel only.
	 */
	if (!vmk_skip("cr4_vmxe_gp")) {
		f = try_write_cr4(cr4 | CR4_VMXE);
		v = read_cr4();
		write_cr4(cr4);
		CHECKF(f == VEC_GP && trap_last.err == 0 && !(v & CR4_VMXE), "cr4_vmxe_gp",
		       "vector %d error 0x%x, cr4 0x%x", f, trap_last.err, v);
	}
	/*
	 * OSXSAVE is accepted exactly when CPUID offers XSAVE, and CPUID's
	 * OSXSAVE bit then follows CR4. Protection keys are not offered.
	 */
	if (!vmk_skip("cr4_osxsave")) {
		bool xsave = cpuid_has(1, 'c', 26);
		uint32_t seen;

		f = try_write_cr4(cr4 | CR4_OSXSAVE);
		v = read_cr4();
		seen = cpuid(1, 0).ecx & (1u << 27);
		write_cr4(cr4);
		if (xsave)
			CHECKF(f < 0 && (v & CR4_OSXSAVE) && seen && !(cpuid(1, 0).ecx & (1u << 27)),
			       "cr4_osxsave", "XSAVE offered: vector %d, cr4 0x%x, CPUID OSXSAVE %s",
			       f, v, seen ? "set" : "clear");
		else
			CHECKF(f == VEC_GP && !(v & CR4_OSXSAVE), "cr4_osxsave",
			       "XSAVE not offered: vector %d, cr4 0x%x", f, v);
	}
	if (!vmk_skip("cr4_pke_gp")) {
		f = try_write_cr4(cr4 | (1u << 22));
		v = read_cr4();
		write_cr4(cr4);
		CHECKF(f == VEC_GP && !(v & (1u << 22)), "cr4_pke_gp", "vector %d, cr4 0x%x", f, v);
	}
	if (vmk_skip("cr4_reserved_gp"))
		return;
	f = try_write_cr4(cr4 | (1u << 31));
	v = read_cr4();
	write_cr4(cr4);
	CHECKF(f == VEC_GP && v == cr4, "cr4_reserved_gp", "vector %d, cr4 0x%x", f, v);
}

static void check_paging(void)
{
	uint32_t cr0, off = (uint32_t)(uintptr_t)&target;
	volatile uint32_t *rw = (volatile uint32_t *)(uintptr_t)(ALIAS_RW + off);
	volatile uint32_t *ro = (volatile uint32_t *)(uintptr_t)(ALIAS_RO + off);
	int f;

	write_cr3(0x12345000);
	CHECK_EQ(read_cr3(), 0x12345000, "cr3_no_paging");

	pd_identity_4m(pd);
	pd[ALIAS_RW >> 22] = PDE_P | PDE_RW | PDE_PS;
	pd[ALIAS_RO >> 22] = PDE_P | PDE_PS;
	paging_on(pd);
	cr0 = read_cr0();
	CHECKF(cr0 & CR0_PG, "paging_on", "cr0 0x%x", cr0);
	CHECK_EQ(read_cr3(), (uint32_t)(uintptr_t)pd, "cr3_paging");
	target = 0x1234;
	*rw = 0xfeedf00d;
	CHECK_EQ(target, 0xfeedf00d, "paging_alias");

	write_cr0(cr0 | CR0_WP);
	trap_arm();
	asm volatile(TRAP_TRY("movl $0x5a5a, (%0)") : : "r"(ro) : "memory");
	f = trap_done();
	CHECKF(f == VEC_PF && trap_last.err == 3 && trap_last.cr2 == (uint32_t)(uintptr_t)ro &&
		       target == 0xfeedf00d,
	       "cr0_wp_enforced", "vector %d error 0x%x cr2 0x%x value 0x%x", f, trap_last.err,
	       trap_last.cr2, target);
	write_cr0(cr0 & ~CR0_WP);
	trap_arm();
	asm volatile(TRAP_TRY("movl $0x5a5a, (%0)") : : "r"(ro) : "memory");
	f = trap_done();
	CHECKF(f < 0 && target == 0x5a5a, "cr0_wp_clear_allows", "vector %d, value 0x%x", f,
	       target);

	paging_off();
	cr0 = read_cr0();
	CHECKF(!(cr0 & CR0_PG), "paging_off", "cr0 0x%x", cr0);
	target = 7;
	CHECK_EQ(target, 7, "memory_after_paging_off");
}

void guest_main(void)
{
	check_cr0();
	check_cr0_faults();
	check_cr4();
	check_paging();
}
