/* Robustness: truncated, lying, corrupted, misaddressed and random frames.
 * The stack must drop them (and count the drop), never answer them, never
 * leak a buffer, and never read out of bounds (this runs under ASan and
 * UBSan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "wire/bytes.h"

#define FR_MAX 1700
/* Longer than ARP takes to give up with the default config (4 s). */
#define UST_MIN_GIVEUP (5 * UST_SEC)

static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_zero[6] = {0};

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

/* Every counter that records a dropped input. */
static uint64_t drops(const struct ust_stats *s)
{
    return s->eth.drop_short + s->eth.drop_not_for_us + s->eth.drop_vlan +
           s->eth.drop_unknown_type + s->arp.drop_malformed + s->arp.drop_unsupported +
           s->arp.drop_bad_sender + s->arp.drop_not_ours + s->ip.drop_short + s->ip.drop_version +
           s->ip.drop_hdr_len + s->ip.drop_total_len + s->ip.drop_checksum + s->ip.drop_bad_src +
           s->ip.drop_not_ours + s->ip.frag_rx + s->ip.drop_unknown_proto + s->icmp.drop_short +
           s->icmp.drop_checksum + s->icmp.drop_broadcast_echo + s->icmp.drop_unknown_type +
           s->icmp.drop_no_listener + s->icmp.drop_queue_full + s->udp.drop_malformed +
           s->udp.drop_checksum + s->udp.drop_no_port + s->udp.drop_rcvbuf + s->ip6.drop_short +
           s->ip6.drop_version + s->ip6.drop_len + s->ip6.drop_bad_src + s->ip6.drop_not_ours +
           s->ip6.drop_tentative;
}

/* ---- valid frames to start from (no Ethernet padding) ---- */

static size_t arp_request_for_us(uint8_t *fr)
{
    return build_arp(fr, 1, mac_bcast, t_mac_peer, T_IP_PEER, mac_zero, T_IP_US);
}

static size_t echo_request(uint8_t *fr)
{
    uint8_t data[32];
    for (int i = 0; i < 32; i++)
        data[i] = (uint8_t)('A' + i);
    return build_echo_request(fr, T_IP_PEER, T_IP_US, 0x1111, 7, data, sizeof(data));
}

/* An echo request whose IP header carries (ihl - 5) words of NOP options. */
static size_t echo_request_with_options(uint8_t *fr, unsigned ihl)
{
    size_t hl = ihl * 4;
    uint8_t *ip = fr + 14;
    size_t mlen = build_icmp(ip + hl, 8, 0, 0x22220001, "0123456789abcdef", 16);
    ip[0] = (uint8_t)(0x40 | ihl);
    ip[1] = 0;
    st16(ip + 2, (uint16_t)(hl + mlen));
    st16(ip + 4, 0x55);
    st16(ip + 6, 0);
    ip[8] = 64;
    ip[9] = 1;
    st16(ip + 10, 0);
    st32(ip + 12, T_IP_PEER);
    st32(ip + 16, T_IP_US);
    memset(ip + 20, 1, hl - 20); /* NOP */
    st16(ip + 10, ref_cksum(ip, hl));
    memcpy(fr, t_mac_us, 6);
    memcpy(fr + 6, t_mac_peer, 6);
    st16(fr + 12, 0x0800);
    return 14 + hl + mlen;
}

static size_t unknown_proto(uint8_t *fr)
{
    uint8_t ip[64];
    size_t n = build_ipv4(ip, T_IP_PEER, T_IP_US, 253, 9, 0, 64, "payload-payload!", 16);
    return build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, n);
}

/* Recomputes the IPv4 header checksum of a frame (IHL as it stands). */
static void fix_ip(uint8_t *fr)
{
    uint8_t *ip = fr + 14;
    size_t hl = (size_t)(ip[0] & 15) * 4;
    if (hl < 20)
        hl = 20;
    st16(ip + 10, 0);
    st16(ip + 10, ref_cksum(ip, hl));
}

/* Feeds fr[0..len) and checks it was dropped: nothing sent, some drop
 * counter moved. */
static void expect_dropped(struct fixture *f, const uint8_t *fr, size_t len)
{
    uint64_t d0 = drops(st(f));
    uint64_t tx0 = st(f)->eth.tx;
    fixture_input(f, fr, len);
    assert_int_equal(cap_count(f->cap), 0);
    assert_int_equal(st(f)->eth.tx, tx0);
    assert_true(drops(st(f)) > d0);
}

/* Feeds a full frame and checks it gets exactly one answer. */
static void expect_answered(struct fixture *f, const uint8_t *fr, size_t len)
{
    fixture_input(f, fr, len);
    assert_int_equal(cap_count(f->cap), 1);
    cap_clear(f->cap);
}

static void every_truncation(struct fixture *f, const uint8_t *fr, size_t n)
{
    for (size_t len = 0; len < n; len++)
        expect_dropped(f, fr, len);
}

/* ---- truncations ---- */

static void truncated_arp_request(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    uint8_t fr[FR_MAX];
    size_t n = arp_request_for_us(fr);
    assert_int_equal(n, 42);
    every_truncation(&f, fr, n);
    assert_int_equal(st(&f)->eth.drop_short, 14);
    assert_int_equal(st(&f)->arp.drop_malformed, 28);
    assert_int_equal(st(&f)->arp.tx_reply, 0);
    expect_answered(&f, fr, n); /* the whole frame is fine */
    fixture_fini(&f);
}

static void truncated_echo_request(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = echo_request(fr);
    assert_int_equal(n, 74);
    every_truncation(&f, fr, n);
    assert_int_equal(st(&f)->eth.drop_short, 14);
    assert_int_equal(st(&f)->ip.drop_short, 20);
    assert_int_equal(st(&f)->ip.drop_total_len, 74 - 34);
    assert_int_equal(st(&f)->icmp.tx_echo_reply, 0);
    expect_answered(&f, fr, n);
    fixture_fini(&f);
}

static void truncated_echo_request_with_options(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    for (unsigned ihl = 6; ihl <= 15; ihl++) {
        uint8_t fr[FR_MAX];
        size_t n = echo_request_with_options(fr, ihl);
        uint64_t hdr0 = st(&f)->ip.drop_hdr_len;
        every_truncation(&f, fr, n);
        /* Cuts inside the options are header-length errors. */
        assert_int_equal(st(&f)->ip.drop_hdr_len - hdr0, ihl * 4 - 20);
        uint64_t opt0 = st(&f)->ip.options_skipped;
        expect_answered(&f, fr, n);
        assert_int_equal(st(&f)->ip.options_skipped, opt0 + 1);
    }
    assert_int_equal(st(&f)->icmp.tx_echo_reply, 10);
    fixture_fini(&f);
}

static void truncated_unknown_protocol(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = unknown_proto(fr);
    every_truncation(&f, fr, n);
    assert_int_equal(st(&f)->icmp.tx_dest_unreach, 0);
    expect_answered(&f, fr, n);
    assert_int_equal(st(&f)->icmp.tx_dest_unreach, 1);
    fixture_fini(&f);
}

/* ---- lying length fields ---- */

static void ip_total_length_beyond_frame(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = echo_request(fr);
    const uint16_t lies[] = {61, 100, 1500, 65535};
    for (size_t i = 0; i < 4; i++) {
        n = echo_request(fr);
        st16(fr + 16, lies[i]);
        fix_ip(fr);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->ip.drop_total_len, 4);
    fixture_fini(&f);
}

static void ip_total_length_below_header(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    const uint16_t lies[] = {0, 1, 19};
    for (size_t i = 0; i < 3; i++) {
        size_t n = echo_request(fr);
        st16(fr + 16, lies[i]);
        fix_ip(fr);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->ip.drop_total_len, 3);
    fixture_fini(&f);
}

static void ip_total_length_shorter_than_data(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    /* The packet claims to end early: the ICMP message is cut, its checksum
     * no longer matches; with only the IP header left it is too short. */
    size_t n = echo_request(fr);
    st16(fr + 16, 20 + 8 + 16);
    fix_ip(fr);
    expect_dropped(&f, fr, n);
    assert_int_equal(st(&f)->icmp.drop_checksum, 1);
    n = echo_request(fr);
    st16(fr + 16, 20 + 4);
    fix_ip(fr);
    expect_dropped(&f, fr, n);
    n = echo_request(fr);
    st16(fr + 16, 20);
    fix_ip(fr);
    expect_dropped(&f, fr, n);
    assert_int_equal(st(&f)->icmp.drop_short, 2);
    fixture_fini(&f);
}

static void ihl_beyond_total_length(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    /* IHL 15 (60 bytes) but total length 40, with 74 bytes present. */
    size_t n = echo_request(fr);
    fr[14] = 0x4f;
    st16(fr + 16, 40);
    fix_ip(fr);
    expect_dropped(&f, fr, n);
    assert_int_equal(st(&f)->ip.drop_total_len, 1);
    /* IHL 15 with fewer than 60 bytes present at all. */
    n = echo_request(fr);
    fr[14] = 0x4f;
    fix_ip(fr);
    expect_dropped(&f, fr, 14 + 50);
    assert_int_equal(st(&f)->ip.drop_hdr_len, 1);
    /* IHL below 5. */
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        n = echo_request(fr);
        fr[14] = (uint8_t)(0x40 | ihl);
        fix_ip(fr);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->ip.drop_hdr_len, 6);
    fixture_fini(&f);
}

/* ---- checksums and versions ---- */

static void bad_ip_checksum(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    for (size_t i = 14 + 4; i < 14 + 20; i++) {
        size_t n = echo_request(fr);
        fr[i] ^= 0x01;
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->ip.drop_checksum, 16);
    fixture_fini(&f);
}

static void bad_icmp_checksum(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    size_t n = echo_request(fr);
    for (size_t i = 34; i < n; i++) {
        echo_request(fr);
        fr[i] ^= 0x80;
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->icmp.drop_checksum, n - 34);
    assert_int_equal(st(&f)->icmp.tx, 0);
    fixture_fini(&f);
}

static void wrong_ip_version(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    const uint8_t v[] = {0x65, 0x60, 0x05, 0x45 ^ 0x80, 0xf5};
    for (size_t i = 0; i < sizeof(v); i++) {
        size_t n = echo_request(fr);
        fr[14] = v[i];
        fix_ip(fr);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->ip.drop_version, 5);
    fixture_fini(&f);
}

/* ---- the link layer ---- */

static void vlan_tagged_frames(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    uint8_t arp[64], fr[FR_MAX];
    size_t an = arp_request_for_us(arp);
    const uint16_t tpids[] = {0x8100, 0x88a8};
    for (size_t i = 0; i < 2; i++) {
        /* dst, src, TPID, TCI (VLAN 5), then the real ethertype and body. */
        memcpy(fr, arp, 12);
        st16(fr + 12, tpids[i]);
        st16(fr + 14, 5);
        memcpy(fr + 16, arp + 12, an - 12);
        expect_dropped(&f, fr, an + 4);
    }
    /* Tagged IPv4 as well. */
    uint8_t eb[FR_MAX];
    size_t en = echo_request(eb);
    memcpy(fr, eb, 12);
    st16(fr + 12, 0x8100);
    st16(fr + 14, 0);
    memcpy(fr + 16, eb + 12, en - 12);
    expect_dropped(&f, fr, en + 4);
    assert_int_equal(st(&f)->eth.drop_vlan, 3);
    assert_int_equal(st(&f)->arp.rx, 0);
    fixture_fini(&f);
}

static void unknown_ethertypes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    uint8_t fr[FR_MAX];
    /* (0x86dd, IPv6, is spoken now: an ARP body under it is dropped as a
     * bad IPv6 header, see ipv6_bad_headers.) */
    const uint16_t types[] = {0x88cc, 0x8847, 0x0000, 0x05dc,
                              0x0801, 0x0807, 0xffff, 0x8035 /* RARP */};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        size_t n = arp_request_for_us(fr);
        st16(fr + 12, types[i]);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->eth.drop_unknown_type, sizeof(types) / sizeof(types[0]));
    fixture_fini(&f);
}

static void frames_not_for_our_mac(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t fr[FR_MAX];
    const uint8_t dsts[][6] = {
        {0x02, 0x00, 0x00, 0x00, 0x00, 0x99},
        {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}, /* IPv4 multicast */
        {0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, /* IPv6 multicast */
        {0x03, 0x00, 0x00, 0x00, 0x00, 0x02}, /* ours with the group bit */
        {0x02, 0x00, 0x00, 0x00, 0x00, 0x03},
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xfe},
    };
    for (size_t i = 0; i < sizeof(dsts) / sizeof(dsts[0]); i++) {
        size_t n = echo_request(fr);
        memcpy(fr, dsts[i], 6);
        expect_dropped(&f, fr, n);
        n = arp_request_for_us(fr);
        memcpy(fr, dsts[i], 6);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->eth.drop_not_for_us, 12);
    fixture_fini(&f);
}

static void odd_arp_sizes(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    uint8_t fr[FR_MAX];
    /* hln 8, with a body long enough for 8-byte addresses. */
    size_t n = arp_request_for_us(fr);
    fr[18] = 8;
    memset(fr + n, 0, 8);
    expect_dropped(&f, fr, n + 8);
    /* pln 16 (IPv6-sized protocol addresses). */
    n = arp_request_for_us(fr);
    fr[19] = 16;
    memset(fr + n, 0, 24);
    expect_dropped(&f, fr, n + 24);
    /* hln 0 and pln 0. */
    n = arp_request_for_us(fr);
    fr[18] = 0;
    fr[19] = 0;
    expect_dropped(&f, fr, n);
    assert_int_equal(st(&f)->arp.drop_unsupported, 3);
    /* 27 bytes of ARP: one short. */
    n = arp_request_for_us(fr);
    expect_dropped(&f, fr, 14 + 27);
    assert_int_equal(st(&f)->arp.drop_malformed, 1);
    /* Unknown hardware/protocol types and opcodes. */
    n = arp_request_for_us(fr);
    st16(fr + 14, 6);
    expect_dropped(&f, fr, n);
    n = arp_request_for_us(fr);
    st16(fr + 16, 0x86dd);
    expect_dropped(&f, fr, n);
    const uint16_t ops[] = {0, 3, 4, 8, 9, 0xffff};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        n = arp_request_for_us(fr);
        st16(fr + 20, ops[i]);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->arp.drop_unsupported, 3 + 2 + 6);
    assert_int_equal(st(&f)->arp.cache_add, 0);
    fixture_fini(&f);
}

/* ---- impossible sources ---- */

static void martian_sources(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    const ust_ip4_t srcs[] = {
        0,                           /* this host, unknown */
        0xffffffffu,                 /* limited broadcast */
        UST_IP4(224, 0, 0, 1),       /* multicast */
        UST_IP4(239, 255, 255, 250), /* multicast */
        UST_IP4(240, 0, 0, 1),       /* reserved class E */
        UST_IP4(127, 0, 0, 1),       /* loopback, on an Ethernet link */
        UST_IP4(127, 9, 9, 9),
        UST_IP4(192, 0, 2, 255), /* our subnet's broadcast */
        UST_IP4(192, 0, 2, 0),   /* the old-style subnet broadcast */
        T_IP_US,                 /* ourselves, spoofed (a "land" packet) */
    };
    uint8_t fr[FR_MAX];
    for (size_t i = 0; i < sizeof(srcs) / sizeof(srcs[0]); i++) {
        size_t n = build_echo_request(fr, srcs[i], T_IP_US, 1, (uint16_t)i, "x", 1);
        expect_dropped(&f, fr, n);
        uint8_t ip[64];
        n = build_ipv4(ip, srcs[i], T_IP_US, 253, 1, 0, 64, "12345678", 8);
        n = build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, n);
        expect_dropped(&f, fr, n);
    }
    assert_int_equal(st(&f)->ip.drop_bad_src, 2 * sizeof(srcs) / sizeof(srcs[0]));
    assert_int_equal(st(&f)->icmp.tx, 0);
    /* Nothing waits for ARP either. */
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

/* ---- Ethernet padding ---- */

static void padded_echo_request_answered(void **state)
{
    (void)state;
    const uint8_t pads[] = {0x00, 0xa5};
    for (size_t k = 0; k < 2; k++) {
        struct fixture f;
        fixture_init(&f, NULL);
        fixture_learn_peer(&f);
        uint8_t fr[FR_MAX], out[FR_MAX];
        size_t n = build_echo_request(fr, T_IP_PEER, T_IP_US, 0x0a0b, 3, "pad!", 4);
        assert_int_equal(n, 46);
        memset(fr + n, pads[k], 60 - n);
        fixture_input(&f, fr, 60);
        assert_int_equal(cap_count(f.cap), 1);
        size_t m = cap_pop(f.cap, out, sizeof(out));
        assert_int_equal(m, 60);
        assert_int_equal(ld16(out + 16), 32); /* 20 + 8 + 4, not 46 */
        assert_int_equal(ref_cksum(out + 14, 20), 0);
        assert_int_equal(out[34], 0);
        assert_int_equal(ref_cksum(out + 34, 12), 0);
        assert_memory_equal(out + 42, "pad!", 4);
        for (size_t i = 46; i < 60; i++)
            assert_int_equal(out[i], 0);
        /* Much more trailing junk than padding needs: still the same. */
        memset(fr + 46, 0x5a, 200);
        fixture_input(&f, fr, 246);
        m = cap_pop(f.cap, out, sizeof(out));
        assert_int_equal(m, 60);
        assert_int_equal(ld16(out + 16), 32);
        assert_int_equal(ref_cksum(out + 34, 12), 0);
        fixture_fini(&f);
    }
}

static void padded_arp_request_answered(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    uint8_t fr[FR_MAX];
    size_t n = arp_request_for_us(fr);
    memset(fr + n, 0xff, 60 - n);
    expect_answered(&f, fr, 60);
    fixture_fini(&f);
}

/* ---- random input ---- */

struct prng {
    uint64_t x;
};

static uint64_t prng_next(struct prng *r)
{
    /* xorshift64* */
    r->x ^= r->x >> 12;
    r->x ^= r->x << 25;
    r->x ^= r->x >> 27;
    return r->x * 0x2545f4914f6cdd1dULL;
}

static uint32_t prng_below(struct prng *r, uint32_t n) { return (uint32_t)(prng_next(r) % n); }

static void prng_fill(struct prng *r, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(prng_next(r) >> 56);
}

/* Checks a frame the stack sent is something it may send: from our MAC,
 * ARP from our address, or IPv4 from our address with a valid checksum to
 * a unicast host, carrying an echo reply or an error that is not about an
 * error. */
static void check_sane_output(const uint8_t *fr, size_t n)
{
    assert_true(n >= 60);
    assert_memory_equal(fr + 6, t_mac_us, 6);
    uint16_t type = ld16(fr + 12);
    if (type == 0x0806) {
        assert_int_equal(ld16(fr + 14), 1);
        assert_int_equal(ld16(fr + 16), 0x0800);
        uint16_t op = ld16(fr + 20);
        assert_true(op == 1 || op == 2);
        assert_memory_equal(fr + 22, t_mac_us, 6);
        assert_int_equal(ld32(fr + 28), T_IP_US);
        if (op == 2)
            assert_false(fr[32] & 1); /* a reply goes to one host */
        return;
    }
    assert_int_equal(type, 0x0800);
    assert_false(fr[0] & 1); /* never a link broadcast/multicast */
    const uint8_t *ip = fr + 14;
    assert_int_equal(ip[0], 0x45);
    size_t tl = ld16(ip + 2);
    assert_true(tl >= 28 && 14 + tl <= n);
    assert_int_equal(ref_cksum(ip, 20), 0);
    assert_int_equal(ld32(ip + 12), T_IP_US);
    ust_ip4_t dst = ld32(ip + 16);
    assert_true(dst != 0 && dst != 0xffffffffu && (dst >> 28) < 0xe && (dst >> 24) != 127);
    assert_true(dst != UST_IP4(192, 0, 2, 255) && dst != UST_IP4(192, 0, 2, 0));
    assert_true(dst != T_IP_US);
    assert_int_equal(ip[9], 1);
    const uint8_t *m = ip + 20;
    assert_int_equal(ref_cksum(m, tl - 20), 0);
    /* Echo replies, destination unreachable, and time exceeded for
     * reassembly timeouts. */
    assert_true(m[0] == 0 || m[0] == 3 || m[0] == 11);
    if (m[0] == 3 || m[0] == 11) {
        assert_true(tl >= 20 + 8 + 20);
        const uint8_t *q = m + 8; /* the quoted header */
        size_t qhl = (size_t)(q[0] & 15) * 4;
        if (q[9] == 1 && tl >= 20 + 8 + qhl + 1) {
            uint8_t qt = q[qhl];
            assert_false(qt == 3 || qt == 4 || qt == 5 || qt == 11 || qt == 12);
        }
    }
}

static void drain_and_check(struct fixture *f)
{
    uint8_t out[FR_MAX];
    while (cap_count(f->cap)) {
        size_t n = cap_pop(f->cap, out, sizeof(out));
        assert_true(n <= sizeof(out));
        check_sane_output(out, n);
    }
}

/* One random mutation of a frame in place; returns the new length. */
static size_t mutate(struct prng *r, uint8_t *fr, size_t n)
{
    switch (prng_below(r, 9)) {
    case 0: /* flip a bit */
        if (n)
            fr[prng_below(r, (uint32_t)n)] ^= (uint8_t)(1u << prng_below(r, 8));
        break;
    case 1: /* random byte */
        if (n)
            fr[prng_below(r, (uint32_t)n)] = (uint8_t)prng_next(r);
        break;
    case 2: /* truncate */ n = n ? prng_below(r, (uint32_t)n + 1) : 0; break;
    case 3: { /* append junk */
        size_t k = prng_below(r, 64);
        if (n + k > 1600)
            k = 1600 - n;
        prng_fill(r, fr + n, k);
        n += k;
        break;
    }
    case 4: /* IHL */
        if (n > 14)
            fr[14] = (uint8_t)((fr[14] & 0xf0) | prng_below(r, 16));
        break;
    case 5: /* IP total length */
        if (n > 17)
            st16(fr + 16, (uint16_t)prng_next(r));
        break;
    case 6: /* IP source or destination */
        if (n >= 34)
            st32(fr + 26 + 4 * prng_below(r, 2), prng_below(r, 2)
                                                     ? (uint32_t)prng_next(r)
                                                     : UST_IP4(192, 0, 2, prng_below(r, 256)));
        break;
    case 7: /* IP protocol / fragment field */
        if (n >= 34) {
            if (prng_below(r, 2))
                fr[23] = (uint8_t)prng_next(r);
            else
                st16(fr + 20, (uint16_t)prng_next(r));
        }
        break;
    default: /* ARP field sizes / opcode */
        if (n >= 22)
            fr[18 + prng_below(r, 4)] = (uint8_t)prng_below(r, 20);
        break;
    }
    /* Often keep the IP header checksum right, to reach the layers above. */
    if (n >= 34 && ld16(fr + 12) == 0x0800 && prng_below(r, 3)) {
        size_t hl = (size_t)(fr[14] & 15) * 4;
        if (hl >= 20 && 14 + hl <= n)
            fix_ip(fr);
    }
    return n;
}

static size_t template_frame(struct prng *r, uint8_t *fr, uint16_t ping_id)
{
    switch (prng_below(r, 8)) {
    case 0: return arp_request_for_us(fr);
    case 1: return echo_request(fr);
    case 2: return echo_request_with_options(fr, 5 + prng_below(r, 11));
    case 3: return unknown_proto(fr);
    case 4: { /* an ARP reply from some on-link host */
        uint8_t mac[6] = {0x02, 0, 0, 0, 0, (uint8_t)prng_next(r)};
        return build_arp(fr, 2, t_mac_us, mac, UST_IP4(192, 0, 2, prng_below(r, 256)), t_mac_us,
                         T_IP_US);
    }
    case 5: { /* an echo reply for the open endpoint */
        uint8_t m[64], ip[96];
        size_t n = build_icmp(m, 0, 0, (uint32_t)ping_id << 16 | prng_below(r, 65536), "data", 4);
        n = build_ipv4(ip, T_IP_PEER, T_IP_US, 1, 3, 0, 64, m, n);
        return build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, n);
    }
    case 6: { /* an ICMP error about something we sent */
        uint8_t q[28], m[64], ip[96];
        build_ipv4(q, T_IP_US, T_IP_PEER, 17, 1, 0, 64, "\0\0\0\0\0\0\0\0", 8);
        size_t n = build_icmp(m, 3, (uint8_t)prng_below(r, 16), 0, q, 28);
        n = build_ipv4(ip, T_IP_PEER, T_IP_US, 1, 3, 0, 64, m, n);
        return build_eth(fr, t_mac_us, t_mac_peer, 0x0800, ip, n);
    }
    default: { /* echo request from a random on-link host (needs ARP) */
        uint8_t data[16];
        prng_fill(r, data, sizeof(data));
        return build_echo_request(fr, UST_IP4(192, 0, 2, 3 + prng_below(r, 200)), T_IP_US,
                                  (uint16_t)prng_next(r), 1, data, prng_below(r, 17));
    }
    }
}

static void random_frames(struct fixture *f, struct prng *r, int count)
{
    uint8_t fr[FR_MAX];
    int h = ust_ping_open(f->s, 0x4444);
    assert_true(h >= 0);
    for (int i = 0; i < count; i++) {
        size_t n;
        uint32_t mode = prng_below(r, 10);
        if (mode < 4) {
            /* Pure garbage. */
            n = prng_below(r, 1601);
            prng_fill(r, fr, n);
        } else if (mode < 6) {
            /* Garbage behind a header that gets it past the link layer. */
            n = prng_below(r, 1601);
            prng_fill(r, fr, n);
            if (n >= 14) {
                memcpy(fr, prng_below(r, 2) ? t_mac_us : mac_bcast, 6);
                st16(fr + 12, prng_below(r, 2) ? 0x0800 : 0x0806);
            }
            if (n >= 15 && ld16(fr + 12) == 0x0800 && prng_below(r, 2))
                fr[14] = (uint8_t)(0x45 + prng_below(r, 11));
        } else {
            /* A valid frame, mutated a few times. */
            n = template_frame(r, fr, 0x4444);
            unsigned k = 1 + prng_below(r, 4);
            for (unsigned j = 0; j < k; j++)
                n = mutate(r, fr, n);
        }
        ust_stack_input(f->s, f->dev, fr, n, f->now);
        if (prng_below(r, 50) == 0) {
            f->now += prng_below(r, 300) * UST_MS;
            ust_stack_poll(f->s, f->now);
        }
        if (prng_below(r, 20) == 0) {
            struct ust_ping_reply rep;
            uint8_t buf[16];
            while (ust_ping_recv(f->s, h, &rep, buf, sizeof(buf)) == 0)
                ;
        }
        drain_and_check(f);
    }
    assert_int_equal(ust_ping_close(f->s, h), 0);
}

static void random_garbage_frames(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    struct prng r = {0x0123456789abcdefULL};
    random_frames(&f, &r, 100000);
    const struct ust_stats *s = st(&f);
    /* The input reached every layer (the mix is meant to). */
    assert_true(s->eth.rx >= 100000);
    assert_true(s->arp.rx > 0 && s->ip.rx > 0 && s->icmp.rx > 0);
    assert_true(s->icmp.tx_echo_reply > 0);
    assert_true(drops(s) > 0);
    /* Past every ARP give-up and expiry: nothing left anywhere. */
    fixture_advance_to(&f, f.now + 10 * UST_MIN_GIVEUP);
    drain_and_check(&f);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_advance_to(&f, f.now + 120 * UST_SEC);
    drain_and_check(&f);
    assert_int_equal(st(&f)->pkb.live, 0);
    assert_int_equal(ust_stack_next_deadline(f.s), UST_TIME_NEVER);
    fixture_fini(&f);
}

struct log_count {
    unsigned long lines;
};

static void count_log(void *ctx, enum ust_log_level level, const char *func, const char *file,
                      int line, const char *msg)
{
    (void)level;
    (void)func;
    (void)file;
    (void)line;
    struct log_count *c = ctx;
    if (msg[0])
        c->lines++;
}

static void random_frames_with_tracing(void **state)
{
    (void)state;
    /* The same mix at trace level, so the frame dumps and every log line's
     * formatting see the garbage too. */
    struct log_count lc = {0};
    struct ust_config cfg;
    test_config(&cfg, 99);
    cfg.log_level = UST_LOG_TRACE;
    cfg.log_fn = count_log;
    cfg.log_ctx = &lc;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    struct prng r = {0xfeedfacecafebeefULL};
    random_frames(&f, &r, 20000);
    assert_true(lc.lines > 20000);
    fixture_advance_to(&f, f.now + 10 * UST_MIN_GIVEUP);
    drain_and_check(&f);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void random_frames_small_arp_cache(void **state)
{
    (void)state;
    /* A tiny cache and queue: eviction under pressure, with packets queued. */
    struct ust_config cfg;
    test_config(&cfg, 5);
    cfg.arp_cache_size = 3;
    cfg.arp_pending_max = 2;
    struct fixture f;
    fixture_init(&f, &cfg);
    struct prng r = {42};
    random_frames(&f, &r, 30000);
    assert_true(st(&f)->arp.cache_evict > 0);
    fixture_advance_to(&f, f.now + 10 * UST_MIN_GIVEUP);
    drain_and_check(&f);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(truncated_arp_request),
        cmocka_unit_test(truncated_echo_request),
        cmocka_unit_test(truncated_echo_request_with_options),
        cmocka_unit_test(truncated_unknown_protocol),
        cmocka_unit_test(ip_total_length_beyond_frame),
        cmocka_unit_test(ip_total_length_below_header),
        cmocka_unit_test(ip_total_length_shorter_than_data),
        cmocka_unit_test(ihl_beyond_total_length),
        cmocka_unit_test(bad_ip_checksum),
        cmocka_unit_test(bad_icmp_checksum),
        cmocka_unit_test(wrong_ip_version),
        cmocka_unit_test(vlan_tagged_frames),
        cmocka_unit_test(unknown_ethertypes),
        cmocka_unit_test(frames_not_for_our_mac),
        cmocka_unit_test(odd_arp_sizes),
        cmocka_unit_test(martian_sources),
        cmocka_unit_test(padded_echo_request_answered),
        cmocka_unit_test(padded_arp_request_answered),
        cmocka_unit_test(random_garbage_frames),
        cmocka_unit_test(random_frames_with_tracing),
        cmocka_unit_test(random_frames_small_arp_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
