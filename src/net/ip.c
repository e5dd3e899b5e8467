/* One face for IPv4 and IPv6 (net/ip.h): each call picks the version by
 * the address family and hands over to ipv4.c (or, for IPv6, ipv6.c). */
#include "net/ip.h"

#include <errno.h>
#include <string.h>

#include "net/icmp.h"
#include "net/icmpv6.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "net/netif.h"
#include "net/route.h"
#include "net/route6.h"
#include "transport/tcp.h"
#include "transport/udp.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/icmp_error.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"

int ip_output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, const struct ipaddr *src,
              const struct ipaddr *dst, const struct ip_tx *tx)
{
    if (ipaddr_is_v4(dst) != ipaddr_is_v4(src) && !ipaddr_is_any(src)) {
        pkb_free(s, p);
        return -EAFNOSUPPORT;
    }
    if (ipaddr_is_v4(dst))
        return ipv4_output(s, p, proto, ipaddr_to_v4(src), ipaddr_to_v4(dst), tx ? tx->ttl : 0,
                           false, tx ? tx->tos : 0);
    struct ipv6_addr s6 = ipaddr_to6(src), d6 = ipaddr_to6(dst);
    int dev = tx && tx->scope ? (int)tx->scope - 1 : -1;
    return ipv6_output(s, p, proto, ipaddr_is_any(src) ? NULL : &s6, &d6, tx, dev);
}

bool ip_addr_needs_zone(const struct ipaddr *a)
{
    return !ipaddr_is_v4(a) &&
           (ipaddr_is_multicast(a) || (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80));
}

uint32_t ip_scope_of(const struct ip_meta *m)
{
    return ip_addr_needs_zone(&m->src) ? (uint32_t)m->dev + 1 : 0;
}

int ip_scope_check(const struct ust_stack *s, const struct ipaddr *a, uint32_t *scope)
{
    if (!ip_addr_needs_zone(a)) {
        *scope = 0; /* as Linux: a zone given with a global address means nothing */
        return 0;
    }
    if (*scope) {
        if (*scope > (uint32_t)s->ifs->n || !s->ip6->dev[*scope - 1].on)
            return -ENODEV;
        return 0;
    }
    int only = -1;
    for (int i = 0; i < s->ifs->n; i++) {
        if (!s->ip6->dev[i].on || s->ifs->at[i].dev->type == UST_DEV_LOOPBACK)
            continue;
        if (only >= 0)
            return -EINVAL;
        only = i;
    }
    if (only < 0)
        return -ENODEV;
    *scope = (uint32_t)only + 1;
    return 0;
}

bool ip_source_for(const struct ust_stack *s, const struct ipaddr *dst, uint32_t scope,
                   struct ipaddr *src)
{
    if (!ipaddr_is_v4(dst)) {
        struct ipv6_addr d6 = ipaddr_to6(dst), s6, nh;
        int dev;
        if (ipv6_is_local(s, &d6)) {
            *src = *dst; /* talking to ourselves */
            return true;
        }
        if (route6_lookup(s, &d6, (int)scope - 1, &dev, &nh) != 0 ||
            !ipv6_select_source(s, dev, &d6, &s6))
            return false;
        *src = ipaddr_from6(&s6);
        return true;
    }
    ust_ip4_t a = ipv4_source_for(s, ipaddr_to_v4(dst));
    *src = ipaddr_v4(a);
    return a != 0;
}

bool ip_is_local(const struct ust_stack *s, const struct ipaddr *a)
{
    if (ipaddr_is_v4(a))
        return ipv4_is_local(s, ipaddr_to_v4(a));
    struct ipv6_addr a6 = ipaddr_to6(a);
    return ipv6_is_local(s, &a6);
}

uint32_t ip_pseudo_sum(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto)
{
    if (ipaddr_is_v4(src))
        return ipv4_pseudo_sum(ipaddr_to_v4(src), ipaddr_to_v4(dst), proto, 0);
    uint32_t sum = proto;
    for (int i = 0; i < 16; i += 2)
        sum += (uint32_t)(src->b[i] << 8 | src->b[i + 1]) +
               (uint32_t)(dst->b[i] << 8 | dst->b[i + 1]);
    return sum;
}

uint32_t ip_payload_mtu(const struct ust_stack *s, const struct ipaddr *dst)
{
    uint32_t mtu = 576; /* RFC 1122 3.3.3: what every IPv4 host takes */
    if (!ipaddr_is_v4(dst)) {
        struct ipv6_addr d6 = ipaddr_to6(dst), nh;
        int dev;
        if (route6_lookup(s, &d6, -1, &dev, &nh) != 0 && !ipv6_is_local(s, &d6))
            return IPV6_MIN_MTU - IPV6_HDR_LEN; /* RFC 8200 5 */
        if (ipv6_is_local(s, &d6)) {
            for (int i = 0; i < s->ifs->n; i++)
                if (s->ip6->dev[i].on && s->ifs->at[i].dev->type == UST_DEV_LOOPBACK)
                    return s->ip6->dev[i].mtu - IPV6_HDR_LEN;
        }
        return pmtu_get(s, &d6, s->ip6->dev[dev].mtu) - IPV6_HDR_LEN;
    }
    ust_ip4_t a = ipaddr_to_v4(dst);
    int dev;
    ust_ip4_t nh;
    if (ipv4_is_local(s, a)) {
        for (int i = 0; i < s->ifs->n; i++)
            if (s->ifs->at[i].up && s->ifs->at[i].dev->type == UST_DEV_LOOPBACK)
                mtu = s->ifs->at[i].dev->mtu;
    } else if (route_lookup(s, a, &dev, &nh) == 0) {
        mtu = s->ifs->at[dev].dev->mtu;
    }
    return mtu - IPV4_HDR_LEN;
}

uint32_t ip_gso_max(const struct ust_stack *s, const struct ipaddr *dst, uint32_t scope)
{
    if (ipaddr_is_v4(dst))
        return ipv4_gso_max(s, ipaddr_to_v4(dst));
    struct ipv6_addr d6 = ipaddr_to6(dst);
    return ipv6_gso_max(s, &d6, (int)scope - 1);
}

void ip_send_port_unreach(struct ust_stack *s, const struct ip_meta *m)
{
    if (m->v4)
        icmp_send_error(s, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, m->v4, m->pkt, m->bcast);
    else
        icmpv6_send_error(s, m, ICMPV6_DEST_UNREACH, ICMPV6_DU_PORT, 0, IPV6_OPT_SKIP);
}

void ip_error_deliver(struct ust_stack *s, const struct icmp_quote *q,
                      const struct icmp_err_class *e)
{
    if (!e)
        return; /* not an error that means anything to a socket */
    switch (q->proto) {
    case IP_PROTO_UDP: udp_icmp_error(s, q, e); break;
    case IP_PROTO_TCP: tcp_icmp_error(s, q, e); break;
    default: break; /* ICMP (our echo requests) and the rest: no one to tell */
    }
}

unsigned ip_local_unreach(struct ust_stack *s, struct pkbuf *chain)
{
    unsigned n = 0;
    while (chain) {
        struct pkbuf *p = chain;
        chain = p->next;
        p->next = NULL;
        const uint8_t *pkt = pkb_data(p);
        size_t len = p->len;
        struct icmp_quote q;
        if (len && pkt[0] >> 4 == 4 && icmp_quote_parse(pkt, len, &q) == WIRE_OK)
            ip_error_deliver(s, &q, icmp_err_classify(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH));
        else if (len && pkt[0] >> 4 == 6 && icmp_quote_parse6(pkt, len, &q) == WIRE_OK)
            ip_error_deliver(s, &q, icmpv6_err_classify(ICMPV6_DEST_UNREACH, ICMPV6_DU_ADDR));
        pkb_free(s, p);
        n++;
    }
    return n;
}

void ip_quote_addrs(const struct icmp_quote *q, struct ipaddr *src, struct ipaddr *dst)
{
    if (q->version == 4) {
        *src = ipaddr_v4(q->addr.v4.src);
        *dst = ipaddr_v4(q->addr.v4.dst);
    } else {
        memcpy(src->b, q->addr.v6.src, 16);
        memcpy(dst->b, q->addr.v6.dst, 16);
    }
}
