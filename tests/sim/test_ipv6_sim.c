/* IPv6 simulation: two stacks (embedded mode) on a memlink with seeded
 * faults, talking IPv6 only (2001:db8::10 and 2001:db8::11, each also
 * with its link-local address; neighbour discovery does the resolving).
 *
 *   tcp6_seeds   256 KiB each way over TCP/IPv6 per seed under loss
 *                (0-15%), duplication, reordering, corruption, delay and
 *                jitter; every byte compared; then every connection
 *                settles and 2*MSL later nothing is left.
 *   tcp6_offload_seeds  the same on a link offering the TAP's offloads:
 *                super-segments both ways (TSO6), no checksums.
 *   frag6_udp    UDP datagrams of 1,500 to 9,000 bytes (fragmented at
 *                the source, RFC 8200 4.5) under loss and reordering:
 *                every datagram that arrives is whole and byte-exact,
 *                with reordering alone all of them arrive, and the
 *                reassembly queue is empty once its 60 s are over.
 *
 * A failing seed is printed; replay it alone with USTACK_SEED=N.
 * USTACK_SEEDS=N runs N seeds instead of the default. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "harness.h"
#include "net/ipv6.h"
#include "pair.h"
#include "transport/tcp.h"
#include "ustack/device.h"
#include "ustack/socket.h"

#define XFER_BYTES (256u << 10)
#define DEFAULT_SEEDS 30

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *x) { return (double)(splitmix(x) >> 11) / (double)(1ull << 53); }

static void fill_random(uint8_t *buf, size_t n, uint64_t seed)
{
    uint64_t x = seed;
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)splitmix(&x);
}

static struct sockaddr_in6 sin6_of(const char *addr, uint16_t port)
{
    struct sockaddr_in6 s = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
    assert_int_equal(ust_ip6_parse(addr, &s.sin6_addr), 0);
    return s;
}

/* The pair with IPv6 on both ends and DAD done; the link offers offload
 * (UST_OFFLOAD_* bits, TSO up to 64 KiB), or nothing. */
static void pair6_open(struct pair *p, uint64_t seed, const struct ust_faults *f, uint32_t offload)
{
    struct ust_config ca, cb;
    test_config(&ca, seed * 2 + 1);
    test_config(&cb, seed * 2 + 2);
    pair_init_offload(p, seed, &ca, &cb, f, offload, offload ? 65535 : 0);
    struct in6_addr a, b;
    ust_ip6_parse("2001:db8::10", &a);
    ust_ip6_parse("2001:db8::11", &b);
    assert_int_equal(ust_iface_add6(p->a, "eth0", &a, 64, p->now), 0);
    assert_int_equal(ust_iface_add6(p->b, "eth0", &b, 64, p->now), 0);
    /* DAD: up to 1 s of delay and 1 s of waiting; a lost probe only
     * makes it pass, so the addresses are ours after 3 s. */
    pair_run(p, 3 * UST_SEC, NULL, NULL);
    struct ipv6_addr aa, bb;
    memcpy(aa.a, &a, 16);
    memcpy(bb.a, &b, 16);
    assert_true(ipv6_is_local(p->a, &aa));
    assert_true(ipv6_is_local(p->b, &bb));
}

/* ---- TCP over IPv6 ---- */

struct xfer {
    struct pair *p;
    int lfd, afd, cfd;
    const uint8_t *out_a, *out_b;
    uint8_t *in_a, *in_b;
    size_t n, sent_a, sent_b, got_a, got_b;
    bool shut_a, shut_b, eof_a, eof_b;
    int err;
};

static void pump_send(struct ust_stack *s, int fd, const uint8_t *buf, size_t n, size_t *sent,
                      bool *shut, int *err)
{
    while (*sent < n) {
        ssize_t r = ust_send(s, fd, buf + *sent, n - *sent, 0);
        if (r < 0) {
            if (errno != EAGAIN && !*err)
                *err = errno;
            return;
        }
        *sent += (size_t)r;
    }
    if (!*shut) {
        if (ust_shutdown(s, fd, SHUT_WR) != 0 && !*err)
            *err = errno;
        *shut = true;
    }
}

static void pump_recv(struct ust_stack *s, int fd, uint8_t *buf, size_t cap, size_t *got, bool *eof,
                      int *err)
{
    while (!*eof) {
        ssize_t r = ust_recv(s, fd, buf + *got, cap - *got, 0);
        if (r > 0) {
            *got += (size_t)r;
            continue;
        }
        if (r == 0)
            *eof = true;
        else if (errno != EAGAIN && !*err)
            *err = errno;
        return;
    }
}

static bool xfer_step(void *ctx)
{
    struct xfer *x = ctx;
    struct ust_stack *a = x->p->a, *b = x->p->b;
    if (x->err)
        return true;
    if (x->afd < 0) {
        x->afd = ust_accept4(a, x->lfd, NULL, NULL, SOCK_NONBLOCK);
        if (x->afd < 0) {
            if (errno != EAGAIN)
                x->err = errno;
            return x->err != 0;
        }
    }
    pump_send(a, x->afd, x->out_a, x->n, &x->sent_a, &x->shut_a, &x->err);
    pump_send(b, x->cfd, x->out_b, x->n, &x->sent_b, &x->shut_b, &x->err);
    pump_recv(b, x->cfd, x->in_a, x->n + 1, &x->got_a, &x->eof_b, &x->err);
    pump_recv(a, x->afd, x->in_b, x->n + 1, &x->got_b, &x->eof_a, &x->err);
    return x->err || (x->eof_a && x->eof_b);
}

static bool settled_one(const struct ust_stack *s)
{
    for (const struct tcp_conn *c = s->tcp->all; c; c = c->next)
        if (c->state != TCPS_LISTEN && c->state != TCPS_CLOSED && c->state != TCPS_TIME_WAIT)
            return false;
    return true;
}

static bool settled(void *ctx)
{
    struct pair *p = ctx;
    return settled_one(p->a) && settled_one(p->b);
}

static struct ust_faults faults_for(uint64_t seed)
{
    uint64_t x = seed * 0x5851f42d4c957f2dull;
    struct ust_faults f = {0};
    f.drop = (double)(seed % 4) * 0.05;
    f.duplicate = unit(&x) * 0.05;
    f.reorder = unit(&x) * 0.10;
    f.corrupt = unit(&x) * 0.02;
    f.delay = (ust_time_t)(unit(&x) * 20000);
    f.jitter = (ust_time_t)(unit(&x) * 5000);
    f.reorder_delay = 1000 + (ust_time_t)(unit(&x) * 10000);
    return f;
}

static void tcp6_one(uint64_t seed, uint8_t *out_a, uint8_t *out_b, uint8_t *in_a, uint8_t *in_b,
                     uint32_t offload)
{
    const size_t n = XFER_BYTES;
    struct ust_faults f = faults_for(seed);
    struct pair p;
    pair6_open(&p, seed, &f, offload);
    fill_random(out_a, n, seed * 3 + 1);
    fill_random(out_b, n, seed * 3 + 2);
    struct xfer x =
        {.p = &p, .afd = -1, .n = n, .out_a = out_a, .out_b = out_b, .in_a = in_a, .in_b = in_b};
    x.lfd = ust_socket(p.a, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 any = sin6_of("::", 5001);
    assert_int_equal(ust_bind(p.a, x.lfd, (struct sockaddr *)&any, sizeof(any)), 0);
    assert_int_equal(ust_listen(p.a, x.lfd, 8), 0);
    x.cfd = ust_socket(p.b, AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 to = sin6_of("2001:db8::10", 5001);
    assert_int_equal(ust_connect(p.b, x.cfd, (struct sockaddr *)&to, sizeof(to)), -1);
    assert_int_equal(errno, EINPROGRESS);
    bool ok = pair_run(&p, 900 * UST_SEC, xfer_step, &x);
    bool same_a = x.got_a == n && memcmp(in_a, out_a, n) == 0;
    bool same_b = x.got_b == n && memcmp(in_b, out_b, n) == 0;
    if (!ok || x.err || !same_a || !same_b)
        fail_msg("seed %llu (drop %.2f dup %.3f reorder %.3f corrupt %.3f): a->b %zu/%zu%s, "
                 "b->a %zu/%zu%s, error %s (replay: USTACK_SEED=%llu)",
                 (unsigned long long)seed, f.drop, f.duplicate, f.reorder, f.corrupt, x.got_a, n,
                 same_a ? "" : " (differ)", x.got_b, n, same_b ? "" : " (differ)",
                 x.err ? strerror(x.err) : "none", (unsigned long long)seed);
    /* It went over IPv6: the peer's name is the IPv6 address, and IPv4
     * carried nothing but the start-up ARP. */
    struct sockaddr_in6 peer;
    socklen_t pl = sizeof(peer);
    assert_int_equal(ust_getpeername(p.b, x.cfd, (struct sockaddr *)&peer, &pl), 0);
    assert_memory_equal(&peer.sin6_addr, &to.sin6_addr, 16);
    const struct ust_stats *sa = ust_stack_stats(p.a), *sb = ust_stack_stats(p.b);
    assert_true(sa->ip6.tx > (offload ? 10u : 100u)); /* super-segments: fewer packets */
    assert_int_equal(sa->ip.tx, 0);
    if (offload & UST_OFFLOAD_TSO6) {
        /* Both ends sent TCP/IPv6 super-segments (TSO6), and took them. */
        if (!sa->offload.tx_super || !sb->offload.tx_super || !sa->offload.rx_super ||
            !sb->offload.rx_super)
            fail_msg("seed %llu: TSO6 unused: tx_super %llu/%llu, rx_super %llu/%llu",
                     (unsigned long long)seed, (unsigned long long)sa->offload.tx_super,
                     (unsigned long long)sb->offload.tx_super,
                     (unsigned long long)sa->offload.rx_super,
                     (unsigned long long)sb->offload.rx_super);
        assert_int_equal(sa->offload.rx_bad_meta + sb->offload.rx_bad_meta, 0);
        assert_int_equal(sa->offload.rx_bad_super + sb->offload.rx_bad_super, 0);
        assert_int_equal(sa->ip6.frag_ok + sb->ip6.frag_ok, 0); /* cut by the device, not IP */
    } else {
        assert_int_equal(sa->offload.tx_super + sb->offload.tx_super, 0);
    }
    assert_int_equal(ust_close(p.a, x.afd), 0);
    assert_int_equal(ust_close(p.b, x.cfd), 0);
    assert_int_equal(ust_close(p.a, x.lfd), 0);
    if (!pair_run(&p, 300 * UST_SEC, settled, &p))
        fail_msg("seed %llu: connections did not settle", (unsigned long long)seed);
    pair_run(&p, 2 * p.a->cfg.tcp_msl + UST_SEC, NULL, NULL);
    assert_null(p.a->tcp->all);
    assert_null(p.b->tcp->all);
    assert_int_equal(ust_stack_stats(p.a)->pkb.live, 0);
    assert_int_equal(ust_stack_stats(p.b)->pkb.live, 0);
    pair_fini(&p);
}

static bool env_seed(uint64_t *seed)
{
    const char *e = getenv("USTACK_SEED");
    if (!e || !*e)
        return false;
    *seed = strtoull(e, NULL, 0);
    return true;
}

static void tcp6_seeds_with(uint32_t offload, uint64_t default_seeds)
{
    uint8_t *out_a = malloc(XFER_BYTES), *out_b = malloc(XFER_BYTES);
    uint8_t *in_a = malloc(XFER_BYTES + 1), *in_b = malloc(XFER_BYTES + 1);
    assert_non_null(out_a && out_b && in_a && in_b);
    uint64_t one;
    if (env_seed(&one)) {
        tcp6_one(one, out_a, out_b, in_a, in_b, offload);
    } else {
        const char *count = getenv("USTACK_SEEDS");
        uint64_t n = count ? strtoull(count, NULL, 0) : default_seeds;
        for (uint64_t seed = 1; seed <= n; seed++)
            tcp6_one(seed, out_a, out_b, in_a, in_b, offload);
    }
    free(out_a);
    free(out_b);
    free(in_a);
    free(in_b);
}

static void tcp6_seeds(void **state)
{
    (void)state;
    tcp6_seeds_with(0, DEFAULT_SEEDS);
}

/* The TAP's offloads on the link, TSO6 included: half the seeds (the same
 * faults per seed). */
static void tcp6_offload_seeds(void **state)
{
    (void)state;
    tcp6_seeds_with(UST_OFFLOAD_RX_CSUM | UST_OFFLOAD_TX_CSUM | UST_OFFLOAD_TSO4 | UST_OFFLOAD_TSO6,
                    DEFAULT_SEEDS / 2);
}

/* ---- fragmented UDP ---- */

#define FRAG_DGRAMS 200

static void frag6_run(uint64_t seed, double drop, double reorder)
{
    struct ust_faults f = {.drop = drop,
                           .reorder = reorder,
                           .reorder_delay = 3000,
                           .delay = 1000,
                           .jitter = 500};
    struct pair p;
    pair6_open(&p, seed, &f, 0);
    int rx = ust_socket(p.a, AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 any = sin6_of("::", 6000);
    assert_int_equal(ust_bind(p.a, rx, (struct sockaddr *)&any, sizeof(any)), 0);
    int big = 4 << 20;
    assert_int_equal(ust_setsockopt(p.a, rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)), 0);
    int tx = ust_socket(p.b, AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 to = sin6_of("2001:db8::10", 6000);
    static uint8_t out[9000], in[9100];
    unsigned got = 0;
    uint64_t x = seed;
    for (unsigned i = 0; i < FRAG_DGRAMS; i++) {
        size_t len = 1500 + (size_t)(splitmix(&x) % 7500);
        fill_random(out, len, seed * 1000 + i);
        out[0] = (uint8_t)i;
        out[1] = (uint8_t)(len >> 8);
        out[2] = (uint8_t)len;
        ssize_t r = ust_sendto(p.b, tx, out, len, 0, (struct sockaddr *)&to, sizeof(to));
        for (int tries = 0; r < 0 && errno == ENOBUFS && tries < 5; tries++) {
            /* The neighbour's queue is full while it resolves (a lost
             * solicitation is sent again after RetransTimer, 1 s). */
            pair_run(&p, 1100 * UST_MS, NULL, NULL);
            r = ust_sendto(p.b, tx, out, len, 0, (struct sockaddr *)&to, sizeof(to));
        }
        if (r != (ssize_t)len)
            fail_msg("datagram %u (%zu bytes): %s", i, len, strerror(errno));
        pair_run(&p, 20 * UST_MS, NULL, NULL);
        for (;;) {
            ssize_t n = ust_recv(p.a, rx, in, sizeof(in), 0);
            if (n < 0)
                break;
            /* Whatever arrives is whole and exactly what was sent. */
            size_t want = (size_t)in[1] << 8 | in[2];
            assert_int_equal((size_t)n, want);
            uint8_t ref[9000];
            fill_random(ref, want, seed * 1000 + in[0]);
            ref[0] = in[0];
            ref[1] = in[1];
            ref[2] = in[2];
            assert_memory_equal(in, ref, want);
            got++;
        }
    }
    pair_run(&p, 2 * UST_SEC, NULL, NULL);
    for (;;) {
        ssize_t n = ust_recv(p.a, rx, in, sizeof(in), 0);
        if (n < 0)
            break;
        got++;
    }
    const struct ust_stats *sa = ust_stack_stats(p.a), *sb = ust_stack_stats(p.b);
    assert_true(sb->ip6.frag_ok >= FRAG_DGRAMS);
    if (drop == 0)
        assert_int_equal(got, FRAG_DGRAMS);
    else
        assert_true(got > FRAG_DGRAMS / 4 && got < FRAG_DGRAMS);
    /* Partial datagrams are dropped when their time is up (RFC 8200 4.5). */
    pair_run(&p, 61 * UST_SEC, NULL, NULL);
    assert_int_equal(ip6_reasm_count(&p.a->ip6->reasm), 0);
    assert_int_equal(ip6_reasm_memory(&p.a->ip6->reasm), 0);
    if (drop > 0)
        assert_true(sa->ip6.reasm_timeout > 0);
    ust_close(p.a, rx);
    ust_close(p.b, tx);
    pair_fini(&p);
}

static void frag6_udp(void **state)
{
    (void)state;
    frag6_run(1, 0.0, 0.3); /* reordered fragments: every datagram arrives */
    frag6_run(2, 0.05, 0.2);
    frag6_run(3, 0.10, 0.1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tcp6_seeds),
        cmocka_unit_test(tcp6_offload_seeds),
        cmocka_unit_test(frag6_udp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
