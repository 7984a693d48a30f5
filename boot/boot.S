/*
 * Multiboot2 entry: GRUB jumps to _start in 32-bit protected mode, paging off,
 * with EAX = multiboot2 magic and EBX = physical address of the boot info.
 *
 * We build boot page tables that map the low 4 GiB three ways (identity,
 * direct map at DIRECT_MAP_BASE, and the kernel image at KERNEL_VMA, the last
 * one over the first 1 GiB), enter long mode, jump to the higher half and
 * call vmkernel_main(magic, info_phys). The identity map lives only until
 * every CPU has switched to the kernel's own page tables.
 */
#include <vmkernel/layout.h>

#define MB2_MAGIC	0xe85250d6
#define MB2_ARCH_I386	0
#define PHYS(x)		((x) - KERNEL_VMA)

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	/* console flags (type 4, optional): EGA text is fine */
	.balign 8
	.word 4, 1
	.long 12
	.long 2
	/*
	 * framebuffer (type 5, optional): any size, 32 bits per pixel preferred.
	 * Under UEFI GRUB passes the GOP mode; under BIOS grub.cfg asks for text.
	 */
	.balign 8
	.word 5, 1
	.long 20
	.long 0, 0, 32
	/* end tag */
	.balign 8
	.word 0, 0
	.long 8
mb2_header_end:

	.section .boot.text, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl %eax, %ebp
	movl %ebx, %esi

	/* Zero .bss (it holds the boot stack and page tables). */
	movl $PHYS(__bss_start), %edi
	movl $PHYS(__bss_end), %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb

	movl $PHYS(boot_stack_top), %esp
	movl %ebp, PHYS(boot_mb2_magic)
	movl %esi, PHYS(boot_mb2_info)

	/* Long mode needs CPUID 0x80000001 EDX bit 29. */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_long_mode
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_long_mode
	movl %edx, PHYS(boot_ext_edx)

	/* PD[0..3]: 2 MiB pages over the low 4 GiB. */
	movl $PHYS(boot_pd), %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax			/* present, writable, large */
	movl %ecx, %edx
	shrl $11, %edx			/* high dword: (i * 2 MiB) >> 32 */
	movl %eax, (%edi,%ecx,8)
	movl %edx, 4(%edi,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jb 1b

	/* PDPT_low[0..3] -> PD pages; PDPT_high[510] -> PD page 0. */
	movl $PHYS(boot_pdpt_low), %edi
	movl $PHYS(boot_pd) + 3, %eax
	movl %eax, 0(%edi)
	addl $4096, %eax
	movl %eax, 8(%edi)
	addl $4096, %eax
	movl %eax, 16(%edi)
	addl $4096, %eax
	movl %eax, 24(%edi)
	movl $PHYS(boot_pdpt_high), %edi
	movl $PHYS(boot_pd) + 3, %eax
	movl %eax, 510 * 8(%edi)

	/* PML4: [0] identity, [256] direct map, [511] kernel image. */
	movl $PHYS(boot_pml4), %edi
	movl $PHYS(boot_pdpt_low) + 3, %eax
	movl %eax, 0(%edi)
	movl %eax, 256 * 8(%edi)
	movl $PHYS(boot_pdpt_high) + 3, %eax
	movl %eax, 511 * 8(%edi)

	movl %cr4, %eax
	orl $(1 << 5), %eax		/* PAE */
	movl %eax, %cr4
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3

	movl $0xc0000080, %ecx		/* IA32_EFER */
	rdmsr
	orl $(1 << 8), %eax		/* LME */
	btl $20, PHYS(boot_ext_edx)	/* NX supported? */
	jnc 2f
	orl $(1 << 11), %eax		/* NXE */
2:	wrmsr

	movl %cr0, %eax
	orl $0x80010001, %eax		/* PG | WP | PE */
	movl %eax, %cr0

	lgdt boot_gdt_ptr
	ljmp $GDT_KCODE, $long_mode_entry

no_long_mode:
	/* Say why on the VGA text screen and on COM1, then stop. */
	movl $no_lm_msg, %esi
	movl $0xb8000, %edi
3:	lodsb
	testb %al, %al
	jz 5f
	movb $0x4f, %ah
	stosw
	movb %al, %bl
	movw $0x3fd, %dx
4:	inb %dx, %al
	testb $0x20, %al
	jz 4b
	movw $0x3f8, %dx
	movb %bl, %al
	outb %al, %dx
	jmp 3b
5:	hlt
	jmp 5b

no_lm_msg:
	.asciz "vmkernel: this CPU has no 64-bit long mode; cannot boot"

	.code64
long_mode_entry:
	movabsq $higher_half, %rax
	jmp *%rax

	.section .boot.data, "aw"
	.balign 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.text
higher_half:
	movw $GDT_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl boot_mb2_magic(%rip), %edi
	movl boot_mb2_info(%rip), %esi
	call vmkernel_main
6:	cli
	hlt
	jmp 6b

	.bss
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt_low:	.skip 4096
	.globl boot_pdpt_high
boot_pdpt_high:	.skip 4096
	.globl boot_pd
boot_pd:	.skip 4 * 4096
	.balign 16
boot_stack:	.skip BOOT_STACK_SIZE
	.globl boot_stack_top
boot_stack_top:
boot_mb2_magic:	.skip 4
boot_mb2_info:	.skip 4
boot_ext_edx:	.skip 4
