#include "wire/ipv6.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wire/bytes.h"

int ipv6_parse(const uint8_t *buf, size_t len, struct ipv6_repr *r)
{
    if (len < IPV6_HDR_LEN)
        return WIRE_ETRUNC;
    if ((buf[0] >> 4) != 6)
        return WIRE_EVERSION;
    uint16_t plen = ld16(buf + IPV6_OFF_PAYLOAD_LEN);
    if (plen > len - IPV6_HDR_LEN)
        return WIRE_ELEN;
    uint32_t w = ld32(buf);
    r->tclass = (uint8_t)(w >> 20);
    r->flow = w & 0xfffff;
    r->payload_len = plen;
    r->next_hdr = buf[IPV6_OFF_NEXT_HDR];
    r->hop_limit = buf[7];
    memcpy(r->src.a, buf + 8, 16);
    memcpy(r->dst.a, buf + 24, 16);
    return WIRE_OK;
}

void ipv6_emit(const struct ipv6_repr *r, uint8_t *buf)
{
    st32(buf, (6u << 28) | ((uint32_t)r->tclass << 20) | (r->flow & 0xfffff));
    st16(buf + IPV6_OFF_PAYLOAD_LEN, r->payload_len);
    buf[IPV6_OFF_NEXT_HDR] = r->next_hdr;
    buf[7] = r->hop_limit;
    memcpy(buf + 8, r->src.a, 16);
    memcpy(buf + 24, r->dst.a, 16);
}

/* ---- extension headers ---- */

static enum ipv6_ext_verdict ext_fail(struct ipv6_ext *e, enum ipv6_ext_verdict v, bool icmp,
                                      uint8_t code, size_t pointer)
{
    e->verdict = v;
    e->icmp = icmp;
    e->icmp_code = code;
    e->pointer = (uint32_t)pointer;
    return v;
}

/* The options of the hop-by-hop or destination options header of hlen
 * bytes at off (RFC 8200 4.2). */
static enum ipv6_ext_verdict walk_options(const uint8_t *buf, size_t off, size_t hlen, bool hbh,
                                          const struct ipv6_repr *ip, struct ipv6_ext *e)
{
    size_t end = off + hlen;
    size_t i = off + 2;
    while (i < end) {
        uint8_t type = buf[i];
        if (type == IPV6_OPT_PAD1) {
            i++;
            continue;
        }
        if (end - i < 2 || (size_t)buf[i + 1] > end - i - 2)
            return ext_fail(e, IPV6_EXT_OPT_BAD, false, 0, 0);
        size_t olen = buf[i + 1];
        if (type == IPV6_OPT_PADN) {
            /* nothing to do */
        } else if (type == IPV6_OPT_ROUTER_ALERT && hbh) {
            if (olen != 2) /* RFC 2711 2.1: the value is two bytes */
                return ext_fail(e, IPV6_EXT_OPT_BAD, false, 0, 0);
            e->router_alert = true;
            e->router_alert_value = ld16(buf + i + 2);
        } else {
            enum ipv6_opt_action act = ipv6_opt_action_of(type);
            if (act != IPV6_OPT_SKIP) {
                e->action = act;
                bool icmp = act == IPV6_OPT_DISCARD_ICMP || (act == IPV6_OPT_DISCARD_ICMP_UNICAST &&
                                                             !ipv6_addr_is_multicast(&ip->dst));
                return ext_fail(e, IPV6_EXT_OPT_UNKNOWN, icmp, ICMPV6_PP_OPTION, i);
            }
        }
        i += 2 + olen;
    }
    return IPV6_EXT_OK;
}

enum ipv6_ext_verdict ipv6_ext_walk(const uint8_t *buf, const struct ipv6_repr *ip,
                                    struct ipv6_ext *e)
{
    memset(e, 0, sizeof(*e));
    size_t end = IPV6_HDR_LEN + (size_t)ip->payload_len;
    uint8_t nh = ip->next_hdr;
    size_t nh_off = IPV6_OFF_NEXT_HDR;
    size_t off = IPV6_HDR_LEN;
    for (unsigned n = 0;; n++) {
        if (nh != IPV6_NH_HOPOPTS && nh != IPV6_NH_DSTOPTS && nh != IPV6_NH_ROUTING &&
            nh != IPV6_NH_FRAGMENT) {
            e->verdict = IPV6_EXT_OK;
            e->proto = nh;
            e->proto_off = off;
            e->nh_off = nh_off;
            return IPV6_EXT_OK;
        }
        if (n == IPV6_EXT_MAX)
            return ext_fail(e, IPV6_EXT_TOO_MANY, false, 0, 0);
        /* RFC 8200 4.1: hop-by-hop only right after the IPv6 header; a
         * Next Header of 0 anywhere else is unrecognised (4, code 1). */
        if (nh == IPV6_NH_HOPOPTS && off != IPV6_HDR_LEN)
            return ext_fail(e, IPV6_EXT_HBH_NOT_FIRST, true, ICMPV6_PP_NEXT_HDR, nh_off);
        /* Every extension header here is a multiple of 8 bytes, at least 8. */
        if (end - off < 8)
            return ext_fail(e, IPV6_EXT_TRUNC, false, 0, 0);
        const uint8_t *h = buf + off;
        if (nh == IPV6_NH_FRAGMENT) {
            uint16_t fo = ld16(h + 2);
            e->verdict = IPV6_EXT_FRAGMENT;
            e->frag.next_hdr = h[0];
            e->frag.offset = fo & 0xfff8;
            e->frag.more = (fo & 1) != 0;
            e->frag.id = ld32(h + 4);
            e->frag.hdr_off = off;
            e->frag.nh_off = nh_off;
            return IPV6_EXT_FRAGMENT;
        }
        size_t hlen = ((size_t)h[1] + 1) * 8;
        if (hlen > end - off)
            return ext_fail(e, IPV6_EXT_TRUNC, false, 0, 0);
        if (nh == IPV6_NH_ROUTING) {
            /* RFC 8200 4.4: segments left 0, skip it whatever its type;
             * else a host forwards for no type (RFC 5095 deprecates 0), so
             * every type is one we do not recognise: code 0, pointing at
             * the routing type. */
            e->has_routing = true;
            e->rt_type = h[2];
            e->rt_segleft = h[3];
            if (h[3] != 0)
                return ext_fail(e, IPV6_EXT_ROUTING, true, ICMPV6_PP_HEADER, off + 2);
        } else {
            enum ipv6_ext_verdict v = walk_options(buf, off, hlen, nh == IPV6_NH_HOPOPTS, ip, e);
            if (v != IPV6_EXT_OK)
                return v;
        }
        nh_off = off;
        nh = h[0];
        off += hlen;
    }
}

const char *ipv6_ext_verdict_name(enum ipv6_ext_verdict v)
{
    static const char *const names[IPV6_EXT_VERDICTS] = {
        [IPV6_EXT_OK] = "ok",
        [IPV6_EXT_FRAGMENT] = "fragment",
        [IPV6_EXT_TRUNC] = "drop_ext_trunc",
        [IPV6_EXT_OPT_BAD] = "drop_opt_bad",
        [IPV6_EXT_HBH_NOT_FIRST] = "drop_hbh_not_first",
        [IPV6_EXT_ROUTING] = "drop_routing",
        [IPV6_EXT_OPT_UNKNOWN] = "drop_opt_unknown",
        [IPV6_EXT_TOO_MANY] = "drop_ext_too_many",
    };
    return (unsigned)v < IPV6_EXT_VERDICTS ? names[v] : "?";
}

/* The length of the extension header at h (2 bytes present), or 0 when
 * nh is not one the chain walks go through. */
static size_t ext_len(uint8_t nh, const uint8_t *h)
{
    switch (nh) {
    case IPV6_NH_HOPOPTS:
    case IPV6_NH_DSTOPTS:
    case IPV6_NH_ROUTING: return ((size_t)h[1] + 1) * 8;
    case IPV6_NH_FRAGMENT: return IPV6_FRAG_HDR_LEN;
    case IPV6_NH_AH: return ((size_t)h[1] + 2) * 4; /* RFC 4302 2.2 */
    default: return 0;
    }
}

bool ipv6_first_frag_complete(uint8_t nh, const uint8_t *frag, size_t len)
{
    size_t off = 0;
    for (unsigned n = 0; n <= IPV6_EXT_MAX; n++) {
        if (nh != IPV6_NH_HOPOPTS && nh != IPV6_NH_DSTOPTS && nh != IPV6_NH_ROUTING &&
            nh != IPV6_NH_FRAGMENT && nh != IPV6_NH_AH)
            break;
        if (len - off < 2)
            return false;
        size_t hlen = ext_len(nh, frag + off);
        if (hlen > len - off)
            return false;
        nh = frag[off];
        off += hlen;
    }
    size_t need = nh == IPV6_NH_TCP ? 20 : nh == IPV6_NH_UDP ? 8 : nh == IPV6_NH_ICMPV6 ? 4 : 0;
    return len - off >= need;
}

int ipv6_unfragmentable_len(const uint8_t *pkt, size_t len, size_t *nh_off)
{
    if (len < IPV6_HDR_LEN)
        return -1;
    size_t off = IPV6_HDR_LEN;
    size_t unfrag = IPV6_HDR_LEN, unfrag_nh = IPV6_OFF_NEXT_HDR;
    uint8_t nh = pkt[IPV6_OFF_NEXT_HDR];
    for (unsigned n = 0; n < IPV6_EXT_MAX; n++) {
        if (nh != IPV6_NH_HOPOPTS && nh != IPV6_NH_DSTOPTS && nh != IPV6_NH_ROUTING)
            break;
        if (len - off < 8)
            return -1;
        size_t hlen = ((size_t)pkt[off + 1] + 1) * 8;
        if (hlen > len - off)
            return -1;
        /* Destination options before a routing header are per-fragment
         * too: they go with the routing header that follows them. */
        if (nh == IPV6_NH_HOPOPTS || nh == IPV6_NH_ROUTING) {
            unfrag = off + hlen;
            unfrag_nh = off;
        }
        nh = pkt[off];
        off += hlen;
    }
    *nh_off = unfrag_nh;
    return (int)unfrag;
}

void ipv6_hbh_router_alert_emit(uint8_t *buf, uint8_t next_hdr, uint16_t value)
{
    buf[0] = next_hdr;
    buf[1] = 0; /* 8 bytes */
    buf[2] = IPV6_OPT_ROUTER_ALERT;
    buf[3] = 2;
    st16(buf + 4, value);
    buf[6] = IPV6_OPT_PADN;
    buf[7] = 0;
}

/* ---- addresses ---- */

const struct ipv6_addr ipv6_addr_any = {{0}};
const struct ipv6_addr ipv6_addr_all_nodes = {{0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
const struct ipv6_addr ipv6_addr_all_routers = {
    {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
const struct ipv6_addr ipv6_addr_mldv2_routers = {
    {0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x16}};

bool ipv6_addr_eq(const struct ipv6_addr *a, const struct ipv6_addr *b)
{
    return memcmp(a->a, b->a, 16) == 0;
}

bool ipv6_addr_is_unspecified(const struct ipv6_addr *a) { return ipv6_addr_eq(a, &ipv6_addr_any); }

bool ipv6_addr_is_loopback(const struct ipv6_addr *a)
{
    static const uint8_t one[16] = {[15] = 1};
    return memcmp(a->a, one, 16) == 0;
}

bool ipv6_addr_is_v4_mapped(const struct ipv6_addr *a)
{
    static const uint8_t pfx[12] = {[10] = 0xff, [11] = 0xff};
    return memcmp(a->a, pfx, 12) == 0;
}

bool ipv6_addr_is_solicited_node(const struct ipv6_addr *a)
{
    static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};
    return memcmp(a->a, pfx, 13) == 0;
}

void ipv6_solicited_node(const struct ipv6_addr *a, struct ipv6_addr *out)
{
    static const uint8_t pfx[13] = {0xff, 0x02, [11] = 0x01, [12] = 0xff};
    uint8_t low[3];
    memcpy(low, a->a + 13, 3); /* a and out may be the same */
    memcpy(out->a, pfx, 13);
    memcpy(out->a + 13, low, 3);
}

void ipv6_mcast_mac(const struct ipv6_addr *a, uint8_t mac[6])
{
    mac[0] = 0x33;
    mac[1] = 0x33;
    memcpy(mac + 2, a->a + 12, 4);
}

unsigned ipv6_addr_scope(const struct ipv6_addr *a)
{
    if (ipv6_addr_is_multicast(a))
        return a->a[1] & 0x0f;
    if (ipv6_addr_is_link_local(a) || ipv6_addr_is_loopback(a))
        return IPV6_SCOPE_LINK;
    if (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0xc0)
        return IPV6_SCOPE_SITE;
    if (ipv6_addr_is_v4_mapped(a) && (a->a[12] == 127 || (a->a[12] == 169 && a->a[13] == 254)))
        return IPV6_SCOPE_LINK;
    return IPV6_SCOPE_GLOBAL;
}

unsigned ipv6_prefix_match_len(const struct ipv6_addr *a, const struct ipv6_addr *b)
{
    for (unsigned i = 0; i < 16; i++) {
        uint8_t x = a->a[i] ^ b->a[i];
        if (x) {
            unsigned n = 0;
            while (!(x & 0x80)) {
                x = (uint8_t)(x << 1);
                n++;
            }
            return i * 8 + n;
        }
    }
    return 128;
}

bool ipv6_addr_in_prefix(const struct ipv6_addr *a, const struct ipv6_addr *prefix, unsigned len)
{
    return ipv6_prefix_match_len(a, prefix) >= (len > 128 ? 128 : len);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* A dotted quad of exactly n bytes (RFC 4291 2.2 form 3); 0 or -EINVAL. */
static int parse_quad(const char *p, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        unsigned v = 0;
        int digits = 0;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            v = v * 10 + (unsigned)(p[i++] - '0');
            if (++digits > 3 || v > 255)
                return -EINVAL;
        }
        if (digits == 0)
            return -EINVAL;
        out[k] = (uint8_t)v;
        if (k < 3 && (i >= n || p[i++] != '.'))
            return -EINVAL;
    }
    return i == n ? 0 : -EINVAL;
}

int ipv6_addr_parse(const char *str, struct ipv6_addr *out)
{
    if (!str)
        return -EINVAL;
    uint16_t g[8];
    int n = 0, dbl = -1; /* groups parsed; where "::" stood */
    const char *p = str;
    if (p[0] == ':') {
        if (p[1] != ':')
            return -EINVAL;
        dbl = 0;
        p += 2;
    }
    while (*p) {
        if (n == 8)
            return -EINVAL;
        size_t span = strcspn(p, ":");
        if (memchr(p, '.', span)) {
            /* An IPv4 suffix: the last 32 bits, and the end of the text. */
            uint8_t q[4];
            if (p[span] != '\0' || n > 6 || parse_quad(p, span, q) != 0)
                return -EINVAL;
            g[n++] = (uint16_t)(q[0] << 8 | q[1]);
            g[n++] = (uint16_t)(q[2] << 8 | q[3]);
            break;
        }
        unsigned v = 0;
        int digits = 0;
        for (int d; (d = hexval(*p)) >= 0; p++) {
            if (++digits > 4)
                return -EINVAL;
            v = v * 16 + (unsigned)d;
        }
        if (digits == 0)
            return -EINVAL;
        g[n++] = (uint16_t)v;
        if (*p == '\0')
            break;
        if (*p++ != ':')
            return -EINVAL;
        if (*p == ':') {
            if (dbl >= 0)
                return -EINVAL; /* "::" at most once */
            dbl = n;
            p++;
        } else if (*p == '\0') {
            return -EINVAL; /* a trailing single colon */
        }
    }
    /* "::" stands for one or more zero groups (RFC 4291 2.2 form 2). */
    if (dbl < 0 ? n != 8 : n > 7)
        return -EINVAL;
    uint16_t full[8] = {0};
    if (dbl < 0) {
        memcpy(full, g, sizeof(full));
    } else {
        memcpy(full, g, (size_t)dbl * 2);
        memcpy(full + 8 - (n - dbl), g + dbl, (size_t)(n - dbl) * 2);
    }
    for (int i = 0; i < 8; i++)
        st16(out->a + 2 * i, full[i]);
    return 0;
}

int ipv6_prefix_parse(const char *str, struct ipv6_addr *out, unsigned *len)
{
    char buf[IPV6_ADDR_STRLEN + 4];
    if (!str || strlen(str) >= sizeof(buf))
        return -EINVAL;
    strcpy(buf, str);
    unsigned l = 128;
    char *slash = strchr(buf, '/');
    if (slash) {
        *slash = '\0';
        const char *num = slash + 1;
        l = 0;
        if (*num == '\0' || strlen(num) > 3)
            return -EINVAL;
        for (; *num; num++) {
            if (*num < '0' || *num > '9')
                return -EINVAL;
            l = l * 10 + (unsigned)(*num - '0');
        }
        if (l > 128)
            return -EINVAL;
    }
    struct ipv6_addr a;
    if (ipv6_addr_parse(buf, &a) != 0)
        return -EINVAL;
    *out = a;
    *len = l;
    return 0;
}

char *ipv6_addr_format(const struct ipv6_addr *a, char buf[IPV6_ADDR_STRLEN])
{
    if (ipv6_addr_is_v4_mapped(a)) {
        snprintf(buf, IPV6_ADDR_STRLEN, "::ffff:%u.%u.%u.%u", a->a[12], a->a[13], a->a[14],
                 a->a[15]);
        return buf;
    }
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = ld16(a->a + 2 * i);
    /* The longest run of zero groups, two or more; the first of equals. */
    int best = -1, best_len = 1;
    for (int i = 0; i < 8;) {
        if (g[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > best_len) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    char *p = buf;
    size_t left = IPV6_ADDR_STRLEN;
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            int w = snprintf(p, left, i == 0 ? "::" : ":");
            p += w;
            left -= (size_t)w;
            i += best_len - 1;
            continue;
        }
        int w = snprintf(p, left, "%x%s", g[i], i < 7 ? ":" : "");
        p += w;
        left -= (size_t)w;
    }
    return buf;
}
