/*
 * Multiboot v1 header and entry for the 64-bit guest. The image is ELF64,
 * but the loader still enters it as multiboot says: 32-bit protected mode,
 * paging off. This code records the boot state, identity-maps the first
 * GiB with 2 MiB pages, enables long mode (CR4.PAE, EFER.LME, CR0.PG) and
 * far-jumps to 64-bit code, which calls lib_start().
 *
 * There is no IDT: an exception in 64-bit mode triple-faults the guest,
 * which the harness sees as a failure.
 */
#define MB1_HEADER_MAGIC 0x1BADB002
#define MB1_HEADER_FLAGS 0x00000003
#define MSR_EFER 0xc0000080

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
	lgdt gdt_ptr
	movl %cr4, %eax
	orl $(1 << 5), %eax		/* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(1 << 8), %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | 1), %eax	/* PG, PE */
	movl %eax, %cr0
	ljmp $0x18, $long_entry

	.code64
long_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movq $boot_stack_top, %rsp
	call lib_start
1:	cli
	hlt
	jmp 1b

	.data
	.align 8
gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
	.quad 0x00af9a000000ffff	/* 0x18: 64-bit code (L = 1) */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

	.globl boot_magic, boot_mbi, boot_cr0, boot_eflags
	.align 4
boot_magic:	.long 0
boot_mbi:	.long 0
boot_cr0:	.long 0
boot_eflags:	.long 0

	.align 4096
pml4:
	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x3
	.fill 511, 8, 0
pd:
	.set page, 0
	.rept 512
	.quad (page << 21) | 0x83	/* present, writable, 2 MiB */
	.set page, page + 1
	.endr

	.bss
	.align 16
	.space 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
