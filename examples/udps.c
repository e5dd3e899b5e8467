/* udps: a UDP echo server on ustack, in the style of microps' examples.
 *
 *   udps [device options] [--port N]      (default port 7)
 *
 * Prints each datagram it receives and sends it back. Ctrl-C stops it. */
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
    fprintf(out, "Usage: udps [OPTIONS] [--port N]\n\n"
                 "A UDP echo server on ustack: prints each datagram and sends it back.\n\n"
                 "  -P, --port N          UDP port to serve (default 7)\n\n");
    app_usage_common(out);
}

struct server {
    struct ust_stack *s;
    int fd;
};

static void *serve(void *arg)
{
    struct server *srv = arg;
    static char buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = ust_recvfrom(srv->s, srv->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
                                 &fl);
        if (n < 0) {
            if (errno == EBADF)
                return NULL;
            continue;
        }
        char a[UST_IP4_STRLEN];
        printf("%zd bytes from %s:%u: %.*s%s", n, ust_ip4_format(ntohl(from.sin_addr.s_addr), a),
               ntohs(from.sin_port), (int)(n > 200 ? 200 : n), buf,
               (n && buf[n - 1] == '\n') ? "" : "\n");
        fflush(stdout);
        ust_sendto(srv->s, srv->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
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
    struct server srv = {.s = s, .fd = ust_socket(s, AF_INET, SOCK_DGRAM, 0)};
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (srv.fd < 0 || ust_bind(s, srv.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        fprintf(stderr, "udps: cannot bind port %u: %s\n", port, strerror(errno));
        app_stack_down(s, rt);
        return 1;
    }
    pthread_t th;
    pthread_create(&th, NULL, serve, &srv);
    app_logf(UST_LOG_INFO, "udps: echoing on UDP port %u", port);
    struct signalfd_siginfo si;
    while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si) && si.ssi_signo == SIGUSR1)
        ;
    ust_close(s, srv.fd);
    pthread_join(th, NULL);
    app_stack_down(s, rt);
    return 0;
}
