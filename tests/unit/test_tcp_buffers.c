/* More TCP transitions and the buffers: an orphan in FIN-WAIT-2, data
 * after close, SHUT_RD, closing a listener with connections queued, ICMP
 * errors (RFC 5927); the receive window filling and reopening (RFC 1122
 * 4.2.3.3), the send buffer bounding writes, a zero window with data in
 * flight (RFC 9293 3.8.6.1). The test plays the peer
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
#include "wire/bytes.h"

static void orphan_fin_wait_2_times_out(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_fin_timeout = 5 * UST_SEC;
    t_open(&t, &cfg);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(state_of(&t), TCPS_FIN_WAIT_2);
    ust_time_t t0 = t.f.now;
    /* The peer never closes: the orphan gives up after tcp_fin_timeout. */
    fixture_advance_to(&t.f, t0 + 5 * UST_SEC - 1);
    assert_int_equal(state_of(&t), TCPS_FIN_WAIT_2);
    fixture_advance_to(&t.f, t0 + 5 * UST_SEC);
    assert_int_equal(state_of(&t), GONE);
    EXPECT_NONE(&t);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    t_fini(&t);
}

static void data_after_close_resets(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    EXPECT(&t, TCP_ACK | TCP_FIN, 0);
    /* Nobody will ever read this: abort (RFC 9293 3.10.7.4 leaves it open;
     * Linux resets). */
    peer(&t, TCP_ACK | TCP_PSH, "too late", 8);
    EXPECT_SEG(&t, TCP_RST | TCP_ACK, t.pack, t.pseq - 8, 0);
    assert_int_equal(state_of(&t), GONE);
    assert_int_equal(st(&t)->tcp.aborts, 1);
    t_fini(&t);
}

static void shut_rd_discards(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer(&t, TCP_ACK | TCP_PSH, "before", 6);
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_RD), 0);
    char b[16];
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    cap_clear(t.f.cap);
    /* Later data is acknowledged and thrown away; sending still works. */
    peer(&t, TCP_ACK | TCP_PSH, "after", 5);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), 0);
    send_all(&t, "out", 3);
    EXPECT(&t, TCP_ACK, 3);
    peer(&t, TCP_ACK, NULL, 0);
    t_fini(&t);
}

static void receive_window_fills_and_reopens(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_rcvbuf = 4000;
    cfg.tcp_rcvbuf_max = 0; /* a fixed buffer, not auto-tuned */
    t_init(&t, &cfg);
    t_passive(&t, PISN, 0);
    assert_int_equal(t.o.th.window, 4000); /* the SYN-ACK's */
    uint8_t d[4100];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 7);
    peer(&t, TCP_ACK, d, 1460);
    peer(&t, TCP_ACK, d + 1460, 1460);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.window, 4000 - 2920);
    peer(&t, TCP_ACK | TCP_PSH, d + 2920, 1080);
    fixture_advance_to(&t.f, t.f.now + UST_SEC);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.window, 0);
    /* The window is closed: a probe (one byte) or more data is not taken;
     * the answer is an ACK still offering 0. */
    peer_at(&t, t.pseq, TCP_ACK, d + 4000, 1);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.window, 0);
    peer_at(&t, t.pseq, TCP_ACK, d + 4000, 100);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.window, 0);
    /* A zero-window probe in Linux's style (one below, no data). */
    peer_at(&t, t.pseq - 1, TCP_ACK, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.window, 0);
    /* Reading a little does not reopen it by a silly amount (RFC 1122
     * 4.2.3.3): no update until at least an MSS is free. */
    uint8_t b[4100];
    assert_int_equal(ust_recv(t.f.s, t.fd, b, 1000, 0), 1000);
    EXPECT_NONE(&t);
    assert_int_equal(ust_recv(t.f.s, t.fd, b + 1000, 500, 0), 500);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.window, 1500);
    peer(&t, TCP_ACK, d + 4000, 100);
    assert_int_equal(ust_recv(t.f.s, t.fd, b + 1500, sizeof(b) - 1500, 0), 2600);
    assert_memory_equal(b, d, 4100);
    t_fini(&t);
}

static void send_buffer_bounds_writes(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_sndbuf = 10000;
    cfg.tcp_sndbuf_max = 0; /* fixed, not auto-tuned */
    t_init(&t, &cfg);
    t_passive(&t, PISN, 0);
    static uint8_t d[20000];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 3 + 1);
    /* Non-blocking: what fits is queued, then EAGAIN and no POLLOUT. */
    assert_int_equal(ust_send(t.f.s, t.fd, d, sizeof(d), 0), 10000);
    assert_fails(ust_send(t.f.s, t.fd, d, 1, 0), EAGAIN);
    assert_int_equal(events(&t.f, t.fd) & POLLOUT, 0);
    size_t got = 0;
    while (pop(&t)) {
        assert_int_equal(t.o.th.seq, t.pack + got);
        assert_memory_equal(t.o.data, d + got, t.o.len);
        got += t.o.len;
    }
    assert_int_equal(got, 4380); /* the initial congestion window */
    /* The ACK frees room: writable again, and more goes out. */
    t.pack += (uint32_t)got;
    peer(&t, TCP_ACK, NULL, 0);
    assert_true(events(&t.f, t.fd) & POLLOUT);
    assert_int_equal(ust_send(t.f.s, t.fd, d + 10000, 10000, 0), 4380);
    size_t sent = 14380;
    for (int round = 0; got < sent && round < 50; round++) {
        size_t before = got;
        while (pop(&t)) {
            assert_int_equal(t.o.th.seq, t.pack + (got - before));
            assert_memory_equal(t.o.data, d + got, t.o.len);
            got += t.o.len;
        }
        t.pack += (uint32_t)(got - before);
        peer(&t, TCP_ACK, NULL, 0);
        if (sent < sizeof(d)) {
            ssize_t n = ust_send(t.f.s, t.fd, d + sent, sizeof(d) - sent, 0);
            if (n > 0)
                sent += (size_t)n;
        }
    }
    assert_int_equal(got, sizeof(d));
    t_fini(&t);
}

static void closing_listener_resets_queued(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    /* One child established but not accepted, one still in SYN-RECEIVED. */
    t.port = 80;
    t.pport = 40000;
    t.pseq = PISN;
    peer(&t, TCP_SYN, NULL, 0);
    EXPECT_SYNACK(&t, PISN + 1);
    t.pack = t.iss + 1;
    peer(&t, TCP_ACK, NULL, 0);
    uint32_t iss_a = t.iss, pseq_a = t.pseq;
    seg_in(&t.f, 40001, 80, 777, 0, TCP_SYN, 65535, NULL, 0, NULL, 0);
    t.pport = 40001;
    EXPECT_SYNACK(&t, 778);
    uint32_t iss_b = t.iss;
    assert_int_equal(t.f.s->tcp->nconns, 3);
    assert_int_equal(ust_close(t.f.s, t.lfd), 0);
    t.lfd = -1;
    /* Both get a RST, in some order. */
    int seen = 0;
    while (pop(&t)) {
        assert_int_equal(t.o.th.flags & TCP_RST, TCP_RST);
        if (t.o.th.dport == 40000) {
            assert_int_equal(t.o.th.seq, iss_a + 1);
            assert_int_equal(t.o.th.ack, pseq_a);
            seen |= 1;
        } else {
            assert_int_equal(t.o.th.dport, 40001);
            assert_int_equal(t.o.th.seq, iss_b + 1);
            seen |= 2;
        }
    }
    assert_int_equal(seen, 3);
    assert_int_equal(t.f.s->tcp->nconns, 0);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    t_fini(&t);
}

/* An ICMP error from the peer quoting a segment we sent (IP header and
 * the first 8 bytes). */
static void icmp_error_in(struct tcp_peer *t, uint8_t type, uint8_t code, uint32_t seq)
{
    uint8_t q[28], tcp8[8], fr[128];
    st16(tcp8, t->port);
    st16(tcp8 + 2, t->pport);
    st32(tcp8 + 4, seq);
    build_ipv4(q, T_IP_US, T_IP_PEER, IPV4_PROTO_TCP, 1, 0, 64, tcp8, 8);
    st16(q + 2, 44); /* the quoted datagram was longer */
    size_t n = build_icmp(fr + TCP_OFF, type, code, 0, q, sizeof(q));
    n = build_ipv4(fr + ETH_HDR, T_IP_PEER, T_IP_US, 1, 9, 0, 64, fr + TCP_OFF, n);
    n = build_eth(fr, t_mac_us, t_mac_peer, 0x0800, fr + ETH_HDR, n);
    fixture_input(&t->f, fr, n);
}

static void icmp_errors(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.pport = 80;
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    t.port = t.o.th.sport;
    t.iss = t.o.th.seq;
    /* RFC 5927: an error quoting a sequence number we never sent is
     * not believed. */
    icmp_error_in(&t, 3, 3, t.iss + 1000);
    assert_int_equal(state_of(&t), TCPS_SYN_SENT);
    /* Port unreachable while connecting: refused (RFC 1122 4.2.3.9). */
    icmp_error_in(&t, 3, 3, t.iss);
    assert_int_equal(state_of(&t), GONE);
    assert_int_equal(so_error(&t.f, t.fd), ECONNREFUSED);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    /* Once established, errors are soft: the connection carries on. */
    t_active(&t, opt_mss1460, 4);
    icmp_error_in(&t, 3, 1, t.pack);
    icmp_error_in(&t, 11, 0, t.pack);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(so_error(&t.f, t.fd), 0);
    send_all(&t, "ok", 2);
    EXPECT(&t, TCP_ACK, 2);
    EXPECT_NONE(&t);
    t_fini(&t);
}

static void zero_window_with_data_in_flight(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_max_retries = 4;
    t_open(&t, &cfg); /* RTO 200 ms */
    static uint8_t d[3 * 1460];
    memset(d, 'w', sizeof(d));
    send_all(&t, d, sizeof(d));
    uint32_t una = t.pack;
    for (int i = 0; i < 3; i++)
        EXPECT(&t, TCP_ACK, 1460);
    /* The peer took the first segment only (the others were lost) and its
     * buffer is full: it ACKs it with a zero window. */
    t.pwin = 0;
    peer_seg(&t, t.pseq, una + 1460, TCP_ACK, 0, NULL, 0, NULL, 0);
    EXPECT_NONE(&t);
    /* RFC 9293 3.8.6.1: the sender must keep probing the window; while
     * the peer answers, the connection must not time out (here well past
     * tcp_max_retries RTOs). */
    ust_time_t t0 = t.f.now;
    int probes = 0;
    for (int i = 0; i < 12; i++) {
        assert_true(run_until_tx(&t.f, t0 + 3600 * UST_SEC) != UST_TIME_NEVER);
        while (pop(&t)) {
            assert_int_equal(t.o.th.flags & (TCP_SYN | TCP_RST | TCP_FIN), 0);
            assert_true(seq_le(t.o.th.seq, una + 1460));
            probes++;
        }
        peer_seg(&t, t.pseq, una + 1460, TCP_ACK, 0, NULL, 0, NULL, 0);
        assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    }
    assert_true(probes >= 12);
    assert_int_equal(st(&t)->tcp.timeouts, 0);
    /* The window opens: what was in flight is sent again (in slow start
     * after the timeout, so the peer's ACKs clock it out). */
    cap_clear(t.f.cap);
    peer_seg(&t, t.pseq, una + 1460, TCP_ACK, 65535, NULL, 0, NULL, 0);
    uint32_t end = una + 1460;
    for (int i = 0; i < 10 && seq_lt(end, una + 3 * 1460); i++) {
        assert_true(cap_count(t.f.cap) > 0);
        while (pop(&t)) {
            assert_true(seq_le(t.o.th.seq, end));
            assert_memory_equal(t.o.data, d, t.o.len);
            if (seq_gt(t.o.th.seq + (uint32_t)t.o.len, end))
                end = t.o.th.seq + (uint32_t)t.o.len;
        }
        peer_seg(&t, t.pseq, end, TCP_ACK, 65535, NULL, 0, NULL, 0);
    }
    assert_int_equal(end, una + 3 * 1460);
    t.pack = end;
    EXPECT_NONE(&t);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(orphan_fin_wait_2_times_out),
        cmocka_unit_test(data_after_close_resets),
        cmocka_unit_test(shut_rd_discards),
        cmocka_unit_test(receive_window_fills_and_reopens),
        cmocka_unit_test(send_buffer_bounds_writes),
        cmocka_unit_test(closing_listener_resets_queued),
        cmocka_unit_test(icmp_errors),
        cmocka_unit_test(zero_window_with_data_in_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
