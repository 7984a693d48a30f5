/*
 * vmkfstools: manage a VMFS volume held in an image file or block device.
 * Built from the same fs/ sources as the vmkernel. See usage() and
 * docs/vmfs.md. Exit status: 0 ok, 1 operation failed, 2 usage error.
 *
 * main.c: options, the volume of one command (mount, heartbeat thread,
 * unmount, Ctrl-C), -C and the command table; info.c: -P, -D, fsck;
 * files.c: virtual disks and file commands.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "vmkfstools.h"

volatile int vmk_interrupted;

static void usage(FILE *out)
{
	struct vmfs_format_opts def = { 0 }, eight = { .max_hosts = 8 };

	fprintf(out,
"usage: vmkfstools [options] IMAGE [command [args]]\n"
"IMAGE is a volume image file or a block device.\n\n"
"Filesystem:\n"
"  -C vmfs6 [-S LABEL] [-b BLOCKSIZE] [--image-size SIZE] [--max-hosts N]\n"
"           [--lease-timeout SEC] [--force] IMAGE\n"
"        create a volume; --image-size creates or grows the image file. Refused\n"
"        while a host renews its heartbeat on a volume already there (it waits up\n"
"        to a lease to tell); --force formats anyway. BLOCKSIZE: 64k..64m, a power\n"
"        of two (default 1m); N: 1..256 hosts (default 64); SEC: 1..3600 (16).\n"
"        The volume needs at least %llu MiB with the defaults (%llu MiB with\n"
"        --max-hosts 8): mainly a 1 MiB journal per host.\n"
"  -P IMAGE                                  query filesystem information\n"
"  -D IMAGE [PATH]                           hosts (heartbeat slots) and held locks\n"
"Virtual disks (PATH.vmdk inside the volume):\n"
"  -c SIZE [-d thin|zeroedthick|eagerzeroedthick] IMAGE DISK.vmdk   create\n"
"  -i SRC.vmdk [-d FORMAT] IMAGE DST.vmdk    clone\n"
"  -X SIZE [-d FORMAT] IMAGE DISK.vmdk       extend to SIZE (a thin disk stays thin)\n"
"  -U IMAGE DISK.vmdk                        delete\n"
"  -E OLD.vmdk IMAGE NEW.vmdk                rename\n"
"Commands:\n"
"  IMAGE ls [PATH]          list a directory\n"
"  IMAGE stat PATH          show a file's descriptor\n"
"  IMAGE mkdir PATH         create a directory\n"
"  IMAGE rmdir PATH         remove an empty directory\n"
"  IMAGE rm PATH            remove a file\n"
"  IMAGE mv FROM TO         rename a file or directory\n"
"  IMAGE cp-in HOSTFILE PATH    copy a host file in (alias copy-in)\n"
"  IMAGE cp-out PATH HOSTFILE   copy a file out; HOSTFILE - is standard output\n"
"                               (alias copy-out)\n"
"  IMAGE cat PATH           write a file to standard output\n"
"  IMAGE write-at PATH OFFSET HOSTFILE\n"
"                           write HOSTFILE's bytes into PATH at OFFSET, sharing the\n"
"                           file with other hosts (multi-writer open: a VM disk\n"
"                           written by a cluster); holes it fills are allocated\n"
"  IMAGE fsck [--repair [--force]]\n"
"                           check the volume (exit 1 if problems remain); --repair\n"
"                           is refused while another host renews its heartbeat\n"
"  IMAGE recover            wait up to a lease for dead hosts, replay their journals,\n"
"                           break their locks and free their heartbeat slots\n\n"
"Other options:\n"
"  --buffered-io   allow an image on a filesystem without direct I/O (tmpfs); only\n"
"                  right when every host using it is a process on this machine\n\n"
"Host identity: a host is named by $VMFS_HOST_ID if set (use it to act as several\n"
"hosts on one machine, or to name this one), else /etc/machine-id. Identities may\n"
"be shared (cloned machines): every command also draws a random nonce, so two\n"
"commands at once are two hosts and never take each other's heartbeat slot.\n\n"
"SIZE and OFFSET take a k/m/g/t suffix (powers of 1024). Exit: 0 ok, 1 failed,\n"
"2 usage error.\n",
		(unsigned long long)(vmfs_format_min_bytes(&def) >> 20),
		(unsigned long long)(vmfs_format_min_bytes(&eight) >> 20));
}

int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmkfstools: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int usage_err(const char *msg)
{
	fprintf(stderr, "vmkfstools: %s (see --help)\n", msg);
	return EXIT_USAGE;
}

int vfail(struct ctx *c, const char *path)
{
	const char *msg = vmfs_strerror(c->vol);

	if (path && *path && !strstr(msg, path))
		return fail("%s: %s", path, msg);
	return fail("%s", msg);
}

int interrupted_fail(const char *what)
{
	return fail("%s: interrupted", what);
}

bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	if (*s == '-' || *s == '+')
		return false;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end || (shift && v > (~0ull >> shift)))
		return false;
	*out = v << shift;
	return true;
}

static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s < '0' || *s > '9')
		return false;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = (unsigned)v;
	return true;
}

void progress(void *arg, uint64_t done, uint64_t total)
{
	const char *what = arg;

	if (isatty(2) && total)
		fprintf(stderr, "\r%s: %3llu%%", what,
			(unsigned long long)(done >= total ? 100 : done * 100 / total));
}

void progress_end(void)
{
	if (isatty(2))
		fprintf(stderr, "\r%40s\r", "");
}

/* ---- the volume of one command ---- */

static void on_signal(int sig)
{
	(void)sig;
	vmk_interrupted = 1;
}

static void catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* The device and the environment (identity, nonce) of one command. */
int open_dev(struct ctx *c, uint64_t create_size, bool rdonly)
{
	char err[300];
	int rc = filedev_open(&c->fdv, c->image, create_size,
			      c->how | (rdonly ? FILEDEV_RDONLY : 0), err, sizeof(err));

	if (rc)
		return fail("%s", err);
	if (host_env(&c->env)) {
		filedev_close(&c->fdv);
		return fail("cannot draw a random nonce: %s", strerror(errno));
	}
	return 0;
}

int open_volume(struct ctx *c, bool rdonly)
{
	char err[256];
	int rc = open_dev(c, 0, rdonly);

	if (rc)
		return rc;
	rc = vmfs_mount(&c->fdv.dev, &c->env, rdonly ? VMFS_MOUNT_RDONLY : 0, &c->vol, err,
			sizeof(err));
	if (rc) {
		filedev_close(&c->fdv);
		return fail("%s: cannot mount: %s", c->image, err);
	}
	/* long operations keep the lease: a thread renews the heartbeat */
	if (!rdonly && host_renewer_start(&c->renewer, c->vol)) {
		vmfs_unmount(c->vol);
		filedev_close(&c->fdv);
		return fail("%s: cannot start the heartbeat thread", c->image);
	}
	if (!rdonly)
		catch_signals();	/* Ctrl-C: finish the current step, then unmount */
	return 0;
}

int close_volume(struct ctx *c, int status)
{
	unsigned n;
	int rc;

	host_renewer_stop(&c->renewer);
	if (!status)
		vmfs_housekeep(c->vol, &n);	/* recover hosts already seen dead */
	rc = vmfs_unmount(c->vol);
	filedev_close(&c->fdv);
	if (rc && !status)
		return fail("%s: unmount failed (%d): the heartbeat slot is left for other hosts "
			    "to recover", c->image, rc);
	return status;
}

/* ---- -C ---- */

static int cmd_createfs(struct ctx *c, const struct opts *o)
{
	struct vmfs_format_opts fo = { .label = o->label, .block_size = (uint32_t)o->block_size,
				       .max_hosts = o->max_hosts, .lease_timeout_s = o->lease,
				       .force = o->force };
	char err[512];
	int rc;

	if (strcmp(o->createfs, "vmfs6") && strcmp(o->createfs, "vmfs5"))
		return usage_err("-C takes vmfs6 (or vmfs5), the only filesystem type");
	if (o->block_size && (o->block_size < 65536 || o->block_size > (64u << 20) ||
			      (o->block_size & (o->block_size - 1))))
		return usage_err("-b takes a power of two from 64k to 64m");
	if (o->label && strlen(o->label) > VMFS_LABEL_MAX)
		return usage_err("-S: the label is longer than 63 bytes");
	rc = open_dev(c, o->image_size, false);
	if (rc)
		return rc;
	rc = vmfs_format(&c->fdv.dev, &c->env, &fo, err, sizeof(err));
	filedev_close(&c->fdv);
	if (rc == -ENOSPC)
		return fail("%s: cannot create filesystem: %s (these options need at least %llu "
			    "MiB)", c->image, err,
			    (unsigned long long)(vmfs_format_min_bytes(&fo) >> 20));
	if (rc)
		return fail("%s: cannot create filesystem: %s", c->image, err);
	printf("Created VMFS volume '%s' on %s\n", o->label ? o->label : "", c->image);
	return 0;
}

/* ---- commands ---- */

struct command {
	const char *name, *alias;
	int nargs;		/* operands after the command name; -1: 0 or 1 */
	bool rdonly;
};

static const struct command commands[] = {
	{ "ls", NULL, -1, true }, { "stat", NULL, 1, true }, { "mkdir", NULL, 1, false },
	{ "rmdir", NULL, 1, false }, { "rm", NULL, 1, false }, { "mv", NULL, 2, false },
	{ "cp-in", "copy-in", 2, false }, { "cp-out", "copy-out", 2, true },
	{ "cat", NULL, 1, true }, { "write-at", NULL, 3, false }, { "fsck", NULL, 0, true },
	{ "recover", NULL, 0, false },
};

/* Replay the journals of hosts found dead, break their locks, free their slots. */
static int do_recover(struct ctx *c)
{
	unsigned n = 0;

	if (vmfs_recover(c->vol, &n))
		return vfail(c, c->image);
	printf("%s: recovered %u dead host(s)\n", c->image, n);
	return 0;
}

static int run_command(struct ctx *c, const struct command *cmd, char **a)
{
	const char *name = cmd->name;

	if (!strcmp(name, "ls"))
		return do_ls(c, a[0] ? a[0] : "/");
	if (!strcmp(name, "stat"))
		return do_stat(c, a[0]);
	if (!strcmp(name, "mkdir"))
		return vmfs_mkdir(c->vol, a[0], 0755) ? vfail(c, a[0]) : 0;
	if (!strcmp(name, "rmdir"))
		return vmfs_rmdir(c->vol, a[0]) ? vfail(c, a[0]) : 0;
	if (!strcmp(name, "rm"))
		return vmfs_unlink(c->vol, a[0]) ? vfail(c, a[0]) : 0;
	if (!strcmp(name, "mv"))
		return vmfs_rename(c->vol, a[0], a[1]) ? vfail(c, a[0]) : 0;
	if (!strcmp(name, "cp-in"))
		return copy_in(c, a[0], a[1]);
	if (!strcmp(name, "cp-out"))
		return copy_out(c, a[0], a[1]);
	if (!strcmp(name, "cat"))
		return cat_file(c, a[0]);
	if (!strcmp(name, "write-at"))
		return write_at(c, a[0], a[1], a[2]);
	return do_recover(c);
}

static int cmd_subcommand(struct ctx *c, const struct opts *o)
{
	const char *name = o->args[1];
	int n = o->nargs - 2, rc;

	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *cmd = &commands[i];

		if (strcmp(name, cmd->name) && (!cmd->alias || strcmp(name, cmd->alias)))
			continue;
		if (cmd->nargs >= 0 ? n != cmd->nargs : n > 1)
			return usage_err("wrong number of arguments for this command");
		if (!strcmp(cmd->name, "fsck"))
			return cmd_fsck(c, o->repair, o->force);
		if (o->repair)
			return usage_err("--repair goes with fsck");
		rc = open_volume(c, cmd->rdonly);
		if (rc)
			return rc;
		return close_volume(c, run_command(c, cmd, o->args + 2));
	}
	fprintf(stderr, "vmkfstools: unknown command '%s' (see --help)\n", name);
	return EXIT_USAGE;
}

/* ---- options ---- */

enum { OPT_IMAGE_SIZE = 256, OPT_MAX_HOSTS, OPT_LEASE, OPT_REPAIR, OPT_FORCE, OPT_BUFFERED };

static const struct option long_opts[] = {
	{ "createfs", required_argument, NULL, 'C' },
	{ "setfsname", required_argument, NULL, 'S' },
	{ "blocksize", required_argument, NULL, 'b' },
	{ "createvirtualdisk", required_argument, NULL, 'c' },
	{ "diskformat", required_argument, NULL, 'd' },
	{ "clonevirtualdisk", required_argument, NULL, 'i' },
	{ "extendvirtualdisk", required_argument, NULL, 'X' },
	{ "deletevirtualdisk", no_argument, NULL, 'U' },
	{ "renamevirtualdisk", required_argument, NULL, 'E' },
	{ "queryfs", no_argument, NULL, 'P' },
	{ "lock", no_argument, NULL, 'D' },
	{ "help", no_argument, NULL, 'h' },
	{ "image-size", required_argument, NULL, OPT_IMAGE_SIZE },
	{ "max-hosts", required_argument, NULL, OPT_MAX_HOSTS },
	{ "lease-timeout", required_argument, NULL, OPT_LEASE },
	{ "repair", no_argument, NULL, OPT_REPAIR },
	{ "force", no_argument, NULL, OPT_FORCE },
	{ "buffered-io", no_argument, NULL, OPT_BUFFERED },
	{ NULL, 0, NULL, 0 },
};

static int parse_opt(struct opts *o, int ch, const char *arg)
{
	switch (ch) {
	case 'C': o->createfs = arg; break;
	case 'S': o->label = arg; break;
	case 'c': o->create_disk = arg; break;
	case 'd': o->diskformat = arg; break;
	case 'i': o->clone_src = arg; break;
	case 'X': o->extend = arg; break;
	case 'U': o->delete_disk = true; break;
	case 'E': o->rename_src = arg; break;
	case 'P': o->queryfs = true; break;
	case 'D': o->lockinfo = true; break;
	case 'h': o->help = true; break;
	case OPT_REPAIR: o->repair = true; break;
	case OPT_FORCE: o->force = true; break;
	case OPT_BUFFERED: o->buffered = true; break;
	case 'b':
	case OPT_IMAGE_SIZE:
		if (!parse_size(arg, ch == 'b' ? &o->block_size : &o->image_size) ||
		    !(ch == 'b' ? o->block_size : o->image_size))
			return usage_err(ch == 'b' ? "-b: bad block size" :
					 "--image-size: bad SIZE");
		break;
	case OPT_MAX_HOSTS:
		if (!parse_uint(arg, 1, VMFS_MAX_HOSTS, &o->max_hosts))
			return usage_err("--max-hosts takes a number from 1 to 256");
		break;
	case OPT_LEASE:
		if (!parse_uint(arg, 1, 3600, &o->lease))
			return usage_err("--lease-timeout takes seconds from 1 to 3600");
		break;
	default:
		return EXIT_USAGE;
	}
	return 0;
}

static int dispatch(struct ctx *c, const struct opts *o)
{
	int actions = !!o->createfs + !!o->create_disk + !!o->clone_src + !!o->extend +
		o->delete_disk + !!o->rename_src + o->queryfs + o->lockinfo;

	if (actions > 1)
		return usage_err("give only one of -C -c -i -X -U -E -P -D");
	if (o->createfs)
		return o->nargs == 1 ? cmd_createfs(c, o) : usage_err("-C takes just IMAGE");
	if (o->queryfs)
		return o->nargs == 1 ? cmd_queryfs(c) : usage_err("-P takes just IMAGE");
	if (o->lockinfo)
		return o->nargs <= 2 ? cmd_lockinfo(c, o->nargs == 2 ? o->args[1] : NULL) :
			usage_err("-D takes IMAGE [PATH]");
	if (actions)
		return cmd_disk(c, o);
	if (o->nargs < 2)
		return usage_err("missing command");
	return cmd_subcommand(c, o);
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct ctx c = { 0 };
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "C:S:b:c:d:i:X:UE:PDh", long_opts, NULL)) != -1) {
		rc = parse_opt(&o, ch, optarg);
		if (rc)
			return rc;
	}
	if (o.help) {
		usage(stdout);
		return 0;
	}
	o.nargs = argc - optind;
	o.args = argv + optind;
	if (o.nargs < 1)
		return usage_err("missing IMAGE");
	c.image = o.args[0];
	c.how = o.buffered ? FILEDEV_BUFFERED : 0;
	return dispatch(&c, &o);
}
