/*
 * Layout of the AP start-up page shared by boot/trampoline.S and
 * vmkernel/smp.c: the code sits at the start of the page, the parameter
 * block that smp.c fills in for each AP at these offsets.
 */
#ifndef SMP_TRAMPOLINE_H
#define SMP_TRAMPOLINE_H

#define AP_GDT_PTR	0xf00	/* u16 limit, u32 linear base */
#define AP_FAR32	0xf08	/* far pointer: u32 offset, u16 selector */
#define AP_FAR64	0xf10	/* far pointer: u32 offset, u16 selector */
#define AP_CR3		0xf18	/* kernel page tables (below 4 GiB) */
#define AP_STACK	0xf20	/* top of the AP's kernel stack */
#define AP_ENTRY	0xf28	/* C entry point, ap_entry(pcpu) */
#define AP_PCPU		0xf30	/* the AP's struct pcpu */
#define AP_EFER		0xf38	/* EFER value: LME, NXE */
#define AP_GDT		0xf40	/* 4 descriptors: null, code32, data, code64 */
#define AP_GDT_CODE32	0x08
#define AP_GDT_DATA	0x10
#define AP_GDT_CODE64	0x18

#endif
