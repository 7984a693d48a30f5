/*
 * A virtual machine: its configuration, run state, guest memory, the
 * bitmaps the hardware reads, its devices and its vCPUs (vmm/vm.c,
 * vmm/vm_boot.c).
 *
 * Locking: vm->lock protects the run state (state, stop_kind,
 * exit_status, stop_reason) and the publication of vCPU worlds; device
 * models have their own locks. The VM list has vms_lock (vm_boot.c).
 */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <vmkernel/sched_policy.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmkernel/spinlock.h>
#include <vmm/vcpu.h>
#include <vmm/vmconfig.h>

enum vm_state { VM_CREATED, VM_RUNNING, VM_RESTARTING, VM_STOPPED };

/* How a VM ended (vm_outcome() names them as test.expect does). */
enum vm_end_kind {
	VM_END_STOPPED,		/* the VMM stopped it: stop_kind says why */
	VM_END_EXIT,		/* the guest ended with a status (debug-exit, HC_EXIT) */
	VM_END_POWEROFF,	/* the guest powered off (ACPI S5) */
	VM_END_RESET,		/* the guest reset it and guest.reboot is "stop" */
};

struct vm_ram;
struct vm_swap;
struct vdev_bus;
struct vm_irq;

struct log_source;

struct vm_console {
	struct spinlock lock;		/* one line at a time from this VM's vCPUs */
	struct log_source *src;		/* its ring in the host log; set once (atomic) */
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
	enum vm_end_kind end_kind;		/* lock: how it ended */
	enum vmconfig_stop_reason stop_kind;	/* lock: why the VMM stopped it */
	int exit_status;			/* lock: status for exits, -1 otherwise */
	char stop_reason[200];			/* lock */
	unsigned int running_vcpus;		/* atomic */
	unsigned int restarts;			/* guest resets that booted it again */
	uint64_t ram_size;
	struct vm_ram *ram;
	struct vm_swap *swap;			/* its swap file (mem/guest_swap.c); lives as long as vm */
	uint64_t io_bitmap_pa[2];
	uint64_t msr_bitmap_pa;
	struct vdev_bus *bus;			/* its devices (vdev/bus.c) */
	struct vm_irq *irq;			/* its interrupt wiring (vdev/irq.c) */
	int64_t tsc_offset;			/* guest TSC = host TSC + tsc_offset */
	uint64_t apic_access_pa;		/* APICv: the page EPT maps at the xAPIC base */
	uint64_t private_pages;			/* atomic: mirror of its RAM's, for admission */
	uint64_t overhead_bytes;		/* the VMM's own memory for it but EPT tables (start) */
	uint64_t ept_cpus;			/* atomic: bit n: CPU n entered the VM (TLB shootdown) */
	struct sched_group sched_group;		/* its vCPUs' skew (co-scheduling); the scheduler's */
	struct vm_console *console;
	bool finished;				/* every vCPU has ended; atomic */
	/* Test judgement of its console (vm_ktest.c), under console->lock */
	uint32_t console_seen;			/* bit n: test.console text n was seen */
	unsigned int bad_skips;			/* "check X: skipped" not named in test.skip */
	char first_bad_skip[48];
	unsigned int nvcpus;
	struct vcpu *vcpus[64];
};

/* vm_boot.c */
#define VM_MAX 32
unsigned vm_count(void);
struct vm *vm_get(unsigned i);
void vm_destroy_unstarted(struct vm *vm);
void vm_free_hw(struct vm *vm);
/* Boot the VM again after a guest reset (the last vCPU world to end calls it). */
void vm_restart(struct vm *vm);
void vm_destroy_devices(struct vm *vm);

/* vmstat.c: its memory, one line; prefix may be "" */
void vm_log_memory(struct vm *vm, const char *prefix);
/* The host's page-sharing figures, one line (if anything is shared). */
void vm_log_pshare(void);
void vm_note_overhead(struct vm *vm);

/* vm.c */
void vm_stop(struct vm *vm, enum vmconfig_stop_reason kind, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
bool vm_stopped(const struct vm *vm);	/* vCPUs must leave their loops (stop or restart) */
bool vm_ended(const struct vm *vm);	/* it ended for good */
/* The guest asked to end (HC_EXIT, debug-exit port) with a status. */
void vm_exit(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The guest powered the machine off (ACPI S5). */
void vm_poweroff(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The guest reset the machine: it ends or restarts as guest.reboot says. */
void vm_guest_reset(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A vCPU's world is about to end. */
void vm_vcpu_done(struct vcpu *v);
int vm_outcome(const struct vm *vm, char *buf, size_t len);
/* Every CPU drops the VM's cached translations: 0, or the CPUs that did not answer (bit n). */
uint64_t vm_flush_translations(struct vm *vm);
/* The VM's memory back to the host, quarantined while a CPU still owes a flush. */
void vm_release_memory(struct vm *vm);
uint16_t vm_vpid(const struct vm *vm, unsigned vcpu);
/* the console of a VM: its UART output, line-buffered, prefixed with its name */
void vm_console_putc(struct vm *vm, char c);
/* vm_ktest.c: what the test supervisor notes about each complete console line */
void vm_test_console_line(struct vm *vm, const char *line);
void vm_console_write(struct vm *vm, const char *s, size_t n);

#endif
