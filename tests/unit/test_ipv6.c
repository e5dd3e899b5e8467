/* IPv6 on the wire (src/wire/ipv6.c, the pseudo-header checksum in
 * src/wire/checksum.c): the header on packets the Linux kernel sent
 * (v6_vectors.h) and every truncation of them, the extension-header walker
 * with every option action class and the pointer each Parameter Problem
 * needs, and the address helpers against RFC 4291 and RFC 5952. */
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
#include "wire/ipv6.h"

static struct ipv6_addr A(const char *s) {
    struct ipv6_addr a;
    assert_int_equal(ipv6_addr_parse(s, &a), 0);
    return a;
}

/* ---------------- the header ---------------- */

static void
header_of_kernel_packet(void **state)
{
    (void)state;
    struct ipv6_repr r;
    assert_int_equal(ipv6_parse(k_echo_req, sizeof(k_echo_req), &r), WIRE_OK);
    assert_int_equal(r.payload_len, 24);
    assert_int_equal(r.next_hdr, IPV6_NH_ICMPV6);
    assert_int_equal(r.hop_limit, 64);
    struct ipv6_addr a = A("2001:db8::a"), b = A("2001:db8::b");
    assert_true(ipv6_addr_eq(&r.src, &a));
    assert_true(ipv6_addr_eq(&r.dst, &b));
    /* The first fragment: traffic class 0, a flow label, next header 44. */
    assert_int_equal(ipv6_parse(k_frag0, sizeof(k_frag0), &r), WIRE_OK);
    assert_int_equal(r.tclass, 0x00);
    assert_int_equal(r.flow, 0xbd794);
    assert_int_equal(r.next_hdr, IPV6_NH_FRAGMENT);
    assert_int_equal(r.payload_len, 1456);
    /* Emit writes the same 40 bytes back. */
    uint8_t out[IPV6_HDR_LEN];
    ipv6_emit(&r, out);
    assert_memory_equal(out, k_frag0, IPV6_HDR_LEN);
    /* Traffic class and flow label keep their bits apart. */
    r.tclass = 0xb8;
    r.flow = 0xfffff;
    ipv6_emit(&r, out);
    assert_int_equal(ld32(out), 0x6b8fffffu);
    struct ipv6_repr back;
    assert_int_equal(ipv6_parse(out, sizeof(out) + 0, &back), WIRE_ELEN);
}

static void header_every_truncation(void **state)
{
    (void)state;
    struct ipv6_repr r;
    for (size_t len = 0; len < sizeof(k_echo_req); len++) {
        uint8_t *p = malloc(len ? len : 1); /* exactly len bytes: ASan sees any overread */
        memcpy(p, k_echo_req, len);
        int want = len < IPV6_HDR_LEN ? WIRE_ETRUNC : WIRE_ELEN;
        assert_int_equal(ipv6_parse(p, len, &r), want);
        free(p);
    }
    /* Link padding after the payload is not the packet's. */
    uint8_t padded[sizeof(k_echo_req) + 6] = {0};
    memcpy(padded, k_echo_req, sizeof(k_echo_req));
    assert_int_equal(ipv6_parse(padded, sizeof(padded), &r), WIRE_OK);
    assert_int_equal(r.payload_len, 24);
    /* Versions other than 6. */
    for (unsigned v = 0; v < 16; v++) {
        if (v == 6)
            continue;
        padded[0] = (uint8_t)(v << 4);
        assert_int_equal(ipv6_parse(padded, sizeof(padded), &r), WIRE_EVERSION);
    }
}

/* ---------------- the pseudo-header checksum ---------------- */

static void pseudo_header_checksum(void **state)
{
    (void)state;
    /* By hand: ::1 and ::2 add 1 + 2, the length 4, the next header 17
     * (0x11), the data 0x1234 + 0x5678: 0x68c4, complemented 0x973b. */
    struct ipv6_addr one = A("::1"), two = A("::2");
    const uint8_t d1[] = {0x12, 0x34, 0x56, 0x78};
    assert_int_equal(cksum6(one.a, two.a, 17, d1, sizeof(d1)), 0x973b);
    /* With carries: 0x18 + 0xffff + 0xffff = 0x20016, folded 0x18,
     * complemented 0xffe7. */
    const uint8_t d2[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(cksum6(one.a, two.a, 17, d2, sizeof(d2)), 0xffe7);
    /* An odd length pads with zero: 0x18 - 4 + 3 + 0xab00 = 0xab17. */
    const uint8_t d3[] = {0xab, 0x00, 0x00};
    assert_int_equal(cksum6(one.a, two.a, 17, d3, 3), (uint16_t)~0xab17);
    /* The kernel's UDP datagram, ICMPv6 echo and MLDv2 report verify. */
    assert_int_equal(cksum6(k_udp + 8, k_udp + 24, IPV6_NH_UDP, k_udp + 40, 13), 0);
    assert_int_equal(cksum6(k_echo_req + 8, k_echo_req + 24, IPV6_NH_ICMPV6, k_echo_req + 40, 24),
                     0);
    assert_int_equal(cksum6(k_mld2_report_ll + 8, k_mld2_report_ll + 24, IPV6_NH_ICMPV6,
                            k_mld2_report_ll + 48, 28),
                     0);
    /* The next header is the upper layer's, not the hop-by-hop's (0). */
    assert_int_not_equal(cksum6(k_mld2_report_ll + 8, k_mld2_report_ll + 24, IPV6_NH_HOPOPTS,
                                k_mld2_report_ll + 48, 28),
                         0);
    /* The 32-bit length: 65,536 + 4 bytes differ from 4 by the high word. */
    assert_int_not_equal(cksum_pseudo6(one.a, two.a, 4, 17),
                         cksum_pseudo6(one.a, two.a, 65540, 17));
    /* Any one flipped bit fails it. */
    uint8_t u[13];
    memcpy(u, k_udp + 40, 13);
    u[9] ^= 0x10;
    assert_int_not_equal(cksum6(k_udp + 8, k_udp + 24, IPV6_NH_UDP, u, 13), 0);
}

/* ---------------- extension headers ---------------- */

/* A packet from 2001:db8::1 to dst, its extension headers hdrs (hlen
 * bytes, the first's type first_nh), then 8 bytes of UDP; exactly sized
 * (the caller frees it). */
static uint8_t *make_pkt(const char *dst, uint8_t first_nh, const uint8_t *hdrs, size_t hlen,
                         size_t *len, struct ipv6_repr *ip)
{
    *len = IPV6_HDR_LEN + hlen + 8;
    uint8_t *p = calloc(1, *len);
    struct ipv6_repr r = {0};
    r.payload_len = (uint16_t)(hlen + 8);
    r.next_hdr = hlen ? first_nh : IPV6_NH_UDP;
    r.hop_limit = 64;
    r.src = A("2001:db8::1");
    r.dst = A(dst);
    ipv6_emit(&r, p);
    memcpy(p + IPV6_HDR_LEN, hdrs, hlen);
    *ip = r;
    return p;
}

static enum ipv6_ext_verdict walk(const char *dst, uint8_t first_nh, const uint8_t *hdrs,
                                  size_t hlen, struct ipv6_ext *e)
{
    size_t len;
    struct ipv6_repr ip;
    uint8_t *p = make_pkt(dst, first_nh, hdrs, hlen, &len, &ip);
    enum ipv6_ext_verdict v = ipv6_ext_walk(p, &ip, e);
    free(p);
    return v;
}

static void ext_none_and_kernel_hbh(void **state)
{
    (void)state;
    struct ipv6_ext e;
    struct ipv6_repr ip;
    assert_int_equal(ipv6_parse(k_udp, sizeof(k_udp), &ip), WIRE_OK);
    assert_int_equal(ipv6_ext_walk(k_udp, &ip, &e), IPV6_EXT_OK);
    assert_int_equal(e.proto, IPV6_NH_UDP);
    assert_int_equal(e.proto_off, 40);
    assert_int_equal(e.nh_off, IPV6_OFF_NEXT_HDR);
    /* The kernel's MLD report: hop-by-hop with a router alert of 0. */
    assert_int_equal(ipv6_parse(k_mld2_report_ll, sizeof(k_mld2_report_ll), &ip), WIRE_OK);
    assert_int_equal(ipv6_ext_walk(k_mld2_report_ll, &ip, &e), IPV6_EXT_OK);
    assert_int_equal(e.proto, IPV6_NH_ICMPV6);
    assert_int_equal(e.proto_off, 48);
    assert_int_equal(e.nh_off, 40);
    assert_true(e.router_alert);
    assert_int_equal(e.router_alert_value, 0);
    /* ... which the emitter writes byte for byte. */
    uint8_t hbh[8];
    ipv6_hbh_router_alert_emit(hbh, IPV6_NH_ICMPV6, 0);
    assert_memory_equal(hbh, k_mld2_report_ll + 40, 8);
}

/* A destination options header (8 bytes) holding one option of type t
 * with 2 data bytes, padded with PadN: [nh=17][0][t][2][x][x][1][0]. */
static void dst_opt(uint8_t h[8], uint8_t t)
{
    const uint8_t v[8] = {IPV6_NH_UDP, 0, t, 2, 0xaa, 0xbb, IPV6_OPT_PADN, 0};
    memcpy(h, v, 8);
}

static void ext_option_action_classes(void **state)
{
    (void)state;
    struct ipv6_ext e;
    uint8_t h[8];
    /* 00: skipped. */
    dst_opt(h, 0x1e);
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OK);
    assert_int_equal(e.proto, IPV6_NH_UDP);
    assert_int_equal(e.proto_off, 48);
    assert_int_equal(e.nh_off, 40);
    /* 01: discarded, no ICMP, to unicast or multicast. */
    dst_opt(h, 0x5e);
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OPT_UNKNOWN);
    assert_int_equal(e.action, IPV6_OPT_DISCARD);
    assert_false(e.icmp);
    assert_int_equal(walk("ff02::1", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OPT_UNKNOWN);
    assert_false(e.icmp);
    /* 10: discarded, Parameter Problem code 2 at the option's type (42),
     * even to multicast. */
    dst_opt(h, 0x9e);
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OPT_UNKNOWN);
    assert_int_equal(e.action, IPV6_OPT_DISCARD_ICMP);
    assert_true(e.icmp);
    assert_int_equal(e.icmp_code, ICMPV6_PP_OPTION);
    assert_int_equal(e.pointer, 42);
    assert_int_equal(walk("ff02::1", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OPT_UNKNOWN);
    assert_true(e.icmp);
    /* 11: the same, but not to multicast. */
    dst_opt(h, 0xde);
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OPT_UNKNOWN);
    assert_int_equal(e.action, IPV6_OPT_DISCARD_ICMP_UNICAST);
    assert_true(e.icmp);
    assert_int_equal(e.pointer, 42);
    assert_int_equal(walk("ff02::1", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OPT_UNKNOWN);
    assert_false(e.icmp);
    /* The pointer of an option after padding: Pad1, Pad1, then the option. */
    const uint8_t h2[16] = {IPV6_NH_UDP, 1, 0, 0, 0xc2, 4, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_HOPOPTS, h2, 16, &e), IPV6_EXT_OPT_UNKNOWN);
    assert_int_equal(e.pointer, 44);
    assert_int_equal(e.action, IPV6_OPT_DISCARD_ICMP_UNICAST);
    /* A router alert outside hop-by-hop is an option like any (00: skipped). */
    dst_opt(h, IPV6_OPT_ROUTER_ALERT);
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 8, &e), IPV6_EXT_OK);
    assert_false(e.router_alert);
}

static void ext_malformed_options(void **state)
{
    (void)state;
    struct ipv6_ext e;
    /* An option whose length runs past the header. */
    const uint8_t a[8] = {IPV6_NH_UDP, 0, IPV6_OPT_PADN, 5, 0, 0, 0, 0};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, a, 8, &e), IPV6_EXT_OPT_BAD);
    assert_false(e.icmp);
    /* A type byte with no room for its length byte. */
    const uint8_t b[8] = {IPV6_NH_UDP, 0, 0, 0, 0, 0, 0, 0x1e};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, b, 8, &e), IPV6_EXT_OPT_BAD);
    /* A router alert of 3 bytes (RFC 2711: 2). */
    const uint8_t c[8] = {IPV6_NH_UDP, 0, IPV6_OPT_ROUTER_ALERT, 3, 0, 0, 0, 0};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_HOPOPTS, c, 8, &e), IPV6_EXT_OPT_BAD);
    /* Pad1 and PadN filling the header exactly are fine. */
    const uint8_t d[8] = {IPV6_NH_UDP, 0, 0, IPV6_OPT_PADN, 2, 0, 0, 0};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_HOPOPTS, d, 8, &e), IPV6_EXT_OK);
}

static void ext_hbh_not_first(void **state)
{
    (void)state;
    struct ipv6_ext e;
    /* Destination options, then hop-by-hop: code 1 at the byte (40) that
     * named the hop-by-hop header. */
    const uint8_t h[16] = {IPV6_NH_HOPOPTS, 0, 1, 4, 0, 0, 0, 0, IPV6_NH_UDP, 0, 1, 4, 0, 0, 0, 0};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 16, &e), IPV6_EXT_HBH_NOT_FIRST);
    assert_true(e.icmp);
    assert_int_equal(e.icmp_code, ICMPV6_PP_NEXT_HDR);
    assert_int_equal(e.pointer, 40);
}

static void ext_routing_header(void **state)
{
    (void)state;
    struct ipv6_ext e;
    /* Type 0 (RFC 5095), segments left 1: refused, code 0 at the type (42). */
    uint8_t rt[24] = {IPV6_NH_UDP, 2, 0, 1};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_ROUTING, rt, 24, &e), IPV6_EXT_ROUTING);
    assert_true(e.has_routing);
    assert_int_equal(e.rt_type, 0);
    assert_int_equal(e.rt_segleft, 1);
    assert_true(e.icmp);
    assert_int_equal(e.icmp_code, ICMPV6_PP_HEADER);
    assert_int_equal(e.pointer, 42);
    /* Type 0 with segments left 0: skipped, even type 0. */
    rt[3] = 0;
    assert_int_equal(walk("2001:db8::2", IPV6_NH_ROUTING, rt, 24, &e), IPV6_EXT_OK);
    assert_int_equal(e.proto, IPV6_NH_UDP);
    assert_int_equal(e.proto_off, 64);
    /* Type 2 (mobile IPv6) and 4 (segment routing) with segments left:
     * a host forwards for none. */
    rt[2] = 2;
    rt[3] = 1;
    assert_int_equal(walk("2001:db8::2", IPV6_NH_ROUTING, rt, 24, &e), IPV6_EXT_ROUTING);
    assert_int_equal(e.rt_type, 2);
    rt[2] = 4;
    rt[3] = 3;
    assert_int_equal(walk("2001:db8::2", IPV6_NH_ROUTING, rt, 24, &e), IPV6_EXT_ROUTING);
    assert_int_equal(e.rt_segleft, 3);
    /* After a destination options header the pointer moves with it. */
    uint8_t two[32] = {IPV6_NH_ROUTING, 0, 1, 4, 0, 0, 0, 0, IPV6_NH_UDP, 2, 0, 1};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, two, 32, &e), IPV6_EXT_ROUTING);
    assert_int_equal(e.pointer, 50);
}

static void ext_fragment_header(void **state)
{
    (void)state;
    struct ipv6_ext e;
    struct ipv6_repr ip;
    assert_int_equal(ipv6_parse(k_frag0, sizeof(k_frag0), &ip), WIRE_OK);
    assert_int_equal(ipv6_ext_walk(k_frag0, &ip, &e), IPV6_EXT_FRAGMENT);
    assert_int_equal(e.frag.offset, 0);
    assert_true(e.frag.more);
    assert_int_equal(e.frag.id, 0xd1e776f9u);
    assert_int_equal(e.frag.next_hdr, IPV6_NH_ICMPV6);
    assert_int_equal(e.frag.hdr_off, 40);
    assert_int_equal(e.frag.nh_off, IPV6_OFF_NEXT_HDR);
    assert_int_equal(ipv6_parse(k_frag2, sizeof(k_frag2), &ip), WIRE_OK);
    assert_int_equal(ipv6_ext_walk(k_frag2, &ip, &e), IPV6_EXT_FRAGMENT);
    assert_int_equal(e.frag.offset, 2896);
    assert_false(e.frag.more);
    /* Behind a hop-by-hop header: nh_off is that header's first byte. */
    const uint8_t h[16] = {IPV6_NH_FRAGMENT, 0, 1, 4, 0, 0, 0, 0, IPV6_NH_UDP, 0, 0, 9, 1, 2, 3, 4};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_HOPOPTS, h, 16, &e), IPV6_EXT_FRAGMENT);
    assert_int_equal(e.frag.hdr_off, 48);
    assert_int_equal(e.frag.nh_off, 40);
    assert_int_equal(e.frag.offset, 8);
    assert_true(e.frag.more);
    assert_int_equal(e.frag.id, 0x01020304);
}

static void ext_every_truncation(void **state)
{
    (void)state;
    /* Hop-by-hop (8), destination options (16), routing (segments left 0,
     * 8), then 8 bytes of UDP: cut the payload anywhere, in a buffer of
     * exactly that size. */
    uint8_t h[32] = {IPV6_NH_DSTOPTS, 0, 1, 4, 0, 0, 0, 0, IPV6_NH_ROUTING, 1, 1, 12};
    h[24] = IPV6_NH_UDP;
    h[26] = 0x40;
    size_t full;
    struct ipv6_repr ip;
    uint8_t *p = make_pkt("2001:db8::2", IPV6_NH_HOPOPTS, h, 32, &full, &ip);
    struct ipv6_ext e;
    assert_int_equal(ipv6_ext_walk(p, &ip, &e), IPV6_EXT_OK);
    assert_int_equal(e.proto_off, 72);
    assert_int_equal(e.nh_off, 64);
    for (size_t cut = 0; cut < 32; cut++) {
        uint8_t *q = malloc(IPV6_HDR_LEN + cut);
        memcpy(q, p, IPV6_HDR_LEN + cut);
        struct ipv6_repr r = ip;
        r.payload_len = (uint16_t)cut;
        assert_int_equal(ipv6_ext_walk(q, &r, &e), IPV6_EXT_TRUNC);
        assert_false(e.icmp);
        free(q);
    }
    /* The upper-layer header's own length is not the walker's business. */
    for (size_t cut = 32; cut <= 40; cut++) {
        uint8_t *q = malloc(IPV6_HDR_LEN + cut);
        memcpy(q, p, IPV6_HDR_LEN + cut);
        struct ipv6_repr r = ip;
        r.payload_len = (uint16_t)cut;
        assert_int_equal(ipv6_ext_walk(q, &r, &e), IPV6_EXT_OK);
        free(q);
    }
    free(p);
    /* A fragment header cut short. */
    const uint8_t f[8] = {IPV6_NH_UDP, 0, 0, 0, 0, 0, 0, 1};
    uint8_t *q = make_pkt("2001:db8::2", IPV6_NH_FRAGMENT, f, 8, &full, &ip);
    for (uint16_t cut = 0; cut < 8; cut++) {
        struct ipv6_repr r = ip;
        r.payload_len = cut;
        assert_int_equal(ipv6_ext_walk(q, &r, &e), IPV6_EXT_TRUNC);
    }
    free(q);
}

static void ext_too_many_and_unknown(void **state)
{
    (void)state;
    struct ipv6_ext e;
    uint8_t h[80] = {0};
    for (int i = 0; i < 10; i++) {
        h[i * 8] = IPV6_NH_DSTOPTS;
        h[i * 8 + 2] = IPV6_OPT_PADN;
        h[i * 8 + 3] = 4;
    }
    /* Eight destination options headers, then UDP: walked. */
    h[7 * 8] = IPV6_NH_UDP;
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 64, &e), IPV6_EXT_OK);
    assert_int_equal(e.proto_off, 40 + 64);
    /* Nine: dropped. */
    h[7 * 8] = IPV6_NH_DSTOPTS;
    h[8 * 8] = IPV6_NH_UDP;
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, h, 72, &e), IPV6_EXT_TOO_MANY);
    assert_false(e.icmp);
    /* An unknown next header after an extension header: proto and the
     * pointer for a code 1 are the caller's. */
    const uint8_t d[8] = {253, 0, 1, 4, 0, 0, 0, 0};
    assert_int_equal(walk("2001:db8::2", IPV6_NH_DSTOPTS, d, 8, &e), IPV6_EXT_OK);
    assert_int_equal(e.proto, 253);
    assert_int_equal(e.nh_off, 40);
    assert_string_equal(ipv6_ext_verdict_name(IPV6_EXT_TOO_MANY), "drop_ext_too_many");
    assert_string_equal(ipv6_ext_verdict_name(IPV6_EXT_ROUTING), "drop_routing");
}

static void first_fragment_chain(void **state)
{
    (void)state;
    uint8_t b[64] = {0};
    /* TCP needs 20 bytes, UDP 8, ICMPv6 4, after the extension headers. */
    assert_true(ipv6_first_frag_complete(IPV6_NH_TCP, b, 20));
    assert_false(ipv6_first_frag_complete(IPV6_NH_TCP, b, 16));
    assert_true(ipv6_first_frag_complete(IPV6_NH_UDP, b, 8));
    assert_false(ipv6_first_frag_complete(IPV6_NH_UDP, b, 7));
    assert_true(ipv6_first_frag_complete(IPV6_NH_ICMPV6, b, 8));
    assert_true(ipv6_first_frag_complete(IPV6_NH_NONE, b, 0));
    /* A destination options header of 16 bytes, then TCP: 36 needed. */
    b[0] = IPV6_NH_TCP;
    b[1] = 1;
    assert_true(ipv6_first_frag_complete(IPV6_NH_DSTOPTS, b, 36));
    assert_false(ipv6_first_frag_complete(IPV6_NH_DSTOPTS, b, 35));
    assert_false(ipv6_first_frag_complete(IPV6_NH_DSTOPTS, b, 8));
    assert_false(ipv6_first_frag_complete(IPV6_NH_DSTOPTS, b, 1));
    /* The kernel's first fragment: ICMPv6 right after. */
    assert_true(ipv6_first_frag_complete(IPV6_NH_ICMPV6, k_frag0 + 48, sizeof(k_frag0) - 48));
}

static void unfragmentable_part(void **state)
{
    (void)state;
    size_t nh_off = 0;
    assert_int_equal(ipv6_unfragmentable_len(k_udp, sizeof(k_udp), &nh_off), 40);
    assert_int_equal(nh_off, IPV6_OFF_NEXT_HDR);
    /* Hop-by-hop, destination options, routing, destination options,
     * UDP: the per-fragment part ends with the routing header (at 56,
     * 8 bytes); its Next Header byte is at 56. */
    uint8_t h[32] = {IPV6_NH_DSTOPTS, 0, 1, 4, 0, 0, 0, 0, IPV6_NH_ROUTING, 0, 1, 4, 0, 0, 0, 0,
                     IPV6_NH_DSTOPTS, 0, 0, 0, 0, 0, 0, 0, IPV6_NH_UDP,     0, 1, 4};
    size_t len;
    struct ipv6_repr ip;
    uint8_t *p = make_pkt("2001:db8::2", IPV6_NH_HOPOPTS, h, 32, &len, &ip);
    assert_int_equal(ipv6_unfragmentable_len(p, len, &nh_off), 64);
    assert_int_equal(nh_off, 56);
    /* Without the routing header, only the hop-by-hop one. */
    h[8] = IPV6_NH_UDP;
    free(p);
    p = make_pkt("2001:db8::2", IPV6_NH_HOPOPTS, h, 16, &len, &ip);
    assert_int_equal(ipv6_unfragmentable_len(p, len, &nh_off), 48);
    assert_int_equal(nh_off, 40);
    /* Cut inside a header. */
    assert_int_equal(ipv6_unfragmentable_len(p, 44, &nh_off), -1);
    assert_int_equal(ipv6_unfragmentable_len(p, 30, &nh_off), -1);
    free(p);
}

/* ---------------- addresses ---------------- */

static void address_text_round_trips(void **state)
{
    (void)state;
    /* input, RFC 5952 output */
    static const char *const cases[][2] = {
        {"2001:db8::1", "2001:db8::1"},
        {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"}, /* 4.1, 4.2.1 */
        {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},              /* 4.2.3: the first */
        {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},           /* 4.2.2: one 0 stays */
        {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},                          /* 4.2.3: the longest */
        {"2001:DB8::ABCD:Ef", "2001:db8::abcd:ef"},                 /* 4.3: lower case */
        {"::", "::"},
        {"::1", "::1"},
        {"1::", "1::"},
        {"0:0:0:0:0:0:0:0", "::"},
        {"fe80::ff:fe00:b", "fe80::ff:fe00:b"},
        {"ff02::1:ff00:b", "ff02::1:ff00:b"},
        {"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"},
        {"::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"},
        {"::ffff:192.0.2.1", "::ffff:192.0.2.1"}, /* 5: mapped, dotted */
        {"::FFFF:c000:0201", "::ffff:192.0.2.1"},
        {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
        {"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ipv6_addr a;
        char buf[IPV6_ADDR_STRLEN];
        assert_int_equal(ipv6_addr_parse(cases[i][0], &a), 0);
        assert_string_equal(ipv6_addr_format(&a, buf), cases[i][1]);
        struct ipv6_addr b;
        assert_int_equal(ipv6_addr_parse(buf, &b), 0);
        assert_true(ipv6_addr_eq(&a, &b));
    }
    /* The bytes themselves. */
    struct ipv6_addr a = A("2001:db8::a:1");
    const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, [12] = 0, 0x0a, 0, 0x01};
    assert_memory_equal(a.a, want, 16);
    /* The longest text fits. */
    char buf[IPV6_ADDR_STRLEN];
    a = A("1111:2222:3333:4444:5555:6666:7777:8888");
    assert_string_equal(ipv6_addr_format(&a, buf), "1111:2222:3333:4444:5555:6666:7777:8888");
    a = A("::ffff:255.255.255.255");
    assert_string_equal(ipv6_addr_format(&a, buf), "::ffff:255.255.255.255");
}

static void address_text_rejects(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        ":",
        ":::",
        "1:::2",
        "1::2::3",
        "12345::",
        "1:2:3:4:5:6:7:8:9",
        "1:2:3:4:5:6:7",
        "1:2:3:4:5:6:7:8::",
        "::1:2:3:4:5:6:7:8",
        "g::",
        "1::2:",
        ":1::2",
        "1:2:3:4:5:6:7:",
        "::1.2.3",
        "::1.2.3.256",
        "::1.2.3.4.5",
        "::01234.1.1.1",
        "1.2.3.4::",
        "::1.2.3.4:5",
        "1:2:3:4:5:6:7:1.2.3.4",
        "fe80::1%eth0",
        " ::1",
        "::1 ",
        "[::1]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ipv6_addr a;
        memset(&a, 0x5a, sizeof(a));
        assert_int_equal(ipv6_addr_parse(bad[i], &a), -EINVAL);
    }
    struct ipv6_addr a;
    assert_int_equal(ipv6_addr_parse(NULL, &a), -EINVAL);
    /* Prefixes */
    unsigned len = 0;
    assert_int_equal(ipv6_prefix_parse("2001:db8::/32", &a, &len), 0);
    assert_int_equal(len, 32);
    assert_int_equal(ipv6_prefix_parse("2001:db8::2", &a, &len), 0);
    assert_int_equal(len, 128);
    assert_int_equal(ipv6_prefix_parse("::/0", &a, &len), 0);
    assert_int_equal(len, 0);
    assert_int_equal(ipv6_prefix_parse("2001:db8::/129", &a, &len), -EINVAL);
    assert_int_equal(ipv6_prefix_parse("2001:db8::/", &a, &len), -EINVAL);
    assert_int_equal(ipv6_prefix_parse("2001:db8::/6x", &a, &len), -EINVAL);
    assert_int_equal(ipv6_prefix_parse("2001:db8::/-1", &a, &len), -EINVAL);
    assert_int_equal(ipv6_prefix_parse("2001:db8::/0064", &a, &len), -EINVAL);
    assert_int_equal(ipv6_prefix_parse("zz/64", &a, &len), -EINVAL);
    assert_int_equal(ipv6_prefix_parse(NULL, &a, &len), -EINVAL);
    char longer[80];
    memset(longer, '1', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(ipv6_prefix_parse(longer, &a, &len), -EINVAL);
}

static void address_kinds_and_scopes(void **state)
{
    (void)state;
    struct ipv6_addr a;
    a = A("ff02::1");
    assert_true(ipv6_addr_is_multicast(&a));
    assert_true(ipv6_addr_eq(&a, &ipv6_addr_all_nodes));
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_LINK);
    a = A("ff05::2");
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_SITE);
    a = A("ff0e::101");
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_GLOBAL);
    a = A("ff01::1");
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_INTERFACE);
    a = A("fe80::1");
    assert_true(ipv6_addr_is_link_local(&a));
    assert_false(ipv6_addr_is_multicast(&a));
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_LINK);
    a = A("febf:ffff::1");
    assert_true(ipv6_addr_is_link_local(&a));
    a = A("fec0::1");
    assert_false(ipv6_addr_is_link_local(&a));
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_SITE);
    a = A("::1");
    assert_true(ipv6_addr_is_loopback(&a));
    assert_false(ipv6_addr_is_unspecified(&a));
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_LINK);
    a = A("::");
    assert_true(ipv6_addr_is_unspecified(&a));
    assert_false(ipv6_addr_is_loopback(&a));
    a = A("2001:db8::1");
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_GLOBAL);
    assert_false(ipv6_addr_is_v4_mapped(&a));
    a = A("::ffff:192.0.2.1");
    assert_true(ipv6_addr_is_v4_mapped(&a));
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_GLOBAL);
    a = A("::ffff:127.0.0.1");
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_LINK);
    a = A("::ffff:169.254.7.7");
    assert_int_equal(ipv6_addr_scope(&a), IPV6_SCOPE_LINK);
    a = A("::fffe:192.0.2.1");
    assert_false(ipv6_addr_is_v4_mapped(&a));
}

static void solicited_node_and_mac(void **state)
{
    (void)state;
    struct ipv6_addr a = A("2001:db8::b"), sn, want;
    ipv6_solicited_node(&a, &sn);
    want = A("ff02::1:ff00:b");
    assert_true(ipv6_addr_eq(&sn, &want));
    assert_true(ipv6_addr_is_solicited_node(&sn));
    assert_false(ipv6_addr_is_solicited_node(&a));
    a = A("fe80::1234:5678:9abc");
    ipv6_solicited_node(&a, &a); /* in place */
    want = A("ff02::1:ff78:9abc");
    assert_true(ipv6_addr_eq(&a, &want));
    /* The kernel's NS for 2001:db8::b went to this address and MAC. */
    struct ipv6_addr dst;
    memcpy(dst.a, k_ns + 24, 16);
    ipv6_solicited_node(&(struct ipv6_addr){{0x20, 0x01, 0x0d, 0xb8, [15] = 0x0b}}, &sn);
    assert_true(ipv6_addr_eq(&sn, &dst));
    uint8_t mac[6];
    const uint8_t want_mac[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x0b};
    ipv6_mcast_mac(&sn, mac);
    assert_memory_equal(mac, want_mac, 6);
    const uint8_t mld_mac[6] = {0x33, 0x33, 0, 0, 0, 0x16};
    ipv6_mcast_mac(&ipv6_addr_mldv2_routers, mac);
    assert_memory_equal(mac, mld_mac, 6);
}

static void prefix_match(void **state)
{
    (void)state;
    struct ipv6_addr a = A("2001:db8::1"), b = A("2001:db8::2"), c = A("3001::");
    assert_int_equal(ipv6_prefix_match_len(&a, &a), 128);
    assert_int_equal(ipv6_prefix_match_len(&a, &b), 126);
    assert_int_equal(ipv6_prefix_match_len(&a, &c), 3); /* 0x2 vs 0x3: 001 shared */
    struct ipv6_addr d = A("2001:db8:8000::");
    struct ipv6_addr p = A("2001:db8::");
    assert_int_equal(ipv6_prefix_match_len(&d, &p), 32);
    assert_true(ipv6_addr_in_prefix(&a, &p, 32));
    assert_true(ipv6_addr_in_prefix(&a, &p, 64));
    assert_false(ipv6_addr_in_prefix(&d, &p, 33));
    assert_true(ipv6_addr_in_prefix(&d, &p, 32));
    assert_true(ipv6_addr_in_prefix(&c, &p, 0));
    assert_true(ipv6_addr_in_prefix(&a, &a, 200)); /* clamped to 128 */
    assert_false(ipv6_addr_in_prefix(&a, &b, 128));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_of_kernel_packet),   cmocka_unit_test(header_every_truncation),
        cmocka_unit_test(pseudo_header_checksum),    cmocka_unit_test(ext_none_and_kernel_hbh),
        cmocka_unit_test(ext_option_action_classes), cmocka_unit_test(ext_malformed_options),
        cmocka_unit_test(ext_hbh_not_first),         cmocka_unit_test(ext_routing_header),
        cmocka_unit_test(ext_fragment_header),       cmocka_unit_test(ext_every_truncation),
        cmocka_unit_test(ext_too_many_and_unknown),  cmocka_unit_test(first_fragment_chain),
        cmocka_unit_test(unfragmentable_part),       cmocka_unit_test(address_text_round_trips),
        cmocka_unit_test(address_text_rejects),      cmocka_unit_test(address_kinds_and_scopes),
        cmocka_unit_test(solicited_node_and_mac),    cmocka_unit_test(prefix_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
