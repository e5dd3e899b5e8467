/* TCP window scaling (RFC 7323 section 2), segment by segment: the test
 * plays the peer, 192.0.2.1, builds its segments by hand and pops what the
 * fixture stack (192.0.2.2) sent from the capture device. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "transport/tcp.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"

#define ETH_HDR 14
#define TCP_OFF (ETH_HDR + IPV4_HDR_LEN)
#define PISN 0x10000000u
#define SA(x) ((struct sockaddr *)&(x))

/* Default SO_RCVBUF 256 KiB: 65535 << 2 is 4 bytes short, so shift 3. */
#define OUR_SHIFT 3

static const uint8_t opt_mss[4] = {TCP_OPT_MSS, 4, 0x05, 0xb4};                    /* 1460 */
static const uint8_t opt_mss1280_ws7[8] = {TCP_OPT_MSS, 4, 0x05, 0x00, TCP_OPT_NOP, TCP_OPT_WS, 3, 7};
static const uint8_t opt_mss_ws0[8] = {TCP_OPT_MSS, 4, 0x05, 0xb4, TCP_OPT_NOP, TCP_OPT_WS, 3, 0};
static const uint8_t opt_mss_ws2[8] = {TCP_OPT_MSS, 4, 0x05, 0xb4, TCP_OPT_NOP, TCP_OPT_WS, 3, 2};
static const uint8_t opt_mss_ws20[8] = {TCP_OPT_MSS, 4, 0x05, 0xb4, TCP_OPT_NOP, TCP_OPT_WS, 3, 20};

struct out {
    struct tcp_repr th;
    size_t len;
};

struct t {
    struct fixture f;
    int lfd, fd;
    uint16_t port, pport;
    uint32_t iss, pseq, pack;
    struct out o;
};

static struct sockaddr_in sin_of(ust_ip4_t a, uint16_t port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(a);
    sin.sin_port = htons(port);
    return sin;
}

static void seg_in(struct t *t, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                   const uint8_t *opt, size_t optlen, const void *data, size_t len)
{
    uint8_t *buf = calloc(1, TCP_OFF + TCP_MAX_HDR_LEN + len);
    assert_non_null(buf);
    uint8_t *s = buf + TCP_OFF;
    size_t hl = TCP_HDR_LEN + optlen;
    st16(s, t->pport);
    st16(s + 2, t->port);
    st32(s + 4, seq);
    st32(s + 8, ack);
    s[12] = (uint8_t)((hl / 4) << 4);
    s[13] = flags;
    st16(s + 14, win);
    if (optlen)
        memcpy(s + TCP_HDR_LEN, opt, optlen);
    if (len)
        memcpy(s + hl, data, len);
    st16(s + 16, cksum_fold(cksum_add(
                     ipv4_pseudo_sum(T_IP_PEER, T_IP_US, IPV4_PROTO_TCP, (uint16_t)(hl + len)), s,
                     hl + len)));
    size_t n = build_ipv4(buf + ETH_HDR, T_IP_PEER, T_IP_US, IPV4_PROTO_TCP, 0x4242, 0, 64, s, hl + len);
    n = build_eth(buf, t_mac_us, t_mac_peer, 0x0800, buf + ETH_HDR, n);
    fixture_input(&t->f, buf, n);
    free(buf);
}

/* The peer's next segment. */
static void peer(struct t *t, uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen,
                 const void *data, size_t len)
{
    seg_in(t, t->pseq, t->pack, flags, win, opt, optlen, data, len);
    t->pseq += (uint32_t)len + !!(flags & (TCP_SYN)) + !!(flags & TCP_FIN);
}

static bool pop(struct t *t)
{
    uint8_t fr[2048];
    size_t n = cap_pop(t->f.cap, fr, sizeof(fr));
    if (n == 0)
        return false;
    struct ipv4_repr ip;
    assert_int_equal(ipv4_parse(fr + ETH_HDR, n - ETH_HDR, &ip), WIRE_OK);
    assert_int_equal(ip.proto, IPV4_PROTO_TCP);
    const uint8_t *seg = fr + ETH_HDR + ip.hdr_len;
    size_t sl = ip.total_len - ip.hdr_len;
    assert_int_equal(tcp_parse(seg, sl, T_IP_US, T_IP_PEER, &t->o.th), WIRE_OK);
    t->o.len = sl - t->o.th.hdr_len;
    return true;
}

static struct tcp_conn *conn(struct t *t)
{
    struct tcp_conn *c = tcp_lookup(t->f.s, T_IP_US, t->port, T_IP_PEER, t->pport);
    assert_non_null(c);
    return c;
}

static void t_init(struct t *t, int rcvbuf)
{
    struct ust_config cfg;
    memset(t, 0, sizeof(*t));
    test_config(&cfg, 7);
    cfg.arp_reachable_time = 1000000 * UST_SEC;
    if (rcvbuf)
        cfg.tcp_rcvbuf = (uint32_t)rcvbuf;
    fixture_init(&t->f, &cfg);
    fixture_learn_peer(&t->f);
    t->lfd = t->fd = -1;
}

static void t_fini(struct t *t)
{
    if (t->fd > 0)
        ust_close(t->f.s, t->fd);
    if (t->lfd > 0)
        ust_close(t->f.s, t->lfd);
    cap_clear(t->f.cap);
    assert_int_equal(ust_stack_stats(t->f.s)->pkb.live, 0);
    fixture_fini(&t->f);
}

/* Active open: pops our SYN (left in t->o). */
static void connect_out(struct t *t)
{
    t->pport = 80;
    t->fd = ust_socket(t->f.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(t->fd > 0);
    int one = 1;
    assert_int_equal(ust_setsockopt(t->f.s, t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    errno = 0;
    assert_int_equal(ust_connect(t->f.s, t->fd, SA(sin), sizeof(sin)), -1);
    assert_int_equal(errno, EINPROGRESS);
    assert_true(pop(t));
    assert_int_equal(t->o.th.flags, TCP_SYN);
    t->port = t->o.th.sport;
    t->iss = t->o.th.seq;
    t->pack = t->iss + 1;
    t->pseq = PISN;
}

/* Passive open with the peer's SYN carrying opt; pops our SYN-ACK (left
 * in t->o), does not complete the handshake. */
static void syn_in(struct t *t, const uint8_t *opt, size_t optlen, uint16_t win)
{
    t->port = 80;
    t->pport = 40000;
    t->lfd = ust_socket(t->f.s, AF_INET, SOCK_STREAM, 0);
    assert_true(t->lfd > 0);
    struct sockaddr_in sin = sin_of(0, 80);
    assert_int_equal(ust_bind(t->f.s, t->lfd, SA(sin), sizeof(sin)), 0);
    assert_int_equal(ust_listen(t->f.s, t->lfd, 8), 0);
    t->pseq = PISN;
    t->pack = 0;
    peer(t, TCP_SYN, win, opt, optlen, NULL, 0);
    assert_true(pop(t));
    assert_int_equal(t->o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t->o.th.ack, PISN + 1);
    t->iss = t->o.th.seq;
    t->pack = t->iss + 1;
}

static void accept_it(struct t *t)
{
    t->fd = ust_accept(t->f.s, t->lfd, NULL, NULL);
    assert_true(t->fd > 0);
    assert_int_equal(conn(t)->state, TCPS_ESTABLISHED);
}

/* Pops everything sent; returns the payload bytes. */
static size_t drain(struct t *t)
{
    size_t total = 0;
    while (pop(t))
        total += t->o.len;
    return total;
}

/* ---------------- the tests ---------------- */

static void syn_offers_shift_for_buffer(void **state)
{
    (void)state;
    struct t t;
    t_init(&t, 0);
    connect_out(&t);
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    assert_int_equal(t.o.th.mss, 1460);
    /* MSS, SACK-permitted, timestamps, NOP, WS */
    assert_int_equal(t.o.th.hdr_len, 40);
    assert_int_equal(t.o.th.window, 65535); /* never scaled in a SYN */
    t_fini(&t);

    /* Small buffer: shift 0 is still offered (we may scale their side). */
    t_init(&t, 32768);
    connect_out(&t);
    assert_int_equal(t.o.th.wscale, 0);
    assert_int_equal(t.o.th.window, 32768);
    t_fini(&t);

    /* Exactly 65535 fits unscaled; 65536 needs shift 1; 4 MiB shift 7. */
    t_init(&t, 65535);
    connect_out(&t);
    assert_int_equal(t.o.th.wscale, 0);
    t_fini(&t);
    t_init(&t, 65536);
    connect_out(&t);
    assert_int_equal(t.o.th.wscale, 1);
    t_fini(&t);
    t_init(&t, 4 << 20);
    connect_out(&t);
    assert_int_equal(t.o.th.wscale, 7);
    assert_int_equal(t.o.th.window, 65535);
    t_fini(&t);
}

static void synack_offers_ws_only_if_syn_did(void **state)
{
    (void)state;
    struct t t;
    /* Peer without WS: no WS in the SYN-ACK, no scaling either way. */
    t_init(&t, 0);
    syn_in(&t, opt_mss, sizeof(opt_mss), 65535);
    assert_int_equal(t.o.th.wscale, -1);
    assert_int_equal(t.o.th.hdr_len, 24);
    assert_int_equal(t.o.th.window, 65535);
    peer(&t, TCP_ACK, 100, NULL, 0, NULL, 0);
    accept_it(&t);
    struct tcp_conn *c = conn(&t);
    assert_false(c->ws_ok);
    assert_int_equal(c->snd_wscale, 0);
    assert_int_equal(c->rcv_wscale, 0);
    assert_int_equal(c->snd_wnd, 100); /* not shifted */
    t_fini(&t);

    /* Peer with WS: the SYN-ACK answers with ours, its window unscaled. */
    t_init(&t, 0);
    syn_in(&t, opt_mss_ws2, sizeof(opt_mss_ws2), 1000);
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    assert_int_equal(t.o.th.hdr_len, 28);
    assert_int_equal(t.o.th.window, 65535);
    c = conn(&t);
    assert_int_equal(c->snd_wnd, 1000); /* the SYN's window: unscaled */
    peer(&t, TCP_ACK, 1000, NULL, 0, NULL, 0);
    accept_it(&t);
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
    struct t t;
    t_init(&t, 0);
    connect_out(&t);
    peer(&t, TCP_SYN | TCP_ACK, 100, opt_mss1280_ws7, sizeof(opt_mss1280_ws7), NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_ACK);
    assert_int_equal(t.o.th.wscale, -1); /* options on SYNs only */
    struct tcp_conn *c = conn(&t);
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
    peer(&t, TCP_ACK, 100, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 12800);
    assert_int_equal(c->max_snd_wnd, 12800);
    assert_int_equal(drain(&t), 12800);
    assert_int_equal(c->snd_nxt - c->snd_una, 12800);
    /* A duplicate of that ACK (same scaled window) sends nothing more. */
    peer(&t, TCP_ACK, 100, NULL, 0, NULL, 0);
    assert_int_equal(drain(&t), 0);
    /* Field 101: 128 more bytes. */
    peer(&t, TCP_ACK, 101, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 12928);
    t_fini(&t);
}

/* Our advertised window field is the free space >> our shift, and
 * rcv_adv is the edge that field expresses. */
static void advertised_window_is_scaled(void **state)
{
    (void)state;
    struct t t;
    t_init(&t, 0);
    syn_in(&t, opt_mss_ws0, sizeof(opt_mss_ws0), 65535);
    assert_int_equal(t.o.th.window, 65535); /* SYN-ACK: unscaled, capped */
    peer(&t, TCP_ACK, 65535, NULL, 0, NULL, 0);
    accept_it(&t);
    struct tcp_conn *c = conn(&t);
    assert_int_equal(c->snd_wscale, 0);
    assert_int_equal(c->rcv_wscale, OUR_SHIFT);
    static uint8_t d[1460 * 2 + 3];
    memset(d, 'x', sizeof(d));
    /* Two full segments: an immediate ACK. */
    peer(&t, TCP_ACK, 65535, NULL, 0, d, 1460);
    peer(&t, TCP_ACK, 65535, NULL, 0, d, 1460);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, t.pseq);
    uint32_t space = (uint32_t)ring_space(&c->rcvq);
    assert_int_equal(space, 256 * 1024 - 2920);
    assert_int_equal(t.o.th.window, space >> OUR_SHIFT);
    assert_int_equal(c->rcv_adv - c->rcv_nxt, (uint32_t)t.o.th.window << OUR_SHIFT);
    assert_true((uint32_t)t.o.th.window << OUR_SHIFT <= space);
    /* An odd number of bytes: the edge keeps to whole units. */
    peer(&t, TCP_ACK | TCP_PSH, 65535, NULL, 0, d, 3);
    for (int i = 0; i < 100 && cap_count(t.f.cap) == 0; i++)
        fixture_advance_to(&t.f, ust_stack_next_deadline(t.f.s));
    assert_true(pop(&t));
    assert_int_equal(t.o.th.ack, t.pseq);
    uint32_t adv = (uint32_t)t.o.th.window << OUR_SHIFT;
    assert_true(adv <= (uint32_t)ring_space(&c->rcvq));
    /* What was advertised before still counts: never moved back. */
    assert_true(seq_ge(c->rcv_adv, c->rcv_nxt + adv));
    /* Reading everything opens it to the full buffer, in whole units. */
    static uint8_t buf[8192];
    assert_int_equal(ust_recv(t.f.s, t.fd, buf, sizeof(buf), 0), 2923);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.window, (256 * 1024) >> OUR_SHIFT);
    assert_int_equal(c->rcv_adv - c->rcv_nxt, 256 * 1024);
    t_fini(&t);
}

/* Without the peer's WS the receive window caps at 65535 however large
 * the buffer, and the peer's windows are taken as they are. */
static void no_scaling_caps_at_65535(void **state)
{
    (void)state;
    struct t t;
    t_init(&t, 4 << 20);
    connect_out(&t);
    assert_int_equal(t.o.th.wscale, 7); /* offered... */
    peer(&t, TCP_SYN | TCP_ACK, 5000, opt_mss, sizeof(opt_mss), NULL, 0);
    assert_true(pop(&t));
    struct tcp_conn *c = conn(&t);
    assert_false(c->ws_ok); /* ...but not taken up */
    assert_int_equal(c->rcv_wscale, 0);
    assert_int_equal(c->snd_wscale, 0);
    assert_int_equal(t.o.th.window, 65535);
    assert_int_equal(tcp_rcv_window(c), 65535);
    assert_int_equal(c->rcv_adv - c->rcv_nxt, 65535);
    peer(&t, TCP_ACK, 7000, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 7000);
    t_fini(&t);
}

/* RFC 7323 2.3: a shift above 14 is taken as 14. */
static void peer_shift_clamped_to_14(void **state)
{
    (void)state;
    struct t t;
    t_init(&t, 0);
    syn_in(&t, opt_mss_ws20, sizeof(opt_mss_ws20), 65535);
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    peer(&t, TCP_ACK, 3, NULL, 0, NULL, 0);
    accept_it(&t);
    struct tcp_conn *c = conn(&t);
    assert_int_equal(c->snd_wscale, 14);
    assert_int_equal(c->snd_wnd, 3u << 14);
    t_fini(&t);

    /* Same on the active side. */
    t_init(&t, 0);
    connect_out(&t);
    peer(&t, TCP_SYN | TCP_ACK, 1, opt_mss_ws20, sizeof(opt_mss_ws20), NULL, 0);
    c = conn(&t);
    assert_int_equal(c->snd_wscale, 14);
    assert_int_equal(c->snd_wnd, 1); /* the SYN-ACK's, unscaled */
    peer(&t, TCP_ACK, 2, NULL, 0, NULL, 0);
    assert_int_equal(c->snd_wnd, 2u << 14);
    t_fini(&t);
}

/* Simultaneous open: both SYNs carried WS, so scaling is on. */
static void simultaneous_open_scales(void **state)
{
    (void)state;
    struct t t;
    t_init(&t, 0);
    connect_out(&t);
    peer(&t, TCP_SYN, 1000, opt_mss_ws2, sizeof(opt_mss_ws2), NULL, 0);
    assert_true(pop(&t));
    assert_int_equal(t.o.th.flags, TCP_SYN | TCP_ACK);
    assert_int_equal(t.o.th.wscale, OUR_SHIFT);
    assert_int_equal(t.o.th.window, 65535);
    struct tcp_conn *c = conn(&t);
    assert_int_equal(c->state, TCPS_SYN_RECEIVED);
    peer(&t, TCP_ACK, 1000, NULL, 0, NULL, 0);
    assert_int_equal(c->state, TCPS_ESTABLISHED);
    assert_int_equal(c->snd_wnd, 4000);
    t_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_offers_shift_for_buffer),
        cmocka_unit_test(synack_offers_ws_only_if_syn_did),
        cmocka_unit_test(scaled_send_window),
        cmocka_unit_test(advertised_window_is_scaled),
        cmocka_unit_test(no_scaling_caps_at_65535),
        cmocka_unit_test(peer_shift_clamped_to_14),
        cmocka_unit_test(simultaneous_open_scales),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
