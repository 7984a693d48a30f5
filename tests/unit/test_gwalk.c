/*
 * The guest page walker with permission checks (vmm/mem/gwalk.c), against
 * the SDM's rules for 32-bit, PAE and 4-level paging: every refusal comes
 * back with the #PF error code the CPU would push, accessed/dirty bits are
 * set only on success, and tables outside guest RAM are reported.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <vmkernel/cpu_hw.h>
#include <vmm/guest_walk.h>

#define RAM_PAGES 64
#define RAM_SIZE (RAM_PAGES * 4096ULL)
#define CR4_PSE (1ULL << 4)
#define CR4_SMEP (1ULL << 20)
#define CR4_SMAP (1ULL << 21)
#define EFER_LMA (1ULL << 10)
#define P PTE_P
#define W PTE_W
#define U PTE_U

static uint8_t ram[RAM_SIZE];

static int ram_read(void *ctx, uint64_t gpa, void *buf, unsigned len)
{
	(void)ctx;
	if (gpa >= RAM_SIZE || gpa + len > RAM_SIZE)
		return -EFAULT;
	memcpy(buf, ram + gpa, len);
	return 0;
}

static void ram_or(void *ctx, uint64_t gpa, uint32_t bits)
{
	uint32_t v;

	(void)ctx;
	assert_true(gpa + 4 <= RAM_SIZE && !(gpa & 3));
	memcpy(&v, ram + gpa, 4);
	v |= bits;
	memcpy(ram + gpa, &v, 4);
}

static const struct gw_mem mem = { NULL, ram_read, ram_or };

static void put32(uint64_t gpa, uint32_t v)
{
	memcpy(ram + gpa, &v, 4);
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(ram + gpa, &v, 8);
}

static uint64_t get64(uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, ram + gpa, 8);
	return v;
}

static struct gw_regs regs(uint64_t cr0, uint64_t cr3, uint64_t cr4, uint64_t efer, unsigned cpl)
{
	return (struct gw_regs){ cr0, cr3, cr4, efer, cpl, false, 40 };
}

/* Expect a #PF with this error code. */
#define PF(r, la, acc, ec)							\
	do {									\
		struct gw_result res_;						\
		assert_int_equal(gwalk(&(r), &mem, (la), (acc), &res_), -EFAULT); \
		assert_int_equal(res_.pf_error, (ec));				\
	} while (0)
#define OK(r, la, acc, want)							\
	do {									\
		struct gw_result res_;						\
		assert_int_equal(gwalk(&(r), &mem, (la), (acc), &res_), 0);	\
		assert_int_equal(res_.gpa, (want));				\
	} while (0)

static void setup32(void)
{
	memset(ram, 0, sizeof(ram));
	/* CR3 = 0x1000: PDE 0 -> PT at 0x2000; PDE 1 -> 4 MiB page at 12 MiB; PDE 2 -> PT, read-only. */
	put32(0x1000, 0x2000 | P | W | U);
	put32(0x1004, 0xc00000 | P | W | U | PTE_PS);
	put32(0x1008, 0x3000 | P | U);
	put32(0x2000 + 1 * 4, 0x10000 | P | W | U);	/* user RW */
	put32(0x2000 + 2 * 4, 0x11000 | P | W);		/* supervisor RW */
	put32(0x2000 + 3 * 4, 0x12000 | P | U);		/* user read-only */
	put32(0x2000 + 4 * 4, 0x13000);			/* not present */
	put32(0x3000 + 0 * 4, 0x14000 | P | W | U);	/* RW, but its PDE is read-only */
}

static void test_no_paging(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE, 0, 0, 0, 3);

	(void)state;
	OK(r, 0x123456789ULL, GW_WRITE, 0x23456789ULL);
}

static void test_32bit_user(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE | X86_CR0_PG, 0x1000, 0, 0, 3);

	(void)state;
	setup32();
	OK(r, 0x1abc, GW_READ, 0x10abc);
	OK(r, 0x1abc, GW_WRITE, 0x10abc);
	OK(r, 0x1abc, GW_FETCH, 0x10abc);	/* no NX in 32-bit paging */
	PF(r, 0x2000, GW_READ, PF_ERR_P | PF_ERR_U);			/* supervisor page */
	PF(r, 0x2000, GW_WRITE, PF_ERR_P | PF_ERR_W | PF_ERR_U);
	OK(r, 0x3000, GW_READ, 0x12000);
	PF(r, 0x3000, GW_WRITE, PF_ERR_P | PF_ERR_W | PF_ERR_U);	/* read-only */
	PF(r, 0x4000, GW_READ, PF_ERR_U);				/* not present */
	PF(r, 0x4000, GW_WRITE, PF_ERR_W | PF_ERR_U);
	PF(r, 0x800000, GW_WRITE, PF_ERR_P | PF_ERR_W | PF_ERR_U);	/* PDE read-only wins */
	PF(r, 0xc00000, GW_READ, PF_ERR_U);				/* PDE 3 not present */
}

static void test_32bit_supervisor(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE | X86_CR0_PG, 0x1000, 0, 0, 0);

	(void)state;
	setup32();
	OK(r, 0x2010, GW_WRITE, 0x11010);
	OK(r, 0x3010, GW_WRITE, 0x12010);	/* CR0.WP clear: read-only is writable */
	r.cr0 |= X86_CR0_WP;
	PF(r, 0x3010, GW_WRITE, PF_ERR_P | PF_ERR_W);
	OK(r, 0x3010, GW_READ, 0x12010);
	/* SMAP: user pages are off limits to supervisor data accesses unless AC. */
	r.cr4 = CR4_SMAP;
	PF(r, 0x1010, GW_READ, PF_ERR_P);
	PF(r, 0x1010, GW_WRITE, PF_ERR_P | PF_ERR_W);
	OK(r, 0x2010, GW_READ, 0x11010);	/* a supervisor page is fine */
	OK(r, 0x1010, GW_FETCH, 0x10010);	/* SMAP does not cover fetches */
	r.ac = true;
	OK(r, 0x1010, GW_WRITE, 0x10010);
	PF(r, 0x3010, GW_WRITE, PF_ERR_P | PF_ERR_W);	/* AC does not lift WP */
	/* SMEP: no supervisor fetch from a user page; I/D is reported. */
	r.cr4 = CR4_SMEP;
	PF(r, 0x1010, GW_FETCH, PF_ERR_P | PF_ERR_I);
	OK(r, 0x2010, GW_FETCH, 0x11010);
	PF(r, 0x4000, GW_FETCH, PF_ERR_I);
}

static void test_32bit_large_pages(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE | X86_CR0_PG, 0x1000, CR4_PSE, 0, 3);

	(void)state;
	setup32();
	OK(r, 0x412345, GW_WRITE, 0xc12345);
	/* PSE-36: PDE bits 20:13 are physical-address bits 39:32. */
	put32(0x1004, 0xc00000 | P | W | U | PTE_PS | (0x5 << 13));
	OK(r, 0x412345, GW_READ, 0x500c12345ULL);
	put32(0x1004, 0xc00000 | P | W | U | PTE_PS | (1u << 21));
	PF(r, 0x412345, GW_READ, PF_ERR_P | PF_ERR_RSVD | PF_ERR_U);
	/* Without CR4.PSE the PS bit is ignored: the entry names a page table. */
	r.cr4 = 0;
	put32(0x1004, 0x2000 | P | W | U | PTE_PS);
	OK(r, 0x401abc, GW_READ, 0x10abc);
}

static void test_accessed_dirty(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE | X86_CR0_PG, 0x1000, 0, 0, 3);
	uint32_t pde, pte;

	(void)state;
	setup32();
	OK(r, 0x1000, GW_READ, 0x10000);
	memcpy(&pde, ram + 0x1000, 4);
	memcpy(&pte, ram + 0x2004, 4);
	assert_true((pde & PTE_A) && (pte & PTE_A) && !(pte & PTE_D));
	OK(r, 0x1000, GW_WRITE, 0x10000);
	memcpy(&pte, ram + 0x2004, 4);
	assert_true(pte & PTE_D);
	memcpy(&pte, ram + 0x2008, 4);
	PF(r, 0x2000, GW_READ, PF_ERR_P | PF_ERR_U);
	memcpy(&pde, ram + 0x2008, 4);
	assert_int_equal(pde, pte);	/* a refused access sets nothing in the leaf */
}

static void setup_pae(void)
{
	memset(ram, 0, sizeof(ram));
	/* CR3 = 0x1020 (32-byte aligned PDPT): PDPTE 0 -> PD 0x2000. */
	put64(0x1020, 0x2000 | P);
	put64(0x2000 + 0 * 8, 0x3000 | P | W | U);		/* -> PT */
	put64(0x2000 + 1 * 8, 0x200000 | P | W | U | PTE_PS);	/* 2 MiB page at 2 MiB */
	put64(0x2000 + 2 * 8, 0x3000 | P | W | U | PTE_NX);	/* execute-disable table */
	put64(0x3000 + 1 * 8, 0x10000 | P | W | U);
}

static void test_pae(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE | X86_CR0_PG, 0x1020, X86_CR4_PAE, 0, 3);

	(void)state;
	setup_pae();
	OK(r, 0x1234, GW_WRITE, 0x10234);
	OK(r, 0x212345, GW_READ, 0x212345);
	/* XD is reserved without EFER.NXE ... */
	PF(r, 0x401000, GW_READ, PF_ERR_P | PF_ERR_RSVD | PF_ERR_U);
	/* ... and execute-disable with it: data is fine, a fetch faults with I/D. */
	r.efer = EFER_NXE;
	OK(r, 0x401000, GW_READ, 0x10000);
	PF(r, 0x401000, GW_FETCH, PF_ERR_P | PF_ERR_U | PF_ERR_I);
	PF(r, 0x600000, GW_FETCH, PF_ERR_U | PF_ERR_I);		/* not present, NXE: I/D */
	/* PDPTE reserved bits (R/W is reserved there). */
	put64(0x1020, 0x2000 | P | W);
	PF(r, 0x1234, GW_READ, PF_ERR_P | PF_ERR_RSVD | PF_ERR_U);
	put64(0x1020, 0x2000 | P);
	/* 2 MiB page with reserved bits 20:13 set. */
	put64(0x2008, 0x200000 | P | W | U | PTE_PS | (1ULL << 13));
	PF(r, 0x212345, GW_READ, PF_ERR_P | PF_ERR_RSVD | PF_ERR_U);
}

static void setup64(void)
{
	memset(ram, 0, sizeof(ram));
	put64(0x1000, 0x2000 | P | W | U);			/* PML4E 0 -> PDPT */
	put64(0x2000 + 0 * 8, 0x3000 | P | W | U);		/* PDPTE 0 -> PD */
	put64(0x2000 + 1 * 8, 0x40000000 | P | W | PTE_PS);	/* 1 GiB supervisor page */
	put64(0x3000 + 0 * 8, 0x4000 | P | W | U);		/* PDE 0 -> PT */
	put64(0x4000 + 2 * 8, 0x20000 | P | W | U);
	put64(0x1000 + 511 * 8, 0x2000 | P | W | U);		/* the top of the address space */
}

static void test_4level(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE | X86_CR0_PG, 0x1000, X86_CR4_PAE, EFER_LMA | EFER_NXE, 3);
	struct gw_result res;

	(void)state;
	setup64();
	OK(r, 0x2abc, GW_WRITE, 0x20abc);
	OK(r, 0xffffff8000002abcULL, GW_READ, 0x20abc);
	PF(r, 0x40000123, GW_READ, PF_ERR_P | PF_ERR_U);		/* supervisor 1 GiB page */
	r.cpl = 0;
	OK(r, 0x40000123, GW_READ, 0x40000123);
	assert_true(get64(0x2008) & PTE_A);
	/* Non-canonical: #GP, not #PF. */
	assert_int_equal(gwalk(&r, &mem, 0x0000800000000000ULL, GW_READ, &res), -EINVAL);
	/* PS in a PML4E is reserved; so are address bits above MAXPHYADDR. */
	put64(0x1000, 0x2000 | P | W | U | PTE_PS);
	PF(r, 0x2abc, GW_READ, PF_ERR_P | PF_ERR_RSVD);
	put64(0x1000, 0x2000 | P | W | U | (1ULL << 45));
	PF(r, 0x2abc, GW_WRITE, PF_ERR_P | PF_ERR_W | PF_ERR_RSVD);
	r.maxphyaddr = 46;	/* bit 45 is an address bit now: the table lies far above RAM */
	assert_int_equal(gwalk(&r, &mem, 0x2abc, GW_READ, &res), -EIO);
	assert_int_equal(res.bad_gpa, (1ULL << 45) | 0x2000);
}

static void test_tables_outside_ram(void **state)
{
	struct gw_regs r = regs(X86_CR0_PE | X86_CR0_PG, 0x1000, 0, 0, 0);
	struct gw_result res;

	(void)state;
	setup32();
	put32(0x1000, 0x7000000 | P | W | U);	/* a page table far above RAM */
	assert_int_equal(gwalk(&r, &mem, 0x1000, GW_READ, &res), -EIO);
	assert_int_equal(res.bad_gpa, 0x7000004);
	r.cr3 = 0x9000000;
	assert_int_equal(gwalk(&r, &mem, 0, GW_READ, &res), -EIO);
	assert_int_equal(res.bad_gpa, 0x9000000);
}

static void test_bad_arguments(void **state)
{
	struct gw_regs r = regs(0, 0, 0, 0, 0);
	struct gw_result res;

	(void)state;
	assert_int_equal(gwalk(NULL, &mem, 0, GW_READ, &res), -EINVAL);
	assert_int_equal(gwalk(&r, NULL, 0, GW_READ, &res), -EINVAL);
	assert_int_equal(gwalk(&r, &mem, 0, 7, &res), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_paging),
		cmocka_unit_test(test_32bit_user),
		cmocka_unit_test(test_32bit_supervisor),
		cmocka_unit_test(test_32bit_large_pages),
		cmocka_unit_test(test_accessed_dirty),
		cmocka_unit_test(test_pae),
		cmocka_unit_test(test_4level),
		cmocka_unit_test(test_tables_outside_ram),
		cmocka_unit_test(test_bad_arguments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
