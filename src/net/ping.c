/* Ping endpoints: ICMP and ICMPv6 echo from the application's side (the
 * ust_ping_* calls of ustack/stack.h). Replies of either family are
 * matched to an endpoint by their identifier and queued until the
 * application polls for them. */
#include "net/ping.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/ip.h"
#include "net/ipv4.h"
#include "net/ipv6.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

#define PING_IDX_BITS 3
_Static_assert((1 << PING_IDX_BITS) == UST_MAX_PING, "handle encoding");

int ping_init(struct ust_stack *s)
{
    s->ping = calloc(1, sizeof(*s->ping));
    return s->ping ? 0 : -ENOMEM;
}

static struct ping_ep *ep_get(struct ust_stack *s, int h)
{
    if (h < 0)
        return NULL;
    struct ping_ep *ep = &s->ping->ep[h & (UST_MAX_PING - 1)];
    if (!ep->used || (ep->gen & 0xfffffu) != ((unsigned)h >> PING_IDX_BITS))
        return NULL;
    return ep;
}

static bool id_in_use(const struct ust_stack *s, uint16_t id)
{
    for (int i = 0; i < UST_MAX_PING; i++)
        if (s->ping->ep[i].used && s->ping->ep[i].id == id)
            return true;
    return false;
}

int ust_ping_open(struct ust_stack *s, uint16_t id)
{
    if (id == 0) {
        for (int tries = 0; tries < 64 && (id == 0 || id_in_use(s, id)); tries++)
            id = (uint16_t)rng_below(&s->rng, 65536);
        if (id == 0 || id_in_use(s, id))
            return -EADDRINUSE;
    } else if (id_in_use(s, id)) {
        return -EADDRINUSE;
    }
    for (int i = 0; i < UST_MAX_PING; i++) {
        struct ping_ep *ep = &s->ping->ep[i];
        if (ep->used)
            continue;
        uint32_t gen = ep->gen;
        memset(ep, 0, sizeof(*ep));
        ep->gen = gen;
        ep->used = true;
        ep->id = id;
        return (int)(((ep->gen & 0xfffffu) << PING_IDX_BITS) | (unsigned)i);
    }
    return -ENOSPC;
}

int ust_ping_id(struct ust_stack *s, int handle)
{
    struct ping_ep *ep = ep_get(s, handle);
    return ep ? ep->id : -EBADF;
}

int ust_ping_send(struct ust_stack *s, int handle, ust_ip4_t dst, uint16_t seq, const void *data,
                  size_t len, ust_time_t now)
{
    struct ping_ep *ep = ep_get(s, handle);
    if (!ep)
        return -EBADF;
    if (len > IPV4_MAX_LEN - IPV4_HDR_LEN - ICMP_HDR_LEN)
        return -EMSGSIZE;
    if (len && !data)
        return -EINVAL;
    if (now > s->now)
        s->now = now;
    struct pkbuf *p = pkb_alloc(s, ICMP_HDR_LEN + len);
    if (!p)
        return -ENOBUFS;
    struct icmp_repr r = {.type = ICMP_ECHO_REQUEST,
                          .rest = ((uint32_t)ep->id << 16) | seq,
                          .payload = data,
                          .payload_len = len};
    icmp_emit(&r, pkb_data(p));
    s->stats.icmp.tx++;
    s->stats.icmp.tx_echo_request++;
    return ipv4_output(s, p, IPV4_PROTO_ICMP, 0, dst, 0, false, 0);
}

int ust_ping_send6(struct ust_stack *s, int handle, const struct in6_addr *dst, uint16_t seq,
                   const void *data, size_t len, ust_time_t now)
{
    if (!dst)
        return -EINVAL;
    struct ipaddr d;
    memcpy(d.b, dst->s6_addr, 16);
    if (ipaddr_is_v4(&d))
        return ust_ping_send(s, handle, ipaddr_to_v4(&d), seq, data, len, now);
    struct ping_ep *ep = ep_get(s, handle);
    if (!ep)
        return -EBADF;
    if (len > IPV6_MAX_PAYLOAD - ICMPV6_HDR_LEN)
        return -EMSGSIZE;
    if ((len && !data) || ipaddr_is_any(&d))
        return -EINVAL;
    if (now > s->now)
        s->now = now;
    /* The checksum covers the source: choose it now (RFC 6724). */
    struct ipaddr src;
    if (!ip_source_for(s, &d, 0, &src))
        return -ENETUNREACH;
    struct ipv6_addr s6 = ipaddr_to6(&src), d6 = ipaddr_to6(&d);
    struct pkbuf *p = pkb_alloc(s, ICMPV6_HDR_LEN + len);
    if (!p)
        return -ENOBUFS;
    struct icmpv6_repr r = {.type = ICMPV6_ECHO_REQUEST,
                            .rest = ((uint32_t)ep->id << 16) | seq,
                            .payload = data,
                            .payload_len = len};
    icmpv6_emit(&r, &s6, &d6, pkb_data(p));
    s->stats.icmp6.tx++;
    s->stats.icmp6.tx_echo_request++;
    return ipv6_output(s, p, IPV6_NH_ICMPV6, &s6, &d6, 0, -1);
}

/* Queues reply r for the endpoint with its identifier, or counts why not
 * (the family's counters). */
static void enqueue(struct ust_stack *s, const struct ust_ping_reply *r, const uint8_t *payload,
                    uint64_t *no_listener, uint64_t *queue_full)
{
    struct ping_ep *ep = NULL;
    for (int i = 0; i < UST_MAX_PING; i++)
        if (s->ping->ep[i].used && s->ping->ep[i].id == r->id)
            ep = &s->ping->ep[i];
    if (!ep) {
        (*no_listener)++;
        return;
    }
    if (ep->count == UST_PING_QUEUE) {
        (*queue_full)++;
        return;
    }
    struct pkbuf *p = NULL;
    if (r->len) {
        p = pkb_alloc(s, r->len);
        if (!p) {
            (*queue_full)++;
            return;
        }
        memcpy(pkb_data(p), payload, r->len);
    }
    struct ping_reply_slot *slot = &ep->q[(ep->head + ep->count) % UST_PING_QUEUE];
    slot->payload = p;
    slot->r = *r;
    ep->count++;
}

void ping_deliver(struct ust_stack *s, const struct ipv4_repr *ip, const struct icmp_repr *m)
{
    struct ipaddr mapped = ipaddr_v4(ip->src);
    struct ust_ping_reply r = {.family = AF_INET,
                               .from = ip->src,
                               .id = (uint16_t)(m->rest >> 16),
                               .seq = (uint16_t)m->rest,
                               .ttl = ip->ttl,
                               .len = m->payload_len,
                               .received = s->now};
    memcpy(r.from6.s6_addr, mapped.b, 16);
    enqueue(s, &r, m->payload, &s->stats.icmp.drop_no_listener, &s->stats.icmp.drop_queue_full);
}

void ping_deliver6(struct ust_stack *s, const struct ip_meta *m, const struct icmpv6_repr *e)
{
    struct ust_ping_reply r = {.family = AF_INET6,
                               .id = (uint16_t)(e->rest >> 16),
                               .seq = (uint16_t)e->rest,
                               .ttl = m->v6 ? m->v6->hop_limit : 0,
                               .len = e->payload_len,
                               .received = s->now};
    memcpy(r.from6.s6_addr, m->src.b, 16);
    enqueue(s, &r, e->payload, &s->stats.icmp6.drop_no_listener, &s->stats.icmp6.drop_queue_full);
}

int ust_ping_recv(struct ust_stack *s, int handle, struct ust_ping_reply *r, void *buf, size_t cap)
{
    struct ping_ep *ep = ep_get(s, handle);
    if (!ep)
        return -EBADF;
    if (ep->count == 0)
        return -EAGAIN;
    struct ping_reply_slot *slot = &ep->q[ep->head];
    if (r)
        *r = slot->r;
    if (buf && slot->payload)
        memcpy(buf, pkb_data(slot->payload), cap < slot->r.len ? cap : slot->r.len);
    pkb_free(s, slot->payload);
    slot->payload = NULL;
    ep->head = (ep->head + 1) % UST_PING_QUEUE;
    ep->count--;
    return 0;
}

static void ep_clear(struct ust_stack *s, struct ping_ep *ep)
{
    while (ep->count) {
        pkb_free(s, ep->q[ep->head].payload);
        ep->q[ep->head].payload = NULL;
        ep->head = (ep->head + 1) % UST_PING_QUEUE;
        ep->count--;
    }
}

int ust_ping_close(struct ust_stack *s, int handle)
{
    struct ping_ep *ep = ep_get(s, handle);
    if (!ep)
        return -EBADF;
    ep_clear(s, ep);
    ep->used = false;
    ep->gen++;
    return 0;
}

void ping_fini(struct ust_stack *s)
{
    if (!s->ping)
        return;
    for (int i = 0; i < UST_MAX_PING; i++)
        if (s->ping->ep[i].used)
            ep_clear(s, &s->ping->ep[i]);
    free(s->ping);
    s->ping = NULL;
}
