/*
 * AP start-up trampoline. smp.c copies this blob to a free page below
 * 1 MiB, fills in the parameter block at its end (include/smp_trampoline.h)
 * and sends INIT-SIPI-SIPI with that page's number as the vector. The AP
 * starts here in real mode with CS = page << 8, IP = 0, and walks up: real mode -> 32-bit protected mode
 * -> long mode on the kernel's page tables -> ap_entry(pcpu) in C.
 * The blob is position independent: every absolute address it needs is
 * computed from the page base in %ebx or patched in by smp.c.
 */
#include <vmkernel/smp_trampoline.h>

	.section .rodata
	.balign 16
	.globl ap_trampoline_start, ap_trampoline_end
	.globl ap_trampoline_pm32, ap_trampoline_lm64
ap_trampoline_start:
	.code16
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx
	movw %ax, %bx
	shll $4, %ebx			/* ebx = linear base of this page */
	lgdtl AP_GDT_PTR
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl *AP_FAR32

	.code32
ap_trampoline_pm32 = . - ap_trampoline_start
	movw $AP_GDT_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %cr4, %eax
	orl $((1 << 5) | (1 << 7)), %eax	/* PAE, PGE */
	movl %eax, %cr4
	movl AP_CR3(%ebx), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx
	movl AP_EFER(%ebx), %eax
	xorl %edx, %edx
	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax		/* PG, WP, PE */
	movl %eax, %cr0
	ljmpl *AP_FAR64(%ebx)

	.code64
ap_trampoline_lm64 = . - ap_trampoline_start
	movw $AP_GDT_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl %ebx, %ebx			/* page base: clear any upper bits */
	movq AP_STACK(%rbx), %rsp
	subq $8, %rsp			/* as if called: RSP = 8 mod 16 at entry (SysV ABI) */
	movq AP_PCPU(%rbx), %rdi
	xorl %ebp, %ebp
	jmpq *AP_ENTRY(%rbx)
ap_trampoline_end:
