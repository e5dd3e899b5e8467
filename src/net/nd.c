/* Neighbour discovery for hosts (RFC 4861), see net/nd.h.
 *
 * The cache follows RFC 4861 7.3.2's states:
 *
 *   (none) --we send--> INCOMPLETE --NA--> REACHABLE --ReachableTime--> STALE
 *   (none) --NS/RA/unsolicited NA with a link-layer address--> STALE
 *   STALE --we send--> DELAY --5 s--> PROBE --NA (solicited)--> REACHABLE
 *   INCOMPLETE / PROBE --no answer after nd_max_solicit--> (gone)
 *
 * Bounded as the ARP cache is (issue 11): a flood of solicitations from
 * made-up addresses may fill the free slots and displace entries nobody
 * uses, but never one a packet went through recently. */
#include "net/nd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/ethernet.h"
#include "net/ip.h"
#include "net/ipv6.h"
#include "net/route6.h"
#include "wire/ethernet.h"
#include "wire/icmpv6.h"

#define ND_DELAY_FIRST_PROBE (5 * UST_SEC) /* RFC 4861 10 */

const char *nd_state_name(enum nd_state st)
{
    static const char *const names[] = {"FREE",  "INCOMPLETE", "REACHABLE",
                                        "STALE", "DELAY",      "PROBE"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

static void draw_reachable(struct ust_stack *s)
{
    /* RFC 4861 6.3.2: uniformly between 0.5 and 1.5 times the base. */
    struct nd_table *t = s->nd;
    t->reachable = t->base_reachable / 2 +
                   rng_below(&s->rng, (uint32_t)(t->base_reachable / 1000) + 1) * 1000;
}

int nd_init(struct ust_stack *s)
{
    unsigned n = s->cfg.nd_cache_size ? s->cfg.nd_cache_size : 1;
    s->nd = calloc(1, sizeof(*s->nd) + n * sizeof(struct nd_entry));
    if (!s->nd)
        return -ENOMEM;
    s->nd->size = n;
    s->nd->base_reachable = s->cfg.nd_reachable_time;
    s->nd->retrans = s->cfg.nd_retrans_timer;
    s->nd->next = UST_TIME_NEVER;
    draw_reachable(s);
    return 0;
}

static void drop_pending(struct ust_stack *s, struct nd_entry *e)
{
    while (e->pending) {
        struct pkbuf *p = e->pending;
        e->pending = p->next;
        pkb_free(s, p);
        s->stats.nd.pending_dropped++;
    }
    e->pending_tail = NULL;
    e->npending = 0;
}

void nd_fini(struct ust_stack *s)
{
    if (!s->nd)
        return;
    for (unsigned i = 0; i < s->nd->size; i++)
        drop_pending(s, &s->nd->entry[i]);
    free(s->nd);
    s->nd = NULL;
}

static struct nd_entry *find(struct ust_stack *s, int dev, const struct ipv6_addr *ip)
{
    for (unsigned i = 0; i < s->nd->size; i++) {
        struct nd_entry *e = &s->nd->entry[i];
        if (e->state != ND_FREE && e->dev == dev && ipv6_addr_eq(&e->ip, ip))
            return e;
    }
    return NULL;
}

static bool in_use(const struct ust_stack *s, const struct nd_entry *e)
{
    return e->last_used && s->now < e->last_used + s->cfg.arp_in_use_time;
}

static void set_state(struct ust_stack *s, struct nd_entry *e, enum nd_state st, ust_time_t at)
{
    if (e->state != st) {
        char a[IPV6_ADDR_STRLEN];
        debugf(s, "neighbour %s: %s -> %s", ipv6_addr_format(&e->ip, a), nd_state_name(e->state),
               nd_state_name(st));
    }
    e->state = (uint8_t)st;
    e->at = at;
    if (at < s->nd->next)
        s->nd->next = at;
}

/* A slot for a new entry: a free one, else one nobody uses (STALE or
 * unanswered first), else, only for our own sends (ours), the least
 * recently used. NULL: the insert is refused. */
static struct nd_entry *slot_for(struct ust_stack *s, bool ours)
{
    struct nd_entry *victim = NULL;
    int vrank = 0;
    for (unsigned i = 0; i < s->nd->size; i++) {
        struct nd_entry *e = &s->nd->entry[i];
        if (e->state == ND_FREE)
            return e;
        int rank = in_use(s, e) ? (ours ? 1 : 0) : e->state == ND_INCOMPLETE ? 2 : 3;
        if (rank > vrank || (rank == vrank && victim && e->last_used < victim->last_used)) {
            victim = e;
            vrank = rank;
        }
    }
    if (!victim || vrank == 0) {
        s->stats.nd.insert_refused++;
        return NULL;
    }
    char a[IPV6_ADDR_STRLEN];
    debugf(s, "neighbour cache full, evicting %s (%s)", ipv6_addr_format(&victim->ip, a),
           nd_state_name(victim->state));
    s->stats.nd.cache_evict++;
    drop_pending(s, victim);
    victim->state = ND_FREE;
    return victim;
}

static struct nd_entry *create(struct ust_stack *s, int dev, const struct ipv6_addr *ip, bool ours)
{
    struct nd_entry *e = slot_for(s, ours);
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->dev = dev;
    e->ip = *ip;
    s->stats.nd.cache_add++;
    return e;
}

static void flush_pending(struct ust_stack *s, struct nd_entry *e)
{
    while (e->pending) {
        struct pkbuf *p = e->pending;
        e->pending = p->next;
        p->next = NULL;
        eth_output(s, e->dev, p, e->mac, ETH_TYPE_IPV6);
    }
    e->pending_tail = NULL;
    e->npending = 0;
}

/* ---- sending ---- */

static void send_nd(struct ust_stack *s, int dev, const struct nd_msg *m,
                    const struct ipv6_addr *src, const struct ipv6_addr *dst, const uint8_t *mac)
{
    struct pkbuf *p = pkb_alloc(s, 64);
    if (!p)
        return;
    size_t n = nd_emit(m, src, dst, pkb_data(p), p->len);
    if (n == 0) {
        pkb_free(s, p);
        return;
    }
    p->len = n;
    s->stats.icmp6.tx++;
    static const struct ip_tx nd_tx = {.hop_limit = ND_HOP_LIMIT}; /* RFC 4861 6.1 */
    ipv6_output_mac(s, p, IPV6_NH_ICMPV6, src, dst, &nd_tx, dev, mac);
}

/* dev's link-local address, usable (or, failing that, any of its own). */
static bool link_local_of(const struct ust_stack *s, int dev, struct ipv6_addr *out)
{
    return ipv6_select_source(s, dev, &ipv6_addr_all_nodes, out);
}

void nd_send_ns(struct ust_stack *s, int dev, const struct ipv6_addr *target,
                const struct ipv6_addr *dst, bool dad)
{
    struct nd_msg m = {.type = ICMPV6_NEIGHBOR_SOLICIT, .target = *target};
    struct ipv6_addr src = ipv6_addr_any, group;
    if (!dad) {
        if (!link_local_of(s, dev, &src))
            return;             /* no address yet: nothing may be asked (RFC 4861 7.2.2) */
        m.opts.has_slla = true; /* RFC 4861 7.2.2: SHOULD, unless from :: */
        memcpy(m.opts.slla, s->ifs->at[dev].dev->mac, 6);
    }
    if (!dst) {
        ipv6_solicited_node(target, &group);
        dst = &group;
    }
    s->stats.nd.tx_ns++;
    send_nd(s, dev, &m, &src, dst, NULL);
}

void nd_send_rs(struct ust_stack *s, int dev, const struct ipv6_addr *src)
{
    struct nd_msg m = {.type = ICMPV6_ROUTER_SOLICIT};
    if (!ipv6_addr_is_unspecified(src)) {
        m.opts.has_slla = true; /* RFC 4861 6.3.7: not from :: */
        memcpy(m.opts.slla, s->ifs->at[dev].dev->mac, 6);
    }
    s->stats.nd.tx_rs++;
    send_nd(s, dev, &m, src, &ipv6_addr_all_routers, NULL);
}

/* mac: the solicitor's, from its solicitation (NULL: resolve dst). */
static void send_na(struct ust_stack *s, int dev, const struct ipv6_addr *target,
                    const struct ipv6_addr *dst, bool solicited, const uint8_t *mac)
{
    /* RFC 4861 7.2.4: R clear (a host), S when answering a unicast
     * solicitation, O set (we own the address), with our MAC. */
    struct nd_msg m = {.type = ICMPV6_NEIGHBOR_ADVERT,
                       .target = *target,
                       .na_flags = (uint8_t)((solicited ? ND_NA_SOLICITED : 0) | ND_NA_OVERRIDE)};
    m.opts.has_tlla = true;
    memcpy(m.opts.tlla, s->ifs->at[dev].dev->mac, 6);
    s->stats.nd.tx_na++;
    send_nd(s, dev, &m, target, dst, mac);
}

/* ---- resolution ---- */

int nd_resolve(struct ust_stack *s, int dev, const struct ipv6_addr *ip, struct pkbuf *p,
               uint8_t mac[6])
{
    struct nd_entry *e = find(s, dev, ip);
    if (e && e->state != ND_INCOMPLETE) {
        e->last_used = s->now;
        if (e->state == ND_STALE) /* RFC 4861 7.3.3: the first packet starts NUD */
            set_state(s, e, ND_DELAY, s->now + ND_DELAY_FIRST_PROBE);
        memcpy(mac, e->mac, 6);
        return 0;
    }
    if (!e) {
        e = create(s, dev, ip, true);
        if (!e) {
            pkb_free(s, p);
            s->stats.nd.pending_dropped++;
            return -ENOBUFS;
        }
        e->last_used = s->now;
        set_state(s, e, ND_INCOMPLETE, s->now + s->nd->retrans);
        e->probes = 1;
        nd_send_ns(s, dev, ip, NULL, false);
    }
    if (e->npending >= s->cfg.nd_pending_max) {
        pkb_free(s, p);
        s->stats.nd.pending_dropped++;
        return -ENOBUFS;
    }
    p->next = NULL;
    if (e->pending_tail)
        e->pending_tail->next = p;
    else
        e->pending = p;
    e->pending_tail = p;
    e->npending++;
    s->stats.nd.pending_queued++;
    return 1;
}

/* A link-layer address learned from a message that was not an answer to
 * us (NS, RS, RA, unsolicited NA): RFC 4861 7.2.3 / 6.3.4 / 7.2.5 say
 * STALE when new or changed. */
static struct nd_entry *learn(struct ust_stack *s, int dev, const struct ipv6_addr *ip,
                              const uint8_t mac[6])
{
    struct nd_entry *e = find(s, dev, ip);
    if (!e) {
        e = create(s, dev, ip, false);
        if (!e)
            return NULL;
        memcpy(e->mac, mac, 6);
        set_state(s, e, ND_STALE, UST_TIME_NEVER);
        return e;
    }
    if (e->state == ND_INCOMPLETE) {
        memcpy(e->mac, mac, 6);
        set_state(s, e, ND_STALE, UST_TIME_NEVER);
        flush_pending(s, e);
    } else if (memcmp(e->mac, mac, 6) != 0) {
        memcpy(e->mac, mac, 6);
        set_state(s, e, ND_STALE, UST_TIME_NEVER);
    }
    return e;
}

/* ---- input ---- */

static void count_invalid(struct ust_stack *s, enum nd_err err)
{
    switch (err) {
    case ND_EHOPLIMIT: s->stats.nd.drop_hop_limit++; break;
    case ND_ECODE: s->stats.nd.drop_code++; break;
    case ND_ELEN: s->stats.nd.drop_len++; break;
    case ND_EOPTLEN:
    case ND_EOPTBAD: s->stats.nd.drop_opt++; break;
    case ND_ETARGET_MCAST: s->stats.nd.drop_target_mcast++; break;
    case ND_ESRC_NOT_LL: s->stats.nd.drop_src_not_ll++; break;
    case ND_EUNSPEC_SLLA: s->stats.nd.drop_unspec_slla++; break;
    case ND_EUNSPEC_DST: s->stats.nd.drop_unspec_dst++; break;
    case ND_ESOLICITED_MCAST: s->stats.nd.drop_solicited_mcast++; break;
    default: s->stats.nd.drop_redirect++; break;
    }
}

static void ns_input(struct ust_stack *s, int dev, const struct ipv6_repr *ip,
                     const struct nd_msg *m)
{
    s->stats.nd.rx_ns++;
    struct ip6_ifaddr *a = addrconf_find(s, &m->target);
    if (!a || a->dev != dev) {
        s->stats.nd.drop_not_ours++; /* RFC 4861 7.2.3: not a target of ours */
        return;
    }
    bool from_unspec = ipv6_addr_is_unspecified(&ip->src);
    if (a->state == IP6A_TENTATIVE) {
        /* RFC 4862 5.4.3: someone else probes the same address: a
         * duplicate (unless it is our own probe looped back: we never
         * hear our own frames on these devices). Anything else is
         * ignored while tentative. */
        if (from_unspec)
            addrconf_dad_failed(s, a);
        return;
    }
    if (from_unspec) {
        /* DAD of someone else for our address: answer to all-nodes (RFC
         * 4861 7.2.4), so it learns the address is taken. */
        send_na(s, dev, &m->target, &ipv6_addr_all_nodes, false, NULL);
        return;
    }
    /* RFC 4861 7.2.3: the solicitor goes into the cache (STALE), and the
     * answer goes straight to the MAC it gave: answering never takes a
     * cache slot (nor marks one in use), so a flood of solicitations from
     * made-up addresses cannot push out the neighbours we talk to. */
    if (m->opts.has_slla)
        learn(s, dev, &ip->src, m->opts.slla);
    send_na(s, dev, &m->target, &ip->src, true, m->opts.has_slla ? m->opts.slla : NULL);
}

static void na_input(struct ust_stack *s, int dev, const struct nd_msg *m)
{
    s->stats.nd.rx_na++;
    struct ip6_ifaddr *a = addrconf_find(s, &m->target);
    if (a) {
        /* RFC 4862 5.4.4: an advertisement for a tentative address is a
         * duplicate; for one in use, someone else claims it too. */
        char t[IPV6_ADDR_STRLEN];
        if (a->state == IP6A_TENTATIVE)
            addrconf_dad_failed(s, a);
        else
            warnf(s, "dev=%s: another host advertises our address %s", s->ifs->at[dev].dev->name,
                  ipv6_addr_format(&m->target, t));
        return;
    }
    struct nd_entry *e = find(s, dev, &m->target);
    if (!e) {
        s->stats.nd.drop_not_ours++; /* RFC 4861 7.2.5: no entry, no new one */
        return;
    }
    bool solicited = m->na_flags & ND_NA_SOLICITED, override = m->na_flags & ND_NA_OVERRIDE;
    bool was_router = e->router;
    if (e->state == ND_INCOMPLETE) {
        if (!m->opts.has_tlla)
            return;
        memcpy(e->mac, m->opts.tlla, 6);
        set_state(s, e, solicited ? ND_REACHABLE : ND_STALE,
                  solicited ? s->now + s->nd->reachable : UST_TIME_NEVER);
        e->router = m->na_flags & ND_NA_ROUTER;
        e->probes = 0;
        flush_pending(s, e);
    } else {
        bool changed = m->opts.has_tlla && memcmp(e->mac, m->opts.tlla, 6) != 0;
        if (!override && changed) {
            /* RFC 4861 7.2.5: keep the old address, but doubt it. */
            if (e->state == ND_REACHABLE)
                set_state(s, e, ND_STALE, UST_TIME_NEVER);
            return;
        }
        if (changed)
            memcpy(e->mac, m->opts.tlla, 6);
        if (solicited)
            set_state(s, e, ND_REACHABLE, s->now + s->nd->reachable);
        else if (changed)
            set_state(s, e, ND_STALE, UST_TIME_NEVER);
        e->router = m->na_flags & ND_NA_ROUTER;
        if (solicited)
            e->probes = 0;
    }
    if (was_router && !e->router)
        route6_router_gone(s, dev, &e->ip);
}

static ust_time_t seconds_from_now(const struct ust_stack *s, uint32_t secs)
{
    return secs == 0xffffffffu ? UST_TIME_NEVER : s->now + (ust_time_t)secs * UST_SEC;
}

static void ra_input(struct ust_stack *s, int dev, const struct ipv6_repr *ip,
                     const struct nd_msg *m)
{
    s->stats.nd.rx_ra++;
    s->stats.nd.ra_taken++;
    struct ip6_if *ifc = &s->ip6->dev[dev];
    ifc->rs_left = 0; /* RFC 4861 6.3.7: an answer ends the solicitations */
    char r[IPV6_ADDR_STRLEN];
    ipv6_addr_format(&ip->src, r);
    /* RFC 4861 6.3.4: the parameters a router sets, where it sets them. */
    if (m->cur_hop_limit)
        ifc->hop_limit = m->cur_hop_limit;
    if (m->reachable_time && (ust_time_t)m->reachable_time * UST_MS != s->nd->base_reachable &&
        m->reachable_time <= 3600000) {
        s->nd->base_reachable = (ust_time_t)m->reachable_time * UST_MS;
        draw_reachable(s);
    }
    if (m->retrans_timer)
        s->nd->retrans = (ust_time_t)m->retrans_timer * UST_MS;
    if (m->opts.has_slla) {
        struct nd_entry *e = learn(s, dev, &ip->src, m->opts.slla);
        if (e)
            e->router = true;
    }
    /* An MTU option: only between IPv6's minimum and the link's own. */
    if (m->opts.has_mtu && m->opts.mtu >= IPV6_MIN_MTU && m->opts.mtu != ifc->mtu &&
        m->opts.mtu <= s->ifs->at[dev].dev->mtu) {
        infof(s, "dev=%s: router %s sets the link MTU to %u", s->ifs->at[dev].dev->name, r,
              m->opts.mtu);
        ifc->mtu = m->opts.mtu;
        s->stats.nd.mtu_changed++;
    }
    /* The router itself: a default router for its lifetime (0: no more). */
    if (m->router_lifetime) {
        if (route6_add(s, &ipv6_addr_any, 0, &ip->src, dev, RT6_RA_ROUTER,
                       seconds_from_now(s, m->router_lifetime)) == 0)
            debugf(s, "dev=%s: default router %s for %u s", s->ifs->at[dev].dev->name, r,
                   m->router_lifetime);
    } else {
        route6_router_gone(s, dev, &ip->src);
    }
    for (unsigned i = 0; i < m->opts.n_prefix; i++) {
        const struct nd_prefix *p = &m->opts.prefix[i];
        char pf[IPV6_ADDR_STRLEN];
        ipv6_addr_format(&p->prefix, pf);
        if (ipv6_addr_is_link_local(&p->prefix) || p->preferred > p->valid) {
            s->stats.nd.prefixes_ignored++; /* RFC 4861 6.3.4, RFC 4862 5.5.3 (b, c) */
            continue;
        }
        if (p->flags & ND_PREFIX_ONLINK) {
            if (p->valid)
                route6_add(s, &p->prefix, p->len, NULL, dev, RT6_RA_PREFIX,
                           seconds_from_now(s, p->valid));
            else
                route6_del(s, &p->prefix, p->len, NULL, dev);
        }
        if (p->flags & ND_PREFIX_AUTO)
            addrconf_prefix(s, dev, &p->prefix, p->len, p->valid, p->preferred);
        debugf(s, "dev=%s: router %s: prefix %s/%u%s%s, valid %u s, preferred %u s",
               s->ifs->at[dev].dev->name, r, pf, p->len,
               (p->flags & ND_PREFIX_ONLINK) ? ", on-link" : "",
               (p->flags & ND_PREFIX_AUTO) ? ", autonomous" : "", p->valid, p->preferred);
    }
    s->stats.nd.prefixes_ignored += m->opts.prefix_dropped;
}

void nd_input(struct ust_stack *s, int dev, const struct ipv6_repr *ip, const uint8_t *msg,
              size_t len)
{
    struct nd_msg m;
    enum nd_err err = nd_parse(ip, msg, len, &m);
    if (err != ND_OK) {
        count_invalid(s, err);
        debugf(s, "dev=%s, type=%u: invalid neighbour discovery message (%s), dropped",
               s->ifs->at[dev].dev->name, msg[0], nd_err_name(err));
        return;
    }
    switch (m.type) {
    case ICMPV6_NEIGHBOR_SOLICIT: ns_input(s, dev, ip, &m); break;
    case ICMPV6_NEIGHBOR_ADVERT: na_input(s, dev, &m); break;
    case ICMPV6_ROUTER_ADVERT: ra_input(s, dev, ip, &m); break;
    case ICMPV6_ROUTER_SOLICIT:
        s->stats.nd.rx_rs++;
        s->stats.nd.rs_ignored++; /* RFC 4861 6.2.6: only routers answer */
        break;
    default:
        s->stats.nd.rx_redirect++;
        s->stats.nd.redirect_ignored++; /* see docs/DESIGN.md: first hops only */
        break;
    }
}

void nd_flush(struct ust_stack *s, int dev)
{
    for (unsigned i = 0; i < s->nd->size; i++) {
        struct nd_entry *e = &s->nd->entry[i];
        if (e->state != ND_FREE && e->dev == dev) {
            drop_pending(s, e);
            e->state = ND_FREE;
        }
    }
}

void nd_timer(struct ust_stack *s, ust_time_t now)
{
    s->nd->next = UST_TIME_NEVER; /* recomputed below, and lowered by set_state */
    for (unsigned i = 0; i < s->nd->size; i++) {
        struct nd_entry *e = &s->nd->entry[i];
        if (e->state == ND_FREE)
            continue;
        if (e->at > now) {
            if (e->at < s->nd->next)
                s->nd->next = e->at;
            continue;
        }
        switch (e->state) {
        case ND_REACHABLE: set_state(s, e, ND_STALE, UST_TIME_NEVER); break;
        case ND_DELAY:
            set_state(s, e, ND_PROBE, now + s->nd->retrans);
            e->probes = 1;
            nd_send_ns(s, e->dev, &e->ip, &e->ip, false); /* unicast (RFC 4861 7.3.3) */
            break;
        case ND_INCOMPLETE:
        case ND_PROBE:
            if (e->probes < s->cfg.nd_max_solicit) {
                e->probes++;
                set_state(s, e, (enum nd_state)e->state, now + s->nd->retrans);
                nd_send_ns(s, e->dev, &e->ip, e->state == ND_PROBE ? &e->ip : NULL, false);
                break;
            }
            char a[IPV6_ADDR_STRLEN];
            debugf(s,
                   "neighbour %s: no answer after %u solicitations, gone; %u waiting packets "
                   "dropped, their senders told \"address unreachable\"",
                   ipv6_addr_format(&e->ip, a), e->probes, e->npending);
            s->stats.nd.resolve_failed++;
            if (e->router)
                route6_router_gone(s, e->dev, &e->ip);
            /* The entry goes first: telling a sender may make it send again. */
            struct pkbuf *waiting = e->pending;
            e->pending = e->pending_tail = NULL;
            e->npending = 0;
            e->state = ND_FREE;
            s->stats.nd.pending_dropped += ip_local_unreach(s, waiting); /* RFC 4861 7.2.2 */
            break;
        default: break;
        }
    }
}

ust_time_t nd_next_deadline(const struct ust_stack *s) { return s->nd->next; }

int nd_lookup(struct ust_stack *s, int dev, const struct ipv6_addr *ip, uint8_t mac[6],
              enum nd_state *state)
{
    struct nd_entry *e = find(s, dev, ip);
    if (!e || e->state == ND_INCOMPLETE)
        return -ENOENT;
    if (mac)
        memcpy(mac, e->mac, 6);
    if (state)
        *state = (enum nd_state)e->state;
    return 0;
}
