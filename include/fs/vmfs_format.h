/*
 * VMFS on-disk format (version 1.0). docs/vmfs.md describes every structure.
 *
 * Everything is little-endian, exact-width and packed; every structure begins
 * with { u32 magic; u32 crc; } where crc is CRC32C over the whole structure
 * with the crc field taken as zero. A structure whose magic or crc does not
 * match is corrupt; an all-zero lock or heartbeat sector means "never used".
 *
 * Volume layout (byte offsets; "block" below means the 4 KiB metadata block):
 *
 *   0        volume header (sector 0), backup copy at 4 KiB
 *   64 KiB   heartbeat region: max_hosts sectors, slot i at hb_off + 512*i
 *   ...      arbitration region: max_hosts sectors of Disk Paxos blocks, then
 *            one leader sector (serialise lock updates without ATS)
 *   1 MiB    journal region: max_hosts journals of journal_blocks blocks
 *   ...      four resource regions, in this order: FD, PB, SB, FB. Each is
 *            n_clusters cluster-header blocks followed by its resources.
 *
 * A cluster-header block and a file-descriptor block both start with a lock
 * sector (struct vmfs_lockrec) that is written in place, never through the
 * journal; the remaining 3584 bytes are journaled metadata.
 */
#ifndef VMFS_FORMAT_H
#define VMFS_FORMAT_H

#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the VMFS code accesses little-endian on-disk structures directly"
#endif

/*
 * 3.0: directories carry dir_ver and are written home blocks first, which
 * hosts that walk without the directory's lock rely on (docs/vmfs.md, rule
 * 7). A 2.x host would break that on a shared volume, so the major moves.
 */
#define VMFS_VERSION_MAJOR	3
#define VMFS_VERSION_MINOR	0

#define VMFS_SECTOR		512u
#define VMFS_MD_BLOCK		4096u
#define VMFS_MD_PAYLOAD		(VMFS_MD_BLOCK - VMFS_SECTOR)	/* after the lock sector */
#define VMFS_HDR_BACKUP_OFF	4096ull
#define VMFS_HB_OFF		(64ull * 1024)
#define VMFS_MAX_HOSTS		256u
#define VMFS_NAME_MAX		255u
#define VMFS_LABEL_MAX		63u

#define VMFS_MAGIC_HDR		0x48464d56u	/* "VMFH" */
#define VMFS_MAGIC_HB		0x42484d56u	/* "VMHB" */
#define VMFS_MAGIC_ARB		0x52414d56u	/* "VMAR" */
#define VMFS_MAGIC_ARBL		0x4c414d56u	/* "VMAL" */
#define VMFS_MAGIC_LOCK		0x4b4c4d56u	/* "VMLK" */
#define VMFS_MAGIC_JHDR		0x484a4d56u	/* "VMJH" */
#define VMFS_MAGIC_JTXN		0x544a4d56u	/* "VMJT" */
#define VMFS_MAGIC_JCMT		0x434a4d56u	/* "VMJC" */
#define VMFS_MAGIC_CLUS		0x4c434d56u	/* "VMCL" */
#define VMFS_MAGIC_FD		0x44464d56u	/* "VMFD" */
#define VMFS_MAGIC_PB		0x42504d56u	/* "VMPB" */
#define VMFS_MAGIC_DIR		0x52444d56u	/* "VMDR" */

/* Resource types; also the index into vmfs_volhdr.reg[]. */
enum vmfs_res_type {
	VMFS_RES_FD = 0,	/* file descriptors, 4 KiB each (lock sector + fd) */
	VMFS_RES_PB = 1,	/* pointer blocks, 4 KiB each */
	VMFS_RES_SB = 2,	/* sub-blocks, block_size / 16 each */
	VMFS_RES_FB = 3,	/* file blocks, block_size each */
	VMFS_RES_NTYPES = 4,
};

struct vmfs_region {
	uint64_t hdr_off;	/* byte offset of cluster header 0 */
	uint64_t res_off;	/* byte offset of resource 0 */
	uint32_t res_size;	/* bytes per resource */
	uint32_t per_cluster;	/* resources per cluster (the last may hold fewer) */
	uint32_t n_clusters;
	uint32_t count;		/* resources in the region */
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_region) == 32, "vmfs_region");

/* Incompatible feature bits: a volume with an unknown one is not mounted. */
#define VMFS_FEAT_INCOMPAT_KNOWN	0u

struct vmfs_volhdr {
	uint32_t magic;
	uint32_t crc;
	uint16_t version_major;
	uint16_t version_minor;
	uint32_t feat_compat;
	uint32_t feat_ro_compat;
	uint32_t feat_incompat;
	uint32_t sector_size;		/* 512 */
	uint32_t md_block;		/* 4096 */
	uint8_t uuid[16];
	char label[64];			/* NUL-terminated */
	uint64_t ctime_ns;
	uint64_t vol_bytes;		/* bytes of the device covered */
	uint32_t block_size;		/* file block */
	uint32_t sb_size;		/* sub-block = block_size / VMFS_SB_PER_FB */
	uint32_t max_hosts;
	uint32_t lease_timeout_s;	/* heartbeat/lock lease T */
	uint32_t journal_blocks;	/* per host, 4 KiB each */
	uint32_t root_fd;
	uint64_t hb_off;
	uint64_t arb_off;
	uint64_t journal_off;
	struct vmfs_region reg[VMFS_RES_NTYPES];
	uint8_t reserved[512 - 176 - 128];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_volhdr) == 512, "vmfs_volhdr");

/* Heartbeat slot: one sector per host (renewed as a delta lease, fs/vmfs_hb.c). */
enum vmfs_hb_state {
	VMFS_HB_FREE = 0,	/* never used, cleanly released, or recovered */
	VMFS_HB_LIVE = 1,	/* a host claims it and renews `counter` */
	VMFS_HB_MAINT = 2,	/* live, and the host wants the volume to itself (repair, format) */
};

/*
 * A host incarnation is (host_uuid, nonce): the identity the host gives
 * (hardware UUID, machine-id, or VMFS_HOST_ID) plus a random nonce drawn per
 * boot or per process. Two incarnations with one identity are two hosts.
 */
struct vmfs_hbslot {
	uint32_t magic;
	uint32_t crc;
	uint32_t slot;
	uint32_t state;
	uint8_t host_uuid[16];
	uint64_t generation;	/* bumped on every claim; lock owners name it */
	uint64_t counter;	/* bumped on every renewal */
	uint64_t stamp_ns;	/* writer's clock, informational only */
	uint64_t journal_off;	/* byte offset of this slot's journal */
	char host_name[64];	/* the identity in words (VMFS_HOST_ID, host name) */
	uint8_t nonce[16];	/* per boot / per process */
	uint32_t lease_ms;	/* the writer's renewal interval, informational */
	/*
	 * A request for a lock another host keeps unused (lazy release): the
	 * lock record at want_off, held by (want_slot, want_gen). 0: none.
	 */
	uint32_t want_slot;
	uint64_t want_gen;
	uint64_t want_off;
	uint32_t want_seq;	/* a new number for every new request */
	uint32_t pad2;
	uint8_t reserved[512 - 176];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_hbslot) == 512, "vmfs_hbslot");

/*
 * Arbitration block: one sector per heartbeat slot, the Disk Paxos "disk block"
 * of that slot's host (fs/vmfs_paxos.c). epoch names the consensus instance
 * (which host holds the volume's arbitration lease for that epoch); mbal is
 * the highest ballot the host joined, bal/inp the ballot and value it last
 * accepted. A value is a holder: inp = slot + 1 (0: none), inp_gen its
 * heartbeat generation. All zero: never used.
 */
struct vmfs_arbblk {
	uint32_t magic;
	uint32_t crc;
	uint32_t slot;
	uint32_t pad;
	uint64_t hb_gen;	/* writer's heartbeat generation */
	uint64_t mbal;
	uint64_t bal;
	uint64_t inp;
	uint64_t epoch;
	uint64_t inp_gen;
	uint8_t reserved[512 - 64];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_arbblk) == 512, "vmfs_arbblk");

/*
 * Arbitration leader: the sector right after the arbitration blocks
 * (arb_off + 512 * max_hosts; the journal region starts later). It records
 * the latest decided epoch, its holder and whether the holder released it.
 * Written only by the epoch's holder (or its successor after a lease). All
 * zero: epoch 0, free.
 */
struct vmfs_arbldr {
	uint32_t magic;
	uint32_t crc;
	uint64_t epoch;
	uint32_t owner;		/* slot + 1 */
	uint32_t held;		/* 1 while the owner is inside the arbitration section */
	uint64_t owner_gen;
	uint64_t stamp_ns;	/* informational */
	uint8_t reserved[512 - 40];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_arbldr) == 512, "vmfs_arbldr");

/* On-disk lock record: one sector, written in place (never journaled). */
enum vmfs_lock_mode {
	VMFS_LOCK_FREE = 0,
	VMFS_LOCK_EXCL = 1,	/* one writer */
	VMFS_LOCK_RO = 2,	/* shared, read-only */
	VMFS_LOCK_MW = 3,	/* shared, multi-writer */
};

#define VMFS_LOCK_MAX_HOLDERS	16

struct vmfs_lockholder {
	uint16_t slot;
	uint16_t pad;
	uint32_t pad2;
	uint64_t hb_gen;	/* heartbeat generation of the holder */
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_lockholder) == 16, "vmfs_lockholder");

/*
 * meta: the metadata sub-lock of a multi-writer file. Holders of an MW lock
 * share the data; a change of the descriptor or its pointer blocks
 * (allocation, size, times) is made only by the host named in meta
 * (meta_held = 1), taken and given back like an exclusive lock.
 * idle: an exclusive holder keeps the lock without using it (a closed file,
 * a directory between operations) and hands it over when asked (a request
 * in the asker's heartbeat slot); written by the holder alone.
 * meta_want: a host waiting for the metadata sub-lock; whoever gives the
 * sub-lock back hands it to that host (so a host taking it again and again
 * cannot starve the others).
 */
struct vmfs_lockrec {
	uint32_t magic;
	uint32_t crc;
	uint64_t self_off;	/* byte offset of this sector: catches misplaced writes */
	uint32_t mode;
	uint32_t nholders;
	uint64_t version;	/* bumped on every change */
	uint64_t stamp_ns;
	struct vmfs_lockholder holders[VMFS_LOCK_MAX_HOLDERS];
	uint32_t meta_held;
	uint32_t idle;
	struct vmfs_lockholder meta;
	struct vmfs_lockholder meta_want;	/* slot + 1 in .pad2 marks it set */
	uint8_t reserved[512 - 40 - 256 - 40];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_lockrec) == 512, "vmfs_lockrec");

/*
 * Journal header: sector 0 of a host's journal. The log is the journal's
 * other blocks, used as a ring: transaction applied_seq + 1 starts at block
 * tail_blk, the next one right after it, and so on (a WRAP record sends the
 * reader back to block 1). fenced_gen: transactions written by incarnations
 * of this slot up to that generation are never replayed again (set once
 * another host or a successor replayed them), so a write of a dead
 * incarnation that lands late cannot be replayed.
 */
struct vmfs_jhdr {
	uint32_t magic;
	uint32_t crc;
	uint32_t slot;
	uint32_t tail_blk;	/* 0 (fresh) means 1 */
	uint64_t applied_seq;	/* every transaction <= this is at its home */
	uint64_t hb_gen;	/* incarnation that last wrote this header */
	uint64_t fenced_gen;
	uint8_t reserved[512 - 40];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_jhdr) == 512, "vmfs_jhdr");

#define VMFS_TXN_MAX_REC	250

struct vmfs_jrec {
	uint64_t off;		/* home byte offset */
	uint32_t len;		/* bytes, multiple of 512, <= 4096 */
	uint32_t data_crc;
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_jrec) == 16, "vmfs_jrec");

/*
 * Transaction descriptor at some log block b; record i's image is block
 * b + 1 + i, the commit record block b + 1 + nrec. With VMFS_JTXN_WRAP set
 * (nrec 0, no images, no commit) it only says: transaction seq is at block 1.
 */
#define VMFS_JTXN_WRAP	0x1

struct vmfs_jtxn {
	uint32_t magic;
	uint32_t crc;
	uint64_t seq;
	uint32_t nrec;
	uint32_t flags;
	uint64_t hb_gen;
	struct vmfs_jrec rec[VMFS_TXN_MAX_REC];
	uint8_t reserved[4096 - 32 - 16 * VMFS_TXN_MAX_REC];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_jtxn) == 4096, "vmfs_jtxn");

/* Commit record: the block after the images. total_crc covers descriptor + data. */
struct vmfs_jcommit {
	uint32_t magic;
	uint32_t crc;
	uint64_t seq;
	uint32_t nrec;
	uint32_t total_crc;
	uint8_t reserved[512 - 24];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_jcommit) == 512, "vmfs_jcommit");

/* Cluster header: the 3584 bytes after a cluster's lock sector. */
#define VMFS_CLUS_BITMAP_BYTES	(VMFS_MD_PAYLOAD - 32)
#define VMFS_CLUS_MAX_RES	(VMFS_CLUS_BITMAP_BYTES * 8)

struct vmfs_clhdr {
	uint32_t magic;
	uint32_t crc;
	uint32_t type;
	uint32_t index;
	uint32_t nres;
	uint32_t nfree;
	uint32_t first_res;
	uint32_t pad;
	uint8_t bitmap[VMFS_CLUS_BITMAP_BYTES];	/* bit set = allocated */
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_clhdr) == VMFS_MD_PAYLOAD, "vmfs_clhdr");

/* Address entry (pointer blocks and fd direct/indirect slots). 0 is a hole. */
#define VMFS_ADDR_VALID		(1ull << 63)
#define VMFS_ADDR_TBZ		(1ull << 62)	/* allocated, reads as zeros */
#define VMFS_ADDR_INDEX_MASK	((1ull << 48) - 1)

#define VMFS_NDIRECT		252
#define VMFS_IND1		252
#define VMFS_IND2		253
#define VMFS_IND3		254
#define VMFS_FD_NADDR		256
#define VMFS_INLINE_MAX		(VMFS_FD_NADDR * 8)
#define VMFS_SB_PER_FB		16	/* sub-blocks per file block; SB mode uses addr[0..15] */

enum vmfs_fd_type {
	VMFS_FT_FREE = 0,
	VMFS_FT_FILE = 1,
	VMFS_FT_DIR = 2,
};

enum vmfs_fd_mode {
	VMFS_FM_INLINE = 0,	/* data in the fd itself, size <= VMFS_INLINE_MAX */
	VMFS_FM_SB = 1,		/* addr[0..15] name sub-blocks, size <= block_size */
	VMFS_FM_FB = 2,		/* direct + indirect file blocks */
};

#define VMFS_FDF_THIN		0x1	/* created thin */
#define VMFS_FDF_EAGER		0x2	/* created eagerly zeroed */

struct vmfs_fd {
	uint32_t magic;
	uint32_t crc;
	uint32_t index;
	uint32_t gen;		/* bumped each time the descriptor is allocated */
	uint8_t type;
	uint8_t mode;
	uint16_t flags;
	uint32_t nlink;
	uint64_t size;
	uint64_t nres;		/* data units owned */
	uint64_t ctime_ns;
	uint64_t mtime_ns;
	uint64_t atime_ns;
	uint32_t perm;
	uint32_t parent;	/* directory holding the entry (root: itself) */
	uint64_t npb;		/* pointer blocks owned */
	uint64_t dir_ver;	/* directories: +1 on every change of an entry or of the blocks */
	uint8_t reserved[256 - 88];
	union {
		uint64_t addr[VMFS_FD_NADDR];
		uint8_t inline_data[VMFS_INLINE_MAX];
	};
	uint8_t reserved2[VMFS_MD_PAYLOAD - 256 - VMFS_INLINE_MAX];
} __attribute__((packed, aligned(8)));
_Static_assert(sizeof(struct vmfs_fd) == VMFS_MD_PAYLOAD, "vmfs_fd");

#define VMFS_PB_NENT		508

struct vmfs_pb {
	uint32_t magic;
	uint32_t crc;
	uint32_t fd;		/* owning file descriptor */
	uint32_t level;		/* 1: entries name data units; 2, 3: pointer blocks */
	uint8_t reserved[16];
	uint64_t ent[VMFS_PB_NENT];
} __attribute__((packed, aligned(8)));
_Static_assert(sizeof(struct vmfs_pb) == VMFS_MD_BLOCK, "vmfs_pb");

#define VMFS_DIRENT_PER_BLOCK	14

struct vmfs_dirent {
	uint32_t fd;		/* 0: empty slot */
	uint32_t gen;		/* fd generation when linked */
	uint8_t type;
	uint8_t name_len;
	uint16_t pad;
	uint32_t reserved;
	char name[256];		/* name_len bytes, NUL-padded */
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_dirent) == 272, "vmfs_dirent");

struct vmfs_dirblk {
	uint32_t magic;
	uint32_t crc;
	uint32_t dir_fd;
	uint32_t blkno;		/* index of this 4 KiB block in the directory */
	uint32_t nused;
	uint8_t reserved[12];
	struct vmfs_dirent ent[VMFS_DIRENT_PER_BLOCK];
	uint8_t reserved2[VMFS_MD_BLOCK - 32 - 272 * VMFS_DIRENT_PER_BLOCK];
} __attribute__((packed));
_Static_assert(sizeof(struct vmfs_dirblk) == VMFS_MD_BLOCK, "vmfs_dirblk");

#endif
