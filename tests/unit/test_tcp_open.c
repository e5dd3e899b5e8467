/* TCP opening, segment by segment (RFC 9293 3.5, 3.10.7.2-3): passive
 * and active open, a listener's answers to stray segments, SYN-RECEIVED
 * retransmitting and reset, a bad SYN-ACK, the peer's MSS, simultaneous
 * open. The test plays the peer (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/tcp.h>

#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"

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
    /* SO_ACCEPTCONN: the listener listens, its connection does not;
     * SO_PROTOCOL: TCP (both read-only, as Linux). */
    int v = -1;
    socklen_t vl = sizeof(v);
    assert_int_equal(ust_getsockopt(t.f.s, t.lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
    assert_int_equal(v, 1);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl), 0);
    assert_int_equal(v, 0);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, SOL_SOCKET, SO_PROTOCOL, &v, &vl), 0);
    assert_int_equal(v, IPPROTO_TCP);
    assert_fails(ust_setsockopt(t.f.s, t.lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, sizeof(v)),
                 ENOPROTOOPT);
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

/* A socket bound with SO_REUSEADDR, as its own listener was, takes the
 * port of a listener that is closed while connections it accepted go on:
 * iperf3 -s does this to set a window asked for by the client (close the
 * listener, bind and listen anew). As Linux (inet_bind_conflict), an
 * accepted connection inherits the listener's flag, and only a listener,
 * or a socket without the flag on either side, keeps the port. */
static int bound_socket(struct tcp_peer *t, uint16_t port, bool reuse)
{
    int fd = ust_socket(t->f.s, AF_INET, SOCK_STREAM, 0);
    assert_true(fd > 0);
    if (reuse)
        set_int(&t->f, fd, SOL_SOCKET, SO_REUSEADDR, 1);
    struct sockaddr_in sin = sin_of(0, port);
    int r = ust_bind(t->f.s, fd, SA(sin), sizeof(sin));
    if (r < 0) {
        int e = errno;
        ust_close(t->f.s, fd);
        errno = e;
        return -1;
    }
    return fd;
}

static void reuseaddr_rebinds_beside_accepted_connections(void **state)
{
    (void)state;
    for (int flagged = 0; flagged < 2; flagged++) {
        struct tcp_peer t;
        t_init(&t, NULL);
        t.lfd = bound_socket(&t, 80, flagged);
        assert_true(t.lfd > 0);
        assert_int_equal(ust_listen(t.f.s, t.lfd, 8), 0);
        t_passive(&t, PISN, 0);
        int v = -1;
        socklen_t vl = sizeof(v);
        assert_int_equal(ust_getsockopt(t.f.s, t.fd, SOL_SOCKET, SO_REUSEADDR, &v, &vl), 0);
        assert_int_equal(v, flagged); /* inherited */
        /* While the listener is open, nobody else binds its port. */
        errno = 0;
        assert_int_equal(bound_socket(&t, 80, true), -1);
        assert_int_equal(errno, EADDRINUSE);
        assert_int_equal(ust_close(t.f.s, t.lfd), 0);
        t.lfd = -1;
        /* Without the flag on the new socket: the connection keeps it. */
        errno = 0;
        assert_int_equal(bound_socket(&t, 80, false), -1);
        assert_int_equal(errno, EADDRINUSE);
        int again = bound_socket(&t, 80, true);
        if (!flagged) {
            assert_int_equal(again, -1); /* the connection's side lacks it */
            assert_int_equal(errno, EADDRINUSE);
        } else {
            assert_true(again > 0);
            assert_int_equal(ust_listen(t.f.s, again, 8), 0);
            /* The connection still works, and the new listener accepts. */
            peer(&t, TCP_ACK | TCP_PSH, "hello", 5);
            expect_recv(&t, "hello", 5);
            t.lfd = again;
            t.pport = 40001;
            t.pseq = PISN + 1000;
            t.pack = 0;
            peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
            assert_true(pop(&t));
            assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
            assert_int_equal(t.o.th.dport, 40001);
        }
        t_fini(&t);
    }
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
    cfg.tcp_synack_retries = 2;
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

/* shutdown() during SYN-SENT ends the attempt, as Linux: no RST (the
 * peer knows of nothing), ECONNRESET pending; a new connect works. */
static void shutdown_in_syn_sent(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.pport = 80;
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    t.port = t.o.th.sport;
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_RDWR), 0);
    EXPECT_NONE(&t);
    assert_int_equal(state_of(&t), GONE);
    assert_true(events(&t.f, t.fd) & POLLERR);
    assert_int_equal(so_error(&t.f, t.fd), ECONNRESET);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN);
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

/* TCP_MAXSEG caps the MSS a connection offers in its SYN and uses, as
 * Linux's (iperf3 -M sets it on the client's socket and the server's
 * listener). */
static void maxseg_caps_the_mss(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.pport = 80;
    t.fd = ust_socket(t.f.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int v = 50;
    socklen_t vl = sizeof(v);
    assert_fails(ust_setsockopt(t.f.s, t.fd, IPPROTO_TCP, TCP_MAXSEG, &v, sizeof(v)), EINVAL);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_MAXSEG, 1000);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
    assert_int_equal(v, 1000);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    assert_fails(ust_connect(t.f.s, t.fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.mss, 1000);
    t.port = t.o.th.sport;
    t.iss = t.o.th.seq;
    t.pack = t.iss + 1;
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN | TCP_ACK, t.pwin, opt_mss1460, 4, NULL, 0);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_TCP, TCP_MAXSEG, &v, &vl), 0);
    assert_int_equal(v, 1000);
    static uint8_t data[2500];
    send_all(&t, data, sizeof(data));
    assert_true(pop(&t));
    assert_int_equal(t.o.len, 1000);
    ust_close(t.f.s, t.fd);
    t.fd = -1;
    t_fini(&t);
    /* On a listener: its SYN-ACKs offer the cap. */
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    set_int(&t.f, t.lfd, IPPROTO_TCP, TCP_MAXSEG, 700);
    t.port = 80;
    t.pport = 40000;
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t.o.th.mss, 700);
    t_fini(&t);
}

/* shutdown() of a listener, as Linux: SHUT_WR does nothing; SHUT_RD or
 * SHUT_RDWR stops it listening (a half-open connection is reset), accept()
 * fails with EINVAL and poll says POLLHUP (a thread blocked in accept
 * wakes: servers stop so); it may listen again on its port. */
static void shutdown_stops_a_listener(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 8);
    assert_int_equal(ust_shutdown(t.f.s, t.lfd, SHUT_WR), 0);
    t.port = 80;
    t.pport = 40000;
    t.pseq = PISN;
    peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK); /* still listening */
    assert_int_equal(state_of(&t), TCPS_SYN_RECEIVED);
    assert_int_equal(ust_shutdown(t.f.s, t.lfd, SHUT_RDWR), 0);
    assert_true(pop(&t));
    assert_true(t.o.th.flags & TCP_RST); /* the half-open one is reset */
    assert_int_equal(state_of(&t), GONE);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EINVAL);
    struct pollfd p = {.fd = t.lfd, .events = POLLIN};
    assert_int_equal(ust_poll(t.f.s, &p, 1, 0), 1);
    assert_int_equal(p.revents, POLLHUP);
    /* Listening again, on the same port. */
    assert_int_equal(ust_listen(t.f.s, t.lfd, 8), 0);
    t.pport = 40001;
    peer_opt(&t, TCP_SYN, t.pwin, opt_mss1460, 4, NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t.o.th.sport, 80);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passive_open),
        cmocka_unit_test(reuseaddr_rebinds_beside_accepted_connections),
        cmocka_unit_test(listen_answers_ack_with_rst_and_ignores_rst),
        cmocka_unit_test(syn_received_retransmits_syn_ack),
        cmocka_unit_test(syn_received_rst_returns_to_listen),
        cmocka_unit_test(active_open),
        cmocka_unit_test(active_open_bad_syn_ack),
        cmocka_unit_test(peer_mss_honoured),
        cmocka_unit_test(maxseg_caps_the_mss),
        cmocka_unit_test(shutdown_in_syn_sent),
        cmocka_unit_test(shutdown_stops_a_listener),
        cmocka_unit_test(simultaneous_open),
        cmocka_unit_test(simultaneous_open_plain_ack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
