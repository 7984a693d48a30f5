/*
 * The multiboot (v1) loader's glue: the guest image and its modules come
 * from boot modules, the memory map from the PC machine's E820 map, and
 * the boot vCPU starts in 32-bit protected mode with EAX/EBX as the
 * multiboot specification says (vmm/loader/mb1_loader.c does the work).
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/log.h>
#include <vmm/guest_mem.h>
#include <vmm/loader.h>
#include <vmm/mb1_loader.h>
#include <vmm/pc_layout.h>
#include <vmm/vm.h>

static int mem_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	return guest_write(ctx, gpa, src, len);
}

static int mem_zero(void *ctx, uint64_t gpa, size_t len)
{
	return guest_zero(ctx, gpa, len);
}

int multiboot_load(struct vm *vm, struct vcpu *boot, const struct boot_module *k)
{
	struct mb1_module_in mods[VMCONFIG_MAX_MODULES];
	struct e820_entry map[8];
	struct mb1_mmap_in mmap[8];
	/* Modules and the information structure go in low RAM, below the ACPI tables. */
	struct mb1_guest_mem gm = { vm, pc_acpi_base(vm->ram_size), mem_write, mem_zero };
	struct mb1_load_params p = { vm->cfg.cmdline, "vmkernel", mods, 0, mmap, 0 };
	struct mb1_load_result r;
	unsigned n = pc_e820(vm->ram_size, map, 8);

	for (unsigned i = 0; i < vm->cfg.nmodules; i++) {
		const struct boot_module *b = loader_find_module(vm, "guest.modules",
								 vm->cfg.modules[i]);

		if (!b)
			return -ENOENT;
		mods[i] = (struct mb1_module_in){ b->name, b->data, b->size };
		p.nmodules++;
	}
	for (unsigned i = 0; i < n; i++)
		mmap[i] = (struct mb1_mmap_in){ map[i].addr, map[i].size, map[i].type };
	p.nmmap = n;
	if (mb1_load(k->data, k->size, &p, &gm, &r)) {
		pr_err("%s: guest image %s: %s\n", vm->name, k->name, r.err);
		return -EINVAL;
	}
	boot->boot = (struct vcpu_boot){
		.mode = VCPU_MODE_PROT32, .rip = r.entry, .rax = r.eax, .rbx = r.ebx,
		.code_sel = 0x08, .data_sel = 0x10,
	};
	__atomic_store_n(&boot->boot_pending, true, __ATOMIC_RELEASE);
	pr_info("%s: %s loaded at [%#llx, %#llx) (ELF%s), entry %#x, %u module(s)\n", vm->name,
		k->name, (unsigned long long)r.image_start, (unsigned long long)r.image_end,
		r.elf64 ? "64" : "32", r.entry, p.nmodules);
	return 0;
}
