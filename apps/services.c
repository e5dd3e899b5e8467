/* echo, discard and chargen over UDP and TCP. A UDP service is one thread
 * in blocking calls; a TCP service is one thread multiplexing its listener
 * and every connection with ust_poll, so it serves many at once. */
#include "services.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "http.h"
#include "iperf3.h"

#define TCP_MAX_CLIENTS 1024
#define IOBUF 16384

struct client {
    int fd;
    size_t pending, off;    /* echo: bytes read, not yet written back */
    unsigned chargen_pos;   /* chargen: where the rotating pattern is */
    uint8_t buf[IOBUF];
};

static void *udp_main(void *arg)
{
    struct service *svc = arg;
    uint8_t *buf = malloc(65536);
    if (!buf)
        return NULL;
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = ust_recvfrom(svc->s, svc->fd, buf, 65536, 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == EBADF)
                break; /* closed: shutting down */
            continue;  /* e.g. a pending ICMP error */
        }
        if (svc->kind == SVC_ECHO)
            ust_sendto(svc->s, svc->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        else if (svc->kind == SVC_CHARGEN) {
            /* RFC 864: a datagram of random length (0-512) in reply. */
            size_t len = (size_t)(n % 513);
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)(' ' + (i % 95));
            ust_sendto(svc->s, svc->fd, buf, len, 0, (struct sockaddr *)&from, fl);
        }
    }
    free(buf);
    return NULL;
}

/* RFC 864's pattern: lines of 72 printable characters (the 95 from ' ' to
 * '~' in a cycle), each starting one character later than the one before.
 * Lines are copied out of the cycle written twice, so no line wraps. */
static size_t chargen_fill(struct client *c)
{
    char cycle[190];
    for (int i = 0; i < 190; i++)
        cycle[i] = (char)(' ' + i % 95);
    size_t n = 0;
    while (n + 74 <= IOBUF) {
        memcpy(c->buf + n, cycle + c->chargen_pos, 72);
        c->buf[n + 72] = '\r';
        c->buf[n + 73] = '\n';
        n += 74;
        c->chargen_pos = (c->chargen_pos + 1) % 95;
    }
    return n;
}

/* Serves one readiness event; false when the connection is done. */
static bool serve_client(struct service *svc, struct client *c, short revents)
{
    struct ust_stack *s = svc->s;
    if (revents & (POLLERR | POLLNVAL))
        return false;
    for (int rounds = 0; rounds < 64; rounds++) {
        bool progress = false;
        if (c->pending == 0 || svc->kind != SVC_ECHO) {
            uint8_t tmp[IOBUF];
            uint8_t *dst = svc->kind == SVC_ECHO ? c->buf : tmp;
            ssize_t r = ust_recv(s, c->fd, dst, IOBUF, 0);
            if (r == 0)
                return svc->kind == SVC_CHARGEN ? false : (c->pending > 0); /* EOF */
            if (r < 0 && errno != EAGAIN)
                return false;
            if (r > 0) {
                progress = true;
                if (svc->kind == SVC_ECHO) {
                    c->pending = (size_t)r;
                    c->off = 0;
                }
            }
        }
        if (svc->kind == SVC_CHARGEN && c->pending == 0) {
            c->pending = chargen_fill(c);
            c->off = 0;
        }
        if (c->pending > 0 && svc->kind != SVC_DISCARD) {
            ssize_t w = ust_send(s, c->fd, c->buf + c->off, c->pending - c->off, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN)
                return false;
            if (w > 0) {
                progress = true;
                c->off += (size_t)w;
                if (c->off == c->pending)
                    c->pending = c->off = 0;
            }
        }
        if (!progress)
            break;
    }
    return true;
}

static void *tcp_main(void *arg)
{
    struct service *svc = arg;
    struct ust_stack *s = svc->s;
    struct client **cl = calloc(TCP_MAX_CLIENTS, sizeof(*cl));
    struct pollfd *pfd = calloc(TCP_MAX_CLIENTS + 1, sizeof(*pfd));
    if (!cl || !pfd)
        goto out;
    size_t n = 0;
    for (;;) {
        pfd[0] = (struct pollfd){.fd = svc->fd, .events = POLLIN};
        for (size_t i = 0; i < n; i++) {
            short ev = POLLIN;
            if (cl[i]->pending > 0 || svc->kind == SVC_CHARGEN)
                ev = svc->kind == SVC_ECHO ? POLLOUT : (POLLIN | POLLOUT);
            pfd[i + 1] = (struct pollfd){.fd = cl[i]->fd, .events = ev};
        }
        if (ust_poll(s, pfd, n + 1, -1) < 0)
            break;
        if (pfd[0].revents & POLLNVAL)
            break; /* the listener was closed: shutting down */
        for (size_t i = n; i-- > 0;) {
            if (!pfd[i + 1].revents)
                continue;
            if (!serve_client(svc, cl[i], pfd[i + 1].revents)) {
                ust_close(s, cl[i]->fd);
                free(cl[i]);
                cl[i] = cl[--n];
            }
        }
        if (pfd[0].revents & POLLIN) {
            for (;;) {
                int fd = ust_accept4(s, svc->fd, NULL, NULL, SOCK_NONBLOCK);
                if (fd < 0)
                    break;
                struct client *c = n < TCP_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
                if (!c) {
                    ust_close(s, fd); /* full: refuse politely */
                    continue;
                }
                c->fd = fd;
                cl[n++] = c;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        ust_close(s, cl[i]->fd);
        free(cl[i]);
    }
out:
    free(cl);
    free(pfd);
    return NULL;
}

int service_start(struct service *svc, struct ust_stack *s)
{
    svc->s = s;
    if (svc->kind == SVC_HTTP && http_init(svc) != 0)
        return -1;
    svc->fd = ust_socket(s, AF_INET, svc->type, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(svc->port)};
    int one = 1;
    bool tcp = svc->type == SOCK_STREAM;
    if (svc->fd < 0 || (tcp && ust_setsockopt(s, svc->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
        ust_bind(s, svc->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        (tcp && (ust_listen(s, svc->fd, 128) < 0 || ust_fcntl(s, svc->fd, F_SETFL, O_NONBLOCK) < 0))) {
        app_logf(UST_LOG_ERROR, "service %s: cannot serve %s port %u: %s", svc->name,
                 tcp ? "TCP" : "UDP", svc->port, strerror(errno));
        if (svc->kind == SVC_HTTP)
            http_fini(svc);
        return -1;
    }
    void *(*main_fn)(void *) = svc->kind == SVC_HTTP     ? http_main
                               : svc->kind == SVC_IPERF3 ? iperf3_main
                               : tcp                     ? tcp_main
                                                         : udp_main;
    if (pthread_create(&svc->thread, NULL, main_fn, svc) != 0) {
        if (svc->kind == SVC_HTTP)
            http_fini(svc);
        return -1;
    }
    svc->running = true;
    app_logf(UST_LOG_INFO, "service %s: listening on %s port %u", svc->name, tcp ? "TCP" : "UDP",
             svc->port);
    return 0;
}

void service_stop(struct service *svc)
{
    if (!svc->running)
        return;
    ust_close(svc->s, svc->fd); /* blocked calls return EBADF / POLLNVAL */
    pthread_join(svc->thread, NULL);
    svc->running = false;
    if (svc->kind == SVC_HTTP)
        http_fini(svc);
}
