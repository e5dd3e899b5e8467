#include "tcp_peer.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/checksum.h"

const uint8_t opt_mss1460[4] = {TCP_OPT_MSS, 4, 0x05, 0xb4};
const uint8_t opt_mss536[4] = {TCP_OPT_MSS, 4, 0x02, 0x18};

/* ---------------- segments from the peer ---------------- */

void tcp_csum(uint8_t *tcp, size_t len)
{
    st16(tcp + 16, 0);
    st16(tcp + 16,
         cksum_fold(cksum_add(ipv4_pseudo_sum(T_IP_PEER, T_IP_US, IPV4_PROTO_TCP, (uint16_t)len),
                              tcp, len)));
}

size_t seg_frame(uint8_t *buf, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                 uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen, const void *data,
                 size_t len)
{
    uint8_t *t = buf + TCP_OFF;
    size_t hl = TCP_HDR_LEN + optlen;
    memset(t, 0, TCP_HDR_LEN);
    st16(t, sport);
    st16(t + 2, dport);
    st32(t + 4, seq);
    st32(t + 8, ack);
    t[12] = (uint8_t)((hl / 4) << 4);
    t[13] = flags;
    st16(t + 14, win);
    if (optlen)
        memcpy(t + TCP_HDR_LEN, opt, optlen);
    if (len)
        memcpy(t + hl, data, len);
    tcp_csum(t, hl + len);
    size_t n = build_ipv4(buf + ETH_HDR, T_IP_PEER, T_IP_US, IPV4_PROTO_TCP, 0x4242, 0, 64, t,
                          hl + len);
    return build_eth(buf, t_mac_us, t_mac_peer, 0x0800, buf + ETH_HDR, n);
}

/* Builds the segment and hands it in; polls unless batch. */
static void seg_send(struct fixture *f, bool batch, uint16_t sport, uint16_t dport, uint32_t seq,
                     uint32_t ack, uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen,
                     const void *data, size_t len)
{
    uint8_t *buf = calloc(1, TCP_OFF + TCP_MAX_HDR_LEN + len);
    assert_non_null(buf);
    size_t n = seg_frame(buf, sport, dport, seq, ack, flags, win, opt, optlen, data, len);
    if (batch)
        ust_stack_input(f->s, f->dev, buf, n, f->now);
    else
        fixture_input(f, buf, n);
    free(buf);
}

void seg_in(struct fixture *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
            uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen, const void *data,
            size_t len)
{
    seg_send(f, false, sport, dport, seq, ack, flags, win, opt, optlen, data, len);
}

void peer_seg(struct tcp_peer *t, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
              const uint8_t *opt, size_t optlen, const void *data, size_t len)
{
    seg_send(&t->f, t->batch, t->pport, t->port, seq, ack, flags, win, opt, optlen, data, len);
}

void peer_opt(struct tcp_peer *t, uint8_t flags, uint16_t win, const uint8_t *opt, size_t optlen,
              const void *data, size_t len)
{
    peer_seg(t, t->pseq, t->pack, flags, win, opt, optlen, data, len);
    t->pseq += (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
}

void peer(struct tcp_peer *t, uint8_t flags, const void *data, size_t len)
{
    peer_opt(t, flags, t->pwin, NULL, 0, data, len);
}

void peer_at(struct tcp_peer *t, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
    peer_seg(t, seq, t->pack, flags, t->pwin, NULL, 0, data, len);
}

/* ---------------- TCP options the peer sends ---------------- */

size_t put_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
    o[0] = TCP_OPT_NOP;
    o[1] = TCP_OPT_NOP;
    o[2] = TCP_OPT_TS;
    o[3] = 10;
    st32(o + 4, tsval);
    st32(o + 8, tsecr);
    return 12;
}

size_t put_ts_sack(uint8_t *o, uint32_t tsval, uint32_t tsecr, uint32_t base,
                   const uint32_t (*blk)[2], unsigned n)
{
    size_t k = put_ts(o, tsval, tsecr);
    o[k++] = TCP_OPT_NOP;
    o[k++] = TCP_OPT_NOP;
    o[k++] = TCP_OPT_SACK;
    o[k++] = (uint8_t)(2 + 8 * n);
    for (unsigned i = 0; i < n; i++, k += 8) {
        st32(o + k, base + blk[i][0]);
        st32(o + k + 4, base + blk[i][1]);
    }
    return k;
}

size_t syn_opts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
    static const uint8_t head[6] = {TCP_OPT_MSS, 4, 0x05, 0xb4, TCP_OPT_SACK_PERM, 2};
    memcpy(o, head, 6);
    o[6] = TCP_OPT_TS;
    o[7] = 10;
    st32(o + 8, tsval);
    st32(o + 12, tsecr);
    o[16] = TCP_OPT_NOP;
    o[17] = TCP_OPT_WS;
    o[18] = 3;
    o[19] = 2;
    return 20;
}

/* ---------------- segments from us ---------------- */

bool pop(struct tcp_peer *t)
{
    struct out *o = &t->o;
    static uint8_t fr[65536 + 64]; /* a super-frame, with offloads (tests are single-threaded) */
    size_t n = cap_pop(t->f.cap, fr, sizeof(fr));
    if (n == 0)
        return false;
    assert_true(n >= ETH_HDR + IPV4_HDR_LEN + TCP_HDR_LEN);
    assert_memory_equal(fr, t_mac_peer, 6);
    assert_memory_equal(fr + 6, t_mac_us, 6);
    assert_int_equal(ld16(fr + 12), 0x0800);
    struct ipv4_repr ip;
    assert_int_equal(ipv4_parse(fr + ETH_HDR, n - ETH_HDR, &ip), WIRE_OK);
    assert_int_equal(ip.proto, IPV4_PROTO_TCP);
    assert_int_equal(ip.src, T_IP_US);
    assert_int_equal(ip.dst, T_IP_PEER);
    const uint8_t *seg = fr + ETH_HDR + ip.hdr_len;
    size_t sl = ip.total_len - ip.hdr_len;
    assert_int_equal(tcp_parse(seg, sl, ipv4_pseudo_sum(T_IP_US, T_IP_PEER, IPV4_PROTO_TCP, 0),
                               &o->th),
                     WIRE_OK);
    o->len = sl - o->th.hdr_len;
    memcpy(o->data, seg + o->th.hdr_len, o->len);
    const struct ust_pkt_meta *m = cap_last_meta(t->f.cap);
    o->gso = m->gso_type ? m->gso_size : 0;
    return true;
}

size_t drain(struct tcp_peer *t)
{
    size_t total = 0;
    while (pop(t))
        total += t->o.len;
    return total;
}

void check_seg_(struct tcp_peer *t, int line, uint8_t flags, uint32_t seq, uint32_t ack, size_t len)
{
    const struct tcp_repr *h = &t->o.th;
    if ((h->flags & ~TCP_PSH) != flags || h->seq != seq || ((flags & TCP_ACK) && h->ack != ack) ||
        t->o.len != len || h->sport != t->port || h->dport != t->pport)
        fail_msg(
            "line %d: got flags 0x%02x seq %u ack %u len %zu ports %u->%u; wanted flags 0x%02x "
            "seq %u ack %u len %zu ports %u->%u",
            line, h->flags, h->seq, h->ack, t->o.len, h->sport, h->dport, flags, seq, ack, len,
            t->port, t->pport);
}

void expect_seg_(struct tcp_peer *t, int line, uint8_t flags, uint32_t seq, uint32_t ack,
                 size_t len)
{
    if (!pop(t))
        fail_msg("line %d: nothing sent (wanted flags 0x%02x, seq %u, len %zu)", line, flags, seq,
                 len);
    check_seg_(t, line, flags, seq, ack, len);
}

void expect_next_(struct tcp_peer *t, int line, uint8_t flags, size_t len)
{
    expect_seg_(t, line, flags, t->pack, t->pseq, len);
    t->pack += (uint32_t)len + !!(flags & TCP_SYN) + !!(flags & TCP_FIN);
}

void expect_none_(struct tcp_peer *t, int line)
{
    if (pop(t))
        fail_msg("line %d: unexpected segment flags 0x%02x seq %u ack %u len %zu", line,
                 t->o.th.flags, t->o.th.seq, t->o.th.ack, t->o.len);
}

void expect_synack_(struct tcp_peer *t, int line, uint32_t ack)
{
    if (!pop(t))
        fail_msg("line %d: no SYN-ACK", line);
    check_seg_(t, line, TCP_SYN | TCP_ACK, t->o.th.seq, ack, 0);
    t->iss = t->o.th.seq;
}

ust_time_t run_until_tx(struct fixture *f, ust_time_t limit)
{
    for (int i = 0; i < 100000 && cap_count(f->cap) == 0; i++) {
        ust_time_t d = ust_stack_next_deadline(f->s);
        if (d > limit) {
            fixture_advance_to(f, limit);
            return cap_count(f->cap) ? f->now : UST_TIME_NEVER;
        }
        fixture_advance_to(f, d > f->now ? d : f->now);
    }
    assert_true(cap_count(f->cap) > 0);
    return f->now;
}

/* ---------------- the connection and its sockets ---------------- */

int state_of(struct tcp_peer *t)
{
    struct tcp_conn *c = tcp_lookup(t->f.s, &T_ADDR_US, t->port, &T_ADDR_PEER, t->pport);
    return c ? (int)c->state : GONE;
}

struct tcp_conn *t_conn(struct tcp_peer *t)
{
    struct tcp_conn *c = tcp_lookup(t->f.s, &T_ADDR_US, t->port, &T_ADDR_PEER, t->pport);
    assert_non_null(c);
    return c;
}

short events(struct fixture *f, int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
    assert_true(ust_poll(f->s, &p, 1, 0) >= 0);
    return p.revents;
}

int so_error(struct fixture *f, int fd)
{
    int v = -1;
    socklen_t l = sizeof(v);
    assert_int_equal(ust_getsockopt(f->s, fd, SOL_SOCKET, SO_ERROR, &v, &l), 0);
    return v;
}

void set_int(struct fixture *f, int fd, int level, int name, int v)
{
    assert_int_equal(ust_setsockopt(f->s, fd, level, name, &v, sizeof(v)), 0);
}

const struct ust_stats *st(struct tcp_peer *t) { return ust_stack_stats(t->f.s); }

void expect_recv(struct tcp_peer *t, const void *want, size_t len)
{
    char buf[4096];
    assert_true(len <= sizeof(buf));
    ssize_t n = ust_recv(t->f.s, t->fd, buf, sizeof(buf), 0);
    assert_int_equal(n, (ssize_t)len);
    assert_memory_equal(buf, want, len);
}

void send_all(struct tcp_peer *t, const void *data, size_t len)
{
    assert_int_equal(ust_send(t->f.s, t->fd, data, len, 0), (ssize_t)len);
}

/* ---------------- set-up ---------------- */

void t_config(struct ust_config *cfg)
{
    test_config(cfg, 7);
    cfg->arp_reachable_time = 1000000 * UST_SEC;
}

void t_init(struct tcp_peer *t, const struct ust_config *cfg)
{
    struct ust_config c;
    memset(t, 0, sizeof(*t));
    if (!cfg) {
        t_config(&c);
        cfg = &c;
    }
    fixture_init(&t->f, cfg);
    fixture_learn_peer(&t->f);
    t->lfd = t->fd = -1;
    t->pwin = 65535;
}

void t_fini(struct tcp_peer *t)
{
    if (t->fd > 0)
        ust_close(t->f.s, t->fd);
    if (t->lfd > 0)
        ust_close(t->f.s, t->lfd);
    cap_clear(t->f.cap);
    assert_int_equal(ust_stack_stats(t->f.s)->pkb.live, 0);
    fixture_fini(&t->f);
}

int listener(struct tcp_peer *t, uint16_t port, int backlog)
{
    int fd = ust_socket(t->f.s, AF_INET, SOCK_STREAM, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(0, port);
    assert_int_equal(ust_bind(t->f.s, fd, SA(sin), sizeof(sin)), 0);
    assert_int_equal(ust_listen(t->f.s, fd, backlog), 0);
    return fd;
}

void t_syn(struct tcp_peer *t, uint32_t pisn, uint16_t win, const uint8_t *opt, size_t optlen)
{
    t->port = 80;
    t->pport = 40000;
    if (t->lfd < 0)
        t->lfd = listener(t, 80, 8);
    t->pseq = pisn;
    t->pack = 0;
    peer_opt(t, TCP_SYN, win, opt, optlen, NULL, 0);
    expect_synack_(t, __LINE__, pisn + 1);
    assert_int_equal(t->o.th.flags, TCP_SYN | TCP_ACK); /* no PSH either */
    t->pack = t->iss + 1;
}

void t_accept(struct tcp_peer *t)
{
    t->fd = ust_accept(t->f.s, t->lfd, NULL, NULL);
    assert_true(t->fd > 0);
    assert_int_equal(state_of(t), TCPS_ESTABLISHED);
}

void t_passive(struct tcp_peer *t, uint32_t pisn, ust_time_t rtt)
{
    t_syn(t, pisn, t->pwin, opt_mss1460, sizeof(opt_mss1460));
    if (rtt)
        fixture_advance_to(&t->f, t->f.now + rtt);
    peer(t, TCP_ACK, NULL, 0);
    expect_none_(t, __LINE__);
    t_accept(t);
}

void t_connect(struct tcp_peer *t, bool nodelay)
{
    t->pport = 80;
    t->fd = ust_socket(t->f.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(t->fd > 0);
    if (nodelay)
        set_int(&t->f, t->fd, IPPROTO_TCP, TCP_NODELAY, 1);
    struct sockaddr_in sin = sin_of(T_IP_PEER, 80);
    assert_fails(ust_connect(t->f.s, t->fd, SA(sin), sizeof(sin)), EINPROGRESS);
    assert_true(pop(t));
    assert_int_equal(t->o.th.flags, TCP_SYN);
    t->port = t->o.th.sport;
    t->iss = t->o.th.seq;
    t->pack = t->iss + 1;
    t->pseq = PISN;
}

void t_active(struct tcp_peer *t, const uint8_t *opt, size_t optlen)
{
    t_connect(t, false);
    peer_opt(t, TCP_SYN | TCP_ACK, t->pwin, opt, optlen, NULL, 0);
    expect_next_(t, __LINE__, TCP_ACK, 0);
    assert_int_equal(state_of(t), TCPS_ESTABLISHED);
}

void t_open(struct tcp_peer *t, const struct ust_config *cfg)
{
    t_init(t, cfg);
    t_passive(t, PISN, 0);
}
