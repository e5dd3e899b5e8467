/* TCP input: RFC 9293 3.10.7 "SEGMENT ARRIVES", in the RFC's order, with the
 * RFC 5961 defences against blind in-window attacks. */
#include "transport/tcp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/icmp.h"
#include "net/ip.h"
#include "net/netif.h"
#include "transport/socket.h"
#include "wire/bytes.h"

/* RFC 7323 5.5: TS.Recent is no longer trusted after 24 days idle. */
#define TCP_PAWS_IDLE ((ust_time_t)24 * 24 * 3600 * UST_SEC)

/* The ACKs that answer invalid segments (out of the window, failing
 * PAWS, acknowledging data never sent, and RFC 5961's challenges): at
 * most one per cfg.tcp_invalid_ratelimit per connection (Linux's
 * tcp_invalid_ratelimit), so a blind attacker's flood draws a trickle, not
 * an ACK each. */
static bool invalid_ack_allowed(struct ust_stack *s, struct tcp_conn *c)
{
    if (c->oow_ack_at && s->now < c->oow_ack_at + s->cfg.tcp_invalid_ratelimit) {
        s->stats.tcp.invalid_ack_limited++;
        return false;
    }
    c->oow_ack_at = s->now;
    return true;
}

/* Owes an ACK for an invalid segment g. One that carries data (or a FIN)
 * is always answered, as Linux does: a peer that retransmits data we
 * have must hear so, and such segments do not make ACK loops. */
static void answer_invalid(struct ust_stack *s, struct tcp_conn *c, const struct tcp_seg *g)
{
    if ((g->seq_len == 0 || (g->th.flags & TCP_SYN)) && !invalid_ack_allowed(s, c))
        return;
    c->ack_now = true;
}

/* RFC 5961 7: challenge ACKs are limited per connection and by a
 * stack-wide budget drawn at random every second around
 * cfg.tcp_challenge_ack_rate. A fixed shared budget let an off-path
 * attacker count, by what one connection got, the challenges another
 * spent: whether a guessed sequence number was in its window (the
 * CVE-2016-5696 side channel). */
static void challenge_ack(struct ust_stack *s, struct tcp_conn *c)
{
    if (!invalid_ack_allowed(s, c))
        return;
    struct tcp_stack *t = s->tcp;
    uint64_t second = s->now / UST_SEC;
    if (second != t->challenge_second) {
        unsigned rate = s->cfg.tcp_challenge_ack_rate;
        t->challenge_second = second;
        t->challenge_left = rate / 2 + (rate ? (unsigned)rng_below(&s->rng, rate) : 0);
    }
    if (t->challenge_left == 0) {
        s->stats.tcp.challenge_ack_limited++;
        return;
    }
    t->challenge_left--;
    s->stats.tcp.challenge_acks++;
    tcp_why(s, "challenge ACK (RFC 5961)");
    tcp_send_ack(s, c);
}

/* The options a SYN (or SYN-ACK) settles, with the MSS: window scaling
 * (RFC 7323 2.2), timestamps (3.2) and SACK (RFC 2018 2). Each is in
 * effect only when both SYNs carried it: a SYN-ACK offers only what the
 * SYN did, and an active opener only offered what the stack's
 * configuration allows. */
void tcp_negotiate(struct ust_stack *s, struct tcp_conn *c, const struct tcp_repr *th)
{
    if (th->wscale >= 0) {
        c->ws_ok = true;
        c->snd_wscale = (uint8_t)(th->wscale > 14 ? 14 : th->wscale);
        c->rcv_wscale = c->req_wscale;
    }
    /* RFC 9293 3.7.1: the peer's MSS, 536 when it sent none. */
    uint16_t peer_mss = th->mss ? th->mss : 536;
    if (peer_mss < c->snd_mss)
        c->snd_mss = peer_mss;
    if (th->has_ts && s->cfg.tcp_timestamps) {
        c->ts_ok = true;
        c->ts_recent = th->tsval;
        c->ts_recent_at = s->now;
        /* Every segment now carries 12 option bytes: the data in a
         * full-sized one shrinks by as much (RFC 7323 3.2; RFC 9293
         * 3.7.1: the MSS counts no options). */
        c->seg_opts = 12;
        c->snd_mss -= 12;
    }
    if (th->sack_perm && s->cfg.tcp_sack) {
        c->sack_ok = true;
        c->rec = &tcp_sack_recovery;
    }
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ---- */
static void syn_sent_input(struct ust_stack *s, struct tcp_conn *c, const struct ip_meta *ip,
                           const struct tcp_seg *g)
{
    const struct tcp_repr *th = &g->th;
    bool ack_ok = false;
    if (th->flags & TCP_ACK) {
        /* first: the ACK must acknowledge our SYN */
        if (seq_le(th->ack, c->iss) || seq_gt(th->ack, c->snd_max)) {
            TCP_LOG_IN(s, ip, g, "SYN-SENT: its ACK is not for our SYN: %s",
                       (th->flags & TCP_RST) ? "dropped" : "answered with a RST");
            if (!(th->flags & TCP_RST))
                tcp_send_rst_for(s, ip, th, g->len);
            return;
        }
        ack_ok = true;
    }
    if (th->flags & TCP_RST) {
        /* second: a RST is only believed with an acceptable ACK */
        TCP_LOG_IN(s, ip, g, "SYN-SENT: %s",
                   ack_ok ? "RST: connection refused" : "RST without an ACK of our SYN: ignored");
        if (ack_ok) {
            s->stats.tcp.rst_rx++;
            tcp_close_conn(s, c, ECONNREFUSED);
        }
        return;
    }
    if (!(th->flags & TCP_SYN)) {
        TCP_LOG_IN(s, ip, g, "SYN-SENT: neither SYN nor RST: dropped");
        return; /* fourth: neither SYN nor RST: drop */
    }
    TCP_LOG_IN(s, ip, g, "SYN-SENT: %s",
               ack_ok ? "SYN-ACK: our SYN is acknowledged, the handshake completes"
                      : "SYN without ACK: a simultaneous open");
    c->irs = th->seq;
    c->rcv_nxt = th->seq + 1;
    c->rcv_adv = c->rcv_nxt; /* as in tcp_listen_input() */
    tcp_negotiate(s, c, th); /* its window is unscaled */
    c->cc->init(c);
    c->snd_wnd = th->window;
    c->max_snd_wnd = th->window;
    c->snd_wl1 = th->seq;
    c->snd_wl2 = th->ack;
    if (ack_ok) {
        c->snd_una = th->ack;
        if (c->rtt_timing && seq_gt(th->ack, c->rtt_seq) && c->backoff == 0) {
            tcp_rtt_sample(s, c, s->now - c->rtt_start);
        }
        c->rtt_timing = false;
        /* RFC 6298 5.7: the SYN timed out and no RTT was measured, so the
         * RTO MUST be 3 s when data starts. */
        if (c->backoff > 0 && !c->rtt_valid && c->rto < 3 * UST_SEC)
            c->rto = 3 * UST_SEC;
        c->backoff = 0;
        tcp_timer_stop(s, c);
        tcp_set_state(s, c, TCPS_ESTABLISHED);
        if (c->keepalive)
            tcp_set_deadline(s, c, &c->keepalive_at, s->now + (ust_time_t)c->keepidle_s * UST_SEC);
        c->ack_now = true;
        tcp_output(s, c); /* the ACK, and any data queued meanwhile */
    } else {
        /* Simultaneous open: SYN-RECEIVED, and a SYN-ACK with our ISS. */
        tcp_set_state(s, c, TCPS_SYN_RECEIVED);
        tcp_timer_stop(s, c);
        tcp_send_syn(s, c);
    }
}

/* RFC 9293 3.10.7.4, first: is the segment acceptable? */
static bool acceptable(const struct tcp_conn *c, const struct tcp_seg *g, uint32_t wnd)
{
    uint32_t seq = g->th.seq;
    if (g->seq_len == 0) {
        if (wnd == 0)
            return seq == c->rcv_nxt;
        return seq_in(seq, c->rcv_nxt, c->rcv_nxt + wnd);
    }
    if (wnd == 0)
        return false;
    return seq_in(seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
           seq_in(seq + g->seq_len - 1, c->rcv_nxt, c->rcv_nxt + wnd);
}

/* Data the receive buffer did not take all of: it was full (room), or
 * the memory for it could not be had (the stack's budget for socket
 * buffers, cfg.tcp_mem_max). The peer sends it again. */
static void count_short(struct ust_stack *s, size_t len, size_t room, size_t took)
{
    if (took == len)
        return;
    if (took < room)
        s->stats.tcp.drop_nomem++;
    else
        s->stats.tcp.drop_rcvbuf++;
}

/* The seventh step: data in order goes into the receive ring, data out of
 * order into its place beyond, recorded by the assembler. Returns true
 * when the ACK must not wait for the end of the poll step: the segment
 * opened a new out-of-order range (see the ACK policy in tcp_input). */
static bool receive_data(struct ust_stack *s, struct tcp_conn *c, const struct tcp_seg *g)
{
    uint32_t seq = g->th.seq + !!(g->th.flags & TCP_SYN);
    const uint8_t *data = g->data;
    uint32_t len = g->len;
    if (seq_lt(seq, c->rcv_nxt)) { /* trim what we already have */
        uint32_t dup = c->rcv_nxt - seq;
        if (dup >= len)
            return false;
        data += dup;
        len -= dup;
        seq = c->rcv_nxt;
    }
    if (c->shut_rd) {
        c->rcv_nxt = seq + len; /* read side shut: accept and discard */
        c->ack_now = true;
        return false;
    }
    uint32_t off = seq - c->rcv_nxt;
    size_t room = ring_space(&c->rcvq) > off ? ring_space(&c->rcvq) - off : 0;
    if (off == 0) {
        size_t n = ring_write(&c->rcvq, data, len);
        asm_advance(&c->ooo, (uint32_t)n);
        uint32_t more = asm_take_front(&c->ooo);
        ring_commit(&c->rcvq, more);
        c->rcv_nxt += (uint32_t)n + more;
        if (more || !asm_empty(&c->ooo))
            c->ack_now = true; /* filling a hole: tell the sender at once */
        if (n + more > 0)
            tcp_wake(s, c);
        count_short(s, len, room, n);
        return false;
    }
    s->stats.tcp.ooo_segments++;
    unsigned ranges = c->ooo.n;
    size_t n = ring_write_at(&c->rcvq, off, data, len);
    count_short(s, len, room, n);
    if (n && !asm_add(&c->ooo, off, (uint32_t)n))
        s->stats.tcp.drop_ooo_full++;
    else if (n && c->sack_ok)
        tcp_sack_note(c, seq); /* its block goes first (RFC 2018 4) */
    c->ack_now = true;         /* RFC 5681 4.2: a duplicate ACK at once */
    return c->ooo.n > ranges;
}

/* The eighth step, once the FIN's sequence number has been reached. */
static void receive_fin(struct ust_stack *s, struct tcp_conn *c)
{
    c->fin_received = true;
    c->rcv_nxt++;
    c->ack_now = true;
    switch (c->state) {
    case TCPS_SYN_RECEIVED:
    case TCPS_ESTABLISHED: tcp_set_state(s, c, TCPS_CLOSE_WAIT); break;
    case TCPS_FIN_WAIT_1:
        /* Our FIN not acknowledged yet (else we would be in FIN-WAIT-2). */
        tcp_set_state(s, c, TCPS_CLOSING);
        break;
    case TCPS_FIN_WAIT_2:
        tcp_send_ack(s, c);
        tcp_enter_time_wait(s, c);
        break;
    default: break;
    }
    tcp_wake(s, c);
}

/* SND.UNA moves to ack: the send ring lets go of what the peer has. */
static void take_acked(struct tcp_conn *c, uint32_t ack)
{
    /* Sequence numbers taken by a FIN are not in the ring. */
    uint32_t data_acked = ack - c->snd_una;
    if (c->fin_sent && seq_gt(ack, c->fin_seq))
        data_acked--;
    if (data_acked > c->sndq.len)
        data_acked = (uint32_t)c->sndq.len;
    ring_consume(&c->sndq, data_acked);
    ring_release(&c->sndq); /* if it emptied: an idle connection holds no memory */
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    tcp_sb_ack(&c->sb, ack);
}

/* An RTT sample from an ACK that moved SND.UNA (RFC 6298 3, RFC 7323 4). */
static void rtt_from_ack(struct ust_stack *s, struct tcp_conn *c, const struct tcp_repr *th)
{
    if (c->rtt_timing && seq_gt(th->ack, c->rtt_seq)) {
        tcp_rtt_sample(s, c, s->now - c->rtt_start);
        c->rtt_timing = false;
        c->rtt_ambiguous = false;
    } else if (c->rtt_ambiguous && !c->rtt_timing && c->ts_ok && th->has_ts &&
               seq_ge(th->tsecr, c->rtx_ts)) {
        /* Karn's rule left nothing to time (a retransmission), but the
         * echoed timestamp says which transmission this ACK answers
         * (RFC 7323 4.1). An echo older than the retransmission answers
         * the original, whose ACK was lost or late: that measures the
         * loss, not the path (RFC 3522 reads the same sign as a spurious
         * retransmission), so it is not used. The 1 ms tick is coarser
         * than the timer above, which is why timestamps only fill in
         * where that timer cannot. */
        uint32_t ms = tcp_ts_now(s, c) - th->tsecr;
        if (ms < 0x7fffffffu / 1000) {
            tcp_rtt_sample(s, c, (ust_time_t)ms * 1000);
            c->rtt_ambiguous = false;
        }
    }
}

/* The send window (RFC 9293 3.10.7.4, fifth, ESTABLISHED): taken from the
 * newest segment, by SND.WL1 and SND.WL2. */
static void update_window(struct ust_stack *s, struct tcp_conn *c, const struct tcp_repr *th,
                          uint32_t wnd)
{
    if (!seq_lt(c->snd_wl1, th->seq) && !(c->snd_wl1 == th->seq && seq_le(c->snd_wl2, th->ack)))
        return;
    uint32_t old_wnd = c->snd_wnd;
    c->snd_wnd = wnd;
    c->snd_wl1 = th->seq;
    c->snd_wl2 = th->ack;
    if (c->snd_wnd > c->max_snd_wnd)
        c->max_snd_wnd = c->snd_wnd;
    /* Leave persist when the window opened. An answer to a probe that
     * offers the same sliver (too small to send into) keeps the probes
     * going, backed off. */
    if (c->snd_wnd > old_wnd && c->timer == TCP_TIMER_PERSIST) {
        tcp_timer_stop(s, c);
        c->backoff = 0;
    }
}

/* The ACK field (RFC 9293 3.10.7.4, fifth). Loss recovery is the
 * connection's tcp_recovery_ops: SACK (RFC 6675) or NewReno (RFC 6582).
 * Returns false when the segment must be dropped (it acknowledges
 * something not yet sent). */
static bool process_ack(struct ust_stack *s, struct tcp_conn *c, const struct tcp_seg *g)
{
    const struct tcp_repr *th = &g->th;
    const struct tcp_recovery_ops *rec = c->rec;
    uint32_t ack = th->ack;
    /* RFC 7323 2.3: windows are scaled except in segments with SYN. */
    uint32_t wnd = (th->flags & TCP_SYN) ? th->window : (uint32_t)th->window << c->snd_wscale;
    if (seq_gt(ack, c->snd_max)) {
        /* "If the ACK acks something not yet sent (SEG.ACK > SND.NXT),
         * then send an ACK, drop the segment, and return." */
        s->stats.tcp.drop_bad_ack++;
        return false;
    }
    bool news = th->nsack && rec->update(c, th);
    bool dup = false;
    if (seq_gt(ack, c->snd_una)) {
        /* "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK." */
        uint32_t acked = ack - c->snd_una;
        take_acked(c, ack);
        rtt_from_ack(s, c, th);
        c->backoff = 0;
        if (!c->in_recovery) {
            c->dupacks = 0;
            c->cc->on_ack(c, acked, s->now);
        } else if (seq_ge(ack, c->recover)) {
            rec->exit(s, c);
        } else {
            rec->partial_ack(s, c, acked);
        }
        c->tlp_out = false;
        if (c->snd_una == c->snd_max) {
            tcp_timer_stop(s, c); /* RFC 6298 5.2 */
        } else {
            tcp_arm_rto(s, c); /* RFC 6298 5.3 */
            tcp_tlp_arm(s, c);
        }
        tcp_wake(s, c);
    } else if (ack == c->snd_una && !(th->flags & (TCP_SYN | TCP_FIN)) &&
               c->snd_una != c->snd_max && rec->is_dupack(c, g->len, wnd, news)) {
        /* "If the ACK is a duplicate (SEG.ACK =< SND.UNA), it can be
         * ignored", but for loss detection (RFC 5681 3.2). */
        s->stats.tcp.dup_acks++;
        c->dupacks++;
        dup = true;
    }
    if (dup || news) /* the ACKs that tell of a loss */
        rec->detect_loss(s, c, dup, news);
    update_window(s, c, th, wnd);
    return true;
}

/* For the debug log: what an acceptable segment brings, as the steps
 * below will take it. */
static const char *describe_accepted(const struct tcp_conn *c, const struct tcp_seg *g, char *buf,
                                     size_t size)
{
    const struct tcp_repr *th = &g->th;
    int n = snprintf(buf, size, "%s: ", tcp_state_name(c->state));
    const char *ack = "ACK, nothing new";
    char acked[48];
    if (c->state == TCPS_SYN_RECEIVED) {
        ack = "ACK of our SYN-ACK: the handshake completes";
    } else if (seq_gt(th->ack, c->snd_una)) {
        snprintf(acked, sizeof(acked), "ACK of %u new", th->ack - c->snd_una);
        ack = acked;
    } else if (g->seq_len == 0 && c->snd_una != c->snd_max) {
        ack = "duplicate ACK";
    }
    if (n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, "%s", ack);
    if (g->len > 0 && n > 0 && (size_t)n < size) {
        uint32_t seq = th->seq + !!(th->flags & TCP_SYN);
        const char *what;
        if (c->state != TCPS_ESTABLISHED && c->state != TCPS_FIN_WAIT_1 &&
            c->state != TCPS_FIN_WAIT_2 && c->state != TCPS_SYN_RECEIVED)
            what = "after the peer's FIN: ignored";
        else if (!c->sk && !c->parent)
            what = "for a socket the application closed: abort with a RST";
        else if (seq_le(seq + g->len, c->rcv_nxt))
            what = "that we already have (a duplicate): ACK at once";
        else if (seq_gt(seq, c->rcv_nxt))
            what = "out of order: kept beyond a hole, ACK at once";
        else
            what = "in order: to the receive ring";
        n += snprintf(buf + n, size - (size_t)n, "; %u bytes %s", g->len, what);
    }
    if ((th->flags & TCP_FIN) && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, "; FIN: the peer is done sending");
    return buf;
}

static bool our_fin_acked(const struct tcp_conn *c)
{
    return c->fin_sent && seq_gt(c->snd_una, c->fin_seq);
}

/* ---- synchronized states (RFC 9293 3.10.7.4) ---- */
void tcp_sync_input(struct ust_stack *s, struct tcp_conn *c, const struct ip_meta *ip,
                    const struct tcp_seg *g)
{
    const struct tcp_repr *th = &g->th;
    bool ack_at_once = false; /* see the ACK policy at the end */
    char what[192];           /* the debug log's account of it */
    uint32_t wnd = tcp_rcv_window(c);
    if (seq_gt(c->rcv_adv, c->rcv_nxt + wnd))
        wnd = c->rcv_adv - c->rcv_nxt; /* what we advertised still counts */

    struct tcp_seg syn_ack;
    if (c->state == TCPS_SYN_RECEIVED && (th->flags & TCP_SYN) && th->seq == c->irs) {
        /* The peer's SYN again: it sits just left of the window, so the
         * check below would drop it and answer a bare ACK, which a peer in
         * SYN-SENT ignores. Without ACK: our SYN-ACK was lost, send it
         * again. With an
         * acceptable ACK: the SYN-ACK of a simultaneous open (RFC 9293
         * figure 8, line 6), which completes the handshake: take it as the
         * ACK it carries. */
        if (!(th->flags & TCP_ACK)) {
            TCP_LOG_IN(s, ip, g, "SYN-RECEIVED: the SYN again: our SYN-ACK goes again");
            tcp_send_syn(s, c);
            return;
        }
        if (seq_le(th->ack, c->snd_una) || seq_gt(th->ack, c->snd_max)) {
            TCP_LOG_IN(s, ip, g, "SYN-RECEIVED: SYN-ACK with a bad ACK: RST");
            tcp_send_rst_for(s, ip, th, g->len); /* as for any bad ACK here */
            return;
        }
        syn_ack = *g;
        syn_ack.th.flags &= (uint8_t)~TCP_SYN;
        syn_ack.th.seq++;
        syn_ack.seq_len--;
        g = &syn_ack;
        th = &g->th;
    }
    /* PAWS (RFC 7323 5.3 R1): a timestamp older than TS.Recent marks an
     * old duplicate, unless TS.Recent has sat idle for 24 days (5.5). And
     * once timestamps are agreed every segment but a RST carries them
     * (3.2: one without SHOULD be dropped silently). */
    if (c->ts_ok && !(th->flags & TCP_RST)) {
        if (!th->has_ts) {
            TCP_LOG_IN(s, ip, g, "%s: no timestamp (RFC 7323 3.2): dropped",
                       tcp_state_name(c->state));
            s->stats.tcp.drop_no_ts++;
            return;
        }
        if (seq_lt(th->tsval, c->ts_recent) && s->now - c->ts_recent_at <= TCP_PAWS_IDLE) {
            TCP_LOG_IN(s, ip, g, "%s: timestamp %u older than %u (PAWS, RFC 7323 5): dropped",
                       tcp_state_name(c->state), th->tsval, c->ts_recent);
            s->stats.tcp.drop_paws++;
            answer_invalid(s, c, g);
            tcp_output(s, c);
            return;
        }
    }
    /* first: sequence number */
    if (!acceptable(c, g, wnd)) {
        TCP_LOG_IN(s, ip, g, "%s: outside the window [%u, %u): dropped%s", tcp_state_name(c->state),
                   c->rcv_nxt, c->rcv_nxt + wnd,
                   (th->flags & TCP_RST) ? "" : ", an ACK may answer (rate-limited)");
        s->stats.tcp.drop_out_of_window++;
        if (c->state == TCPS_TIME_WAIT && (th->flags & TCP_FIN))
            tcp_time_wait_restart(s, c); /* a retransmitted FIN */
        if (!(th->flags & TCP_RST))
            answer_invalid(s, c, g);
        tcp_output(s, c);
        return;
    }
    /* RFC 7323 4.3 / 5.3 R3: remember the timestamp to echo, from the
     * segment that covers the last ACK we sent (so a delayed ACK echoes
     * the earliest segment it answers). */
    if (c->ts_ok && th->has_ts && seq_ge(th->tsval, c->ts_recent) &&
        seq_le(th->seq, c->last_ack_sent)) {
        c->ts_recent = th->tsval;
        c->ts_recent_at = s->now;
    }
    /* second: RST (RFC 5961 3.2) */
    if (th->flags & TCP_RST) {
        s->stats.tcp.rst_rx++;
        if (th->seq != c->rcv_nxt) {
            TCP_LOG_IN(s, ip, g, "%s: RST in the window but not at RCV.NXT=%u: challenge ACK",
                       tcp_state_name(c->state), c->rcv_nxt);
            challenge_ack(s, c);
            return;
        }
        TCP_LOG_IN(s, ip, g, "%s: RST at RCV.NXT: %s", tcp_state_name(c->state),
                   c->state == TCPS_TIME_WAIT ? "ignored in TIME-WAIT (RFC 1337)"
                   : c->state == TCPS_SYN_RECEIVED && c->parent
                       ? "the half-open connection ends quietly"
                   : c->state == TCPS_SYN_RECEIVED                         ? "connection refused"
                   : c->state == TCPS_CLOSING || c->state == TCPS_LAST_ACK ? "the connection ends"
                                                                           : "connection reset");
        switch (c->state) {
        case TCPS_TIME_WAIT: return; /* RFC 1337: TIME-WAIT does not die of a RST */
        case TCPS_SYN_RECEIVED:
            if (c->parent) { /* passive open: back to LISTEN, quietly */
                tcp_close_conn(s, c, 0);
                return;
            }
            tcp_close_conn(s, c, ECONNREFUSED);
            return;
        case TCPS_CLOSING:
        case TCPS_LAST_ACK: tcp_close_conn(s, c, 0); return;
        default:
            s->stats.tcp.resets++;
            tcp_close_conn(s, c, ECONNRESET);
            return;
        }
    }
    /* fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK */
    if (th->flags & TCP_SYN) {
        TCP_LOG_IN(s, ip, g, "%s: SYN in a synchronized state: challenge ACK (RFC 5961 4)",
                   tcp_state_name(c->state));
        challenge_ack(s, c);
        return;
    }
    /* fifth: ACK */
    if (!(th->flags & TCP_ACK)) {
        TCP_LOG_IN(s, ip, g, "%s: no ACK flag: dropped", tcp_state_name(c->state));
        return;
    }
    /* RFC 5961 5.2: in a synchronized state, an ACK too old to be
     * believed gets a challenge (SYN-RECEIVED answers a bad one with a
     * RST, below). */
    if (c->state != TCPS_SYN_RECEIVED && seq_lt(th->ack, c->snd_una - c->max_snd_wnd)) {
        TCP_LOG_IN(s, ip, g, "%s: ACK older than SND.UNA - MAX.SND.WND: challenge ACK",
                   tcp_state_name(c->state));
        s->stats.tcp.drop_bad_ack++;
        challenge_ack(s, c);
        return;
    }
    c->last_rx = s->now;
    c->keep_probes = 0;
    c->probes_out = 0;
    if (c->keepalive && c->state != TCPS_TIME_WAIT)
        tcp_set_deadline(s, c, &c->keepalive_at, s->now + (ust_time_t)c->keepidle_s * UST_SEC);
    if (c->state == TCPS_SYN_RECEIVED &&
        (seq_le(th->ack, c->snd_una) || seq_gt(th->ack, c->snd_max)) &&
        !tcp_cookie_adopt(s, c, ip, th)) {
        TCP_LOG_IN(s, ip, g, "SYN-RECEIVED: the ACK is not for our SYN-ACK: RST");
        tcp_send_rst_for(s, ip, th, g->len);
        return;
    }
    if (seq_gt(th->ack, c->snd_max))
        TCP_LOG_IN(s, ip, g, "%s: ACK of bytes never sent (SND.MAX=%u): dropped, ACK",
                   tcp_state_name(c->state), c->snd_max);
    else
        TCP_LOG_IN(s, ip, g, "%s", describe_accepted(c, g, what, sizeof(what)));
    if (c->state == TCPS_SYN_RECEIVED) {
        /* RFC 6298 5.7, as in syn_sent_input(): our SYN-ACK timed out. */
        if (c->backoff > 0 && !c->rtt_valid && c->rto < 3 * UST_SEC)
            c->rto = 3 * UST_SEC;
        tcp_set_state(s, c, TCPS_ESTABLISHED);
        if (c->parent)
            tcp_child_established(s, c);
        /* Closed or shut down while SYN-RECEIVED (a simultaneous open):
         * the FIN was queued for now (RFC 9293 3.10.4), not sent, since
         * our SYN still held its sequence number; it goes now. */
        if (c->fin_queued)
            tcp_set_state(s, c, TCPS_FIN_WAIT_1);
    }
    if (!process_ack(s, c, g)) {
        /* RFC 9293 3.10.7.4 fifth: "If the ACK acks something not yet
         * sent (SEG.ACK > SND.NXT), then send an ACK, drop the segment,
         * and return": its data and FIN are not taken either. */
        answer_invalid(s, c, g);
        tcp_output(s, c);
        return;
    }
    switch (c->state) {
    case TCPS_FIN_WAIT_1:
        if (our_fin_acked(c)) {
            tcp_set_state(s, c, TCPS_FIN_WAIT_2);
            if (!c->sk)
                tcp_set_deadline(s, c, &c->tw_at, s->now + s->cfg.tcp_fin_timeout);
        }
        break;
    case TCPS_CLOSING:
        if (our_fin_acked(c))
            tcp_enter_time_wait(s, c);
        break;
    case TCPS_LAST_ACK:
        if (our_fin_acked(c)) {
            tcp_close_conn(s, c, 0);
            return;
        }
        break;
    case TCPS_TIME_WAIT:
        if (th->flags & TCP_FIN) {
            c->ack_now = true;
            tcp_time_wait_restart(s, c);
        }
        tcp_output(s, c);
        return;
    default: break;
    }
    /* seventh: segment text */
    if (g->len > 0) {
        switch (c->state) {
        case TCPS_ESTABLISHED:
        case TCPS_FIN_WAIT_1:
        case TCPS_FIN_WAIT_2:
            if (!c->sk && !c->parent) {
                /* Data for a connection the application closed: nobody
                 * will read it. Abort, as Linux does. */
                s->stats.tcp.aborts++;
                tcp_send_rst_conn(s, c);
                tcp_close_conn(s, c, 0);
                return;
            }
            ack_at_once = receive_data(s, c, g);
            /* Every segment counts one, so every second one is ACKed at
             * once (RFC 9293 3.8.6.3, SHLD-19), small ones too: counting
             * a small one as two would ACK each at once, and so never
             * delay an ACK (SHLD-18) for the request/response traffic
             * that delay exists for (RFC 1122 4.2.3.2: let the response
             * carry it). */
            c->segs_unacked++;
            /* A super-segment (a device's GSO: many wire segments in one
             * frame) counts as the two full segments it at least holds. */
            if (g->len >= 2 * (uint32_t)c->snd_mss)
                c->segs_unacked++;
            break;
        default: break; /* the peer already sent its FIN: ignore */
        }
    }
    /* eighth: FIN, when everything before it has arrived */
    if ((th->flags & TCP_FIN) && th->seq + g->len == c->rcv_nxt && !c->fin_received &&
        c->state != TCPS_CLOSED) {
        receive_fin(s, c);
        if (c->state == TCPS_CLOSING && our_fin_acked(c))
            tcp_enter_time_wait(s, c);
    }
    /* ACK policy: at once when asked to, after two full segments (RFC 1122
     * 4.2.3.2), otherwise within the delayed-ACK time. */
    if (g->len > 0 && !c->ack_now && c->state != TCPS_TIME_WAIT) {
        /* (Not in TIME-WAIT: the FIN that took us there was ACKed at once,
         * and that state keeps no timer but its 2*MSL.) */
        if (c->segs_unacked >= 2)
            c->ack_now = true;
        else if (c->delack_at == UST_TIME_NEVER)
            tcp_set_deadline(s, c, &c->delack_at, s->now + s->cfg.tcp_delack);
    }
    /* "At once" means at the end of this poll step: the frames read
     * together (a TAP read batch, up to 64) get one ACK, not one each.
     * Each ACK written to a TAP is a system call in which the kernel also
     * runs its side of the connection; under loss, when nearly every
     * segment arrives out of order, ACKing each one cost 4 times the
     * throughput. With SACK the blocks tell the sender what the separate
     * ACKs would have (Linux compresses its SACKs alike), provided each
     * range is reported whole at least once: a segment that opens a new
     * range is ACKed at once, so the range before it goes out complete
     * (as the second block) before more ranges can push it out of the
     * three or four an ACK holds. Without SACK the number of duplicate
     * ACKs is the sender's loss signal, so while data waits out of order
     * each ACK goes at once. */
    s->tcp->acks_wait = !ack_at_once && (c->sack_ok || asm_empty(&c->ooo));
    tcp_output(s, c);
    s->tcp->acks_wait = false;
}

void tcp_input(struct ust_stack *s, const struct ip_meta *ip, const uint8_t *buf, size_t len)
{
    struct tcp_seg g;
    /* A device may have verified the checksum (docs/DESIGN.md, "Offloads"). */
    bool verify = !netif_rx_csum_trusted(s, buf, len, 16);
    int err = tcp_parse_csum(buf, len, ip->ph + IP_PROTO_TCP, verify, &g.th);
    if (err != WIRE_OK) {
        char a[IPADDR_STRLEN];
        debugf(s, "in from %s, len=%zu: %s: dropped", ipaddr_format(&ip->src, a), len,
               err == WIRE_ECSUM ? "bad checksum" : "malformed header");
        if (err == WIRE_ECSUM)
            s->stats.tcp.drop_checksum++;
        else
            s->stats.tcp.drop_malformed++;
        return;
    }
    s->stats.tcp.rx++;
    const struct tcp_repr *th = &g.th;
    g.data = buf + th->hdr_len;
    g.len = (uint32_t)(len - th->hdr_len);
    if ((th->flags & TCP_SYN) && (th->flags & (TCP_FIN | TCP_RST))) {
        TCP_LOG_IN(s, ip, &g, "SYN with FIN or RST: dropped");
        s->stats.tcp.drop_malformed++; /* SYN+FIN, SYN+RST: never legitimate */
        return;
    }
    if (th->sport == 0 || th->dport == 0) {
        TCP_LOG_IN(s, ip, &g, "port 0: dropped");
        s->stats.tcp.drop_malformed++;
        return;
    }
    g.seq_len = g.len + !!(th->flags & TCP_SYN) + !!(th->flags & TCP_FIN);

    struct tcp_conn *c = tcp_lookup(s, &ip->dst, th->dport, &ip->src, th->sport);
    if (c && c->state == TCPS_TIME_WAIT && (th->flags & TCP_SYN) && !(th->flags & TCP_ACK) &&
        seq_gt(th->seq, c->rcv_nxt) && tcp_find_listener(s, &ip->dst, th->dport)) {
        /* RFC 9293 3.6.1 / RFC 6191: a new SYN beyond the old connection's
         * sequence space may reopen the pair from TIME-WAIT. */
        tcp_close_conn(s, c, 0);
        c = NULL;
    }
    if (!c) {
        struct tcp_conn *l = tcp_find_listener(s, &ip->dst, th->dport);
        if (l) {
            tcp_listen_input(s, l, ip, &g);
            return;
        }
        /* CLOSED (RFC 9293 3.10.7.1): a RST answers anything but a RST. */
        TCP_LOG_IN(s, ip, &g, "no connection and no listener: %s",
                   (th->flags & TCP_RST) ? "dropped" : "answered with a RST");
        s->stats.tcp.drop_no_conn++;
        tcp_send_rst_for(s, ip, th, g.len);
        return;
    }
    if (c->state == TCPS_SYN_SENT)
        syn_sent_input(s, c, ip, &g);
    else
        tcp_sync_input(s, c, ip, &g);
}

void tcp_icmp_error(struct ust_stack *s, const struct icmp_quote *q, const struct icmp_err_class *e)
{
    uint32_t seq = ld32(q->l4 + 4); /* after the ports (RFC 9293 3.1) */
    struct ipaddr src, dst;
    ip_quote_addrs(q, &src, &dst);
    struct tcp_conn *c = tcp_lookup(s, &src, q->sport, &dst, q->dport);
    /* RFC 5927 4.1: only believe errors quoting a sequence number in flight. */
    if (!c || !seq_in(seq, c->snd_una, c->snd_max + 1))
        return;
    if (!e->hard)
        return; /* time exceeded, parameter problem, ...: wire/icmp_error.c */
    s->stats.tcp.icmp_errors++;
    /* RFC 1122 4.2.3.9 / RFC 5927 5.2: hard errors abort a connection that
     * is still being set up; for established ones they are soft errors,
     * which (like Linux without IP_RECVERR) we do not report. */
    if (c->state == TCPS_SYN_SENT)
        tcp_close_conn(s, c, e->err);
}

void tcp_pmtu_lowered(struct ust_stack *s, const struct icmp_quote *q, uint32_t mtu)
{
    uint32_t seq = ld32(q->l4 + 4);
    struct ipaddr src, dst;
    ip_quote_addrs(q, &src, &dst);
    struct tcp_conn *c = tcp_lookup(s, &src, q->sport, &dst, q->dport);
    if (!c || !seq_in(seq, c->snd_una, c->snd_max + 1))
        return; /* RFC 5927 4.1, as for the other errors */
    uint32_t hdrs = (ipaddr_is_v4(&dst) ? 20u : 40u) + TCP_HDR_LEN + (c->ts_ok ? 12u : 0u);
    if (mtu <= hdrs + 64 || mtu - hdrs >= c->snd_mss)
        return;
    /* RFC 8201 5.4 (RFC 1191 6.4 for TCP): smaller segments from now on,
     * and the one that did not fit goes again at once, not at the RTO. */
    c->snd_mss = (uint16_t)(mtu - hdrs);
    s->stats.tcp.icmp_errors++;
    char a[IPADDR_STRLEN];
    debugf(s, "%u->%s:%u: path MTU %u, segments of %u bytes now", c->lport,
           ipaddr_format(&c->raddr, a), c->rport, mtu, c->snd_mss);
    if (c->snd_una != c->snd_max)
        tcp_retransmit_first(s, c);
}
