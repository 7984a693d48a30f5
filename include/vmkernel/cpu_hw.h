/*
 * Architectural constants: control-register bits, MSR numbers, CPUID bits.
 * Names follow the Intel SDM (Vol. 3A ch. 2, Vol. 4 for MSRs).
 */
#ifndef CPU_HW_H
#define CPU_HW_H

/* CR0 (SDM 3A 2.5) */
#define X86_CR0_PE		(1UL << 0)
#define X86_CR0_MP		(1UL << 1)
#define X86_CR0_EM		(1UL << 2)
#define X86_CR0_TS		(1UL << 3)
#define X86_CR0_ET		(1UL << 4)
#define X86_CR0_NE		(1UL << 5)
#define X86_CR0_WP		(1UL << 16)
#define X86_CR0_AM		(1UL << 18)
#define X86_CR0_NW		(1UL << 29)
#define X86_CR0_CD		(1UL << 30)
#define X86_CR0_PG		(1UL << 31)

/* CR4 (SDM 3A 2.5) */
#define X86_CR4_PAE		(1UL << 5)
#define X86_CR4_PGE		(1UL << 7)
#define X86_CR4_OSXSAVE		(1UL << 18)
#define X86_CR4_OSFXSR		(1UL << 9)
#define X86_CR4_VMXE		(1UL << 13)
#define X86_CR4_FSGSBASE	(1UL << 16)

/* MSRs (SDM Vol. 4) */
#define MSR_IA32_APIC_BASE		0x0000001b
#define MSR_IA32_FEATURE_CONTROL	0x0000003a
#define MSR_IA32_TSC_DEADLINE		0x000006e0
#define MSR_IA32_VMX_BASIC		0x00000480
#define MSR_IA32_VMX_PINBASED_CTLS	0x00000481
#define MSR_IA32_VMX_PROCBASED_CTLS	0x00000482
#define MSR_IA32_VMX_EXIT_CTLS		0x00000483
#define MSR_IA32_VMX_ENTRY_CTLS		0x00000484
#define MSR_IA32_VMX_MISC		0x00000485
#define MSR_IA32_VMX_CR0_FIXED0		0x00000486
#define MSR_IA32_VMX_CR0_FIXED1		0x00000487
#define MSR_IA32_VMX_CR4_FIXED0		0x00000488
#define MSR_IA32_VMX_CR4_FIXED1		0x00000489
#define MSR_IA32_VMX_PROCBASED_CTLS2	0x0000048b
#define MSR_IA32_VMX_EPT_VPID_CAP	0x0000048c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS	0x0000048d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x0000048e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS	0x0000048f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS	0x00000490
#define MSR_IA32_X2APIC_BASE		0x00000800	/* x2APIC register n at 0x800 + (n >> 4) */
#define MSR_IA32_EFER			0xc0000080
#define MSR_IA32_FS_BASE		0xc0000100
#define MSR_IA32_GS_BASE		0xc0000101
#define MSR_IA32_KERNEL_GS_BASE		0xc0000102
#define MSR_IA32_PAT			0x00000277

/* IA32_APIC_BASE bits */
#define APIC_BASE_BSP			(1ULL << 8)
#define APIC_BASE_EXTD			(1ULL << 10)	/* x2APIC mode */
#define APIC_BASE_EN			(1ULL << 11)

/* IA32_FEATURE_CONTROL bits (SDM 3C 23.7) */
#define FEATURE_CONTROL_LOCKED			(1ULL << 0)
#define FEATURE_CONTROL_VMXON_IN_SMX		(1ULL << 1)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX	(1ULL << 2)

/* EFER */
#define EFER_LME		(1ULL << 8)
#define EFER_NXE		(1ULL << 11)

/* CPUID.1 */
#define CPUID1_ECX_VMX		(1U << 5)
#define CPUID1_ECX_X2APIC	(1U << 21)
#define CPUID1_ECX_TSC_DEADLINE	(1U << 24)
#define CPUID1_ECX_HYPERVISOR	(1U << 31)
#define CPUID1_EDX_APIC		(1U << 9)
/* CPUID.80000001 */
#define CPUID81_EDX_PDPE1GB	(1U << 26)
#define CPUID81_EDX_NX		(1U << 20)
/* CPUID.80000007 */
#define CPUID87_EDX_INVARIANT_TSC (1U << 8)

/* RFLAGS */
#define X86_RFLAGS_IF		(1UL << 9)

/* Page-table entry bits (SDM 3A 4.5) */
#define PTE_P			(1ULL << 0)
#define PTE_W			(1ULL << 1)
#define PTE_U			(1ULL << 2)
#define PTE_PWT			(1ULL << 3)
#define PTE_PCD			(1ULL << 4)
#define PTE_A			(1ULL << 5)
#define PTE_D			(1ULL << 6)
#define PTE_PS			(1ULL << 7)
#define PTE_G			(1ULL << 8)
#define PTE_NX			(1ULL << 63)
#define PTE_ADDR_MASK		0x000ffffffffff000ULL

/* Exception vectors (SDM 3A 6.3.1) */
#define X86_EXC_DE	0
#define X86_EXC_DB	1
#define X86_EXC_NMI	2
#define X86_EXC_BP	3
#define X86_EXC_UD	6
#define X86_EXC_DF	8
#define X86_EXC_GP	13
#define X86_EXC_PF	14
#define X86_EXC_MC	18

#endif
