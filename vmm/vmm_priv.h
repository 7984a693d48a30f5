/*
 * Internal interfaces of the VMM (vmm/). Not for use outside vmm/.
 *
 * Objects: a struct vm owns its guest memory (EPT), its I/O and MSR
 * bitmaps, its device models and its vCPUs; a struct vcpu owns a VMCS and
 * runs as one world of the vmkernel scheduler, pinned to one host CPU.
 *
 * Locking: vm->lock protects the VM's run state and its device models.
 * A vCPU's own fields are touched only by its world, except the
 * fields marked "any CPU" which use atomics.
 */
#ifndef VMM_PRIV_H
#define VMM_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <spinlock.h>
#include <vmconfig.h>
#include <vmx_hw.h>

struct vm;
struct vcpu;
struct world;

/* Per-CPU VMX state. Written only by its own CPU after boot. */
struct vmm_cpu {
	uint64_t vmxon_pa;
	bool vmx_on;
	const char *error;		/* why VMXON failed, if it did */
	uint64_t current_vmcs;		/* physical address of the current VMCS, 0 if none */
	struct vcpu *state_owner;	/* whose FPU and syscall MSRs are loaded */
	const struct vm *last_vm;	/* the VM of the last vCPU switched in (spec.c) */
	bool l1d_stale;			/* L1D may hold another VM's or host data (spec.c) */
};

/* spec.c: speculative-execution hygiene */
void spec_probe(void);
void spec_switch_to_vm(struct vmm_cpu *vc, const struct vm *vm);
void spec_before_entry(struct vmm_cpu *vc);

struct vmm_cpu *vmm_this_cpu(void);
uint64_t vmx_alloc_region(void);

/* Guest general-purpose registers, saved and restored by vmx_entry.S. */
struct vcpu_regs {
	uint64_t rax, rcx, rdx, rbx, rsp_unused, rbp, rsi, rdi;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;
};

/* Everything the exit handlers need about one exit, read once (exit.c). */
struct vmexit {
	uint32_t reason;		/* basic exit reason */
	bool entry_failure;
	uint64_t qual;
	uint64_t gpa;			/* EPT violation / misconfiguration */
	uint64_t gla;
	uint32_t insn_len;
	uint32_t insn_info;
	uint32_t intr_info;		/* exception / NMI / external interrupt */
	uint32_t intr_error;
	uint32_t idt_vectoring;		/* event being delivered when the exit happened */
	uint32_t idt_error;
	uint64_t rip, rsp, rflags, cr0, cr4;
};

/* What a handler wants done next. */
enum exit_action {
	EXIT_RESUME,		/* re-enter the guest at the same RIP */
	EXIT_SKIP,		/* the instruction was emulated: advance RIP, then re-enter */
	EXIT_BLOCK,		/* advance RIP, then wait for an interrupt (HLT) */
	EXIT_STOP_VM,		/* stop the whole VM; vcpu->vm->stop_reason says why */
};

#define VCPU_MAX_PENDING_VECTORS 256

struct vcpu {
	struct vcpu_regs regs;		/* first: vmx_entry.S uses generated offsets */
	struct vm *vm;
	unsigned int id;
	unsigned int host_cpu;
	uint64_t vmcs_pa;
	bool launched;
	uint32_t proc_ctls;		/* VMCS primary processor-based controls, cached */
	struct world *world;
	uint64_t boot_rip;		/* where the guest starts */
	uint64_t boot_rsp;
	bool started;			/* its world was created; atomic */
	struct vmexit exit;
	/* events */
	uint64_t pending_irqs[VCPU_MAX_PENDING_VECTORS / 64];	/* any CPU (atomic) */
	bool pending_exc;
	uint8_t exc_vector;
	bool exc_has_error;
	uint32_t exc_error;
	bool halted;
	uint8_t tpr;			/* CR8 */
	uint64_t timer_deadline_tsc;	/* HC_SET_TIMER, 0 = off */
	uint8_t timer_vector;
	/* MSRs outside the VMCS that the guest owns (switched with the world) */
	uint64_t msr_star, msr_lstar, msr_cstar, msr_fmask, msr_kernel_gs_base, msr_tsc_aux;
	uint8_t fpu[512] __attribute__((aligned(16)));	/* FXSAVE image */
	uint64_t dr[5];			/* DR0-DR3 and DR6 (DR7 is in the VMCS) */
	bool vmptrld_failed;		/* its VMCS could not be made current */
	/* statistics */
	uint64_t exits_total;
	uint64_t exits[EXIT_REASON_MAX + 1];
	uint64_t exit_tsc;		/* cycles spent handling exits */
};

enum vm_state { VM_CREATED, VM_RUNNING, VM_STOPPED };

struct vm_ram;
struct vdev_uart;
struct vdev_ioapic;

struct vm_console {
	struct spinlock lock;		/* one line at a time from this VM's vCPUs */
	char line[160];			/* lock */
	unsigned len;			/* lock */
	unsigned tokens;		/* lock: lines it may still print now */
	uint64_t last_refill;		/* lock: TSC of the last token added */
	uint64_t dropped;		/* lock: lines dropped and not yet reported */
	uint64_t last_report;		/* lock: TSC of the last "dropped" report */
};

struct vm {
	char name[64];
	unsigned int id;
	struct vm_config cfg;
	struct spinlock lock;
	enum vm_state state;			/* lock */
	enum vmconfig_stop_reason stop_kind;	/* lock: why it stopped (or exited) */
	int exit_status;			/* lock: status for exits, -1 otherwise */
	char stop_reason[200];			/* lock */
	unsigned int running_vcpus;		/* atomic */
	uint64_t ram_size;
	struct vm_ram *ram;
	uint64_t io_bitmap_pa[2];
	uint64_t msr_bitmap_pa;
	struct vdev_uart *uart;
	struct vdev_ioapic *ioapic;
	struct vm_console *console;
	bool finished;				/* every vCPU has ended; atomic */
	unsigned int nvcpus;
	struct vcpu *vcpus[64];
};

/* vm_boot.c */
#define VM_MAX 32
unsigned vm_count(void);
struct vm *vm_get(unsigned i);
struct vcpu *vcpu_create(struct vm *vm, unsigned id);
int vcpu_start(struct vcpu *v);
void vm_destroy_unstarted(struct vm *vm);
void vm_free_hw(struct vm *vm);

/* vmcs.c */
int vmcs_setup(struct vcpu *v);
/*
 * CR4 bits a guest may own directly: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR
 * OSXMMEXCPT FSGSBASE PCIDE SMEP SMAP. Every other bit is host-owned (masked).
 */
#define CR4_GUEST_OWNED 0x3307ffULL
uint64_t vcpu_cr0(void);	/* of the current VMCS, as the guest sees it */
uint64_t vcpu_cr4(void);
uint64_t vmx_real_cr0(uint64_t guest_cr0);
uint64_t vmx_real_cr4(uint64_t guest_cr4);
void vmcs_dump(struct vcpu *v, const char *why);
int vmcs_check_current(char *why, size_t len);
const char *vmx_entry_failure_str(uint32_t reason);

/* vmx_entry.S: enter the guest; returns 0 after a VM exit, 1 if the entry failed. */
int vmx_enter(struct vcpu_regs *regs, int launched);

/* exit.c */
void vmexit_decode(struct vcpu *v);
enum exit_action vmexit_dispatch(struct vcpu *v);

/* vcpu.c */
void vcpu_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
void vcpu_raise_irq(struct vcpu *v, uint8_t vector);
void vcpu_run(void *arg);
const struct world_ops *vcpu_ops(void);
void vcpu_probe_host(void);
bool vcpu_has_tsc_aux(void);

/* vm.c */
void vm_stop(struct vm *vm, enum vmconfig_stop_reason kind, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool vm_stopped(const struct vm *vm);
/* The guest asked to end (HC_EXIT, debug-exit port) with a status. */
void vm_exit(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A vCPU's world is about to end. */
void vm_vcpu_done(struct vcpu *v);
int vm_outcome(const struct vm *vm, char *buf, size_t len);
void vm_flush_translations(struct vm *vm);
uint16_t vm_vpid(const struct vm *vm, unsigned vcpu);

/* guest memory (guest_mem.c) */
int guest_ram_init(struct vm *vm, uint64_t size);
/* Back the first `bytes` of RAM now, in the largest pages possible (sched.mem.min). */
int guest_ram_reserve(struct vm *vm, uint64_t bytes);
void guest_ram_destroy(struct vm *vm);
uint64_t guest_eptp(struct vm *vm);
uint64_t guest_ram_pages(const struct vm *vm);
/* Back gpa with a host page if it is guest RAM and not yet backed: 0, or -EFAULT if not RAM. */
int guest_ram_fault(struct vm *vm, uint64_t gpa);
int guest_write(struct vm *vm, uint64_t gpa, const void *src, size_t len);
int guest_read(struct vm *vm, uint64_t gpa, void *dst, size_t len);
int guest_zero(struct vm *vm, uint64_t gpa, size_t len);

/* guest_walk.c: -EFAULT if the guest's page tables do not map la */
int guest_linear_to_phys(struct vcpu *v, uint64_t la, uint64_t *gpa);

/* port I/O dispatch (io.c) */
struct vdev_pio {
	const char *name;
	uint16_t base, count;
	/* size 1, 2 or 4; returns the value read */
	bool byte_wide;	/* an 8-bit device: wider accesses are split into bytes */
	uint32_t (*in)(struct vcpu *v, uint16_t port, unsigned size);
	void (*out)(struct vcpu *v, uint16_t port, unsigned size, uint32_t val);
};
#define VDEV_PIO(var)							\
	static const struct vdev_pio *const __vdev_pio_##var		\
	__attribute__((used, section(".vdev_pio"))) = &var
const struct vdev_pio *vdev_pio_find(uint16_t port);

/* MMIO device models (mmio.c): accesses are decoded from the faulting instruction. */
struct vdev_mmio {
	const char *name;
	uint64_t base, size;
	int (*read)(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t *val);
	int (*write)(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t val);
};
#define VDEV_MMIO(var)							\
	static const struct vdev_mmio *const __vdev_mmio_##var		\
	__attribute__((used, section(".vdev_mmio"))) = &var
const struct vdev_mmio *vdev_mmio_find(uint64_t gpa);
/* EPT violation inside a device's range: emulate the instruction. */
enum exit_action mmio_exit(struct vcpu *v, const struct vdev_mmio *d);
int vm_io_bitmaps_init(struct vm *vm);
size_t vdev_uart_size(void);

/* msr.c */
int vm_msr_bitmap_init(struct vm *vm);
bool vm_pat_switched(void);

/* the console of a VM: its UART output, line-buffered, prefixed with its name */
void vm_console_putc(struct vm *vm, char c);

#endif
