/*
 * hostile_msr_port: writes that would hurt the host if they reached it.
 * MSRs the guest does not own raise #GP; MSRs the VM emulates (its local
 * APIC, MTRRs) change only the VM. Port writes that reprogram a real
 * machine's chipset (PCI configuration, PIC, PIT, CMOS, IDE, VGA) reach
 * only the VM's own devices or nothing. The last write resets the machine
 * through the keyboard controller: that resets this VM (its .vmx says
 * guest.reboot "stop", so it ends as "reset") and nothing else.
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
	{ MSR_IA32_TSC, 0, "tsc_write_gp" },
	{ MSR_IA32_MTRR_DEF_TYPE, 0xc02, "mtrr_def_type_bad_type_gp" },
	{ 0x1d9, 0x1, "debugctl_write_gp" },
	{ 0x48, 0x1, "spec_ctrl_write_gp" },
	{ 0x400, 0, "mc0_ctl_write_gp" },
	{ 0x9e, 0, "smbase_write_gp" },
	{ 0x80b, 0, "x2apic_eoi_write_gp" },
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
	/* An invalid IA32_APIC_BASE transition (x2APIC with the APIC off) changes nothing. */
	try_rdmsr(MSR_IA32_APIC_BASE, &before);
	f = try_wrmsr(MSR_IA32_APIC_BASE, (before & ~(1ull << 11)) | (1ull << 10));
	try_rdmsr(MSR_IA32_APIC_BASE, &after);
	CHECKF(f == VEC_GP && after == before, "apic_base_unchanged",
	       "vector %d, 0x%llx then 0x%llx", f, (unsigned long long)before,
	       (unsigned long long)after);
}

struct port_write {
	uint16_t port;
	uint8_t width;
	uint32_t value;
};

/* Chipset reprogramming a real machine would feel; all of it stays in the VM. */
static const struct port_write port_writes[] = {
	{ 0xcf8, 4, 0x80000000 }, { 0xcfc, 4, 0xffffffff }, { 0xcf8, 4, 0x80000004 },
	{ 0xcfc, 2, 0x0000 },     { 0x21, 1, 0x00 },        { 0xa1, 1, 0x00 },
	{ 0x20, 1, 0x11 },        { 0x43, 1, 0x30 },        { 0x40, 1, 0x01 },
	{ 0x40, 1, 0x00 },        { 0x70, 1, 0x8f },        { 0x71, 1, 0x0a },
	{ 0x61, 1, 0x03 },        { 0x3c2, 1, 0x00 },       { 0x1f6, 1, 0xa0 },
	{ 0x1f7, 1, 0xec },       { 0x2f9, 1, 0x0f },       { 0x604, 2, 0x2000 },
	{ 0xb004, 2, 0x2000 },
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
	/* IDE and COM2 do not exist in the VM: they still float high. */
	CHECKF(inb(0x1f7) == 0xff && inb(0x2f9) == 0xff, "absent_ports_still_all_ones",
	       "an absent device's port reflected a guest write");
	CHECK(true, "survived_chipset_writes");
}

void guest_main(void)
{
	unsigned int i;

	if (!vmk_present()) {
		for (i = 0; i < sizeof(msr_writes) / sizeof(msr_writes[0]); i++)
			SKIP(msr_writes[i].name, NOT_VMK);
		SKIP("apic_base_unchanged", NOT_VMK);
		SKIP("absent_ports_still_all_ones", NOT_VMK);
		SKIP("survived_chipset_writes", NOT_VMK);
		return;
	}
	check_msrs();
	check_ports();
	if (checks_failed())
		return;		/* end with the failure status, not with the reset */
	/* The keyboard controller's reset pulse resets this VM only: it ends as "reset". */
	gprintf("hostile_msr_port: resetting through port 0x64\n");
	outb(0x64, 0xfe);
	wait_tsc(10000000);
	guest_fail("the reset through port 0x64 did not happen");
}
