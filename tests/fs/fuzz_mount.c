/*
 * libFuzzer target: mount, read, check and modify a corrupted VMFS image.
 *
 * A valid small volume is built once, with a second host that died with
 * records in its journal and locks it kept. Each input is a list of patches
 * {u32 offset, u8 length, bytes} applied to its metadata area; when the
 * input's first byte is odd, the checksum of every structure a patch touched
 * is recomputed, so the fuzzer also reaches code behind the checksums.
 * Bits 1-2 of the first byte pick what runs on the patched image (one path
 * per input keeps a run short, so a 20 s run makes tens of thousands): a
 * read-only mount and a walk of every file; fsck; a read-write mount that
 * creates, writes, renames and removes files and recovers; fsck --repair
 * followed by fsck. Any crash, sanitizer report or hang (libFuzzer
 * -timeout) is a bug.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -Iinclude with this file,
 * tests/fs/memdev.c and every fs/ source, memdev.c and fs/crc32c.c without
 * the fuzzer's coverage instrumentation (tools/vmkfstools/build.mk, run.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "memdev.h"

static struct memdev *golden;
static struct vmfs_volhdr ghdr;
static uint64_t meta_end;

static void build_golden(void)
{
	struct vmfs_format_opts o = { .label = "fuzz", .block_size = 64 * 1024, .max_hosts = 2 };
	struct vmfs_env env;
	struct vmfs_volume *vol;
	struct vmfs_file *f;
	char err[256];
	static uint8_t buf[300000];

	memdev_env(&env, 1);
	golden = memdev_new(16ull << 20, false);
	if (vmfs_format(&golden->dev, &env, &o, err, sizeof(err)) ||
	    vmfs_mount(&golden->dev, &env, 0, &vol, err, sizeof(err)))
		abort();
	memset(buf, 0x5a, sizeof(buf));
	vmfs_mkdir(vol, "/d", 0755);
	for (int i = 0; i < 20; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/d/f%d", i);
		if (!vmfs_open(vol, p, VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f)) {
			vmfs_write(f, (uint64_t)i * 70000, buf, (size_t)(i * 15000 + 1));
			vmfs_close(f);
		}
	}
	if (!vmfs_open(vol, "/sparse", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f)) {
		vmfs_write(f, 400ull << 20, buf, 100);	/* pointer blocks */
		vmfs_close(f);
	}
	ghdr = *vmfs_header(vol);
	vmfs_unmount(vol);
	/*
	 * A second host that dies with work in its journal and locks it kept:
	 * every later read-write mount breaks them and replays the journal.
	 */
	memdev_env(&env, 2);
	if (vmfs_mount(&golden->dev, &env, 0, &vol, err, sizeof(err)))
		abort();
	vmfs_mkdir(vol, "/h2", 0755);
	if (!vmfs_open(vol, "/h2/x", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f)) {
		vmfs_write(f, 0, buf, 5000);
		vmfs_fsync(f);
		vmfs_close(f);
	}
	vmfs_rename(vol, "/d/f7", "/h2/f7");
	vmfs_unlink(vol, "/d/f8");
	memdev_crash_after(golden, 0);
	vmfs_unmount(vol);
	memdev_reboot(golden);
	meta_end = ghdr.reg[VMFS_RES_FB].res_off + 16 * ghdr.block_size;
}

/* Recompute the checksum of the structure holding off. */
static void reseal(struct memdev *m, uint64_t off)
{
	static uint8_t blk[4096];
	uint64_t base = off & ~4095ull, len = 4096;

	if (off < 4096) {
		base = 0;
		len = 512;
	} else if (off < ghdr.journal_off) {
		base = off & ~511ull;
		len = 512;
	} else if ((off >= ghdr.reg[0].hdr_off && off < ghdr.reg[1].hdr_off) ||
		   (off >= ghdr.reg[2].hdr_off && off < ghdr.reg[2].res_off) ||
		   (off >= ghdr.reg[3].hdr_off && off < ghdr.reg[3].res_off) ||
		   (off >= ghdr.reg[1].hdr_off && off < ghdr.reg[1].res_off)) {
		if (off % 4096 < 512)
			return;		/* lock sector: leave it as patched */
		base += 512;
		len = 3584;
	}
	memdev_rw(m, base, blk, len, false);
	((uint32_t *)blk)[1] = 0;
	((uint32_t *)blk)[1] = vmfs_crc32c(0, blk, len);
	memdev_rw(m, base, blk, len, true);
}

static int walk(void *arg, const char *name, const struct vmfs_stat *st)
{
	struct vmfs_volume *vol = arg;
	struct vmfs_file *f;
	char path[300];
	uint8_t buf[4096];
	uint64_t d;

	snprintf(path, sizeof(path), "/d/%s", name);
	if (st->type == VMFS_FT_FILE && !vmfs_open(vol, path, VMFS_O_READ, 0, &f)) {
		vmfs_read(f, 0, buf, sizeof(buf));
		vmfs_read(f, st->size / 2, buf, sizeof(buf));
		vmfs_seek_data(f, 1, &d);
		vmfs_close(f);
	}
	return 0;
}

static void exercise_rw(struct memdev *m, const struct vmfs_env *env)
{
	struct vmfs_volume *vol;
	struct vmfs_file *f;
	unsigned n;
	char err[256];

	if (vmfs_mount(&m->dev, env, 0, &vol, err, sizeof(err)))
		return;
	if (!vmfs_open(vol, "/d/new", VMFS_O_WRITE | VMFS_O_CREAT, 0644, &f)) {
		vmfs_write(f, 100000, err, sizeof(err));
		vmfs_truncate(f, 5000);
		vmfs_close(f);
	}
	if (!vmfs_open(vol, "/d/f19", VMFS_O_READ, 0, &f)) {	/* read-ahead */
		for (uint64_t o = 0; o < 3 * sizeof(err); o += sizeof(err))
			vmfs_read(f, 1330000 + o, err, sizeof(err));
		vmfs_close(f);
	}
	if (!vmfs_open(vol, "/d/f5", VMFS_O_WRITE | VMFS_O_MULTIWRITER, 0, &f)) {
		vmfs_write(f, 3000, err, sizeof(err));
		vmfs_close(f);
	}
	vmfs_unlink(vol, "/d/f3");
	vmfs_rename(vol, "/d/f4", "/f4");
	vmfs_mkdir(vol, "/d/sub", 0755);
	vmfs_housekeep(vol, &n);
	vmfs_unmount(vol);
}

static void exercise(struct memdev *m, unsigned what)
{
	struct vmfs_fsck_result res = { 0 };
	struct vmfs_volume *vol;
	struct vmfs_env env;
	struct vmfs_statfs sf;
	char err[256];

	memdev_env(&env, 1);
	switch (what) {
	case 0:
		if (!vmfs_mount(&m->dev, &env, VMFS_MOUNT_RDONLY, &vol, err, sizeof(err))) {
			vmfs_readdir(vol, "/", walk, vol);
			vmfs_readdir(vol, "/d", walk, vol);
			vmfs_statfs(vol, &sf);
			vmfs_unmount(vol);
		}
		break;
	case 1:
		vmfs_fsck(&m->dev, &env, 0, &res, err, sizeof(err));
		break;
	case 2:
		exercise_rw(m, &env);
		break;
	default:
		vmfs_fsck(&m->dev, &env, VMFS_FSCK_REPAIR, &res, err, sizeof(err));
		vmfs_fsck(&m->dev, &env, 0, &res, err, sizeof(err));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct memdev *m;
	size_t i = 1;

	if (!golden)
		build_golden();
	if (!size)
		return 0;
	m = memdev_clone(golden);
	while (i + 5 <= size) {
		uint32_t off;
		uint8_t len;

		memcpy(&off, data + i, 4);
		len = data[i + 4];
		i += 5;
		if (len > size - i)
			len = (uint8_t)(size - i);
		off %= (uint32_t)meta_end;
		memdev_rw(m, off, (void *)(data + i), len, true);
		if (data[0] & 1)
			reseal(m, off);
		i += len;
	}
	exercise(m, (data[0] >> 1) & 3);
	memdev_free(m);
	return 0;
}
