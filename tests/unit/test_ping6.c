/* The ping API over ICMPv6 (ust_ping_send6, src/net/ping.c): two stacks on
 * a memlink (tests/common/pair.h) with 2001:db8::a/64 and 2001:db8::b/64.
 * Echo to the global and the link-local address comes back to the
 * endpoint with the family, address, identifier, sequence, hop limit and
 * payload; an IPv4-mapped destination goes out as ICMP; replies nobody
 * waits for, and replies past the queue, are dropped and counted; bad
 * arguments are refused with their errno. Also ust_iface_addrs6, which
 * says when duplicate address detection is over. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pair.h"

static struct in6_addr A(const char *s) {
    struct in6_addr a;
    assert_int_equal(ust_ip6_parse(s, &a), 0);
    return a;
}

/* No address of the stack still tentative. */
static bool
dad_done(void *ctx)
{
    struct pair *p = ctx;
    struct ust_stack *st[2] = {p->a, p->b};
    for (int i = 0; i < 2; i++) {
        struct ust_addr6 a[8];
        int n = ust_iface_addrs6(st[i], "eth0", a, 8);
        if (n < 2)
            return false; /* link-local and the static one */
        for (int j = 0; j < n && j < 8; j++)
            if (a[j].tentative)
                return false;
    }
    return true;
}

static void pair6_init(struct pair *p)
{
    pair_init(p, 7, NULL, NULL, NULL);
    struct in6_addr a = A("2001:db8::a"), b = A("2001:db8::b");
    assert_int_equal(ust_iface_add6(p->a, "eth0", &a, 64, p->now), 0);
    assert_int_equal(ust_iface_add6(p->b, "eth0", &b, 64, p->now), 0);
    assert_false(dad_done(p)); /* DAD runs first (RFC 4862 5.4) */
    assert_true(pair_run(p, 10 * UST_SEC, dad_done, p));
}

struct wait {
    struct pair *p;
    int h;
    struct ust_ping_reply r;
    uint8_t buf[256];
};

static bool got_reply(void *ctx)
{
    struct wait *w = ctx;
    return ust_ping_recv(w->p->a, w->h, &w->r, w->buf, sizeof(w->buf)) == 0;
}

static struct in6_addr link_local_of(struct ust_stack *s)
{
    struct ust_addr6 a[8];
    int n = ust_iface_addrs6(s, "eth0", a, 8);
    for (int i = 0; i < n && i < 8; i++)
        if (a[i].origin == UST_ADDR6_LINK_LOCAL) {
            assert_int_equal(a[i].prefix_len, 64);
            assert_int_equal(a[i].addr.s6_addr[0], 0xfe);
            assert_int_equal(a[i].addr.s6_addr[1], 0x80);
            return a[i].addr;
        }
    fail_msg("no link-local address");
    return a[0].addr;
}

static void echo_over_icmpv6(void **state)
{
    (void)state;
    struct pair p;
    pair6_init(&p);
    struct ust_addr6 list[8];
    int n = ust_iface_addrs6(p.b, "eth0", list, 8);
    assert_int_equal(n, 2);
    bool seen_static = false;
    for (int i = 0; i < n; i++)
        if (list[i].origin == UST_ADDR6_STATIC) {
            struct in6_addr b = A("2001:db8::b");
            assert_memory_equal(&list[i].addr, &b, 16);
            assert_int_equal(list[i].prefix_len, 64);
            assert_false(list[i].deprecated);
            seen_static = true;
        }
    assert_true(seen_static);
    assert_int_equal(ust_iface_addrs6(p.b, "eth0", NULL, 0), 2); /* just the count */
    assert_int_equal(ust_iface_addrs6(p.b, "nope", list, 8), -ENODEV);

    struct wait w = {.p = &p, .h = ust_ping_open(p.a, 0x1234)};
    assert_true(w.h >= 0);
    const struct in6_addr dsts[2] = {A("2001:db8::b"), link_local_of(p.b)};
    for (int k = 0; k < 2; k++) {
        uint64_t req = ust_stack_stats(p.b)->icmp6.rx_echo_request;
        static const char msg[] = "ping over IPv6";
        assert_int_equal(ust_ping_send6(p.a, w.h, &dsts[k], (uint16_t)(7 + k), msg, sizeof(msg),
                                        p.now),
                         0);
        assert_true(pair_run(&p, 5 * UST_SEC, got_reply, &w));
        assert_int_equal(ust_stack_stats(p.b)->icmp6.rx_echo_request, req + 1);
        assert_int_equal(w.r.family, AF_INET6);
        assert_memory_equal(&w.r.from6, &dsts[k], 16);
        assert_int_equal(w.r.from, 0);
        assert_int_equal(w.r.id, 0x1234);
        assert_int_equal(w.r.seq, 7 + k);
        assert_int_equal(w.r.ttl, 64); /* the hop limit it arrived with */
        assert_int_equal(w.r.len, sizeof(msg));
        assert_memory_equal(w.buf, msg, sizeof(msg));
    }
    assert_int_equal(ust_stack_stats(p.a)->icmp6.tx_echo_request, 2);
    assert_int_equal(ust_stack_stats(p.a)->icmp6.rx_echo_reply, 2);

    /* ::ffff:192.0.2.11 is b over IPv4: an ICMP echo, its reply AF_INET. */
    struct in6_addr mapped = A("::ffff:192.0.2.11");
    assert_int_equal(ust_ping_send6(p.a, w.h, &mapped, 9, "v4", 2, p.now), 0);
    assert_true(pair_run(&p, 5 * UST_SEC, got_reply, &w));
    assert_int_equal(w.r.family, AF_INET);
    assert_int_equal(w.r.from, PAIR_IP_B);
    assert_memory_equal(&w.r.from6, &mapped, 16);
    assert_int_equal(w.r.seq, 9);
    assert_int_equal(ust_stack_stats(p.a)->icmp.tx_echo_request, 1);
    assert_int_equal(ust_ping_close(p.a, w.h), 0);
    pair_fini(&p);
}

static void unwanted_replies_are_counted(void **state)
{
    (void)state;
    struct pair p;
    pair6_init(&p);
    struct in6_addr b = A("2001:db8::b");
    int h = ust_ping_open(p.a, 0x4321);
    assert_true(h >= 0);
    /* More replies than the queue holds: the rest are dropped, counted. */
    for (int i = 0; i < 20; i++)
        assert_int_equal(ust_ping_send6(p.a, h, &b, (uint16_t)i, "x", 1, p.now), 0);
    pair_run(&p, 2 * UST_SEC, NULL, NULL);
    assert_int_equal(ust_stack_stats(p.a)->icmp6.rx_echo_reply, 20);
    assert_int_equal(ust_stack_stats(p.a)->icmp6.drop_queue_full, 20 - 16);
    struct ust_ping_reply r;
    for (int i = 0; i < 16; i++) {
        assert_int_equal(ust_ping_recv(p.a, h, &r, NULL, 0), 0);
        assert_int_equal(r.seq, i); /* in order */
    }
    assert_int_equal(ust_ping_recv(p.a, h, &r, NULL, 0), -EAGAIN);
    /* A reply after its endpoint closed: nobody listens. */
    assert_int_equal(ust_ping_send6(p.a, h, &b, 99, "y", 1, p.now), 0);
    assert_int_equal(ust_ping_close(p.a, h), 0);
    pair_run(&p, 2 * UST_SEC, NULL, NULL);
    assert_int_equal(ust_stack_stats(p.a)->icmp6.drop_no_listener, 1);
    pair_fini(&p);
}

static void bad_arguments(void **state)
{
    (void)state;
    struct pair p;
    pair6_init(&p);
    struct in6_addr b = A("2001:db8::b"), any = A("::"), far = A("2001:db8:99::1");
    int h = ust_ping_open(p.a, 0);
    assert_true(h >= 0);
    static uint8_t big[65536];
    assert_int_equal(ust_ping_send6(p.a, h + 1, &b, 1, "x", 1, p.now), -EBADF);
    assert_int_equal(ust_ping_send6(p.a, h, NULL, 1, "x", 1, p.now), -EINVAL);
    assert_int_equal(ust_ping_send6(p.a, h, &any, 1, "x", 1, p.now), -EINVAL);
    assert_int_equal(ust_ping_send6(p.a, h, &b, 1, NULL, 1, p.now), -EINVAL);
    assert_int_equal(ust_ping_send6(p.a, h, &b, 1, big, 65535 - 8 + 1, p.now), -EMSGSIZE);
    /* Off the link, with no router: no route. */
    assert_int_equal(ust_ping_send6(p.a, h, &far, 1, "x", 1, p.now), -ENETUNREACH);
    /* The largest payload fits (and goes out in fragments). */
    assert_int_equal(ust_ping_send6(p.a, h, &b, 1, big, 65535 - 8, p.now), 0);
    assert_int_equal(ust_ping_close(p.a, h), 0);
    pair_fini(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_over_icmpv6),
        cmocka_unit_test(unwanted_replies_are_counted),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
