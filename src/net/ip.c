/* One face for IPv4 and IPv6 (net/ip.h): each call picks the version by
 * the address family and hands over to ipv4.c (or, for IPv6, ipv6.c). */
#include "net/ip.h"

#include <errno.h>

#include "net/icmp.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "net/route.h"
#include "wire/ipv4.h"

int ip_output(struct ust_stack *s, struct pkbuf *p, uint8_t proto, const struct ipaddr *src,
              const struct ipaddr *dst)
{
    if (!ipaddr_is_v4(dst) || !ipaddr_is_v4(src)) {
        pkb_free(s, p);
        return -EAFNOSUPPORT;
    }
    return ipv4_output(s, p, proto, ipaddr_to_v4(src), ipaddr_to_v4(dst), 0, false);
}

bool ip_source_for(const struct ust_stack *s, const struct ipaddr *dst, struct ipaddr *src)
{
    if (!ipaddr_is_v4(dst))
        return false;
    ust_ip4_t a = ipv4_source_for(s, ipaddr_to_v4(dst));
    *src = ipaddr_v4(a);
    return a != 0;
}

bool ip_is_local(const struct ust_stack *s, const struct ipaddr *a)
{
    return ipaddr_is_v4(a) && ipv4_is_local(s, ipaddr_to_v4(a));
}

uint32_t ip_pseudo_sum(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto)
{
    if (ipaddr_is_v4(src))
        return ipv4_pseudo_sum(ipaddr_to_v4(src), ipaddr_to_v4(dst), proto, 0);
    uint32_t sum = proto;
    for (int i = 0; i < 16; i += 2)
        sum += (uint32_t)(src->b[i] << 8 | src->b[i + 1]) + (uint32_t)(dst->b[i] << 8 | dst->b[i + 1]);
    return sum;
}

uint32_t ip_payload_mtu(const struct ust_stack *s, const struct ipaddr *dst)
{
    uint32_t mtu = 576; /* RFC 1122 3.3.3: what every IPv4 host takes */
    if (!ipaddr_is_v4(dst))
        return 1280 - 40; /* RFC 8200 5: IPv6's minimum link MTU */
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

void ip_send_port_unreach(struct ust_stack *s, const struct ip_meta *m)
{
    if (m->v4)
        icmp_send_error(s, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0, m->v4, m->pkt, m->bcast);
}
