/* Run longer by hand: mkdir -p tests/fuzz/corpus-run && build-sim/bin/ust_fuzz_frame -max_total_time=3600 tests/fuzz/corpus-run tests/fuzz/corpus
 *
 * libFuzzer target: a sequence of frames, clock steps, pings and socket calls
 * pushed into one stack. The stack has a capture device "eth0" at
 * 192.0.2.2/24 (MAC 02:00:00:00:00:02, default route via 192.0.2.1), a
 * loopback device at 127.0.0.1/8, a ping endpoint with identifier 0x5501,
 * UDP sockets (below), a TCP listener on port 80 (backlog 4; what arrives is
 * accepted, up to 8 connections at a time, beyond that closed at once) and a
 * TCP connection it opens at start from port 40000 to 192.0.2.1:80 (its SYN
 * waits for ARP). TCP timers are short (MSL 2 s, FIN-WAIT-2 5 s, 4 data and
 * 3 SYN retransmissions) and buffers small (send 16 kB, receive 8 kB).
 *
 * The input is a sequence of records [op:1][arg:2, big-endian][bytes]:
 *   op % 14 == 0  ETH    deliver the next min(arg, left) bytes as a frame on eth0;
 *                        arg & 0x8000: the next min(arg & 0x7fff, left) bytes are
 *                        [virtio-net header:10][frame], the header (any flags,
 *                        types, sizes) given as the frame's offload metadata
 *                        (eth0 says it verifies received checksums)
 *   op % 14 == 1  LO     deliver the next min(arg, left) bytes as a packet on lo
 *   op % 14 == 2  CLOCK  advance the clock by arg ms in one jump, then poll (no bytes)
 *   op % 14 == 3  PING   the next min(arg, left) bytes are [dst:4][seq:2][payload]
 *                        (missing header bytes read as zero): send an echo request
 *   op % 14 == 4  RECV   read up to arg ping replies and arg datagrams (no bytes)
 *   op % 14 == 5  USEND  the next min(arg, left) bytes are [dst:4][port:2][payload]:
 *                        send them from the UDP socket bound to port 7
 *   op % 14 == 6  CSEND  send the next min(arg, left) bytes from the UDP socket
 *                        connected to 192.0.2.1:9 (ICMP errors come back to it)
 *   op % 14 == 7  TSEG   the next min(arg, left) bytes are [sport:2][dport:2]
 *                        [seq:4][ack:4][flags:1][window:2][optcode:1][options]
 *                        [payload] (missing header bytes read as zero): a TCP
 *                        segment from 192.0.2.1 (MAC ..:01) to us, checksummed.
 *                        optcode & 0x3f option bytes follow (at most 40; the
 *                        header is padded with EOL to a multiple of 4); 0x40:
 *                        ack is absolute, else it is relative to the ISS of
 *                        the connection those ports name, so inputs can
 *                        complete handshakes, or with none, seq and ack are
 *                        relative to the latest SYN-ACK's ack and seq, so
 *                        they can return a SYN cookie; 0x80: a wrong checksum
 *   op % 14 == 8  TSEND  the next min(arg, left) bytes are [sel:1][data]: send
 *                        data on TCP socket sel (below); sel & 0x80: instead
 *                        send 256 x (data bytes + 1) bytes of a pattern (<= 64 kB)
 *   op % 14 == 9  TRECV  read up to ((arg >> 8) + 1) x 256 bytes from TCP socket
 *                        arg & 0x7f, with MSG_PEEK when arg & 0x80 (no bytes)
 *   op % 14 == 10 TCLOSE close TCP socket arg & 0xff; arg & 0x100: SO_LINGER 0
 *                        first (abort: RST) (no bytes)
 *   op % 14 == 11 TSHUT  shutdown(TCP socket arg & 0xff, (arg >> 8) % 3) (no bytes)
 *   op % 14 == 12 TCONN  the next min(arg, left) bytes are [lport:2][dport:2]
 *                        [dst:1]: if the outgoing slot is free, connect from
 *                        lport (0: ephemeral) to dport (0: 80) of 192.0.2.1
 *                        (192.0.2.3, which never answers ARP, when dst is odd)
 *   op % 14 == 13 TOPT   a socket option on TCP socket arg & 0xff, chosen by
 *                        (arg >> 8) % 8: TCP_NODELAY on/off, keepalive on
 *                        (1 s idle and interval, 2 probes)/off, SO_LINGER 0,
 *                        SO_RCVBUF, SO_ERROR, TCP_MAXSEG (no bytes)
 * TCP socket sel: among the open ones (the outgoing connection first, then
 * the accepted ones), number sel modulo how many there are.
 * UDP datagrams to port 7 of the stack are queued on the bound socket; the
 * fragments of anything reach reassembly.
 * tests/fuzz/make-corpus.py writes seed inputs in this format.
 *
 * Checked on every run (abort() on violation): every frame the stack
 * transmits is a sane Ethernet frame from our MAC (>= 60 bytes, ARP or IPv4
 * with valid lengths and checksums, our addresses as sender; TCP segments
 * parse with a valid checksum and sane flags); the ARP cache and the TCP
 * connections (lists, queues, sequence variables, windows) stay consistent;
 * socket calls fail only with errors a program must expect; and at the end,
 * every socket closed and half an hour of virtual time later, every timer
 * has run out, no connection is left and no packet buffer either. */
#include <errno.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "harness.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/tcp.h"
#include "wire/vnet.h"
#include "wire/udp.h"
#include "net/arp.h"
#include "net/ipv6.h"
#include "net/route6.h"
#include "net/ip_frag.h"
#include "transport/socket.h"
#include "transport/tcp_seq.h"
#include "transport/tcp.h"
#include "ustack/socket.h"

#define FUZZ_PING_ID 0x5501
#define FUZZ_START (1000 * UST_SEC)
#define FUZZ_IP_LO UST_IP4(127, 0, 0, 1)

enum {
    OP_ETH,
    OP_LO,
    OP_CLOCK,
    OP_PING,
    OP_RECV,
    OP_USEND,
    OP_CSEND,
    OP_TSEG,
    OP_TSEND,
    OP_TRECV,
    OP_TCLOSE,
    OP_TSHUT,
    OP_TCONN,
    OP_TOPT,
    OP_COUNT
};

#define FUZZ_TCP_PORT 80     /* the listener */
#define FUZZ_TCP_LPORT 40000 /* the outgoing connection's first port */
#define FUZZ_TCP_ACCEPTED 8  /* accepted connections kept open at once */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_frame: invariant violated: %s (%s:%d)\n", #cond, __FILE__,       \
                    __LINE__);                                                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct fuzz {
    struct ust_stack *s;
    struct cap *cap;
    int eth, lo, ping;
    int udp, cudp;               /* UDP sockets: bound to port 7; connected to 192.0.2.1:9 */
    int tlisten;                 /* TCP listener on port 80 */
    int udp6, tlisten6;          /* IPv6-only: UDP on port 7, a listener on port 80 */
    int tout;                    /* the outgoing TCP connection; 0: none */
    int tacc[FUZZ_TCP_ACCEPTED]; /* accepted TCP connections; 0: free slot */
    ust_time_t now;
    uint64_t eth_frames;             /* delivered on eth0 */
    uint32_t synack_seq, synack_ack; /* the latest SYN-ACK sent (a cookie, maybe) */
};

#define TX_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return #cond;                                                                          \
    } while (0)

/* An IPv6 packet the stack sent (p: from its header, plen bytes, the
 * frame's destination MAC dmac): NULL, or the condition it violates. */
static const char *check_tx_ipv6(struct ust_stack *s, const uint8_t dmac[6], const uint8_t *p,
                                 size_t plen)
{
    struct ipv6_repr ip;
    TX_CHECK(ipv6_parse(p, plen, &ip) == WIRE_OK);
    TX_CHECK(ip.hop_limit > 0);
    /* From one of our addresses, or from :: (DAD's probes, MLD before the
     * link-local address is ours); never from a group. */
    TX_CHECK(ipv6_is_local(s, &ip.src) || ipv6_addr_is_unspecified(&ip.src) ||
             addrconf_find(s, &ip.src));
    TX_CHECK(!ipv6_addr_is_loopback(&ip.src) && !ipv6_addr_is_loopback(&ip.dst));
    TX_CHECK(!ipv6_addr_is_unspecified(&ip.dst));
    /* A group's MAC exactly for a group (RFC 2464 7). */
    if (ipv6_addr_is_multicast(&ip.dst)) {
        uint8_t m[6];
        ipv6_mcast_mac(&ip.dst, m);
        TX_CHECK(memcmp(dmac, m, 6) == 0);
    } else {
        TX_CHECK(!eth_is_multicast(dmac) && !eth_is_zero(dmac));
    }
    struct ipv6_ext e;
    enum ipv6_ext_verdict v = ipv6_ext_walk(p, &ip, &e);
    TX_CHECK(v == IPV6_EXT_OK || v == IPV6_EXT_FRAGMENT);
    size_t end = IPV6_HDR_LEN + ip.payload_len;
    if (v == IPV6_EXT_FRAGMENT) {
        /* RFC 8200 4.5: all but the last carry a multiple of 8 bytes. */
        size_t flen = end - (e.frag.hdr_off + IPV6_FRAG_HDR_LEN);
        if (e.frag.more)
            TX_CHECK(flen % 8 == 0 && flen > 0);
        TX_CHECK((size_t)e.frag.offset + flen <= IPV6_MAX_PAYLOAD);
        return NULL;
    }
    const uint8_t *l4 = p + e.proto_off;
    size_t l4len = end - e.proto_off;
    uint32_t ph = cksum_pseudo6(ip.src.a, ip.dst.a, 0, e.proto);
    if (e.proto == IPV6_NH_ICMPV6) {
        TX_CHECK(cksum_fold(cksum_add(ph + (uint32_t)l4len, l4, l4len)) == 0);
        TX_CHECK(l4len >= ICMPV6_HDR_LEN);
        if (icmpv6_is_error(l4[0]))
            TX_CHECK(end <= IPV6_MIN_MTU); /* RFC 4443 2.4 (c) */
        /* ND messages with hop limit 255 (RFC 4861 6.1, 7.1). */
        if (l4[0] >= ICMPV6_ROUTER_SOLICIT && l4[0] <= ICMPV6_NEIGHBOR_ADVERT)
            TX_CHECK(ip.hop_limit == 255);
        TX_CHECK(l4[0] != ICMPV6_ROUTER_ADVERT && l4[0] != ICMPV6_REDIRECT); /* a host */
    } else if (e.proto == IPV6_NH_UDP) {
        struct udp_repr u;
        TX_CHECK(udp_parse(l4, l4len, ph, &u) == WIRE_OK);
        TX_CHECK(u.checksum != 0); /* RFC 8200 8.1 */
    } else if (e.proto == IPV6_NH_TCP) {
        TX_CHECK(!ipv6_addr_is_multicast(&ip.dst));
        struct tcp_repr t;
        TX_CHECK(tcp_parse(l4, l4len, ph, &t) == WIRE_OK);
        TX_CHECK(t.sport != 0 && t.dport != 0);
        TX_CHECK(!((t.flags & TCP_SYN) && (t.flags & (TCP_FIN | TCP_RST))));
        /* The MSS option on SYNs only, telling what a 1500-byte MTU takes
         * under a 40-byte IPv6 header. */
        TX_CHECK((t.flags & TCP_SYN) ? t.mss == 1440 : t.mss == 0);
        TX_CHECK(l4len - t.hdr_len <= 1440);
    }
    return NULL;
}

/* One frame the stack sent on eth0: NULL, or the condition it violates. */
static const char *check_tx_frame(struct ust_stack *s, const uint8_t *f, size_t len)
{
    TX_CHECK(len >= ETH_MIN_FRAME);
    TX_CHECK(len <= ETH_HDR_LEN + 1500);
    struct eth_repr eh;
    TX_CHECK(eth_parse(f, len, &eh) == WIRE_OK);
    TX_CHECK(memcmp(eh.src, t_mac_us, 6) == 0);
    const uint8_t *p = f + ETH_HDR_LEN;
    size_t plen = len - ETH_HDR_LEN;
    if (eh.type == ETH_TYPE_IPV6)
        return check_tx_ipv6(s, eh.dst, p, plen);
    /* To one station or to all: never to a multicast group or to nobody. */
    TX_CHECK(eth_is_broadcast(eh.dst) || (!eth_is_multicast(eh.dst) && !eth_is_zero(eh.dst)));
    if (eh.type == ETH_TYPE_ARP) {
        struct arp_repr a;
        TX_CHECK(arp_parse(p, plen, &a) == WIRE_OK);
        TX_CHECK(memcmp(a.sha, t_mac_us, 6) == 0);
        TX_CHECK(a.spa == T_IP_US);
        if (a.op == ARP_OP_REPLY)
            TX_CHECK(!eth_is_broadcast(eh.dst) && memcmp(eh.dst, a.tha, 6) == 0);
        return NULL;
    }
    TX_CHECK(eh.type == ETH_TYPE_IPV4);
    struct ipv4_repr ip;
    TX_CHECK(ipv4_parse(p, plen, &ip) == WIRE_OK);
    TX_CHECK(ip.hdr_len == IPV4_HDR_LEN);
    TX_CHECK(ip.ttl > 0);
    if (ipv4_is_fragment(&ip)) {
        /* RFC 791: all but the last carry a multiple of 8 bytes, and the
         * whole datagram fits in 65,535 bytes. */
        size_t flen = (size_t)ip.total_len - ip.hdr_len;
        if (ip.frag & IPV4_FLAG_MF)
            TX_CHECK(flen % 8 == 0 && flen > 0);
        TX_CHECK((size_t)(ip.frag & IPV4_OFFSET_MASK) * 8 + flen + IPV4_HDR_LEN <= IPV4_MAX_LEN);
        TX_CHECK(!(ip.frag & IPV4_FLAG_DF));
    }
    /* Our address as source; RFC 1122 3.2.1.3: 127/8 never leaves the host. */
    TX_CHECK(ip.src == T_IP_US);
    TX_CHECK((ip.dst >> 24) != 127 && (ip.dst >> 24) != 0);
    /* Link broadcast exactly for IP broadcast (RFC 1122 3.3.6). */
    bool ip_bcast = ip.dst == 0xffffffffu || ip.dst == (T_IP_US | 0xff);
    TX_CHECK(eth_is_broadcast(eh.dst) == ip_bcast);
    /* Link padding is zero. */
    for (size_t i = ip.total_len; i < plen; i++)
        TX_CHECK(p[i] == 0);
    if (ip.proto == IPV4_PROTO_UDP && !ipv4_is_fragment(&ip)) {
        struct udp_repr u;
        TX_CHECK(udp_parse(p + ip.hdr_len, (size_t)ip.total_len - ip.hdr_len,
                           ipv4_pseudo_sum(ip.src, ip.dst, IPV4_PROTO_UDP, 0), &u) == WIRE_OK);
        TX_CHECK(u.checksum != 0); /* we always compute it */
    }
    if (ip.proto == IPV4_PROTO_TCP) {
        /* Segments are cut to the MSS: never fragmented, never broadcast. */
        TX_CHECK(!ipv4_is_fragment(&ip));
        TX_CHECK(!ip_bcast);
        struct tcp_repr t;
        size_t tl = (size_t)ip.total_len - ip.hdr_len;
        TX_CHECK(tcp_parse(p + ip.hdr_len, tl, ipv4_pseudo_sum(ip.src, ip.dst, IPV4_PROTO_TCP, 0),
                           &t) == WIRE_OK);
        size_t dlen = tl - t.hdr_len;
        TX_CHECK(t.sport != 0 && t.dport != 0);
        TX_CHECK((t.flags & ~(TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK)) == 0);
        TX_CHECK(!((t.flags & TCP_SYN) && (t.flags & (TCP_FIN | TCP_RST))));
        /* Only an active open's SYN and a RST answering an ACK lack ACK. */
        TX_CHECK((t.flags & TCP_ACK) || t.flags == TCP_SYN || t.flags == TCP_RST);
        TX_CHECK(!(t.flags & TCP_RST) || dlen == 0);
        TX_CHECK(!(t.flags & TCP_SYN) || dlen == 0);
        /* Options and data together never exceed what the MSS allows. */
        TX_CHECK(dlen + (t.hdr_len - TCP_HDR_LEN) <= 1460 + 20 || dlen == 0);
        TX_CHECK(dlen <= 1460);
        /* The MSS option on SYNs only, telling what a 1500-byte MTU takes. */
        TX_CHECK((t.flags & TCP_SYN) ? t.mss == 1460 : t.mss == 0);
        /* Window scale (RFC 7323 2) and SACK-permitted (RFC 2018 2) on
         * SYNs only; a SYN's timestamp echoes nothing unless it answers. */
        TX_CHECK(((t.flags & TCP_SYN) || t.wscale < 0) && (!t.sack_perm || (t.flags & TCP_SYN)));
        TX_CHECK(!(t.flags == TCP_SYN && t.has_ts) || t.tsecr == 0);
        /* SACK blocks (RFC 2018 3): only on ACKs, never on SYN or RST,
         * each non-empty and above the cumulative ACK; 3 beside a
         * timestamp, 4 without. */
        if (t.nsack) {
            TX_CHECK((t.flags & TCP_ACK) && !(t.flags & (TCP_SYN | TCP_RST)));
            TX_CHECK(t.nsack <= (t.has_ts ? 3 : 4));
            for (unsigned i = 0; i < t.nsack; i++)
                TX_CHECK(seq_lt(t.sack[i].start, t.sack[i].end) && seq_gt(t.sack[i].start, t.ack));
        }
    }
    if (ip.proto == IPV4_PROTO_ICMP && !ipv4_is_fragment(&ip)) {
        struct icmp_repr m;
        TX_CHECK(icmp_parse(p + ip.hdr_len, (size_t)ip.total_len - ip.hdr_len, &m) == WIRE_OK);
        /* We answer echo requests and send errors; never an error about an
         * error (RFC 1122 3.2.2). */
        if (icmp_is_error(m.type)) {
            TX_CHECK(m.payload_len >= IPV4_HDR_LEN);
            TX_CHECK(m.payload_len <= IPV4_MAX_HDR_LEN + 8);
            /* The quote: the offending header plus 8 bytes of its data. */
            const uint8_t *q = m.payload;
            size_t qhl = (size_t)(q[0] & 15) * 4;
            TX_CHECK(qhl >= IPV4_HDR_LEN && qhl <= m.payload_len);
            if (q[9] == IPV4_PROTO_ICMP && m.payload_len > qhl)
                TX_CHECK(!icmp_is_error(q[qhl]));
        }
    }
    return NULL;
}

static void drain_tx(struct fuzz *z)
{
    uint8_t buf[2048];
    size_t n;
    while ((n = cap_pop(z->cap, buf, sizeof(buf))) > 0) {
        CHECK(n <= sizeof(buf)); /* else longer than any Ethernet frame */
        const char *bad = check_tx_frame(z->s, buf, n);
        if (bad) {
            fprintf(stderr, "fuzz_frame: transmitted frame violates %s:", bad);
            for (size_t i = 0; i < n; i++)
                fprintf(stderr, "%s%02x", i % 16 ? " " : "\n  ", buf[i]);
            fprintf(stderr, "\n");
            abort();
        }
        /* Remember a SYN-ACK, so that op_tseg can answer it: a listener
         * whose half-open queue is full answers with a SYN cookie, and a
         * valid cookie comes only from the SYN-ACK that carried it. */
        struct ipv4_repr ip;
        struct tcp_repr th;
        if (ld16(buf + 12) == ETH_TYPE_IPV4 &&
            ipv4_parse(buf + ETH_HDR_LEN, n - ETH_HDR_LEN, &ip) == WIRE_OK &&
            ip.proto == IPV4_PROTO_TCP &&
            tcp_parse(buf + ETH_HDR_LEN + ip.hdr_len, ip.total_len - ip.hdr_len,
                      ipv4_pseudo_sum(ip.src, ip.dst, IPV4_PROTO_TCP, 0), &th) == WIRE_OK &&
            (th.flags & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK)) {
            z->synack_seq = th.seq;
            z->synack_ack = th.ack;
        }
    }
}

/* The neighbour cache: only sane entries, and pending queues as counted. */
static void check_arp(const struct fuzz *z)
{
    const struct ust_stack *s = z->s;
    for (unsigned i = 0; i < s->cfg.arp_cache_size; i++) {
        const struct arp_entry *e = &s->arp->entry[i];
        if (e->state == ARP_FREE) {
            CHECK(e->pending == NULL && e->npending == 0);
            continue;
        }
        CHECK(e->state == ARP_INCOMPLETE || e->state == ARP_RESOLVED);
        CHECK(e->dev == z->eth);
        CHECK(e->ip != T_IP_US);
        CHECK(e->npending <= s->cfg.arp_pending_max);
        unsigned n = 0;
        const struct pkbuf *last = NULL;
        for (const struct pkbuf *p = e->pending; p; p = p->next) {
            n++;
            last = p;
        }
        CHECK(n == e->npending);
        CHECK(last == e->pending_tail);
        if (e->state == ARP_RESOLVED) {
            CHECK(n == 0);
            CHECK(!eth_is_multicast(e->mac) && !eth_is_zero(e->mac));
            CHECK(memcmp(e->mac, t_mac_us, 6) != 0);
        }
    }
}

/* The TCP connections: lists, listener queues, sequence variables. */
static void check_tcp(const struct fuzz *z)
{
    struct ust_stack *s = z->s;
    unsigned n = 0;
    /* Every connection with a deadline is in the timer heap, keyed by the
     * earliest of its deadlines, the heap is ordered, and the next
     * deadline is the earliest of every connection's. */
    const struct tcp_stack *t = s->tcp;
    ust_time_t earliest = UST_TIME_NEVER;
    unsigned filed = 0;
    for (const struct tcp_conn *c = t->all; c; c = c->next) {
        const ust_time_t d[4] = {c->timer_at, c->delack_at, c->keepalive_at, c->tw_at};
        ust_time_t mine = UST_TIME_NEVER;
        for (int i = 0; i < 4; i++)
            mine = d[i] < mine ? d[i] : mine;
        earliest = mine < earliest ? mine : earliest;
        if (mine == UST_TIME_NEVER) {
            CHECK(c->heap_pos == 0);
            continue;
        }
        filed++;
        CHECK(c->heap_pos > 0 && c->heap_pos <= t->heap_n && t->heap[c->heap_pos - 1] == c);
        CHECK(c->due == mine);
    }
    CHECK(filed == t->heap_n && t->heap_n <= t->heap_cap);
    for (unsigned i = 1; i < t->heap_n; i++)
        CHECK(t->heap[(i - 1) / 2]->due <= t->heap[i]->due);
    CHECK(tcp_next_deadline(s) == earliest);
    for (const struct tcp_conn *l = s->tcp->listeners; l; l = l->lnext)
        CHECK(l->state == TCPS_LISTEN);
    for (const struct tcp_conn *c = s->tcp->all; c; c = c->next) {
        n++;
        CHECK(n <= 1000);
        CHECK(c->next == NULL || c->next->prev == c);
        CHECK((unsigned)c->state <= TCPS_TIME_WAIT);
        if (c->sk)
            CHECK(c->sk->tcp == c);
        if (c->state == TCPS_LISTEN) {
            unsigned ns = 0, na = 0;
            const struct tcp_conn *last = NULL;
            for (const struct tcp_conn *q = c->synq; q; q = q->qnext) {
                ns++;
                CHECK(q->parent == c && q->state == TCPS_SYN_RECEIVED && !q->sk);
            }
            for (const struct tcp_conn *q = c->acceptq; q; q = q->qnext) {
                na++;
                last = q;
                CHECK(q->parent == c && !q->sk);
            }
            CHECK(ns == c->syn_qlen && na == c->accept_qlen);
            CHECK(last == c->acceptq_tail);
            CHECK(ns + na <= c->backlog);
            continue;
        }
        if (c->state == TCPS_CLOSED) {
            CHECK(c->sk != NULL); /* else it would have been freed */
            CHECK(c->timer == TCP_TIMER_IDLE && c->tw_at == UST_TIME_NEVER);
            continue;
        }
        /* The timer's kind and deadline agree, and data in flight is
         * always covered by a timer that will resend or probe it. */
        CHECK((c->timer == TCP_TIMER_IDLE) == (c->timer_at == UST_TIME_NEVER));
        if (c->snd_una != c->snd_max && c->state != TCPS_TIME_WAIT)
            CHECK(c->timer != TCP_TIMER_IDLE && c->timer != TCP_TIMER_CORK);
        /* Not in a queue, or waiting in the listener's. */
        CHECK(c->parent == NULL || c->sk == NULL);
        CHECK(tcp_lookup(s, &c->laddr, c->lport, &c->raddr, c->rport) == c);
        if (ipaddr_is_v4(&c->laddr)) {
            CHECK(ipaddr_to_v4(&c->laddr) == T_IP_US ||
                  ipaddr_to_v4(&c->laddr) == FUZZ_IP_LO); /* lo packets reach port 80 too */
        } else {
            struct ipv6_addr l6 = ipaddr_to6(&c->laddr);
            CHECK(ipv6_is_local(s, &l6) || ipaddr_is_any(&c->laddr));
        }
        CHECK(seq_le(c->snd_una, c->snd_nxt) && seq_le(c->snd_nxt, c->snd_max));
        CHECK(c->sndq.len <= c->sndq.cap && c->rcvq.len <= c->rcvq.cap);
        CHECK(c->snd_mss > 0 && c->snd_mss <= 65495); /* 1460 on eth0; more over lo */
        if (c->state == TCPS_SYN_SENT)
            continue;
        /* The advertised right edge is near rcv_nxt: ahead by at most the
         * largest window, or behind by what the ring took beyond it. */
        CHECK((uint32_t)(c->rcv_adv - c->rcv_nxt) <= (65535u << c->rcv_wscale) ||
              (uint32_t)(c->rcv_nxt - c->rcv_adv) <= c->rcvq.cap + 1);
        if (c->state == TCPS_SYN_RECEIVED)
            continue;
        /* Synchronized: our SYN is acknowledged. In flight: bytes of the
         * send ring, plus our FIN. */
        CHECK(seq_gt(c->snd_una, c->iss));
        CHECK(c->snd_max - c->snd_una <= c->sndq.len + (c->fin_sent ? 1u : 0u));
        CHECK(!c->fin_sent || c->fin_queued);
    }
    CHECK(n == s->tcp->nconns);
}

/* Accept what the listener has (non-blocking); beyond the slots, close. */
static void tcp_accept_all(struct fuzz *z)
{
    while (z->tlisten) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        int fd = ust_accept4(z->s, z->tlisten, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK);
        if (fd < 0) {
            CHECK(errno == EAGAIN);
            return;
        }
        CHECK(fl == sizeof(from) && from.sin_family == AF_INET);
        CHECK(ntohs(from.sin_port) != 0);
        unsigned i = 0;
        while (i < FUZZ_TCP_ACCEPTED && z->tacc[i])
            i++;
        if (i == FUZZ_TCP_ACCEPTED)
            CHECK(ust_close(z->s, fd) == 0);
        else
            z->tacc[i] = fd;
    }
}

/* Readiness as poll(2) reports it: only the flags that exist. */
static void tcp_poll_all(struct fuzz *z)
{
    struct pollfd pfd[FUZZ_TCP_ACCEPTED + 2];
    nfds_t n = 0;
    if (z->tlisten)
        pfd[n++] = (struct pollfd){.fd = z->tlisten, .events = POLLIN};
    if (z->tout)
        pfd[n++] = (struct pollfd){.fd = z->tout, .events = POLLIN | POLLOUT};
    for (unsigned i = 0; i < FUZZ_TCP_ACCEPTED; i++)
        if (z->tacc[i])
            pfd[n++] = (struct pollfd){.fd = z->tacc[i], .events = POLLIN | POLLOUT};
    if (n == 0)
        return;
    int r = ust_poll(z->s, pfd, n, 0);
    CHECK(r >= 0 && (nfds_t)r <= n);
    for (nfds_t i = 0; i < n; i++)
        CHECK((pfd[i].revents & ~(POLLIN | POLLOUT | POLLERR | POLLHUP)) == 0);
}

static void step(struct fuzz *z)
{
    ust_stack_poll(z->s, z->now);
    tcp_accept_all(z);
    tcp_poll_all(z);
    drain_tx(z);
    check_arp(z);
    check_tcp(z);
}

/* ---- TCP ops ---- */

/* Errors a TCP socket call may report to a program. */
static bool tcp_errno_ok(int e)
{
    return e == EAGAIN || e == EPIPE || e == ENOTCONN || e == ECONNRESET || e == ETIMEDOUT ||
           e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == ENOPROTOOPT;
}

/* The TCP socket that sel names (0 if none is open); *slot gets where it
 * is kept (-1: the outgoing one). */
static int tcp_pick(const struct fuzz *z, unsigned sel, int *slot)
{
    int fds[FUZZ_TCP_ACCEPTED + 1], slots[FUZZ_TCP_ACCEPTED + 1];
    unsigned n = 0;
    if (z->tout) {
        slots[n] = -1;
        fds[n++] = z->tout;
    }
    for (int i = 0; i < FUZZ_TCP_ACCEPTED; i++)
        if (z->tacc[i]) {
            slots[n] = i;
            fds[n++] = z->tacc[i];
        }
    if (n == 0)
        return 0;
    *slot = slots[sel % n];
    return fds[sel % n];
}

static void op_tconn(struct fuzz *z, const uint8_t *p, size_t n)
{
    if (z->tout)
        return;
    uint8_t a[5] = {0};
    memcpy(a, p, n < sizeof(a) ? n : sizeof(a));
    uint16_t lport = ld16(a), dport = ld16(a + 2);
    ust_ip4_t dst = a[4] & 1 ? T_IP_OTHER : T_IP_PEER;
    int fd = ust_socket(z->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    CHECK(fd > 0);
    int one = 1;
    CHECK(ust_setsockopt(z->s, fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(lport)};
    if (lport && ust_bind(z->s, fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        CHECK(errno == EADDRINUSE || errno == EACCES);
        CHECK(ust_close(z->s, fd) == 0);
        return;
    }
    sin.sin_port = htons(dport ? dport : FUZZ_TCP_PORT);
    sin.sin_addr.s_addr = htonl(dst);
    int r = ust_connect(z->s, fd, (struct sockaddr *)&sin, sizeof(sin));
    CHECK(r == -1);
    if (errno != EINPROGRESS) {
        /* the 4-tuple is taken (TIME-WAIT), or no port is free */
        CHECK(errno == EADDRNOTAVAIL || errno == EADDRINUSE);
        CHECK(ust_close(z->s, fd) == 0);
        return;
    }
    z->tout = fd;
}

static void op_tseg(struct fuzz *z, const uint8_t *p, size_t n)
{
    uint8_t h[16] = {0};
    memcpy(h, p, n < sizeof(h) ? n : sizeof(h));
    size_t left = n > sizeof(h) ? n - sizeof(h) : 0;
    p += n - left;
    struct tcp_repr th = {.sport = ld16(h),
                          .dport = ld16(h + 2),
                          .seq = ld32(h + 4),
                          .ack = ld32(h + 8),
                          .flags = h[12],
                          .window = ld16(h + 13)};
    uint8_t code = h[15];
    size_t optlen = code & 0x3f;
    if (optlen > 40)
        optlen = 40;
    if (optlen > left)
        optlen = left;
    if (!(code & 0x40)) {
        /* Relative to the connection's ISS; with none, to the latest
         * SYN-ACK: seq 0 and ack 1 then answer it (a cookie's ACK). */
        const struct tcp_conn *c = tcp_lookup(z->s, &T_ADDR_US, th.dport, &T_ADDR_PEER, th.sport);
        if (c) {
            th.ack += c->iss;
        } else {
            th.seq += z->synack_ack;
            th.ack += z->synack_seq;
        }
    }
    size_t hl = TCP_HDR_LEN + ((optlen + 3) & ~(size_t)3);
    size_t dlen = left - optlen;
    if (dlen > 1500 - IPV4_HDR_LEN - hl)
        dlen = 1500 - IPV4_HDR_LEN - hl;
    uint8_t seg[1500];
    /* Emit a plain header in place, then splice the raw options in and fix
     * the data offset and the checksum. */
    tcp_emit(&th, ipv4_pseudo_sum(T_IP_PEER, T_IP_US, IPV4_PROTO_TCP, 0), seg, 0);
    memset(seg + TCP_HDR_LEN, 0, hl - TCP_HDR_LEN);
    memcpy(seg + TCP_HDR_LEN, p, optlen);
    memcpy(seg + hl, p + optlen, dlen);
    seg[12] = (uint8_t)((hl / 4) << 4);
    seg[16] = seg[17] = 0;
    uint16_t ck = cksum_fold(cksum_add(ipv4_pseudo_sum(T_IP_PEER, T_IP_US, IPV4_PROTO_TCP,
                                                       (uint16_t)(hl + dlen)),
                                       seg, hl + dlen));
    if (code & 0x80)
        ck ^= 0x0101;
    st16(seg + 16, ck);
    uint8_t pkt[1500], frame[ETH_HDR_LEN + 1500];
    size_t plen = build_ipv4(pkt, T_IP_PEER, T_IP_US, IPV4_PROTO_TCP, 0x7cb, 0, 64, seg, hl + dlen);
    size_t flen = build_eth(frame, t_mac_us, t_mac_peer, ETH_TYPE_IPV4, pkt, plen);
    ust_stack_input(z->s, z->eth, frame, flen, z->now);
    z->eth_frames++;
}

static void op_tsend(struct fuzz *z, const uint8_t *p, size_t n)
{
    static const uint8_t pattern[65536] = {1, 2, 3}; /* mostly zeros: fine */
    if (n == 0)
        return;
    int slot;
    int fd = tcp_pick(z, p[0], &slot);
    if (!fd)
        return;
    const uint8_t *data = p + 1;
    size_t len = n - 1;
    if (p[0] & 0x80) {
        data = pattern;
        len = 256 * (n);
        if (len > sizeof(pattern))
            len = sizeof(pattern);
    }
    ssize_t r = ust_send(z->s, fd, data, len, MSG_NOSIGNAL);
    CHECK(r >= 0 ? (size_t)r <= len : tcp_errno_ok(errno));
    CHECK(len == 0 || r != 0);
}

static void op_trecv(struct fuzz *z, uint16_t arg)
{
    uint8_t buf[65536];
    int slot;
    int fd = tcp_pick(z, arg & 0x7f, &slot);
    if (!fd)
        return;
    size_t want = ((size_t)(arg >> 8) + 1) * 256;
    ssize_t r = ust_recv(z->s, fd, buf, want, (arg & 0x80) ? MSG_PEEK : 0);
    CHECK(r >= 0 ? (size_t)r <= want : tcp_errno_ok(errno));
}

static void op_tclose(struct fuzz *z, uint16_t arg)
{
    int slot;
    int fd = tcp_pick(z, arg & 0xff, &slot);
    if (!fd)
        return;
    if (arg & 0x100) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        CHECK(ust_setsockopt(z->s, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
    }
    CHECK(ust_close(z->s, fd) == 0);
    CHECK(ust_close(z->s, fd) == -1 && errno == EBADF);
    if (slot < 0)
        z->tout = 0;
    else
        z->tacc[slot] = 0;
}

static void op_tshut(struct fuzz *z, uint16_t arg)
{
    static const int how[3] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
    int slot;
    int fd = tcp_pick(z, arg & 0xff, &slot);
    if (!fd)
        return;
    int r = ust_shutdown(z->s, fd, how[(arg >> 8) % 3]);
    CHECK(r == 0 || errno == ENOTCONN);
}

static void op_topt(struct fuzz *z, uint16_t arg)
{
    int slot;
    int fd = tcp_pick(z, arg & 0xff, &slot);
    if (!fd)
        return;
    int v = 1, r = 0;
    socklen_t vl = sizeof(v);
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    switch ((arg >> 8) % 8) {
    case 0:
    case 1:
        v = (arg >> 8) % 8 == 0;
        r = ust_setsockopt(z->s, fd, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
        break;
    case 2:
        r = ust_setsockopt(z->s, fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
        CHECK(r == 0);
        r = ust_setsockopt(z->s, fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
        CHECK(r == 0);
        v = 2;
        r = ust_setsockopt(z->s, fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
        CHECK(r == 0);
        v = 1;
        r = ust_setsockopt(z->s, fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
        break;
    case 3:
        v = 0;
        r = ust_setsockopt(z->s, fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v));
        break;
    case 4: r = ust_setsockopt(z->s, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); break;
    case 5:
        v = 2048;
        r = ust_setsockopt(z->s, fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
        break;
    case 6:
        r = ust_getsockopt(z->s, fd, SOL_SOCKET, SO_ERROR, &v, &vl);
        CHECK(r != 0 || v >= 0);
        break;
    default:
        r = ust_getsockopt(z->s, fd, IPPROTO_TCP, TCP_MAXSEG, &v, &vl);
        CHECK(r != 0 || (v > 0 && v <= 1460));
        break;
    }
    CHECK(r == 0);
}

static void fuzz_init(struct fuzz *z)
{
    memset(z, 0, sizeof(*z));
    struct ust_config cfg;
    test_config(&cfg, 0x5eed); /* silent unless USTACK_LOG is set, for replays */
    /* Short TCP timers, so that every connection can run its course
     * within the virtual time the run ends with; small buffers, so that
     * windows fill with little input. */
    cfg.tcp_msl = 1 * UST_SEC;
    cfg.tcp_fin_timeout = 5 * UST_SEC;
    cfg.tcp_max_retries = 4;
    cfg.tcp_syn_retries = 3;
    cfg.tcp_sndbuf = 16384;
    cfg.tcp_rcvbuf = 8192;
    cfg.ip6_dad_transmits = 0;
    z->now = FUZZ_START;
    CHECK(ust_stack_create(&cfg, &z->s) == 0);
    struct ust_device *d;
    CHECK(cap_create("eth0", t_mac_us, &z->cap, &d) == 0);
    d->offload = UST_OFFLOAD_RX_CSUM; /* so that the stack listens to metadata */
    z->eth = ust_stack_add_device(z->s, d);
    CHECK(ust_loopback_create(&d) == 0);
    z->lo = ust_stack_add_device(z->s, d);
    CHECK(z->eth >= 0 && z->lo >= 0);
    CHECK(ust_iface_add(z->s, "eth0", T_IP_US, 24, z->now) == 0);
    CHECK(ust_iface_add(z->s, "lo", FUZZ_IP_LO, 8, z->now) == 0);
    CHECK(ust_route_add(z->s, 0, 0, T_IP_PEER, NULL) == 0);
    /* IPv6 on both (DAD off, so 2001:db8::2 is ours at once), and
     * IPv6-only sockets beside the IPv4 ones: a UDP socket on port 7 and
     * a listener on port 80, which raw IPv6 frames in the input reach. */
    struct in6_addr a6;
    CHECK(ust_ip6_parse("2001:db8::2", &a6) == 0);
    CHECK(ust_iface_add6(z->s, "eth0", &a6, 64, z->now) == 0);
    CHECK(ust_iface_enable_ipv6(z->s, "lo", z->now) == 0);
    int one = 1;
    z->udp6 = ust_socket(z->s, AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(7)};
    CHECK(ust_setsockopt(z->s, z->udp6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0);
    CHECK(ust_bind(z->s, z->udp6, (struct sockaddr *)&sin6, sizeof(sin6)) == 0);
    z->tlisten6 = ust_socket(z->s, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sin6.sin6_port = htons(FUZZ_TCP_PORT);
    CHECK(ust_setsockopt(z->s, z->tlisten6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0);
    CHECK(ust_bind(z->s, z->tlisten6, (struct sockaddr *)&sin6, sizeof(sin6)) == 0);
    CHECK(ust_listen(z->s, z->tlisten6, 4) == 0);
    z->ping = ust_ping_open(z->s, FUZZ_PING_ID);
    CHECK(z->ping >= 0);
    z->udp = ust_socket(z->s, AF_INET, SOCK_DGRAM, 0);
    z->cudp = ust_socket(z->s, AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7)};
    CHECK(ust_bind(z->s, z->udp, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    sin.sin_port = htons(9);
    sin.sin_addr.s_addr = htonl(T_IP_PEER);
    CHECK(ust_connect(z->s, z->cudp, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    z->tlisten = ust_socket(z->s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    sin = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(FUZZ_TCP_PORT)};
    CHECK(ust_bind(z->s, z->tlisten, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    CHECK(ust_listen(z->s, z->tlisten, 4) == 0);
    drain_tx(z); /* the gratuitous ARP */
    /* The outgoing connection: its SYN waits for the peer's MAC. */
    uint8_t conn[5] = {FUZZ_TCP_LPORT >> 8, FUZZ_TCP_LPORT & 0xff, 0, FUZZ_TCP_PORT, 0};
    op_tconn(z, conn, sizeof(conn));
    CHECK(z->tout > 0);
    drain_tx(z);
}

static void op_ping(struct fuzz *z, const uint8_t *p, size_t n)
{
    uint8_t hdr[6] = {0};
    memcpy(hdr, p, n < sizeof(hdr) ? n : sizeof(hdr));
    ust_ip4_t dst = ld32(hdr);
    uint16_t seq = ld16(hdr + 4);
    const uint8_t *payload = n > 6 ? p + 6 : NULL;
    size_t plen = n > 6 ? n - 6 : 0;
    int err = ust_ping_send(z->s, z->ping, dst, seq, payload, plen, z->now);
    CHECK(err == 0 || err == -ENETUNREACH || err == -EMSGSIZE || err == -ENOBUFS);
}

static void op_usend(struct fuzz *z, const uint8_t *p, size_t n, bool connected)
{
    ssize_t r;
    if (connected) {
        r = ust_send(z->s, z->cudp, p, n, 0);
    } else {
        uint8_t hdr[6] = {0};
        memcpy(hdr, p, n < sizeof(hdr) ? n : sizeof(hdr));
        struct sockaddr_in to = {.sin_family = AF_INET,
                                 .sin_port = htons(ld16(hdr + 4)),
                                 .sin_addr.s_addr = htonl(ld32(hdr))};
        r = ust_sendto(z->s, z->udp, n > 6 ? p + 6 : NULL, n > 6 ? n - 6 : 0, 0,
                       (struct sockaddr *)&to, sizeof(to));
    }
    /* Success, or one of the errors a program must expect. */
    CHECK(r >= 0 || errno == ENETUNREACH || errno == EINVAL || errno == EACCES ||
          errno == ENOBUFS || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
          errno == ENOPROTOOPT || errno == EMSGSIZE);
}

static void op_recv(struct fuzz *z, unsigned max)
{
    for (unsigned i = 0; i < max; i++) {
        uint8_t buf[128];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t a = ust_recvfrom(z->s, z->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        ssize_t b = ust_recv(z->s, z->cudp, buf, sizeof(buf), 0);
        CHECK(a >= 0 || errno == EAGAIN || errno == ECONNREFUSED || errno == EHOSTUNREACH ||
              errno == ENETUNREACH || errno == ENOPROTOOPT || errno == EMSGSIZE);
        if (a < 0 && b < 0)
            break;
    }
    for (unsigned i = 0; i < max; i++) {
        struct ust_ping_reply r;
        uint8_t buf[64];
        if (ust_ping_recv(z->s, z->ping, &r, buf, sizeof(buf)) != 0)
            break;
        CHECK(r.id == FUZZ_PING_ID);
        CHECK(r.received <= z->now);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz z;
    fuzz_init(&z);
    size_t off = 0;
    while (size - off >= 3) {
        uint8_t op = data[off] % OP_COUNT;
        uint16_t arg = ld16(data + off + 1);
        off += 3;
        size_t n = arg < size - off ? arg : size - off;
        switch (op) {
        case OP_ETH:
            if (arg & 0x8000) {
                /* Offload metadata, believed only as far as it fits. */
                n = (size_t)(arg & 0x7fff) < size - off ? (size_t)(arg & 0x7fff) : size - off;
                struct ust_pkt_meta m = {0};
                if (vnet_parse(data + off, n, VNET_HDR_LEN, &m) == WIRE_OK) {
                    ust_stack_input_meta(z.s, z.eth, data + off + VNET_HDR_LEN, n - VNET_HDR_LEN,
                                         &m, z.now);
                    z.eth_frames++;
                }
            } else {
                ust_stack_input(z.s, z.eth, data + off, n, z.now);
                z.eth_frames++;
            }
            off += n;
            break;
        case OP_LO:
            ust_stack_input(z.s, z.lo, data + off, n, z.now);
            off += n;
            break;
        case OP_CLOCK: z.now += (ust_time_t)arg * UST_MS; break;
        case OP_PING:
            op_ping(&z, data + off, n);
            off += n;
            break;
        case OP_RECV: op_recv(&z, arg); break;
        case OP_USEND:
        case OP_CSEND:
            op_usend(&z, data + off, n, op == OP_CSEND);
            off += n;
            break;
        case OP_TSEG:
            op_tseg(&z, data + off, n);
            off += n;
            break;
        case OP_TSEND:
            op_tsend(&z, data + off, n);
            off += n;
            break;
        case OP_TRECV: op_trecv(&z, arg); break;
        case OP_TCLOSE: op_tclose(&z, arg); break;
        case OP_TSHUT: op_tshut(&z, arg); break;
        case OP_TCONN:
            op_tconn(&z, data + off, n);
            off += n;
            break;
        case OP_TOPT: op_topt(&z, arg); break;
        }
        step(&z);
    }

    /* Every TCP socket closed: what is left runs on its own (FIN
     * retransmissions, persist probes, TIME-WAIT, orphaned FIN-WAIT-2)
     * and must end by itself. */
    if (z.tout)
        CHECK(ust_close(z.s, z.tout) == 0);
    for (unsigned i = 0; i < FUZZ_TCP_ACCEPTED; i++)
        if (z.tacc[i])
            CHECK(ust_close(z.s, z.tacc[i]) == 0);
    CHECK(ust_close(z.s, z.tlisten) == 0);
    CHECK(ust_close(z.s, z.tlisten6) == 0);
    CHECK(ust_close(z.s, z.udp6) == 0);
    z.tout = 0;
    memset(z.tacc, 0, sizeof(z.tacc));
    z.tlisten = 0;
    drain_tx(&z);

    /* Half an hour later, having stepped through every deadline on the
     * way: retries have given up, entries expired, the loopback queue is
     * empty, every connection is gone. (The longest: 5 retransmissions or
     * probes backed off to 60 s each, then 2*MSL.) */
    ust_time_t end = z.now + 1800 * UST_SEC;
    for (unsigned guard = 0;; guard++) {
        CHECK(guard < 100000); /* no timer may fire forever */
        ust_time_t d = ust_stack_next_deadline(z.s);
        if (d > end)
            break;
        if (d > z.now)
            z.now = d;
        step(&z);
    }
    z.now = end;
    step(&z);
    /* Nothing is left to happen, but for lifetimes routers gave (an
     * address or a route from an RA in the input may outlive the run). */
    ust_time_t left = addrconf_next_deadline(z.s);
    if (route6_next_deadline(z.s) < left)
        left = route6_next_deadline(z.s);
    CHECK(ust_stack_next_deadline(z.s) == UST_TIME_NEVER || ust_stack_next_deadline(z.s) == left);
    CHECK(z.s->tcp->all == NULL && z.s->tcp->nconns == 0);
    const struct ust_stats *st = ust_stack_stats(z.s);
    CHECK(st->tcp.conns == 0 && st->tcp.buf_bytes == 0); /* every buffer given back */
    CHECK(st->eth.rx + st->offload.rx_bad_meta == z.eth_frames);
    CHECK(ust_ping_close(z.s, z.ping) == 0);
    CHECK(ust_close(z.s, z.udp) == 0 && ust_close(z.s, z.cudp) == 0);
    CHECK(reasm_count(z.s) == 0 && reasm_memory(z.s) == 0);
    CHECK(st->pkb.live == 0);
    CHECK(st->pkb.alloc == st->pkb.free);
    ust_stack_destroy(z.s);
    return 0;
}
