/* The DHCP client inside a stack, frame by frame on a capture device and a
 * virtual clock: the address arrives (DISCOVER from 0.0.0.0, an offer
 * unicast to the offered address, the ARP probe, the lease applied with
 * its route and DNS server), malformed replies are dropped and counted,
 * an ARP conflict makes it DECLINE, and an expired lease takes the address
 * away and tells the sockets bound to it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "net/ipv4.h"
#include "net/route.h"
#include "ustack/dhcp.h"
#include "ustack/dns.h"
#include "ustack/socket.h"
#include "wire/arp.h"
#include "wire/bytes.h"
#include "wire/checksum.h"
#include "wire/dhcp.h"
#include "wire/ethernet.h"
#include "wire/ipv4.h"
#include "wire/udp.h"

#define SERVER UST_IP4(192, 0, 2, 1)
#define OFFERED UST_IP4(192, 0, 2, 88)

struct t {
    struct ust_stack *s;
    struct cap *cap;
    ust_time_t now;
    uint32_t xid;
};

static void t_init(struct t *t)
{
    struct ust_config cfg;
    test_config(&cfg, 5);
    memset(t, 0, sizeof(*t));
    t->now = 1000 * UST_SEC;
    assert_int_equal(ust_stack_create(&cfg, &t->s), 0);
    struct ust_device *d;
    assert_int_equal(cap_create("eth0", t_mac_us, &t->cap, &d), 0);
    assert_int_equal(ust_stack_add_device(t->s, d), 0);
    struct ust_dhcp_config dc;
    ust_dhcp_config_init(&dc);
    dc.probe_num = 1;
    assert_int_equal(ust_dhcp_start(t->s, "eth0", &dc, t->now), 0);
    assert_int_equal(ust_dhcp_start(t->s, "eth0", &dc, t->now), -EEXIST);
    assert_int_equal(ust_dhcp_start(t->s, "nope", &dc, t->now), -ENODEV);
}

/* The next frame the stack sent must be a DHCP message of this type from
 * 0.0.0.0 (src 0) or our address; returns it parsed. */
static struct dhcp_repr pop_dhcp(struct t *t, uint8_t type, uint32_t src, uint32_t dst)
{
    uint8_t f[1600];
    size_t n = cap_pop(t->cap, f, sizeof(f));
    assert_true(n > ETH_HDR_LEN + IPV4_HDR_LEN + UDP_HDR_LEN);
    assert_int_equal(ld16(f + 12), ETH_TYPE_IPV4);
    struct ipv4_repr ip;
    assert_int_equal(ipv4_parse(f + ETH_HDR_LEN, n - ETH_HDR_LEN, &ip), WIRE_OK);
    assert_int_equal(ip.proto, IPV4_PROTO_UDP);
    assert_int_equal(ip.src, src);
    assert_int_equal(ip.dst, dst);
    if (dst == 0xffffffffu)
        assert_memory_equal(f, eth_broadcast, 6);
    const uint8_t *u = f + ETH_HDR_LEN + IPV4_HDR_LEN;
    struct udp_repr ur;
    assert_int_equal(udp_parse(u, ip.total_len - IPV4_HDR_LEN,
                               ipv4_pseudo_sum(ip.src, ip.dst, IPV4_PROTO_UDP, 0), &ur),
                     WIRE_OK);
    assert_int_equal(ur.sport, DHCP_CLIENT_PORT);
    assert_int_equal(ur.dport, DHCP_SERVER_PORT);
    struct dhcp_repr m;
    assert_int_equal(dhcp_parse(u + UDP_HDR_LEN, ur.len - UDP_HDR_LEN, &m), WIRE_OK);
    assert_int_equal(m.type, type);
    assert_memory_equal(m.chaddr, t_mac_us, 6);
    t->xid = m.xid;
    return m;
}

/* A server reply of this type, for xid, IP-unicast to dst at our MAC;
 * partial: as the kernel's side of a TAP with offloads sends it, the UDP
 * checksum left partial (the pseudo-header sum only) and said so in the
 * frame's metadata. */
static void server_says_meta(struct t *t, uint8_t type, uint32_t dst, uint32_t lease, size_t cut,
                             bool partial);
static void server_says(struct t *t, uint8_t type, uint32_t dst, uint32_t lease, size_t cut)
{
    server_says_meta(t, type, dst, lease, cut, false);
}

static void server_says_meta(struct t *t, uint8_t type, uint32_t dst, uint32_t lease, size_t cut,
                             bool partial)
{
    uint8_t msg[DHCP_EMIT_LEN + 64];
    memset(msg, 0, sizeof(msg));
    msg[0] = DHCP_BOOTREPLY;
    msg[1] = 1;
    msg[2] = 6;
    st32(msg + 4, t->xid);
    if (type != DHCP_NAK)
        st32(msg + 16, OFFERED);
    memcpy(msg + 28, t_mac_us, 6);
    st32(msg + DHCP_FIXED_LEN, DHCP_MAGIC);
    uint8_t *p = msg + DHCP_MIN_LEN;
    uint8_t opts[] = {53,  1,   type, 54, 4, 192, 0,   2, 1, 51, 4, 0, 0,   0, 0, 1,  4,
                      255, 255, 255,  0,  3, 4,   192, 0, 2, 1,  6, 4, 192, 0, 2, 53, 255};
    st32(opts + 11, lease);
    memcpy(p, opts, sizeof(opts));
    size_t len = DHCP_EMIT_LEN - cut;
    uint8_t udp[UDP_HDR_LEN + sizeof(msg)];
    memcpy(udp + UDP_HDR_LEN, msg, len);
    struct udp_repr u = {.sport = DHCP_SERVER_PORT, .dport = DHCP_CLIENT_PORT};
    udp_emit(&u, ipv4_pseudo_sum(SERVER, dst, IPV4_PROTO_UDP, 0), udp, len);
    if (partial)
        st16(udp + 6, (uint16_t)~cksum_fold(ipv4_pseudo_sum(SERVER, dst, IPV4_PROTO_UDP,
                                                            (uint16_t)(UDP_HDR_LEN + len))));
    uint8_t ip[IPV4_HDR_LEN + sizeof(udp)];
    size_t il = build_ipv4(ip, SERVER, dst, IPV4_PROTO_UDP, 7, 0, 64, udp, UDP_HDR_LEN + len);
    uint8_t frame[ETH_HDR_LEN + sizeof(ip)];
    size_t fl = build_eth(frame, t_mac_us, t_mac_peer, ETH_TYPE_IPV4, ip, il);
    struct ust_pkt_meta m = {.flags = UST_META_NEEDS_CSUM,
                             .csum_start = ETH_HDR_LEN + IPV4_HDR_LEN,
                             .csum_offset = 6};
    ust_stack_input_meta(t->s, 0, frame, fl, partial ? &m : NULL, t->now);
}

static void advance(struct t *t, ust_time_t to)
{
    while (ust_stack_next_deadline(t->s) <= to) {
        ust_time_t d = ust_stack_next_deadline(t->s);
        if (d > t->now)
            t->now = d;
        ust_stack_poll(t->s, t->now);
    }
    t->now = to;
    ust_stack_poll(t->s, t->now);
}

/* Up to the ARP probe of the offered address. */
static void to_probe(struct t *t)
{
    pop_dhcp(t, DHCP_DISCOVER, 0, 0xffffffffu);
    assert_int_equal(cap_count(t->cap), 0);
    /* dnsmasq unicasts the offer to the address it offers, at our MAC. */
    server_says(t, DHCP_OFFER, OFFERED, 600, 0);
    struct dhcp_repr m = pop_dhcp(t, DHCP_REQUEST, 0, 0xffffffffu);
    assert_int_equal(m.requested_ip, OFFERED);
    assert_int_equal(m.server_id, SERVER);
    server_says(t, DHCP_ACK, OFFERED, 600, 0);
    uint8_t f[128];
    size_t n = cap_pop(t->cap, f, sizeof(f));
    assert_true(n >= ETH_HDR_LEN + ARP_LEN);
    assert_int_equal(ld16(f + 12), ETH_TYPE_ARP);
    struct arp_repr a;
    assert_int_equal(arp_parse(f + ETH_HDR_LEN, n - ETH_HDR_LEN, &a), WIRE_OK);
    assert_int_equal(a.op, ARP_OP_REQUEST);
    assert_int_equal(a.spa, 0); /* RFC 5227 2.1.1: a probe */
    assert_int_equal(a.tpa, OFFERED);
    struct ust_dhcp_lease l;
    assert_int_equal(ust_dhcp_lease(t->s, "eth0", &l), -EAGAIN);
    assert_false(ipv4_is_local(t->s, OFFERED));
}

static void lease_applied_then_expires(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    to_probe(&t);
    ust_time_t acked = t.now;
    advance(&t, t.now + 2 * UST_SEC); /* ANNOUNCE_WAIT: nobody objected */
    struct ust_dhcp_lease l;
    assert_int_equal(ust_dhcp_lease(t.s, "eth0", &l), 0);
    assert_int_equal(l.addr, OFFERED);
    assert_int_equal(l.prefix_len, 24);
    assert_true(ipv4_is_local(t.s, OFFERED));
    int dev;
    ust_ip4_t hop;
    assert_int_equal(route_lookup(t.s, T_IP_REMOTE, &dev, &hop), 0);
    assert_int_equal(hop, SERVER); /* the default route via the router */
    ust_ip4_t dns[3];
    assert_int_equal(ust_dns_servers(t.s, dns, 3), 1);
    assert_int_equal(dns[0], UST_IP4(192, 0, 2, 53));
    assert_int_equal(ust_stack_stats(t.s)->dhcp.leases, 1);
    cap_clear(t.cap); /* the announcement */
    int fd = ust_socket(t.s, AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = sin_of(OFFERED, 5000);
    assert_int_equal(ust_bind(t.s, fd, SA(sin), sizeof(sin)), 0);
    /* Bound, a server message for another address is not the client's. */
    uint64_t not_ours = ust_stack_stats(t.s)->ip.drop_not_ours;
    server_says(&t, DHCP_ACK, UST_IP4(192, 0, 2, 77), 600, 0);
    assert_int_equal(ust_stack_stats(t.s)->ip.drop_not_ours, not_ours + 1);
    assert_int_equal(ust_stack_stats(t.s)->dhcp.rx, 2);
    /* A truncated reply is dropped and counted; the client goes on. */
    server_says(&t, DHCP_ACK, OFFERED, 600, 70);
    assert_int_equal(ust_stack_stats(t.s)->dhcp.drop_malformed, 1);
    /* The server is gone: renew at T1 (unicast: ARP for the server first),
     * rebind at T2, and at expiry the address goes. */
    advance(&t, acked + 300 * UST_SEC);
    uint8_t f[1600];
    size_t n = cap_pop(t.cap, f, sizeof(f));
    assert_int_equal(ld16(f + 12), ETH_TYPE_ARP); /* who has the server? */
    (void)n;
    advance(&t, acked + 525 * UST_SEC);
    assert_true(ipv4_is_local(t.s, OFFERED));
    advance(&t, acked + 600 * UST_SEC);
    assert_false(ipv4_is_local(t.s, OFFERED));
    assert_int_equal(ust_dhcp_lease(t.s, "eth0", &l), -EAGAIN);
    assert_int_not_equal(route_lookup(t.s, T_IP_REMOTE, &dev, &hop), 0);
    assert_int_equal(t.s->routes->n, 0); /* the connected and default routes are gone */
    assert_int_equal(ust_dns_servers(t.s, dns, 3), 0);
    assert_int_equal(ust_stack_stats(t.s)->dhcp.expiries, 1);
    /* The socket hears of it. */
    char buf[8];
    assert_fails(ust_recv(t.s, fd, buf, sizeof(buf), MSG_DONTWAIT), EADDRNOTAVAIL);
    /* And the client starts over, from 0.0.0.0. */
    cap_clear(t.cap);
    advance(&t, t.now + 5 * UST_SEC);
    pop_dhcp(&t, DHCP_DISCOVER, 0, 0xffffffffu);
    ust_close(t.s, fd);
    assert_int_equal(ust_dhcp_stop(t.s, "eth0", true, t.now), 0);
    assert_int_equal(ust_dhcp_stop(t.s, "eth0", true, t.now), -ENOENT);
    ust_stack_destroy(t.s);
}

static void conflict_declines(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    to_probe(&t);
    /* Another host answers for the address. */
    static const uint8_t other[6] = {0x02, 0, 0, 0, 0, 0x99};
    uint8_t f[128];
    size_t n = build_arp(f, ARP_OP_REPLY, t_mac_us, other, OFFERED, t_mac_us, 0);
    ust_stack_input(t.s, 0, f, n, t.now);
    struct dhcp_repr m = pop_dhcp(&t, DHCP_DECLINE, 0, 0xffffffffu);
    assert_int_equal(m.requested_ip, OFFERED);
    assert_int_equal(ust_stack_stats(t.s)->dhcp.declines, 1);
    advance(&t, t.now + 5 * UST_SEC);
    assert_false(ipv4_is_local(t.s, OFFERED));
    assert_int_equal(cap_count(t.cap), 0); /* 10 s before asking again */
    advance(&t, t.now + 6 * UST_SEC);
    pop_dhcp(&t, DHCP_DISCOVER, 0, 0xffffffffu);
    ust_stack_destroy(t.s);
}

static void release_on_stop(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    to_probe(&t);
    advance(&t, t.now + 2 * UST_SEC);
    cap_clear(t.cap);
    assert_int_equal(ust_dhcp_stop(t.s, NULL, true, t.now), 0);
    /* At once, though the server's MAC is not known: no ARP round trip. */
    struct dhcp_repr m = pop_dhcp(&t, DHCP_RELEASE, OFFERED, SERVER);
    assert_int_equal(m.ciaddr, OFFERED);
    assert_int_equal(m.server_id, SERVER);
    assert_false(ipv4_is_local(t.s, OFFERED));
    assert_int_equal(ust_stack_stats(t.s)->dhcp.releases, 1);
    ust_stack_destroy(t.s);
}

/* Over a TAP with offloads the kernel leaves dnsmasq's UDP checksum
 * partial; the device vouches for it, and the client takes the offer as
 * udp_input would. Without that word the same bytes are malformed. */
static void offer_with_partial_checksum(void **state)
{
    (void)state;
    struct t t;
    t_init(&t);
    pop_dhcp(&t, DHCP_DISCOVER, 0, 0xffffffffu);
    server_says_meta(&t, DHCP_OFFER, OFFERED, 600, 0, true); /* no offloads: summed */
    assert_int_equal(cap_count(t.cap), 0);
    assert_int_equal(ust_stack_stats(t.s)->dhcp.drop_malformed, 1);
    cap_set_offload(ust_stack_device(t.s, "eth0"), UST_OFFLOAD_RX_CSUM | UST_OFFLOAD_TX_CSUM, 0);
    server_says_meta(&t, DHCP_OFFER, OFFERED, 600, 0, true);
    struct dhcp_repr m = pop_dhcp(&t, DHCP_REQUEST, 0, 0xffffffffu);
    assert_int_equal(m.requested_ip, OFFERED);
    assert_int_equal(ust_stack_stats(t.s)->dhcp.drop_malformed, 1);
    assert_int_equal(ust_stack_stats(t.s)->offload.rx_csum_trusted, 1);
    ust_stack_destroy(t.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lease_applied_then_expires),
        cmocka_unit_test(conflict_declines),
        cmocka_unit_test(release_on_stop),
        cmocka_unit_test(offer_with_partial_checksum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
