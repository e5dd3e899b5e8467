/* ustack: the runner. Brings a stack up on a TAP device, serves the classic
 * services on the public socket API, and runs until SIGINT or SIGTERM;
 * SIGUSR1 prints the counters. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
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
            "Runs the ustack TCP/IP stack on a Linux TAP device (or, with --packet, on an\n"
            "existing Ethernet interface beside the kernel) until SIGINT or SIGTERM, or\n"
            "until that interface is deleted (it then says so and exits with status 1).\n"
            "It answers ARP and ping, and serves echo (port 7, RFC 862), discard (port 9,\n"
            "RFC 863) and chargen (port 19, RFC 864) over both TCP and UDP, HTTP/1.1\n"
            "(TCP port 80: GET and HEAD, keep-alive), many connections at once, and\n"
            "iperf3 (TCP port 5201: stock iperf3 clients' TCP tests, one at a time).\n"
            "It is a dual-stack host: IPv4 at 192.0.2.2/24 and IPv6 at 2001:db8::2/64\n"
            "plus a link-local address (RFC 7217), neighbour discovery, SLAAC addresses\n"
            "and default routers from router advertisements; every service listens on\n"
            "both families (try: ping -6 2001:db8::2, curl -6 'http://[2001:db8::2]/',\n"
            "iperf3 -6 -c 2001:db8::2; `make tap` gives the host side 2001:db8::1/64).\n"
            "SIGUSR1 prints the counters; they are also printed on exit.\n"
            "\n"
            "Service options:\n"
            "  -r, --http-root DIR   serve the files under DIR over HTTP (\"/\" is\n"
            "                        DIR/index.html; nothing outside DIR is served).\n"
            "                        Without it, a small built-in page is served at \"/\".\n"
            "  -I, --iperf3-port PORT|none\n"
            "                        the TCP port of the iperf3 service (default 5201),\n"
            "                        or none to turn it off\n"
            "      --service-threads run each service on a thread of its own, in blocking\n"
            "                        calls, instead of on the stack thread (the default:\n"
            "                        a request is read, answered and sent in the stack\n"
            "                        thread's turn, no other thread woken)\n"
            "\n"
            "Limits (each TCP service on its own, so that no client and no service can\n"
            "lock the others out; a limit or a timeout of 0 is none; S is seconds):\n"
            "      --max-conns [SERVICE=]N[,...]\n"
            "                        connections a TCP service holds at once (default\n"
            "                        %u each for echo, discard, chargen and http: the\n"
            "                        four together stay under the stack's 131,072\n"
            "                        sockets). One over it is refused at once: HTTP\n"
            "                        answers 503, the others reset it. N alone sets\n"
            "                        all four.\n"
            "      --http-max-per-addr N\n"
            "                        HTTP connections from one client address, an IPv6\n"
            "                        client counted by its /64 (default %u: browsers\n"
            "                        open 6, a NAT hides a few dozen)\n"
            "      --http-header-timeout S\n"
            "                        the request line and headers must arrive within S of\n"
            "                        the connection, or of the first byte of a later\n"
            "                        request (default %g: Apache's RequestReadTimeout\n"
            "                        header=20; nginx's client_header_timeout is 60);\n"
            "                        a request cut short is answered 408\n"
            "      --http-request-timeout S\n"
            "                        the whole request, its body included, from the same\n"
            "                        start (default %g, as nginx's client_body_timeout)\n"
            "      --http-idle-timeout S\n"
            "                        a kept-alive connection waits S for its next request\n"
            "                        (default %g: between Apache's 5 and nginx's 75)\n"
            "      --send-timeout S  echo, chargen and HTTP reset a connection whose peer\n"
            "                        takes nothing of what they send for S (default %g:\n"
            "                        nginx's send_timeout)\n"
            "      --idle-timeout S  echo, discard and chargen close a connection on which\n"
            "                        nothing moved for S (default 0, none: discard exists\n"
            "                        to accept data for ever, an idle connection costs\n"
            "                        little, and --max-conns bounds them)\n"
            "      --iperf3-timeout S\n"
            "                        each step of iperf3's control exchange (cookie,\n"
            "                        parameters, streams, results) must be done within S\n"
            "                        (default %g), else the test is dropped and the\n"
            "                        service is free for the next one\n"
            "      --iperf3-idle-timeout S\n"
            "                        a running iperf3 test in which no data moved for S\n"
            "                        is dropped (default %g)\n"
            "\n",
            SVC_DEFAULT_MAX_CONNS, HTTP_DEFAULT_MAX_PER_ADDR,
            (double)HTTP_DEFAULT_HEADER_TIMEOUT / SVC_SEC,
            (double)HTTP_DEFAULT_REQUEST_TIMEOUT / SVC_SEC,
            (double)HTTP_DEFAULT_IDLE_TIMEOUT / SVC_SEC, (double)SVC_DEFAULT_SEND_TIMEOUT / SVC_SEC,
            (double)IPERF3_DEFAULT_STEP_TIMEOUT / SVC_SEC,
            (double)IPERF3_DEFAULT_IDLE_TIMEOUT / SVC_SEC);
    app_usage_common(out);
    fprintf(out, "\n"
                 "Example:\n"
                 "  make tap && build/bin/ustack        # then: ping 192.0.2.2\n"
                 "                                      #   or: echo hi | nc -q1 192.0.2.2 7\n"
                 "                                      #   or: echo hi | nc -u -w1 192.0.2.2 7\n"
                 "                                      #   or: curl http://192.0.2.2/\n"
                 "                                      #   or: iperf3 -c 192.0.2.2\n");
}

/* The services' counters, then the stack's (which end with pkb.*: a
 * reader waiting for those has all of them). */
static void print_stats(struct ust_stack *s, struct ust_runtime *rt, struct service *svcs,
                        size_t nsvc, bool with_stack)
{
    struct ust_stats st;
    ust_runtime_lock(rt);
    st = *ust_stack_stats(s);
    ust_runtime_unlock(rt);
    if (with_stack)
        fprintf(stderr, "---- ustack counters ----\n");
    for (size_t i = 0; i < nsvc; i++)
        service_print_counters(&svcs[i], stderr);
    if (with_stack)
        ust_stats_print(&st, stderr, 0);
    fflush(stderr);
}

/* The TCP services whose limits the options set, by the name after "tcp/". */
enum { LIM_ECHO, LIM_DISCARD, LIM_CHARGEN, LIM_HTTP, LIM_IPERF3, LIM_N };
static const char *const lim_names[LIM_N] = {"echo", "discard", "chargen", "http", "iperf3"};

struct runner_opts {
    const char *http_root;
    uint16_t iperf3_port; /* 0: the iperf3 service is off */
    bool threads;         /* --service-threads */
    struct svc_limits lim[LIM_N];
};

/* The runner's long-only options (getopt values past app_parse's own). */
enum {
    OPT_MAX_CONNS = 0x200,
    OPT_HTTP_MAX_PER_ADDR,
    OPT_HTTP_HEADER_TIMEOUT,
    OPT_HTTP_REQUEST_TIMEOUT,
    OPT_HTTP_IDLE_TIMEOUT,
    OPT_SEND_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_IPERF3_TIMEOUT,
    OPT_IPERF3_IDLE_TIMEOUT,
    OPT_SERVICE_THREADS,
};

static const struct option runner_long[] = {
    {"http-root", required_argument, NULL, 'r'},
    {"iperf3-port", required_argument, NULL, 'I'},
    {"max-conns", required_argument, NULL, OPT_MAX_CONNS},
    {"http-max-per-addr", required_argument, NULL, OPT_HTTP_MAX_PER_ADDR},
    {"http-header-timeout", required_argument, NULL, OPT_HTTP_HEADER_TIMEOUT},
    {"http-request-timeout", required_argument, NULL, OPT_HTTP_REQUEST_TIMEOUT},
    {"http-idle-timeout", required_argument, NULL, OPT_HTTP_IDLE_TIMEOUT},
    {"send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT},
    {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
    {"iperf3-timeout", required_argument, NULL, OPT_IPERF3_TIMEOUT},
    {"iperf3-idle-timeout", required_argument, NULL, OPT_IPERF3_IDLE_TIMEOUT},
    {"service-threads", no_argument, NULL, OPT_SERVICE_THREADS},
    {NULL, 0, NULL, 0},
};

static const char *opt_name(int c)
{
    for (const struct option *o = runner_long; o->name; o++)
        if (o->val == c)
            return o->name;
    return "?";
}

/* A count: 0 to 10,000,000 (0: no limit). */
static int parse_count(const char *arg, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(arg, &end, 10);
    if (errno || *end || !*arg || *arg == '-' || v > 10000000)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Seconds, fractions allowed: 0 (none) to a day. */
static int parse_seconds(const char *arg, ust_time_t *out)
{
    char *end;
    double v = strtod(arg, &end);
    if (*end || end == arg || !(v >= 0 && v <= 86400))
        return -1;
    *out = (ust_time_t)(v * SVC_SEC + 0.5);
    return 0;
}

/* --max-conns N, or SERVICE=N[,SERVICE=N...] */
static int parse_max_conns(struct runner_opts *ro, const char *arg)
{
    unsigned n;
    if (parse_count(arg, &n) == 0) {
        for (int i = LIM_ECHO; i <= LIM_HTTP; i++)
            ro->lim[i].max_conns = n;
        return 0;
    }
    char buf[256];
    if (strlen(arg) >= sizeof(buf))
        return -1;
    strcpy(buf, arg);
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = '\0';
        int i = LIM_ECHO;
        while (i <= LIM_HTTP && strcmp(tok, lim_names[i]) != 0)
            i++;
        if (i > LIM_HTTP || parse_count(eq + 1, &ro->lim[i].max_conns) != 0)
            return -1;
    }
    return 0;
}

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
    if (c == OPT_SERVICE_THREADS) {
        ro->threads = true;
        return 0;
    }
    struct svc_limits *http = &ro->lim[LIM_HTTP], *ip = &ro->lim[LIM_IPERF3];
    ust_time_t t = 0;
    bool seconds = c != OPT_MAX_CONNS && c != OPT_HTTP_MAX_PER_ADDR;
    if (seconds && parse_seconds(arg, &t) != 0) {
        fprintf(stderr, "--%s %s: expected seconds, 0 to 86400 (0: none)\n", opt_name(c), arg);
        return -1;
    }
    switch (c) {
    case OPT_MAX_CONNS:
        if (parse_max_conns(ro, arg) != 0) {
            fprintf(stderr,
                    "--max-conns %s: expected N, or SERVICE=N[,SERVICE=N...] with SERVICE "
                    "echo, discard, chargen or http (N up to 10000000; 0: no limit)\n",
                    arg);
            return -1;
        }
        return 0;
    case OPT_HTTP_MAX_PER_ADDR:
        if (parse_count(arg, &http->max_per_addr) != 0) {
            fprintf(stderr, "--http-max-per-addr %s: expected a number (0: no limit)\n", arg);
            return -1;
        }
        return 0;
    case OPT_HTTP_HEADER_TIMEOUT: http->header_timeout = t; return 0;
    case OPT_HTTP_REQUEST_TIMEOUT: http->request_timeout = t; return 0;
    case OPT_HTTP_IDLE_TIMEOUT: http->idle_timeout = t; return 0;
    case OPT_SEND_TIMEOUT:
        ro->lim[LIM_ECHO].send_timeout = ro->lim[LIM_CHARGEN].send_timeout = http->send_timeout = t;
        return 0;
    case OPT_IDLE_TIMEOUT:
        for (int i = LIM_ECHO; i <= LIM_CHARGEN; i++)
            ro->lim[i].idle_timeout = t;
        return 0;
    case OPT_IPERF3_TIMEOUT: ip->request_timeout = t; return 0;
    case OPT_IPERF3_IDLE_TIMEOUT: ip->idle_timeout = t; return 0;
    default: return -1;
    }
}

int main(int argc, char **argv)
{
    struct app_opts o;
    struct runner_opts ro = {.iperf3_port = IPERF3_PORT};
    static const enum service_kind kinds[LIM_N] = {SVC_ECHO, SVC_DISCARD, SVC_CHARGEN, SVC_HTTP,
                                                   SVC_IPERF3};
    for (int i = 0; i < LIM_N; i++)
        ro.lim[i] = svc_limits_default(kinds[i]);
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
        {.name = "tcp/echo",
         .type = SOCK_STREAM,
         .kind = SVC_ECHO,
         .port = 7,
         .lim = ro.lim[LIM_ECHO]},
        {.name = "tcp/discard",
         .type = SOCK_STREAM,
         .kind = SVC_DISCARD,
         .port = 9,
         .lim = ro.lim[LIM_DISCARD]},
        {.name = "tcp/chargen",
         .type = SOCK_STREAM,
         .kind = SVC_CHARGEN,
         .port = 19,
         .lim = ro.lim[LIM_CHARGEN]},
        {.name = "udp/echo", .type = SOCK_DGRAM, .kind = SVC_ECHO, .port = 7},
        {.name = "udp/discard", .type = SOCK_DGRAM, .kind = SVC_DISCARD, .port = 9},
        {.name = "udp/chargen", .type = SOCK_DGRAM, .kind = SVC_CHARGEN, .port = 19},
        {.name = "tcp/http",
         .type = SOCK_STREAM,
         .kind = SVC_HTTP,
         .port = 80,
         .http_root = ro.http_root,
         .lim = ro.lim[LIM_HTTP]},
        {.name = "tcp/iperf3",
         .type = SOCK_STREAM,
         .kind = SVC_IPERF3,
         .port = ro.iperf3_port,
         .lim = ro.lim[LIM_IPERF3]},
    };
    size_t nsvc = sizeof(services) / sizeof(services[0]);
    if (ro.iperf3_port == 0)
        nsvc--; /* --iperf3-port none: the last entry is left out */
    int rc = 0;
    for (size_t i = 0; i < nsvc; i++) {
        services[i].ipv4_only = !o.ipv6;
        services[i].rtc = !ro.threads;
        if (service_start(&services[i], s) != 0)
            rc = 1;
    }
    if (rc == 0) {
        char a[UST_IP4_STRLEN], g[UST_IP4_STRLEN], v6[160] = "";
        if (o.ipv6) {
            char a6[UST_IP6_STRLEN], g6[UST_IP6_STRLEN], ll[UST_IP6_STRLEN];
            struct ust_addr6 list[8];
            if (o.has_addr6)
                snprintf(v6, sizeof(v6), ", addr6=%s/%u", ust_ip6_format(&o.addr6, a6), o.prefix6);
            ust_runtime_lock(rt);
            int n = ust_iface_addrs6(s, o.tap, list, 8);
            ust_runtime_unlock(rt);
            for (int i = 0; i < n && i < 8; i++)
                if (list[i].origin == UST_ADDR6_LINK_LOCAL)
                    snprintf(v6 + strlen(v6), sizeof(v6) - strlen(v6), ", link-local=%s%%%s",
                             ust_ip6_format(&list[i].addr, ll), o.tap);
            snprintf(v6 + strlen(v6), sizeof(v6) - strlen(v6), ", gateway6=%s",
                     o.has_gateway6 ? ust_ip6_format(&o.gateway6, g6) : "from RAs");
        }
        app_logf(UST_LOG_INFO,
                 "ustack up: dev=%s, addr=%s/%u, gateway=%s%s, mac=%02x:%02x:%02x:%02x:%02x:%02x; "
                 "try: ping %s%s%s",
                 o.dev, ust_ip4_format(o.addr, a), o.prefix_len,
                 o.gateway ? ust_ip4_format(o.gateway, g) : "none", v6, o.mac[0], o.mac[1],
                 o.mac[2], o.mac[3], o.mac[4], o.mac[5], a, o.has_addr6 ? ", ping -6 " : "",
                 o.has_addr6 ? ust_ip6_format(&o.addr6, (char[UST_IP6_STRLEN]){0}) : "");
        /* Besides the signals, the interface: the runner says when it goes
         * down or comes back, and stops when it is deleted. */
        struct app_link link;
        (void)app_link_open(&link, o.dev);
        for (;;) {
            struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN},
                                   {.fd = link.fd, .events = POLLIN}};
            if (poll(pf, link.fd >= 0 ? 2 : 1, -1) < 0 && errno != EINTR) {
                rc = 1;
                break;
            }
            if (link.fd >= 0 && (pf[1].revents & POLLIN) && app_link_read(&link) == APP_LINK_GONE) {
                app_logf(UST_LOG_ERROR, "%s is gone, shutting down", o.dev);
                rc = 1;
                break;
            }
            if (!(pf[0].revents & POLLIN))
                continue;
            struct signalfd_siginfo si;
            ssize_t n = read(sfd, &si, sizeof(si));
            if (n != (ssize_t)sizeof(si)) {
                if (n < 0 && errno == EINTR)
                    continue;
                rc = 1;
                break;
            }
            if (si.ssi_signo == SIGUSR1) {
                print_stats(s, rt, services, nsvc, true);
                continue;
            }
            app_logf(UST_LOG_INFO, "%s received, shutting down", strsignal((int)si.ssi_signo));
            break;
        }
        app_link_close(&link);
    }
    for (size_t i = 0; i < nsvc; i++)
        service_stop(&services[i]);
    /* At debug level app_stack_down prints the stack's counters. */
    print_stats(s, rt, services, nsvc, app_log_level < UST_LOG_DEBUG);
    app_stack_down(s, rt);
    close(sfd);
    app_logf(UST_LOG_INFO, "ustack stopped");
    return rc;
}
