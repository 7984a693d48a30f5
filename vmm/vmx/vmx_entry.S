/*
 * int vmx_enter(struct vcpu_regs *regs, int launched)
 *
 * Loads the guest's general registers (and CR2) from *regs and enters the
 * guest with VMRESUME if it was launched on this VMCS, else VMLAUNCH.
 * HOST_RSP is written here, so a VM exit lands in vmx_exit_stub on this
 * very stack: the regs pointer sits at the top, the guest registers are
 * saved back into *regs and vmx_enter returns 0. If the VMLAUNCH/VMRESUME
 * itself fails it returns 1 (the VM-instruction error says why).
 * Offsets come from asm-offsets.h, generated from struct vcpu_regs.
 *
 * Speculation (vmm/spec.c): VERW clears CPU buffers just before entry on
 * CPUs affected by MDS, and after every exit the return stack buffer is
 * overwritten with harmless entries before the host executes a RET.
 */
#include <asm-offsets.h>

#define VMCS_HOST_RSP 0x6c14

	.text
	.globl vmx_enter
vmx_enter:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	pushq %rdi			/* regs, found again at (%rsp) after an exit */
	movq $VMCS_HOST_RSP, %rax
	vmwrite %rsp, %rax
	movq REGS_CR2(%rdi), %rax
	movq %rax, %cr2
	cmpb $0, vmx_verw_on_entry(%rip)
	je 4f
	verw verw_selector(%rip)
4:	testl %esi, %esi
	movq REGS_RAX(%rdi), %rax
	movq REGS_RCX(%rdi), %rcx
	movq REGS_RDX(%rdi), %rdx
	movq REGS_RBX(%rdi), %rbx
	movq REGS_RBP(%rdi), %rbp
	movq REGS_RSI(%rdi), %rsi
	movq REGS_R8(%rdi), %r8
	movq REGS_R9(%rdi), %r9
	movq REGS_R10(%rdi), %r10
	movq REGS_R11(%rdi), %r11
	movq REGS_R12(%rdi), %r12
	movq REGS_R13(%rdi), %r13
	movq REGS_R14(%rdi), %r14
	movq REGS_R15(%rdi), %r15
	movq REGS_RDI(%rdi), %rdi	/* last: it held the pointer */
	jnz 1f				/* flags from the testl above: launched */
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* The entry instruction failed; we are still on the host stack. */
	popq %rdi
	movl $1, %eax
	jmp 3f

	.globl vmx_exit_stub
vmx_exit_stub:
	pushq %rdi			/* guest rdi */
	movq 8(%rsp), %rdi		/* regs */
	movq %rax, REGS_RAX(%rdi)
	movq %rcx, REGS_RCX(%rdi)
	movq %rdx, REGS_RDX(%rdi)
	movq %rbx, REGS_RBX(%rdi)
	movq %rbp, REGS_RBP(%rdi)
	movq %rsi, REGS_RSI(%rdi)
	movq %r8, REGS_R8(%rdi)
	movq %r9, REGS_R9(%rdi)
	movq %r10, REGS_R10(%rdi)
	movq %r11, REGS_R11(%rdi)
	movq %r12, REGS_R12(%rdi)
	movq %r13, REGS_R13(%rdi)
	movq %r14, REGS_R14(%rdi)
	movq %r15, REGS_R15(%rdi)
	popq %rax
	movq %rax, REGS_RDI(%rdi)
	movq %cr2, %rax
	movq %rax, REGS_CR2(%rdi)
	/*
	 * Refill the return stack buffer: 32 calls whose return addresses
	 * point at speculation traps, then drop them from the stack.
	 */
	movl $16, %ecx
5:	call 6f
7:	pause
	lfence
	jmp 7b
6:	call 8f
9:	pause
	lfence
	jmp 9b
8:	decl %ecx
	jnz 5b
	addq $(32 * 8), %rsp
	popq %rdi
	xorl %eax, %eax
3:	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.section .rodata
	.balign 2
verw_selector:
	.word 0x10		/* the kernel data segment: any valid writable selector */
