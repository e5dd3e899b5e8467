/* ARP for IPv4 over Ethernet (RFC 826, RFC 1122 2.3.2, RFC 5227 gratuitous
 * announcements). */
#include "net/arp.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/ethernet.h"
#include "net/netif.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"

static const char *op_name(uint16_t op)
{
    return op == ARP_OP_REQUEST ? "Request" : op == ARP_OP_REPLY ? "Reply" : "?";
}

int arp_init(struct ust_stack *s)
{
    s->arp = calloc(s->cfg.arp_cache_size, sizeof(*s->arp));
    return s->arp ? 0 : -ENOMEM;
}

static void drop_pending(struct ust_stack *s, struct arp_entry *e)
{
    while (e->pending) {
        struct pkbuf *p = e->pending;
        e->pending = p->next;
        pkb_free(s, p);
        s->stats.arp.pending_dropped++;
    }
    e->pending_tail = NULL;
    e->npending = 0;
}

static void entry_free(struct ust_stack *s, struct arp_entry *e)
{
    drop_pending(s, e);
    memset(e, 0, sizeof(*e));
}

void arp_fini(struct ust_stack *s)
{
    if (!s->arp)
        return;
    for (unsigned i = 0; i < s->cfg.arp_cache_size; i++)
        if (s->arp[i].state != ARP_FREE)
            entry_free(s, &s->arp[i]);
    free(s->arp);
    s->arp = NULL;
}

static struct arp_entry *entry_find(struct ust_stack *s, int dev, ust_ip4_t ip)
{
    for (unsigned i = 0; i < s->cfg.arp_cache_size; i++) {
        struct arp_entry *e = &s->arp[i];
        if (e->state != ARP_FREE && e->dev == dev && e->ip == ip)
            return e;
    }
    return NULL;
}

/* A free slot; when the cache is full, the resolved entry closest to expiry
 * makes room, and only if there is none, the oldest incomplete one. */
static struct arp_entry *entry_alloc(struct ust_stack *s)
{
    struct arp_entry *victim = NULL;
    for (unsigned i = 0; i < s->cfg.arp_cache_size; i++) {
        struct arp_entry *e = &s->arp[i];
        if (e->state == ARP_FREE)
            return e;
        if (!victim || (e->state == ARP_RESOLVED && victim->state != ARP_RESOLVED) ||
            (e->state == victim->state && e->expires < victim->expires))
            victim = e;
    }
    assert(victim); /* arp_cache_size > 0: ust_stack_create checks it */
    char a[UST_IP4_STRLEN];
    debugf(s, "cache full, evicting ip=%s", ust_ip4_format(victim->ip, a));
    s->stats.arp.cache_evict++;
    entry_free(s, victim);
    return victim;
}

static void arp_send(struct ust_stack *s, int dev, uint16_t op, const uint8_t eth_dst[6],
                     const uint8_t tha[6], ust_ip4_t tpa)
{
    struct netif *nif = &s->ifs[dev];
    struct pkbuf *p = pkb_alloc(s, ARP_LEN);
    if (!p)
        return;
    struct arp_repr r = {.op = op, .spa = nif->addr, .tpa = tpa};
    memcpy(r.sha, nif->dev->mac, 6);
    memcpy(r.tha, tha, 6);
    arp_emit(&r, pkb_data(p));
    char t[UST_IP4_STRLEN], m[18];
    debugf(s, "dev=%s, op=%s, tpa=%s, tha=%s", nif->dev->name, op_name(op), ust_ip4_format(tpa, t),
           eth_format(tha, m));
    s->stats.arp.tx++;
    if (op == ARP_OP_REQUEST)
        s->stats.arp.tx_request++;
    else
        s->stats.arp.tx_reply++;
    eth_output(s, dev, p, eth_dst, ETH_TYPE_ARP);
}

static void send_request(struct ust_stack *s, struct arp_entry *e, const uint8_t *unicast)
{
    static const uint8_t zero[6];
    arp_send(s, e->dev, ARP_OP_REQUEST, unicast ? unicast : eth_broadcast, zero, e->ip);
}

void arp_announce(struct ust_stack *s, int dev)
{
    static const uint8_t zero[6];
    struct netif *nif = &s->ifs[dev];
    s->stats.arp.tx_announce++;
    char a[UST_IP4_STRLEN];
    infof(s, "dev=%s, addr=%s: gratuitous ARP announcement", nif->dev->name,
          ust_ip4_format(nif->addr, a));
    arp_send(s, dev, ARP_OP_REQUEST, eth_broadcast, zero, nif->addr);
}

static void entry_resolved(struct ust_stack *s, struct arp_entry *e, const uint8_t mac[6])
{
    memcpy(e->mac, mac, 6);
    e->state = ARP_RESOLVED;
    e->retries = 0;
    e->used = false;
    e->expires = s->now + s->cfg.arp_reachable_time;
    e->refresh_at = s->cfg.arp_refresh_window < s->cfg.arp_reachable_time
                        ? e->expires - s->cfg.arp_refresh_window
                        : s->now;
    /* Send what was waiting for this address, in order. */
    struct pkbuf *p = e->pending;
    e->pending = e->pending_tail = NULL;
    e->npending = 0;
    while (p) {
        struct pkbuf *next = p->next;
        p->next = NULL;
        eth_output(s, e->dev, p, e->mac, ETH_TYPE_IPV4);
        p = next;
    }
}

/* RFC 826, "Packet Reception". */
void arp_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len)
{
    struct ust_device *d = s->ifs[dev].dev;
    struct arp_repr r;
    int err = arp_parse(data, len, &r);
    if (err != WIRE_OK) {
        if (err == WIRE_EUNSUPP)
            s->stats.arp.drop_unsupported++;
        else
            s->stats.arp.drop_malformed++;
        debugf(s, "dev=%s, len=%zu: %s ARP packet dropped", d->name, len,
               err == WIRE_EUNSUPP ? "unsupported" : "truncated");
        return;
    }
    s->stats.arp.rx++;
    if (r.op == ARP_OP_REQUEST)
        s->stats.arp.rx_request++;
    else
        s->stats.arp.rx_reply++;
    char sa[UST_IP4_STRLEN], ta[UST_IP4_STRLEN], sm[18];
    debugf(s, "dev=%s, op=%s, spa=%s, sha=%s, tpa=%s", d->name, op_name(r.op),
           ust_ip4_format(r.spa, sa), eth_format(r.sha, sm), ust_ip4_format(r.tpa, ta));

    struct netif *nif = netif_get(s, dev);
    if (!nif) {
        s->stats.arp.drop_not_ours++;
        return;
    }
    if (eth_is_multicast(r.sha) || eth_is_zero(r.sha) || memcmp(r.sha, d->mac, 6) == 0 ||
        r.spa == 0xffffffffu || (r.spa >> 28) == 0xe) {
        s->stats.arp.drop_bad_sender++;
        return;
    }
    if (r.spa == nif->addr) {
        /* Someone else claims our address (RFC 5227 2.4): keep ours. */
        s->stats.arp.drop_bad_sender++;
        debugf(s, "dev=%s: %s claims our address %s", d->name, sm, sa);
        return;
    }

    bool merge = false;
    if (r.spa != 0) { /* spa 0 is an RFC 5227 probe: answer, do not cache */
        struct arp_entry *e = entry_find(s, dev, r.spa);
        if (e) {
            s->stats.arp.cache_update++;
            entry_resolved(s, e, r.sha);
            merge = true;
        }
    }
    if (r.tpa != nif->addr) {
        /* Not for us: the update above was all we take from it. A
         * gratuitous announcement (spa == tpa) is not a request to count. */
        if (r.op == ARP_OP_REQUEST && r.spa != r.tpa)
            s->stats.arp.drop_not_ours++;
        return;
    }
    if (!merge && r.spa != 0) {
        struct arp_entry *e = entry_alloc(s);
        e->dev = dev;
        e->ip = r.spa;
        s->stats.arp.cache_add++;
        entry_resolved(s, e, r.sha);
    }
    if (r.op == ARP_OP_REQUEST)
        arp_send(s, dev, ARP_OP_REPLY, r.sha, r.sha, r.spa);
}

int arp_resolve(struct ust_stack *s, int dev, ust_ip4_t ip, struct pkbuf *p, uint8_t mac[6])
{
    struct arp_entry *e = entry_find(s, dev, ip);
    if (e && e->state == ARP_RESOLVED && s->now < e->expires) {
        memcpy(mac, e->mac, 6);
        e->used = true;
        return 0;
    }
    if (!e || e->state == ARP_RESOLVED) {
        if (!e)
            e = entry_alloc(s);
        e->state = ARP_INCOMPLETE;
        e->dev = dev;
        e->ip = ip;
        e->retries = 0;
        e->expires = s->now + s->cfg.arp_retry_interval;
        send_request(s, e, NULL);
    }
    if (s->cfg.arp_pending_max == 0) {
        pkb_free(s, p);
        s->stats.arp.pending_dropped++;
        return -ENOBUFS;
    }
    if (e->npending >= s->cfg.arp_pending_max) {
        /* Keep the newest packets: the oldest are the likeliest to be stale. */
        struct pkbuf *old = e->pending;
        e->pending = old->next;
        e->npending--;
        if (!e->pending)
            e->pending_tail = NULL;
        pkb_free(s, old);
        s->stats.arp.pending_dropped++;
    }
    p->next = NULL;
    if (e->pending_tail)
        e->pending_tail->next = p;
    else
        e->pending = p;
    e->pending_tail = p;
    e->npending++;
    s->stats.arp.pending_queued++;
    return 1;
}

void arp_timer(struct ust_stack *s, ust_time_t now)
{
    char a[UST_IP4_STRLEN];
    for (unsigned i = 0; i < s->cfg.arp_cache_size; i++) {
        struct arp_entry *e = &s->arp[i];
        if (e->state == ARP_RESOLVED) {
            if (now >= e->expires) {
                debugf(s, "ip=%s: entry expired", ust_ip4_format(e->ip, a));
                s->stats.arp.cache_expire++;
                entry_free(s, e);
            } else if (e->used && now >= e->refresh_at) {
                /* In use and about to expire: ask the holder directly, so a
                 * busy flow never stalls on a fresh resolution. */
                e->refresh_at = UST_TIME_NEVER;
                send_request(s, e, e->mac);
            }
        } else if (e->state == ARP_INCOMPLETE && now >= e->expires) {
            if (e->retries < s->cfg.arp_max_retries) {
                e->retries++;
                e->expires = now + s->cfg.arp_retry_interval;
                send_request(s, e, NULL);
            } else {
                debugf(s, "ip=%s: no answer after %u requests, dropping %u packets",
                       ust_ip4_format(e->ip, a), e->retries + 1, e->npending);
                s->stats.arp.resolve_failed++;
                entry_free(s, e);
            }
        }
    }
}

ust_time_t arp_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = UST_TIME_NEVER;
    for (unsigned i = 0; i < s->cfg.arp_cache_size; i++) {
        const struct arp_entry *e = &s->arp[i];
        if (e->state == ARP_FREE)
            continue;
        ust_time_t d = e->expires;
        if (e->state == ARP_RESOLVED && e->used && e->refresh_at < d)
            d = e->refresh_at;
        if (d < t)
            t = d;
    }
    return t;
}

int arp_lookup(struct ust_stack *s, int dev, ust_ip4_t ip, uint8_t mac[6])
{
    struct arp_entry *e = entry_find(s, dev, ip);
    if (!e || e->state != ARP_RESOLVED)
        return -ENOENT;
    memcpy(mac, e->mac, 6);
    return 0;
}
