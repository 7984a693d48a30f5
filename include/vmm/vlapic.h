/*
 * The virtual local APIC of a vCPU (vmm/vdev/lapic.c).
 *
 * Its registers live in one 4 KiB page laid out as the architectural
 * xAPIC register page. With the CPU's APIC virtualization that page is the
 * VMCS's virtual-APIC page: the processor reads TPR, IRR, ISR and the
 * other registers straight from it, delivers interrupts from its IRR
 * (virtual-interrupt delivery) and virtualizes EOI and TPR writes. Without
 * it the same page is the model's state, and every access exits (the
 * xAPIC MMIO page through EPT, x2APIC through the MSR bitmap, CR8 through
 * CR8-load/store exiting). Either way, the page is the truth.
 *
 * Concurrency: IRR and TMR bits are set by any CPU (another vCPU's IPI, a
 * device, a host timer) with atomic operations; everything else belongs
 * to the vCPU's own world, except the timer state, which the timer
 * callback shares under l->lock.
 */
#ifndef VMM_VLAPIC_H
#define VMM_VLAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <vmkernel/ktimer.h>
#include <vmkernel/spinlock.h>

struct vcpu;
struct apic_msg;

/* Register offsets in the xAPIC page (SDM 3A 11.4.1, table 11-1). */
#define APIC_ID		0x020
#define APIC_VER	0x030
#define APIC_TPR	0x080
#define APIC_APR	0x090
#define APIC_PPR	0x0a0
#define APIC_EOI	0x0b0
#define APIC_RRD	0x0c0
#define APIC_LDR	0x0d0
#define APIC_DFR	0x0e0
#define APIC_SVR	0x0f0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_LVT_CMCI	0x2f0
#define APIC_ICR_LO	0x300
#define APIC_ICR_HI	0x310
#define APIC_LVT_TIMER	0x320
#define APIC_LVT_THERM	0x330
#define APIC_LVT_PERF	0x340
#define APIC_LVT_LINT0	0x350
#define APIC_LVT_LINT1	0x360
#define APIC_LVT_ERROR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0
#define APIC_SELF_IPI	0x3f0	/* x2APIC only */

#define APIC_SVR_ENABLE		(1U << 8)
#define APIC_LVT_MASKED		(1U << 16)
#define APIC_LVT_LEVEL		(1U << 15)
#define APIC_LVT_REMOTE_IRR	(1U << 14)
#define APIC_LVT_PENDING	(1U << 12)
#define APIC_TIMER_MODE(lvt)	(((lvt) >> 17) & 3)
#define APIC_TIMER_ONESHOT	0
#define APIC_TIMER_PERIODIC	1
#define APIC_TIMER_TSCDEADLINE	2

#define APIC_BASE_BSP		(1ULL << 8)
#define APIC_BASE_EXTD		(1ULL << 10)	/* x2APIC mode */
#define APIC_BASE_ENABLE	(1ULL << 11)
#define APIC_DEFAULT_BASE	0xfee00000ULL

/* The ISR/IRR/TMR bit of a vector: register 0x10 * (vector / 32), bit vector % 32. */
#define APIC_VEC_REG(base, vec)	((base) + 0x10 * ((vec) / 32))
#define APIC_VEC_BIT(vec)	(1U << ((vec) % 32))

/* What a vCPU does on INIT and SIPI (SDM 3A 8.4): the start-up protocol. */
enum vlapic_run_state {
	VLAPIC_RUNNING = 0,
	VLAPIC_WAIT_SIPI,	/* after INIT: waits for a start-up IPI */
};

struct vlapic {
	struct vcpu *v;
	uint32_t *regs;			/* the 4 KiB register page (direct-mapped) */
	uint64_t regs_pa;
	uint64_t apic_base;		/* IA32_APIC_BASE */
	uint32_t initial_id;		/* the APIC ID the vCPU was born with */
	uint32_t esr_pending;		/* errors since the last ESR write; atomic */
	struct spinlock lock;		/* timer state, INIT/SIPI signals */
	struct ktimer timer;
	uint64_t timer_deadline;	/* lock: host TSC of the next expiry, 0 = none */
	uint64_t timer_period;		/* lock: host TSC ticks per period (periodic mode) */
	uint64_t timer_start;		/* lock: host TSC at the last TMICT load / reload */
	uint64_t tsc_deadline;		/* IA32_TSC_DEADLINE as the guest wrote it */
	uint64_t timer_hz;		/* guest-visible timer input clock (before TDCR) */
	uint8_t timer_mode;		/* lock: the LVT timer mode the timer runs in */
	/* Signals to the vCPU: NMI (atomic); INIT, SIPI and run_state under lock */
	bool nmi_pending;
	bool tmr_changed;		/* a TMR bit changed: APICv's EOI-exit bitmap is stale */
	bool init_pending;
	uint8_t sipi_vector;
	bool sipi_pending;
	enum vlapic_run_state run_state;	/* lock */
	bool hw_assist;			/* the virtual-APIC page is used by the CPU (APICv) */
	/*
	 * Vectors posted while hw_assist: the CPU itself updates IRR in the
	 * page while the vCPU runs, so other CPUs never write it then; they set
	 * the vector here (atomic), then posted, and kick. The vCPU moves them
	 * into IRR before each entry and before it decides to stay halted.
	 */
	uint32_t pir[8];
	bool posted;
	uint64_t timer_fires;		/* statistics */
};

int vlapic_init(struct vlapic *l, struct vcpu *v, uint32_t apic_id, bool bsp, uint64_t timer_hz);
void vlapic_destroy(struct vlapic *l);
void vlapic_reset(struct vlapic *l, bool keep_base);

/* Accesses: xAPIC MMIO (offset in the page), x2APIC MSRs 0x800-0x8ff. 0 or -1 (fault). */
int vlapic_mmio_read(struct vlapic *l, uint32_t off, unsigned size, uint64_t *val);
int vlapic_mmio_write(struct vlapic *l, uint32_t off, unsigned size, uint64_t val);
int vlapic_rdmsr(struct vlapic *l, uint32_t msr, uint64_t *val);	/* -1: #GP */
int vlapic_wrmsr(struct vlapic *l, uint32_t msr, uint64_t val);		/* -1: #GP */
/* IA32_APIC_BASE; -1 for a write the guest may not do (#GP), -2 for an unsupported relocation. */
uint64_t vlapic_get_base(const struct vlapic *l);
int vlapic_set_base(struct vlapic *l, uint64_t val);
bool vlapic_x2apic(const struct vlapic *l);
bool vlapic_hw_enabled(const struct vlapic *l);	/* IA32_APIC_BASE.EN */
/* TPR as CR8 sees it (bits 7:4 of TPR). */
uint8_t vlapic_get_cr8(const struct vlapic *l);
void vlapic_set_cr8(struct vlapic *l, uint8_t cr8);
/* IA32_TSC_DEADLINE (guest TSC values; tsc_offset converts them). */
uint64_t vlapic_get_tsc_deadline(const struct vlapic *l);
void vlapic_set_tsc_deadline(struct vlapic *l, uint64_t guest_tsc);

/* The vCPU takes a pending INIT (true: it now waits for a SIPI), or a SIPI's vector (or -1). */
bool vlapic_take_init(struct vlapic *l);
int vlapic_take_sipi(struct vlapic *l);

/* An APIC-bus message addressed to this LAPIC (from any CPU): makes it pending, kicks. */
void vlapic_accept(struct vlapic *l, const struct apic_msg *m);
/* Does the message's destination name this LAPIC? */
bool vlapic_match(const struct vlapic *l, const struct apic_msg *m, const struct vlapic *src);
uint8_t vlapic_ppr(const struct vlapic *l);
uint32_t vlapic_id(const struct vlapic *l);

/*
 * Delivery, on the vCPU's own world before entry. Software path: the
 * highest vector in IRR that PPR lets through (-1 if none), and its
 * acknowledgement (IRR -> ISR). APICv path: the highest vector in IRR
 * (RVI), and the vectors whose EOI must exit (level-triggered: TMR).
 */
int vlapic_pending_irq(const struct vlapic *l);
void vlapic_ack_irq(struct vlapic *l, uint8_t vector);
int vlapic_highest_irr(const struct vlapic *l);
/* The virtualized EOI of a level-triggered vector (APICv EOI exit). */
void vlapic_eoi_vector(struct vlapic *l, uint8_t vector);
/* An APIC-write exit: the guest wrote register off of the virtual-APIC page. */
int vlapic_write_trap(struct vlapic *l, uint32_t off);
/* LINT0 takes the PIC's ExtINT (virtual-wire mode), or the APIC is off altogether. */
bool vlapic_accepts_extint(const struct vlapic *l);

/* The vCPU left APIC virtualization: make the software model's derived state current. */
void vlapic_sync_after_apicv(struct vlapic *l);
/* The vCPU's own thread: move posted vectors into IRR. True if there were any. */
bool vlapic_merge_posted(struct vlapic *l);

/* Host TSC of this vCPU's next timer expiry (0: none), for idle waits. */
uint64_t vlapic_timer_deadline(struct vlapic *l);

#endif
