/* ustack's DNS stub resolver (RFC 1035, AAAA of RFC 3596), with the
 * semantics of getaddrinfo(3): the names come from the servers a DHCP
 * lease brings or ust_dns_set_servers() sets. */
#ifndef USTACK_DNS_H
#define USTACK_DNS_H

#include <netdb.h>

#include "ustack/stack.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Sets the servers to ask, in order (at most 3; n 0 clears them and lets
 * DHCP set them again). Once set, DHCP leases leave them alone.
 * 0, -EINVAL (n > 3, or an address that cannot be a server). */
int ust_dns_set_servers(struct ust_stack *s, const ust_ip4_t *servers, unsigned n);
/* Copies up to cap servers; returns how many there are. */
unsigned ust_dns_servers(struct ust_stack *s, ust_ip4_t *out, unsigned cap);

/* getaddrinfo(3) over the stack: node is a host name or a numeric
 * address (IPv4 dotted quad, IPv6 text), service a port number or NULL.
 * hints may set ai_family (AF_UNSPEC: A then AAAA; AF_INET; AF_INET6),
 * ai_socktype (0: one result each for SOCK_STREAM and SOCK_DGRAM),
 * ai_protocol, and ai_flags AI_PASSIVE, AI_NUMERICHOST, AI_NUMERICSERV,
 * AI_CANONNAME. AAAA answers come back as sockaddr_in6 (the stack itself
 * may not speak IPv6). Names are asked over UDP from a random port with a
 * random id, each server in turn (1 s, then 2 s, then 4 s for each), over
 * TCP when a reply is truncated; CNAME chains are followed up to 8 links;
 * answers are cached for their TTL (at most 1 hour). Blocks the calling
 * thread (with a runtime; without one it drives the stack itself).
 * Returns 0 or an EAI_* code (gai_strerror() names it): EAI_NONAME (no
 * such name, or not numeric with AI_NUMERICHOST), EAI_NODATA (the name has
 * no address of the family), EAI_AGAIN (no server answered, or none is
 * configured), EAI_FAIL, EAI_SERVICE, EAI_FAMILY, EAI_SOCKTYPE,
 * EAI_BADFLAGS, EAI_MEMORY. */
int ust_getaddrinfo(struct ust_stack *s, const char *node, const char *service,
                    const struct addrinfo *hints, struct addrinfo **res);
void ust_freeaddrinfo(struct addrinfo *res);

#ifdef __cplusplus
}
#endif
#endif
