/*
 * portio: IN/OUT in every width and the string forms (REP INS/OUTS, both
 * directions, zero count, across a page nobody touched yet) against the
 * emulated UART, unassigned ports (all ones) and ports the host owns
 * (all ones to the guest, writes go nowhere).
 *
 * Multi-byte accesses behave as on an ISA bus: each byte goes to its own
 * port, so a word access at 0x3ff reads the scratch register and port
 * 0x400 (unassigned: 0xff).
 */
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "portio";

#define COM1_DATA 0x3f8
#define COM1_MCR 0x3fc
#define COM1_LSR 0x3fd
#define COM1_MSR 0x3fe
#define COM1_SCR 0x3ff
#define UNASSIGNED 0x300
#define UNTOUCHED_IN 0x280000u /* RAM no one has touched: 2.5 MiB */
#define UNTOUCHED_OUT 0x380000u

enum { INSB, INSW, INSD, OUTSB };

/* One REP string I/O instruction; *p and *n are updated like ESI/EDI and ECX. */
static void rep_io(int op, uint16_t port, uintptr_t *p, uint32_t *n, bool back)
{
	if (back)
		asm volatile("std" : : : "cc");
	switch (op) {
	case INSB:
		asm volatile("rep insb" : "+D"(*p), "+c"(*n) : "d"(port) : "memory");
		break;
	case INSW:
		asm volatile("rep insw" : "+D"(*p), "+c"(*n) : "d"(port) : "memory");
		break;
	case INSD:
		asm volatile("rep insl" : "+D"(*p), "+c"(*n) : "d"(port) : "memory");
		break;
	default:
		asm volatile("rep outsb" : "+S"(*p), "+c"(*n) : "d"(port) : "memory");
		break;
	}
	if (back)
		asm volatile("cld" : : : "cc");
}

static void check_simple(void)
{
	uint8_t lsr = inb(COM1_LSR);

	CHECKF((lsr & 0x60) == 0x60, "lsr_thre_temt", "LSR 0x%x", lsr);
	outb(COM1_SCR, 0xa5);
	CHECK_EQ(inb(COM1_SCR), 0xa5, "scratch_byte_a5");
	outb(COM1_SCR, 0x5a);
	CHECK_EQ(inb(COM1_SCR), 0x5a, "scratch_byte_5a");
	/* Word at 0x3fe: MSR (read-only) and scratch. */
	outw(COM1_MSR, 0x3c00);
	CHECK_EQ(inb(COM1_SCR), 0x3c, "scratch_word_write");
	CHECK_EQ(inw(COM1_MSR) >> 8, 0x3c, "scratch_word_read");
	/* Dword at 0x3fc: MCR (rewritten with its value), LSR, MSR, scratch. */
	outl(COM1_MCR, 0x66000003);
	CHECK_EQ(inb(COM1_SCR), 0x66, "scratch_dword_write");
	CHECK_EQ(inl(COM1_MCR) >> 24, 0x66, "scratch_dword_read");
	/* Word at 0x3ff: scratch, then port 0x400 which nobody decodes (QEMU aborts on it). */
	if (!vmk_skip("word_straddles_com1_end"))
		CHECK_EQ(inw(COM1_SCR), 0xff66, "word_straddles_com1_end");
	CHECK_EQ(inb(UNASSIGNED), 0xff, "unassigned_inb");
	CHECK_EQ(inw(UNASSIGNED), 0xffff, "unassigned_inw");
	CHECK_EQ(inl(UNASSIGNED), 0xffffffff, "unassigned_inl");
}

static void check_outs(void)
{
	static const char msg[] = "portio: this line was written by rep outsb\n";
	static const char rev[] = "\nsdrawkcab bstuo per yb nettirw saw enil siht :oitrop";
	static const char abc[] = "ABCDEFG";
	uintptr_t p = (uintptr_t)msg;
	uint32_t n = sizeof(msg) - 1;

	rep_io(OUTSB, COM1_DATA, &p, &n, false);
	CHECKF(n == 0 && p == (uintptr_t)msg + sizeof(msg) - 1, "rep_outsb_console",
	       "ecx %u, esi advanced by %d", n, (int)(p - (uintptr_t)msg));
	p = (uintptr_t)&rev[sizeof(rev) - 2];
	n = sizeof(rev) - 1;
	rep_io(OUTSB, COM1_DATA, &p, &n, true);
	CHECKF(n == 0 && p == (uintptr_t)rev - 1, "rep_outsb_backwards_console",
	       "ecx %u, esi off by %d", n, (int)(p - ((uintptr_t)rev - 1)));

	p = (uintptr_t)abc;
	n = 7;
	rep_io(OUTSB, COM1_SCR, &p, &n, false);
	CHECK_EQ(inb(COM1_SCR), 'G', "rep_outsb_scratch_last");
	p = (uintptr_t)&abc[6];
	n = 7;
	rep_io(OUTSB, COM1_SCR, &p, &n, true);
	CHECKF(inb(COM1_SCR) == 'A' && p == (uintptr_t)abc - 1, "rep_outsb_df_scratch",
	       "scratch '%c', esi off by %d", inb(COM1_SCR), (int)(p - ((uintptr_t)abc - 1)));
	p = (uintptr_t)abc;
	n = 0;
	rep_io(OUTSB, COM1_SCR, &p, &n, false);
	CHECKF(inb(COM1_SCR) == 'A' && p == (uintptr_t)abc, "rep_outsb_zero_count",
	       "scratch '%c', esi moved by %d", inb(COM1_SCR), (int)(p - (uintptr_t)abc));
}

/* Every element of BUF[0..n) must be V (width W bytes); the guards untouched. */
static bool all_equal(const uint8_t *buf, unsigned int n, unsigned int w, uint32_t v,
		      uint32_t mask)
{
	unsigned int i;
	uint32_t e;

	for (i = 0; i < n; i++) {
		e = w == 1 ? buf[i] : w == 2 ? ((const uint16_t *)buf)[i] : ((const uint32_t *)buf)[i];
		if ((e & mask) != v)
			return false;
	}
	return true;
}

static void check_ins_one(int op, unsigned int w, uint16_t port, uint32_t v, uint32_t mask,
			  const char *name)
{
	static uint32_t area[10];
	uint8_t *buf = (uint8_t *)&area[1];
	uintptr_t p = (uintptr_t)buf;
	uint32_t n = 8;

	__builtin_memset(area, 0x11, sizeof(area));
	rep_io(op, port, &p, &n, false);
	CHECKF(n == 0 && p == (uintptr_t)buf + 8 * w && all_equal(buf, 8, w, v, mask) &&
		       area[0] == 0x11111111 && buf[8 * w] == 0x11,
	       name, "ecx %u, edi advanced by %d, first 0x%x, guards 0x%x 0x%x", n,
	       (int)(p - (uintptr_t)buf), area[1], area[0], buf[8 * w]);
}

static void check_ins(void)
{
	static uint8_t buf[16];
	volatile uint8_t *fresh = (volatile uint8_t *)(UNTOUCHED_IN - 8);
	uintptr_t p;
	uint32_t n;

	outb(COM1_SCR, 0x77);
	check_ins_one(INSB, 1, COM1_SCR, 0x77, 0xff, "rep_insb_scratch");
	/* Scratch is the top byte of the word at 0x3fe and of the dword at 0x3fc. */
	check_ins_one(INSW, 2, COM1_MSR, 0x7700, 0xff00, "rep_insw_scratch");
	check_ins_one(INSD, 4, COM1_MCR, 0x77000000, 0xff000000, "rep_insd_scratch");
	if (!vmk_skip("rep_insw_straddles_com1_end"))
		check_ins_one(INSW, 2, COM1_SCR, 0xff77, 0xffff, "rep_insw_straddles_com1_end");
	check_ins_one(INSB, 1, UNASSIGNED, 0xff, 0xff, "rep_insb_unassigned");
	check_ins_one(INSW, 2, UNASSIGNED, 0xffff, 0xffff, "rep_insw_unassigned");
	check_ins_one(INSD, 4, UNASSIGNED, 0xffffffff, 0xffffffff, "rep_insd_unassigned");

	__builtin_memset(buf, 0x11, sizeof(buf));
	outb(COM1_SCR, 0x42);
	p = (uintptr_t)&buf[10];
	n = 8;
	rep_io(INSB, COM1_SCR, &p, &n, true);
	CHECKF(all_equal(&buf[3], 8, 1, 0x42, 0xff) && buf[2] == 0x11 && buf[11] == 0x11 &&
		       p == (uintptr_t)&buf[2],
	       "rep_insb_backwards", "buf[2..11] %x %x .. %x %x, edi off by %d", buf[2], buf[3],
	       buf[10], buf[11], (int)(p - (uintptr_t)&buf[2]));
	p = (uintptr_t)buf;
	n = 0;
	rep_io(INSB, COM1_SCR, &p, &n, false);
	CHECKF(buf[0] == 0x11 && p == (uintptr_t)buf, "rep_insb_zero_count", "buf[0] 0x%x",
	       buf[0]);

	/* Across a page boundary into RAM no one has touched (allocate on touch). */
	p = (uintptr_t)fresh;
	n = 16;
	rep_io(INSB, COM1_SCR, &p, &n, false);
	CHECKF(n == 0 && all_equal((const uint8_t *)fresh, 16, 1, 0x42, 0xff),
	       "rep_insb_untouched_pages", "ecx %u, bytes %x .. %x", n, fresh[0], fresh[15]);
	p = UNTOUCHED_OUT - 4;
	n = 8;
	rep_io(OUTSB, COM1_SCR, &p, &n, false);
	CHECK_EQ(inb(COM1_SCR), *(volatile uint8_t *)(UNTOUCHED_OUT + 3),
		 "rep_outsb_untouched_pages");
}

struct host_port {
	uint16_t port;
	uint8_t width;
	const char *name;
};

/* Ports of a PC that no device of the VM decodes: they read as all ones. */
static const struct host_port host_ports[] = {
	{ 0x2f8, 1, "com2_data" }, { 0x2fd, 1, "com2_lsr" }, { 0x1f0, 2, "ide_data" },
	{ 0x1f7, 1, "ide_status" }, { 0x3d4, 1, "vga_crtc" }, { 0x3c2, 1, "vga_misc" },
	{ 0x378, 1, "lpt1_data" }, { 0x170, 2, "ide2_data" }, { 0xe9, 1, "bochs_e9" },
};

static uint32_t port_read(uint16_t port, unsigned int width)
{
	return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
}

/*
 * No guest port reaches the host: unclaimed ports float high and ignore
 * writes, and the ports of the VM's own devices (the PIC here) answer
 * with the VM's state, not the host's.
 */
static void check_host_ports(void)
{
	unsigned int i, bad = 0;
	uint32_t v, ones;

	if (vmk_skip("host_ports_read_ones") | vmk_skip("host_ports_writes_ignored") |
	    vmk_skip("pic_is_the_vms"))
		return;
	for (i = 0; i < sizeof(host_ports) / sizeof(host_ports[0]); i++) {
		v = port_read(host_ports[i].port, host_ports[i].width);
		ones = host_ports[i].width == 4 ? 0xffffffff : (1u << (8 * host_ports[i].width)) - 1;
		if (v != ones) {
			gprintf("portio: %s (0x%x) read 0x%x\n", host_ports[i].name,
				host_ports[i].port, v);
			bad++;
		}
	}
	CHECKF(bad == 0, "host_ports_read_ones", "%u ports read something else", bad);
	outb(0x2f8, 0x55);
	outb(0x378, 0xaa);
	CHECKF(inb(0x2f8) == 0xff && inb(0x378) == 0xff, "host_ports_writes_ignored",
	       "an unclaimed port reflected a guest write");
	/* The virtual PIC's mask register holds what this guest wrote. */
	outb(0x21, 0xa5);
	v = inb(0x21);
	outb(0x21, 0xff);
	CHECKF(v == 0xa5 && inb(0x21) == 0xff, "pic_is_the_vms", "PIC mask read 0x%x after 0xa5", v);
}

void guest_main(void)
{
	check_simple();
	check_outs();
	check_ins();
	check_host_ports();
}
