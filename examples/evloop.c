/* evloop: ustack sockets and kernel sockets in one epoll loop.
 *
 *   evloop [device options] [--port N] [--kernel ADDR:PORT]
 *
 * A TCP echo server on both stacks at once, driven by one thread and one
 * epoll set: a ustack listener on --port (default 7) and a kernel listener
 * on --kernel (default 127.0.0.1:7007). The ustack side enters the loop
 * through a single descriptor, ust_event_fd(): when it is readable,
 * ust_ready() names the ustack sockets that have something to say. Both
 * kinds of socket are non-blocking and edge-triggered (the kernel's with
 * EPOLLET), so each is served until it would block. Ctrl-C stops it. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../apps/app.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: evloop [OPTIONS] [--port N] [--kernel ADDR:PORT]\n\n"
                 "A TCP echo server on ustack and on the kernel at once, in one epoll loop\n"
                 "(ust_event_fd and ust_ready bring the ustack sockets into it).\n\n"
                 "  -P, --port N          ustack TCP port to serve (default 7)\n"
                 "  -K, --kernel A:P      kernel address and port to serve as well\n"
                 "                        (default 127.0.0.1:7007)\n\n");
    app_usage_common(out);
}

/* One echo connection on either stack. */
struct conn {
    struct conn *next; /* in the table of connections, by descriptor */
    bool ust;          /* a ustack socket; else a kernel one */
    int fd;
    size_t off, len; /* buf[off..len) came in and is not yet sent back */
    bool eof;
    char buf[16384];
};

#define CONN_BUCKETS 256

struct loop {
    struct ust_stack *s;
    int ep;
    int ulisten, klisten, uevents, sig;
    struct conn *by_fd[CONN_BUCKETS]; /* every connection, by fd or handle */
    unsigned long served[2];          /* connections: [0] kernel, [1] ustack */
};

static struct conn **bucket(struct loop *l, int fd)
{
    return &l->by_fd[(unsigned)fd % CONN_BUCKETS];
}

static struct conn *ust_conn(struct loop *l, int fd)
{
    struct conn *c = *bucket(l, fd);
    while (c && (c->fd != fd || !c->ust))
        c = c->next;
    return c;
}

static ssize_t c_recv(struct loop *l, struct conn *c, void *buf, size_t n)
{
    return c->ust ? ust_recv(l->s, c->fd, buf, n, 0) : recv(c->fd, buf, n, 0);
}

static ssize_t c_send(struct loop *l, struct conn *c, const void *buf, size_t n)
{
    return c->ust ? ust_send(l->s, c->fd, buf, n, MSG_NOSIGNAL) : send(c->fd, buf, n, MSG_NOSIGNAL);
}

static void c_close(struct loop *l, struct conn *c)
{
    struct conn **pp = bucket(l, c->fd);
    while (*pp != c)
        pp = &(*pp)->next;
    *pp = c->next;
    if (c->ust) {
        ust_close(l->s, c->fd);
    } else {
        close(c->fd); /* leaves the epoll set with it */
    }
    free(c);
}

/* Echoes until the connection would block (in either direction) or ends:
 * what edge-triggered readiness asks of us. */
static void serve(struct loop *l, struct conn *c)
{
    for (;;) {
        if (c->off < c->len) {
            ssize_t n = c_send(l, c, c->buf + c->off, c->len - c->off);
            if (n < 0 && errno == EAGAIN)
                return; /* a later event says there is room */
            if (n < 0)
                break;
            c->off += (size_t)n;
            continue;
        }
        c->off = c->len = 0;
        if (c->eof)
            break;
        ssize_t n = c_recv(l, c, c->buf, sizeof(c->buf));
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0)
            break;
        if (n == 0)
            c->eof = true;
        c->len = (size_t)n;
    }
    c_close(l, c);
}

static struct conn *conn_new(struct loop *l, bool ust, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (c) {
        c->ust = ust;
        c->fd = fd;
        c->next = *bucket(l, fd);
        *bucket(l, fd) = c;
    }
    return c;
}

static void accept_kernel(struct loop *l)
{
    int fd;
    while ((fd = accept4(l->klisten, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
        struct conn *c = conn_new(l, false, fd);
        if (!c) {
            close(fd);
            continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                 .data.ptr = c};
        if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            c_close(l, c);
            continue;
        }
        l->served[0]++;
        serve(l, c);
    }
}

static void accept_ustack(struct loop *l)
{
    int fd;
    while ((fd = ust_accept4(l->s, l->ulisten, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        struct conn *c = conn_new(l, true, fd);
        if (!c) {
            ust_close(l->s, fd);
            continue;
        }
        l->served[1]++;
        serve(l, c); /* data may have come with the connection */
    }
}

/* The event fd was readable: serve every ustack socket the stack names. */
static void ustack_events(struct loop *l)
{
    struct ust_ready r[64];
    int n;
    do {
        n = ust_ready(l->s, r, 64);
        for (int i = 0; i < n; i++) {
            if (r[i].fd == l->ulisten) {
                accept_ustack(l);
                continue;
            }
            struct conn *c = ust_conn(l, r[i].fd);
            if (c)
                serve(l, c); /* else a socket not ours, or closed */
        }
    } while (n == 64);
}

static int kernel_listener(const char *spec)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    struct sockaddr_in sin = {.sin_family = AF_INET};
    char *end;
    long port = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || (size_t)(colon - spec) >= sizeof(host) || *end || port < 1 || port > 65535)
        return -1;
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1)
        return -1;
    sin.sin_port = htons((uint16_t)port);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 128) < 0) {
        app_logf(UST_LOG_ERROR, "kernel listener on %s: %s", spec, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -2;
    }
    return fd;
}

struct opts {
    uint16_t port;
    const char *kernel;
};

static int on_opt(int c, const char *arg, void *ctx)
{
    struct opts *o = ctx;
    if (c == 'K') {
        o->kernel = arg;
        return 0;
    }
    return app_port_opt(c, arg, &o->port);
}

static int add(struct loop *l, int fd, void *tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = tag};
    return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
    struct app_opts o;
    struct opts eo = {.port = 7, .kernel = "127.0.0.1:7007"};
    static const struct option extra[] = {{"port", required_argument, NULL, 'P'},
                                          {"kernel", required_argument, NULL, 'K'},
                                          {NULL, 0, NULL, 0}};
    int r = app_parse(argc, argv, &o, "P:K:", extra, on_opt, &eo);
    if (r != 0 || optind < argc) {
        usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    struct loop l = {.ep = -1};
    l.klisten = kernel_listener(eo.kernel);
    if (l.klisten == -1) {
        fprintf(stderr, "evloop: --kernel wants ADDR:PORT (an IPv4 address), not '%s'\n\n",
                eo.kernel);
        usage(stderr);
        return 2;
    }
    l.sig = app_signals();
    struct ust_runtime *rt;
    if (l.klisten < 0 || l.sig < 0 || app_stack_up(&o, &l.s, &rt) != 0)
        return 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(eo.port)};
    l.ulisten = ust_socket(l.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    l.uevents = ust_event_fd(l.s);
    l.ep = epoll_create1(EPOLL_CLOEXEC);
    static char tags[3]; /* epoll data for the three fixed descriptors */
    if (l.ulisten < 0 || l.uevents < 0 || l.ep < 0 ||
        ust_bind(l.s, l.ulisten, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        ust_listen(l.s, l.ulisten, 128) < 0 || add(&l, l.klisten, &tags[0]) < 0 ||
        add(&l, l.uevents, &tags[1]) < 0 || add(&l, l.sig, &tags[2]) < 0) {
        app_logf(UST_LOG_ERROR, "setting up the loop: %s", strerror(errno));
        app_stack_down(l.s, rt);
        return 1;
    }
    app_logf(UST_LOG_INFO, "evloop up: echo on ustack port %u and on kernel %s, one epoll loop",
             eo.port, eo.kernel);
    for (bool run = true; run;) {
        struct epoll_event evs[64];
        int n = epoll_wait(l.ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            if (tag == &tags[0])
                accept_kernel(&l);
            else if (tag == &tags[1])
                ustack_events(&l);
            else if (tag == &tags[2])
                run = false;
            else
                serve(&l, tag);
        }
    }
    app_logf(UST_LOG_INFO, "evloop: served %lu ustack and %lu kernel connections", l.served[1],
             l.served[0]);
    for (unsigned b = 0; b < CONN_BUCKETS; b++) {
        while (l.by_fd[b])
            c_close(&l, l.by_fd[b]);
    }
    close(l.ep);
    close(l.klisten);
    app_stack_down(l.s, rt);
    return 0;
}
