/*
 * SCSI to ATA translation (drivers/scsi/scsi_ata.c; SAT-3 style), for the
 * drivers of ATA hardware (AHCI, PIIX IDE). Pure code, host-tested.
 *
 * A driver parses its device's IDENTIFY data once (ata_identify_parse),
 * derives the emulated SCSI description (ata_emul_disk), then for every
 * command calls satl_translate(): either the answer is complete (INQUIRY,
 * READ CAPACITY, ... or a CHECK CONDITION) or it gets one ATA command to
 * issue. When that command fails, satl_error_sense() turns the ATA status
 * and error registers into sense data.
 *
 * UNMAP becomes DATA SET MANAGEMENT with the TRIM bit when the disk has
 * TRIM: one 512-byte block of range entries, which the driver sends from
 * ata_cmd.payload instead of the SCSI buffer (a non-queued DMA write).
 * WRITE SAME is not translated (ATA has no zeroing command used here).
 */
#ifndef SCSI_ATA_H
#define SCSI_ATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <drivers/scsi.h>

struct ata_dev {
	char model[41], serial[21], firmware[9];
	uint64_t sectors;
	uint32_t sector_size;		/* logical */
	uint32_t phys_sector_size;
	bool lba48, ncq, write_cache;
	bool trim;			/* DSM TRIM; a driver that cannot issue it clears this */
	bool trim_zeroes;		/* trimmed sectors read as zeroes (RZAT and DRAT) */
	unsigned queue_depth;		/* NCQ depth, 1 without NCQ */
	bool has_wwn;
	uint8_t wwn[8];
};

/* 0, or -EINVAL (err says why: ATAPI, no LBA, no DMA, bad sector size). */
int ata_identify_parse(const uint16_t id[256], struct ata_dev *out, char *err, size_t errlen);
void ata_emul_disk(const struct ata_dev *a, struct scsi_emul_disk *e);

struct ata_cmd {
	uint8_t command;
	uint8_t device;		/* ATA_DEV_LBA (| ATA_DEV_FUA for FPDMA) */
	uint64_t lba;
	uint32_t count;		/* sectors (FPDMA: goes in the features field) */
	bool lba48;
	bool ncq;		/* FPDMA QUEUED: the driver puts its tag in count bits 7:3 */
	bool write;		/* data direction to the device */
	bool data;		/* has a data phase (DMA) */
	uint32_t bytes;
	uint16_t features;	/* non-queued commands (DSM: ATA_DSM_TRIM) */
	bool use_payload;	/* the data is payload[] (bytes of it), not the SCSI buffer */
	uint8_t payload[512];
};

enum satl_action { SATL_COMPLETE, SATL_ISSUE };

/*
 * Translate one CDB. allow_ncq: the port can queue (the driver decides).
 * SATL_COMPLETE: status/sense/resid are final (data, if any, is in buf).
 * SATL_ISSUE: run *out; buf/buflen are its data.
 */
enum satl_action satl_translate(const struct ata_dev *a, const struct scsi_emul_disk *e,
				const uint8_t *cdb, unsigned cdb_len, void *buf, uint32_t buflen,
				bool allow_ncq, struct ata_cmd *out, uint8_t *status, uint8_t *sense,
				uint8_t *sense_len, uint32_t *resid);

/* Sense for a failed ATA command from its status and error registers. */
void satl_error_sense(uint8_t ata_status, uint8_t ata_error, bool write, uint8_t *sense,
		      uint8_t *sense_len, uint8_t *status);

#endif
