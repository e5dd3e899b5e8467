/* IPv6 routing and the path-MTU cache (net/route6.h). */
#include "net/route6.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/siphash.h"
#include "net/ipv6.h"
#include "net/netif.h"

/* Slots a path MTU may take, from its hash on: a lookup compares at most
 * this many entries. */
#define PMTU_WAYS 8

int route6_init(struct ust_stack *s)
{
    unsigned n = s->cfg.pmtu_cache_size ? s->cfg.pmtu_cache_size : 1;
    s->routes6 = calloc(1, sizeof(*s->routes6) + n * sizeof(struct pmtu_entry));
    if (!s->routes6)
        return -ENOMEM;
    s->routes6->npmtu = n;
    s->routes6->next = UST_TIME_NEVER;
    for (size_t i = 0; i < sizeof(s->routes6->pmtu_key); i += 8) {
        uint64_t r = rng_next(&s->rng);
        memcpy(s->routes6->pmtu_key + i, &r, 8);
    }
    return 0;
}

void route6_changed(struct ust_stack *s) { s->routes6->gen++; }

void route6_fini(struct ust_stack *s)
{
    free(s->routes6);
    s->routes6 = NULL;
}

static bool same(const struct route6 *r, const struct ipv6_addr *prefix, unsigned plen,
                 const struct ipv6_addr *gw, int dev)
{
    return r->used && r->plen == plen && r->dev == dev && ipv6_addr_eq(&r->prefix, prefix) &&
           (!gw || ipv6_addr_eq(&r->gateway, gw));
}

int route6_add(struct ust_stack *s, const struct ipv6_addr *prefix, unsigned plen,
               const struct ipv6_addr *gw, int dev, enum route6_origin origin, ust_time_t expires)
{
    struct route6_table *t = s->routes6;
    struct route6 *free_slot = NULL;
    unsigned learned = 0;
    t->gen++;
    for (unsigned i = 0; i < ROUTE6_MAX; i++) {
        struct route6 *r = &t->at[i];
        if (same(r, prefix, plen, gw, dev)) {
            r->expires = expires; /* a refresh (RFC 4861 6.3.4: lifetimes reset) */
            if (expires < t->next)
                t->next = expires;
            return 0;
        }
        if (!r->used && !free_slot)
            free_slot = r;
        if (r->used && (r->origin == RT6_RA_PREFIX || r->origin == RT6_RA_ROUTER))
            learned++;
    }
    /* What routers advertise may take half the table: a flood of RAs
     * (they need only be link-local) cannot push configured routes out. */
    bool from_ra = origin == RT6_RA_PREFIX || origin == RT6_RA_ROUTER;
    if (!free_slot || (from_ra && learned >= ROUTE6_MAX / 2)) {
        s->stats.nd.prefixes_ignored++;
        return -ENOSPC;
    }
    *free_slot = (struct route6){.used = true,
                                 .origin = (uint8_t)origin,
                                 .plen = (uint8_t)plen,
                                 .dev = dev,
                                 .prefix = *prefix,
                                 .gateway = gw ? *gw : ipv6_addr_any,
                                 .expires = expires};
    if (expires < t->next)
        t->next = expires;
    char p[IPV6_ADDR_STRLEN], g[IPV6_ADDR_STRLEN];
    ust_log_at(s, from_ra ? UST_LOG_DEBUG : UST_LOG_INFO, "route=%s/%u, gateway=%s, dev=%s%s",
               ipv6_addr_format(prefix, p), plen,
               gw && !ipv6_addr_is_unspecified(gw) ? ipv6_addr_format(gw, g) : "direct",
               s->ifs->at[dev].dev->name, from_ra ? " (from a router)" : "");
    return 0;
}

void route6_del(struct ust_stack *s, const struct ipv6_addr *prefix, unsigned plen,
                const struct ipv6_addr *gw, int dev)
{
    s->routes6->gen++;
    for (unsigned i = 0; i < ROUTE6_MAX; i++)
        if (same(&s->routes6->at[i], prefix, plen, gw, dev))
            s->routes6->at[i].used = false;
}

void route6_router_gone(struct ust_stack *s, int dev, const struct ipv6_addr *router)
{
    s->routes6->gen++;
    for (unsigned i = 0; i < ROUTE6_MAX; i++) {
        struct route6 *r = &s->routes6->at[i];
        if (r->used && r->origin == RT6_RA_ROUTER && r->dev == dev &&
            ipv6_addr_eq(&r->gateway, router))
            r->used = false;
    }
}

static int first_v6_dev(const struct ust_stack *s)
{
    for (int i = 0; i < s->ifs->n; i++)
        if (s->ip6->dev[i].on && s->ifs->at[i].dev->type != UST_DEV_LOOPBACK)
            return i;
    return -1;
}

int route6_lookup(const struct ust_stack *s, const struct ipv6_addr *dst, int dev, int *out_dev,
                  struct ipv6_addr *next_hop)
{
    /* Link-scoped and multicast destinations: the link named (RFC 4007's
     * zone), or the only one. */
    if (ipv6_addr_is_link_local(dst) || ipv6_addr_is_multicast(dst)) {
        if (dev < 0 || dev >= s->ifs->n || !s->ip6->dev[dev].on)
            dev = first_v6_dev(s);
        if (dev < 0)
            return -ENETUNREACH;
        *out_dev = dev;
        *next_hop = *dst;
        return 0;
    }
    /* The answer of last time, if nothing has changed since. */
    struct route6_table *t = s->routes6;
    struct route6_hint *h = &t->hint;
    if (h->valid && h->gen == t->gen && s->now < t->next && ipv6_addr_eq(&h->dst, dst)) {
        *out_dev = h->out_dev;
        *next_hop = h->next_hop;
        return 0;
    }
    /* Longest prefix; among equals, the first (a configured route before
     * what routers said). */
    const struct route6 *best = NULL;
    for (unsigned i = 0; i < ROUTE6_MAX; i++) {
        const struct route6 *r = &t->at[i];
        if (!r->used || r->expires <= s->now || !s->ip6->dev[r->dev].on ||
            !ipv6_addr_in_prefix(dst, &r->prefix, r->plen))
            continue;
        if (!best || r->plen > best->plen)
            best = r;
    }
    if (!best)
        return -ENETUNREACH;
    *out_dev = best->dev;
    *next_hop = ipv6_addr_is_unspecified(&best->gateway) ? *dst : best->gateway;
    *h = (struct route6_hint){.valid = true,
                              .gen = t->gen,
                              .dst = *dst,
                              .out_dev = *out_dev,
                              .next_hop = *next_hop};
    return 0;
}

static unsigned pmtu_home(const struct route6_table *t, const struct ipv6_addr *dst)
{
    return (unsigned)(siphash24(t->pmtu_key, dst->a, sizeof(dst->a)) % t->npmtu);
}

uint32_t pmtu_get(const struct ust_stack *s, const struct ipv6_addr *dst, uint32_t link_mtu)
{
    const struct route6_table *t = s->routes6;
    if (s->now >= t->pmtu_latest)
        return link_mtu; /* nothing learned, or all of it forgotten */
    unsigned home = pmtu_home(t, dst), ways = t->npmtu < PMTU_WAYS ? t->npmtu : PMTU_WAYS;
    for (unsigned k = 0; k < ways; k++) {
        const struct pmtu_entry *e = &t->pmtu[(home + k) % t->npmtu];
        if (e->expires > s->now && ipv6_addr_eq(&e->dst, dst))
            return e->mtu < link_mtu ? e->mtu : link_mtu;
    }
    return link_mtu;
}

bool pmtu_update(struct ust_stack *s, const struct ipv6_addr *dst, uint32_t mtu)
{
    struct route6_table *t = s->routes6;
    if (mtu < IPV6_MIN_MTU)
        mtu = IPV6_MIN_MTU; /* RFC 8201 4: never below the minimum */
    unsigned home = pmtu_home(t, dst), ways = t->npmtu < PMTU_WAYS ? t->npmtu : PMTU_WAYS;
    struct pmtu_entry *e = NULL, *oldest = &t->pmtu[home];
    for (unsigned k = 0; k < ways; k++) {
        struct pmtu_entry *p = &t->pmtu[(home + k) % t->npmtu];
        if (p->expires > s->now && ipv6_addr_eq(&p->dst, dst)) {
            e = p;
            break;
        }
        if (p->expires < oldest->expires)
            oldest = p;
    }
    if (e && mtu >= e->mtu)
        return false; /* RFC 8201 4: a PTB never raises the estimate */
    if (!e) {
        /* The table is bounded: a flood of made-up PTBs replaces the entry
         * closest to expiry among the slots this destination may take (a
         * forged PTB can only lower one path to 1280, which is harmless,
         * and the keyed hash keeps a flood from aiming at one path's
         * slots). */
        if (oldest->expires > s->now)
            s->stats.nd.pmtu_replaced++;
        e = oldest;
        e->dst = *dst;
    }
    e->mtu = mtu;
    e->expires = s->now + s->cfg.pmtu_expiry;
    if (e->expires > t->pmtu_latest)
        t->pmtu_latest = e->expires;
    s->stats.nd.pmtu_learned++;
    char d[IPV6_ADDR_STRLEN];
    debugf(s, "dst=%s: path MTU %u", ipv6_addr_format(dst, d), mtu);
    return true;
}

void route6_timer(struct ust_stack *s, ust_time_t now)
{
    s->routes6->next = UST_TIME_NEVER;
    for (unsigned i = 0; i < ROUTE6_MAX; i++) {
        struct route6 *r = &s->routes6->at[i];
        if (r->used && r->expires <= now) {
            char p[IPV6_ADDR_STRLEN];
            debugf(s, "route=%s/%u expired", ipv6_addr_format(&r->prefix, p), r->plen);
            if (r->origin == RT6_RA_ROUTER)
                s->stats.nd.routers_expired++;
            r->used = false;
            s->routes6->gen++;
        } else if (r->used && r->expires < s->routes6->next) {
            s->routes6->next = r->expires;
        }
    }
}

ust_time_t route6_next_deadline(const struct ust_stack *s) { return s->routes6->next; }
