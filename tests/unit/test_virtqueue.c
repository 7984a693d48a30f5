/*
 * The device side of split virtqueues (vmm/vdev/virtio/virtqueue.c)
 * against a fake guest memory: well-formed requests, direct and
 * indirect, and every malformation a hostile driver can build, each of
 * which must come back as its own named error without touching memory
 * outside the fake guest's RAM (ASan watches that).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include <vmm/virtqueue.h>

/* Guest RAM: the first RAM_BYTES are backed here; [HOLE, HOLE_END) is MMIO; RAM ends at RAM_END. */
#define RAM_BYTES	(1u << 20)
#define HOLE		0x80000u
#define HOLE_END	0x90000u
#define RAM_END		(8ull << 30)
#define QSIZE		8
#define DESC_AT		0x1000u
#define AVAIL_AT	0x2000u
#define USED_AT		0x3000u
#define IND_AT		0x4000u
#define DATA_AT		0x10000u

static uint8_t ram[RAM_BYTES];

static bool fake_is_ram(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa + len < gpa || gpa + len > RAM_END)
		return false;
	return gpa + len <= HOLE || gpa >= HOLE_END;
}

static int fake_read(void *ctx, uint64_t gpa, void *dst, size_t len)
{
	if (!fake_is_ram(ctx, gpa, len) || gpa + len > RAM_BYTES)
		return -EFAULT;
	memcpy(dst, ram + gpa, len);
	return 0;
}

static int fake_write(void *ctx, uint64_t gpa, const void *src, size_t len)
{
	if (!fake_is_ram(ctx, gpa, len) || gpa + len > RAM_BYTES)
		return -EFAULT;
	memcpy(ram + gpa, src, len);
	return 0;
}

static const struct vq_mem mem = { .read = fake_read, .write = fake_write, .is_ram = fake_is_ram };
static struct virtqueue_dev q;
static struct vq_chain chain;
static uint16_t avail_idx;

static void put16(uint64_t at, uint16_t v)
{
	memcpy(ram + at, &v, 2);
}

static uint16_t get16(uint64_t at)
{
	uint16_t v;

	memcpy(&v, ram + at, 2);
	return v;
}

static void desc(uint64_t table, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	uint8_t *d = ram + table + 16 * i;

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
}

/* Offer head to the device. */
static void offer(uint16_t head)
{
	put16(AVAIL_AT + 4 + 2 * (avail_idx % QSIZE), head);
	put16(AVAIL_AT + 2, ++avail_idx);
}

static int setup(void **state)
{
	(void)state;
	memset(ram, 0, sizeof(ram));
	memset(&q, 0, sizeof(q));
	avail_idx = 0;
	vqdev_reset(&q, QSIZE);
	q.desc = DESC_AT;
	q.avail = AVAIL_AT;
	q.used = USED_AT;
	q.indirect = true;
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_OK);
	return 0;
}

static void test_enable_checks(void **state)
{
	(void)state;
	vqdev_reset(&q, QSIZE);
	q.desc = DESC_AT, q.avail = AVAIL_AT, q.used = USED_AT;
	q.size = 6;
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_ERR_SIZE);
	q.size = 0;
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_ERR_SIZE);
	q.size = 16;
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_ERR_SIZE);
	q.size = 4;
	q.desc = DESC_AT + 8;
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_ERR_RING_ADDR);
	q.desc = HOLE;				/* the rings in MMIO */
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_ERR_RING_ADDR);
	q.desc = DESC_AT;
	q.used = RAM_END - 8;			/* runs off the end of RAM */
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_ERR_RING_ADDR);
	q.used = USED_AT;
	assert_int_equal(vqdev_enable(&q, &mem, QSIZE), VQ_OK);
	assert_true(q.enabled);
	assert_string_equal(vqdev_err_name(VQ_ERR_LOOP), "descriptor chain longer than its table (a loop)");
}

static void test_empty_and_simple(void **state)
{
	uint8_t out[12] = "hello world", in[4];

	(void)state;
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
	assert_int_equal(chain.nseg, 0);
	assert_false(vqdev_has_work(&q, &mem));
	memcpy(ram + DATA_AT, out, sizeof(out));
	desc(DESC_AT, 3, DATA_AT, 6, VIRTQ_DESC_F_NEXT, 5);
	desc(DESC_AT, 5, DATA_AT + 6, 6, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC_AT, 1, DATA_AT + 0x100, 4, VIRTQ_DESC_F_WRITE, 0);
	offer(3);
	assert_true(vqdev_has_work(&q, &mem));
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
	assert_int_equal(chain.head, 3);
	assert_int_equal(chain.nseg, 3);
	assert_int_equal(chain.nout, 2);
	assert_int_equal(chain.out_len, 12);
	assert_int_equal(chain.in_len, 4);
	memset(out, 0, sizeof(out));
	assert_int_equal(vqdev_chain_read(&chain, &mem, 0, out, 12), 0);
	assert_string_equal((char *)out, "hello world");
	assert_int_equal(vqdev_chain_read(&chain, &mem, 4, out, 4), 0);
	assert_memory_equal(out, "o wo", 4);
	assert_int_equal(vqdev_chain_read(&chain, &mem, 10, out, 4), -EFAULT);	/* past the end */
	memcpy(in, "OKAY", 4);
	assert_int_equal(vqdev_chain_write(&chain, &mem, 0, in, 4), 0);
	assert_memory_equal(ram + DATA_AT + 0x100, "OKAY", 4);
	assert_int_equal(vqdev_chain_write(&chain, &mem, 2, in, 4), -EFAULT);
	/* back in the used ring */
	assert_int_equal(vqdev_push(&q, &mem, chain.head, 4), VQ_OK);
	assert_int_equal(get16(USED_AT + 2), 1);
	assert_int_equal(get16(USED_AT + 4), 3);
	assert_true(vqdev_should_interrupt(&q, &mem));
	put16(AVAIL_AT, VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(vqdev_should_interrupt(&q, &mem));
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
	assert_int_equal(chain.nseg, 0);
}

static void test_indirect(void **state)
{
	(void)state;
	desc(IND_AT, 0, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 2);
	desc(IND_AT, 2, DATA_AT + 16, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(IND_AT, 1, DATA_AT + 528, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(DESC_AT, 0, IND_AT, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
	assert_int_equal(chain.nseg, 3);
	assert_int_equal(chain.nout, 1);
	assert_int_equal(chain.in_len, 513);
	/* the same, not negotiated */
	q.indirect = false;
	offer(0);
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_ERR_INDIRECT);
	assert_int_equal(chain.nseg, 0);
}

static void expect_pop(enum vq_err want, uint16_t head)
{
	uint16_t before = q.last_avail;

	offer(head);
	assert_int_equal(vqdev_pop(&q, &mem, &chain), want);
	assert_int_equal(q.last_avail, before);	/* a bad request is not consumed */
	avail_idx--;
	put16(AVAIL_AT + 2, avail_idx);
}

static void test_bad_indirect(void **state)
{
	(void)state;
	desc(IND_AT, 0, IND_AT, 16, VIRTQ_DESC_F_INDIRECT, 0);		/* nested */
	desc(DESC_AT, 0, IND_AT, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop(VQ_ERR_INDIRECT, 0);
	desc(DESC_AT, 0, IND_AT, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	expect_pop(VQ_ERR_INDIRECT, 0);
	desc(DESC_AT, 0, IND_AT, 24, VIRTQ_DESC_F_INDIRECT, 0);	/* not whole entries */
	expect_pop(VQ_ERR_INDIRECT, 0);
	desc(DESC_AT, 0, IND_AT, 0, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop(VQ_ERR_INDIRECT, 0);
	desc(DESC_AT, 0, IND_AT, 16 * (VQ_MAX_SIZE + 1), VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop(VQ_ERR_INDIRECT, 0);
	desc(DESC_AT, 0, HOLE, 64, VIRTQ_DESC_F_INDIRECT, 0);		/* table in MMIO */
	expect_pop(VQ_ERR_BUF_ADDR, 0);
	/* an indirect descriptor after a direct one */
	desc(DESC_AT, 0, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC_AT, 1, IND_AT, 16, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop(VQ_ERR_INDIRECT, 0);
	/* a loop inside an indirect table */
	desc(IND_AT, 0, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(IND_AT, 1, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 0);
	desc(DESC_AT, 0, IND_AT, 32, VIRTQ_DESC_F_INDIRECT, 0);
	expect_pop(VQ_ERR_LOOP, 0);
	desc(IND_AT, 1, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 2);		/* next past the table */
	expect_pop(VQ_ERR_NEXT, 0);
}

static void test_bad_chains(void **state)
{
	(void)state;
	expect_pop(VQ_ERR_HEAD, QSIZE);
	/* a loop: 0 -> 1 -> 0 */
	desc(DESC_AT, 0, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC_AT, 1, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 0);
	expect_pop(VQ_ERR_LOOP, 0);
	/* a descriptor pointing at itself */
	desc(DESC_AT, 2, DATA_AT, 16, VIRTQ_DESC_F_NEXT, 2);
	expect_pop(VQ_ERR_LOOP, 2);
	desc(DESC_AT, 0, DATA_AT, 16, VIRTQ_DESC_F_NEXT, QSIZE);
	expect_pop(VQ_ERR_NEXT, 0);
	/* buffers in MMIO, straddling into it, past RAM, wrapping the address space */
	desc(DESC_AT, 0, HOLE + 0x100, 16, 0, 0);
	expect_pop(VQ_ERR_BUF_ADDR, 0);
	desc(DESC_AT, 0, HOLE - 8, 16, 0, 0);
	expect_pop(VQ_ERR_BUF_ADDR, 0);
	desc(DESC_AT, 0, RAM_END - 8, 16, 0, 0);
	expect_pop(VQ_ERR_BUF_ADDR, 0);
	desc(DESC_AT, 0, UINT64_MAX - 7, 16, 0, 0);
	expect_pop(VQ_ERR_BUF_ADDR, 0);
	/* lengths that add up past 4 GiB */
	desc(DESC_AT, 0, 1ull << 30, 0xfffff000u, VIRTQ_DESC_F_NEXT, 1);
	desc(DESC_AT, 1, 1ull << 32, 0x2000u, 0, 0);
	expect_pop(VQ_ERR_LEN, 0);
	/* readable after writable */
	desc(DESC_AT, 0, DATA_AT, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(DESC_AT, 1, DATA_AT, 16, 0, 0);
	expect_pop(VQ_ERR_ORDER, 0);
	/* more buffers than the device takes */
	q.max_segs = 3;
	for (unsigned i = 0; i < 4; i++)
		desc(DESC_AT, i, DATA_AT, 16, i < 3 ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	expect_pop(VQ_ERR_TOO_MANY, 0);
	q.max_segs = VQ_MAX_SEGS;
	offer(0);
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
	assert_int_equal(chain.nseg, 4);
	/* the available index a whole ring and more ahead */
	put16(AVAIL_AT + 2, (uint16_t)(q.last_avail + QSIZE + 1));
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_ERR_AVAIL_IDX);
	put16(AVAIL_AT + 2, (uint16_t)(q.last_avail - 1));	/* went backwards: also far ahead */
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_ERR_AVAIL_IDX);
	/* the ring itself unreadable (moved out of RAM behind our back) */
	q.avail = HOLE;
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_ERR_MEM);
}

static void test_event_idx(void **state)
{
	(void)state;
	q.event_idx = true;
	desc(DESC_AT, 0, DATA_AT, 16, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned i = 0; i < 3; i++)
		offer(0);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
		assert_int_equal(chain.nseg, 1);
	}
	vqdev_want_notify(&q, &mem);
	assert_int_equal(get16(USED_AT + 4 + 8 * QSIZE), 3);	/* avail_event */
	/* the first completion always interrupts */
	assert_int_equal(vqdev_push(&q, &mem, 0, 16), VQ_OK);
	assert_true(vqdev_should_interrupt(&q, &mem));
	/* the driver wants one when used index passes 2 (used_event = 2) */
	put16(AVAIL_AT + 4 + 2 * QSIZE, 2);
	assert_int_equal(vqdev_push(&q, &mem, 0, 16), VQ_OK);
	assert_false(vqdev_should_interrupt(&q, &mem));	/* used idx 2: event 2 not passed */
	assert_int_equal(vqdev_push(&q, &mem, 0, 16), VQ_OK);
	assert_true(vqdev_should_interrupt(&q, &mem));	/* used idx 3 passes it */
	/* the flag is ignored with event index */
	put16(AVAIL_AT, VIRTQ_AVAIL_F_NO_INTERRUPT);
	put16(AVAIL_AT + 4 + 2 * QSIZE, 3);
	offer(0);
	assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
	assert_int_equal(vqdev_push(&q, &mem, 0, 16), VQ_OK);
	assert_true(vqdev_should_interrupt(&q, &mem));
	/* the used ring wraps with the index */
	for (unsigned i = 0; i < 3 * QSIZE; i++) {
		offer(0);
		assert_int_equal(vqdev_pop(&q, &mem, &chain), VQ_OK);
		assert_int_equal(chain.nseg, 1);
		assert_int_equal(vqdev_push(&q, &mem, chain.head, 1), VQ_OK);
	}
	assert_int_equal(get16(USED_AT + 2), 4 + 3 * QSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_enable_checks, setup),
		cmocka_unit_test_setup(test_empty_and_simple, setup),
		cmocka_unit_test_setup(test_indirect, setup),
		cmocka_unit_test_setup(test_bad_indirect, setup),
		cmocka_unit_test_setup(test_bad_chains, setup),
		cmocka_unit_test_setup(test_event_idx, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
