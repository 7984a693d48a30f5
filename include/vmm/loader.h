/*
 * Guest loaders (vmm/loader/): put a VM's guest image, its modules or
 * initrd and its command line into guest memory and choose the boot
 * vCPU's start state, after the machine's firmware tables are written.
 * Every bad image is one clear line naming the VM and the reason.
 */
#ifndef VMM_LOADER_H
#define VMM_LOADER_H

struct vm;
struct vcpu;
struct boot_module;

/* Load the VM's guest (by guest.type) onto vcpus[0]; 0 or -errno, reason logged. */
int guest_load(struct vm *vm);

/* vmm/loader/multiboot.c, vmm/loader/linux.c */
int multiboot_load(struct vm *vm, struct vcpu *boot, const struct boot_module *kernel);
int linux_load(struct vm *vm, struct vcpu *boot, const struct boot_module *kernel);

/* The boot module named by a config key, or NULL with the reason logged. */
const struct boot_module *loader_find_module(const struct vm *vm, const char *key,
					     const char *name);

#endif
