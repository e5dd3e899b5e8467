/* tcp_bulk: one-way TCP bulk transfer over kernel sockets, for bench/run.sh.
 *
 *   tcp_bulk send HOST PORT BYTES
 *       Connects to HOST:PORT, writes BYTES bytes, half-closes and reads until
 *       the peer closes (so that the peer has taken in everything: a discard
 *       server closes after the end of the stream). Prints one line:
 *           bytes seconds gbit_per_s
 *       timed from connect() to the peer's close.
 *   tcp_bulk sink ADDR PORT READYFILE
 *       Listens on ADDR:PORT, writes READYFILE, accepts one connection, reads
 *       it to the end and closes. Prints the same line, timed from accept()
 *       to the end of the stream.
 *   tcp_bulk hold ADDR PORT READYFILE
 *       Listens on ADDR:PORT, writes READYFILE, accepts connections and keeps
 *       them open, reading nothing, until SIGTERM (in 8 processes, each up
 *       to its open-file limit); then prints how many the first held (the
 *       kernel's side of bench/run.sh's idle_conns rows).
 * Every wait is bounded (30 s without progress: exit 1), but hold's.
 *
 * Plain C and the kernel's socket API only, built by bench/run.sh with cc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF (256 * 1024)
#define STALL_S 30

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what)
{
    fprintf(stderr, "tcp_bulk: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void bounded(int fd)
{
    struct timeval tv = {.tv_sec = STALL_S};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        die("setsockopt");
}

static struct sockaddr_in addr_of(const char *host, const char *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "tcp_bulk: bad address %s\n", host);
        exit(2);
    }
    return sin;
}

static uint64_t read_to_eof(int fd, char *buf)
{
    uint64_t n = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, BUF, 0);
        if (r == 0)
            return n;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            die("recv");
        }
        n += (uint64_t)r;
    }
}

static void report(uint64_t bytes, double secs)
{
    printf("%llu %.6f %.3f\n", (unsigned long long)bytes, secs, (double)bytes * 8 / secs / 1e9);
}

static int do_send(const char *host, const char *port, uint64_t total)
{
    static char buf[BUF];
    memset(buf, 'u', sizeof(buf));
    struct sockaddr_in sin = addr_of(host, port);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    bounded(fd);
    /* TCP_BULK_CC names the congestion control (the kernel's default is
     * whatever this machine's is: bbr on some, cubic on most). */
    const char *cc = getenv("TCP_BULK_CC");
    if (cc && *cc && setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, cc, (socklen_t)strlen(cc)) < 0)
        die("setsockopt TCP_CONGESTION");
    double t0 = now_s();
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("connect");
    uint64_t sent = 0;
    while (sent < total) {
        size_t n = total - sent < BUF ? (size_t)(total - sent) : BUF;
        ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            die("send");
        }
        sent += (uint64_t)w;
    }
    if (shutdown(fd, SHUT_WR) < 0)
        die("shutdown");
    if (read_to_eof(fd, buf) != 0) {
        fprintf(stderr, "tcp_bulk: the peer sent data back\n");
        return 1;
    }
    double t1 = now_s();
    close(fd);
    report(sent, t1 - t0);
    return 0;
}

static int do_sink(const char *host, const char *port, const char *ready)
{
    static char buf[BUF];
    struct sockaddr_in sin = addr_of(host, port);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (ls < 0)
        die("socket");
    if (setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        die("setsockopt");
    if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("bind");
    if (listen(ls, 1) < 0)
        die("listen");
    bounded(ls); /* accept() gives up after STALL_S too */
    FILE *f = fopen(ready, "w");
    if (!f || fputs("ready\n", f) < 0 || fclose(f) != 0)
        die(ready);
    int fd = accept(ls, NULL, NULL);
    if (fd < 0)
        die("accept");
    bounded(fd);
    double t0 = now_s();
    uint64_t n = read_to_eof(fd, buf);
    double t1 = now_s();
    close(fd);
    close(ls);
    report(n, t1 - t0);
    return 0;
}

#define HOLD_PROCS 8
static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int do_hold(const char *host, const char *port, const char *ready)
{
    struct sockaddr_in sin = addr_of(host, port);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term; /* no SA_RESTART: accept() returns EINTR */
    sigaction(SIGTERM, &sa, NULL);
    int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (ls < 0)
        die("socket");
    if (setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        die("setsockopt");
    if (bind(ls, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("bind");
    if (listen(ls, 4096) < 0)
        die("listen");
    /* The open-file limit may be 20,000 (no CAP_SYS_RESOURCE): eight
     * processes share the listener, each accepting until it is full. */
    pid_t kids[HOLD_PROCS - 1];
    int nkids = 0;
    for (; nkids < HOLD_PROCS - 1; nkids++) {
        pid_t p = fork();
        if (p < 0)
            die("fork");
        if (p == 0)
            break;
        kids[nkids] = p;
    }
    bool parent = nkids == HOLD_PROCS - 1;
    if (parent) {
        FILE *f = fopen(ready, "w");
        if (!f || fputs("ready\n", f) < 0 || fclose(f) != 0)
            die(ready);
    }
    unsigned long held = 0;
    while (!stop) {
        int fd = accept(ls, NULL, NULL);
        if (fd >= 0) {
            held++; /* kept: closed by the exit */
        } else if (errno == EMFILE || errno == ENFILE) {
            close(ls); /* full: the others take the rest */
            while (!stop)
                pause();
        } else if (errno != EINTR) {
            die("accept");
        }
    }
    if (!parent) {
        printf("%lu\n", held);
        return 0;
    }
    for (int i = 0; i < nkids; i++) {
        kill(kids[i], SIGTERM);
        waitpid(kids[i], NULL, 0);
    }
    printf("%lu (and the other processes')\n", held);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "hold") == 0)
        return do_hold(argv[2], argv[3], argv[4]);
    if (argc == 5 && strcmp(argv[1], "send") == 0)
        return do_send(argv[2], argv[3], strtoull(argv[4], NULL, 10));
    if (argc == 5 && strcmp(argv[1], "sink") == 0)
        return do_sink(argv[2], argv[3], argv[4]);
    fprintf(stderr,
            "usage: tcp_bulk send HOST PORT BYTES | tcp_bulk sink|hold ADDR PORT READYFILE\n");
    return 2;
}
