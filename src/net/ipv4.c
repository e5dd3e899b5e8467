/* IPv4 input and output. */
#include "net/ipv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/dhcp.h"
#include "net/icmp.h"
#include "net/ip.h"
#include "net/ip_frag.h"
#include "net/netif.h"
#include "net/route.h"
#include "transport/tcp.h"
#include "transport/udp.h"
#include "wire/bytes.h"

int ipv4_init(struct ust_stack *s)
{
    struct ipv4_stack *ip = calloc(1, sizeof(*ip));
    if (!ip)
        return -ENOMEM;
    ip->next_id = (uint16_t)rng_next(&s->rng);
    s->ip = ip;
    return 0;
}

void ipv4_fini(struct ust_stack *s)
{
    if (!s->ip)
        return;
    reasm_fini(s);
    free(s->ip);
    s->ip = NULL;
}

bool ipv4_is_local(const struct ust_stack *s, ust_ip4_t a)
{
    for (int i = 0; i < s->ifs->n; i++)
        if (s->ifs->at[i].up && s->ifs->at[i].addr == a)
            return true;
    return false;
}

/* Broadcast addresses a host accepts on an interface (RFC 1122 3.3.6):
 * limited broadcast and the subnet-directed broadcast (all ones, or the
 * obsolete all zeros, in the host part). */
static bool is_bcast_for(const struct netif *nif, ust_ip4_t a)
{
    if (a == 0xffffffffu)
        return true;
    if (nif->prefix_len >= 31)
        return false;
    return (a & nif->mask) == (nif->addr & nif->mask) &&
           ((a & ~nif->mask) == ~nif->mask || (a & ~nif->mask) == 0);
}

static void count_parse_error(struct ust_stack *s, int err)
{
    switch (err) {
    case WIRE_ETRUNC: s->stats.ip.drop_short++; break;
    case WIRE_EVERSION: s->stats.ip.drop_version++; break;
    case WIRE_EHDRLEN: s->stats.ip.drop_hdr_len++; break;
    case WIRE_ELEN: s->stats.ip.drop_total_len++; break;
    default: s->stats.ip.drop_checksum++; break;
    }
}

void ipv4_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len, bool link_bcast)
{
    struct ust_device *d = s->ifs->at[dev].dev;
    struct ipv4_repr ip;
    s->stats.ip.rx++;
    int err = ipv4_parse(data, len, &ip);
    if (err != WIRE_OK) {
        count_parse_error(s, err);
        debugf(s, "dev=%s, len=%zu: malformed IPv4 header (%d), dropped", d->name, len, err);
        return;
    }
    /* The DHCP client hears its server before the interface has an
     * address, and afterwards on port 68. */
    if (s->dhcp && ip.proto == IPV4_PROTO_UDP && !ipv4_is_fragment(&ip) &&
        dhcp_ipv4_input(s, dev, &ip, data))
        return;
    struct netif *nif = netif_get(s, dev);
    if (!nif) {
        s->stats.ip.drop_not_ours++;
        return;
    }
    char sa[UST_IP4_STRLEN], da[UST_IP4_STRLEN];
    /* Our own address as the source can only come from the loopback device;
     * on a link it is spoofed ("land"), and answering it would make us ARP
     * for ourselves. */
    if (ipv4_is_martian_src(ip.src) || is_bcast_for(nif, ip.src) ||
        (d->type != UST_DEV_LOOPBACK && ((ip.src >> 24) == 127 || ipv4_is_local(s, ip.src)))) {
        s->stats.ip.drop_bad_src++;
        debugf(s, "dev=%s, src=%s: impossible source address, dropped", d->name,
               ust_ip4_format(ip.src, sa));
        return;
    }
    bool bcast = is_bcast_for(nif, ip.dst);
    /* RFC 1122 3.3.6: a link-layer broadcast must carry an IP broadcast.
     * RFC 1122 3.2.1.3(g): 127/8 never comes from outside the host. */
    if (!(bcast || (ipv4_is_local(s, ip.dst) && !link_bcast)) ||
        ((ip.dst >> 24) == 127 && d->type != UST_DEV_LOOPBACK)) {
        s->stats.ip.drop_not_ours++;
        return;
    }
    tracef(s, "dev=%s, src=%s, dst=%s, proto=%u, len=%u, id=%u, ttl=%u", d->name,
           ust_ip4_format(ip.src, sa), ust_ip4_format(ip.dst, da), ip.proto, ip.total_len, ip.id,
           ip.ttl);
    if (ip.hdr_len > IPV4_HDR_LEN)
        s->stats.ip.options_skipped++; /* RFC 1122 3.2.1.8: unknown options are ignored */
    if (s->rx_meta && s->rx_meta->gso_type &&
        ((s->rx_meta->gso_type & ~UST_GSO_ECN) != UST_GSO_TCPV4 || ip.proto != IPV4_PROTO_TCP ||
         ipv4_is_fragment(&ip))) {
        /* A super-frame is one TCP segment over IPv4, never a fragment. */
        s->stats.offload.rx_bad_super++;
        debugf(s, "dev=%s, proto=%u, gso_type=%u: super-frame that is not TCP/IPv4, dropped",
               d->name, ip.proto, s->rx_meta->gso_type);
        return;
    }
    if (ipv4_is_fragment(&ip)) {
        reasm_input(s, dev, &ip, data, bcast || link_bcast);
        return;
    }
    ipv4_deliver(s, dev, &ip, data, bcast || link_bcast);
}

void ipv4_deliver(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt,
                  bool bcast)
{
    const uint8_t *payload = pkt + ip->hdr_len;
    size_t plen = (size_t)ip->total_len - ip->hdr_len;
    /* What UDP and TCP see of the datagram (net/ip.h). */
    struct ip_meta m = {.src = ipaddr_v4(ip->src),
                        .dst = ipaddr_v4(ip->dst),
                        .ph = ipv4_pseudo_sum(ip->src, ip->dst, 0, 0),
                        .dev = dev,
                        .bcast = bcast,
                        .pkt = pkt,
                        .v4 = ip};
    switch (ip->proto) {
    case IPV4_PROTO_ICMP:
        s->stats.ip.delivered++;
        icmp_input(s, dev, ip, pkt, payload, plen, bcast);
        break;
    case IPV4_PROTO_UDP:
        s->stats.ip.delivered++;
        udp_input(s, &m, payload, plen);
        break;
    case IPV4_PROTO_TCP:
        if (bcast) {
            s->stats.ip.drop_not_ours++; /* RFC 1122 4.2.3.10: no TCP to broadcasts */
            break;
        }
        s->stats.ip.delivered++;
        tcp_input(s, &m, payload, plen);
        break;
    default: {
        char sa[UST_IP4_STRLEN];
        s->stats.ip.drop_unknown_proto++;
        debugf(s, "src=%s, proto=%u: no such protocol", ust_ip4_format(ip->src, sa), ip->proto);
        icmp_send_error(s, ICMP_DEST_UNREACH, ICMP_PROTO_UNREACH, 0, ip, pkt, bcast);
        break;
    }
    }
}

static int loopback_dev(const struct ust_stack *s)
{
    for (int i = 0; i < s->ifs->n; i++)
        if (s->ifs->at[i].up && s->ifs->at[i].dev->type == UST_DEV_LOOPBACK)
            return i;
    return -1;
}

/* The route for dst: to our own address through the loopback device if
 * there is one, else the longest-prefix match. */
static int pick_route(const struct ust_stack *s, ust_ip4_t dst, int *dev, ust_ip4_t *next_hop)
{
    if (ipv4_is_local(s, dst) && (*dev = loopback_dev(s)) >= 0) {
        *next_hop = dst;
        return 0;
    }
    int r = route_lookup(s, dst, dev, next_hop);
    /* RFC 1122 3.3.6 (RFC 919): the limited broadcast never goes to a
     * gateway; it leaves on the route's link as a link-layer broadcast. */
    if (r == 0 && dst == 0xffffffffu)
        *next_hop = dst;
    return r;
}

ust_ip4_t ipv4_source_for(const struct ust_stack *s, ust_ip4_t dst)
{
    int dev;
    ust_ip4_t next_hop;
    if (pick_route(s, dst, &dev, &next_hop) != 0)
        return 0;
    /* As Linux does: talking to one of our addresses, that address is the source. */
    return s->ifs->at[dev].dev->type == UST_DEV_LOOPBACK && ipv4_is_local(s, dst)
               ? dst
               : s->ifs->at[dev].addr;
}

uint32_t ipv4_gso_max(const struct ust_stack *s, ust_ip4_t dst)
{
    int dev;
    ust_ip4_t next_hop;
    if (pick_route(s, dst, &dev, &next_hop) != 0)
        return 0;
    return netif_tso4_max(s->ifs->at[dev].dev);
}

int ipv4_output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, ust_ip4_t src, ust_ip4_t dst,
                uint8_t ttl, bool df, uint8_t tos)
{
    int dev;
    ust_ip4_t next_hop;
    if (pick_route(s, dst, &dev, &next_hop) != 0) {
        char da[UST_IP4_STRLEN];
        s->stats.ip.drop_no_route++;
        debugf(s, "dst=%s: no route", ust_ip4_format(dst, da));
        pkb_free(s, p);
        return -ENETUNREACH;
    }
    struct netif *nif = &s->ifs->at[dev];
    if (src == 0)
        src = ipv4_source_for(s, dst);
    /* RFC 1122 3.2.1.3: 0/8 is never a destination; 127/8 never leaves the
     * host, as destination or as source (a reply to a loopback packet from
     * a foreign source would carry one). */
    if ((dst >> 24) == 0 ||
        (nif->dev->type != UST_DEV_LOOPBACK && ((src >> 24) == 127 || (dst >> 24) == 127))) {
        char sa[UST_IP4_STRLEN], da[UST_IP4_STRLEN];
        s->stats.ip.drop_no_route++;
        debugf(s, "src=%s, dst=%s: not allowed on dev=%s, dropped", ust_ip4_format(src, sa),
               ust_ip4_format(dst, da), nif->dev->name);
        pkb_free(s, p);
        return -ENETUNREACH;
    }
    size_t total = p->len + IPV4_HDR_LEN;
    if (total > IPV4_MAX_LEN || (df && total > nif->dev->mtu)) {
        s->stats.ip.drop_too_big++;
        pkb_free(s, p);
        return -EMSGSIZE;
    }
    struct ipv4_repr ip = {
        .tos = tos,
        .total_len = (uint16_t)total,
        .id = s->ip->next_id++,
        .frag = df ? IPV4_FLAG_DF : 0,
        .ttl = ttl ? ttl : s->cfg.ip_default_ttl,
        .proto = proto,
        .src = src,
        .dst = dst,
    };
    if (total > nif->dev->mtu) {
        if (p->gso_size && total <= netif_tso4_max(nif->dev)) {
            ip.frag = IPV4_FLAG_DF; /* as Linux's TSO: each segment fits the MTU */
        } else {
            /* Fragments carry pieces of the checksummed datagram, copied
             * from the whole of it. */
            pkb_csum_complete(p);
            pkb_linearize(p);
            p->gso_size = 0;
            return frag_output(s, dev, next_hop, &ip, p, nif->dev->mtu);
        }
    } else {
        p->gso_size = 0; /* one segment: nothing to cut */
    }
    uint8_t *h = pkb_push(p, IPV4_HDR_LEN);
    if (!h) {
        pkb_free(s, p);
        return -ENOBUFS;
    }
    ipv4_emit(&ip, h);
    s->stats.ip.tx++;
    return netif_output_ipv4(s, dev, p, next_hop);
}
