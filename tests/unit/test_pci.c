/*
 * Host unit tests for the pure PCI helpers (drivers/pci/pci_parse.c): the
 * capability walker over crafted and malformed configuration spaces, BAR
 * decoding, driver ID matching and class names.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <drivers/pci.h>

static uint8_t cfg[4096];

static uint32_t rd(void *ctx, unsigned off)
{
	uint32_t v;

	(void)ctx;
	assert_true(off % 4 == 0);
	assert_true(off < sizeof(cfg));
	memcpy(&v, cfg + off, 4);
	return v;
}

static struct pci_cfg_src src = { rd, NULL, 256 };

static void put16(unsigned off, uint16_t v)
{
	memcpy(cfg + off, &v, 2);
}

static void put32(unsigned off, uint32_t v)
{
	memcpy(cfg + off, &v, 4);
}

/* A capability at off with id, next pointer. */
static void cap(unsigned off, uint8_t id, uint8_t next)
{
	cfg[off] = id;
	cfg[off + 1] = next;
}

static int reset(void **state)
{
	(void)state;
	memset(cfg, 0, sizeof(cfg));
	put16(PCI_STATUS, PCI_STATUS_CAP_LIST);
	src.size = 256;
	return 0;
}

static void test_list_basic(void **state)
{
	struct pci_cap_entry e[8];
	char err[96];

	(void)state;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	cap(0x40, PCI_CAP_ID_PM, 0x50);
	cap(0x50, PCI_CAP_ID_MSI, 0x70);
	cap(0x70, PCI_CAP_ID_MSIX, 0);
	assert_int_equal(pci_cap_list(&src, e, 8, err, sizeof(err)), 3);
	assert_int_equal(e[0].id, PCI_CAP_ID_PM);
	assert_int_equal(e[1].off, 0x50);
	assert_int_equal(e[2].id, PCI_CAP_ID_MSIX);
	assert_false(e[2].ext);
	assert_int_equal(pci_cap_find(&src, PCI_CAP_ID_MSIX), 0x70);
	assert_int_equal(pci_cap_find(&src, PCI_CAP_ID_EXP), 0);
}

static void test_no_list_bit(void **state)
{
	struct pci_cap_entry e[4];

	(void)state;
	put16(PCI_STATUS, 0);
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	cap(0x40, PCI_CAP_ID_MSI, 0);
	assert_int_equal(pci_cap_list(&src, e, 4, NULL, 0), 0);
	assert_int_equal(pci_cap_find(&src, PCI_CAP_ID_MSI), 0);
}

static void test_low_bits_masked(void **state)
{
	struct pci_cap_entry e[4];

	(void)state;
	cfg[PCI_CAPABILITY_LIST] = 0x43;	/* reserved low bits set */
	cap(0x40, PCI_CAP_ID_MSI, 0x62);
	cap(0x60, PCI_CAP_ID_VNDR, 0);
	assert_int_equal(pci_cap_list(&src, e, 4, NULL, 0), 2);
	assert_int_equal(e[1].off, 0x60);
}

static void test_loop(void **state)
{
	struct pci_cap_entry e[64];
	char err[96];

	(void)state;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	cap(0x40, PCI_CAP_ID_MSI, 0x50);
	cap(0x50, PCI_CAP_ID_VNDR, 0x40);
	assert_int_equal(pci_cap_list(&src, e, 64, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "loops back to 0x40"));
	/* What was read before the loop is still found by find(): no, find refuses a bad list. */
	assert_int_equal(pci_cap_find(&src, PCI_CAP_ID_MSI), 0);
}

static void test_self_loop(void **state)
{
	char err[96];

	(void)state;
	cfg[PCI_CAPABILITY_LIST] = 0x80;
	cap(0x80, PCI_CAP_ID_MSI, 0x80);
	assert_int_equal(pci_cap_list(&src, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "loops"));
}

static void test_pointer_into_header(void **state)
{
	char err[96];

	(void)state;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	cap(0x40, PCI_CAP_ID_MSI, 0x10);	/* points into the BARs */
	assert_int_equal(pci_cap_list(&src, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0x10 is outside"));
	cfg[PCI_CAPABILITY_LIST] = 0x3c;
	assert_int_equal(pci_cap_list(&src, NULL, 0, err, sizeof(err)), -EINVAL);
}

static void test_pointer_at_end(void **state)
{
	struct pci_cap_entry e[4];

	(void)state;
	/* 0xfc is the last valid place; 0xff masks to 0xfc too. */
	cfg[PCI_CAPABILITY_LIST] = 0xff;
	cap(0xfc, PCI_CAP_ID_MSIX, 0);
	assert_int_equal(pci_cap_list(&src, e, 4, NULL, 0), 1);
	assert_int_equal(e[0].off, 0xfc);
}

static void test_longest_list(void **state)
{
	struct pci_cap_entry e[PCI_MAX_CAPS];
	unsigned n = 0;

	(void)state;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	for (unsigned off = 0x40; off <= 0xfc; off += 4, n++)
		cap(off, (uint8_t)n, off == 0xfc ? 0 : (uint8_t)(off + 4));
	assert_int_equal(n, PCI_MAX_CAPS);
	assert_int_equal(pci_cap_list(&src, e, PCI_MAX_CAPS, NULL, 0), PCI_MAX_CAPS);
	assert_int_equal(e[47].off, 0xfc);
	/* More entries than the caller's array: the count is capped, nothing overflows. */
	assert_int_equal(pci_cap_list(&src, e, 3, NULL, 0), 3);
}

static void test_extended(void **state)
{
	struct pci_cap_entry e[8];
	char err[96];

	(void)state;
	src.size = 4096;
	cfg[PCI_CAPABILITY_LIST] = 0x40;
	cap(0x40, PCI_CAP_ID_EXP, 0);
	put32(0x100, 0x0001 | 1u << 16 | 0x148u << 20);	/* AER -> 0x148 */
	put32(0x148, 0x000e | 1u << 16 | 0);		/* ARI, end */
	assert_int_equal(pci_cap_list(&src, e, 8, err, sizeof(err)), 3);
	assert_true(e[1].ext);
	assert_int_equal(e[1].id, 1);
	assert_int_equal(e[2].off, 0x148);
	assert_int_equal(pci_ecap_find(&src, 0x000e), 0x148);
	assert_int_equal(pci_ecap_find(&src, 0x0010), 0);
	/* Conventional space only: the extended list is not read. */
	src.size = 256;
	assert_int_equal(pci_cap_list(&src, e, 8, NULL, 0), 1);
}

static void test_extended_bad(void **state)
{
	char err[96];

	(void)state;
	src.size = 4096;
	put32(0x100, 0x0001 | 0x0f0u << 20);	/* points back below 0x100 */
	assert_int_equal(pci_cap_list(&src, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "0xf0"));
	put32(0x100, 0x0001 | 0x200u << 20);
	put32(0x200, 0x0002 | 0x100u << 20);	/* 0x100 -> 0x200 -> 0x100 ... */
	assert_int_equal(pci_cap_list(&src, NULL, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "loops"));
	/* All ones at 0x100 (a conventional device behind ECAM): no list, no error. */
	put32(0x100, 0xffffffffu);
	assert_int_equal(pci_cap_list(&src, NULL, 0, err, sizeof(err)), 0);
}

static void test_bar_mem32(void **state)
{
	struct pci_bar b;

	(void)state;
	assert_int_equal(pci_bar_decode(0xfebf0000, 0, 0xffffc000, 0, &b), 1);
	assert_int_equal(b.base, 0xfebf0000);
	assert_int_equal(b.size, 0x4000);
	assert_int_equal(b.flags, 0);
	assert_int_equal(pci_bar_decode(0xfe000008, 0, 0xff000008, 0, &b), 1);
	assert_int_equal(b.flags, PCI_BAR_PREFETCH);
	assert_int_equal(b.size, 16 << 20);
}

static void test_bar_mem64(void **state)
{
	struct pci_bar b;

	(void)state;
	assert_int_equal(pci_bar_decode(0x0000000c, 0x80, 0xffffc00c, 0xffffffff, &b), 2);
	assert_int_equal(b.base, 0x8000000000ull);
	assert_int_equal(b.size, 0x4000);
	assert_int_equal(b.flags, PCI_BAR_64 | PCI_BAR_PREFETCH);
	/* A 64-bit BAR bigger than 4 GiB. */
	assert_int_equal(pci_bar_decode(0x4, 0x1, 0x4, 0xfffffffe, &b), 2);
	assert_int_equal(b.size, 0x200000000ull);
}

static void test_bar_io_and_absent(void **state)
{
	struct pci_bar b;

	(void)state;
	assert_int_equal(pci_bar_decode(0xc041, 0, 0xffffffc1, 0, &b), 1);
	assert_int_equal(b.flags, PCI_BAR_IO);
	assert_int_equal(b.base, 0xc040);
	assert_int_equal(b.size, 0x40);
	/* Unimplemented BAR: reads back zero. */
	assert_int_equal(pci_bar_decode(0, 0, 0, 0, &b), 1);
	assert_int_equal(b.size, 0);
	/* Reserved memory type 3. */
	assert_int_equal(pci_bar_decode(0x6, 0, 0xfffffff6, 0, &b), -EINVAL);
}

static void test_id_match(void **state)
{
	const struct pci_device_id by_id = { 0x8086, 0x2922, 0, 0 };
	const struct pci_device_id by_class = { PCI_ANY_ID, PCI_ANY_ID, 0x010601, 0xffffff };
	const struct pci_device_id vendor_class = { 0x1af4, PCI_ANY_ID, 0x010000, 0xff0000 };

	(void)state;
	assert_true(pci_id_match(&by_id, 0x8086, 0x2922, 0x010601));
	assert_false(pci_id_match(&by_id, 0x8086, 0x2923, 0x010601));
	assert_true(pci_id_match(&by_class, 0x1b4b, 0x9230, 0x010601));
	assert_false(pci_id_match(&by_class, 0x1b4b, 0x9230, 0x010600));
	assert_true(pci_id_match(&vendor_class, 0x1af4, 0x1001, 0x010000));
	assert_false(pci_id_match(&vendor_class, 0x1af4, 0x1000, 0x020000));
}

static void test_class_names(void **state)
{
	(void)state;
	assert_string_equal(pci_class_name(0x010601), "SATA AHCI");
	assert_string_equal(pci_class_name(0x010802), "NVMe");
	assert_string_equal(pci_class_name(0x010000), "SCSI");
	assert_string_equal(pci_class_name(0x01018a), "IDE");
	assert_string_equal(pci_class_name(0x060400), "PCI bridge");
	assert_string_equal(pci_class_name(0x0d1000), "other");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_list_basic, reset),
		cmocka_unit_test_setup(test_no_list_bit, reset),
		cmocka_unit_test_setup(test_low_bits_masked, reset),
		cmocka_unit_test_setup(test_loop, reset),
		cmocka_unit_test_setup(test_self_loop, reset),
		cmocka_unit_test_setup(test_pointer_into_header, reset),
		cmocka_unit_test_setup(test_pointer_at_end, reset),
		cmocka_unit_test_setup(test_longest_list, reset),
		cmocka_unit_test_setup(test_extended, reset),
		cmocka_unit_test_setup(test_extended_bad, reset),
		cmocka_unit_test(test_bar_mem32),
		cmocka_unit_test(test_bar_mem64),
		cmocka_unit_test(test_bar_io_and_absent),
		cmocka_unit_test(test_id_match),
		cmocka_unit_test(test_class_names),
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
