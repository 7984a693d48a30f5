/*
 * VM configuration: a parser for VMware-style `.vmx` files.
 *
 * One `key = "value"` per line; blank lines and lines whose first non-blank
 * character is `#` are ignored; LF or CRLF line ends; the last line need not
 * end with one. Values are double-quoted and may hold VMware's `|XX` hex
 * escapes (`|22` is a quote, `|7C` a bar). Keys are case-insensitive, and so
 * are keywords inside values (TRUE, unlimited, console, ...). Every key, its
 * type, range and default is documented for users in docs/vmconfig.md.
 *
 * Anything wrong stops the parse at the first error, which is written to
 * vm_config.err as "FILE:LINE: key \"KEY\": what is wrong" (the line is left
 * out for whole-file checks such as a missing required key).
 */
#ifndef VMCONFIG_H
#define VMCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMCONFIG_LINE_MAX	1024	/* bytes per line, without its LF or CRLF */
#define VMCONFIG_NAME_MAX	64	/* buffer size: names up to 63 characters */
#define VMCONFIG_MODNAME_MAX	64	/* buffer size: module names up to 63 characters */
#define VMCONFIG_CMDLINE_MAX	1024	/* buffer size: guest command line up to 1023 bytes */
#define VMCONFIG_MAX_MODULES	8	/* entries of guest.modules */
#define VMCONFIG_MEMSIZE_MAX	65536	/* MiB */
#define VMCONFIG_VCPUS_MAX	64
#define VMCONFIG_HOST_CPUS_MAX	64	/* host CPU numbers in sched.cpu.affinity: 0..63 */
#define VMCONFIG_SHARES_MAX	1000000
#define VMCONFIG_MEM_SHARES_MAX	100000000	/* sched.mem.shares: 20 per MiB of 65536 MiB fits */
#define VMCONFIG_SALT_MAX	VMCONFIG_NAME_MAX	/* sched.mem.pshare.salt, NUL included */
#define VMCONFIG_MHZ_MAX	1000000	/* sched.cpu.min / sched.cpu.max */
#define VMCONFIG_ERR_MAX	256

/* sched.cpu.shares: VMware's levels give 500/1000/2000 shares per vCPU. */
enum vmconfig_shares_level {
	VMCONFIG_SHARES_NORMAL = 0,	/* the default */
	VMCONFIG_SHARES_LOW,
	VMCONFIG_SHARES_HIGH,
	VMCONFIG_SHARES_CUSTOM,		/* an explicit number */
};

enum vmconfig_guest_type {
	VMCONFIG_GUEST_MULTIBOOT = 0,	/* multiboot v1 kernel (the default) */
	VMCONFIG_GUEST_LINUX,		/* a Linux bzImage, booted by the Linux boot protocol */
};

/* test.expect: how the test harness expects this VM to end. */
enum vmconfig_expect_kind {
	VMCONFIG_EXPECT_NONE = 0,	/* no test.expect key */
	VMCONFIG_EXPECT_EXIT,		/* "exit:N": ends with status N (debug-exit or hypercall) */
	VMCONFIG_EXPECT_STOPPED,	/* "stopped:REASON": the VMM stops it for REASON */
	VMCONFIG_EXPECT_RUNNING,	/* "running": still running when the others ended */
	VMCONFIG_EXPECT_POWEROFF,	/* "poweroff": the guest powered the VM off (ACPI S5) */
	VMCONFIG_EXPECT_RESET,		/* "reset": the guest reset it, with guest.reboot "stop" */
};

/* guest.reboot: what a guest's reset (keyboard controller, port 0xcf9, ACPI) does. */
enum vmconfig_reboot {
	VMCONFIG_REBOOT_RESTART = 0,	/* "restart": the VM boots again (the default) */
	VMCONFIG_REBOOT_STOP,		/* "stop": the VM ends, as "reset" */
};

#define VMCONFIG_SKIP_MAX	16	/* names in test.skip */
#define VMCONFIG_SKIP_NAME_MAX	48
#define VMCONFIG_CONSOLE_MAX	8	/* lines in test.console */
#define VMCONFIG_CONSOLE_LEN	100

enum vmconfig_stop_reason {
	VMCONFIG_STOP_TRIPLE_FAULT = 0,	/* "triple-fault" */
	VMCONFIG_STOP_ENTRY_FAILURE,	/* "entry-failure" */
	VMCONFIG_STOP_BAD_ACCESS,	/* "bad-access": outside guest RAM/MMIO */
	VMCONFIG_STOP_UNSUPPORTED,	/* "unsupported": something the VMM does not handle */
	VMCONFIG_STOP_KILLED,		/* "killed": stopped by the host */
	VMCONFIG_STOP_COUNT
};

/* test.break: a deliberately broken VMCS, to test how failed VM entries are handled. */
enum vmconfig_break {
	VMCONFIG_BREAK_NONE = 0,
	VMCONFIG_BREAK_GUEST_STATE,	/* invalid guest state: an entry-failure exit */
	VMCONFIG_BREAK_CONTROL,		/* invalid control field: VMLAUNCH fails (VMfailValid) */
};

/*
 * Disks (vmconfig_disk.c): VMware's SCSI keys name them, scsiN.virtualDev
 * chooses the device model. "virtio-blk" (our value) makes every disk
 * scsiN:M of that adapter its own virtio-blk PCI device.
 */
struct vm_config;

#define VMCONFIG_SCSI_BUSES	4	/* scsi0..scsi3 */
#define VMCONFIG_SCSI_UNITS	16	/* scsiN:0..scsiN:15, 7 excluded (the adapter's own ID) */
#define VMCONFIG_DISKS_MAX	4	/* disks a VM may have */
#define VMCONFIG_DISK_SLOTS	8	/* scsiN:M named in one file (present or not) */
#define VMCONFIG_PATH_MAX	256	/* buffer size: a disk's fileName up to 255 bytes */

enum vmconfig_disk_key {
	VMCONFIG_DK_PRESENT, VMCONFIG_DK_FILENAME, VMCONFIG_DK_DEVICETYPE, VMCONFIG_DK_MODE,
	VMCONFIG_DK_SHARING, VMCONFIG_DK_READONLY, VMCONFIG_DK_COUNT
};

struct vmconfig_scsi {
	bool present;				/* scsiN.present */
	bool virtio_blk;			/* scsiN.virtualDev = "virtio-blk" */
	unsigned int present_line, dev_line;	/* where they were set, 0 if not */
};

struct vmconfig_disk {
	uint8_t bus, unit;			/* scsiN:M */
	bool present;				/* scsiN:M.present */
	bool read_only;				/* scsiN:M.readOnly (our key) */
	bool multi_writer;			/* scsiN:M.sharing = "multi-writer" */
	char file[VMCONFIG_PATH_MAX];		/* scsiN:M.fileName, as written */
	unsigned int line[VMCONFIG_DK_COUNT];	/* where each key was set, 0 if not */
};

/*
 * A disk key (scsiN.*, scsiN:M.*, vmx.directory): 1 if it was one and is
 * fine, 0 if it is not a disk key, -EINVAL with the reason in why. key is
 * as written. A relative fileName resolves against the .vmx's directory on
 * its datastore; a .vmx handed over as a boot module has none, so it names
 * one with vmx.directory ("/vmfs/volumes/<datastore>/<dir>"), or its
 * relative fileNames are an error.
 */
int vmconfig_disk_key(struct vm_config *c, const char *key, size_t klen, const char *val,
		      size_t vlen, unsigned int line, char *why, size_t whylen);
/*
 * After the last line: check the disks and keep only the present ones
 * (c->disks[0..c->ndisks-1]). On -EINVAL, key/line name what is wrong.
 */
int vmconfig_disk_finish(struct vm_config *c, char *key, size_t keylen, unsigned int *line,
			 char *why, size_t whylen);

/*
 * The virtio entropy device (vmconfig_rng.c): rng0.present (default
 * FALSE) gives the VM a virtio-rng device; rng0.rate caps the bytes per
 * second it hands over (our keys: VMware has no such device).
 */
#define VMCONFIG_RNG_RATE_DEFAULT	65536u		/* bytes per second */
#define VMCONFIG_RNG_RATE_MIN		1024u
#define VMCONFIG_RNG_RATE_MAX		(64u << 20)

struct vmconfig_rng {
	bool present;				/* rng0.present */
	uint32_t rate;				/* rng0.rate, bytes/s; default after parse */
	unsigned int present_line, rate_line;	/* where they were set, 0 if not */
};

/* rng0.*: 1 if it was such a key and is fine, 0 if not one, -EINVAL with why. */
int vmconfig_rng_key(struct vm_config *c, const char *key, size_t klen, const char *val,
		     size_t vlen, unsigned int line, char *why, size_t whylen);
/* After the last line: defaults, and rng0.rate without a present device is an error. */
int vmconfig_rng_finish(struct vm_config *c, char *key, size_t keylen, unsigned int *line,
			char *why, size_t whylen);

/*
 * NICs (vmconfig_net.c): VMware's ethernetN keys. ethernetN.virtualDev
 * "virtio-net" (our value, and the default) is the only model; the NIC is
 * a port on the host's port group ethernetN.networkName, or the one
 * Workstation's ethernetN.connectionType maps to when networkName is absent.
 */
#define VMCONFIG_ETH_SLOTS	10	/* ethernet0..ethernet9 */
#define VMCONFIG_NICS_MAX	4	/* NICs a VM may have */
#define VMCONFIG_NETNAME_MAX	32	/* buffer size: a port group name up to 31 characters */
#define VMCONFIG_NIC_NOTE_MAX	224	/* how VMware's keys were applied, for the log */

enum vmconfig_nic_key {
	VMCONFIG_NK_PRESENT, VMCONFIG_NK_VIRTUALDEV, VMCONFIG_NK_NETWORKNAME,
	VMCONFIG_NK_ADDRESSTYPE, VMCONFIG_NK_ADDRESS, VMCONFIG_NK_GENADDRESS,
	VMCONFIG_NK_GENOFFSET, VMCONFIG_NK_CONNTYPE, VMCONFIG_NK_VNET, VMCONFIG_NK_COUNT
};

/* ethernetN.addressType */
enum vmconfig_addr_type { VMCONFIG_ADDR_GENERATED, VMCONFIG_ADDR_STATIC, VMCONFIG_ADDR_VPX };

/* Workstation's ethernetN.connectionType; NONE when absent */
enum vmconfig_conn_type {
	VMCONFIG_CONN_NONE, VMCONFIG_CONN_BRIDGED, VMCONFIG_CONN_NAT, VMCONFIG_CONN_HOSTONLY,
	VMCONFIG_CONN_CUSTOM
};

struct vmconfig_nic {
	uint8_t index;				/* ethernetN */
	bool present;
	bool static_mac;			/* addressType "static" */
	enum vmconfig_addr_type addr_type;
	uint8_t mac[6];				/* static, or chosen by vmconfig_net_finish */
	const char *mac_source;			/* after finish: where mac came from (the log) */
	uint8_t gen_mac[6];			/* ethernetN.generatedAddress, if set */
	uint32_t gen_offset;			/* ethernetN.generatedAddressOffset */
	enum vmconfig_conn_type conn;		/* ethernetN.connectionType */
	char vnet[VMCONFIG_NETNAME_MAX];	/* ethernetN.vnet as "VMnetN" */
	char network[VMCONFIG_NETNAME_MAX];	/* the port group; default "VM Network" */
	char note[VMCONFIG_NIC_NOTE_MAX];	/* "" or how VMware's keys were mapped */
	unsigned int line[VMCONFIG_NK_COUNT];	/* where each key was set, 0 if not */
};

/* An ethernetN.* key: 1 if it was one and is fine, 0 if not a NIC key, -EINVAL (why). */
int vmconfig_net_key(struct vm_config *c, const char *key, size_t klen, const char *val,
		     size_t vlen, unsigned int line, char *why, size_t whylen);
/* After the last line (c->name known): check, generate MACs, keep present NICs first. */
int vmconfig_net_finish(struct vm_config *c, char *key, size_t keylen, unsigned int *line,
			char *why, size_t whylen);
/*
 * The generated address of NIC index of VM name: 00:0c:29 and 24 bits of a
 * hash, plus ethernetN.generatedAddressOffset (modulo 2^24).
 */
void vmconfig_net_generate_mac(const char *name, unsigned index, uint32_t offset, uint8_t mac[6]);

struct vmconfig_expect {
	enum vmconfig_expect_kind kind;
	uint8_t status;				/* VMCONFIG_EXPECT_EXIT */
	enum vmconfig_stop_reason reason;	/* VMCONFIG_EXPECT_STOPPED */
};

struct vm_config {
	char name[VMCONFIG_NAME_MAX];		/* displayName, or the file name without .vmx */
	char guest_os[VMCONFIG_NAME_MAX];	/* guestOS (informational); "" if absent */
	uint32_t memsize_mb;			/* memsize: 1..65536, default 64 */
	uint32_t mem_min_mb;			/* sched.mem.min: 0..memsize, default 0 */
	uint32_t mem_max_mb;			/* sched.mem.max: 0 = unlimited (default) */
	uint32_t mem_shares;			/* effective sched.mem.shares of the whole VM */
	enum vmconfig_shares_level mem_shares_level;
	bool pshare;				/* sched.mem.pshare.enable: default true */
	bool balloon;				/* balloon0.present: a virtio-balloon device */
	bool maxmemctl_set;			/* sched.mem.maxmemctl was given */
	uint32_t maxmemctl_mb;			/* sched.mem.maxmemctl: MiB the balloon may hold */
	char pshare_salt[VMCONFIG_SALT_MAX];	/* sched.mem.pshare.salt; "" = share only within */
	uint32_t numvcpus;			/* 1..64, default 1 */
	uint32_t cpu_shares;			/* effective shares of the whole VM */
	enum vmconfig_shares_level cpu_shares_level;
	uint32_t cpu_min_mhz;			/* sched.cpu.min: reservation, default 0 */
	uint32_t cpu_max_mhz;			/* sched.cpu.max: 0 = unlimited (default) */
	uint64_t cpu_affinity;			/* bit n: may run on host CPU n; ~0 = "all" */
	bool cpu_migrate;			/* sched.cpu.migrate: vCPUs may change CPU */
	bool serial0_present;			/* default true: COM1 to the host console */
	enum vmconfig_guest_type guest_type;
	char kernel[VMCONFIG_MODNAME_MAX];	/* guest.kernel: multiboot2 module name */
	char initrd[VMCONFIG_MODNAME_MAX];	/* guest.initrd (linux only); "" if absent */
	char cmdline[VMCONFIG_CMDLINE_MAX];	/* guest.cmdline; "" if absent */
	char modules[VMCONFIG_MAX_MODULES][VMCONFIG_MODNAME_MAX];	/* guest.modules */
	unsigned int nmodules;
	bool apicv;				/* monitor.apicv: use the CPU's APIC virtualization */
	bool pause_loop_exiting;		/* monitor.pauseLoopExiting: yield spinning vCPUs */
	bool test_pcidev;			/* test.pcidev: the PCI test device (tests only) */
	enum vmconfig_reboot reboot;		/* guest.reboot */
	struct vmconfig_expect expect;		/* test.expect */
	char skip[VMCONFIG_SKIP_MAX][VMCONFIG_SKIP_NAME_MAX];	/* test.skip: checks allowed to skip */
	unsigned int nskip;
	/* test.console: text each of which some console line of the VM must contain */
	char console[VMCONFIG_CONSOLE_MAX][VMCONFIG_CONSOLE_LEN];
	unsigned int nconsole;
	enum vmconfig_break test_break;		/* test.break */
	struct vmconfig_scsi scsi[VMCONFIG_SCSI_BUSES];
	struct vmconfig_disk disks[VMCONFIG_DISK_SLOTS];	/* present ones first after parse */
	unsigned int ndisks;			/* after parse: present disks */
	unsigned int ndisk_slots;		/* while parsing: slots in use */
	struct vmconfig_rng rng;		/* rng0.* */
	/* vmx.directory: the datastore directory relative disk fileNames resolve against */
	char vmx_dir[VMCONFIG_PATH_MAX];
	unsigned int vmx_dir_line;
	/* sched.swap.dir: where the swap file goes (default: vmx_dir); "" if absent */
	char swap_dir[VMCONFIG_PATH_MAX];
	unsigned int swap_dir_line;
	struct vmconfig_nic nics[VMCONFIG_ETH_SLOTS];	/* present first after parse */
	unsigned int nnics;			/* after parse: present NICs */
	unsigned int nnic_slots;		/* while parsing: slots in use */
	char err[VMCONFIG_ERR_MAX];		/* set when vmconfig_parse() fails */
};

/*
 * Parse the @len bytes at @text (need not be NUL-terminated; a NUL byte inside
 * is an error) into @out, applying defaults. @filename is used in messages and
 * for the default name: its part after the last '/' without a ".vmx" ending.
 * Returns 0, or -EINVAL with out->err set; on failure the other fields of @out
 * are unspecified. Uses about 3 KiB of stack and no other memory.
 */
int vmconfig_parse(const char *filename, const char *text, size_t len, struct vm_config *out);

/* True if @s[0..len-1] is a module name: 1..63 bytes from '!'..'~' except ','. */
bool vmconfig_valid_modname(const char *s, size_t len);

/*
 * Split a comma-separated list of module names (blanks around each allowed;
 * an empty or all-blank list has no names) into @names[0..max-1]. Returns 0
 * with *count names; -EINVAL for an empty or invalid name, -E2BIG for more
 * than @max names: then *count is the 0-based index of the offending name.
 */
int vmconfig_split_modules(const char *list, size_t len, char names[][VMCONFIG_MODNAME_MAX],
			   unsigned int max, unsigned int *count);

/* "triple-fault", "entry-failure", ... ; "?" for a value out of range. */
const char *vmconfig_stop_reason_name(enum vmconfig_stop_reason reason);

/*
 * Write @e as the test.expect value that gives it ("exit:3", "stopped:killed",
 * "running"; "" for none) into @buf; snprintf's return convention. A harness
 * can format how a VM really ended the same way and compare the strings.
 */
int vmconfig_expect_format(const struct vmconfig_expect *e, char *buf, size_t size);

/* The most the balloon may hold: sched.mem.maxmemctl, default 65% of memsize (ESX's). */
static inline uint32_t vmconfig_maxmemctl_mb(const struct vm_config *c)
{
	return c->maxmemctl_set ? c->maxmemctl_mb : (uint32_t)((uint64_t)c->memsize_mb * 65 / 100);
}

#endif /* VMCONFIG_H */
