/*
 * vmkfstools: manage a VMFS volume held in an image file or block device.
 * Built from the same fs/ sources as the vmkernel. See usage() and
 * docs/vmfs.md. Exit status: 0 ok, 1 operation failed, 2 usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "host.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define CHUNK (1u << 20)

struct opts {
	const char *createfs, *label, *create_disk, *diskformat, *clone_src, *extend;
	const char *rename_src;
	bool delete_disk, queryfs, lockinfo, repair, help, force, buffered;
	uint64_t image_size, block_size;
	unsigned max_hosts, lease;
	int nargs;
	char **args;		/* args[0] = IMAGE */
};

struct ctx {
	const char *image;
	unsigned how;		/* FILEDEV_BUFFERED */
	struct filedev fdv;
	struct vmfs_env env;
	struct vmfs_volume *vol;
	struct host_renewer renewer;
};

static void usage(FILE *out)
{
	fprintf(out,
"usage: vmkfstools [options] IMAGE [command [args]]\n"
"IMAGE is a volume image file or a block device.\n\n"
"Filesystem:\n"
"  -C vmfs6 [-S LABEL] [-b BLOCKSIZE] [--image-size SIZE] [--max-hosts N]\n"
"           [--lease-timeout SEC] IMAGE      create a volume (--image-size creates the file)\n"
"  -P IMAGE                                  query filesystem information\n"
"  -D IMAGE [PATH]                           show heartbeat slots and locks (of PATH)\n"
"Virtual disks (PATH.vmdk inside the volume):\n"
"  -c SIZE [-d thin|zeroedthick|eagerzeroedthick] IMAGE DISK.vmdk   create\n"
"  -i SRC.vmdk [-d FORMAT] IMAGE DST.vmdk    clone\n"
"  -X SIZE [-d FORMAT] IMAGE DISK.vmdk       extend to SIZE\n"
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
"  IMAGE cp-out PATH HOSTFILE   copy a file out (alias copy-out)\n"
"  IMAGE cat PATH           write a file to stdout\n"
"  IMAGE write-at PATH OFFSET HOSTFILE   write a host file's bytes at OFFSET\n"
"  IMAGE fsck [--repair]    check the volume (exit 1 if problems remain)\n"
"  IMAGE recover            wait up to a lease for dead hosts, replay their journals,\n"
"                           break their locks and free their heartbeat slots\n\n"
"SIZE takes a k/m/g/t suffix (powers of 1024). Exit: 0 ok, 1 failed, 2 usage.\n");
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmkfstools: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

static int usage_err(const char *msg)
{
	fprintf(stderr, "vmkfstools: %s (see --help)\n", msg);
	return EXIT_USAGE;
}

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
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

static bool parse_alloc(const char *s, enum vmfs_alloc *a)
{
	if (!s || !strcmp(s, "zeroedthick"))
		*a = VMFS_ALLOC_ZEROED;
	else if (!strcmp(s, "thin"))
		*a = VMFS_ALLOC_THIN;
	else if (!strcmp(s, "eagerzeroedthick"))
		*a = VMFS_ALLOC_EAGER;
	else
		return false;
	return true;
}

static void progress(void *arg, uint64_t done, uint64_t total)
{
	const char *what = arg;

	if (isatty(2) && total)
		fprintf(stderr, "\r%s: %3llu%%", what,
			(unsigned long long)(done >= total ? 100 : done * 100 / total));
}

static void progress_end(void)
{
	if (isatty(2))
		fprintf(stderr, "\r%40s\r", "");
}

/* The device and the environment (identity, nonce) of one command. */
static int open_dev(struct ctx *c, uint64_t create_size, bool rdonly)
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

static int open_volume(struct ctx *c, bool rdonly)
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
	return 0;
}

static int close_volume(struct ctx *c, int status)
{
	int rc;

	host_renewer_stop(&c->renewer);
	rc = vmfs_unmount(c->vol);

	filedev_close(&c->fdv);
	if (rc && !status)
		return fail("%s: unmount failed (%d)", c->image, rc);
	return status;
}

static int vfail(struct ctx *c, const char *path)
{
	return fail("%s: %s", path, vmfs_strerror(c->vol));
}

/* ---- filesystem commands ---- */

static int cmd_createfs(struct ctx *c, const struct opts *o)
{
	struct vmfs_format_opts fo = { .label = o->label, .block_size = (uint32_t)o->block_size,
				       .max_hosts = o->max_hosts, .lease_timeout_s = o->lease,
				       .force = o->force };
	char err[256];
	int rc;

	if (strcmp(o->createfs, "vmfs6") && strcmp(o->createfs, "vmfs5"))
		return usage_err("-C takes vmfs6");
	if (o->block_size > 0xffffffffull)
		return usage_err("bad block size");
	rc = open_dev(c, o->image_size, false);
	if (rc)
		return rc;
	rc = vmfs_format(&c->fdv.dev, &c->env, &fo, err, sizeof(err));
	filedev_close(&c->fdv);
	if (rc)
		return fail("%s: cannot create filesystem: %s", c->image, err);
	printf("Created VMFS volume '%s' on %s\n", o->label ? o->label : "", c->image);
	return 0;
}

static void print_uuid(const uint8_t *u)
{
	for (int i = 0; i < 16; i++)
		printf("%02x%s", u[i], i == 3 || i == 5 || i == 7 || i == 9 ? "-" : "");
}

static int cmd_queryfs(struct ctx *c)
{
	struct vmfs_statfs sf;
	int rc = open_volume(c, true);

	if (rc)
		return rc;
	if (vmfs_statfs(c->vol, &sf))
		return close_volume(c, vfail(c, c->image));
	printf("VMFS-6 (format %u.%u) file system on %s\n", sf.version_major, sf.version_minor,
	       c->image);
	printf("File system label (if any): %s\n", sf.label);
	printf("Capacity %llu (%llu file blocks * %u), %llu available, file block size %u, "
			"sub-block size %u\n",
	       (unsigned long long)sf.capacity_bytes, (unsigned long long)sf.total[VMFS_RES_FB],
	       sf.block_size, (unsigned long long)sf.free_bytes, sf.block_size, sf.sb_size);
	printf("File descriptors %llu (%llu free), pointer blocks %llu (%llu free), sub-blocks "
			"%llu (%llu free)\n",
	       (unsigned long long)sf.total[VMFS_RES_FD], (unsigned long long)sf.free[VMFS_RES_FD],
	       (unsigned long long)sf.total[VMFS_RES_PB], (unsigned long long)sf.free[VMFS_RES_PB],
	       (unsigned long long)sf.total[VMFS_RES_SB], (unsigned long long)sf.free[VMFS_RES_SB]);
	printf("UUID: ");
	print_uuid(sf.uuid);
	printf("\nMax hosts: %u, lease timeout: %u s\n", sf.max_hosts, sf.lease_timeout_s);
	return close_volume(c, 0);
}

static const char *lock_mode_name(uint32_t m)
{
	static const char *const n[] = { "free", "exclusive", "read-only", "multi-writer" };

	return m < 4 ? n[m] : "?";
}

static void print_lock(const char *what, const struct vmfs_lockrec *l)
{
	printf("%s: mode %s, version %llu", what, lock_mode_name(l->mode),
	       (unsigned long long)l->version);
	for (uint32_t i = 0; i < l->nholders && i < VMFS_LOCK_MAX_HOLDERS; i++)
		printf("%s owner slot %u gen %llu", i ? "," : "", l->holders[i].slot,
		       (unsigned long long)l->holders[i].hb_gen);
	printf("\n");
}

static void print_cluster_locks(struct ctx *c)
{
	const struct vmfs_volhdr *h = vmfs_header(c->vol);
	static const char *const tn[] = { "fd", "pointer-block", "sub-block", "file-block" };
	struct vmfs_lockrec l;
	char what[64];

	for (unsigned t = 0; t < VMFS_RES_NTYPES; t++) {
		for (uint32_t cl = 0; cl < h->reg[t].n_clusters; cl++) {
			if (vmfs_cluster_lock_read(c->vol, t, cl, &l) || l.mode == VMFS_LOCK_FREE)
				continue;
			snprintf(what, sizeof(what), "%s cluster %u", tn[t], cl);
			print_lock(what, &l);
		}
	}
}

static int cmd_lockinfo(struct ctx *c, const char *path)
{
	const struct vmfs_volhdr *h;
	struct vmfs_hbslot hb;
	struct vmfs_lockrec l;
	int rc = open_volume(c, true);

	if (rc)
		return rc;
	if (path) {
		if (vmfs_file_lock_read(c->vol, path, &l))
			return close_volume(c, vfail(c, path));
		print_lock(path, &l);
		return close_volume(c, 0);
	}
	h = vmfs_header(c->vol);
	printf("Heartbeat region: %u slots, lease timeout %u "
			"s\n", h->max_hosts, h->lease_timeout_s);
	for (uint32_t s = 0; s < h->max_hosts; s++) {
		if (vmfs_heartbeat_read(c->vol, s, &hb)) {
			printf("slot %u: %s\n", s, vmfs_strerror(c->vol));
			continue;
		}
		if (hb.magic != VMFS_MAGIC_HB)
			continue;
		printf("slot %u: %s host '%.63s' uuid "
				"", s, hb.state == VMFS_HB_LIVE ? "live" : "free",
		       hb.host_name);
		print_uuid(hb.host_uuid);
		printf(" gen %llu counter %llu\n", (unsigned long long)hb.generation,
		       (unsigned long long)hb.counter);
	}
	print_cluster_locks(c);
	return close_volume(c, 0);
}

static void fsck_report(void *arg, const char *msg)
{
	(void)arg;
	printf("  %s\n", msg);
}

static int cmd_fsck(struct ctx *c, bool repair, bool force)
{
	struct vmfs_fsck_result res = { .report = fsck_report };
	char err[256];
	int rc = open_dev(c, 0, !repair);

	if (rc)
		return rc;
	rc = vmfs_fsck(&c->fdv.dev, &c->env, (repair ? VMFS_FSCK_REPAIR : 0) |
		       (force ? VMFS_FSCK_FORCE : 0), &res, err, sizeof(err));
	filedev_close(&c->fdv);
	if (rc)
		return fail("%s: check failed: %s", c->image, err);
	printf("%s: %u problem(s), %u repaired, %u journal transaction(s) replayed\n", c->image,
	       res.problems, res.repaired, res.replayed);
	return res.problems > res.repaired ? EXIT_FAIL : 0;
}

/* ---- virtual disk commands ---- */

static int cmd_disk(struct ctx *c, const struct opts *o)
{
	struct vmfs_progress prog = { progress, NULL };
	enum vmfs_alloc alloc;
	uint64_t size = 0;
	const char *path;
	int rc;

	if (o->nargs != 2)
		return usage_err("this option takes IMAGE and one disk path");
	path = o->args[1];
	if (!parse_alloc(o->diskformat, &alloc))
		return usage_err("-d takes thin, zeroedthick or eagerzeroedthick");
	if ((o->create_disk && !parse_size(o->create_disk, &size)) ||
	    (o->extend && !parse_size(o->extend, &size)))
		return usage_err("bad SIZE");
	rc = open_volume(c, false);
	if (rc)
		return rc;
	if (o->create_disk) {
		prog.arg = "create";
		rc = vmfs_vmdk_create(c->vol, path, (size + 511) / 512 * 512, alloc, &prog);
	} else if (o->clone_src) {
		prog.arg = "clone";
		rc = vmfs_vmdk_clone(c->vol, o->clone_src, path, alloc, &prog);
	} else if (o->extend) {
		struct vmfs_vmdk_info info;

		/* without -d the disk keeps its kind: thin stays thin */
		if (!o->diskformat && !vmfs_vmdk_info(c->vol, path, &info) && info.thin)
			alloc = VMFS_ALLOC_THIN;
		prog.arg = "extend";
		rc = vmfs_vmdk_extend(c->vol, path, (size + 511) / 512 * 512, alloc, &prog);
	} else if (o->delete_disk) {
		rc = vmfs_vmdk_delete(c->vol, path);
	} else {
		rc = vmfs_vmdk_rename(c->vol, o->rename_src, path);
	}
	progress_end();
	return close_volume(c, rc ? vfail(c, path) : 0);
}

/* ---- file commands ---- */

static int ls_fn(void *arg, const char *name, const struct vmfs_stat *st)
{
	(void)arg;
	printf("%c %04o %14llu %s%s\n", st->type == VMFS_FT_DIR ? 'd' : '-', st->perm & 07777,
	       (unsigned long long)st->size, name, st->type == VMFS_FT_DIR ? "/" : "");
	return 0;
}

static int do_stat(struct ctx *c, const char *path)
{
	static const char *const modes[] = { "inline", "sub-block", "file-block" };
	struct vmfs_stat st;

	if (vmfs_stat(c->vol, path, &st))
		return vfail(c, path);
	printf("%s: descriptor %u generation %u, %s, %s addressing, size %llu, allocated %llu\n",
	       path, st.fd, st.gen, st.type == VMFS_FT_DIR ? "directory" : "file",
	       st.mode < 3 ? modes[st.mode] : "?", (unsigned long long)st.size,
	       (unsigned long long)st.alloc_bytes);
	return 0;
}

static int copy_in(struct ctx *c, const char *host, const char *path)
{
	struct vmfs_progress prog = { progress, "copy-in" };
	struct vmfs_file *f;
	struct stat st;
	uint8_t *buf = malloc(CHUNK);
	int in = open(host, O_RDONLY | O_CLOEXEC), rc = 0;
	uint64_t off = 0;

	if (in < 0 || fstat(in, &st) || !buf) {
		rc = fail("%s: %s", host, strerror(errno));
		goto out;
	}
	if (vmfs_open(c->vol, path, VMFS_O_WRITE | VMFS_O_CREAT | VMFS_O_TRUNC, 0644, &f)) {
		rc = vfail(c, path);
		goto out;
	}
	for (ssize_t n; !rc && (n = pread(in, buf, CHUNK, (off_t)off)) > 0; off += (uint64_t)n) {
		bool zero = true;

		for (ssize_t i = 0; i < n && zero; i++)
			zero = !buf[i];
		if (!zero && vmfs_write(f, off, buf, (uint64_t)n) != n)
			rc = vfail(c, path);
		prog.fn(prog.arg, off + (uint64_t)n, (uint64_t)st.st_size);
	}
	if (!rc && (vmfs_truncate(f, off) || vmfs_fsync(f)))
		rc = vfail(c, path);
	vmfs_close(f);
	progress_end();
out:
	if (in >= 0)
		close(in);
	free(buf);
	return rc;
}

static int copy_out(struct ctx *c, const char *path, const char *host)
{
	struct vmfs_file *f;
	struct vmfs_stat st;
	uint8_t *buf = malloc(CHUNK);
	int out = -1, rc = 0;
	uint64_t off = 0;

	if (!buf || vmfs_open(c->vol, path, VMFS_O_READ, 0, &f)) {
		free(buf);
		return vfail(c, path);
	}
	out = open(host, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0 || vmfs_fstat(f, &st))
		rc = out < 0 ? fail("%s: %s", host, strerror(errno)) : vfail(c, path);
	while (!rc && off < st.size && !vmfs_seek_data(f, off, &off) && off < st.size) {
		int64_t n = vmfs_read(f, off, buf, CHUNK);

		if (n <= 0 || pwrite(out, buf, (size_t)n, (off_t)off) != n)
			rc = n <= 0 ? vfail(c, path) : fail("%s: %s", host, strerror(errno));
		off += n > 0 ? (uint64_t)n : 0;
		progress("copy-out", off, st.size);
	}
	if (!rc && ftruncate(out, (off_t)st.size))
		rc = fail("%s: %s", host, strerror(errno));
	progress_end();
	vmfs_close(f);
	if (out >= 0)
		close(out);
	free(buf);
	return rc;
}

static int cat_file(struct ctx *c, const char *path)
{
	struct vmfs_file *f;
	uint8_t *buf = malloc(CHUNK);
	uint64_t off = 0;
	int64_t n;

	if (!buf || vmfs_open(c->vol, path, VMFS_O_READ, 0, &f)) {
		free(buf);
		return vfail(c, path);
	}
	while ((n = vmfs_read(f, off, buf, CHUNK)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		off += (uint64_t)n;
	}
	vmfs_close(f);
	free(buf);
	return n < 0 ? vfail(c, path) : 0;
}

static int write_at(struct ctx *c, const char *path, const char *offs, const char *host)
{
	struct vmfs_file *f;
	uint64_t off;
	uint8_t *buf = malloc(CHUNK);
	int in = open(host, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (!parse_size(offs, &off)) {
		rc = usage_err("bad OFFSET");
	} else if (in < 0 || !buf) {
		rc = fail("%s: %s", host, strerror(errno));
	} else if (vmfs_open(c->vol, path, VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &f)) {
		rc = vfail(c, path);
	} else {
		while (!rc && (n = read(in, buf, CHUNK)) > 0) {
			if (vmfs_write(f, off, buf, (uint64_t)n) != n)
				rc = vfail(c, path);
			off += (uint64_t)n;
		}
		if (!rc && vmfs_fsync(f))
			rc = vfail(c, path);
		vmfs_close(f);
	}
	if (in >= 0)
		close(in);
	free(buf);
	return rc;
}

struct command {
	const char *name, *alias;
	int nargs;		/* operands after the command name */
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
	int rc = 0;

	if (!strcmp(name, "ls"))
		rc = vmfs_readdir(c->vol, a[0] ? a[0] : "/", ls_fn, NULL) ? vfail(c, a[0] ? a[0] : "/") : 0;
	else if (!strcmp(name, "stat"))
		rc = do_stat(c, a[0]);
	else if (!strcmp(name, "mkdir"))
		rc = vmfs_mkdir(c->vol, a[0], 0755) ? vfail(c, a[0]) : 0;
	else if (!strcmp(name, "rmdir"))
		rc = vmfs_rmdir(c->vol, a[0]) ? vfail(c, a[0]) : 0;
	else if (!strcmp(name, "rm"))
		rc = vmfs_unlink(c->vol, a[0]) ? vfail(c, a[0]) : 0;
	else if (!strcmp(name, "mv"))
		rc = vmfs_rename(c->vol, a[0], a[1]) ? vfail(c, a[0]) : 0;
	else if (!strcmp(name, "cp-in"))
		rc = copy_in(c, a[0], a[1]);
	else if (!strcmp(name, "cp-out"))
		rc = copy_out(c, a[0], a[1]);
	else if (!strcmp(name, "cat"))
		rc = cat_file(c, a[0]);
	else if (!strcmp(name, "write-at"))
		rc = write_at(c, a[0], a[1], a[2]);
	else if (!strcmp(name, "recover"))
		rc = do_recover(c);
	return rc;
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
	uint64_t v;

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
		if (!parse_size(arg, &v) || !v)
			return usage_err("bad SIZE");
		*(ch == 'b' ? &o->block_size : &o->image_size) = v;
		break;
	case OPT_MAX_HOSTS:
	case OPT_LEASE:
		v = strtoul(arg, NULL, 10);
		if (!v || v > 3600)
			return usage_err("bad number");
		*(ch == OPT_LEASE ? &o->lease : &o->max_hosts) = (unsigned)v;
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
