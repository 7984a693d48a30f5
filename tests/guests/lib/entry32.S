/*
 * Multiboot v1 header and entry for the 32-bit test guests. The loader
 * enters _start in 32-bit protected mode with paging off, EAX = the boot
 * magic and EBX = the info structure's address; ESP is undefined. We record
 * that state for the boot checks, take our own stack and GDT/IDT, and run
 * the guest.
 */
#define MB1_HEADER_MAGIC 0x1BADB002
#define MB1_HEADER_FLAGS 0x00000003 /* page-aligned modules, memory info */

	.section .multiboot, "a"
	.align 4
	.long MB1_HEADER_MAGIC
	.long MB1_HEADER_FLAGS
	.long -(MB1_HEADER_MAGIC + MB1_HEADER_FLAGS)

	.text
	.code32
	.globl _start
_start:
	movl %eax, boot_magic
	movl %ebx, boot_mbi
	movl %cr0, %eax
	movl %eax, boot_cr0
	movl $boot_stack_top, %esp
	pushfl
	popl boot_eflags
	cld
	call trap_init
	call lib_start
1:	cli
	hlt
	jmp 1b

	.data
	.align 4
	.globl boot_magic, boot_mbi, boot_cr0, boot_eflags
boot_magic:	.long 0
boot_mbi:	.long 0
boot_cr0:	.long 0
boot_eflags:	.long 0

	.bss
	.align 16
	.space 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
