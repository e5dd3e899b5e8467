/* TCP driven segment by segment on a virtual clock (RFC 9293 3.10, RFC 5961,
 * RFC 6298, RFC 5681/6582, RFC 1122 4.2). The test plays the peer,
 * 192.0.2.1: it builds every segment by hand, injects it into the fixture
 * stack (192.0.2.2, embedded mode: no call ever blocks) and pops what the
 * stack sent from the capture device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tcp_peer.h"
#include "transport/tcp.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

/* ================= opening ================= */

static void passive_open(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    assert_int_equal(events(&t.f, t.lfd), 0);
    t.port = 80;
    t.pport = 40000;
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t.o.th.ack, PISN + 1);
    assert_int_equal(t.o.th.mss, 1460); /* 1500 - 40 */
    assert_int_equal(t.o.th.window, 65535);
    assert_int_equal(t.o.th.sport, 80);
    assert_int_equal(t.o.th.dport, 40000);
    assert_int_equal(t.o.len, 0);
    t.iss = t.o.th.seq;
    t.pack = t.iss + 1;
    assert_int_equal(state_of(&t), TCPS_SYN_RECEIVED);
    /* Not acceptable before the handshake completes. */
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(events(&t.f, t.lfd), POLLIN);
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    t.fd = ust_accept(t.f.s, t.lfd, SA(from), &fl);
    assert_true(t.fd > 0);
    assert_int_equal(ntohl(from.sin_addr.s_addr), T_IP_PEER);
    assert_int_equal(ntohs(from.sin_port), 40000);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(events(&t.f, t.fd), POLLOUT);
    assert_int_equal(st(&t)->tcp.passive_opens, 1);
    assert_int_equal(st(&t)->tcp.established, 1);
    /* Data both ways. */
    peer(&t, TCP_ACK | TCP_PSH, "hello", 5);
    assert_int_equal(events(&t.f, t.fd), POLLIN | POLLOUT);
    expect_recv(&t, "hello", 5);
    send_all(&t, "world", 5);
    EXPECT(&t, TCP_ACK, 5);
    assert_memory_equal(t.o.data, "world", 5);
    assert_int_equal(t.o.th.flags, TCP_ACK | TCP_PSH);
    t_fini(&t);
}

static void listen_answers_ack_with_rst_and_ignores_rst(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    t.port = 80;
    t.pport = 40001;
    /* RFC 9293 3.10.7.2: a RST is ignored, an ACK answered <SEQ=SEG.ACK><CTL=RST>. */
    peer_at(&t, 5000, TCP_RST, NULL, 0);
    EXPECT_NONE(&t);
    t.pack = 0x12345678;
    peer_at(&t, 5000, TCP_ACK, "x", 1);
    EXPECT_SEG(&t, TCP_RST, 0x12345678, 0, 0);
    /* A segment with neither SYN, ACK nor RST is dropped. */
    peer_at(&t, 5000, TCP_PSH, "x", 1);
    EXPECT_NONE(&t);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    t_fini(&t);
}

static void syn_received_retransmits_syn_ack(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_syn_retries = 2;
    t_init(&t, &cfg);
    t.lfd = listener(&t, 80, 8);
    t.port = 80;
    t.pport = 40000;
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
    ust_time_t t0 = t.f.now;
    EXPECT_SYNACK(&t, PISN + 1);
    /* The peer did not get it and sends its SYN again: the SYN-ACK again. */
    seg_in(&t.f, 40000, 80, PISN, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
    EXPECT_SEG(&t, TCP_SYN | TCP_ACK, t.iss, PISN + 1, 0);
    /* Our own timer: 1 s, 2 s, then give up after tcp_syn_retries. */
    assert_int_equal(run_until_tx(&t.f, t0 + 10 * UST_SEC), t0 + 1 * UST_SEC);
    EXPECT_SEG(&t, TCP_SYN | TCP_ACK, t.iss, PISN + 1, 0);
    assert_int_equal(run_until_tx(&t.f, t0 + 10 * UST_SEC), t0 + 3 * UST_SEC);
    EXPECT_SEG(&t, TCP_SYN | TCP_ACK, t.iss, PISN + 1, 0);
    assert_int_equal(run_until_tx(&t.f, t0 + 10 * UST_SEC), UST_TIME_NEVER);
    assert_int_equal(state_of(&t), GONE);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    /* The listener still works. */
    t.pport = 40002;
    t_passive(&t, PISN, 0);
    t_fini(&t);
}

static void syn_received_rst_returns_to_listen(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    t.port = 80;
    t.pport = 40000;
    t.pseq = PISN;
    peer(&t, TCP_SYN, NULL, 0);
    EXPECT_SYNACK(&t, PISN + 1);
    t.pack = t.iss + 1;
    assert_int_equal(state_of(&t), TCPS_SYN_RECEIVED);
    peer(&t, TCP_RST, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), GONE);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    /* An ACK that acknowledges something else than our SYN gets a RST. */
    t.pseq = PISN + 100;
    peer(&t, TCP_SYN, NULL, 0);
    EXPECT_SYNACK(&t, PISN + 101);
    uint32_t iss = t.iss;
    t.pack = iss + 7;
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_SEG(&t, TCP_RST, iss + 7, 0, 0);
    assert_int_equal(state_of(&t), TCPS_SYN_RECEIVED);
    t_fini(&t);
}

static void active_open(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.pport = 80;
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN);
    assert_int_equal(t.o.th.mss, 1460);
    assert_int_equal(t.o.th.window, 65535);
    assert_int_equal(t.o.th.dport, 80);
    assert_int_equal(t.o.len, 0);
    t.port = t.o.th.sport;
    assert_true(t.port >= 49152);
    t.iss = t.o.th.seq;
    t.pack = t.iss + 1;
    assert_int_equal(state_of(&t), TCPS_SYN_SENT);
    assert_int_equal(events(&t.f, t.fd), 0);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EALREADY);
    char b[4];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), EAGAIN);
    /* SYN-ACK -> ACK, ESTABLISHED, writable. */
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN | TCP_ACK, t.pwin, opt_mss1460, 4, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.ack, PISN + 1);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(events(&t.f, t.fd), POLLOUT);
    assert_int_equal(so_error(&t.f, t.fd), 0);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EISCONN);
    assert_int_equal(st(&t)->tcp.active_opens, 1);
    send_all(&t, "hi", 2);
    EXPECT(&t, TCP_ACK, 2);
    t_fini(&t);
}

static void active_open_bad_syn_ack(void **state)
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
    t.pseq = PISN;
    /* RFC 9293 3.10.7.3: an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>. */
    t.pack = t.iss + 5;
    peer_at(&t, PISN, TCP_SYN | TCP_ACK, NULL, 0);
    EXPECT_SEG(&t, TCP_RST, t.iss + 5, 0, 0);
    t.pack = t.iss;
    peer_at(&t, PISN, TCP_SYN | TCP_ACK, NULL, 0);
    EXPECT_SEG(&t, TCP_RST, t.iss, 0, 0);
    /* A RST without an acceptable ACK is ignored. */
    peer_at(&t, PISN, TCP_RST, NULL, 0);
    EXPECT_NONE(&t);
    peer_at(&t, PISN, TCP_RST | TCP_ACK, NULL, 0); /* ack = iss: not acceptable */
    EXPECT_NONE(&t);
    /* Neither SYN nor RST: dropped. */
    t.pack = t.iss + 1;
    peer_at(&t, PISN, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), TCPS_SYN_SENT);
    assert_int_equal(so_error(&t.f, t.fd), 0);
    /* The real one still works. */
    peer_opt(&t, TCP_SYN | TCP_ACK, t.pwin, opt_mss1460, 4, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    t_fini(&t);
}

static void check_peer_mss(const uint8_t *opt, size_t optlen)
{
    struct tcp_peer t;
    t_init(&t, NULL);
    t_active(&t, opt, optlen);
    int v = 0;
    socklen_t l = sizeof(v);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_TCP, TCP_MAXSEG, &v, &l), 0);
    assert_int_equal(v, 536);
    static uint8_t data[3000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31);
    send_all(&t, data, sizeof(data));
    /* Whatever the window lets out is in pieces of at most 536; ACK it all
     * and the rest follows. */
    uint32_t base = t.pack;
    size_t total = 0;
    int segs = 0;
    for (int round = 0; total < sizeof(data) && round < 20; round++) {
        size_t before = total;
        while (pop(&t)) {
            assert_int_equal(t.o.th.seq, base + total);
            assert_true(t.o.len > 0 && t.o.len <= 536);
            assert_memory_equal(t.o.data, data + total, t.o.len);
            if (segs == 0)
                assert_int_equal(t.o.len, 536);
            total += t.o.len;
            segs++;
        }
        assert_true(total > before);
        t.pack = base + (uint32_t)total;
        peer(&t, TCP_ACK, NULL, 0);
    }
    assert_true(segs >= 6);
    assert_int_equal(total, sizeof(data));
    t_fini(&t);
}

static void peer_mss_honoured(void **state)
{
    (void)state;
    check_peer_mss(opt_mss536, sizeof(opt_mss536));
    check_peer_mss(NULL, 0); /* no option: RFC 9293 3.7.1 says 536 */
}

static void simultaneous_open(void **state)
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
    /* RFC 9293 figure 8: the peer's SYN crosses ours. */
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
    assert_int_equal(state_of(&t), TCPS_SYN_RECEIVED);
    t.pack = t.iss;
    EXPECT(&t, TCP_SYN | TCP_ACK, 0);
    assert_int_equal(t.o.th.ack, PISN + 1);
    assert_int_equal(t.o.th.mss, 1460);
    assert_int_equal(events(&t.f, t.fd), 0);
    /* The peer's SYN-ACK (line 6 of the figure): ESTABLISHED. */
    peer_at(&t, PISN, TCP_SYN | TCP_ACK, NULL, 0);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(events(&t.f, t.fd), POLLOUT);
    /* Anything we said about it can only be a bare ACK. */
    while (pop(&t)) {
        assert_int_equal(t.o.th.flags, TCP_ACK);
        assert_int_equal(t.o.th.ack, PISN + 1);
    }
    send_all(&t, "sim", 3);
    EXPECT(&t, TCP_ACK, 3);
    peer(&t, TCP_ACK, "ok", 2);
    expect_recv(&t, "ok", 2);
    t_fini(&t);
}

static void simultaneous_open_plain_ack(void **state)
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
    t.pseq = PISN;
    peer(&t, TCP_SYN, NULL, 0);
    t.pack = t.iss;
    EXPECT(&t, TCP_SYN | TCP_ACK, 0);
    /* The peer got our SYN-ACK and answers with a bare ACK. */
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    assert_int_equal(events(&t.f, t.fd), POLLOUT);
    t_fini(&t);
}

/* ================= closing ================= */

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
    const struct tcp_conn *c = tcp_lookup(t.f.s, T_IP_US, t.port, T_IP_PEER, t.pport);
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

static void passive_close(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    peer(&t, TCP_ACK | TCP_FIN, NULL, 0);
    EXPECT(&t, TCP_ACK, 0); /* at once */
    assert_int_equal(state_of(&t), TCPS_CLOSE_WAIT);
    assert_true(events(&t.f, t.fd) & POLLIN);
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
        struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
        assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
        assert_true(pop(&t));
        t.port = t.o.th.sport;
        /* What a closed port answers a SYN with: <SEQ=0><ACK=ISS+1><RST,ACK>. */
        seg_in(&t.f, 80, t.port, 0, t.o.th.seq + 1, TCP_RST | TCP_ACK, 0, NULL, 0, NULL, 0);
        EXPECT_NONE(&t);
        assert_int_equal(state_of(&t), GONE);
        assert_true(events(&t.f, t.fd) & POLLERR);
        if (round == 0) {
            assert_int_equal(so_error(&t.f, t.fd), ECONNREFUSED);
            assert_int_equal(so_error(&t.f, t.fd), 0);
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

/* ================= RFC 5961 ================= */

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

/* ================= receiving ================= */

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

/* ================= sending and timers ================= */

/* A lone segment gets no answer: the tail loss probe sends it again after
 * max(2*SRTT, 10 ms) + 200 ms (one segment out: the peer may be holding a
 * delayed ACK), before the retransmission timeout; one probe only, then
 * the timeout as usual. */
static void tail_loss_probe(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_min_rto = 1 * UST_SEC;
    t_open(&t, &cfg); /* SRTT 0 */
    send_all(&t, "tail", 4);
    EXPECT(&t, TCP_ACK, 4);
    uint32_t seq = t.pack - 4;
    ust_time_t t0 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + 210 * UST_MS);
    EXPECT_SEG(&t, TCP_ACK, seq, t.pseq, 4);
    EXPECT_NONE(&t);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.loss_probes, 1);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.rto_timeouts, 0);
    /* No second probe: the timeout, a full RTO after the probe. */
    assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + 1210 * UST_MS);
    EXPECT_SEG(&t, TCP_ACK, seq, t.pseq, 4);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.loss_probes, 1);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.rto_timeouts, 1);
    /* The ACK: done, nothing armed. */
    t.pack = seq + 4;
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(run_until_tx(&t.f, t.f.now + 60 * UST_SEC), UST_TIME_NEVER);
    t_fini(&t);
}

static void retransmission_backoff_and_give_up(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_min_rto = 1 * UST_SEC; /* RFC 6298's floor: the RTO stays 1 s after a 0 RTT */
    cfg.tcp_max_retries = 3;
    cfg.tcp_loss_probes = false; /* the timeouts alone (tail_loss_probe has the probe) */
    t_open(&t, &cfg);
    send_all(&t, "lost", 4);
    EXPECT(&t, TCP_ACK, 4);
    uint32_t seq = t.pack - 4;
    ust_time_t t0 = t.f.now;
    ust_time_t want[] = {1, 3, 7};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + want[i] * UST_SEC);
        EXPECT_SEG(&t, TCP_ACK, seq, t.pseq, 4);
        assert_memory_equal(t.o.data, "lost", 4);
        EXPECT_NONE(&t);
        assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    }
    /* Three retransmissions unanswered: the fourth timeout (8 s later) ends it. */
    fixture_advance_to(&t.f, t0 + 15 * UST_SEC - 1);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    fixture_advance_to(&t.f, t0 + 15 * UST_SEC);
    assert_int_equal(state_of(&t), GONE);
    cap_clear(t.f.cap);
    char b[4];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), ETIMEDOUT);
    assert_int_equal(st(&t)->tcp.timeouts, 1);
    assert_int_equal(st(&t)->tcp.rto_timeouts, 4);
    assert_int_equal(st(&t)->tcp.retransmits, 3);
    assert_fails(ust_send(t.f.s, t.fd, "x", 1, 0), EPIPE);
    t_fini(&t);
}

static void rtt_estimation(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL); /* tcp_min_rto 200 ms */
    /* The handshake takes 100 ms: SRTT 100, RTTVAR 50, RTO 100 + 4*50 = 300 ms. */
    t_passive(&t, PISN, 100 * UST_MS);
    send_all(&t, "a", 1);
    EXPECT(&t, TCP_ACK, 1);
    ust_time_t t1 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t1 + 10 * UST_SEC), t1 + 300 * UST_MS);
    EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 1);
    /* Karn: the ACK of a retransmitted segment is no sample. */
    fixture_advance_to(&t.f, t.f.now + 50 * UST_MS);
    peer(&t, TCP_ACK, NULL, 0);
    /* The next one is acknowledged 250 ms later: RTTVAR = 3/4*50 + 1/4*150
     * = 75, SRTT = 7/8*100 + 1/8*250 = 118.75, RTO = 118.75 + 300 ms. */
    send_all(&t, "b", 1);
    EXPECT(&t, TCP_ACK, 1);
    fixture_advance_to(&t.f, t.f.now + 250 * UST_MS);
    EXPECT_NONE(&t);
    peer(&t, TCP_ACK, NULL, 0);
    send_all(&t, "c", 1);
    EXPECT(&t, TCP_ACK, 1);
    ust_time_t t3 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t3 + 10 * UST_SEC), t3 + 418750);
    EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 1);
    /* Backed off: twice that. */
    assert_int_equal(run_until_tx(&t.f, t3 + 10 * UST_SEC), t3 + 3 * 418750);
    EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 1);
    peer(&t, TCP_ACK, NULL, 0);
    t_fini(&t);
}

static void rto_floor(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t_passive(&t, PISN, 10 * UST_MS); /* 10 + 4*5 = 30 ms, below the 200 ms floor */
    send_all(&t, "x", 1);
    EXPECT(&t, TCP_ACK, 1);
    ust_time_t t1 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t1 + 10 * UST_SEC), t1 + 200 * UST_MS);
    EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 1);
    peer(&t, TCP_ACK, NULL, 0);
    t_fini(&t);
}

static void syn_retransmission_and_give_up(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_syn_retries = 2;
    t_init(&t, &cfg);
    t.pport = 80;
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    ust_time_t t0 = t.f.now;
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    t.port = t.o.th.sport;
    t.iss = t.o.th.seq;
    ust_time_t want[] = {1, 3};
    for (int i = 0; i < 2; i++) {
        assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + want[i] * UST_SEC);
        EXPECT_SEG(&t, TCP_SYN, t.iss, 0, 0);
        assert_int_equal(t.o.th.mss, 1460);
        assert_int_equal(state_of(&t), TCPS_SYN_SENT);
    }
    fixture_advance_to(&t.f, t0 + 7 * UST_SEC - 1);
    assert_int_equal(state_of(&t), TCPS_SYN_SENT);
    fixture_advance_to(&t.f, t0 + 7 * UST_SEC);
    assert_int_equal(state_of(&t), GONE);
    EXPECT_NONE(&t);
    assert_true(events(&t.f, t.fd) & POLLERR);
    assert_int_equal(so_error(&t.f, t.fd), ETIMEDOUT);
    assert_int_equal(st(&t)->tcp.timeouts, 1);
    t_fini(&t);
}

static void rto_after_syn_timeout_is_3s(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.pport = 80;
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    ust_time_t t0 = t.f.now;
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    t.port = t.o.th.sport;
    t.iss = t.o.th.seq;
    t.pack = t.iss + 1;
    assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + UST_SEC);
    EXPECT_SEG(&t, TCP_SYN, t.iss, 0, 0);
    fixture_advance_to(&t.f, t0 + 1500 * UST_MS);
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN | TCP_ACK, t.pwin, opt_mss1460, 4, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    /* RFC 6298 5.7: the SYN timed out and no RTT was measured, so data
     * starts with an RTO of 3 s. */
    send_all(&t, "x", 1);
    EXPECT(&t, TCP_ACK, 1);
    ust_time_t t1 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t1 + 60 * UST_SEC), t1 + 3 * UST_SEC);
    EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 1);
    peer(&t, TCP_ACK, NULL, 0);
    struct linger l = {.l_onoff = 1, .l_linger = 0}; /* done with it: RST */
    assert_int_equal(ust_setsockopt(t.f.s, t.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
    assert_int_equal(ust_close(t.f.s, t.fd), 0);
    t.fd = -1;
    cap_clear(t.f.cap);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);

    /* The same on the passive side, when our SYN-ACK timed out. */
    t.lfd = listener(&t, 80, 8);
    t.port = 80;
    t.pport = 40000;
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
    EXPECT_SYNACK(&t, PISN + 1);
    t.pack = t.iss + 1;
    t0 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + UST_SEC);
    EXPECT_SYNACK(&t, PISN + 1);
    peer(&t, TCP_ACK, NULL, 0);
    t.fd = ust_accept(t.f.s, t.lfd, NULL, NULL);
    assert_true(t.fd > 0);
    send_all(&t, "y", 1);
    EXPECT(&t, TCP_ACK, 1);
    t1 = t.f.now;
    assert_int_equal(run_until_tx(&t.f, t1 + 60 * UST_SEC), t1 + 3 * UST_SEC);
    EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 1);
    peer(&t, TCP_ACK, NULL, 0);
    t_fini(&t);
}

static void fast_retransmit_and_newreno(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    /* The initial window is 3 segments of 1460 (RFC 5681: min(4*MSS,
     * max(2*MSS, 4380))). */
    static uint8_t d[3 * 1460];
    for (size_t i = 0; i < sizeof(d); i++)
        d[i] = (uint8_t)(i * 5 + 3);
    send_all(&t, d, sizeof(d));
    uint32_t una = t.pack;
    for (int i = 0; i < 3; i++) {
        EXPECT(&t, TCP_ACK, 1460);
        assert_memory_equal(t.o.data, d + i * 1460, 1460);
    }
    EXPECT_NONE(&t);
    /* Segment 1 was lost: three duplicate ACKs. */
    for (int i = 0; i < 2; i++) {
        peer_seg(&t, t.pseq, una, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
        EXPECT_NONE(&t);
    }
    peer_seg(&t, t.pseq, una, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT_SEG(&t, TCP_ACK, una, t.pseq, 1460);
    assert_memory_equal(t.o.data, d, 1460);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.fast_retransmits, 1);
    assert_int_equal(st(&t)->tcp.dup_acks, 3);
    /* More duplicates only inflate the window: nothing new to send. */
    peer_seg(&t, t.pseq, una, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT_NONE(&t);
    /* A partial ACK (segment 2 was lost too): it goes at once (RFC 6582). */
    peer_seg(&t, t.pseq, una + 1460, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT_SEG(&t, TCP_ACK, una + 1460, t.pseq, 1460);
    assert_memory_equal(t.o.data, d + 1460, 1460);
    EXPECT_NONE(&t);
    /* The full ACK ends recovery. */
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.fast_retransmits, 1);
    assert_int_equal(st(&t)->tcp.retransmits, 2);
    assert_int_equal(st(&t)->tcp.rto_timeouts, 0);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    /* Later duplicate ACKs of everything are no loss signal. */
    for (int i = 0; i < 4; i++)
        peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.fast_retransmits, 1);
    t_fini(&t);
}

static void zero_window_persist(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_max_retries = 3; /* the probes are not retransmissions */
    t_open(&t, &cfg);        /* RTO 200 ms */
    t.pwin = 0;
    peer(&t, TCP_ACK, NULL, 0); /* the window closes */
    send_all(&t, "waiting", 7);
    EXPECT_NONE(&t);
    ust_time_t prev = t.f.now, gap = 0;
    for (int i = 0; i < 16; i++) {
        ust_time_t at = run_until_tx(&t.f, prev + 120 * UST_SEC);
        assert_true(at != UST_TIME_NEVER);
        /* A probe: one below snd_una, no data; we answer with our window 0. */
        EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 0);
        EXPECT_NONE(&t);
        ust_time_t g = at - prev;
        if (i == 0)
            assert_int_equal(g, 200 * UST_MS);
        else
            assert_true(g == 2 * gap || (g >= gap && g == 60 * UST_SEC));
        gap = g;
        prev = at;
        peer(&t, TCP_ACK, NULL, 0);
        EXPECT_NONE(&t);
        assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    }
    assert_int_equal(gap, 60 * UST_SEC);
    assert_int_equal(st(&t)->tcp.window_probes, 16);
    /* The window opens: the data goes at once. */
    t.pwin = 1000;
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT(&t, TCP_ACK, 7);
    assert_memory_equal(t.o.data, "waiting", 7);
    peer(&t, TCP_ACK, NULL, 0);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    t_fini(&t);
}

static void nagle(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    send_all(&t, "a", 1);
    EXPECT(&t, TCP_ACK, 1); /* nothing in flight: at once */
    send_all(&t, "b", 1);
    send_all(&t, "c", 1);
    EXPECT_NONE(&t); /* small, with data in flight: waits */
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT(&t, TCP_ACK, 2);
    assert_memory_equal(t.o.data, "bc", 2);
    /* A full segment is not held back. */
    static uint8_t big[1460 + 10];
    memset(big, 'f', sizeof(big));
    send_all(&t, big, sizeof(big));
    EXPECT(&t, TCP_ACK, 1460);
    EXPECT_NONE(&t); /* the 10-byte tail waits */
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT(&t, TCP_ACK, 10);
    EXPECT_NONE(&t);
    peer(&t, TCP_ACK, NULL, 0);
    /* TCP_NODELAY: small segments go at once, in flight or not. */
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_NODELAY, 1);
    send_all(&t, "d", 1);
    EXPECT(&t, TCP_ACK, 1);
    send_all(&t, "e", 1);
    EXPECT(&t, TCP_ACK, 1);
    send_all(&t, "f", 1);
    EXPECT(&t, TCP_ACK, 1);
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    t_fini(&t);
}

static void keepalive_gives_up(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_KEEPIDLE, 1);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_KEEPINTVL, 1);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_KEEPCNT, 3);
    set_int(&t.f, t.fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    ust_time_t t0 = t.f.now;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + (ust_time_t)i * UST_SEC);
        EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 0);
        EXPECT_NONE(&t);
    }
    assert_int_equal(st(&t)->tcp.keepalive_probes, 3);
    fixture_advance_to(&t.f, t0 + 4 * UST_SEC - 1);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    fixture_advance_to(&t.f, t0 + 4 * UST_SEC);
    assert_int_equal(state_of(&t), GONE);
    /* Whether a last RST goes out is the implementation's choice. */
    while (pop(&t))
        assert_true(t.o.th.flags & TCP_RST);
    char b[4];
    assert_fails(ust_recv(t.f.s, t.fd, b, sizeof(b), 0), ETIMEDOUT);
    assert_int_equal(st(&t)->tcp.timeouts, 1);
    t_fini(&t);
}

static void keepalive_answered(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_KEEPIDLE, 1);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_KEEPINTVL, 1);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_KEEPCNT, 3);
    set_int(&t.f, t.fd, SOL_SOCKET, SO_KEEPALIVE, 1);
    ust_time_t t0 = t.f.now;
    for (int i = 1; i <= 10; i++) {
        assert_int_equal(run_until_tx(&t.f, t0 + 60 * UST_SEC), t0 + (ust_time_t)i * UST_SEC);
        EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 0);
        peer(&t, TCP_ACK, NULL, 0);
        EXPECT_NONE(&t);
    }
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    /* Traffic also counts as life: data at +0.5 s pushes the probe to +1.5 s. */
    fixture_advance_to(&t.f, t.f.now + 500 * UST_MS);
    peer(&t, TCP_ACK | TCP_PSH, "hi", 2);
    ust_time_t td = t.f.now;
    expect_recv(&t, "hi", 2);
    assert_int_equal(run_until_tx(&t.f, td + 60 * UST_SEC), td + 40 * UST_MS);
    EXPECT(&t, TCP_ACK, 0); /* the delayed ACK */
    assert_int_equal(run_until_tx(&t.f, td + 60 * UST_SEC), td + UST_SEC);
    EXPECT_SEG(&t, TCP_ACK, t.pack - 1, t.pseq, 0);
    /* Off again: no more probes. */
    set_int(&t.f, t.fd, SOL_SOCKET, SO_KEEPALIVE, 0);
    assert_int_equal(run_until_tx(&t.f, t.f.now + 60 * UST_SEC), UST_TIME_NEVER);
    assert_int_equal(state_of(&t), TCPS_ESTABLISHED);
    t_fini(&t);
}

/* ================= hostile input ================= */

static void syn_flood_bounded_by_backlog(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 4);
    t_passive(&t, PISN, 0); /* an established, accepted connection */
    uint64_t sa = st(&t)->tcp.tx;
    for (uint16_t i = 0; i < 100; i++)
        seg_in(&t.f, (uint16_t)(50000 + i), 80, 1000u * i, 0, TCP_SYN, 65535, opt_mss1460, 4,
               NULL, 0);
    int synacks = 0;
    while (pop(&t)) {
        assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
        assert_int_equal(t.o.th.dport, 50000 + synacks);
        synacks++;
    }
    assert_int_equal(synacks, 4);
    assert_int_equal(st(&t)->tcp.tx, sa + 4);
    assert_int_equal(st(&t)->tcp.drop_backlog, 96);
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
    struct tcp_conn *l = tcp_find_listener(t->f.s, T_IP_US, 80);
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

/* ================= more transitions and buffers ================= */

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
        cmocka_unit_test(passive_open),
        cmocka_unit_test(listen_answers_ack_with_rst_and_ignores_rst),
        cmocka_unit_test(syn_received_retransmits_syn_ack),
        cmocka_unit_test(syn_received_rst_returns_to_listen),
        cmocka_unit_test(active_open),
        cmocka_unit_test(active_open_bad_syn_ack),
        cmocka_unit_test(peer_mss_honoured),
        cmocka_unit_test(simultaneous_open),
        cmocka_unit_test(simultaneous_open_plain_ack),
        cmocka_unit_test(active_close), cmocka_unit_test(data_and_fin_into_time_wait),
        cmocka_unit_test(tail_loss_probe),
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
        cmocka_unit_test(rst_in_window_gets_challenge_ack),
        cmocka_unit_test(syn_in_established_gets_challenge_ack),
        cmocka_unit_test(old_ack_gets_challenge_ack),
        cmocka_unit_test(ack_of_unsent_data_is_dropped),
        cmocka_unit_test(challenge_ack_rate_limit),
        cmocka_unit_test(time_wait_ignores_rst),
        cmocka_unit_test(time_wait_reopened_by_new_syn),
        cmocka_unit_test(out_of_window_data_is_acked_not_taken),
        cmocka_unit_test(out_of_order_is_reassembled),
        cmocka_unit_test(sequence_wrap_receive),
        cmocka_unit_test(sequence_wrap_send),
        cmocka_unit_test(delayed_ack),
        cmocka_unit_test(retransmission_backoff_and_give_up),
        cmocka_unit_test(rtt_estimation),
        cmocka_unit_test(rto_floor),
        cmocka_unit_test(syn_retransmission_and_give_up),
        cmocka_unit_test(rto_after_syn_timeout_is_3s),
        cmocka_unit_test(fast_retransmit_and_newreno),
        cmocka_unit_test(zero_window_persist),
        cmocka_unit_test(nagle),
        cmocka_unit_test(keepalive_gives_up),
        cmocka_unit_test(keepalive_answered),
        cmocka_unit_test(syn_flood_bounded_by_backlog),
        cmocka_unit_test(malformed_segments_are_dropped),
        cmocka_unit_test(truncated_syn_is_dropped),
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
