/* IPv6 as a host does it (net/ipv6.c, nd.c, addrconf.c, route6.c,
 * icmpv6.c), frame by frame on a virtual clock: duplicate address
 * detection, echo, neighbour solicitation and NUD, router advertisements
 * and SLAAC, source selection, the errors we send and the input we drop,
 * and dual-stack sockets. The peer is fe80::1 / 2001:db8::1 (MAC
 * t_mac_peer); the stack is 2001:db8::2/64 on eth0. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
// clang-format off
#include <cmocka.h>
// clang-format on

#include "harness.h"
#include "net/ip.h"
#include "net/ipv6.h"
#include "net/nd.h"
#include "net/route6.h"
#include "transport/socket.h"
#include "ustack/socket.h"
#include "wire/bytes.h"
#include "wire/ethernet.h"
#include "wire/icmpv6.h"
#include "wire/ipv4.h"
#include "wire/ipv6.h"
#include "wire/tcp.h"
#include "wire/udp.h"

#define FR_MAX 2048

static struct ipv6_addr A(const char *text) {
    struct ipv6_addr a;
    assert_int_equal(ipv6_addr_parse(text, &a), 0);
    return a;
}

static const struct ust_stats *
st(struct fixture *f)
{
    return ust_stack_stats(f->s);
}

/* ---- building the peer's frames ---- */

/* Ethernet + IPv6 with payload (an upper-layer message already built). */
static size_t frame6(uint8_t *buf, const uint8_t dst_mac[6], const struct ipv6_addr *src,
                     const struct ipv6_addr *dst, uint8_t next, uint8_t hlim, const void *payload,
                     size_t len)
{
    uint8_t ip[FR_MAX];
    struct ipv6_repr r = {.payload_len = (uint16_t)len,
                          .next_hdr = next,
                          .hop_limit = hlim,
                          .src = *src,
                          .dst = *dst};
    ipv6_emit(&r, ip);
    memcpy(ip + IPV6_HDR_LEN, payload, len);
    return build_eth(buf, dst_mac, t_mac_peer, ETH_TYPE_IPV6, ip, IPV6_HDR_LEN + len);
}

static size_t nd6(uint8_t *buf, const uint8_t dst_mac[6], const struct ipv6_addr *src,
                  const struct ipv6_addr *dst, uint8_t hlim, const struct nd_msg *m)
{
    uint8_t msg[256];
    size_t n = nd_emit(m, src, dst, msg, sizeof(msg));
    assert_true(n > 0);
    return frame6(buf, dst_mac, src, dst, IPV6_NH_ICMPV6, hlim, msg, n);
}

/* The peer's solicited NA for target (its own address, at t_mac_peer),
 * from target to dst at dst_mac: what answers our resolution. */
static size_t solicited_na(uint8_t *buf, const uint8_t dst_mac[6], const struct ipv6_addr *target,
                           const struct ipv6_addr *dst)
{
    struct nd_msg na = {.type = ICMPV6_NEIGHBOR_ADVERT,
                        .target = *target,
                        .na_flags = ND_NA_SOLICITED | ND_NA_OVERRIDE};
    na.opts.has_tlla = true;
    memcpy(na.opts.tlla, t_mac_peer, 6);
    return nd6(buf, dst_mac, target, dst, 255, &na);
}

static size_t echo6(uint8_t *buf, const uint8_t dst_mac[6], const struct ipv6_addr *src,
                    const struct ipv6_addr *dst, uint16_t seq)
{
    uint8_t msg[64] = {0};
    const char data[] = "ping6";
    memcpy(msg + ICMPV6_HDR_LEN, data, sizeof(data));
    struct icmpv6_repr r = {.type = ICMPV6_ECHO_REQUEST,
                            .rest = 0x1234u << 16 | seq,
                            .payload = msg + ICMPV6_HDR_LEN,
                            .payload_len = sizeof(data)};
    icmpv6_emit(&r, src, dst, msg);
    return frame6(buf, dst_mac, src, dst, IPV6_NH_ICMPV6, 64, msg, ICMPV6_HDR_LEN + sizeof(data));
}

static const uint8_t mac_sn_us[6] = {0x33, 0x33, 0xff, 0, 0, 2}; /* ff02::1:ff00:2 */

/* ---- reading what the stack sent ---- */

struct sent6 {
    uint8_t frame[FR_MAX];
    size_t len;
    struct ipv6_repr ip;
    const uint8_t *l4; /* the upper layer (after extension headers) */
    size_t l4_len;
    uint8_t proto;
};

/* Pops frames until an IPv6 one with upper-layer proto (and, for ICMPv6,
 * type) comes; false if none. */
static bool pop6(struct fixture *f, struct sent6 *o, uint8_t proto, int icmp_type)
{
    while ((o->len = cap_pop(f->cap, o->frame, sizeof(o->frame))) > 0) {
        if (ld16(o->frame + 12) != ETH_TYPE_IPV6)
            continue;
        const uint8_t *p = o->frame + ETH_HDR_LEN;
        if (ipv6_parse(p, o->len - ETH_HDR_LEN, &o->ip) != WIRE_OK)
            continue;
        struct ipv6_ext e;
        if (ipv6_ext_walk(p, &o->ip, &e) != IPV6_EXT_OK)
            continue;
        o->proto = e.proto;
        o->l4 = p + e.proto_off;
        o->l4_len = IPV6_HDR_LEN + o->ip.payload_len - e.proto_off;
        if (e.proto == proto && (icmp_type < 0 || o->l4[0] == icmp_type))
            return true;
    }
    return false;
}

/* The stack with IPv6 on eth0 and 2001:db8::2/64, DAD done (1 probe),
 * its start-up chatter (MLD reports, DAD probes, RS) popped. */
static void v6_fixture(struct fixture *f, struct ust_config *cfg)
{
    struct ust_config c;
    if (!cfg) {
        test_config(&c, 1);
        cfg = &c;
    }
    fixture_init(f, cfg);
    struct in6_addr a;
    assert_int_equal(ust_ip6_parse("2001:db8::2", &a), 0);
    assert_int_equal(ust_iface_add6(f->s, "eth0", &a, 64, f->now), 0);
    fixture_advance_to(f, f->now + 3 * UST_SEC);
    cap_clear(f->cap);
}

/* ---- duplicate address detection (RFC 4862 5.4) ---- */

static void dad_probes_then_address_is_ours(void **state)
{
    (void)state;
    struct fixture f;
    struct ust_config cfg;
    test_config(&cfg, 1);
    fixture_init(&f, &cfg);
    struct in6_addr in;
    ust_ip6_parse("2001:db8::2", &in);
    assert_int_equal(ust_iface_add6(f.s, "eth0", &in, 64, f.now), 0);
    struct ipv6_addr us = A("2001:db8::2");
    /* Tentative: an echo to it is dropped, not answered. */
    uint8_t fr[FR_MAX];
    struct ipv6_addr peer = A("2001:db8::1");
    size_t n = echo6(fr, t_mac_us, &peer, &us, 1);
    fixture_input(&f, fr, n);
    assert_true(st(&f)->ip6.drop_tentative >= 1);
    /* Within 1 s, a probe from :: to its solicited-node group, hop limit 255. */
    fixture_advance_to(&f, f.now + 1100 * UST_MS);
    struct sent6 o;
    bool probe = false;
    while (pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_SOLICIT)) {
        if (memcmp(o.l4 + 8, us.a, 16) != 0)
            continue;
        probe = true;
        assert_true(ipv6_addr_is_unspecified(&o.ip.src));
        struct ipv6_addr sn = A("ff02::1:ff00:2");
        assert_true(ipv6_addr_eq(&o.ip.dst, &sn));
        assert_int_equal(o.ip.hop_limit, 255);
        assert_memory_equal(o.frame, mac_sn_us, 6);
    }
    assert_true(probe);
    /* No answer in RetransTimer: ours. */
    fixture_advance_to(&f, f.now + 1100 * UST_MS);
    assert_true(st(&f)->nd.dad_ok >= 1);
    cap_clear(f.cap);
    n = echo6(fr, t_mac_us, &peer, &us, 2);
    fixture_input(&f, fr, n);
    /* The reply waits for the peer's MAC: an NS for it goes first. */
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_SOLICIT));
    fixture_fini(&f);
}

static void dad_failure_drops_the_address(void **state)
{
    (void)state;
    struct fixture f;
    struct ust_config cfg;
    test_config(&cfg, 1);
    fixture_init(&f, &cfg);
    struct in6_addr in;
    ust_ip6_parse("2001:db8::2", &in);
    assert_int_equal(ust_iface_add6(f.s, "eth0", &in, 64, f.now), 0);
    /* Someone else probes the same address while ours is tentative. */
    struct ipv6_addr us = A("2001:db8::2"), any = ipv6_addr_any, sn = A("ff02::1:ff00:2");
    struct nd_msg ns = {.type = ICMPV6_NEIGHBOR_SOLICIT, .target = us};
    uint8_t fr[FR_MAX];
    size_t n = nd6(fr, mac_sn_us, &any, &sn, 255, &ns);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->nd.dad_failed, 1);
    assert_null(addrconf_find(f.s, &us));
    fixture_advance_to(&f, f.now + 3 * UST_SEC);
    assert_false(ipv6_is_local(f.s, &us));
    fixture_fini(&f);
}

static void link_local_retries_with_a_new_identifier(void **state)
{
    (void)state;
    struct fixture f;
    struct ust_config cfg;
    test_config(&cfg, 1);
    fixture_init(&f, &cfg);
    assert_int_equal(ust_iface_enable_ipv6(f.s, "eth0", f.now), 0);
    struct ipv6_addr ll;
    struct ip6_ifaddr *a = NULL;
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++)
        if (f.s->ip6->addr[i].state != IP6A_FREE && f.s->ip6->addr[i].origin == IP6A_LINK_LOCAL)
            a = &f.s->ip6->addr[i];
    assert_non_null(a);
    ll = a->addr;
    assert_true(ipv6_addr_is_link_local(&ll));
    /* An NA for it while tentative: a duplicate. RFC 7217 6: another one. */
    struct ipv6_addr other = A("fe80::99"), all = ipv6_addr_all_nodes;
    struct nd_msg na = {.type = ICMPV6_NEIGHBOR_ADVERT, .target = ll, .na_flags = ND_NA_OVERRIDE};
    na.opts.has_tlla = true;
    memcpy(na.opts.tlla, t_mac_peer, 6);
    uint8_t fr[FR_MAX];
    const uint8_t mac_all[6] = {0x33, 0x33, 0, 0, 0, 1};
    size_t n = nd6(fr, mac_all, &other, &all, 255, &na);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->nd.dad_failed, 1);
    assert_null(addrconf_find(f.s, &ll));
    struct ip6_ifaddr *b = NULL;
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++)
        if (f.s->ip6->addr[i].state != IP6A_FREE && f.s->ip6->addr[i].origin == IP6A_LINK_LOCAL)
            b = &f.s->ip6->addr[i];
    assert_non_null(b);
    assert_false(ipv6_addr_eq(&b->addr, &ll));
    assert_int_equal(b->dad_counter, 1);
    assert_memory_equal(b->addr.a, ll.a, 8); /* the same prefix, fe80::/64 */
    fixture_fini(&f);
}

/* ---- echo (RFC 4443 4) ---- */

static void echo_to_global_and_all_nodes(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    struct ipv6_addr peer = A("2001:db8::1"), us = A("2001:db8::2");
    /* Teach the peer's MAC first (an NS from it). */
    struct nd_msg ns = {.type = ICMPV6_NEIGHBOR_SOLICIT, .target = us};
    ns.opts.has_slla = true;
    memcpy(ns.opts.slla, t_mac_peer, 6);
    struct ipv6_addr sn = A("ff02::1:ff00:2");
    uint8_t fr[FR_MAX];
    size_t n = nd6(fr, mac_sn_us, &peer, &sn, 255, &ns);
    fixture_input(&f, fr, n);
    struct sent6 o;
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_ADVERT));
    /* Solicited, override, our MAC as the target's link-layer address. */
    assert_int_equal(o.l4[4] & (ND_NA_SOLICITED | ND_NA_OVERRIDE | ND_NA_ROUTER),
                     ND_NA_SOLICITED | ND_NA_OVERRIDE);
    assert_true(ipv6_addr_eq(&o.ip.dst, &peer));
    assert_memory_equal(o.l4 + 24 + 2, t_mac_us, 6);
    n = echo6(fr, t_mac_us, &peer, &us, 7);
    fixture_input(&f, fr, n);
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_ECHO_REPLY));
    assert_true(ipv6_addr_eq(&o.ip.src, &us));
    assert_int_equal(ld16(o.l4 + 6), 7);
    assert_memory_equal(o.l4 + 8, "ping6", 6);
    assert_memory_equal(o.frame, t_mac_peer, 6);
    /* To ff02::1 from a link-local peer: the answer comes from our
     * link-local address (RFC 6724: the scope matches). */
    struct ipv6_addr llpeer = A("fe80::1"), all = ipv6_addr_all_nodes;
    const uint8_t mac_all[6] = {0x33, 0x33, 0, 0, 0, 1};
    n = echo6(fr, mac_all, &llpeer, &all, 8);
    fixture_input(&f, fr, n);
    fixture_advance_to(&f, f.now + 2 * UST_SEC);
    bool replied = false;
    while (pop6(&f, &o, IPV6_NH_ICMPV6, -1))
        if (o.l4[0] == ICMPV6_ECHO_REPLY) {
            replied = true;
            assert_true(ipv6_addr_is_link_local(&o.ip.src));
        } else if (o.l4[0] == ICMPV6_NEIGHBOR_SOLICIT) {
            /* Resolving fe80::1: answer so the reply can leave. */
            size_t m = solicited_na(fr, t_mac_us, &llpeer, &o.ip.src);
            fixture_input(&f, fr, m);
        }
    assert_true(replied);
    fixture_fini(&f);
}

/* ---- NUD (RFC 4861 7.3) ---- */

static void neighbour_states_and_give_up(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    struct ipv6_addr peer = A("2001:db8::1"), us = A("2001:db8::2");
    /* A datagram to the peer: INCOMPLETE, a multicast NS, the datagram waits. */
    int fd = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    memcpy(&to.sin6_addr, peer.a, 16);
    assert_int_equal(ust_sendto(f.s, fd, "x", 1, 0, SA(to), sizeof(to)), 1);
    struct sent6 o;
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_SOLICIT));
    struct ipv6_addr sn = A("ff02::1:ff00:1");
    assert_true(ipv6_addr_eq(&o.ip.dst, &sn));
    assert_true(ipv6_addr_eq(&o.ip.src, &us) || ipv6_addr_is_link_local(&o.ip.src));
    assert_false(pop6(&f, &o, IPV6_NH_UDP, -1));
    /* The solicited NA: REACHABLE, the datagram leaves. */
    uint8_t fr[FR_MAX];
    size_t n = solicited_na(fr, t_mac_us, &peer, &us);
    fixture_input(&f, fr, n);
    assert_true(pop6(&f, &o, IPV6_NH_UDP, -1));
    assert_memory_equal(o.frame, t_mac_peer, 6);
    enum nd_state stt;
    assert_int_equal(nd_lookup(f.s, f.dev, &peer, NULL, &stt), 0);
    assert_int_equal(stt, ND_REACHABLE);
    /* ReachableTime (at most 1.5 x 30 s) later: STALE. */
    fixture_advance_to(&f, f.now + 46 * UST_SEC);
    assert_int_equal(nd_lookup(f.s, f.dev, &peer, NULL, &stt), 0);
    assert_int_equal(stt, ND_STALE);
    /* A send: DELAY, and 5 s later PROBE with a unicast NS. */
    cap_clear(f.cap);
    assert_int_equal(ust_sendto(f.s, fd, "y", 1, 0, SA(to), sizeof(to)), 1);
    assert_true(pop6(&f, &o, IPV6_NH_UDP, -1));
    assert_int_equal(nd_lookup(f.s, f.dev, &peer, NULL, &stt), 0);
    assert_int_equal(stt, ND_DELAY);
    fixture_advance_to(&f, f.now + 5 * UST_SEC + UST_MS);
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_SOLICIT));
    assert_true(ipv6_addr_eq(&o.ip.dst, &peer));
    assert_memory_equal(o.frame, t_mac_peer, 6);
    /* No answer to 3 probes: gone. */
    fixture_advance_to(&f, f.now + 4 * UST_SEC);
    assert_int_equal(nd_lookup(f.s, f.dev, &peer, NULL, &stt), -ENOENT);
    assert_int_equal(st(&f)->nd.resolve_failed, 1);
    ust_close(f.s, fd);
    fixture_fini(&f);
}

/* RFC 4861 7.2.2: when resolution fails, the senders of the packets that
 * waited hear "address unreachable": a TCP connection being set up ends
 * with EHOSTUNREACH after the three solicitations (not after its SYN
 * retries), a connected UDP socket gets the error. */
static void failed_resolution_reports_address_unreachable(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    int t = ust_socket(f.s, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int u = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    assert_true(t >= 0 && u >= 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
    struct ipv6_addr gone = A("2001:db8::9");
    memcpy(&to.sin6_addr, gone.a, 16);
    assert_fails(ust_connect(f.s, t, SA(to), sizeof(to)), EINPROGRESS);
    to.sin6_port = htons(9);
    assert_int_equal(ust_connect(f.s, u, SA(to), sizeof(to)), 0);
    assert_int_equal(ust_send(f.s, u, "x", 1, 0), 1);
    struct sent6 o;
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_SOLICIT));
    int err = -1;
    socklen_t len = sizeof(err);
    fixture_advance_to(&f, f.now + 2 * UST_SEC);
    assert_int_equal(ust_getsockopt(f.s, t, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, 0); /* two solicitations so far */
    fixture_advance_to(&f, f.now + 2 * UST_SEC);
    assert_int_equal(st(&f)->nd.resolve_failed, 1);
    assert_int_equal(ust_getsockopt(f.s, t, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, EHOSTUNREACH);
    char b[4];
    assert_fails(ust_recv(f.s, u, b, sizeof(b), MSG_DONTWAIT), EHOSTUNREACH);
    ust_close(f.s, t);
    ust_close(f.s, u);
    fixture_fini(&f);
}

/* RFC 4007: a link-local address needs its link. With two IPv6
 * interfaces, sin6_scope_id picks the one a datagram or a connection
 * uses; without it the choice is ambiguous (EINVAL, as Linux); a zone that
 * names no IPv6 interface is ENODEV. What arrives carries its link in the
 * addresses the API hands back, and a connection accepted from a
 * link-local peer answers on the link its SYN came in on. */
static void zones_pick_the_link(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    static const uint8_t mac1[6] = {0x02, 0, 0, 0, 0x01, 0x02};
    struct cap *cap1;
    struct ust_device *d1;
    assert_int_equal(cap_create("eth1", mac1, &cap1, &d1), 0);
    int dev1 = ust_stack_add_device(f.s, d1);
    assert_true(dev1 > 0);
    assert_int_equal(ust_iface_enable_ipv6(f.s, "eth1", f.now), 0);
    fixture_advance_to(&f, f.now + 3 * UST_SEC);
    cap_clear(f.cap);
    cap_clear(cap1);
    uint32_t zone1 = ust_if_nametoindex(f.s, "eth1");
    assert_int_equal(zone1, (uint32_t)dev1 + 1);
    assert_int_equal(ust_if_nametoindex(f.s, "eth0"), (uint32_t)f.dev + 1);
    assert_int_equal(ust_if_nametoindex(f.s, "nope"), 0);

    struct ipv6_addr peer = A("fe80::1");
    int u = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    memcpy(&to.sin6_addr, peer.a, 16);
    assert_fails(ust_sendto(f.s, u, "a", 1, 0, SA(to), sizeof(to)), EINVAL);
    to.sin6_scope_id = 99;
    assert_fails(ust_sendto(f.s, u, "a", 1, 0, SA(to), sizeof(to)), ENODEV);
    to.sin6_scope_id = zone1;
    assert_int_equal(ust_sendto(f.s, u, "a", 1, 0, SA(to), sizeof(to)), 1);
    uint8_t out[FR_MAX];
    assert_int_equal(cap_count(f.cap), 0); /* not on eth0 */
    size_t n = cap_pop(cap1, out, sizeof(out));
    assert_true(n > ETH_HDR_LEN + IPV6_HDR_LEN);
    assert_int_equal(ld16(out + 12), ETH_TYPE_IPV6);
    assert_int_equal(out[ETH_HDR_LEN + IPV6_HDR_LEN], ICMPV6_NEIGHBOR_SOLICIT);
    cap_clear(cap1);
    /* fe80::1 answers on eth1: the datagram follows there. */
    struct ust_addr6 ours[4];
    assert_true(ust_iface_addrs6(f.s, "eth1", ours, 4) >= 1);
    struct ipv6_addr ll1;
    memcpy(ll1.a, &ours[0].addr, 16);
    assert_true(ipv6_addr_is_link_local(&ll1));
    uint8_t fr[FR_MAX];
    n = solicited_na(fr, mac1, &peer, &ll1);
    ust_stack_input(f.s, dev1, fr, n, f.now);
    ust_stack_poll(f.s, f.now);
    n = cap_pop(cap1, out, sizeof(out));
    assert_true(n > ETH_HDR_LEN + IPV6_HDR_LEN);
    assert_int_equal(out[ETH_HDR_LEN + 6], IPV6_NH_UDP);
    assert_int_equal(cap_count(f.cap), 0);

    /* A datagram from fe80::1 on eth1 says where it came from. */
    int r = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 b = {.sin6_family = AF_INET6, .sin6_port = htons(7000)};
    assert_int_equal(ust_bind(f.s, r, SA(b), sizeof(b)), 0);
    uint8_t dg[16];
    struct udp_repr ur = {.sport = 4000, .dport = 7000};
    memcpy(dg + UDP_HDR_LEN, "zz", 2);
    struct ipaddr ps = ipaddr_from6(&peer), pd = ipaddr_from6(&ll1);
    udp_emit(&ur, ip_pseudo_sum(&ps, &pd, IP_PROTO_UDP), dg, 2);
    n = frame6(fr, mac1, &peer, &ll1, IPV6_NH_UDP, 64, dg, UDP_HDR_LEN + 2);
    ust_stack_input(f.s, dev1, fr, n, f.now);
    ust_stack_poll(f.s, f.now);
    char buf[8];
    struct sockaddr_in6 from;
    socklen_t fl = sizeof(from);
    assert_int_equal(ust_recvfrom(f.s, r, buf, sizeof(buf), MSG_DONTWAIT, SA(from), &fl), 2);
    assert_memory_equal(&from.sin6_addr, peer.a, 16);
    assert_int_equal(from.sin6_scope_id, zone1);

    /* A SYN from fe80::1 on eth1: the answer goes out on eth1. */
    int l = ust_socket(f.s, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 lb = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
    assert_int_equal(ust_bind(f.s, l, SA(lb), sizeof(lb)), 0);
    assert_int_equal(ust_listen(f.s, l, 4), 0);
    uint8_t seg[TCP_HDR_LEN];
    struct tcp_repr th = {.sport = 5000, .dport = 80, .seq = 100, .flags = TCP_SYN, .window = 1000};
    tcp_emit(&th, ip_pseudo_sum(&ps, &pd, IP_PROTO_TCP), seg, 0);
    n = frame6(fr, mac1, &peer, &ll1, IPV6_NH_TCP, 64, seg, tcp_hdr_len(&th));
    cap_clear(cap1);
    ust_stack_input(f.s, dev1, fr, n, f.now);
    ust_stack_poll(f.s, f.now);
    assert_int_equal(cap_count(f.cap), 0);
    n = cap_pop(cap1, out, sizeof(out));
    assert_true(n >= ETH_HDR_LEN + IPV6_HDR_LEN + TCP_HDR_LEN);
    assert_int_equal(out[ETH_HDR_LEN + 6], IPV6_NH_TCP);
    assert_int_equal(out[ETH_HDR_LEN + IPV6_HDR_LEN + 13], TCP_SYN | TCP_ACK);
    /* The handshake's end: accept and getpeername name the link. */
    th.flags = TCP_ACK;
    th.seq = 101;
    th.ack = ld32(out + ETH_HDR_LEN + IPV6_HDR_LEN + 4) + 1;
    tcp_emit(&th, ip_pseudo_sum(&ps, &pd, IP_PROTO_TCP), seg, 0);
    n = frame6(fr, mac1, &peer, &ll1, IPV6_NH_TCP, 64, seg, tcp_hdr_len(&th));
    ust_stack_input(f.s, dev1, fr, n, f.now);
    ust_stack_poll(f.s, f.now);
    struct sockaddr_in6 pa;
    socklen_t pl = sizeof(pa);
    int c = ust_accept(f.s, l, SA(pa), &pl);
    assert_true(c >= 0);
    assert_memory_equal(&pa.sin6_addr, peer.a, 16);
    assert_int_equal(pa.sin6_scope_id, zone1);
    memset(&pa, 0, sizeof(pa));
    pl = sizeof(pa);
    assert_int_equal(ust_getpeername(f.s, c, SA(pa), &pl), 0);
    assert_int_equal(pa.sin6_scope_id, zone1);
    pl = sizeof(pa);
    assert_int_equal(ust_getsockname(f.s, c, SA(pa), &pl), 0);
    assert_memory_equal(&pa.sin6_addr, ll1.a, 16);
    assert_int_equal(pa.sin6_scope_id, zone1);
    ust_close(f.s, c);
    ust_close(f.s, l);
    ust_close(f.s, u);
    ust_close(f.s, r);
    fixture_fini(&f);
}

/* The path-MTU cache (RFC 8201) and the routes' last answer: learned
 * values, never raised, never below 1280; a flood of made-up destinations
 * keeps it within its size; everything forgotten after pmtu_expiry; and a
 * route added after a lookup changes the next answer. */
static void path_mtu_cache_and_route_hint(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 1);
    cfg.pmtu_cache_size = 64;
    struct fixture f;
    v6_fixture(&f, &cfg);
    struct ipv6_addr peer = A("2001:db8::1"), other = A("2001:db8::3");
    assert_int_equal(pmtu_get(f.s, &peer, 1500), 1500); /* nothing learned */
    assert_true(pmtu_update(f.s, &peer, 1400));
    assert_int_equal(pmtu_get(f.s, &peer, 1500), 1400);
    assert_int_equal(pmtu_get(f.s, &peer, 1300), 1300); /* never above the link's */
    assert_int_equal(pmtu_get(f.s, &other, 1500), 1500);
    assert_false(pmtu_update(f.s, &peer, 1450)); /* RFC 8201 4: never raised */
    assert_true(pmtu_update(f.s, &peer, 600));
    assert_int_equal(pmtu_get(f.s, &peer, 1500), 1280); /* never below 1280 */
    /* 10,000 made-up destinations: at most 64 entries, each answering for
     * its own destination. */
    struct ipv6_addr d = A("2001:db8:f::");
    for (unsigned i = 0; i < 10000; i++) {
        d.a[14] = (uint8_t)(i >> 8);
        d.a[15] = (uint8_t)i;
        assert_true(pmtu_update(f.s, &d, 1280 + i % 200));
        assert_int_equal(pmtu_get(f.s, &d, 1500), 1280 + i % 200);
    }
    unsigned live = 0;
    for (unsigned i = 0; i < f.s->routes6->npmtu; i++)
        live += f.s->routes6->pmtu[i].expires > f.now;
    assert_int_equal(live, 64);
    assert_true(st(&f)->nd.pmtu_replaced >= 10000 - 64);
    assert_int_equal(pmtu_get(f.s, &other, 1500), 1500);
    /* Ten minutes on, all forgotten. */
    fixture_advance_to(&f, f.now + cfg.pmtu_expiry);
    assert_int_equal(pmtu_get(f.s, &d, 1500), 1500);
    assert_int_equal(pmtu_get(f.s, &peer, 1500), 1500);
    /* A default route, looked up; a more specific one added after it wins
     * the next lookup. */
    struct in6_addr any = {0}, gw1, gw2, pfx;
    assert_int_equal(ust_ip6_parse("fe80::1", &gw1), 0);
    assert_int_equal(ust_ip6_parse("fe80::2", &gw2), 0);
    assert_int_equal(ust_ip6_parse("2001:db8:99::", &pfx), 0);
    assert_int_equal(ust_route_add6(f.s, &any, 0, &gw1, "eth0"), 0);
    struct ipv6_addr far = A("2001:db8:99::5"), nh;
    int dev;
    assert_int_equal(route6_lookup(f.s, &far, -1, &dev, &nh), 0);
    assert_memory_equal(nh.a, &gw1, 16);
    assert_int_equal(route6_lookup(f.s, &far, -1, &dev, &nh), 0); /* the same, remembered */
    assert_memory_equal(nh.a, &gw1, 16);
    assert_int_equal(ust_route_add6(f.s, &pfx, 48, &gw2, "eth0"), 0);
    assert_int_equal(route6_lookup(f.s, &far, -1, &dev, &nh), 0);
    assert_memory_equal(nh.a, &gw2, 16);
    fixture_fini(&f);
}

/* ---- router advertisements and SLAAC (RFC 4861 6.3.4, RFC 4862 5.5) ---- */

static size_t ra_frame(uint8_t *fr, uint16_t lifetime, uint32_t valid, uint32_t preferred,
                       uint32_t mtu, uint8_t hlim)
{
    struct ipv6_addr router = A("fe80::1"), all = ipv6_addr_all_nodes;
    struct nd_msg ra = {.type = ICMPV6_ROUTER_ADVERT,
                        .cur_hop_limit = 42,
                        .router_lifetime = lifetime};
    ra.opts.has_slla = true;
    memcpy(ra.opts.slla, t_mac_peer, 6);
    if (mtu) {
        ra.opts.has_mtu = true;
        ra.opts.mtu = mtu;
    }
    ra.opts.n_prefix = 1;
    ra.opts.prefix[0] = (struct nd_prefix){.len = 64,
                                           .flags = ND_PREFIX_ONLINK | ND_PREFIX_AUTO,
                                           .valid = valid,
                                           .preferred = preferred,
                                           .prefix = A("2001:db8:1::")};
    const uint8_t mac_all[6] = {0x33, 0x33, 0, 0, 0, 1};
    return nd6(fr, mac_all, &router, &all, hlim, &ra);
}

static struct ip6_ifaddr *slaac_addr(struct fixture *f)
{
    for (unsigned i = 0; i < IP6_MAX_ADDRS; i++) {
        struct ip6_ifaddr *a = &f->s->ip6->addr[i];
        if (a->state != IP6A_FREE && a->origin == IP6A_SLAAC)
            return a;
    }
    return NULL;
}

static void ra_gives_router_prefix_and_address(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    uint8_t fr[FR_MAX];
    /* Not from this link (hop limit 64): dropped and counted. */
    size_t n = ra_frame(fr, 1800, 3600, 1800, 1400, 64);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->nd.drop_hop_limit, 1);
    assert_null(slaac_addr(&f));
    n = ra_frame(fr, 1800, 3600, 1800, 1400, 255);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->nd.rx_ra, 1);
    struct ip6_ifaddr *a = slaac_addr(&f);
    assert_non_null(a);
    assert_int_equal(a->state, IP6A_TENTATIVE);
    struct ipv6_addr pfx = A("2001:db8:1::");
    assert_memory_equal(a->addr.a, pfx.a, 8);
    assert_int_equal(f.s->ip6->dev[f.dev].hop_limit, 42);
    assert_int_equal(f.s->ip6->dev[f.dev].mtu, 1400);
    fixture_advance_to(&f, f.now + 3 * UST_SEC);
    assert_int_equal(a->state, IP6A_PREFERRED);
    /* Off-link destinations go to the router; on-link ones directly. */
    int dev;
    struct ipv6_addr nh, far = A("2001:db8:99::5"), near = A("2001:db8:1::5");
    struct ipv6_addr router = A("fe80::1");
    assert_int_equal(route6_lookup(f.s, &far, -1, &dev, &nh), 0);
    assert_true(ipv6_addr_eq(&nh, &router));
    assert_int_equal(route6_lookup(f.s, &near, -1, &dev, &nh), 0);
    assert_true(ipv6_addr_eq(&nh, &near));
    /* Source selection: the SLAAC address towards its prefix, the static
     * one towards its own, the link-local one on the link. */
    struct ipv6_addr src, ll = A("fe80::7");
    assert_true(ipv6_select_source(f.s, f.dev, &near, &src));
    assert_true(ipv6_addr_eq(&src, &a->addr));
    struct ipv6_addr peer = A("2001:db8::1"), us = A("2001:db8::2");
    assert_true(ipv6_select_source(f.s, f.dev, &peer, &src));
    assert_true(ipv6_addr_eq(&src, &us));
    assert_true(ipv6_select_source(f.s, f.dev, &ll, &src));
    assert_true(ipv6_addr_is_link_local(&src));
    /* RFC 4862 5.5.3 (e): a forged RA with a short valid lifetime cannot
     * cut the address (an hour is left: at most two hours are kept, and
     * here what is left stays). */
    ust_time_t before = a->valid_until;
    n = ra_frame(fr, 1800, 60, 30, 0, 255);
    fixture_input(&f, fr, n);
    assert_int_equal(a->valid_until, before);
    /* Router lifetime 0: no longer a default router. */
    n = ra_frame(fr, 0, 3600, 1800, 0, 255);
    fixture_input(&f, fr, n);
    assert_int_equal(route6_lookup(f.s, &far, -1, &dev, &nh), -ENETUNREACH);
    /* Preferred lifetime over: deprecated, not chosen while another fits. */
    fixture_advance_to(&f, f.now + 1801 * UST_SEC);
    assert_int_equal(a->state, IP6A_DEPRECATED);
    fixture_fini(&f);
}

static void router_solicitations_at_start(void **state)
{
    (void)state;
    struct fixture f;
    struct ust_config cfg;
    test_config(&cfg, 1);
    fixture_init(&f, &cfg);
    assert_int_equal(ust_iface_enable_ipv6(f.s, "eth0", f.now), 0);
    unsigned rs = 0;
    struct sent6 o;
    for (int i = 0; i < 20; i++) {
        fixture_advance_to(&f, f.now + UST_SEC);
        while (pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_ROUTER_SOLICIT)) {
            rs++;
            struct ipv6_addr all_routers = A("ff02::2");
            assert_true(ipv6_addr_eq(&o.ip.dst, &all_routers));
            assert_int_equal(o.ip.hop_limit, 255);
        }
    }
    assert_int_equal(rs, 3); /* MAX_RTR_SOLICITATIONS, then silence */
    fixture_fini(&f);
}

/* ---- what we drop and the errors we send ---- */

static void bad_packets_dropped_and_counted(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    struct ipv6_addr peer = A("2001:db8::1"), us = A("2001:db8::2"), mc = A("ff02::1");
    uint8_t fr[FR_MAX], pl[64] = {0};
    /* A multicast source. */
    size_t n = frame6(fr, t_mac_us, &mc, &us, IPV6_NH_NONE, 64, pl, 0);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->ip6.drop_bad_src, 1);
    /* Not ours. */
    struct ipv6_addr other = A("2001:db8::77");
    n = frame6(fr, t_mac_us, &peer, &other, IPV6_NH_NONE, 64, pl, 0);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->ip6.drop_not_ours, 1);
    /* A payload length beyond the frame. */
    n = frame6(fr, t_mac_us, &peer, &us, IPV6_NH_NONE, 64, pl, 8);
    fixture_input(&f, fr, n - 4);
    assert_int_equal(st(&f)->ip6.drop_len, 1);
    /* Truncated header. */
    fixture_input(&f, fr, ETH_HDR_LEN + 20);
    assert_int_equal(st(&f)->ip6.drop_short, 1);
    /* A UDP datagram with checksum 0: RFC 8200 8.1 forbids it over IPv6. */
    int fd = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 b = {.sin6_family = AF_INET6, .sin6_port = htons(5000)};
    assert_int_equal(ust_bind(f.s, fd, SA(b), sizeof(b)), 0);
    uint8_t u[16] = {0};
    st16(u, 4000);
    st16(u + 2, 5000);
    st16(u + 4, 12);
    memcpy(u + 8, "abcd", 4);
    n = frame6(fr, t_mac_us, &peer, &us, IPV6_NH_UDP, 64, u, 12);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->udp.drop_checksum, 1);
    char buf[8];
    assert_int_equal(ust_recv(f.s, fd, buf, sizeof(buf), MSG_DONTWAIT), -1);
    /* The same with its checksum: delivered, the sender as sockaddr_in6. */
    struct udp_repr ur = {.sport = 4000, .dport = 5000};
    uint32_t ph = IPV6_NH_UDP;
    for (int i = 0; i < 16; i += 2)
        ph += (uint32_t)(peer.a[i] << 8 | peer.a[i + 1]) + (uint32_t)(us.a[i] << 8 | us.a[i + 1]);
    udp_emit(&ur, ph, u, 4);
    n = frame6(fr, t_mac_us, &peer, &us, IPV6_NH_UDP, 64, u, 12);
    fixture_input(&f, fr, n);
    struct sockaddr_in6 from;
    socklen_t fl = sizeof(from);
    assert_int_equal(ust_recvfrom(f.s, fd, buf, sizeof(buf), MSG_DONTWAIT, SA(from), &fl), 4);
    assert_int_equal(fl, sizeof(from));
    assert_memory_equal(&from.sin6_addr, peer.a, 16);
    assert_int_equal(ntohs(from.sin6_port), 4000);
    ust_close(f.s, fd);
    fixture_fini(&f);
}

static void unknown_next_header_gets_parameter_problem(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    struct ipv6_addr peer = A("2001:db8::1"), us = A("2001:db8::2");
    uint8_t fr[FR_MAX], pl[16] = {0};
    size_t n = frame6(fr, t_mac_us, &peer, &us, 253 /* RFC 3692 experimental */, 64, pl, 8);
    fixture_input(&f, fr, n);
    assert_int_equal(st(&f)->ip6.drop_unknown_proto, 1);
    /* The error waits for the peer's MAC: answer the NS. */
    struct sent6 o;
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_SOLICIT));
    n = solicited_na(fr, t_mac_us, &peer, &us);
    fixture_input(&f, fr, n);
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_PARAM_PROBLEM));
    assert_int_equal(o.l4[1], ICMPV6_PP_NEXT_HDR);
    assert_int_equal(ld32(o.l4 + 4), 6); /* the IPv6 header's Next Header byte */
    assert_int_equal(o.l4[8], 0x60);     /* the quote starts with the packet */
    /* To a group: no error (RFC 4443 2.4 (e)). */
    struct ipv6_addr all = ipv6_addr_all_nodes;
    const uint8_t mac_all[6] = {0x33, 0x33, 0, 0, 0, 1};
    n = frame6(fr, mac_all, &peer, &all, 253, 64, pl, 8);
    fixture_input(&f, fr, n);
    assert_false(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_PARAM_PROBLEM));
    assert_true(st(&f)->icmp6.error_suppressed >= 1);
    fixture_fini(&f);
}

/* ---- the neighbour cache under a flood (issue 11's rule for ARP) ---- */

static void neighbour_flood_is_bounded(void **state)
{
    (void)state;
    struct fixture f;
    struct ust_config cfg;
    test_config(&cfg, 1);
    cfg.nd_cache_size = 16;
    v6_fixture(&f, &cfg);
    struct ipv6_addr us = A("2001:db8::2"), peer = A("2001:db8::1"), sn = A("ff02::1:ff00:2");
    uint8_t fr[FR_MAX];
    /* The real peer is in use (we send to it). */
    struct nd_msg ns = {.type = ICMPV6_NEIGHBOR_SOLICIT, .target = us};
    ns.opts.has_slla = true;
    memcpy(ns.opts.slla, t_mac_peer, 6);
    size_t n = nd6(fr, mac_sn_us, &peer, &sn, 255, &ns);
    fixture_input(&f, fr, n);
    int fd = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    memcpy(&to.sin6_addr, peer.a, 16);
    assert_int_equal(ust_sendto(f.s, fd, "x", 1, 0, SA(to), sizeof(to)), 1);
    /* 1000 solicitations from made-up neighbours. */
    for (unsigned i = 0; i < 1000; i++) {
        struct ipv6_addr src = A("2001:db8::1000");
        src.a[13] = (uint8_t)(i >> 8);
        src.a[14] = (uint8_t)i;
        uint8_t mac[6] = {0x02, 0xee, 0, 0, (uint8_t)(i >> 8), (uint8_t)i};
        memcpy(ns.opts.slla, mac, 6);
        n = nd6(fr, mac_sn_us, &src, &sn, 255, &ns);
        fixture_input(&f, fr, n);
    }
    unsigned used = 0;
    for (unsigned i = 0; i < f.s->nd->size; i++)
        used += f.s->nd->entry[i].state != ND_FREE;
    assert_true(used <= 16);
    uint8_t mac[6];
    assert_int_equal(nd_lookup(f.s, f.dev, &peer, mac, NULL), 0);
    assert_memory_equal(mac, t_mac_peer, 6);
    ust_close(f.s, fd);
    fixture_fini(&f);
}

/* ---- dual-stack sockets (RFC 3493 3.7, 5.3) ---- */

static void dual_stack_socket_takes_ipv4(void **state)
{
    (void)state;
    struct fixture f;
    v6_fixture(&f, NULL);
    fixture_learn_peer(&f);
    int v6 = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 b = {.sin6_family = AF_INET6, .sin6_port = htons(7000)};
    assert_int_equal(ust_bind(f.s, v6, SA(b), sizeof(b)), 0);
    /* An IPv4 socket on the same port clashes with the dual-stack one... */
    int v4 = ust_socket(f.s, AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in b4 = sin_of(0, 7000);
    assert_fails(ust_bind(f.s, v4, SA(b4), sizeof(b4)), EADDRINUSE);
    /* ...but not with a v6-only one. */
    int only = ust_socket(f.s, AF_INET6, SOCK_DGRAM, 0);
    int one = 1;
    assert_int_equal(ust_setsockopt(f.s, only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    struct sockaddr_in6 b2 = {.sin6_family = AF_INET6, .sin6_port = htons(7001)};
    assert_int_equal(ust_bind(f.s, only, SA(b2), sizeof(b2)), 0);
    assert_fails(ust_setsockopt(f.s, only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), EINVAL);
    struct sockaddr_in b5 = sin_of(0, 7001);
    assert_int_equal(ust_bind(f.s, v4, SA(b5), sizeof(b5)), 0);
    /* An IPv4 datagram to 7000 reaches the v6 socket as ::ffff:192.0.2.1. */
    int tx = ust_socket(f.s, AF_INET, SOCK_DGRAM, 0);
    (void)tx;
    uint8_t fr[FR_MAX], ip[128], u[32];
    struct udp_repr ur = {.sport = 4000, .dport = 7000};
    memcpy(u + 8, "v4", 2);
    udp_emit(&ur, ipv4_pseudo_sum(T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 0), u, 2);
    size_t n = build_ipv4(ip, T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 1, 0, 64, u, 10);
    n = build_eth(fr, t_mac_us, t_mac_peer, ETH_TYPE_IPV4, ip, n);
    fixture_input(&f, fr, n);
    char buf[8];
    struct sockaddr_in6 from;
    socklen_t fl = sizeof(from);
    assert_int_equal(ust_recvfrom(f.s, v6, buf, sizeof(buf), MSG_DONTWAIT, SA(from), &fl), 2);
    assert_int_equal(from.sin6_family, AF_INET6);
    const uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1};
    assert_memory_equal(&from.sin6_addr, mapped, 16);
    /* The v6-only socket on 7001 does not see IPv4; the IPv4 one does. */
    ur.dport = 7001;
    udp_emit(&ur, ipv4_pseudo_sum(T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 0), u, 2);
    n = build_ipv4(ip, T_IP_PEER, T_IP_US, IPV4_PROTO_UDP, 2, 0, 64, u, 10);
    n = build_eth(fr, t_mac_us, t_mac_peer, ETH_TYPE_IPV4, ip, n);
    fixture_input(&f, fr, n);
    assert_fails(ust_recv(f.s, only, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
    assert_int_equal(ust_recv(f.s, v4, buf, sizeof(buf), MSG_DONTWAIT), 2);
    /* Replying through the v6 socket to the mapped address sends IPv4. */
    cap_clear(f.cap);
    assert_int_equal(ust_sendto(f.s, v6, "re", 2, 0, SA(from), fl), 2);
    uint8_t out[FR_MAX];
    size_t len = cap_pop(f.cap, out, sizeof(out));
    assert_true(len > 0);
    assert_int_equal(ld16(out + 12), ETH_TYPE_IPV4);
    /* Options: hop limit and traffic class on what it sends over IPv6. */
    int hops = 7, tclass = 0x28;
    assert_int_equal(ust_setsockopt(f.s, v6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)),
                     0);
    assert_int_equal(ust_setsockopt(f.s, v6, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass)),
                     0);
    int got = 0;
    socklen_t gl = sizeof(got);
    assert_int_equal(ust_getsockopt(f.s, v6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &got, &gl), 0);
    assert_int_equal(got, 7);
    hops = 256;
    assert_fails(ust_setsockopt(f.s, v6, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)),
                 EINVAL);
    assert_fails(ust_setsockopt(f.s, v4, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)),
                 ENOPROTOOPT);
    struct ipv6_addr peer = A("2001:db8::1");
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons(9)};
    memcpy(&to.sin6_addr, peer.a, 16);
    assert_int_equal(ust_sendto(f.s, v6, "h", 1, 0, SA(to), sizeof(to)), 1);
    struct sent6 o;
    assert_true(pop6(&f, &o, IPV6_NH_ICMPV6, ICMPV6_NEIGHBOR_SOLICIT));
    struct ipv6_addr us = A("2001:db8::2");
    n = solicited_na(fr, t_mac_us, &peer, &us);
    fixture_input(&f, fr, n);
    assert_true(pop6(&f, &o, IPV6_NH_UDP, -1));
    assert_int_equal(o.ip.hop_limit, 7);
    assert_int_equal(o.ip.tclass, 0x28);
    /* An AF_INET socket refuses a sockaddr_in6, an AF_INET6 one a sockaddr_in. */
    assert_fails(ust_sendto(f.s, v4, "z", 1, 0, SA(to), sizeof(to)), EAFNOSUPPORT);
    assert_fails(ust_sendto(f.s, v6, "z", 1, 0, SA(b4), sizeof(b4)), EAFNOSUPPORT);
    ust_close(f.s, v6);
    ust_close(f.s, v4);
    ust_close(f.s, only);
    ust_close(f.s, tx);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dad_probes_then_address_is_ours),
        cmocka_unit_test(dad_failure_drops_the_address),
        cmocka_unit_test(link_local_retries_with_a_new_identifier),
        cmocka_unit_test(echo_to_global_and_all_nodes),
        cmocka_unit_test(neighbour_states_and_give_up),
        cmocka_unit_test(failed_resolution_reports_address_unreachable),
        cmocka_unit_test(ra_gives_router_prefix_and_address),
        cmocka_unit_test(router_solicitations_at_start),
        cmocka_unit_test(bad_packets_dropped_and_counted),
        cmocka_unit_test(unknown_next_header_gets_parameter_problem),
        cmocka_unit_test(neighbour_flood_is_bounded),
        cmocka_unit_test(dual_stack_socket_takes_ipv4),
        cmocka_unit_test(zones_pick_the_link),
        cmocka_unit_test(path_mtu_cache_and_route_hint),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
