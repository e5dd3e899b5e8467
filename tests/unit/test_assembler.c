/* The out-of-order assembler (src/core/assembler.c): every kind of add
 * against what is kept (disjoint, touching, overlapping, contained,
 * containing, bridging), the range limit, taking the front, advancing,
 * large offsets, and a long random run against a bitmap that records the
 * same bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/assembler.h"

/* Checks the ranges kept (want: start, end, start, end, ...) and the
 * invariants every state must hold. line: the caller's. */
static void check_(const struct assembler *a, int line, const uint32_t *want, unsigned nwant)
{
    if (nwant % 2)
        fail_msg("line %d: odd number of bounds", line);
    if (a->n > ASM_MAX_RANGES)
        fail_msg("line %d: %u ranges, more than %d", line, a->n, ASM_MAX_RANGES);
    for (unsigned i = 0; i < a->n; i++) {
        if (a->r[i].start >= a->r[i].end)
            fail_msg("line %d: range %u is [%u, %u)", line, i, a->r[i].start, a->r[i].end);
        if (i > 0 && a->r[i - 1].end >= a->r[i].start)
            fail_msg("line %d: ranges %u and %u overlap or touch: [%u, %u) [%u, %u)", line, i - 1,
                     i, a->r[i - 1].start, a->r[i - 1].end, a->r[i].start, a->r[i].end);
    }
    bool same = a->n == nwant / 2;
    for (unsigned i = 0; same && i < a->n; i++)
        same = a->r[i].start == want[2 * i] && a->r[i].end == want[2 * i + 1];
    if (!same) {
        char got[512] = "", exp[512] = "";
        size_t k = 0;
        for (unsigned i = 0; i < a->n && k < sizeof(got) - 32; i++)
            k += (size_t)snprintf(got + k, sizeof(got) - k, " [%u, %u)", a->r[i].start,
                                  a->r[i].end);
        k = 0;
        for (unsigned i = 0; i + 1 < nwant && k < sizeof(exp) - 32; i += 2)
            k += (size_t)snprintf(exp + k, sizeof(exp) - k, " [%u, %u)", want[i], want[i + 1]);
        fail_msg("line %d: ranges%s, want%s", line, got, exp);
    }
    assert_int_equal(asm_empty(a), a->n == 0);
}

#define RANGES(a, ...)                                                                             \
    check_((a), __LINE__, (const uint32_t[]){__VA_ARGS__},                                         \
           (unsigned)(sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t)))
#define EMPTY(a) check_((a), __LINE__, NULL, 0)

/* An assembler holding [10, 20), [30, 40), [50, 60). */
static void three(struct assembler *a)
{
    asm_init(a);
    assert_true(asm_add(a, 30, 10));
    assert_true(asm_add(a, 50, 10));
    assert_true(asm_add(a, 10, 10));
    RANGES(a, 10, 20, 30, 40, 50, 60);
}

static void starts_empty(void **state)
{
    (void)state;
    struct assembler a;
    memset(&a, 0x5a, sizeof(a)); /* whatever was there */
    asm_init(&a);
    EMPTY(&a);
    assert_true(asm_empty(&a));
    assert_int_equal(asm_take_front(&a), 0);
    asm_advance(&a, 0);
    asm_advance(&a, 1000);
    EMPTY(&a);
    /* Nothing added by an empty add, anywhere. */
    assert_true(asm_add(&a, 0, 0));
    assert_true(asm_add(&a, 12345, 0));
    EMPTY(&a);
    assert_int_equal(asm_take_front(&a), 0);
}

static void disjoint_adds_are_kept_sorted(void **state)
{
    (void)state;
    struct assembler a;
    asm_init(&a);
    assert_true(asm_add(&a, 100, 10)); /* the first */
    RANGES(&a, 100, 110);
    assert_true(asm_add(&a, 200, 5)); /* after every range */
    RANGES(&a, 100, 110, 200, 205);
    assert_true(asm_add(&a, 50, 1)); /* before every range */
    RANGES(&a, 50, 51, 100, 110, 200, 205);
    assert_true(asm_add(&a, 150, 20)); /* between two */
    RANGES(&a, 50, 51, 100, 110, 150, 170, 200, 205);
    assert_true(asm_add(&a, 52, 47)); /* a one-byte gap either side */
    RANGES(&a, 50, 51, 52, 99, 100, 110, 150, 170, 200, 205);
    assert_int_equal(asm_take_front(&a), 0); /* a hole at 0 */
    RANGES(&a, 50, 51, 52, 99, 100, 110, 150, 170, 200, 205);
}

/* A range that ends where another starts, or starts where one ends, is
 * one range with it: no gap is left to report. */
static void touching_adds_merge(void **state)
{
    (void)state;
    struct assembler a;
    three(&a);
    assert_true(asm_add(&a, 5, 5)); /* ends at the first's start */
    RANGES(&a, 5, 20, 30, 40, 50, 60);
    assert_true(asm_add(&a, 40, 3)); /* starts at the second's end */
    RANGES(&a, 5, 20, 30, 43, 50, 60);
    assert_true(asm_add(&a, 60, 1)); /* at the very end */
    RANGES(&a, 5, 20, 30, 43, 50, 61);
    assert_true(asm_add(&a, 43, 7)); /* exactly the gap: both sides */
    RANGES(&a, 5, 20, 30, 61);
    assert_true(asm_add(&a, 20, 10)); /* the last gap */
    RANGES(&a, 5, 61);
}

static void overlapping_adds_merge(void **state)
{
    (void)state;
    struct assembler a;
    three(&a);
    assert_true(asm_add(&a, 25, 10)); /* over the second's start */
    RANGES(&a, 10, 20, 25, 40, 50, 60);
    assert_true(asm_add(&a, 55, 10)); /* over the third's end */
    RANGES(&a, 10, 20, 25, 40, 50, 65);
    assert_true(asm_add(&a, 9, 2)); /* one byte either side of the first's start */
    RANGES(&a, 9, 20, 25, 40, 50, 65);
    assert_true(asm_add(&a, 39, 2)); /* one byte either side of the second's end */
    RANGES(&a, 9, 20, 25, 41, 50, 65);
}

static void contained_adds_change_nothing(void **state)
{
    (void)state;
    struct assembler a, before;
    three(&a);
    before = a;
    assert_true(asm_add(&a, 30, 10)); /* exactly a range */
    assert_true(asm_add(&a, 30, 1));  /* its first byte */
    assert_true(asm_add(&a, 39, 1));  /* its last byte */
    assert_true(asm_add(&a, 12, 5));  /* inside */
    assert_true(asm_add(&a, 50, 9));  /* sharing the start */
    assert_true(asm_add(&a, 51, 9));  /* sharing the end */
    RANGES(&a, 10, 20, 30, 40, 50, 60);
    assert_memory_equal(&a.r, &before.r, sizeof(a.r[0]) * a.n);
}

static void containing_adds_grow(void **state)
{
    (void)state;
    struct assembler a;
    three(&a);
    assert_true(asm_add(&a, 28, 14)); /* over the second, a byte beyond each side */
    RANGES(&a, 10, 20, 28, 42, 50, 60);
    assert_true(asm_add(&a, 50, 11)); /* sharing its start, beyond its end */
    RANGES(&a, 10, 20, 28, 42, 50, 61);
    assert_true(asm_add(&a, 7, 13)); /* beyond its start, sharing its end */
    RANGES(&a, 7, 20, 28, 42, 50, 61);
}

/* One add across several ranges and the gaps between them. */
static void bridging_adds_join_ranges(void **state)
{
    (void)state;
    struct assembler a;
    three(&a);
    assert_true(asm_add(&a, 15, 20)); /* from inside the first to inside the second */
    RANGES(&a, 10, 40, 50, 60);
    three(&a);
    assert_true(asm_add(&a, 20, 30)); /* from the first's end to the third's start: all three */
    RANGES(&a, 10, 60);
    three(&a);
    assert_true(asm_add(&a, 0, 100)); /* over all of them */
    RANGES(&a, 0, 100);
    three(&a);
    assert_true(asm_add(&a, 19, 32)); /* a byte into the first and into the third */
    RANGES(&a, 10, 60);
    three(&a);
    assert_true(asm_add(&a, 21, 28)); /* the middle one and a byte short of each neighbour */
    RANGES(&a, 10, 20, 21, 49, 50, 60);
    /* Many at once: a range between each of 20, then one over them all
     * but the last. */
    asm_init(&a);
    for (uint32_t i = 0; i < 20; i++)
        assert_true(asm_add(&a, 1000 + 10 * i, 5));
    assert_int_equal(a.n, 20);
    assert_true(asm_add(&a, 1003, 180));
    RANGES(&a, 1000, 1185, 1190, 1195);
}

/* Data at the next expected byte (offset 0): a range at the front, which
 * take_front hands over. */
static void at_offset_zero(void **state)
{
    (void)state;
    struct assembler a;
    asm_init(&a);
    assert_true(asm_add(&a, 0, 1));
    RANGES(&a, 0, 1);
    assert_int_equal(asm_take_front(&a), 1);
    EMPTY(&a);
    three(&a);
    assert_true(asm_add(&a, 0, 5)); /* before the first, not touching */
    RANGES(&a, 0, 5, 10, 20, 30, 40, 50, 60);
    assert_true(asm_add(&a, 0, 12)); /* again, longer: joins the first */
    RANGES(&a, 0, 20, 30, 40, 50, 60);
}

/* take_front hands over the range at 0 and re-bases the rest on the byte
 * after it. */
static void take_front(void **state)
{
    (void)state;
    struct assembler a;
    three(&a);
    assert_int_equal(asm_take_front(&a), 0); /* [0, 10) is missing */
    RANGES(&a, 10, 20, 30, 40, 50, 60);
    assert_true(asm_add(&a, 0, 10)); /* the hole fills: one range [0, 20) */
    RANGES(&a, 0, 20, 30, 40, 50, 60);
    assert_int_equal(asm_take_front(&a), 20);
    RANGES(&a, 10, 20, 30, 40);              /* 20 bytes nearer */
    assert_int_equal(asm_take_front(&a), 0); /* nothing at 0 now */
    assert_true(asm_add(&a, 0, 10));
    assert_true(asm_add(&a, 20, 10));
    RANGES(&a, 0, 40);
    assert_int_equal(asm_take_front(&a), 40); /* the last */
    EMPTY(&a);
    assert_int_equal(asm_take_front(&a), 0);
}

/* advance: n in-order bytes arrived that were not recorded here. */
static void advance(void **state)
{
    (void)state;
    struct assembler a;
    three(&a);
    asm_advance(&a, 0);
    RANGES(&a, 10, 20, 30, 40, 50, 60);
    asm_advance(&a, 4); /* short of the first */
    RANGES(&a, 6, 16, 26, 36, 46, 56);
    asm_advance(&a, 6); /* up to the first's start: it is at the front */
    RANGES(&a, 0, 10, 20, 30, 40, 50);
    asm_advance(&a, 3); /* into it: what arrived twice is clipped */
    RANGES(&a, 0, 7, 17, 27, 37, 47);
    asm_advance(&a, 7); /* exactly to its end: gone */
    RANGES(&a, 10, 20, 30, 40);
    asm_advance(&a, 35); /* over the first and into the second */
    RANGES(&a, 0, 5);
    asm_advance(&a, 1000); /* past everything */
    EMPTY(&a);
    /* Then take_front finds what advance moved to the front. */
    three(&a);
    asm_advance(&a, 15);
    assert_int_equal(asm_take_front(&a), 5);
    RANGES(&a, 10, 20, 30, 40);
}

/* At most ASM_MAX_RANGES separate ranges; an add that needs one more is
 * refused and changes nothing, anything that merges is still taken. */
static void full(void **state)
{
    (void)state;
    struct assembler a;
    asm_init(&a);
    /* [100, 101), [104, 105), ...: one byte, then a three-byte gap. */
    for (uint32_t i = 0; i < ASM_MAX_RANGES; i++) {
        assert_true(asm_add(&a, 100 + 4 * i, 1));
        assert_int_equal(a.n, i + 1);
    }
    const uint32_t last = 100 + 4 * (ASM_MAX_RANGES - 1); /* the last range's start */
    struct assembler before = a;
    /* Refused: before everything (at 0 and not), in a gap touching
     * neither side, after everything. */
    assert_false(asm_add(&a, 0, 1));
    assert_false(asm_add(&a, 0, 99));
    assert_false(asm_add(&a, 50, 10));
    assert_false(asm_add(&a, 102, 1));
    assert_false(asm_add(&a, last + 2, 1));
    assert_false(asm_add(&a, last + 1000, 5));
    assert_false(asm_add(&a, UINT32_MAX - 1, 1));
    assert_memory_equal(&a, &before, sizeof(a));
    assert_int_equal(asm_take_front(&a), 0);

    /* Taken while full, as nothing new is needed: inside a range,
     * touching one (the count stays), bridging two (one fewer). */
    assert_true(asm_add(&a, 100, 1));
    assert_true(asm_add(&a, 99, 1));       /* touches the first: [99, 101) */
    assert_true(asm_add(&a, last + 1, 3)); /* touches the last */
    assert_true(asm_add(&a, 103, 1));      /* touches the second only: [103, 105) */
    assert_int_equal(a.n, ASM_MAX_RANGES);
    assert_int_equal(a.r[0].start, 99);
    assert_int_equal(a.r[1].start, 103);
    assert_int_equal(a.r[ASM_MAX_RANGES - 1].end, last + 4);
    assert_true(asm_add(&a, 101, 2)); /* fills the gap between the first two */
    assert_int_equal(a.n, ASM_MAX_RANGES - 1);
    assert_int_equal(a.r[0].start, 99);
    assert_int_equal(a.r[0].end, 105);
    /* Room again for exactly one. */
    assert_true(asm_add(&a, 10, 1));
    assert_int_equal(a.n, ASM_MAX_RANGES);
    assert_false(asm_add(&a, 20, 1));
    /* The front is taken: room again. */
    assert_true(asm_add(&a, 0, 10));
    assert_int_equal(asm_take_front(&a), 11);
    assert_int_equal(a.n, ASM_MAX_RANGES - 1);
    assert_true(asm_add(&a, 5000, 1));
    assert_int_equal(a.n, ASM_MAX_RANGES);
    assert_false(asm_add(&a, 6000, 1));
    /* Advancing past a range frees its place too. */
    asm_advance(&a, a.r[1].start);
    assert_int_equal(a.n, ASM_MAX_RANGES - 1);
    assert_int_equal(a.r[0].start, 0);
    assert_true(asm_add(&a, 7000, 1));
    assert_int_equal(a.n, ASM_MAX_RANGES);
    assert_int_equal(a.r[a.n - 1].start, 7000);
    assert_false(asm_add(&a, 8000, 1));
}

/* Offsets are plain integers up to UINT32_MAX: no sequence-number wrap. */
static void large_offsets(void **state)
{
    (void)state;
    struct assembler a;
    asm_init(&a);
    assert_true(asm_add(&a, 0x80000000u, 100));   /* past 2^31: not "negative" */
    assert_true(asm_add(&a, 0x7fffff00u, 0x100)); /* touches it from below */
    RANGES(&a, 0x7fffff00u, 0x80000064u);
    assert_true(asm_add(&a, UINT32_MAX - 10, 10)); /* ends at UINT32_MAX */
    assert_true(asm_add(&a, 5, 1));
    RANGES(&a, 5, 6, 0x7fffff00u, 0x80000064u, UINT32_MAX - 10, UINT32_MAX);
    assert_true(asm_add(&a, 0x90000000u, 0x6ffffff5u)); /* up to the last one, touching */
    RANGES(&a, 5, 6, 0x7fffff00u, 0x80000064u, 0x90000000u, UINT32_MAX);
    asm_advance(&a, 0x80000000u);
    RANGES(&a, 0, 0x64, 0x10000000u, 0x7fffffffu);
    assert_int_equal(asm_take_front(&a), 0x64);
    RANGES(&a, 0x10000000u - 0x64, 0x7fffffffu - 0x64);
    /* A range as long as 2^31 and more, taken whole. */
    asm_init(&a);
    assert_true(asm_add(&a, 1, 0xfffffff0u));
    assert_true(asm_add(&a, 0, 1));
    assert_int_equal(asm_take_front(&a), 0xfffffff1u);
    EMPTY(&a);
}

/* ---------------- against a bitmap ---------------- */

#define SPACE 2048 /* offsets the random run uses */

struct model {
    bool have[SPACE];
};

static uint64_t rnd(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned model_runs(const struct model *m)
{
    unsigned n = 0;
    for (size_t i = 0; i < SPACE; i++)
        if (m->have[i] && (i == 0 || !m->have[i - 1]))
            n++;
    return n;
}

static void model_shift(struct model *m, uint32_t n)
{
    if (n >= SPACE) {
        memset(m->have, 0, sizeof(m->have));
        return;
    }
    memmove(m->have, m->have + n, SPACE - n);
    memset(m->have + SPACE - n, 0, n);
}

/* The assembler and the model hold the same bytes. */
static void same_as(const struct assembler *a, const struct model *m, unsigned step)
{
    struct model got;
    memset(&got, 0, sizeof(got));
    for (unsigned i = 0; i < a->n; i++) {
        if (a->r[i].start >= a->r[i].end || a->r[i].end > SPACE ||
            (i > 0 && a->r[i - 1].end >= a->r[i].start))
            fail_msg("step %u: bad range %u [%u, %u)", step, i, a->r[i].start, a->r[i].end);
        memset(got.have + a->r[i].start, 1, a->r[i].end - a->r[i].start);
    }
    if (memcmp(got.have, m->have, SPACE) != 0) {
        size_t k = 0;
        while (got.have[k] == m->have[k])
            k++;
        fail_msg("step %u: byte %zu is %s in the assembler, %s in the model", step, k,
                 got.have[k] ? "held" : "missing", m->have[k] ? "held" : "missing");
    }
    assert_int_equal(a->n, model_runs(m));
}

/* Random adds (mostly short, some long), take_front and advance, with a
 * fixed seed, checked against the bitmap after every step; the add is
 * refused exactly when the bitmap would have more than ASM_MAX_RANGES
 * runs. */
static void random_against_bitmap(void **state)
{
    (void)state;
    uint64_t x = 20240601;
    struct assembler a;
    struct model m;
    asm_init(&a);
    memset(&m, 0, sizeof(m));
    unsigned refused = 0, taken = 0, max_n = 0;
    for (unsigned step = 0; step < 30000; step++) {
        uint64_t r = rnd(&x);
        unsigned op = (unsigned)(r % 100);
        /* Phases of 1000 steps: short adds that pile up ranges to the
         * limit, then long ones that merge them. */
        bool piling = (step / 1000) % 2 == 0;
        if (op < 90) {
            uint32_t len = piling              ? 1 + (uint32_t)((r >> 12) % 3)
                           : (r >> 8) % 4 == 0 ? (uint32_t)((r >> 12) % 300)
                                               : (uint32_t)((r >> 12) % 6);
            uint32_t off = (uint32_t)((r >> 24) % (SPACE - 300));
            struct model next = m;
            memset(next.have + off, 1, len);
            bool fits = model_runs(&next) <= ASM_MAX_RANGES;
            struct assembler before = a;
            bool ok = asm_add(&a, off, len);
            if (ok != fits)
                fail_msg("step %u: add [%u, %u) with %u ranges returned %d", step, off, off + len,
                         before.n, ok);
            if (ok)
                m = next;
            else {
                refused++;
                assert_memory_equal(&a, &before, sizeof(a));
            }
        } else if (op < 94) {
            uint32_t want = 0;
            while (want < SPACE && m.have[want])
                want++;
            assert_int_equal(asm_take_front(&a), want);
            model_shift(&m, want);
            taken += want;
        } else {
            uint32_t n = (r >> 8) % 3 == 0 ? (uint32_t)((r >> 16) % 64) : (uint32_t)((r >> 16) % 8);
            asm_advance(&a, n);
            model_shift(&m, n);
        }
        if (a.n > max_n)
            max_n = a.n;
        same_as(&a, &m, step);
    }
    /* The run went where it should: to the limit and past it, and to the
     * front many times. */
    assert_int_equal(max_n, ASM_MAX_RANGES);
    assert_true(refused > 1000);
    assert_true(taken > 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_empty),
        cmocka_unit_test(disjoint_adds_are_kept_sorted),
        cmocka_unit_test(touching_adds_merge),
        cmocka_unit_test(overlapping_adds_merge),
        cmocka_unit_test(contained_adds_change_nothing),
        cmocka_unit_test(containing_adds_grow),
        cmocka_unit_test(bridging_adds_join_ranges),
        cmocka_unit_test(at_offset_zero),
        cmocka_unit_test(take_front),
        cmocka_unit_test(advance),
        cmocka_unit_test(full),
        cmocka_unit_test(large_offsets),
        cmocka_unit_test(random_against_bitmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
