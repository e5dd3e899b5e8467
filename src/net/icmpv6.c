/* ICMPv6 for a host (net/icmpv6.h). */
#include "net/icmpv6.h"

#include <string.h>

#include "core/siphash.h"
#include "net/icmp.h"
#include "net/ipv6.h"
#include "net/nd.h"
#include "net/ping.h"
#include "net/route6.h"
#include "transport/tcp.h"
#include "wire/bytes.h"
#include "wire/icmp_error.h"
#include "wire/icmpv6.h"

/* MLD (RFC 3810 5.1.3): the Maximum Response Code in milliseconds. */
static ust_time_t mld_max_delay(const uint8_t *msg, size_t len)
{
    uint32_t code = ld16(msg + 4);
    if (len >= 28 && code >= 0x8000) /* MLDv2's floating point form */
        code = ((code & 0x0fff) | 0x1000) << (((code >> 12) & 7) + 3);
    return (ust_time_t)code * UST_MS;
}

static void echo_reply(struct ust_stack *s, const struct ip_meta *m, const struct icmpv6_repr *req)
{
    struct ipv6_addr dst = ipaddr_to6(&m->src), src;
    struct ipv6_addr to = ipaddr_to6(&m->dst);
    /* To a group (ff02::1): answer from our own unicast address on that
     * link (RFC 4443 4.2). */
    const struct ipv6_addr *from = &to;
    if (ipv6_addr_is_multicast(&to)) {
        if (!ipv6_select_source(s, m->dev, &dst, &src))
            return;
        from = &src;
    }
    struct pkbuf *p = pkb_alloc(s, ICMPV6_HDR_LEN + req->payload_len);
    if (!p)
        return;
    struct icmpv6_repr r = {.type = ICMPV6_ECHO_REPLY,
                            .rest = req->rest,
                            .payload = req->payload,
                            .payload_len = req->payload_len};
    memcpy(pkb_data(p) + ICMPV6_HDR_LEN, req->payload, req->payload_len);
    icmpv6_emit(&r, from, &dst, pkb_data(p));
    s->stats.icmp6.tx++;
    s->stats.icmp6.tx_echo_reply++;
    ipv6_output(s, p, IPV6_NH_ICMPV6, from, &dst, NULL, m->dev);
}

/* An error about one of our packets: the quote goes up to the transport
 * it names; a Packet Too Big also teaches the path MTU. */
static void error_input(struct ust_stack *s, const struct ip_meta *m, const struct icmpv6_repr *r)
{
    s->stats.icmp6.rx_error++;
    struct icmp_quote q;
    if (icmp_quote_parse6(r->payload, r->payload_len, &q) != WIRE_OK) {
        s->stats.icmp6.drop_short++;
        return;
    }
    struct ipv6_addr peer;
    memcpy(peer.a, q.addr.v6.dst, 16);
    if (r->type == ICMPV6_PACKET_TOO_BIG) {
        s->stats.icmp6.rx_too_big++;
        if (pmtu_update(s, &peer, r->rest) && q.proto == IPV6_NH_TCP)
            tcp_pmtu_lowered(s, &q, pmtu_get(s, &peer, 65535));
        return;
    }
    (void)m;
    ip_error_deliver(s, &q, icmpv6_err_classify(r->type, r->code));
}

void icmpv6_input(struct ust_stack *s, const struct ip_meta *m, const uint8_t *msg, size_t len)
{
    struct ipv6_addr src = ipaddr_to6(&m->src), dst = ipaddr_to6(&m->dst);
    struct icmpv6_repr r;
    s->stats.icmp6.rx++;
    int err = icmpv6_parse(msg, len, &src, &dst, &r);
    if (err != WIRE_OK) {
        if (err == WIRE_ECSUM)
            s->stats.icmp6.drop_checksum++;
        else
            s->stats.icmp6.drop_short++;
        return;
    }
    switch (r.type) {
    case ICMPV6_ECHO_REQUEST:
        s->stats.icmp6.rx_echo_request++;
        echo_reply(s, m, &r);
        break;
    case ICMPV6_ECHO_REPLY:
        s->stats.icmp6.rx_echo_reply++;
        ping_deliver6(s, m, &r); /* to the ping endpoint with its identifier */
        break;
    case ICMPV6_ROUTER_SOLICIT:
    case ICMPV6_ROUTER_ADVERT:
    case ICMPV6_NEIGHBOR_SOLICIT:
    case ICMPV6_NEIGHBOR_ADVERT:
    case ICMPV6_REDIRECT: nd_input(s, m->dev, m->v6, msg, len); break;
    case ICMPV6_MLD_QUERY:
        s->stats.icmp6.rx_mld_query++;
        /* RFC 3810 5.1.14: from a link-local source, hop limit 1. */
        if (len >= 24 && m->v6->hop_limit == 1 && ipv6_addr_is_link_local(&src))
            addrconf_mld_query(s, m->dev, mld_max_delay(msg, len));
        break;
    default:
        if (icmpv6_is_error(r.type)) {
            error_input(s, m, &r);
        } else {
            /* RFC 4443 2.4 (b): unknown informational messages are dropped. */
            s->stats.icmp6.drop_unknown_type++;
        }
        break;
    }
}

void icmpv6_send_error(struct ust_stack *s, const struct ip_meta *m, uint8_t type, uint8_t code,
                       uint32_t rest, enum ipv6_opt_action opt_action)
{
    if (!icmpv6_error_allowed(type, code, opt_action, m->pkt, m->pkt_len, m->link_mcast)) {
        s->stats.icmp6.error_suppressed++;
        return;
    }
    struct ipv6_addr dst = ipaddr_to6(&m->src), src;
    /* RFC 4443 2.4 (f): limited per destination, with ICMP's limits. */
    if (!ipv6_is_local(s, &dst) &&
        !icmp_rate_allow(s, (uint32_t)siphash24(s->ip6->secret, dst.a, sizeof(dst.a)))) {
        s->stats.icmp6.rate_limited++;
        return;
    }
    /* RFC 4443 2.2: from the address the packet went to if it was one of
     * ours, else one we choose. */
    struct ipv6_addr to = ipaddr_to6(&m->dst);
    if (!ipv6_addr_is_multicast(&to) && ipv6_is_local(s, &to))
        src = to;
    else if (!ipv6_select_source(s, m->dev, &dst, &src))
        return;
    struct pkbuf *p = pkb_alloc(s, ICMPV6_HDR_LEN + ICMPV6_ERR_QUOTE_MAX);
    if (!p)
        return;
    size_t n = icmpv6_error_emit(type, code, rest, &src, &dst, m->pkt, m->pkt_len, pkb_data(p),
                                 p->len);
    if (!n) {
        pkb_free(s, p);
        return;
    }
    p->len = n;
    s->stats.icmp6.tx++;
    if (type == ICMPV6_DEST_UNREACH)
        s->stats.icmp6.tx_dest_unreach++;
    else if (type == ICMPV6_PARAM_PROBLEM)
        s->stats.icmp6.tx_param_problem++;
    else if (type == ICMPV6_TIME_EXCEEDED)
        s->stats.icmp6.tx_time_exceeded++;
    char d[IPV6_ADDR_STRLEN];
    debugf(s, "dst=%s, type=%u, code=%u", ipv6_addr_format(&dst, d), type, code);
    ipv6_output(s, p, IPV6_NH_ICMPV6, &src, &dst, NULL, m->dev);
}
