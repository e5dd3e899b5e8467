/* Step 10: the TCP handshake (docs/LEARN.md).
 *
 * ust_listen makes a listener (LISTEN). A SYN for it reaches
 * tcp_listen_input (src/transport/tcp_listen.c): a half-open child in
 * SYN-RECEIVED, and our SYN-ACK. The peer's ACK reaches tcp_sync_input
 * (tcp_input.c): ESTABLISHED, and the child moves to the listener's
 * accept queue, where ust_accept finds it. Run it with USTACK_LOG=debug:
 * each segment in and out, and each state change, is one line.
 *
 *   USTACK_LOG=debug step10_tcp_handshake [TAP]   (then: nc -z 192.0.2.2 7)
 *
 * Accepts one connection on port 7, prints who it is, closes; exits 0. */
#include <netinet/tcp.h>

#include "step.h"

int main(int argc, char **argv)
{
    const char *tap;
    step_args(argc, argv, "step10_tcp_handshake [TAP]", &tap, NULL);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    struct ust_runtime *rt;
    if (step_tap_up(&cfg, tap, &s) != 0 || ust_runtime_start(s, &rt) != 0)
        return 1;
    int lfd = ust_socket(s, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7)};
    if (lfd < 0 || ust_bind(s, lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        ust_listen(s, lfd, 8) != 0)
        return 1;
    printf("step10: listening on port 7\n");
    fflush(stdout);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int fd = -1;
    if (ust_poll(s, &p, 1, 20000) == 1) /* a connection waits in the accept queue */
        fd = ust_accept(s, lfd, NULL, NULL);
    if (fd >= 0) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof(peer);
        ust_getpeername(s, fd, (struct sockaddr *)&peer, &pl);
        struct tcp_info ti;
        socklen_t tl = sizeof(ti);
        ust_getsockopt(s, fd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
        char a[UST_IP4_STRLEN];
        printf("step10: accepted %s:%u, state %s, mss %u, rto %u us\n",
               ust_ip4_format(ntohl(peer.sin_addr.s_addr), a), ntohs(peer.sin_port),
               ti.tcpi_state == 1 ? "ESTABLISHED" : "other", ti.tcpi_snd_mss, ti.tcpi_rto);
        ust_close(s, fd);
    }
    ust_close(s, lfd);
    ust_runtime_stop(rt);
    ust_stack_destroy(s);
    puts(fd >= 0 ? "step10: ok" : "step10: FAILED: no connection");
    return fd >= 0 ? 0 : 1;
}
