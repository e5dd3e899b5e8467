#include "wire/icmp_error.h"

#include <errno.h>

#include "wire/bytes.h"
#include <string.h>

#include "wire/icmp.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"

int icmp_quote_parse(const uint8_t *buf, size_t len, struct icmp_quote *q)
{
    if (len < IPV4_HDR_LEN)
        return WIRE_ETRUNC;
    if ((buf[0] >> 4) != 4)
        return WIRE_EVERSION;
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    if (hl < IPV4_HDR_LEN || hl > len)
        return WIRE_EHDRLEN;
    if (len - hl < ICMP_QUOTE_L4_LEN)
        return WIRE_ETRUNC;
    q->version = 4;
    q->proto = buf[9];
    q->addr.v4.src = ld32(buf + 12);
    q->addr.v4.dst = ld32(buf + 16);
    q->l4 = buf + hl;
    q->l4_len = len - hl;
    q->sport = ld16(q->l4);
    q->dport = ld16(q->l4 + 2);
    return WIRE_OK;
}

int icmp_quote_parse6(const uint8_t *buf, size_t len, struct icmp_quote *q)
{
    if (len < IPV6_HDR_LEN)
        return WIRE_ETRUNC;
    if ((buf[0] >> 4) != 6)
        return WIRE_EVERSION;
    uint8_t nh = buf[IPV6_OFF_NEXT_HDR];
    size_t off = IPV6_HDR_LEN;
    for (unsigned n = 0;; n++) {
        if (nh != IPV6_NH_HOPOPTS && nh != IPV6_NH_DSTOPTS && nh != IPV6_NH_ROUTING &&
            nh != IPV6_NH_FRAGMENT)
            break;
        if (n == IPV6_EXT_MAX)
            return WIRE_EUNSUPP;
        if (len - off < 8)
            return WIRE_ETRUNC;
        size_t hlen = IPV6_FRAG_HDR_LEN;
        if (nh == IPV6_NH_FRAGMENT) {
            if ((ld16(buf + off + 2) & 0xfff8) != 0)
                return WIRE_EUNSUPP;
        } else {
            hlen = ((size_t)buf[off + 1] + 1) * 8;
            if (hlen > len - off)
                return WIRE_ETRUNC;
        }
        nh = buf[off];
        off += hlen;
    }
    if (len - off < ICMP_QUOTE_L4_LEN)
        return WIRE_ETRUNC;
    q->version = 6;
    q->proto = nh;
    memcpy(q->addr.v6.src, buf + 8, 16);
    memcpy(q->addr.v6.dst, buf + 24, 16);
    q->l4 = buf + off;
    q->l4_len = len - off;
    q->sport = ld16(q->l4);
    q->dport = ld16(q->l4 + 2);
    return WIRE_OK;
}

#define ANY_CODE (-1)

/* Read top to bottom; the first row whose type matches and whose code
 * matches (or is ANY_CODE) wins.
 *
 * Every error has an errno because RFC 1122 4.1.3.3 has UDP pass every
 * ICMP error up to the application. "hard" decides what TCP does in
 * SYN-SENT: RFC 1122 4.2.3.9 calls Destination Unreachable codes 2-4 hard
 * and codes 0, 1, 5, Time Exceeded and Parameter Problem soft; as many
 * stacks do (RFC 5461 describes the practice), we also end a connection
 * attempt on the soft unreachables, so that connect() fails at once
 * instead of after every SYN retransmission. Once a connection is
 * synchronized TCP treats every error as soft (RFC 5927 5.2). */
static const struct {
    uint8_t type;
    int16_t code; /* ANY_CODE: every code not named above it */
    struct icmp_err_class c;
} err_table[] = {
    {ICMP_DEST_UNREACH, ICMP_NET_UNREACH, {ENETUNREACH, true}},
    {ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, {EHOSTUNREACH, true}},
    {ICMP_DEST_UNREACH, ICMP_PROTO_UNREACH, {ENOPROTOOPT, true}},
    {ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, {ECONNREFUSED, true}},
    /* Hard in RFC 1122 4.2.3.9, but it is path MTU discovery's signal
     * (RFC 1191), and we never set DF: one quoting our datagram is forged
     * or stale (RFC 5927 7), and no connection ends over it. */
    {ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, {EMSGSIZE, false}},
    /* Source route failed (5) and the codes RFC 1812 5.2.7.1 added
     * (unknown, isolated, administratively prohibited, ...). */
    {ICMP_DEST_UNREACH, ANY_CODE, {EHOSTUNREACH, true}},
    /* RFC 6633 deprecates source quench (hosts ignore it); UDP reports it
     * all the same, as it reports a redirect, which RFC 1122 3.2.2.2 meant
     * for the routing table. */
    {ICMP_SOURCE_QUENCH, ANY_CODE, {EHOSTUNREACH, false}},
    {ICMP_REDIRECT, ANY_CODE, {EHOSTUNREACH, false}},
    {ICMP_TIME_EXCEEDED, ANY_CODE, {EHOSTUNREACH, false}},
    {ICMP_PARAM_PROBLEM, ANY_CODE, {EHOSTUNREACH, false}},
};

const struct icmp_err_class *icmp_err_classify(uint8_t type, uint8_t code)
{
    for (size_t i = 0; i < sizeof(err_table) / sizeof(err_table[0]); i++)
        if (err_table[i].type == type &&
            (err_table[i].code == ANY_CODE || err_table[i].code == code))
            return &err_table[i].c;
    return NULL;
}

/* ICMPv6 (RFC 4443 3), read as the ICMPv4 table above is: Destination
 * Unreachable ends a connection attempt whatever its code (as ICMPv4's
 * does here); "administratively prohibited", the policy failure and the
 * reject route (codes 1, 5, 6) say EACCES, which is what they mean. Packet
 * Too Big is path MTU discovery's (RFC 8201) and never ends anything.
 * Parameter Problem code 1 (unrecognised Next Header) is ICMPv4's protocol
 * unreachable (RFC 4443 3.4); its other codes say our packet was malformed
 * (EPROTO), soft. */
static const struct {
    uint8_t type;
    int16_t code;
    struct icmp_err_class c;
} err6_table[] = {
    {ICMPV6_DEST_UNREACH, ICMPV6_DU_NO_ROUTE, {ENETUNREACH, true}},
    {ICMPV6_DEST_UNREACH, ICMPV6_DU_ADMIN, {EACCES, true}},
    {ICMPV6_DEST_UNREACH, ICMPV6_DU_PORT, {ECONNREFUSED, true}},
    {ICMPV6_DEST_UNREACH, ICMPV6_DU_POLICY, {EACCES, true}},
    {ICMPV6_DEST_UNREACH, ICMPV6_DU_REJECT_ROUTE, {EACCES, true}},
    /* beyond scope (2), address unreachable (3), codes yet unassigned */
    {ICMPV6_DEST_UNREACH, ANY_CODE, {EHOSTUNREACH, true}},
    {ICMPV6_PACKET_TOO_BIG, ANY_CODE, {EMSGSIZE, false}},
    {ICMPV6_TIME_EXCEEDED, ANY_CODE, {EHOSTUNREACH, false}},
    {ICMPV6_PARAM_PROBLEM, ICMPV6_PP_NEXT_HDR, {ENOPROTOOPT, true}},
    {ICMPV6_PARAM_PROBLEM, ANY_CODE, {EPROTO, false}},
};

const struct icmp_err_class *icmpv6_err_classify(uint8_t type, uint8_t code)
{
    for (size_t i = 0; i < sizeof(err6_table) / sizeof(err6_table[0]); i++)
        if (err6_table[i].type == type &&
            (err6_table[i].code == ANY_CODE || err6_table[i].code == code))
            return &err6_table[i].c;
    /* RFC 4443 2.4 (d): an error of a type we do not know still goes to
     * the socket whose packet it quotes. */
    static const struct icmp_err_class unknown = {EPROTO, false};
    return icmpv6_is_error(type) ? &unknown : NULL;
}
