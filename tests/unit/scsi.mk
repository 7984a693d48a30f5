UNIT_TESTS += test_scsi
test_scsi_SRCS := tests/unit/test_scsi.c drivers/scsi/scsi_sense.c drivers/scsi/scsi_cdb.c \
	drivers/scsi/scsi_emul.c drivers/scsi/scsi_prov.c drivers/scsi/scsi_ata.c \
	drivers/scsi/scsi_nvme.c vmkernel/lib/sha256.c
