/* Simulation: two stacks joined by a memlink exchange UDP datagrams of every
 * size from 0 to 65,507 bytes in both directions, embedded (no runtime: the
 * test drives the stacks with sim_run and uses non-blocking sockets), on a
 * clean link and through the fault injector (loss, duplication, reordering,
 * corruption, delay and jitter) over many seeds.
 *
 * What must hold: every datagram that arrives is byte-exact and is one that
 * was sent (from the right address and port), at most twice (a duplicated
 * frame); corrupted datagrams never arrive (the checksums catch them); on a
 * lossy link, datagrams that need more fragments are lost more often (one
 * lost fragment loses the datagram) but some still arrive; and once every
 * timer (reassembly, ARP) has run out, nothing is left behind: no packet
 * buffer, no partial datagram, no frame in the link.
 *
 * A failing seed is printed; replay it alone with USTACK_SEED=<seed> (and
 * USTACK_LOG=debug to follow each packet). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "net/ip_frag.h"
#include "ustack/socket.h"
#include "wire/udp.h"

#define T0 (1000 * UST_SEC) /* virtual start time, far from zero */
#define PORT 7000
#define MTU_PAYLOAD 1480 /* IP payload per fragment on a 1500-byte link */
#define MAXDG UDP_MAX_PAYLOAD
#define SA(x) ((struct sockaddr *)&(x))

/* Sizes every run sends in each direction: the edges of one frame (1472 is
 * the largest unfragmented UDP payload, 1480 fills a fragment exactly), of
 * two fragments, and up to the largest datagram IPv4 can carry. */
static const size_t fixed_sizes[] = {1,    2,    7,    8,    9,    100,   1471,  1472,
                                     1473, 1480, 2960, 2961, 8000, 32768, 65000, 65507};
#define NFIXED (sizeof(fixed_sizes) / sizeof(fixed_sizes[0]))
#define NRANDOM 8
#define NDG (NFIXED + NRANDOM + 1) /* + an empty datagram on the clean link */

/* ---- deterministic contents ---- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/* Datagram k from direction dir (0: node 0 -> node 1) of a run: its bytes
 * depend on all three, and from 4 bytes on it names itself. */
static void fill(uint64_t seed, int dir, unsigned k, uint8_t *buf, size_t len)
{
    uint64_t x = mix(seed * 0x9e3779b97f4a7c15ULL + (uint64_t)dir * 0x100000001b3ULL + k) | 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
    if (len >= 4) {
        buf[0] = 0xa5;
        buf[1] = (uint8_t)dir;
        buf[2] = (uint8_t)(k >> 8);
        buf[3] = (uint8_t)k;
    }
}

/* Fragments a UDP payload of len bytes needs (1 if none). */
static unsigned frags_for(size_t len)
{
    size_t ip = len + UDP_HDR_LEN;
    return ip <= MTU_PAYLOAD ? 1 : (unsigned)((ip + MTU_PAYLOAD - 1) / MTU_PAYLOAD);
}

/* ---- nodes ---- */

struct node {
    struct ust_stack *s;
    ust_ip4_t ip;
    int fd;
};

static void node_init(struct node *n, struct ust_memlink *link, int i, uint64_t seed,
                      ust_time_t now)
{
    struct ust_config cfg;
    test_config(&cfg, seed);
    memset(n, 0, sizeof(*n));
    n->ip = UST_IP4(192, 0, 2, 10 + i);
    assert_int_equal(ust_stack_create(&cfg, &n->s), 0);
    uint8_t mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, (uint8_t)(0x0a + i)};
    struct ust_device *d;
    assert_int_equal(ust_memlink_attach(link, "eth0", mac, &d), 0);
    assert_true(ust_stack_add_device(n->s, d) >= 0);
    assert_int_equal(ust_iface_add(n->s, "eth0", n->ip, 24, now), 0);
    n->fd = ust_socket(n->s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(n->fd > 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(PORT)};
    assert_int_equal(ust_bind(n->s, n->fd, SA(sin), sizeof(sin)), 0);
}

/* ---- one run: a schedule of datagrams both ways ---- */

struct run {
    uint64_t seed;
    struct node n[2];
    unsigned ndg; /* datagrams per direction */
    size_t size[2][NDG];
    unsigned sent[2];       /* sent so far per direction */
    unsigned count[2][NDG]; /* deliveries per datagram */
    unsigned max_copies;
    unsigned deliveries[2]; /* by receiving node */
    uint64_t trace;         /* hash of every delivery in order */
    uint8_t *buf, *want;
    char err[300]; /* first problem seen */
};

static void run_fail(struct run *r, const char *fmt, ...) CMOCKA_PRINTF_ATTRIBUTE(2, 3);
static void run_fail(struct run *r, const char *fmt, ...)
{
    if (r->err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
}

/* Which datagram of direction dir these bytes are, or -1. */
static int identify(struct run *r, int dir, const uint8_t *data, size_t len)
{
    if (len >= 4) {
        unsigned k = (unsigned)data[2] << 8 | data[3];
        if (data[0] != 0xa5 || data[1] != dir || k >= r->sent[dir] || r->size[dir][k] != len)
            return -1;
        fill(r->seed, dir, k, r->want, len);
        return memcmp(data, r->want, len) == 0 ? (int)k : -1;
    }
    for (unsigned k = 0; k < r->sent[dir]; k++) {
        if (r->size[dir][k] != len)
            continue;
        fill(r->seed, dir, k, r->want, len);
        if (len == 0 || memcmp(data, r->want, len) == 0)
            return (int)k;
    }
    return -1;
}

/* Takes every datagram waiting on both nodes and checks it. ust_poll (which
 * never waits without a runtime) must agree with what recvfrom finds. */
static bool drain(void *ctx)
{
    struct run *r = ctx;
    struct pollfd p[2];
    for (int i = 0; i < 2; i++)
        p[i] = (struct pollfd){.fd = r->n[i].fd, .events = POLLIN};
    /* Without a runtime the timeout is ignored: ust_poll never waits. */
    for (int i = 0; i < 2; i++)
        if (ust_poll(r->n[i].s, &p[i], 1, 1000) < 0)
            run_fail(r, "node %d: ust_poll: %s", i, strerror(errno));
    int got_any[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        struct node *me = &r->n[i], *peer = &r->n[1 - i];
        int dir = 1 - i; /* what node i receives was sent by the other */
        for (;;) {
            struct sockaddr_in from;
            socklen_t fl = sizeof(from);
            ssize_t n = ust_recvfrom(me->s, me->fd, r->buf, MAXDG + 1, 0, SA(from), &fl);
            if (n < 0) {
                if (errno != EAGAIN)
                    run_fail(r, "node %d: recvfrom: %s", i, strerror(errno));
                break;
            }
            got_any[i] = 1;
            r->deliveries[i]++;
            if (ntohl(from.sin_addr.s_addr) != peer->ip || ntohs(from.sin_port) != PORT) {
                run_fail(r, "node %d: a datagram from 0x%08x:%u", i, ntohl(from.sin_addr.s_addr),
                         ntohs(from.sin_port));
                continue;
            }
            int k = identify(r, dir, r->buf, (size_t)n);
            r->trace = mix(r->trace ^ ((uint64_t)i << 32 | (uint64_t)(k + 1) << 8 | (uint64_t)n));
            if (k < 0) {
                run_fail(r, "node %d: a %zd-byte datagram that matches none of the %u sent", i, n,
                         r->sent[dir]);
                continue;
            }
            if (++r->count[dir][k] > r->max_copies)
                run_fail(r, "node %d: datagram %d (%zu bytes) delivered %u times", i, k,
                         r->size[dir][k], r->count[dir][k]);
        }
        if (got_any[i] != ((p[i].revents & POLLIN) != 0))
            run_fail(r, "node %d: ust_poll said %s, recvfrom found %s", i,
                     (p[i].revents & POLLIN) ? "POLLIN" : "nothing",
                     got_any[i] ? "datagrams" : "none");
    }
    return false; /* never ends sim_run early */
}

/* Sizes for a run: the fixed ones, then random ones (half of them small),
 * shuffled. */
static unsigned make_schedule(struct run *r, bool with_empty)
{
    uint64_t x = mix(r->seed ^ 0x5ced);
    unsigned n = 0;
    for (int dir = 0; dir < 2; dir++) {
        n = 0;
        if (with_empty)
            r->size[dir][n++] = 0;
        for (size_t i = 0; i < NFIXED; i++)
            r->size[dir][n++] = fixed_sizes[i];
        for (int i = 0; i < NRANDOM; i++) {
            x = mix(x + 1);
            size_t lim = (i % 2) ? MAXDG : 3000;
            r->size[dir][n++] = 1 + (size_t)(x % lim);
        }
        for (unsigned i = n - 1; i > 0; i--) { /* Fisher-Yates */
            x = mix(x + 1);
            unsigned j = (unsigned)(x % (i + 1));
            size_t t = r->size[dir][i];
            r->size[dir][i] = r->size[dir][j];
            r->size[dir][j] = t;
        }
    }
    return n;
}

#define STEP (20 * UST_MS)

struct run_result {
    unsigned sent[2], delivered_once[2];
    /* Per size class: datagrams sent and (distinct) delivered. Class 0: one
     * frame; 1: 2-5 fragments; 2: 6-22 fragments (8000..32 KiB); 3: more. */
    unsigned cls_sent[4], cls_got[4];
    struct ust_memlink_stats link;
    struct ust_stats st[2];
    uint64_t trace;
};

static int size_class(size_t len)
{
    unsigned f = frags_for(len);
    return f == 1 ? 0 : f <= 5 ? 1 : f <= 22 ? 2 : 3;
}

/* Sends the whole schedule (one datagram each way per STEP), waits for late
 * frames, then lets every timer run out and checks nothing is left. */
static void run_one(uint64_t seed, const struct ust_faults *f, bool with_empty,
                    struct run_result *res)
{
    memset(res, 0, sizeof(*res));
    struct run *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    r->buf = malloc(MAXDG + 1);
    r->want = malloc(MAXDG + 1);
    assert_non_null(r->buf);
    assert_non_null(r->want);
    r->seed = seed;
    r->max_copies = f && f->duplicate > 0 ? 2 : 1; /* a frame is doubled at most once */
    struct ust_memlink *link;
    assert_int_equal(ust_memlink_create(seed, &link), 0);
    if (f)
        ust_memlink_set_faults(link, f);
    ust_time_t now = T0;
    for (int i = 0; i < 2; i++)
        node_init(&r->n[i], link, i, seed * 2 + 1 + (uint64_t)i, now);
    struct ust_stack *stacks[] = {r->n[0].s, r->n[1].s};
    r->ndg = make_schedule(r, with_empty);

    for (unsigned k = 0; k < r->ndg; k++) {
        for (int dir = 0; dir < 2; dir++) {
            struct node *from = &r->n[dir], *to = &r->n[1 - dir];
            size_t len = r->size[dir][k];
            fill(seed, dir, k, r->buf, len);
            struct sockaddr_in sin = {.sin_family = AF_INET,
                                      .sin_port = htons(PORT),
                                      .sin_addr.s_addr = htonl(to->ip)};
            r->sent[dir] = k + 1;
            ssize_t n = ust_sendto(from->s, from->fd, r->buf, len, 0, SA(sin), sizeof(sin));
            if (n != (ssize_t)len)
                run_fail(r, "node %d: sendto of %zu bytes: %zd (%s)", dir, len, n,
                         n < 0 ? strerror(errno) : "short");
        }
        sim_run(stacks, 2, &now, now + STEP, drain, r);
    }
    /* Late frames: delay, jitter, reordering, ARP retries. */
    sim_run(stacks, 2, &now, now + 5 * UST_SEC, drain, r);

    for (int dir = 0; dir < 2; dir++) {
        res->sent[dir] = r->ndg;
        for (unsigned k = 0; k < r->ndg; k++) {
            int c = size_class(r->size[dir][k]);
            res->cls_sent[c]++;
            if (r->count[dir][k]) {
                res->cls_got[c]++;
                res->delivered_once[dir]++;
            }
        }
    }
    /* Past the reassembly timeout (30 s) and every ARP retry, refresh and
     * expiry: nothing may be left. */
    sim_run(stacks, 2, &now, now + 300 * UST_SEC, drain, r);
    for (int i = 0; i < 2; i++) {
        struct ust_stack *s = r->n[i].s;
        const struct ust_stats *st = ust_stack_stats(s);
        if (st->pkb.live != 0)
            run_fail(r, "node %d: %llu packet buffers live after quiescing", i,
                     (unsigned long long)st->pkb.live);
        if (reasm_count(s) != 0 || reasm_memory(s) != 0)
            run_fail(r, "node %d: %u partial datagrams (%zu bytes) left after quiescing", i,
                     reasm_count(s), reasm_memory(s));
        if (ust_stack_next_deadline(s) != UST_TIME_NEVER)
            run_fail(r, "node %d: a timer is still pending after 300 s", i);
        /* Everything queued was read, and nothing was refused for space. */
        if (st->udp.queued != r->deliveries[i] || st->udp.delivered != r->deliveries[i])
            run_fail(r, "node %d: udp.queued %llu, udp.delivered %llu, the test read %u", i,
                     (unsigned long long)st->udp.queued, (unsigned long long)st->udp.delivered,
                     r->deliveries[i]);
        if (st->udp.drop_rcvbuf || st->udp.drop_no_port)
            run_fail(r, "node %d: udp.drop_rcvbuf %llu, udp.drop_no_port %llu", i,
                     (unsigned long long)st->udp.drop_rcvbuf,
                     (unsigned long long)st->udp.drop_no_port);
        res->st[i] = *st;
    }
    if (ust_memlink_in_flight(link) != 0)
        run_fail(r, "%zu frames still in the link", ust_memlink_in_flight(link));
    res->link = *ust_memlink_stats(link);
    res->trace = r->trace;

    if (!f && !r->err[0]) {
        /* A clean link: each datagram exactly once, and the fragment
         * counters agree with the sizes. */
        uint64_t frag_dg[2] = {0, 0}, frags[2] = {0, 0};
        for (int dir = 0; dir < 2; dir++) {
            for (unsigned k = 0; k < r->ndg; k++) {
                if (r->count[dir][k] != 1)
                    run_fail(r,
                             "clean link: datagram %u (%zu bytes) from node %d delivered %u "
                             "times",
                             k, r->size[dir][k], dir, r->count[dir][k]);
                if (frags_for(r->size[dir][k]) > 1) {
                    frag_dg[dir]++;
                    frags[dir] += frags_for(r->size[dir][k]);
                }
            }
        }
        for (int i = 0; i < 2; i++) {
            const struct ust_stats *st = &res->st[i];
            if (st->ip.frag_ok != frag_dg[i] || st->ip.frag_tx != frags[i] ||
                st->ip.reasm_ok != frag_dg[1 - i] || st->ip.frag_rx != frags[1 - i])
                run_fail(r,
                         "node %d: frag_ok %llu/%llu, frag_tx %llu/%llu, reasm_ok %llu/%llu, "
                         "frag_rx %llu/%llu (counted/expected)",
                         i, (unsigned long long)st->ip.frag_ok, (unsigned long long)frag_dg[i],
                         (unsigned long long)st->ip.frag_tx, (unsigned long long)frags[i],
                         (unsigned long long)st->ip.reasm_ok, (unsigned long long)frag_dg[1 - i],
                         (unsigned long long)st->ip.frag_rx, (unsigned long long)frags[1 - i]);
        }
    }

    for (int i = 0; i < 2; i++)
        ust_stack_destroy(r->n[i].s);
    ust_memlink_release(link);
    char err[sizeof(r->err)];
    memcpy(err, r->err, sizeof(err));
    free(r->buf);
    free(r->want);
    free(r);
    if (err[0])
        fail_msg("seed %llu: %s (replay: USTACK_SEED=%llu)", (unsigned long long)seed, err,
                 (unsigned long long)seed);
}

/* ---- clean link ---- */

static void clean_link_every_size_both_ways(void **state)
{
    (void)state;
    struct run_result res;
    for (uint64_t seed = 1; seed <= 3; seed++)
        run_one(seed, NULL, true, &res);
    assert_int_equal(res.delivered_once[0], NDG);
    assert_int_equal(res.delivered_once[1], NDG);
}

/* One byte too many for IPv4, and the limits of sendto on the way. */
static void oversized_datagram_refused(void **state)
{
    (void)state;
    struct ust_memlink *link;
    assert_int_equal(ust_memlink_create(4, &link), 0);
    struct node n;
    node_init(&n, link, 0, 4, T0);
    static uint8_t big[MAXDG + 1];
    struct sockaddr_in to = {.sin_family = AF_INET,
                             .sin_port = htons(PORT),
                             .sin_addr.s_addr = htonl(UST_IP4(192, 0, 2, 11))};
    errno = 0;
    assert_int_equal(ust_sendto(n.s, n.fd, big, MAXDG + 1, 0, SA(to), sizeof(to)), -1);
    assert_int_equal(errno, EMSGSIZE);
    /* The largest one is accepted (and waits for ARP). */
    assert_int_equal(ust_sendto(n.s, n.fd, big, MAXDG, 0, SA(to), sizeof(to)), MAXDG);
    struct ust_stack *stacks[] = {n.s};
    ust_time_t now = T0;
    sim_run(stacks, 1, &now, now + 300 * UST_SEC, NULL, NULL);
    const struct ust_stats *st = ust_stack_stats(n.s);
    assert_int_equal(st->arp.resolve_failed, 1); /* nobody answered */
    assert_int_equal(st->pkb.live, 0);
    assert_int_equal(ust_memlink_in_flight(link), 0);
    ust_stack_destroy(n.s);
    ust_memlink_release(link);
}

/* ---- lossy link, many seeds ---- */

#define LOSSY_SEEDS 40

struct scenario {
    const char *name;
    struct ust_faults f; /* drop is set per seed: 5%, 10%, 15% or 20% */
};

static const struct scenario scenarios[] = {
    {"drop", {.drop = 0}},
    {"drop+duplicate", {.duplicate = 0.1}},
    {"drop+reorder", {.reorder = 0.15, .reorder_delay = 4 * UST_MS}},
    {"drop+corrupt", {.corrupt = 0.05}},
    {"drop+delay+jitter", {.delay = 2 * UST_MS, .jitter = 10 * UST_MS}},
    {"everything",
     {.duplicate = 0.05,
      .reorder = 0.1,
      .corrupt = 0.03,
      .delay = 1 * UST_MS,
      .jitter = 3 * UST_MS,
      .reorder_delay = 5 * UST_MS}},
};

static double drop_for(uint64_t seed) { return 0.05 * (double)(1 + seed % 4); }

/* The seeds to run: USTACK_SEED=<n> runs only that one. */
static unsigned seeds_to_run(uint64_t *first)
{
    const char *env = getenv("USTACK_SEED");
    if (env && *env) {
        *first = strtoull(env, NULL, 0);
        return 1;
    }
    *first = 1;
    return LOSSY_SEEDS;
}

static void lossy(const struct scenario *sc)
{
    uint64_t first;
    unsigned nseeds = seeds_to_run(&first);
    unsigned long long cls_sent[4] = {0}, cls_got[4] = {0}, dups = 0, csum_drops = 0, corrupted = 0,
                       reasm_timeouts = 0;
    for (uint64_t seed = first; seed < first + nseeds; seed++) {
        struct ust_faults f = sc->f;
        f.drop = drop_for(seed);
        struct run_result res;
        run_one(seed, &f, false, &res);
        for (int c = 0; c < 4; c++) {
            cls_sent[c] += res.cls_sent[c];
            cls_got[c] += res.cls_got[c];
        }
        corrupted += res.link.corrupted;
        for (int i = 0; i < 2; i++) {
            dups += res.st[i].udp.queued - res.delivered_once[1 - i];
            csum_drops += res.st[i].udp.drop_checksum + res.st[i].ip.drop_checksum;
            reasm_timeouts += res.st[i].ip.reasm_timeout;
        }
    }
    double frac[4];
    for (int c = 0; c < 4; c++)
        frac[c] = cls_sent[c] ? (double)cls_got[c] / (double)cls_sent[c] : 0;
    print_message("%-18s %u seeds: delivered 1 frame %llu/%llu (%.2f), 2-5 fragments %llu/%llu "
                  "(%.2f), 6-22 %llu/%llu (%.2f), 23-45 %llu/%llu (%.2f); %llu duplicates, "
                  "%llu corrupted frames, %llu checksum drops, %llu reassembly timeouts\n",
                  sc->name, nseeds, cls_got[0], cls_sent[0], frac[0], cls_got[1], cls_sent[1],
                  frac[1], cls_got[2], cls_sent[2], frac[2], cls_got[3], cls_sent[3], frac[3], dups,
                  corrupted, csum_drops, reasm_timeouts);
    if (nseeds == 1)
        return; /* one seed alone may stray anywhere */
    /* A frame survives with p = 0.8..0.95: most single-frame datagrams
     * arrive; one lost fragment loses the datagram, so the more fragments,
     * the fewer arrive, but the medium ones still do. */
    if (frac[0] < 0.7)
        fail_msg("scenario %s: only %.2f of the unfragmented datagrams arrived", sc->name, frac[0]);
    if (!(frac[0] > frac[1] && frac[1] > frac[2] && frac[2] >= frac[3]))
        fail_msg("scenario %s: delivery does not fall with the number of fragments: "
                 "%.2f %.2f %.2f %.2f",
                 sc->name, frac[0], frac[1], frac[2], frac[3]);
    if (cls_got[1] == 0 || cls_got[2] == 0)
        fail_msg("scenario %s: no fragmented datagram arrived", sc->name);
    if (reasm_timeouts == 0)
        fail_msg("scenario %s: no partial datagram ever timed out", sc->name);
    if (sc->f.duplicate > 0 && dups == 0)
        fail_msg("scenario %s: no duplicate was ever delivered", sc->name);
    if (sc->f.corrupt > 0 && (corrupted == 0 || csum_drops == 0))
        fail_msg("scenario %s: %llu frames corrupted, %llu caught by a checksum", sc->name,
                 corrupted, csum_drops);
}

static void lossy_drop(void **state)
{
    (void)state;
    lossy(&scenarios[0]);
}
static void lossy_duplicate(void **state)
{
    (void)state;
    lossy(&scenarios[1]);
}
static void lossy_reorder(void **state)
{
    (void)state;
    lossy(&scenarios[2]);
}
static void lossy_corrupt(void **state)
{
    (void)state;
    lossy(&scenarios[3]);
}
static void lossy_delay_jitter(void **state)
{
    (void)state;
    lossy(&scenarios[4]);
}
static void lossy_everything(void **state)
{
    (void)state;
    lossy(&scenarios[5]);
}

/* The same seed takes the same path; another seed another one. */
static void same_seed_same_run(void **state)
{
    (void)state;
    uint64_t first;
    seeds_to_run(&first);
    const struct scenario *sc = &scenarios[5];
    struct ust_faults f = sc->f;
    f.drop = 0.1;
    struct run_result *a = calloc(3, sizeof(*a));
    assert_non_null(a);
    run_one(first + 1000, &f, false, &a[0]);
    run_one(first + 1000, &f, false, &a[1]);
    assert_memory_equal(&a[0].link, &a[1].link, sizeof(a[0].link));
    assert_memory_equal(&a[0].st[0], &a[1].st[0], sizeof(a[0].st[0]));
    assert_memory_equal(&a[0].st[1], &a[1].st[1], sizeof(a[0].st[1]));
    assert_int_equal(a[0].trace, a[1].trace);
    assert_true(a[0].link.dropped > 0 && a[0].link.duplicated > 0 && a[0].link.reordered > 0 &&
                a[0].link.corrupted > 0);
    run_one(first + 1001, &f, false, &a[2]);
    assert_true(memcmp(&a[0].link, &a[2].link, sizeof(a[0].link)) != 0 || a[0].trace != a[2].trace);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(clean_link_every_size_both_ways),
        cmocka_unit_test(oversized_datagram_refused),
        cmocka_unit_test(lossy_drop),
        cmocka_unit_test(lossy_duplicate),
        cmocka_unit_test(lossy_reorder),
        cmocka_unit_test(lossy_corrupt),
        cmocka_unit_test(lossy_delay_jitter),
        cmocka_unit_test(lossy_everything),
        cmocka_unit_test(same_seed_same_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
