/* ICMP for IPv4. */
#include "net/icmp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/ip.h"
#include "net/ipv4.h"
#include "net/netif.h"
#include "net/ping.h"
#include "wire/bytes.h"
#include "wire/icmp_error.h"

static void error_deliver(struct ust_stack *s, const struct ipv4_repr *ip,
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
    debugf(s, "dev=%s, src=%s, type=%u, code=%u, len=%zu: %s", s->ifs->at[dev].dev->name,
           ust_ip4_format(ip->src, sa), m.type, m.code, len,
           m.type == ICMP_ECHO_REQUEST ? (bcast ? "echo request to a broadcast: ignored"
                                                : "echo request: answered with an echo reply")
           : m.type == ICMP_ECHO_REPLY ? "echo reply: to the ping endpoint with its identifier"
           : m.type == ICMP_DEST_UNREACH || m.type == ICMP_SOURCE_QUENCH ||
                   m.type == ICMP_REDIRECT || m.type == ICMP_TIME_EXCEEDED ||
                   m.type == ICMP_PARAM_PROBLEM
               ? "error: to the protocol of the datagram it quotes"
               : "unknown type: dropped");
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
        struct icmp_repr r = {.type = ICMP_ECHO_REPLY,
                              .code = 0,
                              .rest = m.rest,
                              .payload = pkb_data(p) + ICMP_HDR_LEN,
                              .payload_len = m.payload_len};
        icmp_emit(&r, pkb_data(p));
        s->stats.icmp.tx++;
        s->stats.icmp.tx_echo_reply++;
        ipv4_output(s, p, IPV4_PROTO_ICMP, ip->dst, ip->src, 0, false, 0);
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
        s->stats.icmp.rx_error++;
        error_deliver(s, ip, &m);
        break;
    default: s->stats.icmp.drop_unknown_type++; break;
    }
}

/* RFC 1122 3.2.2: an error goes to the transport protocol of the datagram
 * it quotes. The quote is parsed here, once; the transport gets it parsed,
 * with what the error means to its socket. */
static void error_deliver(struct ust_stack *s, const struct ipv4_repr *ip,
                          const struct icmp_repr *m)
{
    struct icmp_quote q;
    if (icmp_quote_parse(m->payload, m->payload_len, &q) != WIRE_OK) {
        char sa[UST_IP4_STRLEN];
        debugf(s, "src=%s, type=%u, code=%u, quote=%zu bytes: unreadable quote",
               ust_ip4_format(ip->src, sa), m->type, m->code, m->payload_len);
        return;
    }
    ip_error_deliver(s, &q, icmp_err_classify(m->type, m->code));
}

/* RFC 1812 4.3.2.8 asks for a limit on the errors we send. There are two,
 * in this order:
 * 1. Per destination: each host gets cfg.icmp_dst_burst errors, then one
 *    per cfg.icmp_dst_interval (Linux: icmp_ratelimit, 1 s, bursts of 6).
 *    A host that sends us a flood of triggers gets about one error a
 *    second, and every other host keeps its own budget.
 * 2. Stack-wide: cfg.icmp_rate_per_sec, bursts of cfg.icmp_burst (Linux:
 *    icmp_msgs_per_sec 1000, icmp_msgs_burst 50), which bounds what many
 *    destinations (spoofed sources) get together.
 * A shared budget is a side channel: an off-path attacker that triggers
 * errors to itself learns from how many come back whether its probes,
 * spoofed from another host, triggered errors too (SADDNS,
 * CVE-2020-25705). So an error its destination's limit refuses spends
 * nothing of the shared budget, and one that passes charges it 0, 1 or 2
 * tokens at random, 1 on average: what is left of it cannot be read
 * exactly. Linux closed the hole the same two ways (the random charge in
 * 2020, the per-destination check first in 2024). Errors to our own
 * addresses are not limited, as Linux does not limit loopback. */
bool icmp_rate_allow(struct ust_stack *s, uint32_t dst_key)
{
    struct icmp_stack *icmp = s->icmp;
    if (s->cfg.icmp_dst_interval) {
        if (!icmp->per_dst) {
            /* Made at the first error, so that a stack that never sends
             * one neither holds the table nor draws its key. */
            uint8_t key[16];
            for (int i = 0; i < 16; i += 8) {
                uint64_t r = rng_next(&s->rng);
                memcpy(key + i, &r, 8);
            }
            icmp->per_dst = tbucket_table_new(s->cfg.icmp_dst_table_size, s->cfg.icmp_dst_interval,
                                              s->cfg.icmp_dst_burst, key);
            if (!icmp->per_dst) {
                s->stats.icmp.rate_limited_dst++;
                return false;
            }
        }
        bool replaced;
        bool ok = tbucket_table_take(icmp->per_dst, dst_key, s->now, &replaced);
        if (replaced)
            s->stats.icmp.rate_table_replaced++;
        if (!ok) {
            s->stats.icmp.rate_limited_dst++;
            return false;
        }
    }
    uint32_t charge = icmp->errors.cost ? rng_below(&s->rng, 3) : 1;
    if (!tbucket_take_charge(&icmp->errors, s->now, charge)) {
        s->stats.icmp.rate_limited_global++;
        return false;
    }
    return true;
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
    if (!ipv4_is_local(s, ip->src) && !icmp_rate_allow(s, ip->src)) {
        s->stats.icmp.rate_limited++;
        if (type == ICMP_DEST_UNREACH)
            s->stats.icmp.rate_limited_unreach++;
        else if (type == ICMP_TIME_EXCEEDED)
            s->stats.icmp.rate_limited_time_exceeded++;
        else
            s->stats.icmp.rate_limited_other++;
        return;
    }
    /* RFC 792: the internet header plus the first 64 bits of data. */
    size_t quote = ip->hdr_len + 8u;
    if (quote > ip->total_len)
        quote = ip->total_len;
    struct pkbuf *p = pkb_alloc(s, ICMP_HDR_LEN + quote);
    if (!p)
        return;
    struct icmp_repr r = {.type = type,
                          .code = code,
                          .rest = rest,
                          .payload = pkt,
                          .payload_len = quote};
    icmp_emit(&r, pkb_data(p));
    s->stats.icmp.tx++;
    if (type == ICMP_DEST_UNREACH)
        s->stats.icmp.tx_dest_unreach++;
    else if (type == ICMP_TIME_EXCEEDED)
        s->stats.icmp.tx_time_exceeded++;
    char sa[UST_IP4_STRLEN];
    debugf(s, "dst=%s, type=%u, code=%u", ust_ip4_format(ip->src, sa), type, code);
    ipv4_output(s, p, IPV4_PROTO_ICMP, ip->dst, ip->src, 0, false, 0);
}

int icmp_init(struct ust_stack *s)
{
    struct icmp_stack *icmp = calloc(1, sizeof(*icmp));
    if (!icmp)
        return -ENOMEM;
    tbucket_init(&icmp->errors, s->cfg.icmp_rate_per_sec, s->cfg.icmp_burst, 0);
    s->icmp = icmp;
    return 0;
}

void icmp_fini(struct ust_stack *s)
{
    if (s->icmp)
        tbucket_table_free(s->icmp->per_dst);
    free(s->icmp);
    s->icmp = NULL;
}
