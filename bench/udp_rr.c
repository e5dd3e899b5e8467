/* udp_rr: UDP request/response rate over kernel sockets, for bench/run.sh.
 *
 *   udp_rr client HOST PORT COUNT SECONDS [SIZE]
 *       Sends SIZE-byte requests (default 32) to HOST:PORT, one outstanding
 *       at a time: the next leaves when the reply to the previous one is
 *       back. Stops after COUNT replies or SECONDS seconds, whichever comes
 *       first. A request unanswered within 200 ms counts as lost and is
 *       replaced. Prints one line:
 *           completed elapsed_s requests_per_s avg_rtt_us lost
 *       Exit 1 if nothing came back.
 *   udp_rr server PORT [READYFILE]
 *       A UDP echo server (the kernel reference): sends each datagram back.
 *       Writes READYFILE once bound. Runs until killed.
 *
 * Plain C and the kernel's socket API only, built by bench/run.sh with cc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 200
#define WARMUP 200

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what)
{
    fprintf(stderr, "udp_rr: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* One request/response: 1 if answered, 0 if lost (timed out). */
static int round_trip(int fd, uint8_t *req, uint8_t *rep, size_t size, uint64_t seq)
{
    memcpy(req, &seq, sizeof(seq));
    if (send(fd, req, size, 0) != (ssize_t)size) {
        if (errno == ECONNREFUSED)
            return 0; /* nobody there yet (an ICMP error): counts as lost */
        die("send");
    }
    double deadline = now_s() + REPLY_TIMEOUT_MS / 1000.0;
    for (;;) {
        int left = (int)((deadline - now_s()) * 1000.0 + 0.5);
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left);
        if (r < 0 && errno != EINTR)
            die("poll");
        if (r <= 0)
            continue;
        ssize_t n = recv(fd, rep, size + 1, 0);
        if (n < 0) {
            if (errno == ECONNREFUSED || errno == EINTR)
                continue;
            die("recv");
        }
        uint64_t got;
        memcpy(&got, rep, sizeof(got));
        if ((size_t)n == size && got == seq && memcmp(req, rep, size) == 0)
            return 1;
        /* a late reply to an earlier, replaced request: ignore it */
    }
}

static int client(const char *host, int port, long count, double seconds, size_t size)
{
    if (size < sizeof(uint64_t) || size > 65507) {
        fprintf(stderr, "udp_rr: SIZE must be 8..65507\n");
        return 2;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "udp_rr: bad address %s\n", host);
        return 2;
    }
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("connect");
    uint8_t *req = calloc(1, size + 1), *rep = calloc(1, size + 1);
    if (!req || !rep)
        die("calloc");
    for (size_t i = sizeof(uint64_t); i < size; i++)
        req[i] = (uint8_t)(i * 7);
    uint64_t seq = 0;
    /* Warm-up (ARP, caches, the peer's threads): not measured; bounded. */
    double give_up = now_s() + 10.0;
    for (int ok = 0; ok < WARMUP;) {
        ok += round_trip(fd, req, rep, size, ++seq);
        if (now_s() > give_up) {
            fprintf(stderr, "udp_rr: no replies from %s:%d during the warm-up\n", host, port);
            return 1;
        }
    }
    long done = 0, lost = 0;
    double t0 = now_s(), end = t0 + seconds, t = t0;
    while (done < count && t < end) {
        if (round_trip(fd, req, rep, size, ++seq))
            done++;
        else
            lost++;
        if ((done & 63) == 0)
            t = now_s();
    }
    double elapsed = now_s() - t0;
    if (done == 0) {
        fprintf(stderr, "udp_rr: no replies from %s:%d\n", host, port);
        return 1;
    }
    printf("%ld %.6f %.0f %.2f %ld\n", done, elapsed, (double)done / elapsed,
           elapsed / (double)done * 1e6, lost);
    free(req);
    free(rep);
    close(fd);
    return 0;
}

static int server(int port, const char *readyfile) __attribute__((noreturn));
static int server(int port, const char *readyfile)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("bind");
    if (readyfile) {
        FILE *f = fopen(readyfile, "w");
        if (!f)
            die(readyfile);
        fputs("ready\n", f);
        fclose(f);
    }
    static uint8_t buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("recvfrom");
        }
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "client") == 0)
        return client(argv[2], atoi(argv[3]), atol(argv[4]), atof(argv[5]),
                      argc > 6 ? (size_t)atol(argv[6]) : 32);
    if (argc >= 3 && strcmp(argv[1], "server") == 0)
        return server(atoi(argv[2]), argc > 3 ? argv[3] : NULL);
    fprintf(stderr, "usage: udp_rr client HOST PORT COUNT SECONDS [SIZE]\n"
                    "       udp_rr server PORT [READYFILE]\n");
    return 2;
}
