/*
 * A host environment for the VM's device models (tests/unit/vdev_fakes.c):
 * a struct vm with its device bus and interrupt wiring, memory from
 * calloc (guest RAM too), spinlocks that only count, a log captured in memory, host
 * one-shot timers that fire when the test moves the fake clock, and vCPU
 * kicks that are recorded. The device models under test are the real
 * files from vmm/vdev/.
 */
#ifndef VDEV_FAKES_H
#define VDEV_FAKES_H

#include <stdbool.h>
#include <stdint.h>
#include <vmm/vcpu.h>
#include <vmm/vm.h>

#define FAKE_TSC_HZ 1000000000ULL	/* 1 GHz: one TSC tick per nanosecond */

extern uint64_t fake_tsc;
extern char fake_log[16384];
extern unsigned fake_kicks[4];		/* per vCPU */
extern uint8_t *fake_ram;		/* the VM's first min(memsize, 64 MiB) of RAM */

/* A VM with nvcpus vCPUs (local APICs initialised), bus and IRQ wiring; no devices yet. */
struct vm *fake_vm(unsigned nvcpus, unsigned memsize_mb);
void fake_vm_free(struct vm *vm);
/* Advance the clock by ns, firing due timers in deadline order. */
void fake_advance(uint64_t ns);
/* Guest accesses through the VM's bus, as vCPU 0 (or v) would make them. */
uint32_t fake_in(struct vm *vm, uint16_t port, unsigned size);
void fake_out(struct vm *vm, uint16_t port, unsigned size, uint32_t val);
uint64_t fake_mmio_read(struct vm *vm, uint64_t addr, unsigned size);
void fake_mmio_write(struct vm *vm, uint64_t addr, unsigned size, uint64_t val);
/* PCI configuration dwords of bus 0, function 0, through ports 0xcf8/0xcfc. */
uint32_t fake_pci_cfg_read(struct vm *vm, unsigned slot, unsigned reg);
void fake_pci_cfg_write(struct vm *vm, unsigned slot, unsigned reg, uint32_t val);
bool fake_log_has(const char *s);

#endif
