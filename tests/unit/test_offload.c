/* Offloads (docs/DESIGN.md, "Offloads"): the virtio-net header on known
 * vectors and lying lengths; metadata on received frames (checksums
 * vouched for, partial, refused); TCP super-segments received whole (in
 * order, out of order, over a SACKed range); and TSO on transmit, at its
 * boundaries (the window, Nagle's limit, the FIN, a retransmission of part
 * of one); the payload handed to the device in pieces from the send ring
 * (transmit_iov), or copied in; and IPv6 output of a super-segment (TSO6:
 * whole, or fragmented where the device or the MTU will not have it). The
 * test plays the peer (tests/common/tcp_peer.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "harness.h"
#include "tcp_peer.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/ethernet.h"
#include "wire/ipv6.h"
#include "wire/udp.h"
#include "wire/vnet.h"
#include "net/ipv6.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"

#define MSS 1460
#define ALL_OFFLOADS (UST_OFFLOAD_RX_CSUM | UST_OFFLOAD_TX_CSUM | UST_OFFLOAD_TSO4)

/* ---- the header ---- */

static void vnet_known_vectors(void **state)
{
    (void)state;
    /* A TCP/IPv4 super-frame as the kernel hands it over: NEEDS_CSUM,
     * TCPV4, hdr_len 66, gso_size 1448, csum at 34 + 16; little-endian,
     * with num_buffers (12 bytes). */
    const uint8_t v[12] = {0x01, 0x01, 66, 0, 0xa8, 0x05, 34, 0, 16, 0, 0, 0};
    struct ust_pkt_meta m;
    assert_int_equal(vnet_parse(v, sizeof(v), VNET_HDR_LEN_MRG, &m), WIRE_OK);
    assert_int_equal(m.flags, UST_META_NEEDS_CSUM);
    assert_int_equal(m.gso_type, UST_GSO_TCPV4);
    assert_int_equal(m.hdr_len, 66);
    assert_int_equal(m.gso_size, 1448);
    assert_int_equal(m.csum_start, 34);
    assert_int_equal(m.csum_offset, 16);
    assert_int_equal(vnet_check(&m, 66 + 10 * 1448), WIRE_OK);
    uint8_t out[12];
    vnet_emit(&m, out, sizeof(out));
    assert_memory_equal(out, v, sizeof(v));
    /* The 10-byte form, and a short buffer. */
    assert_int_equal(vnet_parse(v, 10, VNET_HDR_LEN, &m), WIRE_OK);
    assert_int_equal(vnet_parse(v, 9, VNET_HDR_LEN, &m), WIRE_ETRUNC);
    assert_int_equal(vnet_parse(v, 11, VNET_HDR_LEN_MRG, &m), WIRE_ETRUNC);
    /* Every GSO type a kernel may name, with the ECN bit; and none. */
    const uint8_t types[] = {UST_GSO_TCPV4,
                             UST_GSO_TCPV6,
                             UST_GSO_UDP,
                             UST_GSO_UDP_L4,
                             UST_GSO_TCPV4 | UST_GSO_ECN,
                             UST_GSO_TCPV6 | UST_GSO_ECN};
    for (size_t i = 0; i < sizeof(types); i++) {
        uint8_t b[10] = {0x01, types[i], 54, 0, 0xb4, 0x05, 34, 0, 16, 0};
        assert_int_equal(vnet_parse(b, sizeof(b), VNET_HDR_LEN, &m), WIRE_OK);
        assert_int_equal(m.gso_type, types[i]);
        assert_int_equal(vnet_check(&m, 3000), WIRE_OK);
    }
    /* DATA_VALID alone: a received frame whose checksum was verified. */
    const uint8_t dv[10] = {0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(vnet_parse(dv, sizeof(dv), VNET_HDR_LEN, &m), WIRE_OK);
    assert_int_equal(m.flags, UST_META_DATA_VALID);
    assert_int_equal(vnet_check(&m, 60), WIRE_OK);
}

static void vnet_lying_headers(void **state)
{
    (void)state;
    struct ust_pkt_meta ok = {.flags = UST_META_NEEDS_CSUM,
                              .gso_type = UST_GSO_TCPV4,
                              .hdr_len = 54,
                              .gso_size = 1460,
                              .csum_start = 34,
                              .csum_offset = 16};
    assert_int_equal(vnet_check(&ok, 54 + 2 * 1460), WIRE_OK);
    struct ust_pkt_meta m = ok;
    m.csum_start = 3000; /* the checksum field past the frame */
    assert_int_equal(vnet_check(&m, 2974), WIRE_ELEN);
    m = ok;
    m.csum_offset = 2940 - 34 - 1; /* the field's second byte one past the end */
    assert_int_equal(vnet_check(&m, 2940), WIRE_ELEN);
    m.csum_offset--; /* ... and exactly at the end */
    assert_int_equal(vnet_check(&m, 2940), WIRE_OK);
    m = ok;
    m.hdr_len = 60000; /* headers longer than the frame */
    assert_int_equal(vnet_check(&m, 2974), WIRE_ELEN);
    m = ok;
    m.gso_size = 0; /* a super-frame with no segment size */
    assert_int_equal(vnet_check(&m, 2974), WIRE_ELEN);
    m = ok;
    m.flags = 0; /* a super-frame without a partial checksum */
    assert_int_equal(vnet_check(&m, 2974), WIRE_ELEN);
    m = ok;
    m.flags |= 0x04; /* a flag we never asked for (RSC_INFO) */
    assert_int_equal(vnet_check(&m, 2974), WIRE_EUNSUPP);
    m = ok;
    m.gso_type = 2; /* no such type */
    assert_int_equal(vnet_check(&m, 2974), WIRE_EUNSUPP);
    m = (struct ust_pkt_meta){.gso_type = UST_GSO_ECN}; /* ECN on nothing */
    assert_int_equal(vnet_check(&m, 60), WIRE_EUNSUPP);
}

/* ---- metadata on received frames ---- */

/* Ethernet + IPv4 + UDP from the peer to port 7; bad_sum spoils the checksum. */
static size_t udp_frame(uint8_t *buf, const char *text, bool bad_sum)
{
    uint8_t udp[64];
    size_t len = UDP_HDR_LEN + strlen(text);
    struct udp_repr u = {.sport = 5000, .dport = 7};
    memcpy(udp + UDP_HDR_LEN, text, strlen(text));
    udp_emit(&u, ipv4_pseudo_sum(T_IP_PEER, T_IP_US, 17, 0), udp, strlen(text));
    if (bad_sum)
        udp[7] ^= 0x5a;
    uint8_t ip[128];
    size_t n = build_ipv4(ip, T_IP_PEER, T_IP_US, 17, 1, 0, 64, udp, len);
    return build_eth(buf, t_mac_us, t_mac_peer, ETH_TYPE_IPV4, ip, n);
}

static int udp_on_7(struct fixture *f)
{
    int fd = ust_socket(f->s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = sin_of(0, 7);
    assert_int_equal(ust_bind(f->s, fd, SA(sin), sizeof(sin)), 0);
    return fd;
}

static bool got_datagram(struct fixture *f, int fd, const char *want)
{
    char buf[64];
    ssize_t n = ust_recv(f->s, fd, buf, sizeof(buf), 0);
    if (n < 0)
        return false;
    return (size_t)n == strlen(want) && memcmp(buf, want, (size_t)n) == 0;
}

static void rx_checksum_vouched_for(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    struct ust_device *d = ust_stack_device(f.s, "eth0");
    int fd = udp_on_7(&f);
    uint8_t fr[128];
    size_t n = udp_frame(fr, "bad sum", true);
    struct ust_pkt_meta valid = {.flags = UST_META_DATA_VALID};
    /* A device that offers no offloads vouches for nothing: summed, dropped. */
    ust_stack_input_meta(f.s, f.dev, fr, n, &valid, f.now);
    assert_false(got_datagram(&f, fd, "bad sum"));
    assert_int_equal(ust_stack_stats(f.s)->udp.drop_checksum, 1);
    /* One that verifies checksums: DATA_VALID is taken at its word. */
    cap_set_offload(d, UST_OFFLOAD_RX_CSUM, 0);
    ust_stack_input_meta(f.s, f.dev, fr, n, &valid, f.now);
    assert_true(got_datagram(&f, fd, "bad sum"));
    assert_int_equal(ust_stack_stats(f.s)->offload.rx_csum_trusted, 1);
    /* Without metadata the same frame is summed. */
    ust_stack_input(f.s, f.dev, fr, n, f.now);
    assert_false(got_datagram(&f, fd, "bad sum"));
    assert_int_equal(ust_stack_stats(f.s)->udp.drop_checksum, 2);
    /* A partial checksum (from the host itself) naming the UDP field: its
     * field holds the pseudo-header sum only, and it is not summed. */
    n = udp_frame(fr, "partial", false);
    struct ust_pkt_meta partial = {.flags = UST_META_NEEDS_CSUM,
                                   .csum_start = 34,
                                   .csum_offset = 6};
    st16(fr + 34 + 6, (uint16_t)~cksum_fold(ipv4_pseudo_sum(T_IP_PEER, T_IP_US, 17, 15)));
    ust_stack_input_meta(f.s, f.dev, fr, n, &partial, f.now);
    assert_true(got_datagram(&f, fd, "partial"));
    /* The same naming another field is not believed: summed, dropped. */
    partial.csum_offset = 4;
    ust_stack_input_meta(f.s, f.dev, fr, n, &partial, f.now);
    assert_false(got_datagram(&f, fd, "partial"));
    assert_int_equal(ust_stack_stats(f.s)->udp.drop_checksum, 3);
    assert_int_equal(ust_close(f.s, fd), 0);
    fixture_fini(&f);
}

static void rx_lying_metadata_dropped(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    cap_set_offload(ust_stack_device(f.s, "eth0"), UST_OFFLOAD_RX_CSUM, 0);
    int fd = udp_on_7(&f);
    uint8_t fr[128];
    size_t n = udp_frame(fr, "hello", false);
    uint64_t rx0 = ust_stack_stats(f.s)->eth.rx;
    const struct ust_pkt_meta lies[] = {
        {.flags = UST_META_NEEDS_CSUM, .csum_start = 60000, .csum_offset = 6},
        {.flags = UST_META_NEEDS_CSUM, .csum_start = 34, .csum_offset = 60000},
        {.flags = 0x80},
        {.gso_type = UST_GSO_TCPV4, .gso_size = 100}, /* no partial checksum */
        {.flags = UST_META_NEEDS_CSUM, .gso_type = UST_GSO_TCPV4, .csum_start = 34},
        {.flags = UST_META_NEEDS_CSUM, .gso_type = 7, .gso_size = 100, .csum_start = 34},
        {.flags = UST_META_NEEDS_CSUM,
         .gso_type = UST_GSO_UDP_L4,
         .gso_size = 8,
         .csum_start = 34,
         .csum_offset = 6}, /* never negotiated */
    };
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++)
        ust_stack_input_meta(f.s, f.dev, fr, n, &lies[i], f.now);
    assert_int_equal(ust_stack_stats(f.s)->offload.rx_bad_meta, sizeof(lies) / sizeof(lies[0]));
    assert_int_equal(ust_stack_stats(f.s)->eth.rx, rx0); /* none went further */
    assert_false(got_datagram(&f, fd, "hello"));
    /* A well-formed TCP super-frame header on a UDP datagram: not TCP. */
    struct ust_pkt_meta tcp_on_udp = {.flags = UST_META_NEEDS_CSUM,
                                      .gso_type = UST_GSO_TCPV4,
                                      .gso_size = 8,
                                      .csum_start = 34,
                                      .csum_offset = 6};
    ust_stack_input_meta(f.s, f.dev, fr, n, &tcp_on_udp, f.now);
    assert_int_equal(ust_stack_stats(f.s)->offload.rx_bad_super, 1);
    assert_false(got_datagram(&f, fd, "hello"));
    /* The frame itself was good all along. */
    ust_stack_input(f.s, f.dev, fr, n, f.now);
    assert_true(got_datagram(&f, fd, "hello"));
    assert_int_equal(ust_close(f.s, fd), 0);
    fixture_fini(&f);
}

/* The same over IPv6: a super-frame must be TCP/IPv6 (gso type TCPV6, TCP
 * the upper layer, no fragment header); anything else is dropped and
 * counted, and the frame without the lie is delivered. */
static void rx_lying_super_frame_ipv6(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    cap_set_offload(ust_stack_device(f.s, "eth0"), UST_OFFLOAD_RX_CSUM, 0);
    struct in6_addr us, peer;
    assert_int_equal(ust_ip6_parse("2001:db8::2", &us), 0);
    assert_int_equal(ust_ip6_parse("2001:db8::1", &peer), 0);
    assert_int_equal(ust_iface_add6(f.s, "eth0", &us, 64, f.now), 0);
    fixture_advance_to(&f, f.now + 3 * UST_SEC); /* DAD */
    int fd = ust_socket(f.s, AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 b = {.sin6_family = AF_INET6, .sin6_port = htons(7)};
    assert_int_equal(ust_bind(f.s, fd, SA(b), sizeof(b)), 0);
    uint8_t pkt[128], fr[160];
    struct udp_repr u = {.sport = 5000, .dport = 7};
    memcpy(pkt + IPV6_HDR_LEN + UDP_HDR_LEN, "six", 3);
    struct ipv6_repr ip = {.payload_len = UDP_HDR_LEN + 3, .next_hdr = 17, .hop_limit = 64};
    memcpy(ip.src.a, &peer, 16);
    memcpy(ip.dst.a, &us, 16);
    udp_emit(&u, cksum_pseudo6(ip.src.a, ip.dst.a, 17, 0), pkt + IPV6_HDR_LEN, 3);
    ipv6_emit(&ip, pkt);
    size_t n = build_eth(fr, t_mac_us, t_mac_peer, ETH_TYPE_IPV6, pkt,
                         IPV6_HDR_LEN + UDP_HDR_LEN + 3);
    const uint16_t l4 = ETH_HDR_LEN + IPV6_HDR_LEN;
    const struct ust_pkt_meta lies[] = {
        {.flags = UST_META_NEEDS_CSUM,
         .gso_type = UST_GSO_TCPV6,
         .gso_size = 8,
         .csum_start = l4,
         .csum_offset = 6}, /* TCP over IPv6 said, UDP carried */
        {.flags = UST_META_NEEDS_CSUM,
         .gso_type = UST_GSO_TCPV4,
         .gso_size = 8,
         .csum_start = l4,
         .csum_offset = 6}, /* an IPv4 super-frame said, IPv6 carried */
    };
    for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++)
        ust_stack_input_meta(f.s, f.dev, fr, n, &lies[i], f.now);
    assert_int_equal(ust_stack_stats(f.s)->offload.rx_bad_super, 2);
    assert_false(got_datagram(&f, fd, "six"));
    ust_stack_input(f.s, f.dev, fr, n, f.now);
    assert_true(got_datagram(&f, fd, "six"));
    assert_int_equal(ust_close(f.s, fd), 0);
    fixture_fini(&f);
}

/* ---- super-segments received ---- */

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
    return p;
}

static void expect_recv_big(struct tcp_peer *t, const uint8_t *want, size_t len)
{
    uint8_t *buf = malloc(len + 1);
    assert_non_null(buf);
    size_t got = 0;
    while (got < len) {
        ssize_t n = ust_recv(t->f.s, t->fd, buf + got, len + 1 - got, 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(got, len);
    assert_memory_equal(buf, want, len);
    free(buf);
}

/* One segment of 20 full ones, as GRO or the kernel's TSO hands it over:
 * taken whole, and ACKed at once (it holds more than two full segments),
 * not after the delayed-ACK time. */
static void super_segment_in_order(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    const size_t n = 20 * MSS;
    uint8_t *d = pattern(n, 1);
    peer(&t, TCP_ACK, d, n);
    EXPECT(&t, TCP_ACK, 0); /* acknowledges all of it, in this poll step */
    EXPECT_NONE(&t);
    expect_recv_big(&t, d, n);
    free(d);
    t_fini(&t);
}

/* A super-segment beyond a hole waits out of order; the hole's segment
 * brings everything in. */
static void super_segment_out_of_order(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    const size_t n = 30 * MSS;
    uint8_t *d = pattern(n, 2);
    peer_at(&t, t.pseq + MSS, TCP_ACK, d + MSS, n - MSS);
    EXPECT(&t, TCP_ACK, 0); /* a duplicate ACK: still expecting the first byte */
    assert_int_equal(events(&t.f, t.fd) & POLLIN, 0);
    peer(&t, TCP_ACK, d, MSS);
    t.pseq += (uint32_t)(n - MSS);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.ack, t.pseq);
    expect_recv_big(&t, d, n);
    free(d);
    t_fini(&t);
}

/* With SACK: a small segment arrives out of order and is SACKed; then a
 * super-segment covering it and more (the peer's TSO resent the range
 * with new data around it), then the hole. The bytes come out right, and
 * the SACK block grows to the super-segment's range. */
static void super_segment_over_sacked_range(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_init(&t, NULL);
    uint8_t o[40];
    size_t ol = syn_opts(o, 100, 0);
    t_syn(&t, PISN, 65535, o, ol);
    uint8_t ts[12];
    put_ts(ts, 101, t.o.th.tsval);
    peer_opt(&t, TCP_ACK, 65535, ts, sizeof(ts), NULL, 0);
    t_accept(&t);
    assert_true(t_conn(&t)->sack_ok);
    const uint32_t seg = MSS - 12; /* the payload of a full segment beside timestamps */
    const size_t n = 12 * seg;
    uint8_t *d = pattern(n, 3);
    uint32_t base = t.pseq;
    put_ts(ts, 102, t.o.th.tsval);
    peer_seg(&t, base + 5 * seg, t.pack, TCP_ACK, 65535, ts, sizeof(ts), d + 5 * seg, seg);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.nsack, 1);
    assert_int_equal(t.o.th.sack[0].start, base + 5 * seg);
    assert_int_equal(t.o.th.sack[0].end, base + 6 * seg);
    /* [seg, 10 seg): over the SACKed range. */
    peer_seg(&t, base + seg, t.pack, TCP_ACK, 65535, ts, sizeof(ts), d + seg, 9 * seg);
    EXPECT(&t, TCP_ACK, 0);
    assert_int_equal(t.o.th.ack, base);
    assert_int_equal(t.o.th.nsack, 1);
    assert_int_equal(t.o.th.sack[0].start, base + seg);
    assert_int_equal(t.o.th.sack[0].end, base + 10 * seg);
    /* The hole, and the tail. */
    peer_seg(&t, base, t.pack, TCP_ACK, 65535, ts, sizeof(ts), d, seg);
    peer_seg(&t, base + 10 * seg, t.pack, TCP_ACK, 65535, ts, sizeof(ts), d + 10 * seg, 2 * seg);
    t.pseq = base + (uint32_t)n;
    drain(&t);
    assert_int_equal(t.o.th.ack, t.pseq);
    assert_int_equal(t.o.th.nsack, 0);
    expect_recv_big(&t, d, n);
    free(d);
    t_fini(&t);
}

/* ---- TSO on transmit ---- */

/* An established connection (MSS 1460, no options) whose device segments
 * (TSO up to 64 KiB) and whose congestion window is out of the way, so
 * that the peer's window and the sender's own rules decide. */
static void tso_open(struct tcp_peer *t, bool nodelay)
{
    struct ust_config cfg;
    t_config(&cfg);
    cfg.tcp_loss_probes = false; /* timeouts alone, where a test waits for one */
    t_open(t, &cfg);
    cap_set_offload(ust_stack_device(t->f.s, "eth0"), ALL_OFFLOADS, 65535);
    if (nodelay)
        set_int(&t->f, t->fd, IPPROTO_TCP, TCP_NODELAY, 1);
    t_conn(t)->cwnd = 200 * MSS;
}

/* The next segment from us: at t->pack, len bytes of want, cut at gso
 * (0: sent as one plain segment). */
static void expect_super(struct tcp_peer *t, int line, uint8_t flags, size_t len, unsigned gso,
                         const uint8_t *want)
{
    if (!pop(t))
        fail_msg("line %d: nothing sent", line);
    if (t->o.th.seq != t->pack || t->o.len != len || t->o.gso != gso ||
        (t->o.th.flags & ~TCP_PSH) != flags)
        fail_msg("line %d: got seq +%u len %zu gso %u flags 0x%x, expected seq +%u len %zu gso %u "
                 "flags 0x%x",
                 line, t->o.th.seq - t->iss, t->o.len, t->o.gso, t->o.th.flags, t->pack - t->iss,
                 len, gso, flags);
    assert_memory_equal(t->o.data, want, len);
    t->pack += (uint32_t)len + !!(flags & TCP_FIN);
}
#define EXPECT_SUPER(t, flags, len, gso, want)                                                     \
    expect_super((t), __LINE__, (flags), (len), (gso), (want))

static void ack_all(struct tcp_peer *t) { peer(t, TCP_ACK, NULL, 0); }

/* Nagle's limit: what is more than whole segments leaves as one
 * super-segment of whole segments; the small rest waits for the ACK (as
 * it would behind the full segments sent one by one). */
static void tso_nagle_limit(void **state)
{
    (void)state;
    struct tcp_peer t;
    tso_open(&t, false);
    const size_t n = 41 * MSS + 140;
    uint8_t *d = pattern(n, 4);
    send_all(&t, d, n);
    EXPECT_SUPER(&t, TCP_ACK, 41 * MSS, MSS, d);
    EXPECT_NONE(&t);
    assert_int_equal(ust_stack_stats(t.f.s)->offload.tx_super, 1);
    assert_int_equal(ust_stack_stats(t.f.s)->offload.tx_super_segs, 41);
    ack_all(&t);
    EXPECT_SUPER(&t, TCP_ACK, 140, 0, d + 41 * MSS);
    EXPECT_NONE(&t);
    /* With TCP_NODELAY the small rest rides along: one super-segment. */
    ack_all(&t);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_NODELAY, 1);
    send_all(&t, d, 3 * MSS + 100);
    EXPECT_SUPER(&t, TCP_ACK, 3 * MSS + 100, MSS, d);
    EXPECT_NONE(&t);
    free(d);
    t_fini(&t);
}

/* The peer's window: a super-segment ends at the last whole segment it
 * allows; the sliver beyond waits (sender SWS avoidance), as it would
 * after segments sent one by one. The device's limit (gso_max) bounds
 * each super-frame. */
static void tso_window_boundary(void **state)
{
    (void)state;
    struct tcp_peer t;
    tso_open(&t, true);
    t.pwin = 10 * MSS + 700;
    ack_all(&t);
    const size_t n = 60 * MSS;
    uint8_t *d = pattern(n, 5);
    send_all(&t, d, n);
    EXPECT_SUPER(&t, TCP_ACK, 10 * MSS, MSS, d);
    EXPECT_NONE(&t);
    /* A device that takes super-frames of 20,000 bytes at most: 13
     * segments each (13 x 1460 + 40 bytes of headers), until the window
     * of 65,535 (44 segments and a sliver) is full. */
    cap_set_offload(ust_stack_device(t.f.s, "eth0"), ALL_OFFLOADS, 20000);
    t.pwin = 65535;
    ack_all(&t);
    EXPECT_SUPER(&t, TCP_ACK, 13 * MSS, MSS, d + 10 * MSS);
    EXPECT_SUPER(&t, TCP_ACK, 13 * MSS, MSS, d + 23 * MSS);
    EXPECT_SUPER(&t, TCP_ACK, 13 * MSS, MSS, d + 36 * MSS);
    EXPECT_SUPER(&t, TCP_ACK, 5 * MSS, MSS, d + 49 * MSS);
    EXPECT_NONE(&t);
    t.pack = t_conn(&t)->snd_una + 44 * MSS;
    ack_all(&t);
    EXPECT_SUPER(&t, TCP_ACK, 6 * MSS, MSS, d + 54 * MSS);
    free(d);
    t_fini(&t);
}

/* The FIN rides on the last super-segment with the small rest. */
static void tso_with_fin(void **state)
{
    (void)state;
    struct tcp_peer t;
    tso_open(&t, false);
    t.pwin = 0; /* hold everything back until the FIN is queued too */
    ack_all(&t);
    const size_t n = 3 * MSS + 100;
    uint8_t *d = pattern(n, 6);
    send_all(&t, d, n);
    assert_int_equal(ust_shutdown(t.f.s, t.fd, SHUT_WR), 0);
    drain(&t); /* a window probe, if any */
    t.pwin = 65535;
    ack_all(&t);
    EXPECT_SUPER(&t, TCP_ACK | TCP_FIN, n, MSS, d);
    EXPECT_NONE(&t);
    free(d);
    t_fini(&t);
}

/* A timeout resends one segment from inside the super-segment, not all of
 * it; what follows goes again by the (now small) congestion window, and
 * the peer gets every byte. */
static void tso_partial_retransmit(void **state)
{
    (void)state;
    struct tcp_peer t;
    tso_open(&t, false);
    const size_t n = 10 * MSS;
    uint8_t *d = pattern(n, 7);
    send_all(&t, d, n);
    uint32_t start = t.pack;
    EXPECT_SUPER(&t, TCP_ACK, n, MSS, d);
    assert_true(run_until_tx(&t.f, t.f.now + 10 * UST_SEC) != UST_TIME_NEVER);
    t.pack = start;
    EXPECT_SUPER(&t, TCP_ACK, MSS, 0, d);
    EXPECT_NONE(&t);
    /* The peer had lost only the first segment: it ACKs all. */
    t.pack = start + (uint32_t)n;
    ack_all(&t);
    assert_int_equal(t_conn(&t)->snd_una, start + (uint32_t)n);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.retransmits, 1);
    /* A SACK-less peer that lost the first of a super-segment's pieces:
     * three duplicate ACKs resend one segment (fast retransmit). */
    t_conn(&t)->cwnd = 200 * MSS; /* past the timeout's slow start */
    send_all(&t, d, n);
    start = t.pack;
    EXPECT_SUPER(&t, TCP_ACK, n, MSS, d);
    t.pack = start;
    for (int i = 0; i < 3; i++)
        ack_all(&t);
    EXPECT_SUPER(&t, TCP_ACK, MSS, 0, d);
    free(d);
    t_fini(&t);
}

/* After a timeout the sender goes back (RFC 6298 5.4) and resends what the
 * slowly growing window allows, in super-segments of whole segments; each
 * piece counts as a retransmission. */
static void tso_go_back_after_timeout(void **state)
{
    (void)state;
    struct tcp_peer t;
    tso_open(&t, false);
    const size_t n = 10 * MSS;
    uint8_t *d = pattern(n, 9);
    send_all(&t, d, n);
    uint32_t start = t.pack;
    EXPECT_SUPER(&t, TCP_ACK, n, MSS, d);
    assert_true(run_until_tx(&t.f, t.f.now + 10 * UST_SEC) != UST_TIME_NEVER);
    t.pack = start;
    EXPECT_SUPER(&t, TCP_ACK, MSS, 0, d); /* the window: one segment */
    ack_all(&t);                          /* that one arrived; the rest was lost */
    EXPECT_SUPER(&t, TCP_ACK, 2 * MSS, MSS, d + MSS);
    EXPECT_NONE(&t);
    assert_int_equal(ust_stack_stats(t.f.s)->tcp.retransmits, 3);
    assert_int_equal(t_conn(&t)->total_retrans, 3);
    free(d);
    t_fini(&t);
}

/* Without TSO (the device's bits off) nothing changes: one segment at a time. */
static void no_tso_plain_segments(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    t_conn(&t)->cwnd = 200 * MSS;
    const size_t n = 3 * MSS;
    uint8_t *d = pattern(n, 8);
    send_all(&t, d, n);
    for (int i = 0; i < 3; i++)
        EXPECT_SUPER(&t, TCP_ACK, MSS, 0, d + i * MSS);
    EXPECT_NONE(&t);
    assert_int_equal(ust_stack_stats(t.f.s)->offload.tx_super, 0);
    assert_int_equal(ust_stack_stats(t.f.s)->offload.tx_csum_partial, 0);
    free(d);
    t_fini(&t);
}

/* ---- the payload from the send ring, in pieces ---- */

/* Sends what the ring wraps around: 3001 bytes, 2001 acknowledged, then
 * 2501 more, which lie at the end of the ring's 4 KiB and at its start
 * (the cut at an odd offset). Returns the pattern (both sends). */
static uint8_t *send_wrapped(struct tcp_peer *t)
{
    uint8_t *d = pattern(5502, 11);
    send_all(t, d, 3001);
    assert_int_equal(drain(t), 3001);
    t->pack = t_conn(t)->snd_una + 2001;
    ack_all(t);
    assert_int_equal(t_conn(t)->sndq.cap, 4096);
    send_all(t, d + 3001, 2501);
    assert_true(t_conn(t)->sndq.head + t_conn(t)->sndq.len > t_conn(t)->sndq.cap); /* it wraps */
    t->pack = t_conn(t)->snd_una + 1000;
    return d;
}

/* A device that takes frames in pieces gets the headers and the ring's
 * bytes where they lie, as one frame. Here TCP leaves its checksum
 * partial (another device finishes checksums) and this plain device does
 * not: the stack sums it over the pieces, across the cut at an odd
 * offset. */
static void tx_payload_in_pieces(void **state)
{
    (void)state;
    struct tcp_peer t;
    t_open(&t, NULL);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_NODELAY, 1);
    t_conn(&t)->cwnd = 200 * MSS;
    cap_set_iov(ust_stack_device(t.f.s, "eth0"), true);
    struct ust_device *other;
    const uint8_t mac[6] = {2, 0, 0, 0, 0, 9};
    assert_int_equal(ust_null_create("csum0", mac, &other), 0);
    other->offload = UST_OFFLOAD_TX_CSUM;
    assert_true(ust_stack_add_device(t.f.s, other) >= 0);
    uint8_t *d = send_wrapped(&t);
    /* The first two segments, [3001, 5502): 1460 then 1041 bytes; the first
     * ends past the ring's end, in three pieces. pop() checks the TCP
     * checksum. */
    EXPECT_SUPER(&t, TCP_ACK, MSS, 0, d + 3001);
    EXPECT_SUPER(&t, TCP_ACK, 2501 - MSS, 0, d + 3001 + MSS);
    EXPECT_NONE(&t);
    const struct ust_stats *st = ust_stack_stats(t.f.s);
    assert_int_equal(cap_iov_frames(t.f.cap), 5); /* 3 then 2 data segments */
    assert_int_equal(st->offload.tx_iov, 5);
    assert_int_equal(st->offload.tx_copied, 0);
    assert_int_equal(st->offload.tx_csum_sw, 5);
    free(d);
    t_fini(&t);
}

/* The same with TSO: one super-segment, its partial checksum finished by
 * the device (the capture device does, as a NIC would), in pieces. And a
 * device without transmit_iov gets the same bytes copied in. */
static void tx_super_segment_in_pieces(void **state)
{
    (void)state;
    for (int iov = 0; iov < 2; iov++) {
        struct tcp_peer t;
        tso_open(&t, true);
        cap_set_iov(ust_stack_device(t.f.s, "eth0"), iov);
        uint8_t *d = send_wrapped(&t);
        EXPECT_SUPER(&t, TCP_ACK, 2501, MSS, d + 3001);
        EXPECT_NONE(&t);
        const struct ust_stats *st = ust_stack_stats(t.f.s);
        assert_int_equal(st->offload.tx_iov, iov ? 2 : 0);
        assert_int_equal(st->offload.tx_copied, iov ? 0 : 2);
        free(d);
        t_fini(&t);
    }
}

/* A segment that waits for ARP outlives the call that built it, and the
 * ring it borrowed from moves on (here: grows, to a new allocation): it
 * takes its bytes in when ARP queues it, and goes out whole and right
 * when the address resolves (ASan would see a read of the freed ring). */
static void tx_queued_for_arp_keeps_its_bytes(void **state)
{
    (void)state;
    struct tcp_peer t;
    struct ust_config cfg;
    t_config(&cfg);
    cfg.arp_reachable_time = 30 * UST_SEC;
    t_open(&t, &cfg);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_NODELAY, 1);
    t_conn(&t)->cwnd = 200 * MSS;
    cap_set_iov(ust_stack_device(t.f.s, "eth0"), true);
    /* The peer's entry expires (its ACKs keep no entry fresh). */
    fixture_advance_to(&t.f, t.f.now + 31 * UST_SEC);
    cap_clear(t.f.cap); /* refresh probes */
    uint8_t *d = pattern(20000, 12);
    send_all(&t, d, 1000);
    assert_int_equal(t_conn(&t)->sndq.cap, 4096);
    uint8_t fr[2048];
    size_t n = cap_pop(t.f.cap, fr, sizeof(fr));
    assert_true(n > 0);
    assert_int_equal(ld16(fr + 12), ETH_TYPE_ARP); /* a request: the segment waits */
    assert_int_equal(cap_count(t.f.cap), 0);
    /* More data while it waits: the ring grows (a new buffer, the old one
     * freed). The peer's window is closed so that nothing else goes. */
    t_conn(&t)->snd_wnd = 1000;
    send_all(&t, d + 1000, 19000);
    assert_true(t_conn(&t)->sndq.cap > 4096);
    uint8_t reply[64];
    fixture_input(&t.f, reply,
                  build_arp(reply, 2, t_mac_us, t_mac_peer, T_IP_PEER, t_mac_us, T_IP_US));
    EXPECT_SUPER(&t, TCP_ACK, 1000, 0, d);
    free(d);
    t_fini(&t);
}

/* ---- TSO6: IPv6 output of a super-segment ---- */

/* A TCP super-segment (header of 20 bytes, partial checksum, n bytes cut
 * at gso) sent over IPv6 from 2001:db8::2 to 2001:db8::1 on eth0, whose
 * MAC we give (no neighbour discovery). */
static int send_super6(struct fixture *f, size_t n, uint16_t gso)
{
    struct ipv6_addr src, dst;
    assert_int_equal(ust_ip6_parse("2001:db8::2", (struct in6_addr *)src.a), 0);
    assert_int_equal(ust_ip6_parse("2001:db8::1", (struct in6_addr *)dst.a), 0);
    struct pkbuf *p = pkb_alloc(f->s, TCP_HDR_LEN + n);
    assert_non_null(p);
    struct tcp_repr th =
        {.sport = 5001, .dport = 80, .seq = 1, .ack = 1, .flags = TCP_ACK, .window = 1000};
    uint8_t *d = pkb_data(p);
    memset(d + TCP_HDR_LEN, 0x5a, n);
    tcp_emit_partial(&th, cksum_pseudo6(src.a, dst.a, 0, IPV6_NH_TCP), d, n);
    p->csum_at = (uint32_t)p->head;
    p->csum_off = 16;
    p->gso_size = gso;
    return ipv6_output_mac(f->s, p, IPV6_NH_TCP, &src, &dst, NULL, f->dev, t_mac_peer);
}

/* To a device that segments TCP/IPv6 a super-segment goes whole, marked
 * GSO_TCPV6; to one that segments only IPv4, or when its pieces would not
 * fit the MTU, IPv6 fragments it instead (its checksum finished first). */
static void tso6_super_segment_whole_or_fragmented(void **state)
{
    (void)state;
    struct fixture f;
    struct ust_config cfg;
    test_config(&cfg, 1);
    fixture_init(&f, &cfg);
    struct in6_addr a;
    assert_int_equal(ust_ip6_parse("2001:db8::2", &a), 0);
    assert_int_equal(ust_iface_add6(f.s, "eth0", &a, 64, f.now), 0);
    fixture_advance_to(&f, f.now + 3 * UST_SEC); /* DAD */
    struct ust_device *d = ust_stack_device(f.s, "eth0");
    cap_set_offload(d, ALL_OFFLOADS | UST_OFFLOAD_TSO6, 65535);
    cap_clear(f.cap);
    static uint8_t fr[70000];
    assert_int_equal(send_super6(&f, 4 * 1440, 1440), 0);
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    assert_int_equal(n, ETH_HDR_LEN + IPV6_HDR_LEN + TCP_HDR_LEN + 4 * 1440);
    const struct ust_pkt_meta *m = cap_last_meta(f.cap);
    assert_int_equal(m->gso_type, UST_GSO_TCPV6);
    assert_int_equal(m->gso_size, 1440);
    assert_int_equal(m->hdr_len, ETH_HDR_LEN + IPV6_HDR_LEN + TCP_HDR_LEN);
    assert_int_equal(m->csum_start, ETH_HDR_LEN + IPV6_HDR_LEN);
    assert_int_equal(cap_count(f.cap), 0);
    /* The device finished the checksum (the capture device does). */
    assert_int_equal(cksum6(fr + ETH_HDR_LEN + 8, fr + ETH_HDR_LEN + 24, IPV6_NH_TCP,
                            fr + m->csum_start, n - m->csum_start),
                     0);
    const struct ust_stats *st = ust_stack_stats(f.s);
    assert_int_equal(st->offload.tx_super, 1);
    assert_int_equal(st->offload.tx_super_segs, 4);
    /* Pieces of 1,480 bytes would make 1,540-byte packets: fragmented.
     * (The fragments wait for neighbour discovery: the peer answers.) */
    assert_int_equal(send_super6(&f, 4 * 1480, 1480), 0);
    assert_int_equal(st->ip6.frag_ok, 1);
    assert_int_equal(st->offload.tx_super, 1);
    struct nd_msg na = {.type = ICMPV6_NEIGHBOR_ADVERT,
                        .na_flags = ND_NA_SOLICITED | ND_NA_OVERRIDE};
    struct ipv6_addr peer, us;
    assert_int_equal(ust_ip6_parse("2001:db8::1", (struct in6_addr *)peer.a), 0);
    assert_int_equal(ust_ip6_parse("2001:db8::2", (struct in6_addr *)us.a), 0);
    na.target = peer;
    na.opts.has_tlla = true;
    memcpy(na.opts.tlla, t_mac_peer, 6);
    uint8_t msg[128], ip6[256];
    size_t mlen = nd_emit(&na, &peer, &us, msg, sizeof(msg));
    struct ipv6_repr r = {.payload_len = (uint16_t)mlen,
                          .next_hdr = IPV6_NH_ICMPV6,
                          .hop_limit = 255,
                          .src = peer,
                          .dst = us};
    ipv6_emit(&r, ip6);
    memcpy(ip6 + IPV6_HDR_LEN, msg, mlen);
    fixture_input(&f, fr,
                  build_eth(fr, t_mac_us, t_mac_peer, ETH_TYPE_IPV6, ip6, IPV6_HDR_LEN + mlen));
    assert_true(cap_count(f.cap) >= 5); /* the five fragments went */
    cap_clear(f.cap);
    /* A device with TSO4 alone: fragmented too. */
    cap_set_offload(d, ALL_OFFLOADS, 65535);
    assert_int_equal(send_super6(&f, 4 * 1440, 1440), 0);
    assert_int_equal(st->ip6.frag_ok, 2);
    assert_int_equal(st->offload.tx_super, 1);
    /* The fragments carry the finished checksum: put back together, the
     * segment sums to zero with its pseudo-header. */
    static uint8_t whole[8000];
    size_t got = 0;
    while ((n = cap_pop(f.cap, fr, sizeof(fr))) > 0) {
        const uint8_t *ip = fr + ETH_HDR_LEN;
        assert_int_equal(ip[6], IPV6_NH_FRAGMENT);
        size_t plen = ld16(ip + 4) - 8;
        size_t off = ld16(ip + IPV6_HDR_LEN + 2) & 0xfff8u;
        assert_true(off + plen <= sizeof(whole));
        memcpy(whole + off, ip + IPV6_HDR_LEN + 8, plen);
        got += plen;
    }
    assert_int_equal(got, TCP_HDR_LEN + 4 * 1440);
    assert_int_equal(cksum6(fr + ETH_HDR_LEN + 8, fr + ETH_HDR_LEN + 24, IPV6_NH_TCP, whole, got),
                     0);
    fixture_fini(&f);
}

/* The debug log tells a super-segment as the wire segments the device
 * cuts it into (docs/DESIGN.md, "Logging and counters"): one "out" line
 * each, at its own sequence number and length, PSH on the last only. */
#define TSO_LOG_LINES 64
struct tso_log {
    unsigned n;
    char line[TSO_LOG_LINES][320];
};

static void tso_log_sink(void *ctx, enum ust_log_level level, const char *func, const char *file,
                         int line, const char *msg)
{
    (void)level;
    (void)file;
    (void)line;
    struct tso_log *b = ctx;
    if (strncmp(msg, "out [", 5) != 0 || b->n == TSO_LOG_LINES)
        return;
    snprintf(b->line[b->n++], sizeof(b->line[0]), "%s: %s", func, msg);
}

static void tso_debug_log_per_wire_segment(void **state)
{
    (void)state;
    struct tso_log *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    struct ust_config cfg;
    t_config(&cfg);
    cfg.log_fn = tso_log_sink;
    cfg.log_ctx = b;
    struct tcp_peer t;
    t_open(&t, &cfg);
    cap_set_offload(ust_stack_device(t.f.s, "eth0"), ALL_OFFLOADS, 65535);
    set_int(&t.f, t.fd, IPPROTO_TCP, TCP_NODELAY, 1);
    t_conn(&t)->cwnd = 200 * MSS;
    ust_stack_set_log_level(t.f.s, UST_LOG_DEBUG);
    b->n = 0;
    const size_t n = 3 * MSS + 100;
    uint8_t *d = pattern(n, 9);
    uint32_t seq = t.pack;
    send_all(&t, d, n);
    EXPECT_SUPER(&t, TCP_ACK, n, MSS, d);
    EXPECT_NONE(&t);
    assert_int_equal(b->n, 4);
    for (unsigned k = 0; k < 4; k++) {
        char want[96];
        snprintf(want, sizeof(want), "] seq=%u,", seq + k * MSS);
        if (!strstr(b->line[k], want) || !strstr(b->line[k], "xmit: out [app] "))
            fail_msg("line %u: \"%s\" lacks \"%s\"", k, b->line[k], want);
        snprintf(want, sizeof(want), "len=%u: new data (TSO: piece %u of 4)", k < 3 ? MSS : 100,
                 k + 1);
        if (!strstr(b->line[k], want))
            fail_msg("line %u: \"%s\" lacks \"%s\"", k, b->line[k], want);
        assert_non_null(strstr(b->line[k], k < 3 ? " [.] " : " [P.] "));
    }
    free(d);
    t_fini(&t);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vnet_known_vectors),
        cmocka_unit_test(vnet_lying_headers),
        cmocka_unit_test(rx_checksum_vouched_for),
        cmocka_unit_test(rx_lying_metadata_dropped),
        cmocka_unit_test(rx_lying_super_frame_ipv6),
        cmocka_unit_test(super_segment_in_order),
        cmocka_unit_test(super_segment_out_of_order),
        cmocka_unit_test(super_segment_over_sacked_range),
        cmocka_unit_test(tso_nagle_limit),
        cmocka_unit_test(tso_window_boundary),
        cmocka_unit_test(tso_with_fin),
        cmocka_unit_test(tso_partial_retransmit),
        cmocka_unit_test(tso_go_back_after_timeout),
        cmocka_unit_test(no_tso_plain_segments),
        cmocka_unit_test(tso_debug_log_per_wire_segment),
        cmocka_unit_test(tx_payload_in_pieces),
        cmocka_unit_test(tx_super_segment_in_pieces),
        cmocka_unit_test(tx_queued_for_arp_keeps_its_bytes),
        cmocka_unit_test(tso6_super_segment_whole_or_fragmented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
