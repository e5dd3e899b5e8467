/* Pieces of the TCP services' loop (apps/svcloop.c): the table of
 * connections per client address (growth, shrinking, deletion from a
 * linear-probing table checked against a plain array), the log rate
 * limiter on a virtual clock, and the wait until a deadline; and the
 * runner's addresses of either family (apps/app.c): IPv6 peers counted by
 * their /64, peers as text, address literals on the command line. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>

#include "app.h"
#include "svcloop.h"

/* The table keys on struct in6_addr: an IPv4 address as ::ffff:a.b.c.d. */
static struct in6_addr mapped(ust_ip4_t a)
{
    struct in6_addr r = {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, (uint8_t)(a >> 24),
                           (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a}}};
    return r;
}
#define V4(a) (&(struct in6_addr[1]){mapped(a)}[0])

static void counts_per_address(void **state)
{
    (void)state;
    struct addr_count t = {0};
    ust_ip4_t a = UST_IP4(192, 0, 2, 1), b = UST_IP4(192, 0, 2, 2);
    assert_int_equal(addr_count_get(&t, V4(a)), 0);
    assert_int_equal(addr_count_inc(&t, V4(a)), 1);
    assert_int_equal(addr_count_inc(&t, V4(a)), 2);
    assert_int_equal(addr_count_inc(&t, V4(b)), 1);
    assert_int_equal(addr_count_get(&t, V4(a)), 2);
    assert_int_equal(addr_count_get(&t, V4(b)), 1);
    addr_count_dec(&t, V4(a));
    assert_int_equal(addr_count_get(&t, V4(a)), 1);
    addr_count_dec(&t, V4(b));
    assert_int_equal(addr_count_get(&t, V4(b)), 0);
    addr_count_dec(&t, V4(b)); /* not there: nothing happens */
    addr_count_dec(&t, V4(a));
    assert_int_equal(addr_count_get(&t, V4(a)), 0);
    assert_int_equal(t.used, 0);
    assert_int_equal(t.cap, 0); /* the last address gone: the table too */
    addr_count_free(&t);
}

/* Many addresses, counted and uncounted in a shuffled order, against a
 * plain array: every count stays right through growth, deletions that
 * move entries back, and shrinking. */
static void many_addresses_against_a_model(void **state)
{
    (void)state;
    enum { N = 5000 };
    static uint32_t model[N];
    struct addr_count t = {0};
    uint64_t x = 88172645463325252ull; /* xorshift: a fixed sequence */
    size_t peak_cap = 0;
    for (int round = 0; round < 200000; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* Addresses spread over a few /24s and clustered, so that probe
         * chains form and wrap around the table's end. */
        uint32_t i = (uint32_t)(x % N);
        ust_ip4_t a = UST_IP4(10, (i / 256) % 4, (uint8_t)(i / 1024), (uint8_t)i);
        bool up = (round < 100000) ? (x >> 32) % 3 != 0 : (x >> 32) % 3 == 0;
        if (up) {
            assert_int_equal(addr_count_inc(&t, V4(a)), ++model[i]);
        } else if (model[i]) {
            addr_count_dec(&t, V4(a));
            model[i]--;
        }
        if (t.cap > peak_cap)
            peak_cap = t.cap;
        if (round % 9973 == 0)
            for (uint32_t j = 0; j < N; j++)
                assert_int_equal(addr_count_get(&t, V4(UST_IP4(10, (j / 256) % 4,
                                                               (uint8_t)(j / 1024), (uint8_t)j))),
                                 model[j]);
    }
    size_t live = 0;
    for (uint32_t j = 0; j < N; j++) {
        assert_int_equal(addr_count_get(&t, V4(UST_IP4(10, (j / 256) % 4, (uint8_t)(j / 1024),
                                                       (uint8_t)j))),
                         model[j]);
        live += model[j] > 0;
    }
    assert_int_equal(t.used, live);
    assert_true(t.cap >= 2 * t.used); /* at most half full */
    /* Empty it: the table shrinks back to nothing. */
    for (uint32_t j = 0; j < N; j++)
        while (model[j]) {
            addr_count_dec(&t, V4(UST_IP4(10, (j / 256) % 4, (uint8_t)(j / 1024), (uint8_t)j)));
            model[j]--;
        }
    assert_true(peak_cap >= N); /* it grew with them */
    assert_int_equal(t.used, 0);
    assert_int_equal(t.cap, 0);
    addr_count_free(&t);
}

/* IPv6 peers are counted by their /64 (a host picks its low 64 bits at
 * will); IPv4 ones by the whole address, and never with an IPv6 one. */
static void ipv6_peers_count_per_64(void **state)
{
    (void)state;
    struct addr_count t = {0};
    struct in6_addr a, b, c;
    assert_int_equal(ust_ip6_parse("2001:db8::1", &a), 0);
    assert_int_equal(ust_ip6_parse("2001:db8::ffff:1234:5678:9abc", &b), 0);
    assert_int_equal(ust_ip6_parse("2001:db8:0:1::1", &c), 0);
    struct in6_addr ka = addr_count_key(&a), kb = addr_count_key(&b), kc = addr_count_key(&c);
    assert_int_equal(addr_count_inc(&t, &ka), 1);
    assert_int_equal(addr_count_inc(&t, &kb), 2); /* the same /64 */
    assert_int_equal(addr_count_inc(&t, &kc), 1); /* the next /64 */
    struct in6_addr k4 = addr_count_key(V4(UST_IP4(192, 0, 2, 1)));
    assert_memory_equal(&k4, V4(UST_IP4(192, 0, 2, 1)), 16); /* IPv4: as it is */
    assert_int_equal(addr_count_inc(&t, &k4), 1);
    struct in6_addr k4b = addr_count_key(V4(UST_IP4(192, 0, 2, 2)));
    assert_int_equal(addr_count_get(&t, &k4b), 0);
    addr_count_dec(&t, &ka);
    assert_int_equal(addr_count_get(&t, &kb), 1);
    addr_count_free(&t);
}

/* Peers in log lines: IPv4 (mapped or not) as a plain dotted quad, IPv6
 * in brackets. */
static void peers_as_text(void **state)
{
    (void)state;
    char buf[APP_PEER_STRLEN], a[UST_IP6_STRLEN];
    assert_string_equal(app_peer_format(V4(UST_IP4(192, 0, 2, 1)), 7, buf), "192.0.2.1:7");
    assert_string_equal(app_addr_format(V4(UST_IP4(198, 51, 100, 9)), a), "198.51.100.9");
    struct in6_addr v6;
    assert_int_equal(ust_ip6_parse("2001:db8::1", &v6), 0);
    assert_string_equal(app_peer_format(&v6, 5201, buf), "[2001:db8::1]:5201");
    assert_string_equal(app_addr_format(&v6, a), "2001:db8::1");

    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons(9),
                              .sin_addr.s_addr = htonl(UST_IP4(192, 0, 2, 3))};
    struct in6_addr got;
    uint16_t port = 0;
    assert_int_equal(app_sockaddr_get((struct sockaddr *)&sin, &got, &port), 0);
    assert_memory_equal(&got, V4(UST_IP4(192, 0, 2, 3)), 16);
    assert_int_equal(port, 9);
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(80), .sin6_addr = v6};
    assert_int_equal(app_sockaddr_get((struct sockaddr *)&sin6, &got, &port), 0);
    assert_memory_equal(&got, &v6, 16);
    assert_int_equal(port, 80);
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_int_equal(app_sockaddr_get(&other, &got, &port), -1);
}

/* Literals on the command line: every accepted form, and the refusals. */
static void peer_literals(void **state)
{
    (void)state;
    struct app_peer p;
    assert_int_equal(app_peer_parse("x", "192.0.2.1", false, &p), 0);
    assert_int_equal(p.family, AF_INET);
    assert_int_equal(p.len, sizeof(struct sockaddr_in));
    assert_int_equal(ntohl(p.u.v4.sin_addr.s_addr), UST_IP4(192, 0, 2, 1));
    assert_false(p.port_set);
    app_peer_default_port(&p, 7);
    assert_int_equal(ntohs(p.u.v4.sin_port), 7);

    assert_int_equal(app_peer_parse("x", "192.0.2.1:5201", true, &p), 0);
    assert_int_equal(p.family, AF_INET);
    assert_true(p.port_set);
    app_peer_default_port(&p, 7); /* the joined port stays */
    assert_int_equal(ntohs(p.u.v4.sin_port), 5201);

    struct in6_addr want;
    assert_int_equal(ust_ip6_parse("2001:db8::1", &want), 0);
    assert_int_equal(app_peer_parse("x", "2001:db8::1", false, &p), 0);
    assert_int_equal(p.family, AF_INET6);
    assert_int_equal(p.u.v6.sin6_family, AF_INET6);
    assert_int_equal(p.len, sizeof(struct sockaddr_in6));
    assert_memory_equal(&p.u.v6.sin6_addr, &want, 16);
    assert_false(p.port_set);
    app_peer_default_port(&p, 9);
    assert_int_equal(ntohs(p.u.v6.sin6_port), 9);

    assert_int_equal(app_peer_parse("x", "[2001:db8::1]:5201", true, &p), 0);
    assert_int_equal(p.family, AF_INET6);
    assert_memory_equal(&p.u.v6.sin6_addr, &want, 16);
    assert_int_equal(ntohs(p.u.v6.sin6_port), 5201);
    assert_true(p.port_set);
    assert_int_equal(app_peer_parse("x", "[2001:db8::1]", false, &p), 0);
    assert_false(p.port_set);

    assert_int_equal(ust_ip6_parse("fe80::1", &want), 0);
    assert_int_equal(app_peer_parse("x", "fe80::1%tap0", false, &p), 0);
    assert_memory_equal(&p.u.v6.sin6_addr, &want, 16);
    assert_string_equal(p.scope, "tap0");
    assert_int_equal(app_peer_parse("x", "[fe80::1%tap0]:7", true, &p), 0);
    assert_string_equal(p.scope, "tap0");
    assert_int_equal(ntohs(p.u.v6.sin6_port), 7);
    struct app_opts o = {.tap = "tap0"};
    assert_int_equal(app_peer_check_scope("x", &p, &o), 0);
    o.tap = "tap1";
    assert_int_equal(app_peer_check_scope("x", &p, &o), -1);

    /* IPv4-mapped: the IPv4 address, on an IPv4 socket. */
    assert_int_equal(app_peer_parse("x", "::ffff:192.0.2.7", false, &p), 0);
    assert_int_equal(p.family, AF_INET);
    assert_int_equal(ntohl(p.u.v4.sin_addr.s_addr), UST_IP4(192, 0, 2, 7));

    static const char *const bad[] = {
        "",
        "192.0.2",
        "192.0.2.1:",
        "192.0.2.1:0",
        "192.0.2.1:65536",
        "192.0.2.1:x",
        "[192.0.2.1]:7",
        "[2001:db8::1",
        "[2001:db8::1]x",
        "2001:db8::g",
        "fe80::1%",
        "192.0.2.1%tap0",
        "[2001:db8::1]:",
        "example.org",
        "::ffff:192.0.2.1%tap0",
        "fe80::1%aaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(app_peer_parse("x", bad[i], true, &p), -1);
    /* A joined port where none is taken. */
    assert_int_equal(app_peer_parse("x", "192.0.2.1:7", false, &p), -1);
    assert_int_equal(app_peer_parse("x", "[2001:db8::1]:7", false, &p), -1);
}

#define W (10 * SVCLOOP_SEC)

/* The first event is logged; those within the window are held and said in
 * one summary at its end; a steady flood is one line per window; quiet
 * for a window, the next event is logged at once again. */
static void ratelog_bounds_the_lines(void **state)
{
    (void)state;
    struct ratelog r = {0};
    ust_time_t t0 = 5 * SVCLOOP_SEC;
    assert_true(ratelog_event(&r, t0, W));
    for (int i = 1; i <= 99; i++)
        assert_false(ratelog_event(&r, t0 + (ust_time_t)i * 1000, W));
    assert_int_equal(ratelog_flush(&r, t0 + W - 1, W), 0); /* not yet */
    assert_int_equal(ratelog_flush(&r, t0 + W, W), 99);
    /* A steady flood: held, one summary per window, never a line each. */
    int lines = 0;
    for (ust_time_t t = t0 + W; t < t0 + 10 * W; t += 10000) {
        lines += ratelog_event(&r, t, W);
        lines += ratelog_flush(&r, t, W) > 0;
    }
    assert_int_equal(lines, 8);
    /* Quiet: the summary of the last held events, then an empty window
     * closes, and the next event is logged at once. */
    assert_true(ratelog_flush(&r, t0 + 11 * W, W) > 0);
    assert_int_equal(ratelog_flush(&r, t0 + 12 * W, W), 0);
    assert_int_equal(r.window_end, 0);
    assert_true(ratelog_event(&r, t0 + 13 * W, W));
}

/* Events after the window ended but before its summary was flushed go into
 * that summary rather than a line of their own. */
static void ratelog_late_flush(void **state)
{
    (void)state;
    struct ratelog r = {0};
    assert_true(ratelog_event(&r, 0 + 1, W));
    assert_false(ratelog_event(&r, 2, W));
    assert_false(ratelog_event(&r, W + 5, W)); /* the window ended, a summary is due */
    assert_int_equal(ratelog_flush(&r, W + 6, W), 2);
}

/* The wait until a deadline, as ust_poll takes it. */
static void poll_timeout(void **state)
{
    (void)state;
    ust_time_t now = 100 * SVCLOOP_SEC;
    assert_int_equal(svcloop_timeout_ms(0, now), -1);
    assert_int_equal(svcloop_timeout_ms(now, now), 0);
    assert_int_equal(svcloop_timeout_ms(now - 5, now), 0);
    assert_int_equal(svcloop_timeout_ms(now + 1, now), 1); /* rounded up */
    assert_int_equal(svcloop_timeout_ms(now + 1000, now), 1);
    assert_int_equal(svcloop_timeout_ms(now + 1001, now), 2);
    assert_int_equal(svcloop_timeout_ms(now + 3 * SVCLOOP_SEC, now), 3000);
    assert_int_equal(svcloop_timeout_ms(now + 3600 * SVCLOOP_SEC, now), 60000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_per_address),      cmocka_unit_test(many_addresses_against_a_model),
        cmocka_unit_test(ipv6_peers_count_per_64), cmocka_unit_test(peers_as_text),
        cmocka_unit_test(peer_literals),           cmocka_unit_test(ratelog_bounds_the_lines),
        cmocka_unit_test(ratelog_late_flush),      cmocka_unit_test(poll_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
