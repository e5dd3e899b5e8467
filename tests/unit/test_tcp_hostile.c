/* TCP against hostile input: a SYN flood bounded by the backlog,
 * malformed and truncated segments dropped without an answer or a
 * connection. The test plays the peer (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"

/* Without SYN cookies the half-open queue (the backlog, 4) bounds a SYN
 * flood: the rest are dropped, and the established connection does not
 * notice. (With cookies, the default: test_tcp_syn_flood.c.) */
static void syn_flood_bounded_by_backlog(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_syncookies = 0;
    t_init(&t, &cfg);
    t.lfd = listener(&t, 80, 4);
    t_passive(&t, PISN, 0); /* an established, accepted connection */
    uint64_t sa = st(&t)->tcp.tx;
    for (uint16_t i = 0; i < 100; i++)
        seg_in(&t.f, (uint16_t)(50000 + i), 80, 1000u * i, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL,
               0);
    int synacks = 0;
    while (pop(&t)) {
        assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
        assert_int_equal(t.o.th.dport, 50000 + synacks);
        synacks++;
    }
    assert_int_equal(synacks, 4);
    assert_int_equal(st(&t)->tcp.tx, sa + 4);
    assert_int_equal(st(&t)->tcp.drop_synq_full, 96);
    assert_int_equal(st(&t)->tcp.passive_opens, 5);
    assert_int_equal(t.f.s->tcp->nconns, 2 + 4); /* listener, accepted, 4 children */
    /* The established connection does not notice. */
    peer(&t, TCP_ACK | TCP_PSH, "still here", 10);
    expect_recv(&t, "still here", 10);
    send_all(&t, "yes", 3);
    EXPECT(&t, TCP_ACK, 3);
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    t_fini(&t);
}

/* Nothing was sent and the listener started no connection. */
static void expect_silence(struct tcp_peer *t, int line)
{
    expect_none_(t, line);
    struct tcp_conn *l = tcp_find_listener(t->f.s, &T_ADDR_US, 80);
    assert_non_null(l);
    if (l->syn_qlen != 0)
        fail_msg("line %d: a connection was started", line);
}

static void malformed_segments_are_dropped(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    t.port = 80;
    t.pport = 40000;
    uint8_t fr[256];
    size_t n;
    const struct ust_stats *s = st(&t);

    /* Data offset below 5. */
    for (uint8_t doff = 0; doff < 5; doff++) {
        n = seg_frame(fr, 40000, 80, PISN, 0, TCP_SYN, 65535, opt_mss1460, 4, "pad", 3);
        fr[TCP_OFF + 12] = (uint8_t)(doff << 4);
        tcp_csum(fr + TCP_OFF, 27);
        fixture_input(&t.f, fr, n);
        expect_silence(&t, __LINE__);
    }
    assert_int_equal(s->tcp.drop_malformed, 5);
    /* Data offset beyond the segment (24 bytes, offset 7 and 15). */
    n = seg_frame(fr, 40000, 80, PISN, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
    fr[TCP_OFF + 12] = 7 << 4;
    tcp_csum(fr + TCP_OFF, 24);
    fixture_input(&t.f, fr, n);
    fr[TCP_OFF + 12] = 15 << 4;
    tcp_csum(fr + TCP_OFF, 24);
    fixture_input(&t.f, fr, n);
    expect_silence(&t, __LINE__);
    assert_int_equal(s->tcp.drop_malformed, 7);
    /* An option running past the header. */
    const uint8_t bad_opt[4] = {TCP_OPT_NOP, TCP_OPT_MSS, 4, 0x05};
    n = seg_frame(fr, 40000, 80, PISN, 0, TCP_SYN, 65535, bad_opt, 4, "data", 4);
    fixture_input(&t.f, fr, n);
    expect_silence(&t, __LINE__);
    assert_int_equal(s->tcp.drop_malformed, 8);
    /* Bad checksum. */
    n = seg_frame(fr, 40000, 80, PISN, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
    fr[TCP_OFF + 4] ^= 0x80;
    fixture_input(&t.f, fr, n);
    expect_silence(&t, __LINE__);
    assert_int_equal(s->tcp.drop_checksum, 1);
    /* SYN+FIN and SYN+RST, to the listener and to a closed port. */
    seg_in(&t.f, 40000, 80, PISN, 0, TCP_SYN | TCP_FIN, 65535, NULL, 0, NULL, 0);
    seg_in(&t.f, 40000, 81, PISN, 0, TCP_SYN | TCP_FIN, 65535, NULL, 0, NULL, 0);
    seg_in(&t.f, 40000, 80, PISN, 0, TCP_SYN | TCP_RST, 65535, NULL, 0, NULL, 0);
    expect_silence(&t, __LINE__);
    assert_int_equal(s->tcp.drop_malformed, 11);
    /* Port 0 either side. */
    seg_in(&t.f, 0, 80, PISN, 0, TCP_SYN, 65535, NULL, 0, NULL, 0);
    seg_in(&t.f, 40000, 0, PISN, 0, TCP_SYN, 65535, NULL, 0, NULL, 0);
    expect_silence(&t, __LINE__);
    assert_int_equal(s->tcp.drop_malformed, 13);
    assert_int_equal(s->tcp.drop_no_conn, 0);
    assert_int_equal(s->tcp.rst_tx, 0);
    /* After all that, a good SYN is answered. */
    t_passive(&t, PISN, 0);
    t_fini(&t);
}

static void truncated_syn_is_dropped(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    t.port = 80;
    t.pport = 40000;
    uint8_t good[256], fr[256];
    size_t full = seg_frame(good, 40000, 80, PISN, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
    assert_int_equal(full, TCP_OFF + 24);
    /* Every truncation of the frame (IP's total length then lies). */
    for (size_t len = 0; len < full; len++) {
        memcpy(fr, good, len);
        fixture_input(&t.f, fr, len);
        expect_silence(&t, __LINE__);
    }
    /* Every truncation of the TCP segment inside a consistent IP packet,
     * with the original checksum and, where there is room, a recomputed one. */
    for (size_t tl = 0; tl < 24; tl++) {
        for (int fix = 0; fix < 2; fix++) {
            if (fix && tl < 18)
                continue;
            memcpy(fr, good, sizeof(fr));
            if (fix)
                tcp_csum(fr + TCP_OFF, tl);
            size_t n = build_ipv4(fr + ETH_HDR, T_IP_PEER, T_IP_US, IPV4_PROTO_TCP, 1, 0, 64,
                                  fr + TCP_OFF, tl);
            n = build_eth(fr, t_mac_us, t_mac_peer, 0x0800, fr + ETH_HDR, n);
            fixture_input(&t.f, fr, n);
            expect_silence(&t, __LINE__);
        }
    }
    assert_int_equal(st(&t)->tcp.drop_no_conn, 0);
    assert_int_equal(st(&t)->tcp.passive_opens, 0);
    /* The whole SYN is answered. */
    fixture_input(&t.f, good, full);
    EXPECT_SYNACK(&t, PISN + 1);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_flood_bounded_by_backlog),
        cmocka_unit_test(malformed_segments_are_dropped),
        cmocka_unit_test(truncated_syn_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
