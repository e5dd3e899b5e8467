/* TCP against blind in-window attacks (RFC 5961): challenge ACKs for RSTs,
 * SYNs and old ACKs, their rate limit; an ACK of unsent data (RFC 9293
 * 3.10.7.4); TIME-WAIT ignoring RSTs (RFC 1337) and reopened by a new SYN
 * (RFC 6191). The test plays the peer (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>

#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"

#define INVALID_GAP (500 * UST_MS) /* tcp_invalid_ratelimit's default */

static void rst_in_window_gets_challenge_ack(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer_at(&t, t.pseq + 100, TCP_RST, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(st(&t)->tcp.challenge_acks, 1);
    fixture_advance_to(&t.f, t.f.now + INVALID_GAP);         /* one per connection per 500 ms */
    peer_at(&t, t.pseq + 65534, TCP_RST | TCP_ACK, NULL, 0); /* last byte of the window */
    EXPECT(&t, TCP_ACK, 0);
    /* Outside the window: dropped silently (no ACK for a RST). */
    peer_at(&t, t.pseq + 65535, TCP_RST, NULL, 0);
    peer_at(&t, t.pseq - 1, TCP_RST, NULL, 0);
    peer_at(&t, t.pseq + 0x40000000u, TCP_RST, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(st(&t)->tcp.challenge_acks, 2);
    /* The connection is fine. */
    peer(&t, TCP_ACK, "still", 5);
    expect_recv(&t, "still", 5);
    send_all(&t, "here", 4);
    EXPECT(&t, TCP_ACK, 4);
    /* Exactly at rcv_nxt: reset. */
    peer(&t, TCP_RST, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), GONE);
    char b[4];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), ECONNRESET);
    t_fini(&t);
}

static void syn_in_established_gets_challenge_ack(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer_at(&t, t.pseq, TCP_SYN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    fixture_advance_to(&t.f, t.f.now + INVALID_GAP);
    peer_at(&t, t.pseq + 1000, TCP_SYN | TCP_ACK, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    fixture_advance_to(&t.f, t.f.now + INVALID_GAP);
    peer_at(&t, PISN, TCP_SYN, NULL, 0); /* the old SYN again: out of window */
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_true(st(&t)->tcp.challenge_acks >= 2);
    peer(&t, TCP_ACK, "ok", 2);
    expect_recv(&t, "ok", 2);
    t_fini(&t);
}

static void old_ack_gets_challenge_ack(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    /* Some data out and acknowledged, so snd_una moves. */
    static uint8_t data[1000];
    send_all(&t, data, sizeof(data));
    EXPECT(&t, TCP_ACK, sizeof(data));
    peer(&t, TCP_ACK, NULL, 0);
    uint64_t bad = st(&t)->tcp.drop_bad_ack;
    /* Older than snd_una - max window (65535): challenge ACK, data dropped. */
    peer_seg(&t, t.pseq, t.pack - 70000, TCP_ACK, t.pwin, NULL, 0, "old", 3);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(st(&t)->tcp.challenge_acks, 1);
    assert_int_equal(st(&t)->tcp.drop_bad_ack, bad + 1);
    char b[8];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), EAGAIN);
    /* Old but within the window: an ordinary duplicate, data accepted. */
    peer_seg(&t, t.pseq, t.pack - 500, TCP_ACK, t.pwin, NULL, 0, "new", 3);
    t.pseq += 3;
    expect_recv(&t, "new", 3);
    assert_int_equal(st(&t)->tcp.challenge_acks, 1);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    t_fini(&t);
}

static void ack_of_unsent_data_is_dropped(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    /* RFC 9293 3.10.7.4 fifth: SEG.ACK > SND.NXT: send an ACK, drop the
     * segment and return (its data is not taken). */
    peer_seg(&t, t.pseq, t.pack + 1000, TCP_ACK, t.pwin, NULL, 0, "bogus", 5);
    EXPECT(&t, TCP_ACK, 0);
    char b[8];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), EAGAIN);
    peer_seg(&t, t.pseq, t.pack + 1000, TCP_ACK | TCP_FIN, t.pwin, NULL, 0, NULL, 0);
    EXPECT(&t, TCP_ACK, 0); /* a FIN takes sequence space: always answered */
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    /* The real segment is then taken. */
    peer(&t, TCP_ACK, "real", 4);
    expect_recv(&t, "real", 4);
    t_fini(&t);
}

/* A blind attacker's flood of segments that each draw an ACK (RSTs and
 * SYNs in the window, ACKs of unsent data, PAWS failures, pure ACKs out
 * of the window) gets one ACK per connection per tcp_invalid_ratelimit,
 * not one each. Segments with data are always answered: a peer that
 * resends what we have must hear so. */
static void invalid_acks_limited_per_connection(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    uint8_t o[40];
    for (int i = 0; i < 50; i++)
        peer_at(&t, t.pseq + 1 + (uint32_t)i, TCP_RST, NULL, 0);
    for (int i = 0; i < 50; i++)
        peer_seg(&t, t.pseq, t.pack + 1000, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    for (int i = 0; i < 50; i++)
        peer_seg(&t, t.pseq + 70000, t.pack, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.challenge_acks, 1);
    assert_int_equal(st(&t)->tcp.invalid_ack_limited, 149);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    /* Data out of the window is answered each time. */
    for (int i = 0; i < 3; i++) {
        peer_seg(&t, t.pseq - 100, t.pack, TCP_ACK, t.pwin, NULL, 0, "dup", 3);
        EXPECT(&t, TCP_ACK, 0);
    }
    /* 500 ms later, one more. */
    fixture_advance_to(&t.f, t.f.now + INVALID_GAP);
    for (int i = 0; i < 10; i++)
        peer_seg(&t, t.pseq, t.pack + 1000, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    /* PAWS failures, once timestamps are agreed, alike. */
    t_fini(&t);
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    t_syn(&t, PISN, 65535, o, syn_opts(o, 1000, 0));
    uint32_t our_ts = t.o.th.tsval;
    peer_opt(&t, TCP_ACK, 65535, o, put_ts(o, 1001, our_ts), NULL, 0);
    t_accept(&t);
    for (int i = 0; i < 20; i++)
        peer_opt(&t, TCP_ACK, 65535, o, put_ts(o, 500, our_ts), NULL, 0); /* older */
    EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.drop_paws, 20);
    assert_int_equal(st(&t)->tcp.invalid_ack_limited, 19);
    t_fini(&t);
}

/* RFC 5961 7: past each connection's own limit, challenge ACKs come from
 * a stack-wide budget drawn anew each second at random between half and
 * one and a half times tcp_challenge_ack_rate. A fixed budget let an
 * off-path attacker learn, from what its own connection got, how many
 * challenges another connection had spent (CVE-2016-5696). */
static void challenge_ack_budget_is_random(void **state)
{
    (void)state;
    enum { N = 40, SECONDS = 8 };
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_challenge_ack_rate = 10;
    t_init(&t, &cfg);
    t.lfd = listener(&t, 80, N);
    int fds[N];
    for (uint16_t i = 0; i < N; i++) {
        seg_in(&t.f, (uint16_t)(41000 + i), 80, PISN, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
        assert_true(pop(&t));
        seg_in(&t.f, (uint16_t)(41000 + i), 80, PISN + 1, t.o.th.seq + 1, TCP_ACK, 65535, NULL, 0,
               NULL, 0);
        fds[i] = ust_accept(t.f.s, t.lfd, NULL, NULL);
        assert_true(fds[i] > 0);
    }
    EXPECT_NONE(&t);
    unsigned counts[SECONDS];
    bool differ = false;
    for (int sec = 0; sec < SECONDS; sec++) {
        fixture_advance_to(&t.f, (t.f.now / UST_SEC + 1) * UST_SEC); /* a new second */
        uint64_t before = st(&t)->tcp.challenge_acks;
        uint64_t limited = st(&t)->tcp.challenge_ack_limited;
        for (uint16_t i = 0; i < N; i++)
            seg_in(&t.f, (uint16_t)(41000 + i), 80, PISN + 100, 0, TCP_RST, 65535, NULL, 0, NULL,
                   0);
        counts[sec] = (unsigned)(st(&t)->tcp.challenge_acks - before);
        assert_int_equal(counts[sec] + (st(&t)->tcp.challenge_ack_limited - limited), N);
        assert_true(counts[sec] >= 5 && counts[sec] < 15);
        differ = differ || counts[sec] != counts[0];
        while (pop(&t))
            assert_int_equal(t.o.th.flags, TCP_ACK);
    }
    assert_true(differ);
    for (int i = 0; i < N; i++)
        ust_close(t.f.s, fds[i]);
    t_fini(&t);
}

static void time_wait_ignores_rst(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_msl = 3 * UST_SEC;
    t_open(&t, &cfg);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    ust_time_t tw = t.f.now;
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    /* RFC 1337: a RST does not end TIME-WAIT early. */
    peer(&t, TCP_RST, NULL, 0);
    peer(&t, TCP_RST | TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    fixture_advance_to(&t.f, tw + 6 * UST_SEC - 1);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    fixture_advance_to(&t.f, tw + 6 * UST_SEC);
    assert_int_equal(state_of(&t), GONE);
    t_fini(&t);
}

static void time_wait_reopened_by_new_syn(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    /* An old SYN (below rcv_nxt) is a duplicate: ACK, TIME-WAIT stays. */
    peer_at(&t, PISN, TCP_SYN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    /* RFC 9293 3.6.1 / RFC 6191: a SYN beyond the old sequence space
     * starts a new incarnation at once. */
    uint32_t pisn2 = t.pseq + 100000;
    peer_seg(&t, pisn2, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
    EXPECT_SYNACK(&t, pisn2 + 1);
    assert_int_equal(state_of(&t), TCPS_SYN_RECEIVED);
    t.pseq = pisn2 + 1;
    t.pack = t.iss + 1;
    peer(&t, TCP_ACK, NULL, 0);
    t.fd = ust_accept(t.f.s, t.lfd, NULL, NULL);
    assert_true(t.fd > 0);
    peer(&t, TCP_ACK | TCP_PSH, "again", 5);
    expect_recv(&t, "again", 5);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rst_in_window_gets_challenge_ack),
        cmocka_unit_test(syn_in_established_gets_challenge_ack),
        cmocka_unit_test(old_ack_gets_challenge_ack),
        cmocka_unit_test(ack_of_unsent_data_is_dropped),
        cmocka_unit_test(invalid_acks_limited_per_connection),
        cmocka_unit_test(challenge_ack_budget_is_random),
        cmocka_unit_test(time_wait_ignores_rst),
        cmocka_unit_test(time_wait_reopened_by_new_syn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
