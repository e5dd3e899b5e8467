/* TCP sending and its timers, segment by segment on a virtual clock: tail
 * loss probe, retransmission backoff and giving up, RTT estimation and
 * the RTO (RFC 6298), SYN retransmission, fast retransmit and NewReno
 * (RFC 5681, RFC 6582), zero-window probes, Nagle (RFC 1122 4.2.3.4),
 * keepalive (RFC 1122 4.2.3.6). The test plays the peer
 * (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>

#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"

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

/* Three duplicate ACKs without SACK: fast retransmit and NewReno's fast
 * recovery (RFC 6582 3.2), pinned to NewReno (CUBIC is the default), with
 * its window arithmetic checked at each step. */
static void fast_retransmit_and_newreno(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_congestion = "newreno";
    t_open(&t, &cfg);
    struct tcp_conn *c = t_conn(&t);
    assert_string_equal(c->cc->name, "newreno");
    assert_false(c->sack_ok); /* the peer's SYN offered none: RFC 6582, not 6675 */
    /* The initial window is 3 segments of 1460 (RFC 5681: min(4*MSS,
     * max(2*MSS, 4380))), and 1 byte: the ACK that completed the
     * handshake acknowledged our SYN, and slow start counted it. */
    assert_int_equal(c->cwnd, 4380 + 1);
    assert_int_equal(c->ssthresh, 0xffffffffu);
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
    assert_int_equal(c->cwnd, 4380 + 1); /* duplicates before the third change nothing */
    peer_seg(&t, t.pseq, una, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT_SEG(&t, TCP_ACK, una, t.pseq, 1460);
    assert_memory_equal(t.o.data, d, 1460);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.fast_retransmits, 1);
    assert_int_equal(st(&t)->tcp.dup_acks, 3);
    /* RFC 6582 3.2 (2): ssthresh = max(FlightSize / 2, 2 * SMSS) = 2920
     * (FlightSize 4380), cwnd = ssthresh + 3 * SMSS. */
    assert_true(c->in_recovery);
    assert_int_equal(c->recover, una + 3 * 1460);
    assert_int_equal(c->ssthresh, 2920);
    assert_int_equal(c->cwnd, 2920 + 3 * 1460);
    /* More duplicates only inflate the window (3.2 (3): one SMSS each):
     * nothing new to send. */
    peer_seg(&t, t.pseq, una, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(c->cwnd, 2920 + 4 * 1460);
    /* A partial ACK (segment 2 was lost too): it goes at once (RFC 6582). */
    peer_seg(&t, t.pseq, una + 1460, TCP_ACK, t.pwin, NULL, 0, NULL, 0);
    EXPECT_SEG(&t, TCP_ACK, una + 1460, t.pseq, 1460);
    assert_memory_equal(t.o.data, d + 1460, 1460);
    EXPECT_NONE(&t);
    /* 3.2 (5): deflated by the 1460 bytes acknowledged, one SMSS added back. */
    assert_true(c->in_recovery);
    assert_int_equal(c->cwnd, 2920 + 4 * 1460 - 1460 + 1460);
    assert_int_equal(c->ssthresh, 2920);
    /* The full ACK ends recovery. */
    peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    /* 3.2 (6), option 1: cwnd = min(ssthresh, FlightSize + SMSS), and
     * nothing is in flight any more. */
    assert_false(c->in_recovery);
    assert_int_equal(c->cwnd, 1460);
    assert_int_equal(c->ssthresh, 2920);
    assert_int_equal(st(&t)->tcp.fast_retransmits, 1);
    assert_int_equal(st(&t)->tcp.retransmits, 2);
    assert_int_equal(st(&t)->tcp.rto_timeouts, 0);
    assert_int_equal(tcp_next_deadline(t.f.s), UST_TIME_NEVER);
    /* Later duplicate ACKs of everything are no loss signal. */
    for (int i = 0; i < 4; i++)
        peer(&t, TCP_ACK, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.fast_retransmits, 1);
    assert_int_equal(c->cwnd, 1460);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tail_loss_probe),
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
