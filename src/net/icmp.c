/* ICMP for IPv4. */
#include "net/icmp.h"

#include <errno.h>
#include <string.h>

#include "net/ipv4.h"
#include "net/netif.h"
#include "transport/tcp.h"
#include "transport/udp.h"
#include "wire/bytes.h"

static void ping_deliver(struct ust_stack *s, const struct ipv4_repr *ip,
                         const struct icmp_repr *m);

void icmp_input(struct ust_stack *s, int dev, const struct ipv4_repr *ip, const uint8_t *pkt,
                const uint8_t *payload, size_t len, bool bcast)
{
    (void)pkt;
    struct icmp_repr m;
    int err = icmp_parse(payload, len, &m);
    char sa[UST_IP4_STRLEN];
    if (err != WIRE_OK) {
        if (err == WIRE_ETRUNC)
            s->stats.icmp.drop_short++;
        else
            s->stats.icmp.drop_checksum++;
        debugf(s, "src=%s, len=%zu: %s ICMP message dropped", ust_ip4_format(ip->src, sa), len,
               err == WIRE_ETRUNC ? "truncated" : "bad checksum");
        return;
    }
    s->stats.icmp.rx++;
    debugf(s, "dev=%s, src=%s, type=%u, code=%u, len=%zu", s->ifs->at[dev].dev->name,
           ust_ip4_format(ip->src, sa), m.type, m.code, len);
    switch (m.type) {
    case ICMP_ECHO_REQUEST: {
        s->stats.icmp.rx_echo_request++;
        if (bcast) {
            /* RFC 1122 3.2.2.6 allows ignoring broadcast echo; we do (smurf). */
            s->stats.icmp.drop_broadcast_echo++;
            return;
        }
        /* RFC 792: the reply carries the identifier, sequence number and
         * data of the request unchanged. */
        struct pkbuf *p = pkb_alloc(s, len);
        if (!p)
            return;
        memcpy(pkb_data(p) + ICMP_HDR_LEN, m.payload, m.payload_len);
        struct icmp_repr r = {.type = ICMP_ECHO_REPLY, .code = 0, .rest = m.rest,
                              .payload = pkb_data(p) + ICMP_HDR_LEN, .payload_len = m.payload_len};
        icmp_emit(&r, pkb_data(p));
        s->stats.icmp.tx++;
        s->stats.icmp.tx_echo_reply++;
        ipv4_output(s, p, IPV4_PROTO_ICMP, ip->dst, ip->src, 0, false);
        break;
    }
    case ICMP_ECHO_REPLY:
        s->stats.icmp.rx_echo_reply++;
        ping_deliver(s, ip, &m);
        break;
    case ICMP_DEST_UNREACH:
    case ICMP_SOURCE_QUENCH:
    case ICMP_REDIRECT:
    case ICMP_TIME_EXCEEDED:
    case ICMP_PARAM_PROBLEM:
        /* RFC 1122 3.2.2: pass the error to the transport protocol of the
         * datagram it quotes. */
        s->stats.icmp.rx_error++;
        udp_icmp_error(s, m.type, m.code, m.payload, m.payload_len);
        tcp_icmp_error(s, m.type, m.code, m.payload, m.payload_len);
        break;
    default:
        s->stats.icmp.drop_unknown_type++;
        break;
    }
}

void icmp_send_error(struct ust_stack *s, uint8_t type, uint8_t code, uint32_t rest,
                     const struct ipv4_repr *ip, const uint8_t *pkt, bool bcast)
{
    /* RFC 1122 3.2.2: never about an ICMP error, a broadcast or multicast,
     * a fragment other than the first, or a source that is not one host. */
    bool about_error = false;
    if (ip->proto == IPV4_PROTO_ICMP) {
        size_t plen = (size_t)ip->total_len - ip->hdr_len;
        about_error = ipv4_is_fragment(ip) && !ipv4_is_first_fragment(ip);
        if (!about_error)
            about_error = plen < 1 || icmp_is_error(pkt[ip->hdr_len]);
    }
    if (about_error || bcast || (ip->dst >> 28) == 0xe || !ipv4_is_first_fragment(ip) ||
        ipv4_is_martian_src(ip->src) || (ip->src >> 24) == 127) {
        s->stats.icmp.error_suppressed++;
        return;
    }
    if (!tbucket_take(&s->icmp_bucket, s->now)) {
        s->stats.icmp.rate_limited++;
        return;
    }
    /* RFC 792: the internet header plus the first 64 bits of data. */
    size_t quote = ip->hdr_len + 8u;
    if (quote > ip->total_len)
        quote = ip->total_len;
    struct pkbuf *p = pkb_alloc(s, ICMP_HDR_LEN + quote);
    if (!p)
        return;
    struct icmp_repr r = {.type = type, .code = code, .rest = rest, .payload = pkt,
                          .payload_len = quote};
    icmp_emit(&r, pkb_data(p));
    s->stats.icmp.tx++;
    if (type == ICMP_DEST_UNREACH)
        s->stats.icmp.tx_dest_unreach++;
    char sa[UST_IP4_STRLEN];
    debugf(s, "dst=%s, type=%u, code=%u", ust_ip4_format(ip->src, sa), type, code);
    ipv4_output(s, p, IPV4_PROTO_ICMP, ip->dst, ip->src, 0, false);
}

/* ---- ping endpoints ---- */

#define PING_IDX_BITS 3
_Static_assert((1 << PING_IDX_BITS) == UST_MAX_PING, "handle encoding");

static struct ping_ep *ep_get(struct ust_stack *s, int h)
{
    if (h < 0)
        return NULL;
    struct ping_ep *ep = &s->ping[h & (UST_MAX_PING - 1)];
    if (!ep->used || (ep->gen & 0xfffffu) != ((unsigned)h >> PING_IDX_BITS))
        return NULL;
    return ep;
}

static bool id_in_use(const struct ust_stack *s, uint16_t id)
{
    for (int i = 0; i < UST_MAX_PING; i++)
        if (s->ping[i].used && s->ping[i].id == id)
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
        struct ping_ep *ep = &s->ping[i];
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
    struct icmp_repr r = {.type = ICMP_ECHO_REQUEST, .rest = ((uint32_t)ep->id << 16) | seq,
                          .payload = data, .payload_len = len};
    icmp_emit(&r, pkb_data(p));
    s->stats.icmp.tx++;
    s->stats.icmp.tx_echo_request++;
    return ipv4_output(s, p, IPV4_PROTO_ICMP, 0, dst, 0, false);
}

static void ping_deliver(struct ust_stack *s, const struct ipv4_repr *ip, const struct icmp_repr *m)
{
    uint16_t id = (uint16_t)(m->rest >> 16);
    struct ping_ep *ep = NULL;
    for (int i = 0; i < UST_MAX_PING; i++)
        if (s->ping[i].used && s->ping[i].id == id)
            ep = &s->ping[i];
    if (!ep) {
        s->stats.icmp.drop_no_listener++;
        return;
    }
    if (ep->count == UST_PING_QUEUE) {
        s->stats.icmp.drop_queue_full++;
        return;
    }
    struct pkbuf *p = NULL;
    if (m->payload_len) {
        p = pkb_alloc(s, m->payload_len);
        if (!p) {
            s->stats.icmp.drop_queue_full++;
            return;
        }
        memcpy(pkb_data(p), m->payload, m->payload_len);
    }
    struct ping_reply_slot *slot = &ep->q[(ep->head + ep->count) % UST_PING_QUEUE];
    slot->payload = p;
    slot->r = (struct ust_ping_reply){.from = ip->src, .id = id, .seq = (uint16_t)m->rest,
                                      .ttl = ip->ttl, .len = m->payload_len, .received = s->now};
    ep->count++;
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

void icmp_fini(struct ust_stack *s)
{
    for (int i = 0; i < UST_MAX_PING; i++)
        if (s->ping[i].used)
            ep_clear(s, &s->ping[i]);
}
