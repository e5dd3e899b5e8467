/* TCP smoke: two stacks on a memlink, handshake, 1 MB each way, close, on
 * a clean link and through loss. The congestion control is chosen with
 * TCP_CONGESTION on both ends (the accepted socket inherits it from the
 * listener), NewReno (RFC 5681, RFC 6582) or CUBIC (RFC 9438), each on a
 * clean link and through loss; the heaviest loss takes the default
 * (CUBIC). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "pair.h"
#include "ustack/socket.h"

#include <netinet/tcp.h>

/* Congestion control for the run: NULL for the default. */
static void set_cc(struct ust_stack *s, int fd, const char *cc)
{
    if (cc)
        assert_int_equal(ust_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, cc,
                                        (socklen_t)strlen(cc)),
                         0);
}

static void expect_cc(struct ust_stack *s, int fd, const char *cc)
{
    if (!cc)
        return;
    char name[16] = {0};
    socklen_t len = sizeof(name);
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, cc);
}

struct xfer {
    struct pair *p;
    const char *cc;
    int lfd, afd, cfd;
    uint8_t *out_a, *out_b, *in_a, *in_b; /* a->b and b->a */
    size_t n, sent_a, sent_b, got_a, got_b;
    bool closed_a, closed_b, eof_a, eof_b;
};

static bool step(void *ctx)
{
    struct xfer *x = ctx;
    struct ust_stack *a = x->p->a, *b = x->p->b;
    if (x->afd < 0) {
        x->afd = ust_accept(a, x->lfd, NULL, NULL);
        if (x->afd < 0)
            return false;
        ust_fcntl(a, x->afd, F_SETFL, O_NONBLOCK);
        expect_cc(a, x->afd, x->cc);
    }
    /* a sends to b through afd; b sends to a through cfd */
    if (x->sent_a < x->n) {
        ssize_t r = ust_send(a, x->afd, x->out_a + x->sent_a, x->n - x->sent_a, 0);
        if (r > 0)
            x->sent_a += (size_t)r;
    } else if (!x->closed_a) {
        assert_int_equal(ust_shutdown(a, x->afd, SHUT_WR), 0);
        x->closed_a = true;
    }
    if (x->sent_b < x->n) {
        ssize_t r = ust_send(b, x->cfd, x->out_b + x->sent_b, x->n - x->sent_b, 0);
        if (r > 0)
            x->sent_b += (size_t)r;
    } else if (!x->closed_b) {
        assert_int_equal(ust_shutdown(b, x->cfd, SHUT_WR), 0);
        x->closed_b = true;
    }
    for (;;) {
        ssize_t r = ust_recv(b, x->cfd, x->in_a + x->got_a, x->n + 1 - x->got_a, 0);
        if (r > 0) {
            x->got_a += (size_t)r;
            continue;
        }
        if (r == 0)
            x->eof_b = true;
        else
            assert_int_equal(errno, EAGAIN);
        break;
    }
    for (;;) {
        ssize_t r = ust_recv(a, x->afd, x->in_b + x->got_b, x->n + 1 - x->got_b, 0);
        if (r > 0) {
            x->got_b += (size_t)r;
            continue;
        }
        if (r == 0)
            x->eof_a = true;
        else
            assert_int_equal(errno, EAGAIN);
        break;
    }
    return x->eof_a && x->eof_b;
}

static void run_transfer(uint64_t seed, const struct ust_faults *f, size_t n, const char *cc)
{
    struct pair p;
    pair_init(&p, seed, NULL, NULL, f);
    struct xfer x = {.p = &p, .afd = -1, .n = n, .cc = cc};
    x.out_a = malloc(n);
    x.out_b = malloc(n);
    x.in_a = malloc(n + 1);
    x.in_b = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        x.out_a[i] = (uint8_t)(i * 7 + seed);
        x.out_b[i] = (uint8_t)(i * 13 + 3);
    }
    x.lfd = ust_socket(p.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7)};
    assert_int_equal(ust_bind(p.a, x.lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    set_cc(p.a, x.lfd, cc);
    assert_int_equal(ust_listen(p.a, x.lfd, 8), 0);
    x.cfd = ust_socket(p.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    set_cc(p.b, x.cfd, cc);
    sin.sin_addr.s_addr = htonl(PAIR_IP_A);
    assert_int_equal(ust_connect(p.b, x.cfd, (struct sockaddr *)&sin, sizeof(sin)), -1);
    assert_int_equal(errno, EINPROGRESS);
    bool ok = pair_run(&p, 600 * UST_SEC, step, &x);
    if (!ok || x.got_a != n || x.got_b != n || memcmp(x.in_a, x.out_a, n) ||
        memcmp(x.in_b, x.out_b, n))
        fail_msg("seed %llu: transfer incomplete or corrupt: a->b %zu/%zu, b->a %zu/%zu, "
                 "eof a=%d b=%d, same a->b=%d b->a=%d",
                 (unsigned long long)seed, x.got_a, n, x.got_b, n, x.eof_a, x.eof_b,
                 x.got_a == n && !memcmp(x.in_a, x.out_a, n),
                 x.got_b == n && !memcmp(x.in_b, x.out_b, n));
    if (f && f->drop > 0) {
        const struct ust_stats *sa = ust_stack_stats(p.a), *sb = ust_stack_stats(p.b);
        assert_true(sa->tcp.retransmits + sb->tcp.retransmits > 0);
        assert_true(ust_memlink_stats(p.link)->dropped > 0);
        if (getenv("USTACK_VERBOSE"))
            print_message(
                "seed %llu: retransmits %llu/%llu, fast %llu/%llu, rto %llu/%llu, dropped %llu\n",
                (unsigned long long)seed, (unsigned long long)sa->tcp.retransmits,
                (unsigned long long)sb->tcp.retransmits,
                (unsigned long long)sa->tcp.fast_retransmits,
                (unsigned long long)sb->tcp.fast_retransmits,
                (unsigned long long)sa->tcp.rto_timeouts, (unsigned long long)sb->tcp.rto_timeouts,
                (unsigned long long)ust_memlink_stats(p.link)->dropped);
    }
    expect_cc(p.b, x.cfd, cc);
    assert_int_equal(ust_close(p.a, x.afd), 0);
    assert_int_equal(ust_close(p.b, x.cfd), 0);
    assert_int_equal(ust_close(p.a, x.lfd), 0);
    /* TIME-WAIT and everything else runs out. */
    pair_run(&p, 300 * UST_SEC, NULL, NULL);
    assert_int_equal(ust_stack_next_deadline(p.a), UST_TIME_NEVER);
    assert_int_equal(ust_stack_next_deadline(p.b), UST_TIME_NEVER);
    assert_int_equal(ust_stack_stats(p.a)->pkb.live, 0);
    assert_int_equal(ust_stack_stats(p.b)->pkb.live, 0);
    free(x.out_a);
    free(x.out_b);
    free(x.in_a);
    free(x.in_b);
    pair_fini(&p);
}

static void newreno_clean_link(void **state)
{
    (void)state;
    run_transfer(1, NULL, 1 << 20, "newreno");
}

static void newreno_lossy_link(void **state)
{
    (void)state;
    struct ust_faults f = {.drop = 0.05,
                           .duplicate = 0.02,
                           .reorder = 0.05,
                           .corrupt = 0.01,
                           .delay = 2 * UST_MS,
                           .jitter = 1 * UST_MS};
    for (uint64_t seed = 1; seed <= 5; seed++)
        run_transfer(seed, &f, 256 << 10, "newreno");
}

static void very_lossy_link(void **state)
{
    (void)state;
    struct ust_faults f = {.drop = 0.2,
                           .duplicate = 0.05,
                           .reorder = 0.1,
                           .corrupt = 0.02,
                           .delay = 5 * UST_MS,
                           .jitter = 3 * UST_MS};
    for (uint64_t seed = 100; seed < 110; seed++)
        run_transfer(seed, &f, 128 << 10, NULL);
}

static void cubic_clean_link(void **state)
{
    (void)state;
    run_transfer(1, NULL, 1 << 20, "cubic");
}

static void cubic_lossy_link(void **state)
{
    (void)state;
    struct ust_faults f = {.drop = 0.05,
                           .duplicate = 0.02,
                           .reorder = 0.05,
                           .delay = 2 * UST_MS,
                           .jitter = 1 * UST_MS};
    for (uint64_t seed = 1; seed <= 10; seed++)
        run_transfer(seed, &f, 1 << 20, "cubic");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(newreno_clean_link), cmocka_unit_test(newreno_lossy_link),
        cmocka_unit_test(very_lossy_link), cmocka_unit_test(cubic_clean_link),
        cmocka_unit_test(cubic_lossy_link)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
