/*
 * Multiboot (version 1, spec 0.6.96) guest loader: places a guest kernel, its
 * modules and the multiboot information structure in guest RAM.
 *
 * Pure logic: it reaches guest memory only through struct mb1_guest_mem, so it
 * runs unchanged in the vmkernel and in host unit tests.
 */
#ifndef MB1_LOADER_H
#define MB1_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* OS image header (spec 3.1) */
#define MB1_HEADER_MAGIC	0x1BADB002U
#define MB1_HEADER_SEARCH	8192		/* header lies within these first bytes */
#define MB1_HF_PAGE_ALIGN	(1U << 0)	/* modules page-aligned */
#define MB1_HF_MEMINFO		(1U << 1)	/* mem_* fields wanted */
#define MB1_HF_VIDEO		(1U << 2)	/* video mode table wanted */
#define MB1_HF_ADDRS		(1U << 16)	/* header address fields valid */

/* Boot information (spec 3.3) */
#define MB1_BOOTLOADER_MAGIC	0x2BADB002U	/* in EAX at guest entry */
#define MB1_INFO_MEM		(1U << 0)
#define MB1_INFO_BOOTDEV	(1U << 1)
#define MB1_INFO_CMDLINE	(1U << 2)
#define MB1_INFO_MODS		(1U << 3)
#define MB1_INFO_MMAP		(1U << 6)
#define MB1_INFO_LOADER_NAME	(1U << 9)

#define MB1_MMAP_AVAILABLE	1U

struct mb1_header {
	uint32_t magic;
	uint32_t flags;
	uint32_t checksum;		/* magic + flags + checksum == 0 */
	uint32_t header_addr;		/* the five address fields: flag 16 */
	uint32_t load_addr;
	uint32_t load_end_addr;
	uint32_t bss_end_addr;
	uint32_t entry_addr;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_header) == 32, "multiboot header is 32 bytes (without video)");

struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower;		/* KiB from 0 */
	uint32_t mem_upper;		/* KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length;		/* bytes */
	uint32_t mmap_addr;		/* points at the first entry's size field */
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch;
	uint32_t framebuffer_width;
	uint32_t framebuffer_height;
	uint8_t framebuffer_bpp;
	uint8_t framebuffer_type;
	uint8_t color_info[6];
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_info) == 116, "multiboot info structure is 116 bytes");

struct mb1_module {
	uint32_t mod_start;
	uint32_t mod_end;		/* exclusive */
	uint32_t string;		/* gpa of the module's command line */
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_module) == 16, "multiboot module entry is 16 bytes");

struct mb1_mmap_entry {
	uint32_t size;			/* of the rest of the entry: 20 */
	uint64_t base_addr;
	uint64_t length;
	uint32_t type;
} __attribute__((packed));
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "multiboot mmap entry is 24 bytes");

/*
 * Guest memory as the VMM exposes it. write/zero return 0 or -errno; the
 * loader only calls them for ranges inside [0, ram_size).
 */
struct mb1_guest_mem {
	void *ctx;
	uint64_t ram_size;
	int (*write)(void *ctx, uint64_t gpa, const void *src, size_t len);
	int (*zero)(void *ctx, uint64_t gpa, size_t len);
};

struct mb1_module_in {
	const char *cmdline;		/* e.g. "name arg1 arg2"; NULL means "" */
	const void *data;
	size_t len;
};

struct mb1_mmap_in {
	uint64_t base, len;
	uint32_t type;
};

struct mb1_load_params {
	const char *cmdline;		/* NULL means "" */
	const char *loader_name;	/* NULL means "vmkernel" */
	const struct mb1_module_in *modules;
	unsigned nmodules;
	const struct mb1_mmap_in *mmap;	/* the guest's memory map, passed through */
	unsigned nmmap;
};

struct mb1_load_result {
	uint32_t entry;			/* guest-physical EIP */
	uint32_t eax;			/* MB1_BOOTLOADER_MAGIC */
	uint32_t ebx;			/* gpa of struct mb1_info */
	uint64_t image_start, image_end;
	uint64_t info_start, info_end;	/* the boot information block (MBI .. strings) */
	bool elf64;
	char err[160];			/* why mb1_load failed, "" on success */
};

/*
 * Load a multiboot v1 kernel image of len bytes into guest memory and build
 * its boot information. Returns 0, or -EINVAL (malformed image or params),
 * -ENOTSUP (feature or format this loader does not handle), -ENOMEM (does
 * not fit in guest RAM / below 4 GiB), or whatever gm->write/zero returned;
 * out->err then says what and where. Guest memory may be partly written on
 * failure.
 */
int mb1_load(const void *image, size_t len, const struct mb1_load_params *p,
	     const struct mb1_guest_mem *gm, struct mb1_load_result *out);

#endif
