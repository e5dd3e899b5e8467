/* TCP closing, segment by segment (RFC 9293 3.6, 3.10.4-5, 3.10.7): the
 * close states and TIME-WAIT, half-close, aborts (unread data, SO_LINGER
 * zero, RSTs either way), a refused connect, RSTs for segments nothing
 * listens for. The test plays the peer (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"

/* Data and FIN in one segment take FIN-WAIT-2 to TIME-WAIT: the ACK goes
 * at once, and TIME-WAIT keeps no timer but its 2 MSL (the fuzzer found a
 * delayed ACK left armed there, which the TIME-WAIT tail of the connection
 * list does not look at). */
static void data_and_fin_into_time_wait(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_msl = 5 * UST_SEC;
    t_open(&t, &cfg);
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(state_of(&t), TCPS_FIN_WAIT_2);
    peer(&t, TCP_ACK | TCP_PSH | TCP_FIN, "bye", 3);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    const struct tcp_conn *c = tcp_lookup(t.f.s, &T_ADDR_US, t.port, &T_ADDR_PEER, t.pport);
    assert_int_equal(c->delack_at, UST_TIME_NEVER);
    assert_int_equal(c->timer, TCP_TIMER_IDLE);
    assert_int_equal(tcp_next_deadline(t.f.s), t.f.now + 10 * UST_SEC);
    char buf[8];
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "bye", 3);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 0);
    fixture_advance_to(&t.f, t.f.now + 10 * UST_SEC);
    EXPECT_NONE(&t);
    t_fini(&t);
}

static void active_close(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_msl = 5 * UST_SEC;
    t_open(&t, &cfg);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    assert_int_equal(state_of(&t), TCPS_FIN_WAIT_1);
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), TCPS_FIN_WAIT_2);
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    ust_time_t tw = t.f.now;
    /* A retransmitted FIN is acknowledged again and restarts the 2 MSL. */
    fixture_advance_to(&t.f, tw + 3 * UST_SEC);
    peer_at(&t, t.pseq - 1, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    tw = t.f.now;
    fixture_advance_to(&t.f, tw + 10 * UST_SEC - 1);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    EXPECT_NONE(&t);
    fixture_advance_to(&t.f, tw + 10 * UST_SEC);
    assert_int_equal(state_of(&t), GONE);
    EXPECT_NONE(&t);
    assert_int_equal(t.f.s->tcp->nconns, 1); /* the listener only */
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    /* The pair is free: a segment for it now gets a RST. */
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_SEG(&t, TCP_RST, t.pack, 0, 0);
    t_fini(&t);
}

static void active_close_keeps_socket(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_msl = 1 * UST_SEC;
    t_open(&t, &cfg);
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0); /* acks our FIN and sends its own */
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    char b[4];
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    fixture_advance_to(&t.f, t.f.now + 2 * UST_SEC);
    assert_int_equal(state_of(&t), GONE);
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    assert_fails(ust_send(t.f.s, t.fd, "x", 1, 0), EPIPE);
    assert_int_equal(so_error(&t.f, t.fd), 0);
    t_fini(&t);
}

static void simultaneous_close(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_msl = 2 * UST_SEC;
    t_open(&t, &cfg);
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    assert_int_equal(state_of(&t), TCPS_FIN_WAIT_1);
    /* The peer's FIN crosses ours: it does not acknowledge our FIN yet. */
    peer_seg(&t, t.pseq, t.pack - 1, TCP_ACK | TCP_FIN, t.pwin, NULL, 0, NULL, 0);
    t.pseq++;
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_CLOSING);
    /* Then it does. */
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    char b[4];
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    fixture_advance_to(&t.f, t.f.now + 4 * UST_SEC - 1);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    fixture_advance_to(&t.f, t.f.now + 1);
    assert_int_equal(state_of(&t), GONE);
    t_fini(&t);
}

/* POLLRDHUP (epoll's EPOLLRDHUP) only when asked for. */
static short rdhup(struct fixture *f, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    assert_true(ust_poll(f->s, &p, 1, 0) >= 0);
    return p.revents;
}

static void passive_close(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer(&t, TCP_ACK | TCP_PSH, "x", 1);
    assert_int_equal(rdhup(&t.f, t.fd), POLLIN); /* data, no hang-up yet */
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0); /* at once */
    assert_int_equal(state_of(&t), TCPS_CLOSE_WAIT);
    assert_true(events(&t.f, t.fd) & POLLIN);
    /* As Linux: the peer's FIN is POLLRDHUP, and only for who asks. */
    assert_int_equal(rdhup(&t.f, t.fd), POLLIN | POLLRDHUP);
    assert_false(events(&t.f, t.fd) & POLLRDHUP);
    assert_int_equal(ust_recv(t.f.s, t.fd, (char[1]){0}, 1, 0), 1);
    char b[8];
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    /* We may still send. */
    send_all(&t, "bye", 3);
    EXPECT(&t, TCP_ACK, 3);
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    assert_int_equal(state_of(&t), TCPS_LAST_ACK);
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), GONE);
    assert_int_equal(t.f.s->tcp->nconns, 1);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    t_fini(&t);
}

static void last_ack_retransmits_fin(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    ust_time_t t0 = t.f.now;
    /* The FIN is lost: it comes again after the RTO (200 ms: RTT 0). */
    assert_int_equal(run_until_tx(&t.f, t0 + 10 * UST_SEC), t0 + 200 * UST_MS);
    EXPECT_SEG(&t, TCP_ACK | TCP_FIN, t.pack - 1, t.pseq, 0);
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(state_of(&t), GONE);
    char b[4];
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    t_fini(&t);
}

static void half_close_keeps_receiving(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    assert_fails(ust_send(t.f.s, t.fd, "x", 1, 0), EPIPE);
    assert_int_equal(rdhup(&t.f, t.fd), 0); /* our half only */
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(state_of(&t), TCPS_FIN_WAIT_2);
    /* The peer keeps sending; we keep receiving and acknowledging. */
    peer(&t, TCP_ACK | TCP_PSH, "more", 4);
    peer(&t, TCP_ACK | TCP_PSH, "data", 4);
    EXPECT(&t, TCP_ACK, 0);
    EXPECT_NONE(&t);
    expect_recv(&t, "moredata", 8);
    static uint8_t big[1460];
    memset(big, 'z', sizeof(big));
    peer(&t, TCP_ACK, big, sizeof(big));
    peer(&t, TCP_ACK, big, sizeof(big));
    EXPECT(&t, TCP_ACK, 0);
    char b[4096];
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 2920);
    cap_clear(t.f.cap); /* a window update may follow the read */
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_TIME_WAIT);
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    t_fini(&t);
}

static void close_with_unread_data_resets(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer(&t, TCP_ACK | TCP_PSH, "unread", 6);
    fixture_advance_to(&t.f, t.f.now + UST_SEC);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_RST | TCP_ACK, 0);
    assert_int_equal(state_of(&t), GONE);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.aborts, 1);
    assert_int_equal(t.f.s->tcp->nconns, 1);
    /* The peer's next segment finds nothing: RST. */
    peer(&t, TCP_ACK, "late", 4);
    EXPECT_SEG(&t, TCP_RST, t.pack, 0, 0);
    t_fini(&t);
}

static void linger_zero_resets(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    send_all(&t, "data", 4);
    EXPECT(&t, TCP_ACK, 4);
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    assert_int_equal(ust_setsockopt(t.f.s, t.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_RST | TCP_ACK, 0);
    assert_int_equal(state_of(&t), GONE);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    t_fini(&t);
}

static void rst_in_established(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer(&t, TCP_RST, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), GONE);
    assert_true(events(&t.f, t.fd) & POLLERR);
    char b[4];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), ECONNRESET);
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    assert_int_equal(st(&t)->tcp.resets, 1);
    assert_int_equal(st(&t)->tcp.rst_rx, 1);
    t_fini(&t);
}

static void send_after_rst(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer(&t, TCP_RST | TCP_ACK, NULL, 0);
    assert_int_equal(state_of(&t), GONE);
    assert_fails(ust_send(t.f.s, t.fd, "x", 1, 0), ECONNRESET);
    assert_fails(ust_send(t.f.s, t.fd, "x", 1, 0), EPIPE);
    EXPECT_NONE(&t);
    t_fini(&t);
}

static void connect_refused(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    for (int round = 0; round < 2; round++) {
        t.pport = 80;
        t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
        assert_int_equal(rdhup(&t.f, t.fd), POLLHUP); /* never connected: no RDHUP */
        struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
        assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
        assert_true(pop(&t));
        t.port = t.o.th.sport;
        /* What a closed port answers a SYN with: <SEQ=0><ACK=ISS+1><RST,ACK>. */
        seg_in(&t.f, 80, t.port, 0, t.o.th.seq + 1, TCP_RST | TCP_ACK, 0, NULL, 0, NULL, 0);
        EXPECT_NONE(&t);
        assert_int_equal(state_of(&t), GONE);
        assert_true(events(&t.f, t.fd) & POLLERR);
        assert_true(rdhup(&t.f, t.fd) & POLLRDHUP);
        if (round == 0) {
            assert_int_equal(so_error(&t.f, t.fd), ECONNREFUSED);
            assert_int_equal(so_error(&t.f, t.fd), 0);
            /* As Linux: SO_ERROR reported it; what is left is a closed
             * connection (EOF, EPIPE), no longer an error. */
            assert_int_equal(events(&t.f, t.fd), POLLIN | POLLOUT | POLLHUP);
            char b[4];
            assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
            assert_fails(ust_send(t.f.s, t.fd, "x", 1, MSG_NOSIGNAL), EPIPE);
        } else {
            char b[4];
            assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), ECONNREFUSED);
        }
        assert_int_equal(ust_close(t.f.s, t.fd), 0);
        t.fd = -1;
    }
    t_fini(&t);
}

static void no_listener_gets_rst(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.port = 9999;
    t.pport = 40000;
    /* No ACK bit: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN and FIN counting. */
    seg_in(&t.f, 40000, 9999, 1000, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
    EXPECT_SEG(&t, TCP_RST | TCP_ACK, 0, 1001, 0);
    assert_int_equal(t.o.th.window, 0);
    seg_in(&t.f, 40000, 9999, 2000, 0, TCP_FIN | TCP_PSH, 65535, NULL, 0, "abcde", 5);
    EXPECT_SEG(&t, TCP_RST | TCP_ACK, 0, 2006, 0);
    seg_in(&t.f, 40000, 9999, 0xfffffffeu, 0, 0, 65535, NULL, 0, "abcd", 4);
    EXPECT_SEG(&t, TCP_RST | TCP_ACK, 0, 2, 0); /* wraps */
    /* ACK bit: <SEQ=SEG.ACK><CTL=RST>. */
    seg_in(&t.f, 40000, 9999, 3000, 0xabcdef01u, TCP_ACK, 65535, NULL, 0, "xyz", 3);
    EXPECT_SEG(&t, TCP_RST, 0xabcdef01u, 0, 0);
    seg_in(&t.f, 40000, 9999, 3000, 77, TCP_ACK | TCP_FIN, 65535, NULL, 0, NULL, 0);
    EXPECT_SEG(&t, TCP_RST, 77, 0, 0);
    /* Never a RST for a RST. */
    seg_in(&t.f, 40000, 9999, 3000, 77, TCP_RST, 65535, NULL, 0, NULL, 0);
    seg_in(&t.f, 40000, 9999, 3000, 77, TCP_RST | TCP_ACK, 65535, NULL, 0, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.drop_no_conn, 7);
    assert_int_equal(st(&t)->tcp.rst_tx, 5);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(active_close),
        cmocka_unit_test(data_and_fin_into_time_wait),
        cmocka_unit_test(active_close_keeps_socket),
        cmocka_unit_test(simultaneous_close),
        cmocka_unit_test(passive_close),
        cmocka_unit_test(last_ack_retransmits_fin),
        cmocka_unit_test(half_close_keeps_receiving),
        cmocka_unit_test(close_with_unread_data_resets),
        cmocka_unit_test(linger_zero_resets),
        cmocka_unit_test(rst_in_established),
        cmocka_unit_test(send_after_rst),
        cmocka_unit_test(connect_refused),
        cmocka_unit_test(no_listener_gets_rst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
