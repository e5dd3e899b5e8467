/* TCP receiving, segment by segment (RFC 9293 3.10.7.4, RFC 1122
 * 4.2.3.2): the window's edges, out-of-order reassembly, sequence numbers
 * wrapping both ways, delayed ACKs. The test plays the peer
 * (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"

static void out_of_window_data_is_acked_not_taken(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    /* Beyond the right edge. */
    peer_at(&t, t.pseq + 70000, TCP_ACK, "far", 3);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(st(&t)->tcp.drop_out_of_window, 1);
    char b[32];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), EAGAIN);
    /* Entirely old (a duplicate): ACK. */
    peer_at(&t, t.pseq - 20, TCP_ACK, "0123456789", 10);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(st(&t)->tcp.drop_out_of_window, 2);
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), EAGAIN);
    /* Partly old: the new part is taken. */
    peer_at(&t, t.pseq - 5, TCP_ACK, "xxxxxabcde", 10);
    t.pseq += 5;
    expect_recv(&t, "abcde", 5);
    assert_int_equal(st(&t)->tcp.drop_out_of_window, 2);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    t_fini(&t);
}

static void out_of_order_is_reassembled(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    uint8_t d[400];
    for (int i = 0; i < 400; i++)
        d[i] = (uint8_t)(i * 7 + 1);
    uint32_t s0 = t.pseq;
    /* Segments 2, 4, 3 before 1: a duplicate ACK for each at once. */
    peer_at(&t, s0 + 100, TCP_ACK, d + 100, 100);
    EXPECT(&t, TCP_ACK, 0);
    peer_at(&t, s0 + 300, TCP_ACK, d + 300, 100);
    EXPECT(&t, TCP_ACK, 0);
    peer_at(&t, s0 + 100, TCP_ACK, d + 100, 100); /* a duplicate of one held */
    EXPECT(&t, TCP_ACK, 0);
    peer_at(&t, s0 + 200, TCP_ACK, d + 200, 100);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.ack, s0);
    char b[512];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), EAGAIN);
    assert_int_equal(st(&t)->tcp.ooo_segments, 4);
    /* The hole fills: everything is delivered, ACKed at once. */
    peer_at(&t, s0, TCP_ACK, d, 100);
    t.pseq = s0 + 400;
    EXPECT(&t, TCP_ACK, 0);
    expect_recv(&t, d, 400);
    t_fini(&t);
}

static void sequence_wrap_receive(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t_passive(&t, 0xffffff00u, 0);
    uint8_t d[400];
    for (int i = 0; i < 400; i++)
        d[i] = (uint8_t)(i * 13 + 5);
    uint32_t s0 = t.pseq;
    assert_int_equal(s0, 0xffffff01u);
    /* In order, then the segment across 2^32 out of order, then the last. */
    peer_at(&t, s0, TCP_ACK, d, 100);
    peer_at(&t, s0 + 200, TCP_ACK, d + 200, 100); /* 0xffffffc9 .. 0x2d */
    EXPECT_SEG(&t, TCP_ACK, t.pack, s0 + 100, 0);
    peer_at(&t, s0 + 300, TCP_ACK, d + 300, 100); /* 0x2d .. 0x91 */
    EXPECT_SEG(&t, TCP_ACK, t.pack, s0 + 100, 0);
    peer_at(&t, s0 + 100, TCP_ACK, d + 100, 100);
    EXPECT_SEG(&t, TCP_ACK, t.pack, 0x91, 0);
    t.pseq = 0x91;
    expect_recv(&t, d, 400);
    /* Out-of-window checks work across the wrap too. */
    peer_at(&t, 0xfffffff0u, TCP_ACK, "old", 3);
    EXPECT(&t, TCP_ACK, 0);
    peer(&t, TCP_ACK | TCP_FIN, "end", 3);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.ack, 0x95);
    expect_recv(&t, "end", 3);
    assert_int_equal(state_of(&t), TCPS_CLOSE_WAIT);
    t_fini(&t);
}

static void sequence_wrap_send(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.pport = 80;
    t.port = 45000;
    struct sockaddr_in local = sin_of(0, 45000), sin = sin_of(T_IP_PEER, 80);
    /* RFC 6528: ISS = hash(4-tuple) + clock/4 us. Learn our ISS for this
     * 4-tuple once, then come back when the clock puts it near 2^32. */
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
    assert_int_equal(ust_bind(t.f.s, t.fd, SA(local), sizeof(local)), 0);
    ust_time_t t1 = t.f.now;
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    uint32_t iss1 = t.o.th.seq;
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    assert_int_equal(t1 % 4, 0);
    ust_time_t t2 = t1 + 4 * (ust_time_t)(uint32_t)(0xffffff00u - iss1);
    fixture_advance_to(&t.f, t2);
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
    assert_int_equal(ust_bind(t.f.s, t.fd, SA(local), sizeof(local)), 0);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, 0xffffff00u);
    t.iss = 0xffffff00u;
    t.pack = 0xffffff01u;
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN | TCP_ACK, t.pwin, opt_mss1460, 4, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    /* 600 bytes across 2^32, lost once, retransmitted, acknowledged. */
    uint8_t d[700];
    for (int i = 0; i < 700; i++)
        d[i] = (uint8_t)(i * 3 + 11);
    send_all(&t, d, 600);
    EXPECT(&t, TCP_ACK, 600);
    assert_memory_equal(t.o.data, d, 600);
    assert_int_equal(t.pack, 0x159);
    ust_time_t sent = t.f.now;
    assert_true(run_until_tx(&t.f, sent + 5 * UST_SEC) != UST_TIME_NEVER);
    EXPECT_SEG(&t, TCP_ACK, 0xffffff01u, PISN + 1, 600);
    assert_memory_equal(t.o.data, d, 600);
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    send_all(&t, d + 600, 100);
    EXPECT(&t, TCP_ACK, 100);
    assert_int_equal(t.o.th.seq, 0x159);
    assert_memory_equal(t.o.data, d + 600, 100);
    /* A partial ACK across the wrap point moves snd_una correctly. */
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    t_fini(&t);
}

static void delayed_ack(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL); /* tcp_delack 40 ms */
    peer(&t, TCP_ACK | TCP_PSH, "small", 5);
    EXPECT_NONE(&t);
    ust_time_t t0 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t0 + UST_SEC), t0 + 40 * UST_MS);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(st(&t)->tcp.delayed_acks, 1);
    expect_recv(&t, "small", 5);
    EXPECT_NONE(&t);
    /* Two full-sized segments: ACKed at once, after the second. */
    static uint8_t big[1460];
    memset(big, 'b', sizeof(big));
    peer(&t, TCP_ACK, big, sizeof(big));
    EXPECT_NONE(&t);
    peer(&t, TCP_ACK, big, sizeof(big));
    EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.delayed_acks, 1);
    /* An ACK rides on data we send within the delay. */
    peer(&t, TCP_ACK | TCP_PSH, "ping", 4);
    EXPECT_NONE(&t);
    send_all(&t, "pong", 4);
    EXPECT(&t, TCP_ACK, 4);
    assert_int_equal(run_until_tx(&t.f, t.f.now + 100 * UST_MS), UST_TIME_NEVER);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(out_of_window_data_is_acked_not_taken),
        cmocka_unit_test(out_of_order_is_reassembled),
        cmocka_unit_test(sequence_wrap_receive),
        cmocka_unit_test(sequence_wrap_send),
        cmocka_unit_test(delayed_ack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
