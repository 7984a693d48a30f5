/*
 * Multiboot v1 guest loader (Multiboot specification 0.6.96).
 *
 * A guest kernel file is untrusted input: every number in it is checked
 * before it is used, in 64-bit arithmetic with explicit overflow tests, and
 * nothing is written to the guest until the whole image has been validated.
 * Guest memory is reached only through the VMM's write/zero callbacks.
 *
 * Finding the kernel. The multiboot header is a 32-bit-aligned record whose
 * first three words (magic, flags, checksum) lie in the first 8192 bytes and
 * sum to zero mod 2^32. A magic word with a bad checksum may be a stray
 * constant, so the scan goes on; it is reported only if nothing better turns
 * up. Flag bits 0-15 are requirements: 0 (page-aligned modules) and 1 (memory
 * information) are always satisfied, 2 (video mode) is a request we decline
 * (the guest has no framebuffer and the MBI says so by leaving bits 11/12
 * clear); any other one fails the load, as the spec demands.
 *
 * Loading it. With flag 16 the header's address fields say where the bytes
 * go (the "a.out kludge"): the file offset of load_addr is the header's own
 * offset minus (header_addr - load_addr). Otherwise the file must be an
 * executable ELF32/i386 or ELF64/x86-64 whose PT_LOAD segments go to their
 * physical addresses (p_paddr). The guest starts in 32-bit mode with paging
 * off, so the entry point must be a physical address below 4 GiB inside a
 * loaded segment; an ELF entry given as a (higher-half) virtual address is
 * translated through the segment whose virtual range holds it. Everything
 * loaded must avoid the first page (real-mode IVT/BDA), the VGA/ROM hole
 * [0xa0000, 0x100000) and the end of guest RAM, and segments must not overlap.
 *
 * Guest RAM layout after loading:
 *
 *	image | modules, each page-aligned | MBI, mmap, module list, strings
 *
 * Every object is placed at the next page boundary after the previous one,
 * skipping to 1 MiB if it would reach the reserved area at 0x9fc00. The
 * layout is computed once to check that it fits below ram_size and 4 GiB,
 * then recomputed identically while writing, so no table of positions is
 * kept (there is no allocator here and the module count is unbounded).
 * The boot-information block is written contiguously with no gaps: a
 * 116-byte MBI, nmmap 24-byte mmap entries, nmodules 16-byte module entries,
 * then the NUL-terminated strings (command line, module command lines,
 * boot loader name).
 *
 * The ELF structures are read with memcpy (images need not be aligned) and
 * assume a little-endian host, which every x86 host is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <vmm/mb1_loader.h>

#define PAGE_4K			0x1000ULL
#define LOW_FORBIDDEN_END	0x1000ULL	/* first page: IVT, BDA */
#define HOLE_START		0xa0000ULL	/* VGA/ROM hole, no RAM */
#define HOLE_END		0x100000ULL
#define EBDA_START		0x9fc00ULL	/* reserved up to the hole */
#define LIMIT_4G		(1ULL << 32)
#define LOWER_MEM_KIB		640ULL
#define MAX_PHDRS		64
#define HEADER_MIN		12		/* magic, flags, checksum */
#define SUPPORTED_REQ_FLAGS	(MB1_HF_PAGE_ALIGN | MB1_HF_MEMINFO | MB1_HF_VIDEO)
#define DEFAULT_LOADER_NAME	"vmkernel"

/* ELF (System V ABI, gABI 4.1) */
#define EI_CLASS	4
#define EI_DATA		5
#define ELFCLASS32	1
#define ELFCLASS64	2
#define ELFDATA2LSB	1
#define ET_EXEC		2
#define EM_386		3
#define EM_X86_64	62
#define PT_LOAD		1

struct elf32_ehdr {
	uint8_t e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint32_t e_entry;
	uint32_t e_phoff;
	uint32_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
} __attribute__((packed));
_Static_assert(sizeof(struct elf32_ehdr) == 52, "ELF32 header is 52 bytes");

struct elf64_ehdr {
	uint8_t e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
} __attribute__((packed));
_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header is 64 bytes");

struct elf32_phdr {
	uint32_t p_type;
	uint32_t p_offset;
	uint32_t p_vaddr;
	uint32_t p_paddr;
	uint32_t p_filesz;
	uint32_t p_memsz;
	uint32_t p_flags;
	uint32_t p_align;
} __attribute__((packed));
_Static_assert(sizeof(struct elf32_phdr) == 32, "ELF32 program header is 32 bytes");

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
} __attribute__((packed));
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header is 56 bytes");

/* An ELF header or program header with the class difference removed. */
struct elf_hdr {
	bool is64;
	uint64_t entry;
	uint64_t phoff;
	unsigned phnum;
};

struct seg {
	uint32_t type;
	uint64_t offset, vaddr, paddr, filesz, memsz;
};

/* Everything one load needs, passed around instead of six arguments. */
struct ld {
	const uint8_t *img;
	size_t len;
	const struct mb1_guest_mem *gm;
	const struct mb1_load_params *p;
	struct mb1_load_result *out;
	struct mb1_header mb;		/* the multiboot header found */
	size_t mb_off;			/* and its file offset */
	struct elf_hdr eh;		/* ELF images */
	uint64_t aout_fstart;		/* flag-16 images: file bytes to copy */
	uint64_t aout_fsize;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct ld *ld, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ld->out->err, sizeof(ld->out->err), fmt, ap);
	va_end(ap);
	return err;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Saturating, like sat_add: an overflowed layout must stay "too big", never wrap to 0. */
static uint64_t align_up(uint64_t v)
{
	return v > UINT64_MAX - (PAGE_4K - 1) ? UINT64_MAX : (v + PAGE_4K - 1) & ~(PAGE_4K - 1);
}

/* a + b, saturating: every caller compares the result against a bound <= 4 GiB. */
static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a + b < a ? UINT64_MAX : a + b;
}

static unsigned long long kib_round_up(uint64_t bytes)
{
	return (bytes >> 10) + ((bytes & 1023) != 0);
}

/* "16 MiB" when exact, else KiB (rounded up). */
static const char *fmt_size(char *buf, size_t n, uint64_t bytes)
{
	if (bytes % (1024 * 1024) == 0)
		snprintf(buf, n, "%llu MiB", (unsigned long long)(bytes >> 20));
	else
		snprintf(buf, n, "%llu KiB", kib_round_up(bytes));
	return buf;
}

/* Checks that [start, end) is guest RAM a kernel may be loaded into. */
static int check_range(struct ld *ld, const char *what, uint64_t start, uint64_t end)
{
	unsigned long long s = start, e = end;
	char sz[32];

	if (start < LOW_FORBIDDEN_END)
		return fail(ld, -EINVAL, "%s [0x%llx, 0x%llx) touches the first page [0, 0x1000)",
			    what, s, e);
	if (start < HOLE_END && end > HOLE_START)
		return fail(ld, -EINVAL,
			    "%s [0x%llx, 0x%llx) overlaps the VGA/ROM hole [0xa0000, 0x100000)",
			    what, s, e);
	if (end > LIMIT_4G)
		return fail(ld, -EINVAL,
			    "%s [0x%llx, 0x%llx) extends past 4 GiB (guest starts in 32-bit mode)",
			    what, s, e);
	if (end > ld->gm->ram_size)
		return fail(ld, -ENOMEM, "%s [0x%llx, 0x%llx) ends beyond guest RAM (%s)", what, s,
			    e, fmt_size(sz, sizeof(sz), ld->gm->ram_size));
	return 0;
}

static int gwrite(struct ld *ld, const char *what, uint64_t gpa, const void *src, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = ld->gm->write(ld->gm->ctx, gpa, src, n);
	if (rc == 0)
		return 0;
	if (rc > 0)
		rc = -EIO;
	return fail(ld, rc, "writing %s to guest [0x%llx, 0x%llx) failed (error %d)", what,
		    (unsigned long long)gpa, (unsigned long long)(gpa + n), rc);
}

static int gzero(struct ld *ld, const char *what, uint64_t gpa, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = ld->gm->zero(ld->gm->ctx, gpa, n);
	if (rc == 0)
		return 0;
	if (rc > 0)
		rc = -EIO;
	return fail(ld, rc, "zeroing %s in guest [0x%llx, 0x%llx) failed (error %d)", what,
		    (unsigned long long)gpa, (unsigned long long)(gpa + n), rc);
}

/* ---- the multiboot header ---- */

/* Finds a header with a good checksum; *off is its file offset. */
static int find_header(struct ld *ld, size_t *off)
{
	size_t limit = ld->len < MB1_HEADER_SEARCH ? ld->len : MB1_HEADER_SEARCH;
	size_t bad_off = SIZE_MAX;
	uint32_t bad_sum = 0;

	for (size_t o = 0; o + HEADER_MIN <= limit; o += 4) {
		uint32_t sum;

		if (rd32(ld->img + o) != MB1_HEADER_MAGIC)
			continue;
		sum = MB1_HEADER_MAGIC + rd32(ld->img + o + 4) + rd32(ld->img + o + 8);
		if (sum == 0) {
			*off = o;
			return 0;
		}
		if (bad_off == SIZE_MAX) {
			bad_off = o;
			bad_sum = sum;
		}
	}
	if (bad_off != SIZE_MAX)
		return fail(ld, -EINVAL,
			    "multiboot header at offset 0x%zx: bad checksum (magic + flags + "
			    "checksum = 0x%x, must be 0)", bad_off, bad_sum);
	return fail(ld, -EINVAL,
		    "no multiboot header (magic 0x1BADB002, 32-bit aligned) in the first %zu "
		    "bytes of the %zu-byte image", limit, ld->len);
}

static int read_header(struct ld *ld)
{
	size_t limit = ld->len < MB1_HEADER_SEARCH ? ld->len : MB1_HEADER_SEARCH;
	struct mb1_header *h = &ld->mb;
	size_t off;
	uint32_t unsupported;
	int rc;

	rc = find_header(ld, &ld->mb_off);
	if (rc)
		return rc;
	off = ld->mb_off;
	memcpy(h, ld->img + off, HEADER_MIN);
	unsupported = h->flags & 0xffffU & ~SUPPORTED_REQ_FLAGS;
	if (unsupported)
		return fail(ld, -ENOTSUP,
			    "multiboot header at offset 0x%zx: requires feature bit %d which this "
			    "loader does not support", off, __builtin_ctz(unsupported));
	if (h->flags & MB1_HF_ADDRS) {
		if (off + sizeof(*h) > limit)
			return fail(ld, -EINVAL,
				    "multiboot header at offset 0x%zx: address fields (flag 16) "
				    "run past the first %zu bytes of the image", off, limit);
		memcpy(h, ld->img + off, sizeof(*h));
	}
	return 0;
}

/* ---- flag 16: load by the header's address fields ---- */

/* Works out the file bytes [*fstart, *fstart + *fsize) and memory end of the image. */
static int aout_layout(struct ld *ld, size_t off, const struct mb1_header *h,
		       uint64_t *fstart, uint64_t *fsize, uint64_t *mem_end)
{
	uint64_t delta;

	if (h->load_addr > h->header_addr)
		return fail(ld, -EINVAL, "multiboot header at offset 0x%zx: load_addr 0x%x is "
			    "above header_addr 0x%x", off, h->load_addr, h->header_addr);
	delta = h->header_addr - h->load_addr;
	if (delta > off)
		return fail(ld, -EINVAL, "multiboot header at offset 0x%zx: header_addr - "
			    "load_addr = 0x%llx reaches before the start of the file", off,
			    (unsigned long long)delta);
	*fstart = off - delta;
	if (h->load_end_addr == 0) {
		*fsize = ld->len - *fstart;
	} else {
		if (h->load_end_addr < h->load_addr)
			return fail(ld, -EINVAL, "multiboot header at offset 0x%zx: load_end_addr "
				    "0x%x is below load_addr 0x%x", off, h->load_end_addr,
				    h->load_addr);
		*fsize = h->load_end_addr - h->load_addr;
		if (*fsize > ld->len - *fstart)
			return fail(ld, -EINVAL, "multiboot header at offset 0x%zx: load_end_addr "
				    "0x%x needs file bytes [0x%llx, 0x%llx) but the image is %zu "
				    "bytes", off, h->load_end_addr, (unsigned long long)*fstart,
				    (unsigned long long)(*fstart + *fsize), ld->len);
	}
	*mem_end = (uint64_t)h->load_addr + *fsize;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < *mem_end)
			return fail(ld, -EINVAL, "multiboot header at offset 0x%zx: bss_end_addr "
				    "0x%x is below the end of the loaded data 0x%llx", off,
				    h->bss_end_addr, (unsigned long long)*mem_end);
		*mem_end = h->bss_end_addr;
	}
	if (*mem_end == h->load_addr)
		return fail(ld, -EINVAL, "multiboot header at offset 0x%zx: address fields load "
			    "nothing", off);
	return 0;
}

static int check_aout(struct ld *ld)
{
	const struct mb1_header *h = &ld->mb;
	uint64_t mem_end = 0;
	int rc;

	rc = aout_layout(ld, ld->mb_off, h, &ld->aout_fstart, &ld->aout_fsize, &mem_end);
	if (rc)
		return rc;
	rc = check_range(ld, "multiboot address fields: image", h->load_addr, mem_end);
	if (rc)
		return rc;
	if (h->entry_addr < h->load_addr || h->entry_addr >= mem_end)
		return fail(ld, -EINVAL, "multiboot header at offset 0x%zx: entry_addr 0x%x is "
			    "outside the loaded image [0x%x, 0x%llx)", ld->mb_off, h->entry_addr,
			    h->load_addr, (unsigned long long)mem_end);
	ld->out->entry = h->entry_addr;
	ld->out->image_start = h->load_addr;
	ld->out->image_end = mem_end;
	return 0;
}

static int write_aout(struct ld *ld)
{
	uint64_t start = ld->out->image_start, fsize = ld->aout_fsize;
	int rc;

	rc = gwrite(ld, "kernel image", start, ld->img + ld->aout_fstart, fsize);
	if (rc)
		return rc;
	return gzero(ld, "kernel bss", start + fsize, ld->out->image_end - start - fsize);
}

/* ---- ELF ---- */

static int elf_check_ident(struct ld *ld, size_t mb_off)
{
	const uint8_t *id = ld->img;

	if (ld->len < 16 || memcmp(id, "\x7f" "ELF", 4) != 0)
		return fail(ld, -EINVAL, "image is not ELF and its multiboot header (offset "
			    "0x%zx) lacks flag 16 (address fields)", mb_off);
	if (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64)
		return fail(ld, -EINVAL, "ELF header: unknown class %u (EI_CLASS)", id[EI_CLASS]);
	if (id[EI_DATA] != ELFDATA2LSB)
		return fail(ld, -ENOTSUP, "ELF header: not little-endian (EI_DATA %u)",
			    id[EI_DATA]);
	return 0;
}

static int elf_read_ehdr(struct ld *ld, struct elf_hdr *eh)
{
	unsigned type, machine, phentsize, want_machine, want_phentsize;
	struct elf32_ehdr e32;
	struct elf64_ehdr e64;
	size_t ehsize;

	eh->is64 = ld->img[EI_CLASS] == ELFCLASS64;
	ehsize = eh->is64 ? sizeof(e64) : sizeof(e32);
	if (ld->len < ehsize)
		return fail(ld, -EINVAL, "ELF header: truncated (image is %zu bytes, the ELF%d "
			    "header needs %zu)", ld->len, eh->is64 ? 64 : 32, ehsize);
	if (eh->is64) {
		memcpy(&e64, ld->img, sizeof(e64));
		type = e64.e_type, machine = e64.e_machine, phentsize = e64.e_phentsize;
		eh->entry = e64.e_entry, eh->phoff = e64.e_phoff, eh->phnum = e64.e_phnum;
		want_machine = EM_X86_64, want_phentsize = sizeof(struct elf64_phdr);
	} else {
		memcpy(&e32, ld->img, sizeof(e32));
		type = e32.e_type, machine = e32.e_machine, phentsize = e32.e_phentsize;
		eh->entry = e32.e_entry, eh->phoff = e32.e_phoff, eh->phnum = e32.e_phnum;
		want_machine = EM_386, want_phentsize = sizeof(struct elf32_phdr);
	}
	if (type != ET_EXEC)
		return fail(ld, -ENOTSUP, "ELF header: e_type %u is not ET_EXEC (2)", type);
	if (machine != want_machine)
		return fail(ld, -ENOTSUP, "ELF header: ELF%d with e_machine %u, expected %u (%s)",
			    eh->is64 ? 64 : 32, machine, want_machine,
			    eh->is64 ? "EM_X86_64" : "EM_386");
	if (phentsize != want_phentsize)
		return fail(ld, -EINVAL, "ELF header: e_phentsize %u, expected %u for ELF%d",
			    phentsize, want_phentsize, eh->is64 ? 64 : 32);
	return 0;
}

static int elf_check_phdr_table(struct ld *ld, const struct elf_hdr *eh)
{
	uint64_t size = (uint64_t)eh->phnum *
			(eh->is64 ? sizeof(struct elf64_phdr) : sizeof(struct elf32_phdr));

	if (eh->phnum > MAX_PHDRS)
		return fail(ld, -EINVAL, "ELF header: %u program headers, at most %d supported",
			    eh->phnum, MAX_PHDRS);
	if (eh->phoff > ld->len || size > ld->len - eh->phoff)
		return fail(ld, -EINVAL, "ELF header: program headers at e_phoff 0x%llx (%u x %u "
			    "bytes) extend beyond the %zu-byte image",
			    (unsigned long long)eh->phoff, eh->phnum,
			    eh->is64 ? 56 : 32, ld->len);
	return 0;
}

/* Reads program header i; the table was bounds-checked by elf_check_phdr_table. */
static void elf_read_phdr(struct ld *ld, const struct elf_hdr *eh, unsigned i, struct seg *s)
{
	struct elf32_phdr p32;
	struct elf64_phdr p64;

	if (eh->is64) {
		memcpy(&p64, ld->img + eh->phoff + (uint64_t)i * sizeof(p64), sizeof(p64));
		*s = (struct seg){ p64.p_type, p64.p_offset, p64.p_vaddr, p64.p_paddr,
				   p64.p_filesz, p64.p_memsz };
	} else {
		memcpy(&p32, ld->img + eh->phoff + (uint64_t)i * sizeof(p32), sizeof(p32));
		*s = (struct seg){ p32.p_type, p32.p_offset, p32.p_vaddr, p32.p_paddr,
				   p32.p_filesz, p32.p_memsz };
	}
}

/* Segments that occupy guest memory. */
static bool seg_loads(const struct seg *s)
{
	return s->type == PT_LOAD && s->memsz != 0;
}

static int elf_check_seg(struct ld *ld, unsigned i, const struct seg *s)
{
	char what[48];

	if (s->filesz > s->memsz)
		return fail(ld, -EINVAL, "ELF program header %u: p_filesz 0x%llx exceeds p_memsz "
			    "0x%llx", i, (unsigned long long)s->filesz,
			    (unsigned long long)s->memsz);
	if (s->offset > ld->len || s->filesz > ld->len - s->offset)
		return fail(ld, -EINVAL, "ELF program header %u: p_offset 0x%llx + p_filesz 0x%llx "
			    "extends beyond the %zu-byte image", i,
			    (unsigned long long)s->offset, (unsigned long long)s->filesz, ld->len);
	if (s->memsz == 0)
		return 0;			/* occupies nothing */
	if (s->paddr + s->memsz < s->paddr)
		return fail(ld, -EINVAL, "ELF program header %u: p_paddr 0x%llx + p_memsz 0x%llx "
			    "wraps around", i, (unsigned long long)s->paddr,
			    (unsigned long long)s->memsz);
	snprintf(what, sizeof(what), "ELF program header %u: segment", i);
	return check_range(ld, what, s->paddr, s->paddr + s->memsz);
}

/* Validates every PT_LOAD and that no two overlap; sets the image range. */
static int elf_check_segs(struct ld *ld, const struct elf_hdr *eh)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	struct seg a, b;
	int rc;

	for (unsigned i = 0; i < eh->phnum; i++) {
		elf_read_phdr(ld, eh, i, &a);
		if (a.type != PT_LOAD)
			continue;
		rc = elf_check_seg(ld, i, &a);
		if (rc)
			return rc;
		if (!seg_loads(&a))
			continue;
		for (unsigned j = 0; j < i; j++) {
			elf_read_phdr(ld, eh, j, &b);
			if (!seg_loads(&b) || a.paddr >= b.paddr + b.memsz ||
			    b.paddr >= a.paddr + a.memsz)
				continue;
			return fail(ld, -EINVAL, "ELF program headers %u and %u: segments [0x%llx, "
				    "0x%llx) and [0x%llx, 0x%llx) overlap", j, i,
				    (unsigned long long)b.paddr,
				    (unsigned long long)(b.paddr + b.memsz),
				    (unsigned long long)a.paddr,
				    (unsigned long long)(a.paddr + a.memsz));
		}
		lo = a.paddr < lo ? a.paddr : lo;
		hi = a.paddr + a.memsz > hi ? a.paddr + a.memsz : hi;
	}
	if (hi == 0)
		return fail(ld, -EINVAL, "ELF: no loadable (PT_LOAD) segment among %u program "
			    "headers", eh->phnum);
	ld->out->image_start = lo;
	ld->out->image_end = hi;
	return 0;
}

/*
 * The entry as a physical address: e_entry itself if a segment's physical
 * range holds it, else translated through the segment whose virtual range
 * holds it (a higher-half kernel's e_entry).
 */
static int elf_entry(struct ld *ld, const struct elf_hdr *eh)
{
	struct seg s;

	for (unsigned i = 0; i < eh->phnum; i++) {
		elf_read_phdr(ld, eh, i, &s);
		if (seg_loads(&s) && eh->entry >= s.paddr && eh->entry - s.paddr < s.memsz) {
			ld->out->entry = (uint32_t)eh->entry;
			return 0;
		}
	}
	for (unsigned i = 0; i < eh->phnum; i++) {
		elf_read_phdr(ld, eh, i, &s);
		if (seg_loads(&s) && eh->entry >= s.vaddr && eh->entry - s.vaddr < s.memsz) {
			ld->out->entry = (uint32_t)(eh->entry - s.vaddr + s.paddr);
			return 0;
		}
	}
	return fail(ld, -EINVAL, "ELF entry point 0x%llx is not inside any loaded segment",
		    (unsigned long long)eh->entry);
}

static int elf_load_segs(struct ld *ld, const struct elf_hdr *eh)
{
	char what[40];
	struct seg s;
	int rc;

	for (unsigned i = 0; i < eh->phnum; i++) {
		elf_read_phdr(ld, eh, i, &s);
		if (!seg_loads(&s))
			continue;
		snprintf(what, sizeof(what), "ELF program header %u", i);
		rc = gwrite(ld, what, s.paddr, ld->img + s.offset, s.filesz);
		if (rc)
			return rc;
		rc = gzero(ld, what, s.paddr + s.filesz, s.memsz - s.filesz);
		if (rc)
			return rc;
	}
	return 0;
}

static int check_elf(struct ld *ld)
{
	int rc;

	rc = elf_check_ident(ld, ld->mb_off);
	if (!rc)
		rc = elf_read_ehdr(ld, &ld->eh);
	if (!rc)
		rc = elf_check_phdr_table(ld, &ld->eh);
	if (!rc)
		rc = elf_check_segs(ld, &ld->eh);
	if (!rc)
		rc = elf_entry(ld, &ld->eh);
	ld->out->elf64 = ld->eh.is64;
	return rc;
}

/* ---- modules and boot information ---- */

/* Next page-aligned spot for size bytes at or after *cursor, clear of the low reserved area. */
static uint64_t place(uint64_t *cursor, uint64_t size)
{
	uint64_t at = align_up(*cursor);

	if (at < HOLE_END && sat_add(at, size) > EBDA_START)
		at = HOLE_END;
	*cursor = sat_add(at, size);
	return at;
}

static const char *str_or(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static uint64_t info_size(const struct mb1_load_params *p)
{
	uint64_t n = sizeof(struct mb1_info);

	n += (uint64_t)p->nmmap * sizeof(struct mb1_mmap_entry);
	n += (uint64_t)p->nmodules * sizeof(struct mb1_module);
	n += strlen(str_or(p->cmdline, "")) + 1;
	for (unsigned i = 0; i < p->nmodules; i++)
		n += strlen(str_or(p->modules[i].cmdline, "")) + 1;
	return n + strlen(str_or(p->loader_name, DEFAULT_LOADER_NAME)) + 1;
}

/* Lays out modules and info after the image; fails if they do not fit. */
static int layout_info(struct ld *ld, uint64_t *info_at, uint64_t *info_len)
{
	uint64_t cursor = ld->out->image_end;
	uint64_t limit = ld->gm->ram_size < LIMIT_4G ? ld->gm->ram_size : LIMIT_4G;

	for (unsigned i = 0; i < ld->p->nmodules; i++)
		place(&cursor, ld->p->modules[i].len);
	*info_len = info_size(ld->p);
	*info_at = place(&cursor, *info_len);
	if (cursor <= limit)
		return 0;
	if (cursor > LIMIT_4G && ld->gm->ram_size >= LIMIT_4G)
		return fail(ld, -ENOMEM, "image+modules+info end at 0x%llx, above the 4 GiB a "
			    "32-bit guest can address", (unsigned long long)cursor);
	return fail(ld, -ENOMEM, "guest RAM too small: image+modules+info need %llu KiB, "
		    "memsize is %llu KiB", kib_round_up(cursor), kib_round_up(ld->gm->ram_size));
}

/* KiB of the available region starting at base, 0 if there is none. */
static uint64_t avail_kib_at(const struct mb1_load_params *p, uint64_t base)
{
	for (unsigned i = 0; i < p->nmmap; i++)
		if (p->mmap[i].base == base && p->mmap[i].type == MB1_MMAP_AVAILABLE)
			return p->mmap[i].len >> 10;
	return 0;
}

static int write_str(struct ld *ld, uint64_t *gpa, const char *s)
{
	size_t n = strlen(s) + 1;
	int rc = gwrite(ld, "boot information string", *gpa, s, n);

	*gpa += n;
	return rc;
}

/* Writes each module and its list entry; *str advances past the module strings. */
static int write_modules(struct ld *ld, uint64_t mods_gpa, uint64_t *str)
{
	uint64_t cursor = ld->out->image_end;
	char what[32];
	int rc;

	for (unsigned i = 0; i < ld->p->nmodules; i++) {
		const struct mb1_module_in *m = &ld->p->modules[i];
		uint64_t at = place(&cursor, m->len);
		struct mb1_module e = {
			.mod_start = (uint32_t)at,
			.mod_end = (uint32_t)(at + m->len),
			.string = (uint32_t)*str,
		};

		snprintf(what, sizeof(what), "module %u", i);
		rc = gwrite(ld, what, at, m->data, m->len);
		if (!rc)
			rc = gwrite(ld, "module list", mods_gpa + i * sizeof(e), &e, sizeof(e));
		if (!rc)
			rc = write_str(ld, str, str_or(m->cmdline, ""));
		if (rc)
			return rc;
	}
	return 0;
}

static int write_mmap(struct ld *ld, uint64_t gpa)
{
	for (unsigned i = 0; i < ld->p->nmmap; i++) {
		struct mb1_mmap_entry e = {
			.size = sizeof(e) - sizeof(e.size),
			.base_addr = ld->p->mmap[i].base,
			.length = ld->p->mmap[i].len,
			.type = ld->p->mmap[i].type,
		};
		int rc = gwrite(ld, "memory map", gpa + i * sizeof(e), &e, sizeof(e));

		if (rc)
			return rc;
	}
	return 0;
}

static int write_info(struct ld *ld, uint64_t at)
{
	const struct mb1_load_params *p = ld->p;
	uint64_t mmap_gpa = at + sizeof(struct mb1_info);
	uint64_t mods_gpa = mmap_gpa + (uint64_t)p->nmmap * sizeof(struct mb1_mmap_entry);
	uint64_t str = mods_gpa + (uint64_t)p->nmodules * sizeof(struct mb1_module);
	uint64_t lower = avail_kib_at(p, 0), upper = avail_kib_at(p, HOLE_END);
	struct mb1_info mbi;
	int rc;

	memset(&mbi, 0, sizeof(mbi));
	mbi.flags = MB1_INFO_MEM | MB1_INFO_CMDLINE | MB1_INFO_MODS | MB1_INFO_MMAP |
		    MB1_INFO_LOADER_NAME;
	mbi.mem_lower = (uint32_t)(lower < LOWER_MEM_KIB ? lower : LOWER_MEM_KIB);
	mbi.mem_upper = upper > UINT32_MAX ? UINT32_MAX : (uint32_t)upper;
	mbi.mmap_addr = (uint32_t)mmap_gpa;
	mbi.mmap_length = (uint32_t)(mods_gpa - mmap_gpa);
	mbi.mods_count = p->nmodules;
	mbi.mods_addr = (uint32_t)mods_gpa;
	mbi.cmdline = (uint32_t)str;
	rc = write_str(ld, &str, str_or(p->cmdline, ""));
	if (!rc)
		rc = write_modules(ld, mods_gpa, &str);
	if (rc)
		return rc;
	mbi.boot_loader_name = (uint32_t)str;
	rc = write_str(ld, &str, str_or(p->loader_name, DEFAULT_LOADER_NAME));
	if (!rc)
		rc = write_mmap(ld, mmap_gpa);
	if (!rc)
		rc = gwrite(ld, "multiboot information", at, &mbi, sizeof(mbi));
	return rc;
}

static int check_params(struct ld *ld)
{
	const struct mb1_load_params *p = ld->p;

	if (!ld->img || !p || !ld->gm || !ld->gm->write || !ld->gm->zero)
		return fail(ld, -EINVAL, "mb1_load: missing image, parameters or guest memory");
	if (p->nmodules && !p->modules)
		return fail(ld, -EINVAL, "mb1_load: %u modules but no module array", p->nmodules);
	if (p->nmmap && !p->mmap)
		return fail(ld, -EINVAL, "mb1_load: %u memory map entries but no array", p->nmmap);
	for (unsigned i = 0; i < p->nmodules; i++)
		if (p->modules[i].len && !p->modules[i].data)
			return fail(ld, -EINVAL, "mb1_load: module %u has %zu bytes but no data", i,
				    p->modules[i].len);
	return 0;
}

int mb1_load(const void *image, size_t len, const struct mb1_load_params *p,
	     const struct mb1_guest_mem *gm, struct mb1_load_result *out)
{
	struct ld ld = { .img = image, .len = len, .gm = gm, .p = p, .out = out };
	uint64_t info_at = 0, info_len = 0;
	bool aout;
	int rc;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	rc = check_params(&ld);
	if (!rc)
		rc = read_header(&ld);
	if (rc)
		return rc;
	/* Validate and lay out everything before the first write. */
	aout = ld.mb.flags & MB1_HF_ADDRS;
	rc = aout ? check_aout(&ld) : check_elf(&ld);
	if (!rc)
		rc = layout_info(&ld, &info_at, &info_len);
	if (!rc)
		rc = aout ? write_aout(&ld) : elf_load_segs(&ld, &ld.eh);
	if (!rc)
		rc = write_info(&ld, info_at);
	if (rc)
		return rc;
	out->eax = MB1_BOOTLOADER_MAGIC;
	out->ebx = (uint32_t)info_at;
	out->info_start = info_at;
	out->info_end = info_at + info_len;
	return 0;
}
