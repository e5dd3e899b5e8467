/* Congestion control: NewReno (RFC 5681 slow start and congestion
 * avoidance, RFC 6582 fast recovery). Touches only cwnd, ssthresh and
 * bytes_acked of the connection it is given. */
#include "transport/tcp.h"

#include <string.h>

static uint32_t half_flight(const struct tcp_conn *c)
{
    uint32_t h = tcp_flight(c) / 2;
    return h > 2u * c->snd_mss ? h : 2u * c->snd_mss; /* RFC 5681 (4) */
}

static void nr_init(struct tcp_conn *c)
{
    /* RFC 5681 3.1: IW = min(4*SMSS, max(2*SMSS, 4380 bytes)). */
    uint32_t mss = c->snd_mss;
    uint32_t iw = 2 * mss > 4380 ? 2 * mss : 4380;
    c->cwnd = iw < 4 * mss ? iw : 4 * mss;
    c->ssthresh = 0xffffffffu;
    c->bytes_acked = 0;
}

static void nr_on_ack(struct tcp_conn *c, uint32_t acked, ust_time_t now)
{
    (void)now; /* NewReno's window grows by ACKs, not by time */
    if (c->cwnd < c->ssthresh) {
        /* Slow start, with appropriate byte counting (RFC 3465, L = 1). */
        c->cwnd += acked < c->snd_mss ? acked : c->snd_mss;
        return;
    }
    /* Congestion avoidance: one SMSS per window's worth of ACKed bytes. */
    c->bytes_acked += acked;
    if (c->bytes_acked >= c->cwnd) {
        c->bytes_acked -= c->cwnd;
        c->cwnd += c->snd_mss;
    }
}

static void nr_enter_recovery(struct tcp_conn *c)
{
    c->ssthresh = half_flight(c);
    c->cwnd = c->ssthresh + 3u * c->snd_mss; /* RFC 6582 3.2 (2): inflate */
}

static void nr_on_dupack(struct tcp_conn *c) { c->cwnd += c->snd_mss; /* RFC 6582 3.2 (3) */ }

static void nr_on_partial_ack(struct tcp_conn *c, uint32_t acked)
{
    /* RFC 6582 3.2 (5): deflate by what was acked, add back one SMSS. */
    c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
    c->cwnd += c->snd_mss;
}

static void nr_exit_recovery(struct tcp_conn *c)
{
    /* RFC 6582 3.2 (6), option 1: cwnd = min(ssthresh, FlightSize + SMSS). */
    uint32_t f = tcp_flight(c) + c->snd_mss;
    c->cwnd = c->ssthresh < f ? c->ssthresh : f;
    c->bytes_acked = 0;
}

static void nr_on_rto(struct tcp_conn *c)
{
    c->ssthresh = half_flight(c); /* RFC 5681 (4) */
    c->cwnd = c->snd_mss;         /* the loss window */
    c->bytes_acked = 0;
}

const struct tcp_cc_ops tcp_newreno = {
    .name = "newreno",
    .init = nr_init,
    .on_ack = nr_on_ack,
    .on_enter_recovery = nr_enter_recovery,
    .on_dupack = nr_on_dupack,
    .on_partial_ack = nr_on_partial_ack,
    .on_exit_recovery = nr_exit_recovery,
    .on_rto = nr_on_rto,
};

const struct tcp_cc_ops *tcp_cc_find(const char *name)
{
    if (strcmp(name, "newreno") == 0 || strcmp(name, "reno") == 0)
        return &tcp_newreno;
    if (strcmp(name, "cubic") == 0)
        return &tcp_cubic;
    return NULL;
}
