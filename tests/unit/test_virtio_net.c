/*
 * virtio-net (vmm/vdev/virtio/net.c) on a real virtual switch
 * (drivers/net/vswitch*.c): two NICs of one fake VM (vdev_fakes.c) on
 * port group "VM Network", driven through their rings; the test plays the
 * drivers and, after each notification or kick, the I/O worlds. Frames
 * each way, with and without mergeable receive buffers; partial checksums
 * passed through or completed; the backlog while no buffers are posted and
 * when it overflows; control commands (and bad ones); bad transmit headers
 * dropped by name; a device-readable receive buffer (NEEDS_RESET); reset
 * emptying the backlog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <drivers/netconf.h>
#include <drivers/vswitch.h>
#include <vmm/pc_layout.h>
#include <vmm/vdev.h>
#include <vmm/vm.h>
#include <vmm/vmconfig.h>
#include "../../vmm/vdev/virtio/virtio_priv.h"
#include "vdev_fakes.h"
#include "virtio_fakes.h"

#define QS 16
#define F_CSUM (1ULL << 0)
#define F_GUEST_CSUM (1ULL << 1)
#define F_MRG (1ULL << 15)
#define F_CTRL (1ULL << 17 | 1ULL << 18 | 1ULL << 23)
#define F_V1 (1ULL << 32)

static struct vswitch *sw;
static struct vm *vm;

struct tnic {
	struct virtio_dev *vd;
	uint64_t bar, base;
	uint16_t avail[3], used_seen[3];
	uint32_t rxlen;
};
static struct tnic nic[2];

/* The host's port groups: one switch with "VM Network" and "Other" (VLAN 7). */
struct vswitch *vswitch_host_find(const char *pg, unsigned *vlan)
{
	if (!strcmp(pg, "VM Network")) {
		*vlan = 0;
		return sw;
	}
	if (!strcmp(pg, "Other")) {
		*vlan = 7;
		return sw;
	}
	return NULL;
}

static uint64_t clock_ns(void)
{
	return 0;
}

static uint64_t rd(struct tnic *n, unsigned off, unsigned size)
{
	return fake_mmio_read(vm, n->bar + off, size);
}

static void wr(struct tnic *n, unsigned off, unsigned size, uint64_t v)
{
	fake_mmio_write(vm, n->bar + off, size, v);
}

static uint64_t qbase(struct tnic *n, unsigned q)
{
	return n->base + 0x4000ULL * q;
}

static void desc(struct tnic *n, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t *p = fake_ram + qbase(n, q) + 16 * i;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/* Make descriptor head available on queue q (no notification). */
static void offer(struct tnic *n, unsigned q, uint16_t head)
{
	uint64_t avail = qbase(n, q) + 0x1000;

	memcpy(fake_ram + avail + 4 + 2 * (n->avail[q] % QS), &head, 2);
	n->avail[q]++;
	memcpy(fake_ram + avail + 2, &n->avail[q], 2);
}

/* The I/O worlds' turns until neither has work. */
static void run_io(void)
{
	for (bool more = true; more;) {
		more = false;
		for (unsigned i = 0; i < 2; i++) {
			uint32_t k = __atomic_exchange_n(&nic[i].vd->kicks, 0, __ATOMIC_ACQ_REL);

			if (k && virtio_live(nic[i].vd)) {
				nic[i].vd->ops->process(nic[i].vd, k);
				more = true;
			}
		}
	}
}

static void notify(struct tnic *n, unsigned q)
{
	wr(n, VIRTIO_NOTIFY_AT + VIRTIO_NOTIFY_MULT * q, 2, q);
	run_io();
}

static uint16_t used_idx(struct tnic *n, unsigned q)
{
	uint16_t v;

	memcpy(&v, fake_ram + qbase(n, q) + 0x2002, 2);
	return v;
}

/* The next used element of queue q: its id and length; false if none. */
static bool take_used(struct tnic *n, unsigned q, uint32_t *id, uint32_t *len)
{
	uint8_t *e;

	if (used_idx(n, q) == n->used_seen[q])
		return false;
	e = fake_ram + qbase(n, q) + 0x2004 + 8 * (n->used_seen[q] % QS);
	memcpy(id, e, 4);
	memcpy(len, e + 4, 4);
	n->used_seen[q]++;
	return true;
}

static uint64_t rxbuf(struct tnic *n, unsigned i)
{
	return n->base + 0x10000 + 0x800ULL * i;
}

static void post_rx(struct tnic *n, unsigned i)
{
	desc(n, 0, i, rxbuf(n, i), n->rxlen, VIRTQ_DESC_F_WRITE, 0);
	offer(n, 0, (uint16_t)i);
}

/* Reset and set up nic i with features f, receive buffers of rxlen bytes (none if 0). */
static void nic_init(unsigned i, uint64_t f, uint32_t rxlen)
{
	struct tnic *n = &nic[i];

	wr(n, VIRTIO_COMMON_STATUS, 1, 0);
	wr(n, VIRTIO_COMMON_STATUS, 1, 3);
	wr(n, VIRTIO_COMMON_GFSELECT, 4, 0);
	wr(n, VIRTIO_COMMON_GF, 4, (uint32_t)f);
	wr(n, VIRTIO_COMMON_GFSELECT, 4, 1);
	wr(n, VIRTIO_COMMON_GF, 4, (uint32_t)(f >> 32));
	wr(n, VIRTIO_COMMON_STATUS, 1, 11);
	assert_int_equal(rd(n, VIRTIO_COMMON_STATUS, 1), 11);
	memset(fake_ram + n->base, 0, 0x20000);
	for (unsigned q = 0; q < 3; q++) {
		wr(n, VIRTIO_COMMON_Q_SELECT, 2, q);
		wr(n, VIRTIO_COMMON_Q_SIZE, 2, QS);
		wr(n, VIRTIO_COMMON_Q_DESC, 8, qbase(n, q));
		wr(n, VIRTIO_COMMON_Q_AVAIL, 8, qbase(n, q) + 0x1000);
		wr(n, VIRTIO_COMMON_Q_USED, 8, qbase(n, q) + 0x2000);
		wr(n, VIRTIO_COMMON_Q_ENABLE, 2, 1);
		n->avail[q] = n->used_seen[q] = 0;
	}
	wr(n, VIRTIO_COMMON_STATUS, 1, 15);
	assert_int_equal(rd(n, VIRTIO_COMMON_STATUS, 1), 15);
	n->rxlen = rxlen;
	for (unsigned b = 0; rxlen && b < QS; b++)
		post_rx(n, b);
	if (rxlen)
		notify(n, 0);
}

static const uint8_t mac0[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x01 };
static const uint8_t mac1[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x02 };

static void start(void)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	const struct vdev_args io = { .name = "ioapic", .mmio = 0xfec00000 };
	static struct vmconfig_nic c[2];
	unsigned found = 0;

	sw = vswitch_create("vSwitch0", 1500, clock_ns);
	assert_non_null(sw);
	assert_int_equal(vswitch_add_portgroup(sw, "VM Network", 0, NULL), 0);
	assert_int_equal(vswitch_add_portgroup(sw, "Other", 7, NULL), 0);
	memset(c, 0, sizeof(c));
	for (unsigned i = 0; i < 2; i++) {
		c[i].index = (uint8_t)i;
		c[i].present = c[i].static_mac = true;
		memcpy(c[i].mac, i ? mac1 : mac0, 6);
		snprintf(c[i].network, sizeof(c[i].network), "VM Network");
	}
	vm = fake_vm(1, 16);
	assert_non_null(vdev_create(vm, "ioapic", &io));
	assert_non_null(vdev_create(vm, "pci-host", &host));
	nic[0].vd = (struct virtio_dev *)vdev_create(vm, "virtio-net",
						     &(struct vdev_args){ .name = "ethernet0",
									  .extra = &c[0] });
	nic[1].vd = (struct virtio_dev *)vdev_create(vm, "virtio-net",
						     &(struct vdev_args){ .name = "ethernet1",
									  .extra = &c[1] });
	assert_non_null(nic[0].vd);
	assert_non_null(nic[1].vd);
	for (unsigned slot = 0; slot < 32 && found < 2; slot++) {
		struct tnic *n = &nic[found];

		if (fake_pci_cfg_read(vm, slot, 0) != 0x10411af4U)
			continue;
		n->bar = 0xc0000000ULL + 0x10000ULL * found;
		n->base = 0x200000ULL + 0x100000ULL * found;
		fake_pci_cfg_write(vm, slot, 0x20, (uint32_t)n->bar);
		fake_pci_cfg_write(vm, slot, 0x24, 0);
		fake_pci_cfg_write(vm, slot, 0x04, 0x6);
		found++;
	}
	assert_int_equal(found, 2);
	for (unsigned i = 0; i < 6; i++)	/* which is which: the MAC in the config space */
		if (rd(&nic[0], VIRTIO_DEVICE_AT + i, 1) != mac0[i]) {
			uint64_t b = nic[0].bar;

			nic[0].bar = nic[1].bar;
			nic[1].bar = b;
			break;
		}
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(rd(&nic[1], VIRTIO_DEVICE_AT + i, 1), mac1[i]);
	assert_int_equal(rd(&nic[0], VIRTIO_DEVICE_AT + 6, 2), 1);		/* link up */
	assert_int_equal(rd(&nic[0], VIRTIO_DEVICE_AT + 10, 2), 1500);		/* MTU */
}

static void stop(void)
{
	nic[0].vd->io_done = nic[1].vd->io_done = true;	/* the fake I/O worlds never ran */
	fake_vm_free(vm);
	vswitch_destroy(sw);
}

static uint8_t frame[4096];

static void build(const uint8_t *dst, const uint8_t *src, uint32_t len, uint8_t seed)
{
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	frame[12] = 0x88, frame[13] = 0xb5;
	for (uint32_t i = 14; i < len; i++)
		frame[i] = (uint8_t)(i * 3 + seed);
}

/* Send frame (len bytes) from nic s with header h in two readable buffers. */
static void send_hdr(unsigned s, const uint8_t h[12], uint32_t len)
{
	struct tnic *n = &nic[s];
	uint64_t at = n->base + 0x18000;
	unsigned d = (unsigned)(n->avail[1] % 8) * 2;

	memcpy(fake_ram + at, h, 12);
	memcpy(fake_ram + at + 16, frame, len);
	desc(n, 1, d, at, 12, VIRTQ_DESC_F_NEXT, (uint16_t)(d + 1));
	desc(n, 1, d + 1, at + 16, len, 0, 0);
	offer(n, 1, (uint16_t)d);
	notify(n, 1);
}

static void send(unsigned s, uint32_t len)
{
	static const uint8_t h[12];

	send_hdr(s, h, len);
}

/* The next frame nic r received, joined from its buffers, into out; its length or 0. */
static uint32_t receive(unsigned r, uint8_t *hdr, uint8_t *out)
{
	struct tnic *n = &nic[r];
	uint32_t id, len, total = 0;
	uint16_t nb;

	if (!take_used(n, 0, &id, &len))
		return 0;
	assert_true(len >= 12 && len <= n->rxlen);
	memcpy(hdr, fake_ram + rxbuf(n, id), 12);
	memcpy(&nb, hdr + 10, 2);
	memcpy(out, fake_ram + rxbuf(n, id) + 12, len - 12);
	total = len - 12;
	post_rx(n, id);
	for (uint16_t b = 1; b < nb; b++) {
		assert_true(take_used(n, 0, &id, &len));
		memcpy(out + total, fake_ram + rxbuf(n, id), len);
		total += len;
		post_rx(n, id);
	}
	notify(n, 0);
	return total;
}

static void test_frames(void **state)
{
	uint8_t hdr[12], got[4096];
	uint16_t nb;

	(void)state;
	start();
	nic_init(0, F_V1 | F_MRG, 256);
	nic_init(1, F_V1, 1526);
	/* 0 -> 1: one whole buffer, num_buffers 1 */
	build(mac1, mac0, 1514, 1);
	send(0, 1514);
	assert_int_equal(receive(1, hdr, got), 1514);
	assert_memory_equal(got, frame, 1514);
	memcpy(&nb, hdr + 10, 2);
	assert_int_equal(nb, 1);
	assert_int_equal(hdr[0], 0);
	assert_int_equal(used_idx(&nic[0], 1), 1);	/* the transmit buffer came back */
	/* 1 -> 0: 1000 bytes over 256-byte mergeable buffers: 4 of them */
	build(mac0, mac1, 1000, 2);
	send(1, 1000);
	assert_int_equal(receive(0, hdr, got), 1000);
	assert_memory_equal(got, frame, 1000);
	memcpy(&nb, hdr + 10, 2);
	assert_int_equal(nb, 4);
	/* broadcast reaches the other NIC, not back to the sender */
	build((const uint8_t *)"\xff\xff\xff\xff\xff\xff", mac0, 60, 3);
	send(0, 60);
	assert_int_equal(receive(1, hdr, got), 60);
	assert_int_equal(receive(0, hdr, got), 0);
	/* an address nobody has: flooded, and NIC 1's filter drops it */
	build((const uint8_t *)"\x00\x50\x56\x00\x00\x77", mac0, 60, 4);
	send(0, 60);
	assert_int_equal(receive(1, hdr, got), 0);
	stop();
}

static void test_checksum(void **state)
{
	uint8_t h[12] = { 1, 0, 0, 0, 0, 0, 20, 0, 4, 0, 0, 0 };	/* NEEDS_CSUM, 20+4 */
	uint8_t hdr[12], got[4096];
	uint32_t sum = 0;

	(void)state;
	start();
	nic_init(0, F_V1 | F_CSUM, 1526);
	nic_init(1, F_V1, 1526);
	build(mac1, mac0, 101, 9);
	frame[24] = 0x12, frame[25] = 0x34;
	send_hdr(0, h, 101);
	/*
	 * NIC 1 took no GUEST_CSUM: the sum arrives completed. The field held the
	 * pseudo-header's sum (0x1234): the data plus that sums to 0xffff.
	 */
	assert_int_equal(receive(1, hdr, got), 101);
	assert_int_equal(hdr[0], 0);
	for (unsigned i = 20; i + 1 < 101; i += 2)
		sum += (uint32_t)got[i] << 8 | got[i + 1];
	sum += (uint32_t)got[100] << 8;
	sum += 0x1234;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
	/* with GUEST_CSUM, it arrives partial, offsets kept */
	nic_init(1, F_V1 | F_GUEST_CSUM, 1526);
	send_hdr(0, h, 101);
	assert_int_equal(receive(1, hdr, got), 101);
	assert_int_equal(hdr[0], 1);
	assert_int_equal(hdr[6], 20);
	assert_int_equal(hdr[8], 4);
	assert_int_equal(got[24], 0x12);
	/* NEEDS_CSUM from a NIC that did not negotiate CSUM: dropped by name */
	nic_init(1, F_V1, 1526);
	send_hdr(1, h, 101);
	assert_true(fake_log_has("ethernet1: dropped (tx-csum-bad)"));
	stop();
}

static void test_backlog(void **state)
{
	uint8_t hdr[12], got[4096];
	struct vsw_counters c;
	unsigned n = 0;

	(void)state;
	start();
	nic_init(0, F_V1, 1526);
	nic_init(1, F_V1, 0);		/* no receive buffers yet */
	for (unsigned i = 0; i < 70; i++) {
		build(mac1, mac0, 100, (uint8_t)i);
		send(0, 100);
	}
	vswitch_port_counters(vswitch_lookup(sw, 0, mac1), &c);
	assert_int_equal(c.rx_packets, 64);
	assert_int_equal(c.rx_drop_full, 6);
	/* buffers posted: the waiting frames arrive in order, 16 at a time */
	nic[1].rxlen = 1526;
	for (unsigned b = 0; b < QS; b++)
		post_rx(&nic[1], b);
	notify(&nic[1], 0);
	while (receive(1, hdr, got) == 100) {
		assert_int_equal(got[14], (uint8_t)(14 * 3 + n));
		n++;
	}
	assert_int_equal(n, 64);
	/* a reset empties the backlog */
	nic_init(1, F_V1, 0);
	build(mac1, mac0, 100, 0);
	send(0, 100);
	nic_init(1, F_V1, 1526);
	assert_int_equal(receive(1, hdr, got), 0);
	stop();
}

/* A control command on nic i: the ack byte, 0xff if none. */
static uint8_t ctrl(unsigned i, const uint8_t *cmd, uint32_t len)
{
	struct tnic *n = &nic[i];
	uint64_t at = n->base + 0x1c000;
	uint32_t id, ulen;

	memcpy(fake_ram + at, cmd, len);
	fake_ram[at + 0x800] = 0xee;
	desc(n, 2, 0, at, len, VIRTQ_DESC_F_NEXT, 1);
	desc(n, 2, 1, at + 0x800, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(n, 2, 0);
	notify(n, 2);
	if (!take_used(n, 2, &id, &ulen))
		return 0xff;
	return fake_ram[at + 0x800];
}

static void test_ctrl(void **state)
{
	static const uint8_t promisc[] = { 0, 0, 1 };
	uint8_t table[2 + 4 + 6 + 4] = { 1, 0, 1, 0, 0, 0, 0x00, 0x50, 0x56, 0x00, 0x00, 0x33 };
	uint8_t hdr[12], got[4096];

	(void)state;
	start();
	nic_init(0, F_V1 | F_CTRL, 1526);
	nic_init(1, F_V1 | F_CTRL, 1526);
	/* promiscuous: acked, refused by the port group's policy (logged) */
	assert_int_equal(ctrl(1, promisc, 3), 0);
	assert_true(fake_log_has("ethernet1 asked for promiscuous mode; port group 'VM Network' "
				 "rejects it"));
	build((const uint8_t *)"\x00\x50\x56\x00\x00\x33", mac0, 60, 1);
	send(0, 60);
	assert_int_equal(receive(1, hdr, got), 0);
	/* an extra unicast address in the MAC table: received there */
	assert_int_equal(ctrl(1, table, sizeof(table)), 0);
	send(0, 60);
	assert_int_equal(receive(1, hdr, got), 60);
	/* a new address (CTRL_MAC_ADDR): the port group rejects MAC changes, so it is blocked */
	assert_int_equal(ctrl(1, (const uint8_t *)"\x01\x01\x00\x50\x56\x00\x00\x44", 8), 0);
	assert_true(fake_log_has("port group 'VM Network' rejects MAC address changes"));
	assert_int_equal(rd(&nic[1], VIRTIO_DEVICE_AT + 5, 1), 0x44);
	build((const uint8_t *)"\x00\x50\x56\x00\x00\x44", mac0, 60, 1);
	send(0, 60);
	assert_int_equal(receive(1, hdr, got), 0);
	/* bad commands: ERR, named */
	assert_int_equal(ctrl(1, (const uint8_t *)"\x00\x00", 2), 1);
	assert_true(fake_log_has("ethernet1: dropped (ctrl-malformed)"));
	assert_int_equal(ctrl(1, (const uint8_t *)"\x07\x00", 2), 1);
	assert_true(fake_log_has("dropped (ctrl-unknown-command): class 7 command 0"));
	table[2] = 9;	/* 9 unicast entries claimed */
	assert_int_equal(ctrl(1, table, sizeof(table)), 1);
	assert_true(fake_log_has("dropped (ctrl-mac-table-malformed)"));
	assert_false(rd(&nic[1], VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	/* no ack byte: NEEDS_RESET */
	desc(&nic[1], 2, 0, nic[1].base + 0x1c000, 3, 0, 0);
	offer(&nic[1], 2, 0);
	notify(&nic[1], 2);
	assert_true(rd(&nic[1], VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("queue 2 (control): command 0 has no room for its ack byte"));
	stop();
}

static void test_bad_frames(void **state)
{
	uint8_t gso[12] = { 0, 1 };
	uint8_t hdr[12], got[4096];

	(void)state;
	start();
	nic_init(0, F_V1, 1526);
	nic_init(1, F_V1, 200);
	build(mac1, mac0, 2000, 1);
	send(0, 2000);
	assert_true(fake_log_has("ethernet0: dropped (tx-oversize): a frame of 2000 bytes"));
	build(mac1, mac0, 100, 1);
	send_hdr(0, gso, 100);
	assert_true(fake_log_has("ethernet0: dropped (tx-gso-not-negotiated)"));
	/* 200-byte buffers without MRG_RXBUF: a 1000-byte frame does not fit, a small one does */
	build(mac1, mac0, 1000, 1);
	send(0, 1000);
	assert_true(fake_log_has("ethernet1: dropped (rx-buffers-too-small)"));
	build(mac1, mac0, 100, 1);
	send(0, 100);
	assert_int_equal(receive(1, hdr, got), 100);
	/* a device-readable receive buffer */
	nic_init(1, F_V1, 0);
	desc(&nic[1], 0, 0, rxbuf(&nic[1], 0), 1526, 0, 0);
	offer(&nic[1], 0, 0);
	notify(&nic[1], 0);
	send(0, 100);
	assert_true(rd(&nic[1], VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("queue 0 (receive): buffer 0 is device-readable"));
	/* a receive buffer shorter than the header */
	nic_init(1, F_V1 | F_MRG, 8);
	send(0, 100);
	assert_true(rd(&nic[1], VIRTIO_COMMON_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(fake_log_has("buffer 0 of 8 bytes, shorter than the 12-byte header"));
	stop();
}

static void test_no_portgroup(void **state)
{
	const struct vdev_args host = { .name = "pci", .mmio = PC_ECAM_BASE, .size = PC_ECAM_SIZE };
	static struct vmconfig_nic c = { .present = true, .network = "Nowhere",
					 .mac = { 0x00, 0x50, 0x56, 0, 0, 9 } };

	(void)state;
	vm = fake_vm(1, 16);
	assert_non_null(vdev_create(vm, "pci-host", &host));
	assert_null(vdev_create(vm, "virtio-net", &(struct vdev_args){ .name = "ethernet0",
								       .extra = &c }));
	assert_true(fake_log_has("ethernet0: port group 'Nowhere' does not exist on this host"));
	fake_vm_free(vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_backlog),
		cmocka_unit_test(test_ctrl),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_no_portgroup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
