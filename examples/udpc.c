/* udpc: a UDP client on ustack, in the style of microps' examples.
 *
 *   udpc [device options] [--timeout MS] PEER PORT   (or PEER:PORT; IPv4 or IPv6)
 *
 * Sends each line of standard input as one datagram to PEER:PORT and prints
 * the reply. Exits at end of input; exit status 1 if a reply never came. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../apps/app.h"

struct args {
    long timeout_ms;
};

static int on_opt(int c, const char *arg, void *ctx)
{
    struct args *a = ctx;
    if (c != 'T')
        return -1;
    char *end;
    long v = strtol(arg, &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "--timeout %s: expected milliseconds > 0\n", arg);
        return -1;
    }
    a->timeout_ms = v;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: udpc [OPTIONS] PEER PORT\n"
            "       udpc [OPTIONS] PEER:PORT\n\n"
            "Sends each line of standard input to PEER:PORT over ustack and prints the reply.\n"
            "PEER is an IPv4 or IPv6 address: 192.0.2.1, 2001:db8::1, or a link-local one\n"
            "with its scope, fe80::1%%tap0; with the port joined: 192.0.2.1:7,\n"
            "[2001:db8::1]:7. Or a host name, asked of the --dns servers or those of\n"
            "the DHCP lease (then PORT apart).\n\n"
            "  -T, --timeout MS      how long to wait for each reply (default 2000)\n\n");
    app_usage_common(out);
}

int main(int argc, char **argv)
{
    struct app_opts o;
    struct args a = {.timeout_ms = 2000};
    static const struct option extra[] = {{"timeout", required_argument, NULL, 'T'},
                                          {NULL, 0, NULL, 0}};
    int r = app_parse(argc, argv, &o, "T:", extra, on_opt, &a);
    struct app_peer peer;
    struct app_target target;
    if (r == 0 && app_peer_args("udpc", argc, argv, &o, &peer, &target) != 0)
        r = -1;
    if (r != 0) {
        usage(r > 0 ? stdout : stderr);
        return r > 0 ? 0 : 2;
    }
    struct ust_stack *s;
    struct ust_runtime *rt;
    /* No signalfd here: SIGINT and SIGTERM keep their default action, so
     * Ctrl-C and timeout(1) end the client even inside a blocking call. */
    if (app_stack_up(&o, &s, &rt) != 0)
        return 1;
    if (app_peer_ready(s, rt, &o, &target, &peer) != 0) {
        app_stack_down(s, rt);
        return 1;
    }
    int fd = ust_socket(s, peer.family, SOCK_DGRAM, 0);
    struct timeval tv = {.tv_sec = a.timeout_ms / 1000, .tv_usec = (a.timeout_ms % 1000) * 1000};
    if (fd < 0 || ust_connect(s, fd, &peer.u.sa, peer.len) < 0 ||
        ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        fprintf(stderr, "udpc: %s\n", strerror(errno));
        app_stack_down(s, rt);
        return 1;
    }
    int rc = 0;
    static char line[65536], reply[65536];
    while (fgets(line, sizeof(line), stdin)) {
        size_t len = strlen(line);
        if (ust_send(s, fd, line, len, 0) < 0) {
            fprintf(stderr, "udpc: send: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        ssize_t n = ust_recv(s, fd, reply, sizeof(reply), 0);
        if (n < 0) {
            fprintf(stderr, "udpc: no reply: %s\n",
                    errno == EAGAIN ? "timed out" : strerror(errno));
            rc = 1;
            continue;
        }
        fwrite(reply, 1, (size_t)n, stdout);
        fflush(stdout);
    }
    ust_close(s, fd);
    app_stack_down(s, rt);
    return rc;
}
