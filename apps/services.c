/* echo, discard and chargen over UDP and TCP. By default (rtc) every
 * service runs on the stack thread: a UDP service is a handler that
 * answers each datagram as the batch that brought it ends, a TCP service
 * runs the service loop (svcloop.c) as handlers. Otherwise a UDP service
 * is one thread in blocking calls and a TCP service one thread running the
 * loop over ust_poll.
 *
 * An idle TCP connection costs the service its small struct: reads go to
 * the loop's scratch buffer, chargen makes its pattern there, and echo
 * keeps a buffer only for bytes the peer has not yet taken back.
 *
 * Timeouts: discard has none by default. Accepting data for ever is its
 * whole point, an idle connection costs little here, and its connection
 * limit, not a timeout, is what keeps it from crowding out the others.
 * Echo and chargen drop a connection whose peer takes nothing we send for
 * the send timeout (a peer that never reads would otherwise pin our data
 * and the stack's send buffer); --idle-timeout adds an idle timeout to all
 * three. */
#include "services.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "iperf3.h"
#include "svcloop.h"

#define IO_ROUNDS 64 /* reads or writes per connection per wakeup */
/* The listen backlog: connections the stack completes before we accept
 * them (nginx's default on Linux); the loop accepts in batches of 256. */
#define SVC_BACKLOG 511

/* RFC 864's pattern: lines of 72 printable characters (the 95 from ' ' to
 * '~' in a cycle), each starting one character later than the one before,
 * ending in CRLF. After 95 lines it repeats: a cycle of CHARGEN_CYCLE bytes. */
#define CHARGEN_LINE 74
#define CHARGEN_CYCLE (95 * CHARGEN_LINE)

struct client {
    struct svcloop_conn base;
    uint8_t *pending; /* echo: bytes read, not yet written back (or NULL) */
    size_t pending_len, off;
    uint32_t chargen_pos; /* chargen: where in the cycle the next byte is */
    ust_time_t last_io;   /* bytes last moved either way */
    ust_time_t stalled;   /* since when we have had bytes the peer would not take (0: none) */
};

/* The answer to one datagram (echo: itself; chargen: RFC 864's datagram
 * of random length, 0-512; discard: none). */
static void udp_answer(struct service *svc, uint8_t *buf, ssize_t n, const struct sockaddr *from,
                       socklen_t fl)
{
    if (svc->kind == SVC_ECHO) {
        ust_sendto(svc->s, svc->fd, buf, (size_t)n, 0, from, fl);
    } else if (svc->kind == SVC_CHARGEN) {
        size_t len = (size_t)(n % 513);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(' ' + (i % 95));
        ust_sendto(svc->s, svc->fd, buf, len, 0, from, fl);
    }
}

/* On the stack thread: every datagram queued, up to IO_ROUNDS (then again
 * next round: the others wait). */
static void udp_ready(struct ust_stack *s, int fd, short revents, void *arg)
{
    (void)revents;
    struct service *svc = arg;
    for (int i = 0; i < IO_ROUNDS; i++) {
        struct sockaddr_in6 from; /* a sockaddr_in if ipv4_only */
        socklen_t fl = sizeof(from);
        ssize_t n = ust_recvfrom(s, fd, svc->udp_buf, 65536, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == EAGAIN || errno == EBADF)
                return;
            continue; /* e.g. a pending ICMP error */
        }
        udp_answer(svc, svc->udp_buf, n, (struct sockaddr *)&from, fl);
    }
    ust_on_ready(s, fd, POLLIN, udp_ready, svc);
}

static void *udp_main(void *arg)
{
    struct service *svc = arg;
    uint8_t *buf = malloc(65536);
    if (!buf)
        return NULL;
    for (;;) {
        struct sockaddr_in6 from; /* a sockaddr_in if ipv4_only */
        socklen_t fl = sizeof(from);
        ssize_t n = ust_recvfrom(svc->s, svc->fd, buf, 65536, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == EBADF)
                break; /* closed: shutting down */
            continue;  /* e.g. a pending ICMP error */
        }
        udp_answer(svc, buf, n, (struct sockaddr *)&from, fl);
    }
    free(buf);
    return NULL;
}

/* Fills buf with len bytes of the pattern from byte pos of the cycle.
 * Line k is the 72 characters from the k-th of the 95 written twice. */
static void chargen_fill(uint8_t *buf, size_t len, uint32_t pos)
{
    char twice[2 * 95];
    for (int i = 0; i < 2 * 95; i++)
        twice[i] = (char)(' ' + i % 95);
    for (size_t n = 0; n < len;) {
        uint32_t line = pos / CHARGEN_LINE, col = pos % CHARGEN_LINE;
        char text[CHARGEN_LINE];
        memcpy(text, twice + line, 72);
        text[72] = '\r';
        text[73] = '\n';
        size_t take = CHARGEN_LINE - col < len - n ? CHARGEN_LINE - col : len - n;
        memcpy(buf + n, text + col, take);
        n += take;
        pos = (pos + (uint32_t)take) % CHARGEN_CYCLE;
    }
}

/* The deadline: the idle timeout from the last bytes moved, the send
 * timeout from when the peer stopped taking them. */
static void client_deadline(struct service *svc, struct client *c)
{
    ust_time_t d = 0;
    if (svc->lim.idle_timeout)
        d = c->last_io + svc->lim.idle_timeout;
    if (c->stalled && svc->lim.send_timeout && (!d || c->stalled + svc->lim.send_timeout < d))
        d = c->stalled + svc->lim.send_timeout;
    c->base.deadline = d;
}

static enum svcloop_verdict tcp_open(struct svcloop *l, struct svcloop_conn *base, ust_time_t now)
{
    struct client *c = (struct client *)base;
    c->last_io = now;
    if (svcloop_service(l)->kind == SVC_CHARGEN)
        c->stalled = now; /* it has bytes to send from the start */
    client_deadline(svcloop_service(l), c);
    return SVL_KEEP;
}

static short tcp_events(const struct svcloop *l, const struct svcloop_conn *base)
{
    const struct client *c = (const struct client *)base;
    if (c->pending)
        return POLLOUT; /* echo: nothing more read until the peer takes this */
    return svcloop_service(l)->kind == SVC_CHARGEN ? (POLLIN | POLLOUT) : POLLIN;
}

/* Sends from buf; false on an error that ends the connection. */
static bool send_some(struct ust_stack *s, struct client *c, const uint8_t *buf, size_t len,
                      size_t *sent, ust_time_t now)
{
    ssize_t w = ust_send(s, c->base.fd, buf, len, MSG_NOSIGNAL);
    *sent = w > 0 ? (size_t)w : 0;
    if (w < 0 && errno != EAGAIN)
        return false;
    if (w > 0)
        c->last_io = now;
    /* The stall clock runs while the peer leaves bytes with us; any
     * progress starts it again. */
    c->stalled = *sent == len ? 0 : (w > 0 || !c->stalled) ? now : c->stalled;
    return true;
}

/* One readiness event. */
static enum svcloop_verdict tcp_serve(struct svcloop *l, struct svcloop_conn *base, short revents,
                                      ust_time_t now)
{
    struct service *svc = svcloop_service(l);
    struct ust_stack *s = svc->s;
    struct client *c = (struct client *)base;
    uint8_t *buf = svcloop_scratch(l);
    if (revents & (POLLERR | POLLNVAL))
        return SVL_CLOSE;
    for (int rounds = 0; rounds < IO_ROUNDS; rounds++) {
        size_t sent = 0;
        if (c->pending) { /* echo: what the peer has not taken back yet */
            if (!send_some(s, c, c->pending + c->off, c->pending_len - c->off, &sent, now))
                return SVL_CLOSE;
            c->off += sent;
            if (c->off < c->pending_len)
                break;
            free(c->pending);
            c->pending = NULL;
        }
        if (svc->kind == SVC_CHARGEN) {
            chargen_fill(buf, SVCLOOP_SCRATCH, c->chargen_pos);
            if (!send_some(s, c, buf, SVCLOOP_SCRATCH, &sent, now))
                return SVL_CLOSE;
            c->chargen_pos = (uint32_t)((c->chargen_pos + sent) % CHARGEN_CYCLE);
        }
        ssize_t r = ust_recv(s, c->base.fd, buf, SVCLOOP_SCRATCH, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN))
            return SVL_CLOSE; /* EOF (echo has nothing left to send) or an error */
        if (r < 0) {
            if (svc->kind != SVC_CHARGEN || sent == 0)
                break;
            continue; /* chargen: the peer is still taking bytes */
        }
        c->last_io = now;
        if (svc->kind == SVC_ECHO) {
            if (!send_some(s, c, buf, (size_t)r, &sent, now))
                return SVL_CLOSE;
            if (sent < (size_t)r) {
                /* Keep the rest until the peer takes it: only now does
                 * the connection hold a buffer. */
                c->pending_len = (size_t)r - sent;
                c->pending = malloc(c->pending_len);
                if (!c->pending)
                    return SVL_RESET;
                memcpy(c->pending, buf + sent, c->pending_len);
                c->off = 0;
                break;
            }
        }
    }
    client_deadline(svc, c);
    return SVL_KEEP;
}

static enum svcloop_verdict tcp_expire(struct svcloop *l, struct svcloop_conn *base, ust_time_t now)
{
    struct service *svc = svcloop_service(l);
    struct client *c = (struct client *)base;
    bool send = c->stalled && svc->lim.send_timeout && now >= c->stalled + svc->lim.send_timeout;
    svc_count(svc, send ? SVC_TIMEOUT_SEND : SVC_TIMEOUT_IDLE, 1);
    app_logf(UST_LOG_DEBUG, "%s: %s: %s", svc->name, svcloop_peer(l, base),
             send ? "the peer took nothing for the send timeout: reset" : "idle timeout: closed");
    /* Unsent bytes would keep the connection alive in the stack: a RST
     * frees it at once. */
    return send ? SVL_RESET : SVL_CLOSE;
}

static void tcp_release(struct svcloop *l, struct svcloop_conn *base)
{
    (void)l;
    free(((struct client *)base)->pending);
}

static const struct svcloop_ops tcp_ops = {
    .conn_size = sizeof(struct client),
    .open = tcp_open,
    .events = tcp_events,
    .serve = tcp_serve,
    .expire = tcp_expire,
    .release = tcp_release,
    /* No refusal to say in these protocols: over a limit, a RST. */
};

static void *tcp_main(void *arg)
{
    svcloop_run(arg, &tcp_ops, NULL);
    return NULL;
}

/* Appends " (limits: ...)" for the start-up line: what an operator tuning
 * the options wants to see in effect. */
static void describe_limits(const struct service *svc, char *out, size_t len)
{
    const struct svc_limits *l = &svc->lim;
    const struct {
        const char *what;
        ust_time_t t;
    } timeouts[] = {
        {"header", l->header_timeout},
        {svc->kind == SVC_IPERF3 ? "step" : "request", l->request_timeout},
        {"idle", l->idle_timeout},
        {"send", l->send_timeout},
    };
    size_t n = 0;
    char conns[16] = "any number of";
    if (l->max_conns)
        snprintf(conns, sizeof(conns), "%u", l->max_conns);
    if (svc->kind != SVC_IPERF3)
        n += (size_t)snprintf(out + n, len - n, " (%s connections", conns);
    else
        n += (size_t)snprintf(out + n, len - n, " (one test at a time");
    if (l->max_per_addr && n < len)
        n += (size_t)snprintf(out + n, len - n, ", %u per address", l->max_per_addr);
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]) && n < len; i++)
        if (timeouts[i].t)
            n += (size_t)snprintf(out + n, len - n, ", %s timeout %g s", timeouts[i].what,
                                  (double)timeouts[i].t / SVC_SEC);
    if (n < len)
        snprintf(out + n, len - n, ")");
}

int service_start(struct service *svc, struct ust_stack *s)
{
    svc->s = s;
    if (svc->kind == SVC_HTTP && http_init(svc) != 0)
        return -1;
    /* One socket for both families: an IPv6 socket bound to :: without
     * IPV6_V6ONLY (the default) also takes IPv4 (RFC 3493 3.7), as Linux's
     * do. */
    union {
        struct sockaddr sa;
        struct sockaddr_in v4;
        struct sockaddr_in6 v6;
    } any;
    memset(&any, 0, sizeof(any));
    socklen_t anylen;
    if (svc->ipv4_only) {
        any.v4.sin_family = AF_INET;
        any.v4.sin_port = htons(svc->port);
        anylen = sizeof(any.v4);
    } else {
        any.v6.sin6_family = AF_INET6;
        any.v6.sin6_port = htons(svc->port);
        any.v6.sin6_addr = in6addr_any;
        anylen = sizeof(any.v6);
    }
    svc->fd = ust_socket(s, svc->ipv4_only ? AF_INET : AF_INET6, svc->type, 0);
    int one = 1;
    bool tcp = svc->type == SOCK_STREAM;
    if (svc->fd < 0 ||
        (tcp && ust_setsockopt(s, svc->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
        ust_bind(s, svc->fd, &any.sa, anylen) < 0 ||
        (tcp && (ust_listen(s, svc->fd, SVC_BACKLOG) < 0 ||
                 ust_fcntl(s, svc->fd, F_SETFL, O_NONBLOCK) < 0))) {
        app_logf(UST_LOG_ERROR, "service %s: cannot serve %s port %u: %s", svc->name,
                 tcp ? "TCP" : "UDP", svc->port, strerror(errno));
        if (svc->kind == SVC_HTTP)
            http_fini(svc);
        return -1;
    }
    int started;
    if (svc->rtc && svc->kind == SVC_IPERF3) {
        svc->iperf3 = iperf3_start(svc);
        started = svc->iperf3 ? 0 : -1;
    } else if (svc->rtc && !tcp) {
        svc->udp_buf = malloc(65536);
        started = svc->udp_buf && ust_on_ready(s, svc->fd, POLLIN, udp_ready, svc) == 0 ? 0 : -1;
    } else if (svc->rtc) {
        svc->loop = svcloop_start(svc, svc->kind == SVC_HTTP ? http_ops() : &tcp_ops, NULL);
        started = svc->loop ? 0 : -1;
    } else {
        void *(*main_fn)(void *) = svc->kind == SVC_HTTP     ? http_main
                                   : svc->kind == SVC_IPERF3 ? iperf3_main
                                   : tcp                     ? tcp_main
                                                             : udp_main;
        started = pthread_create(&svc->thread, NULL, main_fn, svc) == 0 ? 0 : -1;
    }
    if (started != 0) {
        app_logf(UST_LOG_ERROR, "service %s: cannot start", svc->name);
        ust_close(s, svc->fd);
        free(svc->udp_buf);
        svc->udp_buf = NULL;
        if (svc->kind == SVC_HTTP)
            http_fini(svc);
        return -1;
    }
    svc->running = true;
    char lim[200] = "";
    if (tcp)
        describe_limits(svc, lim, sizeof(lim));
    app_logf(UST_LOG_INFO, "service %s: listening on %s port %u, %s%s%s", svc->name,
             tcp ? "TCP" : "UDP", svc->port, svc->ipv4_only ? "IPv4" : "IPv4 and IPv6", lim,
             svc->rtc ? ", on the stack thread" : "");
    return 0;
}

void service_stop(struct service *svc)
{
    if (!svc->running)
        return;
    if (svc->loop) {
        svcloop_stop(svc->loop); /* the stack thread closes it all */
        svc->loop = NULL;
    } else if (svc->iperf3) {
        iperf3_stop(svc->iperf3);
        svc->iperf3 = NULL;
    } else {
        ust_close(svc->s, svc->fd); /* blocked calls return EBADF / POLLNVAL; a handler goes */
        if (!svc->rtc)
            pthread_join(svc->thread, NULL);
        free(svc->udp_buf); /* its handler can no longer run */
        svc->udp_buf = NULL;
    }
    svc->running = false;
    if (svc->kind == SVC_HTTP)
        http_fini(svc);
}

void service_print_counters(struct service *svc, FILE *out)
{
    static const char *const names[SVC_NCOUNTERS] = {
        [SVC_ACCEPTED] = "accepted",
        [SVC_REFUSED_LIMIT] = "refused_limit",
        [SVC_REFUSED_PER_ADDR] = "refused_per_addr",
        [SVC_ACCEPT_FAILED] = "accept_failed",
        [SVC_TIMEOUT_IDLE] = "timeout_idle",
        [SVC_TIMEOUT_HEADER] = "timeout_header",
        [SVC_TIMEOUT_REQUEST] = "timeout_request",
        [SVC_TIMEOUT_SEND] = "timeout_send",
        [SVC_CONNS] = "conns",
        [SVC_CONNS_PEAK] = "conns_peak",
    };
    const char *slash = strchr(svc->name, '/');
    const char *name = slash ? slash + 1 : svc->name;
    for (int i = 0; i < SVC_NCOUNTERS; i++) {
        uint64_t v = atomic_load_explicit(&svc->count[i], memory_order_relaxed);
        if (v)
            fprintf(out, "%s.%s=%llu\n", name, names[i], (unsigned long long)v);
    }
}
