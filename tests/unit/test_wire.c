/* Wire modules: parse and emit on known byte vectors for Ethernet, ARP,
 * IPv4 and ICMP, and every error code of the parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"

/* A real ARP request (the "arp-storm" capture of the Wireshark sample
 * collection): who has 24.166.173.159? tell 24.166.172.1, padded to 60. */
/* clang-format off */
static const uint8_t arp_request_frame[60] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* eth dst: broadcast */
    0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54, /* eth src */
    0x08, 0x06,                         /* ARP */
    0x00, 0x01,                         /* htype Ethernet */
    0x08, 0x00,                         /* ptype IPv4 */
    0x06, 0x04,                         /* hlen, plen */
    0x00, 0x01,                         /* request */
    0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54, /* sha */
    0x18, 0xa6, 0xac, 0x01,             /* spa 24.166.172.1 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* tha */
    0x18, 0xa6, 0xad, 0x9f,             /* tpa 24.166.173.159 */
    /* 18 bytes of Ethernet padding */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};

/* The matching reply from 00:11:22:33:44:55. */
static const uint8_t arp_reply_body[28] = {
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x00, 0x11,
    0x22, 0x33, 0x44, 0x55, 0x18, 0xa6, 0xad, 0x9f, 0x00, 0x07,
    0x0d, 0xaf, 0xf4, 0x54, 0x18, 0xa6, 0xac, 0x01};

/* Echo request 192.0.2.1 -> 192.0.2.2, id 0x1234, seq 1, data "abcdefgh".
 * IP checksum: 4500+0024+1c46+4000+4001+c000+0201+c000+0202 = 26570,
 * folded 6570, complement 9a8f. ICMP checksum: 0800+1234+0001+6162+6364+
 * 6566+6768 = 1abc9, folded abca, complement 5435. */
static const uint8_t echo_frame[] = {
    0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00,
    /* IPv4 */
    0x45, 0x00, 0x00, 0x24, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x01, 0x9a, 0x8f,
    0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02,
    /* ICMP */
    0x08, 0x00, 0x54, 0x35, 0x12, 0x34, 0x00, 0x01,
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};

/* The textbook header 4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7. */
static const uint8_t classic_hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40,
                                        0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8,
                                        0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
/* clang-format on */

/* ---------------- Ethernet ---------------- */

static void eth_parse_known_frame(void **state)
{
    (void)state;
    struct eth_repr e;
    assert_int_equal(eth_parse(arp_request_frame, sizeof(arp_request_frame), &e), WIRE_OK);
    const uint8_t dst[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t src[6] = {0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54};
    assert_memory_equal(e.dst, dst, 6);
    assert_memory_equal(e.src, src, 6);
    assert_int_equal(e.type, ETH_TYPE_ARP);

    assert_int_equal(eth_parse(echo_frame, sizeof(echo_frame), &e), WIRE_OK);
    assert_int_equal(e.type, 0x0800);
    assert_memory_equal(e.dst, t_mac_us, 6);
    assert_memory_equal(e.src, t_mac_peer, 6);
}

static void eth_emit_round_trip(void **state)
{
    (void)state;
    struct eth_repr e;
    uint8_t out[ETH_HDR_LEN + 2];
    memset(out, 0xaa, sizeof(out));
    assert_int_equal(eth_parse(echo_frame, sizeof(echo_frame), &e), WIRE_OK);
    eth_emit(&e, out);
    assert_memory_equal(out, echo_frame, ETH_HDR_LEN);
    assert_int_equal(out[ETH_HDR_LEN], 0xaa); /* writes exactly 14 bytes */

    struct eth_repr r = {.dst = {1, 2, 3, 4, 5, 6}, .src = {7, 8, 9, 10, 11, 12}, .type = 0x88b5};
    const uint8_t want[14] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0x88, 0xb5};
    eth_emit(&r, out);
    assert_memory_equal(out, want, 14);
}

static void eth_parse_truncated(void **state)
{
    (void)state;
    struct eth_repr e;
    for (size_t n = 0; n < ETH_HDR_LEN; n++)
        assert_int_equal(eth_parse(echo_frame, n, &e), WIRE_ETRUNC);
    assert_int_equal(eth_parse(echo_frame, ETH_HDR_LEN, &e), WIRE_OK);
    assert_int_equal(e.type, 0x0800);
}

static void eth_address_predicates(void **state)
{
    (void)state;
    const uint8_t bc[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const uint8_t mc[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    const uint8_t uc[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
    const uint8_t zero[6] = {0};
    const uint8_t almost[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    assert_true(eth_is_broadcast(bc));
    assert_false(eth_is_broadcast(almost));
    assert_false(eth_is_broadcast(mc));
    assert_true(eth_is_multicast(bc)); /* broadcast is a multicast address */
    assert_true(eth_is_multicast(mc));
    assert_false(eth_is_multicast(uc));
    assert_false(eth_is_multicast(zero));
    assert_true(eth_is_zero(zero));
    assert_false(eth_is_zero(uc));
    assert_memory_equal(eth_broadcast, bc, 6);
}

static void eth_format_address(void **state)
{
    (void)state;
    char buf[18];
    const uint8_t a[6] = {0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54};
    assert_string_equal(eth_format(a, buf), "00:07:0d:af:f4:54");
    assert_string_equal(eth_format(eth_broadcast, buf), "ff:ff:ff:ff:ff:ff");
}

/* ---------------- ARP ---------------- */

static void arp_parse_known_request(void **state)
{
    (void)state;
    struct arp_repr r;
    const uint8_t *body = arp_request_frame + ETH_HDR_LEN;
    /* With the Ethernet padding after it: trailing bytes are ignored. */
    assert_int_equal(arp_parse(body, sizeof(arp_request_frame) - ETH_HDR_LEN, &r), WIRE_OK);
    const uint8_t sha[6] = {0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54};
    const uint8_t zero[6] = {0};
    assert_int_equal(r.op, ARP_OP_REQUEST);
    assert_memory_equal(r.sha, sha, 6);
    assert_int_equal(r.spa, UST_IP4(24, 166, 172, 1));
    assert_memory_equal(r.tha, zero, 6);
    assert_int_equal(r.tpa, UST_IP4(24, 166, 173, 159));
    /* Exactly 28 bytes is enough. */
    assert_int_equal(arp_parse(body, ARP_LEN, &r), WIRE_OK);
}

static void arp_emit_known_request(void **state)
{
    (void)state;
    struct arp_repr r = {.op = ARP_OP_REQUEST,
                         .sha = {0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54},
                         .spa = UST_IP4(24, 166, 172, 1),
                         .tha = {0},
                         .tpa = UST_IP4(24, 166, 173, 159)};
    uint8_t out[ARP_LEN + 1];
    memset(out, 0xaa, sizeof(out));
    arp_emit(&r, out);
    assert_memory_equal(out, arp_request_frame + ETH_HDR_LEN, ARP_LEN);
    assert_int_equal(out[ARP_LEN], 0xaa);
}

static void arp_reply_round_trip(void **state)
{
    (void)state;
    struct arp_repr r;
    assert_int_equal(arp_parse(arp_reply_body, sizeof(arp_reply_body), &r), WIRE_OK);
    const uint8_t sha[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55};
    const uint8_t tha[6] = {0x00, 0x07, 0x0d, 0xaf, 0xf4, 0x54};
    assert_int_equal(r.op, ARP_OP_REPLY);
    assert_memory_equal(r.sha, sha, 6);
    assert_int_equal(r.spa, UST_IP4(24, 166, 173, 159));
    assert_memory_equal(r.tha, tha, 6);
    assert_int_equal(r.tpa, UST_IP4(24, 166, 172, 1));
    uint8_t out[ARP_LEN];
    arp_emit(&r, out);
    assert_memory_equal(out, arp_reply_body, ARP_LEN);
}

static void arp_parse_truncated(void **state)
{
    (void)state;
    struct arp_repr r;
    for (size_t n = 0; n < ARP_LEN; n++)
        assert_int_equal(arp_parse(arp_reply_body, n, &r), WIRE_ETRUNC);
}

static void arp_parse_unsupported(void **state)
{
    (void)state;
    struct arp_repr r;
    struct {
        size_t off;
        uint8_t val;
    } cases[] = {
        {1, 0x06}, /* htype 6 (IEEE 802) */
        {1, 0x00}, /* htype 0 */
        {0, 0x01}, /* htype 0x0101 */
        {2, 0x86}, /* ptype 0x8600 */
        {3, 0x06}, /* ptype 0x0806 */
        {4, 8},    /* hln 8 */
        {4, 0},    /* hln 0 */
        {5, 16},   /* pln 16 (an IPv6 size) */
        {5, 0},    /* pln 0 */
        {7, 0},    /* op 0 */
        {7, 3},    /* op 3 (RARP request) */
        {7, 4},    /* op 4 (RARP reply) */
        {6, 1},    /* op 0x0102 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[ARP_LEN];
        memcpy(b, arp_reply_body, sizeof(b));
        b[cases[i].off] = cases[i].val;
        assert_int_equal(arp_parse(b, sizeof(b), &r), WIRE_EUNSUPP);
    }
}

static void arp_parse_sizes_checked_before_length(void **state)
{
    (void)state;
    /* hln 8 / pln 16 would make the body longer than 28 bytes: the sizes
     * are refused as unsupported, whatever the length, once 8 bytes are in. */
    struct arp_repr r;
    uint8_t b[ARP_LEN];
    memcpy(b, arp_reply_body, sizeof(b));
    b[4] = 8;
    assert_int_equal(arp_parse(b, 8, &r), WIRE_EUNSUPP);
    assert_int_equal(arp_parse(b, 27, &r), WIRE_EUNSUPP);
    assert_int_equal(arp_parse(b, 7, &r), WIRE_ETRUNC);
    b[4] = 6;
    b[5] = 16;
    assert_int_equal(arp_parse(b, 20, &r), WIRE_EUNSUPP);
}

/* ---------------- IPv4 ---------------- */

static void fix_ip_checksum(uint8_t *ip)
{
    size_t hl = (size_t)(ip[0] & 15) * 4;
    if (hl < 20)
        hl = 20;
    ip[10] = ip[11] = 0;
    uint16_t c = cksum(ip, hl);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
}

static void ipv4_parse_classic_header(void **state)
{
    (void)state;
    uint8_t pkt[0x73];
    memcpy(pkt, classic_hdr, 20);
    for (size_t i = 20; i < sizeof(pkt); i++)
        pkt[i] = (uint8_t)i;
    struct ipv4_repr r;
    assert_int_equal(ipv4_parse(pkt, sizeof(pkt), &r), WIRE_OK);
    assert_int_equal(r.hdr_len, 20);
    assert_int_equal(r.tos, 0);
    assert_int_equal(r.total_len, 0x73);
    assert_int_equal(r.id, 0);
    assert_int_equal(r.frag, IPV4_FLAG_DF);
    assert_int_equal(r.ttl, 64);
    assert_int_equal(r.proto, IPV4_PROTO_UDP);
    assert_int_equal(r.src, UST_IP4(192, 168, 0, 1));
    assert_int_equal(r.dst, UST_IP4(192, 168, 0, 199));
    assert_false(ipv4_is_fragment(&r));
}

static void ipv4_emit_classic_header(void **state)
{
    (void)state;
    struct ipv4_repr r = {.hdr_len = 0,
                          .tos = 0,
                          .total_len = 0x73,
                          .id = 0,
                          .frag = IPV4_FLAG_DF,
                          .ttl = 64,
                          .proto = IPV4_PROTO_UDP,
                          .src = UST_IP4(192, 168, 0, 1),
                          .dst = UST_IP4(192, 168, 0, 199)};
    uint8_t out[21];
    memset(out, 0xaa, sizeof(out));
    ipv4_emit(&r, out);
    assert_memory_equal(out, classic_hdr, 20); /* including checksum b861 */
    assert_int_equal(out[20], 0xaa);
}

static void ipv4_echo_vector_round_trip(void **state)
{
    (void)state;
    const uint8_t *ip = echo_frame + ETH_HDR_LEN;
    size_t len = sizeof(echo_frame) - ETH_HDR_LEN;
    struct ipv4_repr r;
    assert_int_equal(ipv4_parse(ip, len, &r), WIRE_OK);
    assert_int_equal(r.total_len, 36);
    assert_int_equal(r.id, 0x1c46);
    assert_int_equal(r.frag, 0x4000);
    assert_int_equal(r.ttl, 64);
    assert_int_equal(r.proto, IPV4_PROTO_ICMP);
    assert_int_equal(r.src, T_IP_PEER);
    assert_int_equal(r.dst, T_IP_US);
    uint8_t out[20];
    ipv4_emit(&r, out);
    assert_memory_equal(out, ip, 20);
}

static void ipv4_parse_ignores_link_padding(void **state)
{
    (void)state;
    uint8_t buf[46];
    memset(buf, 0, sizeof(buf));
    memcpy(buf, echo_frame + ETH_HDR_LEN, 36);
    struct ipv4_repr r;
    assert_int_equal(ipv4_parse(buf, sizeof(buf), &r), WIRE_OK);
    assert_int_equal(r.total_len, 36);
}

static void ipv4_parse_options(void **state)
{
    (void)state;
    /* IHL 6: four bytes of options (NOP NOP NOP EOL) covered by the checksum. */
    uint8_t pkt[28];
    memcpy(pkt, classic_hdr, 20);
    pkt[0] = 0x46;
    pkt[2] = 0;
    pkt[3] = 28;
    pkt[20] = 1;
    pkt[21] = 1;
    pkt[22] = 1;
    pkt[23] = 0;
    memset(pkt + 24, 0x5a, 4);
    fix_ip_checksum(pkt);
    struct ipv4_repr r;
    assert_int_equal(ipv4_parse(pkt, sizeof(pkt), &r), WIRE_OK);
    assert_int_equal(r.hdr_len, 24);
    assert_int_equal(r.total_len, 28);
    /* An option byte is under the checksum. */
    pkt[21] = 0x44;
    assert_int_equal(ipv4_parse(pkt, sizeof(pkt), &r), WIRE_ECSUM);
    /* The biggest header: IHL 15, 60 bytes. */
    uint8_t big[60];
    memcpy(big, classic_hdr, 20);
    memset(big + 20, 1, 40);
    big[0] = 0x4f;
    big[2] = 0;
    big[3] = 60;
    fix_ip_checksum(big);
    assert_int_equal(ipv4_parse(big, sizeof(big), &r), WIRE_OK);
    assert_int_equal(r.hdr_len, 60);
    assert_int_equal(r.total_len, 60);
}

static void ipv4_err_truncated(void **state)
{
    (void)state;
    struct ipv4_repr r;
    const uint8_t *ip = echo_frame + ETH_HDR_LEN;
    for (size_t n = 0; n < IPV4_HDR_LEN; n++)
        assert_int_equal(ipv4_parse(ip, n, &r), WIRE_ETRUNC);
    /* A short buffer is reported as short even when the version is wrong. */
    uint8_t b[20];
    memcpy(b, ip, 20);
    b[0] = 0x65;
    assert_int_equal(ipv4_parse(b, 19, &r), WIRE_ETRUNC);
}

static void ipv4_err_version(void **state)
{
    (void)state;
    struct ipv4_repr r;
    const uint8_t versions[] = {0x0, 0x6, 0x5, 0xf, 0x3};
    for (size_t i = 0; i < sizeof(versions); i++) {
        uint8_t b[36];
        memcpy(b, echo_frame + ETH_HDR_LEN, 36);
        b[0] = (uint8_t)(versions[i] << 4 | 5);
        fix_ip_checksum(b);
        assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_EVERSION);
    }
    /* Version is checked before IHL. */
    uint8_t b[36];
    memcpy(b, echo_frame + ETH_HDR_LEN, 36);
    b[0] = 0x62;
    assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_EVERSION);
}

static void ipv4_err_ihl_below_5(void **state)
{
    (void)state;
    struct ipv4_repr r;
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        uint8_t b[36];
        memcpy(b, echo_frame + ETH_HDR_LEN, 36);
        b[0] = (uint8_t)(0x40 | ihl);
        assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_EHDRLEN);
    }
}

static void ipv4_err_ihl_beyond_data(void **state)
{
    (void)state;
    struct ipv4_repr r;
    uint8_t b[60];
    memset(b, 1, sizeof(b));
    memcpy(b, echo_frame + ETH_HDR_LEN, 20);
    b[0] = 0x46; /* 24 bytes of header */
    b[3] = 24;
    fix_ip_checksum(b);
    assert_int_equal(ipv4_parse(b, 24, &r), WIRE_OK);
    for (size_t n = 20; n < 24; n++)
        assert_int_equal(ipv4_parse(b, n, &r), WIRE_EHDRLEN);
    b[0] = 0x4f; /* 60 bytes */
    b[3] = 60;
    fix_ip_checksum(b);
    assert_int_equal(ipv4_parse(b, 60, &r), WIRE_OK);
    assert_int_equal(ipv4_parse(b, 59, &r), WIRE_EHDRLEN);
    assert_int_equal(ipv4_parse(b, 20, &r), WIRE_EHDRLEN);
}

static void ipv4_err_total_len_below_header(void **state)
{
    (void)state;
    struct ipv4_repr r;
    const uint16_t lens[] = {0, 1, 19};
    for (size_t i = 0; i < 3; i++) {
        uint8_t b[36];
        memcpy(b, echo_frame + ETH_HDR_LEN, 36);
        b[2] = (uint8_t)(lens[i] >> 8);
        b[3] = (uint8_t)lens[i];
        fix_ip_checksum(b);
        assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_ELEN);
    }
    /* With options, a total length that covers only the fixed part. */
    uint8_t b[40];
    memset(b, 1, sizeof(b));
    memcpy(b, echo_frame + ETH_HDR_LEN, 20);
    b[0] = 0x47; /* 28-byte header */
    b[2] = 0;
    b[3] = 24;
    fix_ip_checksum(b);
    assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_ELEN);
    b[3] = 28; /* exactly the header: valid, no payload */
    fix_ip_checksum(b);
    assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_OK);
    assert_int_equal(r.total_len, 28);
}

static void ipv4_err_total_len_beyond_data(void **state)
{
    (void)state;
    struct ipv4_repr r;
    const uint8_t *ip = echo_frame + ETH_HDR_LEN;
    /* The echo packet says 36 bytes: every shorter buffer of >= 20 bytes. */
    for (size_t n = 20; n < 36; n++)
        assert_int_equal(ipv4_parse(ip, n, &r), WIRE_ELEN);
    assert_int_equal(ipv4_parse(ip, 36, &r), WIRE_OK);
    uint8_t b[36];
    memcpy(b, ip, 36);
    b[2] = 0xff;
    b[3] = 0xff;
    fix_ip_checksum(b);
    assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_ELEN);
}

static void ipv4_err_checksum(void **state)
{
    (void)state;
    struct ipv4_repr r;
    const uint8_t *ip = echo_frame + ETH_HDR_LEN;
    /* Every single-bit error in the header is caught. */
    for (size_t i = 0; i < 20; i++) {
        if (i == 0 || i == 2 || i == 3)
            continue; /* these are rejected earlier for other reasons */
        for (int bit = 0; bit < 8; bit++) {
            uint8_t b[36];
            memcpy(b, ip, 36);
            b[i] ^= (uint8_t)(1u << bit);
            assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_ECSUM);
        }
    }
    /* The payload is not covered by the header checksum. */
    uint8_t b[36];
    memcpy(b, ip, 36);
    b[30] ^= 0xff;
    assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_OK);
}

static void ipv4_err_precedence(void **state)
{
    (void)state;
    struct ipv4_repr r;
    uint8_t b[36];
    /* Bad IHL and bad checksum: the header length is reported. */
    memcpy(b, echo_frame + ETH_HDR_LEN, 36);
    b[0] = 0x44;
    b[10] ^= 1;
    assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_EHDRLEN);
    /* Bad total length and bad checksum: the length is reported. */
    memcpy(b, echo_frame + ETH_HDR_LEN, 36);
    b[3] = 37;
    assert_int_equal(ipv4_parse(b, sizeof(b), &r), WIRE_ELEN);
}

static void ipv4_fragment_predicates(void **state)
{
    (void)state;
    struct ipv4_repr r = {0};
    r.frag = 0;
    assert_false(ipv4_is_fragment(&r));
    assert_true(ipv4_is_first_fragment(&r));
    r.frag = IPV4_FLAG_DF;
    assert_false(ipv4_is_fragment(&r));
    r.frag = IPV4_FLAG_MF; /* first fragment */
    assert_true(ipv4_is_fragment(&r));
    assert_true(ipv4_is_first_fragment(&r));
    r.frag = 185; /* last fragment, offset 1480 bytes */
    assert_true(ipv4_is_fragment(&r));
    assert_false(ipv4_is_first_fragment(&r));
    r.frag = IPV4_FLAG_MF | 1;
    assert_true(ipv4_is_fragment(&r));
    assert_false(ipv4_is_first_fragment(&r));
    r.frag = 0x8000; /* the reserved bit alone is not a fragment */
    assert_false(ipv4_is_fragment(&r));
}

static void ipv4_pseudo_header_sum(void **state)
{
    (void)state;
    /* c0a8+0001+c0a8+00c7+0011+005f = 18288, folded 8289, checksum 7d76. */
    uint32_t s = ipv4_pseudo_sum(UST_IP4(192, 168, 0, 1), UST_IP4(192, 168, 0, 199), 17, 0x5f);
    assert_int_equal(cksum_fold(s), 0x7d76);
    /* Swapping source and destination does not change it. */
    uint32_t t = ipv4_pseudo_sum(UST_IP4(192, 168, 0, 199), UST_IP4(192, 168, 0, 1), 17, 0x5f);
    assert_int_equal(cksum_fold(t), 0x7d76);
    /* All ones everywhere: no carry lost. ffff*4 + ff + ffff -> 6 words. */
    uint32_t u = ipv4_pseudo_sum(0xffffffffu, 0xffffffffu, 0xff, 0xffff);
    /* ffff+ffff+ffff+ffff+00ff+ffff = 5 * ffff + ff = (mod ffff) ff. */
    assert_int_equal(cksum_fold(u), (uint16_t)~0x00ff);
}

/* ---------------- ICMP ---------------- */

static void icmp_parse_echo_vector(void **state)
{
    (void)state;
    const uint8_t *m = echo_frame + ETH_HDR_LEN + 20;
    struct icmp_repr r;
    assert_int_equal(icmp_parse(m, 16, &r), WIRE_OK);
    assert_int_equal(r.type, ICMP_ECHO_REQUEST);
    assert_int_equal(r.code, 0);
    assert_int_equal(r.rest, 0x12340001);
    assert_int_equal(r.payload_len, 8);
    assert_ptr_equal(r.payload, m + 8);
    assert_memory_equal(r.payload, "abcdefgh", 8);
}

static void icmp_emit_echo_vector(void **state)
{
    (void)state;
    struct icmp_repr r = {.type = ICMP_ECHO_REQUEST,
                          .code = 0,
                          .rest = 0x12340001,
                          .payload = (const uint8_t *)"abcdefgh",
                          .payload_len = 8};
    uint8_t out[17];
    memset(out, 0xaa, sizeof(out));
    icmp_emit(&r, out);
    assert_memory_equal(out, echo_frame + ETH_HDR_LEN + 20, 16);
    assert_int_equal(out[16], 0xaa);
}

static void icmp_emit_echo_reply(void **state)
{
    (void)state;
    /* Type 0 instead of 8 takes 0800 out of the sum: 5435 + 0800 = 5c35. */
    const uint8_t want[16] = {0x00, 0x00, 0x5c, 0x35, 0x12, 0x34, 0x00, 0x01,
                              'a',  'b',  'c',  'd',  'e',  'f',  'g',  'h'};
    uint8_t out[16];
    memcpy(out + 8, "abcdefgh", 8); /* payload already in place */
    struct icmp_repr r = {.type = ICMP_ECHO_REPLY,
                          .code = 0,
                          .rest = 0x12340001,
                          .payload = out + 8,
                          .payload_len = 8};
    icmp_emit(&r, out);
    assert_memory_equal(out, want, 16);
}

static void icmp_header_only_and_odd_length(void **state)
{
    (void)state;
    struct icmp_repr r;
    /* 0800 0000 0000 0000 -> checksum f7ff. */
    const uint8_t hdr[8] = {0x08, 0x00, 0xf7, 0xff, 0, 0, 0, 0};
    assert_int_equal(icmp_parse(hdr, 8, &r), WIRE_OK);
    assert_int_equal(r.payload_len, 0);
    /* Odd payload: 0800 + 0001 + 0002 + 4100 ("A" padded) = 4903 -> b6fc. */
    const uint8_t odd[9] = {0x08, 0x00, 0xb6, 0xfc, 0x00, 0x01, 0x00, 0x02, 'A'};
    assert_int_equal(icmp_parse(odd, 9, &r), WIRE_OK);
    assert_int_equal(r.payload_len, 1);
    assert_int_equal(r.rest, 0x00010002);
    uint8_t out[9];
    struct icmp_repr e = {.type = 8,
                          .code = 0,
                          .rest = 0x00010002,
                          .payload = (const uint8_t *)"A",
                          .payload_len = 1};
    icmp_emit(&e, out);
    assert_memory_equal(out, odd, 9);
}

static void icmp_parse_truncated(void **state)
{
    (void)state;
    struct icmp_repr r;
    const uint8_t *m = echo_frame + ETH_HDR_LEN + 20;
    for (size_t n = 0; n < ICMP_HDR_LEN; n++)
        assert_int_equal(icmp_parse(m, n, &r), WIRE_ETRUNC);
}

static void icmp_parse_checksum(void **state)
{
    (void)state;
    struct icmp_repr r;
    const uint8_t *m = echo_frame + ETH_HDR_LEN + 20;
    for (size_t i = 0; i < 16; i++) {
        uint8_t b[16];
        memcpy(b, m, 16);
        b[i] ^= 0x40;
        assert_int_equal(icmp_parse(b, 16, &r), WIRE_ECSUM);
    }
    /* The message is the whole buffer: a cut payload fails the checksum. */
    for (size_t n = ICMP_HDR_LEN; n < 16; n++)
        assert_int_equal(icmp_parse(m, n, &r), WIRE_ECSUM);
}

static void icmp_error_classification(void **state)
{
    (void)state;
    assert_true(icmp_is_error(ICMP_DEST_UNREACH));
    assert_true(icmp_is_error(ICMP_SOURCE_QUENCH));
    assert_true(icmp_is_error(ICMP_REDIRECT));
    assert_true(icmp_is_error(ICMP_TIME_EXCEEDED));
    assert_true(icmp_is_error(ICMP_PARAM_PROBLEM));
    assert_false(icmp_is_error(ICMP_ECHO_REQUEST));
    assert_false(icmp_is_error(ICMP_ECHO_REPLY));
    assert_false(icmp_is_error(ICMP_TIMESTAMP));
    assert_false(icmp_is_error(ICMP_TIMESTAMP_REPLY));
    assert_false(icmp_is_error(255));
}

/* ---------------- loads and stores ---------------- */

static void byte_order_helpers(void **state)
{
    (void)state;
    uint8_t b[4];
    st16(b, 0x1234);
    assert_int_equal(b[0], 0x12);
    assert_int_equal(b[1], 0x34);
    assert_int_equal(ld16(b), 0x1234);
    st32(b, 0xc0000201u);
    assert_int_equal(b[0], 192);
    assert_int_equal(b[1], 0);
    assert_int_equal(b[2], 2);
    assert_int_equal(b[3], 1);
    assert_int_equal(ld32(b), 0xc0000201u);
    st32(b, 0xffffffffu);
    assert_int_equal(ld32(b), 0xffffffffu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eth_parse_known_frame),
        cmocka_unit_test(eth_emit_round_trip),
        cmocka_unit_test(eth_parse_truncated),
        cmocka_unit_test(eth_address_predicates),
        cmocka_unit_test(eth_format_address),
        cmocka_unit_test(arp_parse_known_request),
        cmocka_unit_test(arp_emit_known_request),
        cmocka_unit_test(arp_reply_round_trip),
        cmocka_unit_test(arp_parse_truncated),
        cmocka_unit_test(arp_parse_unsupported),
        cmocka_unit_test(arp_parse_sizes_checked_before_length),
        cmocka_unit_test(ipv4_parse_classic_header),
        cmocka_unit_test(ipv4_emit_classic_header),
        cmocka_unit_test(ipv4_echo_vector_round_trip),
        cmocka_unit_test(ipv4_parse_ignores_link_padding),
        cmocka_unit_test(ipv4_parse_options),
        cmocka_unit_test(ipv4_err_truncated),
        cmocka_unit_test(ipv4_err_version),
        cmocka_unit_test(ipv4_err_ihl_below_5),
        cmocka_unit_test(ipv4_err_ihl_beyond_data),
        cmocka_unit_test(ipv4_err_total_len_below_header),
        cmocka_unit_test(ipv4_err_total_len_beyond_data),
        cmocka_unit_test(ipv4_err_checksum),
        cmocka_unit_test(ipv4_err_precedence),
        cmocka_unit_test(ipv4_fragment_predicates),
        cmocka_unit_test(ipv4_pseudo_header_sum),
        cmocka_unit_test(icmp_parse_echo_vector),
        cmocka_unit_test(icmp_emit_echo_vector),
        cmocka_unit_test(icmp_emit_echo_reply),
        cmocka_unit_test(icmp_header_only_and_odd_length),
        cmocka_unit_test(icmp_parse_truncated),
        cmocka_unit_test(icmp_parse_checksum),
        cmocka_unit_test(icmp_error_classification),
        cmocka_unit_test(byte_order_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
