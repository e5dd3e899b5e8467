/* ICMP error messages (RFC 792, RFC 1122 3.2.2): the datagram an error
 * quotes, and what each (type, code) means to the socket that sent it.
 *
 * ICMP parses the quote once and hands both to the transport protocol the
 * quote names; UDP and TCP never see the ICMP message itself. ICMPv6
 * (RFC 4443 2.4, 3) quotes and classifies the same way (icmp_quote_parse6,
 * icmpv6_err_classify), so its errors reach the same handlers through
 * these two structs. */
#ifndef USTACK_WIRE_ICMP_ERROR_H
#define USTACK_WIRE_ICMP_ERROR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 792: an error carries the internet header of the datagram it is
 * about plus the first 64 bits of that datagram's data. RFC 1812 4.3.2.3
 * lets routers quote more; the rest is kept in l4/l4_len. */
#define ICMP_QUOTE_L4_LEN 8

struct icmp_quote {
    uint8_t version; /* IP version of the quoted datagram: 4, or 6 (ICMPv6) */
    uint8_t proto;   /* its (upper-layer) protocol: UDP, TCP, ... (same numbers) */
    /* Its addresses: ours is src, the peer's is dst. v4 in host order,
     * v6 in network order (struct ipv6_addr's layout). */
    union {
        struct {
            uint32_t src, dst;
        } v4;
        struct {
            uint8_t src[16], dst[16];
        } v6;
    } addr;
    uint16_t sport, dport; /* its first four bytes: the UDP and TCP ports */
    const uint8_t *l4;     /* its transport bytes, in the parsed buffer */
    size_t l4_len;         /* at least ICMP_QUOTE_L4_LEN */
};

/* Checks the quoted IPv4 header once, in the order of ipv4_parse(), and
 * fills q: WIRE_ETRUNC (fewer than 20 bytes, or fewer than 8 after the
 * header), WIRE_EVERSION (not 4), WIRE_EHDRLEN (IHL below 5 or beyond the
 * bytes quoted). Options are skipped. The quoted header's checksum and
 * total length are not checked: the datagram was ours, and the sender of
 * the error quoted it as it saw it. q->l4 points into buf. */
int icmp_quote_parse(const uint8_t *buf, size_t len, struct icmp_quote *q);

/* The same for the quote of an ICMPv6 error (RFC 4443 2.4 (c), 3): an
 * IPv6 header (WIRE_ETRUNC below 40 bytes, WIRE_EVERSION when not 6), its
 * extension headers (hop-by-hop, destination options, routing, fragment:
 * skipped by their lengths, options unread; WIRE_ETRUNC when one runs
 * past the quote, WIRE_EUNSUPP for a fragment other than the first, which
 * has no upper-layer header, or a chain longer than IPV6_EXT_MAX), then
 * the upper-layer header, of which at least 8 bytes (WIRE_ETRUNC). The
 * payload length is not checked: the quote is cut at 1280 bytes. */
int icmp_quote_parse6(const uint8_t *buf, size_t len, struct icmp_quote *q);

/* What an ICMP error means to the socket of the datagram it quotes. */
struct icmp_err_class {
    int err;   /* the errno to report (UDP's so_error; a connection attempt's end) */
    bool hard; /* ends a TCP connection attempt; soft errors never end a
                * connection (see the table in icmp_error.c) */
};

/* The class of an ICMP error, from a static table; NULL when type is not
 * an error message (icmp_is_error() is false). Never fails otherwise:
 * codes the table does not name get their type's default. */
const struct icmp_err_class *icmp_err_classify(uint8_t type, uint8_t code);
/* The same for an ICMPv6 error (RFC 4443 3); NULL for informational types
 * (128 and up). */
const struct icmp_err_class *icmpv6_err_classify(uint8_t type, uint8_t code);

#endif
