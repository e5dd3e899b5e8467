#include "wire/icmpv6.h"

#include <string.h>

#include "wire/bytes.h"
#include "wire/checksum.h"

int icmpv6_parse(const uint8_t *buf, size_t len, const struct ipv6_addr *src,
                 const struct ipv6_addr *dst, struct icmpv6_repr *r)
{
    if (len < ICMPV6_HDR_LEN)
        return WIRE_ETRUNC;
    if (cksum6(src->a, dst->a, IPV6_NH_ICMPV6, buf, len) != 0)
        return WIRE_ECSUM;
    r->type = buf[0];
    r->code = buf[1];
    r->rest = ld32(buf + 4);
    r->payload = buf + ICMPV6_HDR_LEN;
    r->payload_len = len - ICMPV6_HDR_LEN;
    return WIRE_OK;
}

void icmpv6_emit(const struct icmpv6_repr *r, const struct ipv6_addr *src,
                 const struct ipv6_addr *dst, uint8_t *buf)
{
    buf[0] = r->type;
    buf[1] = r->code;
    st16(buf + 2, 0);
    st32(buf + 4, r->rest);
    if (r->payload_len && r->payload != buf + ICMPV6_HDR_LEN)
        memmove(buf + ICMPV6_HDR_LEN, r->payload, r->payload_len);
    size_t len = ICMPV6_HDR_LEN + r->payload_len;
    st16(buf + 2, cksum6(src->a, dst->a, IPV6_NH_ICMPV6, buf, len));
}

size_t icmpv6_error_emit(uint8_t type, uint8_t code, uint32_t rest, const struct ipv6_addr *src,
                         const struct ipv6_addr *dst, const uint8_t *pkt, size_t pkt_len,
                         uint8_t *buf, size_t cap)
{
    if (cap < ICMPV6_HDR_LEN)
        return 0;
    size_t q = pkt_len;
    if (q > ICMPV6_ERR_QUOTE_MAX)
        q = ICMPV6_ERR_QUOTE_MAX;
    if (q > cap - ICMPV6_HDR_LEN)
        q = cap - ICMPV6_HDR_LEN;
    struct icmpv6_repr r = {type, code, rest, pkt, q};
    icmpv6_emit(&r, src, dst, buf);
    return ICMPV6_HDR_LEN + q;
}

/* The ICMPv6 type of pkt when it is an ICMPv6 message whose type byte is
 * present, else -1. Lenient: a chain we cannot follow is not an ICMPv6 one
 * as far as anyone knows. */
static int icmpv6_type_of(const uint8_t *pkt, size_t len)
{
    if (len < IPV6_HDR_LEN)
        return -1;
    uint8_t nh = pkt[IPV6_OFF_NEXT_HDR];
    size_t off = IPV6_HDR_LEN;
    for (unsigned n = 0; n < IPV6_EXT_MAX; n++) {
        if (nh != IPV6_NH_HOPOPTS && nh != IPV6_NH_DSTOPTS && nh != IPV6_NH_ROUTING &&
            nh != IPV6_NH_FRAGMENT)
            break;
        if (len - off < 8)
            return -1;
        if (nh == IPV6_NH_FRAGMENT && (ld16(pkt + off + 2) & 0xfff8) != 0)
            return -1; /* not the first fragment: no upper-layer header */
        size_t hlen = nh == IPV6_NH_FRAGMENT ? 8 : ((size_t)pkt[off + 1] + 1) * 8;
        if (hlen > len - off)
            return -1;
        nh = pkt[off];
        off += hlen;
    }
    if (nh != IPV6_NH_ICMPV6 || off >= len)
        return -1;
    return pkt[off];
}

bool icmpv6_error_allowed(uint8_t type, uint8_t code, enum ipv6_opt_action opt_action,
                          const uint8_t *pkt, size_t len, bool link_mcast)
{
    if (len < IPV6_HDR_LEN)
        return false;
    struct ipv6_addr src, dst;
    memcpy(src.a, pkt + 8, 16);
    memcpy(dst.a, pkt + 24, 16);
    /* (e.6): the source must name a single node. Anycast cannot be told
     * from the address; unspecified and multicast can. */
    if (ipv6_addr_is_unspecified(&src) || ipv6_addr_is_multicast(&src))
        return false;
    /* (e.1), (e.2) */
    int t = icmpv6_type_of(pkt, len);
    if (t >= 0 && (icmpv6_is_error((uint8_t)t) || t == ICMPV6_REDIRECT))
        return false;
    /* (e.3), (e.4), (e.5) and their two exceptions */
    if (ipv6_addr_is_multicast(&dst) || link_mcast)
        return type == ICMPV6_PACKET_TOO_BIG ||
               (type == ICMPV6_PARAM_PROBLEM && code == ICMPV6_PP_OPTION &&
                opt_action == IPV6_OPT_DISCARD_ICMP);
    return true;
}

/* ---- neighbour discovery ---- */

const char *nd_err_name(enum nd_err e)
{
    static const char *const names[ND_ERRORS] = {
        [ND_OK] = "ok",
        [ND_ETYPE] = "drop_type",
        [ND_EHOPLIMIT] = "drop_hop_limit",
        [ND_ECODE] = "drop_code",
        [ND_ELEN] = "drop_short",
        [ND_EOPTLEN] = "drop_opt_len",
        [ND_EOPTBAD] = "drop_opt_bad",
        [ND_ETARGET_MCAST] = "drop_target_mcast",
        [ND_ESRC_NOT_LL] = "drop_src_not_link_local",
        [ND_EUNSPEC_SLLA] = "drop_unspec_slla",
        [ND_EUNSPEC_DST] = "drop_unspec_dst",
        [ND_ESOLICITED_MCAST] = "drop_solicited_mcast",
        [ND_EREDIRECT_DEST] = "drop_redirect_dest",
        [ND_EREDIRECT_TARGET] = "drop_redirect_target",
    };
    return (unsigned)e < ND_ERRORS ? names[e] : "?";
}

enum nd_err nd_opts_parse(const uint8_t *p, size_t len, struct nd_opts *o)
{
    memset(o, 0, sizeof(*o));
    size_t off = 0;
    while (off < len) {
        /* RFC 4861 4.6: the length is in units of 8 bytes; 0 is invalid
         * and the whole message is dropped. */
        if (len - off < 2 || p[off + 1] == 0)
            return ND_EOPTLEN;
        size_t olen = (size_t)p[off + 1] * 8;
        if (olen > len - off)
            return ND_EOPTLEN;
        const uint8_t *opt = p + off;
        switch (opt[0]) {
        case ND_OPT_SLLA:
        case ND_OPT_TLLA:
            /* RFC 2464 8: an Ethernet address takes one unit. */
            if (olen != 8)
                return ND_EOPTBAD;
            if (opt[0] == ND_OPT_SLLA && !o->has_slla) {
                o->has_slla = true;
                memcpy(o->slla, opt + 2, 6);
            } else if (opt[0] == ND_OPT_TLLA && !o->has_tlla) {
                o->has_tlla = true;
                memcpy(o->tlla, opt + 2, 6);
            }
            break;
        case ND_OPT_PREFIX:
            if (olen != 32) /* RFC 4861 4.6.2: length 4 */
                return ND_EOPTBAD;
            if (o->n_prefix == ND_PREFIX_MAX) {
                o->prefix_dropped++;
                break;
            }
            {
                struct nd_prefix *pi = &o->prefix[o->n_prefix++];
                pi->len = opt[2];
                pi->flags = opt[3] & (ND_PREFIX_ONLINK | ND_PREFIX_AUTO);
                pi->valid = ld32(opt + 4);
                pi->preferred = ld32(opt + 8);
                memcpy(pi->prefix.a, opt + 16, 16);
            }
            break;
        case ND_OPT_REDIRECTED:
            if (!o->redirected) {
                o->redirected = opt + 8;
                o->redirected_len = olen - 8;
            }
            break;
        case ND_OPT_MTU:
            if (olen != 8) /* RFC 4861 4.6.4: length 1 */
                return ND_EOPTBAD;
            if (!o->has_mtu) {
                o->has_mtu = true;
                o->mtu = ld32(opt + 4);
            }
            break;
        default: o->unknown++; break;
        }
        off += olen;
    }
    return ND_OK;
}

static size_t nd_fixed_len(uint8_t type)
{
    switch (type) {
    case ICMPV6_ROUTER_SOLICIT: return ND_RS_LEN;
    case ICMPV6_ROUTER_ADVERT: return ND_RA_LEN;
    case ICMPV6_NEIGHBOR_SOLICIT: return ND_NS_LEN;
    case ICMPV6_NEIGHBOR_ADVERT: return ND_NA_LEN;
    case ICMPV6_REDIRECT: return ND_REDIRECT_LEN;
    default: return 0;
    }
}

enum nd_err nd_parse(const struct ipv6_repr *ip, const uint8_t *msg, size_t len, struct nd_msg *m)
{
    memset(m, 0, sizeof(*m));
    if (len < 2)
        return ND_ELEN;
    size_t fixed = nd_fixed_len(msg[0]);
    if (fixed == 0)
        return ND_ETYPE;
    m->type = msg[0];
    /* The checks common to 6.1.1, 6.1.2, 7.1.1, 7.1.2 and 8.1, in their
     * order: hop limit 255 (no router forwarded it), code 0, length. */
    if (ip->hop_limit != ND_HOP_LIMIT)
        return ND_EHOPLIMIT;
    if (msg[1] != 0)
        return ND_ECODE;
    if (len < fixed)
        return ND_ELEN;
    bool unspec = ipv6_addr_is_unspecified(&ip->src);
    switch (m->type) {
    case ICMPV6_ROUTER_ADVERT:
        if (!ipv6_addr_is_link_local(&ip->src))
            return ND_ESRC_NOT_LL;
        m->cur_hop_limit = msg[4];
        m->ra_flags = msg[5] & (ND_RA_MANAGED | ND_RA_OTHER);
        m->router_lifetime = ld16(msg + 6);
        m->reachable_time = ld32(msg + 8);
        m->retrans_timer = ld32(msg + 12);
        break;
    case ICMPV6_NEIGHBOR_SOLICIT:
    case ICMPV6_NEIGHBOR_ADVERT:
        memcpy(m->target.a, msg + 8, 16);
        if (ipv6_addr_is_multicast(&m->target))
            return ND_ETARGET_MCAST;
        if (m->type == ICMPV6_NEIGHBOR_SOLICIT) {
            if (unspec && !ipv6_addr_is_solicited_node(&ip->dst))
                return ND_EUNSPEC_DST;
        } else {
            m->na_flags = msg[4] & (ND_NA_ROUTER | ND_NA_SOLICITED | ND_NA_OVERRIDE);
            if (ipv6_addr_is_multicast(&ip->dst) && (m->na_flags & ND_NA_SOLICITED))
                return ND_ESOLICITED_MCAST;
        }
        break;
    case ICMPV6_REDIRECT:
        if (!ipv6_addr_is_link_local(&ip->src))
            return ND_ESRC_NOT_LL;
        memcpy(m->target.a, msg + 8, 16);
        memcpy(m->dest.a, msg + 24, 16);
        if (ipv6_addr_is_multicast(&m->dest))
            return ND_EREDIRECT_DEST;
        if (!ipv6_addr_is_link_local(&m->target) && !ipv6_addr_eq(&m->target, &m->dest))
            return ND_EREDIRECT_TARGET;
        break;
    default: break;
    }
    enum nd_err err = nd_opts_parse(msg + fixed, len - fixed, &m->opts);
    if (err != ND_OK)
        return err;
    /* 6.1.1, 7.1.1: from the unspecified address, no source link-layer
     * address (nobody may cache it). */
    if (unspec && m->opts.has_slla &&
        (m->type == ICMPV6_ROUTER_SOLICIT || m->type == ICMPV6_NEIGHBOR_SOLICIT))
        return ND_EUNSPEC_SLLA;
    return ND_OK;
}

static uint8_t *put_lla(uint8_t *p, uint8_t type, const uint8_t mac[6])
{
    p[0] = type;
    p[1] = 1;
    memcpy(p + 2, mac, 6);
    return p + 8;
}

size_t nd_emit(const struct nd_msg *m, const struct ipv6_addr *src, const struct ipv6_addr *dst,
               uint8_t *buf, size_t cap)
{
    const struct nd_opts *o = &m->opts;
    size_t fixed = nd_fixed_len(m->type);
    if (fixed == 0 || m->type == ICMPV6_REDIRECT)
        return 0;
    size_t n_prefix = o->n_prefix < ND_PREFIX_MAX ? o->n_prefix : ND_PREFIX_MAX;
    size_t len = fixed + (o->has_slla ? 8 : 0) + (o->has_tlla ? 8 : 0) + (o->has_mtu ? 8 : 0) +
                 32 * n_prefix;
    if (len > cap)
        return 0;
    memset(buf, 0, fixed);
    buf[0] = m->type;
    switch (m->type) {
    case ICMPV6_ROUTER_ADVERT:
        buf[4] = m->cur_hop_limit;
        buf[5] = m->ra_flags;
        st16(buf + 6, m->router_lifetime);
        st32(buf + 8, m->reachable_time);
        st32(buf + 12, m->retrans_timer);
        break;
    case ICMPV6_NEIGHBOR_ADVERT:
        buf[4] = m->na_flags;
        memcpy(buf + 8, m->target.a, 16);
        break;
    case ICMPV6_NEIGHBOR_SOLICIT: memcpy(buf + 8, m->target.a, 16); break;
    default: break;
    }
    uint8_t *p = buf + fixed;
    if (o->has_slla)
        p = put_lla(p, ND_OPT_SLLA, o->slla);
    if (o->has_tlla)
        p = put_lla(p, ND_OPT_TLLA, o->tlla);
    if (o->has_mtu) {
        p[0] = ND_OPT_MTU;
        p[1] = 1;
        st16(p + 2, 0);
        st32(p + 4, o->mtu);
        p += 8;
    }
    for (size_t i = 0; i < n_prefix; i++) {
        const struct nd_prefix *pi = &o->prefix[i];
        p[0] = ND_OPT_PREFIX;
        p[1] = 4;
        p[2] = pi->len;
        p[3] = pi->flags;
        st32(p + 4, pi->valid);
        st32(p + 8, pi->preferred);
        st32(p + 12, 0);
        memcpy(p + 16, pi->prefix.a, 16);
        p += 32;
    }
    st16(buf + 2, cksum6(src->a, dst->a, IPV6_NH_ICMPV6, buf, len));
    return len;
}

/* ---- MLDv2 ---- */

size_t mld2_report_emit(const struct ipv6_addr *src, const struct mld2_record *recs, size_t n,
                        uint8_t *buf, size_t cap)
{
    if (n > 0xffff || cap < 8 || (cap - 8) / MLD2_RECORD_LEN < n)
        return 0;
    size_t len = 8 + n * MLD2_RECORD_LEN;
    buf[0] = ICMPV6_MLD2_REPORT;
    buf[1] = 0;
    st16(buf + 2, 0);
    st16(buf + 4, 0);
    st16(buf + 6, (uint16_t)n);
    uint8_t *p = buf + 8;
    for (size_t i = 0; i < n; i++, p += MLD2_RECORD_LEN) {
        p[0] = recs[i].type;
        p[1] = 0;       /* aux data length */
        st16(p + 2, 0); /* number of sources */
        memcpy(p + 4, recs[i].group.a, 16);
    }
    st16(buf + 2, cksum6(src->a, ipv6_addr_mldv2_routers.a, IPV6_NH_ICMPV6, buf, len));
    return len;
}
