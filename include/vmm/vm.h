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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmkernel/spinlock.h>
#include <vmm/vcpu.h>
#include <vmm/vmconfig.h>

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
void vm_destroy_unstarted(struct vm *vm);
void vm_free_hw(struct vm *vm);

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
/* the console of a VM: its UART output, line-buffered, prefixed with its name */
void vm_console_putc(struct vm *vm, char c);

#endif
