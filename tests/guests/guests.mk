# Test guests: freestanding multiboot v1 kernels (tests/guests/README.md).
# Included from the top Makefile; `make guests` builds build/guests/NAME.elf.
#
# 32-bit guests are built by the host gcc with -m32 (no libraries are
# linked, so gcc-multilib is not needed); long64 is built with -m64 and
# enters through .code32 code that switches to long mode itself.

GUEST_DIR := tests/guests
GUEST_OUT := build/guests
GUEST_CC ?= gcc

GUEST_NAMES32 := cpuid msr cr portio exceptions interrupts memtouch vmcall badaccess \
	hostile_vmx hostile_msr_port triplefault spinner insns bench smp2 mbinfo mmio chatty
# Hostile guests (docs/security.md): each attack class a guest can try, contained.
GUEST_NAMES32 += hostile_debug hostile_strio hostile_memhog hostile_flood hostile_leak \
	hostile_hcall hostile_mmio hostile_fuzz
# Virtio devices, driven well and badly (virtio_blk; hostile_virtio.vmx uses its image).
GUEST_NAMES32 += virtio_blk
# virtio-net on the host's switches: two VMs exchange frames, one on another VLAN hears
# nothing, a hostile driver (net_*.vmx use its image).
GUEST_NAMES32 += virtio_net
# The PC platform, checked as an OS uses it.
GUEST_NAMES32 += lapic pic_pit rtc acpi pci fwcfg
# The resource manager: CPU shares, limits and reservations.
GUEST_NAMES32 += shares spinlock
# The resource manager: memory (page sharing, hypervisor swapping).
GUEST_NAMES32 += pshare swap
GUEST_NAMES := $(GUEST_NAMES32) long64
GUEST_ELFS := $(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES))
GUEST_VMXS := $(patsubst %,$(GUEST_DIR)/%.vmx,$(GUEST_NAMES))

GUEST_CFLAGS := -std=gnu11 -O2 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-nostdlib -static -mno-sse -mno-mmx -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fno-strict-aliasing \
	-Wall -Wextra -Werror -Wmissing-prototypes -I$(GUEST_DIR)/lib
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_DIR)/guest.ld \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,--build-id=none -Wl,--no-warn-rwx-segments

GUEST_LIB32 := lib/entry32.S lib/trap32.S lib/console.c lib/check.c lib/hv.c lib/string.c lib/trap.c \
	lib/pc.c lib/virtio.c
GUEST_LIB64 := long64/entry64.S lib/console.c lib/check.c lib/hv.c lib/string.c
GUEST_LIB32_OBJS := $(patsubst %,$(GUEST_OUT)/obj32/%.o,$(basename $(GUEST_LIB32)))
GUEST_LIB64_OBJS := $(patsubst %,$(GUEST_OUT)/obj64/%.o,$(basename $(GUEST_LIB64)))

guests: $(GUEST_ELFS) $(GUEST_OUT)/vtest.vmfs $(GUEST_OUT)/swapds.vmfs

# The datastore the virtio guests' disks live on, handed over as a boot module
# (a module named *.vmfs is mounted as a datastore): thin VMDKs, empty.
$(GUEST_OUT)/vtest.vmfs: build/vmkfstools $(GUEST_DIR)/guests.mk
	@mkdir -p $(dir $@)
	$(Q)rm -f $@.tmp && build/vmkfstools -C vmfs6 -S vtest --image-size 32m --max-hosts 2 \
		$@.tmp >/dev/null && \
	for d in virtio_blk hostile; do build/vmkfstools $@.tmp mkdir /$$d || exit 1; done && \
	build/vmkfstools -c 16m -d thin $@.tmp /virtio_blk/disk.vmdk >/dev/null && \
	build/vmkfstools -c 4m -d thin $@.tmp /virtio_blk/ro.vmdk >/dev/null && \
	build/vmkfstools -c 4m -d thin $@.tmp /hostile/disk.vmdk >/dev/null && mv $@.tmp $@

# The datastore the swap guest's swap file goes on (room for its 30 MiB and the 4 MiB of
# the in-kernel swap test's VM).
$(GUEST_OUT)/swapds.vmfs: build/vmkfstools $(GUEST_DIR)/guests.mk
	@mkdir -p $(dir $@)
	$(Q)rm -f $@.tmp && build/vmkfstools -C vmfs6 -S swapds --image-size 48m --max-hosts 2 \
		$@.tmp >/dev/null && build/vmkfstools $@.tmp mkdir /swap && mv $@.tmp $@

$(GUEST_OUT)/obj32/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OUT)/obj32/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -fno-pic -MMD -MP -c $< -o $@

$(GUEST_OUT)/obj64/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m64 -mno-red-zone -mcmodel=small $(GUEST_CFLAGS) -MMD -MP -c $< -o $@

$(GUEST_OUT)/obj64/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m64 -fno-pic -MMD -MP -c $< -o $@

$(patsubst %,$(GUEST_OUT)/%.elf,$(GUEST_NAMES32)): $(GUEST_OUT)/%.elf: \
		$(GUEST_OUT)/obj32/%.o $(GUEST_LIB32_OBJS) $(GUEST_DIR)/guest.ld
	$(GUEST_CC) -m32 $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

$(GUEST_OUT)/long64.elf: $(GUEST_OUT)/obj64/long64/long64.o $(GUEST_LIB64_OBJS) \
		$(GUEST_DIR)/guest.ld
	$(GUEST_CC) -m64 $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

# Run every guest directly under QEMU TCG (no hypervisor) and print a table.
guests-qemu: guests
	sh $(GUEST_DIR)/run-qemu.sh $(GUEST_OUT)

.PHONY: guests guests-qemu
-include $(shell find $(GUEST_OUT) -name '*.d' 2>/dev/null)

# linuxboot: boots Linux on the bare machine, make bench's native reference
# (tools/bench.sh). Not a test guest (it needs the kernel and initrd as
# modules), so it is built apart, with the hypervisor's boot-protocol code.
LINUXBOOT := build/bench/linuxboot.elf
LINUXBOOT_HV := vmm/loader/linux_boot.c vmm/mem/pc_layout.c
LINUXBOOT_OBJS := $(patsubst %.c,build/bench/obj/%.o,$(LINUXBOOT_HV) $(GUEST_DIR)/linuxboot.c)
build/bench/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 $(GUEST_CFLAGS) -Iinclude/libc -Iinclude -MMD -MP -c $< -o $@
$(LINUXBOOT): $(LINUXBOOT_OBJS) $(GUEST_LIB32_OBJS) $(GUEST_DIR)/guest.ld
	$(GUEST_CC) -m32 $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)
