/* The runner's iperf3 service (TCP port 5201): stock iperf3 clients run
 * TCP tests against ustack, forward (-R not given: the client sends),
 * reverse (-R: we send) and bidirectional (--bidir), with any number of
 * parallel streams up to 128, ended by time (-t), bytes (-n) or blocks
 * (-k). UDP and SCTP tests are refused with SERVER_ERROR ("not
 * implemented"). The protocol is described in iperf3.h.
 *
 * One loop multiplexes, over non-blocking sockets: the listener, the one
 * test that may run at a time (its control connection, the data
 * connections still sending their cookie, and the streams), and the
 * connections it turns away. It runs on the stack thread (iperf3_start,
 * the runner's default): each turn builds the poll set, gives every socket
 * in it a handler (ust_on_ready) that runs the next turn, and arms a timer
 * for the nearest deadline; a turn scans the set (ust_poll without
 * waiting) and serves what is ready. Or on a thread of its own
 * (iperf3_main), waiting in ust_poll. A connection that arrives while a test
 * runs gets ACCESS_DENIED (the client prints "the server is busy"), unless
 * the test is waiting for its streams, in which case its cookie decides.
 * Every step of the exchange has a deadline (--iperf3-timeout), and a running
 * test in which nothing moves ends (--iperf3-idle-timeout), so a client that
 * goes quiet or away cannot hold the service; a client that disconnects
 * ends its test.
 *
 * Results are honest: each stream reports the bytes this side moved and
 * the seconds it took. When we receive, we also wait (briefly) after
 * TEST_END for the bytes the client says it sent, which were still in
 * flight when it sent TEST_END, so that the client's "sum_received" is
 * what actually arrived. */
#include "iperf3.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "services.h"
#include "svcloop.h"

#define SEC 1000000ull           /* ust_time_t is in microseconds */
#define END_GRACE (10 * SEC)     /* past duration + omit */
#define DRAIN_TIMEOUT (2 * SEC)  /* waiting for bytes in flight */
#define LINGER_TIMEOUT (2 * SEC) /* a refused connection, closing */
#define MAX_LINGER 32            /* refused connections closing at once */
#define MAX_PENDING (2 * IPERF3_MAX_STREAMS + 8)
#define RXBUF (256 * 1024)
#define IO_ROUNDS 16 /* reads or writes per stream per wakeup */

enum phase {
    PH_IDLE,    /* no test */
    PH_COOKIE,  /* reading the control connection's cookie */
    PH_PARAMS,  /* PARAM_EXCHANGE sent, reading the parameters */
    PH_STREAMS, /* CREATE_STREAMS sent, accepting data connections */
    PH_RUNNING, /* TEST_RUNNING sent, until TEST_END */
    PH_RESULTS, /* EXCHANGE_RESULTS sent, reading the client's results */
    PH_DRAIN,   /* waiting for the bytes the client sent to arrive */
    PH_DONE,    /* DISPLAY_RESULTS sent, waiting for IPERF_DONE */
};

struct stream {
    int fd;
    uint64_t seq; /* accept order: decides id and direction */
    char cookie[IPERF3_COOKIE_SIZE];
    size_t cookie_len;
    int id;
    bool sender;           /* this side sends on it */
    bool closed;           /* EOF or error: no longer polled */
    uint64_t bytes;        /* moved since the test started */
    uint64_t base;         /* bytes at the end of the omitted seconds */
    uint32_t retrans_base; /* TCP_INFO's total_retrans then */
    uint64_t target;       /* draining: bytes the client sent */
    ust_time_t last_rx;    /* when data last arrived */
};

struct test {
    enum phase phase;
    unsigned gen; /* bumped when a test ends: stale poll entries */
    int ctrl;
    char peer[UST_IP6_STRLEN];
    char cookie[IPERF3_COOKIE_SIZE];
    size_t cookie_len;
    struct iperf3_params prm;
    ust_time_t deadline; /* of the current step */
    ust_time_t start, end, omit_end;
    ust_time_t last_progress;
    bool omitting;
    unsigned want; /* streams to accept */
    struct stream *pending[MAX_PENDING];
    size_t npending;
    struct stream *streams[2 * IPERF3_MAX_STREAMS];
    size_t nstreams;
    uint64_t send_limit; /* total bytes we may send (-n, -k); 0: no limit */
    uint64_t sent;       /* total bytes sent, all streams */
    char *sendbuf;
    struct iperf3_cpu cpu;
    struct iperf3_json_rx rx; /* control input: a JSON message coming in */
};

struct closing {
    int fd;
    ust_time_t until;
};

enum ref_kind { REF_LISTENER, REF_CTRL, REF_PENDING, REF_STREAM, REF_LINGER };

struct ref {
    enum ref_kind kind;
    unsigned gen;
    struct stream *st;
    size_t linger;
};

struct iperf3_server {
    struct service *svc;
    struct ust_stack *s;
    struct test t;
    struct closing linger[MAX_LINGER];
    size_t nlinger;
    uint64_t accept_seq;
    uint8_t *rxbuf;
    struct pollfd pfd[2 + MAX_PENDING + 2 * IPERF3_MAX_STREAMS + MAX_LINGER];
    struct ref refs[2 + MAX_PENDING + 2 * IPERF3_MAX_STREAMS + MAX_LINGER];
    size_t npfd; /* the poll set's size */
    /* On the stack thread (iperf3_start): */
    int timer;
    atomic_bool stopping; /* iperf3_stop asked: the timer ends the service */
    sem_t stopped;        /* posted once it has */
};

static const char *phase_name(enum phase p)
{
    static const char *const names[] = {"idle",    "cookie",  "parameters", "stream setup",
                                        "running", "results", "draining",   "display"};
    return names[p];
}

/* The deadline of a step of the exchange that starts now (0: none). */
static ust_time_t step_deadline(const struct iperf3_server *sv, ust_time_t now)
{
    ust_time_t t = sv->svc->lim.request_timeout;
    return t ? now + t : 0;
}

/* ---- closing ---- */

/* Closes a connection gracefully: FIN after what is queued, then read and
 * discard until the peer closes too (closing with unread data would send a
 * RST, which can destroy the last message before the peer reads it). */
static void linger_close(struct iperf3_server *sv, int fd, ust_time_t now)
{
    if (fd < 0)
        return;
    if (sv->nlinger == MAX_LINGER || ust_shutdown(sv->s, fd, SHUT_WR) < 0) {
        ust_close(sv->s, fd);
        return;
    }
    sv->linger[sv->nlinger++] = (struct closing){.fd = fd, .until = now + LINGER_TIMEOUT};
}

static void stream_free(struct iperf3_server *sv, struct stream *st)
{
    ust_close(sv->s, st->fd);
    free(st);
}

/* Ends the test (whatever its phase) and frees everything it holds. The
 * control connection lingers if a last message was queued on it. */
static void test_reset(struct iperf3_server *sv, ust_time_t now, bool linger_ctrl)
{
    struct test *t = &sv->t;
    for (size_t i = 0; i < t->npending; i++)
        stream_free(sv, t->pending[i]);
    for (size_t i = 0; i < t->nstreams; i++)
        stream_free(sv, t->streams[i]);
    if (t->ctrl >= 0) {
        if (linger_ctrl)
            linger_close(sv, t->ctrl, now);
        else
            ust_close(sv->s, t->ctrl);
    }
    free(t->sendbuf);
    iperf3_json_rx_reset(&t->rx);
    unsigned gen = t->gen + 1;
    memset(t, 0, sizeof(*t));
    t->gen = gen;
    t->ctrl = -1;
    t->phase = PH_IDLE;
}

/* ---- the control connection ---- */

/* Sends all of buf on the control connection. Messages are small and the
 * connection's send buffer is otherwise empty, so a short write means the
 * client is not reading: -1. */
static int ctrl_send(void *server, const void *buf, size_t len)
{
    struct iperf3_server *sv = server;
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = ust_send(sv->s, sv->t.ctrl, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int send_state(struct iperf3_server *sv, int8_t state) { return ctrl_send(sv, &state, 1); }

static ssize_t ctrl_recv(void *server, void *buf, size_t len)
{
    struct iperf3_server *sv = server;
    return ust_recv(sv->s, sv->t.ctrl, buf, len, 0);
}

/* Ends the test with SERVER_ERROR, iperf3's error number and an errno. */
static void fail_test(struct iperf3_server *sv, ust_time_t now, int ierr, int err, const char *why)
{
    struct test *t = &sv->t;
    app_logf(UST_LOG_WARN, "iperf3: %s: test refused or ended in %s: %s", t->peer,
             phase_name(t->phase), why);
    bool sent = false;
    if (t->ctrl >= 0) {
        uint8_t msg[1 + 2 * IPERF3_INT_SIZE] = {(uint8_t)IPERF3_SERVER_ERROR};
        iperf3_put32(msg + 1, (uint32_t)ierr);
        iperf3_put32(msg + 1 + IPERF3_INT_SIZE, (uint32_t)err);
        sent = ctrl_send(sv, msg, sizeof(msg)) == 0;
    }
    test_reset(sv, now, sent);
}

/* The client went away or broke the protocol: nothing more to say to it. */
static void drop_test(struct iperf3_server *sv, ust_time_t now, const char *why)
{
    app_logf(UST_LOG_WARN, "iperf3: %s: test ended in %s: %s", sv->t.peer, phase_name(sv->t.phase),
             why);
    test_reset(sv, now, false);
}

/* ---- starting ---- */

static int by_seq(const void *a, const void *b)
{
    const struct stream *x = *(struct stream *const *)a, *y = *(struct stream *const *)b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void start_test(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    /* Ids and directions follow the order the client opened the streams
     * in. With --bidir its first `parallel` streams send (we receive). */
    qsort(t->streams, t->nstreams, sizeof(t->streams[0]), by_seq);
    for (size_t i = 0; i < t->nstreams; i++) {
        struct stream *st = t->streams[i];
        st->id = iperf3_stream_id((unsigned)i);
        st->sender = t->prm.reverse || (t->prm.bidirectional && i >= t->prm.parallel);
        if (t->prm.nodelay) {
            int one = 1;
            ust_setsockopt(sv->s, st->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        if (t->prm.congestion[0] &&
            ust_setsockopt(sv->s, st->fd, IPPROTO_TCP, TCP_CONGESTION, t->prm.congestion,
                           (socklen_t)strlen(t->prm.congestion)) < 0 &&
            i == 0)
            app_logf(UST_LOG_INFO,
                     "iperf3: %s: congestion control \"%s\" unknown, using the default", t->peer,
                     t->prm.congestion);
    }
    if (t->prm.reverse || t->prm.bidirectional) {
        t->sendbuf = malloc(t->prm.blksize);
        if (!t->sendbuf) {
            fail_test(sv, now, IPERF3_IE_BLOCKSIZE, ENOMEM, "out of memory");
            return;
        }
        /* iperf3 sends random bytes; any pattern measures the same. */
        for (uint32_t i = 0; i < t->prm.blksize; i++)
            t->sendbuf[i] = (char)('0' + i % 64);
    }
    if (t->prm.bytes)
        t->send_limit = t->prm.bytes;
    else if (t->prm.blocks)
        t->send_limit = t->prm.blocks * t->prm.blksize;
    if (send_state(sv, IPERF3_TEST_START) != 0 || send_state(sv, IPERF3_TEST_RUNNING) != 0) {
        drop_test(sv, now, "cannot write to the control connection");
        return;
    }
    t->phase = PH_RUNNING;
    t->start = t->last_progress = now;
    t->omitting = t->prm.omit > 0;
    t->omit_end = now + t->prm.omit * SEC;
    t->deadline = t->prm.duration ? now + (t->prm.duration + t->prm.omit) * SEC + END_GRACE : 0;
    iperf3_cpu_start(&t->cpu);
    const char *dir = t->prm.bidirectional ? "bidirectional"
                      : t->prm.reverse     ? "reverse (we send)"
                                           : "we receive";
    char until[64];
    if (t->prm.bytes)
        snprintf(until, sizeof(until), "%llu bytes", (unsigned long long)t->prm.bytes);
    else if (t->prm.blocks)
        snprintf(until, sizeof(until), "%llu blocks", (unsigned long long)t->prm.blocks);
    else
        snprintf(until, sizeof(until), "%u s", t->prm.duration);
    app_logf(UST_LOG_INFO,
             "iperf3: %s: test running: TCP, %u stream(s), %s, until %s, blocks of %u", t->peer,
             t->prm.parallel, dir, until, t->prm.blksize);
}

static void got_params(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    int ierr;
    char why[160];
    if (iperf3_params_parse(t->rx.msg, t->rx.len, &t->prm, &ierr, why, sizeof(why)) != 0) {
        iperf3_json_rx_reset(&t->rx);
        fail_test(sv, now, ierr, 0, why);
        return;
    }
    iperf3_json_rx_reset(&t->rx);
    t->want = t->prm.parallel * (t->prm.bidirectional ? 2 : 1);
    if (t->prm.window)
        app_logf(UST_LOG_DEBUG,
                 "iperf3: %s: window %u asked for; streams keep the listener's buffers", t->peer,
                 t->prm.window);
    if (send_state(sv, IPERF3_CREATE_STREAMS) != 0) {
        drop_test(sv, now, "cannot write to the control connection");
        return;
    }
    t->phase = PH_STREAMS;
    t->deadline = step_deadline(sv, now);
}

/* ---- ending ---- */

static uint64_t counted(const struct stream *st) { return st->bytes - st->base; }

/* Seconds from the start (after the omitted seconds) to when the stream's
 * counting ended: TEST_END, or the last byte drained after it. */
static double stream_seconds(const struct test *t, const struct stream *st)
{
    ust_time_t start = t->prm.omit ? t->omit_end : t->start;
    ust_time_t end = t->end;
    if (!st->sender && st->last_rx > end)
        end = st->last_rx;
    return end > start ? (double)(end - start) / 1e6 : 0;
}

/* The segments the stack sent again on the stream (TCP_INFO), or 0. */
static uint32_t total_retrans(struct iperf3_server *sv, const struct stream *st)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (ust_getsockopt(sv->s, st->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
        len < offsetof(struct tcp_info, tcpi_total_retrans) + sizeof(ti.tcpi_total_retrans))
        return 0;
    return ti.tcpi_total_retrans;
}

static void send_results(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    struct iperf3_results *r = calloc(1, sizeof(*r));
    char text[512];
    if (!r) {
        drop_test(sv, now, "out of memory");
        return;
    }
    iperf3_cpu_read(&t->cpu, &r->cpu_total, &r->cpu_user, &r->cpu_system);
    /* Retransmissions from TCP_INFO where we sent; -1 (none) where we
     * only received, as iperf3 does. */
    r->sender_has_retransmits = (t->prm.reverse || t->prm.bidirectional) ? 1 : -1;
    uint64_t rx = 0, tx = 0;
    double secs = 0;
    for (size_t i = 0; i < t->nstreams; i++) {
        const struct stream *st = t->streams[i];
        double s = stream_seconds(t, st);
        r->streams[i] = (struct iperf3_stream_result){
            .id = st->id,
            .bytes = counted(st),
            .retransmits = st->sender ? (int64_t)(total_retrans(sv, st) - st->retrans_base) : -1,
            .start_time = 0,
            .end_time = s};
        if (st->sender)
            tx += counted(st);
        else
            rx += counted(st);
        if (s > secs)
            secs = s;
    }
    r->nstreams = t->nstreams;
    if (t->nstreams > 0) {
        socklen_t cl = sizeof(r->congestion_used) - 1;
        if (ust_getsockopt(sv->s, t->streams[0]->fd, IPPROTO_TCP, TCP_CONGESTION,
                           r->congestion_used, &cl) < 0)
            r->congestion_used[0] = '\0';
    }
    snprintf(text, sizeof(text),
             "ustack iperf3 service: %s: %zu stream(s), %.2f s: received %llu bytes (%.1f Mbit/s), "
             "sent %llu bytes (%.1f Mbit/s)\n",
             t->peer, t->nstreams, secs, (unsigned long long)rx,
             secs > 0 ? rx * 8 / secs / 1e6 : 0.0, (unsigned long long)tx,
             secs > 0 ? tx * 8 / secs / 1e6 : 0.0);
    if (t->prm.get_server_output)
        r->server_output_text = text;
    size_t len;
    char *json = iperf3_results_build(r, &len);
    free(r);
    if (!json || iperf3_json_send(ctrl_send, sv, json, len) != 0 ||
        send_state(sv, IPERF3_DISPLAY_RESULTS) != 0) {
        free(json);
        drop_test(sv, now, "cannot send the results");
        return;
    }
    free(json);
    app_logf(UST_LOG_INFO,
             "iperf3: %s: test done: %zu stream(s), %.2f s, received %llu bytes, sent %llu bytes",
             t->peer, t->nstreams, secs, (unsigned long long)rx, (unsigned long long)tx);
    t->phase = PH_DONE;
    t->deadline = step_deadline(sv, now);
}

/* Draining is over when every stream we receive on has what the client
 * sent on it (or has closed). */
static bool drained(const struct test *t)
{
    for (size_t i = 0; i < t->nstreams; i++) {
        const struct stream *st = t->streams[i];
        if (!st->sender && !st->closed && st->bytes < st->target)
            return false;
    }
    return true;
}

static void got_client_results(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    struct iperf3_results *r = malloc(sizeof(*r));
    char why[160];
    if (!r) {
        iperf3_json_rx_reset(&t->rx);
        drop_test(sv, now, "out of memory");
        return;
    }
    int rc = iperf3_results_parse(t->rx.msg, t->rx.len, r, why, sizeof(why));
    iperf3_json_rx_reset(&t->rx);
    if (rc != 0) {
        free(r);
        fail_test(sv, now, IPERF3_IE_RECVRESULTS, 0, why);
        return;
    }
    for (size_t i = 0; i < r->nstreams; i++) {
        struct stream *st = NULL;
        for (size_t j = 0; j < t->nstreams; j++)
            if (t->streams[j]->id == r->streams[i].id)
                st = t->streams[j];
        if (!st) {
            free(r);
            fail_test(sv, now, IPERF3_IE_STREAMID, 0,
                      "the client's results name an unknown stream");
            return;
        }
        /* With omitted seconds the two sides' counts start at different
         * moments: no target then. */
        if (!st->sender && !t->prm.omit)
            st->target = r->streams[i].bytes;
    }
    free(r);
    if (drained(t)) {
        send_results(sv, now);
    } else {
        t->phase = PH_DRAIN;
        t->deadline = now + DRAIN_TIMEOUT;
    }
}

static void test_end(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    t->end = now;
    if (t->omitting) { /* ended within the omitted seconds: count from the start */
        t->omitting = false;
        t->prm.omit = 0;
    }
    /* FIN on the streams we send on, after what is queued. iperf3's client
     * turns its sockets back to blocking when its test ends and, receiving,
     * keeps reading whole blocks until the server speaks: without an end
     * of stream it would wait forever for the rest of a block we never
     * send. (iperf3's own server closes the streams here.) */
    for (size_t i = 0; i < t->nstreams; i++)
        if (t->streams[i]->sender)
            ust_shutdown(sv->s, t->streams[i]->fd, SHUT_WR);
    if (send_state(sv, IPERF3_EXCHANGE_RESULTS) != 0) {
        drop_test(sv, now, "cannot write to the control connection");
        return;
    }
    t->phase = PH_RESULTS;
    t->deadline = step_deadline(sv, now);
}

/* ---- events ---- */

static void on_ctrl(struct iperf3_server *sv, short revents, ust_time_t now)
{
    struct test *t = &sv->t;
    if (revents & POLLNVAL)
        return;
    switch (t->phase) {
    case PH_COOKIE: {
        ssize_t n = ust_recv(sv->s, t->ctrl, t->cookie + t->cookie_len,
                             IPERF3_COOKIE_SIZE - t->cookie_len, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            drop_test(sv, now, "the client closed before sending its cookie");
            return;
        }
        if (n > 0)
            t->cookie_len += (size_t)n;
        if (t->cookie_len < IPERF3_COOKIE_SIZE)
            return;
        if (send_state(sv, IPERF3_PARAM_EXCHANGE) != 0) {
            drop_test(sv, now, "cannot write to the control connection");
            return;
        }
        t->phase = PH_PARAMS;
        t->deadline = step_deadline(sv, now);
        return;
    }
    case PH_PARAMS:
    case PH_RESULTS: {
        int rc = iperf3_json_recv(&t->rx, ctrl_recv, sv);
        if (rc < 0) {
            if (errno == EMSGSIZE)
                fail_test(sv, now,
                          t->phase == PH_PARAMS ? IPERF3_IE_RECVPARAMS : IPERF3_IE_RECVRESULTS, 0,
                          "a JSON message with an impossible length");
            else
                drop_test(sv, now, "the client closed the control connection");
        } else if (rc > 0) {
            if (t->phase == PH_PARAMS)
                got_params(sv, now);
            else
                got_client_results(sv, now);
        }
        return;
    }
    default: break;
    }
    /* Otherwise a state message is all the client may send. */
    int8_t state;
    ssize_t n = ust_recv(sv->s, t->ctrl, &state, 1, 0);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        if (t->phase == PH_DONE) { /* closing without IPERF_DONE is fine too */
            test_reset(sv, now, false);
            return;
        }
        drop_test(sv, now,
                  n == 0 ? "the client closed the control connection"
                         : "the control connection failed");
        return;
    }
    if (state == IPERF3_CLIENT_TERMINATE) {
        drop_test(sv, now, "the client terminated the test");
    } else if (state == IPERF3_TEST_END && t->phase == PH_RUNNING) {
        test_end(sv, now);
    } else if (state == IPERF3_IPERF_DONE && t->phase == PH_DONE) {
        app_logf(UST_LOG_DEBUG, "iperf3: %s: done", t->peer);
        test_reset(sv, now, false);
    } else {
        char why[64];
        snprintf(why, sizeof(why), "unexpected message %d", state);
        drop_test(sv, now, why);
    }
}

/* A data connection sending its cookie. */
static void on_pending(struct iperf3_server *sv, struct stream *st, ust_time_t now)
{
    struct test *t = &sv->t;
    ssize_t n = ust_recv(sv->s, st->fd, st->cookie + st->cookie_len,
                         IPERF3_COOKIE_SIZE - st->cookie_len, 0);
    bool gone = n == 0 || (n < 0 && errno != EAGAIN);
    if (n > 0)
        st->cookie_len += (size_t)n;
    if (!gone && st->cookie_len < IPERF3_COOKIE_SIZE)
        return;
    size_t i = 0;
    while (t->pending[i] != st)
        i++;
    t->pending[i] = t->pending[--t->npending];
    if (gone) {
        stream_free(sv, st);
        return;
    }
    if (memcmp(st->cookie, t->cookie, IPERF3_COOKIE_SIZE) != 0 || t->nstreams == t->want) {
        /* Another client's: it gets what a busy server says. */
        int8_t denied = IPERF3_ACCESS_DENIED;
        ust_send(sv->s, st->fd, &denied, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
        linger_close(sv, st->fd, now);
        free(st);
        return;
    }
    t->streams[t->nstreams++] = st;
    if (t->nstreams == t->want)
        start_test(sv, now);
}

/* How many bytes a sending stream may send now: pacing (-b) allows rate
 * bits per second per stream since the start; unpaced, any amount. */
static uint64_t pace_allowance(const struct test *t, const struct stream *st, ust_time_t now)
{
    if (!t->prm.rate)
        return UINT64_MAX;
    uint64_t allowed = (uint64_t)((double)t->prm.rate / 8 * (double)(now - t->start) / 1e6);
    return allowed > st->bytes ? allowed - st->bytes : 0;
}

static void on_stream(struct iperf3_server *sv, struct stream *st, short revents, ust_time_t now)
{
    struct test *t = &sv->t;
    if (!st->sender) {
        for (int i = 0; i < IO_ROUNDS; i++) {
            ssize_t n = ust_recv(sv->s, st->fd, sv->rxbuf, RXBUF, 0);
            if (n > 0) {
                st->bytes += (uint64_t)n;
                st->last_rx = now;
                t->last_progress = now;
                continue;
            }
            if (n < 0 && errno == EAGAIN)
                break;
            if (n < 0 && t->phase == PH_RUNNING) {
                char why[96];
                snprintf(why, sizeof(why), "stream %d: %s", st->id, strerror(errno));
                fail_test(sv, now, IPERF3_IE_STREAMREAD, errno, why);
                return;
            }
            st->closed = true; /* EOF, or an error after the test */
            break;
        }
        if (t->phase == PH_DRAIN && drained(t))
            send_results(sv, now);
        return;
    }
    if (t->phase != PH_RUNNING)
        return;
    (void)revents; /* POLLERR, POLLHUP: the send reports the error */
    for (int i = 0; i < IO_ROUNDS; i++) {
        size_t len = t->prm.blksize;
        if (t->send_limit) {
            if (t->sent >= t->send_limit)
                return;
            if (t->send_limit - t->sent < len)
                len = (size_t)(t->send_limit - t->sent);
        }
        uint64_t allowance = pace_allowance(t, st, now);
        if (allowance == 0)
            return;
        if (allowance < len)
            len = (size_t)allowance;
        ssize_t n = ust_send(sv->s, st->fd, t->sendbuf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            st->bytes += (uint64_t)n;
            t->sent += (uint64_t)n;
            t->last_progress = now;
            continue;
        }
        if (n < 0 && errno == EAGAIN)
            return;
        char why[96];
        snprintf(why, sizeof(why), "stream %d: %s", st->id, n < 0 ? strerror(errno) : "closed");
        drop_test(sv, now, why);
        return;
    }
}

static void on_accept(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    for (;;) {
        struct sockaddr_in6 from = {0}; /* a sockaddr_in on an IPv4-only socket */
        socklen_t fl = sizeof(from);
        int fd = ust_accept4(sv->s, sv->svc->fd, (struct sockaddr *)&from, &fl, SOCK_NONBLOCK);
        if (fd < 0)
            return;
        struct in6_addr peer = IN6ADDR_ANY_INIT;
        uint16_t port;
        app_sockaddr_get((struct sockaddr *)&from, &peer, &port);
        uint64_t seq = ++sv->accept_seq;
        svc_count(sv->svc, SVC_ACCEPTED, 1);
        if (t->phase == PH_IDLE) {
            /* Control messages are a few bytes each, sent back to back
             * (TEST_START, TEST_RUNNING): Nagle would hold each one for the
             * client's delayed ACK. */
            int one = 1;
            ust_setsockopt(sv->s, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            t->ctrl = fd;
            t->phase = PH_COOKIE;
            t->deadline = step_deadline(sv, now);
            app_addr_format(&peer, t->peer);
            app_logf(UST_LOG_DEBUG, "iperf3: %s: control connection", t->peer);
            continue;
        }
        struct stream *st = NULL;
        if (t->phase == PH_STREAMS && t->npending < MAX_PENDING)
            st = calloc(1, sizeof(*st));
        if (!st) {
            /* Busy. Don't read from it: just say so and close. */
            int8_t denied = IPERF3_ACCESS_DENIED;
            ust_send(sv->s, fd, &denied, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            linger_close(sv, fd, now);
            char a[UST_IP6_STRLEN];
            app_logf(UST_LOG_DEBUG, "iperf3: %s: busy with a test from %s, access denied",
                     app_addr_format(&peer, a), t->peer);
            continue;
        }
        st->fd = fd;
        st->seq = seq;
        t->pending[t->npending++] = st;
    }
}

static void on_linger(struct iperf3_server *sv, size_t i)
{
    struct closing *l = &sv->linger[i];
    char buf[512];
    for (int r = 0; r < IO_ROUNDS; r++) {
        ssize_t n = ust_recv(sv->s, l->fd, buf, sizeof(buf), 0);
        if (n > 0)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        break; /* EOF or an error: done */
    }
    ust_close(sv->s, l->fd);
    l->fd = -1;
}

static void linger_compact(struct iperf3_server *sv, ust_time_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < sv->nlinger; i++) {
        if (sv->linger[i].fd >= 0 && now >= sv->linger[i].until) {
            ust_close(sv->s, sv->linger[i].fd);
            sv->linger[i].fd = -1;
        }
        if (sv->linger[i].fd >= 0)
            sv->linger[n++] = sv->linger[i];
    }
    sv->nlinger = n;
}

/* Deadlines of the test: step timeouts, the end of the omitted seconds,
 * and silence while running. */
static void check_timers(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    if (t->phase == PH_IDLE)
        return;
    if (t->phase == PH_RUNNING && t->omitting && now >= t->omit_end) {
        t->omitting = false;
        for (size_t i = 0; i < t->nstreams; i++) {
            t->streams[i]->base = t->streams[i]->bytes;
            t->streams[i]->retrans_base = total_retrans(sv, t->streams[i]);
        }
    }
    if (t->phase == PH_DRAIN && now >= t->deadline) {
        app_logf(UST_LOG_DEBUG,
                 "iperf3: %s: bytes still missing after %llu ms, reporting what arrived", t->peer,
                 (unsigned long long)(DRAIN_TIMEOUT / 1000));
        send_results(sv, now);
        return;
    }
    if (t->deadline && now >= t->deadline) {
        char why[96];
        snprintf(why, sizeof(why), "timed out: no step of the exchange for %g s",
                 (double)sv->svc->lim.request_timeout / SEC);
        svc_count(sv->svc, SVC_TIMEOUT_REQUEST, 1);
        drop_test(sv, now, why);
        return;
    }
    ust_time_t idle = sv->svc->lim.idle_timeout;
    if (t->phase == PH_RUNNING && idle && now >= t->last_progress + idle) {
        char why[64];
        snprintf(why, sizeof(why), "no data moved for %g s", (double)idle / SEC);
        svc_count(sv->svc, SVC_TIMEOUT_IDLE, 1);
        drop_test(sv, now, why);
    }
}

/* When ust_poll must return for a deadline, in ms (-1: none). */
static int poll_timeout(const struct iperf3_server *sv, ust_time_t now)
{
    const struct test *t = &sv->t;
    ust_time_t next = 0;
#define CONSIDER(x)                                                                                \
    do {                                                                                           \
        ust_time_t x_ = (x);                                                                       \
        if (x_ && (!next || x_ < next))                                                            \
            next = x_;                                                                             \
    } while (0)
    for (size_t i = 0; i < sv->nlinger; i++)
        CONSIDER(sv->linger[i].until);
    if (t->phase != PH_IDLE)
        CONSIDER(t->deadline);
    if (t->phase == PH_RUNNING) {
        if (sv->svc->lim.idle_timeout)
            CONSIDER(t->last_progress + sv->svc->lim.idle_timeout);
        if (t->omitting)
            CONSIDER(t->omit_end);
        if (t->prm.rate && (t->prm.reverse || t->prm.bidirectional))
            CONSIDER(now + 1000); /* pacing: look again in 1 ms */
    }
#undef CONSIDER
    return svcloop_timeout_ms(next, now);
}

/* Fills the poll set for this round. */
static size_t build_poll(struct iperf3_server *sv, ust_time_t now)
{
    struct test *t = &sv->t;
    size_t n = 0;
    sv->pfd[n] = (struct pollfd){.fd = sv->svc->fd, .events = POLLIN};
    sv->refs[n++] = (struct ref){.kind = REF_LISTENER};
    if (t->ctrl >= 0) {
        sv->pfd[n] = (struct pollfd){.fd = t->ctrl, .events = POLLIN};
        sv->refs[n++] = (struct ref){.kind = REF_CTRL, .gen = t->gen};
    }
    for (size_t i = 0; i < t->npending; i++) {
        sv->pfd[n] = (struct pollfd){.fd = t->pending[i]->fd, .events = POLLIN};
        sv->refs[n++] = (struct ref){.kind = REF_PENDING, .gen = t->gen, .st = t->pending[i]};
    }
    bool running = t->phase == PH_RUNNING;
    bool reading = running || t->phase == PH_RESULTS || t->phase == PH_DRAIN;
    bool can_send = running && (!t->send_limit || t->sent < t->send_limit);
    for (size_t i = 0; i < t->nstreams; i++) {
        struct stream *st = t->streams[i];
        short ev = 0;
        if (st->closed)
            continue;
        if (!st->sender && reading)
            ev = POLLIN;
        if (st->sender && can_send && pace_allowance(t, st, now) > 0)
            ev = POLLOUT;
        if (!ev)
            continue;
        sv->pfd[n] = (struct pollfd){.fd = st->fd, .events = ev};
        sv->refs[n++] = (struct ref){.kind = REF_STREAM, .gen = t->gen, .st = st};
    }
    for (size_t i = 0; i < sv->nlinger; i++) {
        sv->pfd[n] = (struct pollfd){.fd = sv->linger[i].fd, .events = POLLIN};
        sv->refs[n++] = (struct ref){.kind = REF_LINGER, .linger = i};
    }
    return n;
}

/* Serves what the poll set's revents say is ready, then the timers. */
static void turn(struct iperf3_server *sv, size_t n, ust_time_t now)
{
    for (size_t i = 1; i < n; i++) {
        short rev = sv->pfd[i].revents;
        const struct ref *r = &sv->refs[i];
        if (!rev)
            continue;
        if (r->kind == REF_LINGER) {
            on_linger(sv, r->linger);
            continue;
        }
        if (r->gen != sv->t.gen)
            continue; /* the test it belonged to has ended */
        if (r->kind == REF_CTRL)
            on_ctrl(sv, rev, now);
        else if (r->kind == REF_PENDING)
            on_pending(sv, r->st, now);
        else if (r->kind == REF_STREAM)
            on_stream(sv, r->st, rev, now);
    }
    if (sv->pfd[0].revents & POLLIN)
        on_accept(sv, now);
    check_timers(sv, now);
    linger_compact(sv, now);
}

static struct iperf3_server *server_new(struct service *svc)
{
    struct iperf3_server *sv = calloc(1, sizeof(*sv));
    if (!sv)
        return NULL;
    sv->svc = svc;
    sv->s = svc->s;
    sv->t.ctrl = -1;
    sv->rxbuf = malloc(RXBUF);
    if (!sv->rxbuf) {
        free(sv);
        return NULL;
    }
    return sv;
}

/* Shutting down: tell a running test's client, then close everything. */
static void server_end(struct iperf3_server *sv)
{
    ust_time_t now = ust_clock_now();
    if (sv->t.ctrl >= 0 && sv->t.phase >= PH_PARAMS) {
        send_state(sv, IPERF3_SERVER_TERMINATE);
        app_logf(UST_LOG_INFO, "iperf3: %s: test ended: the server is shutting down", sv->t.peer);
    }
    test_reset(sv, now, false);
    for (size_t i = 0; i < sv->nlinger; i++)
        if (sv->linger[i].fd >= 0)
            ust_close(sv->s, sv->linger[i].fd);
    sv->nlinger = 0;
}

void *iperf3_main(void *arg)
{
    struct iperf3_server *sv = server_new(arg);
    if (!sv)
        return NULL;
    for (;;) {
        ust_time_t now = ust_clock_now();
        size_t n = build_poll(sv, now);
        int timeout = poll_timeout(sv, now);
        if (ust_poll(sv->s, sv->pfd, n, timeout) < 0)
            break;
        if (sv->pfd[0].revents & POLLNVAL)
            break; /* the listener was closed: shutting down */
        turn(sv, n, ust_clock_now());
    }
    server_end(sv);
    free(sv->rxbuf);
    free(sv);
    return NULL;
}

/* ---- on the stack thread ---- */

static void rtc_turn(struct iperf3_server *sv);

static void on_ready(struct ust_stack *s, int fd, short revents, void *arg)
{
    (void)s, (void)fd, (void)revents;
    rtc_turn(arg);
}

static void on_timer(struct ust_stack *s, int timer, void *arg)
{
    (void)timer;
    struct iperf3_server *sv = arg;
    if (atomic_load(&sv->stopping)) {
        server_end(sv);
        ust_close(s, sv->svc->fd);
        ust_timer_del(s, sv->timer);
        sem_post(&sv->stopped);
        return;
    }
    rtc_turn(sv);
}

/* Builds the next poll set and gives each of its sockets the handler (set
 * again: a socket ready now runs the next turn at once), and the timer the
 * nearest deadline. A socket that left the set keeps a handler until it is
 * closed; its news only runs a turn that finds nothing for it. */
static void rtc_arm(struct iperf3_server *sv, ust_time_t now)
{
    sv->npfd = build_poll(sv, now);
    for (size_t i = 0; i < sv->npfd; i++)
        ust_on_ready(sv->s, sv->pfd[i].fd, sv->pfd[i].events, on_ready, sv);
    int ms = poll_timeout(sv, now);
    ust_timer_arm(sv->s, sv->timer, ms < 0 ? 0 : now + (ust_time_t)ms * 1000u);
}

/* One turn: what is ready in the last poll set (a scan: ust_poll does not
 * wait on the stack thread), served, then the next set. */
static void rtc_turn(struct iperf3_server *sv)
{
    if (ust_poll(sv->s, sv->pfd, sv->npfd, 0) < 0)
        return;
    ust_time_t now = ust_clock_now();
    turn(sv, sv->npfd, now);
    rtc_arm(sv, now);
}

struct iperf3_server *iperf3_start(struct service *svc)
{
    struct iperf3_server *sv = server_new(svc);
    if (!sv)
        return NULL;
    if (sem_init(&sv->stopped, 0, 0) != 0) {
        free(sv->rxbuf);
        free(sv);
        return NULL;
    }
    sv->timer = ust_timer_add(sv->s, on_timer, sv);
    if (sv->timer < 0) {
        sem_destroy(&sv->stopped);
        free(sv->rxbuf);
        free(sv);
        return NULL;
    }
    /* The first set (the listener) is armed from the stack thread. */
    ust_timer_arm(sv->s, sv->timer, 1);
    return sv;
}

void iperf3_stop(struct iperf3_server *sv)
{
    atomic_store(&sv->stopping, true);
    ust_timer_arm(sv->s, sv->timer, 1);
    while (sem_wait(&sv->stopped) != 0 && errno == EINTR)
        ;
    sem_destroy(&sv->stopped);
    free(sv->rxbuf);
    free(sv);
}
