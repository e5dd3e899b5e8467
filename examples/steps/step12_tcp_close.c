/* Step 12: closing (docs/LEARN.md).
 *
 * Here we close first: ust_close queues our FIN (FIN-WAIT-1); its ACK
 * takes us to FIN-WAIT-2; the peer's FIN to TIME-WAIT, which lasts 2*MSL
 * (RFC 9293 3.6) so that a late segment of this connection cannot be
 * taken for one of the next; then CLOSED, and the connection is freed
 * (tcp_close_conn). The socket is gone the moment we close it; the
 * connection finishes without it. MSL is 1 s here (30 s by default) so
 * that the program sees the end.
 *
 *   USTACK_LOG=debug step12_tcp_close [TAP]   (then: nc 192.0.2.2 7 </dev/null)
 *
 * Says "bye" to one connection on port 7, closes, and exits 0 once the
 * connection has left TIME-WAIT. */
#include "step.h"

static uint64_t conns(struct ust_stack *s, struct ust_runtime *rt)
{
    ust_runtime_lock(rt); /* the stack thread changes the counters */
    uint64_t n = ust_stack_stats(s)->tcp.conns;
    ust_runtime_unlock(rt);
    return n;
}

int main(int argc, char **argv)
{
    const char *tap;
    step_args(argc, argv, "step12_tcp_close [TAP]", &tap, NULL);
    struct ust_config cfg;
    step_config(&cfg);
    cfg.tcp_msl = 1 * UST_SEC;
    struct ust_stack *s;
    struct ust_runtime *rt;
    if (step_tap_up(&cfg, tap, &s) != 0 || ust_runtime_start(s, &rt) != 0)
        return 1;
    int lfd = ust_socket(s, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(7)};
    if (lfd < 0 || ust_bind(s, lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
        ust_listen(s, lfd, 8) != 0)
        return 1;
    printf("step12: port 7 says bye and closes first\n");
    fflush(stdout);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    int fd = ust_poll(s, &p, 1, 20000) == 1 ? ust_accept(s, lfd, NULL, NULL) : -1;
    bool ok = false;
    if (fd >= 0) {
        ust_send(s, fd, "bye\n", 4, 0);
        ust_close(s, fd); /* FIN after the queued bytes */
        printf("step12: closed; connections (with the listener): %llu\n",
               (unsigned long long)conns(s, rt));
        for (int i = 0; i < 200 && !ok; i++) { /* 10 s at most */
            ok = conns(s, rt) == 1;            /* only the listener is left */
            if (!ok)
                poll(NULL, 0, 50);
        }
        printf("step12: %s\n",
               ok ? "the connection is gone: TIME-WAIT ended" : "the connection is still there");
    }
    ust_close(s, lfd);
    ust_runtime_stop(rt);
    ust_stack_destroy(s);
    puts(ok ? "step12: ok" : "step12: FAILED");
    return ok ? 0 : 1;
}
