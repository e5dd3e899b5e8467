/* The DHCP client in the stack: turns the state machine's outputs into
 * frames, interface addresses, routes, the MTU and DNS servers, and feeds
 * it what arrives. RFC 2131 4.1: before the interface has an address the
 * client sends from 0.0.0.0 to the limited broadcast, and hears replies
 * whatever IP destination they carry (a server may unicast the offer to
 * the address it offers, at our MAC). */
#include "net/dhcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/arp.h"
#include "net/dhcp_client.h"
#include "net/ethernet.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "net/route.h"
#include "wire/bytes.h"
#include "wire/dhcp.h"
#include "wire/ethernet.h"
#include "wire/udp.h"

void dhcp_fini(struct ust_stack *s)
{
    if (!s->dhcp)
        return;
    for (int i = 0; i < UST_MAX_DEVICES; i++)
        free(s->dhcp->client[i]);
    free(s->dhcp);
    s->dhcp = NULL;
}

static struct dhcpc *client_of(const struct ust_stack *s, int dev)
{
    return (s->dhcp && dev >= 0 && dev < UST_MAX_DEVICES) ? s->dhcp->client[dev] : NULL;
}

static void send_msg(struct ust_stack *s, int dev, const struct dhcpc_out *out)
{
    const char *name = s->ifs->at[dev].dev->name;
    struct pkbuf *p = pkb_alloc(s, UDP_HDR_LEN + DHCP_EMIT_LEN);
    if (!p)
        return;
    size_t n = dhcp_emit(&out->msg, pkb_data(p) + UDP_HDR_LEN, DHCP_EMIT_LEN);
    struct udp_repr u = {.sport = DHCP_CLIENT_PORT, .dport = DHCP_SERVER_PORT};
    udp_emit(&u, ipv4_pseudo_sum(out->src, out->dst, IPV4_PROTO_UDP, 0), pkb_data(p), n);
    p->len = UDP_HDR_LEN + n;
    s->stats.dhcp.tx++;
    char d[UST_IP4_STRLEN];
    debugf(s, "dev=%s: DHCP %s sent to %s, xid=0x%08x", name, dhcp_type_name(out->msg.type),
           ust_ip4_format(out->dst, d), out->msg.xid);
    uint8_t mac[ETH_ADDR_LEN];
    bool raw_release = out->msg.type == DHCP_RELEASE && arp_lookup(s, dev, out->dst, mac) != 0;
    if (out->src != 0 && !raw_release) {
        /* We have an address: routed (and ARPed) like any datagram. */
        ipv4_output(s, p, IPV4_PROTO_UDP, out->src, out->dst, 0, false, 0);
        return;
    }
    /* From 0.0.0.0 to 255.255.255.255 on this link: no route applies. A
     * RELEASE to a server whose MAC we do not know goes out at once in a
     * link broadcast: the stack is about to stop, and ARP would take a
     * round trip it may not wait for. */
    uint8_t *h = pkb_push(p, IPV4_HDR_LEN);
    if (!h) {
        pkb_free(s, p);
        return;
    }
    struct ipv4_repr ip = {
        .total_len = (uint16_t)p->len,
        .id = s->ip->next_id++,
        .ttl = s->cfg.ip_default_ttl,
        .proto = IPV4_PROTO_UDP,
        .src = out->src,
        .dst = out->dst,
    };
    ipv4_emit(&ip, h);
    s->stats.ip.tx++;
    eth_output(s, dev, p, eth_broadcast, ETH_TYPE_IPV4);
}

static void format_lease(const struct ust_dhcp_lease *l, char *buf, size_t cap)
{
    char a[UST_IP4_STRLEN];
    size_t off = 0;
    off += (size_t)snprintf(buf + off, cap - off, "router %s",
                            l->router ? ust_ip4_format(l->router, a) : "none");
    off += (size_t)snprintf(buf + off, cap - off, ", DNS");
    for (unsigned i = 0; i < l->ndns && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, " %s", ust_ip4_format(l->dns[i], a));
    if (l->ndns == 0 && off < cap)
        off += (size_t)snprintf(buf + off, cap - off, " none");
    if (l->mtu && off < cap)
        snprintf(buf + off, cap - off, ", MTU %u", l->mtu);
}

static void apply_lease(struct ust_stack *s, int dev, const struct ust_dhcp_lease *l)
{
    struct ust_device *d = s->ifs->at[dev].dev;
    char a[UST_IP4_STRLEN], sv[UST_IP4_STRLEN], more[160];
    format_lease(l, more, sizeof(more));
    if (l->lease_s == 0xffffffffu)
        infof(s, "dev=%s: DHCP: leased %s/%u from server %s for ever; %s", d->name,
              ust_ip4_format(l->addr, a), l->prefix_len, ust_ip4_format(l->server, sv), more);
    else
        infof(s, "dev=%s: DHCP: leased %s/%u from server %s for %u s (renewing in %llu s); %s",
              d->name, ust_ip4_format(l->addr, a), l->prefix_len, ust_ip4_format(l->server, sv),
              l->lease_s, (unsigned long long)(l->t1 > s->now ? (l->t1 - s->now) / UST_SEC : 0),
              more);
    s->stats.dhcp.leases++;
    int err = ust_iface_add(s, d->name, l->addr, l->prefix_len, s->now);
    if (err)
        warnf(s, "dev=%s: DHCP: address not configured: %s", d->name, strerror(-err));
    if (l->router) {
        err = ust_route_add(s, 0, 0, l->router, d->name);
        if (err)
            warnf(s, "dev=%s: DHCP: default route via the router not added: %s", d->name,
                  strerror(-err));
    }
    if (l->mtu && l->mtu < d->mtu) {
        s->dhcp->dev_mtu[dev] = d->mtu;
        d->mtu = l->mtu;
    }
    if (!s->dns_static) {
        memcpy(s->dns_servers, l->dns, sizeof(l->dns));
        s->ndns = l->ndns;
    }
}

static void remove_lease(struct ust_stack *s, int dev, const struct ust_dhcp_lease *l,
                         const char *why)
{
    struct ust_device *d = s->ifs->at[dev].dev;
    char a[UST_IP4_STRLEN];
    infof(s, "dev=%s: DHCP: lease on %s %s; removing the address", d->name,
          ust_ip4_format(l->addr, a), why);
    s->stats.dhcp.expiries++;
    netif_addr_del(s, dev);
    if (s->dhcp->dev_mtu[dev]) {
        d->mtu = s->dhcp->dev_mtu[dev];
        s->dhcp->dev_mtu[dev] = 0;
    }
    if (!s->dns_static)
        s->ndns = 0;
}

/* Carries out what the state machine asked for. A lost lease goes before
 * a DISCOVER from 0.0.0.0, but after a RELEASE sent from the address. */
static void act(struct ust_stack *s, int dev, const struct dhcpc_out *out, const char *why)
{
    bool lost = out->ev == DHCPC_EV_LOST;
    if (lost && out->send && out->src == 0)
        remove_lease(s, dev, &out->lease, why);
    if (out->send) {
        if (out->msg.type == DHCP_DECLINE)
            s->stats.dhcp.declines++;
        if (out->msg.type == DHCP_RELEASE)
            s->stats.dhcp.releases++;
        send_msg(s, dev, out);
    }
    if (lost && !(out->send && out->src == 0))
        remove_lease(s, dev, &out->lease, why);
    if (out->probe) {
        s->stats.dhcp.probes++;
        arp_probe(s, dev, out->probe_ip);
    }
    if (out->ev == DHCPC_EV_BOUND)
        apply_lease(s, dev, &out->lease);
    if (out->ev == DHCPC_EV_RENEWED) {
        char a[UST_IP4_STRLEN];
        s->stats.dhcp.renewals++;
        infof(s, "dev=%s: DHCP: lease on %s renewed for %u s", s->ifs->at[dev].dev->name,
              ust_ip4_format(out->lease.addr, a), out->lease.lease_s);
    }
}

int ust_dhcp_start(struct ust_stack *s, const char *devname, const struct ust_dhcp_config *cfg,
                   ust_time_t now)
{
    if (!s || !devname)
        return -EINVAL;
    int dev = netif_index(s, devname);
    if (dev < 0)
        return -ENODEV;
    struct ust_device *d = s->ifs->at[dev].dev;
    if (d->type != UST_DEV_ETHERNET)
        return -EINVAL;
    if (s->ifs->at[dev].up || client_of(s, dev))
        return -EEXIST;
    if (!s->dhcp && !(s->dhcp = calloc(1, sizeof(*s->dhcp))))
        return -ENOMEM;
    struct dhcpc *c = malloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    if (now > s->now)
        s->now = now;
    dhcpc_init(c, cfg, d->mac, (uint16_t)(d->mtu > 0xffff ? 0xffff : d->mtu), rng_next(&s->rng));
    s->dhcp->client[dev] = c;
    infof(s, "dev=%s: DHCP: asking for an address (DISCOVER)", d->name);
    struct dhcpc_out out;
    dhcpc_start(c, s->now, &out);
    act(s, dev, &out, "");
    return 0;
}

int ust_dhcp_stop(struct ust_stack *s, const char *devname, bool release, ust_time_t now)
{
    if (!s)
        return -EINVAL;
    if (!devname) {
        int n = 0;
        for (int i = 0; i < s->ifs->n; i++)
            if (client_of(s, i) && ust_dhcp_stop(s, s->ifs->at[i].dev->name, release, now) == 0)
                n++;
        return n ? 0 : -ENOENT;
    }
    int dev = netif_index(s, devname);
    struct dhcpc *c = client_of(s, dev);
    if (!c)
        return -ENOENT;
    if (now > s->now)
        s->now = now;
    struct dhcpc_out out;
    dhcpc_stop(c, release, s->now, &out);
    act(s, dev, &out, release ? "released" : "given up (client stopped)");
    free(c);
    s->dhcp->client[dev] = NULL;
    return 0;
}

int ust_dhcp_lease(struct ust_stack *s, const char *devname, struct ust_dhcp_lease *out)
{
    if (!s || !devname || !out)
        return -EINVAL;
    struct dhcpc *c = client_of(s, netif_index(s, devname));
    if (!c)
        return -ENOENT;
    if (c->state != DHCPC_BOUND && c->state != DHCPC_RENEWING && c->state != DHCPC_REBINDING)
        return -EAGAIN;
    *out = c->lease;
    return 0;
}

bool dhcp_ipv4_input(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt)
{
    struct dhcpc *c = client_of(s, dev);
    if (!c)
        return false;
    const uint8_t *seg = pkt + ip->hdr_len;
    size_t len = (size_t)ip->total_len - ip->hdr_len;
    if (len < UDP_HDR_LEN || ld16(seg) != DHCP_SERVER_PORT || ld16(seg + 2) != DHCP_CLIENT_PORT)
        return false;
    /* Bound, only what is addressed to us or broadcast is ours to take. */
    struct netif *nif = netif_get(s, dev);
    if (nif && ip->dst != nif->addr && ip->dst != 0xffffffffu && ip->dst != netif_bcast(nif))
        return false;
    const char *name = s->ifs->at[dev].dev->name;
    struct udp_repr u;
    struct dhcp_repr m;
    /* The kernel's side of a TAP with offloads leaves dnsmasq's checksum
     * partial: the device's word stands, as in udp_input. */
    bool verify = !netif_rx_csum_trusted(s, seg, len, 6);
    int err = udp_parse_csum(seg, len, ipv4_pseudo_sum(ip->src, ip->dst, IPV4_PROTO_UDP, 0), verify,
                             &u);
    if (err == WIRE_OK)
        err = dhcp_parse(seg + UDP_HDR_LEN, (size_t)u.len - UDP_HDR_LEN, &m);
    if (err != WIRE_OK) {
        s->stats.dhcp.drop_malformed++;
        debugf(s, "dev=%s: malformed DHCP message (%d) dropped", name, err);
        return true;
    }
    s->stats.dhcp.rx++;
    enum dhcpc_state before = c->state;
    struct dhcpc_out out;
    int rej = dhcpc_input(c, &m, s->now, &out);
    char sv[UST_IP4_STRLEN], a[UST_IP4_STRLEN];
    if (rej == DHCPC_REJ_NOT_OURS) {
        s->stats.dhcp.drop_not_ours++;
        debugf(s, "dev=%s: DHCP %s xid=0x%08x from %s not for us in state %s, dropped", name,
               dhcp_type_name(m.type), m.xid, ust_ip4_format(ip->src, sv),
               dhcpc_state_name(c->state));
        return true;
    }
    if (rej == DHCPC_REJ_BAD_LEASE) {
        s->stats.dhcp.drop_bad_lease++;
        /* Once at warn level (an operator should hear of a broken
         * server), then at debug: a flood of them must not flood the log. */
        enum ust_log_level lvl = s->dhcp->warned_bad[dev] ? UST_LOG_DEBUG : UST_LOG_WARN;
        s->dhcp->warned_bad[dev] = true;
        ust_log_at(s, lvl,
                   "dev=%s: DHCP %s from server %s offers %s, which cannot be a host address here "
                   "(or no server id); ignored",
                   name, dhcp_type_name(m.type), ust_ip4_format(ip->src, sv),
                   ust_ip4_format(m.yiaddr, a));
        return true;
    }
    switch (m.type) {
    case DHCP_OFFER:
        s->stats.dhcp.offers++;
        infof(s, "dev=%s: DHCP: server %s offers %s/%u; requesting it", name,
              ust_ip4_format(c->offer.server, sv), ust_ip4_format(c->offer.addr, a),
              c->offer.prefix_len);
        break;
    case DHCP_ACK:
        s->stats.dhcp.acks++;
        if (c->state == DHCPC_PROBING)
            infof(s,
                  "dev=%s: DHCP: server acknowledged %s; checking with ARP that no other "
                  "host uses it",
                  name, ust_ip4_format(c->offer.addr, a));
        break;
    case DHCP_NAK:
        s->stats.dhcp.naks++;
        infof(s, "dev=%s: DHCP: server %s refused (NAK%s%s) in state %s; starting over", name,
              ust_ip4_format(ip->src, sv), m.message[0] ? ": " : "", m.message,
              dhcpc_state_name(before));
        break;
    default: break;
    }
    act(s, dev, &out, m.type == DHCP_NAK ? "refused by the server (NAK)" : "replaced");
    return true;
}

void dhcp_arp_input(struct ust_stack *s, int dev, uint16_t op, const uint8_t sha[6], ust_ip4_t spa,
                    ust_ip4_t tpa)
{
    struct dhcpc *c = client_of(s, dev);
    uint32_t ip = c ? dhcpc_probing(c) : 0;
    if (!ip || memcmp(sha, s->ifs->at[dev].dev->mac, 6) == 0)
        return;
    /* RFC 5227 2.1.1: any ARP packet from the address, or another host's
     * probe for it, is a conflict. */
    if (spa == ip || (op == 1 && spa == 0 && tpa == ip)) {
        char a[UST_IP4_STRLEN], m[18];
        warnf(s, "dev=%s: DHCP: %s is already used by %s; declining it, asking again in %llu s",
              s->ifs->at[dev].dev->name, ust_ip4_format(ip, a), eth_format(sha, m),
              (unsigned long long)(c->cfg.decline_wait / UST_SEC));
        struct dhcpc_out out;
        dhcpc_conflict(c, s->now, &out);
        act(s, dev, &out, "");
    }
}

void dhcp_timer(struct ust_stack *s, ust_time_t now)
{
    for (int i = 0; i < UST_MAX_DEVICES && s->dhcp; i++) {
        struct dhcpc *c = s->dhcp->client[i];
        if (!c || now < c->deadline)
            continue;
        enum dhcpc_state before = c->state;
        struct dhcpc_out out;
        dhcpc_timer(c, now, &out);
        const char *name = s->ifs->at[i].dev->name;
        char a[UST_IP4_STRLEN];
        if (c->state == DHCPC_RENEWING && before == DHCPC_BOUND)
            infof(s, "dev=%s: DHCP: T1 reached, renewing the lease on %s with its server", name,
                  ust_ip4_format(c->lease.addr, a));
        else if (c->state == DHCPC_REBINDING && before != DHCPC_REBINDING)
            infof(s,
                  "dev=%s: DHCP: T2 reached without an answer, asking any server to extend "
                  "the lease on %s",
                  name, ust_ip4_format(c->lease.addr, a));
        else if (before == DHCPC_SELECTING && c->state == DHCPC_SELECTING && out.send)
            debugf(s, "dev=%s: DHCP: no offer yet, DISCOVER again (next in %llu ms)", name,
                   (unsigned long long)((c->deadline - now) / UST_MS));
        else if (before == DHCPC_REQUESTING && c->state == DHCPC_SELECTING)
            infof(s, "dev=%s: DHCP: no answer to %u REQUESTs; starting over", name,
                  c->cfg.request_tries);
        act(s, i, &out, "expired (no server extended it)");
    }
}

ust_time_t dhcp_next_deadline(const struct ust_stack *s)
{
    ust_time_t t = UST_TIME_NEVER;
    for (int i = 0; i < UST_MAX_DEVICES && s->dhcp; i++)
        if (s->dhcp->client[i] && s->dhcp->client[i]->deadline < t)
            t = s->dhcp->client[i]->deadline;
    return t;
}
