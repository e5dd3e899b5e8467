/* Pieces of the TCP services' loop (apps/svcloop.c): the table of
 * connections per client address (growth, shrinking, deletion from a
 * linear-probing table checked against a plain array), the log rate
 * limiter on a virtual clock, and the wait until a deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>

#include "svcloop.h"

static void counts_per_address(void **state)
{
    (void)state;
    struct addr_count t = {0};
    ust_ip4_t a = UST_IP4(192, 0, 2, 1), b = UST_IP4(192, 0, 2, 2);
    assert_int_equal(addr_count_get(&t, a), 0);
    assert_int_equal(addr_count_inc(&t, a), 1);
    assert_int_equal(addr_count_inc(&t, a), 2);
    assert_int_equal(addr_count_inc(&t, b), 1);
    assert_int_equal(addr_count_get(&t, a), 2);
    assert_int_equal(addr_count_get(&t, b), 1);
    addr_count_dec(&t, a);
    assert_int_equal(addr_count_get(&t, a), 1);
    addr_count_dec(&t, b);
    assert_int_equal(addr_count_get(&t, b), 0);
    addr_count_dec(&t, b); /* not there: nothing happens */
    addr_count_dec(&t, a);
    assert_int_equal(addr_count_get(&t, a), 0);
    assert_int_equal(t.used, 0);
    assert_int_equal(t.cap, 0); /* the last address gone: the table too */
    addr_count_free(&t);
}

/* Many addresses, counted and uncounted in a shuffled order, against a
 * plain array: every count stays right through growth, deletions that
 * move entries back, and shrinking. */
static void many_addresses_against_a_model(void **state)
{
    (void)state;
    enum { N = 5000 };
    static uint32_t model[N];
    struct addr_count t = {0};
    uint64_t x = 88172645463325252ull; /* xorshift: a fixed sequence */
    size_t peak_cap = 0;
    for (int round = 0; round < 200000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Addresses spread over a few /24s and clustered, so that probe
         * chains form and wrap around the table's end. */
        uint32_t i = (uint32_t)(x % N);
        ust_ip4_t a = UST_IP4(10, (i / 256) % 4, (uint8_t)(i / 1024), (uint8_t)i);
        bool up = (round < 100000) ? (x >> 32) % 3 != 0 : (x >> 32) % 3 == 0;
        if (up) {
            assert_int_equal(addr_count_inc(&t, a), ++model[i]);
        } else if (model[i]) {
            addr_count_dec(&t, a);
            model[i]--;
        }
        if (t.cap > peak_cap)
            peak_cap = t.cap;
        if (round % 9973 == 0)
            for (uint32_t j = 0; j < N; j++)
                assert_int_equal(addr_count_get(&t, UST_IP4(10, (j / 256) % 4, (uint8_t)(j / 1024),
                                                            (uint8_t)j)),
                                 model[j]);
    }
    size_t live = 0;
    for (uint32_t j = 0; j < N; j++) {
        assert_int_equal(addr_count_get(&t, UST_IP4(10, (j / 256) % 4, (uint8_t)(j / 1024),
                                                    (uint8_t)j)),
                         model[j]);
        live += model[j] > 0;
    }
    assert_int_equal(t.used, live);
    assert_true(t.cap >= 2 * t.used); /* at most half full */
    /* Empty it: the table shrinks back to nothing. */
    for (uint32_t j = 0; j < N; j++)
        while (model[j]) {
            addr_count_dec(&t, UST_IP4(10, (j / 256) % 4, (uint8_t)(j / 1024), (uint8_t)j));
            model[j]--;
        }
    assert_true(peak_cap >= N); /* it grew with them */
    assert_int_equal(t.used, 0);
    assert_int_equal(t.cap, 0);
    addr_count_free(&t);
}

#define W (10 * SVCLOOP_SEC)

/* The first event is logged; those within the window are held and said in
 * one summary at its end; a steady flood is one line per window; quiet
 * for a window, the next event is logged at once again. */
static void ratelog_bounds_the_lines(void **state)
{
    (void)state;
    struct ratelog r = {0};
    ust_time_t t0 = 5 * SVCLOOP_SEC;
    assert_true(ratelog_event(&r, t0, W));
    for (int i = 1; i <= 99; i++)
        assert_false(ratelog_event(&r, t0 + (ust_time_t)i * 1000, W));
    assert_int_equal(ratelog_flush(&r, t0 + W - 1, W), 0); /* not yet */
    assert_int_equal(ratelog_flush(&r, t0 + W, W), 99);
    /* A steady flood: held, one summary per window, never a line each. */
    int lines = 0;
    for (ust_time_t t = t0 + W; t < t0 + 10 * W; t += 10000) {
        lines += ratelog_event(&r, t, W);
        lines += ratelog_flush(&r, t, W) > 0;
    }
    assert_int_equal(lines, 8);
    /* Quiet: the summary of the last held events, then an empty window
     * closes, and the next event is logged at once. */
    assert_true(ratelog_flush(&r, t0 + 11 * W, W) > 0);
    assert_int_equal(ratelog_flush(&r, t0 + 12 * W, W), 0);
    assert_int_equal(r.window_end, 0);
    assert_true(ratelog_event(&r, t0 + 13 * W, W));
}

/* Events after the window ended but before its summary was flushed go into
 * that summary rather than a line of their own. */
static void ratelog_late_flush(void **state)
{
    (void)state;
    struct ratelog r = {0};
    assert_true(ratelog_event(&r, 0 + 1, W));
    assert_false(ratelog_event(&r, 2, W));
    assert_false(ratelog_event(&r, W + 5, W)); /* the window ended, a summary is due */
    assert_int_equal(ratelog_flush(&r, W + 6, W), 2);
}

/* The wait until a deadline, as ust_poll takes it. */
static void poll_timeout(void **state)
{
    (void)state;
    ust_time_t now = 100 * SVCLOOP_SEC;
    assert_int_equal(svcloop_timeout_ms(0, now), -1);
    assert_int_equal(svcloop_timeout_ms(now, now), 0);
    assert_int_equal(svcloop_timeout_ms(now - 5, now), 0);
    assert_int_equal(svcloop_timeout_ms(now + 1, now), 1); /* rounded up */
    assert_int_equal(svcloop_timeout_ms(now + 1000, now), 1);
    assert_int_equal(svcloop_timeout_ms(now + 1001, now), 2);
    assert_int_equal(svcloop_timeout_ms(now + 3 * SVCLOOP_SEC, now), 3000);
    assert_int_equal(svcloop_timeout_ms(now + 3600 * SVCLOOP_SEC, now), 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_per_address),
        cmocka_unit_test(many_addresses_against_a_model),
        cmocka_unit_test(ratelog_bounds_the_lines),
        cmocka_unit_test(ratelog_late_flush),
        cmocka_unit_test(poll_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
