/* Selective acknowledgment: the receiver's SACK blocks (RFC 2018 4), the
 * sender's scoreboard and SACK-based loss recovery (RFC 6675), behind
 * struct tcp_recovery_ops as tcp_sack_recovery.
 *
 * Byte ranges are half-open, [start, end), in sequence space. RFC 6675
 * speaks of HighRxt as "the highest sequence number retransmitted"; here
 * high_rxt is one past it, the first byte not yet retransmitted. */
#include "transport/tcp.h"

#include <string.h>

/* RFC 6675 2: DupThresh. */
#define DUP_THRESH 3

/* ---- the scoreboard ---- */

void tcp_sb_add(struct tcp_scoreboard *sb, uint32_t start, uint32_t end)
{
    if (!seq_lt(start, end))
        return;
    /* Absorb every range that overlaps or touches [start, end). */
    unsigned i = 0, w = 0;
    struct tcp_sack_block out[TCP_SB_MAX + 1];
    bool placed = false;
    for (i = 0; i < sb->n; i++) {
        struct tcp_sack_block r = sb->r[i];
        if (seq_lt(r.end, start)) {
            out[w++] = r; /* wholly below */
        } else if (seq_gt(r.start, end)) {
            if (!placed) {
                out[w++] = (struct tcp_sack_block){start, end};
                placed = true;
            }
            out[w++] = r; /* wholly above */
        } else {          /* overlapping or touching: merge */
            if (seq_lt(r.start, start))
                start = r.start;
            if (seq_gt(r.end, end))
                end = r.end;
        }
    }
    if (!placed)
        out[w++] = (struct tcp_sack_block){start, end};
    if (w > TCP_SB_MAX)
        w = TCP_SB_MAX; /* full: forget the highest range */
    memcpy(sb->r, out, w * sizeof(out[0]));
    sb->n = w;
}

void tcp_sb_ack(struct tcp_scoreboard *sb, uint32_t una)
{
    unsigned w = 0;
    for (unsigned i = 0; i < sb->n; i++) {
        struct tcp_sack_block r = sb->r[i];
        if (seq_le(r.end, una))
            continue;
        if (seq_lt(r.start, una))
            r.start = una;
        sb->r[w++] = r;
    }
    sb->n = w;
}

uint32_t tcp_sb_sacked_above(const struct tcp_scoreboard *sb, uint32_t seq)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < sb->n; i++) {
        const struct tcp_sack_block *r = &sb->r[i];
        if (seq_ge(r->start, seq))
            n += r->end - r->start;
        else if (seq_gt(r->end, seq))
            n += r->end - seq;
    }
    return n;
}

uint32_t tcp_sb_high(const struct tcp_scoreboard *sb, uint32_t una)
{
    return sb->n ? sb->r[sb->n - 1].end : una;
}

bool tcp_sb_sacked(const struct tcp_scoreboard *sb, uint32_t seq, uint32_t *end)
{
    for (unsigned i = 0; i < sb->n; i++) {
        if (seq_ge(seq, sb->r[i].start) && seq_lt(seq, sb->r[i].end)) {
            if (end)
                *end = sb->r[i].end;
            return true;
        }
    }
    return false;
}

/* RFC 6675 4, IsLost(seq): DupThresh discontiguous SACKed ranges above it,
 * or more than (DupThresh - 1) * SMSS SACKed bytes above it. */
bool tcp_sack_is_lost(const struct tcp_conn *c, uint32_t seq)
{
    unsigned ranges = 0;
    uint32_t bytes = 0;
    for (unsigned i = 0; i < c->sb.n; i++) {
        const struct tcp_sack_block *r = &c->sb.r[i];
        if (seq_gt(r->end, seq)) {
            ranges++;
            bytes += r->end - (seq_gt(r->start, seq) ? r->start : seq);
        }
    }
    return ranges >= DUP_THRESH || bytes > (DUP_THRESH - 1) * (uint32_t)c->snd_mss;
}

/* RFC 5827 (Early Retransmit), SACK variant: with fewer than DupThresh + 1
 * segments out and no new segment allowed to follow (nothing unsent, or
 * the peer's window full), DupThresh can never be reached, and the end of
 * a transfer that lost one of its last three segments waited for the
 * timeout. There, oseg - 1 segments SACKed above SND.UNA declare it lost
 * (in bytes: more than oseg - 2 full segments). No delay is added before
 * it (RFC 5827 6 leaves that optional): reordering is rare on the paths
 * this stack serves, and a spurious retransmission costs one segment. */
bool tcp_sack_early_lost(const struct tcp_conn *c)
{
    uint32_t flight = c->snd_max - c->snd_una;
    uint32_t mss = c->snd_mss;
    uint32_t oseg = (flight + mss - 1) / mss;
    if (oseg < 2 || oseg > DUP_THRESH)
        return false;
    bool more = tcp_unsent(c) > 0 && seq_gt(c->snd_una + c->snd_wnd, c->snd_max);
    if (more)
        return false;
    return tcp_sb_sacked_above(&c->sb, c->snd_una) > (oseg - 2) * mss;
}

/* The holes: the unSACKed ranges between snd_una and snd_max. Calls
 * fn(c, start, end, lost, arg) for each in order until fn returns true. */
typedef bool (*hole_fn)(const struct tcp_conn *c, uint32_t start, uint32_t end, bool lost,
                        void *arg);
static void each_hole(const struct tcp_conn *c, hole_fn fn, void *arg)
{
    uint32_t at = c->snd_una;
    for (unsigned i = 0; i <= c->sb.n; i++) {
        uint32_t end = i < c->sb.n ? c->sb.r[i].start : c->snd_max;
        if (seq_gt(end, c->snd_max))
            end = c->snd_max;
        if (seq_lt(at, end) && fn(c, at, end, i < c->sb.n && tcp_sack_is_lost(c, at), arg))
            return;
        if (i < c->sb.n && seq_gt(c->sb.r[i].end, at))
            at = c->sb.r[i].end;
    }
}

/* IsLost is the same for every byte of one hole: what lies above a hole
 * is the same SACKed ranges, so the per-octet definitions of RFC 6675 are
 * computed a hole at a time. */
static bool pipe_hole(const struct tcp_conn *c, uint32_t start, uint32_t end, bool lost, void *arg)
{
    uint32_t *pipe = arg;
    if (!lost) /* SetPipe (a): not lost, so still in the network */
        *pipe += end - start;
    if (seq_gt(c->high_rxt, start)) /* (b): retransmitted, in the network again */
        *pipe += (seq_lt(c->high_rxt, end) ? c->high_rxt : end) - start;
    return false;
}

uint32_t tcp_sack_pipe(const struct tcp_conn *c)
{
    uint32_t pipe = 0;
    each_hole(c, pipe_hole, &pipe);
    return pipe;
}

struct next_seg {
    bool want_lost; /* rule 1, else rule 3 */
    uint32_t high_sack;
    uint32_t start, end;
    bool found;
};

static bool find_hole(const struct tcp_conn *c, uint32_t start, uint32_t end, bool lost, void *arg)
{
    struct next_seg *n = arg;
    if (seq_ge(start, n->high_sack))
        return true; /* (1.b), (3.b): only below the highest SACKed byte */
    if (seq_lt(start, c->high_rxt))
        start = c->high_rxt; /* (1.a), (3.a): not yet retransmitted */
    if (!seq_lt(start, end) || (n->want_lost && !lost))
        return false;
    n->start = start;
    n->end = end;
    n->found = true;
    return true;
}

/* Sends [seq, seq + len) again (len may be 0 for a lone FIN). */
static uint32_t resend(struct ust_stack *s, struct tcp_conn *c, uint32_t seq, uint32_t end)
{
    uint32_t data_end = c->snd_una + (uint32_t)c->sndq.len;
    uint32_t len = end - seq;
    bool fin = false;
    if (len == 0)
        return 0;
    if (c->fin_sent && seq_gt(end, c->fin_seq)) {
        fin = true;
        len = data_end - seq;
    }
    if (len > c->snd_mss) {
        len = c->snd_mss;
        fin = false;
    }
    tcp_count_retransmit(s, c);
    s->stats.tcp.sack_retransmits++;
    c->rtx_mark = c->snd_max;
    c->rtt_ambiguous = true;
    c->rtx_ts = tcp_ts_now(s, c);
    tcp_xmit_data(s, c, seq, len, fin);
    return len + fin;
}

/* In recovery: send while cwnd - pipe allows, as NextSeg() picks. */
static void sack_output(struct ust_stack *s, struct tcp_conn *c)
{
    /* A lost retransmission. RFC 6675 sends each hole once and leaves the
     * rest to the retransmission timer, which at 1% loss costs more time
     * than everything else together (a 200 ms timeout against a transfer
     * of 100 ms). But when the peer SACKs data first sent after our
     * latest retransmission left, every earlier retransmission should
     * have arrived too (without reordering, as RACK, RFC 8985, assumes
     * after its window): a hole still below HighRxt was lost again. Start
     * the retransmissions over from SND.UNA. */
    if (seq_lt(c->snd_una, c->high_rxt) && seq_gt(tcp_sb_high(&c->sb, c->snd_una), c->rtx_mark)) {
        s->stats.tcp.lost_retransmits++;
        c->high_rxt = c->snd_una;
        c->rtx_mark = c->snd_max;
    }
    uint32_t pipe = tcp_sack_pipe(c);
    c->rtt_timing = false;                 /* Karn: nothing sent now is timed */
    while (c->cwnd >= pipe + c->snd_mss) { /* RFC 6675 5 (C) */
        struct next_seg n = {.want_lost = true, .high_sack = tcp_sb_high(&c->sb, c->snd_una)};
        each_hole(c, find_hole, &n); /* NextSeg rule 1: a lost hole */
        if (n.found) {
            uint32_t sent = resend(s, c, n.start, n.end);
            c->high_rxt = n.start + sent; /* (C.2) */
            pipe += sent;                 /* (C.4) */
            continue;
        }
        /* Rule 2: new data, as the receiver's window allows. */
        uint32_t unsent = tcp_unsent(c);
        uint32_t wnd_end = c->snd_una + c->snd_wnd;
        uint32_t room = seq_gt(wnd_end, c->snd_max) ? wnd_end - c->snd_max : 0;
        if (unsent > 0 && room > 0) {
            uint32_t len = unsent < room ? unsent : room;
            if (len > c->snd_mss)
                len = c->snd_mss;
            if (len < c->snd_mss && len < unsent)
                break; /* a sliver of window: wait for more (sender SWS) */
            tcp_xmit_data(s, c, c->snd_max, len, false);
            c->snd_max += len;
            c->snd_nxt = c->snd_max;
            pipe += len; /* (C.3), (C.4) */
            continue;
        }
        /* Rule 3: a hole not yet judged lost. */
        n.want_lost = false;
        each_hole(c, find_hole, &n);
        if (n.found) {
            uint32_t sent = resend(s, c, n.start, n.end);
            c->high_rxt = n.start + sent;
            pipe += sent;
            continue;
        }
        /* Rule 4: one rescue retransmission of the last segment per
         * recovery, when the cumulative ACK has passed RescueRxt. */
        if (seq_gt(c->snd_una, c->rescue_rxt) && !tcp_sb_sacked(&c->sb, c->snd_max - 1, NULL)) {
            /* The last segment sent: up to SND.MAX, never into bytes
             * of the buffer not yet sent. */
            uint32_t start = c->snd_max - c->snd_una > c->snd_mss ? c->snd_max - c->snd_mss
                                                                  : c->snd_una;
            pipe += resend(s, c, start, c->snd_max);
            c->rescue_rxt = c->recover;
            continue;
        }
        break;
    }
}

/* RFC 6675 5 (4): loss detected; enter recovery and retransmit the first
 * hole. The congestion control module chooses ssthresh; the window is set
 * to it, not inflated: pipe does the accounting inflation did in RFC 6582. */
static void enter_recovery(struct ust_stack *s, struct tcp_conn *c)
{
    s->stats.tcp.fast_retransmits++;
    s->stats.tcp.sack_recoveries++;
    c->in_recovery = true;
    c->recover = c->snd_max; /* (4.1) RecoveryPoint */
    c->cc->on_enter_recovery(c);
    c->cwnd = c->ssthresh; /* (4.2) */
    /* (4.3): the first hole, from snd_una to the first SACKed range. */
    uint32_t first_end = c->snd_max;
    if (c->sb.n && seq_gt(c->sb.r[0].start, c->snd_una))
        first_end = c->sb.r[0].start;
    uint32_t sent = resend(s, c, c->snd_una, first_end); /* (4.3) */
    c->high_rxt = c->snd_una + sent;
    c->rescue_rxt = c->high_rxt - 1;
    sack_output(s, c); /* (5) */
}

/* The probe timer fired (tcp_timer.c) with SACKed data above a hole at
 * SND.UNA: the hole is lost (what RACK's reordering timer, RFC 8985 6.2,
 * would decide by now). Enters recovery, or resends it if recovery
 * already sent it once. */
static bool sack_probe_repair(struct ust_stack *s, struct tcp_conn *c)
{
    if (c->sb.n == 0 || tcp_sb_sacked(&c->sb, c->snd_una, NULL))
        return false;
    if (!c->in_recovery && seq_ge(c->snd_una, c->recover)) {
        enter_recovery(s, c); /* a loss: the window comes down once */
        return true;
    }
    /* In recovery (or a loss from the window the last one repaired): the
     * hole's retransmission was lost too. Start the retransmissions over. */
    s->stats.tcp.lost_retransmits++;
    uint32_t first_end = seq_gt(c->sb.r[0].start, c->snd_una) ? c->sb.r[0].start : c->snd_max;
    uint32_t sent = resend(s, c, c->snd_una, first_end);
    c->high_rxt = c->snd_una + sent;
    return true;
}

/* Records the segment's SACK blocks in the scoreboard (RFC 6675 Update()).
 * Blocks must lie between the cumulative ACK and what was sent; a block
 * at or below the ACK is a duplicate report (RFC 2883) and says nothing
 * new. Returns whether any byte was newly SACKed. */
static bool sack_update(struct tcp_conn *c, const struct tcp_repr *th)
{
    if (th->nsack == 0)
        return false;
    uint32_t low = seq_gt(th->ack, c->snd_una) ? th->ack : c->snd_una;
    uint32_t before = tcp_sb_sacked_above(&c->sb, low);
    for (unsigned i = 0; i < th->nsack; i++) {
        uint32_t a = th->sack[i].start, b = th->sack[i].end;
        if (!seq_lt(a, b) || !seq_gt(b, low) || seq_gt(b, c->snd_max) ||
            b - a > c->snd_max - c->snd_una)
            continue;
        if (seq_lt(a, low))
            a = low;
        tcp_sb_add(&c->sb, a, b);
    }
    tcp_sb_ack(&c->sb, low);
    return tcp_sb_sacked_above(&c->sb, low) > before;
}

static bool sack_is_dupack(const struct tcp_conn *c, uint32_t seg_len, uint32_t wnd, bool news)
{
    (void)c, (void)seg_len, (void)wnd;
    return news; /* RFC 6675 2: an ACK that reports newly SACKed data */
}

/* RFC 6675 5: loss is declared after DupThresh duplicate ACKs, or when
 * IsLost(HighACK + 1) says enough arrived above the first hole; never for
 * losses that predate the last recovery (RFC 6582 4.1: the ACK must cover
 * more than `recover`, the highest sequence number sent then; ours is one
 * past it, SND.MAX, so the test is >=. With >, losing the first segment
 * sent after a recovery waited for the retransmission timeout: most of
 * the timeouts at 1% loss). With fewer than four segments out and nothing
 * new to send, RFC 5827's lower threshold (tcp_sack_early_lost). */
static void sack_detect_loss(struct ust_stack *s, struct tcp_conn *c, bool dup, bool news)
{
    (void)dup; /* counted in c->dupacks */
    if (c->in_recovery || c->snd_una == c->snd_max || !seq_ge(c->snd_una, c->recover))
        return;
    if (c->dupacks >= DUP_THRESH ||
        (news && (tcp_sack_is_lost(c, c->snd_una) || tcp_sack_early_lost(c))))
        enter_recovery(s, c);
}

static void sack_partial_ack(struct ust_stack *s, struct tcp_conn *c, uint32_t acked)
{
    /* RFC 6675 5 (B): a partial ACK only updates the scoreboard;
     * tcp_output() sends what pipe allows. */
    (void)s, (void)c, (void)acked;
}

static void sack_exit(struct ust_stack *s, struct tcp_conn *c)
{
    (void)s;
    tcp_recovery_end(c);
    /* The window leaves recovery at ssthresh, as Linux ends its
     * reduction. RFC 6582's min(ssthresh, FlightSize + SMSS) is 1 segment
     * when the ACK took everything: the peer then holds its delayed ACK
     * for that lone segment, and at 1% loss the kernel's 40 ms delayed
     * ACKs cut a transfer to a tenth (measured: 0.04 against 0.5 Gbit/s
     * with the peer in quickack). */
    if (c->cwnd < c->ssthresh)
        c->cwnd = c->ssthresh;
}

const struct tcp_recovery_ops tcp_sack_recovery = {
    .name = "sack",
    .update = sack_update,
    .is_dupack = sack_is_dupack,
    .detect_loss = sack_detect_loss,
    .partial_ack = sack_partial_ack,
    .exit = sack_exit,
    .output = sack_output,
    .probe_repair = sack_probe_repair,
};

/* ---- the receiver's SACK blocks (RFC 2018 4) ---- */

/* The assembler range holding sequence number seq, or -1. */
static int ooo_range_of(const struct tcp_conn *c, uint32_t seq)
{
    uint32_t off = seq - c->rcv_nxt;
    if (seq_lt(seq, c->rcv_nxt))
        return -1;
    for (unsigned i = 0; i < c->ooo.n; i++) {
        if (off >= c->ooo.r[i].start && off < c->ooo.r[i].end)
            return (int)i;
    }
    return -1;
}

void tcp_sack_note(struct tcp_conn *c, uint32_t seq)
{
    /* seq goes first; older entries stay in order unless their range is
     * the same as seq's now, or gone (delivered in order). */
    int r = ooo_range_of(c, seq);
    unsigned n = 0;
    uint32_t keep[TCP_MAX_SACK];
    keep[n++] = seq;
    for (unsigned i = 0; i < c->sack_nrecent && n < TCP_MAX_SACK; i++) {
        int ri = ooo_range_of(c, c->sack_recent[i]);
        if (ri >= 0 && ri != r)
            keep[n++] = c->sack_recent[i];
    }
    memcpy(c->sack_recent, keep, n * sizeof(keep[0]));
    c->sack_nrecent = (uint8_t)n;
}

unsigned tcp_sack_blocks(const struct tcp_conn *c, struct tcp_sack_block *out, unsigned max)
{
    if (!c->sack_ok || asm_empty(&c->ooo) || max == 0)
        return 0;
    /* First the ranges of the latest out-of-order segments, the newest
     * first (RFC 2018 4: the first block holds the segment that triggered
     * the ACK, the next ones repeat the most recently reported). A range
     * that grew just before a new hole opened is thereby reported whole
     * at least once more, even when ACKs are few (one per poll step): a
     * sender that never learned of its end would take the bytes there for
     * lost. The rest follow in sequence order while they fit. */
    bool used[ASM_MAX_RANGES] = {false};
    unsigned n = 0;
    for (unsigned i = 0; i < c->sack_nrecent && n < max; i++) {
        int r = ooo_range_of(c, c->sack_recent[i]);
        if (r < 0 || used[r])
            continue;
        used[r] = true;
        out[n++] = (struct tcp_sack_block){c->rcv_nxt + c->ooo.r[r].start,
                                           c->rcv_nxt + c->ooo.r[r].end};
    }
    for (unsigned i = 0; i < c->ooo.n && n < max; i++) {
        if (used[i])
            continue;
        out[n++] = (struct tcp_sack_block){c->rcv_nxt + c->ooo.r[i].start,
                                           c->rcv_nxt + c->ooo.r[i].end};
    }
    return n;
}
