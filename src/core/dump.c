/* Trace-level frame dumps, in the spirit of microps' *_dump() helpers. */
#include "core/dump.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "ustack/stack.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

/* The upper layer of an IPv4 or IPv6 packet: TCP, UDP, ICMP, ICMPv6. */
static void dump_l4(struct ust_stack *s, uint8_t proto, const uint8_t *t, size_t len)
{
    if (proto == IPV4_PROTO_TCP && len >= 20) {
        uint8_t f = t[13];
        size_t off = (t[12] >> 4) * 4u;
        tracef(s,
               "  tcp: sport=%u, dport=%u, seq=%u, ack=%u, off=%zu, flags=%s%s%s%s%s%s, wnd=%u, "
               "sum=0x%04x, len=%zu",
               ld16(t), ld16(t + 2), ld32(t + 4), ld32(t + 8), off, f & 0x02 ? "S" : "",
               f & 0x10 ? "A" : "", f & 0x08 ? "P" : "", f & 0x01 ? "F" : "", f & 0x04 ? "R" : "",
               f & 0x3f ? "" : "-", ld16(t + 14), ld16(t + 16), off > len ? len : len - off);
    } else if (proto == IPV4_PROTO_UDP && len >= 8) {
        tracef(s, "  udp: sport=%u, dport=%u, len=%u, sum=0x%04x", ld16(t), ld16(t + 2),
               ld16(t + 4), ld16(t + 6));
    } else if (proto == IPV4_PROTO_ICMP && len >= ICMP_HDR_LEN) {
        tracef(s, "  icmp: type=%u, code=%u, sum=0x%04x, id=%u, seq=%u, len=%zu", t[0], t[1],
               ld16(t + 2), ld16(t + 4), ld16(t + 6), len);
    } else if (proto == IPV6_NH_ICMPV6 && len >= 4) {
        char ta[IPV6_ADDR_STRLEN] = "";
        if ((t[0] == ICMPV6_NEIGHBOR_SOLICIT || t[0] == ICMPV6_NEIGHBOR_ADVERT) && len >= 24) {
            struct ipv6_addr target;
            memcpy(target.a, t + 8, 16);
            ipv6_addr_format(&target, ta);
        }
        tracef(s, "  icmpv6: type=%u, code=%u, sum=0x%04x, len=%zu%s%s", t[0], t[1], ld16(t + 2),
               len, *ta ? ", target=" : "", ta);
    }
}

static void dump_ipv4(struct ust_stack *s, const uint8_t *p, size_t len)
{
    char sa[UST_IP4_STRLEN], da[UST_IP4_STRLEN];
    if (len < IPV4_HDR_LEN) {
        tracef(s, "  ipv4: truncated (%zu bytes)", len);
        return;
    }
    unsigned hl = (p[0] & 15u) * 4;
    if (ld16(p + 2) < len)
        len = ld16(p + 2); /* what follows is link padding */
    tracef(
        s,
        "  ipv4: vhl=0x%02x, tos=0x%02x, total=%u, id=%u, frag=0x%04x, ttl=%u, proto=%u, sum=0x%04x, src=%s, dst=%s",
        p[0], p[1], ld16(p + 2), ld16(p + 4), ld16(p + 6), p[8], p[9], ld16(p + 10),
        ust_ip4_format(ld32(p + 12), sa), ust_ip4_format(ld32(p + 16), da));
    if (hl >= IPV4_HDR_LEN && len >= hl && !(ld16(p + 6) & 0x1fff))
        dump_l4(s, p[9], p + hl, len - hl);
}

/* IPv6 (RFC 8200): the header, each extension header in the chain, then
 * the upper layer (unless the packet is a fragment other than the first). */
static void dump_ipv6(struct ust_stack *s, const uint8_t *p, size_t len)
{
    char sa[IPV6_ADDR_STRLEN], da[IPV6_ADDR_STRLEN];
    struct ipv6_addr src, dst;
    if (len < IPV6_HDR_LEN) {
        tracef(s, "  ipv6: truncated (%zu bytes)", len);
        return;
    }
    memcpy(src.a, p + 8, 16);
    memcpy(dst.a, p + 24, 16);
    uint32_t vtf = ld32(p);
    tracef(s, "  ipv6: tclass=0x%02x, flow=0x%05x, plen=%u, next=%u, hlim=%u, src=%s, dst=%s",
           (vtf >> 20) & 0xff, vtf & 0xfffff, ld16(p + 4), p[6], p[7], ipv6_addr_format(&src, sa),
           ipv6_addr_format(&dst, da));
    if (IPV6_HDR_LEN + (size_t)ld16(p + 4) < len)
        len = IPV6_HDR_LEN + ld16(p + 4); /* what follows is link padding */
    uint8_t next = p[6];
    size_t off = IPV6_HDR_LEN;
    for (int n = 0; n < IPV6_EXT_MAX; n++) {
        if (next == IPV6_NH_HOPOPTS || next == IPV6_NH_ROUTING || next == IPV6_NH_DSTOPTS) {
            if (len < off + 8)
                break;
            size_t hl = ((size_t)p[off + 1] + 1) * 8;
            tracef(s, "  ipv6 ext: %s, len=%zu, next=%u",
                   next == IPV6_NH_HOPOPTS   ? "hop-by-hop"
                   : next == IPV6_NH_ROUTING ? "routing"
                                             : "destination options",
                   hl, p[off]);
            next = p[off];
            off += hl;
        } else if (next == IPV6_NH_FRAGMENT) {
            if (len < off + 8)
                break;
            uint16_t fo = ld16(p + off + 2);
            tracef(s, "  ipv6 ext: fragment, offset=%u, more=%u, id=0x%08x, next=%u",
                   (fo & 0xfff8u), fo & 1u, ld32(p + off + 4), p[off]);
            if (fo & 0xfff8u)
                return; /* not the first: no upper-layer header here */
            next = p[off];
            off += 8;
        } else {
            break;
        }
    }
    if (off <= len)
        dump_l4(s, next, p + off, len - off);
}

void dump_frame(struct ust_stack *s, const char *dir, const struct ust_device *d,
                const uint8_t *frame, size_t len)
{
    if (ust_stack_log_level(s) < UST_LOG_TRACE)
        return;
    tracef(s, "%s dev=%s, len=%zu", dir, d->name, len);
    if (d->type == UST_DEV_LOOPBACK) {
        if (len && (frame[0] >> 4) == 6)
            dump_ipv6(s, frame, len);
        else
            dump_ipv4(s, frame, len);
        return;
    }
    if (len < ETH_HDR_LEN) {
        tracef(s, "  ether: truncated");
        return;
    }
    char a[18], b[18];
    uint16_t type = ld16(frame + 12);
    tracef(s, "  ether: dst=%s, src=%s, type=0x%04x", eth_format(frame, a),
           eth_format(frame + 6, b), type);
    const uint8_t *p = frame + ETH_HDR_LEN;
    size_t plen = len - ETH_HDR_LEN;
    if (type == ETH_TYPE_ARP) {
        struct arp_repr r;
        char sa[UST_IP4_STRLEN], ta[UST_IP4_STRLEN];
        if (arp_parse(p, plen, &r) == WIRE_OK)
            tracef(s, "  arp: op=%u, sha=%s, spa=%s, tha=%s, tpa=%s", r.op, eth_format(r.sha, a),
                   ust_ip4_format(r.spa, sa), eth_format(r.tha, b), ust_ip4_format(r.tpa, ta));
        else
            tracef(s, "  arp: malformed");
    } else if (type == ETH_TYPE_IPV4) {
        dump_ipv4(s, p, plen);
    } else if (type == ETH_TYPE_IPV6) {
        dump_ipv6(s, p, plen);
    }
}
