/* Step 11: TCP data, ACKs and retransmission (docs/LEARN.md).
 *
 * Bytes in order go into the connection's receive ring (receive_data,
 * tcp_input.c) and wake the reader (tcp_wake -> sock_events -> the
 * runtime's condition variable); ust_recv copies them out (tcp_recv,
 * tcp_user.c). ust_send copies into the send ring and tcp_output
 * (tcp_output.c) sends what the windows allow, on this thread; the ACK we
 * owed rides on the reply. What is not acknowledged in time goes again
 * (tcp_timer.c). The debug log tells each of these.
 *
 *   USTACK_LOG=debug step11_tcp_data [TAP]   (then: echo hello | nc -q1 192.0.2.2 7)
 *
 * Echoes one connection on port 7 until the peer closes; exits 0. */
#include "step.h"

int main(int argc, char **argv)
{
    const char *tap;
    step_args(argc, argv, "step11_tcp_data [TAP]", &tap, NULL);
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
    printf("step11: TCP echo on port 7, one connection\n");
    fflush(stdout);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int fd = ust_poll(s, &p, 1, 20000) == 1 ? ust_accept(s, lfd, NULL, NULL) : -1;
    size_t total = 0;
    bool eof = false;
    if (fd >= 0) {
        struct timeval tv = {.tv_sec = 20};
        ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        char buf[4096];
        ssize_t n;
        while ((n = ust_recv(s, fd, buf, sizeof(buf), 0)) > 0) { /* blocks until data */
            total += (size_t)n;
            if (ust_send(s, fd, buf, (size_t)n, 0) != n) /* leaves on this thread */
                break;
        }
        eof = n == 0; /* the peer's FIN: no more data */
        ust_close(s, fd);
    }
    printf("step11: echoed %zu bytes%s\n", total, eof ? ", then the peer closed" : "");
    ust_close(s, lfd);
    ust_runtime_stop(rt);
    ust_stack_destroy(s);
    bool ok = total > 0 && eof;
    puts(ok ? "step11: ok" : "step11: FAILED");
    return ok ? 0 : 1;
}
