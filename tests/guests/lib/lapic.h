/*
 * The local APIC from a test guest: xAPIC registers at 0xfee00000 (the
 * guests run with paging off, or identity-mapped), or the x2APIC MSRs.
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#define LAPIC_BASE 0xfee00000u
#define LAPIC_ID 0x020
#define LAPIC_VER 0x030
#define LAPIC_TPR 0x080
#define LAPIC_PPR 0x0a0
#define LAPIC_EOI 0x0b0
#define LAPIC_LDR 0x0d0
#define LAPIC_DFR 0x0e0
#define LAPIC_SVR 0x0f0
#define LAPIC_ISR 0x100
#define LAPIC_TMR 0x180
#define LAPIC_IRR 0x200
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_SELF_IPI 0x3f0 /* x2APIC only */
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_LVT_ERROR 0x370
#define LAPIC_TMICT 0x380
#define LAPIC_TMCCT 0x390
#define LAPIC_TDCR 0x3e0

#define LVT_MASKED (1u << 16)
#define LVT_EXTINT (7u << 8)
#define LVT_NMI (4u << 8)
#define SVR_ENABLE (1u << 8)
#define APIC_BASE_BSP (1u << 8)
#define APIC_BASE_EXTD (1u << 10) /* x2APIC mode */
#define APIC_BASE_EN (1u << 11)
#define MSR_IA32_TSC_DEADLINE 0x6e0
/* x2APIC: register at xAPIC offset R is MSR 0x800 + R / 16 (SDM 3A 11.12.1.2). */
#define X2APIC_MSR(reg) (0x800u + ((reg) >> 4))
#define TIMER_ONESHOT (0u << 17)
#define TIMER_PERIODIC (1u << 17)
#define TIMER_TSC_DEADLINE (2u << 17)
#define ICR_FIXED (0u << 8)
#define ICR_LOWEST (1u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_NMI (4u << 8)
#define ICR_LOGICAL (1u << 11)
#define ICR_BUSY (1u << 12) /* delivery status: send pending */
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_ALL_BUT_SELF (3u << 18)

static inline uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t val)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = val;
}

/* Software-enable the xAPIC (spurious vector 0xff) and accept everything (TPR 0). */
static inline void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x1ff);
	lapic_write(LAPIC_TPR, 0);
}

static inline void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

static inline uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

/* Is vector v set in the 256-bit register (ISR, TMR, IRR) at offset base? */
static inline bool lapic_vec_set(uint32_t base, uint8_t v)
{
	return (lapic_read(base + 0x10 * (v / 32)) >> (v % 32)) & 1;
}

/* Send an IPI: destination APIC ID (physical), ICR low bits. */
static inline void lapic_ipi(uint32_t dest, uint32_t icr)
{
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, icr);
}

/* Wait until the last IPI left (ICR delivery status idle); false if it never did. */
static inline bool lapic_ipi_wait(void)
{
	for (unsigned int i = 0; i < 1000000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & ICR_BUSY))
			return true;
		asm volatile("pause");
	}
	return false;
}

#endif
