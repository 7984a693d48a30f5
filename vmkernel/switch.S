/*
 * sched_switch(uint64_t *save_rsp, uint64_t new_rsp): save the callee-saved
 * registers on the current stack, store the stack pointer, load the other
 * world's, and return on its stack. A new world's stack is prepared by
 * world_create() so that the first switch "returns" into world_start.
 */
	.text
	.globl sched_switch
sched_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

	.globl world_start
world_start:
	/* First run of a world: r12 = the world (see world_create). */
	movq %r12, %rdi
	call world_entry
	ud2
