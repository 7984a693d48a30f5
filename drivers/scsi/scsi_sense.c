/*
 * Sense data and results (pure; host-testable): parse fixed and
 * descriptor sense (SPC-4 4.5), name keys, codes, operations and results,
 * and decide what the layer does with a completed command.
 */
#include <stdio.h>
#include <string.h>
#include <drivers/scsi.h>

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

void scsi_sense_parse(const uint8_t *buf, unsigned len, struct scsi_sense *out)
{
	uint8_t code;

	memset(out, 0, sizeof(*out));
	if (!buf || len < 1)
		return;
	code = buf[0] & 0x7f;
	if (code == SCSI_SENSE_FIXED_CURRENT || code == SCSI_SENSE_FIXED_DEFERRED) {
		if (len < 3)
			return;
		out->valid = true;
		out->deferred = code == SCSI_SENSE_FIXED_DEFERRED;
		out->key = buf[2] & 0xf;
		if (len >= 14 && buf[7] >= 6)
			out->asc_ascq = (uint16_t)(buf[12] << 8 | buf[13]);
		else if (len >= 13 && buf[7] >= 5)
			out->asc_ascq = (uint16_t)(buf[12] << 8);
		if ((buf[0] & 0x80) && len >= 7) {
			out->info_valid = true;
			out->info = be(buf + 3, 4);
		}
		return;
	}
	if (code == SCSI_SENSE_DESC_CURRENT || code == SCSI_SENSE_DESC_DEFERRED) {
		unsigned end, off = 8;

		if (len < 4)
			return;
		out->valid = true;
		out->deferred = code == SCSI_SENSE_DESC_DEFERRED;
		out->key = buf[1] & 0xf;
		out->asc_ascq = (uint16_t)(buf[2] << 8 | buf[3]);
		end = len >= 8 ? 8u + buf[7] : len;
		if (end > len)
			end = len;
		/* Descriptors: type, additional length, body. Type 0 is "information". */
		while (off + 2 <= end) {
			unsigned dlen = 2u + buf[off + 1];

			if (off + dlen > end)
				break;
			if (buf[off] == 0x00 && dlen >= 12 && (buf[off + 2] & 0x80)) {
				out->info_valid = true;
				out->info = be(buf + off + 4, 8);
			}
			off += dlen;
		}
	}
}

const char *scsi_sense_key_name(uint8_t key)
{
	static const char *const names[16] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR",
		"ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK",
		"VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND", "RESERVED (0xc)",
		"VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
	};

	return names[key & 0xf];
}

static const struct {
	uint16_t code;
	const char *name;
} asc_names[] = {
	{ 0x0000, "NO ADDITIONAL SENSE INFORMATION" },
	{ 0x0400, "LOGICAL UNIT NOT READY" },
	{ 0x0401, "LOGICAL UNIT IS IN PROCESS OF BECOMING READY" },
	{ 0x0402, "LOGICAL UNIT NOT READY, INITIALIZING COMMAND REQUIRED" },
	{ 0x0c00, "WRITE ERROR" },
	{ 0x1100, "UNRECOVERED READ ERROR" },
	{ 0x1401, "RECORD NOT FOUND" },
	{ 0x1a00, "PARAMETER LIST LENGTH ERROR" },
	{ 0x1d00, "MISCOMPARE DURING VERIFY OPERATION" },
	{ 0x2000, "INVALID COMMAND OPERATION CODE" },
	{ 0x2100, "LOGICAL BLOCK ADDRESS OUT OF RANGE" },
	{ 0x2400, "INVALID FIELD IN CDB" },
	{ 0x2500, "LOGICAL UNIT NOT SUPPORTED" },
	{ 0x2600, "INVALID FIELD IN PARAMETER LIST" },
	{ 0x2700, "WRITE PROTECTED" },
	{ 0x2800, "NOT READY TO READY CHANGE, MEDIUM MAY HAVE CHANGED" },
	{ 0x2900, "POWER ON, RESET, OR BUS DEVICE RESET OCCURRED" },
	{ 0x2a00, "PARAMETERS CHANGED" },
	{ 0x2a09, "CAPACITY DATA HAS CHANGED" },
	{ 0x3a00, "MEDIUM NOT PRESENT" },
	{ 0x3f0e, "REPORTED LUNS DATA HAS CHANGED" },
	{ 0x4400, "INTERNAL TARGET FAILURE" },
	{ 0x4700, "SCSI PARITY ERROR" },
	{ 0x4703, "INFORMATION UNIT iuCRC ERROR DETECTED" },
	{ 0x4b00, "DATA PHASE ERROR" },
};

const char *scsi_asc_name(uint16_t asc_ascq)
{
	for (size_t i = 0; i < sizeof(asc_names) / sizeof(asc_names[0]); i++) {
		if (asc_names[i].code == asc_ascq)
			return asc_names[i].name;
	}
	return NULL;
}

const char *scsi_hres_name(enum scsi_hres h)
{
	switch (h) {
	case SCSI_HRES_OK: return "completed";
	case SCSI_HRES_NO_DEVICE: return "no such device";
	case SCSI_HRES_ERROR: return "adapter or transport error";
	case SCSI_HRES_TIMEOUT: return "timed out";
	case SCSI_HRES_ABORTED: return "aborted";
	case SCSI_HRES_RESET: return "terminated by a reset";
	case SCSI_HRES_BUSY: return "adapter busy";
	}
	return "?";
}

const char *scsi_op_name(uint8_t op)
{
	switch (op) {
	case SCSI_TEST_UNIT_READY: return "TEST UNIT READY";
	case SCSI_REQUEST_SENSE: return "REQUEST SENSE";
	case SCSI_INQUIRY: return "INQUIRY";
	case SCSI_MODE_SENSE_6: return "MODE SENSE(6)";
	case SCSI_READ_CAPACITY_10: return "READ CAPACITY(10)";
	case SCSI_READ_10: return "READ(10)";
	case SCSI_WRITE_10: return "WRITE(10)";
	case SCSI_SYNCHRONIZE_CACHE_10: return "SYNCHRONIZE CACHE(10)";
	case SCSI_WRITE_SAME_10: return "WRITE SAME(10)";
	case SCSI_UNMAP: return "UNMAP";
	case SCSI_READ_16: return "READ(16)";
	case SCSI_COMPARE_AND_WRITE: return "COMPARE AND WRITE";
	case SCSI_WRITE_16: return "WRITE(16)";
	case SCSI_SYNCHRONIZE_CACHE_16: return "SYNCHRONIZE CACHE(16)";
	case SCSI_WRITE_SAME_16: return "WRITE SAME(16)";
	case SCSI_SERVICE_ACTION_IN_16: return "READ CAPACITY(16)";
	case SCSI_REPORT_LUNS: return "REPORT LUNS";
	}
	return "command";
}

static const char *status_name(uint8_t st)
{
	switch (st) {
	case SCSI_STATUS_GOOD: return "GOOD";
	case SCSI_STATUS_CHECK_CONDITION: return "CHECK CONDITION";
	case SCSI_STATUS_CONDITION_MET: return "CONDITION MET";
	case SCSI_STATUS_BUSY: return "BUSY";
	case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
	case SCSI_STATUS_TASK_SET_FULL: return "TASK SET FULL";
	case SCSI_STATUS_ACA_ACTIVE: return "ACA ACTIVE";
	case SCSI_STATUS_TASK_ABORTED: return "TASK ABORTED";
	}
	return "unknown status";
}

void scsi_result_text(enum scsi_hres hres, uint8_t status, const struct scsi_sense *s, char *buf,
		      unsigned len)
{
	const char *asc;
	int n;

	if (hres != SCSI_HRES_OK) {
		snprintf(buf, len, "%s", scsi_hres_name(hres));
		return;
	}
	if (status != SCSI_STATUS_CHECK_CONDITION || !s || !s->valid) {
		snprintf(buf, len, "status %s (%#x)%s", status_name(status), status,
			 status == SCSI_STATUS_CHECK_CONDITION ? ", no sense data" : "");
		return;
	}
	asc = scsi_asc_name(s->asc_ascq);
	n = snprintf(buf, len, "CHECK CONDITION: %s, %s (%02x/%02x)", scsi_sense_key_name(s->key),
		     asc ? asc : "additional sense", s->asc_ascq >> 8, s->asc_ascq & 0xff);
	if (s->info_valid && n > 0 && (unsigned)n < len)
		snprintf(buf + n, len - (unsigned)n, " at LBA %llu", (unsigned long long)s->info);
}

static enum scsi_disposition decide_sense(const struct scsi_sense *s)
{
	if (!s->valid)
		return SCSI_DISP_RETRY;
	switch (s->key) {
	case SCSI_SK_NO_SENSE:
	case SCSI_SK_RECOVERED_ERROR:
		return SCSI_DISP_OK;
	case SCSI_SK_UNIT_ATTENTION:
	case SCSI_SK_ABORTED_COMMAND:
		return SCSI_DISP_RETRY;
	case SCSI_SK_NOT_READY:
		return (s->asc_ascq >> 8) == 0x3a ? SCSI_DISP_FAIL : SCSI_DISP_RETRY_LATER;
	case SCSI_SK_ILLEGAL_REQUEST:
		return s->asc_ascq == SCSI_ASC_LUN_NOT_SUPPORTED ? SCSI_DISP_NO_DEVICE :
		       SCSI_DISP_FAIL;
	default:
		return SCSI_DISP_FAIL;
	}
}

enum scsi_disposition scsi_decide(enum scsi_hres hres, uint8_t status, const struct scsi_sense *s)
{
	switch (hres) {
	case SCSI_HRES_OK:
		break;
	case SCSI_HRES_NO_DEVICE:
		return SCSI_DISP_NO_DEVICE;
	case SCSI_HRES_BUSY:
		return SCSI_DISP_RETRY_LATER;
	default:
		return SCSI_DISP_RETRY;
	}
	switch (status) {
	case SCSI_STATUS_GOOD:
	case SCSI_STATUS_CONDITION_MET:
		return SCSI_DISP_OK;
	case SCSI_STATUS_BUSY:
	case SCSI_STATUS_TASK_SET_FULL:
		return SCSI_DISP_RETRY_LATER;
	case SCSI_STATUS_TASK_ABORTED:
		return SCSI_DISP_RETRY;
	case SCSI_STATUS_CHECK_CONDITION:
		return decide_sense(s);
	default:
		return SCSI_DISP_FAIL;
	}
}

uint8_t scsi_sense_fill(uint8_t *sense, uint8_t key, uint16_t asc_ascq)
{
	memset(sense, 0, SCSI_SENSE_FIXED_LEN);
	sense[0] = SCSI_SENSE_FIXED_CURRENT;
	sense[2] = key & 0xf;
	sense[7] = SCSI_SENSE_FIXED_LEN - 8;
	sense[12] = (uint8_t)(asc_ascq >> 8);
	sense[13] = (uint8_t)asc_ascq;
	return SCSI_SENSE_FIXED_LEN;
}
