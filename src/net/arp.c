/* ARP for IPv4 over Ethernet (RFC 826, RFC 1122 2.3.2, RFC 5227 gratuitous
 * announcements). */
#include "net/arp.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/dhcp.h"
#include "net/ethernet.h"
#include "net/ip.h"
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
    unsigned n = s->cfg.arp_cache_size;
    struct arp_table *t = calloc(1, sizeof(*t) + (size_t)n * sizeof(t->entry[0]));
    if (!t)
        return -ENOMEM;
    t->size = n;
    s->arp = t;
    return 0;
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
    for (unsigned i = 0; i < s->arp->size; i++)
        if (s->arp->entry[i].state != ARP_FREE)
            entry_free(s, &s->arp->entry[i]);
    free(s->arp);
    s->arp = NULL;
}

static struct arp_entry *entry_find(struct ust_stack *s, int dev, ust_ip4_t ip)
{
    for (unsigned i = 0; i < s->arp->size; i++) {
        struct arp_entry *e = &s->arp->entry[i];
        if (e->state != ARP_FREE && e->dev == dev && e->ip == ip)
            return e;
    }
    return NULL;
}

/* In use: a packet went through it within cfg.arp_in_use_time. */
static bool entry_in_use(const struct ust_stack *s, const struct arp_entry *e)
{
    return e->state == ARP_RESOLVED && e->last_used != 0 &&
           s->now - e->last_used < s->cfg.arp_in_use_time;
}

enum evict_kind { EVICT_NONE, EVICT_UNUSED, EVICT_INCOMPLETE, EVICT_IN_USE };

static enum evict_kind evict_kind(const struct ust_stack *s, const struct arp_entry *e)
{
    if (e->state == ARP_INCOMPLETE)
        return EVICT_INCOMPLETE;
    return entry_in_use(s, e) ? EVICT_IN_USE : EVICT_UNUSED;
}

/* Room for a new entry: a free slot, or else what costs least to give up:
 * 1. a resolved entry not in use, the nearest to expiry: nothing waits on
 *    it, and should we need it again a round trip learns it back;
 * 2. an entry still resolving, the nearest to its next request: the
 *    packets waiting on it are dropped;
 * 3. an entry in use, the least recently used.
 * An unsolicited sender (a request or reply to us from a host we did not
 * ask for) is cached only to spare a round trip should we answer it, so
 * it takes the first kind or nothing (NULL, arp.insert_refused). A flood
 * from made-up hosts then churns through idle entries and never pushes out
 * a neighbour in use or a resolution under way; before, it evicted the
 * resolved entries nearest to expiry first, and the host next to us was
 * re-resolved 110 times in the 2 s of a flood of 10,000 requests. */
static struct arp_entry *entry_alloc(struct ust_stack *s, bool unsolicited)
{
    struct arp_entry *victim = NULL;
    enum evict_kind vk = EVICT_NONE;
    for (unsigned i = 0; i < s->arp->size; i++) {
        struct arp_entry *e = &s->arp->entry[i];
        if (e->state == ARP_FREE)
            return e;
        enum evict_kind k = evict_kind(s, e);
        if (unsolicited && k != EVICT_UNUSED)
            continue;
        bool better = !victim || k < vk ||
                      (k == vk && (k == EVICT_IN_USE ? e->last_used < victim->last_used
                                                     : e->expires < victim->expires));
        if (better) {
            victim = e;
            vk = k;
        }
    }
    if (!victim) {
        s->stats.arp.insert_refused++;
        return NULL;
    }
    assert(victim); /* arp_cache_size > 0: ust_stack_create checks it */
    char a[UST_IP4_STRLEN];
    debugf(s, "cache full, evicting ip=%s (%s)", ust_ip4_format(victim->ip, a),
           vk == EVICT_UNUSED       ? "not in use"
           : vk == EVICT_INCOMPLETE ? "incomplete"
                                    : "in use");
    s->stats.arp.cache_evict++;
    if (vk == EVICT_UNUSED)
        s->stats.arp.evict_unused++;
    else if (vk == EVICT_INCOMPLETE)
        s->stats.arp.evict_incomplete++;
    else
        s->stats.arp.evict_in_use++;
    entry_free(s, victim);
    return victim;
}

static void arp_send(struct ust_stack *s, int dev, uint16_t op, const uint8_t eth_dst[6],
                     const uint8_t tha[6], ust_ip4_t tpa)
{
    struct netif *nif = &s->ifs->at[dev];
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
    struct netif *nif = &s->ifs->at[dev];
    s->stats.arp.tx_announce++;
    char a[UST_IP4_STRLEN];
    infof(s, "dev=%s, addr=%s: gratuitous ARP announcement", nif->dev->name,
          ust_ip4_format(nif->addr, a));
    arp_send(s, dev, ARP_OP_REQUEST, eth_broadcast, zero, nif->addr);
}

void arp_probe(struct ust_stack *s, int dev, ust_ip4_t ip)
{
    struct netif *nif = &s->ifs->at[dev];
    struct pkbuf *p = pkb_alloc(s, ARP_LEN);
    if (!p)
        return;
    struct arp_repr r = {.op = ARP_OP_REQUEST, .spa = 0, .tpa = ip};
    memcpy(r.sha, nif->dev->mac, 6);
    arp_emit(&r, pkb_data(p));
    char a[UST_IP4_STRLEN];
    debugf(s, "dev=%s, tpa=%s: probe (is the address in use?)", nif->dev->name,
           ust_ip4_format(ip, a));
    s->stats.arp.tx++;
    s->stats.arp.tx_request++;
    eth_output(s, dev, p, eth_broadcast, ETH_TYPE_ARP);
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

/* RFC 826's merge step: the sender of an ARP packet for whose address we
 * hold an entry updates it. A different MAC for an entry in use is how
 * poisoning starts: one forged reply for the gateway sent our traffic to
 * the forger until the real owner happened to speak (26 to 37 s measured).
 * RFC 826 has no defence against it, RFC 1122 2.3.2.1 asks that stale
 * entries be flushed (by timeout or unicast poll), and RFC 5227 3 relies
 * on announcements updating caches when an address really moves. So:
 * - a new MAC for an entry not in use is taken at once (RFC 826);
 * - for an entry in use, the MAC we have is asked first, by a unicast
 *   request (RFC 1122 2.3.2.1's poll), and kept if it answers within
 *   cfg.arp_retry_interval (1 s); if it does not, the latest MAC claimed
 *   is taken. A forged claim then costs nothing while the owner answers,
 *   an address that really moved costs a second of packets to its old
 *   MAC, and a stream of forged claims costs at most one request a
 *   second per entry: claims within a second of the owner's last word
 *   are ignored outright.
 * Linux takes the new MAC unless the entry changed less than locktime
 * (1 s) ago, and probes it only once it goes stale (8.4 s measured). We
 * keep the old one until it fails to answer instead: a forger that can
 * send one frame cannot also silence the owner. Neither survives a forger
 * who answers for an entry it already holds; ARP has no authentication. */
static void entry_heard(struct ust_stack *s, struct arp_entry *e, const uint8_t sha[6])
{
    char a[UST_IP4_STRLEN], m[18];
    s->stats.arp.cache_update++;
    if (e->state == ARP_RESOLVED && memcmp(sha, e->mac, 6) != 0 && entry_in_use(s, e)) {
        if (e->verifying) {
            memcpy(e->claimed_mac, sha, 6); /* the latest claim is the one taken */
        } else if (e->heard_at && s->now - e->heard_at < s->cfg.arp_retry_interval) {
            s->stats.arp.mac_kept++;
            debugf(s, "ip=%s: %s claimed it, but the holder spoke just now",
                   ust_ip4_format(e->ip, a), eth_format(sha, m));
        } else {
            e->verifying = true;
            memcpy(e->claimed_mac, sha, 6);
            e->verify_until = s->now + s->cfg.arp_retry_interval;
            s->stats.arp.mac_verify++;
            debugf(s, "ip=%s: %s claims it, asking the holder", ust_ip4_format(e->ip, a),
                   eth_format(sha, m));
            send_request(s, e, e->mac);
        }
        return;
    }
    if (e->verifying && memcmp(sha, e->mac, 6) == 0) {
        s->stats.arp.mac_kept++;
        debugf(s, "ip=%s: the holder answered, claim ignored", ust_ip4_format(e->ip, a));
    }
    e->verifying = false;
    e->heard_at = s->now;
    entry_resolved(s, e, sha);
}

/* RFC 826, "Packet Reception". */
void arp_input(struct ust_stack *s, int dev, const uint8_t *data, size_t len)
{
    struct ust_device *d = s->ifs->at[dev].dev;
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

    if (s->dhcp)
        dhcp_arp_input(s, dev, r.op, r.sha, r.spa, r.tpa); /* RFC 5227 conflicts */
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
            entry_heard(s, e, r.sha);
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
        struct arp_entry *e = entry_alloc(s, true);
        if (e) {
            e->dev = dev;
            e->ip = r.spa;
            e->heard_at = s->now;
            s->stats.arp.cache_add++;
            entry_resolved(s, e, r.sha);
        } else {
            debugf(s, "dev=%s: every entry in use or resolving, %s not cached", d->name, sa);
        }
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
        e->last_used = s->now;
        return 0;
    }
    if (!e || e->state == ARP_RESOLVED) {
        if (!e)
            e = entry_alloc(s, false); /* never NULL for our own sends */
        e->state = ARP_INCOMPLETE;
        e->verifying = false;
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
    for (unsigned i = 0; i < s->arp->size; i++) {
        struct arp_entry *e = &s->arp->entry[i];
        if (e->state == ARP_RESOLVED) {
            if (now >= e->expires) {
                debugf(s, "ip=%s: entry expired", ust_ip4_format(e->ip, a));
                s->stats.arp.cache_expire++;
                entry_free(s, e);
            } else if (e->verifying && now >= e->verify_until) {
                /* The holder did not answer: the address has moved. */
                char m[18];
                debugf(s, "ip=%s: no answer from the holder, now at %s", ust_ip4_format(e->ip, a),
                       eth_format(e->claimed_mac, m));
                s->stats.arp.mac_changed++;
                uint8_t claimed[6];
                memcpy(claimed, e->claimed_mac, 6);
                e->verifying = false;
                e->heard_at = 0;
                entry_resolved(s, e, claimed);
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
                debugf(s,
                       "ip=%s: no answer after %u requests, dropping %u packets; their "
                       "senders are told \"host unreachable\"",
                       ust_ip4_format(e->ip, a), e->retries + 1, e->npending);
                s->stats.arp.resolve_failed++;
                /* The entry goes first: telling a sender may make it send
                 * again, which starts a fresh resolution. */
                struct pkbuf *p = e->pending;
                e->pending = e->pending_tail = NULL;
                e->npending = 0;
                entry_free(s, e);
                s->stats.arp.pending_dropped += ip_local_unreach(s, p);
            }
        }
    }
}

ust_time_t arp_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = UST_TIME_NEVER;
    for (unsigned i = 0; i < s->arp->size; i++) {
        const struct arp_entry *e = &s->arp->entry[i];
        if (e->state == ARP_FREE)
            continue;
        ust_time_t d = e->expires;
        if (e->state == ARP_RESOLVED && e->used && e->refresh_at < d)
            d = e->refresh_at;
        if (e->state == ARP_RESOLVED && e->verifying && e->verify_until < d)
            d = e->verify_until;
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
