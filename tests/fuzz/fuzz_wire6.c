/* Run longer by hand: mkdir -p /tmp/w6 && build-test/bin/ust_fuzz_wire6 -max_total_time=3600 /tmp/w6 tests/fuzz/corpus-wire6
 *
 * libFuzzer target: the IPv6 wire parsers and reassembly, driven as the
 * IPv6 layer (src/net/ipv6.c) drives them but without a stack, so that
 * each gets the fuzzer's whole attention and checks of its own: ipv6.c,
 * icmpv6.c (ICMPv6, neighbour discovery, MLDv2), the IPv6 quote parser of
 * icmp_error.c, and ip6_frag.c over frag_queue.c with a virtual clock.
 *
 * The input is a sequence of records [op:1][len:2, big-endian][bytes]:
 *   op % 4 == 0  PKT    the next min(len, left) bytes are an IPv6 packet:
 *                       parsed, its extension headers walked, fragments
 *                       fed to reassembly (and a whole packet from it
 *                       walked again), ICMPv6 parsed (op & 0x80: its
 *                       checksum made right first, so that the fuzzer gets
 *                       past it), then ND, the quote of an error, the
 *                       RFC 4443 2.4 (e) rules and an error about it
 *   op % 4 == 1  CLOCK  advance the clock by len x 100 ms, run the
 *                       reassembly timer (no bytes)
 *   op % 4 == 2  TEXT   the next min(len, left) bytes are an address or
 *                       prefix as text
 *   op % 4 == 3  FRAG   the next min(len, left) bytes are an IPv6 packet:
 *                       cut for an MTU of 1280 + 8 x (op >> 2), the
 *                       fragments fed in reverse to a fresh reassembly
 * tests/fuzz/make-corpus-wire6.py writes seed inputs in this format.
 *
 * Checked on every run (abort() on violation): offsets the walker reports
 * lie inside the packet; the reassembly's memory stays within its bound;
 * a whole packet it returns parses, with its payload length right; what
 * the fragmenter cuts comes back whole and byte-exact; an address that
 * parses formats (RFC 5952) to text that parses back to it; ND messages
 * that pass validation keep their counts within bounds. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ip6_frag.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/icmp_error.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

#define MEM_MAX (256u << 10)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t hkey[16] = {7, 7, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void check_whole(const uint8_t *p, size_t len)
{
    struct ipv6_repr ip;
    if (ipv6_parse(p, len, &ip) != WIRE_OK || (size_t)ip.payload_len + IPV6_HDR_LEN != len)
        abort();
}

static void upper_layer(const uint8_t *p, const struct ipv6_repr *ip, const struct ipv6_ext *e,
                        bool link_mcast)
{
    size_t end = IPV6_HDR_LEN + (size_t)ip->payload_len;
    if (e->proto_off > end || e->nh_off >= e->proto_off)
        abort();
    if (e->proto != IPV6_NH_ICMPV6)
        return;
    const uint8_t *m = p + e->proto_off;
    size_t mlen = end - e->proto_off;
    struct icmpv6_repr r;
    if (icmpv6_parse(m, mlen, &ip->src, &ip->dst, &r) != WIRE_OK)
        return;
    if (r.payload_len + ICMPV6_HDR_LEN != mlen)
        abort();
    struct nd_msg nd;
    if (nd_parse(ip, m, mlen, &nd) == ND_OK &&
        (nd.opts.n_prefix > ND_PREFIX_MAX || nd.opts.redirected_len > mlen))
        abort();
    if (icmpv6_is_error(r.type)) {
        struct icmp_quote q;
        if (icmp_quote_parse6(r.payload, r.payload_len, &q) == WIRE_OK &&
            (q.l4 < r.payload || q.l4 + q.l4_len != r.payload + r.payload_len ||
             q.l4_len < ICMP_QUOTE_L4_LEN))
            abort();
        (void)icmpv6_err_classify(r.type, r.code);
    }
    /* An error about this packet, as the layer would send it. */
    if (icmpv6_error_allowed(ICMPV6_PARAM_PROBLEM, ICMPV6_PP_OPTION, e->action, p, end,
                             link_mcast)) {
        uint8_t *out = malloc(IPV6_MIN_MTU);
        size_t n = icmpv6_error_emit(ICMPV6_PARAM_PROBLEM, ICMPV6_PP_OPTION, e->pointer, &ip->dst,
                                     &ip->src, p, end, out, IPV6_MIN_MTU - IPV6_HDR_LEN);
        struct icmpv6_repr back;
        if (!out || n > IPV6_MIN_MTU - IPV6_HDR_LEN ||
            icmpv6_parse(out, n, &ip->dst, &ip->src, &back) != WIRE_OK)
            abort();
        free(out);
    }
}

/* Makes the checksum of the ICMPv6 message or UDP datagram right. */
static void fix_checksum(uint8_t *p, size_t len)
{
    struct ipv6_repr ip;
    struct ipv6_ext e;
    if (ipv6_parse(p, len, &ip) != WIRE_OK || ipv6_ext_walk(p, &ip, &e) != IPV6_EXT_OK)
        return;
    size_t end = IPV6_HDR_LEN + (size_t)ip.payload_len;
    size_t at = e.proto == IPV6_NH_ICMPV6 ? 2 : e.proto == IPV6_NH_UDP ? 6 : 0;
    if (!at || end - e.proto_off < at + 2)
        return;
    uint8_t *u = p + e.proto_off;
    st16(u + at, 0);
    st16(u + at, cksum6(ip.src.a, ip.dst.a, e.proto, u, end - e.proto_off));
}

static void packet(struct ip6_reasm *r, ust_time_t now, uint8_t *p, size_t len, bool fix)
{
    if (fix)
        fix_checksum(p, len);
    struct ipv6_repr ip;
    if (ipv6_parse(p, len, &ip) != WIRE_OK)
        return;
    bool mcast = ipv6_addr_is_multicast(&ip.dst);
    struct ipv6_ext e;
    enum ipv6_ext_verdict v = ipv6_ext_walk(p, &ip, &e);
    if (v == IPV6_EXT_OK) {
        upper_layer(p, &ip, &e, mcast);
    } else if (v == IPV6_EXT_FRAGMENT) {
        if (e.frag.hdr_off + IPV6_FRAG_HDR_LEN > IPV6_HDR_LEN + (size_t)ip.payload_len)
            abort();
        struct ip6_reasm_out out;
        enum ip6_reasm_result res = ip6_reasm_input(r, now, 0, mcast, p, &ip, &e, &out);
        if (ip6_reasm_memory(r) > MEM_MAX)
            abort();
        if (res == IP6_REASM_DONE) {
            check_whole(out.pkt, out.len);
            struct ipv6_repr wip;
            struct ipv6_ext we;
            if (ipv6_parse(out.pkt, out.len, &wip) == WIRE_OK &&
                ipv6_ext_walk(out.pkt, &wip, &we) == IPV6_EXT_OK)
                upper_layer(out.pkt, &wip, &we, out.mcast);
            free(out.pkt);
        } else if (res == IP6_REASM_PARAM_PROBLEM && out.pointer >= len) {
            abort();
        }
    } else if (e.icmp && e.pointer >= IPV6_HDR_LEN + (size_t)ip.payload_len) {
        abort();
    }
    (void)ipv6_ext_verdict_name(v);
}

static void clock_tick(struct ip6_reasm *r, ust_time_t now)
{
    struct ip6_reasm_out out;
    while (ip6_reasm_timer(r, now, &out) == IP6_REASM_TIME_EXCEEDED) {
        if (out.len > ICMPV6_ERR_QUOTE_MAX || out.len < IPV6_HDR_LEN)
            abort();
        free(out.pkt);
    }
    if (ip6_reasm_next_deadline(r) <= now)
        abort();
}

static void text(const uint8_t *b, size_t n)
{
    char s[64];
    if (n >= sizeof(s))
        n = sizeof(s) - 1;
    memcpy(s, b, n);
    s[n] = '\0';
    struct ipv6_addr a, back;
    unsigned len;
    char buf[IPV6_ADDR_STRLEN];
    if (ipv6_addr_parse(s, &a) == 0) {
        ipv6_addr_format(&a, buf);
        if (ipv6_addr_parse(buf, &back) != 0 || !ipv6_addr_eq(&a, &back))
            abort();
        struct ipv6_addr sn;
        ipv6_solicited_node(&a, &sn);
        if (!ipv6_addr_is_solicited_node(&sn) || ipv6_prefix_match_len(&a, &sn) > 128 ||
            ipv6_addr_scope(&a) > 15)
            abort();
    }
    if (ipv6_prefix_parse(s, &a, &len) == 0 && len > 128)
        abort();
}

static void frag_round_trip(const uint8_t *p, size_t len, size_t mtu)
{
    struct ipv6_repr ip;
    if (ipv6_parse(p, len, &ip) != WIRE_OK)
        return;
    len = IPV6_HDR_LEN + (size_t)ip.payload_len;
    struct ip6_frag_iter it;
    if (ip6_frag_start(&it, p, len, mtu, 0x5eed) != 0)
        return;
    uint8_t *frags[64];
    size_t lens[64], n = 0;
    for (; n < 64; n++) {
        frags[n] = malloc(mtu);
        lens[n] = frags[n] ? ip6_frag_next(&it, frags[n], mtu) : 0;
        if (lens[n] == 0) {
            free(frags[n]);
            break;
        }
        if (lens[n] > mtu)
            abort();
    }
    /* Each fragment walks to its fragment header, unless the packet's
     * own per-fragment headers do not walk (then neither do they). */
    bool walks = true;
    struct ipv6_ext ext[64];
    struct ipv6_repr fip[64];
    for (size_t i = 0; i < n && walks; i++)
        walks = ipv6_parse(frags[i], lens[i], &fip[i]) == WIRE_OK &&
                ipv6_ext_walk(frags[i], &fip[i], &ext[i]) == IPV6_EXT_FRAGMENT;
    struct ip6_reasm r;
    struct fq_cfg cfg = {4u << 20, 0, 0, 0};
    ip6_reasm_init(&r, &cfg, hkey);
    bool whole = false;
    for (size_t i = n; walks && i-- > 0;) {
        struct ip6_reasm_out out;
        enum ip6_reasm_result res = ip6_reasm_input(&r, 0, 0, false, frags[i], &fip[i], &ext[i],
                                                    &out);
        if (res == IP6_REASM_DONE) {
            /* Byte-exact: the per-fragment headers are the packet's, and
             * the rest is put back where it was. */
            if (out.len != len || memcmp(out.pkt, p, len) != 0)
                abort();
            whole = true;
            free(out.pkt);
        } else if (res != IP6_REASM_NONE) {
            abort();
        }
    }
    if (walks && n < 64 && !whole)
        abort();
    ip6_reasm_fini(&r);
    for (size_t i = 0; i < n; i++)
        free(frags[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ip6_reasm r;
    struct fq_cfg cfg = {MEM_MAX, 8, 0, 0};
    ip6_reasm_init(&r, &cfg, hkey);
    ust_time_t now = 1000;
    size_t at = 0;
    while (size - at >= 3) {
        uint8_t op = data[at];
        size_t len = ld16(data + at + 1);
        at += 3;
        if (op % 4 == 1) {
            now += (ust_time_t)len * 100000;
            clock_tick(&r, now);
            continue;
        }
        if (len > size - at)
            len = size - at;
        /* An exact copy: the parsers may read nothing past it. */
        uint8_t *b = malloc(len ? len : 1);
        if (!b)
            break;
        memcpy(b, data + at, len);
        at += len;
        switch (op % 4) {
        case 0: packet(&r, now, b, len, (op & 0x80) != 0); break;
        case 2: text(b, len); break;
        case 3: frag_round_trip(b, len, IPV6_MIN_MTU + 8u * (op >> 2)); break;
        default: break;
        }
        free(b);
    }
    ip6_reasm_fini(&r);
    return 0;
}
