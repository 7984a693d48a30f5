/*
 * Loading a VM's guest: the machine's firmware tables first (they live in
 * guest RAM, which a restart wipes), then the image by guest.type.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/log.h>
#include <vmm/loader.h>
#include <vmm/machine.h>
#include <vmm/vm.h>

const struct boot_module *loader_find_module(const struct vm *vm, const char *key,
					     const char *name)
{
	const struct boot_module *b = bootmod_find(name);

	if (!b)
		pr_err("%s: %s = \"%s\": no boot module of that name (load it in GRUB with "
		       "'module2 /path/%s %s')\n", vm->name, key, name, name, name);
	return b;
}

int guest_load(struct vm *vm)
{
	const struct boot_module *k = loader_find_module(vm, "guest.kernel", vm->cfg.kernel);
	int err;

	if (!k)
		return -ENOENT;
	err = machine_write_firmware(vm);
	if (err) {
		pr_err("%s: cannot write the firmware tables (%d)\n", vm->name, err);
		return err;
	}
	if (vm->cfg.guest_type == VMCONFIG_GUEST_LINUX)
		return linux_load(vm, vm->vcpus[0], k);
	return multiboot_load(vm, vm->vcpus[0], k);
}
