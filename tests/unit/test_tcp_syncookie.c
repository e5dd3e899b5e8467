/* SYN cookies' encoding on its own (transport/tcp_syncookie.c): every MSS
 * the table holds, the options carried in the timestamp, and cookies that
 * are replayed late, forged, or altered. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "transport/tcp_syncookie.h"

static const uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const struct tcp_tuple tup = {
    .laddr = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 2}},
    .raddr = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 7}},
    .lport = 80,
    .rport = 40000};
#define T0 (1000 * UST_SEC)

/* The largest table entry not above the peer's MSS comes back from the
 * check, for every entry and between them. */
static void every_mss_round_trips(void **state)
{
    (void)state;
    const uint16_t peers[] = {100, 536, 537, 1299, 1300, 1440, 1459, 1460, 8960, 65535};
    const uint16_t want[] = {536, 536, 536, 536, 1300, 1440, 1440, 1460, 1460, 1460};
    for (size_t i = 0; i < sizeof(peers) / sizeof(peers[0]); i++) {
        uint16_t mss_made, mss_back = 0;
        uint32_t isn = 0x12345678u + (uint32_t)i;
        uint32_t c = tcp_cookie_make(key, &tup, isn, peers[i], T0, &mss_made);
        assert_int_equal(mss_made, want[i]);
        assert_true(tcp_cookie_check(key, &tup, isn, c, T0 + UST_SEC, &mss_back));
        assert_int_equal(mss_back, want[i]);
    }
}

/* Valid through the tick it was made in and the next; then stale. */
static void cookie_expires(void **state)
{
    (void)state;
    uint16_t mss;
    ust_time_t made = T0 + 10 * UST_SEC;
    uint32_t c = tcp_cookie_make(key, &tup, 7, 1460, made, &mss);
    ust_time_t tick_end = (made / TCP_COOKIE_TICK + 1) * TCP_COOKIE_TICK;
    assert_true(tcp_cookie_check(key, &tup, 7, c, made, &mss));
    assert_true(tcp_cookie_check(key, &tup, 7, c, tick_end, &mss));
    assert_true(tcp_cookie_check(key, &tup, 7, c, tick_end + TCP_COOKIE_TICK - 1, &mss));
    assert_false(tcp_cookie_check(key, &tup, 7, c, tick_end + TCP_COOKIE_TICK, &mss));
    /* Replayed 32 ticks later, the clock bits match again: still stale. */
    assert_false(tcp_cookie_check(key, &tup, 7, c, made + 32 * TCP_COOKIE_TICK, &mss));
    /* And not from the future (a cookie of the next tick). */
    uint32_t next = tcp_cookie_make(key, &tup, 7, 1460, tick_end, &mss);
    assert_false(tcp_cookie_check(key, &tup, 7, next, made, &mss));
}

/* Anything that differs from what the cookie was made for fails: the
 * 4-tuple, the peer's ISN, the key, any bit of the cookie. */
static void forged_and_altered_cookies_fail(void **state)
{
    (void)state;
    uint16_t mss;
    uint32_t isn = 0xdeadbeefu;
    uint32_t c = tcp_cookie_make(key, &tup, isn, 1460, T0, &mss);
    assert_false(tcp_cookie_check(key, &tup, isn + 1, c, T0, &mss));
    struct tcp_tuple other = tup;
    other.rport++;
    assert_false(tcp_cookie_check(key, &other, isn, c, T0, &mss));
    other = tup;
    other.raddr.b[15] ^= 1;
    assert_false(tcp_cookie_check(key, &other, isn, c, T0, &mss));
    uint8_t key2[16];
    memcpy(key2, key, 16);
    key2[15] ^= 0x80;
    assert_false(tcp_cookie_check(key2, &tup, isn, c, T0, &mss));
    for (int bit = 0; bit < 32; bit++)
        assert_false(tcp_cookie_check(key, &tup, isn, c ^ (1u << bit), T0, &mss));
    /* A blind attacker's guesses: about 2^-25 each pass. */
    unsigned passed = 0;
    for (uint32_t g = 0; g < 200000; g++)
        passed += tcp_cookie_check(key, &tup, isn, g * 2654435761u, T0, &mss);
    assert_true(passed <= 2);
}

/* The options of a SYN, in the low bits of our TSval and back. */
static void options_ride_in_the_timestamp(void **state)
{
    (void)state;
    for (int ws = -1; ws <= 14; ws++) {
        for (int sack = 0; sack <= 1; sack++) {
            uint32_t ts = tcp_cookie_ts(0xabcdef12u, ws, sack);
            assert_true(ts <= 0xabcdef12u && 0xabcdef12u - ts < 0x80); /* never ahead */
            int ws_back = 99;
            bool sack_back = !sack;
            assert_true(tcp_cookie_ts_opts(ts, &ws_back, &sack_back));
            assert_int_equal(ws_back, ws);
            assert_int_equal(sack_back, sack);
        }
    }
    /* A shift above 14 is taken as 14 (RFC 7323 2.3). */
    int w;
    bool sk;
    assert_true(tcp_cookie_ts_opts(tcp_cookie_ts(0, 15, false), &w, &sk));
    assert_int_equal(w, 14);
    /* An echo without the marker bit carries no options. */
    assert_false(tcp_cookie_ts_opts(0x1fu, &w, &sk));
}

/* The timestamp offset is per 4-tuple and per key. */
static void ts_offset_is_keyed(void **state)
{
    (void)state;
    struct tcp_tuple other = tup;
    other.rport++;
    uint8_t key2[16] = {0};
    assert_int_equal(tcp_cookie_ts_offset(key, &tup), tcp_cookie_ts_offset(key, &tup));
    assert_int_not_equal(tcp_cookie_ts_offset(key, &tup), tcp_cookie_ts_offset(key, &other));
    assert_int_not_equal(tcp_cookie_ts_offset(key, &tup), tcp_cookie_ts_offset(key2, &tup));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_mss_round_trips),
        cmocka_unit_test(cookie_expires),
        cmocka_unit_test(forged_and_altered_cookies_fail),
        cmocka_unit_test(options_ride_in_the_timestamp),
        cmocka_unit_test(ts_offset_is_keyed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
