/*
 * Exception and interrupt entry stubs for the 32-bit guests, one per
 * vector. Each pushes a dummy error code when the CPU does not push one,
 * then the vector, so trap_dispatch() always sees the same frame
 * (struct trap_frame). trap_stub_table lists the stubs' addresses.
 *
 * run_user()/user_exit: enter ring 3 with IRET and come back through
 * INT 0x81, which abandons the ring-3 frame and returns from run_user().
 */
	.macro stub vec
	.pushsection .rodata.trapvec, "a"
	.long 7f
	.popsection
7:
	/* Vectors with a CPU-pushed error code: 8, 10-14, 17, 21, 29, 30. */
	.if (\vec == 8) || ((\vec >= 10) && (\vec <= 14)) || (\vec == 17)
	.elseif (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushl $0
	.endif
	pushl $(\vec)
	jmp trap_common
	.endm

	/* GAS limits macro nesting, so the recursion covers at most 32 vectors. */
	.macro stubs from, to
	stub \from
	.if (\to) - (\from)
	stubs "(\from + 1)", \to
	.endif
	.endm

	.pushsection .rodata.trapvec, "a"
	.align 4
	.globl trap_stub_table
trap_stub_table:
	.popsection

	.text
	.code32
	stubs 0, 31
	stubs 32, 63
	stubs 64, 95
	stubs 96, 127
	stubs 128, 159
	stubs 160, 191
	stubs 192, 223
	stubs 224, 255

trap_common:
	pushal
	cld
	pushl %esp
	call trap_dispatch
	addl $4, %esp
	popal
	addl $8, %esp
	iretl

	.globl run_user
run_user:
	pushl %ebp
	pushl %ebx
	pushl %esi
	pushl %edi
	movl %esp, user_saved_esp
	movl 20(%esp), %eax
	movw $0x23, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	pushl $0x23
	pushl $user_stack_top
	pushfl
	pushl $0x1b
	pushl $user_tramp
	iretl
user_tramp:
	call *%eax
	int $0x81
	ud2

	.globl user_exit
user_exit:
	movw $0x10, %cx
	movw %cx, %ds
	movw %cx, %es
	movw %cx, %fs
	movw %cx, %gs
	movl user_saved_esp, %esp
	popl %edi
	popl %esi
	popl %ebx
	popl %ebp
	ret

	.bss
	.align 16
user_saved_esp:
	.space 4
	.align 16
	.space 4096
user_stack_top:

	.section .note.GNU-stack, "", @progbits
