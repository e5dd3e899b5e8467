/* udp_modes: the socket API's waiting paths against the Linux kernel.
 *
 *   udp_modes [TAP]        (default tap0; run inside the test's namespace)
 *
 * Brings up its own stack (192.0.2.2/24 on TAP, with the runtime) and goes
 * through four steps. Before each step that needs the peer it prints a line
 * on stdout, "WORD PORT...", and the peer (udp_peer.py modes) answers by
 * sending a datagram there; each datagram received is echoed back.
 *
 *   blocking PORT        a blocking ust_recvfrom waits for the datagram
 *   nonblocking PORT     a SOCK_NONBLOCK socket: EAGAIN first, then
 *                        ust_poll(POLLIN, timeout) wakes when it arrives
 *   poll P1 P2 P3        ust_poll over three sockets (and an ignored -1)
 *                        returns the one the peer sent to, and only it;
 *                        then "polled PORT"
 *   rcvtimeo             SO_RCVTIMEO: a blocking receive fails with EAGAIN,
 *                        not before the timeout (no peer involved)
 *   done                 all checks passed; exit 0
 *
 * Any failed check prints "udp_modes: FAIL: ..." on stderr and exits 1.
 * Times are only checked from below (a timeout must not fire early). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>

#include "ustack/runtime.h"
#include "ustack/socket.h"
#include "ustack/stack.h"

#define US_ADDR UST_IP4(192, 0, 2, 2)
#define PEER_ADDR UST_IP4(192, 0, 2, 1)
#define GUARD_MS 20000 /* a failure guard for waits on the peer, not a delay */

static void failf(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void failf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "udp_modes: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond))                                                                               \
            failf("%s:%d: %s (errno %d: %s)", __FILE__, __LINE__, #cond, errno, strerror(errno));  \
    } while (0)

static void ok(const char *what) { fprintf(stderr, "udp_modes: ok: %s\n", what); }

/* A line for the peer; it acts on it right away. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static int open_bound(struct ust_stack *s, int type, uint16_t port)
{
    int fd = ust_socket(s, AF_INET, type, 0);
    CHECK(fd > 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
    CHECK(ust_bind(s, fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    return fd;
}

static void set_rcvtimeo(struct ust_stack *s, int fd, long ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    CHECK(ust_setsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
}

/* Takes the datagram that is waiting (or waits, for a blocking socket),
 * checks it came from the peer and echoes it. Returns its length. */
static ssize_t recv_and_echo(struct ust_stack *s, int fd, uint8_t *buf, size_t cap)
{
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = ust_recvfrom(s, fd, buf, cap, 0, (struct sockaddr *)&from, &fl);
    CHECK(n > 0);
    CHECK(fl == sizeof(from) && from.sin_family == AF_INET);
    CHECK(ntohl(from.sin_addr.s_addr) == PEER_ADDR);
    CHECK(ust_sendto(s, fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl) == n);
    return n;
}

static void step_blocking(struct ust_stack *s, uint8_t *buf, size_t cap)
{
    int fd = open_bound(s, SOCK_DGRAM, 5001);
    /* Nothing sent yet: MSG_DONTWAIT does not wait even on a blocking socket. */
    errno = 0;
    CHECK(ust_recvfrom(s, fd, buf, cap, MSG_DONTWAIT, NULL, NULL) == -1 && errno == EAGAIN);
    set_rcvtimeo(s, fd, GUARD_MS);
    say("blocking 5001");
    ust_time_t t0 = ust_clock_now();
    ssize_t n = recv_and_echo(s, fd, buf, cap);
    CHECK(n == 1000);
    fprintf(stderr, "udp_modes: blocking recvfrom returned %zd bytes after %llu us\n", n,
            (unsigned long long)(ust_clock_now() - t0));
    /* O_NONBLOCK through fcntl turns the same socket non-blocking. */
    int fl = ust_fcntl(s, fd, F_GETFL, 0);
    CHECK(fl >= 0 && !(fl & O_NONBLOCK));
    CHECK(ust_fcntl(s, fd, F_SETFL, fl | O_NONBLOCK) == 0);
    CHECK(ust_fcntl(s, fd, F_GETFL, 0) & O_NONBLOCK);
    errno = 0;
    CHECK(ust_recv(s, fd, buf, cap, 0) == -1 && errno == EAGAIN);
    CHECK(ust_close(s, fd) == 0);
    ok("blocking recvfrom waited for the kernel's datagram and echoed it; "
       "MSG_DONTWAIT and O_NONBLOCK give EAGAIN");
}

static void step_nonblocking(struct ust_stack *s, uint8_t *buf, size_t cap)
{
    int fd = open_bound(s, SOCK_DGRAM | SOCK_NONBLOCK, 5002);
    CHECK(ust_fcntl(s, fd, F_GETFL, 0) & O_NONBLOCK);
    errno = 0;
    CHECK(ust_recvfrom(s, fd, buf, cap, 0, NULL, NULL) == -1 && errno == EAGAIN);
    /* Nothing is coming yet: ust_poll waits its whole timeout, then 0. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ust_time_t t0 = ust_clock_now();
    CHECK(ust_poll(s, &p, 1, 100) == 0 && p.revents == 0);
    CHECK(ust_clock_now() - t0 >= 100 * UST_MS);
    /* A UDP socket can always send. */
    p.events = POLLIN | POLLOUT;
    CHECK(ust_poll(s, &p, 1, 0) == 1 && p.revents == POLLOUT);

    say("nonblocking 5002");
    p.events = POLLIN;
    int r = ust_poll(s, &p, 1, GUARD_MS);
    CHECK(r == 1 && p.revents == POLLIN);
    ssize_t n = recv_and_echo(s, fd, buf, cap);
    CHECK(n == 113);
    errno = 0;
    CHECK(ust_recv(s, fd, buf, cap, 0) == -1 && errno == EAGAIN);
    CHECK(ust_poll(s, &p, 1, 0) == 0 && p.revents == 0);
    CHECK(ust_close(s, fd) == 0);
    ok("non-blocking socket: EAGAIN, ust_poll timed out empty, then woke with POLLIN");
}

static void step_poll(struct ust_stack *s, uint8_t *buf, size_t cap)
{
    static const uint16_t ports[3] = {5003, 5004, 5005};
    int fds[3];
    for (int i = 0; i < 3; i++)
        fds[i] = open_bound(s, SOCK_DGRAM, ports[i]);
    struct pollfd p[4];
    for (int i = 0; i < 3; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    p[3] = (struct pollfd){.fd = -1, .events = POLLIN}; /* ignored, as poll(2) */

    ust_time_t t0 = ust_clock_now();
    CHECK(ust_poll(s, p, 4, 150) == 0);
    CHECK(ust_clock_now() - t0 >= 150 * UST_MS);
    for (int i = 0; i < 4; i++)
        CHECK(p[i].revents == 0);

    say("poll %u %u %u", ports[0], ports[1], ports[2]);
    CHECK(ust_poll(s, p, 4, GUARD_MS) == 1);
    int ready = -1;
    for (int i = 0; i < 4; i++) {
        if (p[i].revents) {
            CHECK(ready == -1 && p[i].revents == POLLIN);
            ready = i;
        }
    }
    CHECK(ready >= 0 && ready < 3);
    say("polled %u", ports[ready]);
    recv_and_echo(s, fds[ready], buf, cap);
    /* Nothing else arrived anywhere. */
    CHECK(ust_poll(s, p, 4, 0) == 0);

    /* A closed handle is POLLNVAL at once, whatever the timeout. */
    CHECK(ust_close(s, fds[0]) == 0);
    struct pollfd stale = {.fd = fds[0], .events = POLLIN};
    CHECK(ust_poll(s, &stale, 1, GUARD_MS) == 1 && stale.revents == POLLNVAL);
    CHECK(ust_close(s, fds[1]) == 0);
    CHECK(ust_close(s, fds[2]) == 0);
    ok("ust_poll over three sockets returned the ready one only");
}

static void step_rcvtimeo(struct ust_stack *s, uint8_t *buf, size_t cap)
{
    int fd = open_bound(s, SOCK_DGRAM, 5006);
    set_rcvtimeo(s, fd, 300);
    struct timeval tv;
    socklen_t len = sizeof(tv);
    CHECK(ust_getsockopt(s, fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0);
    CHECK(len == sizeof(tv) && tv.tv_sec == 0 && tv.tv_usec == 300000);
    ust_time_t t0 = ust_clock_now();
    errno = 0;
    CHECK(ust_recvfrom(s, fd, buf, cap, 0, NULL, NULL) == -1 && errno == EAGAIN);
    ust_time_t waited = ust_clock_now() - t0;
    CHECK(waited >= 300 * UST_MS);
    fprintf(stderr, "udp_modes: SO_RCVTIMEO 300 ms: EAGAIN after %llu us\n",
            (unsigned long long)waited);
    CHECK(ust_close(s, fd) == 0);
    say("rcvtimeo");
    ok("SO_RCVTIMEO: a blocking receive gave EAGAIN after the timeout");
}

int main(int argc, char **argv)
{
    const char *tap = argc > 1 ? argv[1] : "tap0";
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* the peer that started us is gone: stop */
    struct ust_config cfg;
    ust_config_init(&cfg);
    cfg.seed = 0x75647020; /* fixed: the run does not depend on it */
    cfg.log_level = UST_LOG_WARN;
    const char *lvl = getenv("USTACK_LOG");
    if (lvl && *lvl)
        ust_log_level_parse(lvl, &cfg.log_level);
    struct ust_stack *s;
    CHECK(ust_stack_create(&cfg, &s) == 0);
    static const uint8_t mac[6] = {0x02, 0x00, 0xc0, 0x00, 0x02, 0x02};
    struct ust_device *dev;
    int err = ust_tap_open(tap, mac, &dev, NULL);
    if (err)
        failf("cannot open TAP device %s: %s", tap, strerror(-err));
    CHECK(ust_stack_add_device(s, dev) >= 0);
    CHECK(ust_iface_add(s, tap, US_ADDR, 24, ust_clock_now()) == 0);
    struct ust_runtime *rt;
    CHECK(ust_runtime_start(s, &rt) == 0);

    static uint8_t buf[65536];
    step_blocking(s, buf, sizeof(buf));
    step_nonblocking(s, buf, sizeof(buf));
    step_poll(s, buf, sizeof(buf));
    step_rcvtimeo(s, buf, sizeof(buf));

    ust_runtime_stop(rt);
    const struct ust_stats *st = ust_stack_stats(s);
    if (st->udp.rx != 3 || st->udp.tx != 3 || st->udp.delivered != 3 || st->pkb.live != 0) {
        ust_stats_print(st, stderr, 0);
        failf("counters: udp.rx %llu, udp.tx %llu, udp.delivered %llu (expected 3 each), "
              "pkb.live %llu (expected 0)",
              (unsigned long long)st->udp.rx, (unsigned long long)st->udp.tx,
              (unsigned long long)st->udp.delivered, (unsigned long long)st->pkb.live);
    }
    ust_stack_destroy(s);
    say("done");
    return 0;
}
