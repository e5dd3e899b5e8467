/* tcps: a TCP echo server on ustack, in the style of microps' examples.
 *
 *   tcps [device options] [--port N]      (default port 7)
 *
 * Accepts one connection at a time, prints what it receives and sends it
 * back, until the client closes. Ctrl-C stops it. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../apps/app.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: tcps [OPTIONS] [--port N]\n\n"
                 "A TCP echo server on ustack: one connection at a time; prints what it\n"
                 "receives and sends it back.\n\n"
                 "  -P, --port N          TCP port to serve (default 7)\n\n");
    app_usage_common(out);
}

struct server {
    struct ust_stack *s;
    int lfd;
};

static void *serve(void *arg)
{
    struct server *srv = arg;
    static char buf[65536];
    for (;;) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof(peer);
        int fd = ust_accept(srv->s, srv->lfd, (struct sockaddr *)&peer, &pl);
        if (fd < 0) {
            if (errno == EBADF)
                return NULL; /* the listener was closed: shutting down */
            continue;
        }
        char a[UST_IP4_STRLEN];
        ust_ip4_format(ntohl(peer.sin_addr.s_addr), a);
        printf("connection from %s:%u\n", a, ntohs(peer.sin_port));
        fflush(stdout);
        for (;;) {
            ssize_t n = ust_recv(srv->s, fd, buf, sizeof(buf), 0);
            if (n <= 0)
                break;
            printf("%zd bytes from %s:%u: %.*s%s", n, a, ntohs(peer.sin_port),
                   (int)(n > 200 ? 200 : n), buf, (buf[n - 1] == '\n') ? "" : "\n");
            fflush(stdout);
            if (ust_send(srv->s, fd, buf, (size_t)n, MSG_NOSIGNAL) < 0)
                break;
        }
        printf("connection from %s:%u closed\n", a, ntohs(peer.sin_port));
        fflush(stdout);
        ust_close(srv->s, fd);
    }
}

int main(int argc, char **argv)
{
    struct app_opts o;
    uint16_t port = 7;
    static const struct option extra[] = {{"port", required_argument, NULL, 'P'},
                                          {NULL, 0, NULL, 0}};
    int r = app_parse(argc, argv, &o, "P:", extra, app_port_opt, &port);
    if (r != 0 || optind < argc) {
        usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    int sfd = app_signals();
    struct ust_stack *s;
    struct ust_runtime *rt;
    if (sfd < 0 || app_stack_up(&o, &s, &rt) != 0)
        return 1;
    struct server srv = {.s = s, .lfd = ust_socket(s, AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (srv.lfd < 0 || ust_bind(s, srv.lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        ust_listen(s, srv.lfd, 16) < 0) {
        fprintf(stderr, "tcps: cannot listen on port %u: %s\n", port, strerror(errno));
        app_stack_down(s, rt);
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, serve, &srv);
    app_logf(UST_LOG_INFO, "tcps: echoing on TCP port %u", port);
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo == SIGUSR1)
        ;
    ust_close(s, srv.lfd);
    pthread_join(th, NULL); /* a connection in progress ends when its client closes */
    app_stack_down(s, rt);
    return 0;
}
