/* ARP (RFC 826, RFC 1122 2.3.2, RFC 5227): replies, the cache and its
 * deadlines on the virtual clock, resolution with retries and the queue of
 * packets waiting for it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "net/arp.h"
#include "ustack/socket.h"
#include "wire/bytes.h"

static const uint8_t mac_other[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x03};
static const uint8_t mac_zero[6] = {0};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

#define RX_MAX 1600
/* The fixture's start-up announcement is an ARP request the stack sent. */
#define ANNOUNCED 1

/* Checks a frame the stack sent is an ARP packet with these fields, in an
 * Ethernet II frame from our MAC, padded with zeros to 60 bytes. */
static void check_arp(const uint8_t *fr, size_t n, const uint8_t eth_dst[6], uint16_t op,
                      const uint8_t sha[6], ust_ip4_t spa, const uint8_t tha[6], ust_ip4_t tpa)
{
    assert_int_equal(n, 60);
    assert_memory_equal(fr, eth_dst, 6);
    assert_memory_equal(fr + 6, t_mac_us, 6);
    assert_int_equal(ld16(fr + 12), 0x0806);
    const uint8_t *a = fr + 14;
    assert_int_equal(ld16(a), 1);          /* Ethernet */
    assert_int_equal(ld16(a + 2), 0x0800); /* IPv4 */
    assert_int_equal(a[4], 6);
    assert_int_equal(a[5], 4);
    assert_int_equal(ld16(a + 6), op);
    assert_memory_equal(a + 8, sha, 6);
    assert_int_equal(ld32(a + 14), spa);
    assert_memory_equal(a + 18, tha, 6);
    assert_int_equal(ld32(a + 24), tpa);
    for (size_t i = 42; i < 60; i++)
        assert_int_equal(fr[i], 0);
}

/* Checks a frame is an ICMP echo request to ip_dst via eth_dst with seq. */
static void check_echo_request(const uint8_t *fr, size_t n, const uint8_t eth_dst[6],
                               ust_ip4_t ip_dst, uint16_t seq)
{
    assert_true(n >= 42);
    assert_memory_equal(fr, eth_dst, 6);
    assert_memory_equal(fr + 6, t_mac_us, 6);
    assert_int_equal(ld16(fr + 12), 0x0800);
    assert_int_equal(fr[14 + 9], 1);
    assert_int_equal(ld32(fr + 14 + 12), T_IP_US);
    assert_int_equal(ld32(fr + 14 + 16), ip_dst);
    assert_int_equal(fr[34], 8);
    assert_int_equal(ld16(fr + 34 + 6), seq);
}

static void inject_arp(struct fixture *f, uint16_t op, const uint8_t eth_dst[6],
                       const uint8_t sha[6], ust_ip4_t spa, const uint8_t tha[6], ust_ip4_t tpa)
{
    uint8_t fr[64];
    size_t n = build_arp(fr, op, eth_dst, sha, spa, tha, tpa);
    fixture_input(f, fr, n);
}

static const struct ust_stats *st(struct fixture *f) { return ust_stack_stats(f->s); }

/* ---- replies ---- */

static void reply_to_request_for_us(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    inject_arp(&f, 1, mac_bcast, t_mac_peer, T_IP_PEER, mac_zero, T_IP_US);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    /* Reply: to the asker's MAC, our MAC/IP as sender, the asker as target. */
    check_arp(fr, n, t_mac_peer, 2, t_mac_us, T_IP_US, t_mac_peer, T_IP_PEER);
    assert_int_equal(st(&f)->arp.rx_request, 1);
    assert_int_equal(st(&f)->arp.tx_reply, 1);
    assert_int_equal(st(&f)->arp.drop_not_ours, 0);
    fixture_fini(&f);
}

static void reply_to_unicast_request_for_us(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    /* A unicast poll (RFC 1122 2.3.2.1) is answered like a broadcast one. */
    inject_arp(&f, 1, t_mac_us, mac_other, T_IP_OTHER, t_mac_us, T_IP_US);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_arp(fr, n, mac_other, 2, t_mac_us, T_IP_US, mac_other, T_IP_OTHER);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void no_reply_for_address_not_ours(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    inject_arp(&f, 1, mac_bcast, t_mac_peer, T_IP_PEER, mac_zero, T_IP_OTHER);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->arp.drop_not_ours, 1);
    assert_int_equal(st(&f)->arp.tx, ANNOUNCED);
    /* Nothing learnt from a conversation between others. */
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.cache_add, 0);
    fixture_fini(&f);
}

static void no_reply_to_a_reply(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    inject_arp(&f, 2, t_mac_us, t_mac_peer, T_IP_PEER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->arp.rx_reply, 1);
    assert_int_equal(st(&f)->arp.tx, ANNOUNCED);
    fixture_fini(&f);
}

/* ---- the cache ---- */

static void cache_learns_from_request_for_us(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_OTHER, mac), -ENOENT);
    inject_arp(&f, 1, mac_bcast, mac_other, T_IP_OTHER, mac_zero, T_IP_US);
    cap_clear(f.cap);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_OTHER, mac), 0);
    assert_memory_equal(mac, mac_other, 6);
    assert_int_equal(st(&f)->arp.cache_add, 1);

    /* The learnt address is used straight away: no ARP request for it. */
    int h = ust_ping_open(f.s, 9);
    assert_true(h >= 0);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, 1, "x", 1, f.now), 0);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_echo_request(fr, n, mac_other, T_IP_OTHER, 1);
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 0);
    fixture_fini(&f);
}

static void cache_learns_from_reply_for_us(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    inject_arp(&f, 2, t_mac_us, mac_other, T_IP_OTHER, t_mac_us, T_IP_US);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_OTHER, mac), 0);
    assert_memory_equal(mac, mac_other, 6);
    fixture_fini(&f);
}

static void request_updates_existing_entry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    const uint8_t newmac[6] = {0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee};
    inject_arp(&f, 1, mac_bcast, newmac, T_IP_PEER, mac_zero, T_IP_US);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, newmac, 6);
    assert_int_equal(st(&f)->arp.cache_update, 1);
    assert_int_equal(st(&f)->arp.cache_add, 1); /* only the first learning */
    fixture_fini(&f);
}

static void gratuitous_request_updates_entry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    const uint8_t newmac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x55};
    /* RFC 5227 announcement: spa == tpa == the sender's address. */
    inject_arp(&f, 1, mac_bcast, newmac, T_IP_PEER, mac_zero, T_IP_PEER);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, newmac, 6);
    assert_int_equal(st(&f)->arp.cache_update, 1);
    assert_int_equal(cap_count(f.cap), 0); /* not answered */
    assert_int_equal(st(&f)->arp.drop_not_ours, 0);
    fixture_fini(&f);
}

/* A request from a peer we already know, for an address that is not ours:
 * the peer's entry is refreshed, and the request still counts as not ours. */
static void request_from_known_peer_for_other_counted(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    for (int i = 0; i < 3; i++)
        inject_arp(&f, 1, mac_bcast, t_mac_peer, T_IP_PEER, mac_zero, T_IP_OTHER);
    assert_int_equal(st(&f)->arp.cache_update, 3);
    assert_int_equal(st(&f)->arp.drop_not_ours, 3);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void gratuitous_reply_updates_entry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    const uint8_t newmac[6] = {0x02, 0x11, 0x22, 0x33, 0x44, 0x66};
    inject_arp(&f, 2, mac_bcast, newmac, T_IP_PEER, mac_bcast, T_IP_PEER);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, newmac, 6);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void gratuitous_does_not_create_entry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    inject_arp(&f, 1, mac_bcast, mac_other, T_IP_OTHER, mac_zero, T_IP_OTHER);
    inject_arp(&f, 2, mac_bcast, mac_other, T_IP_OTHER, mac_bcast, T_IP_OTHER);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_OTHER, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.cache_add, 0);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void probe_answered_but_not_cached(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    /* RFC 5227 probe: sender address 0.0.0.0, asking for our address. */
    inject_arp(&f, 1, mac_bcast, mac_other, 0, mac_zero, T_IP_US);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_arp(fr, n, mac_other, 2, t_mac_us, T_IP_US, mac_other, 0);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, 0, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.cache_add, 0);
    fixture_fini(&f);
}

static void entry_expires_after_reachable_time(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_reachable_time = 30 * UST_SEC;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    uint8_t mac[6];
    assert_int_equal(ust_stack_next_deadline(f.s), t0 + 30 * UST_SEC);
    fixture_advance_to(&f, t0 + 30 * UST_SEC - 1);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_int_equal(st(&f)->arp.cache_expire, 0);
    fixture_advance_to(&f, t0 + 30 * UST_SEC);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.cache_expire, 1);
    /* An unused entry dies quietly: no refresh request was sent. */
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(ust_stack_next_deadline(f.s), UST_TIME_NEVER);
    fixture_fini(&f);
}

static void update_restarts_lifetime(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    fixture_advance_to(&f, t0 + 40 * UST_SEC);
    inject_arp(&f, 1, mac_bcast, t_mac_peer, T_IP_PEER, mac_zero, T_IP_US); /* re-learnt */
    cap_clear(f.cap);
    fixture_advance_to(&f, t0 + 60 * UST_SEC); /* the first lifetime is over */
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    fixture_advance_to(&f, t0 + 100 * UST_SEC);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.cache_expire, 1);
    fixture_fini(&f);
}

static void used_entry_refreshed_before_expiry(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_reachable_time = 60 * UST_SEC;
    cfg.arp_refresh_window = 5 * UST_SEC;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 1, NULL, 0, f.now), 0);
    assert_int_equal(cap_count(f.cap), 1); /* the echo request */
    cap_clear(f.cap);

    assert_int_equal(ust_stack_next_deadline(f.s), t0 + 55 * UST_SEC);
    fixture_advance_to(&f, t0 + 55 * UST_SEC - 1);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_advance_to(&f, t0 + 55 * UST_SEC);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    /* Unicast to the MAC we have, asking for the same address. */
    check_arp(fr, n, t_mac_peer, 1, t_mac_us, T_IP_US, mac_zero, T_IP_PEER);
    /* Only once. */
    fixture_advance_to(&f, t0 + 59 * UST_SEC);
    assert_int_equal(cap_count(f.cap), 0);

    /* The answer gives the entry a new lifetime from the time it arrived. */
    fixture_learn_peer(&f);
    fixture_advance_to(&f, t0 + 60 * UST_SEC);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_int_equal(st(&f)->arp.cache_expire, 0);
    fixture_advance_to(&f, t0 + 119 * UST_SEC - 1);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    fixture_advance_to(&f, t0 + 119 * UST_SEC);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), -ENOENT);
    /* Not used since the refresh: no second unicast request. */
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 1);
    fixture_fini(&f);
}

static void refresh_unanswered_entry_expires(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 1, NULL, 0, f.now), 0);
    cap_clear(f.cap);
    fixture_advance_to(&f, t0 + 60 * UST_SEC);
    assert_int_equal(cap_count(f.cap), 1); /* the refresh */
    cap_clear(f.cap);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.cache_expire, 1);
    /* The next packet has to resolve afresh, by broadcast. */
    assert_int_equal(ust_ping_send(f.s, h, T_IP_PEER, 2, NULL, 0, f.now), 0);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_arp(fr, n, mac_bcast, 1, t_mac_us, T_IP_US, mac_zero, T_IP_PEER);
    fixture_fini(&f);
}

static void learn(struct fixture *f, const uint8_t mac[6], ust_ip4_t ip)
{
    inject_arp(f, 1, mac_bcast, mac, ip, mac_zero, T_IP_US);
    cap_clear(f->cap);
}

static void eviction_when_full(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_cache_size = 2;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    const uint8_t ma[6] = {2, 0, 0, 0, 0, 0x0a}, mb[6] = {2, 0, 0, 0, 0, 0x0b},
                  mc[6] = {2, 0, 0, 0, 0, 0x0c}, md[6] = {2, 0, 0, 0, 0, 0x0d};
    const ust_ip4_t a = UST_IP4(192, 0, 2, 10), b = UST_IP4(192, 0, 2, 11),
                    c = UST_IP4(192, 0, 2, 12), d = UST_IP4(192, 0, 2, 13);
    uint8_t mac[6];
    learn(&f, ma, a);
    fixture_advance_to(&f, t0 + 1 * UST_SEC);
    learn(&f, mb, b);
    assert_int_equal(st(&f)->arp.cache_evict, 0);
    fixture_advance_to(&f, t0 + 2 * UST_SEC);
    learn(&f, mc, c);
    /* The entry closest to expiry (the oldest) made room. */
    assert_int_equal(st(&f)->arp.cache_evict, 1);
    assert_int_equal(arp_lookup(f.s, f.dev, a, mac), -ENOENT);
    assert_int_equal(arp_lookup(f.s, f.dev, b, mac), 0);
    assert_memory_equal(mac, mb, 6);
    assert_int_equal(arp_lookup(f.s, f.dev, c, mac), 0);
    assert_memory_equal(mac, mc, 6);
    fixture_advance_to(&f, t0 + 3 * UST_SEC);
    learn(&f, md, d);
    assert_int_equal(st(&f)->arp.cache_evict, 2);
    assert_int_equal(arp_lookup(f.s, f.dev, b, mac), -ENOENT);
    assert_int_equal(arp_lookup(f.s, f.dev, c, mac), 0);
    assert_int_equal(arp_lookup(f.s, f.dev, d, mac), 0);
    assert_memory_equal(mac, md, 6);
    assert_int_equal(st(&f)->arp.cache_add, 4);
    fixture_fini(&f);
}

static void eviction_prefers_resolved_over_incomplete(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_cache_size = 2;
    struct fixture f;
    fixture_init(&f, &cfg);
    const uint8_t ma[6] = {2, 0, 0, 0, 0, 0x0a}, mb[6] = {2, 0, 0, 0, 0, 0x0b};
    const ust_ip4_t a = UST_IP4(192, 0, 2, 10), b = UST_IP4(192, 0, 2, 11);
    learn(&f, ma, a);
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, 1, NULL, 0, f.now), 0); /* incomplete */
    cap_clear(f.cap);
    learn(&f, mb, b);
    uint8_t mac[6];
    assert_int_equal(st(&f)->arp.cache_evict, 1);
    assert_int_equal(arp_lookup(f.s, f.dev, a, mac), -ENOENT);
    assert_int_equal(arp_lookup(f.s, f.dev, b, mac), 0);
    assert_int_equal(st(&f)->arp.pending_dropped, 0);
    /* The waiting packet still goes out once OTHER answers. */
    inject_arp(&f, 2, t_mac_us, mac_other, T_IP_OTHER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_echo_request(fr, n, mac_other, T_IP_OTHER, 1);
    fixture_fini(&f);
}

/* ---- under attack: eviction order, unsolicited senders, new MACs ---- */

static int ping_h(struct fixture *f)
{
    int h = ust_ping_open(f->s, 0x5151);
    if (h < 0)
        h = 0; /* already open: the first handle */
    return h;
}

/* Sends one echo request to ip through the stack (an entry in use). */
static void use(struct fixture *f, ust_ip4_t ip, uint16_t seq)
{
    assert_int_equal(ust_ping_send(f->s, ping_h(f), ip, seq, NULL, 0, f->now), 0);
}

/* Sends an echo request to ip and checks it left at once, to eth_dst. */
static void use_via(struct fixture *f, ust_ip4_t ip, uint16_t seq, const uint8_t eth_dst[6])
{
    cap_clear(f->cap);
    use(f, ip, seq);
    assert_int_equal(cap_count(f->cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f->cap, fr, sizeof(fr));
    check_echo_request(fr, n, eth_dst, ip, seq);
}

static void mac_of(uint8_t mac[6], unsigned i)
{
    mac[0] = 0x06;
    mac[1] = 0x5e;
    st32(mac + 2, 0x10000000u + i);
}

/* Our own sends make room by giving up, in order: a resolved entry not in
 * use, then one still resolving, then the least recently used. */
static void eviction_order_unused_incomplete_in_use(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_cache_size = 3;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    const uint8_t ma[6] = {2, 0, 0, 0, 0, 0x0a}, mc[6] = {2, 0, 0, 0, 0, 0x0c};
    const ust_ip4_t a = UST_IP4(192, 0, 2, 10), b = UST_IP4(192, 0, 2, 11),
                    c = UST_IP4(192, 0, 2, 12), d = UST_IP4(192, 0, 2, 13),
                    e = UST_IP4(192, 0, 2, 14), g = UST_IP4(192, 0, 2, 15);
    learn(&f, ma, a);
    use(&f, a, 1); /* a: in use */
    fixture_advance_to(&f, t0 + 100 * UST_MS);
    use(&f, b, 2); /* b: resolving, one packet waiting */
    fixture_advance_to(&f, t0 + 200 * UST_MS);
    learn(&f, mc, c); /* c: resolved, never used (and the newest) */
    cap_clear(f.cap);
    uint8_t mac[6];

    use(&f, d, 3);
    assert_int_equal(st(&f)->arp.evict_unused, 1);
    assert_int_equal(arp_lookup(f.s, f.dev, c, mac), -ENOENT);

    use(&f, e, 4); /* a in use, b and d resolving: b is older */
    assert_int_equal(st(&f)->arp.evict_incomplete, 1);
    assert_int_equal(st(&f)->arp.pending_dropped, 1);
    assert_int_equal(arp_lookup(f.s, f.dev, a, mac), 0);

    /* d and e answer and are used after a: a is the least recently used. */
    fixture_advance_to(&f, t0 + 300 * UST_MS);
    const uint8_t md[6] = {2, 0, 0, 0, 0, 0x0d}, me[6] = {2, 0, 0, 0, 0, 0x0e};
    inject_arp(&f, 2, t_mac_us, md, d, t_mac_us, T_IP_US);
    inject_arp(&f, 2, t_mac_us, me, e, t_mac_us, T_IP_US);
    use(&f, d, 5);
    use(&f, e, 6);
    use(&f, g, 7);
    assert_int_equal(st(&f)->arp.evict_in_use, 1);
    assert_int_equal(arp_lookup(f.s, f.dev, a, mac), -ENOENT);
    assert_int_equal(arp_lookup(f.s, f.dev, d, mac), 0);
    assert_int_equal(arp_lookup(f.s, f.dev, e, mac), 0);
    assert_int_equal(st(&f)->arp.cache_evict, 3);
    fixture_fini(&f);
}

/* An entry in use stops being so arp_in_use_time after its last packet. */
static void in_use_lapses(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_cache_size = 1;
    cfg.arp_in_use_time = 10 * UST_SEC;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    use(&f, T_IP_PEER, 1);
    fixture_advance_to(&f, t0 + 10 * UST_SEC - 1);
    learn(&f, mac_other, T_IP_OTHER);
    assert_int_equal(st(&f)->arp.insert_refused, 1);
    fixture_advance_to(&f, t0 + 10 * UST_SEC);
    learn(&f, mac_other, T_IP_OTHER);
    assert_int_equal(st(&f)->arp.evict_unused, 1);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_OTHER, mac), 0);
    fixture_fini(&f);
}

/* A request from a host we never talked to is answered, but when every
 * entry is in use or resolving it is not cached: it displaces nothing. */
static void unsolicited_never_displaces_in_use_or_resolving(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_cache_size = 2;
    struct fixture f;
    fixture_init(&f, &cfg);
    fixture_learn_peer(&f);
    use(&f, T_IP_PEER, 1);  /* in use */
    use(&f, T_IP_OTHER, 2); /* resolving */
    cap_clear(f.cap);
    const uint8_t mx[6] = {2, 0, 0, 0, 0, 0x77};
    const ust_ip4_t x = UST_IP4(192, 0, 2, 77);
    inject_arp(&f, 1, mac_bcast, mx, x, mac_zero, T_IP_US);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_arp(fr, n, mx, 2, t_mac_us, T_IP_US, mx, x); /* answered all the same */
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, x, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.insert_refused, 1);
    assert_int_equal(st(&f)->arp.cache_evict, 0);
    /* A reply to us from a stranger neither. */
    inject_arp(&f, 2, t_mac_us, mx, x, t_mac_us, T_IP_US);
    assert_int_equal(st(&f)->arp.insert_refused, 2);
    use_via(&f, T_IP_PEER, 3, t_mac_peer);
    /* The resolution under way still completes and sends what waited. */
    inject_arp(&f, 2, t_mac_us, mac_other, T_IP_OTHER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 1);
    n = cap_pop(f.cap, fr, sizeof(fr));
    check_echo_request(fr, n, mac_other, T_IP_OTHER, 2);
    assert_int_equal(st(&f)->arp.pending_dropped, 0);
    fixture_fini(&f);
}

/* 10,000 requests from made-up MACs over 2 s while we keep sending to the
 * host next to us: its entry stays resolved (no request for it, nothing
 * queued), the flood churns through the other entries, the cache keeps
 * its size. Before, the host was evicted every 63 frames. */
static void arp_flood_leaves_neighbour_in_use(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    use_via(&f, T_IP_PEER, 0, t_mac_peer);
    uint64_t requests = st(&f)->arp.tx_request;
    uint8_t fr[64], sha[6];
    for (unsigned i = 0; i < 10000; i++) {
        fixture_advance_to(&f, t0 + (ust_time_t)i * 200);
        mac_of(sha, i);
        size_t n = build_arp(fr, 1, mac_bcast, sha, UST_IP4(192, 0, 2, 3 + i % 252), mac_zero,
                             T_IP_US);
        ust_stack_input(f.s, f.dev, fr, n, f.now);
        if (i % 50 == 0)
            use_via(&f, T_IP_PEER, (uint16_t)(i / 50 + 1), t_mac_peer);
        else
            cap_clear(f.cap);
    }
    assert_int_equal(st(&f)->arp.tx_request, requests);
    assert_int_equal(st(&f)->arp.evict_in_use, 0);
    assert_int_equal(st(&f)->arp.pending_queued, 0);
    assert_true(st(&f)->arp.evict_unused > 9000);
    assert_int_equal(st(&f)->arp.tx_reply, 10000);
    uint8_t mac[6];
    unsigned cached = 0;
    for (unsigned i = 3; i <= 254; i++)
        cached += arp_lookup(f.s, f.dev, UST_IP4(192, 0, 2, i), mac) == 0;
    assert_int_equal(cached, 63); /* the cache (64) less the host's entry */
    fixture_fini(&f);
}

/* The peer answers a unicast request the stack sent it, if there is one
 * among the frames captured (which are dropped). */
static unsigned peer_answers(struct fixture *f)
{
    uint8_t fr[RX_MAX];
    size_t n;
    unsigned asked = 0;
    while ((n = cap_pop(f->cap, fr, sizeof(fr))) > 0) {
        if (ld16(fr + 12) == 0x0806 && ld16(fr + 20) == 1 && memcmp(fr, t_mac_peer, 6) == 0 &&
            ld32(fr + 38) == T_IP_PEER)
            asked++;
    }
    for (unsigned i = 0; i < asked; i++)
        inject_arp(f, 2, t_mac_us, t_mac_peer, T_IP_PEER, t_mac_us, T_IP_US);
    cap_clear(f->cap);
    return asked;
}

/* The same flood, but one frame in 253 claims the host's address for a
 * made-up MAC. The host answers the unicast requests that verify it (at
 * most one a second), and every packet still goes to it. */
static void arp_flood_claiming_neighbour(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    use_via(&f, T_IP_PEER, 0, t_mac_peer);
    uint8_t fr[64], sha[6];
    unsigned asked = 0;
    for (unsigned i = 0; i < 10000; i++) {
        fixture_advance_to(&f, t0 + (ust_time_t)i * 200);
        mac_of(sha, i);
        ust_ip4_t spa = i % 253 == 0 ? T_IP_PEER : UST_IP4(192, 0, 2, 2 + i % 253);
        size_t n = build_arp(fr, 1, mac_bcast, sha, spa, mac_zero, T_IP_US);
        ust_stack_input(f.s, f.dev, fr, n, f.now);
        if (i % 50 == 0)
            use_via(&f, T_IP_PEER, (uint16_t)(i / 50 + 1), t_mac_peer);
        asked += peer_answers(&f);
    }
    /* 40 claims in 2 s: a verification at most every second. */
    assert_in_range(asked, 1, 3);
    assert_int_equal(st(&f)->arp.mac_verify, asked);
    assert_int_equal(st(&f)->arp.mac_changed, 0);
    assert_int_equal(st(&f)->arp.mac_kept, 40);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, t_mac_peer, 6);
    fixture_fini(&f);
}

static const uint8_t mac_evil[6] = {0x06, 0x5e, 0xde, 0xad, 0xbe, 0xef};

/* One forged reply for the host in use: the host we have is asked at
 * once, by a unicast request; our packets keep going to it meanwhile; its
 * answer settles it. A second forgery within the second after the answer
 * is ignored outright; a later one is verified again. */
static void spoofed_reply_verified_and_rejected(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    fixture_advance_to(&f, t0 + 5 * UST_SEC);
    use_via(&f, T_IP_PEER, 1, t_mac_peer);
    inject_arp(&f, 2, t_mac_us, mac_evil, T_IP_PEER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX], mac[6];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_arp(fr, n, t_mac_peer, 1, t_mac_us, T_IP_US, mac_zero, T_IP_PEER);
    assert_int_equal(st(&f)->arp.mac_verify, 1);
    assert_int_equal(ust_stack_next_deadline(f.s), f.now + 1 * UST_SEC);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, t_mac_peer, 6);
    use_via(&f, T_IP_PEER, 2, t_mac_peer);
    /* The host answers a round trip later. */
    fixture_advance_to(&f, t0 + 5 * UST_SEC + 300);
    inject_arp(&f, 2, t_mac_us, t_mac_peer, T_IP_PEER, t_mac_us, T_IP_US);
    assert_int_equal(st(&f)->arp.mac_kept, 1);
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, t_mac_peer, 6);
    /* Forged again 0.5 s after the host spoke: ignored, nothing sent. */
    fixture_advance_to(&f, t0 + 5 * UST_SEC + 500 * UST_MS);
    cap_clear(f.cap);
    inject_arp(&f, 2, t_mac_us, mac_evil, T_IP_PEER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->arp.mac_kept, 2);
    assert_int_equal(st(&f)->arp.mac_verify, 1);
    /* And 1.5 s after: asked again. */
    fixture_advance_to(&f, t0 + 6 * UST_SEC + 300);
    inject_arp(&f, 2, t_mac_us, mac_evil, T_IP_PEER, t_mac_us, T_IP_US);
    assert_int_equal(st(&f)->arp.mac_verify, 2);
    assert_int_equal(peer_answers(&f), 1);
    fixture_advance_to(&f, t0 + 20 * UST_SEC);
    use_via(&f, T_IP_PEER, 3, t_mac_peer);
    assert_int_equal(st(&f)->arp.mac_changed, 0);
    fixture_fini(&f);
}

/* An address that really moved (the old MAC silent): the new MAC is taken
 * one retry interval after the claim, and the packets go there. */
static void moved_address_taken_after_silence(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    fixture_advance_to(&f, t0 + 5 * UST_SEC);
    use_via(&f, T_IP_PEER, 1, t_mac_peer);
    const uint8_t moved[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x99};
    /* RFC 5227 announcement from the new holder. */
    inject_arp(&f, 1, mac_bcast, moved, T_IP_PEER, mac_zero, T_IP_PEER);
    ust_time_t claim = f.now;
    cap_clear(f.cap);
    fixture_advance_to(&f, claim + 1 * UST_SEC - 1);
    use_via(&f, T_IP_PEER, 2, t_mac_peer);
    fixture_advance_to(&f, claim + 1 * UST_SEC);
    assert_int_equal(st(&f)->arp.mac_changed, 1);
    use_via(&f, T_IP_PEER, 3, moved);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, moved, 6);
    fixture_fini(&f);
}

/* An entry not in use takes a new MAC at once (RFC 826's merge). */
static void unused_entry_takes_new_mac_at_once(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_in_use_time = 10 * UST_SEC;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    fixture_learn_peer(&f);
    use(&f, T_IP_PEER, 1);
    fixture_advance_to(&f, t0 + 10 * UST_SEC);
    cap_clear(f.cap);
    inject_arp(&f, 2, t_mac_us, mac_evil, T_IP_PEER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 0);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, mac_evil, 6);
    assert_int_equal(st(&f)->arp.mac_verify, 0);
    fixture_fini(&f);
}

/* ---- resolution ---- */

static void resolution_retries_then_gives_up(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_retry_interval = 500 * UST_MS;
    cfg.arp_max_retries = 3;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    uint64_t live0 = st(&f)->pkb.live;
    int h = ust_ping_open(f.s, 1);
    assert_true(h >= 0);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, 1, "abc", 3, t0), 0);
    assert_int_equal(st(&f)->arp.pending_queued, 1);
    assert_int_equal(st(&f)->pkb.live, live0 + 1);

    uint8_t fr[RX_MAX];
    /* The first request at once, then one per interval. */
    for (unsigned i = 0; i <= 3; i++) {
        ust_time_t t = t0 + i * 500 * UST_MS;
        if (i > 0) {
            fixture_advance_to(&f, t - 1);
            assert_int_equal(cap_count(f.cap), 0);
            fixture_advance_to(&f, t);
        }
        assert_int_equal(cap_count(f.cap), 1);
        size_t n = cap_pop(f.cap, fr, sizeof(fr));
        check_arp(fr, n, mac_bcast, 1, t_mac_us, T_IP_US, mac_zero, T_IP_OTHER);
        assert_int_equal(st(&f)->arp.resolve_failed, 0);
    }
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 4);
    /* One interval after the last request: give up, drop the packet. */
    assert_int_equal(ust_stack_next_deadline(f.s), t0 + 4 * 500 * UST_MS);
    fixture_advance_to(&f, t0 + 4 * 500 * UST_MS - 1);
    assert_int_equal(st(&f)->arp.resolve_failed, 0);
    fixture_advance_to(&f, t0 + 4 * 500 * UST_MS);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->arp.resolve_failed, 1);
    assert_int_equal(st(&f)->arp.pending_dropped, 1);
    assert_int_equal(st(&f)->pkb.live, live0);
    assert_int_equal(ust_stack_next_deadline(f.s), UST_TIME_NEVER);
    fixture_advance_to(&f, t0 + 60 * UST_SEC);
    assert_int_equal(cap_count(f.cap), 0);
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 4);
    fixture_fini(&f);
}

/* RFC 1122 leaves it open; Linux answers a failed ARP with a host
 * unreachable to the sender, and so do we: a connection being set up
 * ends with EHOSTUNREACH when the resolution gives up (not after the
 * SYN retries, minutes later), and a connected UDP socket gets the error. */
static void failed_resolution_tells_the_senders(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_retry_interval = 500 * UST_MS;
    cfg.arp_max_retries = 3;
    struct fixture f;
    fixture_init(&f, &cfg);
    int t = ust_socket(f.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int u = ust_socket(f.s, AF_INET, SOCK_DGRAM, 0);
    assert_true(t >= 0 && u >= 0);
    struct sockaddr_in to = sin_of(T_IP_OTHER, 80);
    assert_fails(ust_connect(f.s, t, SA(to), sizeof(to)), EINPROGRESS);
    to.sin_port = htons(9);
    assert_int_equal(ust_connect(f.s, u, SA(to), sizeof(to)), 0);
    assert_int_equal(ust_send(f.s, u, "x", 1, 0), 1);
    assert_int_equal(st(&f)->arp.pending_queued, 2);
    fixture_advance_to(&f, f.now + 2 * UST_SEC - 1);
    int err = -1;
    socklen_t len = sizeof(err);
    assert_int_equal(ust_getsockopt(f.s, t, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, 0); /* still resolving */
    fixture_advance_to(&f, f.now + 1);
    assert_int_equal(st(&f)->arp.resolve_failed, 1);
    /* The SYN, its retransmission at 1 s and the datagram. */
    assert_int_equal(st(&f)->arp.pending_dropped, 3);
    assert_int_equal(ust_getsockopt(f.s, t, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    assert_int_equal(err, EHOSTUNREACH);
    char b[4];
    assert_fails(ust_recv(f.s, u, b, sizeof(b), MSG_DONTWAIT), EHOSTUNREACH);
    assert_int_equal(st(&f)->pkb.live, 0);
    ust_close(f.s, t);
    ust_close(f.s, u);
    fixture_fini(&f);
}

static void no_retries_when_max_is_zero(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_max_retries = 0;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, 1, NULL, 0, t0), 0);
    fixture_advance_to(&f, t0 + 10 * UST_SEC);
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 1);
    assert_int_equal(st(&f)->arp.resolve_failed, 1);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void large_pending_bound_holds(void **state)
{
    (void)state;
    /* arp_pending_max is an unsigned: a bound above 255 must still bound. */
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_pending_max = 300;
    struct fixture f;
    fixture_init(&f, &cfg);
    int h = ust_ping_open(f.s, 1);
    for (unsigned i = 0; i < 400; i++)
        assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, (uint16_t)i, NULL, 0, f.now), 0);
    assert_int_equal(st(&f)->arp.pending_queued, 400);
    assert_int_equal(st(&f)->arp.pending_dropped, 100);
    assert_int_equal(st(&f)->pkb.live, 300);
    cap_clear(f.cap);
    inject_arp(&f, 2, t_mac_us, mac_other, T_IP_OTHER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 300);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_echo_request(fr, n, mac_other, T_IP_OTHER, 100); /* the oldest kept */
    cap_clear(f.cap);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void many_retries_still_give_up(void **state)
{
    (void)state;
    /* arp_max_retries above 255 must still end in a give-up. */
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_max_retries = 300;
    cfg.arp_retry_interval = 1 * UST_MS;
    struct fixture f;
    fixture_init(&f, &cfg);
    ust_time_t t0 = f.now;
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, 1, NULL, 0, t0), 0);
    fixture_advance_to(&f, t0 + 300 * UST_MS);
    assert_int_equal(st(&f)->arp.resolve_failed, 0);
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 301);
    fixture_advance_to(&f, t0 + 301 * UST_MS);
    assert_int_equal(st(&f)->arp.resolve_failed, 1);
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 301);
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void reply_flushes_queue_in_order(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    uint64_t live0 = st(&f)->pkb.live;
    int h = ust_ping_open(f.s, 0x4242);
    for (uint16_t seq = 1; seq <= 5; seq++)
        assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, seq, &seq, sizeof(seq), f.now), 0);
    /* One request for the address, however many packets wait. */
    assert_int_equal(cap_count(f.cap), 1);
    assert_int_equal(st(&f)->arp.pending_queued, 5);
    cap_clear(f.cap);
    fixture_advance_to(&f, f.now + 300 * UST_MS);
    inject_arp(&f, 2, t_mac_us, mac_other, T_IP_OTHER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 5);
    uint8_t fr[RX_MAX];
    for (uint16_t seq = 1; seq <= 5; seq++) {
        size_t n = cap_pop(f.cap, fr, sizeof(fr));
        check_echo_request(fr, n, mac_other, T_IP_OTHER, seq);
        assert_int_equal(ld16(fr + 34 + 4), 0x4242);
    }
    assert_int_equal(st(&f)->pkb.live, live0);
    assert_int_equal(st(&f)->arp.pending_dropped, 0);
    /* No retries after the answer. */
    fixture_advance_to(&f, f.now + 10 * UST_SEC);
    assert_int_equal(cap_count(f.cap), 0);
    fixture_fini(&f);
}

static void request_from_target_also_resolves(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, 1, NULL, 0, f.now), 0);
    cap_clear(f.cap);
    /* OTHER asks for us before answering: that tells us its MAC too. */
    inject_arp(&f, 1, mac_bcast, mac_other, T_IP_OTHER, mac_zero, T_IP_US);
    assert_int_equal(cap_count(f.cap), 2);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_echo_request(fr, n, mac_other, T_IP_OTHER, 1);
    n = cap_pop(f.cap, fr, sizeof(fr));
    check_arp(fr, n, mac_other, 2, t_mac_us, T_IP_US, mac_other, T_IP_OTHER);
    fixture_fini(&f);
}

static void pending_queue_bound_drops_oldest(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 7);
    cfg.arp_pending_max = 3;
    struct fixture f;
    fixture_init(&f, &cfg);
    int h = ust_ping_open(f.s, 1);
    for (uint16_t seq = 1; seq <= 7; seq++)
        assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, seq, NULL, 0, f.now), 0);
    assert_int_equal(st(&f)->arp.pending_queued, 7);
    assert_int_equal(st(&f)->arp.pending_dropped, 4);
    assert_int_equal(st(&f)->pkb.live, 3);
    cap_clear(f.cap);
    inject_arp(&f, 2, t_mac_us, mac_other, T_IP_OTHER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 3);
    uint8_t fr[RX_MAX];
    for (uint16_t seq = 5; seq <= 7; seq++) {
        size_t n = cap_pop(f.cap, fr, sizeof(fr));
        check_echo_request(fr, n, mac_other, T_IP_OTHER, seq);
    }
    assert_int_equal(st(&f)->pkb.live, 0);
    fixture_fini(&f);
}

static void offlink_destination_resolves_gateway(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_REMOTE, 1, "hi", 2, f.now), 0);
    assert_int_equal(cap_count(f.cap), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(f.cap, fr, sizeof(fr));
    check_arp(fr, n, mac_bcast, 1, t_mac_us, T_IP_US, mac_zero, T_IP_PEER);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_REMOTE, mac), -ENOENT);
    fixture_fini(&f);

    /* Again, looking at what is sent once the gateway answers. */
    fixture_init(&f, NULL);
    h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_REMOTE, 1, "hi", 2, f.now), 0);
    cap_clear(f.cap);
    inject_arp(&f, 2, t_mac_us, t_mac_peer, T_IP_PEER, t_mac_us, T_IP_US);
    assert_int_equal(cap_count(f.cap), 1);
    n = cap_pop(f.cap, fr, sizeof(fr));
    /* To the gateway's MAC, still addressed to the remote host. */
    check_echo_request(fr, n, t_mac_peer, T_IP_REMOTE, 1);
    /* A second off-link destination needs no new resolution. */
    assert_int_equal(ust_ping_send(f.s, h, UST_IP4(203, 0, 113, 9), 2, NULL, 0, f.now), 0);
    n = cap_pop(f.cap, fr, sizeof(fr));
    check_echo_request(fr, n, t_mac_peer, UST_IP4(203, 0, 113, 9), 2);
    assert_int_equal(st(&f)->arp.tx_request, ANNOUNCED + 1);
    fixture_fini(&f);
}

static void deadline_tracks_retry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    assert_int_equal(ust_stack_next_deadline(f.s), UST_TIME_NEVER);
    int h = ust_ping_open(f.s, 1);
    assert_int_equal(ust_ping_send(f.s, h, T_IP_OTHER, 1, NULL, 0, f.now), 0);
    assert_int_equal(ust_stack_next_deadline(f.s), f.now + 1 * UST_SEC);
    fixture_fini(&f);
}

static void announcement_at_iface_add(void **state)
{
    (void)state;
    struct ust_config cfg;
    test_config(&cfg, 3);
    struct ust_stack *s;
    assert_int_equal(ust_stack_create(&cfg, &s), 0);
    struct cap *c;
    struct ust_device *d;
    const uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x42};
    assert_int_equal(cap_create("eth0", mac, &c, &d), 0);
    assert_true(ust_stack_add_device(s, d) >= 0);
    assert_int_equal(cap_count(c), 0); /* nothing before an address */
    const ust_ip4_t addr = UST_IP4(198, 51, 100, 20);
    assert_int_equal(ust_iface_add(s, "eth0", addr, 24, 5 * UST_SEC), 0);
    assert_int_equal(cap_count(c), 1);
    uint8_t fr[RX_MAX];
    size_t n = cap_pop(c, fr, sizeof(fr));
    assert_int_equal(n, 60);
    assert_memory_equal(fr, mac_bcast, 6);
    assert_memory_equal(fr + 6, mac, 6);
    assert_int_equal(ld16(fr + 12), 0x0806);
    assert_int_equal(ld16(fr + 14), 1);
    assert_int_equal(ld16(fr + 16), 0x0800);
    assert_int_equal(fr[18], 6);
    assert_int_equal(fr[19], 4);
    assert_int_equal(ld16(fr + 20), 1);        /* a request */
    assert_memory_equal(fr + 22, mac, 6);      /* sha */
    assert_int_equal(ld32(fr + 28), addr);     /* spa */
    assert_memory_equal(fr + 32, mac_zero, 6); /* tha */
    assert_int_equal(ld32(fr + 38), addr);     /* tpa == spa */
    assert_int_equal(ust_stack_stats(s)->arp.tx_announce, 1);
    ust_stack_destroy(s);
}

static void bad_sender_dropped(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
    const uint8_t *bad[] = {mac_bcast, mcast, mac_zero, t_mac_us};
    uint8_t mac[6];
    for (size_t i = 0; i < 4; i++) {
        inject_arp(&f, 1, mac_bcast, bad[i], T_IP_OTHER, mac_zero, T_IP_US);
        assert_int_equal(cap_count(f.cap), 0);
        assert_int_equal(st(&f)->arp.drop_bad_sender, i + 1);
        assert_int_equal(arp_lookup(f.s, f.dev, T_IP_OTHER, mac), -ENOENT);
    }
    /* Sender addresses that are not one host. */
    const ust_ip4_t badip[] = {0xffffffffu, UST_IP4(224, 0, 0, 1), UST_IP4(239, 1, 2, 3)};
    for (size_t i = 0; i < 3; i++) {
        inject_arp(&f, 1, mac_bcast, mac_other, badip[i], mac_zero, T_IP_US);
        assert_int_equal(cap_count(f.cap), 0);
        assert_int_equal(arp_lookup(f.s, f.dev, badip[i], mac), -ENOENT);
    }
    assert_int_equal(st(&f)->arp.drop_bad_sender, 7);
    assert_int_equal(st(&f)->arp.cache_add, 0);
    fixture_fini(&f);
}

static void bad_sender_does_not_update_entry(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    fixture_learn_peer(&f);
    /* A broadcast "sender MAC" for a known address must not poison it. */
    inject_arp(&f, 2, t_mac_us, mac_bcast, T_IP_PEER, t_mac_us, T_IP_US);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_PEER, mac), 0);
    assert_memory_equal(mac, t_mac_peer, 6);
    assert_int_equal(st(&f)->arp.drop_bad_sender, 1);
    fixture_fini(&f);
}

static void claim_of_our_address_ignored(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f, NULL);
    inject_arp(&f, 1, mac_bcast, mac_other, T_IP_US, mac_zero, T_IP_US);
    inject_arp(&f, 2, mac_bcast, mac_other, T_IP_US, mac_bcast, T_IP_US);
    assert_int_equal(cap_count(f.cap), 0);
    uint8_t mac[6];
    assert_int_equal(arp_lookup(f.s, f.dev, T_IP_US, mac), -ENOENT);
    assert_int_equal(st(&f)->arp.drop_bad_sender, 2);
    fixture_fini(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reply_to_request_for_us),
        cmocka_unit_test(reply_to_unicast_request_for_us),
        cmocka_unit_test(no_reply_for_address_not_ours),
        cmocka_unit_test(no_reply_to_a_reply),
        cmocka_unit_test(cache_learns_from_request_for_us),
        cmocka_unit_test(cache_learns_from_reply_for_us),
        cmocka_unit_test(request_updates_existing_entry),
        cmocka_unit_test(gratuitous_request_updates_entry),
        cmocka_unit_test(gratuitous_reply_updates_entry),
        cmocka_unit_test(gratuitous_does_not_create_entry),
        cmocka_unit_test(probe_answered_but_not_cached),
        cmocka_unit_test(entry_expires_after_reachable_time),
        cmocka_unit_test(update_restarts_lifetime),
        cmocka_unit_test(used_entry_refreshed_before_expiry),
        cmocka_unit_test(refresh_unanswered_entry_expires),
        cmocka_unit_test(eviction_when_full),
        cmocka_unit_test(eviction_prefers_resolved_over_incomplete),
        cmocka_unit_test(resolution_retries_then_gives_up),
        cmocka_unit_test(no_retries_when_max_is_zero),
        cmocka_unit_test(large_pending_bound_holds),
        cmocka_unit_test(many_retries_still_give_up),
        cmocka_unit_test(reply_flushes_queue_in_order),
        cmocka_unit_test(request_from_target_also_resolves),
        cmocka_unit_test(pending_queue_bound_drops_oldest),
        cmocka_unit_test(offlink_destination_resolves_gateway),
        cmocka_unit_test(deadline_tracks_retry),
        cmocka_unit_test(announcement_at_iface_add),
        cmocka_unit_test(bad_sender_dropped),
        cmocka_unit_test(bad_sender_does_not_update_entry),
        cmocka_unit_test(claim_of_our_address_ignored),
        cmocka_unit_test(request_from_known_peer_for_other_counted),
        cmocka_unit_test(eviction_order_unused_incomplete_in_use),
        cmocka_unit_test(in_use_lapses),
        cmocka_unit_test(unsolicited_never_displaces_in_use_or_resolving),
        cmocka_unit_test(arp_flood_leaves_neighbour_in_use),
        cmocka_unit_test(arp_flood_claiming_neighbour),
        cmocka_unit_test(spoofed_reply_verified_and_rejected),
        cmocka_unit_test(moved_address_taken_after_silence),
        cmocka_unit_test(unused_entry_takes_new_mac_at_once),
        cmocka_unit_test(failed_resolution_tells_the_senders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
