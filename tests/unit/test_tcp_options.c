/* TCP options, segment by segment: window scaling (RFC 7323 2),
 * timestamps and PAWS (RFC 7323 3-5), SACK blocks (RFC 2018) and the
 * sender's SACK scoreboard and loss recovery (RFC 6675). The test plays
 * the peer (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <string.h>

#include "core/stack_priv.h"
#include "harness.h"
#include "net/netif.h"
#include "tcp_peer.h"
#include "transport/tcp.h"
#include "ustack/socket.h"
#include "wire/tcp.h"

/* Default SO_RCVBUF 256 KiB: 65535 << 2 is 4 bytes short, so shift 3. */
#define OUR_SHIFT 3

static const uint8_t opt_mss1280_ws7[8] = {TCP_OPT_MSS, 4,          0x05, 0x00,
                                           TCP_OPT_NOP, TCP_OPT_WS, 3,    7};
static const uint8_t opt_mss_ws0[8] = {TCP_OPT_MSS, 4, 0x05, 0xb4, TCP_OPT_NOP, TCP_OPT_WS, 3, 0};
static const uint8_t opt_mss_ws2[8] = {TCP_OPT_MSS, 4, 0x05, 0xb4, TCP_OPT_NOP, TCP_OPT_WS, 3, 2};
static const uint8_t opt_mss_ws20[8] = {TCP_OPT_MSS, 4, 0x05, 0xb4, TCP_OPT_NOP, TCP_OPT_WS, 3, 20};

/* The fixture with timestamps and SACK on or off, and a receive buffer of
 * rcvbuf bytes (0: the default). */
static void t_init_opts(struct tcp_peer *t, int rcvbuf, bool ts, bool sack)
{
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_timestamps = ts;
    cfg.tcp_sack = sack;
    cfg.tcp_rcvbuf_max = 0; /* fixed buffers: the shift follows their size */
    if (rcvbuf)
        cfg.tcp_rcvbuf = (uint32_t)rcvbuf;
    t_init(t, &cfg);
}

/* Timestamps and SACK on. */
static void t_init_rcvbuf(struct tcp_peer *t, int rcvbuf) { t_init_opts(t, rcvbuf, true, true); }

/* ---------------- the tests ---------------- */

static void syn_offers_shift_for_buffer(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    t_connect(&t, true);
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    assert_int_equal(t.o.th.mss, 1460);
    /* MSS, SACK-permitted, timestamps, NOP, WS */
    assert_int_equal(t.o.th.hdr_len, 40);
    assert_int_equal(t.o.th.window, 65535); /* never scaled in a SYN */
    t_fini(&t);

    /* Small buffer: shift 0 is still offered (we may scale their side). */
    t_init_rcvbuf(&t, 32768);
    t_connect(&t, true);
    assert_int_equal(t.o.th.wscale, 0);
    assert_int_equal(t.o.th.window, 32768);
    t_fini(&t);

    /* Exactly 65535 fits unscaled; 65536 needs shift 1; 4 MiB shift 7. */
    t_init_rcvbuf(&t, 65535);
    t_connect(&t, true);
    assert_int_equal(t.o.th.wscale, 0);
    t_fini(&t);
    t_init_rcvbuf(&t, 65536);
    t_connect(&t, true);
    assert_int_equal(t.o.th.wscale, 1);
    t_fini(&t);
    t_init_rcvbuf(&t, 4 << 20);
    t_connect(&t, true);
    assert_int_equal(t.o.th.wscale, 7);
    assert_int_equal(t.o.th.window, 65535);
    t_fini(&t);
}

static void synack_offers_ws_only_if_syn_did(void **state)
{
    (void)state;
    struct tcp_peer t;
    /* Peer without WS: no WS in the SYN-ACK, no scaling either way. */
    t_init_rcvbuf(&t, 0);
    t_syn(&t, PISN, 65535, opt_mss1460, sizeof(opt_mss1460));
    assert_int_equal(t.o.th.wscale, -1);
    assert_int_equal(t.o.th.hdr_len, 24);
    assert_int_equal(t.o.th.window, 65535);
    peer_opt(&t, TCP_ACK, 100, NULL, 0, NULL, 0);
    t_accept(&t);
    struct tcp_conn *c = t_conn(&t);
    assert_false(c->ws_ok);
    assert_int_equal(c->snd_wscale, 0);
    assert_int_equal(c->rcv_wscale, 0);
    assert_int_equal(c->snd_wnd, 100); /* not shifted */
    t_fini(&t);

    /* Peer with WS: the SYN-ACK answers with ours, its window unscaled. */
    t_init_rcvbuf(&t, 0);
    t_syn(&t, PISN, 1000, opt_mss_ws2, sizeof(opt_mss_ws2));
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    assert_int_equal(t.o.th.hdr_len, 28);
    assert_int_equal(t.o.th.window, 65535);
    c = t_conn(&t);
    assert_int_equal(c->snd_wnd, 1000); /* the SYN's window: unscaled */
    peer_opt(&t, TCP_ACK, 1000, NULL, 0, NULL, 0);
    t_accept(&t);
    assert_true(c->ws_ok);
    assert_int_equal(c->snd_wscale, 2);
    assert_int_equal(c->rcv_wscale, OUR_SHIFT);
    assert_int_equal(c->snd_wnd, 4000);
    assert_int_equal(c->max_snd_wnd, 4000);
    t_fini(&t);
}

/* With both: a window field of 100 at the peer's shift 7 lets us send
 * 12800 bytes, and no more until it moves. */
static void scaled_send_window(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    t_connect(&t, true);
    peer_opt(&t, TCP_SYN | TCP_ACK, 100, opt_mss1280_ws7, sizeof(opt_mss1280_ws7), NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_ACK);
    assert_int_equal(t.o.th.wscale, -1); /* options on SYNs only */
    struct tcp_conn *c = t_conn(&t);
    assert_int_equal(c->state, TCPS_ESTABLISHED);
    assert_true(c->ws_ok);
    assert_int_equal(c->snd_wscale, 7);
    assert_int_equal(c->rcv_wscale, OUR_SHIFT);
    /* The SYN-ACK's window is not scaled: 100 bytes. */
    assert_int_equal(c->snd_wnd, 100);
    /* Our ACK's window is: space >> shift. */
    assert_int_equal(t.o.th.window, (uint16_t)(ring_space(&c->rcvq) >> OUR_SHIFT));
    c->cwnd = 1u << 20; /* only the peer's window limits */
    static uint8_t data[40000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)i;
    assert_int_equal(ust_send(t.f.s, t.fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
    assert_int_equal(drain(&t), 100);
    /* The ACK of those 100 bytes: window field 100, shift 7. */
    t.pack += 100;
    peer_opt(&t, TCP_ACK, 100, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 12800);
    assert_int_equal(c->max_snd_wnd, 12800);
    assert_int_equal(drain(&t), 12800);
    assert_int_equal(c->snd_nxt - c->snd_una, 12800);
    /* A duplicate of that ACK (same scaled window) sends nothing more. */
    peer_opt(&t, TCP_ACK, 100, NULL, 0, NULL, 0);
    assert_int_equal(drain(&t), 0);
    /* Field 101: 128 more bytes. */
    peer_opt(&t, TCP_ACK, 101, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 12928);
    t_fini(&t);
}

/* Our advertised window field is the free space >> our shift, and
 * rcv_adv is the edge that field expresses. */
/* A fixture whose link has a 65520-byte MTU, as the runner's --mtu sets
 * the TAP's. */
static void t_init_big_mtu(struct tcp_peer *t, const struct ust_config *cfg)
{
    t_init(t, cfg);
    t->f.s->ifs->at[t->f.dev].dev->mtu = 65520;
}

/* The peer connects with MSS 65480 (to t->lfd, made if it has none); the
 * accepted connection. */
static struct tcp_conn *t_accept_big(struct tcp_peer *t)
{
    static const uint8_t opt_mss65480_ws7[8] = {TCP_OPT_MSS, 4,          0xff, 0xc8,
                                                TCP_OPT_NOP, TCP_OPT_WS, 3,    7};
    t_syn(t, PISN, 65535, opt_mss65480_ws7, sizeof(opt_mss65480_ws7));
    assert_int_equal(t->o.th.mss, 65480);
    peer_opt(t, TCP_ACK, 65535, NULL, 0, NULL, 0);
    t_accept(t);
    return t_conn(t);
}

/* Buffers follow the MTU: on a 65520-byte link an auto-tuned receive
 * buffer starts at ten segments, a peer's whole first flight (RFC 6928),
 * and the send buffer at eight (twice RFC 5681's largest initial window);
 * the 256 KiB default would hold four. On a 1500-byte link the default
 * stands (advertised_window_is_scaled). */
static void buffers_follow_a_large_mtu(void **state)
{
    (void)state;
    struct ust_config cfg;
    t_config(&cfg);
    struct tcp_peer t;
    t_init_big_mtu(&t, &cfg);
    struct tcp_conn *c = t_accept_big(&t);
    assert_int_equal(c->rcvq.limit, 10 * 65480);
    assert_int_equal(c->sndq.limit, 8 * 65480);
    t_fini(&t);

    /* SO_RCVBUF and SO_SNDBUF (before listen) turn auto-tuning off: the
     * sizes asked stay. */
    t_init_big_mtu(&t, &cfg);
    t.lfd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
    set_int(&t.f, t.lfd, SOL_SOCKET, SO_RCVBUF, 128 * 1024);
    set_int(&t.f, t.lfd, SOL_SOCKET, SO_SNDBUF, 128 * 1024);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
    assert_int_equal(ust_bind(t.f.s, t.lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(ust_listen(t.f.s, t.lfd, 4), 0);
    c = t_accept_big(&t);
    assert_int_equal(c->rcvq.limit, 256 * 1024);
    assert_int_equal(c->sndq.limit, 256 * 1024);
    t_fini(&t);

    /* Set on the listener after listen(), as Linux they reach the
     * connections it accepts from then on. */
    t_init_big_mtu(&t, &cfg);
    t.lfd = listener(&t, 80, 4);
    set_int(&t.f, t.lfd, SOL_SOCKET, SO_RCVBUF, 100 * 1024);
    set_int(&t.f, t.lfd, SOL_SOCKET, SO_SNDBUF, 100 * 1024);
    c = t_accept_big(&t);
    assert_int_equal(c->rcvq.limit, 200 * 1024);
    assert_int_equal(c->sndq.limit, 200 * 1024);
    assert_false(c->rcv_auto);
    assert_false(c->snd_auto);
    t_fini(&t);
}

static void advertised_window_is_scaled(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    t_syn(&t, PISN, 65535, opt_mss_ws0, sizeof(opt_mss_ws0));
    assert_int_equal(t.o.th.window, 65535); /* SYN-ACK: unscaled, capped */
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, NULL, 0);
    t_accept(&t);
    struct tcp_conn *c = t_conn(&t);
    assert_int_equal(c->snd_wscale, 0);
    assert_int_equal(c->rcv_wscale, OUR_SHIFT);
    static uint8_t d[1460 * 2 + 3];
    memset(d, 'x', sizeof(d));
    /* Two full segments: an immediate ACK. */
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, d, 1460);
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, d, 1460);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, t.pseq);
    uint32_t space = (uint32_t)ring_space(&c->rcvq);
    assert_int_equal(space, 256 * 1024 - 2920);
    assert_int_equal(t.o.th.window, space >> OUR_SHIFT);
    assert_int_equal(c->rcv_adv - c->rcv_nxt, (uint32_t)t.o.th.window << OUR_SHIFT);
    assert_true((uint32_t)t.o.th.window << OUR_SHIFT <= space);
    /* An odd number of bytes: the edge keeps to whole units. */
    peer_opt(&t, TCP_ACK | TCP_PSH, 65535, NULL, 0, d, 3);
    for (int i = 0; i < 100 && cap_count(t.f.cap) == 0; i++)
        fixture_advance_to(&t.f, ust_stack_next_deadline(t.f.s));
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, t.pseq);
    uint32_t adv = (uint32_t)t.o.th.window << OUR_SHIFT;
    assert_true(adv <= (uint32_t)ring_space(&c->rcvq));
    /* What was advertised before still counts: never moved back. */
    assert_true(seq_ge(c->rcv_adv, c->rcv_nxt + adv));
    /* Reading everything opens it to the full buffer, in whole units:
     * the next ACK says so (the read alone is not worth a segment, the
     * peer still sees nearly all of it; read_window_update below). */
    static uint8_t buf[8192];
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 2923);
    assert_false(pop(&t));
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, d, 1460);
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, d, 1460);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.window, (256 * 1024 - 2920) >> OUR_SHIFT);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 2920);
    assert_int_equal(tcp_rcv_window(c), 256 * 1024);
    t_fini(&t);
}

/* peer_fill: n full segments from the peer, and the ACKs they earn. */
static void peer_fill(struct tcp_peer *t, int n)
{
    static uint8_t d[1460];
    memset(d, 'y', sizeof(d));
    for (int i = 0; i < n; i++)
        peer_opt(t, TCP_ACK, 65535, NULL, 0, d, sizeof(d));
    drain(t);
}

/* With a buffer of 16 segments or more, a read earns a window update of
 * its own only when the window the peer
 * knows has fallen to half the buffer or less and the read at least
 * doubles it (Linux's rule); otherwise the ACK of the peer's next data
 * carries the larger window. A reader that keeps up sends nothing extra,
 * and one that lets the buffer fill is never left with a closed window. */
static void read_window_update(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 32 * 1460); /* 32 segments: enough for the rule */
    t_syn(&t, PISN, 65535, opt_mss_ws0, sizeof(opt_mss_ws0));
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, NULL, 0);
    t_accept(&t);
    struct tcp_conn *c = t_conn(&t);
    uint32_t full = (uint32_t)c->rcvq.limit;
    assert_int_equal(full, 32 * 1460);
    static uint8_t buf[32 * 1460];
    /* 4 segments: the peer still sees 28 segments' worth, over half. */
    peer_fill(&t, 4);
    assert_true(c->rcv_adv - c->rcv_nxt > full / 2);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 4 * 1460);
    assert_false(pop(&t));
    /* 18 more: it sees 14 segments' worth (under half); reading them
     * all doubles that, so the read sends the update at once. */
    peer_fill(&t, 18);
    uint32_t known = c->rcv_adv - c->rcv_nxt;
    assert_true(known <= full / 2);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 18 * 1460);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_ACK);
    assert_int_equal(t.o.th.ack, t.pseq);
    assert_true(((uint32_t)t.o.th.window << c->rcv_wscale) >= 2 * known);
    assert_false(pop(&t));
    /* Filled to a closed window: a read of one segment (not double,
     * but an MSS again) opens it at once too. */
    peer_fill(&t, 32);
    known = c->rcv_adv - c->rcv_nxt;
    assert_true(known < 1460);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, 1460, 0), 1460);
    assert_true(pop(&t));
    assert_true(((uint32_t)t.o.th.window << c->rcv_wscale) >= 1460);
    t_fini(&t);
}

/* A small buffer (under 16 segments) keeps the plain rule: every read
 * that opens the window by an MSS says so. With 4096 bytes and 1460-byte
 * segments, the second read takes the window the peer knows from 2636
 * (one segment's worth) to 4096 (two), though 2636 is over half the
 * buffer: without the update the peer could send one segment a round
 * trip instead of two. */
static void read_window_update_small_buffer(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 4096);
    t_syn(&t, PISN, 65535, opt_mss_ws0, sizeof(opt_mss_ws0));
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, NULL, 0);
    t_accept(&t);
    struct tcp_conn *c = t_conn(&t);
    assert_int_equal(c->rcvq.limit, 4096);
    static uint8_t buf[1460];
    peer_fill(&t, 2);
    assert_int_equal(c->rcv_adv - c->rcv_nxt, 4096 - 2920);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 1460); /* under an MSS: opens */
    assert_true(pop(&t));
    assert_int_equal(t.o.th.window, 4096 - 1460);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 1460); /* one segment to two */
    assert_true(pop(&t));
    assert_int_equal(t.o.th.window, 4096);
    t_fini(&t);
}

/* A peer that holds a short tail back until its data is ACKed (classic
 * Nagle, as ustack's own sender) sent one full segment: the delayed ACK
 * is pending. The read that takes the segment and empties the buffer
 * sends the ACK at once, or the tail would wait out the delayed-ACK
 * timer (40 ms a request). A short read leaves it to ride on the answer. */
static void read_releases_a_held_tail(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    t_passive(&t, PISN, 0);
    static uint8_t d[1460], buf[2048];
    memset(d, 'z', sizeof(d));
    peer(&t, TCP_ACK, d, 100); /* a short request: the ACK waits */
    assert_false(pop(&t));
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 100);
    assert_false(pop(&t));
    drain(&t);
    fixture_advance_to(&t.f, ust_stack_next_deadline(t.f.s)); /* the delayed ACK */
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, t.pseq);
    peer(&t, TCP_ACK, d, t_conn(&t)->snd_mss); /* one full segment */
    assert_false(pop(&t));
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), t_conn(&t)->snd_mss);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_ACK);
    assert_int_equal(t.o.th.ack, t.pseq);
    t_fini(&t);
}

/* Without the peer's WS the receive window caps at 65535 however large
 * the buffer, and the peer's windows are taken as they are. */
static void no_scaling_caps_at_65535(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 4 << 20);
    t_connect(&t, true);
    assert_int_equal(t.o.th.wscale, 7); /* offered... */
    peer_opt(&t, TCP_SYN | TCP_ACK, 5000, opt_mss1460, sizeof(opt_mss1460), NULL, 0);
    assert_true(pop(&t));
    struct tcp_conn *c = t_conn(&t);
    assert_false(c->ws_ok); /* ...but not taken up */
    assert_int_equal(c->rcv_wscale, 0);
    assert_int_equal(c->snd_wscale, 0);
    assert_int_equal(t.o.th.window, 65535);
    assert_int_equal(tcp_rcv_window(c), 65535);
    assert_int_equal(c->rcv_adv - c->rcv_nxt, 65535);
    peer_opt(&t, TCP_ACK, 7000, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 7000);
    t_fini(&t);
}

/* RFC 7323 2.3: a shift above 14 is taken as 14. */
static void peer_shift_clamped_to_14(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    t_syn(&t, PISN, 65535, opt_mss_ws20, sizeof(opt_mss_ws20));
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    peer_opt(&t, TCP_ACK, 3, NULL, 0, NULL, 0);
    t_accept(&t);
    struct tcp_conn *c = t_conn(&t);
    assert_int_equal(c->snd_wscale, 14);
    assert_int_equal(c->snd_wnd, 3u << 14);
    t_fini(&t);

    /* Same on the active side. */
    t_init_rcvbuf(&t, 0);
    t_connect(&t, true);
    peer_opt(&t, TCP_SYN | TCP_ACK, 1, opt_mss_ws20, sizeof(opt_mss_ws20), NULL, 0);
    c = t_conn(&t);
    assert_int_equal(c->snd_wscale, 14);
    assert_int_equal(c->snd_wnd, 1); /* the SYN-ACK's, unscaled */
    peer_opt(&t, TCP_ACK, 2, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 2u << 14);
    t_fini(&t);
}

/* Simultaneous open: both SYNs carried WS, so scaling is on. */
static void simultaneous_open_scales(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    t_connect(&t, true);
    peer_opt(&t, TCP_SYN, 1000, opt_mss_ws2, sizeof(opt_mss_ws2), NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    assert_int_equal(t.o.th.window, 65535);
    struct tcp_conn *c = t_conn(&t);
    assert_int_equal(c->state, TCPS_SYN_RECEIVED);
    peer_opt(&t, TCP_ACK, 1000, NULL, 0, NULL, 0);
    assert_int_equal(c->state, TCPS_ESTABLISHED);
    assert_int_equal(c->snd_wnd, 4000);
    t_fini(&t);
}


/* ---------------- timestamps and SACK ---------------- */

/* An active open that agrees on timestamps and SACK, the SYN-ACK coming
 * rtt_us after our SYN; returns the connection with its window opened to
 * cwnd, and our SYN's timestamp in *our_ts. */
static struct tcp_conn *open_sack_sender(struct tcp_peer *t, ust_time_t rtt_us, uint32_t cwnd,
                                         uint32_t *our_ts)
{
    uint8_t o[40];
    t_init_rcvbuf(t, 0);
    t_connect(t, true);
    *our_ts = t->o.th.tsval;
    t->f.now += rtt_us;
    peer_opt(t, TCP_SYN | TCP_ACK, 65535, o, syn_opts(o, 50, *our_ts), NULL, 0);
    assert_true(pop(t));
    struct tcp_conn *c = t_conn(t);
    assert_true(c->sack_ok && c->ts_ok);
    c->cwnd = cwnd;
    return c;
}

static void syn_offers_ts_and_sack(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    t_connect(&t, true);
    assert_true(t.o.th.sack_perm);
    assert_true(t.o.th.has_ts);
    assert_int_equal(t.o.th.tsecr, 0); /* nothing to echo yet */
    assert_int_equal(t.o.th.nsack, 0);
    t_fini(&t);

    /* Switched off in the configuration: not offered. */
    t_init_opts(&t, 0, false, false);
    t_connect(&t, true);
    assert_false(t.o.th.sack_perm);
    assert_false(t.o.th.has_ts);
    assert_int_equal(t.o.th.hdr_len, 28); /* MSS, NOP, WS */
    t_fini(&t);
}

static void synack_answers_only_what_syn_offered(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    /* A SYN with neither: neither comes back, and neither is in effect. */
    t_init_rcvbuf(&t, 0);
    t_syn(&t, PISN, 65535, opt_mss1460, sizeof(opt_mss1460));
    assert_false(t.o.th.sack_perm);
    assert_false(t.o.th.has_ts);
    struct tcp_conn *c = t_conn(&t);
    assert_false(c->ts_ok);
    assert_false(c->sack_ok);
    assert_int_equal(c->snd_mss, 1460);
    t_fini(&t);

    /* Both: both come back, the timestamp echoing the SYN's. */
    t_init_rcvbuf(&t, 0);
    t_syn(&t, PISN, 65535, o, syn_opts(o, 5000, 0));
    assert_true(t.o.th.sack_perm);
    assert_true(t.o.th.has_ts);
    assert_int_equal(t.o.th.tsecr, 5000);
    c = t_conn(&t);
    assert_true(c->ts_ok);
    assert_true(c->sack_ok);
    /* 12 bytes of every segment go to the timestamp (RFC 7323 3.2). */
    assert_int_equal(c->snd_mss, 1448);
    t_fini(&t);

    /* Offered by the peer but switched off here: not answered. */
    t_init_opts(&t, 0, false, false);
    t_syn(&t, PISN, 65535, o, syn_opts(o, 5000, 0));
    assert_false(t.o.th.sack_perm);
    assert_false(t.o.th.has_ts);
    assert_false(t_conn(&t)->ts_ok);
    t_fini(&t);
}

/* Passive open with timestamps and SACK; the handshake completes. */
static struct tcp_conn *open_ts(struct tcp_peer *t, uint32_t tsval)
{
    uint8_t o[40];
    t_syn(t, PISN, 65535, o, syn_opts(o, tsval, 0));
    uint32_t our_ts = t->o.th.tsval;
    peer_opt(t, TCP_ACK, 65535, o, put_ts(o, tsval + 1, our_ts), NULL, 0);
    t_accept(t);
    return t_conn(t);
}

static void timestamps_echo_and_paws(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    t_init_rcvbuf(&t, 0);
    t_syn(&t, PISN, 65535, o, syn_opts(o, 1000, 0));
    uint32_t our_ts = t.o.th.tsval;
    struct tcp_conn *c = t_conn(&t);
    /* Once agreed, a segment without timestamps is dropped silently
     * (RFC 7323 3.2): this ACK does not complete the handshake. */
    peer_opt(&t, TCP_ACK, 65535, NULL, 0, NULL, 0);
    assert_int_equal(c->state, TCPS_SYN_RECEIVED);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.drop_no_ts, 1);
    assert_false(pop(&t));
    peer_opt(&t, TCP_ACK, 65535, o, put_ts(o, 1001, our_ts), NULL, 0);
    t_accept(&t);
    assert_int_equal(c->ts_recent, 1001);

    /* Data: the ACK echoes its timestamp. Two segments: ACKed at once. */
    static const char d[8] = "abcdefgh";
    peer_opt(&t, TCP_ACK | TCP_PSH, 65535, o, put_ts(o, 1005, our_ts), d, 4);
    peer_opt(&t, TCP_ACK | TCP_PSH, 65535, o, put_ts(o, 1006, our_ts), d + 4, 4);
    assert_true(pop(&t));
    assert_true(t.o.th.has_ts);
    assert_int_equal(t.o.th.ack, PISN + 1 + 8);
    /* RFC 7323 4.3: an ACK answering several segments echoes the
     * earliest: only a segment starting at or before Last.ACK.sent moves
     * TS.Recent, and the second began past it. */
    assert_int_equal(t.o.th.tsecr, 1005);
    assert_true(seq_ge(t.o.th.tsval, our_ts));

    /* PAWS (5.3 R1): new data with an older timestamp is an old duplicate:
     * dropped, answered with an ACK, the data never delivered. */
    char buf[16];
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), MSG_DONTWAIT), 8);
    peer_opt(&t, TCP_ACK | TCP_PSH, 65535, o, put_ts(o, 900, our_ts), d, 4);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.drop_paws, 1);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, PISN + 1 + 8); /* not taken */
    assert_int_equal(t.o.th.tsecr, 1005);
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
    assert_int_equal(errno, EAGAIN);

    /* An out-of-order segment does not move TS.Recent (it lies beyond
     * Last.ACK.sent); the one filling the hole does. */
    t.pseq -= 4; /* the dropped one is still to come */
    peer_seg(&t, t.pseq + 100, t.pack, TCP_ACK, 65535, o, put_ts(o, 2000, our_ts), d, 4);
    assert_true(pop(&t)); /* a duplicate ACK at once */
    assert_int_equal(t.o.th.tsecr, 1005);
    peer_opt(&t, TCP_ACK, 65535, o, put_ts(o, 1500, our_ts), d, 4);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.tsecr, 1500);

    /* A RST is exempt from PAWS (it must be able to clear a connection
     * whose peer restarted its clock): in window, at rcv_nxt, it resets. */
    peer_seg(&t, c->rcv_nxt, 0, TCP_RST, 0, o, put_ts(o, 1, 0), NULL, 0);
    assert_int_equal(c->state, TCPS_CLOSED);
    t_fini(&t);
}

/* Our data segments leave room for the timestamp: 1448 bytes each. */
static void timestamps_shrink_segments(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    struct tcp_conn *c = open_ts(&t, 7);
    c->cwnd = 1u << 20;
    static uint8_t data[4 * 1448]; /* whole segments: Nagle holds no tail */
    assert_int_equal(ust_send(t.f.s, t.fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
    size_t total = 0;
    while (pop(&t)) {
        assert_true(t.o.th.has_ts);
        assert_int_equal(t.o.th.tsecr, 8);
        assert_true(t.o.len <= 1448);
        assert_true(t.o.len + t.o.th.hdr_len <= 1480);
        total += t.o.len;
    }
    assert_int_equal(total, sizeof(data));
    t_fini(&t);
}

static void sack_blocks_from_receiver(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    static const char d[100];
    t_init_rcvbuf(&t, 0);
    struct tcp_conn *c = open_ts(&t, 100);
    uint32_t base = t.pseq;
    uint32_t our_ts = c->ts_offset;
    (void)our_ts;
    /* [1000, 1100): one block. */
    peer_seg(&t, base + 1000, t.pack, TCP_ACK, 65535, o, put_ts(o, 200, 0), d, 100);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, base);
    assert_int_equal(t.o.th.nsack, 1);
    assert_int_equal(t.o.th.sack[0].start, base + 1000);
    assert_int_equal(t.o.th.sack[0].end, base + 1100);
    /* [3000, 3100): the newest first (RFC 2018 4). */
    peer_seg(&t, base + 3000, t.pack, TCP_ACK, 65535, o, put_ts(o, 201, 0), d, 100);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.nsack, 2);
    assert_int_equal(t.o.th.sack[0].start, base + 3000);
    assert_int_equal(t.o.th.sack[1].start, base + 1000);
    /* [1100, 1200) grows the first range: that block goes first. */
    peer_seg(&t, base + 1100, t.pack, TCP_ACK, 65535, o, put_ts(o, 202, 0), d, 100);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.nsack, 2);
    assert_int_equal(t.o.th.sack[0].start, base + 1000);
    assert_int_equal(t.o.th.sack[0].end, base + 1200);
    assert_int_equal(t.o.th.sack[1].start, base + 3000);
    /* Four ranges: beside a timestamp only three blocks fit, the newest first. */
    peer_seg(&t, base + 5000, t.pack, TCP_ACK, 65535, o, put_ts(o, 203, 0), d, 100);
    assert_true(pop(&t));
    peer_seg(&t, base + 7000, t.pack, TCP_ACK, 65535, o, put_ts(o, 204, 0), d, 100);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.nsack, 3);
    assert_int_equal(t.o.th.sack[0].start, base + 7000);
    assert_int_equal(t.o.th.hdr_len, 20 + 12 + 4 + 3 * 8);
    /* ...then the most recently reported ones (RFC 2018 4), not the
     * lowest: [5000, 5100), then [1000, 1200), which grew after [3000,
     * 3100) was first reported. */
    assert_int_equal(t.o.th.sack[1].start, base + 5000);
    assert_int_equal(t.o.th.sack[2].start, base + 1000);
    assert_int_equal(t.o.th.sack[2].end, base + 1200);
    /* The hole before the first range fills: the ACK jumps over it, and
     * the blocks left are the others. */
    static const char big[1000];
    peer_opt(&t, TCP_ACK, 65535, o, put_ts(o, 205, 0), big, 1000);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, base + 1200);
    assert_int_equal(t.o.th.nsack, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_true(seq_gt(t.o.th.sack[i].start, base + 1200));
    t_fini(&t);

    /* Without SACK agreed: never a block. */
    t_init_opts(&t, 0, true, false);
    open_ts(&t, 100);
    base = t.pseq;
    peer_seg(&t, base + 1000, t.pack, TCP_ACK, 65535, o, put_ts(o, 200, 0), d, 100);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.nsack, 0);
    t_fini(&t);
}

/* Frames handed in together (one poll step) get one ACK, except that a
 * segment opening a new out-of-order range is ACKed at once; without SACK
 * every duplicate ACK goes at once. */
static void acks_per_poll_step(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    static const char d[100];
    t_init_rcvbuf(&t, 0);
    struct tcp_conn *c = open_ts(&t, 100);
    uint32_t base = t.pseq;
    t.batch = true;

    /* Four in order: nothing until the step ends, then one ACK for all. */
    for (unsigned i = 0; i < 4; i++)
        peer_opt(&t, TCP_ACK, 65535, o, put_ts(o, 200, 0), d, 100);
    assert_int_equal(cap_count(t.f.cap), 0);
    ust_stack_poll(t.f.s, t.f.now);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, base + 400);
    assert_false(pop(&t));
    base += 400;

    /* Out of order: [1000, 1100) opens a range, ACKed at once. */
    peer_seg(&t, base + 1000, t.pack, TCP_ACK, 65535, o, put_ts(o, 201, 0), d, 100);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, base);
    assert_int_equal(t.o.th.nsack, 1);
    /* Two more growing it wait... */
    peer_seg(&t, base + 1100, t.pack, TCP_ACK, 65535, o, put_ts(o, 202, 0), d, 100);
    peer_seg(&t, base + 1200, t.pack, TCP_ACK, 65535, o, put_ts(o, 203, 0), d, 100);
    assert_false(pop(&t));
    /* ...until [3000, 3100) opens another: that ACK reports the first
     * range whole, as its second block. */
    peer_seg(&t, base + 3000, t.pack, TCP_ACK, 65535, o, put_ts(o, 204, 0), d, 100);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.nsack, 2);
    assert_int_equal(t.o.th.sack[0].start, base + 3000);
    assert_int_equal(t.o.th.sack[1].start, base + 1000);
    assert_int_equal(t.o.th.sack[1].end, base + 1300);
    ust_stack_poll(t.f.s, t.f.now);
    assert_false(pop(&t)); /* nothing was left owed */
    /* Growing [3000, ...) again waits for the end of the step. */
    peer_seg(&t, base + 3100, t.pack, TCP_ACK, 65535, o, put_ts(o, 205, 0), d, 100);
    assert_false(pop(&t));
    assert_int_equal(ust_stack_next_deadline(t.f.s), t.f.now); /* due now */
    ust_stack_poll(t.f.s, t.f.now);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.sack[0].end, base + 3200);
    assert_false(pop(&t));
    assert_int_equal(t.f.s->stats.tcp.delayed_acks, 0); /* none waited for the timer */
    (void)c;
    t_fini(&t);

    /* Without SACK each duplicate ACK is a loss signal: one per segment. */
    t_init_opts(&t, 0, true, false);
    open_ts(&t, 100);
    base = t.pseq;
    t.batch = true;
    for (unsigned i = 0; i < 3; i++)
        peer_seg(&t, base + 1000 + 100 * i, t.pack, TCP_ACK, 65535, o, put_ts(o, 200, 0), d, 100);
    for (unsigned i = 0; i < 3; i++) {
        assert_true(pop(&t));
        assert_int_equal(t.o.th.ack, base);
    }
    assert_false(pop(&t));
    t_fini(&t);
}

static void scoreboard(void **state)
{
    (void)state;
    struct tcp_scoreboard sb = {0};
    tcp_sb_add(&sb, 3000, 4000);
    tcp_sb_add(&sb, 1000, 2000);
    tcp_sb_add(&sb, 2000, 2500); /* touches [1000, 2000): merged */
    assert_int_equal(sb.n, 2);
    assert_int_equal(sb.r[0].start, 1000);
    assert_int_equal(sb.r[0].end, 2500);
    tcp_sb_add(&sb, 2400, 3100); /* bridges both */
    assert_int_equal(sb.n, 1);
    assert_int_equal(sb.r[0].end, 4000);
    tcp_sb_add(&sb, 5000, 5000); /* empty: ignored */
    assert_int_equal(sb.n, 1);
    assert_int_equal(tcp_sb_sacked_above(&sb, 0), 3000);
    assert_int_equal(tcp_sb_sacked_above(&sb, 3500), 500);
    uint32_t end = 0;
    assert_true(tcp_sb_sacked(&sb, 1000, &end));
    assert_int_equal(end, 4000);
    assert_false(tcp_sb_sacked(&sb, 4000, NULL));
    assert_int_equal(tcp_sb_high(&sb, 0), 4000);
    /* The cumulative ACK eats what it covers. */
    tcp_sb_ack(&sb, 1500);
    assert_int_equal(sb.r[0].start, 1500);
    tcp_sb_ack(&sb, 4000);
    assert_int_equal(sb.n, 0);
    assert_int_equal(tcp_sb_high(&sb, 77), 77);
    /* Across the sequence wrap. */
    tcp_sb_add(&sb, 0xfffffff0u, 0x10);
    assert_int_equal(tcp_sb_sacked_above(&sb, 0xffffff00u), 0x20);
    tcp_sb_ack(&sb, 0);
    assert_int_equal(tcp_sb_sacked_above(&sb, 0), 0x10);
    /* Full: the highest range is forgotten, never a lower one. */
    memset(&sb, 0, sizeof(sb));
    for (uint32_t i = 0; i <= TCP_SB_MAX; i++)
        tcp_sb_add(&sb, 1000 * (i + 1), 1000 * (i + 1) + 100);
    assert_int_equal(sb.n, TCP_SB_MAX);
    assert_int_equal(sb.r[0].start, 1000);
    assert_int_equal(sb.r[TCP_SB_MAX - 1].start, 1000 * TCP_SB_MAX);
}

/* The sender: 12 segments out, then the peer's SACKs drive RFC 6675. */
static void sack_recovery_decisions(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    const uint32_t M = 1448;
    uint32_t our_ts;
    struct tcp_conn *c = open_sack_sender(&t, 0, 20 * M, &our_ts); /* asserts SACK agreed */
    assert_int_equal(c->snd_mss, M);
    static uint8_t data[12 * 1448];
    assert_int_equal(ust_send(t.f.s, t.fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
    assert_int_equal(drain(&t), sizeof(data));
    uint32_t una = t.iss + 1;
    bool sacked[12] = {false};
    uint32_t blk[2][2];

    /* Segment 0 is lost. SACKs for 1, 1-2: not enough to call it lost. */
    for (unsigned k = 1; k <= 2; k++) {
        blk[0][0] = M;
        blk[0][1] = (k + 1) * M;
        peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 51, our_ts, una, blk, 1), NULL,
                 0);
        assert_false(pop(&t));
        assert_false(c->in_recovery);
        assert_false(tcp_sack_is_lost(c, una));
    }
    /* 1-3: three segments above it (more than 2 SMSS, RFC 6675 IsLost):
     * loss. Exactly segment 0 goes again, and the window is ssthresh. */
    blk[0][1] = 4 * M;
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 52, our_ts, una, blk, 1), NULL, 0);
    sacked[1] = sacked[2] = sacked[3] = true;
    assert_true(c->in_recovery);
    assert_true(tcp_sack_is_lost(c, una));
    assert_int_equal(c->cwnd, c->ssthresh);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una);
    assert_int_equal(t.o.len, M);
    assert_false(pop(&t));
    assert_int_equal(c->recover, una + 12 * M);
    /* Pipe: segments 4-11 still out, plus the retransmission of 0. */
    assert_int_equal(tcp_sack_pipe(c), 9 * M);

    /* Segment 4 was lost too: 5-11 arrive. It goes again, nothing else:
     * not 0 (retransmitted already), not a SACKed one. */
    blk[1][0] = 5 * M;
    blk[1][1] = 12 * M;
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 53, our_ts, una, blk, 2), NULL, 0);
    for (unsigned i = 5; i < 12; i++)
        sacked[i] = true;
    unsigned sent = 0;
    while (pop(&t)) {
        sent++;
        assert_int_equal(t.o.th.seq, una + 4 * M);
        assert_false(sacked[(t.o.th.seq - una) / M]);
    }
    assert_int_equal(sent, 1);
    assert_int_equal(tcp_sack_pipe(c), 2 * M); /* the two retransmissions */

    /* A partial ACK up to segment 4: still in recovery, nothing to send. */
    peer_seg(&t, t.pseq, una + 4 * M, TCP_ACK, 65535, o,
             put_ts_sack(o, 54, our_ts, una, blk + 1, 1), NULL, 0);
    assert_true(c->in_recovery);
    assert_false(pop(&t));
    /* Everything: recovery ends. */
    peer_seg(&t, t.pseq, una + 12 * M, TCP_ACK, 65535, o, put_ts(o, 55, our_ts), NULL, 0);
    assert_false(c->in_recovery);
    assert_int_equal(c->sb.n, 0);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.sack_retransmits, 2);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.sack_recoveries, 1);

    /* The first segment sent after that recovery is lost too: the ACK
     * that ended it sits exactly at the old recovery point, and that is
     * not a stale loss (RFC 6582 4.1 counts from the highest sequence
     * number sent, one below SND.MAX): a new recovery starts at once,
     * no timeout needed. */
    uint32_t una2 = una + 12 * M;
    assert_int_equal(c->recover, una2);
    c->cwnd = 20 * M;
    assert_int_equal(ust_send(t.f.s, t.fd, data, 6 * M, 0), (ssize_t)(6 * M));
    assert_int_equal(drain(&t), 6 * M);
    blk[0][0] = M;
    blk[0][1] = 4 * M;
    peer_seg(&t, t.pseq, una2, TCP_ACK, 65535, o, put_ts_sack(o, 56, our_ts, una2, blk, 1), NULL,
             0);
    assert_true(c->in_recovery);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una2);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.sack_recoveries, 2);
    t_fini(&t);
}

/* A retransmission that is lost too: once the peer SACKs data first sent
 * after it left, it goes again, without waiting for the timeout. */
static void lost_retransmission(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    const uint32_t M = 1448;
    uint32_t our_ts;
    struct tcp_conn *c = open_sack_sender(&t, 0, 20 * M, &our_ts);
    static uint8_t data[14 * 1448];
    assert_int_equal(ust_send(t.f.s, t.fd, data, 12 * M, 0), (ssize_t)(12 * M));
    assert_int_equal(drain(&t), 12 * M);
    uint32_t una = t.iss + 1;
    uint32_t blk[2][2] = {{M, 4 * M}, {12 * M, 14 * M}};
    /* Segment 0 lost; 1-3 SACKed: recovery, segment 0 again. */
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 51, our_ts, una, blk, 1), NULL, 0);
    assert_true(c->in_recovery);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una);
    assert_false(pop(&t));
    /* Two new segments go after that retransmission... */
    assert_int_equal(ust_send(t.f.s, t.fd, data, 2 * M, 0), (ssize_t)(2 * M));
    assert_int_equal(drain(&t), 2 * M);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.lost_retransmits, 0);
    /* ...and arrive, while segment 0 is still missing: its retransmission
     * was lost. */
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 52, our_ts, una, blk, 2), NULL, 0);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.lost_retransmits, 1);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una);
    assert_int_equal(t.o.len, M);
    t_fini(&t);
}

/* The tail of a transfer, closed: three segments and the FIN out, the
 * first lost. DupThresh (three SACKed segments) cannot be reached, so
 * RFC 5827's early retransmit declares it lost when the other two are
 * SACKed; before that, the tail loss probe is armed in FIN-WAIT-1 too. */
static void early_retransmit_at_the_tail(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    const uint32_t M = 1448;
    uint32_t our_ts;
    /* One segment first; the application closes with the rest queued. */
    struct tcp_conn *c = open_sack_sender(&t, 0, M, &our_ts);
    static uint8_t data[4 * 1448];
    assert_int_equal(ust_send(t.f.s, t.fd, data, 3 * M + 500, 0), (ssize_t)(3 * M + 500));
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    assert_int_equal(drain(&t), M);
    assert_int_equal(c->state, TCPS_FIN_WAIT_1);
    /* Its ACK sends the tail, in FIN-WAIT-1: the probe guards it. */
    c->cwnd = 20 * M;
    uint32_t una = t.iss + 1 + M;
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts(o, 51, our_ts), NULL, 0);
    assert_int_equal(drain(&t), 2 * M + 500);
    assert_true(c->fin_sent);
    assert_int_equal(c->timer, TCP_TIMER_PROBE);
    /* Its first segment is lost. The second SACKed: one above the hole,
     * and oseg - 1 = 2 are needed. */
    uint32_t blk[1][2] = {{M, 2 * M}};
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 52, our_ts, una, blk, 1), NULL, 0);
    assert_false(c->in_recovery);
    assert_false(pop(&t));
    /* The third and the FIN too: lost, the first segment goes again now. */
    blk[0][1] = 2 * M + 500 + 1;
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 53, our_ts, una, blk, 1), NULL, 0);
    assert_false(tcp_sack_is_lost(c, una)); /* RFC 6675 alone would wait */
    assert_true(c->in_recovery);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una);
    assert_int_equal(t.o.len, M);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.rto_timeouts, 0);
    /* TCP_INFO tells the story: in recovery, one retransmission, two of
     * the three segments out SACKed. */
    struct tcp_info ti;
    socklen_t tl = sizeof(ti);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
    assert_int_equal(tl, sizeof(ti));
    assert_int_equal(ti.tcpi_state, TCP_FIN_WAIT1);
    assert_int_equal(ti.tcpi_ca_state, TCP_CA_Recovery);
    assert_int_equal(ti.tcpi_options, TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
    assert_int_equal(ti.tcpi_snd_mss, M);
    assert_int_equal(ti.tcpi_total_retrans, 1);
    assert_int_equal(ti.tcpi_unacked, 3);
    assert_int_equal(ti.tcpi_sacked, 1); /* 1448 + 500 + FIN bytes: one whole segment */
    assert_int_equal(ti.tcpi_snd_cwnd, c->cwnd / M);
    assert_int_equal(ti.tcpi_rtt, c->srtt);
    /* A short buffer gets the start of it, as from Linux. */
    tl = 8;
    uint8_t head[8];
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_TCP, TCP_INFO, head, &tl), 0);
    assert_int_equal(tl, 8);
    assert_int_equal(head[0], TCP_FIN_WAIT1);
    t_fini(&t);

    /* With more data waiting for room in the window the rule stays out:
     * new segments will bring DupThresh SACKs. */
    c = open_sack_sender(&t, 0, 3 * M, &our_ts); /* cwnd, not the peer, holds it */
    assert_int_equal(ust_send(t.f.s, t.fd, data, 3 * M, 0), (ssize_t)(3 * M));
    assert_int_equal(drain(&t), 3 * M);
    assert_int_equal(ust_send(t.f.s, t.fd, data, M, 0), (ssize_t)M);
    blk[0][0] = M;
    blk[0][1] = 3 * M;
    una = t.iss + 1;
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 51, our_ts, una, blk, 1), NULL, 0);
    assert_false(tcp_sack_early_lost(c));
    t_fini(&t);
}

/* The probe timer with SACKs above a hole at SND.UNA: the hole goes
 * again at the probe time, not at the timeout. Once when the ACK that
 * would have started recovery was lost; once for a retransmission lost in
 * recovery with nothing sent after it to reveal that. */
static void probe_timer_repairs_holes(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    const uint32_t M = 1448;
    uint32_t our_ts;
    /* The handshake takes 1 ms: SRTT 1 ms, PTO 10 ms. */
    struct tcp_conn *c = open_sack_sender(&t, 1000, 20 * M, &our_ts);
    assert_true(c->rtt_valid);
    static uint8_t data[10 * 1448];
    assert_int_equal(ust_send(t.f.s, t.fd, data, 10 * M, 0), (ssize_t)(10 * M));
    assert_int_equal(drain(&t), 10 * M);
    uint32_t una = t.iss + 1;
    ust_time_t sent_at = t.f.now;
    /* Segment 0 lost; only one SACK (for 1-2) arrives: the one for 1-3
     * that would have declared the loss was lost. */
    uint32_t blk[1][2] = {{M, 3 * M}};
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 51, our_ts, una, blk, 1), NULL, 0);
    assert_false(c->in_recovery);
    assert_false(pop(&t));
    /* PTO later: segment 0 again, and recovery (the window comes down). */
    fixture_advance_to(&t.f, ust_stack_next_deadline(t.f.s));
    assert_true(t.f.now < sent_at + 200 * UST_MS); /* before the timeout */
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una);
    assert_int_equal(t.o.len, M);
    assert_true(c->in_recovery);
    assert_int_equal(c->cwnd, c->ssthresh);
    const struct ust_stats *st = ust_stack_stats(t.f.s);
    assert_int_equal(st->tcp.probe_repairs, 1);
    assert_int_equal(st->tcp.loss_probes, 0);
    assert_int_equal(st->tcp.rto_timeouts, 0);
    t_fini(&t);

    /* Recovery entered the usual way (1-3 SACKed), and its retransmission
     * of segment 0 is lost while everything else arrives: nothing was
     * sent after it, so no SACK can tell. The probe timer (armed when
     * the flight left) sends it once more. */
    c = open_sack_sender(&t, 1000, 20 * M, &our_ts);
    assert_int_equal(ust_send(t.f.s, t.fd, data, 10 * M, 0), (ssize_t)(10 * M));
    assert_int_equal(drain(&t), 10 * M);
    una = t.iss + 1;
    blk[0][1] = 4 * M;
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 51, our_ts, una, blk, 1), NULL, 0);
    assert_true(c->in_recovery);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una);
    while (pop(&t))
        ;
    blk[0][1] = 10 * M;
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 52, our_ts, una, blk, 1), NULL, 0);
    while (pop(&t))
        ;
    ust_time_t t1 = t.f.now;
    st = ust_stack_stats(t.f.s);
    fixture_advance_to(&t.f, ust_stack_next_deadline(t.f.s));
    assert_true(t.f.now < t1 + 200 * UST_MS);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.seq, una);
    assert_int_equal(t.o.len, M);
    assert_int_equal(st->tcp.probe_repairs, 1);
    assert_int_equal(st->tcp.lost_retransmits, 1);
    assert_int_equal(st->tcp.rto_timeouts, 0);
    /* It arrives: everything is acknowledged, recovery ends. */
    peer_seg(&t, t.pseq, una + 10 * M, TCP_ACK, 65535, o, put_ts(o, 53, our_ts), NULL, 0);
    assert_false(c->in_recovery);
    assert_int_equal(c->timer, TCP_TIMER_IDLE); /* nothing out: no timer */
    t_fini(&t);
}

/* The connection table grows: 2500 half-open connections (a server that
 * closes per request keeps as many in TIME-WAIT) double it twice, and
 * every one is still found. */
static void connection_table_grows(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init_rcvbuf(&t, 0);
    t.port = 80;
    t.lfd = ust_socket(t.f.s, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = sin_of(0, 80);
    assert_int_equal(ust_bind(t.f.s, t.lfd, SA(sin), sizeof(sin)), 0);
    assert_int_equal(ust_listen(t.f.s, t.lfd, 4096), 0);
    unsigned before = t.f.s->tcp->nbuckets;
    enum { N = 2500 };
    for (unsigned i = 0; i < N; i++) {
        t.pport = (uint16_t)(20000 + i);
        peer_seg(&t, PISN, 0, TCP_SYN, 65535, NULL, 0, NULL, 0);
        assert_true(pop(&t));
        assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
    }
    assert_int_equal(t.f.s->tcp->nhashed, N);
    assert_int_equal(t.f.s->tcp->nbuckets, 4 * before);
    for (unsigned i = 0; i < N; i++) {
        struct tcp_conn *c = tcp_lookup(t.f.s, &T_ADDR_US, 80, &T_ADDR_PEER, (uint16_t)(20000 + i));
        assert_non_null(c);
        assert_int_equal(c->state, TCPS_SYN_RECEIVED);
    }
    /* The last one completes its handshake through the grown table. */
    t.pport = 20000 + N - 1;
    struct tcp_conn *c = t_conn(&t);
    peer_seg(&t, PISN + 1, c->iss + 1, TCP_ACK, 65535, NULL, 0, NULL, 0);
    assert_int_equal(c->state, TCPS_ESTABLISHED);
    t_fini(&t);
}

/* MSG_MORE: a partial segment waits for more data, for the FIN, or
 * TCP_CORK_MAX; a send without it lets everything go. */
static void msg_more_holds_a_partial_segment(void **state)
{
    (void)state;
    struct tcp_peer t;
    static const char d[300];
    t_init_rcvbuf(&t, 0);
    struct tcp_conn *c = open_ts(&t, 7);
    /* Held, then sent with the FIN in one segment at shutdown. */
    assert_int_equal(ust_send(t.f.s, t.fd, d, 100, MSG_MORE), 100);
    assert_false(pop(&t));
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.len, 100);
    assert_true(t.o.th.flags & TCP_FIN);
    assert_false(pop(&t));
    (void)c;
    t_fini(&t);

    /* Held, then released by a send without MSG_MORE: all of it goes. */
    t_init_rcvbuf(&t, 0);
    c = open_ts(&t, 7);
    assert_int_equal(ust_send(t.f.s, t.fd, d, 100, MSG_MORE), 100);
    assert_false(pop(&t));
    assert_int_equal(ust_send(t.f.s, t.fd, d, 50, 0), 50);
    assert_true(pop(&t));
    assert_int_equal(t.o.len, 150);
    assert_false(t.o.th.flags & TCP_FIN);
    t_fini(&t);

    /* Held, and nothing follows: it goes after TCP_CORK_MAX. */
    t_init_rcvbuf(&t, 0);
    c = open_ts(&t, 7);
    ust_time_t t0 = t.f.now;
    assert_int_equal(ust_send(t.f.s, t.fd, d, 100, MSG_MORE), 100);
    assert_false(pop(&t));
    assert_int_equal(ust_stack_next_deadline(t.f.s), t0 + TCP_CORK_MAX);
    fixture_advance_to(&t.f, t0 + TCP_CORK_MAX - 1);
    assert_false(pop(&t));
    fixture_advance_to(&t.f, t0 + TCP_CORK_MAX);
    assert_true(pop(&t));
    assert_int_equal(t.o.len, 100);
    assert_int_equal(c->timer, TCP_TIMER_RETRANSMIT); /* now the data's own timer */
    assert_int_equal(c->timer_at, t.f.now + c->rto);
    t_fini(&t);
}

/* A partial segment held by MSG_MORE and completed to a full one by the
 * next send goes at once, and with its retransmission timer: the cork's
 * ceiling, armed for the partial segment, is no timer for data in flight.
 * (It stood in for one: when it fired with nothing left to send, a lost
 * segment had no timer at all and the connection waited forever.) */
static void msg_more_completed_segment_is_timed(void **state)
{
    (void)state;
    struct tcp_peer t;
    static const char d[1448];
    t_init_rcvbuf(&t, 0);
    struct tcp_conn *c = open_ts(&t, 7);
    uint32_t mss = c->snd_mss;
    uint32_t seq = c->snd_nxt;
    assert_int_equal(ust_send(t.f.s, t.fd, d, 100, MSG_MORE), 100);
    assert_false(pop(&t));
    assert_int_equal(ust_send(t.f.s, t.fd, d, mss - 100, MSG_MORE), (ssize_t)(mss - 100));
    assert_true(pop(&t));
    assert_int_equal(t.o.len, mss);
    /* The segment is lost: the peer says nothing. It must go again. */
    ust_time_t t0 = t.f.now;
    bool again = false;
    for (;;) {
        ust_time_t d_at = ust_stack_next_deadline(t.f.s);
        if (again || d_at > t0 + 10 * UST_SEC)
            break; /* (the next deadline without a timer: ARP's refresh) */
        fixture_advance_to(&t.f, d_at);
        while (pop(&t))
            again = again || (t.o.th.seq == seq && t.o.len == mss);
    }
    assert_true(again);
    t_fini(&t);
}

/* SACK blocks that are nonsense are ignored, not believed. */
/* IP_TTL and IP_TOS reach the connection's IPv4 headers (iperf3 -S, socat
 * tos= and ip-ttl=), TOS without the ECN bits, as Linux's TCP. */
static void ip_ttl_and_tos(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    int v = 0;
    socklen_t vl = sizeof(v);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_IP, IP_TTL, &v, &vl), 0);
    assert_int_equal(v, 64); /* the default */
    set_int(&t.f, t.fd, IPPROTO_IP, IP_TTL, 9);
    set_int(&t.f, t.fd, IPPROTO_IP, IP_TOS, 0x2b);
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_IP, IP_TOS, &v, &vl), 0);
    assert_int_equal(v, 0x28);
    v = 256;
    assert_fails(ust_setsockopt(t.f.s, t.fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)), EINVAL);
    v = 0;
    assert_fails(ust_setsockopt(t.f.s, t.fd, IPPROTO_IP, IP_TTL, &v, sizeof(v)), EINVAL);
    cap_clear(t.f.cap);
    send_all(&t, "hop", 3);
    uint8_t out[1600];
    assert_true(cap_pop(t.f.cap, out, sizeof(out)) > 0);
    assert_int_equal(out[ETH_HDR + 1], 0x28);    /* TOS */
    assert_int_equal(out[ETH_HDR + 8], 9);       /* TTL */
    set_int(&t.f, t.fd, IPPROTO_IP, IP_TTL, -1); /* back to the default */
    assert_int_equal(ust_getsockopt(t.f.s, t.fd, IPPROTO_IP, IP_TTL, &v, &vl), 0);
    assert_int_equal(v, 64);
    t_fini(&t);
}

static void sack_blocks_validated(void **state)
{
    (void)state;
    struct tcp_peer t;
    uint8_t o[40];
    const uint32_t M = 1448;
    uint32_t our_ts;
    struct tcp_conn *c = open_sack_sender(&t, 0, 20 * M, &our_ts);
    static uint8_t data[4 * 1448];
    assert_int_equal(ust_send(t.f.s, t.fd, data, sizeof(data), 0), (ssize_t)sizeof(data));
    drain(&t);
    uint32_t una = t.iss + 1;
    uint32_t bad[4][2] = {
        {5 * M, 6 * M}, /* beyond what was sent */
        {2 * M, M},     /* reversed */
        {0u - 100, 0},  /* below the cumulative ACK (a D-SACK) */
        {M, M},         /* empty */
    };
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 51, our_ts, una, bad, 3), NULL, 0);
    peer_seg(&t, t.pseq, una, TCP_ACK, 65535, o, put_ts_sack(o, 52, our_ts, una, bad + 3, 1), NULL,
             0);
    assert_int_equal(c->sb.n, 0);
    assert_false(c->in_recovery);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_offers_shift_for_buffer),
        cmocka_unit_test(ip_ttl_and_tos),
        cmocka_unit_test(synack_offers_ws_only_if_syn_did),
        cmocka_unit_test(scaled_send_window),
        cmocka_unit_test(advertised_window_is_scaled),
        cmocka_unit_test(read_window_update),
        cmocka_unit_test(read_window_update_small_buffer),
        cmocka_unit_test(read_releases_a_held_tail),
        cmocka_unit_test(buffers_follow_a_large_mtu),
        cmocka_unit_test(no_scaling_caps_at_65535),
        cmocka_unit_test(peer_shift_clamped_to_14),
        cmocka_unit_test(simultaneous_open_scales),
        cmocka_unit_test(syn_offers_ts_and_sack),
        cmocka_unit_test(synack_answers_only_what_syn_offered),
        cmocka_unit_test(timestamps_echo_and_paws),
        cmocka_unit_test(timestamps_shrink_segments),
        cmocka_unit_test(sack_blocks_from_receiver),
        cmocka_unit_test(acks_per_poll_step),
        cmocka_unit_test(early_retransmit_at_the_tail),
        cmocka_unit_test(probe_timer_repairs_holes),
        cmocka_unit_test(connection_table_grows),
        cmocka_unit_test(msg_more_holds_a_partial_segment),
        cmocka_unit_test(msg_more_completed_segment_is_timed),
        cmocka_unit_test(scoreboard),
        cmocka_unit_test(sack_recovery_decisions),
        cmocka_unit_test(sack_blocks_validated),
        cmocka_unit_test(lost_retransmission),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
