/* ICMPv6 (RFC 4443) for a host: echo, errors in and out (rate limited,
 * never about an error or, with RFC 4443 2.4 (e)'s exceptions, about a
 * multicast packet), Packet Too Big into the path-MTU cache (RFC 8201),
 * and dispatch of neighbour discovery (nd.c) and MLD queries (addrconf.c).
 * The message formats are wire/icmpv6.c's. */
#ifndef USTACK_NET_ICMPV6_H
#define USTACK_NET_ICMPV6_H

#include "core/stack_priv.h"
#include "net/ip.h"
#include "wire/ipv6.h"

/* An ICMPv6 message msg/len that came in the packet m describes. */
void icmpv6_input(struct ust_stack *s, const struct ip_meta *m, const uint8_t *msg, size_t len);

/* An error of type/code (rest: the pointer of a Parameter Problem, the
 * MTU of a Packet Too Big) about the packet m describes, quoting as much
 * of it as fits in 1280 bytes, if RFC 4443 2.4 (e) and the rate limits
 * allow. opt_action: for Parameter Problem code 2, what the option asked. */
void icmpv6_send_error(struct ust_stack *s, const struct ip_meta *m, uint8_t type, uint8_t code,
                       uint32_t rest, enum ipv6_opt_action opt_action);

#endif
