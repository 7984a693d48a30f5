/*
 * Booting Linux: guest.kernel is a bzImage (or the same kernel as an ELF
 * vmlinux), guest.initrd an optional initramfs, guest.cmdline the kernel
 * command line. The plan comes from linux_boot.c (pure logic); this file
 * writes it into guest memory and sets the boot vCPU's 64-bit start state.
 */
#define pr_fmt(fmt) "vm: " fmt
#include <errno.h>
#include <string.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/kmem.h>
#include <vmkernel/log.h>
#include <vmm/linux_boot.h>
#include <vmm/guest_mem.h>
#include <vmm/loader.h>
#include <vmm/pc_layout.h>
#include <vmm/vm.h>

static int write_tables(struct vm *vm, const uint8_t *img, const struct bzimage_info *k,
			const struct linux_plan *p)
{
	struct e820_entry map[BP_E820_MAX];
	unsigned n = pc_e820(vm->ram_size, map, BP_E820_MAX);
	uint64_t gdt[4];
	uint8_t *buf = kmalloc(6 * 4096);
	int err;

	if (!buf)
		return -ENOMEM;
	linux_zero_page(buf, img, k, p, map, n);
	err = guest_write(vm, p->zero_page, buf, 4096);
	if (!err) {
		linux_page_tables((uint64_t *)buf, p->page_tables);
		err = guest_write(vm, p->page_tables, buf, p->page_table_bytes);
	}
	kfree(buf);
	linux_boot_gdt(gdt);
	if (!err)
		err = guest_write(vm, p->gdt, gdt, sizeof(gdt));
	if (!err)
		err = guest_write(vm, p->cmdline, vm->cfg.cmdline, strlen(vm->cfg.cmdline) + 1);
	return err;
}

/* The protected-mode kernel of a bzImage, or a vmlinux's segments (their BSS zeroed). */
static int write_kernel(struct vm *vm, const uint8_t *img, const struct bzimage_info *k,
			const struct linux_plan *p)
{
	int err = 0;

	if (k->format == LINUX_BZIMAGE)
		return guest_write(vm, p->kernel, img + k->setup_size, k->kernel_size);
	for (unsigned i = 0; i < k->nseg && !err; i++) {
		const struct linux_elf_seg *s = &k->seg[i];

		err = guest_write(vm, s->paddr, img + s->offset, s->filesz);
		if (!err && s->memsz > s->filesz)
			err = guest_zero(vm, s->paddr + s->filesz, s->memsz - s->filesz);
	}
	return err;
}

int linux_load(struct vm *vm, struct vcpu *boot, const struct boot_module *k)
{
	const struct boot_module *initrd = NULL;
	struct bzimage_info info;
	struct linux_plan p;
	char why[200];
	int err;

	if (vm->cfg.initrd[0] &&
	    !(initrd = loader_find_module(vm, "guest.initrd", vm->cfg.initrd)))
		return -ENOENT;
	if (bzimage_parse(k->data, k->size, &info, why, sizeof(why)) ||
	    linux_plan(&info, vm->ram_size, strlen(vm->cfg.cmdline), initrd ? initrd->size : 0,
		       &p, why, sizeof(why))) {
		pr_err("%s: guest.kernel %s: %s\n", vm->name, k->name, why);
		return -EINVAL;
	}
	err = write_kernel(vm, k->data, &info, &p);
	if (!err && initrd)
		err = guest_write(vm, p.initrd, initrd->data, initrd->size);
	if (!err)
		err = write_tables(vm, k->data, &info, &p);
	if (err) {
		pr_err("%s: cannot write the kernel into guest memory (%d)\n", vm->name, err);
		return err;
	}
	boot->boot = (struct vcpu_boot){
		.mode = VCPU_MODE_LONG64, .rip = p.entry, .rsi = p.zero_page, .cr3 = p.page_tables,
		.gdt_base = p.gdt, .gdt_limit = 4 * 8 - 1,
		.code_sel = LINUX_BOOT_CS, .data_sel = LINUX_BOOT_DS,
	};
	__atomic_store_n(&boot->boot_pending, true, __ATOMIC_RELEASE);
	pr_info("%s: Linux %s (%s, boot protocol %u.%02u) at %#llx, %u KiB; initrd %s%s%s%s at "
		"%#llx, %llu KiB\n", vm->name, k->name,
		info.format == LINUX_VMLINUX ? "ELF vmlinux" : "bzImage", info.version >> 8,
		info.version & 0xff, (unsigned long long)p.kernel, info.init_size >> 10,
		initrd ? initrd->name : "none",
		vm->cfg.cmdline[0] ? "; command line \"" : "", vm->cfg.cmdline,
		vm->cfg.cmdline[0] ? "\"" : "", (unsigned long long)p.initrd,
		(unsigned long long)(p.initrd_size >> 10));
	return 0;
}
