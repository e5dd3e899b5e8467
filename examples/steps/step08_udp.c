/* Step 8: UDP and datagram sockets (docs/LEARN.md).
 *
 * udp_input (src/transport/udp.c) finds the socket bound to the port and
 * copies the datagram into its queue; ust_recvfrom takes it out;
 * ust_sendto builds a datagram and sends it at once through ipv4_output.
 * Still embedded: one thread drives the stack and makes the calls, so the
 * socket is non-blocking and the loop asks it after every poll step.
 *
 *   step08_udp [TAP [COUNT]]     (tap0, 1; then: echo hi | nc -u -w1 192.0.2.2 7)
 *
 * Echoes COUNT datagrams on port 7, then exits 0. */
#include "step.h"

struct echo {
    int fd;
    unsigned count, done;
};

static bool echo_step(struct ust_stack *s, void *arg, ust_time_t *wake)
{
    (void)wake;
    struct echo *e = arg;
    char buf[2048];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n;
    while ((n = ust_recvfrom(s, e->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) >= 0) {
        char a[UST_IP4_STRLEN];
        printf("step08: %zd bytes from %s:%u\n", n, ust_ip4_format(ntohl(from.sin_addr.s_addr), a),
               ntohs(from.sin_port));
        ust_sendto(s, e->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        e->done++;
    }
    fflush(stdout);
    return e->done >= e->count;
}

int main(int argc, char **argv)
{
    const char *tap;
    struct echo e = {.count = 1};
    step_args(argc, argv, "step08_udp [TAP [COUNT]]", &tap, &e.count);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    if (step_tap_up(&cfg, tap, &s) != 0)
        return 1;
    e.fd = ust_socket(s, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7)};
    if (e.fd < 0 || ust_bind(s, e.fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        return 1;
    printf("step08: UDP echo on port 7\n");
    fflush(stdout);
    bool ok = step_run(s, tap, 20, echo_step, &e);
    ust_close(s, e.fd);
    ust_stack_destroy(s);
    puts(ok ? "step08: ok" : "step08: FAILED: not every datagram came");
    return ok ? 0 : 1;
}
