/*
 * The block/SCSI layer (drivers/scsi/): one design for every storage driver.
 *
 * Everything above the drivers speaks SCSI: a struct scsi_cmd carries a
 * CDB, a data buffer and, on completion, a status byte and sense data.
 * Drivers for SCSI hardware (virtio-scsi, PVSCSI, MegaRAID) pass CDBs
 * through; drivers for ATA and NVMe hardware translate them (scsi_ata.h,
 * scsi_nvme.h) and answer INQUIRY, READ CAPACITY and VPD from their
 * identify data.
 *
 * A host adapter (struct scsi_host, named vmhbaN in registration order)
 * has a tag table of can_queue slots: many commands are in flight at
 * once. The driver's queue() starts a command and returns; the device
 * interrupts; the driver's handler fills in the result and calls
 * scsi_cmd_done(), which wakes the world waiting for it. Nothing spins.
 *
 * Timeouts, retries and resets live here, not in drivers: a waiter whose
 * command passes its deadline first polls the driver (a lost interrupt),
 * then asks it to abort the command, then to reset the adapter; the
 * command is retried while its retry budget lasts. Drivers promise that
 * once abort() or reset() returns 0 they will not complete or touch the
 * affected commands again.
 *
 * Locking: host->lock (irqsave) protects the tag table, the tag waiters
 * and the statistics. A command belongs to its submitter until
 * scsi_submit(), to the driver until scsi_cmd_done() or a successful
 * abort/reset, then to the submitter again.
 */
#ifndef SCSI_H
#define SCSI_H

#include <stdbool.h>
#include <stdint.h>
#include <drivers/scsi_hw.h>
#include <vmkernel/spinlock.h>

#define SCSI_MAX_TAGS	256		/* per host */
#define SCSI_MAX_SG	258		/* 1 MiB in 4 KiB pages, unaligned, + 1 */
#define SCSI_MAX_XFER	(1024u * 1024)	/* bytes per command the layer ever builds */
#define SCSI_DEFAULT_TIMEOUT_MS 30000
#define SCSI_DEFAULT_RETRIES 3

enum scsi_dir { SCSI_DIR_NONE, SCSI_DIR_FROM_DEV, SCSI_DIR_TO_DEV };

/* How the command ended at the transport level; status/sense are valid only for OK. */
enum scsi_hres {
	SCSI_HRES_OK = 0,	/* the target answered: see status and sense */
	SCSI_HRES_NO_DEVICE,	/* selection timeout, no such target/LUN */
	SCSI_HRES_ERROR,	/* transport or adapter error */
	SCSI_HRES_TIMEOUT,	/* set by the layer when the deadline passed */
	SCSI_HRES_ABORTED,	/* aborted by the layer */
	SCSI_HRES_RESET,	/* terminated by an adapter or bus reset */
	SCSI_HRES_BUSY,		/* the adapter could not take it now; retried */
};

struct scsi_sg {
	uint64_t addr;		/* physical */
	uint32_t len;
};

struct scsi_host;
struct scsi_device;
struct world;

struct scsi_cmd {
	/* Set by the submitter (scsi_cmd_init): */
	struct scsi_host *host;
	struct scsi_device *sdev;	/* NULL while scanning */
	unsigned target, lun;
	uint8_t cdb[16];
	uint8_t cdb_len;
	enum scsi_dir dir;
	void *buf;			/* kernel virtual address */
	uint32_t len;
	unsigned timeout_ms;
	unsigned retries;		/* retries left */
	bool quiet;			/* no log line on failure (scanning, probing) */
	unsigned attempt;		/* 0 on the first try; drivers may play safe on retries */
	/* Set by the layer for the driver: */
	unsigned tag;			/* index in the host's tag table */
	void *data;			/* the data for the CPU's accesses (emulated answers, PIO):
					 * buf, or the bounce buffer the segments point to */
	unsigned nsg;
	struct scsi_sg sg[SCSI_MAX_SG];
	void *drv;			/* free for the driver while it owns the command */
	/* Set by the driver before scsi_cmd_done(): */
	enum scsi_hres hres;
	uint8_t status;
	uint8_t sense_len;
	uint32_t resid;			/* bytes not transferred */
	uint8_t sense[SCSI_SENSE_BUF_LEN];
	/* The layer's own: */
	volatile int state;
	struct world *waiter;
	uint64_t deadline_ns;
	uint64_t start_tsc;
	void *bounce;
	unsigned bounce_order;
	void (*complete)(struct scsi_cmd *c);	/* optional, runs in scsi_cmd_done's context */
	void *complete_arg;
};

struct scsi_host_ops {
	/* Start c; 0, -EBUSY (no resources now: retried later) or another -errno (fails c). */
	int (*queue)(struct scsi_host *h, struct scsi_cmd *c);
	/* Abort c (timed out); 0 when c is finished with (done called or never will be). */
	int (*abort)(struct scsi_host *h, struct scsi_cmd *c);
	/* Reset the adapter; every outstanding command is completed or forgotten. 0 or -errno. */
	int (*reset)(struct scsi_host *h);
	/* Optional: reap completions now, interrupts or not. */
	void (*poll)(struct scsi_host *h);
};

struct scsi_host {
	char name[16];			/* "vmhba0" */
	unsigned id;
	const char *driver;		/* "ahci", "nvme", ... */
	const char *bus_name;		/* PCI address, for the log */
	const struct scsi_host_ops *ops;
	void *priv;
	/* Limits, set by the driver before scsi_host_add(): */
	unsigned max_target;		/* targets 0..max_target are scanned */
	unsigned max_lun;		/* LUNs 0..max_lun when REPORT LUNS fails */
	unsigned can_queue;		/* tags, <= SCSI_MAX_TAGS */
	uint32_t max_xfer;		/* bytes per command, <= SCSI_MAX_XFER */
	unsigned max_segs;		/* <= SCSI_MAX_SG */
	uint32_t max_seg_len;
	uint64_t seg_boundary;		/* a segment may not cross a multiple of this (0 = none) */
	uint64_t dma_limit;		/* highest address + 1 the adapter can reach */
	unsigned dma_align;		/* segment address and length alignment (2 = even) */
	bool no_report_luns;		/* scan LUNs by INQUIRY only */
	/* Layer state: */
	struct spinlock lock;
	struct scsi_cmd *tags[SCSI_MAX_TAGS];	/* lock */
	unsigned inflight;			/* lock */
	struct scsi_tag_wait *tag_waiters;	/* lock */
	volatile int eh_busy;			/* error handling in progress */
	bool dead;				/* given up: every command fails */
	struct scsi_host *next;
	struct scsi_device *devices;
	/* Statistics (lock): */
	uint64_t n_cmds, n_errors, n_timeouts, n_aborts, n_resets, n_lost_irqs, n_bounced;
};

/* A logical unit that is a disk (peripheral type 0) found by the scan. */
struct scsi_device {
	struct scsi_host *host;
	unsigned channel, target, lun;
	char name[32];			/* "vmhba0:C0:T0:L0" */
	char id[80];			/* "naa.5000...", "t10.ATA_...", "eui....", "mpx.vmhba0:C0:T0:L0" */
	char vendor[9], product[17], revision[5], serial[41];
	uint32_t block_size;		/* logical */
	uint32_t phys_block_size;
	uint64_t blocks;
	uint32_t max_xfer_blocks;	/* from VPD 0xb0 and the host, >= 1 */
	bool caw;			/* COMPARE AND WRITE of one block (ATS) */
	bool unmap;
	bool write_same;
	bool removable;
	bool offline;			/* given up after errors */
	struct scsi_device *next;	/* the host's list */
	struct scsi_device *all_next;	/* every disk */
	void *blk;			/* the block layer's disk */
};

/* ---- drivers ---- */
/* Name the host vmhbaN, scan it for disks and hand them to the block layer. */
int scsi_host_add(struct scsi_host *h);
/* The adapter is beyond use (dead controller): fail everything, keep the names. */
void scsi_host_dead(struct scsi_host *h, const char *why);
/* From the driver's completion path (interrupt or poll), exactly once per queued command. */
void scsi_cmd_done(struct scsi_cmd *c);
/* The command occupying tag t, or NULL (drivers whose hardware echoes the tag). */
struct scsi_cmd *scsi_host_cmd(struct scsi_host *h, unsigned tag);
/* Fill fixed-format sense (SPC-4 4.5.3) with status CHECK CONDITION. */
void scsi_cmd_set_sense(struct scsi_cmd *c, uint8_t key, uint16_t asc_ascq);

/* ---- users ---- */
void scsi_cmd_init(struct scsi_cmd *c, struct scsi_device *sdev, enum scsi_dir dir, void *buf,
		   uint32_t len);
/* Queue c (taking a tag, sleeping for one if none is free); -errno if it cannot start. */
int scsi_submit(struct scsi_cmd *c);
/* Wait for c, handling timeouts and retries; 0 or -EIO/-ENODEV/-ETIMEDOUT (logged). */
int scsi_wait(struct scsi_cmd *c);
/* Submit and wait. */
int scsi_exec(struct scsi_cmd *c);

struct scsi_host *scsi_host_first(void);
struct scsi_device *scsi_device_first(void);	/* every disk, discovery order */
struct scsi_device *scsi_device_find(const char *name_or_id);

/* ---- pure helpers (drivers/scsi/scsi_sense.c, scsi_cdb.c; host-testable) ---- */
struct scsi_sense {
	bool valid;
	bool deferred;
	uint8_t key;
	uint16_t asc_ascq;
	bool info_valid;
	uint64_t info;		/* e.g. the failing LBA */
};

/* Parse fixed (0x70/0x71) or descriptor (0x72/0x73) sense data. */
void scsi_sense_parse(const uint8_t *buf, unsigned len, struct scsi_sense *out);
const char *scsi_sense_key_name(uint8_t key);
/* "UNRECOVERED READ ERROR", or NULL when the code is not in the table. */
const char *scsi_asc_name(uint16_t asc_ascq);
/* Human text for a completed command: "CHECK CONDITION: MEDIUM ERROR, UNRECOVERED READ ERROR (11/00) at LBA 2048". */
void scsi_result_text(enum scsi_hres hres, uint8_t status, const struct scsi_sense *s, char *buf,
		      unsigned len);
const char *scsi_hres_name(enum scsi_hres h);
const char *scsi_op_name(uint8_t opcode);

enum scsi_disposition {
	SCSI_DISP_OK,		/* success */
	SCSI_DISP_RETRY,	/* transient: retry while the budget lasts */
	SCSI_DISP_RETRY_LATER,	/* not ready / busy: retry after a pause */
	SCSI_DISP_FAIL,		/* final error */
	SCSI_DISP_NO_DEVICE,	/* nothing there */
};
enum scsi_disposition scsi_decide(enum scsi_hres hres, uint8_t status, const struct scsi_sense *s);

/* CDB builders: return the CDB length. */
unsigned scsi_cdb_rw16(uint8_t *cdb, bool write, uint64_t lba, uint32_t blocks, bool fua);
unsigned scsi_cdb_rw10(uint8_t *cdb, bool write, uint32_t lba, uint16_t blocks);
unsigned scsi_cdb_inquiry(uint8_t *cdb, bool evpd, uint8_t page, uint16_t alloc);
unsigned scsi_cdb_read_capacity16(uint8_t *cdb, uint32_t alloc);
unsigned scsi_cdb_sync_cache16(uint8_t *cdb);
/* SYNCHRONIZE CACHE(10) covers the whole medium too and every device has it; the layer uses it. */
unsigned scsi_cdb_sync_cache10(uint8_t *cdb);
unsigned scsi_cdb_caw(uint8_t *cdb, uint64_t lba, uint8_t blocks);
unsigned scsi_cdb_report_luns(uint8_t *cdb, uint32_t alloc);
unsigned scsi_cdb_tur(uint8_t *cdb);
unsigned scsi_cdb_unmap(uint8_t *cdb, uint16_t param_len);
unsigned scsi_cdb_write_same16(uint8_t *cdb, uint64_t lba, uint32_t blocks, bool unmap);

/* A READ/WRITE/VERIFY/WRITE SAME/COMPARE AND WRITE of any size, decoded. */
struct scsi_rw {
	uint8_t op;
	bool write;
	bool fua;
	uint64_t lba;
	uint32_t blocks;
};
/* 0 when cdb is a (6/10/12/16-byte) read or write, -EINVAL otherwise. */
int scsi_cdb_decode_rw(const uint8_t *cdb, unsigned len, struct scsi_rw *rw);

/* Identifier from VPD 0x83 (SPC-4 7.8.6), ESXi-style: "naa.", "eui.", "t10."; -ENOENT if none usable. */
int scsi_vpd83_id(const uint8_t *page, unsigned len, char *out, unsigned outlen);
/* Trim and copy an ASCII field (INQUIRY vendor, product, serial). */
void scsi_ascii(const uint8_t *src, unsigned len, char *out, unsigned outlen);
/* Parse a REPORT LUNS response into flat LUN numbers; returns the count. */
unsigned scsi_report_luns_parse(const uint8_t *buf, unsigned len, unsigned *luns, unsigned max);

/* Responses made up by translating drivers (scsi_emul.c). */
struct scsi_emul_disk {
	const char *vendor;	/* 8 chars max */
	const char *product;	/* 16 */
	const char *revision;	/* 4 */
	const char *serial;	/* VPD 0x80 */
	uint8_t naa[16];	/* NAA designator bytes (8 or 16), naa_len 0 if none */
	unsigned naa_len;
	uint8_t eui[16];	/* EUI-64 / NGUID bytes, eui_len 0 if none */
	unsigned eui_len;
	char t10_vendor[9];	/* T10 vendor ID designator: vendor + product + serial */
	uint64_t blocks;
	uint32_t block_size;
	uint32_t phys_block_size;
	uint32_t max_xfer_blocks;	/* 0 = no limit stated */
	uint8_t caw_blocks;	/* COMPARE AND WRITE length, 0 = unsupported */
	/*
	 * Thin provisioning, as the driver can translate it (VPD 0xb0/0xb2,
	 * READ CAPACITY(16) LBPME/LBPRZ). All zero: no UNMAP, no WRITE SAME.
	 */
	bool unmap;			/* UNMAP is translated */
	uint32_t max_unmap_blocks;	/* per UNMAP command; 0xffffffff: no limit */
	uint32_t max_unmap_descs;	/* block descriptors per UNMAP */
	uint32_t unmap_granularity;	/* blocks, 0 = not stated */
	uint32_t max_write_same_blocks;	/* WRITE SAME of a zero block; 0 = not translated */
	bool write_same_unmap;		/* WRITE SAME's UNMAP bit may deallocate (LBPWS) */
	bool lbprz;			/* deallocated blocks read as zeroes */
};
/*
 * Answer INQUIRY (standard and VPD 0x00/0x80/0x83/0xb0/0xb1/0xb2), READ
 * CAPACITY (10/16), REPORT LUNS, TEST UNIT READY, MODE SENSE (caching page
 * only, no write cache reported as volatile... see scsi_emul.c), REQUEST
 * SENSE. Returns 1 if handled (data in buf, *resid set, or sense filled),
 * 0 if cdb is not one of these.
 */
int scsi_emul(const struct scsi_emul_disk *d, const uint8_t *cdb, unsigned cdb_len, uint8_t *buf,
	      uint32_t len, uint32_t *resid, uint8_t *sense, uint8_t *sense_len, uint8_t *status);
/* Fill sense bytes (fixed format); returns the length. */
uint8_t scsi_sense_fill(uint8_t *sense, uint8_t key, uint16_t asc_ascq);

/*
 * UNMAP and WRITE SAME for translating drivers (scsi_prov.c): the SCSI
 * side is decoded and checked here, against the limits the driver states
 * in its scsi_emul_disk; the driver builds its hardware's own command
 * (ATA TRIM, NVMe Dataset Management / Write Zeroes, virtio-blk DISCARD /
 * WRITE_ZEROES) from the result.
 */
struct scsi_range {
	uint64_t lba;
	uint32_t blocks;
};

/*
 * UNMAP (SBC-3 5.28): its parameter list (buf, len bytes) into at most max
 * ranges, descriptors of no blocks dropped. Returns the number of ranges
 * (0: nothing to do), or -EINVAL with CHECK CONDITION sense filled in.
 */
int scsi_unmap_decode(const struct scsi_emul_disk *e, const uint8_t *cdb, unsigned cdb_len,
		      const uint8_t *buf, uint32_t len, struct scsi_range *out, unsigned max,
		      uint8_t *status, uint8_t *sense, uint8_t *sense_len);

struct scsi_write_same {
	uint64_t lba;
	uint32_t blocks;
	bool unmap;		/* the UNMAP bit: the blocks may be deallocated */
};

/*
 * WRITE SAME (10/16) for a device that can only zero: the data block must
 * be all zeroes (or absent, NDOB). 0, or -EINVAL with CHECK CONDITION sense
 * (another pattern: INVALID FIELD IN PARAMETER LIST).
 */
int scsi_write_same_decode(const struct scsi_emul_disk *e, const uint8_t *cdb, unsigned cdb_len,
			   const uint8_t *buf, uint32_t len, struct scsi_write_same *ws,
			   uint8_t *status, uint8_t *sense, uint8_t *sense_len);

#endif
