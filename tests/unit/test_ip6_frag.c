/* IPv6 reassembly and source fragmentation (src/net/ip6_frag.c on the
 * queue of src/net/frag_queue.c), sans-I/O with a virtual clock: the
 * kernel's fragments (v6_vectors.h) in every order, round trips through
 * the fragmenter, atomic fragments (RFC 6946), overlaps (RFC 5722), the
 * Parameter Problems of RFC 8200 4.5 and RFC 7112, the time-out and its
 * Time Exceeded, and the memory, per-source and per-datagram bounds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/ip6_frag.h"
#include "v6_vectors.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

#define SEC UST_SEC
static const uint8_t hkey[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static uint32_t lcg(uint32_t *st)
{
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

static void init(struct ip6_reasm *r, size_t mem, unsigned per_src)
{
    struct fq_cfg cfg = {mem, per_src, 0, 0};
    ip6_reasm_init(r, &cfg, hkey);
}

/* Feeds one packet; asserts it is a fragment. */
static enum ip6_reasm_result feed(struct ip6_reasm *r, ust_time_t now, const uint8_t *pkt,
                                  size_t len, struct ip6_reasm_out *out)
{
    struct ipv6_repr ip;
    struct ipv6_ext e;
    assert_int_equal(ipv6_parse(pkt, len, &ip), WIRE_OK);
    assert_int_equal(ipv6_ext_walk(pkt, &ip, &e), IPV6_EXT_FRAGMENT);
    uint8_t *copy = malloc(len); /* exactly the packet: ASan sees overreads */
    memcpy(copy, pkt, len);
    enum ip6_reasm_result res = ip6_reasm_input(r, now, 3, false, copy, &ip, &e, out);
    free(copy);
    return res;
}

/* A packet from src to 2001:db8::2: hop-by-hop (8 bytes) when hbh, then
 * UDP with n pattern bytes, checksummed. Returns its length. */
static size_t make_udp(uint8_t *p, const char *src, size_t n, bool hbh, uint32_t seed)
{
    struct ipv6_repr ip = {0};
    assert_int_equal(ipv6_addr_parse(src, &ip.src), 0);
    assert_int_equal(ipv6_addr_parse("2001:db8::2", &ip.dst), 0);
    ip.hop_limit = 64;
    size_t off = IPV6_HDR_LEN;
    if (hbh) {
        const uint8_t h[8] = {IPV6_NH_UDP, 0, IPV6_OPT_PADN, 4, 0, 0, 0, 0};
        memcpy(p + off, h, 8);
        off += 8;
    }
    ip.next_hdr = hbh ? IPV6_NH_HOPOPTS : IPV6_NH_UDP;
    ip.payload_len = (uint16_t)(off - IPV6_HDR_LEN + 8 + n);
    uint8_t *u = p + off;
    st16(u, 5000);
    st16(u + 2, 7);
    st16(u + 4, (uint16_t)(8 + n));
    st16(u + 6, 0);
    for (size_t i = 0; i < n; i++)
        u[8 + i] = (uint8_t)lcg(&seed);
    st16(u + 6, cksum6(ip.src.a, ip.dst.a, IPV6_NH_UDP, u, 8 + n));
    ipv6_emit(&ip, p);
    return off + 8 + n;
}

/* Cuts pkt into fragments (at most 128) for mtu. */
static size_t fragment(const uint8_t *pkt, size_t len, size_t mtu, uint32_t id, uint8_t **frags,
                       size_t *lens)
{
    struct ip6_frag_iter it;
    assert_int_equal(ip6_frag_start(&it, pkt, len, mtu, id), 0);
    size_t n = 0;
    for (;;) {
        uint8_t *f = malloc(mtu);
        size_t l = ip6_frag_next(&it, f, mtu);
        if (l == 0) {
            free(f);
            break;
        }
        assert_true(l <= mtu);
        assert_true(n < 128);
        frags[n] = f;
        lens[n++] = l;
    }
    return n;
}

static void free_frags(uint8_t **frags, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(frags[i]);
}

/* ---------------- the kernel's fragments ---------------- */

static void kernel_fragments_every_order(void **state)
{
    (void)state;
    const uint8_t *f[3] = {k_frag0, k_frag1, k_frag2};
    const size_t l[3] = {sizeof(k_frag0), sizeof(k_frag1), sizeof(k_frag2)};
    const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    for (int o = 0; o < 6; o++) {
        struct ip6_reasm r;
        init(&r, 1 << 20, 0);
        struct ip6_reasm_out out;
        for (int i = 0; i < 2; i++) {
            assert_int_equal(feed(&r, 0, f[orders[o][i]], l[orders[o][i]], &out), IP6_REASM_NONE);
            assert_int_equal(ip6_reasm_count(&r), 1);
        }
        assert_int_equal(feed(&r, 0, f[orders[o][2]], l[orders[o][2]], &out), IP6_REASM_DONE);
        assert_int_equal(ip6_reasm_count(&r), 0);
        assert_int_equal(ip6_reasm_memory(&r), 0);
        assert_int_equal(r.stats.reasm_ok, 1);
        assert_int_equal(out.dev, 3);
        /* The whole packet: 40 + 8 + 3000, next header ICMPv6, and its
         * checksum (over all 3008 bytes) right. */
        assert_int_equal(out.len, 40 + 3008);
        struct ipv6_repr ip;
        assert_int_equal(ipv6_parse(out.pkt, out.len, &ip), WIRE_OK);
        assert_int_equal(ip.next_hdr, IPV6_NH_ICMPV6);
        assert_int_equal(ip.payload_len, 3008);
        assert_memory_equal(out.pkt + 8, k_frag0 + 8, 32);
        struct icmpv6_repr ic;
        assert_int_equal(icmpv6_parse(out.pkt + 40, 3008, &ip.src, &ip.dst, &ic), WIRE_OK);
        assert_int_equal(ic.type, ICMPV6_ECHO_REQUEST);
        assert_int_equal(ic.rest >> 16, 4891);
        free(out.pkt);
        ip6_reasm_fini(&r);
    }
}

/* ---------------- fragmenter and reassembly together ---------------- */

static void round_trips_shuffled_with_duplicates(void **state)
{
    (void)state;
    static uint8_t pkt[70000];
    const size_t sizes[] = {1, 1232, 1233, 3000, 8000, 65000};
    const size_t mtus[] = {1280, 1500, 1321, 9000};
    uint32_t seed = 42;
    for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++)
        for (size_t mi = 0; mi < sizeof(mtus) / sizeof(mtus[0]); mi++)
            for (int hbh = 0; hbh < 2; hbh++) {
                size_t len = make_udp(pkt, "2001:db8::1", sizes[si], hbh, (uint32_t)si);
                if (len - 40 > IPV6_MAX_PAYLOAD - 16)
                    continue;
                uint8_t *frags[128];
                size_t lens[128];
                size_t n = fragment(pkt, len, mtus[mi], 0x1000 + (uint32_t)si, frags, lens);
                assert_true(n >= 1);
                /* Each but the last carries a multiple of 8; the
                 * per-fragment headers are the original's. */
                size_t unfrag = hbh ? 48 : 40;
                for (size_t i = 0; i < n; i++) {
                    struct ipv6_repr ip;
                    struct ipv6_ext e;
                    assert_int_equal(ipv6_parse(frags[i], lens[i], &ip), WIRE_OK);
                    assert_int_equal(ipv6_ext_walk(frags[i], &ip, &e), IPV6_EXT_FRAGMENT);
                    assert_int_equal(e.frag.hdr_off, unfrag);
                    assert_int_equal(e.frag.more, i + 1 < n);
                    if (i + 1 < n)
                        assert_int_equal((lens[i] - unfrag - 8) % 8, 0);
                    assert_memory_equal(frags[i] + 8, pkt + 8, 32);
                }
                /* Shuffled, every fragment twice. */
                size_t order[256];
                for (size_t i = 0; i < 2 * n; i++)
                    order[i] = i % n;
                for (size_t i = 2 * n - 1; i > 0; i--) {
                    size_t j = lcg(&seed) % (i + 1);
                    size_t t = order[i];
                    order[i] = order[j];
                    order[j] = t;
                }
                struct ip6_reasm r;
                init(&r, 4 << 20, 0);
                struct ip6_reasm_out out;
                bool done = false;
                for (size_t i = 0; i < 2 * n; i++) {
                    enum ip6_reasm_result res = feed(&r, (ust_time_t)i, frags[order[i]],
                                                     lens[order[i]], &out);
                    if (n == 1) {
                        /* one fragment: atomic, every time */
                        assert_int_equal(res, IP6_REASM_DONE);
                    } else if (res == IP6_REASM_DONE) {
                        /* Duplicates after the completion may make the
                         * datagram again: each time whole and right. */
                        done = true;
                    } else {
                        assert_int_equal(res, IP6_REASM_NONE);
                        continue;
                    }
                    assert_int_equal(out.len, len);
                    assert_memory_equal(out.pkt, pkt, len);
                    free(out.pkt);
                }
                assert_true(done || n == 1);
                /* What came after the last completion is still held: fini
                 * frees it. */
                ip6_reasm_fini(&r);
                free_frags(frags, n);
            }
}

/* ---------------- atomic fragments ---------------- */

static void atomic_fragments_alone(void **state)
{
    (void)state;
    uint8_t pkt[3100];
    size_t len = make_udp(pkt, "2001:db8::1", 3000, false, 7);
    uint8_t *frags[128];
    size_t lens[128];
    size_t n = fragment(pkt, len, 1280, 77, frags, lens);
    assert_int_equal(n, 3);
    struct ip6_reasm r;
    init(&r, 1 << 20, 0);
    struct ip6_reasm_out out;
    assert_int_equal(feed(&r, 0, frags[0], lens[0], &out), IP6_REASM_NONE);
    size_t mem = ip6_reasm_memory(&r);
    /* An atomic fragment with the same key: handed up at once, the
     * partial datagram untouched. */
    uint8_t small[200];
    size_t slen = make_udp(small, "2001:db8::1", 100, false, 8);
    uint8_t *af[2];
    size_t al[2];
    assert_int_equal(fragment(small, slen, 1280, 77, af, al), 1);
    struct ipv6_repr ip;
    struct ipv6_ext e;
    assert_int_equal(ipv6_parse(af[0], al[0], &ip), WIRE_OK);
    assert_int_equal(ipv6_ext_walk(af[0], &ip, &e), IPV6_EXT_FRAGMENT);
    assert_int_equal(e.frag.offset, 0);
    assert_false(e.frag.more);
    assert_int_equal(feed(&r, 1, af[0], al[0], &out), IP6_REASM_DONE);
    assert_int_equal(out.len, slen);
    assert_memory_equal(out.pkt, small, slen);
    free(out.pkt);
    assert_int_equal(r.stats.atomic, 1);
    assert_int_equal(ip6_reasm_count(&r), 1);
    assert_int_equal(ip6_reasm_memory(&r), mem);
    /* ... which still completes. */
    assert_int_equal(feed(&r, 2, frags[2], lens[2], &out), IP6_REASM_NONE);
    assert_int_equal(feed(&r, 3, frags[1], lens[1], &out), IP6_REASM_DONE);
    assert_memory_equal(out.pkt, pkt, len);
    free(out.pkt);
    /* An empty atomic fragment (nothing follows its header) too. */
    uint8_t empty[48];
    memcpy(empty, af[0], 48);
    st16(empty + 4, 8);
    empty[40] = IPV6_NH_NONE;
    assert_int_equal(feed(&r, 4, empty, 48, &out), IP6_REASM_DONE);
    assert_int_equal(out.len, 40);
    assert_int_equal(out.pkt[6], IPV6_NH_NONE);
    free(out.pkt);
    free_frags(af, 1);
    free_frags(frags, n);
    ip6_reasm_fini(&r);
}

/* ---------------- parameter problems ---------------- */

/* A fragment from 2001:db8::1 (hop-by-hop first when hbh): offset off, M
 * more, id, and dlen bytes of data whose first bytes are data0 (may be
 * NULL). Returns its length. */
static size_t make_frag(uint8_t *p, bool hbh, uint32_t off, bool more, uint32_t id, size_t dlen,
                        uint8_t nh, const uint8_t *data0, size_t d0len)
{
    struct ipv6_repr ip = {0};
    assert_int_equal(ipv6_addr_parse("2001:db8::1", &ip.src), 0);
    assert_int_equal(ipv6_addr_parse("2001:db8::2", &ip.dst), 0);
    ip.hop_limit = 64;
    size_t at = IPV6_HDR_LEN;
    if (hbh) {
        const uint8_t h[8] = {IPV6_NH_FRAGMENT, 0, IPV6_OPT_PADN, 4, 0, 0, 0, 0};
        memcpy(p + at, h, 8);
        at += 8;
    }
    ip.next_hdr = hbh ? IPV6_NH_HOPOPTS : IPV6_NH_FRAGMENT;
    p[at] = nh;
    p[at + 1] = 0;
    st16(p + at + 2, (uint16_t)(off | (more ? 1 : 0)));
    st32(p + at + 4, id);
    at += 8;
    memset(p + at, 0xab, dlen);
    if (data0)
        memcpy(p + at, data0, d0len);
    ip.payload_len = (uint16_t)(at - IPV6_HDR_LEN + dlen);
    ipv6_emit(&ip, p);
    return at + dlen;
}

static void parameter_problems(void **state)
{
    (void)state;
    static uint8_t p[70000];
    struct ip6_reasm r;
    init(&r, 1 << 20, 0);
    struct ip6_reasm_out out;
    /* Not the last, and not a multiple of 8: code 0 at the payload
     * length, for every such length. */
    for (size_t d = 1; d < 24; d++) {
        if (d % 8 == 0)
            continue;
        size_t len = make_frag(p, false, 8, true, 1, d, IPV6_NH_UDP, NULL, 0);
        assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_PARAM_PROBLEM);
        assert_int_equal(out.code, ICMPV6_PP_HEADER);
        assert_int_equal(out.pointer, 4);
    }
    /* The last may be any length. */
    size_t len = make_frag(p, false, 8, false, 1, 5, IPV6_NH_UDP, NULL, 0);
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_NONE);
    assert_int_equal(r.stats.bad_len, 21);
    /* Ending past 65,535: code 0 at the fragment offset field (42, or
     * 50 behind a hop-by-hop header, which counts in the payload). */
    len = make_frag(p, false, 65520, true, 2, 8, IPV6_NH_UDP, NULL, 0);
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_NONE);
    len = make_frag(p, false, 65528, false, 2, 7, IPV6_NH_UDP, NULL, 0); /* ends at 65,535 */
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_NONE);
    assert_int_equal(r.stats.too_big, 0);
    len = make_frag(p, false, 65528, false, 3, 8, IPV6_NH_UDP, NULL, 0); /* 65,536 */
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_PARAM_PROBLEM);
    assert_int_equal(out.code, ICMPV6_PP_HEADER);
    assert_int_equal(out.pointer, 42);
    len = make_frag(p, true, 65520, false, 4, 8, IPV6_NH_UDP, NULL, 0); /* 8 + 65,528 */
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_PARAM_PROBLEM);
    assert_int_equal(out.pointer, 50);
    assert_int_equal(r.stats.too_big, 2);
    /* A first fragment without the whole chain: code 3, pointer 0. A
     * destination options header of 16 bytes in an 8-byte fragment; TCP
     * with 16 bytes of its header. */
    const uint8_t dst16[2] = {IPV6_NH_UDP, 1};
    len = make_frag(p, false, 0, true, 5, 8, IPV6_NH_DSTOPTS, dst16, 2);
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_PARAM_PROBLEM);
    assert_int_equal(out.code, ICMPV6_PP_FIRST_FRAG);
    assert_int_equal(out.pointer, 0);
    len = make_frag(p, false, 0, true, 6, 16, IPV6_NH_TCP, NULL, 0);
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_PARAM_PROBLEM);
    assert_int_equal(out.code, ICMPV6_PP_FIRST_FRAG);
    assert_int_equal(r.stats.first_incomplete, 2);
    /* Not the last, and empty: dropped, no error. */
    len = make_frag(p, false, 16, true, 7, 0, IPV6_NH_UDP, NULL, 0);
    assert_int_equal(feed(&r, 0, p, len, &out), IP6_REASM_NONE);
    assert_int_equal(r.stats.empty, 1);
    ip6_reasm_fini(&r);
}

/* ---------------- overlaps and duplicates ---------------- */

static void overlaps_drop_the_datagram(void **state)
{
    (void)state;
    uint8_t p[2][200];
    size_t l[2];
    struct ip6_reasm_out out;
    /* pairs: (off, len, more) each; all overlap or contradict */
    static const struct {
        uint32_t o1, l1;
        bool m1;
        uint32_t o2, l2;
        bool m2;
    } cases[] = {
        {0, 16, true, 8, 16, true},    /* second starts inside the first */
        {8, 16, true, 0, 16, true},    /* second ends inside the first */
        {8, 8, true, 0, 32, true},     /* second covers the first */
        {0, 32, true, 8, 8, true},     /* second inside the first */
        {16, 8, false, 16, 16, false}, /* two different ends */
        {16, 8, false, 24, 8, true},   /* data past the end */
        {32, 8, true, 8, 16, false},   /* an end before data held */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct ip6_reasm r;
        init(&r, 1 << 20, 0);
        l[0] = make_frag(p[0], false, cases[c].o1, cases[c].m1, 9, cases[c].l1, IPV6_NH_UDP, NULL,
                         0);
        l[1] = make_frag(p[1], false, cases[c].o2, cases[c].m2, 9, cases[c].l2, IPV6_NH_UDP, NULL,
                         0);
        assert_int_equal(feed(&r, 0, p[0], l[0], &out), IP6_REASM_NONE);
        assert_int_equal(ip6_reasm_count(&r), 1);
        assert_int_equal(feed(&r, 0, p[1], l[1], &out), IP6_REASM_NONE);
        assert_int_equal(r.stats.overlap, 1);
        assert_int_equal(ip6_reasm_count(&r), 0); /* RFC 5722: all of it */
        assert_int_equal(ip6_reasm_memory(&r), 0);
        ip6_reasm_fini(&r);
    }
    /* An exact duplicate is harmless. */
    struct ip6_reasm r;
    init(&r, 1 << 20, 0);
    l[0] = make_frag(p[0], false, 0, true, 10, 16, IPV6_NH_UDP, NULL, 0);
    l[1] = make_frag(p[1], false, 16, false, 10, 3, IPV6_NH_UDP, NULL, 0);
    assert_int_equal(feed(&r, 0, p[0], l[0], &out), IP6_REASM_NONE);
    assert_int_equal(feed(&r, 0, p[0], l[0], &out), IP6_REASM_NONE);
    assert_int_equal(r.stats.duplicate, 1);
    assert_int_equal(feed(&r, 0, p[1], l[1], &out), IP6_REASM_DONE);
    assert_int_equal(out.len, 40 + 19);
    free(out.pkt);
    /* Different identifications, sources or destinations never meet. */
    l[0] = make_frag(p[0], false, 0, true, 11, 16, IPV6_NH_UDP, NULL, 0);
    l[1] = make_frag(p[1], false, 8, true, 12, 16, IPV6_NH_UDP, NULL, 0);
    assert_int_equal(feed(&r, 0, p[0], l[0], &out), IP6_REASM_NONE);
    assert_int_equal(feed(&r, 0, p[1], l[1], &out), IP6_REASM_NONE);
    l[1] = make_frag(p[1], false, 8, true, 11, 16, IPV6_NH_UDP, NULL, 0);
    p[1][39] ^= 1; /* another destination */
    assert_int_equal(feed(&r, 0, p[1], l[1], &out), IP6_REASM_NONE);
    p[1][39] ^= 1;
    p[1][23] ^= 1; /* another source */
    assert_int_equal(feed(&r, 0, p[1], l[1], &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_count(&r), 4);
    assert_int_equal(r.stats.overlap, 0);
    ip6_reasm_fini(&r);
}

/* ---------------- time ---------------- */

static void timeout_and_time_exceeded(void **state)
{
    (void)state;
    uint8_t pkt[3100];
    size_t len = make_udp(pkt, "2001:db8::1", 3000, true, 9);
    uint8_t *frags[128];
    size_t lens[128];
    size_t n = fragment(pkt, len, 1280, 99, frags, lens);
    assert_int_equal(n, 3);
    struct ip6_reasm r;
    init(&r, 1 << 20, 0);
    struct ip6_reasm_out out;
    /* The first fragment at 5 s, the last at 30 s: 60 s from the first
     * (RFC 8200 4.5), not extended. */
    assert_int_equal(feed(&r, 5 * SEC, frags[0], lens[0], &out), IP6_REASM_NONE);
    assert_int_equal(feed(&r, 30 * SEC, frags[2], lens[2], &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_next_deadline(&r), 65 * SEC);
    assert_int_equal(ip6_reasm_timer(&r, 65 * SEC - 1, &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_count(&r), 1);
    assert_int_equal(ip6_reasm_timer(&r, 65 * SEC, &out), IP6_REASM_TIME_EXCEEDED);
    /* The quote: the first fragment as it came, cut at what fits. */
    assert_int_equal(out.len, ICMPV6_ERR_QUOTE_MAX);
    assert_memory_equal(out.pkt, frags[0], out.len);
    assert_int_equal(out.dev, 3);
    free(out.pkt);
    assert_int_equal(ip6_reasm_timer(&r, 65 * SEC, &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_count(&r), 0);
    assert_int_equal(ip6_reasm_memory(&r), 0);
    assert_int_equal(r.stats.timeout, 1);
    assert_int_equal(ip6_reasm_next_deadline(&r), UST_TIME_NEVER);
    /* Without the first fragment: dropped in silence. */
    assert_int_equal(feed(&r, 100 * SEC, frags[1], lens[1], &out), IP6_REASM_NONE);
    assert_int_equal(feed(&r, 100 * SEC, frags[2], lens[2], &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_timer(&r, 200 * SEC, &out), IP6_REASM_NONE);
    assert_int_equal(r.stats.timeout, 2);
    assert_int_equal(ip6_reasm_count(&r), 0);
    /* Two due at once, one with its first fragment, one without: one
     * report, both gone. A short first fragment is quoted whole. */
    uint8_t f0[100];
    size_t l0 = make_frag(f0, false, 0, true, 500, 16, IPV6_NH_UDP, NULL, 0);
    assert_int_equal(feed(&r, 300 * SEC, frags[1], lens[1], &out), IP6_REASM_NONE);
    assert_int_equal(feed(&r, 301 * SEC, f0, l0, &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_timer(&r, 400 * SEC, &out), IP6_REASM_TIME_EXCEEDED);
    assert_int_equal(out.len, l0);
    assert_memory_equal(out.pkt, f0, l0);
    free(out.pkt);
    assert_int_equal(ip6_reasm_timer(&r, 400 * SEC, &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_count(&r), 0);
    /* A configured timeout. */
    ip6_reasm_fini(&r);
    struct fq_cfg cfg = {1 << 20, 0, 2 * SEC, 0};
    ip6_reasm_init(&r, &cfg, hkey);
    assert_int_equal(feed(&r, 0, f0, l0, &out), IP6_REASM_NONE);
    assert_int_equal(ip6_reasm_next_deadline(&r), 2 * SEC);
    ip6_reasm_fini(&r);
    free_frags(frags, n);
}

/* ---------------- bounds ---------------- */

static void memory_and_source_bounds(void **state)
{
    (void)state;
    uint8_t p[1400];
    struct ip6_reasm_out out;
    struct ip6_reasm r;
    /* 64 KiB for all: a flood of first fragments from many sources never
     * holds more, the oldest making room. */
    init(&r, 64 << 10, 0);
    for (uint32_t i = 0; i < 2000; i++) {
        size_t l = make_frag(p, false, 0, true, i, 1200, IPV6_NH_UDP, NULL, 0);
        st16(p + 8 + 14, (uint16_t)i); /* the source: 2001:db8::xxxx:1 */
        assert_int_equal(feed(&r, i, p, l, &out), IP6_REASM_NONE);
        assert_true(ip6_reasm_memory(&r) <= 64 << 10);
    }
    assert_true(r.stats.evicted > 1900);
    assert_true(ip6_reasm_count(&r) > 10);
    ip6_reasm_fini(&r);
    /* 4 per source: a flooder evicts only its own; another host's
     * datagram completes. */
    init(&r, 4 << 20, 4);
    size_t l = make_frag(p, false, 0, true, 7777, 16, IPV6_NH_UDP, NULL, 0);
    p[23] = 0x99; /* another source */
    assert_int_equal(feed(&r, 0, p, l, &out), IP6_REASM_NONE);
    for (uint32_t i = 0; i < 100; i++) {
        l = make_frag(p, false, 0, true, i, 16, IPV6_NH_UDP, NULL, 0);
        assert_int_equal(feed(&r, 1, p, l, &out), IP6_REASM_NONE);
        assert_true(ip6_reasm_count(&r) <= 5);
    }
    assert_int_equal(r.stats.src_evicted, 96);
    assert_int_equal(ip6_reasm_count(&r), 5);
    l = make_frag(p, false, 16, false, 7777, 4, IPV6_NH_UDP, NULL, 0);
    p[23] = 0x99;
    assert_int_equal(feed(&r, 2, p, l, &out), IP6_REASM_DONE);
    assert_int_equal(out.len, 40 + 20);
    free(out.pkt);
    ip6_reasm_fini(&r);
    /* At most IP6_REASM_MAX_FRAGS fragments in one datagram. */
    init(&r, 4 << 20, 0);
    for (uint32_t i = 0; i < IP6_REASM_MAX_FRAGS; i++) {
        l = make_frag(p, false, 16 + 16 * i, true, 1, 8, IPV6_NH_UDP, NULL, 0);
        assert_int_equal(feed(&r, 0, p, l, &out), IP6_REASM_NONE);
    }
    assert_int_equal(ip6_reasm_count(&r), 1);
    l = make_frag(p, false, 8, true, 1, 8, IPV6_NH_UDP, NULL, 0);
    assert_int_equal(feed(&r, 0, p, l, &out), IP6_REASM_NONE);
    assert_int_equal(r.stats.too_many, 1);
    assert_int_equal(ip6_reasm_count(&r), 0);
    assert_int_equal(ip6_reasm_memory(&r), 0);
    ip6_reasm_fini(&r);
}

/* ---------------- the fragmenter's refusals ---------------- */

static void fragmenter_refusals(void **state)
{
    (void)state;
    uint8_t pkt[3100];
    size_t len = make_udp(pkt, "2001:db8::1", 3000, false, 1);
    struct ip6_frag_iter it;
    /* Room for 8 bytes of data at least. */
    assert_int_equal(ip6_frag_start(&it, pkt, len, 40 + 8 + 7, 1), -EMSGSIZE);
    assert_int_equal(ip6_frag_start(&it, pkt, len, 40 + 8 + 8, 1), 0); /* UDP's 8 fit */
    assert_int_equal(ip6_frag_start(&it, pkt, 39, 1280, 1), -EINVAL);
    /* A destination options header of 2,048 bytes cannot ride in the
     * first fragment (RFC 7112). */
    static uint8_t big[4000];
    memcpy(big, pkt, 40);
    big[6] = IPV6_NH_DSTOPTS;
    memset(big + 40, 0, 2048);
    big[40] = IPV6_NH_UDP;
    big[41] = 255;
    big[42] = IPV6_OPT_PADN;
    big[43] = 255;
    st16(big + 4, 2048 + 8);
    assert_int_equal(ip6_frag_start(&it, big, 40 + 2048 + 8, 1280, 1), -EMSGSIZE);
    /* A small buffer gets nothing. */
    assert_int_equal(ip6_frag_start(&it, pkt, len, 1280, 5), 0);
    uint8_t out[1280];
    assert_int_equal(ip6_frag_next(&it, out, 100), 0);
    assert_int_equal(ip6_frag_next(&it, out, sizeof(out)), 1280);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kernel_fragments_every_order),
        cmocka_unit_test(round_trips_shuffled_with_duplicates),
        cmocka_unit_test(atomic_fragments_alone),
        cmocka_unit_test(parameter_problems),
        cmocka_unit_test(overlaps_drop_the_datagram),
        cmocka_unit_test(timeout_and_time_exceeded),
        cmocka_unit_test(memory_and_source_bounds),
        cmocka_unit_test(fragmenter_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
