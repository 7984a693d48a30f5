/*
 * Exceptions and interrupts. Every IDT vector enters through a stub in
 * vmkernel/entry.S that saves a struct trap_frame and calls trap_dispatch().
 * Exceptions in the vmkernel are fatal unless the faulting instruction has
 * an exception-table fixup (EXTABLE_ENTRY), as rdmsr_safe() does.
 */
#ifndef TRAP_H
#define TRAP_H

#include <stdint.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "entry.S pushes 22 quadwords");

/* Interrupt vectors used by the vmkernel. */
#define VEC_IRQ_BASE		0x20	/* legacy PIC, remapped then masked */
#define VEC_DEV_FIRST		0x30	/* device vectors (irqvec.h): 0x30-0xef */
#define VEC_DEV_LAST		0xef
#define VEC_CALL_FUNC		0xf0	/* smp_call() IPI */
#define VEC_WAKE		0xf1	/* wake a halted CPU */
#define VEC_VCPU_KICK		0xf2	/* make a vCPU running on that CPU exit and look at its events */
#define VEC_LAPIC_TIMER		0xfe
#define VEC_SPURIOUS		0xff

typedef void (*irq_handler_t)(struct trap_frame *tf);

void trap_init(void);			/* builds the IDT once */
void trap_load_idt(void);		/* lidt on the calling CPU */
/* Handlers get the interrupted frame, or NULL when the interrupt arrived as a VM exit. */
int irq_register(uint8_t vector, irq_handler_t fn);
/* A handler that gets an argument instead of the frame (device interrupts; see irqvec.h). */
int irq_register_arg(uint8_t vector, void (*fn)(void *arg), void *arg);
void irq_unregister_arg(uint8_t vector);
/* Run the handler of an interrupt taken by a VM exit (acknowledged on exit), then EOI. */
void irq_dispatch_vector(uint8_t vector);

/* Exception-table fixups: a fault at `insn` resumes at `fixup`. */
struct extable_entry {
	uint64_t insn;
	uint64_t fixup;
};

#define EXTABLE_ENTRY(insn_label, fixup_label)				\
	".pushsection .extable, \"a\"\n"				\
	".balign 8\n"							\
	".quad " #insn_label ", " #fixup_label "\n"			\
	".popsection\n"

/* Read 8 bytes at va; -EFAULT if it faults instead of panicking. */
int probe_read_u64(const void *va, uint64_t *out);
/* Write 8 bytes at va; -EFAULT if it faults. */
int probe_write_u64(void *va, uint64_t v);

#endif
