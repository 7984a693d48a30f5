/*
 * Host unit tests for the Linux boot protocol loader logic
 * (vmm/loader/linux_boot.c) and the PC memory map (vmm/mem/pc_layout.c).
 *
 * Two kinds of input: Debian's real kernel, as tools/mklinux.sh unpacks it
 * (build/linux/vmlinuz, the bzImage, and build/linux/vmlinux.gz, its
 * decompressed ELF payload; LINUX_DIR overrides the folder), and images
 * assembled here byte by byte from the boot protocol's field offsets, each
 * broken in one way. The real kernel is required: `make check` builds it
 * first, so its absence is a failure, not a skip.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/linux_boot.h>
#include <vmm/pc_layout.h>

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

/* ---- little-endian field access, written independently of the loader's ---- */

static uint32_t get(const uint8_t *p, size_t off, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v |= (uint32_t)p[off + i] << (8 * i);
	return v;
}

static uint64_t get64(const uint8_t *p, size_t off)
{
	return get(p, off, 4) | (uint64_t)get(p, off + 4, 4) << 32;
}

static void put(uint8_t *p, size_t off, uint32_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[off + i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, size_t off, uint64_t v)
{
	put(p, off, (uint32_t)v, 4);
	put(p, off + 4, (uint32_t)(v >> 32), 4);
}

/* ---- the real Debian kernel ---- */

struct blob {
	uint8_t *data;
	size_t len;
};

static const char *linux_dir(void)
{
	const char *d = getenv("LINUX_DIR");

	return d && *d ? d : "build/linux";
}

static struct blob read_stream(FILE *f)
{
	struct blob b = { NULL, 0 };
	size_t cap = 0, n;

	do {
		if (b.len == cap) {
			cap = cap ? cap * 2 : 1 << 20;
			b.data = realloc(b.data, cap);
			assert_non_null(b.data);
		}
		n = fread(b.data + b.len, 1, cap - b.len, f);
		b.len += n;
	} while (n);
	return b;
}

static struct blob load_bzimage(void)
{
	char path[512];
	FILE *f;
	struct blob b;

	snprintf(path, sizeof(path), "%s/vmlinuz", linux_dir());
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s is missing: build it with `sh tools/mklinux.sh build/linux` "
			 "(make check does)", path);
	b = read_stream(f);
	fclose(f);
	return b;
}

static struct blob load_vmlinux(void)
{
	char cmd[600];
	FILE *f;
	struct blob b;

	snprintf(cmd, sizeof(cmd), "gzip -dc '%s/vmlinux.gz' 2>/dev/null", linux_dir());
	f = popen(cmd, "r");
	assert_non_null(f);
	b = read_stream(f);
	if (pclose(f) != 0 || b.len < 64)
		fail_msg("%s/vmlinux.gz is missing or unreadable: build it with "
			 "`sh tools/mklinux.sh build/linux`", linux_dir());
	return b;
}

static void real_bzimage_parses(void **state)
{
	struct blob b = load_bzimage();
	struct bzimage_info k;
	char why[200] = "";

	(void)state;
	assert_false(linux_is_elf(b.data, b.len));
	assert_int_equal(bzimage_parse(b.data, b.len, &k, why, sizeof(why)), 0);
	assert_int_equal(k.format, LINUX_BZIMAGE);
	assert_true(k.version >= BZ_MIN_VERSION);
	assert_int_equal(k.version, get(b.data, 0x206, 2));
	assert_int_equal(k.setup_size, (b.data[0x1f1] + 1) * 512);
	assert_int_equal(k.kernel_size, b.len - k.setup_size);
	assert_true(k.xloadflags & XLF_KERNEL_64);
	assert_true(k.relocatable);
	assert_true(k.kernel_alignment >= 0x200000);
	assert_int_equal(k.kernel_alignment & (k.kernel_alignment - 1), 0);
	assert_true(k.init_size >= k.kernel_size);
	assert_int_equal(k.pref_address, get64(b.data, 0x258));
	assert_true(k.cmdline_size >= 255);
	assert_true(k.header_end > 0x260 && k.header_end <= 0x270);
	free(b.data);
}

static void check_e820_in_zero_page(const uint8_t *zp, const struct e820_entry *map, unsigned n)
{
	assert_int_equal(zp[BP_E820_ENTRIES], n);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(get64(zp, BP_E820_TABLE + 20 * i), map[i].addr);
		assert_int_equal(get64(zp, BP_E820_TABLE + 20 * i + 8), map[i].size);
		assert_int_equal(get(zp, BP_E820_TABLE + 20 * i + 16, 4), map[i].type);
	}
}

static void real_bzimage_plan_and_zero_page(void **state)
{
	struct blob b = load_bzimage();
	struct bzimage_info k;
	struct linux_plan p;
	struct e820_entry map[16];
	uint8_t zp[4096];
	uint64_t ram = 512 * MIB, initrd = 3 * MIB + 123;
	char why[200] = "";
	unsigned n;

	(void)state;
	assert_int_equal(bzimage_parse(b.data, b.len, &k, why, sizeof(why)), 0);
	assert_int_equal(linux_plan(&k, ram, 40, initrd, &p, why, sizeof(why)), 0);
	/* Relocatable: at or above 16 MiB, on its alignment, entry at +0x200. */
	assert_true(p.kernel >= 16 * MIB && p.kernel >= k.pref_address);
	assert_int_equal(p.kernel % k.kernel_alignment, 0);
	assert_int_equal(p.entry, p.kernel + 0x200);
	/* The initrd sits page-aligned above the kernel's whole footprint, below ACPI. */
	assert_int_equal(p.initrd & 0xfff, 0);
	assert_true(p.initrd >= p.kernel + k.init_size);
	assert_true(p.initrd + initrd <= pc_acpi_base(ram));
	assert_int_equal(p.initrd_size, initrd);
	/* The boot structures stay below 64 KiB and do not overlap. */
	assert_true(p.gdt + 32 <= p.page_tables);
	assert_true(p.page_tables + p.page_table_bytes <= p.zero_page);
	assert_true(p.zero_page + 4096 <= p.cmdline && p.cmdline + LINUX_CMDLINE_MAX <= 0x10000);

	n = pc_e820(ram, map, 16);
	memset(zp, 0xee, sizeof(zp));
	linux_zero_page(zp, b.data, &k, &p, map, n);
	/* The setup header is the image's, byte for byte, up to its end... */
	assert_memory_equal(zp + 0x1f1, b.data + 0x1f1, 0x210 - 0x1f1);
	assert_memory_equal(zp + 0x22c, b.data + 0x22c, k.header_end - 0x22c);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(get(zp, 0x206, 2), k.version);
	assert_int_equal(get(zp, 0x260, 4), k.init_size);
	/* ...then the loader's fields. */
	assert_int_equal(zp[BZ_TYPE_OF_LOADER], 0xff);
	assert_true(zp[BZ_LOADFLAGS] & LOADED_HIGH);
	assert_false(zp[BZ_LOADFLAGS] & 0x80);	/* CAN_USE_HEAP: no heap given */
	assert_int_equal(get(zp, BZ_CMD_LINE_PTR, 4), p.cmdline);
	assert_int_equal(get(zp, BZ_RAMDISK_IMAGE, 4), p.initrd);
	assert_int_equal(get(zp, BZ_RAMDISK_SIZE, 4), initrd);
	assert_int_equal(get(zp, BP_EXT_RAMDISK_IMAGE, 4), 0);
	assert_int_equal(get(zp, BP_EXT_CMD_LINE_PTR, 4), 0);
	check_e820_in_zero_page(zp, map, n);
	/* Everything before the header is zero (no screen_info, no EDD). */
	for (unsigned i = 0; i < BP_E820_ENTRIES; i++)
		assert_int_equal(zp[i], 0);
	free(b.data);
}

static void real_bzimage_needs_enough_ram(void **state)
{
	struct blob b = load_bzimage();
	struct bzimage_info k;
	struct linux_plan p;
	char why[300] = "";

	(void)state;
	assert_int_equal(bzimage_parse(b.data, b.len, &k, why, sizeof(why)), 0);
	assert_int_equal(linux_plan(&k, 16 * MIB, 10, 0, &p, why, sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "memsize"));
	/* Enough for the kernel, not for a 200 MiB initrd as well. */
	assert_int_equal(linux_plan(&k, 128 * MIB, 10, 200 * MIB, &p, why, sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "initrd"));
	/* A command line the kernel cannot take. */
	assert_int_equal(linux_plan(&k, 512 * MIB, k.cmdline_size + 1, 0, &p, why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "command line"));
	free(b.data);
}

static void real_vmlinux_parses_and_plans(void **state)
{
	struct blob b = load_vmlinux();
	struct bzimage_info k;
	struct linux_plan p;
	struct e820_entry map[16];
	uint8_t zp[4096];
	char why[200] = "";
	unsigned n;

	(void)state;
	assert_true(linux_is_elf(b.data, b.len));
	assert_int_equal(bzimage_parse(b.data, b.len, &k, why, sizeof(why)), 0);
	assert_int_equal(k.format, LINUX_VMLINUX);
	assert_true(k.nseg >= 2);
	/* Linked to run at 16 MiB (CONFIG_PHYSICAL_START), entered at a physical address. */
	assert_int_equal(k.load_start, 16 * MIB);
	assert_true(k.elf_entry >= k.load_start && k.elf_entry < k.load_end);
	assert_int_equal(k.elf_entry, get64(b.data, 0x18));
	for (unsigned i = 0; i < k.nseg; i++) {
		assert_true(k.seg[i].filesz <= k.seg[i].memsz);
		assert_true(k.seg[i].offset + k.seg[i].filesz <= b.len);
	}
	assert_int_equal(linux_plan(&k, 256 * MIB, 20, MIB, &p, why, sizeof(why)), 0);
	assert_int_equal(p.kernel, k.load_start);
	assert_int_equal(p.entry, k.elf_entry);
	assert_true(p.initrd >= k.load_end);
	n = pc_e820(256 * MIB, map, 16);
	linux_zero_page(zp, b.data, &k, &p, map, n);
	/* The loader makes up the header a vmlinux lacks. */
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(get(zp, 0x1fe, 2), 0xaa55);
	assert_true(get(zp, 0x236, 2) & XLF_KERNEL_64);
	assert_int_equal(get(zp, BZ_RAMDISK_IMAGE, 4), p.initrd);
	check_e820_in_zero_page(zp, map, n);
	free(b.data);
}

/* ---- synthetic bzImages, each broken one way ---- */

#define SYN_LEN (6 * 512 + 4096)

static uint8_t *good_bzimage(void)
{
	uint8_t *img = calloc(1, SYN_LEN);

	assert_non_null(img);
	img[0x1f1] = 5;				/* setup_sects: 6 sectors of setup */
	put(img, 0x1fe, 0xaa55, 2);
	img[0x201] = 0x6a;			/* jump: header ends at 0x26c */
	memcpy(img + 0x202, "HdrS", 4);
	put(img, 0x206, 0x020f, 2);
	img[0x211] = LOADED_HIGH;
	put(img, 0x22c, 0x7fffffff, 4);
	put(img, 0x230, 0x200000, 4);
	img[0x234] = 1;
	put(img, 0x236, XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G, 2);
	put(img, 0x238, 2047, 4);
	put64(img, 0x258, 0x1000000);
	put(img, 0x260, 0x800000, 4);
	return img;
}

static void expect_bad(uint8_t *img, size_t len, const char *words)
{
	struct bzimage_info k;
	char why[300] = "";

	assert_int_equal(bzimage_parse(img, len, &k, why, sizeof(why)), -EINVAL);
	if (!strstr(why, words))
		fail_msg("message \"%s\" does not mention \"%s\"", why, words);
}

static void synthetic_good_bzimage(void **state)
{
	uint8_t *img = good_bzimage();
	struct bzimage_info k;
	struct linux_plan p;
	char why[200] = "";

	(void)state;
	assert_int_equal(bzimage_parse(img, SYN_LEN, &k, why, sizeof(why)), 0);
	assert_int_equal(k.setup_size, 6 * 512);
	assert_int_equal(k.kernel_size, 4096);
	assert_int_equal(k.header_end, 0x26c);
	/* setup_sects 0 means 4. */
	img[0x1f1] = 0;
	assert_int_equal(bzimage_parse(img, SYN_LEN, &k, why, sizeof(why)), 0);
	assert_int_equal(k.setup_size, 5 * 512);
	/* Not relocatable: loaded exactly at pref_address, even below 16 MiB. */
	img[0x234] = 0;
	put64(img, 0x258, 0x200000);
	assert_int_equal(bzimage_parse(img, SYN_LEN, &k, why, sizeof(why)), 0);
	assert_int_equal(linux_plan(&k, 64 * MIB, 0, 0, &p, why, sizeof(why)), 0);
	assert_int_equal(p.kernel, 0x200000);
	assert_int_equal(p.initrd, 0);
	/* Relocatable with an odd preference: rounded up to the alignment, 16 MiB floor. */
	img[0x234] = 1;
	put64(img, 0x258, 0x1001000);
	assert_int_equal(bzimage_parse(img, SYN_LEN, &k, why, sizeof(why)), 0);
	assert_int_equal(linux_plan(&k, 64 * MIB, 0, 0, &p, why, sizeof(why)), 0);
	assert_int_equal(p.kernel, 0x1200000);
	free(img);
}

static void synthetic_broken_bzimages(void **state)
{
	uint8_t *img;

	(void)state;
	img = good_bzimage();
	expect_bad(img, 0x100, "HdrS");
	memcpy(img + 0x202, "HdrT", 4);
	expect_bad(img, SYN_LEN, "HdrS");
	free(img);

	img = good_bzimage();
	put(img, 0x1fe, 0x55aa, 2);
	expect_bad(img, SYN_LEN, "boot flag");
	free(img);

	img = good_bzimage();
	put(img, 0x206, 0x020b, 2);
	expect_bad(img, SYN_LEN, "too old");
	free(img);

	img = good_bzimage();
	img[0x1f1] = 40;	/* more setup than the file holds */
	expect_bad(img, SYN_LEN, "shorter than");
	free(img);

	img = good_bzimage();
	img[0x211] = 0;
	expect_bad(img, SYN_LEN, "zImage");
	free(img);

	img = good_bzimage();
	put(img, 0x236, 0, 2);
	expect_bad(img, SYN_LEN, "64-bit");
	free(img);

	img = good_bzimage();
	put(img, 0x230, 0x300000, 4);
	expect_bad(img, SYN_LEN, "power of two");
	put(img, 0x230, 0, 4);
	expect_bad(img, SYN_LEN, "power of two");
	free(img);

	img = good_bzimage();
	put(img, 0x260, 100, 4);
	expect_bad(img, SYN_LEN, "init_size");
	free(img);

	img = good_bzimage();
	put64(img, 0x258, 0x1000800);
	expect_bad(img, SYN_LEN, "pref_address");
	free(img);
}

static void synthetic_initrd_limits(void **state)
{
	uint8_t *img = good_bzimage();
	struct bzimage_info k;
	struct linux_plan p;
	char why[200] = "";

	(void)state;
	/* initrd_addr_max below the top of RAM: the initrd ends at or below it. */
	put(img, 0x22c, 0x037fffff, 4);
	assert_int_equal(bzimage_parse(img, SYN_LEN, &k, why, sizeof(why)), 0);
	assert_int_equal(linux_plan(&k, 512 * MIB, 0, 5 * MIB + 1, &p, why, sizeof(why)), 0);
	assert_true(p.initrd + p.initrd_size <= 0x03800000);
	assert_int_equal(p.initrd & 0xfff, 0);
	/* With 6 GiB, the kernel and initrd still go below the PCI hole. */
	put(img, 0x22c, 0x7fffffff, 4);
	assert_int_equal(bzimage_parse(img, SYN_LEN, &k, why, sizeof(why)), 0);
	assert_int_equal(linux_plan(&k, 6 * GIB, 0, 64 * MIB, &p, why, sizeof(why)), 0);
	assert_true(p.initrd + p.initrd_size <= pc_acpi_base(6 * GIB));
	assert_true(p.initrd >= p.kernel + k.init_size);
	/* An initrd larger than all of RAM does not wrap around. */
	assert_int_equal(linux_plan(&k, 64 * MIB, 0, ~0ULL - 4096, &p, why, sizeof(why)),
			 -E2BIG);
	free(img);
}

/* ---- synthetic ELF images ---- */

#define ELF_LEN 0x3000

static uint8_t *good_elf(unsigned nload)
{
	uint8_t *img = calloc(1, ELF_LEN);

	assert_non_null(img);
	memcpy(img, "\177ELF", 4);
	img[4] = 2;	/* ELFCLASS64 */
	img[5] = 1;	/* little-endian */
	img[6] = 1;
	put(img, 0x10, 2, 2);	/* ET_EXEC */
	put(img, 0x12, 62, 2);	/* EM_X86_64 */
	put64(img, 0x18, 0x1000000);
	put64(img, 0x20, 0x40);	/* e_phoff */
	put(img, 0x36, 56, 2);
	put(img, 0x38, nload + 1, 2);
	for (unsigned i = 0; i < nload; i++) {
		uint8_t *ph = img + 0x40 + 56 * i;

		put(ph, 0, 1, 4);				/* PT_LOAD */
		put64(ph, 0x08, 0x1000 + 0x100 * i);		/* offset */
		put64(ph, 0x10, 0xffffffff81000000ULL + MIB * i);
		put64(ph, 0x18, 0x1000000 + MIB * i);		/* paddr */
		put64(ph, 0x20, 0x100);
		put64(ph, 0x28, 0x2000);
	}
	put(img + 0x40 + 56 * nload, 0, 4, 4);	/* a PT_NOTE, ignored */
	return img;
}

static void synthetic_elf(void **state)
{
	uint8_t *img = good_elf(2);
	struct bzimage_info k;
	char why[200] = "";

	(void)state;
	assert_int_equal(bzimage_parse(img, ELF_LEN, &k, why, sizeof(why)), 0);
	assert_int_equal(k.nseg, 2);
	assert_int_equal(k.load_start, 0x1000000);
	assert_int_equal(k.load_end, 0x1100000 + 0x2000);
	assert_int_equal(k.init_size, k.load_end - k.load_start);

	img[4] = 1;
	expect_bad(img, ELF_LEN, "64-bit");
	img[4] = 2;
	put(img, 0x12, 3, 2);	/* EM_386 */
	expect_bad(img, ELF_LEN, "64-bit");
	put(img, 0x12, 62, 2);
	put64(img, 0x20, ELF_LEN - 10);
	expect_bad(img, ELF_LEN, "program headers");
	put64(img, 0x20, 0x40);
	put64(img + 0x40, 0x08, ELF_LEN - 0x10);	/* segment data past the end */
	expect_bad(img, ELF_LEN, "outside the file");
	put64(img + 0x40, 0x08, 0x1000);
	put64(img + 0x40, 0x20, 0x3000);		/* filesz > memsz */
	expect_bad(img, ELF_LEN, "outside the file");
	put64(img + 0x40, 0x20, 0x100);
	put64(img + 0x40, 0x18, ~0ULL - 0x100);	/* wraps */
	expect_bad(img, ELF_LEN, "wraps");
	put64(img + 0x40, 0x18, 0x1000000);
	put64(img, 0x18, 0xffffffff81000000ULL);	/* virtual entry */
	expect_bad(img, ELF_LEN, "entry");
	free(img);

	img = good_elf(0);
	expect_bad(img, ELF_LEN, "without loadable");
	free(img);
	img = good_elf(LINUX_ELF_MAX_SEGS + 1);
	expect_bad(img, ELF_LEN, "loadable ELF segments");
	free(img);
}

/* ---- boot page tables and GDT ---- */

static void boot_tables(void **state)
{
	uint64_t *t = calloc(6, 4096), gdt[4];

	(void)state;
	assert_non_null(t);
	linux_page_tables(t, LINUX_PAGE_TABLES);
	assert_int_equal(t[0], (LINUX_PAGE_TABLES + 0x1000) | 3);
	for (unsigned i = 1; i < 512; i++)
		assert_int_equal(t[i], 0);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(t[512 + i], (LINUX_PAGE_TABLES + 0x2000 + 0x1000 * i) | 3);
	/* Walk a few addresses through the tables: identity, 2 MiB pages. */
	const uint64_t probes[] = { 0, 0x1234567, 0xb0000000, 0xfee00000, 0xffffffff };
	for (unsigned i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t va = probes[i];
		uint64_t pdpte = t[512 + ((va >> 30) & 511)];
		uint64_t pde = t[((pdpte & ~0xfffULL) - LINUX_PAGE_TABLES) / 8 + ((va >> 21) & 511)];

		assert_int_equal(pde & 0x81, 0x81);
		assert_int_equal((pde & ~0x1fffffULL) | (va & 0x1fffff), va);
	}
	linux_boot_gdt(gdt);
	assert_int_equal(gdt[0], 0);
	/* __BOOT_CS: present, code, L=1, D=0; __BOOT_DS: present, writable data. */
	assert_int_equal((gdt[LINUX_BOOT_CS / 8] >> 40) & 0x9a, 0x9a);
	assert_int_equal((gdt[LINUX_BOOT_CS / 8] >> 53) & 3, 1);
	assert_int_equal((gdt[LINUX_BOOT_DS / 8] >> 40) & 0x92, 0x92);
	free(t);
}

/* ---- the PC memory map ---- */

static void check_map(uint64_t ram)
{
	struct e820_entry m[16];
	unsigned n = pc_e820(ram, m, 16);
	uint64_t ram_sum = 0, acpi_sum = 0;

	assert_true(n >= 5);
	for (unsigned i = 0; i < n; i++) {
		assert_true(m[i].size > 0);
		if (i)
			assert_true(m[i - 1].addr + m[i - 1].size <= m[i].addr);
		if (m[i].type == E820_RAM)
			ram_sum += m[i].size;
		if (m[i].type == E820_ACPI)
			acpi_sum += m[i].size;
		/* Every RAM byte the map promises is backed; nothing in the holes is. */
		if (m[i].type == E820_RAM || m[i].type == E820_ACPI) {
			assert_true(pc_is_ram(ram, m[i].addr));
			assert_true(pc_is_ram(ram, m[i].addr + m[i].size - 1));
		}
	}
	/* RAM + ACPI data + the EBDA and legacy hole below 1 MiB = the VM's memsize. */
	assert_int_equal(ram_sum + acpi_sum + (PC_LEGACY_HOLE_END - PC_EBDA_BASE), ram);
	assert_int_equal(acpi_sum, PC_ACPI_SIZE);
	assert_int_equal(pc_acpi_base(ram) + PC_ACPI_SIZE, pc_low_ram_end(ram));
	assert_false(pc_is_ram(ram, 0xb8000));
	assert_false(pc_is_ram(ram, PC_ECAM_BASE));
	assert_false(pc_is_ram(ram, 0xfee00000));
	assert_false(pc_is_ram(ram, PC_HIGH_RAM_BASE + pc_high_ram_size(ram)));
	assert_int_equal(pc_low_ram_end(ram) + pc_high_ram_size(ram), ram);
}

static void pc_memory_map(void **state)
{
	struct e820_entry m[16];

	(void)state;
	check_map(PC_MIN_RAM);
	check_map(64 * MIB);
	check_map(1 * GIB);
	check_map(PC_LOW_RAM_MAX);
	check_map(PC_LOW_RAM_MAX + 4096);
	check_map(6 * GIB);
	assert_int_equal(pc_high_ram_size(64 * MIB), 0);
	assert_int_equal(pc_high_ram_size(6 * GIB), 6 * GIB - PC_LOW_RAM_MAX);
	/* A short output array gets the first entries only. */
	assert_int_equal(pc_e820(6 * GIB, m, 2), 2);
	assert_int_equal(m[0].addr, 0);
	assert_int_equal(m[0].type, E820_RAM);
	assert_int_equal(m[1].addr, PC_EBDA_BASE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_bzimage_parses),
		cmocka_unit_test(real_bzimage_plan_and_zero_page),
		cmocka_unit_test(real_bzimage_needs_enough_ram),
		cmocka_unit_test(real_vmlinux_parses_and_plans),
		cmocka_unit_test(synthetic_good_bzimage),
		cmocka_unit_test(synthetic_broken_bzimages),
		cmocka_unit_test(synthetic_initrd_limits),
		cmocka_unit_test(synthetic_elf),
		cmocka_unit_test(boot_tables),
		cmocka_unit_test(pc_memory_map),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
