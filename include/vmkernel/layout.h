/*
 * Virtual memory layout of the vmkernel, shared by C, assembly and linker.ld.
 *
 *   0x0000000000000000 - identity map of the low 4 GiB while booting only;
 *                        removed once every CPU runs on the kernel's tables,
 *                        so a NULL dereference faults.
 *   0xffff800000000000 - direct map of all physical memory (DIRECT_MAP_BASE).
 *   0xffffc00000000000 - kernel stacks, each in a STACK_SLOT_SIZE slot whose
 *                        unmapped bottom pages catch overflows (STACK_AREA_BASE).
 *   0xffffffff80000000 - the kernel image (KERNEL_VMA + physical address).
 */
#ifndef LAYOUT_H
#define LAYOUT_H

#define KERNEL_VMA		0xffffffff80000000
#define KERNEL_PHYS		0x200000
#define DIRECT_MAP_BASE		0xffff800000000000
#define DIRECT_MAP_MAX		(1ULL << 46)	/* 64 TiB of physical address space */
#define STACK_AREA_BASE		0xffffc00000000000
#define STACK_SLOT_SIZE		0x10000		/* 64 KiB of address space per stack */
#define STACK_AREA_SLOTS	65536
#define BOOT_STACK_SIZE		16384
#define KSTACK_SIZE		16384
#define IST_STACK_SIZE		8192

#define GDT_KCODE		0x08
#define GDT_KDATA		0x10
#define GDT_TSS			0x18

#endif
