/* IPv6 (RFC 8200) for a host: see net/ipv6.h.
 *
 * A packet's way in: ipv6_input checks the header and that it is for us
 * (one of our addresses, or a group we joined), walks the extension
 * headers (wire/ipv6.c says what each verdict means), reassembles
 * fragments (net/ip6_frag.c), and deliver() hands the upper-layer
 * payload to ICMPv6, UDP or TCP. Out: ipv6_output picks the route
 * (route6.c) and, if the caller left it open, the source (RFC 6724),
 * fragments what the path MTU will not carry, and link_output finds the
 * neighbour's MAC (nd.c) or maps a multicast address to its MAC. */
#include "net/ipv6.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/siphash.h"
#include "net/ethernet.h"
#include "net/netif.h"
#include "net/icmpv6.h"
#include "net/ip.h"
#include "net/nd.h"
#include "net/route6.h"
#include "transport/tcp.h"
#include "transport/udp.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmpv6.h"

int ipv6_init(struct ust_stack *s)
{
    struct ipv6_stack *ip6 = calloc(1, sizeof(*ip6));
    if (!ip6)
        return -ENOMEM;
    for (int i = 0; i < 16; i += 8) {
        uint64_t r = rng_next(&s->rng);
        memcpy(ip6->secret + i, &r, 8);
    }
    ip6->frag_seq = (uint32_t)rng_next(&s->rng);
    struct fq_cfg cfg = {.mem_max = s->cfg.reasm_mem_max,
                         .max_per_src = s->cfg.reasm_max_per_src,
                         .timeout = 0, /* RFC 8200 4.5: 60 s */
                         .max_frags = 0};
    uint8_t key[16];
    memcpy(key, ip6->secret, 16);
    key[0] ^= 0x5a; /* not the identifiers' key */
    ip6_reasm_init(&ip6->reasm, &cfg, key);
    s->ip6 = ip6;
    return 0;
}

void ipv6_fini(struct ust_stack *s)
{
    if (!s->ip6)
        return;
    ip6_reasm_fini(&s->ip6->reasm);
    free(s->ip6);
    s->ip6 = NULL;
}

/* ---- input ---- */

/* The reassembly module counts into its own struct (it is sans-I/O and
 * knows no stack); the stack's counters mirror it after each call. */
static void sync_reasm_stats(struct ust_stack *s)
{
    const struct ip6_reasm_stats *r = &s->ip6->reasm.stats;
    s->stats.ip6.frag_rx = r->frag_rx;
    s->stats.ip6.reasm_ok = r->reasm_ok;
    s->stats.ip6.reasm_atomic = r->atomic;
    s->stats.ip6.reasm_bad_len = r->bad_len;
    s->stats.ip6.reasm_empty = r->empty;
    s->stats.ip6.reasm_too_big = r->too_big;
    s->stats.ip6.reasm_first_incomplete = r->first_incomplete;
    s->stats.ip6.reasm_overlap = r->overlap;
    s->stats.ip6.reasm_duplicate = r->duplicate;
    s->stats.ip6.reasm_too_many = r->too_many;
    s->stats.ip6.reasm_timeout = r->timeout;
    s->stats.ip6.reasm_evicted = r->evicted;
    s->stats.ip6.reasm_src_evicted = r->src_evicted;
}

static void count_ext_drop(struct ust_stack *s, enum ipv6_ext_verdict v)
{
    switch (v) {
    case IPV6_EXT_TRUNC: s->stats.ip6.drop_ext_trunc++; break;
    case IPV6_EXT_OPT_BAD: s->stats.ip6.drop_ext_opt_bad++; break;
    case IPV6_EXT_HBH_NOT_FIRST: s->stats.ip6.drop_hbh_not_first++; break;
    case IPV6_EXT_ROUTING: s->stats.ip6.drop_routing++; break;
    case IPV6_EXT_OPT_UNKNOWN: s->stats.ip6.drop_opt_unknown++; break;
    default: s->stats.ip6.drop_ext_too_many++; break;
    }
}

/* The whole packet pkt (len bytes: header and payload), its extension
 * headers walked into e (IPV6_EXT_OK), to the protocol e names. */
static void deliver(struct ust_stack *s, int dev, const uint8_t *pkt, size_t len,
                    const struct ipv6_repr *ip, const struct ipv6_ext *e, bool link_mcast)
{
    const uint8_t *payload = pkt + e->proto_off;
    size_t plen = len - e->proto_off;
    struct ip_meta m = {.src = ipaddr_from6(&ip->src),
                        .dst = ipaddr_from6(&ip->dst),
                        .ph = cksum_pseudo6(ip->src.a, ip->dst.a, 0, 0),
                        .dev = dev,
                        .bcast = ipv6_addr_is_multicast(&ip->dst),
                        .pkt = pkt,
                        .pkt_len = len,
                        .v6 = ip,
                        .link_mcast = link_mcast};
    switch (e->proto) {
    case IPV6_NH_ICMPV6:
        s->stats.ip6.delivered++;
        icmpv6_input(s, &m, payload, plen);
        break;
    case IPV6_NH_UDP:
        s->stats.ip6.delivered++;
        udp_input(s, &m, payload, plen);
        break;
    case IPV6_NH_TCP:
        if (m.bcast) {
            s->stats.ip6.drop_not_ours++; /* no TCP to a group */
            break;
        }
        s->stats.ip6.delivered++;
        tcp_input(s, &m, payload, plen);
        break;
    case IPV6_NH_NONE:
        s->stats.ip6.delivered++; /* RFC 8200 4.7: nothing follows; ignored */
        break;
    default: {
        /* RFC 8200 4: an unrecognised Next Header, Parameter Problem code
         * 1 pointing at the byte that named it. */
        char a[IPV6_ADDR_STRLEN];
        s->stats.ip6.drop_unknown_proto++;
        debugf(s, "src=%s, next header=%u: no such protocol", ipv6_addr_format(&ip->src, a),
               e->proto);
        icmpv6_send_error(s, &m, ICMPV6_PARAM_PROBLEM, ICMPV6_PP_NEXT_HDR, (uint32_t)e->nh_off,
                          IPV6_OPT_SKIP);
        break;
    }
    }
}

/* Walks the headers of a whole packet and delivers it, or drops it with
 * its counter (and the Parameter Problem the walk asked for). */
static void walk_and_deliver(struct ust_stack *s, int dev, const uint8_t *pkt, size_t len,
                             const struct ipv6_repr *ip, bool link_mcast, bool reassembled)
{
    struct ipv6_ext e;
    enum ipv6_ext_verdict v = ipv6_ext_walk(pkt, ip, &e);
    if (!reassembled && s->rx_meta && s->rx_meta->gso_type &&
        ((s->rx_meta->gso_type & ~UST_GSO_ECN) != UST_GSO_TCPV6 || v != IPV6_EXT_OK ||
         e.proto != IPV6_NH_TCP)) {
        /* A super-frame is one TCP segment over IPv6, never a fragment. */
        s->stats.offload.rx_bad_super++;
        debugf(s, "dev=%s, next=%u, gso_type=%u: super-frame that is not TCP/IPv6, dropped",
               s->ifs->at[dev].dev->name, ip->next_hdr, s->rx_meta->gso_type);
        return;
    }
    if (v == IPV6_EXT_OK) {
        deliver(s, dev, pkt, len, ip, &e, link_mcast);
        return;
    }
    struct ip_meta m = {.src = ipaddr_from6(&ip->src),
                        .dst = ipaddr_from6(&ip->dst),
                        .ph = cksum_pseudo6(ip->src.a, ip->dst.a, 0, 0),
                        .dev = dev,
                        .bcast = ipv6_addr_is_multicast(&ip->dst),
                        .pkt = pkt,
                        .pkt_len = len,
                        .v6 = ip,
                        .link_mcast = link_mcast};
    if (v == IPV6_EXT_FRAGMENT && !reassembled) {
        struct ip6_reasm_out out;
        enum ip6_reasm_result r = ip6_reasm_input(&s->ip6->reasm, s->now, dev, m.bcast, pkt, ip, &e,
                                                  &out);
        sync_reasm_stats(s);
        if (r == IP6_REASM_DONE) {
            struct ipv6_repr whole;
            if (ipv6_parse(out.pkt, out.len, &whole) == WIRE_OK)
                walk_and_deliver(s, dev, out.pkt, out.len, &whole, link_mcast, true);
            free(out.pkt);
        } else if (r == IP6_REASM_PARAM_PROBLEM) {
            icmpv6_send_error(s, &m, ICMPV6_PARAM_PROBLEM, out.code, out.pointer, IPV6_OPT_SKIP);
        }
        return;
    }
    if (v == IPV6_EXT_FRAGMENT) {
        s->stats.ip6.drop_ext_too_many++; /* a fragment header inside a reassembled packet */
        return;
    }
    count_ext_drop(s, v);
    char a[IPV6_ADDR_STRLEN];
    debugf(s, "src=%s: extension headers refused (%s)", ipv6_addr_format(&ip->src, a),
           ipv6_ext_verdict_name(v));
    if (e.icmp)
        icmpv6_send_error(s, &m, ICMPV6_PARAM_PROBLEM, e.icmp_code, e.pointer, e.action);
}

void ipv6_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len, bool link_mcast)
{
    struct ipv6_repr ip;
    s->stats.ip6.rx++;
    if (!s->ip6->dev[dev].on) {
        s->stats.ip6.drop_not_ours++; /* IPv6 is off on this interface */
        return;
    }
    switch (ipv6_parse(data, len, &ip)) {
    case WIRE_OK: break;
    case WIRE_ETRUNC: s->stats.ip6.drop_short++; return;
    case WIRE_EVERSION: s->stats.ip6.drop_version++; return;
    default: s->stats.ip6.drop_len++; return;
    }
    /* RFC 4291 2.7: a multicast address is never a source. */
    if (ipv6_addr_is_multicast(&ip.src)) {
        s->stats.ip6.drop_bad_src++;
        return;
    }
    bool loop = s->ifs->at[dev].dev->type == UST_DEV_LOOPBACK;
    if (ipv6_addr_is_multicast(&ip.dst)) {
        if (!ipv6_mcast_joined(s, dev, &ip.dst)) {
            s->stats.ip6.drop_not_ours++;
            return;
        }
    } else {
        struct ip6_ifaddr *a = addrconf_find(s, &ip.dst);
        /* The weak host model of IPv4 (RFC 1122 3.3.4.2) holds here too,
         * but ::1 never arrives from outside (RFC 4291 2.5.3). */
        if (!a || (a->origin == IP6A_LOOPBACK && !loop)) {
            s->stats.ip6.drop_not_ours++;
            return;
        }
        if (a->state == IP6A_TENTATIVE) {
            /* RFC 4862 5.4: only DAD's own messages, which go to the
             * solicited-node group, reach a tentative address. */
            s->stats.ip6.drop_tentative++;
            return;
        }
    }
    char sa[IPV6_ADDR_STRLEN], da[IPV6_ADDR_STRLEN];
    tracef(s, "dev=%s, src=%s, dst=%s, next=%u, len=%u, hlim=%u", s->ifs->at[dev].dev->name,
           ipv6_addr_format(&ip.src, sa), ipv6_addr_format(&ip.dst, da), ip.next_hdr,
           ip.payload_len, ip.hop_limit);
    walk_and_deliver(s, dev, data, IPV6_HDR_LEN + (size_t)ip.payload_len, &ip, link_mcast, false);
}

/* ---- output ---- */

static int loopback_dev(const struct ust_stack *s)
{
    for (int i = 0; i < s->ifs->n; i++)
        if (s->ip6->dev[i].on && s->ifs->at[i].dev->type == UST_DEV_LOOPBACK)
            return i;
    return -1;
}

/* p (from its IPv6 header) to next_hop on dev (at mac, when the caller
 * knows it). Consumes p. */
static int link_output(struct ust_stack *s, int dev, struct pkbuf *p,
                       const struct ipv6_addr *next_hop, const uint8_t *known_mac)
{
    struct ust_device *d = s->ifs->at[dev].dev;
    s->stats.ip6.tx++;
    if (d->type == UST_DEV_LOOPBACK)
        return netif_transmit(s, dev, p);
    uint8_t mac[6];
    if (known_mac) {
        memcpy(mac, known_mac, 6);
    } else if (ipv6_addr_is_multicast(next_hop)) {
        ipv6_mcast_mac(next_hop, mac); /* RFC 2464 7 */
    } else {
        int r = nd_resolve(s, dev, next_hop, p, mac);
        if (r > 0)
            pkb_linearize(p); /* queued past this call: see netif_output_ipv4 */
        if (r != 0)
            return r > 0 ? 0 : r; /* queued until the neighbour answers, or dropped */
    }
    return eth_output(s, dev, p, mac, ETH_TYPE_IPV6);
}

/* An identification for a fragmented packet (RFC 7739: not predictable
 * from the ones before it). */
static uint32_t frag_id(struct ust_stack *s, const struct ipv6_addr *dst)
{
    uint8_t in[20];
    memcpy(in, dst->a, 16);
    uint32_t seq = s->ip6->frag_seq++;
    memcpy(in + 16, &seq, 4);
    return (uint32_t)siphash24(s->ip6->secret, in, sizeof(in));
}

/* Cuts the packet p (header and payload built) into fragments of mtu. */
static int frag_output(struct ust_stack *s, int dev, struct pkbuf *p,
                       const struct ipv6_addr *next_hop, const struct ipv6_addr *dst, uint32_t mtu)
{
    struct ip6_frag_iter it;
    pkb_csum_complete(p); /* fragments carry pieces of the whole */
    pkb_linearize(p);
    int err = ip6_frag_start(&it, pkb_data(p), p->len, mtu, frag_id(s, dst));
    if (err) {
        s->stats.ip6.drop_too_big++;
        pkb_free(s, p);
        return err;
    }
    int ret = 0;
    for (;;) {
        struct pkbuf *f = pkb_alloc(s, mtu);
        if (!f) {
            ret = -ENOBUFS;
            break;
        }
        size_t n = ip6_frag_next(&it, pkb_data(f), mtu);
        if (n == 0) {
            pkb_free(s, f);
            break;
        }
        f->len = n;
        s->stats.ip6.frag_tx++;
        int r = link_output(s, dev, f, next_hop, NULL);
        if (r && !ret)
            ret = r;
    }
    s->stats.ip6.frag_ok++;
    pkb_free(s, p);
    return ret;
}

/* Whether p (its IPv6 header pushed) is a TCP super-segment that dev cuts
 * (TSO6) into segments that fit mtu, the path's: then it goes whole. */
static bool tso_fits(const struct ust_stack *s, const struct pkbuf *p, int dev, size_t total,
                     uint32_t mtu)
{
    if (!p->gso_size || !p->csum_at || total > netif_tso6_max(s->ifs->at[dev].dev))
        return false;
    size_t thl = (size_t)(p->data[p->csum_at + 12] >> 4) * 4; /* the TCP header */
    return IPV6_HDR_LEN + thl + p->gso_size <= mtu;
}

uint32_t ipv6_gso_max(const struct ust_stack *s, const struct ipv6_addr *dst, int dev)
{
    int out_dev;
    struct ipv6_addr next_hop;
    if (ipv6_is_local(s, dst) || route6_lookup(s, dst, dev, &out_dev, &next_hop) != 0)
        return 0; /* to ourselves (the loopback) or nowhere */
    return netif_tso6_max(s->ifs->at[out_dev].dev);
}

static int output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, const struct ipv6_addr *src,
                  const struct ipv6_addr *dst, const struct ip_tx *tx, int dev, bool router_alert,
                  const uint8_t *mac)
{
    int out_dev;
    struct ipv6_addr next_hop, chosen;
    char da[IPV6_ADDR_STRLEN];
    int lo = ipv6_is_local(s, dst) ? loopback_dev(s) : -1;
    if (lo >= 0) {
        out_dev = lo; /* to ourselves: through the loopback device */
        next_hop = *dst;
    } else if (route6_lookup(s, dst, dev, &out_dev, &next_hop) != 0) {
        s->stats.ip6.drop_no_route++;
        debugf(s, "dst=%s: no route", ipv6_addr_format(dst, da));
        pkb_free(s, p);
        return -ENETUNREACH;
    }
    if (!src) {
        if (!ipv6_select_source(s, lo >= 0 ? -1 : out_dev, dst, &chosen)) {
            s->stats.ip6.drop_no_addr++;
            debugf(s, "dst=%s: no source address yet", ipv6_addr_format(dst, da));
            pkb_free(s, p);
            return -EADDRNOTAVAIL;
        }
        src = &chosen;
    }
    size_t ext = router_alert ? 8 : 0;
    size_t total = IPV6_HDR_LEN + ext + p->len;
    if (total - IPV6_HDR_LEN > IPV6_MAX_PAYLOAD) {
        s->stats.ip6.drop_too_big++;
        pkb_free(s, p);
        return -EMSGSIZE;
    }
    struct ip6_if *ifc = &s->ip6->dev[out_dev];
    if (router_alert) {
        uint8_t *h = pkb_push(p, 8);
        if (!h) {
            pkb_free(s, p);
            return -ENOBUFS;
        }
        ipv6_hbh_router_alert_emit(h, proto, 0);
    }
    struct ipv6_repr ip = {
        .payload_len = (uint16_t)(total - IPV6_HDR_LEN),
        .next_hdr = router_alert ? IPV6_NH_HOPOPTS : proto,
        .hop_limit = tx && tx->hop_limit >= 0 ? (uint8_t)tx->hop_limit : ifc->hop_limit,
        .tclass = tx ? tx->tclass : 0,
        .src = *src,
        .dst = *dst};
    uint8_t *h = pkb_push(p, IPV6_HDR_LEN);
    if (!h) {
        pkb_free(s, p);
        return -ENOBUFS;
    }
    ipv6_emit(&ip, h);
    uint32_t mtu = ipv6_addr_is_multicast(dst) ? ifc->mtu : pmtu_get(s, dst, ifc->mtu);
    if (total <= mtu) {
        p->gso_size = 0; /* one segment: nothing to cut */
    } else if (!tso_fits(s, p, out_dev, total, mtu)) {
        p->gso_size = 0;
        return frag_output(s, out_dev, p, &next_hop, dst, mtu);
    }
    return link_output(s, out_dev, p, &next_hop, mac);
}


int ipv6_output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, const struct ipv6_addr *src,
                const struct ipv6_addr *dst, const struct ip_tx *tx, int dev)
{
    return output(s, p, proto, src, dst, tx, dev, false, NULL);
}

int ipv6_output_mac(struct ust_stack *s, struct pkbuf *p, uint8_t proto,
                    const struct ipv6_addr *src, const struct ipv6_addr *dst,
                    const struct ip_tx *tx, int dev, const uint8_t mac[6])
{
    return output(s, p, proto, src, dst, tx, dev, false, mac);
}

int ipv6_output_ra(struct ust_stack *s, struct pkbuf *p, const struct ipv6_addr *src,
                   const struct ipv6_addr *dst, int dev)
{
    static const struct ip_tx one = {.hop_limit = 1}; /* RFC 3810 5 */
    return output(s, p, IPV6_NH_ICMPV6, src, dst, &one, dev, true, NULL);
}

/* ---- timers ---- */

void ipv6_timer(struct ust_stack *s, ust_time_t now)
{
    struct ip6_reasm_out out;
    while (ip6_reasm_timer(&s->ip6->reasm, now, &out) == IP6_REASM_TIME_EXCEEDED) {
        /* RFC 8200 4.5: Time Exceeded code 1, when the first fragment came. */
        struct ipv6_repr ip;
        if (ipv6_parse(out.pkt, out.len, &ip) == WIRE_OK) {
            struct ip_meta m = {.src = ipaddr_from6(&ip.src),
                                .dst = ipaddr_from6(&ip.dst),
                                .dev = out.dev,
                                .bcast = out.mcast,
                                .pkt = out.pkt,
                                .pkt_len = out.len,
                                .v6 = &ip};
            icmpv6_send_error(s, &m, ICMPV6_TIME_EXCEEDED, ICMPV6_TE_REASSEMBLY, 0, IPV6_OPT_SKIP);
        }
        free(out.pkt);
    }
    sync_reasm_stats(s);
    addrconf_timer(s, now);
}

ust_time_t ipv6_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = ip6_reasm_next_deadline(&s->ip6->reasm);
    ust_time_t a = addrconf_next_deadline(s);
    return a < t ? a : t;
}
