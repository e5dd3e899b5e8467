/* Congestion control: CUBIC (RFC 9438). Slow start as RFC 5681 (with
 * appropriate byte counting, L = 1); in congestion avoidance the window
 * follows W_cubic(t) = C*(t-K)^3 + W_max, or the Reno-friendly estimate
 * W_est when that is larger. Loss recovery keeps RFC 6582's mechanics
 * (inflate on duplicate ACKs, deflate on partial ACKs) around CUBIC's
 * ssthresh = cwnd * beta_cubic. Touches only cwnd, ssthresh, bytes_acked
 * and c->cubic; reads srtt and backoff; on_ack is given the time. Windows are computed in segments, in doubles. */
#include "transport/tcp.h"

#define CUBIC_C 0.4
#define CUBIC_BETA 0.7
/* RFC 9438 4.3: alpha_cubic = 3 * (1 - beta) / (1 + beta). */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

/* Cube root by Newton's method: deterministic and without libm. */
static double cubic_root(double x)
{
    if (x <= 0.0)
        return 0.0;
    double r = x > 1.0 ? x / 3.0 + 1.0 : 1.0;
    for (int i = 0; i < 200; i++) {
        double n = (2.0 * r + x / (r * r)) / 3.0;
        if (n == r || (n > r ? n - r : r - n) < 1e-12 * r)
            return n;
        r = n;
    }
    return r;
}

/* RFC 9438 eq. 1, in segments; t in seconds. */
double tcp_cubic_w_cubic(const struct cubic_state *st, double t)
{
    double d = t - st->k;
    return CUBIC_C * d * d * d + st->w_max;
}

static void cubic_reset(struct tcp_conn *c) { c->cubic = (struct cubic_state){0}; }

static void cu_init(struct tcp_conn *c)
{
    /* RFC 5681 3.1 initial window, as NewReno. */
    uint32_t mss = c->snd_mss;
    uint32_t iw = 2 * mss > 4380 ? 2 * mss : 4380;
    c->cwnd = iw < 4 * mss ? iw : 4 * mss;
    c->ssthresh = 0xffffffffu;
    c->bytes_acked = 0;
    cubic_reset(c);
}

/* The start of a congestion avoidance stage (RFC 9438 4.2, 4.8). */
static void epoch_begin(struct tcp_conn *c, double cwnd, ust_time_t now)
{
    struct cubic_state *st = &c->cubic;
    st->in_epoch = true;
    st->epoch_start = now;
    st->cwnd_epoch = cwnd;
    st->w_est = cwnd;
    st->inc_bytes = 0;
    if (st->after_rto || cwnd >= st->w_max) {
        /* 4.8: after a timeout, K = 0 and W_max = cwnd at the start of the
         * stage; likewise when cwnd already reached W_max (no plateau). */
        st->after_rto = false;
        st->w_max = cwnd;
        st->k = 0.0;
    } else {
        st->k = cubic_root((st->w_max - cwnd) / CUBIC_C); /* eq. 2 */
    }
}

static void cu_on_ack(struct tcp_conn *c, uint32_t acked, ust_time_t now)
{
    struct cubic_state *st = &c->cubic;
    double mss = c->snd_mss;
    if (c->cwnd < c->ssthresh) {
        c->cwnd += acked < c->snd_mss ? acked : c->snd_mss; /* RFC 5681 slow start */
        return;
    }
    double cwnd = c->cwnd / mss;
    if (!st->in_epoch)
        epoch_begin(c, cwnd, now);
    double segs = acked / mss;
    double t = (double)(now - st->epoch_start) / 1e6;
    double rtt = c->rtt_valid ? c->srtt / 1e6 : 0.0;

    /* 4.3: the Reno-friendly estimate; alpha becomes 1 once W_est has
     * reached the window before the last reduction. */
    double alpha = st->w_est >= st->cwnd_prior ? 1.0 : CUBIC_ALPHA;
    st->w_est += alpha * segs / cwnd;

    double next;
    if (tcp_cubic_w_cubic(st, t) < st->w_est) {
        next = st->w_est; /* Reno-friendly region */
    } else {
        /* 4.4, 4.5: concave and convex regions, toward W_cubic(t + RTT),
         * the target clamped to [cwnd, 1.5 * cwnd]. */
        double target = tcp_cubic_w_cubic(st, t + rtt);
        if (target < cwnd)
            target = cwnd;
        if (target > 1.5 * cwnd)
            target = 1.5 * cwnd;
        next = cwnd + (target - cwnd) / cwnd * segs;
    }
    if (next <= cwnd)
        return;
    st->inc_bytes += (next - cwnd) * mss;
    if (st->inc_bytes >= 1.0) {
        double whole = st->inc_bytes >= 4294967295.0 ? 4294967295.0
                                                     : (double)(uint32_t)st->inc_bytes;
        st->inc_bytes -= whole;
        uint64_t w = (uint64_t)c->cwnd + (uint64_t)whole;
        c->cwnd = w > 0xffffffffu ? 0xffffffffu : (uint32_t)w;
    }
}

/* A congestion event (4.6, 4.7): W_max with fast convergence, ssthresh by
 * the multiplicative decrease. */
static void congestion_event(struct tcp_conn *c)
{
    struct cubic_state *st = &c->cubic;
    double cwnd = c->cwnd / (double)c->snd_mss;
    if (cwnd < st->w_max)
        st->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0; /* fast convergence */
    else
        st->w_max = cwnd;
    st->cwnd_prior = cwnd;
    st->in_epoch = false;
    st->inc_bytes = 0;
    uint64_t ss = (uint64_t)c->cwnd * 7u / 10u; /* cwnd * beta_cubic, exactly */
    c->ssthresh = ss > 2u * c->snd_mss ? (uint32_t)ss : 2u * c->snd_mss;
    c->bytes_acked = 0;
}

static void cu_enter_recovery(struct tcp_conn *c)
{
    congestion_event(c);
    c->cwnd = c->ssthresh + 3u * c->snd_mss; /* RFC 6582 3.2 (2) */
}

static void cu_on_dupack(struct tcp_conn *c) { c->cwnd += c->snd_mss; /* RFC 6582 3.2 (3) */ }

static void cu_on_partial_ack(struct tcp_conn *c, uint32_t acked)
{
    c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0; /* RFC 6582 3.2 (5) */
    c->cwnd += c->snd_mss;
}

static void cu_exit_recovery(struct tcp_conn *c)
{
    uint32_t f = tcp_flight(c) + c->snd_mss; /* RFC 6582 3.2 (6), option 1 */
    c->cwnd = c->ssthresh < f ? c->ssthresh : f;
    c->bytes_acked = 0;
}

static void cu_on_rto(struct tcp_conn *c)
{
    /* 4.8: ssthresh by beta_cubic, cwnd to the loss window (RFC 5681).
     * Only the first of consecutive timeouts is a new congestion event
     * (later ones would shrink ssthresh from the 1-segment loss window). */
    if (c->backoff <= 1)
        congestion_event(c);
    c->cubic.in_epoch = false;
    c->cubic.after_rto = true;
    c->cwnd = c->snd_mss;
    c->bytes_acked = 0;
}

const struct tcp_cc_ops tcp_cubic = {
    .name = "cubic",
    .init = cu_init,
    .on_ack = cu_on_ack,
    .on_enter_recovery = cu_enter_recovery,
    .on_dupack = cu_on_dupack,
    .on_partial_ack = cu_on_partial_ack,
    .on_exit_recovery = cu_exit_recovery,
    .on_rto = cu_on_rto,
};
