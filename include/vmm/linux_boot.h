/*
 * The Linux x86 boot protocol, loader side (vmm/loader/linux_boot.c): reading
 * a kernel image, placing the kernel, initrd and command line in a VM's
 * memory map, and building the "zero page" (struct boot_params) the
 * kernel's 64-bit entry point expects. Facts from the kernel's
 * Documentation/arch/x86/boot.rst and zero-page.rst.
 *
 * Two image formats: a bzImage (what distributions ship: the setup
 * header, then the decompressor with the compressed kernel), entered at
 * its 64-bit entry; or the uncompressed kernel as an ELF64 "vmlinux"
 * (the bzImage's payload, decompressed), loaded at its physical
 * addresses and entered at its ELF entry, as the kernel's decompressor
 * itself would, with a zero page whose setup header the loader fills in.
 *
 * Pure logic, no guest memory access: vmm/loader/linux.c writes what this
 * plans. Host unit-tested against the Debian kernel's real header and
 * malformed ones (tests/unit/test_linux_boot.c).
 */
#ifndef VMM_LINUX_BOOT_H
#define VMM_LINUX_BOOT_H

#include <stddef.h>
#include <stdint.h>
#include <vmm/pc_layout.h>

/* Setup-header offsets in the image and in boot_params (the same, 0x1f1 on). */
#define BZ_SETUP_SECTS		0x1f1
#define BZ_BOOT_FLAG		0x1fe
#define BZ_JUMP			0x200
#define BZ_HEADER		0x202	/* "HdrS" */
#define BZ_VERSION		0x206
#define BZ_TYPE_OF_LOADER	0x210
#define BZ_LOADFLAGS		0x211
#define BZ_RAMDISK_IMAGE	0x218
#define BZ_RAMDISK_SIZE		0x21c
#define BZ_CMD_LINE_PTR		0x228
#define BZ_INITRD_ADDR_MAX	0x22c
#define BZ_KERNEL_ALIGNMENT	0x230
#define BZ_RELOCATABLE		0x234
#define BZ_XLOADFLAGS		0x236
#define BZ_CMDLINE_SIZE		0x238
#define BZ_PREF_ADDRESS		0x258
#define BZ_INIT_SIZE		0x260
/* boot_params fields outside the setup header */
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128

#define XLF_KERNEL_64			(1U << 0)
#define XLF_CAN_BE_LOADED_ABOVE_4G	(1U << 1)
#define LOADED_HIGH			(1U << 0)

#define BZ_MIN_VERSION	0x020c	/* 2.12: xloadflags, the 64-bit entry point */

enum linux_format { LINUX_BZIMAGE, LINUX_VMLINUX };

#define LINUX_ELF_MAX_SEGS 8

struct linux_elf_seg {
	uint64_t paddr, offset, filesz, memsz;
};

struct bzimage_info {
	enum linux_format format;
	uint16_t version;
	uint32_t setup_size;		/* bytes before the protected-mode kernel */
	uint32_t kernel_size;		/* bytes of the protected-mode kernel */
	uint64_t pref_address;
	uint32_t init_size;		/* memory it needs from its load address on */
	uint32_t kernel_alignment;
	int relocatable;
	uint16_t xloadflags;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;		/* bytes, without the NUL */
	uint32_t header_end;		/* offset just past the setup header */
	/* LINUX_VMLINUX */
	uint64_t elf_entry;		/* physical */
	uint64_t load_start, load_end;	/* physical span of the loadable segments */
	unsigned nseg;
	struct linux_elf_seg seg[LINUX_ELF_MAX_SEGS];
};

/* Where things go in guest memory (all guest-physical). */
struct linux_plan {
	uint64_t kernel;		/* load address of the protected-mode kernel */
	uint64_t entry;			/* its 64-bit entry point */
	uint64_t initrd;		/* 0 if none */
	uint64_t initrd_size;
	uint64_t cmdline;
	uint64_t zero_page;
	uint64_t gdt;
	uint64_t page_tables;		/* PML4; then a PDPT and four page directories */
	uint32_t page_table_bytes;
};

/* Fixed low-memory places (below 64 KiB, which Linux keeps for itself). */
#define LINUX_GDT		0x1000ULL
#define LINUX_PAGE_TABLES	0x2000ULL	/* 0x2000-0x7fff: identity map of 4 GiB */
#define LINUX_ZERO_PAGE		0x8000ULL
#define LINUX_CMDLINE		0x9000ULL
#define LINUX_CMDLINE_MAX	0x1000ULL
#define LINUX_BOOT_CS		0x10
#define LINUX_BOOT_DS		0x18

/* Parse and check a bzImage or ELF vmlinux. 0, or -EINVAL with why[] saying what is wrong. */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage_info *out, char *why,
		  size_t whylen);
/* Is this an ELF64 x86-64 image (then parse it as a vmlinux)? */
int linux_is_elf(const uint8_t *img, size_t len);

/*
 * Place the kernel and initrd for a VM with ram_size bytes of RAM and a
 * command line of cmdline_len bytes. 0, or -E2BIG / -EINVAL with why[].
 */
int linux_plan(const struct bzimage_info *k, uint64_t ram_size, size_t cmdline_len,
	       uint64_t initrd_size, struct linux_plan *out, char *why, size_t whylen);

/* Build the 4 KiB zero page: header from the image, then the loader's fields. */
void linux_zero_page(uint8_t *zp, const uint8_t *img, const struct bzimage_info *k,
		     const struct linux_plan *p, const struct e820_entry *map, unsigned nmap);

/* The boot GDT (4 descriptors, 32 bytes) and the identity page tables (4 GiB, 2 MiB pages). */
void linux_boot_gdt(uint64_t gdt[4]);
void linux_page_tables(uint64_t *tables, uint64_t base);	/* 6 pages, at guest base */

#endif
