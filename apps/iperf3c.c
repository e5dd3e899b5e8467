/* iperf3c: an iperf3 client on ustack. It runs a TCP test against a stock
 * iperf3 server (`iperf3 -s`) over the TAP device, speaking iperf3's
 * protocol (apps/iperf3.h), and prints the sender's and the receiver's
 * throughput.
 *
 *   iperf3c [device options] -c HOST [-p PORT] [-t SECS | -n BYTES] [-R]
 *           [-P N] [-l LEN] [-J]
 *
 * The options mean what they mean to iperf3. -t and -p are iperf3's here,
 * so the device options --tap and --pcap have their long forms only.
 * Exit status: 0 after a complete test, 1 if the test failed (refused,
 * server busy or in error, connection lost), 2 for bad options. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "iperf3.h"
#include "json.h"

#define SEC 1000000ull
#define STEP_TIMEOUT_MS 30000 /* each step of the exchange */
#define MAX_STREAMS (2 * IPERF3_MAX_STREAMS)
#define RXBUF (256 * 1024)

struct opts {
    const char *host;
    const char *name;     /* -c gave a host name: resolved once the stack is up */
    struct app_peer addr; /* its port: -p's, or one joined to -c's address */
    char host_text[UST_IP6_STRLEN + UST_DEV_NAME_MAX + 1]; /* host: the address alone */
    bool port_given;                                       /* -p */
    uint16_t port;
    bool time_set;
    bool json;
    struct iperf3_params prm;
};

struct cstream {
    int fd;
    int id;
    bool sender; /* we send on it */
    bool closed;
    uint64_t bytes;
    ust_time_t last_rx;
};

struct client {
    struct ust_stack *s;
    const struct opts *o;
    int ctrl;
    char cookie[IPERF3_COOKIE_SIZE];
    struct cstream st[MAX_STREAMS];
    size_t nst;
    ust_time_t start, end;
    uint64_t sent, received; /* totals over the streams */
    struct iperf3_cpu cpu;
    struct iperf3_results peer;
    char *sendbuf;
    uint8_t *rxbuf;
};

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: iperf3c [OPTIONS] -c HOST\n"
            "\n"
            "Runs an iperf3 TCP test over ustack against an iperf3 server (iperf3 -s)\n"
            "and prints the sender's and the receiver's throughput.\n"
            "\n"
            "Test options (as iperf3's):\n"
            "  -c, --client HOST     the server's address (required): IPv4 or IPv6,\n"
            "                        192.0.2.1, 2001:db8::1, fe80::1%%tap0, and may\n"
            "                        carry the port: [2001:db8::1]:5201; or a host name,\n"
            "                        asked of --dns or the DHCP lease's servers\n"
            "  -p, --port PORT       the server's port (default %d)\n"
            "  -t, --time SECS       test for SECS seconds (default 10)\n"
            "  -n, --bytes N[KMG]    send N bytes in total instead (K = 1024)\n"
            "  -R, --reverse         the server sends, we receive\n"
            "  -P, --parallel N      N parallel streams (1-%d, default 1)\n"
            "  -l, --length N[KMG]   bytes per write (default 128K)\n"
            "  -J, --json            print the results as JSON\n"
            "\n",
            IPERF3_PORT, IPERF3_MAX_STREAMS);
    app_usage_common_except(out, "tpl");
}

/* N with an optional K, M, G or T (powers of 1024), as iperf3 reads it. */
static int parse_size(const char *arg, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || v <= 0)
        return -1;
    switch (*end) {
    case 'k':
    case 'K':
        v *= 1024.0;
        end++;
        break;
    case 'm':
    case 'M':
        v *= 1024.0 * 1024;
        end++;
        break;
    case 'g':
    case 'G':
        v *= 1024.0 * 1024 * 1024;
        end++;
        break;
    case 't':
    case 'T':
        v *= 1024.0 * 1024 * 1024 * 1024;
        end++;
        break;
    default: break;
    }
    if (*end || v > (double)max || v < 1)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static int parse_uint(const char *arg, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || !*arg || *end || v < min || v > max)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int on_opt(int c, const char *arg, void *ctx)
{
    struct opts *o = ctx;
    uint64_t v;
    unsigned u;
    switch (c) {
    case 'c':
        if (app_peer_is_name(arg)) {
            if (!app_host_ok(arg)) {
                fprintf(stderr, "-c %s: expected an address or a host name\n", arg);
                return -1;
            }
            o->name = arg;
        } else if (app_peer_parse("-c", arg, true, &o->addr) != 0) {
            return -1;
        }
        o->host = arg;
        return 0;
    case 'p':
        if (parse_uint(arg, 1, 65535, &u) != 0) {
            fprintf(stderr, "-p %s: expected a port, 1-65535\n", arg);
            return -1;
        }
        o->port = (uint16_t)u;
        o->port_given = true;
        return 0;
    case 't':
        if (parse_uint(arg, 1, IPERF3_MAX_TIME, &u) != 0) {
            fprintf(stderr, "-t %s: expected seconds, 1-%d\n", arg, IPERF3_MAX_TIME);
            return -1;
        }
        o->prm.duration = u;
        o->time_set = true;
        return 0;
    case 'n':
        if (parse_size(arg, (uint64_t)1 << 50, &v) != 0) {
            fprintf(stderr, "-n %s: expected a number of bytes, like 20M\n", arg);
            return -1;
        }
        o->prm.bytes = v;
        return 0;
    case 'l':
        if (parse_size(arg, IPERF3_MAX_BLKSIZE, &v) != 0) {
            fprintf(stderr, "-l %s: expected 1 to 1M bytes\n", arg);
            return -1;
        }
        o->prm.blksize = (uint32_t)v;
        return 0;
    case 'P':
        if (parse_uint(arg, 1, IPERF3_MAX_STREAMS, &u) != 0) {
            fprintf(stderr, "-P %s: expected 1-%d streams\n", arg, IPERF3_MAX_STREAMS);
            return -1;
        }
        o->prm.parallel = u;
        return 0;
    case 'R': o->prm.reverse = true; return 0;
    case 'J': o->json = true; return 0;
    default: return -1;
    }
}

/* ---- the control connection (blocking, with timeouts) ---- */

static int ctrl_write(void *client, const void *buf, size_t len)
{
    struct client *c = client;
    return ust_send(c->s, c->ctrl, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

static ssize_t ctrl_recv(void *client, void *buf, size_t len)
{
    struct client *c = client;
    return ust_recv(c->s, c->ctrl, buf, len, 0);
}

static int ctrl_read(struct client *c, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = ust_recv(c->s, c->ctrl, p, len, 0);
        if (n == 0)
            errno = ECONNRESET;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Explains a state message that is not the one expected. */
static void unexpected(struct client *c, int8_t state, const char *waiting_for)
{
    if (state == IPERF3_ACCESS_DENIED) {
        fprintf(stderr, "iperf3c: the server is busy running a test; try again later\n");
    } else if (state == IPERF3_SERVER_ERROR) {
        uint8_t b[2 * IPERF3_INT_SIZE];
        if (ctrl_read(c, b, sizeof(b)) != 0) {
            fprintf(stderr, "iperf3c: the server reported an error (unreadable)\n");
            return;
        }
        int ierr = (int)iperf3_get32(b), err = (int)iperf3_get32(b + IPERF3_INT_SIZE);
        const char *text = iperf3_error_text(ierr);
        fprintf(stderr, "iperf3c: the server reported an error: %s (iperf3 error %d)%s%s\n",
                text ? text : "unknown error", ierr, err ? ": " : "", err ? strerror(err) : "");
    } else if (state == IPERF3_SERVER_TERMINATE) {
        fprintf(stderr, "iperf3c: the server terminated the test\n");
    } else {
        fprintf(stderr, "iperf3c: unexpected message %d from the server, waiting for %s\n", state,
                waiting_for);
    }
}

/* Reads one state message and checks it is the one expected. */
static int expect_state(struct client *c, int8_t want, const char *name)
{
    int8_t state;
    if (ctrl_read(c, &state, 1) != 0) {
        fprintf(stderr, "iperf3c: waiting for %s: %s\n", name,
                errno == EAGAIN ? "timed out" : strerror(errno));
        return -1;
    }
    if (state != want) {
        unexpected(c, state, name);
        return -1;
    }
    return 0;
}

/* A JSON message (malloc'ed), or NULL with errno (EAGAIN: timed out). */
static char *read_json(struct client *c, size_t *len)
{
    struct iperf3_json_rx rx = {0};
    if (iperf3_json_recv(&rx, ctrl_recv, c) != 1) {
        int err = errno;
        iperf3_json_rx_reset(&rx);
        errno = err;
        return NULL;
    }
    *len = rx.len;
    return rx.msg;
}

static int connect_to(struct client *c, int *fd)
{
    const struct opts *o = c->o;
    *fd = ust_socket(c->s, o->addr.family, SOCK_STREAM, 0);
    if (*fd < 0 || ust_connect(c->s, *fd, &o->addr.u.sa, o->addr.len) < 0) {
        fprintf(stderr, "iperf3c: connect to %s port %u: %s\n", o->host, o->port, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- the test ---- */

static int setup(struct client *c)
{
    const struct opts *o = c->o;
    if (connect_to(c, &c->ctrl) != 0)
        return -1;
    int one = 1; /* small control messages go out at once, not after an ACK */
    ust_setsockopt(c->s, c->ctrl, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct timeval tv = {.tv_sec = STEP_TIMEOUT_MS / 1000};
    ust_setsockopt(c->s, c->ctrl, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ust_setsockopt(c->s, c->ctrl, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    iperf3_make_cookie(c->cookie);
    if (ctrl_write(c, c->cookie, IPERF3_COOKIE_SIZE) != 0) {
        fprintf(stderr, "iperf3c: sending the cookie: %s\n", strerror(errno));
        return -1;
    }
    if (expect_state(c, IPERF3_PARAM_EXCHANGE, "PARAM_EXCHANGE") != 0)
        return -1;
    size_t len;
    char *json = iperf3_params_build(&o->prm, &len);
    int rc = json ? iperf3_json_send(ctrl_write, c, json, len) : -1;
    free(json);
    if (rc != 0) {
        fprintf(stderr, "iperf3c: sending the parameters failed\n");
        return -1;
    }
    if (expect_state(c, IPERF3_CREATE_STREAMS, "CREATE_STREAMS") != 0)
        return -1;
    /* One after the other, each announcing itself with the cookie: the
     * server numbers them in this order. */
    c->nst = o->prm.parallel;
    for (size_t i = 0; i < c->nst; i++) {
        struct cstream *st = &c->st[i];
        st->id = iperf3_stream_id((unsigned)i);
        st->sender = !o->prm.reverse;
        if (connect_to(c, &st->fd) != 0)
            return -1;
        if (ust_send(c->s, st->fd, c->cookie, IPERF3_COOKIE_SIZE, MSG_NOSIGNAL) !=
                IPERF3_COOKIE_SIZE ||
            ust_fcntl(c->s, st->fd, F_SETFL, O_NONBLOCK) < 0) {
            fprintf(stderr, "iperf3c: setting up stream %d: %s\n", st->id, strerror(errno));
            return -1;
        }
    }
    if (expect_state(c, IPERF3_TEST_START, "TEST_START") != 0 ||
        expect_state(c, IPERF3_TEST_RUNNING, "TEST_RUNNING") != 0)
        return -1;
    return 0;
}

/* Reads what a receiving stream has. -1 on an error during the test. */
static int receive(struct client *c, struct cstream *st, ust_time_t now, bool running)
{
    for (int i = 0; i < 16; i++) {
        ssize_t n = ust_recv(c->s, st->fd, c->rxbuf, RXBUF, 0);
        if (n > 0) {
            st->bytes += (uint64_t)n;
            c->received += (uint64_t)n;
            st->last_rx = now;
            continue;
        }
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0 && running) {
            fprintf(stderr, "iperf3c: stream %d: %s\n", st->id, strerror(errno));
            return -1;
        }
        st->closed = true;
        return 0;
    }
    return 0;
}

static int transmit(struct client *c, struct cstream *st)
{
    const struct iperf3_params *p = &c->o->prm;
    for (int i = 0; i < 16; i++) {
        size_t len = p->blksize;
        if (p->bytes) {
            if (c->sent >= p->bytes)
                return 0;
            if (p->bytes - c->sent < len)
                len = (size_t)(p->bytes - c->sent);
        }
        ssize_t n = ust_send(c->s, st->fd, c->sendbuf, len, MSG_NOSIGNAL);
        if (n > 0) {
            st->bytes += (uint64_t)n;
            c->sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && errno == EAGAIN)
            return 0;
        fprintf(stderr, "iperf3c: stream %d: %s\n", st->id, n < 0 ? strerror(errno) : "closed");
        return -1;
    }
    return 0;
}

static bool test_over(const struct client *c, ust_time_t now)
{
    const struct iperf3_params *p = &c->o->prm;
    if (p->bytes)
        return p->reverse ? c->received >= p->bytes : c->sent >= p->bytes;
    return now >= c->start + p->duration * SEC;
}

/* Polls the control connection and the streams; in the test, data moves
 * both ways; afterwards, receiving streams are drained until the server
 * speaks. Returns the state byte read, or -3 on an error, -4 when the test
 * is over (running only). */
static int pump(struct client *c, bool running)
{
    struct pollfd pfd[1 + MAX_STREAMS];
    size_t idx[1 + MAX_STREAMS];
    for (;;) {
        ust_time_t now = ust_clock_now();
        if (running && test_over(c, now))
            return -4;
        size_t n = 0;
        pfd[n++] = (struct pollfd){.fd = c->ctrl, .events = POLLIN};
        for (size_t i = 0; i < c->nst; i++) {
            struct cstream *st = &c->st[i];
            if (st->closed)
                continue;
            short ev = st->sender ? (running ? POLLOUT : 0) : POLLIN;
            if (!ev)
                continue;
            idx[n] = i;
            pfd[n++] = (struct pollfd){.fd = st->fd, .events = ev};
        }
        int timeout = STEP_TIMEOUT_MS;
        if (running && !c->o->prm.bytes) {
            ust_time_t end = c->start + c->o->prm.duration * SEC;
            timeout = end > now ? (int)((end - now + 999) / 1000) : 0;
        }
        int r = ust_poll(c->s, pfd, n, timeout);
        if (r < 0)
            return -3;
        if (r == 0 && !running) {
            fprintf(stderr, "iperf3c: the server did not answer within %d s\n",
                    STEP_TIMEOUT_MS / 1000);
            return -3;
        }
        now = ust_clock_now();
        for (size_t k = 1; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            struct cstream *st = &c->st[idx[k]];
            if ((st->sender ? transmit(c, st) : receive(c, st, now, running)) != 0)
                return -3;
        }
        if (pfd[0].revents) {
            int8_t state;
            if (ctrl_read(c, &state, 1) != 0) {
                fprintf(stderr, "iperf3c: the server closed the control connection\n");
                return -3;
            }
            return state;
        }
    }
}

static int run(struct client *c)
{
    const struct iperf3_params *p = &c->o->prm;
    c->start = ust_clock_now();
    iperf3_cpu_start(&c->cpu);
    int r = pump(c, true);
    if (r != -4) {
        if (r >= -2)
            unexpected(c, (int8_t)r, "the end of the test");
        return -1;
    }
    c->end = ust_clock_now();
    int8_t end = IPERF3_TEST_END;
    if (ctrl_write(c, &end, 1) != 0) {
        fprintf(stderr, "iperf3c: sending TEST_END: %s\n", strerror(errno));
        return -1;
    }
    /* Keep reading what the server sent before it saw TEST_END. */
    r = pump(c, false);
    if (r != IPERF3_EXCHANGE_RESULTS) {
        if (r >= -2)
            unexpected(c, (int8_t)r, "EXCHANGE_RESULTS");
        return -1;
    }
    struct iperf3_results *mine = calloc(1, sizeof(*mine));
    if (!mine)
        return -1;
    iperf3_cpu_read(&c->cpu, &mine->cpu_total, &mine->cpu_user, &mine->cpu_system);
    mine->sender_has_retransmits = p->reverse ? -1 : 0;
    for (size_t i = 0; i < c->nst; i++) {
        const struct cstream *st = &c->st[i];
        ust_time_t e = !st->sender && st->last_rx > c->end ? st->last_rx : c->end;
        mine->streams[i] = (struct iperf3_stream_result){.id = st->id,
                                                         .bytes = st->bytes,
                                                         .retransmits = -1,
                                                         .end_time = (double)(e - c->start) / 1e6};
    }
    mine->nstreams = c->nst;
    size_t len;
    char *json = iperf3_results_build(mine, &len);
    free(mine);
    int rc = json ? iperf3_json_send(ctrl_write, c, json, len) : -1;
    free(json);
    if (rc != 0) {
        fprintf(stderr, "iperf3c: sending our results failed\n");
        return -1;
    }
    json = read_json(c, &len);
    if (!json) {
        fprintf(stderr, "iperf3c: reading the server's results: %s\n", strerror(errno));
        return -1;
    }
    char why[160];
    rc = iperf3_results_parse(json, len, &c->peer, why, sizeof(why));
    free(json);
    if (rc != 0) {
        fprintf(stderr, "iperf3c: the server's results: %s\n", why);
        return -1;
    }
    if (expect_state(c, IPERF3_DISPLAY_RESULTS, "DISPLAY_RESULTS") != 0)
        return -1;
    /* Done: close the streams, then say so. */
    for (size_t i = 0; i < c->nst; i++) {
        ust_close(c->s, c->st[i].fd);
        c->st[i].fd = -1;
    }
    int8_t done = IPERF3_IPERF_DONE;
    ctrl_write(c, &done, 1);
    return 0;
}

/* ---- the report ---- */

struct side {
    uint64_t bytes;
    double seconds;
};

/* One stream's two sides: ours from our counts, the server's from its
 * results (matched by id). */
static void stream_sides(const struct client *c, const struct cstream *st, struct side *sender,
                         struct side *receiver)
{
    ust_time_t e = !st->sender && st->last_rx > c->end ? st->last_rx : c->end;
    struct side mine = {st->bytes, (double)(e - c->start) / 1e6}, theirs = {0, 0};
    for (size_t i = 0; i < c->peer.nstreams; i++)
        if (c->peer.streams[i].id == st->id)
            theirs = (struct side){c->peer.streams[i].bytes,
                                   c->peer.streams[i].end_time - c->peer.streams[i].start_time};
    *sender = st->sender ? mine : theirs;
    *receiver = st->sender ? theirs : mine;
}

static double bps(struct side s) { return s.seconds > 0 ? s.bytes * 8.0 / s.seconds : 0; }

static void human_bytes(uint64_t b, char *out, size_t n)
{
    static const char *const unit[] = {"Bytes", "KBytes", "MBytes", "GBytes", "TBytes"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, n, "%.*f %s", u == 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0, v, unit[u]);
}

static void human_rate(double bits, char *out, size_t n)
{
    static const char *const unit[] = {"bits/sec", "Kbits/sec", "Mbits/sec", "Gbits/sec",
                                       "Tbits/sec"};
    int u = 0;
    while (bits >= 1000 && u < 4) {
        bits /= 1000;
        u++;
    }
    snprintf(out, n, "%.*f %s", bits < 10 ? 2 : bits < 100 ? 1 : 0, bits, unit[u]);
}

static void print_line(const char *id, struct side s, const char *role)
{
    char b[32], r[32];
    human_bytes(s.bytes, b, sizeof(b));
    human_rate(bps(s), r, sizeof(r));
    printf("[%3s]   0.00-%-6.2f sec  %12s  %14s  %s\n", id, s.seconds, b, r, role);
}

static void report_text(const struct client *c)
{
    const struct iperf3_params *p = &c->o->prm;
    printf("iperf3c: TCP test with %s port %u: %u stream(s), %s, ", c->o->host, c->o->port,
           p->parallel, p->reverse ? "the server sends" : "we send");
    if (p->bytes)
        printf("%llu bytes\n", (unsigned long long)p->bytes);
    else
        printf("%u s\n", p->duration);
    printf("[ ID] Interval            Transfer        Bitrate\n");
    struct side sum_s = {0, 0}, sum_r = {0, 0};
    for (size_t i = 0; i < c->nst; i++) {
        struct side s, r;
        stream_sides(c, &c->st[i], &s, &r);
        char id[8];
        snprintf(id, sizeof(id), "%d", c->st[i].id);
        if (c->nst > 1) {
            print_line(id, s, "sender");
            print_line(id, r, "receiver");
        }
        sum_s.bytes += s.bytes;
        sum_r.bytes += r.bytes;
        sum_s.seconds = fmax(sum_s.seconds, s.seconds);
        sum_r.seconds = fmax(sum_r.seconds, r.seconds);
    }
    print_line(c->nst > 1 ? "SUM" : "1", sum_s, "sender");
    print_line(c->nst > 1 ? "SUM" : "1", sum_r, "receiver");
    char a[32], b[32];
    human_rate(bps(sum_s), a, sizeof(a));
    human_rate(bps(sum_r), b, sizeof(b));
    printf("sender: %s (%llu bytes in %.2f s), receiver: %s (%llu bytes in %.2f s)\n", a,
           (unsigned long long)sum_s.bytes, sum_s.seconds, b, (unsigned long long)sum_r.bytes,
           sum_r.seconds);
}

static void put_side(struct json_writer *w, const char *key, struct side s, bool sender)
{
    json_begin_object(w, key);
    json_put_double(w, "start", 0);
    json_put_double(w, "end", s.seconds);
    json_put_double(w, "seconds", s.seconds);
    json_put_uint(w, "bytes", s.bytes);
    json_put_double(w, "bits_per_second", bps(s));
    json_put_bool(w, "sender", sender);
    json_end_object(w);
}

/* The parts of iperf3's -J output that describe the test and its totals. */
static int report_json(const struct client *c)
{
    const struct iperf3_params *p = &c->o->prm;
    struct json_writer w;
    json_writer_init(&w, true);
    json_begin_object(&w, NULL);
    json_begin_object(&w, "start");
    json_begin_object(&w, "connecting_to");
    json_put_string(&w, "host", c->o->host);
    json_put_uint(&w, "port", c->o->port);
    json_end_object(&w);
    json_put_string(&w, "cookie", c->cookie);
    json_begin_object(&w, "test_start");
    json_put_string(&w, "protocol", "TCP");
    json_put_uint(&w, "num_streams", p->parallel);
    json_put_uint(&w, "blksize", p->blksize);
    json_put_uint(&w, "omit", 0);
    json_put_uint(&w, "duration", p->duration);
    json_put_uint(&w, "bytes", p->bytes);
    json_put_uint(&w, "blocks", 0);
    json_put_uint(&w, "reverse", p->reverse ? 1 : 0);
    json_end_object(&w);
    json_end_object(&w);
    json_begin_object(&w, "end");
    json_begin_array(&w, "streams");
    struct side sum_s = {0, 0}, sum_r = {0, 0};
    for (size_t i = 0; i < c->nst; i++) {
        struct side s, r;
        stream_sides(c, &c->st[i], &s, &r);
        json_begin_object(&w, NULL);
        json_put_int(&w, "id", c->st[i].id);
        put_side(&w, "sender", s, true);
        put_side(&w, "receiver", r, false);
        json_end_object(&w);
        sum_s.bytes += s.bytes;
        sum_r.bytes += r.bytes;
        sum_s.seconds = fmax(sum_s.seconds, s.seconds);
        sum_r.seconds = fmax(sum_r.seconds, r.seconds);
    }
    json_end_array(&w);
    put_side(&w, "sum_sent", sum_s, true);
    put_side(&w, "sum_received", sum_r, false);
    json_begin_object(&w, "cpu_utilization_percent");
    json_put_double(&w, "remote_total", c->peer.cpu_total);
    json_end_object(&w);
    if (c->peer.congestion_used[0])
        json_put_string(&w, "receiver_tcp_congestion", c->peer.congestion_used);
    json_end_object(&w);
    json_end_object(&w);
    char *text = json_finish(&w, NULL);
    if (!text)
        return -1;
    printf("%s\n", text);
    free(text);
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.port = IPERF3_PORT};
    o.prm.parallel = 1;
    o.prm.duration = 10;
    o.prm.blksize = IPERF3_DEFAULT_BLKSIZE;
    static const struct option own_long[] = {
        {"client", required_argument, NULL, 'c'},
        {"port", required_argument, NULL, 'p'},
        {"time", required_argument, NULL, 't'},
        {"bytes", required_argument, NULL, 'n'},
        {"reverse", no_argument, NULL, 'R'},
        {"parallel", required_argument, NULL, 'P'},
        {"length", required_argument, NULL, 'l'},
        {"json", no_argument, NULL, 'J'},
        {NULL, 0, NULL, 0},
    };
    struct app_opts ao;
    int r = app_parse(argc, argv, &ao, "c:p:t:n:RP:l:J", own_long, on_opt, &o);
    if (r == 0 && optind < argc) {
        fprintf(stderr, "iperf3c: unexpected argument '%s'\n", argv[optind]);
        r = -1;
    }
    if (r == 0 && !o.host) {
        fprintf(stderr, "iperf3c: -c HOST is required\n");
        r = -1;
    }
    if (r == 0 && app_peer_check_scope("-c", &o.addr, &ao) != 0)
        r = -1;
    if (r == 0 && o.addr.port_set) {
        uint16_t joined = ntohs(o.addr.u.v6.sin6_port); /* the same offset in both */
        if (o.port_given && joined != o.port) {
            fprintf(stderr, "iperf3c: -c %s carries port %u, -p says %u: give one\n", o.host,
                    joined, o.port);
            r = -1;
        }
        o.port = joined;
    }
    if (r == 0 && !o.name) {
        struct in6_addr a;
        uint16_t ignored;
        app_peer_default_port(&o.addr, o.port);
        app_sockaddr_get(&o.addr.u.sa, &a, &ignored);
        app_addr_format(&a, o.host_text);
        if (o.addr.scope[0])
            snprintf(o.host_text + strlen(o.host_text), sizeof(o.host_text) - strlen(o.host_text),
                     "%%%s", o.addr.scope);
        o.host = o.host_text;
    }
    if (r == 0 && o.time_set && o.prm.bytes) {
        fprintf(stderr, "iperf3c: give -t or -n, not both\n");
        r = -1;
    }
    if (r != 0) {
        usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    if (o.prm.bytes)
        o.prm.duration = 0; /* as iperf3: -n alone ends the test, not the clock */

    struct client c = {.o = &o, .ctrl = -1};
    c.sendbuf = malloc(o.prm.blksize);
    c.rxbuf = malloc(RXBUF);
    if (!c.sendbuf || !c.rxbuf) {
        fprintf(stderr, "iperf3c: out of memory\n");
        free(c.sendbuf);
        free(c.rxbuf);
        return 1;
    }
    for (uint32_t i = 0; i < o.prm.blksize; i++)
        c.sendbuf[i] = (char)('a' + i % 26);
    /* No signalfd: Ctrl-C and timeout(1) end the client at once. */
    struct ust_runtime *rt;
    if (app_stack_up(&ao, &c.s, &rt) != 0)
        return 1;
    int rc = 1;
    if (o.name && app_peer_resolve(c.s, o.name, o.port, &o.addr) != 0)
        o.addr.family = 0; /* said why; no test */
    if (o.addr.family && (o.addr.family != AF_INET6 || app_wait_ipv6(c.s, rt, &ao) == 0) &&
        setup(&c) == 0 && run(&c) == 0)
        rc = o.json ? (report_json(&c) == 0 ? 0 : 1) : (report_text(&c), 0);
    fflush(stdout);
    for (size_t i = 0; i < c.nst; i++)
        if (c.st[i].fd >= 0)
            ust_close(c.s, c.st[i].fd);
    if (c.ctrl >= 0)
        ust_close(c.s, c.ctrl);
    app_stack_down(c.s, rt);
    free(c.sendbuf);
    free(c.rxbuf);
    return rc;
}
