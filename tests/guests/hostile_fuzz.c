/*
 * hostile_fuzz: random VM exits. A seeded PRNG (the seed is printed; give
 * "seed=N" on the command line to replay a run) picks, a million times and
 * more, one of: CPUID with any leaf, IN/OUT of any width to any port,
 * RDMSR/WRMSR of any MSR with any value, MOV to CR0 (host-owned bits and
 * reserved ones) and CR4, CLTS and LMSW, MOV to and from debug registers,
 * XSETBV, INVLPG, INVD/WBINVD, RDRAND/RDSEED, VMX instructions, reads and
 * writes of the IOAPIC's and local APIC's registers with random offsets
 * and values, and hypercalls with any number and arguments.
 *
 * Every fault the CPU or the hypervisor raises is caught and counted.
 * Left out are only the operations whose documented effect is to end or
 * freeze this guest: the debug-exit, reset and ACPI sleep ports, HC_EXIT, the local
 * APIC's ICR (an INIT to itself), HLT with interrupts off, and CR0.PE/PG/WP
 * (its own paging). The host must never fault, the other VMs must finish,
 * and this one must survive: it ends with exit:0 and its counts.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"

const char guest_name[] = "hostile_fuzz";

#define OPS 1300000u	/* about 0.83 exits each (not every op exits): over a million */
#define IOAPIC 0xfec00000u
#define LAPIC 0xfee00000u

static uint64_t rng;
static unsigned faults[32], ops_of[16];

static uint64_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint32_t rnd(void)
{
	return (uint32_t)(next() >> 32);
}

static bool port_allowed(uint16_t p)
{
	/*
	 * debug-exit, 8042 reset, fast reset, PCI reset, the ACPI PM1a control
	 * register (SLP_EN with SLP_TYP 5 powers the VM off), and the console's
	 * own port
	 */
	return !((p >= 0xf0 && p <= 0xff) || p == 0x64 || p == 0x92 || (p >= 0xcf8 && p <= 0xcff) ||
		 (p >= 0x604 && p <= 0x605) || (p >= 0x3f8 && p <= 0x3ff));
}

static void count(int vec)
{
	if (vec >= 0 && vec < 32)
		faults[vec]++;
}

static void op_cpuid(void)
{
	uint32_t a = rnd(), c = rnd(), b, d;

	if (a & 1)
		a &= 0x8000001f;
	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}

static void op_port(void)
{
	uint16_t p;
	uint32_t v = rnd();
	int vec;

	do	/* a wide access reaches p..p+3 a byte at a time on the ISA bus */
		p = (uint16_t)rnd();
	while (!port_allowed(p) || !port_allowed((uint16_t)(p + 1)) ||
	       !port_allowed((uint16_t)(p + 2)) || !port_allowed((uint16_t)(p + 3)));
	trap_arm();
	switch (v & 7) {
	case 0: asm volatile(TRAP_TRY("inb %%dx, %%al") : "+a"(v) : "d"(p) : "memory"); break;
	case 1: asm volatile(TRAP_TRY("inw %%dx, %%ax") : "+a"(v) : "d"(p) : "memory"); break;
	case 2: asm volatile(TRAP_TRY("inl %%dx, %%eax") : "+a"(v) : "d"(p) : "memory"); break;
	case 3: asm volatile(TRAP_TRY("outb %%al, %%dx") : : "a"(v), "d"(p) : "memory"); break;
	case 4: asm volatile(TRAP_TRY("outw %%ax, %%dx") : : "a"(v), "d"(p) : "memory"); break;
	default: asm volatile(TRAP_TRY("outl %%eax, %%dx") : : "a"(v), "d"(p) : "memory"); break;
	}
	vec = trap_done();
	count(vec);
}

static void op_msr(void)
{
	static const uint32_t ranges[] = { 0, 0x100, 0x400, 0x480, 0x800, 0xc0000080, 0xc0010000,
					   0x40000000 };
	uint32_t r = rnd(), msr = ranges[r % 8] + (rnd() % 0x100);
	uint64_t v = next();

	if (msr == 0x1b)	/* APIC base: moving the APIC is allowed, and would hide it */
		msr = 0x1a;
	count(r & 0x100 ? try_wrmsr(msr, v) : try_rdmsr(msr, &v));
}

static void op_cr(void)
{
	uint32_t r = rnd(), cr0 = read_cr0(), keep = CR0_PE | CR0_PG | CR0_WP;

	switch (r & 3) {
	case 0:
		count(try_write_cr0((cr0 & keep) | (rnd() & ~keep)));
		break;
	case 1:
		count(try_write_cr4(rnd() & ~(1u << 17)));	/* PCIDE needs long mode: #GP anyway */
		break;
	case 2:
		asm volatile("clts");
		break;
	default:
		trap_arm();
		asm volatile(TRAP_TRY("lmsw %w0") : : "r"(rnd()) : "memory");
		count(trap_done());
	}
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_NE);	/* leave x87 usable */
}

static void op_insn(void)
{
	uint32_t r = rnd(), v = rnd();

	trap_arm();
	switch (r % 12) {
	case 0: asm volatile(TRAP_TRY("invd") : : : "memory"); break;
	case 1: asm volatile(TRAP_TRY("wbinvd") : : : "memory"); break;
	case 2: asm volatile(TRAP_TRY("invlpg (%0)") : : "r"(v) : "memory"); break;
	case 3: asm volatile(TRAP_TRY("xsetbv") : : "c"(v & 3), "a"(rnd()), "d"(0) : "memory"); break;
	case 4: asm volatile(TRAP_TRY("mov %0, %%dr0") : : "r"(v) : "memory"); break;
	case 5: asm volatile(TRAP_TRY("mov %0, %%dr7") : : "r"(v & ~0x2000u) : "memory"); break;
	case 6: asm volatile(TRAP_TRY("rdrand %0") : "=r"(v) : : "cc", "memory"); break;
	case 7: asm volatile(TRAP_TRY("rdseed %0") : "=r"(v) : : "cc", "memory"); break;
	case 8: asm volatile(TRAP_TRY("vmxon (%0)") : : "r"(&v) : "memory"); break;
	case 9: asm volatile(TRAP_TRY("vmread %0, %1") : : "r"(v), "r"(v) : "cc", "memory"); break;
	case 10: asm volatile(TRAP_TRY("rdpmc") : : "c"(v) : "eax", "edx", "memory"); break;
	default: asm volatile(TRAP_TRY("mov %%dr6, %0") : "=r"(v) : : "memory"); break;
	}
	count(trap_done());
	asm volatile("mov %0, %%dr7" : : "r"(0x400u));
}

static void op_mmio(void)
{
	uint32_t r = rnd(), v = rnd(), off = rnd() & 0xffc;
	uint32_t base = (r & 1) ? IOAPIC : LAPIC;
	volatile uint32_t *p;

	if (base == LAPIC && (off == 0x300 || off == 0x310 || off == 0xf0 || off == 0x350 ||
			      off == 0x360))
		off = 0x80;	/* not the ICR, the SVR or LINT0/1: TPR instead */
	p = (volatile uint32_t *)(uintptr_t)(base + off);
	trap_arm();
	if (r & 2)
		asm volatile(TRAP_TRY("movl %1, (%0)") : : "r"(p), "r"(v) : "memory");
	else
		asm volatile(TRAP_TRY("movl (%1), %0") : "=r"(v) : "r"(p) : "memory");
	count(trap_done());
}

static void op_hypercall(void)
{
	uint32_t nr = rnd();

	if (nr & 1)
		nr %= 8;
	if (nr == HC_EXIT)
		nr = HC_VERSION;
	vmcall(nr, rnd(), rnd() & 0x1fff, rnd());
}

typedef void (*op_fn)(void);

static const op_fn ops[] = {
	op_cpuid, op_port, op_port, op_msr, op_msr, op_cr, op_insn, op_insn, op_mmio, op_hypercall,
};

static uint64_t seed_from_cmdline(void)
{
	const char *c = guest_cmdline();
	uint64_t s = 0;

	for (; *c; c++) {
		if ((c == guest_cmdline() || c[-1] == ' ') && !__builtin_memcmp(c, "seed=", 5)) {
			for (c += 5; *c >= '0' && *c <= '9'; c++)
				s = s * 10 + (uint64_t)(*c - '0');
			return s;
		}
	}
	return 0;
}

void guest_main(void)
{
	uint64_t seed = seed_from_cmdline();
	unsigned nfaults = 0;

	if (vmk_skip("fuzz_survived"))
		guest_finish();
	if (!seed)
		seed = rdtsc() ^ 0x9e3779b97f4a7c15ull;
	rng = seed;
	gprintf("%s: seed %llu (replay with guest.cmdline = \"seed=%llu\"), %u operations\n",
		guest_name, (unsigned long long)seed, (unsigned long long)seed, OPS);
	for (unsigned i = 0; i < OPS; i++) {
		unsigned k = rnd() % (sizeof(ops) / sizeof(ops[0]));

		ops[k]();
		ops_of[k]++;
		if (i % 100000 == 99999)
			gprintf("%s: %u operations\n", guest_name, i + 1);
	}
	for (unsigned v = 0; v < 32; v++)
		nfaults += faults[v];
	gprintf("%s: %u faults caught (#UD %u, #GP %u, #PF %u, #DB %u)\n", guest_name, nfaults,
		faults[VEC_UD], faults[VEC_GP], faults[VEC_PF], faults[VEC_DB]);
	CHECK(true, "fuzz_survived");
	guest_finish();
}
