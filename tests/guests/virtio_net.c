/*
 * virtio_net: a virtio-net driver as an OS writes one (virtio v1.1 4.1 PCI
 * transport, 2.7 split virtqueues, 5.1 network device) against the VMM's
 * device and the host's virtual switch. Four configurations use this image;
 * the word on the command line picks the role:
 *
 * net_a.vmx ("sender", VM Network): mergeable receive buffers of 256 bytes
 *   and GUEST_CSUM. Waits for the echo VM, then sends frames of 60 to 1514
 *   bytes to it, unicast and broadcast, each of which must come back
 *   intact; one with a partial UDP checksum (NEEDS_CSUM) that must come
 *   back completed; control commands (promiscuous on, which the port group
 *   refuses but acks; a MAC table; all-multicast) acked OK; a frame to an
 *   address nobody has is not echoed. Ends by telling the echo VM to stop.
 * net_b.vmx ("echo", VM Network): whole-frame receive buffers of 1526
 *   bytes, no GUEST_CSUM (so partial sums reach it completed): returns
 *   every test frame to its sender until told to stop.
 * net_c.vmx ("isolated", port group on VLAN 20): must never receive
 *   anything; sends a broadcast every 100 ms that A and B must never see; runs until
 *   the others have ended (test.expect "running"), and fails at once if a
 *   frame reaches it.
 * net_hostile.vmx ("hostile", two NICs on their own VLAN): a bad header,
 *   writable transmit buffers, GSO and checksum requests not negotiated,
 *   an oversized frame, a forged source address, receive buffers too small
 *   for a frame, control commands that are short, unknown or malformed
 *   (answered ERR), a control command with no ack byte and a readable
 *   receive buffer (NEEDS_RESET), a descriptor loop on the transmit
 *   queue (NEEDS_RESET). The host log names each; after a reset the NIC
 *   works again.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"
#include "lapic.h"
#include "pc.h"
#include "virtio.h"

const char guest_name[] = "virtio_net";

#define VEC_QUEUE 0x60
#define VEC_CONFIG 0x61
#define VEC_TICK 0x62
#define QSZ 16
#define NQ 3
#define RXQ 0
#define TXQ 1
#define CTRLQ 2

#define F_CSUM (1ull << 0)
#define F_GUEST_CSUM (1ull << 1)
#define F_MTU (1ull << 3)
#define F_MAC (1ull << 5)
#define F_MRG_RXBUF (1ull << 15)
#define F_STATUS (1ull << 16)
#define F_CTRL_VQ (1ull << 17)
#define F_CTRL_RX (1ull << 18)
#define F_CTRL_MAC_ADDR (1ull << 23)
#define ETHERTYPE 0x88b5	/* IEEE local experimental */
#define HDR 12
#define FRAME_MAX 1514

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
} __attribute__((packed));

struct queue {
	struct vq_desc *desc;
	volatile uint16_t *avail;	/* flags, idx, ring[QSZ], used_event */
	volatile uint8_t *used;		/* flags, idx, {id, len}[QSZ], avail_event */
	uint16_t avail_idx, used_seen;
};

struct nic {
	struct virtio_pci pci;
	uint8_t mac[6];
	struct queue q[NQ];
	uint32_t rxbuf_len;		/* bytes per receive buffer */
};

static uint8_t ringmem[2][NQ][0x3000] __attribute__((aligned(4096)));
static uint8_t rxmem[2][QSZ][2048] __attribute__((aligned(4096)));
static uint8_t txmem[QSZ][4096 + HDR] __attribute__((aligned(16)));
static uint8_t ctrlmem[QSZ][512];
static volatile uint8_t acks[QSZ];
static uint8_t frame[FRAME_MAX + 64], got[4096];

static struct nic nics[2];
static unsigned int nnic;
static uint64_t tsc_rate;
static volatile unsigned int queue_irqs, config_irqs;

static void irq_handler(struct trap_frame *f)
{
	if (f->vector == VEC_QUEUE)
		queue_irqs++;
	else if (f->vector == VEC_CONFIG)
		config_irqs++;
	lapic_eoi();
}

/* ---- discovery ---- */

static void find_nics(void)
{
	/* MSI-X entry 0: configuration changes; 1-3: the queues */
	while (nnic < 2 && virtio_pci_find(VIRTIO_PCI_NET, nnic, &nics[nnic].pci, 4, VEC_CONFIG,
					   VEC_QUEUE)) {
		for (unsigned int i = 0; i < 6; i++)
			nics[nnic].mac[i] = nics[nnic].pci.devcfg[i];
		nnic++;
	}
}

/* ---- set-up ---- */

static void post_rx(struct nic *d, uint16_t id)
{
	struct queue *q = &d->q[RXQ];

	q->desc[id] = (struct vq_desc){ (uintptr_t)rxmem[d - nics][id], d->rxbuf_len, VQ_F_WRITE, 0 };
	q->avail[2 + q->avail_idx % QSZ] = id;
	__asm__ volatile("" ::: "memory");
	q->avail[1] = ++q->avail_idx;
}

static void kick(struct nic *d, unsigned int qi)
{
	virtio_notify(&d->pci, qi, (uint16_t)qi);
}

/* Reset, negotiate `want`, set up the queues, post receive buffers; false if refused. */
static bool nic_init(struct nic *d, uint64_t want, uint32_t rxbuf_len, bool fill_rx)
{
	virtio_reset(&d->pci);
	if (!virtio_negotiate(&d->pci, want))
		return false;
	for (unsigned int qi = 0; qi < NQ; qi++) {
		uint8_t *mem = ringmem[d - nics][qi];
		struct queue *q = &d->q[qi];

		__builtin_memset(mem, 0, sizeof(ringmem[0][0]));
		q->desc = (struct vq_desc *)mem;
		q->avail = (volatile uint16_t *)(mem + 0x1000);
		q->used = mem + 0x2000;
		q->avail_idx = q->used_seen = 0;
		virtio_queue_setup(&d->pci, qi, QSZ, (uint16_t)(qi + 1), (uintptr_t)q->desc,
				   (uintptr_t)q->avail, (uintptr_t)q->used);
	}
	d->rxbuf_len = rxbuf_len;
	virtio_driver_ok(&d->pci);
	for (uint16_t i = 0; fill_rx && i < QSZ; i++)
		post_rx(d, i);
	if (fill_rx)
		kick(d, RXQ);
	return true;
}

static uint16_t used_idx(struct queue *q)
{
	return *(volatile uint16_t *)(q->used + 2);
}

static bool wait_used(struct nic *d, struct queue *q, uint16_t want, unsigned int ms)
{
	uint64_t end = rdtsc() + udiv64(tsc_rate, 1000, NULL) * ms;

	for (;;) {
		cli();
		q->avail[2 + QSZ] = used_idx(q);
		if ((uint16_t)(used_idx(q) - want) < 0x8000 || (virtio_status(&d->pci) & VIRTIO_S_NEEDS_RESET) ||
		    rdtsc() > end)
			break;
		sti_hlt();
	}
	sti();
	return (uint16_t)(used_idx(q) - want) < 0x8000;
}

/* ---- frames ---- */

/* Send header + frame (len bytes) in one readable chain on slot s; waits for it to be used. */
static bool send_raw(struct nic *d, const struct net_hdr *h, const void *f, uint32_t len)
{
	struct queue *q = &d->q[TXQ];
	unsigned int s = q->avail_idx % QSZ;

	__builtin_memcpy(txmem[s], h, HDR);
	__builtin_memcpy(txmem[s] + HDR, f, len);
	q->desc[s] = (struct vq_desc){ (uintptr_t)txmem[s], HDR + len, 0, 0 };
	q->avail[2 + q->avail_idx % QSZ] = (uint16_t)s;
	__asm__ volatile("" ::: "memory");
	q->avail[1] = ++q->avail_idx;
	kick(d, TXQ);
	return wait_used(d, q, q->avail_idx, 2000);
}

static bool send(struct nic *d, const void *f, uint32_t len)
{
	struct net_hdr h = { 0 };

	return send_raw(d, &h, f, len);
}

/*
 * The next received frame into got (header removed, merged buffers joined);
 * its length, 0 if none within ms. The buffers go back to the device.
 */
static uint32_t receive(struct nic *d, unsigned int ms, struct net_hdr *hout)
{
	struct queue *q = &d->q[RXQ];
	struct net_hdr h;
	uint32_t total = 0;
	uint16_t nbuf = 1;

	if (!wait_used(d, q, (uint16_t)(q->used_seen + 1), ms))
		return 0;
	for (uint16_t i = 0; i < nbuf; i++) {
		volatile uint32_t *e;
		uint32_t id, len;

		if (i && !wait_used(d, q, (uint16_t)(q->used_seen + 1), 100))
			return 0;
		e = (volatile uint32_t *)(q->used + 4 + 8 * (q->used_seen % QSZ));
		id = e[0];
		len = e[1];
		q->used_seen++;
		if (id >= QSZ || len > d->rxbuf_len)
			return 0;
		if (!i) {
			__builtin_memcpy(&h, rxmem[d - nics][id], HDR);
			nbuf = h.num_buffers ? h.num_buffers : 1;
			if (len < HDR)
				return 0;
			if (total + len - HDR <= sizeof(got))
				__builtin_memcpy(got, rxmem[d - nics][id] + HDR, len - HDR);
			total += len - HDR;
		} else {
			if (total + len <= sizeof(got))
				__builtin_memcpy(got + total, rxmem[d - nics][id], len);
			total += len;
		}
		post_rx(d, (uint16_t)id);
	}
	kick(d, RXQ);
	if (hout)
		*hout = h;
	return total;
}

enum kind { K_HELLO = 1, K_PING, K_ECHO, K_DONE, K_NOISE };

static void build(uint8_t *f, const uint8_t *dst, const uint8_t *src, enum kind k, uint32_t seq,
		  uint32_t len)
{
	__builtin_memcpy(f, dst, 6);
	__builtin_memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE >> 8;
	f[13] = ETHERTYPE & 0xff;
	f[14] = 'V', f[15] = 'N', f[16] = (uint8_t)k;
	__builtin_memcpy(f + 17, &seq, 4);
	for (uint32_t i = 21; i < len; i++)
		f[i] = (uint8_t)(i * 7 + seq);
}

static bool is_test_frame(const uint8_t *f, uint32_t len)
{
	return len >= 21 && f[12] == (ETHERTYPE >> 8) && f[13] == (ETHERTYPE & 0xff) &&
	       f[14] == 'V' && f[15] == 'N';
}

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mac_b[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x0b };
static const uint8_t mac_c[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x0c };

/* ---- control commands ---- */

/* A control command: class, cmd, data (n bytes); the ack, or 0xff if none came. */
static uint8_t ctrl(struct nic *d, uint8_t cls, uint8_t cmd, const void *data, uint32_t n)
{
	struct queue *q = &d->q[CTRLQ];
	unsigned int s = q->avail_idx % QSZ, h = 2 * s;

	ctrlmem[s][0] = cls;
	ctrlmem[s][1] = cmd;
	__builtin_memcpy(ctrlmem[s] + 2, data, n);
	acks[s] = 0xee;
	q->desc[h % QSZ] = (struct vq_desc){ (uintptr_t)ctrlmem[s], 2 + n, VQ_F_NEXT,
					  (uint16_t)((h + 1) % QSZ) };
	q->desc[(h + 1) % QSZ] = (struct vq_desc){ (uintptr_t)&acks[s], 1, VQ_F_WRITE, 0 };
	q->avail[2 + q->avail_idx % QSZ] = (uint16_t)(h % QSZ);
	__asm__ volatile("" ::: "memory");
	q->avail[1] = ++q->avail_idx;
	kick(d, CTRLQ);
	return wait_used(d, q, q->avail_idx, 2000) ? acks[s] : 0xff;
}

/* ---- the sender ---- */

static uint32_t frames_from_c;

/* The next test frame for us of kind k (others are counted or skipped); its length or 0. */
static uint32_t expect(struct nic *d, enum kind k, uint32_t seq, unsigned int ms)
{
	for (unsigned int tries = 0; tries < 8; tries++) {
		uint32_t n = receive(d, ms, NULL), s;

		if (!n)
			return 0;
		if (!__builtin_memcmp(got + 6, mac_c, 6))
			frames_from_c++;
		if (!is_test_frame(got, n) || got[16] != k)
			continue;
		__builtin_memcpy(&s, got + 17, 4);
		if (s == seq)
			return n;
	}
	return 0;
}

/* A ping of len bytes to dst and its echo (the echo VM swaps the addresses). */
static bool ping(struct nic *d, const uint8_t *dst, uint32_t seq, uint32_t len)
{
	uint32_t n;

	build(frame, dst, d->mac, K_PING, seq, len);
	if (!send(d, frame, len))
		return false;
	n = expect(d, K_ECHO, seq, 2000);
	if (n != len)
		return false;
	return !__builtin_memcmp(got + 21, frame + 21, len - 21) &&
	       !__builtin_memcmp(got, d->mac, 6);
}

/*
 * A frame whose checksum the device must complete (NEEDS_CSUM): the sum
 * covers bytes 22 to the end, and its field at 24 holds a seed, as a
 * pseudo-header sum would be. Returns the checksum expected there.
 */
static uint16_t csum_frame(struct nic *d, uint32_t seq, uint32_t *len_out)
{
	uint32_t len = 143, sum = 0;
	struct net_hdr h = { .flags = 1, .csum_start = 22, .csum_offset = 2 };
	uint16_t want;

	build(frame, mac_b, d->mac, K_PING, seq, len);
	frame[24] = 0x12, frame[25] = 0x34;
	for (uint32_t i = 22; i + 1 < len; i += 2)
		sum += (uint32_t)frame[i] << 8 | frame[i + 1];
	if ((len - 22) & 1)
		sum += (uint32_t)frame[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	want = (uint16_t)~sum;
	if (!want)
		want = 0xffff;
	*len_out = len;
	send_raw(d, &h, frame, len);
	return want;
}

static void sender(void)
{
	struct nic *d = &nics[0];
	static const uint32_t sizes[] = { 60, 61, 100, 255, 256, 257, 600, 1000, 1499, 1514 };
	uint8_t nobody[6] = { 0x00, 0x50, 0x56, 0x00, 0x00, 0x99 };
	uint32_t ok = 0, seq = 1, len, n;
	uint16_t want;
	bool up = false;
	uint8_t tab[4 + 4 + 6];

	CHECK(nic_init(d, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | F_MAC | F_STATUS | F_MRG_RXBUF |
		       F_CSUM | F_GUEST_CSUM | F_CTRL_VQ | F_CTRL_RX | F_CTRL_MAC_ADDR, 256, true),
	      "init");
	CHECK_EQ(d->pci.features & (F_MRG_RXBUF | F_CTRL_VQ | F_GUEST_CSUM),
		 F_MRG_RXBUF | F_CTRL_VQ | F_GUEST_CSUM, "features");
	CHECK_EQ(d->mac[5], 0x0a, "mac_from_config");
	CHECK_EQ(*(volatile uint16_t *)(d->pci.devcfg + 6) & 1, 1, "link_up");
	CHECK_EQ(*(volatile uint16_t *)(d->pci.devcfg + 10), 1500, "mtu_1500");
	/* the echo VM may start later: hello until it answers (its NIC drops frames until then) */
	for (unsigned int i = 0; i < 200 && !up; i++) {
		build(frame, bcast, d->mac, K_HELLO, i, 60);
		send(d, frame, 60);
		up = expect(d, K_ECHO, i, 500) != 0;
	}
	CHECK(up, "echo_vm_answers");
	if (!up)
		return;
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		ok += ping(d, mac_b, ++seq, sizes[i]);
	CHECK_EQ(ok, sizeof(sizes) / sizeof(sizes[0]), "unicast_60_to_1514_echoed");
	CHECK(ping(d, bcast, ++seq, 300), "broadcast_echoed");
	/* a frame to an address nobody has is flooded; the echo VM answers only its own */
	build(frame, nobody, d->mac, K_PING, ++seq, 80);
	send(d, frame, 80);
	CHECK_EQ(expect(d, K_ECHO, seq, 300), 0, "unknown_unicast_not_echoed");
	/* checksum offload: the echo VM took no GUEST_CSUM, so the switch completed the sum */
	want = csum_frame(d, ++seq, &len);
	n = expect(d, K_ECHO, seq, 2000);
	CHECKF(n == len && got[24] == (want >> 8) && got[25] == (want & 0xff), "csum_completed",
	       "len %u, checksum %02x%02x, expected %04x", n, got[24], got[25], want);
	/* control commands */
	CHECK_EQ(ctrl(d, 0, 0, "\1", 1), 0, "ctrl_promisc_on_acked");
	CHECK_EQ(ctrl(d, 0, 0, "\0", 1), 0, "ctrl_promisc_off_acked");
	CHECK_EQ(ctrl(d, 0, 1, "\1", 1), 0, "ctrl_allmulti_acked");
	__builtin_memset(tab, 0, sizeof(tab));
	tab[4] = 1;	/* no unicast entries, one multicast one */
	tab[8] = 0x01, tab[9] = 0x00, tab[10] = 0x5e, tab[13] = 0x01;
	CHECK_EQ(ctrl(d, 1, 0, tab, sizeof(tab)), 0, "ctrl_mac_table_acked");
	CHECK(ping(d, mac_b, ++seq, 200), "works_after_ctrl");
	CHECK_EQ(frames_from_c, 0, "nothing_from_other_vlan");
	build(frame, mac_b, d->mac, K_DONE, ++seq, 60);
	send(d, frame, 60);
	CHECKF(queue_irqs > 0, "queue_interrupts", "%u", queue_irqs);
}

/* ---- the echo VM ---- */

static void echo(void)
{
	struct nic *d = &nics[0];
	uint32_t echoed = 0, from_c = 0;
	bool done = false;

	CHECK(nic_init(d, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | F_MAC | F_STATUS | F_CSUM | F_CTRL_VQ |
		       F_CTRL_RX, 1526, true), "init");
	CHECK(!(d->pci.features & (F_MRG_RXBUF | F_GUEST_CSUM)), "no_mrg_no_guest_csum");
	for (unsigned int idle = 0; !done && idle < 120;) {
		uint32_t n = receive(d, 1000, NULL);

		if (!n) {
			idle++;
			continue;
		}
		idle = 0;
		if (!__builtin_memcmp(got + 6, mac_c, 6))
			from_c++;
		if (!is_test_frame(got, n) || got[16] == K_ECHO || got[16] == K_NOISE)
			continue;
		if (got[16] == K_DONE) {
			done = true;
			break;
		}
		if (got[16] == K_PING && __builtin_memcmp(got, d->mac, 6) &&
		    __builtin_memcmp(got, bcast, 6))
			continue;	/* not for us: the switch should not have sent it */
		__builtin_memcpy(frame, got + 6, 6);
		__builtin_memcpy(frame + 6, d->mac, 6);
		__builtin_memcpy(frame + 12, got + 12, n - 12);
		frame[16] = K_ECHO;
		echoed += send(d, frame, n);
	}
	CHECK(done, "told_to_stop");
	CHECKF(echoed >= 13, "echoed", "%u frames", echoed);
	CHECK_EQ(from_c, 0, "nothing_from_other_vlan");
}

/* ---- the VM on another VLAN ---- */

static void isolated(void)
{
	struct nic *d = &nics[0];

	CHECK(nic_init(d, VIRTIO_F_VERSION_1 | F_MAC | F_STATUS, 1526, true), "init");
	gprintf("virtio_net: isolated: listening\n");
	for (uint32_t i = 0;; i++) {
		uint32_t n;

		build(frame, bcast, d->mac, K_NOISE, i, 64);
		send(d, frame, 64);
		n = receive(d, 100, NULL);
		if (n) {
			CHECKF(false, "nothing_received", "a frame of %u bytes from "
			       "%02x:%02x:%02x:%02x:%02x:%02x", n, got[6], got[7], got[8], got[9],
			       got[10], got[11]);
			return;
		}
	}
}

/* ---- the hostile driver ---- */

static void expect_broken(struct nic *d, const char *name, unsigned int irqs_before)
{
	uint64_t end = rdtsc() + tsc_rate * 20;

	for (;;) {
		cli();
		if ((virtio_status(&d->pci) & VIRTIO_S_NEEDS_RESET) || rdtsc() > end)
			break;
		sti_hlt();
	}
	sti();
	CHECKF((virtio_status(&d->pci) & VIRTIO_S_NEEDS_RESET) && config_irqs > irqs_before, name,
	       "status 0x%x, config interrupts %u", virtio_status(&d->pci), config_irqs - irqs_before);
}

static const uint64_t plain = VIRTIO_F_VERSION_1 | F_MAC | F_STATUS | F_CTRL_VQ | F_CTRL_RX;

/* A frame from the helper NIC (1) to the abused one (0): n's device must do something. */
static void feed(struct nic *v, struct nic *h, uint32_t len)
{
	build(frame, v->mac, h->mac, K_PING, 7, len);
	send(h, frame, len);
}

static void hostile_tx(struct nic *v, struct nic *h)
{
	struct queue *q = &v->q[TXQ];
	struct net_hdr hd = { 0 };
	unsigned int s;

	CHECK(nic_init(v, plain, 1526, true) && nic_init(h, plain, 1526, true), "init");
	/* a header of 6 bytes only */
	s = q->avail_idx % QSZ;
	q->desc[s] = (struct vq_desc){ (uintptr_t)txmem[s], 6, 0, 0 };
	q->avail[2 + s] = (uint16_t)s;
	q->avail[1] = ++q->avail_idx;
	kick(v, TXQ);
	CHECK(wait_used(v, q, q->avail_idx, 2000), "tx_short_header_returned");
	/* a device-writable transmit buffer */
	s = q->avail_idx % QSZ;
	q->desc[s] = (struct vq_desc){ (uintptr_t)txmem[s], 100, VQ_F_WRITE, 0 };
	q->avail[2 + s] = (uint16_t)s;
	q->avail[1] = ++q->avail_idx;
	kick(v, TXQ);
	CHECK(wait_used(v, q, q->avail_idx, 2000), "tx_writable_returned");
	/* GSO and a checksum request outside the frame; CSUM was not negotiated either */
	build(frame, h->mac, v->mac, K_PING, 1, 100);
	hd.gso_type = 1;
	CHECK(send_raw(v, &hd, frame, 100), "tx_gso_returned");
	hd = (struct net_hdr){ .flags = 1, .csum_start = 90, .csum_offset = 16 };
	CHECK(send_raw(v, &hd, frame, 100), "tx_csum_returned");
	/* an oversized frame: 4000 bytes on a 1500-byte MTU */
	build(frame, h->mac, v->mac, K_PING, 2, 60);
	__builtin_memset(txmem[q->avail_idx % QSZ], 0, 4000 + HDR);
	s = q->avail_idx % QSZ;
	__builtin_memcpy(txmem[s] + HDR, frame, 60);
	q->desc[s] = (struct vq_desc){ (uintptr_t)txmem[s], 4000 + HDR, 0, 0 };
	q->avail[2 + s] = (uint16_t)s;
	q->avail[1] = ++q->avail_idx;
	kick(v, TXQ);
	CHECK(wait_used(v, q, q->avail_idx, 2000), "tx_oversize_returned");
	/* a forged source address: the port group rejects it */
	build(frame, h->mac, mac_b, K_PING, 3, 60);
	CHECK(send(v, frame, 60), "tx_forged_returned");
	/* none of that reached the helper NIC; a good frame does */
	build(frame, h->mac, v->mac, K_PING, 4, 60);
	send(v, frame, 60);
	CHECK_EQ(receive(h, 2000, NULL), 60, "only_the_good_frame_arrives");
	CHECK_EQ(virtio_status(&v->pci) & VIRTIO_S_NEEDS_RESET, 0, "tx_drops_need_no_reset");
}

static void hostile_rx(struct nic *v, struct nic *h)
{
	struct queue *q = &v->q[RXQ];
	unsigned int c;

	/* receive buffers of 200 bytes without MRG_RXBUF: a 1000-byte frame does not fit */
	CHECK(nic_init(v, plain, 200, true) && nic_init(h, plain, 1526, true), "init_small_rx");
	feed(v, h, 1000);
	feed(v, h, 100);
	CHECK_EQ(receive(v, 2000, NULL), 100, "small_buffers_take_small_frames");
	CHECK_EQ(virtio_status(&v->pci) & VIRTIO_S_NEEDS_RESET, 0, "small_buffers_need_no_reset");
	/* a device-readable receive buffer */
	c = config_irqs;
	nic_init(v, plain, 1526, false);
	q->desc[0] = (struct vq_desc){ (uintptr_t)rxmem[0][0], 1526, 0, 0 };
	q->avail[2] = 0;
	q->avail[1] = ++q->avail_idx;
	kick(v, RXQ);
	feed(v, h, 100);
	expect_broken(v, "rx_readable_buffer", c);
	/* a descriptor loop on the transmit queue */
	c = config_irqs;
	nic_init(v, plain, 1526, true);
	v->q[TXQ].desc[0] = (struct vq_desc){ (uintptr_t)txmem[0], 100, VQ_F_NEXT, 1 };
	v->q[TXQ].desc[1] = (struct vq_desc){ (uintptr_t)txmem[1], 100, VQ_F_NEXT, 0 };
	v->q[TXQ].avail[2] = 0;
	v->q[TXQ].avail[1] = ++v->q[TXQ].avail_idx;
	kick(v, TXQ);
	expect_broken(v, "tx_descriptor_loop", c);
}

static void hostile_ctrl(struct nic *v)
{
	struct queue *q = &v->q[CTRLQ];
	uint8_t tab[12] = { 0 };
	unsigned int c;

	CHECK(nic_init(v, plain, 1526, true), "init_ctrl");
	CHECK_EQ(ctrl(v, 0, 0, "", 0), 1, "ctrl_rx_without_data_err");
	CHECK_EQ(ctrl(v, 0, 5, "\1", 1), 1, "ctrl_rx_extra_not_offered_err");
	CHECK_EQ(ctrl(v, 9, 9, "", 0), 1, "ctrl_unknown_class_err");
	tab[0] = 200;	/* 200 unicast entries claimed, none there */
	CHECK_EQ(ctrl(v, 1, 0, tab, sizeof(tab)), 1, "ctrl_mac_table_lies_err");
	CHECK_EQ(ctrl(v, 1, 1, "\0\x50\x56\0\0\x0d", 6), 1, "ctrl_mac_addr_not_negotiated_err");
	/* only an ack byte: no class and command */
	acks[0] = 0xee;
	q->desc[0] = (struct vq_desc){ (uintptr_t)&acks[0], 1, VQ_F_WRITE, 0 };
	q->avail[2 + q->avail_idx % QSZ] = 0;
	q->avail[1] = ++q->avail_idx;
	kick(v, CTRLQ);
	CHECK(wait_used(v, q, q->avail_idx, 2000) && acks[0] == 1, "ctrl_empty_err");
	CHECK_EQ(virtio_status(&v->pci) & VIRTIO_S_NEEDS_RESET, 0, "bad_commands_need_no_reset");
	/* a command with no room for its ack */
	c = config_irqs;
	ctrlmem[0][0] = 0, ctrlmem[0][1] = 0, ctrlmem[0][2] = 1;
	q->desc[0] = (struct vq_desc){ (uintptr_t)ctrlmem[0], 3, 0, 0 };
	q->avail[2 + q->avail_idx % QSZ] = 0;
	q->avail[1] = ++q->avail_idx;
	kick(v, CTRLQ);
	expect_broken(v, "ctrl_no_ack_byte", c);
}

static void hostile(void)
{
	struct nic *v = &nics[0], *h = &nics[1];

	CHECK_EQ(nnic, 2, "two_nics");
	if (nnic < 2)
		return;
	hostile_tx(v, h);
	hostile_rx(v, h);
	hostile_ctrl(v);
	/* reset, and the NIC works again */
	CHECK(nic_init(v, plain, 1526, true) && nic_init(h, plain, 1526, true), "init_after_abuse");
	feed(v, h, 300);
	CHECK_EQ(receive(v, 2000, NULL), 300, "works_after_reset");
	virtio_reset(&v->pci);
	virtio_reset(&h->pci);
}

void guest_main(void)
{
	if (!vmk_present()) {
		check_skip("virtio_net", NOT_VMK);
		return;
	}
	tsc_rate = tsc_hz();
	pic_init(0x20);
	lapic_enable();
	irq_register(VEC_QUEUE, irq_handler);
	irq_register(VEC_CONFIG, irq_handler);
	irq_register(VEC_TICK, irq_handler);
	lapic_write(LAPIC_TDCR, 0xb);
	lapic_write(LAPIC_LVT_TIMER, VEC_TICK | TIMER_PERIODIC);
	lapic_write(LAPIC_TMICT, (uint32_t)udiv64(tsc_rate, 1000, NULL));
	sti();
	find_nics();
	CHECK(nnic >= 1, "nic_found");
	if (!nnic)
		return;
	if (cmdline_has("sender"))
		sender();
	else if (cmdline_has("echo"))
		echo();
	else if (cmdline_has("isolated"))
		isolated();
	else if (cmdline_has("hostile"))
		hostile();
	else
		CHECK(false, "role_on_cmdline");
	lapic_write(LAPIC_TMICT, 0);
	cli();
}
