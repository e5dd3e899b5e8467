/* The DHCP client's state machine: RFC 2131 4.4 (figure 5), the
 * retransmission rules of 4.1 and 4.4.5, and the ARP probe of RFC 5227
 * 2.1 before an address is used. Sans-I/O: see dhcp_client.h. */
#include "net/dhcp_client.h"

#include <string.h>

void ust_dhcp_config_init(struct ust_dhcp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->retrans_initial = 4 * UST_SEC;
    cfg->request_tries = 4;
    cfg->probe_num = 3;
    cfg->probe_min = 1 * UST_SEC;
    cfg->probe_max = 2 * UST_SEC;
    cfg->announce_wait = 2 * UST_SEC;
    cfg->decline_wait = 10 * UST_SEC;
    cfg->renew_min = 60 * UST_SEC;
    cfg->min_lease = 10;
}

const char *dhcpc_state_name(enum dhcpc_state st)
{
    static const char *const names[] = {"STOPPED", "INIT",  "SELECTING", "REQUESTING",
                                        "PROBING", "BOUND", "RENEWING",  "REBINDING"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

#define RETRANS_MAX (64 * UST_SEC) /* RFC 2131 4.1 */

void dhcpc_init(struct dhcpc *c, const struct ust_dhcp_config *cfg, const uint8_t mac[6],
                uint16_t dev_mtu, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    if (cfg)
        c->cfg = *cfg;
    else
        ust_dhcp_config_init(&c->cfg);
    if (c->cfg.retrans_initial == 0)
        c->cfg.retrans_initial = 4 * UST_SEC;
    if (c->cfg.request_tries == 0)
        c->cfg.request_tries = 1;
    if (c->cfg.probe_max < c->cfg.probe_min)
        c->cfg.probe_max = c->cfg.probe_min;
    memcpy(c->mac, mac, 6);
    c->dev_mtu = dev_mtu;
    rng_seed(&c->rng, seed);
    c->deadline = UST_TIME_NEVER;
}

uint32_t dhcpc_probing(const struct dhcpc *c)
{
    return c->state == DHCPC_PROBING ? c->offer.addr : 0;
}

/* A retransmission interval randomised by +/- 1 s (RFC 2131 4.1), or by a
 * quarter of it when it is shorter than 4 s (the tests' fast clocks). */
static ust_time_t jitter(struct dhcpc *c, ust_time_t interval)
{
    ust_time_t j = interval / 4 < UST_SEC ? interval / 4 : UST_SEC;
    return interval - j + rng_below(&c->rng, (uint32_t)(2 * j + 1));
}

static void new_xid(struct dhcpc *c) { c->xid = (uint32_t)rng_next(&c->rng); }

static void msg_init(struct dhcpc *c, struct dhcpc_out *out, uint8_t type, ust_time_t now)
{
    struct dhcp_repr *m = &out->msg;
    memset(m, 0, sizeof(*m));
    m->op = DHCP_BOOTREQUEST;
    m->type = type;
    m->xid = c->xid;
    ust_time_t secs = (now - c->started) / UST_SEC;
    m->secs = (uint16_t)(secs > 0xffff ? 0xffff : secs);
    memcpy(m->chaddr, c->mac, 6);
    out->send = true;
    out->src = 0;
    out->dst = 0xffffffffu;
}

static void send_discover(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out)
{
    if (c->state != DHCPC_SELECTING) {
        new_xid(c);
        c->started = now;
        c->interval = c->cfg.retrans_initial;
        c->state = DHCPC_SELECTING;
    } else if (c->interval < RETRANS_MAX) {
        c->interval *= 2;
        if (c->interval > RETRANS_MAX)
            c->interval = RETRANS_MAX;
    }
    msg_init(c, out, DHCP_DISCOVER, now);
    c->deadline = now + jitter(c, c->interval);
}

/* REQUEST in SELECTING's answer (RFC 2131 4.3.2 table 4): broadcast, with
 * the server identifier and the requested address. */
static void send_request(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out)
{
    msg_init(c, out, DHCP_REQUEST, now);
    out->msg.requested_ip = c->offer.addr;
    out->msg.server_id = c->offer.server;
    c->tries++;
    c->deadline = now + jitter(c, c->interval);
    if (c->interval < RETRANS_MAX)
        c->interval *= 2;
}

/* REQUEST while RENEWING (unicast to the server) or REBINDING (broadcast):
 * ciaddr is ours, no server identifier or requested address (table 4).
 * The next try comes after half the time left until T2 (or expiry), at
 * least renew_min, and never after that T2 (or expiry) itself. */
static void send_extend(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out)
{
    msg_init(c, out, DHCP_REQUEST, now);
    out->msg.ciaddr = c->lease.addr;
    out->src = c->lease.addr;
    out->dst = c->state == DHCPC_RENEWING ? c->lease.server : 0xffffffffu;
    ust_time_t until = c->state == DHCPC_RENEWING ? c->lease.t2 : c->lease.expires;
    ust_time_t wait = until > now ? (until - now) / 2 : 0;
    if (wait < c->cfg.renew_min)
        wait = c->cfg.renew_min;
    c->deadline = (until != UST_TIME_NEVER && now + wait > until) ? until : now + wait;
}

static void restart(struct dhcpc *c, ust_time_t at)
{
    c->state = DHCPC_INIT;
    c->deadline = at;
    c->tries = 0;
    memset(&c->offer, 0, sizeof(c->offer));
}

static void lose(struct dhcpc *c, struct dhcpc_out *out)
{
    out->ev = DHCPC_EV_LOST;
    out->lease = c->lease;
    memset(&c->lease, 0, sizeof(c->lease));
}

void dhcpc_start(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out)
{
    memset(out, 0, sizeof(*out));
    c->state = DHCPC_INIT;
    send_discover(c, now, out);
}

static unsigned mask_prefix(uint32_t mask)
{
    unsigned n = 0;
    while (n < 32 && (mask & (0x80000000u >> n)))
        n++;
    return n;
}

static bool is_unicast(uint32_t a)
{
    return a != 0 && (a >> 24) != 0 && (a >> 24) != 127 && (a >> 28) < 0xe;
}

/* The lease a reply offers, checked: a hostile or broken server must not
 * make us take an address that cannot be a host's, a mask that is no
 * prefix, a router off the subnet or a lease that makes us spin. false:
 * not usable at all. */
static bool lease_from(const struct dhcpc *c, const struct dhcp_repr *m, ust_time_t now,
                       struct ust_dhcp_lease *l)
{
    memset(l, 0, sizeof(*l));
    if (!is_unicast(m->yiaddr) || !is_unicast(m->server_id))
        return false;
    unsigned plen;
    if (m->has_mask) {
        plen = mask_prefix(m->mask);
        if (m->mask != (plen ? 0xffffffffu << (32 - plen) : 0) || plen < 8 || plen > 30)
            return false;
    } else { /* RFC 1122 3.3.1.1's classful default */
        plen = (m->yiaddr >> 31) == 0 ? 8 : (m->yiaddr >> 30) == 2 ? 16 : 24;
    }
    uint32_t mask = 0xffffffffu << (32 - plen);
    if ((m->yiaddr & ~mask) == 0 || (m->yiaddr & ~mask) == ~mask)
        return false; /* the subnet's own or its broadcast address */
    l->addr = m->yiaddr;
    l->prefix_len = plen;
    l->server = m->server_id;
    if (m->router && m->router != m->yiaddr && (m->router & mask) == (m->yiaddr & mask) &&
        (m->router & ~mask) != ~mask && (m->router & ~mask) != 0)
        l->router = m->router;
    for (unsigned i = 0; i < m->ndns && l->ndns < 3; i++)
        if (is_unicast(m->dns[i]))
            l->dns[l->ndns++] = m->dns[i];
    if (m->has_mtu && m->mtu >= 576 && m->mtu <= c->dev_mtu)
        l->mtu = m->mtu;
    uint32_t lease = m->has_lease ? m->lease : 0;
    if (lease < c->cfg.min_lease)
        lease = c->cfg.min_lease;
    l->lease_s = lease;
    if (lease == 0xffffffffu) { /* RFC 2131 3.3: infinite */
        l->t1 = l->t2 = l->expires = UST_TIME_NEVER;
        return true;
    }
    uint32_t t1 = lease / 2, t2 = (uint32_t)((uint64_t)lease * 7 / 8);
    if (m->has_t1 && m->has_t2 && m->t1 < m->t2 && m->t2 < lease) {
        t1 = m->t1;
        t2 = m->t2;
    } else if (m->has_t1 && m->t1 < t2) {
        t1 = m->t1;
    } else if (m->has_t2 && m->t2 > t1 && m->t2 < lease) {
        t2 = m->t2;
    }
    l->t1 = now + (ust_time_t)t1 * UST_SEC;
    l->t2 = now + (ust_time_t)t2 * UST_SEC;
    l->expires = now + (ust_time_t)lease * UST_SEC;
    return true;
}

static void bind_lease(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out, bool renewed)
{
    (void)now;
    c->state = DHCPC_BOUND;
    c->deadline = c->lease.t1;
    out->ev = renewed ? DHCPC_EV_RENEWED : DHCPC_EV_BOUND;
    out->lease = c->lease;
}

int dhcpc_input(struct dhcpc *c, const struct dhcp_repr *m, ust_time_t now, struct dhcpc_out *out)
{
    memset(out, 0, sizeof(*out));
    if (m->op != DHCP_BOOTREPLY || m->xid != c->xid || memcmp(m->chaddr, c->mac, 6) != 0)
        return DHCPC_REJ_NOT_OURS;
    struct ust_dhcp_lease l;
    switch (c->state) {
    case DHCPC_SELECTING:
        if (m->type != DHCP_OFFER)
            return DHCPC_REJ_NOT_OURS;
        if (!lease_from(c, m, now, &l))
            return DHCPC_REJ_BAD_LEASE;
        c->offer = l;
        c->state = DHCPC_REQUESTING;
        c->tries = 0;
        c->interval = c->cfg.retrans_initial;
        send_request(c, now, out);
        return DHCPC_OK;
    case DHCPC_REQUESTING:
        if (m->server_id != c->offer.server)
            return DHCPC_REJ_NOT_OURS;
        if (m->type == DHCP_NAK) {
            restart(c, now + jitter(c, c->cfg.retrans_initial));
            return DHCPC_OK;
        }
        if (m->type != DHCP_ACK)
            return DHCPC_REJ_NOT_OURS;
        if (!lease_from(c, m, now, &l) || l.addr != c->offer.addr)
            return DHCPC_REJ_BAD_LEASE;
        c->offer = l;
        if (c->cfg.probe_num == 0) {
            c->lease = l;
            bind_lease(c, now, out, false);
            return DHCPC_OK;
        }
        /* RFC 5227 2.1.1: probe first; the first one goes now. */
        c->state = DHCPC_PROBING;
        c->probes = 1;
        out->probe = true;
        out->probe_ip = l.addr;
        c->deadline = c->probes >= c->cfg.probe_num
                          ? now + c->cfg.announce_wait
                          : now + c->cfg.probe_min +
                                rng_below(&c->rng,
                                          (uint32_t)(c->cfg.probe_max - c->cfg.probe_min + 1));
        return DHCPC_OK;
    case DHCPC_RENEWING:
    case DHCPC_REBINDING:
        if (m->type == DHCP_NAK) {
            lose(c, out);
            restart(c, now + jitter(c, c->cfg.retrans_initial));
            return DHCPC_OK;
        }
        if (m->type != DHCP_ACK)
            return DHCPC_REJ_NOT_OURS;
        if (!lease_from(c, m, now, &l))
            return DHCPC_REJ_BAD_LEASE;
        if (l.addr != c->lease.addr || l.prefix_len != c->lease.prefix_len) {
            /* A different address: give ours up and start over. */
            lose(c, out);
            restart(c, now);
            return DHCPC_OK;
        }
        c->lease = l;
        bind_lease(c, now, out, true);
        return DHCPC_OK;
    default: return DHCPC_REJ_NOT_OURS;
    }
}

void dhcpc_timer(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out)
{
    memset(out, 0, sizeof(*out));
    if (now < c->deadline)
        return;
    switch (c->state) {
    case DHCPC_INIT:
    case DHCPC_SELECTING: send_discover(c, now, out); break;
    case DHCPC_REQUESTING:
        if (c->tries < c->cfg.request_tries)
            send_request(c, now, out);
        else {
            restart(c, now);
            send_discover(c, now, out);
        }
        break;
    case DHCPC_PROBING:
        if (c->probes < c->cfg.probe_num) {
            c->probes++;
            out->probe = true;
            out->probe_ip = c->offer.addr;
            c->deadline = c->probes >= c->cfg.probe_num
                              ? now + c->cfg.announce_wait
                              : now + c->cfg.probe_min +
                                    rng_below(&c->rng,
                                              (uint32_t)(c->cfg.probe_max - c->cfg.probe_min + 1));
        } else {
            c->lease = c->offer;
            bind_lease(c, now, out, false);
        }
        break;
    case DHCPC_BOUND:
        new_xid(c);
        c->started = now;
        c->state = now >= c->lease.t2 ? DHCPC_REBINDING : DHCPC_RENEWING;
        send_extend(c, now, out);
        break;
    case DHCPC_RENEWING:
        if (now >= c->lease.t2)
            c->state = DHCPC_REBINDING;
        send_extend(c, now, out);
        break;
    case DHCPC_REBINDING:
        if (now >= c->lease.expires) {
            lose(c, out);
            restart(c, now);
            send_discover(c, now, out);
        } else {
            send_extend(c, now, out);
        }
        break;
    case DHCPC_STOPPED: c->deadline = UST_TIME_NEVER; break;
    }
}

void dhcpc_conflict(struct dhcpc *c, ust_time_t now, struct dhcpc_out *out)
{
    memset(out, 0, sizeof(*out));
    if (c->state != DHCPC_PROBING)
        return;
    /* RFC 2131 3.1.5: DECLINE, then wait at least 10 s before starting over. */
    msg_init(c, out, DHCP_DECLINE, now);
    out->msg.secs = 0;
    out->msg.requested_ip = c->offer.addr;
    out->msg.server_id = c->offer.server;
    restart(c, now + c->cfg.decline_wait);
}

void dhcpc_stop(struct dhcpc *c, bool release, ust_time_t now, struct dhcpc_out *out)
{
    memset(out, 0, sizeof(*out));
    bool held = c->state == DHCPC_BOUND || c->state == DHCPC_RENEWING ||
                c->state == DHCPC_REBINDING;
    if (held) {
        if (release) { /* RFC 2131 4.4.6: unicast to the server, ciaddr ours */
            new_xid(c);
            c->started = now;
            msg_init(c, out, DHCP_RELEASE, now);
            out->msg.secs = 0;
            out->msg.ciaddr = c->lease.addr;
            out->msg.server_id = c->lease.server;
            out->src = c->lease.addr;
            out->dst = c->lease.server;
        }
        lose(c, out);
    }
    c->state = DHCPC_STOPPED;
    c->deadline = UST_TIME_NEVER;
}
