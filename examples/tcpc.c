/* tcpc: a TCP client on ustack, in the style of microps' examples.
 *
 *   tcpc [device options] PEER PORT
 *
 * Connects to PEER:PORT, sends standard input, and prints everything that
 * comes back; at the end of input it half-closes (FIN) and exits when the
 * peer closes too. Exit status 1 if the connection fails. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../apps/app.h"

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
    fprintf(out, "Usage: tcpc [OPTIONS] PEER PORT\n\n"
                 "Connects to PEER:PORT over ustack, sends standard input and prints what\n"
                 "comes back until the peer closes. PEER is an IPv4 address or a host name\n"
                 "(asked of the --dns servers, or those of the DHCP lease).\n\n");
    app_usage_common(out);
}

int main(int argc, char **argv)
{
    struct app_opts o;
    int r = app_parse(argc, argv, &o, NULL, NULL, NULL, NULL);
    ust_ip4_t peer;
    char *end = NULL;
    unsigned long port = 0;
    if (r == 0 && (argc - optind != 2 || !app_host_ok(argv[optind]) ||
                   (port = strtoul(argv[optind + 1], &end, 10)) == 0 || *end || port > 65535)) {
        fprintf(stderr,
                "tcpc: expected PEER (an IPv4 address or a host name) and PORT (1-65535)\n");
        r = -1;
    }
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
    if (app_resolve(s, argv[optind], &peer) != 0) {
        app_stack_down(s, rt);
        return 1;
    }
    struct conn c = {.s = s, .fd = ust_socket(s, AF_INET, SOCK_STREAM, 0)};
    struct sockaddr_in sin = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(peer)};
    if (c.fd < 0 || ust_connect(s, c.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
        fprintf(stderr, "tcpc: connect to %s:%lu: %s\n", argv[optind], port, strerror(errno));
        app_stack_down(s, rt);
        return 1;
    }
    app_logf(UST_LOG_INFO, "tcpc: connected to %s:%lu", argv[optind], port);
    pthread_t th;
    pthread_create(&th, NULL, reader, &c);
    static char buf[65536];
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
