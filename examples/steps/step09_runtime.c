/* Step 9: the runtime thread and blocking calls (docs/LEARN.md).
 *
 * ust_runtime_start starts the stack thread (src/runtime/runtime.c): it
 * sleeps in epoll_wait on the TAP's fd, reads frames, and runs the stack
 * under a lock. Our thread's ust_recvfrom takes the lock, finds the queue
 * empty and waits on the runtime's condition variable (rt_wait), which
 * lets the lock go; the stack thread wakes it when a socket's readiness
 * may have changed (sock_events). The reply leaves on our thread.
 *
 *   step09_runtime [TAP [COUNT]]   (tap0, 1; then: echo hi | nc -u -w1 192.0.2.2 7)
 *
 * Echoes COUNT datagrams on port 7 with blocking calls, then exits 0. */
#include <errno.h>

#include "step.h"

int main(int argc, char **argv)
{
    const char *tap;
    unsigned count = 1;
    step_args(argc, argv, "step09_runtime [TAP [COUNT]]", &tap, &count);
    struct ust_config cfg;
    step_config(&cfg);
    struct ust_stack *s;
    struct ust_runtime *rt;
    if (step_tap_up(&cfg, tap, &s) != 0 || ust_runtime_start(s, &rt) != 0)
        return 1;
    int fd = ust_socket(s, AF_INET, SOCK_DGRAM, 0); /* blocking */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7)};
    if (fd < 0 || ust_bind(s, fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
        return 1;
    struct timeval tv = {.tv_sec = 20}; /* give up after 20 s without a datagram */
    ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    printf("step09: UDP echo on port 7, blocking in ust_recvfrom\n");
    fflush(stdout);
    unsigned done = 0;
    while (done < count) {
        char buf[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = ust_recvfrom(s, fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            printf("step09: ust_recvfrom: %s\n", errno == EAGAIN ? "timed out" : "error");
            break;
        }
        ust_sendto(s, fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        printf("step09: echoed %zd bytes\n", n);
        fflush(stdout);
        done++;
    }
    ust_close(s, fd);
    ust_runtime_stop(rt);
    ust_stack_destroy(s);
    puts(done == count ? "step09: ok" : "step09: FAILED");
    return done == count ? 0 : 1;
}
