/*
 * Disks and partitions (drivers/block/): the block layer between the SCSI
 * layer and its users. Every disk the SCSI scan finds becomes a struct
 * blk_disk with a struct blockdev for the whole disk (its own block size)
 * and one per GPT partition, named like ESXi's ("naa.xxx:1").
 *
 * A transfer is cut into commands of at most the device's limit and up to
 * BLK_MAX_INFLIGHT of them run at once; the caller's world sleeps until
 * all have completed. Partition block devices always have 512-byte
 * sectors: on a 4Kn disk (4096-byte logical blocks) a write that does not
 * cover whole blocks is done as read-modify-write under the disk's
 * mutex. That keeps a 512-byte write atomic against this host's other
 * writes and against power loss, but NOT against another host writing the
 * same 4 KiB block: like ESXi, share 4Kn disks between hosts only with
 * 4 KiB-aware filesystems (VMFS here is not; the datastore scan says so).
 */
#ifndef BLKDISK_H
#define BLKDISK_H

#include <stdbool.h>
#include <stdint.h>
#include <drivers/blockdev.h>
#include <drivers/gpt.h>
#include <vmkernel/mutex.h>

#define BLK_MAX_INFLIGHT 8

struct scsi_device;
struct blk_disk;

struct blk_part {
	struct blockdev dev;		/* 512-byte sectors */
	struct blk_disk *disk;
	unsigned index;			/* GPT entry number */
	uint64_t start, blocks;		/* in the disk's logical blocks */
	char name[96];			/* "naa.xxx:1" */
	uint8_t type[16];
	char label[GPT_NAME_UTF8];
	struct blk_part *next;
};

struct blk_disk {
	struct blockdev dev;		/* the whole disk, in its logical blocks */
	struct scsi_device *sdev;
	const char *name;		/* the identifier, sdev->id */
	uint32_t block_size;
	bool emulate512;		/* 4Kn: partitions do 512-byte read-modify-write */
	struct mutex rmw;		/* serialises read-modify-write */
	unsigned nparts;
	struct blk_part *parts;
	int gpt_status;			/* gpt_read()'s result */
	char gpt_err[240];
	struct blk_disk *next;
	/* Statistics (atomic): */
	uint64_t n_reads, n_writes, n_flushes, n_cmds, bytes_read, bytes_written, n_errors;
};

/* Called by the SCSI scan for every disk; reads and logs the partition table. */
int blk_disk_add(struct scsi_device *sdev);
struct blk_disk *blk_disk_first(void);
struct blk_part *blk_part_find(const char *name);

/* Transfer `count` logical blocks; 0 or -errno (the failing command is logged). */
int blk_disk_rw(struct blk_disk *d, bool write, uint64_t lba, uint32_t count, void *buf);
int blk_disk_flush(struct blk_disk *d);

#endif
