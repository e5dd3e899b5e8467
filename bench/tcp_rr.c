/* tcp_rr: 1-byte TCP request/response rate over kernel sockets, for
 * bench/run.sh.
 *
 *   tcp_rr client HOST PORT COUNT SECONDS
 *       Connects (TCP_NODELAY), then sends one byte and waits for one byte
 *       back, COUNT times or for SECONDS seconds, whichever ends first.
 *       Prints one line:  completed elapsed_s requests_per_s avg_rtt_us 0
 *   tcp_rr server PORT [READYFILE]
 *       A TCP echo server (the kernel reference), one connection at a time,
 *       TCP_NODELAY. Writes READYFILE once listening. Runs until killed.
 *
 * Plain C and the kernel's socket API only, built by bench/run.sh with cc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int client(const char *host, int port, long count, double seconds)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (fd < 0 || inet_pton(AF_INET, host, &sin.sin_addr) != 1)
        die("socket");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
        die("connect");
    char c = 'x';
    for (int i = 0; i < 100; i++) /* warm up */
        if (write(fd, &c, 1) != 1 || read(fd, &c, 1) != 1)
            die("warm-up");
    double t0 = now_s(), t = t0;
    long done = 0;
    while (done < count && t - t0 < seconds) {
        if (write(fd, &c, 1) != 1)
            die("write");
        if (read(fd, &c, 1) != 1)
            die("read");
        done++;
        if ((done & 255) == 0)
            t = now_s();
    }
    t = now_s();
    close(fd);
    double el = t - t0;
    printf("%ld %.6f %.0f %.2f 0\n", done, el, done / el, el / (double)done * 1e6);
    return done > 0 ? 0 : 1;
}

static void server(int port, const char *ready) __attribute__((noreturn));
static void server(int port, const char *ready)
{
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 16) < 0)
        die("listen");
    if (ready) {
        FILE *f = fopen(ready, "w");
        if (f) {
            fputs("ready\n", f);
            fclose(f);
        }
    }
    for (;;) {
        int fd = accept(l, NULL, NULL);
        if (fd < 0)
            continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        char buf[4096];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            if (write(fd, buf, (size_t)n) != n)
                break;
        close(fd);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 6 && argv[1][0] == 'c')
        return client(argv[2], atoi(argv[3]), atol(argv[4]), atof(argv[5]));
    if (argc >= 3 && argv[1][0] == 's')
        server(atoi(argv[2]), argc > 3 ? argv[3] : NULL);
    fprintf(stderr,
            "usage: tcp_rr client HOST PORT COUNT SECONDS | tcp_rr server PORT [READYFILE]\n");
    return 2;
}
