/*
 * virtio_blk: a virtio-blk driver as an OS writes one (virtio v1.1 4.1
 * PCI transport, 2.7 split virtqueues, 5.2 block device), against the
 * VMM's device (vmm/vdev/virtio/). Two configurations use this image:
 *
 * virtio_blk.vmx: disks scsi0:0 (thin, writable) and scsi0:1 (read-only).
 *   Finds both devices, negotiates features, sets up MSI-X and queue 0,
 *   then: writes 64 KiB in a direct chain and reads it back through an
 *   indirect table; 112 KiB (more than the device's bounce buffer); eight reads in flight at once; FLUSH;
 *   GET_ID; a read past the capacity (IOERR) and an unknown request
 *   type (UNSUPP); DISCARD of a whole file block, which then reads as
 *   zeros; a write to the read-only disk (IOERR); interrupts arrived.
 *
 * virtio_bench.vmx (cmdline "bench"): make bench's figures (bench() below).
 *
 * hostile_virtio.vmx (cmdline "hostile"): one malformation per case, each
 *   after a fresh reset and set-up: a descriptor loop, a chain longer
 *   than the device takes, buffers in MMIO and past RAM, lengths past
 *   4 GiB, a queue size that is not a power of two, rings outside RAM, a
 *   notification before DRIVER_OK, a head index outside the ring, an
 *   available index a ring ahead, nested indirect tables, a readable
 *   buffer after a writable one, a request with no header. Each must put
 *   the device into NEEDS_RESET (with a configuration interrupt); the
 *   host log names each reason (tests/system/run-case.sh checks them);
 *   after a reset the device works again.
 */
#include "guest.h"
#include "cpu.h"
#include "trap.h"
#include "lapic.h"
#include "pc.h"
#include "virtio.h"

const char guest_name[] = "virtio_blk";

#define VEC_QUEUE 0x60
#define VEC_CONFIG 0x61
#define VEC_TICK 0x62
#define QSZ 16

/* virtio-blk features (5.2.3) and request types (5.2.6) */
#define F_SEG_MAX (1ull << 2)
#define F_RO (1ull << 5)
#define F_BLK_SIZE (1ull << 6)
#define F_FLUSH (1ull << 9)
#define F_DISCARD (1ull << 13)
#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11

struct req_hdr {
	uint32_t type, reserved;
	uint64_t sector;
} __attribute__((packed));

struct vdev {
	struct virtio_pci pci;
	/* queue 0 */
	struct vq_desc *desc;
	volatile uint16_t *avail;	/* flags, idx, ring[QSZ], used_event */
	volatile uint8_t *used;		/* flags, idx, {id, len}[QSZ], avail_event */
	uint16_t avail_idx, used_seen;
};

/* Ring memory (per device) and the requests' headers, tables, buffers. */
static uint8_t ringmem[2][0x4000] __attribute__((aligned(4096)));
static struct vq_desc ind[QSZ][QSZ] __attribute__((aligned(16)));
static struct vq_desc big_ind[256] __attribute__((aligned(16)));
static struct req_hdr hdrs[QSZ];
static volatile uint8_t status[QSZ];
static uint8_t data[128 * 1024] __attribute__((aligned(4096)));
static uint8_t back[128 * 1024] __attribute__((aligned(4096)));

static struct vdev devs[2];
static unsigned int ndev;
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

static void find_devices(void)
{
	while (ndev < 2 && virtio_pci_find(VIRTIO_PCI_BLK, ndev, &devs[ndev].pci, 2, VEC_CONFIG,
					   VEC_QUEUE))
		ndev++;
}

/* ---- set-up ---- */

/* Reset, negotiate `want`, and (if qsize) set up queue 0; returns false if refused. */
static bool dev_init_ex(struct vdev *d, uint64_t want, uint16_t qsize, uint64_t desc_at,
			bool driver_ok)
{
	uint8_t *mem = ringmem[d - devs];

	virtio_reset(&d->pci);
	if (!virtio_negotiate(&d->pci, want))
		return false;
	__builtin_memset(mem, 0, sizeof(ringmem[0]));
	d->desc = (struct vq_desc *)mem;
	d->avail = (volatile uint16_t *)(mem + 0x1000);
	d->used = mem + 0x2000;
	d->avail_idx = d->used_seen = 0;
	virtio_queue_setup(&d->pci, 0, qsize, 1, desc_at ? desc_at : (uintptr_t)d->desc,
			   (uintptr_t)d->avail, (uintptr_t)d->used);
	if (driver_ok)
		virtio_driver_ok(&d->pci);
	return true;
}

static const uint64_t want_all = VIRTIO_F_VERSION_1 | VIRTIO_F_INDIRECT | VIRTIO_F_EVENT_IDX |
				 F_FLUSH | F_SEG_MAX | F_BLK_SIZE | F_DISCARD | F_RO;

static bool dev_init(struct vdev *d)
{
	return dev_init_ex(d, want_all, QSZ, 0, true);
}

static uint16_t used_idx(struct vdev *d)
{
	return *(volatile uint16_t *)(d->used + 2);
}

/* Offer head, notify, and wait (interrupts on) until `count` more are used or NEEDS_RESET. */
static void offer(struct vdev *d, uint16_t head)
{
	d->avail[2 + d->avail_idx % QSZ] = head;
	__asm__ volatile("" ::: "memory");
	d->avail[1] = ++d->avail_idx;
}

static void kick(struct vdev *d)
{
	virtio_notify(&d->pci, 0, 0);
}

static bool wait_used(struct vdev *d, uint16_t want)
{
	uint64_t end = rdtsc() + tsc_rate * 20;

	for (;;) {
		cli();
		d->avail[2 + QSZ] = used_idx(d);	/* used_event: interrupt on the next one */
		if (used_idx(d) == want || (virtio_status(&d->pci) & VIRTIO_S_NEEDS_RESET) || rdtsc() > end)
			break;
		sti_hlt();
	}
	sti();
	return used_idx(d) == want;
}

/* ---- requests ---- */

/*
 * A request on slot s: header, n data buffers of `each` bytes from buf,
 * status. Either a direct chain in descriptors s..s+n+1 of the ring (only
 * slot 0 is used so, and n + 2 <= QSZ), or one descriptor s pointing at
 * the indirect table ind[s] (n + 2 <= QSZ entries).
 */
static void build(struct vdev *d, unsigned int s, uint32_t type, uint64_t sector, uint8_t *buf,
		  unsigned int n, uint32_t each, bool indirect)
{
	struct vq_desc *t = indirect ? ind[s] : d->desc;
	unsigned int b = indirect ? 0 : s, k = 0;
	uint16_t wr = type == T_IN || type == T_GET_ID ? VQ_F_WRITE : 0;

	hdrs[s] = (struct req_hdr){ .type = type, .sector = sector };
	status[s] = 0xee;
	t[b] = (struct vq_desc){ (uintptr_t)&hdrs[s], sizeof(hdrs[s]), VQ_F_NEXT, (uint16_t)(b + 1) };
	for (k = 0; k < n; k++)
		t[b + 1 + k] = (struct vq_desc){ (uintptr_t)(buf + k * each), each, (uint16_t)(VQ_F_NEXT | wr),
					      (uint16_t)(b + 2 + k) };
	t[b + 1 + n] = (struct vq_desc){ (uintptr_t)&status[s], 1, VQ_F_WRITE, 0 };
	if (indirect)
		d->desc[s] = (struct vq_desc){ (uintptr_t)t, (uint32_t)((n + 2) * sizeof(struct vq_desc)),
					    VQ_F_INDIRECT, 0 };
}

/* One request, waited for: its status byte, or 0xff if it never completed. */
static uint8_t request(struct vdev *d, uint32_t type, uint64_t sector, uint8_t *buf,
		       unsigned int n, uint32_t each, bool indirect)
{
	build(d, 0, type, sector, buf, n, each, indirect);
	offer(d, 0);
	kick(d);
	return wait_used(d, d->avail_idx) ? status[0] : 0xff;
}

static uint32_t cfg32(struct vdev *d, unsigned int off)
{
	return *(volatile uint32_t *)(d->pci.devcfg + off);
}

static void fill(uint8_t *p, uint32_t n, uint32_t seed)
{
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 13 + seed + (i >> 9));
}

/* ---- the well-behaved driver ---- */

static void check_rw(struct vdev *d)
{
	bool match;

	fill(data, 65536, 1);
	CHECK_EQ(request(d, T_OUT, 100, data, 8, 8192, false), 0, "write_64k_direct");
	__builtin_memset(back, 0, 65536);
	CHECK_EQ(request(d, T_IN, 100, back, 16, 4096, true), 0, "read_64k_indirect");
	match = !__builtin_memcmp(data, back, 65536);
	CHECK(match, "read_back_matches");
	/* a larger request than the device's bounce buffer: 112 KiB in 14 buffers */
	fill(data, sizeof(data), 9);
	CHECK_EQ(request(d, T_OUT, 1000, data, 14, 8192, true), 0, "write_112k");
	__builtin_memset(back, 0, sizeof(back));
	CHECK_EQ(request(d, T_IN, 1000, back, 14, 8192, true), 0, "read_112k");
	CHECK(!__builtin_memcmp(data, back, 14 * 8192), "read_112k_matches");
}

static void check_in_flight(struct vdev *d)
{
	uint16_t start = d->avail_idx;
	unsigned int ok = 0;

	fill(data, 8 * 4096, 5);
	CHECK_EQ(request(d, T_OUT, 5000, data, 8, 4096, true), 0, "write_for_in_flight");
	__builtin_memset(back, 0, 8 * 4096);
	for (unsigned int s = 0; s < 8; s++) {
		build(d, s, T_IN, 5000 + 8 * s, back + 4096 * s, 1, 4096, true);
		offer(d, (uint16_t)s);
	}
	kick(d);
	CHECK(wait_used(d, (uint16_t)(start + 1 + 8)), "eight_in_flight_completed");
	for (unsigned int s = 0; s < 8; s++)
		ok += status[s] == 0;
	CHECK_EQ(ok, 8, "eight_in_flight_ok");
	CHECK(!__builtin_memcmp(data, back, 8 * 4096), "eight_in_flight_data");
}

static void check_misc(struct vdev *d)
{
	uint64_t cap = cfg32(d, 0) | (uint64_t)cfg32(d, 4) << 32;
	char id[21] = { 0 };
	uint8_t st;

	CHECK_EQ64(cap, 32768, "capacity_16m");
	CHECK(d->pci.offered & VIRTIO_F_VERSION_1, "feature_version_1");
	CHECK((d->pci.offered & (VIRTIO_F_INDIRECT | VIRTIO_F_EVENT_IDX | F_FLUSH)) ==
	      (VIRTIO_F_INDIRECT | VIRTIO_F_EVENT_IDX | F_FLUSH),
	      "features_indirect_event_idx_flush");
	CHECK(!(d->pci.offered & F_RO), "writable_not_ro");
	CHECK_EQ(request(d, T_FLUSH, 0, NULL, 0, 0, false), 0, "flush");
	st = request(d, T_GET_ID, 0, (uint8_t *)id, 1, 20, false);
	CHECKF(st == 0 && !__builtin_memcmp(id, "vmk-scsi0:0", 12), "get_id", "status %u id '%s'", st, id);
	CHECK_EQ(request(d, T_IN, cap - 1, back, 1, 1024, false), 1, "read_past_end_ioerr");
	CHECK_EQ(request(d, 99, 0, back, 1, 512, false), 2, "unknown_type_unsupp");
	CHECK_EQ(request(d, T_IN, 0, back, 1, 100, false), 1, "partial_sector_ioerr");
}

static void check_discard(struct vdev *d)
{
	struct { uint64_t sector; uint32_t num, flags; } __attribute__((packed)) seg = { 8192, 2048, 0 };
	uint32_t nonzero = 0;

	if (!(d->pci.offered & F_DISCARD)) {
		CHECKF(false, "discard_offered", "features 0x%llx", (unsigned long long)d->pci.offered);
		return;
	}
	fill(data, 4096, 3);
	CHECK_EQ(request(d, T_OUT, 8192 + 16, data, 1, 4096, false), 0, "write_before_discard");
	CHECK_EQ(request(d, T_DISCARD, 0, (uint8_t *)&seg, 1, sizeof(seg), false), 0, "discard");
	CHECK_EQ(request(d, T_IN, 8192 + 16, back, 1, 4096, false), 0, "read_after_discard");
	for (unsigned int i = 0; i < 4096; i++)
		nonzero += back[i] != 0;
	CHECK_EQ(nonzero, 0, "discarded_reads_zeros");
}

static void check_read_only(struct vdev *d)
{
	CHECK(d->pci.offered & F_RO, "ro_feature");
	fill(data, 4096, 4);
	CHECK_EQ(request(d, T_OUT, 0, data, 1, 4096, false), 1, "ro_write_ioerr");
	CHECK_EQ(request(d, T_IN, 0, back, 1, 4096, false), 0, "ro_read_ok");
}

/*
 * What a notification costs the guest: the MMIO write's exit and return,
 * on an idle queue (the I/O world finds nothing). A figure for the log
 * (under Bochs, TSC ticks count instructions), not a check.
 */
static void measure_notify(struct vdev *d)
{
	uint64_t best = ~0ull, t;

	for (unsigned int i = 0; i < 16; i++) {
		cli();
		t = rdtsc();
		kick(d);
		t = rdtsc() - t;
		sti();
		if (t < best)
			best = t;
	}
	gprintf("virtio_blk: notify round trip %llu TSC ticks (fewest of 16)\n",
		(unsigned long long)best);
}

static void driver_checks(void)
{
	unsigned int irqs;

	CHECK_EQ(ndev, 2, "two_devices");
	if (ndev < 2)
		return;
	CHECK(dev_init(&devs[0]) && dev_init(&devs[1]), "init");
	/* which is which: the read-only one says so */
	if (devs[0].pci.offered & F_RO) {
		struct vdev t = devs[0];

		devs[0] = devs[1];
		devs[1] = t;
	}
	check_misc(&devs[0]);
	check_rw(&devs[0]);
	check_in_flight(&devs[0]);
	measure_notify(&devs[0]);
	check_discard(&devs[0]);
	check_read_only(&devs[1]);
	irqs = queue_irqs;
	CHECKF(irqs > 0, "queue_interrupts", "%u", irqs);
	virtio_reset(&devs[0].pci);
	virtio_reset(&devs[1].pci);
}

/*
 * make bench (cmdline "bench", tests/guests/virtio_bench.vmx): figures for
 * the log, not checks. Under Bochs the TSC counts emulated instructions,
 * so each is a path length. The 4 KiB read round trip is what a guest
 * waits for one request: the notification's exit, the I/O world's
 * wake-up and its disk read, the used ring and the MSI-X interrupt that
 * ends the guest's HLT. Then BENCH_MIB MiB are written (then flushed) and
 * read in 64 KiB requests, one at a time, and the bytes and TSC ticks
 * printed with the TSC rate; tools/bench.sh turns them into MB/s and
 * sets them against the same I/O the vmkernel does on the same VMDK
 * (vdisk.bench=, vmm/vdev/vdisk_bench.c).
 */
#define BENCH_MIB 4
#define BENCH_RTT_RUNS 32

static void bench_rtt(struct vdev *d)
{
	uint64_t t[BENCH_RTT_RUNS];
	unsigned int ok = 0;

	for (unsigned int i = 0; i < BENCH_RTT_RUNS; i++) {
		uint64_t t0 = rdtsc();

		ok += request(d, T_IN, 8 * i, back, 1, 4096, false) == 0;
		t[i] = rdtsc() - t0;
	}
	CHECK_EQ(ok, BENCH_RTT_RUNS, "bench_reads");
	for (unsigned int i = 1; i < BENCH_RTT_RUNS; i++) {	/* insertion sort */
		uint64_t v = t[i];
		unsigned int j = i;

		for (; j && t[j - 1] > v; j--)
			t[j] = t[j - 1];
		t[j] = v;
	}
	gprintf("virtio_blk: bench: read_4k_rtt fewest %llu median %llu TSC ticks (of %u)\n",
		(unsigned long long)t[0], (unsigned long long)t[BENCH_RTT_RUNS / 2],
		BENCH_RTT_RUNS);
}

static void bench_seq(struct vdev *d, bool write)
{
	const uint32_t chunk = 65536, n = BENCH_MIB * 1048576 / chunk;
	uint64_t t0 = rdtsc(), ticks;
	unsigned int ok = 0;

	for (uint32_t i = 0; i < n; i++)
		ok += request(d, write ? T_OUT : T_IN, (uint64_t)i * (chunk / 512),
			      write ? data : back, 8, chunk / 8, true) == 0;
	if (write)
		ok += request(d, T_FLUSH, 0, data, 0, 0, false) == 0;
	ticks = rdtsc() - t0;
	CHECKF(ok == n + (write ? 1u : 0u), write ? "bench_seq_write" : "bench_seq_read", "%u of %u",
	       ok, n);
	gprintf("virtio_blk: bench: seq_%s %u bytes in %llu TSC ticks at %llu Hz (64 KiB requests)\n",
		write ? "write" : "read", BENCH_MIB * 1048576, (unsigned long long)ticks,
		(unsigned long long)tsc_rate);
}

static void bench(void)
{
	CHECK(ndev >= 1 && dev_init(&devs[0]), "bench_init");
	if (ndev < 1)
		return;
	measure_notify(&devs[0]);
	fill(data, sizeof(data), 5);
	bench_seq(&devs[0], true);
	bench_seq(&devs[0], false);
	bench_rtt(&devs[0]);
	virtio_reset(&devs[0].pci);
}

/* ---- the hostile driver ---- */

/* After a malformation: NEEDS_RESET and a configuration interrupt. */
static void expect_broken(struct vdev *d, const char *name, unsigned int irqs_before)
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

static void post(struct vdev *d, uint16_t head)
{
	offer(d, head);
	kick(d);
}

static void hostile_checks(void)
{
	struct vdev *d = &devs[0];
	unsigned int c;

	CHECK_EQ(ndev, 1, "one_device");
	if (!ndev)
		return;
	/* a descriptor loop */
	c = config_irqs;
	dev_init(d);
	d->desc[0] = (struct vq_desc){ (uintptr_t)data, 512, VQ_F_NEXT, 1 };
	d->desc[1] = (struct vq_desc){ (uintptr_t)data, 512, VQ_F_NEXT, 0 };
	post(d, 0);
	expect_broken(d, "loop", c);
	/* more buffers than the device takes (and than the ring holds) */
	c = config_irqs;
	dev_init(d);
	for (unsigned int i = 0; i < 200; i++)
		big_ind[i] = (struct vq_desc){ (uintptr_t)data, 512, VQ_F_NEXT, (uint16_t)(i + 1) };
	big_ind[199].flags = VQ_F_WRITE;
	d->desc[0] = (struct vq_desc){ (uintptr_t)big_ind, 200 * 16, VQ_F_INDIRECT, 0 };
	post(d, 0);
	expect_broken(d, "chain_too_long", c);
	/* a buffer in MMIO (the local APIC) */
	c = config_irqs;
	dev_init(d);
	build(d, 0, T_IN, 0, (uint8_t *)(uintptr_t)LAPIC_BASE, 1, 512, false);
	post(d, 0);
	expect_broken(d, "buffer_in_mmio", c);
	/* a buffer past the end of RAM */
	c = config_irqs;
	dev_init(d);
	build(d, 0, T_IN, 0, (uint8_t *)(uintptr_t)0x30000000u, 1, 512, false);
	post(d, 0);
	expect_broken(d, "buffer_outside_ram", c);
	/* lengths past 4 GiB: 65 buffers of 64 MiB, all in RAM */
	c = config_irqs;
	dev_init(d);
	for (unsigned int i = 0; i < 65; i++)
		big_ind[i] = (struct vq_desc){ 0x100000, 64u << 20, VQ_F_NEXT | VQ_F_WRITE, (uint16_t)(i + 1) };
	big_ind[64].flags = VQ_F_WRITE;
	big_ind[0].flags = VQ_F_NEXT;
	d->desc[0] = (struct vq_desc){ (uintptr_t)big_ind, 65 * 16, VQ_F_INDIRECT, 0 };
	post(d, 0);
	expect_broken(d, "length_overflow", c);
	/* a queue size that is not a power of two */
	c = config_irqs;
	dev_init_ex(d, want_all, 12, 0, false);
	expect_broken(d, "queue_size_12", c);
	/* rings outside RAM */
	c = config_irqs;
	dev_init_ex(d, want_all, QSZ, 0x30000000u, false);
	expect_broken(d, "ring_outside_ram", c);
	/* a notification before DRIVER_OK */
	c = config_irqs;
	dev_init_ex(d, want_all, QSZ, 0, false);
	build(d, 0, T_IN, 0, data, 1, 512, false);
	post(d, 0);
	expect_broken(d, "notify_before_driver_ok", c);
	/* a head index outside the ring */
	c = config_irqs;
	dev_init(d);
	post(d, 200);
	expect_broken(d, "head_outside_ring", c);
	/* the available index a ring and more ahead */
	c = config_irqs;
	dev_init(d);
	d->avail[1] = 100;
	kick(d);
	expect_broken(d, "avail_index_jump", c);
	/* an indirect table inside an indirect table */
	c = config_irqs;
	dev_init(d);
	big_ind[0] = (struct vq_desc){ (uintptr_t)big_ind, 32, VQ_F_INDIRECT, 0 };
	d->desc[0] = (struct vq_desc){ (uintptr_t)big_ind, 32, VQ_F_INDIRECT, 0 };
	post(d, 0);
	expect_broken(d, "nested_indirect", c);
	/* device-readable after device-writable */
	c = config_irqs;
	dev_init(d);
	d->desc[0] = (struct vq_desc){ (uintptr_t)data, 512, VQ_F_NEXT | VQ_F_WRITE, 1 };
	d->desc[1] = (struct vq_desc){ (uintptr_t)data, 512, 0, 0 };
	post(d, 0);
	expect_broken(d, "readable_after_writable", c);
	/* a request with no header, only a status byte */
	c = config_irqs;
	dev_init(d);
	d->desc[0] = (struct vq_desc){ (uintptr_t)&status[0], 1, VQ_F_WRITE, 0 };
	post(d, 0);
	expect_broken(d, "no_header", c);
	/* reset, and the device serves a good request again */
	CHECK(dev_init(d), "init_after_abuse");
	CHECK_EQ(request(d, T_IN, 0, back, 1, 4096, false), 0, "works_after_reset");
	virtio_reset(&d->pci);
}

void guest_main(void)
{
	if (!vmk_present()) {
		check_skip("virtio_blk", NOT_VMK);
		return;
	}
	tsc_rate = tsc_hz();
	pic_init(0x20);
	lapic_enable();
	irq_register(VEC_QUEUE, irq_handler);
	irq_register(VEC_CONFIG, irq_handler);
	irq_register(VEC_TICK, irq_handler);
	/* a 1 ms tick, so that waits in HLT notice their deadline */
	lapic_write(LAPIC_TDCR, 0xb);
	lapic_write(LAPIC_LVT_TIMER, VEC_TICK | TIMER_PERIODIC);
	lapic_write(LAPIC_TMICT, (uint32_t)udiv64(tsc_rate, 1000, NULL));
	sti();
	find_devices();
	if (cmdline_has("hostile"))
		hostile_checks();
	else if (cmdline_has("bench"))
		bench();
	else
		driver_checks();
	lapic_write(LAPIC_TMICT, 0);
	cli();
}
