/*
 * Linux boot protocol, the loader's side (see include/vmm/linux_boot.h).
 *
 * A bzImage is the real-mode setup code (setup_sects + 1 sectors of 512
 * bytes, the setup header at 0x1f1 among them) followed by the
 * protected-mode kernel. We use only the 64-bit entry point: the kernel
 * is copied to its preferred address (or, if relocatable, to the first
 * kernel_alignment-aligned place at or above it that fits), the zero page
 * carries a copy of the setup header completed with the command line,
 * initrd and E820 map, and the vCPU starts in 64-bit mode at load address
 * + 0x200 with RSI pointing at the zero page, on an identity map of the
 * first 4 GiB and a GDT with flat __BOOT_CS (0x10) and __BOOT_DS (0x18).
 *
 * An ELF vmlinux (the same kernel, already decompressed) skips the
 * decompressor: its PT_LOAD segments go to their physical addresses
 * (where the kernel is linked to run, 16 MiB on Debian's), and the vCPU
 * starts at the ELF entry, which is the kernel's own 64-bit startup code,
 * with the same zero page; the setup header there is made up by the
 * loader (the fields a boot loader owns and the ones the kernel reads).
 *
 * Every check failure says what is wrong in words a user can act on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmm/linux_boot.h>

static uint16_t rd16(const uint8_t *p, size_t off)
{
	return (uint16_t)(p[off] | p[off + 1] << 8);
}

static uint32_t rd32(const uint8_t *p, size_t off)
{
	return rd16(p, off) | (uint32_t)rd16(p, off + 2) << 16;
}

static uint64_t rd64(const uint8_t *p, size_t off)
{
	return rd32(p, off) | (uint64_t)rd32(p, off + 4) << 32;
}

static void wr16(uint8_t *p, size_t off, uint16_t v)
{
	p[off] = (uint8_t)v;
	p[off + 1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, size_t off, uint32_t v)
{
	wr16(p, off, (uint16_t)v);
	wr16(p, off + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, size_t off, uint64_t v)
{
	wr32(p, off, (uint32_t)v);
	wr32(p, off + 4, (uint32_t)(v >> 32));
}

static int bad(char *why, size_t len, const char *msg, unsigned long long a, unsigned long long b)
{
	snprintf(why, len, msg, a, b);
	return -EINVAL;
}

int linux_is_elf(const uint8_t *img, size_t len)
{
	return len >= 64 && !memcmp(img, "\177ELF", 4);
}

/* ELF64 x86-64 executable: its PT_LOAD segments and entry (ELF spec; x86-64 psABI). */
static int vmlinux_parse(const uint8_t *img, size_t len, struct bzimage_info *k, char *why,
			 size_t whylen)
{
	uint64_t phoff = rd64(img, 0x20);
	unsigned phentsize = rd16(img, 0x36), phnum = rd16(img, 0x38);

	k->format = LINUX_VMLINUX;
	if (img[4] != 2 || img[5] != 1 || rd16(img, 0x12) != 62 || rd16(img, 0x10) != 2)
		return bad(why, whylen, "an ELF file, but not a 64-bit x86 executable (class %llu, "
			   "machine %llu)", img[4], rd16(img, 0x12));
	if (phentsize < 56 || phoff > len || (uint64_t)phnum * phentsize > len - phoff)
		return bad(why, whylen, "ELF program headers run past the end of the file (%llu "
			   "bytes)", (unsigned long long)len, 0);
	k->load_start = ~0ULL;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
		struct linux_elf_seg sg = { rd64(ph, 0x18), rd64(ph, 0x08), rd64(ph, 0x20),
					    rd64(ph, 0x28) };

		if (rd32(ph, 0) != 1 || !sg.memsz)
			continue;	/* not PT_LOAD */
		if (k->nseg == LINUX_ELF_MAX_SEGS)
			return bad(why, whylen, "more than %llu loadable ELF segments",
				   LINUX_ELF_MAX_SEGS, 0);
		if (sg.filesz > sg.memsz || sg.offset > len || sg.filesz > len - sg.offset ||
		    sg.paddr + sg.memsz < sg.paddr)
			return bad(why, whylen, "ELF segment %llu lies outside the file or wraps "
				   "(offset %#llx)", i, sg.offset);
		k->seg[k->nseg++] = sg;
		if (sg.paddr < k->load_start)
			k->load_start = sg.paddr;
		if (sg.paddr + sg.memsz > k->load_end)
			k->load_end = sg.paddr + sg.memsz;
	}
	if (!k->nseg)
		return bad(why, whylen, "an ELF file without loadable segments", 0, 0);
	k->elf_entry = rd64(img, 0x18);
	if (k->elf_entry < k->load_start || k->elf_entry >= k->load_end)
		return bad(why, whylen, "ELF entry %#llx is outside the loaded kernel (a virtual "
			   "address? Linux's vmlinux enters at a physical one)", k->elf_entry, 0);
	k->version = 0x020f;
	k->init_size = (uint32_t)(k->load_end - k->load_start);
	k->pref_address = k->load_start;
	k->kernel_alignment = 0x200000;
	k->cmdline_size = 2047;
	k->initrd_addr_max = 0x7fffffff;
	return 0;
}

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *k, char *why,
		  size_t whylen)
{
	unsigned sects;

	memset(k, 0, sizeof(*k));
	if (linux_is_elf(img, len))
		return vmlinux_parse(img, len, k, why, whylen);
	if (len < 0x270 || memcmp(img + BZ_HEADER, "HdrS", 4))
		return bad(why, whylen, "not a Linux bzImage (no \"HdrS\" setup header; %llu bytes)",
			   (unsigned long long)len, 0);
	if (rd16(img, BZ_BOOT_FLAG) != 0xaa55)
		return bad(why, whylen, "bzImage boot flag is %#llx, not 0xaa55",
			   rd16(img, BZ_BOOT_FLAG), 0);
	k->version = rd16(img, BZ_VERSION);
	if (k->version < BZ_MIN_VERSION)
		return bad(why, whylen, "boot protocol %llu.%02llu is too old (2.12 or later: a "
			   "kernel from 2013 on)", k->version >> 8, k->version & 0xff);
	sects = img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4;
	k->setup_size = (sects + 1) * 512;
	k->header_end = 0x202 + img[0x201];
	if (k->header_end > 0x270)
		k->header_end = 0x270;	/* never copy more than the fields we know */
	if (k->setup_size >= len)
		return bad(why, whylen, "bzImage of %llu bytes is shorter than its %llu bytes of "
			   "setup code", (unsigned long long)len, k->setup_size);
	k->kernel_size = (uint32_t)(len - k->setup_size);
	if (!(img[BZ_LOADFLAGS] & LOADED_HIGH))
		return bad(why, whylen, "not a bzImage (a zImage loads below 1 MiB)", 0, 0);
	k->xloadflags = rd16(img, BZ_XLOADFLAGS);
	if (!(k->xloadflags & XLF_KERNEL_64))
		return bad(why, whylen, "not a 64-bit kernel (XLF_KERNEL_64 is clear: a 32-bit "
			   "kernel, which is not supported)", 0, 0);
	k->relocatable = img[BZ_RELOCATABLE];
	k->kernel_alignment = rd32(img, BZ_KERNEL_ALIGNMENT);
	k->initrd_addr_max = rd32(img, BZ_INITRD_ADDR_MAX);
	k->cmdline_size = rd32(img, BZ_CMDLINE_SIZE);
	k->pref_address = rd64(img, BZ_PREF_ADDRESS);
	k->init_size = rd32(img, BZ_INIT_SIZE);
	if (k->kernel_alignment == 0 || (k->kernel_alignment & (k->kernel_alignment - 1)))
		return bad(why, whylen, "kernel_alignment %#llx is not a power of two",
			   k->kernel_alignment, 0);
	if (k->init_size < k->kernel_size)
		return bad(why, whylen, "init_size %#llx is smaller than the kernel (%#llx bytes)",
			   k->init_size, k->kernel_size);
	if (!k->pref_address || (k->pref_address & 0xfff))
		return bad(why, whylen, "pref_address %#llx is not a page address",
			   k->pref_address, 0);
	return 0;
}

int linux_plan(const struct bzimage_info *k, uint64_t ram_size, size_t cmdline_len,
	       uint64_t initrd_size, struct linux_plan *p, char *why, size_t whylen)
{
	uint64_t usable_end = pc_acpi_base(ram_size), addr = k->pref_address, limit;

	memset(p, 0, sizeof(*p));
	if (cmdline_len > k->cmdline_size || cmdline_len >= LINUX_CMDLINE_MAX) {
		snprintf(why, whylen, "the command line (%zu bytes) is longer than the kernel "
			 "accepts (%u)", cmdline_len, k->cmdline_size);
		return -EINVAL;
	}
	if (k->format == LINUX_BZIMAGE && k->relocatable && addr < 16ULL << 20)
		addr = 16ULL << 20;
	if (k->format == LINUX_BZIMAGE && k->relocatable)
		addr = (addr + k->kernel_alignment - 1) & ~((uint64_t)k->kernel_alignment - 1);
	if (addr < PC_LEGACY_HOLE_END || addr + k->init_size > usable_end) {
		snprintf(why, whylen, "the kernel needs %llu MiB of RAM from %#llx (init_size), "
			 "but RAM below the PCI hole ends at %#llx: raise memsize to at least %llu",
			 (unsigned long long)(k->init_size >> 20) + 1, (unsigned long long)addr,
			 (unsigned long long)usable_end,
			 (unsigned long long)((addr + k->init_size + initrd_size + PC_ACPI_SIZE) >> 20) + 2);
		return -E2BIG;
	}
	p->kernel = addr;
	p->entry = k->format == LINUX_VMLINUX ? k->elf_entry : addr + 0x200;
	p->zero_page = LINUX_ZERO_PAGE;
	p->cmdline = LINUX_CMDLINE;
	p->gdt = LINUX_GDT;
	p->page_tables = LINUX_PAGE_TABLES;
	p->page_table_bytes = 6 * 4096;
	if (!initrd_size)
		return 0;
	/* The initrd goes as high as it may: below initrd_addr_max, above the kernel. */
	limit = usable_end;
	if (k->initrd_addr_max && (uint64_t)k->initrd_addr_max + 1 < limit)
		limit = (uint64_t)k->initrd_addr_max + 1;
	if (initrd_size > limit || ((limit - initrd_size) & ~0xfffULL) < addr + k->init_size) {
		snprintf(why, whylen, "the initrd (%llu KiB) does not fit between the kernel's end "
			 "(%#llx) and %#llx: raise memsize",
			 (unsigned long long)(initrd_size >> 10),
			 (unsigned long long)(addr + k->init_size), (unsigned long long)limit);
		return -E2BIG;
	}
	p->initrd = (limit - initrd_size) & ~0xfffULL;
	p->initrd_size = initrd_size;
	return 0;
}

void linux_zero_page(uint8_t *zp, const uint8_t *img, const struct bzimage_info *k,
		     const struct linux_plan *p, const struct e820_entry *map, unsigned nmap)
{
	memset(zp, 0, 4096);
	if (k->format == LINUX_BZIMAGE) {
		memcpy(zp + BZ_SETUP_SECTS, img + BZ_SETUP_SECTS, k->header_end - BZ_SETUP_SECTS);
	} else {
		/* No setup header in a vmlinux: the fields a kernel reads from one. */
		wr16(zp, BZ_BOOT_FLAG, 0xaa55);
		memcpy(zp + BZ_HEADER, "HdrS", 4);
		wr16(zp, BZ_VERSION, k->version);
		wr32(zp, BZ_KERNEL_ALIGNMENT, k->kernel_alignment);
		wr32(zp, BZ_INITRD_ADDR_MAX, k->initrd_addr_max);
		wr32(zp, BZ_CMDLINE_SIZE, k->cmdline_size);
		wr16(zp, BZ_XLOADFLAGS, XLF_KERNEL_64);
		wr32(zp, BZ_INIT_SIZE, k->init_size);
	}
	zp[BZ_TYPE_OF_LOADER] = 0xff;		/* "undefined" boot loader */
	zp[BZ_LOADFLAGS] = (uint8_t)((zp[BZ_LOADFLAGS] & ~(1U << 7)) | LOADED_HIGH); /* no heap */
	wr32(zp, BZ_CMD_LINE_PTR, (uint32_t)p->cmdline);
	wr32(zp, BP_EXT_CMD_LINE_PTR, (uint32_t)(p->cmdline >> 32));
	wr32(zp, BZ_RAMDISK_IMAGE, (uint32_t)p->initrd);
	wr32(zp, BZ_RAMDISK_SIZE, (uint32_t)p->initrd_size);
	wr32(zp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(p->initrd >> 32));
	wr32(zp, BP_EXT_RAMDISK_SIZE, (uint32_t)(p->initrd_size >> 32));
	/* The screen_info at offset 0 stays zero: no VGA text console (vgacon backs off). */
	if (nmap > BP_E820_MAX)
		nmap = BP_E820_MAX;
	zp[BP_E820_ENTRIES] = (uint8_t)nmap;
	for (unsigned i = 0; i < nmap; i++) {
		wr64(zp, BP_E820_TABLE + 20 * i, map[i].addr);
		wr64(zp, BP_E820_TABLE + 20 * i + 8, map[i].size);
		wr32(zp, BP_E820_TABLE + 20 * i + 16, map[i].type);
	}
}

/* Null, unused, then flat 64-bit code (0x10) and flat data (0x18): the boot protocol's selectors. */
void linux_boot_gdt(uint64_t gdt[4])
{
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL;	/* code: G, L, P, DPL 0, execute/read, accessed */
	gdt[3] = 0x00cf93000000ffffULL;	/* data: G, B, P, DPL 0, read/write, accessed */
}

/* PML4 -> one PDPT -> four page directories of 2 MiB pages: 0-4 GiB identity-mapped. */
void linux_page_tables(uint64_t *t, uint64_t base)
{
	uint64_t *pml4 = t, *pdpt = t + 512, *pd = t + 1024;

	memset(t, 0, 6 * 4096);
	pml4[0] = (base + 0x1000) | 0x3;		/* present, writable */
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (base + 0x2000 + 0x1000 * i) | 0x3;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* present, writable, 2 MiB page */
}
