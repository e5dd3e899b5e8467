/* Loss recovery without SACK: fast retransmit on the third duplicate ACK
 * (RFC 5681 3.2) and NewReno's partial acknowledgments (RFC 6582 3.2),
 * behind struct tcp_recovery_ops as tcp_newreno_recovery. The window
 * arithmetic (inflation, deflation) is the congestion control's: its
 * on_enter_recovery, on_dupack, on_partial_ack and on_exit_recovery. */
#include "transport/tcp.h"

#define DUP_THRESH 3 /* RFC 5681 2 */

void tcp_recovery_end(struct tcp_conn *c)
{
    c->in_recovery = false;
    c->dupacks = 0;
    c->cc->on_exit_recovery(c); /* RFC 6582 3.2 (6) */
}

static bool nr_update(struct tcp_conn *c, const struct tcp_repr *th)
{
    (void)c, (void)th;
    return false; /* nothing beyond the cumulative ACK */
}

/* RFC 5681 2: no data, the same window (SYN and FIN, SND.UNA in place
 * with data outstanding, are checked by the caller). */
static bool nr_is_dupack(const struct tcp_conn *c, uint32_t seg_len, uint32_t wnd, bool news)
{
    (void)news;
    return seg_len == 0 && wnd == c->snd_wnd;
}

static void nr_detect_loss(struct ust_stack *s, struct tcp_conn *c, bool dup, bool news)
{
    (void)news;
    if (!dup)
        return;
    if (c->in_recovery) {
        c->cc->on_dupack(c); /* RFC 6582 3.2 (3): inflate */
        return;
    }
    /* RFC 6582 3.2 (1)-(2), and 4.1: not a loss from before the last
     * recovery (the ACK must cover `recover`). */
    if (c->dupacks == DUP_THRESH && seq_ge(c->snd_una, c->recover)) {
        s->stats.tcp.fast_retransmits++;
        c->in_recovery = true;
        c->recover = c->snd_max;
        c->cc->on_enter_recovery(c);
        tcp_retransmit_first(s, c);
    }
}

/* RFC 6582 3.2 (5): a partial ACK: the next hole is lost too. */
static void nr_partial_ack(struct ust_stack *s, struct tcp_conn *c, uint32_t acked)
{
    c->cc->on_partial_ack(c, acked);
    tcp_retransmit_first(s, c);
}

static void nr_exit(struct ust_stack *s, struct tcp_conn *c)
{
    (void)s;
    tcp_recovery_end(c);
}

const struct tcp_recovery_ops tcp_newreno_recovery = {
    .name = "newreno",
    .update = nr_update,
    .is_dupack = nr_is_dupack,
    .detect_loss = nr_detect_loss,
    .partial_ack = nr_partial_ack,
    .exit = nr_exit,
    .output = NULL,       /* the window, inflated, paces tcp_output */
    .probe_repair = NULL, /* no SACKs to tell a hole is lost */
};
