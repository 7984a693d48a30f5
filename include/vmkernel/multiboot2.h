/*
 * Multiboot2 boot information: on-the-wire layouts (Multiboot2 spec, section 3.6
 * "Boot information") and a bounds-checked parser that summarises the tags the
 * vmkernel uses into one struct mb2_info.
 *
 * Pointers in struct mb2_info point into the boot information itself: the caller
 * must keep that memory mapped and intact for as long as it uses them.
 */
#ifndef MULTIBOOT2_H
#define MULTIBOOT2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Value in EAX when a multiboot2 loader enters the OS image (spec 3.3). */
#define MB2_BOOTLOADER_MAGIC	0x36d76289u

/* Boot information tag types (spec 3.6.x). */
enum mb2_tag_type {
	MB2_TAG_END		= 0,
	MB2_TAG_CMDLINE		= 1,
	MB2_TAG_BOOTLOADER	= 2,
	MB2_TAG_MODULE		= 3,
	MB2_TAG_BASIC_MEMINFO	= 4,
	MB2_TAG_BOOTDEV		= 5,
	MB2_TAG_MMAP		= 6,
	MB2_TAG_VBE		= 7,
	MB2_TAG_FRAMEBUFFER	= 8,
	MB2_TAG_ELF_SECTIONS	= 9,
	MB2_TAG_APM		= 10,
	MB2_TAG_EFI32		= 11,
	MB2_TAG_EFI64		= 12,
	MB2_TAG_SMBIOS		= 13,
	MB2_TAG_ACPI_OLD	= 14,
	MB2_TAG_ACPI_NEW	= 15,
	MB2_TAG_NETWORK		= 16,
	MB2_TAG_EFI_MMAP	= 17,
	MB2_TAG_EFI_BS		= 18,
	MB2_TAG_EFI32_IH	= 19,
	MB2_TAG_EFI64_IH	= 20,
	MB2_TAG_LOAD_BASE_ADDR	= 21,
	MB2_TAG_TYPE_COUNT
};

/* Memory map entry types (spec 3.6.8); any other value is reserved memory. */
#define MB2_MEM_AVAILABLE		1
#define MB2_MEM_RESERVED		2
#define MB2_MEM_ACPI_RECLAIMABLE	3
#define MB2_MEM_NVS			4
#define MB2_MEM_BADRAM			5

/* Framebuffer types (spec 3.6.12). */
#define MB2_FB_TYPE_INDEXED	0
#define MB2_FB_TYPE_RGB		1
#define MB2_FB_TYPE_EGA_TEXT	2

#define MB2_MAX_MODULES		32
#define MB2_RSDP_V1_LEN		20	/* ACPI 1.0 RSDP */
#define MB2_RSDP_V2_LEN		36	/* ACPI 2.0+ RSDP (XSDT address, extended checksum) */
#define MB2_EFI_DESC_MIN	40	/* sizeof(EFI_MEMORY_DESCRIPTOR) */

/* Fixed part of the boot information structure; tags follow at offset 8. */
struct mb2_info_header {
	uint32_t total_size;
	uint32_t reserved;
};
_Static_assert(sizeof(struct mb2_info_header) == 8, "mb2_info_header");

/* Every tag starts with this header; tags are padded to 8-byte alignment. */
struct mb2_tag {
	uint32_t type;
	uint32_t size;		/* bytes, header included, padding excluded */
};
_Static_assert(sizeof(struct mb2_tag) == 8, "mb2_tag");

/* Tags 1 (command line) and 2 (boot loader name). */
struct mb2_tag_string {
	uint32_t type;
	uint32_t size;
	char string[];		/* NUL-terminated */
};
_Static_assert(sizeof(struct mb2_tag_string) == 8, "mb2_tag_string");

/* Tag 3. */
struct mb2_tag_module {
	uint32_t type;
	uint32_t size;
	uint32_t mod_start;	/* physical address */
	uint32_t mod_end;	/* physical address */
	char string[];		/* NUL-terminated */
};
_Static_assert(sizeof(struct mb2_tag_module) == 16, "mb2_tag_module");

/* Tag 4. */
struct mb2_tag_basic_meminfo {
	uint32_t type;
	uint32_t size;
	uint32_t mem_lower;	/* KiB from 0 */
	uint32_t mem_upper;	/* KiB from 1 MiB */
};
_Static_assert(sizeof(struct mb2_tag_basic_meminfo) == 16, "mb2_tag_basic_meminfo");

/* Tag 6: header followed by entries of entry_size bytes each. */
struct mb2_tag_mmap {
	uint32_t type;
	uint32_t size;
	uint32_t entry_size;	/* multiple of 8, at least 24 */
	uint32_t entry_version;	/* 0 */
};
_Static_assert(sizeof(struct mb2_tag_mmap) == 16, "mb2_tag_mmap");

struct mb2_mmap_entry {
	uint64_t addr;
	uint64_t len;
	uint32_t type;		/* MB2_MEM_* */
	uint32_t reserved;
};
_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "mb2_mmap_entry");

/*
 * Tag 8, common part. The spec's prose shows one reserved byte, but GRUB (the
 * reference loader) and the spec's own example header use a 16-bit field, so
 * the colour information starts at offset 32. We follow the implementation.
 */
struct mb2_tag_framebuffer {
	uint32_t type;
	uint32_t size;
	uint64_t addr;
	uint32_t pitch;
	uint32_t width;
	uint32_t height;
	uint8_t bpp;
	uint8_t fb_type;	/* MB2_FB_TYPE_* */
	uint16_t reserved;
};
_Static_assert(sizeof(struct mb2_tag_framebuffer) == 32, "mb2_tag_framebuffer");

/* Colour information for MB2_FB_TYPE_RGB, at offset 32. */
struct mb2_fb_rgb {
	uint8_t red_pos;
	uint8_t red_size;
	uint8_t green_pos;
	uint8_t green_size;
	uint8_t blue_pos;
	uint8_t blue_size;
};
_Static_assert(sizeof(struct mb2_fb_rgb) == 6, "mb2_fb_rgb");

/* Colour information for MB2_FB_TYPE_INDEXED: u16 count at offset 32, then these. */
struct mb2_color {
	uint8_t red;
	uint8_t green;
	uint8_t blue;
};
_Static_assert(sizeof(struct mb2_color) == 3, "mb2_color");

/* Tag 12. */
struct mb2_tag_efi64 {
	uint32_t type;
	uint32_t size;
	uint64_t pointer;
};
_Static_assert(sizeof(struct mb2_tag_efi64) == 16, "mb2_tag_efi64");

/* Tag 17: header followed by the UEFI GetMemoryMap() buffer. */
struct mb2_tag_efi_mmap {
	uint32_t type;
	uint32_t size;
	uint32_t desc_size;
	uint32_t desc_version;
};
_Static_assert(sizeof(struct mb2_tag_efi_mmap) == 16, "mb2_tag_efi_mmap");

/* Tag 21. */
struct mb2_tag_load_base {
	uint32_t type;
	uint32_t size;
	uint32_t load_base_addr;
};
_Static_assert(sizeof(struct mb2_tag_load_base) == 12, "mb2_tag_load_base");

/* ---- Parsed summary ---------------------------------------------------- */

struct mb2_module {
	uint32_t start;		/* physical, inclusive */
	uint32_t end;		/* physical, as given by the loader (end >= start) */
	const char *string;	/* never NULL for a parsed module, may be "" */
};

struct mb2_framebuffer {
	uint64_t addr;
	uint32_t pitch, width, height;
	uint8_t bpp, type;	/* type: MB2_FB_TYPE_* */
	/* MB2_FB_TYPE_RGB only: */
	uint8_t red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
	/* MB2_FB_TYPE_INDEXED only: */
	const struct mb2_color *palette;
	uint16_t palette_count;
};

struct mb2_info {
	const char *cmdline;		/* tag 1, or NULL */
	const char *bootloader;		/* tag 2, or NULL */

	bool has_basic_mem;		/* tag 4 */
	uint32_t mem_lower_kb, mem_upper_kb;

	const struct mb2_mmap_entry *mmap;	/* tag 6, or NULL; use mb2_mmap_entry() */
	uint32_t mmap_count, mmap_entry_size;

	struct mb2_module modules[MB2_MAX_MODULES];	/* tag 3, in tag order */
	uint32_t module_count;

	const void *rsdp;		/* copy of the RSDP inside tag 15 (else 14), or NULL */
	uint32_t rsdp_len;		/* bytes available at rsdp */
	int rsdp_revision;		/* 2: tag 15 (ACPI 2.0+), 1: tag 14, 0: none */

	bool has_fb;			/* tag 8 */
	struct mb2_framebuffer fb;

	bool has_efi_mmap;		/* tag 17 */
	const void *efi_mmap;
	uint32_t efi_mmap_len;		/* bytes of descriptors (whole descriptors only) */
	uint32_t efi_desc_size, efi_desc_version;

	bool efi_boot_services_not_terminated;	/* tag 18 */

	bool has_efi64_systab;		/* tag 12 */
	uint64_t efi64_systab;

	bool has_load_base;		/* tag 21 */
	uint32_t load_base;

	uint32_t total_size;		/* from the header */
	char err[160];			/* set when mb2_parse() fails */
};

/* True if @eax is the value a multiboot2 loader passes in EAX. */
bool mb2_magic_ok(uint32_t eax);

/*
 * Parse the boot information at @info, of which @avail bytes are readable.
 * @info must be 8-byte aligned. Unknown tag types are skipped. A second copy of
 * any tag that can only be meaningful once (every known tag except modules) is
 * rejected rather than silently ignored. Returns 0, or -EINVAL with out->err
 * naming the tag index, type and byte offset at fault; after a failure only
 * out->err is meaningful.
 */
int mb2_parse(const void *info, size_t avail, struct mb2_info *out);

/* Entry @i of the memory map (entries may be larger than 24 bytes), or NULL. */
const struct mb2_mmap_entry *mb2_mmap_entry(const struct mb2_info *mi, uint32_t i);

/* Short human-readable name of a MB2_MEM_* type ("available", "reserved", ...). */
const char *mb2_mmap_type_name(uint32_t type);

#endif /* MULTIBOOT2_H */
