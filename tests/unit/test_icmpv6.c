/* ICMPv6 on the wire (src/wire/icmpv6.c): echo and errors against the
 * kernel's packets (v6_vectors.h), the rules of RFC 4443 2.4 (e) on when
 * an error may be sent, neighbour discovery parsing with every validation
 * rule of RFC 4861 6.1.1, 6.1.2, 7.1.1, 7.1.2 and 8.1 that the message
 * shows failing one at a time, the ND emitters byte for byte against the
 * kernel's, MLDv2 reports, and the ICMPv6 side of the shared quote parser
 * and errno table (src/wire/icmp_error.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "v6_vectors.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/icmp_error.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

static struct ipv6_addr A(const char *s) {
    struct ipv6_addr a;
    assert_int_equal(ipv6_addr_parse(s, &a), 0);
    return a;
}

static void
hdr_of(const uint8_t *pkt, size_t len, struct ipv6_repr *ip)
{
    assert_int_equal(ipv6_parse(pkt, len, ip), WIRE_OK);
}

/* ---------------- ICMPv6 ---------------- */

static void echo_as_the_kernel_answers(void **state)
{
    (void)state;
    struct ipv6_repr ip;
    hdr_of(k_echo_req, sizeof(k_echo_req), &ip);
    struct icmpv6_repr r;
    assert_int_equal(icmpv6_parse(k_echo_req + 40, 24, &ip.src, &ip.dst, &r), WIRE_OK);
    assert_int_equal(r.type, ICMPV6_ECHO_REQUEST);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.rest, (4887u << 16) | 1);
    assert_int_equal(r.payload_len, 16);
    assert_ptr_equal(r.payload, k_echo_req + 48);
    /* Our reply is the kernel's, byte for byte. */
    uint8_t out[24];
    struct icmpv6_repr rep = {ICMPV6_ECHO_REPLY, 0, r.rest, r.payload, r.payload_len};
    icmpv6_emit(&rep, &ip.dst, &ip.src, out);
    assert_memory_equal(out, k_echo_rep + 40, 24);
    /* In place: the payload already at out + 8. */
    memcpy(out + 8, k_echo_req + 48, 16);
    rep.payload = out + 8;
    icmpv6_emit(&rep, &ip.dst, &ip.src, out);
    assert_memory_equal(out, k_echo_rep + 40, 24);
}

static void icmpv6_truncations_and_checksum(void **state)
{
    (void)state;
    struct ipv6_repr ip;
    hdr_of(k_echo_req, sizeof(k_echo_req), &ip);
    struct icmpv6_repr r;
    for (size_t len = 0; len < 24; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, k_echo_req + 40, len);
        assert_int_equal(icmpv6_parse(p, len, &ip.src, &ip.dst, &r),
                         len < ICMPV6_HDR_LEN ? WIRE_ETRUNC : WIRE_ECSUM);
        free(p);
    }
    /* Any bit of the message, or of the pseudo-header's addresses. */
    uint8_t m[24];
    for (size_t bit = 0; bit < 24 * 8; bit++) {
        memcpy(m, k_echo_req + 40, 24);
        m[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(icmpv6_parse(m, 24, &ip.src, &ip.dst, &r), WIRE_ECSUM);
    }
    struct ipv6_addr other = A("2001:db8::c");
    assert_int_equal(icmpv6_parse(k_echo_req + 40, 24, &other, &ip.dst, &r), WIRE_ECSUM);
    assert_true(icmpv6_is_error(ICMPV6_PARAM_PROBLEM));
    assert_true(icmpv6_is_error(127));
    assert_false(icmpv6_is_error(ICMPV6_ECHO_REQUEST));
}

static void error_as_the_kernel_sends(void **state)
{
    (void)state;
    struct ipv6_repr ip;
    hdr_of(k_udp, sizeof(k_udp), &ip);
    uint8_t out[128];
    size_t n = icmpv6_error_emit(ICMPV6_DEST_UNREACH, ICMPV6_DU_PORT, 0, &ip.dst, &ip.src, k_udp,
                                 sizeof(k_udp), out, sizeof(out));
    assert_int_equal(n, sizeof(k_port_unreach) - 40);
    assert_memory_equal(out, k_port_unreach + 40, n);
    /* The quote stops where the error would pass 1280 bytes. */
    uint8_t big[1500];
    memset(big, 0x77, sizeof(big));
    memcpy(big, k_udp, 40);
    uint8_t *buf = malloc(1500);
    n = icmpv6_error_emit(ICMPV6_PACKET_TOO_BIG, 0, 1280, &ip.dst, &ip.src, big, sizeof(big), buf,
                          1500);
    assert_int_equal(n, IPV6_MIN_MTU - IPV6_HDR_LEN);
    assert_int_equal(ld32(buf + 4), 1280);
    assert_memory_equal(buf + 8, big, ICMPV6_ERR_QUOTE_MAX);
    struct icmpv6_repr r;
    assert_int_equal(icmpv6_parse(buf, n, &ip.dst, &ip.src, &r), WIRE_OK);
    /* ... and at the buffer's end. */
    n = icmpv6_error_emit(ICMPV6_PARAM_PROBLEM, 0, 4, &ip.dst, &ip.src, big, sizeof(big), buf, 100);
    assert_int_equal(n, 100);
    assert_int_equal(icmpv6_error_emit(ICMPV6_PARAM_PROBLEM, 0, 4, &ip.dst, &ip.src, big,
                                       sizeof(big), buf, 7),
                     0);
    free(buf);
}

static void when_errors_may_be_sent(void **state)
{
    (void)state;
    /* About a unicast UDP datagram: any error. */
    assert_true(icmpv6_error_allowed(ICMPV6_DEST_UNREACH, ICMPV6_DU_PORT, IPV6_OPT_SKIP, k_udp,
                                     sizeof(k_udp), false));
    assert_true(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, 0, IPV6_OPT_SKIP, k_echo_req,
                                     sizeof(k_echo_req), false));
    /* (e.1): never about an error. */
    assert_false(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, 0, IPV6_OPT_SKIP, k_port_unreach,
                                      sizeof(k_port_unreach), false));
    /* (e.2): nor about a redirect. */
    uint8_t red[48];
    memcpy(red, k_echo_req, 48);
    red[40] = ICMPV6_REDIRECT;
    assert_false(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, 0, IPV6_OPT_SKIP, red, 48, false));
    /* An error behind a hop-by-hop header is still an error. */
    uint8_t hbh[sizeof(k_mld2_report_ll)];
    memcpy(hbh, k_mld2_report_ll, sizeof(hbh));
    memcpy(hbh + 24, k_udp + 24, 16); /* to a unicast address */
    assert_true(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, 0, IPV6_OPT_SKIP, hbh, sizeof(hbh),
                                     false));
    hbh[48] = ICMPV6_TIME_EXCEEDED;
    assert_false(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, 0, IPV6_OPT_SKIP, hbh, sizeof(hbh),
                                      false));
    /* (e.3): to a multicast destination only Packet Too Big and the
     * option-10 Parameter Problem. */
    const uint8_t *mc = k_mld2_report_ll;
    size_t mcl = sizeof(k_mld2_report_ll);
    assert_false(icmpv6_error_allowed(ICMPV6_DEST_UNREACH, ICMPV6_DU_PORT, IPV6_OPT_SKIP, mc, mcl,
                                      false));
    assert_false(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, ICMPV6_PP_HEADER, IPV6_OPT_SKIP, mc,
                                      mcl, false));
    assert_true(icmpv6_error_allowed(ICMPV6_PACKET_TOO_BIG, 0, IPV6_OPT_SKIP, mc, mcl, false));
    assert_true(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, ICMPV6_PP_OPTION, IPV6_OPT_DISCARD_ICMP,
                                     mc, mcl, false));
    assert_false(icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, ICMPV6_PP_OPTION,
                                      IPV6_OPT_DISCARD_ICMP_UNICAST, mc, mcl, false));
    /* (e.4), (e.5): link-layer multicast or broadcast, the same. */
    assert_false(icmpv6_error_allowed(ICMPV6_DEST_UNREACH, ICMPV6_DU_PORT, IPV6_OPT_SKIP, k_udp,
                                      sizeof(k_udp), true));
    assert_true(icmpv6_error_allowed(ICMPV6_PACKET_TOO_BIG, 0, IPV6_OPT_SKIP, k_udp, sizeof(k_udp),
                                     true));
    /* (e.6): not to the unspecified address, nor from a multicast one. */
    assert_false(icmpv6_error_allowed(ICMPV6_PACKET_TOO_BIG, 0, IPV6_OPT_SKIP, k_ns_dad,
                                      sizeof(k_ns_dad), false));
    uint8_t msrc[sizeof(k_udp)];
    memcpy(msrc, k_udp, sizeof(msrc));
    msrc[8] = 0xff;
    assert_false(icmpv6_error_allowed(ICMPV6_PACKET_TOO_BIG, 0, IPV6_OPT_SKIP, msrc, sizeof(msrc),
                                      false));
    assert_false(icmpv6_error_allowed(ICMPV6_PACKET_TOO_BIG, 0, IPV6_OPT_SKIP, k_udp, 39, false));
}

/* ---------------- neighbour discovery: the kernel's messages ---------------- */

static enum nd_err nd_of(const uint8_t *pkt, size_t len, struct nd_msg *m)
{
    struct ipv6_repr ip;
    hdr_of(pkt, len, &ip);
    struct icmpv6_repr r;
    assert_int_equal(icmpv6_parse(pkt + 40, len - 40, &ip.src, &ip.dst, &r), WIRE_OK);
    return nd_parse(&ip, pkt + 40, len - 40, m);
}

static void nd_kernel_messages(void **state)
{
    (void)state;
    struct nd_msg m;
    const uint8_t mac_a[6] = {2, 0, 0, 0, 0, 0x0a}, mac_b[6] = {2, 0, 0, 0, 0, 0x0b};
    struct ipv6_addr a = A("2001:db8::a"), b = A("2001:db8::b");

    assert_int_equal(nd_of(k_rs, sizeof(k_rs), &m), ND_OK);
    assert_int_equal(m.type, ICMPV6_ROUTER_SOLICIT);
    assert_true(m.opts.has_slla);
    assert_memory_equal(m.opts.slla, mac_b, 6);

    assert_int_equal(nd_of(k_ns, sizeof(k_ns), &m), ND_OK);
    assert_int_equal(m.type, ICMPV6_NEIGHBOR_SOLICIT);
    assert_true(ipv6_addr_eq(&m.target, &b));
    assert_true(m.opts.has_slla);
    assert_memory_equal(m.opts.slla, mac_a, 6);
    assert_false(m.opts.has_tlla);

    /* DAD: from ::, no source link-layer option, a nonce (RFC 7527) that
     * we do not know and skip. */
    assert_int_equal(nd_of(k_ns_dad, sizeof(k_ns_dad), &m), ND_OK);
    assert_true(ipv6_addr_eq(&m.target, &a));
    assert_false(m.opts.has_slla);
    assert_int_equal(m.opts.unknown, 1);

    assert_int_equal(nd_of(k_na, sizeof(k_na), &m), ND_OK);
    assert_int_equal(m.type, ICMPV6_NEIGHBOR_ADVERT);
    assert_int_equal(m.na_flags, ND_NA_SOLICITED | ND_NA_OVERRIDE);
    assert_true(ipv6_addr_eq(&m.target, &b));
    assert_true(m.opts.has_tlla);
    assert_memory_equal(m.opts.tlla, mac_b, 6);

    assert_int_equal(nd_of(k_na_nud, sizeof(k_na_nud), &m), ND_OK);
    assert_int_equal(m.na_flags, ND_NA_SOLICITED);
    assert_false(m.opts.has_tlla);
}

static void nd_emit_as_the_kernel(void **state)
{
    (void)state;
    uint8_t out[128];
    struct ipv6_repr ip;
    struct nd_msg m;
    /* NS */
    hdr_of(k_ns, sizeof(k_ns), &ip);
    memset(&m, 0, sizeof(m));
    m.type = ICMPV6_NEIGHBOR_SOLICIT;
    m.target = A("2001:db8::b");
    m.opts.has_slla = true;
    memcpy(m.opts.slla, (uint8_t[6]){2, 0, 0, 0, 0, 0x0a}, 6);
    assert_int_equal(nd_emit(&m, &ip.src, &ip.dst, out, sizeof(out)), 32);
    assert_memory_equal(out, k_ns + 40, 32);
    /* NA */
    hdr_of(k_na, sizeof(k_na), &ip);
    memset(&m, 0, sizeof(m));
    m.type = ICMPV6_NEIGHBOR_ADVERT;
    m.na_flags = ND_NA_SOLICITED | ND_NA_OVERRIDE;
    m.target = A("2001:db8::b");
    m.opts.has_tlla = true;
    memcpy(m.opts.tlla, (uint8_t[6]){2, 0, 0, 0, 0, 0x0b}, 6);
    assert_int_equal(nd_emit(&m, &ip.src, &ip.dst, out, sizeof(out)), 32);
    assert_memory_equal(out, k_na + 40, 32);
    /* RS */
    hdr_of(k_rs, sizeof(k_rs), &ip);
    memset(&m, 0, sizeof(m));
    m.type = ICMPV6_ROUTER_SOLICIT;
    m.opts.has_slla = true;
    memcpy(m.opts.slla, (uint8_t[6]){2, 0, 0, 0, 0, 0x0b}, 6);
    assert_int_equal(nd_emit(&m, &ip.src, &ip.dst, out, sizeof(out)), 16);
    assert_memory_equal(out, k_rs + 40, 16);
    /* Too small a buffer, and a Redirect (a host never sends one). */
    assert_int_equal(nd_emit(&m, &ip.src, &ip.dst, out, 15), 0);
    m.type = ICMPV6_REDIRECT;
    assert_int_equal(nd_emit(&m, &ip.src, &ip.dst, out, sizeof(out)), 0);
    m.type = ICMPV6_ECHO_REQUEST;
    assert_int_equal(nd_emit(&m, &ip.src, &ip.dst, out, sizeof(out)), 0);
}

/* An RA from fe80::1 to ff02::1 with every field and option set. */
static size_t make_ra(uint8_t *pkt, size_t cap, unsigned n_prefix)
{
    struct nd_msg m;
    memset(&m, 0, sizeof(m));
    m.type = ICMPV6_ROUTER_ADVERT;
    m.cur_hop_limit = 64;
    m.ra_flags = ND_RA_MANAGED | ND_RA_OTHER;
    m.router_lifetime = 1800;
    m.reachable_time = 30000;
    m.retrans_timer = 1000;
    m.opts.has_slla = true;
    memcpy(m.opts.slla, (uint8_t[6]){2, 0, 0, 0, 0, 1}, 6);
    m.opts.has_mtu = true;
    m.opts.mtu = 1480;
    m.opts.n_prefix = n_prefix;
    for (unsigned i = 0; i < n_prefix; i++) {
        m.opts.prefix[i].len = 64;
        m.opts.prefix[i].flags = ND_PREFIX_ONLINK | ND_PREFIX_AUTO;
        m.opts.prefix[i].valid = 86400;
        m.opts.prefix[i].preferred = 14400;
        m.opts.prefix[i].prefix = A("2001:db8::");
        m.opts.prefix[i].prefix.a[5] = (uint8_t)i;
    }
    struct ipv6_repr ip = {0};
    ip.src = A("fe80::1");
    ip.dst = ipv6_addr_all_nodes;
    ip.hop_limit = 255;
    ip.next_hdr = IPV6_NH_ICMPV6;
    size_t n = nd_emit(&m, &ip.src, &ip.dst, pkt + 40, cap - 40);
    assert_int_not_equal(n, 0);
    ip.payload_len = (uint16_t)n;
    ipv6_emit(&ip, pkt);
    return 40 + n;
}

static void nd_router_advert_round_trip(void **state)
{
    (void)state;
    uint8_t pkt[512];
    size_t len = make_ra(pkt, sizeof(pkt), 2);
    assert_int_equal(len, 40 + 16 + 8 + 8 + 64);
    struct nd_msg m;
    assert_int_equal(nd_of(pkt, len, &m), ND_OK);
    assert_int_equal(m.type, ICMPV6_ROUTER_ADVERT);
    assert_int_equal(m.cur_hop_limit, 64);
    assert_int_equal(m.ra_flags, ND_RA_MANAGED | ND_RA_OTHER);
    assert_int_equal(m.router_lifetime, 1800);
    assert_int_equal(m.reachable_time, 30000);
    assert_int_equal(m.retrans_timer, 1000);
    assert_true(m.opts.has_mtu);
    assert_int_equal(m.opts.mtu, 1480);
    assert_int_equal(m.opts.n_prefix, 2);
    assert_int_equal(m.opts.prefix[1].len, 64);
    assert_int_equal(m.opts.prefix[1].flags, ND_PREFIX_ONLINK | ND_PREFIX_AUTO);
    assert_int_equal(m.opts.prefix[1].valid, 86400);
    assert_int_equal(m.opts.prefix[1].preferred, 14400);
    struct ipv6_addr want = A("2001:db8:1::");
    assert_true(ipv6_addr_eq(&m.opts.prefix[1].prefix, &want));
    /* The RA's fixed bytes, by hand (RFC 4861 4.2). */
    const uint8_t fixed[16] = {134, 0, 0,    0,    64, 0xc0, 0x07, 0x08,
                               0,   0, 0x75, 0x30, 0,  0,    0x03, 0xe8};
    assert_memory_equal(pkt + 44, fixed + 4, 12);
    /* More prefixes than kept: the rest counted. */
    struct nd_opts o;
    uint8_t opts[32 * (ND_PREFIX_MAX + 3)];
    for (unsigned i = 0; i < ND_PREFIX_MAX + 3; i++) {
        memset(opts + 32 * i, 0, 32);
        opts[32 * i] = ND_OPT_PREFIX;
        opts[32 * i + 1] = 4;
        opts[32 * i + 2] = (uint8_t)i;
    }
    assert_int_equal(nd_opts_parse(opts, sizeof(opts), &o), ND_OK);
    assert_int_equal(o.n_prefix, ND_PREFIX_MAX);
    assert_int_equal(o.prefix_dropped, 3);
    assert_int_equal(o.prefix[ND_PREFIX_MAX - 1].len, ND_PREFIX_MAX - 1);
}

/* ---------------- neighbour discovery: each rule failing ---------------- */

/* Parses msg (an ND message) as if in a packet from src to dst with hop
 * limit hl. */
static enum nd_err nd_as(const char *src, const char *dst, uint8_t hl, const uint8_t *msg,
                         size_t len, struct nd_msg *m)
{
    struct ipv6_repr ip = {0};
    ip.src = A(src);
    ip.dst = A(dst);
    ip.hop_limit = hl;
    uint8_t *copy = malloc(len ? len : 1); /* exactly len bytes */
    memcpy(copy, msg, len);
    enum nd_err e = nd_parse(&ip, copy, len, m);
    free(copy);
    return e;
}

static void nd_rules_one_by_one(void **state)
{
    (void)state;
    struct nd_msg m;
    const uint8_t *ns = k_ns + 40; /* 32 bytes: NS for 2001:db8::b with SLLA */
    const char *sn = "ff02::1:ff00:b";
    assert_int_equal(nd_as("2001:db8::a", sn, 255, ns, 32, &m), ND_OK);
    /* hop limit */
    assert_int_equal(nd_as("2001:db8::a", sn, 254, ns, 32, &m), ND_EHOPLIMIT);
    assert_int_equal(nd_as("2001:db8::a", sn, 64, ns, 32, &m), ND_EHOPLIMIT);
    /* code */
    uint8_t b[64];
    memcpy(b, ns, 32);
    b[1] = 1;
    assert_int_equal(nd_as("2001:db8::a", sn, 255, b, 32, &m), ND_ECODE);
    /* every truncation: the fixed part, then the option */
    for (size_t len = 0; len < 32; len++) {
        enum nd_err want = len < ND_NS_LEN ? ND_ELEN : len == ND_NS_LEN ? ND_OK : ND_EOPTLEN;
        assert_int_equal(nd_as("2001:db8::a", sn, 255, ns, len, &m), want);
    }
    /* target multicast */
    memcpy(b, ns, 32);
    b[8] = 0xff;
    assert_int_equal(nd_as("2001:db8::a", sn, 255, b, 32, &m), ND_ETARGET_MCAST);
    /* option length 0 */
    memcpy(b, ns, 32);
    b[25] = 0;
    assert_int_equal(nd_as("2001:db8::a", sn, 255, b, 32, &m), ND_EOPTLEN);
    /* a source link-layer option of 16 bytes (not Ethernet's) */
    memcpy(b, ns, 32);
    memset(b + 32, 0, 8);
    b[25] = 2;
    assert_int_equal(nd_as("2001:db8::a", sn, 255, b, 40, &m), ND_EOPTBAD);
    /* from :: : to a solicited-node address, without SLLA */
    assert_int_equal(nd_as("::", sn, 255, ns, 32, &m), ND_EUNSPEC_SLLA);
    assert_int_equal(nd_as("::", sn, 255, ns, 24, &m), ND_OK);
    assert_int_equal(nd_as("::", "2001:db8::b", 255, ns, 24, &m), ND_EUNSPEC_DST);
    assert_int_equal(nd_as("::", "ff02::1", 255, ns, 24, &m), ND_EUNSPEC_DST);
    /* unknown options are skipped, however many */
    memcpy(b, ns, 24);
    for (int i = 0; i < 4; i++) {
        memset(b + 24 + 8 * i, 0, 8);
        b[24 + 8 * i] = (uint8_t)(200 + i);
        b[25 + 8 * i] = 1;
    }
    assert_int_equal(nd_as("2001:db8::a", sn, 255, b, 56, &m), ND_OK);
    assert_int_equal(m.opts.unknown, 4);

    /* NA: to multicast, S must be clear */
    const uint8_t *na = k_na + 40; /* S|O, TLLA */
    assert_int_equal(nd_as("2001:db8::b", "2001:db8::a", 255, na, 32, &m), ND_OK);
    assert_int_equal(nd_as("2001:db8::b", "ff02::1", 255, na, 32, &m), ND_ESOLICITED_MCAST);
    memcpy(b, na, 32);
    b[4] = ND_NA_OVERRIDE; /* unsolicited */
    assert_int_equal(nd_as("2001:db8::b", "ff02::1", 255, b, 32, &m), ND_OK);
    assert_int_equal(m.na_flags, ND_NA_OVERRIDE);
    assert_int_equal(nd_as("2001:db8::b", "ff02::1", 1, b, 32, &m), ND_EHOPLIMIT);
    b[9] = 0;    /* still a unicast target... */
    b[8] = 0xff; /* ...now multicast */
    assert_int_equal(nd_as("2001:db8::b", "2001:db8::a", 255, b, 32, &m), ND_ETARGET_MCAST);
    for (size_t len = 0; len < ND_NA_LEN; len++)
        assert_int_equal(nd_as("2001:db8::b", "2001:db8::a", 255, na, len, &m), ND_ELEN);

    /* RS: from :: without SLLA */
    const uint8_t *rs = k_rs + 40;
    assert_int_equal(nd_as("::", "ff02::2", 255, rs, 16, &m), ND_EUNSPEC_SLLA);
    assert_int_equal(nd_as("::", "ff02::2", 255, rs, 8, &m), ND_OK);
    for (size_t len = 0; len < ND_RS_LEN; len++)
        assert_int_equal(nd_as("fe80::1", "ff02::2", 255, rs, len, &m), ND_ELEN);

    /* RA: from a link-local address, 16 bytes at least */
    uint8_t ra[512];
    size_t ra_len = make_ra(ra, sizeof(ra), 1) - 40;
    assert_int_equal(nd_as("fe80::1", "ff02::1", 255, ra + 40, ra_len, &m), ND_OK);
    assert_int_equal(nd_as("2001:db8::1", "ff02::1", 255, ra + 40, ra_len, &m), ND_ESRC_NOT_LL);
    assert_int_equal(nd_as("::", "ff02::1", 255, ra + 40, ra_len, &m), ND_ESRC_NOT_LL);
    assert_int_equal(nd_as("fe80::1", "ff02::1", 254, ra + 40, ra_len, &m), ND_EHOPLIMIT);
    for (size_t len = 0; len < ND_RA_LEN; len++)
        assert_int_equal(nd_as("fe80::1", "ff02::1", 255, ra + 40, len, &m), ND_ELEN);
    /* a prefix option of the wrong length, an MTU option of the wrong length */
    memcpy(b, ra + 40, 16);
    memset(b + 16, 0, 24);
    b[16] = ND_OPT_PREFIX;
    b[17] = 3;
    assert_int_equal(nd_as("fe80::1", "ff02::1", 255, b, 40, &m), ND_EOPTBAD);
    b[16] = ND_OPT_MTU;
    b[17] = 2;
    assert_int_equal(nd_as("fe80::1", "ff02::1", 255, b, 32, &m), ND_EOPTBAD);
    b[17] = 1;
    st32(b + 20, 9000);
    assert_int_equal(nd_as("fe80::1", "ff02::1", 255, b, 24, &m), ND_OK);
    assert_int_equal(m.opts.mtu, 9000);
    /* the first of two source link-layer options counts */
    memset(b + 16, 0, 16);
    b[16] = ND_OPT_SLLA;
    b[17] = 1;
    b[23] = 1;
    b[24] = ND_OPT_SLLA;
    b[25] = 1;
    b[31] = 2;
    assert_int_equal(nd_as("fe80::1", "ff02::1", 255, b, 32, &m), ND_OK);
    assert_int_equal(m.opts.slla[5], 1);

    /* Redirect (parsed only): link-local source, destination not
     * multicast, target link-local or the destination itself */
    uint8_t rd[48] = {ICMPV6_REDIRECT};
    struct ipv6_addr t = A("fe80::9"), d = A("2001:db8:5::1");
    memcpy(rd + 8, t.a, 16);
    memcpy(rd + 24, d.a, 16);
    rd[40] = ND_OPT_REDIRECTED;
    rd[41] = 1;
    assert_int_equal(nd_as("fe80::1", "2001:db8::a", 255, rd, 48, &m), ND_OK);
    assert_true(ipv6_addr_eq(&m.target, &t));
    assert_true(ipv6_addr_eq(&m.dest, &d));
    assert_ptr_not_equal(m.opts.redirected, NULL);
    assert_int_equal(m.opts.redirected_len, 0);
    assert_int_equal(nd_as("2001:db8::1", "2001:db8::a", 255, rd, 48, &m), ND_ESRC_NOT_LL);
    memcpy(rd + 8, d.a, 16); /* the target is the destination: on-link */
    assert_int_equal(nd_as("fe80::1", "2001:db8::a", 255, rd, 48, &m), ND_OK);
    struct ipv6_addr g = A("2001:db8:9::9");
    memcpy(rd + 8, g.a, 16);
    assert_int_equal(nd_as("fe80::1", "2001:db8::a", 255, rd, 48, &m), ND_EREDIRECT_TARGET);
    memcpy(rd + 8, t.a, 16);
    rd[24] = 0xff;
    assert_int_equal(nd_as("fe80::1", "2001:db8::a", 255, rd, 48, &m), ND_EREDIRECT_DEST);
    for (size_t len = 0; len < ND_REDIRECT_LEN; len++)
        assert_int_equal(nd_as("fe80::1", "2001:db8::a", 255, rd, len, &m), ND_ELEN);

    /* not an ND message */
    assert_int_equal(nd_as("fe80::1", "ff02::1", 255, k_echo_req + 40, 24, &m), ND_ETYPE);
    for (int e = 0; e < ND_ERRORS; e++)
        assert_ptr_not_equal(nd_err_name((enum nd_err)e), NULL);
    assert_string_equal(nd_err_name(ND_EHOPLIMIT), "drop_hop_limit");
    assert_string_equal(nd_err_name(ND_ERRORS), "?");
}

/* ---------------- MLDv2 ---------------- */

static void mld2_report_as_the_kernel(void **state)
{
    (void)state;
    struct mld2_record rec = {MLD2_TO_EXCLUDE, A("ff02::1:ff00:b")};
    uint8_t out[256];
    struct ipv6_addr src = A("fe80::ff:fe00:b");
    assert_int_equal(mld2_report_emit(&src, &rec, 1, out, sizeof(out)), 28);
    assert_memory_equal(out, k_mld2_report_ll + 48, 28);
    assert_int_equal(mld2_report_emit(&ipv6_addr_any, &rec, 1, out, sizeof(out)), 28);
    assert_memory_equal(out, k_mld2_report_unspec + 48, 28);
    /* Several records. */
    struct mld2_record recs[3] = {{MLD2_TO_EXCLUDE, A("ff02::1:ff00:1")},
                                  {MLD2_IS_EXCLUDE, A("ff02::1:ff00:2")},
                                  {MLD2_TO_INCLUDE, A("ff02::1:ff00:3")}};
    size_t n = mld2_report_emit(&src, recs, 3, out, sizeof(out));
    assert_int_equal(n, 8 + 3 * MLD2_RECORD_LEN);
    assert_int_equal(ld16(out + 6), 3);
    assert_int_equal(out[8 + 2 * MLD2_RECORD_LEN], MLD2_TO_INCLUDE);
    struct icmpv6_repr r;
    assert_int_equal(icmpv6_parse(out, n, &src, &ipv6_addr_mldv2_routers, &r), WIRE_OK);
    assert_int_equal(r.type, ICMPV6_MLD2_REPORT);
    /* Not room for them all. */
    assert_int_equal(mld2_report_emit(&src, recs, 3, out, 8 + 2 * MLD2_RECORD_LEN + 19), 0);
    assert_int_equal(mld2_report_emit(&src, recs, 0, out, 7), 0);
}

/* ---------------- the quote and the errno table ---------------- */

static void quote_of_kernel_error(void **state)
{
    (void)state;
    const uint8_t *qb = k_port_unreach + 48;
    size_t ql = sizeof(k_port_unreach) - 48;
    struct icmp_quote q;
    assert_int_equal(icmp_quote_parse6(qb, ql, &q), WIRE_OK);
    assert_int_equal(q.version, 6);
    assert_int_equal(q.proto, IPV6_NH_UDP);
    assert_int_equal(q.sport, 52718);
    assert_int_equal(q.dport, 9);
    assert_memory_equal(q.addr.v6.src, k_udp + 8, 16);
    assert_memory_equal(q.addr.v6.dst, k_udp + 24, 16);
    assert_ptr_equal(q.l4, qb + 40);
    assert_int_equal(q.l4_len, 13);
    /* every truncation below the header and 8 bytes of UDP */
    for (size_t len = 0; len < 48; len++) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, qb, len);
        assert_int_equal(icmp_quote_parse6(p, len, &q), WIRE_ETRUNC);
        free(p);
    }
    uint8_t b[128];
    memcpy(b, qb, ql);
    b[0] = 0x45;
    assert_int_equal(icmp_quote_parse6(b, ql, &q), WIRE_EVERSION);
    /* Behind a destination options header and a first fragment header. */
    memcpy(b, qb, 40);
    b[6] = IPV6_NH_DSTOPTS;
    const uint8_t ext[16] = {IPV6_NH_FRAGMENT, 0, 1, 4, 0, 0, 0, 0,
                             IPV6_NH_TCP,      0, 0, 1, 0, 0, 0, 7};
    memcpy(b + 40, ext, 16);
    memcpy(b + 56, qb + 40, 8);
    assert_int_equal(icmp_quote_parse6(b, 64, &q), WIRE_OK);
    assert_int_equal(q.proto, IPV6_NH_TCP);
    assert_ptr_equal(q.l4, b + 56);
    assert_int_equal(q.sport, 52718);
    for (size_t len = 40; len < 64; len++)
        assert_int_equal(icmp_quote_parse6(b, len, &q), WIRE_ETRUNC);
    /* A fragment other than the first has no transport header. */
    b[50] = 0x05;
    b[51] = 0xa9;
    assert_int_equal(icmp_quote_parse6(b, 64, &q), WIRE_EUNSUPP);
    /* A header longer than the quote. */
    b[41] = 9;
    assert_int_equal(icmp_quote_parse6(b, 64, &q), WIRE_ETRUNC);
}

static void errno_of_icmpv6_errors(void **state)
{
    (void)state;
    static const struct {
        uint8_t type, code;
        int err;
        bool hard;
    } rows[] = {
        {ICMPV6_DEST_UNREACH, ICMPV6_DU_NO_ROUTE, ENETUNREACH, true},
        {ICMPV6_DEST_UNREACH, ICMPV6_DU_ADMIN, EACCES, true},
        {ICMPV6_DEST_UNREACH, ICMPV6_DU_BEYOND_SCOPE, EHOSTUNREACH, true},
        {ICMPV6_DEST_UNREACH, ICMPV6_DU_ADDR, EHOSTUNREACH, true},
        {ICMPV6_DEST_UNREACH, ICMPV6_DU_PORT, ECONNREFUSED, true},
        {ICMPV6_DEST_UNREACH, ICMPV6_DU_POLICY, EACCES, true},
        {ICMPV6_DEST_UNREACH, ICMPV6_DU_REJECT_ROUTE, EACCES, true},
        {ICMPV6_DEST_UNREACH, 99, EHOSTUNREACH, true},
        {ICMPV6_PACKET_TOO_BIG, 0, EMSGSIZE, false},
        {ICMPV6_TIME_EXCEEDED, ICMPV6_TE_HOP_LIMIT, EHOSTUNREACH, false},
        {ICMPV6_TIME_EXCEEDED, ICMPV6_TE_REASSEMBLY, EHOSTUNREACH, false},
        {ICMPV6_PARAM_PROBLEM, ICMPV6_PP_HEADER, EPROTO, false},
        {ICMPV6_PARAM_PROBLEM, ICMPV6_PP_NEXT_HDR, ENOPROTOOPT, true},
        {ICMPV6_PARAM_PROBLEM, ICMPV6_PP_OPTION, EPROTO, false},
        {ICMPV6_PARAM_PROBLEM, ICMPV6_PP_FIRST_FRAG, EPROTO, false},
        {100, 0, EPROTO, false}, /* RFC 4443 2.4 (d): unknown errors still reported */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct icmp_err_class *c = icmpv6_err_classify(rows[i].type, rows[i].code);
        assert_non_null(c);
        assert_int_equal(c->err, rows[i].err);
        assert_int_equal(c->hard, rows[i].hard);
    }
    assert_null(icmpv6_err_classify(ICMPV6_ECHO_REQUEST, 0));
    assert_null(icmpv6_err_classify(ICMPV6_NEIGHBOR_ADVERT, 0));
    /* The ICMPv4 table is untouched: its port unreachable is still 3/3. */
    assert_int_equal(icmp_err_classify(3, 3)->err, ECONNREFUSED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_as_the_kernel_answers),
        cmocka_unit_test(icmpv6_truncations_and_checksum),
        cmocka_unit_test(error_as_the_kernel_sends),
        cmocka_unit_test(when_errors_may_be_sent),
        cmocka_unit_test(nd_kernel_messages),
        cmocka_unit_test(nd_emit_as_the_kernel),
        cmocka_unit_test(nd_router_advert_round_trip),
        cmocka_unit_test(nd_rules_one_by_one),
        cmocka_unit_test(mld2_report_as_the_kernel),
        cmocka_unit_test(quote_of_kernel_error),
        cmocka_unit_test(errno_of_icmpv6_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
