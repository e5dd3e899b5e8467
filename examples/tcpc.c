/* tcpc: a TCP client on ustack, in the style of microps' examples.
 *
 *   tcpc [device options] PEER PORT     (PEER: 192.0.2.1, 2001:db8::1, fe80::1%tap0)
 *   tcpc [device options] PEER:PORT     (192.0.2.1:7, [2001:db8::1]:7)
 *
 * Connects to PEER:PORT, sends standard input, and prints everything that
 * comes back; at the end of input it half-closes (FIN) and exits when the
 * peer closes too. Exit status 1 if the connection fails. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../apps/app.h"

#define TCPC_CHUNK (256 * 1024) /* bytes read from stdin and sent at a time */
#define TCPC_PIPE (1024 * 1024)

struct conn {
    struct ust_stack *s;
    int fd;
    int err;
};

static void *reader(void *arg)
{
    struct conn *c = arg;
    static char buf[65536];
    for (;;) {
        ssize_t n = ust_recv(c->s, c->fd, buf, sizeof(buf), 0);
        if (n == 0)
            return NULL;
        if (n < 0) {
            c->err = errno;
            return NULL;
        }
        fwrite(buf, 1, (size_t)n, stdout);
        fflush(stdout);
    }
}

static void usage(FILE *out)
{
    fprintf(out, "Usage: tcpc [OPTIONS] PEER PORT\n"
                 "       tcpc [OPTIONS] PEER:PORT\n\n"
                 "Connects to PEER:PORT over ustack, sends standard input and prints what\n"
                 "comes back until the peer closes. PEER is an IPv4 or IPv6 address:\n"
                 "192.0.2.1, 2001:db8::1, or a link-local one with its scope, fe80::1%%tap0;\n"
                 "with the port joined: 192.0.2.1:7, [2001:db8::1]:7. Or a host name, asked of\n"
                 "the --dns servers or those of the DHCP lease (then PORT apart).\n\n");
    app_usage_common(out);
}

int main(int argc, char **argv)
{
    struct app_opts o;
    int r = app_parse(argc, argv, &o, NULL, NULL, NULL, NULL);
    struct app_peer peer;
    struct app_target target;
    if (r == 0 && app_peer_args("tcpc", argc, argv, &o, &peer, &target) != 0)
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
    struct conn c = {.s = s, .fd = ust_socket(s, peer.family, SOCK_STREAM, 0)};
    struct in6_addr pa;
    uint16_t pport;
    char who[APP_PEER_STRLEN];
    app_sockaddr_get(&peer.u.sa, &pa, &pport);
    app_peer_format(&pa, pport, who);
    if (c.fd < 0 || ust_connect(s, c.fd, &peer.u.sa, peer.len) < 0) {
        fprintf(stderr, "tcpc: connect to %s: %s\n", who, strerror(errno));
        app_stack_down(s, rt);
        return 1;
    }
    app_logf(UST_LOG_INFO, "tcpc: connected to %s", who);
    pthread_t th;
    pthread_create(&th, NULL, reader, &c);
    /* Standard input in large pieces: each ust_send is a call into the
     * stack (its lock, its output pass), and each read from a pipe that
     * found it empty is a sleep and a wake-up. A pipe grows to 1 MiB (the
     * default pipe-max-size) so that its writer runs ahead of us; where
     * stdin is no pipe, or the limit is lower, this fails harmlessly. */
    static char buf[TCPC_CHUNK];
    (void)fcntl(STDIN_FILENO, F_SETPIPE_SZ, TCPC_PIPE);
    int rc = 0;
    ssize_t n;
    /* read(2), not stdio: a line typed on a terminal goes out at once. */
    while ((n = read(STDIN_FILENO, buf, sizeof(buf))) > 0) {
        if (ust_send(s, c.fd, buf, (size_t)n, MSG_NOSIGNAL) < 0) {
            fprintf(stderr, "tcpc: send: %s\n", strerror(errno));
            rc = 1;
            break;
        }
    }
    ust_shutdown(s, c.fd, SHUT_WR);
    pthread_join(th, NULL);
    if (c.err) {
        fprintf(stderr, "tcpc: %s\n", strerror(c.err));
        rc = 1;
    }
    ust_close(s, c.fd);
    app_stack_down(s, rt);
    return rc;
}
