/* Trace-level frame dumps, in the spirit of microps' *_dump() helpers. */
#include "core/dump.h"

#include <stdio.h>

#include "core/log.h"
#include "ustack/stack.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

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
    if (p[9] == IPV4_PROTO_TCP && hl >= IPV4_HDR_LEN && len >= hl + 20 && !(ld16(p + 6) & 0x1fff)) {
        const uint8_t *t = p + hl;
        uint8_t f = t[13];
        tracef(s,
               "  tcp: sport=%u, dport=%u, seq=%u, ack=%u, off=%u, flags=%s%s%s%s%s%s, wnd=%u, "
               "sum=0x%04x, len=%zu",
               ld16(t), ld16(t + 2), ld32(t + 4), ld32(t + 8), (t[12] >> 4) * 4u,
               f & 0x02 ? "S" : "", f & 0x10 ? "A" : "", f & 0x08 ? "P" : "", f & 0x01 ? "F" : "",
               f & 0x04 ? "R" : "", f & 0x3f ? "" : "-", ld16(t + 14), ld16(t + 16),
               len - hl - (size_t)((t[12] >> 4) * 4u > len - hl ? 0 : (t[12] >> 4) * 4u));
    }
    if (p[9] == IPV4_PROTO_UDP && hl >= IPV4_HDR_LEN && len >= hl + 8 && !(ld16(p + 6) & 0x1fff)) {
        const uint8_t *u = p + hl;
        tracef(s, "  udp: sport=%u, dport=%u, len=%u, sum=0x%04x", ld16(u), ld16(u + 2),
               ld16(u + 4), ld16(u + 6));
    }
    if (p[9] == IPV4_PROTO_ICMP && hl >= IPV4_HDR_LEN && len >= hl + ICMP_HDR_LEN) {
        const uint8_t *m = p + hl;
        tracef(s, "  icmp: type=%u, code=%u, sum=0x%04x, id=%u, seq=%u, len=%zu", m[0], m[1],
               ld16(m + 2), ld16(m + 4), ld16(m + 6), len - hl);
    }
}

void dump_frame(struct ust_stack *s, const char *dir, const struct ust_device *d,
                const uint8_t *frame, size_t len)
{
    if (ust_stack_log_level(s) < UST_LOG_TRACE)
        return;
    tracef(s, "%s dev=%s, len=%zu", dir, d->name, len);
    if (d->type == UST_DEV_LOOPBACK) {
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
    }
}
