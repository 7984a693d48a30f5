/*
 * linuxboot: boots Linux on the bare machine, with no hypervisor, as
 * `make bench`'s native reference for the Linux boot figure.
 *
 * GRUB loads this multiboot kernel with two modules, Debian's bzImage and
 * the test initramfs, and Linux's command line as the multiboot command
 * line. It places them with the hypervisor's own boot-protocol code
 * (vmm/loader/linux_boot.c, linked in), so the kernel, initrd, zero page,
 * page tables and GDT are where a VM would have them, switches to long
 * mode and enters the kernel's 64-bit entry point, exactly as a VM's boot
 * vCPU starts. Just before the jump it prints the TSC:
 *
 *     linuxboot: entering Linux at 0x1000200, tsc 123456789
 *
 * /init prints the TSC again when it starts ("vmk-init: tsc N"); the
 * difference is the kernel's time from entry to /init. Under the
 * hypervisor a VM's TSC starts at 0 when the VM starts, so there the
 * same marker is the time from VM start to /init. In Bochs the TSC
 * counts emulated instructions, so both are deterministic path lengths.
 *
 * Bad input (no module, not a bzImage, too little memory) is printed and
 * the program stops with status 1 on the debug-exit port.
 */
#include <stdarg.h>
#include <string.h>
#include <vmm/linux_boot.h>
#include "guest.h"
#include "cpu.h"

const char guest_name[] = "linuxboot";

struct mb1_module {
	uint32_t start, end, string, reserved;
} __attribute__((packed));

#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS (1u << 3)
#define MAX_E820 32

/*
 * linux_boot.c words its problems with snprintf; here they go straight to
 * the console (the guest library has no 64-bit division for a real one).
 */
int snprintf(char *buf, size_t len, const char *fmt, ...);
int snprintf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	gprintf("linuxboot: ");
	gvprintf(fmt, ap);
	gprintf("\n");
	va_end(ap);
	if (len)
		buf[0] = '\0';
	return 0;
}

void enter_linux(uint32_t cr3, uint32_t gdt_desc, uint32_t entry);
/*
 * enter_linux(cr3, &gdt_desc, entry): PAE, CR3, EFER.LME, paging on, then
 * a far jump into 64-bit mode with the boot GDT's __BOOT_CS, data segments
 * __BOOT_DS, RSI = the zero page, and a jump to the kernel's entry (kept in
 * EDI; 32-bit moves in 64-bit mode clear the upper halves).
 */
asm(".text\n"
    ".globl enter_linux\n"
    "enter_linux:\n"
    "	cli\n"
    "	movl 4(%esp), %ebx\n"
    "	movl 8(%esp), %eax\n"
    "	movl 12(%esp), %edi\n"
    "	lgdt (%eax)\n"
    "	movl %cr4, %eax\n"
    "	orl $0x20, %eax\n"		/* PAE */
    "	movl %eax, %cr4\n"
    "	movl %ebx, %cr3\n"
    "	movl $0xc0000080, %ecx\n"	/* EFER */
    "	rdmsr\n"
    "	orl $0x100, %eax\n"		/* LME */
    "	wrmsr\n"
    "	movl %cr0, %eax\n"
    "	orl $0x80000001, %eax\n"	/* PG, PE */
    "	movl %eax, %cr0\n"
    "	ljmp $0x10, $1f\n"
    ".code64\n"
    "1:	movl $0x18, %eax\n"
    "	movl %eax, %ds\n"
    "	movl %eax, %es\n"
    "	movl %eax, %ss\n"
    "	movl %eax, %fs\n"
    "	movl %eax, %gs\n"
    "	movl $0x8000, %esi\n"		/* LINUX_ZERO_PAGE */
    "	movl %edi, %eax\n"
    "	jmp *%rax\n"
    ".code32\n");

static void stop(const char *what, const char *why)
{
	gprintf("linuxboot: %s: %s\n", what, why);
	outb(0xf4, 1);
	guest_halt();
}

static unsigned e820_from_multiboot(const struct mb1_info *mbi, struct e820_entry *m)
{
	unsigned n = 0;

	if (!(mbi->flags & MB1_INFO_MMAP))
		stop("memory map", "the boot loader gave none");
	for (uint32_t off = 0; off + 4 <= mbi->mmap_length && n < MAX_E820;) {
		const struct mb1_mmap_entry *e = (const void *)(uintptr_t)(mbi->mmap_addr + off);

		m[n++] = (struct e820_entry){ e->addr, e->len, e->type };
		off += e->size + 4;
	}
	return n;
}

/* End of the RAM region that starts at or below 1 MiB and runs past it: where low RAM ends. */
static uint64_t low_ram_top(const struct e820_entry *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		if (m[i].type == E820_RAM && m[i].addr <= 0x100000 && m[i].addr + m[i].size > 0x100000)
			return m[i].addr + m[i].size;
	}
	stop("memory map", "no RAM above 1 MiB");
	return 0;
}

static void copy(uint64_t dst, uint32_t src, uint64_t len)
{
	memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, (size_t)len);
}

void guest_main(void)
{
	const struct mb1_info *mbi = (const void *)(uintptr_t)boot_mbi;
	const struct mb1_module *mods = (const void *)(uintptr_t)mbi->mods_addr;
	static struct e820_entry map[MAX_E820];
	static uint64_t gdt[4] __attribute__((aligned(8)));
	static struct __attribute__((packed)) { uint16_t limit; uint32_t base; } gdt_desc;
	const char *mb_cmdline = (mbi->flags & MB1_INFO_CMDLINE) ?
				 (const char *)(uintptr_t)mbi->cmdline : "";
	static char cmdline[LINUX_CMDLINE_MAX];
	struct bzimage_info k;
	struct linux_plan p;
	char why[160];
	const uint8_t *img;
	uint32_t img_len, rd_len = 0, highest_module = 0;
	unsigned n;
	uint64_t top, tsc;
	size_t clen = 0;

	/*
	 * Everything from the boot loader is copied before low memory is reused.
	 * A boot loader that starts the command line with this program's own
	 * path (GRUB legacy does): that word is not Linux's.
	 */
	if (*mb_cmdline == '/') {
		while (*mb_cmdline && *mb_cmdline != ' ')
			mb_cmdline++;
		while (*mb_cmdline == ' ')
			mb_cmdline++;
	}
	while (mb_cmdline[clen] && clen < sizeof(cmdline) - 1) {
		cmdline[clen] = mb_cmdline[clen];
		clen++;
	}
	if (!(mbi->flags & MB1_INFO_MODS) || mbi->mods_count < 1)
		stop("modules", "give the kernel (and the initrd) as multiboot modules");
	for (unsigned i = 0; i < mbi->mods_count; i++)
		if (mods[i].end > highest_module)
			highest_module = mods[i].end;
	img = (const uint8_t *)(uintptr_t)mods[0].start;
	img_len = mods[0].end - mods[0].start;
	if (mbi->mods_count > 1)
		rd_len = mods[1].end - mods[1].start;
	if (bzimage_parse(img, img_len, &k, why, sizeof(why)))
		stop("kernel", why);
	n = e820_from_multiboot(mbi, map);
	top = low_ram_top(map, n);
	/* The hypervisor's placement, for a machine whose usable low RAM ends at `top`. */
	if (linux_plan(&k, top + PC_ACPI_SIZE, clen, rd_len, &p, why, sizeof(why)))
		stop("placement", why);
	if (p.kernel < highest_module)
		stop("placement", "the modules lie where the kernel goes (above 16 MiB)");
	copy(p.kernel, mods[0].start + k.setup_size, k.kernel_size);
	if (rd_len)
		copy(p.initrd, mods[1].start, rd_len);
	memcpy((void *)(uintptr_t)p.cmdline, cmdline, clen + 1);
	linux_zero_page((uint8_t *)(uintptr_t)p.zero_page, img, &k, &p, map, n);
	linux_page_tables((uint64_t *)(uintptr_t)p.page_tables, p.page_tables);
	linux_boot_gdt(gdt);
	memcpy((void *)(uintptr_t)p.gdt, gdt, sizeof(gdt));
	gdt_desc.limit = sizeof(gdt) - 1;
	gdt_desc.base = (uint32_t)p.gdt;
	gprintf("linuxboot: kernel %u KiB at 0x%llx, initrd %u KiB at 0x%llx, command line \"%s\"\n",
		img_len >> 10, (unsigned long long)p.kernel, rd_len >> 10,
		(unsigned long long)p.initrd, cmdline);
	tsc = rdtsc();
	gprintf("linuxboot: entering Linux at 0x%llx, tsc %llu\n", (unsigned long long)p.entry,
		(unsigned long long)tsc);
	enter_linux((uint32_t)p.page_tables, (uint32_t)(uintptr_t)&gdt_desc, (uint32_t)p.entry);
}
