/*
 * 32-bit protected-mode descriptor tables, exception catching, interrupt
 * handlers and a trip to ring 3 for the 32-bit test guests.
 *
 * Catching: a guest arms a recovery point (TRAP_TRY), runs one instruction,
 * and if it faults, the exception handler records vector, error code, EIP
 * and CR2 in trap_last and resumes at the recovery point. An exception that
 * nobody armed for is reported as a failure and ends the guest.
 */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdbool.h>
#include <stdint.h>

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE 0x1b
#define SEL_UDATA 0x23
#define SEL_TSS 0x28
#define SEL_RODATA 0x30 /* read-only data segment, for #GP on write */
#define SEL_NOTPRESENT 0x38 /* data segment with P = 0, for #NP */

#define VEC_DE 0
#define VEC_DB 1
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NP 11
#define VEC_GP 13
#define VEC_PF 14
#define VEC_USER_EXIT 0x81 /* ring 3 returns to run_user() through this */

/* Register frame built by the stubs in trap32.S (pusha order, then the CPU's). */
struct trap_frame {
	uint32_t edi, esi, ebp, esp_pusha, ebx, edx, ecx, eax;
	uint32_t vector, err;
	uint32_t eip, cs, eflags;
	uint32_t user_esp, user_ss; /* only present when interrupted at CPL 3 */
};

struct trap_record {
	int vector; /* -1: nothing faulted */
	uint32_t err, eip, cr2, dr6;
};

extern volatile uint32_t trap_resume; /* recovery EIP, 0 when not armed */
extern volatile uint32_t trap_insn; /* address of the armed instruction */
extern volatile uint32_t trap_after; /* address just after it */
extern volatile struct trap_record trap_last;

typedef void (*irq_handler_t)(struct trap_frame *f);

void trap_init(void);
/* On a vCPU other than the first: load the same GDT and IDT (not TR). */
void trap_load_ap(void);
void trap_gdt_ptr(uint16_t *limit, uint32_t *base);
int irq_register(unsigned int vector, irq_handler_t fn);
void trap_arm(void);
int trap_done(void);
void load_idt_limit(uint16_t limit);

/*
 * Asm text running INSN with a recovery point right after it; the caller
 * calls trap_arm() before and trap_done() after. Uses local labels 8 and 9.
 */
#define TRAP_TRY(insn) TRAP_LABELS insn "\n9:\n"
#define TRAP_LABELS "movl $9f, trap_resume\n\tmovl $9f, trap_after\n\tmovl $8f, trap_insn\n8:\t"

int try_rdmsr(uint32_t msr, uint64_t *v);
int try_wrmsr(uint32_t msr, uint64_t v);
int try_write_cr0(uint32_t v);
int try_write_cr4(uint32_t v);

/* Run FN at CPL 3 on its own stack; returns FN's result. FN must not do I/O. */
int run_user(int (*fn)(void));

/* Identity-mapped paging with 4 MiB pages (CR4.PSE); PD must be 4 KiB aligned. */
#define PDE_P 0x001u
#define PDE_RW 0x002u
#define PDE_PS 0x080u
void pd_identity_4m(uint32_t *pd);
void paging_on(uint32_t *pd);
void paging_off(void);

#endif /* GUEST_TRAP_H */
