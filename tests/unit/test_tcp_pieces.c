/* The pieces TCP is built from, each on its own: the byte ring, the
 * out-of-order assembler, SipHash-2-4 (RFC 6528 ISNs), wrap-safe sequence
 * comparisons, and the TCP wire module (parse/emit, options, checksum). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "core/assembler.h"
#include "core/ring.h"
#include "core/siphash.h"
#include "harness.h"
#include "transport/tcp_seq.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

/* ---------------- ring ---------------- */

/* Growing keeps the contents and what was written beyond them, even when
 * both wrap around the end of the old buffer. */
static void ring_grows(void **state)
{
    (void)state;
    struct ring r;
    char out[16] = {0};
    ring_init(&r, 8, NULL);
    assert_int_equal(ring_write(&r, "xxxxxx", 6), 6);
    assert_int_equal(r.cap, 8);                         /* at most the limit */
    ring_consume(&r, 6);                                /* head at 6 */
    assert_int_equal(ring_write(&r, "abc", 3), 3);      /* wraps: 6, 7, 0 */
    assert_int_equal(ring_write_at(&r, 1, "EF", 2), 2); /* beyond, after a gap */
    ring_set_limit(&r, 4);                              /* smaller: nothing to do */
    assert_int_equal(r.limit, 8);
    ring_set_limit(&r, 20);
    assert_int_equal(r.limit, 20);
    assert_int_equal(ring_space(&r), 17);
    assert_int_equal(ring_reserve(&r, 20), 0); /* more memory: a copy */
    assert_int_equal(r.cap, 20);
    assert_int_equal(r.len, 3);
    assert_int_equal(ring_write_at(&r, 0, "d", 1), 1); /* fill the gap */
    ring_commit(&r, 3);
    assert_int_equal(ring_peek(&r, 0, out, sizeof(out)), 6);
    assert_memory_equal(out, "abcdEF", 6);
    ring_fini(&r);
}

/* Memory follows the data: none until bytes come, doublings as they
 * accumulate, none again once the ring is released empty, and at once
 * the size it had when data comes back. */
static void ring_memory_follows_data(void **state)
{
    (void)state;
    static char big[20000];
    char out[8];
    uint64_t used = 0;
    struct ring_budget b = {.used = &used, .max = 1u << 20};
    struct ring r;
    ring_init(&r, 1u << 20, &b);
    assert_int_equal(r.cap, 0);
    assert_int_equal(ring_space(&r), 1u << 20);
    assert_int_equal(ring_write(&r, big, 100), 100);
    assert_int_equal(r.cap, RING_MIN_ALLOC);
    assert_int_equal(used, RING_MIN_ALLOC);
    assert_int_equal(ring_write_at(&r, 9000, "EF", 2), 2); /* beyond: grows to cover it */
    assert_int_equal(r.cap, 16384);
    assert_int_equal(ring_write(&r, big, 10000), 10000);
    assert_int_equal(r.cap, 16384);
    assert_int_equal(used, 16384);
    assert_int_equal(ring_peek(&r, 100 + 8999, out, 1), 1); /* the gap's last byte */
    ring_consume(&r, r.len);
    ring_release(&r);
    assert_int_equal(r.cap, 0);
    assert_int_equal(used, 0);
    assert_int_equal(ring_write(&r, "z", 1), 1);
    assert_int_equal(r.cap, 16384); /* as busy as before */
    assert_int_equal(ring_peek(&r, 0, out, sizeof(out)), 1);
    assert_memory_equal(out, "z", 1);
    ring_release(&r); /* not empty: kept */
    assert_int_equal(r.cap, 16384);
    ring_fini(&r);
    assert_int_equal(used, 0);
}

/* Rings that share a budget get no memory beyond it: a write takes what
 * the ring already has, and memory given back serves the others. */
static void ring_budget_bounds_all(void **state)
{
    (void)state;
    static char big[9000];
    uint64_t used = 0;
    struct ring_budget b = {.used = &used, .max = 3 * RING_MIN_ALLOC};
    struct ring x, y;
    ring_init(&x, 1u << 20, &b);
    ring_init(&y, 1u << 20, &b);
    assert_int_equal(ring_write(&x, big, 5000), 5000); /* 8192 */
    assert_int_equal(used, 2 * RING_MIN_ALLOC);
    assert_int_equal(ring_write(&y, big, 9000), 4096); /* only 4096 left */
    assert_int_equal(used, 3 * RING_MIN_ALLOC);
    assert_int_equal(ring_write(&x, big, 4000), 3192); /* x fills its 8192 */
    assert_int_equal(ring_write(&x, big, 1), 0);
    assert_int_equal(ring_write_at(&y, 10, big, 1), 0);
    ring_consume(&x, x.len);
    ring_release(&x);
    assert_int_equal(used, RING_MIN_ALLOC);
    assert_int_equal(ring_write(&y, big, 4000), 4000); /* y grows into it */
    ring_fini(&x);
    ring_fini(&y);
    assert_int_equal(used, 0);
}

/* A large ring that empties gives its buffer to the budget, which keeps
 * it (still counted) for the next ring of that size: a bulk flow empties
 * and refills its ring all the time, and a fresh multi-megabyte
 * allocation each time cost a page fault per 4 KiB. Kept buffers give way
 * when a ring would otherwise be refused, and go at the budget's end. */
static void ring_budget_keeps_large_buffers(void **state)
{
    (void)state;
    static char big[1 << 18];
    uint64_t used = 0;
    struct ring_budget b = {.used = &used, .max = 1u << 20};
    struct ring x, y;
    ring_init(&x, 1u << 20, &b);
    ring_init(&y, 1u << 20, &b);
    assert_int_equal(ring_write(&x, big, sizeof(big)), sizeof(big));
    assert_int_equal(x.cap, 1u << 18);
    const uint8_t *buf = x.buf;
    ring_consume(&x, x.len);
    ring_release(&x);
    assert_int_equal(x.cap, 0); /* the ring holds nothing, nor counts it... */
    assert_int_equal(used, 0);
    assert_int_equal(b.kept_bytes, 1u << 18); /* ...the budget keeps its buffer */
    assert_ptr_equal(b.kept[0].buf, buf);
    assert_int_equal(ring_write(&y, big, sizeof(big)), sizeof(big));
    assert_ptr_equal(y.buf, buf); /* the same buffer, no new one */
    assert_int_equal(used, 1u << 18);
    assert_int_equal(b.kept_bytes, 0);
    assert_null(b.kept[0].buf);
    /* A small ring is freed as before. */
    struct ring w;
    ring_init(&w, 1u << 20, &b);
    assert_int_equal(ring_write(&w, big, 100), 100);
    assert_int_equal(used, (1u << 18) + RING_MIN_ALLOC);
    ring_consume(&w, w.len);
    ring_release(&w);
    assert_int_equal(used, 1u << 18);
    assert_null(b.kept[0].buf);
    /* Kept buffers give way to a ring that needs the room. */
    ring_consume(&y, y.len);
    ring_release(&y);
    assert_int_equal(used, 0);
    assert_int_equal(b.kept_bytes, 1u << 18);
    struct ring z;
    ring_init(&z, 1u << 20, &b);
    static char more[(1 << 20) - 4096];
    assert_int_equal(ring_write(&z, more, sizeof(more)), sizeof(more));
    assert_null(b.kept[0].buf);
    assert_int_equal(b.kept_bytes, 0);
    assert_int_equal(used, 1u << 20);
    ring_fini(&z);
    ring_fini(&w);
    ring_fini(&x);
    ring_fini(&y);
    ring_budget_fini(&b);
    assert_int_equal(used, 0);
    assert_int_equal(b.kept_bytes, 0);
}

static void ring_wraps_around(void **state)
{
    (void)state;
    struct ring r;
    ring_init(&r, 8, NULL);
    assert_int_equal(ring_space(&r), 8);
    assert_int_equal(ring_write(&r, "abcde", 5), 5);
    ring_consume(&r, 3);
    assert_int_equal(r.len, 2);
    assert_int_equal(ring_space(&r), 6);
    /* Only what fits goes in; the write wraps past the end of the buffer. */
    assert_int_equal(ring_write(&r, "fghijkl", 7), 6);
    assert_int_equal(r.len, 8);
    assert_int_equal(ring_space(&r), 0);
    assert_int_equal(ring_write(&r, "z", 1), 0);
    char out[16];
    memset(out, 0, sizeof(out));
    assert_int_equal(ring_peek(&r, 0, out, sizeof(out)), 8);
    assert_memory_equal(out, "defghijk", 8);
    /* Consume across the wrap, write again, read back in order. */
    ring_consume(&r, 6);
    assert_int_equal(r.len, 2);
    assert_int_equal(ring_write(&r, "012345", 6), 6);
    assert_int_equal(ring_peek(&r, 0, out, 8), 8);
    assert_memory_equal(out, "jk012345", 8);
    /* Consuming more than there is empties it; head stays where it was. */
    size_t head = r.head;
    ring_consume(&r, 100);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.head, (head + 8) % 8);
    assert_int_equal(ring_peek(&r, 0, out, 8), 0);
    ring_fini(&r);
    assert_null(r.buf);
    assert_int_equal(r.cap, 0);
}

static void ring_peek_offsets(void **state)
{
    (void)state;
    struct ring r;
    ring_init(&r, 10, NULL);
    assert_int_equal(ring_write(&r, "0123456", 7), 7);
    ring_consume(&r, 5);                             /* head 5, contents "56" */
    assert_int_equal(ring_write(&r, "789ab", 5), 5); /* wraps: "56789ab" */
    char out[16];
    static const char want[] = "56789ab";
    for (size_t off = 0; off < 7; off++) {
        memset(out, 0, sizeof(out));
        assert_int_equal(ring_peek(&r, off, out, sizeof(out)), 7 - off);
        assert_memory_equal(out, want + off, 7 - off);
    }
    /* A peek shorter than what is left, starting across the wrap. */
    assert_int_equal(ring_peek(&r, 3, out, 2), 2);
    assert_memory_equal(out, "89", 2);
    assert_int_equal(ring_peek(&r, 4, out, 3), 3);
    assert_memory_equal(out, "9ab", 3);
    /* At or past the end: nothing. */
    assert_int_equal(ring_peek(&r, 7, out, 4), 0);
    assert_int_equal(ring_peek(&r, 1000, out, 4), 0);
    /* Peeking does not consume. */
    assert_int_equal(r.len, 7);
    ring_fini(&r);
}

static void ring_write_at_then_commit(void **state)
{
    (void)state;
    struct ring r;
    char out[32];
    ring_init(&r, 16, NULL);
    assert_int_equal(ring_write(&r, "ab", 2), 2);
    /* Out-of-order bytes 3 past the end of the contents: not visible yet. */
    assert_int_equal(ring_write_at(&r, 3, "fgh", 3), 3);
    assert_int_equal(r.len, 2);
    assert_int_equal(ring_peek(&r, 0, out, sizeof(out)), 2);
    /* The hole fills with an ordinary write; commit makes the rest visible. */
    assert_int_equal(ring_write(&r, "cde", 3), 3);
    ring_commit(&r, 3);
    assert_int_equal(r.len, 8);
    assert_int_equal(ring_peek(&r, 0, out, sizeof(out)), 8);
    assert_memory_equal(out, "abcdefgh", 8);
    /* write_at is bounded by the free space: 8 free, offset 6 leaves 2. */
    assert_int_equal(ring_write_at(&r, 6, "WXYZ", 4), 2);
    assert_int_equal(ring_write_at(&r, 8, "Q", 1), 0);
    assert_int_equal(ring_write_at(&r, 100, "Q", 1), 0);
    /* Commit is bounded by the free space too. */
    ring_commit(&r, 100);
    assert_int_equal(r.len, 16);
    assert_int_equal(ring_peek(&r, 14, out, 2), 2);
    assert_memory_equal(out, "WX", 2);
    ring_fini(&r);

    /* write_at that wraps around the end of the buffer. */
    ring_init(&r, 8, NULL);
    assert_int_equal(ring_write(&r, "012345", 6), 6);
    ring_consume(&r, 6);                                  /* empty, head 6 */
    assert_int_equal(ring_write_at(&r, 1, "BCDE", 4), 4); /* positions 7,0,1,2 */
    assert_int_equal(ring_write(&r, "A", 1), 1);          /* position 6 */
    ring_commit(&r, 4);
    assert_int_equal(ring_peek(&r, 0, out, sizeof(out)), 5);
    assert_memory_equal(out, "ABCDE", 5);
    ring_fini(&r);
}

static void ring_of_size_zero(void **state)
{
    (void)state;
    struct ring r;
    char out[4];
    ring_init(&r, 0, NULL);
    assert_int_equal(ring_space(&r), 0);
    assert_int_equal(ring_write(&r, "x", 1), 0);
    assert_int_equal(ring_write_at(&r, 0, "x", 1), 0);
    assert_int_equal(ring_peek(&r, 0, out, 4), 0);
    ring_consume(&r, 1);
    ring_commit(&r, 1);
    assert_int_equal(r.len, 0);
    ring_fini(&r);
}

/* ---------------- assembler ---------------- */

static void expect_ranges(const struct assembler *a, unsigned n, const uint32_t *se)
{
    assert_int_equal(a->n, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(a->r[i].start, se[2 * i]);
        assert_int_equal(a->r[i].end, se[2 * i + 1]);
    }
}

static void assembler_merges(void **state)
{
    (void)state;
    struct assembler a;
    asm_init(&a);
    assert_true(asm_empty(&a));
    assert_true(asm_add(&a, 10, 0)); /* nothing */
    assert_true(asm_empty(&a));
    assert_true(asm_add(&a, 20, 5));
    assert_true(asm_add(&a, 10, 5)); /* sorted on insertion */
    expect_ranges(&a, 2, (const uint32_t[]){10, 15, 20, 25});
    /* Adjacent on both sides: the three become one. */
    assert_true(asm_add(&a, 15, 5));
    expect_ranges(&a, 1, (const uint32_t[]){10, 25});
    /* Inside: no change. */
    assert_true(asm_add(&a, 12, 3));
    expect_ranges(&a, 1, (const uint32_t[]){10, 25});
    /* Overlapping the front and extending the back. */
    assert_true(asm_add(&a, 5, 30));
    expect_ranges(&a, 1, (const uint32_t[]){5, 35});
    /* Adjacent at the end only, then a separate one after. */
    assert_true(asm_add(&a, 35, 1));
    assert_true(asm_add(&a, 40, 2));
    expect_ranges(&a, 2, (const uint32_t[]){5, 36, 40, 42});
    /* One range covering several. */
    assert_true(asm_add(&a, 50, 2));
    assert_true(asm_add(&a, 60, 2));
    assert_true(asm_add(&a, 0, 100));
    expect_ranges(&a, 1, (const uint32_t[]){0, 100});
    assert_false(asm_empty(&a));
}

static void assembler_bounded(void **state)
{
    (void)state;
    struct assembler a;
    asm_init(&a);
    for (uint32_t i = 0; i < ASM_MAX_RANGES; i++)
        assert_true(asm_add(&a, 10 + 10 * i, 5));
    assert_int_equal(a.n, ASM_MAX_RANGES);
    /* One more separate range is refused and nothing changes. */
    const uint32_t beyond = 10 * (ASM_MAX_RANGES + 2);
    struct assembler before = a;
    assert_false(asm_add(&a, beyond, 5));
    assert_false(asm_add(&a, 0, 5));
    assert_false(asm_add(&a, 16, 2)); /* in a gap, touching nothing */
    assert_memory_equal(&a, &before, sizeof(a));
    /* Extending or merging existing ranges is still fine. */
    assert_true(asm_add(&a, 15, 5)); /* joins the first two */
    assert_int_equal(a.n, ASM_MAX_RANGES - 1);
    assert_int_equal(a.r[0].start, 10);
    assert_int_equal(a.r[0].end, 25);
    assert_true(asm_add(&a, beyond, 5)); /* room again */
    assert_int_equal(a.n, ASM_MAX_RANGES);
    /* overlaps the last-but-one original range: no new range */
    assert_true(asm_add(&a, 10 + 10 * (ASM_MAX_RANGES - 2) + 2, 3));
    assert_int_equal(a.n, ASM_MAX_RANGES);
}

static void assembler_take_front_and_advance(void **state)
{
    (void)state;
    struct assembler a;
    asm_init(&a);
    assert_int_equal(asm_take_front(&a), 0);
    assert_true(asm_add(&a, 10, 10));        /* [10,20) */
    assert_true(asm_add(&a, 30, 5));         /* [30,35) */
    assert_int_equal(asm_take_front(&a), 0); /* a hole at 0 */
    expect_ranges(&a, 2, (const uint32_t[]){10, 20, 30, 35});
    /* 10 in-order bytes arrive: the hole is filled, the first range is now
     * at the front. */
    asm_advance(&a, 10);
    expect_ranges(&a, 2, (const uint32_t[]){0, 10, 20, 25});
    assert_int_equal(asm_take_front(&a), 10);
    expect_ranges(&a, 1, (const uint32_t[]){10, 15});
    /* Advancing into a range clips it; past it drops it. */
    asm_advance(&a, 12);
    expect_ranges(&a, 1, (const uint32_t[]){0, 3});
    asm_advance(&a, 3);
    assert_true(asm_empty(&a));
    /* Several ranges, an advance that drops one and clips the next. */
    assert_true(asm_add(&a, 5, 5));   /* [5,10) */
    assert_true(asm_add(&a, 20, 10)); /* [20,30) */
    assert_true(asm_add(&a, 40, 1));  /* [40,41) */
    asm_advance(&a, 25);
    expect_ranges(&a, 2, (const uint32_t[]){0, 5, 15, 16});
    assert_int_equal(asm_take_front(&a), 5);
    expect_ranges(&a, 1, (const uint32_t[]){10, 11});
    asm_advance(&a, 0);
    expect_ranges(&a, 1, (const uint32_t[]){10, 11});
}

/* ---------------- SipHash-2-4 ---------------- */

static void siphash_reference_vectors(void **state)
{
    (void)state;
    /* The reference implementation's vectors (key 00..0f, message 00..n-1). */
    uint8_t key[16], msg[64];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    assert_true(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
    assert_true(siphash24(key, msg, 1) == 0x74f839c593dc67fdULL);
    assert_true(siphash24(key, msg, 7) == 0xab0200f58b01d137ULL);
    assert_true(siphash24(key, msg, 8) == 0x93f5f5799a932462ULL);
    assert_true(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
    assert_true(siphash24(key, msg, 16) == 0x3f2acc7f57c29bdbULL);
    assert_true(siphash24(key, msg, 63) == 0x958a324ceb064572ULL);
    /* A NULL pointer is fine for an empty message. */
    assert_true(siphash24(key, NULL, 0) == 0x726fdb47dd0e0e31ULL);
    /* Another key gives another value. */
    key[0] ^= 1;
    assert_true(siphash24(key, msg, 15) != 0xa129ca6149be45e5ULL);
}

/* ---------------- sequence numbers ---------------- */

static void seq_comparisons_wrap(void **state)
{
    (void)state;
    assert_true(seq_lt(1, 2));
    assert_false(seq_lt(2, 2));
    assert_true(seq_le(2, 2));
    assert_true(seq_ge(2, 2));
    assert_false(seq_gt(2, 2));
    /* Across 2^32: 0xffffffff comes just before 0. */
    assert_true(seq_lt(0xffffffffu, 0));
    assert_true(seq_le(0xffffffffu, 0));
    assert_false(seq_lt(0, 0xffffffffu));
    assert_true(seq_gt(0, 0xffffffffu));
    assert_true(seq_ge(0x10, 0xfffffff0u));
    assert_true(seq_gt(0x10, 0xfffffff0u));
    assert_false(seq_gt(0xfffffff0u, 0x10));
    /* Half the space ahead is "later"; beyond that it is "earlier". */
    assert_true(seq_lt(0, 0x7fffffffu));
    assert_false(seq_lt(0, 0x80000001u));
    assert_true(seq_gt(0, 0x80000001u));
    assert_true(seq_lt(0x80000000u, 0xfffffff0u));
    assert_true(seq_lt(0xfffffff0u, 0x70000000u));
    /* a <= x < b */
    assert_true(seq_in(5, 0xfffffff0u, 0x10));
    assert_true(seq_in(0xfffffff0u, 0xfffffff0u, 0x10));
    assert_true(seq_in(0xffffffffu, 0xfffffff0u, 0x10));
    assert_true(seq_in(0, 0xfffffff0u, 0x10));
    assert_false(seq_in(0x10, 0xfffffff0u, 0x10));
    assert_false(seq_in(0xffffffefu, 0xfffffff0u, 0x10));
    assert_false(seq_in(7, 7, 7)); /* empty interval */
    assert_int_equal(seq_max(0xfffffff0u, 0x10), 0x10);
    assert_int_equal(seq_min(0xfffffff0u, 0x10), 0xfffffff0u);
    assert_int_equal(seq_max(3, 9), 9);
    assert_int_equal(seq_min(3, 9), 3);
}

/* ---------------- TCP wire format ---------------- */

#define IP_A UST_IP4(192, 0, 2, 1)
#define IP_B UST_IP4(192, 0, 2, 2)

/* A Linux-style SYN 192.0.2.1:49152 -> 192.0.2.2:80, seq 0x01020304, window
 * 64240, options MSS 1460, SACK-permitted, timestamps (0xabcd, 0), NOP,
 * window scale 7. Checksum computed independently (Python): 0x58e7. */
/* clang-format off */
static const uint8_t syn_vec[40] = {
    0xc0, 0x00, 0x00, 0x50,                         /* ports */
    0x01, 0x02, 0x03, 0x04,                         /* seq */
    0x00, 0x00, 0x00, 0x00,                         /* ack */
    0xa0, 0x02, 0xfa, 0xf0,                         /* doff 10, SYN, window */
    0x58, 0xe7, 0x00, 0x00,                         /* checksum, urgent */
    0x02, 0x04, 0x05, 0xb4,                         /* MSS 1460 */
    0x04, 0x02,                                     /* SACK permitted */
    0x08, 0x0a, 0x00, 0x00, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x00, /* TS */
    0x01,                                           /* NOP */
    0x03, 0x03, 0x07};                              /* WS 7 */

/* 192.0.2.2:80 -> 192.0.2.1:49152, seq 0xdeadbeef, ack 0x01020305, ACK|PSH,
 * window 65535, "hello". Checksum 0x85fc. */
static const uint8_t data_vec[25] = {
    0x00, 0x50, 0xc0, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x05, 0x50,
    0x18, 0xff, 0xff, 0x85, 0xfc, 0x00, 0x00, 'h',  'e',  'l',  'l',  'o'};

/* The SYN-ACK answer with MSS 1460, seq 0x10000000. Checksum 0x3fbb. */
static const uint8_t synack_vec[24] = {
    0x00, 0x50, 0xc0, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x05,
    0x60, 0x12, 0xff, 0xff, 0x3f, 0xbb, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4};
/* clang-format on */

static void tcp_parse_known_syn(void **state)
{
    (void)state;
    struct tcp_repr r;
    assert_int_equal(tcp_parse(syn_vec, sizeof(syn_vec),
                               ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_OK);
    assert_int_equal(r.sport, 49152);
    assert_int_equal(r.dport, 80);
    assert_int_equal(r.seq, 0x01020304);
    assert_int_equal(r.ack, 0);
    assert_int_equal(r.flags, TCP_SYN);
    assert_int_equal(r.hdr_len, 40);
    assert_int_equal(r.window, 64240);
    assert_int_equal(r.urgent, 0);
    assert_int_equal(r.mss, 1460);
    assert_int_equal(r.wscale, 7);
    assert_true(r.sack_perm);
    assert_true(r.has_ts);
    assert_int_equal(r.tsval, 0xabcd);
    assert_int_equal(r.tsecr, 0);
    /* The checksum covers the pseudo-header: other addresses fail. */
    assert_int_equal(tcp_parse(syn_vec, sizeof(syn_vec),
                               ipv4_pseudo_sum(IP_A, IP_A, IPV4_PROTO_TCP, 0), &r),
                     WIRE_ECSUM);
    assert_int_equal(tcp_parse(syn_vec, sizeof(syn_vec),
                               ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), &r),
                     WIRE_OK);
}

static void tcp_emit_known_vectors(void **state)
{
    (void)state;
    uint8_t out[64];
    /* A data segment, no options. */
    struct tcp_repr d = {.sport = 80,
                         .dport = 49152,
                         .seq = 0xdeadbeef,
                         .ack = 0x01020305,
                         .flags = TCP_ACK | TCP_PSH,
                         .window = 65535};
    assert_int_equal(tcp_hdr_len(&d), 20);
    memset(out, 0xee, sizeof(out));
    memcpy(out + 20, "hello", 5);
    tcp_emit(&d, ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), out, 5);
    assert_memory_equal(out, data_vec, sizeof(data_vec));
    assert_int_equal(out[25], 0xee); /* nothing written past the segment */
    /* A SYN-ACK with MSS. */
    struct tcp_repr s = {.sport = 80,
                         .dport = 49152,
                         .seq = 0x10000000,
                         .ack = 0x01020305,
                         .flags = TCP_SYN | TCP_ACK,
                         .window = 65535,
                         .mss = 1460};
    assert_int_equal(tcp_hdr_len(&s), 24);
    memset(out, 0xee, sizeof(out));
    tcp_emit(&s, ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), out, 0);
    assert_memory_equal(out, synack_vec, sizeof(synack_vec));
    assert_int_equal(out[24], 0xee);
}

static void tcp_round_trip(void **state)
{
    (void)state;
    struct tcp_repr r;
    assert_int_equal(tcp_parse(data_vec, sizeof(data_vec),
                               ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), &r),
                     WIRE_OK);
    assert_int_equal(r.sport, 80);
    assert_int_equal(r.dport, 49152);
    assert_int_equal(r.seq, 0xdeadbeef);
    assert_int_equal(r.ack, 0x01020305);
    assert_int_equal(r.flags, TCP_ACK | TCP_PSH);
    assert_int_equal(r.hdr_len, 20);
    assert_int_equal(r.window, 65535);
    assert_int_equal(r.mss, 0);
    assert_int_equal(r.wscale, -1);
    assert_false(r.sack_perm);
    assert_false(r.has_ts);
    uint8_t out[64];
    memcpy(out + 20, "hello", 5);
    tcp_emit(&r, ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), out, 5);
    assert_memory_equal(out, data_vec, sizeof(data_vec));

    assert_int_equal(tcp_parse(synack_vec, sizeof(synack_vec),
                               ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), &r),
                     WIRE_OK);
    assert_int_equal(r.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(r.mss, 1460);
    assert_int_equal(r.hdr_len, 24);
    tcp_emit(&r, ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), out, 0);
    assert_memory_equal(out, synack_vec, sizeof(synack_vec));

    /* Every field at odd values survives emit then parse. */
    struct tcp_repr w = {.sport = 0xfedc,
                         .dport = 1,
                         .seq = 0xffffffff,
                         .ack = 0x80000001,
                         .flags = 0xff,
                         .window = 0x1234,
                         .urgent = 0xbeef,
                         .mss = 0xffff};
    uint8_t buf[40];
    memset(buf, 0x5a, sizeof(buf));
    tcp_emit(&w, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), buf, 16);
    assert_int_equal(tcp_parse(buf, 24 + 16, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_OK);
    assert_int_equal(r.sport, 0xfedc);
    assert_int_equal(r.dport, 1);
    assert_int_equal(r.seq, 0xffffffff);
    assert_int_equal(r.ack, 0x80000001);
    assert_int_equal(r.flags, 0xff);
    assert_int_equal(r.window, 0x1234);
    assert_int_equal(r.urgent, 0xbeef);
    assert_int_equal(r.mss, 0xffff);
    assert_int_equal(r.hdr_len, 24);
}

/* Builds a segment with the given options (padded to 4 bytes by the caller)
 * and a correct checksum; returns its length. */
static size_t seg_with_options(uint8_t *buf, const uint8_t *opts, size_t optlen, size_t doff_words,
                               size_t payload)
{
    size_t hl = 20 + optlen;
    memset(buf, 0, hl + payload);
    st16(buf, 1000);
    st16(buf + 2, 2000);
    st32(buf + 4, 7);
    buf[12] = (uint8_t)(doff_words << 4);
    buf[13] = TCP_ACK;
    st16(buf + 14, 100);
    if (optlen)
        memcpy(buf + 20, opts, optlen);
    for (size_t i = 0; i < payload; i++)
        buf[hl + i] = (uint8_t)i;
    size_t len = hl + payload;
    st16(buf + 16, cksum_fold(cksum_add(ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, (uint16_t)len),
                                        buf, len)));
    return len;
}

static void tcp_options(void **state)
{
    (void)state;
    uint8_t b[80];
    struct tcp_repr r;
    size_t n;

    /* NOPs, an unknown option (kind 99, 4 bytes) skipped, then MSS. */
    const uint8_t o1[] = {1, 1, 99, 4, 0xaa, 0xbb, 2, 4, 0x02, 0x18, 1, 1};
    n = seg_with_options(b, o1, sizeof(o1), 8, 3);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r), WIRE_OK);
    assert_int_equal(r.mss, 536);
    assert_int_equal(r.hdr_len, 32);

    /* EOL ends the list: what follows (here an impossible option) is padding. */
    const uint8_t o2[] = {2, 4, 0x05, 0xb4, 0, 2, 40, 0};
    n = seg_with_options(b, o2, sizeof(o2), 7, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r), WIRE_OK);
    assert_int_equal(r.mss, 1460);
    assert_int_equal(r.wscale, -1);

    /* Window scale above 14 is taken as 14 (RFC 7323 2.3); SACK-permitted;
     * timestamps. */
    const uint8_t o3[] = {3, 3, 15, 4, 2, 8, 10, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe, 1};
    n = seg_with_options(b, o3, sizeof(o3), 9, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r), WIRE_OK);
    assert_int_equal(r.wscale, 14);
    assert_true(r.sack_perm);
    assert_true(r.has_ts);
    assert_int_equal(r.tsval, 1);
    assert_int_equal(r.tsecr, 0xfffffffe);
    assert_int_equal(r.mss, 0);

    /* Known options with the wrong length are skipped, not believed. */
    const uint8_t o4[] = {2, 3, 0x05, 3, 2, 4, 3, 0, 1, 1, 1, 1};
    n = seg_with_options(b, o4, sizeof(o4), 8, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r), WIRE_OK);
    assert_int_equal(r.mss, 0);
    assert_int_equal(r.wscale, -1);
    assert_false(r.sack_perm);

    /* An option running past the end of the header. */
    const uint8_t o5[] = {1, 2, 8, 0x05};          /* MSS claiming 8 bytes in 3 */
    n = seg_with_options(b, o5, sizeof(o5), 6, 8); /* payload bytes follow, not options */
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_EHDRLEN);
    /* A kind byte with no room for its length. */
    const uint8_t o6[] = {1, 1, 1, 2};
    n = seg_with_options(b, o6, sizeof(o6), 6, 4);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_EHDRLEN);
    /* Lengths 0 and 1 are impossible (they would loop or go backwards). */
    const uint8_t o7[] = {99, 0, 1, 1};
    n = seg_with_options(b, o7, sizeof(o7), 6, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_EHDRLEN);
    const uint8_t o8[] = {99, 1, 1, 1};
    n = seg_with_options(b, o8, sizeof(o8), 6, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_EHDRLEN);
    /* Exactly filling the header is fine. */
    const uint8_t o9[] = {99, 4, 1, 2};
    n = seg_with_options(b, o9, sizeof(o9), 6, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r), WIRE_OK);
}

static void tcp_header_length_checks(void **state)
{
    (void)state;
    uint8_t b[80];
    struct tcp_repr r;
    size_t n;
    /* Shorter than a header. */
    n = seg_with_options(b, NULL, 0, 5, 0);
    for (size_t len = 0; len < TCP_HDR_LEN; len++)
        assert_int_equal(tcp_parse(b, len, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                         WIRE_ETRUNC);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r), WIRE_OK);
    /* Data offset below 5 (checksum correct, so only the offset is wrong). */
    for (size_t doff = 0; doff < 5; doff++) {
        n = seg_with_options(b, NULL, 0, doff, 12);
        assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                         WIRE_EHDRLEN);
    }
    /* Data offset beyond the segment. */
    n = seg_with_options(b, NULL, 0, 6, 3); /* 24-byte header in 23 bytes */
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_EHDRLEN);
    n = seg_with_options(b, NULL, 0, 15, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r),
                     WIRE_EHDRLEN);
    /* Data offset 15 with 40 bytes of NOPs present: fine. */
    uint8_t nops[40];
    memset(nops, 1, sizeof(nops));
    n = seg_with_options(b, nops, sizeof(nops), 15, 0);
    assert_int_equal(tcp_parse(b, n, ipv4_pseudo_sum(IP_A, IP_B, IPV4_PROTO_TCP, 0), &r), WIRE_OK);
    assert_int_equal(r.hdr_len, 60);
}

static void tcp_checksum_failure(void **state)
{
    (void)state;
    uint8_t b[sizeof(data_vec)];
    struct tcp_repr r;
    /* Flip each bit of the segment in turn: every one is caught. */
    for (size_t i = 0; i < sizeof(b) * 8; i++) {
        memcpy(b, data_vec, sizeof(b));
        b[i / 8] ^= (uint8_t)(1u << (i % 8));
        int e = tcp_parse(b, sizeof(b), ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), &r);
        if (i / 8 == 12 && (i % 8) >= 4)
            assert_true(e == WIRE_EHDRLEN || e == WIRE_ECSUM); /* data offset bits */
        else
            assert_int_equal(e, WIRE_ECSUM);
    }
    /* A wrong length (the pseudo-header counts it) fails too. */
    memcpy(b, data_vec, sizeof(b));
    assert_int_equal(tcp_parse(b, sizeof(b) - 1, ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0),
                               &r),
                     WIRE_ECSUM);
    assert_int_equal(tcp_parse(data_vec, sizeof(data_vec),
                               ipv4_pseudo_sum(IP_B, IP_A, IPV4_PROTO_TCP, 0), &r),
                     WIRE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_wraps_around),
        cmocka_unit_test(ring_grows),
        cmocka_unit_test(ring_memory_follows_data),
        cmocka_unit_test(ring_budget_bounds_all),
        cmocka_unit_test(ring_budget_keeps_large_buffers),
        cmocka_unit_test(ring_peek_offsets),
        cmocka_unit_test(ring_write_at_then_commit),
        cmocka_unit_test(ring_of_size_zero),
        cmocka_unit_test(assembler_merges),
        cmocka_unit_test(assembler_bounded),
        cmocka_unit_test(assembler_take_front_and_advance),
        cmocka_unit_test(siphash_reference_vectors),
        cmocka_unit_test(seq_comparisons_wrap),
        cmocka_unit_test(tcp_parse_known_syn),
        cmocka_unit_test(tcp_emit_known_vectors),
        cmocka_unit_test(tcp_round_trip),
        cmocka_unit_test(tcp_options),
        cmocka_unit_test(tcp_header_length_checks),
        cmocka_unit_test(tcp_checksum_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
