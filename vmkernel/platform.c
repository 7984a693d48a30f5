/* What machine we run on, and how a test run ends it. */
#include <string.h>
#include <vmkernel/cpu.h>
#include <vmkernel/log.h>
#include <vmkernel/platform.h>

bool platform_test_mode;
static const char *name = "bare metal";
static bool emulator;

void platform_detect(void)
{
	struct cpuid_regs r = cpuid(1, 0);
	char sig[13];

	if (!(r.ecx & CPUID1_ECX_HYPERVISOR)) {
		/* Bochs sets no hypervisor bit; its BIOS leaves "BOCHS " in the SMBIOS/ACPI OEM ids,
		 * which acpi.c reports. Here we only know it is not a paravirtual platform. */
		return;
	}
	r = cpuid(0x40000000, 0);
	memcpy(sig + 0, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	sig[12] = '\0';
	emulator = true;
	if (!strcmp(sig, "TCGTCGTCGTCG"))
		name = "QEMU TCG";
	else if (!strncmp(sig, "KVMKVMKVM", 9))
		name = "KVM";
	else if (!strcmp(sig, "VMwareVMware"))
		name = "VMware";
	else if (!strcmp(sig, "Microsoft Hv"))
		name = "Hyper-V";
	else if (!strncmp(sig, "XenVMMXenVMM", 12))
		name = "Xen";
	else
		name = "unknown hypervisor";
}

void platform_set_bochs(void);
void platform_set_bochs(void)
{
	name = "Bochs";
	emulator = true;
}

const char *platform_name(void)
{
	return name;
}

bool platform_is_emulator(void)
{
	return emulator;
}

void platform_exit(enum platform_exit_status st)
{
	log_flush();	/* every queued line out before the machine stops */
	irq_disable();
	/* QEMU with -device isa-debug-exit,iobase=0xf4 exits here. */
	outl(PLATFORM_DEBUG_EXIT_PORT, st);
	/* Bochs with magic_break enabled stops in its debugger; the run script then quits.
	 * On hardware and other emulators this is a no-op. */
	asm volatile("xchg %%bx, %%bx" ::: "memory");
	for (;;)
		cpu_halt();
}

void platform_reboot(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) null_idt = { 0, 0 };

	log_flush();
	irq_disable();
	/* 8042 keyboard controller pulse-reset line, then a triple fault. */
	for (int i = 0; i < 10000 && (inb(0x64) & 2); i++)
		io_delay();
	outb(0x64, 0xfe);
	for (int i = 0; i < 100000; i++)
		io_delay();
	asm volatile("lidt %0; int3" : : "m"(null_idt));
	for (;;)
		cpu_halt();
}
