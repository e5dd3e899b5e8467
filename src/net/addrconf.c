/* Our IPv6 addresses (net/ipv6.h): link-local and SLAAC addresses with
 * RFC 7217 interface identifiers, static ones, duplicate address
 * detection (RFC 4862 5.4), lifetimes (RFC 4862 5.5.4), router
 * solicitation at start (RFC 4861 6.3.7), MLDv2 reports for the
 * solicited-node groups (RFC 3810), and source address selection
 * (RFC 6724).
 *
 * Why RFC 7217 and not EUI-64: an identifier made from the MAC follows a
 * host from network to network and tells its hardware to anyone it talks
 * to (RFC 7721). RFC 7217's is stable on one network, for one prefix, so
 * a server keeps its address across restarts, yet different on every
 * other prefix; RFC 8064 makes it the recommended default. */
#include <errno.h>
#include <string.h>

#include "core/siphash.h"
#include "net/ipv6.h"
#include "net/nd.h"
#include "net/route6.h"
#include "wire/icmpv6.h"

#define RTR_SOLICITATION_INTERVAL (4 * UST_SEC) /* RFC 4861 10 */
#define MAX_RTR_SOLICITATION_DELAY (1 * UST_SEC)
#define IDGEN_RETRIES 3 /* RFC 7217 6: new identifiers after a DAD failure */
#define SLAAC_MAX 8     /* addresses routers may make us take (a flood of prefixes) */
#define TWO_HOURS (2 * 3600 * UST_SEC) /* RFC 4862 5.5.3 (e) */

static const char *devname(const struct ust_stack *s, int dev) { return s->ifs->at[dev].dev->name; }

/* ---- RFC 7217 interface identifiers ---- */

/* The identifier for prefix on dev: the first 64 bits of SipHash, keyed
 * with the stack's secret, over the prefix, the interface's name and the
 * DAD counter. Reserved identifiers (RFC 5453: all zero, the subnet
 * anycast range) are skipped by counting on. */
static void make_iid(const struct ust_stack *s, int dev, const struct ipv6_addr *prefix,
                     unsigned counter, struct ipv6_addr *out)
{
    uint8_t in[8 + UST_DEV_NAME_MAX + 4];
    memset(in, 0, sizeof(in));
    for (;; counter++) {
        memcpy(in, prefix->a, 8);
        strncpy((char *)in + 8, devname(s, dev), UST_DEV_NAME_MAX);
        memcpy(in + 8 + UST_DEV_NAME_MAX, &counter, 4);
        uint64_t h = siphash24(s->ip6->secret, in, sizeof(in));
        memcpy(out->a, prefix->a, 8);
        for (int i = 0; i < 8; i++)
            out->a[8 + i] = (uint8_t)(h >> (56 - 8 * i));
        static const uint8_t anycast[7] = {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
        bool zero = h == 0, reserved = memcmp(out->a + 8, anycast, 7) == 0 && out->a[15] >= 0x80;
        if (!zero && !reserved)
            return;
    }
}

/* ---- MLDv2 (RFC 3810): the solicited-node groups we listen to ---- */

static void send_report(struct ust_stack *s, int dev, const struct ipv6_addr *only, uint8_t type)
{
    struct mld2_record recs[IP6_MAX_ADDRS];
    size_t n = 0;
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
        const struct ip6_ifaddr *a = &s->ip6->addr[i];
        if (a->state == IP6A_FREE || a->dev != dev || (only && !ipv6_addr_eq(&a->addr, only)))
            continue;
        struct ipv6_addr g;
        ipv6_solicited_node(&a->addr, &g);
        bool dup = false;
        for (size_t k = 0; k < n; k++)
            dup |= ipv6_addr_eq(&recs[k].group, &g);
        if (!dup)
            recs[n++] = (struct mld2_record){.type = type, .group = g};
    }
    if (n == 0 || s->ifs->at[dev].dev->type == UST_DEV_LOOPBACK)
        return;
    struct pkbuf *p = pkb_alloc(s, 8 + n * MLD2_RECORD_LEN);
    if (!p)
        return;
    /* RFC 3810 5.2.13: from the link-local address, or :: before it has one. */
    struct ipv6_addr src = ipv6_addr_any;
    (void)ipv6_select_source(s, dev, &ipv6_addr_all_nodes, &src);
    size_t len = mld2_report_emit(&src, recs, n, pkb_data(p), p->len);
    if (!len) {
        pkb_free(s, p);
        return;
    }
    p->len = len;
    s->stats.icmp6.tx++;
    s->stats.icmp6.tx_mld_report++;
    ipv6_output_ra(s, p, &src, &ipv6_addr_mldv2_routers, dev);
}

void addrconf_mld_query(struct ust_stack *s, int dev, ust_time_t max_delay)
{
    struct ip6_if *ifc = &s->ip6->dev[dev];
    ust_time_t at = s->now + (max_delay
                                  ? rng_below(&s->rng, (uint32_t)(max_delay / UST_MS) + 1) * UST_MS
                                  : 0);
    if (at < ifc->report_at)
        ifc->report_at = at;
}

/* ---- the address table ---- */

struct ip6_ifaddr *addrconf_find(struct ust_stack *s, const struct ipv6_addr *a)
{
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++)
        if (s->ip6->addr[i].state != IP6A_FREE && ipv6_addr_eq(&s->ip6->addr[i].addr, a))
            return &s->ip6->addr[i];
    return NULL;
}

bool ipv6_is_local(const struct ust_stack *s, const struct ipv6_addr *a)
{
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
        const struct ip6_ifaddr *x = &s->ip6->addr[i];
        if (x->state > IP6A_TENTATIVE && ipv6_addr_eq(&x->addr, a))
            return true;
    }
    return false;
}

bool ipv6_mcast_joined(const struct ust_stack *s, int dev, const struct ipv6_addr *group)
{
    if (!s->ip6->dev[dev].on)
        return false;
    if (ipv6_addr_eq(group, &ipv6_addr_all_nodes))
        return true;
    if (!ipv6_addr_is_solicited_node(group))
        return false;
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
        const struct ip6_ifaddr *a = &s->ip6->addr[i];
        if (a->state != IP6A_FREE && a->dev == dev && memcmp(a->addr.a + 13, group->a + 13, 3) == 0)
            return true;
    }
    return false;
}

static void set_preferred(struct ust_stack *s, struct ip6_ifaddr *a)
{
    char t[IPV6_ADDR_STRLEN];
    a->state = IP6A_PREFERRED;
    infof(s, "dev=%s, addr=%s/%u%s", devname(s, a->dev), ipv6_addr_format(&a->addr, t), a->plen,
          a->origin == IP6A_SLAAC        ? " (from a router advertisement)"
          : a->origin == IP6A_LINK_LOCAL ? " (link-local)"
                                         : "");
    /* Once the link-local address is ours, ask for routers (RFC 4861 6.3.7). */
    struct ip6_if *ifc = &s->ip6->dev[a->dev];
    if (a->origin == IP6A_LINK_LOCAL && s->ifs->at[a->dev].dev->type != UST_DEV_LOOPBACK &&
        s->cfg.ip6_rtr_solicits) {
        ifc->rs_left = s->cfg.ip6_rtr_solicits;
        ifc->rs_at = s->now +
                     rng_below(&s->rng, (uint32_t)(MAX_RTR_SOLICITATION_DELAY / UST_MS)) * UST_MS;
    }
}

int addrconf_add(struct ust_stack *s, int dev, const struct ipv6_addr *addr, unsigned plen,
                 enum ip6_addr_origin origin, ust_time_t preferred_until, ust_time_t valid_until)
{
    if (addrconf_find(s, addr))
        return -EEXIST;
    struct ip6_ifaddr *a = NULL;
    for (unsigned i = 0; i < IP6_MAX_ADDRS && !a; i++)
        if (s->ip6->addr[i].state == IP6A_FREE)
            a = &s->ip6->addr[i];
    if (!a)
        return -ENOSPC;
    *a = (struct ip6_ifaddr){.state = IP6A_TENTATIVE,
                             .origin = (uint8_t)origin,
                             .plen = (uint8_t)plen,
                             .dev = dev,
                             .addr = *addr,
                             .preferred_until = preferred_until,
                             .valid_until = valid_until};
    bool loop = s->ifs->at[dev].dev->type == UST_DEV_LOOPBACK;
    if (s->cfg.ip6_dad_transmits == 0 || loop) {
        set_preferred(s, a);
    } else {
        /* RFC 4862 5.4.2: join the solicited-node group, then the first
         * probe after a random delay (many hosts start at once). */
        a->dad_left = s->cfg.ip6_dad_transmits;
        a->dad_at = s->now +
                    rng_below(&s->rng, (uint32_t)(MAX_RTR_SOLICITATION_DELAY / UST_MS)) * UST_MS;
        send_report(s, dev, addr, MLD2_TO_EXCLUDE);
        char t[IPV6_ADDR_STRLEN];
        debugf(s, "dev=%s, addr=%s/%u: tentative, duplicate address detection", devname(s, dev),
               ipv6_addr_format(addr, t), plen);
    }
    return (int)(a - s->ip6->addr);
}

static void addr_remove(struct ust_stack *s, struct ip6_ifaddr *a, const char *why)
{
    char t[IPV6_ADDR_STRLEN];
    infof(s, "dev=%s, addr=%s/%u removed: %s", devname(s, a->dev), ipv6_addr_format(&a->addr, t),
          a->plen, why);
    struct ipv6_addr addr = a->addr;
    int dev = a->dev;
    send_report(s, dev, &addr, MLD2_TO_INCLUDE); /* leave its group */
    if (a->origin == IP6A_STATIC) {
        struct ipv6_addr prefix = addr;
        for (unsigned b = a->plen; b < 128; b++)
            prefix.a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        route6_del(s, &prefix, a->plen, &ipv6_addr_any, dev);
    }
    a->state = IP6A_FREE;
}

void addrconf_dad_failed(struct ust_stack *s, struct ip6_ifaddr *a)
{
    char t[IPV6_ADDR_STRLEN];
    s->stats.nd.dad_failed++;
    warnf(s,
          "dev=%s: %s is already used by another host on the link (duplicate address "
          "detection); not using it",
          devname(s, a->dev), ipv6_addr_format(&a->addr, t));
    int dev = a->dev;
    unsigned plen = a->plen, counter = a->dad_counter;
    enum ip6_addr_origin origin = (enum ip6_addr_origin)a->origin;
    ust_time_t pref = a->preferred_until, valid = a->valid_until;
    struct ipv6_addr prefix = a->addr;
    addr_remove(s, a, "duplicate");
    /* RFC 7217 6: generated identifiers are made again with the next
     * counter, a few times. */
    if ((origin == IP6A_LINK_LOCAL || origin == IP6A_SLAAC) && counter + 1 < IDGEN_RETRIES) {
        struct ipv6_addr next;
        make_iid(s, dev, &prefix, counter + 1, &next);
        int slot = addrconf_add(s, dev, &next, plen, origin, pref, valid);
        if (slot >= 0)
            s->ip6->addr[slot].dad_counter = counter + 1;
    }
}

int addrconf_enable(struct ust_stack *s, int dev)
{
    struct ip6_if *ifc = &s->ip6->dev[dev];
    if (ifc->on)
        return -EEXIST;
    struct ust_device *d = s->ifs->at[dev].dev;
    s->ip6->ndevs++;
    *ifc = (struct ip6_if){.on = true,
                           .hop_limit = s->cfg.ip6_hop_limit,
                           .mtu = d->mtu,
                           .report_at = UST_TIME_NEVER,
                           .rs_at = UST_TIME_NEVER};
    route6_changed(s); /* its routes count from now on */
    struct ipv6_addr ll = {{0}};
    if (d->type == UST_DEV_LOOPBACK) {
        ll.a[15] = 1; /* ::1 (RFC 4291 2.5.3) */
        return addrconf_add(s, dev, &ll, 128, IP6A_LOOPBACK, UST_TIME_NEVER, UST_TIME_NEVER) < 0
                   ? -ENOSPC
                   : 0;
    }
    if (ifc->mtu < IPV6_MIN_MTU) {
        ifc->on = false;
        s->ip6->ndevs--;
        return -EINVAL; /* RFC 8200 5: IPv6 needs 1280 */
    }
    ll.a[0] = 0xfe;
    ll.a[1] = 0x80;
    struct ipv6_addr addr;
    make_iid(s, dev, &ll, 0, &addr);
    int slot = addrconf_add(s, dev, &addr, 64, IP6A_LINK_LOCAL, UST_TIME_NEVER, UST_TIME_NEVER);
    return slot < 0 ? slot : 0;
}

void addrconf_prefix(struct ust_stack *s, int dev, const struct ipv6_addr *prefix, unsigned plen,
                     uint32_t valid_s, uint32_t preferred_s)
{
    char t[IPV6_ADDR_STRLEN];
    if (plen != 64) {
        /* RFC 4862 5.5.3 (d): the prefix and a 64-bit identifier (RFC
         * 2464 4) must make 128 bits. */
        s->stats.nd.prefixes_ignored++;
        debugf(s, "dev=%s: prefix %s/%u: not /64, no address from it", devname(s, dev),
               ipv6_addr_format(prefix, t), plen);
        return;
    }
    ust_time_t valid = valid_s == 0xffffffffu ? UST_TIME_NEVER : s->now + valid_s * UST_SEC;
    ust_time_t pref = preferred_s == 0xffffffffu ? UST_TIME_NEVER : s->now + preferred_s * UST_SEC;
    unsigned slaac = 0;
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
        struct ip6_ifaddr *a = &s->ip6->addr[i];
        if (a->state == IP6A_FREE || a->origin != IP6A_SLAAC)
            continue;
        slaac++;
        if (a->dev != dev || memcmp(a->addr.a, prefix->a, 8) != 0)
            continue;
        /* RFC 4862 5.5.3 (e): the preferred lifetime is taken; the valid
         * one only if it is longer than two hours or than what is left,
         * else two hours stay (so a forged RA cannot kill an address). */
        a->preferred_until = pref;
        if (a->state == IP6A_DEPRECATED && pref > s->now)
            a->state = IP6A_PREFERRED;
        ust_time_t left = a->valid_until > s->now ? a->valid_until - s->now : 0;
        if (valid_s == 0xffffffffu || valid - s->now > TWO_HOURS || valid > a->valid_until)
            a->valid_until = valid;
        else if (left > TWO_HOURS)
            a->valid_until = s->now + TWO_HOURS;
        return;
    }
    if (valid_s == 0)
        return;
    if (slaac >= SLAAC_MAX) {
        s->stats.nd.prefixes_ignored++;
        return;
    }
    struct ipv6_addr addr;
    make_iid(s, dev, prefix, 0, &addr);
    if (addrconf_add(s, dev, &addr, plen, IP6A_SLAAC, pref, valid) >= 0)
        s->stats.nd.slaac_addrs++;
}

/* ---- source address selection (RFC 6724 5) ---- */

/* Is a a better source than b for dst? The rules that matter for a host
 * with one interface per link: 1 (the destination itself), 2 (scope),
 * 3 (not deprecated), 8 (longest matching prefix). Rule 5 (the outgoing
 * interface) is the caller's: it offers that interface's first. */
static bool better(const struct ip6_ifaddr *a, const struct ip6_ifaddr *b,
                   const struct ipv6_addr *dst)
{
    if (ipv6_addr_eq(&a->addr, dst) != ipv6_addr_eq(&b->addr, dst))
        return ipv6_addr_eq(&a->addr, dst);
    unsigned sa = ipv6_addr_scope(&a->addr), sb = ipv6_addr_scope(&b->addr),
             sd = ipv6_addr_scope(dst);
    if (sa != sb)
        return sa < sb ? sa >= sd : sb < sd;
    if ((a->state == IP6A_DEPRECATED) != (b->state == IP6A_DEPRECATED))
        return b->state == IP6A_DEPRECATED;
    return ipv6_prefix_match_len(&a->addr, dst) > ipv6_prefix_match_len(&b->addr, dst);
}

bool ipv6_select_source(const struct ust_stack *s, int dev, const struct ipv6_addr *dst,
                        struct ipv6_addr *src)
{
    const struct ip6_ifaddr *best = NULL;
    for (int pass = 0; pass < 2 && !best; pass++) {
        for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
            const struct ip6_ifaddr *a = &s->ip6->addr[i];
            if (a->state <= IP6A_TENTATIVE || (pass == 0 && a->dev != dev))
                continue;
            /* Never a link-local source off the link, nor ::1 off the host. */
            if (a->dev != dev && ipv6_addr_scope(&a->addr) <= IPV6_SCOPE_LINK)
                continue;
            if (!best || better(a, best, dst))
                best = a;
        }
    }
    if (!best)
        return false;
    *src = best->addr;
    return true;
}

/* ---- timers ---- */

void addrconf_timer(struct ust_stack *s, ust_time_t now)
{
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
        struct ip6_ifaddr *a = &s->ip6->addr[i];
        if (a->state == IP6A_FREE)
            continue;
        if (a->valid_until <= now) {
            addr_remove(s, a, "valid lifetime over");
            continue;
        }
        if (a->state == IP6A_PREFERRED && a->preferred_until <= now) {
            char t[IPV6_ADDR_STRLEN];
            a->state = IP6A_DEPRECATED;
            infof(s, "dev=%s, addr=%s: deprecated (preferred lifetime over)", devname(s, a->dev),
                  ipv6_addr_format(&a->addr, t));
        }
        if (a->state == IP6A_TENTATIVE && a->dad_at <= now) {
            if (a->dad_left > 0) {
                a->dad_left--;
                a->dad_at = now + s->nd->retrans;
                nd_send_ns(s, a->dev, &a->addr, NULL, true);
            } else {
                s->stats.nd.dad_ok++;
                set_preferred(s, a); /* RFC 4862 5.4.5: no answer in RetransTimer */
            }
        }
    }
    for (int d = 0; d < s->ifs->n; d++) {
        struct ip6_if *ifc = &s->ip6->dev[d];
        if (!ifc->on)
            continue;
        if (ifc->rs_left && ifc->rs_at <= now) {
            struct ipv6_addr src = ipv6_addr_any;
            (void)ipv6_select_source(s, d, &ipv6_addr_all_routers, &src);
            nd_send_rs(s, d, &src);
            ifc->rs_left--;
            ifc->rs_at = ifc->rs_left ? now + RTR_SOLICITATION_INTERVAL : UST_TIME_NEVER;
        }
        if (ifc->report_at <= now) {
            ifc->report_at = UST_TIME_NEVER;
            send_report(s, d, NULL, MLD2_IS_EXCLUDE);
        }
    }
}

ust_time_t addrconf_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = UST_TIME_NEVER;
    if (!s->ip6->ndevs)
        return t; /* IPv6 is off everywhere: nothing to scan at every step */
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
        const struct ip6_ifaddr *a = &s->ip6->addr[i];
        if (a->state == IP6A_FREE)
            continue;
        if (a->valid_until < t)
            t = a->valid_until;
        if (a->state == IP6A_PREFERRED && a->preferred_until < t)
            t = a->preferred_until;
        if (a->state == IP6A_TENTATIVE && a->dad_at < t)
            t = a->dad_at;
    }
    for (int d = 0; d < s->ifs->n; d++) {
        const struct ip6_if *ifc = &s->ip6->dev[d];
        if (ifc->on && ifc->rs_left && ifc->rs_at < t)
            t = ifc->rs_at;
        if (ifc->on && ifc->report_at < t)
            t = ifc->report_at;
    }
    return t;
}

/* ---- the public calls ---- */

int ust_iface_enable_ipv6(struct ust_stack *s, const char *devname_, ust_time_t now)
{
    int dev = netif_index(s, devname_);
    if (dev < 0)
        return -ENODEV;
    if (now > s->now)
        s->now = now;
    return addrconf_enable(s, dev);
}

int ust_iface_add6(struct ust_stack *s, const char *devname_, const struct in6_addr *in,
                   unsigned plen, ust_time_t now)
{
    int dev = netif_index(s, devname_);
    if (dev < 0)
        return -ENODEV;
    if (!in || plen > 128)
        return -EINVAL;
    struct ipv6_addr addr;
    memcpy(addr.a, in, 16);
    if (ipv6_addr_is_multicast(&addr) || ipv6_addr_is_unspecified(&addr) ||
        ipv6_addr_is_v4_mapped(&addr))
        return -EINVAL;
    if (now > s->now)
        s->now = now;
    if (!s->ip6->dev[dev].on) {
        int err = addrconf_enable(s, dev);
        if (err)
            return err;
    }
    int slot = addrconf_add(s, dev, &addr, plen, IP6A_STATIC, UST_TIME_NEVER, UST_TIME_NEVER);
    if (slot < 0)
        return slot;
    if (plen < 128 && !ipv6_addr_is_link_local(&addr)) {
        struct ipv6_addr prefix = addr;
        for (unsigned b = plen; b < 128; b++)
            prefix.a[b / 8] &= (uint8_t) ~(0x80u >> (b % 8));
        route6_add(s, &prefix, plen, NULL, dev, RT6_CONNECTED, UST_TIME_NEVER);
    }
    return 0;
}

int ust_route_add6(struct ust_stack *s, const struct in6_addr *in_prefix, unsigned plen,
                   const struct in6_addr *in_gw, const char *devname_)
{
    if (!in_prefix || plen > 128)
        return -EINVAL;
    struct ipv6_addr prefix, gw = ipv6_addr_any;
    memcpy(prefix.a, in_prefix, 16);
    if (in_gw)
        memcpy(gw.a, in_gw, 16);
    for (unsigned b = plen; b < 128; b++)
        if (prefix.a[b / 8] & (0x80u >> (b % 8)))
            return -EINVAL; /* host bits set */
    int dev = -1;
    if (devname_) {
        if ((dev = netif_index(s, devname_)) < 0)
            return -ENODEV;
    } else {
        for (int i = 0; i < s->ifs->n && dev < 0; i++)
            if (s->ip6->dev[i].on && s->ifs->at[i].dev->type != UST_DEV_LOOPBACK)
                dev = i;
        if (dev < 0)
            return -ENODEV;
    }
    if (!s->ip6->dev[dev].on)
        return -ENODEV;
    return route6_add(s, &prefix, plen, &gw, dev, RT6_STATIC, UST_TIME_NEVER);
}

int ust_ip6_parse(const char *str, struct in6_addr *out)
{
    struct ipv6_addr a;
    if (!str || !out || ipv6_addr_parse(str, &a) != 0)
        return -EINVAL;
    memcpy(out, a.a, 16);
    return 0;
}

int ust_ip6_parse_cidr(const char *str, struct in6_addr *out, unsigned *plen)
{
    struct ipv6_addr a;
    if (!str || !out || !plen || ipv6_prefix_parse(str, &a, plen) != 0)
        return -EINVAL;
    memcpy(out, a.a, 16);
    return 0;
}

char *ust_ip6_format(const struct in6_addr *in, char buf[UST_IP6_STRLEN])
{
    struct ipv6_addr a;
    memcpy(a.a, in, 16);
    return ipv6_addr_format(&a, buf);
}
