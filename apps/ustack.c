/* ustack: the runner. Brings a stack up on a TAP device, serves the classic
 * services on the public socket API, and runs until SIGINT or SIGTERM;
 * SIGUSR1 prints the counters. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"

/* A UDP service: one thread, blocking calls. */
struct udp_service {
    const char *name;
    uint16_t port;
    bool echo;          /* echo back (RFC 862), or discard (RFC 863) */
    struct ust_stack *s;
    int fd;
    pthread_t thread;
    bool running;
};

static void *udp_service_main(void *arg)
{
    struct udp_service *svc = arg;
    static const size_t bufsize = 65536;
    uint8_t *buf = malloc(bufsize);
    if (!buf)
        return NULL;
    for (;;) {
        struct sockaddr_in from;
        socklen_t fromlen = sizeof(from);
        ssize_t n = ust_recvfrom(svc->s, svc->fd, buf, bufsize, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EBADF)
                break; /* closed: shutting down */
            continue;  /* e.g. a pending ICMP error */
        }
        if (svc->echo)
            ust_sendto(svc->s, svc->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
    }
    free(buf);
    return NULL;
}

static int udp_service_start(struct udp_service *svc, struct ust_stack *s)
{
    svc->s = s;
    svc->fd = ust_socket(s, AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(svc->port)};
    if (svc->fd < 0 || ust_bind(s, svc->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        app_logf(UST_LOG_ERROR, "service %s: cannot bind UDP port %u: %s", svc->name, svc->port,
                 strerror(errno));
        return -1;
    }
    if (pthread_create(&svc->thread, NULL, udp_service_main, svc) != 0)
        return -1;
    svc->running = true;
    app_logf(UST_LOG_INFO, "service %s: listening on UDP port %u", svc->name, svc->port);
    return 0;
}

static void udp_service_stop(struct udp_service *svc)
{
    if (!svc->running)
        return;
    ust_close(svc->s, svc->fd); /* the blocked recvfrom returns EBADF */
    pthread_join(svc->thread, NULL);
    svc->running = false;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ustack [OPTIONS]\n"
            "\n"
            "Runs the ustack TCP/IP stack on a Linux TAP device until SIGINT or SIGTERM.\n"
            "It answers ARP and ping, and serves UDP echo (port 7, RFC 862) and discard\n"
            "(port 9, RFC 863). SIGUSR1 prints the counters; they are also printed on exit.\n"
            "\n");
    app_usage_common(out);
    fprintf(out,
            "\n"
            "Example:\n"
            "  make tap && build/bin/ustack        # then: ping 192.0.2.2\n"
            "                                      #   or: echo hi | nc -u -q1 192.0.2.2 7\n");
}

static void print_stats(struct ust_stack *s, struct ust_runtime *rt)
{
    struct ust_stats st;
    ust_runtime_lock(rt);
    st = *ust_stack_stats(s);
    ust_runtime_unlock(rt);
    fprintf(stderr, "---- ustack counters ----\n");
    ust_stats_print(&st, stderr, 0);
    fflush(stderr);
}

int main(int argc, char **argv)
{
    struct app_opts o;
    int r = app_parse(argc, argv, &o, NULL, NULL, NULL, NULL);
    if (r != 0) {
        usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    if (optind < argc) {
        fprintf(stderr, "ustack: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    int sfd = app_signals();
    if (sfd < 0) {
        perror("ustack: signalfd");
        return 1;
    }
    struct ust_stack *s;
    struct ust_runtime *rt;
    if (app_stack_up(&o, &s, &rt) != 0)
        return 1;
    struct udp_service services[] = {
        {.name = "udp/echo", .port = 7, .echo = true},
        {.name = "udp/discard", .port = 9, .echo = false},
    };
    const size_t nsvc = sizeof(services) / sizeof(services[0]);
    int rc = 0;
    for (size_t i = 0; i < nsvc; i++)
        if (udp_service_start(&services[i], s) != 0)
            rc = 1;
    if (rc == 0) {
        char a[UST_IP4_STRLEN], g[UST_IP4_STRLEN];
        app_logf(UST_LOG_INFO,
                 "ustack up: dev=%s, addr=%s/%u, gateway=%s, mac=%02x:%02x:%02x:%02x:%02x:%02x; "
                 "try: ping %s",
                 o.tap, ust_ip4_format(o.addr, a), o.prefix_len,
                 o.gateway ? ust_ip4_format(o.gateway, g) : "none", o.mac[0], o.mac[1], o.mac[2],
                 o.mac[3], o.mac[4], o.mac[5], a);
        for (;;) {
            struct signalfd_siginfo si;
            ssize_t n = read(sfd, &si, sizeof(si));
            if (n != (ssize_t)sizeof(si)) {
                if (n < 0 && errno == EINTR)
                    continue;
                rc = 1;
                break;
            }
            if (si.ssi_signo == SIGUSR1) {
                print_stats(s, rt);
                continue;
            }
            app_logf(UST_LOG_INFO, "%s received, shutting down", strsignal((int)si.ssi_signo));
            break;
        }
    }
    for (size_t i = 0; i < nsvc; i++)
        udp_service_stop(&services[i]);
    print_stats(s, rt);
    app_stack_down(s, rt);
    close(sfd);
    app_logf(UST_LOG_INFO, "ustack stopped");
    return rc;
}
