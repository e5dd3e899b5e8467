/* NewReno (src/transport/tcp_cc.c) on its own: each hook of struct
 * tcp_cc_ops driven directly on a struct tcp_conn and checked against the
 * arithmetic of RFC 5681 (initial window, slow start, congestion
 * avoidance, the loss window), RFC 3465 (byte counting, L = 1) and RFC
 * 6582 3.2 (fast recovery: inflation, partial ACKs, the exit). The
 * segment-level test of the same in a connection is
 * fast_retransmit_and_newreno (test_tcp_send_timers.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "cc_hooks.h"
#include "harness.h"
#include "transport/tcp.h"

#define MSS 1000u
#define T0 (1000 * UST_SEC)

/* A NewReno connection with SMSS mss and flight bytes in flight, just
 * initialised. */
static void conn_setup(struct tcp_conn *c, uint32_t mss, uint32_t flight)
{
    memset(c, 0, sizeof(*c));
    c->snd_mss = (uint16_t)mss;
    c->cc = &tcp_newreno;
    c->snd_una = 1;
    c->snd_max = 1 + flight;
    cc_init(c, T0);
}

static void found_by_name(void **state)
{
    (void)state;
    assert_ptr_equal(tcp_cc_find("newreno"), &tcp_newreno);
    assert_ptr_equal(tcp_cc_find("reno"), &tcp_newreno);
    assert_ptr_equal(tcp_cc_find("cubic"), &tcp_cubic);
    assert_null(tcp_cc_find("Reno"));
    assert_null(tcp_cc_find("newreno2"));
    assert_null(tcp_cc_find(""));
    assert_string_equal(tcp_newreno.name, "newreno");
}

/* RFC 5681 3.1 (with RFC 3390's bound): IW = min(4 * SMSS, max(2 * SMSS,
 * 4380 bytes)), ssthresh arbitrarily high. */
static void initial_window(void **state)
{
    (void)state;
    static const struct {
        uint32_t mss, iw;
    } cases[] = {
        {536, 4 * 536},                 /* four small segments */
        {1000, 4 * 1000}, {1095, 4380}, /* the largest SMSS that gets four */
        {1460, 3 * 1460},               /* Ethernet: three */
        {3000, 2 * 3000},               /* beyond 2190: two */
        {8960, 2 * 8960},               /* jumbo frames */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tcp_conn c;
        conn_setup(&c, cases[i].mss, 0);
        if (c.cwnd != cases[i].iw)
            fail_msg("SMSS %u: IW %u, want %u", cases[i].mss, c.cwnd, cases[i].iw);
        assert_int_equal(c.ssthresh, 0xffffffffu);
        assert_int_equal(c.bytes_acked, 0);
    }
    /* init starts over: nothing of an earlier life is left. */
    struct tcp_conn c;
    conn_setup(&c, MSS, 0);
    c.cwnd = 77 * MSS;
    c.ssthresh = 5 * MSS;
    c.bytes_acked = 1234;
    cc_init(&c, T0);
    assert_int_equal(c.cwnd, 4 * MSS);
    assert_int_equal(c.ssthresh, 0xffffffffu);
    assert_int_equal(c.bytes_acked, 0);
}

/* Below ssthresh each ACK grows cwnd by what it acknowledged, at most one
 * SMSS (RFC 3465, L = 1): a stretch ACK does not make a burst. */
static void slow_start_with_byte_counting(void **state)
{
    (void)state;
    struct tcp_conn c;
    conn_setup(&c, MSS, 0);
    c.ssthresh = 10 * MSS;
    cc_ack(&c, MSS, T0);
    assert_int_equal(c.cwnd, 5 * MSS);
    cc_ack(&c, 3 * MSS, T0); /* a stretch ACK: one SMSS only */
    assert_int_equal(c.cwnd, 6 * MSS);
    cc_ack(&c, 100, T0); /* a small ACK: what it acknowledged */
    assert_int_equal(c.cwnd, 6 * MSS + 100);
    cc_ack(&c, 0, T0);
    assert_int_equal(c.cwnd, 6 * MSS + 100);
    assert_int_equal(c.bytes_acked, 0); /* the avoidance counter is not used */
    assert_int_equal(c.ssthresh, 10 * MSS);
    /* Just below ssthresh a full SMSS still goes in (it may overshoot). */
    c.cwnd = 10 * MSS - 1;
    cc_ack(&c, MSS, T0);
    assert_int_equal(c.cwnd, 11 * MSS - 1);
    /* At ssthresh slow start is over: one SMSS per window, below. */
    c.cwnd = 10 * MSS;
    cc_ack(&c, MSS, T0);
    assert_int_equal(c.cwnd, 10 * MSS);
    assert_int_equal(c.bytes_acked, MSS);
}

/* From ssthresh on, cwnd grows by one SMSS per cwnd of acknowledged bytes
 * (RFC 5681 3.1, byte counting as RFC 3465 2.1). */
static void congestion_avoidance(void **state)
{
    (void)state;
    struct tcp_conn c;
    conn_setup(&c, MSS, 0);
    c.cwnd = c.ssthresh = 10 * MSS;
    for (int i = 0; i < 9; i++) {
        cc_ack(&c, MSS, T0);
        assert_int_equal(c.cwnd, 10 * MSS);
    }
    assert_int_equal(c.bytes_acked, 9 * MSS);
    cc_ack(&c, MSS, T0); /* a whole window acknowledged */
    assert_int_equal(c.cwnd, 11 * MSS);
    assert_int_equal(c.bytes_acked, 0);
    /* Small ACKs count by the byte: 22 of 500 bytes make 11 SMSS. */
    for (int i = 0; i < 21; i++)
        cc_ack(&c, 500, T0);
    assert_int_equal(c.cwnd, 11 * MSS);
    assert_int_equal(c.bytes_acked, 10500);
    cc_ack(&c, 500, T0);
    assert_int_equal(c.cwnd, 12 * MSS);
    assert_int_equal(c.bytes_acked, 0);
    /* One ACK of more than a window: one SMSS, the rest carried over. */
    cc_ack(&c, 15 * MSS, T0);
    assert_int_equal(c.cwnd, 13 * MSS);
    assert_int_equal(c.bytes_acked, 3 * MSS);
    assert_int_equal(c.ssthresh, 10 * MSS);
}

/* RFC 6582 3.2 (2): ssthresh = max(FlightSize / 2, 2 * SMSS) (RFC 5681
 * (4)), then cwnd = ssthresh + 3 * SMSS for the three segments the
 * duplicate ACKs say have left the network. */
static void enter_recovery(void **state)
{
    (void)state;
    struct tcp_conn c;
    conn_setup(&c, MSS, 20 * MSS);
    c.cwnd = 50 * MSS; /* FlightSize counts, not cwnd */
    cc_enter_recovery(&c, T0);
    assert_int_equal(c.ssthresh, 10 * MSS);
    assert_int_equal(c.cwnd, 13 * MSS);

    conn_setup(&c, MSS, 21 * MSS + 1); /* halved, rounded down */
    cc_enter_recovery(&c, T0);
    assert_int_equal(c.ssthresh, (21 * MSS + 1) / 2);
    assert_int_equal(c.cwnd, (21 * MSS + 1) / 2 + 3 * MSS);

    conn_setup(&c, MSS, 3 * MSS); /* half of it is below two segments */
    cc_enter_recovery(&c, T0);
    assert_int_equal(c.ssthresh, 2 * MSS);
    assert_int_equal(c.cwnd, 5 * MSS);
}

/* RFC 6582 3.2 (3): each further duplicate ACK inflates cwnd by one SMSS. */
static void dupack_inflation(void **state)
{
    (void)state;
    struct tcp_conn c;
    conn_setup(&c, MSS, 20 * MSS);
    cc_enter_recovery(&c, T0);
    for (uint32_t i = 1; i <= 5; i++) {
        cc_dupack(&c, T0);
        assert_int_equal(c.cwnd, 13 * MSS + i * MSS);
        assert_int_equal(c.ssthresh, 10 * MSS);
    }
}

/* RFC 6582 3.2 (5): a partial ACK deflates cwnd by the bytes it
 * acknowledged, then adds back one SMSS. */
static void partial_ack_deflation(void **state)
{
    (void)state;
    struct tcp_conn c;
    conn_setup(&c, MSS, 20 * MSS);
    cc_enter_recovery(&c, T0);
    cc_dupack(&c, T0);
    cc_dupack(&c, T0);
    assert_int_equal(c.cwnd, 15 * MSS);
    cc_partial_ack(&c, 4 * MSS, T0);
    assert_int_equal(c.cwnd, 15 * MSS - 4 * MSS + MSS);
    cc_partial_ack(&c, 300, T0); /* by the byte, not the segment */
    assert_int_equal(c.cwnd, 12 * MSS - 300 + MSS);
    assert_int_equal(c.ssthresh, 10 * MSS);
    /* Acknowledging more than cwnd leaves one SMSS, never a wrapped window. */
    c.cwnd = 2 * MSS;
    cc_partial_ack(&c, 5 * MSS, T0);
    assert_int_equal(c.cwnd, MSS);
}

/* RFC 6582 3.2 (6), its first option: cwnd = min(ssthresh, FlightSize +
 * SMSS), FlightSize being what is still out when the full ACK arrives. */
static void exit_recovery(void **state)
{
    (void)state;
    struct tcp_conn c;
    conn_setup(&c, MSS, 20 * MSS);
    cc_enter_recovery(&c, T0);
    cc_dupack(&c, T0);
    /* The full ACK took everything: one segment. */
    c.snd_una = c.snd_max;
    c.bytes_acked = 777;
    cc_exit_recovery(&c, T0);
    assert_int_equal(c.cwnd, MSS);
    assert_int_equal(c.ssthresh, 10 * MSS);
    assert_int_equal(c.bytes_acked, 0);

    /* Much still out (new data sent during recovery): ssthresh. */
    conn_setup(&c, MSS, 20 * MSS);
    cc_enter_recovery(&c, T0);
    c.snd_una += 5 * MSS; /* 15 SMSS left */
    cc_exit_recovery(&c, T0);
    assert_int_equal(c.cwnd, 10 * MSS);

    /* Little out: FlightSize + SMSS. */
    conn_setup(&c, MSS, 20 * MSS);
    cc_enter_recovery(&c, T0);
    c.snd_una = c.snd_max - 3 * MSS - 10;
    cc_exit_recovery(&c, T0);
    assert_int_equal(c.cwnd, 4 * MSS + 10);
    /* After it, below ssthresh: slow start again. */
    cc_ack(&c, MSS, T0);
    assert_int_equal(c.cwnd, 5 * MSS + 10);
}

/* RFC 5681 (4) and 3.1: a timeout halves FlightSize into ssthresh (at
 * least two segments) and leaves the loss window, one SMSS. */
static void timeout(void **state)
{
    (void)state;
    struct tcp_conn c;
    conn_setup(&c, MSS, 30 * MSS);
    c.cwnd = 40 * MSS;
    c.bytes_acked = 5 * MSS;
    cc_rto(&c, T0);
    assert_int_equal(c.ssthresh, 15 * MSS);
    assert_int_equal(c.cwnd, MSS);
    assert_int_equal(c.bytes_acked, 0);
    /* The window comes back in slow start, up to ssthresh. */
    int acks = 0;
    while (c.cwnd < c.ssthresh) {
        cc_ack(&c, MSS, T0);
        acks++;
    }
    assert_int_equal(acks, 14);
    assert_int_equal(c.cwnd, 15 * MSS);

    conn_setup(&c, MSS, MSS); /* a lone segment out */
    cc_rto(&c, T0);
    assert_int_equal(c.ssthresh, 2 * MSS);
    assert_int_equal(c.cwnd, MSS);
}

/* The module touches cwnd, ssthresh and bytes_acked, nothing else of the
 * connection, and reads no clock: every hook at two different times does
 * the same. */
static void touches_only_the_window(void **state)
{
    (void)state;
    for (int hook = 0; hook < 7; hook++) {
        struct tcp_conn c, before, other;
        conn_setup(&c, MSS, 20 * MSS);
        c.cwnd = 30 * MSS;
        c.ssthresh = 12 * MSS;
        c.bytes_acked = 3 * MSS;
        memset(&c.cubic, 0x5a, sizeof(c.cubic)); /* someone else's state */
        c.srtt = 123456;
        c.in_recovery = true;
        c.recover = 4242;
        memcpy(&before, &c, sizeof(c));
        memcpy(&other, &c, sizeof(c));
        for (int k = 0; k < 2; k++) {
            struct tcp_conn *x = k ? &other : &c;
            ust_time_t now = T0 + (ust_time_t)k * 3600 * UST_SEC;
            switch (hook) {
            case 0: cc_init(x, now); break;
            case 1: cc_ack(x, 2 * MSS, now); break;
            case 2: cc_enter_recovery(x, now); break;
            case 3: cc_dupack(x, now); break;
            case 4: cc_partial_ack(x, MSS, now); break;
            case 5: cc_exit_recovery(x, now); break;
            default: cc_rto(x, now); break;
            }
        }
        assert_int_equal(c.cwnd, other.cwnd);
        assert_int_equal(c.ssthresh, other.ssthresh);
        assert_int_equal(c.bytes_acked, other.bytes_acked);
        /* Everything but those three is as it was. */
        before.cwnd = c.cwnd;
        before.ssthresh = c.ssthresh;
        before.bytes_acked = c.bytes_acked;
        if (memcmp(&before, &c, sizeof(c)) != 0)
            fail_msg("hook %d changed more than cwnd, ssthresh and bytes_acked", hook);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(found_by_name),
        cmocka_unit_test(initial_window),
        cmocka_unit_test(slow_start_with_byte_counting),
        cmocka_unit_test(congestion_avoidance),
        cmocka_unit_test(enter_recovery),
        cmocka_unit_test(dupack_inflation),
        cmocka_unit_test(partial_ack_deflation),
        cmocka_unit_test(exit_recovery),
        cmocka_unit_test(timeout),
        cmocka_unit_test(touches_only_the_window),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
