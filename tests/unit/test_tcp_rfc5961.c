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

static void rst_in_window_gets_challenge_ack(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer_at(&t, t.pseq + 100, TCP_RST, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(st(&t)->tcp.challenge_acks, 1);
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
    peer_at(&t, t.pseq + 1000, TCP_SYN | TCP_ACK, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
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
    peer_seg(&t, t.pseq, t.pack + 1000, TCP_ACK | TCP_FIN, t.pwin, NULL, 0, NULL,
           0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    /* The real segment is then taken. */
    peer(&t, TCP_ACK, "real", 4);
    expect_recv(&t, "real", 4);
    t_fini(&t);
}

static void challenge_ack_rate_limit(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_challenge_ack_rate = 5;
    t_open(&t, &cfg);
    for (int i = 0; i < 50; i++)
        peer_at(&t, t.pseq + 1 + (uint32_t)i, TCP_RST, NULL, 0);
    for (int i = 0; i < 5; i++)
        EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.challenge_acks, 5);
    assert_int_equal(st(&t)->tcp.challenge_ack_limited, 45);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    /* SYNs draw on the same budget. */
    peer_at(&t, t.pseq, TCP_SYN, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.challenge_ack_limited, 46);
    /* A second later the bucket has refilled. */
    fixture_advance_to(&t.f, t.f.now + UST_SEC);
    for (int i = 0; i < 10; i++)
        peer_at(&t, t.pseq + 1, TCP_RST, NULL, 0);
    for (int i = 0; i < 5; i++)
        EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.challenge_acks, 10);
    peer(&t, TCP_ACK, "alive", 5);
    expect_recv(&t, "alive", 5);
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
        cmocka_unit_test(challenge_ack_rate_limit),
        cmocka_unit_test(time_wait_ignores_rst),
        cmocka_unit_test(time_wait_reopened_by_new_syn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
