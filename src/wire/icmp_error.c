#include "wire/icmp_error.h"

#include <errno.h>

#include "wire/bytes.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

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
