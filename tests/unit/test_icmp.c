/* ICMP (RFC 792, RFC 1122 3.2.2): echo replies, destination unreachable and
 * when never to send it, the error rate limits (RFC 1812 4.3.2.8: token
 * buckets per destination and for the stack) on virtual time, and the ping
 * endpoints of the API. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "core/ratelimit.h"
#include "net/ping.h" /* UST_PING_QUEUE */
#include "net/icmp.h"
#include "wire/bytes.h"

#define FR_MAX 1600
#define BCAST_24 UST_IP4(192, 0, 2, 255)

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* RFC 1071, written out plainly: the complement of the folded sum. */
static uint16_t ref_cksum(const uint8_t *p, size_t len)
{
    uint32_t s = 0;
    for (size_t i = 0; i < len; i += 2) {
        s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
        s = (s & 0xffff) + (s >> 16);
    }
    return (uint16_t)~s;
}

static const struct ust_stats *st(struct fixture *f) { return ust_stack_stats(f->s); }

/* An IPv4 packet from src to dst in an Ethernet frame to eth_dst. */
static size_t frame_ip(uint8_t *fr, const uint8_t eth_dst[6], ust_ip4_t src, ust_ip4_t dst,
                       uint8_t proto, uint16_t frag, const void *payload, size_t len)
{
    uint8_t ip[FR_MAX];
    size_t n = build_ipv4(ip, src, dst, proto, 0x4321, frag, 64, payload, len);
    return build_eth(fr, eth_dst, t_mac_peer, 0x0800, ip, n);
}

/* An echo message (type 8 or 0) from src to dst. */
static size_t frame_echo(uint8_t *fr, const uint8_t eth_dst[6], uint8_t type, ust_ip4_t src,
                         ust_ip4_t dst, uint16_t id, uint16_t seq, uint8_t ttl, const void *data,
                         size_t len)
{
    uint8_t m[FR_MAX], ip[FR_MAX];
    size_t n = build_icmp(m, type, 0, (uint32_t)id << 16 | seq, data, len);
    n = build_ipv4(ip, src, dst, 1, 0x77, 0, ttl, m, n);
    return build_eth(fr, eth_dst, t_mac_peer, 0x0800, ip, n);
}

/* Checks an IPv4 header the stack sent: 20 bytes, valid checksum. */
static void check_ip(const uint8_t *ip, ust_ip4_t src, ust_ip4_t dst, uint8_t proto, size_t total)
{
    assert_int_equal(ip[0], 0x45);
    assert_int_equal(ld16(ip + 2), total);
    assert_int_equal(ip[8], 64);
    assert_int_equal(ip[9], proto);
    assert_int_equal(ld32(ip + 12), src);
    assert_int_equal(ld32(ip + 16), dst);
    assert_int_equal(ref_cksum(ip, 20), 0);
}

static void check_echo_reply(const uint8_t *fr, size_t n, uint16_t id, uint16_t seq,
                             const uint8_t *data, size_t dlen)
{
    size_t want = 42 + dlen < 60 ? 60 : 42 + dlen;
    assert_int_equal(n, want);
    assert_memory_equal(fr, t_mac_peer, 6);
    assert_memory_equal(fr + 6, t_mac_us, 6);
    assert_int_equal(ld16(fr + 12), 0x0800);
    check_ip(fr + 14, T_IP_US, T_IP_PEER, 1, 28 + dlen);
    const uint8_t *m = fr + 34;
    assert_int_equal(m[0], 0); /* echo reply */
    assert_int_equal(m[1], 0);
    assert_int_equal(ref_cksum(m, 8 + dlen), 0);
    assert_int_equal(ld16(m + 4), id);
    assert_int_equal(ld16(m + 6), seq);
    if (dlen)
        assert_memory_equal(m + 8, data, dlen);
    for (size_t i = 42 + dlen; i < n; i++)
        assert_int_equal(fr[i], 0);
}

/* ---------------- echo ---------------- */

static void echo_reply_sizes(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, 2, 7, 56, 1000, 1471, 1472};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        struct fixture f;
        fixture_init(&f, NULL);
        fixture_learn_peer(&f);
        uint8_t data[1472], fr[FR_MAX], out[FR_MAX];
        for (size_t i = 0; i < sizes[k]; i++)
            data[i] = (uint8_t)(i * 7 + k);
        uint16_t id = (uint16_t)(0xbeef + k), seq = (uint16_t)(1000 + k);
        size_t n = build_echo_request(fr, T_IP_PEER, T_IP_US, id, seq, data, sizes[k]);
        fixture_input(&f, fr, n);
        assert_int_equal(cap_count(f.cap), 1);
        size_t m = cap_pop(f.cap, out, sizeof(out));
        check_echo_reply(out, m, id, seq, data, sizes[k]);
        assert_int_equal(st(&f)->icmp.rx_echo_request, 1);
        assert_int_equal(st(&f)->icmp.tx_echo_reply, 1);
        fixture_fini(&f);
    }
}

static void echo_reply_ignores_request_ttl_and_options(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    /* A request with TTL 3 and 8 bytes of IP options (IHL 7). */
    uint8_t m[64], ip[128], fr[FR_MAX], out[FR_MAX];
    size_t n = build_icmp(m, 8, 0, 0x00050006, "ping", 4);
    memcpy(ip + 28, m, n);
    ip[0] = 0x47;
    ip[1] = 0;
    st16(ip + 2, (uint16_t)(28 + n));
    st16(ip + 4, 9);
    st16(ip + 6, 0);
    ip[8] = 3;
    ip[9] = 1;
    st16(ip + 10, 0);
    st32(ip + 12, T_IP_PEER);
    st32(ip + 16, T_IP_US);
    memset(ip + 20, 1, 7); /* NOPs */
    ip[27] = 0;            /* end of options */
    st16(ip + 10, ref_cksum(ip, 28));
    n = build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, 28 + n);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 1);
    size_t k = cap_pop(f.cap, out, sizeof(out));
    check_echo_reply(out, k, 5, 6, (const uint8_t *)"ping", 4); /* no options, TTL 64 */
    assert_int_equal(st(&f)->ip.options_skipped, 1);
    fixture_fini(&f);
}

static void echo_reply_to_offlink_source_goes_to_gateway(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX], out[FR_MAX];
    size_t n = frame_echo(fr, t_mac_us, 8, T_IP_REMOTE, T_IP_US, 1, 2, 60, "x", 1);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 1);
    n = cap_pop(f.cap, out, sizeof(out));
    assert_memory_equal(out, t_mac_peer, 6); /* the gateway */
    check_ip(out + 14, T_IP_US, T_IP_REMOTE, 1, 29);
    fixture_fini(&f);
}

static void echo_to_subnet_broadcast_ignored(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    /* Directed broadcast in a unicast frame, then in a broadcast frame. */
    size_t n = frame_echo(fr, t_mac_us, 8, T_IP_PEER, BCAST_24, 1, 1, 64, "abc", 3);
    fixture_input(&f, fr, n);
    n = frame_echo(fr, mac_bcast, 8, T_IP_PEER, BCAST_24, 1, 2, 64, "abc", 3);
    fixture_input(&f, fr, n);
    /* The obsolete all-zeros host part is a broadcast too (RFC 1122 3.3.6). */
    n = frame_echo(fr, mac_bcast, 8, T_IP_PEER, UST_IP4(192, 0, 2, 0), 1, 3, 64, "abc", 3);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->icmp.drop_broadcast_echo, 3);
    assert_int_equal(st(&f)->icmp.tx_echo_reply, 0);
    fixture_fini(&f);
}

static void echo_to_limited_broadcast_ignored(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = frame_echo(fr, mac_bcast, 8, T_IP_PEER, 0xffffffffu, 1, 1, 64, "abc", 3);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->icmp.drop_broadcast_echo, 1);
    assert_int_equal(st(&f)->icmp.rx_echo_request, 1);
    fixture_fini(&f);
}

static void unicast_ip_in_broadcast_frame_dropped(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    /* RFC 1122 3.3.6: a link broadcast carrying a unicast IP datagram. */
    size_t n = frame_echo(fr, mac_bcast, 8, T_IP_PEER, T_IP_US, 1, 1, 64, "abc", 3);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->ip.drop_not_ours, 1);
    fixture_fini(&f);
}

static void echo_for_someone_else_dropped(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = frame_echo(fr, t_mac_us, 8, T_IP_PEER, T_IP_OTHER, 1, 1, 64, NULL, 0);
    fixture_input(&f, fr, n);
    n = frame_echo(fr, t_mac_us, 8, T_IP_PEER, UST_IP4(224, 0, 0, 1), 1, 1, 64, NULL, 0);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->ip.drop_not_ours, 2);
    fixture_fini(&f);
}

static void unknown_icmp_type_ignored(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t m[32], fr[FR_MAX];
    size_t n = build_icmp(m, 42, 0, 0, NULL, 0);
    n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 1, 0, m, n);
    fixture_input(&f, fr, n);
    n = build_icmp(m, ICMP_TIMESTAMP, 0, 0x00010001, "123456789012", 12);
    n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 1, 0, m, n);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->icmp.drop_unknown_type, 2);
    fixture_fini(&f);
}

/* ---------------- destination unreachable ---------------- */

static void unknown_protocol_gets_unreachable(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    const uint8_t payload[12] = {'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b'};
    uint8_t fr[FR_MAX], out[FR_MAX];
    size_t n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 253, 0, payload, sizeof(payload));
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->ip.drop_unknown_proto, 1);
    assert_int_equal(cap_count(f.cap), 1);
    size_t m = cap_pop(f.cap, out, sizeof(out));
    /* 20 (IP) + 8 (ICMP) + 20 (quoted header) + 8 (quoted data) = 56. */
    assert_int_equal(m, 14 + 56);
    assert_memory_equal(out, t_mac_peer, 6);
    assert_memory_equal(out + 6, t_mac_us, 6);
    check_ip(out + 14, T_IP_US, T_IP_PEER, 1, 56);
    const uint8_t *icmp = out + 34;
    assert_int_equal(icmp[0], 3); /* destination unreachable */
    assert_int_equal(icmp[1], 2); /* protocol unreachable */
    assert_int_equal(ld32(icmp + 4), 0);
    assert_int_equal(ref_cksum(icmp, 36), 0);
    assert_memory_equal(icmp + 8, fr + 14, 28); /* header + 64 bits, as received */
    assert_int_equal(st(&f)->icmp.tx_dest_unreach, 1);
    fixture_fini(&f);
}

static void unreachable_quotes_options_and_short_data(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t ip[128], fr[FR_MAX], out[FR_MAX];
    /* IHL 6 (one NOP word), 10 bytes of payload: quote 24 + 8. */
    ip[0] = 0x46;
    ip[1] = 0;
    st16(ip + 2, 34);
    st16(ip + 4, 1);
    st16(ip + 6, 0);
    ip[8] = 64;
    ip[9] = 200;
    st16(ip + 10, 0);
    st32(ip + 12, T_IP_PEER);
    st32(ip + 16, T_IP_US);
    ip[20] = ip[21] = ip[22] = 1;
    ip[23] = 0;
    for (int i = 0; i < 10; i++)
        ip[24 + i] = (uint8_t)(0xa0 + i);
    st16(ip + 10, ref_cksum(ip, 24));
    size_t n = build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, 34);
    fixture_input(&f, fr, n);
    size_t m = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(m, 14 + 20 + 8 + 32);
    check_ip(out + 14, T_IP_US, T_IP_PEER, 1, 60);
    assert_memory_equal(out + 42, ip, 32);
    assert_int_equal(ref_cksum(out + 34, 40), 0);

    /* Three bytes of payload: the whole datagram is quoted. */
    n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 253, 0, "xyz", 3);
    fixture_input(&f, fr, n);
    m = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(m, 14 + 20 + 8 + 23);
    check_ip(out + 14, T_IP_US, T_IP_PEER, 1, 51);
    assert_memory_equal(out + 42, fr + 14, 23);
    assert_int_equal(ref_cksum(out + 34, 31), 0);

    /* No payload at all: just the header. */
    n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 253, 0, NULL, 0);
    fixture_input(&f, fr, n);
    m = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(m, 14 + 20 + 8 + 20);
    assert_memory_equal(out + 42, fr + 14, 20);
    fixture_fini(&f);
}

static void unreachable_ignores_link_padding(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX], out[FR_MAX];
    size_t n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 253, 0, "ab", 2);
    memset(fr + n, 0xee, 60 - n); /* padding with non-zero junk */
    fixture_input(&f, fr, 60);
    size_t m = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(m, 14 + 20 + 8 + 22); /* only the 22-byte datagram */
    assert_memory_equal(out + 42, fr + 14, 22);
    fixture_fini(&f);
}

/* ---------------- when never to send an error ---------------- */

static void no_error_about_icmp_error(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    /* A destination unreachable arriving for us: counted, never answered. */
    uint8_t quoted[28], m[64], fr[FR_MAX];
    build_ipv4(quoted, T_IP_US, T_IP_PEER, 17, 1, 0, 64, "\0\0\0\0\0\0\0\0", 8);
    size_t n = build_icmp(m, 3, 3, 0, quoted, 28);
    n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 1, 0, m, n);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->icmp.rx_error, 1);

    /* Asked directly to report on an ICMP error datagram: suppressed. */
    struct ipv4_repr ip = {.hdr_len = 20,
                           .total_len = (uint16_t)(20 + n - 34),
                           .ttl = 64,
                           .proto = 1,
                           .src = T_IP_PEER,
                           .dst = T_IP_US};
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    assert_int_equal(st(&f)->icmp.error_suppressed, 1);
    assert_int_equal(cap_count(f.cap), 0);
    /* Other error types too. */
    const uint8_t types[] = {4, 5, 11, 12};
    for (size_t i = 0; i < sizeof(types); i++) {
        n = build_icmp(m, types[i], 0, 0, quoted, 28);
        frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 1, 0, m, n);
        icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    }
    assert_int_equal(st(&f)->icmp.error_suppressed, 5);
    assert_int_equal(cap_count(f.cap), 0);

    /* But an ICMP query (echo request) may be reported on. */
    n = build_icmp(m, 8, 0, 0, quoted, 28);
    frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 1, 0, m, n);
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    assert_int_equal(st(&f)->icmp.error_suppressed, 5);
    assert_int_equal(cap_count(f.cap), 1);
    fixture_fini(&f);
}

static void no_error_for_ip_broadcast(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = frame_ip(fr, t_mac_us, T_IP_PEER, BCAST_24, 253, 0, "12345678", 8);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->icmp.error_suppressed, 1);
    n = frame_ip(fr, mac_bcast, T_IP_PEER, 0xffffffffu, 253, 0, "12345678", 8);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->icmp.error_suppressed, 2);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->ip.drop_unknown_proto, 2);
    assert_int_equal(st(&f)->icmp.tx, 0);
    fixture_fini(&f);
}

static void no_error_for_link_broadcast(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = frame_ip(fr, mac_bcast, T_IP_PEER, BCAST_24, 253, 0, "12345678", 8);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->icmp.error_suppressed, 1);
    /* A unicast datagram in a broadcast frame is not even delivered. */
    n = frame_ip(fr, mac_bcast, T_IP_PEER, T_IP_US, 253, 0, "12345678", 8);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->ip.drop_not_ours, 1);
    /* Directly: a unicast datagram flagged as link-broadcast. */
    struct ipv4_repr ip =
        {.hdr_len = 20, .total_len = 28, .ttl = 64, .proto = 253, .src = T_IP_PEER, .dst = T_IP_US};
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, true);
    assert_int_equal(st(&f)->icmp.error_suppressed, 2);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void no_error_for_fragments(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    /* A non-first fragment (offset 8 bytes) and a first one (MF). */
    size_t n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 253, 1, "12345678", 8);
    fixture_input(&f, fr, n);
    n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 253, 0x2000 | 100, "12345678", 8);
    fixture_input(&f, fr, n);
    n = frame_ip(fr, t_mac_us, T_IP_PEER, T_IP_US, 253, 0x2000, "12345678", 8);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->ip.frag_rx, 3); /* held for reassembly, never answered */
    /* Directly: a non-first fragment is never reported on. */
    struct ipv4_repr ip = {.hdr_len = 20,
                           .total_len = 28,
                           .frag = 1,
                           .ttl = 64,
                           .proto = 253,
                           .src = T_IP_PEER,
                           .dst = T_IP_US};
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    ip.frag = IPV4_FLAG_MF | 7;
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    ip.proto = 1; /* an ICMP non-first fragment: its first byte is not a type */
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    assert_int_equal(st(&f)->icmp.error_suppressed, 3);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void no_error_for_bad_sources(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = frame_ip(fr, t_mac_us, 0, T_IP_US, 253, 0, "12345678", 8);
    fixture_input(&f, fr, n);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->ip.drop_bad_src, 1);
    /* Directly, for sources that are not one host, and multicast dst. */
    const ust_ip4_t srcs[] = {0, 0xffffffffu, UST_IP4(224, 0, 0, 1), UST_IP4(127, 0, 0, 1),
                              UST_IP4(240, 1, 2, 3)};
    struct ipv4_repr ip = {.hdr_len = 20, .total_len = 28, .ttl = 64, .proto = 253, .dst = T_IP_US};
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        ip.src = srcs[i];
        icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    }
    ip.src = T_IP_PEER;
    ip.dst = UST_IP4(224, 0, 0, 251);
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    assert_int_equal(st(&f)->icmp.error_suppressed, 6);
    assert_int_equal(cap_count(f.cap), 0);
    /* The same call for a proper unicast datagram does send. */
    ip.dst = T_IP_US;
    icmp_send_error(f.s, 3, 2, 0, &ip, fr + 14, false);
    assert_int_equal(cap_count(f.cap), 1);
    fixture_fini(&f);
}

/* ---------------- the token bucket ---------------- */

static void tbucket_burst_then_refill(void **state)
{
    (void)state;
    struct tbucket tb;
    const uint64_t t0 = 1000 * UST_SEC;
    tbucket_init(&tb, 10, 5, t0); /* one token per 100 ms, 5 saved */
    for (int i = 0; i < 5; i++)
        assert_true(tbucket_take(&tb, t0));
    assert_false(tbucket_take(&tb, t0));
    assert_false(tbucket_take(&tb, t0 + 100 * UST_MS - 1));
    assert_true(tbucket_take(&tb, t0 + 100 * UST_MS));
    assert_false(tbucket_take(&tb, t0 + 100 * UST_MS));
    /* 350 ms later: three more tokens (and half a token kept). */
    uint64_t t1 = t0 + 450 * UST_MS;
    for (int i = 0; i < 3; i++)
        assert_true(tbucket_take(&tb, t1));
    assert_false(tbucket_take(&tb, t1));
    assert_true(tbucket_take(&tb, t1 + 50 * UST_MS));
    assert_false(tbucket_take(&tb, t1 + 50 * UST_MS));
}

static void tbucket_no_credit_beyond_burst(void **state)
{
    (void)state;
    struct tbucket tb;
    const uint64_t t0 = 5 * UST_SEC;
    tbucket_init(&tb, 100, 4, t0);
    for (int i = 0; i < 4; i++)
        assert_true(tbucket_take(&tb, t0));
    assert_false(tbucket_take(&tb, t0));
    /* An hour of silence still only buys the burst. */
    uint64_t t1 = t0 + 3600 * UST_SEC;
    for (int i = 0; i < 4; i++)
        assert_true(tbucket_take(&tb, t1));
    assert_false(tbucket_take(&tb, t1));
    /* A steady flow at the rate is sustained indefinitely. */
    for (int i = 1; i <= 1000; i++)
        assert_true(tbucket_take(&tb, t1 + (uint64_t)i * 10 * UST_MS));
    /* But not faster. */
    uint64_t t2 = t1 + 1000 * 10 * UST_MS;
    assert_false(tbucket_take(&tb, t2 + 5 * UST_MS));
}

static void tbucket_full_at_start_exactly_burst(void **state)
{
    (void)state;
    /* Whatever the rate, a fresh bucket holds exactly `burst` tokens. */
    const uint32_t rates[] = {1, 3, 7, 10, 100, 999, 1000, 30000, 300000, 999999, 1000000, 3000000};
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        struct tbucket tb;
        tbucket_init(&tb, rates[i], 10, 77);
        int got = 0;
        while (got < 100 && tbucket_take(&tb, 77))
            got++;
        assert_int_equal(got, 10);
    }
}

static void tbucket_partial_waits_are_not_lost(void **state)
{
    (void)state;
    struct tbucket tb;
    tbucket_init(&tb, 10, 1, 0);
    assert_true(tbucket_take(&tb, 0));
    /* Asking every 10 ms: the refusals must not throw the credit away. */
    int granted = 0;
    for (uint64_t t = 10 * UST_MS; t <= 1000 * UST_MS; t += 10 * UST_MS)
        granted += tbucket_take(&tb, t);
    assert_int_equal(granted, 10);
}

static void tbucket_rate_zero_unlimited(void **state)
{
    (void)state;
    struct tbucket tb;
    tbucket_init(&tb, 0, 5, 0);
    for (int i = 0; i < 100000; i++)
        assert_true(tbucket_take(&tb, 0));
}

static void tbucket_clock_going_back(void **state)
{
    (void)state;
    struct tbucket tb;
    tbucket_init(&tb, 10, 2, 10 * UST_SEC);
    assert_true(tbucket_take(&tb, 10 * UST_SEC));
    assert_true(tbucket_take(&tb, 10 * UST_SEC));
    /* An earlier time earns nothing, and does not confuse later refills. */
    assert_false(tbucket_take(&tb, 9 * UST_SEC));
    assert_false(tbucket_take(&tb, 10 * UST_SEC + 99 * UST_MS));
    assert_true(tbucket_take(&tb, 10 * UST_SEC + 100 * UST_MS));
    assert_false(tbucket_take(&tb, 10 * UST_SEC + 100 * UST_MS));
}

/* A charge of 0 costs nothing, of 2 two tokens; never below empty; and
 * the answer only needs one token there. */
static void tbucket_charge(void **state)
{
    (void)state;
    struct tbucket tb;
    tbucket_init(&tb, 10, 3, 0);
    for (int i = 0; i < 100; i++)
        assert_true(tbucket_take_charge(&tb, 0, 0));
    assert_true(tbucket_take_charge(&tb, 0, 2));
    assert_true(tbucket_take_charge(&tb, 0, 2)); /* one token left: yes, then empty */
    assert_false(tbucket_take_charge(&tb, 0, 0));
    assert_false(tbucket_take(&tb, 99 * UST_MS));
    assert_true(tbucket_take(&tb, 100 * UST_MS));
}

static void tbucket_interval(void **state)
{
    (void)state;
    struct tbucket tb;
    tbucket_init_interval(&tb, 1 * UST_SEC, 6, 0);
    for (int i = 0; i < 6; i++)
        assert_true(tbucket_take(&tb, 0));
    assert_false(tbucket_take(&tb, 999 * UST_MS));
    assert_true(tbucket_take(&tb, 1 * UST_SEC));
    tbucket_init_interval(&tb, 0, 1, 0);
    for (int i = 0; i < 1000; i++)
        assert_true(tbucket_take(&tb, 0));
}

/* ---------------- the rate limits in the stack ---------------- */

/* A datagram with an unknown protocol (253) from src: one protocol
 * unreachable's worth of trigger. n makes each one different. */
static size_t bad_proto_from(uint8_t *fr, ust_ip4_t src, uint16_t n)
{
    uint8_t p[8];
    st16(p, n);
    memset(p + 2, 0, 6);
    return frame_ip(fr, t_mac_us, src, T_IP_US, 253, 0, p, sizeof(p));
}

static size_t bad_proto_frame(uint8_t *fr, uint16_t n) { return bad_proto_from(fr, T_IP_PEER, n); }

/* count triggers from src at f->now; returns the errors sent (whether
 * they left at once or wait for ARP). */
static size_t flood_from(struct fixture *f, ust_ip4_t src, int count)
{
    uint8_t fr[FR_MAX];
    uint64_t before = ust_stack_stats(f->s)->icmp.tx_dest_unreach;
    for (int i = 0; i < count; i++) {
        size_t n = bad_proto_from(fr, src, (uint16_t)i);
        ust_stack_input(f->s, f->dev, fr, n, f->now);
    }
    ust_stack_poll(f->s, f->now);
    cap_clear(f->cap);
    return ust_stack_stats(f->s)->icmp.tx_dest_unreach - before;
}

static void flood(struct fixture *f, int count)
{
    uint8_t fr[FR_MAX];
    for (int i = 0; i < count; i++) {
        size_t n = bad_proto_frame(fr, (uint16_t)i);
        ust_stack_input(f->s, f->dev, fr, n, f->now);
    }
    ust_stack_poll(f->s, f->now);
}

/* Off-link hosts (through the gateway, whose MAC the fixture learns):
 * 198.51.100.0/24 and 203.0.113.0/24, then 100.64/10 for big floods. */
static ust_ip4_t host(unsigned i)
{
    if (i < 500)
        return (i < 250 ? UST_IP4(198, 51, 100, 1) : UST_IP4(203, 0, 113, 1)) + i % 250;
    return UST_IP4(100, 64, 0, 0) + i;
}

/* Linux's defaults: a destination gets 6 errors at once, then one a
 * second; a quiet spell gives it back its burst, no more. */
static void per_destination_burst_then_one_per_second(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    ust_time_t t0 = f.now;
    assert_int_equal(flood_from(&f, T_IP_PEER, 50), 6);
    assert_int_equal(st(&f)->icmp.tx_dest_unreach, 6);
    assert_int_equal(st(&f)->icmp.rate_limited, 44);
    assert_int_equal(st(&f)->icmp.rate_limited_dst, 44);
    assert_int_equal(st(&f)->icmp.rate_limited_unreach, 44);
    assert_int_equal(st(&f)->icmp.rate_limited_global, 0);
    fixture_advance_to(&f, t0 + 1 * UST_SEC - 1);
    assert_int_equal(flood_from(&f, T_IP_PEER, 10), 0);
    fixture_advance_to(&f, t0 + 1 * UST_SEC);
    assert_int_equal(flood_from(&f, T_IP_PEER, 10), 1);
    /* 1.5 s later: one error, and half a token kept for the next. */
    fixture_advance_to(&f, t0 + 2500 * UST_MS);
    assert_int_equal(flood_from(&f, T_IP_PEER, 10), 1);
    fixture_advance_to(&f, t0 + 3 * UST_SEC);
    assert_int_equal(flood_from(&f, T_IP_PEER, 10), 1);
    /* 200 triggers a second for 10 s: one error a second. */
    size_t sent = 0;
    for (int ms = 5; ms <= 10000; ms += 5) {
        fixture_advance_to(&f, t0 + 3 * UST_SEC + (ust_time_t)ms * UST_MS);
        sent += flood_from(&f, T_IP_PEER, 1);
    }
    assert_int_equal(sent, 10);
    /* A minute of quiet: the burst again, no more. */
    fixture_advance_to(&f, t0 + 80 * UST_SEC);
    assert_int_equal(flood_from(&f, T_IP_PEER, 50), 6);
    fixture_fini(&f);
}

/* One host's flood spends neither another host's budget nor the shared
 * one: with one stack-wide bucket (as before), the other hosts got
 * nothing once the flooder had emptied it. */
static void each_destination_has_its_own_budget(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    ust_time_t t0 = f.now;
    assert_int_equal(flood_from(&f, host(0), 1000), 6);
    /* 20 ms apart: what the stack-wide bucket refills meanwhile (20
     * tokens) is all any one of them could have taken from it. */
    for (unsigned i = 1; i <= 20; i++) {
        fixture_advance_to(&f, t0 + i * 20 * UST_MS);
        assert_int_equal(flood_from(&f, host(i), 10), 6);
        assert_int_equal(flood_from(&f, host(0), 100), 0);
    }
    assert_int_equal(st(&f)->icmp.rate_limited_global, 0);
    assert_int_equal(st(&f)->icmp.rate_limited_dst, 994 + 20 * (4 + 100));
    fixture_fini(&f);
}

/* The per-destination check comes first: errors it refuses spend nothing
 * of the shared budget. Otherwise a host that floods us (or spoofs
 * another's address) empties it, and how many errors a prober gets back
 * tells it so: the side channel of CVE-2020-25705. */
static void refused_errors_spend_no_shared_budget(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    assert_int_equal(flood_from(&f, host(0), 10000), 6);
    for (unsigned i = 1; i <= 5; i++)
        assert_int_equal(flood_from(&f, host(i), 6), 6);
    assert_int_equal(st(&f)->icmp.rate_limited_global, 0);
    fixture_fini(&f);
}

/* Many destinations, one trigger each: the stack-wide bucket (1000/s,
 * bursts of 50) bounds them together. Its charge is random (0, 1 or 2
 * tokens, 1 on average), so the figures are bounds. */
static void flood_to_many_destinations_hits_global_limit(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 11);
    cfg.icmp_dst_table_size = 4096;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    ust_time_t t0 = f.now;
    size_t first = 0;
    for (unsigned i = 0; i < 1000; i++)
        first += flood_from(&f, host(i), 1);
    assert_in_range(first, 30, 80);
    assert_int_equal(st(&f)->icmp.rate_limited_global, 1000 - first);
    assert_int_equal(st(&f)->icmp.rate_limited_dst, 0);
    /* 5 s of 4,000 destinations a second (20 every 5 ms): about 1,000 a
     * second get their error. */
    size_t sent = 0;
    unsigned h = 1000;
    for (int ms = 5; ms <= 5000; ms += 5) {
        fixture_advance_to(&f, t0 + (ust_time_t)ms * UST_MS);
        for (int k = 0; k < 20; k++)
            sent += flood_from(&f, host(h++), 1);
    }
    assert_in_range(sent, 4500, 5500);
    fixture_fini(&f);
}

/* The table of destinations is bounded: a new one takes the slot charged
 * longest ago, and a destination that lost its slot starts afresh. */
static void destination_table_bounded_lru(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 5);
    cfg.icmp_dst_table_size = TBT_WAYS; /* one set: every destination competes */
    cfg.icmp_dst_burst = 1;
    cfg.icmp_dst_interval = 60 * UST_SEC;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    ust_time_t t0 = f.now;
    for (unsigned i = 0; i < TBT_WAYS; i++) {
        fixture_advance_to(&f, t0 + i * UST_MS);
        assert_int_equal(flood_from(&f, host(i), 2), 1);
    }
    const struct tbucket_table *t = f.s->icmp->per_dst;
    assert_non_null(t);
    assert_int_equal(tbucket_table_size(t), TBT_WAYS);
    assert_int_equal(st(&f)->icmp.rate_table_replaced, 0);
    /* host 0 is charged again (and refused): host 1 is now the oldest. */
    fixture_advance_to(&f, t0 + 100 * UST_MS);
    assert_int_equal(flood_from(&f, host(0), 1), 0);
    assert_int_equal(flood_from(&f, host(TBT_WAYS), 1), 1);
    assert_int_equal(st(&f)->icmp.rate_table_replaced, 1);
    assert_true(tbucket_table_has(t, host(0)));
    assert_false(tbucket_table_has(t, host(1)));
    for (unsigned i = 2; i <= TBT_WAYS; i++)
        assert_true(tbucket_table_has(t, host(i)));
    /* host 1 lost its bucket: it starts with a full one (and pushes out
     * host 2); the others are still limited. */
    assert_int_equal(flood_from(&f, host(1), 2), 1);
    assert_false(tbucket_table_has(t, host(2)));
    for (unsigned i = 3; i <= TBT_WAYS; i++)
        assert_int_equal(flood_from(&f, host(i), 1), 0);
    fixture_fini(&f);
}

/* A tiny table under a flood from many sources still keeps the limit for
 * the sources that keep coming, when the flood is spread over many sets. */
static void destination_table_holds_its_bound(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 9);
    cfg.icmp_dst_table_size = 64;
    cfg.icmp_rate_per_sec = 0;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    for (unsigned i = 0; i < 5000; i++)
        flood_from(&f, host(i), 1);
    unsigned held = 0;
    for (unsigned i = 0; i < 5000; i++)
        held += tbucket_table_has(f.s->icmp->per_dst, host(i));
    assert_int_equal(held, 64);
    assert_int_equal(st(&f)->icmp.rate_table_replaced, 5000 - 64);
    fixture_fini(&f);
}

static void stack_rate_limit_leaves_echo_alone(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 5);
    cfg.icmp_dst_burst = 1;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    flood(&f, 3);
    assert_int_equal(cap_count(f.cap), 1);
    cap_clear(f.cap);
    /* Echo replies are answers, not errors: not limited. */
    uint8_t fr[FR_MAX];
    for (uint16_t i = 0; i < 20; i++) {
        size_t n = build_echo_request(fr, T_IP_PEER, T_IP_US, 1, i, NULL, 0);
        fixture_input(&f, fr, n);
    }
    assert_int_equal(cap_count(f.cap), 20);
    fixture_fini(&f);
}

static void stack_rate_zero_unlimited(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 5);
    cfg.icmp_rate_per_sec = 0;
    cfg.icmp_dst_interval = 0;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    flood(&f, 300);
    assert_int_equal(cap_count(f.cap), 300);
    assert_int_equal(st(&f)->icmp.rate_limited, 0);
    fixture_fini(&f);
}

/* Errors about a datagram's reassembly timing out are limited too, and
 * counted as their kind. */
static void time_exceeded_limited_per_destination(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX], p[16] = {0};
    for (uint16_t id = 1; id <= 10; id++) {
        uint8_t ip[FR_MAX];
        size_t n = build_ipv4(ip, T_IP_PEER, T_IP_US, 17, id, 0x2000, 64, p, sizeof(p));
        n = build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, n);
        fixture_input(&f, fr, n);
    }
    fixture_advance_to(&f, f.now + 31 * UST_SEC);
    assert_int_equal(cap_count(f.cap), 6);
    assert_int_equal(st(&f)->icmp.tx_time_exceeded, 6);
    assert_int_equal(st(&f)->icmp.rate_limited_time_exceeded, 4);
    fixture_fini(&f);
}

/* ---------------- ping endpoints ---------------- */

static void ping_open_explicit_and_random(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h1 = ust_ping_open(f.s, 0x1234);
    assert_true(h1 >= 0);
    assert_int_equal(ust_ping_id(f.s, h1), 0x1234);
    assert_int_equal(ust_ping_open(f.s, 0x1234), -EADDRINUSE);
    int h2 = ust_ping_open(f.s, 0);
    assert_true(h2 >= 0);
    assert_int_not_equal(h2, h1);
    int id2 = ust_ping_id(f.s, h2);
    assert_true(id2 > 0 && id2 <= 0xffff);
    assert_int_not_equal(id2, 0x1234);
    assert_int_equal(ust_ping_open(f.s, (uint16_t)id2), -EADDRINUSE);
    fixture_fini(&f);
}

static void ping_open_until_full(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int ids[64];
    int n = 0;
    for (;;) {
        int h = ust_ping_open(f.s, 0);
        if (h < 0) {
            assert_int_equal(h, -ENOSPC);
            break;
        }
        ids[n] = ust_ping_id(f.s, h);
        for (int i = 0; i < n; i++)
            assert_int_not_equal(ids[i], ids[n]); /* random ids are unique */
        assert_int_not_equal(ids[n], 0);
        n++;
        assert_true(n < 64);
    }
    assert_true(n >= 1);
    assert_int_equal(ust_ping_open(f.s, 0x7777), -ENOSPC);
    fixture_fini(&f);
}

static void ping_stale_handle(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 100);
    assert_true(h >= 0);
    assert_int_equal(ust_ping_close(f.s, h), 0);
    struct ust_ping_reply r;
    assert_int_equal(ust_ping_id(f.s, h), -EBADF);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 1, NULL, 0, f.now), -EBADF);
    assert_int_equal(ust_ping_recv(f.s, h, &r, NULL, 0), -EBADF);
    assert_int_equal(ust_ping_close(f.s, h), -EBADF);
    /* The slot is reused (same id even): the old handle stays dead. */
    int h2 = ust_ping_open(f.s, 100);
    assert_true(h2 >= 0);
    assert_int_not_equal(h2, h);
    assert_int_equal(ust_ping_id(f.s, h), -EBADF);
    assert_int_equal(ust_ping_close(f.s, h), -EBADF);
    assert_int_equal(ust_ping_id(f.s, h2), 100);
    /* Garbage handles. */
    assert_int_equal(ust_ping_id(f.s, -1), -EBADF);
    assert_int_equal(ust_ping_id(f.s, 0x7fffffff), -EBADF);
    assert_int_equal(ust_ping_recv(f.s, -5, &r, NULL, 0), -EBADF);
    fixture_fini(&f);
}

static void ping_send_builds_echo_request(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int h = ust_ping_open(f.s, 0xabcd);
    uint8_t data[56], out[FR_MAX];
    for (int i = 0; i < 56; i++)
        data[i] = (uint8_t)(0x10 + i);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 0x0102, data, sizeof(data), f.now), 0);
    assert_int_equal(cap_count(f.cap), 1);
    size_t n = cap_pop(f.cap, out, sizeof(out));
    assert_int_equal(n, 14 + 20 + 8 + 56);
    assert_memory_equal(out, t_mac_peer, 6);
    check_ip(out + 14, T_IP_US, T_IP_PEER, 1, 84);
    const uint8_t *m = out + 34;
    assert_int_equal(m[0], 8);
    assert_int_equal(m[1], 0);
    assert_int_equal(ld16(m + 4), 0xabcd);
    assert_int_equal(ld16(m + 6), 0x0102);
    assert_int_equal(ref_cksum(m, 64), 0);
    assert_memory_equal(m + 8, data, 56);
    assert_int_equal(st(&f)->icmp.tx_echo_request, 1);
    fixture_fini(&f);
}

static void ping_send_size_limits(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int h = ust_ping_open(f.s, 1);
    static uint8_t big[65536];
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 1, big, 1472, f.now), 0);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t out[FR_MAX];
    assert_int_equal(cap_pop(f.cap, out, sizeof(out)), 1514);
    /* Beyond the link MTU: fragmented; the largest IPv4 datagram: 45
     * fragments; beyond IPv4: refused. */
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 2, big, 1473, f.now), 0);
    assert_int_equal(cap_count(f.cap), 2);
    cap_clear(f.cap);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 3, big, 65507, f.now), 0);
    assert_int_equal(cap_count(f.cap), 45);
    cap_clear(f.cap);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 4, big, 65508, f.now), -EMSGSIZE);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void inject_reply(struct fixture *f, uint16_t id, uint16_t seq, uint8_t ttl,
                         const void *data, size_t len)
{
    uint8_t fr[FR_MAX];
    size_t n = frame_echo(fr, t_mac_us, 0, T_IP_PEER, T_IP_US, id, seq, ttl, data, len);
    fixture_input(f, fr, n);
}

static void ping_replies_in_order(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 0x5151);
    struct ust_ping_reply r;
    uint8_t buf[64];
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, sizeof(buf)), -EAGAIN);
    ust_time_t t0 = f.now;
    inject_reply(&f, 0x5151, 1, 61, "one", 3);
    fixture_advance_to(&f, t0 + 5 * UST_MS);
    inject_reply(&f, 0x5151, 2, 62, "second", 6);
    fixture_advance_to(&f, t0 + 9 * UST_MS);
    inject_reply(&f, 0x5151, 3, 63, NULL, 0);

    memset(buf, 0, sizeof(buf));
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.from, T_IP_PEER);
    assert_int_equal(r.id, 0x5151);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.ttl, 61);
    assert_int_equal(r.len, 3);
    assert_int_equal(r.received, t0);
    assert_memory_equal(buf, "one", 3);
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.seq, 2);
    assert_int_equal(r.ttl, 62);
    assert_int_equal(r.len, 6);
    assert_int_equal(r.received, t0 + 5 * UST_MS);
    assert_memory_equal(buf, "second", 6);
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.seq, 3);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.received, t0 + 9 * UST_MS);
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(st(&f)->icmp.rx_echo_reply, 3);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void ping_recv_truncates_to_cap(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 9);
    inject_reply(&f, 9, 1, 64, "0123456789", 10);
    inject_reply(&f, 9, 2, 64, "abcdef", 6);
    struct ust_ping_reply r;
    uint8_t buf[8];
    memset(buf, '#', sizeof(buf));
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, 4), 0);
    assert_int_equal(r.len, 10); /* the real size */
    assert_memory_equal(buf, "0123####", 8);
    /* NULL buffer and reply: the entry is still consumed. */
    assert_int_equal(ust_ping_recv(f.s, h, NULL, NULL, 0), 0);
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, sizeof(buf)), -EAGAIN);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void ping_queue_bound(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 3);
    int accepted = 0;
    for (uint16_t seq = 1; seq <= 100; seq++) {
        inject_reply(&f, 3, seq, 64, &seq, sizeof(seq));
        if (st(&f)->icmp.drop_queue_full == 0)
            accepted = seq;
    }
    assert_int_equal(accepted, UST_PING_QUEUE);
    assert_int_equal(st(&f)->icmp.drop_queue_full, 100 - accepted);
    assert_int_equal(st(&f)->pkb.live, (uint64_t)accepted); /* bounded memory */
    /* The oldest are kept, in order. */
    struct ust_ping_reply r;
    uint16_t v;
    for (int seq = 1; seq <= accepted; seq++) {
        assert_int_equal(ust_ping_recv(f.s, h, &r, &v, sizeof(v)), 0);
        assert_int_equal(r.seq, seq);
        assert_int_equal(v, seq);
    }
    assert_int_equal(ust_ping_recv(f.s, h, &r, NULL, 0), -EAGAIN);
    /* Room again once read. */
    inject_reply(&f, 3, 500, 64, NULL, 0);
    assert_int_equal(ust_ping_recv(f.s, h, &r, NULL, 0), 0);
    assert_int_equal(r.seq, 500);
    fixture_fini(&f);
}

static void ping_reply_unknown_id(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 10);
    inject_reply(&f, 11, 1, 64, "zz", 2);
    assert_int_equal(st(&f)->icmp.drop_no_listener, 1);
    struct ust_ping_reply r;
    assert_int_equal(ust_ping_recv(f.s, h, &r, NULL, 0), -EAGAIN);
    /* After closing, its own id has no listener either. */
    assert_int_equal(ust_ping_close(f.s, h), 0);
    inject_reply(&f, 10, 1, 64, "zz", 2);
    assert_int_equal(st(&f)->icmp.drop_no_listener, 2);
    assert_int_equal(st(&f)->pkb.live, 0);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void ping_replies_go_to_their_endpoint(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int a = ust_ping_open(f.s, 20), b = ust_ping_open(f.s, 21);
    inject_reply(&f, 21, 7, 64, NULL, 0);
    inject_reply(&f, 20, 8, 64, NULL, 0);
    struct ust_ping_reply r;
    assert_int_equal(ust_ping_recv(f.s, a, &r, NULL, 0), 0);
    assert_int_equal(r.seq, 8);
    assert_int_equal(ust_ping_recv(f.s, b, &r, NULL, 0), 0);
    assert_int_equal(r.seq, 7);
    assert_int_equal(ust_ping_recv(f.s, a, &r, NULL, 0), -EAGAIN);
    assert_int_equal(ust_ping_recv(f.s, b, &r, NULL, 0), -EAGAIN);
    fixture_fini(&f);
}

static void ping_close_discards_queued(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 30);
    for (uint16_t i = 0; i < 5; i++)
        inject_reply(&f, 30, i, 64, "payload", 7);
    assert_int_equal(st(&f)->pkb.live, 5);
    assert_int_equal(ust_ping_close(f.s, h), 0);
    assert_int_equal(st(&f)->pkb.live, 0);
    /* A new endpoint with the same id starts empty. */
    h = ust_ping_open(f.s, 30);
    struct ust_ping_reply r;
    assert_int_equal(ust_ping_recv(f.s, h, &r, NULL, 0), -EAGAIN);
    fixture_fini(&f);
}

static void ping_round_trip_against_ourselves(void **state)
{
    (void)state;
    /* Our echo request, turned around by hand as the peer would, comes
     * back to the endpoint with the payload intact. */
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int h = ust_ping_open(f.s, 0);
    uint16_t id = (uint16_t)ust_ping_id(f.s, h);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 42, "round trip", 10, f.now), 0);
    uint8_t out[FR_MAX];
    size_t n = cap_pop(f.cap, out, sizeof(out));
    assert_true(n >= 52);
    assert_int_equal(ld16(out + 38), id);
    inject_reply(&f, ld16(out + 38), ld16(out + 40), 64, out + 42, 10);
    struct ust_ping_reply r;
    char buf[16];
    assert_int_equal(ust_ping_recv(f.s, h, &r, buf, sizeof(buf)), 0);
    assert_int_equal(r.seq, 42);
    assert_int_equal(r.len, 10);
    assert_memory_equal(buf, "round trip", 10);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_reply_sizes),
        cmocka_unit_test(echo_reply_ignores_request_ttl_and_options),
        cmocka_unit_test(echo_reply_to_offlink_source_goes_to_gateway),
        cmocka_unit_test(echo_to_subnet_broadcast_ignored),
        cmocka_unit_test(echo_to_limited_broadcast_ignored),
        cmocka_unit_test(unicast_ip_in_broadcast_frame_dropped),
        cmocka_unit_test(echo_for_someone_else_dropped),
        cmocka_unit_test(unknown_icmp_type_ignored),
        cmocka_unit_test(unknown_protocol_gets_unreachable),
        cmocka_unit_test(unreachable_quotes_options_and_short_data),
        cmocka_unit_test(unreachable_ignores_link_padding),
        cmocka_unit_test(no_error_about_icmp_error),
        cmocka_unit_test(no_error_for_ip_broadcast),
        cmocka_unit_test(no_error_for_link_broadcast),
        cmocka_unit_test(no_error_for_fragments),
        cmocka_unit_test(no_error_for_bad_sources),
        cmocka_unit_test(tbucket_burst_then_refill),
        cmocka_unit_test(tbucket_no_credit_beyond_burst),
        cmocka_unit_test(tbucket_full_at_start_exactly_burst),
        cmocka_unit_test(tbucket_partial_waits_are_not_lost),
        cmocka_unit_test(tbucket_rate_zero_unlimited),
        cmocka_unit_test(tbucket_clock_going_back),
        cmocka_unit_test(tbucket_charge),
        cmocka_unit_test(tbucket_interval),
        cmocka_unit_test(per_destination_burst_then_one_per_second),
        cmocka_unit_test(each_destination_has_its_own_budget),
        cmocka_unit_test(refused_errors_spend_no_shared_budget),
        cmocka_unit_test(flood_to_many_destinations_hits_global_limit),
        cmocka_unit_test(destination_table_bounded_lru),
        cmocka_unit_test(destination_table_holds_its_bound),
        cmocka_unit_test(time_exceeded_limited_per_destination),
        cmocka_unit_test(stack_rate_limit_leaves_echo_alone),
        cmocka_unit_test(stack_rate_zero_unlimited),
        cmocka_unit_test(ping_open_explicit_and_random),
        cmocka_unit_test(ping_open_until_full),
        cmocka_unit_test(ping_stale_handle),
        cmocka_unit_test(ping_send_builds_echo_request),
        cmocka_unit_test(ping_send_size_limits),
        cmocka_unit_test(ping_replies_in_order),
        cmocka_unit_test(ping_recv_truncates_to_cap),
        cmocka_unit_test(ping_queue_bound),
        cmocka_unit_test(ping_reply_unknown_id),
        cmocka_unit_test(ping_replies_go_to_their_endpoint),
        cmocka_unit_test(ping_close_discards_queued),
        cmocka_unit_test(ping_round_trip_against_ourselves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
