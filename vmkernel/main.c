/*
 * vmkernel_main(): the boot CPU's path from the multiboot2 hand-off to the
 * ready line. Each step either works or says plainly what is missing and
 * carries on with less (no ACPI: one CPU; no VT-x: no VMs), except where
 * the host itself cannot run (no memory map, no usable RAM).
 */
#define pr_fmt(fmt) "vmkernel: " fmt
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <vmkernel/acpi.h>
#include <vmkernel/apic.h>
#include <vmkernel/bootmod.h>
#include <vmkernel/cmdline.h>
#include <vmkernel/config.h>
#include <vmkernel/console.h>
#include <vmkernel/cpu.h>
#include <vmkernel/init.h>
#include <vmkernel/kmem.h>
#include <vmkernel/ktest.h>
#include <vmkernel/layout.h>
#include <vmkernel/log.h>
#include <vmkernel/multiboot2.h>
#include <vmkernel/paging.h>
#include <vmkernel/panic.h>
#include <vmkernel/percpu.h>
#include <vmkernel/platform.h>
#include <vmkernel/sched.h>
#include <vmkernel/smp.h>
#include <vmkernel/timer.h>
#include <vmkernel/trap.h>

#define VMKERNEL_VERSION "0.1"

void vmkernel_main(uint32_t magic, uint32_t info_phys);
void timer_set_pm_timer(uint16_t port, bool is_32bit);
void platform_set_bochs(void);
void bootmod_init(const struct mb2_info *mb);

static struct mb2_info mb;
static struct cmdline cmd;
static struct acpi_info acpi;
static bool have_acpi;
static uint8_t bsp_ist[IST_COUNT + 1][IST_STACK_SIZE] __attribute__((aligned(16)));
extern char boot_stack_top[];

const struct acpi_info *acpi_get(void)
{
	return have_acpi ? &acpi : NULL;
}

uint64_t boot_efi_systab(void)
{
	return mb.has_efi64_systab ? mb.efi64_systab : 0;
}

const char *bootparam_get(const char *key)
{
	return cmdline_get(&cmd, key);
}

static void bsp_percpu_init(void)
{
	struct pcpu *p = &pcpu_array[0];

	p->id = 0;
	p->kstack_top = boot_stack_top;
	for (int i = 1; i <= IST_COUNT; i++)
		p->ist_top[i] = bsp_ist[i] + IST_STACK_SIZE;
	pcpu_init_self(p);
	p->online = true;
}

/* The boot CPU's exception stacks start static; once pages exist, move them behind guards. */
static void bsp_guarded_ist_stacks(void)
{
	struct pcpu *p = &pcpu_array[0];

	for (int i = 1; i <= IST_COUNT; i++) {
		void *top = paging_alloc_stack(IST_STACK_SIZE);

		if (top) {
			p->ist_top[i] = top;
			p->tss.ist[i - 1] = (uint64_t)top;
		}
	}
}

static void fail_boot(const char *why)
{
	log_printf(LOG_EMERG, "cannot boot: %s\n", why);
	panic("boot failed: %s", why);
}

static uint16_t serial_port_from(const char *word)
{
	static const uint16_t com[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	unsigned long v = 0;

	if (!strncmp(word, "com", 3) && word[3] >= '1' && word[3] <= '4' && !word[4])
		return com[word[3] - '1'];
	if (!strncmp(word, "0x", 2)) {
		for (const char *p = word + 2; *p; p++) {
			int d = *p >= '0' && *p <= '9' ? *p - '0' :
				*p >= 'a' && *p <= 'f' ? *p - 'a' + 10 : -1;
			if (d < 0 || v > 0xffff)
				return 0;
			v = v * 16 + d;
		}
		return v <= 0xfff8 ? (uint16_t)v : 0;
	}
	return 0;
}

/* console=com1,screen (default), console=com2, console=0x2f8, console=screen, console=none */
static void parse_console(struct console_params *cp)
{
	const char *spec = cmdline_get(&cmd, "console");
	char word[32];

	if (!spec || !*spec)
		spec = "com1,screen";
	for (const char *p = spec; *p;) {
		size_t n = strchr(p, ',') ? (size_t)(strchr(p, ',') - p) : strlen(p);

		snprintf(word, sizeof(word), "%.*s", (int)n, p);
		if (!strcmp(word, "screen") || !strcmp(word, "vga")) {
			cp->screen = true;
		} else if (!strcmp(word, "none")) {
		} else if (serial_port_from(word)) {
			cp->serial = true;
			cp->serial_port = serial_port_from(word);
		} else {
			/* Reported once the console is up. */
			cp->serial = true;
			cp->serial_port = 0x3f8;
		}
		p += n + (p[n] == ',');
	}
	cp->serial_baud = 115200;
}

static bool booted_by_uefi(void)
{
	return mb.has_efi64_systab || mb.has_efi_mmap;
}

static void fill_fb(struct console_params *cp)
{
	const struct mb2_framebuffer *fb = &mb.fb;
	uint64_t size = (uint64_t)fb->pitch * fb->height;

	if (!mb.has_fb) {
		/* A BIOS boot without a framebuffer tag is in VGA text mode; UEFI has no such thing. */
		if (booted_by_uefi())
			return;
		cp->fb_kind = CONSOLE_FB_EGA_TEXT;
		cp->fb_virt = phys_to_virt(0xb8000);
		cp->fb_width = 80;
		cp->fb_height = 25;
		return;
	}
	if (!paging_phys_mapped(fb->addr, size))
		return;
	cp->fb_phys = fb->addr;
	cp->fb_virt = phys_to_virt(fb->addr);
	cp->fb_width = fb->width;
	cp->fb_height = fb->height;
	cp->fb_pitch = fb->pitch;
	cp->fb_bpp = fb->bpp;
	if (fb->type == MB2_FB_TYPE_EGA_TEXT) {
		cp->fb_kind = CONSOLE_FB_EGA_TEXT;
	} else if (fb->type == MB2_FB_TYPE_RGB) {
		cp->fb_kind = CONSOLE_FB_RGB;
		cp->fb_red_pos = fb->red_pos;
		cp->fb_red_size = fb->red_size;
		cp->fb_green_pos = fb->green_pos;
		cp->fb_green_size = fb->green_size;
		cp->fb_blue_pos = fb->blue_pos;
		cp->fb_blue_size = fb->blue_size;
	}
}

static void parse_cmdline(void)
{
	static const char *const known[] = { "console", "loglevel", "test", "maxcpus", "crashtest", "vmstat",
					     "hostname", "storage.expect_fail",
					     "storage.multihost", "storage.bench", "vdisk.bench",
					     "spec.l1d_flush", "spec.smt", "spec.v2", "pshare.rate",
					     "mem.sample", "mem.idletax",
					     "vmtest.wait" };
	unsigned long long v;
	int err = cmdline_parse(mb.cmdline, &cmd);

	if (err)
		pr_err("kernel command line: %s; the rest of the line is ignored\n", cmd.err);
	if (!cmdline_get_uint(&cmd, "loglevel", &v))
		log_set_level(v > LOG_DEBUG ? LOG_DEBUG : (int)v);
	else if (cmdline_has(&cmd, "loglevel"))
		pr_warn("loglevel= needs a number 0-4; keeping %d\n", log_get_level());
	for (unsigned i = 0; i < cmd.count; i++) {
		if (cmdline_match(cmd.opts[i].key, known, sizeof(known) / sizeof(known[0])) < 0)
			pr_warn("unknown kernel option '%s' ignored\n", cmd.opts[i].key);
	}
	if (cmdline_has(&cmd, "test"))
		platform_test_mode = true;
}

static const void *acpi_map(void *ctx, uint64_t phys, size_t len)
{
	uint64_t limit = paging_direct_map_end() ? paging_direct_map_end() : 4ULL << 30;

	(void)ctx;
	if (!len || phys + len < phys || phys + len > limit)
		return NULL;
	return phys_to_virt(phys);
}

static void acpi_setup(void)
{
	static const struct acpi_mem_ops ops = { acpi_map, NULL };
	uint64_t rsdp_phys;
	int err;

	if (mb.rsdp)
		err = acpi_parse(&ops, mb.rsdp, mb.rsdp_len, &acpi);
	else if (!acpi_find_rsdp(&ops, &rsdp_phys))
		err = acpi_parse_at(&ops, rsdp_phys, &acpi);
	else
		err = -ENOENT;
	if (err) {
		pr_err("no usable ACPI tables (%s): one CPU, no IOAPIC\n",
		       err == -ENOENT ? "no RSDP found" : acpi.err);
		return;
	}
	have_acpi = true;
	for (uint32_t i = 0; i < acpi.warn_count && i < ACPI_MAX_WARNINGS; i++)
		log_printf(LOG_WARN, "acpi: %s\n", acpi.warnings[i]);
	for (uint32_t i = 0; i < acpi.table_count; i++)
		kmem_reserve(acpi.tables[i].phys, acpi.tables[i].length, "ACPI table");
	if (!(cpuid(1, 0).ecx & CPUID1_ECX_HYPERVISOR) && !strncmp(acpi.oem_id, "BOCHS", 5))
		platform_set_bochs();
}

static void report_acpi(void)
{
	if (!have_acpi)
		return;
	log_printf(LOG_INFO, "acpi: rev %u (%s) OEM '%s', %u tables, %u CPUs (%u enabled), "
		   "%u IOAPICs, %u overrides\n", acpi.rsdp_revision,
		   acpi.xsdt_used ? "XSDT" : "RSDT", acpi.oem_id, acpi.table_count,
		   acpi.cpu_count, acpi.cpu_enabled_count, acpi.ioapic_count, acpi.iso_count);
	if (acpi.fadt.present)
		log_printf(LOG_INFO, "acpi: FADT: PM timer %s%#llx (%s), reset %s\n",
			   acpi.fadt.pm_timer.space_id == ACPI_GAS_IO ? "port " : "MMIO ",
			   (unsigned long long)acpi.fadt.pm_timer.address,
			   acpi.fadt.pm_timer_32bit ? "32-bit" : "24-bit",
			   acpi.fadt.reset_supported ? "register" : "not supported");
	if (acpi.hpet.present)
		log_printf(LOG_INFO, "acpi: HPET at %#llx\n",
			   (unsigned long long)acpi.hpet.base_phys);
	for (uint32_t i = 0; i < acpi.mcfg_count; i++)
		log_printf(LOG_INFO, "acpi: PCIe ECAM segment %u buses %u-%u at %#llx\n",
			   acpi.mcfg[i].segment, acpi.mcfg[i].bus_start, acpi.mcfg[i].bus_end,
			   (unsigned long long)acpi.mcfg[i].base);
}

static void report_memory(void)
{
	struct kmem_stats st;

	kmem_get_stats(&st);
	pr_info("memory: %llu MiB RAM, %llu MiB managed, %llu MiB free "
		"(kernel %llu KiB, page metadata %llu KiB)\n",
		(unsigned long long)(st.ram_bytes >> 20), (unsigned long long)(st.managed_bytes >> 20),
		(unsigned long long)(st.free_bytes >> 20), (unsigned long long)(st.kernel_bytes >> 10),
		(unsigned long long)(st.metadata_bytes >> 10));
}

static void platform_setup(void)
{
	if (have_acpi && acpi.fadt.pm_timer_present && acpi.fadt.pm_timer.space_id == ACPI_GAS_IO)
		timer_set_pm_timer((uint16_t)acpi.fadt.pm_timer.address, acpi.fadt.pm_timer_32bit);
	if (lapic_init_bsp(have_acpi ? acpi.lapic_phys : 0))
		fail_boot("no local APIC");
	for (uint32_t i = 0; have_acpi && i < acpi.ioapic_count; i++)
		ioapic_add(acpi.ioapics[i].id, acpi.ioapics[i].phys, acpi.ioapics[i].gsi_base);
	timer_init();
	pr_info("interrupts: %s, %u IOAPIC(s) with %u pins\n", lapic_mode_name(), ioapic_count(),
		ioapic_total_pins());
}

/* test= and crashtest= run in a world of their own, so tests can block and yield. */
static void ktest_world(void *arg)
{
	const char *spec = cmdline_get(&cmd, "test");
	const char *crash = cmdline_get(&cmd, "crashtest");
	int failed;

	(void)arg;
	if (crash) {
		pr_info("crash test '%s' requested on the command line\n", crash);
		if (ktest_crash(crash) == -EINVAL)
			pr_err("crashtest=%s: unknown; use crashtest=fault or crashtest=panic\n",
			       crash);
	}
	if (!platform_test_mode)
		return;
	failed = ktest_run(spec && *spec ? spec : "all");
	platform_exit(failed ? PLATFORM_EXIT_FAIL : PLATFORM_EXIT_PASS);
}

static void flush_tlb(void *arg)
{
	(void)arg;
	paging_flush_tlb_local();
}

static void start_cpus(void)
{
	unsigned long long maxcpus = 0;
	unsigned online;

	if (cmdline_has(&cmd, "maxcpus") &&
	    (cmdline_get_uint(&cmd, "maxcpus", &maxcpus) || maxcpus < 1 || maxcpus > 4096)) {
		pr_warn("maxcpus= needs a number >= 1; starting every CPU\n");
		maxcpus = 0;
	}
	online = have_acpi ? smp_start_aps(&acpi, (unsigned)maxcpus) : 1;
	paging_drop_identity();
	smp_call_all(flush_tlb, NULL);
	pr_info("smp: %u of %u CPUs online\n", online, pcpu_count);
}

void vmkernel_main(uint32_t magic, uint32_t info_phys)
{
	struct console_params cp = { 0 };
	char consoles[64];
	int err;

	bsp_percpu_init();
	/*
	 * Mask the 8259s before anything touches the LAPIC: an IRQ the firmware
	 * left pending must be withdrawn while LINT0 still listens, or the CPU
	 * may later take it with no vector to show for it.
	 */
	pic_disable();
	console_early_init(0x3f8);
	trap_init();
	if (!mb2_magic_ok(magic))
		fail_boot("not started by a multiboot2 loader (bad magic in EAX)");
	err = mb2_parse(phys_to_virt(info_phys), 1 << 20, &mb);
	if (err)
		fail_boot(mb.err);
	parse_cmdline();
	parse_console(&cp);
	if (kmem_init_ranges(&mb, info_phys))
		fail_boot("no usable RAM in the memory map");
	acpi_setup();
	if (kmem_init())
		fail_boot("cannot set up physical memory");
	bsp_guarded_ist_stacks();
	fill_fb(&cp);
	console_init(&cp);
	console_describe(consoles, sizeof(consoles));
	platform_detect();
	if (have_acpi && !strncmp(acpi.oem_id, "BOCHS", 5) &&
	    !(cpuid(1, 0).ecx & CPUID1_ECX_HYPERVISOR))
		platform_set_bochs();
	pr_info("vmkernel %s booting on %s (%s), console: %s\n", VMKERNEL_VERSION,
		platform_name(), booted_by_uefi() ? "UEFI" : "BIOS", consoles);
	pr_info("command line: %s\n", mb.cmdline ? mb.cmdline : "");
	bootmod_init(&mb);
	init_run_level(INIT_EARLY);
	report_memory();
	init_run_level(INIT_MEM);
	report_acpi();
	platform_setup();
	init_run_level(INIT_PLATFORM);
	irq_enable();
	timer_start_cpu();
	start_cpus();
	init_run_level(INIT_SMP);
	init_run_level(INIT_SUBSYS);
	init_run_level(INIT_VMM);
	init_run_level(INIT_LATE);
	pr_info("ready: %u CPUs, %llu MiB RAM\n", pcpu_online_count(),
		(unsigned long long)(({ struct kmem_stats s; kmem_get_stats(&s); s.ram_bytes; }) >> 20));
	if (cmdline_get(&cmd, "crashtest") || platform_test_mode) {
		if (!world_create("ktest", ktest_world, NULL, 0, NULL, NULL))
			panic("cannot create the test world");
	}
	smp_idle();
}
