/* TCP timers, all deadlines in the connection: retransmission (RFC 6298),
 * persist (RFC 9293 3.8.6.1), delayed ACK (RFC 1122 4.2.3.2), keepalive
 * (RFC 1122 4.2.3.6) and TIME-WAIT (RFC 9293 3.6). */
#include "transport/tcp.h"

#include <errno.h>
#include <stdlib.h>

#define TCP_MAX_RTO (60 * UST_SEC)

/* RTO from now, doubled for each timeout in a row (RFC 6298 5.5). */
static ust_time_t backed_off(const struct ust_stack *s, const struct tcp_conn *c)
{
    uint64_t r = c->rto;
    for (unsigned i = 0; i < c->backoff && r < TCP_MAX_RTO; i++)
        r *= 2;
    if (r > TCP_MAX_RTO)
        r = TCP_MAX_RTO;
    return s->now + r;
}

void tcp_arm_rto(struct ust_stack *s, struct tcp_conn *c)
{
    tcp_timer_set(s, c, TCP_TIMER_RETRANSMIT, backed_off(s, c));
}

void tcp_arm_persist(struct ust_stack *s, struct tcp_conn *c)
{
    tcp_timer_set(s, c, TCP_TIMER_PERSIST, backed_off(s, c));
}

/* A lost ACK or a lost last segment leaves nothing to clock the sender:
 * without the probe only the retransmission timeout (200 ms at least)
 * finds out, and at 1% loss those timeouts took most of a transfer's
 * time. The probe timeout is 2*SRTT, at least 10 ms (as Linux), plus
 * the peer's worst delayed ACK (200 ms) when only one segment is out;
 * it never comes later than the RTO. One probe until an ACK moves
 * SND.UNA. */
void tcp_tlp_arm(struct ust_stack *s, struct tcp_conn *c)
{
    if (!s->cfg.tcp_loss_probes || c->tlp_out || c->timer == TCP_TIMER_PERSIST || !c->rtt_valid ||
        c->snd_una == c->snd_max || c->backoff > 0 || c->snd_wnd == 0 ||
        !tcp_can_send_data(c->state)) /* a transfer's tail is often sent closing */
        return;
    ust_time_t pto = 2 * (ust_time_t)c->srtt;
    if (pto < 10 * UST_MS)
        pto = 10 * UST_MS;
    if (tcp_flight(c) <= c->snd_mss)
        pto += 200 * UST_MS;
    if (!tcp_timer_covers_flight(c))
        tcp_arm_rto(s, c);
    if (s->now + pto < c->timer_at)
        tcp_timer_set(s, c, TCP_TIMER_PROBE, s->now + pto);
}

/* The probe: one new segment if the peer's window takes it, else the last
 * segment again. Either makes the peer answer with where it stands. */
static void tlp_fire(struct ust_stack *s, struct tcp_conn *c)
{
    c->tlp_out = true;
    /* SACKs above a hole at SND.UNA and still no ACK for it, PTO (at
     * least 2 SRTT) after the last transmission: RACK would have marked
     * it lost by now (RFC 8985 6.2: one RTT plus a reordering window
     * after it left), and we keep no send times to run that timer. So
     * the hole goes again instead of a probe. Without this, a lost
     * retransmission with nothing sent after it, or a loss whose SACKs
     * came while recovery could not start, waited for the timeout: at 1%
     * loss most of ustack -> kernel's remaining timeouts. */
    if (c->rec->probe_repair && c->rec->probe_repair(s, c)) {
        s->stats.tcp.probe_repairs++;
        tcp_arm_rto(s, c);
        return;
    }
    s->stats.tcp.loss_probes++;
    uint32_t unsent = tcp_unsent(c);
    uint32_t wnd_end = c->snd_una + c->snd_wnd;
    uint32_t room = seq_gt(wnd_end, c->snd_max) ? wnd_end - c->snd_max : 0;
    if (unsent > 0 && room > 0 && c->snd_nxt == c->snd_max && !c->fin_sent) {
        uint32_t len = unsent < c->snd_mss ? unsent : c->snd_mss;
        if (len > room)
            len = room;
        tcp_xmit_data(s, c, c->snd_max, len, false);
        c->snd_max += len;
        c->snd_nxt = c->snd_max;
    } else {
        /* The last segment sent: it ends at SND.MAX (less the FIN's
         * number), not at the end of the send buffer, which may hold
         * bytes never sent. */
        bool fin = c->fin_sent && c->snd_max == c->fin_seq + 1;
        uint32_t end = c->snd_max - fin;
        uint32_t start = end - c->snd_una > c->snd_mss ? end - c->snd_mss : c->snd_una;
        tcp_count_retransmit(s, c);
        tcp_xmit_data(s, c, start, end - start, fin);
    }
    tcp_arm_rto(s, c);
}

void tcp_rtt_sample(struct ust_stack *s, struct tcp_conn *c, ust_time_t rtt)
{
    uint32_t r = rtt > 0xffffffu ? 0xffffffu : (uint32_t)rtt;
    if (!c->rtt_valid) { /* RFC 6298 2.2 */
        c->srtt = r;
        c->rttvar = r / 2;
        c->rtt_valid = true;
    } else { /* RFC 6298 2.3, alpha 1/8, beta 1/4 */
        uint32_t d = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + d) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    uint64_t rto = (uint64_t)c->srtt + (4 * c->rttvar > 1000 ? 4 * c->rttvar : 1000);
    if (rto < s->cfg.tcp_min_rto)
        rto = s->cfg.tcp_min_rto;
    if (rto > TCP_MAX_RTO)
        rto = TCP_MAX_RTO;
    c->rto = (uint32_t)rto;
}

void tcp_enter_time_wait(struct ust_stack *s, struct tcp_conn *c)
{
    tcp_set_state(s, c, TCPS_TIME_WAIT);
    tcp_timer_stop(s, c);
    tcp_set_deadline(s, c, &c->keepalive_at, UST_TIME_NEVER);
    tcp_set_deadline(s, c, &c->delack_at, UST_TIME_NEVER);
    tcp_time_wait_restart(s, c);
}

/* The persist timer: probe the zero window. RFC 1122 4.2.2.17: keep the
 * connection while the receiver answers the probes; once tcp_max_retries
 * in a row go unanswered the peer is gone (Linux's tcp_retries2 / orphan
 * retries), or an orphan facing a dead peer's zero window never ends. */
static void persist_fire(struct ust_stack *s, struct tcp_conn *c)
{
    if (c->probes_out >= s->cfg.tcp_max_retries) {
        s->stats.tcp.timeouts++;
        tcp_close_conn(s, c, ETIMEDOUT);
        return;
    }
    c->probes_out++;
    s->stats.tcp.window_probes++;
    tcp_send_probe(s, c);
    if (c->backoff < 16)
        c->backoff++; /* probe ever more slowly, while the peer answers */
    tcp_arm_persist(s, c);
}

/* How many retransmissions c may make before it gives up. A listener's
 * half-open child retries its SYN-ACK tcp_synack_retries times. Without
 * SYN cookies to fall back on, twice only while the half-open queue is
 * over half full (Linux's floor): under a flood the children of spoofed
 * SYNs, which never answer, leave room for real clients sooner. With
 * cookies the queue's overflow costs nothing, and a real client on a
 * lossy path whose child gave up early would get a RST (the simulation's
 * storm at 5% loss, with one retry: one connection in a thousand). */
static unsigned retries_allowed(const struct ust_stack *s, const struct tcp_conn *c)
{
    if (c->state == TCPS_SYN_SENT)
        return s->cfg.tcp_syn_retries;
    if (c->state != TCPS_SYN_RECEIVED)
        return s->cfg.tcp_max_retries;
    if (!c->parent)
        return s->cfg.tcp_syn_retries; /* a simultaneous open */
    unsigned n = s->cfg.tcp_synack_retries;
    if (s->cfg.tcp_syncookies == 0 && 2 * c->parent->syn_qlen > c->parent->backlog && n > 2)
        n = 2;
    return n;
}

/* The retransmission timeout (RFC 6298 5.4-5.7). */
static void rto_fire(struct ust_stack *s, struct tcp_conn *c)
{
    s->stats.tcp.rto_timeouts++;
    c->backoff++;
    bool syn = c->state == TCPS_SYN_SENT || c->state == TCPS_SYN_RECEIVED;
    unsigned limit = retries_allowed(s, c);
    if (c->backoff > limit) {
        if (c->parent)
            s->stats.tcp.synack_given_up++;
        char a[IPADDR_STRLEN];
        debugf(s, "%u->%s:%u: no answer after %u retransmissions, giving up", c->lport,
               ipaddr_format(&c->raddr, a), c->rport, limit);
        s->stats.tcp.timeouts++;
        tcp_close_conn(s, c, ETIMEDOUT);
        return;
    }
    c->rtt_timing = false; /* Karn's rule */
    c->rtt_ambiguous = true;
    c->rtx_ts = tcp_ts_now(s, c);
    debugf(s,
           "%u->%u: retransmission timeout %u, rto=%uus (srtt %uus, rttvar %uus), una=%u, max=%u, "
           "%s, %u SACKed ranges, %s",
           c->lport, c->rport, c->backoff, c->rto, c->srtt, c->rttvar, c->snd_una, c->snd_max,
           c->in_recovery ? "in recovery" : "not in recovery", c->sb.n,
           c->tlp_out ? "after a loss probe" : "no loss probe");
    if (syn) {
        tcp_send_syn(s, c);
        tcp_arm_rto(s, c);
        return;
    }
    c->cc->on_rto(c);
    c->in_recovery = false;
    c->dupacks = 0;
    /* The receiver may have reneged: what it SACKed is forgotten (RFC 2018
     * 8, RFC 6675 5.1); SACKs arriving from now on are used again. */
    c->sb.n = 0;
    c->recover = c->snd_max; /* RFC 6582 3.2 (4): no fast retransmit for old losses */
    c->snd_nxt = c->snd_una; /* go back: resend from the first unacknowledged byte */
    tcp_arm_rto(s, c);
    tcp_output(s, c);
    if (c->snd_wnd == 0 && c->snd_nxt == c->snd_una && c->snd_una != c->snd_max) {
        /* The window closed with data in flight, so nothing above was
         * sent. Timeouts into a zero window would end, after
         * tcp_max_retries, a connection whose peer is alive and
         * answering: probe the window instead (RFC 9293 3.8.6.1, RFC 1122
         * 4.2.2.17); what was in flight goes again from snd_una once it
         * opens. */
        tcp_arm_persist(s, c);
        s->stats.tcp.window_probes++;
        tcp_send_probe(s, c);
    }
}

/* The sender's timer expired: do what it was armed for. */
static void timer_fire(struct ust_stack *s, struct tcp_conn *c, enum tcp_timer kind)
{
    switch (kind) {
    case TCP_TIMER_CORK: /* MSG_MORE waited long enough: send what there is */
        c->more = false;
        tcp_output(s, c);
        return;
    case TCP_TIMER_PROBE:
        if (c->snd_wnd > 0) {
            tlp_fire(s, c);
            return;
        }
        break; /* the window closed meanwhile: a timeout after all */
    case TCP_TIMER_PERSIST: persist_fire(s, c); return;
    case TCP_TIMER_RETRANSMIT:
    case TCP_TIMER_IDLE: break;
    }
    rto_fire(s, c);
}

/* One connection's due deadlines. */
static void conn_timers(struct ust_stack *s, struct tcp_conn *c, ust_time_t now)
{
    if (c->tw_at <= now) {
        tcp_close_conn(s, c, 0); /* an orphan gave up waiting in FIN-WAIT-2 */
        return;
    }
    if (c->delack_at <= now) {
        if (!c->ack_now)
            s->stats.tcp.delayed_acks++; /* else one owed at once (tcp_owe_ack) */
        tcp_send_ack(s, c);
    }
    if (c->keepalive_at <= now) {
        if (c->state != TCPS_ESTABLISHED && c->state != TCPS_CLOSE_WAIT) {
            tcp_set_deadline(s, c, &c->keepalive_at, UST_TIME_NEVER);
        } else if (c->keep_probes >= c->keepcnt) {
            s->stats.tcp.timeouts++;
            tcp_close_conn(s, c, ETIMEDOUT);
            return;
        } else {
            s->stats.tcp.keepalive_probes++;
            c->keep_probes++;
            tcp_send_probe(s, c);
            tcp_set_deadline(s, c, &c->keepalive_at, now + (ust_time_t)c->keepintvl_s * UST_SEC);
        }
    }
    if (c->timer_at <= now) {
        enum tcp_timer kind = c->timer;
        tcp_timer_stop(s, c);
        timer_fire(s, c, kind);
    }
}

/* ---- the timer heap: connections by their earliest deadline ---- */

static ust_time_t earliest(const struct tcp_conn *c)
{
    ust_time_t t = c->timer_at;
    if (c->delack_at < t)
        t = c->delack_at;
    if (c->keepalive_at < t)
        t = c->keepalive_at;
    if (c->tw_at < t)
        t = c->tw_at;
    return t;
}

static void heap_put(struct tcp_stack *t, unsigned i, struct tcp_conn *c)
{
    t->heap[i] = c;
    c->heap_pos = i + 1;
}

static void sift_up(struct tcp_stack *t, unsigned i)
{
    struct tcp_conn *c = t->heap[i];
    while (i > 0) {
        unsigned up = (i - 1) / 2;
        if (t->heap[up]->due <= c->due)
            break;
        heap_put(t, i, t->heap[up]);
        i = up;
    }
    heap_put(t, i, c);
}

static void sift_down(struct tcp_stack *t, unsigned i)
{
    struct tcp_conn *c = t->heap[i];
    for (;;) {
        unsigned l = 2 * i + 1, m = i;
        ust_time_t key = c->due;
        if (l < t->heap_n && t->heap[l]->due < key)
            m = l, key = t->heap[l]->due;
        if (l + 1 < t->heap_n && t->heap[l + 1]->due < key)
            m = l + 1;
        if (m == i)
            break;
        heap_put(t, i, t->heap[m]);
        i = m;
    }
    heap_put(t, i, c);
}

int tcp_heap_reserve(struct ust_stack *s)
{
    struct tcp_stack *t = s->tcp;
    if (t->nconns < t->heap_cap)
        return 0;
    unsigned cap = t->heap_cap ? 2 * t->heap_cap : 64;
    struct tcp_conn **h = realloc(t->heap, cap * sizeof(*h));
    if (!h)
        return -ENOMEM;
    t->heap = h;
    t->heap_cap = cap;
    return 0;
}

void tcp_heap_remove(struct ust_stack *s, struct tcp_conn *c)
{
    struct tcp_stack *t = s->tcp;
    if (!c->heap_pos)
        return;
    unsigned i = c->heap_pos - 1;
    c->heap_pos = 0;
    struct tcp_conn *last = t->heap[--t->heap_n];
    if (last == c)
        return;
    heap_put(t, i, last);
    sift_up(t, i);
    sift_down(t, last->heap_pos - 1);
}

/* Files c by its earliest deadline: in, moved, or out of the heap. */
static void refile(struct ust_stack *s, struct tcp_conn *c)
{
    struct tcp_stack *t = s->tcp;
    ust_time_t due = earliest(c);
    if (due == UST_TIME_NEVER) {
        tcp_heap_remove(s, c);
        c->due = due;
        return;
    }
    if (!c->heap_pos) {
        c->due = due;
        heap_put(t, t->heap_n++, c); /* room reserved by tcp_conn_new */
        sift_up(t, t->heap_n - 1);
        return;
    }
    if (due == c->due)
        return;
    bool earlier = due < c->due;
    c->due = due;
    if (earlier)
        sift_up(t, c->heap_pos - 1);
    else
        sift_down(t, c->heap_pos - 1);
}

void tcp_set_deadline(struct ust_stack *s, struct tcp_conn *c, ust_time_t *which, ust_time_t at)
{
    if (*which == at)
        return; /* (every ACK sent clears the delayed ACK: most often unset) */
    *which = at;
    refile(s, c);
}

/* A poll step's timers: the connections that are due come off the heap
 * first, then each does what is due and goes back by its next deadline.
 * One that is due again at once (an ACK that found no buffer) waits for
 * the next step, so the pass always ends. A connection closed meanwhile
 * is not freed before the pass ends (tcp_close_conn hands it to
 * tcp_reap): nothing the pass holds goes away under it. */
void tcp_timer(struct ust_stack *s, ust_time_t now)
{
    struct tcp_stack *t = s->tcp;
    struct tcp_conn *due = NULL, **tail = &due; /* in the order they fell due */
    while (t->heap_n && t->heap[0]->due <= now) {
        struct tcp_conn *c = t->heap[0];
        tcp_heap_remove(s, c);
        *tail = c;
        tail = &c->due_next;
    }
    t->timer_pass = true;
    for (struct tcp_conn *c = due, *next; c; c = next) {
        next = c->due_next;
        c->due_next = NULL;
        c->due = UST_TIME_NEVER;
        conn_timers(s, c, now);
        refile(s, c);
    }
    t->timer_pass = false;
    tcp_reap(s);
}

ust_time_t tcp_next_deadline(const struct ust_stack *s)
{
    const struct tcp_stack *t = s->tcp;
    return t->heap_n ? t->heap[0]->due : UST_TIME_NEVER;
}
