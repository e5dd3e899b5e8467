/* IPv4 reassembly (RFC 791, RFC 815) and fragmentation on output.
 *
 * Reassembly is driven with hand-built fragments from the peer carrying a
 * UDP datagram to a bound socket (or an ICMP echo request); the socket API
 * runs embedded (no runtime), so every call returns at once. Fragmentation
 * is checked on the frames the stack emits from ust_sendto(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "net/ip_frag.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/icmp.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define PORT_US 7000
#define PORT_PEER 4242
#define ETH_HDR 14
#define MF 0x2000

/* ---- helpers ---- */

static uint32_t lcg_next(uint32_t *st)
{
    *st = *st * 1664525u + 1013904223u;
    return *st >> 8;
}

static void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)lcg_next(&seed);
}

/* The IP payload of a UDP datagram from the peer to us: header + data. */
static size_t make_udp(uint8_t *out, const uint8_t *data, size_t len, ust_ip4_t src)
{
    struct udp_repr u = {.sport = PORT_PEER, .dport = PORT_US};
    memcpy(out + UDP_HDR_LEN, data, len);
    udp_emit(&u, ipv4_pseudo_sum(src, T_IP_US, IPV4_PROTO_UDP, 0), out, len);
    return UDP_HDR_LEN + len;
}

/* Injects one fragment: len bytes of the IP payload at byte offset off
 * (the frag field is built from off / 8 and mf). */
static void inject_frag_raw(struct fixture *f, ust_ip4_t src, uint8_t proto, uint16_t id,
                            uint16_t frag, const uint8_t *data, size_t len)
{
    uint8_t *frame = malloc(ETH_HDR + IPV4_HDR_LEN + len);
    assert_non_null(frame);
    size_t n = build_ipv4(frame + ETH_HDR, src, T_IP_US, proto, id, frag, 64, data, len);
    n = build_eth(frame, t_mac_us, t_mac_peer, 0x0800, frame + ETH_HDR, n);
    fixture_input(f, frame, n);
    free(frame);
}

/* Like inject_frag_raw from the peer, with 4 bytes of options (NOPs and an
 * end-of-list) in a 24-byte header. */
static void inject_frag_opts(struct fixture *f, uint16_t id, uint16_t frag, const uint8_t *data,
                             size_t len)
{
    uint8_t *frame = malloc(ETH_HDR + 24 + len);
    assert_non_null(frame);
    uint8_t *ip = frame + ETH_HDR;
    build_ipv4(ip, T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, id, frag, 64, NULL, 0);
    ip[0] = 0x46;
    st16(ip + 2, (uint16_t)(24 + len));
    ip[20] = 1, ip[21] = 1, ip[22] = 1, ip[23] = 0;
    memcpy(ip + 24, data, len);
    st16(ip + 10, 0);
    st16(ip + 10, cksum(ip, 24));
    size_t n = build_eth(frame, t_mac_us, t_mac_peer, 0x0800, ip, 24 + len);
    fixture_input(f, frame, n);
    free(frame);
}

static void inject_frag(struct fixture *f, uint16_t id, const uint8_t *payload, size_t off,
                        size_t len, bool mf)
{
    assert_int_equal(off % 8, 0);
    inject_frag_raw(f, T_IP_PEER, IPV4_PROTO_UDP, id, (uint16_t)((off / 8) | (mf ? MF : 0)),
                    payload + off, len);
}

/* Fragment boundaries of a payload of total bytes, chunk bytes each (a
 * multiple of 8, except the last). Returns the number of fragments. */
static unsigned split(size_t total, size_t chunk, size_t *offs, size_t *lens, unsigned max)
{
    unsigned n = 0;
    for (size_t off = 0; off < total; off += chunk) {
        assert_true(n < max);
        offs[n] = off;
        lens[n] = total - off < chunk ? total - off : chunk;
        n++;
    }
    return n;
}

static int udp_open_bound(struct fixture *f)
{
    int fd = ust_socket(f->s, AF_INET, SOCK_DGRAM, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(0, PORT_US);
    assert_int_equal(ust_bind(f->s, fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    return fd;
}

/* Expects exactly one datagram equal to want[0..len) from the peer. */
static void expect_datagram(struct fixture *f, int fd, const uint8_t *want, size_t len)
{
    uint8_t *buf = malloc(65536);
    assert_non_null(buf);
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = ust_recvfrom(f->s, fd, buf, 65536, 0, (struct sockaddr *)&from, &fl);
    assert_int_equal(n, (ssize_t)len);
    assert_memory_equal(buf, want, len);
    assert_int_equal(ntohl(from.sin_addr.s_addr), T_IP_PEER);
    assert_int_equal(ntohs(from.sin_port), PORT_PEER);
    errno = 0;
    assert_int_equal(ust_recvfrom(f->s, fd, buf, 65536, 0, NULL, NULL), -1);
    assert_int_equal(errno, EAGAIN);
    free(buf);
}

static void expect_nothing(struct fixture *f, int fd)
{
    uint8_t buf[16];
    errno = 0;
    assert_int_equal(ust_recv(f->s, fd, buf, sizeof(buf), 0), -1);
    assert_int_equal(errno, EAGAIN);
}

/* Every test ends here: nothing left in reassembly, no buffer leaked. */
static void finish(struct fixture *f, int fd)
{
    if (fd > 0)
        assert_int_equal(ust_close(f->s, fd), 0);
    assert_int_equal(reasm_count(f->s), 0);
    assert_int_equal(reasm_memory(f->s), 0);
    cap_clear(f->cap);
    assert_int_equal(ust_stack_stats(f->s)->pkb.live, 0);
    fixture_fini(f);
}

static const struct ust_stats *st(struct fixture *f) { return ust_stack_stats(f->s); }

/* Sends the datagram's fragments in the order given by perm. */
static void send_in_order(struct fixture *f, uint16_t id, const uint8_t *pl, const size_t *offs,
                          const size_t *lens, unsigned n, const unsigned *perm)
{
    for (unsigned k = 0; k < n; k++) {
        unsigned i = perm[k];
        inject_frag(f, id, pl, offs[i], lens[i], i != n - 1);
    }
}

/* ---- reassembly: orders ---- */

static void check_order(unsigned mode, size_t dlen, size_t chunk, uint32_t seed)
{
    struct fixture f;
    fixture_init(&f, NULL);
    int fd = udp_open_bound(&f);
    uint8_t *data = malloc(dlen), *pl = malloc(dlen + UDP_HDR_LEN);
    fill_pattern(data, dlen, seed);
    size_t total = make_udp(pl, data, dlen, T_IP_PEER);
    size_t offs[80], lens[80];
    unsigned perm[80];
    unsigned n = split(total, chunk, offs, lens, 80);
    for (unsigned i = 0; i < n; i++)
        perm[i] = mode == 1 ? n - 1 - i : i;
    if (mode == 2) { /* Fisher-Yates */
        uint32_t r = seed;
        for (unsigned i = n - 1; i > 0; i--) {
            unsigned j = lcg_next(&r) % (i + 1);
            unsigned t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
    }
    for (unsigned k = 0; k + 1 < n; k++) {
        unsigned i = perm[k];
        inject_frag(&f, (uint16_t)seed, pl, offs[i], lens[i], i != n - 1);
        expect_nothing(&f, fd); /* incomplete until the last piece */
        assert_int_equal(reasm_count(f.s), 1);
    }
    unsigned last = perm[n - 1];
    inject_frag(&f, (uint16_t)seed, pl, offs[last], lens[last], last != n - 1);
    expect_datagram(&f, fd, data, dlen);
    assert_int_equal(st(&f)->ip.frag_rx, n);
    assert_int_equal(st(&f)->ip.reasm_ok, 1);
    assert_int_equal(st(&f)->udp.drop_checksum, 0);
    assert_int_equal(cap_count(f.cap), 0); /* no ICMP, no reply */
    free(data);
    free(pl);
    finish(&f, fd);
}

static void in_order(void **state)
{
    (void)state;
    check_order(0, 3000, 1480, 1);
    check_order(0, 100, 8, 2); /* 14 tiny fragments */
    check_order(0, 17, 16, 3); /* a 1-byte last fragment */
}

static void reverse_order(void **state)
{
    (void)state;
    check_order(1, 3000, 1480, 4);
    check_order(1, 1000, 64, 5);
}

static void random_order(void **state)
{
    (void)state;
    /* Different sizes, chunk sizes and permutations; the seed of a failing
     * round is in the assertion's backtrace via check_order's arguments. */
    static const size_t sizes[] = {9, 100, 1473, 2961, 5000, 9000};
    static const size_t chunks[] = {8, 24, 256, 1480};
    uint32_t seed = 100;
    for (size_t a = 0; a < sizeof(sizes) / sizeof(sizes[0]); a++)
        for (size_t b = 0; b < sizeof(chunks) / sizeof(chunks[0]); b++) {
            size_t nfrag = (sizes[a] + UDP_HDR_LEN + chunks[b] - 1) / chunks[b];
            if (nfrag < 2 || nfrag > 64)
                continue;
            for (int r = 0; r < 3; r++)
                check_order(2, sizes[a], chunks[b], seed++);
        }
}

/* The largest datagram there is: 65,535 bytes with its header, 45 fragments. */
static void largest_datagram(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int fd = udp_open_bound(&f);
    size_t dlen = UDP_MAX_PAYLOAD;
    uint8_t *data = malloc(dlen), *pl = malloc(dlen + UDP_HDR_LEN);
    fill_pattern(data, dlen, 77);
    size_t total = make_udp(pl, data, dlen, T_IP_PEER);
    assert_int_equal(total + IPV4_HDR_LEN, IPV4_MAX_LEN);
    size_t offs[80], lens[80];
    unsigned perm[80];
    unsigned n = split(total, 1480, offs, lens, 80);
    assert_int_equal(n, 45);
    for (unsigned i = 0; i < n; i++)
        perm[i] = (i * 7) % n; /* 7 and 45 are coprime: a permutation */
    send_in_order(&f, 0xbeef, pl, offs, lens, n, perm);
    expect_datagram(&f, fd, data, dlen);
    free(data);
    free(pl);
    finish(&f, fd);
}

/* Two datagrams interleaved, from two sources and with one id shared by
 * different sources and protocols: each is reassembled on its own. */
static void interleaved_datagrams(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = udp_open_bound(&f);
    uint8_t a[2000], b[2000], pa[2100], pb[2100];
    fill_pattern(a, sizeof(a), 1);
    fill_pattern(b, sizeof(b), 2);
    size_t ta = make_udp(pa, a, sizeof(a), T_IP_PEER);
    size_t tb = make_udp(pb, b, sizeof(b), T_IP_OTHER);
    /* id 5 from the peer (UDP), id 5 from another host (UDP), id 5 from the
     * peer but protocol 253 (nobody speaks it). */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 5, MF, pa, 1480);
    inject_frag_raw(&f, T_IP_OTHER, IPV4_PROTO_UDP, 5, 1480 / 8, pb + 1480, tb - 1480);
    inject_frag_raw(&f, T_IP_PEER, 253, 5, MF, pa, 1480);
    assert_int_equal(reasm_count(f.s), 3);
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 5, 1480 / 8, pa + 1480, ta - 1480);
    expect_datagram(&f, fd, a, sizeof(a));
    inject_frag_raw(&f, T_IP_OTHER, IPV4_PROTO_UDP, 5, MF, pb, 1480);
    uint8_t buf[2100];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    assert_int_equal(ust_recvfrom(f.s, fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl),
                     sizeof(b));
    assert_memory_equal(buf, b, sizeof(b));
    assert_int_equal(ntohl(from.sin_addr.s_addr), T_IP_OTHER);
    assert_int_equal(reasm_count(f.s), 1); /* the protocol-253 one */
    assert_int_equal(st(&f)->ip.reasm_ok, 2);
    fixture_advance_to(&f, f.now + 31 * UST_SEC); /* let it time out */
    finish(&f, fd);
}

/* An echo request in fragments is answered; the reply, too big for the
 * link, leaves in fragments that put the same data back together. */
static void fragmented_echo_request(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t data[4000];
    fill_pattern(data, sizeof(data), 9);
    uint8_t icmp[4100];
    size_t total = build_icmp(icmp, ICMP_ECHO_REQUEST, 0, (0x77u << 16) | 3, data, sizeof(data));
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_ICMP, 99, (2960 / 8), icmp + 2960, total - 2960);
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_ICMP, 99, MF, icmp, 1480);
    assert_int_equal(cap_count(f.cap), 0);
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_ICMP, 99, MF | (1480 / 8), icmp + 1480, 1480);
    assert_int_equal(st(&f)->icmp.tx_echo_reply, 1);
    assert_int_equal(cap_count(f.cap), 3);
    uint8_t out[1600], re[4100];
    size_t got = 0;
    for (int i = 0; i < 3; i++) {
        size_t n = cap_pop(f.cap, out, sizeof(out));
        assert_true(n <= 1514);
        uint8_t *ip = out + ETH_HDR;
        assert_int_equal(cksum(ip, 20), 0);
        assert_int_equal(ip[9], IPV4_PROTO_ICMP);
        uint16_t frag = ld16(ip + 6);
        size_t off = (size_t)(frag & IPV4_OFFSET_MASK) * 8, plen = ld16(ip + 2) - 20u;
        assert_int_equal(off, got);
        assert_int_equal((frag & MF) != 0, i < 2);
        memcpy(re + off, ip + 20, plen);
        got += plen;
    }
    assert_int_equal(got, total);
    assert_int_equal(re[0], ICMP_ECHO_REPLY);
    assert_int_equal(cksum(re, total), 0);
    assert_memory_equal(re + 4, icmp + 4, total - 4); /* id, seq and data unchanged */
    finish(&f, -1);
}

/* ---- duplicates and overlaps ---- */

static void exact_duplicates_are_harmless(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int fd = udp_open_bound(&f);
    uint8_t data[4000], pl[4100];
    fill_pattern(data, sizeof(data), 11);
    size_t total = make_udp(pl, data, sizeof(data), T_IP_PEER);
    inject_frag(&f, 1, pl, 0, 1480, true);
    inject_frag(&f, 1, pl, 0, 1480, true);
    inject_frag(&f, 1, pl, 2960, total - 2960, false);
    inject_frag(&f, 1, pl, 2960, total - 2960, false);
    assert_int_equal(st(&f)->ip.reasm_duplicate, 2);
    expect_nothing(&f, fd);
    inject_frag(&f, 1, pl, 1480, 1480, true);
    expect_datagram(&f, fd, data, sizeof(data));
    assert_int_equal(st(&f)->ip.reasm_ok, 1);
    assert_int_equal(st(&f)->ip.reasm_overlap, 0);
    assert_int_equal(st(&f)->udp.rx, 1); /* delivered once */
    finish(&f, fd);
}

struct overlap_case {
    const char *name;
    /* Up to three fragments (offset in bytes, length, MF); the last one is
     * the one that must be detected as overlapping. */
    struct {
        size_t off, len;
        bool mf;
    } fr[3];
    unsigned n;
};

static void overlapping_fragments_drop_the_datagram(void **state)
{
    (void)state;
    /* The datagram is 48 bytes of IP payload (UDP header + 40). */
    static const struct overlap_case cases[] = {
        {"tail overlaps the next", {{0, 16, true}, {8, 16, true}}, 2},
        {"head overlaps the previous", {{16, 16, true}, {8, 16, true}}, 2},
        {"same offset, longer", {{0, 16, true}, {0, 24, true}}, 2},
        {"same offset, shorter", {{0, 24, true}, {0, 16, true}}, 2},
        {"contains another", {{16, 8, true}, {8, 24, true}}, 2},
        {"inside another", {{8, 24, true}, {16, 8, true}}, 2},
        {"second last with another end", {{40, 8, false}, {32, 8, false}}, 2},
        {"last ends before data held", {{0, 16, true}, {24, 16, true}, {16, 16, false}}, 3},
        {"fragment beyond the end", {{40, 8, false}, {48, 8, true}}, 2},
        {"overlaps the last", {{40, 8, false}, {32, 16, true}}, 2},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const struct overlap_case *oc = &cases[c];
        struct fixture f;
        fixture_init(&f, NULL);
        int fd = udp_open_bound(&f);
        uint8_t data[40], pl[64 + 48];
        memset(pl, 0, sizeof(pl));
        fill_pattern(data, sizeof(data), (uint32_t)c);
        assert_int_equal(make_udp(pl, data, sizeof(data), T_IP_PEER), 48);
        for (unsigned i = 0; i < oc->n; i++) {
            inject_frag(&f, 33, pl, oc->fr[i].off, oc->fr[i].len, oc->fr[i].mf);
            if (i + 1 < oc->n) {
                assert_int_equal(reasm_count(f.s), 1);
                assert_int_equal(st(&f)->ip.reasm_overlap, 0);
            }
        }
        if (st(&f)->ip.reasm_overlap != 1)
            fail_msg("case '%s': overlap not detected", oc->name);
        assert_int_equal(reasm_count(f.s), 0); /* the whole datagram is gone */
        assert_int_equal(reasm_memory(f.s), 0);
        expect_nothing(&f, fd);
        finish(&f, fd);
    }
}

/* After an overlap the rest of the datagram arriving delivers nothing; a
 * fresh datagram with the same id afterwards is reassembled. */
static void overlap_then_rest_then_fresh(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = udp_open_bound(&f);
    uint8_t data[4000], pl[4100];
    fill_pattern(data, sizeof(data), 12);
    size_t total = make_udp(pl, data, sizeof(data), T_IP_PEER);
    inject_frag(&f, 7, pl, 1480, 1480, true);
    inject_frag(&f, 7, pl, 1480 + 8, 1480, true); /* overlaps: datagram dropped */
    assert_int_equal(st(&f)->ip.reasm_overlap, 1);
    assert_int_equal(reasm_count(f.s), 0);
    /* The rest: first and last fragments. They start a new, incomplete
     * datagram (the middle piece was thrown away), so nothing comes out. */
    inject_frag(&f, 7, pl, 0, 1480, true);
    inject_frag(&f, 7, pl, 2960, total - 2960, false);
    expect_nothing(&f, fd);
    assert_int_equal(reasm_count(f.s), 1);
    assert_int_equal(st(&f)->ip.reasm_ok, 0);
    /* It times out (with an ICMP error: its first fragment is there). */
    fixture_advance_to(&f, f.now + 30 * UST_SEC);
    assert_int_equal(reasm_count(f.s), 0);
    assert_int_equal(st(&f)->ip.reasm_timeout, 1);
    cap_clear(f.cap);
    /* A fresh datagram with the same id is reassembled. */
    uint8_t data2[3000], pl2[3100];
    fill_pattern(data2, sizeof(data2), 13);
    size_t total2 = make_udp(pl2, data2, sizeof(data2), T_IP_PEER);
    inject_frag(&f, 7, pl2, 1480, total2 - 1480, false);
    inject_frag(&f, 7, pl2, 0, 1480, true);
    expect_datagram(&f, fd, data2, sizeof(data2));
    /* And right after an overlap, too, without waiting. */
    inject_frag(&f, 7, pl2, 0, 1480, true);
    inject_frag(&f, 7, pl2, 8, 1480, true);
    assert_int_equal(st(&f)->ip.reasm_overlap, 2);
    assert_int_equal(reasm_count(f.s), 0);
    inject_frag(&f, 7, pl2, 0, 1480, true);
    inject_frag(&f, 7, pl2, 1480, total2 - 1480, false);
    expect_datagram(&f, fd, data2, sizeof(data2));
    finish(&f, fd);
}

/* ---- timeout ---- */

static void timeout_sends_time_exceeded(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 5);
    cfg.reasm_timeout = 15 * UST_SEC;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    int fd = udp_open_bound(&f);
    uint8_t data[3000], pl[3100];
    fill_pattern(data, sizeof(data), 14);
    make_udp(pl, data, sizeof(data), T_IP_PEER);
    ust_time_t t0 = f.now;
    inject_frag(&f, 0x4321, pl, 0, 1480, true);
    /* The frame as it arrived, to compare with the quote. */
    uint8_t first[IPV4_HDR_LEN + 1480];
    build_ipv4(first, T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 0x4321, MF, 64, pl, 1480);
    fixture_advance_to(&f, t0 + 5 * UST_SEC);
    inject_frag(&f, 0x4321, pl, 1480, 8, true); /* later fragments do not extend the timer */
    assert_int_equal(ust_stack_next_deadline(f.s) <= t0 + cfg.reasm_timeout, true);
    fixture_advance_to(&f, t0 + cfg.reasm_timeout - 1);
    assert_int_equal(reasm_count(f.s), 1);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_advance_to(&f, t0 + cfg.reasm_timeout);
    assert_int_equal(reasm_count(f.s), 0);
    assert_int_equal(st(&f)->ip.reasm_timeout, 1);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t out[1600];
    size_t n = cap_pop(f.cap, out, sizeof(out));
    /* Ethernet to the peer, IPv4 from us, ICMP 11/1 quoting the first
     * fragment's header as received and the first 8 bytes of its data. */
    size_t icmp_len = 8 + IPV4_HDR_LEN + 8;
    assert_int_equal(n, ETH_HDR + IPV4_HDR_LEN + icmp_len);
    assert_memory_equal(out, t_mac_peer, 6);
    assert_memory_equal(out + 6, t_mac_us, 6);
    assert_int_equal(ld16(out + 12), 0x0800);
    const uint8_t *ip = out + ETH_HDR;
    assert_int_equal(cksum(ip, IPV4_HDR_LEN), 0);
    assert_int_equal(ld16(ip + 2), IPV4_HDR_LEN + icmp_len);
    assert_int_equal(ip[9], IPV4_PROTO_ICMP);
    assert_int_equal(ld32(ip + 12), T_IP_US);
    assert_int_equal(ld32(ip + 16), T_IP_PEER);
    const uint8_t *icmp = ip + IPV4_HDR_LEN;
    assert_int_equal(icmp[0], ICMP_TIME_EXCEEDED);
    assert_int_equal(icmp[1], 1); /* fragment reassembly time exceeded */
    assert_int_equal(ld32(icmp + 4), 0);
    assert_int_equal(cksum(icmp, icmp_len), 0);
    assert_memory_equal(icmp + 8, first, IPV4_HDR_LEN + 8);
    assert_int_equal(st(&f)->icmp.tx, 1);
    expect_nothing(&f, fd);
    finish(&f, fd);
}

static void timeout_without_first_fragment_is_silent(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = udp_open_bound(&f);
    uint8_t data[4000], pl[4100];
    fill_pattern(data, sizeof(data), 15);
    size_t total = make_udp(pl, data, sizeof(data), T_IP_PEER);
    ust_time_t t0 = f.now;
    inject_frag(&f, 3, pl, 1480, 1480, true);
    inject_frag(&f, 3, pl, 2960, total - 2960, false);
    assert_int_equal(ust_stack_next_deadline(f.s), t0 + 30 * UST_SEC);
    fixture_advance_to(&f, t0 + 30 * UST_SEC);
    assert_int_equal(st(&f)->ip.reasm_timeout, 1);
    assert_int_equal(reasm_count(f.s), 0);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->icmp.tx, 0);
    /* The first fragment arriving late starts a new datagram of its own,
     * which, having its first fragment, ends with an ICMP error. */
    fixture_learn_peer(&f); /* the old entry would expire on the way */
    inject_frag(&f, 3, pl, 0, 1480, true);
    expect_nothing(&f, fd);
    assert_int_equal(reasm_count(f.s), 1);
    fixture_advance_to(&f, f.now + 30 * UST_SEC);
    assert_int_equal(st(&f)->ip.reasm_timeout, 2);
    assert_int_equal(cap_count(f.cap), 1);
    assert_int_equal(st(&f)->icmp.tx, 1);
    finish(&f, fd);
}

/* ---- memory limit ---- */

static void memory_limit_evicts_oldest(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 6);
    cfg.reasm_mem_max = 10000;
    struct fixture f;
    fixture_init(&f, &cfg);
    int fd = udp_open_bound(&f);
    enum { N = 8 };
    uint8_t data[N][2000], pl[N][2100];
    size_t total[N];
    for (int i = 0; i < N; i++) {
        fill_pattern(data[i], sizeof(data[i]), 100u + (uint32_t)i);
        total[i] = make_udp(pl[i], data[i], sizeof(data[i]), T_IP_PEER);
    }
    /* First fragments of N datagrams: each holds its 1,480 bytes and its
     * bookkeeping, so they cannot all stay. */
    for (int i = 0; i < N; i++) {
        inject_frag(&f, (uint16_t)(1000 + i), pl[i], 0, 1480, true);
        assert_true(reasm_memory(f.s) <= cfg.reasm_mem_max);
        assert_true(reasm_count(f.s) >= 1);
    }
    unsigned kept = reasm_count(f.s);
    assert_true(kept < N);
    assert_int_equal(st(&f)->ip.reasm_evicted, N - kept);
    /* The newest ones survived: completing each delivers it. */
    for (int i = N - (int)kept; i < N; i++) {
        inject_frag(&f, (uint16_t)(1000 + i), pl[i], 1480, total[i] - 1480, false);
        expect_datagram(&f, fd, data[i], sizeof(data[i]));
    }
    assert_int_equal(reasm_count(f.s), 0);
    /* The oldest was evicted: its last fragment alone delivers nothing. */
    inject_frag(&f, 1000, pl[0], 1480, total[0] - 1480, false);
    expect_nothing(&f, fd);
    assert_int_equal(reasm_count(f.s), 1);
    assert_true(reasm_memory(f.s) <= cfg.reasm_mem_max);
    fixture_advance_to(&f, f.now + 30 * UST_SEC);
    assert_int_equal(st(&f)->ip.reasm_timeout, 1);
    finish(&f, fd);
}

/* One datagram larger than the whole budget cannot be reassembled. */
static void memory_limit_single_datagram(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.reasm_mem_max = 6000;
    struct fixture f;
    fixture_init(&f, &cfg);
    int fd = udp_open_bound(&f);
    size_t dlen = 9000;
    uint8_t *data = malloc(dlen), *pl = malloc(dlen + UDP_HDR_LEN);
    fill_pattern(data, dlen, 16);
    size_t total = make_udp(pl, data, dlen, T_IP_PEER);
    size_t offs[16], lens[16];
    unsigned n = split(total, 1480, offs, lens, 16);
    for (unsigned i = 0; i < n; i++) {
        inject_frag(&f, 55, pl, offs[i], lens[i], i != n - 1);
        assert_true(reasm_memory(f.s) <= cfg.reasm_mem_max);
    }
    assert_true(st(&f)->ip.reasm_evicted >= 1);
    assert_int_equal(st(&f)->ip.reasm_ok, 0);
    expect_nothing(&f, fd);
    /* What is left (later fragments starting over) times out. */
    fixture_advance_to(&f, f.now + 30 * UST_SEC);
    /* A datagram within the budget still works. */
    uint8_t small[2000], spl[2100];
    fill_pattern(small, sizeof(small), 17);
    size_t stotal = make_udp(spl, small, sizeof(small), T_IP_PEER);
    inject_frag(&f, 56, spl, 0, 1480, true);
    inject_frag(&f, 56, spl, 1480, stotal - 1480, false);
    expect_datagram(&f, fd, small, sizeof(small));
    free(data);
    free(pl);
    finish(&f, fd);
}

/* ---- floods ---- */

#define FLOODER UST_IP4(198, 51, 100, 66) /* off-link: errors to it leave via the peer */

/* count first fragments (8 bytes, MF) from src with ids from id0. */
static void first_fragments(struct fixture *f, ust_ip4_t src, uint16_t id0, unsigned count)
{
    uint8_t pl[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    for (unsigned i = 0; i < count; i++)
        inject_frag_raw(f, src, IPV4_PROTO_UDP, (uint16_t)(id0 + i), MF, pl, sizeof(pl));
}

/* One source floods first fragments: it holds at most reasm_max_per_src
 * partial datagrams, its own oldest making room, so the datagram another
 * host had begun survives and completes. With only the memory budget
 * (oldest first), the flood evicted it. */
static void one_flooder_evicts_only_its_own(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 8);
    cfg.reasm_mem_max = 64 * 1024;
    cfg.reasm_max_per_src = 16;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    int fd = udp_open_bound(&f);
    uint8_t data[2000], pl[2100];
    fill_pattern(data, sizeof(data), 31);
    size_t total = make_udp(pl, data, sizeof(data), T_IP_PEER);
    inject_frag(&f, 77, pl, 0, 1480, true);
    first_fragments(&f, FLOODER, 1000, 5000);
    assert_int_equal(reasm_count(f.s), 1 + 16);
    assert_int_equal(st(&f)->ip.reasm_src_evicted, 5000 - 16);
    assert_int_equal(st(&f)->ip.reasm_evicted, 0);
    assert_true(reasm_memory(f.s) <= cfg.reasm_mem_max);
    inject_frag(&f, 77, pl, 1480, total - 1480, false);
    expect_datagram(&f, fd, data, sizeof(data));
    /* The flooder's newest 16 are the ones kept. */
    uint8_t last[8];
    st16(last, 0);
    for (unsigned id = 1000 + 5000 - 16; id < 1000 + 5000; id++)
        inject_frag_raw(&f, FLOODER, IPV4_PROTO_UDP, (uint16_t)id, 1, last, sizeof(last));
    assert_int_equal(st(&f)->ip.reasm_ok, 1 + 16);
    assert_int_equal(reasm_count(f.s), 0);
    fixture_advance_to(&f, f.now + 31 * UST_SEC);
    finish(&f, fd);
}

/* Many sources together are still bounded by the memory budget, oldest
 * first, and nothing of them is left after the timeout. */
static void many_flooders_bounded_by_memory(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 9);
    cfg.reasm_mem_max = 256 * 1024;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    for (unsigned i = 0; i < 20000; i++) {
        first_fragments(&f, UST_IP4(100, 64, 0, 0) + i % 500, (uint16_t)(i / 500), 1);
        if (i % 1000 == 0)
            assert_true(reasm_memory(f.s) <= cfg.reasm_mem_max);
    }
    assert_true(reasm_memory(f.s) <= cfg.reasm_mem_max);
    assert_true(st(&f)->ip.reasm_evicted > 0);
    assert_int_equal(st(&f)->ip.reasm_src_evicted, 0);
    assert_int_equal(reasm_count(f.s) + st(&f)->ip.reasm_evicted, 20000);
    fixture_advance_to(&f, f.now + 31 * UST_SEC);
    finish(&f, -1);
}

/* A fragment is charged what it holds: one 8-byte fragment at the far end
 * of the datagram costs its bookkeeping, not a buffer up to there. */
static void far_fragment_costs_what_it_holds(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    uint8_t pl[8] = {0};
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 5, MF | 8000, pl, sizeof(pl));
    assert_int_equal(reasm_count(f.s), 1);
    assert_true(reasm_memory(f.s) < 512);
    fixture_advance_to(&f, f.now + 31 * UST_SEC);
    finish(&f, -1);
}

/* Thousands of datagrams in the tables at once (they grow as they fill),
 * then completed in another order: every one is delivered. */
static void thousands_of_datagrams_complete(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = udp_open_bound(&f);
    enum { N = 3000 };
    uint8_t data[40], pl[64];
    fill_pattern(data, sizeof(data), 41);
    size_t total = make_udp(pl, data, sizeof(data), T_IP_PEER);
    for (unsigned i = 0; i < N; i++)
        inject_frag(&f, (uint16_t)(2000 + i), pl, 0, 16, true);
    assert_int_equal(reasm_count(f.s), 64); /* the per-source bound */
    for (unsigned i = 0; i < N; i++)
        inject_frag_raw(&f, UST_IP4(100, 64, 1, 0) + i % 100, IPV4_PROTO_UDP, (uint16_t)i, MF, pl,
                        16);
    assert_int_equal(reasm_count(f.s), 64 + N);
    for (unsigned i = N; i-- > N - 64;) {
        inject_frag(&f, (uint16_t)(2000 + i), pl, 16, total - 16, false);
        expect_datagram(&f, fd, data, sizeof(data));
    }
    assert_int_equal(reasm_count(f.s), N);
    fixture_advance_to(&f, f.now + 31 * UST_SEC);
    assert_int_equal(st(&f)->ip.reasm_timeout, N);
    finish(&f, fd);
}

/* ---- bad sizes ---- */

static void too_big_datagram(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = udp_open_bound(&f);
    uint8_t pl[1480];
    fill_pattern(pl, sizeof(pl), 18);
    /* A last fragment ending at 65,536 bytes of payload: with the header,
     * past 65,535. The datagram it belongs to is dropped. */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 9, MF, pl, 1480);
    assert_int_equal(reasm_count(f.s), 1);
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 9, 8190, pl, 16);
    assert_int_equal(st(&f)->ip.reasm_too_big, 1);
    assert_int_equal(reasm_count(f.s), 0);
    /* A non-last one pushing past, too. */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 10, MF | 8189, pl, 24);
    assert_int_equal(st(&f)->ip.reasm_too_big, 2);
    assert_int_equal(reasm_count(f.s), 0);
    /* Exactly 65,535 is fine: the last fragment may end at 65,515. */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 11, 8189, pl, 3);
    assert_int_equal(st(&f)->ip.reasm_too_big, 2);
    assert_int_equal(reasm_count(f.s), 1);
    fixture_advance_to(&f, f.now + 30 * UST_SEC);
    expect_nothing(&f, fd);
    assert_int_equal(cap_count(f.cap), 0);
    finish(&f, fd);
}

/* The header of the reassembled datagram is the first fragment's: with
 * options it is longer, and may be what pushes the whole past 65,535. */
static void first_fragment_with_options(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int fd = udp_open_bound(&f);
    uint8_t data[2500], pl[2600];
    fill_pattern(data, sizeof(data), 23);
    size_t total = make_udp(pl, data, sizeof(data), T_IP_PEER);
    inject_frag(&f, 30, pl, 1480, total - 1480, false);
    inject_frag_opts(&f, 30, MF, pl, 1480);
    expect_datagram(&f, fd, data, sizeof(data));
    assert_int_equal(st(&f)->ip.options_skipped, 1);
    /* 65,515 bytes of payload fit behind a 20-byte header, not a 24-byte
     * one: whichever fragment arrives last, the datagram is too big. */
    uint8_t junk[1480];
    fill_pattern(junk, sizeof(junk), 24);
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 31, 8189, junk, 3);
    inject_frag_opts(&f, 31, MF, junk, 1480);
    assert_int_equal(st(&f)->ip.reasm_too_big, 1);
    assert_int_equal(reasm_count(f.s), 0);
    inject_frag_opts(&f, 32, MF, junk, 1480);
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 32, 8189, junk, 3);
    assert_int_equal(st(&f)->ip.reasm_too_big, 2);
    assert_int_equal(reasm_count(f.s), 0);
    assert_int_equal(st(&f)->ip.reasm_ok, 1);
    expect_nothing(&f, fd);
    finish(&f, fd);
}

static void malformed_fragments(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int fd = udp_open_bound(&f);
    uint8_t pl[1480];
    fill_pattern(pl, sizeof(pl), 19);
    /* A non-last fragment whose length is not a multiple of 8. */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 20, MF, pl, 1001);
    assert_int_equal(st(&f)->ip.reasm_malformed, 1);
    assert_int_equal(reasm_count(f.s), 0);
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 20, MF | 10, pl, 12);
    assert_int_equal(st(&f)->ip.reasm_malformed, 2);
    /* An empty fragment. */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 20, MF | 10, pl, 0);
    assert_int_equal(st(&f)->ip.reasm_malformed, 3);
    assert_int_equal(reasm_count(f.s), 0);
    /* A last fragment may have any length. */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 20, 10, pl, 13);
    assert_int_equal(st(&f)->ip.reasm_malformed, 3);
    assert_int_equal(reasm_count(f.s), 1);
    /* A malformed fragment of a datagram in progress leaves it alone. */
    inject_frag_raw(&f, T_IP_PEER, IPV4_PROTO_UDP, 20, MF, pl, 15);
    assert_int_equal(st(&f)->ip.reasm_malformed, 4);
    assert_int_equal(reasm_count(f.s), 1);
    fixture_advance_to(&f, f.now + 30 * UST_SEC);
    expect_nothing(&f, fd);
    finish(&f, fd);
}

/* More fragments than a datagram may have (UST_REASM_MAX_FRAGS). */
static void too_many_fragments(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int fd = udp_open_bound(&f);
    size_t dlen = (UST_REASM_MAX_FRAGS + 1) * 8 - UDP_HDR_LEN;
    uint8_t data[1024], pl[1100];
    fill_pattern(data, dlen, 20);
    size_t total = make_udp(pl, data, dlen, T_IP_PEER);
    size_t offs[80], lens[80];
    unsigned n = split(total, 8, offs, lens, 80);
    assert_int_equal(n, UST_REASM_MAX_FRAGS + 1);
    for (unsigned i = 0; i < n; i++)
        inject_frag(&f, 21, pl, offs[i], lens[i], i != n - 1);
    assert_int_equal(st(&f)->ip.reasm_malformed, 1);
    assert_int_equal(st(&f)->ip.reasm_ok, 0);
    expect_nothing(&f, fd);
    assert_int_equal(reasm_count(f.s), 0);
    /* Exactly the maximum works. */
    dlen = UST_REASM_MAX_FRAGS * 8 - UDP_HDR_LEN;
    total = make_udp(pl, data, dlen, T_IP_PEER);
    n = split(total, 8, offs, lens, 80);
    assert_int_equal(n, UST_REASM_MAX_FRAGS);
    for (unsigned i = 0; i < n; i++)
        inject_frag(&f, 22, pl, offs[i], lens[i], i != n - 1);
    expect_datagram(&f, fd, data, dlen);
    finish(&f, fd);
}

/* ---- fragmentation on output ---- */

static void check_sendto(size_t len)
{
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = ust_socket(f.s, AF_INET, SOCK_DGRAM, 0);
    assert_true(fd > 0);
    struct sockaddr_in me = sin_of(0, PORT_US), peer = sin_of(T_IP_PEER, PORT_PEER);
    assert_int_equal(ust_bind(f.s, fd, (struct sockaddr *)&me, sizeof(me)), 0);
    uint8_t *data = malloc(len), *re = calloc(1, 65536);
    fill_pattern(data, len, (uint32_t)len);
    assert_int_equal(ust_sendto(f.s, fd, data, len, 0, (struct sockaddr *)&peer, sizeof(peer)),
                     (ssize_t)len);
    size_t ip_payload = len + UDP_HDR_LEN;
    size_t nfrag = ip_payload + IPV4_HDR_LEN <= 1500 ? 1 : (ip_payload + 1479) / 1480;
    assert_int_equal(cap_count(f.cap), nfrag);
    uint8_t out[2048];
    size_t got = 0;
    int id = -1;
    for (size_t i = 0; i < nfrag; i++) {
        size_t n = cap_pop(f.cap, out, sizeof(out));
        assert_true(n <= 1514);
        assert_true(n >= 60);
        assert_memory_equal(out, t_mac_peer, 6);
        assert_memory_equal(out + 6, t_mac_us, 6);
        assert_int_equal(ld16(out + 12), 0x0800);
        const uint8_t *ip = out + ETH_HDR;
        assert_int_equal(ip[0], 0x45);
        assert_int_equal(cksum(ip, IPV4_HDR_LEN), 0);
        size_t tl = ld16(ip + 2);
        assert_true(tl <= 1500);
        assert_true(n == ETH_HDR + tl || (n == 60 && ETH_HDR + tl < 60));
        assert_int_equal(ip[9], IPV4_PROTO_UDP);
        assert_int_equal(ld32(ip + 12), T_IP_US);
        assert_int_equal(ld32(ip + 16), T_IP_PEER);
        if (id < 0)
            id = ld16(ip + 4);
        assert_int_equal(ld16(ip + 4), id);
        uint16_t frag = ld16(ip + 6);
        assert_int_equal(frag & IPV4_FLAG_DF, 0);
        size_t off = (size_t)(frag & IPV4_OFFSET_MASK) * 8;
        bool mf = (frag & MF) != 0;
        assert_int_equal(off, got); /* in order, no gaps, multiples of 8 */
        assert_int_equal(mf, i + 1 < nfrag);
        size_t plen = tl - IPV4_HDR_LEN;
        if (mf)
            assert_int_equal(plen % 8, 0);
        memcpy(re + off, ip + IPV4_HDR_LEN, plen);
        got += plen;
    }
    assert_int_equal(got, ip_payload);
    /* The reassembled payload is the UDP datagram we sent, byte for byte. */
    assert_int_equal(ld16(re), PORT_US);
    assert_int_equal(ld16(re + 2), PORT_PEER);
    assert_int_equal(ld16(re + 4), ip_payload);
    assert_int_equal(cksum_fold(cksum_add(ipv4_pseudo_sum(T_IP_US, T_IP_PEER, IPV4_PROTO_UDP,
                                                          (uint16_t)ip_payload),
                                          re, ip_payload)),
                     0);
    assert_memory_equal(re + UDP_HDR_LEN, data, len);
    assert_int_equal(st(&f)->ip.frag_tx, nfrag > 1 ? nfrag : 0);
    assert_int_equal(st(&f)->ip.frag_ok, nfrag > 1 ? 1 : 0);
    free(data);
    free(re);
    finish(&f, fd);
}

static void fragmentation_on_output(void **state)
{
    (void)state;
    check_sendto(1);
    check_sendto(1472); /* exactly 1500 bytes: one frame */
    check_sendto(1473); /* one byte more: two fragments */
    check_sendto(8000);
    check_sendto(UDP_MAX_PAYLOAD); /* 65,507: 45 fragments */
}

static void sendto_too_big(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    int fd = ust_socket(f.s, AF_INET, SOCK_DGRAM, 0);
    assert_true(fd > 0);
    struct sockaddr_in peer = sin_of(T_IP_PEER, PORT_PEER);
    uint8_t *data = calloc(1, 70000);
    errno = 0;
    assert_int_equal(ust_sendto(f.s, fd, data, UDP_MAX_PAYLOAD + 1, 0, (struct sockaddr *)&peer,
                                sizeof(peer)),
                     -1);
    assert_int_equal(errno, EMSGSIZE);
    errno = 0;
    assert_int_equal(ust_sendto(f.s, fd, data, 70000, 0, (struct sockaddr *)&peer, sizeof(peer)),
                     -1);
    assert_int_equal(errno, EMSGSIZE);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->udp.tx, 0);
    free(data);
    finish(&f, fd);
}

/* ---- both ends: two stacks on a memlink fragment and reassemble ---- */

struct two {
    struct ust_stack *s[2];
    int fd[2];
    size_t want;
    uint8_t *buf;
    ssize_t got;
};

static bool got_datagram(void *ctx)
{
    struct two *t = ctx;
    t->got = ust_recv(t->s[1], t->fd[1], t->buf, 65536, 0);
    return t->got >= 0;
}

static void end_to_end_over_memlink(void **state)
{
    (void)state;
    struct ust_memlink *link;
    assert_int_equal(ust_memlink_create(3, &link), 0);
    struct two t;
    memset(&t, 0, sizeof(t));
    static const ust_ip4_t addrs[2] = {UST_IP4(10, 0, 0, 1), UST_IP4(10, 0, 0, 2)};
    ust_time_t now = 1000 * UST_SEC;
    for (int i = 0; i < 2; i++) {
        struct ust_config cfg;
        test_config(&cfg, 40u + (unsigned)i);
        assert_int_equal(ust_stack_create(&cfg, &t.s[i]), 0);
        uint8_t mac[6] = {0x02, 0, 0, 0, 1, (uint8_t)(i + 1)};
        struct ust_device *d;
        assert_int_equal(ust_memlink_attach(link, "ml0", mac, &d), 0);
        assert_true(ust_stack_add_device(t.s[i], d) >= 0);
        assert_int_equal(ust_iface_add(t.s[i], "ml0", addrs[i], 24, now), 0);
        t.fd[i] = ust_socket(t.s[i], AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in sin = sin_of(0, 5000);
        assert_int_equal(ust_bind(t.s[i], t.fd[i], (struct sockaddr *)&sin, sizeof(sin)), 0);
    }
    t.buf = malloc(65536);
    static const size_t sizes[] = {1, 1472, 1473, 8000, UDP_MAX_PAYLOAD};
    uint8_t *data = malloc(UDP_MAX_PAYLOAD);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        fill_pattern(data, sizes[k], (uint32_t)k + 500);
        struct sockaddr_in to = sin_of(addrs[1], 5000);
        assert_int_equal(ust_sendto(t.s[0], t.fd[0], data, sizes[k], 0, (struct sockaddr *)&to,
                                    sizeof(to)),
                         (ssize_t)sizes[k]);
        assert_true(sim_run(t.s, 2, &now, now + 5 * UST_SEC, got_datagram, &t));
        assert_int_equal(t.got, (ssize_t)sizes[k]);
        assert_memory_equal(t.buf, data, sizes[k]);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(reasm_count(t.s[i]), 0);
        assert_int_equal(ust_close(t.s[i], t.fd[i]), 0);
        assert_int_equal(ust_stack_stats(t.s[i])->pkb.live, 0);
    }
    assert_int_equal(ust_stack_stats(t.s[1])->ip.reasm_ok, 3); /* 1473, 8000, 65507 */
    assert_int_equal(ust_memlink_in_flight(link), 0);
    ust_stack_destroy(t.s[0]);
    ust_stack_destroy(t.s[1]);
    ust_memlink_release(link);
    free(data);
    free(t.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order),
        cmocka_unit_test(reverse_order),
        cmocka_unit_test(random_order),
        cmocka_unit_test(largest_datagram),
        cmocka_unit_test(interleaved_datagrams),
        cmocka_unit_test(fragmented_echo_request),
        cmocka_unit_test(exact_duplicates_are_harmless),
        cmocka_unit_test(overlapping_fragments_drop_the_datagram),
        cmocka_unit_test(overlap_then_rest_then_fresh),
        cmocka_unit_test(timeout_sends_time_exceeded),
        cmocka_unit_test(timeout_without_first_fragment_is_silent),
        cmocka_unit_test(memory_limit_evicts_oldest),
        cmocka_unit_test(memory_limit_single_datagram),
        cmocka_unit_test(one_flooder_evicts_only_its_own),
        cmocka_unit_test(many_flooders_bounded_by_memory),
        cmocka_unit_test(far_fragment_costs_what_it_holds),
        cmocka_unit_test(thousands_of_datagrams_complete),
        cmocka_unit_test(too_big_datagram),
        cmocka_unit_test(first_fragment_with_options),
        cmocka_unit_test(malformed_fragments),
        cmocka_unit_test(too_many_fragments),
        cmocka_unit_test(fragmentation_on_output),
        cmocka_unit_test(sendto_too_big),
        cmocka_unit_test(end_to_end_over_memlink),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
