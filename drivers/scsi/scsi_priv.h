/* Private to drivers/scsi: shared by the host core and the scan. */
#ifndef SCSI_PRIV_H
#define SCSI_PRIV_H

#include <drivers/scsi.h>

enum { CMD_IDLE = 0, CMD_QUEUED = 1, CMD_DONE = 2 };

/* Scan h's targets and LUNs; disks found are added to the block layer. */
void scsi_scan_host(struct scsi_host *h);
/* Log a failed command (device, operation, LBA, result). */
void scsi_log_failure(const struct scsi_cmd *c, const char *what);

#endif
