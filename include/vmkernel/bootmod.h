/*
 * Boot modules: the files GRUB loaded beside the kernel (module2 lines),
 * such as VM configurations and guest images. A module's name is the first
 * word of its GRUB string ("module2 /boot/vm0.vmx vm0.vmx" -> "vm0.vmx");
 * the rest of the string is its argument text. The memory stays reserved
 * and mapped for as long as the vmkernel runs.
 */
#ifndef BOOTMOD_H
#define BOOTMOD_H

#include <stddef.h>
#include <stdint.h>

struct boot_module {
	char name[64];
	const char *args;	/* after the name, "" if none */
	uint64_t phys;
	size_t size;
	const void *data;	/* mapped through the direct map */
};

/* A kernel command-line option's value ("" for a bare key), or NULL if absent. */
const char *bootparam_get(const char *key);

/* The UEFI system table's physical address GRUB handed over, 0 on BIOS boots. */
uint64_t boot_efi_systab(void);

unsigned bootmod_count(void);
const struct boot_module *bootmod_get(unsigned i);
const struct boot_module *bootmod_find(const char *name);

#endif
