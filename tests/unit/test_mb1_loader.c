/*
 * Host unit tests for the multiboot v1 guest loader.
 *
 * Guest memory is a heap buffer pre-filled with 0xcc, so loaded bytes, zeroed
 * bss and untouched memory can all be told apart. ELF images are assembled
 * here byte by byte from the gABI field offsets (deliberately not with the
 * loader's own structs, so a layout mistake on either side shows up).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vmm/mb1_loader.h>

#define MIB		(1024ULL * 1024)
#define FILL		0xcc
#define IMG_CAP		0x6000
#define MB_OFF		0xf00		/* multiboot header offset in test ELFs */

/* ---- fake guest memory ---- */

struct fake_mem {
	uint8_t *buf;
	uint64_t buf_size;
	unsigned calls;			/* write + zero calls so far */
	unsigned fail_call;		/* 1-based call number that fails, 0 = never */
	int fail_rc;
};

static int fake_access(struct fake_mem *fm, uint64_t gpa, size_t len)
{
	fm->calls++;
	if (fm->fail_call && fm->calls == fm->fail_call)
		return fm->fail_rc;
	/* The loader promised to stay inside guest RAM. */
	assert_true(gpa <= fm->buf_size && len <= fm->buf_size - gpa);
	return 0;
}

static int fake_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	struct fake_mem *fm = ctx;
	int rc = fake_access(fm, gpa, len);

	if (!rc)
		memcpy(fm->buf + gpa, src, len);
	return rc;
}

static int fake_zero(void *ctx, uint64_t gpa, size_t len)
{
	struct fake_mem *fm = ctx;
	int rc = fake_access(fm, gpa, len);

	if (!rc)
		memset(fm->buf + gpa, 0, len);
	return rc;
}

struct env {
	struct fake_mem fm;
	struct mb1_guest_mem gm;
	struct mb1_mmap_in mmap[4];
	struct mb1_load_params p;
	struct mb1_load_result out;
	uint8_t img[IMG_CAP];
};

/* ram_size may exceed the buffer for tests that must fail before writing. */
static struct env *env_new(uint64_t ram_size, uint64_t buf_size)
{
	struct env *e = calloc(1, sizeof(*e));

	assert_non_null(e);
	e->fm.buf = malloc(buf_size);
	assert_non_null(e->fm.buf);
	memset(e->fm.buf, FILL, buf_size);
	e->fm.buf_size = buf_size;
	e->gm = (struct mb1_guest_mem){ &e->fm, ram_size, fake_write, fake_zero };
	e->mmap[0] = (struct mb1_mmap_in){ 0, 0x9fc00, 1 };
	e->mmap[1] = (struct mb1_mmap_in){ 0x9fc00, 0x400, 2 };
	e->mmap[2] = (struct mb1_mmap_in){ 0xa0000, 0x60000, 2 };
	e->mmap[3] = (struct mb1_mmap_in){ 0x100000, ram_size - 0x100000, 1 };
	e->p.mmap = e->mmap;
	e->p.nmmap = 4;
	e->p.cmdline = "console=ttyS0 quiet";
	e->p.loader_name = "test loader";
	return e;
}

static struct env *env_ram(uint64_t ram_size)
{
	return env_new(ram_size, ram_size);
}

static void env_free(struct env *e)
{
	free(e->fm.buf);
	free(e);
}

static int env_load(struct env *e, size_t len)
{
	return mb1_load(e->img, len, &e->p, &e->gm, &e->out);
}

static void expect_fail(struct env *e, size_t len, int rc, const char *msg)
{
	int got = env_load(e, len);

	if (got != rc || !strstr(e->out.err, msg))
		fail_msg("rc %d (want %d), err \"%s\" (want \"%s\")", got, rc, e->out.err, msg);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ---- image builders ---- */

static void put16(uint8_t *b, size_t off, uint16_t v)
{
	memcpy(b + off, &v, 2);
}

static void put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, 4);
}

static void put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, 8);
}

/* Multiboot header; addrs = {header, load, load_end, bss_end, entry} when flag 16. */
static void put_mb(uint8_t *b, size_t off, uint32_t flags, const uint32_t *addrs)
{
	put32(b, off, MB1_HEADER_MAGIC);
	put32(b, off + 4, flags);
	put32(b, off + 8, -(MB1_HEADER_MAGIC + flags));
	for (int i = 0; addrs && i < 5; i++)
		put32(b, off + 12 + 4 * i, addrs[i]);
}

struct seg_spec {
	uint32_t type;
	uint64_t off, vaddr, paddr, filesz, memsz;
};

static uint8_t seg_byte(unsigned seg, uint64_t i)
{
	return (uint8_t)(0x30 + seg * 0x20 + i % 17);
}

/*
 * ELF32 or ELF64 ET_EXEC with phdrs right after the ELF header, a multiboot
 * header (flags 0x3) at MB_OFF and each segment's file bytes filled with a
 * per-segment pattern. Returns the file length.
 */
static size_t build_elf(uint8_t *b, bool is64, uint64_t entry, const struct seg_spec *s,
			unsigned n)
{
	size_t eh = is64 ? 64 : 52, ph = is64 ? 56 : 32, len = MB_OFF + 12;

	memset(b, 0, IMG_CAP);
	memcpy(b, "\x7f" "ELF", 4);
	b[4] = is64 ? 2 : 1;
	b[5] = 1;
	b[6] = 1;
	put16(b, 16, 2);
	put16(b, 18, is64 ? 62 : 3);
	put32(b, 20, 1);
	if (is64) {
		put64(b, 24, entry);
		put64(b, 32, eh);
		put16(b, 52, 64);
		put16(b, 54, 56);
		put16(b, 56, n);
	} else {
		put32(b, 24, (uint32_t)entry);
		put32(b, 28, eh);
		put16(b, 40, 52);
		put16(b, 42, 32);
		put16(b, 44, n);
	}
	for (unsigned i = 0; i < n; i++) {
		size_t o = eh + i * ph;

		if (is64) {
			put32(b, o, s[i].type);
			put32(b, o + 4, 7);
			put64(b, o + 8, s[i].off);
			put64(b, o + 16, s[i].vaddr);
			put64(b, o + 24, s[i].paddr);
			put64(b, o + 32, s[i].filesz);
			put64(b, o + 40, s[i].memsz);
			put64(b, o + 48, 0x1000);
		} else {
			put32(b, o, s[i].type);
			put32(b, o + 4, (uint32_t)s[i].off);
			put32(b, o + 8, (uint32_t)s[i].vaddr);
			put32(b, o + 12, (uint32_t)s[i].paddr);
			put32(b, o + 16, (uint32_t)s[i].filesz);
			put32(b, o + 20, (uint32_t)s[i].memsz);
			put32(b, o + 24, 7);
			put32(b, o + 28, 0x1000);
		}
		if (s[i].off >= IMG_CAP || s[i].filesz > IMG_CAP - s[i].off)
			continue;			/* deliberately outside the file */
		for (uint64_t k = 0; k < s[i].filesz; k++)
			b[s[i].off + k] = seg_byte(i, k);
		if (s[i].off + s[i].filesz > len)
			len = s[i].off + s[i].filesz;
	}
	put_mb(b, MB_OFF, 0x3, NULL);
	return len;
}

/* The usual two-segment kernel: text at 1 MiB, data+bss at 1 MiB + 8 KiB. */
static const struct seg_spec two_segs[] = {
	{ 1, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000 },
	{ 1, 0x2000, 0x102000, 0x102000, 0x300, 0x2345 },
};

static void check_seg(struct env *e, unsigned i, const struct seg_spec *s)
{
	const uint8_t *m = e->fm.buf + s->paddr;

	for (uint64_t k = 0; k < s->filesz; k++)
		if (m[k] != seg_byte(i, k))
			fail_msg("segment %u byte 0x%llx is 0x%x", i, (unsigned long long)k, m[k]);
	for (uint64_t k = s->filesz; k < s->memsz; k++)
		if (m[k] != 0)
			fail_msg("segment %u bss byte 0x%llx is 0x%x", i,
				 (unsigned long long)k, m[k]);
}

/* ---- successful loads ---- */

static void test_elf32_load_bss(void **state)
{
	struct env *e = env_ram(16 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);

	(void)state;
	assert_int_equal(env_load(e, len), 0);
	assert_string_equal(e->out.err, "");
	assert_int_equal(e->out.entry, 0x100010);
	assert_int_equal(e->out.eax, 0x2BADB002);
	assert_false(e->out.elf64);
	assert_int_equal(e->out.image_start, 0x100000);
	assert_int_equal(e->out.image_end, 0x104345);
	check_seg(e, 0, &two_segs[0]);
	check_seg(e, 1, &two_segs[1]);
	assert_int_equal(e->fm.buf[0x101000], FILL);	/* gap between segments untouched */
	assert_int_equal(e->fm.buf[0x104345], FILL);	/* just past the bss */
	assert_int_equal(e->fm.buf[0xfffff], FILL);
	env_free(e);
}

static void test_elf64_load_bss(void **state)
{
	struct env *e = env_ram(16 * MIB);
	size_t len = build_elf(e->img, true, 0x102100, two_segs, 2);

	(void)state;
	assert_int_equal(env_load(e, len), 0);
	assert_true(e->out.elf64);
	assert_int_equal(e->out.entry, 0x102100);
	check_seg(e, 0, &two_segs[0]);
	check_seg(e, 1, &two_segs[1]);
	assert_int_equal(e->fm.buf[0x104345], FILL);
	env_free(e);
}

static void test_elf64_higher_half_entry(void **state)
{
	static const struct seg_spec s[] = {
		{ 1, 0x1000, 0x200000, 0x200000, 0x100, 0x100 },	/* low boot stub */
		{ 1, 0x2000, 0xffffffff80300000ULL, 0x300000, 0x800, 0x1000 },
	};
	struct env *e = env_ram(16 * MIB);
	size_t len = build_elf(e->img, true, 0xffffffff80300040ULL, s, 2);

	(void)state;
	assert_int_equal(env_load(e, len), 0);
	assert_int_equal(e->out.entry, 0x300040);
	check_seg(e, 1, &s[1]);
	env_free(e);
}

static void test_elf_skips_non_load_and_empty(void **state)
{
	static const struct seg_spec s[] = {
		{ 4, 0x40, 0, 0, 0x20, 0x20 },			/* PT_NOTE: ignored */
		{ 1, 0x1000, 0x100000, 0x100000, 0x80, 0x80 },
		{ 1, 0, 0x900000, 0x900000, 0, 0 },		/* empty PT_LOAD */
	};
	struct env *e = env_ram(4 * MIB);
	size_t len = build_elf(e->img, false, 0x100000, s, 3);

	(void)state;
	assert_int_equal(env_load(e, len), 0);
	assert_int_equal(e->out.image_end, 0x100080);
	env_free(e);
}

/* A flat binary: 0x100 bytes of "code" with the header at 0x40. */
static size_t build_aout(uint8_t *b, uint32_t load_end, uint32_t bss_end)
{
	uint32_t a[5] = { 0x100040, 0x100000, load_end, bss_end, 0x100080 };

	for (int i = 0; i < 0x100; i++)
		b[i] = (uint8_t)(0x90 + i);
	put_mb(b, 0x40, MB1_HF_ADDRS | MB1_HF_PAGE_ALIGN, a);
	return 0x100;
}

static void test_aout_kludge_bss(void **state)
{
	struct env *e = env_ram(4 * MIB);
	size_t len = build_aout(e->img, 0x1000c0, 0x103000);

	(void)state;
	assert_int_equal(env_load(e, len), 0);
	assert_int_equal(e->out.entry, 0x100080);
	assert_false(e->out.elf64);
	assert_int_equal(e->out.image_start, 0x100000);
	assert_int_equal(e->out.image_end, 0x103000);
	assert_memory_equal(e->fm.buf + 0x100000, e->img, 0xc0);
	for (uint32_t a = 0x1000c0; a < 0x103000; a++)
		if (e->fm.buf[a] != 0)
			fail_msg("bss byte 0x%x not zeroed", a);
	assert_int_equal(e->fm.buf[0xfffff], FILL);
	env_free(e);
}

static void test_aout_whole_file_no_bss(void **state)
{
	struct env *e = env_ram(4 * MIB);
	size_t len = build_aout(e->img, 0, 0);

	(void)state;
	assert_int_equal(env_load(e, len), 0);
	assert_int_equal(e->out.image_end, 0x100100);
	assert_memory_equal(e->fm.buf + 0x100000, e->img, 0x100);
	assert_int_equal(e->fm.buf[0x100100], FILL);
	env_free(e);
}

/* Loaded low with a module too big for what is left below 0x9fc00: it goes to 1 MiB. */
static void test_aout_low_module_skips_hole(void **state)
{
	struct env *e = env_ram(4 * MIB);
	uint32_t a[5] = { 0x10000, 0x10000, 0, 0, 0x10010 };
	static uint8_t big[0x90000];
	struct mb1_module_in m = { "big", big, sizeof(big) };
	const struct mb1_info *mbi;
	const uint8_t *mod;

	(void)state;
	memset(big, 0x5a, sizeof(big));
	put_mb(e->img, 0, MB1_HF_ADDRS, a);
	e->p.modules = &m;
	e->p.nmodules = 1;
	assert_int_equal(env_load(e, 0x800), 0);
	mbi = (const void *)(e->fm.buf + e->out.ebx);
	mod = e->fm.buf + mbi->mods_addr;
	assert_int_equal(get32(mod), 0x100000);
	assert_int_equal(get32(mod + 4), 0x190000);
	assert_int_equal(e->out.info_start, 0x190000);
	assert_int_equal(e->fm.buf[0x11000], FILL);
	env_free(e);
}

static void test_modules_and_mbi(void **state)
{
	static const char d0[] = "first module payload", d1[0x1801] = { [0] = 7, [0x1800] = 9 };
	struct mb1_module_in mods[] = {
		{ "initrd.img root=/dev/ram", d0, sizeof(d0) },
		{ "second", d1, sizeof(d1) },
	};
	struct env *e = env_ram(16 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);
	const uint8_t *m, *mm;
	const struct mb1_info *mbi;
	uint32_t s0, s1;

	(void)state;
	e->p.modules = mods;
	e->p.nmodules = 2;
	assert_int_equal(env_load(e, len), 0);
	assert_int_equal(e->out.ebx % 0x1000, 0);
	assert_int_equal(e->out.ebx, e->out.info_start);
	mbi = (const void *)(e->fm.buf + e->out.ebx);
	assert_int_equal(mbi->flags, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9));
	assert_int_equal(mbi->mem_lower, 639);
	assert_int_equal(mbi->mem_upper, 15 * 1024);
	assert_string_equal((const char *)e->fm.buf + mbi->cmdline, "console=ttyS0 quiet");
	assert_string_equal((const char *)e->fm.buf + mbi->boot_loader_name, "test loader");
	/* modules: page-aligned, right after the image, in order */
	assert_int_equal(mbi->mods_count, 2);
	m = e->fm.buf + mbi->mods_addr;
	s0 = get32(m), s1 = get32(m + 16);
	assert_int_equal(s0, 0x105000);
	assert_int_equal(get32(m + 4), s0 + sizeof(d0));
	assert_int_equal(s1, 0x106000);
	assert_int_equal(get32(m + 20), s1 + sizeof(d1));
	assert_int_equal(get32(m + 12), 0);
	assert_memory_equal(e->fm.buf + s0, d0, sizeof(d0));
	assert_memory_equal(e->fm.buf + s1, d1, sizeof(d1));
	assert_string_equal((const char *)e->fm.buf + get32(m + 8), mods[0].cmdline);
	assert_string_equal((const char *)e->fm.buf + get32(m + 24), "second");
	assert_int_equal(e->out.info_start, 0x108000);	/* page after module 1 */
	/* memory map: mmap_addr points at the first entry's size field */
	assert_int_equal(mbi->mmap_length, 4 * 24);
	mm = e->fm.buf + mbi->mmap_addr;
	for (int i = 0; i < 4; i++, mm += 24) {
		assert_int_equal(get32(mm), 20);
		assert_int_equal(get64(mm + 4), e->mmap[i].base);
		assert_int_equal(get64(mm + 12), e->mmap[i].len);
		assert_int_equal(get32(mm + 20), e->mmap[i].type);
	}
	/* everything inside the reported info range */
	assert_true(mbi->boot_loader_name < e->out.info_end);
	assert_int_equal(e->fm.buf[e->out.info_end], FILL);
	assert_int_equal(e->fm.buf[e->out.info_end - 1], 0);
	env_free(e);
}

static void test_mbi_defaults(void **state)
{
	struct env *e = env_ram(8 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);
	const struct mb1_info *mbi;

	(void)state;
	e->p.cmdline = NULL;
	e->p.loader_name = NULL;
	e->mmap[0].len = 0x100000;	/* claims more than 640 KiB low: capped */
	assert_int_equal(env_load(e, len), 0);
	mbi = (const void *)(e->fm.buf + e->out.ebx);
	assert_true(mbi->flags & (1 << 2));
	assert_true(mbi->flags & (1 << 3));
	assert_false(mbi->flags & (1 << 1));		/* no boot device */
	assert_string_equal((const char *)e->fm.buf + mbi->cmdline, "");
	assert_string_equal((const char *)e->fm.buf + mbi->boot_loader_name, "vmkernel");
	assert_int_equal(mbi->mods_count, 0);
	assert_int_equal(mbi->mem_lower, 640);
	assert_int_equal(e->out.ebx, 0x105000);	/* page after the image */
	env_free(e);
}

static void test_video_flag_accepted(void **state)
{
	struct env *e = env_ram(8 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);
	const struct mb1_info *mbi;

	(void)state;
	put_mb(e->img, MB_OFF, MB1_HF_VIDEO | MB1_HF_MEMINFO | (1U << 20), NULL);
	assert_int_equal(env_load(e, len), 0);
	mbi = (const void *)(e->fm.buf + e->out.ebx);
	assert_int_equal(mbi->flags & ((1 << 11) | (1 << 12)), 0);
	assert_int_equal(mbi->framebuffer_addr, 0);
	assert_int_equal(mbi->vbe_mode, 0);
	env_free(e);
}

/* ---- multiboot header rejections ---- */

static void test_header_search_limit(void **state)
{
	static const struct seg_spec s[] = { { 1, 0x3000, 0x100000, 0x100000, 0x40, 0x40 } };
	struct env *e = env_ram(4 * MIB);
	size_t len = build_elf(e->img, false, 0x100000, s, 1);

	(void)state;
	memset(e->img + MB_OFF, 0, 12);
	put_mb(e->img, 8180, 0x3, NULL);		/* last 12 bytes of the 8 KiB */
	assert_int_equal(env_load(e, len), 0);
	memset(e->img + 8180, 0, 12);
	put_mb(e->img, 8192, 0x3, NULL);
	expect_fail(e, len, -EINVAL, "no multiboot header (magic 0x1BADB002");
	put_mb(e->img, 0x102, 0x3, NULL);		/* not 32-bit aligned */
	expect_fail(e, len, -EINVAL, "no multiboot header");
	env_free(e);
}

static void test_header_bad_checksum(void **state)
{
	struct env *e = env_ram(4 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);

	(void)state;
	put32(e->img, MB_OFF + 8, 0x12345678);
	expect_fail(e, len, -EINVAL, "multiboot header at offset 0xf00: bad checksum");
	/* A later good header wins over a stray magic with a bad sum. */
	put_mb(e->img, 0xf40, 0x3, NULL);
	assert_int_equal(env_load(e, len), 0);
	env_free(e);
}

static void test_header_unsupported_flag(void **state)
{
	struct env *e = env_ram(4 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);

	(void)state;
	put_mb(e->img, MB_OFF, 0x3 | (1U << 3), NULL);
	expect_fail(e, len, -ENOTSUP,
		    "multiboot header at offset 0xf00: requires feature bit 3 which this loader "
		    "does not support");
	put_mb(e->img, MB_OFF, 1U << 15, NULL);
	expect_fail(e, len, -ENOTSUP, "requires feature bit 15");
	assert_int_equal(e->fm.calls, 0);
	env_free(e);
}

/* ---- a.out kludge rejections ---- */

static void aout_expect(uint32_t header, uint32_t load, uint32_t load_end, uint32_t bss_end,
			uint32_t entry, int rc, const char *msg)
{
	struct env *e = env_ram(4 * MIB);
	uint32_t a[5] = { header, load, load_end, bss_end, entry };

	memset(e->img, 0x90, 0x100);
	put_mb(e->img, 0x40, MB1_HF_ADDRS, a);
	expect_fail(e, 0x100, rc, msg);
	assert_int_equal(e->fm.calls, 0);
	env_free(e);
}

static void test_aout_rejects(void **state)
{
	(void)state;
	aout_expect(0x100040, 0x100050, 0, 0, 0x100050, -EINVAL,
		    "offset 0x40: load_addr 0x100050 is above header_addr 0x100040");
	aout_expect(0x100080, 0x100000, 0, 0, 0x100080, -EINVAL,
		    "header_addr - load_addr = 0x80 reaches before the start of the file");
	aout_expect(0x100040, 0x100000, 0xff000, 0, 0x100000, -EINVAL,
		    "load_end_addr 0xff000 is below load_addr 0x100000");
	aout_expect(0x100040, 0x100000, 0x100101, 0, 0x100000, -EINVAL,
		    "needs file bytes [0x0, 0x101) but the image is 256 bytes");
	aout_expect(0x100040, 0x100000, 0x100080, 0x100070, 0x100000, -EINVAL,
		    "bss_end_addr 0x100070 is below the end of the loaded data 0x100080");
	aout_expect(0x100040, 0x100000, 0x100080, 0x102000, 0x102000, -EINVAL,
		    "entry_addr 0x102000 is outside the loaded image [0x100000, 0x102000)");
	aout_expect(0x100040, 0x100000, 0x100000, 0, 0x100000, -EINVAL, "load nothing");
	aout_expect(0x40, 0x0, 0, 0, 0x10, -EINVAL, "touches the first page");
	aout_expect(0x100040, 0x100000, 0, 0x500000, 0x100000, -ENOMEM,
		    "multiboot address fields: image [0x100000, 0x500000) ends beyond guest RAM "
		    "(4 MiB)");
	/* bss_end near 4 GiB: no wrap, just out of range */
	aout_expect(0x100040, 0x100000, 0, 0xffffffff, 0x100000, -ENOMEM,
		    "[0x100000, 0xffffffff) ends beyond");
}

static void test_aout_header_truncated(void **state)
{
	struct env *e = env_ram(4 * MIB);

	(void)state;
	put_mb(e->img, 0x10, MB1_HF_ADDRS, NULL);
	expect_fail(e, 0x20, -EINVAL, "address fields (flag 16) run past the first 32 bytes");
	env_free(e);
}

/* ---- ELF rejections ---- */

static void test_elf_header_rejects(void **state)
{
	struct env *e = env_ram(4 * MIB);
	size_t len;

	(void)state;
	len = build_elf(e->img, false, 0x100010, two_segs, 2);
	e->img[0] = 'X';
	expect_fail(e, len, -EINVAL, "image is not ELF and its multiboot header (offset 0xf00)");

	len = build_elf(e->img, false, 0x100010, two_segs, 2);
	e->img[4] = 3;
	expect_fail(e, len, -EINVAL, "ELF header: unknown class 3");

	len = build_elf(e->img, false, 0x100010, two_segs, 2);
	e->img[5] = 2;
	expect_fail(e, len, -ENOTSUP, "ELF header: not little-endian");

	len = build_elf(e->img, true, 0x100010, two_segs, 2);
	put16(e->img, 16, 3);
	expect_fail(e, len, -ENOTSUP, "ELF header: e_type 3 is not ET_EXEC");

	len = build_elf(e->img, false, 0x100010, two_segs, 2);
	put16(e->img, 18, 62);
	expect_fail(e, len, -ENOTSUP, "ELF32 with e_machine 62, expected 3 (EM_386)");

	len = build_elf(e->img, true, 0x100010, two_segs, 2);
	put16(e->img, 18, 3);
	expect_fail(e, len, -ENOTSUP, "ELF64 with e_machine 3, expected 62 (EM_X86_64)");

	len = build_elf(e->img, true, 0x100010, two_segs, 2);
	put16(e->img, 54, 32);
	expect_fail(e, len, -EINVAL, "ELF header: e_phentsize 32, expected 56 for ELF64");
	assert_int_equal(e->fm.calls, 0);
	env_free(e);
}

static void test_elf_truncated_header(void **state)
{
	struct env *e = env_ram(4 * MIB);

	(void)state;
	build_elf(e->img, false, 0x100010, two_segs, 2);
	put_mb(e->img, 16, 0x3, NULL);			/* header inside a 28-byte file */
	expect_fail(e, 28, -EINVAL, "ELF header: truncated (image is 28 bytes, the ELF32 header "
		    "needs 52)");
	build_elf(e->img, true, 0x100010, two_segs, 2);
	put_mb(e->img, 48, 0x3, NULL);
	expect_fail(e, 60, -EINVAL, "the ELF64 header needs 64");
	env_free(e);
}

static void test_elf_phdr_table_rejects(void **state)
{
	static struct seg_spec many[65];
	struct env *e = env_ram(4 * MIB);
	size_t len;

	(void)state;
	for (int i = 0; i < 65; i++)
		many[i] = (struct seg_spec){ 4, 0, 0, 0, 0, 0 };
	len = build_elf(e->img, true, 0x100010, many, 65);
	expect_fail(e, len, -EINVAL, "ELF header: 65 program headers, at most 64 supported");

	len = build_elf(e->img, false, 0x100010, two_segs, 2);
	put32(e->img, 28, (uint32_t)len - 40);		/* table of 2 x 32 runs off the end */
	expect_fail(e, len, -EINVAL, "program headers at e_phoff");
	expect_fail(e, len, -EINVAL, "extend beyond the");

	len = build_elf(e->img, true, 0x100010, two_segs, 2);
	put64(e->img, 32, UINT64_MAX - 8);		/* phoff + size would wrap */
	expect_fail(e, len, -EINVAL, "e_phoff 0xfffffffffffffff7 (2 x 56 bytes) extend beyond");

	len = build_elf(e->img, false, 0x100010, NULL, 0);
	expect_fail(e, len, -EINVAL, "ELF: no loadable (PT_LOAD) segment among 0 program headers");
	env_free(e);
}

static void elf_seg_expect(bool is64, uint64_t ram, const struct seg_spec *s, unsigned n,
			   uint64_t entry, int rc, const char *msg)
{
	struct env *e = env_new(ram, 16 * MIB);
	size_t len = build_elf(e->img, is64, entry, s, n);

	expect_fail(e, len, rc, msg);
	assert_int_equal(e->fm.calls, 0);		/* nothing written on failure */
	env_free(e);
}

static void test_elf_segment_rejects(void **state)
{
	struct seg_spec s[2] = { two_segs[0], two_segs[1] };

	(void)state;
	s[1].filesz = 0x3000, s[1].memsz = 0x2000;
	elf_seg_expect(false, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "ELF program header 1: p_filesz 0x3000 exceeds p_memsz 0x2000");
	s[1] = two_segs[1], s[1].off = 0x5f00, s[1].filesz = 0x200;
	elf_seg_expect(false, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "ELF program header 1: p_offset 0x5f00 + p_filesz 0x200 extends beyond the");
	s[1] = two_segs[1], s[1].off = UINT64_MAX - 0x10;
	elf_seg_expect(true, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "ELF program header 1: p_offset 0xffffffffffffffef");
	s[1] = two_segs[1], s[1].paddr = 0xfffffffffffff000ULL, s[1].filesz = 0;
	elf_seg_expect(true, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "p_paddr 0xfffffffffffff000 + p_memsz 0x2345 wraps around");
	s[1] = two_segs[1], s[1].paddr = 0xfffff000, s[1].filesz = 0;
	elf_seg_expect(false, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "segment [0xfffff000, 0x100001345) extends past 4 GiB");
	s[1] = two_segs[1], s[1].paddr = 0x800;
	elf_seg_expect(false, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "ELF program header 1: segment [0x800, 0x2b45) touches the first page");
	s[1] = two_segs[1], s[1].paddr = 0x9f000;
	elf_seg_expect(false, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "segment [0x9f000, 0xa1345) overlaps the VGA/ROM hole");
	s[1] = two_segs[1], s[1].paddr = 0xff000;
	elf_seg_expect(true, 16 * MIB, s, 2, 0x100000, -EINVAL, "VGA/ROM hole");
	s[1] = two_segs[1], s[1].paddr = 0x100000000ULL;
	elf_seg_expect(true, 8192 * MIB, s, 2, 0x100000, -EINVAL, "extends past 4 GiB");
}

static void test_elf_beyond_ram_message(void **state)
{
	struct seg_spec s[2] = { two_segs[0], two_segs[1] };

	(void)state;
	s[1].paddr = 0x200000, s[1].memsz = 0x4e00000;
	elf_seg_expect(false, 16 * MIB, s, 2, 0x100000, -ENOMEM,
		       "ELF program header 1: segment [0x200000, 0x5000000) ends beyond guest RAM "
		       "(16 MiB)");
}

static void test_elf_overlap_and_entry(void **state)
{
	struct seg_spec s[2] = { two_segs[0], two_segs[1] };

	(void)state;
	s[1].paddr = 0x100fff;
	elf_seg_expect(true, 16 * MIB, s, 2, 0x100000, -EINVAL,
		       "ELF program headers 0 and 1: segments [0x100000, 0x101000) and "
		       "[0x100fff, 0x103344) overlap");
	elf_seg_expect(false, 16 * MIB, two_segs, 2, 0x101000, -EINVAL,
		       "ELF entry point 0x101000 is not inside any loaded segment");
	elf_seg_expect(true, 16 * MIB, two_segs, 2, 0xffffffff80100000ULL, -EINVAL,
		       "ELF entry point 0xffffffff80100000 is not inside any loaded segment");
	s[0] = (struct seg_spec){ 4, 0x1000, 0x100000, 0x100000, 0x10, 0x10 };
	elf_seg_expect(false, 16 * MIB, s, 1, 0x100000, -EINVAL,
		       "ELF: no loadable (PT_LOAD) segment among 1 program headers");
}

/* ---- layout and I/O failures ---- */

static void test_no_ram_for_info(void **state)
{
	static const struct seg_spec s[] = { { 1, 0x1000, 0x100000, 0x100000, 0x1000, 0x1000 } };
	static const uint8_t data[0x2000];
	struct mb1_module_in m = { "m", data, sizeof(data) };
	struct env *e = env_ram(0x103000);
	size_t len = build_elf(e->img, false, 0x100000, s, 1);

	(void)state;
	e->p.modules = &m;
	e->p.nmodules = 1;
	/* image to 0x101000, module to 0x103000, info page at 0x103000: one page short */
	expect_fail(e, len, -ENOMEM, "guest RAM too small: image+modules+info need 1037 KiB, "
		    "memsize is 1036 KiB");
	assert_int_equal(e->fm.calls, 0);
	/* a module size chosen to overflow 64-bit address arithmetic */
	m.len = SIZE_MAX - 0x10;
	expect_fail(e, len, -ENOMEM, "guest RAM too small");
	env_free(e);
}

static void test_info_above_4g(void **state)
{
	static const uint8_t data[16];
	struct mb1_module_in m = { "m", data, (size_t)4 << 30 };
	struct env *e = env_new(8192 * MIB, 8 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);

	(void)state;
	e->p.modules = &m;
	e->p.nmodules = 1;
	expect_fail(e, len, -ENOMEM, "above the 4 GiB a 32-bit guest can address");
	assert_int_equal(e->fm.calls, 0);
	env_free(e);
}

static void test_write_failure_propagates(void **state)
{
	struct mb1_module_in m = { "mod", "abc", 3 };
	struct env *e = env_ram(8 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);
	unsigned total;

	(void)state;
	e->p.modules = &m;
	e->p.nmodules = 1;
	assert_int_equal(env_load(e, len), 0);
	total = e->fm.calls;
	assert_true(total > 4);

	for (unsigned k = 1; k <= total; k++) {
		e->fm.calls = 0;
		e->fm.fail_call = k;
		e->fm.fail_rc = k == 1 ? -EIO : -EFAULT;
		expect_fail(e, len, e->fm.fail_rc, k == 1 ? "writing ELF program header 0 to "
			    "guest [0x100000, 0x101000) failed (error -5)" : "failed (error -14)");
		assert_int_equal(e->fm.calls, k);	/* stopped at the failure */
	}
	env_free(e);
}

static void test_bad_params(void **state)
{
	struct env *e = env_ram(4 * MIB);
	size_t len = build_elf(e->img, false, 0x100010, two_segs, 2);
	struct mb1_module_in m = { "x", NULL, 5 };

	(void)state;
	e->p.nmodules = 2;
	expect_fail(e, len, -EINVAL, "2 modules but no module array");
	e->p.modules = &m;
	e->p.nmodules = 1;
	expect_fail(e, len, -EINVAL, "module 0 has 5 bytes but no data");
	e->p.nmodules = 0;
	e->p.mmap = NULL;
	expect_fail(e, len, -EINVAL, "4 memory map entries but no array");
	assert_int_equal(mb1_load(e->img, len, &e->p, &e->gm, NULL), -EINVAL);
	env_free(e);
}

/* Every prefix of a valid image must fail cleanly (ASan catches any overread). */
static void test_truncation_sweep(void **state)
{
	struct env *e = env_ram(4 * MIB);
	size_t len = build_elf(e->img, true, 0x100010, two_segs, 2);

	(void)state;
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, e->img, n);
		assert_int_not_equal(mb1_load(copy, n, &e->p, &e->gm, &e->out), 0);
		assert_true(e->out.err[0] != '\0');
		free(copy);
	}
	env_free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_elf32_load_bss),
		cmocka_unit_test(test_elf64_load_bss),
		cmocka_unit_test(test_elf64_higher_half_entry),
		cmocka_unit_test(test_elf_skips_non_load_and_empty),
		cmocka_unit_test(test_aout_kludge_bss),
		cmocka_unit_test(test_aout_whole_file_no_bss),
		cmocka_unit_test(test_aout_low_module_skips_hole),
		cmocka_unit_test(test_modules_and_mbi),
		cmocka_unit_test(test_mbi_defaults),
		cmocka_unit_test(test_video_flag_accepted),
		cmocka_unit_test(test_header_search_limit),
		cmocka_unit_test(test_header_bad_checksum),
		cmocka_unit_test(test_header_unsupported_flag),
		cmocka_unit_test(test_aout_rejects),
		cmocka_unit_test(test_aout_header_truncated),
		cmocka_unit_test(test_elf_header_rejects),
		cmocka_unit_test(test_elf_truncated_header),
		cmocka_unit_test(test_elf_phdr_table_rejects),
		cmocka_unit_test(test_elf_segment_rejects),
		cmocka_unit_test(test_elf_beyond_ram_message),
		cmocka_unit_test(test_elf_overlap_and_entry),
		cmocka_unit_test(test_no_ram_for_info),
		cmocka_unit_test(test_info_above_4g),
		cmocka_unit_test(test_write_failure_propagates),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_truncation_sweep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
