/* struct ipaddr: an IP address of either family, as the transports keep it.
 *
 * Sixteen bytes in network order: an IPv6 address, or an IPv4 address in
 * its IPv4-mapped form ::ffff:a.b.c.d (RFC 4291 2.5.5.2). One type lets a
 * socket, a connection and a hash key hold either family, and lets an IPv6
 * socket talk to an IPv4 peer exactly as Linux's dual-stack sockets do;
 * ipaddr_is_v4() tells the families apart where it matters (which network
 * layer sends, which pseudo-header sums).
 *
 * The unspecified address ("any") is :: for IPv6 and ::ffff:0.0.0.0 for
 * IPv4; ipaddr_is_any() is true for both. Everything here is inline and
 * depends on nothing but its arguments. */
#ifndef USTACK_CORE_IPADDR_H
#define USTACK_CORE_IPADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ustack/stack.h"

struct ipaddr {
    uint8_t b[16];
};

/* ::ffff:a.b.c.d for a host-order IPv4 address. */
static inline struct ipaddr ipaddr_v4(ust_ip4_t a)
{
    struct ipaddr r = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (uint8_t)(a >> 24),
                        (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a}};
    return r;
}

static inline bool ipaddr_is_v4(const struct ipaddr *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, mapped, sizeof(mapped)) == 0;
}

/* The IPv4 address inside an IPv4-mapped one, in host order. */
static inline ust_ip4_t ipaddr_to_v4(const struct ipaddr *a)
{
    return (ust_ip4_t)a->b[12] << 24 | (ust_ip4_t)a->b[13] << 16 | (ust_ip4_t)a->b[14] << 8 |
           a->b[15];
}

static inline bool ipaddr_eq(const struct ipaddr *a, const struct ipaddr *b)
{
    return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

/* :: or ::ffff:0.0.0.0, the unspecified address of either family. */
static inline bool ipaddr_is_any(const struct ipaddr *a)
{
    static const uint8_t zero[10] = {0};
    if (memcmp(a->b, zero, sizeof(zero)) != 0)
        return false;
    if (!((a->b[10] == 0 && a->b[11] == 0) || (a->b[10] == 0xff && a->b[11] == 0xff)))
        return false;
    return a->b[12] == 0 && a->b[13] == 0 && a->b[14] == 0 && a->b[15] == 0;
}

/* 224.0.0.0/4 or ff00::/8 (RFC 4291 2.7). */
static inline bool ipaddr_is_multicast(const struct ipaddr *a)
{
    return ipaddr_is_v4(a) ? (a->b[12] >> 4) == 0xe : a->b[0] == 0xff;
}

/* The four 32-bit words xor-ed: a cheap input for hashing. */
static inline uint32_t ipaddr_fold(const struct ipaddr *a)
{
    uint32_t w[4];
    memcpy(w, a->b, sizeof(w));
    return w[0] ^ w[1] ^ w[2] ^ w[3];
}

/* Long enough for any address ipaddr_format writes. */
#define IPADDR_STRLEN 46

/* Dotted quad for an IPv4-mapped address, RFC 5952 text for IPv6. */
char *ipaddr_format(const struct ipaddr *a, char buf[IPADDR_STRLEN]);

#endif
