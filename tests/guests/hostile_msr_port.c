/*
 * hostile_msr_port: writes that would hurt the host if they reached it.
 * MSRs the guest does not own raise #GP and keep their guest-visible
 * value; port writes that reset or reprogram a real machine (keyboard
 * controller reset, PCI reset control, fast A20/reset, PCI configuration,
 * PIC, PIT, CMOS) go nowhere: the VM keeps running and exits 0.
 *
 * Under plain QEMU these writes would really reset it, so the whole guest
 * needs vmkernel.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "hostile_msr_port";

struct msr_write {
	uint32_t msr;
	uint64_t value;
	const char *name;
};

static const struct msr_write msr_writes[] = {
	{ MSR_IA32_FEATURE_CONTROL, 0x5, "feature_control_write_gp" },
	{ MSR_IA32_APIC_BASE, 0xfee00000, "apic_base_write_gp" },
	{ MSR_IA32_MISC_ENABLE, 0, "misc_enable_write_gp" },
	{ MSR_IA32_TSC, 0, "tsc_write_gp" },
	{ MSR_IA32_MTRR_DEF_TYPE, 0, "mtrr_def_type_write_gp" },
	{ 0x200, 0x6, "mtrr_physbase0_write_gp" },
	{ 0x1d9, 0x1, "debugctl_write_gp" },
	{ 0x48, 0x1, "spec_ctrl_write_gp" },
	{ 0x400, 0, "mc0_ctl_write_gp" },
	{ 0x9e, 0, "smbase_write_gp" },
	{ 0x80b, 0, "x2apic_eoi_write_gp" },
	{ 0x6e0, 1, "tsc_deadline_write_gp" },
	{ 0x199, 0xffff, "perf_ctl_write_gp" },
	{ 0xc0010117, 0, "amd_vm_hsave_write_gp" },
};

static void check_msrs(void)
{
	uint64_t before = 0, after = 0;
	unsigned int i;
	int f;

	for (i = 0; i < sizeof(msr_writes) / sizeof(msr_writes[0]); i++) {
		f = try_wrmsr(msr_writes[i].msr, msr_writes[i].value);
		CHECKF(f == VEC_GP && trap_last.err == 0, msr_writes[i].name,
		       "wrmsr 0x%x <- 0x%llx gave vector %d error 0x%x", msr_writes[i].msr,
		       (unsigned long long)msr_writes[i].value, f, trap_last.err);
	}
	/* The readable ones still read what they read before. */
	try_rdmsr(MSR_IA32_APIC_BASE, &before);
	try_wrmsr(MSR_IA32_APIC_BASE, before ^ (1ull << 11));
	try_rdmsr(MSR_IA32_APIC_BASE, &after);
	CHECK_EQ64(after, before, "apic_base_unchanged");
}

struct port_write {
	uint16_t port;
	uint8_t width;
	uint32_t value;
};

/* In order: the harmless reprogramming first, the resets last. */
static const struct port_write port_writes[] = {
	{ 0xcf8, 4, 0x80000000 }, { 0xcfc, 4, 0xffffffff }, { 0xcf8, 4, 0x80000004 },
	{ 0xcfc, 2, 0x0000 },     { 0x21, 1, 0x00 },        { 0xa1, 1, 0x00 },
	{ 0x20, 1, 0x11 },        { 0x43, 1, 0x30 },        { 0x40, 1, 0x01 },
	{ 0x40, 1, 0x00 },        { 0x70, 1, 0x8f },        { 0x71, 1, 0x0a },
	{ 0x61, 1, 0x03 },        { 0x3c2, 1, 0x00 },       { 0x1f6, 1, 0xa0 },
	{ 0x1f7, 1, 0xec },       { 0x2f9, 1, 0x0f },       { 0x64, 1, 0xfe },
	{ 0xcf9, 1, 0x06 },       { 0xcf9, 1, 0x0e },       { 0x92, 1, 0x01 },
	{ 0x604, 2, 0x2000 },     { 0xb004, 2, 0x2000 },
};

static void port_write(const struct port_write *w)
{
	if (w->width == 1)
		outb(w->port, (uint8_t)w->value);
	else if (w->width == 2)
		outw(w->port, (uint16_t)w->value);
	else
		outl(w->port, w->value);
}

static void check_ports(void)
{
	unsigned int i;

	for (i = 0; i < sizeof(port_writes) / sizeof(port_writes[0]); i++) {
		gprintf("hostile_msr_port: out 0x%x -> port 0x%x\n", port_writes[i].value,
			port_writes[i].port);
		port_write(&port_writes[i]);
	}
	wait_tsc(1000000);
	CHECKF(inl(0xcfc) == 0xffffffff && inb(0x92) == 0xff && inb(0xcf9) == 0xff &&
		       inb(0x64) == 0xff && inb(0x71) == 0xff,
	       "host_ports_still_all_ones", "a host port reflected a guest write");
	CHECK(true, "survived_reset_writes");
}

void guest_main(void)
{
	unsigned int i;

	if (!vmk_present()) {
		for (i = 0; i < sizeof(msr_writes) / sizeof(msr_writes[0]); i++)
			SKIP(msr_writes[i].name, NOT_VMK);
		SKIP("apic_base_unchanged", NOT_VMK);
		SKIP("host_ports_still_all_ones", NOT_VMK);
		SKIP("survived_reset_writes", NOT_VMK);
		return;
	}
	check_msrs();
	check_ports();
}
