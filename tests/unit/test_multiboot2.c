/*
 * Host unit tests for the multiboot2 boot information parser. Each test builds
 * a real tag list in an 8-aligned buffer with mbi_* helpers, then corrupts it
 * where the test is about hostile input.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vmkernel/multiboot2.h>

#define MBI_CAP 4096

struct mbi {
	uint64_t buf[MBI_CAP / 8];	/* uint64_t: 8-byte aligned */
	size_t len;			/* bytes used, always a multiple of 8 */
};

static uint8_t *mbi_bytes(struct mbi *m)
{
	return (uint8_t *)m->buf;
}

static void mbi_init(struct mbi *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8;
}

/* Append a tag with @payload; returns its offset. Pads to 8 bytes. */
static size_t mbi_tag(struct mbi *m, uint32_t type, const void *payload, uint32_t plen)
{
	size_t off = m->len;
	uint32_t hdr[2] = { type, 8 + plen };

	assert_true(off + 8 + plen + 8 <= MBI_CAP);
	memcpy(mbi_bytes(m) + off, hdr, 8);
	if (plen)
		memcpy(mbi_bytes(m) + off + 8, payload, plen);
	m->len = (off + 8 + plen + 7) & ~(size_t)7;
	return off;
}

static size_t mbi_str(struct mbi *m, uint32_t type, const char *s)
{
	return mbi_tag(m, type, s, strlen(s) + 1);
}

static size_t mbi_module(struct mbi *m, uint32_t start, uint32_t end, const char *s)
{
	uint8_t p[64];
	size_t n = strlen(s) + 1;

	memcpy(p, &start, 4);
	memcpy(p + 4, &end, 4);
	memcpy(p + 8, s, n);
	return mbi_tag(m, MB2_TAG_MODULE, p, 8 + n);
}

static size_t mbi_mmap(struct mbi *m, uint32_t entry_size, const struct mb2_mmap_entry *e,
		       unsigned int n)
{
	uint8_t p[512] = { 0 };
	uint32_t hdr[2] = { entry_size, 0 };
	unsigned int i;

	memcpy(p, hdr, 8);
	for (i = 0; i < n; i++)
		memcpy(p + 8 + i * entry_size, &e[i], sizeof(e[i]));
	return mbi_tag(m, MB2_TAG_MMAP, p, 8 + n * entry_size);
}

/* End tag plus header; returns total_size. */
static uint32_t mbi_finish(struct mbi *m)
{
	uint32_t total;

	mbi_tag(m, MB2_TAG_END, NULL, 0);
	total = m->len;
	memcpy(mbi_bytes(m), &total, 4);
	return total;
}

static void mbi_set_u32(struct mbi *m, size_t off, uint32_t v)
{
	memcpy(mbi_bytes(m) + off, &v, 4);
}

static void assert_err(const struct mb2_info *mi, const char *a, const char *b)
{
	if (!strstr(mi->err, a) || (b && !strstr(mi->err, b)))
		fail_msg("err '%s' lacks '%s'/'%s'", mi->err, a, b ? b : "");
}

static const struct mb2_mmap_entry test_map[3] = {
	{ 0x0, 0x9fc00, MB2_MEM_AVAILABLE, 0 },
	{ 0x100000, 0x7ee0000, MB2_MEM_AVAILABLE, 0 },
	{ 0xfffc0000, 0x40000, MB2_MEM_RESERVED, 0 },
};

static struct mbi m;
static struct mb2_info mi;

static void test_magic(void **state)
{
	(void)state;
	assert_true(mb2_magic_ok(0x36d76289));
	assert_false(mb2_magic_ok(0x2badb002));	/* multiboot v1 */
	assert_false(mb2_magic_ok(0));
}

static void test_minimal(void **state)
{
	(void)state;
	mbi_init(&m);
	assert_int_equal(mbi_finish(&m), 16);
	assert_int_equal(mb2_parse(m.buf, 16, &mi), 0);
	assert_null(mi.cmdline);
	assert_null(mi.mmap);
	assert_int_equal(mi.module_count, 0);
	assert_int_equal(mi.rsdp_revision, 0);
	assert_false(mi.has_fb);
	assert_int_equal(mi.total_size, 16);
	assert_null(mb2_mmap_entry(&mi, 0));
}

static void test_typical_bios(void **state)
{
	uint32_t mem[2] = { 639, 130048 };
	uint32_t bootdev[3] = { 0x80, 0xffffffff, 0xffffffff };
	uint32_t total;
	const struct mb2_mmap_entry *e;

	(void)state;
	mbi_init(&m);
	mbi_str(&m, MB2_TAG_CMDLINE, "console=com1 test=all");
	mbi_str(&m, MB2_TAG_BOOTLOADER, "GRUB 2.06");
	mbi_tag(&m, MB2_TAG_BASIC_MEMINFO, mem, sizeof(mem));
	mbi_module(&m, 0x200000, 0x201000, "vm1.vmx");
	mbi_module(&m, 0x300000, 0x300000, "");
	mbi_mmap(&m, 24, test_map, 3);
	mbi_tag(&m, MB2_TAG_BOOTDEV, bootdev, 12);	/* parsed as unknown: skipped */
	total = mbi_finish(&m);

	assert_int_equal(mb2_parse(m.buf, sizeof(m.buf), &mi), 0);
	assert_string_equal(mi.cmdline, "console=com1 test=all");
	assert_string_equal(mi.bootloader, "GRUB 2.06");
	assert_true(mi.has_basic_mem);
	assert_int_equal(mi.mem_lower_kb, 639);
	assert_int_equal(mi.mem_upper_kb, 130048);
	assert_int_equal(mi.module_count, 2);
	assert_int_equal(mi.modules[0].start, 0x200000);
	assert_int_equal(mi.modules[0].end, 0x201000);
	assert_string_equal(mi.modules[0].string, "vm1.vmx");
	assert_string_equal(mi.modules[1].string, "");
	assert_int_equal(mi.mmap_count, 3);
	assert_int_equal(mi.mmap_entry_size, 24);
	e = mb2_mmap_entry(&mi, 1);
	assert_non_null(e);
	assert_int_equal(e->addr, 0x100000);
	assert_int_equal(e->len, 0x7ee0000);
	assert_int_equal(e->type, MB2_MEM_AVAILABLE);
	assert_int_equal(mb2_mmap_entry(&mi, 2)->type, MB2_MEM_RESERVED);
	assert_null(mb2_mmap_entry(&mi, 3));
	assert_int_equal(mi.total_size, total);
}

static void test_mmap_large_entries(void **state)
{
	const struct mb2_mmap_entry *e;

	(void)state;
	mbi_init(&m);
	mbi_mmap(&m, 32, test_map, 3);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_int_equal(mi.mmap_count, 3);
	assert_int_equal(mi.mmap_entry_size, 32);
	e = mb2_mmap_entry(&mi, 2);
	assert_int_equal(e->addr, 0xfffc0000);
	assert_int_equal(e->len, 0x40000);
	assert_int_equal(e->type, MB2_MEM_RESERVED);
}

static void test_mmap_type_names(void **state)
{
	(void)state;
	assert_string_equal(mb2_mmap_type_name(MB2_MEM_AVAILABLE), "available");
	assert_string_equal(mb2_mmap_type_name(MB2_MEM_RESERVED), "reserved");
	assert_string_equal(mb2_mmap_type_name(MB2_MEM_ACPI_RECLAIMABLE), "ACPI reclaimable");
	assert_string_equal(mb2_mmap_type_name(MB2_MEM_NVS), "ACPI NVS");
	assert_string_equal(mb2_mmap_type_name(MB2_MEM_BADRAM), "bad RAM");
	assert_string_equal(mb2_mmap_type_name(77), "reserved");
}

static void test_uefi_tags(void **state)
{
	uint8_t rsdp1[20], rsdp2[36], efimap[16 + 2 * 48] = { 0 };
	uint64_t systab = 0x7f9e8018ULL;
	uint32_t base = 0x1000000;
	uint32_t dh[2] = { 48, 1 };

	(void)state;
	memset(rsdp1, 0x11, sizeof(rsdp1));
	memset(rsdp2, 0x22, sizeof(rsdp2));
	memcpy(efimap, dh, 8);
	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_ACPI_NEW, rsdp2, sizeof(rsdp2));
	mbi_tag(&m, MB2_TAG_ACPI_OLD, rsdp1, sizeof(rsdp1));	/* must not override new */
	mbi_tag(&m, MB2_TAG_EFI64, &systab, 8);
	mbi_tag(&m, MB2_TAG_EFI_MMAP, efimap, 8 + 2 * 48 + 5);	/* 5 stray bytes */
	mbi_tag(&m, MB2_TAG_EFI_BS, NULL, 0);
	mbi_tag(&m, MB2_TAG_LOAD_BASE_ADDR, &base, 4);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_int_equal(mi.rsdp_revision, 2);
	assert_int_equal(mi.rsdp_len, 36);
	assert_int_equal(((const uint8_t *)mi.rsdp)[0], 0x22);
	assert_true(mi.has_efi64_systab);
	assert_int_equal(mi.efi64_systab, systab);
	assert_true(mi.has_efi_mmap);
	assert_int_equal(mi.efi_desc_size, 48);
	assert_int_equal(mi.efi_desc_version, 1);
	assert_int_equal(mi.efi_mmap_len, 96);
	assert_true(mi.efi_boot_services_not_terminated);
	assert_true(mi.has_load_base);
	assert_int_equal(mi.load_base, 0x1000000);
	assert_false(mi.has_basic_mem);
}

static void test_rsdp_old_only(void **state)
{
	uint8_t rsdp1[20];

	(void)state;
	memset(rsdp1, 0x11, sizeof(rsdp1));
	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_ACPI_OLD, rsdp1, sizeof(rsdp1));
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_int_equal(mi.rsdp_revision, 1);
	assert_int_equal(mi.rsdp_len, 20);
	assert_ptr_equal(mi.rsdp, mbi_bytes(&m) + 16);
}

static void test_rsdp_too_short(void **state)
{
	uint8_t rsdp[36] = { 0 };

	(void)state;
	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_ACPI_NEW, rsdp, 20);	/* v1-sized body in a v2 tag */
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 15", "need at least 44");

	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_ACPI_OLD, rsdp, 19);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 14", "too short");
}

static void test_framebuffer_rgb(void **state)
{
	uint8_t p[30] = { 0 };
	uint64_t addr = 0xfd000000ULL;
	uint32_t dims[3] = { 4096, 1024, 768 };
	uint8_t rgb[6] = { 16, 8, 8, 8, 0, 8 };

	(void)state;
	memcpy(p, &addr, 8);
	memcpy(p + 8, dims, 12);
	p[20] = 32;
	p[21] = MB2_FB_TYPE_RGB;
	memcpy(p + 24, rgb, 6);
	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_FRAMEBUFFER, p, 30);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_true(mi.has_fb);
	assert_int_equal(mi.fb.addr, addr);
	assert_int_equal(mi.fb.pitch, 4096);
	assert_int_equal(mi.fb.width, 1024);
	assert_int_equal(mi.fb.height, 768);
	assert_int_equal(mi.fb.bpp, 32);
	assert_int_equal(mi.fb.type, MB2_FB_TYPE_RGB);
	assert_int_equal(mi.fb.red_pos, 16);
	assert_int_equal(mi.fb.green_pos, 8);
	assert_int_equal(mi.fb.blue_pos, 0);
	assert_int_equal(mi.fb.blue_size, 8);

	/* same tag cut before the colour fields */
	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_FRAMEBUFFER, p, 27);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 8", "RGB framebuffer tag too short");
}

static void test_framebuffer_bad(void **state)
{
	uint8_t p[32] = { 0 };
	uint16_t colours = 100;

	(void)state;
	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_FRAMEBUFFER, p, 20);	/* common part is 24 bytes of payload */
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 8", "framebuffer tag too short (28 bytes");

	p[21] = MB2_FB_TYPE_INDEXED;
	memcpy(p + 24, &colours, 2);
	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_FRAMEBUFFER, p, 32);	/* room for 2 colours, claims 100 */
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 8", "palette of 100 colours");
}

static void test_misaligned_and_small(void **state)
{
	(void)state;
	mbi_init(&m);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(mbi_bytes(&m) + 4, 16, &mi), -EINVAL);
	assert_err(&mi, "not 8-byte aligned", NULL);
	assert_int_equal(mb2_parse(NULL, 16, &mi), -EINVAL);
	assert_err(&mi, "NULL", NULL);
	assert_int_equal(mb2_parse(m.buf, 4, &mi), -EINVAL);
	assert_err(&mi, "only 4 bytes readable", NULL);
	assert_int_equal(mb2_parse(m.buf, 16, NULL), -EINVAL);

	mbi_set_u32(&m, 0, 8);
	assert_int_equal(mb2_parse(m.buf, 16, &mi), -EINVAL);
	assert_err(&mi, "total_size 8", "minimum of 16");
}

static void test_total_size_beyond_buffer(void **state)
{
	(void)state;
	mbi_init(&m);
	mbi_str(&m, MB2_TAG_CMDLINE, "x");
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len - 8, &mi), -EINVAL);
	assert_err(&mi, "total_size 32", "exceeds the 24 readable bytes");
	mbi_set_u32(&m, 0, 0xffffffffu);
	assert_int_equal(mb2_parse(m.buf, sizeof(m.buf), &mi), -EINVAL);
	assert_err(&mi, "total_size 4294967295", "exceeds");
}

static void test_tag_size_zero(void **state)
{
	size_t off;

	(void)state;
	mbi_init(&m);
	mbi_str(&m, MB2_TAG_CMDLINE, "a");
	off = mbi_str(&m, MB2_TAG_BOOTLOADER, "b");
	mbi_finish(&m);
	mbi_set_u32(&m, off + 4, 0);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "tag #1 (type 2) at offset 24", "size 0 is smaller");
}

static void test_tag_size_huge(void **state)
{
	size_t off;

	(void)state;
	mbi_init(&m);
	off = mbi_str(&m, MB2_TAG_CMDLINE, "console=com1");
	mbi_finish(&m);
	mbi_set_u32(&m, off + 4, 0xffffffffu);
	assert_int_equal(mb2_parse(m.buf, sizeof(m.buf), &mi), -EINVAL);
	assert_err(&mi, "tag #0 (type 1) at offset 8", "size 4294967295 runs past");
}

static void test_tag_crosses_end(void **state)
{
	uint32_t total;

	(void)state;
	mbi_init(&m);
	mbi_mmap(&m, 24, test_map, 2);
	total = mbi_finish(&m);
	/* cut the info so that the memory map tag sticks out past total_size */
	mbi_set_u32(&m, 0, total - 16);
	assert_int_equal(mb2_parse(m.buf, sizeof(m.buf), &mi), -EINVAL);
	assert_err(&mi, "type 6", "runs past total_size");
}

static void test_no_end_tag(void **state)
{
	(void)state;
	mbi_init(&m);
	mbi_str(&m, MB2_TAG_CMDLINE, "abc");
	mbi_finish(&m);
	mbi_set_u32(&m, m.len - 8, 99);	/* end tag turned into an unknown tag */
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "no end tag", "after 2 tags");

	/* total_size too small to reach the end tag */
	mbi_init(&m);
	mbi_str(&m, MB2_TAG_CMDLINE, "abc");
	mbi_finish(&m);
	mbi_set_u32(&m, 0, 20);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "no end tag", "total_size 20");
	mbi_set_u32(&m, 0, 16);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "tag #0 (type 1)", "size 12 runs past total_size 16");
}

static void test_unterminated_strings(void **state)
{
	size_t off;

	(void)state;
	mbi_init(&m);
	off = mbi_tag(&m, MB2_TAG_CMDLINE, "console=com1", 12);	/* no NUL */
	memset(mbi_bytes(&m) + off + 20, 'X', 4);		/* padding not NUL either */
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 1", "not NUL-terminated");

	mbi_init(&m);
	mbi_tag(&m, MB2_TAG_BOOTLOADER, NULL, 0);	/* no room for a NUL at all */
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 2", "not NUL-terminated");

	mbi_init(&m);
	off = mbi_module(&m, 0x1000, 0x2000, "abcdefg");
	mbi_set_u32(&m, off + 4, 16 + 7);	/* drop the module string's NUL */
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 3", "not NUL-terminated");
}

static void test_mmap_bad_entry_size(void **state)
{
	(void)state;
	mbi_init(&m);
	mbi_mmap(&m, 20, test_map, 2);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 6", "entry_size 20");

	mbi_init(&m);
	mbi_mmap(&m, 28, test_map, 2);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 6", "entry_size 28");

	mbi_init(&m);
	mbi_mmap(&m, 0, test_map, 0);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 6", "entry_size 0");
}

static void test_mmap_truncated(void **state)
{
	size_t off;

	(void)state;
	mbi_init(&m);
	off = mbi_mmap(&m, 24, test_map, 3);
	mbi_finish(&m);
	mbi_set_u32(&m, off + 4, 16 + 24 * 2 + 10);	/* 2 entries and a bit */
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "tag #0 (type 6) at offset 8", "partial entry");

	mbi_set_u32(&m, off + 4, 12);	/* header cut short */
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 6", "memory map tag too short");

	/* a map with no entries is valid */
	mbi_init(&m);
	mbi_mmap(&m, 24, NULL, 0);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_non_null(mi.mmap);
	assert_int_equal(mi.mmap_count, 0);
	assert_null(mb2_mmap_entry(&mi, 0));
}

static void test_module_errors(void **state)
{
	unsigned int i;

	(void)state;
	mbi_init(&m);
	mbi_module(&m, 0x2000, 0x1000, "backwards");
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "type 3", "end 0x1000 is below its start 0x2000");

	mbi_init(&m);
	for (i = 0; i < MB2_MAX_MODULES; i++)
		mbi_module(&m, i * 0x1000, i * 0x1000 + 0x100, "m");
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_int_equal(mi.module_count, MB2_MAX_MODULES);
	assert_int_equal(mi.modules[31].start, 31 * 0x1000);

	mbi_init(&m);
	for (i = 0; i <= MB2_MAX_MODULES; i++)
		mbi_module(&m, 0, 0x100, "m");
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "tag #32 (type 3)", "too many modules (at most 32");
}

static void test_duplicate_and_unknown(void **state)
{
	uint8_t junk[40];

	(void)state;
	memset(junk, 0xa5, sizeof(junk));
	mbi_init(&m);
	mbi_tag(&m, 1000, junk, sizeof(junk));
	mbi_tag(&m, MB2_TAG_ELF_SECTIONS, junk, 13);
	mbi_str(&m, MB2_TAG_CMDLINE, "first");
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_string_equal(mi.cmdline, "first");

	mbi_init(&m);
	mbi_str(&m, MB2_TAG_CMDLINE, "first");
	mbi_str(&m, MB2_TAG_CMDLINE, "second");
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), -EINVAL);
	assert_err(&mi, "tag #1 (type 1)", "duplicate");
}

static void test_unaligned_tag_sizes(void **state)
{
	(void)state;
	/* odd-sized tags: the walk must round each one up to 8 bytes */
	mbi_init(&m);
	mbi_str(&m, MB2_TAG_CMDLINE, "a");		/* size 10 */
	mbi_str(&m, MB2_TAG_BOOTLOADER, "GRUB");	/* size 13 */
	mbi_mmap(&m, 24, test_map, 1);
	mbi_finish(&m);
	assert_int_equal(mb2_parse(m.buf, m.len, &mi), 0);
	assert_string_equal(mi.cmdline, "a");
	assert_string_equal(mi.bootloader, "GRUB");
	assert_int_equal(mi.mmap_count, 1);
	assert_int_equal(mb2_mmap_entry(&mi, 0)->len, 0x9fc00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_magic),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_typical_bios),
		cmocka_unit_test(test_mmap_large_entries),
		cmocka_unit_test(test_mmap_type_names),
		cmocka_unit_test(test_uefi_tags),
		cmocka_unit_test(test_rsdp_old_only),
		cmocka_unit_test(test_rsdp_too_short),
		cmocka_unit_test(test_framebuffer_rgb),
		cmocka_unit_test(test_framebuffer_bad),
		cmocka_unit_test(test_misaligned_and_small),
		cmocka_unit_test(test_total_size_beyond_buffer),
		cmocka_unit_test(test_tag_size_zero),
		cmocka_unit_test(test_tag_size_huge),
		cmocka_unit_test(test_tag_crosses_end),
		cmocka_unit_test(test_no_end_tag),
		cmocka_unit_test(test_unterminated_strings),
		cmocka_unit_test(test_mmap_bad_entry_size),
		cmocka_unit_test(test_mmap_truncated),
		cmocka_unit_test(test_module_errors),
		cmocka_unit_test(test_duplicate_and_unknown),
		cmocka_unit_test(test_unaligned_tag_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
