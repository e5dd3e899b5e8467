/* TCP simulation: two stacks (embedded mode) on a memlink with seeded faults.
 *
 *   transfer_seeds   1 MB each way per seed under loss (0-20%), duplication,
 *                    reordering, corruption, delay and jitter (some seeds
 *                    also through a rate-limited bottleneck with a short
 *                    queue); every byte compared; every connection settles
 *                    in CLOSED or TIME-WAIT within a bounded virtual time,
 *                    and 2*MSL later nothing is left (no deadline, no pkbuf).
 *   transfer_offload the same on a link that offers the TAP's offloads
 *                    (checksums both ways, TSO up to 64 KiB): super-segments
 *                    go out and are taken whole, lost, duplicated, reordered
 *                    and corrupted like any frame; every byte compared.
 *   storm            1,000 short connections (connect, send, read the echo,
 *                    close), at most STORM_PARALLEL at once, against an echo
 *                    server written here, on a slightly lossy link.
 *                    A second run overflows a small backlog on a lossier link.
 *   half_close       the client shuts down writing and keeps receiving what
 *                    the server sends after having read the client's EOF.
 *   slow_reader      the receiver stops reading: the window closes (or
 *                    shrinks to a sliver too small to send into), the sender
 *                    probes (persist), the window update of the first read
 *                    is lost, probes find it and the transfer resumes.
 *   simultaneous_open  both ends connect at once (the SYNs cross); one shuts
 *                    down or closes while SYN-RECEIVED: its FIN follows the
 *                    handshake, never a synchronized state with the SYN
 *                    unacknowledged.
 *   destroy_open     stacks destroyed with TCP sockets open in every state.
 *   sack_recovery    1 MB one way on a clean link but for chosen segments,
 *                    lost once each (single losses, runs of three, several
 *                    holes in one window): with SACK (RFC 6675) exactly the
 *                    lost segments go again, and no timeout is needed;
 *                    without SACK the same transfer is byte-exact too.
 *   rcvbuf_autotuning 16 MB over a 40 ms, 200 Mbit/s path: the receiver's
 *                    buffer grows by itself and beats a fixed one 2 to 1.
 *
 * A failing seed is printed; replay it alone with USTACK_SEED=N (and, to see
 * every packet, USTACK_LOG=debug). USTACK_SEEDS=N runs N seeds instead of 100;
 * USTACK_TEST=storm (a cmocka pattern) runs only that test. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/stack_priv.h"
#include "harness.h"
#include "pair.h"
#include "transport/tcp.h"
#include "ustack/socket.h"

#define IP_A PAIR_IP_A /* the server side */
#define IP_B PAIR_IP_B /* the client side */
#define XFER_BYTES (1u << 20)
#define DEFAULT_SEEDS 100
#define SETTLE_TIME (300 * UST_SEC) /* close handshake, retransmissions included */

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double unit(uint64_t *x) { return (double)(splitmix(x) >> 11) / (double)(1ull << 53); }

/* USTACK_SEED=N: replay that one seed (each test runs it with the faults it
 * would have used for it). */
static bool env_seed(uint64_t *seed)
{
    const char *e = getenv("USTACK_SEED");
    if (!e || !*e)
        return false;
    *seed = strtoull(e, NULL, 0);
    return true;
}

static void fill_random(uint8_t *buf, size_t n, uint64_t seed)
{
    uint64_t x = seed;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = splitmix(&x);
        memcpy(buf + i, &r, n - i < 8 ? n - i : 8);
    }
}

/* ---- two stacks on a link ---- */

/* Stacks seeded apart from each other and from the link, with room for
 * the storm's sockets. */
static void pair_open_offload(struct pair *p, uint64_t seed, const struct ust_faults *f,
                              uint32_t offload)
{
    struct ust_config ca, cb;
    test_config(&ca, seed * 2 + 1);
    ca.max_sockets = 2048;
    test_config(&cb, seed * 2 + 2);
    cb.max_sockets = 2048;
    pair_init_offload(p, seed, &ca, &cb, f, offload, offload ? 65535 : 0);
}

static void pair_open(struct pair *p, uint64_t seed, const struct ust_faults *f)
{
    pair_open_offload(p, seed, f, 0);
}

static int listen_on(struct ust_stack *s, uint16_t port, int backlog)
{
    int fd = ust_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    assert_int_equal(ust_bind(s, fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(ust_listen(s, fd, backlog), 0);
    return fd;
}

static int connect_to(struct ust_stack *s, ust_ip4_t addr, uint16_t port)
{
    int fd = ust_socket(s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(fd > 0);
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(addr)};
    assert_int_equal(ust_connect(s, fd, (struct sockaddr *)&sin, sizeof(sin)), -1);
    assert_int_equal(errno, EINPROGRESS);
    return fd;
}

/* Every connection of the stack is LISTEN, CLOSED or TIME-WAIT. */
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

static const char *unsettled_state(const struct ust_stack *s)
{
    for (const struct tcp_conn *c = s->tcp->all; c; c = c->next)
        if (c->state != TCPS_LISTEN && c->state != TCPS_CLOSED && c->state != TCPS_TIME_WAIT)
            return tcp_state_name(c->state);
    return "none";
}

/* After every socket is closed: within SETTLE_TIME only TIME-WAIT (or
 * nothing) is left; 2*MSL later no connection and no TCP timer; once the
 * ARP entries have aged out too, no deadline at all and no packet buffer. */
static void assert_drains(struct pair *p, uint64_t seed)
{
    if (!pair_run(p, SETTLE_TIME, settled, p))
        fail_msg("seed %llu: a connection is still %s/%s %llu s after close "
                 "(replay: USTACK_SEED=%llu)",
                 (unsigned long long)seed, unsettled_state(p->a), unsettled_state(p->b),
                 (unsigned long long)(SETTLE_TIME / UST_SEC), (unsigned long long)seed);
    pair_run(p, 2 * p->a->cfg.tcp_msl + UST_SEC, NULL, NULL);
    if (tcp_next_deadline(p->a) != UST_TIME_NEVER || tcp_next_deadline(p->b) != UST_TIME_NEVER ||
        p->a->tcp->all || p->b->tcp->all)
        fail_msg("seed %llu: TCP still busy 2*MSL after settling: conns a=%u b=%u (%s/%s), "
                 "deadlines a=%llu b=%llu, now=%llu (replay: USTACK_SEED=%llu)",
                 (unsigned long long)seed, p->a->tcp->nconns, p->b->tcp->nconns,
                 unsettled_state(p->a), unsettled_state(p->b),
                 (unsigned long long)tcp_next_deadline(p->a),
                 (unsigned long long)tcp_next_deadline(p->b), (unsigned long long)p->now,
                 (unsigned long long)seed);
    pair_run(p, p->a->cfg.arp_reachable_time + 10 * UST_SEC, NULL, NULL);
    assert_int_equal(ust_stack_next_deadline(p->a), UST_TIME_NEVER);
    assert_int_equal(ust_stack_next_deadline(p->b), UST_TIME_NEVER);
    assert_int_equal(ust_stack_stats(p->a)->pkb.live, 0);
    assert_int_equal(ust_stack_stats(p->b)->pkb.live, 0);
    assert_int_equal(ust_memlink_in_flight(p->link), 0);
}

/* ---- 1 MB each way, many seeds ---- */

struct xfer {
    struct pair *p;
    int lfd, afd, cfd;
    const uint8_t *out_a, *out_b; /* a->b, b->a */
    uint8_t *in_a, *in_b;
    size_t n, sent_a, sent_b, got_a, got_b;
    bool shut_a, shut_b, eof_a, eof_b;
    int err; /* first unexpected errno */
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
    /* one byte of room more than expected: an extra byte would show */
    pump_recv(b, x->cfd, x->in_a, x->n + 1, &x->got_a, &x->eof_b, &x->err);
    pump_recv(a, x->afd, x->in_b, x->n + 1, &x->got_b, &x->eof_a, &x->err);
    return x->err || (x->eof_a && x->eof_b);
}

/* The faults of a seed: loss in steps of 5% up to 20%, the rest drawn. */
static struct ust_faults faults_for(uint64_t seed)
{
    uint64_t x = seed * 0x5851f42d4c957f2dull;
    struct ust_faults f = {0};
    f.drop = (double)(seed % 5) * 0.05;
    f.duplicate = unit(&x) * 0.05;
    f.reorder = unit(&x) * 0.10;
    f.corrupt = unit(&x) * 0.02;
    f.delay = (ust_time_t)(unit(&x) * 20000); /* up to 20 ms one way */
    f.jitter = (ust_time_t)(unit(&x) * 5000);
    f.reorder_delay = 1000 + (ust_time_t)(unit(&x) * 10000);
    if (seed % 7 == 3) { /* a bottleneck with a short queue */
        f.rate_bps = 20000000;
        f.queue_limit = 12;
    }
    return f;
}

static void transfer_one(uint64_t seed, uint8_t *out_a, uint8_t *out_b, uint8_t *in_a,
                         uint8_t *in_b, uint32_t offload)
{
    const size_t n = XFER_BYTES;
    struct ust_faults f = faults_for(seed);
    struct pair p;
    pair_open_offload(&p, seed, &f, offload);
    fill_random(out_a, n, seed * 3 + 1);
    fill_random(out_b, n, seed * 3 + 2);
    struct xfer x =
        {.p = &p, .afd = -1, .n = n, .out_a = out_a, .out_b = out_b, .in_a = in_a, .in_b = in_b};
    x.lfd = listen_on(p.a, 5001, 8);
    x.cfd = connect_to(p.b, IP_A, 5001);
    ust_time_t start = p.now;
    bool ok = pair_run(&p, 900 * UST_SEC, xfer_step, &x);
    const struct ust_stats *sa = ust_stack_stats(p.a), *sb = ust_stack_stats(p.b);
    if (getenv("USTACK_VERBOSE"))
        print_message("seed %llu: drop %.2f dup %.3f reorder %.3f corrupt %.3f delay %llu us "
                      "rate %llu: %.1f s virtual, retransmits %llu/%llu (rto %llu/%llu, fast "
                      "%llu/%llu), checksum drops %llu/%llu\n",
                      (unsigned long long)seed, f.drop, f.duplicate, f.reorder, f.corrupt,
                      (unsigned long long)f.delay, (unsigned long long)f.rate_bps,
                      (double)(p.now - start) / UST_SEC, (unsigned long long)sa->tcp.retransmits,
                      (unsigned long long)sb->tcp.retransmits,
                      (unsigned long long)sa->tcp.rto_timeouts,
                      (unsigned long long)sb->tcp.rto_timeouts,
                      (unsigned long long)sa->tcp.fast_retransmits,
                      (unsigned long long)sb->tcp.fast_retransmits,
                      (unsigned long long)(sa->tcp.drop_checksum + sa->ip.drop_checksum),
                      (unsigned long long)(sb->tcp.drop_checksum + sb->ip.drop_checksum));
    bool same_a = x.got_a == n && memcmp(in_a, out_a, n) == 0;
    bool same_b = x.got_b == n && memcmp(in_b, out_b, n) == 0;
    if (!ok || x.err || !same_a || !same_b)
        fail_msg("seed %llu (drop %.2f dup %.3f reorder %.3f corrupt %.3f delay %llu us): "
                 "a->b %zu/%zu bytes%s, b->a %zu/%zu bytes%s, eof a=%d b=%d, error %s, "
                 "%.1f s virtual (replay: USTACK_SEED=%llu)",
                 (unsigned long long)seed, f.drop, f.duplicate, f.reorder, f.corrupt,
                 (unsigned long long)f.delay, x.got_a, n, same_a ? "" : " (differ)", x.got_b, n,
                 same_b ? "" : " (differ)", x.eof_a, x.eof_b, x.err ? strerror(x.err) : "none",
                 (double)(p.now - start) / UST_SEC, (unsigned long long)seed);
    if (f.drop > 0)
        assert_true(sa->tcp.retransmits + sb->tcp.retransmits > 0);
    if (offload) {
        /* Both ends sent super-segments, and took them. */
        if (!sa->offload.tx_super || !sb->offload.tx_super || !sa->offload.rx_super ||
            !sb->offload.rx_super || !sa->offload.rx_csum_trusted || !sb->offload.rx_csum_trusted)
            fail_msg("seed %llu: offloads unused: tx_super %llu/%llu, rx_super %llu/%llu, "
                     "rx_csum_trusted %llu/%llu",
                     (unsigned long long)seed, (unsigned long long)sa->offload.tx_super,
                     (unsigned long long)sb->offload.tx_super,
                     (unsigned long long)sa->offload.rx_super,
                     (unsigned long long)sb->offload.rx_super,
                     (unsigned long long)sa->offload.rx_csum_trusted,
                     (unsigned long long)sb->offload.rx_csum_trusted);
        assert_int_equal(sa->offload.rx_bad_meta + sb->offload.rx_bad_meta, 0);
    } else {
        assert_int_equal(sa->offload.tx_super + sb->offload.tx_super, 0);
    }
    assert_int_equal(ust_close(p.a, x.afd), 0);
    assert_int_equal(ust_close(p.b, x.cfd), 0);
    assert_int_equal(ust_close(p.a, x.lfd), 0);
    assert_drains(&p, seed);
    pair_fini(&p);
}

static void transfer_seeds_with(uint32_t offload, uint64_t default_seeds)
{
    uint8_t *out_a = malloc(XFER_BYTES), *out_b = malloc(XFER_BYTES);
    uint8_t *in_a = malloc(XFER_BYTES + 1), *in_b = malloc(XFER_BYTES + 1);
    assert_non_null(out_a && out_b && in_a && in_b);
    const char *count = getenv("USTACK_SEEDS");
    uint64_t one;
    if (env_seed(&one)) {
        transfer_one(one, out_a, out_b, in_a, in_b, offload);
    } else {
        uint64_t nseeds = count ? strtoull(count, NULL, 0) : default_seeds;
        for (uint64_t seed = 1; seed <= nseeds; seed++)
            transfer_one(seed, out_a, out_b, in_a, in_b, offload);
    }
    free(out_a);
    free(out_b);
    free(in_a);
    free(in_b);
}

static void transfer_seeds(void **state)
{
    (void)state;
    transfer_seeds_with(0, DEFAULT_SEEDS);
}

/* The TAP's offloads, on the simulated link: half the seeds of the plain
 * run (the same faults per seed), since each costs as much. */
static void transfer_offload(void **state)
{
    (void)state;
    transfer_seeds_with(UST_OFFLOAD_RX_CSUM | UST_OFFLOAD_TX_CSUM | UST_OFFLOAD_TSO4,
                        DEFAULT_SEEDS / 2);
}

/* ---- a storm of short connections ---- */

#define STORM_CONNS 1000
#define STORM_PARALLEL 40
#define STORM_MSG 64

struct storm_client {
    int fd; /* 0: free */
    unsigned id, attempts;
    size_t sent, got;
    char out[STORM_MSG], in[STORM_MSG + 1];
    bool shut;
};

struct storm_server_conn {
    int fd;
    uint8_t buf[STORM_MSG * 2];
    size_t len;
    bool eof;
};

struct storm {
    struct pair *p;
    int lfd;
    unsigned started, done, active, max_active, max_server;
    struct storm_client cl[STORM_PARALLEL];
    struct storm_server_conn sv[STORM_PARALLEL * 4];
    unsigned nsv;
    bool retry_timeouts; /* a connect that times out is tried again (as programs do) */
    unsigned retries;
    int err;
    const char *what;
};

static void storm_fail(struct storm *st, const char *what, int err)
{
    if (!st->err) {
        st->err = err ? err : -1;
        st->what = what;
    }
}

/* The server: accept everything, echo back, close after the client's EOF. */
static void storm_server(struct storm *st)
{
    struct ust_stack *s = st->p->a;
    for (;;) {
        int fd = ust_accept4(s, st->lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN)
                storm_fail(st, "accept", errno);
            break;
        }
        if (st->nsv == sizeof(st->sv) / sizeof(st->sv[0])) {
            storm_fail(st, "server table full", 0);
            ust_close(s, fd);
            break;
        }
        st->sv[st->nsv++] = (struct storm_server_conn){.fd = fd};
        if (st->nsv > st->max_server)
            st->max_server = st->nsv;
    }
    for (unsigned i = 0; i < st->nsv;) {
        struct storm_server_conn *c = &st->sv[i];
        bool drop = false;
        for (;;) {
            if (c->len > 0) {
                ssize_t w = ust_send(s, c->fd, c->buf, c->len, 0);
                if (w < 0) {
                    if (errno != EAGAIN) {
                        storm_fail(st, "server send", errno);
                        drop = true;
                    }
                    break;
                }
                memmove(c->buf, c->buf + w, c->len - (size_t)w);
                c->len -= (size_t)w;
                if (c->len > 0)
                    break;
            }
            if (c->eof)
                break;
            ssize_t r = ust_recv(s, c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
            if (r > 0) {
                c->len += (size_t)r;
                continue;
            }
            if (r == 0)
                c->eof = true;
            else if (errno != EAGAIN) {
                storm_fail(st, "server recv", errno);
                drop = true;
            }
            break;
        }
        if (drop || (c->eof && c->len == 0)) {
            ust_close(s, c->fd);
            *c = st->sv[--st->nsv];
            continue;
        }
        i++;
    }
}

/* A client's call failed: try the connection again if it never got
 * through (timed out or refused) and the run allows it, else fail. */
static void storm_client_error(struct storm *st, struct storm_client *c, const char *what, int err)
{
    if (st->retry_timeouts && (err == ETIMEDOUT || err == ECONNREFUSED) && c->sent == 0 &&
        ++c->attempts < 5) {
        assert_int_equal(ust_close(st->p->b, c->fd), 0);
        c->fd = connect_to(st->p->b, IP_A, 7);
        st->retries++;
        return;
    }
    storm_fail(st, what, err);
}

static void storm_client(struct storm *st, struct storm_client *c)
{
    struct ust_stack *s = st->p->b;
    if (!c->shut) {
        ssize_t w = ust_send(s, c->fd, c->out + c->sent, STORM_MSG - c->sent, 0);
        if (w > 0)
            c->sent += (size_t)w;
        else if (errno != EAGAIN) {
            storm_client_error(st, c, "client send", errno);
            return;
        }
        if (c->sent == STORM_MSG) {
            if (ust_shutdown(s, c->fd, SHUT_WR) != 0) {
                storm_fail(st, "client shutdown", errno);
                return;
            }
            c->shut = true;
        }
    }
    for (;;) {
        ssize_t r = ust_recv(s, c->fd, c->in + c->got, sizeof(c->in) - c->got, 0);
        if (r > 0) {
            c->got += (size_t)r;
            continue;
        }
        if (r < 0) {
            if (errno != EAGAIN)
                storm_client_error(st, c, "client recv", errno);
            return;
        }
        break; /* EOF */
    }
    if (c->got != STORM_MSG || memcmp(c->in, c->out, STORM_MSG) != 0) {
        storm_fail(st, "echo differs", 0);
        return;
    }
    assert_int_equal(ust_close(s, c->fd), 0);
    c->fd = 0;
    st->active--;
    st->done++;
}

static bool storm_step(void *ctx)
{
    struct storm *st = ctx;
    storm_server(st);
    for (unsigned i = 0; i < STORM_PARALLEL && !st->err; i++) {
        struct storm_client *c = &st->cl[i];
        if (c->fd == 0 && st->started < STORM_CONNS) {
            memset(c, 0, sizeof(*c));
            c->id = st->started++;
            snprintf(c->out, sizeof(c->out), "connection %u of the storm, padded to 64 bytes....",
                     c->id);
            c->fd = connect_to(st->p->b, IP_A, 7);
            st->active++;
            if (st->active > st->max_active)
                st->max_active = st->active;
        }
        if (c->fd > 0)
            storm_client(st, c);
    }
    storm_server(st);
    return st->err || st->done == STORM_CONNS;
}

static void storm_run(uint64_t seed, const struct ust_faults *f, int backlog, bool retry_timeouts)
{
    struct pair p;
    pair_open(&p, seed, f);
    struct storm *st = calloc(1, sizeof(*st));
    st->p = &p;
    st->lfd = listen_on(p.a, 7, backlog);
    st->retry_timeouts = retry_timeouts;
    ust_time_t start = p.now;
    bool ok = pair_run(&p, 1800 * UST_SEC, storm_step, st);
    if (!ok || st->err) {
        for (const struct tcp_conn *c = p.a->tcp->all; c; c = c->next)
            print_message("  server: %u->%u %s syn_q %u accept_q %u backoff %u parent %d\n",
                          c->lport, c->rport, tcp_state_name(c->state), c->syn_qlen, c->accept_qlen,
                          c->backoff, c->parent != NULL);
        for (const struct tcp_conn *c = p.b->tcp->all; c; c = c->next)
            if (c->state != TCPS_TIME_WAIT)
                print_message("  client: %u->%u %s\n", c->lport, c->rport,
                              tcp_state_name(c->state));
    }
    if (!ok || st->err)
        fail_msg("storm seed %llu: %u of %u done after %.1f s virtual, %u active: %s: %s "
                 "(replay: USTACK_SEED=%llu)",
                 (unsigned long long)seed, st->done, STORM_CONNS, (double)(p.now - start) / UST_SEC,
                 st->active, st->what ? st->what : "timeout", st->err > 0 ? strerror(st->err) : "-",
                 (unsigned long long)seed);
    assert_true(st->max_active <= STORM_PARALLEL);
    assert_true(st->max_server <= STORM_PARALLEL * 2);
    const struct ust_stats *sa = ust_stack_stats(p.a), *sb = ust_stack_stats(p.b);
    assert_int_equal(sb->tcp.active_opens, STORM_CONNS + st->retries);
    assert_true(sa->tcp.passive_opens >= STORM_CONNS);
    assert_int_equal(sb->tcp.resets, 0);
    if (!retry_timeouts)
        assert_int_equal(sb->tcp.timeouts + st->retries, 0);
    if (getenv("USTACK_VERBOSE"))
        print_message(
            "storm seed %llu backlog %d: %.1f s virtual, max %u at once (server %u), passive opens %llu, "
            "drop_backlog %llu, retransmits %llu/%llu, connects tried again %u\n",
            (unsigned long long)seed, backlog, (double)(p.now - start) / UST_SEC, st->max_active,
            st->max_server, (unsigned long long)sa->tcp.passive_opens,
            (unsigned long long)sa->tcp.drop_backlog, (unsigned long long)sa->tcp.retransmits,
            (unsigned long long)sb->tcp.retransmits, st->retries);
    for (unsigned i = 0; i < st->nsv; i++)
        ust_close(p.a, st->sv[i].fd);
    assert_int_equal(ust_close(p.a, st->lfd), 0);
    assert_drains(&p, seed);
    free(st);
    pair_fini(&p);
}

static void storm(void **state)
{
    (void)state;
    /* A backlog that takes them all, nothing may fail. Then one that
     * overflows on a lossier link: SYNs are dropped and retried, half-open
     * connections whose SYN-ACK was lost hold their slot for a second, and
     * a client unlucky enough can exhaust its SYN retries (ETIMEDOUT,
     * legitimately: ustack has no SYN cookies): it connects again, as a
     * program would, at most 5 times. */
    struct ust_faults light = {.drop = 0.01,
                               .duplicate = 0.01,
                               .reorder = 0.02,
                               .delay = 500,
                               .jitter = 200};
    struct ust_faults heavy = {.drop = 0.05,
                               .duplicate = 0.02,
                               .reorder = 0.05,
                               .corrupt = 0.01,
                               .delay = 2000,
                               .jitter = 1000};
    uint64_t seed;
    if (env_seed(&seed)) {
        storm_run(seed, &light, 64, false);
        storm_run(seed, &heavy, 8, true);
        return;
    }
    storm_run(77, &light, 64, false);
    storm_run(78, &heavy, 8, true);
}

/* ---- half-close ---- */

struct halfclose {
    struct pair *p;
    int lfd, afd, cfd;
    const uint8_t *req, *resp;
    size_t nreq, nresp;
    uint8_t *got_req, *got_resp;
    size_t sent_req, got_req_n, sent_resp, got_resp_n;
    bool req_shut, srv_eof, resp_shut, cli_eof;
    bool checked_fw2;
    int err;
};

static bool halfclose_step(void *ctx)
{
    struct halfclose *h = ctx;
    struct ust_stack *a = h->p->a, *b = h->p->b;
    if (h->afd < 0) {
        h->afd = ust_accept4(a, h->lfd, NULL, NULL, SOCK_NONBLOCK);
        if (h->afd < 0)
            return false;
    }
    /* client: the request, then FIN; it keeps reading */
    pump_send(b, h->cfd, h->req, h->nreq, &h->sent_req, &h->req_shut, &h->err);
    /* server: reads the whole request to EOF first, only then answers */
    pump_recv(a, h->afd, h->got_req, h->nreq + 1, &h->got_req_n, &h->srv_eof, &h->err);
    if (h->srv_eof) {
        if (!h->checked_fw2) {
            /* The client is half-closed: it may not send, but the server may. */
            h->checked_fw2 = true;
            assert_int_equal(ust_send(b, h->cfd, "x", 1, 0), -1);
            assert_int_equal(errno, EPIPE);
        }
        pump_send(a, h->afd, h->resp, h->nresp, &h->sent_resp, &h->resp_shut, &h->err);
    }
    pump_recv(b, h->cfd, h->got_resp, h->nresp + 1, &h->got_resp_n, &h->cli_eof, &h->err);
    return h->err || h->cli_eof;
}

static void half_close_one(uint64_t seed, const struct ust_faults *f)
{
    struct pair p;
    pair_open(&p, seed, f);
    const size_t nreq = 100000, nresp = 300000;
    uint8_t *req = malloc(nreq), *resp = malloc(nresp);
    uint8_t *got_req = malloc(nreq + 1), *got_resp = malloc(nresp + 1);
    fill_random(req, nreq, seed + 11);
    fill_random(resp, nresp, seed + 12);
    struct halfclose h = {.p = &p,
                          .afd = -1,
                          .req = req,
                          .resp = resp,
                          .nreq = nreq,
                          .nresp = nresp,
                          .got_req = got_req,
                          .got_resp = got_resp};
    h.lfd = listen_on(p.a, 80, 4);
    h.cfd = connect_to(p.b, IP_A, 80);
    bool ok = pair_run(&p, 600 * UST_SEC, halfclose_step, &h);
    if (!ok || h.err || h.got_req_n != nreq || memcmp(got_req, req, nreq) ||
        h.got_resp_n != nresp || memcmp(got_resp, resp, nresp))
        fail_msg("half-close seed %llu: request %zu/%zu, response %zu/%zu, eof srv=%d cli=%d, "
                 "error %s (replay: USTACK_SEED=%llu)",
                 (unsigned long long)seed, h.got_req_n, nreq, h.got_resp_n, nresp, h.srv_eof,
                 h.cli_eof, h.err ? strerror(h.err) : "none", (unsigned long long)seed);
    assert_true(h.checked_fw2);
    assert_int_equal(ust_close(p.a, h.afd), 0);
    assert_int_equal(ust_close(p.b, h.cfd), 0);
    assert_int_equal(ust_close(p.a, h.lfd), 0);
    assert_drains(&p, seed);
    free(req);
    free(resp);
    free(got_req);
    free(got_resp);
    pair_fini(&p);
}

static void half_close(void **state)
{
    (void)state;
    struct ust_faults f = {.drop = 0.05,
                           .duplicate = 0.02,
                           .reorder = 0.05,
                           .delay = 3000,
                           .jitter = 1000};
    uint64_t seed;
    if (env_seed(&seed)) {
        half_close_one(seed, seed == 500 ? NULL : &f);
        return;
    }
    half_close_one(500, NULL);
    for (seed = 501; seed <= 505; seed++)
        half_close_one(seed, &f);
}

/* ---- a slow reader: zero window, persist, resume ---- */

struct slow {
    struct pair *p;
    const struct ust_faults *faults; /* the link's usual faults (NULL: none) */
    int lfd, afd, cfd;
    const uint8_t *data;
    uint8_t *got;
    size_t n, sent, got_n;
    bool shut, eof;
    ust_time_t read_from; /* the receiver reads nothing before this */
    ust_time_t next_read; /* then a little, every so often */
    bool first_read_done;
    bool saw_zero_window; /* the receiver advertised a closed window */
    bool saw_persist;     /* the sender was in persist */
    uint64_t probes_before_read;
    int err;
};

static void slow_read(struct slow *w, size_t want)
{
    struct ust_stack *a = w->p->a;
    if (w->got_n + want > w->n + 1)
        want = w->n + 1 - w->got_n;
    ssize_t r = ust_recv(a, w->afd, w->got + w->got_n, want, 0);
    if (r > 0)
        w->got_n += (size_t)r;
    else if (r == 0)
        w->eof = true;
    else if (errno != EAGAIN)
        w->err = errno;
}

static bool slow_step(void *ctx)
{
    struct slow *w = ctx;
    struct ust_stack *a = w->p->a, *b = w->p->b;
    if (w->afd < 0) {
        w->afd = ust_accept4(a, w->lfd, NULL, NULL, SOCK_NONBLOCK);
        if (w->afd < 0)
            return false;
    }
    pump_send(b, w->cfd, w->data, w->n, &w->sent, &w->shut, &w->err);
    for (const struct tcp_conn *c = b->tcp->all; c; c = c->next)
        if (c->timer == TCP_TIMER_PERSIST)
            w->saw_persist = true;
    for (const struct tcp_conn *c = a->tcp->all; c; c = c->next) {
        if (c->state == TCPS_ESTABLISHED && tcp_rcv_window(c) == 0 && c->rcv_adv == c->rcv_nxt)
            w->saw_zero_window = true;
    }
    ust_time_t now = w->p->now;
    if (now >= w->read_from && !w->first_read_done) {
        /* The first read empties the buffer, and the window update it
         * sends is lost: only the sender's persist timer can find out
         * that the window opened. */
        w->first_read_done = true;
        w->probes_before_read = ust_stack_stats(b)->tcp.window_probes;
        struct ust_faults lose = {.drop = 1.0};
        ust_memlink_set_faults(w->p->link, &lose);
        slow_read(w, 1 << 20);
        struct ust_faults none = {0};
        ust_memlink_set_faults(w->p->link, w->faults ? w->faults : &none);
        w->next_read = now + 50 * UST_MS;
    } else if (now >= w->read_from && now >= w->next_read) {
        slow_read(w, 3000); /* 3 kB every 50 ms: much slower than the link */
        w->next_read = now + 50 * UST_MS;
    }
    return w->err || w->eof;
}

/* The reader's periodic reads are deadlines of their own: sim_run only
 * jumps between the stacks' deadlines, so wake it at the next read. */
static void slow_run(struct pair *p, struct slow *w, ust_time_t limit)
{
    ust_time_t end = p->now + limit;
    while (p->now < end && !slow_step(w)) {
        ust_time_t t = w->first_read_done ? w->next_read : w->read_from;
        if (t <= p->now)
            t = p->now + 1;
        if (t > end)
            t = end;
        pair_run(p, t - p->now, slow_step, w);
    }
}

/* A full segment's data: MSS 1460 less the 12 bytes of timestamps. */
#define SEG 1448

/* rcvbuf: the receiver's buffer. A multiple of the segment size is filled exactly
 * (a zero window); 65535 leaves a sliver that sender-side silly window
 * avoidance will not fill, which must not stall the sender either. */
static void slow_reader_one(uint64_t seed, const struct ust_faults *f, uint32_t rcvbuf)
{
    struct pair p;
    pair_open(&p, seed, f);
    p.a->cfg.tcp_rcvbuf = rcvbuf; /* before the listener exists */
    p.a->cfg.tcp_rcvbuf_max = 0;  /* fixed, not auto-tuned: it must fill */
    const size_t n = 400000;
    uint8_t *data = malloc(n), *got = malloc(n + 1);
    fill_random(data, n, seed);
    struct slow w = {.p = &p, .faults = f, .afd = -1, .data = data, .got = got, .n = n};
    w.lfd = listen_on(p.a, 9, 4);
    w.cfd = connect_to(p.b, IP_A, 9);
    w.read_from = p.now + 30 * UST_SEC; /* long enough for several probes */
    slow_run(&p, &w, 900 * UST_SEC);
    const struct ust_stats *sb = ust_stack_stats(p.b);
    if (getenv("USTACK_VERBOSE"))
        print_message("slow reader seed %llu rcvbuf %u: zero window %d, persist %d, probes %llu "
                      "(%llu before the first read), %zu bytes\n",
                      (unsigned long long)seed, rcvbuf, w.saw_zero_window, w.saw_persist,
                      (unsigned long long)sb->tcp.window_probes,
                      (unsigned long long)w.probes_before_read, w.got_n);
    if (w.err || !w.eof || w.got_n != n || memcmp(got, data, n))
        fail_msg("slow reader seed %llu rcvbuf %u: %zu/%zu bytes, eof %d, error %s, persist %d, "
                 "probes %llu (replay: USTACK_SEED=%llu)",
                 (unsigned long long)seed, rcvbuf, w.got_n, n, w.eof,
                 w.err ? strerror(w.err) : "none", w.saw_persist,
                 (unsigned long long)sb->tcp.window_probes, (unsigned long long)seed);
    if (rcvbuf % SEG == 0)
        assert_true(w.saw_zero_window);
    assert_true(w.saw_persist);
    if (!f)
        assert_true(w.probes_before_read >= 3);                /* 30 s of a closed window */
    assert_true(sb->tcp.window_probes > w.probes_before_read); /* found the lost update */
    /* the sender never gave up while the reader took its time */
    assert_int_equal(sb->tcp.timeouts, 0);
    assert_int_equal(ust_close(p.a, w.afd), 0);
    assert_int_equal(ust_close(p.b, w.cfd), 0);
    assert_int_equal(ust_close(p.a, w.lfd), 0);
    assert_drains(&p, seed);
    free(data);
    free(got);
    pair_fini(&p);
}

static void slow_reader(void **state)
{
    (void)state;
    /* lost window updates and probes: the persist timer must recover */
    struct ust_faults f = {.drop = 0.10,
                           .duplicate = 0.02,
                           .reorder = 0.05,
                           .delay = 2000,
                           .jitter = 1000};
    uint64_t seed;
    if (env_seed(&seed)) {
        slow_reader_one(seed, seed == 900 ? NULL : &f, 10 * SEG);
        slow_reader_one(seed, seed == 900 ? NULL : &f, 65535);
        return;
    }
    slow_reader_one(900, NULL, 10 * SEG);
    slow_reader_one(900, NULL, 65535);
    for (seed = 901; seed <= 904; seed++)
        slow_reader_one(seed, &f, seed % 2 ? 20 * SEG : 65535);
}

/* ---- simultaneous open, closed before the handshake completes ---- */

struct simopen {
    struct pair *p;
    int fa, fb;
    int how; /* SHUT_WR, or -1: close() */
    bool acted, a_eof, b_eof, b_sent;
    bool saw_syn_received; /* both ends were SYN-RECEIVED at once */
    char got_a[64], got_b[64];
    size_t na, nb;
    bool bad_state; /* a synchronized state with our SYN unacknowledged */
};

static const struct tcp_conn *only_conn(const struct ust_stack *s)
{
    return s->tcp->all && !s->tcp->all->next ? s->tcp->all : NULL;
}

static bool synced_without_syn_acked(const struct ust_stack *s)
{
    for (const struct tcp_conn *c = s->tcp->all; c; c = c->next)
        if (c->state >= TCPS_ESTABLISHED && c->state != TCPS_CLOSED && !seq_gt(c->snd_una, c->iss))
            return true;
    return false;
}

static bool simopen_step(void *ctx)
{
    struct simopen *o = ctx;
    struct ust_stack *a = o->p->a, *b = o->p->b;
    if (synced_without_syn_acked(a) || synced_without_syn_acked(b))
        o->bad_state = true;
    const struct tcp_conn *ca = only_conn(a), *cb = only_conn(b);
    if (!o->acted && ca && cb && ca->state == TCPS_SYN_RECEIVED && cb->state == TCPS_SYN_RECEIVED) {
        o->saw_syn_received = true;
        /* a is done before the handshake is */
        if (o->how < 0) {
            assert_int_equal(ust_close(a, o->fa), 0);
            o->fa = 0;
        } else {
            assert_int_equal(ust_shutdown(a, o->fa, o->how), 0);
        }
        o->acted = true;
    }
    if (!o->acted)
        return false;
    if (!o->b_sent && ust_send(b, o->fb, "from b", 6, 0) == 6)
        o->b_sent = true;
    ssize_t r;
    while (!o->b_eof &&
           (r = ust_recv(b, o->fb, o->got_b + o->nb, sizeof(o->got_b) - o->nb, 0)) >= 0) {
        if (r == 0)
            o->b_eof = true;
        o->nb += (size_t)r;
    }
    while (o->fa && !o->a_eof &&
           (r = ust_recv(a, o->fa, o->got_a + o->na, sizeof(o->got_a) - o->na, 0)) >= 0) {
        if (r == 0)
            o->a_eof = true;
        o->na += (size_t)r;
    }
    if (o->b_eof && o->b_sent && ust_shutdown(b, o->fb, SHUT_WR) != 0)
        assert_int_equal(errno, ENOTCONN);
    return o->b_eof && (o->fa == 0 || o->a_eof);
}

/* Both ends connect to each other at the same instant: the SYNs cross and
 * both are SYN-RECEIVED. One of them shuts down its sending side (or
 * closes) right then: its FIN must follow the handshake, and the other end
 * sees the end of the stream after the handshake completes. */
static void simultaneous_open_one(uint64_t seed, int how)
{
    struct ust_faults f = {.delay = 5 * UST_MS};
    struct pair p;
    pair_open(&p, seed, &f);
    struct simopen o = {.p = &p, .how = how};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(6000)};
    struct sockaddr_in sb = {.sin_family = AF_INET, .sin_port = htons(6001)};
    o.fa = ust_socket(p.a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    o.fb = ust_socket(p.b, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_int_equal(ust_bind(p.a, o.fa, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(ust_bind(p.b, o.fb, (struct sockaddr *)&sb, sizeof(sb)), 0);
    sa.sin_addr.s_addr = htonl(IP_A);
    sb.sin_addr.s_addr = htonl(IP_B);
    assert_int_equal(ust_connect(p.a, o.fa, (struct sockaddr *)&sb, sizeof(sb)), -1);
    assert_int_equal(errno, EINPROGRESS);
    assert_int_equal(ust_connect(p.b, o.fb, (struct sockaddr *)&sa, sizeof(sa)), -1);
    assert_int_equal(errno, EINPROGRESS);
    bool ok = pair_run(&p, 120 * UST_SEC, simopen_step, &o);
    if (!ok || !o.saw_syn_received || o.bad_state)
        fail_msg("simultaneous open, %s in SYN-RECEIVED: done %d, both SYN-RECEIVED %d, "
                 "synchronized with the SYN unacknowledged %d, b got EOF %d, a got %zu bytes",
                 how < 0 ? "close()" : "shutdown(SHUT_WR)", ok, o.saw_syn_received, o.bad_state,
                 o.b_eof, o.na);
    assert_int_equal(o.nb, 0); /* a sent nothing but its FIN */
    if (o.fa) {
        assert_int_equal(o.na, 6); /* a still reads what b sends */
        assert_memory_equal(o.got_a, "from b", 6);
        assert_int_equal(ust_close(p.a, o.fa), 0);
    }
    assert_int_equal(ust_close(p.b, o.fb), 0);
    assert_drains(&p, seed);
    pair_fini(&p);
}

static void simultaneous_open(void **state)
{
    (void)state;
    uint64_t seed;
    if (env_seed(&seed)) {
        simultaneous_open_one(seed, SHUT_WR);
        simultaneous_open_one(seed, -1);
        return;
    }
    simultaneous_open_one(300, SHUT_WR);
    simultaneous_open_one(301, -1);
}

/* ---- destroying stacks with sockets still open ---- */

struct accept_one {
    struct pair *p;
    int lfd, afd;
};

static bool accepted(void *ctx)
{
    struct accept_one *a = ctx;
    if (a->afd < 0)
        a->afd = ust_accept4(a->p->a, a->lfd, NULL, NULL, SOCK_NONBLOCK);
    return a->afd > 0;
}

/* ust_stack_destroy() with open TCP sockets in every state frees it all
 * (ASan and LeakSanitizer watch): listener, accepted and connecting
 * sockets, data queued both ways, a connection waiting to be accepted. */
static void destroy_open(void **state)
{
    (void)state;
    struct pair p;
    pair_open(&p, 4242, NULL);
    struct accept_one a = {.p = &p, .afd = -1};
    a.lfd = listen_on(p.a, 7, 4);
    int cfd = connect_to(p.b, IP_A, 7);
    assert_true(pair_run(&p, 10 * UST_SEC, accepted, &a));
    int waiting = connect_to(p.b, IP_A, 7); /* established, never accepted */
    pair_run(&p, UST_SEC, NULL, NULL);
    static uint8_t junk[200000];
    assert_true(ust_send(p.b, cfd, junk, sizeof(junk), 0) > 0);
    assert_true(ust_send(p.a, a.afd, junk, sizeof(junk), 0) > 0);
    pair_run(&p, 2 * UST_MS, NULL, NULL);
    int nowhere = connect_to(p.b, UST_IP4(192, 0, 2, 99), 7); /* SYN-SENT, ARP pending */
    (void)waiting;
    (void)nowhere;
    pair_fini(&p);
}

/* ---- SACK recovery retransmits only what was lost ---- */

#define SACK_LOSSES 10
/* Segment numbers (of the data, counted from 0) lost on first sending. */
static const unsigned sack_lost[SACK_LOSSES] = {40, 41, 42, 120, 180, 300, 302, 304, 306, 500};

struct chosen_loss {
    uint16_t sport; /* the sender's port */
    bool have_isn;
    uint32_t isn;
    unsigned dropped;
    bool done[SACK_LOSSES];
};

/* memlink's drop_if: the first transmission of each chosen segment. */
static bool drop_chosen(void *arg, const uint8_t *fr, size_t len)
{
    struct chosen_loss *cl = arg;
    if (len < 14 + 20 + 20 || fr[12] != 0x08 || fr[13] != 0x00 || fr[14 + 9] != IPV4_PROTO_TCP)
        return false;
    size_t ihl = (size_t)(fr[14] & 15) * 4;
    const uint8_t *t = fr + 14 + ihl;
    size_t tot = (size_t)fr[16] << 8 | fr[17];
    size_t thl = (size_t)(t[12] >> 4) * 4;
    uint16_t sport = (uint16_t)(t[0] << 8 | t[1]);
    uint32_t seq = (uint32_t)t[4] << 24 | (uint32_t)t[5] << 16 | (uint32_t)t[6] << 8 | t[7];
    if (sport != cl->sport)
        return false;
    if (t[13] & TCP_SYN) {
        cl->isn = seq;
        cl->have_isn = true;
        return false;
    }
    if (!cl->have_isn || tot <= ihl + thl)
        return false; /* no data */
    uint32_t off = seq - cl->isn - 1;
    if (off % SEG != 0)
        return false;
    for (unsigned i = 0; i < SACK_LOSSES; i++) {
        if (off / SEG == sack_lost[i] && !cl->done[i]) {
            cl->done[i] = true;
            cl->dropped++;
            return true;
        }
    }
    return false;
}

/* n bytes from a (port 9) to b, then both close and everything drains.
 * Returns the virtual time the data took; the stacks' stats stay. */
static ust_time_t one_way(struct pair *p, size_t n, uint64_t seed)
{
    uint8_t *out = malloc(n), *in = malloc(n + 1), *back = malloc(n + 1);
    fill_random(out, n, seed);
    struct xfer x =
        {.p = p, .afd = -1, .n = n, .out_a = out, .out_b = out, .in_a = in, .in_b = back};
    x.lfd = listen_on(p->a, 9, 4);
    x.cfd = connect_to(p->b, IP_A, 9);
    ust_time_t start = p->now;
    /* b sends nothing (counted as sent and received): it shuts down at once. */
    x.sent_b = n;
    x.got_b = n;
    assert_true(pair_run(p, 300 * UST_SEC, xfer_step, &x));
    ust_time_t took = p->now - start;
    assert_int_equal(x.err, 0);
    assert_int_equal(x.got_a, n);
    assert_memory_equal(in, out, n);
    assert_int_equal(ust_close(p->a, x.afd), 0);
    assert_int_equal(ust_close(p->b, x.cfd), 0);
    assert_int_equal(ust_close(p->a, x.lfd), 0);
    assert_drains(p, seed);
    free(out);
    free(in);
    free(back);
    return took;
}

static void sack_recovery_one(bool sack)
{
    struct pair p;
    struct ust_faults f = {.delay = 2 * UST_MS};
    struct chosen_loss cl = {.sport = 9};
    f.drop_if = drop_chosen;
    f.drop_arg = &cl;
    pair_open(&p, 77, &f);
    p.a->cfg.tcp_sack = sack; /* read when each connection opens */
    p.b->cfg.tcp_sack = sack;
    ust_time_t took = one_way(&p, XFER_BYTES, 77);
    const struct ust_stats *sa = ust_stack_stats(p.a);
    if (getenv("USTACK_VERBOSE"))
        print_message(
            "sack %d: %.3f s virtual, dropped %u, retransmits %llu (sack %llu, rto %llu), "
            "recoveries %llu\n",
            sack, (double)took / UST_SEC, cl.dropped, (unsigned long long)sa->tcp.retransmits,
            (unsigned long long)sa->tcp.sack_retransmits, (unsigned long long)sa->tcp.rto_timeouts,
            (unsigned long long)sa->tcp.fast_retransmits);
    assert_int_equal(cl.dropped, SACK_LOSSES); /* every chosen segment was lost once */
    if (sack) {
        assert_true(sa->tcp.sack_recoveries > 0);
        assert_int_equal(sa->tcp.rto_timeouts, 0);
        assert_int_equal(sa->tcp.retransmits, SACK_LOSSES); /* only what was lost */
        assert_int_equal(sa->tcp.sack_retransmits, SACK_LOSSES);
    } else {
        assert_int_equal(sa->tcp.sack_recoveries, 0);
        assert_true(sa->tcp.retransmits >= SACK_LOSSES);
    }
    pair_fini(&p);
}

static void sack_recovery(void **state)
{
    (void)state;
    sack_recovery_one(true);
    sack_recovery_one(false);
}

/* ---- receive-buffer auto-tuning ---- */

/* A long fat pipe: 40 ms round trip at 200 Mbit/s holds 1 MB, four times
 * the default 256 KiB buffers. Auto-tuned, the buffers grow and the
 * transfer runs near the link's rate; fixed, the window caps it at
 * 256 KiB per round trip (52 Mbit/s). Virtual time, so exact. */
static ust_time_t lfn_transfer(bool autotune, uint32_t *final_cap)
{
    struct pair p;
    struct ust_faults f = {.delay = 20 * UST_MS, .rate_bps = 200000000, .queue_limit = 4096};
    pair_open(&p, 78, &f);
    if (!autotune) {
        p.a->cfg.tcp_sndbuf_max = 0;
        p.b->cfg.tcp_rcvbuf_max = 0;
    }
    /* Watch the receiver's buffer while the data flows. */
    ust_time_t took = one_way(&p, 16u << 20, 78);
    *final_cap = (uint32_t)(ust_stack_stats(p.b)->tcp.rcvbuf_grown +
                            ust_stack_stats(p.a)->tcp.sndbuf_grown);
    pair_fini(&p);
    return took;
}

static void rcvbuf_autotuning(void **state)
{
    (void)state;
    uint32_t grown_auto = 0, grown_fixed = 0;
    ust_time_t t_auto = lfn_transfer(true, &grown_auto);
    ust_time_t t_fixed = lfn_transfer(false, &grown_fixed);
    if (getenv("USTACK_VERBOSE"))
        print_message("16 MB over 40 ms x 200 Mbit/s: auto-tuned %.2f s (grown %u times), "
                      "fixed 256 KiB %.2f s\n",
                      (double)t_auto / UST_SEC, grown_auto, (double)t_fixed / UST_SEC);
    assert_true(grown_auto > 0);
    assert_int_equal(grown_fixed, 0);
    /* Fixed: at most 256 KiB per 40 ms, so at least 2.5 s for 16 MB. */
    assert_true(t_fixed >= 2 * UST_SEC + UST_SEC / 2);
    /* Auto-tuned: well under that (the link alone needs 0.67 s). */
    assert_true(t_auto * 2 < t_fixed);
}

int main(void)
{
    /* USTACK_TEST=NAME (a cmocka pattern) runs only that test. */
    const char *only = getenv("USTACK_TEST");
    if (only && *only)
        cmocka_set_test_filter(only);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transfer_seeds),
        cmocka_unit_test(transfer_offload),
        cmocka_unit_test(storm),
        cmocka_unit_test(half_close),
        cmocka_unit_test(slow_reader),
        cmocka_unit_test(simultaneous_open),
        cmocka_unit_test(destroy_open),
        cmocka_unit_test(sack_recovery),
        cmocka_unit_test(rcvbuf_autotuning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
