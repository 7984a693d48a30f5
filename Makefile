# vmkernel: a bare-metal type-1 hypervisor for x86-64.
#
#   make            build/vmkernel.elf and build/vmkernel.iso (BIOS + UEFI, USB-writable)
#   make pxe        build/pxe/: a GRUB network-boot tree (BIOS and UEFI)
#   make check      unit tests + booted system tests; ends with "N passed, N failed"
#   make run        boot the hypervisor in an emulator on this terminal
#   make bench      measurements (boot time, image size, filesystem speed)
#   make soak       filesystem soak: 2000 random kills, pauses and I/O stalls of 4 hosts
#   make deps       install the Debian packages the build and tests need
#
# CROSS_COMPILE=x86_64-elf- uses a cross toolchain instead of the host's gcc/binutils.

CROSS_COMPILE ?=
CC := $(CROSS_COMPILE)gcc
LD := $(CROSS_COMPILE)ld
OBJCOPY := $(CROSS_COMPILE)objcopy
NM := $(CROSS_COMPILE)nm
HOSTCC ?= gcc

B := build
V ?= 0
ifeq ($(V),0)
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
msg =
endif
KERNEL_CMDLINE ?= console=com1,screen
TEST_CMDLINE ?= console=com1,screen test=all
FONT ?= /usr/share/consolefonts/Lat15-VGA16.psf.gz

# Empty until the compiler is installed (the first make run installs it, then re-runs make).
GCC_INCLUDE := $(shell $(CC) -print-file-name=include 2>/dev/null)
CFLAGS_KERNEL := -std=gnu11 -O2 -g -ffreestanding -fno-pic -fno-pie -mcmodel=kernel \
	-mno-red-zone -mno-mmx -mno-sse -mno-sse2 -mgeneral-regs-only -fno-stack-protector \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -fno-strict-aliasing \
	-Wall -Wextra -Werror -Wmissing-prototypes \
	-nostdinc -isystem $(GCC_INCLUDE) -isystem include/libc -Iinclude
# Retpolines: a guest cannot steer the vmkernel's indirect branches (vmm/vmx/spec.c).
CFLAGS_KERNEL += -mindirect-branch=thunk -mindirect-branch-register
ASFLAGS_KERNEL := -D__ASSEMBLY__ -fno-pic -Iinclude -I$(B)/include -nostdinc
LDFLAGS_KERNEL := -nostdlib -static -no-pie -z max-page-size=0x1000 -z noexecstack -T linker.ld

KSRC := $(wildcard boot/*.S) \
	$(wildcard vmkernel/*.c vmkernel/*.S vmkernel/lib/*.c vmkernel/mm/*.c) \
	$(wildcard vmm/*.c vmm/*/*.c vmm/*/*.S vmm/*/*/*.c) \
	$(wildcard drivers/*/*.c drivers/*.c drivers/*/*/*.c) \
	$(wildcard fs/*.c fs/kernel/*.c)
KSRC := $(filter-out vmm/vmx/asm-offsets.c,$(KSRC))
KOBJ := $(patsubst %,$(B)/k/%.o,$(basename $(KSRC))) $(B)/k/font.o

# The user-facing targets first install what is missing, then run make again
# for the real work: compiler paths are looked up when the Makefile is read.
all: deps-build
	$(Q)$(MAKE) --no-print-directory build
build: $(B)/vmkernel.elf $(B)/vmkernel.iso

# ---- test guests (multiboot v1 kernels run as VMs by the system tests and make run) ----
include tests/guests/guests.mk

# ---- vmkfstools, the VMFS host tool, and the filesystem's fuzz target ----
include tools/vmkfstools/build.mk

# ---- mkdisk, the GPT disk-image tool ----
include tools/mkdisk/build.mk

$(B)/k/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)$(CC) $(CFLAGS_KERNEL) -MMD -MP -c $< -o $@

$(B)/k/%.o: %.S
	@mkdir -p $(dir $@)
	$(call msg,AS,$<)$(CC) $(ASFLAGS_KERNEL) -MMD -MP -c $< -o $@

# Structure offsets for assembly, generated from C (vmm/vmx/asm-offsets.c).
$(B)/include/asm-offsets.h: vmm/vmx/asm-offsets.c include/vmm/vcpu.h
	@mkdir -p $(dir $@)
	$(call msg,GEN,$@)$(CC) $(CFLAGS_KERNEL) -S -o - $< | \
		sed -n 's/.*->\([A-Z0-9_]*\) \$$\{0,1\}\([0-9]*\).*/#define \1 \2/p' > $@.tmp
	$(Q)mv $@.tmp $@
$(B)/k/vmm/vmx/vmx_entry.o: $(B)/include/asm-offsets.h

$(B)/k/font.o: $(FONT)
	@mkdir -p $(dir $@)
	$(call msg,FONT,$<)gzip -dc $< > $(B)/k/font.psf
	$(Q)cd $(B)/k && $(OBJCOPY) -I binary -O elf64-x86-64 -B i386:x86-64 \
		--rename-section .data=.rodata,alloc,load,readonly,data,contents font.psf font.o

# Two-pass link: the second pass embeds the symbol table used by backtraces.
$(B)/k/ksyms0.S:
	@mkdir -p $(dir $@)
	$(Q)sh tools/gensyms.sh /dev/null > $@

$(B)/vmkernel.pass1.elf: $(KOBJ) $(B)/k/ksyms0.o linker.ld
	$(call msg,LD,$@)$(LD) $(LDFLAGS_KERNEL) -o $@ $(KOBJ) $(B)/k/ksyms0.o

$(B)/k/ksyms.S: $(B)/vmkernel.pass1.elf tools/gensyms.sh
	$(Q)$(NM) -n $< | sh tools/gensyms.sh - > $@

$(B)/vmkernel.elf: $(KOBJ) $(B)/k/ksyms.o linker.ld
	$(call msg,LD,$@)$(LD) $(LDFLAGS_KERNEL) -o $@ $(KOBJ) $(B)/k/ksyms.o
	$(Q)NM=$(NM) sh tools/check-elf.sh $@ $(B)/vmkernel.pass1.elf

$(B)/vmkernel.iso: $(B)/vmkernel.elf tools/mkiso.sh tools/grubcfg.sh
	$(call msg,ISO,$@)sh tools/mkiso.sh $@ $< "$(KERNEL_CMDLINE)" 3

# A small VMFS volume the in-kernel filesystem test mounts from a boot module.
$(B)/vmfs.img: build/vmkfstools
	$(call msg,VMFS,$@)rm -f $@ && build/vmkfstools -C vmfs6 -S ktest --image-size 16m \
		--max-hosts 4 --lease-timeout 2 $@ >/dev/null

# The Linux test guest: Debian's kernel and an initramfs with busybox and tests/linux/init.
$(B)/linux/initrd.gz: tools/mklinux.sh tests/linux/init tests/linux/rdtsc.c
	$(call msg,LINUX,$(B)/linux)sh tools/mklinux.sh $(B)/linux
$(B)/linux/vmlinuz $(B)/linux/vmlinux.gz: $(B)/linux/initrd.gz

# make run's image: the hypervisor with its default VMs: a Linux VM (examples/linux.vmx)
# and a few of the test guests.
DEMO_GUESTS := cpuid interrupts smp2 long64
DEMO_FILES := $(foreach g,$(DEMO_GUESTS),$(GUEST_OUT)/$(g).elf $(GUEST_DIR)/$(g).vmx) \
	examples/linux.vmx $(B)/linux/vmlinux.gz $(B)/linux/initrd.gz $(B)/datastore1.vmfs
# The Linux VM's datastore: a module named *.vmfs is mounted as /vmfs/volumes/<label>.
$(B)/datastore1.vmfs: build/vmkfstools
	$(Q)rm -f $@.tmp && build/vmkfstools -C vmfs6 -S datastore1 --image-size 64m \
		--max-hosts 2 $@.tmp >/dev/null && build/vmkfstools $@.tmp mkdir /linux && \
	build/vmkfstools -c 32m -d thin $@.tmp /linux/linux.vmdk >/dev/null && mv $@.tmp $@
$(B)/vmkernel-demo.iso: $(B)/vmkernel.elf tools/mkiso.sh tools/grubcfg.sh $(DEMO_FILES)
	$(call msg,ISO,$@)sh tools/mkiso.sh $@ $< "$(KERNEL_CMDLINE)" 3 $(DEMO_FILES)

# The test image carries a VMFS volume for the in-kernel filesystem test (vmfs_ramdisk).
$(B)/vmkernel-test.iso: $(B)/vmkernel.elf tools/mkiso.sh tools/grubcfg.sh $(B)/vmfs.img
	$(call msg,ISO,$@)sh tools/mkiso.sh $@ $< "$(TEST_CMDLINE)" 0 $(B)/vmfs.img

pxe: deps-build
	$(Q)$(MAKE) --no-print-directory pxe-tree
pxe-tree: $(B)/vmkernel.elf
	$(Q)sh tools/mkpxe.sh $(B)/pxe $(B)/vmkernel.elf "$(KERNEL_CMDLINE)"

# ---- host unit tests (cmocka, ASan + UBSan) ----
UNIT_TESTS :=
include $(wildcard tests/unit/*.mk)
UNIT_CFLAGS := -std=gnu11 -g -O1 -Wall -Wextra -Werror -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Iinclude -DHOST_TEST
UNIT_BINS := $(patsubst %,$(B)/unit/%,$(UNIT_TESTS))

.SECONDEXPANSION:
$(B)/unit/%: $$($$*_SRCS) $(wildcard include/*/*.h)
	@mkdir -p $(dir $@)
	$(call msg,HOSTCC,$@)$(HOSTCC) $(UNIT_CFLAGS) $($*_SRCS) -lcmocka -o $@

unit: deps-test
	$(Q)$(MAKE) --no-print-directory unit-run
unit-run: $(UNIT_BINS)
	$(Q)sh tests/run-unit.sh $(UNIT_BINS)

check: deps-test
	$(Q)$(MAKE) --no-print-directory check-run
check-run: $(B)/vmkernel.elf $(B)/vmkernel.iso $(B)/vmkernel-test.iso $(UNIT_BINS) pxe-tree guests \
		build/vmkfstools build/fuzz_mount $(B)/vmfs.img $(B)/linux/vmlinuz build/mkdisk
	$(Q)sh tests/check.sh $(UNIT_BINS)

run: deps-run
	$(Q)$(MAKE) --no-print-directory run-emulator
run-emulator: $(B)/vmkernel-demo.iso
	$(Q)sh tools/run.sh $(B)/vmkernel-demo.iso

bench: deps-test
	$(Q)$(MAKE) --no-print-directory bench-run
bench-run: $(B)/vmkernel.elf $(B)/vmkernel-test.iso guests build/vmkfstools $(LINUXBOOT) \
		$(B)/linux/vmlinuz
	$(Q)sh tools/bench.sh

soak: deps-test
	$(Q)sh tests/fs/soak.sh

# The memory-overcommit system test alone (it is also part of make check).
check-overcommit: deps-test
	$(Q)$(MAKE) --no-print-directory check-overcommit-run
check-overcommit-run: $(B)/vmkernel.elf $(B)/vmkernel-test.iso guests build/vmkfstools \
		build/mkdisk $(B)/linux/vmlinuz
	$(Q)sh tests/system/run-case.sh bochs-linux-overcommit bochs 1 256 cdrom bios linux-overcommit

deps deps-test:
	@sh tools/deps.sh test
deps-build:
	@sh tools/deps.sh build
deps-run:
	@sh tools/deps.sh run

clean:
	rm -rf $(B)

.PHONY: all build pxe pxe-tree unit unit-run check check-run run run-emulator bench bench-run soak \
	check-overcommit check-overcommit-run \
	deps deps-build deps-test deps-run clean
-include $(shell find $(B)/k -name '*.d' 2>/dev/null)
