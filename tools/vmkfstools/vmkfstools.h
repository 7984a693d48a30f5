/* vmkfstools: what its files share (main.c options and volumes, info.c, files.c). */
#ifndef VMKFSTOOLS_H
#define VMKFSTOOLS_H

#include <stdio.h>
#include "host.h"

#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define CHUNK (8u << 20)	/* bytes per file I/O request */

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

/* Set by SIGINT/SIGTERM: long operations stop, clean up and unmount. */
extern volatile int vmk_interrupted;

int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int usage_err(const char *msg);
/* The volume's last error about path, naming the path once. */
int vfail(struct ctx *c, const char *path);
int interrupted_fail(const char *what);
bool parse_size(const char *s, uint64_t *out);
void progress(void *arg, uint64_t done, uint64_t total);
void progress_end(void);
int open_dev(struct ctx *c, uint64_t create_size, bool rdonly);
int open_volume(struct ctx *c, bool rdonly);
int close_volume(struct ctx *c, int status);

/* info.c */
int cmd_queryfs(struct ctx *c);
int cmd_lockinfo(struct ctx *c, const char *path);
int cmd_fsck(struct ctx *c, bool repair, bool force);

/* files.c */
int cmd_disk(struct ctx *c, const struct opts *o);
int do_ls(struct ctx *c, const char *path);
int do_stat(struct ctx *c, const char *path);
int copy_in(struct ctx *c, const char *host, const char *path);
int copy_out(struct ctx *c, const char *path, const char *host);
int cat_file(struct ctx *c, const char *path);
int write_at(struct ctx *c, const char *path, const char *offs, const char *host);

#endif
