/* The DNS stub resolver's state and its seam for tests. */
#ifndef USTACK_RUNTIME_RESOLVER_H
#define USTACK_RUNTIME_RESOLVER_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/rng.h"
#include "core/stack_priv.h"

#define DNS_CACHE_SIZE 64  /* answers kept (a name and a type each) */
#define DNS_CACHE_ADDRS 8  /* addresses kept per answer */
#define DNS_MAX_CNAMES 8   /* CNAME links followed, within and across replies */
#define DNS_MAX_REPLY 4096 /* bytes read of a reply (UDP or TCP) */

/* How queries reach a server: the socket API by default; tests put a fake
 * server here (the edge's seam, see docs/DESIGN.md). Each returns the
 * reply's length, or -errno (-ETIMEDOUT when no reply came in time).
 * udp: one datagram exchange from a fresh socket (random port); replies
 * from another address or port, or with another id, are skipped until
 * the timeout. tcp: one exchange over a connection (RFC 1035 4.2.2 framing
 * is the transport's business). now: the clock for the cache. */
struct dns_transport {
    ssize_t (*udp)(void *ctx, struct ust_stack *s, ust_ip4_t server, const uint8_t *q, size_t qlen,
                   uint8_t *reply, size_t cap, ust_time_t timeout);
    ssize_t (*tcp)(void *ctx, struct ust_stack *s, ust_ip4_t server, const uint8_t *q, size_t qlen,
                   uint8_t *reply, size_t cap, ust_time_t timeout);
    ust_time_t (*now)(void *ctx);
    void *ctx;
};

struct dns_cache_entry {
    char name[256]; /* the name asked for, lower case, no final dot */
    uint16_t type;  /* 1 (A) or 28 (AAAA) */
    bool negative;  /* NXDOMAIN or no data */
    ust_time_t expires;
    ust_time_t used;
    unsigned naddr;
    uint8_t addr[DNS_CACHE_ADDRS][16];
};

struct dns_resolver {
    pthread_mutex_t mu; /* the cache and the generator: apps call from any thread */
    struct rng rng;
    struct dns_transport tr;
    ust_time_t timeout; /* per try; default 1 s, doubling per round */
    unsigned attempts;  /* rounds over the servers; default 2 */
    struct dns_cache_entry cache[DNS_CACHE_SIZE];
};

/* Frees the resolver (at stack destroy). */
void dns_resolver_fini(struct ust_stack *s);
/* For tests: replaces the transport (NULL: back to the socket API) and the
 * try timeout and rounds (0: keep). Makes the resolver if needed. 0 or -ENOMEM. */
int dns_resolver_set_transport(struct ust_stack *s, const struct dns_transport *tr,
                               ust_time_t timeout, unsigned attempts);

#endif
