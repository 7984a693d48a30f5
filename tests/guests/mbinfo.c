/*
 * mbinfo: what the multiboot loader hands the guest. Its .vmx gives it a
 * command line and one module (its own .vmx file); this guest checks the
 * command line, the module list (name, page alignment, contents) and the
 * memory map against the guest platform's layout.
 */
#include "guest.h"

const char guest_name[] = "mbinfo";

#define MB1_INFO_CMDLINE (1u << 2)
#define MB1_INFO_MODS (1u << 3)

struct mb1_module {
	uint32_t start, end, string, reserved;
} __attribute__((packed));

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static bool starts_with(const char *s, const char *prefix)
{
	while (*prefix && *s == *prefix) {
		s++;
		prefix++;
	}
	return !*prefix;
}

static void check_mmap(const struct mb1_info *mbi)
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)mbi->mmap_addr;
	const uint8_t *end = p + mbi->mmap_length;
	unsigned n = 0, low_ok = 0, high_ok = 0, hole_not_ram = 1;

	while (p < end) {
		const struct mb1_mmap_entry *e = (const void *)p;

		if (e->type == 1 && e->addr == 0 && e->len == 0x9fc00)
			low_ok = 1;
		if (e->type == 1 && e->addr == 0x100000 && e->addr + e->len == mem_top())
			high_ok = 1;
		/* The legacy hole (VGA, option ROMs, BIOS) is never RAM, listed or not. */
		if (e->type == 1 && e->addr < 0x100000 && e->addr + e->len > 0xa0000)
			hole_not_ram = 0;
		n++;
		p += e->size + 4;
	}
	CHECKF(n >= 3 && low_ok && high_ok && hole_not_ram, "mmap_layout",
	       "%u entries, low %u high %u hole %u", n, low_ok, high_ok, hole_not_ram);
}

void guest_main(void)
{
	const struct mb1_info *mbi = (const void *)(uintptr_t)boot_mbi;
	const struct mb1_module *m = (const void *)(uintptr_t)mbi->mods_addr;
	const char *cmdline = (const char *)(uintptr_t)mbi->cmdline;

	if (vmk_skip("cmdline") | vmk_skip("one_module") | vmk_skip("module_name") |
	    vmk_skip("module_contents"))
		guest_finish();
	CHECKF((mbi->flags & MB1_INFO_CMDLINE) && str_eq(cmdline, "alpha beta=2 \"gamma\""),
	       "cmdline", "flags 0x%x cmdline '%s'", mbi->flags,
	       (mbi->flags & MB1_INFO_CMDLINE) ? cmdline : "(none)");
	CHECKF((mbi->flags & MB1_INFO_MODS) && mbi->mods_count == 1, "one_module",
	       "flags 0x%x count %u", mbi->flags, mbi->mods_count);
	if (mbi->mods_count >= 1) {
		CHECKF(starts_with((const char *)(uintptr_t)m->string, "mbinfo.vmx"),
		       "module_name", "'%s'", (const char *)(uintptr_t)m->string);
		CHECKF(!(m->start & 0xfff) && m->end > m->start && m->end <= mem_top(),
		       "module_placement", "[0x%x, 0x%x)", m->start, m->end);
		CHECK(starts_with((const char *)(uintptr_t)m->start, "displayName = \"mbinfo\""),
		      "module_contents");
	}
	check_mmap(mbi);
	guest_finish();
}
