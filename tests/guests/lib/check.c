/*
 * Check accounting, the boot-state checks every guest makes, hypervisor
 * detection and the final report.
 */
#include "guest.h"
#include "cpu.h"

#define DEBUG_EXIT_PORT 0xf4

static unsigned int n_passed, n_failed, n_skipped;
static bool on_vmkernel;

void check_result(bool ok, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		n_passed++;
		gprintf("check %s: ok\n", name);
		return;
	}
	n_failed++;
	gprintf("check %s: FAIL (", name);
	va_start(ap, fmt);
	gvprintf(fmt, ap);
	va_end(ap);
	gprintf(")\n");
}

void check_skip(const char *name, const char *why)
{
	n_skipped++;
	gprintf("check %s: skipped (%s)\n", name, why);
}

bool vmk_present(void)
{
	return on_vmkernel;
}

/* Skip check NAME unless our hypervisor is underneath; true when skipped. */
bool vmk_skip(const char *name)
{
	if (on_vmkernel)
		return false;
	check_skip(name, NOT_VMK);
	return true;
}

void guest_fail(const char *what)
{
	n_failed++;
	gprintf("%s: FAIL %s\n", guest_name, what);
}

unsigned int checks_failed(void)
{
	return n_failed;
}

int finish_status(void)
{
	gprintf("%s: %u passed, %u failed, %u skipped\n", guest_name, n_passed, n_failed,
		n_skipped);
	return n_failed ? 1 : 0;
}

void guest_halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

void guest_finish(void)
{
	outb(DEBUG_EXIT_PORT, (uint8_t)finish_status());
	guest_halt();
}

static bool detect_vmkernel(void)
{
	struct cpuid_regs r = cpuid(1, 0);
	char sig[13];

	if (!(r.ecx & (1u << 31)))
		return false;
	r = cpuid(0x40000000, 0);
	__builtin_memcpy(sig, &r.ebx, 4);
	__builtin_memcpy(sig + 4, &r.ecx, 4);
	__builtin_memcpy(sig + 8, &r.edx, 4);
	sig[12] = 0;
	return __builtin_memcmp(sig, "VMKernelVMM ", 12) == 0;
}

/*
 * Top of guest RAM: the end of the highest available region of the memory
 * map, or 1 MiB + mem_upper when there is no map; 0 when neither is given.
 */
uint64_t mem_top(void)
{
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)boot_mbi;
	uint64_t top = 0;
	uint32_t off;

	if (mbi->flags & MB1_INFO_MMAP) {
		for (off = 0; off + 4 <= mbi->mmap_length;) {
			const struct mb1_mmap_entry *e =
				(const void *)(uintptr_t)(mbi->mmap_addr + off);

			if (e->type == 1 && e->addr + e->len > top)
				top = e->addr + e->len;
			off += e->size + 4;
		}
		if (top)
			return top;
	}
	if (mbi->flags & MB1_INFO_MEM)
		return 0x100000ull + (uint64_t)mbi->mem_upper * 1024;
	return 0;
}

/*
 * End of all memory the VM has, RAM or not (ACPI tables at the top of RAM
 * count): the highest end of a memory-map entry of type 1 (RAM), 3 (ACPI
 * reclaimable) or 4 (ACPI NVS); mem_top() when there is no map. An address
 * at or above it is outside the VM's memory whatever the layout.
 */
uint64_t mem_end(void)
{
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)boot_mbi;
	uint64_t end = 0;

	if (!(mbi->flags & MB1_INFO_MMAP))
		return mem_top();
	for (uint32_t off = 0; off + 4 <= mbi->mmap_length;) {
		const struct mb1_mmap_entry *e = (const void *)(uintptr_t)(mbi->mmap_addr + off);

		if ((e->type == 1 || e->type == 3 || e->type == 4) && e->addr + e->len > end)
			end = e->addr + e->len;
		off += e->size + 4;
	}
	return end ? end : mem_top();
}

/* The multiboot command line ("" if none): hostile guests pick their attack from it. */
const char *guest_cmdline(void)
{
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)boot_mbi;

	if (boot_magic != MB1_BOOT_MAGIC || !(mbi->flags & (1u << 2)) || !mbi->cmdline)
		return "";
	return (const char *)(uintptr_t)mbi->cmdline;
}

/* Does the command line hold the word w? */
bool cmdline_has(const char *w)
{
	const char *c = guest_cmdline();
	size_t n = 0;

	while (w[n])
		n++;
	for (; *c; c++) {
		if ((c == guest_cmdline() || c[-1] == ' ') && !__builtin_memcmp(c, w, n) &&
		    (c[n] == ' ' || c[n] == '\0'))
			return true;
	}
	return false;
}

static void boot_checks(void)
{
	const struct mb1_info *mbi = (const struct mb1_info *)(uintptr_t)boot_mbi;

	CHECK_EQ(boot_magic, MB1_BOOT_MAGIC, "boot_magic");
	CHECKF((boot_cr0 & CR0_PE) && !(boot_cr0 & CR0_PG), "boot_cr0",
	       "cr0 0x%x: want PE set, PG clear", boot_cr0);
	CHECKF(!(boot_eflags & (EFLAGS_IF | EFLAGS_VM)), "boot_eflags",
	       "eflags 0x%x: want IF and VM clear", boot_eflags);
	if (boot_magic != MB1_BOOT_MAGIC)
		return;
	CHECKF(mbi->flags & MB1_INFO_MEM, "boot_mbi_mem", "mbi flags 0x%x lack bit 0", mbi->flags);
	if (mbi->flags & MB1_INFO_MEM)
		gprintf("%s: mem_lower %u KiB, mem_upper %u KiB, top 0x%llx\n", guest_name,
			mbi->mem_lower, mbi->mem_upper, (unsigned long long)mem_top());
}

void lib_start(void)
{
	console_init();
	on_vmkernel = detect_vmkernel();
	gprintf("%s: start (%s)\n", guest_name,
		on_vmkernel ? "under vmkernel" : "no vmkernel signature: hypervisor checks skipped");
	boot_checks();
	guest_main();
	guest_finish();
}
