/* IPv4 routing: longest-prefix match (RFC 1122 3.3.1), route table errors,
 * and which device a packet leaves by, on a stack with two links. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "net/route.h"
#include "wire/bytes.h"

#define A_NET UST_IP4(192, 0, 2, 0)
#define A_US UST_IP4(192, 0, 2, 2)
#define A_GW UST_IP4(192, 0, 2, 1)
#define B_NET UST_IP4(198, 51, 100, 0)
#define B_US UST_IP4(198, 51, 100, 2)
#define B_GW UST_IP4(198, 51, 100, 1)

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x0a, 0x02};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x0b, 0x02};

/* A stack with eth0 on 192.0.2.0/24 and eth1 on 198.51.100.0/24, no other
 * route. */
struct two {
    struct ust_stack *s;
    struct cap *ca, *cb;
    int da, db;
    ust_time_t now;
};

static void two_init(struct two *t)
{
    struct ust_config cfg;
    test_config(&cfg, 11);
    memset(t, 0, sizeof(*t));
    t->now = 50 * UST_SEC;
    assert_int_equal(ust_stack_create(&cfg, &t->s), 0);
    struct ust_device *d;
    assert_int_equal(cap_create("eth0", mac_a, &t->ca, &d), 0);
    t->da = ust_stack_add_device(t->s, d);
    assert_int_equal(cap_create("eth1", mac_b, &t->cb, &d), 0);
    t->db = ust_stack_add_device(t->s, d);
    assert_int_equal(t->da, 0);
    assert_int_equal(t->db, 1);
    assert_int_equal(ust_iface_add(t->s, "eth0", A_US, 24, t->now), 0);
    assert_int_equal(ust_iface_add(t->s, "eth1", B_US, 24, t->now), 0);
    cap_clear(t->ca); /* announcements */
    cap_clear(t->cb);
}

static void two_fini(struct two *t) { ust_stack_destroy(t->s); }

/* Looks dst up; returns the device, or -errno; *nh gets the next hop. */
static int lookup(struct two *t, ust_ip4_t dst, ust_ip4_t *nh)
{
    int dev = -1;
    ust_ip4_t hop = 0;
    int r = route_lookup(t->s, dst, &dev, &hop);
    if (r < 0)
        return r;
    if (nh)
        *nh = hop;
    return dev;
}

/* Sends a ping to dst and checks which capture saw the ARP request and for
 * which next hop; the other capture must stay silent. */
static void expect_leaves(struct two *t, ust_ip4_t dst, int dev, ust_ip4_t next_hop)
{
    int h = ust_ping_open(t->s, 0);
    assert_true(h >= 0);
    assert_int_equal(ust_ping_send(t->s, h, dst, 1, NULL, 0, t->now), 0);
    struct cap *yes = dev == t->da ? t->ca : t->cb;
    struct cap *no = dev == t->da ? t->cb : t->ca;
    assert_int_equal(cap_count(no), 0);
    assert_int_equal(cap_count(yes), 1);
    uint8_t fr[128];
    size_t n = cap_pop(yes, fr, sizeof(fr));
    assert_int_equal(n, 60);
    assert_int_equal(ld16(fr + 12), 0x0806);
    assert_memory_equal(fr + 6, dev == t->da ? mac_a : mac_b, 6);
    assert_int_equal(ld32(fr + 14 + 14), dev == t->da ? A_US : B_US); /* spa */
    assert_int_equal(ld32(fr + 14 + 24), next_hop);                   /* tpa */
    assert_int_equal(ust_ping_close(t->s, h), 0);
}

static void connected_routes_exist(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    ust_ip4_t nh;
    assert_int_equal(lookup(&t, UST_IP4(192, 0, 2, 77), &nh), t.da);
    assert_int_equal(nh, UST_IP4(192, 0, 2, 77)); /* on-link: the host itself */
    assert_int_equal(lookup(&t, UST_IP4(198, 51, 100, 200), &nh), t.db);
    assert_int_equal(nh, UST_IP4(198, 51, 100, 200));
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 1), &nh), -ENETUNREACH);
    assert_int_equal(lookup(&t, UST_IP4(192, 0, 3, 1), &nh), -ENETUNREACH);
    expect_leaves(&t, UST_IP4(192, 0, 2, 77), t.da, UST_IP4(192, 0, 2, 77));
    expect_leaves(&t, UST_IP4(198, 51, 100, 200), t.db, UST_IP4(198, 51, 100, 200));
    two_fini(&t);
}

static void longest_prefix_wins(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    /* /0 via eth0, /24 via eth1, /32 via eth0 again. */
    assert_int_equal(ust_route_add(t.s, 0, 0, A_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, B_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 5), 32, A_GW, NULL), 0);
    ust_ip4_t nh;
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 5), &nh), t.da);
    assert_int_equal(nh, A_GW);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 4), &nh), t.db);
    assert_int_equal(nh, B_GW);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 6), &nh), t.db);
    assert_int_equal(nh, B_GW);
    assert_int_equal(lookup(&t, UST_IP4(8, 8, 8, 8), &nh), t.da);
    assert_int_equal(nh, A_GW);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 112, 5), &nh), t.da);
    assert_int_equal(nh, A_GW);
    /* The connected /24s still beat the default. */
    assert_int_equal(lookup(&t, UST_IP4(198, 51, 100, 9), &nh), t.db);
    assert_int_equal(nh, UST_IP4(198, 51, 100, 9));

    expect_leaves(&t, UST_IP4(203, 0, 113, 5), t.da, A_GW);
    expect_leaves(&t, UST_IP4(203, 0, 113, 6), t.db, B_GW);
    /* (8.8.8.8 would also go to A_GW, whose resolution is now under way.) */
    two_fini(&t);
}

static void longest_prefix_wins_whatever_the_order(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    /* Most specific first this time. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 5), 32, A_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, B_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 0, 0), 16, A_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, 0, 0, B_GW, NULL), 0);
    ust_ip4_t nh;
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 5), &nh), t.da);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 99), &nh), t.db);
    assert_int_equal(nh, B_GW);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 7, 1), &nh), t.da);
    assert_int_equal(nh, A_GW);
    assert_int_equal(lookup(&t, UST_IP4(10, 1, 2, 3), &nh), t.db);
    assert_int_equal(nh, B_GW);
    two_fini(&t);
}

static void prefix_boundaries(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    /* 10.128.0.0/9 via eth1, 10.0.0.0/8 via eth0. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(10, 0, 0, 0), 8, A_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(10, 128, 0, 0), 9, B_GW, NULL), 0);
    assert_int_equal(lookup(&t, UST_IP4(10, 127, 255, 255), NULL), t.da);
    assert_int_equal(lookup(&t, UST_IP4(10, 128, 0, 0), NULL), t.db);
    assert_int_equal(lookup(&t, UST_IP4(10, 255, 255, 255), NULL), t.db);
    assert_int_equal(lookup(&t, UST_IP4(10, 0, 0, 0), NULL), t.da);
    assert_int_equal(lookup(&t, UST_IP4(11, 0, 0, 0), NULL), -ENETUNREACH);
    assert_int_equal(lookup(&t, UST_IP4(9, 255, 255, 255), NULL), -ENETUNREACH);
    two_fini(&t);
}

static void host_route_on_other_link(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    /* A /32 connected route inside eth0's subnet, but out of eth1. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(192, 0, 2, 77), 32, 0, "eth1"), 0);
    ust_ip4_t nh;
    assert_int_equal(lookup(&t, UST_IP4(192, 0, 2, 77), &nh), t.db);
    assert_int_equal(nh, UST_IP4(192, 0, 2, 77));
    assert_int_equal(lookup(&t, UST_IP4(192, 0, 2, 78), &nh), t.da);
    expect_leaves(&t, UST_IP4(192, 0, 2, 77), t.db, UST_IP4(192, 0, 2, 77));
    two_fini(&t);
}

static void equal_prefix_first_wins(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, A_GW, NULL), 0);
    /* The exact same prefix again: refused, the first stays. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, B_GW, NULL), -EEXIST);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, A_GW, NULL), -EEXIST);
    ust_ip4_t nh;
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 1), &nh), t.da);
    assert_int_equal(nh, A_GW);
    /* Same for the connected subnet of eth1 pointed at eth0. */
    assert_int_equal(ust_route_add(t.s, B_NET, 24, 0, "eth0"), -EEXIST);
    assert_int_equal(lookup(&t, UST_IP4(198, 51, 100, 3), NULL), t.db);
    /* A different length is a different route. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 25, B_GW, NULL), 0);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 1), &nh), t.db);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 129), &nh), t.da);
    two_fini(&t);
}

static void overlapping_interfaces_first_wins(void **state)
{
    (void)state;
    /* Two devices on the same subnet: the first interface's connected route
     * is the one that exists; the second is refused as a duplicate. */
    struct ust_config cfg;
    test_config(&cfg, 11);
    struct ust_stack *s;
    assert_int_equal(ust_stack_create(&cfg, &s), 0);
    struct cap *ca, *cb;
    struct ust_device *d;
    assert_int_equal(cap_create("eth0", mac_a, &ca, &d), 0);
    assert_int_equal(ust_stack_add_device(s, d), 0);
    assert_int_equal(cap_create("eth1", mac_b, &cb, &d), 0);
    assert_int_equal(ust_stack_add_device(s, d), 1);
    assert_int_equal(ust_iface_add(s, "eth0", A_US, 24, 0), 0);
    assert_int_equal(ust_iface_add(s, "eth1", UST_IP4(192, 0, 2, 3), 24, 0), 0);
    int dev = -1;
    ust_ip4_t nh = 0;
    assert_int_equal(route_lookup(s, UST_IP4(192, 0, 2, 50), &dev, &nh), 0);
    assert_int_equal(dev, 0);
    assert_int_equal(ust_route_add(s, A_NET, 24, 0, "eth1"), -EEXIST);
    assert_int_equal(route_lookup(s, UST_IP4(192, 0, 2, 50), &dev, &nh), 0);
    assert_int_equal(dev, 0);
    ust_stack_destroy(s);
}

static void add_errors(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    /* Host bits set under the prefix. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 1), 24, A_GW, NULL), -EINVAL);
    assert_int_equal(ust_route_add(t.s, UST_IP4(0, 0, 0, 1), 0, A_GW, NULL), -EINVAL);
    assert_int_equal(ust_route_add(t.s, UST_IP4(10, 128, 0, 0), 8, A_GW, NULL), -EINVAL);
    /* Prefix longer than an address. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 1), 33, A_GW, NULL), -EINVAL);
    assert_int_equal(ust_route_add(t.s, 0, 33, A_GW, NULL), -EINVAL);
    assert_int_equal(ust_route_add(t.s, 0, 1000, A_GW, NULL), -EINVAL);
    /* Neither a gateway nor a device. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, 0, NULL), -EINVAL);
    /* Gateway on no connected link. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, UST_IP4(10, 0, 0, 1), NULL),
                     -ENETUNREACH);
    /* Gateway on a link, but not the one named. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, A_GW, "eth1"), -ENETUNREACH);
    /* No such device. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, 0, "eth9"), -ENODEV);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, A_GW, "eth9"), -ENODEV);
    /* None of these left a route behind. */
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 1), NULL), -ENETUNREACH);
    assert_int_equal(lookup(&t, UST_IP4(10, 128, 0, 1), NULL), -ENETUNREACH);
    /* The gateway with its device named is fine. */
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, A_GW, "eth0"), 0);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 1), NULL), t.da);
    two_fini(&t);
}

static void table_full(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    int added = 0, err = 0;
    for (unsigned i = 0; i < 64; i++) {
        err = ust_route_add(t.s, UST_IP4(10, i, 0, 0), 16, A_GW, NULL);
        if (err)
            break;
        added++;
    }
    assert_int_equal(err, -ENOSPC);
    assert_true(added >= 8); /* room for a useful number of routes */
    /* Everything that was accepted is routed. */
    for (int i = 0; i < added; i++)
        assert_int_equal(lookup(&t, UST_IP4(10, i, 1, 1), NULL), t.da);
    assert_int_equal(lookup(&t, UST_IP4(10, added, 1, 1), NULL), -ENETUNREACH);
    /* Deleting one makes room for another. */
    assert_int_equal(ust_route_del(t.s, UST_IP4(10, 0, 0, 0), 16), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(172, 16, 0, 0), 12, B_GW, NULL), 0);
    assert_int_equal(lookup(&t, UST_IP4(172, 20, 1, 1), NULL), t.db);
    two_fini(&t);
}

static void route_del(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    assert_int_equal(ust_route_add(t.s, 0, 0, A_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, B_GW, NULL), 0);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 128), 25, A_GW, NULL), 0);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 7), NULL), t.db);
    /* Wrong length or prefix: nothing removed. */
    assert_int_equal(ust_route_del(t.s, UST_IP4(203, 0, 113, 0), 23), -ESRCH);
    assert_int_equal(ust_route_del(t.s, UST_IP4(203, 0, 114, 0), 24), -ESRCH);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 7), NULL), t.db);
    assert_int_equal(ust_route_del(t.s, UST_IP4(203, 0, 113, 0), 24), 0);
    /* Falls back to the default; the routes after it in the table survive. */
    ust_ip4_t nh;
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 7), &nh), t.da);
    assert_int_equal(nh, A_GW);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 200), &nh), t.da);
    assert_int_equal(ust_route_del(t.s, UST_IP4(203, 0, 113, 0), 24), -ESRCH);
    /* Deleting the default leaves no route off-link. */
    assert_int_equal(ust_route_del(t.s, 0, 0), 0);
    assert_int_equal(lookup(&t, UST_IP4(8, 8, 8, 8), NULL), -ENETUNREACH);
    assert_int_equal(lookup(&t, UST_IP4(203, 0, 113, 200), NULL), t.da);
    /* And it can be added back, via the other link this time. */
    assert_int_equal(ust_route_add(t.s, 0, 0, B_GW, NULL), 0);
    assert_int_equal(lookup(&t, UST_IP4(8, 8, 8, 8), &nh), t.db);
    assert_int_equal(nh, B_GW);
    two_fini(&t);
}

static void delete_connected_route(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    assert_int_equal(ust_route_del(t.s, B_NET, 24), 0);
    assert_int_equal(lookup(&t, UST_IP4(198, 51, 100, 9), NULL), -ENETUNREACH);
    assert_int_equal(lookup(&t, UST_IP4(192, 0, 2, 9), NULL), t.da);
    two_fini(&t);
}

static void no_route_ping_fails(void **state)
{
    (void)state;
    struct two t;
    two_init(&t);
    uint64_t live0 = ust_stack_stats(t.s)->pkb.live;
    int h = ust_ping_open(t.s, 5);
    assert_true(h >= 0);
    assert_int_equal(ust_ping_send(t.s, h, UST_IP4(8, 8, 8, 8), 1, "x", 1, t.now), -ENETUNREACH);
    assert_int_equal(ust_stack_stats(t.s)->ip.drop_no_route, 1);
    assert_int_equal(cap_count(t.ca), 0);
    assert_int_equal(cap_count(t.cb), 0);
    assert_int_equal(ust_stack_stats(t.s)->pkb.live, live0);
    assert_int_equal(ust_ping_send(t.s, h, UST_IP4(203, 0, 113, 1), 2, NULL, 0, t.now),
                     -ENETUNREACH);
    assert_int_equal(ust_stack_stats(t.s)->ip.drop_no_route, 2);
    /* With a route it goes. */
    assert_int_equal(ust_route_add(t.s, 0, 0, B_GW, NULL), 0);
    assert_int_equal(ust_ping_send(t.s, h, UST_IP4(8, 8, 8, 8), 3, NULL, 0, t.now), 0);
    assert_int_equal(cap_count(t.cb), 1);
    assert_int_equal(ust_stack_stats(t.s)->ip.drop_no_route, 2);
    two_fini(&t);
}

static void echo_reply_follows_route(void **state)
{
    (void)state;
    /* An echo request from an off-link host arriving on eth0 is answered
     * through the route for that host, not necessarily eth0. */
    struct two t;
    two_init(&t);
    assert_int_equal(ust_route_add(t.s, UST_IP4(203, 0, 113, 0), 24, B_GW, NULL), 0);
    uint8_t fr[128];
    uint8_t m[16], ip[64];
    size_t n = build_icmp(m, 8, 0, 0x00010001, NULL, 0);
    n = build_ipv4(ip, UST_IP4(203, 0, 113, 9), A_US, 1, 1, 0, 64, m, n);
    n = build_eth(fr, mac_a, t_mac_peer, 0x0800, ip, n);
    ust_stack_input(t.s, t.da, fr, n, t.now);
    assert_int_equal(cap_count(t.ca), 0);
    assert_int_equal(cap_count(t.cb), 1); /* ARP for B_GW */
    n = cap_pop(t.cb, fr, sizeof(fr));
    assert_int_equal(ld16(fr + 12), 0x0806);
    assert_int_equal(ld32(fr + 14 + 24), B_GW);
    two_fini(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connected_routes_exist),
        cmocka_unit_test(longest_prefix_wins),
        cmocka_unit_test(longest_prefix_wins_whatever_the_order),
        cmocka_unit_test(prefix_boundaries),
        cmocka_unit_test(host_route_on_other_link),
        cmocka_unit_test(equal_prefix_first_wins),
        cmocka_unit_test(overlapping_interfaces_first_wins),
        cmocka_unit_test(add_errors),
        cmocka_unit_test(table_full),
        cmocka_unit_test(route_del),
        cmocka_unit_test(delete_connected_route),
        cmocka_unit_test(no_route_ping_fails),
        cmocka_unit_test(echo_reply_follows_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
