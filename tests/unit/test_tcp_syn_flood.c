/* A listener under a SYN flood (RFC 4987, transport/tcp_listen.c): the
 * half-open queue bounded by the backlog, SYN cookies beyond it, the
 * returning ACK making the connection, forged and stale cookies, the
 * accept queue's own bound, and SYN-ACK retries under pressure. The test
 * plays the peers (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "tcp_peer.h"
#include "transport/tcp_syncookie.h"
#include "ustack/socket.h"

/* Spoofed SYNs from ports 50000.. that never answer. */
static void flood(struct tcp_peer *t, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        seg_in(&t->f, (uint16_t)(50000 + i), 80, 1000u * i, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL,
               0);
}

/* A SYN from pport with the options given; the SYN-ACK is popped. */
static void syn_from(struct tcp_peer *t, uint16_t pport, const uint8_t *opt, size_t optlen)
{
    t->port = 80;
    t->pport = pport;
    t->pseq = PISN;
    peer_opt(t, TCP_SYN, 65535, opt, optlen, NULL, 0);
    assert_true(pop(t));
    assert_int_equal(t->o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t->o.th.ack, PISN + 1);
    t->iss = t->o.th.seq;
    t->pack = t->iss + 1;
}

/* Beyond the half-open queue a SYN gets a cookie and leaves no state; a
 * real client's ACK of its cookie makes the connection, data and all,
 * while the established connection never notices. */
static void cookies_keep_the_listener_open(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 4);
    t_passive(&t, PISN, 0);
    int old_fd = t.fd;
    uint16_t old_pport = t.pport;
    flood(&t, 1000);
    assert_int_equal(drain(&t), 0); /* 1000 SYN-ACKs, no data */
    assert_int_equal(st(&t)->tcp.syncookies_sent, 996);
    assert_int_equal(t.f.s->tcp->nconns, 2 + 4); /* listener, accepted, 4 half-open */
    assert_int_equal(st(&t)->tcp.buf_bytes, 0);

    /* A real client: its SYN draws a cookie too; its ACK carries data. */
    syn_from(&t, 45000, opt_mss1460, 4);
    assert_int_equal(st(&t)->tcp.syncookies_sent, 997);
    assert_int_equal(t.f.s->tcp->nconns, 6);
    peer(&t, TCP_ACK | TCP_PSH, "GET /", 5);
    assert_int_equal(st(&t)->tcp.syncookies_ok, 1);
    t_accept(&t);
    expect_recv(&t, "GET /", 5);
    send_all(&t, "200", 3);
    EXPECT_SEG(&t, TCP_ACK, t.iss + 1, PISN + 6, 3);
    assert_int_equal(t_conn(&t)->snd_mss, 1460); /* from the cookie's table */

    /* The first connection goes on as before. */
    t.fd = old_fd;
    t.pport = old_pport;
    t.pseq = PISN + 1;
    t.pack = t_conn(&t)->snd_nxt;
    peer(&t, TCP_ACK | TCP_PSH, "still", 5);
    expect_recv(&t, "still", 5);
    t_fini(&t);
}

/* With timestamps the SYN's options ride in our TSval, and the cookie's
 * connection has them all: window scaling, SACK, timestamps, the MSS. */
static void cookie_keeps_options_with_timestamps(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_syncookies = 2; /* always */
    t_init(&t, &cfg);
    t.lfd = listener(&t, 80, 4);
    syn_from(&t, 45000, o, syn_opts(o, 777, 0));
    assert_true(t.o.th.has_ts && t.o.th.sack_perm && t.o.th.wscale >= 0);
    assert_int_equal(t.o.th.tsecr, 777);
    assert_int_equal(t.f.s->tcp->nconns, 1); /* the listener alone */
    uint32_t our_ts = t.o.th.tsval;
    peer_opt(&t, TCP_ACK, 65535, o, put_ts(o, 778, our_ts), NULL, 0);
    t_accept(&t);
    struct tcp_conn *c = t_conn(&t);
    assert_true(c->ts_ok && c->sack_ok && c->ws_ok);
    assert_int_equal(c->snd_wscale, 2);
    assert_int_equal(c->rcv_wscale, t.o.th.wscale);
    assert_int_equal(c->snd_mss, 1460 - 12);
    assert_true(c->rec == &tcp_sack_recovery);
    /* Our clock goes on from the SYN-ACK's TSval. */
    send_all(&t, "x", 1);
    assert_true(pop(&t));
    assert_true(t.o.th.has_ts);
    assert_true(seq_ge(t.o.th.tsval, our_ts));
    assert_int_equal(t.o.th.tsecr, 778);
    t_fini(&t);
}

/* Without timestamps there is nowhere to keep the options: no window
 * scaling, no SACK, and the MSS from the table (1400 -> 1300). */
static void cookie_without_timestamps(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_syncookies = 2;
    t_init(&t, &cfg);
    t.lfd = listener(&t, 80, 4);
    static const uint8_t opt[12] = {TCP_OPT_MSS, 4,           0x05,       0x78, TCP_OPT_SACK_PERM,
                                    2,           TCP_OPT_NOP, TCP_OPT_WS, 3,    7,
                                    TCP_OPT_NOP, TCP_OPT_NOP};
    syn_from(&t, 45000, opt, sizeof(opt));
    assert_false(t.o.th.has_ts || t.o.th.sack_perm || t.o.th.wscale >= 0);
    peer(&t, TCP_ACK, NULL, 0);
    t_accept(&t);
    struct tcp_conn *c = t_conn(&t);
    assert_false(c->ts_ok || c->sack_ok || c->ws_ok);
    assert_int_equal(c->snd_mss, 1300);
    t_fini(&t);
}

/* While cookies are out, an ACK whose cookie does not check (forged, or
 * for another ISN) makes nothing and draws no RST; once the cookies'
 * time is over, a cookie's ACK is any stray ACK again: RST. */
static void forged_and_stale_cookies(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 1);
    flood(&t, 2); /* the queue full: one cookie out */
    drain(&t);
    syn_from(&t, 45000, opt_mss1460, 4);
    uint32_t cookie = t.iss;
    for (uint32_t i = 1; i < 200; i++)
        seg_in(&t.f, 45000, 80, PISN + 1, cookie + 1 + i * 7919, TCP_ACK, 65535, NULL, 0, NULL, 0);
    seg_in(&t.f, 45000, 80, PISN + 2, cookie + 1, TCP_ACK, 65535, NULL, 0, NULL, 0); /* other ISN */
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.syncookies_failed, 200);
    assert_int_equal(st(&t)->tcp.syncookies_ok, 0);
    assert_int_equal(t.f.s->tcp->nconns, 2); /* the listener, one half-open */
    /* The real one, two ticks and more later: stale, and no cookies are
     * out any more, so it is a stray ACK. */
    fixture_advance_to(&t.f, t.f.now + TCP_COOKIE_TICKS * TCP_COOKIE_TICK + UST_SEC);
    drain(&t); /* the half-open child's SYN-ACK retransmissions */
    seg_in(&t.f, 45000, 80, PISN + 1, cookie + 1, TCP_ACK, 65535, NULL, 0, NULL, 0);
    EXPECT_SEG(&t, TCP_RST, cookie + 1, 0, 0);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    t_fini(&t);
}

/* A cookie is good for its tick and the next, no longer, even while a
 * flood keeps cookies going out. */
static void cookie_expires_during_a_flood(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 1);
    flood(&t, 2);
    drain(&t);
    syn_from(&t, 45000, opt_mss1460, 4);
    uint32_t cookie = t.iss;
    fixture_advance_to(&t.f, t.f.now + TCP_COOKIE_TICKS * TCP_COOKIE_TICK + UST_SEC);
    flood(&t, 3); /* cookies still going out */
    drain(&t);
    seg_in(&t.f, 45000, 80, PISN + 1, cookie + 1, TCP_ACK, 65535, NULL, 0, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.syncookies_ok, 0);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    t_fini(&t);
}

/* The accept queue has its own bound: with it full, SYNs are dropped and
 * a cookie's ACK makes nothing (the client tries again). */
static void accept_queue_full_drops_syns(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 1);
    syn_from(&t, 45000, opt_mss1460, 4);
    peer(&t, TCP_ACK, NULL, 0); /* established, not accepted */
    seg_in(&t.f, 45001, 80, PISN, 0, TCP_SYN, 65535, opt_mss1460, 4, NULL, 0);
    EXPECT_NONE(&t);
    assert_int_equal(st(&t)->tcp.drop_backlog, 1);
    t_accept(&t);
    /* Room again: the next SYN is answered. */
    syn_from(&t, 45002, opt_mss1460, 4);
    t_fini(&t);
}

/* A cookie's ACK finds the accept queue full: the peer believes itself
 * connected, so the connection is made anyway, up to twice the backlog;
 * past that it waits as a half-open child whose SYN-ACK goes again; past
 * twice the backlog of those, a RST tells the peer. */
static void cookie_ack_with_accept_queue_full(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t.lfd = listener(&t, 80, 1);
    flood(&t, 1); /* the half-open queue full: cookies from now on */
    drain(&t);
    uint32_t cookie[5];
    for (uint16_t i = 0; i < 5; i++) {
        syn_from(&t, (uint16_t)(45000 + i), opt_mss1460, 4);
        cookie[i] = t.iss;
    }
    for (uint16_t i = 0; i < 5; i++)
        seg_in(&t.f, (uint16_t)(45000 + i), 80, PISN + 1, cookie[i] + 1, TCP_ACK, 65535, NULL, 0,
               NULL, 0);
    /* Two into the accept queue (twice the backlog), one waiting half-open
     * beside the flood's child, and two reset. */
    struct tcp_conn *l = tcp_find_listener(t.f.s, &T_ADDR_US, 80);
    assert_int_equal(l->accept_qlen, 2);
    assert_int_equal(l->syn_qlen, 2);
    for (int i = 0; i < 2; i++) {
        assert_true(pop(&t));
        assert_int_equal(t.o.th.flags, TCP_RST);
    }
    EXPECT_NONE(&t);
    int a = ust_accept(t.f.s, t.lfd, NULL, NULL), b = ust_accept(t.f.s, t.lfd, NULL, NULL);
    assert_true(a > 0 && b > 0);
    assert_fails(ust_accept(t.f.s, t.lfd, NULL, NULL), EAGAIN);
    /* The waiting one's SYN-ACK comes again, with the cookie; its ACK
     * completes it. */
    t.pport = 45002;
    t.iss = cookie[2];
    t.pack = cookie[2] + 1;
    t.pseq = PISN + 1;
    for (;;) {
        assert_true(run_until_tx(&t.f, t.f.now + 10 * UST_SEC) != UST_TIME_NEVER);
        assert_true(pop(&t));
        if (t.o.th.dport == 45002)
            break;
    }
    assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t.o.th.seq, cookie[2]);
    peer(&t, TCP_ACK | TCP_PSH, "late", 4);
    t_accept(&t);
    expect_recv(&t, "late", 4);
    ust_close(t.f.s, a);
    ust_close(t.f.s, b);
    t_fini(&t);
}

/* A duplicated SYN can draw a cookie (queue full) and then a child (queue
 * free again): the peer answers the SYN-ACK it got first, the cookie,
 * and the child takes that ISS instead of sending a RST. */
static void child_adopts_the_cookie_its_syn_drew(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_synack_retries = 1; /* the flood's child is gone in 3 s */
    t_init(&t, &cfg);
    t.lfd = listener(&t, 80, 1);
    flood(&t, 1); /* a half-open child fills the queue */
    drain(&t);
    syn_from(&t, 45001, opt_mss1460, 4); /* the cookie */
    uint32_t cookie = t.iss;
    assert_int_equal(st(&t)->tcp.syncookies_sent, 1);
    /* The flood's child times out; the SYN's duplicate makes a child. */
    fixture_advance_to(&t.f, t.f.now + 5 * UST_SEC);
    drain(&t);
    syn_from(&t, 45001, opt_mss1460, 4);
    assert_int_not_equal(t.iss, cookie);
    /* The peer answers the cookie. */
    t.iss = cookie;
    t.pack = cookie + 1;
    peer(&t, TCP_ACK | TCP_PSH, "hi", 2);
    t_accept(&t);
    expect_recv(&t, "hi", 2);
    send_all(&t, "ok", 2);
    EXPECT_SEG(&t, TCP_ACK, cookie + 1, PISN + 3, 2);
    t_fini(&t);
}

/* SYN-ACKs sent from now until nothing is left to send. */
static unsigned synacks_until_quiet(struct tcp_peer *t)
{
    unsigned n = 0;
    do {
        while (pop(t)) {
            assert_int_equal(t->o.th.flags, TCP_SYN | TCP_ACK);
            n++;
        }
    } while (run_until_tx(&t->f, t->f.now + 300 * UST_SEC) != UST_TIME_NEVER);
    return n;
}

/* Without cookies, while the half-open queue is over half full, each
 * child sends its SYN-ACK at most 3 times (2 retries): the flood's
 * children leave room sooner. */
static void synack_retries_under_pressure(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_syncookies = 0;
    t_init(&t, &cfg);
    t.lfd = listener(&t, 80, 4);
    flood(&t, 3);
    assert_int_equal(synacks_until_quiet(&t), 3 * 3);
    assert_int_equal(st(&t)->tcp.synack_given_up, 3);
    assert_int_equal(t.f.s->tcp->nconns, 1);
    /* One alone (no pressure): the full five retries. */
    flood(&t, 1);
    assert_int_equal(synacks_until_quiet(&t), 6);
    assert_int_equal(st(&t)->tcp.synack_given_up, 4);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cookies_keep_the_listener_open),
        cmocka_unit_test(cookie_keeps_options_with_timestamps),
        cmocka_unit_test(cookie_without_timestamps),
        cmocka_unit_test(forged_and_stale_cookies),
        cmocka_unit_test(cookie_expires_during_a_flood),
        cmocka_unit_test(accept_queue_full_drops_syns),
        cmocka_unit_test(cookie_ack_with_accept_queue_full),
        cmocka_unit_test(child_adopts_the_cookie_its_syn_drew),
        cmocka_unit_test(synack_retries_under_pressure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
