/* CUBIC (RFC 9438) on its own: the ops driven directly on a struct
 * tcp_conn, checked against the RFC's formulas computed here; and the
 * TCP_CONGESTION socket option. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <string.h>

#include "cc_hooks.h"
#include "harness.h"
#include "transport/tcp.h"
#include "ustack/socket.h"

#define MSS 1000u
#define T0 (1000 * UST_SEC)
#define RC 0.4
#define RBETA 0.7
#define RALPHA (3.0 * (1.0 - RBETA) / (1.0 + RBETA))

/* RFC 9438 eq. 1. */
static double rfc_w_cubic(double t, double k, double w_max)
{
    return RC * (t - k) * (t - k) * (t - k) + w_max;
}

static void assert_near(double got, double want, double tol)
{
    if (got < want - tol || got > want + tol)
        fail_msg("got %.6f, want %.6f (+-%g)", got, want, tol);
}

/* A CUBIC connection with cwnd segments in flight (enough for exit to
 * leave cwnd = ssthresh). */
static void conn_setup(struct tcp_conn *c, uint32_t cwnd_segs)
{
    memset(c, 0, sizeof(*c));
    c->snd_mss = MSS;
    c->cc = &tcp_cubic;
    cc_init(c, T0);
    c->cwnd = cwnd_segs * MSS;
    c->snd_una = 1;
    c->snd_max = 1 + 400 * MSS;
}

/* A loss by three duplicate ACKs at now, through to the end of recovery. */
static void loss(struct tcp_conn *c, ust_time_t now)
{
    cc_enter_recovery(c, now);
    cc_dupack(c, now);
    cc_exit_recovery(c, now);
}

static void slow_start_and_init(void **state)
{
    (void)state;
    struct tcp_conn c;
    ust_time_t now = T0; /* the hooks' clock */
    conn_setup(&c, 4);
    cc_init(&c, now);
    assert_int_equal(c.cwnd, 4 * MSS); /* RFC 5681 IW: min(4*MSS, max(2*MSS, 4380)) */
    assert_int_equal(c.ssthresh, 0xffffffffu);
    cc_ack(&c, MSS, now);
    assert_int_equal(c.cwnd, 5 * MSS);
    cc_ack(&c, 3 * MSS, now); /* byte counting, L = 1 */
    assert_int_equal(c.cwnd, 6 * MSS);
    cc_ack(&c, 100, now);
    assert_int_equal(c.cwnd, 6 * MSS + 100);
}

static void multiplicative_decrease_and_k(void **state)
{
    (void)state;
    struct tcp_conn c;
    ust_time_t now = T0; /* the hooks' clock */
    conn_setup(&c, 100);
    cc_enter_recovery(&c, now);
    assert_int_equal(c.ssthresh, 70 * MSS); /* 0.7 * cwnd */
    assert_int_equal(c.cwnd, 73 * MSS);     /* + 3 segments (RFC 6582) */
    cc_dupack(&c, now);
    assert_int_equal(c.cwnd, 74 * MSS);
    cc_exit_recovery(&c, now);
    assert_int_equal(c.cwnd, 70 * MSS);
    assert_near(c.cubic.w_max, 100.0, 1e-9);

    /* The first ACK of congestion avoidance starts the epoch: K from eq. 2,
     * i.e. C * K^3 = W_max * (1 - beta). */
    cc_ack(&c, MSS, now);
    assert_true(c.cubic.in_epoch);
    double k = c.cubic.k;
    assert_near(RC * k * k * k, 100.0 * (1 - RBETA), 1e-6);
    assert_near(k, 4.2171633265, 1e-6); /* cbrt(75) */

    /* W_cubic(t) at several t against eq. 1. */
    const double ts[] = {0.0, 1.0, 2.5, k, 5.0, 8.0, 12.0};
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++)
        assert_near(tcp_cubic_w_cubic(&c.cubic, ts[i]), rfc_w_cubic(ts[i], k, 100.0), 1e-9);
    assert_near(tcp_cubic_w_cubic(&c.cubic, 0.0), 70.0, 1e-6); /* starts at beta * W_max */
    assert_near(tcp_cubic_w_cubic(&c.cubic, k), 100.0, 1e-9);  /* plateau at W_max */
}

/* One ACK of one segment at time t into the epoch: the increase RFC 9438
 * 4.4/4.5 asks for, (target - cwnd) / cwnd segments. */
static double expected_increase(double cwnd, double t, double rtt, double k, double w_max)
{
    double target = rfc_w_cubic(t + rtt, k, w_max);
    if (target < cwnd)
        target = cwnd;
    if (target > 1.5 * cwnd)
        target = 1.5 * cwnd;
    return (target - cwnd) / cwnd * MSS;
}

static void concave_convex_regions(void **state)
{
    (void)state;
    struct tcp_conn c;
    ust_time_t now = T0; /* the hooks' clock */
    conn_setup(&c, 100);
    loss(&c, now);
    ust_time_t t0 = now;
    cc_ack(&c, MSS, now); /* epoch begins */
    double k = c.cubic.k;
    c.srtt = 100000; /* 100 ms */
    c.rtt_valid = true;
    c.cubic.inc_bytes = 0;

    /* Concave: t = 2 s < K. */
    now = t0 + 2 * UST_SEC;
    uint32_t before = c.cwnd;
    double want = expected_increase(before / (double)MSS, 2.0, 0.1, k, 100.0);
    assert_true(rfc_w_cubic(2.0, k, 100.0) > c.cubic.w_est); /* not Reno-friendly */
    cc_ack(&c, MSS, now);
    assert_near(c.cwnd - before, want, 1.0);
    assert_true(want > 100.0); /* far below W_max: fast growth */

    /* Near the plateau (t = K) the growth almost stops. */
    c.cwnd = 99 * MSS;
    c.cubic.inc_bytes = 0;
    now = t0 + (ust_time_t)(k * 1e6);
    before = c.cwnd;
    want = expected_increase(99.0, k, 0.1, k, 100.0);
    cc_ack(&c, MSS, now);
    assert_near(c.cwnd - before, want, 1.0);
    assert_true(want < 15.0);

    /* Convex: t = 6 s > K, above W_max. */
    c.cwnd = 101 * MSS;
    c.cubic.inc_bytes = 0;
    now = t0 + 6 * UST_SEC;
    before = c.cwnd;
    want = expected_increase(101.0, 6.0, 0.1, k, 100.0);
    cc_ack(&c, MSS, now);
    assert_near(c.cwnd - before, want, 1.0);
    assert_true(want > 10.0);

    /* Far out the target is clamped to 1.5 * cwnd: half a segment per ACK. */
    c.cubic.inc_bytes = 0;
    now = t0 + 30 * UST_SEC;
    before = c.cwnd;
    cc_ack(&c, MSS, now);
    assert_near(c.cwnd - before, 0.5 * MSS, 1.0);
}

static void reno_friendly_region(void **state)
{
    (void)state;
    struct tcp_conn c;
    ust_time_t now = T0; /* the hooks' clock */
    conn_setup(&c, 100);
    loss(&c, now);
    ust_time_t t0 = now;
    cc_ack(&c, MSS, now);
    double k = c.cubic.k;
    /* W_est (4.3) starts at cwnd_epoch and grows by alpha_cubic segments
     * per window of ACKs, alpha = 3(1-beta)/(1+beta). */
    assert_near(c.cubic.cwnd_epoch, 70.0, 1e-9);
    double w_est = c.cubic.w_est;
    assert_near(w_est, 70.0 + RALPHA * 1.0 / 70.0, 1e-9);

    /* Make the Reno estimate win: W_est > W_cubic(t). */
    now = t0 + UST_SEC / 2;
    c.cubic.w_est = 90.0;
    c.cubic.inc_bytes = 0;
    uint32_t before = c.cwnd;
    assert_true(rfc_w_cubic(0.5, k, 100.0) < 90.0);
    cc_ack(&c, MSS, now);
    double est = 90.0 + RALPHA * 1.0 / (before / (double)MSS); /* W_est < cwnd_prior */
    assert_near(c.cubic.w_est, est, 1e-9);
    assert_near(c.cwnd, est * MSS, 1.0); /* cwnd = W_est */

    /* Once W_est reaches cwnd_prior (100), alpha becomes 1. */
    c.cubic.w_est = 100.0;
    before = c.cwnd;
    cc_ack(&c, MSS, now);
    assert_near(c.cubic.w_est, 100.0 + 1.0 / (before / (double)MSS), 1e-9);
}

static void fast_convergence(void **state)
{
    (void)state;
    struct tcp_conn c;
    ust_time_t now = T0; /* the hooks' clock */
    conn_setup(&c, 100);
    loss(&c, now);
    assert_near(c.cubic.w_max, 100.0, 1e-9);
    /* A loss before reaching the previous W_max: W_max = cwnd * (1 + beta) / 2. */
    c.cwnd = 90 * MSS;
    loss(&c, now);
    assert_near(c.cubic.w_max, 90.0 * (1 + RBETA) / 2, 1e-9);
    assert_int_equal(c.ssthresh, 63 * MSS);
    assert_int_equal(c.cwnd, 63 * MSS);
    /* Beyond the previous W_max: W_max = cwnd. */
    c.cwnd = 120 * MSS;
    loss(&c, now);
    assert_near(c.cubic.w_max, 120.0, 1e-9);
    assert_int_equal(c.ssthresh, 84 * MSS);
    /* ssthresh never below 2 segments. */
    c.cwnd = 2 * MSS;
    loss(&c, now);
    assert_int_equal(c.ssthresh, 2 * MSS);
}

static void timeout(void **state)
{
    (void)state;
    struct tcp_conn c;
    ust_time_t now = T0; /* the hooks' clock */
    conn_setup(&c, 100);
    c.backoff = 1;
    cc_rto(&c, now);
    assert_int_equal(c.cwnd, MSS);          /* RFC 5681 loss window */
    assert_int_equal(c.ssthresh, 70 * MSS); /* beta_cubic */
    /* A second consecutive timeout keeps ssthresh. */
    c.backoff = 2;
    cc_rto(&c, now);
    assert_int_equal(c.ssthresh, 70 * MSS);
    /* Slow start up to ssthresh... */
    while (c.cwnd < c.ssthresh)
        cc_ack(&c, MSS, now);
    assert_int_equal(c.cwnd, 70 * MSS);
    assert_false(c.cubic.in_epoch);
    /* ...then 4.8: K = 0, W_max = W_est = cwnd at the start of the stage. */
    cc_ack(&c, MSS, now);
    assert_true(c.cubic.in_epoch);
    assert_near(c.cubic.k, 0.0, 1e-12);
    assert_near(c.cubic.w_max, 70.0, 1e-9);
    assert_near(c.cubic.cwnd_epoch, 70.0, 1e-9);
}

static void socket_option(void **state)
{
    (void)state;
    struct ust_config cfg;
    struct ust_stack *s;
    test_config(&cfg, 1);
    assert_int_equal(ust_stack_create(&cfg, &s), 0);
    int fd = ust_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    char name[16];
    socklen_t len = sizeof(name);
    memset(name, 'x', sizeof(name));
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "cubic"); /* the default */

    assert_int_equal(ust_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "newreno", 7), 0);
    len = sizeof(name);
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "newreno");

    assert_int_equal(ust_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5), 0);
    len = sizeof(name);
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "cubic");

    assert_int_equal(ust_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "reno", 5),
                     0); /* with NUL */
    len = sizeof(name);
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "newreno");

    assert_int_equal(ust_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "bogus", 5), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(ust_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "cubicx", 6), -1);
    assert_int_equal(errno, ENOENT);
    len = sizeof(name);
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "newreno"); /* unchanged */

    /* Truncated to a short buffer, as Linux. */
    assert_int_equal(ust_setsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, "newreno", 7), 0);
    len = 3;
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(name, "new", 3);

    int u = ust_socket(s, AF_INET, SOCK_DGRAM, 0);
    assert_int_equal(ust_setsockopt(s, u, IPPROTO_TCP, TCP_CONGESTION, "cubic", 5), -1);
    assert_int_equal(ust_close(s, u), 0);
    assert_int_equal(ust_close(s, fd), 0);
    ust_stack_destroy(s);
}

/* The stack-wide default comes from the configuration; a name no module
 * has is refused when the stack is created. */
static void configured_default(void **state)
{
    (void)state;
    struct ust_config cfg;
    struct ust_stack *s;
    test_config(&cfg, 1);
    cfg.tcp_congestion = "newreno";
    assert_int_equal(ust_stack_create(&cfg, &s), 0);
    int fd = ust_socket(s, AF_INET, SOCK_STREAM, 0);
    char name[16] = {0};
    socklen_t len = sizeof(name);
    assert_int_equal(ust_getsockopt(s, fd, IPPROTO_TCP, TCP_CONGESTION, name, &len), 0);
    assert_string_equal(name, "newreno");
    assert_int_equal(ust_close(s, fd), 0);
    ust_stack_destroy(s);

    cfg.tcp_congestion = "vegas";
    assert_int_equal(ust_stack_create(&cfg, &s), -EINVAL);
    cfg.tcp_congestion = NULL;
    assert_int_equal(ust_stack_create(&cfg, &s), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slow_start_and_init),    cmocka_unit_test(multiplicative_decrease_and_k),
        cmocka_unit_test(concave_convex_regions), cmocka_unit_test(reno_friendly_region),
        cmocka_unit_test(fast_convergence),       cmocka_unit_test(timeout),
        cmocka_unit_test(socket_option),          cmocka_unit_test(configured_default),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
