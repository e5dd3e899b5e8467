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
#include "iperf3.h"
#include "services.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: ustack [OPTIONS]\n"
            "\n"
            "Runs the ustack TCP/IP stack on a Linux TAP device until SIGINT or SIGTERM.\n"
            "It answers ARP and ping, and serves echo (port 7, RFC 862), discard (port 9,\n"
            "RFC 863) and chargen (port 19, RFC 864) over both TCP and UDP, HTTP/1.1\n"
            "(TCP port 80: GET and HEAD, keep-alive), many connections at once, and\n"
            "iperf3 (TCP port 5201: stock iperf3 clients' TCP tests, one at a time).\n"
            "SIGUSR1 prints the counters; they are also printed on exit.\n"
            "\n"
            "Service options:\n"
            "  -r, --http-root DIR   serve the files under DIR over HTTP (\"/\" is\n"
            "                        DIR/index.html; nothing outside DIR is served).\n"
            "                        Without it, a small built-in page is served at \"/\".\n"
            "  -I, --iperf3-port PORT|none\n"
            "                        the TCP port of the iperf3 service (default 5201),\n"
            "                        or none to turn it off\n"
            "\n");
    app_usage_common(out);
    fprintf(out,
            "\n"
            "Example:\n"
            "  make tap && build/bin/ustack        # then: ping 192.0.2.2\n"
            "                                      #   or: echo hi | nc -q1 192.0.2.2 7\n"
            "                                      #   or: echo hi | nc -u -q1 192.0.2.2 7\n"
            "                                      #   or: curl http://192.0.2.2/\n"
            "                                      #   or: iperf3 -c 192.0.2.2\n");
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

struct runner_opts {
    const char *http_root;
    uint16_t iperf3_port; /* 0: the iperf3 service is off */
};

static int runner_opt(int c, const char *arg, void *ctx)
{
    struct runner_opts *ro = ctx;
    if (c == 'r') {
        if (!*arg) {
            fprintf(stderr, "--http-root: expected a directory\n");
            return -1;
        }
        ro->http_root = arg;
        return 0;
    }
    if (c == 'I') {
        if (strcmp(arg, "none") == 0) {
            ro->iperf3_port = 0;
            return 0;
        }
        char *end;
        unsigned long v = strtoul(arg, &end, 10);
        if (*end || !*arg || v == 0 || v > 65535) {
            fprintf(stderr, "--iperf3-port %s: expected 1-65535, or none\n", arg);
            return -1;
        }
        ro->iperf3_port = (uint16_t)v;
        return 0;
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct app_opts o;
    struct runner_opts ro = {.iperf3_port = IPERF3_PORT};
    static const struct option runner_long[] = {
        {"http-root", required_argument, NULL, 'r'},
        {"iperf3-port", required_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    int r = app_parse(argc, argv, &o, "r:I:", runner_long, runner_opt, &ro);
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
    struct service services[] = {
        {.name = "tcp/echo", .type = SOCK_STREAM, .kind = SVC_ECHO, .port = 7},
        {.name = "tcp/discard", .type = SOCK_STREAM, .kind = SVC_DISCARD, .port = 9},
        {.name = "tcp/chargen", .type = SOCK_STREAM, .kind = SVC_CHARGEN, .port = 19},
        {.name = "udp/echo", .type = SOCK_DGRAM, .kind = SVC_ECHO, .port = 7},
        {.name = "udp/discard", .type = SOCK_DGRAM, .kind = SVC_DISCARD, .port = 9},
        {.name = "udp/chargen", .type = SOCK_DGRAM, .kind = SVC_CHARGEN, .port = 19},
        {.name = "tcp/http", .type = SOCK_STREAM, .kind = SVC_HTTP, .port = 80,
         .http_root = ro.http_root},
        {.name = "tcp/iperf3", .type = SOCK_STREAM, .kind = SVC_IPERF3, .port = ro.iperf3_port},
    };
    size_t nsvc = sizeof(services) / sizeof(services[0]);
    if (ro.iperf3_port == 0)
        nsvc--; /* --iperf3-port none: the last entry is left out */
    int rc = 0;
    for (size_t i = 0; i < nsvc; i++)
        if (service_start(&services[i], s) != 0)
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
        service_stop(&services[i]);
    if (app_log_level < UST_LOG_DEBUG)
        print_stats(s, rt); /* at debug level app_stack_down prints them */
    app_stack_down(s, rt);
    close(sfd);
    app_logf(UST_LOG_INFO, "ustack stopped");
    return rc;
}
