/*
 * hostile_strio: string I/O (INS/OUTS) the way an attacker inside the guest
 * would use it. The VMM emulates every INS/OUTS itself, walking the guest's
 * page tables; it must check the guest's permissions as the CPU would:
 *
 *  - a CPL-3 process with IOPL 3 does `rep outsb` from a kernel page to the
 *    UART scratch register and reads it back: that would disclose kernel
 *    memory, so it must #PF (error code P|U = 5, CR2 the address) and the
 *    scratch register keep its old value;
 *  - CPL-3 `rep insb` into a read-only page and into a supervisor page:
 *    #PF 7 (P|W|U), the page unchanged;
 *  - CPL-0 `rep insb` into a read-only page: #PF 3 with CR0.WP set, allowed
 *    with WP clear;
 *  - with CR4.SMAP: CPL-0 `rep outsb`/`insb` on a user page #PF (1 / 3)
 *    unless EFLAGS.AC is set;
 *  - a not-present page: #PF 4/6 at CPL 3, with RCX/RSI counting the
 *    elements already done.
 *
 * With a word on the guest command line it instead points string I/O at
 * memory that is not RAM, and the VM must be stopped with a named reason:
 *   pt_above_ram   page tables above the end of RAM   (stopped:bad-access)
 *   buf_above_ram  a buffer above the end of RAM      (stopped:bad-access)
 *   buf_hole       INS into the legacy VGA/BIOS hole  (stopped:bad-access)
 *   buf_mmio       INS into the IOAPIC's registers    (stopped:unsupported)
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "hostile_strio";

#define COM1_SCR 0x3ff
#define PTE_P 0x001u
#define PTE_RW 0x002u
#define PTE_US 0x004u
#define PDE_PS 0x080u
#define CR4_SMAP (1u << 21)
#define EFLAGS_AC (1u << 18)
#define EFLAGS_IOPL3 (3u << 12)

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt0[1024] __attribute__((aligned(4096)));	/* 0-4 MiB in 4 KiB pages */
/* For SMAP: the same map with every page supervisor but upage (the kernel touches its own). */
static uint32_t pd_smap[1024] __attribute__((aligned(4096)));
static uint32_t pt_smap[1024] __attribute__((aligned(4096)));
static uint8_t pages[4][4096] __attribute__((aligned(4096)));
#define kpage pages[0]		/* supervisor, read/write */
#define ropage pages[1]		/* user, read-only */
#define upage pages[2]		/* user, read/write */
#define nppage pages[3]		/* user, not present: right after upage */

static uint32_t pfn(const void *p)
{
	return (uint32_t)(uintptr_t)p >> 12;
}

/* Identity paging: 4 KiB user pages below 4 MiB (but the four test pages), 4 MiB above. */
static void paging_setup(void)
{
	for (uint32_t i = 0; i < 1024; i++) {
		pt0[i] = (i << 12) | PTE_P | PTE_RW | PTE_US;
		pd[i] = (i << 22) | PTE_P | PTE_RW | PTE_US | PDE_PS;
	}
	pt0[pfn(kpage)] &= ~PTE_US;
	pt0[pfn(ropage)] &= ~PTE_RW;
	pt0[pfn(nppage)] &= ~PTE_P;
	pd[0] = (uint32_t)(uintptr_t)pt0 | PTE_P | PTE_RW | PTE_US;
	paging_on(pd);
}

static void set_scratch(uint8_t v)
{
	outb(COM1_SCR, v);
}

struct sio {
	uint32_t addr, count;		/* ESI/EDI and ECX before */
	uint32_t addr_after, count_after;
	int vector;
};

static struct sio op;

static void do_outsb(void)
{
	uint32_t s = op.addr, c = op.count;

	trap_arm();
	asm volatile(TRAP_TRY("rep outsb") : "+S"(s), "+c"(c) : "d"(COM1_SCR) : "memory");
	op.vector = trap_done();
	op.addr_after = s;
	op.count_after = c;
}

static void do_insb(void)
{
	uint32_t d = op.addr, c = op.count;

	trap_arm();
	asm volatile(TRAP_TRY("rep insb") : "+D"(d), "+c"(c) : "d"(COM1_SCR) : "memory");
	op.vector = trap_done();
	op.addr_after = d;
	op.count_after = c;
}

static int user_outsb(void)
{
	do_outsb();
	return 0;
}

static int user_insb(void)
{
	do_insb();
	return 0;
}

/* Run one string instruction at CPL 3 (IOPL 3, so the port itself is allowed). */
static void as_user(int (*fn)(void))
{
	uint32_t fl;

	asm volatile("pushfl\n\tpopl %0" : "=r"(fl));
	asm volatile("pushl %0\n\tpopfl" : : "r"(fl | EFLAGS_IOPL3) : "cc");
	run_user(fn);
	asm volatile("pushl %0\n\tpopfl" : : "r"(fl) : "cc");
}

static void expect_pf(const char *name, void *addr, uint32_t err)
{
	CHECKF(op.vector == VEC_PF && trap_last.err == err && trap_last.cr2 == (uint32_t)(uintptr_t)addr,
	       name, "vector %d (want 14), error 0x%x (want 0x%x), cr2 0x%x (want 0x%x)", op.vector,
	       trap_last.err, err, trap_last.cr2, (uint32_t)(uintptr_t)addr);
}

static void check_user_reads_kernel(void)
{
	kpage[100] = 0x5a;
	set_scratch(0x11);
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&kpage[100], .count = 1 };
	as_user(user_outsb);
	expect_pf("cpl3_outs_from_kernel_page_pf", &kpage[100], 5);
	CHECKF(inb(COM1_SCR) == 0x11, "cpl3_outs_discloses_nothing",
	       "scratch register is 0x%x: kernel byte 0x%x leaked", inb(COM1_SCR), kpage[100]);
	CHECKF(op.count_after == 1 && op.addr_after == op.addr, "cpl3_outs_registers_kept",
	       "ecx %u, esi 0x%x", op.count_after, op.addr_after);
}

static void check_user_writes(void)
{
	set_scratch(0x66);
	ropage[8] = 0x01;
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&ropage[8], .count = 1 };
	as_user(user_insb);
	expect_pf("cpl3_ins_to_readonly_page_pf", &ropage[8], 7);
	CHECK_EQ(ropage[8], 0x01, "cpl3_ins_readonly_page_unchanged");

	kpage[200] = 0x02;
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&kpage[200], .count = 1 };
	as_user(user_insb);
	expect_pf("cpl3_ins_to_kernel_page_pf", &kpage[200], 7);
	CHECK_EQ(kpage[200], 0x02, "cpl3_ins_kernel_page_unchanged");

	/* The allowed case still works: a user page. */
	upage[5] = 0;
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&upage[5], .count = 1 };
	as_user(user_insb);
	CHECKF(op.vector == -1 && upage[5] == 0x66, "cpl3_ins_to_user_page",
	       "vector %d, byte 0x%x", op.vector, upage[5]);
}

static void check_not_present(void)
{
	/* Three bytes: the first two in a user page, the third on the not-present page. */
	set_scratch(0x44);
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&upage[4094], .count = 3 };
	upage[4094] = upage[4095] = 0;
	as_user(user_insb);
	expect_pf("cpl3_ins_not_present_pf", nppage, 6);
	CHECKF(op.count_after == 1 && op.addr_after == (uint32_t)(uintptr_t)nppage &&
	       upage[4094] == 0x44 && upage[4095] == 0x44, "rep_stops_at_the_fault",
	       "ecx %u (want 1), edi 0x%x (want 0x%x), bytes 0x%x 0x%x", op.count_after,
	       op.addr_after, (uint32_t)(uintptr_t)nppage, upage[4094], upage[4095]);
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&nppage[1], .count = 1 };
	as_user(user_outsb);
	expect_pf("cpl3_outs_not_present_pf", &nppage[1], 4);
}

static void check_write_protect(void)
{
	set_scratch(0x77);
	ropage[16] = 0x03;
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&ropage[16], .count = 1 };
	write_cr0(read_cr0() | CR0_WP);
	do_insb();
	expect_pf("cpl0_ins_readonly_wp_pf", &ropage[16], 3);
	CHECK_EQ(ropage[16], 0x03, "cpl0_ins_readonly_wp_unchanged");
	write_cr0(read_cr0() & ~CR0_WP);
	do_insb();
	CHECKF(op.vector == -1 && ropage[16] == 0x77, "cpl0_ins_readonly_no_wp",
	       "vector %d, byte 0x%x", op.vector, ropage[16]);
}

static void check_smap(void)
{
	if (!(cpuid(7, 0).ebx & (1u << 20))) {
		SKIP("smap_outs_pf", "no SMAP in CPUID");
		return;
	}
	for (uint32_t i = 0; i < 1024; i++) {
		pt_smap[i] = pt0[i] & ~PTE_US;
		pd_smap[i] = pd[i] & ~PTE_US;
	}
	pt_smap[pfn(upage)] |= PTE_US;
	pd_smap[0] = (uint32_t)(uintptr_t)pt_smap | PTE_P | PTE_RW | PTE_US;
	upage[300] = 0x12;
	set_scratch(0x34);
	write_cr3((uint32_t)(uintptr_t)pd_smap);
	write_cr4(read_cr4() | CR4_SMAP);
	op = (struct sio){ .addr = (uint32_t)(uintptr_t)&upage[300], .count = 1 };
	do_outsb();
	expect_pf("smap_outs_pf", &upage[300], 1);
	CHECK_EQ(inb(COM1_SCR), 0x34, "smap_outs_discloses_nothing");
	do_insb();
	expect_pf("smap_ins_pf", &upage[300], 3);
	asm volatile("stac" ::: "cc");
	CHECK_EQ(upage[300], 0x12, "smap_ins_unchanged");
	do_insb();
	CHECKF(op.vector == -1 && upage[300] == 0x34, "smap_ac_allows",
	       "vector %d, byte 0x%x", op.vector, upage[300]);
	asm volatile("clac" ::: "cc");
	write_cr4(read_cr4() & ~CR4_SMAP);
	write_cr3((uint32_t)(uintptr_t)pd);
}

/* The VM must stop here; returning is a failure. */
static void __attribute__((noreturn)) stop_expected(const char *what, uint32_t addr, bool in)
{
	gprintf("%s: %s: rep %s at 0x%x\n", guest_name, what, in ? "insb" : "outsb", addr);
	op = (struct sio){ .addr = addr, .count = 2 };
	if (in)
		do_insb();
	else
		do_outsb();
	CHECKF(0, what, "still running after string I/O at 0x%x (vector %d)", addr, op.vector);
	guest_finish();
}

static void not_ram(void)
{
	uint32_t top = (uint32_t)mem_end();

	if (cmdline_has("pt_above_ram")) {
		/* 4-8 MiB through a page table that lies past the end of RAM. */
		pd[1] = (top + 0x100000) | PTE_P | PTE_RW | PTE_US;
		asm volatile("mov %%cr3, %%eax\n\tmov %%eax, %%cr3" : : : "eax", "memory");
		stop_expected("pt_above_ram", 0x400000, false);
	}
	if (cmdline_has("buf_above_ram"))
		stop_expected("buf_above_ram", top + 0x1000, true);
	if (cmdline_has("buf_hole"))
		stop_expected("buf_hole", 0xb8000, true);
	if (cmdline_has("buf_mmio"))
		stop_expected("buf_mmio", 0xfec00000, true);
}

void guest_main(void)
{
	paging_setup();
	not_ram();
	check_user_reads_kernel();
	check_user_writes();
	check_not_present();
	check_write_protect();
	check_smap();
	guest_finish();
}
